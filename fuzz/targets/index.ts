// Every fuzz target, by name (the name is also its seed folder under fuzz/corpus/).
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { framedElementTarget } from "./framed-element.js";
import { jidTarget } from "./jid.js";
import { saslExchangeTarget } from "./sasl-exchange.js";
import { saslInputTarget } from "./sasl-input.js";
import { scramMessagesTarget } from "./scram-messages.js";
import { streamParserTarget } from "./stream-parser.js";

export const targets: readonly FuzzTarget[] = [
  streamParserTarget,
  framedElementTarget,
  scramMessagesTarget,
  saslExchangeTarget,
  saslInputTarget,
  jidTarget,
];

export function targetNamed(name: string): FuzzTarget {
  const target = targets.find((t) => t.name === name);
  if (target === undefined) throw new Error(`no fuzz target ${name} (have: ${targets.map((t) => t.name).join(", ")})`);
  return target;
}
