// BOSH (XEP-0124 with XEP-0206 for XMPP) as a bench client wire: POSTs of <body/> wrappers to /http-bind,
// one session per client, hold=1 and wait=60. Once the session exists the wire always keeps one request
// with the server (XEP-0124 §7.1: the held one, on which the server answers when it has something to send),
// and sends what it has to say in a second request as the protocol's `requests` (2) allows.

import { Agent, request } from "node:http";
import { NS_HTTPBIND, NS_XBOSH } from "../src/core/xml/ns.js";
import { type ClientWire, escapeAttr, qualifyStanza, type WireEvents, XmppError } from "./client-wire.js";

export const BOSH_PATH = "/http-bind";
/** XEP-0124 §7.1 attributes of the session creation request. */
const HOLD = 1;
const WAIT = 60;

/** One keep-alive pool for every session: a held request occupies a connection, as it would for a browser. */
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 1024 });

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}=(?:'([^']*)'|"([^"]*)")`)
    .exec(tag)
    ?.slice(1)
    .find((v) => v !== undefined);
}

interface Reply {
  status: number;
  text: string;
}

function post(host: string, port: number, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: BOSH_PATH, method: "POST", agent, headers: { "Content-Type": "text/xml; charset=utf-8" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Whether host:port answers BOSH at /http-bind: a <body/> with an unknown sid must get a BOSH answer
 * (XEP-0124 §17: a terminal error inside a <body/>). Rejects with the reason when it does not.
 */
export async function assertBoshEndpoint(host: string, port: number): Promise<void> {
  let reply: Reply;
  try {
    reply = await post(host, port, `<body xmlns='${NS_HTTPBIND}' rid='1' sid='bench-probe'/>`);
  } catch (err) {
    throw new Error(`no HTTP listener at http://${host}:${port}${BOSH_PATH}: ${(err as Error).message}`);
  }
  // XEP-0124 §17.1: the unknown sid is item-not-found, which a server may also send as HTTP 404 (legacy
  // clients): only a reply that is no <body/> at all means there is no BOSH here.
  if (!reply.text.includes(NS_HTTPBIND)) {
    throw new Error(
      `the server has no BOSH endpoint at http://${host}:${port}${BOSH_PATH} (HTTP ${reply.status}): ` +
        "BOSH scenarios need a Natter with src/transports/bosh (or a server with BOSH on that port)",
    );
  }
}

export class BoshWire implements ClientWire {
  readonly socket = undefined;
  private sid = "";
  /** XEP-0124 §14: a random start well below 2^53, then one more per request. */
  private rid = Math.floor(Math.random() * 1_000_000_000) + 1_000_000;
  private requests = 2;
  private outstanding = 0;
  private queue: string[] = [];
  private domain = "";
  private restartPending = false;
  private pumpScheduled = false;
  private closing = false;
  private done = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly events: WireEvents,
  ) {}

  connect(): Promise<void> {
    return Promise.resolve();
  }

  openStream(domain: string, restart: boolean): void {
    this.domain = domain;
    if (restart) {
      // XEP-0206 §5: the restart request carries no payload.
      this.restartPending = true;
      this.schedule();
      return;
    }
    // XEP-0124 §7.1, XEP-0206 §3: the session creation request.
    this.request(
      `<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='${NS_XBOSH}' content='text/xml; charset=utf-8' hold='${HOLD}' wait='${WAIT}' ` +
        `rid='${this.rid}' to='${escapeAttr(domain)}' ver='1.11' xml:lang='en' xmpp:version='1.0'/>`,
    );
  }

  write(xml: string): void {
    this.queue.push(qualifyStanza(xml));
    this.schedule();
  }

  send(xml: string): void {
    this.write(xml);
  }

  /** After the current tick, so that the elements of one tick share a request and a reply just read can be
   * answered in the next request instead of an empty one. */
  private schedule(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.sid === "" || this.done || this.closing) return;
    while (this.outstanding < this.requests) {
      let rest: string;
      if (this.restartPending) {
        this.restartPending = false;
        rest = ` xmlns:xmpp='${NS_XBOSH}' to='${escapeAttr(this.domain)}' xml:lang='en' xmpp:restart='true'/>`;
      } else if (this.queue.length > 0) {
        rest = `>${this.queue.join("")}</body>`;
        this.queue = [];
      } else if (this.outstanding === 0) {
        rest = "/>"; // the one the server holds
      } else {
        return;
      }
      this.request(`<body xmlns='${NS_HTTPBIND}' sid='${this.sid}' rid='${++this.rid}'${rest}`);
    }
  }

  private request(body: string): void {
    this.outstanding++;
    post(this.host, this.port, body).then(
      (reply) => this.replied(reply),
      (err: Error) => this.fail(new XmppError(`BOSH request failed: ${err.message}`)),
    );
  }

  private replied(reply: Reply): void {
    this.outstanding--;
    if (this.done) return;
    const failure = this.read(reply);
    if (failure === undefined) this.schedule();
    else if (failure !== "closing") this.fail(failure);
  }

  /** Hands the reply's payloads on; says why the session is over, if it is. */
  private read(reply: Reply): XmppError | "closing" | undefined {
    if (reply.status !== 200) return new XmppError(`BOSH: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
    const open = /<body\b[^>]*>/.exec(reply.text);
    if (open === null) return new XmppError(`BOSH: no <body/> in the reply: ${reply.text.slice(0, 200)}`);
    const tag = open[0];
    if (this.sid === "") {
      this.sid = attr(tag, "sid") ?? "";
      if (this.sid === "") return new XmppError(`BOSH: session not created: ${reply.text.slice(0, 300)}`);
      const requests = Number(attr(tag, "requests"));
      if (requests >= 1) this.requests = Math.min(requests, 2);
    }
    const inner = tag.endsWith("/>")
      ? ""
      : reply.text.slice(open.index + tag.length, reply.text.lastIndexOf("</body>"));
    if (inner !== "") this.events.data(inner);
    // XEP-0124 §17: a terminal binding condition ends the session (remote-stream-error carries the stream error).
    if (attr(tag, "type") === "terminate") {
      return this.closing
        ? "closing"
        : new XmppError(`BOSH session terminated: ${attr(tag, "condition") ?? "no condition"} ${inner.slice(0, 200)}`);
    }
    return undefined;
  }

  private fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    if (!this.closing) this.events.closed(err);
  }

  /** XEP-0124 §13: a type='terminate' request ends the session; the server answers the held request too. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing || this.done || this.sid === "") {
      this.closing = true;
      this.done = true;
      return;
    }
    this.closing = true;
    const body = `<body xmlns='${NS_HTTPBIND}' sid='${this.sid}' rid='${++this.rid}' type='terminate'><presence type='unavailable' xmlns='jabber:client'/></body>`;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      post(this.host, this.port, body).catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    this.done = true;
  }

  destroy(): void {
    this.closing = true;
    this.done = true;
  }
}
