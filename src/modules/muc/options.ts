// The muc module's options (docs/config.md "muc module"). snake_case, validated at start.
import { z } from "zod";

const roomDefaults = z
  .object({
    persistent: z.boolean().default(false),
    public: z.boolean().default(true),
    members_only: z.boolean().default(false),
    moderated: z.boolean().default(false),
    /** XEP-0045 §4.2: semi-anonymous ("moderators") or non-anonymous ("anyone"). */
    whois: z.enum(["moderators", "anyone"]).default("moderators"),
    allow_invites: z.boolean().default(false),
    allow_private_messages: z.enum(["anyone", "participants", "moderators", "none"]).default("anyone"),
    change_subject: z.boolean().default(false),
    logging: z.boolean().default(true),
  })
  .strict();

/** A token bucket's shape: `per_second` on average, `burst` at once. */
const rate = (per_second: number, burst: number) =>
  z
    .object({ per_second: z.number().positive().default(per_second), burst: z.number().int().min(1).default(burst) })
    .strict()
    .prefault({});

export const mucOptions = z
  .object({
    /** The service's domain; "conference.<host>" when not given. */
    domain: z.string().min(1).optional(),
    /** Messages sent to a joining occupant (XEP-0045 §7.2.15), unless the room sets its own. */
    history_length: z.number().int().min(0).max(1000).default(20),
    /** Messages kept in a room's archive; the oldest go first. */
    max_history: z.number().int().min(0).default(10_000),
    /** Occupants per room; rooms may set a lower muc#roomconfig_maxusers. */
    max_occupants: z.number().int().min(1).default(200),
    /** Rooms one user (bare JID) may be in at once. */
    max_rooms_per_user: z.number().int().min(1).default(100),
    /** Groupchat and private messages per occupant: `per_second` on average, `burst` at once. */
    message_rate: rate(2, 10),
    /** Joins, nick changes and presence updates per occupant; updates beyond it are coalesced, the last one wins. */
    presence_rate: rate(1, 5),
    /** Mediated invitations (XEP-0045 §7.8.2) one occupant sends in a room. */
    invite_rate: rate(0.1, 5),
    /** Mediated invitations a room sends in all, whoever asks. */
    room_invite_rate: rate(0.5, 20),
    /** Invitations a room remembers so that only their invitees may decline (§7.8.3); the oldest are forgotten. */
    max_pending_invites: z.number().int().min(0).default(200),
    /** IQ requests relayed between occupants (§7.5) awaiting their answer, per room; the oldest are forgotten. */
    max_pending_iqs: z.number().int().min(0).default(1000),
    /** Seconds between two voice requests (§7.13) of one occupant. */
    voice_request_interval: z.number().min(0).default(60),
    /** Rooms the whole service holds (persistent and temporary). */
    max_rooms: z.number().int().min(1).default(10_000),
    /** Rooms one user (bare JID) may own; a new room counts, persistent rooms count until destroyed. */
    max_owned_rooms: z.number().int().min(0).default(20),
    /** May users of other servers create rooms here? */
    remote_room_creation: z.boolean().default(true),
    /** Rooms created by users of other servers that may exist at once. */
    max_remote_rooms: z.number().int().min(0).default(50),
    /** Resources one user may join a room with under one nick (§7.2.9 multi-session nicks). */
    max_sessions_per_occupant: z.number().int().min(1).default(10),
    /** Affiliations (owners, admins, members, outcasts) one room keeps. */
    max_affiliations: z.number().int().min(1).default(1000),
    /** Largest message or presence (content characters) a room takes from an occupant and copies to all. */
    max_stanza_size: z.number().int().min(1000).default(20_000),
    /** Longest nickname, in characters. */
    max_nick_length: z.number().int().min(1).default(64),
    /** Longest subject, in characters. */
    max_subject_length: z.number().int().min(0).default(1000),
    /** Longest room name, description and password (muc#roomconfig), in characters. */
    max_room_name_length: z.number().int().min(0).default(100),
    max_room_description_length: z.number().int().min(0).default(1000),
    max_password_length: z.number().int().min(1).default(100),
    /** Rooms listed in one disco#items answer of the service (§6.3); more are paged with XEP-0059. */
    max_disco_items: z.number().int().min(1).default(100),
    /**
     * In a cluster, how long disco#items on the service waits for the other nodes' rooms (seconds), and how many
     * such questions one node has in flight at once (more are answered with this node's rooms alone).
     */
    cluster_list_timeout: z.number().min(0.05).max(30).default(2),
    cluster_list_max_pending: z.number().int().min(1).default(100),
    /** Most history messages one join may fetch (§7.2.15), whatever a room or the join asks for. */
    max_history_fetch: z.number().int().min(0).max(10_000).default(100),
    /** Who may create rooms. Admins (top-level `admins`) may always. */
    room_creation: z.enum(["anyone", "admins"]).default("anyone"),
    /** Configuration of new rooms until their owner changes it. */
    room_defaults: roomDefaults.prefault({}),
  })
  .strict();

export type MucOptions = z.infer<typeof mucOptions>;
