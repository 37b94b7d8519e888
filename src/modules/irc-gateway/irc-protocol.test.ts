// IRC lines from hostile servers and to the wire (RFC 2812 §2.3.1), IRC text as XMPP text, and addresses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tlsOptionsFor } from "./irc-connection.js";
import { IrcLineReader, parseIrcLine, serialiseIrcLine, splitUtf8 } from "./irc-protocol.js";
import { decodeIrcText, encodeIrcText, stripFormatting } from "./irc-text.js";
import { ircLower, isSafeNick, parseChannelLocalpart, parseUserLocalpart } from "./jid-mapping.js";

describe("irc-protocol", () => {
  it("parses prefix, command, middle and trailing parameters; skips tags", () => {
    assert.deepEqual(parseIrcLine(":bob!b@h PRIVMSG #test :hi there"), {
      prefix: "bob!b@h",
      command: "PRIVMSG",
      params: ["#test", "hi there"],
    });
    assert.deepEqual(parseIrcLine("@time=x :s 353 me = #c :@a +b"), {
      prefix: "s",
      command: "353",
      params: ["me", "=", "#c", "@a +b"],
    });
    assert.deepEqual(parseIrcLine("ping :x"), { prefix: "", command: "PING", params: ["x"] });
  });

  it("refuses lines without a command", () => {
    for (const bad of [":", ":prefix", "@tags", "", "   ", "12 x", "PRIV-MSG x"])
      assert.equal(parseIrcLine(bad), undefined, bad);
  });

  it("serialises without letting a parameter inject a command", () => {
    assert.equal(serialiseIrcLine("PRIVMSG", "#c", "hi\r\nQUIT :x"), "PRIVMSG #c :hi  QUIT :x\r\n");
    assert.equal(serialiseIrcLine("JOIN", "#a b"), "JOIN :#a b\r\n");
    assert.equal(serialiseIrcLine("PRIVMSG", ":evil x", "t"), "PRIVMSG evilx t\r\n");
    assert.equal(serialiseIrcLine("TOPIC", "#c", ""), "TOPIC #c :\r\n");
  });

  it("reads lines across chunks, drops over-long ones whole, replaces invalid UTF-8", () => {
    const lines: string[] = [];
    let overlong = 0;
    const r = new IrcLineReader(
      600,
      (l) => lines.push(l),
      () => overlong++,
    );
    r.push(Buffer.from("PING :a\r\nPRIV"));
    r.push(Buffer.concat([Buffer.from("MSG #c :"), Buffer.from([0xc3])])); // é split across chunks
    r.push(Buffer.concat([Buffer.from([0xa9, 0xff]), Buffer.from("\r\n")]));
    r.push(Buffer.from(`${"x".repeat(700)}\r\nPING :b\n`));
    r.push(Buffer.from("y".repeat(5000)));
    r.push(Buffer.from("\nPING :c\r\n"));
    assert.deepEqual(lines, ["PING :a", "PRIVMSG #c :é\ufffd", "PING :b", "PING :c"]);
    assert.equal(overlong, 2);
  });

  it("random bytes never throw, and no line grows past the cap", () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = Buffer.from(" :!@#%+\r\n\x01\x02\x03\x00\xff\xc3PRIVMSGJOIN353abc0123");
    for (let round = 0; round < 200; round++) {
      const r = new IrcLineReader(
        512,
        (line) => {
          assert.ok(Buffer.byteLength(line) <= 512 * 3, "a line within the cap (U+FFFD may triple a byte)");
          const msg = parseIrcLine(line);
          if (msg) decodeIrcText(msg.params.at(-1) ?? "");
        },
        () => {},
      );
      for (let chunk = 0; chunk < 20; chunk++) {
        const bytes = Buffer.alloc(Math.floor(rand() * 300), 0).map(
          () => alphabet[Math.floor(rand() * alphabet.length)]!,
        );
        r.push(Buffer.from(bytes));
      }
    }
  });

  it("splits text on UTF-8 boundaries", () => {
    const parts = splitUtf8("é".repeat(5), 4);
    assert.deepEqual(parts, ["éé", "éé", "é"]);
  });
});

describe("irc-text", () => {
  it("strips mIRC formatting and what XML cannot carry", () => {
    assert.equal(
      stripFormatting("\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f \x04ff0000hex\x00\x07"),
      "bold red italic hex",
    );
  });
  it("CTCP: ACTION is /me, everything else is dropped", () => {
    assert.deepEqual(decodeIrcText("\x01ACTION waves\x01"), { kind: "action", body: "waves" });
    assert.deepEqual(decodeIrcText("\x01VERSION\x01"), { kind: "ctcp" });
    assert.deepEqual(encodeIrcText("/me nods"), { action: true, text: "nods" });
    assert.deepEqual(encodeIrcText("/meh"), { action: false, text: "/meh" });
  });
});

describe("jid-mapping (biboumi addressing)", () => {
  it("channel%server and nick%server", () => {
    assert.deepEqual(parseChannelLocalpart("#test%irc.libera.chat"), { channel: "#test", server: "irc.libera.chat" });
    assert.deepEqual(parseUserLocalpart("bob%irc.libera.chat"), { nick: "bob", server: "irc.libera.chat" });
    assert.deepEqual(
      parseUserLocalpart("bob!irc.libera.chat"),
      { nick: "bob", server: "irc.libera.chat" },
      "biboumi 1.x",
    );
    for (const bad of ["test%irc", "#%irc", "#a,b%irc", "#test%", "#te st%x"])
      assert.equal(parseChannelLocalpart(bad), undefined, bad);
    for (const bad of ["!irc", "bob!", "1bob!irc", "b b%irc", "%irc"])
      assert.equal(parseUserLocalpart(bad), undefined, bad);
  });
  it("nicks from a server that cannot be JID resources are refused", () => {
    for (const ok of ["bob", "Bob[away]", "b|o_b-", "ñandú"]) assert.ok(isSafeNick(ok), ok);
    for (const bad of ["", "a b", "a/b", "a\x01", "a@b", "x".repeat(65), "a\ufffd"])
      assert.ok(!isSafeNick(bad), JSON.stringify(bad));
  });
  it("rfc1459 case mapping", () => {
    assert.equal(ircLower("Nick[A]\\~"), "nick{a}|^");
  });
});

describe("TLS options for a server entry", () => {
  it("verifies by default, with SNI on a host name and none on an address", () => {
    const named = tlsOptionsFor({ host: "irc.libera.chat", port: 6697, tls: true, tls_verify: true });
    assert.equal(named.rejectUnauthorized, true);
    assert.equal(named.servername, "irc.libera.chat");
    const byAddress = tlsOptionsFor({ host: "127.0.0.1", port: 6697, tls: true, tls_verify: false });
    assert.equal(byAddress.rejectUnauthorized, false);
    assert.equal(byAddress.servername, undefined);
  });
});
