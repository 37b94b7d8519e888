// XEP-0280 Message Carbons, with XEP-0334 `<no-copy/>`: a resource that enables carbons sees the messages
// its user's other resources send (§8) and the ones they receive (§7), wrapped per XEP-0297.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { defineSessionState } from "../../core/session-state.js";
import type { Element } from "../../core/xml/element.js";
import { NS_CARBONS } from "../../core/xml/ns.js";
import { type CarbonKind, carbonEligible, isCarbon, isPrivate, wrapCarbon } from "./codec.js";

export default defineModule({
  name: "carbons",
  liveState: "which sessions enabled carbons",
  specs: [
    { xep: 280, version: "1.0.1", status: "complete" },
    { xep: 334, version: "1.0.0", status: "partial", note: "no-copy (and XEP-0280 private) stop carbons" },
  ],
  setup(ctx) {
    // XEP-0280 §6: shared: whichever node routes a message copies it to the sessions that enabled carbons.
    const enabled = defineSessionState<true>("carbons.enabled", { shared: true });
    // A message addressed to the bare JID reaches several resources as one element; its copies are made
    // at the first delivery only. Weak: nothing outlives the stanza.
    const copied = new WeakSet<Element>();

    // §3: the server advertises the feature (answered as the host; the account gets it from the iq too).
    ctx.feature(NS_CARBONS);

    // §4, §5, §10.1: enable/disable for this session, any number of times. §4.1 / §5.1: not-allowed for a
    // request that is not the session's own (another account, or no local session).
    const toggle = (on: boolean) =>
      ctx.iq("account", "set", NS_CARBONS, on ? "enable" : "disable", ({ session, from, to }) => {
        if (!session || session.jid.domain !== ctx.host || from.bareString() !== to.bareString())
          throw new StanzaError("not-allowed", "carbons are set by the account's own client sessions");
        if (on) session.state.set(enabled, true);
        else session.state.delete(enabled);
      });
    toggle(true);
    toggle(false);

    // XEP-0386 with XEP-0280: <enable/> inline in a Bind 2 request enables carbons before any message flows.
    ctx.hookFold("bind2.features", ({ host }) => (host === ctx.host ? NS_CARBONS : undefined));
    ctx.hookFirst("bind2.inline", ({ session, element }) => {
      if (element.ns !== NS_CARBONS || element.name !== "enable" || session.jid.domain !== ctx.host) return;
      session.state.set(enabled, true);
      return "handled";
    });

    const copyTo = async (kind: CarbonKind, user: string, original: Element, skip: (s: Session) => boolean) => {
      for (const s of ctx.sessions.resourcesOf(user)) {
        if (skip(s) || s.state.get(enabled) !== true) continue;
        await ctx.deliver(s, wrapCarbon(kind, user, s.jid.toString(), original));
      }
    };

    /** Messages between two resources of one account, or from the server itself, are nobody's conversation. */
    const conversation = (stanza: Element): { from: string; to: string } | undefined => {
      const from = tryParseJid(stanza.attrs.from);
      const to = tryParseJid(stanza.attrs.to);
      if (!from || !to || from.bareString() === to.bareString()) return undefined;
      if (from.local === "" && ctx.hosts.has(from.domain)) return undefined;
      return { from: from.bareString(), to: to.bareString() };
    };

    // §8: what a resource sends goes, as <sent/>, to the user's other carbons-enabled resources (never back to
    // the sender), whether or not the sender enabled carbons. Low priority: after any module that stops it.
    ctx.hookFirst(
      "stanza.outbound",
      ({ session, stanza }) => {
        if (stanza.name !== "message" || session.jid.domain !== ctx.host || stanza.attrs.to === undefined) return;
        if (!conversation(stanza) || !carbonEligible(stanza, "sent")) return;
        // No other resource wants copies (the common case): answered without a promise, so the rest of the
        // outbound hooks and the routing stay a plain call chain.
        const user = session.jid.bareString();
        if (!ctx.sessions.resourcesOf(user).some((s) => s !== session && s.state.get(enabled) === true)) return;
        return copyTo("sent", user, stanza, (s) => s === session).then(() => undefined);
      },
      { priority: -50 },
    );

    /** The <received/> copies of a message `session` is about to get, to the user's other resources that do not. */
    const copyReceived = async (session: Session, stanza: Element, to: Jid): Promise<undefined> => {
      const user = session.jid.bare();
      const got = new Set<Session>([session]);
      // A full JID that is not this session's was routed as if to the bare JID (RFC 6121 §8.5.3.2.1).
      if (to.resource === "" || to.toString() !== session.jid.toString()) {
        for (const s of ctx.messageTargets(user, false)) got.add(s);
      }
      await copyTo("received", user.toString(), stanza, (s) => got.has(s));
      return undefined;
    };

    // §7: a message received by one resource goes, as <received/>, to each carbons-enabled resource that did
    // not get it under RFC 6121 §8.5 (those it was addressed to, or all the bare-JID targets, are skipped).
    ctx.hookFirst(
      "stanza.deliver",
      ({ session, stanza }) => {
        if (stanza.name !== "message" || session.jid.domain !== ctx.host || isCarbon(stanza)) return;
        if (copied.has(stanza)) return;
        // §6 first, and without a promise: what fails it (groupchat a room fans out to every occupant) is the
        // bulk of deliveries, and needs neither JID parsing nor a place in `copied`.
        if (!carbonEligible(stanza, "received")) {
          // §9: the receiving server SHOULD remove <private/> before delivering to the recipient (and the
          // next session it goes to must not find the message eligible without it).
          if (isPrivate(stanza)) {
            copied.add(stanza);
            stanza.removeChildren("private", NS_CARBONS);
          }
          return;
        }
        copied.add(stanza);
        const to = conversation(stanza) && tryParseJid(stanza.attrs.to);
        if (!to) return;
        return copyReceived(session, stanza, to);
      },
      // After archiving (priority 50: the copies carry the XEP-0359 stanza-id), before CSI (-1000).
      { priority: 40 },
    );
  },
});
