// The admin HTTP API under /admin/api over real HTTP against a real server, with @xmpp/client users on the
// other side: every endpoint; bad, expired and revoked tokens (401); missing scopes and CSRF (403); malformed
// bodies and queries (400 with the zod issues), wrong media type (415), oversized bodies (413); paging
// limits; a kick and a disabled account as the client sees them; the OpenAPI document; the address allowlist.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN_SCOPES, type AdminScope } from "../../src/admin/types.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_USER = "http://jabber.org/protocol/muc#user";
const NS_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_XDATA = "jabber:x:data";
const NS_ROSTER = "jabber:iq:roster";

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

function api(ts: TestServer) {
  return async (
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      raw?: string;
      contentType?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.raw !== undefined || options.body !== undefined) {
      body = options.raw ?? JSON.stringify(options.body);
      headers["content-type"] = options.contentType ?? "application/json";
    }
    const res = await fetch(`http://127.0.0.1:${ts.httpPort}/admin/api${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    const json = (res.headers.get("content-type") ?? "").startsWith("application/json");
    return { status: res.status, body: text === "" ? undefined : json ? JSON.parse(text) : text, headers: res.headers };
  };
}

async function token(ts: TestServer, scopes: AdminScope[], expiresInDays?: number): Promise<string> {
  return (
    await ts.server.apiTokens.create({
      scopes,
      name: "test",
      ...(expiresInDays !== undefined ? { expiresInDays } : {}),
    })
  ).token;
}

/** The stream error condition the client gets when the server ends its stream. */
function streamErrorOf(c: ConnectedClient): Promise<string> {
  return new Promise((resolve) => c.xmpp.on("error", (err: { condition?: string }) => resolve(err.condition ?? "")));
}

async function available(c: ConnectedClient): Promise<void> {
  await c.xmpp.send(xml("presence"));
  await c.waitFor((s) => s.is("presence") && s.attrs.from === c.jid);
}

describe("admin HTTP API", () => {
  let ts: TestServer;
  let call: ReturnType<typeof api>;
  let all: string;
  const clients: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer({ yaml: "admin_api: { max_page_size: 3, max_body_bytes: 2048 }" });
    call = api(ts);
    all = await token(ts, [...ADMIN_SCOPES]);
    for (const u of ["alice", "bob", "carol", "dave", "erin"]) await ts.addUser(u, `${u}-pw`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts.stop();
  });

  async function online(user: string, password = `${user}-pw`, resource?: string): Promise<ConnectedClient> {
    const c = await connect(ts, user, password, resource ? { resource } : {});
    clients.push(c);
    return c;
  }

  it("serves an OpenAPI 3.1 document generated from the schemas that validate requests", async () => {
    const r = await call("GET", "/openapi.json");
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, "3.1.0");
    for (const [path, methods] of Object.entries({
      "/status": ["get"],
      "/stats/history": ["get"],
      "/users": ["get", "post"],
      "/users/{jid}": ["get", "delete"],
      "/users/{jid}/password": ["put"],
      "/users/{jid}/disabled": ["put"],
      "/users/{jid}/roster": ["get"],
      "/sessions": ["get"],
      "/sessions/{jid}": ["delete"],
      "/cluster/status": ["get"],
      "/cluster/sessions": ["get"],
      "/rooms": ["get"],
      "/rooms/{jid}": ["get", "delete"],
      "/s2s": ["get"],
      "/announce": ["post"],
      "/messages": ["post"],
      "/motd/{host}": ["get", "put", "delete"],
      "/reload": ["post"],
    })) {
      for (const m of methods) assert.ok(r.body.paths[path]?.[m], `${m} ${path} documented`);
    }
    const create = r.body.paths["/users"].post.requestBody.content["application/json"].schema;
    assert.deepEqual(create.required, ["jid", "password"]);
    const limit = r.body.paths["/users"].get.parameters.find((p: { name: string }) => p.name === "limit");
    assert.equal(limit.schema.maximum, 3, "the configured max_page_size is the documented maximum");
  });

  it("401 without credentials, with a malformed, unknown, expired or revoked token", async () => {
    const none = await call("GET", "/status");
    assert.equal(none.status, 401);
    assert.equal(none.body.error, "unauthorized");
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal((await call("GET", "/status", { token: "not-a-token" })).status, 401);
    const real = await token(ts, ["server:read"]);
    const forged = `${real.slice(0, -4)}AAAA`;
    assert.equal((await call("GET", "/status", { token: forged })).status, 401, "a wrong secret for a real id");
    assert.equal((await call("GET", "/status", { headers: { authorization: `Basic ${real}` } })).status, 401);
    const expired = await token(ts, ["server:read"], 1e-9);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await call("GET", "/status", { token: expired })).status, 401);
    assert.equal((await call("GET", "/status", { token: real })).status, 200);
    const id = real.slice("natter_".length, "natter_".length + 12);
    assert.equal(await ts.server.apiTokens.revoke(id), true);
    assert.equal((await call("GET", "/status", { token: real })).status, 401, "revoked takes effect at once");
    assert.ok(ts.logs.some((l) => l.msg === "admin API request without valid credentials"));
  });

  it("403 for a missing scope; 404 for an unknown endpoint; 405 for a wrong method", async () => {
    const reader = await token(ts, ["users:read"]);
    assert.equal((await call("GET", "/users", { token: reader })).status, 200);
    const denied = await call("POST", "/users", { token: reader, body: { jid: "zed@localhost", password: "pw" } });
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /users:write/);
    assert.equal((await call("GET", "/sessions", { token: reader })).status, 403);
    assert.equal((await call("DELETE", "/users/alice@localhost", { token: reader })).status, 403);
    assert.equal(await ts.server.core.accounts.userExists("localhost", "zed"), false);
    assert.equal((await call("GET", "/nothing", { token: all })).status, 404);
    const wrong = await call("PATCH", "/status", { token: all });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "GET");
  });

  it("400 with the zod issues for malformed bodies and queries; 415 for a body that is not JSON; 413 over max_body_bytes", async () => {
    const missing = await call("POST", "/users", { token: all, body: { jid: "zed@localhost" } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, "bad-request");
    assert.deepEqual(missing.body.issues[0].path, ["body", "password"]);
    const extra = await call("POST", "/users", {
      token: all,
      body: { jid: "zed@localhost", password: "x", admin: true },
    });
    assert.equal(extra.status, 400, "unknown fields are refused");
    assert.equal((await call("POST", "/users", { token: all, raw: "{not json" })).status, 400);
    assert.equal((await call("POST", "/users", { token: all, raw: "[]" })).status, 400);
    assert.equal(
      (await call("PUT", "/users/alice@localhost/disabled", { token: all, body: { disabled: "yes" } })).status,
      400,
    );
    assert.equal(
      (await call("POST", "/users", { token: all, raw: "jid=a", contentType: "application/x-www-form-urlencoded" }))
        .status,
      415,
    );
    assert.equal((await call("GET", "/users?limit=0", { token: all })).status, 400);
    assert.equal((await call("GET", "/users?limit=abc", { token: all })).status, 400);
    assert.equal(
      (await call("GET", "/users?color=red", { token: all })).status,
      400,
      "unknown query parameters are refused",
    );
    assert.equal((await call("GET", "/users/%E0%A4%A", { token: all })).status, 400, "bad percent-encoding");
    const big = await call("POST", "/messages", {
      token: all,
      body: { to: "alice@localhost", body: "x".repeat(4000) },
    });
    assert.equal(big.status, 413);
    assert.equal(
      (await call("POST", "/users", { token: all, body: { jid: "not a jid@", password: "x" } })).status,
      400,
    );
    assert.equal(
      (await call("POST", "/users", { token: all, body: { jid: "zed@elsewhere.example", password: "x" } })).status,
      400,
    );
  });

  it("pages users within max_page_size, with search; creates, finds, refuses duplicates (409) and deletes", async () => {
    const over = await call("GET", "/users?limit=4", { token: all });
    assert.equal(over.status, 400, "a limit over admin_api.max_page_size");
    const page1 = await call("GET", "/users?limit=3", { token: all });
    assert.equal(page1.status, 200);
    assert.deepEqual(
      page1.body.items.map((u: { jid: string }) => u.jid),
      ["alice@localhost", "bob@localhost", "carol@localhost"],
    );
    assert.equal(page1.body.total, 5);
    const page2 = await call("GET", "/users?limit=3&offset=3&host=localhost", { token: all });
    assert.deepEqual(
      page2.body.items.map((u: { jid: string }) => u.jid),
      ["dave@localhost", "erin@localhost"],
    );
    const found = await call("GET", "/users?search=RI", { token: all });
    assert.deepEqual(
      found.body.items.map((u: { jid: string }) => u.jid),
      ["erin@localhost"],
    );
    assert.equal((await call("GET", "/users?host=nowhere.example", { token: all })).status, 404);

    const created = await call("POST", "/users", {
      token: all,
      body: { jid: "frank@localhost", password: "frank-pw" },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, { jid: "frank@localhost", disabled: false, sessions: 0 });
    assert.equal(
      (await call("POST", "/users", { token: all, body: { jid: "frank@localhost", password: "x" } })).status,
      409,
    );
    const frank = await online("frank", "frank-pw");
    const detail = await call("GET", `/users/${encodeURIComponent("frank@localhost")}`, { token: all });
    assert.equal(detail.status, 200);
    assert.equal(detail.body.sessions, 1);
    assert.equal(detail.body.resources[0].jid, frank.jid);
    const ended = streamErrorOf(frank);
    assert.equal((await call("DELETE", "/users/frank@localhost", { token: all })).status, 204);
    assert.equal(await ended, "not-authorized", "the deleted account's session ends");
    assert.equal((await call("GET", "/users/frank@localhost", { token: all })).status, 404);
    assert.equal((await call("DELETE", "/users/frank@localhost", { token: all })).status, 404);
    const change = ts.logs.find(
      (l) => l.msg === "admin API change" && l.op === "DELETE /users/{jid}" && l.status === 204,
    );
    assert.equal(change?.target, "frank@localhost");
    assert.match(String(change?.admin), /^token:/);
    assert.ok(!JSON.stringify(ts.logs).includes("frank-pw"), "no password in any log line");
  });

  it("sets a password: the old one stops working, the new one works", async () => {
    assert.equal(
      (await call("PUT", "/users/dave@localhost/password", { token: all, body: { password: "new-dave" } })).status,
      204,
    );
    await assert.rejects(connect(ts, "dave", "dave-pw"));
    const dave = await online("dave", "new-dave");
    assert.ok(dave.jid.startsWith("dave@localhost/"));
    assert.equal(
      (await call("PUT", "/users/nobody@localhost/password", { token: all, body: { password: "x" } })).status,
      404,
    );
  });

  it("a disabled account's session ends and its logins are refused with account-disabled until enabled again", async () => {
    const carol = await online("carol");
    const ended = streamErrorOf(carol);
    assert.equal(
      (await call("PUT", "/users/carol@localhost/disabled", { token: all, body: { disabled: true } })).status,
      204,
    );
    assert.equal(await ended, "not-authorized");
    const listed = await call("GET", "/users?search=carol", { token: all });
    assert.equal(listed.body.items[0].disabled, true);
    await assert.rejects(
      connect(ts, "carol", "carol-pw"),
      (err: { condition?: string }) => err.condition === "account-disabled",
    );
    await assert.rejects(
      connect(ts, "carol", "wrong"),
      (err: { condition?: string }) => err.condition === "not-authorized",
      "a wrong password learns nothing of the flag",
    );
    assert.equal(
      (await call("PUT", "/users/carol@localhost/password", { token: all, body: { password: "carol-pw2" } })).status,
      204,
    );
    await assert.rejects(
      connect(ts, "carol", "carol-pw2"),
      (err: { condition?: string }) => err.condition === "account-disabled",
      "a new password does not re-enable",
    );
    assert.equal(
      (await call("PUT", "/users/carol@localhost/disabled", { token: all, body: { disabled: false } })).status,
      204,
    );
    await online("carol", "carol-pw2");
  });

  it("lists sessions with transport, TLS and SM state, and kicks them (the client sees the stream error)", async () => {
    const erin = await online("erin", "erin-pw", "laptop");
    await available(erin);
    const listed = await call("GET", `/sessions?jid=${encodeURIComponent("erin@localhost")}`, { token: all });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.length, 1);
    const s = listed.body[0];
    assert.equal(s.jid, "erin@localhost/laptop");
    assert.equal(s.transport, "tcp");
    assert.equal(s.secure, true);
    assert.equal(s.available, true);
    assert.equal(s.address, "127.0.0.1");
    assert.ok(["off", "on"].includes(s.streamManagement));
    assert.ok(Date.now() - s.since < 60_000);
    const everyone = await call("GET", "/sessions", { token: all });
    assert.ok(everyone.body.length >= 2);
    // Not clustered: the cluster-wide view is this node's alone (node "").
    const cluster = await call("GET", `/cluster/sessions?jid=${encodeURIComponent("erin@localhost")}`, { token: all });
    assert.equal(cluster.status, 200);
    const listedOnNodes = cluster.body.sessions.map((x: { jid: string; node: string }) => `${x.node}|${x.jid}`);
    assert.deepEqual(listedOnNodes, ["|erin@localhost/laptop"]);
    assert.deepEqual(cluster.body.unanswered, []);
    const clusterStatus = await call("GET", "/cluster/status", { token: all });
    assert.equal(clusterStatus.body.nodes.length, 1);
    assert.equal(clusterStatus.body.sessions, everyone.body.length);
    const ended = streamErrorOf(erin);
    const kicked = await call("DELETE", `/sessions/${encodeURIComponent("erin@localhost/laptop")}?reason=maintenance`, {
      token: all,
    });
    assert.equal(kicked.status, 200);
    assert.deepEqual(kicked.body, { count: 1 });
    assert.equal(await ended, "policy-violation");
    assert.equal((await call("DELETE", "/sessions/erin@localhost", { token: all })).status, 404, "no session left");
    assert.equal((await call("GET", "/sessions?jid=@@", { token: all })).status, 400);
  });

  it("tells a WebSocket session from a TCP one", async () => {
    const ws = await connect(ts, "erin", "erin-pw", { resource: "browser", websocket: "wss" });
    clients.push(ws);
    const listed = await call("GET", `/sessions?jid=${encodeURIComponent("erin@localhost/browser")}`, { token: all });
    assert.equal(listed.body.length, 1);
    assert.equal(listed.body[0].transport, "websocket");
    assert.equal(listed.body[0].secure, true, "wss");
    const status = await call("GET", "/status", { token: all });
    assert.ok(status.body.sessions.byTransport.websocket >= 1);
    await ws.stop();
  });

  it("reads a roster", async () => {
    const alice = await online("alice");
    await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set", id: "roster1" },
        xml(
          "query",
          { xmlns: NS_ROSTER },
          xml("item", { jid: "bob@localhost", name: "Bob" }, xml("group", {}, "Friends")),
        ),
      ),
    );
    const r = await call("GET", "/users/alice@localhost/roster", { token: all });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, [{ jid: "bob@localhost", name: "Bob", subscription: "none", groups: ["Friends"] }]);
    assert.equal((await call("GET", "/users/nobody@localhost/roster", { token: all })).status, 404);
  });

  it("lists, shows and destroys rooms (occupants get the XEP-0045 §10.9 destroy presence)", async () => {
    const bob = await online("bob");
    const room = "ops@conference.localhost";
    await bob.xmpp.send(xml("presence", { to: `${room}/bob` }, xml("x", { xmlns: NS_MUC })));
    await bob.waitFor((s) => s.is("presence") && s.attrs.from === `${room}/bob`);
    const field = (name: string, value: string) => xml("field", { var: name }, xml("value", {}, value));
    const form = xml(
      "x",
      { xmlns: NS_XDATA, type: "submit" },
      field("muc#roomconfig_roomname", "Ops"),
      field("muc#roomconfig_passwordprotectedroom", "1"),
      field("muc#roomconfig_roomsecret", "s3cret"),
    );
    await bob.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: room, id: "config1" }, xml("query", { xmlns: NS_OWNER }, form)),
    );
    const list = await call("GET", "/rooms", { token: all });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.find((r: { jid: string }) => r.jid === room),
      {
        jid: room,
        name: "Ops",
        occupants: 1,
        persistent: false,
        public: true,
        membersOnly: false,
        passwordProtected: true,
      },
    );
    assert.equal((await call("GET", "/rooms?domain=conference.localhost", { token: all })).body.length, 1);
    assert.deepEqual((await call("GET", "/rooms?domain=other.localhost", { token: all })).body, []);
    const detail = await call("GET", `/rooms/${room}`, { token: all });
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.body.occupantList, [
      { nick: "bob", role: "moderator", affiliation: "owner", jid: bob.jid },
    ]);
    assert.equal(detail.body.config["muc#roomconfig_roomname"], "Ops");
    assert.equal(detail.body.config["muc#roomconfig_passwordprotectedroom"], true);
    assert.ok(!JSON.stringify(detail.body).includes("s3cret"), "the room password is not shown");
    const gone = bob.waitFor(
      (s: XmlElement) => s.is("presence") && s.attrs.type === "unavailable" && s.attrs.from === `${room}/bob`,
    );
    assert.equal(
      (await call("DELETE", `/rooms/${room}?reason=${encodeURIComponent("closing down")}`, { token: all })).status,
      204,
    );
    const destroy = (await gone).getChild("x", NS_USER)?.getChild("destroy");
    assert.equal(destroy?.getChildText("reason"), "closing down");
    assert.equal((await call("GET", `/rooms/${room}`, { token: all })).status, 404);
    assert.equal((await call("DELETE", `/rooms/${room}`, { token: all })).status, 404);
  });

  it("announces, sends messages and keeps the message of the day", async () => {
    const bob = clients.find((c) => c.jid.startsWith("bob@")) ?? (await online("bob"));
    await available(bob);
    const announced = await call("POST", "/announce", {
      token: all,
      body: { host: "localhost", body: "maintenance at 18:00", subject: "Notice" },
    });
    assert.equal(announced.status, 200);
    assert.ok(announced.body.count >= 1);
    const headline = await bob.waitFor((s) => s.is("message") && s.getChildText("body") === "maintenance at 18:00");
    assert.equal(headline.attrs.from, "localhost", "from the host, as the announcements module sends them");
    assert.equal(headline.getChildText("subject"), "Notice");
    assert.equal(
      (await call("POST", "/announce", { token: all, body: { host: "nowhere.example", body: "x" } })).status,
      404,
    );

    assert.equal(
      (await call("POST", "/messages", { token: all, body: { to: "bob@localhost", body: "hello from the admin" } }))
        .status,
      202,
    );
    const chat = await bob.waitFor((s) => s.is("message") && s.getChildText("body") === "hello from the admin");
    assert.equal(chat.attrs.from, "localhost");

    assert.equal((await call("GET", "/motd/localhost", { token: all })).status, 404);
    assert.equal((await call("PUT", "/motd/localhost", { token: all, body: { body: "welcome back" } })).status, 204);
    assert.deepEqual((await call("GET", "/motd/localhost", { token: all })).body, { body: "welcome back" });
    await bob.waitFor((s) => s.is("message") && s.getChildText("body") === "welcome back");
    assert.equal((await call("DELETE", "/motd/localhost", { token: all })).status, 204);
    assert.equal((await call("GET", "/motd/localhost", { token: all })).status, 404);
  });

  it("status, stats history, s2s links and reload", async () => {
    const status = await call("GET", "/status", { token: all });
    assert.equal(status.status, 200);
    assert.deepEqual(status.body.hosts, ["localhost"]);
    assert.equal(status.body.sessions.total, ts.server.core.sessions.count);
    const t = status.body.sessions.byTransport;
    assert.equal(t.tcp + t.websocket + t.bosh, ts.server.core.sessions.count);
    assert.ok(status.body.memory.rss > 0);
    assert.deepEqual((await call("GET", "/stats/history", { token: all })).body, []);
    assert.deepEqual((await call("GET", "/s2s", { token: all })).body, []);
    // The test server runs from its config file: reloading the unchanged file changes nothing.
    const reload = await call("POST", "/reload", { token: all });
    assert.equal(reload.status, 200);
    assert.deepEqual(reload.body, { ok: true, changes: [] });
  });

  it("a console session (cookie principal with a CSRF token) must send X-CSRF-Token on changes", async () => {
    const remove = ts.server.adminApi.addAuthenticator({
      authenticate: async (headers) =>
        headers.cookie === "session=ok"
          ? { name: "admin@localhost", scopes: new Set(ADMIN_SCOPES), csrfToken: "csrf-123" }
          : undefined,
    });
    try {
      const cookie = { cookie: "session=ok" };
      assert.equal((await call("GET", "/status", { headers: cookie })).status, 200, "reads need no CSRF token");
      const without = await call("PUT", "/motd/localhost", { headers: cookie, body: { body: "x" } });
      assert.equal(without.status, 403);
      assert.match(without.body.message, /CSRF/);
      assert.equal(
        (
          await call("PUT", "/motd/localhost", {
            headers: { ...cookie, "x-csrf-token": "csrf-12X" },
            body: { body: "x" },
          })
        ).status,
        403,
      );
      assert.equal(
        (
          await call("PUT", "/motd/localhost", {
            headers: { ...cookie, "x-csrf-token": "csrf-123" },
            body: { body: "x" },
          })
        ).status,
        204,
      );
      assert.ok(ts.logs.some((l) => l.msg === "admin API change" && l.admin === "admin@localhost"));
    } finally {
      remove();
    }
    assert.equal((await call("GET", "/status", { headers: { cookie: "session=ok" } })).status, 401);
  });
});

describe("admin HTTP API: addresses", () => {
  it("answers 403 to an address outside admin_api.allowed_addresses, and nothing when disabled", async () => {
    const ts = await startTestServer({ yaml: 'admin_api: { allowed_addresses: ["192.0.2.0/24"] }' });
    try {
      const all = await token(ts, [...ADMIN_SCOPES]);
      const r = await api(ts)("GET", "/status", { token: all });
      assert.equal(r.status, 403);
      assert.ok(ts.logs.some((l) => l.msg === "admin API request from an address not in admin_api.allowed_addresses"));
    } finally {
      await ts.stop();
    }
    const off = await startTestServer({ yaml: "admin_api: { enabled: false }" });
    try {
      const r = await fetch(`http://127.0.0.1:${off.httpPort}/admin/api/status`);
      assert.equal(r.status, 404);
    } finally {
      await off.stop();
    }
  });
});
