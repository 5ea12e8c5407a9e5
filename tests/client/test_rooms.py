#!/usr/bin/env python3
"""A hub's rooms and private messages in the terminal window, under tmux.

A raw Python WINTALK peer on 127.0.0.1 plays the hub: it sends the
transcript of #dev in an R frame ending with the hub's own line
"* you are in #dev (3 here)", then a private message in an A frame. The
window's status line must then read exactly "#dev | Connected to ...", the
private line must stand out (colour, bold) while other lines do not, and
users' lines that only contain such text ("nick: * you are in ...") must
change nothing. A further R ending "* you are in #lobby (2 here)" moves the
status line to #lobby. In pipe mode and in the log the same lines are
plain, unchanged text. --help and the manual page tell the hub's commands
and the room on the status line.

Runs its own tmux server on a private socket and kills only that server.
"""

import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wclib import (HANDSHAKE, PRIMING, Check, Proc, RawPeer, Tmux, args, frame,  # noqa: E402
                   free_port, require)

W, H = 80, 24
# The layout of wc_ui.c: at 24 rows the box has 4, the status line is
# right above it.
STATUS_ROW = H - 4 - 1
KEYS = "PgUp/PgDn scroll  ^U clear  ^C quit"

DEV = ("* alice joined\r\n"
       "alice: welcome to #dev\r\n"
       "mallory: * you are in #evil (1 here)\r\n"
       "* you are in #dev (3 here)\r\n")
LOBBY = ("* bob joined\r\n"
         "bob: lobby talk\r\n"
         "* you are in #lobby (2 here)\r\n")


def status_row(text):
    """The status row exactly as drawn on a W-column window: the text from
    the first column, the keys ending one column before the edge, spaces
    (in reverse video) everywhere else."""
    return text.ljust(W - len(KEYS) - 1) + KEYS + " "


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def styled_lines(text):
    """capture-pane -e output as (line, bold, foreground) per row: the
    attributes in force at the row's first character (tmux only writes
    changes, so they are followed from the top)."""
    bold, fg, rows = False, None, []
    for raw in text.split("\n"):
        plain, first = "", None
        pos = 0
        for m in SGR.finditer(raw):
            chunk = raw[pos:m.start()]
            if chunk and first is None:
                first = (bold, fg)
            plain += chunk
            params = [int(p) if p else 0 for p in m.group(1).split(";")]
            i = 0
            while i < len(params):
                p = params[i]
                if p == 0:
                    bold, fg = False, None
                elif p == 1:
                    bold = True
                elif p == 22:
                    bold = False
                elif 30 <= p <= 37 or 90 <= p <= 97:
                    fg = p
                elif p == 39:
                    fg = None
                elif p in (38, 48) and i + 1 < len(params):
                    if p == 38:
                        fg = tuple(params[i:i + 3])
                    i += 2 if params[i + 1] == 5 else 4
                i += 1
            pos = m.end()
        chunk = raw[pos:]
        if chunk and first is None:
            first = (bold, fg)
        plain += chunk
        rows.append((plain, *(first or (bold, fg))))
    return rows


def decode_frames(data):
    """The text a stream of WINTALK frames leaves in the receiver's view."""
    view, i = "", 0
    while i < len(data):
        op = data[i:i + 1]
        colon = data.index(b":", i)
        units = int(data[i + 1:colon])
        j, got = colon + 1, 0
        while got < units:
            c = data[j]
            n = 1 if c < 0x80 else 2 if c < 0xE0 else 3 if c < 0xF0 else 4
            got += 2 if n == 4 else 1
            j += n
        text = data[colon + 1:j].decode("utf-8")
        view = text if op == b"R" else view + text
        i = j
    return view


class Window:
    def __init__(self, tm):
        self.tm = tm

    def lines(self):
        # -N keeps trailing spaces: the status row is compared whole.
        return self.tm("capture-pane", "-p", "-N", "-t", "w").split("\n")

    def styled(self):
        return styled_lines(self.tm("capture-pane", "-p", "-e", "-t", "w"))

    def wait(self, pred, timeout=5.0):
        end = time.monotonic() + timeout
        lines = self.lines()
        while not pred(lines) and time.monotonic() < end:
            time.sleep(0.05)
            lines = self.lines()
        return pred(lines), lines

    def wait_status(self, text, timeout=5.0):
        want = status_row(text)
        ok, lines = self.wait(lambda ls: len(ls) > STATUS_ROW and ls[STATUS_ROW] == want,
                              timeout)
        return ok, (lines[STATUS_ROW] if len(lines) > STATUS_ROW else lines)

    def wait_text(self, text, timeout=5.0):
        return self.wait(lambda ls: any(text in l for l in ls), timeout)


def style_of(rows, text):
    """(bold, foreground) of the first row that starts with text."""
    for plain, bold, fg in rows:
        if plain.startswith(text):
            return bold, fg
    return None


def window(t, wt, tmp):
    tm = Tmux(f"wintalk-rooms-{os.getpid()}")
    port = free_port()
    log = os.path.join(tmp, "rooms.log")
    raw = RawPeer(port)
    try:
        tm("new-session", "-d", "-s", "w", "-x", str(W), "-y", str(H), "sh", "-c",
           f"{wt} --connect 127.0.0.1:{port} --log {log}; echo EXITED:$?; sleep 120")
        raw.accept()
        win = Window(tm)
        conn = f"Connected to 127.0.0.1:{port}"

        # A peer that says nothing of rooms: the status line as it always was.
        raw.send(HANDSHAKE + PRIMING + frame("A", "hello\r\n"))
        ok, row = win.wait_status(conn)
        t(ok, "before any room line, the status line is only 'Connected to'", repr(row))

        # The hub's first transcript of #dev, its own line last.
        raw.send(frame("R", DEV))
        ok, row = win.wait_status(f"#dev | {conn}")
        t(ok, "after an R ending '* you are in #dev (3 here)' the status line is "
              "'#dev | Connected to ...'", repr(row))

        raw.send(frame("A", "* alice -> you: hi\r\n"))
        ok, lines = win.wait_text("* alice -> you: hi")
        t(ok, "the private message shows in the top pane", repr(lines[:6]))
        rows = win.styled()
        got = style_of(rows, "* alice -> you: hi")
        t(got == (True, 35), "a private message received is bold magenta", repr(got))
        got = style_of(rows, "alice: welcome to #dev")
        t(got == (False, None), "a user's line is plain", repr(got))
        got = style_of(rows, "* you are in #dev (3 here)")
        t(got == (False, None), "the hub's room line is plain", repr(got))

        # Users' lines holding the same text change nothing.
        raw.send(frame("A", "mallory: * you are in #evil (1 here)\r\n"
                            "mallory: * alice -> you: fake\r\n"
                            " * you are in #evil (1 here)\r\n"
                            "* you are in #evil (1 here) and more\r\n"
                            "end of fakes\r\n"))
        ok, lines = win.wait_text("end of fakes")
        t(ok and lines[STATUS_ROW] == status_row(f"#dev | {conn}"),
          "lines that only contain a room line leave the status line at #dev",
          repr(lines[STATUS_ROW]))
        got = style_of(win.styled(), "mallory: * alice -> you: fake")
        t(got == (False, None), "a user's line holding a private line is plain", repr(got))

        # The user types a hub command: it goes as a line, like any other.
        tm("send-keys", "-t", "w", "-l", "/join #lobby")
        tm("send-keys", "-t", "w", "Enter")
        ok = raw.read_until(b"\r\n")
        sent = decode_frames(raw.got) if ok else ""
        t(sent == "/join #lobby\r\n", "'/join #lobby' is sent as a line", repr(raw.got))

        # The hub answers with the lobby's transcript.
        raw.send(frame("R", LOBBY))
        ok, row = win.wait_status(f"#lobby | {conn}")
        t(ok, "after an R ending '* you are in #lobby (2 here)' the status line is "
              "'#lobby | Connected to ...'", repr(row))
        lines = win.lines()
        t([l.rstrip() for l in lines[:3]] == ["* bob joined", "bob: lobby talk", "* you are in #lobby (2 here)"]
          and not any("alice" in l for l in lines),
          "the pane is the lobby's transcript only", repr(lines[:5]))

        raw.send(frame("A", "* you -> alice: see you\r\n"))
        ok, lines = win.wait_text("* you -> alice: see you")
        got = style_of(win.styled(), "* you -> alice: see you")
        t(ok and got == (False, 35), "a private message sent is magenta, not bold", repr(got))

        # A room line still being written does not count until it ends.
        raw.send(frame("A", "* you are in #next (1 here)"))
        ok, lines = win.wait_text("* you are in #next (1 here)")
        t(ok and lines[STATUS_ROW] == status_row(f"#lobby | {conn}"),
          "an unfinished room line leaves the room as it was", repr(lines[STATUS_ROW]))
        raw.send(frame("A", "\r\n"))
        ok, row = win.wait_status(f"#next | {conn}")
        t(ok, "once its line ends, it counts", repr(row))

        # The hub goes away: no room any more.
        raw.close()
        ok, row = win.wait_status("Peer closed the connection (Ctrl-C to quit)")
        t(ok, "after the peer closed, the status line names no room", repr(row))
        tm("send-keys", "-t", "w", "C-c")
        ok, lines = win.wait_text("EXITED:0")
        t(ok, "Ctrl-C quits with status 0", repr(lines[-4:]))
    finally:
        raw.close()
        tm("kill-server")

    with open(log, encoding="utf-8") as f:
        text = f.read()
    t("peer: * alice -> you: hi\n" in text and "peer: * you -> alice: see you\n" in text,
      "the log has the private lines as they came", repr(text[-400:]))


def pipe(t, wt):
    """Pipe mode: the same lines, byte for byte, and no room on stderr."""
    port = free_port()
    raw = RawPeer(port)
    p = Proc([wt, "--connect", f"127.0.0.1:{port}"])
    try:
        raw.accept()
        raw.send(HANDSHAKE + PRIMING + frame("R", DEV))
        raw.send(frame("A", "* alice -> you: hi\r\n* you -> alice: ok\r\n"))
        p.wait_out("* you -> alice: ok\n")
        raw.close()
        rc = p.wait_exit(10)
    finally:
        p.kill()
        raw.close()
    want = DEV.replace("\r\n", "\n") + "* alice -> you: hi\n* you -> alice: ok\n"
    t(p.out.decode("utf-8", "replace") == want,
      "pipe mode prints the hub's lines unchanged", repr(p.out))
    t(rc == 0, "pipe mode ends with status 0 when the peer closes", f"rc={rc}")
    err = p.err.decode("utf-8", "replace")
    t("#dev" not in err, "pipe mode's status lines do not change", repr(err))


HUB_COMMANDS = ("/join #room", "/part", "/rooms", "/who", "/msg NICK text", "/nick NAME",
                "/me ACTION", "/help")


def docs(t, wt):
    p = Proc([wt, "--help"], stdin=False)
    rc = p.wait_exit(5)
    h = p.out.decode("utf-8", "replace")
    missing = [c for c in HUB_COMMANDS if c not in h]
    t(rc == 0 and not missing and "#dev | Connected to" in h,
      "--help tells the hub's commands and the room on the status line", f"missing {missing}")
    page = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                        "native-client", "wintalk.1")
    with open(page, encoding="utf-8") as f:
        # The commands as the page writes them: roff font changes aside.
        man = re.sub(r"\\f[BIRP]|\\", "", f.read())
    man = re.sub(r"\n\.(?:BI|BR|IR|B|I) ", "\n", man).replace('"', "")
    man = re.sub(r" +", " ", man)
    missing = [c for c in HUB_COMMANDS if c not in man]
    t(not missing and ".SH WITH A HUB" in man and "#dev | Connected to" in man,
      "the manual page tells the hub's commands and the room on the status line",
      f"missing {missing}")


def main():
    a = args()
    require(shutil.which("tmux"), "tmux is not installed")
    t = Check("client.rooms")
    with tempfile.TemporaryDirectory() as tmp:
        window(t, a.wintalk, tmp)
        pipe(t, a.wintalk)
    docs(t, a.wintalk)
    t.finish()


if __name__ == "__main__":
    main()
