import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { csrfRefusal } from "../../admin/csrf.js";
import { ConsoleSessions, sessionCookie, sessionCookieHeader } from "./console-sessions.js";

function sessionsAt(clock: { now: number }, maxSessions = 3) {
  return new ConsoleSessions({
    idleTimeoutSeconds: 60,
    absoluteTimeoutSeconds: 300,
    maxSessions,
    now: () => clock.now,
  });
}
const cookie = (id: string) => ({ cookie: `other=1; natter_admin=${id}; x=y` });

describe("console sessions", () => {
  it("finds a session by its cookie and authenticates it with every scope and its CSRF token", async () => {
    const clock = { now: 0 };
    const sessions = sessionsAt(clock);
    const { id, session } = sessions.create("admin@example.org");
    assert.match(id, /^[A-Za-z0-9_-]{43}$/, "256 random bits, base64url");
    assert.notEqual(session.csrfToken, id);
    assert.equal(sessions.find(cookie(id))?.jid, "admin@example.org");
    const principal = await sessions.authenticate(cookie(id));
    assert.equal(principal?.name, "admin@example.org");
    assert.equal(principal?.csrfToken, session.csrfToken);
    assert.ok(principal?.scopes.has("users:write") && principal.scopes.has("server:write"));
    const other = `${id.slice(0, -1)}${id.endsWith("A") ? "B" : "A"}`; // never the same id (1 in 64 ids ends in A)
    assert.equal(await sessions.authenticate(cookie(other)), undefined, "another id");
    assert.equal(await sessions.authenticate({}), undefined, "no cookie");
  });

  it("ends a session after the idle timeout, and after the absolute timeout however busy", () => {
    const clock = { now: 0 };
    const sessions = sessionsAt(clock);
    const idle = sessions.create("a@example.org").id;
    const busy = sessions.create("b@example.org").id;
    for (clock.now = 30_000; clock.now <= 290_000; clock.now += 30_000) {
      assert.ok(sessions.find(cookie(busy)), `busy session alive at ${clock.now}`);
    }
    assert.equal(sessions.find(cookie(idle)), undefined, "idle for more than 60 s");
    clock.now = 301_000;
    assert.equal(sessions.find(cookie(busy)), undefined, "older than 300 s");
  });

  it("keeps at most max_sessions, forgetting the least recently used", () => {
    const clock = { now: 0 };
    const sessions = sessionsAt(clock, 2);
    const first = sessions.create("a@example.org").id;
    const second = sessions.create("a@example.org").id;
    sessions.find(cookie(first));
    sessions.create("a@example.org");
    assert.equal(sessions.size, 2);
    assert.ok(sessions.find(cookie(first)));
    assert.equal(sessions.find(cookie(second)), undefined);
  });

  it("ends the session of a JID no longer an admin", () => {
    const admins = new Set(["a@example.org"]);
    const sessions = new ConsoleSessions({
      idleTimeoutSeconds: 60,
      absoluteTimeoutSeconds: 300,
      maxSessions: 3,
      isAdmin: (j) => admins.has(j),
    });
    const { id } = sessions.create("a@example.org");
    assert.ok(sessions.find(cookie(id)));
    admins.delete("a@example.org");
    assert.equal(sessions.find(cookie(id)), undefined);
    admins.add("a@example.org");
    assert.equal(sessions.find(cookie(id)), undefined, "gone for good");
  });

  it("logs out", () => {
    const sessions = sessionsAt({ now: 0 });
    const { id } = sessions.create("a@example.org");
    assert.equal(sessions.end(cookie(id)), true);
    assert.equal(sessions.find(cookie(id)), undefined);
    assert.equal(sessions.end(cookie(id)), false);
  });

  it("reads only well-formed ids from the Cookie header", () => {
    const id = "A".repeat(43);
    assert.equal(sessionCookie(`natter_admin=${id}`), id);
    assert.equal(sessionCookie(["a=b", `natter_admin=${id}`]), id);
    assert.equal(sessionCookie("natter_admin=short"), undefined);
    assert.equal(sessionCookie(`xnatter_admin=${id}`), undefined);
    assert.equal(sessionCookie(`natter_admin=${id};`.replace("A", "%")), undefined);
    assert.equal(sessionCookie(undefined), undefined);
  });

  it("sets the cookie HttpOnly, SameSite=Strict, on /admin, Secure over HTTPS", () => {
    assert.equal(
      sessionCookieHeader("id", { secure: true, maxAgeSeconds: 300 }),
      "natter_admin=id; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=300; Secure",
    );
    assert.equal(
      sessionCookieHeader(undefined, { secure: false, maxAgeSeconds: 300 }),
      "natter_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
    );
  });

  it("demands the CSRF token on mutating requests of console principals only", () => {
    const console = { csrfToken: "t0ken" };
    assert.equal(csrfRefusal("GET", {}, console), undefined);
    assert.equal(csrfRefusal("HEAD", {}, console), undefined);
    assert.match(csrfRefusal("POST", {}, console) ?? "", /missing/);
    assert.match(csrfRefusal("DELETE", { "x-csrf-token": "t0kem" }, console) ?? "", /wrong/);
    assert.match(csrfRefusal("PUT", { "x-csrf-token": "t0ken-longer" }, console) ?? "", /wrong/);
    assert.equal(csrfRefusal("PUT", { "x-csrf-token": "t0ken" }, console), undefined);
    assert.equal(csrfRefusal("DELETE", {}, {}), undefined, "an API token needs no CSRF token");
  });
});
