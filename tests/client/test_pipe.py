#!/usr/bin/env python3
"""Pipe mode: two wintalk processes talk both ways; the exact frames on the
wire; a peer's backspace; end of input and end of talk.

Two wintalks in pipe mode cannot send a backspace (a pipe has lines, not
keys), so the backspace is checked here with a raw-socket peer that sends
the R frame the original sends for one, and between two wintalks in the
terminal test (test_ui.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wclib import HANDSHAKE, PRIMING, Check, Proc, RawPeer, args, frame, free_port  # noqa: E402

QUE = "¿Qué tal? 😀"


def two_wintalks(t, wt):
    port = free_port()
    lis = Proc([wt, "--listen", f"127.0.0.1:{port}", "--plain"])
    try:
        t(lis.wait_out(f"Listening on 127.0.0.1:{port}", err=True), "listener says it listens")
        cal = Proc([wt, "--connect", f"127.0.0.1:{port}"])
        try:
            t(cal.wait_out("Connected to", err=True), "caller connects")
            lis.send("hola desde el que escucha\n")
            cal.send(QUE + "\n")
            t(cal.wait_out("hola desde el que escucha\n"), "listener -> caller line")
            t(lis.wait_out(QUE + "\n"), "caller -> listener: " + QUE)
            lis.send(QUE + " ñandú\n")
            t(cal.wait_out(QUE + " ñandú\n"), "listener -> caller: " + QUE + " ñandú")
            cal.send("línea 2\nlínea 3\n")
            t(lis.wait_out("línea 2\nlínea 3\n"), "two lines in one write arrive as two")
            # The caller's input ends: it sends what it read, closes, exits 0;
            # the listener sees the peer close and exits 0 too.
            cal.send("last words")
            cal.close_stdin()
            rc = cal.wait_exit(10)
            t(rc == 0, "caller exits 0 at the end of its input", f"rc={rc} err={cal.err!r}")
            rc = lis.wait_exit(10)
            t(lis.out.endswith(b"last words\n"), "a last line without newline is sent",
              repr(lis.out[-40:]))
            t(rc == 0, "listener exits 0 when the peer closes", f"rc={rc} err={lis.err!r}")
            t(b"Peer closed the connection" in lis.err, "listener reports the peer closed")
        finally:
            cal.kill()
    finally:
        lis.kill()


def wire_as_caller(t, wt):
    """What wintalk sends as caller, and a peer's backspace on its stdout."""
    port = free_port()
    raw = RawPeer(port)
    cal = Proc([wt, "--connect", f"127.0.0.1:{port}", "--nick", "ana"])
    try:
        raw.accept()
        raw.send(HANDSHAKE + PRIMING)
        want = frame("A", "/nick ana") + frame("A", "\r\n")
        t(raw.read_until(want), "--nick sends /nick NAME as a line", repr(raw.got))
        raw.got = b""
        cal.send(QUE + "\n")
        want = frame("A", QUE) + frame("A", "\r\n")
        t(raw.read_until(want), "a line is sent as A12 of typed text then A2 of \\r\\n",
          repr(raw.got))
        t(want == b"A12:" + QUE.encode() + b"A2:\r\n", "length counts UTF-16 units")
        # The peer types "ab", presses Backspace, types "c" and Enter: the
        # original sends A2:ab, R1:a (its whole box), A1:c, A2:\r\n.
        raw.send(frame("A", "ab"))
        raw.send(frame("R", "a"))
        raw.send(frame("A", "c") + frame("A", "\r\n"))
        t(cal.wait_out("ac\n"), "peer's backspace applied: prints 'ac'", repr(cal.out))
        t(b"abc" not in cal.out and b"ab\n" not in cal.out, "the erased 'b' is not printed")
        # The peer's unfinished line is printed when the talk ends.
        raw.send(frame("A", "sin terminar"))
        raw.close()
        rc = cal.wait_exit(10)
        t(rc == 0, "caller exits 0 when the peer closes", f"rc={rc}")
        t(cal.out.endswith(b"sin terminar\n"), "unfinished line printed at the end",
          repr(cal.out))
    finally:
        cal.kill()
        raw.close()


def wire_as_listener(t, wt):
    """The listener's first write: handshake and priming, together."""
    port = free_port()
    lis = Proc([wt, "--listen", f"127.0.0.1:{port}"])
    try:
        t(lis.wait_out("Listening", err=True), "listener up")
        raw = RawPeer()
        raw.connect(port)
        first = raw.s.recv(24)
        t(first == HANDSHAKE + PRIMING, "handshake and priming arrive in one read",
          repr(first))
        raw.send(frame("A", "ñ") + frame("A", "😀") + frame("A", "x\r\n"))
        t(lis.wait_out("ñ😀x\n"), "A frames of ñ, 😀, x appended", repr(lis.out))
        # stdin ends: everything read is sent, then the write side closes.
        lis.send("adiós\n")
        lis.close_stdin()
        t(raw.read_to_eof(5), "listener closes its side after its input ends")
        t(raw.got == frame("A", "adiós") + frame("A", "\r\n"), "and sent its line first",
          repr(raw.got))
        raw.close()
        rc = lis.wait_exit(10)
        t(rc == 0, "listener exits 0", f"rc={rc}")
    finally:
        lis.kill()


def names_and_ipv6(t, wt):
    """A host name (every address it resolves to is tried) and IPv6."""
    import socket
    port = free_port()
    raw = RawPeer(port)
    cal = Proc([wt, "--connect", f"localhost:{port}"])
    try:
        raw.accept()
        raw.send(HANDSHAKE + PRIMING + frame("A", "por nombre\r\n"))
        t(cal.wait_out("por nombre\n"), "--connect localhost:PORT reaches 127.0.0.1")
    finally:
        cal.kill()
        raw.close()
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", 0))
            port = s6.getsockname()[1]
    except OSError:
        print("no IPv6 loopback: IPv6 part skipped")
        return
    lis = Proc([wt, "--listen", f"[::1]:{port}"])
    try:
        t(lis.wait_out(f"Listening on [::1]:{port}", err=True), "--listen [::1]:PORT")
        cal = Proc([wt, "--connect", f"[::1]:{port}"])
        try:
            cal.send("seis\n")
            t(lis.wait_out("seis\n"), "--connect [::1]:PORT talks over IPv6")
        finally:
            cal.kill()
    finally:
        lis.kill()


def main():
    a = args()
    t = Check("client.pipe")
    two_wintalks(t, a.wintalk)
    names_and_ipv6(t, a.wintalk)
    wire_as_caller(t, a.wintalk)
    wire_as_listener(t, a.wintalk)
    t.finish()


if __name__ == "__main__":
    main()
