#!/usr/bin/python3
"""XEP-0055 with slixmpp's own plugins: publish a vCard with xep_0054, find the search service among the
domain's disco#items by its jabber:iq:search feature (xep_0030), get its form, then search with xep_0055's
make_search_iq (a submitted data form) by nickname and by email, and once with a one-character value.

argv[1]: {"host", "port", "jid", "password", "given", "family", "nick", "email", "search_nick", "search_email"}
stdout: {"ok", "service", "form_fields", "by_nick", "by_email", "short_error", "error"?}
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_slix import close, login, make_client, run  # noqa: E402

NS_SEARCH = "jabber:iq:search"


async def main(args):
    from slixmpp.exceptions import IqError

    xmpp = make_client(args["jid"] + "/search", args["password"], "PLAIN")
    for plugin in ("xep_0030", "xep_0004", "xep_0054"):
        xmpp.register_plugin(plugin)
    # provide_search False: this client searches, it does not answer searches itself.
    xmpp.register_plugin("xep_0055", {"provide_search": False})
    try:
        logged_in = await login(xmpp, args["host"], int(args["port"]))
        if not logged_in["ok"]:
            return {"ok": False, "error": "login failed", "login": logged_in}
        vcard = xmpp["xep_0054"].make_vcard()
        vcard["FN"] = args["given"] + " " + args["family"]
        vcard["N"]["GIVEN"] = args["given"]
        vcard["N"]["FAMILY"] = args["family"]
        vcard["NICKNAME"] = args["nick"]
        vcard["EMAIL"]["INTERNET"] = True
        vcard["EMAIL"]["USERID"] = args["email"]
        await xmpp["xep_0054"].publish_vcard(vcard, timeout=10)

        domain = xmpp.boundjid.domain
        items = await xmpp["xep_0030"].get_items(jid=domain, timeout=10)
        service = None
        for jid, _node, _name in items["disco_items"]["items"]:
            info = await xmpp["xep_0030"].get_info(jid=jid, timeout=10)
            if NS_SEARCH in info["disco_info"]["features"]:
                service = jid
                break
        if service is None:
            return {"ok": False, "error": "no search service in disco#items of " + domain}

        form_iq = xmpp.make_iq_get(ito=service)
        form_iq.enable("search")
        form_reply = await form_iq.send(timeout=10)
        form_fields = list(form_reply["search"]["form"].get_fields().keys())

        async def search(field, value):
            iq = xmpp["xep_0055"].make_search_iq(ito=service)
            iq["search"]["form"].add_field(var=field, value=value)
            reply = await iq.send(timeout=10)
            return [{k: str(v) for k, v in item.items()} for item in reply["search"]["form"].get_items()]

        by_nick = await search("nick", args["search_nick"])
        by_email = await search("email", args["search_email"])
        short_error = None
        try:
            await search("nick", args["search_nick"][:1])
        except IqError as exc:
            short_error = exc.iq["error"]["condition"]
        return {"ok": True, "service": str(service), "form_fields": form_fields, "by_nick": by_nick,
                "by_email": by_email, "short_error": short_error}
    finally:
        await close(xmpp)


if __name__ == "__main__":
    run(main, 30)
