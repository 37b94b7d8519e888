// Members of the LDAP admin group (auth.ldap.admin_group) are admins of the hosts whose passwords LDAP checks,
// beside the config's `admins`. The set the server reads (live.admins) is rebuilt from both at each refresh:
// periodically, at start and after a reload. A directory that cannot answer keeps the last members it gave.
import type { Logger } from "pino";

export class DirectoryAdmins {
  private members: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      /** The admin group's usernames. */
      fetch: () => Promise<string[]>;
      /** Hosts whose passwords LDAP checks (read at each refresh: a reload may change them). */
      hosts: () => string[];
      /** `admins` of the running config. */
      configured: () => readonly string[];
      /** The server's admins set, changed in place. */
      admins: Set<string>;
      log: Logger;
    },
  ) {}

  /** Reads the group again and rebuilds the admins set; never throws. */
  refresh(): Promise<void> {
    this.running ??= this.load().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async load(): Promise<void> {
    try {
      this.members = await this.deps.fetch();
    } catch (err) {
      this.deps.log.warn(
        { error: (err as Error).message },
        "could not read the LDAP admin group; the admins it gave last time are kept",
      );
    }
    this.apply();
  }

  /** configured ∪ {member@host for each LDAP host}. */
  apply(): void {
    const next = new Set(this.deps.configured());
    for (const host of this.deps.hosts()) for (const user of this.members) next.add(`${user}@${host}`);
    const admins = this.deps.admins;
    const changed = next.size !== admins.size || [...next].some((a) => !admins.has(a));
    if (!changed) return;
    admins.clear();
    for (const a of next) admins.add(a);
    this.deps.log.info({ admins: [...next] }, "admins now include the LDAP admin group's members");
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
