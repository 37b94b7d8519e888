import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readConnectRequest, readGreeting, replyFor } from "./socks5-handshake.js";

const HASH = "a".repeat(40);
const request = (cmd: number, atyp: number, addr: Buffer, port = 0) =>
  Buffer.concat([
    Buffer.from([5, cmd, 0, atyp]),
    atyp === 3 ? Buffer.from([addr.length]) : Buffer.alloc(0),
    addr,
    Buffer.from([port >> 8, port & 255]),
  ]);

describe("SOCKS5 handshake (RFC 1928 as XEP-0065 uses it)", () => {
  it("accepts a greeting that offers no-authentication, in pieces", () => {
    assert.equal(readGreeting(Buffer.from([5])).kind, "more");
    assert.equal(readGreeting(Buffer.from([5, 2, 2])).kind, "more");
    const step = readGreeting(Buffer.from([5, 2, 2, 0, 9]));
    assert.deepEqual(step, { kind: "greeting", reply: Buffer.from([5, 0]), consumed: 4 });
  });

  it("refuses other versions, empty method lists and greetings without no-authentication", () => {
    assert.deepEqual(readGreeting(Buffer.from([4, 1, 0])).kind, "refuse");
    assert.equal(readGreeting(Buffer.from("GET / HTTP/1.1")).kind, "refuse");
    const noAuth = readGreeting(Buffer.from([5, 1, 2]));
    assert.equal(noAuth.kind, "refuse");
    assert.deepEqual(noAuth.kind === "refuse" && noAuth.reply, Buffer.from([5, 0xff]));
    assert.equal(readGreeting(Buffer.from([5, 0])).kind, "refuse");
  });

  it("reads CONNECT to a 40-hex-digit hash with port 0, lowercased", () => {
    const full = request(1, 3, Buffer.from(HASH.toUpperCase()));
    assert.equal(readConnectRequest(full.subarray(0, 20)).kind, "more");
    assert.deepEqual(readConnectRequest(Buffer.concat([full, Buffer.from("x")])), {
      kind: "connect",
      hash: HASH,
      consumed: full.length,
    });
  });

  it("refuses other commands, address types, names and ports with the RFC 1928 §6 reply codes", () => {
    const code = (buf: Buffer) => {
      const s = readConnectRequest(buf);
      assert.equal(s.kind, "refuse");
      return s.kind === "refuse" ? s.reply?.[1] : undefined;
    };
    assert.equal(code(request(2, 3, Buffer.from(HASH))), 7); // BIND
    assert.equal(code(request(1, 1, Buffer.from([127, 0, 0, 1]))), 8); // IPv4
    assert.equal(code(request(1, 3, Buffer.from("example.com"))), 2);
    assert.equal(code(request(1, 3, Buffer.from(HASH), 80)), 2);
  });

  it("echoes the hash and port 0 in its reply (XEP-0065 §5.3.2)", () => {
    const r = replyFor(0, HASH);
    assert.deepEqual([...r.subarray(0, 5)], [5, 0, 0, 3, 40]);
    assert.equal(r.subarray(5, 45).toString(), HASH);
    assert.deepEqual([...r.subarray(45)], [0, 0]);
  });
});
