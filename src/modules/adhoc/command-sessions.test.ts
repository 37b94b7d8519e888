import assert from "node:assert/strict";
import { test } from "node:test";
import type { RegisteredCommand } from "../../core/commands.js";
import { parseJid } from "../../core/jid.js";
import { CommandSessions } from "./command-sessions.js";

const command: RegisteredCommand = {
  node: "n",
  owner: "test@h",
  definition: { name: "n", allowed: () => true, run: () => ({}) },
};
const form = { type: "form" as const, fields: [] };
const juliet1 = parseJid("juliet@capulet.lit/balcony");
const juliet2 = parseJid("juliet@capulet.lit/chamber");
const romeo = parseJid("romeo@montague.lit/orchard");

test("a session belongs to its requester's full JID", () => {
  const sessions = new CommandSessions({ perAccount: 5, total: 10, idleMs: 1000 });
  const opened = sessions.open(juliet1, command, form, 0);
  assert.ok(opened.ok);
  assert.equal(sessions.find(juliet1, opened.session.id, 1), opened.session);
  assert.equal(sessions.find(juliet2, opened.session.id, 1), undefined);
  assert.equal(sessions.find(romeo, opened.session.id, 1), undefined);
});

test("limits sessions per account (all resources) and in all", () => {
  const sessions = new CommandSessions({ perAccount: 2, total: 3, idleMs: 1000 });
  assert.ok(sessions.open(juliet1, command, form, 0).ok);
  const second = sessions.open(juliet2, command, form, 0);
  assert.ok(second.ok);
  assert.deepEqual(sessions.open(juliet1, command, form, 0), { ok: false, reason: "per-account" });
  assert.ok(sessions.open(romeo, command, form, 0).ok);
  assert.deepEqual(sessions.open(parseJid("nurse@capulet.lit/x"), command, form, 0), { ok: false, reason: "total" });
  sessions.end(second.session);
  assert.ok(sessions.open(juliet1, command, form, 0).ok);
});

test("an idle session expires; an ended id is told apart from one never given", () => {
  const sessions = new CommandSessions({ perAccount: 1, total: 10, idleMs: 1000 });
  const opened = sessions.open(juliet1, command, form, 0);
  assert.ok(opened.ok);
  assert.equal(sessions.find(juliet1, opened.session.id, 900), opened.session); // used: the clock restarts
  assert.equal(sessions.find(juliet1, opened.session.id, 1800), opened.session);
  assert.equal(sessions.find(juliet1, opened.session.id, 2801), "expired");
  assert.equal(sessions.find(juliet1, "never", 2801), undefined);
  // At the per-account limit, a stale session is swept so that a new one opens.
  const again = sessions.open(juliet1, command, form, 3000);
  assert.ok(again.ok);
  assert.ok(sessions.open(juliet1, command, form, 4001).ok);
  assert.equal(sessions.sweep(10_000), 1);
  assert.equal(sessions.size, 0);
});
