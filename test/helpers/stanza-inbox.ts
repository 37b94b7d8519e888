// Every stanza an @xmpp/client or @xmpp/component connection receives, and a wait for the next one that matches:
// one implementation for the client helper and the component-based tests.
import type { xml } from "@xmpp/client";

type XmlElement = ReturnType<typeof xml>;

export interface StanzaInbox {
  /** Every stanza received, in order. */
  received: XmlElement[];
  /** Resolves with the first received stanza matching the predicate (already received ones count). */
  waitFor(pred: (s: XmlElement) => boolean, timeoutMs?: number): Promise<XmlElement>;
}

/** Collects what `connection` emits as "stanza"; `who` names it in a time-out message. */
export function stanzaInbox(connection: { on(event: "stanza", fn: (s: XmlElement) => void): unknown }, who = ""): StanzaInbox {
  const received: XmlElement[] = [];
  const waiters: { pred: (s: XmlElement) => boolean; resolve: (s: XmlElement) => void }[] = [];
  connection.on("stanza", (s: XmlElement) => {
    received.push(s);
    for (const w of [...waiters]) {
      if (w.pred(s)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
    }
  });
  return {
    received,
    waitFor(pred, timeoutMs = 5000) {
      const hit = received.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i !== -1) {
            waiters.splice(i, 1);
            reject(new Error(`timed out waiting for a stanza${who === "" ? "" : ` at ${who}`}`));
          }
        }, timeoutMs).unref();
      });
    },
  };
}
