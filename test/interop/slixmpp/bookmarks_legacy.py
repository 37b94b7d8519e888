#!/usr/bin/python3
"""XEP-0402 §5.3 compatibility as a legacy slixmpp client sees it (slixmpp has xep_0048, no xep_0402): the
client stores a XEP-0048 list through XEP-0049 private storage (#compat), then reads the list back both from
private storage and from the legacy PEP node 'storage:bookmarks' (#compat-pep, xep_0048 method xep_0223).
The caller checks the XEP-0402 items the server made of it.

argv[1]: {"host", "port", "a": {"jid", "password"}}
stdout: {"ok", "steps": {...}, "error"?}
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402
from slixmpp.plugins.xep_0048.stanza import Bookmarks  # noqa: E402


def conferences(bookmarks):
    return sorted(
        [str(c["jid"]), c["name"], bool(c["autojoin"]), c["nick"]] for c in bookmarks["conferences"]
    )


async def main(args):
    host, port = args["host"], int(args["port"])
    a = make_client(args["a"]["jid"] + "/slix-bm", args["a"]["password"], "PLAIN")
    for plugin in ("xep_0030", "xep_0004", "xep_0049", "xep_0060", "xep_0163", "xep_0223", "xep_0048"):
        a.register_plugin(plugin)
    steps = {}
    try:
        r = await login(a, host, port)
        if not r["ok"]:
            return {"ok": False, "error": "login failed", "login": r}
        info = await a["xep_0030"].get_info(jid=args["a"]["jid"], timeout=5)
        steps["features"] = sorted(f for f in info["disco_info"]["features"] if "bookmarks" in f)

        bm = Bookmarks()
        bm.add_conference("coven@chat.shakespeare.lit", "Hecate", name="The Coven", autojoin=True)
        bm.add_conference("globe@chat.shakespeare.lit", "Hecate", name="The Globe", autojoin=False)
        await a["xep_0048"].set_bookmarks(bm, method="xep_0049", timeout=5)

        got = await a["xep_0048"].get_bookmarks(method="xep_0049", timeout=5)
        steps["private"] = conferences(got["private"]["bookmarks"])
        got = await a["xep_0048"].get_bookmarks(method="xep_0223", timeout=5)
        steps["pep"] = conferences(got["pubsub"]["items"]["item"]["bookmarks"])
        ok = steps["private"] == steps["pep"] and len(steps["private"]) == 2
        return {"ok": bool(ok), "steps": steps}
    finally:
        await close(a)


if __name__ == "__main__":
    run(main, 40)
