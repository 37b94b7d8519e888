// The ejabberd extauth protocol over a small pool of programs (docs/authentication.md): the request goes to
// the program with the shortest queue. The operations are those ejabberd and Prosody's
// mod_auth_external send: auth, isuser, setpass, tryregister, removeuser.
import type { Logger } from "pino";
import { ExtauthProcess, type ExtauthProcessOptions } from "./extauth-process.js";
import type { PasswordBackend } from "./password-backend.js";

export interface ExtauthBackendOptions extends ExtauthProcessOptions {
  pool: number;
}

export class ExtauthBackend implements PasswordBackend {
  readonly label = "an external program";
  private readonly processes: ExtauthProcess[];
  private next = 0;

  constructor(options: ExtauthBackendOptions, log: Logger) {
    this.processes = Array.from({ length: options.pool }, () => new ExtauthProcess(options, log));
  }

  private ask(fields: string[]): Promise<boolean> {
    let best = this.processes[this.next++ % this.processes.length] as ExtauthProcess;
    for (const p of this.processes) if (p.queueLength < best.queueLength) best = p;
    return best.request(fields);
  }

  verify(host: string, user: string, password: string): Promise<boolean> {
    return this.ask(["auth", user, host, password]);
  }

  exists(host: string, user: string): Promise<boolean> {
    return this.ask(["isuser", user, host]);
  }

  setPassword(host: string, user: string, password: string): Promise<boolean> {
    return this.ask(["setpass", user, host, password]);
  }

  create(host: string, user: string, password: string): Promise<boolean> {
    return this.ask(["tryregister", user, host, password]);
  }

  remove(host: string, user: string): Promise<boolean> {
    return this.ask(["removeuser", user, host]);
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.close()));
  }
}
