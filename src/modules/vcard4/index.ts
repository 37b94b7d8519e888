// XEP-0292 vCard4 Over XMPP: since 0.11 a user's vCard4 lives in the PEP node 'urn:xmpp:vcard4' (the pep
// module serves it: publish, retrieval, +notify). This module adds what older clients use, the IQ form of
// XEP-0292 0.10 §4.1 (<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/> get and set at the bare JID), read
// from and written to the same PEP item, and through it the disco feature of XEP-0292 0.10 §7.
import { StanzaError } from "../../core/errors.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_VCARD4, NS_VCARD4_NODE } from "../../core/xml/ns.js";
import { parsePayload } from "../pep/codec.js";
import { pepService } from "../pep/service.js";

/** The item id XEP-0292 uses for the self vCard. */
const ITEM_ID = "current";

export default defineModule({
  name: "vcard4",
  specs: [
    {
      xep: 292,
      version: "0.12.0",
      status: "complete",
      note: "PEP node via pep; the IQ form of 0.10 kept for older clients",
    },
  ],
  depends: ["pep"],
  setup(ctx) {
    const pep = pepService(ctx);

    ctx.iq("account", "get", NS_VCARD4, "vcard", async ({ from, to }) => {
      const node = await pep.store.node(to.local, NS_VCARD4_NODE);
      if (node) {
        // The node's access model decides, as for a PEP retrieval (XEP-0060 §6.5.9).
        const denied = await pep.accessError(to.local, node, from);
        if (denied) throw denied;
        const [item] = await pep.store.getItems(to.local, NS_VCARD4_NODE, { ids: [ITEM_ID] });
        const last = item ?? (await pep.store.lastItem(to.local, NS_VCARD4_NODE));
        const vcard = last ? parsePayload(last.payload) : undefined;
        if (vcard && vcard.name === "vcard" && vcard.ns === NS_VCARD4) return vcard;
      }
      // 0.10 §4.1.1: "If no vCard exists, the server MUST return an IQ-result containing an empty <vcard/>".
      return new Element("vcard", NS_VCARD4);
    });

    ctx.iq("account", "set", NS_VCARD4, "vcard", async ({ from, to, payload }) => {
      if (from.bareString() !== to.bareString())
        throw new StanzaError("forbidden", "you can change only your own vCard");
      // 0.10 §4.1.2: the whole vCard replaces the old one; published as a PEP item, so +notify contacts hear of it.
      await pep.publish(to.local, NS_VCARD4_NODE, { id: ITEM_ID, payload, publisher: from, trusted: true });
      return undefined;
    });
  },
});
