#!/usr/bin/python3
"""A slixmpp user on one cluster node talking to a user on another: logs in (with presence), says it is online
(progress "online" with its full JID), then waits for a chat message from `peer`; it answers the full JID the
message came from with "re: <body>" and sends `body` to the peer's bare JID, and reports what it received.

argv[1]: {"host", "port", "jid", "password", "resource", "peer", "body"}
stdout: {"ok", "jid", "received": {from, to, type, body}}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, collect, login, make_client, progress, run  # noqa: E402


async def main(args):
    xmpp = make_client(args["jid"] + "/" + args["resource"], args["password"], "PLAIN")
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    peer = args["peer"]

    def on_message(msg):
        if msg["type"] in ("chat", "normal") and msg["from"].bare == peer and not got.done():
            got.set_result({"from": str(msg["from"]), "to": str(msg["to"]), "type": msg["type"], "body": msg["body"]})
            msg.reply("re: " + msg["body"]).send()
            xmpp.send_message(mto=peer, mbody=args["body"], mtype="chat")

    xmpp.add_event_handler("message", on_message)
    try:
        result = await login(xmpp, args["host"], int(args["port"]))
        if not result["ok"]:
            return result
        progress("online", jid=str(xmpp.boundjid))
        out = {"jid": str(xmpp.boundjid)}
        out = await collect(out, {"received": got}, 15, "timed out waiting for the peer's message")
        await asyncio.sleep(0.3)  # let the answers leave
        return out
    finally:
        await close(xmpp)


if __name__ == "__main__":
    run(main, 30)
