// One SASL negotiation on a stream (RFC 6120 §6.4): mechanism choice, base64 framing of challenges and
// responses, abort, and throttling of failed attempts per IP and per account.
import type { LoginThrottle } from "../auth/login-throttle.js";
import { buildMechanisms } from "../auth/mechanisms.js";
import type { AccountProvider, SaslContext, SaslExchange, SaslFailureCondition } from "../auth/types.js";
import { Element } from "../core/xml/element.js";
import { NS_SASL } from "../core/xml/ns.js";

export type SaslOutcome =
  | { kind: "reply"; element: Element }
  | { kind: "success"; element: Element; username: string; mechanism: string }
  | { kind: "failure"; element: Element; condition: SaslFailureCondition; username: string | undefined };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

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

  constructor(
    private readonly ctx: SaslContext,
    private readonly provider: AccountProvider,
    private readonly enabled: string[],
    private readonly throttle: LoginThrottle,
    private readonly scramIterations: number,
    private readonly serverSecret: Buffer,
  ) {}

  private mechanisms(provider: AccountProvider) {
    // Unknown users get fake credentials with the real iteration count, so `i=` does not reveal them.
    return buildMechanisms(provider, this.enabled, {
      scram: { unknownUserIterations: this.scramIterations, unknownUserSecret: this.serverSecret },
    });
  }

  /** Mechanisms to offer on this connection (RFC 6120 §6.4.1). */
  offered(): string[] {
    return this.mechanisms(this.provider)
      .filter((m) => m.available(this.ctx))
      .map((m) => m.name);
  }

  get inProgress(): boolean {
    return this.exchange !== undefined;
  }

  /** Handles <auth/>, <response/> or <abort/>. */
  async handle(el: Element): Promise<SaslOutcome> {
    if (el.name === "abort") {
      this.exchange = undefined;
      return this.fail("aborted");
    }
    if (el.name === "auth") return this.start(el);
    if (el.name === "response") {
      if (!this.exchange) return this.fail("malformed-request", "no authentication in progress");
      return this.step(el.text());
    }
    return this.fail("malformed-request");
  }

  private async start(el: Element): Promise<SaslOutcome> {
    this.attemptedUser = undefined;
    const ip = this.ctx.remoteAddress;
    const wait = this.throttle.retryAfter(ip, undefined);
    if (wait > 0) return this.fail("temporary-auth-failure", `too many failed attempts; retry in ${wait} s`);
    // The provider is wrapped per exchange so that the username asked for is known even on failure.
    const watching: AccountProvider = Object.create(this.provider);
    watching.scramCredentials = (host, user, hash) => {
      this.attemptedUser = `${user}@${host}`;
      return this.provider.scramCredentials(host, user, hash);
    };
    watching.verifyPassword = (host, user, password) => {
      this.attemptedUser = `${user}@${host}`;
      return this.provider.verifyPassword(host, user, password);
    };
    const mech = this.mechanisms(watching).find(
      (m) => m.name === el.attrs.mechanism && m.available(this.ctx),
    );
    if (!mech) return this.fail("invalid-mechanism");
    this.exchange = mech.start(this.ctx);
    this.mechanismName = mech.name;
    // RFC 6120 §6.4.2: no text = no initial response; "=" = empty initial response.
    const text = el.text();
    return this.step(text.trim() === "" ? undefined : text);
  }

  private async step(text: string | undefined): Promise<SaslOutcome> {
    const exchange = this.exchange;
    if (!exchange) return this.fail("malformed-request");
    let response: Buffer | undefined;
    try {
      response = text === undefined ? undefined : decode(text);
      if (text !== undefined && response === undefined) response = Buffer.alloc(0);
    } catch {
      this.exchange = undefined;
      return this.fail("incorrect-encoding");
    }
    const result = await exchange.step(response);
    const ip = this.ctx.remoteAddress;
    if (result.kind === "challenge") {
      const user = this.attemptedUser;
      if (user !== undefined && this.throttle.retryAfter(ip, user) > 0) {
        this.exchange = undefined;
        return this.fail("temporary-auth-failure", "too many failed attempts for this account; retry later");
      }
      return { kind: "reply", element: new Element("challenge", NS_SASL, {}, [encode(result.data)]) };
    }
    this.exchange = undefined;
    if (result.kind === "success") {
      const account = `${result.username}@${this.ctx.host}`;
      if (this.throttle.retryAfter(ip, account) > 0) {
        // The password was right, but the account is under attack: keep refusing until the window passes.
        return this.fail("temporary-auth-failure", "too many failed attempts for this account; retry later");
      }
      this.throttle.recordSuccess(ip, account);
      const el = new Element("success", NS_SASL);
      if (result.data && result.data.length > 0) el.t(result.data.toString("base64"));
      return { kind: "success", element: el, username: result.username, mechanism: this.mechanismName };
    }
    // Only a checked and wrong password is a guess; channel-binding or syntax refusals (a client falling
    // back from -PLUS, a 'y' flag) happen before any password is tried and must not lock anyone out.
    if (result.condition === "not-authorized" && this.attemptedUser !== undefined) {
      this.throttle.recordFailure(ip, this.attemptedUser);
    }
    return this.fail(result.condition, result.text);
  }

  private fail(condition: SaslFailureCondition, text?: string): SaslOutcome {
    return { kind: "failure", element: failureElement(condition, text), condition, username: this.attemptedUser };
  }
}
