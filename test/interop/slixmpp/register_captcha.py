#!/usr/bin/python3
"""XEP-0077 with a XEP-0158 CAPTCHA, with slixmpp's own plugins (xep_0077, xep_0004): reads the data form in the
registration form, answers the question from the answers it was given, submits the form, logs in.

argv[1]: {"host", "port", "jid", "password", "answers": {question: answer}}
stdout: {"ok", "form_type", "question", "fields", "registered", "register_error"?, "login"}
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402
from slixmpp.exceptions import IqError  # noqa: E402


async def main(args):
    xmpp = make_client(args["jid"], args["password"])
    xmpp.register_plugin("xep_0004")
    xmpp.register_plugin("xep_0077")
    result = {"ok": False, "registered": False}

    def first(value):
        # slixmpp gives a hidden field's value as a list.
        return value[0] if isinstance(value, list) and value else value

    async def on_register(iq):
        form = iq["register"]["form"]
        fields = form.get_fields()
        result["fields"] = sorted(fields.keys())
        result["form_type"] = first(fields["FORM_TYPE"]["value"]) if "FORM_TYPE" in fields else None
        question = fields["qa"]["label"] if "qa" in fields else None
        result["question"] = question
        reply = xmpp.Iq()
        reply["type"] = "set"
        submit = reply["register"]["form"]
        submit["type"] = "submit"
        submit.add_field(var="FORM_TYPE", value="urn:xmpp:captcha", ftype="hidden")
        submit.add_field(var="challenge", value=first(fields["challenge"]["value"]))
        submit.add_field(var="username", value=xmpp.boundjid.user)
        submit.add_field(var="password", value=xmpp.password)
        submit.add_field(var="qa", value=args["answers"].get(question, ""))
        try:
            await reply.send(timeout=5)
            result["registered"] = True
        except IqError as exc:
            result["register_error"] = exc.iq["error"]["condition"]
            xmpp.disconnect()
        finally:
            xmpp._always_send_everything = False

    xmpp.add_event_handler("register", on_register)
    # As in register.py: slixmpp 1.8 would hold the registration iqs until the session starts.
    xmpp._always_send_everything = True
    result["login"] = await login(xmpp, args["host"], int(args["port"]), presence=False)
    result["ok"] = result["registered"] and result["login"]["ok"]
    await close(xmpp)
    return result


if __name__ == "__main__":
    run(main, 30)
