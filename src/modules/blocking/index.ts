// XEP-0191 Blocking Command: blocklist get, block, unblock, unblock all, and pushes to the resources that asked
// for the blocklist. §5: the blocklist is the default privacy list's jid/deny items, kept first, on the
// privacy module's engine — so blocking and privacy lists are one rule engine over one store, and a jid
// blocked or unblocked through either protocol shows in the other (pushes included).
import { randomBytes } from "node:crypto";
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { Element } from "../../core/xml/element.js";
import { NS_BLOCKING, NS_CLIENT } from "../../core/xml/ns.js";
import { privacyEngine } from "../privacy/privacy-engine.js";
import { isBlockItem } from "../privacy/privacy-rules.js";
import { blocklist, freshName, withBlocked } from "./blocklist.js";
import { defineSessionState } from "../../core/session-state.js";

/** §3.3: "resources that have requested the blocklist". */
// XEP-0191 §3.3: shared: a block list push from any node goes to the sessions that asked for the list.
const INTERESTED = defineSessionState<true>("blocking.interested", { shared: true });

/** The JIDs of a <block/> or <unblock/>, canonical; bad-request without a jid, jid-malformed for a bad one. */
function itemJids(el: Element): string[] {
  const out: string[] = [];
  for (const item of el.getChildren("item", NS_BLOCKING)) {
    const value = item.attrs.jid;
    if (value === undefined) throw new StanzaError("bad-request", "an item needs a jid");
    const jid = tryParseJid(value);
    if (!jid) throw new StanzaError("jid-malformed", `${value} is not a JID`);
    if (!out.includes(jid.toString())) out.push(jid.toString());
  }
  return out;
}

export default defineModule({
  name: "blocking",
  specs: [{ xep: 191, version: "1.3", status: "complete", note: "mapped onto the default privacy list (§5)" }],
  depends: ["privacy"],
  setup(ctx) {
    const { host } = ctx;
    const engine = privacyEngine(ctx);
    ctx.feature(NS_BLOCKING); // §3.1: on the server's disco#info (the IQs themselves are the account's)

    async function push(user: string, payload: Element): Promise<void> {
      for (const s of ctx.sessions.resourcesOf(`${user}@${host}`)) {
        if (!s.state.has(INTERESTED)) continue;
        const iq = new Element("iq", NS_CLIENT, {
          type: "set",
          id: `push-${randomBytes(6).toString("base64url")}`,
          to: s.jid.toString(),
        });
        await ctx.deliver(s, iq.append(payload.clone()));
      }
    }

    // §3.3, §3.4, §3.5: whatever changed the blocklist (this protocol or a privacy list edit, §5), the
    // interested resources learn it. An emptied blocklist is pushed as "unblock all".
    engine.onChange("blocking", async (user, before, after) => {
      const was = blocklist(before);
      const is = blocklist(after);
      const added = is.filter((j) => !was.includes(j));
      const removed = was.filter((j) => !is.includes(j));
      if (added.length > 0) {
        const block = new Element("block", NS_BLOCKING);
        for (const jid of added) block.c("item", NS_BLOCKING, { jid });
        await push(user, block);
      }
      if (removed.length > 0) {
        const unblock = new Element("unblock", NS_BLOCKING);
        if (is.length > 0) for (const jid of removed) unblock.c("item", NS_BLOCKING, { jid });
        await push(user, unblock);
      }
    });

    const own = (from: { bareString(): string }, to: { bareString(): string }) => {
      if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "not your blocklist");
    };
    const senderOf = (session: Session | undefined, from: Parameters<typeof ctx.sessions.get>[0]) =>
      session ?? ctx.sessions.get(from);

    // §3.2: the blocklist, possibly empty; the resource becomes interested in pushes.
    ctx.iq("account", "get", NS_BLOCKING, "blocklist", async ({ from, to, session }) => {
      own(from, to);
      senderOf(session, from)?.state.set(INTERESTED, true);
      const el = new Element("blocklist", NS_BLOCKING);
      for (const jid of blocklist(await engine.record(to.local))) el.c("item", NS_BLOCKING, { jid });
      return el;
    });

    // §3.3: at least one item, else bad-request.
    ctx.iq("account", "set", NS_BLOCKING, "block", async ({ payload, from, to, session }) => {
      own(from, to);
      const jids = itemJids(payload);
      if (jids.length === 0) throw new StanzaError("bad-request", "block at least one jid");
      const user = to.local;
      await engine.serial(user, () =>
        engine.update(user, senderOf(session, from), (rec) => {
          const current = blocklist(rec);
          const fresh = jids.filter((j) => !current.includes(j));
          if (fresh.length === 0) return undefined;
          const name = rec.default ?? freshName(rec);
          const items = withBlocked(rec.lists[name] ?? [], fresh);
          // §5: the blocklist is a privacy list, under the privacy module's item limit, refused with the
          // <resource-constraint/> a too long privacy list gets. Nothing of this request is blocked then.
          if (items.length > engine.maxItems) {
            ctx.log.info({ user, items: items.length, limit: engine.maxItems }, "blocklist full: block refused");
            throw new StanzaError(
              "resource-constraint",
              `at most ${engine.maxItems} items in the blocklist's privacy list`,
            );
          }
          return { default: name, lists: { ...rec.lists, [name]: items } };
        }),
      );
      return undefined;
    });

    // §3.4 (items) and §3.5 (none: unblock all).
    ctx.iq("account", "set", NS_BLOCKING, "unblock", async ({ payload, from, to, session }) => {
      own(from, to);
      const jids = itemJids(payload);
      const user = to.local;
      await engine.serial(user, () =>
        engine.update(user, senderOf(session, from), (rec) => {
          const name = rec.default;
          const items = name === undefined ? undefined : rec.lists[name];
          if (name === undefined || !items) return undefined;
          const kept = items.filter((i) => !isBlockItem(i) || (jids.length > 0 && !jids.includes(i.value as string)));
          if (kept.length === items.length) return undefined;
          return { default: name, lists: { ...rec.lists, [name]: kept } };
        }),
      );
      return undefined;
    });
  },
});
