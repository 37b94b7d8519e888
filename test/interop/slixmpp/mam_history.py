#!/usr/bin/python3
"""MAM with slixmpp's own xep_0313 plugin: A sends `count` chat messages to B; each side then reads its
history back through the plugin (retrieve with RSM paging via iterate(), the query form, and a
`with` filter), and B reports the stanza-ids it saw on delivery.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}, "count", "page"}
stdout: {"ok", "delivered": [{body, stanza_id}], "a_history": [{id, body, from, to}], "b_history": [...],
         "b_with_a": n, "fields": [...], "disco": [...]}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login_all, make_pair, run  # noqa: E402


async def history(xmpp, page, **kwargs):
    out = []
    async for msg in xmpp["xep_0313"].iterate(rsm={"max": page}, **kwargs):
        fwd = msg["mam_result"]["forwarded"]["stanza"]
        out.append({"id": msg["mam_result"]["id"], "body": fwd["body"], "from": str(fwd["from"]), "to": str(fwd["to"]),
                    "result_from": str(msg["from"])})
    return out


async def main(args):
    host, port = args["host"], int(args["port"])
    count, page = int(args.get("count", 25)), int(args.get("page", 10))
    a, b = make_pair(args, "xep_0030", "xep_0059", "xep_0297", "xep_0313", "xep_0359")
    loop = asyncio.get_running_loop()
    delivered = []
    all_in = loop.create_future()

    def on_b_message(msg):
        if msg["type"] != "chat" or not msg["body"]:
            return
        sid = None
        for el in msg.xml.findall("{urn:xmpp:sid:0}stanza-id"):
            if el.get("by") == b.boundjid.bare:
                sid = el.get("id")
        delivered.append({"body": msg["body"], "stanza_id": sid})
        if len(delivered) == count and not all_in.done():
            all_in.set_result(True)

    b.add_event_handler("message", on_b_message)
    try:
        failed = await login_all(host, port, a, b)
        if failed:
            return failed
        for i in range(count):
            a.send_message(mto=b.boundjid.bare, mbody="history %d" % i, mtype="chat")
        await asyncio.wait_for(all_in, 30)
        info = await b["xep_0030"].get_info(jid=b.boundjid.bare)
        form = await a["xep_0313"].get_fields()
        result = {
            "delivered": delivered,
            "a_history": await history(a, page),
            "b_history": await history(b, page),
            "b_with_a": len(await history(b, page, with_jid=a.boundjid.bare)),
            "b_last": await history(b, page, reverse=True),
            "fields": list(form.get_fields().keys()),
            "disco": sorted(info["disco_info"]["features"]),
            "ok": True,
        }
        return result
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 50)
