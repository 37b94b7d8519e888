// XEP-0004 Data Forms: the <x xmlns='jabber:x:data'/> element as plain data, and back. Shared by every
// feature that takes or offers a form (MAM queries, MUC configuration, ad-hoc commands).
import { StanzaError } from "../errors.js";
import { Element } from "./element.js";
import { NS_DATA_FORMS } from "./ns.js";

/** XEP-0004 §3.1 form types. */
export type DataFormType = "form" | "submit" | "cancel" | "result";

/** XEP-0004 §3.3 field types. */
export type DataFieldType =
  | "boolean"
  | "fixed"
  | "hidden"
  | "jid-multi"
  | "jid-single"
  | "list-multi"
  | "list-single"
  | "text-multi"
  | "text-private"
  | "text-single";

export interface DataFormField {
  /** Absent only on "fixed" fields (XEP-0004 §3.2). */
  var?: string;
  type?: DataFieldType;
  label?: string;
  required?: boolean;
  desc?: string;
  values: string[];
  options?: { label?: string; value: string }[];
  /** Extra children kept as they are (e.g. XEP-0122 <validate/>, XEP-0221 media). */
  extra?: Element[];
}

export interface DataForm {
  type: DataFormType;
  title?: string;
  instructions?: string[];
  fields: DataFormField[];
}

const FORM_TYPES = new Set<string>(["form", "submit", "cancel", "result"]);
const FIELD_TYPES = new Set<string>([
  "boolean",
  "fixed",
  "hidden",
  "jid-multi",
  "jid-single",
  "list-multi",
  "list-single",
  "text-multi",
  "text-private",
  "text-single",
]);

/** The first data form child of `parent`, if any. */
export function findDataForm(parent: Element): Element | undefined {
  return parent.getChild("x", NS_DATA_FORMS);
}

/** Parses an <x xmlns='jabber:x:data'/>; a malformed form is the sender's bad-request. */
export function parseDataForm(x: Element): DataForm {
  if (x.name !== "x" || x.ns !== NS_DATA_FORMS) throw new StanzaError("bad-request", "not a data form");
  const type = x.attrs.type;
  if (type === undefined || !FORM_TYPES.has(type)) throw new StanzaError("bad-request", "data form type missing or unknown");
  const form: DataForm = { type: type as DataFormType, fields: [] };
  const title = x.getChildText("title", NS_DATA_FORMS);
  if (title !== undefined) form.title = title;
  const instructions = x.getChildren("instructions", NS_DATA_FORMS).map((i) => i.text());
  if (instructions.length > 0) form.instructions = instructions;
  for (const f of x.getChildren("field", NS_DATA_FORMS)) {
    const fieldType = f.attrs.type;
    if (fieldType !== undefined && !FIELD_TYPES.has(fieldType)) throw new StanzaError("bad-request", `unknown field type ${fieldType}`);
    const field: DataFormField = { values: f.getChildren("value", NS_DATA_FORMS).map((v) => v.text()) };
    if (f.attrs.var !== undefined) field.var = f.attrs.var;
    // XEP-0004 §3.2: every field but "fixed" has a var.
    else if (fieldType !== "fixed" && form.type !== "cancel") throw new StanzaError("bad-request", "a data form field has no var");
    if (fieldType !== undefined) field.type = fieldType as DataFieldType;
    if (f.attrs.label !== undefined) field.label = f.attrs.label;
    if (f.getChild("required", NS_DATA_FORMS)) field.required = true;
    const desc = f.getChildText("desc", NS_DATA_FORMS);
    if (desc !== undefined) field.desc = desc;
    const options = f.getChildren("option", NS_DATA_FORMS);
    if (options.length > 0) {
      field.options = options.map((o) => {
        const value = o.getChildText("value", NS_DATA_FORMS) ?? "";
        return o.attrs.label === undefined ? { value } : { label: o.attrs.label, value };
      });
    }
    const extra = f.elements().filter((c) => c.ns !== NS_DATA_FORMS);
    if (extra.length > 0) field.extra = extra;
    form.fields.push(field);
  }
  return form;
}

/** Builds the <x xmlns='jabber:x:data'/> element of a form. */
export function buildDataForm(form: DataForm): Element {
  const x = new Element("x", NS_DATA_FORMS, { type: form.type });
  if (form.title !== undefined) x.c("title").t(form.title);
  for (const i of form.instructions ?? []) x.c("instructions").t(i);
  for (const field of form.fields) {
    const attrs: Record<string, string> = {};
    if (field.var !== undefined) attrs.var = field.var;
    if (field.type !== undefined) attrs.type = field.type;
    if (field.label !== undefined) attrs.label = field.label;
    const f = x.c("field", NS_DATA_FORMS, attrs);
    if (field.desc !== undefined) f.c("desc").t(field.desc);
    if (field.required) f.c("required");
    for (const v of field.values) f.c("value").t(v);
    for (const o of field.options ?? []) {
      const opt = f.c("option", NS_DATA_FORMS, o.label === undefined ? {} : { label: o.label });
      opt.c("value").t(o.value);
    }
    if (field.extra) f.append(...field.extra);
  }
  return x;
}

/** The hidden FORM_TYPE value (XEP-0068 §3), if any. */
export function formType(form: DataForm): string | undefined {
  return form.fields.find((f) => f.var === "FORM_TYPE")?.values[0];
}

/** The field with this var, if any. */
export function getField(form: DataForm, name: string): DataFormField | undefined {
  return form.fields.find((f) => f.var === name);
}

/** XEP-0004 §3.3 boolean: "1"/"true" and "0"/"false". Undefined for another value. */
export function parseFormBoolean(value: string | undefined): boolean | undefined {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  return undefined;
}
