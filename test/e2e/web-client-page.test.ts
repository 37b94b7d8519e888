// The web client's page and files at /chat over Natter's real HTTPS listener: the page set up for the host
// asked (title escaped, connection URLs, locked domain, MUC domain), its Content-Security-Policy, the
// Converse.js bundle from node_modules with types and cache headers, and no way out of dist/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { rawHttp } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const TITLE = `Ops </script><script>alert("x")</script> & 'Co'`;

function pageSettings(body: string): Record<string, string> {
  const m = /<script id="natter-config" type="application\/json">([^<]*)<\/script>/.exec(body);
  assert.ok(m, "the settings block");
  return JSON.parse(m[1] as string) as Record<string, string>;
}

describe("web client page at /chat", { timeout: 30_000 }, () => {
  let ts: TestServer;
  let port: number;

  before(async () => {
    ts = await startTestServer({ hosts: ["example.net"], yaml: `web_client: { title: ${JSON.stringify(TITLE)} }` });
    port = ts.httpsPort as number;
  });
  after(async () => {
    await ts?.stop();
  });

  it("serves the page for the host asked, title escaped, settings for this listener", async () => {
    const res = await rawHttp({ port, path: "/chat", secure: true, host: `example.net:${port}` });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.ok(
      res.body.includes(
        `<title>Ops &lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;</title>`,
      ),
    );
    // The raw title appears nowhere: not in the HTML, not in the JSON block (where "<" is \u003c).
    assert.ok(!res.body.includes("<script>alert"));
    assert.equal((res.body.match(/<\/script>/g) ?? []).length, 3, "only the page's own three scripts end");
    assert.deepEqual(pageSettings(res.body), {
      title: TITLE,
      assetsPath: "/chat/dist",
      websocketUrl: `wss://example.net:${port}/xmpp-websocket`,
      boshUrl: `https://example.net:${port}/http-bind`,
      domain: "example.net",
      mucDomain: "conference.example.net",
    });
    // Everything the page loads is on this server.
    for (const m of res.body.matchAll(/(?:src|href)="([^"]*)"/g)) assert.match(m[1] as string, /^\/chat\//);
    assert.doesNotMatch(res.body, /https?:\/\/(?!example\.net:)/);
    const csp = String(res.headers["content-security-policy"] ?? "");
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.doesNotMatch(csp, /'unsafe-eval'|\*|https?:\/\/(?!example)/);
    assert.match(csp, new RegExp(`connect-src 'self' wss://example\\.net:${port} https://example\\.net:${port}`));
    assert.match(csp, /frame-ancestors 'none'/);
  });

  it("sends a plain-HTTP visitor to the HTTPS listener", async () => {
    const res = await rawHttp({ port: ts.httpPort as number, path: "/chat", host: `example.net:${ts.httpPort}` });
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, `https://example.net:${port}/chat`);
  });

  it("refuses hosts it does not serve and paths it does not know", async () => {
    assert.equal((await rawHttp({ port, path: "/chat", secure: true, host: "evil.example" })).status, 404);
    assert.equal((await rawHttp({ port, path: "/chat/nothing", secure: true })).status, 404);
    assert.equal((await rawHttp({ port, path: "/chat", secure: true, method: "POST" })).status, 405);
  });

  it("serves the bundle, its boot script and assets with types and cache headers", async () => {
    const js = await rawHttp({ port, path: "/chat/dist/converse.min.js", secure: true });
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(js.headers["x-content-type-options"], "nosniff");
    assert.match(js.headers["cache-control"] ?? "", /^public, max-age=\d+$/);
    assert.ok(js.body.length > 100_000);
    const again = await rawHttp({
      port,
      path: "/chat/dist/converse.min.js",
      secure: true,
      headers: { "If-None-Match": js.headers.etag as string },
    });
    assert.equal(again.status, 304);
    assert.equal(again.body, "");
    // Compressed for clients that accept gzip, the same bytes once inflated; plain for the others.
    const gz = await rawHttp({
      port,
      path: "/chat/dist/converse.min.js",
      secure: true,
      headers: { "Accept-Encoding": "br, gzip;q=0.8" },
    });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.equal(gz.headers.vary, "Accept-Encoding");
    assert.ok(gz.raw.length < js.raw.length / 2, `${gz.raw.length} bytes compressed`);
    assert.ok(gunzipSync(gz.raw).equals(js.raw));
    assert.equal(js.headers["content-encoding"], undefined);
    const refused = await rawHttp({
      port,
      path: "/chat/dist/converse.min.js",
      secure: true,
      headers: { "Accept-Encoding": "gzip;q=0" },
    });
    assert.equal(refused.headers["content-encoding"], undefined);
    const css = await rawHttp({ port, path: "/chat/dist/converse.min.css", secure: true, method: "HEAD" });
    assert.equal(css.status, 200);
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    assert.equal(
      (await rawHttp({ port, path: "/chat/dist/sounds/msg_received.ogg", secure: true, method: "HEAD" })).headers[
        "content-type"
      ],
      "audio/ogg",
    );
    const boot = await rawHttp({ port, path: "/chat/natter-client.js", secure: true });
    assert.equal(boot.status, 200);
    assert.match(boot.body, /converse\.initialize/);
    assert.doesNotMatch(boot.body, /https?:\/\//, "the boot script names no other site");
  });

  it("never leaves dist/ and lists no directory", async () => {
    for (const path of [
      "/chat/dist/../../package.json",
      "/chat/dist/%2e%2e/%2e%2e/package.json",
      "/chat/dist/..%2f..%2fpackage.json",
      "/chat/dist/images/..%2f..%2f..%2f..%2f..%2fpackage.json",
      "/chat/dist/%2e%2e%2fpackage.json",
      "/chat/dist/..%5c..%5cpackage.json",
      "/chat/dist/converse.min.js%00.png",
      "/chat/dist/",
      "/chat/dist/images",
      "/chat/dist/images/",
      "/chat/dist/manifest.json/..",
      "/chat/dist/.hidden.js",
      "/chat/dist/%ZZ.js",
    ]) {
      const res = await rawHttp({ port, path, secure: true });
      assert.ok(res.status === 404 || res.status === 400, `${path} → ${res.status}`);
      assert.doesNotMatch(res.body, /"name"|"dependencies"|natter/, path);
    }
    assert.equal(
      (await rawHttp({ port, path: "/chat/dist/converse.min.js", secure: true, method: "DELETE" })).status,
      405,
    );
  });
});

describe("web client turned off", { timeout: 30_000 }, () => {
  let ts: TestServer;
  after(async () => {
    await ts?.stop();
  });

  it("serves nothing at /chat", async () => {
    ts = await startTestServer({ yaml: "web_client: { enabled: false }" });
    assert.equal((await rawHttp({ port: ts.httpsPort as number, path: "/chat", secure: true })).status, 404);
    assert.equal(
      (await rawHttp({ port: ts.httpsPort as number, path: "/chat/dist/converse.min.js", secure: true })).status,
      404,
    );
  });
});
