// Which resources of an owner's contacts on other servers are available, from the presence they send the owner
// (XEP-0163 §4.3.2 rule 3: "appropriate presence information": available, priority, XEP-0115 caps). Local
// contacts are sessions of this server; remote ones are known only from their inbound presence, so PEP keeps
// this record per host: per owner, per contact, per full JID. Bounded per owner and per contact (the pep module's
// remote_resources_per_owner / remote_resources_per_contact): a presence beyond them is not recorded.
export interface RemoteResource {
  /** The full JID. */
  readonly jid: string;
  priority: number;
  /** The `<c/>` last seen (node, ver, hash joined), to resolve features again only when it changes. */
  capsKey: string;
  /** The verified disco#info features behind the caps (XEP-0115 §5.4); undefined: none, or not trusted. */
  features: Promise<ReadonlySet<string> | undefined>;
  /** Nodes whose last item went to this resource during this availability (§4.3.3 rule 2: once). */
  readonly sentLast: Set<string>;
}

export interface RemoteLimits {
  perOwner: number;
  perContact: number;
}

export class RemoteContacts {
  /** owner localpart → contact bare JID → full JID → resource. */
  private readonly byOwner = new Map<string, Map<string, Map<string, RemoteResource>>>();
  private readonly counts = new Map<string, number>();

  constructor(public limits: RemoteLimits) {}

  /**
   * The resource record for an available presence of `full` (contact `bare`) to `owner`: the existing one, or a
   * new one; undefined when the owner's or the contact's limit is reached.
   */
  available(owner: string, bare: string, full: string): { resource: RemoteResource; isNew: boolean } | undefined {
    let contacts = this.byOwner.get(owner);
    const existing = contacts?.get(bare)?.get(full);
    if (existing) return { resource: existing, isNew: false };
    const count = this.counts.get(owner) ?? 0;
    const ofContact = contacts?.get(bare);
    if (count >= this.limits.perOwner || (ofContact?.size ?? 0) >= this.limits.perContact) return undefined;
    if (!contacts) {
      contacts = new Map();
      this.byOwner.set(owner, contacts);
    }
    let resources = ofContact;
    if (!resources) {
      resources = new Map();
      contacts.set(bare, resources);
    }
    const resource: RemoteResource = {
      jid: full,
      priority: 0,
      capsKey: "",
      features: Promise.resolve(undefined),
      sentLast: new Set(),
    };
    resources.set(full, resource);
    this.counts.set(owner, count + 1);
    return { resource, isNew: true };
  }

  /** The resource went unavailable (or its presence was an error). */
  unavailable(owner: string, bare: string, full: string): void {
    const contacts = this.byOwner.get(owner);
    const resources = contacts?.get(bare);
    if (!contacts || !resources?.delete(full)) return;
    if (resources.size === 0) contacts.delete(bare);
    this.decrement(owner, 1);
  }

  /** The available resources of `bare` this owner knows of. */
  resourcesOf(owner: string, bare: string): RemoteResource[] {
    const resources = this.byOwner.get(owner)?.get(bare);
    return resources ? [...resources.values()] : [];
  }

  /** Forgets every resource of one remote domain (its s2s link went down: no unavailable will come). */
  dropDomain(domain: string): number {
    let dropped = 0;
    for (const [owner, contacts] of this.byOwner) {
      for (const [bare, resources] of contacts) {
        if (domainOf(bare) !== domain) continue;
        dropped += resources.size;
        this.decrement(owner, resources.size);
        contacts.delete(bare);
      }
    }
    return dropped;
  }

  /** Forgets an owner's whole record (the account was deleted). */
  dropOwner(owner: string): void {
    this.byOwner.delete(owner);
    this.counts.delete(owner);
  }

  /** Resources recorded for all owners of the host. */
  get size(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  private decrement(owner: string, by: number): void {
    const left = (this.counts.get(owner) ?? 0) - by;
    if (left > 0) this.counts.set(owner, left);
    else {
      this.counts.delete(owner);
      this.byOwner.delete(owner);
    }
  }
}

const domainOf = (bare: string): string => bare.slice(bare.indexOf("@") + 1);
