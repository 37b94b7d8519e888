// XEP-0363 HTTP File Upload as clients see it: the service in disco, slots asked for over XMPP with
// @xmpp/client, files PUT and fetched back over Natter's HTTP listener with fetch() and raw HTTP; the errors
// for files too large, over quota, bad names, wrong sizes, expired slots; path traversal; persistence.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_UPLOAD = "urn:xmpp:http:upload:0";
const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";
const MAX = 64 * 1024;
const QUOTA = 150 * 1024;

interface Slot {
  put: string;
  get: string;
  headers: Record<string, string>;
}

interface XmppError {
  condition?: string;
  type?: string;
  application?: XmlElement;
  element?: XmlElement;
}

async function requestSlot(c: ConnectedClient, filename: string, size: number | string, contentType?: string, to = "upload.localhost"): Promise<Slot> {
  const attrs: Record<string, string> = { filename, size: String(size) };
  if (contentType !== undefined) attrs["content-type"] = contentType;
  const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get", to }, xml("request", { xmlns: NS_UPLOAD, ...attrs })));
  const slot = res.getChild("slot", NS_UPLOAD);
  assert.ok(slot, "a <slot/>");
  const put = slot.getChild("put")!;
  const headers: Record<string, string> = {};
  for (const h of put.getChildren("header")) headers[h.attrs.name as string] = h.getText();
  return { put: put.attrs.url as string, get: slot.getChild("get")!.attrs.url as string, headers };
}

async function slotError(c: ConnectedClient, filename: string, size: number | string, contentType?: string, to?: string): Promise<XmppError> {
  try {
    await requestSlot(c, filename, size, contentType, to);
  } catch (err) {
    return err as XmppError;
  }
  assert.fail("expected an error");
}

function putFile(slot: Slot, body: Buffer, contentType?: string, extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { ...slot.headers, ...extra };
  if (contentType !== undefined) headers["Content-Type"] = contentType;
  return fetch(slot.put, { method: "PUT", body, headers });
}

/** A request with the path exactly as written (fetch and URL would normalise "..", "%2e" …). */
function rawGet(port: number, path: string, method = "GET"): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

const pathOf = (url: string) => new URL(url).pathname;

describe("http-upload (XEP-0363)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let erin: ConnectedClient;

  before(async () => {
    ts = await startTestServer({
      hosts: ["other.test"],
      yaml: ["modules:", "  http-upload:", `    max_file_size: ${MAX}`, `    quota_per_user: ${QUOTA}`].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    await ts.server.core.accounts.createUser("other.test", "erin", "erin-secret");
    alice = await connect(ts, "alice", "alice-secret");
    bob = await connect(ts, "bob", "bob-secret");
    erin = await connect({ ...ts, domain: "other.test" }, "erin", "erin-secret");
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await erin?.stop();
    await ts?.stop();
  });

  describe("discovery (§3)", () => {
    it("the server lists upload.localhost in its disco#items", async () => {
      const res = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("query", NS_ITEMS)));
      const jids = res.getChild("query", NS_ITEMS)!.getChildren("item").map((i: XmlElement) => i.attrs.jid);
      assert.ok(jids.includes("upload.localhost"), JSON.stringify(jids));
      assert.ok(!jids.includes("upload.other.test"), "each host lists only its own service");
    });

    it("the service announces store/file, the feature and max-file-size", async () => {
      const res = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "upload.localhost" }, xml("query", NS_INFO)));
      const q = res.getChild("query", NS_INFO)!;
      const identity = q.getChild("identity")!;
      assert.equal(identity.attrs.category, "store");
      assert.equal(identity.attrs.type, "file");
      const features = q.getChildren("feature").map((f: XmlElement) => f.attrs.var);
      assert.ok(features.includes(NS_UPLOAD));
      const form = q.getChild("x", "jabber:x:data")!;
      const fields = Object.fromEntries(
        form.getChildren("field").map((f: XmlElement) => [f.attrs.var, f.getChildText("value")]),
      );
      assert.equal(fields.FORM_TYPE, NS_UPLOAD);
      assert.equal(fields["max-file-size"], String(MAX));
    });

    it("anything but disco and slot requests is service-unavailable", async () => {
      const err = (await alice.xmpp.iqCaller
        .request(xml("iq", { type: "get", to: "upload.localhost" }, xml("ping", "urn:xmpp:ping")))
        .catch((e: unknown) => e)) as XmppError;
      assert.equal(err.condition, "service-unavailable");
    });
  });

  describe("upload and download", () => {
    it("a file uploaded through the slot URL is downloaded back byte-identical", async () => {
      const data = randomBytes(40_000);
      const slot = await requestSlot(alice, "holiday photo é.jpg", data.length, "image/jpeg");
      assert.match(slot.put, new RegExp(`^https://localhost:${ts.httpsPort}/upload/localhost/[A-Za-z0-9_-]{32}/holiday%20photo%20%C3%A9\\.jpg$`));
      assert.equal(slot.get, slot.put);
      assert.match(slot.headers.Authorization ?? "", /^Bearer [A-Za-z0-9_-]{43}$/);

      // Before the upload there is nothing to fetch.
      assert.equal((await fetch(slot.get)).status, 404);
      const put = await putFile(slot, data, "image/jpeg");
      assert.equal(put.status, 201);

      const got = await fetch(slot.get);
      assert.equal(got.status, 200);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
      assert.equal(got.headers.get("content-type"), "image/jpeg");
      assert.equal(got.headers.get("content-length"), String(data.length));
      assert.equal(got.headers.get("x-content-type-options"), "nosniff");
      assert.equal(got.headers.get("access-control-allow-origin"), "*");
      assert.equal(
        got.headers.get("content-disposition"),
        `inline; filename="holiday photo _.jpg"; filename*=UTF-8''holiday%20photo%20%C3%A9.jpg`,
      );
      assert.match(got.headers.get("content-security-policy") ?? "", /sandbox/);

      // Anyone with the URL may fetch it (§2); HEAD gives the headers alone.
      const head = await rawGet(ts.httpPort!, pathOf(slot.get), "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], String(data.length));
      assert.equal(head.body, "");

      // One PUT per slot.
      assert.equal((await putFile(slot, data, "image/jpeg")).status, 409);
      // The file sits under the data directory.
      const id = pathOf(slot.get).split("/")[3]!;
      assert.ok(existsSync(join(ts.dataDir, "uploads", "localhost", id, "holiday_photo_e_.jpg")));
    });

    it("active content (HTML, SVG) is served as a sandboxed attachment", async () => {
      const html = Buffer.from("<script>alert(document.cookie)</script>");
      const slot = await requestSlot(alice, "page.html", html.length, "text/html");
      assert.equal((await putFile(slot, html, "text/html")).status, 201);
      const got = await fetch(slot.get);
      assert.equal(got.headers.get("content-security-policy"), "default-src 'none'; sandbox");
      assert.match(got.headers.get("content-disposition") ?? "", /^attachment;/);
      assert.equal(got.headers.get("x-content-type-options"), "nosniff");
    });

    it("a slot without content-type takes any; CORS preflight is answered", async () => {
      const data = Buffer.from("plain bytes");
      const slot = await requestSlot(bob, "notes", data.length);
      const pre = await fetch(slot.put, {
        method: "OPTIONS",
        headers: { Origin: "https://web.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, content-type" },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get("access-control-allow-origin"), "*");
      assert.match(pre.headers.get("access-control-allow-methods") ?? "", /PUT/);
      assert.match(pre.headers.get("access-control-allow-headers") ?? "", /Authorization/);
      assert.equal((await putFile(slot, data, "text/plain")).status, 201);
      const got = await fetch(slot.get);
      assert.equal(got.headers.get("content-type"), "application/octet-stream");
      assert.equal(await got.text(), "plain bytes");
    });
  });

  describe("slot request errors (§5)", () => {
    it("a file larger than max_file_size: not-acceptable with <file-too-large/>", async () => {
      const err = await slotError(alice, "big.bin", MAX + 1, "application/octet-stream");
      assert.equal(err.condition, "not-acceptable");
      assert.equal(err.type, "modify");
      const app = err.application!;
      assert.equal(app.name, "file-too-large");
      assert.equal(app.attrs.xmlns, NS_UPLOAD);
      assert.equal(app.getChildText("max-file-size"), String(MAX));
    });

    it("over the per-user quota: resource-constraint, type wait", async () => {
      // bob has a few bytes stored; two 60 KiB slots fit in 150 KiB, a third does not.
      await requestSlot(bob, "one.bin", 60 * 1024);
      await requestSlot(bob, "two.bin", 60 * 1024);
      const err = await slotError(bob, "three.bin", 60 * 1024);
      assert.equal(err.condition, "resource-constraint");
      assert.equal(err.type, "wait");
      assert.equal(err.application?.name, "retry");
      assert.match(err.application?.attrs.stamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      // Other users are not affected.
      await requestSlot(alice, "small.bin", 10);
    });

    for (const [what, filename, size] of [
      ["a path in the filename", "../../etc/passwd", "10"],
      ["a backslash in the filename", "..\\boot.ini", "10"],
      ["an empty filename", "", "10"],
      ["a bidi override (XML forbids control characters anyway)", "invoice\u202Efdp.exe", "10"],
      ["a size that is not a number", "x.txt", "ten"],
      ["a negative size", "x.txt", "-5"],
    ] as const) {
      it(`${what}: bad-request`, async () => {
        const err = await slotError(alice, filename, size);
        assert.equal(err.condition, "bad-request");
      });
    }

    it("a content-type that is not a media type: bad-request", async () => {
      const err = await slotError(alice, "x.txt", 3, "text/plain\r\nSet-Cookie: a=b");
      assert.equal(err.condition, "bad-request");
    });

    it("users of another host may not upload here: not-allowed", async () => {
      const err = await slotError(erin, "x.txt", 3, "text/plain", "upload.localhost");
      assert.equal(err.condition, "not-allowed");
      // …but have a service of their own.
      const slot = await requestSlot(erin, "x.txt", 3, "text/plain", "upload.other.test");
      assert.match(slot.put, /\/upload\/other\.test\//);
    });
  });

  describe("PUT errors (§6)", () => {
    it("the wrong size is refused (Content-Length must match the slot)", async () => {
      const slot = await requestSlot(alice, "sized.txt", 10, "text/plain");
      assert.equal((await putFile(slot, Buffer.alloc(11), "text/plain")).status, 413);
      assert.equal((await putFile(slot, Buffer.alloc(9), "text/plain")).status, 400);
      // The slot still works with the right size.
      assert.equal((await putFile(slot, Buffer.alloc(10), "text/plain")).status, 201);
    });

    it("no Authorization, a wrong token or another content type is refused", async () => {
      const slot = await requestSlot(alice, "auth.txt", 4, "text/plain");
      const body = Buffer.from("abcd");
      assert.equal((await fetch(slot.put, { method: "PUT", body, headers: { "Content-Type": "text/plain" } })).status, 403);
      assert.equal((await putFile(slot, body, "text/plain", { Authorization: `Bearer ${"A".repeat(43)}` })).status, 403);
      assert.equal((await putFile(slot, body, "image/png")).status, 415);
      assert.equal((await putFile(slot, body, "text/plain; charset=utf-8")).status, 201);
    });

    it("a PUT to an unknown slot is 404", async () => {
      const slot = await requestSlot(alice, "known.txt", 4, "text/plain");
      const unknown = { ...slot, put: slot.put.replace(/\/[A-Za-z0-9_-]{32}\//, `/${"B".repeat(32)}/`) };
      assert.equal((await putFile(unknown, Buffer.from("abcd"), "text/plain")).status, 404);
      // The right id under another name is unknown too.
      const renamed = { ...slot, put: slot.put.replace(/known\.txt$/, "other.txt") };
      assert.equal((await putFile(renamed, Buffer.from("abcd"), "text/plain")).status, 404);
    });
  });

  describe("path traversal on GET", () => {
    let stored: string;
    before(async () => {
      const slot = await requestSlot(alice, "safe.txt", 2, "text/plain");
      assert.equal((await putFile(slot, Buffer.from("ok"), "text/plain")).status, 201);
      stored = pathOf(slot.get);
    });

    it("dot segments, encoded or not, never leave the upload directory", async () => {
      const id = stored.split("/")[3]!;
      const attempts = [
        "/upload/localhost/../../natter.sqlite",
        "/upload/localhost/%2e%2e/%2e%2e/natter.sqlite",
        `/upload/localhost/${id}/..%2f..%2f..%2fnatter.sqlite`,
        `/upload/localhost/${id}/%2e%2e%2f%2e%2e%2fserver-secret`,
        `/upload/localhost/${id}/..%5c..%5cnatter.yaml`,
        `/upload/localhost/${id}/safe.txt/../../../natter.yaml`,
        "/upload/localhost/..%2f..%2fnatter.yaml/x",
        `/upload/localhost/${id}%2f..%2f..%2f/natter.yaml`,
        "/upload/../natter.yaml",
        "/upload/localhost/certs/self-signed.key",
        `/upload/localhost/${id}/%00safe.txt`,
        "//etc/passwd",
        "/etc/passwd",
      ];
      for (const path of attempts) {
        const r = await rawGet(ts.httpPort!, path);
        assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
        assert.ok(!/PRIVATE KEY|SQLite format|hosts:/.test(r.body), `${path} leaked a file`);
      }
      // The real file is still served.
      const ok = await rawGet(ts.httpPort!, stored);
      assert.equal(ok.status, 200);
      assert.equal(ok.body, "ok");
    });

    it("other methods are refused", async () => {
      assert.equal((await rawGet(ts.httpPort!, stored, "DELETE")).status, 405);
    });
  });

  it("files and quotas survive a restart", async () => {
    const data = randomBytes(1000);
    const slot = await requestSlot(alice, "kept.bin", data.length, "application/octet-stream");
    assert.equal((await putFile(slot, data, "application/octet-stream")).status, 201);
    await alice.stop();
    await bob.stop();
    await erin.stop();
    await ts.restart();
    const got = await fetch(slot.get);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
    bob = await connect(ts, "bob", "bob-secret");
    const err = await slotError(bob, "three.bin", 60 * 1024);
    assert.equal(err.condition, "resource-constraint");
    alice = await connect(ts, "alice", "alice-secret");
    erin = await connect({ ...ts, domain: "other.test" }, "erin", "erin-secret");
  });
});

describe("http-upload expiry", () => {
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    // Slots usable for 1 s; files kept for 2 s (the sweep then runs every second).
    ts = await startTestServer({
      yaml: ["modules:", "  http-upload:", "    slot_lifetime: 1", `    expire_after_days: ${2 / 86400}`].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    alice = await connect(ts, "alice", "alice-secret");
  });

  after(async () => {
    await alice?.stop();
    await ts?.stop();
  });

  it("a PUT to an expired slot is refused", async () => {
    const slot = await requestSlot(alice, "late.txt", 4, "text/plain");
    await new Promise((r) => setTimeout(r, 1300));
    const res = await putFile(slot, Buffer.from("late"), "text/plain");
    assert.ok(res.status === 403 || res.status === 404, String(res.status));
    assert.equal((await fetch(slot.get)).status, 404);
  });

  it("files are deleted, from disk too, once expire_after_days has passed", async () => {
    const slot = await requestSlot(alice, "brief.txt", 5, "text/plain");
    assert.equal((await putFile(slot, Buffer.from("brief"), "text/plain")).status, 201);
    assert.equal((await fetch(slot.get)).status, 200);
    const dir = join(ts.dataDir, "uploads", "localhost", pathOf(slot.get).split("/")[3]!);
    assert.ok(existsSync(dir));
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await fetch(slot.get)).status, 404);
    assert.ok(!existsSync(dir), "the sweep removed the file");
  });
});
