import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { parseBoshRequest } from "./bosh-body.js";
import { BoshSessions } from "./bosh-sessions.js";

const settings = {
  maxWait: 60,
  maxHold: 1,
  maxRequests: 2,
  inactivity: 60,
  maxPause: 120,
  polling: 2,
  maxQueuedBytes: 10_000,
  maxResponseBytes: 5000,
};
const creation = () =>
  parseBoshRequest(
    Buffer.from("<body xmlns='http://jabber.org/protocol/httpbind' rid='7' to='example.org' wait='60' hold='1'/>"),
    { maxStanzaBytes: 10_000, maxDepth: 5 },
  );

test("caps: per address (IPv6 per /64) and in total; an ended session frees its place; sids are 128 random bits", () => {
  const sessions = new BoshSessions(settings, { maxSessions: 3, maxSessionsPerAddress: 2 }, pino({ level: "silent" }));
  const a = sessions.create(creation(), "2001:db8::1", true);
  const b = sessions.create(creation(), "2001:db8::2", true);
  assert.match(a.session?.sid ?? "", /^[0-9a-f]{32}$/);
  assert.notEqual(a.session?.sid, b.session?.sid);
  assert.equal(sessions.create(creation(), "2001:db8::3", true).refused, "policy-violation", "same /64");
  assert.ok(sessions.create(creation(), "192.0.2.1", false).session);
  assert.equal(sessions.create(creation(), "192.0.2.2", false).refused, "undefined-condition", "total");
  a.session?.destroy();
  assert.equal(sessions.get(a.session?.sid ?? ""), undefined);
  assert.ok(sessions.create(creation(), "2001:db8::4", true).session);
  sessions.closeAll();
  assert.equal(sessions.size, 0);
});
