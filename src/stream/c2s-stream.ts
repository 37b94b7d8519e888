// One client-to-server stream (RFC 6120): header, features, STARTTLS, SASL, resource binding (or XEP-0198
// resumption), then stanzas handed to the router with `from` stamped. The client's Session is a
// ClientSession, which this stream is attached to and which may outlive it.
import { InboundQueue } from "./inbound-queue.js";
import { InputThrottle, type RateLimitConfig } from "./input-throttle.js";
import type { Logger } from "pino";
import type { LoginThrottle } from "../auth/login-throttle.js";
import type { ScramDowngradeCheck } from "../auth/scram-mechanism.js";
import type { PreAuthStream } from "../core/hooks.js";
import { StanzaError, StreamError, errorReply } from "../core/errors.js";
import { type Jid, enforceResource, makeJid, tryParseJid } from "../core/jid.js";
import type { CoreServices } from "../core/modules.js";
import { Element, InvalidXmlCharError } from "../core/xml/element.js";
import { NS_BIND, NS_CLIENT, NS_SASL, NS_SESSION, NS_SM, NS_STANZAS_ERROR, NS_STREAM, NS_TLS } from "../core/xml/ns.js";
import { type StreamParserLimits, XmppStreamParser } from "../core/xml/stream-parser.js";
import type { ByteConnection } from "./connection.js";
import { ClientSession, type SessionStream } from "./client-session.js";
import type { ResumptionRegistry } from "./resumption-registry.js";
import { SaslNegotiation } from "./sasl-negotiation.js";
import { StreamManagement, parseH } from "./stream-management.js";
import { STREAM_CLOSE, newStreamId, streamHeader } from "./stream-header.js";
import { randomBytes } from "node:crypto";
import { UNCOUNTED, type UnauthenticatedSlot } from "../transports/unauthenticated-connections.js";

export interface C2sOptions {
  requireEncryption: boolean;
  /** Parser limits once authenticated. */
  limits: StreamParserLimits;
  /** Smaller limits until SASL succeeds: a stranger's unfinished stanza costs little memory. */
  preAuthLimits: StreamParserLimits;
  negotiationTimeoutMs: number;
  /** SASL mechanisms enabled by config, in preference order. */
  mechanisms: string[];
  /** PBKDF2 iterations of stored credentials (unknown users are answered with the same count). */
  scramIterations: number;
  /** Installation secret: unknown users get the same fake salt across restarts. */
  serverSecret: Buffer;
  /** When a SCRAM gs2 'y' flag counts as a downgrade (RFC 5802 §6). */
  scramDowngradeCheck: ScramDowngradeCheck;
  /** Failed SASL attempts allowed on one connection before it is closed (RFC 6120 §6.4.5). */
  maxAuthAttempts: number;
  /** Whitespace keepalive when nothing was written for this long (0 = off). */
  keepaliveMs: number;
  /** Output queued beyond this closes the stream (a client that does not read). */
  maxPendingBytes: number;
  /** Input rates before and after authentication. */
  rateLimits: { unauthenticated: RateLimitConfig; authenticated: RateLimitConfig };
  /** Sessions an account may have bound at once, detached ones included (RFC 6120 §7.6.2.1). */
  maxSessionsPerAccount: number;
  /** XEP-0198; undefined = not offered. */
  streamManagement: { resumeTimeout: number; maxUnacked: number; maxUnackedBytes: number } | undefined;
  resumption: ResumptionRegistry;
}

type State = "header" | "negotiating" | "bound" | "closed";
const PRESENCE_TYPES = new Set(["unavailable", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "error"]);
const IQ_TYPES = new Set(["get", "set", "result", "error"]);

export class C2sStream implements SessionStream {
  readonly id = newStreamId();
  /** Module state before authentication (XEP-0077 registration); the session has its own. */
  private readonly preAuthState = new Map<symbol, unknown>();
  /** The session, from authentication on; bound (in the registry) once phase is "bound". */
  private session: ClientSession | undefined;

  private phase: State = "header";
  private host = "";
  private headerSent = false;
  private authenticated = false;
  private username = "";
  private parser: XmppStreamParser | undefined;
  private sasl: SaslNegotiation | undefined;
  private authFailures = 0;
  private negotiationTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private wroteSinceKeepalive = false;
  private readonly log: Logger;
  private readonly input: InputThrottle;

  constructor(
    private readonly conn: ByteConnection,
    private readonly core: CoreServices,
    private readonly throttle: LoginThrottle,
    private readonly opts: C2sOptions,
    /** Counts this connection among the unauthenticated ones until SASL succeeds or it closes. */
    private readonly unauthenticatedSlot: UnauthenticatedSlot = UNCOUNTED,
  ) {
    this.log = core.log.child({ stream: this.id, ip: conn.remoteAddress });
    this.log.info({ secure: conn.secure }, "c2s connection opened");
    this.newParser();
    this.input = new InputThrottle(conn, opts.rateLimits.unauthenticated, () => this.log);
    conn.onData((chunk) => {
      this.input.received(chunk.length);
      this.parser?.write(chunk);
    });
    conn.onClose((reason) => this.onTransportClosed(reason));
    this.negotiationTimer = setTimeout(() => {
      this.log.info("negotiation timed out");
      this.close(new StreamError("connection-timeout", "stream negotiation took too long"));
    }, opts.negotiationTimeoutMs);
    this.negotiationTimer.unref();
    if (opts.keepaliveMs > 0) {
      this.keepaliveTimer = setInterval(() => {
        // RFC 6120 §4.6.1: whitespace keepalive when the stream has been quiet.
        if (!this.wroteSinceKeepalive && this.headerSent) this.conn.write(" ");
        this.wroteSinceKeepalive = false;
      }, opts.keepaliveMs);
      this.keepaliveTimer.unref();
    }
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  // A new parser for every stream (re)start (RFC 6120 §4.3.3). What the old stream parsed and has not been
  // handled yet is dropped: RFC 6120 §5.4.3.3 (after STARTTLS) and §6.4.6 (after SASL) carry nothing over.
  private newParser(): void {
    this.inbound.discardPending();
    this.parser = new XmppStreamParser(
      {
        streamStart: (name, ns, contentNs, attrs) => this.onStreamStart(contentNs, attrs),
        stanza: (el) => this.enqueue(el),
        streamEnd: () => this.onStreamEnd(),
        error: (err) => this.close(err),
      },
      this.authenticated ? this.opts.limits : this.opts.preAuthLimits,
    );
  }

  private write(text: string, flushed?: (err?: Error | null) => void): void {
    if (this.phase === "closed") {
      flushed?.(new Error("stream closed"));
      return;
    }
    this.wroteSinceKeepalive = true;
    this.conn.write(text, flushed);
    if (this.conn.pendingBytes > this.opts.maxPendingBytes) {
      this.log.warn({ pending: this.conn.pendingBytes }, "client is not reading; closing");
      this.phase = "closed";
      this.conn.destroy();
    }
  }

  /** Writes an element; with `measure`, returns the bytes written (0: not written). */
  private writeElement(el: Element, measure = false, flushed?: (err?: Error | null) => void): number {
    let text: string;
    try {
      text = el.toString(NS_CLIENT);
    } catch (err) {
      if (err instanceof InvalidXmlCharError) {
        this.log.warn({ name: el.name }, "dropped an outgoing stanza with characters XML cannot carry");
        flushed?.(null); // it can never be delivered: done with, not to be tried again
        return 0;
      }
      throw err;
    }
    this.write(text, flushed);
    return measure ? Buffer.byteLength(text) : 0;
  }

  /** Writes a stanza of the attached session to the client; with `measure`, returns its size in bytes (XEP-0198 accounting). */
  writeStanza(stanza: Element, measure: boolean, flushed?: (err?: Error | null) => void): number {
    if (this.phase !== "bound") {
      flushed?.(new Error("stream not bound"));
      return 0;
    }
    return this.writeElement(stanza, measure, flushed);
  }

  requestAck(): void {
    this.write(`<r xmlns='${NS_SM}'/>`);
  }

  private onStreamStart(contentNs: string, attrs: Record<string, string>): void {
    const to = tryParseJid(attrs.to);
    const host = to && to.local === "" && to.resource === "" ? to.domain : "";
    const from = tryParseJid(attrs.from);
    // RFC 6120 §4.7.1: answer with our own header before any error.
    this.write(
      streamHeader({
        contentNs: NS_CLIENT,
        id: this.id,
        from: host || (this.core.hosts.values().next().value as string),
        ...(from ? { to: from.toString() } : {}),
      }),
    );
    this.headerSent = true;
    if (contentNs !== NS_CLIENT) return this.close(new StreamError("invalid-namespace", "content namespace must be jabber:client"));
    // RFC 6120 §4.7.5: we speak version 1.0 only.
    const version = attrs.version;
    if (version === undefined || !/^1\.\d+$/.test(version)) return this.close(new StreamError("unsupported-version"));
    if (!host || !this.core.hosts.has(host)) return this.close(new StreamError("host-unknown"));
    if (this.host !== "" && host !== this.host) return this.close(new StreamError("host-unknown", "the host changed on restart"));
    this.host = host;
    this.phase = "negotiating";
    void this.sendFeatures();
  }

  private saslNegotiation(): SaslNegotiation {
    if (!this.sasl) {
      this.sasl = new SaslNegotiation(
        {
          host: this.host,
          secure: this.conn.secure,
          remoteAddress: this.conn.remoteAddress,
          channelBindings: this.conn.channelBindings(),
          channelBinding: (type) => this.conn.channelBinding(type),
        },
        this.core.accounts,
        this.opts.mechanisms,
        this.throttle,
        this.opts.scramIterations,
        this.opts.serverSecret,
        this.opts.scramDowngradeCheck,
      );
    }
    return this.sasl;
  }

  private async sendFeatures(): Promise<void> {
    const features = new Element("features", NS_STREAM);
    if (!this.authenticated) {
      if (!this.conn.secure && this.conn.canStartTls) {
        const tls = features.c("starttls", NS_TLS);
        if (this.opts.requireEncryption) tls.c("required");
      }
      // RFC 6120 §5.3.1: while TLS is mandatory and missing, offer nothing else.
      if (this.conn.secure || !this.opts.requireEncryption) {
        const sasl = this.saslNegotiation();
        const mechs = features.c("mechanisms", NS_SASL);
        for (const m of sasl.offered()) mechs.c("mechanism").t(m);
        const channelBinding = sasl.channelBindingFeature(); // XEP-0440
        if (channelBinding) features.append(channelBinding);
        for (const f of await this.core.hooks.fold("stream.preauth-features", { stream: this.preAuthView() })) features.append(f);
      }
    } else {
      features.c("bind", NS_BIND);
      // draft-cridland-xmpp-session: old clients still ask for a session; it is a no-op.
      features.c("session", NS_SESSION).c("optional");
      if (this.opts.streamManagement) features.c("sm", NS_SM);
      for (const f of await this.core.hooks.fold("stream.features", { session: this.session! })) features.append(f);
    }
    this.write(features.toString(NS_CLIENT));
  }

  private readonly inbound = new InboundQueue({
    isClosed: () => this.phase === "closed",
    handle: (el) => this.handleElement(el),
    failed: (err) => {
      this.log.error({ err }, "stream element handling failed");
      this.close(new StreamError("internal-server-error"));
    },
    pause: () => this.input.pauseForQueue(),
    resume: () => this.input.resumeForQueue(),
  });

  private enqueue(el: Element): void {
    const notBefore = this.input.stanza();
    if (notBefore === "cut") return this.close(new StreamError("policy-violation", "far too many stanzas too fast"));
    this.inbound.push(el, notBefore);
  }

  private async handleElement(el: Element): Promise<void> {
    if (this.phase === "bound") return this.handleStanza(el);
    if (el.ns === NS_TLS && el.name === "starttls") return this.startTls();
    if (el.ns === NS_SASL) return this.handleSasl(el);
    if (this.authenticated && el.name === "iq" && el.ns === NS_CLIENT) return this.handlePreBindIq(el);
    if (this.authenticated && el.ns === NS_SM) return this.handlePreBindSm(el);
    // An iq a module answers before authentication (XEP-0077 §3.1), once TLS is up where it is required (RFC 6120 §5.3.1).
    if (!this.authenticated && el.name === "iq" && el.ns === NS_CLIENT && (this.conn.secure || !this.opts.requireEncryption)) {
      if (await this.core.hooks.first("stream.preauth-iq", { stream: this.preAuthView(), stanza: el })) return;
    }
    // RFC 6120 §4.9.3.12: stanzas before authentication (and binding).
    this.close(new StreamError("not-authorized"));
  }

  private async startTls(): Promise<void> {
    if (this.conn.secure || !this.conn.canStartTls || this.authenticated) {
      this.write(new Element("failure", NS_TLS).toString(NS_CLIENT));
      this.close();
      return;
    }
    // RFC 6120 §5.4.3.3: <proceed/>, then TLS, then a fresh stream with no state carried over.
    this.write(new Element("proceed", NS_TLS).toString(NS_CLIENT));
    this.parser = undefined;
    try {
      await this.conn.startTls();
    } catch (err) {
      this.log.info({ err: String(err) }, "TLS handshake failed");
      this.phase = "closed";
      this.conn.destroy();
      return;
    }
    this.sasl = undefined;
    this.headerSent = false;
    this.phase = "header";
    this.newParser();
  }

  /** What modules may know of, and do on, this stream before authentication. */
  private preAuthView(): PreAuthStream {
    return {
      id: this.id,
      host: this.host,
      secure: this.conn.secure,
      remoteAddress: this.conn.remoteAddress,
      state: this.preAuthState,
      send: (element) => this.writeElement(element),
    };
  }

  private async handleSasl(el: Element): Promise<void> {
    if (this.authenticated) return this.close(new StreamError("policy-violation", "already authenticated"));
    if (!this.conn.secure && this.opts.requireEncryption) {
      this.write(new Element("failure", NS_SASL, {}, [new Element("encryption-required", NS_SASL)]).toString(NS_CLIENT));
      return;
    }
    const outcome = await this.saslNegotiation().handle(el);
    this.write(outcome.element.toString(NS_CLIENT));
    if (outcome.kind === "success") {
      this.authenticated = true;
      this.unauthenticatedSlot.release();
      this.username = outcome.username;
      this.session = new ClientSession(
        this.id,
        this,
        makeJid(outcome.username, this.host),
        this.core,
        this.opts.resumption,
        this.opts.streamManagement?.maxUnacked ?? Number.POSITIVE_INFINITY,
        this.opts.streamManagement?.maxUnackedBytes ?? Number.POSITIVE_INFINITY,
        this.log,
      );
      this.input.setLimits(this.opts.rateLimits.authenticated);
      this.log.info({ user: `${outcome.username}@${this.host}`, mechanism: outcome.mechanism }, "authentication succeeded");
      // RFC 6120 §6.4.6: the stream restarts after success.
      this.sasl = undefined;
      this.headerSent = false;
      this.phase = "header";
      this.newParser();
    } else if (outcome.kind === "failure") {
      if (outcome.condition === "aborted") return;
      this.authFailures++;
      this.log.warn(
        { user: outcome.username, condition: outcome.condition },
        "authentication failed",
      );
      if (this.authFailures >= this.opts.maxAuthAttempts) {
        this.close(new StreamError("policy-violation", "too many failed authentication attempts"));
      }
    }
  }

  private replyIq(iq: Element, payload?: Element, error?: StanzaError): void {
    const attrs: Record<string, string> = { type: error ? "error" : "result" };
    if (iq.attrs.id !== undefined) attrs.id = iq.attrs.id;
    const reply = new Element("iq", NS_CLIENT, attrs);
    if (error) reply.append(error.toElement());
    else if (payload) reply.append(payload);
    this.writeOwnStanza(reply);
  }

  /** A stanza the stream itself answers: through the session once bound, so XEP-0198 counts it. */
  private writeOwnStanza(stanza: Element): void {
    if (this.phase === "bound" && this.session) this.session.send(stanza);
    else this.writeElement(stanza);
  }

  /** Resource binding (RFC 6120 §7) and legacy session establishment. */
  private async handlePreBindIq(iq: Element): Promise<void> {
    const bind = iq.getChild("bind", NS_BIND);
    if (iq.attrs.type === "set" && bind) {
      const requested = bind.getChildText("resource", NS_BIND)?.trim();
      let resource: string;
      try {
        resource = requested ? enforceResource(requested) : randomBytes(9).toString("base64url");
      } catch {
        // RFC 6120 §7.7.2.1: a resource that cannot be processed → bad-request.
        return this.replyIq(iq, undefined, new StanzaError("bad-request", "resource is not allowed"));
      }
      const session = this.session!;
      const jid = makeJid(this.username, this.host, resource);
      // RFC 6120 §7.6.2.1: over the account's limit (a same-resource takeover adds none) → resource-constraint.
      const sessions = this.core.sessions;
      if (sessions.get(jid) === undefined && sessions.countOf(jid) >= this.opts.maxSessionsPerAccount) {
        // A session waiting for resumption (XEP-0198 §5) gives way to a client that is here; it ends as on
        // expiry, its unacknowledged messages re-routed. Only connected sessions refuse the bind.
        const waiting = sessions.resourcesOf(jid.bareString()).find((s) => !s.attached);
        if (waiting) {
          this.log.info({ user: jid.bareString(), ended: waiting.jid.toString() }, "session limit: a session waiting for resumption gives way");
          waiting.close(new StreamError("resource-constraint", "the account's session limit"));
        } else {
          this.log.warn({ user: jid.bareString(), limit: this.opts.maxSessionsPerAccount }, "bind refused: too many sessions for the account");
          return this.replyIq(iq, undefined, new StanzaError("resource-constraint", "too many sessions for this account", { type: "wait" }));
        }
      }
      session.jid = jid;
      const replaced = this.core.sessions.add(session);
      if (replaced) {
        // RFC 6120 §7.7.2.2: the new session takes over; the old one is told why it ends.
        this.log.info({ jid: session.jid.toString() }, "resource conflict: replacing the older session");
        replaced.close(new StreamError("conflict", "replaced by a new connection with the same resource"));
      }
      this.phase = "bound";
      if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
      this.log.info({ jid: session.jid.toString() }, "resource bound");
      const result = new Element("bind", NS_BIND);
      result.c("jid").t(session.jid.toString());
      this.replyIq(iq, result);
      await this.core.hooks.notify("session.bound", { session });
      return;
    }
    if (iq.attrs.type === "set" && iq.getChild("session", NS_SESSION)) return this.replyIq(iq);
    this.replyIq(iq, undefined, new StanzaError("not-authorized", "bind a resource first"));
  }

  private stanzaError(stanza: Element, error: StanzaError): void {
    const reply = errorReply(stanza, error);
    if (reply) {
      delete reply.attrs.to; // to the client itself
      this.writeOwnStanza(reply);
    }
  }

  private async handleStanza(el: Element): Promise<void> {
    const session = this.session!;
    const kind = el.name;
    if (el.ns === NS_SM) return this.handleSm(session, el);
    if (el.ns !== NS_CLIENT || (kind !== "message" && kind !== "presence" && kind !== "iq")) {
      if (await this.core.hooks.first("stream.element", { session, element: el })) return;
      if (el.ns === NS_CLIENT && kind === "iq") return;
      return this.close(new StreamError("unsupported-stanza-type", `<${el.name}/> is not a stanza`));
    }
    try {
      await this.handleClientStanza(session, el);
    } finally {
      // XEP-0198 §4: every stanza the client sent counts as handled once processed (errors included).
      if (session.sm) session.sm.inbound = (session.sm.inbound + 1) % 2 ** 32;
    }
  }

  private async handleClientStanza(session: ClientSession, el: Element): Promise<void> {
    const kind = el.name;
    if (kind === "iq" && el.getChild("session", NS_SESSION) && el.attrs.to === undefined) return this.replyIq(el);
    // RFC 6120 §8.1.2.1: the server stamps `from`; any other address than the client's own is refused.
    const claimed = el.attrs.from;
    if (claimed !== undefined) {
      const jid = tryParseJid(claimed);
      if (!jid || (jid.toString() !== session.jid.toString() && jid.toString() !== session.jid.bareString())) {
        return this.close(new StreamError("invalid-from", "the from address is not yours"));
      }
    }
    el.attrs.from = session.jid.toString();
    const type = el.attrs.type;
    // RFC 6120 §8.2.3: iq needs id and a known type; presence and message types are checked too.
    if (kind === "iq" && (el.attrs.id === undefined || type === undefined || !IQ_TYPES.has(type))) {
      return this.stanzaError(el, new StanzaError("bad-request", "iq needs an id and a valid type"));
    }
    if (kind === "presence" && type !== undefined && !PRESENCE_TYPES.has(type)) {
      return this.stanzaError(el, new StanzaError("bad-request", "unknown presence type"));
    }
    let to: Jid | undefined;
    if (el.attrs.to !== undefined) {
      to = tryParseJid(el.attrs.to);
      if (!to) return this.stanzaError(el, new StanzaError("jid-malformed"));
      el.attrs.to = to.toString();
    }
    if (await this.core.hooks.first("stanza.outbound", { session, stanza: el })) return;
    if (!to) return this.handleNoTo(session, el);
    await this.core.router.route(el, session);
  }

  /** RFC 6120 §10.3: stanzas without `to` are handled on the sending account's behalf. */
  private async handleNoTo(session: ClientSession, el: Element): Promise<void> {
    const bare = session.jid.bare();
    if (el.name === "iq") {
      if (el.attrs.type === "result" || el.attrs.type === "error") return;
      return this.core.iq.dispatch(el, session.jid, bare, "account", session, undefined);
    }
    if (el.name === "message") {
      // RFC 6120 §10.3.1: as if addressed to the sender's bare JID.
      el.attrs.to = bare.toString();
      return this.core.router.route(el, session);
    }
    return this.handleBroadcastPresence(session, el);
  }

  /** RFC 6121 §4.2 / §4.4 / §4.5: presence without `to` sets this resource's availability. */
  private async handleBroadcastPresence(session: ClientSession, el: Element): Promise<void> {
    const type = el.attrs.type;
    if (type !== undefined && type !== "unavailable") return; // subscriptions need a `to`; the rest is meaningless here
    const initial = !session.available && type === undefined;
    if (type === undefined) {
      session.available = true;
      const p = Number.parseInt(el.getChildText("priority") ?? "0", 10);
      session.priority = Number.isFinite(p) ? Math.max(-128, Math.min(127, p)) : 0;
      session.presence = el;
    } else {
      session.available = false;
      session.presence = undefined;
    }
    await this.core.hooks.notify("presence.broadcast", { session, stanza: el, initial });
  }

  private smFailed(condition: string, h?: number): void {
    const el = new Element("failed", NS_SM, h === undefined ? {} : { h: String(h) });
    el.c(condition, NS_STANZAS_ERROR);
    this.writeElement(el);
  }

  /** XEP-0198 on a bound stream: enable, <r/>, <a/>. */
  private handleSm(session: ClientSession, el: Element): void {
    const sm = session.sm;
    switch (el.name) {
      case "enable": {
        const options = this.opts.streamManagement;
        if (!options) return this.smFailed("feature-not-implemented");
        if (sm) return this.smFailed("unexpected-request"); // §3: enable once
        const wantsResume = el.attrs.resume === "true" || el.attrs.resume === "1";
        const clientMax = Number.parseInt(el.attrs.max ?? "", 10);
        const timeout =
          Number.isFinite(clientMax) && clientMax > 0 ? Math.min(clientMax, options.resumeTimeout) : options.resumeTimeout;
        const resumeId = wantsResume ? newStreamId() : undefined;
        session.enableStreamManagement(new StreamManagement(resumeId, timeout));
        const attrs: Record<string, string> = {};
        if (resumeId) Object.assign(attrs, { id: resumeId, resume: "true", max: String(timeout) });
        this.writeElement(new Element("enabled", NS_SM, attrs));
        this.log.info({ resumable: wantsResume }, "stream management enabled");
        return;
      }
      case "r":
        // §4: answer with the count of stanzas handled; harmless even before enable.
        this.write(`<a xmlns='${NS_SM}' h='${sm?.inbound ?? 0}'/>`);
        return;
      case "a": {
        if (!sm) return;
        const h = parseH(el.attrs.h);
        if (h === undefined) return this.close(new StreamError("bad-format", "the h of <a/> is not a count"));
        if (!sm.acknowledge(h)) return this.handledCountTooHigh(h, sm.outbound);
        return;
      }
      default:
        return this.close(new StreamError("unsupported-stanza-type", `<${el.name}/> is not a stream management element`));
    }
  }

  /** XEP-0198 §4: the client acknowledged more than it was sent. */
  private handledCountTooHigh(h: number, sent: number): void {
    this.log.warn({ h, sent }, "client acknowledged more stanzas than were sent");
    const error = new StreamError("undefined-condition", "the acknowledged count is higher than the stanzas sent");
    this.close(error, new Element("handled-count-too-high", NS_SM, { h: String(h), send_count: String(sent) }));
  }

  /** XEP-0198 after authentication, before binding: resume (§5), or enable too early. */
  private handlePreBindSm(el: Element): void {
    if (el.name === "enable") return this.smFailed("unexpected-request"); // §3: only after binding
    if (el.name !== "resume") return this.close(new StreamError("unsupported-stanza-type"));
    if (!this.opts.streamManagement) return this.smFailed("feature-not-implemented");
    const previd = el.attrs.previd;
    const h = parseH(el.attrs.h);
    if (previd === undefined || h === undefined) return this.smFailed("bad-request");
    const session = this.opts.resumption.get(previd);
    const mine = this.session!;
    if (!session || session.isEnded || session.jid.bareString() !== mine.jid.bareString() || !session.sm) {
      this.log.info({ previd }, "resumption refused: unknown or expired session");
      return this.smFailed("item-not-found");
    }
    const sm = session.sm;
    if (!sm.acknowledge(h)) return this.handledCountTooHigh(h, sm.outbound);
    const previous = session.attach(this);
    this.session = session;
    this.phase = "bound";
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    // The old connection may still look open (a half-dead TCP link): it is dropped without ending the session.
    if (previous && previous !== this) previous.close(new StreamError("conflict", "the session was resumed elsewhere"));
    this.writeElement(new Element("resumed", NS_SM, { previd, h: String(sm.inbound) }));
    for (const stanza of sm.unacked) this.writeElement(stanza);
    if (sm.unacked.length > 0) {
      sm.ackRequested = true;
      this.requestAck();
    }
    this.log.info({ jid: session.jid.toString(), resent: sm.unacked.length }, "session resumed");
  }

  private onStreamEnd(): void {
    // RFC 6120 §4.4: answer the closing tag with ours and end the connection.
    this.log.info("client closed the stream");
    this.close();
  }

  /**
   * Ends the stream, with a stream error when given (RFC 6120 §4.9.1). The attached session ends too:
   * only a lost connection leaves a session waiting for resumption.
   */
  close(error?: StreamError, appCondition?: Element): void {
    if (this.phase === "closed") return;
    if (error) {
      if (!this.headerSent) {
        this.conn.write(
          streamHeader({ contentNs: NS_CLIENT, id: this.id, from: this.host || (this.core.hosts.values().next().value as string) }),
        );
        this.headerSent = true;
      }
      this.log.info({ condition: error.condition, text: error.text }, "stream error");
      const el = error.toElement();
      if (appCondition) el.append(appCondition);
      this.conn.write(el.toString(NS_CLIENT));
    }
    this.conn.write(STREAM_CLOSE);
    this.phase = "closed";
    this.parser = undefined;
    this.conn.end();
    const reason = error ? error.condition : "closed";
    // A stream replaced by a resuming one does not end the session it no longer holds.
    if (this.session?.stream === this) void this.session.end(reason);
    this.teardown(reason);
  }

  private onTransportClosed(reason: string): void {
    if (this.phase !== "closed") {
      this.phase = "closed";
      this.parser = undefined;
    }
    this.session?.connectionLost(this, reason);
    this.teardown(reason);
  }

  private tornDown = false;
  private teardown(reason: string): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.unauthenticatedSlot.release();
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.input.stop();
    this.log.info({ reason, jid: this.session?.jid.toString() }, "c2s connection closed");
  }
}
