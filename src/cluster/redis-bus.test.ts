// The Redis transport against the real Redis at 127.0.0.1:6379, each test under a key prefix of its own.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { after, describe, test } from "node:test";
import { createClient } from "@redis/client";
import { pino } from "pino";
import { RedisClusterBus, type RedisBusOptions } from "./redis-bus.js";
import type { ClusterMessage, InboxDelivery } from "./types.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const buses: RedisClusterBus[] = [];

function prefix(): string {
  return `natter-test:${randomBytes(6).toString("hex")}:`;
}

async function bus(keyPrefix: string, nodeId: string, extra: Partial<RedisBusOptions> = {}): Promise<RedisClusterBus> {
  const created = await RedisClusterBus.connect({
    url: REDIS_URL,
    nodeId,
    keyPrefix,
    heartbeatIntervalMs: 200,
    nodeTimeoutMs: 1000,
    maxQueued: 1000,
    inboxBatch: 50,
    sendBatch: 500,
    connectTimeoutMs: 5000,
    logger,
    ...extra,
  });
  buses.push(created);
  return created;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function redisAdmin() {
  const client = createClient({ url: REDIS_URL, RESP: 2 });
  client.on("error", () => {});
  await client.connect();
  return client;
}

async function cleanup(keyPrefix: string): Promise<void> {
  const client = await redisAdmin();
  const keys = (await client.sendCommand(["KEYS", `${keyPrefix}*`])) as string[];
  if (keys.length > 0) await client.sendCommand(["DEL", ...keys]);
  client.destroy();
}

after(async () => {
  for (const b of buses) await b.close().catch(() => {});
});

/** A TCP relay to Redis that the test can cut and restore: Redis unreachable without touching the shared server. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(6379, "127.0.0.1");
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe("RedisClusterBus", () => {
  test("two nodes exchange inbox messages and broadcasts; a node ignores its own broadcasts", async () => {
    const keyPrefix = prefix();
    const a = await bus(keyPrefix, "a");
    const b = await bus(keyPrefix, "b");
    const atB: [ClusterMessage, InboxDelivery][] = [];
    const atA: [ClusterMessage, InboxDelivery][] = [];
    b.onMessage("test.ping", (message, delivery) => {
      atB.push([message, delivery]);
    });
    a.onMessage("test.pong", async (message, delivery) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      atA.push([message, delivery]);
    });
    const broadcastsAtA: string[] = [];
    const broadcastsAtB: string[] = [];
    a.onBroadcast("test.news", (message, from) => broadcastsAtA.push(`${from}:${message.n}`));
    b.onBroadcast("test.news", (message, from) => broadcastsAtB.push(`${from}:${message.n}`));
    a.start();
    b.start();
    await until(() => a.liveNodes().length === 2 && b.liveNodes().length === 2, "both nodes live");
    assert.deepEqual(a.liveNodes(), ["a", "b"]);
    assert.equal(a.connected, true);

    for (let n = 0; n < 120; n++) await a.send("b", { kind: "test.ping", n });
    await b.send("a", { kind: "test.pong", n: 1 });
    await until(() => atB.length === 120 && atA.length === 1, "inbox messages");
    assert.deepEqual(
      atB.map(([message]) => message.n),
      Array.from({ length: 120 }, (_, n) => n),
      "in order",
    );
    assert.deepEqual(atB[0]?.[1], { from: "a" });
    assert.deepEqual(atA[0]?.[1], { from: "b" });

    a.broadcast({ kind: "test.news", n: 7 });
    await until(() => broadcastsAtB.length === 1, "broadcast");
    assert.deepEqual(broadcastsAtB, ["a:7"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(broadcastsAtA, [], "own broadcast ignored");

    // Handled entries are acknowledged and deleted: the streams hold nothing once the handlers settled.
    const admin = await redisAdmin();
    await until(() => true, "");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(Number(await admin.sendCommand(["XLEN", `${keyPrefix}inbox:b`])), 0);
    assert.equal(Number(await admin.sendCommand(["XLEN", `${keyPrefix}inbox:a`])), 0);
    admin.destroy();
    await a.close();
    await b.close();
    await cleanup(keyPrefix);
  });

  test("a node id held by a live node is refused", async () => {
    const keyPrefix = prefix();
    const a = await bus(keyPrefix, "same");
    await assert.rejects(bus(keyPrefix, "same"), /cluster\.node_id "same" is in use by a live node/);
    await a.close();
    // After a clean leave the id is free again.
    const again = await bus(keyPrefix, "same");
    await again.close();
    await cleanup(keyPrefix);
  });

  test("a node that dies: one survivor leads, and its unacknowledged and unread entries are reclaimed", async () => {
    const keyPrefix = prefix();
    const a = await bus(keyPrefix, "a");
    const b = await bus(keyPrefix, "b");
    const c = await bus(keyPrefix, "c");
    // a reads but never settles: its entries stay pending when it dies.
    let readByA = 0;
    a.onMessage("test.stanza", () => {
      readByA++;
      return new Promise(() => {});
    });
    const reclaimed: { at: string; n: unknown; delivery: InboxDelivery }[] = [];
    const events: { at: string; node: string; change: string; leader: boolean }[] = [];
    for (const [name, node] of [
      ["b", b],
      ["c", c],
    ] as const) {
      node.onMessage("test.stanza", (message, delivery) => {
        reclaimed.push({ at: name, n: message.n, delivery });
      });
      node.onMembership((event) => events.push({ at: name, ...event }));
    }
    a.start();
    b.start();
    c.start();
    await until(() => b.liveNodes().length === 3 && c.liveNodes().length === 3, "three nodes live");
    await b.send("a", { kind: "test.stanza", n: 1 });
    await until(() => readByA === 1, "a read the first entry");
    a.abandon(); // like kill -9: no clean leave, the first entry unacknowledged
    await b.send("a", { kind: "test.stanza", n: 2 }); // unread by anyone
    const diedAt = Date.now();
    await until(() => events.filter((e) => e.change === "down").length === 2, "both survivors told", 4000);
    assert.ok(Date.now() - diedAt < 1000 + 200 + 500, "noticed within node_timeout + one heartbeat + slack");
    const downs = events.filter((e) => e.change === "down");
    assert.deepEqual(downs.map((e) => e.node).sort(), ["a", "a"]);
    assert.equal(downs.filter((e) => e.leader).length, 1, "exactly one leader");
    const leader = downs.find((e) => e.leader)?.at;
    await until(() => reclaimed.length === 2, "entries reclaimed");
    assert.deepEqual(reclaimed.map((r) => r.n).sort(), [1, 2]);
    for (const r of reclaimed) {
      assert.equal(r.at, leader, "handled on the leader");
      assert.deepEqual(r.delivery, { from: "b", reclaimedFrom: "a" });
    }
    await until(() => !b.liveNodes().includes("a") && !c.liveNodes().includes("a"), "a gone from the live set");
    // A send to the dead node now comes back to the sender as reclaimed, instead of into a stream nobody reads.
    await c.send("a", { kind: "test.stanza", n: 3 });
    await until(() => reclaimed.length === 3, "send to a dead node reclaimed");
    assert.deepEqual(reclaimed[2], { at: "c", n: 3, delivery: { from: "c", reclaimedFrom: "a" } });
    const admin = await redisAdmin();
    await until(() => true, "");
    assert.equal(Number(await admin.sendCommand(["EXISTS", `${keyPrefix}inbox:a`])), 0, "the dead inbox is removed");
    admin.destroy();
    await b.close();
    await c.close();
    await cleanup(keyPrefix);
  });

  test("Redis unreachable: sends are queued (bounded, oldest refused), flushed on reconnection, resync fires", async () => {
    const keyPrefix = prefix();
    const relay = new Relay();
    await relay.open();
    const a = await bus(keyPrefix, "a", { url: `redis://127.0.0.1:${relay.port}`, maxQueued: 5, nodeTimeoutMs: 3000 });
    const b = await bus(keyPrefix, "b", { nodeTimeoutMs: 3000 });
    const atB: unknown[] = [];
    b.onMessage("test.m", (message) => {
      atB.push(message.n);
    });
    let resyncs = 0;
    a.onResync(() => {
      resyncs++;
    });
    a.start();
    b.start();
    await until(() => a.liveNodes().length === 2, "both live");
    await relay.cut();
    await until(() => !a.connected, "a notices the loss");
    const results = Array.from({ length: 8 }, (_, n) =>
      a.send("b", { kind: "test.m", n }).then(
        () => "ok",
        () => "refused",
      ),
    );
    a.broadcast({ kind: "test.dropped" }); // dropped quietly, not a crash
    await relay.open();
    const outcomes = await Promise.all(results);
    assert.deepEqual(outcomes, ["refused", "refused", "refused", "ok", "ok", "ok", "ok", "ok"]);
    await until(() => atB.length === 5, "queued sends delivered");
    assert.deepEqual(atB, [3, 4, 5, 6, 7]);
    await until(() => resyncs >= 1, "resync after reconnection");
    assert.equal(a.connected, true);
    await a.send("b", { kind: "test.m", n: 8 });
    await until(() => atB.length === 6, "routing works after");
    await a.close();
    await b.close();
    await relay.cut();
    await cleanup(keyPrefix);
  });

  test("connections killed on the Redis side (CLIENT KILL): the node reconnects, resyncs and keeps delivering", async () => {
    const keyPrefix = prefix();
    const a = await bus(keyPrefix, "a");
    const b = await bus(keyPrefix, "b");
    const atB: unknown[] = [];
    b.onMessage("test.m", (message) => {
      atB.push(message.n);
    });
    let resyncs = 0;
    b.onResync(() => {
      resyncs++;
    });
    let downs = 0;
    a.onMembership((event) => {
      if (event.change === "down") downs++;
    });
    a.start();
    b.start();
    await until(() => a.liveNodes().length === 2, "both live");
    const admin = await redisAdmin();
    const list = String(await admin.sendCommand(["CLIENT", "LIST"]));
    const ids = list
      .split("\n")
      .filter((line) => line.includes(`name=natter:${keyPrefix}b:`))
      .map((line) => /id=(\d+)/.exec(line)?.[1]);
    assert.equal(ids.length, 3, "three connections per node");
    const sending = (async () => {
      for (let n = 0; n < 50; n++) {
        await a.send("b", { kind: "test.m", n });
        if (n === 10) for (const id of ids) await admin.sendCommand(["CLIENT", "KILL", "ID", String(id)]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await sending;
    await until(() => new Set(atB).size === 50, "every message delivered");
    await until(() => resyncs >= 1, "resync");
    assert.equal(downs, 0, "a short loss is not a death");
    admin.destroy();
    await a.close();
    await b.close();
    await cleanup(keyPrefix);
  });

  test("inboxLag counts what waits in a node's inbox, unread or unacknowledged, and is 0 once handled", async () => {
    const keyPrefix = prefix();
    const a = await bus(keyPrefix, "a");
    const b = await bus(keyPrefix, "b");
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const atB: number[] = [];
    b.onMessage("test.lag", async (message) => {
      await held;
      atB.push(message.n as number);
    });
    a.start();
    for (let n = 0; n < 3; n++) await a.send("b", { kind: "test.lag", n });
    // b has not started reading: three unread entries, measured at its next heartbeat.
    await until(() => b.inboxLag() === 3, "three waiting");
    b.start();
    // Read but held by the handler: still waiting (pending, not acknowledged).
    await until(() => atB.length === 0 && b.inboxLag() === 3, "three pending");
    release();
    await until(() => atB.length === 3, "handled");
    await until(() => b.inboxLag() === 0, "none waiting");
    await a.close();
    await b.close();
    await cleanup(keyPrefix);
  });

  test("the sends of one turn to a node reach Redis as one call and their acknowledgements as one; a message of strings is stored as plain fields", async () => {
    const keyPrefix = prefix();
    const a = await bus(keyPrefix, "a");
    const b = await bus(keyPrefix, "b");
    const got: ClusterMessage[] = [];
    b.onMessage("test.stanza", (message) => {
      got.push(message);
    });
    a.start();
    b.start();
    await until(() => a.liveNodes().length === 2 && b.liveNodes().length === 2, "both nodes live");
    const admin = await redisAdmin();
    const inbox = `${keyPrefix}inbox:b`;
    const drained = async (count: number) => {
      await until(() => got.length === count, "delivered");
      for (;;) {
        if (Number(await admin.sendCommand(["XLEN", inbox])) === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Loads the scripts (EVALSHA answers NOSCRIPT the first time, then EVAL runs).
    await a.send("b", { kind: "test.stanza", to: "warm@x/r", xml: "<message/>" });
    await drained(1);

    // What an operator watching Redis sees: the commands on b's inbox, those run inside a script apart.
    const monitor = await redisAdmin();
    const calls: string[] = [];
    const scripted: string[] = [];
    await monitor.monitor((line: string) => {
      if (!line.includes(inbox) || /"(XREADGROUP|XINFO|XAUTOCLAIM|XGROUP)"/i.test(line)) return;
      (line.includes(" lua]") ? scripted : calls).push(line);
    });
    const sends = Array.from({ length: 100 }, (_, n) =>
      a.send("b", { kind: "test.stanza", to: `u${n}@x/r`, xml: `<message to='u${n}@x/r'><body>${n}</body></message>` }),
    );
    await Promise.all(sends);
    await drained(101);
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.destroy();
    assert.deepEqual(
      got.slice(1).map((m) => m.to),
      Array.from({ length: 100 }, (_, n) => `u${n}@x/r`),
      "in order",
    );
    assert.equal(got[1]?.xml, "<message to='u0@x/r'><body>0</body></message>");
    const sendCalls = calls.filter((line) => line.includes(`${keyPrefix}nodes`));
    assert.equal(sendCalls.length, 1, `one call for the 100 sends: ${sendCalls.length}`);
    // Read in batches of 50 (inboxBatch), each acknowledged and deleted at once.
    const ackCalls = calls.length - sendCalls.length;
    assert.ok(ackCalls >= 1 && ackCalls <= 4, `acknowledgements in a call per read batch: ${ackCalls}`);
    // The stanza's XML as a field of its own, not escaped into JSON.
    const firstAdd = scripted.find((line) => /"XADD"/i.test(line)) ?? "";
    assert.match(
      firstAdd,
      /"k" "test\.stanza" "to" "u0@x\/r" "xml" "<message to='u0@x\/r'><body>0<\/body><\/message>"/,
    );
    admin.destroy();
    await a.close();
    await b.close();
    await cleanup(keyPrefix);
  });
});
