// XEP-0054 vcard-temp: users store their vCard on the server, anyone reads it at the user's bare JID; and
// XEP-0153 vCard-based avatars: the server keeps the avatar hash in its users' available presence (XEP-0398 §4).
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { NS_VCARD } from "../../core/xml/ns.js";
import { avatarHash, InvalidAvatarError, stampAvatarHash } from "./avatar-hash.js";
import { emptyVCard, isEmptyVCard, parseStoredVCard, serialiseVCard, vCardSize } from "./codec.js";

const options = z
  .object({
    /** Largest vCard accepted, in bytes of its serialised XML (avatars included). XEP-0054 sets no limit. */
    max_size: z.number().int().min(1024).default(65536),
  })
  .strict();

const isOwn = (from: Jid, to: Jid) => from.bareString() === to.bareString();

export default defineModule({
  name: "vcard",
  // The avatar hash is stamped on every available presence the user sends (XEP-0153 §4.1).
  cachedStores: ["vcard-avatar"],
  specs: [
    { xep: 54, version: "1.3.0", status: "complete" },
    { xep: 153, version: "1.1", status: "complete", note: "hash of the stored PHOTO put in available presence" },
    { xep: 398, version: "0.2.1", status: "partial", note: "§4 presence stamping only; no PEP conversion" },
  ],
  options,
  setup(ctx) {
    const vcards = ctx.store("vcard", "keyval"); // per user: the serialised <vCard/>
    const hashes = ctx.store("vcard-avatar", "keyval"); // per user: hex SHA-1 of the PHOTO, absent when none

    ctx.iq("account", "get", NS_VCARD, "vCard", async ({ from, to }) => {
      const stored = await vcards.get(to.local);
      if (typeof stored === "string") return parseStoredVCard(stored);
      // XEP-0054 §3.1: for one's own vCard, an empty <vCard/> result is allowed (and what clients expect).
      if (isOwn(from, to)) return emptyVCard();
      // XEP-0054 1.3.0 §3.3 (xsf/xeps#1351): no vCard for another user MUST be service-unavailable,
      // the same answer as for a user who does not exist (RFC 6121 §8.5.1), so existence does not leak.
      throw new StanzaError("service-unavailable");
    });

    ctx.iq("account", "set", NS_VCARD, "vCard", async ({ from, to, payload }) => {
      // XEP-0054 §3.2: a set on another user's vCard SHOULD be forbidden.
      if (!isOwn(from, to)) throw new StanzaError("forbidden", "you can change only your own vCard");
      const text = serialiseVCard(payload);
      // Local policy; RFC 6120 §8.3.3.10 not-acceptable ("does not meet criteria defined by the server"), as
      // XEP-0060 §7.1.3.4 does for an oversized item.
      if (vCardSize(text) > ctx.options.max_size) {
        throw new StanzaError("not-acceptable", `the vCard is larger than ${ctx.options.max_size} bytes`);
      }
      let hash: string;
      try {
        hash = avatarHash(payload);
      } catch (err) {
        if (err instanceof InvalidAvatarError) throw new StanzaError("bad-request", err.message);
        throw err;
      }
      // Stored before the result is sent (DESIGN.md "Data and scale").
      if (isEmptyVCard(payload)) await vcards.delete(to.local);
      else await vcards.set(to.local, text);
      if (hash === "") await hashes.delete(to.local);
      else await hashes.set(to.local, hash);
      await ctx.notify("vcard.changed", {
        host: ctx.host,
        user: to.local,
        vcard: isEmptyVCard(payload) ? undefined : payload,
      });
      return undefined;
    });

    // XEP-0054 §3.3 note: the server itself may have a vCard; Natter's is empty.
    ctx.iq("host", "get", NS_VCARD, "vCard", () => emptyVCard());

    // XEP-0398 §4: every available presence a user sends, broadcast or directed, carries the avatar hash.
    ctx.hookFirst("stanza.outbound", async ({ session, stanza }) => {
      // The hook is shared by every host's instance.
      if (stanza.name !== "presence" || stanza.attrs.type !== undefined || session.jid.domain !== ctx.host) return;
      const hash = await hashes.get(session.jid.local);
      stampAvatarHash(stanza, typeof hash === "string" ? hash : "");
    });
  },
});
