import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryDriver } from "../storage/memory/index.js";
import { ApiTokens, BearerTokenAuthenticator, parseScopes } from "./api-tokens.js";
import { ADMIN_SCOPES } from "./types.js";

describe("API tokens", () => {
  it("stores only a hash, verifies the exact token, expires and revokes", async () => {
    const storage = createMemoryDriver();
    const tokens = new ApiTokens(storage);
    const { token, info } = await tokens.create({ scopes: ["users:read"], name: "ci" });
    assert.match(token, /^natter_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    const secret = token.slice(`natter_${info.id}_`.length);
    const stored = JSON.stringify(await storage.open("", "admin-api-tokens", "keyval").get(info.id));
    assert.ok(!stored.includes(secret), "the secret is not stored");
    assert.deepEqual(await tokens.verify(token), info);
    assert.equal(await tokens.verify(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`), undefined);
    assert.equal(await tokens.verify(token.replace(info.id, "AAAAAAAAAAAA")), undefined);
    assert.equal(await tokens.verify(""), undefined);
    const expired = await tokens.create({ scopes: ["users:read"], expiresInDays: -1 });
    assert.equal(await tokens.verify(expired.token), undefined);
    assert.deepEqual((await tokens.list()).map((t) => t.id), [info.id, expired.info.id]);
    assert.equal(await tokens.revoke(info.id), true);
    assert.equal(await tokens.revoke(info.id), false);
    assert.equal(await tokens.verify(token), undefined);
  });

  it("authenticates a Bearer header only", async () => {
    const tokens = new ApiTokens(createMemoryDriver());
    const { token, info } = await tokens.create({ scopes: ["rooms:read", "rooms:write"] });
    const auth = new BearerTokenAuthenticator(tokens);
    const principal = await auth.authenticate({ authorization: `Bearer ${token}` });
    assert.equal(principal?.name, `token:${info.id}`);
    assert.deepEqual([...principal!.scopes], ["rooms:read", "rooms:write"]);
    assert.equal(principal?.csrfToken, undefined, "a bearer token is not ambient: no CSRF token needed");
    assert.equal(await auth.authenticate({ authorization: token }), undefined);
    assert.equal(await auth.authenticate({ cookie: token }), undefined);
  });

  it("parses scope lists", () => {
    assert.deepEqual(parseScopes("users:read, sessions:write,users:read"), ["users:read", "sessions:write"]);
    assert.deepEqual(parseScopes("all"), [...ADMIN_SCOPES]);
    assert.throws(() => parseScopes("users:read,root"), /unknown scope "root"/);
    assert.throws(() => parseScopes(""), /at least one scope/);
  });
});
