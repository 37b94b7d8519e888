// Opens one server per bind address (all interfaces when none is given) and logs where each listens. Every
// TCP listener (c2s, s2s, their direct-TLS variants) starts through this.
import type { Server } from "node:net";
import type { Logger } from "pino";

export interface ListenAddress {
  port: number;
  /** Addresses to bind; empty = all interfaces. */
  bind: string[];
}

export async function listenAll(make: () => Server, addr: ListenAddress, log: Logger, what: string): Promise<Server[]> {
  const hosts = addr.bind.length > 0 ? addr.bind : [undefined];
  const servers: Server[] = [];
  for (const host of hosts) {
    const server = make();
    server.maxConnections = 1_000_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port: addr.port, host, backlog: 4096 }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      // The addresses bound so far are closed: a reload that cannot open all of them changes nothing.
      for (const s of servers) s.close();
      throw err;
    }
    server.on("error", (err) => log.error({ err }, `${what} listener error`));
    const a = server.address();
    log.info({ address: typeof a === "object" && a ? `${a.address}:${a.port}` : a }, `${what} listening`);
    servers.push(server);
  }
  return servers;
}
