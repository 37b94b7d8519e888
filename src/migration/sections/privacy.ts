// XEP-0227 §4.7: privacy lists (XEP-0016), <query xmlns='jabber:iq:privacy'/> with <default/> and <list/>s.
// Natter's blocklist (XEP-0191 §5) lives in the default list, so this section carries it too. Items are read
// with the privacy module's codec (the same checks as a client's list set) into its PrivacyRecord.
import { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_PRIVACY } from "../../core/xml/ns.js";
import { listElement, parseItems } from "../../modules/privacy/codec.js";
import type { PrivacyRecord } from "../../modules/privacy/privacy-engine.js";
import { sortItems } from "../../modules/privacy/privacy-rules.js";
import type { Json } from "../../storage/types.js";
import { noChanges } from "../store-context.js";
import type { UserSection } from "../types.js";

export const privacySection: UserSection = {
  name: "privacy",
  claims: [{ ns: NS_PRIVACY, name: "query" }],
  async exportUser(ctx, host, user) {
    const rec = (await ctx.storage.open(host, "privacy", "keyval").get(user)) as unknown as PrivacyRecord | undefined;
    if (rec === undefined || Object.keys(rec.lists).length === 0) return [];
    const query = new Element("query", NS_PRIVACY);
    if (rec.default !== undefined) query.c("default", NS_PRIVACY, { name: rec.default });
    for (const [name, items] of Object.entries(rec.lists)) query.append(listElement(name, items));
    return [query];
  },
  async importUser(ctx, host, user, elements, options) {
    const changes = noChanges();
    const store = ctx.storage.open(host, "privacy", "keyval");
    const before = ((await store.get(user)) as unknown as PrivacyRecord | undefined) ?? { lists: {} };
    const after: PrivacyRecord = { ...before, lists: { ...before.lists } };
    for (const query of elements) {
      for (const list of query.getChildren("list", NS_PRIVACY)) {
        const name = list.attrs.name;
        if (name === undefined || name === "") {
          changes.warnings.push("privacy <list/> without name, skipped");
          continue;
        }
        let items;
        try {
          items = sortItems(parseItems(list));
        } catch (err) {
          if (!(err instanceof StanzaError)) throw err;
          changes.warnings.push(`privacy list "${name}": ${err.message}, skipped`);
          continue;
        }
        const old = before.lists[name];
        if (old !== undefined && JSON.stringify(old) === JSON.stringify(items)) changes.unchanged++;
        else if (old === undefined) changes.added++;
        else changes.changed++;
        after.lists[name] = items;
      }
      const defaultName = query.getChild("default", NS_PRIVACY)?.attrs.name;
      if (defaultName !== undefined && defaultName !== "") {
        if (after.lists[defaultName] === undefined)
          changes.warnings.push(`default privacy list "${defaultName}" is not in the file, not set`);
        else after.default = defaultName;
      }
    }
    if (before.default !== after.default && after.default !== undefined) {
      if (before.default === undefined) changes.added++;
      else changes.changed++;
    }
    if (!options.dryRun && JSON.stringify(before) !== JSON.stringify(after))
      await store.set(user, after as unknown as Json);
    return changes;
  },
};
