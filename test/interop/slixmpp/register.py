#!/usr/bin/python3
"""XEP-0077 with slixmpp's own plugin: registers before authentication when the server offers the stream
feature, logs in with the new account, optionally changes the password and cancels the account.

argv[1]: {"host", "port", "jid", "password", "register"?: bool, "new_password"?: str, "cancel"?: bool}
stdout: {"ok", "registered", "form_fields", "login", "password_changed", "cancelled", "disconnected", "error"?}
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402
from slixmpp.exceptions import IqError  # noqa: E402


async def main(args):
    xmpp = make_client(args["jid"], args["password"])
    xmpp.register_plugin("xep_0077")
    result = {"ok": False, "registered": False, "form_fields": [], "password_changed": False, "cancelled": False}

    async def on_register(form):
        result["form_fields"] = sorted(form["register"]["fields"])
        iq = xmpp.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = xmpp.boundjid.user
        iq["register"]["password"] = xmpp.password
        try:
            await iq.send(timeout=5)
            result["registered"] = True
        except IqError as exc:
            result["register_error"] = exc.iq["error"]["condition"]
            xmpp.disconnect()
        finally:
            xmpp._always_send_everything = False

    if args.get("register", True):
        xmpp.add_event_handler("register", on_register)
        # slixmpp 1.8 queues every iq but bind/session until the session starts (XMLStream.send), its own
        # XEP-0077 plugin's included; the registration iqs must go out before authentication.
        xmpp._always_send_everything = True
    disconnected = asyncio.get_running_loop().create_future()
    xmpp.add_event_handler("disconnected", lambda _e: disconnected.done() or disconnected.set_result(True))

    result["login"] = await login(xmpp, args["host"], int(args["port"]), presence=False)
    if not result["login"]["ok"]:
        await close(xmpp)
        return result
    try:
        if args.get("new_password"):
            await xmpp["xep_0077"].change_password(args["new_password"], timeout=5)
            result["password_changed"] = True
        if args.get("cancel"):
            await xmpp["xep_0077"].cancel_registration(timeout=5)
            result["cancelled"] = True
            # XEP-0077 §3.2: the server then ends the stream with <not-authorized/>.
            result["disconnected"] = await asyncio.wait_for(disconnected, 5)
    except IqError as exc:
        result["error"] = "iq error: %s" % exc.iq["error"]["condition"]
    result["ok"] = "error" not in result
    await close(xmpp)
    return result


if __name__ == "__main__":
    run(main, 30)
