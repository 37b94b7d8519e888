// PEP's nodes and items: the pubsub engine's NodeStore under the "pep" stores, keyed by the account's localpart.
import type { ModuleContext } from "../../core/modules.js";
import { NodeStore, type PubsubNode } from "../pubsub/engine/node-store.js";

export type { Affiliation } from "../pubsub/engine/node-store.js";
export type PepNode = PubsubNode;

export class PepStore extends NodeStore {
  constructor(ctx: Pick<ModuleContext<unknown>, "store">) {
    super(ctx, "pep");
  }
}
