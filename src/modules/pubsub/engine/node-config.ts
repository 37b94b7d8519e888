// Node configuration (XEP-0060 §8.2, §16.4.3 pubsub#node_config), the configuration form and publish-options
// preconditions (XEP-0060 §7.1.5). A service's ConfigRules say what it allows and its defaults: PEP (XEP-0163 §5:
// presence access, one publisher) and the pubsub.<host> service (open access, several publish models) differ there.
import type { StanzaError } from "../../../core/errors.js";
import { type DataForm, type DataFormField, buildDataForm, parseFormBoolean } from "../../../core/xml/data-form.js";
import type { Element } from "../../../core/xml/element.js";
import { NS_PUBSUB_NODE_CONFIG } from "../../../core/xml/ns.js";
import { pubsubError } from "./codec.js";

export type AccessModel = "open" | "presence" | "roster" | "whitelist" | "authorize";
/** XEP-0060 §16.4.3 pubsub#publish_model. */
export type PublishModel = "publishers" | "subscribers" | "open";
export type SendLast = "never" | "on_sub" | "on_sub_and_presence";

export interface NodeConfig {
  title: string;
  access_model: AccessModel;
  persist_items: boolean;
  /** Items kept; "max" = the service limit. */
  max_items: number | "max";
  send_last_published_item: SendLast;
  deliver_notifications: boolean;
  deliver_payloads: boolean;
  notify_retract: boolean;
  notify_delete: boolean;
  notification_type: "headline" | "normal";
  roster_groups_allowed: string[];
  /** Who may publish; absent (nodes stored before it existed): "publishers". */
  publish_model?: PublishModel;
}

/** What a service allows in node configurations, and its defaults. */
export interface ConfigRules {
  defaults: NodeConfig;
  accessModels: readonly AccessModel[];
  publishModels: readonly PublishModel[];
  /** The most items a node keeps ("max" means this). */
  limit: number;
}

// XEP-0163 §5: access model "presence", deliver notifications, send the last published item
// (on_sub_and_presence, §4.3.4). One item kept by default, as Prosody and ejabberd do for PEP.
export const PEP_DEFAULT_CONFIG: NodeConfig = {
  title: "",
  access_model: "presence",
  persist_items: true,
  max_items: 1,
  send_last_published_item: "on_sub_and_presence",
  deliver_notifications: true,
  deliver_payloads: true,
  notify_retract: true,
  notify_delete: true,
  notification_type: "headline",
  roster_groups_allowed: [],
};

/** PEP's rules with a given item limit: one publisher per node (XEP-0163 §2.2), no pending subscriptions. */
export function pepConfigRules(limit: number): ConfigRules {
  return {
    defaults: PEP_DEFAULT_CONFIG,
    accessModels: ["open", "presence", "roster", "whitelist"],
    publishModels: ["publishers"],
    limit,
  };
}

const SEND_LAST: readonly string[] = ["never", "on_sub", "on_sub_and_presence"];
const NOTIFICATION_TYPES: readonly string[] = ["headline", "normal"];
const BOOLEANS = [
  "persist_items",
  "deliver_notifications",
  "deliver_payloads",
  "notify_retract",
  "notify_delete",
] as const;

/** The number of items a node keeps: persist_items false keeps only the last (for XEP-0163 §4.3.4). */
export function effectiveMaxItems(config: NodeConfig, limit: number): number {
  if (!config.persist_items) return 1;
  return config.max_items === "max" ? limit : Math.min(config.max_items, limit);
}

export class InvalidConfigError extends Error {}

/** One submitted field's value applied to a config; throws InvalidConfigError for a bad value, false for an unknown field. */
function applyField(config: NodeConfig, field: DataFormField, rules: ConfigRules): boolean {
  const { limit } = rules;
  const name = field.var?.startsWith("pubsub#") ? field.var.slice("pubsub#".length) : undefined;
  const value = field.values[0] ?? "";
  const bad = () => new InvalidConfigError(`${field.var}: ${JSON.stringify(value)} is not allowed`);
  switch (name) {
    case "title":
      config.title = value;
      return true;
    case "access_model":
      if (!(rules.accessModels as readonly string[]).includes(value)) throw bad();
      config.access_model = value as AccessModel;
      return true;
    case "max_items": {
      if (value === "max") config.max_items = "max";
      else if (/^[0-9]{1,9}$/.test(value) && Number(value) >= 1 && Number(value) <= limit)
        config.max_items = Number(value);
      else throw bad();
      return true;
    }
    case "send_last_published_item":
      if (!SEND_LAST.includes(value)) throw bad();
      config.send_last_published_item = value as SendLast;
      return true;
    case "notification_type":
      if (!NOTIFICATION_TYPES.includes(value)) throw bad();
      config.notification_type = value as NodeConfig["notification_type"];
      return true;
    case "roster_groups_allowed":
      config.roster_groups_allowed = [...new Set(field.values)];
      return true;
    case "publish_model":
      if (!(rules.publishModels as readonly string[]).includes(value)) throw bad();
      config.publish_model = value as PublishModel;
      return true;
    default: {
      if (name !== undefined && (BOOLEANS as readonly string[]).includes(name)) {
        const b = parseFormBoolean(value);
        if (b === undefined) throw bad();
        config[name as (typeof BOOLEANS)[number]] = b;
        return true;
      }
      return false;
    }
  }
}

/** XEP-0060 §8.2.4: a submitted node_config form applied to a config. Unknown fields are ignored. */
export function applyConfigForm(base: NodeConfig, form: DataForm, rules: ConfigRules): NodeConfig {
  const config: NodeConfig = { ...base, roster_groups_allowed: [...base.roster_groups_allowed] };
  for (const field of form.fields) {
    if (field.var === "FORM_TYPE") continue;
    applyField(config, field, rules);
  }
  return config;
}

/** A field value as compared in preconditions: booleans and lists normalised. */
function canonical(config: NodeConfig, name: string): string | undefined {
  switch (name) {
    case "max_items":
      return String(config.max_items);
    case "roster_groups_allowed":
      return [...config.roster_groups_allowed].sort().join("\n");
    case "publish_model":
      return config.publish_model ?? "publishers";
    default: {
      const v = (config as unknown as Record<string, unknown>)[name];
      if (typeof v === "boolean") return v ? "1" : "0";
      return typeof v === "string" ? v : undefined;
    }
  }
}

/**
 * XEP-0060 §7.1.5: whether an existing node meets the publish-options preconditions. Each known field is
 * compared with the node's value once both are normalised; a value Natter cannot hold never matches.
 */
export function preconditionsMet(config: NodeConfig, form: DataForm, rules: ConfigRules): boolean {
  for (const field of form.fields) {
    if (field.var === "FORM_TYPE" || field.var === undefined) continue;
    const probe: NodeConfig = { ...config };
    try {
      if (!applyField(probe, field, rules)) continue; // unknown option: not a precondition Natter checks
    } catch (err) {
      if (err instanceof InvalidConfigError) return false;
      throw err;
    }
    const name = field.var.slice("pubsub#".length);
    if (canonical(probe, name) !== canonical(config, name)) return false;
  }
  return true;
}

/** §7.1.5 item 3: the configuration of a node auto-created with publish-options. */
export function configFromPublishOptions(form: DataForm, rules: ConfigRules): NodeConfig {
  try {
    return applyConfigForm(rules.defaults, form, rules);
  } catch (err) {
    if (err instanceof InvalidConfigError) throw preconditionNotMet();
    throw err;
  }
}

export function preconditionNotMet(): StanzaError {
  return pubsubError("conflict", "precondition-not-met");
}

/** XEP-0060 §8.2.1: the configuration form as the owner sees it. */
export function configForm(config: NodeConfig, rosterGroups: string[], rules: ConfigRules): Element {
  const { limit } = rules;
  const bool = (v: boolean) => (v ? "1" : "0");
  const list = (values: readonly string[]) => values.map((value) => ({ value }));
  const form: DataForm = {
    type: "form",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_NODE_CONFIG] },
      { var: "pubsub#title", type: "text-single", label: "A friendly name for the node", values: [config.title] },
      {
        var: "pubsub#access_model",
        type: "list-single",
        label: "Who may subscribe and retrieve items",
        values: [config.access_model],
        options: list(rules.accessModels),
      },
      {
        var: "pubsub#roster_groups_allowed",
        type: "list-multi",
        label: "Roster groups allowed (access model roster)",
        values: config.roster_groups_allowed,
        options: list(rosterGroups),
      },
      {
        var: "pubsub#publish_model",
        type: "list-single",
        label: "Who may publish",
        values: [config.publish_model ?? "publishers"],
        options: list(rules.publishModels),
      },
      {
        var: "pubsub#persist_items",
        type: "boolean",
        label: "Persist items to storage",
        values: [bool(config.persist_items)],
      },
      {
        var: "pubsub#max_items",
        type: "text-single",
        label: `Max number of items to persist (1–${limit} or max)`,
        values: [String(config.max_items)],
      },
      {
        var: "pubsub#send_last_published_item",
        type: "list-single",
        label: "When to send the last published item",
        values: [config.send_last_published_item],
        options: list(SEND_LAST),
      },
      {
        var: "pubsub#deliver_notifications",
        type: "boolean",
        label: "Deliver event notifications",
        values: [bool(config.deliver_notifications)],
      },
      {
        var: "pubsub#deliver_payloads",
        type: "boolean",
        label: "Deliver payloads with event notifications",
        values: [bool(config.deliver_payloads)],
      },
      {
        var: "pubsub#notify_retract",
        type: "boolean",
        label: "Notify subscribers when items are removed",
        values: [bool(config.notify_retract)],
      },
      {
        var: "pubsub#notify_delete",
        type: "boolean",
        label: "Notify subscribers when the node is deleted",
        values: [bool(config.notify_delete)],
      },
      {
        var: "pubsub#notification_type",
        type: "list-single",
        label: "Message type of notifications",
        values: [config.notification_type],
        options: list(NOTIFICATION_TYPES),
      },
    ],
  };
  return buildDataForm(form);
}
