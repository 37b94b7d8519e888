// Just enough of XEP-0004 data forms for MUC: building fields and reading a submitted form.
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS } from "../../core/xml/ns.js";

export interface FieldSpec {
  var: string;
  type?: string;
  label?: string;
  values?: string[];
  options?: string[];
}

/** `<x xmlns="jabber:x:data" type=…>` with a hidden FORM_TYPE first (XEP-0068). */
export function buildForm(type: "form" | "result" | "submit", formType: string, fields: FieldSpec[], title?: string): Element {
  const x = new Element("x", NS_DATA_FORMS, { type });
  if (title) x.c("title").t(title);
  x.c("field", NS_DATA_FORMS, { var: "FORM_TYPE", type: "hidden" }).c("value").t(formType);
  for (const f of fields) {
    const attrs: Record<string, string> = { var: f.var };
    if (f.type) attrs.type = f.type;
    if (f.label) attrs.label = f.label;
    const field = x.c("field", NS_DATA_FORMS, attrs);
    for (const o of f.options ?? []) field.c("option", NS_DATA_FORMS, { label: o }).c("value").t(o);
    for (const v of f.values ?? []) field.c("value").t(v);
  }
  return x;
}

/** A submitted form's values by field var (XEP-0004 §3.4). */
export function readForm(x: Element): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const field of x.getChildren("field", NS_DATA_FORMS)) {
    const name = field.attrs.var;
    if (name === undefined) continue;
    out.set(
      name,
      field.getChildren("value", NS_DATA_FORMS).map((v) => v.text()),
    );
  }
  return out;
}

/** XEP-0004 §3.3 boolean: "0"/"false" or "1"/"true"; undefined for anything else. */
export function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  return undefined;
}

/** The form of a given FORM_TYPE among a stanza's children. */
export function findForm(parent: Element, formType: string): Element | undefined {
  for (const x of parent.getChildren("x", NS_DATA_FORMS)) {
    if (readForm(x).get("FORM_TYPE")?.[0] === formType) return x;
  }
  return undefined;
}
