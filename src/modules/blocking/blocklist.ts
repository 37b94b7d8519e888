// The blocklist as XEP-0191 §5 maps it onto privacy lists: the default list's jid/deny items, kept first.
// Shared by the blocking module and `natter import` (src/migration/sections/blocklist.ts).
import { listOf, type PrivacyRecord } from "../privacy/privacy-engine.js";
import { isBlockItem, type PrivacyItem } from "../privacy/privacy-rules.js";

/** The blocked JIDs: the default list's blocklist items, in list order. */
export function blocklist(rec: PrivacyRecord): string[] {
  return (listOf(rec, undefined) ?? []).filter(isBlockItem).map((i) => i.value as string);
}

/** A list name not yet taken, for the default list that blocking creates when there is none. */
export function freshName(rec: PrivacyRecord): string {
  let name = "blocklist";
  for (let n = 2; rec.lists[name]; n++) name = `blocklist-${n}`;
  return name;
}

/** New blocklist items go first (§5), renumbering when the existing orders leave no room below them. */
export function withBlocked(items: readonly PrivacyItem[], jids: readonly string[]): PrivacyItem[] {
  const added: PrivacyItem[] = jids.map((value) => ({ type: "jid", value, action: "deny", order: 0, stanzas: [] }));
  const min = items.length > 0 ? Math.min(...items.map((i) => i.order)) : jids.length;
  if (min >= jids.length) return [...added.map((item, i) => ({ ...item, order: min - jids.length + i })), ...items];
  return [...added, ...items].map((item, i) => ({ ...item, order: i }));
}
