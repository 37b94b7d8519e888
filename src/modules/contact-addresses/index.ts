// XEP-0157 Contact Addresses for XMPP Services: the addresses an operator configures (abuse, admin, support …)
// in the server's disco#info as an XEP-0128 form of FORM_TYPE http://jabber.org/network/serverinfo, so that a
// client or a remote admin can find whom to tell about abuse or an outage. Nothing is added when none is set.
import { z } from "zod";
import { defineModule } from "../../core/modules.js";
import { buildDataForm, type DataFormField } from "../../core/xml/data-form.js";
import { NS_SERVERINFO } from "../../core/xml/ns.js";

/** XEP-0157 §3 / §6.1: the registered fields, each a list of URIs. */
export const CONTACT_FIELDS = ["abuse", "admin", "feedback", "sales", "security", "support"] as const;

const SCHEMES = new Set(["mailto:", "xmpp:", "http:", "https:"]);
const URI_MESSAGE = "expected a mailto:, xmpp:, http: or https: URI of at most 512 characters";

const uri = z
  .string({ error: URI_MESSAGE })
  .max(512, { error: URI_MESSAGE })
  .refine(
    (value) => {
      try {
        return SCHEMES.has(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: URI_MESSAGE },
  );

const list = z.array(uri).max(10, { error: "at most 10 addresses per kind" }).default([]);

export const contactAddressOptions = z
  .object(
    Object.fromEntries(CONTACT_FIELDS.map((f) => [f, list])) as Record<(typeof CONTACT_FIELDS)[number], typeof list>,
  )
  .strict();

export type ContactAddressOptions = z.infer<typeof contactAddressOptions>;

export function serverInfoFields(options: ContactAddressOptions): DataFormField[] {
  const fields: DataFormField[] = [{ var: "FORM_TYPE", type: "hidden", values: [NS_SERVERINFO] }];
  for (const kind of CONTACT_FIELDS) {
    if (options[kind].length > 0) fields.push({ var: `${kind}-addresses`, values: [...options[kind]] });
  }
  return fields;
}

export default defineModule<ContactAddressOptions>({
  name: "contact-addresses",
  specs: [{ xep: 157, version: "1.0", status: "complete", note: "the six fields of §6.1, from the config" }],
  options: contactAddressOptions,
  setup(ctx) {
    ctx.hookFold("disco.info", ({ to, node }) => {
      // XEP-0157 §3: on disco#info of the server's bare domain only.
      if (node !== undefined || to.local !== "" || to.resource !== "" || to.domain !== ctx.host) return undefined;
      const fields = serverInfoFields(ctx.options);
      if (fields.length === 1) return undefined;
      return { forms: [buildDataForm({ type: "result", fields })] };
    });
  },
});
