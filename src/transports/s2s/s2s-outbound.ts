// A stream we open to another server for one (local domain, remote domain) pair (RFC 6120): resolve and
// connect (SRV, XEP-0368 direct TLS, fallback), STARTTLS, then SASL EXTERNAL when both certificates allow it
// (XEP-0178), otherwise dialback (XEP-0220) where policy allows; stanzas queue until then and go out in
// order. The same stream carries our db:verify requests to the peer as authoritative server.
import { type Socket, connect as netConnect } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { StanzaError, StreamError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import type { Element } from "../../core/xml/element.js";
import { NS_SASL, NS_SERVER, NS_STREAM, NS_STREAMS_ERROR, NS_TLS } from "../../core/xml/ns.js";
import { type DialbackType, NS_DIALBACK, NS_DIALBACK_FEATURE, dbResult, dbVerify, dialbackKey } from "./dialback.js";
import type { ConnectTarget, S2sResolver } from "./resolver.js";
import { S2sConnection } from "./s2s-connection.js";
import type { S2sEnv } from "./s2s-env.js";
import { S2sStream, s2sHeader, serialiseForServer } from "./s2s-stream.js";
import { peerCertificateProblem } from "./trust.js";
import type { StreamHeaderFields } from "../../stream/stream-wire.js";

type Phase = "connecting" | "negotiating" | "ready" | "closed";

interface PendingVerify {
  id: string;
  key: string;
  sent: boolean;
  resolve: (type: DialbackType) => void;
}

/** A stanza waiting for the stream, serialised once when queued (its size is what the byte limit counts). */
interface Queued {
  stanza: Element;
  text: string;
  bytes: number;
}

/** Why the stream could not be used: becomes the error each queued stanza's sender gets. */
type Failure = "remote-server-not-found" | "remote-server-timeout";

export class S2sOutbound {
  private phase: Phase = "connecting";
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private readonly verifies: PendingVerify[] = [];
  private stream: OutboundStream | undefined;
  private negotiationTimer: NodeJS.Timeout | undefined;
  private readonly log;

  constructor(
    readonly local: string,
    readonly remote: string,
    private readonly env: S2sEnv,
    private readonly resolver: S2sResolver,
    private readonly connectTimeoutMs: number,
    /** What may wait per remote domain while the stream comes up. */
    private readonly maxQueue: { stanzas: number; bytes: number },
    private readonly onEnd: (out: S2sOutbound) => void,
  ) {
    this.log = env.log.child({ s2s: "out", local, remote });
    this.negotiationTimer = setTimeout(
      () => this.fail("remote-server-timeout", "the connection did not come up in time"),
      env.negotiationTimeoutMs,
    );
    this.negotiationTimer.unref();
    void this.connect();
  }

  get isReady(): boolean {
    return this.phase === "ready";
  }

  get isClosed(): boolean {
    return this.phase === "closed";
  }

  /** Sends now when authenticated, otherwise queues (order kept). */
  send(stanza: Element): void {
    if (this.phase === "ready" && this.stream && !this.stream.isClosed) {
      if (!this.stream.writeStanza(stanza)) this.env.core.router.bounce(stanza, new StanzaError("internal-server-error"));
      return;
    }
    // RFC 6120 §8.3.3.18: over either limit the sender is told the server lacks the resources.
    if (this.queue.length >= this.maxQueue.stanzas) {
      this.env.core.router.bounce(stanza, new StanzaError("resource-constraint", `too many stanzas waiting for ${this.remote}`));
      return;
    }
    const text = serialiseForServer(stanza, this.log);
    if (text === undefined) {
      this.env.core.router.bounce(stanza, new StanzaError("internal-server-error"));
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (this.queuedBytes + bytes > this.maxQueue.bytes) {
      this.log.warn({ queued: this.queue.length, bytes: this.queuedBytes }, "s2s queue full (bytes); stanza bounced");
      this.env.core.router.bounce(stanza, new StanzaError("resource-constraint", `too much data waiting for ${this.remote}`));
      return;
    }
    this.queue.push({ stanza, text, bytes });
    this.queuedBytes += bytes;
  }

  /** XEP-0220 §2.1.2: asks the peer (authoritative for `remote`) about a key another stream presented to us. */
  verify(id: string, key: string): Promise<DialbackType> {
    return new Promise((resolve) => {
      const pending: PendingVerify = { id, key, sent: false, resolve };
      this.verifies.push(pending);
      this.stream?.flushVerifies();
    });
  }

  private async connect(): Promise<void> {
    let targets: ConnectTarget[];
    try {
      targets = await this.resolver.resolve(this.remote);
    } catch (err) {
      return this.fail("remote-server-not-found", `DNS lookup failed: ${String(err)}`);
    }
    if (targets.length === 0) return this.fail("remote-server-not-found", "the domain has no XMPP server service");
    let timedOut = false;
    // RFC 6120 §3.2.1: targets in order until one accepts the connection.
    for (const target of targets.slice(0, 16)) {
      if (this.phase === "closed") return;
      try {
        const socket = await this.open(target);
        if ((this.phase as Phase) === "closed") {
          socket.destroy();
          return;
        }
        this.log.info({ host: target.host, port: target.port, directTls: target.directTls }, "s2s connected");
        const conn = new S2sConnection(socket, { client: { secureContext: this.env.tls.contextFor(this.local), servername: this.remote } }, target.directTls ? (socket as TLSSocket) : undefined);
        this.phase = "negotiating";
        this.stream = new OutboundStream(conn, this.env, this);
        return;
      } catch (err) {
        if ((err as Error).message === "timeout") timedOut = true;
        this.log.info({ host: target.host, port: target.port, err: (err as Error).message }, "s2s connection attempt failed");
      }
    }
    this.fail(timedOut ? "remote-server-timeout" : "remote-server-not-found", "no target accepted the connection");
  }

  private open(target: ConnectTarget): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket: Socket = target.directTls
        ? tlsConnect({
            host: target.host,
            port: target.port,
            // XEP-0368 §3: SNI and certificate checks use the source domain, not the SRV target.
            servername: this.remote,
            secureContext: this.env.tls.contextFor(this.local),
            ALPNProtocols: ["xmpp-server"],
            rejectUnauthorized: false,
          })
        : netConnect({ host: target.host, port: target.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("timeout"));
      }, this.connectTimeoutMs);
      socket.once(target.directTls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(socket);
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
  }

  /** Called by the stream once authenticated: queued stanzas go out in order. */
  ready(how: string): void {
    if (this.phase === "closed" || !this.stream) return;
    this.phase = "ready";
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    this.log.info({ how, queued: this.queue.length }, "s2s outbound stream authenticated");
    const queued = this.takeQueue();
    for (const { stanza, text } of queued) {
      if (this.phase === "ready" && this.stream?.writeSerialised(text, stanza.name)) continue;
      // The stream died while the queue was going out (a peer that does not read).
      this.env.core.router.bounce(stanza, new StanzaError("remote-server-not-found", `${this.remote}: connection lost`));
    }
  }

  private takeQueue(): Queued[] {
    this.queuedBytes = 0;
    return this.queue.splice(0);
  }

  takeVerifies(): PendingVerify[] {
    return this.verifies.filter((v) => !v.sent);
  }

  answerVerify(id: string, type: DialbackType): void {
    const i = this.verifies.findIndex((v) => v.sent && v.id === id);
    if (i === -1) return;
    const [v] = this.verifies.splice(i, 1);
    v!.resolve(type);
  }

  /** Gives up: queued stanzas bounce to their senders, verifications answer "error", the stream ends. */
  fail(condition: Failure, why: string, streamError?: StreamError): void {
    if (this.phase === "closed") return;
    if (this.phase !== "ready" || this.queue.length > 0)
      this.log.warn({ why, bounced: this.queue.length }, "s2s connection failed");
    this.end(condition, why, streamError);
  }

  /** Closes the stream (idle, shutdown): what is still queued bounces. */
  close(error?: StreamError): void {
    this.end("remote-server-not-found", "connection closed", error);
  }

  private end(condition: Failure, why: string, streamError?: StreamError): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    const stream = this.stream;
    this.stream = undefined;
    stream?.close(streamError);
    for (const { stanza } of this.takeQueue()) this.env.core.router.bounce(stanza, new StanzaError(condition, `${this.remote}: ${why}`));
    for (const v of this.verifies.splice(0)) v.resolve("error");
    this.onEnd(this);
  }

  /** The stream closed underneath (peer, network, idle). */
  streamClosed(reason: string, error: StreamError | undefined): void {
    if (this.phase === "closed") return;
    const why = error ? `stream error ${error.condition}` : `connection lost (${reason})`;
    this.fail("remote-server-not-found", why);
  }
}

class OutboundStream extends S2sStream {
  private peerStreamId = "";
  private tlsDone = false;
  private saslTried = false;
  private authenticatedByPeer = false;
  private dialbackSent = false;
  /** db:verify may be sent once the stream is open and secure where required. */
  private canVerify = false;

  constructor(
    conn: S2sConnection,
    private readonly env: S2sEnv,
    private readonly owner: S2sOutbound,
  ) {
    super(conn, env.log.child({ s2s: "out", local: owner.local, remote: owner.remote }), env.idleTimeoutMs, {
      limits: env.limits,
      idleTimeoutMs: env.idleTimeoutMs,
      rateLimit: env.rateLimit,
      maxUnsentBytes: env.maxUnsentBytes,
      counters: env.core.counters,
    });
    this.newParser();
    this.sendHeader();
  }

  /** Our header, at the start and after every restart (RFC 6120 §4.7.3: no id from the initiating side). */
  private sendHeader(): void {
    this.headerSent = false;
    this.writeHeader(this.fallbackHeader());
  }

  protected fallbackHeader(): StreamHeaderFields {
    return s2sHeader({ from: this.owner.local, to: this.owner.remote });
  }

  protected onHeader(contentNs: string, attrs: Record<string, string>): void {
    if (contentNs !== NS_SERVER) return this.close(new StreamError("invalid-namespace", "content namespace must be jabber:server"));
    this.peerStreamId = attrs.id ?? "";
    // RFC 6120 §4.7.5: a peer without version 1.0 sends no features: dialback straight away (XEP-0220 §2.1.1).
    if (attrs.version === undefined) {
      if (this.env.policy.requireEncryption || this.env.policy.secure) {
        return this.owner.fail("remote-server-not-found", "the peer does not speak XMPP 1.0 (no TLS possible)");
      }
      this.canVerify = true;
      this.flushVerifies();
      this.startDialback();
    }
  }

  flushVerifies(): void {
    if (!this.canVerify || this.closed) return;
    for (const v of this.owner.takeVerifies()) {
      v.sent = true;
      this.write(dbVerify(this.owner.local, this.owner.remote, v.id, { key: v.key }));
    }
  }

  protected async handleElement(el: Element): Promise<void> {
    if (el.ns === NS_STREAM && el.name === "features") return this.onFeatures(el);
    if (el.ns === NS_STREAM && el.name === "error") {
      const condition = el.elements()[0]?.name ?? "undefined-condition";
      this.log.warn({ condition, text: el.getChildText("text", NS_STREAMS_ERROR) }, "the peer sent a stream error");
      return this.owner.fail("remote-server-not-found", `stream error from the peer: ${condition}`);
    }
    if (el.ns === NS_TLS && el.name === "proceed") return this.startTls();
    if (el.ns === NS_TLS && el.name === "failure") return this.owner.fail("remote-server-not-found", "the peer refused STARTTLS");
    if (el.ns === NS_SASL) return this.onSasl(el);
    if (el.ns === NS_DIALBACK && (el.name === "result" || el.name === "verify") && !this.addressedToUs(el)) return;
    if (el.ns === NS_DIALBACK && el.name === "result") return this.onDbResult(el);
    if (el.ns === NS_DIALBACK && el.name === "verify") {
      if (el.attrs.id !== undefined) this.owner.answerVerify(el.attrs.id, el.attrs.type === "valid" ? "valid" : el.attrs.type === "invalid" ? "invalid" : "error");
      return;
    }
    // XEP-0288 (bidirectional streams) is not offered: nothing else may come this way.
    this.log.debug({ name: el.name }, "ignored an element on an outbound s2s stream");
  }

  private onFeatures(features: Element): void {
    const { policy } = this.env;
    if (this.authenticatedByPeer) return this.owner.ready("SASL EXTERNAL");
    if (!this.conn.secure) {
      if (features.getChild("starttls", NS_TLS)) {
        this.write(`<starttls xmlns='${NS_TLS}'/>`);
        return;
      }
      if (policy.requireEncryption || policy.secure) return this.owner.fail("remote-server-not-found", "the peer offers no TLS");
    }
    // RFC 6120 §13.7.2: the certificate is judged against the domain we wanted to reach.
    const problem = this.conn.secure ? peerCertificateProblem(this.conn.tls, this.owner.remote) : "no TLS";
    if (problem !== undefined && policy.secure) {
      this.log.warn({ problem }, `s2s refused: ${this.owner.remote} has no valid certificate and s2s.secure is on`);
      return this.owner.fail("remote-server-not-found", `certificate not acceptable: ${problem}`, new StreamError("policy-violation", "certificate not acceptable"));
    }
    this.canVerify = true;
    this.flushVerifies();
    const mechanisms = features.getChild("mechanisms", NS_SASL)?.getChildren("mechanism", NS_SASL).map((m) => m.text().trim()) ?? [];
    // XEP-0178 §2: EXTERNAL when the peer offers it (so it trusts our certificate) and ours names our domain.
    if (!this.saslTried && this.conn.secure && mechanisms.includes("EXTERNAL") && this.env.tls.covers(this.owner.local)) {
      this.saslTried = true;
      this.write(`<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>${Buffer.from(this.owner.local).toString("base64")}</auth>`);
      return;
    }
    this.dialbackOffered = features.getChild("dialback", NS_DIALBACK_FEATURE) !== undefined;
    this.startDialback();
  }

  private dialbackOffered = true;

  private startDialback(): void {
    if (this.dialbackSent) return;
    if (!this.env.policy.dialback) return this.owner.fail("remote-server-not-found", "no authentication possible (dialback is off)");
    this.dialbackSent = true;
    // XEP-0185: the key binds receiving domain, originating domain and the peer's stream id.
    const key = dialbackKey(this.env.dialbackSecret, this.owner.remote, this.owner.local, this.peerStreamId);
    this.write(dbResult(this.owner.local, this.owner.remote, { key }));
  }

  private async startTls(): Promise<void> {
    try {
      await this.wire.startTls();
    } catch (err) {
      return this.owner.fail("remote-server-not-found", `TLS handshake failed: ${(err as Error).message}`);
    }
    this.tlsDone = true;
    this.newParser();
    this.sendHeader();
  }

  private onSasl(el: Element): void {
    if (el.name === "success") {
      this.authenticatedByPeer = true;
      // RFC 6120 §6.4.6: restart; the features that follow complete it.
      this.newParser();
      this.sendHeader();
      return;
    }
    if (el.name === "failure") {
      this.log.info({ condition: el.elements()[0]?.name }, "SASL EXTERNAL refused by the peer; trying dialback");
      return this.startDialback();
    }
  }

  /**
   * XEP-0220 §2.1.3 / §2.1.4: an answer on this stream comes from the peer we dialed (`remote`) to us (`local`).
   * Anything else is not an answer to what we asked: a "valid" for another pair must not authenticate this
   * one. RFC 6120 §4.9.3.10 invalid-from for a wrong `from`, §4.9.3.6 host-unknown for a wrong `to`.
   */
  private addressedToUs(el: Element): boolean {
    const { local, remote } = this.owner;
    const from = tryParseJid(el.attrs.from)?.toString();
    if (from === remote && tryParseJid(el.attrs.to)?.toString() === local) return true;
    this.log.warn({ element: el.name, from: el.attrs.from, to: el.attrs.to }, "dialback answer for another domain pair; closing");
    const error =
      from !== remote
        ? new StreamError("invalid-from", `db:${el.name} must come from ${remote}`)
        : new StreamError("host-unknown", `db:${el.name} must be addressed to ${local}`);
    this.owner.fail("remote-server-not-found", `dialback answer for ${el.attrs.from ?? "?"} → ${el.attrs.to ?? "?"}`, error);
    return false;
  }

  private onDbResult(el: Element): void {
    const type = el.attrs.type;
    if (type === "valid") return this.owner.ready(this.tlsDone || this.conn.secure ? "dialback over TLS" : "dialback");
    this.log.warn({ type, offered: this.dialbackOffered }, "the peer refused our dialback key");
    this.owner.fail("remote-server-not-found", `dialback ${type ?? "refused"}`);
  }

  protected s2sClosed(reason: string, error: StreamError | undefined): void {
    this.owner.streamClosed(reason, error);
  }
}
