// Where to connect for a remote domain (RFC 6120 §3.2, XEP-0368): `_xmpps-server._tcp` (direct TLS) and
// `_xmpp-server._tcp` SRV records ordered by priority then weight (RFC 2782), falling back to the domain's
// own A/AAAA records on port 5269. A configured override replaces DNS (tests, private federations).
import { promises as dns } from "node:dns";

export interface ConnectTarget {
  host: string;
  port: number;
  /** TLS from the first byte (XEP-0368) instead of STARTTLS. */
  directTls: boolean;
}

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export type SrvLookup = (name: string) => Promise<SrvRecord[]>;

const DEFAULT_PORT = 5269;

/** Parses an override value: "host:port" or "tls:host:port" (IPv6 in brackets). */
export function parseOverride(value: string): ConnectTarget | undefined {
  const m = /^(tls:)?(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
  return { host, port: Number(m[3]), directTls: m[1] !== undefined };
}

/**
 * RFC 2782 ordering: ascending priority; within one priority a weighted random order where weight 0
 * entries come first in the running sum and get a small chance (the RFC's algorithm). `random` for tests.
 */
export function orderSrv<T extends { priority: number; weight: number }>(records: T[], random: () => number = Math.random): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r]);
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero-weight records first, as the RFC says, so they get picked only rarely.
    const left = [...byPriority.get(priority)!].sort((a, b) => (a.weight === 0 ? -1 : 0) - (b.weight === 0 ? -1 : 0));
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const pick = random() * (total + 1);
      let running = 0;
      let index = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i]!.weight;
        if (running >= pick) {
          index = i;
          break;
        }
      }
      out.push(left.splice(index, 1)[0]!);
    }
  }
  return out;
}

async function lookupSrv(name: string): Promise<SrvRecord[]> {
  try {
    return await dns.resolveSrv(name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND" || code === "ENODATA" || code === "ESERVFAIL" || code === "ENONAME") return [];
    throw err;
  }
}

export class S2sResolver {
  constructor(
    private readonly overrides: ReadonlyMap<string, ConnectTarget>,
    private readonly srv: SrvLookup = lookupSrv,
  ) {}

  /** Targets to try in order; empty when the domain explicitly has no XMPP service (SRV target "."). */
  async resolve(domain: string): Promise<ConnectTarget[]> {
    const override = this.overrides.get(domain);
    if (override) return [override];
    const [secure, plain] = await Promise.all([
      this.srv(`_xmpps-server._tcp.${domain}`).catch(() => [] as SrvRecord[]),
      this.srv(`_xmpp-server._tcp.${domain}`).catch(() => [] as SrvRecord[]),
    ]);
    // RFC 2782: a single record with target "." means the service is decidedly not available.
    const usable = (list: SrvRecord[]) => (list.length === 1 && list[0]!.name === "." ? [] : list);
    const records = [
      ...usable(secure).map((r) => ({ ...r, directTls: true })),
      ...usable(plain).map((r) => ({ ...r, directTls: false })),
    ];
    if (records.length === 0) {
      if (plain.length === 1 && plain[0]!.name === ".") return [];
      // RFC 6120 §3.2.2: no SRV records → the domain itself on the default port (A/AAAA by the OS resolver).
      return [{ host: domain, port: DEFAULT_PORT, directTls: false }];
    }
    // XEP-0368 §3: both record sets are merged and ordered together by priority and weight.
    return orderSrv(records).map((r) => ({ host: r.name.replace(/\.$/, ""), port: r.port, directTls: r.directTls }));
  }
}
