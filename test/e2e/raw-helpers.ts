// Shared helpers for the raw-socket e2e tests (stream-errors, sasl): log in by hand, read what the
// server wrote as XML (namespaces resolved, so `<stream:error>` and `<error xmlns=streams>` are the same),
// and check that the server still serves other clients after a bad one.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Element } from "../../src/core/xml/element.js";
import { NS_STREAM, NS_STREAMS_ERROR } from "../../src/core/xml/ns.js";
import { XmppStreamParser } from "../../src/core/xml/stream-parser.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import type { TestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";

export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const FEATURES_END = /<\/(stream:)?features>/;

const SYNTHETIC_HEADER = `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`;

export interface ServerOutput {
  header: Record<string, string> | undefined;
  elements: Element[];
  ended: boolean;
}

/**
 * Parses the server's side of the current stream (from its last stream header on) with Natter's own
 * strict parser. Output captured after a reset of `RawClient.data` gets a synthetic header.
 */
export function parseServerOutput(data: string): ServerOutput {
  const start = data.lastIndexOf("<stream:stream");
  const text = start >= 0 ? data.slice(start) : SYNTHETIC_HEADER + data;
  const out: ServerOutput = { header: undefined, elements: [], ended: false };
  let failure: Error | undefined;
  const parser = new XmppStreamParser(
    {
      streamStart: (_name, _ns, _contentNs, attrs) => {
        out.header = start >= 0 ? attrs : undefined;
      },
      stanza: (el) => out.elements.push(el),
      streamEnd: () => {
        out.ended = true;
      },
      error: (err) => {
        failure = err;
      },
    },
    { maxStanzaBytes: 64 * 1024 * 1024, maxDepth: 1000 },
  );
  parser.write(Buffer.from(text, "utf8"));
  if (failure)
    throw new Error(`the server's output is not a well-formed stream: ${failure.message}\n${text.slice(-500)}`);
  return out;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/**
 * RFC 6120 §4.9.1.1: the stream error, then the closing tag, then the TCP connection is closed.
 * Also checks that a log line names the condition for this very stream.
 */
export async function expectStreamError(ts: TestServer, rc: RawClient, condition: string): Promise<Element> {
  await withTimeout(rc.closed, 5000, `the server to close the connection after <${condition}/>`);
  const out = parseServerOutput(rc.data);
  const errors = out.elements.filter((e) => e.name === "error" && e.ns === NS_STREAM);
  assert.equal(errors.length, 1, `exactly one <stream:error/>; got:\n${rc.data.slice(-800)}`);
  const error = errors[0] as Element;
  const conditions = error.elements().filter((e) => e.ns === NS_STREAMS_ERROR && e.name !== "text");
  assert.deepEqual(
    conditions.map((e) => e.name),
    [condition],
    `stream error condition; got:\n${error.toString()}`,
  );
  // The error is the last element, and the stream is closed after it.
  assert.equal(out.elements[out.elements.length - 1], error, "nothing follows the stream error");
  assert.ok(out.ended, "</stream:stream> follows the stream error");
  assert.match(rc.data, /<\/stream:stream>\s*$/);
  const streamId = out.header?.id;
  assert.ok(
    ts.logs.some(
      (l) => l.msg === "stream error" && l.condition === condition && (streamId === undefined || l.stream === streamId),
    ),
    `a log line for <${condition}/> on stream ${streamId}`,
  );
  return error;
}

/** The stanza-level error condition of an error stanza (RFC 6120 §8.3.2). */
export function stanzaErrorCondition(el: Element): string | undefined {
  const error = el.getChild("error");
  return error?.elements().find((e) => e.ns === "urn:ietf:params:xml:ns:xmpp-stanzas" && e.name !== "text")?.name;
}

/** Waits for the next top-level element of the current stream that matches. */
export async function waitForElement(
  rc: RawClient,
  pred: (el: Element) => boolean,
  timeoutMs = 5000,
): Promise<Element> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = parseServerOutput(rc.data).elements.find(pred);
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for an element; received:\n${rc.data.slice(-800)}`);
    // Wake on the next data (or poll again shortly).
    await rc.waitFor(/[\s\S]/, Math.min(left, 200)).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens a stream on the STARTTLS port and upgrades it (RFC 6120 §5.4); returns after the TLS stream's features. */
export async function rawTls(ts: TestServer, options: { localAddress?: string } = {}): Promise<RawClient> {
  const rc = await RawClient.connect(ts.port, options);
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  rc.send(`<starttls xmlns='${NS_TLS}'/>`);
  await rc.waitFor(/<proceed/);
  await rc.startTls(ts.domain);
  rc.data = "";
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  return rc;
}

export function plainAuth(user: string, password: string): string {
  // RFC 4616 §2: [authzid] NUL authcid NUL passwd
  return `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`, "utf8").toString("base64")}</auth>`;
}

/** A fresh authenticated stream (STARTTLS, SASL PLAIN, restart) that has not bound a resource yet. */
export async function rawAuthenticated(ts: TestServer, user: string, password: string): Promise<RawClient> {
  const rc = await rawTls(ts);
  rc.send(plainAuth(user, password));
  await rc.waitFor(/<success/);
  rc.data = "";
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  return rc;
}

/** STARTTLS, SASL PLAIN, stream restart and resource binding, all by hand. `data` holds the last stream from its header. */
export async function rawLogin(
  ts: TestServer,
  user: string,
  password: string,
  resource?: string,
): Promise<{ rc: RawClient; jid: string }> {
  const rc = await rawAuthenticated(ts, user, password);
  rc.send(
    `<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'>${resource ? `<resource>${resource}</resource>` : ""}</bind></iq>`,
  );
  const m = await rc.waitFor(/<jid>([^<]+)<\/jid>/);
  return { rc, jid: m[1] as string };
}

/** Sends a ping to the server and waits for its result: the stream is alive and in order. */
export async function rawPing(rc: RawClient, domain = "localhost"): Promise<void> {
  const id = `ping-${randomBytes(4).toString("hex")}`;
  rc.send(`<iq type='get' id='${id}' to='${domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id && el.attrs.type === "result");
}

/** Two fresh clients log in with @xmpp/client and exchange a message: the server still serves others. */
export async function assertStillServes(ts: TestServer, users: [string, string] = ["carol", "dave"]): Promise<void> {
  const [u1, u2] = users;
  const a = await connect(ts, u1, `${u1}-pw`, { resource: `check-${randomBytes(3).toString("hex")}` });
  const b = await connect(ts, u2, `${u2}-pw`, { resource: `check-${randomBytes(3).toString("hex")}` });
  try {
    const body = `still here ${randomBytes(4).toString("hex")}`;
    await a.xmpp.send(xml("message", { to: b.jid, type: "chat" }, xml("body", {}, body)));
    const got = await b.waitFor((s) => s.name === "message" && s.getChildText("body") === body);
    assert.equal(got.attrs.from, a.jid);
  } finally {
    await a.stop();
    await b.stop();
  }
}
