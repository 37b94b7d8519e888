// The admin console at /admin over Natter's real HTTP(S) listeners: the page's headers (CSP without inline
// script, no framing), the login (only admins, the XMPP login throttle shared with SASL), the session cookie
// and its CSRF token, logout, allowed addresses; then in real Chromium (Debian's, through playwright-core):
// a wrong password refused, an admin logs in, finds a user, kicks their session (an @xmpp/client client sees
// its stream end), destroys a room (a MUC occupant sees the destroy), and screenshots of the views.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type RunningBrowser, startChromium } from "../helpers/chromium.js";
import { rawHttp } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { connect, xml } from "../helpers/xmpp-client.js";

/** NATTER_SCREENSHOTS=1 refreshes docs/screenshots/; otherwise they go to a temporary directory. */
const SCREENSHOTS = process.env.NATTER_SCREENSHOTS
  ? join(import.meta.dirname, "..", "..", "docs", "screenshots")
  : mkdtempSync(join(tmpdir(), "natter-shots-"));
const ADMINS = "admins: ['root@localhost']";
const ROOM = "lobby@conference.localhost";

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/** A JSON request to the console or API, as the page's script makes it (fetch sends Host 127.0.0.1:port). */
async function call(base: string, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] ??= "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    redirect: "manual",
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, headers: res.headers, json };
}

/** Logs in; the cookie pair to send back and the CSRF token. */
async function logIn(base: string, jid: string, password: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await call(base, "POST", "/admin/login", { body: { jid, password } });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0] as string, csrf: res.json.csrfToken as string, setCookie };
}

describe("admin console over HTTP", { timeout: 60_000 }, () => {
  let ts: TestServer;
  let https: string;

  before(async () => {
    ts = await startTestServer({ yaml: ADMINS });
    await ts.addUser("root", "root-secret");
    await ts.addUser("alice", "alice-secret");
    https = `https://127.0.0.1:${ts.httpsPort}`;
  });
  after(async () => {
    await ts?.stop();
  });

  it("serves the page with a strict CSP, no framing and no inline script", async () => {
    const res = await rawHttp({ port: ts.httpsPort as number, path: "/admin/", secure: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(res.headers["x-frame-options"], "DENY");
    assert.equal(res.headers["cache-control"], "no-store");
    const csp = String(res.headers["content-security-policy"]);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe/);
    // Every script is a file; no event-handler or style attribute the CSP would block.
    for (const m of res.body.matchAll(/<script([^>]*)>/g)) assert.match(m[1] as string, /\ssrc="assets\//);
    assert.doesNotMatch(res.body, /\son[a-z]+=|\sstyle=/i);
    const js = await rawHttp({ port: ts.httpsPort as number, path: "/admin/assets/console.js", secure: true });
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.doesNotMatch(js.body, /innerHTML|eval\(|new Function/, "the script builds the page from text nodes only");
    const css = await rawHttp({ port: ts.httpsPort as number, path: "/admin/assets/console.css", secure: true });
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    // /admin goes to /admin/ (relative URLs), plain HTTP to HTTPS (the password never in clear).
    assert.equal((await rawHttp({ port: ts.httpsPort as number, path: "/admin", secure: true })).headers.location, "/admin/");
    const plain = await rawHttp({ port: ts.httpPort as number, path: "/admin/" });
    assert.equal(plain.status, 308);
    assert.equal(plain.headers.location, `https://localhost:${ts.httpsPort}/admin/`);
    for (const path of ["/admin/assets/..%2findex.html", "/admin/assets/%2e%2e/index.html", "/admin/assets/", "/admin/assets/.x.js"]) {
      assert.equal((await rawHttp({ port: ts.httpsPort as number, path, secure: true })).status, 404, path);
    }
    assert.equal((await rawHttp({ port: ts.httpsPort as number, path: "/admin/nothing", secure: true })).status, 404);
    // A name that is not ours (DNS rebinding) gets no page.
    assert.equal((await rawHttp({ port: ts.httpsPort as number, path: "/admin/", secure: true, host: "evil.example" })).status, 421);
    // A host added by a reload is one of ours from then on.
    const hostName = (host: string) => rawHttp({ port: ts.httpsPort as number, path: "/admin/", secure: true, host }).then((r) => r.status);
    assert.equal(await hostName("chat.example.net"), 421);
    writeFileSync(ts.configPath, ts.configYaml.replace('hosts: ["localhost"]', 'hosts: ["localhost", "chat.example.net"]'));
    assert.equal((await ts.server.reload()).ok, true);
    assert.equal(await hostName("chat.example.net"), 200);
    writeFileSync(ts.configPath, ts.configYaml);
    assert.equal((await ts.server.reload()).ok, true);
    assert.equal(await hostName("chat.example.net"), 421);
  });

  it("refuses a wrong password, an unknown user and a non-admin with the same answer", async () => {
    const answers = [
      await call(https, "POST", "/admin/login", { body: { jid: "root@localhost", password: "wrong" } }),
      await call(https, "POST", "/admin/login", { body: { jid: "nobody@localhost", password: "x" } }),
      await call(https, "POST", "/admin/login", { body: { jid: "alice@localhost", password: "alice-secret" } }),
      await call(https, "POST", "/admin/login", { body: { jid: "not a jid@@", password: "x" } }),
    ];
    for (const res of answers) {
      assert.equal(res.status, 401);
      assert.equal(res.json.error, "wrong JID or password, or not an administrator");
      assert.equal(res.headers.get("set-cookie"), null);
    }
    assert.ok(ts.logs.some((l) => l.msg === "admin console login failed" && l.user === "alice@localhost"));
    // A disabled admin account cannot log in either.
    await ts.server.core.accounts.setDisabled("localhost", "root", true);
    const disabled = await call(https, "POST", "/admin/login", { body: { jid: "root@localhost", password: "root-secret" } });
    await ts.server.core.accounts.setDisabled("localhost", "root", false);
    assert.equal(disabled.status, 401);
    assert.equal(disabled.json.error, "wrong JID or password, or not an administrator");
  });

  it("refuses malformed and cross-site logins", async () => {
    const form = await call(https, "POST", "/admin/login", {
      body: "jid=root%40localhost&password=root-secret",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.equal(form.status, 415, "a cross-site HTML form cannot post JSON");
    assert.equal((await call(https, "POST", "/admin/login", { body: "{not json" })).status, 400);
    assert.equal((await call(https, "POST", "/admin/login", { body: { jid: 1, password: [] } })).status, 400);
    const foreign = await call(https, "POST", "/admin/login", {
      body: { jid: "root@localhost", password: "root-secret" },
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403);
    assert.equal((await call(https, "GET", "/admin/login")).status, 405);
    const huge = await call(https, "POST", "/admin/login", { body: { jid: "root@localhost", password: "x".repeat(20_000) } });
    assert.equal(huge.status, 413);
  });

  it("logs an admin in with a session cookie and a CSRF token, and out only with the token", async () => {
    const { cookie, csrf, setCookie } = await logIn(https, " root@LOCALHOST ", "root-secret");
    assert.match(setCookie, /^natter_admin=[A-Za-z0-9_-]{43}; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    const session = await call(https, "GET", "/admin/session", { headers: { Cookie: cookie } });
    assert.deepEqual(session.json, { jid: "root@localhost", csrfToken: csrf });
    assert.equal((await call(https, "GET", "/admin/session")).status, 401);
    // Over plain HTTP (no HTTPS redirect for the JSON endpoints) the cookie is not Secure.
    const plain = await logIn(`http://127.0.0.1:${ts.httpPort}`, "root@localhost", "root-secret");
    assert.doesNotMatch(plain.setCookie, /Secure/);

    // Logout is a change: without the CSRF token (or with another session's) it is refused.
    const noToken = await call(https, "POST", "/admin/logout", { headers: { Cookie: cookie } });
    assert.equal(noToken.status, 403);
    const otherToken = await call(https, "POST", "/admin/logout", { headers: { Cookie: cookie, "X-CSRF-Token": plain.csrf } });
    assert.equal(otherToken.status, 403);
    assert.equal((await call(https, "GET", "/admin/session", { headers: { Cookie: cookie } })).status, 200);
    const out = await call(https, "POST", "/admin/logout", { headers: { Cookie: cookie, "X-CSRF-Token": csrf } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get("set-cookie") ?? "", /^natter_admin=; Path=\/admin; .*Max-Age=0/);
    assert.equal((await call(https, "GET", "/admin/session", { headers: { Cookie: cookie } })).status, 401);
  });
});

describe("admin console limits", { timeout: 60_000 }, () => {
  it("counts failed console logins in the XMPP login throttle", async () => {
    const ts = await startTestServer({
      yaml: `${ADMINS}\nauth:\n  throttle:\n    per_ip: { delay_after: 0, attempts: 3, window: 600 }`,
      defaultThrottle: true,
    });
    try {
      await ts.addUser("root", "root-secret");
      const https = `https://127.0.0.1:${ts.httpsPort}`;
      for (let i = 0; i < 3; i++) {
        assert.equal((await call(https, "POST", "/admin/login", { body: { jid: "root@localhost", password: `guess${i}` } })).status, 401);
      }
      // The right password no longer helps from this address: the form is not a guessing oracle.
      const right = await call(https, "POST", "/admin/login", { body: { jid: "root@localhost", password: "root-secret" } });
      assert.equal(right.status, 429);
      assert.equal(right.json.error, "too many failed attempts from your address; try again later");
      // Nor does XMPP: one throttle for both.
      await assert.rejects(connect(ts, "root", "root-secret"));
      assert.ok(ts.logs.some((l) => l.msg === "login throttle: refusing an address"));
    } finally {
      await ts.stop();
    }
  });

  it("answers only admin_api.allowed_addresses, and nothing when it or the API is turned off", async () => {
    const ts = await startTestServer({ yaml: `${ADMINS}\nadmin_api: { allowed_addresses: ["192.0.2.0/24"] }` });
    try {
      assert.equal((await rawHttp({ port: ts.httpsPort as number, path: "/admin/", secure: true })).status, 403);
      const https = `https://127.0.0.1:${ts.httpsPort}`;
      assert.equal((await call(https, "POST", "/admin/login", { body: { jid: "root@localhost", password: "x" } })).status, 403);
      assert.ok(ts.logs.some((l) => /admin_api\.allowed_addresses/.test(String(l.msg))));
    } finally {
      await ts.stop();
    }
    const off = await startTestServer({ yaml: `${ADMINS}\nadmin_console: { enabled: false }` });
    try {
      assert.equal((await rawHttp({ port: off.httpsPort as number, path: "/admin/", secure: true })).status, 404);
      assert.equal(off.server.adminConsole, undefined);
    } finally {
      await off.stop();
    }
    // Without the API the page could do nothing: it is not served, and the log says why.
    const noApi = await startTestServer({ yaml: `${ADMINS}\nadmin_api: { enabled: false }` });
    try {
      assert.equal((await rawHttp({ port: noApi.httpsPort as number, path: "/admin/", secure: true })).status, 404);
      assert.ok(noApi.logs.some((l) => l.level === 40 && /admin_api is off/.test(String(l.msg))));
    } finally {
      await noApi.stop();
    }
  });
});

/** One browser tab, with what it did wrong (page errors, CSP reports, requests elsewhere). */
interface Tab {
  page: Page;
  problems: string[];
}

describe("admin console in chromium", { timeout: 120_000 }, () => {
  let ts: TestServer;
  let chromiumRun: RunningBrowser | undefined;
  let browser: Browser | undefined;
  let origin: string;

  before(async () => {
    ts = await startTestServer({ yaml: ADMINS });
    for (const u of ["root", "alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-secret`);
    origin = `https://localhost:${ts.httpsPort}`;
    chromiumRun = await startChromium();
    browser = chromiumRun.browser;
  });

  after(async () => {
    await chromiumRun?.stop();
    await ts?.stop();
  });

  async function openTab(): Promise<Tab> {
    const context = await (browser as Browser).newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    page.on("request", (r) => {
      if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith("data:")) problems.push(`foreign request: ${r.url()}`);
    });
    return { page, problems };
  }

  async function signIn(page: Page, password: string): Promise<void> {
    await page.locator("#login-form input[name=jid]").fill("root@localhost");
    await page.locator("#login-form input[name=password]").fill(password);
    await page.locator("#login-form button[type=submit]").click();
  }

  it("refuses a wrong password, then logs in and shows the dashboard", async () => {
    const { page, problems } = await openTab();
    const response = await page.goto(`${origin}/admin`);
    assert.equal(response?.url(), `${origin}/admin/`);
    await page.locator("#login-form").waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "admin-login.png") });
    await signIn(page, "wrong");
    await page.locator("#login-error", { hasText: "wrong JID or password" }).waitFor();
    assert.equal(await page.locator("#app").isVisible(), false);
    await signIn(page, "root-secret");
    await page.locator("#who", { hasText: "root@localhost" }).waitFor();
    await page.locator("#c-sessions").filter({ hasText: /^\d+$/ }).waitFor();
    const cookies = await page.context().cookies();
    const cookie = cookies.find((c) => c.name === "natter_admin");
    assert.ok(cookie?.httpOnly && cookie.secure && cookie.sameSite === "Strict" && cookie.path === "/admin");
    // The cookie is HttpOnly: the page's script cannot read it.
    assert.equal(await page.evaluate("document.cookie"), "");
    // A reload keeps the session (the page asks /admin/session); signing out ends it.
    await page.reload();
    await page.locator("#who", { hasText: "root@localhost" }).waitFor();
    await page.locator("#logout").click();
    await page.locator("#login-error", { hasText: "signed out" }).waitFor();
    await page.reload();
    await page.locator("#login-form").waitFor();
    assert.equal(await page.locator("#app").isVisible(), false);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it("finds a user, kicks their session, destroys a room; the API wants the CSRF token with the cookie", async () => {
    const alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    const bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
    const carol = await connect(ts, "carol", "carol-secret", { websocket: "wss" });
    const { page, problems } = await openTab();
    try {
      // bob is in a room, alice in none; the dashboard counts their sessions and the room.
      await bob.xmpp.send(xml("presence", { to: `${ROOM}/Bob` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
      await bob.waitFor((st) => st.is("presence") && st.attrs.from === `${ROOM}/Bob`);
      await page.goto(`${origin}/admin/`);
      await signIn(page, "root-secret");
      await page.locator("#c-sessions", { hasText: "3" }).waitFor();
      await page.locator("#c-rooms", { hasText: "1" }).waitFor();
      await page.locator("#chart svg").waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, "admin-dashboard.png") });

      // Users: the list, then a search that finds alice alone.
      await page.locator("#nav a[data-view=users]").click();
      await page.locator("#users-body tr[data-jid='root@localhost']").waitFor();
      assert.equal(await page.locator("#users-body tr").count(), 5);
      await page.locator("#users-range", { hasText: "1–5 of 5" }).waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, "admin-users.png") });
      await page.locator("#user-query").fill("LIC");
      await page.locator("#user-search button[type=submit]").click();
      await page.locator("#users-range", { hasText: "1–1 of 1" }).waitFor();
      const row = page.locator("#users-body tr[data-jid='alice@localhost']");
      assert.equal(await row.locator(".badge").textContent(), "online");

      // Her sessions, and a kick: asked first, then her client sees its stream end.
      const ended = new Promise<void>((resolve) => alice.xmpp.once("disconnect", () => resolve()));
      await row.locator("button", { hasText: "Sessions" }).click();
      const session = page.locator("#sessions-body tr[data-jid='alice@localhost/laptop']");
      await session.waitFor();
      assert.match((await session.textContent()) ?? "", /127\.0\.0\.1.*tcp · TLS/);
      assert.equal(await page.locator("#sessions-body tr").count(), 1, "filtered to alice");
      await page.locator("#session-filter input[name=jid]").fill("");
      await page.locator("#session-filter button[type=submit]").click();
      await page.locator("#sessions-body tr[data-jid='bob@localhost/phone']").waitFor();
      assert.equal(await page.locator("#sessions-body tr").count(), 3, "everyone's sessions");
      await page.screenshot({ path: join(SCREENSHOTS, "admin-sessions.png") });
      await session.locator("button", { hasText: "Kick" }).click();
      await page.locator("#confirm", { hasText: "Kick alice@localhost/laptop?" }).waitFor();
      await page.locator("#confirm button[value=cancel]").click();
      assert.equal([...ts.server.core.sessions.all()].filter((x) => x.jid.toString().startsWith("alice@")).length, 1, "cancel kicks nobody");
      await session.locator("button", { hasText: "Kick" }).click();
      await page.locator("#confirm-ok").click();
      await ended;
      await page.locator("#notice", { hasText: "Kicked alice@localhost/laptop." }).waitFor();
      await session.waitFor({ state: "detached" });
      assert.equal(await page.locator("#sessions-body tr").count(), 2, "the others stay");

      // The room: its occupants, then destroyed with a reason bob is told (XEP-0045 §10.9).
      await page.locator("#nav a[data-view=rooms]").click();
      const roomRow = page.locator(`#rooms-body tr[data-jid='${ROOM}']`);
      await roomRow.locator("button", { hasText: "Details" }).click();
      await page.locator("#occupants-body td", { hasText: "bob@localhost/phone" }).waitFor();
      await page.evaluate("window.scrollTo(0, 0)");
      await page.screenshot({ path: join(SCREENSHOTS, "admin-rooms.png") });
      await roomRow.locator("button", { hasText: "Destroy" }).click();
      await page.locator("#confirm-input").fill("moving to #general");
      await page.locator("#confirm-ok").click();
      const gone = await bob.waitFor((st) => st.is("presence") && st.attrs.type === "unavailable" && st.attrs.from === `${ROOM}/Bob`);
      const destroy = gone.getChild("x", "http://jabber.org/protocol/muc#user")?.getChild("destroy");
      assert.equal(destroy?.getChildText("reason"), "moving to #general");
      await page.locator("#rooms-body tr.empty").waitFor();

      // The cookie alone does not let another page change anything: the API wants the session's CSRF token.
      const cookie = (await page.context().cookies()).find((c) => c.name === "natter_admin");
      assert.ok(cookie);
      const api = `https://127.0.0.1:${ts.httpsPort}/admin/api`;
      const headers = { Cookie: `natter_admin=${cookie.value}` };
      const forged = await fetch(`${api}/sessions/${encodeURIComponent("carol@localhost")}`, { method: "DELETE", headers });
      assert.equal(forged.status, 403);
      const wrong = await fetch(`${api}/sessions/${encodeURIComponent("carol@localhost")}`, {
        method: "DELETE",
        headers: { ...headers, "X-CSRF-Token": "A".repeat(43) },
      });
      assert.equal(wrong.status, 403);
      assert.equal([...ts.server.core.sessions.all()].filter((x) => x.jid.toString().startsWith("carol@")).length, 1, "carol still online");
      assert.equal((await fetch(`${api}/status`, { headers })).status, 200, "reading needs no token");
      assert.deepEqual(problems, []);
    } finally {
      await page.context().close();
      for (const c of [alice, bob, carol]) await c.stop().catch(() => {});
    }
  });

  it("manages an account, shows a roster, sends messages and the MOTD, and shows the API's errors", async () => {
    // Available (initial presence), so that messages to their bare JIDs and online announcements reach them.
    const dave = await onlineWithRoster(ts, "dave", "desk");
    const carol = await onlineWithRoster(ts, "carol", "tablet");
    await subscribeBoth(dave, carol);
    const { page, problems } = await openTab();
    const notice = (text: string | RegExp) => page.locator("#notice", { hasText: text }).waitFor();
    const accounts = ts.server.core.accounts;
    try {
      await page.goto(`${origin}/admin/#users`);
      await signIn(page, "root-secret");
      await page.locator("#users-body tr[data-jid='dave@localhost']").waitFor();

      // Create, and the API's refusal of a second one shown as it says.
      await page.locator("#user-create input[name=jid]").fill("erin@localhost");
      await page.locator("#user-create input[name=password]").fill("erin-one");
      await page.locator("#user-create button[type=submit]").click();
      await notice("Created erin@localhost.");
      const erin = page.locator("#users-body tr[data-jid='erin@localhost']");
      await erin.waitFor();
      await page.locator("#user-create input[name=jid]").fill("erin@localhost");
      await page.locator("#user-create input[name=password]").fill("erin-one");
      await page.locator("#user-create button[type=submit]").click();
      await page.locator("#notice.error", { hasText: "(409)" }).waitFor();

      // A new password, asked in the dialog (a password field).
      await erin.locator("button", { hasText: "Password" }).click();
      assert.equal(await page.locator("#confirm-input").getAttribute("type"), "password");
      await page.locator("#confirm-input").fill("erin-two");
      await page.locator("#confirm-ok").click();
      await notice("Password of erin@localhost changed.");
      assert.equal(await accounts.verifyPassword("localhost", "erin", "erin-two"), true);

      // Disabled: no login; enabled again: login.
      await erin.locator("button", { hasText: "Disable" }).click();
      await page.locator("#confirm-ok").click();
      await erin.locator(".badge", { hasText: "disabled" }).waitFor();
      await assert.rejects(connect(ts, "erin", "erin-two"));
      await erin.locator("button", { hasText: "Enable" }).click();
      await erin.locator(".badge", { hasText: "offline" }).waitFor();
      const back = await connect(ts, "erin", "erin-two");
      await back.stop();

      // Deleted, after the question.
      await erin.locator("button", { hasText: "Delete" }).click();
      await page.locator("#confirm", { hasText: "This cannot be undone." }).waitFor();
      await page.locator("#confirm-ok").click();
      await notice("Deleted erin@localhost.");
      await erin.waitFor({ state: "detached" });
      assert.equal(await accounts.userExists("localhost", "erin"), false);

      // dave's roster.
      await page.locator("#users-body tr[data-jid='dave@localhost'] button", { hasText: "Roster" }).click();
      await page.locator("#roster-title", { hasText: "Roster of dave@localhost" }).waitFor();
      await page.locator("#roster-body tr", { hasText: "carol@localhost" }).filter({ hasText: "both" }).waitFor();

      // A message from the server to dave, an announcement to everyone online, the MOTD set and deleted.
      await page.locator("#nav a[data-view=messages]").click();
      await page.locator("#message-form input[name=to]").fill("dave@localhost");
      await page.locator("#message-form textarea[name=body]").fill("your disk quota is full");
      await page.locator("#message-form button[type=submit]").click();
      await notice("Message sent to dave@localhost.");
      await dave.waitFor((st) => st.is("message") && st.getChildText("body") === "your disk quota is full");
      await page.locator("#announce-form input[name=subject]").fill("Maintenance");
      await page.locator("#announce-form textarea[name=body]").fill("down at 22:00 UTC");
      await page.locator("#announce-form button[type=submit]").click();
      await page.locator("#confirm-ok").click();
      await notice(/Announcement sent to \d+ sessions\./);
      for (const c of [dave, carol]) {
        await c.waitFor((st) => st.is("message") && st.getChildText("subject") === "Maintenance" && st.getChildText("body") === "down at 22:00 UTC");
      }
      await page.locator("#motd-form textarea[name=body]").fill("Welcome to Natter");
      await page.locator("#motd-form button[type=submit]").click();
      await notice("Message of the day for localhost saved.");
      assert.equal(await ts.server.core.admin.motd("localhost"), "Welcome to Natter");
      await page.reload();
      // (Polled from here: waitForFunction evaluates a string in the page, which its CSP forbids.)
      const motdBox = page.locator("#motd-form textarea[name=body]");
      for (let i = 0; (await motdBox.inputValue()) !== "Welcome to Natter"; i++) {
        assert.ok(i < 100, "the MOTD is shown after a reload");
        await new Promise((r) => setTimeout(r, 100));
      }
      await page.screenshot({ path: join(SCREENSHOTS, "admin-messages.png") });
      await page.locator("#motd-delete").click();
      await page.locator("#confirm-ok").click();
      await notice("Message of the day for localhost deleted.");
      assert.equal(await ts.server.core.admin.motd("localhost"), undefined);
      // An empty message is refused by the page (required field) before any request.
      await page.locator("#message-form input[name=to]").fill("dave@localhost");
      await page.locator("#message-form button[type=submit]").click();
      assert.equal(await page.locator("#message-form textarea:invalid").count(), 1);
      assert.deepEqual(problems, []);
    } finally {
      await page.context().close();
      for (const c of [dave, carol]) await c.stop().catch(() => {});
    }
  });

  it("pages through users 20 at a time and lists federation links", async () => {
    for (let i = 0; i < 20; i++) await ts.addUser(`user${String(i).padStart(2, "0")}`, "pw-secret");
    const { page, problems } = await openTab();
    try {
      await page.goto(`${origin}/admin/#users`);
      await signIn(page, "root-secret");
      await page.locator("#users-range", { hasText: "1–20 of 25" }).waitFor();
      assert.equal(await page.locator("#users-body tr").count(), 20);
      assert.equal(await page.locator("#users-prev").isDisabled(), true);
      await page.locator("#users-next").click();
      await page.locator("#users-range", { hasText: "21–25 of 25" }).waitFor();
      assert.equal(await page.locator("#users-body tr").count(), 5);
      assert.equal(await page.locator("#users-next").isDisabled(), true);
      await page.locator("#users-prev").click();
      await page.locator("#users-range", { hasText: "1–20 of 25" }).waitFor();
      // A search that matches nothing says so.
      await page.locator("#user-query").fill("nobody-here");
      await page.locator("#user-search button[type=submit]").click();
      await page.locator("#users-body tr.empty", { hasText: "No user matches" }).waitFor();
      await page.locator("#nav a[data-view=s2s]").click();
      await page.locator("#s2s-body tr.empty", { hasText: "No federation links." }).waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await page.context().close();
    }
  });

  it("draws the last hour from /stats/history as an inline SVG", async () => {
    const { page, problems } = await openTab();
    try {
      // Until the server has kept an hour of samples (one a minute), the browser is given an hour of them here:
      // what is tested is the page's drawing of the API's StatsSample list.
      const now = Date.now();
      const samples = Array.from({ length: 60 }, (_, i) => ({
        at: now - (59 - i) * 60_000,
        sessions: 20 + Math.round(10 * Math.sin(i / 8)),
        messagesPerSecond: 3 + 2 * Math.cos(i / 5),
        presencesPerSecond: 1,
        iqsPerSecond: 2,
        s2sLinks: 2,
      }));
      await page.route("**/admin/api/stats/history", (route) => route.fulfill({ json: samples }));
      await page.goto(`${origin}/admin/`);
      await signIn(page, "root-secret");
      const lines = page.locator("#chart svg polyline");
      await lines.first().waitFor();
      assert.equal(await lines.count(), 2, "sessions and messages/s");
      const points = ((await lines.first().getAttribute("points")) ?? "").split(" ");
      assert.equal(points.length, 60);
      assert.equal(await page.locator("#c-messages").textContent(), samples[59]!.messagesPerSecond.toFixed(2).replace(/\.?0+$/, ""));
      // Whole-number ticks on the sessions axis (max 30 → 40).
      assert.deepEqual(await page.locator("#chart svg text.axis.sessions").allTextContents(), ["40", "30", "20", "10", "0"]);
      await page.screenshot({ path: join(SCREENSHOTS, "admin-dashboard-chart.png") });
      assert.deepEqual(problems, []);
    } finally {
      await page.context().close();
    }
  });
});
