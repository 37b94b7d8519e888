// IRC message text as XMPP body text: mIRC formatting codes stripped, CTCP dropped except ACTION (which becomes
// XEP-0245 "/me "), and nothing left that XML 1.0 cannot carry (C0 controls, U+FFFE/U+FFFF).

/** mIRC formatting: bold, colour (with its digits), hex colour, reset, reverse, italics, strike, underline, mono. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is being removed
const FORMATTING = /\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/g;
/** Not XML 1.0 Char (besides tab), or noncharacters clients choke on. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
const NOT_XML = /[\x00-\x08\x0a-\x1f\x7f\ufffe\uffff]/g;

export function stripFormatting(text: string): string {
  return text.replace(FORMATTING, "").replace(NOT_XML, "");
}

export type IrcText = { kind: "text"; body: string } | { kind: "action"; body: string } | { kind: "ctcp" };

/** A PRIVMSG/NOTICE text: plain, an ACTION, or another CTCP request/reply (ignored by the gateway). */
export function decodeIrcText(raw: string): IrcText {
  if (raw.startsWith("\x01")) {
    const inner = raw.endsWith("\x01") && raw.length > 1 ? raw.slice(1, -1) : raw.slice(1);
    if (inner.startsWith("ACTION")) return { kind: "action", body: stripFormatting(inner.slice(6).trimStart()) };
    return { kind: "ctcp" };
  }
  return { kind: "text", body: stripFormatting(raw) };
}

/** XMPP body text as the IRC text to send: "/me …" becomes a CTCP ACTION (XEP-0245). */
export function encodeIrcText(body: string): { action: boolean; text: string } {
  if (body.startsWith("/me ")) return { action: true, text: body.slice(4) };
  return { action: false, text: body };
}
