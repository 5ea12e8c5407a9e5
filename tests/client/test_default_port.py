#!/usr/bin/env python3
"""No arguments: listen on the default port, and when it is in use call
127.0.0.1 on it instead, as the original does. The default port (5150) is
replaced by WINTALK_PORT so the test runs beside anything on 5150.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wclib import HANDSHAKE, PRIMING, Check, Proc, RawPeer, args, frame, free_port  # noqa: E402


def main():
    a = args()
    wt = a.wintalk
    t = Check("client.default_port")

    for argv, what in (([], "no arguments"), (["/L"], "/L"), (["-L"], "-L")):
        port = free_port()
        raw = RawPeer(port)  # someone listens on the port already
        p = Proc([wt] + argv, env={"WINTALK_PORT": str(port)})
        try:
            raw.accept()
            t(True, f"{what}: port in use, so it called 127.0.0.1:{port}")
            raw.send(HANDSHAKE + PRIMING + frame("A", "hola\r\n"))
            t(p.wait_out("hola\n"), f"{what}: talks to the listener")
            p.send("hi\n")
            t(raw.read_until(frame("A", "hi") + frame("A", "\r\n")), f"{what}: sends lines")
            raw.close()
            rc = p.wait_exit(10)
            t(rc == 0, f"{what}: exit 0", f"rc={rc}")
            t(b"in use" in p.err, f"{what}: says why it calls", repr(p.err))
        finally:
            p.kill()
            raw.close()

    # (With the port free it would listen on every address; tests listen on
    # 127.0.0.1 only, so that case is left to --listen 127.0.0.1:PORT in
    # test_pipe.py, which takes the same path.)

    # --listen is explicit: a port in use is an error, not a fallback.
    port = free_port()
    raw = RawPeer(port)
    p = Proc([wt, "--listen", f"127.0.0.1:{port}"])
    rc = p.wait_exit(10)
    t(rc == 3, "--listen on a port in use: exit 3", f"rc={rc}")
    raw.close()

    # --connect without a port uses the default port too.
    port = free_port()
    raw = RawPeer(port)
    p = Proc([wt, "--connect", "127.0.0.1"], env={"WINTALK_PORT": str(port)})
    try:
        raw.accept()
        t(True, "--connect HOST uses WINTALK_PORT")
    except OSError:
        t(False, "--connect HOST uses WINTALK_PORT")
    finally:
        p.kill()
        raw.close()
    t.finish()


if __name__ == "__main__":
    main()
