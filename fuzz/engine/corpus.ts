// Seed inputs live in fuzz/corpus/<target>/, one file each, named by the SHA-1 of their content (as libFuzzer does).
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const FUZZ_DIR = new URL("..", import.meta.url).pathname;

export function corpusDir(target: string): string {
  return join(FUZZ_DIR, "corpus", target);
}

export function loadCorpus(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith(".")).map((n) => readFileSync(join(dir, n)));
}

/** Writes an input under its content hash; returns the path. */
export function saveInput(dir: string, data: Buffer, prefix = ""): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, prefix + createHash("sha1").update(data).digest("hex"));
  writeFileSync(path, data);
  return path;
}
