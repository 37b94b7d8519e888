// Every XML namespace Natter speaks, in one place (DESIGN.md: never inline strings elsewhere).
export const NS_CLIENT = "jabber:client";
export const NS_SERVER = "jabber:server";
export const NS_COMPONENT = "jabber:component:accept";
export const NS_STREAM = "http://etherx.jabber.org/streams";
export const NS_STREAMS_ERROR = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_STANZAS_ERROR = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
/** XEP-0440 SASL Channel-Binding Type Capability. */
export const NS_SASL_CB = "urn:xmpp:sasl-cb:0";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
/** XEP-0388 Extensible SASL Profile. */
export const NS_SASL2 = "urn:xmpp:sasl:2";
/** XEP-0386 Bind 2. */
export const NS_BIND2 = "urn:xmpp:bind:0";
/** XEP-0484 Fast Authentication Streamlining Tokens. */
export const NS_FAST = "urn:xmpp:fast:0";
/** XEP-0480 SASL Upgrade Tasks: the <upgrade/> offer and request. */
export const NS_SASL_UPGRADE = "urn:xmpp:sasl:upgrade:0";
/** XEP-0480 §3 SCRAM upgrade task data (<salt iterations/>, <hash/>). */
export const NS_SCRAM_UPGRADE = "urn:xmpp:scram-upgrade:0";
export const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
export const NS_XML = "http://www.w3.org/XML/1998/namespace";

export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
export const NS_PING = "urn:xmpp:ping";
export const NS_VERSION = "jabber:iq:version";
export const NS_TIME = "urn:xmpp:time";
export const NS_DELAY = "urn:xmpp:delay";
export const NS_DATA_FORMS = "jabber:x:data";
/** XEP-0157 / XEP-0128: the FORM_TYPE of the server's contact addresses form. */
export const NS_SERVERINFO = "http://jabber.org/network/serverinfo";
export const NS_MSGOFFLINE = "msgoffline";
export const NS_HINTS = "urn:xmpp:hints";
export const NS_CHATSTATES = "http://jabber.org/protocol/chatstates";
export const NS_SID = "urn:xmpp:sid:0";
export const NS_VCARD = "vcard-temp";
export const NS_VCARD_UPDATE = "vcard-temp:x:update";
export const NS_SEARCH = "jabber:iq:search";
export const NS_PRIVATE = "jabber:iq:private";
export const NS_ROSTER = "jabber:iq:roster";
export const NS_ROSTER_VER = "urn:xmpp:features:rosterver";
export const NS_PRE_APPROVAL = "urn:xmpp:features:pre-approval";
export const NS_REGISTER = "jabber:iq:register";
export const NS_REGISTER_FEATURE = "http://jabber.org/features/iq-register";
export const NS_LAST = "jabber:iq:last";
export const NS_PRIVACY = "jabber:iq:privacy";
export const NS_BLOCKING = "urn:xmpp:blocking";
export const NS_BLOCKING_ERRORS = "urn:xmpp:blocking:errors";
/** XEP-0377 Spam Reporting. */
export const NS_REPORTING = "urn:xmpp:reporting:1";
export const NS_REPORTING_SPAM = "urn:xmpp:reporting:spam";
export const NS_REPORTING_ABUSE = "urn:xmpp:reporting:abuse";
/** XEP-0158 CAPTCHA Forms. */
export const NS_CAPTCHA = "urn:xmpp:captcha";
/** Natter's own: a user's quarantine of messages and subscription requests from strangers (docs/anti-spam.md). */
export const NS_QUARANTINE = "urn:natter:quarantine:0";
export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
export const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
export const NS_MUC_ROOMCONFIG = "http://jabber.org/protocol/muc#roomconfig";
export const NS_MUC_ROOMINFO = "http://jabber.org/protocol/muc#roominfo";
export const NS_MUC_REQUEST = "http://jabber.org/protocol/muc#request";
export const NS_MUC_STABLE_ID = "http://jabber.org/protocol/muc#stable_id";
export const NS_MUC_SELF_PING = "http://jabber.org/protocol/muc#self-ping-optimization";
export const NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0";
export const NS_CONFERENCE = "jabber:x:conference";
export const NS_CARBONS = "urn:xmpp:carbons:2";
export const NS_FORWARD = "urn:xmpp:forward:0";
export const NS_CSI = "urn:xmpp:csi:0";
export const NS_EXTDISCO = "urn:xmpp:extdisco:2";
export const NS_JINGLE_MESSAGE = "urn:xmpp:jingle-message:0";
export const NS_EME = "urn:xmpp:eme:0";
export const NS_OMEMO = "urn:xmpp:omemo:2";
export const NS_OMEMO_LEGACY = "eu.siacs.conversations.axolotl";
export const NS_OPENPGP = "urn:xmpp:openpgp:0";
export const NS_PGP_ENCRYPTED = "jabber:x:encrypted";
export const NS_MAM = "urn:xmpp:mam:2";
export const NS_MAM_EXTENDED = "urn:xmpp:mam:2#extended";
export const NS_MAM_GROUPCHAT_FIELD = "urn:xmpp:mam:2#groupchat-field";
export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_XDATA_VALIDATE = "http://jabber.org/protocol/xdata-validate";
export const NS_CAPS = "http://jabber.org/protocol/caps";
export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
export const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
export const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";
export const NS_PUBSUB_NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config";
export const NS_PUBSUB_PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";
export const NS_PUBSUB_META_DATA = "http://jabber.org/protocol/pubsub#meta-data";
export const NS_PUBSUB_SUBSCRIBE_AUTHORIZATION = "http://jabber.org/protocol/pubsub#subscribe_authorization";
export const NS_PUBSUB_SUBSCRIBE_OPTIONS = "http://jabber.org/protocol/pubsub#subscribe_options";
export const NS_HTTP_UPLOAD = "urn:xmpp:http:upload:0";
/** XEP-0065 SOCKS5 Bytestreams. */
export const NS_BYTESTREAMS = "http://jabber.org/protocol/bytestreams";
export const NS_SM = "urn:xmpp:sm:3";
export const NS_PUSH = "urn:xmpp:push:0";
export const NS_PUSH_SUMMARY = "urn:xmpp:push:summary";
export const NS_BOOKMARKS = "urn:xmpp:bookmarks:1";
export const NS_BOOKMARKS_COMPAT = "urn:xmpp:bookmarks:1#compat";
export const NS_BOOKMARKS_COMPAT_PEP = "urn:xmpp:bookmarks:1#compat-pep";
export const NS_BOOKMARKS_LEGACY = "storage:bookmarks";
export const NS_AVATAR_DATA = "urn:xmpp:avatar:data";
export const NS_AVATAR_METADATA = "urn:xmpp:avatar:metadata";
export const NS_PEP_VCARD_CONVERSION = "urn:xmpp:pep-vcard-conversion:0";
export const NS_VCARD4 = "urn:ietf:params:xml:ns:vcard-4.0";
export const NS_VCARD4_NODE = "urn:xmpp:vcard4";
/** RFC 7395 §3.3: WebSocket framing elements (<open/>, <close/>). */
export const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
/** XEP-0124: the BOSH <body/> wrapper. */
export const NS_HTTPBIND = "http://jabber.org/protocol/httpbind";
/** XEP-0206: XMPP attributes on the BOSH <body/> (xmpp:version, xmpp:restart). */
export const NS_XBOSH = "urn:xmpp:xbosh";
/** RFC 6415 §3: the XRD document /.well-known/host-meta is written in. */
export const NS_XRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0";
/** XEP-0156 §3: link relations naming the alternative connection methods in host-meta. */
export const REL_ALT_WEBSOCKET = "urn:xmpp:alt-connections:websocket";
export const REL_ALT_XBOSH = "urn:xmpp:alt-connections:xbosh";
export const NS_COMMANDS = "http://jabber.org/protocol/commands";
/** XEP-0133 service administration: the FORM_TYPE and the prefix of its command nodes (`<ns>#add-user`). */
export const NS_ADMIN = "http://jabber.org/protocol/admin";
/** Natter's own admin commands (reload), named like XEP-0133's: `<ns>#reload`. */
export const NS_NATTER_ADMIN = "https://natter.im/protocol/admin";
export const NS_NATTER_USER_DIRECTORY = "https://natter.im/protocol/user-directory";
/** XEP-0401 ad-hoc commands `<ns>#invite` and `<ns>#create-account`; XEP-0445 stream feature `<register/>`. */
export const NS_INVITE = "urn:xmpp:invite";
/** XEP-0379 / XEP-0445 `<preauth token='…'/>`. */
export const NS_PARS = "urn:xmpp:pars:0";
