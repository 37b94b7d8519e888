// The IQ dispatcher: the one place that applies RFC 6120 §8.2.3 — exactly one payload child for get/set,
// the id echoed, `service-unavailable` for a namespace nobody handles, `bad-request` for zero or several
// children, `internal-server-error` on a throw. Handlers return the result payload; the core wraps it.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { StanzaError } from "./errors.js";
import { Jid } from "./jid.js";
import type { Session } from "./session.js";
import { Element } from "./xml/element.js";

/** Whom an IQ is addressed to: the server (host JID) or an account's bare JID (handled on the user's behalf, RFC 6121 §8.5.2.1.3). */
export type IqTarget = "host" | "account";
export type IqType = "get" | "set";

export interface IqRequest {
  stanza: Element;
  /** The single payload child. */
  payload: Element;
  from: Jid;
  to: Jid;
  type: IqType;
  /** The local session that sent it, when it came from one. */
  session: Session | undefined;
}

export type IqHandler = (iq: IqRequest) => Promise<Element | undefined | void> | Element | undefined | void;

interface Registration {
  handler: IqHandler;
  owner: string;
}

export interface IqDispatcherDeps {
  log: Logger;
  /** Sends a stanza on (the router). */
  send(stanza: Element): void;
}

export class IqDispatcher {
  private readonly handlers = new Map<string, Registration>();
  private readonly pending = new Map<string, { to: string | undefined; resolve: (el: Element) => void; timer: NodeJS.Timeout }>();
  private readonly deps: IqDispatcherDeps;

  constructor(deps: IqDispatcherDeps) {
    this.deps = deps;
  }

  private static key(host: string, target: IqTarget, type: IqType, ns: string, name: string): string {
    return `${host}\0${target}\0${type}\0${ns}\0${name}`;
  }

  /** Registers a handler; returns its remover. A second registration for the same key is a programming error. */
  register(host: string, target: IqTarget, type: IqType, ns: string, name: string, handler: IqHandler, owner: string): () => void {
    const key = IqDispatcher.key(host, target, type, ns, name);
    const existing = this.handlers.get(key);
    if (existing) throw new Error(`IQ ${type} ${ns} ${name} on ${host} (${target}) already handled by ${existing.owner}`);
    const reg = { handler, owner };
    this.handlers.set(key, reg);
    return () => {
      if (this.handlers.get(key) === reg) this.handlers.delete(key);
    };
  }

  /** The namespaces handled for a host and target (they become disco features). */
  namespaces(host: string, target: IqTarget): string[] {
    const out = new Set<string>();
    const prefix = `${host}\0${target}\0`;
    for (const key of this.handlers.keys()) if (key.startsWith(prefix)) out.add(key.split("\0")[3] as string);
    return [...out];
  }

  /**
   * Handles an IQ addressed to the server or to an account. `replyFrom` is the `from` of the reply
   * (undefined when the request had no `to`: RFC 6120 §10.3.3, the reply then carries no `from`).
   */
  async dispatch(
    stanza: Element,
    from: Jid,
    to: Jid,
    target: IqTarget,
    session: Session | undefined,
    replyFrom: string | undefined,
  ): Promise<void> {
    const type = stanza.attrs.type;
    if (type === "result" || type === "error") {
      this.resolvePending(stanza);
      return;
    }
    const id = stanza.attrs.id;
    const reply = (payload: Element | undefined, error?: StanzaError) => {
      const attrs: Record<string, string> = { type: error ? "error" : "result", to: from.toString() };
      if (id !== undefined) attrs.id = id;
      if (replyFrom !== undefined) attrs.from = replyFrom;
      const el = new Element("iq", stanza.ns, attrs);
      if (error) el.append(error.toElement());
      else if (payload) el.append(payload);
      this.deps.send(el);
    };
    // RFC 6120 §8.2.3: get/set carry exactly one payload element.
    const children = stanza.elements();
    if ((type !== "get" && type !== "set") || children.length !== 1 || id === undefined) {
      reply(undefined, new StanzaError("bad-request", "an iq get/set needs an id and exactly one child element"));
      return;
    }
    const payload = children[0] as Element;
    let reg = this.handlers.get(IqDispatcher.key(to.domain, target, type, payload.ns, payload.name));
    // RFC 6120 §10.3.3: an iq without `to` is processed on behalf of the sending account, and answered
    // whenever the server understands the namespace: the account's own handler (roster, vCard, PEP, MAM,
    // carbons…) first, else the server's (ping, version, time, external services), which clients that
    // omit `to` mean. Only the request without `to` falls back: an iq to a bare JID stays the account's.
    if (!reg && target === "account" && replyFrom === undefined && stanza.attrs.to === undefined) {
      const server = this.handlers.get(IqDispatcher.key(to.domain, "host", type, payload.ns, payload.name));
      if (server) {
        reg = server;
        to = new Jid("", to.domain, "");
      }
    }
    if (!reg) {
      reply(undefined, new StanzaError("service-unavailable"));
      return;
    }
    try {
      const result = await reg.handler({ stanza, payload, from, to, type, session });
      reply(result ?? undefined);
    } catch (err) {
      if (err instanceof StanzaError) {
        reply(undefined, err);
      } else {
        this.deps.log.error({ err, module: reg.owner, ns: payload.ns }, "iq handler failed");
        reply(undefined, new StanzaError("internal-server-error"));
      }
    }
  }

  /** Sends an IQ from the server and resolves with the response (result or error), or undefined on timeout. */
  request(stanza: Element, timeoutMs = 30_000): Promise<Element | undefined> {
    const id = stanza.attrs.id ?? `natter-${randomBytes(6).toString("base64url")}`;
    stanza.attrs.id = id;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        to: stanza.attrs.to,
        resolve: (el) => {
          clearTimeout(timer);
          resolve(el);
        },
        timer,
      });
      this.deps.send(stanza);
    });
  }

  private resolvePending(stanza: Element): void {
    const id = stanza.attrs.id;
    if (id === undefined) return;
    const p = this.pending.get(id);
    // RFC 6120 §8.2.3: a stray result/error is ignored, never answered; only the addressee may answer.
    if (!p || p.to !== stanza.attrs.from) return;
    this.pending.delete(id);
    p.resolve(stanza);
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
