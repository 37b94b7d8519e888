// Roster data through the store interfaces (DESIGN.md "Reach data only through store interfaces"):
// - "roster" (map): per user, keyed by the contact's JID: name, groups, subscription, ask, approved (RFC 6121 §2.1.2);
// - "roster-pending" (map): inbound subscription requests awaiting the user's answer, with the stanza, so they
//   can be delivered again at the next login (RFC 6121 §3.1.3);
// - "roster-version" (keyval): the roster version of RFC 6121 §2.6 as an epoch and a counter bumped on every change.
// The roster and roster-pending stores are kept in memory per user by the server (the roster module's
// cachedStores): one copy shared by every module that opens them, so each sees every change at once.
import { randomBytes } from "node:crypto";
import type { ModuleContext } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_ROSTER } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import type { Json, KeyValueStore, MapStore } from "../../storage/types.js";
import { NO_SUBSCRIPTION, type SubState, type Subscription } from "./subscription-state.js";

export interface RosterItem {
  /** The contact's JID (normally bare), canonical form. */
  jid: string;
  name?: string;
  groups: string[];
  subscription: Subscription;
  /** ask="subscribe" (pending out). */
  ask: boolean;
  /** Pre-approved (RFC 6121 §3.4). */
  approved: boolean;
}

/** A roster item nobody may change: the cached copy itself (RosterStore.getAllFrozen, getFrozen). */
export type FrozenRosterItem = Readonly<Omit<RosterItem, "groups">> & { readonly groups: readonly string[] };

const PARSE_LIMITS = { maxStanzaBytes: 1 << 20, maxDepth: 64 };

export class RosterStore {
  private readonly items: MapStore;
  private readonly pending: MapStore;
  private readonly versions: KeyValueStore;

  constructor(ctx: Pick<ModuleContext<unknown>, "store">) {
    this.items = ctx.store("roster", "map");
    this.pending = ctx.store("roster-pending", "map");
    this.versions = ctx.store("roster-version", "keyval");
  }

  async getAll(user: string): Promise<RosterItem[]> {
    const all = await this.items.getAll(user);
    return [...all.values()].map((v) => v as unknown as RosterItem);
  }

  /** getAll for read-only hot paths (broadcasts, probes): no copy made when the roster is cached. */
  async getAllFrozen(user: string): Promise<readonly FrozenRosterItem[]> {
    const frozen = await this.items.getAllFrozen?.(user);
    if (frozen === undefined) return this.getAll(user);
    return [...frozen.values()] as unknown as FrozenRosterItem[];
  }

  /** get for read-only hot paths (a probe's or a presence's subscription check). */
  async getFrozen(user: string, jid: string): Promise<FrozenRosterItem | undefined> {
    if (this.items.getFrozen === undefined) return this.get(user, jid);
    return (await this.items.getFrozen(user, jid)) as unknown as FrozenRosterItem | undefined;
  }

  async count(user: string): Promise<number> {
    return this.items.count(user);
  }

  /** Whether `jid` is in the user's roster, when the roster is in memory (no I/O); undefined when unknown. */
  known(user: string, jid: string): boolean | undefined {
    return this.items.known?.(user, jid);
  }

  async get(user: string, jid: string): Promise<RosterItem | undefined> {
    return (await this.items.get(user, jid)) as unknown as RosterItem | undefined;
  }

  async put(user: string, item: RosterItem): Promise<void> {
    await this.items.set(user, item.jid, item as unknown as Json);
  }

  async remove(user: string, jid: string): Promise<void> {
    await this.items.delete(user, jid);
  }

  /** The pending inbound request from `jid`, if any. */
  async pendingRequest(user: string, jid: string): Promise<Element | undefined> {
    const text = (await this.pending.get(user, jid)) as string | undefined;
    return text === undefined ? undefined : parseFramedElement(text, PARSE_LIMITS, NS_CLIENT);
  }

  async pendingRequests(user: string): Promise<Element[]> {
    const all = await this.pending.getAll(user);
    return [...all.values()].map((t) => parseFramedElement(t as string, PARSE_LIMITS, NS_CLIENT));
  }

  /** How many inbound requests await the user's answer. */
  async pendingCount(user: string): Promise<number> {
    return this.pending.count(user);
  }

  async setPending(user: string, jid: string, stanza: Element | undefined): Promise<void> {
    if (stanza) await this.pending.set(user, jid, stanza.toString(NS_CLIENT));
    else await this.pending.delete(user, jid);
  }

  /** The subscription state of one contact, roster item and pending request together. */
  async state(user: string, jid: string): Promise<{ item: RosterItem | undefined; state: SubState }> {
    const [item, pending] = await Promise.all([this.get(user, jid), this.pending.get(user, jid)]);
    const state: SubState = item
      ? {
          subscription: item.subscription,
          pendingOut: item.ask,
          pendingIn: pending !== undefined,
          approved: item.approved,
        }
      : { ...NO_SUBSCRIPTION, pendingIn: pending !== undefined };
    return { item, state };
  }

  /** The current roster version (RFC 6121 §2.6.1: an opaque string). */
  async version(user: string): Promise<string> {
    const v = (await this.versions.get(user)) as { epoch: string; n: number } | undefined;
    return v ? `${v.epoch}-${v.n}` : "0";
  }

  /** Bumps the version after a change and returns it. The epoch makes versions of a recreated account differ. */
  async bump(user: string): Promise<string> {
    const v = (await this.versions.get(user)) as { epoch: string; n: number } | undefined;
    const next = v ? { epoch: v.epoch, n: v.n + 1 } : { epoch: randomBytes(4).toString("hex"), n: 1 };
    await this.versions.set(user, next);
    return `${next.epoch}-${next.n}`;
  }
}

/** <item/> as RFC 6121 §2.1.2 shows it; `approved` only when set, `ask` only when pending (§2.1.2.1–2). */
export function itemElement(item: FrozenRosterItem): Element {
  const attrs: Record<string, string> = { jid: item.jid, subscription: item.subscription };
  if (item.name !== undefined && item.name !== "") attrs.name = item.name;
  if (item.ask) attrs.ask = "subscribe";
  if (item.approved) attrs.approved = "true";
  const el = new Element("item", NS_ROSTER, attrs);
  for (const g of item.groups) el.c("group", NS_ROSTER).t(g);
  return el;
}

export function removedItemElement(jid: string): Element {
  return new Element("item", NS_ROSTER, { jid, subscription: "remove" });
}
