// Passwords checked by the operator's HTTP endpoint (docs/authentication.md "HTTP"): POST JSON
// {"user", "host", "password"}; 200 = valid, 401 or 403 = invalid, anything else (or no answer within the
// timeout) = the backend is unavailable. The optional exists endpoint gets {"user", "host"}: 200 = exists,
// 404 = does not. The response body is not read.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { PasswordBackend } from "./password-backend.js";

export interface HttpBackendOptions {
  url: string;
  /** "" = existence is not asked: a user is taken to exist (stanzas to unknown names are stored as for any offline user). */
  existsUrl: string;
  /** Sent as `Authorization: Bearer <token>` when not "". */
  token: string;
  caFile: string;
  timeoutMs: number;
}

export class HttpBackend implements PasswordBackend {
  readonly label = "an HTTP service";
  private readonly ca: Buffer | undefined;

  constructor(private readonly options: HttpBackendOptions) {
    this.ca = options.caFile ? readFileSync(options.caFile) : undefined;
  }

  async verify(host: string, user: string, password: string): Promise<boolean> {
    const status = await this.post(this.options.url, { user, host, password });
    if (status === 200) return true;
    if (status === 401 || status === 403) return false;
    throw new Error(`the password endpoint answered HTTP ${status}`);
  }

  async exists(host: string, user: string): Promise<boolean> {
    if (this.options.existsUrl === "") return true;
    const status = await this.post(this.options.existsUrl, { user, host });
    if (status === 200) return true;
    if (status === 404) return false;
    throw new Error(`the user endpoint answered HTTP ${status}`);
  }

  async close(): Promise<void> {}

  private post(url: string, body: Record<string, string>): Promise<number> {
    const target = new URL(url);
    const data = Buffer.from(JSON.stringify(body), "utf8");
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-length": String(data.length),
      accept: "*/*",
    };
    if (this.options.token !== "") headers.authorization = `Bearer ${this.options.token}`;
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<number>((resolve, reject) => {
      const req = send(
        target,
        // https: the certificate and name are always verified, against ca_file when given.
        { method: "POST", headers, timeout: this.options.timeoutMs, ...(this.ca ? { ca: this.ca } : {}) },
        (res) => {
          res.resume(); // the body is not needed; draining frees the socket
          res.on("error", () => undefined);
          clearTimeout(overall);
          resolve(res.statusCode ?? 0);
        },
      );
      // `timeout` covers idle sockets only: this bounds the whole exchange.
      const overall = setTimeout(
        () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      req.on("error", (err) => {
        clearTimeout(overall);
        reject(err);
      });
      req.end(data);
    });
  }
}
