// The session logic of XEP-0124 with a fake clock and fake HTTP exchanges: rid order and window, hold/wait,
// overactivity, polling, pause, inactivity, retransmission, terminate, and the output's flushed callbacks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { StreamError } from "../../core/errors.js";
import { Element, xml } from "../../core/xml/element.js";
import { NS_CLIENT, NS_SASL, NS_STREAM } from "../../core/xml/ns.js";
import type { StreamParserEvents } from "../../core/xml/stream-parser.js";
import { parseBoshRequest } from "./bosh-body.js";
import { type BoshExchange, BoshSession, type BoshSettings, type BoshTimers } from "./bosh-session.js";

const log = pino({ level: "silent" });
const SETTINGS: BoshSettings = {
  maxWait: 60,
  maxHold: 1,
  maxRequests: 2,
  inactivity: 30,
  maxPause: 120,
  polling: 2,
  maxQueuedBytes: 10_000,
  maxResponseBytes: 5000,
};
const LIMITS = { maxStanzaBytes: 10_000, maxDepth: 10, maxElements: 50 };
const WRAPPER = { maxStanzaBytes: 100_000, maxDepth: 11 };

class FakeClock implements BoshTimers {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private deferred: (() => void)[] = [];
  private next = 1;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  defer = (fn: () => void) => {
    this.deferred.push(fn);
  };
  /** Runs deferred work, then timers due within `ms`. */
  advance(ms = 0): void {
    this.runDeferred();
    const until = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > until) break;
      this.timers.shift();
      this.time = t.at;
      t.fn();
      this.runDeferred();
    }
    this.time = until;
  }
  private runDeferred(): void {
    while (this.deferred.length > 0) (this.deferred.shift() as () => void)();
  }
}

class FakeExchange implements BoshExchange {
  status: number | undefined;
  body: string | undefined;
  private abortHandlers: (() => void)[] = [];
  /** When set, the written answer is reported as failed. */
  failWrite = false;
  respond(status: number, body: string, done?: (err?: Error) => void): void {
    assert.equal(this.status, undefined, "answered twice");
    this.status = status;
    this.body = body;
    done?.(this.failWrite ? new Error("socket closed") : undefined);
  }
  onAbort(handler: () => void): void {
    this.abortHandlers.push(handler);
  }
  abort(): void {
    for (const h of this.abortHandlers) h();
  }
}

class Recorder implements StreamParserEvents {
  log: string[] = [];
  streamStart(_name: string, _ns: string, contentNs: string, attrs: Record<string, string>): void {
    this.log.push(`start ${contentNs} to=${attrs.to} version=${attrs.version}`);
  }
  stanza(el: Element): void {
    this.log.push(`${el.name}:${el.ns}:${el.attrs.id ?? ""}`);
  }
  streamEnd(): void {
    this.log.push("end");
  }
  error(err: StreamError): void {
    this.log.push(`error ${err.condition}`);
  }
}

function body(attrs: string, inner = ""): ReturnType<typeof parseBoshRequest> {
  return parseBoshRequest(
    Buffer.from(`<body xmlns='http://jabber.org/protocol/httpbind' ${attrs}>${inner}</body>`),
    WRAPPER,
  );
}

const RID = 1000;

function open(settings: Partial<BoshSettings> = {}, creationAttrs = "wait='30' hold='1' ver='1.6'") {
  const clock = new FakeClock();
  const session = new BoshSession(
    "s1",
    "192.0.2.1",
    true,
    body(`rid='${RID}' to='example.org' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0' ${creationAttrs}`),
    { ...SETTINGS, ...settings },
    log,
    clock,
  );
  const events = new Recorder();
  const closed: string[] = [];
  session.onClose((r) => closed.push(r));
  session.readStream(events, LIMITS);
  const creation = new FakeExchange();
  session.handle(
    body(`rid='${RID}' to='example.org' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0' ${creationAttrs}`),
    creation,
  );
  return { clock, session, events, closed, creation };
}

function send(session: BoshSession, rid: number, inner = "", attrs = ""): FakeExchange {
  const ex = new FakeExchange();
  session.handle(body(`sid='s1' rid='${rid}' ${attrs}`, inner), ex);
  return ex;
}

const features = () =>
  new Element("features", NS_STREAM, {}, [xml("mechanisms", NS_SASL, {}, xml("mechanism", NS_SASL, {}, "PLAIN"))]);

test("creation: streamStart with to and xmpp:version; the held creation request carries the session attributes and the features", () => {
  const { clock, session, events, creation } = open();
  assert.deepEqual(events.log, [`start ${NS_CLIENT} to=example.org version=1.0`]);
  assert.equal(creation.status, undefined, "held until output");
  session.writeHeader({ contentNs: NS_CLIENT, id: "abc", from: "example.org" });
  session.writeElement(features(), NS_CLIENT);
  clock.advance();
  assert.equal(creation.status, 200);
  const b = creation.body as string;
  for (const a of [
    "sid='s1'",
    "wait='30'",
    "hold='1'",
    "requests='2'",
    "inactivity='30'",
    "polling='2'",
    "maxpause='120'",
    "ver='1.6'",
    `ack='${RID}'`,
    "from='example.org'",
    "secure='true'",
    "xmpp:version='1.0'",
    "xmpp:restartlogic='true'",
    "xmlns:xmpp='urn:xmpp:xbosh'",
    "xmlns:stream='http://etherx.jabber.org/streams'",
  ]) {
    assert.ok(b.includes(a), `${a} in ${b}`);
  }
  assert.match(
    b,
    /<stream:features xmlns:stream="http:\/\/etherx.jabber.org\/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl">/,
  );
});

test("wait: a held request is answered empty after `wait` seconds; the client's wait is capped by max_wait", () => {
  const { clock, creation } = open({ maxWait: 10 }, "wait='60' hold='1' ver='1.6'");
  clock.advance(9_999);
  assert.equal(creation.status, undefined);
  clock.advance(1);
  assert.match(creation.body as string, /wait='10'/);
  assert.doesNotMatch(creation.body as string, /></, "no payload");
});

test("rids: out-of-order requests wait for the gap and are forwarded in rid order; answered in rid order", () => {
  const { clock, session, events, creation } = open();
  clock.advance(30_000);
  assert.equal(creation.status, 200);
  const second = send(session, RID + 2, "<message id='b'/>");
  assert.equal(events.log.length, 1, "held until rid+1 arrives");
  const first = send(session, RID + 1, "<message id='a'/>");
  assert.deepEqual(events.log.slice(1), [`message:${NS_CLIENT}:a`, `message:${NS_CLIENT}:b`]);
  clock.advance();
  // hold=1: the older one is answered at once, the newer one is held.
  assert.equal(first.status, 200);
  assert.equal(second.status, undefined);
  session.writeElement(xml("message", NS_CLIENT, { id: "out" }), NS_CLIENT);
  clock.advance();
  assert.match(second.body as string, /<message xmlns="jabber:client" id="out"\/>/);
});

test("rids: beyond the window → item-not-found and the session ends as a lost connection", () => {
  const { clock, session, closed } = open();
  clock.advance(30_000);
  const ex = send(session, RID + 3);
  assert.equal(ex.status, 200);
  assert.match(ex.body as string, /type='terminate' condition='item-not-found'/);
  assert.deepEqual(closed, ["item-not-found"]);
  assert.equal(session.closed, true);
});

test("legacy client (no ver): the error is the HTTP status of XEP-0124 §17.1", () => {
  const { clock, session } = open({}, "wait='30' hold='1'");
  clock.advance(30_000);
  assert.equal(send(session, RID + 5).status, 404);
});

test("retransmission: a repeated rid gets the same answer; one too old → item-not-found", () => {
  const { clock, session, creation } = open();
  session.writeElement(features(), NS_CLIENT);
  clock.advance();
  const again = send(session, RID);
  assert.equal(again.body, creation.body);
  const r1 = send(session, RID + 1);
  session.writeElement(xml("message", NS_CLIENT, { id: "m1" }), NS_CLIENT);
  clock.advance();
  assert.equal(send(session, RID + 1).body, r1.body);
  const r2 = send(session, RID + 2);
  clock.advance(30_000);
  assert.equal(r2.status, 200);
  const r3 = send(session, RID + 3);
  clock.advance(30_000);
  assert.equal(r3.status, 200);
  // Only the last `requests` (2) answers are kept.
  const old = send(session, RID + 1);
  assert.match(old.body as string, /condition='item-not-found'/);
});

test("overactivity: more simultaneous requests than 'requests' → policy-violation; a terminate may be one more", () => {
  const { clock, session } = open({}, "wait='30' hold='2' ver='1.6'");
  // hold is capped to max_hold 1, requests = 2. The creation request is still held.
  send(session, RID + 1, "<message id='x'/>");
  // Without letting the deferred flush run, three are outstanding.
  const third = new FakeExchange();
  session.handle(body(`sid='s1' rid='${RID + 2}'`), third);
  assert.match(third.body as string, /condition='policy-violation'/);
  assert.equal(session.closed, true);
  clock.advance();
});

test("polling session (hold=0): empty polls faster than 'polling' → policy-violation", () => {
  const { clock, session, creation } = open({}, "wait='30' hold='0' ver='1.6'");
  clock.advance();
  assert.equal(creation.status, 200, "hold 0: answered at once");
  const p1 = send(session, RID + 1);
  clock.advance();
  assert.equal(p1.body, "<body xmlns='http://jabber.org/protocol/httpbind'/>", "the creation request is not a poll");
  clock.advance(2_500);
  const p2 = send(session, RID + 2);
  clock.advance();
  assert.doesNotMatch(p2.body as string, /terminate/);
  clock.advance(500);
  const p3 = send(session, RID + 3);
  assert.match(p3.body as string, /condition='policy-violation'/);
});

test("inactivity: no request for `inactivity` seconds ends the session; queued output is reported unsent", () => {
  const { clock, session, closed } = open();
  clock.advance(30_000); // the creation request answered at wait
  const results: string[] = [];
  session.writeElement(xml("message", NS_CLIENT, { id: "late" }), NS_CLIENT, (err) =>
    results.push(err ? "error" : "sent"),
  );
  assert.equal(session.pendingBytes > 0, true);
  clock.advance(29_999);
  assert.deepEqual(closed, []);
  clock.advance(1);
  assert.deepEqual(closed, ["inactivity"]);
  assert.deepEqual(results, ["error"]);
});

test("pause: held requests answered at once, the pause answered empty, inactivity becomes the pause", () => {
  const { clock, session, closed, creation } = open();
  session.writeElement(xml("message", NS_CLIENT, { id: "m" }), NS_CLIENT);
  // The creation request takes the message; then one is held, then a pause.
  clock.advance();
  assert.match(creation.body as string, /id="m"/);
  const held = send(session, RID + 1);
  clock.advance();
  const pause = send(session, RID + 2, "", "pause='100'");
  assert.equal(held.status, 200);
  assert.equal(pause.status, 200);
  clock.advance(99_999);
  assert.deepEqual(closed, []);
  clock.advance(1);
  assert.deepEqual(closed, ["inactivity"]);
});

test("flushed callbacks: run once the answer was written; an answer that failed reports an error", () => {
  const { clock, session } = open();
  clock.advance(30_000);
  const ok = send(session, RID + 1);
  const seen: string[] = [];
  session.writeElement(xml("message", NS_CLIENT, { id: "1" }), NS_CLIENT, (err) => seen.push(err ? "err1" : "ok1"));
  assert.equal(seen.length, 0, "not before a request took it");
  clock.advance();
  assert.equal(ok.status, 200);
  assert.deepEqual(seen, ["ok1"]);
  const broken = new FakeExchange();
  broken.failWrite = true;
  session.handle(body(`sid='s1' rid='${RID + 2}'`), broken);
  session.writeRaw("<message xmlns='jabber:client' id='2'/>", (err) => seen.push(err ? "err2" : "ok2"));
  clock.advance();
  assert.deepEqual(seen, ["ok1", "err2"]);
});

test("an aborted held request: the rid answers empty on a repeat, and the session idles toward inactivity", () => {
  const { clock, session, closed } = open();
  clock.advance(30_000);
  const ex = send(session, RID + 1);
  ex.abort();
  const again = send(session, RID + 1);
  assert.match(again.body as string, /^<body xmlns='http:\/\/jabber.org\/protocol\/httpbind'\/>$/);
  clock.advance(30_000);
  assert.deepEqual(closed, ["inactivity"]);
});

test("terminate from the client: payloads then streamEnd; our close answers type='terminate' with pending output", () => {
  const { clock, session, events, closed } = open();
  clock.advance(30_000);
  const ex = send(session, RID + 1, "<presence type='unavailable' id='u'/>", "type='terminate'");
  assert.deepEqual(events.log.slice(1), [`presence:${NS_CLIENT}:u`, "end"]);
  session.writeElement(xml("presence", NS_CLIENT, { type: "unavailable", id: "bye" }), NS_CLIENT);
  session.writeClose();
  session.end();
  clock.advance();
  assert.match(ex.body as string, /^<body xmlns='http:\/\/jabber.org\/protocol\/httpbind' type='terminate'><presence/);
  assert.deepEqual(closed, ["closed"]);
});

test("a stream error from the stream → terminate remote-stream-error with the stream:error inside (XEP-0206 §8)", () => {
  const { clock, session, closed } = open();
  clock.advance(30_000);
  const ex = send(session, RID + 1);
  session.writeElement(new StreamError("policy-violation").toElement(), NS_CLIENT);
  session.writeClose();
  session.end();
  clock.advance();
  assert.match(
    ex.body as string,
    /type='terminate' condition='remote-stream-error'><stream:error xmlns:stream="http:\/\/etherx.jabber.org\/streams"><policy-violation/,
  );
  assert.match(ex.body as string, /xmlns:stream='http:\/\/etherx.jabber.org\/streams'/);
  assert.deepEqual(closed, ["closed"]);
});

test("restart: after readStream, xmpp:restart delivers a new streamStart; a restart nobody asked for is a stream error", () => {
  const { clock, session, events } = open();
  clock.advance(30_000);
  const second = new Recorder();
  session.readStream(second, LIMITS);
  send(session, RID + 1, "", "xmlns:x='urn:xmpp:xbosh' x:restart='true' to='example.org'");
  assert.deepEqual(second.log, [`start ${NS_CLIENT} to=example.org version=1.0`]);
  clock.advance(30_000);
  send(session, RID + 2, "", "xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true'");
  assert.deepEqual(second.log.slice(1), ["error bad-format"]);
  assert.equal(events.log.length, 1);
});

test("stanza limits of the stream apply to each payload", () => {
  const { clock, session, events } = open();
  clock.advance(30_000);
  session.setLimits({ ...LIMITS, maxStanzaBytes: 100 });
  send(
    session,
    RID + 1,
    `<message id='ok'/><message id='big'><body>${"x".repeat(200)}</body></message><message id='after'/>`,
  );
  assert.deepEqual(events.log.slice(1), [`message:${NS_CLIENT}:ok`, "error policy-violation"]);
});

test("input flow control: paused input waits, resumed input arrives in order", () => {
  const { clock, session, events } = open();
  clock.advance(30_000);
  session.pause();
  send(session, RID + 1, "<message id='1'/><message id='2'/>");
  assert.equal(events.log.length, 1);
  session.resume();
  assert.deepEqual(events.log.slice(1), [`message:${NS_CLIENT}:1`, `message:${NS_CLIENT}:2`]);
});

test("a client that does not take its output beyond max_queued_bytes loses the session", () => {
  const { clock, session, closed } = open({ maxQueuedBytes: 1000 });
  clock.advance(30_000);
  const results: string[] = [];
  for (let i = 0; i < 20; i++)
    session.writeRaw(`<message xmlns='jabber:client' id='${i}'><body>${"y".repeat(50)}</body></message>`, (err) =>
      results.push(err ? "e" : "s"),
    );
  assert.deepEqual(closed, ["output not taken"]);
  assert.ok(results.every((r) => r === "e"));
});

test("output beyond max_response_bytes waits for the next request; answers are taken in order", () => {
  const { clock, session } = open({ maxResponseBytes: 400 });
  clock.advance(30_000);
  const first = send(session, RID + 1);
  for (let i = 0; i < 4; i++)
    session.writeRaw(`<message xmlns='jabber:client' id='${i}'><body>${"z".repeat(100)}</body></message>`);
  clock.advance();
  assert.match(first.body as string, /id='0'.*id='1'/);
  assert.doesNotMatch(first.body as string, /id='2'/);
  assert.ok(session.pendingBytes > 0);
  const second = send(session, RID + 2);
  clock.advance();
  assert.match(second.body as string, /id='2'.*id='3'/);
  assert.equal(session.pendingBytes, 0);
});

test("a session whose creation request never comes through ends at inactivity", () => {
  const clock = new FakeClock();
  const creation = body(`rid='${RID}' to='example.org' wait='30' hold='1' ver='1.6'`);
  const session = new BoshSession("s2", "192.0.2.1", true, creation, SETTINGS, log, clock);
  const closed: string[] = [];
  session.onClose((r) => closed.push(r));
  clock.advance(30_000);
  assert.deepEqual(closed, ["inactivity"]);
});
