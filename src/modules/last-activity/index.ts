// XEP-0012 Last Activity: the server's uptime (§5), and for an account's bare JID the seconds since the user
// last logged out with the status of the last unavailable presence (§3), 0 while a resource is available.
// Logout time and status are kept in the "lastlog" key-value store, so they survive restarts.
import { StanzaError } from "../../core/errors.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { Element } from "../../core/xml/element.js";
import { NS_LAST } from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { hasFrom } from "../roster/subscription-state.js";
import { LAST_LOG_STORE, readLastLog, writeLastLog } from "./last-log.js";
import { defineSessionState } from "../../core/session-state.js";

const seconds = (sinceMs: number): number => Math.max(0, Math.floor((Date.now() - sinceMs) / 1000));

function lastQuery(secs: number, status = ""): Element {
  const q = new Element("query", NS_LAST, { seconds: String(secs) });
  if (status !== "") q.t(status);
  return q;
}

export default defineModule({
  name: "last-activity",
  specs: [
    {
      xep: 12,
      version: "2.0",
      status: "complete",
      note: "server uptime and offline users; idle time is the client's (§4)",
    },
  ],
  setup(ctx) {
    const { host } = ctx;
    const lastlog = ctx.store(LAST_LOG_STORE, "keyval");
    const roster = new RosterStore(ctx);
    /** Per session: the status of the unavailable presence it sent last, until it is available again. */
    const STATUS = defineSessionState<string>("last-activity.status", { shared: false });

    // §5: a query to the server answers its uptime, with no character data.
    ctx.iq("host", "get", NS_LAST, "query", () => lastQuery(seconds(ctx.startedAt)));

    // §3: a query to a bare JID is answered by the server on the user's behalf.
    ctx.iq("account", "get", NS_LAST, "query", async ({ from, to }) => {
      const user = to.local;
      if (from.bareString() !== to.bareString()) {
        // §3, §8: only to entities allowed to see the user's presence (a subscription: "from" or "both"); else forbidden.
        const item = await roster.get(user, from.bareString());
        if (item === undefined || !hasFrom(item.subscription)) throw new StanzaError("forbidden");
      }
      // §3: with at least one available resource the answer SHOULD be an empty query with seconds='0'.
      if (ctx.sessions.resourcesOf(to).some((s) => s.available)) return lastQuery(0);
      const last = await readLastLog(lastlog, user);
      // Never logged out since records began: nothing to tell (as Prosody and ejabberd answer).
      if (last === undefined) throw new StanzaError("service-unavailable");
      return lastQuery(seconds(last.time), last.status);
    });

    async function record(session: Session, status: string): Promise<void> {
      await writeLastLog(lastlog, session.jid.local, { time: Date.now(), status });
    }

    // An unavailable presence ends the user's availability and carries the status to report (§3).
    ctx.hook("presence.broadcast", async ({ session, stanza }) => {
      if (session.jid.domain !== host) return;
      if (stanza.attrs.type !== "unavailable") {
        session.state.delete(STATUS);
        return;
      }
      const status = stanza.getChildText("status") ?? "";
      session.state.set(STATUS, status);
      await record(session, status);
    });

    // §3: "the number of seconds that have passed since the user last logged out".
    ctx.hook("session.closed", async ({ session }) => {
      if (session.jid.domain !== host) return;
      // A cancelled account (XEP-0077 §3.2) is gone before its sessions close: leave no trace of it.
      // An account directory that cannot answer now: the user was logged in, so record it.
      if (!(await ctx.accounts.userExists(host, session.jid.local).catch(() => true))) return;
      await record(session, session.state.get(STATUS) ?? "");
    });
  },
});
