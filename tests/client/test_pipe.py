#!/usr/bin/env python3
"""Pipe mode: two wintalk processes talk both ways; the exact frames on the
wire; a peer's backspace; end of input and end of talk; long lines and
bytes that are not UTF-8 on stdin.

Two wintalks in pipe mode cannot send a backspace (a pipe has lines, not
keys), so the backspace is checked here with a raw-socket peer that sends
the R frame the original sends for one, and between two wintalks in the
terminal test (test_ui.py).
"""

import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "lib"))
from wclib import HANDSHAKE, PRIMING, Check, Proc, RawPeer, args, frame, free_port  # noqa: E402

from wtlib import FrameParser  # noqa: E402

# The client's pieces of a long input line, in bytes (WC_STDIN_LINE_MAX).
LINE_MAX = 32 * 1024

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
    # IPv6 is part of what is tested: a machine without ::1 fails here,
    # loudly, rather than passing without having tried.
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", 0))
            port = s6.getsockname()[1]
    except OSError as e:
        t(False, "the IPv6 loopback ::1 is there to test --listen/--connect [::1]",
          f"cannot bind [::1]: {e}. Turn IPv6 on for the loopback interface "
          "(sysctl net.ipv6.conf.lo.disable_ipv6=0) and run the test again")
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


def read_bounded(raw, cap, timeout):
    """What the peer receives until EOF, more than cap bytes, or timeout:
    (bytes, whether EOF came)."""
    got = b""
    end = time.monotonic() + timeout
    while len(got) <= cap and time.monotonic() < end:
        raw.s.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = raw.s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            return got, True
        got += chunk
    return got, False


def long_and_invalid_input(t, wt):
    """Input lines longer than the client's piece, some of bytes that are
    not UTF-8: each goes in pieces (one line each, none cut inside a
    character), invalid bytes as U+FFFD as the codec replaces them, and the
    client gets to the end of its input and exits. A client that cut an
    empty piece would send "A2:\\r\\n" without end instead."""
    euro = "\u20ac".encode()
    cases = (
        (b"\x80" * LINE_MAX, "32 KiB of continuation bytes, no newline"),
        (b"\x80" * (LINE_MAX + 1), "32 KiB + 1 of continuation bytes, no newline"),
        (b"\xbf" * 100000 + b"\n", "100 000 continuation bytes, then a newline"),
        (b"x" * 40000 + b"\r\n", "a valid 40 000-byte line: nothing of it lost"),
        (b"a" * (LINE_MAX - 1) + euro * 3 + b"\xe2\x82" + b"\xed\xa0\x80z",
         "a character across the cut, a cut-off sequence and a surrogate"),
    )
    for data, what in cases:
        line = data[:-1] if data.endswith(b"\n") else data
        line = line[:-1] if line.endswith(b"\r") else line
        want = line.decode("utf-8", "replace")
        # Pieces of LINE_MAX bytes, less up to 3 to keep a character whole.
        least, most = -(-len(line) // LINE_MAX), -(-len(line) // (LINE_MAX - 3))
        # The text as U+FFFD and the like, each piece's frames, box clears.
        cap = len(want.encode()) + 32 * (most + 1)
        port = free_port()
        raw = RawPeer(port)
        cal = Proc([wt, "--connect", f"127.0.0.1:{port}", "--quiet"])
        try:
            raw.accept()
            raw.send(HANDSHAKE + PRIMING)

            def feed():
                try:
                    cal.send(data)
                    cal.close_stdin()
                except OSError:
                    pass  # it died or was killed: the checks below say so
            threading.Thread(target=feed, daemon=True).start()
            got, eof = read_bounded(raw, cap, 20)
            t(eof, f"{what}: the client sends it all and closes its side",
              f"{len(got)} bytes, ends {got[-20:]!r}")
            t(len(got) <= cap, f"{what}: at most {cap} bytes sent", f"sent {len(got)}")
            raw.close()
            rc = cal.wait_exit(10)
            t(rc == 0, f"{what}: the client exits 0", f"rc={rc} err={cal.err[-300:]!r}")
            if not eof or len(got) > cap:
                continue
            try:
                frames = FrameParser().feed(got)
            except (ValueError, UnicodeDecodeError) as e:
                t(False, f"{what}: valid frames", repr(e))
                continue
            typed = "".join(text for op, text in frames if op == "A")
            t(all(op == "A" or text == "" for op, text in frames),
              f"{what}: only appends (and clears of a full box)")
            sent = typed.split("\r\n")
            t(sent[-1] == "", f"{what}: each piece ends with a new line", repr(typed[-20:]))
            sent = sent[:-1]
            t("".join(sent) == want, f"{what}: the text arrives whole, invalid bytes as U+FFFD",
              f"{len(''.join(sent))} characters, want {len(want)}")
            t(least <= len(sent) <= most and
              all(len(p.encode("utf-16-le")) // 2 <= LINE_MAX for p in sent),
              f"{what}: in {least} to {most} piece(s) of at most {LINE_MAX} units",
              repr([len(p) for p in sent]))
        finally:
            cal.kill()
            raw.close()


def main():
    a = args()
    t = Check("client.pipe")
    two_wintalks(t, a.wintalk)
    names_and_ipv6(t, a.wintalk)
    wire_as_caller(t, a.wintalk)
    wire_as_listener(t, a.wintalk)
    long_and_invalid_input(t, a.wintalk)
    t.finish()


if __name__ == "__main__":
    main()
