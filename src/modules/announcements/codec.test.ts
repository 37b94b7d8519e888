import assert from "node:assert/strict";
import { test } from "node:test";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import {
  buildAnnouncement,
  extractParts,
  isAnnounceResource,
  motdFromJson,
  motdToJson,
  newMotd,
  parseAction,
} from "./codec.js";

test("announce addresses", () => {
  assert.equal(parseAction("announce/online"), "online");
  assert.equal(parseAction("announce/motd"), "motd");
  assert.equal(parseAction("announce/motd/update"), "motd-update");
  assert.equal(parseAction("announce/motd/delete"), "motd-delete");
  assert.equal(parseAction("announce/all"), undefined);
  assert.ok(isAnnounceResource("announce/all"));
  assert.ok(isAnnounceResource("announce"));
  assert.ok(!isAnnounceResource("announcer"));
  assert.ok(!isAnnounceResource("room"));
});

test("keeps subjects and bodies with their xml:lang (RFC 6121 §5.2.3), drops the rest", () => {
  const msg = new Element("message", NS_CLIENT, { to: "example.com/announce/online", type: "chat" }, [
    new Element("subject", NS_CLIENT, {}, ["Maintenance"]),
    new Element("body", NS_CLIENT, {}, ["Down at 22:00"]),
    new Element("body", NS_CLIENT, { "xml:lang": "de" }, ["Ab 22 Uhr offline"]),
    new Element("body", NS_CLIENT, {}, ["   "]),
    new Element("request", "urn:xmpp:receipts"),
    new Element("active", "http://jabber.org/protocol/chatstates"),
  ]);
  const parts = extractParts(msg);
  assert.deepEqual(parts, [
    { kind: "subject", text: "Maintenance" },
    { kind: "body", text: "Down at 22:00" },
    { kind: "body", lang: "de", text: "Ab 22 Uhr offline" },
  ]);
  const out = buildAnnouncement("example.com", "juliet@example.com/balcony", parts);
  assert.equal(out.attrs.from, "example.com");
  assert.equal(out.attrs.to, "juliet@example.com/balcony");
  assert.equal(out.attrs.type, "normal");
  assert.ok(out.attrs.id);
  assert.equal(out.getChildText("subject"), "Maintenance");
  assert.equal(out.getChildren("body").length, 2);
  assert.equal(out.getChildren("body")[1]?.attrs["xml:lang"], "de");
});

test("a stored MOTD reads back; anything else is refused", () => {
  const motd = newMotd([
    { kind: "body", text: "hello" },
    { kind: "subject", lang: "en", text: "MOTD" },
  ]);
  assert.deepEqual(motdFromJson(JSON.parse(JSON.stringify(motdToJson(motd)))), motd);
  assert.notEqual(newMotd(motd.parts).id, motd.id);
  assert.equal(motdFromJson(undefined), undefined);
  assert.equal(motdFromJson("hello"), undefined);
  assert.equal(motdFromJson({ id: "x", parts: [{ kind: "thread", text: "t" }] }), undefined);
});
