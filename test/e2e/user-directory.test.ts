// XEP-0055 Jabber Search as a user directory, as users see it: vCards published over @xmpp/client are found
// through search.localhost (found by disco) by nickname, family name and email, with the legacy fields and the
// data form; the refusals (short query, unknown field, stranger, too many searches), the result cap and paging,
// the opt-out command, a vCard edit, and the index rebuilt after a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { errorOf, iq, runCommand } from "../helpers/adhoc.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_SEARCH = "jabber:iq:search";
const NS_DATA = "jabber:x:data";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const LISTING = "https://natter.im/protocol/user-directory#listing";
const SEARCH = "search.localhost";

function vCard(given: string, family: string, nick: string, email: string, photo = false): XmlElement {
  return xml(
    "vCard",
    "vcard-temp",
    // A photo first: the index built at start skips photos without losing what follows.
    ...(photo
      ? [xml("PHOTO", {}, xml("TYPE", {}, "image/png"), xml("BINVAL", {}, Buffer.alloc(30_000, 7).toString("base64")))]
      : []),
    xml("FN", {}, `${given} ${family}`),
    xml("N", {}, xml("FAMILY", {}, family), xml("GIVEN", {}, given)),
    xml("NICKNAME", {}, nick),
    xml("EMAIL", {}, xml("INTERNET"), xml("PREF"), xml("USERID", {}, email)),
  );
}

async function publish(c: ConnectedClient, card: XmlElement): Promise<void> {
  const r = await iq(c, "set", card, c.jid.split("/")[0]);
  assert.equal(r.attrs.type, "result", r.toString());
}

/** A legacy search (XEP-0055 §2.1): the reply as it came. */
const legacySearch = (c: ConnectedClient, fields: Record<string, string>, extra: XmlElement[] = [], to = SEARCH) =>
  iq(c, "set", xml("query", NS_SEARCH, ...Object.entries(fields).map(([k, v]) => xml(k, {}, v)), ...extra), to);

/** A data-form search (XEP-0055 §3). */
const formSearch = (c: ConnectedClient, fields: Record<string, string>) =>
  iq(
    c,
    "set",
    xml(
      "query",
      NS_SEARCH,
      xml(
        "x",
        { xmlns: NS_DATA, type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_SEARCH)),
        ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
      ),
    ),
    SEARCH,
  );

/** The <item/>s of a legacy result, as {jid, first, last, nick, email}. */
function legacyItems(r: XmlElement): Record<string, string>[] {
  assert.equal(r.attrs.type, "result", r.toString());
  return (r.getChild("query", NS_SEARCH) as XmlElement).getChildren("item").map((i) => ({
    jid: i.attrs.jid,
    first: i.getChildText("first") ?? "",
    last: i.getChildText("last") ?? "",
    nick: i.getChildText("nick") ?? "",
    email: i.getChildText("email") ?? "",
  }));
}

const jidsOf = (r: XmlElement) => legacyItems(r).map((i) => i.jid);

describe("user-directory (XEP-0055)", { timeout: 120_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let erin: ConnectedClient;

  before(async () => {
    ts = await startTestServer({
      hosts: ["other.test"],
      yaml: [
        "modules:",
        "  user-directory:",
        "    hosts: [localhost]",
        "    max_results: 3",
        "    searches_per_minute: 1000",
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    await ts.server.core.accounts.createUser("other.test", "erin", "erin-secret");
    alice = await connect(ts, "alice", "alice-secret");
    bob = await connect(ts, "bob", "bob-secret");
    erin = await connect({ ...ts, domain: "other.test" }, "erin", "erin-secret");
    await publish(alice, vCard("Alice", "Liddell", "Wonder", "alice@wonderland.example", true));
    await publish(bob, vCard("Bob", "Builder", "fixer", "bob@builders.example"));
    // Five users with the same family name, for the result cap and paging.
    for (let i = 1; i <= 5; i++) {
      await ts.addUser(`smith${i}`, "pw");
      const c = await connect(ts, `smith${i}`, "pw");
      await publish(c, vCard(`Given${i}`, "Smith", `smithy${i}`, `smith${i}@forge.example`));
      await c.stop();
    }
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await erin?.stop();
    await ts?.stop();
  });

  it("is found through the host's disco#items and says what it is (XEP-0030, XEP-0055 §6)", async () => {
    const items = await iq(alice, "get", xml("query", NS_DISCO_ITEMS), "localhost");
    const jids = (items.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
    assert.ok(jids.includes(SEARCH), jids.join(" "));
    const info = await iq(alice, "get", xml("query", NS_DISCO_INFO), SEARCH);
    const q = info.getChild("query", NS_DISCO_INFO) as XmlElement;
    const identity = q.getChild("identity") as XmlElement;
    assert.deepEqual([identity.attrs.category, identity.attrs.type], ["directory", "user"]);
    assert.ok(q.getChildren("feature").some((f) => f.attrs.var === NS_SEARCH));
  });

  it("is off on a host not listed in `hosts`", async () => {
    const items = await iq(erin, "get", xml("query", NS_DISCO_ITEMS), "other.test");
    const jids = (items.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
    assert.ok(!jids.includes("search.other.test"), jids.join(" "));
    const r = await iq(erin, "get", xml("query", NS_SEARCH), "search.other.test");
    assert.equal(r.attrs.type, "error");
  });

  it("offers the legacy search fields and the data form (§2.1, §3)", async () => {
    const r = await iq(alice, "get", xml("query", NS_SEARCH), SEARCH);
    assert.equal(r.attrs.type, "result", r.toString());
    const q = r.getChild("query", NS_SEARCH) as XmlElement;
    for (const f of ["first", "last", "nick", "email"]) assert.ok(q.getChild(f), `legacy <${f}/>`);
    assert.match(q.getChildText("instructions") ?? "", /at least 2 characters/);
    const x = q.getChild("x", NS_DATA) as XmlElement;
    assert.equal(x.attrs.type, "form");
    const vars = x.getChildren("field").map((f) => f.attrs.var);
    assert.deepEqual(vars, ["FORM_TYPE", "first", "last", "nick", "email"]);
    assert.equal(x.getChildren("field")[0]?.getChildText("value"), NS_SEARCH);
  });

  it("finds a user by nickname, case-insensitively, with the legacy fields", async () => {
    const items = legacyItems(await legacySearch(bob, { nick: "WOND" }));
    assert.deepEqual(items, [
      { jid: "alice@localhost", first: "Alice", last: "Liddell", nick: "Wonder", email: "alice@wonderland.example" },
    ]);
  });

  it("finds a user by part of the family name, and by two fields at once", async () => {
    assert.deepEqual(jidsOf(await legacySearch(alice, { last: "uild" })), ["bob@localhost"]);
    assert.deepEqual(jidsOf(await legacySearch(alice, { last: "builder", first: "bo" })), ["bob@localhost"]);
    assert.deepEqual(jidsOf(await legacySearch(alice, { last: "builder", first: "alice" })), []);
  });

  it("finds a user by an email substring with the data form, and answers with a result form (§3)", async () => {
    const r = await formSearch(bob, { email: "wonderland" });
    assert.equal(r.attrs.type, "result", r.toString());
    const x = (r.getChild("query", NS_SEARCH) as XmlElement).getChild("x", NS_DATA) as XmlElement;
    assert.equal(x.attrs.type, "result");
    const reported = (x.getChild("reported") as XmlElement).getChildren("field").map((f) => f.attrs.var);
    assert.deepEqual(reported, ["jid", "first", "last", "nick", "email"]);
    const rows = x
      .getChildren("item")
      .map((item) => Object.fromEntries(item.getChildren("field").map((f) => [f.attrs.var, f.getChildText("value")])));
    assert.deepEqual(rows, [
      { jid: "alice@localhost", first: "Alice", last: "Liddell", nick: "Wonder", email: "alice@wonderland.example" },
    ]);
  });

  it("answers no match with an empty <query/> (§2.1)", async () => {
    const r = await legacySearch(alice, { nick: "nobody-has-this" });
    assert.equal(r.attrs.type, "result");
    assert.equal((r.getChild("query", NS_SEARCH) as XmlElement).children.length, 0);
  });

  it("refuses a query shorter than min_query_length, or none at all, with not-acceptable", async () => {
    assert.equal(errorOf(await legacySearch(alice, { nick: "w" })).condition, "not-acceptable");
    assert.equal(errorOf(await legacySearch(alice, { nick: "  " })).condition, "not-acceptable");
    assert.equal(errorOf(await formSearch(alice, { last: "L" })).condition, "not-acceptable");
    assert.equal(errorOf(await legacySearch(alice, {})).condition, "not-acceptable");
  });

  it("refuses an unknown field with bad-request, in either form", async () => {
    assert.equal(errorOf(await legacySearch(alice, { age: "42" })).condition, "bad-request");
    assert.equal(errorOf(await formSearch(alice, { age: "42" })).condition, "bad-request");
  });

  it("refuses a user of another domain with forbidden (access: local)", async () => {
    assert.equal(errorOf(await legacySearch(erin, { nick: "wonder" })).condition, "forbidden");
    assert.equal(errorOf(await iq(erin, "get", xml("query", NS_SEARCH), SEARCH)).condition, "forbidden");
  });

  it("returns at most max_results users, and pages through the rest with XEP-0059", async () => {
    assert.equal(legacyItems(await legacySearch(alice, { last: "smith" })).length, 3);
    const page1 = await legacySearch(alice, { last: "smith" }, [xml("set", NS_RSM, xml("max", {}, "2"))]);
    const first = jidsOf(page1);
    assert.deepEqual(first, ["smith1@localhost", "smith2@localhost"]);
    const last = (page1.getChild("query", NS_SEARCH) as XmlElement).getChild("set", NS_RSM)?.getChildText("last");
    assert.equal(last, "smith2@localhost");
    const page2 = await legacySearch(alice, { last: "smith" }, [
      xml("set", NS_RSM, xml("max", {}, "10"), xml("after", {}, last as string)),
    ]);
    // <max/> above max_results is capped.
    assert.deepEqual(jidsOf(page2), ["smith3@localhost", "smith4@localhost", "smith5@localhost"]);
    const page3 = await legacySearch(alice, { last: "smith" }, [
      xml("set", NS_RSM, xml("after", {}, "smith5@localhost")),
    ]);
    assert.deepEqual(jidsOf(page3), []);
  });

  it("follows a vCard edit at once", async () => {
    await publish(bob, vCard("Bob", "Builder", "handyman", "bob@builders.example"));
    assert.deepEqual(jidsOf(await legacySearch(alice, { nick: "fixer" })), []);
    assert.deepEqual(jidsOf(await legacySearch(alice, { nick: "handy" })), ["bob@localhost"]);
  });

  it("lets a user opt out of the directory and back in with the listing command", async () => {
    const off = await runCommand(alice, LISTING, { listed: "0" });
    assert.equal(off.attrs.type, "result", off.toString());
    assert.deepEqual(jidsOf(await legacySearch(bob, { nick: "wonder" })), []);
    assert.deepEqual(jidsOf(await legacySearch(bob, { email: "wonderland" })), []);
    const on = await runCommand(alice, LISTING, { listed: "1" });
    assert.equal(on.attrs.type, "result", on.toString());
    assert.deepEqual(jidsOf(await legacySearch(bob, { nick: "wonder" })), ["alice@localhost"]);
  });

  it("drops a user whose vCard is emptied", async () => {
    await ts.addUser("dora", "pw");
    const dora = await connect(ts, "dora", "pw");
    await publish(dora, vCard("Dora", "Explorer", "dorita", "dora@maps.example"));
    assert.deepEqual(jidsOf(await legacySearch(alice, { nick: "dorita" })), ["dora@localhost"]);
    await publish(dora, xml("vCard", "vcard-temp"));
    assert.deepEqual(jidsOf(await legacySearch(alice, { nick: "dorita" })), []);
    await dora.stop();
  });

  it("keeps the opt-out across a restart and rebuilds the index from the stored vCards", async () => {
    await runCommand(bob, LISTING, { listed: "0" });
    await alice.stop();
    await bob.stop();
    await erin.stop();
    await ts.restart();
    alice = await connect(ts, "alice", "alice-secret");
    bob = await connect(ts, "bob", "bob-secret");
    erin = await connect({ ...ts, domain: "other.test" }, "erin", "erin-secret");
    assert.deepEqual(legacyItems(await legacySearch(bob, { nick: "wonder" })), [
      { jid: "alice@localhost", first: "Alice", last: "Liddell", nick: "Wonder", email: "alice@wonderland.example" },
    ]);
    assert.deepEqual(jidsOf(await legacySearch(alice, { nick: "handy" })), []);
    assert.deepEqual(jidsOf(await legacySearch(alice, { last: "smith" })).length, 3);
  });
});

describe("user-directory with access: everyone and a search rate limit", { timeout: 60_000 }, () => {
  let ts: TestServer;
  let erin: ConnectedClient;

  before(async () => {
    ts = await startTestServer({
      hosts: ["other.test"],
      yaml: [
        "modules:",
        "  user-directory:",
        "    access: everyone",
        "    searches_per_minute: 2",
        '    domain: "directory.{host}"',
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    await ts.server.core.accounts.createUser("other.test", "erin", "erin-secret");
    const alice = await connect(ts, "alice", "alice-secret");
    await publish(alice, vCard("Alice", "Liddell", "Wonder", "alice@wonderland.example"));
    await alice.stop();
    erin = await connect({ ...ts, domain: "other.test" }, "erin", "erin-secret");
  });

  after(async () => {
    await erin?.stop();
    await ts?.stop();
  });

  it("lets a user of another domain search, until the per-user rate limit says wait", async () => {
    const at = "directory.localhost";
    assert.deepEqual(jidsOf(await legacySearch(erin, { nick: "wonder" }, [], at)), ["alice@localhost"]);
    assert.deepEqual(jidsOf(await legacySearch(erin, { last: "lidd" }, [], at)), ["alice@localhost"]);
    const refused = errorOf(await legacySearch(erin, { nick: "wonder" }, [], at));
    assert.deepEqual([refused.condition, refused.type], ["resource-constraint", "wait"]);
  });

  it("gives every host its own service when `hosts` is not set, at `domain` with {host} replaced", async () => {
    const items = await iq(erin, "get", xml("query", NS_DISCO_ITEMS), "other.test");
    const jids = (items.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
    assert.ok(jids.includes("directory.other.test"), jids.join(" "));
    const own = await iq(erin, "get", xml("query", NS_SEARCH), "directory.other.test");
    assert.equal(own.attrs.type, "result", own.toString());
    // alice is a user of localhost: the other host's directory does not list her.
    assert.deepEqual(jidsOf(await legacySearch(erin, { nick: "wonder" }, [], "directory.other.test")), []);
  });
});
