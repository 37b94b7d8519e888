// Whole SASL exchanges (PLAIN, RFC 4616; SCRAM, RFC 5802 / 7677 with channel binding) on arbitrary client data,
// through the real mechanisms and the real internal account provider on the in-memory store.
// Invariants: step() never rejects; every answer is a challenge, a success or an RFC 6120 §6.5 failure; after a
// success or failure the exchange only answers failure; success only for the right password, never for PLAIN on
// a stream without TLS.
// Input: byte 0 picks the mechanism (bits 0-1), whether the client sends no initial response (bit 2) and TLS
// (bit 3); the rest are the client's responses, separated by 0xFF (a byte that UTF-8 never uses).
import { InternalAccountProvider } from "../../src/auth/internal-account-provider.js";
import { plainMechanism } from "../../src/auth/plain-mechanism.js";
import { scramMechanism } from "../../src/auth/scram-mechanism.js";
import type { SaslContext, SaslFailureCondition, SaslMechanism, SaslStep } from "../../src/auth/types.js";
import { createMemoryDriver } from "../../src/storage/memory/index.js";
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { check } from "./check.js";

const HOST = "example.com";
const PASSWORD = "r0m30myr0m30";
const CONDITIONS = new Set<SaslFailureCondition>([
  "aborted",
  "account-disabled",
  "credentials-expired",
  "encryption-required",
  "incorrect-encoding",
  "invalid-authzid",
  "invalid-mechanism",
  "malformed-request",
  "mechanism-too-weak",
  "not-authorized",
  "temporary-auth-failure",
]);

// Iterations kept at 1: the fuzzer exercises message handling, not key stretching.
const provider = new InternalAccountProvider(createMemoryDriver(), { iterations: 1 });
const ready = provider.createUser(HOST, "juliet", PASSWORD);
const scramOptions = { serverNonce: () => "3rfcNHYJY1ZVvWVs7j", unknownUserIterations: 1 };
const mechanisms: SaslMechanism[] = [
  plainMechanism(provider),
  scramMechanism("SHA-1", false, provider, scramOptions),
  scramMechanism("SHA-256", false, provider, scramOptions),
  scramMechanism("SHA-256", true, provider, scramOptions),
];

function context(secure: boolean): SaslContext {
  const exporter = Buffer.alloc(32, 7);
  return {
    host: HOST,
    secure,
    remoteAddress: "192.0.2.1",
    channelBindings: secure ? ["tls-exporter"] : [],
    channelBinding: (type) => (secure && type === "tls-exporter" ? exporter : undefined),
  };
}

function splitResponses(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = 0; i <= data.length && out.length < 4; i++) {
    if (i === data.length || data[i] === 0xff) {
      out.push(data.subarray(from, i));
      from = i + 1;
    }
  }
  return out;
}

function checkStep(step: SaslStep, mechanism: string, secure: boolean): void {
  if (step.kind === "challenge") {
    check(Buffer.isBuffer(step.data), "challenge without data");
  } else if (step.kind === "success") {
    check(step.username === "juliet", `success as ${JSON.stringify(step.username)}`);
    check(mechanism !== "PLAIN" || secure, "PLAIN succeeded without TLS");
  } else {
    check(step.kind === "failure" && CONDITIONS.has(step.condition), `unexpected answer ${JSON.stringify(step)}`);
  }
}

export const saslExchangeTarget: FuzzTarget = {
  name: "sasl-exchange",
  covers: ["/src/auth/", "/src/core/precis", "/src/core/jid"],
  maxLength: 512,
  dictionary: [
    "\u0000juliet\u0000r0m30myr0m30",
    "juliet@example.com",
    "\u0000",
    "n,,n=juliet,r=",
    "y,,",
    "p=tls-exporter,,",
    "p=tls-server-end-point,,",
    "a=juliet@example.com,",
    "fyko+d2lbbFgONRv9qkxdawL",
    "3rfcNHYJY1ZVvWVs7j",
    "c=biws,r=",
    ",p=",
    "=2C",
    "=3D",
    "\u00ff",
  ],
  async run(data) {
    await ready;
    const flags = data[0] ?? 0;
    const mechanism = mechanisms[flags & 3] as SaslMechanism;
    const secure = (flags & 8) !== 0;
    const exchange = mechanism.start(context(secure));
    const responses: (Buffer | undefined)[] = splitResponses(data.subarray(1));
    if ((flags & 4) !== 0) responses.unshift(undefined);
    let over = false;
    for (const response of responses) {
      const step = await exchange.step(response); // a rejection is itself a finding
      checkStep(step, mechanism.name, secure);
      if (over) check(step.kind === "failure", `answered ${step.kind} after the exchange ended`);
      if (step.kind !== "challenge") over = true;
    }
  },
};
