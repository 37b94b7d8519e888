"""Shared helpers for Natter's slixmpp interop scripts (run with Debian's /usr/bin/python3).

Every script reads one JSON object from argv[1] (or the NATTER_SLIX_ARGS environment variable),
prints exactly one JSON object on stdout as its last line, and is killed by a hard SIGALRM
timeout so that it never hangs a test run. A script the test must act in the middle of prints
progress lines before it (progress()) and reads the test's replies from stdin (read_line());
test/helpers/slixmpp.ts is the other end.
"""

import asyncio
import hashlib
import json
import logging
import os
import signal
import ssl
import sys
from typing import Any, Callable, Dict, List, Optional

import slixmpp


def emit(result: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def progress(event: str, **fields: Any) -> None:
    """Tells the test where the script is ({"event": ...} on its own stdout line, before the result)."""
    emit({"event": event, **fields})


async def read_line(timeout: float = 10.0) -> str:
    """The next line the test writes to the script's stdin ("" at end of input)."""
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), timeout)
    return line.strip()


async def until(pred: Callable[[], Any], timeout: float = 5.0) -> bool:
    """Polls pred() until it holds or `timeout` seconds have passed; returns its last value as a bool."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():
            return True
        await asyncio.sleep(0.05)
    return bool(pred())


def read_args() -> Dict[str, Any]:
    raw = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NATTER_SLIX_ARGS", "{}")
    args = json.loads(raw)
    if args.get("debug") or os.environ.get("NATTER_SLIX_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    else:
        logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)
    return args


def hard_timeout(seconds: float) -> None:
    """Whatever happens (a stuck loop, a lost future), the process ends after `seconds`."""

    def on_alarm(_signum: int, _frame: Any) -> None:
        emit({"ok": False, "error": "hard timeout after %ss" % seconds})
        os._exit(3)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def make_client(jid: str, password: str, mech: Optional[str] = None) -> slixmpp.ClientXMPP:
    xmpp = slixmpp.ClientXMPP(jid, password, sasl_mech=mech)
    # The test server's certificate is self-signed.
    xmpp.ssl_context.check_hostname = False
    xmpp.ssl_context.verify_mode = ssl.CERT_NONE
    xmpp.register_plugin("xep_0199")
    return xmpp


def make_pair(args: Dict[str, Any], *plugins: str) -> "tuple[slixmpp.ClientXMPP, slixmpp.ClientXMPP]":
    """The two accounts of args["a"] and args["b"] as resources slix-a and slix-b (PLAIN), with these plugins."""
    pair = (make_client(args["a"]["jid"] + "/slix-a", args["a"]["password"], "PLAIN"),
            make_client(args["b"]["jid"] + "/slix-b", args["b"]["password"], "PLAIN"))
    for xmpp in pair:
        for plugin in plugins:
            xmpp.register_plugin(plugin)
    return pair


# RFC 5929 §4.1: tls-server-end-point hashes the certificate with its signature's hash, SHA-256 for MD5/SHA-1.
_SIGNATURE_HASHES = {
    "1.2.840.113549.1.1.12": "sha384",  # sha384WithRSAEncryption
    "1.2.840.113549.1.1.13": "sha512",  # sha512WithRSAEncryption
    "1.2.840.10045.4.3.3": "sha384",  # ecdsa-with-SHA384
    "1.2.840.10045.4.3.4": "sha512",  # ecdsa-with-SHA512
}


def tls_server_end_point(der: bytes) -> bytes:
    from pyasn1.codec.der import decoder  # python3-pyasn1(-modules) are hard dependencies of python3-slixmpp
    from pyasn1_modules import rfc2459

    cert, _rest = decoder.decode(der, asn1Spec=rfc2459.Certificate())
    oid = str(cert["signatureAlgorithm"]["algorithm"])
    return hashlib.new(_SIGNATURE_HASHES.get(oid, "sha256"), der).digest()


def set_channel_binding(xmpp: slixmpp.ClientXMPP, mode: str) -> None:
    """How SCRAM treats channel binding.

    "stock": slixmpp 1.8's own behaviour: it reads tls-unique from the socket, sends gs2 flag 'p=tls-unique'
             for -PLUS and 'y' for plain SCRAM whenever TLS is up (even when the server offers -PLUS).
    "none": withhold channel-binding data, so plain SCRAM sends gs2 flag 'n'.
    "tls-server-end-point": patch slixmpp's SCRAM to bind to RFC 5929 tls-server-end-point instead of tls-unique.
    "tls-server-end-point-wrong": the same with one bit of the hash flipped (a man in the middle's view).
    """
    if mode == "stock":
        return
    if mode not in ("none", "tls-server-end-point", "tls-server-end-point-wrong"):
        raise ValueError("unknown channel_binding mode %r" % mode)
    plugin = xmpp["feature_mechanisms"]
    stock_callback = plugin.sasl_callback

    def credentials(required: Any, optional: Any) -> Dict[str, Any]:
        creds = stock_callback(required, optional)
        if "channel_binding" in creds:
            sock = xmpp.socket
            if mode.startswith("tls-server-end-point") and isinstance(sock, (ssl.SSLObject, ssl.SSLSocket)):
                data = tls_server_end_point(sock.getpeercert(True))
                if mode.endswith("-wrong"):
                    data = bytes([data[0] ^ 1]) + data[1:]
                creds["channel_binding"] = data
            else:
                creds["channel_binding"] = None
        return creds

    plugin.sasl_callback = credentials
    if mode.startswith("tls-server-end-point"):
        from slixmpp.util.sasl import mechanisms

        stock_process_1 = mechanisms.SCRAM.process_1

        def process_1(self: Any, challenge: bytes) -> bytes:
            out = stock_process_1(self, challenge)
            if self.use_channel_binding:
                self.gs2_header = self.gs2_header.replace(b"p=tls-unique,", b"p=tls-server-end-point,", 1)
                self.client_first_message = self.gs2_header + self.client_first_message_bare
                return self.client_first_message
            return out

        mechanisms.SCRAM.process_1 = process_1


def tls_info(xmpp: slixmpp.ClientXMPP) -> Dict[str, Any]:
    sock = xmpp.socket
    if isinstance(sock, (ssl.SSLObject, ssl.SSLSocket)):
        return {"tls": True, "tls_version": sock.version(), "cipher": (sock.cipher() or [None])[0]}
    return {"tls": False}


async def login(xmpp: slixmpp.ClientXMPP, host: str, port: int, direct_tls: bool = False,
                timeout: float = 10.0, presence: bool = True, priority: Optional[int] = None) -> Dict[str, Any]:
    """Connects, authenticates and binds. Returns a result dict; ok is True once the session started."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    failures = []

    def finish(outcome: str) -> None:
        if not done.done():
            done.set_result(outcome)

    def on_session_start(_event: Any) -> None:
        if presence:
            if priority is None:
                xmpp.send_presence()
            else:
                xmpp.send_presence(ppriority=priority)
        finish("session_start")

    def on_failed_auth(stanza: Any) -> None:
        try:
            failures.append(stanza["condition"])
        except Exception:  # noqa: BLE001
            failures.append("unknown")

    xmpp.add_event_handler("session_start", on_session_start)
    xmpp.add_event_handler("failed_auth", on_failed_auth)
    xmpp.add_event_handler("failed_all_auth", lambda _e: finish("failed_all_auth"))
    xmpp.add_event_handler("no_auth", lambda _e: finish("no_auth"))
    xmpp.add_event_handler("connection_failed", lambda _e: finish("connection_failed"))
    xmpp.add_event_handler("ssl_invalid_chain", lambda _e: finish("ssl_invalid_chain"))
    xmpp.add_event_handler("disconnected", lambda _e: finish("disconnected"))

    xmpp.connect((host, port), use_ssl=direct_tls, force_starttls=not direct_tls)
    try:
        outcome = await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        outcome = "timeout"
    mech = xmpp["feature_mechanisms"].mech
    result: Dict[str, Any] = {
        "ok": outcome == "session_start",
        "outcome": outcome,
        "jid": str(xmpp.boundjid) if outcome == "session_start" else None,
        "mechanism": mech.name if mech is not None else None,
        "gs2_header": getattr(mech, "gs2_header", b"").decode("ascii", "replace") if mech is not None else None,
        "authenticated": bool(xmpp.authenticated),
        "auth_failures": failures,
        "features": sorted(xmpp.features),
    }
    result.update(tls_info(xmpp))
    return result


async def login_all(host: str, port: int, *clients: slixmpp.ClientXMPP, **kwargs: Any) -> Optional[Dict[str, Any]]:
    """Logs every client in at once; None when all did, else the failure result a script returns as is."""
    logins: List[Dict[str, Any]] = await asyncio.gather(*[login(c, host, port, **kwargs) for c in clients])
    if all(r["ok"] for r in logins):
        return None
    return {"ok": False, "error": "login failed", "logins": logins}


def subscription(xmpp: slixmpp.ClientXMPP, jid: str) -> Optional[str]:
    roster = xmpp.client_roster
    return roster[jid]["subscription"] if jid in roster else None


async def subscribe_both(a: slixmpp.ClientXMPP, b: slixmpp.ClientXMPP, timeout: float = 8.0) -> bool:
    """RFC 6121 §3.1 the slixmpp way: both fetch their roster and go online, approve and ask back by themselves
    (auto_authorize / auto_subscribe), A asks B; True once both rosters say "both". For clients logged in with
    presence=False."""
    for c in (a, b):
        c.auto_authorize = True
        c.auto_subscribe = True
    for c in (a, b):
        await c.get_roster(timeout=5)
        c.send_presence()
    a_bare, b_bare = a.boundjid.bare, b.boundjid.bare
    a.send_presence_subscription(pto=b_bare, ptype="subscribe")
    return await until(lambda: subscription(a, b_bare) == "both" and subscription(b, a_bare) == "both", timeout)


async def collect(result: Dict[str, Any], futures: Dict[str, "asyncio.Future[Any]"], timeout: float, error: str) -> Dict[str, Any]:
    """Waits for each future in turn into result[key]; ok is False with `error` once one times out."""
    try:
        for key, future in futures.items():
            result[key] = await asyncio.wait_for(future, timeout)
        result["ok"] = True
    except asyncio.TimeoutError:
        result["ok"] = False
        result["error"] = error
    return result


async def close(*clients: slixmpp.ClientXMPP) -> None:
    waits = []
    for xmpp in clients:
        if xmpp.transport is not None:
            waits.append(xmpp.disconnect(wait=1.0))
    if waits:
        try:
            await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), 3)
        except asyncio.TimeoutError:
            for xmpp in clients:
                xmpp.abort()


def run(main: Any, seconds: float) -> None:
    """Runs main(args) under a hard timeout and prints its result (or the error) as JSON."""
    args = read_args()
    hard_timeout(seconds)
    try:
        result = asyncio.run(main(args))
    except Exception as exc:  # noqa: BLE001
        result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
    emit(result)
    sys.stdout.flush()
    os._exit(0)
