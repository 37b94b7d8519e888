// XEP-0050 Ad-Hoc Commands as a facility any module uses: a module registers a command with
// `ctx.command(node, definition)` (removed on unload); the `adhoc` module lists them in disco and runs their
// sessions (stages, prev, cancel, limits, expiry). This file holds what both sides share: the definition a
// module writes, the values a requester submitted, and the registry of commands per host.
import { StanzaError } from "./errors.js";
import type { Jid } from "./jid.js";
import type { DataForm } from "./xml/data-form.js";
import { Element } from "./xml/element.js";
import { NS_COMMANDS } from "./xml/ns.js";

/** XEP-0050 §3.4 note types. */
export interface CommandNote {
  type: "info" | "warn" | "error";
  text: string;
}

/** What the requester submitted so far, by field var (later stages override earlier ones). */
export class CommandValues {
  constructor(private readonly byVar: ReadonlyMap<string, readonly string[]> = new Map()) {}

  /** The first value of a field, trimmed; undefined when absent or empty. */
  one(name: string): string | undefined {
    const v = this.byVar.get(name)?.[0]?.trim();
    return v === undefined || v === "" ? undefined : v;
  }

  /** Every non-empty value of a field (jid-multi, list-multi, text-multi lines). */
  all(name: string): string[] {
    return (this.byVar.get(name) ?? []).map((v) => v.trim()).filter((v) => v !== "");
  }

  /** The values exactly as sent (text-multi keeps its lines, blank ones included). */
  raw(name: string): readonly string[] {
    return this.byVar.get(name) ?? [];
  }
}

export interface CommandRequest {
  /** Full JID of whoever runs the command. */
  requester: Jid;
  values: CommandValues;
}

/** One form to fill; stages run in order, `prev` goes back one. */
export interface CommandStage {
  /** The form shown (type "form"); it may depend on what earlier stages submitted. */
  form(request: CommandRequest): DataForm | Promise<DataForm>;
  /**
   * Checks this stage's submission beyond required fields and JID syntax (which the facility checks from the
   * form); throw `badPayload(...)` to have the requester correct it (the session stays at this stage).
   */
  check?(request: CommandRequest): void | Promise<void>;
}

/** What a finished command shows: notes and/or a result form (XEP-0004 type "result"). */
export interface CommandOutcome {
  notes?: CommandNote[];
  form?: DataForm;
  /** Elements placed inside the result form after its fields (XEP-0133 §4.8 puts the roster's <query/> there). */
  formPayload?: Element[];
}

export interface CommandDefinition {
  /** Human-readable name shown in the command list (disco#items `name`). */
  name: string;
  /** Who may see the command in disco and run it; asked again at every stage. */
  allowed(requester: Jid): boolean;
  /** Forms to fill before `run`; none: the command runs at once. */
  stages?: CommandStage[];
  /** Runs after the last stage, with everything submitted. Throws StanzaError for the requester's errors. */
  run(request: CommandRequest): CommandOutcome | Promise<CommandOutcome>;
}

/** XEP-0050 §4.6: the requester's submission does not fit the form (required field missing, bad JID …). */
export function badPayload(text: string): StanzaError {
  return new StanzaError("bad-request", text, { appCondition: new Element("bad-payload", NS_COMMANDS) });
}

export function isBadPayload(err: unknown): boolean {
  return err instanceof StanzaError && err.appCondition?.name === "bad-payload" && err.appCondition.ns === NS_COMMANDS;
}

export interface RegisteredCommand {
  node: string;
  definition: CommandDefinition;
  /** `<module>@<host>` that registered it, for logs. */
  owner: string;
}

/** The commands of every host, by node. One per server (CoreServices.commands). */
export class CommandRegistry {
  private readonly byHost = new Map<string, Map<string, RegisteredCommand>>();

  /** Registers a command; returns its remover. A node registered twice on a host is a programming error. */
  register(host: string, node: string, definition: CommandDefinition, owner: string): () => void {
    const commands = this.byHost.get(host) ?? new Map<string, RegisteredCommand>();
    this.byHost.set(host, commands);
    const existing = commands.get(node);
    if (existing) throw new Error(`command ${node} on ${host} is already registered by ${existing.owner}`);
    const reg = { node, definition, owner };
    commands.set(node, reg);
    return () => {
      if (commands.get(node) === reg) commands.delete(node);
    };
  }

  get(host: string, node: string): RegisteredCommand | undefined {
    return this.byHost.get(host)?.get(node);
  }

  /** The host's commands in registration order. */
  list(host: string): RegisteredCommand[] {
    return [...(this.byHost.get(host)?.values() ?? [])];
  }
}
