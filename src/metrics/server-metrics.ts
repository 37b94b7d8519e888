// The server's Prometheus metrics, on a registry of its own (never prom-client's global one: two servers in one
// process keep theirs apart). Nothing here runs per stanza: every value is read at scrape time, in collect(),
// from the plain counters the streams, router and SASL bump (core/server-counters.ts), from the session
// registry, the s2s service and the MUC services. Labels are bounded: hosts from the config, transports, stanza
// kinds, RFC 6120 error conditions, the SASL mechanisms the server offers, storage operations. Never a JID.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ClientTransport } from "../admin/types.js";
import type { Hooks } from "../core/hooks.js";
import type { ServerCounters, StanzaCounts } from "../core/server-counters.js";
import type { SessionRegistry } from "../core/session-registry.js";
import type { DomainCertificate } from "../core/tls/certificate-report.js";
import type { LatencyHistogram } from "./latency-histogram.js";
import type { StorageOperation } from "./storage-timing.js";

const TRANSPORTS: readonly ClientTransport[] = ["tcp", "websocket", "bosh"];
const KINDS: readonly (keyof StanzaCounts)[] = ["message", "presence", "iq"];

export interface MetricSources {
  counters: ServerCounters;
  sessions: SessionRegistry;
  /** The configured hosts (read at each scrape: a reload may change them). */
  hosts: ReadonlySet<string>;
  /** Server-to-server links now. */
  s2sLinks(): { inbound: number; outbound: number };
  /** Rooms and occupants over every MUC service now. */
  occupancy(): Promise<{ rooms: number; occupants: number }>;
  /** Storage operation times; absent when not measured. */
  storage?: LatencyHistogram<StorageOperation>;
  version: string;
  /** Server start (ms since the epoch). */
  startedAt: number;
  /** Which certificate serves each served domain now. */
  certificates?: () => DomainCertificate[];
  /** The cluster's bus, when the server is a cluster node (read at each scrape; undefined on a single node). */
  cluster?: () => ClusterMetricSource | undefined;
}

/** What the cluster gauges read (a ClusterBus; `inboxLag` where the bus can tell). */
export interface ClusterMetricSource {
  liveNodes(): readonly string[];
  readonly connected: boolean;
  /** Entries of this node's inbox not yet handled (Redis XINFO GROUPS lag + pending), when known. */
  inboxLag?(): number | undefined;
}

/** Rooms and occupants over every MUC service (each muc module instance answers the fold hook). */
export async function mucOccupancy(hooks: Hooks): Promise<{ rooms: number; occupants: number }> {
  let rooms = 0;
  let occupants = 0;
  for (const o of await hooks.fold("muc.occupancy", {})) {
    rooms += o.rooms;
    occupants += o.occupants;
  }
  return { rooms, occupants };
}

/** A histogram whose counts live in a LatencyHistogram (plain arrays), exported as one at scrape time. */
class PlainHistogram extends Histogram<"operation" | "le"> {
  constructor(
    private readonly metricName: string,
    private readonly helpText: string,
    registry: Registry,
    private readonly source: LatencyHistogram<StorageOperation>,
  ) {
    super({
      name: metricName,
      help: helpText,
      labelNames: ["operation"],
      buckets: [...source.buckets],
      registers: [registry],
    });
  }

  override async get() {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    const name = this.metricName;
    for (const [operation, s] of this.source.entries()) {
      let cumulative = 0;
      this.source.buckets.forEach((bound, i) => {
        cumulative += s.counts[i] as number;
        values.push({ metricName: `${name}_bucket`, labels: { operation, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { operation, le: "+Inf" }, value: s.count });
      values.push({ metricName: `${name}_sum`, labels: { operation }, value: s.sum });
      values.push({ metricName: `${name}_count`, labels: { operation }, value: s.count });
    }
    return { name, help: this.helpText, type: "histogram", values, aggregator: "sum" } as unknown as Awaited<
      ReturnType<Histogram<"operation" | "le">["get"]>
    >;
  }

  /** What the registry asks for when it writes the text format. */
  getForPromString() {
    return this.get();
  }
}

// Counters below are exported from plain integers: reset, then increased to the current total, at each scrape.
export class ServerMetrics {
  readonly registry = new Registry();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const { counters } = sources;
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: "natter_info",
      help: "Natter's version (always 1)",
      labelNames: ["version"],
      registers,
      collect() {
        this.set({ version: sources.version }, 1);
      },
    });
    // Labelled by served domain (config hosts and component domains: bounded). Alert on
    // `natter_certificate_expiry_seconds - time() < 14 * 86400` or `natter_certificate_valid == 0`.
    new Gauge({
      name: "natter_certificate_expiry_seconds",
      help: "When the certificate served for a domain expires (seconds since the epoch)",
      labelNames: ["domain", "source"],
      registers,
      collect() {
        this.reset();
        for (const c of sources.certificates?.() ?? [])
          this.set({ domain: c.domain, source: c.source }, c.notAfter.getTime() / 1000);
      },
    });
    new Gauge({
      name: "natter_certificate_valid",
      help: "1 when the certificate served for a domain names it and has not expired, else 0",
      labelNames: ["domain"],
      registers,
      collect() {
        this.reset();
        for (const c of sources.certificates?.() ?? [])
          this.set({ domain: c.domain }, !c.mismatched && c.daysLeft >= 0 ? 1 : 0);
      },
    });
    new Gauge({
      name: "natter_start_time_seconds",
      help: "When the server started (seconds since the epoch)",
      registers,
      collect() {
        this.set(sources.startedAt / 1000);
      },
    });
    new Gauge({
      name: "natter_sessions",
      help: "Bound client sessions (those waiting for XEP-0198 resumption included), by host and transport",
      labelNames: ["host", "transport"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const s of sources.sessions.all()) {
          const key = `${s.jid.domain}\0${s.transport}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        // Every configured host and transport, zeros included; a host not configured (any more) gets no label.
        for (const host of sources.hosts) {
          for (const transport of TRANSPORTS) this.set({ host, transport }, counts.get(`${host}\0${transport}`) ?? 0);
        }
      },
    });
    // A cluster node (docs/cluster.md): every node's sessions as this node's view holds them.
    if (sources.sessions.clusterCount !== undefined)
      new Gauge({
        name: "natter_cluster_sessions",
        help: "Bound client sessions on every node of the cluster (natter_sessions counts this node's)",
        registers,
        collect() {
          this.set(sources.sessions.clusterCount ?? 0);
        },
      });
    new Counter({
      name: "natter_stanzas_total",
      help: "Stanzas read from (in) and written to (out) clients, servers and components, by kind",
      labelNames: ["direction", "kind"],
      registers,
      collect() {
        this.reset();
        for (const kind of KINDS) {
          this.inc({ direction: "in", kind }, counters.stanzasIn[kind]);
          this.inc({ direction: "out", kind }, counters.stanzasOut[kind]);
        }
      },
    });
    new Counter({
      name: "natter_routing_errors_total",
      help: "Error replies the router sent for stanzas it could not deliver, by RFC 6120 condition",
      labelNames: ["condition"],
      registers,
      collect() {
        this.reset();
        for (const [condition, n] of counters.routingErrors) this.inc({ condition }, n);
      },
    });
    new Counter({
      name: "natter_anti_spam_total",
      help: "Anti-spam decisions (held, refused, rate-limited) and XEP-0377 spam reports, by action",
      labelNames: ["action"],
      registers,
      collect() {
        this.reset();
        for (const [action, n] of counters.antiSpam) this.inc({ action }, n);
      },
    });
    new Counter({
      name: "natter_sasl_auth_total",
      help: "SASL authentications by mechanism and result (mechanism 'unknown': one the server does not offer)",
      labelNames: ["mechanism", "result"],
      registers,
      collect() {
        this.reset();
        for (const [mechanism, n] of counters.authSuccesses) this.inc({ mechanism, result: "success" }, n);
        for (const [mechanism, n] of counters.authFailures) this.inc({ mechanism, result: "failure" }, n);
      },
    });
    new Gauge({
      name: "natter_s2s_links",
      help: "Server-to-server connections, by direction",
      labelNames: ["direction"],
      registers,
      collect() {
        const links = sources.s2sLinks();
        this.set({ direction: "in" }, links.inbound);
        this.set({ direction: "out" }, links.outbound);
      },
    });
    new Gauge({
      name: "natter_muc_rooms",
      help: "Multi-user chat rooms (XEP-0045) in memory, over every MUC service",
      registers,
      async collect() {
        this.set((await sources.occupancy()).rooms);
      },
    });
    new Gauge({
      name: "natter_muc_occupants",
      help: "Occupants of multi-user chat rooms, over every MUC service",
      registers,
      async collect() {
        this.set((await sources.occupancy()).occupants);
      },
    });
    if (sources.cluster) {
      const cluster = sources.cluster;
      new Gauge({
        name: "natter_cluster_nodes",
        help: "Live cluster nodes (current heartbeat), this one included; 0 on a single node",
        registers,
        collect() {
          this.set(cluster()?.liveNodes().length ?? 0);
        },
      });
      new Gauge({
        name: "natter_cluster_redis_connected",
        help: "1 while this cluster node reaches Redis, else 0 (also 0 on a single node)",
        registers,
        collect() {
          this.set(cluster()?.connected ? 1 : 0);
        },
      });
      new Gauge({
        name: "natter_cluster_inbox_lag",
        help: "Messages from other nodes waiting in this node's inbox, not yet handled (0 when the bus cannot tell)",
        registers,
        collect() {
          this.set(cluster()?.inboxLag?.() ?? 0);
        },
      });
    }
    if (sources.storage) {
      new PlainHistogram(
        "natter_storage_operation_seconds",
        "Time of storage operations, by store kind and method",
        this.registry,
        sources.storage,
      );
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text format (0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
