"""Common setup for the gateway's integration tests (imports tests/lib/wtlib)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from wtlib import *  # noqa: E402,F401,F403
import wtlib  # noqa: E402,F401


def messages(events):
    return [e for e in events if e.get("type") == "message"]


def resume(ws, last_id, epoch, nick=None, timeout=None):
    """hello with the last event id seen and the epoch of the welcome it was
    seen under (None: left out); returns the welcome."""
    return ws.hello(nick=nick, last_id=last_id, epoch=epoch, timeout=timeout)


def typed_line(t, text):
    """A line typed key by key, as the original .NET program sends it: a
    frame per keystroke, then CRLF."""
    for ch in text:
        t.send_frame("A", ch)
    t.send_frame("A", "\r\n")


def hello2(w, nick=None, rooms=None, epoch=None, token=None, private_id=None, key=None,
           timeout=10):
    """A wintalk.v2 hello with the fields given; returns the welcome."""
    msg = {"type": "hello"}
    for k, v in (("nick", nick), ("rooms", rooms), ("epoch", epoch), ("token", token),
                 ("private_id", private_id), ("key", key)):
        if v is not None:
            msg[k] = v
    w.send_json(msg)
    return w.next_event(lambda e: e.get("type") == "welcome", timeout)


def collect(ws, seconds):
    """Every event a browser gets within `seconds`."""
    out = []
    import time
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        try:
            out.extend(ws.recv_events(left))
        except TimeoutError:
            return out


def room_of(welcome, name):
    """A welcome's entry for the room called name (compared as rooms are)."""
    for r in welcome["rooms"]:
        if r["room"].lower() == name.lower():
            return r
    raise AssertionError("%s not in the welcome's rooms %r" %
                         (name, [r["room"] for r in welcome["rooms"]]))


class Reader:
    """Every event a browser gets (those that came in the welcome's batch
    first), read by a thread of its own until finish() or its end."""

    def __init__(self, ws):
        import threading
        self.ws = ws
        self.events = list(getattr(ws, "_backlog", []))
        ws._backlog = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                self.events.extend(collect(self.ws, 0.2))
            except (ConnectionError, OSError, ValueError):
                return

    def finish(self):
        self.stop = True
        self.thread.join(5)
        return self.events

    close = finish


def main():
    unittest.main(verbosity=2)
