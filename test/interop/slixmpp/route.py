#!/usr/bin/python3
"""RFC 6121 §8.5.2.1.1 routing as a slixmpp user sees it: several resources of one account log in with the
given presence priorities, a sender sends one message to the account's bare JID, then one probe message to
each resource's full JID. Once every probe has arrived (a full-JID message sent after the bare-JID one),
the result says which resources got the bare-JID message.

argv[1]: {"host", "port", "to", "body", "type"?: "chat",
          "receivers": [{"jid", "password", "resource", "priority"}],
          "sender": {"jid", "password"}}
stdout: {"ok", "received": {resource: [bodies]}, "probes": {resource: bool}, "sender_errors": [...], "jids": {...}}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402


async def main(args):
    host, port = args["host"], int(args["port"])
    receivers = []
    received = {}
    probes = {}
    probe_events = {}
    self_presence = {}
    for spec in args["receivers"]:
        resource = spec["resource"]
        xmpp = make_client("%s/%s" % (spec["jid"], resource), spec["password"], "PLAIN")
        received[resource] = []
        probes[resource] = False
        probe_events[resource] = asyncio.Event()
        self_presence[resource] = asyncio.Event()

        def on_message(msg, resource=resource):
            body = msg["body"]
            if body.startswith("probe:"):
                probes[resource] = True
                probe_events[resource].set()
            else:
                received[resource].append(body)

        def on_presence(pres, xmpp=xmpp, resource=resource):
            if pres["from"] == xmpp.boundjid and pres["type"] == "available":
                self_presence[resource].set()

        xmpp.add_event_handler("message", on_message)
        xmpp.add_event_handler("presence", on_presence)
        receivers.append(xmpp)

    sender = make_client(args["sender"]["jid"] + "/sender", args["sender"]["password"], "PLAIN")
    sender_errors = []
    sender.add_event_handler(
        "message_error", lambda msg: sender_errors.append({"from": str(msg["from"]), "condition": msg["error"]["condition"]})
    )
    clients = [*receivers, sender]
    try:
        logins = await asyncio.gather(
            *[login(x, host, port, priority=int(s["priority"])) for x, s in zip(receivers, args["receivers"])]
        )
        failed = [r for r in logins if not r["ok"]]
        if failed:
            return {"ok": False, "error": "receiver login failed", "logins": logins}
        sender_login = await login(sender, host, port)
        if not sender_login["ok"]:
            return {"ok": False, "error": "sender login failed", "logins": [sender_login]}
        # A server handles one session's stanzas in order: once a ping sent after the initial presence is
        # answered, the server has recorded that resource's priority.
        await asyncio.gather(*[x["xep_0199"].ping(jid=x.boundjid.domain, timeout=5) for x in receivers])
        sender.send_message(mto=args["to"], mbody=args["body"], mtype=args.get("type", "chat"))
        for x in receivers:
            sender.send_message(mto=str(x.boundjid), mbody="probe:" + x.boundjid.resource, mtype="chat")
        try:
            await asyncio.wait_for(asyncio.gather(*[e.wait() for e in probe_events.values()]), 5)
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(0.3)  # anything misrouted late would show up here
        return {
            "ok": all(probes.values()),
            "received": received,
            "probes": probes,
            "sender_errors": sender_errors,
            # RFC 6121 §4.2.2: the server echoes a resource's initial presence back to it (informational).
            "self_presence": {r: e.is_set() for r, e in self_presence.items()},
            "jids": {x.boundjid.resource: str(x.boundjid) for x in receivers},
        }
    finally:
        await close(*clients)


if __name__ == "__main__":
    run(main, 30)
