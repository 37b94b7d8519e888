// XEP-0227 section: the user's PEP nodes (XEP-0163) — bookmarks (XEP-0402), avatars (XEP-0084), OMEMO device
// lists and bundles, nicknames and any other node — with their configuration, affiliations, subscriptions and
// items. The format is Prosody's (mod_storage_xep0227), so its exports import:
//   <pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>
//     <configure node='n'><x xmlns='jabber:x:data' type='submit'>pubsub#… fields</x></configure>
//     <affiliations node='n'><affiliation jid='…' affiliation='member|outcast'/></affiliations>
//     <subscriptions node='n'><subscription jid='…' subscription='subscribed' subid='…'/></subscriptions>
//   </pubsub>
//   <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'><item id='…'>payload</item>…</items></pubsub>
// Items are oldest first. Data goes through the pep module's own PepStore, as bookmarks and avatars do.
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { buildDataForm, type DataForm, type DataFormField, parseDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_PUBSUB, NS_PUBSUB_NODE_CONFIG, NS_PUBSUB_OWNER } from "../../core/xml/ns.js";
import { newItemId, parsePayload, serialisePayload } from "../../modules/pep/codec.js";
import {
  applyConfigForm,
  effectiveMaxItems,
  InvalidConfigError,
  type NodeConfig,
  PEP_DEFAULT_CONFIG as DEFAULT_CONFIG,
  pepConfigRules,
} from "../../modules/pubsub/engine/node-config.js";
import { type Affiliation, type PepNode, PepStore } from "../../modules/pep/pep-store.js";
import type { StoreKind, StoreKinds } from "../../storage/types.js";
import type { MigrationContext, SectionChanges, UserSection } from "../types.js";

/**
 * The largest max_items an imported node may name: the pep module's own ceiling for `max_items_limit`. The
 * running server still keeps at most its configured limit (effectiveMaxItems), so nothing grows past it.
 */
const ITEMS_CEILING = 100_000;
/** Node names longer than this are refused (a node name is a storage key). */
const MAX_NODE_NAME = 1024;

function pepStore(ctx: MigrationContext, host: string): PepStore {
  return new PepStore({
    store: <K extends StoreKind>(name: string, kind: K): StoreKinds[K] => ctx.storage.open(host, name, kind),
  });
}

/** The node's configuration as a submitted pubsub#node_config form (XEP-0060 §8.2.4), as Prosody writes it. */
function configElement(config: NodeConfig): Element {
  const bool = (v: boolean) => [v ? "1" : "0"];
  const field = (name: string, values: string[]): DataFormField => ({ var: `pubsub#${name}`, values });
  const form: DataForm = {
    type: "submit",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_NODE_CONFIG] },
      field("title", [config.title]),
      field("access_model", [config.access_model]),
      field("roster_groups_allowed", config.roster_groups_allowed),
      field("persist_items", bool(config.persist_items)),
      field("max_items", [String(config.max_items)]),
      field("send_last_published_item", [config.send_last_published_item]),
      field("deliver_notifications", bool(config.deliver_notifications)),
      field("deliver_payloads", bool(config.deliver_payloads)),
      field("notify_retract", bool(config.notify_retract)),
      field("notify_delete", bool(config.notify_delete)),
      field("notification_type", [config.notification_type]),
    ],
  };
  return buildDataForm(form);
}

/** A submitted form applied field by field: a value Natter cannot hold is skipped with a warning, the rest kept. */
function readConfig(x: Element | undefined, node: string, warnings: string[]): NodeConfig {
  let config: NodeConfig = { ...DEFAULT_CONFIG, roster_groups_allowed: [] };
  if (!x) return config;
  let form: DataForm;
  try {
    form = parseDataForm(x);
  } catch (err) {
    warnings.push(`node ${node}: configuration form unreadable (${(err as Error).message}); defaults used`);
    return config;
  }
  for (const field of form.fields) {
    if (field.var === "FORM_TYPE") continue;
    // Prosody writes every field of its form, those left at its defaults without a value: not set.
    if (field.values.length === 0 && field.var !== "pubsub#roster_groups_allowed") continue;
    try {
      config = applyConfigForm(config, { type: "submit", fields: [field] }, pepConfigRules(ITEMS_CEILING));
    } catch (err) {
      if (!(err instanceof InvalidConfigError || err instanceof StanzaError)) throw err;
      warnings.push(`node ${node}: ${err.message}; that option skipped`);
    }
  }
  return config;
}

/** Whether a <configure/> gives pubsub#max_items a value. */
function statesMaxItems(configure: Element | undefined): boolean {
  const x = configure?.getChild("x", NS_DATA_FORMS);
  const field = x?.getChildren("field", NS_DATA_FORMS).find((f) => f.attrs.var === "pubsub#max_items");
  return (field?.getChildText("value", NS_DATA_FORMS) ?? "") !== "";
}

/** What the file says about one node. */
interface NodeInFile {
  configure?: Element;
  affiliations: Record<string, Affiliation>;
  subscribers: Record<string, string>;
  items: { id: string; payload: Element | undefined }[];
}

function nodeInFile(nodes: Map<string, NodeInFile>, name: string): NodeInFile {
  let n = nodes.get(name);
  if (!n) nodes.set(name, (n = { affiliations: {}, subscribers: {}, items: [] }));
  return n;
}

/** The owner and items elements of the file, grouped by node; malformed parts become warnings. */
function readNodes(elements: readonly Element[], warnings: string[]): Map<string, NodeInFile> {
  const nodes = new Map<string, NodeInFile>();
  const nodeName = (el: Element): string | undefined => {
    const name = el.attrs.node;
    if (name === undefined || name === "" || name.length > MAX_NODE_NAME) {
      warnings.push(`<${el.name}/> without a usable node name; skipped`);
      return undefined;
    }
    return name;
  };
  for (const pubsub of elements) {
    for (const el of pubsub.elements()) {
      if (pubsub.ns === NS_PUBSUB_OWNER && el.name === "configure") {
        const name = nodeName(el);
        if (name !== undefined) nodeInFile(nodes, name).configure = el;
      } else if (pubsub.ns === NS_PUBSUB_OWNER && el.name === "affiliations") {
        const name = nodeName(el);
        if (name === undefined) continue;
        const node = nodeInFile(nodes, name);
        for (const a of el.getChildren("affiliation")) {
          const jid = tryParseJid(a.attrs.jid)?.bareString();
          const affiliation = a.attrs.affiliation;
          // The account is the node's only owner and publisher (XEP-0163 §2.2): those need no entry.
          if (affiliation === "owner" || affiliation === "publisher" || affiliation === "none") continue;
          if (jid === undefined || (affiliation !== "member" && affiliation !== "outcast")) {
            warnings.push(
              `node ${name}: affiliation ${JSON.stringify(a.attrs.jid ?? "")} ${JSON.stringify(affiliation ?? "")} not usable; skipped`,
            );
            continue;
          }
          node.affiliations[jid] = affiliation;
        }
      } else if (pubsub.ns === NS_PUBSUB_OWNER && el.name === "subscriptions") {
        const name = nodeName(el);
        if (name === undefined) continue;
        const node = nodeInFile(nodes, name);
        for (const s of el.getChildren("subscription")) {
          const jid = tryParseJid(s.attrs.jid)?.toString();
          // Prosody writes subscribed='subscribed' where XEP-0060 says subscription='subscribed': both are read.
          const state = s.attrs.subscription ?? s.attrs.subscribed ?? "subscribed";
          if (jid === undefined) {
            warnings.push(`node ${name}: subscription with a bad jid ${JSON.stringify(s.attrs.jid ?? "")}; skipped`);
            continue;
          }
          if (state !== "subscribed") continue; // pending or unconfigured: Natter keeps none
          node.subscribers[jid] = s.attrs.subid || newItemId();
        }
      } else if (pubsub.ns === NS_PUBSUB && el.name === "items") {
        const name = nodeName(el);
        if (name === undefined) continue;
        const node = nodeInFile(nodes, name);
        for (const item of el.getChildren("item")) {
          const id = item.attrs.id;
          if (id === undefined || id === "" || id.length > MAX_NODE_NAME) {
            warnings.push(`node ${name}: item without a usable id; skipped`);
            continue;
          }
          node.items.push({ id, payload: item.elements()[0] });
        }
      } else {
        warnings.push(`<${el.name} xmlns='${pubsub.ns}'/> is not a PEP node element; skipped`);
      }
    }
  }
  return nodes;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sortedRecord = <T>(r: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));

export const pepSection: UserSection = {
  name: "pep",
  claims: [
    { ns: NS_PUBSUB_OWNER, name: "pubsub" },
    { ns: NS_PUBSUB, name: "pubsub" },
  ],

  async exportUser(ctx, host, user) {
    const store = pepStore(ctx, host);
    const nodes = await store.allNodes(user);
    if (nodes.size === 0) return [];
    const owner = new Element("pubsub", NS_PUBSUB_OWNER);
    const data = new Element("pubsub", NS_PUBSUB);
    for (const [name, node] of nodes) {
      owner.c("configure", NS_PUBSUB_OWNER, { node: name }).append(configElement(node.config));
      const affiliations = Object.entries(node.affiliations ?? {});
      if (affiliations.length > 0) {
        const el = owner.c("affiliations", NS_PUBSUB_OWNER, { node: name });
        for (const [jid, affiliation] of affiliations) el.c("affiliation", NS_PUBSUB_OWNER, { jid, affiliation });
      }
      const subscribers = Object.entries(node.subscribers ?? {});
      if (subscribers.length > 0) {
        const el = owner.c("subscriptions", NS_PUBSUB_OWNER, { node: name });
        for (const [jid, subid] of subscribers)
          el.c("subscription", NS_PUBSUB_OWNER, { jid, subscription: "subscribed", subid });
      }
      const items = await store.getItems(user, name);
      if (items.length === 0) continue;
      const itemsEl = data.c("items", NS_PUBSUB, { node: name });
      for (const item of items) {
        const el = itemsEl.c("item", NS_PUBSUB, { id: item.id });
        const payload = parsePayloadSafely(item.payload);
        if (payload === null)
          ctx.log.warn({ host, user, node: name, id: item.id }, "PEP item payload unreadable; exported empty");
        else if (payload) el.append(payload);
      }
    }
    return data.children.length > 0 ? [owner, data] : [owner];
  },

  async importUser(ctx, host, user, elements, options) {
    const changes: SectionChanges = { added: 0, changed: 0, unchanged: 0, warnings: [] };
    const store = pepStore(ctx, host);
    const owner = `${user}@${host}`;
    for (const [name, inFile] of readNodes(elements, changes.warnings)) {
      const existing = await store.node(user, name);
      // Items without a <configure/> (Prosody writes one for every node; others may not): the node keeps its
      // own configuration, or gets the XEP-0163 defaults, as a publish would auto-create it.
      const config = inFile.configure
        ? readConfig(inFile.configure.getChild("x", NS_DATA_FORMS), name, changes.warnings)
        : { ...(existing?.config ?? DEFAULT_CONFIG) };
      // A node whose max_items the file leaves unset (Prosody's default is its pep_max_items, 256) keeps at
      // least the items the file has, rather than the one of Natter's default.
      if (
        !statesMaxItems(inFile.configure) &&
        typeof config.max_items === "number" &&
        config.max_items < inFile.items.length
      ) {
        config.max_items = Math.min(inFile.items.length, ITEMS_CEILING);
      }
      const next: PepNode = {
        config,
        created: existing?.created ?? Date.now(),
        subscribers: sortedRecord({ ...(existing?.subscribers ?? {}), ...inFile.subscribers }),
        affiliations: sortedRecord({ ...(existing?.affiliations ?? {}), ...inFile.affiliations }),
      };
      delete next.affiliations[owner];
      if (!existing) changes.added++;
      else if (
        sameJson(
          {
            ...existing,
            subscribers: sortedRecord(existing.subscribers ?? {}),
            affiliations: sortedRecord(existing.affiliations ?? {}),
          },
          next,
        )
      )
        changes.unchanged++;
      else changes.changed++;
      if (!options.dryRun && !sameJson(existing, next)) await store.putNode(user, name, next);

      const maxItems = effectiveMaxItems(config, ITEMS_CEILING);
      // Only the newest the node keeps are written: older ones would be trimmed at once.
      const kept = inFile.items.slice(-maxItems);
      if (kept.length < inFile.items.length)
        changes.warnings.push(
          `node ${name}: ${inFile.items.length - kept.length} oldest items beyond max_items skipped`,
        );
      for (const item of kept) {
        const payload = serialisePayload(item.payload);
        const [stored] = existing ? await store.getItems(user, name, { ids: [item.id] }) : [];
        if (stored && stored.payload === payload) {
          changes.unchanged++;
          continue;
        }
        if (stored) changes.changed++;
        else changes.added++;
        if (!options.dryRun) await store.putItem(user, name, { id: item.id, payload, publisher: owner }, maxItems);
      }
    }
    return changes;
  },
};

/** The stored payload parsed; null when the row is damaged (never throws). */
function parsePayloadSafely(text: string): Element | undefined | null {
  try {
    return text === "" ? undefined : parsePayload(text);
  } catch {
    return null;
  }
}
