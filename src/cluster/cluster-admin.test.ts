// Cluster-wide admin questions over the loopback bus: every live node answers for itself; a node that does
// not answer within the timeout is named, not waited for.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { LoopbackNetwork } from "../../test/helpers/loopback-bus.js";
import type { RoomSummary, ServerStatus, SessionSummary } from "../admin/types.js";
import { ClusterAdmin, ClusterAdminBusyError } from "./cluster-admin.js";

const log = pino({ level: "silent" });

function status(sessions: number, rooms: number): ServerStatus {
  return {
    version: "t",
    startedAt: 0,
    uptimeSeconds: 1,
    hosts: ["example"],
    sessions: { total: sessions, byTransport: { tcp: sessions, websocket: 0, bosh: 0 } },
    s2s: { inbound: 0, outbound: 0 },
    rooms,
    occupants: rooms * 2,
    memory: { rss: 1, heapUsed: 1 },
  };
}
const session = (jid: string): SessionSummary => ({
  jid,
  address: "127.0.0.1",
  transport: "tcp",
  secure: true,
  priority: 0,
  available: true,
  streamManagement: "off",
  since: 0,
});

const room = (jid: string): RoomSummary => ({
  jid,
  occupants: 0,
  persistent: true,
  public: true,
  membersOnly: false,
  passwordProtected: false,
});

function cluster(timeoutMs = 500) {
  const network = new LoopbackNetwork();
  const node = (id: string, sessions: SessionSummary[], rooms: number) =>
    new ClusterAdmin(
      network.node(id),
      {
        status: () => status(sessions.length, rooms),
        sessions: (jid) => sessions.filter((s) => jid === undefined || s.jid === jid || s.jid.startsWith(`${jid}/`)),
        rooms: (domain) =>
          Array.from({ length: rooms }, (_, i) => room(`${id}-room${i}@conference.example`)).filter(
            (r) => domain === undefined || r.jid.endsWith(`@${domain}`),
          ),
      },
      { timeoutMs, maxPending: 2 },
      log,
    );
  return { network, node };
}

test("status and sessions gather every live node's answer", async () => {
  const { node } = cluster();
  const a = node("a", [session("alice@example/pc")], 1);
  node("b", [session("bob@example/phone"), session("alice@example/phone")], 2);
  const s = await a.status();
  assert.deepEqual(
    s.nodes.map((n) => n.node),
    ["a", "b"],
  );
  assert.equal(s.sessions, 3);
  assert.equal(s.rooms, 3);
  assert.deepEqual(s.unanswered, []);
  const alice = await a.sessions("alice@example");
  assert.deepEqual(alice.sessions.map((x) => `${x.node} ${x.jid}`).sort(), [
    "a alice@example/pc",
    "b alice@example/phone",
  ]);
});

test("rooms gather every live node's rooms, each with its node, of one domain or all", async () => {
  const { node } = cluster();
  const a = node("a", [], 1);
  node("b", [], 2);
  const all = await a.rooms();
  assert.deepEqual(all.rooms.map((r) => `${r.node} ${r.jid}`).sort(), [
    "a a-room0@conference.example",
    "b b-room0@conference.example",
    "b b-room1@conference.example",
  ]);
  assert.deepEqual(all.unanswered, []);
  assert.deepEqual((await a.rooms("muc.elsewhere")).rooms, []);
});

test("a node that does not answer is named after the timeout; the others' answers stand", async () => {
  const { network, node } = cluster(100);
  const a = node("a", [session("alice@example/pc")], 0);
  node("b", [session("bob@example/phone")], 0);
  network.node("c"); // live, but answers nothing (no ClusterAdmin there)
  const started = Date.now();
  const all = await a.sessions();
  assert.ok(Date.now() - started >= 90);
  assert.deepEqual(all.unanswered, ["c"]);
  assert.deepEqual(all.sessions.map((x) => x.jid).sort(), ["alice@example/pc", "bob@example/phone"]);
});

test("questions in flight are bounded", async () => {
  const { network, node } = cluster(100);
  const a = node("a", [], 0);
  network.node("silent");
  const first = [a.status(), a.status()];
  await assert.rejects(a.status(), ClusterAdminBusyError);
  await Promise.all(first);
});

test("a single node answers alone, at once", async () => {
  const { node } = cluster();
  const a = node("a", [session("alice@example/pc")], 0);
  assert.deepEqual(
    (await a.sessions()).sessions.map((s) => s.node),
    ["a"],
  );
});
