// Minimal typings for the parts of @xmpp/client (xmpp.js) the tests use; the package ships none.
declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";
  export interface XmlElement {
    name: string;
    attrs: Record<string, string>;
    children: (XmlElement | string)[];
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): XmlElement | undefined;
    getChildren(name: string, xmlns?: string): XmlElement[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    toString(): string;
  }
  export function xml(name: string, attrs?: Record<string, string | undefined> | string | null, ...children: (XmlElement | string)[]): XmlElement;
  export interface Client extends EventEmitter {
    start(): Promise<{ toString(): string }>;
    stop(): Promise<void>;
    send(...el: XmlElement[]): Promise<void>;
    iqCaller: { request(el: XmlElement, timeout?: number): Promise<XmlElement> };
    reconnect: { stop(): void };
    jid?: { toString(): string };
    status: string;
    socket?: { destroy(): void; socket?: { destroy(): void } } | null;
    streamManagement: EventEmitter & { id: string; enabled: boolean; inbound: number; outbound: number };
  }
  export function client(options: Record<string, unknown>): Client;
}
