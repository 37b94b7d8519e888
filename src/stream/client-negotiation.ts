// Client stream negotiation, the same on every client transport (TCP, WebSocket, BOSH): STARTTLS where the
// wire can (RFC 6120 §5), SASL (§6), resource binding (§7) or XEP-0198 resumption, and the iq a module may
// answer before authentication (XEP-0077). The stream feeds it every element until the stream is bound.
import type { LoginThrottle } from "../auth/login-throttle.js";
import type { ScramDowngradeCheck } from "../auth/scram-mechanism.js";
import { StanzaError, StreamError } from "../core/errors.js";
import type { PreAuthStream } from "../core/hooks.js";
import { enforceResource, makeJid } from "../core/jid.js";
import type { CoreServices } from "../core/modules.js";
import { randomBase64url } from "../core/random-text.js";
import { SessionState } from "../core/session-state.js";
import { Element } from "../core/xml/element.js";
import { NS_BIND, NS_CLIENT, NS_SASL, NS_SESSION, NS_SM, NS_STREAM, NS_TLS } from "../core/xml/ns.js";
import type { Logger } from "pino";
import type { ClientSession } from "./client-session.js";
import { SaslNegotiation } from "./sasl-negotiation.js";
import type { StreamManagementProtocol } from "./stream-management-protocol.js";
import type { StreamWire } from "./stream-wire.js";

export interface NegotiationOptions {
  requireEncryption: boolean;
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
  /** Sessions an account may have bound at once, detached ones included (RFC 6120 §7.6.2.1). */
  maxSessionsPerAccount: number;
}

/** What negotiation needs of the client stream it runs on. */
export interface NegotiatingStream {
  readonly id: string;
  readonly wire: StreamWire;
  readonly log: Logger;
  /** The virtual host named in the stream header. */
  readonly host: string;
  readonly session: ClientSession | undefined;
  writeElement(el: Element): unknown;
  close(error?: StreamError): void;
  /** A new stream is expected (after STARTTLS or SASL success, RFC 6120 §4.3.3). */
  restart(): void;
  /** SASL succeeded: the stream creates the account's (not yet bound) session. */
  authenticatedAs(username: string): void;
  /** The session is bound: stanzas flow from now on. */
  bound(): void;
}

export class ClientNegotiation {
  private sasl: SaslNegotiation | undefined;
  private authFailures = 0;
  private authenticated = false;
  /** Module state before authentication (XEP-0077 registration), made when a module first looks; the session has its own. */
  private preAuthState: SessionState | undefined;

  constructor(
    private readonly stream: NegotiatingStream,
    private readonly core: CoreServices,
    private readonly throttle: LoginThrottle,
    private readonly opts: NegotiationOptions,
    private readonly sm: StreamManagementProtocol,
  ) {}

  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  private saslNegotiation(): SaslNegotiation {
    const wire = this.stream.wire;
    this.sasl ??= new SaslNegotiation(
      {
        host: this.stream.host,
        secure: wire.secure,
        remoteAddress: wire.remoteAddress,
        channelBindings: wire.channelBindings(),
        channelBinding: (type) => wire.channelBinding(type),
      },
      this.core.accounts,
      this.opts.mechanisms,
      this.throttle,
      this.opts.scramIterations,
      this.opts.serverSecret,
      this.opts.scramDowngradeCheck,
    );
    return this.sasl;
  }

  /** The stream features of the current stream (RFC 6120 §4.3.2). */
  async features(): Promise<Element> {
    const features = new Element("features", NS_STREAM);
    const wire = this.stream.wire;
    if (!this.authenticated) {
      if (!wire.secure && wire.canStartTls) {
        const tls = features.c("starttls", NS_TLS);
        if (this.opts.requireEncryption) tls.c("required");
      }
      // RFC 6120 §5.3.1: while TLS is mandatory and missing, offer nothing else.
      if (wire.secure || !this.opts.requireEncryption) {
        const sasl = this.saslNegotiation();
        const mechs = features.c("mechanisms", NS_SASL);
        for (const m of sasl.offered()) mechs.c("mechanism").t(m);
        const channelBinding = sasl.channelBindingFeature(); // XEP-0440
        if (channelBinding) features.append(channelBinding);
        for (const f of await this.core.hooks.fold("stream.preauth-features", { stream: this.preAuthView() }))
          features.append(f);
      }
    } else {
      features.c("bind", NS_BIND);
      // draft-cridland-xmpp-session: old clients still ask for a session; it is a no-op.
      features.c("session", NS_SESSION).c("optional");
      if (this.sm.offered) features.c("sm", NS_SM);
      const session = this.stream.session;
      if (session) for (const f of await this.core.hooks.fold("stream.features", { session })) features.append(f);
    }
    return features;
  }

  /** An element before the stream is bound. */
  async handle(el: Element): Promise<void> {
    const wire = this.stream.wire;
    if (el.ns === NS_TLS && el.name === "starttls") return this.startTls();
    if (el.ns === NS_SASL) return this.handleSasl(el);
    if (this.authenticated && el.name === "iq" && el.ns === NS_CLIENT) return this.handleBindIq(el);
    if (this.authenticated && el.ns === NS_SM) return this.sm.handleBeforeBind(el);
    // An iq a module answers before authentication (XEP-0077 §3.1), once TLS is up where it is required (RFC 6120 §5.3.1).
    if (
      !this.authenticated &&
      el.name === "iq" &&
      el.ns === NS_CLIENT &&
      (wire.secure || !this.opts.requireEncryption)
    ) {
      if (await this.core.hooks.first("stream.preauth-iq", { stream: this.preAuthView(), stanza: el })) return;
    }
    // RFC 6120 §4.9.3.12: stanzas before authentication (and binding).
    this.stream.close(new StreamError("not-authorized"));
  }

  private async startTls(): Promise<void> {
    const wire = this.stream.wire;
    if (wire.secure || !wire.canStartTls || this.authenticated) {
      this.stream.writeElement(new Element("failure", NS_TLS));
      this.stream.close();
      return;
    }
    // RFC 6120 §5.4.3.3: <proceed/>, then TLS, then a fresh stream with no state carried over.
    this.stream.writeElement(new Element("proceed", NS_TLS));
    try {
      await wire.startTls();
    } catch (err) {
      this.stream.log.info({ err: String(err) }, "TLS handshake failed");
      wire.destroy();
      return;
    }
    this.sasl = undefined;
    this.stream.restart();
  }

  /** What modules may know of, and do on, this stream before authentication. */
  private preAuthView(): PreAuthStream {
    const stream = this.stream;
    const negotiation = this;
    return {
      id: stream.id,
      host: stream.host,
      secure: stream.wire.secure,
      remoteAddress: stream.wire.remoteAddress,
      get state() {
        negotiation.preAuthState ??= new SessionState();
        return negotiation.preAuthState;
      },
      send: (element) => void stream.writeElement(element),
    };
  }

  private async handleSasl(el: Element): Promise<void> {
    const stream = this.stream;
    if (this.authenticated) return stream.close(new StreamError("policy-violation", "already authenticated"));
    if (!stream.wire.secure && this.opts.requireEncryption) {
      stream.writeElement(new Element("failure", NS_SASL, {}, [new Element("encryption-required", NS_SASL)]));
      return;
    }
    const outcome = await this.saslNegotiation().handle(el);
    stream.writeElement(outcome.element);
    if (outcome.kind === "success") {
      this.authenticated = true;
      this.sasl = undefined;
      stream.log.info(
        { user: `${outcome.username}@${stream.host}`, mechanism: outcome.mechanism },
        "authentication succeeded",
      );
      this.core.counters.authSucceeded(outcome.mechanism);
      stream.authenticatedAs(outcome.username);
      // RFC 6120 §6.4.6: the stream restarts after success.
      stream.restart();
    } else if (outcome.kind === "failure") {
      if (outcome.condition === "aborted") return;
      this.authFailures++;
      this.core.counters.authFailed(outcome.mechanism);
      stream.log.warn({ user: outcome.username, condition: outcome.condition }, "authentication failed");
      if (this.authFailures >= this.opts.maxAuthAttempts) {
        stream.close(new StreamError("policy-violation", "too many failed authentication attempts"));
      }
    }
  }

  private replyIq(iq: Element, payload?: Element, error?: StanzaError): void {
    const attrs: Record<string, string> = { type: error ? "error" : "result" };
    if (iq.attrs.id !== undefined) attrs.id = iq.attrs.id;
    const reply = new Element("iq", NS_CLIENT, attrs);
    if (error) reply.append(error.toElement());
    else if (payload) reply.append(payload);
    this.stream.writeElement(reply);
  }

  /** Resource binding (RFC 6120 §7) and legacy session establishment. */
  private async handleBindIq(iq: Element): Promise<void> {
    const stream = this.stream;
    const session = stream.session!;
    const bind = iq.getChild("bind", NS_BIND);
    if (iq.attrs.type === "set" && bind) {
      const requested = bind.getChildText("resource", NS_BIND)?.trim();
      let resource: string;
      try {
        resource = requested ? enforceResource(requested) : randomBase64url(9);
      } catch {
        // RFC 6120 §7.7.2.1: a resource that cannot be processed → bad-request.
        return this.replyIq(iq, undefined, new StanzaError("bad-request", "resource is not allowed"));
      }
      const jid = makeJid(session.jid.local, stream.host, resource);
      // RFC 6120 §7.6.2.1: over the account's limit (a same-resource takeover adds none) → resource-constraint.
      const sessions = this.core.sessions;
      if (sessions.get(jid) === undefined && sessions.countOf(jid) >= this.opts.maxSessionsPerAccount) {
        // A session waiting for resumption (XEP-0198 §5) gives way to a client that is here; it ends as on
        // expiry, its unacknowledged messages re-routed. Only connected sessions refuse the bind.
        const waiting = sessions.resourcesOf(jid.bareString()).find((s) => !s.attached);
        if (waiting) {
          stream.log.info(
            { user: jid.bareString(), ended: waiting.jid.toString() },
            "session limit: a session waiting for resumption gives way",
          );
          waiting.close(new StreamError("resource-constraint", "the account's session limit"));
        } else {
          stream.log.warn(
            { user: jid.bareString(), limit: this.opts.maxSessionsPerAccount },
            "bind refused: too many sessions for the account",
          );
          return this.replyIq(
            iq,
            undefined,
            new StanzaError("resource-constraint", "too many sessions for this account", { type: "wait" }),
          );
        }
      }
      session.jid = jid;
      const replaced = sessions.add(session);
      if (replaced) {
        // RFC 6120 §7.7.2.2: the new session takes over; the old one is told why it ends.
        stream.log.info({ jid: session.jid.toString() }, "resource conflict: replacing the older session");
        replaced.close(new StreamError("conflict", "replaced by a new connection with the same resource"));
      }
      stream.bound();
      stream.log.info({ jid: session.jid.toString() }, "resource bound");
      const result = new Element("bind", NS_BIND);
      result.c("jid").t(session.jid.toString());
      this.replyIq(iq, result);
      await this.core.hooks.notify("session.bound", { session });
      return;
    }
    if (iq.attrs.type === "set" && iq.getChild("session", NS_SESSION)) return this.replyIq(iq);
    this.replyIq(iq, undefined, new StanzaError("not-authorized", "bind a resource first"));
  }
}
