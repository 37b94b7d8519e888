// XEP-0227 §4.4: offline messages, <offline-messages><message xmlns='jabber:client'>…</message></offline-messages>,
// each with the XEP-0203 <delay/> that says when the old server received it. Stored through the
// offline-messages codec with that time as `received`, so the delay a client sees at its next login is the
// original one (withDelay adds no second delay for the same host). The digests of imported messages are kept
// ("offline-imported" map store), so importing the same file again after delivery does not deliver them twice.
import { createHash } from "node:crypto";
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DELAY } from "../../core/xml/ns.js";
import { decodeOffline, encodeOffline, withDelay } from "../../modules/offline-messages/codec.js";
import { noChanges } from "../store-context.js";
import { NS_PIE, type UserSection } from "../types.js";

export const offlineMessagesSection: UserSection = {
  name: "offline",
  claims: [{ ns: NS_PIE, name: "offline-messages" }],
  async exportUser(ctx, host, user) {
    const items = await ctx.storage.open(host, "offline", "archive").find(user);
    const list = new Element("offline-messages", NS_PIE);
    for (const item of items) {
      const decoded = decodeOffline(item.value);
      if (decoded !== undefined) list.append(withDelay(decoded.stanza, host, decoded.received));
    }
    return list.children.length > 0 ? [list] : [];
  },
  async importUser(ctx, host, user, elements, options) {
    const changes = noChanges();
    const store = ctx.storage.open(host, "offline", "archive");
    // Messages imported before, by digest: one delivered since then is not stored again by a repeated import.
    const imported = ctx.storage.open(host, "offline-imported", "map");
    // What is stored already, as it would be exported: a message of the file found here is unchanged.
    const present = new Set<string>();
    for (const item of await store.find(user)) {
      const decoded = decodeOffline(item.value);
      if (decoded !== undefined) present.add(withDelay(decoded.stanza, host, decoded.received).toString());
    }
    for (const list of elements) {
      for (const message of list.getChildren("message")) {
        if (message.ns !== NS_CLIENT) {
          changes.warnings.push(`offline <message xmlns='${message.ns}'/>: not jabber:client, skipped`);
          continue;
        }
        const received = receivedAt(message, host);
        if (received === undefined) {
          changes.warnings.push("offline message without a valid <delay stamp=…/>: stored as received now");
        }
        const when = received ?? Date.now();
        const key = withDelay(message, host, when).toString();
        const digest = createHash("sha256").update(key).digest("base64url");
        if (present.has(key) || (await imported.get(user, digest)) !== undefined) {
          changes.unchanged++;
          continue;
        }
        present.add(key);
        changes.added++;
        if (!options.dryRun) {
          await imported.set(user, digest, when);
          await store.append(user, {
            when,
            with: tryParseJid(message.attrs.from ?? "")?.bareString() ?? "",
            value: encodeOffline(message, when),
          });
        }
      }
    }
    return changes;
  },
};

/** XEP-0203 §3: the delay this host's (old) server added, else the earliest one; ms since the epoch. */
function receivedAt(message: Element, host: string): number | undefined {
  const delays = message.getChildren("delay", NS_DELAY);
  const ours = delays.find((d) => d.attrs.from === host);
  const stamps = (ours ? [ours] : delays).map((d) => Date.parse(d.attrs.stamp ?? "")).filter((t) => Number.isFinite(t));
  return stamps.length > 0 ? Math.min(...stamps) : undefined;
}
