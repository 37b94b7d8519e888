// Server announcements and the message of the day, by message to `<host>/announce/...` (the convention of
// ejabberd's mod_announce and Prosody's mod_announce + mod_motd). Only admins from the config may use them.
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import type { Element } from "../../core/xml/element.js";
import {
  type AnnouncementPart,
  buildAnnouncement,
  extractParts,
  isAnnounceResource,
  motdFromJson,
  motdToJson,
  newMotd,
  parseAction,
} from "./codec.js";

export default defineModule({
  name: "announcements",
  // The host's MOTD is looked up at every login.
  cachedStores: ["motd"],
  setup(ctx) {
    const motdStore = ctx.store("motd", "keyval"); // user "": the host's one MOTD
    const seenStore = ctx.store("motd-seen", "keyval"); // per user: id of the MOTD version they were sent
    const router = ctx.core.router;

    /** Available resources of this host now (RFC 6121 "available resource": has sent initial presence). */
    const online = (): Session[] => [...ctx.sessions.ofHost(ctx.host)].filter((s) => s.available);

    const send = (session: Session, parts: AnnouncementPart[]) =>
      router.deliver(session, buildAnnouncement(ctx.host, session.jid.toString(), parts));

    const partsOf = (stanza: Element): AnnouncementPart[] => {
      const parts = extractParts(stanza);
      if (parts.length === 0) throw new StanzaError("bad-request", "an announcement needs a subject or a body");
      return parts;
    };

    ctx.hookFirst("stanza.to-host", async ({ stanza, to }) => {
      // The hook is shared by every host's instance and by other host services (MUC, ...).
      if (to.domain !== ctx.host || !isAnnounceResource(to.resource)) return undefined;
      // Presence to these addresses means nothing (the router ignores it); an iq gets service-unavailable.
      if (stanza.name !== "message") return undefined;
      if (stanza.attrs.type === "error") return "handled"; // RFC 6120 §8.3.1: never answer an error
      const from = tryParseJid(stanza.attrs.from);
      if (!from || !ctx.core.admins.has(from.bareString())) {
        router.bounce(stanza, new StanzaError("forbidden", "only server admins may send announcements"));
        return "handled";
      }
      const action = parseAction(to.resource);
      try {
        switch (action) {
          case "online": {
            const parts = partsOf(stanza);
            for (const s of online()) await send(s, parts);
            break;
          }
          case "motd": {
            // A new version: stored first (it must survive a restart), then sent to everyone online, who
            // are marked as having seen it so that their next login does not repeat it.
            const motd = newMotd(partsOf(stanza));
            await motdStore.set("", motdToJson(motd));
            for (const s of online()) {
              await seenStore.set(s.jid.local, motd.id);
              await send(s, motd.parts);
            }
            break;
          }
          case "motd-update":
            // Also a new version, but not sent now: each user gets it at their next login, once.
            await motdStore.set("", motdToJson(newMotd(partsOf(stanza))));
            break;
          case "motd-delete":
            await motdStore.delete("");
            // The markers name versions that no longer exist; drop them rather than keep them forever.
            for (const user of await seenStore.users()) await seenStore.delete(user);
            break;
          default:
            throw new StanzaError("item-not-found", `unknown announcement address ${to.resource}`);
        }
        ctx.log.info({ admin: from.bareString(), action }, "announcement sent");
      } catch (err) {
        if (!(err instanceof StanzaError)) throw err;
        router.bounce(stanza, err);
      }
      return "handled";
    });

    // At login: right after the first available presence (as Prosody's mod_motd and ejabberd's
    // user_available hook do), when the client is ready to show messages — not at bind time.
    ctx.hook("presence.broadcast", async ({ session, initial }) => {
      if (!initial || session.jid.domain !== ctx.host) return;
      const motd = motdFromJson(await motdStore.get(""));
      if (!motd) return;
      const user = session.jid.local;
      if ((await seenStore.get(user)) === motd.id) return;
      await seenStore.set(user, motd.id);
      await send(session, motd.parts);
    });
  },
});
