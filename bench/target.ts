// What a scenario needs to know about the server under test, and the shared login helper.

import { BenchClient, type Mechanism } from "./client.js";
import type { Transport } from "./client-wire.js";
import type { LoopDelayProbe } from "./loop-delay.js";

export interface Target {
  /** Shown in the table header. */
  name: string;
  host: string;
  /** The c2s port (plain TCP). */
  port: number;
  /** The HTTP listener's port (WebSocket at /xmpp-websocket, BOSH at /http-bind); undefined: none known. */
  httpPort: number | undefined;
  /** What the scenario's clients connect over. */
  transport: Transport;
  /** Clients negotiate STARTTLS before SASL (plain TCP only; the idle-tls scenario). */
  starttls?: boolean;
  /**
   * The server's event-loop delay (Natter started with bench/loop-delay-probe.js): reset() starts a window,
   * read() returns its p99 and max in ms. Undefined for servers without the probe.
   */
  loopDelay?: LoopDelayProbe;
  domain: string;
  /** Server process id, for RSS and CPU readings; undefined skips them. */
  pid: number | undefined;
  /** Accounts are `${userPrefix}${i}@domain` for i = 1..N, all with this password. */
  userPrefix: string;
  password: string;
  mechanism: Mechanism;
  stepTimeoutMs: number;
}

export interface Metric {
  key: string;
  label: string;
  value: number;
  unit: string;
  /** Which direction is an improvement: decides nothing in the code, shown in the table. */
  better: "higher" | "lower" | "info";
}

export type Log = (line: string) => void;

let resourceCounter = 0;
const loggedIn = new Set<string>();

/** Whether this process has logged in account `index` on the target before (its SCRAM keys are cached). */
export function hasLoggedIn(target: Target, index: number): boolean {
  return loggedIn.has(`${target.name}\0${target.domain}\0${index}`);
}

/** Log in account number `index` (1-based) with a fresh resource. */
export async function loginUser(target: Target, index: number, presence: boolean): Promise<BenchClient> {
  const port = target.transport === "tcp" ? target.port : target.httpPort;
  if (port === undefined) throw new Error(`no HTTP port for ${target.transport} (--http-port)`);
  const client = await BenchClient.login({
    host: target.host,
    port,
    transport: target.transport,
    domain: target.domain,
    username: `${target.userPrefix}${index}`,
    password: target.password,
    resource: `b${(++resourceCounter).toString(36)}`,
    mechanism: target.mechanism,
    presence,
    starttls: target.starttls,
    stepTimeoutMs: target.stepTimeoutMs,
  });
  loggedIn.add(`${target.name}\0${target.domain}\0${index}`);
  return client;
}
