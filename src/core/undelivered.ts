// What becomes of a stanza a session took and its client never acknowledged (XEP-0198 §4, RFC 6121 §8.5): one rule
// for a session that ends here with stanzas unacknowledged, and for a stanza another cluster node handed to a
// session of this node that ended before its client acknowledged it.
import { StanzaError } from "./errors.js";
import type { Jid } from "./jid.js";
import type { Router } from "./router.js";
import { type Element, xml } from "./xml/element.js";
import { NS_CARBONS, NS_DELAY, NS_MAM, NS_SID } from "./xml/ns.js";

/**
 * Messages go to the account again (another resource or offline storage), with a delay stamp (XEP-0203) unless
 * they carry one already, and keep their stanza-id (XEP-0359), so a client that got one before knows it again;
 * requests are answered with an error; presence is dropped. `skipArchived`: a client that closed its stream
 * cleanly had everything on the wire, and what is in its archive (XEP-0313) it can fetch there (as Prosody does).
 * Resolves once every message is routed (stored, or handed on).
 */
export function rerouteUndelivered(
  router: Router,
  session: Jid,
  stanzas: readonly Element[],
  skipArchived: boolean,
): Promise<void> | undefined {
  const stamp = new Date().toISOString();
  const bare = session.bareString();
  const routed: Promise<void>[] = [];
  for (const stanza of stanzas) {
    const type = stanza.attrs.type;
    if (stanza.name === "message" && type !== "error" && type !== "groupchat") {
      if (isCopyForThisSession(stanza)) continue;
      if (skipArchived && stanza.getChildren("stanza-id", NS_SID).some((id) => id.attrs.by === bare)) continue;
      const copy = stanza.clone();
      copy.attrs.to = bare;
      if (!copy.getChild("delay", NS_DELAY)) copy.append(xml("delay", NS_DELAY, { from: session.domain, stamp }));
      routed.push(router.route(copy));
    } else if (stanza.name === "iq" && (type === "get" || type === "set")) {
      router.bounce(stanza, new StanzaError("service-unavailable"));
    }
  }
  return routed.length > 0 ? Promise.all(routed).then(() => undefined) : undefined;
}

/**
 * A carbon (XEP-0280 §7, §8) or an archive query result (XEP-0313 §4.2) exists only for the session it went to:
 * the message it carries reached, or came from, another resource, and stays in the archive. Sent again to the
 * account it would reach resources that never asked for it (or offline storage) as a duplicate.
 */
function isCopyForThisSession(message: Element): boolean {
  return (
    message.getChild("received", NS_CARBONS) !== undefined ||
    message.getChild("sent", NS_CARBONS) !== undefined ||
    message.getChild("result", NS_MAM) !== undefined
  );
}
