// Streaming reader of XEP-0227 files: saxes reads the file chunk by chunk and one <user/> element at a time is
// built and handed on (a 100k-user file never sits in memory). Line numbers come from saxes, so every problem
// names its line. XEP-0227 §5: <xi:include href='…'/> under <server-data/> or <host/> pulls in another file
// (ejabberd's export_piefxis writes one file per host and user this way).
import { createReadStream } from "node:fs";
import { dirname, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { SaxesParser, type SaxesTagNS } from "saxes";
import { Element } from "../core/xml/element.js";
import { MigrationFileError, NS_PIE } from "./types.js";

const NS_XINCLUDE = "http://www.w3.org/2001/XInclude";

export interface PieVisitor {
  /** A <host/> begins; false skips everything in it (an unknown host). */
  host(jid: string, at: Where): Promise<boolean>;
  /** One complete <user/>. */
  user(host: string, user: Element, at: Where): Promise<void>;
  /** An element directly under <host/> that is not a <user/> (host sections: MUC rooms…). */
  hostElement(host: string, el: Element, at: Where): Promise<void>;
  /** A problem that skips one element and lets the import go on. */
  problem(at: Where, message: string): void;
  /** Bytes of the top-level file read so far (progress). */
  progress?(bytes: number): void;
}

export interface Where {
  file: string;
  line: number;
}

/** Elements and attributes a user may hold; beyond them the file is refused as damaged or hostile. */
export interface PieReaderLimits {
  /** Most elements inside one <user/> or host-level element. */
  maxElementsPerUser: number;
  /** Deepest nesting inside one. */
  maxDepth: number;
  /** xi:include nesting. */
  maxIncludeDepth: number;
}

export const DEFAULT_READER_LIMITS: PieReaderLimits = {
  maxElementsPerUser: 1_000_000,
  maxDepth: 64,
  maxIncludeDepth: 4,
};

type Job =
  | { kind: "host"; jid: string | undefined; at: Where }
  | { kind: "host-end" }
  | { kind: "user"; el: Element; at: Where }
  | { kind: "host-element"; el: Element; at: Where }
  | { kind: "include"; path: string; at: Where };

/** Reads one file (and what it includes), calling the visitor in document order. Throws MigrationFileError. */
export async function readPieFile(
  path: string,
  visitor: PieVisitor,
  limits: PieReaderLimits = DEFAULT_READER_LIMITS,
): Promise<void> {
  await readOne(path, visitor, limits, { host: undefined, skipping: false }, 0, new Set());
}

interface HostState {
  /** The host whose users are being read; undefined outside <host/>. */
  host: string | undefined;
  /** The current host was refused: its content is skipped. */
  skipping: boolean;
}

async function readOne(
  path: string,
  visitor: PieVisitor,
  limits: PieReaderLimits,
  state: HostState,
  includeDepth: number,
  seen: Set<string>,
): Promise<void> {
  const file = resolve(path);
  // `seen` is the chain of files being read (one may be included twice, never inside itself).
  if (seen.has(file)) throw new MigrationFileError(0, `${path} includes itself`);
  seen.add(file);
  try {
    await readFileOnce(path, file, visitor, limits, state, includeDepth, seen);
  } finally {
    seen.delete(file);
  }
}

async function readFileOnce(
  path: string,
  file: string,
  visitor: PieVisitor,
  limits: PieReaderLimits,
  state: HostState,
  includeDepth: number,
  seen: Set<string>,
): Promise<void> {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const jobs: Job[] = [];
  const open: Element[] = []; // the <user/> (or host element) being built, outermost first
  let collecting: "user" | "host-element" | undefined;
  let collectLine = 0;
  let elements = 0;
  let containerDepth = 0; // open server-data/host elements of this file
  let hostOpenedHere = false;
  let rootSeen = false;
  const where = (line = parser.line): Where => ({ file: path, line });
  const fail = (message: string): never => {
    throw new MigrationFileError(parser.line, `${path}: ${message}`);
  };

  parser.on("doctype", () => fail("a DOCTYPE is not allowed (entities are never expanded)"));
  parser.on("opentag", (tag: SaxesTagNS) => {
    if (collecting !== undefined) {
      if (open.length >= limits.maxDepth) fail(`elements nested deeper than ${limits.maxDepth}`);
      if (++elements > limits.maxElementsPerUser)
        fail(`more than ${limits.maxElementsPerUser} elements in one <user/>`);
      const el = new Element(tag.local, tag.uri, attrsOf(tag));
      (open[open.length - 1] as Element).children.push(el);
      open.push(el);
      return;
    }
    const first = !rootSeen;
    rootSeen = true;
    if (tag.uri === NS_PIE && tag.local === "server-data") {
      if (!first) fail("<server-data/> inside <server-data/>");
      containerDepth++;
      return;
    }
    if (tag.uri === NS_PIE && tag.local === "host") {
      if (state.host !== undefined || hostOpenedHere) fail("<host/> inside <host/>");
      containerDepth++;
      hostOpenedHere = true;
      jobs.push({ kind: "host", jid: tag.attributes.jid?.value, at: where() });
      return;
    }
    if (tag.uri === NS_XINCLUDE && tag.local === "include") {
      const href = tag.attributes.href?.value;
      if (href === undefined || href === "") fail("<xi:include/> without href");
      if (includeDepth >= limits.maxIncludeDepth) fail(`xi:include nested deeper than ${limits.maxIncludeDepth}`);
      jobs.push({ kind: "include", path: resolve(dirname(file), href as string), at: where() });
      collecting = "host-element"; // its (fallback) content is read and dropped
      open.push(new Element("include", NS_XINCLUDE));
      collectLine = -1;
      return;
    }
    if (first && !(tag.uri === NS_PIE && tag.local === "user")) {
      fail(`<${tag.local} xmlns='${tag.uri}'/> is not XEP-0227 (the root must be <server-data xmlns='${NS_PIE}'/>)`);
    }
    const inHost = state.host !== undefined || hostOpenedHere;
    if (!inHost) fail(`<${tag.local}/> outside <host/>`);
    collecting = tag.uri === NS_PIE && tag.local === "user" ? "user" : "host-element";
    collectLine = parser.line;
    elements = 1;
    open.push(new Element(tag.local, tag.uri, attrsOf(tag)));
  });
  parser.on("closetag", () => {
    if (collecting !== undefined) {
      const el = open.pop() as Element;
      if (open.length > 0) return;
      if (collectLine >= 0)
        jobs.push({ kind: collecting === "user" ? "user" : "host-element", el, at: where(collectLine) });
      collecting = undefined;
      return;
    }
    containerDepth--;
    if (hostOpenedHere && containerDepth <= (state.host === undefined ? 1 : 0)) {
      // The </host/> of a host opened in this file (containerDepth counts server-data too when it is the root).
      hostOpenedHere = false;
      jobs.push({ kind: "host-end" });
    }
  });
  parser.on("text", (text) => {
    const parent = open[open.length - 1];
    if (parent === undefined) {
      if (text.trim() !== "") fail("text outside an element");
      return;
    }
    const last = parent.children.length - 1;
    if (last >= 0 && typeof parent.children[last] === "string") parent.children[last] += text;
    else parent.children.push(text);
  });
  parser.on("cdata", (text) => {
    const parent = open[open.length - 1];
    if (parent === undefined) fail("CDATA outside an element");
    else parent.children.push(text);
  });
  parser.on("error", (err) => fail(err.message.replace(/^\d+:\d+: /, "")));

  // Jobs run between chunks, so the read stream is paused while a user's data is written.
  let host = state.host;
  let skipping = state.skipping;
  const drain = async (): Promise<void> => {
    while (jobs.length > 0) {
      const job = jobs.shift() as Job;
      if (job.kind === "host") {
        if (job.jid === undefined || job.jid === "") {
          visitor.problem(job.at, "<host/> without jid: its users are skipped");
          host = "";
          skipping = true;
        } else {
          host = job.jid;
          skipping = !(await visitor.host(job.jid, job.at));
        }
      } else if (job.kind === "host-end") {
        host = state.host;
        skipping = state.skipping;
      } else if (job.kind === "include") {
        if (!skipping) await readOne(job.path, visitor, limits, { host, skipping }, includeDepth + 1, seen);
      } else if (!skipping && host !== undefined) {
        if (job.kind === "user") await visitor.user(host, job.el, job.at);
        else await visitor.hostElement(host, job.el, job.at);
      }
    }
  };

  const decoder = new StringDecoder("utf8");
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
      parser.write(decoder.write(chunk as Buffer));
      bytes += (chunk as Buffer).length;
      await drain();
      if (includeDepth === 0) visitor.progress?.(bytes);
    }
    parser.write(decoder.end());
    parser.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "EISDIR") {
      throw new MigrationFileError(0, `cannot read ${path}: ${(err as Error).message}`);
    }
    throw err;
  }
  await drain();
  if (!rootSeen) throw new MigrationFileError(parser.line, `${path}: no XML element in the file`);
}

function attrsOf(tag: SaxesTagNS): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, attr] of Object.entries(tag.attributes)) {
    if (name === "xmlns" || attr.prefix === "xmlns") continue;
    // Attributes in another namespace (Prosody's extended account properties) are not ours; xml:lang is kept.
    if (attr.prefix !== "" && attr.prefix !== "xml") continue;
    out[name] = attr.value;
  }
  return out;
}
