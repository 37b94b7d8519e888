// XEP-0016 Privacy Lists: the jabber:iq:privacy protocol (names, get, edit/add/remove, active and default
// lists with the XEP's errors, list pushes) and the "stanza.filter" hook through which the router asks the
// one privacy engine about every stanza a local account sends or receives. The blocking module (XEP-0191)
// shares the engine.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_PRIVACY } from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { listElement, parseItems } from "./codec.js";
import { PrivacyEngine, type PrivacyRecord } from "./privacy-engine.js";
import { sortItems } from "./privacy-rules.js";

const options = z
  .object({
    /** Users whose lists are kept in memory (least recently used go first). */
    cache_size: z.number().int().min(1).default(10000),
    /** Lists per user; more gets <resource-constraint/>. */
    max_lists: z.number().int().min(1).default(50),
    /** Items per list (the blocklist included: it is the default list's items); more gets <resource-constraint/>. */
    max_items: z.number().int().min(1).default(1000),
  })
  .strict();

export default defineModule({
  name: "privacy",
  specs: [
    {
      xep: 16,
      version: "1.7",
      status: "complete",
      note: "active and default lists, jid/group/subscription rules, list pushes",
    },
  ],
  depends: ["roster"],
  options,
  async setup(ctx) {
    const { host } = ctx;
    const opts = ctx.options;
    const engine = await PrivacyEngine.create(ctx, opts.cache_size, opts.max_items);
    const roster = new RosterStore(ctx);
    ctx.feature(NS_PRIVACY); // on the server's disco#info too (the IQs are the account's)

    // The router's question, for every stanza from or to a local account.
    ctx.hookFirst("stanza.filter", (p) => engine.filter(p));
    // A client's stanzas are decided before any module acts on them (XEP-0016 §2.2 rule 4: e.g. before a
    // subscription request changes the roster), with the sending session's own list.
    ctx.hookFirst(
      "stanza.outbound",
      async ({ session, stanza }) => {
        if (session.jid.domain !== host) return undefined;
        const to = tryParseJid(stanza.attrs.to);
        if (!to) return undefined;
        return engine.filter({ stanza, from: session.jid, to, direction: "out", session }, true);
      },
      { priority: 100 },
    );

    // §2.2 rule 10: a list whose definition changed is pushed, by name only, to every connected resource.
    engine.onChange("privacy", async (user, before, after) => {
      const names = new Set([...Object.keys(before.lists), ...Object.keys(after.lists)]);
      for (const name of names) {
        if (JSON.stringify(before.lists[name]) === JSON.stringify(after.lists[name])) continue;
        for (const s of ctx.sessions.resourcesOf(`${user}@${host}`)) {
          const iq = new Element("iq", NS_CLIENT, {
            type: "set",
            id: `push-${randomBytes(6).toString("base64url")}`,
            to: s.jid.toString(),
          });
          iq.c("query", NS_PRIVACY).c("list", NS_PRIVACY, { name });
          await ctx.deliver(s, iq);
        }
      }
    });

    // §2.3: the names (active and default first), or one list.
    ctx.iq("account", "get", NS_PRIVACY, "query", async ({ payload, from, to, session }) => {
      if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "not your privacy lists");
      const rec = await engine.record(to.local);
      const children = payload.elements();
      if (children.length === 0) {
        const q = new Element("query", NS_PRIVACY);
        const sender = session ?? ctx.sessions.get(from);
        const active = sender ? engine.activeName(sender) : undefined;
        if (active !== undefined) q.c("active", NS_PRIVACY, { name: active });
        if (rec.default !== undefined) q.c("default", NS_PRIVACY, { name: rec.default });
        for (const name of Object.keys(rec.lists)) q.c("list", NS_PRIVACY, { name });
        return q;
      }
      // §2.3: one list at a time.
      const [el] = children as [Element];
      if (children.length > 1 || el.name !== "list" || el.ns !== NS_PRIVACY)
        throw new StanzaError("bad-request", "ask for one <list/> at a time");
      const name = el.attrs.name;
      if (name === undefined) throw new StanzaError("bad-request", "the list needs a name");
      const items = rec.lists[name];
      if (!items) throw new StanzaError("item-not-found", "no list by that name");
      return new Element("query", NS_PRIVACY).append(listElement(name, items));
    });

    ctx.iq("account", "set", NS_PRIVACY, "query", async ({ payload, from, to, session }) => {
      if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "not your privacy lists");
      const children = payload.elements();
      // §2.1: exactly one <active/>, <default/> or <list/>.
      if (children.length !== 1) throw new StanzaError("bad-request", "a privacy set carries exactly one child");
      const el = children[0] as Element;
      if (el.ns !== NS_PRIVACY) throw new StanzaError("bad-request");
      const user = to.local;
      const sender = session ?? ctx.sessions.get(from);
      const name = el.attrs.name;
      switch (el.name) {
        case "active":
          return setActive(user, sender, name);
        case "default":
          return setDefault(user, sender, name);
        case "list":
          if (name === undefined) throw new StanzaError("bad-request", "the list needs a name");
          return el.elements().length === 0 ? removeList(user, sender, name) : editList(user, sender, name, el);
        default:
          throw new StanzaError("bad-request", `unexpected <${el.name}/>`);
      }
    });

    type Sender = Parameters<PrivacyEngine["setActive"]>[0] | undefined;

    /** §2.4: applies to the sending resource only; no name declines any active list. */
    async function setActive(user: string, sender: Sender, name: string | undefined): Promise<undefined> {
      if (!sender) throw new StanzaError("bad-request", "an active list belongs to a connected resource");
      await engine.serial(user, async () => {
        if (name !== undefined && !(await engine.record(user)).lists[name])
          throw new StanzaError("item-not-found", "no list by that name");
        await engine.setActive(sender, name);
      });
      return undefined;
    }

    /** §2.5: the default list; <conflict/> while the current default applies to another connected resource. */
    async function setDefault(user: string, sender: Sender, name: string | undefined): Promise<undefined> {
      await engine.serial(user, () =>
        engine.update(user, sender, (rec) => {
          if (name !== undefined && !rec.lists[name]) throw new StanzaError("item-not-found", "no list by that name");
          if (rec.default === name) return undefined;
          if (rec.default !== undefined && engine.otherSessionsUsing(user, rec, rec.default, sender).length > 0)
            throw new StanzaError("conflict", "the default list is in use by another resource");
          const next: PrivacyRecord = { lists: rec.lists };
          if (name !== undefined) next.default = name;
          return next;
        }),
      );
      return undefined;
    }

    /** §2.8: <conflict/> while the list applies to another connected resource; the sender drops it too. */
    async function removeList(user: string, sender: Sender, name: string): Promise<undefined> {
      await engine.serial(user, async () => {
        await engine.update(user, sender, (rec) => {
          if (!rec.lists[name]) throw new StanzaError("item-not-found", "no list by that name");
          if (engine.otherSessionsUsing(user, rec, name, sender).length > 0)
            throw new StanzaError("conflict", "the list is in use by another resource");
          const lists = { ...rec.lists };
          delete lists[name];
          const next: PrivacyRecord = { lists };
          if (rec.default !== undefined && rec.default !== name) next.default = rec.default;
          return next;
        });
        if (sender && engine.activeName(sender) === name) await engine.setActive(sender, undefined);
      });
      return undefined;
    }

    /** §2.6, §2.7: the whole list, replacing any list of that name. */
    async function editList(user: string, sender: Sender, name: string, el: Element): Promise<undefined> {
      const items = sortItems(parseItems(el));
      if (items.length > opts.max_items) throw new StanzaError("resource-constraint", "too many items in the list");
      // §2.1: a group item SHOULD name a group of the user's roster.
      const groups = items.filter((i) => i.type === "group").map((i) => i.value as string);
      if (groups.length > 0) {
        const known = new Set((await roster.getAll(user)).flatMap((i) => i.groups));
        const missing = groups.find((g) => !known.has(g));
        if (missing !== undefined) throw new StanzaError("item-not-found", `no roster group ${missing}`);
      }
      await engine.serial(user, () =>
        engine.update(user, sender, (rec) => {
          if (!rec.lists[name] && Object.keys(rec.lists).length >= opts.max_lists)
            throw new StanzaError("resource-constraint", "too many privacy lists");
          return { ...rec, lists: { ...rec.lists, [name]: items } };
        }),
      );
      return undefined;
    }
  },
});
