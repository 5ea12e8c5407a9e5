#!/usr/bin/env python3
"""wintalk --tls against the real gateway's WINTALK-over-TLS port, with a
CA and a certificate for localhost and 127.0.0.1 made here by the openssl
command: `wintalk --tls --ca` joins the hub, sees its events and what a
browser on wss:// says, and a line typed in it reaches that browser; a
second wintalk joining the busy hub gets the transcript; without --ca the
same certificate is refused with exit status 8.

Skipped when the gateway is not built, has no --tls-tcp-port, or when the
openssl command or wtlib's wss:// client is missing. Everything listens on
127.0.0.1.
"""

import os
import shutil
import ssl
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from wclib import Check, Proc, args, is_message, make_pki, require, ws_wait  # noqa: E402

from wtlib import Gateway, WsClient  # noqa: E402


def over_tls(t, wt, gw):
    """wintalk --tls against the gateway's WINTALK-over-TLS port."""
    with tempfile.TemporaryDirectory(prefix="wintalk-gw-tls-") as d:
        pki = make_pki(d)
        ctx = ssl.create_default_context(cafile=pki["ca"])
        g = ws = None
        try:
            try:
                g = Gateway(binary=gw, web_root=os.path.join(ROOT, "web"),
                            args=("--tls-cert", pki["server_cert"], "--tls-key",
                                  pki["server_key"], "--tls-tcp-port", "0"))
            except (TimeoutError, OSError) as e:
                t(False, "TLS: gateway up", str(e)[-500:])
                return
            if not t(g.tls_port is not None, "TLS: the gateway says its TLS port"):
                return
            # wintalk joins first, then a browser over wss://.
            p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"localhost:{g.tls_port}",
                      "--nick", "cifrado"])
            try:
                t(p.wait_out("certificate verified", err=True),
                  "wintalk --tls --ca joins the gateway, certificate verified", repr(p.err))
                if not t(p.wait_out("is now cifrado\n"), "TLS: wintalk sees the hub's events",
                         repr(p.out[-300:]) + repr(p.err[-300:]) + "\ngateway log:\n" +
                         g.log_text()[-1000:]):
                    return
                ws = WsClient(g.http_port, ssl_context=ctx)
                t(ws.hello("webby").get("type") == "welcome", "TLS: browser welcomed over wss://")
                ws.send_json({"type": "say", "text": "hola por TLS"})
                t(p.wait_out("webby: hola por TLS\n"), "TLS: wintalk sees the browser's line",
                  repr(p.out[-300:]))
                p.send("¿Qué tal? 😀\n")
                e = ws_wait(ws, is_message("¿Qué tal? 😀"))
                t(e is not None and e.get("nick") == "cifrado",
                  "TLS: a line from wintalk reaches the WebSocket client", repr(e))
                # A second wintalk joins the hub where people are talking.
                q = Proc([wt, "--tls", "--ca", pki["ca"], "--connect",
                          f"localhost:{g.tls_port}"])
                try:
                    t(q.wait_out("cifrado: ¿Qué tal? 😀\n"),
                      "TLS: a wintalk joining a busy hub gets the transcript",
                      repr(q.out[-300:]) + repr(q.err[-300:]))
                finally:
                    q.kill()
                p.close_stdin()
                rc = p.wait_exit(10)
                t(rc == 0, "TLS: wintalk exits 0 at the end of its input", f"rc={rc} {p.err!r}")
            finally:
                p.kill()
            # The same certificate, not trusted without --ca: refused.
            p = Proc([wt, "--tls", "--connect", f"localhost:{g.tls_port}"])
            try:
                rc = p.wait_exit(10)
                t(rc == 8 and b"cannot be verified" in p.err,
                  "TLS: without --ca the gateway's certificate is refused, exit 8",
                  f"rc={rc} {p.err!r}")
            finally:
                p.kill()
        finally:
            if ws is not None:
                ws.close()
            if g is not None:
                g.stop()


def main():
    a = args()
    gw = os.path.join(a.build_dir, "gateway", "wintalk-gateway")
    require(os.access(gw, os.X_OK), f"{gw} is missing")
    require(shutil.which("openssl"), "the openssl command is missing")
    t = Check("client.gateway_tls")
    over_tls(t, a.wintalk, gw)
    t.finish()


if __name__ == "__main__":
    main()
