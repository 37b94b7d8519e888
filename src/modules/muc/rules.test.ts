// Pure MUC rules against XEP-0045's own tables and examples: §5.2.1 privileges, §7.2.15 history limits,
// §10.2 configuration forms.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_MUC } from "../../core/xml/ns.js";
import { checkAffiliationChange, defaultRole } from "./affiliations.js";
import { type HistoryEntry, historyFetchLimit, parseHistoryRequest, selectHistory } from "./history.js";
import { mucOptions } from "./options.js";
import { checkRoleChange, maySendPrivate } from "./roles.js";
import { applyConfigForm, configFeatures, configForm, defaultConfig } from "./room-config.js";
import { TokenBucket } from "../../core/token-bucket.js";

const options = mucOptions.parse({});

describe("muc roles and affiliations (XEP-0045 §5, §8, §9)", () => {
  it("gives the default role of each affiliation", () => {
    const open = defaultConfig(options);
    assert.equal(defaultRole("owner", open), "moderator");
    assert.equal(defaultRole("admin", open), "moderator");
    assert.equal(defaultRole("member", open), "participant");
    assert.equal(defaultRole("none", open), "participant");
    assert.equal(defaultRole("none", { ...open, moderated: true }), "visitor");
    assert.equal(defaultRole("outcast", open), null);
  });

  it("lets moderators kick and voice participants, never admins or owners", () => {
    const mod = { affiliation: "none" as const, role: "moderator" as const };
    assert.equal(checkRoleChange(mod, { affiliation: "none", role: "participant" }, "none"), undefined);
    assert.equal(checkRoleChange(mod, { affiliation: "none", role: "visitor" }, "participant"), undefined);
    assert.equal(checkRoleChange(mod, { affiliation: "admin", role: "moderator" }, "none"), "not-allowed");
    assert.equal(checkRoleChange(mod, { affiliation: "none", role: "participant" }, "moderator"), "forbidden");
    assert.equal(checkRoleChange({ affiliation: "member", role: "participant" }, { affiliation: "none", role: "visitor" }, "participant"), "forbidden");
    assert.equal(checkRoleChange({ affiliation: "admin", role: "moderator" }, { affiliation: "none", role: "participant" }, "moderator"), undefined);
  });

  it("lets admins manage members and outcasts, owners everything", () => {
    assert.equal(checkAffiliationChange("admin", "none", "outcast"), undefined);
    assert.equal(checkAffiliationChange("admin", "member", "none"), undefined);
    assert.equal(checkAffiliationChange("admin", "owner", "outcast"), "not-allowed");
    assert.equal(checkAffiliationChange("admin", "none", "admin"), "forbidden");
    assert.equal(checkAffiliationChange("member", "none", "member"), "forbidden");
    assert.equal(checkAffiliationChange("owner", "admin", "owner"), undefined);
  });

  it("applies the private message policy", () => {
    assert.equal(maySendPrivate("anyone", "visitor"), true);
    assert.equal(maySendPrivate("participants", "visitor"), false);
    assert.equal(maySendPrivate("moderators", "participant"), false);
    assert.equal(maySendPrivate("none", "moderator"), false);
  });
});

describe("muc history (XEP-0045 §7.2.15)", () => {
  const msg = (body: string) => {
    const m = new Element("message", "jabber:client", { type: "groupchat", from: "room@conf/nick" });
    m.c("body").t(body);
    return m;
  };
  const now = 1_000_000_000;
  const entries: HistoryEntry[] = [1, 2, 3, 4].map((n) => ({ stanza: msg(`m${n}`), when: now - (5 - n) * 60_000 }));
  const bodies = (e: HistoryEntry[]) => e.map((x) => x.stanza.getChildText("body"));
  const request = (attrs: Record<string, string>) => {
    const x = new Element("x", NS_MUC);
    x.c("history", NS_MUC, attrs);
    return parseHistoryRequest(x);
  };

  it("honours maxstanzas, seconds, since and maxchars", () => {
    assert.deepEqual(bodies(selectHistory(entries, request({ maxstanzas: "2" }), now)), ["m3", "m4"]);
    assert.deepEqual(bodies(selectHistory(entries, request({ seconds: "150" }), now)), ["m3", "m4"]);
    assert.deepEqual(bodies(selectHistory(entries, request({ since: new Date(now - 150_000).toISOString() }), now)), ["m3", "m4"]);
    const one = (entries[3] as HistoryEntry).stanza.toString().length;
    assert.deepEqual(bodies(selectHistory(entries, request({ maxchars: String(one) }), now)), ["m4"]);
    assert.deepEqual(bodies(selectHistory(entries, request({ maxchars: "0" }), now)), []);
    assert.deepEqual(bodies(selectHistory(entries, request({}), now)), ["m1", "m2", "m3", "m4"]);
  });

  it("fetches no more than the room's history length", () => {
    assert.equal(historyFetchLimit(20, {}), 20);
    assert.equal(historyFetchLimit(20, { maxstanzas: 5 }), 5);
    assert.equal(historyFetchLimit(20, { maxchars: 0 }), 0);
    assert.deepEqual(request({ maxstanzas: "x", seconds: "-1" }), {});
  });
});

describe("muc#roomconfig form (XEP-0045 §10.2)", () => {
  const submit = (fields: Record<string, string>) => {
    const x = new Element("x", NS_DATA_FORMS, { type: "submit" });
    for (const [k, v] of Object.entries(fields)) x.c("field", NS_DATA_FORMS, { var: k }).c("value").t(v);
    return x;
  };

  it("offers the current values and applies a submitted form", () => {
    const base = defaultConfig(options);
    const form = configForm(base, options);
    assert.ok(form.getChildren("field", NS_DATA_FORMS).some((f) => f.attrs.var === "muc#roomconfig_membersonly"));
    const c = applyConfigForm(
      submit({
        "muc#roomconfig_roomname": "Physics 101",
        "muc#roomconfig_persistentroom": "1",
        "muc#roomconfig_membersonly": "true",
        "muc#roomconfig_passwordprotectedroom": "1",
        "muc#roomconfig_roomsecret": "pw",
        "muc#roomconfig_whois": "anyone",
        "muc#roomconfig_maxusers": "50",
        "muc#roomconfig_allowpm": "moderators",
      }),
      base,
      options,
    );
    assert.equal(c.name, "Physics 101");
    assert.equal(c.persistent, true);
    assert.equal(c.membersOnly, true);
    assert.equal(c.password, "pw");
    assert.equal(c.whois, "anyone");
    assert.equal(c.maxUsers, 50);
    assert.equal(c.allowPm, "moderators");
    assert.deepEqual(configFeatures(c), ["muc_public", "muc_persistent", "muc_membersonly", "muc_unmoderated", "muc_nonanonymous", "muc_passwordprotected"]);
  });

  it("refuses values the room cannot take with not-acceptable", () => {
    const base = defaultConfig(options);
    for (const bad of <Record<string, string>[]>[
      { "muc#roomconfig_persistentroom": "maybe" },
      { "muc#roomconfig_whois": "everyone" },
      { "muc#roomconfig_maxusers": String(options.max_occupants + 1) },
      { "muc#roomconfig_passwordprotectedroom": "1" },
    ]) {
      assert.throws(() => applyConfigForm(submit(bad), base, options), (e: Error & { condition?: string }) => e.condition === "not-acceptable");
    }
  });
});

describe("token bucket", () => {
  it("allows a burst, then the rate", () => {
    const b = new TokenBucket(1, 2, 0);
    assert.equal(b.take(0), true);
    assert.equal(b.take(0), true);
    assert.equal(b.take(0), false);
    assert.equal(b.take(1000), true);
  });
});
