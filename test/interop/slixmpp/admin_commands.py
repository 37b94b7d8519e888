#!/usr/bin/python3
"""XEP-0133 service administration through slixmpp's XEP-0050 and XEP-0133 plugins, run as an admin: add a
user and log in as them, change their password, count and list online users, announce (a second client
receives it), end the user's session (their stream ends), delete the user; a non-admin gets forbidden.

argv[1]: {"host", "port", "domain", "admin": {"jid", "password"}, "watcher": {"jid", "password"},
          "outsider": {"jid", "password"}, "user": {"jid", "password", "new_password"}}
stdout: {"ok", "steps": {...}} with what each step saw
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from slixmpp.exceptions import IqError  # noqa: E402

from natter_slix import close, login, login_all, make_client, run  # noqa: E402

NS_ADMIN = "http://jabber.org/protocol/admin"
PLUGINS = ("xep_0004", "xep_0030", "xep_0050", "xep_0133")


def client(account, resource):
    xmpp = make_client(account["jid"] + "/" + resource, account["password"], "PLAIN")
    for plugin in PLUGINS:
        xmpp.register_plugin(plugin)
    return xmpp


def submit(xmpp, fields):
    """A submitted XEP-0133 form: FORM_TYPE and the given fields (a list value makes a multi field)."""
    form = xmpp["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden", value=NS_ADMIN)
    for var, value in fields.items():
        form.add_field(var=var, value=value)
    return form


def notes(iq):
    return [[kind, text] for kind, text in iq["command"]["notes"]]


def values(iq):
    form = iq["command"]["form"]
    return {var: field.get_value(convert=False) for var, field in form.get_fields().items()}


async def run_command(xmpp, domain, name, fields=None):
    """execute, then (if it asks for a form) complete with `fields`: the last reply's status, notes, values."""
    node = NS_ADMIN + "#" + name
    first = await xmpp["xep_0050"].send_command(domain, node, action="execute", timeout=10)
    out = {"first_status": first["command"]["status"], "sessionid": first["command"]["sessionid"]}
    reply = first
    if first["command"]["status"] == "executing":
        out["actions"] = sorted(first["command"]["actions"])
        reply = await xmpp["xep_0050"].send_command(
            domain, node, action="complete", payload=submit(xmpp, fields or {}), sessionid=first["command"]["sessionid"], timeout=10)
    out.update({"status": reply["command"]["status"], "same_session": reply["command"]["sessionid"] == out["sessionid"],
                "notes": notes(reply), "values": values(reply) if reply["command"]["form"]["type"] else {}})
    return out


async def add_user_with_plugin_workflow(admin, domain, jid, password):
    """add-user the way slixmpp's own workflow runs a command: xep_0133.add_user with next/error handlers."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def on_next(iq, session):
        cmd = iq["command"]
        if cmd["status"] == "executing":
            session["form_fields"] = sorted(cmd["form"].get_fields().keys())
            session["payload"] = submit(admin, {"accountjid": jid, "password": password, "password-verify": password})
            session["next"] = on_next
            admin["xep_0050"].complete_command(session)
        elif not done.done():
            done.set_result({"status": cmd["status"], "notes": notes(iq), "form_fields": session.get("form_fields")})

    def on_error(iq, _session):
        if not done.done():
            done.set_result({"status": "error", "condition": iq["error"]["condition"]})

    admin["xep_0133"].add_user(jid=domain, session={"next": on_next, "error": on_error})
    return await asyncio.wait_for(done, 10)


async def main(args):
    host, port, domain = args["host"], int(args["port"]), args["domain"]
    admin = client(args["admin"], "admin")
    watcher = client(args["watcher"], "watcher")
    outsider = client(args["outsider"], "outsider")
    user = args["user"]
    steps = {}
    extra = []
    try:
        failed = await login_all(host, port, admin, watcher, outsider)
        if failed:
            return failed

        items = await admin["xep_0133"].get_commands(timeout=10)
        steps["admin_commands"] = sorted(node for (_jid, node, _name) in items["disco_items"]["items"])
        items = await outsider["xep_0050"].get_commands(domain, timeout=10)
        steps["outsider_commands"] = sorted(node for (_jid, node, _name) in items["disco_items"]["items"])
        try:
            await outsider["xep_0050"].send_command(domain, NS_ADMIN + "#add-user", action="execute", timeout=10)
            steps["outsider_add_user"] = "allowed"
        except IqError as err:
            steps["outsider_add_user"] = err.iq["error"]["condition"]

        steps["registered_before"] = (await run_command(admin, domain, "get-registered-users-num"))["values"]
        steps["add_user"] = await add_user_with_plugin_workflow(admin, domain, user["jid"], user["password"])

        # The new account logs in with the password the admin gave it.
        newcomer = make_client(user["jid"] + "/first", user["password"], "PLAIN")
        extra.append(newcomer)
        steps["login_new_user"] = (await login(newcomer, host, port))["ok"]

        steps["change_password"] = await run_command(admin, domain, "change-user-password", {"accountjid": user["jid"], "password": user["new_password"]})
        second = make_client(user["jid"] + "/second", user["new_password"], "PLAIN")
        extra.append(second)
        steps["login_new_password"] = (await login(second, host, port))["ok"]
        stale = make_client(user["jid"] + "/stale", user["password"], "PLAIN")
        extra.append(stale)
        steps["login_old_password"] = (await login(stale, host, port))["outcome"]

        steps["online_num"] = await run_command(admin, domain, "get-online-users-num")
        steps["online_list"] = await run_command(admin, domain, "get-online-users-list", {"max_items": "100"})

        loop = asyncio.get_running_loop()
        heard = loop.create_future()

        def on_message(msg):
            if msg["from"].bare == domain and not heard.done():
                heard.set_result({"from": str(msg["from"]), "type": msg["type"], "subject": msg["subject"], "body": msg["body"]})

        watcher.add_event_handler("message", on_message)
        steps["announce"] = await run_command(admin, domain, "announce", {"subject": "Maintenance", "announcement": ["Down at 22:00", "Back soon"]})
        steps["watcher_heard"] = await asyncio.wait_for(heard, 5)

        # end-user-session: both of the user's sessions see their stream end.
        ended = loop.create_future()
        second.add_event_handler("disconnected", lambda _e: ended.done() or ended.set_result(True))
        stream_errors = []
        second.add_event_handler("stream_error", lambda e: stream_errors.append(e["condition"]))
        steps["end_session"] = await run_command(admin, domain, "end-user-session", {"accountjids": [user["jid"]]})
        steps["session_ended"] = await asyncio.wait_for(ended, 5)
        steps["stream_error"] = stream_errors

        steps["delete_user"] = await run_command(admin, domain, "delete-user", {"accountjids": [user["jid"]]})
        gone = make_client(user["jid"] + "/gone", user["new_password"], "PLAIN")
        extra.append(gone)
        steps["login_deleted"] = (await login(gone, host, port))["outcome"]
        steps["registered_after"] = (await run_command(admin, domain, "get-registered-users-num"))["values"]
        return {"ok": True, "steps": steps}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc), "steps": steps}
    finally:
        await close(admin, watcher, outsider, *extra)


if __name__ == "__main__":
    run(main, 60)
