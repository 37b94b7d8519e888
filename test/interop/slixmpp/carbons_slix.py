#!/usr/bin/python3
"""Message carbons (XEP-0280) through slixmpp's xep_0280 plugin: A1 enables carbons; A2 (same account) sends a
chat message to B and B answers A2's full JID; A1 reports the <sent/> and <received/> carbons it saw.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}}
stdout: {"ok", "server_feature", "sent": {from, to, type, body, carbon_from}, "received": {...}}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, collect, login_all, make_client, run  # noqa: E402


def describe(carbon, inner):
    return {
        "from": str(inner["from"]),
        "to": str(inner["to"]),
        "type": inner["type"],
        "body": inner["body"],
        "carbon_from": str(carbon["from"]),
    }


async def main(args):
    host, port = args["host"], int(args["port"])
    a1 = make_client(args["a"]["jid"] + "/one", args["a"]["password"], "PLAIN")
    a2 = make_client(args["a"]["jid"] + "/two", args["a"]["password"], "PLAIN")
    b = make_client(args["b"]["jid"] + "/phone", args["b"]["password"], "PLAIN")
    for c in (a1, a2):
        c.register_plugin("xep_0030")
        c.register_plugin("xep_0280")
    loop = asyncio.get_running_loop()
    sent = loop.create_future()
    received = loop.create_future()

    def on_sent(msg):
        if not sent.done():
            sent.set_result(describe(msg, msg["carbon_sent"]))

    def on_received(msg):
        if not received.done():
            received.set_result(describe(msg, msg["carbon_received"]))

    def on_b_message(msg):
        if msg["type"] == "chat" and msg["body"]:
            msg.reply("re: " + msg["body"]).send()

    a1.add_event_handler("carbon_sent", on_sent)
    a1.add_event_handler("carbon_received", on_received)
    b.add_event_handler("message", on_b_message)
    try:
        failed = await login_all(host, port, a1, a2, b)
        if failed:
            return failed
        info = await a1["xep_0030"].get_info(jid=a1.boundjid.domain, timeout=5)
        result = {"server_feature": "urn:xmpp:carbons:2" in info["disco_info"]["features"]}
        await a1["xep_0280"].enable(timeout=5)
        a2.send_message(mto=b.boundjid.bare, mbody="hello from two", mtype="chat")
        return await collect(result, {"sent": sent, "received": received}, 5, "timed out waiting for a carbon")
    finally:
        await close(a1, a2, b)


if __name__ == "__main__":
    run(main, 30)
