// The presence subscription state machine of RFC 6121 Appendix A, as pure functions. A state is the
// roster item's `subscription` (§2.1.2.5), its pending-out flag (`ask`, §2.1.2.2), whether an inbound
// request waits for the user's answer (pending-in, §3.1.3) and a pre-approval (`approved`, §3.4).
// Each function says what the server does with the stanza; the module applies it.

export type Subscription = "none" | "to" | "from" | "both";
export type SubscriptionType = "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed";

export const SUBSCRIPTION_TYPES: ReadonlySet<string> = new Set<SubscriptionType>([
  "subscribe",
  "subscribed",
  "unsubscribe",
  "unsubscribed",
]);

export interface SubState {
  subscription: Subscription;
  /** ask="subscribe": the user asked the contact and is waiting (RFC 6121 §3.1.2). */
  pendingOut: boolean;
  /** The contact asked the user and is waiting (RFC 6121 §3.1.3). */
  pendingIn: boolean;
  /** The user pre-approved the contact's request (RFC 6121 §3.4). */
  approved: boolean;
}

export const NO_SUBSCRIPTION: Readonly<SubState> = Object.freeze({
  subscription: "none",
  pendingOut: false,
  pendingIn: false,
  approved: false,
});

export interface OutboundResult {
  state: SubState;
  /** Route the stanza on to the contact (Appendix A.2 "Route?"). */
  route: boolean;
  /** The roster item as the user sees it changed: push it (RFC 6121 §2.1.6). */
  push: boolean;
}

export interface InboundResult {
  state: SubState;
  /** Deliver the stanza to the user's available resources (Appendix A.3 "Deliver?"). */
  deliver: boolean;
  /** Answer on the user's behalf (RFC 6121 §3.1.3: already subscribed or pre-approved). */
  autoReply: "subscribed" | undefined;
  push: boolean;
}

export const hasTo = (s: Subscription): boolean => s === "to" || s === "both";
export const hasFrom = (s: Subscription): boolean => s === "from" || s === "both";

function compose(to: boolean, from: boolean): Subscription {
  if (to && from) return "both";
  if (to) return "to";
  if (from) return "from";
  return "none";
}

function with_(s: SubState, change: Partial<SubState>): SubState {
  return { ...s, ...change };
}

/** Whether what a roster push shows (subscription, ask, approved) differs. Pending-in is not part of the roster. */
export function rosterVisibleChange(a: SubState, b: SubState): boolean {
  return a.subscription !== b.subscription || a.pendingOut !== b.pendingOut || a.approved !== b.approved;
}

/**
 * A subscription stanza the user sends to a contact (RFC 6121 Appendix A.2, §3.1.2, §3.2.2, §3.3.2, §3.4).
 * `preApproval`: the server supports pre-approvals (§3.4), so "subscribed" without a pending request records one.
 */
export function outbound(s: SubState, type: SubscriptionType, preApproval = true): OutboundResult {
  const to = hasTo(s.subscription);
  const from = hasFrom(s.subscription);
  let next: SubState = s;
  let route: boolean;
  switch (type) {
    // A.2.1: every row routes; without "to" the request becomes pending out.
    case "subscribe":
      route = true;
      if (!to) next = with_(s, { pendingOut: true });
      break;
    // A.2.2: routed in every row (the contact's server decides); to and pending-out are cancelled.
    case "unsubscribe":
      route = true;
      next = with_(s, { subscription: compose(false, from), pendingOut: false });
      break;
    // A.2.3: approves a pending-in request; otherwise no state change and not routed, except that with
    // pre-approval support a "subscribed" before any request is recorded as approved (§3.4).
    case "subscribed":
      if (s.pendingIn && !from) {
        route = true;
        next = with_(s, { subscription: compose(to, true), pendingIn: false, approved: false });
      } else {
        route = false;
        if (!from && preApproval) next = with_(s, { approved: true });
      }
      break;
    // A.2.4: cancels "from" or refuses a pending-in request; otherwise not routed. It also withdraws a
    // pre-approval (§3.4: "unsubscribed" cancels it).
    case "unsubscribed":
      if (from || s.pendingIn) {
        route = true;
        next = with_(s, { subscription: compose(to, false), pendingIn: false, approved: false });
      } else {
        route = false;
        if (s.approved) next = with_(s, { approved: false });
      }
      break;
  }
  return { state: next, route, push: rosterVisibleChange(s, next) };
}

/** A subscription stanza a contact sends to the user (RFC 6121 Appendix A.3, §3.1.3, §3.1.6, §3.2.3, §3.3.3). */
export function inbound(s: SubState, type: SubscriptionType): InboundResult {
  const to = hasTo(s.subscription);
  const from = hasFrom(s.subscription);
  let next: SubState = s;
  let deliver = false;
  let autoReply: "subscribed" | undefined;
  switch (type) {
    // A.3.1: already "from" → auto-reply subscribed (§3.1.3); pre-approved → approve on the user's
    // behalf without bothering them (§3.4); already pending in → no change, not delivered again;
    // otherwise pending in, delivered.
    case "subscribe":
      if (from) autoReply = "subscribed";
      else if (s.approved) {
        autoReply = "subscribed";
        next = with_(s, { subscription: compose(to, true), approved: false, pendingIn: false });
      } else if (!s.pendingIn) {
        deliver = true;
        next = with_(s, { pendingIn: true });
      }
      break;
    // A.3.2: cancels "from" or a pending-in request.
    case "unsubscribe":
      if (from || s.pendingIn) {
        deliver = true;
        next = with_(s, { subscription: compose(to, false), pendingIn: false });
      }
      break;
    // A.3.3: only an answer to our pending-out request counts.
    case "subscribed":
      if (s.pendingOut && !to) {
        deliver = true;
        next = with_(s, { subscription: compose(true, from), pendingOut: false });
      }
      break;
    // A.3.4: cancels "to" or refuses our pending-out request.
    case "unsubscribed":
      if (to || s.pendingOut) {
        deliver = true;
        next = with_(s, { subscription: compose(false, from), pendingOut: false });
      }
      break;
  }
  return { state: next, deliver, autoReply, push: rosterVisibleChange(s, next) };
}
