import assert from "node:assert/strict";
import { test } from "node:test";
import { StanzaError } from "../../core/errors.js";
import type { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { buildPublish, disablesRegistration, parseDisable, parseEnable, pushWorthy, redelivered } from "./codec.js";

const parse = (s: string): Element => parseFramedElement(s, { maxStanzaBytes: 65536, maxDepth: 32 }, NS_CLIENT);
const payload = (iq: string): Element => parse(iq).elements()[0] as Element;

// XEP-0357 §5, example "Enabling Notifications, with provided publish options" (form type added: XEP-0004 needs one).
const ENABLE_WITH_OPTIONS =
  "<iq type='set' id='x43'><enable xmlns='urn:xmpp:push:0' jid='push-5.client.example' node='yxs32uqsflafdk3iuqo'>" +
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
  "<field var='secret'><value>eruio234vzxc2kla-91</value></field></x></enable></iq>";

test("§5: enable with publish-options keeps the form's fields for every publish", () => {
  const reg = parseEnable(payload(ENABLE_WITH_OPTIONS), 42);
  assert.deepEqual(reg, {
    jid: "push-5.client.example",
    node: "yxs32uqsflafdk3iuqo",
    options: [{ var: "secret", values: ["eruio234vzxc2kla-91"] }],
    since: 42,
  });
});

test("§5: jid and node are required, the form must be publish-options", () => {
  const code = (s: string) => {
    try {
      parseEnable(payload(s), 0);
      return "ok";
    } catch (err) {
      return err instanceof StanzaError ? err.condition : "throw";
    }
  };
  assert.equal(code("<iq><enable xmlns='urn:xmpp:push:0' node='n'/></iq>"), "bad-request");
  assert.equal(code("<iq><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>"), "bad-request");
  assert.equal(code("<iq><enable xmlns='urn:xmpp:push:0' jid='a@@b' node='n'/></iq>"), "jid-malformed");
  assert.equal(
    code("<iq><enable xmlns='urn:xmpp:push:0' jid='p.example' node='n'><x xmlns='jabber:x:data' type='submit'/></enable></iq>"),
    "bad-request",
  );
  assert.equal(code("<iq><enable xmlns='urn:xmpp:push:0' jid='p.example' node='n'/></iq>"), "ok");
});

test("§6: disable with and without node", () => {
  assert.deepEqual(parseDisable(payload("<iq><disable xmlns='urn:xmpp:push:0' jid='push-5.client.example'/></iq>")), {
    jid: "push-5.client.example",
    node: undefined,
  });
  assert.deepEqual(
    parseDisable(payload("<iq><disable xmlns='urn:xmpp:push:0' jid='push-5.client.example' node='yxs32uqsflafdk3iuqo'/></iq>")),
    { jid: "push-5.client.example", node: "yxs32uqsflafdk3iuqo" },
  );
});

test("§7: the publish has the summary form and the publish-options, as in the XEP's example", () => {
  const reg = parseEnable(payload(ENABLE_WITH_OPTIONS), 0);
  const iq = buildPublish("user@example.com", reg, { messageCount: 1, lastSender: "juliet@capulet.example", lastBody: "Wherefore art thou, Romeo?" });
  assert.equal(
    iq.toString(NS_CLIENT),
    '<iq type="set" from="user@example.com" to="push-5.client.example">' +
      '<pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="yxs32uqsflafdk3iuqo"><item>' +
      '<notification xmlns="urn:xmpp:push:0"><x xmlns="jabber:x:data" type="submit">' +
      '<field var="FORM_TYPE" type="hidden"><value>urn:xmpp:push:summary</value></field>' +
      '<field var="message-count"><value>1</value></field>' +
      '<field var="last-message-sender"><value>juliet@capulet.example</value></field>' +
      '<field var="last-message-body"><value>Wherefore art thou, Romeo?</value></field>' +
      "</x></notification></item></publish>" +
      '<publish-options><x xmlns="jabber:x:data" type="submit">' +
      '<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#publish-options</value></field>' +
      '<field var="secret"><value>eruio234vzxc2kla-91</value></field></x></publish-options></pubsub></iq>',
  );
  const bare = buildPublish("user@example.com", parseEnable(payload("<iq><enable xmlns='urn:xmpp:push:0' jid='p.example' node='n'/></iq>"), 0), {
    messageCount: 3,
  });
  assert.equal(bare.getChild("pubsub", "http://jabber.org/protocol/pubsub")?.getChild("publish-options"), undefined);
});

test("§7.1: errors disable the registration unless they say wait", () => {
  assert.equal(disablesRegistration(parse("<iq type='result'/>")), false);
  assert.equal(disablesRegistration(parse("<iq type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")), true);
  assert.equal(disablesRegistration(parse("<iq type='error'><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")), true);
  assert.equal(disablesRegistration(parse("<iq type='error'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")), false);
});

test("what wakes a device: bodies, encrypted payloads, calls; not chat states, errors, groupchat, carbons", () => {
  assert.equal(pushWorthy(parse("<message type='chat'><body>hi</body></message>")), true);
  assert.equal(pushWorthy(parse("<message><body>hi</body></message>")), true);
  assert.equal(pushWorthy(parse("<message type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>")), true);
  assert.equal(pushWorthy(parse("<message><propose xmlns='urn:xmpp:jingle-message:0' id='c'/></message>")), true);
  assert.equal(pushWorthy(parse("<message type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>")), false);
  assert.equal(pushWorthy(parse("<message type='chat'><body>  </body></message>")), false);
  for (const type of ["error", "groupchat", "headline"]) assert.equal(pushWorthy(parse(`<message type='${type}'><body>x</body></message>`)), false, type);
  assert.equal(
    pushWorthy(parse("<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>x</body></message></forwarded></received></message>")),
    false,
  );
  assert.equal(pushWorthy(parse("<iq type='set'/>")), false);
});

test("a message stamped by this server is a redelivery", () => {
  assert.equal(redelivered(parse("<message><body>x</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='2020-01-01T00:00:00Z'/></message>"), "localhost"), true);
  assert.equal(redelivered(parse("<message><body>x</body><delay xmlns='urn:xmpp:delay' from='remote.example' stamp='2020-01-01T00:00:00Z'/></message>"), "localhost"), false);
  assert.equal(redelivered(parse("<message><body>x</body></message>"), "localhost"), false);
});
