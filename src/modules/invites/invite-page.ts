// The invitation landing page (XEP-0401 §5): plain HTML, no script, no external resource, every value escaped.
import type { Invite } from "./invite-store.js";

export const INVITE_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const STYLE = `body{font-family:system-ui,sans-serif;max-width:34em;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.5em}.button{display:inline-block;background:#1a5fb4;color:#fff;padding:.6em 1.2em;border-radius:.4em;text-decoration:none;border:0;font-size:1em;cursor:pointer}
label{display:block;margin:.8em 0 .2em}input[type=text],input[type=password]{width:100%;padding:.5em;font-size:1em;box-sizing:border-box}
.error{background:#fde;border:1px solid #c33;padding:.5em 1em}.box{background:#f4f4f8;padding:.5em 1em;border-radius:.4em}code{word-break:break-all}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export interface InvitePageView {
  host: string;
  invite: Invite;
  uri: string;
  csrf: string;
  minPasswordLength: number;
  error?: string;
  username?: string;
}

export function invitePage(v: InvitePageView): string {
  const who = v.invite.inviter === "admin" ? `The administrators of ${v.host}` : v.invite.inviter;
  const name = v.invite.username;
  return page(
    `Invitation to ${v.host}`,
    `<h1>You are invited to ${escapeHtml(v.host)}</h1>
<p>${escapeHtml(who)} invited you to chat on <strong>${escapeHtml(v.host)}</strong>, a Jabber/XMPP server.${v.invite.subscribe && v.invite.inviter !== "admin" ? " Once your account exists you will see each other online." : ""}</p>
<h2>With an XMPP app</h2>
<p>If an XMPP app (Conversations, Gajim, Dino, Monal, Siskin …) is installed, this opens it and lets it create your account:</p>
<p><a class="button" id="open-app" href="${escapeHtml(v.uri)}">Open in my app</a></p>
<h2>Or create your account here</h2>
${v.error ? `<p class="error" role="alert">${escapeHtml(v.error)}</p>` : ""}
<form method="post" action="">
<input type="hidden" name="csrf" value="${escapeHtml(v.csrf)}">
<label for="username">Username</label>
${
  name !== undefined
    ? `<input type="text" id="username" name="username" value="${escapeHtml(name)}" readonly>`
    : `<input type="text" id="username" name="username" required maxlength="1023" autocomplete="username" value="${escapeHtml(v.username ?? "")}">`
}
<p>Your address will be <code>${escapeHtml(name ?? "username")}@${escapeHtml(v.host)}</code>.</p>
<label for="password">Password (at least ${v.minPasswordLength} characters)</label>
<input type="password" id="password" name="password" required minlength="${v.minPasswordLength}" autocomplete="new-password">
<label for="password2">Password again</label>
<input type="password" id="password2" name="password2" required minlength="${v.minPasswordLength}" autocomplete="new-password">
<p><button class="button" type="submit" id="create">Create my account</button></p>
</form>`,
  );
}

export function createdPage(jid: string, webClientUrl: string | undefined): string {
  return page(
    "Account created",
    `<h1>Your account is ready</h1>
<p>Your address is <strong id="new-jid">${escapeHtml(jid)}</strong>.</p>
<div class="box"><p>To log in, open any XMPP app and sign in with this address and the password you chose.</p>
${webClientUrl ? `<p>Or chat in your browser: <a class="button" href="${escapeHtml(webClientUrl)}">Open the web client</a></p>` : ""}</div>`,
  );
}

/** One page for every bad token (unknown, expired, used, revoked): nothing tells a guesser which. */
export function invalidPage(): string {
  return page(
    "Invitation not valid",
    `<h1>This invitation is not valid</h1><p>It may have expired or been used already. Ask the person who invited you for a new one.</p>`,
  );
}

export function tooManyPage(): string {
  return page("Too many attempts", `<h1>Too many attempts</h1><p>Please wait a few minutes and try again.</p>`);
}
