// Every XML namespace Natter speaks, in one place (DESIGN.md: never inline strings elsewhere).
export const NS_CLIENT = "jabber:client";
export const NS_SERVER = "jabber:server";
export const NS_COMPONENT = "jabber:component:accept";
export const NS_STREAM = "http://etherx.jabber.org/streams";
export const NS_STREAMS_ERROR = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_STANZAS_ERROR = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
export const NS_XML = "http://www.w3.org/XML/1998/namespace";

export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
export const NS_PING = "urn:xmpp:ping";
export const NS_VERSION = "jabber:iq:version";
export const NS_TIME = "urn:xmpp:time";
export const NS_DELAY = "urn:xmpp:delay";
export const NS_DATA_FORMS = "jabber:x:data";
export const NS_MSGOFFLINE = "msgoffline";
export const NS_HINTS = "urn:xmpp:hints";
export const NS_CHATSTATES = "http://jabber.org/protocol/chatstates";
export const NS_SID = "urn:xmpp:sid:0";
export const NS_VCARD = "vcard-temp";
export const NS_VCARD_UPDATE = "vcard-temp:x:update";
export const NS_PRIVATE = "jabber:iq:private";
