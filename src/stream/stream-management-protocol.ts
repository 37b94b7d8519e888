// XEP-0198 on a client stream: <enable/>, <r/>, <a/> once bound, and <resume/> between authentication and
// binding. The per-session counters and queue live in stream-management.ts; this file is the wire protocol.
import type { Logger } from "pino";
import { StreamError } from "../core/errors.js";
import { Element } from "../core/xml/element.js";
import { NS_SM, NS_STANZAS_ERROR } from "../core/xml/ns.js";
import type { ClientSession } from "./client-session.js";
import type { ResumptionRegistry } from "./resumption-registry.js";
import { StreamManagement, parseH } from "./stream-management.js";
import { newStreamId } from "./stream-id.js";

export interface StreamManagementOptions {
  /** Seconds a detached session waits for resumption (the most a client may ask for). */
  resumeTimeout: number;
  maxUnacked: number;
  maxUnackedBytes: number;
}

/** What the protocol needs of the client stream it runs on. */
export interface SmStream {
  readonly log: Logger;
  writeElement(el: Element): unknown;
  close(error?: StreamError, appCondition?: Element): void;
  /** The stream's own (authenticated, not yet bound) session. */
  readonly session: ClientSession | undefined;
  /** A resumed session takes this stream over (XEP-0198 §5); the stream is bound from now on. */
  resumed(session: ClientSession): void;
}

export class StreamManagementProtocol {
  constructor(
    private readonly stream: SmStream,
    /** undefined: XEP-0198 not offered. */
    private readonly options: StreamManagementOptions | undefined,
    private readonly resumption: ResumptionRegistry,
    /**
     * Its sessions' forwarded() resolves once what this node has routed so far is durable (SessionRegistry:
     * stanzas handed to another cluster node are held by Redis); undefined when nothing is on its way. The
     * services object, not a closure over it: one less per session (issue 13).
     */
    private readonly routing?: { readonly sessions: { forwarded?(): Promise<void> | undefined } },
  ) {}

  /** The <a/> answers still waiting for their stanzas' routing to be durable, chained so that `h` never goes back. */
  private answering: Promise<void> | undefined;

  get offered(): boolean {
    return this.options !== undefined;
  }

  private failed(condition: string, h?: number): void {
    this.stream.writeElement(failedElement(condition, h));
  }

  /**
   * <enable/> (§3) on a bound stream or inline in XEP-0386 Bind 2 (XEP-0198 inline): the <enabled/> or
   * <failed/> answer, to write or to put into <bound/>.
   */
  enable(session: ClientSession, el: Element): Element {
    const options = this.options;
    if (!options) return failedElement("feature-not-implemented");
    if (session.sm) return failedElement("unexpected-request"); // §3: enable once
    const wantsResume = el.attrs.resume === "true" || el.attrs.resume === "1";
    const clientMax = Number.parseInt(el.attrs.max ?? "", 10);
    const timeout =
      Number.isFinite(clientMax) && clientMax > 0 ? Math.min(clientMax, options.resumeTimeout) : options.resumeTimeout;
    const resumeId = wantsResume ? newStreamId() : undefined;
    session.enableStreamManagement(new StreamManagement(resumeId, timeout));
    const attrs: Record<string, string> = {};
    if (resumeId) Object.assign(attrs, { id: resumeId, resume: "true", max: String(timeout) });
    this.stream.log.info({ resumable: wantsResume }, "stream management enabled");
    return new Element("enabled", NS_SM, attrs);
  }

  /** Counts a stanza from the client as handled (XEP-0198 §4: errors included). */
  handled(session: ClientSession): void {
    if (session.sm) session.sm.inbound = (session.sm.inbound + 1) % 2 ** 32;
  }

  /** <enable/>, <r/>, <a/> on a bound stream. */
  handleBound(session: ClientSession, el: Element): void {
    const sm = session.sm;
    switch (el.name) {
      case "enable":
        this.stream.writeElement(this.enable(session, el));
        return;
      case "r":
        // §4: answer with the count of stanzas handled; harmless even before enable.
        return this.answer(sm?.inbound ?? 0);
      case "a": {
        if (!sm) return;
        const h = parseH(el.attrs.h);
        if (h === undefined) return this.stream.close(new StreamError("bad-format", "the h of <a/> is not a count"));
        if (!sm.acknowledge(h)) return this.handledCountTooHigh(h, sm.outbound);
        return;
      }
      default:
        return this.stream.close(
          new StreamError("unsupported-stanza-type", `<${el.name}/> is not a stream management element`),
        );
    }
  }

  /**
   * Writes <a h/> once every stanza it counts is durable (docs/cluster.md "Guarantees and limits"): one routed to
   * another cluster node counts as handled only when Redis holds it, so a client whose node dies re-sends what it
   * was not told was handled (§4) and nothing it was told of is lost. At once when nothing is on its way (a single
   * server always): no promise per <r/>.
   */
  private answer(h: number): void {
    const routed = this.routing?.sessions.forwarded?.();
    const before = this.answering;
    if (routed === undefined && before === undefined) {
      this.stream.writeElement(new Element("a", NS_SM, { h: String(h) }));
      return;
    }
    const waited = routed !== undefined && before !== undefined ? Promise.all([before, routed]) : (routed ?? before);
    const write = () => {
      if (this.answering === answered) this.answering = undefined;
      try {
        this.stream.writeElement(new Element("a", NS_SM, { h: String(h) }));
      } catch (err) {
        this.stream.log.warn({ err }, "<a/> not written");
      }
    };
    // Never rejects (forwarded() settles every send, a write failure is logged): later answers chain on it.
    const answered: Promise<void> = waited!.then(write, write);
    this.answering = answered;
  }

  /** §4: the client acknowledged more than it was sent. */
  private handledCountTooHigh(h: number, sent: number): void {
    this.stream.log.warn({ h, sent }, "client acknowledged more stanzas than were sent");
    const error = new StreamError("undefined-condition", "the acknowledged count is higher than the stanzas sent");
    this.stream.close(error, new Element("handled-count-too-high", NS_SM, { h: String(h), send_count: String(sent) }));
  }

  /** After authentication, before binding: <resume/> (§5), or <enable/> too early (§3). */
  handleBeforeBind(el: Element): void {
    if (el.name === "enable") return this.failed("unexpected-request");
    if (el.name !== "resume") return this.stream.close(new StreamError("unsupported-stanza-type"));
    const outcome = this.resume(el);
    if (outcome.kind === "closed") return;
    this.stream.writeElement(outcome.element);
    if (outcome.kind === "resumed") this.resend(outcome.session);
  }

  /**
   * Checks a <resume/> (§5), on its own or inline in XEP-0388 <authenticate/> (XEP-0198 inline resumption),
   * and takes the session over: the answer is <resumed/> (then `resend`) or <failed/>; "closed" when the stream
   * was closed for a handled count too high.
   */
  resume(
    el: Element,
  ):
    | { kind: "resumed"; session: ClientSession; element: Element }
    | { kind: "failed"; element: Element }
    | { kind: "closed" } {
    if (!this.options) return { kind: "failed", element: failedElement("feature-not-implemented") };
    const previd = el.attrs.previd;
    const h = parseH(el.attrs.h);
    if (previd === undefined || h === undefined) return { kind: "failed", element: failedElement("bad-request") };
    const session = this.resumption.get(previd);
    const mine = this.stream.session;
    if (!session || !mine || session.isEnded || session.jid.bareString() !== mine.jid.bareString() || !session.sm) {
      this.stream.log.info({ previd }, "resumption refused: unknown or expired session");
      return { kind: "failed", element: failedElement("item-not-found") };
    }
    const sm = session.sm;
    if (!sm.acknowledge(h)) {
      this.handledCountTooHigh(h, sm.outbound);
      return { kind: "closed" };
    }
    this.stream.resumed(session);
    return { kind: "resumed", session, element: new Element("resumed", NS_SM, { previd, h: String(sm.inbound) }) };
  }

  /** After <resumed/> was written: what the client had not acknowledged goes again (§5). */
  resend(session: ClientSession): void {
    const sm = session.sm;
    if (!sm) return;
    for (const stanza of sm.unacked) this.stream.writeElement(stanza);
    if (sm.unacked.length > 0) {
      sm.ackRequested = true;
      this.stream.writeElement(new Element("r", NS_SM));
    }
    this.stream.log.info({ jid: session.jid.toString(), resent: sm.unacked.length }, "session resumed");
  }
}

function failedElement(condition: string, h?: number): Element {
  const el = new Element("failed", NS_SM, h === undefined ? {} : { h: String(h) });
  el.c(condition, NS_STANZAS_ERROR);
  return el;
}
