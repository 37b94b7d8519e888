// The routing table of RFC 6121 §8.5, case by case, on the real router with in-process sessions.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import { InternalAccountProvider } from "../auth/internal-account-provider.js";
import { createMemoryDriver } from "../storage/memory/index.js";
import { Hooks } from "./hooks.js";
import { IqDispatcher } from "./iq-dispatch.js";
import { type Jid, parseJid } from "./jid.js";
import { Router } from "./router.js";
import type { Session } from "./session.js";
import { InProcessSessionRegistry, type SessionRegistry } from "./session-registry.js";
import { SessionState } from "./session-state.js";
import { type Element, xml } from "./xml/element.js";
import { NS_CLIENT, NS_STANZAS_ERROR } from "./xml/ns.js";

class RecordingSession implements Session {
  readonly id: string;
  readonly jid: Jid;
  readonly remoteAddress = "127.0.0.1";
  readonly secure = true;
  readonly transport = "tcp" as const;
  readonly since = 0;
  readonly streamManagement = "off" as const;
  readonly attached = true;
  readonly state = new SessionState();
  priority = 0;
  available = true;
  presence: Element | undefined;
  interested = false;
  readonly got: Element[] = [];
  constructor(jid: string, priority = 0, available = true) {
    this.jid = parseJid(jid);
    this.id = jid;
    this.priority = priority;
    this.available = available;
  }
  send(stanza: Element): void {
    this.got.push(stanza);
  }
  close(): void {}
}

const log = pino({ level: "silent" });

async function setup() {
  const storage = createMemoryDriver();
  const accounts = new InternalAccountProvider(storage, { iterations: 4096 });
  await accounts.createUser("example.org", "juliet", "pw");
  await accounts.createUser("example.org", "romeo", "pw");
  const sessions: SessionRegistry = new InProcessSessionRegistry();
  const hooks = new Hooks(log);
  let router: Router | undefined;
  const iq = new IqDispatcher({ log, send: (s) => void router?.route(s) });
  router = new Router({ hosts: new Set(["example.org"]), sessions, iq, hooks, accounts, log });
  const romeo = new RecordingSession("romeo@example.org/orchard");
  sessions.add(romeo);
  return { router, sessions, hooks, romeo };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

function msg(to: string, type?: string): Element {
  return xml(
    "message",
    NS_CLIENT,
    { from: "romeo@example.org/orchard", to, ...(type ? { type } : {}) },
    xml("body", NS_CLIENT, {}, "hi"),
  );
}

function errorCondition(el: Element | undefined): string | undefined {
  return el
    ?.getChild("error")
    ?.elements()
    .find((c) => c.ns === NS_STANZAS_ERROR)?.name;
}

describe("RFC 6121 §8.5 routing", () => {
  let env: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    env = await setup();
  });

  it("§8.5.2.1.1 chat to bare JID: only the highest-priority resource; ties all get it", async () => {
    const a = new RecordingSession("juliet@example.org/balcony", 5);
    const b = new RecordingSession("juliet@example.org/chamber", 1);
    env.sessions.add(a);
    env.sessions.add(b);
    await env.router.route(msg("juliet@example.org", "chat"));
    assert.equal(a.got.length, 1);
    assert.equal(b.got.length, 0);
    b.priority = 5;
    await env.router.route(msg("juliet@example.org", "normal"));
    assert.equal(a.got.length, 2);
    assert.equal(b.got.length, 1);
  });

  it("§8.5.2.1.1 negative priority and unavailable resources never get bare-JID messages", async () => {
    const neg = new RecordingSession("juliet@example.org/bot", -1);
    const unavailable = new RecordingSession("juliet@example.org/idle", 10, false);
    env.sessions.add(neg);
    env.sessions.add(unavailable);
    await env.router.route(msg("juliet@example.org", "chat"));
    await settle();
    assert.equal(neg.got.length, 0);
    assert.equal(unavailable.got.length, 0);
    // §8.5.2.2.1: no offline storage module here, so the sender gets service-unavailable
    assert.equal(errorCondition(env.romeo.got[0]), "service-unavailable");
    // but a full JID still reaches them (§8.5.3.1)
    await env.router.route(msg("juliet@example.org/bot", "chat"));
    assert.equal(neg.got.length, 1);
  });

  it("§8.5.2.1.1 headline goes to every non-negative resource; groupchat to a bare JID is refused", async () => {
    const a = new RecordingSession("juliet@example.org/a", 5);
    const b = new RecordingSession("juliet@example.org/b", 0);
    env.sessions.add(a);
    env.sessions.add(b);
    await env.router.route(msg("juliet@example.org", "headline"));
    assert.equal(a.got.length + b.got.length, 2);
    await env.router.route(msg("juliet@example.org", "groupchat"));
    await settle();
    assert.equal(errorCondition(env.romeo.got[0]), "service-unavailable");
  });

  it("§8.5.2.2.1 no resources: headline and error are dropped silently; message.offline can take chat", async () => {
    await env.router.route(msg("juliet@example.org", "headline"));
    await env.router.route(msg("juliet@example.org", "error"));
    await settle();
    assert.equal(env.romeo.got.length, 0);
    const stored: Element[] = [];
    env.hooks.add(
      "message.offline",
      ({ stanza }: { stanza: Element }) => {
        stored.push(stanza);
        return "handled";
      },
      "test",
    );
    await env.router.route(msg("juliet@example.org", "chat"));
    await settle();
    assert.equal(stored.length, 1);
    assert.equal(env.romeo.got.length, 0);
  });

  it("§8.5.3.2.1 full JID without that resource: chat falls back to the bare JID, normal is refused, error ignored", async () => {
    const a = new RecordingSession("juliet@example.org/balcony", 0);
    env.sessions.add(a);
    await env.router.route(msg("juliet@example.org/gone", "chat"));
    assert.equal(a.got.length, 1);
    await env.router.route(msg("juliet@example.org/gone", "normal"));
    await env.router.route(msg("juliet@example.org/gone", "error"));
    await settle();
    assert.equal(env.romeo.got.length, 1);
    assert.equal(errorCondition(env.romeo.got[0]), "service-unavailable");
  });

  it("§8.5.3.2.3 iq to a missing resource → service-unavailable; §8.5.2.1.3 iq to a bare JID is answered by the server", async () => {
    await env.router.route(
      xml(
        "iq",
        NS_CLIENT,
        { from: "romeo@example.org/orchard", to: "juliet@example.org/gone", type: "get", id: "1" },
        xml("query", "urn:x"),
      ),
    );
    await env.router.route(
      xml(
        "iq",
        NS_CLIENT,
        { from: "romeo@example.org/orchard", to: "juliet@example.org", type: "get", id: "2" },
        xml("query", "urn:x"),
      ),
    );
    await settle();
    assert.deepEqual(
      env.romeo.got.map((s) => [s.attrs.id, s.attrs.type, errorCondition(s)]),
      [
        ["1", "error", "service-unavailable"],
        ["2", "error", "service-unavailable"],
      ],
    );
    assert.equal(env.romeo.got[1]!.attrs.from, "juliet@example.org");
  });

  it("§8.5.1 no such user: message and iq get service-unavailable, presence is ignored", async () => {
    await env.router.route(msg("nobody@example.org", "chat"));
    await env.router.route(xml("presence", NS_CLIENT, { from: "romeo@example.org/orchard", to: "nobody@example.org" }));
    await env.router.route(
      xml(
        "iq",
        NS_CLIENT,
        { from: "romeo@example.org/orchard", to: "nobody@example.org/x", type: "set", id: "3" },
        xml("q", "urn:x"),
      ),
    );
    await settle();
    assert.deepEqual(
      env.romeo.got.map((s) => [s.name, errorCondition(s)]),
      [
        ["message", "service-unavailable"],
        ["iq", "service-unavailable"],
      ],
    );
  });

  it("§8.5.2.1.2 available presence to a bare JID reaches every available resource", async () => {
    const a = new RecordingSession("juliet@example.org/a", -5);
    const b = new RecordingSession("juliet@example.org/b", 0, false);
    env.sessions.add(a);
    env.sessions.add(b);
    await env.router.route(xml("presence", NS_CLIENT, { from: "romeo@example.org/orchard", to: "juliet@example.org" }));
    assert.equal(a.got.length, 1);
    assert.equal(b.got.length, 0);
  });

  it("a domain that is not ours gets remote-server-not-found when nothing carries it", async () => {
    await env.router.route(msg("someone@elsewhere.example", "chat"));
    await settle();
    assert.equal(errorCondition(env.romeo.got[0]), "remote-server-not-found");
  });
});
