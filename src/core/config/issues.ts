// Turns zod issues into ConfigProblems that name the key, its line and what was expected, in words a
// person who has never read zod's output understands.

import type { z } from "zod";
import type { ConfigProblem } from "./config-error.js";
import { formatKeyPath } from "./config-error.js";
import { type ConfigSource, positionOf } from "./config-source.js";

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/** Per-parse error map: wording for zod's built-in checks. Messages set in a schema take precedence. */
export function friendlyMessage(issue: RawIssue): string | undefined {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `is required (${describeType(String(issue.expected))})`;
      return `expected ${describeType(String(issue.expected))}, got ${got}`;
    case "invalid_value": {
      const values = (issue.values as readonly unknown[]).map((v) => JSON.stringify(v)).join(", ");
      return `expected one of ${values}; got ${got}`;
    }
    case "too_small":
      if (issue.origin === "string" && Number(issue.minimum) === 1) return "must not be empty";
      if (issue.origin === "array") return `expected at least ${issue.minimum} item(s)`;
      return `expected at least ${issue.minimum}, got ${got}`;
    case "too_big":
      if (issue.origin === "array") return `expected at most ${issue.maximum} item(s)`;
      return `expected at most ${issue.maximum}, got ${got}`;
    default:
      return undefined;
  }
}

/**
 * One problem per issue, one per unknown key. `base` prefixes the issue paths (["modules", "muc"] for module
 * options); `defaults` (the parse of an empty input) lets an unknown key suggest the nearest known one.
 */
export function issuesToProblems(
  issues: readonly Issue[],
  fileName: string,
  source: ConfigSource | undefined,
  base: readonly PropertyKey[] = [],
  defaults?: unknown,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(defaults, issue.path);
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const suggestion = closest(key, known);
        const message = suggestion === undefined ? "unknown key" : `unknown key (did you mean "${suggestion}"?)`;
        problems.push(problemAt(fileName, source, keyPath, message, "key"));
      }
    } else if (issue.code === "invalid_key") {
      // A record key (a module name) that fails its own schema: the inner issue carries the message.
      problems.push(problemAt(fileName, source, path, issue.issues[0]?.message ?? issue.message, "key"));
    } else {
      problems.push(problemAt(fileName, source, path, issue.message, "value"));
    }
  }
  // In file order, so the list reads top to bottom like the file; problems without a line go last.
  return problems.sort(
    (a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.col ?? 0) - (b.col ?? 0),
  );
}

export function problemAt(
  fileName: string,
  source: ConfigSource | undefined,
  path: readonly PropertyKey[],
  message: string,
  at: "key" | "value",
): ConfigProblem {
  const position = source === undefined ? undefined : positionOf(source, path, at);
  return { file: fileName, ...position, keyPath: formatKeyPath(path), message };
}

function knownKeys(defaults: unknown, path: readonly PropertyKey[]): string[] {
  let node = defaults;
  for (const segment of path) {
    if (typeof node !== "object" || node === null) return [];
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return typeof node === "object" && node !== null && !Array.isArray(node) ? Object.keys(node) : [];
}

/** The known key within a small edit distance of a misspelt one. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  // Two edits covers a swapped pair of letters ("prot") or a dash for an underscore plus a typo.
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase().replaceAll("-", "_"), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

function describeType(expected: string): string {
  switch (expected) {
    case "number":
    case "string":
    case "boolean":
      return `a ${expected}`;
    case "array":
    case "tuple":
      return "a list";
    case "object":
    case "record":
    case "map":
      return "a map of keys to values";
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return String(value);
}
