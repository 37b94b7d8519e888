#!/usr/bin/python3
"""RFC 6121 roster and subscriptions as slixmpp sees them: A asks B for a subscription; B's slixmpp
approves and asks back (auto_authorize / auto_subscribe), A's approves; both rosters reach "both" and
each sees the other's presence; B changes show/status; then A removes B from the roster (RFC 6121 §2.5.2),
which leaves B with subscription "none" and A offline in B's view.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}}
stdout: {"ok", "steps": {...}, "error"?}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login_all, make_pair, run, subscribe_both, until  # noqa: E402


def item(xmpp, jid):
    roster = xmpp.client_roster
    if jid not in roster:
        return None
    it = roster[jid]
    return {"subscription": it["subscription"], "pending_out": bool(it["pending_out"])}


def resources(xmpp, jid):
    return dict(xmpp.client_roster.presence(jid)) if jid in xmpp.client_roster else {}


async def main(args):
    host, port = args["host"], int(args["port"])
    a, b = make_pair(args)
    a_bare, b_bare = args["a"]["jid"], args["b"]["jid"]
    subscribe_from = []
    b.add_event_handler("presence_subscribe", lambda p: subscribe_from.append(str(p["from"])))
    steps = {}
    try:
        failed = await login_all(host, port, a, b, presence=False)
        if failed:
            return failed
        # A and B approve and ask back by themselves (auto_authorize / auto_subscribe).
        both = await subscribe_both(a, b)
        steps["roster_ver_offered"] = "rosterver" in a.features
        steps["both"] = {"ok": both, "a_sees_b": item(a, b_bare), "b_sees_a": item(b, a_bare),
                         "b_got_subscribe_from": subscribe_from}
        steps["presence"] = {
            "a_sees_b_online": await until(lambda: "slix-b" in resources(a, b_bare)),
            "b_sees_a_online": await until(lambda: "slix-a" in resources(b, a_bare)),
        }

        b.send_presence(pshow="dnd", pstatus="busy coding")
        await until(lambda: resources(a, b_bare).get("slix-b", {}).get("status") == "busy coding")
        steps["status"] = {k: resources(a, b_bare).get("slix-b", {}).get(k) for k in ("show", "status")}

        # RFC 6121 §2.5.2: removal sends unsubscribe and unsubscribed for us.
        a.del_roster_item(b_bare)
        gone = await until(lambda: b_bare not in a.client_roster or item(a, b_bare)["subscription"] == "remove", 5)
        none = await until(lambda: (item(b, a_bare) or {}).get("subscription") == "none", 5)
        offline = await until(lambda: "slix-a" not in resources(b, a_bare), 5)
        steps["removed"] = {"a_removed": gone, "b_sees_a": item(b, a_bare), "b_sees_a_offline": offline, "b_none": none}
        ok = both and steps["presence"]["a_sees_b_online"] and steps["presence"]["b_sees_a_online"] and none and offline
        return {"ok": bool(ok), "steps": steps}
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 30)
