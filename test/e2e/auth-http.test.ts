// Passwords checked by an HTTP endpoint (a node:http server the test runs): the request's JSON and bearer
// token, 200 / 401 / 403 as valid / invalid, anything else or no answer within the timeout as
// temporary-auth-failure (RFC 6120 §6.5.10), the exists endpoint for offline recipients, and the cache: a
// verified password is not asked again within cache_ttl, a wrong one always is.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const TOKEN = "endpoint-token-123";
const USERS: Record<string, string> = {
  alice: "alice-http-pw",
  bob: "bob-http-pw",
  erin: "erin-http-pw",
  fay: "fay-http-pw",
};

async function outcome(ts: TestServer, user: string, password: string): Promise<string> {
  try {
    const c = await connect(ts, user, password);
    await c.stop();
    return "success";
  } catch (err) {
    return (err as { condition?: string }).condition ?? String(err);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString("utf8");
    });
    req.on("end", () => resolve(JSON.parse(body) as Record<string, string>));
  });
}

describe("HTTP endpoint authentication", () => {
  let ts: TestServer;
  let endpoint: Server;
  let mode: "normal" | "error" | "silent" = "normal";
  const requests: { path: string; body: Record<string, string>; auth: string | undefined }[] = [];
  const clients: ConnectedClient[] = [];

  before(async () => {
    endpoint = createServer(async (req, res) => {
      const body = await readJson(req);
      requests.push({ path: req.url ?? "", body, auth: req.headers.authorization });
      if (mode === "silent") return; // never answers
      if (mode === "error") return void res.writeHead(502).end();
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(500).end();
      if (req.url === "/check")
        return void res
          .writeHead(USERS[body.user ?? ""] === body.password ? 200 : body.user === "locked" ? 403 : 401)
          .end();
      if (req.url === "/exists") return void res.writeHead(body.user && body.user in USERS ? 200 : 404).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => endpoint.listen(0, "127.0.0.1", r));
    const port = (endpoint.address() as AddressInfo).port;
    ts = await startTestServer({
      auth: [
        "provider: http",
        "http:",
        `  url: http://127.0.0.1:${port}/check`,
        `  exists_url: http://127.0.0.1:${port}/exists`,
        `  token: ${TOKEN}`,
        "  timeout: 1",
      ],
    });
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
    endpoint?.closeAllConnections();
    await new Promise((r) => endpoint?.close(r));
  });

  it("sends {user, host, password} with the bearer token, and logs in on 200", async () => {
    const alice = await connect(ts, "alice", "alice-http-pw");
    clients.push(alice);
    const check = requests.find((r) => r.path === "/check" && r.body.user === "alice");
    assert.deepEqual(check?.body, { user: "alice", host: "localhost", password: "alice-http-pw" });
    assert.equal(check?.auth, `Bearer ${TOKEN}`);
  });

  it("refuses 401 and 403 with not-authorized", async () => {
    assert.equal(await outcome(ts, "alice", "wrong"), "not-authorized");
    assert.equal(await outcome(ts, "locked", "x"), "not-authorized");
  });

  it("asks the exists endpoint for offline recipients", async () => {
    const alice = clients[0] as ConnectedClient;
    await alice.xmpp.send(xml("message", { to: "ghost@localhost", id: "h1", type: "chat" }, xml("body", {}, "?")));
    assert.equal((await alice.waitFor((s) => s.attrs.id === "h1")).attrs.type, "error");
    assert.ok(requests.some((r) => r.path === "/exists" && r.body.user === "ghost"));
  });

  it("caches a verified password for cache_ttl, never a wrong one", async () => {
    assert.equal(await outcome(ts, "bob", "bob-http-pw"), "success");
    const asked = () => requests.filter((r) => r.path === "/check" && r.body.user === "bob").length;
    const once = asked();
    assert.equal(await outcome(ts, "bob", "bob-http-pw"), "success");
    assert.equal(asked(), once, "the second login was answered from the cache");
    assert.equal(await outcome(ts, "bob", "bob-wrong"), "not-authorized");
    assert.equal(await outcome(ts, "bob", "bob-wrong"), "not-authorized");
    assert.equal(asked(), once + 2, "each wrong password reaches the endpoint");
  });

  it("answers temporary-auth-failure for an error status and for no answer within the timeout, then recovers", async () => {
    mode = "error";
    assert.equal(await outcome(ts, "erin", "erin-http-pw"), "temporary-auth-failure");
    mode = "silent";
    const started = Date.now();
    assert.equal(await outcome(ts, "fay", "fay-http-pw"), "temporary-auth-failure");
    assert.ok(Date.now() - started < 5000);
    mode = "normal";
    assert.equal(await outcome(ts, "erin", "erin-http-pw"), "success");
  });

  it("refuses what the endpoint cannot do: the admin API's create is 409, not 500", async () => {
    await assert.rejects(
      ts.server.core.admin.createUser("newbie@localhost", "pw-123456"),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "conflict");
        assert.match(err.message, /managed in an HTTP service/);
        return true;
      },
    );
  });
});
