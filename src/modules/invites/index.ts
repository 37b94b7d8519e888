// XEP-0401 Easy User Onboarding, XEP-0379 Pre-Authenticated Roster Subscription and XEP-0445 Pre-Authenticated
// In-Band Registration: invitation tokens (invite-store.ts), made by admins (CLI, admin API, ad-hoc) and, where
// allowed, by users (ad-hoc); redeemed in-band (a grant on the stream that the register module honours even
// with registration closed) or on the web page /invite/<token>.
import { z } from "zod";
import { AdminError, type InvitationSummary } from "../../admin/types.js";
import { StanzaError } from "../../core/errors.js";
import { enforceLocalpart, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { REGISTRATION_GRANT, type RegistrationGrant } from "../../core/registration-grant.js";
import { Element } from "../../core/xml/element.js";
import { NS_INVITE, NS_PARS, NS_REGISTER } from "../../core/xml/ns.js";
import { inviteCommands } from "./commands.js";
import { inviteHttpHandler } from "./invite-http.js";
import { type Invite, InviteLimitError, InviteStore, invitePathPrefix, inviteUri } from "./invite-store.js";
import { iqReplyTo } from "./preauth-reply.js";
import { makeRedeemer } from "./redeem.js";
import { rosterPreauthHandler } from "./roster-preauth.js";
import { defineSessionState } from "../../core/session-state.js";

const options = z
  .object({
    /** Seconds an invitation stays valid (default 7 days). */
    default_ttl: z
      .number()
      .int()
      .min(60)
      .max(366 * 86400)
      .default(7 * 86400),
    /** Ordinary users may invite contacts with the urn:xmpp:invite#invite command (each invite can create one account). */
    allow_user_invites: z.boolean().default(false),
    /** Outstanding invitations one user may hold. */
    max_per_user: z.number().int().min(1).max(10_000).default(10),
    /** Outstanding invitations on the host, all inviters together. */
    max_total: z.number().int().min(1).max(1_000_000).default(1000),
    /** Shortest password the invitation page accepts; keep it equal to modules.register.min_password_length. */
    min_password_length: z.number().int().min(1).max(1024).default(8),
    /** Account-creation attempts (form posts) one address may make on the invitation page within `window` seconds. */
    page_rate_limit: z
      .object({ attempts: z.number().int().min(1).default(10), window: z.number().min(1).default(600) })
      .strict()
      .prefault({}),
    /** Failed <preauth/> tokens one stream may send before the next ones are refused without a look-up. */
    max_token_failures: z.number().int().min(1).max(100).default(3),
    /** Link the "account created" page shows to the web client ("" = none). A path is taken from the public URL. */
    web_client_url: z.string().default("/chat"),
    /** Seconds between purges of expired invitations. */
    purge_interval: z.number().int().min(10).default(3600),
  })
  .strict();

const FAILURES = defineSessionState<number>("invites.preauth-failures", { shared: false });

export default defineModule({
  name: "invites",
  specs: [
    { xep: 401, version: "0.5.0", status: "complete", note: "#invite and #create-account commands, landing page" },
    {
      xep: 379,
      version: "0.3.3",
      status: "complete",
      note: "server side: on account creation from an invite, and a subscription request carrying the token",
    },
    { xep: 445, version: "0.2.0", status: "complete" },
  ],
  depends: ["roster", "register"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const store = new InviteStore(ctx.store("invites", "map"));
    const redeem = makeRedeemer(ctx, store);
    const limits = () => ({ maxTotal: ctx.options.max_total, maxPerUser: ctx.options.max_per_user });
    const publicUrl = () => ctx.publicUrl;
    const prefix = invitePathPrefix(host, [...ctx.hosts][0]);
    const summary = (i: Invite): InvitationSummary => ({
      token: i.token,
      link: `${publicUrl()}${prefix}/${i.token}`,
      uri: inviteUri(i, host),
      inviter: i.inviter,
      ...(i.username !== undefined ? { username: i.username } : {}),
      usesLeft: i.usesLeft,
      created: i.created,
      expires: i.expires,
    });

    for (const [node, def] of Object.entries(
      inviteCommands({
        host,
        pageBase: () => `${publicUrl()}${prefix}`,
        isAdmin: (jid) => ctx.admins.has(jid.bareString()),
        userInvitesAllowed: () => ctx.options.allow_user_invites,
        create: async (spec) => {
          const invite = await store.create({ ...spec, ttlSeconds: ctx.options.default_ttl }, limits());
          ctx.log.info(
            {
              inviter: spec.inviter,
              kind: spec.kind,
              username: spec.username,
              expires: new Date(invite.expires).toISOString(),
            },
            "invitation created",
          );
          return invite;
        },
      }),
    ))
      ctx.command(node, def);

    ctx.provideAdmin({
      kind: "invitations",
      invitations: {
        host,
        create: async (spec) => {
          let contact: string | undefined;
          if (spec.contact !== undefined) {
            const jid = tryParseJid(spec.contact);
            if (!jid || jid.local === "" || jid.resource !== "" || jid.domain !== host)
              throw new AdminError("bad-request", `contact: expected an account of ${host}`);
            contact = jid.toString();
          }
          let username: string | undefined;
          if (spec.username !== undefined) {
            try {
              username = enforceLocalpart(spec.username);
            } catch {
              throw new AdminError("bad-request", "username: not an allowed username");
            }
          }
          try {
            const invite = await store.create(
              {
                kind: "account",
                inviter: contact ?? "admin",
                ...(username !== undefined ? { username } : {}),
                subscribe: contact !== undefined,
                ttlSeconds: spec.ttl ?? ctx.options.default_ttl,
                ...(spec.uses !== undefined ? { uses: spec.uses } : {}),
              },
              { maxTotal: ctx.options.max_total, maxPerUser: Number.MAX_SAFE_INTEGER },
            );
            ctx.log.info({ inviter: invite.inviter, username, via: "admin" }, "invitation created");
            return summary(invite);
          } catch (err) {
            if (err instanceof InviteLimitError) throw new AdminError("conflict", err.message);
            throw err;
          }
        },
        list: async () => (await store.all()).map(summary),
        revoke: async (token) => {
          const found = await store.revoke(token);
          if (found) ctx.log.info({ via: "admin" }, "invitation revoked");
          return found;
        },
      },
    });

    // XEP-0445 §3: the stream feature announcing token registration.
    // Not where accounts live in a directory (LDAP, a program): no account can be created here.
    ctx.hookFold("stream.preauth-features", ({ stream }) =>
      stream.host === host && ctx.accounts.credentialKind(host) === "scram"
        ? new Element("register", NS_INVITE)
        : undefined,
    );

    /** Checks a token; on success the stream may register once through it (the register module reads the grant). */
    async function grantFor(
      stream: Parameters<Parameters<typeof ctx.hookFirst<"stream.preauth-iq">>[1]>[0]["stream"],
      token: string,
    ): Promise<boolean> {
      const failures = stream.state.get(FAILURES) ?? 0;
      if (failures >= ctx.options.max_token_failures) return false;
      if (!(await store.valid(token))) {
        stream.state.set(FAILURES, failures + 1);
        ctx.log.info({ ip: stream.remoteAddress }, "invalid invitation token presented in-band");
        return false;
      }
      const grant: RegistrationGrant = {
        redeem: async (username, create) => {
          await redeem(token, username, create);
          stream.state.delete(REGISTRATION_GRANT);
        },
      };
      stream.state.set(REGISTRATION_GRANT, grant);
      return true;
    }

    // Priority above the register module: a <preauth/> inside the registration query is checked first.
    ctx.hookFirst(
      "stream.preauth-iq",
      async ({ stream, stanza }) => {
        if (stream.host !== host) return;
        if (stanza.attrs.to !== undefined && tryParseJid(stanza.attrs.to)?.toString() !== host) return;
        const children = stanza.elements();
        const child = children[0];
        if (children.length !== 1 || !child) return;
        // XEP-0401 §5 / XEP-0445 §3: <iq type='set'><preauth xmlns='urn:xmpp:pars:0' token='…'/></iq>.
        if (child.name === "preauth" && child.ns === NS_PARS && stanza.attrs.type === "set") {
          const ok = await grantFor(stream, child.attrs.token ?? "");
          // §3: an invalid token → item-not-found.
          stream.send(
            iqReplyTo(stanza, host, ok ? undefined : new StanzaError("item-not-found", "the invitation is not valid")),
          );
          return "handled";
        }
        // The token as a child of the registration itself.
        const inner =
          child.name === "query" && child.ns === NS_REGISTER ? child.getChild("preauth", NS_PARS) : undefined;
        if (inner && stanza.attrs.type === "set") await grantFor(stream, inner.attrs.token ?? "");
        return undefined;
      },
      { priority: 10 },
    );

    // XEP-0379 §4: an existing account's subscription request with the token; before the roster module sees it.
    ctx.hookFirst("presence.inbound", rosterPreauthHandler(ctx, store), { priority: 10 });

    const handler = inviteHttpHandler(ctx, store, redeem, {
      minPasswordLength: () => ctx.options.min_password_length,
      webClientUrl: () => {
        const url = ctx.options.web_client_url;
        if (url === "") return undefined;
        return url.startsWith("/") ? `${publicUrl()}${url}` : url;
      },
      rateLimit: ctx.options.page_rate_limit,
    });
    ctx.http(prefix, handler);

    // An account's invitations go with it: a new account of the same name must not inherit its contacts-to-be.
    ctx.hook("account.deleted", async ({ host: h, user }) => {
      if (h !== host) return;
      const n = await store.revokeBy(`${user}@${host}`);
      if (n > 0) ctx.log.info({ inviter: `${user}@${host}`, revoked: n }, "invitations of a deleted account revoked");
    });

    ctx.timer(ctx.options.purge_interval * 1000, async () => {
      const n = await store.purge();
      if (n > 0) ctx.log.info({ purged: n }, "expired invitations purged");
    });
  },
});
