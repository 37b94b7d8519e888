import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeDnValue, escapeFilterValue, fillTemplate } from "./ldap-escape.js";

describe("LDAP escaping", () => {
  it("escapes filter metacharacters per RFC 4515 §3 (its own examples)", () => {
    assert.equal(
      escapeFilterValue("Parens R Us (for all your parenthetical needs)"),
      "Parens R Us \\28for all your parenthetical needs\\29",
    );
    assert.equal(escapeFilterValue("*"), "\\2a");
    assert.equal(escapeFilterValue("C:\\MYFILE"), "C:\\5cMYFILE");
    assert.equal(escapeFilterValue("a\u0000b"), "a\\00b");
    assert.equal(escapeFilterValue("é"), "\\c3\\a9");
  });

  it("keeps an injected filter inside its assertion", () => {
    assert.equal(
      fillTemplate("(&(objectClass=person)(uid=%u))", "*)(uid=*", "example.org", escapeFilterValue),
      "(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))",
    );
  });

  it("escapes DN values per RFC 4514 §2.4", () => {
    assert.equal(
      fillTemplate("uid=%u,ou=people,dc=example,dc=org", "x,ou=admins", "h", escapeDnValue),
      "uid=x\\,ou\\=admins,ou=people,dc=example,dc=org",
    );
    assert.equal(escapeDnValue(" #a "), "\\ #a\\ ");
    assert.equal(escapeDnValue("#a"), "\\#a");
  });
});
