// SASL PLAIN (RFC 4616): the password travels in the clear inside TLS, so it is offered only on secure streams
// (RFC 6120 §13.8.3: PLAIN only over TLS).
import { enforceUsernameCaseMapped } from "../core/precis.js";
import { decodeUtf8Strict, isOwnAuthzid } from "./sasl-input.js";
import type { AccountProvider, SaslContext, SaslExchange, SaslMechanism, SaslStep } from "./types.js";

export function plainMechanism(provider: AccountProvider): SaslMechanism {
  return {
    name: "PLAIN",
    available: (ctx) => ctx.secure,
    start: (ctx) => new PlainExchange(provider, ctx),
  };
}

class PlainExchange implements SaslExchange {
  private awaitingResponse = false;
  private done = false;

  constructor(
    private readonly provider: AccountProvider,
    private readonly ctx: SaslContext,
  ) {}

  async step(response: Buffer | undefined): Promise<SaslStep> {
    if (this.done) return { kind: "failure", condition: "malformed-request", text: "exchange already finished" };
    // RFC 6120 §6.4.2: no initial response → one empty challenge, the client answers with the message.
    if (response === undefined && !this.awaitingResponse) {
      this.awaitingResponse = true;
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    this.done = true;
    // Defence in depth: the stream layer should never have offered PLAIN here.
    if (!this.ctx.secure) return { kind: "failure", condition: "encryption-required" };
    return this.authenticate(response ?? Buffer.alloc(0));
  }

  private async authenticate(response: Buffer): Promise<SaslStep> {
    // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
    const text = decodeUtf8Strict(response);
    if (text === undefined) return { kind: "failure", condition: "malformed-request", text: "invalid UTF-8" };
    const parts = text.split("\0");
    if (parts.length !== 3) return { kind: "failure", condition: "malformed-request" };
    const [authzid, authcid, password] = parts as [string, string, string];
    if (authcid === "" || password === "") return { kind: "failure", condition: "malformed-request" };

    let username: string;
    try {
      username = enforceUsernameCaseMapped(authcid);
    } catch {
      return { kind: "failure", condition: "not-authorized" };
    }
    if (!isOwnAuthzid(authzid, username, this.ctx.host)) return { kind: "failure", condition: "invalid-authzid" };

    let valid: boolean;
    try {
      valid = await this.provider.verifyPassword(this.ctx.host, username, password);
    } catch {
      return { kind: "failure", condition: "temporary-auth-failure" };
    }
    // Unknown user and wrong password give the same answer (RFC 4616 §6: do not disclose which).
    return valid ? { kind: "success", username } : { kind: "failure", condition: "not-authorized" };
  }
}
