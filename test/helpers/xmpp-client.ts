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
  opts: {
    resource?: string;
    directTls?: boolean;
    /** Let xmpp.js reconnect and resume (XEP-0198) by itself. */
    reconnect?: boolean;
    /** Over RFC 7395 WebSocket: "wss" on the HTTPS listener, "ws" on the plain HTTP one. */
    websocket?: "ws" | "wss";
    /**
     * Log in with XEP-0388 SASL2 + Bind 2, as @xmpp/client does whenever it is offered (the server then picks the
     * resource). Off by default: these tests bind the resource they name through RFC 6120 SASL and binding.
     */
    sasl2?: boolean;
  } = {},
): Promise<ConnectedClient> {
  if (opts.websocket) await useWebSocketGlobal();
  const service = opts.websocket
    ? `${opts.websocket}://127.0.0.1:${opts.websocket === "wss" ? ts.httpsPort : ts.httpPort}/xmpp-websocket`
    : opts.directTls
      ? `xmpps://127.0.0.1:${ts.tlsPort}`
      : `xmpp://127.0.0.1:${ts.port}`;
  const xmpp = client({
    service,
    domain: ts.domain,
    username,
    password,
    ...(opts.resource ? { resource: opts.resource } : {}),
  });
  if (!opts.reconnect) xmpp.reconnect.stop();
  if (!opts.sasl2) hideSasl2(xmpp);
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

/** STACK.md: xmpp.js's WebSocket transport looks for a global WebSocket, which Node 20 does not have. */
async function useWebSocketGlobal(): Promise<void> {
  const g = globalThis as { WebSocket?: unknown };
  if (g.WebSocket === undefined) g.WebSocket = (await import("ws")).WebSocket;
}

/** Removes the XEP-0388 <authentication/> feature before @xmpp/client sees the features: it uses RFC 6120 SASL. */
export function hideSasl2(xmpp: Client): void {
  xmpp.prependListener("element", (el: XmlElement) => {
    if (el.name !== "stream:features" && el.name !== "features") return;
    el.children = el.children.filter((c) => typeof c === "string" || c.attrs.xmlns !== "urn:xmpp:sasl:2");
  });
}
