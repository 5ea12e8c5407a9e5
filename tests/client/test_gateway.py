#!/usr/bin/env python3
"""wintalk against the real gateway: it joins the hub, sees the conversation
in its top pane (pipe mode and the terminal window), and a line typed there
reaches a WebSocket client. Also the one-liner of the README:
`printf 'hello\\n' | wintalk --connect HOST:PORT` posts a line to the hub.

Needs the gateway program (build-dir/gateway/wintalk-gateway) and tmux;
fails, saying so, when either is missing. The gateway listens on 127.0.0.1
only.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from wclib import Check, Proc, Tmux, args, is_message, require, ws_wait  # noqa: E402

from wtlib import Gateway, WsClient  # noqa: E402


def pipe_mode(t, wt, tcp, ws):
    # The conversation so far, then wintalk joins and must see it.
    ws.send_json({"type": "say", "text": "hola desde la web"})
    t(ws_wait(ws, is_message("hola desde la web")) is not None, "browser's message accepted")
    p = Proc([wt, "--connect", f"127.0.0.1:{tcp}", "--nick", "tecla"])
    try:
        t(p.wait_out("webby: hola desde la web\n"), "wintalk sees the conversation",
          repr(p.out[-300:]))
        p.send("¿Qué tal? 😀\n")
        e = ws_wait(ws, is_message("¿Qué tal? 😀"))
        t(e is not None and e.get("nick") == "tecla" and e.get("via") == "tcp",
          "a line from wintalk reaches the WebSocket client, from its --nick", repr(e))
        ws.send_json({"type": "say", "text": "segunda ñ"})
        t(p.wait_out("webby: segunda ñ\n"), "new lines arrive live")
        # Enough lines to make the hub trim its transcript and re-send it
        # with R more than once: each line must still print exactly once.
        # (In bursts of 20: a participant that falls behind by more than the
        # transcript holds is, by the hub's design, re-synced with an R of
        # the recent transcript only, and would miss lines.)
        pad = "." * 90
        arrived = True
        for i in range(400):
            ws.send_json({"type": "say", "text": f"msg {i:03d} {pad}"})
            if i % 20 == 19:
                arrived = arrived and p.wait_out(f"msg {i:03d} {pad}\n", timeout=10)
        t(arrived, "400 lines arrive")
        lines = p.out.decode("utf-8", "replace").split("\n")
        counts = [sum(1 for l in lines if l.startswith(f"webby: msg {i:03d} ")) for i in range(400)]
        t(all(c == 1 for c in counts), "each printed once across transcript trims",
          f"missing={[i for i, c in enumerate(counts) if c == 0][:10]} "
          f"repeated={[i for i, c in enumerate(counts) if c > 1][:10]}")
        p.close_stdin()
        rc = p.wait_exit(10)
        t(rc == 0, "wintalk exits 0 at the end of its input", f"rc={rc} {p.err!r}")
    finally:
        p.kill()

    # The README's one-liner.
    one = subprocess.run(f"printf 'hello\\n' | {wt} --connect 127.0.0.1:{tcp}", shell=True,
                         capture_output=True, timeout=20,
                         env=dict(os.environ, LC_ALL="C.UTF-8"))
    e = ws_wait(ws, is_message("hello"))
    t(one.returncode == 0 and e is not None,
      "printf 'hello\\n' | wintalk --connect posts a line", f"rc={one.returncode} e={e}")


def window(t, wt, tcp, ws):
    tmux = Tmux(f"wintalk-gw-test-{os.getpid()}")
    wait_screen = tmux.wait_screen

    try:
        tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24", "sh", "-c",
             f"{wt} --connect 127.0.0.1:{tcp} --nick ventana; echo EXITED:$?; sleep 60")
        t(wait_screen("webby: msg 399"), "the window's top pane shows the conversation")
        t(wait_screen("is now ventana"), "and the hub's events (its own /nick)")
        ws.send_json({"type": "say", "text": "¿me ves, ventana? 😀"})
        t(wait_screen("webby: ¿me ves, ventana? 😀"), "and what is said after it joined")
        tmux("send-keys", "-t", "w", "-l", "escrito en la ventana")
        tmux("send-keys", "-t", "w", "Enter")
        e = ws_wait(ws, is_message("escrito en la ventana", "ventana"))
        t(e is not None, "a line typed in the window reaches the WebSocket client", repr(e))
        t(wait_screen("ventana: escrito en la ventana"), "and comes back in the transcript")
        tmux("send-keys", "-t", "w", "C-c")
        t(wait_screen("EXITED:0"), "Ctrl-C leaves the hub, status 0")
    finally:
        tmux("kill-server")


def main():
    a = args()
    gw = os.path.join(a.build_dir, "gateway", "wintalk-gateway")
    require(os.access(gw, os.X_OK), f"{gw} is missing")
    require(shutil.which("tmux"), "tmux is not installed")
    t = Check("client.gateway")
    g = None
    ws = None
    try:
        try:
            g = Gateway(binary=gw, web_root=os.path.join(ROOT, "web"))
        except (TimeoutError, OSError) as e:
            t(False, "gateway up", str(e)[-500:])
            t.finish()
        t(True, "gateway up")
        ws = WsClient(g.http_port)
        welcome = ws.hello("webby")
        t(welcome.get("type") == "welcome", "browser welcomed", repr(welcome))
        pipe_mode(t, a.wintalk, g.tcp_port, ws)
        window(t, a.wintalk, g.tcp_port, ws)
    finally:
        if ws is not None:
            ws.close()
        if g is not None:
            g.stop()
    t.finish()


if __name__ == "__main__":
    main()
