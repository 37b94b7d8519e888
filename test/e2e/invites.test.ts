// XEP-0401 / XEP-0379 / XEP-0445 invitations against a real server: an invite made with the `natter invite` CLI
// (child process), with the admin HTTP API and with the XEP-0401 ad-hoc commands (an admin and, where allowed,
// an ordinary user); the landing page in real Chromium creating the account; the new user's roster (the inviter
// with subscription "both") and presence both ways; used, revoked and expired tokens; in-band registration with
// a token while registration is closed (the preauth IQ first, and <preauth/> inside the registration).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Element } from "../../src/core/xml/element.js";
import { cmdOf, command, errorOf, NS_DATA } from "../helpers/adhoc.js";
import { type RunningBrowser, startChromium } from "../helpers/chromium.js";
import { runNatter } from "../helpers/natter-process.js";
import type { RawClient } from "../helpers/raw-client.js";
import { onlineWithRoster } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";
import { parseServerOutput, plainAuth, rawTls, stanzaErrorCondition, waitForElement } from "./raw-helpers.js";

const NS_ROSTER = "jabber:iq:roster";
const NS_REGISTER = "jabber:iq:register";
const NS_PARS = "urn:xmpp:pars:0";
const NS_INVITE = "urn:xmpp:invite";
const SCREENSHOTS = process.env.NATTER_SCREENSHOTS
  ? join(import.meta.dirname, "..", "..", "docs", "screenshots")
  : mkdtempSync(join(tmpdir(), "natter-shots-"));

let seq = 0;
async function rawIq(rc: RawClient, type: "get" | "set", payload: string): Promise<Element> {
  const id = `i${++seq}`;
  rc.send(`<iq type='${type}' id='${id}'>${payload}</iq>`);
  return waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id);
}
const registerSet = (user: string, password: string, extra = "") =>
  `<query xmlns='${NS_REGISTER}'><username>${user}</username><password>${password}</password>${extra}</query>`;
const preauth = (token: string) => `<preauth xmlns='${NS_PARS}' token='${token}'/>`;

async function rosterOf(c: ConnectedClient): Promise<Map<string, string>> {
  const r = await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  const items = (r.getChild("query", NS_ROSTER)?.getChildren("item") ?? []) as XmlElement[];
  return new Map(items.map((i) => [i.attrs.jid as string, i.attrs.subscription as string]));
}

const fieldValue = (cmd: XmlElement, name: string) =>
  (cmd.getChild("x", NS_DATA)?.getChildren("field") as XmlElement[])
    .find((f) => f.attrs.var === name)
    ?.getChildText("value");

describe("invitations (XEP-0401, XEP-0379, XEP-0445)", () => {
  let ts: TestServer;
  let browser: RunningBrowser;
  const clients: ConnectedClient[] = [];
  const track = (c: ConnectedClient) => (clients.push(c), c);

  before(async () => {
    ts = await startTestServer({
      yaml: ["admins: [admin@localhost]", "modules:", "  invites: { allow_user_invites: true }"].join("\n"),
    });
    for (const u of ["admin", "romeo", "alice"]) await ts.addUser(u, `${u}-secret`);
    browser = await startChromium();
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await browser?.stop();
    await ts?.stop();
  });

  it("CLI invite → account made in Chromium → inviter in the roster with subscription both, presence both ways, token used", async () => {
    const romeo = track(await onlineWithRoster(ts, "romeo", "phone"));
    const made = runNatter(["-c", ts.configPath, "invite", "create", "--contact", "romeo@localhost"]);
    assert.equal(made.code, 0, made.err);
    const link = made.out.trim();
    // The server's public URL: HTTPS while that listener is on (the test server's self-signed certificate).
    assert.match(link, new RegExp(`^https://localhost:${ts.httpsPort}/invite/[A-Za-z0-9_-]{32}$`));
    const url = link.replace("localhost", "127.0.0.1");
    const listed = runNatter(["-c", ts.configPath, "invite", "list"]);
    assert.ok(listed.out.includes(link.split("/").pop()!), listed.out);

    const context = await browser.browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      const response = await page.goto(url);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()["content-security-policy"] ?? "", /default-src 'none'/);
      const href = await page.locator("#open-app").getAttribute("href");
      assert.match(href ?? "", /^xmpp:localhost\?register;preauth=[A-Za-z0-9_-]+$/);
      await page.screenshot({ path: join(SCREENSHOTS, "invite-page.png"), fullPage: true });
      // A mismatched repeat keeps the form with an error and the token unused.
      await page.locator("#username").fill("juliet");
      await page.locator("#password").fill("balcony-secret");
      await page.locator("#password2").fill("balcony-other");
      await page.locator("#create").click();
      await page.waitForSelector(".error");
      assert.match(await page.locator(".error").innerText(), /differ/);
      await page.locator("#password").fill("balcony-secret");
      await page.locator("#password2").fill("balcony-secret");
      await page.locator("#create").click();
      await page.waitForSelector("#new-jid");
      assert.equal(await page.locator("#new-jid").innerText(), "juliet@localhost");
      // The token is spent: the page now says so.
      const again = await page.goto(url);
      assert.equal(again?.status(), 404);
      assert.match(await page.locator("h1").innerText(), /not valid/);
    } finally {
      await context.close();
    }

    // XEP-0379: romeo got a roster push; juliet's roster has romeo with "both".
    const push = await romeo.waitFor(
      (s) =>
        s.is("iq") &&
        s.attrs.type === "set" &&
        s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.jid === "juliet@localhost",
    );
    assert.equal(push.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.subscription, "both");
    const juliet = track(await connect(ts, "juliet", "balcony-secret", { resource: "laptop" }));
    assert.equal((await rosterOf(juliet)).get("romeo@localhost"), "both");
    assert.equal((await rosterOf(romeo)).get("juliet@localhost"), "both");
    await juliet.xmpp.send(xml("presence"));
    await romeo.waitFor((s) => s.is("presence") && s.attrs.from === juliet.jid && s.attrs.type === undefined);
    await juliet.waitFor((s) => s.is("presence") && s.attrs.from === romeo.jid && s.attrs.type === undefined);
  });

  it("admin API: POST /invites gives a link and URI, GET lists it, DELETE revokes it (the page then refuses it)", async () => {
    const token = (await ts.server.apiTokens.create({ scopes: ["users:read", "users:write"], name: "inv" })).token;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${ts.httpPort}/admin/api${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const created = await call("POST", "/invites", { username: "benvolio", ttl: 3600 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.username, "benvolio");
    assert.match(created.body.uri, /^xmpp:localhost\?register;preauth=/);
    assert.ok(created.body.expires - Date.now() <= 3600_000);
    const listed = await call("GET", "/invites");
    assert.ok(listed.body.some((i: { token: string }) => i.token === created.body.token));
    assert.equal((await call("POST", "/invites", { username: "no such@thing" })).status, 400);
    const page = await fetch(created.body.link.replace("localhost", "127.0.0.1"));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /value="benvolio" readonly/);
    assert.equal((await call("DELETE", `/invites/${created.body.token}`)).status, 204);
    assert.equal((await call("DELETE", `/invites/${created.body.token}`)).status, 404);
    assert.equal((await fetch(created.body.link.replace("localhost", "127.0.0.1"))).status, 404);
  });

  it("registration closed: plain IBR refused; an ad-hoc account invite (admin) opens it once, for the reserved name", async () => {
    const admin = track(await connect(ts, "admin", "admin-secret"));
    const first = cmdOf(await command(admin, { node: `${NS_INVITE}#create-account`, action: "execute" }));
    const done = cmdOf(
      await command(
        admin,
        { node: `${NS_INVITE}#create-account`, sessionid: first.attrs.sessionid },
        { FORM_TYPE: NS_INVITE, username: "mercutio" },
      ),
    );
    assert.equal(done.attrs.status, "completed");
    const uri = fieldValue(done, "uri") ?? "";
    assert.match(uri, /^xmpp:localhost\?register;preauth=/);
    assert.match(fieldValue(done, "landing-url") ?? "", /\/invite\//);
    const token = uri.split("preauth=")[1]!;
    // An ordinary user does not get the admin command.
    const alice = track(await connect(ts, "alice", "alice-secret"));
    assert.equal(
      errorOf(await command(alice, { node: `${NS_INVITE}#create-account`, action: "execute" })).condition,
      "forbidden",
    );

    const rc = await rawTls(ts);
    const features = parseServerOutput(rc.data).elements.find((el) => el.name === "features");
    assert.ok(features?.getChild("register", NS_INVITE), "XEP-0445 stream feature");
    assert.equal(
      stanzaErrorCondition(await rawIq(rc, "set", registerSet("tybalt", "tybalt-secret"))),
      "service-unavailable",
    );
    assert.equal(stanzaErrorCondition(await rawIq(rc, "set", preauth("A".repeat(32)))), "item-not-found");
    assert.equal((await rawIq(rc, "set", preauth(token))).attrs.type, "result");
    assert.equal((await rawIq(rc, "get", `<query xmlns='${NS_REGISTER}'/>`)).attrs.type, "result");
    assert.equal(
      stanzaErrorCondition(await rawIq(rc, "set", registerSet("tybalt", "tybalt-secret"))),
      "not-acceptable",
    );
    assert.equal((await rawIq(rc, "set", registerSet("mercutio", "mercutio-secret"))).attrs.type, "result");
    rc.send(plainAuth("mercutio", "mercutio-secret"));
    await rc.waitFor(/<success/);
    rc.destroy();
    // Used: another stream cannot present it.
    const rc2 = await rawTls(ts);
    assert.equal(stanzaErrorCondition(await rawIq(rc2, "set", preauth(token))), "item-not-found");
    rc2.destroy();
  });

  it("a user's invite (#invite): <preauth/> inside the registration creates the account, subscribed with the inviter", async () => {
    const alice = track(await onlineWithRoster(ts, "alice", "desk"));
    const done = cmdOf(await command(alice, { node: `${NS_INVITE}#invite`, action: "execute" }));
    const uri = fieldValue(done, "uri") ?? "";
    assert.match(uri, /^xmpp:alice@localhost\?roster;preauth=[A-Za-z0-9_-]+;ibr=y$/);
    const token = /preauth=([^;]+)/.exec(uri)![1]!;
    const rc = await rawTls(ts);
    assert.equal((await rawIq(rc, "set", registerSet("nurse", "nurse-secret", preauth(token)))).attrs.type, "result");
    rc.destroy();
    await alice.waitFor(
      (s) =>
        s.is("iq") &&
        s.attrs.type === "set" &&
        s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.jid === "nurse@localhost",
    );
    const nurse = track(await connect(ts, "nurse", "nurse-secret"));
    assert.equal((await rosterOf(nurse)).get("alice@localhost"), "both");
    await nurse.xmpp.send(xml("presence"));
    await alice.waitFor((s) => s.is("presence") && s.attrs.from === nurse.jid);
    await nurse.waitFor((s) => s.is("presence") && s.attrs.from === alice.jid);
  });

  it("an existing account's subscription request carrying a user's token is approved, and the inviter asks back (XEP-0379 §4)", async () => {
    const alice = track(await onlineWithRoster(ts, "alice", "tablet"));
    const uri =
      fieldValue(cmdOf(await command(alice, { node: `${NS_INVITE}#invite`, action: "execute" })), "uri") ?? "";
    const token = /preauth=([^;]+)/.exec(uri)![1]!;
    const romeo = track(await onlineWithRoster(ts, "romeo", "tablet"));
    // What a XEP-0379 client does with the URI: pre-approve the inviter, then ask with the token.
    await romeo.xmpp.send(xml("presence", { to: "alice@localhost", type: "subscribed" }));
    await romeo.xmpp.send(
      xml("presence", { to: "alice@localhost", type: "subscribe" }, xml("preauth", { xmlns: NS_PARS, token })),
    );
    const both = (c: ConnectedClient, jid: string) =>
      c.waitFor(
        (s) =>
          s.is("iq") &&
          s.attrs.type === "set" &&
          s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.jid === jid &&
          s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.subscription === "both",
      );
    await Promise.all([both(alice, "romeo@localhost"), both(romeo, "alice@localhost")]);
    // No request reached alice's client to answer by hand.
    assert.equal(
      alice.received.some((s) => s.is("presence") && s.attrs.type === "subscribe"),
      false,
    );
    // The token is spent.
    const rc = await rawTls(ts);
    assert.equal(stanzaErrorCondition(await rawIq(rc, "set", preauth(token))), "item-not-found");
    rc.destroy();
  });

  it("an expired token is refused on the page and in-band", async () => {
    const made = runNatter(["-c", ts.configPath, "invite", "create", "--ttl", "1"]);
    assert.equal(made.code, 0, made.err);
    const link = made.out.trim().replace("localhost", "127.0.0.1");
    await new Promise((r) => setTimeout(r, 1500));
    const page = await fetch(link);
    assert.equal(page.status, 404);
    assert.match(await page.text(), /not valid/);
    const rc = await rawTls(ts);
    assert.equal(stanzaErrorCondition(await rawIq(rc, "set", preauth(link.split("/").pop()!))), "item-not-found");
    rc.destroy();
  });

  it("the form refuses a post without the CSRF cookie", async () => {
    const made = runNatter(["-c", ts.configPath, "invite", "create"]);
    const link = made.out.trim().replace("localhost", "127.0.0.1");
    const res = await fetch(link, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "csrf=abc&username=eve&password=eve-secret1&password2=eve-secret1",
    });
    assert.equal(res.status, 403);
    assert.equal((await fetch(link)).status, 200, "the token is still unused");
  });
});
