// XEP-0030 <query/> payloads.
import type { DiscoInfoPart } from "../../core/hooks.js";
import { Element } from "../../core/xml/element.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from "../../core/xml/ns.js";

/** Merges info parts into one disco#info result: identities and features deduplicated and sorted (XEP-0115 needs a stable order). */
export function buildInfo(node: string | undefined, parts: DiscoInfoPart[]): Element {
  const q = new Element("query", NS_DISCO_INFO, node === undefined ? {} : { node });
  const identities = new Map<string, { category: string; type: string; name?: string }>();
  const features = new Set<string>([NS_DISCO_INFO]);
  const forms: Element[] = [];
  for (const p of parts) {
    for (const id of p.identities ?? []) identities.set(`${id.category}/${id.type}/${id.name ?? ""}`, id);
    for (const f of p.features ?? []) features.add(f);
    forms.push(...(p.forms ?? []));
  }
  for (const id of [...identities.values()].sort((a, b) => (a.category + a.type).localeCompare(b.category + b.type))) {
    const attrs: Record<string, string> = { category: id.category, type: id.type };
    if (id.name !== undefined) attrs.name = id.name;
    q.c("identity", NS_DISCO_INFO, attrs);
  }
  for (const f of [...features].sort()) q.c("feature", NS_DISCO_INFO, { var: f });
  q.append(...forms);
  return q;
}

export function buildItems(node: string | undefined, items: Element[]): Element {
  const q = new Element("query", NS_DISCO_ITEMS, node === undefined ? {} : { node });
  q.append(...items);
  return q;
}
