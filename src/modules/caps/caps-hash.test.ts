import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NS_CLIENT } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { capsHash, verificationString, verifyCaps } from "./caps-hash.js";

const parse = (text: string) => parseFramedElement(text, { maxStanzaBytes: 1 << 20, maxDepth: 32 }, NS_CLIENT);

// XEP-0115 §5.2 (simple generation example).
const SIMPLE = `<query xmlns='http://jabber.org/protocol/disco#info'>
  <identity category='client' name='Exodus 0.9.1' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
</query>`;

// XEP-0115 §5.3 (complex generation example), with an extended form and two identities.
const COMPLEX = `<query xmlns='http://jabber.org/protocol/disco#info'>
  <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
  <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
  <x xmlns='jabber:x:data' type='result'>
    <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
    <field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>
    <field var='os'><value>Mac</value></field>
    <field var='os_version'><value>10.5.1</value></field>
    <field var='software'><value>Psi</value></field>
    <field var='software_version'><value>0.11</value></field>
  </x>
</query>`;

describe("entity capabilities hash (XEP-0115 §5)", () => {
  it("computes the §5.2 simple example", () => {
    const q = parse(SIMPLE);
    assert.equal(
      verificationString(q),
      "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<",
    );
    assert.equal(capsHash(q), "QgayPKawpkPSDYmwT/WM94uAlu0=");
    assert.ok(verifyCaps(q, "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0="));
  });

  it("computes the §5.3 complex example (identities with xml:lang, an extended form)", () => {
    const q = parse(COMPLEX);
    assert.equal(
      verificationString(q),
      "client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<",
    );
    assert.equal(capsHash(q), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
  });

  it("rejects a wrong ver, an unknown hash and the §5.4 ill-formed cases", () => {
    assert.equal(verifyCaps(parse(SIMPLE), "sha-1", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), false);
    assert.equal(verifyCaps(parse(SIMPLE), "sha-3-foo", "QgayPKawpkPSDYmwT/WM94uAlu0="), false);
    const dupFeature = SIMPLE.replace("</query>", "<feature var='http://jabber.org/protocol/muc'/></query>");
    assert.equal(verifyCaps(parse(dupFeature), "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0="), false);
    const dupIdentity = SIMPLE.replace("</query>", "<identity category='client' name='Exodus 0.9.1' type='pc'/></query>");
    assert.equal(verifyCaps(parse(dupIdentity), "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0="), false);
  });

  it("supports the other hash functions of §8.1 (sha-256)", () => {
    const q = parse(SIMPLE);
    const v = capsHash(q, "sha-256");
    assert.ok(verifyCaps(q, "sha-256", v));
    assert.notEqual(v, capsHash(q, "sha-1"));
  });
});
