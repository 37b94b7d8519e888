// XEP-0077 In-Band Registration with the home server: registration before authentication (§3.1, off unless
// `allow_registration`, as XEP-0479 asks of public servers), password change (§3.3) and account cancellation
// (§3.2) once authenticated.
import { z } from "zod";
import { FailureCounter } from "../../auth/failure-counter.js";
import { ipKey } from "../../auth/login-throttle.js";
import { checkNewPassword } from "../../auth/new-password.js";
import { AccountBackendUnavailableError, AccountExistsError, AccountsManagedElsewhereError } from "../../auth/types.js";
import { StanzaError } from "../../core/errors.js";
import type { PreAuthStream } from "../../core/hooks.js";
import type { IqRequest } from "../../core/iq-dispatch.js";
import { enforceLocalpart, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { PrecisError } from "../../core/precis.js";
import { registrationGrant } from "../../core/registration-grant.js";
import type { Session } from "../../core/session.js";
import { defineSessionState } from "../../core/session-state.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_REGISTER, NS_REGISTER_FEATURE } from "../../core/xml/ns.js";
import { removeAccount } from "./account-removal.js";
import { captchaOptions, challengeForm, checkCaptcha } from "./captcha.js";
import { iqReply, parseRegisterSet, registerError, registeredForm, registrationForm } from "./codec.js";

const options = z
  .object({
    /** Lets anyone create an account before logging in. XEP-0479 §2.4: a public server should not allow this unattended. */
    allow_registration: z.boolean().default(false),
    /** XEP-0077 §9: registration and password changes only over TLS. */
    require_encryption: z.boolean().default(true),
    /** Shortest password accepted, in characters, for new accounts and password changes. */
    min_password_length: z.number().int().min(1).max(1024).default(8),
    allow_password_change: z.boolean().default(true),
    /** XEP-0077 §3.2: users may delete their own account. */
    allow_cancel: z.boolean().default(true),
    instructions: z.string().min(1).default("Choose a username and password for use with this service."),
    throttle: z
      .object({
        /** Accounts one address (an IPv6 /64) may create within `window` seconds; 0 = no limit. */
        per_ip: z
          .object({ attempts: z.number().int().min(0).default(3), window: z.number().min(1).default(600) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** XEP-0158 CAPTCHA for in-band registration (not asked of a client that showed an invitation). */
    captcha: captchaOptions,
  })
  .strict();

/** Per stream: an account was already created on it (XEP-0077 §3.1.1). */
const REGISTERED = defineSessionState<true>("register.done", { shared: false });

export default defineModule({
  name: "register",
  specs: [
    { xep: 77, version: "2.5", status: "partial", note: "iq:register fields only; no data forms (§4), no redirection" },
    { xep: 158, version: "1.0.1", status: "partial", note: "§4 registration only, with a question (qa) challenge" },
  ],
  options,
  setup(ctx) {
    const { host, options: opts } = ctx;
    const limit = opts.throttle.per_ip;
    // The login throttle's counter, counting accounts created (per address, IPv6 per /64) instead of failed logins.
    const created = limit.attempts > 0 ? new FailureCounter(limit.attempts, limit.window, 100_000) : undefined;

    // Passwords checked elsewhere (LDAP, an external program, HTTP: docs/authentication.md): accounts are made
    // there, so registration is neither offered nor accepted here.
    const managedElsewhere = () => ctx.accounts.credentialKind(host) === "plaintext";

    /** What the account backend's refusals mean to the client; other errors go on. */
    function backendError(err: unknown): never {
      if (err instanceof AccountsManagedElsewhereError) throw registerError("not-allowed", err.message);
      // RFC 6120 §8.3.3.6: the server cannot do it now; trying later may work.
      if (err instanceof AccountBackendUnavailableError)
        throw registerError("internal-server-error", "the account service is unavailable; try again later", "wait");
      throw err;
    }

    function checkPassword(password: string): string {
      const checked = checkNewPassword(password, opts.min_password_length);
      if ("refused" in checked) throw registerError("not-acceptable", checked.refused);
      return checked.password;
    }

    /** XEP-0077 §3.1 set before authentication: creates the account. */
    async function register(stream: PreAuthStream, query: Element): Promise<void> {
      const parsed = parseRegisterSet(query);
      // XEP-0158 §4: the answer comes in the form, with the username and password (an invitation needs none).
      const set =
        parsed.kind === "fields" && opts.captcha.enabled && !registrationGrant(stream)
          ? { kind: "fields" as const, ...checkCaptcha(stream, query) }
          : parsed;
      // §3.2 table: a remove from an entity that is not registered (no `from`) → unexpected-request.
      if (set.kind === "remove") throw registerError("unexpected-request", "log in to cancel a registration");
      // §3.1.1: a server MAY refuse a second registration before authentication with not-acceptable.
      if (stream.state.has(REGISTERED)) throw registerError("not-acceptable", "one registration per connection");
      const wait = Math.ceil(
        (created?.retryAfterMs(ipKey(stream.remoteAddress), Date.now(), limit.attempts) ?? 0) / 1000,
      );
      // §3.1.1: too many registrations → not-acceptable; type "wait", since trying later will do.
      if (wait > 0)
        throw registerError(
          "not-acceptable",
          `too many registrations from your address; try again in ${wait} s`,
          "wait",
        );
      // §3.1: missing or empty fields (<password/> included) → not-acceptable.
      if (!set.username || !set.password)
        throw registerError("not-acceptable", "a username and a password are required");
      let username: string;
      try {
        username = enforceLocalpart(set.username); // RFC 7622 §3.3, RFC 8265 §3.3
      } catch {
        throw registerError("jid-malformed", "that username is not allowed");
      }
      // Admin rights come from the config by name (`admins`): a stranger who registers that name would hold them
      // (say, after the admin's account was deleted). Such names are the operator's to create (`natter adduser`);
      // the answer is the one for a taken name.
      if (ctx.admins.has(`${username}@${host}`)) {
        ctx.log.warn(
          { user: `${username}@${host}`, ip: ipKey(stream.remoteAddress) },
          "in-band registration of an admin name refused",
        );
        throw registerError("conflict", "that username is taken");
      }
      const password = checkPassword(set.password);
      const create = () => ctx.accounts.createUser(host, username, password);
      try {
        // XEP-0445: a stream that showed an invitation token creates the account through it (single use).
        const grant = registrationGrant(stream);
        if (grant) await grant.redeem(username, create);
        else await create();
      } catch (err) {
        if (err instanceof AccountExistsError) throw registerError("conflict", "that username is taken"); // §3.1
        if (err instanceof PrecisError)
          throw registerError("not-acceptable", "the username or password is not allowed");
        throw err;
      }
      created?.record(ipKey(stream.remoteAddress), Date.now());
      stream.state.set(REGISTERED, true);
      await ctx.notify("account.created", { host, user: username }); // new for anti-spam's first hours
      ctx.log.info({ user: `${username}@${host}`, ip: ipKey(stream.remoteAddress) }, "account registered in-band");
    }

    // §8 stream feature, only where registration could succeed.
    ctx.hookFold("stream.preauth-features", ({ stream }) =>
      stream.host === host &&
      opts.allow_registration &&
      !managedElsewhere() &&
      (stream.secure || !opts.require_encryption)
        ? new Element("register", NS_REGISTER_FEATURE)
        : undefined,
    );

    // §3.1.1: an unauthenticated entity talks to the server itself, without `to` or to the host.
    ctx.hookFirst("stream.preauth-iq", async ({ stream, stanza }) => {
      if (stream.host !== host) return;
      const type = stanza.attrs.type;
      const children = stanza.elements();
      const query = children[0];
      if (
        (type !== "get" && type !== "set") ||
        children.length !== 1 ||
        query?.name !== "query" ||
        query.ns !== NS_REGISTER
      )
        return;
      if (stanza.attrs.to !== undefined && tryParseJid(stanza.attrs.to)?.toString() !== host) return;
      let result: Element | undefined;
      let error: StanzaError | undefined;
      try {
        if (stanza.attrs.id === undefined) throw registerError("bad-request", "an iq needs an id"); // RFC 6120 §8.2.3
        // §3.1: a host that does not support in-band registration MUST answer service-unavailable.
        // XEP-0445 §3: a valid invitation token opens it for this stream.
        if (!opts.allow_registration && !registrationGrant(stream))
          throw registerError("service-unavailable", "in-band registration is disabled");
        if (managedElsewhere())
          throw registerError("service-unavailable", "accounts of this host are managed elsewhere");
        // §9 / §3.3 table: not over a channel that is not secured.
        if (!stream.secure && opts.require_encryption) throw registerError("not-authorized", "registration needs TLS");
        if (type === "get") {
          result = registrationForm(opts.instructions);
          // XEP-0158 §4: the CAPTCHA form inside the <query/>, beside the legacy fields.
          if (opts.captcha.enabled && !registrationGrant(stream))
            result.append(challengeForm(stream, opts.captcha, stanza.attrs.id));
        } else await register(stream, query);
      } catch (err) {
        if (!(err instanceof StanzaError)) throw err;
        error = err;
      }
      stream.send(iqReply(stanza, host, result, error));
      return "handled";
    });

    /** The authenticated requester's own localpart; others (another user's bare JID, remote entities) are refused. */
    function ownAccount({ from, to, session }: IqRequest): { user: string; session: Session } {
      if (from.domain !== host || session === undefined || (to.local !== "" && to.bareString() !== from.bareString()))
        throw registerError("forbidden", "only your own account");
      return { user: from.local, session };
    }

    const get = (iq: IqRequest) =>
      registeredForm(
        ownAccount(iq).user,
        "You are registered. Send a new password to change it, or <remove/> to delete your account.",
      );

    async function set(iq: IqRequest): Promise<undefined> {
      const { user, session } = ownAccount(iq);
      const request = parseRegisterSet(iq.payload);
      if (request.kind === "remove") {
        if (!request.alone) throw registerError("bad-request", "<remove/> must be the only child"); // §3.2 table
        if (!opts.allow_cancel) throw registerError("not-allowed", "accounts cannot be cancelled in-band");
        const attrs: Record<string, string> = { type: "result", to: iq.from.toString() };
        if (iq.stanza.attrs.id !== undefined) attrs.id = iq.stanza.attrs.id;
        if (iq.stanza.attrs.to !== undefined) attrs.from = iq.to.toString();
        // The account record goes first inside removeAccount: a backend that refuses leaves everything in place.
        await removeAccount(ctx, user, session, new Element("iq", NS_CLIENT, attrs)).catch(backendError);
        return undefined;
      }
      // §3.3 table: not-allowed when password changes are off, not-authorized on an insecure channel.
      if (!opts.allow_password_change) throw registerError("not-allowed", "passwords cannot be changed in-band");
      if (!session.secure && opts.require_encryption)
        throw registerError("not-authorized", "password changes need TLS");
      // §3.3 table: incomplete request → bad-request; an empty password MUST NOT replace the existing one.
      if (!request.username || !request.password)
        throw registerError("bad-request", "a username and a new password are required");
      let username: string | undefined;
      try {
        username = enforceLocalpart(request.username);
      } catch {
        username = undefined;
      }
      if (username !== user) throw registerError("forbidden", "you can only change your own password");
      await ctx.accounts.setPassword(host, user, checkPassword(request.password)).catch(backendError);
      ctx.log.info({ user: `${user}@${host}` }, "password changed in-band");
      return undefined;
    }

    // §3.2 / §3.3 (no `to`, or to the server as in §3.3 Example): for the authenticated user's own account.
    for (const target of ["account", "host"] as const) {
      ctx.iq(target, "get", NS_REGISTER, "query", get);
      ctx.iq(target, "set", NS_REGISTER, "query", set);
    }
  },
});
