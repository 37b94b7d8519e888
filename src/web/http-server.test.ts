// The HTTP server on its own: prefix routing, request limits, errors, HTTPS with the XMPP certificates (SNI),
// upgrades, and shutdown with a keep-alive connection open.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, Agent } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { pino } from "pino";
import { CertificateStore } from "../core/tls/certificates.js";
import { ensureSelfSignedCertificate } from "../core/tls/self-signed.js";
import { readBody, sendText } from "./http-routes.js";
import { HttpServer } from "./http-server.js";

const log = pino({ level: "silent" });

function get(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Sends raw bytes and returns the status line of the answer. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let data = "";
    socket.setEncoding("latin1").on("data", (d: string) => {
      data += d;
    });
    socket.on("close", () => resolve(data.split("\r\n")[0] ?? ""));
    socket.on("error", reject);
  });
}

describe("HttpServer", () => {
  let http: HttpServer;
  let port: number;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "natter-http-"));
    const certs = CertificateStore.fromFiles([await ensureSelfSignedCertificate(dataDir, ["example.test"])]);
    http = new HttpServer(log, { publicUrl: "", defaultHost: "example.test" });
    http.route("/upload", (_req, res, info) => sendText(res, 200, `upload:${info.path}:${info.secure}`));
    http.route("/upload/special/", (_req, res, info) => sendText(res, 200, `special:${info.path}`));
    http.route("/echo", async (req, res) => sendText(res, 200, (await readBody(req, 10)).toString()), { maxBodyBytes: 10 });
    http.route("/boom", () => {
      throw new Error("handler bug");
    });
    http.upgrade("/ws", (_req, socket) => socket.end("HTTP/1.1 101 Switching Protocols\r\n\r\n"));
    await http.listen({ enabled: true, port: 0, bind: ["127.0.0.1"] }, { enabled: true, port: 0, bind: ["127.0.0.1"] }, certs);
    port = http.ports.http!;
  });

  after(async () => {
    await http.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("derives the public URL from the first host and the bound HTTPS port while HTTPS listens", () => {
    assert.equal(http.publicUrl, `https://example.test:${http.ports.https}`);
    assert.equal(new HttpServer(log, { publicUrl: "https://chat.example.test/", defaultHost: "x" }).publicUrl, "https://chat.example.test");
  });

  it("routes by whole path segments, the longest prefix first", async () => {
    assert.deepEqual(await get(port, "/upload"), { status: 200, body: "upload::false\n" });
    assert.deepEqual(await get(port, "/upload/a/b?x=1"), { status: 200, body: "upload:/a/b:false\n" });
    assert.deepEqual(await get(port, "/upload/special/x"), { status: 200, body: "special:/x\n" });
    assert.equal((await get(port, "/uploads")).status, 404);
    assert.equal((await get(port, "/")).status, 404);
    // Dot segments are resolved before routing: this never reaches /upload's handler with "..".
    assert.deepEqual(await get(port, "/upload/special/%2e%2e/y"), { status: 200, body: "upload:/y:false\n" });
    assert.equal((await get(port, "/upload/../echo/..")).status, 404);
  });

  it("refuses a duplicate route and gives back a remover", async () => {
    assert.throws(() => http.route("/upload/", () => {}), /already served/);
    const remove = http.route("/temp", (_req, res) => sendText(res, 200, "temp"));
    assert.equal((await get(port, "/temp")).status, 200);
    remove();
    assert.equal((await get(port, "/temp")).status, 404);
  });

  it("caps request bodies, announced or chunked", async () => {
    assert.deepEqual(await get(port, "/echo", { method: "POST", body: "short" }), { status: 200, body: "short\n" });
    assert.equal((await get(port, "/echo", { method: "POST", body: "far too long a body" })).status, 413);
    const chunked = await raw(port, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n");
    assert.match(chunked, /^HTTP\/1\.1 413/);
  });

  it("answers malformed requests and oversized headers, and survives a handler's throw", async () => {
    assert.match(await raw(port, "GET http://evil.test/upload HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 400/);
    assert.match(await raw(port, "GARBAGE\r\n\r\n"), /^HTTP\/1\.1 400/);
    assert.match(await raw(port, `GET /upload HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431/);
    assert.equal((await get(port, "/boom")).status, 500);
    assert.equal((await get(port, "/upload")).status, 200);
  });

  it("routes upgrades to their own handlers", async () => {
    assert.match(await raw(port, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), /^HTTP\/1\.1 101/);
    assert.match(await raw(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), /^HTTP\/1\.1 404/);
  });

  it("serves HTTPS with the XMPP certificates, chosen by SNI", async () => {
    const httpsPort = http.ports.https!;
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port: httpsPort, path: "/upload/x", servername: "upload.example.test", rejectUnauthorized: false, agent: false },
        (res) => {
          let b = "";
          res.setEncoding("utf8").on("data", (d: string) => {
            b += d;
          });
          res.on("end", () => resolve(b));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(body, "upload:/x:true\n");
    const names = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: "127.0.0.1", port: httpsPort, servername: "upload.example.test", rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().subjectaltname ?? "");
        socket.end();
      });
      socket.on("error", reject);
    });
    assert.match(names, /DNS:\*\.example\.test/);
  });

  it("closes promptly with an idle keep-alive connection open", async () => {
    const other = new HttpServer(log, { publicUrl: "", defaultHost: "example.test" });
    other.route("/", (_req, res) => sendText(res, 200, "hi"));
    await other.listen({ enabled: true, port: 0, bind: ["127.0.0.1"] }, { enabled: false, port: 0, bind: [] }, undefined);
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      httpRequest({ host: "127.0.0.1", port: other.ports.http!, path: "/", agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      })
        .on("error", reject)
        .end();
    });
    const started = Date.now();
    await other.close();
    assert.ok(Date.now() - started < 1000, "no wait for the idle connection");
    agent.destroy();
  });
});
