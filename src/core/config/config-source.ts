// Where each key of a parsed config file sits, so that errors found after parsing (by the schema, or
// later by a module's own option schema) can still say `natter.yaml:12:3`.

import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export interface ConfigSource {
  fileName: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export interface SourcePosition {
  line: number;
  col: number;
}

type Path = readonly PropertyKey[];

/**
 * Position of the value at `path` (or of its key with `at: "key"`, used for unknown keys). When the path
 * does not exist in the file (the value came from a default), the key of the nearest enclosing entry that
 * does exist is used.
 */
export function positionOf(
  source: ConfigSource,
  path: Path,
  at: "value" | "key" = "value",
): SourcePosition | undefined {
  let node: unknown = source.doc.contents;
  let enclosingKey: Node | undefined; // key (or list item) of the deepest entry found so far
  let target: Node | undefined = isNodeWithRange(node) ? node : undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(source.doc);
    const segment = path[i];
    let key: Node | undefined;
    let value: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined || !isNodeWithRange(pair.key)) {
        target = enclosingKey;
        break;
      }
      key = pair.key;
      value = pair.value;
    } else if (isSeq(node) && typeof segment === "number" && isNodeWithRange(node.items[segment])) {
      value = node.items[segment];
      key = value as Node;
    } else {
      target = enclosingKey;
      break;
    }
    enclosingKey = key;
    // A key with no value (`port:`) has an empty scalar with no useful position: point at the key then.
    const last = i === path.length - 1;
    target = (last && at === "key") || !isNodeWithRange(value) || isEmptyScalar(value) ? key : value;
    node = value;
  }
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  return source.lineCounter.linePos(offset);
}

/** The key path of the map key that starts at `offset` (used to name duplicate keys). */
export function keyPathAtOffset(source: ConfigSource, offset: number): PropertyKey[] | undefined {
  const walk = (node: unknown, path: PropertyKey[]): PropertyKey[] | undefined => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key : undefined;
        const name = key === undefined ? "?" : String(key.value);
        if (key?.range?.[0] === offset) return [...path, name];
        const found = walk(pair.value, [...path, name]);
        if (found !== undefined) return found;
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) {
        const found = walk(node.items[i], [...path, i]);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return walk(source.doc.contents, []);
}

function isNodeWithRange(value: unknown): value is Node {
  return typeof value === "object" && value !== null && "range" in value && Array.isArray((value as Node).range);
}

function isEmptyScalar(value: Node): boolean {
  return isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1];
}

// Side table from a parsed Config object to its file, so later validation (module options) can report lines
// without the Config type carrying YAML nodes around. Weak: a discarded config takes its document with it.
const sources = new WeakMap<object, ConfigSource>();

export function rememberSource(config: object, source: ConfigSource): void {
  sources.set(config, source);
}

export function sourceOf(config: object): ConfigSource | undefined {
  return sources.get(config);
}
