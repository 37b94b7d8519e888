// XEP-0352 Client State Indication: while a client says it is inactive, presence updates, chat states and
// other unimportant traffic wait (the latest per contact); messages and everything else go through at
// once, after what waited. <active/> sends what waited.
import { z } from "zod";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { defineSessionState } from "../../core/session-state.js";
import { Element } from "../../core/xml/element.js";
import { NS_CSI } from "../../core/xml/ns.js";
import { csiVerdict } from "./codec.js";

const options = z
  .object({
    /** Stanzas held for an inactive session; one more sends them all (and the rest goes on being held). */
    max_held: z.number().int().min(1).default(256),
  })
  .strict();

/** Shared by every host's instance: the feature is offered once per stream. */
const OFFERED = defineSessionState<true>("client-state.offered", { shared: false });

interface Held {
  stanza: Element;
  key: string | undefined;
}

export default defineModule({
  name: "client-state",
  liveState: "stanzas held for inactive clients",
  // max_held is read at each held stanza: a session holding more than a lower one is flushed at its next.
  liveOptions: {},
  specs: [{ xep: 352, version: "1.0.0", status: "complete" }],
  options,
  setup(ctx) {
    // Present while the session is inactive: what it holds, in arrival order.
    // XEP-0352: inactive while this holds the stanzas kept back; shared as "inactive", the stanzas stay here.
    const inactive = defineSessionState<Held[]>("client-state.inactive", { shared: true, describe: () => true });
    const heldOf = (session: Session) => session.state.get(inactive);

    const flush = (session: Session, held: Held[]) => {
      const out = held.splice(0);
      for (const h of out) session.send(h.stanza);
    };

    // XEP-0352 §4.1: offered in the stream features once authenticated.
    // The features come before binding, when the session has no JID yet: one <csi/> whichever host's instance runs first.
    ctx.hookFold("stream.features", ({ session }) => {
      if (session.state.has(OFFERED)) return undefined;
      session.state.set(OFFERED, true);
      return new Element("csi", NS_CSI);
    });

    // §4.2: <inactive/> and <active/>; no reply. §5.1: the stream handles elements in order, so what was held is
    // on the wire before the client's next stanza is processed.
    ctx.hookFirst("stream.element", ({ session, element }) => {
      if (element.ns !== NS_CSI || session.jid.domain !== ctx.host) return;
      if (element.name === "inactive") {
        if (!heldOf(session)) session.state.set(inactive, []);
        return "handled";
      }
      if (element.name === "active") {
        const held = heldOf(session);
        session.state.delete(inactive);
        if (held) flush(session, held);
        return "handled";
      }
      return undefined; // anything else in the namespace: unsupported, as the stream says
    });

    // XEP-0386 with XEP-0352: <inactive/> or <active/> inside a Bind 2 request sets the starting state.
    ctx.hookFold("bind2.features", ({ host }) => (host === ctx.host ? NS_CSI : undefined));
    ctx.hookFirst("bind2.inline", ({ session, element }) => {
      if (element.ns !== NS_CSI || session.jid.domain !== ctx.host) return;
      if (element.name === "inactive" && !heldOf(session)) session.state.set(inactive, []);
      else if (element.name === "active") session.state.delete(inactive);
      return "handled";
    });

    // Last of the delivery hooks (after privacy, carbons, archiving), so what is held was going to be delivered.
    ctx.hookFirst(
      "stanza.deliver",
      ({ session, stanza }) => {
        const held = heldOf(session);
        if (!held) return;
        const verdict = csiVerdict(stanza);
        if (verdict.action === "now") {
          flush(session, held); // what waited first: the client sees stanzas in the order they came
          return;
        }
        const key = verdict.action === "replace" ? verdict.key : undefined;
        if (key !== undefined) {
          const i = held.findIndex((h) => h.key === key);
          if (i !== -1) held.splice(i, 1);
        }
        held.push({ stanza, key });
        if (held.length > ctx.options.max_held) flush(session, held);
        return "handled";
      },
      { priority: -1000 },
    );
  },
});
