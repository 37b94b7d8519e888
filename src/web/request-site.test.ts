// requestSite: the Host header selects the virtual host; listeners.http.public_url, when set, gives the base
// URL (a reverse proxy in front), and its host name stands for the first host.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import type { HttpRequestInfo } from "./http-routes.js";
import { boshUrl, requestSite, websocketUrl } from "./request-site.js";

const req = (host: string | undefined) => ({ headers: host === undefined ? {} : { host } }) as IncomingMessage;
const info = (secure: boolean) => ({ path: "", url: new URL("http://natter.invalid/"), secure }) as HttpRequestInfo;
const hosts = ["example.org", "example.net"];

describe("requestSite", () => {
  it("takes scheme and authority from the request when no public URL is set", () => {
    const site = requestSite(req("Example.NET:5281"), info(true), { hosts, publicUrl: "" });
    assert.deepEqual(site, { host: "example.net", base: "https://example.net:5281" });
    assert.equal(websocketUrl(site!), "wss://example.net:5281/xmpp-websocket");
    assert.equal(boshUrl(site!), "https://example.net:5281/http-bind");
    const plain = requestSite(req("example.org"), info(false), { hosts, publicUrl: "" });
    assert.equal(websocketUrl(plain!), "ws://example.org/xmpp-websocket");
  });

  it("derives the URLs from the public URL, path included, whatever the listener", () => {
    const site = requestSite(req("example.net:5280"), info(false), {
      hosts,
      publicUrl: "https://chat.example.org/xmpp/",
    });
    assert.deepEqual(site, { host: "example.net", base: "https://chat.example.org/xmpp" });
    assert.equal(websocketUrl(site!), "wss://chat.example.org/xmpp/xmpp-websocket");
    // The proxy's own name is the first host's web name.
    assert.deepEqual(
      requestSite(req("chat.example.org"), info(false), { hosts, publicUrl: "https://chat.example.org/xmpp" }),
      {
        host: "example.org",
        base: "https://chat.example.org/xmpp",
      },
    );
  });

  it("answers undefined for unknown, missing or malformed hosts", () => {
    for (const host of [
      undefined,
      "",
      "other.example",
      "127.0.0.1:5280",
      "example.org:80:1",
      "example.org/x",
      "exa mple.org",
      "[::1]:5280",
    ]) {
      assert.equal(requestSite(req(host), info(true), { hosts, publicUrl: "" }), undefined, String(host));
    }
  });
});
