// XEP-0065 on the XMPP side: the proxy's <streamhost/> (§4), the activation request (§6.3.5) and the
// hash that names a bytestream on the SOCKS5 side (§5.3.2).
import { createHash } from "node:crypto";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_BYTESTREAMS, NS_DISCO_INFO, NS_DISCO_ITEMS } from "../../core/xml/ns.js";

/** XEP-0065 §2 (Terminology, StreamID): a SID MUST be shorter than 128 characters. */
export const MAX_SID_LENGTH = 127;

/**
 * XEP-0065 §5.3.2: SHA1(SID + Requester JID + Target JID), hex-encoded, on the JIDs as used in the IQ exchange
 * after stringprep (our Jid's string form is the enforced one).
 */
export function bytestreamHash(sid: string, requester: Jid | string, target: Jid | string): string {
  return createHash("sha1").update(`${sid}${requester.toString()}${target.toString()}`, "utf8").digest("hex");
}

/** XEP-0065 §4: what a client looks for in disco#info to know a proxy (identity proxy/bytestreams). */
export function buildProxyInfo(): Element {
  const query = new Element("query", NS_DISCO_INFO);
  query.c("identity", NS_DISCO_INFO, { category: "proxy", type: "bytestreams", name: "SOCKS5 Bytestreams" });
  for (const ns of [NS_BYTESTREAMS, NS_DISCO_INFO, NS_DISCO_ITEMS]) query.c("feature", NS_DISCO_INFO, { var: ns });
  return query;
}

/** XEP-0065 §4: the proxy's network address, answered to a <query/> get. */
export function buildStreamhost(jid: string, host: string, port: number): Element {
  const query = new Element("query", NS_BYTESTREAMS);
  query.c("streamhost", NS_BYTESTREAMS, { jid, host, port: String(port) });
  return query;
}

export interface ActivationRequest {
  sid: string;
  target: Jid;
}

/** XEP-0065 §6.3.5: <query sid='…'><activate>target full JID</activate></query>. */
export function parseActivation(query: Element): ActivationRequest {
  const sid = query.attrs.sid;
  if (sid === undefined || sid === "") throw new StanzaError("bad-request", "the query needs a sid");
  if ([...sid].length > MAX_SID_LENGTH) {
    throw new StanzaError("not-acceptable", `a sid has fewer than ${MAX_SID_LENGTH + 1} characters (XEP-0065 §2)`);
  }
  const activate = query.getChild("activate", NS_BYTESTREAMS);
  if (!activate) throw new StanzaError("bad-request", "the query needs an <activate/> naming the target");
  const target = tryParseJid(activate.text().trim());
  if (!target) throw new StanzaError("jid-malformed", "<activate/> does not hold a valid JID");
  return { sid, target };
}
