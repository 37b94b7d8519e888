// The servers of one configured TCP listener (c2s, c2s_direct_tls), which a reload can open, close or move.
// A move opens the new address before closing the old, so the service is never unreachable; closing a server
// only stops accepting: connections it accepted go on.
import type { Server } from "node:net";
import type { ListenAddress } from "./listen.js";

export interface ListenerSettings extends ListenAddress {
  enabled: boolean;
}

function portOf(server: Server | undefined): number | undefined {
  const a = server?.address();
  return typeof a === "object" && a ? a.port : undefined;
}

function sameAddress(a: ListenerSettings, b: ListenerSettings): boolean {
  return a.enabled === b.enabled && a.port === b.port && a.bind.join(",") === b.bind.join(",");
}

function describe(s: ListenerSettings): string {
  return `port ${s.port} on ${s.bind.length > 0 ? s.bind.join(", ") : "all interfaces"}`;
}

/** A change prepared by `prepare`: `commit` closes what it replaces, `abort` closes what it opened. */
export interface PreparedListenerChange {
  description: string;
  commit(): void;
  abort(): void;
}

export class ListenerGroup {
  private servers: Server[] = [];
  private settings: ListenerSettings = { enabled: false, port: 0, bind: [] };

  constructor(
    /** Config name, used in change descriptions (`listeners.c2s`). */
    readonly name: string,
    private readonly open: (address: ListenAddress) => Promise<Server[]>,
  ) {}

  /** The port bound (differs from the setting when it asks for port 0). */
  get port(): number | undefined {
    return portOf(this.servers[0]);
  }

  /** Every server it listens with now (for a certificate swap on TLS servers). */
  get all(): readonly Server[] {
    return this.servers;
  }

  async start(settings: ListenerSettings): Promise<void> {
    this.settings = settings;
    if (settings.enabled) this.servers = await this.open(settings);
  }

  /**
   * Opens what `next` asks for without closing anything yet; undefined when nothing changes. Throws (having
   * closed what it opened) when the new address cannot be bound.
   */
  async prepare(next: ListenerSettings): Promise<PreparedListenerChange | undefined> {
    const before = this.settings;
    if (sameAddress(before, next)) return undefined;
    // Started on port 0 ("any"), now naming the port that was bound: the same address.
    if (before.port === 0 && this.port !== undefined && sameAddress({ ...before, port: this.port }, next)) {
      this.settings = next;
      return undefined;
    }
    const old = this.servers;
    const apply = (servers: Server[], description: string): PreparedListenerChange => ({
      description,
      commit: () => {
        for (const s of old) s.close();
        this.servers = servers;
        this.settings = next;
      },
      abort: () => {
        for (const s of servers) s.close();
      },
    });
    if (!next.enabled) return apply([], `listeners.${this.name}: closed (${describe({ ...before, port: this.port ?? before.port })})`);
    let opened: Server[];
    try {
      opened = await this.open(next);
    } catch (error) {
      throw new Error(`listeners.${this.name}: cannot listen on ${describe(next)}: ${(error as Error).message}`);
    }
    const description = before.enabled
      ? `listeners.${this.name}: moved from ${describe({ ...before, port: this.port ?? before.port })} to ${describe({ ...next, port: portOf(opened[0]) ?? next.port })}`
      : `listeners.${this.name}: opened on ${describe({ ...next, port: portOf(opened[0]) ?? next.port })}`;
    return apply(opened, description);
  }

  close(): void {
    for (const s of this.servers) s.close();
    this.servers = [];
  }
}
