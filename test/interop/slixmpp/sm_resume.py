#!/usr/bin/python3
"""XEP-0198 resumption with slixmpp's own xep_0198 plugin: the client logs in (the plugin enables stream
management with resume="true" when the server offers it), receives messages, then its TCP connection dies
without </stream:stream> (transport.abort()); while it is gone the test sends more messages to its full
JID; it reconnects, resumes the session (the plugin's session_resumed event, the same full JID), and gets the
rest. The test drives the phases through stdin and the progress lines:

  -> {"event": "online", "jid", "sm_id"}       <- "after <n>" (once the test has sent n messages)
  -> {"event": "dropped", "handled"}           <- "reconnect" (once the test has sent messages meanwhile)
  -> {"event": "resumed", "jid"}               <- "expect <n>" (the total the client must end up with)

argv[1]: {"host", "port", "jid", "password", "wait"?: seconds to look for duplicates at the end}
stdout: {"ok", "bodies": [...] (in arrival order), "resumed", "session_starts", "jid", "resumed_jid", "sm_id",
         "sm_enabled", "handled_at_drop", "error"?}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, progress, read_line, run, until  # noqa: E402


async def wait_for_count(bodies, n, what):
    if not await until(lambda: len(bodies) >= n, 10):
        raise RuntimeError("%s: %d of %d messages arrived" % (what, len(bodies), n))


async def main(args):
    host, port = args["host"], int(args["port"])
    xmpp = make_client(args["jid"] + "/sm", args["password"], "PLAIN")
    xmpp.register_plugin("xep_0198")
    bodies = []
    events = {"session_start": 0, "session_resumed": 0, "sm_enabled": 0}
    resumed = asyncio.Event()

    def on_message(msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            bodies.append(msg["body"])

    def count(name):
        def handler(_event):
            events[name] += 1
            if name == "session_resumed":
                resumed.set()
        return handler

    xmpp.add_event_handler("message", on_message)
    for name in events:
        xmpp.add_event_handler(name, count(name))
    result = {"ok": False, "bodies": bodies}
    try:
        r = await login(xmpp, host, port)
        if not r["ok"]:
            return {"ok": False, "error": "login failed", "login": r}
        sm = xmpp["xep_0198"]
        if not await until(lambda: sm.sm_id is not None, 5):
            return {"ok": False, "error": "stream management was not enabled with resumption", "events": events}
        result.update({"jid": str(xmpp.boundjid), "sm_id": sm.sm_id})
        progress("online", jid=str(xmpp.boundjid), sm_id=sm.sm_id)

        command = await read_line()
        await wait_for_count(bodies, int(command.split()[1]), "before the drop")
        # The TCP connection dies: no </stream:stream>, no TLS close_notify.
        result["handled_at_drop"] = sm.handled
        disconnected = xmpp.wait_until("disconnected", 5)
        xmpp.transport.abort()
        await disconnected
        progress("dropped", handled=sm.handled)

        if await read_line() != "reconnect":
            return {**result, "error": "the test did not say reconnect"}
        xmpp.connect((host, port), use_ssl=False, force_starttls=True)
        await asyncio.wait_for(resumed.wait(), 10)
        result["resumed_jid"] = str(xmpp.boundjid)
        progress("resumed", jid=str(xmpp.boundjid))

        command = await read_line()
        await wait_for_count(bodies, int(command.split()[1]), "after resumption")
        await asyncio.sleep(float(args.get("wait", 1.0)))  # anything delivered twice would arrive now
        result.update({
            "ok": True,
            "resumed": events["session_resumed"],
            "session_starts": events["session_start"],
            "sm_enabled": events["sm_enabled"],
        })
        return result
    except (asyncio.TimeoutError, RuntimeError) as exc:
        return {**result, "error": "%s: %s" % (type(exc).__name__, exc), "events": events}
    finally:
        await close(xmpp)


if __name__ == "__main__":
    run(main, 40)
