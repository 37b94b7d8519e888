#!/usr/bin/python3
"""An account imported from another server (XEP-0227), as its user sees it in slixmpp: logs in with the old
password (slixmpp picks the SASL mechanism from those offered), fetches the roster (RFC 6121 §2.1.3), goes
online and collects what the server delivers on initial presence: offline messages (XEP-0160) with their
XEP-0203 delay, read through slixmpp's xep_0203 plugin, and pending subscription requests (RFC 6121 §3.1.3).
Requests are left unanswered (auto_authorize None), so the account's state is as it was.

argv[1]: {"host", "port", "jid", "password", "expect": messages to wait for, "wait": seconds to look for more}
stdout: {"ok", "mechanism", "roster": [{jid, name, groups, subscription, ask}],
         "messages": [{body, type, from, delay_stamp, delay_from}], "subscribe_from": [...], "error"?}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402


async def main(args):
    host, port = args["host"], int(args["port"])
    expect, wait = int(args.get("expect", 0)), float(args.get("wait", 1.5))
    xmpp = make_client(args["jid"] + "/slix-imported", args["password"])
    xmpp.register_plugin("xep_0203")
    xmpp.auto_authorize = None  # look, do not answer
    xmpp.auto_subscribe = False
    loop = asyncio.get_running_loop()
    messages, subscribe_from = [], []
    all_in = loop.create_future()

    def on_message(msg):
        if not msg["body"]:
            return
        delay = msg["delay"]
        stamp = delay["stamp"]
        messages.append({
            "body": msg["body"],
            "type": msg["type"],
            "from": str(msg["from"]),
            # slixmpp parses the XEP-0082 stamp into an aware datetime (None without a <delay/>).
            "delay_stamp": stamp.isoformat() if stamp is not None else None,
            "delay_from": str(delay["from"]) if delay.xml.get("from") else None,
        })
        if len(messages) >= expect and not all_in.done():
            all_in.set_result(True)

    xmpp.add_event_handler("message", on_message)
    xmpp.add_event_handler("presence_subscribe", lambda p: subscribe_from.append(str(p["from"])))
    try:
        r = await login(xmpp, host, port, presence=False)
        if not r["ok"]:
            return {"ok": False, "error": "login failed", "login": r}
        result = {"mechanism": r["mechanism"]}
        resp = await xmpp.get_roster(timeout=5)
        result["roster"] = sorted(
            ({"jid": str(jid), "name": item["name"], "groups": sorted(item["groups"]),
              "subscription": item["subscription"], "ask": item["ask"] or None}
             for jid, item in resp["roster"]["items"].items()),
            key=lambda i: i["jid"])
        # RFC 6121 §3.1.3 / XEP-0160 §3: initial presence is what makes the server deliver what it kept.
        xmpp.send_presence()
        if expect == 0:
            all_in.set_result(True)
        try:
            await asyncio.wait_for(all_in, float(args.get("timeout", 10)))
        except asyncio.TimeoutError:
            result.update(ok=False, error="only %d of %d messages arrived" % (len(messages), expect),
                          messages=messages, subscribe_from=subscribe_from)
            return result
        await asyncio.sleep(wait)  # anything delivered twice, and the subscription requests, arrive now
        result.update(ok=True, messages=messages, subscribe_from=subscribe_from)
        return result
    finally:
        await close(xmpp)


if __name__ == "__main__":
    run(main, 30)
