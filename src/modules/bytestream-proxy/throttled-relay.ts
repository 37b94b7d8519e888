// One activated bytestream: bytes flow both ways between the two SOCKS5 connections, with backpressure (a side
// that cannot take more pauses the other) and the requester's bandwidth bucket (reading pauses until the bucket
// is out of debt), until either side closes, the stream exceeds its byte cap, or it stays idle too long.
import type { Socket } from "node:net";
import type { TokenBucket } from "../../core/token-bucket.js";

export interface RelayLimits {
  /** Shared by every stream of one requester; undefined = no cap. */
  bucket: TokenBucket | undefined;
  /** Most bytes (both ways together); 0 = no cap. */
  maxBytes: number;
  /** Closes the stream after this long without a byte either way. */
  idleMs: number;
}

export type RelayEnd = "closed" | "idle" | "byte cap" | "error" | "shutdown";

export interface RunningRelay {
  bytes(): number;
  /** Closes both sides now. */
  stop(reason: RelayEnd): void;
}

export function startRelay(
  a: Socket,
  b: Socket,
  limits: RelayLimits,
  onEnd: (reason: RelayEnd, bytes: number) => void,
): RunningRelay {
  let total = 0;
  let ended = false;
  const throttles = new Set<NodeJS.Timeout>();

  const stop = (reason: RelayEnd) => {
    if (ended) return;
    ended = true;
    for (const t of throttles) clearTimeout(t);
    a.destroy();
    b.destroy();
    onEnd(reason, total);
  };

  const pump = (src: Socket, dst: Socket) => {
    // Writes a chunk; reading stays paused until the other side has taken it (backpressure).
    const forward = (chunk: Buffer) => {
      if (dst.write(chunk)) src.resume();
      else dst.once("drain", () => !ended && src.resume());
    };
    src.on("data", (chunk: Buffer) => {
      if (ended) return;
      total += chunk.length;
      if (limits.maxBytes > 0 && total > limits.maxBytes) return stop("byte cap");
      // Over the bandwidth cap the chunk is held (and nothing more read) until the bucket is out of debt.
      const wait = limits.bucket ? limits.bucket.drain(chunk.length, Date.now()) : 0;
      if (wait === 0) {
        if (!dst.write(chunk)) {
          src.pause();
          dst.once("drain", () => !ended && src.resume());
        }
        return;
      }
      src.pause();
      const t = setTimeout(() => {
        throttles.delete(t);
        if (!ended) forward(chunk);
      }, wait);
      throttles.add(t);
    });
    // A side that finished sending: the other side gets end-of-stream once what was written is flushed.
    src.on("end", () => dst.end());
  };

  for (const s of [a, b]) {
    s.on("error", () => stop("error"));
    s.on("close", () => {
      // Once one side is gone, the other side has been (or is being) ended: give it until the idle timeout.
      if (a.destroyed && b.destroyed) stop("closed");
      else (s === a ? b : a).end();
    });
    s.setTimeout(limits.idleMs, () => {
      if (throttles.size === 0) stop("idle"); // waiting off the bandwidth cap is not idleness
    });
  }
  pump(a, b);
  pump(b, a);
  a.resume();
  b.resume();
  return { bytes: () => total, stop };
}
