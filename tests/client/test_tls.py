#!/usr/bin/env python3
"""wintalk --tls: WINTALK over TLS against a TLS peer written with Python's
ssl module, with a CA and certificates made here by the openssl command.

A verified talk both ways in pipe mode (by name and by address), exactly
the plain protocol's bytes inside TLS; refusals with exit status 8 for a
certificate it cannot verify (unknown CA, self-signed, wrong name, wrong
address) and 9 for a failed handshake (a TLS 1.1-only server, a plain
WINTALK port); --insecure talks and warns; the 5 s deadline covers both
handshakes; a forged record ends the talk; a large transfer both ways; two wintalks over TLS with
--cert/--key; the status line of the window under tmux; and the command
line's TLS rules.

Skipped when the openssl command is missing. Everything on 127.0.0.1.
"""

import os
import shutil
import ssl
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from wclib import (HANDSHAKE, PRIMING, Check, Proc, RawPeer, TlsPeer, Tmux, require,  # noqa: E402
                   args, frame, free_port, make_pki)

QUE = "¿Qué tal? 😀"
EXIT_LOCAL, EXIT_TLS_VERIFY, EXIT_TLS = 7, 8, 9


def verified_talk(t, wt, pki, host):
    """--tls --ca: the handshake, then the plain protocol's bytes, both ways."""
    port = free_port()
    peer = TlsPeer(port, pki["server_cert"], pki["server_key"])
    p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"{host}:{port}", "--nick", "ana"])
    try:
        s = peer.accept()
        t(s is not None, f"{host}: TLS handshake with the peer", repr(peer.handshake_error))
        if s is None:
            return
        t(s.version() in ("TLSv1.2", "TLSv1.3"), f"{host}: TLS 1.2 or newer", s.version())
        peer.send(HANDSHAKE + PRIMING)
        want = frame("A", "/nick ana") + frame("A", "\r\n")
        t(peer.read_until(want), f"{host}: --nick goes out over TLS", repr(peer.got))
        t(p.wait_out("certificate verified", err=True), f"{host}: says the certificate is verified",
          repr(p.err))
        peer.got = b""
        peer.send(frame("A", QUE) + frame("A", "\r\n"))
        t(p.wait_out(QUE + "\n"), f"{host}: peer -> wintalk: {QUE}", repr(p.out))
        p.send(QUE + "\n")
        want = frame("A", QUE) + frame("A", "\r\n")
        t(peer.read_until(want), f"{host}: wintalk -> peer: {QUE} as A12 then A2",
          repr(peer.got))
        t(peer.got == b"A12:" + QUE.encode() + b"A2:\r\n", f"{host}: exactly the plain bytes")
        # End of input: the line goes, then close_notify and the half-close;
        # the peer's unfinished line prints when it closes.
        peer.got = b""
        peer.send(frame("A", "sin terminar"))
        p.send("adiós\n")
        p.close_stdin()
        t(peer.read_to_eof(5), f"{host}: wintalk closes its side after its input")
        t(peer.got == frame("A", "adiós") + frame("A", "\r\n"), f"{host}: after sending its line",
          repr(peer.got))
        peer.close()
        rc = p.wait_exit(10)
        t(rc == 0, f"{host}: exit 0 when the peer closes", f"rc={rc} err={p.err!r}")
        t(p.out.endswith(b"sin terminar\n"), f"{host}: unfinished line printed at the end",
          repr(p.out[-60:]))
    finally:
        p.kill()
        peer.close()


def refused(t, wt, what, cert, key, argv_tls, host, code, needles, tls_min=None, tls_max=None):
    """wintalk must refuse: exit status code, every needle on stderr, and no
    WINTALK byte sent or received."""
    port = free_port()
    peer = TlsPeer(port, cert, key, tls_min=tls_min, tls_max=tls_max)
    p = Proc([wt, "--tls", *argv_tls, "--connect", f"{host}:{port}"])
    try:
        s = peer.accept()
        if s is not None:
            # Only a TLS 1.3 server can finish before the client's verdict
            # arrives; then it must see the connection end without a byte.
            s.settimeout(5)
            try:
                data = s.recv(100)
            except (ssl.SSLError, OSError):
                data = b""
            t(data == b"", f"{what}: nothing sent", repr(data))
        rc = p.wait_exit(10)
        t(rc == code, f"{what}: exit {code}", f"rc={rc} err={p.err!r}")
        err = p.err.decode("utf-8", "replace")
        for n in needles:
            t(n in err, f"{what}: message says {n!r}", repr(err))
        t(p.out == b"", f"{what}: nothing printed", repr(p.out))
    finally:
        p.kill()
        peer.close()


def refusals(t, wt, pki):
    refused(t, wt, "CA unknown to the system", pki["server_cert"], pki["server_key"], [],
            "localhost", EXIT_TLS_VERIFY,
            ["refusing localhost:", "cannot be verified", "unable to get local issuer",
             "--ca FILE", "--insecure"])
    refused(t, wt, "self-signed", pki["self_cert"], pki["self_key"], ["--ca", pki["ca"]],
            "localhost", EXIT_TLS_VERIFY, ["cannot be verified", "self-signed certificate"])
    refused(t, wt, "certificate for another name", pki["other_cert"], pki["other_key"],
            ["--ca", pki["ca"]], "localhost", EXIT_TLS_VERIFY,
            ["hostname mismatch", "made for another host name"])
    refused(t, wt, "certificate without the address", pki["other_cert"], pki["other_key"],
            ["--ca", pki["ca"]], "127.0.0.1", EXIT_TLS_VERIFY, ["IP address mismatch"])
    refused(t, wt, "TLS 1.1-only server", pki["server_cert"], pki["server_key"],
            ["--ca", pki["ca"]], "localhost", EXIT_TLS, ["TLS handshake with", "failed",
                                                        "protocol version", "no TLS 1.2"],
            tls_min=ssl.TLSVersion.TLSv1_1, tls_max=ssl.TLSVersion.TLSv1_1)


def self_signed_trusted(t, wt, pki):
    """A self-signed peer whose own certificate is given with --ca talks."""
    port = free_port()
    peer = TlsPeer(port, pki["self_cert"], pki["self_key"])
    p = Proc([wt, "--tls", "--ca", pki["self_cert"], "--connect", f"localhost:{port}"])
    try:
        s = peer.accept()
        if t(s is not None, "self-signed given with --ca: handshake", repr(peer.handshake_error)):
            peer.send(HANDSHAKE + PRIMING + frame("A", "hola\r\n"))
            t(p.wait_out("hola\n"), "self-signed given with --ca: talks", repr(p.err))
    finally:
        p.kill()
        peer.close()


def window(t, wt, pki):
    """In the terminal window, the status line tells TLS and its check."""
    for argv, cert, key, status in (
            (["--ca", pki["ca"]], pki["server_cert"], pki["server_key"], "certificate verified"),
            (["--insecure"], pki["self_cert"], pki["self_key"], "certificate NOT verified")):
        port = free_port()
        peer = TlsPeer(port, cert, key)
        tmux = Tmux(f"wintalk-tls-test-{os.getpid()}-{port}")
        wait_screen = tmux.wait_screen
        try:
            cmd = " ".join([wt, "--tls", *argv, "--connect", f"localhost:{port}"])
            tmux("new-session", "-d", "-s", "w", "-x", "100", "-y", "24", "sh", "-c",
                 f"{cmd}; echo EXITED:$?; sleep 60")
            s = peer.accept()
            if not t(s is not None, f"window, {status}: handshake", repr(peer.handshake_error)):
                continue
            peer.send(HANDSHAKE + PRIMING + frame("A", QUE + "\r\n"))
            t(wait_screen(QUE), f"window, {status}: the peer's text shows")
            t(wait_screen(status), f"window: the status line says '{status}'",
              tmux("capture-pane", "-p", "-t", "w"))
            tmux("send-keys", "-t", "w", "-l", "ñ")
            t(peer.read_until(frame("A", "ñ")), f"window, {status}: live typing goes out",
              repr(peer.got))
            tmux("send-keys", "-t", "w", "C-c")
            t(wait_screen("EXITED:0"), f"window, {status}: Ctrl-C quits, status 0")
        finally:
            tmux("kill-server")
            peer.close()


def old_server_is_real(t, pki):
    """The TLS 1.1-only peer above does speak TLS 1.1 (so wintalk's refusal
    is its own TLS 1.2 floor, not a broken server)."""
    port = free_port()
    peer = TlsPeer(port, pki["server_cert"], pki["server_key"], tls_min=ssl.TLSVersion.TLSv1_1,
                   tls_max=ssl.TLSVersion.TLSv1_1)
    got = {}

    def old_client():
        c = TlsPeer(tls_min=ssl.TLSVersion.TLSv1_1, tls_max=ssl.TLSVersion.TLSv1_1)
        try:
            got["v"] = c.connect(port).version()
        except (ssl.SSLError, OSError) as e:
            got["e"] = e
        finally:
            c.close()

    th = threading.Thread(target=old_client)
    th.start()
    try:
        s = peer.accept()
        th.join(10)
        t(s is not None and got.get("v") == "TLSv1.1",
          "the TLS 1.1-only peer does talk TLS 1.1 to a client that offers it",
          repr(got) + repr(peer.handshake_error))
    finally:
        peer.close()


def forged_record(t, wt, pki):
    """Bytes that are not from the TLS session (written under it, straight
    to the socket) end the talk as a lost connection, and nothing of them
    is printed."""
    port = free_port()
    peer = TlsPeer(port, pki["server_cert"], pki["server_key"])
    p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"localhost:{port}"])
    try:
        s = peer.accept()
        if not t(s is not None, "forged record: handshake", repr(peer.handshake_error)):
            return
        peer.send(HANDSHAKE + PRIMING + frame("A", "antes\r\n"))
        t(p.wait_out("antes\n"), "forged record: talking first")
        os.write(s.fileno(), b"\x17\x03\x03\x00\x20" + b"A5:hello" * 4)
        rc = p.wait_exit(10)
        t(rc == 1 and b"connection to localhost" in p.err, "forged record: exit 1, connection lost",
          f"rc={rc} err={p.err!r}")
        t(b"hello" not in p.out, "forged record: its bytes are not shown", repr(p.out))
    finally:
        p.kill()
        peer.close()


def plain_port(t, wt):
    """--tls against a plain WINTALK listener: its handshake is not TLS."""
    port = free_port()
    raw = RawPeer(port)
    p = Proc([wt, "--tls", "--insecure", "--connect", f"127.0.0.1:{port}"])
    try:
        raw.accept()
        raw.send(HANDSHAKE + PRIMING)
        rc = p.wait_exit(10)
        t(rc == EXIT_TLS, "--tls to a plain port: exit 9", f"rc={rc} err={p.err!r}")
        t(b"does not speak TLS" in p.err, "and says the peer does not speak TLS", repr(p.err))
    finally:
        p.kill()
        raw.close()


def insecure(t, wt, pki):
    port = free_port()
    peer = TlsPeer(port, pki["self_cert"], pki["self_key"])
    p = Proc([wt, "--tls", "--insecure", "--quiet", "--connect", f"localhost:{port}"])
    try:
        s = peer.accept()
        t(s is not None, "--insecure: handshake with a self-signed peer",
          repr(peer.handshake_error))
        if s is None:
            return
        peer.send(HANDSHAKE + PRIMING + frame("A", QUE + "\r\n"))
        t(p.wait_out(QUE + "\n"), "--insecure: talks", repr(p.out))
        p.send("ok\n")
        t(peer.read_until(frame("A", "ok") + frame("A", "\r\n")), "--insecure: both ways")
        err = p.err.decode("utf-8", "replace")
        t("warning" in err and "certificate and host name are not verified" in err,
          "--insecure warns what it skips, even with --quiet", repr(err))
        p.close_stdin()
        t(peer.read_to_eof(5), "--insecure: closes after its input")
        peer.close()
        t(p.wait_exit(10) == 0, "--insecure: exit 0")
    finally:
        p.kill()
        peer.close()


def deadline(t, wt, pki):
    """5 s for the TLS handshake and the WINTALK handshake together."""
    # A peer that accepts TCP and never answers the ClientHello.
    port = free_port()
    raw = RawPeer(port)
    start = time.monotonic()
    p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"localhost:{port}"])
    try:
        raw.accept()
        rc = p.wait_exit(10)
        took = time.monotonic() - start
        t(rc == 5 and b"no TLS handshake" in p.err, "silent TLS peer: exit 5, says TLS",
          f"rc={rc} err={p.err!r}")
        t(4.5 < took < 7.5, "after about 5 s", f"{took:.1f} s")
    finally:
        p.kill()
        raw.close()
    # A peer whose TLS handshake takes 3 s and then sends no WINTALK
    # handshake: the deadline is still 5 s from the connection, not 3 + 5.
    port = free_port()
    peer = TlsPeer(port, pki["server_cert"], pki["server_key"])
    start = time.monotonic()
    p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"localhost:{port}"])
    try:
        peer.ls.settimeout(5)
        conn, _ = peer.ls.accept()
        time.sleep(3)
        conn.settimeout(5)
        try:
            peer.s = peer.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            t(False, "slow TLS handshake completes", repr(e))
            conn.close()
        rc = p.wait_exit(10)
        took = time.monotonic() - start
        t(rc == 5 and b"no WINTALK handshake" in p.err, "slow TLS, no WINTALK handshake: exit 5",
          f"rc={rc} err={p.err!r}")
        t(4.5 < took < 7.5, "5 s for both handshakes together", f"{took:.1f} s")
    finally:
        p.kill()
        peer.close()


def large(t, wt, pki):
    """Many TLS records both ways, with the peer not reading for a while:
    partial writes and reads across records lose and repeat nothing."""
    port = free_port()
    peer = TlsPeer(port, pki["server_cert"], pki["server_key"])
    p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"localhost:{port}", "--quiet"])
    try:
        s = peer.accept()
        if not t(s is not None, "large: handshake", repr(peer.handshake_error)):
            return
        n = 3000
        lines = [f"línea {i:05d} " + "ñ" * 100 for i in range(n)]
        burst = HANDSHAKE + PRIMING + b"".join(frame("A", ln + "\r\n") for ln in lines)
        peer.send(burst)
        t(p.wait_out(lines[-1] + "\n", timeout=20), f"large: {len(burst)} bytes in arrive",
          repr(p.out[-100:]))
        t(p.out.decode() == "".join(ln + "\n" for ln in lines), "large: every line once, in order")
        # wintalk sends about 1 MB while the peer does not read for 1 s.
        text = "".join(f"out {i:05d} " + "é" * 150 + "\n" for i in range(n))
        w = threading.Thread(target=lambda: (p.send(text), p.close_stdin()))
        w.start()
        time.sleep(1)
        t(peer.read_to_eof(30), "large: all of it, then the close")
        w.join(10)
        want = b"".join(frame("A", ln) + frame("A", "\r\n") for ln in text.splitlines())
        # Each time the box fills up at a line's end, wintalk clears it
        # with R0: (as over plain TCP); those aside, every line's frames.
        t(peer.got.replace(b"R0:", b"") == want, "large: the peer got exactly every line's frames",
          f"{len(peer.got)} of {len(want)} bytes")
        peer.close()
        t(p.wait_exit(10) == 0, "large: exit 0")
    finally:
        p.kill()
        peer.close()


def two_wintalks(t, wt, pki):
    """wintalk --tls --cert --key --listen, and a wintalk --tls caller."""
    port = free_port()
    lis = Proc([wt, "--tls", "--cert", pki["server_cert"], "--key", pki["server_key"],
                "--listen", f"127.0.0.1:{port}"])
    try:
        t(lis.wait_out(f"Listening on 127.0.0.1:{port}", err=True), "TLS listener up",
          repr(lis.err))
        # First a raw TLS caller: handshake and priming in one record.
        c = TlsPeer(ca=pki["ca"])
        try:
            c.connect(port, server_hostname="localhost")
            first = c.s.recv(24)
            t(first == HANDSHAKE + PRIMING, "TLS listener: handshake and priming in one read",
              repr(first))
            c.send(frame("A", "ñ") + frame("A", "😀") + frame("A", "x\r\n"))
            t(lis.wait_out("ñ😀x\n"), "TLS listener: frames arrive", repr(lis.out))
            lis.send("adiós\n")
            lis.close_stdin()
            t(c.read_to_eof(5), "TLS listener closes after its input")
            t(c.got == frame("A", "adiós") + frame("A", "\r\n"), "after sending its line",
              repr(c.got))
        finally:
            c.close()
        t(lis.wait_exit(10) == 0, "TLS listener exits 0", repr(lis.err))
    finally:
        lis.kill()

    port = free_port()
    lis = Proc([wt, "--tls", "--cert", pki["server_cert"], "--key", pki["server_key"],
                "--listen", f"127.0.0.1:{port}"])
    try:
        t(lis.wait_out("Listening", err=True), "second TLS listener up")
        cal = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", f"localhost:{port}"],
                   env={"WINTALK_TLS_PORT": "1"})
        try:
            t(cal.wait_out("certificate verified", err=True), "wintalk to wintalk: verified",
              repr(cal.err))
            lis.send("hola desde el que escucha\n")
            cal.send(QUE + "\n")
            t(cal.wait_out("hola desde el que escucha\n"), "listener -> caller over TLS")
            t(lis.wait_out(QUE + "\n"), "caller -> listener over TLS: " + QUE)
            cal.send("last words")
            cal.close_stdin()
            t(cal.wait_exit(10) == 0, "caller exits 0", repr(cal.err))
            rc = lis.wait_exit(10)
            t(lis.out.endswith(b"last words\n") and rc == 0,
              "listener gets the last line and exits 0", f"rc={rc} {lis.out[-30:]!r}")
        finally:
            cal.kill()
    finally:
        lis.kill()


def default_port(t, wt, pki):
    """--tls without a port: WINTALK_TLS_PORT (5151 when unset); the plain
    WINTALK_PORT does not apply."""
    port = free_port()
    peer = TlsPeer(port, pki["server_cert"], pki["server_key"])
    p = Proc([wt, "--tls", "--ca", pki["ca"], "--connect", "localhost"],
             env={"WINTALK_TLS_PORT": str(port), "WINTALK_PORT": "1"})
    try:
        s = peer.accept()
        t(s is not None, "--tls --connect HOST uses WINTALK_TLS_PORT")
    finally:
        p.kill()
        peer.close()
    help_text = Proc([wt, "--help"])
    help_text.wait_exit(5)
    h = help_text.out.decode()
    t("5151" in h and "--insecure" in h and "  8  " in h and "  9  " in h,
      "--help tells the TLS port, options and exit statuses")


def command_line(t, wt, pki):
    for argv, needle, code in (
            (["--insecure", "--connect", "localhost"], "--insecure needs --tls", 2),
            (["--ca", pki["ca"], "--connect", "localhost"], "--ca needs --tls", 2),
            (["--tls", "--ca", pki["ca"], "--insecure", "--connect", "x"], "exclude", 2),
            (["--tls", "--listen", "127.0.0.1:1"], "needs --cert FILE and --key FILE", 2),
            (["--tls"], "needs --cert FILE and --key FILE", 2),
            (["--tls", "--cert", pki["server_cert"], "--connect", "x"], "go together", 2),
            (["--tls", "--ca", "/nonexistent/ca.pem", "--connect", "127.0.0.1:1"],
             "cannot read CA file /nonexistent/ca.pem", EXIT_LOCAL),
            (["--tls", "--ca", pki["server_key"], "--connect", "127.0.0.1:1"],
             "cannot use CA file", EXIT_LOCAL),
            (["--tls", "--cert", pki["server_cert"], "--key", pki["other_key"], "--listen",
              "127.0.0.1:1"], "does not match", EXIT_LOCAL)):
        p = Proc([wt, *argv], stdin=False)
        rc = p.wait_exit(10)
        t(rc == code and needle.encode() in p.err, f"{' '.join(argv[:3])}...: exit {code}",
          f"rc={rc} err={p.err!r}")


def main():
    a = args()
    require(shutil.which("openssl"), "the openssl command is missing")
    require(shutil.which("tmux"), "tmux is not installed")
    t = Check("client.tls")
    with tempfile.TemporaryDirectory(prefix="wintalk-tls-") as d:
        pki = make_pki(d)
        verified_talk(t, a.wintalk, pki, "localhost")
        verified_talk(t, a.wintalk, pki, "127.0.0.1")
        refusals(t, a.wintalk, pki)
        self_signed_trusted(t, a.wintalk, pki)
        old_server_is_real(t, pki)
        plain_port(t, a.wintalk)
        forged_record(t, a.wintalk, pki)
        insecure(t, a.wintalk, pki)
        large(t, a.wintalk, pki)
        two_wintalks(t, a.wintalk, pki)
        default_port(t, a.wintalk, pki)
        command_line(t, a.wintalk, pki)
        window(t, a.wintalk, pki)
        deadline(t, a.wintalk, pki)
    t.finish()


if __name__ == "__main__":
    main()
