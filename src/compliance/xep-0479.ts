// XEP-0479 (XMPP Compliance Suites 2023, version 0.1.0, 2023-05-04): the requirement rows of the Core, Web,
// IM, Mobile and A/V Calling suites as data, with the Server and Advanced Server columns (the client columns
// are not Natter's). The XEP names its providers without versions; the versions shown beside them are those
// Natter implements (the `specs` of its modules and src/compliance/core-features.ts).

/** What a suite's column asks of a server for one row (XEP-0479 §2: ✓, ✕ or N/A). */
export type Requirement = "required" | "not-required" | "n/a";

/** A specification as the compliance tables and declarations name it. */
export interface SpecId {
  xep?: number;
  rfc?: number;
}

export interface Provider extends SpecId {
  /**
   * Why a `partial` declaration of this provider is enough for the row: the suite requires only part of the
   * specification. Without it a provider must be declared `complete`.
   */
  partialSuffices?: string;
  /** Only this provider's declaration counts (XEP-0313 in Advanced Group Chat: the MUC service's archive). */
  via?: string;
}

export interface SuiteRow {
  feature: string;
  server: Requirement;
  advancedServer: Requirement;
  /** XEP-0479 §1: a row is supported when all of its providers are (unless `anyOf`). */
  providers: Provider[];
  /** XEP-0479 "onlyone" note: one of the providers suffices. */
  anyOf?: boolean;
  /** The XEP's own notes on the row, shortened. */
  note?: string;
}

export interface Suite {
  id: "core" | "web" | "im" | "mobile" | "av";
  title: string;
  /** XEP-0479 section. */
  section: string;
  rows: SuiteRow[];
  /** "Further specifications of note, which are not required for compliance". */
  ofNote?: SpecId[];
}

export const XEP_0479 = { number: 479, title: "XMPP Compliance Suites 2023", version: "0.1.0", date: "2023-05-04" };

const COMPONENT = "may be provided by a component or module; it must be named (XEP-0479 'component' note)";

const x = (xep: number, partialSuffices?: string): Provider =>
  partialSuffices === undefined ? { xep } : { xep, partialSuffices };
const rfc = (n: number): Provider => ({ rfc: n });

export const SUITES: readonly Suite[] = [
  {
    id: "core",
    title: "Core Compliance Suite",
    section: "§2.1",
    rows: [
      {
        feature: "Core features",
        server: "required",
        advancedServer: "required",
        providers: [rfc(6120)],
        note: "RFC 7622 is not listed (PRECIS vs. Stringprep interoperability)",
      },
      { feature: "TLS", server: "required", advancedServer: "required", providers: [rfc(7590)] },
      {
        feature: "Direct TLS",
        server: "not-required",
        advancedServer: "required",
        providers: [x(368)],
        note: "for a server: accepting direct TLS connections",
      },
      { feature: "Feature discovery", server: "required", advancedServer: "required", providers: [x(30)] },
      { feature: "Feature broadcasts", server: "not-required", advancedServer: "required", providers: [x(115)] },
      { feature: "Server Extensibility", server: "required", advancedServer: "required", providers: [x(114)] },
      {
        feature: "Event publishing",
        server: "not-required",
        advancedServer: "required",
        providers: [x(163)],
        note: "PEP need not offer all of XEP-0060 on account JIDs",
      },
    ],
  },
  {
    id: "web",
    title: "Web Compliance Suite",
    section: "§2.2",
    rows: [
      {
        feature: "Web Connection Mechanisms",
        server: "required",
        advancedServer: "required",
        providers: [rfc(7395), x(206)],
        note: `RFC 7395 and XEP-0206 (see also XEP-0124); ${COMPONENT}`,
      },
      { feature: "Connection Mechanism Discovery", server: "not-required", advancedServer: "n/a", providers: [x(156)] },
    ],
  },
  {
    id: "im",
    title: "IM Compliance Suite",
    section: "§2.3",
    rows: [
      { feature: "Core features", server: "required", advancedServer: "required", providers: [rfc(6121)] },
      { feature: "The /me Command", server: "n/a", advancedServer: "n/a", providers: [x(245)] },
      { feature: "User Avatars", server: "n/a", advancedServer: "n/a", providers: [x(84)] },
      {
        feature: "User Avatar Compatibility",
        server: "not-required",
        advancedServer: "required",
        providers: [x(398), x(153)],
      },
      { feature: "vcard-temp", server: "required", advancedServer: "required", providers: [x(54)] },
      {
        feature: "Outbound Message Synchronization",
        server: "required",
        advancedServer: "required",
        providers: [x(280)],
      },
      { feature: "User Blocking", server: "not-required", advancedServer: "required", providers: [x(191)] },
      {
        feature: "Group Chat",
        server: "required",
        advancedServer: "required",
        providers: [
          x(
            45,
            "XEP-0479 requires the Entity and Occupant use cases only; room registration (§7.10) is optional in XEP-0045 itself",
          ),
          x(249),
        ],
        note: COMPONENT,
      },
      {
        feature: "Advanced Group Chat",
        server: "not-required",
        advancedServer: "required",
        providers: [x(48), { xep: 313, via: "muc" }, x(402), x(410)],
        note: `XEP-0313 here: history from the room's own archive; ${COMPONENT}`,
      },
      {
        feature: "Persistent Storage of Private Data via PubSub",
        server: "not-required",
        advancedServer: "required",
        providers: [x(223)],
        note: COMPONENT,
      },
      {
        feature: "Private XML Storage",
        server: "not-required",
        advancedServer: "required",
        providers: [x(49)],
        note: "only recommended for legacy bookmarks",
      },
      { feature: "Stream Management", server: "not-required", advancedServer: "required", providers: [x(198)] },
      { feature: "Message Acknowledgements", server: "n/a", advancedServer: "n/a", providers: [x(184)] },
      {
        feature: "History Storage / Retrieval",
        server: "not-required",
        advancedServer: "required",
        providers: [{ xep: 313, via: "mam" }],
        note: "the user's own archive",
      },
      { feature: "Chat States", server: "n/a", advancedServer: "n/a", providers: [x(85)] },
      { feature: "Message Correction", server: "n/a", advancedServer: "n/a", providers: [x(308)] },
      { feature: "File Upload", server: "required", advancedServer: "required", providers: [x(363)], note: COMPONENT },
      { feature: "Direct File Transfer", server: "n/a", advancedServer: "n/a", providers: [x(234), x(261)] },
    ],
    ofNote: [
      { xep: 77 },
      { xep: 157 },
      { xep: 66 },
      { xep: 385 },
      { xep: 392 },
      { xep: 393 },
      { xep: 433 },
      { xep: 424 },
      { xep: 425 },
    ],
  },
  {
    id: "mobile",
    title: "Mobile Compliance Suite",
    section: "§2.4",
    rows: [
      { feature: "Stream Management", server: "required", advancedServer: "required", providers: [x(198)] },
      { feature: "Client State Indication", server: "required", advancedServer: "required", providers: [x(352)] },
      {
        feature: "Third Party Push Notifications",
        server: "not-required",
        advancedServer: "required",
        providers: [x(357)],
        note: COMPONENT,
      },
    ],
    ofNote: [{ xep: 286 }],
  },
  {
    id: "av",
    title: "A/V Calling Compliance Suite",
    section: "§2.5",
    rows: [
      { feature: "Call Setup", server: "n/a", advancedServer: "n/a", providers: [x(167), x(353)] },
      { feature: "Transport", server: "n/a", advancedServer: "n/a", providers: [x(176)] },
      { feature: "Encryption", server: "n/a", advancedServer: "n/a", providers: [x(320)] },
      {
        feature: "STUN/TURN server discovery",
        server: "required",
        advancedServer: "required",
        providers: [x(215)],
        note: "Natter answers once modules.external-services lists the STUN/TURN servers (it runs none itself)",
      },
      {
        feature: "Quality and Performance improvements",
        server: "n/a",
        advancedServer: "n/a",
        providers: [x(293), x(294), x(338), x(339)],
      },
    ],
  },
];

/** "XEP-0045", "RFC 6120". */
export function specLabel(spec: SpecId): string {
  if (spec.xep !== undefined) return `XEP-${String(spec.xep).padStart(4, "0")}`;
  return `RFC ${spec.rfc}`;
}
