// XEP-0049 Private XML Storage: a user keeps arbitrary XML on the server, one element per (namespace, name),
// readable and writable only by the user's own resources.
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { NS_PRIVATE } from "../../core/xml/ns.js";
import { buildResult, queryChildren, serialiseStored, storageKey } from "./codec.js";

// XEP-0049 §2.3 and §5: data of another user MUST get forbidden ("preferable" to service-unavailable);
// only the user's own resources may read or write it.
function checkOwn(from: Jid, to: Jid): void {
  if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "private data is only for its owner");
}

export default defineModule({
  name: "private-storage",
  specs: [{ xep: 49, version: "1.2", status: "complete" }],
  setup(ctx) {
    const store = ctx.store("private", "map"); // per user: `${ns} ${name}` → serialised element

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
      // Every child is checked before any is stored: a refused set changes nothing.
      const children = queryChildren(payload, "set");
      for (const c of children) await store.set(to.local, storageKey(c), serialiseStored(c));
      return undefined;
    });
  },
});
