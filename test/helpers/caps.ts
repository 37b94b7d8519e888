// An @xmpp/client user that looks like a real client to PEP: it answers the server's disco#info with a
// XEP-0115 identity and feature list (+notify interests included) and sends the matching caps hash in presence.
import { createHash } from "node:crypto";
import type { TestServer } from "./test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "./xmpp-client.js";

const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_ROSTER = "jabber:iq:roster";
export const CAPS_NODE = "https://example.org/test-client";

/** The features such a client advertises: disco#info, caps and `<ns>+notify` for each PEP interest. */
export const capsFeatures = (notify: string[] = []): string[] => [NS_DISCO_INFO, NS_CAPS, ...notify.map((n) => `${n}+notify`)];

/** XEP-0115 §5.1 for one identity (client/pc) and a feature list: what a real client computes. */
export function verOf(features: string[]): string {
  const s = `client/pc//Natter test<${[...features].sort().map((f) => `${f}<`).join("")}`;
  return createHash("sha1").update(s, "utf8").digest("base64");
}

/** A presence carrying the caps hash of these features. */
export const capsPresence = (features: string[], ...children: XmlElement[]): XmlElement =>
  xml("presence", {}, xml("c", { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver: verOf(features) }), ...children);

/** @xmpp/client answers IQs through iqCallee (absent from the repository's minimal typings). */
type IqCallee = { get(ns: string, name: string, handler: (ctx: { stanza: XmlElement; element: XmlElement }) => XmlElement): void };
const calleeOf = (c: ConnectedClient) => (c.xmpp as unknown as { iqCallee: IqCallee }).iqCallee;

export interface CapsClient extends ConnectedClient {
  /** disco#info queries the server sent this client. */
  discoQueries: XmlElement[];
}

/**
 * Logs in, answers disco#info like a client with these +notify interests, fetches the roster (so that it gets
 * roster pushes), sends caps presence and waits for its own presence to come back.
 */
export async function onlineWithCaps(
  ts: TestServer,
  user: string,
  resource: string,
  notify: string[],
  opts: { priority?: number } = {},
): Promise<CapsClient> {
  const c = (await connect(ts, user, `${user}-secret`, { resource })) as CapsClient;
  c.discoQueries = [];
  const features = capsFeatures(notify);
  calleeOf(c).get(NS_DISCO_INFO, "query", (ctx) => {
    c.discoQueries.push(ctx.stanza);
    return xml(
      "query",
      { xmlns: NS_DISCO_INFO, node: ctx.element.attrs.node },
      xml("identity", { category: "client", type: "pc", name: "Natter test" }),
      ...features.map((f) => xml("feature", { var: f })),
    );
  });
  await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  await c.xmpp.send(capsPresence(features, ...(opts.priority !== undefined ? [xml("priority", {}, String(opts.priority))] : [])));
  await c.waitFor((s) => s.is("presence") && s.attrs.from === c.jid && s.attrs.type === undefined);
  return c;
}
