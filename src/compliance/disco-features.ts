// The XEP-0030 features each declared specification puts in disco#info, by the entity that answers: the server's
// own JID (host), an account's bare JID (account) or a service domain a module serves (service: conference.,
// upload. …). Read by the disco test: the server advertises exactly the features of the specs its enabled
// modules and core declare, no more and, for the unconditional ones, no less.
import * as ns from "../core/xml/ns.js";
import { PEP_FEATURES } from "../modules/pep/index.js";
import { PUBSUB_SERVICE_FEATURES } from "../modules/pubsub/index.js";
import type { SpecId } from "./xep-0479.js";

export type DiscoEntity = "host" | "account" | "service";

export interface DiscoFeature {
  feature: string;
  /** The spec whose declaration accounts for it; absent for a Natter extension (then `by` names its module). */
  spec?: SpecId;
  on: readonly DiscoEntity[];
  /** Only this module's declaration of the spec brings the feature (XEP-0359 ids: mam on the host, muc on rooms). */
  by?: string;
  /** Advertised only in some configurations or states (why), so its absence is no fault. */
  conditional?: string;
}

const HA: DiscoEntity[] = ["host", "account"];
const x = (xep: number): SpecId => ({ xep });

export const DISCO_FEATURES: readonly DiscoFeature[] = [
  { feature: ns.NS_DISCO_INFO, spec: x(30), on: ["host", "account", "service"] },
  { feature: ns.NS_DISCO_ITEMS, spec: x(30), on: ["host", "account", "service"] },
  { feature: ns.NS_LAST, spec: x(12), on: HA },
  { feature: ns.NS_PRIVACY, spec: x(16), on: HA },
  { feature: ns.NS_PRIVATE, spec: x(49), on: ["account"] },
  { feature: ns.NS_COMMANDS, spec: x(50), on: ["host"] },
  { feature: ns.NS_VCARD, spec: x(54), on: HA },
  { feature: ns.NS_SEARCH, spec: x(55), on: ["service"] },
  { feature: ns.NS_NATTER_USER_DIRECTORY, by: "user-directory", on: ["service"] },
  { feature: ns.NS_QUARANTINE, by: "anti-spam", on: ["account"] },
  { feature: ns.NS_BYTESTREAMS, spec: x(65), on: ["service"] },
  { feature: ns.NS_REGISTER, spec: x(77), on: HA },
  { feature: ns.NS_VERSION, spec: x(92), on: ["host", "service"] },
  { feature: ns.NS_MSGOFFLINE, spec: x(160), on: ["host"] },
  { feature: ns.NS_BLOCKING, spec: x(191), on: HA },
  { feature: ns.NS_REPORTING, spec: x(377), on: ["host"] },
  { feature: ns.NS_PING, spec: x(199), on: ["host", "service"] },
  { feature: ns.NS_TIME, spec: x(202), on: ["host", "service"] },
  {
    feature: ns.NS_EXTDISCO,
    spec: x(215),
    on: ["host"],
    conditional: "XEP-0215 §5: only when external-services lists services",
  },
  { feature: ns.NS_CARBONS, spec: x(280), on: HA },
  { feature: ns.NS_ROSTER, spec: { rfc: 6121 }, on: ["account"] },
  { feature: "urn:ietf:params:xml:ns:vcard-4.0", spec: x(292), on: ["account"] },
  { feature: ns.NS_MAM, spec: x(313), on: ["account"], by: "mam" },
  { feature: ns.NS_MAM_EXTENDED, spec: x(313), on: ["account"], by: "mam" },
  { feature: ns.NS_MAM, spec: x(313), on: ["service"], by: "muc", conditional: "on rooms with logging on" },
  { feature: ns.NS_PUSH, spec: x(357), on: ["account"] },
  { feature: ns.NS_SID, spec: x(359), on: HA, by: "mam" },
  { feature: ns.NS_HTTP_UPLOAD, spec: x(363), on: ["service"] },
  { feature: ns.NS_PEP_VCARD_CONVERSION, spec: x(398), on: ["account"], by: "avatar-conversion" },
  { feature: ns.NS_BOOKMARKS_COMPAT, spec: x(402), on: ["account"] },
  { feature: ns.NS_BOOKMARKS_COMPAT_PEP, spec: x(402), on: ["account"] },
  { feature: ns.NS_PUBSUB, spec: x(60), on: ["account"] },
  { feature: ns.NS_PUBSUB_PUBLISH_OPTIONS, spec: x(223), on: ["account"] },
  // XEP-0060 §10 features, the lists the modules advertise (publish-options is XEP-0223's, above).
  ...PEP_FEATURES.filter((f) => f !== ns.NS_PUBSUB_PUBLISH_OPTIONS).map(
    (feature): DiscoFeature => ({ feature, spec: x(60), on: ["account"] }),
  ),
  { feature: ns.NS_PUBSUB_OWNER, spec: x(60), on: ["account"] },
  // The pubsub module's service domain (XEP-0060 §5.1), off by default.
  { feature: ns.NS_PUBSUB, spec: x(60), on: ["service"], by: "pubsub" },
  { feature: ns.NS_PUBSUB_OWNER, spec: x(60), on: ["service"], by: "pubsub" },
  ...PUBSUB_SERVICE_FEATURES.map((feature): DiscoFeature => ({ feature, spec: x(60), on: ["service"], by: "pubsub" })),
  { feature: ns.NS_MUC, spec: x(45), on: ["service"] },
  // XEP-0045 §7.4 / XEP-0359: the service keeps the id of a message it reflects.
  { feature: ns.NS_MUC_STABLE_ID, spec: x(45), on: ["service"], by: "muc" },
  { feature: ns.NS_MUC_SELF_PING, spec: x(410), on: ["service"] },
  { feature: ns.NS_OCCUPANT_ID, spec: x(421), on: ["service"] },
];

export interface DeclaredSpec {
  spec: SpecId & { status: string };
  provider: string;
  enabled: boolean;
}

/**
 * What `entity`'s disco#info may list (`allowed`) and must list (`required`) given these declarations: a feature
 * belongs to an enabled declaration of its spec (by its module when the table says so), never to a `planned` one.
 */
export function expectedDiscoFeatures(
  declarations: readonly DeclaredSpec[],
  entity: DiscoEntity,
  table: readonly DiscoFeature[] = DISCO_FEATURES,
  /** Modules enabled, for Natter extensions of a module that declares no spec (anti-spam's quarantine). */
  enabledModules: ReadonlySet<string> = new Set(declarations.filter((d) => d.enabled).map((d) => d.provider)),
): { allowed: Set<string>; required: Set<string> } {
  const allowed = new Set<string>();
  const required = new Set<string>();
  for (const f of table) {
    if (!f.on.includes(entity)) continue;
    const spec = f.spec;
    const declared =
      (spec === undefined && f.by !== undefined && enabledModules.has(f.by)) ||
      declarations.some(
        (d) =>
          d.enabled &&
          d.spec.status !== "planned" &&
          (f.by === undefined || d.provider === f.by) &&
          (spec === undefined
            ? d.provider === f.by
            : (spec.xep !== undefined && spec.xep === d.spec.xep) ||
              (spec.rfc !== undefined && spec.rfc === d.spec.rfc)),
      );
    if (!declared) continue;
    allowed.add(f.feature);
    if (f.conditional === undefined) required.add(f.feature);
  }
  return { allowed, required };
}
