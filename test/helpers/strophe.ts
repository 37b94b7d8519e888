// Strophe.js (strophe.js@5, the library behind many web clients) as an independent client in Node tests, over
// BOSH (`https://…/http-bind`) or RFC 7395 WebSocket (`wss://…/xmpp-websocket`): Strophe picks the transport
// from the URL. Its Node build installs `ws` as the global WebSocket and @xmldom/xmldom as the DOM; BOSH also
// needs an XMLHttpRequest, which NodeXhr provides. One setup for both transports.
import { $msg, $pres, Strophe } from "strophe.js";
import { installNodeXhr } from "./node-xhr.js";

type Connection = InstanceType<typeof Strophe.Connection>;
/** The part of a DOM element read here (the project's tsconfig has no DOM lib). */
interface StanzaElement {
  getAttribute(name: string): string | null;
  getElementsByTagName(name: string): ArrayLike<{ textContent: string | null }>;
}

export interface StropheClient {
  conn: Connection;
  /** Every Strophe.Status the connection went through, in order. */
  statuses: number[];
  /** Sends initial presence and a chat message. */
  sendChat(to: string, body: string): void;
  /** Resolves with the body of the next chat message received. */
  nextChat(): Promise<{ from: string; body: string }>;
  /** Closes the stream and resolves once Strophe reports DISCONNECTED. */
  disconnect(): Promise<void>;
}

const FAILED = [Strophe.Status.AUTHFAIL, Strophe.Status.CONNFAIL, Strophe.Status.ERROR];

/** Logs in as `jid` (SASL: Strophe prefers SCRAM), resolves once connected and bound. */
export async function stropheConnect(service: string, jid: string, password: string): Promise<StropheClient> {
  if (service.startsWith("http")) installNodeXhr();
  Strophe.setLogLevel(Strophe.LogLevel.ERROR);
  const conn = new Strophe.Connection(service);
  const statuses: number[] = [];
  const waiters: { want: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const reached = (want: number) =>
    new Promise<void>((resolve, reject) => {
      if (statuses.includes(want)) resolve();
      else waiters.push({ want, resolve, reject });
    });
  conn.connect(jid, password, (status: number, condition: string | null) => {
    statuses.push(status);
    for (const w of [...waiters]) {
      if (w.want === status) w.resolve();
      else if (FAILED.includes(status)) w.reject(new Error(`Strophe status ${status} ${condition ?? ""}`));
      else continue;
      waiters.splice(waiters.indexOf(w), 1);
    }
  });
  await withTimeout(reached(Strophe.Status.CONNECTED), "Strophe login");
  return {
    conn,
    statuses,
    sendChat(to, body) {
      conn.send($pres());
      conn.send($msg({ to, type: "chat" }).c("body").t(body));
    },
    nextChat() {
      return withTimeout(
        new Promise((resolve) => {
          conn.addHandler(
            (el: StanzaElement) => {
              resolve({
                from: el.getAttribute("from") ?? "",
                body: el.getElementsByTagName("body")[0]?.textContent ?? "",
              });
              return false;
            },
            null,
            "message",
            "chat",
          );
        }),
        "a chat message at Strophe",
      );
    },
    async disconnect() {
      const done = reached(Strophe.Status.DISCONNECTED);
      conn.disconnect("done");
      await withTimeout(done, "Strophe disconnect");
    },
  };
}

function withTimeout<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
