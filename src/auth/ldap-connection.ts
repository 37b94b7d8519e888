// Opening LDAP connections the way the config says (ldap://, ldaps://, StartTLS; RFC 4513 §3) with timeouts,
// and a small pool of connections bound as the service account, reused for searches.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { Client } from "ldapts";

export interface LdapConnectionOptions {
  url: string;
  startTls: boolean;
  /** PEM file of the CA that signed the directory's certificate; "" = the system's. */
  caFile: string;
  /** Verify the directory's certificate and name (never turn off outside a test). */
  tlsVerify: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
}

export class LdapConnector {
  private readonly tls: ConnectionOptions;
  private readonly host: string;

  constructor(private readonly options: LdapConnectionOptions) {
    this.host = new URL(options.url).hostname.replace(/^\[(.*)\]$/, "$1");
    this.tls = {
      rejectUnauthorized: options.tlsVerify,
      ...(options.caFile ? { ca: [readFileSync(options.caFile)] } : {}),
    };
  }

  /** A connected client (StartTLS done when configured), not bound yet. */
  async open(): Promise<Client> {
    const client = new Client({
      url: this.options.url,
      connectTimeout: this.options.connectTimeoutMs,
      timeout: this.options.timeoutMs,
      // ldapts opens TLS whenever tlsOptions is given: only for ldaps://.
      ...(this.options.url.toLowerCase().startsWith("ldaps:") ? { tlsOptions: this.tls } : {}),
    });
    if (this.options.startTls) {
      try {
        // The name checked against the certificate (RFC 4513 §3.1.3): the URL's host, not Node's "localhost".
        await client.startTLS({
          ...this.tls,
          host: this.host,
          ...(isIP(this.host) === 0 ? { servername: this.host } : {}),
        });
      } catch (err) {
        await client.unbind().catch(() => undefined);
        throw err;
      }
    }
    return client;
  }
}

/** At most `size` connections bound as the service account; one operation on each at a time. */
export class LdapPool {
  private readonly idle: Client[] = [];
  private readonly waiting: ((client: Client | Error) => void)[] = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly connector: LdapConnector,
    private readonly bind: { dn: string; password: string },
    private readonly size: number,
    /** Operations waiting for a connection at most; more fail at once (the backend is then "unavailable"). */
    private readonly maxWaiting: number,
  ) {}

  /** Runs `fn` on a pooled connection; a connection that failed is dropped, not returned to the pool. */
  async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      const result = await fn(client);
      this.release(client);
      return result;
    } catch (err) {
      this.discard(client);
      throw err;
    }
  }

  private async acquire(): Promise<Client> {
    if (this.closed) throw new Error("the LDAP pool is closed");
    // A connection the directory closed would reconnect by itself, unbound and without StartTLS: never reuse it.
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (idle.isConnected) return idle;
      this.open--;
      void idle.unbind().catch(() => undefined);
    }
    if (this.open < this.size) {
      this.open++;
      try {
        const client = await this.connector.open();
        try {
          if (this.bind.dn !== "") await client.bind(this.bind.dn, this.bind.password);
        } catch (err) {
          await client.unbind().catch(() => undefined);
          throw err;
        }
        return client;
      } catch (err) {
        this.open--;
        this.wakeOne();
        throw err;
      }
    }
    // Stanzas to many unknown users, or a directory that answers slowly, must not queue without end.
    if (this.waiting.length >= this.maxWaiting) throw new Error("too many LDAP operations waiting");
    return new Promise((resolve, reject) => {
      this.waiting.push((c) => (c instanceof Error ? reject(c) : resolve(c)));
    });
  }

  private release(client: Client): void {
    const next = this.waiting.shift();
    if (next) next(client);
    else this.idle.push(client);
  }

  private discard(client: Client): void {
    this.open--;
    void client.unbind().catch(() => undefined);
    this.wakeOne();
  }

  /** A slot freed: the next waiter opens a connection of its own. */
  private wakeOne(): void {
    const next = this.waiting.shift();
    if (!next) return;
    this.acquire().then(next, (err: Error) => next(err));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w(new Error("the LDAP pool is closed"));
    await Promise.all(this.idle.splice(0).map((c) => c.unbind().catch(() => undefined)));
    this.open = 0;
  }
}

/** At most `limit` tasks at once, at most `maxWaiting` waiting; more fail at once. */
export class ConcurrencyGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new Error("too many LDAP binds waiting");
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; otherwise it is freed.
      if (next) next();
      else this.running--;
    }
  }
}
