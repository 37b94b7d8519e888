// XEP-0398 User Avatar to vCard-Based Avatars Conversion: a XEP-0084 avatar published through PEP becomes the
// PHOTO of the user's vcard-temp (so XEP-0153 clients and the presence hash the vcard module stamps see it),
// and a vCard set with a PHOTO is published as XEP-0084 data and metadata. Presence stamping (§4) is the vcard
// module's.
import { tryParseJid, makeJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { NS_AVATAR_DATA, NS_AVATAR_METADATA, NS_PEP_VCARD_CONVERSION, NS_VCARD } from "../../core/xml/ns.js";
import { parsePayload } from "../pep/codec.js";
import { pepService } from "../pep/service.js";
import { avatarHash } from "../vcard/avatar-hash.js";
import { emptyVCard, parseStoredVCard, photoBinval, serialiseVCard } from "../vcard/codec.js";
import { convertibleInfo, dataBase64, dataElement, metadataElement, sha1Hex, withPhoto } from "./codec.js";
import { defineSessionState } from "../../core/session-state.js";

/** Per session: ids of vCard sets sent by it whose result has not come back yet. */
const PENDING_VCARD_SETS = defineSessionState<Set<string>>("avatar-conversion.pending", { shared: false });

export default defineModule({
  name: "avatar-conversion",
  specs: [
    { xep: 398, version: "1.0.0", status: "complete", note: "both directions; §4 presence hash by the vcard module" },
    { xep: 84, version: "1.1.4", status: "complete", note: "through PEP; data and metadata nodes" },
  ],
  depends: ["pep", "vcard"],
  setup(ctx) {
    const { host } = ctx;
    const pep = pepService(ctx);
    // The vcard module's stores: the serialised <vCard/>, and the hex SHA-1 of its PHOTO.
    const vcards = ctx.store("vcard", "keyval");
    const hashes = ctx.store("vcard-avatar", "keyval");
    ctx.feature(NS_PEP_VCARD_CONVERSION, "account"); // §2: "MUST include ... on the account"

    async function storedVCard(user: string) {
      const text = await vcards.get(user);
      return typeof text === "string" ? parseStoredVCard(text) : emptyVCard();
    }

    /** §3.1: the metadata names the image; its data item goes into the vCard PHOTO. */
    async function pepToVCard(user: string, metadata: ReturnType<typeof parsePayload>): Promise<void> {
      const info = convertibleInfo(metadata);
      if (info === undefined) return;
      const current = await hashes.get(user);
      if (info === null) {
        // XEP-0084 §4.6: the avatar is disabled; so is the vCard's.
        if (typeof current !== "string") return;
        await vcards.set(user, serialiseVCard(withPhoto(await storedVCard(user), undefined)));
        await hashes.delete(user);
        return;
      }
      if (current === info.id) return; // already there (or this module published it from the vCard)
      const [item] = await pep.store.getItems(user, NS_AVATAR_DATA, { ids: [info.id] });
      const base64 = dataBase64(item && parsePayload(item.payload));
      if (!base64) return;
      // §3.1: "SHOULD verify that the SHA-1 hash of the image matches the id".
      if (sha1Hex(Buffer.from(base64, "base64")) !== info.id) {
        ctx.log.info({ user, id: info.id }, "avatar data does not match its id: not converted to the vCard");
        return;
      }
      await vcards.set(user, serialiseVCard(withPhoto(await storedVCard(user), { type: info.type, base64 })));
      await hashes.set(user, info.id);
    }

    /** §3.2: the vCard's PHOTO published to the data node, then the metadata node, with notifications. */
    async function vCardToPep(user: string): Promise<void> {
      const vcard = await storedVCard(user);
      const base64 = photoBinval(vcard);
      if (!base64) return;
      const id = avatarHash(vcard); // checked by the vcard module when it was stored
      const last = await pep.store.lastItem(user, NS_AVATAR_METADATA);
      if (last && convertibleInfo(parsePayload(last.payload))?.id === id) return; // PEP has it already
      const type = vcard.getChild("PHOTO", NS_VCARD)?.getChildText("TYPE", NS_VCARD)?.trim() || "image/png";
      const publisher = makeJid(user, host);
      await pep.publish(user, NS_AVATAR_DATA, { id, payload: dataElement(base64), publisher, trusted: true });
      await pep.publish(user, NS_AVATAR_METADATA, {
        id,
        payload: metadataElement({ id, bytes: Buffer.from(base64, "base64").length, type }),
        publisher,
        trusted: true,
      });
    }

    ctx.hook("pep.published", async ({ host: h, user, node, payload }) => {
      if (h === host && node === NS_AVATAR_METADATA) await pepToVCard(user, payload);
    });

    // A vCard set is the vcard module's; its result tells that the vCard was stored, and then it is converted.
    ctx.hookFirst("stanza.outbound", ({ session, stanza }) => {
      if (
        stanza.name !== "iq" ||
        stanza.attrs.type !== "set" ||
        session.jid.domain !== host ||
        stanza.attrs.id === undefined
      )
        return undefined;
      const children = stanza.elements();
      if (children.length !== 1 || children[0]?.name !== "vCard" || children[0].ns !== NS_VCARD) return undefined;
      const to = stanza.attrs.to === undefined ? undefined : tryParseJid(stanza.attrs.to);
      if (stanza.attrs.to !== undefined && (!to || to.resource !== "" || to.bareString() !== session.jid.bareString()))
        return undefined;
      const pending = session.state.get(PENDING_VCARD_SETS) ?? new Set<string>();
      session.state.set(PENDING_VCARD_SETS, pending);
      pending.add(stanza.attrs.id);
      return undefined;
    });
    ctx.hookFirst(
      "stanza.deliver",
      ({ session, stanza }) => {
        // Not async: every delivery passes here, and all but the awaited vCard results pass without a promise.
        if (stanza.name !== "iq" || (stanza.attrs.type !== "result" && stanza.attrs.type !== "error")) return undefined;
        const pending = session.state.get(PENDING_VCARD_SETS);
        const id = stanza.attrs.id;
        if (!pending || id === undefined || !pending.delete(id)) return undefined;
        if (stanza.attrs.type !== "result") return undefined;
        // Before the client sees the result.
        return vCardToPep(session.jid.local).then(
          () => undefined,
          (err: unknown) =>
            void ctx.log.error({ err, user: session.jid.local }, "vCard to PEP avatar conversion failed"),
        );
      },
      { priority: 100 },
    );
  },
});
