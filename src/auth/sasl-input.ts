// Checks shared by the SASL mechanisms on what a client sends: strict UTF-8 and the authorization identity.
import { enforceUsernameCaseMapped } from "../core/precis.js";
import { tryParseJid } from "../core/jid.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8, returning undefined for invalid sequences (RFC 4616 §2 and RFC 5802 §7 both require UTF-8).
 * `ignoreBOM` keeps a leading U+FEFF, so re-encoding the string gives back the exact octets the client sent
 * (SCRAM signs those octets).
 */
export function decodeUtf8Strict(data: Buffer): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

/**
 * RFC 6120 §6.3.8: the only authorization identity Natter grants is the user's own bare JID, so an authzid is
 * acceptable when empty or equal to `username@host` (compared in canonical form).
 */
export function isOwnAuthzid(authzid: string, username: string, host: string): boolean {
  if (authzid === "") return true;
  const jid = tryParseJid(authzid);
  const hostJid = tryParseJid(host);
  if (jid === undefined || hostJid === undefined || !jid.isBare || jid.local === "") return false;
  if (jid.domain !== hostJid.domain) return false;
  try {
    return enforceUsernameCaseMapped(jid.local) === username;
  } catch {
    return false;
  }
}
