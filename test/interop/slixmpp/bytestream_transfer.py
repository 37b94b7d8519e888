#!/usr/bin/python3
"""XEP-0065 through Natter's proxy with slixmpp's own xep_0065 plugin: A discovers the proxy through disco
(items of the server, identity proxy/bytestreams, its <streamhost/>), offers B a bytestream through it; B's plugin
connects to the proxy and answers streamhost-used; A connects, activates, and writes `size` random bytes; B
hashes what arrives.

argv[1]: {"host", "port", "a": {"jid", "password"}, "b": {"jid", "password"}, "size"}
stdout: {"ok", "proxies", "sent_sha256", "received_sha256", "received", "seconds", "error"?}
"""

import asyncio
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login_all, make_pair, run  # noqa: E402

CHUNK = 64 * 1024


async def main(args):
    a, b = make_pair(args, "xep_0030", "xep_0065")
    b["xep_0065"].auto_accept = True
    size = int(args["size"])
    data = os.urandom(size)
    received = hashlib.sha256()
    count = {"n": 0}
    done = asyncio.get_running_loop().create_future()

    def on_data(chunk):
        received.update(chunk)
        count["n"] += len(chunk)
        if count["n"] >= size and not done.done():
            done.set_result(True)

    def on_closed(_exc):
        if not done.done():
            done.set_result(False)

    b.add_event_handler("socks5_data", on_data)
    b.add_event_handler("socks5_closed", on_closed)
    try:
        failed = await login_all(args["host"], int(args["port"]), a, b)
        if failed:
            return failed
        proxies = await a["xep_0065"].discover_proxies(timeout=10)
        result = {"proxies": {str(k): [v[0], int(v[1])] for k, v in proxies.items()},
                  "sent_sha256": hashlib.sha256(data).hexdigest()}
        if not proxies:
            result.update({"ok": False, "error": "no proxy discovered"})
            return result
        started = time.monotonic()
        sock = await a["xep_0065"].handshake(str(b.boundjid), timeout=10)
        if sock is None:
            result.update({"ok": False, "error": "handshake failed"})
            return result
        for i in range(0, size, CHUNK):
            await sock.write(data[i:i + CHUNK])
        try:
            await asyncio.wait_for(done, 60)
        except asyncio.TimeoutError:
            pass
        result.update({
            "received": count["n"],
            "received_sha256": received.hexdigest(),
            "seconds": time.monotonic() - started,
        })
        sock.transport.close()
        result["ok"] = result["received_sha256"] == result["sent_sha256"]
        return result
    finally:
        await close(a, b)


if __name__ == "__main__":
    run(main, 90)
