// XEP-0050 requests and replies as an @xmpp/client test sends and reads them: one implementation for the
// ad-hoc facility's tests and the admin commands' tests.
import assert from "node:assert/strict";
import { type ConnectedClient, type XmlElement, xml } from "./xmpp-client.js";

export const NS_COMMANDS = "http://jabber.org/protocol/commands";
export const NS_DATA = "jabber:x:data";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

let counter = 0;

/** Sends an IQ to `to` and resolves with its reply (result or error). */
export async function iq(
  c: ConnectedClient,
  type: "get" | "set",
  child: XmlElement,
  to = "localhost",
): Promise<XmlElement> {
  const id = `adhoc-${++counter}`;
  await c.xmpp.send(xml("iq", { type, id, to }, child));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}

/** A <command/> request; `form` becomes a data form of `formType` (a list value: several <value/>s). */
export function command(
  c: ConnectedClient,
  attrs: Record<string, string>,
  form?: Record<string, string | string[]>,
  formType = "submit",
): Promise<XmlElement> {
  const fields = Object.entries(form ?? {}).map(([v, vals]) =>
    xml("field", { var: v }, ...(Array.isArray(vals) ? vals : [vals]).map((x) => xml("value", {}, x))),
  );
  const x = form ? [xml("x", { xmlns: NS_DATA, type: formType }, ...fields)] : [];
  return iq(c, "set", xml("command", { xmlns: NS_COMMANDS, ...attrs }, ...x));
}

/** The <command/> of a result reply (fails on an error reply). */
export function cmdOf(r: XmlElement): XmlElement {
  assert.equal(r.attrs.type, "result", r.toString());
  return r.getChild("command", NS_COMMANDS) as XmlElement;
}

/** An error reply's type, RFC 6120 condition and XEP-0050 §4.6 specific condition. */
export function errorOf(r: XmlElement): { type: string; condition: string; specific: string | undefined } {
  assert.equal(r.attrs.type, "error", r.toString());
  const e = r.getChild("error") as XmlElement;
  const child = (ns: string) =>
    e.children.find((c) => typeof c !== "string" && c.attrs.xmlns === ns) as XmlElement | undefined;
  return { type: e.attrs.type, condition: (child(STANZAS) as XmlElement).name, specific: child(NS_COMMANDS)?.name };
}

export function actionsOf(cmd: XmlElement): { execute: string; allowed: string[] } {
  const a = cmd.getChild("actions") as XmlElement;
  return {
    execute: a.attrs.execute,
    allowed: a.children.filter((c) => typeof c !== "string").map((c) => (c as XmlElement).name),
  };
}

/** The values of one field of the command's data form. */
export function fieldValues(cmd: XmlElement, v: string): string[] {
  const field = (cmd.getChild("x", NS_DATA) as XmlElement).getChildren("field").find((f) => f.attrs.var === v);
  assert.ok(field, `no field ${v} in ${cmd.toString()}`);
  return field.getChildren("value").map((x) => x.getText());
}

/** The command list (disco#items on the commands node) as this client sees it. */
export async function commandItems(c: ConnectedClient): Promise<Record<string, string>[]> {
  const r = await iq(c, "get", xml("query", { xmlns: NS_ITEMS, node: NS_COMMANDS }));
  assert.equal(r.attrs.type, "result");
  return (r.getChild("query", NS_ITEMS) as XmlElement).getChildren("item").map((i) => ({ ...i.attrs }));
}

/** Runs a command to its end: execute, then (when it asks) complete with `form`. Resolves with the last reply. */
export async function runCommand(
  c: ConnectedClient,
  node: string,
  form: Record<string, string | string[]> = {},
): Promise<XmlElement> {
  const first = await command(c, { node, action: "execute" });
  if (first.attrs.type !== "result" || cmdOf(first).attrs.status !== "executing") return first;
  return command(c, { node, action: "complete", sessionid: cmdOf(first).attrs.sessionid as string }, form);
}
