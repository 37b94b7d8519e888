// The announcement addresses (ejabberd mod_announce / Prosody mod_announce + mod_motd convention) and the
// messages an announcement becomes.
import { randomUUID } from "node:crypto";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import type { Json } from "../../storage/types.js";

/** What an admin can do, by the resource of `<host>/announce/...` they write to. */
export type AnnounceAction = "online" | "motd" | "motd-update" | "motd-delete";

const ACTIONS: ReadonlyMap<string, AnnounceAction> = new Map([
  ["announce/online", "online"],
  ["announce/motd", "motd"],
  ["announce/motd/update", "motd-update"],
  ["announce/motd/delete", "motd-delete"],
]);

/** The resource is one of ours (`announce` or `announce/...`), whether or not it names a known action. */
export function isAnnounceResource(resource: string): boolean {
  return resource === "announce" || resource.startsWith("announce/");
}

export function parseAction(resource: string): AnnounceAction | undefined {
  return ACTIONS.get(resource);
}

/** One `<subject/>` or `<body/>`; RFC 6121 §5.2.3–5.2.4 allow several, one per xml:lang. */
export interface AnnouncementPart {
  kind: "subject" | "body";
  lang?: string;
  text: string;
}

/** A stored message of the day: `id` names this version, so each user sees it once. */
export interface Motd {
  id: string;
  parts: AnnouncementPart[];
}

/**
 * The subjects and bodies of the admin's message; nothing else is carried over (receipt requests, chat
 * states and the like were addressed to the server, not to every user). Empty ones are dropped.
 */
export function extractParts(message: Element): AnnouncementPart[] {
  const out: AnnouncementPart[] = [];
  for (const child of message.elements()) {
    if (child.ns !== NS_CLIENT || (child.name !== "subject" && child.name !== "body")) continue;
    const text = child.text();
    if (text.trim() === "") continue;
    const lang = child.attrs["xml:lang"];
    out.push(lang === undefined ? { kind: child.name, text } : { kind: child.name, lang, text });
  }
  return out;
}

export function newMotd(parts: AnnouncementPart[]): Motd {
  return { id: randomUUID(), parts };
}

/** Reads a stored MOTD back, refusing anything that is not one (a hand-edited or foreign row). */
export function motdFromJson(value: Json | undefined): Motd | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { id, parts } = value;
  if (typeof id !== "string" || !Array.isArray(parts)) return undefined;
  const out: AnnouncementPart[] = [];
  for (const p of parts) {
    if (typeof p !== "object" || p === null || Array.isArray(p)) return undefined;
    const { kind, lang, text } = p;
    if ((kind !== "subject" && kind !== "body") || typeof text !== "string") return undefined;
    out.push(typeof lang === "string" ? { kind, lang, text } : { kind, text });
  }
  return { id, parts: out };
}

export function motdToJson(motd: Motd): Json {
  return {
    id: motd.id,
    parts: motd.parts.map((p): Json => {
      const out: Json = { kind: p.kind, text: p.text };
      if (p.lang !== undefined) out.lang = p.lang;
      return out;
    }),
  };
}

/**
 * The message a user receives: from the host itself, type normal (as ejabberd and Prosody's mod_motd send
 * it; every client shows a normal message, while some hide headlines), with a fresh id.
 */
export function buildAnnouncement(host: string, to: string, parts: AnnouncementPart[]): Element {
  const msg = new Element("message", NS_CLIENT, { from: host, to, type: "normal", id: randomUUID() });
  for (const p of parts) msg.c(p.kind, NS_CLIENT, p.lang === undefined ? {} : { "xml:lang": p.lang }).t(p.text);
  return msg;
}
