#!/usr/bin/python3
"""XEP-0163 PEP as slixmpp sees it: A and B subscribe to each other (auto_authorize / auto_subscribe); both
load xep_0118 (User Tune), which registers interest in http://jabber.org/protocol/tune through xep_0163
(a '+notify' disco feature advertised with xep_0115 caps). A publishes a tune through xep_0163; B receives
the notification (the server had to learn B's caps by disco#info and verify the hash). B then reads A's
node with xep_0060 get_items, and A publishes a second tune with publish-options (xep_0004 form) that B
receives too.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}}
stdout: {"ok", "steps": {...}, "error"?}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402

TUNE = "http://jabber.org/protocol/tune"


async def until(pred, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():
            return True
        await asyncio.sleep(0.05)
    return pred()


def subscription(xmpp, jid):
    roster = xmpp.client_roster
    return roster[jid]["subscription"] if jid in roster else None


async def main(args):
    host, port = args["host"], int(args["port"])
    a = make_client(args["a"]["jid"] + "/slix-a", args["a"]["password"], "PLAIN")
    b = make_client(args["b"]["jid"] + "/slix-b", args["b"]["password"], "PLAIN")
    a_bare, b_bare = args["a"]["jid"], args["b"]["jid"]
    for c in (a, b):
        for plugin in ("xep_0030", "xep_0004", "xep_0060", "xep_0115", "xep_0163", "xep_0118"):
            c.register_plugin(plugin)
        c.auto_authorize = True
        c.auto_subscribe = True
    titles = []

    def on_tune(msg):
        if str(msg["from"]) == a_bare:
            titles.append(msg["pubsub_event"]["items"]["item"]["tune"]["title"])

    b.add_event_handler("user_tune_publish", on_tune)
    steps = {}
    try:
        logins = await asyncio.gather(login(a, host, port, presence=False), login(b, host, port, presence=False))
        if not all(r["ok"] for r in logins):
            return {"ok": False, "error": "login failed", "logins": logins}
        for c in (a, b):
            await c.get_roster(timeout=5)
            c.send_presence()
        a.send_presence_subscription(pto=b_bare, ptype="subscribe")
        both = await until(lambda: subscription(a, b_bare) == "both" and subscription(b, a_bare) == "both", 8)
        steps["both"] = both
        await asyncio.sleep(0.5)  # the server's disco#info round trip for B's caps

        await a["xep_0118"].publish_tune(artist="Gerald Finzi", title="Introduction", timeout=5)
        steps["notified"] = await until(lambda: "Introduction" in titles, 5)

        items = await b["xep_0060"].get_items(a_bare, TUNE, timeout=5)
        steps["items"] = [i["payload"].find("{%s}title" % TUNE).text for i in items["pubsub"]["items"]]

        form = a["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
        form.add_field(var="pubsub#access_model", value="presence")
        await a["xep_0118"].publish_tune(artist="Gerald Finzi", title="Rondo", options=form, timeout=5)
        steps["notified_with_options"] = await until(lambda: "Rondo" in titles, 5)
        steps["titles"] = titles
        ok = both and steps["notified"] and steps["items"] == ["Introduction"] and steps["notified_with_options"]
        return {"ok": bool(ok), "steps": steps}
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 40)
