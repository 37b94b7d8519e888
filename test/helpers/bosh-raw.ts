// A raw BOSH client for tests: POSTs bodies to /http-bind over HTTP(S) and returns status and text, so tests
// can send exactly the bytes they mean (wrong rids, repeats, bad XML) and read exactly what came back.
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface BoshReply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export const NS_HTTPBIND = "http://jabber.org/protocol/httpbind";

export class RawBosh {
  sid = "";
  rid = Math.floor(Math.random() * 1_000_000_000) + 1_000_000;
  private readonly agent: HttpAgent;

  constructor(
    readonly port: number,
    readonly secure = true,
  ) {
    this.agent = secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false })
      : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  /** Sends raw bytes as one request. */
  post(body: string | Buffer, options: { method?: string; headers?: Record<string, string> } = {}): Promise<BoshReply> {
    const make = this.secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = make(
        {
          host: "127.0.0.1",
          port: this.port,
          path: "/http-bind",
          method: options.method ?? "POST",
          agent: this.agent,
          headers: { "Content-Type": "text/xml; charset=utf-8", ...options.headers },
          ...(this.secure ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              headers: res.headers,
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Session creation request (XEP-0124 §7.1, XEP-0206 §3); remembers the sid. */
  async create(to: string, attrs = "wait='10' hold='1' ver='1.11'"): Promise<BoshReply> {
    const reply = await this.post(
      `<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' rid='${this.rid}' to='${to}' xml:lang='en' xmpp:version='1.0' ${attrs}/>`,
    );
    this.sid = /sid='([^']+)'/.exec(reply.text)?.[1] ?? "";
    return reply;
  }

  /** The next request of the session with `inner` payloads. */
  send(inner = "", attrs = ""): Promise<BoshReply> {
    this.rid++;
    return this.sendRid(this.rid, inner, attrs);
  }

  sendRid(rid: number, inner = "", attrs = ""): Promise<BoshReply> {
    const open = `<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' sid='${this.sid}' rid='${rid}' ${attrs}`;
    return this.post(inner === "" ? `${open}/>` : `${open}>${inner}</body>`);
  }

  /** Sends empty requests until a reply matches (output may come in a later response). */
  async until(pattern: RegExp, inner = "", attrs = "", tries = 5): Promise<BoshReply> {
    let reply = await this.send(inner, attrs);
    for (let i = 1; i < tries && !pattern.test(reply.text); i++) reply = await this.send();
    if (!pattern.test(reply.text)) throw new Error(`no ${pattern} in ${reply.text}`);
    return reply;
  }

  close(): void {
    this.agent.destroy();
  }
}
