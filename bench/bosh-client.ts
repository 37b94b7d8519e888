// A minimal BOSH (XEP-0124 / XEP-0206) login client for load generation: session creation, SCRAM-SHA-1,
// restart, bind, optional presence, terminate. Raw bodies over keep-alive HTTP, just enough to time logins.
import { Agent, request } from "node:http";
import { ScramSha1Client, XmppError } from "./client.js";

const NS_HTTPBIND = "http://jabber.org/protocol/httpbind";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

export interface BoshLoginOptions {
  host: string;
  httpPort: number;
  domain: string;
  username: string;
  password: string;
  resource: string;
  presence: boolean;
  stepTimeoutMs: number;
}

function post(opts: BoshLoginOptions, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: opts.host,
        port: opts.httpPort,
        path: "/http-bind",
        method: "POST",
        agent,
        headers: { "Content-Type": "text/xml; charset=utf-8" },
        timeout: opts.stepTimeoutMs,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(text)
            : reject(new XmppError(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`)),
        );
      },
    );
    req.on("timeout", () => req.destroy(new XmppError("BOSH request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** A logged-in BOSH session; close() sends the terminate request. */
export class BoshBenchClient {
  jid = "";
  private constructor(
    private readonly opts: BoshLoginOptions,
    private sid: string,
    private rid: number,
  ) {}

  private async send(inner: string, attrs = ""): Promise<string> {
    this.rid++;
    const reply = await post(
      this.opts,
      `<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' sid='${this.sid}' rid='${this.rid}' ${attrs}>${inner}</body>`,
    );
    if (/type='terminate'/.test(reply)) throw new XmppError(`session terminated: ${reply.slice(0, 300)}`);
    return reply;
  }

  /** Sends `inner`, then empty polls until a reply matches. */
  private async until(pattern: RegExp, inner: string, attrs = ""): Promise<string> {
    let reply = await this.send(inner, attrs);
    for (let i = 0; i < 5 && !pattern.test(reply); i++) reply = await this.send("");
    if (!pattern.test(reply)) throw new XmppError(`expected ${pattern}, got ${reply.slice(0, 300)}`);
    return reply;
  }

  static async login(opts: BoshLoginOptions): Promise<BoshBenchClient> {
    const rid = Math.floor(Math.random() * 1e9) + 1;
    const created = await post(
      opts,
      `<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' rid='${rid}' to='${opts.domain}' wait='30' hold='1' ver='1.11' xml:lang='en' xmpp:version='1.0'/>`,
    );
    const sid = /sid='([^']+)'/.exec(created)?.[1];
    if (!sid) throw new XmppError(`no session: ${created.slice(0, 300)}`);
    const client = new BoshBenchClient(opts, sid, rid);
    const scram = new ScramSha1Client(opts.username, opts.password);
    const challenge = await client.until(
      /<challenge|<failure/,
      `<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${scram.first()}</auth>`,
    );
    if (!/<challenge/.test(challenge)) throw new XmppError(`SASL failure: ${challenge.slice(0, 300)}`);
    const response = await scram.final(/<challenge[^>]*>([^<]*)</.exec(challenge)?.[1] ?? "");
    const success = await client.until(/<success|<failure/, `<response xmlns='${NS_SASL}'>${response}</response>`);
    if (!/<success/.test(success)) throw new XmppError(`SASL failure: ${success.slice(0, 300)}`);
    scram.verify(/<success[^>]*>([^<]*)</.exec(success)?.[1] ?? "");
    await client.until(/<bind/, "", `xmpp:restart='true' to='${opts.domain}'`);
    const bound = await client.until(
      /<jid>/,
      `<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${opts.resource}</resource></bind></iq>`,
    );
    client.jid = /<jid>([^<]*)<\/jid>/.exec(bound)?.[1] ?? "";
    if (opts.presence) {
      // Sent without waiting for the answer (it is held until output or `wait`): the login is complete.
      client.rid++;
      void post(
        opts,
        `<body xmlns='${NS_HTTPBIND}' sid='${sid}' rid='${client.rid}'><presence xmlns='jabber:client'/></body>`,
      ).catch(() => {});
    }
    return client;
  }

  async close(): Promise<void> {
    this.rid++;
    await post(this.opts, `<body xmlns='${NS_HTTPBIND}' sid='${this.sid}' rid='${this.rid}' type='terminate'/>`).catch(
      () => {},
    );
  }
}

export function closeBoshAgent(): void {
  agent.destroy();
}
