// The rule a password chosen for a new account must meet, wherever it is chosen (in-band registration, the
// invitation page): the OpaqueString profile (RFC 8265 §4.2) and a minimum length in characters.
import { enforceOpaqueString } from "../core/precis.js";

/** The enforced password, or why it is refused (a sentence for the user). */
export function checkNewPassword(password: string, minLength: number): { password: string } | { refused: string } {
  let enforced: string;
  try {
    enforced = enforceOpaqueString(password);
  } catch {
    return { refused: "The password contains characters that are not allowed" };
  }
  if ([...enforced].length < minLength) return { refused: `The password must have at least ${minLength} characters` };
  return { password: enforced };
}
