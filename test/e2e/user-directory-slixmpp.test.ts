// XEP-0055 interop with slixmpp (Debian's python3-slixmpp, run with /usr/bin/python3): the script publishes its
// own vCard with xep_0054, finds search.localhost by its disco feature, reads the form and searches with the
// xep_0055 plugin's data form; it finds itself and a vCard @xmpp/client published, and gets not-acceptable for a
// one-character value.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";

interface SearchResult {
  ok: boolean;
  service?: string;
  form_fields?: string[];
  by_nick?: Record<string, string>[];
  by_email?: Record<string, string>[];
  short_error?: string | null;
  error?: string;
}

describe("user-directory with slixmpp's xep_0055", { timeout: 120_000 }, () => {
  useSlixmpp();
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ yaml: ["modules:", "  user-directory:"].join("\n") });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    const bob = await connect(ts, "bob", "bob-secret");
    const r = await bob.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml(
          "vCard",
          "vcard-temp",
          xml("N", {}, xml("FAMILY", {}, "Builder"), xml("GIVEN", {}, "Bob")),
          xml("NICKNAME", {}, "fixer"),
          xml("EMAIL", {}, xml("USERID", {}, "bob@builders.example")),
        ),
      ),
    );
    assert.equal(r.attrs.type, "result");
    await bob.stop();
  });

  after(async () => {
    await ts?.stop();
  });

  it("discovers the service, reads the form and finds users by nickname and email", async () => {
    const r = await runSlixmpp<SearchResult>("user_search.py", {
      host: "127.0.0.1",
      port: ts.port,
      jid: "alice@localhost",
      password: "alice-secret",
      given: "Alice",
      family: "Liddell",
      nick: "Wonder",
      email: "alice@wonderland.example",
      search_nick: "wond",
      search_email: "builders.ex",
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.service, "search.localhost");
    assert.deepEqual(r.form_fields, ["FORM_TYPE", "first", "last", "nick", "email"]);
    assert.deepEqual(r.by_nick, [
      { jid: "alice@localhost", first: "Alice", last: "Liddell", nick: "Wonder", email: "alice@wonderland.example" },
    ]);
    assert.deepEqual(r.by_email, [
      { jid: "bob@localhost", first: "Bob", last: "Builder", nick: "fixer", email: "bob@builders.example" },
    ]);
    assert.equal(r.short_error, "not-acceptable");
  });
});
