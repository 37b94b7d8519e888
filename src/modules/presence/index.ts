// RFC 6121 §4 presence: initial presence with probes (§4.2), probe answers (§4.3), subsequent presence
// broadcast (§4.4), unavailable presence whether sent or implied by the stream ending (§4.5), and directed
// presence with its unavailable at the end (§4.6). Who gets what comes from the roster module's stores.
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { Element } from "../../core/xml/element.js";
import { sharedChildren } from "../../core/xml/frozen-element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { hasFrom, hasTo } from "../roster/subscription-state.js";
import { defineSessionState } from "../../core/session-state.js";

interface PresenceState {
  /** Broadcast available presence not yet followed by unavailable. */
  announced: boolean;
  /** §4.6.2: entities (full or bare JIDs) that got directed available presence and no broadcasts (made at the first). */
  directed: Set<string> | undefined;
}

/**
 * Copies of a presence stanza readdressed for many recipients (a broadcast to every subscriber, a probe answered
 * by every resource): the children are frozen and serialised once (FrozenElement), each copy is its own envelope.
 */
function readdresser(stanza: Element): (from: string, to: string) => Element {
  const children = sharedChildren(stanza);
  return (from, to) => new Element(stanza.name, stanza.ns, { ...stanza.attrs, from, to }, [...children]);
}

/** One readdressed copy. */
function readdress(stanza: Element, from: string, to: string): Element {
  return readdresser(stanza)(from, to);
}

const bareOfItem = (item: { readonly jid: string }): string => tryParseJid(item.jid)?.bareString() ?? item.jid;

export default defineModule({
  name: "presence",
  liveState: "each session's presence and directed presences",
  specs: [{ rfc: 6121, status: "complete", note: "§4 presence: initial, probes, broadcast, unavailable, directed" }],
  depends: ["roster"],
  setup(ctx) {
    const { host } = ctx;
    const roster = new RosterStore(ctx);
    const key = defineSessionState<PresenceState>("presence.state", { shared: false });

    function stateOf(session: Session): PresenceState {
      let st = session.state.get(key);
      if (!st) {
        st = { announced: false, directed: undefined };
        session.state.set(key, st);
      }
      return st;
    }

    /** Bare JIDs of contacts with a subscription to the user's presence ("from" or "both"). */
    async function subscribers(user: string): Promise<string[]> {
      return (await roster.getAllFrozen(user)).filter((i) => hasFrom(i.subscription)).map(bareOfItem);
    }

    // §4.2 / §4.4 / §4.5: the resource's own presence sets its availability, priority and last presence (what
    // the router's §8.5 delivery reads), then everyone who cares is told (presence.broadcast, this module too).
    ctx.hook("presence.own", async ({ session, stanza }) => {
      if (session.jid.domain !== host) return;
      const available = stanza.attrs.type === undefined;
      const initial = available && !session.available;
      if (available) {
        session.available = true;
        const p = Number.parseInt(stanza.getChildText("priority") ?? "0", 10);
        session.priority = Number.isFinite(p) ? Math.max(-128, Math.min(127, p)) : 0;
        // Kept with its children frozen: every probe answer and every new resource of the user gets a copy,
        // serialised once.
        session.presence = new Element(stanza.name, stanza.ns, { ...stanza.attrs }, sharedChildren(stanza));
      } else {
        session.available = false;
        session.presence = undefined;
      }
      await ctx.notify("presence.broadcast", { session, stanza, initial });
    });

    // §4.2.2 initial presence, §4.4.2 subsequent presence, §4.5.2 unavailable presence.
    ctx.hook("presence.broadcast", async ({ session, stanza, initial }) => {
      if (session.jid.domain !== host) return;
      if (stanza.attrs.type === "unavailable") return broadcastUnavailable(session, stanza);
      const st = stateOf(session);
      st.announced = true;
      const user = session.jid.local;
      const full = session.jid.toString();
      const items = await roster.getAllFrozen(user);
      const copy = readdresser(stanza);
      for (const item of items) {
        if (hasFrom(item.subscription)) await ctx.route(copy(full, bareOfItem(item)));
      }
      // The user is implicitly subscribed to itself: every available resource, this one included, gets it.
      const resources = ctx.sessions.resourcesOf(session.jid.bare());
      for (const s of resources) if (s.available) await ctx.deliver(s, copy(full, s.jid.toString()));
      if (!initial) return;
      // §4.2.2: the new resource learns the presence of the user's other available resources...
      for (const s of resources) {
        if (s !== session && s.available && s.presence)
          await ctx.deliver(session, readdress(s.presence, s.jid.toString(), full));
      }
      // ...and of its contacts, through probes to those it is subscribed to. §4.3.1: probes go from the bare
      // JID; a probe to a local contact never leaves the server, so it comes from this resource and only it
      // gets the answers (instead of every resource of the user again).
      for (const item of items) {
        if (!hasTo(item.subscription)) continue;
        const contact = bareOfItem(item);
        const local = ctx.hosts.has(tryParseJid(contact)?.domain ?? "");
        const probe = new Element("presence", NS_CLIENT, {
          type: "probe",
          from: local ? full : session.jid.bareString(),
          to: contact,
        });
        await ctx.route(probe);
      }
    });

    /** §4.5.2: unavailable to subscribers and the user's other available resources, and §4.6.2 to directed-presence recipients. */
    async function broadcastUnavailable(session: Session, stanza: Element | undefined): Promise<void> {
      const st = stateOf(session);
      // A session of a cluster node that died is ended here, by the node that cleans up after it (src/cluster):
      // its presence.state stayed on the dead node, but its view says whether it was available.
      const announced = st.announced || (session.remote === true && session.available);
      if (!announced && !st.directed?.size) return;
      const full = session.jid.toString();
      const copy = readdresser(stanza ?? new Element("presence", NS_CLIENT, { type: "unavailable" }));
      const sentTo = new Set<string>();
      if (announced) {
        st.announced = false;
        for (const contact of await subscribers(session.jid.local)) {
          sentTo.add(contact);
          await ctx.route(copy(full, contact));
        }
        for (const s of ctx.sessions.resourcesOf(session.jid.bare())) {
          if (s !== session && s.available) await ctx.deliver(s, copy(full, s.jid.toString()));
        }
      }
      const directed = [...(st.directed ?? [])];
      st.directed = undefined;
      for (const to of directed) {
        if (!sentTo.has(to)) await ctx.route(copy(full, to));
      }
    }

    // §4.5.2: a session that ends without unavailable presence, cleanly or not, is made unavailable.
    ctx.hook("session.closed", async ({ session }) => {
      if (session.jid.domain !== host) return;
      await broadcastUnavailable(session, undefined);
    });

    // §4.6.2: directed presence is routed as is; recipients that get no broadcasts are remembered.
    ctx.hookFirst("stanza.outbound", async ({ session, stanza }) => {
      if (stanza.name !== "presence" || session.jid.domain !== host) return;
      const type = stanza.attrs.type;
      if (type !== undefined && type !== "unavailable") return;
      const to = tryParseJid(stanza.attrs.to);
      if (!to) return;
      const st = stateOf(session);
      const target = to.toString();
      if (type === "unavailable") {
        st.directed?.delete(target);
        return;
      }
      const bare = to.bareString();
      let broadcastsReachIt = bare === session.jid.bareString();
      if (!broadcastsReachIt) {
        const item = await roster.getFrozen(session.jid.local, bare);
        broadcastsReachIt = item !== undefined && hasFrom(item.subscription);
      }
      // §4.6.2: sent while not available, even a subscriber must get the unavailable at the end.
      if (!broadcastsReachIt || !st.announced) {
        st.directed ??= new Set();
        st.directed.add(target);
      }
      return undefined;
    });

    // §4.3.2: a probe for a local account.
    ctx.hookFirst("presence.inbound", async ({ stanza, to }) => {
      if (stanza.attrs.type !== "probe" || to.domain !== host) return;
      const from = tryParseJid(stanza.attrs.from);
      if (!from) return "handled";
      const contactBare = to.bareString();
      let allowed = from.bareString() === contactBare;
      if (!allowed) {
        const item = await roster.getFrozen(to.local, from.bareString());
        allowed = item !== undefined && hasFrom(item.subscription);
      }
      if (!allowed) {
        // §4.3.2: no subscription → no presence, but "unsubscribed" so the prober's server can fix its roster.
        await ctx.route(
          new Element("presence", NS_CLIENT, { type: "unsubscribed", from: contactBare, to: from.bareString() }),
        );
        return "handled";
      }
      // The last presence of each available resource; none available → no answer (§4.3.2 allows either).
      for (const s of ctx.sessions.resourcesOf(to.bare())) {
        if (s.available && s.presence) await ctx.route(readdress(s.presence, s.jid.toString(), from.toString()));
      }
      return "handled";
    });
  },
});
