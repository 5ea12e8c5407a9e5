#!/usr/bin/env python3
"""The terminal window, driven under tmux: live typing shows character by
character in the other wintalk's top pane, both ways; Backspace and Ctrl-U;
resize; PgUp/End scrolling; the log; quit with Ctrl-C / Ctrl-D giving the
terminal back; and a hostile peer's escape sequences neither retitle nor
clear the terminal.

Runs its own tmux server on a private socket and kills only that server.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wclib import HANDSHAKE, PRIMING, Check, RawPeer, args, frame, free_port, require  # noqa: E402

SOCK = f"wintalk-test-{os.getpid()}"
ENV = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")


def tmux(*a, check=True):
    r = subprocess.run(["tmux", "-L", SOCK, "-f", "/dev/null", *a], env=ENV,
                       capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise RuntimeError(f"tmux {a}: {r.stderr}")
    return r.stdout


def start(name, cmd, w=80, h=24):
    # The shell prints the exit status when wintalk is gone, then waits, so
    # the pane shows what the terminal looks like after wintalk.
    shell = f"{cmd}; echo EXITED:$?; sleep 120"
    tmux("new-session", "-d", "-s", name, "-x", str(w), "-y", str(h), "sh", "-c", shell)


def screen(name):
    return tmux("capture-pane", "-p", "-t", name).split("\n")


def wait_screen(name, pred, timeout=5.0):
    end = time.monotonic() + timeout
    lines = screen(name)
    while not pred(lines) and time.monotonic() < end:
        time.sleep(0.05)
        lines = screen(name)
    return pred(lines), lines


def has(text):
    return lambda lines: any(text in l for l in lines)


def keys(name, text):
    tmux("send-keys", "-t", name, "-l", text)


def key(name, k):
    tmux("send-keys", "-t", name, k)


def status_row(lines):
    for i, l in enumerate(lines):
        if l.startswith(("Connected to", "Listening on", "Peer closed")):
            return i
    return -1


def two_windows(t, wt, tmp):
    port = free_port()
    log = os.path.join(tmp, "talk.log")
    start("l", f"{wt} --listen 127.0.0.1:{port}")
    ok, _ = wait_screen("l", has(f"Listening on 127.0.0.1:{port}"))
    t(ok, "listener window shows 'Listening on'")
    start("c", f"{wt} --connect 127.0.0.1:{port} --log {log}")
    ok, _ = wait_screen("c", has(f"Connected to 127.0.0.1:{port}"))
    t(ok, "caller window shows 'Connected to host:port'")
    ok, _ = wait_screen("l", has("Connected to 127.0.0.1:"))
    t(ok, "listener window shows 'Connected to' its caller")

    # Live typing, one key at a time, seen at once in the other top pane.
    word = "hello"
    seen = 0
    for i in range(len(word)):
        keys("c", word[i])
        ok, lines = wait_screen("l", lambda ls: ls[0] == word[: i + 1])
        seen += ok
    t(seen == len(word), "each keystroke appears live in the peer's top pane",
      f"{seen}/{len(word)}")
    key("c", "Enter")
    keys("c", "¿Qué tal? 😀")
    ok, lines = wait_screen("l", lambda ls: ls[1].rstrip() == "¿Qué tal? 😀")
    t(ok, "Enter starts a new line; UTF-8 and a wide character arrive", repr(lines[:3]))
    ok, lines = wait_screen("c", has("¿Qué tal? 😀"))
    t(ok, "the caller's own box shows what it typed")

    key("c", "Enter")
    keys("c", "abc")
    wait_screen("l", lambda ls: ls[2] == "abc")
    key("c", "BSpace")
    ok, lines = wait_screen("l", lambda ls: ls[2] == "ab")
    t(ok, "Backspace erases in the peer's pane too", repr(lines[:3]))
    key("c", "C-u")
    ok, lines = wait_screen("l", lambda ls: all(l == "" for l in ls[:3]))
    t(ok, "Ctrl-U clears the box, and the peer's pane", repr(lines[:3]))

    # The other way.
    keys("l", "¡Hola! ñandú")
    key("l", "Enter")
    ok, lines = wait_screen("c", lambda ls: ls[0] == "¡Hola! ñandú")
    t(ok, "listener -> caller, live", repr(lines[:2]))

    # Resize the caller's window: the layout follows.
    tmux("resize-window", "-t", "c", "-x", "40", "-y", "12")
    keys("l", "x" * 50)
    ok, lines = wait_screen("c", lambda ls: len(ls) >= 12 and ls[1] == "x" * 40
                            and ls[2] == "x" * 10)
    t(ok, "after a resize to 40x12 long lines wrap at 40 columns", repr(lines))
    t(status_row(lines) == 7, "the status line sits above a 4-row box",
      f"row {status_row(lines)}")
    t(all(len(l) <= 40 for l in lines), "nothing drawn past the new width")

    # Scrollback: thirty lines, then PgUp and End.
    key("l", "Enter")
    for i in range(1, 31):
        keys("l", f"n{i:02d}")
        key("l", "Enter")
    ok, lines = wait_screen("c", has("n30"))
    t(ok and not has("n10")(lines), "the top pane follows the newest line")
    key("c", "PPage")
    key("c", "PPage")
    # Seven rows of top pane, PgUp moves six: n24..n30 becomes n12..n18.
    ok, lines = wait_screen("c", lambda ls: ls[0] == "n12" and has("scrolled")(ls))
    t(ok, "PgUp scrolls back and says so", repr(lines))
    before = lines[:7]
    keys("l", "n31")
    key("l", "Enter")
    time.sleep(0.5)
    t(screen("c")[:7] == before, "scrolled back, the view stays put as text arrives",
      repr(screen("c")[:7]))
    key("c", "End")
    ok, lines = wait_screen("c", has("n31"))
    t(ok, "End follows the newest line again")
    # The mouse wheel, as the terminal reports it (xterm's X10 encoding:
    # button 64 up, 65 down), typed into the pane.
    keys("c", "\x1b[M`!!")
    ok, lines = wait_screen("c", lambda ls: not has("n31")(ls) and has("n24")(ls))
    t(ok, "the mouse wheel scrolls up 3 rows", repr(lines))
    keys("c", "\x1b[Ma!!")
    ok, lines = wait_screen("c", lambda ls: has("n31")(ls) and not has("scrolled")(ls))
    t(ok, "and down again", repr(lines))

    # Quit with Ctrl-C: the terminal comes back, the peer is told.
    key("c", "C-c")
    ok, lines = wait_screen("c", has("EXITED:0"))
    t(ok, "Ctrl-C quits with status 0", repr(lines))
    t(status_row(lines) == -1, "the window is gone: the shell's screen is back")
    ok, _ = wait_screen("l", has("Peer closed the connection"))
    t(ok, "the other side shows 'Peer closed the connection'")
    key("l", "C-d")
    ok, _ = wait_screen("l", has("EXITED:0"))
    t(ok, "Ctrl-D quits with status 0")

    with open(log, encoding="utf-8") as f:
        text = f.read()
    t("me: ¿Qué tal? 😀" in text and "peer: ¡Hola! ñandú" in text,
      "--log has both sides' lines", repr(text[:300]))


def hostile(t, wt):
    port = free_port()
    raw = RawPeer(port)
    start("e", f"{wt} --connect 127.0.0.1:{port}")
    raw.accept()
    title = tmux("display", "-p", "-t", "e", "#{pane_title}").strip()
    raw.send(HANDSHAKE + PRIMING + frame("A", "before\r\n"))
    wait_screen("e", has("before"))
    raw.send(frame("A", "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x9b1m\r\nafter"))
    ok, lines = wait_screen("e", has("after"))
    t(ok, "text after the escape sequences shows")
    now = tmux("display", "-p", "-t", "e", "#{pane_title}").strip()
    t(now == title and "owned" not in now, "the pane title is unchanged",
      f"{title!r} -> {now!r}")
    t(has("before")(lines), "the screen was not cleared", repr(lines))
    t(has("␛]0;owned␇␛[2J␛[31mred\ufffd1m")(lines), "placeholders are shown", repr(lines))
    # Now a malformed frame: a plain message on a restored terminal.
    raw.send(b"A:")
    ok, lines = wait_screen("e", has("EXITED:6"))
    t(ok, "a malformed frame ends wintalk with status 6", repr(lines))
    t("broke the WINTALK protocol" in "".join(lines), "with a plain message", repr(lines))
    raw.close()

    port = free_port()
    raw = RawPeer(port)
    start("h", f"{wt} --connect 127.0.0.1:{port}")
    raw.accept()
    raw.send(b"NOT WINTALK!")
    ok, lines = wait_screen("h", has("EXITED:4"))
    t(ok and "handshake" in "".join(lines), "a wrong handshake: message and status 4",
      repr(lines))
    raw.close()


def main():
    a = args()
    require(shutil.which("tmux"), "tmux is not installed")
    t = Check("client.ui")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            two_windows(t, a.wintalk, tmp)
            hostile(t, a.wintalk)
        finally:
            tmux("kill-server", check=False)
    t.finish()


if __name__ == "__main__":
    main()
