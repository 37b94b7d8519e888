// A stream another server opened to us (RFC 6120): header checks, STARTTLS, SASL EXTERNAL (XEP-0178),
// dialback (XEP-0220) as receiving server and as authoritative server (db:verify), then stanzas whose
// `from` domain must be one this stream is authenticated for and whose `to` must be served here.
import { StreamError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_SASL, NS_SERVER, NS_STREAM, NS_TLS } from "../../core/xml/ns.js";
import { NS_DIALBACK, NS_DIALBACK_FEATURE, dbResult, dbVerify, dialbackKey, keysEqual } from "./dialback.js";
import type { S2sConnection } from "./s2s-connection.js";
import type { S2sEnv } from "./s2s-env.js";
import { S2sStream, fromServerNs, s2sHeader } from "./s2s-stream.js";
import { peerCertificateProblem } from "./trust.js";
import type { StreamParserLimits } from "../../core/xml/stream-parser.js";
import type { StreamHeaderFields } from "../../stream/stream-wire.js";
import { UNCOUNTED, type UnauthenticatedSlot } from "../unauthenticated-connections.js";

const STANZAS = new Set(["message", "presence", "iq"]);

export class S2sInbound extends S2sStream {
  /** Local domain the peer addressed in its header. */
  private localDomain = "";
  /** Domain the peer named in its header `from` (RFC 6120 §4.7.1: SHOULD be there). */
  private peerDomain = "";
  private version = true;
  private saslDone = false;
  /**
   * Remote domain → the local domains it is authenticated to send to on this stream (SASL EXTERNAL: the
   * header's pair; dialback may add pairs, XEP-0220 §2.5 multiplexing). RFC 6120 §8.1.1.2: a stanza's
   * from and to must be such a pair, not just any remote domain and any domain served here.
   */
  private readonly authenticated = new Map<string, Set<string>>();

  /** The (local, remote) domain pairs authenticated on this stream, for administration. */
  authenticatedPairs(): { local: string; remote: string }[] {
    return [...this.authenticated].flatMap(([remote, locals]) => [...locals].map((local) => ({ local, remote })));
  }

  /** Remote domains this stream has authenticated (a reload's new policy ends streams of blocked ones). */
  get remoteDomains(): string[] {
    return [...this.authenticated.keys()];
  }

  constructor(
    conn: S2sConnection,
    private readonly env: S2sEnv,
    private readonly onEnd: (stream: S2sInbound) => void,
    /** Counts this connection among the unauthenticated ones until a domain is authenticated or it closes. */
    unauthenticatedSlot: UnauthenticatedSlot = UNCOUNTED,
  ) {
    super(conn, env.log, env.idleTimeoutMs, {
      limits: env.limits,
      idleTimeoutMs: env.idleTimeoutMs,
      rateLimit: env.rateLimit,
      maxUnsentBytes: env.maxUnsentBytes,
      negotiationTimeoutMs: env.negotiationTimeoutMs,
      unauthenticatedSlot,
      counters: env.core.counters,
    });
    this.log = env.log.child({ s2s: "in", stream: this.id, ip: conn.remoteAddress });
    this.log.info({ secure: conn.secure }, "s2s connection accepted");
    this.newParser();
  }

  protected override parserLimits(): StreamParserLimits {
    return this.authenticated.size > 0 ? this.env.limits : this.env.preAuthLimits;
  }

  protected fallbackHeader(): StreamHeaderFields {
    return s2sHeader({ id: this.id, from: this.localDomain || (this.env.core.hosts.values().next().value as string) });
  }

  protected onHeader(contentNs: string, attrs: Record<string, string>): void {
    const to = tryParseJid(attrs.to);
    const from = tryParseJid(attrs.from);
    const local = to?.isDomain ? to.domain : "";
    this.version = attrs.version !== undefined;
    // RFC 6120 §4.7.1: our header first, then any error.
    this.writeHeader(
      s2sHeader({
        id: this.id,
        from: local && this.env.isLocalDomain(local) ? local : this.fallbackFrom(),
        ...(from?.isDomain ? { to: from.domain } : {}),
        version: this.version,
      }),
    );
    if (contentNs !== NS_SERVER)
      return this.close(new StreamError("invalid-namespace", "content namespace must be jabber:server"));
    if (this.version && !/^1\.\d+$/.test(attrs.version!)) return this.close(new StreamError("unsupported-version"));
    // RFC 6120 §4.9.3.6: a `to` we do not serve.
    if (!local || !this.env.isLocalDomain(local)) {
      this.log.info({ to: attrs.to }, "s2s stream for a domain not served here");
      return this.close(new StreamError("host-unknown", `${attrs.to ?? "(none)"} is not served here`));
    }
    if (this.localDomain !== "" && local !== this.localDomain)
      return this.close(new StreamError("host-unknown", "the host changed on restart"));
    this.localDomain = local;
    if (from?.isDomain) {
      if (this.peerDomain !== "" && from.domain !== this.peerDomain)
        return this.close(new StreamError("invalid-from", "the from changed on restart"));
      this.peerDomain = from.domain;
      if (!this.env.policy.allows(from.domain)) {
        this.log.warn(
          { peer: from.domain },
          "s2s refused: the domain is blocked by policy (s2s.allow_domains / deny_domains)",
        );
        return this.close(new StreamError("policy-violation", `federation with ${from.domain} is not allowed`));
      }
    }
    this.log = this.log.child({ local, peer: this.peerDomain || undefined });
    if (this.version) this.sendFeatures();
  }

  private fallbackFrom(): string {
    return this.env.core.hosts.values().next().value as string;
  }

  /** The peer certificate authenticates `domain` (chain and name). */
  private certificateProblem(domain: string): string | undefined {
    return peerCertificateProblem(this.conn.tls, domain);
  }

  private sendFeatures(): void {
    const { policy } = this.env;
    const features = new Element("features", NS_STREAM);
    const needTls = !this.conn.secure && policy.requireEncryption;
    if (!this.conn.secure && this.conn.canStartTls) {
      const tls = features.c("starttls", NS_TLS);
      if (policy.requireEncryption) tls.c("required");
    }
    // RFC 6120 §5.3.1: while TLS is required and missing, nothing else.
    if (!needTls) {
      // XEP-0178 §3: EXTERNAL only when the certificate is valid for the domain the peer named.
      if (
        !this.saslDone &&
        this.conn.secure &&
        this.peerDomain &&
        this.certificateProblem(this.peerDomain) === undefined
      ) {
        features.c("mechanisms", NS_SASL).c("mechanism").t("EXTERNAL");
      }
      if (policy.dialback) features.c("dialback", NS_DIALBACK_FEATURE).c("errors");
    }
    this.writeElement(features);
  }

  protected async handleElement(el: Element): Promise<void> {
    if (el.ns === NS_STREAM && el.name === "error") {
      this.log.warn({ condition: el.elements()[0]?.name }, "the peer sent a stream error");
      return this.close();
    }
    if (el.ns === NS_TLS && el.name === "starttls") return this.startTls();
    if (el.ns === NS_SASL) return this.handleSasl(el);
    if (el.ns === NS_DIALBACK) {
      if (el.name === "result") {
        // XEP-0220 §2.1.2: answering needs a db:verify round trip to the peer's authoritative server, which is
        // usually the peer itself, verifying our own key on its inbound stream at the same moment. Waiting here
        // would hold every later element of this stream (its db:verify for us included) behind that round trip:
        // two servers connecting to each other at once deadlocked until the timeout. So it runs beside the queue.
        void this.handleDbResult(el).catch((err: unknown) => {
          this.log.error({ err }, "dialback verification failed");
          this.close(new StreamError("internal-server-error"));
        });
        return;
      }
      if (el.name === "verify") return this.handleDbVerify(el);
      return this.close(new StreamError("unsupported-stanza-type"));
    }
    if (el.ns === NS_SERVER && STANZAS.has(el.name)) return this.handleStanza(el);
    this.close(new StreamError("unsupported-stanza-type", `<${el.name}/> is not expected here`));
  }

  private async startTls(): Promise<void> {
    if (!this.conn.canStartTls || this.conn.secure) {
      this.write(`<failure xmlns='${NS_TLS}'/>`);
      return this.close();
    }
    this.write(`<proceed xmlns='${NS_TLS}'/>`);
    try {
      await this.wire.startTls();
    } catch (err) {
      this.log.info({ err: String(err) }, "s2s TLS handshake failed");
      this.wire.destroy();
      return;
    }
    this.headerSent = false;
    this.newParser();
  }

  private requireTls(): boolean {
    if (this.conn.secure || !this.env.policy.requireEncryption) return false;
    this.close(new StreamError("policy-violation", "TLS is required first"));
    return true;
  }

  /** XEP-0178 §3 / RFC 6120 §6.4: SASL EXTERNAL against the peer certificate. */
  private handleSasl(el: Element): void {
    if (this.requireTls()) return;
    if (el.name !== "auth" || this.saslDone)
      return this.close(new StreamError("policy-violation", "unexpected SASL element"));
    const fail = (condition: string, why: string) => {
      this.log.warn({ peer: this.peerDomain, why }, "s2s SASL EXTERNAL refused");
      this.write(`<failure xmlns='${NS_SASL}'><${condition}/></failure>`);
    };
    if (el.attrs.mechanism !== "EXTERNAL") return fail("invalid-mechanism", `mechanism ${el.attrs.mechanism}`);
    const text = el.text().trim();
    let authzid = "";
    if (text !== "" && text !== "=") {
      authzid = Buffer.from(text, "base64").toString("utf8");
    }
    const domain = authzid || this.peerDomain;
    if (!domain) return fail("not-authorized", "no domain named");
    // XEP-0178 §3 step 6: an authzid that differs from the stream `from` is refused.
    if (this.peerDomain && domain !== this.peerDomain)
      return fail("invalid-authzid", `authzid ${domain} is not the stream's from`);
    if (!this.env.policy.allows(domain)) return fail("not-authorized", "blocked by policy");
    const problem = this.certificateProblem(domain);
    if (problem) return fail("not-authorized", problem);
    this.write(`<success xmlns='${NS_SASL}'/>`);
    this.saslDone = true;
    this.peerDomain = domain;
    this.authenticate(domain, this.localDomain, "SASL EXTERNAL");
    // RFC 6120 §6.4.6: the stream restarts.
    this.headerSent = false;
    this.newParser();
  }

  private authenticate(remote: string, local: string, how: string): void {
    const locals = this.authenticated.get(remote) ?? new Set<string>();
    locals.add(local);
    this.authenticated.set(remote, locals);
    // Dialback authenticates without a stream restart: the normal limits apply from the next byte on.
    this.peerAuthenticated(undefined, this.env.limits);
    this.log.info({ peer: remote, local, how }, "s2s inbound stream authenticated");
  }

  /** XEP-0220 §2.1.1 → §2.1.4: the peer wants to send as `from` to our `to`. */
  private async handleDbResult(el: Element): Promise<void> {
    if (this.requireTls()) return;
    const from = tryParseJid(el.attrs.from);
    const to = tryParseJid(el.attrs.to);
    const key = el.text().trim();
    if (!from?.isDomain || !to?.isDomain || key === "")
      return this.close(new StreamError("improper-addressing", "db:result needs from, to and a key"));
    const remote = from.domain;
    const local = to.domain;
    // XEP-0220 §2.4: errors as typed answers where the peer said it understands them.
    if (!this.env.isLocalDomain(local)) {
      this.write(dbResult(local, remote, { type: "error" }));
      return;
    }
    if (!this.env.policy.allows(remote)) {
      this.log.warn({ peer: remote }, "s2s refused: the domain is blocked by policy");
      return this.close(new StreamError("policy-violation", `federation with ${remote} is not allowed`));
    }
    const problem = this.certificateProblem(remote);
    if (problem === undefined) {
      // XEP-0344 §4: TLS with a certificate valid for the domain already proves it; no callback needed.
      this.write(dbResult(local, remote, { type: "valid" }));
      return this.authenticate(remote, local, "dialback (certificate valid)");
    }
    if (this.env.policy.secure) {
      this.log.warn({ peer: remote, problem }, "s2s refused: s2s.secure requires a valid certificate");
      return this.close(
        new StreamError("policy-violation", `the certificate of ${remote} is not acceptable: ${problem}`),
      );
    }
    if (!this.env.policy.dialback) {
      this.write(dbResult(local, remote, { type: "error" }));
      return;
    }
    const verdict = await this.env.verifyDialback(local, remote, this.id, key);
    if (this.closed) return;
    if (verdict === "valid") {
      this.write(dbResult(local, remote, { type: "valid" }));
      return this.authenticate(remote, local, "dialback");
    }
    this.log.warn({ peer: remote, verdict }, "s2s dialback failed");
    this.write(dbResult(local, remote, { type: verdict }));
  }

  /** XEP-0220 §2.1.2 → §2.1.3: we are the authoritative server; the key is recomputed, never stored. */
  private handleDbVerify(el: Element): void {
    const from = tryParseJid(el.attrs.from);
    const to = tryParseJid(el.attrs.to);
    const id = el.attrs.id;
    if (!from?.isDomain || !to?.isDomain || id === undefined)
      return this.close(new StreamError("improper-addressing", "db:verify needs from, to and id"));
    const key = el.text().trim();
    const valid =
      this.env.isLocalDomain(to.domain) &&
      keysEqual(key, dialbackKey(this.env.dialbackSecret, from.domain, to.domain, id));
    this.log.debug({ receiving: from.domain, originating: to.domain, valid }, "dialback verification answered");
    this.write(dbVerify(to.domain, from.domain, id, { type: valid ? "valid" : "invalid" }));
  }

  private async handleStanza(el: Element): Promise<void> {
    if (this.authenticated.size === 0) return this.close(new StreamError("not-authorized", "authenticate first"));
    const from = tryParseJid(el.attrs.from);
    const to = tryParseJid(el.attrs.to);
    // RFC 6120 §8.1.1.2 / §4.9.3.10: `from` must be a domain this stream is authenticated for.
    const locals = from ? this.authenticated.get(from.domain) : undefined;
    if (!from || !locals) {
      this.log.warn(
        { from: el.attrs.from, authenticated: [...this.authenticated.keys()] },
        "s2s stanza with a from the stream is not authenticated for",
      );
      return this.close(
        new StreamError(
          "invalid-from",
          `${el.attrs.from ?? "(none)"} is not a domain this stream is authenticated for`,
        ),
      );
    }
    // RFC 6120 §8.1.1.2 / §4.9.3.7: a stanza between servers needs a `to`.
    if (!to) return this.close(new StreamError("improper-addressing", "a stanza needs a to"));
    // RFC 6120 §8.1.1.2 / §4.9.3.6: `to` must be a local domain the sender was authenticated to reach on this
    // stream; another domain served here (a second virtual host, a component) was never negotiated.
    if (!locals.has(to.domain)) {
      this.log.warn(
        { from: from.domain, to: to.domain, authenticated: [...locals] },
        "s2s stanza to a domain the stream is not authenticated for",
      );
      return this.close(
        new StreamError("host-unknown", `this stream is not authenticated for ${from.domain} to ${to.domain}`),
      );
    }
    this.touch();
    el.attrs.from = from.toString();
    el.attrs.to = to.toString();
    const stanza = fromServerNs(el);
    // Anti-spam (per-domain limits, block lists) decides first; a handler that throws (already logged) lets it pass.
    if (this.env.core.hooks.has("s2s.inbound")) {
      let dropped = false;
      try {
        dropped = await this.env.core.hooks.first("s2s.inbound", { stanza, from, to });
      } catch {}
      if (dropped) return;
    }
    await this.env.core.router.route(stanza);
  }

  protected s2sClosed(reason: string): void {
    this.log.info({ reason }, "s2s inbound connection closed");
    this.onEnd(this);
  }
}
