// Invariant checks shared by the fuzz targets: a broken one throws FuzzInvariantError with what was expected.
import { Element } from "../../src/core/xml/element.js";

export class FuzzInvariantError extends Error {}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new FuzzInvariantError(message);
}

/** Rethrows anything that is not one of the errors the code under test documents for bad input. */
export function expectOnly(err: unknown, ...allowed: (abstract new (...args: never[]) => Error)[]): void {
  if (allowed.some((type) => err instanceof type)) return;
  throw err;
}

/** Same element name, namespace, attributes (in any order) and children, text compared exactly. */
export function sameTree(a: Element | string, b: Element | string): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a.name !== b.name || a.ns !== b.ns) return false;
  const keys = Object.keys(a.attrs);
  if (keys.length !== Object.keys(b.attrs).length) return false;
  if (keys.some((k) => a.attrs[k] !== b.attrs[k])) return false;
  if (a.children.length !== b.children.length) return false;
  return a.children.every((c, i) => sameTree(c, b.children[i] as Element | string));
}

export function describeTree(el: Element): string {
  return JSON.stringify(el, (_key, value) => (value instanceof Element ? { ...value } : value));
}
