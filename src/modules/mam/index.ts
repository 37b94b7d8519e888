// XEP-0313 Message Archive Management for user archives: every one-to-one message a local user sends or
// receives is archived in that user's archive (subject to XEP-0441 preferences and XEP-0334 hints), the
// recipient's copy carries the archive id as an XEP-0359 stanza-id, and the user queries the archive on
// their bare JID (§3.3.1) with forms and RSM paging. Old messages expire after `retention_days`.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Element } from "../../core/xml/element.js";
import { NS_MAM, NS_MAM_EXTENDED, NS_SID } from "../../core/xml/ns.js";
import type { IqRequest } from "../../core/iq-dispatch.js";
import { RosterStore } from "../roster/roster-store.js";
import {
  type ArchivePrefs,
  buildPrefs,
  decodePrefs,
  encodeArchived,
  encodePrefs,
  isArchivable,
  parsePrefs,
  prefsAllow,
  stampStanzaId,
  stanzaIdsBy,
  withoutStanzaIds,
} from "./codec.js";
import { ArchiveQuota } from "./archive-quota.js";
import { answerMamQuery, mamMetadata, mamQueryForm } from "./query.js";

const options = z
  .object({
    /** XEP-0441 §2.1.1 default for users who set no preferences: always, roster or never. */
    default_policy: z.enum(["always", "roster", "never"]).default("always"),
    /** Messages older than this many days are deleted (XEP-0313 §3.2: oldest first). 0 keeps them forever. */
    retention_days: z.number().min(0).default(365),
    /** Messages kept per account; past it the oldest are deleted as new ones arrive. 0: no quota. */
    max_messages: z.number().int().min(0).default(100_000),
    /** How often expired messages are looked for, in seconds. */
    expiry_interval: z.number().int().min(1).default(3600),
    /** Page size when a query has no RSM <max/>. */
    default_page: z.number().int().min(1).default(50),
    /** Larger RSM <max/> values are clamped to this (XEP-0313 §4.3.1). */
    max_page: z.number().int().min(1).default(250),
    /** RSM <count/>: "always", or "when-cheap" (whole result set on one page, or max=0): a million-row count costs more than a page. */
    rsm_count: z.enum(["always", "when-cheap"]).default("when-cheap"),
  })
  .strict();

/** Cached preferences stay this long (another cluster node may change them). */
const PREFS_TTL_MS = 30_000;

export default defineModule({
  name: "mam",
  specs: [
    {
      xep: 313,
      version: "1.1.3",
      status: "complete",
      note: "user archives; include-groupchat is not offered (groupchat is never archived)",
    },
    { xep: 441, version: "0.2.0", status: "complete", note: "preferences" },
    { xep: 359, version: "0.7.0", status: "complete", note: "stanza-id stamped on archived incoming messages" },
    { xep: 59, version: "1.0.0", status: "partial", note: "no paging by index other than 0" },
  ],
  options,
  setup(ctx) {
    const { host } = ctx;
    const o = ctx.options;
    const store = ctx.store("mam", "archive");
    const prefsStore = ctx.store("mam-prefs", "keyval");
    const roster = new RosterStore(ctx);
    const quota = new ArchiveQuota(store, o.max_messages, ctx.log);
    const prefsCache = new Map<string, { prefs: ArchivePrefs; at: number }>();
    // Stanzas this module already archived for their recipient (one stanza forked to several resources).
    const archived = new WeakSet<Element>();

    async function prefsOf(user: string): Promise<ArchivePrefs> {
      const hit = prefsCache.get(user);
      if (hit && Date.now() - hit.at < PREFS_TTL_MS) return hit.prefs;
      const prefs = decodePrefs(await prefsStore.get(user), o.default_policy);
      if (prefsCache.size > 10_000) prefsCache.clear();
      prefsCache.set(user, { prefs, at: Date.now() });
      return prefs;
    }

    /** Archives `stanza` for `user` when their preferences allow it; returns the archive id. */
    async function archive(user: string, target: Jid, stanza: Element, when: number): Promise<string | undefined> {
      const prefs = await prefsOf(user);
      if (!(await prefsAllow(prefs, target, async (bare) => (await roster.get(user, bare)) !== undefined)))
        return undefined;
      // Committed before the message goes on (DESIGN.md "Data and scale").
      const id = await store.append(user, { when, with: target.bareString(), value: encodeArchived(stanza) });
      await quota.appended(user);
      return id;
    }

    /** The recipient's copy: archived once, and the archive id stamped on the stanza (XEP-0313 §3.5). */
    async function archiveIncoming(stanza: Element, owner: Jid): Promise<void> {
      if (archived.has(stanza) || !isArchivable(stanza)) return;
      const from = tryParseJid(stanza.attrs.from);
      if (!from) return;
      const by = owner.bareString();
      // Already archived here: offline messages come back with the stanza-id stamped when they were stored.
      const mine = stanzaIdsBy(stanza, by);
      if (mine.length === 1) {
        const id = mine[0]?.attrs.id;
        if (id !== undefined && (await store.count(owner.local, { ids: [id] })) > 0) {
          archived.add(stanza);
          return;
        }
      }
      const id = await archive(owner.local, from, withoutStanzaIds(stanza, by), Date.now());
      // XEP-0359 §4: any stanza-id claiming to be ours goes, archived or not.
      if (id === undefined) stanza.children = withoutStanzaIds(stanza, by).children;
      else stampStanzaId(stanza, id, by);
      archived.add(stanza);
    }

    // The sender's copy (XEP-0313 §3: outgoing messages are archived for the sender).
    ctx.hookFirst("stanza.outbound", async ({ session, stanza }) => {
      if (stanza.name !== "message" || session.jid.domain !== host || !isArchivable(stanza)) return;
      const to = tryParseJid(stanza.attrs.to);
      // A message to one's own bare JID is archived once, as it arrives.
      if (!to || to.bareString() === session.jid.bareString()) return;
      await archive(session.jid.local, to, stanza, Date.now());
      return undefined;
    });

    // The recipient's copy, as it is handed to a resource. Runs before carbons and CSI see the stanza.
    ctx.hookFirst(
      "stanza.deliver",
      async ({ session, stanza }) => {
        if (stanza.name !== "message" || session.jid.domain !== host) return;
        const to = tryParseJid(stanza.attrs.to);
        if (!to || to.bareString() !== session.jid.bareString()) return;
        await archiveIncoming(stanza, session.jid.bare());
        return undefined;
      },
      { priority: 50 },
    );

    // For a resource on another cluster node: archived (and stamped) here, where the message is routed, so that
    // its copies on several nodes and a copy handed on when a node dies carry one stanza-id and are archived once
    // (the node that delivers it finds the stanza-id in the shared archive).
    ctx.hookFirst(
      "stanza.forward",
      async ({ session, stanza }) => {
        if (session.jid.domain !== host) return;
        const to = tryParseJid(stanza.attrs.to);
        if (!to || to.bareString() !== session.jid.bareString()) return;
        await archiveIncoming(stanza, session.jid.bare());
        return undefined;
      },
      { priority: 50 },
    );

    // No resource to take it: archived (and stamped) before offline storage keeps it, so the stored
    // copy carries the same stanza-id when it is delivered later.
    ctx.hookFirst(
      "message.offline",
      async ({ stanza, to }) => {
        if (to.domain !== host) return;
        await archiveIncoming(stanza, to.bare());
        return undefined;
      },
      { priority: 50 },
    );

    // XEP-0313 §8.1: a user archive is its owner's alone.
    const owner = (iq: IqRequest): Jid => {
      if (iq.from.bareString() !== iq.to.bareString()) throw new StanzaError("forbidden", "this archive is not yours");
      return iq.to.bare();
    };

    // §4: queries, on the user's bare JID (§3.3.1).
    ctx.iq("account", "set", NS_MAM, "query", async (iq) => {
      const archiveJid = owner(iq);
      const session = iq.session;
      return answerMamQuery({
        store,
        archive: archiveJid.local,
        by: archiveJid.toString(),
        query: iq.payload,
        to: iq.from.toString(),
        send: (m) => (session ? session.send(m) : ctx.route(m)),
        defaultPage: o.default_page,
        maxPage: o.max_page,
        count: o.rsm_count,
      });
    });
    // §4.1.5: the query form.
    ctx.iq("account", "get", NS_MAM, "query", (iq) => {
      owner(iq);
      return mamQueryForm();
    });
    // §5: archive metadata.
    ctx.iq("account", "get", NS_MAM, "metadata", (iq) => mamMetadata(store, owner(iq).local));
    // XEP-0441: preferences.
    ctx.iq("account", "get", NS_MAM, "prefs", async (iq) => buildPrefs(await prefsOf(owner(iq).local)));
    ctx.iq("account", "set", NS_MAM, "prefs", async (iq) => {
      const user = owner(iq).local;
      const prefs = parsePrefs(iq.payload);
      await prefsStore.set(user, encodePrefs(prefs));
      prefsCache.set(user, { prefs, at: Date.now() });
      return buildPrefs(prefs);
    });
    // §7: both features on archiving JIDs; XEP-0359 §2 for the stanza-ids.
    ctx.feature(NS_MAM_EXTENDED, "account");
    ctx.feature(NS_SID, "account");
    ctx.feature(NS_SID, "host");

    // XEP-0313 §3.2: retention deletes the oldest messages only, never from the middle.
    if (o.retention_days > 0) {
      const expire = async () => {
        const removed = await store.deleteOlderThan(Date.now() - o.retention_days * 86_400_000);
        if (removed > 0) {
          quota.forget();
          ctx.log.info({ removed }, "expired archived messages");
        }
      };
      ctx.timer(o.expiry_interval * 1000, expire);
      ctx.hook("server.started", expire);
    }
  },
});
