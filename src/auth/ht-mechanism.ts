// The HT-* SASL mechanisms of XEP-0484 §2 (draft-schmaus-kitten-sasl-ht-09): one client-first message,
// authcid NUL HMAC(token, "Initiator" || cb-data), answered with HMAC(token, "Responder" || cb-data) as additional
// data. HT-SHA-256-NONE binds to nothing; -ENDP to tls-server-end-point (RFC 5929), -EXPR to tls-exporter
// (RFC 9266), the same data the SCRAM -PLUS mechanisms use; -UNIQ to tls-unique (RFC 5929 §3), offered only on
// TLS 1.2 connections (RFC 9266 §3: tls-unique does not exist on TLS 1.3, where -EXPR takes its place).
import { createHmac } from "node:crypto";
import { enforceUsernameCaseMapped } from "../core/precis.js";
import { type FastAttempt, type FastTokens, type FastVerdict, sameBytes } from "./fast-tokens.js";
import type { ChannelBindingType, SaslContext, SaslExchange, SaslMechanism, SaslStep } from "./types.js";

export const HT_MECHANISMS = ["HT-SHA-256-EXPR", "HT-SHA-256-UNIQ", "HT-SHA-256-ENDP", "HT-SHA-256-NONE"] as const;
export type HtMechanismName = (typeof HT_MECHANISMS)[number];

const BINDING: Record<HtMechanismName, ChannelBindingType | undefined> = {
  "HT-SHA-256-EXPR": "tls-exporter",
  "HT-SHA-256-UNIQ": "tls-unique",
  "HT-SHA-256-ENDP": "tls-server-end-point",
  "HT-SHA-256-NONE": undefined,
};

/** The FAST login being tried: what the <authenticate/> said besides the mechanism's message. */
export interface FastLogin {
  attempt: Omit<FastAttempt, "mechanism">;
  /** Called with the verdict of a proven token, to record its use once the login has succeeded. */
  verified(verdict: Extract<FastVerdict, { ok: true }>): void;
}

type BindingSource = Pick<SaslContext, "channelBindings" | "channelBinding">;

/** A binding's data on this connection; tls-unique is asked for directly (never in `channelBindings`). */
function bindingData(ctx: BindingSource, binding: ChannelBindingType): Buffer | undefined {
  if (binding !== "tls-unique" && !ctx.channelBindings.includes(binding)) return undefined;
  return ctx.channelBinding(binding);
}

/** HT mechanisms available on a connection: over TLS only, each -X only where its binding exists. */
export function htMechanismsFor(
  ctx: Pick<SaslContext, "secure"> & BindingSource,
  enabled: readonly string[],
): HtMechanismName[] {
  if (!ctx.secure) return [];
  return HT_MECHANISMS.filter((name) => {
    if (!enabled.includes(name)) return false;
    const binding = BINDING[name];
    if (binding === undefined) return true;
    return binding === "tls-unique" ? bindingData(ctx, binding) !== undefined : ctx.channelBindings.includes(binding);
  });
}

export function htMechanism(
  name: HtMechanismName,
  tokens: Pick<FastTokens, "verify">,
  login: FastLogin,
  /** Called with the account named, before any token is looked at (the login throttle); true = refused. */
  refused: (host: string, user: string) => boolean,
): SaslMechanism {
  return {
    name,
    available: (ctx) => htMechanismsFor(ctx, [name]).length > 0,
    start: (ctx) => new HtExchange(name, tokens, login, refused, ctx),
  };
}

const fail = (
  condition: "malformed-request" | "not-authorized" | "credentials-expired" | "temporary-auth-failure",
  text?: string,
): SaslStep => (text === undefined ? { kind: "failure", condition } : { kind: "failure", condition, text });

class HtExchange implements SaslExchange {
  private done = false;

  constructor(
    private readonly name: HtMechanismName,
    private readonly tokens: Pick<FastTokens, "verify">,
    private readonly login: FastLogin,
    private readonly refused: (host: string, user: string) => boolean,
    private readonly ctx: SaslContext,
  ) {}

  async step(response: Buffer | undefined): Promise<SaslStep> {
    if (this.done) return fail("malformed-request", "exchange already finished");
    this.done = true;
    // draft-schmaus-kitten-sasl-ht §3: client-first; no initial response is a protocol error.
    if (response === undefined) return fail("malformed-request", "HT mechanisms need an initial response");
    const nul = response.indexOf(0);
    if (nul <= 0 || response.length - nul - 1 !== 32) return fail("malformed-request");
    let username: string;
    try {
      const authcid = new TextDecoder("utf-8", { fatal: true }).decode(response.subarray(0, nul));
      username = enforceUsernameCaseMapped(authcid);
    } catch {
      return fail("not-authorized");
    }
    const proof = response.subarray(nul + 1);
    if (this.refused(this.ctx.host, username)) return fail("not-authorized");
    const binding = BINDING[this.name];
    let cbData: Buffer = Buffer.alloc(0);
    if (binding !== undefined) {
      const data = bindingData(this.ctx, binding);
      if (data === undefined) return fail("malformed-request", "channel binding unavailable");
      cbData = data;
    }
    const initiator = Buffer.concat([Buffer.from("Initiator", "utf8"), cbData]);
    let verdict: FastVerdict;
    try {
      verdict = await this.tokens.verify(
        this.ctx.host,
        username,
        { ...this.login.attempt, mechanism: this.name },
        (token) => sameBytes(createHmac("sha256", token).update(initiator).digest(), proof),
      );
    } catch {
      return fail("temporary-auth-failure");
    }
    // XEP-0484 §4.3: an expired or invalidated token → credentials-expired; an unknown one or a replay → not-authorized.
    if (!verdict.ok) return verdict.reason === "expired" ? fail("credentials-expired") : fail("not-authorized");
    this.login.verified(verdict);
    const responder = createHmac("sha256", verdict.token)
      .update(Buffer.concat([Buffer.from("Responder", "utf8"), cbData]))
      .digest();
    return {
      kind: "success",
      username,
      data: responder,
      ...(verdict.disabled !== undefined ? { disabled: verdict.disabled } : {}),
    };
  }
}
