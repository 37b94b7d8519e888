import assert from "node:assert/strict";
import { test } from "node:test";
import { isBadPayload } from "../../core/commands.js";
import type { DataForm } from "../../core/xml/data-form.js";
import { checkSubmission, withValues } from "./form-check.js";

const shown: DataForm = {
  type: "form",
  fields: [
    { var: "FORM_TYPE", type: "hidden", values: ["http://jabber.org/protocol/admin"] },
    { type: "fixed", values: ["Pick one"] },
    { var: "who", type: "jid-single", required: true, values: [] },
    { var: "many", type: "jid-multi", values: [] },
    { var: "size", type: "list-single", values: [], options: [{ value: "s" }, { value: "l" }] },
    { var: "ok", type: "boolean", values: [] },
    { var: "secret", type: "text-private", values: [] },
  ],
};

const submit = (fields: Record<string, string[]>): DataForm => ({
  type: "submit",
  fields: Object.entries(fields).map(([v, values]) => ({ var: v, values })),
});

const refuses = (fields: Record<string, string[]>, text: RegExp) =>
  assert.throws(
    () => checkSubmission(shown, submit(fields)),
    (err: unknown) => isBadPayload(err) && text.test((err as Error).message),
  );

test("takes the shown form's fields only, with their values", () => {
  const out = checkSubmission(
    shown,
    submit({ who: ["juliet@capulet.lit"], many: ["a@b", "c@d"], size: ["l"], ok: ["true"], extra: ["ignored"] }),
  );
  assert.deepEqual([...out.keys()].sort(), ["FORM_TYPE", "many", "ok", "secret", "size", "who"]);
  assert.deepEqual(out.get("many"), ["a@b", "c@d"]);
  assert.deepEqual(out.get("secret"), []);
});

test("refuses a missing required field, a bad JID, an unknown option, a bad boolean, several values for one", () => {
  refuses({}, /who is required/);
  refuses({ who: ["  "] }, /who is required/);
  refuses({ who: ["not a jid@@"] }, /not a JID/);
  refuses({ who: ["a@b"], many: ["a@b", "@"] }, /not a JID/);
  refuses({ who: ["a@b"], size: ["xl"] }, /not one of the options/);
  refuses({ who: ["a@b"], ok: ["yes"] }, /boolean/);
  refuses({ who: ["a@b", "c@d"] }, /takes one value/);
});

test("refills a form shown again, except passwords", () => {
  const again = withValues(
    shown,
    new Map([
      ["who", ["a@b"]],
      ["secret", ["hunter2"]],
    ]),
  );
  assert.deepEqual(again.fields.find((f) => f.var === "who")?.values, ["a@b"]);
  assert.deepEqual(again.fields.find((f) => f.var === "secret")?.values, []);
});
