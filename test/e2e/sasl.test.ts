// SASL over real sockets with an independent client, stanza.js 12 (RFC 6120 §6, RFC 5802, RFC 7677,
// RFC 9266, RFC 5929), plus SCRAM-SHA-256-PLUS by hand on the raw client.
//
// stanza.js ships only WebSocket and BOSH transports, and Natter has neither yet, so its Client runs here
// over a small TCP transport (below) that does STARTTLS itself and then hands the stream to stanza.js:
// its own XML parser, feature negotiation and SASL code do the rest. Its SCRAM-*-PLUS knows only the
// tls-unique channel binding, which Natter does not offer (RFC 9266 §3: not on TLS 1.3); those tests
// record what happens, and a five-line subclass that names tls-exporter / tls-server-end-point instead
// shows the rest of stanza.js's SCRAM-PLUS arithmetic agrees with the server.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import * as XMPP from "stanza";
import { ScramTestClient } from "../../src/auth/scram-test-client.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";
import {
  assertStillServes,
  FEATURES_END,
  NS_SASL,
  parseServerOutput,
  rawTls,
  waitForElement,
  withTimeout,
} from "./raw-helpers.js";

type ChannelBinding = "none" | "tls-unique" | "tls-exporter" | "tls-server-end-point";

interface TransportOptions {
  maxVersion: "TLSv1.2" | "TLSv1.3";
}

/** STARTTLS over TCP for stanza.js's Client (the shape of its WebSocket transport, RFC 6120 framing). */
class StarttlsTransport {
  hasStream = false;
  stream: unknown = undefined;
  authenticated = false;
  tls: TLSSocket | undefined;
  private parser: InstanceType<typeof XMPP.JXT.StreamParser> | undefined;
  private server = "";
  private closed = false;

  static options: TransportOptions = { maxVersion: "TLSv1.3" };

  constructor(
    private readonly client: XMPP.Agent,
    _sm: unknown,
    private readonly stanzas: XMPP.JXT.Registry,
  ) {}

  connect(opts: XMPP.TransportConfig): void {
    this.server = opts.server;
    const url = new URL(opts.url as string);
    void this.open(url.hostname, Number(url.port)).catch((err: Error) => {
      this.client.emit("--transport-disconnected");
      throw err;
    });
  }

  private async open(host: string, port: number): Promise<void> {
    const raw: Socket = netConnect({ host, port });
    let pre = "";
    await new Promise<void>((resolve, reject) => {
      raw.once("error", reject);
      raw.on("data", (d: Buffer) => {
        pre += d.toString("utf8");
        if (FEATURES_END.test(pre) && !pre.includes("<starttls-sent")) {
          pre += "<starttls-sent";
          raw.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        }
        if (/<proceed/.test(pre)) resolve();
      });
      raw.write(STREAM_OPEN(this.server));
    });
    raw.removeAllListeners("data");
    const tls = tlsConnect({
      socket: raw,
      servername: this.server,
      rejectUnauthorized: false,
      maxVersion: StarttlsTransport.options.maxVersion,
    });
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", () => resolve());
      tls.once("error", reject);
    });
    this.tls = tls;
    tls.on("data", (d: Buffer) => {
      const text = d.toString("utf8");
      this.client.emit("raw", "incoming", text);
      this.parser?.write(text);
    });
    tls.on("error", () => {});
    tls.on("close", () => this.gone());
    this.client.emit("connected");
    this.restart();
  }

  private newParser(): void {
    const parser = new XMPP.JXT.StreamParser({
      acceptLanguages: ["en"],
      allowComments: false,
      lang: "en",
      registry: this.stanzas,
      rootKey: "stream",
      wrappedStream: true,
    });
    parser.on("data", (e: { event?: string; kind: string; stanza: unknown }) => {
      if (e.event === "stream-start") {
        this.hasStream = true;
        this.stream = e.stanza;
        this.client.emit("stream:start", e.stanza as never);
        return;
      }
      if (e.event === "stream-end") {
        this.client.emit("stream:end");
        this.disconnect(false);
        return;
      }
      this.client.emit("stream:data", e.stanza as never, e.kind as never);
    });
    parser.on("error", () => this.disconnect(false));
    this.parser = parser;
  }

  restart(): void {
    this.hasStream = false;
    this.newParser();
    this.writeRaw(STREAM_OPEN(this.server));
  }

  async send(name: string, data?: XMPP.JXT.JSONData): Promise<void> {
    const output = data ? this.stanzas.export(name, data)?.toString() : undefined;
    if (output) this.writeRaw(output);
  }

  private writeRaw(text: string): void {
    if (!this.tls || this.closed) return;
    this.client.emit("raw", "outgoing", text);
    this.tls.write(text);
  }

  disconnect(clean = true): void {
    if (clean && this.hasStream) this.writeRaw("</stream:stream>");
    this.hasStream = false;
    this.tls?.end();
    setTimeout(() => this.tls?.destroy(), 500).unref();
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    if ((this.client as unknown as { transport?: unknown }).transport === this)
      this.client.emit("--transport-disconnected");
  }
}

/** stanza.js's SCRAM with the gs2 channel-binding name swapped (it hard-codes p=tls-unique). */
function scramWithBinding(name: "tls-exporter" | "tls-server-end-point") {
  return class extends XMPP.SASL.SCRAM {
    override createResponse(credentials: XMPP.SASL.Credentials): Buffer | null {
      const out = super.createResponse(credentials);
      const self = this as unknown as { gs2Header: Buffer; clientFirstMessageBare: Buffer; state: string };
      if (self.state === "CHALLENGE" && self.gs2Header.toString().startsWith("p=tls-unique,")) {
        self.gs2Header = Buffer.from(self.gs2Header.toString().replace("p=tls-unique,", `p=${name},`));
        return Buffer.concat([self.gs2Header, self.clientFirstMessageBare]);
      }
      return out;
    }
  };
}

interface StanzaLogin {
  client: XMPP.Agent;
  outgoing: string[];
  incoming: string[];
  transport: () => StarttlsTransport;
  /** Resolves with "session" once bound, or the SASL failure condition. */
  outcome: Promise<{ kind: "session"; jid: string } | { kind: "failed"; condition: string | undefined }>;
}

function channelBindingData(tls: TLSSocket, type: ChannelBinding): Buffer | undefined {
  switch (type) {
    case "none":
      return undefined;
    case "tls-unique":
      // RFC 5929 §3.1: the first Finished message of the handshake (the client's, on a full handshake).
      return tls.getFinished();
    case "tls-exporter":
      // RFC 9266 §2.
      return tls.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
    case "tls-server-end-point":
      // RFC 5929 §4.1: the test certificate is signed with SHA-256.
      return createHash("sha256").update(tls.getPeerCertificate(false).raw).digest();
  }
}

function stanzaLogin(
  ts: TestServer,
  user: string,
  password: string,
  opts: {
    disable?: string[];
    binding?: ChannelBinding;
    patchPlus?: "tls-exporter" | "tls-server-end-point";
    corruptBinding?: boolean;
    maxVersion?: "TLSv1.2" | "TLSv1.3";
  } = {},
): StanzaLogin {
  StarttlsTransport.options = { maxVersion: opts.maxVersion ?? "TLSv1.3" };
  const client = XMPP.createClient({
    jid: `${user}@${ts.domain}`,
    password,
    resource: `stanza-${randomBytes(3).toString("hex")}`,
    server: ts.domain,
    transports: { tcp: `tcp://127.0.0.1:${ts.port}` } as never,
    transportPreferenceOrder: ["tcp"] as never,
    useStreamManagement: false,
  });
  (client as unknown as { transports: Record<string, unknown> }).transports.tcp = StarttlsTransport;
  for (const m of opts.disable ?? []) client.sasl.disable(m);
  if (opts.patchPlus) client.sasl.register("SCRAM-SHA-256-PLUS", scramWithBinding(opts.patchPlus), 400);
  const transport = () => (client as unknown as { transport: StarttlsTransport }).transport;
  const base = client.getCredentials.bind(client);
  client.getCredentials = async () => {
    const creds = await base();
    const tls = transport()?.tls;
    let cb = tls ? channelBindingData(tls, opts.binding ?? "none") : undefined;
    if (cb && opts.corruptBinding) cb = Buffer.from(cb.map((b) => b ^ 0xff));
    // stanza.js reads channel-binding data from credentials.tlsUnique, whatever the type.
    return cb ? { ...creds, tlsUnique: cb } : creds;
  };
  const outgoing: string[] = [];
  const incoming: string[] = [];
  client.on("raw:outgoing", (d: string) => outgoing.push(d));
  client.on("raw:incoming", (d: string) => incoming.push(d));
  const outcome = new Promise<Awaited<StanzaLogin["outcome"]>>((resolve) => {
    let failure: string | undefined;
    client.on("sasl", (s: { type: string; condition?: string }) => {
      if (s.type === "failure") failure = s.condition;
    });
    client.on("auth:failed", () => resolve({ kind: "failed", condition: failure }));
    client.on("session:started", () => resolve({ kind: "session", jid: client.jid }));
  });
  client.connect();
  return { client, outgoing, incoming, transport, outcome };
}

/** The mechanism and decoded initial response of the <auth/> stanza.js sent. */
function sentAuth(outgoing: string[]): { mechanism: string; initial: string } {
  const auth = outgoing.find((o) => o.includes("<auth"));
  assert.ok(auth, "an <auth/> was sent");
  const m = auth.match(/mechanism=["']([^"']+)["'][^>]*>([^<]*)</);
  assert.ok(m, auth);
  return { mechanism: m[1] as string, initial: Buffer.from(m[2] as string, "base64").toString("utf8") };
}

async function stopClient(client: XMPP.Agent): Promise<void> {
  client.disconnect();
  await new Promise((r) => setTimeout(r, 50));
}

describe("SASL with stanza.js over STARTTLS", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    await ts.stop();
  });

  test("SCRAM-SHA-256 (RFC 7677): logs in, binds, and chats with an @xmpp/client user", async () => {
    const login = stanzaLogin(ts, "alice", "alice-pw", { disable: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"] });
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    assert.equal(outcome.kind, "session", JSON.stringify(outcome));
    const { mechanism, initial } = sentAuth(login.outgoing);
    assert.equal(mechanism, "SCRAM-SHA-256");
    // RFC 5802 §6: 'n' = the client does not do channel binding.
    assert.match(initial, /^n,,n=alice,r=/);
    assert.equal(login.transport().tls?.getProtocol(), "TLSv1.3");
    // The server's final message carries the RFC 5802 v= verifier.
    const success = login.incoming.join("").match(/<success[^>]*>([^<]+)<\/success>/);
    assert.ok(success, "a <success/> with additional data");
    assert.match(Buffer.from(success[1] as string, "base64").toString(), /^v=/);
    assert.ok(ts.logs.some((l) => l.msg === "authentication succeeded" && l.user === "alice@localhost"));

    const bob = await connect(ts, "bob", "bob-pw", { resource: "xmppjs" });
    try {
      const body = `from stanza.js ${randomBytes(3).toString("hex")}`;
      login.client.sendMessage({ to: bob.jid, type: "chat", body });
      const got = await bob.waitFor((s) => s.name === "message" && s.getChildText("body") === body);
      assert.equal(got.attrs.from, login.client.jid);
      const reply = new Promise<string>((resolve) =>
        login.client.on("chat", (m: { body?: string }) => resolve(m.body ?? "")),
      );
      await bob.xmpp.send(xml("message", { to: login.client.jid, type: "chat" }, xml("body", {}, "hello stanza")));
      assert.equal(await withTimeout(reply, 5000, "the reply"), "hello stanza");
    } finally {
      await bob.stop();
      await stopClient(login.client);
    }
  });

  test("a wrong password → <not-authorized/> (RFC 6120 §6.5.10)", async () => {
    const login = stanzaLogin(ts, "alice", "not-the-password", { disable: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"] });
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    assert.deepEqual(outcome, { kind: "failed", condition: "not-authorized" });
    assert.equal(sentAuth(login.outgoing).mechanism, "SCRAM-SHA-256");
    assert.ok(ts.logs.some((l) => l.msg === "authentication failed" && l.condition === "not-authorized"));
    await stopClient(login.client);
    await assertStillServes(ts);
  });

  test("unmodified stanza.js picks SCRAM-SHA-256-PLUS with no channel binding ('n' flag) and is refused (RFC 5802 §6)", async () => {
    // stanza.js chooses by mechanism priority alone; without tls-unique data it sends gs2 'n' under a -PLUS name.
    const login = stanzaLogin(ts, "alice", "alice-pw");
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    const { mechanism, initial } = sentAuth(login.outgoing);
    assert.equal(mechanism, "SCRAM-SHA-256-PLUS");
    assert.match(initial, /^n,,/);
    assert.deepEqual(outcome, { kind: "failed", condition: "malformed-request" });
    await stopClient(login.client);
  });

  test("unmodified stanza.js SCRAM-SHA-256-PLUS with tls-unique is refused: Natter does not offer tls-unique (RFC 9266 §3)", async () => {
    for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
      const login = stanzaLogin(ts, "alice", "alice-pw", { binding: "tls-unique", maxVersion });
      const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
      assert.equal(login.transport().tls?.getProtocol(), maxVersion);
      const { mechanism, initial } = sentAuth(login.outgoing);
      assert.equal(mechanism, "SCRAM-SHA-256-PLUS");
      assert.match(initial, /^p=tls-unique,,/);
      assert.deepEqual(outcome, { kind: "failed", condition: "malformed-request" }, maxVersion);
      await stopClient(login.client);
    }
  });

  test("stanza.js SCRAM-SHA-256-PLUS naming tls-exporter on TLS 1.3 (RFC 9266) logs in", async () => {
    const login = stanzaLogin(ts, "alice", "alice-pw", { binding: "tls-exporter", patchPlus: "tls-exporter" });
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    assert.equal(outcome.kind, "session", JSON.stringify(outcome));
    assert.equal(login.transport().tls?.getProtocol(), "TLSv1.3");
    const { mechanism, initial } = sentAuth(login.outgoing);
    assert.equal(mechanism, "SCRAM-SHA-256-PLUS");
    assert.match(initial, /^p=tls-exporter,,n=alice,r=/);
    await stopClient(login.client);
  });

  test("stanza.js SCRAM-SHA-256-PLUS naming tls-server-end-point on TLS 1.2 (RFC 5929 §4) logs in", async () => {
    const login = stanzaLogin(ts, "alice", "alice-pw", {
      binding: "tls-server-end-point",
      patchPlus: "tls-server-end-point",
      maxVersion: "TLSv1.2",
    });
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    assert.equal(outcome.kind, "session", JSON.stringify(outcome));
    assert.equal(login.transport().tls?.getProtocol(), "TLSv1.2");
    assert.match(sentAuth(login.outgoing).initial, /^p=tls-server-end-point,,/);
    await stopClient(login.client);
  });

  test("tls-exporter is not accepted on TLS 1.2 (RFC 9266 §3: only with TLS 1.3 here)", async () => {
    const login = stanzaLogin(ts, "alice", "alice-pw", {
      binding: "tls-exporter",
      patchPlus: "tls-exporter",
      maxVersion: "TLSv1.2",
    });
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    assert.deepEqual(outcome, { kind: "failed", condition: "malformed-request" });
    await stopClient(login.client);
  });

  test("channel-binding data from another connection → <not-authorized/> (RFC 5802 §6)", async () => {
    const login = stanzaLogin(ts, "alice", "alice-pw", {
      binding: "tls-exporter",
      patchPlus: "tls-exporter",
      corruptBinding: true,
    });
    const outcome = await withTimeout(login.outcome, 10000, "stanza.js login");
    assert.deepEqual(outcome, { kind: "failed", condition: "not-authorized" });
    await stopClient(login.client);
    await assertStillServes(ts);
  });
});

describe("SCRAM-SHA-256-PLUS by hand on the raw client", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts.stop();
  });

  for (const type of ["tls-exporter", "tls-server-end-point"] as const) {
    test(`SCRAM-SHA-256-PLUS with ${type}: success, and the server proves it knows the password`, async () => {
      const rc = await rawTls(ts);
      const features = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
      const mechs = features
        ?.getChild("mechanisms", NS_SASL)
        ?.getChildren("mechanism")
        .map((m) => m.text());
      assert.deepEqual(mechs, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]);
      const tls = rc.tlsSocket as TLSSocket;
      const cbData = channelBindingData(tls, type) as Buffer;
      const scram = new ScramTestClient("SHA-256", {
        username: "alice",
        password: "alice-pw",
        clientNonce: randomBytes(18).toString("base64"),
        gs2Header: `p=${type},,`,
        cbData,
      });
      rc.send(
        `<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256-PLUS'>${scram.clientFirst().toString("base64")}</auth>`,
      );
      const challenge = await waitForElement(rc, (el) => el.ns === NS_SASL && el.name !== "features");
      assert.equal(challenge.name, "challenge", challenge.toString());
      const final = await scram.clientFinal(Buffer.from(challenge.text(), "base64"));
      rc.send(`<response xmlns='${NS_SASL}'>${final.toString("base64")}</response>`);
      const success = await waitForElement(
        rc,
        (el) => el.ns === NS_SASL && (el.name === "success" || el.name === "failure"),
      );
      assert.equal(success.name, "success", success.toString());
      assert.equal(Buffer.from(success.text(), "base64").toString(), scram.expectedServerFinal());
      rc.data = "";
      rc.send(STREAM_OPEN(ts.domain));
      await rc.waitFor(FEATURES_END);
      assert.ok(
        parseServerOutput(rc.data)
          .elements.find((e) => e.name === "features")
          ?.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind"),
      );
      rc.destroy();
    });
  }
});

describe("mechanisms offered before TLS (RFC 6120 §6.4.1, §13.8; RFC 4616 §5)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ requireEncryption: false });
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts.stop();
  });

  test("with TLS optional: SCRAM without -PLUS is offered in the clear, PLAIN and -PLUS are not", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    const features = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
    const starttls = features?.getChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls");
    assert.ok(starttls, "STARTTLS is offered");
    assert.equal(starttls.getChild("required", "urn:ietf:params:xml:ns:xmpp-tls"), undefined);
    const mechs = features
      ?.getChild("mechanisms", NS_SASL)
      ?.getChildren("mechanism")
      .map((m) => m.text());
    assert.deepEqual(mechs, ["SCRAM-SHA-256", "SCRAM-SHA-1"]);
    // Asking for PLAIN anyway is refused, and no password is checked.
    rc.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from("\0alice\0alice-pw").toString("base64")}</auth>`);
    const failure = await waitForElement(rc, (el) => el.ns === NS_SASL && el.name === "failure");
    const condition = failure.elements().find((e) => e.name !== "text")?.name;
    assert.ok(condition === "invalid-mechanism" || condition === "encryption-required", failure.toString());
    assert.ok(!rc.data.includes("success"));
    rc.destroy();
  });

  test("with TLS optional: SCRAM-SHA-256 by hand in the clear still works", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    const scram = new ScramTestClient("SHA-256", {
      username: "alice",
      password: "alice-pw",
      clientNonce: randomBytes(18).toString("base64"),
    });
    rc.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${scram.clientFirst().toString("base64")}</auth>`);
    const challenge = await waitForElement(rc, (el) => el.ns === NS_SASL && el.name === "challenge");
    const final = await scram.clientFinal(Buffer.from(challenge.text(), "base64"));
    rc.send(`<response xmlns='${NS_SASL}'>${final.toString("base64")}</response>`);
    const success = await waitForElement(
      rc,
      (el) => el.ns === NS_SASL && (el.name === "success" || el.name === "failure"),
    );
    assert.equal(success.name, "success", success.toString());
    rc.destroy();
  });
});
