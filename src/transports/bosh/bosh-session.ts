// One BOSH session (XEP-0124) carrying one client stream (XEP-0206): a StreamWire whose input arrives as the
// payloads of HTTP requests, taken in rid order, and whose output waits in a queue for the next request the
// session holds. The HTTP side (bosh-handler.ts) parses requests and hands each one here with its exchange.
import type { Logger } from "pino";
import type { ChannelBindingType } from "../../auth/types.js";
import { StreamError } from "../../core/errors.js";
import type { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_HTTPBIND, NS_STREAM } from "../../core/xml/ns.js";
import type { StreamParserEvents, StreamParserLimits } from "../../core/xml/stream-parser.js";
import { standaloneElementText } from "../../stream/framing.js";
import { type CloseHandler, runCloseHandler } from "../../stream/connection.js";
import type { Flushed, InputListener, StreamHeaderFields, StreamWire } from "../../stream/stream-wire.js";
import { type BoshCondition, type BoshRequest, responseBody, terminateBody } from "./bosh-body.js";

/** The highest XEP-0124 version Natter implements (XEP-0124 §7.1 'ver'). */
export const BOSH_VERSION = "1.11";

export interface BoshSettings {
  /** Seconds; XEP-0124 §7.1 'wait' is the smaller of this and the client's. */
  maxWait: number;
  maxHold: number;
  maxRequests: number;
  /** Seconds without a request before the session is gone (XEP-0124 §10). */
  inactivity: number;
  /** Longest pause a client may ask for, in seconds; 0 = no pausing. */
  maxPause: number;
  /** Shortest interval between empty polls of a polling session, in seconds (XEP-0124 §12). */
  polling: number;
  /** Output waiting for a request beyond this ends the session. */
  maxQueuedBytes: number;
  /** Output put in one response (more waits for the next request; one larger element goes alone). */
  maxResponseBytes: number;
}

/** One HTTP request waiting for its answer. */
export interface BoshExchange {
  /** Sends the answer once; `done` runs when it was written to the socket, or with an error when it never will be. */
  respond(status: number, body: string, done?: (err?: Error) => void): void;
  /** The client gave up on the request (its connection closed) before it was answered. */
  onAbort(handler: () => void): void;
}

/** Timers, replaceable by a fake clock in unit tests. */
export interface BoshTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` once the current synchronous work is done (batches writes into one response). */
  defer(fn: () => void): void;
}

export const realTimers: BoshTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  defer: (fn) => setImmediate(fn),
};

/** HTTP statuses of XEP-0124 §17.1 for clients that did not send 'ver' (legacy clients). */
const LEGACY_STATUS: Partial<Record<BoshCondition, number>> = {
  "bad-request": 400,
  "policy-violation": 403,
  "item-not-found": 404,
};

interface Held {
  rid: number;
  exchange: BoshExchange;
  /** No payload, no pause, terminate or restart: a poll (XEP-0124 §12). */
  empty: boolean;
  timer: unknown;
}

interface Queued {
  text: string;
  bytes: number;
  flushed: Flushed | undefined;
}

interface Reader {
  events: StreamParserEvents;
  limits: StreamParserLimits;
  started: boolean;
  done: boolean;
}

type State = "open" | "closing" | "closed";

export class BoshSession implements StreamWire {
  readonly transport = "bosh" as const;
  readonly canStartTls = false;
  /** XEP-0124 §7.1 values agreed at creation. */
  readonly wait: number;
  readonly hold: number;
  readonly requests: number;
  readonly ver: string | undefined;
  /** The response Content-Type (XEP-0124 §7.1 'content'). */
  readonly contentType: string;

  private state: State = "open";
  /** Highest rid taken in order: every rid up to it has been processed. */
  private lastRid: number;
  private readonly creationRid: number;
  /** Requests that arrived ahead of a gap in the rids (XEP-0124 §14.2). */
  private readonly early = new Map<number, { request: BoshRequest; exchange: BoshExchange }>();
  /** Processed requests waiting for output or for `wait`, oldest first. */
  private held: Held[] = [];
  /** The last responses, for a client that asks again (XEP-0124 §14.3). */
  private readonly sent = new Map<number, string>();
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private inactivityTimer: unknown;
  /** Inactivity period in ms until the next request (a pause changes it, XEP-0124 §10). */
  private inactivityMs: number;
  /** When the last empty poll was answered with nothing (XEP-0124 §12). */
  private lastEmptyPoll: number | undefined;
  private reader: Reader | undefined;
  private inputListener: InputListener | undefined;
  private inputPaused = false;
  private readonly backlog: (() => void)[] = [];
  private readonly closeHandlers: CloseHandler[] = [];
  /** The stream wrote a stream error: the session ends with remote-stream-error (XEP-0206 §8). */
  private streamError = false;
  private headerFrom: string | undefined;
  private to: string;
  private lang: string | undefined;

  constructor(
    readonly sid: string,
    readonly remoteAddress: string,
    readonly secure: boolean,
    creation: BoshRequest,
    private readonly settings: BoshSettings,
    private readonly log: Logger,
    private readonly timers: BoshTimers = realTimers,
  ) {
    const a = creation.attrs;
    this.wait = Math.min(intAttr(a.wait) ?? settings.maxWait, settings.maxWait);
    this.hold = Math.min(intAttr(a.hold) ?? 1, settings.maxHold);
    // XEP-0124 §7.1: 'requests' RECOMMENDED 2 or hold + 1.
    this.requests = Math.max(settings.maxRequests, this.hold + 1);
    this.ver = a.ver === undefined ? undefined : lowerVersion(a.ver, BOSH_VERSION);
    this.contentType = /^[\w.+-]+\/[\w.+-]+(; ?charset=[\w-]+)?$/.test(a.content ?? "")
      ? (a.content as string)
      : "text/xml; charset=utf-8";
    this.creationRid = creation.rid;
    this.lastRid = creation.rid - 1;
    this.inactivityMs = settings.inactivity * 1000;
    this.to = a.to ?? "";
    this.lang = a["xml:lang"];
    // Until its creation request is taken (a failed start would otherwise leave it forever).
    this.startInactivity();
  }

  // ---- HTTP side ----

  /** Takes one request of this session (the creation request too). */
  handle(request: BoshRequest, exchange: BoshExchange): void {
    if (this.state === "closed") {
      exchange.respond(404, terminateBody("item-not-found"));
      return;
    }
    const { rid } = request;
    if (rid <= this.lastRid) {
      this.repeat(rid, exchange);
      return;
    }
    // XEP-0124 §14.2: the window is as wide as the simultaneous requests allowed.
    if (rid > this.lastRid + this.requests) {
      this.fail("item-not-found", exchange, `rid ${rid} is beyond the window`);
      return;
    }
    const early = this.early.get(rid);
    if (early) {
      early.exchange = exchange;
      return;
    }
    // XEP-0124 §11: more simultaneous requests than 'requests', one more for a pause or terminate.
    const outstanding = this.held.length + this.early.size + 1;
    const allowance = request.pause !== undefined || request.terminate ? this.requests + 1 : this.requests;
    if (outstanding > allowance) {
      this.fail("policy-violation", exchange, `${outstanding} simultaneous requests`);
      return;
    }
    this.stopInactivity();
    this.inactivityMs = this.settings.inactivity * 1000;
    const entry = { request, exchange };
    this.early.set(rid, entry);
    exchange.onAbort(() => {
      if (this.early.get(rid) === entry) this.early.delete(rid);
      this.startInactivity();
    });
    for (let next = this.early.get(this.lastRid + 1); next; next = this.early.get(this.lastRid + 1)) {
      this.early.delete(this.lastRid + 1);
      this.lastRid++;
      this.process(next.request, next.exchange);
      if (this.closed) return;
    }
  }

  /** XEP-0124 §14.3: a rid already taken: the same answer again, or item-not-found when it is gone. */
  private repeat(rid: number, exchange: BoshExchange): void {
    const answer = this.sent.get(rid);
    if (answer !== undefined) {
      this.log.debug({ rid }, "BOSH request repeated; answering it again");
      exchange.respond(200, answer);
      return;
    }
    const held = this.held.find((h) => h.rid === rid);
    if (held) {
      // The client's connection broke while we held it: answer on the new one.
      held.exchange = exchange;
      this.watchAbort(held);
      return;
    }
    this.fail("item-not-found", exchange, `rid ${rid} was answered and is no longer buffered`);
  }

  private process(request: BoshRequest, exchange: BoshExchange): void {
    const now = this.timers.now();
    this.inputListener?.wireInput(request.bytes);
    const empty =
      request.rid !== this.creationRid &&
      request.payloads.length === 0 &&
      request.pause === undefined &&
      !request.terminate &&
      !request.restart;
    // XEP-0124 §12: a polling session (hold 0) polling faster than 'polling' after an empty answer.
    if (
      this.hold === 0 &&
      empty &&
      this.lastEmptyPoll !== undefined &&
      now - this.lastEmptyPoll < this.settings.polling * 1000
    ) {
      this.fail("policy-violation", exchange, "polling too frequently");
      return;
    }
    if (request.pause !== undefined && this.settings.maxPause > 0 && request.pause <= this.settings.maxPause) {
      // XEP-0124 §10: answer everything held now, the pause request with no payload; the quiet period that
      // follows may last up to `pause` seconds.
      this.respondAll();
      this.respond({ rid: request.rid, exchange, empty: true, timer: undefined }, { payload: false, remember: false });
      this.inactivityMs = request.pause * 1000;
      this.deliver(request);
      this.startInactivity();
      return;
    }
    if (request.pause !== undefined) this.log.info({ pause: request.pause }, "BOSH pause longer than maxpause ignored");
    const held: Held = { rid: request.rid, exchange, empty, timer: undefined };
    held.timer = this.timers.setTimeout(() => this.waitExpired(held), this.wait * 1000);
    this.held.push(held);
    this.watchAbort(held);
    if (request.terminate) {
      // XEP-0124 §13: payloads are forwarded, then the stream ends; the answer is a terminate body.
      this.deliver(request);
      this.input(() => {
        const reader = this.reader;
        if (!reader || reader.done) return;
        reader.done = true;
        reader.events.streamEnd();
      });
      if (this.state === "open") this.state = "closing";
      this.log.info("BOSH session terminated by the client");
    } else {
      this.deliver(request);
    }
    this.scheduleFlush();
  }

  private watchAbort(held: Held): void {
    const exchange = held.exchange;
    exchange.onAbort(() => {
      if (held.exchange !== exchange || !this.held.includes(held)) return;
      // Nothing was put in it: a repeat of this rid gets an empty answer.
      this.timers.clearTimeout(held.timer);
      this.held = this.held.filter((h) => h !== held);
      this.remember(held.rid, responseBody({}, ""));
      this.startInactivity();
    });
  }

  private waitExpired(held: Held): void {
    if (!this.held.includes(held)) return;
    // In rid order: everything held before it is answered first (XEP-0124 §8).
    while (this.held.length > 0) {
      const first = this.held[0] as Held;
      this.respond(first, { payload: true });
      if (first === held) break;
    }
    this.startInactivity();
  }

  // ---- input to the stream ----

  private deliver(request: BoshRequest): void {
    const attrs: Record<string, string> = { to: request.attrs.to ?? this.to, version: "1.0" };
    const lang = request.attrs["xml:lang"] ?? this.lang;
    if (lang !== undefined) attrs["xml:lang"] = lang;
    if (request.attrs.from !== undefined) attrs.from = request.attrs.from;
    // XEP-0206 §3: xmpp:version is the stream's version; its schema makes 1.0 the default.
    const version = Object.entries(request.attrs).find(([k]) => k.endsWith(":version"))?.[1];
    if (version !== undefined) attrs.version = version;
    if (request.rid === this.creationRid) {
      this.input(() => this.startStream(attrs));
    } else if (request.restart) {
      // XEP-0206 §5: a restart after SASL success; the stream has asked for a new one with readStream.
      this.input(() => {
        if (!this.reader || this.reader.started) {
          this.reader?.events.error(new StreamError("bad-format", "a stream restart the stream did not ask for"));
          if (this.reader) this.reader.done = true;
          return;
        }
        this.startStream(attrs);
      });
    }
    for (const el of request.payloads) this.input(() => this.stanza(el, request.bytes));
  }

  private startStream(attrs: Record<string, string>): void {
    const reader = this.reader;
    if (!reader || reader.done) return;
    reader.started = true;
    reader.events.streamStart("body", NS_HTTPBIND, NS_CLIENT, attrs);
  }

  private stanza(el: Element, bodyBytes: number): void {
    const reader = this.reader;
    if (!reader || reader.done || !reader.started) return;
    const { maxStanzaBytes, maxElements } = reader.limits;
    // The wrapper was parsed under the body limits; each stanza still meets the stream's own (RFC 6120 §13.12).
    const tooBig = bodyBytes > maxStanzaBytes && Buffer.byteLength(standaloneElementText(el)) > maxStanzaBytes;
    if (tooBig || (maxElements !== undefined && countElements(el, maxElements + 1) > maxElements)) {
      reader.done = true;
      reader.events.error(
        new StreamError(
          "policy-violation",
          tooBig ? `stanza larger than ${maxStanzaBytes} bytes` : `more than ${maxElements} elements in one stanza`,
        ),
      );
      return;
    }
    reader.events.stanza(el);
  }

  /** Runs input now, or after resume() when the stream paused its input. */
  private input(fn: () => void): void {
    if (this.inputPaused || this.backlog.length > 0) this.backlog.push(fn);
    else fn();
  }

  // ---- output ----

  private scheduleFlush(): void {
    if (this.flushScheduled || this.state === "closed") return;
    this.flushScheduled = true;
    this.timers.defer(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Answers held requests: with the queued output, beyond `hold`, or with the end of the session. */
  private flush(): void {
    if (this.state === "closed") return;
    if (this.state === "closing") {
      // The next request gets the end.
      if (this.held.length === 0) {
        this.startInactivity();
        return;
      }
      const last = this.held[this.held.length - 1] as Held;
      for (const h of this.held.slice(0, -1)) this.respond(h, { payload: false });
      this.respond(last, { payload: true, terminate: this.streamError ? "remote-stream-error" : true });
      this.finish("closed");
      return;
    }
    while (this.queue.length > 0 && this.held.length > 0) this.respond(this.held[0] as Held, { payload: true });
    // XEP-0124 §8: no more than `hold` requests waiting.
    while (this.held.length > this.hold) this.respond(this.held[0] as Held, { payload: true });
    if (this.held.length === 0) this.startInactivity();
  }

  private respondAll(): void {
    while (this.held.length > 0) this.respond(this.held[0] as Held, { payload: true });
  }

  private respond(held: Held, how: { payload: boolean; terminate?: true | BoshCondition; remember?: boolean }): void {
    this.timers.clearTimeout(held.timer);
    this.held = this.held.filter((h) => h !== held);
    // A terminating answer is the last: it takes everything. Others take a bounded batch, since the last
    // answers are kept for retransmission (XEP-0124 §14.3).
    const taken = how.payload
      ? this.takeQueue(how.terminate !== undefined ? Number.POSITIVE_INFINITY : this.settings.maxResponseBytes)
      : [];
    let payload = "";
    for (const q of taken) payload += q.text;
    let body: string;
    if (how.terminate !== undefined) {
      body = terminateBody(how.terminate === true ? undefined : how.terminate, payload);
    } else {
      const attrs: Record<string, string> = held.rid === this.creationRid ? this.creationAttrs() : {};
      // XEP-0124 §9.1: acknowledge the highest rid received in order when it is not this one.
      if (held.rid !== this.creationRid && this.lastRid > held.rid) attrs.ack = String(this.lastRid);
      body = responseBody(attrs, payload);
      if (how.remember !== false) this.remember(held.rid, body);
    }
    if (held.empty) this.lastEmptyPoll = payload === "" ? this.timers.now() : undefined;
    held.exchange.respond(200, body, (err) => {
      for (const q of taken) q.flushed?.(err ?? null);
    });
  }

  private remember(rid: number, body: string): void {
    this.sent.set(rid, body);
    for (const old of this.sent.keys()) {
      if (this.sent.size <= this.requests) break;
      this.sent.delete(old);
    }
  }

  private takeQueue(maxBytes = Number.POSITIVE_INFINITY): Queued[] {
    let count = 0;
    let bytes = 0;
    for (const q of this.queue) {
      if (count > 0 && bytes + q.bytes > maxBytes) break;
      count++;
      bytes += q.bytes;
    }
    const taken = this.queue.splice(0, count);
    this.queuedBytes -= bytes;
    return taken;
  }

  /** XEP-0124 §7.1 and XEP-0206 §3: the session creation response's attributes. */
  private creationAttrs(): Record<string, string> {
    const attrs: Record<string, string> = {
      sid: this.sid,
      wait: String(this.wait),
      hold: String(this.hold),
      requests: String(this.requests),
      inactivity: String(this.settings.inactivity),
      polling: String(this.settings.polling),
      ack: String(this.creationRid),
      from: this.headerFrom ?? this.to,
      "xmpp:version": "1.0",
      "xmpp:restartlogic": "true",
    };
    if (this.settings.maxPause > 0) attrs.maxpause = String(this.settings.maxPause);
    if (this.ver !== undefined) attrs.ver = this.ver;
    if (this.secure) attrs.secure = "true";
    return attrs;
  }

  private enqueue(text: string, flushed: Flushed | undefined): void {
    if (this.state === "closed") {
      flushed?.(new Error("BOSH session closed"));
      return;
    }
    const bytes = Buffer.byteLength(text);
    this.queue.push({ text, bytes, flushed });
    this.queuedBytes += bytes;
    if (this.queuedBytes > this.settings.maxQueuedBytes) {
      this.log.warn({ queued: this.queuedBytes }, "BOSH client is not taking its output; ending the session");
      this.abort("undefined-condition", "output not taken");
      return;
    }
    this.scheduleFlush();
  }

  // ---- StreamWire ----

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  readStream(events: StreamParserEvents, limits: StreamParserLimits): void {
    if (this.reader) this.reader.done = true;
    this.backlog.length = 0;
    this.reader = { events, limits, started: false, done: false };
  }

  setLimits(limits: StreamParserLimits): void {
    if (this.reader) this.reader.limits = limits;
  }

  onInput(listener: InputListener): void {
    this.inputListener = listener;
  }

  writeHeader(fields: StreamHeaderFields): void {
    // XEP-0206 §3: no stream header travels; its 'from' goes on the creation response.
    this.headerFrom = fields.from;
  }

  writeElement(el: Element, _contentNs: string, flushed?: Flushed): number {
    const text = standaloneElementText(el);
    // XEP-0206 §8: a stream error ends the session with remote-stream-error, the error inside.
    if (el.ns === NS_STREAM && el.name === "error") this.streamError = true;
    this.enqueue(text, flushed);
    return Buffer.byteLength(text);
  }

  writeRaw(text: string, flushed?: Flushed): void {
    this.enqueue(text, flushed);
  }

  writeClose(): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.scheduleFlush();
  }

  keepalive(): void {
    // A held request answered at `wait` keeps the HTTP side alive.
  }

  startTls(): Promise<void> {
    return Promise.reject(new Error("BOSH runs over HTTPS; there is no STARTTLS"));
  }

  channelBindings(): ChannelBindingType[] {
    return [];
  }

  channelBinding(): Buffer | undefined {
    return undefined;
  }

  pause(): void {
    this.inputPaused = true;
  }

  resume(): void {
    this.inputPaused = false;
    while (!this.inputPaused && this.backlog.length > 0) (this.backlog.shift() as () => void)();
  }

  end(): void {
    if (this.reader) this.reader.done = true;
    if (this.state === "open") this.state = "closing";
    this.scheduleFlush();
  }

  destroy(): void {
    if (this.state === "closed") return;
    this.abort(this.streamError ? "remote-stream-error" : "undefined-condition", "closed by the server");
  }

  onClose(handler: CloseHandler): void {
    if (this.state === "closed") runCloseHandler(handler, "closed");
    else this.closeHandlers.push(handler);
  }

  // ---- ending ----

  /** Ends the session at once: held requests get a terminal error with whatever output is waiting. */
  private abort(condition: BoshCondition, reason: string): void {
    if (this.state === "closed") return;
    const held = this.held;
    for (const h of held.slice(0, -1)) this.respond(h, { payload: false, terminate: condition });
    const last = held[held.length - 1];
    if (last) this.respond(last, { payload: true, terminate: condition });
    this.finish(reason);
  }

  /** Answers a request with a terminal binding error and ends the session (XEP-0124 §17.2). */
  private fail(condition: BoshCondition, exchange: BoshExchange, why: string): void {
    this.log.info({ condition, why }, "BOSH request refused; ending the session");
    const status = this.ver === undefined ? (LEGACY_STATUS[condition] ?? 200) : 200;
    exchange.respond(status, terminateBody(condition));
    this.abort(condition, condition);
  }

  /** The session is over: nothing more is sent or read; the stream hears it as a closed connection. */
  private finish(reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.stopInactivity();
    for (const h of this.held) {
      this.timers.clearTimeout(h.timer);
      h.exchange.respond(200, terminateBody("undefined-condition"));
    }
    this.held = [];
    for (const e of this.early.values()) e.exchange.respond(200, terminateBody("undefined-condition"));
    this.early.clear();
    for (const q of this.takeQueue()) q.flushed?.(new Error("the BOSH session ended before the client took it"));
    if (this.reader) this.reader.done = true;
    this.backlog.length = 0;
    this.log.info({ reason }, "BOSH session ended");
    for (const handler of this.closeHandlers.splice(0)) runCloseHandler(handler, reason);
  }

  private startInactivity(): void {
    if (this.state === "closed" || this.held.length > 0 || this.early.size > 0) return;
    this.stopInactivity();
    this.inactivityTimer = this.timers.setTimeout(() => {
      this.inactivityTimer = undefined;
      // XEP-0124 §10: the client is gone; the session ends without telling it.
      this.log.info({ seconds: this.inactivityMs / 1000 }, "BOSH session inactive; ending it");
      this.finish("inactivity");
    }, this.inactivityMs);
  }

  private stopInactivity(): void {
    if (this.inactivityTimer !== undefined) this.timers.clearTimeout(this.inactivityTimer);
    this.inactivityTimer = undefined;
  }

  get closed(): boolean {
    return this.state === "closed";
  }
}

function intAttr(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/** XEP-0124 §7.1 'ver': the lower of two "major.minor" versions (each part compared as an integer). */
export function lowerVersion(a: string, b: string): string {
  const parse = (v: string) => v.split(".").map((p) => Number.parseInt(p, 10) || 0);
  const [am = 0, an = 0] = parse(a);
  const [bm = 0, bn = 0] = parse(b);
  return am < bm || (am === bm && an < bn) ? `${am}.${an}` : b;
}

/** Elements in a tree, counting no further than `stop`. */
function countElements(el: Element, stop: number): number {
  let n = 1;
  for (const c of el.children) {
    if (typeof c === "string") continue;
    n += countElements(c, stop - n);
    if (n >= stop) return n;
  }
  return n;
}
