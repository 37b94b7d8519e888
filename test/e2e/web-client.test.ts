// The web client in a real browser: Debian's chromium (driven by playwright-core) opens /chat on the test
// server's HTTPS listener, two users log in through Converse's login form over WebSocket (TLS, so SASL is
// offered with c2s.require_encryption on), meet in a room and talk both ways, a third user on slixmpp over
// TCP sees their messages and they see its, and one user writes to the other one to one. The page must not
// fetch anything from another site and must not trip its own Content-Security-Policy.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type RunningBrowser, startChromium } from "../helpers/chromium.js";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const ROOM = "lobby@conference.localhost";
/** NATTER_SCREENSHOTS=1 refreshes docs/screenshots/; otherwise they go to a temporary directory. */
const SCREENSHOTS = process.env.NATTER_SCREENSHOTS
  ? join(import.meta.dirname, "..", "..", "docs", "screenshots")
  : mkdtempSync(join(tmpdir(), "natter-shots-"));
const STEP_MS = 15_000;

interface WatchResult {
  ok: boolean;
  error?: string;
  seen: { from_nick: string; body: string }[];
  missing: string[];
}

/** One user's browser tab, with everything it did wrong (page errors, CSP reports, foreign requests). */
interface Tab {
  page: Page;
  problems: string[];
  /** URLs of the WebSockets the page opened. */
  websockets: string[];
}

describe("web client in chromium", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;
  let chromiumRun: RunningBrowser | undefined;
  let browser: Browser | undefined;
  let origin: string;

  before(async () => {
    ts = await startTestServer({ yaml: "web_client: { title: 'Natter Chat' }" });
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-secret`);
    origin = `https://localhost:${ts.httpsPort}`;
    chromiumRun = await startChromium();
    browser = chromiumRun.browser;
  });

  after(async () => {
    await chromiumRun?.stop();
    await ts?.stop();
  });

  async function openTab(): Promise<Tab> {
    // One context per user: separate storage, as two people on two machines.
    const context = await (browser as Browser).newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1100, height: 700 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    const problems: string[] = [];
    const websockets: string[] = [];
    page.on("websocket", (ws) => websockets.push(ws.url()));
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    page.on("request", (r) => {
      const url = r.url();
      if (
        !url.startsWith(`${origin}/`) &&
        !url.startsWith(`wss://localhost:${ts.httpsPort}/`) &&
        !/^(data|blob):/.test(url)
      ) {
        problems.push(`foreign request: ${url}`);
      }
    });
    return { page, problems, websockets };
  }

  async function logIn(tab: Tab, user: string, screenshot?: string): Promise<void> {
    const { page } = tab;
    await page.goto(`${origin}/chat`);
    assert.equal(await page.title(), "Natter Chat");
    const jid = page.locator("input[name=jid]");
    await jid.waitFor();
    // The configured title stands where Converse puts its own name.
    await page.locator(".brand-name__text", { hasText: "Natter Chat" }).first().waitFor();
    if (screenshot) await page.screenshot({ path: join(SCREENSHOTS, screenshot) });
    await jid.fill(user); // the domain is locked to the host the page came from
    await page.locator("input[name=password]").fill(`${user}-secret`);
    await page.locator("converse-login-form button[type=submit], button[type=submit]").first().click();
    // Logged in: the login form is gone and the control box lists rooms and contacts.
    await page.locator("converse-rooms-list, converse-roster").first().waitFor();
  }

  async function joinRoom(tab: Tab): Promise<void> {
    // A deep link, as a room invitation on a web page would give: Converse joins (and creates) the room.
    await goTo(tab, `#converse/room?jid=${ROOM}`);
    await textarea(tab).waitFor();
  }

  /** Converse's URL-fragment routes (#converse/room?jid=…, #converse/chat?jid=…), as a link would set them. */
  const goTo = (tab: Tab, hash: string) => tab.page.evaluate(`location.hash = ${JSON.stringify(hash)}`);

  const textarea = (tab: Tab) => tab.page.locator("textarea.chat-textarea").filter({ visible: true });

  async function say(tab: Tab, body: string): Promise<void> {
    await textarea(tab).fill(body);
    await textarea(tab).press("Enter");
  }

  const sees = (tab: Tab, body: string) =>
    tab.page.locator(".chat-msg__text", { hasText: body }).filter({ visible: true }).first().waitFor();

  it("two browser users and a slixmpp user talk in a room, and one to one", async () => {
    const alice = await openTab();
    const bob = await openTab();
    await logIn(alice, "alice", "web-client-login.png");
    await logIn(bob, "bob");
    await joinRoom(alice);
    await joinRoom(bob);

    // Carol on slixmpp joins over TCP and waits for both browser users' messages.
    let joined!: () => void;
    const carolJoined = new Promise<void>((resolve) => {
      joined = resolve;
    });
    let tellCarol: (line: string) => void = () => {};
    const carol = runSlixmpp<WatchResult>(
      "muc_watch.py",
      {
        host: "127.0.0.1",
        port: ts.port,
        room: ROOM,
        jid: "carol@localhost",
        password: "carol-secret",
        nick: "carol",
        expect: ["Hello from Alice's browser", "Hi Alice, Bob here", "Carol on slixmpp says hi"],
        timeout: 30,
      },
      {
        timeoutMs: 60_000,
        onProgress: (event, reply) => {
          tellCarol = reply;
          if (event.event === "joined") joined();
        },
      },
    );
    await carolJoined;

    await say(alice, "Hello from Alice's browser");
    await sees(bob, "Hello from Alice's browser");
    await say(bob, "Hi Alice, Bob here");
    await sees(alice, "Hi Alice, Bob here");
    tellCarol("send Carol on slixmpp says hi");
    await sees(alice, "Carol on slixmpp says hi");
    await sees(bob, "Carol on slixmpp says hi");
    await alice.page.screenshot({ path: join(SCREENSHOTS, "web-client-room.png") });
    tellCarol("");

    const watched = await carol;
    assert.ok(watched.ok, JSON.stringify(watched));
    assert.deepEqual(watched.missing, []);
    const byBody = new Map(watched.seen.map((m) => [m.body, m.from_nick]));
    assert.equal(byBody.get("Hello from Alice's browser"), "alice");
    assert.equal(byBody.get("Hi Alice, Bob here"), "bob");

    // One to one: Alice opens a chat with Bob by address; Converse opens it on Bob's side when it arrives.
    await goTo(alice, "#converse/chat?jid=bob@localhost");
    await textarea(alice).waitFor();
    await say(alice, "Just between us, Bob");
    await goTo(bob, "#converse/chat?jid=alice@localhost");
    await sees(bob, "Just between us, Bob");

    // Over RFC 7395 WebSocket (the page's first choice), not the BOSH fallback.
    for (const tab of [alice, bob])
      assert.deepEqual(tab.websockets, [`wss://localhost:${ts.httpsPort}/xmpp-websocket`]);
    assert.deepEqual(alice.problems, []);
    assert.deepEqual(bob.problems, []);
  });
});

mkdirSync(SCREENSHOTS, { recursive: true });
