// XEP-0402 PEP Native Bookmarks with the unification of XEP-0402 §5.3: the items of 'urn:xmpp:bookmarks:1'
// are the truth. A XEP-0048 list stored through XEP-0049 private storage (#compat) or published to the legacy
// PEP node 'storage:bookmarks' (#compat-pep) updates them item by item (§5.3.2), and a private-storage get of
// storage:bookmarks, like the legacy PEP node, shows them cast into one XEP-0048 <storage/> (§5.3.1).
import { z } from "zod";
import { StanzaError, errorReply } from "../../core/errors.js";
import { makeJid, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import type { DataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import {
  NS_BOOKMARKS,
  NS_BOOKMARKS_COMPAT,
  NS_BOOKMARKS_COMPAT_PEP,
  NS_BOOKMARKS_LEGACY,
  NS_PRIVATE,
  NS_PUBSUB_NODE_CONFIG,
} from "../../core/xml/ns.js";
import { parsePayload } from "../pep/codec.js";
import { pepService } from "../pep/service.js";
import { parseStored, queryChildren, serialiseStored, storageKey } from "../private-storage/codec.js";
import {
  type Bookmark,
  fromConference,
  fromStorage,
  nonConferences,
  sameBookmark,
  toConference,
  toStorage,
} from "./codec.js";

const options = z
  .object({
    /** The most bookmarks one account keeps (`pubsub#max_items` "max" on the bookmarks node). */
    max_bookmarks: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict();

const config = (fields: Record<string, string>): DataForm => ({
  type: "submit",
  fields: [
    { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_NODE_CONFIG] },
    ...Object.entries(fields).map(([k, v]) => ({ var: `pubsub#${k}`, values: [v] })),
  ],
});
// XEP-0402 §3.3: the publish-options clients send, so their later publishes meet the preconditions.
const BOOKMARKS_NODE = config({
  persist_items: "true",
  max_items: "max",
  send_last_published_item: "never",
  access_model: "whitelist",
});
// XEP-0048 §3.3 / XEP-0223 §3: private, persistent, one item.
const LEGACY_NODE = config({ persist_items: "true", access_model: "whitelist" });
/** Where XEP-0049 keeps <storage xmlns='storage:bookmarks'/> (the private-storage module's key). */
const LEGACY_KEY = storageKey(new Element("storage", NS_BOOKMARKS_LEGACY));

export default defineModule({
  name: "bookmarks",
  specs: [
    { xep: 402, version: "1.2.0", status: "complete", note: "#compat (XEP-0049) and #compat-pep (XEP-0048 over PEP)" },
    { xep: 48, version: "1.2", status: "complete", note: "converted to and from XEP-0402 items" },
  ],
  depends: ["pep", "private-storage"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const pep = pepService(ctx);
    // §3.3 max_items "max" on the bookmarks node: this module's max_bookmarks, read at each write (reload).
    const limit = () => ctx.options.max_bookmarks;
    const privateStore = ctx.store("private", "map");
    // §5.3: announced on the account.
    ctx.feature(NS_BOOKMARKS_COMPAT, "account");
    ctx.feature(NS_BOOKMARKS_COMPAT_PEP, "account");

    const chains = new Map<string, Promise<unknown>>();
    /** One conversion of a user's bookmarks at a time. */
    function serial<T>(user: string, fn: () => Promise<T>): Promise<T> {
      const run = (chains.get(user) ?? Promise.resolve()).then(fn, fn);
      const tail = run.catch(() => undefined);
      chains.set(user, tail);
      void tail.then(() => {
        if (chains.get(user) === tail) chains.delete(user);
      });
      return run;
    }
    /** Users whose XEP-0402 items the module itself is rewriting: the legacy node is redone once, at the end. */
    const bulk = new Set<string>();

    async function current(user: string): Promise<Bookmark[]> {
      const out: Bookmark[] = [];
      for (const item of await pep.store.getItems(user, NS_BOOKMARKS)) {
        const b = fromConference(item.id, parsePayload(item.payload));
        if (b) out.push(b);
      }
      return out;
    }

    async function ensureNode(user: string, node: string, form: DataForm): Promise<void> {
      if (await pep.store.node(user, node)) return;
      try {
        await pep.create(user, node, form);
      } catch (err) {
        if (!(err instanceof StanzaError && err.condition === "conflict")) throw err; // created meanwhile
      }
    }

    async function storedLegacy(user: string): Promise<Element | undefined> {
      const text = await privateStore.get(user, LEGACY_KEY);
      return typeof text === "string" ? parseStored(text) : undefined;
    }

    /** §5.3.1: the items as one XEP-0048 list in the legacy PEP node (URL bookmarks of the private copy kept). */
    async function syncLegacyPep(user: string): Promise<void> {
      const stored = await storedLegacy(user);
      const storage = toStorage(await current(user), stored ? nonConferences(stored) : []);
      await ensureNode(user, NS_BOOKMARKS_LEGACY, LEGACY_NODE);
      await pep.publish(user, NS_BOOKMARKS_LEGACY, {
        id: "current",
        payload: storage,
        publisher: makeJid(user, host),
        trusted: true,
      });
    }

    /**
     * §5.3.2: a replacement list from an older client updates the items one by one: new and changed ones are
     * published, missing ones retracted (with notifications), unchanged ones left alone (no notification).
     */
    async function replaceAll(user: string, wanted: Bookmark[], redoLegacyNode: boolean): Promise<void> {
      bulk.add(user);
      try {
        await ensureNode(user, NS_BOOKMARKS, BOOKMARKS_NODE);
        const have = new Map((await current(user)).map((b) => [b.jid, b]));
        const publisher = makeJid(user, host);
        for (const b of wanted) {
          const old = have.get(b.jid);
          have.delete(b.jid);
          if (old && sameBookmark(old, b)) continue;
          await pep.publish(user, NS_BOOKMARKS, {
            id: b.jid,
            payload: toConference(b),
            publisher,
            limit: limit(),
            trusted: true,
          });
        }
        for (const jid of have.keys()) await pep.retract(user, NS_BOOKMARKS, jid, true);
      } finally {
        bulk.delete(user);
      }
      if (redoLegacyNode) await syncLegacyPep(user);
    }

    /** Bookmarks kept only in private storage from before this module: imported once, when first asked for. */
    async function importOld(user: string): Promise<void> {
      if (await pep.store.node(user, NS_BOOKMARKS)) return;
      const stored = await storedLegacy(user);
      if (stored && fromStorage(stored).length > 0) await replaceAll(user, fromStorage(stored), true);
    }

    // A client changed XEP-0402 items: the legacy PEP node follows. A client published a XEP-0048 list to the
    // legacy node (a bare publisher is this module itself): the items follow.
    ctx.hook("pep.published", async ({ host: h, user, node, payload, publisher }) => {
      if (h !== host) return;
      if (node === NS_BOOKMARKS && !bulk.has(user)) await syncLegacyPep(user);
      else if (
        node === NS_BOOKMARKS_LEGACY &&
        publisher.resource !== "" &&
        payload?.name === "storage" &&
        payload.ns === NS_BOOKMARKS_LEGACY
      ) {
        await serial(user, () => replaceAll(user, fromStorage(payload), false));
      }
    });
    ctx.hook("pep.retracted", async ({ host: h, user, node }) => {
      if (h === host && node === NS_BOOKMARKS && !bulk.has(user)) await syncLegacyPep(user);
    });

    const answer = async (session: Session, stanza: Element, payload: Element | undefined) => {
      const attrs: Record<string, string> = { type: "result", to: session.jid.toString() };
      if (stanza.attrs.id !== undefined) attrs.id = stanza.attrs.id;
      if (stanza.attrs.to !== undefined) attrs.from = stanza.attrs.to;
      const reply = new Element("iq", stanza.ns, attrs);
      if (payload) reply.append(payload);
      await ctx.route(reply);
    };

    // XEP-0049 requests for storage:bookmarks (#compat), taken before the private-storage module sees them;
    // after privacy (priority 100). A set with other elements beside the list passes those on.
    ctx.hookFirst(
      "stanza.outbound",
      async ({ session, stanza }) => {
        if (stanza.name !== "iq" || session.jid.domain !== host) return undefined;
        const type = stanza.attrs.type;
        if (type !== "get" && type !== "set") return undefined;
        if (stanza.attrs.to !== undefined) {
          const to = tryParseJid(stanza.attrs.to);
          if (!to || to.resource !== "" || to.bareString() !== session.jid.bareString()) return undefined;
        }
        const children = stanza.elements();
        const query = children[0];
        if (children.length !== 1 || !query || query.name !== "query" || query.ns !== NS_PRIVATE) return undefined;
        const lists = query.elements().filter((c) => c.name === "storage" && c.ns === NS_BOOKMARKS_LEGACY);
        if (lists.length === 0) return undefined;
        const user = session.jid.local;
        try {
          if (type === "get") {
            queryChildren(query, "get"); // XEP-0049 §2.3 checks (one namespace)
            const stored = await serial(user, async () => {
              await importOld(user);
              return storedLegacy(user);
            });
            const result = new Element("query", NS_PRIVATE, {}, [
              toStorage(await current(user), stored ? nonConferences(stored) : []),
            ]);
            await answer(session, stanza, result);
            return "handled";
          }
          queryChildren(query, "set"); // every child checked before anything is stored
          const list = lists[lists.length - 1] as Element;
          await serial(user, async () => {
            // The list itself is kept too: its URL bookmarks have no XEP-0402 form.
            await privateStore.set(user, LEGACY_KEY, serialiseStored(list));
            await replaceAll(user, fromStorage(list), true);
          });
        } catch (err) {
          if (!(err instanceof StanzaError)) throw err;
          const reply = errorReply(stanza, err);
          if (reply) await ctx.route(reply);
          return "handled";
        }
        const rest = query.children.filter((c) => typeof c === "string" || !lists.includes(c));
        if (rest.some((c) => typeof c !== "string")) {
          query.children = rest;
          return undefined; // private storage keeps the rest and answers
        }
        await answer(session, stanza, undefined);
        return "handled";
      },
      { priority: 10 },
    );
  },
});
