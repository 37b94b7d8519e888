// XEP-0158 §4 (Extended In-Band Registration): a CAPTCHA form inside the XEP-0077 <query/>. The challenge is a
// question the operator wrote (register.captcha.questions) or, without any, a small sum; one per stream, used
// once, valid for captcha.expire seconds. Answers compare case- and space-insensitively.
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { PreAuthStream } from "../../core/hooks.js";
import { defineSessionState } from "../../core/session-state.js";
import { buildDataForm, type DataForm, findDataForm, getField, parseDataForm } from "../../core/xml/data-form.js";
import type { Element } from "../../core/xml/element.js";
import { NS_CAPTCHA } from "../../core/xml/ns.js";
import { registerError } from "./codec.js";

export const captchaOptions = z
  .object({
    /** Ask a question with each in-band registration (XEP-0158). */
    enabled: z.boolean().default(false),
    /** Questions and their accepted answers; none: a small sum ("What is 3 plus 4?"). */
    questions: z
      .array(z.object({ question: z.string().min(1), answers: z.array(z.string().min(1)).min(1) }).strict())
      .default([]),
    /** Seconds a challenge stays valid. */
    expire: z.number().min(1).default(300),
  })
  .strict()
  .prefault({});

export type CaptchaOptions = z.infer<typeof captchaOptions>;

interface Challenge {
  id: string;
  answers: string[];
  expires: number;
}

// Node-local: it lives on one pre-authentication stream.
const CHALLENGE = defineSessionState<Challenge>("register.captcha", { shared: false });

const normalise = (s: string) => s.trim().replace(/\s+/g, " ").toLowerCase();

function pick(opts: CaptchaOptions): { question: string; answers: string[] } {
  if (opts.questions.length > 0)
    return opts.questions[randomInt(opts.questions.length)] as { question: string; answers: string[] };
  const a = randomInt(2, 10);
  const b = randomInt(2, 10);
  return { question: `What is ${a} plus ${b}?`, answers: [String(a + b)] };
}

/** The registration form with a fresh challenge (XEP-0158 §4 Example "Host Returns Registration and Challenge Fields"). */
export function challengeForm(stream: PreAuthStream, opts: CaptchaOptions, sid: string | undefined): Element {
  const { question, answers } = pick(opts);
  const id = randomBytes(8).toString("hex");
  stream.state.set(CHALLENGE, { id, answers: answers.map(normalise), expires: Date.now() + opts.expire * 1000 });
  const form: DataForm = {
    type: "form",
    title: "Registration",
    instructions: ["Choose a username and password, and answer the question."],
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_CAPTCHA] },
      { var: "challenge", type: "hidden", values: [id] },
      ...(sid !== undefined ? [{ var: "sid", type: "hidden" as const, values: [sid] }] : []),
      { var: "username", type: "text-single", label: "Username", required: true, values: [] },
      { var: "password", type: "text-private", label: "Password", required: true, values: [] },
      { var: "qa", type: "text-single", label: question, required: true, values: [] },
    ],
  };
  return buildDataForm(form);
}

/**
 * Checks the submitted form of a registration set and returns its username and password. XEP-0158 §3.4: a wrong or
 * stale answer → not-acceptable (cancel); no form or an unknown challenge → not-acceptable too (ask again first).
 */
export function checkCaptcha(
  stream: PreAuthStream,
  query: Element,
): { username: string | undefined; password: string | undefined } {
  const challenge = stream.state.get(CHALLENGE);
  stream.state.delete(CHALLENGE); // one answer per challenge, right or wrong
  const x = findDataForm(query);
  if (!x) throw registerError("not-acceptable", "answer the CAPTCHA: ask for the registration form first (XEP-0158)");
  const form = parseDataForm(x);
  const value = (name: string) => getField(form, name)?.values[0];
  if (!challenge || value("challenge") !== challenge.id || Date.now() > challenge.expires)
    throw registerError("not-acceptable", "that challenge is unknown or expired: ask for the registration form again");
  const given = Buffer.from(normalise(value("qa") ?? ""));
  const right = challenge.answers.some((a) => {
    const b = Buffer.from(a);
    return b.length === given.length && timingSafeEqual(b, given);
  });
  if (!right) throw registerError("not-acceptable", "wrong answer to the question");
  return { username: value("username"), password: value("password") };
}
