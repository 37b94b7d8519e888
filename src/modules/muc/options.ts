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
    message_rate: z
      .object({ per_second: z.number().positive().default(2), burst: z.number().int().min(1).default(10) })
      .strict()
      .prefault({}),
    /** Who may create rooms. Admins (top-level `admins`) may always. */
    room_creation: z.enum(["anyone", "admins"]).default("anyone"),
    /** Configuration of new rooms until their owner changes it. */
    room_defaults: roomDefaults.prefault({}),
  })
  .strict();

export type MucOptions = z.infer<typeof mucOptions>;
