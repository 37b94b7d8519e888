import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../core/config/index.js";
import { refusedChanges, splitLiveChanges } from "./config-changes.js";

const parse = (text: string) => parseConfig(text, "natter.yaml", "/srv/natter");

describe("refusedChanges", () => {
  it("refuses data_dir and storage changes, naming them", () => {
    const running = parse("data_dir: /var/lib/natter\n");
    assert.deepEqual(refusedChanges(running, parse("data_dir: /var/lib/natter\nlog_level: debug\n")), []);
    const refused = refusedChanges(running, parse("data_dir: /srv/other\nstorage: { sqlite: { path: x.db } }\n"));
    assert.equal(refused.length, 2);
    assert.match(refused[0]!, /^data_dir cannot change while the server runs/);
    assert.match(refused[1]!, /^storage cannot change while the server runs/);
  });
});

describe("splitLiveChanges", () => {
  it("takes live settings from the file", () => {
    const next = parse("hosts: [a.example, b.example]\nlog_level: debug\nadmins: [x@a.example]\nlisteners: { c2s: { port: 5333 } }\n");
    const { config, pending } = splitLiveChanges(parse(""), next);
    assert.deepEqual(pending, []);
    assert.deepEqual(config.hosts, ["a.example", "b.example"]);
    assert.equal(config.log_level, "debug");
    assert.equal(config.listeners.c2s.port, 5333);
  });

  it("keeps the running value of what waits for a restart, and lists it", () => {
    const running = parse("");
    const next = parse(
      "c2s: { max_sessions_per_account: 3 }\nhealth: { readiness_timeout: 9 }\ns2s: { idle_timeout: 60, trust: { system_cas: false }, deny_domains: [evil.example] }\n",
    );
    const { config, pending } = splitLiveChanges(running, next);
    // In the order of the config's keys.
    assert.deepEqual(pending, [
      "s2s.trust: changed in the file; applies at the next restart",
      "health: changed in the file; applies at the next restart",
    ]);
    assert.equal(config.health.readiness_timeout, 2);
    assert.equal(config.s2s.trust.system_cas, true);
    // Client settings, the s2s policy and s2s stream settings are live.
    assert.equal(config.c2s.max_sessions_per_account, 3);
    assert.equal(config.s2s.idle_timeout, 60);
    assert.deepEqual(config.s2s.deny_domains, ["evil.example"]);
  });

  it("keeps s2s stream settings pending while federation is off (turning it on takes a restart)", () => {
    const { config, pending } = splitLiveChanges(parse("s2s: { enabled: false }\n"), parse("s2s: { enabled: false, idle_timeout: 60 }\n"));
    assert.deepEqual(pending, ["s2s.idle_timeout: changed in the file; applies at the next restart"]);
    assert.equal(config.s2s.idle_timeout, 300);
  });

  it("moves the s2s listeners live only while federation runs", () => {
    const moved = "listeners: { s2s: { port: 5999 } }\n";
    const off = splitLiveChanges(parse("s2s: { enabled: false }\n"), parse(`s2s: { enabled: false }\n${moved}`));
    assert.deepEqual(off.pending, ["listeners.s2s: changed in the file; applies at the next restart"]);
    assert.equal(off.config.listeners.s2s.port, 5269);
    const on = splitLiveChanges(parse(""), parse(moved));
    assert.deepEqual(on.pending, []);
    assert.equal(on.config.listeners.s2s.port, 5999);
  });
});

