// XEP-0313 queries against any archive: the form, filters and RSM paging of §4, the result messages of
// §4.2, the <fin/> of §4.3 and the metadata of §5. Knows nothing of users: the MAM module answers for
// user archives, a MUC service can answer for room archives (§3.3.2) with the same function.
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { buildDataForm, findDataForm, formType, parseDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_DELAY, NS_FORWARD, NS_MAM, NS_XDATA_VALIDATE } from "../../core/xml/ns.js";
import { buildRsm, parseRsm } from "../../core/xml/rsm.js";
import { ArchiveItemNotFoundError } from "../../storage/errors.js";
import type { ArchiveItem, ArchiveQuery, ArchiveStore } from "../../storage/types.js";
import { decodeArchived } from "./codec.js";
import { StoredXml } from "./stored-xml.js";

export interface MamQueryOptions {
  store: ArchiveStore;
  /** The archive's key in the store (a localpart for a user archive, a room's name for a MUC archive). */
  archive: string;
  /** The archive's JID: the `from` of result messages, which clients check (XEP-0313 §8.2). */
  by: string;
  /** The <query xmlns='urn:xmpp:mam:2'/> payload of the iq set. */
  query: Element;
  /** The requester's full JID: result messages go there. */
  to: string;
  /** Sends one result message, before the iq result that the caller returns (§4.2). */
  send(message: Element): void;
  /** Page size when the client gives no <max/>. */
  defaultPage: number;
  /** Larger <max/> values are clamped to this (§4.3.1: a server MAY limit a page). */
  maxPage: number;
  /**
   * RSM <count/> (XEP-0059 §2.2): "always", or only "when-cheap" (known without counting the archive:
   * a whole result set on one page, or max=0). Counting a million rows costs more than a page.
   */
  count?: "always" | "when-cheap";
  /** The forwarded message of an item; by default the stored stanza (user archives). */
  render?: (item: ArchiveItem) => Element | undefined;
}

/** Fields of the urn:xmpp:mam:2 form this implementation understands (§4.1). */
const FIELDS = new Set(["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"]);

// XEP-0082 §3.3 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD.
const DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function parseDateTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = DATETIME.test(value.trim()) ? Date.parse(value.trim()) : Number.NaN;
  if (!Number.isFinite(ms)) throw new StanzaError("bad-request", `'${field}' is not an XEP-0082 DateTime`);
  return ms;
}

interface ParsedQuery {
  filter: Pick<ArchiveQuery, "start" | "end" | "with" | "ids">;
  /** A `with` with a resource: matched exactly on the stored stanza, after the bare JID match. */
  withFull: string | undefined;
  afterId: string | undefined;
  beforeId: string | undefined;
}

function parseForm(query: Element): ParsedQuery {
  const out: ParsedQuery = { filter: {}, withFull: undefined, afterId: undefined, beforeId: undefined };
  const x = findDataForm(query);
  if (!x) return out;
  const form = parseDataForm(x);
  if (form.type !== "submit") throw new StanzaError("bad-request", "the query form must be of type submit");
  const ft = formType(form);
  if (ft !== undefined && ft !== NS_MAM) throw new StanzaError("bad-request", `FORM_TYPE must be ${NS_MAM}`);
  for (const field of form.fields) {
    // §4.1.5: a field the server does not recognise → feature-not-implemented.
    if (field.var === undefined || !FIELDS.has(field.var)) {
      throw new StanzaError("feature-not-implemented", `unknown query field '${field.var ?? ""}'`);
    }
  }
  const value = (name: string) => {
    const v = form.fields.find((f) => f.var === name)?.values[0];
    return v === undefined || v === "" ? undefined : v;
  };
  const withValue = value("with");
  if (withValue !== undefined) {
    const jid = tryParseJid(withValue.trim());
    if (!jid) throw new StanzaError("jid-malformed", "'with' is not a JID");
    // §4.1.1: a bare JID matches every resource; a full JID only itself.
    out.filter.with = jid.bareString();
    if (jid.resource !== "") out.withFull = jid.toString();
  }
  const start = parseDateTime("start", value("start"));
  if (start !== undefined) out.filter.start = start;
  const end = parseDateTime("end", value("end"));
  if (end !== undefined) out.filter.end = end;
  out.afterId = value("after-id");
  out.beforeId = value("before-id");
  const ids = form.fields.find((f) => f.var === "ids");
  if (ids) out.filter.ids = [...new Set(ids.values.filter((v) => v !== ""))];
  return out;
}

/** The §4.1.5 form: what a client may put in a query. */
export function mamQueryForm(): Element {
  const validate = new Element("validate", NS_XDATA_VALIDATE, { datatype: "xs:string" });
  validate.c("open");
  return new Element("query", NS_MAM).append(
    buildDataForm({
      type: "form",
      fields: [
        { var: "FORM_TYPE", type: "hidden", values: [NS_MAM] },
        { var: "with", type: "jid-single", values: [] },
        { var: "start", type: "text-single", values: [] },
        { var: "end", type: "text-single", values: [] },
        { var: "before-id", type: "text-single", values: [] },
        { var: "after-id", type: "text-single", values: [] },
        // §4.1.5: the list of ids is open (XEP-0122), never enumerated.
        { var: "ids", type: "list-multi", values: [], extra: [validate] },
      ],
    }),
  );
}

/** §5: the first and last items of an archive (an empty <metadata/> for an empty archive). */
export async function mamMetadata(store: ArchiveStore, archive: string): Promise<Element> {
  const el = new Element("metadata", NS_MAM);
  const [first] = await store.find(archive, { limit: 1 });
  const [last] = await store.find(archive, { limit: 1, reverse: true });
  if (first) el.c("start", NS_MAM, { id: first.id, timestamp: new Date(first.when).toISOString() });
  if (last) el.c("end", NS_MAM, { id: last.id, timestamp: new Date(last.when).toISOString() });
  return el;
}

function storedMessage(item: ArchiveItem): Element | undefined {
  const v = item.value;
  if (v !== null && typeof v === "object" && !Array.isArray(v) && typeof v.xml === "string" && v.xml.startsWith("<message")) {
    return new StoredXml(v.xml);
  }
  return decodeArchived(v);
}

function notFound(id: string): StanzaError {
  return new StanzaError("item-not-found", `no archived message with id ${id}`);
}

/** Store errors a client caused become its item-not-found (§4.1.3, §4.3.2; XEP-0059 §2.4). */
async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ArchiveItemNotFoundError) throw notFound(err.id);
    throw err;
  }
}

/**
 * Answers one MAM query: sends the matching page as result messages (§4.2) and returns the <fin/> for
 * the iq result (§4.3). Throws StanzaError for the client's mistakes (bad form, unknown ids).
 */
export async function answerMamQuery(opts: MamQueryOptions): Promise<Element> {
  const { store, archive, query } = opts;
  if (query.attrs.node !== undefined) throw new StanzaError("item-not-found", "this archive has no nodes (XEP-0442)");
  const parsed = parseForm(query);
  const rsm = parseRsm(query) ?? {};
  const flip = query.getChild("flip-page", NS_MAM) !== undefined;
  // XEP-0059 §2.6: paging by index would need an OFFSET scan over the archive; ids page in constant time.
  if (rsm.index !== undefined && rsm.index !== 0) {
    throw new StanzaError("feature-not-implemented", "paging by index is not supported; page with after/before ids");
  }
  const size = Math.min(rsm.max ?? opts.defaultPage, opts.maxPage);
  const { filter } = parsed;
  const store_ = store;

  return mapped(async () => {
    // §4.1.3: every id named in ids, after-id or before-id must exist.
    if (filter.ids !== undefined && filter.ids.length > 0) {
      const known = await store_.count(archive, { ids: filter.ids });
      if (known < filter.ids.length) {
        const found = new Set((await store_.find(archive, { ids: filter.ids })).map((i) => i.id));
        throw notFound(filter.ids.find((id) => !found.has(id)) ?? "");
      }
    }
    const exists = async (id: string) => {
      if ((await store_.count(archive, { ids: [id] })) === 0) throw notFound(id);
    };
    // The form's after-id/before-id are filters; RSM's after/before are the cursor (§9). With both,
    // the tighter bound applies.
    let after = rsm.after;
    if (parsed.afterId !== undefined) {
      if (after === undefined) after = parsed.afterId;
      else {
        await exists(parsed.afterId);
        const later = await store_.find(archive, { ids: [parsed.afterId], after, limit: 1 });
        if (later.length > 0) after = parsed.afterId;
      }
    }
    const rsmBefore = rsm.before === "" ? undefined : rsm.before;
    let before = rsmBefore;
    if (parsed.beforeId !== undefined) {
      if (before === undefined) before = parsed.beforeId;
      else {
        await exists(parsed.beforeId);
        const earlier = await store_.find(archive, { ids: [parsed.beforeId], before, limit: 1 });
        if (earlier.length > 0) before = parsed.beforeId;
      }
    }
    // RSM <before/> (empty or not) pages backwards: the newest matching items (XEP-0059 §2.3, §2.5).
    const reverse = rsm.before !== undefined;
    const base: ArchiveQuery = { ...filter, reverse };
    if (after !== undefined) base.after = after;
    if (before !== undefined) base.before = before;

    // One more than the page: whether it exists decides `complete` (§4.3.2).
    let items = await fetch(store_, archive, base, size + 1, opts, parsed.withFull);
    const complete = items.length <= size;
    if (!complete) items = reverse ? items.slice(items.length - size) : items.slice(0, size);

    const send = flip ? [...items].reverse() : items;
    const queryid = query.attrs.queryid;
    for (const item of send) {
      const original = (opts.render ?? storedMessage)(item);
      const result = new Element("result", NS_MAM, queryid === undefined ? { id: item.id } : { queryid, id: item.id });
      const forwarded = result.c("forwarded", NS_FORWARD);
      // §4.2: the delay stamp is when the archive received the message.
      forwarded.c("delay", NS_DELAY, { stamp: new Date(item.when).toISOString() });
      if (original) forwarded.append(original);
      opts.send(new Element("message", "jabber:client", { to: opts.to, from: opts.by }, [result]));
    }

    // XEP-0059 §2.2 count and index: exact when the whole result set is on this page; otherwise only
    // counted when asked for (max=0, or count: always) and the result set is a plain filter.
    const whole = complete && after === undefined && before === undefined;
    let count: number | undefined;
    if (whole && parsed.withFull === undefined) count = items.length;
    else if (
      (opts.count === "always" || size === 0) &&
      parsed.afterId === undefined &&
      parsed.beforeId === undefined &&
      parsed.withFull === undefined
    ) {
      count = await store_.count(archive, filter);
    }
    let index: number | undefined;
    if (!reverse && rsm.after === undefined && parsed.afterId === undefined) index = 0;
    else if (reverse && rsmBefore === undefined && count !== undefined && parsed.beforeId === undefined) index = count - items.length;

    const fin = new Element("fin", NS_MAM, complete ? { complete: "true" } : {});
    const first = items[0];
    const last = items[items.length - 1];
    fin.append(
      buildRsm({
        ...(first ? { first: index === undefined ? { id: first.id } : { id: first.id, index } } : {}),
        ...(last ? { last: last.id } : {}),
        ...(count === undefined ? {} : { count }),
      }),
    );
    return fin;
  });
}

/**
 * Up to `limit` items of `query`. A full-JID `with` is matched on the stored stanza's to/from, so the
 * store's bare-JID range is walked in chunks until enough match.
 */
async function fetch(
  store: ArchiveStore,
  archive: string,
  query: ArchiveQuery,
  limit: number,
  opts: MamQueryOptions,
  withFull: string | undefined,
): Promise<ArchiveItem[]> {
  if (withFull === undefined) return store.find(archive, { ...query, limit });
  const matches = (item: ArchiveItem) => {
    const m = (opts.render ?? ((i: ArchiveItem) => decodeArchived(i.value)))(item);
    return m !== undefined && (m.attrs.from === withFull || m.attrs.to === withFull);
  };
  const CHUNK = 200;
  let cursor: ArchiveQuery = { ...query };
  let out: ArchiveItem[] = [];
  for (;;) {
    const chunk = await store.find(archive, { ...cursor, limit: CHUNK });
    const hits = chunk.filter(matches);
    out = query.reverse ? [...hits, ...out] : [...out, ...hits];
    if (out.length >= limit || chunk.length < CHUNK) break;
    cursor = query.reverse ? { ...cursor, before: (chunk[0] as ArchiveItem).id } : { ...cursor, after: (chunk[chunk.length - 1] as ArchiveItem).id };
  }
  return query.reverse ? out.slice(Math.max(0, out.length - limit)) : out.slice(0, limit);
}
