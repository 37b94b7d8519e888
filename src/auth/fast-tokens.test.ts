// FastTokens (XEP-0484 token bookkeeping) on the memory driver, with a clock the test moves.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { createMemoryDriver } from "../storage/memory/index.js";
import { FastTokens } from "./fast-tokens.js";
import type { AccountProvider, ScramCredentials } from "./types.js";

const H = "example.org";
const DAY = 86400_000;

function setup(options = { lifetime: 10 * 86400, rotateAfter: 5 * 86400, maxTokensPerAccount: 4 }) {
  let now = Date.UTC(2026, 0, 1);
  let creds: ScramCredentials = {
    salt: Buffer.from("salt"),
    iterations: 4096,
    storedKey: Buffer.from("k1"),
    serverKey: Buffer.from("s"),
  };
  const accounts = {
    credentialKind: () => "scram",
    scramCredentials: async () => creds,
  } as unknown as AccountProvider;
  const storage = createMemoryDriver();
  const tokens = new FastTokens(storage, accounts, Buffer.alloc(32, 7), options, () => now);
  const proves = (token: string) => (t: Buffer) => t.toString("utf8") === token;
  return {
    tokens,
    storage,
    proves,
    tick: (ms: number) => {
      now += ms;
    },
    changePassword: () => {
      creds = { ...creds, storedKey: Buffer.from("k2") };
    },
  };
}

const attempt = (agentId: string, count?: number) => ({
  agentId,
  mechanism: "HT-SHA-256-NONE",
  count,
  invalidate: false,
});

describe("FastTokens", () => {
  it("issues a token that proves itself for its agent and mechanism only, and stores no token", async () => {
    const { tokens, storage, proves } = setup();
    const issued = await tokens.issue(H, "alice", "agent-1", "HT-SHA-256-NONE");
    assert.equal(issued.token.length, 43);
    const ok = await tokens.verify(H, "alice", attempt("agent-1"), proves(issued.token));
    assert.equal(ok.ok, true);
    assert.equal((await tokens.verify(H, "alice", attempt("agent-2"), proves(issued.token))).ok, false);
    assert.equal(
      (await tokens.verify(H, "alice", { ...attempt("agent-1"), mechanism: "HT-SHA-256-EXPR" }, proves(issued.token)))
        .ok,
      false,
    );
    assert.equal((await tokens.verify(H, "bob", attempt("agent-1"), proves(issued.token))).ok, false);
    const stored = JSON.stringify([...(await storage.open(H, "fast-tokens", "map").getAll("alice"))]);
    assert.ok(!stored.includes(issued.token), "the store never holds the token");
  });

  it("the HT proof works with the token as HMAC key (what a client computes)", async () => {
    const { tokens } = setup();
    const issued = await tokens.issue(H, "alice", "a", "HT-SHA-256-NONE");
    const clientProof = createHmac("sha256", issued.token).update("Initiator").digest();
    const v = await tokens.verify(H, "alice", attempt("a"), (t) =>
      createHmac("sha256", t).update("Initiator").digest().equals(clientProof),
    );
    assert.equal(v.ok, true);
  });

  it("expires, and a password change invalidates every older token", async () => {
    const s = setup();
    const a = await s.tokens.issue(H, "alice", "a", "HT-SHA-256-NONE");
    s.tick(11 * DAY);
    assert.deepEqual(await s.tokens.verify(H, "alice", attempt("a"), s.proves(a.token)), {
      ok: false,
      reason: "expired",
    });
    const b = await s.tokens.issue(H, "alice", "b", "HT-SHA-256-NONE");
    s.changePassword();
    assert.deepEqual(await s.tokens.verify(H, "alice", attempt("b"), s.proves(b.token)), {
      ok: false,
      reason: "expired",
    });
  });

  it("counts must grow (replay), and rotation keeps the old token until the new one is used", async () => {
    const s = setup();
    const first = await s.tokens.issue(H, "alice", "a", "HT-SHA-256-NONE");
    const v1 = await s.tokens.verify(H, "alice", attempt("a", 3), s.proves(first.token));
    assert.ok(v1.ok);
    assert.equal(await s.tokens.used(H, "alice", v1, false), false, "young: no rotation");
    assert.deepEqual(await s.tokens.verify(H, "alice", attempt("a", 3), s.proves(first.token)), {
      ok: false,
      reason: "replayed",
    });
    s.tick(6 * DAY);
    const v2 = await s.tokens.verify(H, "alice", attempt("a", 4), s.proves(first.token));
    assert.ok(v2.ok);
    assert.equal(await s.tokens.used(H, "alice", v2, false), true, "due for rotation");
    const second = await s.tokens.issue(H, "alice", "a", "HT-SHA-256-NONE");
    // The success carrying the new token may be lost: the old one still works…
    assert.equal((await s.tokens.verify(H, "alice", attempt("a"), s.proves(first.token))).ok, true);
    // …until the new one is used.
    const v3 = await s.tokens.verify(H, "alice", attempt("a"), s.proves(second.token));
    assert.ok(v3.ok);
    await s.tokens.used(H, "alice", v3, false);
    assert.equal((await s.tokens.verify(H, "alice", attempt("a"), s.proves(first.token))).ok, false);
  });

  it("holds at most two tokens per agent and max_tokens_per_account per account, least recently used out first", async () => {
    const s = setup();
    for (let i = 0; i < 5; i++) await s.tokens.issue(H, "alice", "a", "HT-SHA-256-NONE");
    assert.equal((await s.tokens.list(H, "alice")).length, 2);
    for (const agent of ["b", "c", "d", "e"]) {
      s.tick(1000);
      await s.tokens.issue(H, "alice", agent, "HT-SHA-256-NONE");
    }
    const left = await s.tokens.list(H, "alice");
    assert.equal(left.length, 4);
    assert.deepEqual(left.map((t) => t.agent).sort(), ["b", "c", "d", "e"]);
  });

  it("revokes all of an account's tokens, or one agent's", async () => {
    const s = setup();
    const a = await s.tokens.issue(H, "alice", "a", "HT-SHA-256-NONE");
    await s.tokens.issue(H, "alice", "b", "HT-SHA-256-NONE");
    assert.equal(await s.tokens.revoke(H, "alice", "b"), 1);
    assert.equal((await s.tokens.verify(H, "alice", attempt("a"), s.proves(a.token))).ok, true);
    assert.equal(await s.tokens.revoke(H, "alice"), 1);
    assert.equal((await s.tokens.verify(H, "alice", attempt("a"), s.proves(a.token))).ok, false);
  });
});
