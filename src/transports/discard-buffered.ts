// Plaintext already read from a socket but not yet consumed (the socket was paused for back-pressure) when
// STARTTLS begins. Node's TLSSocket would feed it to the TLS layer as if the peer had sent it inside TLS.
import type { Socket } from "node:net";

/** RFC 6120 §5.4.3.3: data received before the TLS handshake is discarded, parsed or not. */
export function discardBuffered(socket: Socket): number {
  let dropped = 0;
  // Only when something is buffered: read() on an empty socket would restart reading on the handle that
  // the TLS layer is about to take over.
  while (socket.readableLength > 0) {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) break;
    dropped += chunk.length;
  }
  return dropped;
}
