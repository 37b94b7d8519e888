// XEP-0077 In-Band Registration as clients see it: the stream feature and registration by hand before
// authentication (§3.1) with its errors, registration off (service-unavailable), the per-address throttle,
// password change (§3.3) and account cancellation (§3.2) with every session closed and every trace gone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Element } from "../../src/core/xml/element.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";
import {
  expectStreamError,
  FEATURES_END,
  parseServerOutput,
  plainAuth,
  rawLogin,
  rawTls,
  stanzaErrorCondition,
  waitForElement,
} from "./raw-helpers.js";

const NS_REGISTER = "jabber:iq:register";
const NS_FEATURE = "http://jabber.org/features/iq-register";
const NS_ROSTER = "jabber:iq:roster";
const NS_VCARD = "vcard-temp";
const D = "localhost";

let seq = 0;
/** Sends an iq:register request by hand and returns the reply. */
async function rawRegister(rc: RawClient, type: "get" | "set", inner = "", attrs = ""): Promise<Element> {
  const id = `r${++seq}`;
  rc.send(`<iq type='${type}' id='${id}'${attrs}><query xmlns='${NS_REGISTER}'>${inner}</query></iq>`);
  return waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id);
}

interface SlixResult {
  ok: boolean;
  registered: boolean;
  form_fields: string[];
  password_changed: boolean;
  cancelled: boolean;
  disconnected?: boolean;
  error?: string;
}

const runRegisterScript = (args: Record<string, unknown>) => runSlixmpp<SlixResult>("register.py", args);

const fields = (user: string, password: string) => `<username>${user}</username><password>${password}</password>`;

function features(rc: RawClient): Element {
  const f = parseServerOutput(rc.data).elements.find((el) => el.name === "features");
  assert.ok(f, "stream features");
  return f;
}

function expectError(reply: Element, condition: string, type: string, code?: string): void {
  assert.equal(reply.attrs.type, "error", reply.toString());
  assert.equal(stanzaErrorCondition(reply), condition, reply.toString());
  assert.equal(reply.getChild("error")?.attrs.type, type);
  // XEP-0077 §8: the legacy code too.
  if (code !== undefined) assert.equal(reply.getChild("error")?.attrs.code, code);
}

async function loginFails(ts: TestServer, user: string, password: string): Promise<void> {
  await assert.rejects(connect(ts, user, password), /not-authorized/);
}

describe("in-band registration (XEP-0077)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  const track = (c: ConnectedClient) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    ts = await startTestServer({
      yaml: "modules:\n  register:\n    allow_registration: true\n    throttle: { per_ip: { attempts: 1000 } }",
    });
    for (const u of ["alice", "bob"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("offers the stream feature only once TLS is up (§8, RFC 6120 §5.3.1)", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(D));
    await rc.waitFor(FEATURES_END);
    assert.equal(features(rc).getChild("register", NS_FEATURE), undefined, "not before STARTTLS");
    rc.destroy();
    const tls = await rawTls(ts);
    assert.ok(features(tls).getChild("register", NS_FEATURE), "offered after STARTTLS");
    tls.destroy();
  });

  it("registers by hand before authentication, then the new account logs in (§3.1)", async () => {
    const rc = await rawTls(ts);
    const form = await rawRegister(rc, "get");
    assert.equal(form.attrs.type, "result");
    const q = form.getChild("query", NS_REGISTER);
    assert.ok(q?.getChild("username") && q.getChild("password") && q.getChildText("instructions"), form.toString());
    const done = await rawRegister(rc, "set", fields("Newbie", "newbie-password"), ` to='${D}'`);
    assert.equal(done.attrs.type, "result", done.toString());
    assert.equal(done.attrs.from, D);
    // §3.1.1: one registration per connection before authenticating.
    expectError(await rawRegister(rc, "set", fields("second", "second-password")), "not-acceptable", "modify", "406");
    // The same stream goes on to authenticate with the new account (the username was case-mapped, RFC 8265 §3.3).
    rc.send(plainAuth("newbie", "newbie-password"));
    await rc.waitFor(/<success/);
    rc.destroy();
    const c = track(await connect(ts, "newbie", "newbie-password"));
    assert.match(c.jid, /^newbie@localhost\//);
  });

  it("answers conflict, not-acceptable, jid-malformed and unexpected-request with the stream kept open", async () => {
    const rc = await rawTls(ts);
    expectError(await rawRegister(rc, "set", fields("alice", "another-password")), "conflict", "cancel", "409");
    // §3.1: a missing or empty field MUST get not-acceptable.
    expectError(await rawRegister(rc, "set", "<username>carl</username>"), "not-acceptable", "modify", "406");
    expectError(await rawRegister(rc, "set", "<username>carl</username><password/>"), "not-acceptable", "modify");
    expectError(await rawRegister(rc, "set", fields("carl", "short")), "not-acceptable", "modify");
    expectError(await rawRegister(rc, "set", fields("carl@evil", "long-enough-pw")), "jid-malformed", "modify");
    expectError(await rawRegister(rc, "set", "<remove/>"), "unexpected-request", "wait");
    // Still the same stream: it authenticates.
    rc.send(plainAuth("alice", "alice-secret"));
    await rc.waitFor(/<success/);
    rc.destroy();
    await loginFails(ts, "carl", "long-enough-pw");
  });

  describe("with slixmpp", () => {
    useSlixmpp();

    it("works with slixmpp's XEP-0077 plugin: register, log in, change the password, cancel", { timeout: 60_000 }, async () => {
      const base = { host: "127.0.0.1", port: ts.port, jid: `slixuser@${D}` };
      const r = await runRegisterScript({ ...base, password: "slix-password", new_password: "slix-password-2" });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.registered, true);
      assert.deepEqual(r.form_fields, ["password", "username"]);
      assert.equal(r.password_changed, true);
      await loginFails(ts, "slixuser", "slix-password");
      const c = await connect(ts, "slixuser", "slix-password-2");
      await c.stop();
      const again = await runRegisterScript({ ...base, password: "slix-password-2", register: false, cancel: true });
      assert.equal(again.ok, true, JSON.stringify(again));
      assert.equal(again.cancelled, true);
      assert.equal(again.disconnected, true);
      await loginFails(ts, "slixuser", "slix-password-2");
    });
  });

  it("advertises jabber:iq:register in the server's disco#info", async () => {
    const c = track(await connect(ts, "alice", "alice-secret"));
    const res = await c.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: D }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const vars = res.getChild("query")!.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    assert.ok(vars.includes(NS_REGISTER));
  });

  it("changes the password of the own account only (§3.3)", async () => {
    await ts.addUser("pat", "pat-old-password");
    const c = track(await connect(ts, "pat", "pat-old-password"));
    const change = (inner: XmlElement[], to?: string) =>
      c.xmpp.iqCaller.request(xml("iq", { type: "set", ...(to ? { to } : {}) }, xml("query", { xmlns: NS_REGISTER }, ...inner)));
    // The current registration (§3.1: <registered/>).
    const current = await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_REGISTER })));
    const q = current.getChild("query", NS_REGISTER)!;
    assert.ok(q.getChild("registered"));
    assert.equal(q.getChildText("username"), "pat");
    // Someone else's account: forbidden; an empty password: bad-request and the old one stays (§3.3).
    await assert.rejects(change([xml("username", {}, "bob"), xml("password", {}, "bob-is-mine-now")]), (e) => (e as { condition: string }).condition === "forbidden");
    await assert.rejects(change([xml("username", {}, "pat"), xml("password")]), (e) => (e as { condition: string }).condition === "bad-request");
    await assert.rejects(change([xml("username", {}, "pat"), xml("password", {}, "short")]), (e) => (e as { condition: string }).condition === "not-acceptable");
    // Another user's bare JID as the target: forbidden too.
    await assert.rejects(change([xml("username", {}, "bob"), xml("password", {}, "bob-is-mine-now")], `bob@${D}`), (e) => (e as { condition: string }).condition === "forbidden");
    await change([xml("username", {}, "pat"), xml("password", {}, "pat-new-password")], D);
    await loginFails(ts, "pat", "pat-old-password");
    track(await connect(ts, "pat", "pat-new-password"));
    track(await connect(ts, "bob", "bob-secret"));
  });

  it("cancels the account: result, then <not-authorized/> on every session, and nothing of it remains (§3.2)", async () => {
    await ts.addUser("doomed", "doomed-password");
    await ts.addUser("friend", "friend-password");
    const friend = track(await connect(ts, "friend", "friend-password", { resource: "f" }));
    await friend.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
    await friend.xmpp.send(xml("presence"));
    const other = track(await connect(ts, "doomed", "doomed-password", { resource: "other" }));
    let otherError: string | undefined;
    other.xmpp.on("error", (e: { condition?: string }) => {
      // The first error is the stream error; a write after the server hung up may follow (EPIPE).
      otherError ??= e.condition;
    });
    const otherOffline = new Promise<void>((resolve) => other.xmpp.on("disconnect", () => resolve()));
    await other.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Doomed"))));
    await other.xmpp.send(xml("presence"));
    // A mutual subscription with friend, so the cancellation must unwind it on friend's side.
    await other.xmpp.send(xml("presence", { type: "subscribe", to: `friend@${D}` }));
    await friend.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe");
    await friend.xmpp.send(xml("presence", { type: "subscribed", to: `doomed@${D}` }));
    await friend.xmpp.send(xml("presence", { type: "subscribe", to: `doomed@${D}` }));
    await other.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe");
    await other.xmpp.send(xml("presence", { type: "subscribed", to: `friend@${D}` }));
    await friend.waitFor((s) => s.is("iq") && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.subscription === "both");
    await friend.waitFor((s) => s.is("presence") && s.attrs.from === `doomed@${D}/other` && s.attrs.type === undefined);

    const { rc } = await rawLogin(ts, "doomed", "doomed-password", "raw");
    rc.data = "";
    rc.send(`<iq type='set' id='bye'><query xmlns='${NS_REGISTER}'><remove/></query></iq>`);
    await expectStreamError(ts, rc, "not-authorized");
    const out = parseServerOutput(rc.data).elements;
    const result = out.findIndex((el) => el.name === "iq" && el.attrs.id === "bye" && el.attrs.type === "result");
    assert.ok(result >= 0, `the result comes before the stream error:\n${rc.data}`);
    assert.equal(out.filter((el) => el.name === "iq" && el.attrs.id === "bye").length, 1, "exactly one reply");
    await otherOffline;
    assert.equal(otherError, "not-authorized");

    // friend: unavailable presence, and the subscription is gone both ways.
    await friend.waitFor((s) => s.is("presence") && s.attrs.from === `doomed@${D}/other` && s.attrs.type === "unavailable");
    await friend.waitFor((s) => s.is("iq") && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.subscription === "none");

    await loginFails(ts, "doomed", "doomed-password");
    const storage = ts.server.core.storage;
    assert.equal(await storage.open(D, "vcard", "keyval").get("doomed"), undefined, "no vCard left");
    assert.equal((await storage.open(D, "roster", "map").getAll("doomed")).size, 0, "no roster left");
    assert.equal(await storage.open(D, "lastlog", "keyval").get("doomed"), undefined, "no last activity recorded");
    // Registering the name again gives a fresh account: empty roster, no vCard.
    const reg = await rawTls(ts);
    assert.equal((await rawRegister(reg, "set", fields("doomed", "reborn-password"))).attrs.type, "result");
    reg.destroy();
    const reborn = track(await connect(ts, "doomed", "reborn-password"));
    const roster = await reborn.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
    assert.equal(roster.getChild("query", NS_ROSTER)!.getChildren("item").length, 0);
  });
});

describe("in-band registration off (the default) and throttled", () => {
  let off: TestServer;
  let limited: TestServer;

  before(async () => {
    off = await startTestServer();
    await off.addUser("alice", "alice-secret");
    limited = await startTestServer({
      yaml: "modules:\n  register:\n    allow_registration: true\n    throttle: { per_ip: { attempts: 2, window: 600 } }",
    });
  });

  after(async () => {
    await off?.stop();
    await limited?.stop();
  });

  it("offers no feature and answers service-unavailable, the stream staying open (§3.1)", async () => {
    const rc = await rawTls(off);
    assert.equal(features(rc).getChild("register", NS_FEATURE), undefined);
    expectError(await rawRegister(rc, "get"), "service-unavailable", "cancel", "503");
    expectError(await rawRegister(rc, "set", fields("mallory", "mallory-password")), "service-unavailable", "cancel");
    rc.send(plainAuth("alice", "alice-secret"));
    await rc.waitFor(/<success/);
    rc.destroy();
    await loginFails(off, "mallory", "mallory-password");
  });

  it("still closes the stream for any other iq before authentication (RFC 6120 §4.9.3.12)", async () => {
    const rc = await rawTls(off);
    rc.send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    await expectStreamError(off, rc, "not-authorized");
  });

  it("refuses the registration after the per-address limit with not-acceptable, type wait (§3.1.1)", async () => {
    for (const u of ["one", "two"]) {
      const rc = await rawTls(limited);
      assert.equal((await rawRegister(rc, "set", fields(u, `${u}-password`))).attrs.type, "result");
      rc.destroy();
    }
    const rc = await rawTls(limited);
    const reply = await rawRegister(rc, "set", fields("three", "three-password"));
    expectError(reply, "not-acceptable", "wait", "406");
    rc.destroy();
    await loginFails(limited, "three", "three-password");
  });
});
