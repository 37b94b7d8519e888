// A room's configuration and its muc#roomconfig form (XEP-0045 §10.2, field registry §15.5.3), plus the
// muc#roominfo form of disco#info (§6.4, §15.5.4).
import { StanzaError } from "../../core/errors.js";
import type { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_MUC_ROOMCONFIG, NS_MUC_ROOMINFO } from "../../core/xml/ns.js";
import { buildForm, type FieldSpec, parseBoolean, readForm } from "./data-form.js";
import type { MucOptions } from "./options.js";

export type PmPolicy = "anyone" | "participants" | "moderators" | "none";
const PM_POLICIES: readonly PmPolicy[] = ["anyone", "participants", "moderators", "none"];

export interface RoomConfig {
  name: string;
  description: string;
  persistent: boolean;
  public: boolean;
  membersOnly: boolean;
  /** "" when the room is not password-protected. */
  password: string;
  moderated: boolean;
  whois: "moderators" | "anyone";
  maxUsers: number;
  allowInvites: boolean;
  allowPm: PmPolicy;
  changeSubject: boolean;
  logging: boolean;
  historyLength: number;
}

export function defaultConfig(options: MucOptions): RoomConfig {
  const d = options.room_defaults;
  return {
    name: "",
    description: "",
    persistent: d.persistent,
    public: d.public,
    membersOnly: d.members_only,
    password: "",
    moderated: d.moderated,
    whois: d.whois,
    maxUsers: options.max_occupants,
    allowInvites: d.allow_invites,
    allowPm: d.allow_private_messages,
    changeSubject: d.change_subject,
    logging: d.logging,
    historyLength: Math.min(options.history_length, maxHistoryFetch(options)),
  };
}

/** The most history one join may get (max_history_fetch): a join is one archive read and that many stanzas out. */
export function maxHistoryFetch(options: MucOptions): number {
  return options.max_history_fetch;
}

/** A stored configuration, completed with defaults for fields it lacks (older data). */
export function configFromJson(value: unknown, options: MucOptions): RoomConfig {
  const base = defaultConfig(options);
  if (value === null || typeof value !== "object") return base;
  const v = value as Record<string, unknown>;
  const out = { ...base };
  for (const key of Object.keys(base) as (keyof RoomConfig)[]) {
    if (typeof v[key] === typeof base[key]) (out as Record<string, unknown>)[key] = v[key];
  }
  if (!PM_POLICIES.includes(out.allowPm)) out.allowPm = base.allowPm;
  if (out.whois !== "anyone") out.whois = "moderators";
  return out;
}

const MAX_USER_CHOICES = [10, 20, 30, 50, 100, 200, 500, 1000];

/** The configuration form an owner gets (§10.2 Example 164), filled with the current values. */
export function configForm(c: RoomConfig, options: MucOptions): Element {
  const b = (v: boolean) => [v ? "1" : "0"];
  const fields: FieldSpec[] = [
    { var: "muc#roomconfig_roomname", type: "text-single", label: "Natural-Language Room Name", values: [c.name] },
    { var: "muc#roomconfig_roomdesc", type: "text-single", label: "Short Description of Room", values: [c.description] },
    { var: "muc#roomconfig_persistentroom", type: "boolean", label: "Make Room Persistent?", values: b(c.persistent) },
    { var: "muc#roomconfig_publicroom", type: "boolean", label: "Make Room Publicly Searchable?", values: b(c.public) },
    { var: "muc#roomconfig_membersonly", type: "boolean", label: "Make Room Members-Only?", values: b(c.membersOnly) },
    { var: "muc#roomconfig_passwordprotectedroom", type: "boolean", label: "Password Required to Enter?", values: b(c.password !== "") },
    { var: "muc#roomconfig_roomsecret", type: "text-private", label: "Password", values: [c.password] },
    { var: "muc#roomconfig_moderatedroom", type: "boolean", label: "Make Room Moderated?", values: b(c.moderated) },
    { var: "muc#roomconfig_whois", type: "list-single", label: "Who May Discover Real JIDs?", values: [c.whois], options: ["moderators", "anyone"] },
    {
      var: "muc#roomconfig_maxusers",
      type: "list-single",
      label: "Maximum Number of Occupants",
      values: [String(c.maxUsers)],
      options: [...new Set([...MAX_USER_CHOICES.filter((n) => n < options.max_occupants), options.max_occupants])].map(String),
    },
    { var: "muc#roomconfig_allowinvites", type: "boolean", label: "Allow Occupants to Invite Others?", values: b(c.allowInvites) },
    { var: "muc#roomconfig_allowpm", type: "list-single", label: "Who May Send Private Messages?", values: [c.allowPm], options: [...PM_POLICIES] },
    { var: "muc#roomconfig_changesubject", type: "boolean", label: "Allow Occupants to Change Subject?", values: b(c.changeSubject) },
    { var: "muc#roomconfig_enablelogging", type: "boolean", label: "Enable Archiving?", values: b(c.logging) },
    { var: "muc#maxhistoryfetch", type: "text-single", label: "Messages Sent on Join", values: [String(c.historyLength)] },
  ];
  return buildForm("form", NS_MUC_ROOMCONFIG, fields, "Room configuration");
}

const bad = (field: string) => new StanzaError("not-acceptable", `invalid value for ${field}`);

/**
 * Applies a submitted muc#roomconfig form (§10.2) to a configuration. Fields not in the form keep their
 * value; a value the room cannot take gets not-acceptable (§10.2: the service "MUST" refuse an invalid form).
 */
export function applyConfigForm(x: Element, current: RoomConfig, options: MucOptions): RoomConfig {
  if (x.ns !== NS_DATA_FORMS || x.attrs.type !== "submit") throw new StanzaError("bad-request", "expected a submitted data form");
  const form = readForm(x);
  const formType = form.get("FORM_TYPE")?.[0];
  if (formType !== undefined && formType !== NS_MUC_ROOMCONFIG) throw new StanzaError("bad-request", "wrong FORM_TYPE");
  const c = { ...current };
  const one = (name: string) => form.get(name)?.[0];
  const bool = (name: string, set: (v: boolean) => void) => {
    if (!form.has(name)) return;
    const v = parseBoolean(one(name));
    if (v === undefined) throw bad(name);
    set(v);
  };
  // Name, description and password are stored with the room and sent in disco and invitations: bounded.
  const text = (name: string, max: number) => {
    const v = one(name) ?? "";
    if ([...v].length > max) throw new StanzaError("not-acceptable", `${name} is at most ${max} characters`);
    return v;
  };
  if (form.has("muc#roomconfig_roomname")) c.name = text("muc#roomconfig_roomname", options.max_room_name_length);
  if (form.has("muc#roomconfig_roomdesc")) c.description = text("muc#roomconfig_roomdesc", options.max_room_description_length);
  bool("muc#roomconfig_persistentroom", (v) => (c.persistent = v));
  bool("muc#roomconfig_publicroom", (v) => (c.public = v));
  bool("muc#roomconfig_membersonly", (v) => (c.membersOnly = v));
  bool("muc#roomconfig_moderatedroom", (v) => (c.moderated = v));
  bool("muc#roomconfig_allowinvites", (v) => (c.allowInvites = v));
  bool("muc#roomconfig_changesubject", (v) => (c.changeSubject = v));
  bool("muc#roomconfig_enablelogging", (v) => (c.logging = v));
  let passwordProtected = c.password !== "";
  bool("muc#roomconfig_passwordprotectedroom", (v) => (passwordProtected = v));
  if (form.has("muc#roomconfig_roomsecret")) c.password = text("muc#roomconfig_roomsecret", options.max_password_length);
  if (!passwordProtected) c.password = "";
  else if (c.password === "") throw new StanzaError("not-acceptable", "a password-protected room needs a password");
  if (form.has("muc#roomconfig_whois")) {
    const v = one("muc#roomconfig_whois");
    if (v !== "moderators" && v !== "anyone") throw bad("muc#roomconfig_whois");
    c.whois = v;
  }
  if (form.has("muc#roomconfig_allowpm")) {
    const v = one("muc#roomconfig_allowpm") as PmPolicy;
    // Older clients send a boolean here.
    const mapped = v === ("1" as PmPolicy) || v === ("true" as PmPolicy) ? "anyone" : v === ("0" as PmPolicy) || v === ("false" as PmPolicy) ? "none" : v;
    if (!PM_POLICIES.includes(mapped)) throw bad("muc#roomconfig_allowpm");
    c.allowPm = mapped;
  }
  if (form.has("muc#roomconfig_maxusers")) {
    const v = one("muc#roomconfig_maxusers") ?? "";
    const n = v === "" || v === "none" ? options.max_occupants : Number(v);
    if (!Number.isInteger(n) || n < 1 || n > options.max_occupants) throw bad("muc#roomconfig_maxusers");
    c.maxUsers = n;
  }
  if (form.has("muc#maxhistoryfetch") || form.has("muc#roomconfig_historylength")) {
    const v = one("muc#maxhistoryfetch") ?? one("muc#roomconfig_historylength") ?? "";
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > maxHistoryFetch(options)) throw bad("muc#maxhistoryfetch");
    c.historyLength = n;
  }
  return c;
}

/** XEP-0045 §6.4 disco#info features that describe a room's configuration. */
export function configFeatures(c: RoomConfig): string[] {
  return [
    c.public ? "muc_public" : "muc_hidden",
    c.persistent ? "muc_persistent" : "muc_temporary",
    c.membersOnly ? "muc_membersonly" : "muc_open",
    c.moderated ? "muc_moderated" : "muc_unmoderated",
    c.whois === "anyone" ? "muc_nonanonymous" : "muc_semianonymous",
    c.password !== "" ? "muc_passwordprotected" : "muc_unsecured",
  ];
}

/** The muc#roominfo extended disco form (XEP-0045 §6.4 Example 10, XEP-0128). */
export function roomInfoForm(c: RoomConfig, occupants: number, subject: string): Element {
  return buildForm("result", NS_MUC_ROOMINFO, [
    { var: "muc#roominfo_description", label: "Description", values: [c.description] },
    { var: "muc#roominfo_occupants", label: "Number of occupants", values: [String(occupants)] },
    { var: "muc#roominfo_subject", label: "Current Subject", values: [subject] },
    { var: "muc#roominfo_changesubject", label: "Occupants May Change the Subject", values: [c.changeSubject ? "1" : "0"] },
    { var: "muc#roomconfig_roomname", label: "Natural-Language Room Name", values: [c.name] },
    { var: "muc#maxhistoryfetch", label: "Maximum Number of History Messages Returned by Room", values: [String(c.historyLength)] },
    { var: "muc#roomconfig_allowpm", label: "Who May Send Private Messages", values: [c.allowPm] },
    { var: "muc#roomconfig_whois", label: "Who May Discover Real JIDs", values: [c.whois] },
  ]);
}
