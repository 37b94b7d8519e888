// XEP-0480 (SASL Upgrade Tasks, v0.1.0) inside an XEP-0388 exchange: after the client has proven its password,
// and before <success/>, the server asks (<continue/>) for each upgrade task the client requested and the account
// needs; the client starts it (<next task/>), gets the task's data and answers (<task-data/>). The one task
// Natter knows is the SCRAM upgrade of §3: SCRAM-SHA-256 credentials for an account holding only SCRAM-SHA-1
// ones (imported from another server), from the SaltedPassword the client derives with the salt and iteration
// count the server sends. The password itself never travels.
import { randomBytes } from "node:crypto";
import { SCRAM_HASH_LENGTH, SCRAM_SALT_LENGTH, scramKeysFromSaltedPassword } from "../auth/scram-credentials.js";
import type { AccountProvider, SaslFailureCondition, ScramHash } from "../auth/types.js";
import { Element } from "../core/xml/element.js";
import { NS_SASL2, NS_SCRAM_UPGRADE } from "../core/xml/ns.js";

/**
 * Task name → the SCRAM hash it adds. §2.1: "UPGR-" then the mechanism's name without -PLUS (channel binding
 * has nothing to do with stored credentials). SHA-1 has no task: every account has SHA-1 credentials.
 */
const SCRAM_TASKS: Readonly<Record<string, ScramHash>> = { "UPGR-SCRAM-SHA-256": "SHA-256" };

/**
 * Mechanisms after which a task may run: those that prove the password. A FAST token (HT-*) proves no password,
 * and a task sets credentials that work with the password: a stolen token must not become a password.
 */
const PASSWORD_MECHANISM = /^(SCRAM-SHA-1(-PLUS)?|SCRAM-SHA-256(-PLUS)?|PLAIN)$/;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The tasks offered in <authentication/> on a host (§2.1): the SCRAM upgrades whose mechanism is enabled, where
 * the host's accounts keep SCRAM credentials. Offered to every stream, whoever it names in `from`: an offer that
 * depended on the account would tell anyone which accounts exist and which were imported.
 */
export function upgradeTasksOffered(
  accounts: AccountProvider,
  host: string,
  enabledMechanisms: readonly string[],
): string[] {
  if (accounts.credentialKind(host) !== "scram" || accounts.addScramCredentials === undefined) return [];
  return Object.keys(SCRAM_TASKS).filter((task) => enabledMechanisms.includes(task.slice("UPGR-".length)));
}

export type UpgradeStep =
  | { kind: "reply"; element: Element }
  | { kind: "done" }
  | { kind: "failure"; condition: SaslFailureCondition; text: string };

/** The upgrade tasks of one login, run one after the other; made only when at least one is due. */
export class UpgradeTasks {
  /** The task being run, and the salt sent for it (once the client has started it with <next/>). */
  private salt: Buffer | undefined;

  private constructor(
    private readonly accounts: AccountProvider,
    private readonly host: string,
    private readonly user: string,
    private readonly iterations: number,
    private readonly queue: string[],
  ) {}

  /**
   * The tasks due after a successful authentication: asked for by the client (§2.2), offered here, and needed by
   * the account (a task for credentials it has already is skipped). Undefined when none is.
   */
  static async plan(
    accounts: AccountProvider,
    host: string,
    user: string,
    mechanism: string,
    requested: readonly string[],
    offered: readonly string[],
    iterations: number,
  ): Promise<UpgradeTasks | undefined> {
    if (requested.length === 0 || !PASSWORD_MECHANISM.test(mechanism)) return undefined;
    const queue: string[] = [];
    for (const task of new Set(requested)) {
      const hash = SCRAM_TASKS[task];
      if (hash === undefined || !offered.includes(task)) continue;
      if ((await accounts.scramCredentials(host, user, hash)) === undefined) queue.push(task);
    }
    return queue.length === 0 ? undefined : new UpgradeTasks(accounts, host, user, iterations, queue);
  }

  /** XEP-0388 <continue/> naming the next task (§2.2: exactly one), with the mechanism's additional data first. */
  continueElement(additionalData?: Buffer): Element {
    const el = new Element("continue", NS_SASL2);
    if (additionalData && additionalData.length > 0) el.c("additional-data").t(additionalData.toString("base64"));
    el.c("tasks")
      .c("task")
      .t(this.queue[0] as string);
    el.c("text").t(`upgrade to ${(this.queue[0] as string).slice("UPGR-".length)} requested by the client`);
    return el;
  }

  /** The client's <next/> or <task-data/> for the current task. */
  async handle(el: Element): Promise<UpgradeStep> {
    const task = this.queue[0] as string;
    if (this.salt === undefined) {
      // §2.3: the client starts the task the <continue/> named.
      if (el.name !== "next" || el.attrs.task !== task) return malformed(`expected <next task='${task}'/>`);
      this.salt = randomBytes(SCRAM_SALT_LENGTH);
      // §3: the salt (base64, as SCRAM's s=) and the iteration count for the SaltedPassword.
      const data = new Element("task-data", NS_SASL2);
      data.c("salt", NS_SCRAM_UPGRADE, { iterations: String(this.iterations) }).t(this.salt.toString("base64"));
      return { kind: "reply", element: data };
    }
    const hash = SCRAM_TASKS[task] as ScramHash;
    const text = el.name === "task-data" ? el.getChild("hash", NS_SCRAM_UPGRADE)?.text().trim() : undefined;
    if (text === undefined) return malformed("expected <task-data/> with a <hash/>");
    // §3: the base64 SaltedPassword, exactly H()'s length (RFC 5802 §3 Hi() with dkLen = hash length).
    if (text.length % 4 !== 0 || !BASE64.test(text)) return malformed("the hash is not base64");
    const saltedPassword = Buffer.from(text, "base64");
    if (saltedPassword.length !== SCRAM_HASH_LENGTH[hash]) return malformed(`the hash is not a ${hash} SaltedPassword`);
    const { storedKey, serverKey } = scramKeysFromSaltedPassword(hash, saltedPassword);
    try {
      await this.accounts.addScramCredentials?.(this.host, this.user, hash, {
        salt: this.salt,
        iterations: this.iterations,
        storedKey,
        serverKey,
      });
    } catch {
      return { kind: "failure", condition: "temporary-auth-failure", text: "the credentials could not be stored" };
    }
    this.queue.shift();
    this.salt = undefined;
    return this.queue.length === 0 ? { kind: "done" } : { kind: "reply", element: this.continueElement() };
  }
}

function malformed(text: string): UpgradeStep {
  return { kind: "failure", condition: "malformed-request", text };
}
