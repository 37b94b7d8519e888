#!/usr/bin/python3
"""XEP-0363 with slixmpp's own xep_0363 plugin: find the upload service through disco, ask for a slot, PUT the
file with aiohttp (the plugin's code path), then GET the URL back and compare hashes. With "too_big", a file
over the announced max-file-size must be refused by the plugin itself (it read the size from disco).

argv[1]: {"host", "port", "jid", "password", "size", "filename", "content_type"?, "too_big"?, "cafile"?}
"cafile": a PEM certificate to trust for the HTTPS slot URLs (the test server's self-signed one); the plugin's
aiohttp session verifies certificates against the default store, which SSL_CERT_FILE replaces.
stdout: {"ok", "service", "url", "sha256", "downloaded_sha256", "status", "content_type", "max_file_size", "error"?}
"""

import asyncio
import hashlib
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402


def patch_disco_wait():
    """slixmpp 1.8.3's get_info_from_domain (used by xep_0363 to find the service) hands bare coroutines to
    asyncio.wait, which Python 3.11 refuses ("Passing coroutines is forbidden"): wrap them in tasks there."""
    import types

    import slixmpp.plugins.xep_0030.disco as disco_module

    stock_wait = asyncio.wait

    async def wait(aws, *args, **kwargs):
        return await stock_wait([asyncio.ensure_future(a) for a in aws], *args, **kwargs)

    disco_module.asyncio = types.SimpleNamespace(**{**vars(asyncio), "wait": wait})


async def main(args):
    if args.get("cafile"):
        os.environ["SSL_CERT_FILE"] = args["cafile"]  # read when aiohttp makes its SSL context, at the first request
    import aiohttp  # a dependency of slixmpp's xep_0363 plugin
    from slixmpp.plugins.xep_0363.http_upload import FileTooBig

    patch_disco_wait()

    xmpp = make_client(args["jid"] + "/upload", args["password"], "PLAIN")
    xmpp.register_plugin("xep_0030")
    xmpp.register_plugin("xep_0128")
    xmpp.register_plugin("xep_0363")
    try:
        logged_in = await login(xmpp, args["host"], int(args["port"]))
        if not logged_in["ok"]:
            return {"ok": False, "error": "login failed", "login": logged_in}
        size = int(args["size"])
        data = os.urandom(size)
        plugin = xmpp["xep_0363"]
        result = {"sha256": hashlib.sha256(data).hexdigest()}
        try:
            url = await plugin.upload_file(
                args["filename"],
                size=size,
                content_type=args.get("content_type"),
                input_file=io.BytesIO(data),
                timeout=10,
            )
        except FileTooBig as exc:
            result.update({"ok": bool(args.get("too_big")), "too_big": True, "max_file_size": exc.args[1],
                           "service": str(plugin.upload_service)})
            return result
        result.update({"service": str(plugin.upload_service), "url": url, "max_file_size": plugin.max_file_size})
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                body = await response.read()
                result["status"] = response.status
                result["content_type"] = response.headers.get("Content-Type")
        result["downloaded_sha256"] = hashlib.sha256(body).hexdigest()
        result["ok"] = result["status"] == 200 and result["downloaded_sha256"] == result["sha256"] and not args.get("too_big")
        return result
    finally:
        await close(xmpp)


if __name__ == "__main__":
    run(main, 30)
