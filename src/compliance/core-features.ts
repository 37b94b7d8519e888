// What Natter's core implements outside any module (streams, transports, TLS, SASL, s2s), declared in one place
// as the modules declare theirs (ModuleDefinition.specs), with whether a config turns each on. The compliance
// table (natter compliance, docs/compliance.md) reads these beside the modules' declarations.
import type { Config } from "../core/config/index.js";
import type { SpecReference } from "../core/modules.js";

export interface CoreDeclaration {
  /** Where in the source it lives, shown as the provider ("stream", "transports/websocket" …). */
  provider: string;
  specs: SpecReference[];
  /** Whether this config turns it on. */
  enabled(config: Config): boolean;
  /** Which config keys turn it on or off, for the table. */
  switch?: string;
}

const httpOn = (c: Config) => c.listeners.http.enabled || c.listeners.https.enabled;
const c2sOn = (c: Config) => c.listeners.c2s.enabled || c.listeners.c2s_direct_tls.enabled;

export const CORE_DECLARATIONS: readonly CoreDeclaration[] = [
  {
    provider: "stream",
    specs: [
      { rfc: 6120, status: "complete", note: "c2s and s2s streams, STARTTLS, SASL, resource binding, stanza errors" },
      { rfc: 7622, status: "complete", note: "PRECIS profiles (RFC 8264/8265) for every JID part" },
      { rfc: 7590, status: "complete", note: "TLS 1.2+ on every listener; SNI certificate choice" },
    ],
    enabled: () => true,
  },
  {
    provider: "stream/stream-management",
    specs: [{ xep: 198, version: "1.6.3", status: "complete", note: "acks and resumption on c2s streams" }],
    enabled: (c) => c.c2s.stream_management.enabled,
    switch: "c2s.stream_management.enabled",
  },
  {
    provider: "transports/tcp (direct TLS)",
    specs: [
      {
        xep: 368,
        version: "1.1.0",
        status: "complete",
        note: "direct TLS listeners (ALPN xmpp-client / xmpp-server); the _xmpps-client SRV records are the operator's DNS",
      },
    ],
    enabled: (c) => c.listeners.c2s_direct_tls.enabled,
    switch: "listeners.c2s_direct_tls.enabled",
  },
  {
    provider: "auth",
    specs: [
      { rfc: 5802, status: "complete", note: "SCRAM-SHA-1(-PLUS)" },
      { rfc: 7677, status: "complete", note: "SCRAM-SHA-256(-PLUS)" },
      { rfc: 9266, status: "complete", note: "tls-exporter channel binding (tls-server-end-point too)" },
      { xep: 440, status: "complete", note: "channel-binding types advertised in stream features" },
      { xep: 474, version: "0.5.0", status: "complete", note: "SCRAM downgrade protection" },
    ],
    enabled: c2sOn,
  },
  {
    provider: "stream/sasl2",
    specs: [
      { xep: 388, status: "complete", note: "SASL2 beside RFC 6120 SASL, user agents remembered per client" },
      { xep: 386, status: "complete", note: "Bind 2 with inline stream management, carbons and CSI" },
      {
        xep: 480,
        version: "0.1.0",
        status: "complete",
        note: "UPGR-SCRAM-SHA-256 task after a password login (and server-side at a PLAIN login)",
      },
    ],
    enabled: (c) => c.c2s.sasl2.enabled,
    switch: "c2s.sasl2.enabled",
  },
  {
    provider: "stream/fast",
    specs: [
      {
        xep: 484,
        version: "0.2.0",
        status: "complete",
        note: "HT-SHA-256-NONE/-ENDP/-EXPR/-UNIQ tokens (-UNIQ on TLS 1.2 only), stored as HMACs, bound to the client id; revocable by admins",
      },
      {
        rfc: 5929,
        status: "partial",
        note: "tls-unique for HT-SHA-256-UNIQ on TLS 1.2 (never for SCRAM -PLUS); tls-server-end-point everywhere",
      },
    ],
    enabled: (c) => c.c2s.sasl2.enabled && c.fast.enabled,
    switch: "fast.enabled",
  },
  {
    provider: "transports/websocket",
    specs: [{ rfc: 7395, status: "complete", note: "at /xmpp-websocket on the HTTP(S) listener" }],
    enabled: (c) => c.websocket.enabled && httpOn(c),
    switch: "websocket.enabled",
  },
  {
    provider: "transports/bosh",
    specs: [
      { xep: 206, version: "1.4", status: "complete", note: "at /http-bind on the HTTP(S) listener" },
      { xep: 124, status: "complete", note: "BOSH sessions, held requests, pause, polling" },
    ],
    enabled: (c) => c.bosh.enabled && httpOn(c),
    switch: "bosh.enabled",
  },
  {
    provider: "web/host-meta",
    specs: [
      {
        xep: 156,
        version: "1.4.0",
        status: "complete",
        note: "HTTP lookup (host-meta XRD and JRD); the DNS TXT method is not used",
      },
    ],
    enabled: (c) => httpOn(c) && (c.websocket.enabled || c.bosh.enabled),
    switch: "websocket.enabled / bosh.enabled",
  },
  {
    provider: "transports/component",
    specs: [
      {
        xep: 114,
        version: "1.6",
        status: "complete",
        note: "jabber:component:accept; opened when `components` lists one",
      },
    ],
    enabled: (c) => c.listeners.component.enabled,
    switch: "listeners.component.enabled",
  },
  {
    provider: "transports/s2s",
    specs: [
      { xep: 220, status: "complete", note: "server dialback, when certificates do not authenticate the peer" },
      { xep: 185, status: "complete", note: "dialback key generation" },
      { xep: 178, status: "complete", note: "SASL EXTERNAL with PKIX certificates" },
      { xep: 288, status: "planned", note: "bidirectional s2s streams are not offered" },
    ],
    enabled: (c) => c.s2s.enabled,
    switch: "s2s.enabled",
  },
  {
    provider: "cli/migration",
    specs: [{ xep: 227, status: "complete", note: "natter export / natter import" }],
    enabled: () => true,
  },
];
