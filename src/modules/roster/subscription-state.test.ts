// RFC 6121 Appendix A, row by row: A.2 (outbound subscription stanzas, the user's server) and A.3
// (inbound, the contact's server), in the spec's own state names; plus the pre-approval rules of §3.4.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inbound, outbound, type SubState, type SubscriptionType } from "./subscription-state.js";

/** "None + Pending Out+In", "To + Pending In", "Both", ... → a state (approved false). */
function state(name: string): SubState {
  const [base, pending = ""] = name.split(" + ");
  const subscription = (base as string).toLowerCase() as SubState["subscription"];
  return {
    subscription,
    pendingOut: pending.includes("Out"),
    pendingIn: pending.includes("In"),
    approved: false,
  };
}

type Row = [existing: string, next: string | "no state change", action: boolean];

function check(direction: "outbound" | "inbound", type: SubscriptionType, rows: Row[]): void {
  for (const [existing, next, action] of rows) {
    it(`${type}: ${existing} → ${next}, ${direction === "outbound" ? "route" : "deliver"}: ${action ? "yes" : "no"}`, () => {
      const before = state(existing);
      const r = direction === "outbound" ? outbound(before, type, false) : inbound(before, type);
      assert.deepEqual(r.state, next === "no state change" ? before : state(next));
      assert.equal(
        direction === "outbound" ? (r as { route: boolean }).route : (r as { deliver: boolean }).deliver,
        action,
      );
    });
  }
}

describe("RFC 6121 A.2 user's server, outbound", () => {
  // A.2.1
  check("outbound", "subscribe", [
    ["None", "None + Pending Out", true],
    ["None + Pending Out", "no state change", true],
    ["None + Pending In", "None + Pending Out+In", true],
    ["None + Pending Out+In", "no state change", true],
    ["To", "no state change", true],
    ["To + Pending In", "no state change", true],
    ["From", "From + Pending Out", true],
    ["From + Pending Out", "no state change", true],
    ["Both", "no state change", true],
  ]);
  // A.2.2
  check("outbound", "unsubscribe", [
    ["None", "no state change", true],
    ["None + Pending Out", "None", true],
    ["None + Pending In", "no state change", true],
    ["None + Pending Out+In", "None + Pending In", true],
    ["To", "None", true],
    ["To + Pending In", "None + Pending In", true],
    ["From", "no state change", true],
    ["From + Pending Out", "From", true],
    ["Both", "From", true],
  ]);
  // A.2.3 (without pre-approval support; see below for §3.4)
  check("outbound", "subscribed", [
    ["None", "no state change", false],
    ["None + Pending Out", "no state change", false],
    ["None + Pending In", "From", true],
    ["None + Pending Out+In", "From + Pending Out", true],
    ["To", "no state change", false],
    ["To + Pending In", "Both", true],
    ["From", "no state change", false],
    ["From + Pending Out", "no state change", false],
    ["Both", "no state change", false],
  ]);
  // A.2.4
  check("outbound", "unsubscribed", [
    ["None", "no state change", false],
    ["None + Pending Out", "no state change", false],
    ["None + Pending In", "None", true],
    ["None + Pending Out+In", "None + Pending Out", true],
    ["To", "no state change", false],
    ["To + Pending In", "To", true],
    ["From", "None", true],
    ["From + Pending Out", "None + Pending Out", true],
    ["Both", "To", true],
  ]);
});

describe("RFC 6121 A.3 contact's server, inbound", () => {
  // A.3.1
  check("inbound", "subscribe", [
    ["None", "None + Pending In", true],
    ["None + Pending Out", "None + Pending Out+In", true],
    ["None + Pending In", "no state change", false],
    ["None + Pending Out+In", "no state change", false],
    ["To", "To + Pending In", true],
    ["To + Pending In", "no state change", false],
    ["From", "no state change", false],
    ["From + Pending Out", "no state change", false],
    ["Both", "no state change", false],
  ]);
  // A.3.2
  check("inbound", "unsubscribe", [
    ["None", "no state change", false],
    ["None + Pending Out", "no state change", false],
    ["None + Pending In", "None", true],
    ["None + Pending Out+In", "None + Pending Out", true],
    ["To", "no state change", false],
    ["To + Pending In", "To", true],
    ["From", "None", true],
    ["From + Pending Out", "None + Pending Out", true],
    ["Both", "To", true],
  ]);
  // A.3.3
  check("inbound", "subscribed", [
    ["None", "no state change", false],
    ["None + Pending Out", "To", true],
    ["None + Pending In", "no state change", false],
    ["None + Pending Out+In", "To + Pending In", true],
    ["To", "no state change", false],
    ["To + Pending In", "no state change", false],
    ["From", "no state change", false],
    ["From + Pending Out", "Both", true],
    ["Both", "no state change", false],
  ]);
  // A.3.4
  check("inbound", "unsubscribed", [
    ["None", "no state change", false],
    ["None + Pending Out", "None", true],
    ["None + Pending In", "no state change", false],
    ["None + Pending Out+In", "None + Pending In", true],
    ["To", "None", true],
    ["To + Pending In", "None + Pending In", true],
    ["From", "no state change", false],
    ["From + Pending Out", "From", true],
    ["Both", "From", true],
  ]);
});

describe("auto-replies and roster pushes", () => {
  it("§3.1.3: a subscribe from a contact who already has 'from' is answered subscribed on the user's behalf", () => {
    for (const s of ["From", "From + Pending Out", "Both"]) {
      const r = inbound(state(s), "subscribe");
      assert.equal(r.autoReply, "subscribed", s);
      assert.equal(r.deliver, false);
      assert.equal(r.push, false);
    }
    assert.equal(inbound(state("None"), "subscribe").autoReply, undefined);
  });

  it("pending-in alone is not part of the roster: no push for an inbound subscribe", () => {
    assert.equal(inbound(state("None"), "subscribe").push, false);
    assert.equal(inbound(state("None + Pending Out"), "subscribed").push, true);
    assert.equal(outbound(state("None"), "subscribe").push, true);
    assert.equal(outbound(state("None + Pending Out"), "subscribe").push, false);
  });
});

describe("RFC 6121 §3.4 pre-approval", () => {
  it("'subscribed' with no pending request records a pre-approval, not routed", () => {
    for (const s of ["None", "None + Pending Out", "To"]) {
      const r = outbound(state(s), "subscribed", true);
      assert.equal(r.route, false);
      assert.deepEqual(r.state, { ...state(s), approved: true });
      assert.equal(r.push, true);
    }
    // Already "from": nothing to pre-approve.
    assert.equal(outbound(state("Both"), "subscribed", true).state.approved, false);
  });

  it("a pre-approved contact's subscribe is approved automatically and not delivered", () => {
    const r = inbound({ ...state("To"), approved: true }, "subscribe");
    assert.deepEqual(r.state, state("Both"));
    assert.equal(r.autoReply, "subscribed");
    assert.equal(r.deliver, false);
    assert.equal(r.push, true);
    const n = inbound({ ...state("None + Pending Out"), approved: true }, "subscribe");
    assert.deepEqual(n.state, state("From + Pending Out"));
  });

  it("'unsubscribed' withdraws a pre-approval without routing", () => {
    const r = outbound({ ...state("None"), approved: true }, "unsubscribed");
    assert.deepEqual(r.state, state("None"));
    assert.equal(r.route, false);
    assert.equal(r.push, true);
  });
});
