#!/usr/bin/python3
"""XEP-0045 from a TCP client beside web clients: joins a room others created, says when it is in
(progress "joined"), sends a groupchat message for each line "send <body>" the test writes, and reports
every groupchat body it saw once all the expected ones came (or the time is up) and the test wrote an
empty line.

argv[1]: {"host", "port", "room", "jid", "password", "nick", "expect": [bodies], "timeout"}
stdout: {"ok", "seen": [{"from_nick", "body"}], "missing": [bodies]}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, progress, read_line, run, until  # noqa: E402


async def main(args):
    host, port, room, nick = args["host"], int(args["port"]), args["room"], args["nick"]
    expect = list(args["expect"])
    xmpp = make_client(args["jid"] + "/slix-watch", args["password"], "PLAIN")
    xmpp.register_plugin("xep_0045")
    seen = []

    def on_groupchat(msg):
        if msg["from"].bare == room and msg["body"]:
            seen.append({"from_nick": msg["from"].resource, "body": msg["body"]})

    xmpp.add_event_handler("groupchat_message", on_groupchat)
    try:
        result = await login(xmpp, host, port)
        if not result["ok"]:
            return {"ok": False, "error": "login failed", "login": result}
        await xmpp["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=10)
        progress("joined")

        async def commands():
            while True:
                line = await read_line(timeout=float(args.get("timeout", 30)))
                if line == "":
                    return
                if line.startswith("send "):
                    xmpp.send_message(mto=room, mbody=line[len("send "):], mtype="groupchat")

        command_task = asyncio.ensure_future(commands())
        bodies = lambda: {m["body"] for m in seen}  # noqa: E731
        await until(lambda: all(b in bodies() for b in expect), float(args.get("timeout", 30)))
        # Stay in the room until the test says so (an empty line), so the others still see us there.
        try:
            await asyncio.wait_for(command_task, 10)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            pass
        return {"ok": True, "seen": seen, "missing": [b for b in expect if b not in bodies()]}
    finally:
        await close(xmpp)


if __name__ == "__main__":
    run(main, 55)
