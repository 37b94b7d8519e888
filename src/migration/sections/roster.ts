// XEP-0227 §4.3 rosters (<query xmlns='jabber:iq:roster'/> with RFC 6121 items: name, groups, subscription,
// ask='subscribe' for a pending outbound request) and §4.8 incoming subscription requests (<presence
// type='subscribe' xmlns='jabber:client'/> under <user/>; Prosody leaves out the xmlns). Stored through
// the roster module's RosterStore, whose roster version is bumped when an import changes anything.
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_ROSTER } from "../../core/xml/ns.js";
import { itemElement, type RosterItem, RosterStore } from "../../modules/roster/roster-store.js";
import { SUBSCRIPTION_TYPES } from "../../modules/roster/subscription-state.js";
import { hostStores, noChanges } from "../store-context.js";
import { NS_PIE, type UserSection } from "../types.js";

const SUBSCRIPTIONS = new Set(["none", "to", "from", "both"]);

export const rosterSection: UserSection = {
  name: "roster",
  claims: [
    { ns: NS_ROSTER, name: "query" },
    { ns: NS_CLIENT, name: "presence" },
    // Prosody 0.12 writes <presence/> without an xmlns, so it lands in XEP-0227's namespace.
    { ns: NS_PIE, name: "presence" },
  ],
  async exportUser(ctx, host, user) {
    const store = new RosterStore(hostStores(ctx.storage, host));
    const out: Element[] = [];
    const items = await store.getAll(user);
    if (items.length > 0) {
      const query = new Element("query", NS_ROSTER);
      for (const item of items) query.append(itemElement(item));
      out.push(query);
    }
    for (const request of await store.pendingRequests(user)) {
      // §4.8: the request as it arrived; only from and type matter to an importer.
      const presence = new Element("presence", NS_CLIENT, { from: request.attrs.from ?? "", type: "subscribe" });
      for (const child of request.elements()) presence.append(child.clone());
      out.push(presence);
    }
    return out;
  },
  async importUser(ctx, host, user, elements, options) {
    const changes = noChanges();
    const store = new RosterStore(hostStores(ctx.storage, host));
    let touched = false;
    for (const el of elements) {
      if (el.name === "query") {
        for (const itemEl of el.getChildren("item", NS_ROSTER)) {
          const item = parseItem(itemEl, changes.warnings);
          if (item === undefined) continue;
          const before = await store.get(user, item.jid);
          if (before !== undefined && sameItem(before, item)) {
            changes.unchanged++;
            continue;
          }
          if (before === undefined) changes.added++;
          else changes.changed++;
          if (!options.dryRun) await store.put(user, item);
          touched = true;
        }
      } else if (el.attrs.type === "subscribe") {
        const from = tryParseJid(el.attrs.from ?? "");
        if (!from) {
          changes.warnings.push(`subscription request from "${el.attrs.from ?? ""}": not a JID, skipped`);
          continue;
        }
        const jid = from.bareString();
        if ((await store.pendingRequest(user, jid)) !== undefined) {
          changes.unchanged++;
          continue;
        }
        changes.added++;
        if (!options.dryRun) {
          const stanza = new Element("presence", NS_CLIENT, { from: jid, to: `${user}@${host}`, type: "subscribe" });
          for (const child of el.elements()) stanza.append(child.clone());
          await store.setPending(user, jid, stanza);
        }
      } else if (!SUBSCRIPTION_TYPES.has(el.attrs.type ?? "")) {
        changes.warnings.push(
          `<presence type='${el.attrs.type ?? "available"}'/> under <user/> is not a subscription request, skipped`,
        );
      }
    }
    // RFC 6121 §2.6: a client holding an older version must get the changed roster.
    if (touched && !options.dryRun) await store.bump(user);
    return changes;
  },
};

function parseItem(el: Element, warnings: string[]): RosterItem | undefined {
  const jid = tryParseJid(el.attrs.jid ?? "");
  if (!jid) {
    warnings.push(`roster item "${el.attrs.jid ?? ""}": not a JID, skipped`);
    return undefined;
  }
  const subscription = el.attrs.subscription ?? "none";
  if (!SUBSCRIPTIONS.has(subscription)) {
    warnings.push(`roster item ${jid}: subscription "${subscription}" is not none/to/from/both, skipped`);
    return undefined;
  }
  const groups = [
    ...new Set(
      el
        .getChildren("group", NS_ROSTER)
        .map((g) => g.text())
        .filter((g) => g !== ""),
    ),
  ];
  const item: RosterItem = {
    jid: jid.toString(),
    groups,
    subscription: subscription as RosterItem["subscription"],
    ask: el.attrs.ask === "subscribe",
    approved: el.attrs.approved === "true" || el.attrs.approved === "1",
  };
  if (el.attrs.name !== undefined && el.attrs.name !== "") item.name = el.attrs.name;
  return item;
}

function sameItem(a: RosterItem, b: RosterItem): boolean {
  return (
    a.jid === b.jid &&
    (a.name ?? "") === (b.name ?? "") &&
    a.subscription === b.subscription &&
    a.ask === b.ask &&
    a.approved === b.approved &&
    a.groups.length === b.groups.length &&
    a.groups.every((g) => b.groups.includes(g))
  );
}
