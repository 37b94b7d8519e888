// Runs XEP-0050 command requests against the commands registered on one host: starts sessions, moves them
// through their stages (next / prev / complete / execute as the stage's default), cancels them, and answers
// with the §4.6 errors. The adhoc module hands it each <command/> IQ.
import type { Logger } from "pino";
import {
  type CommandRegistry,
  type CommandRequest,
  CommandValues,
  isBadPayload,
  type RegisteredCommand,
} from "../../core/commands.js";
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import type { DataForm } from "../../core/xml/data-form.js";
import type { Element } from "../../core/xml/element.js";
import { buildCommand, type CommandResponse, commandError, parseCommand } from "./codec.js";
import { type CommandSession, type CommandSessions, newSessionId } from "./command-sessions.js";
import { checkSubmission, withValues } from "./form-check.js";

export interface CommandRunnerDeps {
  host: string;
  registry: CommandRegistry;
  sessions: CommandSessions;
  log: Logger;
}

export function createCommandRunner({ host, registry, sessions, log }: CommandRunnerDeps) {
  async function execute(payload: Element, from: Jid): Promise<Element> {
    const req = parseCommand(payload);
    const command = registry.get(host, req.node);
    if (!command) throw new StanzaError("item-not-found", `no command ${req.node}`);
    if (!allowedFor(command, from)) {
      log.info({ requester: from.toString(), node: req.node }, "ad-hoc command refused: not allowed");
      throw new StanzaError("forbidden", "you may not run this command");
    }
    if (req.sessionid === undefined) {
      if (req.action !== "execute") throw commandError("bad-request", "bad-action", `${req.action} needs a session`);
      return start(command, from);
    }
    const found = sessions.find(from, req.sessionid);
    if (found === "expired") throw commandError("not-allowed", "session-expired", "the command session has ended");
    if (!found || found.command.node !== req.node)
      throw commandError("bad-request", "bad-sessionid", "no such command session");
    if (found.command !== command) {
      // The command was registered again (module reloaded) since this session began.
      sessions.end(found);
      throw commandError("not-allowed", "session-expired", "the command changed; start it again");
    }
    if (req.action === "cancel" || req.form?.type === "cancel") {
      sessions.end(found);
      return buildCommand({ node: req.node, sessionid: found.id, status: "canceled" });
    }
    try {
      return await advance(found, req.action, req.form);
    } catch (err) {
      // §4.6 bad-payload: the requester may correct and resubmit; any other error ends the session.
      if (!isBadPayload(err) && !(err instanceof StanzaError && err.appCondition?.name === "bad-action"))
        sessions.end(found);
      throw err;
    }
  }

  function allowedFor(c: RegisteredCommand, from: Jid): boolean {
    try {
      return c.definition.allowed(from);
    } catch (err) {
      log.error({ err, node: c.node }, "ad-hoc command allowed() failed");
      return false;
    }
  }

  const stagesOf = (c: RegisteredCommand) => c.definition.stages ?? [];

  function valuesOf(s: CommandSession): CommandValues {
    const merged = new Map<string, string[]>();
    for (const stage of s.submitted) for (const [k, v] of stage ?? []) merged.set(k, v);
    return new CommandValues(merged);
  }

  async function start(command: RegisteredCommand, from: Jid): Promise<Element> {
    const stages = stagesOf(command);
    const request: CommandRequest = { requester: from, values: new CommandValues() };
    if (stages.length === 0) {
      // A one-step command: runs now, and its session is over as soon as it answers (§3.3).
      const outcome = await command.definition.run(request);
      logRun(command, from);
      return buildCommand({ node: command.node, sessionid: newSessionId(), status: "completed", ...outcome });
    }
    const form = await (stages[0] as (typeof stages)[number]).form(request);
    const opened = sessions.open(from, command, form);
    if (!opened.ok) {
      log.warn(
        { requester: from.toString(), node: command.node, limit: opened.reason },
        "ad-hoc command session refused: limit reached",
      );
      throw new StanzaError(
        "resource-constraint",
        opened.reason === "per-account"
          ? "too many command sessions open for this account"
          : "too many command sessions open",
      );
    }
    return reply(opened.session);
  }

  function reply(s: CommandSession): Element {
    const last = s.stage === stagesOf(s.command).length - 1;
    const allowed: ("prev" | "next" | "complete")[] = [];
    if (s.stage > 0) allowed.push("prev");
    allowed.push(last ? "complete" : "next");
    const response: CommandResponse = {
      node: s.command.node,
      sessionid: s.id,
      status: "executing",
      actions: { allowed, execute: last ? "complete" : "next" },
      form: withValues(s.shown, s.submitted[s.stage]),
    };
    return buildCommand(response);
  }

  async function advance(
    s: CommandSession,
    action: "execute" | "next" | "prev" | "complete",
    form: DataForm | undefined,
  ): Promise<Element> {
    const stages = stagesOf(s.command);
    const last = s.stage === stages.length - 1;
    const step = action === "execute" ? (last ? "complete" : "next") : action;
    if (step === "prev") {
      if (s.stage === 0) throw commandError("bad-request", "bad-action", "there is no previous stage");
      s.stage--;
      s.shown = await (stages[s.stage] as (typeof stages)[number]).form({
        requester: s.requester,
        values: valuesOf(s),
      });
      return reply(s);
    }
    if (step === "next" && last) throw commandError("bad-request", "bad-action", "this is the last stage: complete it");
    if (step === "complete" && !last) throw commandError("bad-request", "bad-action", "more stages follow: go next");
    // No form at all is an empty submission (a stage whose fields are all optional); another type is not one.
    if (form && form.type !== "submit")
      throw commandError("bad-request", "bad-payload", "submit the stage's form (type submit)");
    s.submitted[s.stage] = checkSubmission(s.shown, form ?? { type: "submit", fields: [] });
    s.submitted.length = s.stage + 1; // what later stages submitted before a prev no longer holds
    const request: CommandRequest = { requester: s.requester, values: valuesOf(s) };
    await stages[s.stage]?.check?.(request);
    if (step === "next") {
      s.stage++;
      s.shown = await (stages[s.stage] as (typeof stages)[number]).form(request);
      return reply(s);
    }
    const outcome = await s.command.definition.run(request);
    sessions.end(s);
    logRun(s.command, s.requester);
    return buildCommand({ node: s.command.node, sessionid: s.id, status: "completed", ...outcome });
  }

  function logRun(c: RegisteredCommand, from: Jid): void {
    log.info({ requester: from.toString(), node: c.node }, "ad-hoc command completed");
  }

  return { execute, allowedFor };
}
