// The part of XMLHttpRequest that Strophe.js's BOSH transport uses, over node:http(s), so Strophe can run as an
// independent BOSH client in Node tests (Node 20 has no XMLHttpRequest; Strophe's Node build brings only the
// DOM, from @xmldom/xmldom, which also parses responseXML here). Certificates are not checked: test server only.

import { type ClientRequest, Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { DOMParser } from "@xmldom/xmldom";

const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });

export class NodeXhr {
  readyState = 0;
  status = 0;
  responseText = "";
  responseXML: unknown = null;
  withCredentials = false;
  onreadystatechange: (() => void) | null = null;
  private method = "GET";
  private url = "";
  private readonly headers: Record<string, string> = {};
  private responseHeaders = "";
  private req: ClientRequest | undefined;

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
    this.setState(1);
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  overrideMimeType(): void {}

  getAllResponseHeaders(): string {
    return this.responseHeaders;
  }

  send(body?: string): void {
    const url = new URL(this.url);
    const secure = url.protocol === "https:";
    const make = secure ? httpsRequest : httpRequest;
    this.req = make(
      url,
      { method: this.method, headers: this.headers, agent: secure ? httpsAgent : httpAgent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          this.status = res.statusCode ?? 0;
          this.responseText = Buffer.concat(chunks).toString("utf8");
          this.responseHeaders = Object.entries(res.headers)
            .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`)
            .join("\r\n");
          try {
            this.responseXML = this.responseText
              ? new DOMParser().parseFromString(this.responseText, "text/xml")
              : null;
          } catch {
            this.responseXML = null;
          }
          this.setState(4);
        });
      },
    );
    this.req.on("error", () => {
      this.status = 0;
      this.setState(4);
    });
    this.req.end(body);
  }

  abort(): void {
    this.req?.destroy();
  }

  private setState(state: number): void {
    this.readyState = state;
    this.onreadystatechange?.();
  }
}

/** Makes NodeXhr the global XMLHttpRequest (what Strophe's BOSH transport instantiates). */
export function installNodeXhr(): void {
  (globalThis as unknown as { XMLHttpRequest: unknown }).XMLHttpRequest = NodeXhr;
}

export function closeNodeXhrAgents(): void {
  httpsAgent.destroy();
  httpAgent.destroy();
}
