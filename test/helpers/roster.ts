// Roster helpers for e2e tests: RFC 6121 subscriptions between @xmpp/client users.
import type { TestServer } from "./test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "./xmpp-client.js";

const NS_ROSTER = "jabber:iq:roster";

export const bareJid = (c: ConnectedClient): string => c.jid.split("/")[0] as string;

/** A roster push (RFC 6121 §2.1.6) for `jid` with this subscription state. */
export const isRosterPush = (jid: string, subscription: string) => (s: XmlElement) => {
  const item = s.is("iq") && s.attrs.type === "set" ? s.getChild("query", NS_ROSTER)?.getChild("item") : undefined;
  return item?.attrs.jid === jid && item.attrs.subscription === subscription;
};

const isPresence = (from: string, type: string) => (s: XmlElement) => s.is("presence") && s.attrs.from === from && s.attrs.type === type;

/**
 * RFC 6121 §3.1: a asks b for a subscription and b approves, then b asks a and a approves; resolves once each
 * side has the other in its roster with subscription "both". Both clients must have fetched their roster
 * (an interested resource, §2.1.6) so that they get the pushes.
 */
export async function subscribeBoth(a: ConnectedClient, b: ConnectedClient): Promise<void> {
  const [aj, bj] = [bareJid(a), bareJid(b)];
  for (const [x, xj, y, yj] of [
    [a, aj, b, bj],
    [b, bj, a, aj],
  ] as const) {
    await x.xmpp.send(xml("presence", { to: yj, type: "subscribe" }));
    await y.waitFor(isPresence(xj, "subscribe"));
    await y.xmpp.send(xml("presence", { to: xj, type: "subscribed" }));
    await x.waitFor(isPresence(yj, "subscribed"));
  }
  await Promise.all([a.waitFor(isRosterPush(bj, "both")), b.waitFor(isRosterPush(aj, "both"))]);
}

/**
 * Logs `user` (password `<user>-secret`) in as `resource`, fetches the roster (an interested resource, RFC 6121
 * §2.1.6) and sends the given initial presence (none when undefined), waiting for it to come back.
 */
export async function onlineWithRoster(
  ts: TestServer,
  user: string,
  resource: string,
  presence: XmlElement | undefined = xml("presence"),
): Promise<ConnectedClient> {
  const c = await connect(ts, user, `${user}-secret`, { resource });
  await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  if (presence) {
    await c.xmpp.send(presence);
    await c.waitFor((s) => s.is("presence") && s.attrs.from === c.jid && s.attrs.type === presence.attrs.type);
  }
  return c;
}
