// How much a stanza carries, counted cheaply: what the room stores and copies to every occupant is bounded
// by max_stanza_size (the stream's own cap, 256 KiB by default, times 200 occupants is 50 MB per message).
import type { Element, Node } from "../../core/xml/element.js";

/**
 * True when the element's content (element names, attribute names and values, text) exceeds `limit`
 * characters. Stops at the first character over, so a huge stanza costs no more than a small one.
 */
export function exceedsSize(el: Element, limit: number): boolean {
  let budget = limit;
  const stack: Node[] = [el];
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    if (typeof n === "string") budget -= n.length;
    else {
      budget -= n.name.length;
      for (const [k, v] of Object.entries(n.attrs)) budget -= k.length + (v?.length ?? 0);
      for (const c of n.children) stack.push(c);
    }
    if (budget < 0) return true;
  }
  return false;
}
