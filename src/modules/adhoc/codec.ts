// XEP-0050 wire format: the <command/> a requester sends, the one we answer with, and the §4.6 errors.
import type { CommandNote } from "../../core/commands.js";
import { StanzaError, type StanzaErrorCondition } from "../../core/errors.js";
import { buildDataForm, type DataForm, findDataForm, parseDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_COMMANDS } from "../../core/xml/ns.js";

/** XEP-0050 §3.4 actions a requester may send ("execute" means the stage's default). */
export type CommandAction = "execute" | "next" | "prev" | "complete" | "cancel";
const ACTIONS = new Set<string>(["execute", "next", "prev", "complete", "cancel"]);

export type CommandStatus = "executing" | "completed" | "canceled";

export interface CommandRequestElement {
  node: string;
  action: CommandAction;
  sessionid: string | undefined;
  form: DataForm | undefined;
}

/** XEP-0050 §4.6: a stanza error with the commands namespace's specific condition. */
export function commandError(condition: StanzaErrorCondition, specific: string, text: string): StanzaError {
  return new StanzaError(condition, text, { appCondition: new Element(specific, NS_COMMANDS) });
}

export function parseCommand(command: Element): CommandRequestElement {
  const node = command.attrs.node;
  if (node === undefined || node === "") throw new StanzaError("bad-request", "a command needs a node");
  const action = command.attrs.action ?? "execute"; // §3.4: absent means execute
  if (!ACTIONS.has(action)) throw commandError("bad-request", "malformed-action", `unknown action ${action}`);
  const x = findDataForm(command);
  const sessionid = command.attrs.sessionid === "" ? undefined : command.attrs.sessionid;
  return { node, action: action as CommandAction, sessionid, form: x ? parseDataForm(x) : undefined };
}

export interface CommandResponse {
  node: string;
  sessionid: string;
  status: CommandStatus;
  /** While executing: the actions allowed at this stage, and the default (§3.4). */
  actions?: { allowed: ("prev" | "next" | "complete")[]; execute: "next" | "complete" };
  notes?: CommandNote[];
  form?: DataForm;
  formPayload?: Element[];
}

export function buildCommand(r: CommandResponse): Element {
  const el = new Element("command", NS_COMMANDS, { node: r.node, sessionid: r.sessionid, status: r.status });
  if (r.actions) {
    const actions = el.c("actions", NS_COMMANDS, { execute: r.actions.execute });
    for (const a of r.actions.allowed) actions.c(a, NS_COMMANDS);
  }
  for (const n of r.notes ?? []) el.c("note", NS_COMMANDS, { type: n.type }).t(n.text);
  if (r.form) el.append(buildDataForm(r.form).append(...(r.formPayload ?? [])));
  return el;
}
