// XEP-0313 message archive as users see it: both parties' copies, RSM paging both ways over 1,000
// messages, the form filters, stanza-ids on delivery that name the archive item, preferences, errors,
// metadata, retention and disco.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_MAM = "urn:xmpp:mam:2";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_SID = "urn:xmpp:sid:0";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

async function sync(c: ConnectedClient): Promise<void> {
  await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

function form(fields: Record<string, string | string[]>): XmlElement {
  return xml(
    "x",
    { xmlns: "jabber:x:data", type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_MAM)),
    ...Object.entries(fields).map(([k, v]) =>
      xml("field", { var: k }, ...(Array.isArray(v) ? v : [v]).map((one) => xml("value", {}, one))),
    ),
  );
}

interface Page {
  items: { id: string; body: string | undefined; from: string; to: string; stamp: string; message: XmlElement }[];
  fin: XmlElement;
  first?: string;
  last?: string;
  count?: number;
  complete: boolean;
}

let queryCounter = 0;
async function query(
  c: ConnectedClient,
  opts: {
    fields?: Record<string, string | string[]>;
    rsm?: Record<string, string>;
    to?: string;
    extra?: XmlElement[];
  } = {},
): Promise<Page> {
  const queryid = `q${++queryCounter}`;
  const rsm = opts.rsm
    ? [xml("set", { xmlns: NS_RSM }, ...Object.entries(opts.rsm).map(([k, v]) => xml(k, {}, v)))]
    : [];
  const res = await c.xmpp.iqCaller.request(
    xml(
      "iq",
      { type: "set", ...(opts.to ? { to: opts.to } : {}) },
      xml(
        "query",
        { xmlns: NS_MAM, queryid },
        ...(opts.fields ? [form(opts.fields)] : []),
        ...rsm,
        ...(opts.extra ?? []),
      ),
    ),
    30_000,
  );
  const fin = res.getChild("fin", NS_MAM);
  assert.ok(fin, "iq result carries <fin/>");
  const results = c.received.filter((s) => s.is("message") && s.getChild("result", NS_MAM)?.attrs.queryid === queryid);
  const set = fin.getChild("set", NS_RSM);
  const countText = set?.getChildText("count");
  return {
    fin,
    complete: fin.attrs.complete === "true",
    first: set?.getChildText("first") ?? undefined,
    last: set?.getChildText("last") ?? undefined,
    count: countText ? Number(countText) : undefined,
    items: results.map((m) => {
      const r = m.getChild("result", NS_MAM) as XmlElement;
      const fwd = r.getChild("forwarded", NS_FORWARD) as XmlElement;
      const message = fwd.getChild("message") as XmlElement;
      return {
        id: r.attrs.id,
        body: message.getChildText("body") ?? undefined,
        from: message.attrs.from,
        to: message.attrs.to,
        stamp: (fwd.getChild("delay", "urn:xmpp:delay") as XmlElement).attrs.stamp,
        message,
      };
    }),
  };
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const el = (err as { element?: XmlElement }).element;
    const cond = el?.children.find((c) => typeof c !== "string" && (c as XmlElement).attrs.xmlns === NS_STANZAS) as
      | XmlElement
      | undefined;
    return cond?.name ?? String(err);
  }
  return "no error";
}

describe("message archive (XEP-0313)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  const N = 1000;

  before(async () => {
    // A thousand messages from one account at once: past anti-spam's per-account limit (burst 300), lifted here.
    ts = await startTestServer({ yaml: "modules:\n  anti-spam:\n    account_rate: { messages: { per_minute: 0 } }" });
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-secret`);
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
    await bob.xmpp.send(xml("presence"));
    await alice.xmpp.send(xml("presence"));
    await sync(bob);
    for (let i = 0; i < N; i++) {
      await alice.xmpp.send(
        xml("message", { to: "bob@localhost", type: "chat", id: `m${i}` }, xml("body", {}, `msg ${i}`)),
      );
    }
    await bob.waitFor((s) => s.is("message") && s.attrs.id === `m${N - 1}`, 30_000);
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await ts?.stop();
  });

  it("advertises urn:xmpp:mam:2, #extended and urn:xmpp:sid:0 on the account", async () => {
    const res = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "alice@localhost" }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const features =
      res
        .getChild("query")
        ?.getChildren("feature")
        .map((f: XmlElement) => f.attrs.var) ?? [];
    for (const f of [NS_MAM, `${NS_MAM}#extended`, NS_SID]) assert.ok(features.includes(f), `${f} advertised`);
  });

  it("pages forward through 1,000 messages with <after/>; only the last page is complete", async () => {
    const seen: string[] = [];
    let afterId: string | undefined;
    for (let page = 0; ; page++) {
      const p = await query(alice, { rsm: { max: "100", ...(afterId ? { after: afterId } : {}) } });
      seen.push(...p.items.map((i) => i.body ?? ""));
      assert.equal(p.first, p.items[0]?.id);
      assert.equal(p.last, p.items.at(-1)?.id);
      if (p.complete) {
        assert.equal(page, 9, "complete on the tenth page");
        break;
      }
      assert.equal(p.items.length, 100);
      afterId = p.last;
      assert.ok(page < 11, "ends");
    }
    assert.deepEqual(
      seen,
      Array.from({ length: N }, (_, i) => `msg ${i}`),
    );
  });

  it("pages backward from the end with <before/>, each page oldest first", async () => {
    const pages: string[][] = [];
    let beforeId = "";
    for (;;) {
      const p = await query(alice, { rsm: { max: "150", before: beforeId } });
      pages.unshift(p.items.map((i) => i.body ?? ""));
      if (p.complete) break;
      beforeId = p.first as string;
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [100, 150, 150, 150, 150, 150, 150],
    );
    assert.deepEqual(
      pages.flat(),
      Array.from({ length: N }, (_, i) => `msg ${i}`),
    );
  });

  it("keeps both parties' copies; the stanza-id on delivery is the recipient's archive id", async () => {
    const delivered = bob.received.find((s) => s.is("message") && s.attrs.id === "m500") as XmlElement;
    const sid = delivered.getChildren("stanza-id", NS_SID).filter((s: XmlElement) => s.attrs.by === "bob@localhost");
    assert.equal(sid.length, 1, "one stanza-id by bob's bare JID");
    const p = await query(bob, { fields: { ids: sid[0].attrs.id } });
    assert.equal(p.items.length, 1);
    assert.equal(p.items[0]?.body, "msg 500");
    assert.equal(p.items[0]?.from, "alice@localhost/laptop");
    assert.ok(p.complete);
    // The sender's archive has its own copy, without a stanza-id (XEP-0313 §3.5).
    const mine = await query(alice, { fields: { with: "bob@localhost" }, rsm: { max: "1", before: "" } });
    assert.equal(mine.items[0]?.body, `msg ${N - 1}`);
    assert.equal(mine.items[0]?.to, "bob@localhost");
    // The result messages come from the archive's JID (§8.2).
    const r = alice.received.find((s) => s.getChild("result", NS_MAM)) as XmlElement;
    assert.equal(r.attrs.from, "alice@localhost");
  });

  it("filters by with, start/end, after-id/before-id and ids; count when the result fits a page", async () => {
    await alice.xmpp.send(
      xml("message", { to: "carol@localhost", type: "chat", id: "c1" }, xml("body", {}, "to carol 1")),
    );
    await alice.xmpp.send(
      xml("message", { to: "carol@localhost/desk", type: "normal", id: "c2" }, xml("body", {}, "to carol 2")),
    );
    await sync(alice);
    const carol = await query(alice, { fields: { with: "carol@localhost" } });
    assert.deepEqual(
      carol.items.map((i) => i.body),
      ["to carol 1", "to carol 2"],
    );
    assert.equal(carol.count, 2);
    assert.ok(carol.complete);
    const full = await query(alice, { fields: { with: "carol@localhost/desk" } });
    assert.deepEqual(
      full.items.map((i) => i.body),
      ["to carol 2"],
    );

    const all = await query(alice, { rsm: { max: "5" } });
    const [a, b, c, d] = all.items;
    const range = await query(alice, { fields: { "after-id": a?.id as string, "before-id": d?.id as string } });
    assert.deepEqual(
      range.items.map((i) => i.id),
      [b?.id, c?.id],
    );
    const byIds = await query(alice, { fields: { ids: [c?.id as string, a?.id as string] } });
    assert.deepEqual(
      byIds.items.map((i) => i.id),
      [a?.id, c?.id],
    );
    // start/end are inclusive; a time after the last message matches nothing.
    const end = await query(alice, { fields: { start: carol.items[0]?.stamp as string, with: "carol@localhost" } });
    assert.equal(end.items.length, 2);
    const none = await query(alice, { fields: { start: new Date(Date.now() + 60_000).toISOString() } });
    assert.equal(none.items.length, 0);
    assert.ok(none.complete);
    const upTo = await query(alice, { fields: { end: a?.stamp as string }, rsm: { max: "1000" } });
    assert.ok(upTo.items.length >= 1 && upTo.items.every((i) => i.stamp <= (a?.stamp as string)));
    // RSM after together with after-id: the tighter bound wins.
    const both = await query(alice, {
      fields: { "after-id": b?.id as string },
      rsm: { max: "2", after: a?.id as string },
    });
    assert.deepEqual(
      both.items.map((i) => i.id),
      [c?.id, d?.id],
    );
  });

  it("answers item-not-found for unknown ids, feature-not-implemented for unknown fields, forbidden for another's archive", async () => {
    assert.equal(await errorOf(query(alice, { rsm: { after: "no-such-id" } })), "item-not-found");
    assert.equal(await errorOf(query(alice, { rsm: { before: "no-such-id" } })), "item-not-found");
    assert.equal(await errorOf(query(alice, { fields: { ids: "no-such-id" } })), "item-not-found");
    assert.equal(await errorOf(query(alice, { fields: { "after-id": "no-such-id" } })), "item-not-found");
    assert.equal(await errorOf(query(alice, { fields: { "{urn:example}x": "1" } })), "feature-not-implemented");
    assert.equal(await errorOf(query(alice, { fields: { start: "yesterday" } })), "bad-request");
    assert.equal(await errorOf(query(alice, { to: "bob@localhost" })), "forbidden");
  });

  it("clamps max to the server's cap and counts with max=0", async () => {
    const p = await query(alice, { rsm: { max: "100000" } });
    assert.equal(p.items.length, 250);
    assert.ok(!p.complete);
    const count = await query(alice, { rsm: { max: "0" } });
    assert.equal(count.items.length, 0);
    assert.equal(count.count, N + 2);
  });

  it("returns the query form and archive metadata", async () => {
    const res = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", NS_MAM)));
    const vars = res
      .getChild("query")
      ?.getChild("x", "jabber:x:data")
      ?.getChildren("field")
      .map((f: XmlElement) => f.attrs.var);
    assert.deepEqual(vars, ["FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"]);
    const meta = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("metadata", NS_MAM)));
    const first = await query(alice, { rsm: { max: "1" } });
    const last = await query(alice, { rsm: { max: "1", before: "" } });
    assert.equal(meta.getChild("metadata")?.getChild("start")?.attrs.id, first.items[0]?.id);
    assert.equal(meta.getChild("metadata")?.getChild("end")?.attrs.id, last.items[0]?.id);
  });

  it("honours preferences: never, and the always/never lists (XEP-0441)", async () => {
    const set = await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml(
          "prefs",
          { xmlns: NS_MAM, default: "never" },
          xml("always", {}, xml("jid", {}, "dave@localhost")),
          xml("never"),
        ),
      ),
    );
    assert.equal(set.getChild("prefs")?.attrs.default, "never");
    const got = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("prefs", NS_MAM)));
    assert.equal(got.getChild("prefs")?.getChild("always")?.getChildText("jid"), "dave@localhost");
    assert.ok(got.getChild("prefs")?.getChild("never"));

    await alice.xmpp.send(
      xml("message", { to: "bob@localhost", type: "chat", id: "secret" }, xml("body", {}, "not archived")),
    );
    await alice.xmpp.send(
      xml("message", { to: "dave@localhost", type: "chat", id: "d1" }, xml("body", {}, "archived for dave")),
    );
    await bob.waitFor((s) => s.attrs.id === "secret");
    await sync(alice);
    const last = await query(alice, { rsm: { max: "1", before: "" } });
    assert.equal(last.items[0]?.body, "archived for dave");
    // Bob's own preferences (the default, always) still archive his copy.
    const bobs = await query(bob, { rsm: { max: "1", before: "" } });
    assert.equal(bobs.items[0]?.body, "not archived");
    assert.equal(
      await errorOf(
        alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("prefs", { xmlns: NS_MAM, default: "sometimes" }))),
      ),
      "bad-request",
    );
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("prefs", { xmlns: NS_MAM, default: "always" })));
  });

  it("does not archive groupchat, headline, chat states or <no-store/> messages; strips forged stanza-ids", async () => {
    const before = (await query(bob, { rsm: { max: "0" } })).count as number;
    await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "headline", id: "h1" }, xml("body", {}, "news")));
    await alice.xmpp.send(
      xml(
        "message",
        { to: "bob@localhost", type: "chat", id: "cs" },
        xml("composing", "http://jabber.org/protocol/chatstates"),
      ),
    );
    await alice.xmpp.send(
      xml(
        "message",
        { to: "bob@localhost", type: "chat", id: "ns" },
        xml("body", {}, "x"),
        xml("no-permanent-store", "urn:xmpp:hints"),
      ),
    );
    await alice.xmpp.send(
      xml(
        "message",
        { to: "bob@localhost", type: "chat", id: "forged" },
        xml("body", {}, "forged"),
        xml("stanza-id", { xmlns: NS_SID, by: "bob@localhost", id: "fake" }),
      ),
    );
    const forged = await bob.waitFor((s) => s.attrs.id === "forged");
    const sids = forged.getChildren("stanza-id", NS_SID);
    assert.equal(sids.length, 1);
    assert.notEqual(sids[0].attrs.id, "fake");
    const afterCount = (await query(bob, { rsm: { max: "0" } })).count as number;
    assert.equal(afterCount, before + 1, "only the forged-id message was archived");
  });

  it("stamps offline messages when stored, and delivers them with the same stanza-id", async () => {
    await alice.xmpp.send(
      xml("message", { to: "carol@localhost", type: "chat", id: "off1" }, xml("body", {}, "while you were out")),
    );
    await sync(alice);
    const carol = await connect(ts, "carol", "carol-secret", { resource: "desk" });
    try {
      await carol.xmpp.send(xml("presence"));
      const m = await carol.waitFor((s) => s.attrs.id === "off1");
      const sid = m.getChildren("stanza-id", NS_SID).filter((s: XmlElement) => s.attrs.by === "carol@localhost");
      assert.equal(sid.length, 1);
      // "to carol 1" from the filter test was stored offline too; the normal one to a gone resource bounced.
      const p = await query(carol, { fields: { with: "alice@localhost" } });
      assert.deepEqual(
        p.items.map((i) => i.body),
        ["to carol 1", "while you were out"],
        "each archived once",
      );
      assert.equal(p.items[1]?.id, sid[0].attrs.id, "under the delivered id");
    } finally {
      await carol.stop();
    }
  });
});

describe("message archive retention", () => {
  let ts: TestServer;
  before(async () => {
    // 0.00002 days ≈ 1.7 s.
    ts = await startTestServer({ yaml: "modules:\n  mam:\n    retention_days: 0.00002\n    expiry_interval: 1" });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });
  after(async () => {
    await ts?.stop();
  });

  it("deletes messages older than retention_days", async () => {
    const alice = await connect(ts, "alice", "alice-secret");
    try {
      await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "chat" }, xml("body", {}, "soon gone")));
      await sync(alice);
      assert.equal((await query(alice)).items.length, 1);
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal((await query(alice)).items.length, 0);
    } finally {
      await alice.stop();
    }
  });
});
