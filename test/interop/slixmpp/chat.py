#!/usr/bin/python3
"""Chat between two accounts: A sends a chat message to B (bare or full JID), B answers the full JID it came
from, and each side reports exactly what it received.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}, "body", "to_full"?: bool}
stdout: {"ok", "a_jid", "b_jid", "b_received": {from, to, type, body, id}, "a_received": {...}}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, collect, login_all, make_client, run  # noqa: E402


def describe(msg):
    return {"from": str(msg["from"]), "to": str(msg["to"]), "type": msg["type"], "body": msg["body"], "id": msg["id"]}


async def main(args):
    host, port = args["host"], int(args["port"])
    a = make_client(args["a"]["jid"] + "/a-res", args["a"]["password"], "PLAIN")
    b = make_client(args["b"]["jid"] + "/b-res", args["b"]["password"], "PLAIN")
    loop = asyncio.get_running_loop()
    b_got = loop.create_future()
    a_got = loop.create_future()

    def on_b_message(msg):
        if msg["type"] in ("chat", "normal") and not b_got.done():
            b_got.set_result(describe(msg))
            msg.reply("re: " + msg["body"]).send()

    def on_a_message(msg):
        if msg["type"] in ("chat", "normal", "error") and not a_got.done():
            a_got.set_result(describe(msg))

    b.add_event_handler("message", on_b_message)
    a.add_event_handler("message", on_a_message)
    a.add_event_handler("message_error", on_a_message)
    try:
        failed = await login_all(host, port, a, b)
        if failed:
            return failed
        to = str(b.boundjid) if args.get("to_full") else b.boundjid.bare
        a.send_message(mto=to, mbody=args["body"], mtype="chat", mfrom=None)
        result = {"a_jid": str(a.boundjid), "b_jid": str(b.boundjid), "to": to}
        return await collect(result, {"b_received": b_got, "a_received": a_got}, 5, "timed out waiting for a message")
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 30)
