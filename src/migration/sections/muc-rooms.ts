// Natter's XEP-0227 extension (docs/migration.md "Natter extension (urn:natter:pie:0)"): the persistent rooms of
// the host's MUC service, with configuration, subject, affiliations and room archive, under <host/>:
//   <muc-service xmlns='urn:natter:pie:0' jid='conference.example.org'>
//     <room jid='lobby@conference.example.org' created='…' created-by='…'>
//       <x xmlns='jabber:x:data' type='submit'>muc#roomconfig fields</x>
//       <subject nick='…' stamp='…'>text</subject>
//       <query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='owner' jid='…'/>…</query>
//       <archive><result xmlns='urn:xmpp:mam:2' id='…'><forwarded>…</forwarded></result>…</archive>
//     </room>
//   </muc-service>
// Rooms are read and written through the muc module's RoomStore and Room codec, and the room archive keeps
// the muc module's stored form and ids (the XEP-0359 stanza-ids occupants saw).
import { StanzaError } from "../../core/errors.js";
import { enforceDomainpart, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_MAM, NS_MUC_ADMIN } from "../../core/xml/ns.js";
import { decodeArchived, encodeArchived } from "../../modules/muc/history.js";
import { type MucOptions, mucOptions } from "../../modules/muc/options.js";
import { Room } from "../../modules/muc/room.js";
import { applyConfigForm, configForm, defaultConfig, type RoomConfig } from "../../modules/muc/room-config.js";
import { RoomStore } from "../../modules/muc/room-store.js";
import { AFFILIATIONS, type Affiliation } from "../../modules/muc/types.js";
import type { Json } from "../../storage/types.js";
import { type HostSection, NS_PIE_NATTER, type SectionChanges } from "../types.js";
import { type ArchivedMessage, allItems, importArchived, readResult, resultElement } from "./archive.js";

/** Where a host's MUC service lives and the options it runs with (the muc module's `domain` and limits). */
export interface MucServiceOf {
  domain: string;
  options: MucOptions;
}

/**
 * Without the server's config: `conference.<host>`, and limits wide enough for any room another server kept (the
 * running service applies its own limits to what it loads). The CLI passes the configured muc options instead.
 */
export function defaultMucService(host: string): MucServiceOf {
  return {
    domain: `conference.${host}`,
    options: mucOptions.parse({
      max_occupants: 1_000_000,
      max_room_name_length: 10_000,
      max_room_description_length: 100_000,
      max_password_length: 10_000,
      max_history_fetch: 10_000,
    }),
  };
}

/**
 * The MUC service of each host as the server's config sets it (`modules.muc`): its domain and its limits, so that
 * an import keeps to what the running service allows. A config without the muc module gives the defaults.
 */
export function mucServiceFromConfig(modules: Readonly<Record<string, unknown>>): (host: string) => MucServiceOf {
  const raw = modules.muc;
  const parsed = mucOptions.safeParse(raw !== null && typeof raw === "object" ? raw : {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`modules.muc.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  const options = parsed.data;
  // As the muc module names its domain (index.ts setup).
  return (host) => ({ domain: enforceDomainpart(options.domain ?? `conference.${host}`), options });
}

const NO_ADMINS: ReadonlySet<string> = new Set();

function roomStoreOf(ctx: Parameters<HostSection["exportHost"]>[0], host: string, domain: string): RoomStore {
  return new RoomStore(ctx.storage.open(host, "muc-rooms", "keyval"), domain, NO_ADMINS);
}

/** The configuration as a submitted muc#roomconfig form (XEP-0045 §10.2), without labels and options. */
function configElement(config: RoomConfig, options: MucOptions): Element {
  const x = configForm(config, options);
  x.attrs.type = "submit";
  x.children = x.children.filter((c) => typeof c !== "string" && c.name === "field");
  for (const field of x.getChildren("field", NS_DATA_FORMS)) {
    delete field.attrs.label;
    field.children = field.getChildren("value", NS_DATA_FORMS);
  }
  return x;
}

/** A submitted form applied field by field: a value the room cannot take is skipped with a warning. */
function readConfig(x: Element | undefined, room: string, options: MucOptions, warnings: string[]): RoomConfig {
  let config = defaultConfig(options);
  if (!x) return config;
  const fields = x.getChildren("field", NS_DATA_FORMS).filter((f) => f.attrs.var !== "FORM_TYPE");
  // The password and its switch go together (a protected room needs its secret): applied as one.
  const together = new Set(["muc#roomconfig_passwordprotectedroom", "muc#roomconfig_roomsecret"]);
  const groups = [
    fields.filter((f) => together.has(f.attrs.var ?? "")),
    ...fields.filter((f) => !together.has(f.attrs.var ?? "")).map((f) => [f]),
  ];
  for (const group of groups) {
    if (group.length === 0) continue;
    try {
      config = applyConfigForm(new Element("x", NS_DATA_FORMS, { type: "submit" }, group), config, options);
    } catch (err) {
      if (!(err instanceof StanzaError)) throw err;
      warnings.push(
        `room ${room}: ${group.map((f) => f.attrs.var).join(", ")}: ${err.message ?? err.condition}; skipped`,
      );
    }
  }
  return config;
}

function roomElement(room: Room, options: MucOptions): Element {
  const el = new Element("room", NS_PIE_NATTER, {
    jid: room.jid.toString(),
    created: new Date(room.createdAt).toISOString(),
  });
  if (room.createdBy !== "") el.attrs["created-by"] = room.createdBy;
  el.append(configElement(room.config, options));
  if (room.subject) {
    const attrs: Record<string, string> = { stamp: new Date(room.subject.when).toISOString() };
    if (room.subject.nick !== "") attrs.nick = room.subject.nick;
    el.c("subject", NS_PIE_NATTER, attrs).t(room.subject.text);
  }
  const query = el.c("query", NS_MUC_ADMIN);
  for (const [jid, affiliation] of room.affiliations) query.c("item", NS_MUC_ADMIN, { affiliation, jid });
  return el;
}

/** One <room/> of the file turned into a Room; undefined (with a warning) when it cannot be one. */
function readRoom(el: Element, svc: MucServiceOf, stored: Json | undefined, warnings: string[]): Room | undefined {
  // What the stored room knows that a file may not say (when and by whom it was created).
  const before = stored !== null && typeof stored === "object" && !Array.isArray(stored) ? stored : {};
  const jid = tryParseJid(el.attrs.jid);
  if (!jid || jid.local === "" || jid.resource !== "") {
    warnings.push(`room ${JSON.stringify(el.attrs.jid ?? "")}: not a room JID; skipped`);
    return undefined;
  }
  const name = jid.bareString();
  // The store is keyed by localpart: the rooms become rooms of this host's service, whatever domain they had.
  const target = tryParseJid(`${jid.local}@${svc.domain}`);
  if (!target) {
    warnings.push(`room ${name}: no room JID on ${svc.domain}; skipped`);
    return undefined;
  }
  const config = readConfig(el.getChild("x", NS_DATA_FORMS), name, svc.options, warnings);
  if (!config.persistent) {
    warnings.push(`room ${name}: not persistent (only persistent rooms are kept); skipped`);
    return undefined;
  }
  const createdAt = Date.parse(el.attrs.created ?? "");
  const room = new Room(
    target,
    config,
    NO_ADMINS,
    svc.options,
    Number.isFinite(createdAt) ? createdAt : typeof before.createdAt === "number" ? before.createdAt : Date.now(),
  );
  const createdBy = tryParseJid(el.attrs["created-by"]);
  room.createdBy = createdBy?.bareString() ?? (typeof before.createdBy === "string" ? before.createdBy : "");
  const subject = el.getChild("subject", NS_PIE_NATTER);
  if (subject) {
    const when = Date.parse(subject.attrs.stamp ?? "");
    room.subject = { text: subject.text(), nick: subject.attrs.nick ?? "", when: Number.isFinite(when) ? when : 0 };
  }
  for (const item of el.getChild("query", NS_MUC_ADMIN)?.getChildren("item", NS_MUC_ADMIN) ?? []) {
    const who = tryParseJid(item.attrs.jid);
    const affiliation = item.attrs.affiliation as Affiliation | undefined;
    if (!who || affiliation === undefined || !AFFILIATIONS.includes(affiliation) || affiliation === "none") {
      warnings.push(
        `room ${name}: affiliation ${JSON.stringify(item.attrs.jid ?? "")} ${JSON.stringify(item.attrs.affiliation ?? "")} not usable; skipped`,
      );
      continue;
    }
    if (room.affiliations.size >= svc.options.max_affiliations) {
      warnings.push(
        `room ${name}: more than max_affiliations (${svc.options.max_affiliations}) affiliations; the rest skipped`,
      );
      break;
    }
    room.setAffiliation(who.bareString(), affiliation);
  }
  return room;
}

/** The muc-rooms section for a server whose MUC service of each host `serviceOf` names. */
export function createMucRoomsSection(serviceOf: (host: string) => MucServiceOf = defaultMucService): HostSection {
  return {
    name: "muc-rooms",
    claims: [{ ns: NS_PIE_NATTER, name: "muc-service" }],

    async exportHost(ctx, host) {
      const svc = serviceOf(host);
      const rooms = await roomStoreOf(ctx, host, svc.domain).loadAll(svc.options);
      if (rooms.length === 0) return [];
      const archive = ctx.storage.open(host, "muc-archive", "archive");
      const service = new Element("muc-service", NS_PIE_NATTER, { jid: svc.domain });
      for (const room of rooms) {
        const el = roomElement(room, svc.options);
        const archiveEl = new Element("archive", NS_PIE_NATTER);
        for await (const item of allItems(archive, room.localpart)) {
          const entry = decodeArchived(item);
          if (!entry) {
            ctx.log.warn(
              { host, room: room.jid.toString(), id: item.id },
              "room archive item unreadable; not exported",
            );
            continue;
          }
          archiveEl.append(resultElement({ id: item.id, when: item.when, message: entry.stanza }));
        }
        if (archiveEl.children.length > 0) el.append(archiveEl);
        service.append(el);
      }
      return [service];
    },

    async importHost(ctx, host, elements, options) {
      const changes: SectionChanges = { added: 0, changed: 0, unchanged: 0, warnings: [] };
      const svc = serviceOf(host);
      const raw = ctx.storage.open(host, "muc-rooms", "keyval");
      const store = roomStoreOf(ctx, host, svc.domain);
      const archive = ctx.storage.open(host, "muc-archive", "archive");
      for (const service of elements) {
        for (const el of service.elements()) {
          if (el.name !== "room" || el.ns !== NS_PIE_NATTER) {
            changes.warnings.push(`<${el.name}/> in <muc-service/> is not a <room/>; skipped`);
            continue;
          }
          const local = tryParseJid(el.attrs.jid)?.local ?? "";
          const stored = local === "" ? undefined : await raw.get(local);
          const room = readRoom(el, svc, stored, changes.warnings);
          if (!room) continue;
          const json = room.toJson();
          if (stored === undefined) changes.added++;
          else if (JSON.stringify(stored) === JSON.stringify(json)) changes.unchanged++;
          else changes.changed++;
          if (!options.dryRun && JSON.stringify(stored) !== JSON.stringify(json)) await store.save(room);

          const items: ArchivedMessage[] = [];
          for (const result of el.getChild("archive", NS_PIE_NATTER)?.elements() ?? []) {
            const read =
              result.name === "result" && result.ns === NS_MAM
                ? readResult(result)
                : `<${result.name}/> in a room archive`;
            if (typeof read === "string") changes.warnings.push(`room ${room.jid.toString()}: ${read}; skipped`);
            else if (read.message.name !== "message" || read.message.attrs.type !== "groupchat")
              changes.warnings.push(
                `room ${room.jid.toString()}: archived message ${read.id} is not a groupchat message; skipped`,
              );
            else items.push(read);
          }
          const roomJid = room.jid.toString();
          await importArchived(archive, room.localpart, items, encodeArchived, () => roomJid, options, changes);
        }
      }
      return changes;
    },
  };
}

/** The section with the default service domain (`conference.<host>`). */
export const mucRoomsSection: HostSection = createMucRoomsSection();
