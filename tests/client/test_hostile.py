#!/usr/bin/env python3
"""Peers that break the rules: a wrong handshake, none at all, a malformed
frame, escape sequences; and the exit statuses for them. Each case must end
with a plain message on stderr and its documented status, never a crash.
(The same escape sequences in the terminal window: test_ui.py.)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wclib import HANDSHAKE, PRIMING, Check, Proc, RawPeer, args, frame, free_port  # noqa: E402

EXIT_CONNECT, EXIT_HANDSHAKE, EXIT_TIMEOUT, EXIT_PROTOCOL, EXIT_USAGE = 3, 4, 5, 6, 2


def caller_against(wt, send, close=True, wait=10):
    """Run wintalk --connect against a raw listener that sends `send`."""
    port = free_port()
    raw = RawPeer(port)
    cal = Proc([wt, "--connect", f"127.0.0.1:{port}"])
    try:
        raw.accept()
        if send:
            raw.send(send)
        if close:
            time.sleep(0.2)
            raw.close()
        rc = cal.wait_exit(wait)
        return rc, cal.out, cal.err.decode("utf-8", "replace")
    finally:
        cal.kill()
        raw.close()


def main():
    a = args()
    wt = a.wintalk
    t = Check("client.hostile")

    rc, _, err = caller_against(wt, b"HELLO WORLD!", close=False)
    t(rc == EXIT_HANDSHAKE, "wrong handshake: exit 4", f"rc={rc}")
    t("handshake" in err, "wrong handshake: says so", err)

    rc, _, err = caller_against(wt, b"", close=True)
    t(rc == EXIT_HANDSHAKE, "closed before the handshake: exit 4", f"rc={rc}")

    start = time.monotonic()
    rc, _, err = caller_against(wt, b"", close=False, wait=15)
    took = time.monotonic() - start
    t(rc == EXIT_TIMEOUT, "no handshake: exit 5", f"rc={rc} err={err}")
    t(4.5 < took < 9, "no handshake: gives up after 5 s", f"{took:.1f}s")
    t("within 5 s" in err, "no handshake: says so", err)

    for bad, why in ((b"A:", "empty length"),
                     (b"A12345678901234567890:", "20-character header"),
                     (b"Ax5:", "not a number"),
                     (b"A9999999999999:", "length over the cap")):
        rc, _, err = caller_against(wt, HANDSHAKE + PRIMING + frame("A", "ok") + bad,
                                    close=False)
        t(rc == EXIT_PROTOCOL, f"malformed frame ({why}): exit 6", f"rc={rc} err={err}")
        t("protocol" in err, f"malformed frame ({why}): says so", err)

    # Escape sequences from the peer come out as visible placeholders.
    evil = "\x1b]0;owned\x07\x1b[2Jafter\x9b31m\r\n"
    rc, out, err = caller_against(wt, HANDSHAKE + PRIMING + frame("A", evil))
    t(rc == 0, "escape sequences: talk goes on, exit 0 at close", f"rc={rc}")
    t(b"\x1b" not in out and b"\x07" not in out and b"\xc2\x9b" not in out,
      "no ESC, BEL or CSI byte reaches stdout", repr(out))
    t("␛]0;owned␇␛[2Jafter\ufffd31m\n".encode() in out, "placeholders shown instead",
      repr(out))

    # Nobody listening.
    port = free_port()
    p = Proc([wt, "--connect", f"127.0.0.1:{port}"])
    rc = p.wait_exit(10)
    t(rc == EXIT_CONNECT, "connection refused: exit 3", f"rc={rc}")
    t(b"cannot connect" in p.err, "connection refused: says so", repr(p.err))

    # A bad command line.
    p = Proc([wt, "--connect"])
    rc = p.wait_exit(5)
    t(rc == EXIT_USAGE, "bad command line: exit 2", f"rc={rc}")
    p = Proc([wt, "--help"])
    rc = p.wait_exit(5)
    t(rc == 0 and b"Exit status" in p.out, "--help lists the exit statuses")

    # The listener gets garbage from a caller.
    port = free_port()
    lis = Proc([wt, "--listen", f"127.0.0.1:{port}"])
    try:
        lis.wait_out("Listening", err=True)
        raw = RawPeer()
        raw.connect(port)
        raw.send(b"GET / HTTP/1.1\r\n\r\n")
        rc = lis.wait_exit(10)
        t(rc == EXIT_PROTOCOL, "listener fed HTTP: exit 6", f"rc={rc} err={lis.err!r}")
        raw.close()
    finally:
        lis.kill()
    t.finish()


if __name__ == "__main__":
    main()
