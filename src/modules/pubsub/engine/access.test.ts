// XEP-0060 §4.5 access models with §4.1 affiliations: who may read a node, and the error each refusal carries.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseJid } from "../../../core/jid.js";
import type { RosterStore } from "../../roster/roster-store.js";
import { type AccessFacts, accessError } from "./access.js";
import { PEP_DEFAULT_CONFIG } from "./node-config.js";
import type { Affiliation, PubsubNode } from "./node-store.js";

const node = (
  access_model: PubsubNode["config"]["access_model"],
  subscribers: Record<string, string> = {},
): PubsubNode => ({
  config: { ...PEP_DEFAULT_CONFIG, access_model, roster_groups_allowed: ["friends"] },
  created: 0,
  subscribers,
  affiliations: {},
});

// Alice's roster: bob (from), carol (none) in group friends.
const roster = {
  get: async (owner: string, jid: string) =>
    owner !== "alice"
      ? undefined
      : jid === "bob@h"
        ? { jid, subscription: "from", groups: [] }
        : jid === "carol@h"
          ? { jid, subscription: "none", groups: ["friends"] }
          : undefined,
} as unknown as RosterStore;

const facts = (affiliation: Affiliation | "none", rosterOwners = ["alice"]): AccessFacts => ({
  roster,
  rosterOwners,
  affiliation,
});
const denied = async (n: PubsubNode, who: string, f: AccessFacts) => {
  const err = await accessError(n, parseJid(who), f);
  return err ? `${err.condition}${err.appCondition ? `/${err.appCondition.name}` : ""}` : "ok";
};

describe("pubsub access models (XEP-0060 §4.5)", () => {
  it("open: anyone but an outcast", async () => {
    assert.equal(await denied(node("open"), "x@y", facts("none")), "ok");
    assert.equal(await denied(node("open"), "x@y", facts("outcast")), "forbidden");
  });

  it("presence and roster read the owners' rosters", async () => {
    assert.equal(await denied(node("presence"), "bob@h/r", facts("none")), "ok");
    assert.equal(
      await denied(node("presence"), "carol@h", facts("none")),
      "not-authorized/presence-subscription-required",
    );
    assert.equal(
      await denied(node("presence"), "bob@h", facts("none", [])),
      "not-authorized/presence-subscription-required",
    );
    assert.equal(await denied(node("roster"), "carol@h", facts("none")), "ok");
    assert.equal(await denied(node("roster"), "bob@h", facts("none")), "not-authorized/not-in-roster-group");
  });

  it("whitelist: members; authorize: members and approved subscribers", async () => {
    assert.equal(await denied(node("whitelist"), "x@y", facts("none")), "not-allowed/closed-node");
    assert.equal(await denied(node("whitelist"), "x@y", facts("member")), "ok");
    assert.equal(await denied(node("authorize"), "x@y/r", facts("none")), "not-authorized/not-subscribed");
    assert.equal(await denied(node("authorize", { "x@y/r": "1" }), "x@y/other", facts("none")), "ok");
    assert.equal(await denied(node("authorize"), "x@y", facts("member")), "ok");
  });

  it("owners and publishers always read", async () => {
    for (const model of ["presence", "roster", "whitelist", "authorize"] as const) {
      assert.equal(await denied(node(model), "x@y", facts("owner")), "ok");
      assert.equal(await denied(node(model), "x@y", facts("publisher")), "ok");
    }
  });
});
