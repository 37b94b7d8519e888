// XEP-0227 section: the user's message archive (XEP-0313, the mam module's "mam" store). The format is the one
// Prosody's mod_storage_xep0227 and Tigase write, so their exports import:
//   <archive xmlns='urn:xmpp:pie:0#mam'>
//     <result xmlns='urn:xmpp:mam:2' id='stanza-id'><forwarded xmlns='urn:xmpp:forward:0'>
//       <delay xmlns='urn:xmpp:delay' stamp='…'/><message xmlns='jabber:client' …/></forwarded></result>
//   </archive>
// The result id is the archive id (the XEP-0359 stanza-id clients saw), kept on import so that their MAM sync
// state stays valid; a message whose id is already archived is not added again (a second import adds nothing).
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DELAY, NS_FORWARD, NS_MAM } from "../../core/xml/ns.js";
import { decodeArchived, encodeArchived } from "../../modules/mam/codec.js";
import type { ArchiveItem, ArchiveStore, Json } from "../../storage/types.js";
import type { ImportOptions, MigrationContext, SectionChanges, UserSection } from "../types.js";

/** The archive element's namespace (Prosody, Tigase and Cheogram write it; XEP-0227 itself names none). */
export const NS_PIE_MAM = "urn:xmpp:pie:0#mam";

/** Archive reads and existence checks go this many items at a time, so a large archive is never all in memory. */
const BATCH = 500;

/** One archived message as it appears in the file. */
export interface ArchivedMessage {
  id: string;
  when: number;
  message: Element;
}

/** <result id><forwarded><delay stamp/><message/></forwarded></result> (XEP-0313 §4.2 shape). */
export function resultElement(item: ArchivedMessage): Element {
  const result = new Element("result", NS_MAM, { id: item.id });
  const forwarded = result.c("forwarded", NS_FORWARD);
  forwarded.c("delay", NS_DELAY, { stamp: new Date(item.when).toISOString() });
  forwarded.append(item.message);
  return result;
}

/** A <result/> read back; a string naming what is wrong when it cannot be used. */
export function readResult(result: Element): ArchivedMessage | string {
  const id = result.attrs.id;
  if (id === undefined || id === "" || id.length > 256) return "archived message without a usable id";
  const forwarded = result.getChild("forwarded", NS_FORWARD);
  const message = forwarded?.getChild("message", NS_CLIENT);
  if (!forwarded || !message) return `archived message ${id} without <forwarded><message/>`;
  const stamp = forwarded.getChild("delay", NS_DELAY)?.attrs.stamp;
  const when = stamp === undefined ? Number.NaN : Date.parse(stamp);
  if (!Number.isFinite(when)) return `archived message ${id} without a valid <delay stamp/>`;
  return { id, when, message };
}

/** Every item of one archive, oldest first, a batch at a time. */
export async function* allItems(store: ArchiveStore, user: string): AsyncGenerator<ArchiveItem> {
  let after: string | undefined;
  for (;;) {
    const page = await store.find(user, { limit: BATCH, ...(after === undefined ? {} : { after }) });
    yield* page;
    if (page.length < BATCH) return;
    after = page[page.length - 1]?.id;
  }
}

/**
 * Appends the messages whose ids the archive does not hold yet. `encode` gives the stored value (each module
 * has its own), `withOf` the `with` column. An id already there with the same value is unchanged; with another
 * value the stored one stays (an archive is append-only: its items are never rewritten) and a warning says so.
 */
export async function importArchived(
  store: ArchiveStore,
  user: string,
  items: readonly ArchivedMessage[],
  encode: (message: Element) => Json,
  withOf: (message: Element) => string,
  options: ImportOptions,
  changes: SectionChanges,
): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) {
    const batch = items.slice(i, i + BATCH);
    const existing = new Map((await store.find(user, { ids: batch.map((b) => b.id) })).map((e) => [e.id, e]));
    for (const item of batch) {
      const value = encode(item.message);
      const stored = existing.get(item.id);
      if (stored) {
        if (JSON.stringify(stored.value) === JSON.stringify(value)) changes.unchanged++;
        else changes.warnings.push(`archived message ${item.id}: another message has this id; the stored one was kept`);
        continue;
      }
      changes.added++;
      if (!options.dryRun)
        await store.append(user, { id: item.id, when: item.when, with: withOf(item.message), value });
      // One id twice in the file: the second is the same item, not a new one.
      existing.set(item.id, { id: item.id, when: item.when, with: "", value });
    }
  }
}

/** XEP-0313 §3: `with` is the other party; Prosody derives it the same way for the archives it imports. */
function withOf(userJid: string, message: Element): string {
  const to = tryParseJid(message.attrs.to)?.bareString() ?? "";
  const from = tryParseJid(message.attrs.from)?.bareString() ?? "";
  return to === userJid ? from || to : to;
}

export const archiveSection: UserSection = {
  name: "archive",
  claims: [{ ns: NS_PIE_MAM, name: "archive" }],

  async exportUser(ctx: MigrationContext, host: string, user: string): Promise<Element[]> {
    const store = ctx.storage.open(host, "mam", "archive");
    const archive = new Element("archive", NS_PIE_MAM);
    for await (const item of allItems(store, user)) {
      const message = decodeArchived(item.value);
      if (!message) {
        ctx.log.warn({ host, user, id: item.id }, "archived message unreadable; not exported");
        continue;
      }
      archive.append(resultElement({ id: item.id, when: item.when, message }));
    }
    return archive.children.length === 0 ? [] : [archive];
  },

  async importUser(ctx, host, user, elements, options): Promise<SectionChanges> {
    const changes: SectionChanges = { added: 0, changed: 0, unchanged: 0, warnings: [] };
    const store = ctx.storage.open(host, "mam", "archive");
    const items: ArchivedMessage[] = [];
    for (const archive of elements) {
      for (const child of archive.elements()) {
        if (child.name !== "result" || child.ns !== NS_MAM) {
          changes.warnings.push(`<${child.name}/> in the archive is not a urn:xmpp:mam:2 <result/>; skipped`);
          continue;
        }
        const read = readResult(child);
        if (typeof read === "string") changes.warnings.push(`${read}; skipped`);
        else items.push(read);
      }
    }
    const userJid = `${user}@${host}`;
    await importArchived(store, user, items, encodeArchived, (m) => withOf(userJid, m), options, changes);
    return changes;
  },
};
