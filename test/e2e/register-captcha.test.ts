// Registration protection and new accounts, over real sockets: XEP-0158 CAPTCHA inside the XEP-0077 form, by raw
// stanzas (a wrong answer, a reused challenge, a submission without the form are refused; the right answer creates
// the account); then the new account as @xmpp/client sees it: its messages to strangers are held for review
// (strangers.from_new_accounts) and slowed (new_accounts.to_strangers), while an operator-made account's are not.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Element } from "../../src/core/xml/element.js";
import type { RawClient } from "../helpers/raw-client.js";
import { onlineWithRoster } from "../helpers/roster.js";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";
import { rawTls, stanzaErrorCondition, waitForElement } from "./raw-helpers.js";

const NS_REGISTER = "jabber:iq:register";
const NS_DATA = "jabber:x:data";
const NS_Q = "urn:natter:quarantine:0";
const D = "localhost";
const QUESTION = "What colour is a stop light?";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let seq = 0;
async function rawRegister(rc: RawClient, type: "get" | "set", inner = ""): Promise<Element> {
  const id = `c${++seq}`;
  rc.send(`<iq type='${type}' id='${id}'><query xmlns='${NS_REGISTER}'>${inner}</query></iq>`);
  return waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id);
}

/** The XEP-0158 §4 submission: FORM_TYPE, challenge, answer, username and password. */
function submission(challenge: string, answer: string, user: string, password: string): string {
  const field = (v: string, value: string) => `<field var='${v}'><value>${value}</value></field>`;
  return `<x xmlns='${NS_DATA}' type='submit'>${field("FORM_TYPE", "urn:xmpp:captcha")}${field("challenge", challenge)}${field("qa", answer)}${field("username", user)}${field("password", password)}</x>`;
}

function challengeOf(reply: Element): { challenge: string; question: string | undefined; vars: string[] } {
  const x = reply.getChild("query", NS_REGISTER)?.getChild("x", NS_DATA);
  assert.ok(x, reply.toString());
  const fields = x.getChildren("field", NS_DATA);
  const value = (v: string) => fields.find((f) => f.attrs.var === v)?.getChildText("value", NS_DATA);
  assert.equal(value("FORM_TYPE"), "urn:xmpp:captcha");
  return {
    challenge: value("challenge") ?? "",
    question: fields.find((f) => f.attrs.var === "qa")?.attrs.label,
    vars: fields.map((f) => f.attrs.var ?? ""),
  };
}

describe("registration CAPTCHA (XEP-0158) and new accounts", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "modules:",
        "  register:",
        "    allow_registration: true",
        "    throttle: { per_ip: { attempts: 1000 } }",
        `    captcha: { enabled: true, questions: [{ question: ${JSON.stringify(QUESTION)}, answers: ["red", "Rot"] }] }`,
        "  anti-spam:",
        "    new_accounts: { to_strangers: { per_minute: 1, burst: 2 } }",
      ].join("\n"),
    });
    for (const u of ["alice", "carol"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("asks the question in the registration form and refuses wrong, reused and missing answers", async () => {
    const rc = await rawTls(ts);
    const form = challengeOf(await rawRegister(rc, "get"));
    assert.equal(form.question, QUESTION);
    assert.deepEqual(form.vars.sort(), ["FORM_TYPE", "challenge", "password", "qa", "sid", "username"]);

    // The legacy fields alone do not answer it.
    const legacy = await rawRegister(rc, "set", "<username>robot</username><password>robot-password</password>");
    assert.equal(stanzaErrorCondition(legacy), "not-acceptable");

    const again = challengeOf(await rawRegister(rc, "get"));
    const wrong = await rawRegister(rc, "set", submission(again.challenge, "green", "robot", "robot-password"));
    assert.equal(stanzaErrorCondition(wrong), "not-acceptable");
    // One answer per challenge: the right one now is too late.
    const reused = await rawRegister(rc, "set", submission(again.challenge, "red", "robot", "robot-password"));
    assert.equal(stanzaErrorCondition(reused), "not-acceptable");
    await assert.rejects(connect(ts, "robot", "robot-password"), /not-authorized/);
    rc.destroy();
  });

  it("creates the account on the right answer (any case, any spacing)", async () => {
    const rc = await rawTls(ts);
    const { challenge } = challengeOf(await rawRegister(rc, "get"));
    const done = await rawRegister(rc, "set", submission(challenge, "  RED ", "newbie", "newbie-secret"));
    assert.equal(done.attrs.type, "result", done.toString());
    rc.destroy();
    const c = await connect(ts, "newbie", "newbie-secret");
    clients.push(c);
  });

  describe("with slixmpp", () => {
    useSlixmpp();

    it("registers with slixmpp's XEP-0077 and XEP-0004 plugins, answering the question in the form", {
      timeout: 60_000,
    }, async () => {
      const args = { host: "127.0.0.1", port: ts.port, jid: `slixcaptcha@${D}`, password: "slix-captcha-pw" };
      const wrong = await runSlixmpp<{ ok: boolean; register_error?: string }>("register_captcha.py", {
        ...args,
        answers: { [QUESTION]: "blue" },
      });
      assert.equal(wrong.ok, false);
      assert.equal(wrong.register_error, "not-acceptable", JSON.stringify(wrong));
      const r = await runSlixmpp<{ ok: boolean; form_type: string; question: string; fields: string[] }>(
        "register_captcha.py",
        { ...args, answers: { [QUESTION]: "red" } },
      );
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.form_type, "urn:xmpp:captcha");
      assert.equal(r.question, QUESTION);
      const c = await connect(ts, "slixcaptcha", "slix-captcha-pw");
      clients.push(c);
    });
  });

  it("holds a new account's messages to strangers and slows them; an older account's pass", async () => {
    const alice = await onlineWithRoster(ts, "alice", "a");
    const carol = await onlineWithRoster(ts, "carol", "c");
    const newbie = await onlineWithRoster(ts, "newbie", "n");
    clients.push(alice, carol, newbie);

    for (const i of [1, 2, 3])
      await newbie.xmpp.send(
        xml("message", { to: `alice@${D}`, id: `n${i}`, type: "chat" }, xml("body", {}, `hello ${i}`)),
      );
    // Two within the burst are held for alice to review; the third is refused to the sender.
    const refused = await newbie.waitFor(
      (s: XmlElement) => s.is("message") && s.attrs.id === "n3" && s.attrs.type === "error",
    );
    assert.ok(refused.getChild("error")?.getChild("policy-violation"), refused.toString());
    await sleep(300);
    assert.equal(alice.received.filter((s) => s.is("message") && String(s.attrs.id).startsWith("n")).length, 0);
    const list = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("list", { xmlns: NS_Q })));
    const bodies = list
      .getChild("list", NS_Q)!
      .getChildren("item")
      .map((i: XmlElement) => i.getChild("forwarded")?.getChild("message")?.getChildText("body"));
    assert.deepEqual(bodies, ["hello 1", "hello 2"]);

    // alice (made by the operator) writes to carol, a stranger too: local strangers are allowed by default.
    await alice.xmpp.send(xml("message", { to: `carol@${D}`, id: "a1", type: "chat" }, xml("body", {}, "hi carol")));
    await carol.waitFor((s) => s.is("message") && s.attrs.id === "a1");
  });
});
