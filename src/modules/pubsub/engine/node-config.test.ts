import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StanzaError } from "../../../core/errors.js";
import type { DataForm } from "../../../core/xml/data-form.js";
import {
  applyConfigForm,
  type ConfigRules,
  configForm,
  configFromPublishOptions,
  PEP_DEFAULT_CONFIG as DEFAULT_CONFIG,
  effectiveMaxItems,
  InvalidConfigError,
  pepConfigRules,
  preconditionsMet,
} from "./node-config.js";

const LIMIT = 1000;
const PEP = pepConfigRules(LIMIT);
const options = (fields: Record<string, string | string[]>): DataForm => ({
  type: "submit",
  fields: [
    { var: "FORM_TYPE", type: "hidden", values: ["http://jabber.org/protocol/pubsub#publish-options"] },
    ...Object.entries(fields).map(([k, v]) => ({ var: k, values: Array.isArray(v) ? v : [v] })),
  ],
});

describe("PEP node configuration (XEP-0060 §8.2, §7.1.5)", () => {
  it("has the XEP-0163 §5 defaults", () => {
    assert.equal(DEFAULT_CONFIG.access_model, "presence");
    assert.equal(DEFAULT_CONFIG.send_last_published_item, "on_sub_and_presence");
    assert.equal(DEFAULT_CONFIG.deliver_notifications, true);
  });

  it("creates a node from publish-options (OMEMO devicelist: access_model open; bundles: max_items max)", () => {
    const cfg = configFromPublishOptions(options({ "pubsub#access_model": "open", "pubsub#max_items": "max" }), PEP);
    assert.equal(cfg.access_model, "open");
    assert.equal(cfg.max_items, "max");
    assert.equal(effectiveMaxItems(cfg, LIMIT), LIMIT);
  });

  it("treats publish-options as preconditions, booleans and numbers normalised", () => {
    const cfg = applyConfigForm(
      DEFAULT_CONFIG,
      options({ "pubsub#access_model": "open", "pubsub#persist_items": "1" }),
      PEP,
    );
    assert.ok(
      preconditionsMet(
        cfg,
        options({ "pubsub#access_model": "open", "pubsub#persist_items": "true", "pubsub#max_items": "1" }),
        PEP,
      ),
    );
    assert.equal(preconditionsMet(cfg, options({ "pubsub#access_model": "presence" }), PEP), false);
    assert.equal(preconditionsMet(cfg, options({ "pubsub#max_items": "max" }), PEP), false);
    assert.equal(
      preconditionsMet(cfg, options({ "pubsub#access_model": "authorize" }), PEP),
      false,
      "an unsupported value never matches",
    );
    assert.ok(
      preconditionsMet(cfg, options({ "pubsub#unknown_option": "x" }), PEP),
      "unknown fields are not preconditions",
    );
  });

  it("refuses bad values: precondition-not-met for publish-options, InvalidConfigError for a config form", () => {
    assert.throws(
      () => configFromPublishOptions(options({ "pubsub#access_model": "authorize" }), PEP),
      (e: unknown) => e instanceof StanzaError && e.condition === "conflict",
    );
    assert.throws(() => applyConfigForm(DEFAULT_CONFIG, options({ "pubsub#max_items": "0" }), PEP), InvalidConfigError);
    assert.throws(
      () => applyConfigForm(DEFAULT_CONFIG, options({ "pubsub#max_items": "1001" }), PEP),
      InvalidConfigError,
    );
    assert.throws(
      () => applyConfigForm(DEFAULT_CONFIG, options({ "pubsub#persist_items": "maybe" }), PEP),
      InvalidConfigError,
    );
  });

  it("keeps only the last item when items are not persistent", () => {
    const cfg = applyConfigForm(
      DEFAULT_CONFIG,
      options({ "pubsub#persist_items": "0", "pubsub#max_items": "10" }),
      PEP,
    );
    assert.equal(effectiveMaxItems(cfg, LIMIT), 1);
  });
});

describe("service node configuration rules (the pubsub module's)", () => {
  const SERVICE: ConfigRules = {
    defaults: { ...DEFAULT_CONFIG, access_model: "open", publish_model: "publishers" },
    accessModels: ["open", "presence", "roster", "whitelist", "authorize"],
    publishModels: ["publishers", "subscribers", "open"],
    limit: 50,
  };

  it("accepts what the service allows and PEP does not: authorize, publish models", () => {
    const cfg = applyConfigForm(
      SERVICE.defaults,
      options({ "pubsub#access_model": "authorize", "pubsub#publish_model": "open" }),
      SERVICE,
    );
    assert.equal(cfg.access_model, "authorize");
    assert.equal(cfg.publish_model, "open");
    assert.throws(
      () => applyConfigForm(DEFAULT_CONFIG, options({ "pubsub#publish_model": "open" }), PEP),
      InvalidConfigError,
    );
    assert.throws(
      () => applyConfigForm(SERVICE.defaults, options({ "pubsub#publish_model": "everyone" }), SERVICE),
      InvalidConfigError,
    );
  });

  it("offers its own access and publish models in the configuration form", () => {
    const x = configForm(SERVICE.defaults, [], SERVICE);
    const field = (v: string) => x.getChildren("field").find((f) => f.attrs.var === v);
    const opts = (v: string) =>
      field(v)
        ?.getChildren("option")
        .map((o) => o.getChildText("value"));
    assert.deepEqual(opts("pubsub#access_model"), ["open", "presence", "roster", "whitelist", "authorize"]);
    assert.deepEqual(opts("pubsub#publish_model"), ["publishers", "subscribers", "open"]);
    assert.equal(field("pubsub#max_items")?.getChildText("value"), "1");
  });
});
