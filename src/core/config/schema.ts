// The shape of natter.yaml: every key, its type, its default and its limits in one place.
// Objects are `.strict()` so a misspelt key is an error rather than a silently ignored setting.
// Zod 4: a nested object whose fields all have defaults needs `.prefault({})` (not `.default({})`),
// so that a missing section is parsed from `{}` and gets its fields' defaults.
// docs/config.md is the reference for users; keep it in step with this file (a test checks the example there).

import { isIP } from "node:net";
import { z } from "zod";
import { addressEntryProblem } from "../address-list.js";
import { tryParseJid } from "../jid.js";
import { authProviderKeys, checkAuthProviders } from "./auth-providers-schema.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/** SASL mechanisms Natter implements, in the default order of preference. */
export const SASL_MECHANISMS = [
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
] as const;

export const STORAGE_DRIVERS = ["sqlite", "postgres"] as const;

const PORT_MESSAGE = "expected a number between 0 and 65535 (0: any free port)";

function port(defaultPort: number) {
  return z
    .number({ error: PORT_MESSAGE })
    .int({ error: PORT_MESSAGE })
    .min(0, { error: PORT_MESSAGE })
    .max(65535, { error: PORT_MESSAGE })
    .default(defaultPort);
}

function positiveInt(what: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `between ${min} and ${max}`;
  const message = `expected ${what}: a whole number ${range}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

function seconds(what: string, min: number) {
  const message = `expected ${what} in seconds: a number of at least ${min}`;
  return z.number({ error: message }).min(min, { error: message });
}

/** RFC 7622 §3.2: a domainpart is a DNS name (possibly internationalised) or an IP literal. */
export function domainProblem(input: string): string | undefined {
  if (isIP(input) !== 0) return undefined;
  if (input.startsWith("[") && input.endsWith("]") && isIP(input.slice(1, -1)) === 6) return undefined;
  const jid = tryParseJid(input);
  if (jid === undefined || !jid.isDomain) return "expected a domain name such as example.org";
  for (const label of jid.domain.split(".")) {
    // RFC 1035 §2.3.4 / RFC 5890 §2.3.2.1: labels are 1–63 octets, no hyphen at either end.
    if (label === "" || Buffer.byteLength(label) > 63)
      return "expected a domain name such as example.org (empty or over-long label)";
    if (!/^[\p{L}\p{M}\p{N}-]+$/u.test(label) || label.startsWith("-") || label.endsWith("-")) {
      return `expected a domain name such as example.org ("${label}" is not a valid label)`;
    }
  }
  return undefined;
}

const domainName = z.string({ error: "expected a domain name such as example.org" }).transform((value, ctx) => {
  const problem = domainProblem(value);
  if (problem !== undefined) {
    ctx.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  }
  return tryParseJid(value)?.domain ?? value;
});

/** A bare JID with a localpart (admins): stored in canonical form so it compares with ===. */
const bareJid = z.string({ error: 'expected a bare JID such as "admin@example.org"' }).transform((value, ctx) => {
  const jid = tryParseJid(value);
  if (jid === undefined || jid.local === "" || !jid.isBare) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a bare JID such as "admin@example.org"` });
    return z.NEVER;
  }
  return jid.toString();
});

const bindAddress = z
  .string({ error: "expected an IP address or host name to listen on" })
  .refine((value) => isIP(value) !== 0 || /^[a-z0-9.-]+$/i.test(value), {
    error: "expected an IP address or host name to listen on",
  });

function listener(defaultPort: number, enabled = true) {
  return z
    .object({
      enabled: z.boolean().default(enabled),
      port: port(defaultPort),
      /** Addresses to listen on; empty = every interface (Node's default). */
      bind: z.array(bindAddress).default([]),
    })
    .strict()
    .prefault({});
}

const PUBLIC_URL_MESSAGE =
  'expected "" or an http:// or https:// URL without query or fragment, such as https://chat.example.org';

/** The base URL clients reach the HTTP listeners at (behind a reverse proxy: the proxy's URL). */
const publicUrl = z.string({ error: PUBLIC_URL_MESSAGE }).refine(
  (value) => {
    if (value === "") return true;
    try {
      const url = new URL(value);
      return (
        (url.protocol === "http:" || url.protocol === "https:") &&
        url.search === "" &&
        url.hash === "" &&
        url.username === "" &&
        url.password === "" &&
        !value.includes("?") &&
        !value.includes("#")
      );
    } catch {
      return false;
    }
  },
  { error: PUBLIC_URL_MESSAGE },
);

/** The HTTP listener (upload, and later WebSocket, BOSH, admin API, metrics). */
function httpListener(defaultPort: number) {
  return z
    .object({
      enabled: z.boolean().default(true),
      port: port(defaultPort),
      bind: z.array(bindAddress).default([]),
      /** "" = https://<first host>:<https port> while the HTTPS listener is on, else http://<first host>:<port>. */
      public_url: publicUrl.default(""),
    })
    .strict()
    .prefault({});
}

const certificatePair = z
  .object({
    cert: z.string({ error: "expected the path of a PEM certificate file" }).min(1, { error: "expected a path" }),
    key: z.string({ error: "expected the path of a PEM private key file" }).min(1, { error: "expected a path" }),
  })
  .strict();

/** One tier of the login throttle (docs/config.md `auth.throttle`). */
function throttleTier(delayAfter: number, attempts: number, window: number) {
  return z
    .object({
      /** Failures after which answers to this address are delayed; 0 = never delay. */
      delay_after: positiveInt("a number of failures", 0).default(delayAfter),
      /** Failures after which this address is refused whatever it sends; 0 = never refuse. */
      attempts: positiveInt("a number of failures", 0).default(attempts),
      /** Seconds over which that many failures are forgotten. */
      window: seconds("the window", 1).default(window),
    })
    .strict()
    .prefault({});
}

const addressEntry = z.string({ error: "expected an IP address or CIDR range" }).superRefine((value, ctx) => {
  const problem = addressEntryProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * A per-connection input rate (token buckets): bytes and stanzas per second, each with a burst allowance.
 * Over it, Natter stops reading the connection until the allowance refills ("throttle, not cut", as
 * ejabberd's shapers and Prosody's mod_limits do). A rate of 0 means no limit.
 */
function rateLimit(defaults: { bytes: number; burstBytes: number; stanzas: number; burstStanzas: number }) {
  return z
    .object({
      bytes_per_second: positiveInt("bytes per second (0 = no limit)", 0).default(defaults.bytes),
      burst_bytes: positiveInt("a size in bytes", 1024).default(defaults.burstBytes),
      stanzas_per_second: positiveInt("stanzas per second (0 = no limit)", 0).default(defaults.stanzas),
      burst_stanzas: positiveInt("a number of stanzas", 1).default(defaults.burstStanzas),
    })
    .strict()
    .prefault({});
}

/** Defaults for servers and components: generous (they carry many users' traffic), still bounded. */
const SERVER_RATE = { bytes: 1_048_576, burstBytes: 4_194_304, stanzas: 5000, burstStanzas: 10_000 };

/** A module's options: a map validated later by the module's own schema, true/empty for its defaults, false to disable. */
const moduleOptions = z.union([z.boolean(), z.null(), z.record(z.string(), z.unknown())], {
  error: "expected the module's options as a map, true to enable it with defaults, or false to disable it",
});

/** A resolver override target: "host:port", or "tls:host:port" for direct TLS (XEP-0368). */
const RESOLVE_MESSAGE = 'expected "host:port" or "tls:host:port", such as "127.0.0.1:5269"';
const resolveTarget = z.string({ error: RESOLVE_MESSAGE }).refine(
  (value) => {
    const m = /^(?:tls:)?(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
    return m !== null && Number(m[2]) > 0 && Number(m[2]) <= 65535;
  },
  { error: RESOLVE_MESSAGE },
);

/**
 * Element and attribute caps of a stream's parser: with the byte cap they bound the memory one unfinished
 * stanza can hold (each element costs ~150 bytes of heap beyond its text).
 */
function elementCaps(maxElements: number) {
  return {
    max_elements_per_stanza: positiveInt("a number of elements", 1).default(maxElements),
    // A stream header carries up to 7 (xmlns, xmlns:stream, xmlns:db, to, from, version, xml:lang).
    max_attributes_per_element: positiveInt("a number of attributes", 8).default(64),
  };
}

/**
 * Limits before authentication (SASL success, s2s authentication, component handshake). Small, because anyone
 * can open such a stream; the defaults leave room for SCRAM with channel binding, XEP-0077 registration forms,
 * dialback and SASL EXTERNAL (all well under 2 KiB).
 */
function preAuthLimits() {
  return z
    .object({
      max_stanza_size: positiveInt("a size in bytes", 512).default(4096),
      max_elements_per_stanza: positiveInt("a number of elements", 1).default(64),
    })
    .strict()
    .prefault({});
}

/** Federation (RFC 6120 server-to-server, XEP-0220 dialback, XEP-0178 SASL EXTERNAL). */
const s2sSchema = z
  .object({
    /** The switch for federation as a whole: no s2s listeners, no outgoing connections when false. */
    enabled: z.boolean().default(true),
    /** Require a certificate valid for the peer's domain (chain to a trusted CA, name per RFC 6125). */
    secure: z.boolean().default(true),
    /** Allow XEP-0220 dialback (with `secure`, only where the certificate is valid anyway). */
    dialback: z.boolean().default(true),
    /** STARTTLS (or direct TLS) required on every s2s stream. */
    require_encryption: z.boolean().default(true),
    /** Trust anchors for peers' certificates: the system's CAs and/or PEM files. */
    trust: z
      .object({
        system_cas: z.boolean().default(true),
        ca_files: z.array(z.string().min(1, { error: "expected a path" })).default([]),
      })
      .strict()
      .prefault({}),
    /** When not empty, only these domains (and their subdomains) may federate with us. */
    allow_domains: z.array(domainName).default([]),
    /** Domains (and their subdomains) that get no connection either way. */
    deny_domains: z.array(domainName).default([]),
    /** domain → "host:port" / "tls:host:port", used instead of DNS (tests, private federations). */
    resolve: z.record(domainName, resolveTarget).default({}),
    connect_timeout: seconds("the connect timeout", 1).default(10),
    negotiation_timeout: seconds("the timeout", 1).default(30),
    /** Seconds without stanzas after which a connection is closed. */
    idle_timeout: seconds("the idle timeout", 1).default(300),
    /** Stanzas queued per remote domain while its connection comes up; more get resource-constraint. */
    max_queue: positiveInt("a number of stanzas", 1).default(10000),
    /** Bytes (serialised) queued per remote domain while its connection comes up; more get resource-constraint. */
    max_queue_bytes: positiveInt("a size in bytes", 65536).default(16_777_216),
    /** Input rate of each s2s connection (either direction). */
    rate_limit: rateLimit(SERVER_RATE),
    /** Output a peer has not read beyond this closes its connection. */
    max_unsent_bytes: positiveInt("a size in bytes", 1_048_576).default(33_554_432),
    max_stanza_size: positiveInt("a size in bytes", 10000).default(262144),
    ...elementCaps(10000),
    /** An inbound stream until it has authenticated a domain. */
    pre_auth: preAuthLimits(),
  })
  .strict()
  .prefault({});

/** An external component (XEP-0114): the domain it serves and the shared secret its handshake proves. */
const componentEntry = z
  .object({
    domain: domainName,
    secret: z
      .string({ error: "expected the shared secret as a string" })
      .min(1, { error: "the secret may not be empty" }),
    /** Input rate of the component's connection once its handshake succeeded (before: c2s.rate_limits.unauthenticated). */
    rate_limit: rateLimit(SERVER_RATE),
    /** Output the component has not read beyond this closes its connection. */
    max_unsent_bytes: positiveInt("a size in bytes", 1_048_576).default(67_108_864),
  })
  .strict();

const moduleName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, { error: "module names are kebab-case, such as stream-management" });

/** tls.acme: certificates from an ACME CA (RFC 8555), see docs/certificates.md. */
const acmeSchema = z
  .object({
    enabled: z.boolean().default(false),
    directory_url: z
      .url({ protocol: /^https$/, error: "expected the https:// URL of an ACME directory" })
      .default("https://acme-v02.api.letsencrypt.org/directory"),
    email: z.email({ error: "expected an email address for the CA's expiry notices" }).optional(),
    // RFC 8555 §7.3: the account's holder agrees to the CA's terms of service.
    agree_tos: z.boolean().default(false),
    /** Extra CA (PEM) trusted for the ACME server's own HTTPS, for pebble or a private CA. */
    ca_file: z.string().min(1, { error: "expected a PEM file path" }).optional(),
    renew_before_days: positiveInt("a number of days", 1, 100_000).default(30),
    /** Names to request; empty = every served domain not covered by tls.certificates. */
    domains: z.array(domainName).default([]),
    exclude_domains: z.array(domainName).default([]),
    key_type: z.enum(["ecdsa", "rsa"]).default("ecdsa"),
    /** First wait after a failed attempt, doubled each time up to a day. */
    retry_after: seconds("the first retry delay", 1).default(300),
  })
  .strict()
  .superRefine((acme, ctx) => {
    if (acme.enabled && !acme.agree_tos) {
      ctx.addIssue({
        code: "custom",
        path: ["agree_tos"],
        message: "must be true to enable tls.acme: it states that you agree to the CA's terms of service",
      });
    }
  })
  .prefault({});

export const configSchema = z
  .object({
    hosts: z.array(domainName).min(1, { error: "at least one host is needed" }).default(["localhost"]),
    data_dir: z.string().min(1, { error: "expected a directory path" }).default("./data"),
    log_level: z.enum(LOG_LEVELS).default("info"),
    // "" = JSON lines on stdout (journald under systemd). A file is reopened on SIGUSR1 and on reload (rotation).
    log_file: z.string().default(""),
    admins: z.array(bareJid).default([]),
    // RFC 6121 §8.5.1: strangers cannot tell an unknown local address from a real account that does not answer.
    hide_account_existence: z.boolean().default(false),
    listeners: z
      .object({
        c2s: listener(5222),
        // XEP-0368: TLS from the first byte, ALPN xmpp-client.
        c2s_direct_tls: listener(5223),
        // Natter's HTTP server: XEP-0363 uploads (and later WebSocket, BOSH, admin API, metrics).
        http: httpListener(5280),
        // The same over TLS with the certificates of tls.certificates (SNI), or the generated self-signed one:
        // upload slot URLs are capabilities and must not cross the network in clear text.
        https: listener(5281),
        // XEP-0114 external components; opened only when `components` lists one. Loopback: the protocol has no TLS.
        component: z
          .object({
            enabled: z.boolean().default(true),
            port: port(5347),
            bind: z.array(bindAddress).default(["127.0.0.1", "::1"]),
          })
          .strict()
          .prefault({}),
        // Server-to-server (RFC 6120) with STARTTLS, and direct TLS (XEP-0368, ALPN xmpp-server); both only with s2s.enabled.
        s2s: listener(5269),
        s2s_direct_tls: listener(5270),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        /** Chosen per host by the names in each certificate (SNI); none → a generated self-signed one. */
        certificates: z.array(certificatePair).default([]),
        // RFC 8555 certificates (HTTP-01 on listeners.http), for the names tls.certificates does not cover.
        acme: acmeSchema,
      })
      .strict()
      .prefault({}),
    c2s: z
      .object({
        require_encryption: z.boolean().default(true),
        // RFC 6120 §13.12 (4): a server must accept stanzas of at least 10000 bytes.
        max_stanza_size: positiveInt("a size in bytes", 10000).default(262144),
        max_depth: positiveInt("a nesting depth", 4, 1000).default(32),
        ...elementCaps(10000),
        /** Until SASL succeeds; also external components (XEP-0114) until their handshake. */
        pre_auth: preAuthLimits(),
        negotiation_timeout: seconds("the timeout", 1).default(30),
        // RFC 6120 §7.6.2.1: binding one more gets <resource-constraint/>; sessions waiting for resumption count
        // (and give way to a new bind).
        max_sessions_per_account: positiveInt("a number of sessions", 1).default(10),
        /** Output a client has not read beyond this closes its connection (slow-reader protection). */
        max_unsent_bytes: positiveInt("a size in bytes", 1_048_576).default(16_777_216),
        /** Input rate of each client connection, stricter before authentication. */
        rate_limits: z
          .object({
            unauthenticated: rateLimit({ bytes: 10_240, burstBytes: 65_536, stanzas: 10, burstStanzas: 50 }),
            authenticated: rateLimit({ bytes: 262_144, burstBytes: 1_048_576, stanzas: 1000, burstStanzas: 2000 }),
          })
          .strict()
          .prefault({}),
        // RFC 6120 §4.6.1: a single space when the stream has been quiet this long; 0 turns it off.
        keepalive_interval: z
          .number({ error: "expected seconds" })
          .min(0, { error: "expected seconds (0 = off)" })
          .default(60),
        // A connection that sent nothing for this long (between 1 and 2 times it) drops its XML parser until its next
        // input: ~3 KiB less per idle session, ~10 µs to make a new one at the next input. 0 keeps every parser.
        parser_release_after: z
          .number({ error: "expected seconds" })
          .min(0, { error: "expected seconds (0 = never)" })
          .default(1),
        sasl_mechanisms: z
          .array(z.enum(SASL_MECHANISMS))
          .min(1, { error: "at least one SASL mechanism is needed" })
          .default([...SASL_MECHANISMS]),
        // XEP-0388 Extensible SASL Profile with XEP-0386 Bind 2 inline (docs/modern-login.md).
        sasl2: z
          .object({
            enabled: z.boolean().default(true),
            /** User agents (XEP-0388 <user-agent id/>) remembered per account; the least recently seen go first. */
            max_user_agents: positiveInt("a number of user agents", 1, 10000).default(32),
          })
          .strict()
          .prefault({}),
        // XEP-0198: acknowledgements and resumption after a dropped connection.
        stream_management: z
          .object({
            enabled: z.boolean().default(true),
            /** Seconds a session is kept for resumption after its connection drops. */
            resume_timeout: seconds("the resumption timeout", 1).default(300),
            /** Unacknowledged stanzas kept per session; beyond it the session ends and they are re-routed. */
            max_unacked: positiveInt("a number of stanzas", 10).default(1000),
            /** The same limit in bytes of serialised XML (a few large stanzas weigh as much as many small ones). */
            max_unacked_bytes: positiveInt("a size in bytes", 65536).default(2_097_152),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    // XEP-0484 FAST tokens, issued inside SASL2 (c2s.sasl2) (docs/modern-login.md).
    fast: z
      .object({
        enabled: z.boolean().default(true),
        /** HT mechanisms offered, strongest first; each -X only on connections with its channel binding. */
        mechanisms: z
          .array(z.enum(["HT-SHA-256-EXPR", "HT-SHA-256-UNIQ", "HT-SHA-256-ENDP", "HT-SHA-256-NONE"]))
          .min(1, { error: "at least one FAST mechanism is needed (or fast.enabled: false)" })
          .default(["HT-SHA-256-EXPR", "HT-SHA-256-UNIQ", "HT-SHA-256-ENDP", "HT-SHA-256-NONE"]),
        /** Seconds a token stays valid after it is issued. */
        token_lifetime: seconds("the token lifetime", 60).default(21 * 86400),
        /** A token used when older than this (seconds) is replaced by a new one in the <success/>. */
        rotate_after: seconds("the rotation age", 1).default(7 * 86400),
        /** Tokens one account holds (two per client during a rotation); the least recently used go first. */
        max_tokens_per_account: positiveInt("a number of tokens", 2, 10000).default(32),
      })
      .strict()
      .prefault({}),
    s2s: s2sSchema,
    // RFC 7395 XMPP over WebSocket at <http(s) listener>/xmpp-websocket (subprotocol "xmpp").
    websocket: z
      .object({
        enabled: z.boolean().default(true),
        /** Origins (scheme://host[:port]) a browser page may connect from; "*" = any. XMPP over WebSocket carries
         * no cookies or other ambient credentials (SASL authenticates), so any origin is safe by default. */
        allowed_origins: z.array(z.string().min(1)).default(["*"]),
        /** RFC 7395 §3.6.1: when set, every new WebSocket stream is sent here (<close see-other-uri/>), e.g. while
         * this node is drained; "" = serve streams here. */
        see_other_uri: z.string().default(""),
      })
      .strict()
      .prefault({}),
    // XEP-0124 / XEP-0206 BOSH at <http(s) listener>/http-bind.
    bosh: z
      .object({
        enabled: z.boolean().default(true),
        /** Origins allowed by CORS; "*" = any (BOSH carries no cookies; the sid is the session's only key). */
        allowed_origins: z.array(z.string().min(1)).default(["*"]),
        // XEP-0124 §7.1: the longest a request is held; a client asking for more gets this.
        max_wait: seconds("the longest wait", 1).default(60),
        // XEP-0124 §7.1: requests held at once per session (a client asking for more gets this).
        max_hold: positiveInt("a number of requests", 1, 10).default(1),
        // XEP-0124 §7.1 'requests': simultaneous requests allowed per session (at least hold + 1).
        max_requests: positiveInt("a number of requests", 2, 11).default(2),
        // XEP-0124 §10: a session with no request for this long is gone (the user goes offline).
        inactivity: seconds("the inactivity timeout", 5).default(60),
        // XEP-0124 §10: the longest pause a client may ask for.
        max_pause: seconds("the longest pause", 0).default(120),
        // XEP-0124 §12: the shortest interval between empty polls of a polling session (hold = 0).
        polling: seconds("the polling interval", 0).default(2),
        /** Largest request body; the default leaves room for one c2s.max_stanza_size stanza and its wrapper. */
        max_body_bytes: positiveInt("a size in bytes", 10240).default(278_528),
        /** Output waiting for the client's next request beyond this ends the session (a client that does not poll). */
        max_queued_bytes: positiveInt("a size in bytes", 65536).default(4_194_304),
        /** BOSH sessions on the whole server. */
        max_sessions: positiveInt("a number of sessions", 1).default(10000),
        /** BOSH sessions from one address (IPv6: one /64); unauthenticated ones are also capped by `unauthenticated`. */
        max_sessions_per_address: positiveInt("a number of sessions", 1).default(100),
      })
      .strict()
      .prefault({}),
    // A web client (Converse.js, served from node_modules) at <http(s) listener>/chat.
    web_client: z
      .object({
        enabled: z.boolean().default(true),
        /** Shown as the page title and on the login screen. */
        title: z.string().min(1).max(100).default("Natter"),
      })
      .strict()
      .prefault({}),
    // The admin HTTP API under <http(s) listener>/admin/api (issue 14; docs/admin-api.md). Only addresses in
    // allowed_addresses reach it at all (then an API token or an admin's console session is needed): loopback by
    // default, so a fresh install exposes no admin surface to the network.
    admin_api: z
      .object({
        enabled: z.boolean().default(true),
        allowed_addresses: z.array(addressEntry).default(["127.0.0.0/8", "::1"]),
        /** Most users one GET /users page returns. */
        max_page_size: positiveInt("a page size", 1, 100000).default(500),
        /** Largest request body the API reads. */
        max_body_bytes: positiveInt("a size in bytes", 1024).default(65536),
      })
      .strict()
      .prefault({}),
    // Prometheus metrics at <HTTP(S) listener>/metrics, for the addresses listed only.
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        /** Who may scrape (IP addresses and CIDR ranges); everyone else gets 403. Default: loopback only. */
        allowed_addresses: z.array(addressEntry).default(["127.0.0.0/8", "::1"]),
      })
      .strict()
      .prefault({}),
    // /healthz and /readyz for load balancers and service managers (open to all: they say nothing).
    health: z
      .object({
        /** /readyz answers 503 when storage does not answer a trivial query within this long. */
        readiness_timeout: seconds("the readiness timeout", 0.1).default(2),
      })
      .strict()
      .prefault({}),
    // The admin console at <HTTP(S) listener>/admin (web/admin-console): admins in `admins` log in with
    // their XMPP password; sessions are kept in memory. Reached from admin_api.allowed_addresses, as the API.
    admin_console: z
      .object({
        enabled: z.boolean().default(true),
        /** A console session unused this long ends (seconds). */
        idle_timeout: seconds("the idle timeout", 60).default(1800),
        /** A console session ends this long after its login, used or not (seconds). */
        absolute_timeout: seconds("the absolute timeout", 60).default(43_200),
        /** Console sessions kept at once; a login past this ends the least recently used. */
        max_sessions: positiveInt("a number of sessions", 1, 100_000).default(100),
      })
      .strict()
      .prefault({}),
    // Connections not authenticated yet (c2s, s2s inbound, components), counted from TCP accept until
    // authentication or close, on all listeners together.
    unauthenticated: z
      .object({
        max_connections: positiveInt("a number of connections", 1).default(1000),
        /** Per source address; IPv6 addresses count per /64. */
        max_connections_per_address: positiveInt("a number of connections", 1).default(20),
        /** Addresses without the per-address cap (a trusted reverse proxy or NAT gateway); the total still applies. */
        exempt_addresses: z.array(addressEntry).default([]),
      })
      .strict()
      .prefault({}),
    // Inbound stanza handling per turn of the event loop over every connection (c2s, s2s, components): past it,
    // handling waits for the next turn, so that timers keep their time under a flood of messages.
    event_loop: z
      .object({
        /** Stanzas per turn; 0 = no limit by count (the default: small turns cost CPU per message, docs/config.md). */
        stanzas_per_turn: z.number().int().min(0).default(0),
        /** Milliseconds of stanza handling per turn; 0 = no time limit (both 0: no budget). */
        handling_ms_per_turn: z.number().int().min(0).max(1000).default(10),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        // RFC 7677 §4 / RFC 5802 §5.1: at least 4096 iterations; the cap keeps one login from hogging a core.
        scram_iterations: positiveInt("an iteration count", 4096, 10_000_000).default(4096),
        // RFC 5802 §6: when a SCRAM gs2 'y' flag counts as a stripped -PLUS offer (docs/config.md explains).
        scram_downgrade_check: z.enum(["client_shown", "plus_offered"]).default("client_shown"),
        // Login throttle: slows down, then refuses, the addresses that fail; never locks an owner out.
        throttle: z
          .object({
            per_ip: throttleTier(5, 20, 600),
            per_ip_account: throttleTier(3, 5, 600),
            /** Every address against one account: a bounded slowdown only, never a refusal. */
            per_account: z
              .object({
                delay_after: positiveInt("a number of failures", 0).default(10),
                window: seconds("the window", 1).default(600),
              })
              .strict()
              .prefault({}),
            initial_delay: z.number({ error: "expected seconds" }).min(0, { error: "expected seconds" }).default(0.5),
            max_delay: z
              .number({ error: "expected seconds" })
              .min(0)
              .max(60, { error: "expected at most 60 seconds" })
              .default(4),
            max_account_delay: z
              .number({ error: "expected seconds" })
              .min(0)
              .max(10, { error: "expected at most 10 seconds" })
              .default(2),
            /** Addresses and CIDR ranges (a trusted proxy) never delayed or refused for their own failures. */
            exempt: z.array(addressEntry).default([]),
            /** Addresses (and address+account pairs, and accounts) remembered; the least recently failing are forgotten first. */
            max_entries: positiveInt("a number of entries", 100, 10_000_000).default(100_000),
          })
          .strict()
          .prefault({}),
        // Where passwords are checked, per host (docs/authentication.md): internal, ldap, external, http.
        ...authProviderKeys,
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        driver: z.enum(STORAGE_DRIVERS).default("sqlite"),
        // Hot stores kept in memory (rosters, PEP node configs, avatar hashes, MOTD) and known account names (entries; 0: off).
        cache_entries: z.number().int().min(0).default(200_000),
        sqlite: z
          .object({ path: z.string().min(1, { error: "expected a file path" }).default("natter.sqlite") })
          .strict()
          .prefault({}),
        // docs/postgresql.md. The URL may hold a password: it is never logged (shown with *** instead).
        postgres: z
          .object({
            url: z
              .string()
              .refine((value) => value === "" || /^postgres(ql)?:\/\/[^\s]+$/.test(value), {
                error: "expected a URL like postgres://user:password@host:5432/database",
              })
              .default(""),
            pool_size: positiveInt("a number of connections", 1, 1000).default(10),
            /** Seconds to wait for a connection to the database (at start and when the pool opens one). */
            connect_timeout: z
              .number({ error: "expected a number of seconds" })
              .min(0.1, { error: "expected at least 0.1 seconds" })
              .max(600, { error: "expected at most 600 seconds" })
              .default(10),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .superRefine((storage, ctx) => {
        if (storage.driver === "postgres" && storage.postgres.url === "")
          ctx.addIssue({
            code: "custom",
            path: ["postgres", "url"],
            message: "storage.driver is postgres: give the database URL",
          });
      })
      .prefault({}),
    // Several nodes serving one domain through Redis (docs/cluster.md). Off while redis_url is "".
    cluster: z
      .object({
        redis_url: z
          .string()
          .refine((value) => value === "" || /^rediss?:\/\/[^\s]+$/.test(value), {
            error: "expected a URL like redis://host:6379 or rediss://user:password@host:6380/0",
          })
          .default(""),
        /** This node's id, unique in the cluster and stable across restarts; "" = the host name. */
        node_id: z
          .string()
          .regex(/^[A-Za-z0-9._-]{0,64}$/, { error: "expected up to 64 letters, digits, '.', '_' or '-'" })
          .default(""),
        /** Prefix of every Redis key and channel, so that several clusters (or test runs) share one Redis. */
        key_prefix: z
          .string()
          .regex(/^[A-Za-z0-9._:{}-]{1,64}$/, { error: "expected 1 to 64 letters, digits or . _ : { } -" })
          .default("natter:"),
        /** Seconds between heartbeats (and membership checks). */
        heartbeat_interval: z
          .number({ error: "expected a number of seconds" })
          .min(0.05, { error: "expected at least 0.05 seconds" })
          .max(60, { error: "expected at most 60 seconds" })
          .default(1),
        /** Seconds without a heartbeat after which a node is taken for dead. */
        node_timeout: z
          .number({ error: "expected a number of seconds" })
          .min(0.2, { error: "expected at least 0.2 seconds" })
          .max(600, { error: "expected at most 600 seconds" })
          .default(5),
        /** Messages to other nodes held while Redis is unreachable; beyond it the oldest is refused. */
        max_queued: positiveInt("a number of messages", 1, 10_000_000).default(10_000),
        /** Inbox entries read from Redis at once. */
        inbox_batch: positiveInt("a number of entries", 1, 10_000).default(100),
        /** Messages to one node written to Redis in one call, at most (the sends of an event-loop turn go together). */
        send_batch: positiveInt("a number of messages", 1, 10_000).default(500),
        /**
         * Inbox entries kept unacknowledged in Redis until the client acknowledged their stanza; past it, an entry is
         * acknowledged once written (the node reads at most 10,000 entries ahead of their handlers settling).
         */
        max_held_for_clients: positiveInt("a number of entries", 0, 9_000).default(5_000),
        /** Seconds to wait for Redis at start. */
        connect_timeout: z
          .number({ error: "expected a number of seconds" })
          .min(0.1, { error: "expected at least 0.1 seconds" })
          .max(600, { error: "expected at most 600 seconds" })
          .default(10),
        /** Seconds a cluster-wide admin question (sessions, status) waits for the other nodes. */
        admin_timeout: z
          .number({ error: "expected a number of seconds" })
          .min(0.1, { error: "expected at least 0.1 seconds" })
          .max(60, { error: "expected at most 60 seconds" })
          .default(2),
        /** Cluster-wide admin questions in flight at once; more are refused (HTTP 503). */
        admin_max_pending: positiveInt("a number of questions", 1, 10_000).default(16),
      })
      .strict()
      .superRefine((cluster, ctx) => {
        if (cluster.node_timeout < cluster.heartbeat_interval * 2)
          ctx.addIssue({
            code: "custom",
            path: ["node_timeout"],
            message: "expected at least twice heartbeat_interval (one late heartbeat must not declare a node dead)",
          });
      })
      .prefault({}),
    modules: z.record(moduleName, moduleOptions).default({}),
    // XEP-0114: components connect to listeners.component and serve their domain.
    components: z.array(componentEntry).default([]),
    send: z
      .object({
        /** JID that `natter send` stamps as the sender; "" = the first host. */
        from: z
          .string()
          .refine((value) => value === "" || tryParseJid(value) !== undefined, { error: 'expected a JID or ""' })
          .default(""),
      })
      .strict()
      .prefault({}),
    control_socket: z.string().min(1, { error: "expected a socket path" }).default("natter.sock"),
    // `natter import` (XEP-0227): bounds on what one file may make the importer hold or report.
    migration: z
      .object({
        /** Elements inside one <user/> (or host-level element); a larger one stops the import at its line. */
        max_elements_per_user: z.number().int().min(1).default(1_000_000),
        /** Nesting depth inside one <user/>. */
        max_depth: z.number().int().min(1).max(1000).default(64),
        /** xi:include nesting (XEP-0227 §5). */
        max_include_depth: z.number().int().min(0).max(16).default(4),
        /** Problems listed in the import report; beyond it they are counted. */
        max_problems: z.number().int().min(1).default(1000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seenHosts = new Set<string>();
    config.hosts.forEach((host, index) => {
      if (seenHosts.has(host))
        ctx.addIssue({ code: "custom", path: ["hosts", index], message: `"${host}" is listed twice` });
      seenHosts.add(host);
    });
    // A component's domain is its own: never a user host, and served by one component only.
    const seenComponents = new Set<string>();
    config.components.forEach((component, index) => {
      const path = ["components", index, "domain"];
      if (seenHosts.has(component.domain))
        ctx.addIssue({
          code: "custom",
          path,
          message: `"${component.domain}" is one of hosts; a component needs a domain of its own`,
        });
      else if (seenComponents.has(component.domain))
        ctx.addIssue({ code: "custom", path, message: `"${component.domain}" is listed twice` });
      seenComponents.add(component.domain);
    });
    // Two enabled listeners on one port would fail at start with EADDRINUSE; say which keys clash instead.
    const portOwners = new Map<number, string>();
    for (const [name, options] of Object.entries(config.listeners)) {
      if (!options.enabled || options.port === 0) continue;
      const owner = portOwners.get(options.port);
      if (owner !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", name, "port"],
          message: `port ${options.port} is also used by listeners.${owner}`,
        });
      } else {
        portOwners.set(options.port, name);
      }
    }
    if (config.tls.acme.enabled && !config.listeners.http.enabled) {
      ctx.addIssue({
        code: "custom",
        path: ["tls", "acme", "enabled"],
        message: "needs listeners.http.enabled: the CA fetches its HTTP-01 challenges from the HTTP listener",
      });
    }
    const seenMechanisms = new Set<string>();
    config.c2s.sasl_mechanisms.forEach((mechanism, index) => {
      if (seenMechanisms.has(mechanism)) {
        ctx.addIssue({
          code: "custom",
          path: ["c2s", "sasl_mechanisms", index],
          message: `${mechanism} is listed twice`,
        });
      }
      seenMechanisms.add(mechanism);
    });
    // Every node must see every other node's writes: one shared database, not a file per node.
    if (config.cluster.redis_url !== "" && config.storage.driver !== "postgres")
      ctx.addIssue({
        code: "custom",
        path: ["storage", "driver"],
        message: "cluster.redis_url is set: a cluster needs storage.driver postgres (every node shares one database)",
      });
    checkAuthProviders(config, ctx);
  });

/**
 * The validated configuration, keys as written in natter.yaml. After loadConfig, data_dir, tls file paths,
 * storage.sqlite.path and control_socket are absolute.
 */
export type Config = z.output<typeof configSchema>;
export type ListenerConfig = Config["listeners"]["c2s"];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type SaslMechanismName = (typeof SASL_MECHANISMS)[number];
