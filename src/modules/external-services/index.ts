// XEP-0215 External Service Discovery: the STUN/TURN servers of the config, with temporary TURN credentials
// from a secret shared with the TURN server, so that clients can place audio/video calls.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_EXTDISCO } from "../../core/xml/ns.js";
import { type ServiceConfig, defaultPort, serviceElement, turnCredentials } from "./codec.js";

const service = z
  .object({
    type: z.enum(["stun", "turn", "turns"]),
    host: z.string().min(1),
    /** Default 3478 (stun, turn) or 5349 (turns). */
    port: z.number().int().min(1).max(65535).optional(),
    /** Default udp (stun, turn) or tcp (turns). */
    transport: z.enum(["udp", "tcp"]).optional(),
    /** Credentials needed. Default: true for turn/turns when `turn_secret` is set. */
    restricted: z.boolean().optional(),
    /** A human-readable label. */
    name: z.string().min(1).optional(),
  })
  .strict();

const options = z
  .object({
    services: z.array(service).default([]),
    /** coturn's `static-auth-secret` (with `use-auth-secret`): TURN credentials are derived from it. */
    turn_secret: z.string().min(1).optional(),
    /** Lifetime of the temporary credentials, in seconds (draft-uberti-behave-turn-rest-00 recommends a day). */
    credential_ttl: z.number().int().min(60).default(86400),
  })
  .strict();

export default defineModule({
  name: "external-services",
  specs: [{ xep: 215, version: "1.0.0", status: "complete", note: "no pushes; TURN REST-API credentials" }],
  options,
  setup(ctx) {
    const { services, turn_secret: secret, credential_ttl: ttl } = ctx.options;
    // XEP-0215 §5: the feature is advertised (through the iq registrations) only when there is something to offer.
    if (services.length === 0) return;

    const isTurn = (s: ServiceConfig) => s.type === "turn" || s.type === "turns";
    const restricted = (s: ServiceConfig) => s.restricted ?? (isTurn(s) && secret !== undefined);

    // XEP-0215 §2: forbidden for whoever may not have the list: here anyone but this host's own accounts
    // (the credentials spend the TURN server's bandwidth).
    const localUser = (from: Jid): string => {
      if (from.local === "" || from.domain !== ctx.host) throw new StanzaError("forbidden", "only local accounts may use these services");
      return from.bareString();
    };

    const describe = (s: ServiceConfig, user: string): Element =>
      serviceElement(s, restricted(s), secret !== undefined && restricted(s) ? turnCredentials(secret, user, Date.now(), ttl) : undefined);

    // XEP-0215 §3.1 (all services) and §3.2 (of one type, echoed on the reply).
    ctx.iq("host", "get", NS_EXTDISCO, "services", ({ payload, from }) => {
      const user = localUser(from);
      const type = payload.attrs.type;
      const reply = new Element("services", NS_EXTDISCO, type !== undefined ? { type } : {});
      for (const s of services) if (type === undefined || s.type === type) reply.append(describe(s, user));
      return reply;
    });

    // XEP-0215 §3.3: credentials for a service named by host and type (and port when several match).
    ctx.iq("host", "get", NS_EXTDISCO, "credentials", ({ payload, from }) => {
      const user = localUser(from);
      const wanted = payload.getChild("service", NS_EXTDISCO);
      const host = wanted?.attrs.host;
      const type = wanted?.attrs.type;
      if (!wanted || !host || !type) throw new StanzaError("bad-request", "a <service/> with host and type is required");
      const port = wanted.attrs.port;
      const matches = services.filter(
        (s) => s.host === host && s.type === type && (port === undefined || String(s.port ?? defaultPort(s.type)) === port),
      );
      if (matches.length === 0) throw new StanzaError("item-not-found", "no such service");
      const reply = new Element("credentials", NS_EXTDISCO);
      for (const s of matches) reply.append(describe(s, user));
      return reply;
    });
  },
});
