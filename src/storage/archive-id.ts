import { randomBytes } from "node:crypto";

/** A fresh archive id: 16 URL-safe characters (96 random bits), opaque to clients and safe as an RSM cursor. */
export function newArchiveId(): string {
  return randomBytes(12).toString("base64url");
}
