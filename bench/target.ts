// What a scenario needs to know about the server under test, and the shared login helper.

import { BenchClient, type Mechanism } from "./client.js";

export interface Target {
  /** Shown in the table header. */
  name: string;
  host: string;
  port: number;
  /** HTTP listener (BOSH at /http-bind), when known. */
  httpPort?: number;
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
  const client = await BenchClient.login({
    host: target.host,
    port: target.port,
    domain: target.domain,
    username: `${target.userPrefix}${index}`,
    password: target.password,
    resource: `b${(++resourceCounter).toString(36)}`,
    mechanism: target.mechanism,
    presence,
    stepTimeoutMs: target.stepTimeoutMs,
  });
  loggedIn.add(`${target.name}\0${target.domain}\0${index}`);
  return client;
}
