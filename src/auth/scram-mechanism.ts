// Server side of SCRAM-SHA-1(-PLUS) and SCRAM-SHA-256(-PLUS): RFC 5802, RFC 7677, channel binding per
// RFC 5929 (tls-server-end-point) and RFC 9266 (tls-exporter).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { enforceUsernameCaseMapped } from "../core/precis.js";
import { randomBase64 } from "../core/random-text.js";
import { ssdpHash } from "./downgrade-protection.js";
import { decodeUtf8Strict, isOwnAuthzid } from "./sasl-input.js";
import { SCRAM_HASH_LENGTH, SCRAM_SALT_LENGTH, scramDigest, scramHmac } from "./scram-credentials.js";
import {
  type ClientFirstMessage,
  parseClientFinalMessage,
  parseClientFirstMessage,
  ScramSyntaxError,
} from "./scram-messages.js";
import type {
  AccountProvider,
  ChannelBindingType,
  SaslContext,
  SaslExchange,
  SaslFailureCondition,
  SaslMechanism,
  SaslStep,
  ScramCredentials,
  ScramHash,
} from "./types.js";

export interface ScramMechanismOptions {
  /** Generates the server's part of the nonce. Tests force the RFC examples' value; the default is 18 random octets. */
  serverNonce?: () => string;
  /**
   * Secret from which stand-in credentials for unknown users are derived. Stable stand-ins (same salt on every
   * attempt) are what make an unknown user look like a real one; configure it to keep them stable across restarts.
   */
  unknownUserSecret?: Buffer;
  /** Iteration count shown for unknown users: set it to the provider's, or the difference reveals who exists. */
  unknownUserIterations?: number;
  /**
   * Whether this server offers a -PLUS mechanism on the connection, for the RFC 5802 §6 downgrade check on the 'y'
   * flag. Defaults to "the connection can supply channel binding".
   */
  plusOffered?: (ctx: SaslContext) => boolean;
  /**
   * When a 'y' flag counts as a downgrade (RFC 5802 §6), given that a -PLUS mechanism is offered:
   * "plus-offered" (the default here): always, as RFC 5802 words it;
   * "client-shown": only when the client has used, on this stream, a channel-binding type this connection
   * supplies (SaslContext.bindingsUsedByClient). See docs/config.md `auth.scram_downgrade_check` for why.
   */
  downgradeCheck?: ScramDowngradeCheck;
}

export type ScramDowngradeCheck = "plus-offered" | "client-shown";

// Per process, so stand-in salts stay the same from one connection to the next.
const PROCESS_UNKNOWN_USER_SECRET = randomBytes(32);
const DEFAULT_UNKNOWN_USER_ITERATIONS = 4096; // RFC 7677 §4 minimum recommendation

const CHANNEL_BINDING_TYPES: readonly string[] = [
  "tls-exporter",
  "tls-server-end-point",
] satisfies ChannelBindingType[];

export function scramMechanismName(hash: ScramHash, plus: boolean): string {
  return `SCRAM-${hash}${plus ? "-PLUS" : ""}`;
}

export function scramMechanism(
  hash: ScramHash,
  plus: boolean,
  provider: AccountProvider,
  options: ScramMechanismOptions = {},
): SaslMechanism {
  return {
    name: scramMechanismName(hash, plus),
    // -PLUS needs channel-binding data from the TLS layer; plain SCRAM works on any stream. A host whose passwords
    // are checked elsewhere (LDAP, a program) has no SCRAM credentials: only PLAIN is offered there.
    available: (ctx) => provider.credentialKind(ctx.host) === "scram" && (!plus || ctx.channelBindings.length > 0),
    start: (ctx) => new ScramServerExchange(hash, plus, provider, options, ctx),
  };
}

type State =
  | { kind: "initial" }
  | { kind: "awaiting-client-first" }
  | {
      kind: "awaiting-client-final";
      first: ClientFirstMessage;
      username: string;
      userExists: boolean;
      credentials: ScramCredentials;
      nonce: string;
      serverFirst: string;
      cbData: Buffer;
    }
  | { kind: "done" };

const fail = (condition: SaslFailureCondition, text?: string): SaslStep =>
  text === undefined ? { kind: "failure", condition } : { kind: "failure", condition, text };

class ScramServerExchange implements SaslExchange {
  private state: State = { kind: "initial" };

  constructor(
    private readonly hash: ScramHash,
    private readonly plus: boolean,
    private readonly provider: AccountProvider,
    private readonly options: ScramMechanismOptions,
    private readonly ctx: SaslContext,
  ) {}

  async step(response: Buffer | undefined): Promise<SaslStep> {
    const state = this.state;
    this.state = { kind: "done" }; // any early return below ends the exchange; success paths set the next state
    switch (state.kind) {
      case "initial":
        // RFC 6120 §6.4.2: SCRAM is client-first; without an initial response the server sends an empty challenge.
        if (response === undefined) {
          this.state = { kind: "awaiting-client-first" };
          return { kind: "challenge", data: Buffer.alloc(0) };
        }
        return this.clientFirst(response);
      case "awaiting-client-first":
        return this.clientFirst(response ?? Buffer.alloc(0));
      case "awaiting-client-final":
        return this.clientFinal(state, response ?? Buffer.alloc(0));
      case "done":
        return fail("malformed-request", "exchange already finished");
    }
  }

  private async clientFirst(response: Buffer): Promise<SaslStep> {
    const text = decodeUtf8Strict(response);
    if (text === undefined) return fail("malformed-request", "invalid-encoding");
    let first: ClientFirstMessage;
    try {
      first = parseClientFirstMessage(text);
    } catch (err) {
      if (err instanceof ScramSyntaxError) return fail("malformed-request", err.message);
      throw err;
    }

    const cbData = this.channelBindingData(first);
    if (!Buffer.isBuffer(cbData)) return cbData;

    let username: string;
    try {
      username = enforceUsernameCaseMapped(first.username);
    } catch {
      // RFC 5802 §5.1 "invalid-username-encoding": no account can have such a name, so nothing is revealed.
      return fail("not-authorized", "invalid-username-encoding");
    }
    if (!isOwnAuthzid(first.authzid, username, this.ctx.host)) return fail("invalid-authzid");

    let stored: ScramCredentials | undefined;
    try {
      stored = await this.provider.scramCredentials(this.ctx.host, username, this.hash);
    } catch {
      return fail("temporary-auth-failure");
    }
    const credentials = stored ?? this.standInCredentials(username);
    const nonce = first.clientNonce + (this.options.serverNonce ?? randomNonce)();
    // RFC 5802 §7 server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
    let serverFirst = `r=${nonce},s=${credentials.salt.toString("base64")},i=${credentials.iterations}`;
    // XEP-0474 §5.1: the offered mechanisms and binding types, signed into AuthMessage, so a client can detect
    // an offer stripped in transit (its proof then fails here if the attacker alters h= too).
    const advertised = this.ctx.advertised;
    if (advertised) serverFirst += `,h=${ssdpHash(this.hash, advertised.mechanisms, advertised.channelBindings)}`;
    this.state = {
      kind: "awaiting-client-final",
      first,
      username,
      userExists: stored !== undefined,
      credentials,
      nonce,
      serverFirst,
      cbData,
    };
    return { kind: "challenge", data: Buffer.from(serverFirst, "utf8") };
  }

  /** RFC 5802 §6 channel-binding negotiation: the data to expect in c= after the gs2-header, or a failure. */
  private channelBindingData(first: ClientFirstMessage): Buffer | SaslStep {
    if (!this.plus) {
      // A client naming a binding type must have chosen the -PLUS variant.
      if (first.cbFlag === "p") return fail("malformed-request", "channel binding requires a -PLUS mechanism");
      // 'y' = "I support channel binding but you did not offer it": if we did, someone stripped it (downgrade).
      if (first.cbFlag === "y" && this.isDowngrade())
        return fail("not-authorized", "server-does-support-channel-binding");
      return Buffer.alloc(0);
    }
    if (first.cbFlag !== "p") return fail("malformed-request", "a -PLUS mechanism requires channel binding");
    const type = first.cbName as string;
    if (!CHANNEL_BINDING_TYPES.includes(type)) return fail("malformed-request", "unsupported-channel-binding-type");
    const cbType = type as ChannelBindingType;
    const data = this.ctx.channelBindings.includes(cbType) ? this.ctx.channelBinding(cbType) : undefined;
    if (data === undefined) return fail("malformed-request", "unsupported-channel-binding-type");
    this.ctx.bindingsUsedByClient?.add(cbType);
    return data;
  }

  /**
   * RFC 5802 §6: 'y' = "I support channel binding but you did not offer it". With a -PLUS mechanism offered,
   * that is a stripped offer, if the client could have bound: with channel-binding types now negotiated per
   * connection (XEP-0440), a client whose only type this connection lacks (tls-unique on TLS 1.3, RFC 9266 §3)
   * lost nothing to a stripping, so "client-shown" counts 'y' as a downgrade only from a client that has used
   * one of this connection's types on this stream.
   */
  private isDowngrade(): boolean {
    const plusOffered = this.options.plusOffered ?? ((ctx: SaslContext) => ctx.channelBindings.length > 0);
    if (!plusOffered(this.ctx)) return false;
    if ((this.options.downgradeCheck ?? "plus-offered") === "plus-offered") return true;
    const used = this.ctx.bindingsUsedByClient;
    return used !== undefined && this.ctx.channelBindings.some((type) => used.has(type));
  }

  private async clientFinal(
    state: Extract<State, { kind: "awaiting-client-final" }>,
    response: Buffer,
  ): Promise<SaslStep> {
    const text = decodeUtf8Strict(response);
    if (text === undefined) return fail("malformed-request", "invalid-encoding");
    let final: ReturnType<typeof parseClientFinalMessage>;
    try {
      final = parseClientFinalMessage(text);
    } catch (err) {
      if (err instanceof ScramSyntaxError) return fail("malformed-request", err.message);
      throw err;
    }
    // RFC 5802 §5.1: the nonce must be exactly the combined nonce sent in server-first.
    if (final.nonce !== state.nonce) return fail("malformed-request", "nonce mismatch");
    if (final.proof.length !== SCRAM_HASH_LENGTH[this.hash]) return fail("malformed-request", "invalid proof length");

    // RFC 5802 §7 cbind-input = gs2-header [cbind-data]; cbind-data only when the flag is 'p'.
    const expectedBinding = Buffer.concat([Buffer.from(state.first.gs2Header, "utf8"), state.cbData]);
    if (!constantTimeEqual(final.channelBinding, expectedBinding)) {
      return fail("not-authorized", "channel-bindings-dont-match");
    }

    // RFC 5802 §3: AuthMessage, ClientSignature, ClientKey = ClientProof XOR ClientSignature, H(ClientKey) = StoredKey.
    const authMessage = Buffer.from(`${state.first.bare},${state.serverFirst},${final.withoutProof}`, "utf8");
    const { storedKey, serverKey } = state.credentials;
    const clientSignature = scramHmac(this.hash, storedKey, authMessage);
    const clientKey = Buffer.alloc(clientSignature.length);
    for (let i = 0; i < clientKey.length; i++)
      clientKey[i] = (final.proof[i] as number) ^ (clientSignature[i] as number);
    const proofValid = constantTimeEqual(scramDigest(this.hash, clientKey), storedKey);
    // Unknown users fail here, after the same work and with the same answer as a wrong password.
    if (!proofValid || !state.userExists) return fail("not-authorized");

    const serverSignature = scramHmac(this.hash, serverKey, authMessage);
    return {
      kind: "success",
      username: state.username,
      data: Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8"),
      ...(state.credentials.disabled !== undefined ? { disabled: state.credentials.disabled } : {}),
    };
  }

  /**
   * Deterministic stand-in credentials for a user that does not exist: derived from a secret so the salt is the
   * same on every attempt (a fresh random salt would reveal the account is missing). No password matches them.
   */
  private standInCredentials(username: string): ScramCredentials {
    const secret = this.options.unknownUserSecret ?? PROCESS_UNKNOWN_USER_SECRET;
    const label = (purpose: string) => `${purpose}\0${this.hash}\0${this.ctx.host}\0${username}`;
    return {
      salt: scramHmac("SHA-256", secret, label("salt")).subarray(0, SCRAM_SALT_LENGTH),
      iterations: this.options.unknownUserIterations ?? DEFAULT_UNKNOWN_USER_ITERATIONS,
      storedKey: scramHmac(this.hash, secret, label("stored-key")),
      serverKey: scramHmac(this.hash, secret, label("server-key")),
    };
  }
}

/** 18 random octets in base64: 24 printable characters, none of them ',' (RFC 5802 §7 s-nonce). */
function randomNonce(): string {
  return randomBase64(18);
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
