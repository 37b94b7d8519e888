// Addresses on the gateway, as biboumi names them (clients already know these): a channel is
// "#channel%irc.example.net@irc.<host>", an occupant "#channel%irc.example.net@irc.<host>/nick", an IRC user for
// one-to-one chat "nick%irc.example.net@irc.<host>" (biboumi 2.0 on: a channel and a nick are told apart by the
// first character, CHANTYPES); biboumi 1.x's "nick!irc.example.net" is still accepted.

export interface ChannelAddress {
  channel: string;
  server: string;
}
export interface UserAddress {
  nick: string;
  server: string;
}

/** Channel prefixes (RFC 2811 §2.1). */
const CHANNEL_START = /^[#&+!]/;
/** RFC 2812 §1.3 / §2.3.1: no space, comma, BEL, NUL, CR, LF, colon; at most 50 characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
const CHANNEL_BAD = /[\s,\x07\0:]/;
/** RFC 2812 §2.3.1 nickname characters; servers allow longer ones than 9 (ISUPPORT NICKLEN). */
const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;

export function isChannelName(name: string): boolean {
  return CHANNEL_START.test(name) && name.length >= 2 && name.length <= 50 && !CHANNEL_BAD.test(name);
}

export function isNickname(nick: string, maxLength = 30): boolean {
  return nick.length <= maxLength && NICK.test(nick);
}

/** A localpart naming a channel on a server, or undefined. */
export function parseChannelLocalpart(local: string): ChannelAddress | undefined {
  const pct = local.lastIndexOf("%");
  if (pct <= 0) return undefined;
  const channel = local.slice(0, pct);
  const server = local.slice(pct + 1);
  if (!isChannelName(channel) || server === "") return undefined;
  return { channel, server };
}

/** A localpart naming an IRC user on a server ("nick%server", or the older "nick!server"), or undefined. */
export function parseUserLocalpart(local: string): UserAddress | undefined {
  let sep = local.indexOf("%");
  if (sep === -1) sep = local.indexOf("!");
  if (sep <= 0) return undefined;
  const nick = local.slice(0, sep);
  const server = local.slice(sep + 1);
  if (!isNickname(nick, 64) || server === "") return undefined;
  return { nick, server };
}

/** RFC 2812 §2.2: the casemapping most servers use ("rfc1459": {}|^ are the lower case of []\~). */
export function ircLower(name: string): string {
  return name.toLowerCase().replace(/[[\]\\~]/g, (c) => ({ "[": "{", "]": "}", "\\": "|", "~": "^" })[c] ?? c);
}

export const channelLocalpart = (channel: string, server: string) => `${ircLower(channel)}%${server}`;
export const userLocalpart = (nick: string, server: string) => `${nick}%${server}`;

/**
 * A nick from the server that can stand as a JID resource and in XML: no controls, spaces or separators. A
 * hostile server's other nicks are dropped with their line.
 */
export function isSafeNick(nick: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
  return /^[^\x00-\x20\x7f/@:!,*?#&\ufffd\ufffe\uffff]{1,64}$/u.test(nick);
}
