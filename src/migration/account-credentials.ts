// XEP-0227 §4.2 accounts: <scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'> with
// <iter-count/>, <salt/>, <server-key/>, <stored-key/> (base64), one per hash; never a plaintext password on
// export (XEP-0227 1.1 discourages it). On import a `password` attribute (ejabberd, older Prosody) is accepted
// and SCRAM derived from it.
import type { ScramCredentials, ScramHash } from "../auth/types.js";
import { Element } from "../core/xml/element.js";

export const NS_PIE_SCRAM = "urn:xmpp:pie:0#scram";

const HASH_OF_MECHANISM: Record<string, ScramHash> = { "SCRAM-SHA-1": "SHA-1", "SCRAM-SHA-256": "SHA-256" };

export function credentialElements(creds: Partial<Record<ScramHash, ScramCredentials>>): Element[] {
  const out: Element[] = [];
  for (const [mechanism, hash] of Object.entries(HASH_OF_MECHANISM)) {
    const c = creds[hash];
    if (c === undefined) continue;
    const el = new Element("scram-credentials", NS_PIE_SCRAM, { mechanism });
    el.c("iter-count", NS_PIE_SCRAM).t(String(c.iterations));
    el.c("salt", NS_PIE_SCRAM).t(c.salt.toString("base64"));
    el.c("server-key", NS_PIE_SCRAM).t(c.serverKey.toString("base64"));
    el.c("stored-key", NS_PIE_SCRAM).t(c.storedKey.toString("base64"));
    out.push(el);
  }
  return out;
}

export type ImportedCredentials =
  | { password: string }
  | { scram: Partial<Record<ScramHash, ScramCredentials>> }
  | undefined;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HASH_LENGTH: Record<ScramHash, number> = { "SHA-1": 20, "SHA-256": 32 };

/** The credentials a <user/> carries; SCRAM preferred over a password. Problems go to `warnings`. */
export function readCredentials(user: Element, warnings: string[]): ImportedCredentials {
  const scram: Partial<Record<ScramHash, ScramCredentials>> = {};
  for (const el of user.getChildren("scram-credentials", NS_PIE_SCRAM)) {
    const mechanism = el.attrs.mechanism ?? "";
    const hash = HASH_OF_MECHANISM[mechanism];
    if (hash === undefined) {
      warnings.push(`scram-credentials for ${mechanism || "no mechanism"}: not supported, skipped`);
      continue;
    }
    const text = (name: string) => el.getChildText(name, NS_PIE_SCRAM)?.replace(/\s+/g, "") ?? "";
    const iterations = Number(text("iter-count"));
    const fields = { salt: text("salt"), serverKey: text("server-key"), storedKey: text("stored-key") };
    if (!Number.isSafeInteger(iterations) || iterations < 1 || !Object.values(fields).every((v) => BASE64.test(v))) {
      warnings.push(
        `scram-credentials ${mechanism}: iter-count, salt, server-key or stored-key missing or malformed, skipped`,
      );
      continue;
    }
    const serverKey = Buffer.from(fields.serverKey, "base64");
    const storedKey = Buffer.from(fields.storedKey, "base64");
    if (serverKey.length !== HASH_LENGTH[hash] || storedKey.length !== HASH_LENGTH[hash]) {
      warnings.push(`scram-credentials ${mechanism}: keys of the wrong length, skipped`);
      continue;
    }
    scram[hash] = { iterations, salt: Buffer.from(fields.salt, "base64"), serverKey, storedKey };
  }
  if (Object.keys(scram).length > 0) return { scram };
  const password = user.attrs.password;
  if (password !== undefined && password !== "") return { password };
  return undefined;
}
