// A stored archive message inside a result keeps its content when the result is copied (a session's
// unacknowledged stanzas are cloned before they are sent again, XEP-0198).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Element } from "../../core/xml/element.js";
import { NS_FORWARD, NS_MAM } from "../../core/xml/ns.js";
import { StoredXml } from "./stored-xml.js";

const RAW = `<message xmlns="jabber:client" from="bob@localhost/mam" to="carol@localhost/web" id="a2"><body>answer</body></message>`;

test("a StoredXml writes its raw text, alone, in a result, and in a copy of the result", () => {
  const stored = new StoredXml(RAW);
  assert.equal(stored.toString(), RAW);
  const result = new Element("result", NS_MAM, { id: "x" });
  result.c("forwarded", NS_FORWARD).append(stored);
  const message = new Element("message", "jabber:client", { to: "carol@localhost/web" }, [result]);
  assert.ok(message.toString("jabber:client").includes(RAW));
  assert.equal(message.clone().toString("jabber:client"), message.toString("jabber:client"));
});
