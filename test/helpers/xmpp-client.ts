// Independent client helpers: @xmpp/client (xmpp.js) connected to a test server.
import { type Client, client, xml } from "@xmpp/client";
import { stanzaInbox } from "./stanza-inbox.js";
import type { TestServer } from "./test-server.js";

export { xml };
export type XmlElement = ReturnType<typeof xml>;

export interface ConnectedClient {
  xmpp: Client;
  jid: string;
  /** Every stanza received, in order. */
  received: XmlElement[];
  /** Resolves with the next received stanza matching the predicate (already received ones count). */
  waitFor(pred: (s: XmlElement) => boolean, timeoutMs?: number): Promise<XmlElement>;
  stop(): Promise<void>;
}

export async function connect(
  ts: TestServer,
  username: string,
  password: string,
  opts: { resource?: string; directTls?: boolean; /** Let xmpp.js reconnect and resume (XEP-0198) by itself. */ reconnect?: boolean } = {},
): Promise<ConnectedClient> {
  const xmpp = client({
    service: opts.directTls ? `xmpps://127.0.0.1:${ts.tlsPort}` : `xmpp://127.0.0.1:${ts.port}`,
    domain: ts.domain,
    username,
    password,
    ...(opts.resource ? { resource: opts.resource } : {}),
  });
  if (!opts.reconnect) xmpp.reconnect.stop();
  // xmpp.js waits 2 s for each negotiation step by default: too tight for a loaded 2-core CI machine.
  (xmpp as unknown as { timeout: number }).timeout = 10_000;
  xmpp.on("error", () => {});
  const inbox = stanzaInbox(xmpp);
  const jid = (await xmpp.start()).toString();
  return {
    xmpp,
    jid,
    received: inbox.received,
    waitFor: inbox.waitFor,
    async stop() {
      xmpp.reconnect.stop();
      try {
        await xmpp.stop();
      } catch {}
    },
  };
}
