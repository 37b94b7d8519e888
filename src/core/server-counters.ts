// What the server has done since it started, as plain integers bumped on the hot paths (the streams, the router,
// SASL). An increment costs next to nothing; the metrics registry (metrics/server-metrics.ts) and the stats
// history (metrics/stats-history.ts) read these at scrape and sample time, so no prom-client call runs per stanza.
import { isStanzaErrorCondition, type StanzaErrorCondition } from "./errors.js";

/** Counts of one kind of stanza (RFC 6120 §8: message, presence, iq). */
export interface StanzaCounts {
  message: number;
  presence: number;
  iq: number;
}

/** What anti-spam did (the anti-spam and spam-reporting modules): a closed list, so each is a bounded metric label. */
export type AntiSpamAction =
  | "quarantined"
  | "refused-stranger"
  | "refused-block-list"
  | "rate-limited-account"
  | "rate-limited-new-account"
  | "rate-limited-domain"
  | "spam-report";

export class ServerCounters {
  /** Stanzas read from a peer (client, server, component), before any check. */
  readonly stanzasIn: StanzaCounts = { message: 0, presence: 0, iq: 0 };
  /** Stanzas written to a peer. */
  readonly stanzasOut: StanzaCounts = { message: 0, presence: 0, iq: 0 };
  /** Error replies the router sent back for stanzas it could not deliver, by RFC 6120 §8.3.3 condition. */
  readonly routingErrors = new Map<StanzaErrorCondition, number>();
  /** SASL outcomes by mechanism name (only names the server offers: see authFailed). */
  readonly authSuccesses = new Map<string, number>();
  readonly authFailures = new Map<string, number>();
  /** Anti-spam decisions and reports, by action. */
  readonly antiSpam = new Map<AntiSpamAction, number>();

  /** A top-level element read or written: counted when it is a stanza. */
  stanzaIn(name: string): void {
    if (name === "message") this.stanzasIn.message++;
    else if (name === "presence") this.stanzasIn.presence++;
    else if (name === "iq") this.stanzasIn.iq++;
  }

  stanzaOut(name: string): void {
    if (name === "message") this.stanzasOut.message++;
    else if (name === "presence") this.stanzasOut.presence++;
    else if (name === "iq") this.stanzasOut.iq++;
  }

  routingError(condition: StanzaErrorCondition): void {
    // The type says RFC 6120 already; a condition that came from elsewhere at run time still never makes a label.
    const key = isStanzaErrorCondition(condition) ? condition : "undefined-condition";
    this.routingErrors.set(key, (this.routingErrors.get(key) ?? 0) + 1);
  }

  authSucceeded(mechanism: string): void {
    this.authSuccesses.set(mechanism, (this.authSuccesses.get(mechanism) ?? 0) + 1);
  }

  /**
   * `mechanism` is the name of a mechanism the server offered, or undefined when the client named one it does
   * not offer (counted as "unknown": a client's made-up name never becomes a label).
   */
  authFailed(mechanism: string | undefined): void {
    const key = mechanism ?? "unknown";
    this.authFailures.set(key, (this.authFailures.get(key) ?? 0) + 1);
  }

  antiSpamAction(action: AntiSpamAction): void {
    this.antiSpam.set(action, (this.antiSpam.get(action) ?? 0) + 1);
  }
}
