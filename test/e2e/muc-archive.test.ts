// A persistent room's archive across a restart, paged through with MAM (XEP-0313) on the room JID as
// @xmpp/client users see it: 250 groupchat messages are sent live (each with the room's XEP-0359
// stanza-id), the server restarts, and another user pages forwards (RSM <after/>) and backwards
// (<before/>) through all 250: order, count, `fin complete`, and the ids are the stanza-ids seen live.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const MUC = "conference.localhost";
const ROOM = `history@${MUC}`;
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_USER = "http://jabber.org/protocol/muc#user";
const NS_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_XDATA = "jabber:x:data";
const NS_MAM = "urn:xmpp:mam:2";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_DELAY = "urn:xmpp:delay";
const NS_SID = "urn:xmpp:sid:0";
const TOTAL = 250;
const PAGE = 40;

let seq = 0;
const nextId = (p: string) => `${p}${++seq}`;

async function iq(c: ConnectedClient, type: "get" | "set", to: string, child: XmlElement): Promise<XmlElement> {
  const id = nextId("iq");
  await c.xmpp.send(xml("iq", { type, to, id }, child));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}

const codes = (s: XmlElement): number[] =>
  (s.getChild("x", NS_USER)?.getChildren("status") ?? []).map((c) => Number(c.attrs.code)).sort((a, b) => a - b);

async function join(c: ConnectedClient, nick: string): Promise<XmlElement> {
  const occupant = `${ROOM}/${nick}`;
  await c.xmpp.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS_MUC }, xml("history", { maxstanzas: "0" }))));
  return c.waitFor((s) => s.is("presence") && s.attrs.from === occupant && codes(s).includes(110));
}

interface ArchivedMessage {
  id: string;
  body: string;
  from: string;
  stamped: boolean;
}

interface Page {
  items: ArchivedMessage[];
  complete: boolean;
  first?: string;
  last?: string;
  count?: number;
}

/** One MAM query on the room with the given RSM children; resolves once the fin has arrived. */
async function mamPage(c: ConnectedClient, rsm: XmlElement[]): Promise<Page> {
  const queryid = nextId("q");
  const reply = await iq(c, "set", ROOM, xml("query", { xmlns: NS_MAM, queryid }, xml("set", { xmlns: NS_RSM }, ...rsm)));
  assert.equal(reply.attrs.type, "result", reply.toString());
  const fin = reply.getChild("fin", NS_MAM);
  assert.ok(fin, `no <fin/>: ${reply.toString()}`);
  const set = fin.getChild("set", NS_RSM);
  const items = c.received
    .filter((s) => s.is("message") && s.getChild("result", NS_MAM)?.attrs.queryid === queryid)
    .map((s) => {
      assert.equal(s.attrs.from, ROOM, "results come from the room");
      const result = s.getChild("result", NS_MAM) as XmlElement;
      const forwarded = result.getChild("forwarded", NS_FORWARD);
      const m = forwarded?.getChild("message");
      return {
        id: result.attrs.id as string,
        body: m?.getChildText("body") ?? "",
        from: m?.attrs.from ?? "",
        stamped: forwarded?.getChild("delay", NS_DELAY)?.attrs.stamp !== undefined,
      };
    });
  const count = set?.getChildText("count");
  return {
    items,
    complete: fin.attrs.complete === "true",
    ...(set?.getChildText("first") ? { first: set.getChildText("first") as string } : {}),
    ...(set?.getChildText("last") ? { last: set.getChildText("last") as string } : {}),
    ...(count ? { count: Number(count) } : {}),
  };
}

describe("MUC room archive across a restart, paged with MAM (XEP-0313, XEP-0059)", { timeout: 120_000 }, () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  /** The room's stanza-ids of the 250 messages, in the order they were delivered live. */
  const liveIds: string[] = [];
  const bodies = Array.from({ length: TOTAL }, (_, i) => `archived message ${i}`);

  async function login(user: string): Promise<ConnectedClient> {
    const c = await connect(ts, user, `${user}-secret`, { resource: "res" });
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    return c;
  }

  before(async () => {
    // One occupant sends all 250 at once: lift the per-occupant rate limit (2/s, burst 10 by default).
    ts = await startTestServer({ yaml: "modules:\n  muc:\n    message_rate: { per_second: 1000, burst: 1000 }" });
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("archives 250 messages of a persistent room with the stanza-ids occupants saw", async () => {
    const alice = await login("alice");
    const bob = await login("bob");
    const self = await join(alice, "Alice");
    assert.deepEqual(codes(self), [110, 170, 201], "a new, logged room");
    const form = xml(
      "query",
      { xmlns: NS_OWNER },
      xml(
        "x",
        { xmlns: NS_XDATA, type: "submit" },
        xml("field", { var: "FORM_TYPE" }, xml("value", {}, "http://jabber.org/protocol/muc#roomconfig")),
        xml("field", { var: "muc#roomconfig_persistentroom" }, xml("value", {}, "1")),
      ),
    );
    const configured = await iq(alice, "set", ROOM, form);
    assert.equal(configured.attrs.type, "result", configured.toString());
    await join(bob, "Bob");

    for (let i = 0; i < TOTAL; i++) {
      await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat", id: `g${i}` }, xml("body", {}, bodies[i] as string)));
    }
    await bob.waitFor((s) => s.is("message") && s.attrs.id === `g${TOTAL - 1}`, 30_000);
    const live = bob.received.filter((s) => s.is("message") && s.attrs.type === "groupchat" && s.getChild("body"));
    assert.deepEqual(
      live.map((m) => m.getChildText("body")),
      bodies,
    );
    for (const m of live) {
      const sid = m.getChildren("stanza-id", NS_SID).find((e) => e.attrs.by === ROOM);
      assert.ok(sid?.attrs.id, `no room stanza-id on ${m.toString()}`);
      liveIds.push(sid.attrs.id as string);
    }
    assert.equal(new Set(liveIds).size, TOTAL, "stanza-ids are unique");
  });

  it("after a restart, pages forwards through all 250 with <after/>, oldest first", async () => {
    for (const c of clients) await c.stop();
    clients.length = 0;
    await ts.restart();
    // Carol never was in the room: an open room's archive is readable by anyone not banned.
    const carol = await login("carol");

    const counted = await mamPage(carol, [xml("max", {}, "0")]);
    assert.equal(counted.items.length, 0);
    assert.equal(counted.count, TOTAL, "RSM <count/> with max 0");

    const seen: ArchivedMessage[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await mamPage(carol, [xml("max", {}, String(PAGE)), ...(cursor ? [xml("after", {}, cursor)] : [])]);
      pages++;
      assert.ok(page.items.length > 0 && page.items.length <= PAGE, `page ${pages}: ${page.items.length} items`);
      assert.equal(page.first, page.items[0]?.id, "RSM <first/> names the page's first item");
      assert.equal(page.last, page.items.at(-1)?.id, "RSM <last/> names the page's last item");
      seen.push(...page.items);
      cursor = page.last;
      if (page.complete) break;
      assert.ok(pages < 20, "paging ends");
    }
    assert.equal(pages, Math.ceil(TOTAL / PAGE));
    assert.equal(seen.length, TOTAL);
    assert.deepEqual(
      seen.map((m) => m.body),
      bodies,
    );
    assert.deepEqual(
      seen.map((m) => m.id),
      liveIds,
      "archive ids are the stanza-ids delivered live",
    );
    assert.ok(seen.every((m) => m.from === `${ROOM}/Alice` && m.stamped), "from the occupant JID, with a delay stamp");
  });

  it("pages backwards through all 250 with <before/>, newest page first, each page in order", async () => {
    const carol = clients[0] as ConnectedClient;
    const pages: ArchivedMessage[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await mamPage(carol, [xml("max", {}, String(PAGE)), xml("before", {}, cursor ?? "")]);
      assert.ok(page.items.length > 0 && page.items.length <= PAGE);
      pages.push(page.items);
      // Within a page, oldest first (XEP-0313 §4.3.2 without flip-page).
      const ids = page.items.map((m) => liveIds.indexOf(m.id));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      cursor = page.first;
      if (page.complete) break;
      assert.ok(pages.length < 20, "paging ends");
    }
    assert.equal(pages.length, Math.ceil(TOTAL / PAGE));
    assert.equal(pages[0]?.length, PAGE, "the first page back is a full page of the newest");
    assert.equal(pages.at(-1)?.length, TOTAL - PAGE * (pages.length - 1), "the last one holds the oldest rest");
    const all = pages.reverse().flat();
    assert.deepEqual(
      all.map((m) => m.id),
      liveIds,
    );
    assert.deepEqual(
      all.map((m) => m.body),
      bodies,
    );

    // A page from the middle in both directions, around one archived id.
    const pivot = liveIds[125] as string;
    const afterPivot = await mamPage(carol, [xml("max", {}, "10"), xml("after", {}, pivot)]);
    assert.deepEqual(
      afterPivot.items.map((m) => m.id),
      liveIds.slice(126, 136),
    );
    assert.equal(afterPivot.complete, false);
    const beforePivot = await mamPage(carol, [xml("max", {}, "10"), xml("before", {}, pivot)]);
    assert.deepEqual(
      beforePivot.items.map((m) => m.id),
      liveIds.slice(115, 125),
    );
    assert.equal(beforePivot.complete, false);
  });
});
