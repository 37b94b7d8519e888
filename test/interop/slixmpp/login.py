#!/usr/bin/python3
"""Logs in with one forced SASL mechanism, binds, pings the server and prints what happened.

argv[1]: {"host", "port", "jid", "password", "mechanism"?, "direct_tls"?, "resource"?,
          "channel_binding"?: "stock" | "none" | "tls-server-end-point" (see natter_slix.set_channel_binding)}
stdout: {"ok", "outcome", "jid", "mechanism", "gs2_header", "tls", "tls_version", "ping", ...}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run, set_channel_binding  # noqa: E402


async def main(args):
    jid = args["jid"] + ("/" + args["resource"] if args.get("resource") else "")
    xmpp = make_client(jid, args["password"], args.get("mechanism"))
    set_channel_binding(xmpp, args.get("channel_binding", "stock"))
    result = await login(xmpp, args["host"], int(args["port"]), bool(args.get("direct_tls")))
    if result["ok"]:
        try:
            await asyncio.wait_for(xmpp["xep_0199"].ping(jid=xmpp.boundjid.domain, timeout=5), 6)
            result["ping"] = True
        except Exception as exc:  # noqa: BLE001
            result["ping"] = False
            result["ping_error"] = "%s: %s" % (type(exc).__name__, exc)
    await close(xmpp)
    return result


if __name__ == "__main__":
    run(main, 25)
