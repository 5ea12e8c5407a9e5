#!/usr/bin/env python3
"""wintalk ends when its terminal goes away, and at once on SIGTERM, in
every mode.

- The terminal goes: wintalk runs in a tmux session (the window with
  --connect to a real gateway, directly, under a shell, and in a session of
  its own that no SIGHUP reaches; the window with --listen; the pipe mode on the terminal with --connect to the gateway),
  the session is killed (its pty goes), and the process must be gone within
  a second. (It used to spin on the hung-up terminal for ever, at most of a
  core.)
- SIGTERM: wintalk in each mode (window and pipe, --connect and --listen)
  talks to a raw peer that sends without a pause, so that its connection is
  ready on every turn of its loop, and in pipe mode also with a stdout that
  nobody reads; a SIGTERM must end it within a second, with status 130. (A
  signal used to wait until a turn found nothing ready: never, while a peer
  kept sending, nor once the terminal was gone; nor while a write to stdout
  waited.)

Runs its own tmux server on a private socket and kills only that server;
every process it starts is stopped by its PID.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from wclib import (HANDSHAKE, PRIMING, Check, Proc, RawPeer, Tmux, args, free_port,  # noqa: E402
                   require)

from wtlib import Gateway  # noqa: E402

# How soon the process must be gone: it has nothing to wait for, so a
# second is a wide margin on a loaded machine (it used to be never).
GONE_S = 1.0
# How long a flooding peer sends, at most: well past GONE_S, so a client
# that waits for the flood to end cannot pass.
FLOOD_S = 8.0


def alive(pid):
    """Whether pid runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid, timeout):
    """Seconds until pid was gone, or None if it still ran after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not alive(pid):
            return time.monotonic() - t0
        time.sleep(0.01)
    return None if alive(pid) else time.monotonic() - t0


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def find_wintalk(tmux, wt, timeout=5.0):
    """The pid of the wintalk running in tmux's pane (the pane's process or
    one of its descendants), or None."""
    end = time.monotonic() + timeout
    real = os.path.realpath(wt)
    while time.monotonic() < end:
        pane = tmux("display-message", "-p", "-t", "w", "#{pane_pid}").strip()
        if pane.isdigit():
            for p in [int(pane)] + descendants(int(pane)):
                try:
                    if os.path.realpath(f"/proc/{p}/exe") == real:
                        return p
                except OSError:
                    pass
        time.sleep(0.05)
    return None


def stop(pid):
    if pid is not None and alive(pid):
        os.kill(pid, signal.SIGKILL)


class Flood:
    """Sends frames without a pause on a connected socket, in a thread,
    until stop() or FLOOD_S: the receiver's socket is ready on every turn.
    Replace frames without a line end (the pane stays small and nothing is
    printed), or, with line, lines to print."""

    def __init__(self, sock, line=False):
        self.sock = sock
        self.line = line
        self.halt = threading.Event()
        self.sent = 0
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        chunk = (b"A12:0123456789\r\n" if self.line else b"R10:0123456789") * 20000
        end = time.monotonic() + FLOOD_S
        self.sock.settimeout(0.5)
        while not self.halt.is_set() and time.monotonic() < end:
            try:
                self.sent += self.sock.send(chunk)
            except TimeoutError:
                continue
            except OSError:
                return

    def stop(self):
        self.halt.set()
        self.t.join(5)


def terminal_gone(t, tmux, wt, what, cmd):
    """Start cmd in tmux's (a fresh server's) session "w", wait for wanted on its screen, kill
    the session, and check wintalk is gone within GONE_S."""
    shell, wanted = cmd
    tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24", "sh", "-c", shell)
    pid = None
    try:
        shown = tmux.wait_screen(wanted)
        pid = find_wintalk(tmux, wt)
        t(shown and pid is not None, f"{what}: running ({wanted!r} on screen)",
          repr(tmux.screen()))
        if pid is None:
            return
        tmux("kill-session", "-t", "w")
        took = wait_gone(pid, 3.0)
        t(took is not None and took < GONE_S,
          f"{what}: gone within {GONE_S} s of its terminal", f"took={took}")
    finally:
        stop(pid)
        tmux("kill-server")


def sigterm_window(t, tmux, wt, what, listen):
    """wintalk's window under tmux with a flooding peer, then SIGTERM."""
    port = free_port()
    peer = RawPeer(None if listen else port)
    flood = pid = None
    try:
        side = f"--listen 127.0.0.1:{port}" if listen else f"--connect 127.0.0.1:{port}"
        tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24", "sh", "-c",
             f"{wt} {side}; echo EXITED:$?; sleep 30")
        if listen:
            t(tmux.wait_screen("Listening on"), f"{what}: listening")
            peer.connect(port)
            t(peer.read_until(HANDSHAKE), f"{what}: handshake from wintalk")
        else:
            peer.accept()
            peer.send(HANDSHAKE + PRIMING)
        t(tmux.wait_screen("Connected"), f"{what}: talking", repr(tmux.screen()))
        pid = find_wintalk(tmux, wt)
        flood = Flood(peer.s)
        time.sleep(0.5)
        t(pid is not None and alive(pid) and flood.sent > 0, f"{what}: flooded, still running")
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        took = wait_gone(pid, 3.0)
        t(took is not None and took < GONE_S, f"{what}: SIGTERM ends it within {GONE_S} s",
          f"took={took}")
        t(tmux.wait_screen("EXITED:130"), f"{what}: status 130", repr(tmux.screen()))
    finally:
        if flood is not None:
            flood.stop()
        stop(pid)
        tmux("kill-server")
        peer.close()


def sigterm_pipe(t, wt, what, listen):
    """wintalk in pipe mode with a flooding peer, then SIGTERM."""
    port = free_port()
    peer = RawPeer(None if listen else port)
    flood = p = None
    try:
        side = ["--listen", f"127.0.0.1:{port}"] if listen else ["--connect", f"127.0.0.1:{port}"]
        p = Proc([wt, *side])
        if listen:
            t(p.wait_out("Listening on", err=True), f"{what}: listening")
            peer.connect(port)
            t(peer.read_until(HANDSHAKE), f"{what}: handshake from wintalk")
        else:
            peer.accept()
            peer.send(HANDSHAKE + PRIMING)
        t(p.wait_out("Connected to", err=True), f"{what}: talking", repr(p.err))
        flood = Flood(peer.s)
        time.sleep(0.5)
        t(p.p.poll() is None and flood.sent > 0, f"{what}: flooded, still running")
        t0 = time.monotonic()
        p.p.send_signal(signal.SIGTERM)
        rc = p.wait_exit(3.0)
        took = time.monotonic() - t0
        t(rc == 130 and took < GONE_S, f"{what}: SIGTERM ends it within {GONE_S} s, status 130",
          f"rc={rc} took={took:.2f}")
    finally:
        if flood is not None:
            flood.stop()
        if p is not None:
            p.kill()
        peer.close()


def sigterm_stdout_full(t, wt):
    """Pipe mode, printing the peer's lines to a pipe nobody reads (the
    reader of `wintalk | less` that does not scroll): wintalk waits in a
    write to stdout, and a SIGTERM must end it there too."""
    port = free_port()
    peer = RawPeer(port)
    flood = p = None
    try:
        p = subprocess.Popen([wt, "--connect", f"127.0.0.1:{port}"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, LC_ALL="C.UTF-8"))
        peer.accept()
        peer.send(HANDSHAKE + PRIMING)
        flood = Flood(peer.s, line=True)
        # Its stdout (a pipe of 64 KiB) is full long before this.
        time.sleep(1.0)
        t(p.poll() is None and flood.sent > 1 << 20, "pipe with a full stdout: still running",
          f"sent={flood.sent}")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        while p.poll() is None and time.monotonic() - t0 < 3.0:
            time.sleep(0.01)
        took = time.monotonic() - t0
        t(p.poll() == 130 and took < GONE_S,
          f"pipe with a full stdout: SIGTERM ends it within {GONE_S} s, status 130",
          f"rc={p.poll()} took={took:.2f}")
    finally:
        if flood is not None:
            flood.stop()
        if p is not None:
            if p.poll() is None:
                p.kill()
            p.wait(5)
            for f in (p.stdin, p.stdout):
                f.close()
        peer.close()


def main():
    a = args()
    wt = a.wintalk
    gw = os.path.join(a.build_dir, "gateway", "wintalk-gateway")
    require(os.access(gw, os.X_OK), f"{gw} is missing")
    require(shutil.which("tmux"), "tmux is not installed")
    t = Check("client.hangup")
    # A tmux server of its own for each case: a server being killed does not
    # take the next case's session with it.
    servers = []

    def tmux():
        servers.append(Tmux(f"wintalk-hangup-{os.getpid()}-{len(servers)}"))
        return servers[-1]

    g = None
    try:
        g = Gateway(binary=gw, web_root=os.path.join(ROOT, "web"))
        hub = f"127.0.0.1:{g.tcp_port}"
        lport = free_port()
        cases = [
            ("window --connect", (f"exec {wt} --connect {hub}", "Connected to")),
            ("window --connect under a shell",
             (f"{wt} --connect {hub}; echo EXITED:$?; sleep 30", "Connected to")),
            # No SIGHUP reaches a process of another session: only its
            # input says the terminal is gone (EOF, EIO, POLLHUP).
            ("window --connect in a session of its own (no SIGHUP)",
             (f"exec setsid -w {wt} --connect {hub}", "Connected to")),
            ("window --listen", (f"exec {wt} --listen 127.0.0.1:{lport}", "Listening on")),
            ("pipe mode --connect on the terminal",
             (f"{wt} --plain --connect {hub}; sleep 30", "wintalk: Connected to")),
        ]
        for what, cmd in cases:
            terminal_gone(t, tmux(), wt, what, cmd)
        sigterm_window(t, tmux(), wt, "window --connect", listen=False)
        sigterm_window(t, tmux(), wt, "window --listen", listen=True)
        sigterm_pipe(t, wt, "pipe --connect", listen=False)
        sigterm_pipe(t, wt, "pipe --listen", listen=True)
        sigterm_stdout_full(t, wt)
    finally:
        for server in servers:
            server("kill-server")
        if g is not None:
            g.stop()
    t.finish()


if __name__ == "__main__":
    main()
