#!/usr/bin/env python3
"""wintalk against the real gateway: it joins the hub, sees the conversation
in its top pane (pipe mode and the terminal window), and a line typed there
reaches a WebSocket client. Also the one-liner of the README:
`printf 'hello\\n' | wintalk --connect HOST:PORT` posts a line to the hub.

Needs the gateway program (build-dir/gateway/wintalk-gateway); skipped when
it is not built. The gateway listens on 127.0.0.1 only.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from wclib import SKIP, Check, Proc, args, free_port  # noqa: E402


class WebSocket:
    """Just enough of a WebSocket client (RFC 6455) for a JSON chat."""

    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wintalk.v1\r\n"
               f"Origin: http://127.0.0.1:{port}\r\n\r\n")
        self.s.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("closed during the WebSocket handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError(f"WebSocket upgrade refused: {head[:200]!r}")
        self.events = []

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.s.sendall(hdr + mask + body)

    def _need(self, n, end):
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            chunk = self.s.recv(65536)
            if not chunk:
                raise OSError("WebSocket closed")
            self.buf += chunk

    def _frame(self, end):
        self._need(2, end)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4, end)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, end)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, end)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, payload

    def wait(self, pred, timeout=5.0):
        """The first event (old or new) for which pred holds, or None."""
        end = time.monotonic() + timeout
        while True:
            for e in self.events:
                if pred(e):
                    self.events.remove(e)
                    return e
            if time.monotonic() >= end:
                return None
            try:
                op, payload = self._frame(end)
            except (socket.timeout, OSError):
                return None
            if op == 1:
                obj = json.loads(payload)
                self.events.extend(obj if isinstance(obj, list) else [obj])
            elif op == 8:
                return None

    def close(self):
        self.s.close()


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def is_message(text, nick=None):
    return lambda e: (e.get("type") == "message" and e.get("text") == text
                      and (nick is None or e.get("nick") == nick))


def pipe_mode(t, wt, tcp, ws):
    # The conversation so far, then wintalk joins and must see it.
    ws.send({"type": "say", "text": "hola desde la web"})
    t(ws.wait(is_message("hola desde la web")) is not None, "browser's message accepted")
    p = Proc([wt, "--connect", f"127.0.0.1:{tcp}", "--nick", "tecla"])
    try:
        t(p.wait_out("webby: hola desde la web\n"), "wintalk sees the conversation",
          repr(p.out[-300:]))
        p.send("¿Qué tal? 😀\n")
        e = ws.wait(is_message("¿Qué tal? 😀"))
        t(e is not None and e.get("nick") == "tecla" and e.get("via") == "tcp",
          "a line from wintalk reaches the WebSocket client, from its --nick", repr(e))
        ws.send({"type": "say", "text": "segunda ñ"})
        t(p.wait_out("webby: segunda ñ\n"), "new lines arrive live")
        p.close_stdin()
        rc = p.wait_exit(10)
        t(rc == 0, "wintalk exits 0 at the end of its input", f"rc={rc} {p.err!r}")
    finally:
        p.kill()

    # The README's one-liner.
    one = subprocess.run(f"printf 'hello\\n' | {wt} --connect 127.0.0.1:{tcp}", shell=True,
                         capture_output=True, timeout=20,
                         env=dict(os.environ, LC_ALL="C.UTF-8"))
    e = ws.wait(is_message("hello"))
    t(one.returncode == 0 and e is not None,
      "printf 'hello\\n' | wintalk --connect posts a line", f"rc={one.returncode} e={e}")


def window(t, wt, tcp, ws):
    if shutil.which("tmux") is None:
        print("tmux is not installed: the window part is skipped")
        return
    sock = f"wintalk-gw-test-{os.getpid()}"
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")

    def tmux(*a):
        return subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", *a], env=env,
                              capture_output=True, text=True, timeout=10).stdout

    def wait_screen(needle, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in tmux("capture-pane", "-p", "-t", "w"):
                return True
            time.sleep(0.05)
        return False

    try:
        tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24", "sh", "-c",
             f"{wt} --connect 127.0.0.1:{tcp} --nick ventana; echo EXITED:$?; sleep 60")
        t(wait_screen("webby: segunda ñ"), "the window's top pane shows the conversation")
        t(wait_screen("* ventana"), "and the hub's events (its own /nick)")
        tmux("send-keys", "-t", "w", "-l", "escrito en la ventana")
        tmux("send-keys", "-t", "w", "Enter")
        e = ws.wait(is_message("escrito en la ventana", "ventana"))
        t(e is not None, "a line typed in the window reaches the WebSocket client", repr(e))
        t(wait_screen("ventana: escrito en la ventana"), "and comes back in the transcript")
        tmux("send-keys", "-t", "w", "C-c")
        t(wait_screen("EXITED:0"), "Ctrl-C leaves the hub, status 0")
    finally:
        tmux("kill-server")


def main():
    a = args()
    gw = os.path.join(a.build_dir, "gateway", "wintalk-gateway")
    if not os.access(gw, os.X_OK):
        print(f"{gw} is not built: skipped")
        sys.exit(SKIP)
    t = Check("client.gateway")
    tcp, http = free_port(), free_port()
    g = Proc([gw, "--bind", "127.0.0.1", "--tcp-port", str(tcp), "--http-port", str(http),
              "--web-root", os.path.join(ROOT, "web")], stdin=False)
    ws = None
    try:
        # Ready when it says so and HTTP answers. (The WINTALK port is not
        # probed: a probe would be one more participant joining and leaving.)
        up = g.wait_out("listening", timeout=10, err=True) and wait_port(http)
        if not t(up, "gateway up", repr(g.err[-500:])):
            t.finish()
        ws = WebSocket(http)
        ws.send({"type": "hello", "nick": "webby", "last_id": 0})
        t(ws.wait(lambda e: e.get("type") == "welcome") is not None, "browser welcomed")
        pipe_mode(t, a.wintalk, tcp, ws)
        window(t, a.wintalk, tcp, ws)
    finally:
        if ws is not None:
            ws.close()
        g.kill()
    t.finish()


if __name__ == "__main__":
    main()
