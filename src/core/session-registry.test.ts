// The in-process session registry (RFC 6120 §7 bind and conflict) and what a remote node would see of a session.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Jid, parseJid } from "./jid.js";
import type { Session } from "./session.js";
import { InProcessSessionRegistry, type SessionRegistry } from "./session-registry.js";
import { defineSessionState, SessionState } from "./session-state.js";
import { describeSession } from "./session-view.js";
import type { Element } from "./xml/element.js";

class TestSession implements Session {
  readonly jid: Jid;
  readonly remoteAddress = "127.0.0.1";
  readonly secure = true;
  readonly transport = "tcp" as const;
  readonly since = 0;
  readonly streamManagement = "off" as const;
  readonly attached = true;
  readonly state = new SessionState();
  priority = 0;
  available = false;
  presence: Element | undefined;
  interested = false;
  closed = 0;
  constructor(
    jid: string,
    readonly id = jid,
  ) {
    this.jid = parseJid(jid);
  }
  send(): void {}
  close(): void {
    this.closed++;
  }
}

describe("InProcessSessionRegistry", () => {
  it("finds sessions by full JID and by account, in bind order, and counts them", () => {
    const reg: SessionRegistry = new InProcessSessionRegistry();
    const a = new TestSession("juliet@example.org/balcony");
    const b = new TestSession("juliet@example.org/chamber");
    const r = new TestSession("romeo@example.net/orchard");
    assert.equal(reg.add(a), undefined);
    assert.equal(reg.add(b), undefined);
    assert.equal(reg.add(r), undefined);
    assert.equal(reg.get(parseJid("juliet@example.org/chamber")), b);
    assert.equal(reg.get(parseJid("juliet@example.org/other")), undefined);
    assert.deepEqual(reg.resourcesOf("juliet@example.org"), [a, b]);
    assert.deepEqual(reg.resourcesOf(parseJid("nobody@example.org")), []);
    assert.equal(reg.countOf(parseJid("juliet@example.org/x")), 2);
    assert.equal(reg.hasResources(parseJid("romeo@example.net")), true);
    assert.equal(reg.count, 3);
    assert.deepEqual([...reg.ofHost("example.net")], [r]);
    assert.equal([...reg.all()].length, 3);
  });

  it("a session with the same full JID replaces the old one in its place (RFC 6120 §7.7.2.2)", () => {
    const reg = new InProcessSessionRegistry();
    const a = new TestSession("juliet@example.org/balcony", "1");
    const b = new TestSession("juliet@example.org/chamber");
    const a2 = new TestSession("juliet@example.org/balcony", "2");
    reg.add(a);
    reg.add(b);
    assert.equal(reg.add(a2), a);
    assert.deepEqual(reg.resourcesOf("juliet@example.org"), [a2, b]);
    assert.equal(reg.count, 2);
    // The replaced session ending later does not unbind its successor.
    assert.equal(reg.remove(a), false);
    assert.equal(reg.get(parseJid("juliet@example.org/balcony")), a2);
  });

  it("a list taken before sessions end stays as it was (account removal closes while iterating)", () => {
    const reg = new InProcessSessionRegistry();
    const a = new TestSession("juliet@example.org/a");
    const b = new TestSession("juliet@example.org/b");
    reg.add(a);
    reg.add(b);
    const seen: Session[] = [];
    for (const s of reg.resourcesOf("juliet@example.org")) {
      seen.push(s);
      reg.remove(s);
    }
    assert.deepEqual(seen, [a, b]);
    assert.equal(reg.count, 0);
    assert.equal(reg.hasResources(parseJid("juliet@example.org")), false);
  });
});

describe("SessionState and SessionView", () => {
  const SHARED = defineSessionState<Set<string>>("test.shared", { shared: true, describe: (s) => [...s] });
  const FLAG = defineSessionState<true>("test.flag", { shared: true });
  const LOCAL = defineSessionState<number[]>("test.local", { shared: false });

  it("keys are typed and told apart by identity, not name", () => {
    const state = new SessionState();
    const other = defineSessionState<true>("test.flag", { shared: true });
    state.set(FLAG, true);
    assert.equal(state.get(FLAG), true);
    assert.equal(state.has(other), false);
    assert.equal(state.delete(FLAG), true);
    assert.equal(state.get(FLAG), undefined);
  });

  it("a session's view carries routing facts and only the shared state, described", () => {
    const s = new TestSession("juliet@example.org/balcony");
    s.priority = 5;
    s.available = true;
    s.interested = true;
    s.state.set(SHARED, new Set(["x"]));
    s.state.set(FLAG, true);
    s.state.set(LOCAL, [1, 2]);
    const view = describeSession(s, "node-a");
    assert.equal(view.jid, "juliet@example.org/balcony");
    assert.equal(view.node, "node-a");
    assert.equal(view.priority, 5);
    assert.equal(view.available, true);
    assert.equal(view.interested, true);
    assert.deepEqual(view.shared, { "test.shared": ["x"], "test.flag": true });
    // Plain data: it survives serialisation as a remote node would receive it.
    assert.deepEqual(JSON.parse(JSON.stringify(view.shared)), view.shared);
  });
});
