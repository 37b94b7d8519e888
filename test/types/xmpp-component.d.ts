// Minimal typings for the parts of @xmpp/component (xmpp.js, XEP-0114) the tests use; the package ships none.
declare module "@xmpp/component" {
  import type { EventEmitter } from "node:events";
  import type { XmlElement } from "@xmpp/client";
  export type { XmlElement };
  export function xml(name: string, attrs?: Record<string, string | undefined> | string | null, ...children: (XmlElement | string)[]): XmlElement;
  export interface IqContext {
    stanza: XmlElement;
    element: XmlElement;
    from: { toString(): string } | null;
    to: { toString(): string } | null;
  }
  export interface Component extends EventEmitter {
    /** Resolves with the component's JID once the handshake succeeded; rejects on a stream error. */
    start(): Promise<{ toString(): string }>;
    stop(): Promise<void>;
    /** Stanzas without `from` get the component's domain. */
    send(...el: XmlElement[]): Promise<void>;
    iqCaller: { request(el: XmlElement, timeout?: number): Promise<XmlElement> };
    iqCallee: {
      get(ns: string, name: string, handler: (ctx: IqContext) => XmlElement | Promise<XmlElement> | undefined): void;
      set(ns: string, name: string, handler: (ctx: IqContext) => XmlElement | Promise<XmlElement> | undefined): void;
    };
    reconnect: { stop(): void };
    jid?: { toString(): string } | null;
    status: string;
  }
  export function component(options: { service: string; domain: string; password: string }): Component;
}
