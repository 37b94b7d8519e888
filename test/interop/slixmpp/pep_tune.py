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

from natter_slix import close, login_all, make_pair, run, subscribe_both, until  # noqa: E402

TUNE = "http://jabber.org/protocol/tune"


async def main(args):
    host, port = args["host"], int(args["port"])
    a, b = make_pair(args, "xep_0030", "xep_0004", "xep_0060", "xep_0115", "xep_0163", "xep_0118")
    a_bare = args["a"]["jid"]
    titles = []

    def on_tune(msg):
        if str(msg["from"]) == a_bare:
            titles.append(msg["pubsub_event"]["items"]["item"]["tune"]["title"])

    b.add_event_handler("user_tune_publish", on_tune)
    steps = {}
    try:
        failed = await login_all(host, port, a, b, presence=False)
        if failed:
            return failed
        both = await subscribe_both(a, b)
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
