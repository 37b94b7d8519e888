// The cluster gauges (natter_cluster_*): read from the bus at scrape time; zeros on a single node.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ServerCounters } from "../core/server-counters.js";
import { InProcessSessionRegistry } from "../core/session-registry.js";
import { type ClusterMetricSource, ServerMetrics } from "./server-metrics.js";

function metrics(cluster: () => ClusterMetricSource | undefined) {
  return new ServerMetrics({
    counters: new ServerCounters(),
    sessions: new InProcessSessionRegistry(),
    hosts: new Set(["example.org"]),
    s2sLinks: () => ({ inbound: 0, outbound: 0 }),
    occupancy: async () => ({ rooms: 0, occupants: 0 }),
    version: "test",
    startedAt: 0,
    cluster,
  });
}

const value = (text: string, name: string) => text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1];

test("live nodes, Redis reachability and the inbox lag are exported as the bus reports them", async () => {
  let connected = true;
  const m = metrics(() => ({
    liveNodes: () => ["a", "b", "c"],
    get connected() {
      return connected;
    },
    inboxLag: () => 7,
  }));
  let text = await m.text();
  assert.equal(value(text, "natter_cluster_nodes"), "3");
  assert.equal(value(text, "natter_cluster_redis_connected"), "1");
  assert.equal(value(text, "natter_cluster_inbox_lag"), "7");
  connected = false;
  text = await m.text();
  assert.equal(value(text, "natter_cluster_redis_connected"), "0");
});

test("a single node: zero nodes, not connected, no lag", async () => {
  const text = await metrics(() => undefined).text();
  assert.equal(value(text, "natter_cluster_nodes"), "0");
  assert.equal(value(text, "natter_cluster_redis_connected"), "0");
  assert.equal(value(text, "natter_cluster_inbox_lag"), "0");
});
