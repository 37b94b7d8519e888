// The anti-spam module's options (docs/anti-spam.md, docs/config.md), with the defaults an operator of a public
// server would start from: limits a person never reaches, strangers' messages allowed except from accounts
// registered in the last day, which are held for review.
import { z } from "zod";

export const POLICIES = ["allow", "quarantine", "reject"] as const;
export type StrangerPolicy = (typeof POLICIES)[number];

const rate = (perMinute: number, burst: number) =>
  z
    .object({
      /** Tokens refilled a minute; 0 = no limit. */
      per_minute: z.number().min(0).default(perMinute),
      /** How many at once. */
      burst: z.number().int().min(1).default(burst),
    })
    .strict()
    .prefault({});

export const antiSpamOptions = z
  .object({
    /** Per account, across all its sessions: what its clients send. */
    account_rate: z
      .object({
        /** Messages with a body (chat states and receipts are not counted). */
        messages: rate(600, 300),
        /** Subscription requests (RFC 6121 §3.1). */
        subscriptions: rate(20, 30),
      })
      .strict()
      .prefault({}),
    /** Stanzas a remote domain sends over all its s2s links to this host (per-connection limits: s2s.rate_limit). */
    s2s_domain_rate: rate(300_000, 10_000),
    strangers: z
      .object({
        /** Messages and subscription requests from local accounts not in the recipient's roster. */
        local: z.enum(POLICIES).default("allow"),
        /** From remote JIDs not in the recipient's roster. */
        remote: z.enum(POLICIES).default("allow"),
        /** From local accounts registered less than `new_accounts.hours` ago (the stricter of this and `local`). */
        from_new_accounts: z.enum(POLICIES).default("quarantine"),
        /** The error a refused sender gets: RFC 6120 §8.3.3.19 service-unavailable (says nothing) or §8.3.3.12 policy-violation. */
        reject_with: z.enum(["service-unavailable", "policy-violation"]).default("policy-violation"),
        /** Users may choose their own policy (urn:natter:quarantine:0 <policy/>), replacing `local` and `remote`. */
        user_preference: z.boolean().default(true),
        /** Per user, the JIDs it wrote to recently that count as known (replies pass), in memory only. */
        remembered_contacts: z.number().int().min(0).max(10_000).default(50),
      })
      .strict()
      .prefault({}),
    new_accounts: z
      .object({
        /** An account registered in-band is new for this many hours. */
        hours: z.number().min(0).default(24),
        /** What a new account may send to JIDs not in its roster (messages and subscription requests). */
        to_strangers: rate(5, 10),
      })
      .strict()
      .prefault({}),
    quarantine: z
      .object({
        /** Items held per user; more are refused as `reject` would. */
        max_items: z.number().int().min(1).max(10_000).default(100),
        /** Items held per user from one sender; more from it are refused as `reject` would. */
        max_per_sender: z.number().int().min(1).max(10_000).default(10),
        /** Held items are dropped after this many hours. */
        expire_hours: z.number().min(0.001).default(168),
      })
      .strict()
      .prefault({}),
    /** Real-time block lists: pubsub nodes of blocked JIDs (SHA-256 hex or plain) and domains, from trusted services. */
    rtbl: z
      .array(z.object({ service: z.string().min(1), node: z.string().min(1) }).strict())
      .max(20)
      .default([]),
    /** Seconds between full refetches of each block list (the subscription keeps it current in between). */
    rtbl_refresh: z.number().min(1).default(3600),
    /** Seconds before trying again after a block list could not be fetched. */
    rtbl_retry: z.number().min(0.1).default(60),
    /** Entries over all block lists; more are ignored (and logged). */
    rtbl_max_entries: z.number().int().min(1).default(200_000),
    /** Accounts and domains whose rate buckets and caches are kept in memory (least recently used go first). */
    tracked: z.number().int().min(100).default(100_000),
  })
  .strict();

export type AntiSpamOptions = z.infer<typeof antiSpamOptions>;

const STRICTNESS: Record<StrangerPolicy, number> = { allow: 0, quarantine: 1, reject: 2 };

export function stricter(a: StrangerPolicy, b: StrangerPolicy): StrangerPolicy {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}
