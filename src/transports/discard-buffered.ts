// Plaintext already read from a socket but not yet consumed (the socket was paused for back-pressure) when
// STARTTLS begins. Node's TLSSocket would feed it to the TLS layer as if the peer had sent it inside TLS.
import type { Socket } from "node:net";

/** RFC 6120 §5.4.3.3: data received before the TLS handshake is discarded, parsed or not. */
export function discardBuffered(socket: Socket): number {
  let dropped = 0;
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) dropped += chunk.length;
  return dropped;
}
