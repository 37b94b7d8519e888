// The XEP-0133 form shapes every service administration command shares: FORM_TYPE, the account JID fields,
// and AdminError (admin/types.ts) turned into the stanza error a requester sees.
import { AdminError } from "../../admin/types.js";
import { badPayload, type CommandOutcome, type CommandValues } from "../../core/commands.js";
import { StanzaError } from "../../core/errors.js";
import { parseJid } from "../../core/jid.js";
import type { DataForm, DataFormField } from "../../core/xml/data-form.js";
import { NS_ADMIN } from "../../core/xml/ns.js";

/** XEP-0133 §3: every form carries FORM_TYPE http://jabber.org/protocol/admin. */
export function adminForm(
  type: "form" | "result",
  title: string,
  fields: DataFormField[],
  instructions?: string,
): DataForm {
  const form: DataForm = { type, title, fields: [{ var: "FORM_TYPE", type: "hidden", values: [NS_ADMIN] }, ...fields] };
  if (instructions !== undefined) form.instructions = [instructions];
  return form;
}

export const accountJidField = (label = "The Jabber ID of the account"): DataFormField => ({
  var: "accountjid",
  type: "jid-single",
  label,
  required: true,
  values: [],
});

export const accountJidsField = (label: string): DataFormField => ({
  var: "accountjids",
  type: "jid-multi",
  label,
  required: true,
  values: [],
});

/**
 * An account JID of this host in canonical form. The host is the command's scope (an admin runs commands
 * against one host, as in ejabberd); whether the account exists is Administration's to say.
 */
export function accountOfHost(text: string, host: string, allowResource = false): string {
  const jid = parseJid(text); // the form check already refused what does not parse
  if (jid.domain !== host) throw badPayload(`${text} is not an account of ${host}`);
  if (jid.local === "") throw badPayload(`${text} is not an account JID`);
  if (jid.resource !== "" && !allowResource) throw badPayload(`${text}: give the bare JID`);
  return jid.toString();
}

export const oneAccount = (values: CommandValues, host: string) => accountOfHost(values.one("accountjid") ?? "", host);

/** What Administration refused, as the requester's stanza error; bad-request keeps the session open to correct it. */
export function asStanzaError(err: unknown): unknown {
  if (!(err instanceof AdminError)) return err;
  switch (err.code) {
    case "not-found":
      return new StanzaError("item-not-found", err.message);
    case "conflict":
      return new StanzaError("conflict", err.message);
    case "bad-request":
      return badPayload(err.message);
    case "unavailable":
      return new StanzaError("service-unavailable", err.message);
  }
}

/** Runs an Administration call, mapping its refusal. */
export async function admin<T>(call: () => Promise<T> | T): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw asStanzaError(err);
  }
}

export const info = (text: string): CommandOutcome => ({ notes: [{ type: "info", text }] });
