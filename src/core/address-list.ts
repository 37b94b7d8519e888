// A list of IP addresses and CIDR ranges from config (such as `auth.throttle.exempt`), matched against a peer's
// address. IPv4-mapped IPv6 peers (::ffff:192.0.2.1, what a dual-stack socket reports) match IPv4 entries.
import { BlockList, isIP } from "node:net";

/** Why an entry is not an address or CIDR range, or undefined when it is one. */
export function addressEntryProblem(entry: string): string | undefined {
  const [address = "", prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR range (such as 192.0.2.0/24)`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || bits > max) return `"${entry}": the prefix length must be 0 to ${max}`;
  return undefined;
}

/** Addresses whose answer is kept; past this many the kept answers are dropped and gathered again. */
const MAX_ANSWERS = 4096;

export class AddressList {
  private readonly list = new BlockList();
  private readonly answers = new Map<string, boolean>();
  readonly empty: boolean;

  /** Throws on an entry that is not an address or CIDR range (config validation reports it first). */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const problem = addressEntryProblem(entry);
      if (problem !== undefined) throw new RangeError(problem);
      const [address = "", prefix] = entry.split("/");
      const type = isIP(address) === 4 ? "ipv4" : "ipv6";
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
  }

  has(ip: string): boolean {
    if (this.empty) return false;
    // Asked at every connection and login; BlockList.check builds a SocketAddress each time (about 1% of the
    // server's CPU at a thousand logins a second). The list never changes, so answers are kept, boundedly.
    let answer = this.answers.get(ip);
    if (answer === undefined) {
      answer = this.check(ip);
      if (this.answers.size >= MAX_ANSWERS) this.answers.clear();
      this.answers.set(ip, answer);
    }
    return answer;
  }

  private check(ip: string): boolean {
    const address = ip.replace(/%.*$/, ""); // zone index (fe80::1%eth0)
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
    if (mapped) return this.list.check(mapped[1] as string, "ipv4");
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}
