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


def main():
    unittest.main(verbosity=2)
