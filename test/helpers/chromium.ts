// Debian's chromium driven by playwright-core, for the browser tests (web client, admin console).
import { existsSync } from "node:fs";
import assert from "node:assert/strict";
import { type Browser, type BrowserServer, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Without the background-networking flags chromium's calls home are refused by this machine's closed network. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface RunningBrowser {
  browser: Browser;
  /** Closes chromium gracefully (it reaps its own helpers), or kills it after a few seconds. */
  stop(): Promise<void>;
}

export async function startChromium(): Promise<RunningBrowser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
  // A browser server rather than launch(): its kill() ends chromium whatever state it is in. Playwright gives it
  // a fresh temporary profile (user-data-dir) and removes it afterwards.
  const server: BrowserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    async stop() {
      await browser.close().catch(() => {});
      const closed = server.close().then(
        () => true,
        () => false,
      );
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref());
      if (!(await Promise.race([closed, timedOut]))) await server.kill();
    },
  };
}
