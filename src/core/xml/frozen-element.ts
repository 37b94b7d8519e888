// An element that no longer changes, serialised once and written many times: the payload of a stanza fanned
// out to many recipients (a room message to each occupant), where each copy differs only in its own envelope
// (`to`) and the shared children would otherwise be escaped and concatenated again for every recipient.
import { Element, type Node } from "./element.js";

interface Serialised {
  text: string | undefined;
  /** What the text depends on: the namespace in scope and the `stream:` prefix binding (Element.toString). */
  parentNs: string;
  streamPrefixBound: boolean;
}

export class FrozenElement extends Element {
  private readonly serialised: Serialised = { text: undefined, parentNs: "", streamPrefixBound: true };

  /**
   * A frozen copy of `el`: it and its whole subtree (copied, text shared) are read-only (Object.freeze: name,
   * attributes, child lists), so a delivery hook that tries to change a shared payload gets a TypeError
   * instead of silently changing what every other recipient is sent. A frozen element is returned as it is.
   * `clone()` gives an ordinary, changeable copy.
   */
  static from(el: Element): FrozenElement {
    if (el instanceof FrozenElement) return el;
    return frozen(new FrozenElement(el.name, el.ns, frozen({ ...el.attrs }), frozenChildren(el)));
  }

  override toString(parentNs = "", streamPrefixBound = true): string {
    const s = this.serialised;
    // One text is kept: a room's recipients are nearly all client streams (jabber:client in scope; WebSocket
    // and BOSH write the stanza with its own xmlns, so its children see the same), s2s ones recompute.
    if (s.text !== undefined && s.parentNs === parentNs && s.streamPrefixBound === streamPrefixBound) return s.text;
    s.text = super.toString(parentNs, streamPrefixBound);
    s.parentNs = parentNs;
    s.streamPrefixBound = streamPrefixBound;
    return s.text;
  }
}

/**
 * The children of a stanza about to be sent to many recipients, frozen once: each recipient's copy is
 * `new Element(name, ns, { ...attrs, to }, [...children])`, its own envelope around the shared payload.
 */
export function sharedChildren(el: Element): Node[] {
  return el.children.map((c) => (typeof c === "string" ? c : FrozenElement.from(c)));
}

function frozenChildren(el: Element): Node[] {
  return frozen(
    el.children.map((c) =>
      typeof c === "string" || c instanceof FrozenElement
        ? c
        : frozen(new Element(c.name, c.ns, frozen({ ...c.attrs }), frozenChildren(c))),
    ),
  );
}

/** Object.freeze, typed as the object itself (its readers need not know it is frozen). */
function frozen<T extends object>(o: T): T {
  return Object.freeze(o) as T;
}
