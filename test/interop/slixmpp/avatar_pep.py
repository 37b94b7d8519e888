#!/usr/bin/python3
"""XEP-0084 User Avatar with slixmpp's own xep_0084 plugin: A and B subscribe to each other; both load
xep_0084, which registers interest in urn:xmpp:avatar:metadata (+notify in their XEP-0115 caps). A publishes
the avatar data then its metadata; B gets the metadata notification (avatar_metadata_publish) and fetches the
data item the metadata names (retrieve_avatar). The caller checks the vCard PHOTO the server made of it.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}, "data": base64, "type": mime type}
stdout: {"ok", "steps": {"both", "published_id", "notified": {from, items: [{id, type, bytes}]},
         "retrieved": {id, sha1, bytes}}, "error"?}
"""

import asyncio
import base64
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login_all, make_pair, run, subscribe_both  # noqa: E402

NS_META = "urn:xmpp:avatar:metadata"


async def main(args):
    host, port = args["host"], int(args["port"])
    a, b = make_pair(args, "xep_0030", "xep_0060", "xep_0115", "xep_0163", "xep_0084")
    data = base64.b64decode(args["data"])
    a_bare = args["a"]["jid"]
    notified = asyncio.get_running_loop().create_future()

    def on_metadata(msg):
        if str(msg["from"]) == a_bare and not notified.done():
            meta = msg["pubsub_event"]["items"]["item"]["avatar_metadata"]
            infos = meta.xml.findall("{%s}info" % NS_META)
            notified.set_result({"from": str(msg["from"]),
                                 "items": [{k: i.get(k) for k in ("id", "type", "bytes")} for i in infos]})

    b.add_event_handler("avatar_metadata_publish", on_metadata)
    steps = {}
    try:
        failed = await login_all(host, port, a, b, presence=False)
        if failed:
            return failed
        steps["both"] = await subscribe_both(a, b)
        await asyncio.sleep(0.5)  # the server's disco#info round trip for B's caps

        avatar_id = a["xep_0084"].generate_id(data)
        await a["xep_0084"].publish_avatar(data, timeout=5)
        await a["xep_0084"].publish_avatar_metadata(
            {"id": avatar_id, "type": args["type"], "bytes": len(data)}, timeout=5)
        steps["published_id"] = avatar_id
        steps["notified"] = await asyncio.wait_for(notified, 5)

        wanted = steps["notified"]["items"][0]["id"]
        iq = await b["xep_0084"].retrieve_avatar(a_bare, wanted, timeout=5)
        item = iq["pubsub"]["items"]["item"]
        got = item["avatar_data"]["value"]
        steps["retrieved"] = {"id": item["id"], "sha1": hashlib.sha1(got).hexdigest(), "bytes": len(got)}
        ok = steps["both"] and steps["retrieved"]["sha1"] == avatar_id
        return {"ok": bool(ok), "steps": steps}
    except asyncio.TimeoutError:
        return {"ok": False, "error": "timed out", "steps": steps}
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 40)
