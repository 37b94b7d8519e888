// One HTTP(S) request with a request target and Host header sent exactly as given (fetch() normalises the
// path and refuses to set Host), for tests of routing, virtual hosts and path traversal.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface RawHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes as received (compressed when Content-Encoding says so). */
  raw: Buffer;
}

export interface RawHttpOptions {
  port: number;
  path: string;
  /** The Host header; default "localhost:<port>". */
  host?: string;
  secure?: boolean;
  method?: string;
  headers?: Record<string, string>;
}

export function rawHttp(options: RawHttpOptions): Promise<RawHttpResponse> {
  const { port, path, secure = false, method = "GET" } = options;
  const send = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        headers: { Host: options.host ?? `localhost:${port}`, ...options.headers },
        // The test server's certificate is self-signed.
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString("utf8"), raw });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
