// Client stream negotiation, the same on every client transport (TCP, WebSocket, BOSH): STARTTLS where the
// wire can (RFC 6120 §5), SASL (§6), resource binding (§7) or XEP-0198 resumption, and the iq a module may
// answer before authentication (XEP-0077). The stream feeds it every element until the stream is bound.
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import { type FastTokenOptions, FastTokens, type FastVerdict, validAgentId } from "../auth/fast-tokens.js";
import { type FastLogin, type HtMechanismName, htMechanism, htMechanismsFor } from "../auth/ht-mechanism.js";
import type { LoginThrottle } from "../auth/login-throttle.js";
import type { ScramDowngradeCheck } from "../auth/scram-mechanism.js";
import { StanzaError, StreamError } from "../core/errors.js";
import type { PreAuthStream } from "../core/hooks.js";
import { enforceResource, type Jid, makeJid } from "../core/jid.js";
import type { CoreServices } from "../core/modules.js";
import { randomBase64url } from "../core/random-text.js";
import { SessionState } from "../core/session-state.js";
import { Element } from "../core/xml/element.js";
import {
  NS_BIND,
  NS_BIND2,
  NS_CLIENT,
  NS_FAST,
  NS_SASL,
  NS_SASL_UPGRADE,
  NS_SASL2,
  NS_SESSION,
  NS_SM,
  NS_STREAM,
  NS_TLS,
} from "../core/xml/ns.js";
import type { ClientSession } from "./client-session.js";
import { SaslNegotiation, type SaslResult } from "./sasl-negotiation.js";
import { parseAuthenticate, rememberUserAgent, type Sasl2Request, sasl2Failure } from "./sasl2.js";
import { UpgradeTasks, upgradeTasksOffered } from "./sasl2-upgrade-tasks.js";
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
  /** XEP-0388 SASL2 with XEP-0386 Bind 2; undefined = not offered. */
  sasl2?: { maxUserAgents: number };
  /** XEP-0484 FAST (inside SASL2); undefined = not offered. */
  fast?: FastTokenOptions & { mechanisms: string[] };
}

/** What negotiation needs of the client stream it runs on. */
export interface NegotiatingStream {
  readonly id: string;
  readonly wire: StreamWire;
  readonly log: Logger;
  /** The virtual host named in the stream header. */
  readonly host: string;
  readonly session: ClientSession | undefined;
  /** The stream has closed (a login's storage writes may outlast the connection). */
  readonly isClosed: boolean;
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
  /** The XEP-0388 <authenticate/> being answered, and the FAST token it proved. */
  private sasl2Request: Sasl2Request | undefined;
  private fastVerdict: Extract<FastVerdict, { ok: true }> | undefined;
  private fast: FastTokens | undefined;
  /** XEP-0480 tasks between a proven password and <success/>, and the success they hold back. */
  private upgrade: { tasks: UpgradeTasks; result: Extract<SaslResult, { kind: "success" }> } | undefined;

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
        if (this.opts.sasl2) features.append(await this.sasl2Feature(sasl.offered()));
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
    if (el.ns === NS_SASL2 && this.opts.sasl2) return this.handleSasl2(el);
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
      this.authFailed(outcome);
    }
  }

  /** A failed exchange (either SASL profile): counted, logged, and the connection closed after too many. */
  private authFailed(outcome: {
    condition: string;
    mechanism: string | undefined;
    username: string | undefined;
  }): void {
    if (outcome.condition === "aborted") return;
    this.authFailures++;
    this.core.counters.authFailed(outcome.mechanism);
    this.stream.log.warn({ user: outcome.username, condition: outcome.condition }, "authentication failed");
    if (this.authFailures >= this.opts.maxAuthAttempts) {
      this.stream.close(new StreamError("policy-violation", "too many failed authentication attempts"));
    }
  }

  private fastTokens(): FastTokens | undefined {
    const fast = this.opts.fast;
    if (!fast) return undefined;
    this.fast ??= new FastTokens(this.core.storage, this.core.accounts, this.opts.serverSecret, fast);
    return this.fast;
  }

  /** FAST mechanisms this connection can use (XEP-0484 §2: TLS only; -X only with its channel binding). */
  private fastMechanisms(): HtMechanismName[] {
    const fast = this.opts.fast;
    if (!fast) return [];
    const wire = this.stream.wire;
    return htMechanismsFor(
      {
        secure: wire.secure,
        channelBindings: wire.channelBindings(),
        channelBinding: (type) => wire.channelBinding(type),
      },
      fast.mechanisms,
    );
  }

  /** XEP-0388 §2.1 <authentication/>: the mechanisms, and inline features (XEP-0386 bind, XEP-0198 sm, XEP-0484 fast). */
  private async sasl2Feature(mechanisms: readonly string[]): Promise<Element> {
    const auth = new Element("authentication", NS_SASL2);
    for (const m of mechanisms) auth.c("mechanism").t(m);
    const inline = auth.c("inline");
    const bind = inline.c("bind", NS_BIND2);
    const vars = await this.core.hooks.fold("bind2.features", { host: this.stream.host });
    if (this.sm.offered) vars.unshift(NS_SM);
    if (vars.length > 0) {
      const bindInline = bind.c("inline");
      for (const v of vars) bindInline.c("feature", NS_BIND2, { var: v });
    }
    if (this.sm.offered) inline.c("sm", NS_SM);
    const fast = this.fastMechanisms();
    if (fast.length > 0) {
      const f = inline.c("fast", NS_FAST);
      for (const m of fast) f.c("mechanism").t(m);
    }
    // XEP-0480 §2.1: one <upgrade/> per task, beside the mechanisms.
    for (const task of upgradeTasksOffered(this.core.accounts, this.stream.host, this.opts.mechanisms))
      auth.c("upgrade", NS_SASL_UPGRADE).t(task);
    return auth;
  }

  /** XEP-0388: <authenticate/>, <response/>, <abort/> on the one stream (no restart after success). */
  private async handleSasl2(el: Element): Promise<void> {
    const stream = this.stream;
    if (this.authenticated) return stream.close(new StreamError("policy-violation", "already authenticated"));
    if (!stream.wire.secure && this.opts.requireEncryption) {
      stream.writeElement(sasl2Failure("encryption-required"));
      return;
    }
    if (this.upgrade) return this.continueUpgrade(el);
    const sasl = this.saslNegotiation();
    let result: SaslResult;
    if (el.name === "authenticate") {
      const request = parseAuthenticate(el);
      if (typeof request === "string") {
        stream.log.info({ reason: request }, "malformed SASL2 authenticate");
        sasl.abort();
        result = {
          kind: "failure",
          condition: "malformed-request",
          text: request,
          username: undefined,
          mechanism: undefined,
        };
      } else {
        this.sasl2Request = request;
        this.fastVerdict = undefined;
        result = await sasl.begin(request.mechanism, request.initialResponse, this.fastExtras(request, sasl));
      }
    } else if (el.name === "response") {
      // A <response/> answers a SASL2 exchange only (not one begun with RFC 6120 <auth/>).
      result = this.sasl2Request
        ? await sasl.respond(el.text())
        : {
            kind: "failure",
            condition: "malformed-request",
            text: "no authentication in progress",
            username: undefined,
            mechanism: undefined,
          };
    } else if (el.name === "abort") {
      result = sasl.abort();
    } else {
      sasl.abort();
      const text = `<${el.name}/> is not a SASL2 element`;
      result = { kind: "failure", condition: "malformed-request", text, username: undefined, mechanism: undefined };
    }
    if (result.kind === "challenge") {
      stream.writeElement(
        new Element("challenge", NS_SASL2, {}, [result.data.length === 0 ? "" : result.data.toString("base64")]),
      );
      return;
    }
    if (result.kind === "failure") {
      this.sasl2Request = undefined;
      stream.writeElement(sasl2Failure(result.condition, result.text));
      this.authFailed(result);
      return;
    }
    if (await this.beginUpgrade(result)) return;
    await this.sasl2Success(result);
  }

  /** XEP-0480 §2.2: the tasks the client asked for that the account needs, before <success/>. False: none. */
  private async beginUpgrade(result: Extract<SaslResult, { kind: "success" }>): Promise<boolean> {
    const request = this.sasl2Request;
    if (!request || request.upgrades.length === 0) return false;
    const host = this.stream.host;
    let tasks: UpgradeTasks | undefined;
    try {
      tasks = await UpgradeTasks.plan(
        this.core.accounts,
        host,
        result.username,
        result.mechanism,
        request.upgrades,
        upgradeTasksOffered(this.core.accounts, host, this.opts.mechanisms),
        this.opts.scramIterations,
      );
    } catch (err) {
      this.stream.log.warn({ err }, "upgrade tasks: could not read the account's credentials; none run");
      return false;
    }
    if (!tasks || this.stream.isClosed) return false;
    // The mechanism's additional data (SCRAM's server-final) goes in the <continue/>, not again in <success/>.
    this.upgrade = { tasks, result: { ...result, data: undefined } };
    this.stream.writeElement(tasks.continueElement(result.data));
    return true;
  }

  /** An element while upgrade tasks run: the next step, <success/> after the last, or <failure/>. */
  private async continueUpgrade(el: Element): Promise<void> {
    const upgrade = this.upgrade!;
    const step =
      el.name === "abort"
        ? ({ kind: "failure", condition: "aborted", text: "aborted by the client" } as const)
        : await upgrade.tasks.handle(el);
    if (step.kind === "reply") {
      this.stream.writeElement(step.element);
      return;
    }
    this.upgrade = undefined;
    const { username, mechanism } = upgrade.result;
    if (step.kind === "failure") {
      // XEP-0388 §2.6.2: a failed task fails the authentication.
      this.sasl2Request = undefined;
      this.stream.writeElement(sasl2Failure(step.condition, step.text));
      this.authFailed({ condition: step.condition, mechanism, username });
      return;
    }
    this.stream.log.info({ user: `${username}@${this.stream.host}` }, "upgrade tasks done: credentials added");
    await this.sasl2Success(upgrade.result);
  }

  /** The HT mechanisms for this <authenticate/>, when it names a user agent to bind tokens to. */
  private fastExtras(request: Sasl2Request, sasl: SaslNegotiation) {
    const tokens = this.fastTokens();
    const agentId = request.userAgent?.id;
    if (!tokens || !validAgentId(agentId)) return [];
    const login: FastLogin = {
      attempt: { agentId, count: request.fast?.count, invalidate: request.fast?.invalidate ?? false },
      verified: (verdict) => {
        this.fastVerdict = verdict;
      },
    };
    return this.fastMechanisms().map((name) => htMechanism(name, tokens, login, sasl.guard));
  }

  private async sasl2Success(result: Extract<SaslResult, { kind: "success" }>): Promise<void> {
    const stream = this.stream;
    const request = this.sasl2Request;
    this.sasl2Request = undefined;
    this.authenticated = true;
    this.sasl = undefined;
    const user = result.username;
    stream.log.info(
      { user: `${user}@${stream.host}`, mechanism: result.mechanism, sasl2: true },
      "authentication succeeded",
    );
    this.core.counters.authSucceeded(result.mechanism);
    stream.authenticatedAs(user);
    const session = stream.session!;
    const success = new Element("success", NS_SASL2);
    // XEP-0388 §2.6.1: the mechanism's additional data (SCRAM's server-final, HT's responder hash).
    if (result.data && result.data.length > 0) success.c("additional-data").t(result.data.toString("base64"));
    const aid = success.c("authorization-identifier");
    aid.t(`${user}@${stream.host}`);
    const agentId = request?.userAgent?.id;
    if (request?.userAgent && validAgentId(agentId) && this.opts.sasl2) {
      await rememberUserAgent(
        this.core.storage,
        stream.host,
        user,
        agentId,
        request.userAgent,
        this.opts.sasl2.maxUserAgents,
      ).catch((err: unknown) => stream.log.warn({ err }, "could not remember the user agent"));
    }
    await this.fastAfterLogin(user, request, success);

    // The client may have gone while the storage was written: nothing is bound or resumed for a dead stream.
    if (stream.isClosed) return;
    // XEP-0198 inline resumption (XEP-0198 inline in XEP-0388): the session resumes; <bind/> is then ignored.
    if (request?.resume && this.sm.offered) {
      const outcome = this.sm.resume(request.resume);
      if (outcome.kind === "closed") return;
      if (outcome.kind === "resumed") {
        aid.children.length = 0;
        aid.t(outcome.session.jid.toString());
        success.append(outcome.element);
        stream.writeElement(success);
        this.sm.resend(outcome.session);
        return;
      }
      success.append(outcome.element);
    }
    if (request?.bind) {
      const bound = await this.bind2(session, request);
      if (bound) {
        aid.children.length = 0;
        aid.t(session.jid.toString());
        success.append(bound);
        // Registered and written with nothing awaited in between, so no stanza can reach the client first.
        if (stream.isClosed || !this.commitBind(session)) return;
        stream.writeElement(success);
        stream.log.info({ jid: session.jid.toString(), bind2: true }, "resource bound");
        await this.core.hooks.notify("session.bound", { session });
        return;
      }
    }
    stream.writeElement(success);
    // No stream restart (XEP-0388 §2.6.1): the features of the authenticated stream follow at once.
    stream.writeElement(await this.features());
  }

  /** XEP-0484 §3/§4: a FAST login's bookkeeping, and a token for a client that asked for one. */
  private async fastAfterLogin(user: string, request: Sasl2Request | undefined, success: Element): Promise<void> {
    const tokens = this.fastTokens();
    const agentId = request?.userAgent?.id;
    if (!tokens || !request || !validAgentId(agentId)) return;
    const host = this.stream.host;
    let mechanism = request.requestToken;
    try {
      const verdict = this.fastVerdict;
      this.fastVerdict = undefined;
      if (verdict) {
        const due = await tokens.used(host, user, verdict, request.fast?.invalidate ?? false);
        // §3.3: a token due for rotation is replaced with one for the same mechanism.
        if (due && !request.fast?.invalidate) mechanism ??= verdict.record.mech;
      }
      if (mechanism === undefined) return;
      if (!(this.fastMechanisms() as string[]).includes(mechanism)) {
        this.stream.log.info({ mechanism }, "FAST token refused: mechanism not offered");
        return;
      }
      const issued = await tokens.issue(host, user, agentId, mechanism);
      success.c("token", NS_FAST, { token: issued.token, expiry: issued.expiry.toISOString() });
      this.stream.log.info({ user: `${user}@${host}`, mechanism }, "FAST token issued");
    } catch (err) {
      this.stream.log.warn({ err }, "FAST token bookkeeping failed");
    }
  }

  /**
   * XEP-0386: the server picks the resource (the client's tag, or its software, then a part stable per user
   * agent), checks the session limit, applies the inline features, and answers with <bound/>. Undefined when
   * binding is refused (the features then offer RFC 6120 binding, which answers why).
   */
  private async bind2(session: ClientSession, request: Sasl2Request): Promise<Element | undefined> {
    const stream = this.stream;
    const bind = request.bind!;
    const tag = bind.getChildText("tag", NS_BIND2) ?? request.userAgent?.software ?? "";
    const agentId = request.userAgent?.id;
    const suffix = validAgentId(agentId)
      ? createHmac("sha256", this.opts.serverSecret)
          .update(`bind2\0${session.jid.bareString()}\0${agentId}`)
          .digest("base64url")
          .slice(0, 8)
      : randomBase64url(9);
    let prefix = "";
    try {
      prefix = tag.trim() === "" ? "" : enforceResource(tag.trim().slice(0, 32).replace(/\s+/g, "-"));
    } catch {
      prefix = "";
    }
    const jid = makeJid(session.jid.local, stream.host, prefix ? `${prefix}.${suffix}` : suffix);
    const refusal = this.sessionLimit(jid);
    if (refusal) return undefined;
    session.jid = jid;
    const bound = new Element("bound", NS_BIND2);
    for (const child of bind.children) {
      if (!(child instanceof Element) || (child.ns === NS_BIND2 && child.name === "tag")) continue;
      if (child.ns === NS_SM && child.name === "enable") {
        bound.append(this.sm.enable(session, child));
        continue;
      }
      const handled = await this.core.hooks.first("bind2.inline", { session, element: child });
      if (!handled)
        stream.log.info({ ns: child.ns, name: child.name }, "bind2: inline request not understood, ignored");
    }
    return bound;
  }

  private replyIq(iq: Element, payload?: Element, error?: StanzaError): void {
    const attrs: Record<string, string> = { type: error ? "error" : "result" };
    if (iq.attrs.id !== undefined) attrs.id = iq.attrs.id;
    const reply = new Element("iq", NS_CLIENT, attrs);
    if (error) reply.append(error.toElement());
    else if (payload) reply.append(payload);
    this.stream.writeElement(reply);
  }

  /**
   * RFC 6120 §7.6.2.1: over the account's limit (a same-resource takeover adds none) → resource-constraint. A
   * session waiting for resumption (XEP-0198 §5) gives way to a client that is here; it ends as on expiry, its
   * unacknowledged messages re-routed. Only connected sessions refuse the bind.
   */
  private sessionLimit(jid: Jid): StanzaError | undefined {
    const sessions = this.core.sessions;
    if (sessions.get(jid) !== undefined || sessions.countOf(jid) < this.opts.maxSessionsPerAccount) return undefined;
    const waiting = sessions.resourcesOf(jid.bareString()).find((s) => !s.attached);
    if (waiting) {
      this.stream.log.info(
        { user: jid.bareString(), ended: waiting.jid.toString() },
        "session limit: a session waiting for resumption gives way",
      );
      waiting.close(new StreamError("resource-constraint", "the account's session limit"));
      return undefined;
    }
    this.stream.log.warn(
      { user: jid.bareString(), limit: this.opts.maxSessionsPerAccount },
      "bind refused: too many sessions for the account",
    );
    return new StanzaError("resource-constraint", "too many sessions for this account", { type: "wait" });
  }

  /** Registers the session under its JID and marks the stream bound (synchronous: nothing can come first). */
  private commitBind(session: ClientSession): boolean {
    const stream = this.stream;
    const replaced = this.core.sessions.add(session);
    if (replaced) {
      // RFC 6120 §7.7.2.2: the new session takes over; the old one is told why it ends.
      stream.log.info({ jid: session.jid.toString() }, "resource conflict: replacing the older session");
      replaced.close(new StreamError("conflict", "replaced by a new connection with the same resource"));
    }
    stream.bound();
    return true;
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
      const refusal = this.sessionLimit(jid);
      if (refusal) return this.replyIq(iq, undefined, refusal);
      session.jid = jid;
      if (!this.commitBind(session)) return;
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
