// The closed list of hooks (DESIGN.md "The module API"): every hook is declared here with its payload,
// so a misspelt hook name does not compile. Three shapes: notify (all run), first-handled (a handler
// returning "handled" stops the chain), fold (handlers' results are collected).
import type { Logger } from "pino";
import type { Jid } from "./jid.js";
import type { Session } from "./session.js";
import type { SessionState } from "./session-state.js";
import type { Element } from "./xml/element.js";

export interface NotifyHooks {
  /** A resource was bound (RFC 6120 §7). */
  "session.bound": { session: Session };
  /** A session's connection dropped and the session waits for its client to resume it (XEP-0198 §5). */
  "session.detached": { session: Session };
  /** A session ended, cleanly or not; it is already unbound. */
  "session.closed": { session: Session; reason: string };
  /** Presence without `to` from a local client (RFC 6121 §4.2/§4.4/§4.5): the presence module sets the session's state from it. */
  "presence.own": { session: Session; stanza: Element };
  /** The presence module updated a session's availability from its own presence; `initial`: it just became available. */
  "presence.broadcast": { session: Session; stanza: Element; initial: boolean };
  /**
   * A PEP item was stored (XEP-0163), by a client or server-side (publisher then a bare JID), after storage
   * and before the publish returns; for modules that build on PEP (bookmarks, avatar conversion).
   */
  "pep.published": {
    host: string;
    user: string;
    node: string;
    itemId: string;
    payload: Element | undefined;
    publisher: Jid;
  };
  /** A PEP item was retracted (XEP-0060 §7.2), after storage and before the retract returns. */
  "pep.retracted": { host: string; user: string; node: string; itemId: string };
  /** A user's vcard-temp was stored or removed (XEP-0054 §3.2), after storage; `vcard` undefined: none left. For the user directory. */
  "vcard.changed": { host: string; user: string; vcard: Element | undefined };
  /**
   * An account was deleted (XEP-0077 cancel, `natter deluser`), its own data already gone: remove what was granted
   * to its address elsewhere (MUC affiliations, PEP whitelists), so a new account with the same name starts clean.
   */
  "account.deleted": { host: string; user: string };
  /**
   * The last inbound s2s stream carrying `remote` → `local` stanzas closed: presence from that domain's users can no
   * longer arrive (nor their unavailable), so what a module knows of their availability is stale.
   */
  "s2s.inbound-closed": { local: string; remote: string };
  /**
   * An account was created by its user (XEP-0077 in-band registration, with or without an invitation), not by an
   * operator: anti-spam treats it as new for its first hours.
   */
  "account.created": { host: string; user: string };
  "server.started": Record<string, never>;
  "server.stopping": Record<string, never>;
}

/**
 * A client stream before authentication, as modules see it (XEP-0077 §3.1 registration): only what the
 * stream knows, plus a way to answer. The stream code stays unaware of what a module does with it.
 */
export interface PreAuthStream {
  readonly id: string;
  /** The virtual host the client addressed (stream `to`). */
  readonly host: string;
  readonly secure: boolean;
  readonly remoteAddress: string;
  /** Per-stream state owned by modules, under keys each declares (session-state.ts); ends with authentication. */
  readonly state: SessionState;
  /** Writes an element (e.g. an iq reply) to the client. */
  send(element: Element): void;
}

export interface FirstHooks {
  /**
   * An `<iq/>` on a client stream before authentication, only once TLS is up where it is required. Handled: answered;
   * otherwise the stream closes with <not-authorized/> (RFC 6120 §4.9.3.12).
   */
  "stream.preauth-iq": { stream: PreAuthStream; stanza: Element };
  /** A top-level element of a bound client stream that is not a stanza (stream management, CSI). Handled: consumed; otherwise unsupported-stanza-type. */
  "stream.element": { session: Session; element: Element };
  /**
   * A XEP-0386 Bind 2 inline feature request (a child of <bind/>: carbons <enable/>, CSI <inactive/>) for a
   * session being bound, before any stanza flows. Handled: applied.
   */
  "bind2.inline": { session: Session; element: Element };
  /** A stanza from a local client, `from` stamped, before routing. Handled: not routed further. */
  "stanza.outbound": { session: Session; stanza: Element };
  /**
   * Privacy (XEP-0016, XEP-0191), ahead of every other rule (XEP-0016 §2.2 rule 4): a stanza a local account
   * sends (`out`, before routing) or receives (`in`, before delivery to a session or handling on its behalf).
   * `session`: the local session it comes from (out) or goes to (in), when known. Handled: blocked; the
   * handler sends the error reply the XEPs name.
   */
  "stanza.filter": { stanza: Element; from: Jid; to: Jid; direction: "in" | "out"; session: Session | undefined };
  /** About to deliver to a local session (privacy, carbons, CSI). Handled: not delivered. */
  "stanza.deliver": { session: Session; stanza: Element };
  /**
   * About to hand a message to a session on another cluster node, whose node runs `stanza.deliver`: what must
   * happen once per message where its routing is decided (archiving, XEP-0313) runs here, so that the copies on
   * several nodes, and a copy re-routed when that node dies, are one message with one stanza-id (XEP-0359).
   * Handled: not forwarded (nothing does that today).
   */
  "stanza.forward": { session: Session; stanza: Element };
  /** A message for a local account with no resource to take it (RFC 6121 §8.5.2.2.1). Handled: stored. */
  "message.offline": { stanza: Element; to: Jid };
  /** Presence to a local account's bare JID that the router does not deliver itself (probe, subscription). */
  "presence.inbound": { stanza: Element; to: Jid };
  /** Message or presence addressed to a served host or host/resource (announcements, MUC services). */
  "stanza.to-host": { stanza: Element; to: Jid };
  /**
   * A stanza a remote server sent over an authenticated s2s link, `from` checked against the link, before routing
   * (anti-spam: per-domain limits, block lists). Handled: dropped; the handler sent any error reply.
   */
  "s2s.inbound": { stanza: Element; from: Jid; to: Jid };
  /** A stanza whose `to` is not a local host: s2s, components. Handled: sent on. */
  "stanza.remote": { stanza: Element; to: Jid };
}

export interface DiscoInfoPart {
  identities?: { category: string; type: string; name?: string }[];
  features?: string[];
  /** XEP-0128 extended info forms. */
  forms?: Element[];
}

export interface FoldHooks {
  /** Stream features offered after authentication (RFC 6120 §4.3). */
  "stream.features": { args: { session: Session }; result: Element };
  /** Extra stream features before authentication, beside STARTTLS and SASL; only once TLS is up where it is required (RFC 6120 §5.3.1). */
  "stream.preauth-features": { args: { stream: PreAuthStream }; result: Element };
  /** XEP-0386 Bind 2 inline features a module offers on a host: the namespaces listed in <bind><inline/>. */
  "bind2.features": { args: { host: string }; result: string };
  /** Disco#info for an entity (XEP-0030): host or account, optional node. */
  "disco.info": { args: { to: Jid; from: Jid; node: string | undefined }; result: DiscoInfoPart };
  /** Disco#items for an entity. */
  "disco.items": { args: { to: Jid; from: Jid; node: string | undefined }; result: Element };
  /** Rooms and occupants of each MUC service now (metrics, read at scrape time). */
  "muc.occupancy": { args: Record<string, never>; result: { domain: string; rooms: number; occupants: number } };
}

export type NotifyHook = keyof NotifyHooks;
export type FirstHook = keyof FirstHooks;
export type FoldHook = keyof FoldHooks;
export type HookName = NotifyHook | FirstHook | FoldHook;

export type HookResult = "handled" | undefined | void;

type Handler = (payload: never) => unknown;
interface Entry {
  handler: Handler;
  priority: number;
  owner: string;
}

/** The hook registry of one server. Handlers run under try/catch: a throw is logged with its owner and the chain goes on. */
export class Hooks {
  private readonly table = new Map<HookName, Entry[]>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /**
   * Registers a handler; returns its remover. Higher priority runs first. The lists are replaced, never changed
   * in place, so a chain that is running goes on over the list it started with, without a copy per call.
   */
  add(name: HookName, handler: Handler, owner: string, priority = 0): () => void {
    const entry = { handler, priority, owner };
    this.table.set(
      name,
      [...(this.table.get(name) ?? []), entry].sort((a, b) => b.priority - a.priority),
    );
    return () => {
      const current = this.table.get(name);
      if (current?.includes(entry))
        this.table.set(
          name,
          current.filter((e) => e !== entry),
        );
    };
  }

  has(name: HookName): boolean {
    return (this.table.get(name)?.length ?? 0) > 0;
  }

  async notify<K extends NotifyHook>(name: K, payload: NotifyHooks[K]): Promise<void> {
    const list = this.table.get(name);
    if (!list) return;
    for (const e of list) {
      try {
        await (e.handler as (p: NotifyHooks[K]) => unknown)(payload);
      } catch (err) {
        this.log.error({ err, hook: name, module: e.owner }, "hook handler failed");
      }
    }
  }

  /**
   * Runs handlers until one returns "handled". A throw is logged and rethrown so the caller answers
   * internal-server-error. Synchronous while the handlers are (most decline at once): a delivery that no
   * handler waits on costs no promise job; from the first handler that returns a promise on, it is a promise.
   */
  first<K extends FirstHook>(name: K, payload: FirstHooks[K]): boolean | Promise<boolean> {
    const list = this.table.get(name);
    if (!list || list.length === 0) return false;
    return this.firstFrom(name, list, 0, payload);
  }

  private firstFrom<K extends FirstHook>(
    name: K,
    list: Entry[],
    start: number,
    payload: FirstHooks[K],
  ): boolean | Promise<boolean> {
    for (let i = start; i < list.length; i++) {
      const e = list[i] as Entry;
      let result: unknown;
      try {
        result = (e.handler as (p: FirstHooks[K]) => unknown)(payload);
      } catch (err) {
        this.log.error({ err, hook: name, module: e.owner }, "hook handler failed");
        throw err;
      }
      if (result instanceof Promise) return this.firstAfter(name, list, i, result, payload);
      if (result === "handled") return true;
    }
    return false;
  }

  private async firstAfter<K extends FirstHook>(
    name: K,
    list: Entry[],
    i: number,
    pending: Promise<unknown>,
    payload: FirstHooks[K],
  ): Promise<boolean> {
    let result: unknown;
    try {
      result = await pending;
    } catch (err) {
      this.log.error({ err, hook: name, module: (list[i] as Entry).owner }, "hook handler failed");
      throw err;
    }
    return result === "handled" ? true : this.firstFrom(name, list, i + 1, payload);
  }

  async fold<K extends FoldHook>(name: K, args: FoldHooks[K]["args"]): Promise<FoldHooks[K]["result"][]> {
    const list = this.table.get(name);
    const out: FoldHooks[K]["result"][] = [];
    if (!list) return out;
    for (const e of list) {
      try {
        const r = await (e.handler as (a: FoldHooks[K]["args"]) => unknown)(args);
        if (r === undefined || r === null) continue;
        if (Array.isArray(r)) out.push(...(r as FoldHooks[K]["result"][]));
        else out.push(r as FoldHooks[K]["result"]);
      } catch (err) {
        this.log.error({ err, hook: name, module: e.owner }, "hook handler failed");
      }
    }
    return out;
  }
}

export type NotifyHandler<K extends NotifyHook> = (payload: NotifyHooks[K]) => void | Promise<void>;
export type FirstHandler<K extends FirstHook> = (payload: FirstHooks[K]) => HookResult | Promise<HookResult>;
export type FoldHandler<K extends FoldHook> = (
  args: FoldHooks[K]["args"],
) =>
  | FoldHooks[K]["result"]
  | FoldHooks[K]["result"][]
  | undefined
  | Promise<FoldHooks[K]["result"] | FoldHooks[K]["result"][] | undefined>;
