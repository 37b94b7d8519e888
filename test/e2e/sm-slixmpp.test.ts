// XEP-0198 interop with slixmpp's xep_0198 plugin (Debian's python3-slixmpp 1.8, /usr/bin/python3): the
// plugin enables stream management with resumption, its TCP connection dies without </stream:stream>, an
// @xmpp/client user sends to its full JID meanwhile, and after it reconnects and resumes (session_resumed,
// same full JID, no new session) it has every message once, in order: the ones handled before the drop are
// not sent again, the unacknowledged ones are.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, type SlixmppProgress, slixmppTarget, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

interface ResumeResult {
  ok: boolean;
  error?: string;
  bodies: string[];
  jid?: string;
  resumed_jid?: string;
  sm_id?: string;
  resumed?: number;
  session_starts?: number;
  sm_enabled?: number;
}

describe("slixmpp interop: stream resumption (XEP-0198)", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;
  let xena: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("sam", "sam-secret");
    await ts.addUser("xena", "xena-secret");
    xena = await connect(ts, "xena", "xena-secret", { resource: "xmppjs" });
  });

  after(async () => {
    await xena?.stop();
    await ts?.stop();
  });

  it("a slixmpp client whose connection dies resumes and gets every message once, in order", async () => {
    const before = ["before 1", "before 2", "before 3"];
    const during = ["during 1", "during 2", "during 3", "during 4"];
    const afterwards = ["after 1", "after 2"];
    let fullJid = "";
    const phases: string[] = [];
    const failures: unknown[] = [];
    const send = async (bodies: string[]) => {
      for (const body of bodies) await xena.xmpp.send(xml("message", { to: fullJid, type: "chat" }, xml("body", {}, body)));
      // The server handles one stream's stanzas in order: once this ping is answered, every message is routed.
      await xena.xmpp.iqCaller.request(xml("iq", { type: "get", to: ts.domain }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    };
    const steps: Record<string, (event: SlixmppProgress) => Promise<string>> = {
      async online(event) {
        fullJid = String(event.jid);
        await send(before);
        return `after ${before.length}`;
      },
      async dropped() {
        await send(during); // to the full JID of a session that has no connection
        return "reconnect";
      },
      async resumed() {
        await send(afterwards);
        return `expect ${before.length + during.length + afterwards.length}`;
      },
    };
    const r = await runSlixmpp<ResumeResult>(
      "sm_resume.py",
      { ...slixmppTarget(ts), jid: `sam@${ts.domain}`, password: "sam-secret" },
      {
        timeoutMs: 60_000,
        onProgress(event, reply) {
          phases.push(event.event);
          const step = steps[event.event];
          if (!step) return;
          step(event).then(reply, (err: unknown) => {
            failures.push(err);
            reply("stop");
          });
        },
      },
    );
    assert.deepEqual(failures, []);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(phases, ["online", "dropped", "resumed"]);
    assert.match(r.jid ?? "", /^sam@localhost\/sm$/);
    assert.ok(r.sm_id, "the server gave the stream an id to resume");
    // The same session went on: same full JID, resumed once, no second session_start (no new bind).
    assert.equal(r.resumed_jid, r.jid);
    assert.equal(r.resumed, 1);
    assert.equal(r.session_starts, 1);
    assert.equal(r.sm_enabled, 1);
    // Nothing lost, nothing twice, in the order sent: what came while it was gone waited in the session's queue.
    assert.deepEqual(r.bodies, [...before, ...during, ...afterwards]);
    const resumedLog = ts.logs.find((l) => l.msg === "session resumed" && l.jid === r.jid);
    assert.equal(resumedLog?.resent, during.length, "the server resent exactly the messages sent while it was gone");
    // The sender saw no bounce.
    assert.equal(
      xena.received.filter((s) => s.is("message") && s.attrs.type === "error").length,
      0,
      "no message came back as an error",
    );
  });
});
