// The proxy's own TCP listener (XEP-0065 §6): anyone may connect, so every connection is bounded before it is
// known (pending connections overall and per address, a short handshake deadline, a deadline for activation).
// Two connections naming the same hash are paired; the pair relays nothing until the requester activates it
// over XMPP (§6.3.5), and then runs under the requester's stream count, bandwidth and byte limits.
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { TokenBucket } from "../../core/token-bucket.js";
import { listenAll } from "../../transports/listen.js";
import { MAX_HANDSHAKE_BYTES, REPLY, readConnectRequest, readGreeting, replyFor } from "./socks5-handshake.js";
import { type RunningRelay, startRelay } from "./throttled-relay.js";

/** Bytes a client may send before its stream is activated (RFC 1928 clients send none). */
const MAX_EARLY_BYTES = 64 * 1024;

export interface ProxyLimits {
  maxPending: number;
  maxPendingPerAddress: number;
  handshakeMs: number;
  pendingMs: number;
  idleMs: number;
  maxStreams: number;
  maxStreamsPerUser: number;
  /** Bytes a second per requester; 0 = no cap. */
  bandwidthPerUser: number;
  /** 0 = no cap. */
  maxStreamBytes: number;
}

interface Pending {
  socket: Socket;
  address: string;
  /** Set once the CONNECT request named it. */
  hash?: string;
  /** Bytes a client sent after its request, before activation: kept for its partner, never relayed early. */
  early: Buffer;
  timer: NodeJS.Timeout;
}

interface Requester {
  streams: number;
  bucket: TokenBucket | undefined;
}

export type ActivationOutcome = "activated" | "no-such-stream" | "one-side-only" | "user-limit" | "server-limit";

export class Socks5Listener {
  private servers: Server[] = [];
  private readonly pending = new Set<Pending>();
  private readonly perAddress = new Map<string, number>();
  private readonly byHash = new Map<string, Pending[]>();
  private readonly relays = new Set<RunningRelay>();
  private readonly requesters = new Map<string, Requester>();

  constructor(
    private readonly limits: ProxyLimits,
    private readonly log: Logger,
  ) {}

  async listen(port: number, bind: string[]): Promise<number> {
    this.servers = await listenAll(
      () => createServer((s) => this.accept(s)),
      { port, bind },
      this.log,
      "bytestream proxy",
    );
    const a = this.servers[0]?.address();
    return typeof a === "object" && a ? a.port : port;
  }

  /** Stops listening and closes every connection, pending or relaying. */
  close(): void {
    for (const s of this.servers) s.close();
    this.servers = [];
    for (const p of [...this.pending]) this.drop(p, "proxy shutting down");
    for (const r of [...this.relays]) r.stop("shutdown");
  }

  /** XEP-0065 §6.3.5: the requester asks for the pair under `hash` to start relaying. */
  activate(hash: string, user: string): ActivationOutcome {
    const pair = this.byHash.get(hash);
    if (!pair) return "no-such-stream";
    if (pair.length < 2) return "one-side-only";
    const limits = this.limits;
    const requester = this.requesters.get(user);
    if ((requester?.streams ?? 0) >= limits.maxStreamsPerUser) return "user-limit";
    if (this.relays.size >= limits.maxStreams) return "server-limit";
    const [first, second] = pair as [Pending, Pending];
    this.byHash.delete(hash);
    for (const p of pair) this.forget(p);

    const r = requester ?? { streams: 0, bucket: undefined };
    if (!requester) this.requesters.set(user, r);
    r.streams++;
    const rate = limits.bandwidthPerUser;
    // A tenth of a second's worth of burst (at least 16 KiB): a sender cannot save up a long burst by pausing.
    if (rate > 0) {
      const burst = Math.max(16 * 1024, rate / 10);
      if (r.bucket) r.bucket.setLimits(rate, burst);
      else r.bucket = new TokenBucket(rate, burst);
    } else r.bucket = undefined;

    for (const p of pair) p.socket.removeAllListeners("data");
    if (first.early.length > 0) second.socket.write(first.early);
    if (second.early.length > 0) first.socket.write(second.early);
    const started = Date.now();
    const relay = startRelay(
      first.socket,
      second.socket,
      { bucket: r.bucket, maxBytes: limits.maxStreamBytes, idleMs: limits.idleMs },
      (reason, bytes) => {
        this.relays.delete(relay);
        if (--r.streams === 0) this.requesters.delete(user);
        this.log.info({ requester: user, hash, bytes, ms: Date.now() - started, reason }, "bytestream ended");
      },
    );
    this.relays.add(relay);
    this.log.info({ requester: user, hash }, "bytestream activated");
    return "activated";
  }

  private accept(socket: Socket): void {
    socket.on("error", (err) => this.log.debug({ err: err.message }, "bytestream proxy connection error"));
    const address = (socket.remoteAddress ?? "?").replace(/^::ffff:/, "");
    const limits = this.limits;
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (this.pending.size >= limits.maxPending || fromAddress >= limits.maxPendingPerAddress) {
      this.log.debug(
        { address, pending: this.pending.size, fromAddress },
        "bytestream proxy: too many pending connections, refused",
      );
      socket.destroy();
      return;
    }
    const p: Pending = {
      socket,
      address,
      early: Buffer.alloc(0),
      timer: setTimeout(() => this.drop(p, "no SOCKS5 handshake in time"), limits.handshakeMs),
    };
    this.pending.add(p);
    this.perAddress.set(address, fromAddress + 1);
    socket.on("close", () => {
      if (this.pending.has(p)) this.drop(p, "client closed before activation");
    });

    let buf = Buffer.alloc(0);
    let greeted = false;
    const onData = (chunk: Buffer) => {
      if (!this.pending.has(p)) return; // refused or timed out: whatever else arrives is ignored
      buf = Buffer.concat([buf, chunk]);
      const step = greeted ? readConnectRequest(buf) : readGreeting(buf);
      switch (step.kind) {
        case "more":
          if (buf.length > MAX_HANDSHAKE_BYTES) this.drop(p, "handshake too long");
          return;
        case "refuse":
          if (step.reply) socket.end(step.reply);
          return this.drop(p, step.why, !step.reply);
        case "greeting":
          greeted = true;
          socket.write(step.reply);
          buf = buf.subarray(step.consumed);
          if (buf.length > 0) onData(Buffer.alloc(0));
          return;
        case "connect": {
          // Still read until activation (so that a client that leaves is seen at once), but relay nothing:
          // what a client sends early is held, up to a small cap, for its partner after activation.
          socket.off("data", onData);
          p.early = Buffer.from(buf.subarray(step.consumed));
          socket.on("data", (more: Buffer) => {
            if (!this.pending.has(p)) return;
            if (p.early.length + more.length > MAX_EARLY_BYTES) return this.drop(p, "sent too much before activation");
            p.early = Buffer.concat([p.early, more]);
          });
          this.register(p, step.hash);
        }
      }
    };
    socket.on("data", onData);
  }

  private register(p: Pending, hash: string): void {
    const pair = this.byHash.get(hash) ?? [];
    if (pair.length >= 2) {
      p.socket.end(replyFor(REPLY.notAllowed, hash));
      this.drop(p, "a third connection for a paired bytestream", false);
      return;
    }
    pair.push(p);
    this.byHash.set(hash, pair);
    p.hash = hash;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.drop(p, "not activated in time"), this.limits.pendingMs);
    p.socket.write(replyFor(REPLY.succeeded, hash));
  }

  /** Removes a pending connection from the tables (it stays open: activation hands it on). */
  private forget(p: Pending): void {
    if (!this.pending.delete(p)) return;
    clearTimeout(p.timer);
    const n = (this.perAddress.get(p.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(p.address);
    else this.perAddress.set(p.address, n);
    if (p.hash !== undefined) {
      const pair = this.byHash.get(p.hash)?.filter((q) => q !== p) ?? [];
      if (pair.length > 0) this.byHash.set(p.hash, pair);
      else this.byHash.delete(p.hash);
    }
  }

  /** Closes a pending connection; `now` = without waiting for a reply to be flushed. */
  private drop(p: Pending, why: string, now = true): void {
    if (!this.pending.has(p)) return;
    this.forget(p);
    this.log.debug({ address: p.address, hash: p.hash, why }, "bytestream proxy connection closed");
    if (now) p.socket.destroy();
    else p.socket.setTimeout(1000, () => p.socket.destroy()); // the refusal reply gets a moment to leave
  }
}
