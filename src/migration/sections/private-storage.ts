// XEP-0227 §4.5: private XML storage (XEP-0049), <query xmlns='jabber:iq:private'/> with one child per stored
// fragment, kept in the private-storage module's map store under its codec's key.
import { Element } from "../../core/xml/element.js";
import { NS_PRIVATE } from "../../core/xml/ns.js";
import { parseStored, serialiseStored, storageKey } from "../../modules/private-storage/codec.js";
import { noChanges } from "../store-context.js";
import type { UserSection } from "../types.js";

// XEP-0049 §2.3: a fragment needs a namespace of its own.
const NOT_OWN_NAMESPACE = new Set(["", NS_PRIVATE, "jabber:client", "jabber:server"]);

export const privateStorageSection: UserSection = {
  name: "private",
  claims: [{ ns: NS_PRIVATE, name: "query" }],
  async exportUser(ctx, host, user) {
    const all = await ctx.storage.open(host, "private", "map").getAll(user);
    if (all.size === 0) return [];
    const query = new Element("query", NS_PRIVATE);
    for (const text of all.values()) if (typeof text === "string") query.append(parseStored(text));
    return [query];
  },
  async importUser(ctx, host, user, elements, options) {
    const changes = noChanges();
    const store = ctx.storage.open(host, "private", "map");
    for (const query of elements) {
      for (const fragment of query.elements()) {
        if (NOT_OWN_NAMESPACE.has(fragment.ns)) {
          changes.warnings.push(`private <${fragment.name}/> without a namespace of its own, skipped`);
          continue;
        }
        const key = storageKey(fragment);
        const text = serialiseStored(fragment);
        const before = await store.get(user, key);
        if (before === text) {
          changes.unchanged++;
          continue;
        }
        if (before === undefined) changes.added++;
        else changes.changed++;
        if (!options.dryRun) await store.set(user, key, text);
      }
    }
    return changes;
  },
};
