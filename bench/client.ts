// A minimal raw XMPP client for load generation: plain TCP, WebSocket (RFC 7395) or BOSH (XEP-0206)
// (bench/client-wire.ts), SCRAM-SHA-1 (or PLAIN), bind, optional initial presence, and a cheap scanner
// for incoming <message/> stanzas. Not a general client: it understands just enough of the stream to
// log in and count messages, so that thousands of them fit in one process without the load generator
// becoming the bottleneck.

import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { BoshWire } from "./bosh-wire.js";
import { type ClientWire, TcpWire, type Transport, WebSocketWire, XmppError } from "./client-wire.js";

export { XmppError } from "./client-wire.js";
export type Mechanism = "SCRAM-SHA-1" | "PLAIN";

export interface LoginOptions {
  host: string;
  /** The c2s port (tcp) or the HTTP listener's port (websocket at /xmpp-websocket, bosh at /http-bind). */
  port: number;
  transport: Transport;
  domain: string;
  username: string;
  password: string;
  resource: string;
  /** Preferred mechanism; PLAIN is used when the server does not offer SCRAM-SHA-1. */
  mechanism: Mechanism;
  /** Send initial presence after binding (RFC 6121 §4.2). */
  presence: boolean;
  /** Negotiate STARTTLS (RFC 6120 §5) before SASL; plain TCP only. */
  starttls?: boolean;
  /** Limit for each step: connect, each server reply. */
  stepTimeoutMs: number;
}

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";

// ---------------------------------------------------------------------------------------------
// SCRAM-SHA-1 (RFC 5802) with the SaltedPassword cached per (password, salt, iterations): the
// PBKDF2 is by far the most expensive part of a client login and only depends on those three.

interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const keyCache = new Map<string, Promise<ScramKeys>>();

/** Number of PBKDF2 derivations this process has run (cache misses). */
export let keyDerivations = 0;

function scramKeys(password: string, saltB64: string, iterations: number): Promise<ScramKeys> {
  const cacheKey = `${iterations}\0${saltB64}\0${password}`;
  let keys = keyCache.get(cacheKey);
  if (keys === undefined) {
    keyDerivations++;
    keys = new Promise<ScramKeys>((resolve, reject) => {
      pbkdf2(password, Buffer.from(saltB64, "base64"), iterations, 20, "sha1", (err, salted) => {
        if (err) return reject(err);
        const clientKey = createHmac("sha1", salted).update("Client Key").digest();
        resolve({
          clientKey,
          storedKey: createHash("sha1").update(clientKey).digest(),
          serverKey: createHmac("sha1", salted).update("Server Key").digest(),
        });
      });
    });
    keyCache.set(cacheKey, keys);
    keys.catch(() => keyCache.delete(cacheKey));
  }
  return keys;
}

function saslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function parseScramAttrs(message: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of message.split(",")) {
    if (part.length >= 2 && part[1] === "=") attrs.set(part[0] ?? "", part.slice(2));
  }
  return attrs;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
}

// ---------------------------------------------------------------------------------------------

/**
 * The client side of SCRAM-SHA-1 (RFC 5802 §3) over base64 messages, for any transport (TCP stream, BOSH
 * bodies): first() → the initial response, final(challenge) → the response, verify(success data).
 */
export class ScramSha1Client {
  private readonly clientNonce = randomBytes(18).toString("base64");
  private readonly clientFirstBare: string;
  private authMessage = "";
  private keys: ScramKeys | undefined;

  constructor(
    username: string,
    private readonly password: string,
  ) {
    this.clientFirstBare = `n=${saslName(username)},r=${this.clientNonce}`;
  }

  first(): string {
    return Buffer.from(`n,,${this.clientFirstBare}`).toString("base64");
  }

  async final(challengeB64: string): Promise<string> {
    const serverFirst = Buffer.from(challengeB64, "base64").toString();
    const attrs = parseScramAttrs(serverFirst);
    const nonce = attrs.get("r") ?? "";
    const salt = attrs.get("s") ?? "";
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.clientNonce) || salt === "" || !(iterations > 0)) {
      throw new XmppError(`bad SCRAM server-first message: ${serverFirst}`);
    }
    const keys = await scramKeys(this.password, salt, iterations);
    this.keys = keys;
    const clientFinalBare = `c=biws,r=${nonce}`;
    this.authMessage = `${this.clientFirstBare},${serverFirst},${clientFinalBare}`;
    const signature = createHmac("sha1", keys.storedKey).update(this.authMessage).digest();
    const proof = Buffer.alloc(signature.length);
    for (let i = 0; i < proof.length; i++) proof[i] = (keys.clientKey[i] ?? 0) ^ (signature[i] ?? 0);
    return Buffer.from(`${clientFinalBare},p=${proof.toString("base64")}`).toString("base64");
  }

  verify(successB64: string): void {
    const serverFinal = Buffer.from(successB64, "base64").toString();
    const expected = createHmac("sha1", (this.keys as ScramKeys).serverKey).update(this.authMessage).digest("base64");
    if (parseScramAttrs(serverFinal).get("v") !== expected) throw new XmppError("SCRAM server signature mismatch");
  }
}

/** Called for each received <message/>: its body text ("" if none) and whether it is type='error'. */
export type MessageHandler = (body: string, isError: boolean) => void;

interface Waiter {
  /** Returns the end offset of what it matched in the buffer, or -1 to keep waiting. */
  match(buffer: string): number;
  resolve(text: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const STREAM_ERROR = /<stream:error[\s\S]*?<\/stream:error>|<\/stream:stream>/;
const FEATURES = /<(?:[\w-]+:)?features(?:\s[^>]*)?(?:\/>|>[\s\S]*?<\/(?:[\w-]+:)?features>)/;

function regexEnd(re: RegExp): (buffer: string) => number {
  return (buffer) => {
    const m = re.exec(buffer);
    return m === null ? -1 : m.index + m[0].length;
  };
}

/** One element by local name (any prefix), self-closing or with content. */
function elementEnd(name: string): (buffer: string) => number {
  return regexEnd(new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?(?:/>|>[\\s\\S]*?</(?:[\\w-]+:)?${name}>)`));
}

export class BenchClient {
  /** Full JID the server bound. */
  jid = "";
  /** Set once bound: every incoming <message/> is reported here. */
  onMessage: MessageHandler | undefined;
  /** Called once if the connection closes after login (not when close() was called). */
  onClosed: ((err: Error | undefined) => void) | undefined;

  private readonly wire: ClientWire;
  private buffer = "";
  private waiter: Waiter | undefined;
  private running = false;
  private closing = false;
  private failure: Error | undefined;

  private constructor(opts: LoginOptions) {
    const events = {
      data: (text: string) => (this.running ? this.scan(text) : this.negotiating(text)),
      closed: (err: Error) => this.fail(err),
    };
    this.wire =
      opts.transport === "websocket"
        ? new WebSocketWire(`ws://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${opts.port}/xmpp-websocket`, events)
        : opts.transport === "bosh"
          ? new BoshWire(opts.host, opts.port, events)
          : new TcpWire(opts.host, opts.port, events);
  }

  /** The TCP socket; scenarios that read it directly (mam, muc, presence) run over plain TCP only. */
  get socket(): Socket {
    const socket = this.wire.socket;
    if (socket === undefined) throw new Error("this scenario reads the TCP socket: it runs over plain TCP only");
    return socket;
  }

  /** Connect, authenticate, bind and (optionally) send presence; rejects on any failure or timeout. */
  static async login(opts: LoginOptions): Promise<BenchClient> {
    const client = new BenchClient(opts);
    try {
      await client.wire.connect(opts.stepTimeoutMs);
      await client.negotiate(opts);
      return client;
    } catch (err) {
      client.closing = true;
      client.wire.destroy();
      throw err;
    }
  }

  private openStream(domain: string, restart: boolean): void {
    this.buffer = "";
    this.wire.openStream(domain, restart);
  }

  private async negotiate(opts: LoginOptions): Promise<void> {
    const t = opts.stepTimeoutMs;
    this.openStream(opts.domain, false);
    let features = await this.waitFor(regexEnd(FEATURES), t, "stream features");
    if (opts.starttls) {
      if (!(this.wire instanceof TcpWire)) throw new XmppError("STARTTLS is for plain TCP streams only");
      if (!/<starttls\b/.test(features)) throw new XmppError(`the server offers no STARTTLS: ${features.slice(0, 300)}`);
      this.wire.write(`<starttls xmlns='${NS_TLS}'/>`);
      const answer = await this.waitFor(elementEnd("(?:proceed|failure)"), t, "STARTTLS proceed");
      if (!/<(?:[\w-]+:)?proceed/.test(answer)) throw new XmppError(`STARTTLS refused: ${answer.slice(0, 300)}`);
      this.buffer = "";
      await this.wire.startTls(opts.domain, t);
      // RFC 6120 §5.4.3.3: a new stream over TLS.
      this.openStream(opts.domain, true);
      features = await this.waitFor(regexEnd(FEATURES), t, "stream features over TLS");
    }
    const offered = [...features.matchAll(/<mechanism>([^<]*)<\/mechanism>/g)].map((m) => m[1]);
    let mechanism: Mechanism = opts.mechanism;
    if (!offered.includes(mechanism)) {
      if (offered.includes("PLAIN")) mechanism = "PLAIN";
      else if (offered.includes("SCRAM-SHA-1")) mechanism = "SCRAM-SHA-1";
      else throw new XmppError(`no usable SASL mechanism (offered: ${offered.join(" ") || "none"})`);
    }
    if (mechanism === "PLAIN") await this.authPlain(opts);
    else await this.authScram(opts);

    // RFC 6120 §6.4.6: a new stream after SASL success.
    this.openStream(opts.domain, true);
    await this.waitFor(regexEnd(FEATURES), t, "stream features after SASL");
    this.wire.write(
      `<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>${escapeXml(opts.resource)}</resource></bind></iq>`,
    );
    const reply = await this.waitFor(elementEnd("iq"), t, "bind result");
    const jid = /<jid>([^<]*)<\/jid>/.exec(reply);
    if (!/type=['"]result['"]/.test(reply) || jid === null) throw new XmppError(`bind failed: ${reply.slice(0, 300)}`);
    this.jid = jid[1] ?? "";
    if (opts.presence) this.wire.write("<presence/>");
    // From here on only <message/> stanzas matter: switch to the cheap scanner.
    const rest = this.buffer;
    this.buffer = "";
    this.running = true;
    if (rest !== "") this.scan(rest);
  }

  private async authPlain(opts: LoginOptions): Promise<void> {
    const initial = Buffer.from(`\0${opts.username}\0${opts.password}`).toString("base64");
    this.wire.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${initial}</auth>`);
    await this.saslOutcome(opts.stepTimeoutMs);
  }

  private async authScram(opts: LoginOptions): Promise<void> {
    const t = opts.stepTimeoutMs;
    const scram = new ScramSha1Client(opts.username, opts.password);
    this.wire.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${scram.first()}</auth>`);
    const challenge = await this.waitFor(elementEnd("(?:challenge|failure)"), t, "SASL challenge");
    if (!/<(?:[\w-]+:)?challenge/.test(challenge)) {
      throw new XmppError(`SASL failure: ${challenge.slice(0, 300)}`);
    }
    const response = await scram.final(/>([^<]*)<\//.exec(challenge)?.[1] ?? "");
    this.wire.write(`<response xmlns='${NS_SASL}'>${response}</response>`);
    const success = await this.saslOutcome(t);
    scram.verify(/>([^<]*)<\//.exec(success)?.[1] ?? "");
  }

  private async saslOutcome(timeoutMs: number): Promise<string> {
    const outcome = await this.waitFor(elementEnd("(?:success|failure)"), timeoutMs, "SASL outcome");
    if (!/<(?:[\w-]+:)?success/.test(outcome)) throw new XmppError(`SASL failure: ${outcome.slice(0, 300)}`);
    return outcome.slice(outcome.search(/<(?:[\w-]+:)?success/));
  }

  /**
   * Resolves with the buffer up to the end of the first match and keeps what follows. A stream
   * error or the end of the stream rejects.
   */
  private waitFor(match: (buffer: string) => number, timeoutMs: number, what: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new XmppError(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiter = { match, resolve, reject, timer };
      this.negotiating("");
    });
  }

  private negotiating(chunk: string): void {
    this.buffer += chunk;
    const waiter = this.waiter;
    if (waiter === undefined) return;
    const end = waiter.match(this.buffer);
    if (end >= 0) {
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end);
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.resolve(text);
      return;
    }
    const error = STREAM_ERROR.exec(this.buffer);
    if (error !== null) {
      this.fail(new XmppError(`stream closed by server: ${error[0].slice(0, 300)}`));
    }
  }

  /** Incremental scanner for <message/> stanzas after login; everything else is skipped. */
  private scan(chunk: string): void {
    const s = this.buffer === "" ? chunk : this.buffer + chunk;
    let pos = 0;
    for (;;) {
      const end = s.indexOf("</message>", pos);
      if (end < 0) break;
      const start = s.lastIndexOf("<message", end);
      let body = "";
      const b = s.indexOf("<body>", start);
      if (b >= 0 && b < end) {
        const be = s.indexOf("</body>", b);
        if (be > b) body = s.slice(b + 6, be);
      }
      const tagEnd = s.indexOf(">", start);
      const head = s.slice(start, tagEnd);
      const isError = head.includes("type='error'") || head.includes('type="error"');
      pos = end + 10;
      this.onMessage?.(body, isError);
    }
    // Keep an unfinished <message ...> whole; otherwise only a short tail that may hold a split tag.
    const open = s.lastIndexOf("<message", s.length);
    this.buffer = open >= pos ? s.slice(open) : s.slice(Math.max(pos, s.length - 16));
  }

  /** Queue a stanza; writes issued in one tick go out together (one syscall, or one BOSH request). */
  send(xml: string): void {
    this.wire.send(xml);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    if (this.running && !this.closing) this.onClosed?.(err);
  }

  get open(): boolean {
    return this.failure === undefined && !this.closing;
  }

  /** Close the stream politely; resolves when the connection has closed (or after timeoutMs). */
  close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    return this.wire.close(timeoutMs);
  }

  /** Drop the connection at once. */
  destroy(): void {
    this.closing = true;
    this.wire.destroy();
  }
}
