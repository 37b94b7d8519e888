#!/usr/bin/python3
"""XEP-0045 with slixmpp's xep_0045 plugin: A (an admin of the room) and B join a room someone else created,
A talks and sets the subject, B joins with <history maxstanzas/> and gets history and subject, B sends A a
private message through the room, A reads the configuration form as a non-owner (forbidden), kicks B, and
each side reports what it saw.

argv[1]: {"host", "port", "room", "a": {"jid", "password", "nick"}, "b": {"jid", "password", "nick"}}
stdout: {"ok", "a_self": {...}, "b_join": {...}, "a_private": {...}, "a_config_error", "b_kicked": {...}}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login_all, make_pair, run  # noqa: E402

from slixmpp.exceptions import IqError  # noqa: E402

NS_USER = "http://jabber.org/protocol/muc#user"


def status_codes(pres):
    x = pres.xml.find("{%s}x" % NS_USER)
    if x is None:
        return []
    return sorted(int(s.get("code")) for s in x.findall("{%s}status" % NS_USER))


def item_of(pres):
    x = pres.xml.find("{%s}x" % NS_USER)
    item = None if x is None else x.find("{%s}item" % NS_USER)
    return {} if item is None else dict(item.attrib)


async def main(args):
    host, port, room = args["host"], int(args["port"]), args["room"]
    a, b = make_pair(args, "xep_0045", "xep_0203")
    a_nick, b_nick = args["a"]["nick"], args["b"]["nick"]
    loop = asyncio.get_running_loop()
    a_private = loop.create_future()
    b_kicked = loop.create_future()
    a_echo = loop.create_future()

    def on_a_message(msg):
        if msg["type"] == "chat" and msg["from"].bare == room and not a_private.done():
            a_private.set_result({"from": str(msg["from"]), "body": msg["body"],
                                  "muc_user": msg.xml.find("{%s}x" % NS_USER) is not None})

    def on_a_groupchat(msg):
        if msg["body"] == "second" and not a_echo.done():
            a_echo.set_result({"from": str(msg["from"]), "id": msg["id"],
                               "stanza_id": msg.xml.find("{urn:xmpp:sid:0}stanza-id") is not None})

    def on_b_presence(pres):
        if pres["type"] == "unavailable" and str(pres["from"]) == "%s/%s" % (room, b_nick) and not b_kicked.done():
            b_kicked.set_result({"codes": status_codes(pres), "reason": item_of(pres).get("role")})

    a.add_event_handler("message", on_a_message)
    a.add_event_handler("groupchat_message", on_a_groupchat)
    b.add_event_handler("muc::%s::got_offline" % room, on_b_presence)
    try:
        failed = await login_all(host, port, a, b)
        if failed:
            return failed
        result = {}
        try:
            return await scenario(a, b, room, a_nick, b_nick, a_private, a_echo, b_kicked, result)
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc), "partial": result}
    finally:
        await close(a, b)


async def scenario(a, b, room, a_nick, b_nick, a_private, a_echo, b_kicked, result):
    if True:
        result["step"] = "a joins"
        pres, subject, occupants, history = await a["xep_0045"].join_muc_wait(room, a_nick, maxstanzas=0, timeout=10)
        result["a_self"] = {"codes": status_codes(pres), "item": item_of(pres),
                            "occupants": sorted(p["from"].resource for p in occupants)}
        for body in ("first", "second"):
            a.send_message(mto=room, mbody=body, mtype="groupchat")
        result["step"] = 'result["a_echo"]'
        result["a_echo"] = await asyncio.wait_for(a_echo, 5)
        a["xep_0045"].set_subject(room, "Interop topic")
        await asyncio.sleep(0.3)

        result["step"] = 'pres, subject, occup'
        pres, subject, occupants, history = await b["xep_0045"].join_muc_wait(room, b_nick, maxstanzas=5, timeout=10)
        result["b_join"] = {
            "codes": status_codes(pres),
            "item": item_of(pres),
            "subject": subject["subject"],
            "occupants": sorted(p["from"].resource for p in occupants),
            "history": [m["body"] for m in history],
            "history_delay_from": [str(m["delay"]["from"]) for m in history],
        }
        b.send_message(mto="%s/%s" % (room, a_nick), mbody="private hello", mtype="chat")
        result["step"] = 'result["a_private"]'
        result["a_private"] = await asyncio.wait_for(a_private, 5)

        try:
            await b["xep_0045"].get_room_config(room, timeout=5)
            result["b_config_error"] = None
        except IqError as err:
            result["b_config_error"] = err.iq["error"]["condition"]

        result["step"] = 'await a["xep_0045"].'
        await a["xep_0045"].set_role(room, b_nick, "none", reason="interop kick", timeout=5)
        result["step"] = "b kicked"
        result["b_kicked"] = await asyncio.wait_for(b_kicked, 5)
        result["ok"] = True
        return result


if __name__ == "__main__":
    run(main, 40)
