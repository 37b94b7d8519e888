#!/usr/bin/python3
"""XEP-0060 at a pubsub service with slixmpp's xep_0060 plugin: A finds the service among the domain's
disco#items by its pubsub/service identity (xep_0030), creates a node with a configuration form, reads and
changes its configuration; B subscribes; A publishes three items (B gets pubsub_publish events with payloads),
B reads the two max_items keeps, A retracts one (B gets pubsub_retract), makes the node a whitelist (B's read
refused until A makes B a member), creating it again is refused with conflict, and deleting it tells B (pubsub_delete).

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}, "node"}
stdout: {"ok", "steps": {...}, "error"?}
"""

import asyncio
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login_all, make_pair, run, until  # noqa: E402

NEWS = "urn:example:news"


def entry(title):
    return ET.fromstring('<entry xmlns="%s"><title>%s</title></entry>' % (NEWS, title))


async def main(args):
    from slixmpp.exceptions import IqError

    host, port, node = args["host"], int(args["port"]), args["node"]
    a, b = make_pair(args, "xep_0030", "xep_0004", "xep_0060")
    published, retracted, deleted = [], [], []

    def on_publish(msg):
        item = msg["pubsub_event"]["items"]["item"]
        title = item["payload"].find("{%s}title" % NEWS) if item["payload"] is not None else None
        published.append({"id": item["id"], "title": title.text if title is not None else None})

    b.add_event_handler("pubsub_publish", on_publish)
    b.add_event_handler("pubsub_retract", lambda msg: retracted.append(msg["pubsub_event"]["items"]["retract"]["id"]))
    b.add_event_handler("pubsub_delete", lambda msg: deleted.append(msg["pubsub_event"]["delete"]["node"]))
    steps = {}

    async def error_of(coro):
        try:
            await coro
            return None
        except IqError as exc:
            return exc.iq["error"]["condition"]

    try:
        failed = await login_all(host, port, a, b)
        if failed:
            return failed
        disco = a["xep_0030"]
        service = None
        for jid, _node, _name in (await disco.get_items(jid=a.boundjid.domain, timeout=10))["disco_items"]["items"]:
            info = await disco.get_info(jid=jid, timeout=10)
            if ("pubsub", "service") in [(i[0], i[1]) for i in info["disco_info"]["identities"]]:
                service = str(jid)
                break
        steps["service"] = service
        if service is None:
            return {"ok": False, "error": "no pubsub service in disco#items", "steps": steps}

        ps_a, ps_b = a["xep_0060"], b["xep_0060"]
        config = a["xep_0004"].make_form(ftype="submit")
        config.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#node_config")
        config.add_field(var="pubsub#title", value="Slixmpp news")
        await ps_a.create_node(service, node, config=config, timeout=10)
        got = await ps_a.get_node_config(service, node, timeout=10)
        values = got["pubsub_owner"]["configure"]["form"].get_values()
        steps["title"] = values.get("pubsub#title")

        change = a["xep_0004"].make_form(ftype="submit")
        change.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#node_config")
        change.add_field(var="pubsub#max_items", value="2")
        await ps_a.set_node_config(service, node, change, timeout=10)

        sub = await ps_b.subscribe(service, node, timeout=10)
        steps["subscription"] = sub["pubsub"]["subscription"]["subscription"]

        for i, title in enumerate(["one", "two", "three"], 1):
            await ps_a.publish(service, node, id="item-%d" % i, payload=entry(title), timeout=10)
        await until(lambda: len(published) >= 3, 5)
        steps["published"] = published

        items = await ps_b.get_items(service, node, timeout=10)
        steps["items"] = [i["id"] for i in items["pubsub"]["items"]]

        await ps_a.retract(service, node, "item-3", notify=True, timeout=10)
        await until(lambda: "item-3" in retracted, 5)
        steps["retracted"] = retracted

        steps["create_again"] = await error_of(ps_a.create_node(service, node, timeout=10))
        steps["publish_by_b"] = await error_of(ps_b.publish(service, node, id="b", payload=entry("b"), timeout=10))

        closed = a["xep_0004"].make_form(ftype="submit")
        closed.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#node_config")
        closed.add_field(var="pubsub#access_model", value="whitelist")
        await ps_a.set_node_config(service, node, closed, timeout=10)
        steps["whitelist_read"] = await error_of(ps_b.get_items(service, node, timeout=10))

        await ps_a.modify_affiliations(service, node, affiliations=[(b.boundjid.bare, "member")], timeout=10)
        steps["member_read"] = len((await ps_b.get_items(service, node, timeout=10))["pubsub"]["items"])
        await ps_a.delete_node(service, node, timeout=10)
        await until(lambda: node in deleted, 5)
        steps["deleted"] = deleted
        steps["gone"] = await error_of(ps_a.get_items(service, node, timeout=10))
        return {"ok": True, "steps": steps}
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 40)
