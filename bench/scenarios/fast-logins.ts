// FAST reconnection (XEP-0484) next to SCRAM-SHA-256, both over XEP-0388 SASL2 with XEP-0386 Bind 2, in the same run:
// `count` accounts log in `concurrency` at a time, each over STARTTLS (FAST is offered over TLS only), once with
// SCRAM-SHA-256 and its password, once with the HT-SHA-256-NONE token a first unmeasured pass asked for. Reports
// logins/s and the server's CPU milliseconds per login for each. Natter only: Debian's Prosody and ejabberd lack FAST.
// Measured logins resume the TLS session of the account's previous connection, as a reconnecting phone does: a full
// handshake (the certificate signature) would otherwise dwarf what either mechanism costs.
//
// The client keeps each account's SCRAM SaltedPassword (one PBKDF2 per account, in the unmeasured pass), so the
// figures time the server; the server itself runs no PBKDF2 in either (it stores SCRAM keys, and a token needs two
// HMACs), so what FAST saves it is the second round trip and the SCRAM arithmetic, not a password hash.

import { createHash, createHmac, pbkdf2Sync, randomBytes, randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { cpuSeconds, Histogram, ownCpuSeconds, pool } from "../stats.js";
import type { Log, Metric, Target } from "../target.js";

const NS_SASL2 = "urn:xmpp:sasl:2";
const NS_FAST = "urn:xmpp:fast:0";

export interface FastLoginsOptions {
  count: number;
  concurrency: number;
}

interface Account {
  user: string;
  agent: string;
  salted?: Buffer;
  token?: string;
  /** The TLS session to resume (RFC 8446 §2.2): a phone reconnecting offers the ticket of its last connection. */
  tlsSession?: Buffer;
}

/** How many measured handshakes resumed a TLS session (the figures say whether they did). */
const resumed = { yes: 0, no: 0 };

/** A raw TLS stream just able to log in: the accumulated text, scanned with regular expressions. */
class Conn {
  private data = "";
  private waiter: (() => void) | undefined;
  private socket: Socket | TLSSocket;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  static async open(target: Target, account: Account): Promise<Conn> {
    const socket = connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    await new Promise<void>((ok, fail) => socket.once("connect", ok).once("error", fail));
    const c = new Conn(socket);
    c.openStream(target.domain);
    await c.expect(/<\/stream:features>/, target.stepTimeoutMs);
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await c.expect(/<proceed/, target.stepTimeoutMs);
    socket.removeAllListeners("data");
    const secure = tlsConnect({
      socket,
      servername: target.domain,
      rejectUnauthorized: false,
      ...(account.tlsSession ? { session: account.tlsSession } : {}),
    });
    secure.on("session", (session: Buffer) => {
      account.tlsSession = session;
    });
    await new Promise<void>((ok, fail) => secure.once("secureConnect", ok).once("error", fail));
    if (secure.isSessionReused()) resumed.yes++;
    else resumed.no++;
    c.socket = secure;
    c.listen(secure);
    c.data = "";
    c.openStream(target.domain);
    await c.expect(/<\/stream:features>/, target.stepTimeoutMs);
    return c;
  }

  private listen(socket: Socket): void {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.data += chunk;
      this.waiter?.();
    });
    socket.on("error", () => this.waiter?.());
  }

  private openStream(domain: string): void {
    this.socket.write(
      `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
    );
  }

  send(xml: string): void {
    this.socket.write(xml);
  }

  /** Waits for `re` in what arrived since the last match; returns the match and drops what came before it. */
  async expect(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.data.match(re);
      if (m) {
        this.data = this.data.slice((m.index ?? 0) + m[0].length);
        return m;
      }
      if (/<failure|<stream:error/.test(this.data)) throw new Error(`refused: ${this.data.slice(0, 300)}`);
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.destroyed) throw new Error(`timed out waiting for ${re}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.end("</stream:stream>");
    this.socket.destroy();
  }
}

const hmac = (key: Buffer, data: string | Buffer) => createHmac("sha256", key).update(data).digest();

/** SCRAM-SHA-256 (RFC 7677) over SASL2 with Bind 2; asks for a FAST token when `requestToken`. */
async function scramLogin(target: Target, account: Account, requestToken: boolean): Promise<void> {
  const c = await Conn.open(target, account);
  try {
    const nonce = randomBytes(18).toString("base64");
    const bare = `n=${account.user},r=${nonce}`;
    c.send(
      `<authenticate xmlns='${NS_SASL2}' mechanism='SCRAM-SHA-256'><initial-response>${Buffer.from(`n,,${bare}`).toString("base64")}</initial-response>` +
        `<user-agent id='${account.agent}'><software>natter-bench</software></user-agent>` +
        (requestToken ? `<request-token xmlns='${NS_FAST}' mechanism='HT-SHA-256-NONE'/>` : "") +
        `<bind xmlns='urn:xmpp:bind:0'/></authenticate>`,
    );
    const challenge = await c.expect(/<challenge xmlns="urn:xmpp:sasl:2">([^<]*)<\/challenge>/, target.stepTimeoutMs);
    const serverFirst = Buffer.from(challenge[1] ?? "", "base64").toString();
    const attrs = new Map(serverFirst.split(",").map((a) => [a.slice(0, 1), a.slice(2)] as const));
    account.salted ??= pbkdf2Sync(
      target.password,
      Buffer.from(attrs.get("s") ?? "", "base64"),
      Number(attrs.get("i")),
      32,
      "sha256",
    );
    const clientKey = hmac(account.salted, "Client Key");
    const storedKey = createHash("sha256").update(clientKey).digest();
    const withoutProof = `c=biws,r=${attrs.get("r")}`;
    const signature = hmac(storedKey, `${bare},${serverFirst},${withoutProof}`);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)));
    c.send(
      `<response xmlns='${NS_SASL2}'>${Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64")}</response>`,
    );
    const success = await c.expect(/<success xmlns="urn:xmpp:sasl:2">[\s\S]*?<\/success>/, target.stepTimeoutMs);
    if (requestToken) {
      const token = success[0].match(/ token="([^"]+)"/)?.[1];
      if (!token) throw new Error("no FAST token in the success");
      account.token = token;
    }
  } finally {
    c.close();
  }
}

/** HT-SHA-256-NONE (XEP-0484) with the account's token, over SASL2 with Bind 2: one round trip. */
async function fastLogin(target: Target, account: Account): Promise<void> {
  const token = account.token;
  if (!token) throw new Error("no token");
  const c = await Conn.open(target, account);
  try {
    const proof = hmac(Buffer.from(token, "utf8"), "Initiator");
    const initial = Buffer.concat([Buffer.from(`${account.user}\0`), proof]).toString("base64");
    c.send(
      `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${initial}</initial-response>` +
        `<user-agent id='${account.agent}'><software>natter-bench</software></user-agent><fast xmlns='${NS_FAST}'/>` +
        `<bind xmlns='urn:xmpp:bind:0'/></authenticate>`,
    );
    await c.expect(/<success xmlns="urn:xmpp:sasl:2">[\s\S]*?<\/success>/, target.stepTimeoutMs);
  } finally {
    c.close();
  }
}

async function timed(
  target: Target,
  accounts: Account[],
  concurrency: number,
  login: (a: Account) => Promise<void>,
): Promise<{
  perSecond: number;
  cpuMsPerLogin: number;
  clientCpu: number;
  p50: number;
  failures: number;
  firstError: string;
}> {
  const hist = new Histogram();
  let failures = 0;
  let firstError = "";
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  await pool(accounts.length, concurrency, async (i) => {
    const s = performance.now();
    try {
      await login(accounts[i] as Account);
      hist.record(performance.now() - s);
    } catch (err) {
      failures++;
      firstError ||= (err as Error).message;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = target.pid ? cpuSeconds(target.pid) - cpu0 : Number.NaN;
  return {
    perSecond: hist.count / seconds,
    cpuMsPerLogin: (cpu * 1000) / Math.max(1, hist.count),
    clientCpu: ((ownCpuSeconds() - own0) / seconds) * 100,
    p50: hist.quantile(0.5),
    failures,
    firstError,
  };
}

export async function runFastLogins(target: Target, opts: FastLoginsOptions, log: Log): Promise<Metric[]> {
  const accounts: Account[] = Array.from({ length: opts.count }, (_, i) => ({
    user: `${target.userPrefix}${i + 1}`,
    agent: randomUUID(),
  }));
  log(`fast-logins: ${accounts.length} SCRAM-SHA-256 logins asking for a FAST token (not measured)`);
  const warm = await timed(target, accounts, opts.concurrency, (a) => scramLogin(target, a, true));
  if (warm.failures > 0) log(`fast-logins: ${warm.failures} warm-up logins failed: ${warm.firstError}`);
  const ready = accounts.filter((a) => a.token !== undefined && a.salted !== undefined);
  log(
    `fast-logins: ${ready.length} SCRAM-SHA-256 logins, then ${ready.length} FAST logins, ${opts.concurrency} at a time`,
  );
  resumed.yes = resumed.no = 0;
  const scram = await timed(target, ready, opts.concurrency, (a) => scramLogin(target, a, false));
  const fast = await timed(target, ready, opts.concurrency, (a) => fastLogin(target, a));
  log(`fast-logins: TLS sessions resumed in ${resumed.yes} of ${resumed.yes + resumed.no} measured handshakes`);
  if (scram.failures + fast.failures > 0)
    log(
      `fast-logins: failures: SCRAM ${scram.failures} (${scram.firstError}), FAST ${fast.failures} (${fast.firstError})`,
    );
  const metrics: Metric[] = [
    {
      key: "scram256_logins_per_s",
      label: "SCRAM-SHA-256 logins/s (SASL2, STARTTLS)",
      value: scram.perSecond,
      unit: "/s",
      better: "higher",
    },
    {
      key: "fast_logins_per_s",
      label: "FAST logins/s (SASL2, STARTTLS)",
      value: fast.perSecond,
      unit: "/s",
      better: "higher",
    },
    {
      key: "scram256_login_p50_ms",
      label: "SCRAM-SHA-256 login time p50",
      value: scram.p50,
      unit: "ms",
      better: "lower",
    },
    { key: "fast_login_p50_ms", label: "FAST login time p50", value: fast.p50, unit: "ms", better: "lower" },
    {
      key: "fast_login_failures",
      label: "failed FAST logins",
      value: fast.failures + warm.failures + scram.failures,
      unit: "",
      better: "lower",
    },
  ];
  metrics.push({
    key: "fast_login_client_cpu",
    label: "load generator CPU during FAST logins",
    value: fast.clientCpu,
    unit: "%",
    better: "info",
  });
  if (target.pid) {
    metrics.push(
      {
        key: "scram256_server_cpu_ms",
        label: "server CPU per SCRAM-SHA-256 login",
        value: scram.cpuMsPerLogin,
        unit: "ms",
        better: "lower",
      },
      {
        key: "fast_server_cpu_ms",
        label: "server CPU per FAST login",
        value: fast.cpuMsPerLogin,
        unit: "ms",
        better: "lower",
      },
    );
  }
  return metrics;
}
