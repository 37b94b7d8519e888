// GET/POST /invite/<token>: the landing page and its account form (XEP-0401 §5). The form is protected against
// cross-site posting by a double-submit token (a SameSite=Strict cookie that must match the hidden field);
// POSTs are rate-limited per address (IPv6 per /64); every bad token gets the same 404 page.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FailureCounter } from "../../auth/failure-counter.js";
import { ipKey } from "../../auth/login-throttle.js";
import { checkNewPassword } from "../../auth/new-password.js";
import { AccountExistsError } from "../../auth/types.js";
import { StanzaError } from "../../core/errors.js";
import { enforceLocalpart } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import { type HttpHandler, readBody } from "../../web/http-routes.js";
import { createdPage, INVITE_PAGE_CSP, invalidPage, invitePage, tooManyPage } from "./invite-page.js";
import { type InviteStore, inviteUri } from "./invite-store.js";
import type { Redeem } from "./redeem.js";

export interface InvitePageOptions {
  minPasswordLength(): number;
  webClientUrl(): string | undefined;
  rateLimit: { attempts: number; window: number };
}

const COOKIE = "natter_invite_csrf";

export function inviteHttpHandler(
  ctx: ModuleContext<unknown>,
  store: InviteStore,
  redeem: Redeem,
  opts: InvitePageOptions,
): HttpHandler {
  const attempts = new FailureCounter(opts.rateLimit.attempts, opts.rateLimit.window, 100_000);

  function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": INVITE_PAGE_CSP,
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      ...headers,
    });
    res.end(html);
  }

  return async (req: IncomingMessage, res: ServerResponse, info) => {
    // Tokens are base64url: no percent-encoding to undo; anything else is simply not a token.
    const token = info.path.replace(/^\//, "").replace(/\/$/, "");
    const ip = ipKey(req.socket.remoteAddress ?? "");
    if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "POST") {
      res.writeHead(405, { Allow: "GET, HEAD, POST" }).end();
      return;
    }
    const invite = await store.valid(token);
    if (!invite) {
      ctx.log.debug({ ip }, "invitation page: invalid token");
      send(res, 404, invalidPage());
      return;
    }
    const uri = inviteUri(invite, ctx.host);
    const view = { host: ctx.host, invite, uri, minPasswordLength: opts.minPasswordLength() };
    if (req.method !== "POST") {
      const csrf = randomBytes(18).toString("base64url");
      const cookie = `${COOKIE}=${csrf}; Path=/invite/; HttpOnly; SameSite=Strict${info.secure ? "; Secure" : ""}`;
      send(res, 200, invitePage({ ...view, csrf }), { "Set-Cookie": cookie });
      return;
    }
    const now = Date.now();
    if (attempts.retryAfterMs(ip, now, opts.rateLimit.attempts) > 0) {
      ctx.log.info({ ip }, "invitation page: too many attempts from this address");
      send(res, 429, tooManyPage(), { "Retry-After": String(opts.rateLimit.window) });
      return;
    }
    attempts.record(ip, now);
    const form = new URLSearchParams((await readBody(req, 16 * 1024)).toString("utf8"));
    const csrf = form.get("csrf") ?? "";
    const cookie = /(?:^|;\s*)natter_invite_csrf=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? "")?.[1] ?? "";
    const again = (error: string, status = 400) =>
      send(res, status, invitePage({ ...view, csrf, error, username: form.get("username") ?? "" }));
    if (csrf === "" || !sameText(csrf, cookie)) {
      ctx.log.info({ ip }, "invitation page: form post without a matching CSRF token");
      send(res, 403, invalidPage());
      return;
    }
    let username: string;
    try {
      username = enforceLocalpart(invite.username ?? form.get("username") ?? ""); // RFC 7622 §3.3
    } catch {
      return again("That username is not allowed: use letters, digits and simple punctuation.");
    }
    const raw = form.get("password") ?? "";
    if (raw !== (form.get("password2") ?? "")) return again("The two passwords differ.");
    // The rule of in-band registration.
    const checked = checkNewPassword(raw, opts.minPasswordLength());
    if ("refused" in checked) return again(`${checked.refused}.`);
    const { password } = checked;
    // As in-band registration: admin rights come from the config by name; such names are the operator's to create.
    if (ctx.admins.has(`${username}@${ctx.host}`)) return again("That username is taken.", 409);
    try {
      await redeem(token, username, () => ctx.accounts.createUser(ctx.host, username, password));
    } catch (err) {
      if (err instanceof AccountExistsError) return again("That username is taken.", 409);
      if (err instanceof StanzaError) {
        if (err.condition === "not-authorized") return send(res, 404, invalidPage());
        return again(err.text ?? "That did not work.", err.condition === "conflict" ? 409 : 400);
      }
      throw err;
    }
    ctx.log.info({ user: `${username}@${ctx.host}`, ip }, "account created on the invitation page");
    await ctx.notify("account.created", { host: ctx.host, user: username }); // new for anti-spam's first hours
    send(res, 200, createdPage(`${username}@${ctx.host}`, opts.webClientUrl()), {
      "Set-Cookie": `${COOKIE}=; Path=/invite/; Max-Age=0; HttpOnly; SameSite=Strict`,
    });
  };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
