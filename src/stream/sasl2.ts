// XEP-0388 (Extensible SASL Profile, v1.0) elements: reading <authenticate/> and its inline requests, writing
// <failure/>, and the user agents an account has logged in with (§2.3 <user-agent/>), remembered per account.
import type { SaslFailureCondition } from "../auth/types.js";
import { Element } from "../core/xml/element.js";
import { NS_BIND2, NS_FAST, NS_SASL, NS_SASL_UPGRADE, NS_SASL2, NS_SM } from "../core/xml/ns.js";
import type { Json, StorageDriver } from "../storage/types.js";

export interface UserAgent {
  id: string | undefined;
  software: string | undefined;
  device: string | undefined;
}

export interface Sasl2Request {
  mechanism: string;
  /** base64 text; undefined when there is no <initial-response/>. */
  initialResponse: string | undefined;
  userAgent: UserAgent | undefined;
  /** XEP-0386 <bind/>. */
  bind: Element | undefined;
  /** XEP-0198 inline <resume/>. */
  resume: Element | undefined;
  /** XEP-0484 §3.1 <request-token mechanism/>: the mechanism asked for. */
  requestToken: string | undefined;
  /** XEP-0484 §4.1 <fast count invalidate/>: this login uses a token. */
  fast: { count: number | undefined; invalidate: boolean } | undefined;
  /** XEP-0480 §2.2 <upgrade/>: the upgrade tasks asked for (at most MAX_UPGRADES, each a short name). */
  upgrades: string[];
}

/** Upgrade tasks read from one <authenticate/>: more than a client could want, few enough to cost nothing. */
const MAX_UPGRADES = 8;

/** Longest software / device name kept (longer ones are cut): they are shown to the user, never trusted. */
const MAX_NAME = 128;

function shortText(el: Element | undefined): string | undefined {
  if (!el) return undefined;
  const text = el.text().trim();
  return text === "" ? undefined : text.slice(0, MAX_NAME);
}

/** Reads an <authenticate/>; a string says why it is malformed (answered with <malformed-request/>). */
export function parseAuthenticate(el: Element): Sasl2Request | string {
  const mechanism = el.attrs.mechanism;
  if (mechanism === undefined || mechanism === "" || mechanism.length > 64) return "mechanism attribute missing";
  const initial = el.getChild("initial-response", NS_SASL2);
  const ua = el.getChild("user-agent", NS_SASL2);
  const fast = el.getChild("fast", NS_FAST);
  let count: number | undefined;
  if (fast?.attrs.count !== undefined) {
    if (!/^\d{1,15}$/.test(fast.attrs.count)) return "count is not a number";
    count = Number(fast.attrs.count);
  }
  return {
    mechanism,
    initialResponse: initial ? initial.text() : undefined,
    userAgent: ua
      ? {
          id: ua.attrs.id,
          software: shortText(ua.getChild("software", NS_SASL2)),
          device: shortText(ua.getChild("device", NS_SASL2)),
        }
      : undefined,
    bind: el.getChild("bind", NS_BIND2),
    resume: el.getChild("resume", NS_SM),
    requestToken: el.getChild("request-token", NS_FAST)?.attrs.mechanism,
    fast: fast ? { count, invalidate: fast.attrs.invalidate === "true" || fast.attrs.invalidate === "1" } : undefined,
    upgrades: el
      .getChildren("upgrade", NS_SASL_UPGRADE)
      .slice(0, MAX_UPGRADES)
      .map((u) => u.text().trim().slice(0, 64)),
  };
}

/** XEP-0388 §2.6.2: the RFC 6120 condition (in its own namespace) and an optional text. */
export function sasl2Failure(condition: SaslFailureCondition, text?: string): Element {
  const el = new Element("failure", NS_SASL2);
  el.c(condition, NS_SASL);
  if (text) el.c("text", NS_SASL2).t(text);
  return el;
}

/**
 * The store of remembered user agents. Read at every SASL2 login with a <user-agent/>, written only by this server
 * (at most once an hour per agent), so the server keeps it in memory (server.ts, storage/store-cache.ts).
 */
export const USER_AGENTS_STORE = "user-agents";
const SEEN_GRANULARITY_MS = 3_600_000;

const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Remembers a user agent of an account (id, software, device, last seen), at most `max` per account: the least
 * recently seen is forgotten first. What a user sees in a list of their clients, and what FAST tokens bind to.
 */
export async function rememberUserAgent(
  storage: StorageDriver,
  host: string,
  user: string,
  id: string,
  agent: UserAgent,
  max: number,
): Promise<void> {
  const store = storage.open(host, USER_AGENTS_STORE, "map");
  const value: { [key: string]: Json } = { seen: Date.now() };
  if (agent.software !== undefined) value.software = agent.software;
  if (agent.device !== undefined) value.device = agent.device;
  const existing = await store.get(user, id);
  // A client reconnecting as itself (most logins of a phone) changes nothing worth a write: `seen` is kept to
  // the hour, so a FAST login stays a read, not a write.
  if (
    isObject(existing) &&
    existing.software === value.software &&
    existing.device === value.device &&
    typeof existing.seen === "number" &&
    (value.seen as number) - existing.seen < SEEN_GRANULARITY_MS
  )
    return;
  if (existing === undefined && (await store.count(user)) >= max) {
    const all = await store.getAll(user);
    const seen = (v: Json) =>
      typeof v === "object" && v !== null && !Array.isArray(v) && typeof v.seen === "number" ? v.seen : 0;
    const byAge = [...all].sort((a, b) => seen(a[1]) - seen(b[1]));
    for (const [old] of byAge.slice(0, all.size - max + 1)) await store.delete(user, old);
  }
  await store.set(user, id, value);
}

/** The user agents remembered for an account. */
export async function userAgentsOf(
  storage: StorageDriver,
  host: string,
  user: string,
): Promise<{ id: string; software?: string; device?: string; seen: Date }[]> {
  const out: { id: string; software?: string; device?: string; seen: Date }[] = [];
  for (const [id, v] of await storage.open(host, USER_AGENTS_STORE, "map").getAll(user)) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) continue;
    out.push({
      id,
      ...(typeof v.software === "string" ? { software: v.software } : {}),
      ...(typeof v.device === "string" ? { device: v.device } : {}),
      seen: new Date(typeof v.seen === "number" ? v.seen : 0),
    });
  }
  return out;
}
