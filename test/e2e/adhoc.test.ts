// XEP-0050 ad-hoc commands as a client sees them: the command list in disco, a two-stage command driven
// with next / prev / complete, cancel, the §4.6 errors (bad-sessionid, session-expired, bad-action,
// malformed-action, bad-payload, forbidden), the per-account session limit, idle expiry, and a command that
// goes away with the module that registered it. The commands are a test module's, loaded into the real server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { badPayload, type CommandDefinition, CommandValues } from "../../src/core/commands.js";
import type { LoadedModule } from "../../src/core/modules.js";
import { defineModule } from "../../src/core/modules.js";
import {
  actionsOf,
  cmdOf,
  command,
  commandItems,
  errorOf,
  fieldValues,
  iq,
  NS_COMMANDS,
  NS_DATA,
} from "../helpers/adhoc.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_INFO = "http://jabber.org/protocol/disco#info";

const PIZZA = "urn:test:pizza";
const SECRET = "urn:test:secret";
const QUICK = "urn:test:quick";

/** Two stages: pick a size (list-single, required), then toppings (text-multi) and a delivery JID. */
const pizza: CommandDefinition = {
  name: "Order a pizza",
  allowed: () => true,
  stages: [
    {
      form: () => ({
        type: "form",
        title: "Size",
        fields: [
          {
            var: "size",
            type: "list-single",
            required: true,
            values: [],
            options: [{ value: "small" }, { value: "large" }],
          },
        ],
      }),
    },
    {
      form: ({ values }) => ({
        type: "form",
        title: `Toppings for a ${values.one("size") ?? "?"} pizza`,
        fields: [
          { var: "toppings", type: "text-multi", values: [] },
          { var: "deliver-to", type: "jid-single", required: true, values: [] },
        ],
      }),
      check: ({ values }) => {
        if (values.all("toppings").includes("pineapple")) throw badPayload("no pineapple");
      },
    },
  ],
  run: ({ values, requester }) => ({
    notes: [
      {
        type: "info",
        text: `${values.one("size")} with ${values.all("toppings").join("+")} for ${values.one("deliver-to")} (${requester.bareString()})`,
      },
    ],
    form: { type: "result", fields: [{ var: "size", values: [values.one("size") ?? ""] }] },
  }),
};

const testCommands = defineModule({
  name: "test-commands",
  setup(ctx) {
    ctx.command(PIZZA, pizza);
    ctx.command(SECRET, {
      name: "Admins only",
      allowed: (jid) => jid.bareString() === "admin@localhost",
      run: () => ({ notes: [{ type: "info", text: "secret" }] }),
    });
    ctx.command(QUICK, {
      name: "One step",
      allowed: () => true,
      run: () => ({ notes: [{ type: "info", text: `done ${new CommandValues().all("x").length}` }] }),
    });
  },
});

describe("ad-hoc commands e2e (@xmpp/client)", () => {
  let ts: TestServer;
  let expiring: TestServer;
  let loaded: LoadedModule;
  const clients: ConnectedClient[] = [];

  const login = async (server: TestServer, user: string, resource = "r1") => {
    const c = await connect(server, user, `${user}-secret`, { resource });
    clients.push(c);
    return c;
  };

  before(async () => {
    ts = await startTestServer({ yaml: "admins: [admin@localhost]\nmodules:\n  adhoc: { max_sessions_per_user: 3 }" });
    for (const u of ["admin", "alice", "bob"]) await ts.addUser(u, `${u}-secret`);
    loaded = await ts.server.modules.load("localhost", testCommands, {});
    expiring = await startTestServer({ yaml: "modules:\n  adhoc: { session_timeout: 1 }" });
    await expiring.addUser("alice", "alice-secret");
    await expiring.server.modules.load("localhost", testCommands, {});
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
    await expiring?.stop();
  });

  it("lists the commands a requester may run, and each command's disco#info", async () => {
    const admin = await login(ts, "admin");
    const alice = await login(ts, "alice");
    const info = await iq(alice, "get", xml("query", { xmlns: NS_INFO }));
    assert.ok((info.getChild("query") as XmlElement).getChildren("feature").some((f) => f.attrs.var === NS_COMMANDS));
    const forAdmin = await commandItems(admin);
    assert.deepEqual(
      forAdmin
        .filter((i) => i.node?.startsWith("urn:test:"))
        .map((i) => i.node)
        .sort(),
      [PIZZA, QUICK, SECRET],
    );
    assert.ok(forAdmin.every((i) => i.jid === "localhost" && i.name));
    const forAlice = await commandItems(alice);
    assert.deepEqual(
      forAlice
        .filter((i) => i.node?.startsWith("urn:test:"))
        .map((i) => i.node)
        .sort(),
      [PIZZA, QUICK],
    );

    const nodeInfo = await iq(alice, "get", xml("query", { xmlns: NS_INFO, node: PIZZA }));
    const q = nodeInfo.getChild("query") as XmlElement;
    assert.deepEqual(
      { ...q.getChild("identity")?.attrs },
      { category: "automation", type: "command-node", name: "Order a pizza" },
    );
    const features = q.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features.includes(NS_COMMANDS) && features.includes(NS_DATA), features.join(" "));
    // Alice may not know the admin's command exists.
    const hidden = await iq(alice, "get", xml("query", { xmlns: NS_INFO, node: SECRET }));
    assert.equal(errorOf(hidden).condition, "item-not-found");
  });

  it("runs a two-stage command with next, prev and complete, keeping one sessionid", async () => {
    const alice = await login(ts, "alice", "stages");
    const first = cmdOf(await command(alice, { node: PIZZA, action: "execute" }));
    assert.equal(first.attrs.status, "executing");
    const sid = first.attrs.sessionid as string;
    assert.ok(sid);
    assert.deepEqual(actionsOf(first), { execute: "next", allowed: ["next"] });
    assert.equal((first.getChild("x", NS_DATA) as XmlElement).attrs.type, "form");

    const second = cmdOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["large"] }));
    assert.equal(second.attrs.sessionid, sid);
    assert.deepEqual(actionsOf(second), { execute: "complete", allowed: ["prev", "complete"] });
    assert.equal((second.getChild("x", NS_DATA) as XmlElement).getChildText("title"), "Toppings for a large pizza");

    // Back to the first stage: its form again, with what was chosen.
    const back = cmdOf(await command(alice, { node: PIZZA, sessionid: sid, action: "prev" }));
    assert.deepEqual(actionsOf(back), { execute: "next", allowed: ["next"] });
    assert.deepEqual(fieldValues(back, "size"), ["large"]);

    // "execute" means the stage's default action (next here).
    const again = cmdOf(await command(alice, { node: PIZZA, sessionid: sid, action: "execute" }, { size: ["small"] }));
    assert.equal((again.getChild("x", NS_DATA) as XmlElement).getChildText("title"), "Toppings for a small pizza");

    const done = cmdOf(
      await command(
        alice,
        { node: PIZZA, sessionid: sid, action: "complete" },
        { toppings: ["ham", "olives"], "deliver-to": ["bob@localhost"] },
      ),
    );
    assert.equal(done.attrs.status, "completed");
    assert.equal(done.attrs.sessionid, sid);
    assert.equal(done.getChild("actions"), undefined);
    const note = done.getChild("note") as XmlElement;
    assert.equal(note.attrs.type, "info");
    assert.equal(note.getText(), "small with ham+olives for bob@localhost (alice@localhost)");
    assert.equal((done.getChild("x", NS_DATA) as XmlElement).attrs.type, "result");

    // The session is over: its id now names an expired session.
    const late = errorOf(
      await command(alice, { node: PIZZA, sessionid: sid, action: "complete" }, { "deliver-to": ["bob@localhost"] }),
    );
    assert.deepEqual(late, { type: "cancel", condition: "not-allowed", specific: "session-expired" });
  });

  it("answers a one-stage command at once with status completed", async () => {
    const alice = await login(ts, "alice", "quick");
    const done = cmdOf(await command(alice, { node: QUICK }));
    assert.equal(done.attrs.status, "completed");
    assert.ok(done.attrs.sessionid);
    assert.equal(done.getChildText("note"), "done 0");
  });

  it("cancels a session; the id is then expired", async () => {
    const alice = await login(ts, "alice", "cancel");
    const sid = cmdOf(await command(alice, { node: PIZZA })).attrs.sessionid as string;
    const canceled = cmdOf(await command(alice, { node: PIZZA, sessionid: sid, action: "cancel" }));
    assert.equal(canceled.attrs.status, "canceled");
    assert.equal(canceled.attrs.sessionid, sid);
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["small"] })).specific,
      "session-expired",
    );
  });

  it("refuses bad requests with the XEP-0050 §4.6 conditions, keeping the session where the requester can correct it", async () => {
    const alice = await login(ts, "alice", "errors");
    const bob = await login(ts, "bob", "errors");
    assert.deepEqual(errorOf(await command(alice, { node: PIZZA, sessionid: "made-up", action: "next" })), {
      type: "modify",
      condition: "bad-request",
      specific: "bad-sessionid",
    });
    assert.deepEqual(errorOf(await command(alice, { node: PIZZA, action: "dance" })), {
      type: "modify",
      condition: "bad-request",
      specific: "malformed-action",
    });
    assert.equal(errorOf(await command(alice, { node: "urn:test:nothing" })).condition, "item-not-found");
    assert.equal(errorOf(await command(alice, { node: PIZZA, action: "next" })).specific, "bad-action");

    const sid = cmdOf(await command(alice, { node: PIZZA })).attrs.sessionid as string;
    // Another account cannot continue Alice's session; nor can the same session id under another node.
    assert.equal(
      errorOf(await command(bob, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["small"] })).specific,
      "bad-sessionid",
    );
    assert.equal(
      errorOf(await command(alice, { node: QUICK, sessionid: sid, action: "next" })).specific,
      "bad-sessionid",
    );
    // prev at the first stage, complete before the last: actions not offered.
    assert.equal(errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "prev" })).specific, "bad-action");
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "complete" }, { size: ["small"] })).specific,
      "bad-action",
    );
    // Required field missing, a value not among the options, no form at all: bad-payload.
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, {})).specific,
      "bad-payload",
    );
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["huge"] })).specific,
      "bad-payload",
    );
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" })).specific,
      "bad-payload",
    );
    // ... and the session is still there to be corrected.
    const second = cmdOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["small"] }));
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid }, { "deliver-to": ["not a jid@@"] })).specific,
      "bad-payload",
    );
    // The stage's own check: its text reaches the requester.
    const pine = await command(
      alice,
      { node: PIZZA, sessionid: sid },
      { toppings: ["pineapple"], "deliver-to": ["bob@localhost"] },
    );
    assert.equal(errorOf(pine).specific, "bad-payload");
    assert.match(pine.toString(), /no pineapple/);
    assert.equal(
      cmdOf(
        await command(
          alice,
          { node: PIZZA, sessionid: second.attrs.sessionid as string },
          { "deliver-to": ["bob@localhost"] },
        ),
      ).attrs.status,
      "completed",
    );
  });

  it("gives forbidden to a requester the command does not allow, and logs it", async () => {
    const alice = await login(ts, "alice", "forbidden");
    assert.deepEqual(errorOf(await command(alice, { node: SECRET })), {
      type: "auth",
      condition: "forbidden",
      specific: undefined,
    });
    assert.ok(ts.logs.some((l) => l.msg === "ad-hoc command refused: not allowed" && l.node === SECRET));
    const admin = await login(ts, "admin", "forbidden");
    assert.equal(cmdOf(await command(admin, { node: SECRET })).getChildText("note"), "secret");
  });

  it("limits the sessions one account has open, across its resources", async () => {
    const bob1 = await login(ts, "bob", "limit1");
    const bob2 = await login(ts, "bob", "limit2");
    const sids: string[] = [];
    for (const c of [bob1, bob2, bob1]) sids.push(cmdOf(await command(c, { node: PIZZA })).attrs.sessionid as string);
    const refused = errorOf(await command(bob2, { node: PIZZA }));
    assert.deepEqual(refused, { type: "wait", condition: "resource-constraint", specific: undefined });
    assert.ok(
      ts.logs.some((l) => l.msg === "ad-hoc command session refused: limit reached" && l.limit === "per-account"),
    );
    // One-step commands need no session and still run.
    assert.equal(cmdOf(await command(bob2, { node: QUICK })).attrs.status, "completed");
    // Ending one makes room for another.
    cmdOf(await command(bob1, { node: PIZZA, sessionid: sids[0] as string, action: "cancel" }));
    assert.equal(cmdOf(await command(bob2, { node: PIZZA })).attrs.status, "executing");
  });

  it("expires a session left idle for session_timeout", async () => {
    const alice = await login(expiring, "alice", "idle");
    const sid = cmdOf(await command(alice, { node: PIZZA })).attrs.sessionid as string;
    await new Promise((r) => setTimeout(r, 1300));
    assert.deepEqual(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["small"] })),
      {
        type: "cancel",
        condition: "not-allowed",
        specific: "session-expired",
      },
    );
  });

  it("drops a module's commands when it is unloaded", async () => {
    const alice = await login(ts, "alice", "unload");
    const sid = cmdOf(await command(alice, { node: PIZZA })).attrs.sessionid as string;
    loaded.unload();
    assert.deepEqual(
      (await commandItems(alice)).filter((i) => i.node?.startsWith("urn:test:")),
      [],
    );
    assert.equal(errorOf(await command(alice, { node: PIZZA })).condition, "item-not-found");
    assert.equal(
      errorOf(await command(alice, { node: PIZZA, sessionid: sid, action: "next" }, { size: ["small"] })).condition,
      "item-not-found",
    );
  });
});
