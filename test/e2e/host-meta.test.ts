// XEP-0156 §3 discovery over Natter's real HTTP and HTTPS listeners: the XRD and JRD documents, the CORS
// header browsers need, the Host header selecting the virtual host, and only enabled transports listed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rawHttp } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const WS = "urn:xmpp:alt-connections:websocket";
const BOSH = "urn:xmpp:alt-connections:xbosh";

/** rel → href of every <Link/> in an XRD document. */
function xrdLinks(body: string): Record<string, string> {
  assert.match(
    body,
    /^<\?xml version='1.0' encoding='utf-8'\?>\n<XRD xmlns="http:\/\/docs\.oasis-open\.org\/ns\/xri\/xrd-1\.0">/,
  );
  const links: Record<string, string> = {};
  for (const m of body.matchAll(/<Link rel="([^"]*)" href="([^"]*)"\/>/g)) links[m[1] as string] = m[2] as string;
  return links;
}

function jrdLinks(body: string): Record<string, string> {
  const doc = JSON.parse(body) as { links: { rel: string; href: string }[] };
  return Object.fromEntries(doc.links.map((l) => [l.rel, l.href]));
}

describe("XEP-0156 host-meta", { timeout: 30_000 }, () => {
  let ts: TestServer;
  let httpPort: number;
  let httpsPort: number;

  before(async () => {
    ts = await startTestServer({ hosts: ["example.net"] });
    httpPort = ts.httpPort as number;
    httpsPort = ts.httpsPort as number;
  });
  after(async () => {
    await ts?.stop();
  });

  it("serves the XRD over HTTPS with wss:// and https:// URLs of the listener asked, and the CORS header", async () => {
    const res = await rawHttp({ port: httpsPort, path: "/.well-known/host-meta", secure: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/xrd+xml; charset=utf-8");
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.deepEqual(xrdLinks(res.body), {
      [WS]: `wss://localhost:${httpsPort}/xmpp-websocket`,
      [BOSH]: `https://localhost:${httpsPort}/http-bind`,
    });
  });

  it("serves the JRD over plain HTTP with ws:// and http:// URLs", async () => {
    const res = await rawHttp({ port: httpPort, path: "/.well-known/host-meta.json" });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/jrd+json; charset=utf-8");
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.deepEqual(jrdLinks(res.body), {
      [WS]: `ws://localhost:${httpPort}/xmpp-websocket`,
      [BOSH]: `http://localhost:${httpPort}/http-bind`,
    });
  });

  it("answers for the virtual host the Host header names", async () => {
    const res = await rawHttp({
      port: httpsPort,
      path: "/.well-known/host-meta.json",
      secure: true,
      host: `Example.NET:${httpsPort}`,
    });
    assert.equal(res.status, 200);
    assert.equal(jrdLinks(res.body)[WS], `wss://example.net:${httpsPort}/xmpp-websocket`);
  });

  it("refuses a host it does not serve, a missing or malformed Host, and paths below the document", async () => {
    for (const host of [`elsewhere.example:${httpPort}`, `127.0.0.1:${httpPort}`, "", "localhost:80/x", "local host"]) {
      const res = await rawHttp({ port: httpPort, path: "/.well-known/host-meta", host });
      // Node's parser itself answers 400 for a Host it cannot accept; ours 404 for an unknown one.
      assert.ok(res.status === 404 || res.status === 400, `${JSON.stringify(host)} → ${res.status}`);
      assert.doesNotMatch(res.body, /xmpp-websocket|http-bind/);
    }
    const unknown = await rawHttp({ port: httpPort, path: "/.well-known/host-meta", host: "elsewhere.example" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers["access-control-allow-origin"], "*");
    assert.ok(ts.logs.some((l) => l.msg === "host-meta for a host not served here" && l.host === "elsewhere.example"));
    assert.equal((await rawHttp({ port: httpPort, path: "/.well-known/host-meta/x" })).status, 404);
  });

  it("answers a CORS preflight and refuses other methods", async () => {
    const pre = await rawHttp({
      port: httpPort,
      path: "/.well-known/host-meta.json",
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "GET" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "*");
    assert.match(pre.headers["access-control-allow-methods"] ?? "", /GET/);
    const post = await rawHttp({ port: httpPort, path: "/.well-known/host-meta", method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD, OPTIONS");
  });
});

describe("XEP-0156 host-meta with transports turned off", { timeout: 30_000 }, () => {
  let ts: TestServer;
  after(async () => {
    await ts?.stop();
  });

  it("lists only the enabled transport, and none when both are off", async () => {
    ts = await startTestServer({ yaml: "websocket: { enabled: false }\nbosh: { enabled: true }" });
    const port = ts.httpsPort as number;
    const xrd = await rawHttp({ port, path: "/.well-known/host-meta", secure: true });
    assert.deepEqual(xrdLinks(xrd.body), { [BOSH]: `https://localhost:${port}/http-bind` });
    const jrd = await rawHttp({ port, path: "/.well-known/host-meta.json", secure: true });
    assert.deepEqual(jrdLinks(jrd.body), { [BOSH]: `https://localhost:${port}/http-bind` });
    await ts.stop();

    ts = await startTestServer({ yaml: "websocket: { enabled: false }\nbosh: { enabled: false }" });
    const none = await rawHttp({ port: ts.httpsPort as number, path: "/.well-known/host-meta.json", secure: true });
    assert.equal(none.status, 200);
    assert.deepEqual(JSON.parse(none.body), { links: [] });
  });
});
