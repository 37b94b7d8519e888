#!/usr/bin/python3
"""Offline messages (XEP-0160) with slixmpp on both ends, in two runs with a server restart between them.

mode "send": A logs in and sends `bodies` to B's bare JID while B has no session (chat, except a body
              starting with "normal:" which goes as type normal), then pings the server: it handles A's
              stanzas in order, so by the pong every message has been stored. Reports any error message.
mode "receive": B logs in (slixmpp sends initial presence at session_start) and collects the messages
              with a body, with their XEP-0203 delay read through slixmpp's xep_0203 plugin (msg['delay']).

argv[1]: {"host", "port", "mode", "a": {"jid", "password"} (send), "b": {"jid", "password"}, "bodies": [...],
          "expect": n, "wait": seconds to look for more than expected, "timeout": seconds for the expected (receive)}
stdout: send: {"ok", "errors": [...]}
        receive: {"ok", "messages": [{body, type, from, to, delay_stamp, delay_from, delay_text}]}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402


async def send(args):
    host, port = args["host"], int(args["port"])
    a = make_client(args["a"]["jid"] + "/slix-sender", args["a"]["password"], "PLAIN")
    errors = []

    def on_error(msg):
        if msg["type"] == "error":
            errors.append({"id": msg["id"], "condition": msg["error"]["condition"]})

    a.add_event_handler("message", on_error)
    try:
        r = await login(a, host, port)
        if not r["ok"]:
            return {"ok": False, "error": "login failed", "login": r}
        to = args["b"]["jid"]
        for n, body in enumerate(args["bodies"]):
            mtype = "normal" if body.startswith("normal:") else "chat"
            msg = a.make_message(mto=to, mbody=body, mtype=mtype)
            msg["id"] = "off%d" % n
            msg.send()
        await a["xep_0199"].ping(jid=a.boundjid.domain, timeout=10)
        await asyncio.sleep(0.2)
        return {"ok": True, "errors": errors}
    finally:
        await close(a)


async def receive(args):
    host, port = args["host"], int(args["port"])
    expect, wait = int(args["expect"]), float(args.get("wait", 1.0))
    b = make_client(args["b"]["jid"] + "/slix-receiver", args["b"]["password"], "PLAIN")
    b.register_plugin("xep_0203")
    loop = asyncio.get_running_loop()
    got = []
    all_in = loop.create_future()

    def on_message(msg):
        if not msg["body"]:
            return
        delay = msg["delay"]
        stamp = delay["stamp"]
        got.append({
            "body": msg["body"],
            "type": msg["type"],
            "id": msg["id"],
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            # slixmpp parses the XEP-0082 stamp into an aware datetime (None without a <delay/>).
            "delay_stamp": stamp.isoformat() if stamp is not None else None,
            "delay_from": str(delay["from"]) if delay.xml.get("from") else None,
            "delay_text": delay["text"],
        })
        if len(got) >= expect and not all_in.done():
            all_in.set_result(True)

    b.add_event_handler("message", on_message)
    try:
        r = await login(b, host, port)
        if not r["ok"]:
            return {"ok": False, "error": "login failed", "login": r}
        try:
            await asyncio.wait_for(all_in, float(args.get("timeout", 10)))
        except asyncio.TimeoutError:
            return {"ok": False, "error": "only %d of %d messages arrived" % (len(got), expect), "messages": got}
        await asyncio.sleep(wait)  # anything delivered twice would arrive now
        return {"ok": True, "messages": got}
    finally:
        await close(b)


async def main(args):
    return await (send(args) if args["mode"] == "send" else receive(args))


if __name__ == "__main__":
    run(main, 30)
