// Room placement over an in-process bus (test/helpers/loopback-bus.ts): MUC services of several nodes on one
// database, each routing its output into a list. The e2e test over Redis and real sockets is
// test/e2e/cluster-muc.test.ts; this one checks the placement rules one by one.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { LoopbackNetwork } from "../../../test/helpers/loopback-bus.js";
import { rendezvousOwner } from "../../cluster/rendezvous.js";
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DATA_FORMS, NS_MUC, NS_MUC_OWNER, NS_MUC_USER } from "../../core/xml/ns.js";
import { createMemoryDriver } from "../../storage/memory/index.js";
import type { StorageDriver } from "../../storage/types.js";
import { MucClusterInbox, MucPlacement } from "./cluster-placement.js";
import { dispatch } from "./index.js";
import { mucOptions } from "./options.js";
import { RoomStore } from "./room-store.js";
import { MucService } from "./service.js";

const DOMAIN = "conf.example";
const log = pino({ level: "silent" });
const settle = () => new Promise((r) => setTimeout(r, 30));

function node(id: string, network: LoopbackNetwork, storage: StorageDriver, persistent = false) {
  const bus = network.node(id);
  const out: Element[] = [];
  const svc = new MucService({
    domain: DOMAIN,
    host: "example",
    options: mucOptions.parse({ room_defaults: { persistent } }),
    log,
    router: {
      route: async (s) => {
        out.push(s);
      },
    },
    admins: new Set(),
    hosts: new Set(["example"]),
    roomStore: new RoomStore(storage.open("example", "muc-rooms", "keyval"), DOMAIN, new Set()),
    archive: storage.open("example", "muc-archive", "archive"),
    secret: Buffer.alloc(32),
  });
  const placement = new MucPlacement({
    svc,
    bus,
    local: (s, to) => dispatch(svc, s, to),
    hosts: new Set(["example"]),
    log,
  });
  new MucClusterInbox(bus, log).add(DOMAIN, (s, d, h) => placement.receive(s, d, h));
  bus.onMembership((e) => void placement.membershipChanged(e));
  /** What a client of this node sends to the MUC domain (the router hands it to the component). */
  const send = (stanza: Element) => placement.dispatch(stanza, tryParseJid(stanza.attrs.to)!);
  return { id, bus, svc, placement, out, send };
}

/** A room localpart whose owner among `nodes` is `owner`. */
function roomOwnedBy(owner: string, nodes: string[], prefix = "room"): string {
  for (let i = 0; ; i++) if (rendezvousOwner(`${prefix}${i}@${DOMAIN}`, nodes) === owner) return `${prefix}${i}`;
}

const join = (from: string, room: string, nick: string) =>
  new Element("presence", NS_CLIENT, { from, to: `${room}@${DOMAIN}/${nick}` }, [new Element("x", NS_MUC)]);
const groupchat = (from: string, room: string, body: string) =>
  new Element("message", NS_CLIENT, { from, to: `${room}@${DOMAIN}`, type: "groupchat" }, [
    new Element("body", NS_CLIENT, {}, [body]),
  ]);
/** §10.1.2: the creator accepts the default configuration (an instant room), which unlocks the room. */
const instant = (from: string, room: string) =>
  new Element("iq", NS_CLIENT, { from, to: `${room}@${DOMAIN}`, type: "set", id: "c1" }, [
    new Element("query", NS_MUC_OWNER, {}, [new Element("x", NS_DATA_FORMS, { type: "submit" })]),
  ]);
const statuses = (p: Element) =>
  p
    .getChild("x", NS_MUC_USER)
    ?.getChildren("status", NS_MUC_USER)
    .map((s) => Number(s.attrs.code)) ?? [];
const to = (out: Element[], jid: string) => out.filter((s) => s.attrs.to === jid);

test("a room's stanzas sent on another node are handled by the owner, and the owner's output carries on", async () => {
  const network = new LoopbackNetwork();
  const storage = createMemoryDriver();
  const a = node("a", network, storage);
  const b = node("b", network, storage);
  const room = roomOwnedBy("a", ["a", "b"]);
  await b.send(join("bob@example/phone", room, "bob"));
  await settle();
  assert.equal(b.svc.rooms.size, 0, "node b holds no room");
  assert.ok(a.svc.rooms.get(room)?.occupants.has("bob"), "the room on node a has bob");
  const self = to(a.out, "bob@example/phone").find((s) => s.name === "presence");
  assert.ok(self && statuses(self).includes(110), "node a sends bob his self-presence");
  assert.deepEqual(b.out, []);
  await b.send(instant("bob@example/phone", room));
  await settle();
  await a.send(join("alice@example/pc", room, "alice"));
  await b.send(groupchat("bob@example/phone", room, "hello"));
  await settle();
  const reflected = to(a.out, "alice@example/pc").filter((s) => s.name === "message");
  assert.equal(reflected.at(-1)?.getChildText("body"), "hello");
  assert.equal(reflected.at(-1)?.attrs.from, `${room}@${DOMAIN}/bob`);
});

test("the owner dies: its remote occupants get status 332, the persistent room is read back on the next node", async () => {
  const network = new LoopbackNetwork();
  const storage = createMemoryDriver();
  const a = node("a", network, storage, true);
  const b = node("b", network, storage, true);
  const room = roomOwnedBy("a", ["a", "b"]);
  await b.send(join("bob@example/phone", room, "bob"));
  // §10.1.2 an instant room: the owner accepts the default (persistent) configuration.
  await b.send(instant("bob@example/phone", room));
  await settle();
  assert.equal(a.svc.rooms.get(room)?.locked, false);
  assert.deepEqual(await storage.open("example", "muc-rooms", "keyval").users(), [room]);

  network.kill("a");
  await b.placement.settled();
  const gone = to(b.out, "bob@example/phone").find((s) => s.attrs.type === "unavailable");
  assert.ok(gone, "bob is told the room is gone");
  assert.deepEqual(statuses(gone), [110, 332]);
  assert.equal(gone.attrs.from, `${room}@${DOMAIN}/bob`);
  const taken = b.svc.rooms.get(room);
  assert.ok(taken, "node b took the persistent room over");
  assert.equal(taken.affiliationOf("bob@example"), "owner", "with its stored affiliations");
  assert.equal(taken.occupants.size, 0);
  // Bob rejoins: now handled on node b.
  b.out.length = 0;
  await b.send(join("bob@example/phone", room, "bob"));
  assert.ok(taken.occupants.has("bob"));
});

test("occupants whose node died leave the rooms held elsewhere, as if their sessions closed", async () => {
  const network = new LoopbackNetwork();
  const storage = createMemoryDriver();
  const a = node("a", network, storage);
  const b = node("b", network, storage);
  const room = roomOwnedBy("a", ["a", "b"]);
  await a.send(join("alice@example/pc", room, "alice"));
  await a.send(instant("alice@example/pc", room));
  await b.send(join("bob@example/phone", room, "bob"));
  await settle();
  assert.equal(a.svc.rooms.get(room)?.occupants.size, 2);
  network.kill("b");
  a.out.length = 0;
  await a.placement.settled();
  assert.deepEqual([...(a.svc.rooms.get(room)?.occupants.keys() ?? [])], ["alice"]);
  const left = to(a.out, "alice@example/pc").find((s) => s.attrs.type === "unavailable");
  assert.equal(left?.attrs.from, `${room}@${DOMAIN}/bob`, "alice sees bob leave");
});

test("a session closing on its node leaves the rooms it joined on other nodes", async () => {
  const network = new LoopbackNetwork();
  const storage = createMemoryDriver();
  const a = node("a", network, storage);
  const b = node("b", network, storage);
  const room = roomOwnedBy("a", ["a", "b"]);
  await a.send(join("alice@example/pc", room, "alice"));
  await a.send(instant("alice@example/pc", room));
  await b.send(join("bob@example/phone", room, "bob"));
  await settle();
  assert.equal(a.svc.rooms.get(room)?.occupants.size, 2);
  await b.placement.sessionClosed("bob@example/phone");
  await settle();
  assert.deepEqual([...(a.svc.rooms.get(room)?.occupants.keys() ?? [])], ["alice"]);
});

test("a node joining takes the rooms it now owns: their occupants are told (332), the others stay put", async () => {
  const network = new LoopbackNetwork();
  const storage = createMemoryDriver();
  const a = node("a", network, storage);
  const moving = roomOwnedBy("c", ["a", "c"], "m");
  const staying = roomOwnedBy("a", ["a", "c"], "s");
  await a.send(join("alice@example/pc", moving, "alice"));
  await a.send(join("alice@example/pc", staying, "alice"));
  assert.equal(a.svc.rooms.size, 2, "alone, node a holds both");
  a.out.length = 0;
  const c = node("c", network, storage);
  await a.placement.settled();
  assert.deepEqual([...a.svc.rooms.keys()], [staying]);
  const told = to(a.out, "alice@example/pc");
  assert.equal(told.length, 1);
  assert.equal(told[0]?.attrs.from, `${moving}@${DOMAIN}/alice`);
  assert.deepEqual(statuses(told[0]!), [110, 332]);
  // Alice rejoins the moved room through node a: it is created on node c.
  await a.send(join("alice@example/pc", moving, "alice"));
  await settle();
  assert.ok(c.svc.rooms.get(moving)?.occupants.has("alice"));
});

test("a forwarded stanza for a domain nobody serves, or malformed, is dropped with a log line, not a crash", async () => {
  const network = new LoopbackNetwork();
  const storage = createMemoryDriver();
  const a = node("a", network, storage);
  network.node("b");
  const bus = network.buses.get("b")!;
  await bus.send("a", { kind: "muc.stanza", domain: DOMAIN, xml: "<presence", hops: 1 });
  await bus.send("a", { kind: "muc.stanza", domain: "other.example", xml: "<presence/>", hops: 1 });
  await bus.send("a", { kind: "muc.stanza", xml: 5 });
  await settle();
  assert.deepEqual(a.out, []);
});
