// Certificates from an ACME CA (RFC 8555) with HTTP-01 challenges (§8.3) answered on Natter's HTTP listener:
// obtained at start when missing, renewed before expiry (checked at start and daily), retried with a growing
// delay after a failure. A new certificate goes through `installed`, which hot-swaps it for new handshakes.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { Agent, get as httpsGet } from "node:https";
import { rootCertificates } from "node:tls";
import * as acme from "acme-client";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { acmePaths } from "./acme-files.js";
import { certificateNames, matchesName } from "./certificates.js";
import { writeAtomically } from "./self-signed.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** RFC 8555 §8.3: the token is base64url; anything else is not ours and must not reach the map. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
/** Challenges in flight at once: bounded by the domains of one order, this only guards against a bug. */
const MAX_CHALLENGES = 1000;

export type AcmeOptions = Config["tls"]["acme"];

export interface AcmeManagerOptions {
  options: AcmeOptions;
  dataDir: string;
  /** The names to put in the certificate, read at each check (a reload may change the served domains). */
  domains(): string[];
  /** Serves `prefix` over the HTTP listeners; returns the remover. */
  route(
    prefix: string,
    handler: (
      req: import("node:http").IncomingMessage,
      res: import("node:http").ServerResponse,
      info: { path: string },
    ) => void,
  ): () => void;
  /** A new certificate is on disk: put it in service. */
  installed(): Promise<void>;
  log: Logger;
}

/** Why a certificate must be (re)newed now, or undefined when the one on disk is good. */
export function renewalReason(
  files: { cert: string; key: string },
  domains: readonly string[],
  renewBeforeDays: number,
  now = Date.now(),
): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(files.cert));
    if (!certificate.checkPrivateKey(createPrivateKey(readFileSync(files.key)))) return "its key does not match";
  } catch {
    return "there is no certificate yet";
  }
  const names = certificateNames(certificate);
  const missing = domains.filter((d) => !matchesName(names, d));
  if (missing.length > 0) return `it does not name ${missing.join(", ")}`;
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  // Renew when less than renew_before_days or a third of the lifetime remains, whichever comes first.
  const margin = Math.max(renewBeforeDays * DAY_MS, (to - from) / 3);
  if (to - now < margin) return `it expires on ${certificate.validTo}`;
  return undefined;
}

export class AcmeManager {
  private readonly paths;
  private readonly challenges = new Map<string, string>();
  private readonly removeRoute: () => void;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private running: Promise<boolean> | undefined;
  private stopped = false;
  private agent: Agent | undefined;
  /** When the last attempt failed, why (for status); undefined after a success. */
  lastError: string | undefined;

  constructor(private readonly o: AcmeManagerOptions) {
    this.paths = acmePaths(o.dataDir);
    this.removeRoute = o.route("/.well-known/acme-challenge", (_req, res, info) => {
      const token = info.path.startsWith("/") ? info.path.slice(1) : "";
      const answer = TOKEN.test(token) ? this.challenges.get(token) : undefined;
      if (answer === undefined) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      o.log.debug({ token }, "answered an ACME HTTP-01 challenge");
      // RFC 8555 §8.3: the body is the key authorization, nothing else.
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(answer);
    });
    // acme-client retries a failed request 5 times over 75 s by itself; fewer here, since the manager retries
    // the whole order with its own growing delay (tls.acme.retry_after) and logs each failure.
    const settings = (acme.axios.defaults as unknown as { acmeSettings?: { retryMaxAttempts: number } }).acmeSettings;
    if (settings) settings.retryMaxAttempts = 2;
    acme.setLogger((message) => o.log.debug(message)); // each ACME request, for debugging a failing order
    if (o.options.ca_file !== undefined) {
      // acme-client has one HTTP client per process; the extra CA adds to the public roots, never replaces them.
      let extra: string;
      try {
        extra = readFileSync(o.options.ca_file, "utf8");
      } catch (err) {
        throw new Error(
          `tls.acme.ca_file: cannot read ${o.options.ca_file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        );
      }
      this.agent = new Agent({ ca: [...rootCertificates, extra] });
      acme.axios.defaults.httpsAgent = this.agent;
    }
  }

  /** Checks now (start, and after a reload that may add domains), then daily; a failure retries sooner, with a delay doubling up to a day. */
  start(): void {
    clearTimeout(this.timer);
    void this.checkAndSchedule();
  }

  /**
   * Obtains or renews the certificate when it is missing, does not name every domain or nears its end.
   * Returns whether a new certificate was installed. Throws the CA's or the network's error.
   */
  check(): Promise<boolean> {
    return this.serialised(() => this.checkOnce());
  }

  /** Obtains a new certificate whatever the state of the current one (`natter cert renew`). */
  renewNow(): Promise<boolean> {
    return this.serialised(() => this.obtain(this.wantedDomains(), "an operator asked for it"));
  }

  /** One order at a time: a daily check and a request at once must not ask the CA twice. */
  private serialised(run: () => Promise<boolean>): Promise<boolean> {
    const next = (this.running ?? Promise.resolve(false)).catch(() => false).then(run);
    this.running = next;
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.running === next) this.running = undefined;
      });
    return next;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.removeRoute();
  }

  private async checkAndSchedule(): Promise<void> {
    let delay = DAY_MS;
    try {
      await this.check();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      delay = Math.min(DAY_MS, this.o.options.retry_after * 1000 * 2 ** (this.failures - 1));
      this.lastError = describeError(err);
      this.o.log.error(
        {
          error: this.lastError,
          attempt: this.failures,
          retry_in_seconds: Math.round(delay / 1000),
          directory: this.o.options.directory_url,
        },
        "ACME: could not obtain a certificate; serving the current one and trying again later",
      );
    }
    if (this.stopped) return;
    clearTimeout(this.timer); // one pending check at a time, even when start() ran during this one
    this.timer = setTimeout(() => void this.checkAndSchedule(), delay);
    this.timer.unref();
  }

  private wantedDomains(): string[] {
    return this.o.domains();
  }

  private async checkOnce(): Promise<boolean> {
    const domains = this.wantedDomains();
    if (domains.length === 0) {
      this.o.log.info(
        "ACME: no domain to ask a certificate for (tls.certificates covers them all, or tls.acme.domains is empty)",
      );
      return false;
    }
    const reason = renewalReason(this.paths.certificate, domains, this.o.options.renew_before_days);
    if (reason === undefined) return false;
    return this.obtain(domains, reason);
  }

  private async obtain(domains: string[], reason: string): Promise<boolean> {
    const { options, log } = this.o;
    log.info({ domains, reason, directory: options.directory_url }, "ACME: asking for a certificate");
    // acme-client turns a network error into "Cannot read properties of undefined": ask first, to say why.
    await probeDirectory(options.directory_url, this.agent);
    mkdirSync(this.paths.dir, { recursive: true, mode: 0o700 });
    const client = new acme.Client({ directoryUrl: options.directory_url, accountKey: await this.accountKey() });
    const key =
      options.key_type === "rsa"
        ? await acme.crypto.createPrivateRsaKey(2048)
        : await acme.crypto.createPrivateEcdsaKey("P-256");
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0]!, altNames: domains }, key);
    const cert = await client.auto({
      csr,
      ...(options.email === undefined ? {} : { email: options.email }),
      termsOfServiceAgreed: options.agree_tos,
      challengePriority: ["http-01"],
      // The CA's own validation is the test that counts; ours would need the public DNS name to resolve here.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== "http-01") throw new Error(`unexpected ${challenge.type} challenge`);
        if (this.challenges.size >= MAX_CHALLENGES) throw new Error("too many ACME challenges in flight");
        this.challenges.set(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.challenges.delete(challenge.token);
      },
    });
    // Key first, each written whole then renamed: a crash never pairs a new certificate with an old key.
    writeAtomically(this.paths.certificate.key, key.toString(), 0o600);
    writeAtomically(this.paths.certificate.cert, cert, 0o600);
    const leaf = new X509Certificate(cert);
    log.info({ domains, not_after: leaf.validTo, serial: leaf.serialNumber }, "ACME: new certificate obtained");
    this.lastError = undefined;
    await this.o.installed();
    return true;
  }

  /** The account's key (RFC 8555 §7.3), made once and kept: the CA knows the account by it. */
  private async accountKey(): Promise<string> {
    try {
      return readFileSync(this.paths.accountKey, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const key = (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
    writeAtomically(this.paths.accountKey, key, 0o600);
    this.o.log.info({ path: this.paths.accountKey }, "ACME: created an account key");
    return key;
  }
}

/** axios reports a refused connection with an empty message and the reason in `code` or in `errors`. */
function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: { message?: string }[] };
  const inner = e.errors
    ?.map((x) => x.message)
    .filter(Boolean)
    .join("; ");
  return [e.code, e.message || inner].filter(Boolean).join(": ") || String(err);
}

/** GET the directory (RFC 8555 §7.1.1); throws an error naming the URL and the reason when it does not answer. */
function probeDirectory(url: string, agent: Agent | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ...(agent ? { agent } : {}), timeout: 30_000 }, (res) => {
      res.resume();
      if ((res.statusCode ?? 500) >= 400)
        reject(new Error(`the ACME directory ${url} answered HTTP ${res.statusCode}`));
      else resolve();
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (err) => reject(new Error(`cannot reach the ACME directory ${url}: ${describeError(err)}`)));
  });
}
