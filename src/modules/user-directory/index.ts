// XEP-0055 Jabber Search as a user directory: a service at search.<host> (listed in the host's disco#items,
// as ejabberd's vjud.<host>) finds the host's users by the given name, family name, nickname and email of their
// vcard-temp. Opt-in (a directory tells who exists): off unless listed under `modules:`, then only on `hosts`.
// Users without those vCard fields are not listed, and a user may opt out with the "Directory listing" command.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { LruMap } from "../../core/lru-map.js";
import { defineModule, type ModuleContext } from "../../core/modules.js";
import { serveServiceDomain, serviceIqDispatcher } from "../../core/service-domain.js";
import { TokenBucket } from "../../core/token-bucket.js";
import { Element } from "../../core/xml/element.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_SEARCH } from "../../core/xml/ns.js";
import { buildRsm, parseRsm } from "../../core/xml/rsm.js";
import { parseStoredVCard } from "../vcard/codec.js";
import {
  buildFormResults,
  buildLegacyResults,
  buildSearchFields,
  entryFromVCard,
  parseSearchRequest,
  type SearchHit,
  withoutPhotos,
} from "./codec.js";
import { type DirectoryEntry, DirectoryIndex, SEARCH_FIELDS } from "./directory-index.js";
import { LISTING_NODE, listingCommand } from "./listing-command.js";

/** Searchers whose rate-limit buckets are remembered; the least recently searching are forgotten first. */
const MAX_TRACKED_SEARCHERS = 10_000;
/** vCards read at start between two turns of the event loop. */
const LOAD_BATCH = 500;

const options = z
  .object({
    /** Hosts that get a directory; [] = every host. */
    hosts: z.array(z.string()).default([]),
    /** The service's domain; "" = search.<host>; "{host}" in it stands for the host (needed with several hosts). */
    domain: z.string().default(""),
    /** Who may search: "local" = users of this host only; "everyone" = any JID, other servers' users included. */
    access: z.enum(["local", "everyone"]).default("local"),
    /** Fewest characters a search value must have (so "a" cannot list nearly everyone). */
    min_query_length: z.number().int().min(1).max(64).default(2),
    /** Most users one search returns (also the largest XEP-0059 page). */
    max_results: z.number().int().min(1).max(1000).default(30),
    /** Searches one user may make per minute (a burst of that many, then refilled evenly); 0 = no limit. */
    searches_per_minute: z.number().int().min(0).default(20),
  })
  .strict();

export default defineModule({
  name: "user-directory",
  specs: [
    {
      xep: 55,
      version: "1.3",
      status: "complete",
      note: "searches the host's users by vcard-temp; XEP-0059 paging with max/after",
    },
  ],
  depends: ["vcard"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const unknown = ctx.options.hosts.filter((h) => !ctx.hosts.has(h));
    // Said once (by the first host's instance): a misspelt host silently without a directory would puzzle.
    if (unknown.length > 0 && [...ctx.hosts][0] === host)
      ctx.log.warn({ hosts: unknown }, "user-directory: hosts not served here");
    if (ctx.options.hosts.length > 0 && !ctx.options.hosts.includes(host)) return;
    const configured = ctx.options.domain.replaceAll("{host}", host);
    const domain = configured === "" ? `search.${host}` : (tryParseJid(configured)?.domain ?? configured);
    const vcards = ctx.store("vcard", "keyval");
    const hidden = ctx.store("user-directory-hidden", "keyval"); // per user: true when they opted out
    const index = new DirectoryIndex();
    const buckets = new LruMap<string, TokenBucket>(MAX_TRACKED_SEARCHERS);

    const listedEntry = async (user: string, vcard: Element | undefined) =>
      vcard && (await hidden.get(user)) === undefined ? entryFromVCard(vcard) : undefined;
    const refresh = async (user: string, vcard: Element | undefined) => {
      const entry = await listedEntry(user, vcard);
      if (entry) index.set(user, entry);
      else index.delete(user);
    };
    // Built once in the background; searches and changes wait for it (a change during the load is applied after).
    const ready = (async () => {
      const started = Date.now();
      const rows: [string, DirectoryEntry][] = [];
      let count = 0;
      for (const user of await vcards.users()) {
        const stored = await vcards.get(user);
        const entry =
          typeof stored === "string" ? await listedEntry(user, parseStoredVCard(withoutPhotos(stored))) : undefined;
        if (entry) rows.push([user, entry]);
        // The SQLite store answers synchronously: let the server serve its clients between batches.
        if (++count % LOAD_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      index.load(rows);
      ctx.log.info({ listed: index.size, ms: Date.now() - started }, "user directory index built");
    })().catch((err: unknown) => ctx.log.error({ err }, "user directory index could not be built"));

    ctx.hook("vcard.changed", async ({ host: h, user, vcard }) => {
      if (h !== host) return;
      await ready;
      await refresh(user, vcard);
    });
    ctx.hook("account.deleted", async ({ host: h, user }) => {
      if (h !== host) return;
      await ready;
      index.delete(user);
      await hidden.delete(user);
    });

    ctx.command(
      LISTING_NODE,
      listingCommand(host, {
        isHidden: async (user) => (await hidden.get(user)) !== undefined,
        async setHidden(user, hide) {
          await ready;
          if (hide) await hidden.set(user, true);
          else await hidden.delete(user);
          const stored = await vcards.get(user);
          await refresh(user, typeof stored === "string" ? parseStoredVCard(stored) : undefined);
        },
      }),
    );

    const refuse = (from: Jid, condition: "forbidden" | "not-acceptable" | "resource-constraint", text: string) => {
      ctx.log.debug({ from: from.toString(), condition }, `user directory: ${text}`);
      return new StanzaError(condition, text);
    };
    // Read at each request: a reload may change the options.
    const checkAccess = (from: Jid) => {
      if (ctx.options.access === "everyone" || (from.domain === host && from.local !== "")) return;
      throw refuse(from, "forbidden", `only users of ${host} may search this directory`);
    };
    const instructions = () =>
      `Find users of ${host} by name, nickname or email: fill in one or more fields, at least ${ctx.options.min_query_length} characters each; ` +
      `each value matches anywhere in the field, case-insensitively. At most ${ctx.options.max_results} results.`;

    const owner = `${ctx.name}@${host}`;
    const iq = serviceIqDispatcher(ctx as ModuleContext<unknown>, domain, owner, () => {
      const query = new Element("query", NS_DISCO_INFO);
      query.c("identity", NS_DISCO_INFO, { category: "directory", type: "user", name: `User directory of ${host}` });
      for (const ns of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_SEARCH]) query.c("feature", NS_DISCO_INFO, { var: ns });
      return query;
    });

    // XEP-0055 §2.1: the search fields.
    iq.register(
      domain,
      "host",
      "get",
      NS_SEARCH,
      "query",
      ({ from }) => {
        checkAccess(from);
        return buildSearchFields(instructions());
      },
      owner,
    );

    // XEP-0055 §2.1 / §3: a search.
    iq.register(
      domain,
      "host",
      "set",
      NS_SEARCH,
      "query",
      async ({ from, payload }) => {
        checkAccess(from);
        let request: ReturnType<typeof parseSearchRequest>;
        try {
          request = parseSearchRequest(payload);
        } catch (err) {
          if (err instanceof StanzaError)
            ctx.log.debug(
              { from: from.toString(), condition: err.condition },
              `user directory: ${err.text ?? "bad search"}`,
            );
          throw err;
        }
        const { criteria, form } = request;
        const given = SEARCH_FIELDS.filter((f) => criteria[f] !== undefined);
        const min = ctx.options.min_query_length;
        // Local policy, RFC 6120 §8.3.3.10 not-acceptable: no search lists everyone.
        if (given.length === 0) throw refuse(from, "not-acceptable", "fill in at least one search field");
        if (given.some((f) => [...(criteria[f] as string)].length < min)) {
          throw refuse(from, "not-acceptable", `search values must have at least ${min} characters`);
        }
        const perMinute = ctx.options.searches_per_minute;
        if (perMinute > 0) {
          const key = from.bareString();
          let bucket = buckets.get(key);
          if (!bucket) buckets.set(key, (bucket = new TokenBucket(perMinute / 60, perMinute)));
          else bucket.setLimits(perMinute / 60, perMinute);
          if (!bucket.take()) throw refuse(from, "resource-constraint", "too many searches; try again in a minute");
        }
        const rsm = parseRsm(payload);
        if (rsm?.before !== undefined || rsm?.index !== undefined) {
          throw new StanzaError("feature-not-implemented", "this directory pages forward only (<max/> and <after/>)");
        }
        const limit = Math.min(rsm?.max ?? ctx.options.max_results, ctx.options.max_results);
        const after = rsm?.after === undefined ? undefined : (tryParseJid(rsm.after)?.local ?? rsm.after);
        await ready;
        const { items } = index.search(criteria, limit, after);
        const hits: SearchHit[] = items.map((i) => ({ jid: `${i.user}@${host}`, entry: i.entry }));
        const query = form ? buildFormResults(hits) : buildLegacyResults(hits);
        // XEP-0059 §2.2: the page's first and last item, by JID (what <after/> takes back).
        if (rsm)
          query.append(
            buildRsm(hits.length === 0 ? {} : { first: { id: hits[0]!.jid }, last: hits[hits.length - 1]!.jid }),
          );
        return query;
      },
      owner,
    );

    // XEP-0030: the host lists the service.
    serveServiceDomain(ctx as ModuleContext<unknown>, host, domain, iq);
  },
});
