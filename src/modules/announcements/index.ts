// Server announcements and the message of the day, by message to `<host>/announce/...` (the convention of
// ejabberd's mod_announce and Prosody's mod_announce + mod_motd). Only admins from the config may use them.
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Element } from "../../core/xml/element.js";
import { Announcer } from "./announcer.js";
import { type AnnouncementPart, extractParts, isAnnounceResource, parseAction } from "./codec.js";

export default defineModule({
  name: "announcements",
  specs: [], // no XEP: the <host>/announce/... message convention of ejabberd and Prosody
  // The host's MOTD is looked up at every login.
  cachedStores: ["motd"],
  setup(ctx) {
    const announcer = new Announcer(
      ctx.host,
      ctx.store("motd", "keyval"),
      ctx.store("motd-seen", "keyval"),
      ctx.sessions,
      ctx,
    );
    ctx.provideAdmin({ kind: "announcements", announcements: announcer });

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
      if (!from || !ctx.admins.has(from.bareString())) {
        ctx.bounce(stanza, new StanzaError("forbidden", "only server admins may send announcements"));
        return "handled";
      }
      const action = parseAction(to.resource);
      try {
        switch (action) {
          case "online":
            await announcer.announceParts(partsOf(stanza));
            break;
          case "motd":
            await announcer.setMotdParts(partsOf(stanza), true);
            break;
          case "motd-update":
            await announcer.setMotdParts(partsOf(stanza), false);
            break;
          case "motd-delete":
            await announcer.deleteMotd();
            break;
          default:
            throw new StanzaError("item-not-found", `unknown announcement address ${to.resource}`);
        }
        ctx.log.info({ admin: from.bareString(), action }, "announcement sent");
      } catch (err) {
        if (!(err instanceof StanzaError)) throw err;
        ctx.bounce(stanza, err);
      }
      return "handled";
    });

    // At login: right after the first available presence (as Prosody's mod_motd and ejabberd's
    // user_available hook do), when the client is ready to show messages — not at bind time.
    ctx.hook("presence.broadcast", async ({ session, initial }) => {
      if (!initial || session.jid.domain !== ctx.host) return;
      await announcer.greet(session);
    });
  },
});
