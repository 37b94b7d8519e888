// The XEP-0227 reader on its own: document order, line numbers, xi:include (XEP-0227 §5) at both levels, and
// the refusals (self-include, depth, foreign root).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Element } from "../core/xml/element.js";
import { DEFAULT_READER_LIMITS, type PieVisitor, readPieFile } from "./pie-reader.js";
import { MigrationFileError } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "natter-pie-reader-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function recorder(refuse: string[] = []): { visitor: PieVisitor; events: string[] } {
  const events: string[] = [];
  const visitor: PieVisitor = {
    async host(jid, at) {
      events.push(`host ${jid} @${at.line}`);
      return !refuse.includes(jid);
    },
    async user(host, user: Element, at) {
      events.push(
        `user ${user.attrs.name}@${host} @${at.line} children=${user
          .elements()
          .map((e) => e.name)
          .join(",")}`,
      );
    },
    async hostElement(host, el, at) {
      events.push(`host-element ${el.name}@${host} @${at.line}`);
    },
    problem(at, message) {
      events.push(`problem @${at.line}: ${message}`);
    },
  };
  return { visitor, events };
}

describe("XEP-0227 reader", () => {
  it("reports hosts, users with their lines and children, host-level elements; skips refused hosts", async () => {
    const path = file(
      "a.xml",
      [
        "<?xml version='1.0'?>",
        "<!-- comments are fine in a file -->",
        "<server-data xmlns='urn:xmpp:pie:0'>",
        "  <host jid='a.example'>",
        "    <user name='alice'><query xmlns='jabber:iq:roster'/>",
        "      <vCard xmlns='vcard-temp'/></user>",
        "    <room xmlns='urn:natter:pie:0'/>",
        "  </host>",
        "  <host jid='b.example'><user name='bob'/></host>",
        "  <host><user name='x'/></host>",
        "</server-data>",
      ].join("\n"),
    );
    const { visitor, events } = recorder(["b.example"]);
    await readPieFile(path, visitor);
    assert.deepEqual(events, [
      "host a.example @4",
      "user alice@a.example @5 children=query,vCard",
      "host-element room@a.example @7",
      "host b.example @9",
      "problem @10: <host/> without jid: its users are skipped",
    ]);
  });

  it("follows xi:include under <server-data/> and under <host/>, relative to the including file", async () => {
    file("inc-user.xml", "<user xmlns='urn:xmpp:pie:0' name='carol'/>");
    file(
      "inc-host.xml",
      "<host xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude' jid='c.example'>\n<xi:include href='inc-user.xml'/></host>",
    );
    const main = file(
      "main.xml",
      "<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='inc-host.xml'/>\n<host jid='d.example'><xi:include href='inc-user.xml'/></host></server-data>",
    );
    const { visitor, events } = recorder();
    await readPieFile(main, visitor);
    assert.deepEqual(events, [
      "host c.example @1",
      "user carol@c.example @1 children=",
      "host d.example @2",
      "user carol@d.example @1 children=",
    ]);
  });

  it("stops with the line at malformed XML, a foreign root, a self-include and too deep a user", async () => {
    const { visitor } = recorder();
    const cases: [string, RegExp][] = [
      ["<server-data xmlns='urn:xmpp:pie:0'>\n<host jid='a'>\n<user name='a'>\n</host>", /^line 4: /],
      ["<query xmlns='jabber:iq:roster'/>", /is not XEP-0227/],
      [
        "<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='self.xml'/></server-data>",
        /includes itself/,
      ],
      [
        `<server-data xmlns='urn:xmpp:pie:0'><host jid='a'><user name='a'>${"<x>".repeat(70)}${"</x>".repeat(70)}</user></host></server-data>`,
        /nested deeper than 64/,
      ],
      ["<!DOCTYPE a [<!ENTITY b 'c'>]><server-data xmlns='urn:xmpp:pie:0'/>", /DOCTYPE is not allowed/],
    ];
    for (const [text, expected] of cases) {
      const path = file("self.xml", text);
      await assert.rejects(readPieFile(path, visitor, DEFAULT_READER_LIMITS), (err: unknown) => {
        assert.ok(err instanceof MigrationFileError, String(err));
        assert.match(err.message, expected);
        return true;
      });
    }
  });
});
