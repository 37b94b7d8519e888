// A TCP proxy between a Natter node and Redis that a test can hold shut: while held, what the node writes waits in
// the proxy (Redis has not got it) and is dropped if the node dies meanwhile, as a write still in a dead process's
// socket buffer would be. Redis's answers always flow.
import { connect, createServer, type Server, type Socket } from "node:net";

export interface RedisGate {
  url: string;
  /** Holds what the node sends until `open()`. */
  hold(): void;
  open(): void;
  close(): Promise<void>;
}

export async function redisGate(redisUrl: string): Promise<RedisGate> {
  const target = new URL(redisUrl);
  let held = false;
  const links = new Set<{ client: Socket; upstream: Socket; waiting: Buffer[] }>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    const link = { client, upstream, waiting: [] as Buffer[] };
    links.add(link);
    client.on("data", (chunk: Buffer) => {
      if (held || link.waiting.length > 0) link.waiting.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    const end = () => {
      links.delete(link);
      link.waiting.length = 0;
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    hold() {
      held = true;
    },
    open() {
      held = false;
      for (const link of links) for (const chunk of link.waiting.splice(0)) link.upstream.write(chunk);
    },
    async close() {
      for (const link of [...links]) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
