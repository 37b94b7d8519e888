// The blocklist (XEP-0191) as <blocklist xmlns='urn:xmpp:blocking'><item jid='…'/></blocklist> under <user/>.
// XEP-0227 names no element for it; this is the XEP-0191 §3.2 result payload. Natter keeps blocked JIDs in the
// default privacy list (XEP-0191 §5, which the privacy section carries as well), so on import an entry
// already there is unchanged; a new one is added the way the blocking command adds it (blocking/blocklist.ts).
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_BLOCKING } from "../../core/xml/ns.js";
import { blocklist, freshName, withBlocked } from "../../modules/blocking/blocklist.js";
import type { PrivacyRecord } from "../../modules/privacy/privacy-engine.js";
import type { Json } from "../../storage/types.js";
import { noChanges } from "../store-context.js";
import type { UserSection } from "../types.js";

export const blocklistSection: UserSection = {
  name: "blocklist",
  claims: [{ ns: NS_BLOCKING, name: "blocklist" }],
  async exportUser(ctx, host, user) {
    const rec = (await ctx.storage.open(host, "privacy", "keyval").get(user)) as unknown as PrivacyRecord | undefined;
    const jids = rec === undefined ? [] : blocklist(rec);
    if (jids.length === 0) return [];
    const el = new Element("blocklist", NS_BLOCKING);
    for (const jid of jids) el.c("item", NS_BLOCKING, { jid });
    return [el];
  },
  async importUser(ctx, host, user, elements, options) {
    const changes = noChanges();
    const store = ctx.storage.open(host, "privacy", "keyval");
    const rec = ((await store.get(user)) as unknown as PrivacyRecord | undefined) ?? { lists: {} };
    const blocked = new Set(blocklist(rec));
    const fresh: string[] = [];
    for (const list of elements) {
      for (const item of list.getChildren("item", NS_BLOCKING)) {
        const jid = tryParseJid(item.attrs.jid ?? "");
        if (!jid) {
          changes.warnings.push(`blocklist item "${item.attrs.jid ?? ""}": not a JID, skipped`);
          continue;
        }
        const text = jid.toString();
        if (blocked.has(text)) changes.unchanged++;
        else {
          blocked.add(text);
          fresh.push(text);
          changes.added++;
        }
      }
    }
    if (fresh.length > 0 && !options.dryRun) {
      const name = rec.default ?? freshName(rec);
      const after: PrivacyRecord = {
        default: name,
        lists: { ...rec.lists, [name]: withBlocked(rec.lists[name] ?? [], fresh) },
      };
      await store.set(user, after as unknown as Json);
    }
    return changes;
  },
};
