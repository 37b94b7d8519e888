// XEP-0049 Private XML Storage: a user keeps arbitrary XML on the server, one element per (namespace, name),
// readable and writable only by the user's own resources, within a per-account quota of elements and bytes.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import { NS_PRIVATE } from "../../core/xml/ns.js";
import { buildResult, queryChildren, serialiseStored, storageKey } from "./codec.js";

const options = z
  .object({
    /** Elements (namespace + name) one account may store; a set adding more gets <resource-constraint/>. */
    max_entries: z.number().int().min(1).default(100),
    /** Bytes of stored XML per account, all elements together; a set going past it gets <resource-constraint/>. */
    max_bytes: z.number().int().min(1024).default(1_048_576),
  })
  .strict();

// XEP-0049 §2.3 and §5: data of another user MUST get forbidden ("preferable" to service-unavailable);
// only the user's own resources may read or write it.
function checkOwn(from: Jid, to: Jid): void {
  if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "private data is only for its owner");
}

export default defineModule({
  name: "private-storage",
  specs: [{ xep: 49, version: "1.2", status: "complete" }],
  options,
  setup(ctx) {
    const store = ctx.store("private", "map"); // per user: `${ns} ${name}` → serialised element
    const { max_entries, max_bytes } = ctx.options;
    // One set at a time per account, so that two concurrent sets cannot both pass the quota.
    const serial = createPerKeyQueue();

    ctx.iq("account", "get", NS_PRIVATE, "query", async ({ from, to, payload }) => {
      checkOwn(from, to);
      const asked = queryChildren(payload, "get");
      const stored = await Promise.all(asked.map((a) => store.get(to.local, storageKey(a))));
      return buildResult(
        asked,
        stored.map((s) => (typeof s === "string" ? s : undefined)),
      );
    });

    ctx.iq("account", "set", NS_PRIVATE, "query", async ({ from, to, payload }) => {
      checkOwn(from, to);
      const user = to.local;
      // Every child is checked before any is stored: a refused set changes nothing.
      const children = queryChildren(payload, "set");
      const writes = new Map(children.map((c) => [storageKey(c), serialiseStored(c)]));
      await serial(user, async () => {
        // The account's data as it would be after this set: replaced elements count once, at their new size.
        const after = new Map<string, string>();
        for (const [key, value] of await store.getAll(user)) if (typeof value === "string") after.set(key, value);
        for (const [key, value] of writes) after.set(key, value);
        let bytes = 0;
        for (const value of after.values()) bytes += Buffer.byteLength(value);
        if (after.size > max_entries || bytes > max_bytes) {
          ctx.log.info({ user, entries: after.size, bytes, max_entries, max_bytes }, "private storage quota reached: set refused");
          throw new StanzaError(
            "resource-constraint",
            after.size > max_entries ? `at most ${max_entries} stored elements per account` : `at most ${max_bytes} bytes of private data per account`,
          );
        }
        for (const [key, value] of writes) await store.set(user, key, value);
      });
      return undefined;
    });
  },
});
