// XEP-0059 Result Set Management: the <set xmlns='http://jabber.org/protocol/rsm'/> of a request, and the
// one a page of results carries. Shared by every paged protocol (MAM, MUC room archives, disco#items).
import { StanzaError } from "../errors.js";
import { Element } from "./element.js";
import { NS_RSM } from "./ns.js";

export interface RsmRequest {
  /** XEP-0059 §2.1: page size asked for. */
  max?: number;
  /** XEP-0059 §2.2: items after this UID. */
  after?: string;
  /** XEP-0059 §2.3: items before this UID; "" (an empty <before/>) asks for the last page (§2.5). */
  before?: string;
  /** XEP-0059 §2.6: page starting at this index. */
  index?: number;
}

export interface RsmResult {
  first?: { id: string; index?: number };
  last?: string;
  count?: number;
}

function nonNegative(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d{1,9}$/.test(t)) throw new StanzaError("bad-request", `RSM <${what}/> must be a non-negative integer`);
  return Number(t);
}

/** The RSM request inside `parent` (a query payload), or undefined when it has none. */
export function parseRsm(parent: Element): RsmRequest | undefined {
  const set = parent.getChild("set", NS_RSM);
  if (!set) return undefined;
  const out: RsmRequest = {};
  const max = nonNegative(set.getChildText("max", NS_RSM), "max");
  if (max !== undefined) out.max = max;
  const index = nonNegative(set.getChildText("index", NS_RSM), "index");
  if (index !== undefined) out.index = index;
  const after = set.getChildText("after", NS_RSM);
  if (after !== undefined) {
    // XEP-0059 §2.2: <after/> names an item; an empty one names none.
    if (after === "") throw new StanzaError("bad-request", "RSM <after/> needs an item id");
    out.after = after;
  }
  const before = set.getChildText("before", NS_RSM);
  if (before !== undefined) out.before = before;
  return out;
}

/** The <set/> of a result page (XEP-0059 §2.2): no <first/>/<last/> on an empty page. */
export function buildRsm(result: RsmResult): Element {
  const set = new Element("set", NS_RSM);
  if (result.first !== undefined) {
    set.c("first", NS_RSM, result.first.index === undefined ? {} : { index: String(result.first.index) }).t(result.first.id);
  }
  if (result.last !== undefined) set.c("last").t(result.last);
  if (result.count !== undefined) set.c("count").t(String(result.count));
  return set;
}
