// One SASL negotiation on a stream (RFC 6120 §6.4): mechanism choice, base64 framing of challenges and
// responses, abort, the XEP-0440 channel-binding feature, and the login throttle (delays and refusals that
// never depend on the password of the attempt they apply to).
import { setTimeout as delay } from "node:timers/promises";
import type { LoginThrottle, ThrottleVerdict } from "../auth/login-throttle.js";
import { buildMechanisms } from "../auth/mechanisms.js";
import type { ScramDowngradeCheck } from "../auth/scram-mechanism.js";
import type {
  AccountProvider,
  ChannelBindingType,
  SaslContext,
  SaslExchange,
  SaslFailureCondition,
  SaslMechanism,
} from "../auth/types.js";
import { Element } from "../core/xml/element.js";
import { NS_SASL, NS_SASL_CB } from "../core/xml/ns.js";

export type SaslOutcome =
  | { kind: "reply"; element: Element }
  | { kind: "success"; element: Element; username: string; mechanism: string }
  | {
      kind: "failure";
      element: Element;
      condition: SaslFailureCondition;
      username: string | undefined;
      /** The mechanism tried, when it is one the server offers (undefined for a name it does not). */
      mechanism: string | undefined;
    };

/** One step of an exchange, before any profile's framing (RFC 6120 <success/> or XEP-0388 <success/>). */
export type SaslResult =
  | { kind: "challenge"; data: Buffer }
  | { kind: "success"; data: Buffer | undefined; username: string; mechanism: string }
  | {
      kind: "failure";
      condition: SaslFailureCondition;
      text: string | undefined;
      username: string | undefined;
      mechanism: string | undefined;
    };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One text for every throttle refusal, so that it says nothing about the credentials sent. */
const REFUSED_TEXT = "too many failed attempts from your address; try again later";

function decode(text: string): Buffer | undefined {
  const t = text.trim();
  if (t === "=") return Buffer.alloc(0); // RFC 6120 §6.4.2: "=" is an empty response
  if (t === "") return undefined;
  if (t.length % 4 !== 0 || !BASE64.test(t)) throw new Error("bad base64");
  return Buffer.from(t, "base64");
}

function encode(data: Buffer | undefined): string {
  if (!data || data.length === 0) return "=";
  return data.toString("base64");
}

export function failureElement(condition: SaslFailureCondition, text?: string): Element {
  const el = new Element("failure", NS_SASL);
  el.c(condition);
  if (text) el.c("text", NS_SASL, { "xml:lang": "en" }).t(text);
  return el;
}

export class SaslNegotiation {
  private exchange: SaslExchange | undefined;
  private mechanismName = "";
  /** The account (user@host) the current exchange asked credentials for (for per-account throttling and logs). */
  private attemptedUser: string | undefined;
  /** The throttle's verdict once the account is known: the exchange ends refused, or its answer waits. */
  private verdict: ThrottleVerdict = { refused: false, delayMs: 0 };
  /** The current exchange's password check was counted as a failure in advance (settled when it ends). */
  private counted = false;
  /** Channel-binding types the client has used on this stream (RFC 5802 §6 'y' check), across its exchanges. */
  private readonly bindingsUsedByClient = new Set<ChannelBindingType>();
  private built: SaslMechanism[] | undefined;
  private offeredNames: readonly string[] | undefined;

  constructor(
    private readonly ctx: SaslContext,
    private readonly provider: AccountProvider,
    private readonly enabled: string[],
    private readonly throttle: LoginThrottle,
    private readonly scramIterations: number,
    private readonly serverSecret: Buffer,
    /** When a gs2 'y' flag is a downgrade (RFC 5802 §6; config `auth.scram_downgrade_check`). */
    private readonly downgradeCheck: ScramDowngradeCheck = "client-shown",
  ) {}

  /**
   * The enabled mechanisms, built once per negotiation (the features and every <auth/> ask for them). They reach
   * accounts through `watching`, so the account asked for is known even on failure, and a throttled
   * address+account gets no password check at all (so no timing either) whatever the password.
   */
  private mechanisms(): SaslMechanism[] {
    if (this.built !== undefined) return this.built;
    const watching: AccountProvider = Object.create(this.provider);
    watching.scramCredentials = (host, user, hash) => {
      if (this.named(`${user}@${host}`)) return Promise.resolve(undefined);
      return this.provider.scramCredentials(host, user, hash);
    };
    watching.verifyPassword = (host, user, password) => {
      if (this.named(`${user}@${host}`)) return Promise.resolve(false);
      return this.provider.verifyPassword(host, user, password);
    };
    // Unknown users get fake credentials with the real iteration count, so `i=` does not reveal them.
    this.built = buildMechanisms(watching, this.enabled, {
      scram: {
        unknownUserIterations: this.scramIterations,
        unknownUserSecret: this.serverSecret,
        downgradeCheck: this.downgradeCheck,
      },
    });
    return this.built;
  }

  /** Mechanisms to offer on this connection (RFC 6120 §6.4.1); the connection's TLS state is fixed for this negotiation. */
  offered(): readonly string[] {
    this.offeredNames ??= this.mechanisms()
      .filter((m) => m.available(this.ctx))
      .map((m) => m.name);
    return this.offeredNames;
  }

  /**
   * XEP-0440: the channel-binding types this connection supplies, advertised only beside a -PLUS mechanism
   * (types without a mechanism to use them would make a careful client suspect a stripped offer).
   */
  advertisedChannelBindings(): ChannelBindingType[] | undefined {
    if (this.ctx.channelBindings.length === 0 || !this.offered().some((m) => m.endsWith("-PLUS"))) return undefined;
    return [...this.ctx.channelBindings];
  }

  /** The XEP-0440 <sasl-channel-binding/> stream feature, or undefined when no type is advertised. */
  channelBindingFeature(): Element | undefined {
    const types = this.advertisedChannelBindings();
    if (types === undefined) return undefined;
    const feature = new Element("sasl-channel-binding", NS_SASL_CB);
    for (const type of types) feature.c("channel-binding", NS_SASL_CB, { type });
    return feature;
  }

  get inProgress(): boolean {
    return this.exchange !== undefined;
  }

  /** Handles <auth/>, <response/> or <abort/> (RFC 6120 §6.4). */
  async handle(el: Element): Promise<SaslOutcome> {
    let result: SaslResult;
    if (el.name === "abort") result = this.abort();
    else if (el.name === "auth") {
      // RFC 6120 §6.4.2: no text = no initial response; "=" = empty initial response.
      const text = el.text();
      result = await this.begin(el.attrs.mechanism, text.trim() === "" ? undefined : text);
    } else if (el.name === "response") result = await this.respond(el.text());
    else result = this.failed("malformed-request");
    return rfc6120Outcome(result);
  }

  /** The client gives up the exchange (RFC 6120 §6.4.4, XEP-0388 <abort/>). */
  abort(): SaslResult {
    this.exchange = undefined;
    this.settleWithoutVerdict();
    return this.failed("aborted");
  }

  /** A response to a challenge; `text` is base64 ("=" or "" for empty). */
  async respond(text: string): Promise<SaslResult> {
    if (!this.exchange) return this.failed("malformed-request", "no authentication in progress");
    return this.step(text);
  }

  /**
   * Starts an exchange with the named mechanism and its initial response (base64, undefined for none).
   * `extra`: mechanisms usable for this exchange only, never offered in the mechanism list (XEP-0484 FAST
   * mechanisms, advertised inside SASL2's <fast/>); they reach accounts through `guard`.
   */
  async begin(
    mechanism: string | undefined,
    initial: string | undefined,
    extra: SaslMechanism[] = [],
  ): Promise<SaslResult> {
    // RFC 6120 §6.4.5: a new <auth/> abandons an exchange in progress.
    this.exchange = undefined;
    this.settleWithoutVerdict();
    this.attemptedUser = undefined;
    const extraMech = extra.find((m) => m.name === mechanism && m.available(this.ctx));
    // Only an offered name is kept: it labels metrics, where a client's made-up name must never go.
    this.mechanismName = mechanism !== undefined && (this.offered().includes(mechanism) || extraMech) ? mechanism : "";
    const ip = this.ctx.remoteAddress;
    // An address refused outright is told so before any credentials are looked at.
    this.verdict = this.throttle.check(ip, undefined);
    if (this.verdict.refused) return this.failed("temporary-auth-failure", REFUSED_TEXT);
    const mech = extraMech ?? this.mechanisms().find((m) => m.name === mechanism && m.available(this.ctx));
    if (!mech) return this.failed("invalid-mechanism");
    // XEP-0474: what the features offered, for the SSDP hash in SCRAM's server-first-message.
    const advertised = { mechanisms: this.offered(), channelBindings: this.advertisedChannelBindings() };
    this.exchange = mech.start({ ...this.ctx, advertised, bindingsUsedByClient: this.bindingsUsedByClient });
    this.mechanismName = mech.name;
    return this.step(initial);
  }

  /** For mechanisms outside `mechanisms()` (FAST): the throttle's say on an account named. True = refused. */
  readonly guard = (host: string, user: string): boolean => this.named(`${user}@${host}`);

  /**
   * The client named an account: the throttle decides for this address and account. True = refused. Otherwise
   * the coming password check counts as a failure right away (taken back on success), so that parallel
   * connections from one address cannot all pass the check before any of their failures is counted.
   */
  private named(account: string): boolean {
    this.attemptedUser = account;
    this.verdict = this.throttle.check(this.ctx.remoteAddress, account);
    if (this.verdict.refused) return true;
    this.throttle.recordFailure(this.ctx.remoteAddress, account);
    this.counted = true;
    return false;
  }

  /** An exchange ended without a password verdict (aborted, malformed, replaced): its advance failure is taken back. */
  private settleWithoutVerdict(): void {
    if (this.counted) this.throttle.refund(this.ctx.remoteAddress, this.attemptedUser);
    this.counted = false;
  }

  private async step(text: string | undefined): Promise<SaslResult> {
    const exchange = this.exchange;
    if (!exchange) return this.failed("malformed-request");
    let response: Buffer | undefined;
    try {
      response = text === undefined ? undefined : decode(text);
      if (text !== undefined && response === undefined) response = Buffer.alloc(0);
    } catch {
      this.exchange = undefined;
      this.settleWithoutVerdict();
      return this.failed("incorrect-encoding");
    }
    const result = await exchange.step(response);
    const ip = this.ctx.remoteAddress;
    if (this.verdict.refused) {
      // Refused for this address and account: the same answer whatever was sent, before any password is tried.
      this.exchange = undefined;
      return this.failed("temporary-auth-failure", REFUSED_TEXT);
    }
    if (result.kind === "challenge") return { kind: "challenge", data: result.data };
    this.exchange = undefined;
    // While throttled, the answer waits, whether it is a success or a failure: the delay depends only on
    // earlier failures, so its length tells nothing about this password.
    if (this.verdict.delayMs > 0) await delay(this.verdict.delayMs, undefined, { ref: false });
    if (result.kind === "success") {
      this.counted = false;
      this.throttle.recordSuccess(ip, `${result.username}@${this.ctx.host}`);
      // RFC 6120 §6.5.1: asked only once the credentials are proven, so the answer tells a stranger nothing. A
      // mechanism that read the flag with the credentials it checked says so (one storage read less per login).
      if (result.disabled ?? (await this.provider.isDisabled(this.ctx.host, result.username)))
        return this.failed("account-disabled", "this account is disabled");
      return { kind: "success", data: result.data, username: result.username, mechanism: this.mechanismName };
    }
    // Only a checked and wrong password is a guess (its failure was counted when the check started);
    // channel-binding or syntax refusals (a client falling back from -PLUS, a 'y' flag) are not.
    if (result.condition === "not-authorized") this.counted = false;
    else this.settleWithoutVerdict();
    return this.failed(result.condition, result.text);
  }

  private failed(condition: SaslFailureCondition, text?: string): SaslResult {
    const mechanism = this.mechanismName === "" ? undefined : this.mechanismName;
    return { kind: "failure", condition, text, username: this.attemptedUser, mechanism };
  }
}

/** Decodes a base64 SASL payload (XEP-0388 §2.2 uses RFC 6120's rules); throws on bad base64. */
export function decodeSaslData(text: string): Buffer | undefined {
  return decode(text);
}

export function encodeSaslData(data: Buffer | undefined): string {
  return encode(data);
}

/** A step as RFC 6120 elements. */
function rfc6120Outcome(result: SaslResult): SaslOutcome {
  switch (result.kind) {
    case "challenge":
      return { kind: "reply", element: new Element("challenge", NS_SASL, {}, [encode(result.data)]) };
    case "success": {
      const el = new Element("success", NS_SASL);
      if (result.data && result.data.length > 0) el.t(result.data.toString("base64"));
      return { kind: "success", element: el, username: result.username, mechanism: result.mechanism };
    }
    case "failure":
      return {
        kind: "failure",
        element: failureElement(result.condition, result.text),
        condition: result.condition,
        username: result.username,
        mechanism: result.mechanism,
      };
  }
}
