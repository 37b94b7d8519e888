// A stage's submission checked against the form it answers (XEP-0004 §3.3 field types), once for every
// command: only the form's own fields are taken, required ones must have a value, JIDs must be JIDs, a
// list-single value must be one of its options. A failure is XEP-0050's bad-payload.
import { badPayload } from "../../core/commands.js";
import { tryParseJid } from "../../core/jid.js";
import { type DataForm, getField, parseFormBoolean } from "../../core/xml/data-form.js";

export function checkSubmission(shown: DataForm, submitted: DataForm): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const field of shown.fields) {
    if (field.var === undefined || field.type === "fixed") continue;
    const values = getField(submitted, field.var)?.values ?? [];
    const label = field.label ?? field.var;
    if (field.required && values.every((v) => v.trim() === "")) throw badPayload(`${label} is required`);
    const single =
      field.type === undefined ||
      field.type.endsWith("-single") ||
      field.type === "boolean" ||
      field.type === "text-private" ||
      field.type === "hidden";
    if (single && values.length > 1) throw badPayload(`${label} takes one value`);
    for (const v of values) {
      if (v.trim() === "") continue;
      if ((field.type === "jid-single" || field.type === "jid-multi") && !tryParseJid(v.trim()))
        throw badPayload(`${label}: ${v} is not a JID`);
      if (field.type === "boolean" && parseFormBoolean(v) === undefined) throw badPayload(`${label} is a boolean`);
      if (
        (field.type === "list-single" || field.type === "list-multi") &&
        field.options &&
        !field.options.some((o) => o.value === v)
      ) {
        throw badPayload(`${label}: ${v} is not one of the options`);
      }
    }
    out.set(field.var, values);
  }
  return out;
}

/** The form with what the requester submitted before filled in (shown again after `prev`); never a password. */
export function withValues(form: DataForm, values: ReadonlyMap<string, string[]> | undefined): DataForm {
  if (!values) return form;
  const refill = (f: DataForm["fields"][number]) =>
    f.var !== undefined && f.type !== "text-private" && values.has(f.var);
  return {
    ...form,
    fields: form.fields.map((f) => (refill(f) ? { ...f, values: values.get(f.var as string) as string[] } : f)),
  };
}
