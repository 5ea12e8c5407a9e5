"""Event ids across a real restart of the gateway.

Ids start again at 1 when the gateway starts, so a last_id means something
only in the run (the epoch) that gave it. A browser that saw 6 events, and
comes back after a restart to a gateway that already has 9, must be told its
history was reset and get the new run's latest events: never a welcome that
says gap:false with only events 7, 8 and 9 of the new run.
"""
import re
import unittest

from gwtest import Gateway, TcpClient, WsClient, main, resume

EPOCH_RE = re.compile(r"[0-9a-f]{16}")


def ids(events):
    return [e["id"] for e in events]


class RestartResume(unittest.TestCase):
    def run_events(self, gw, lines, prefix):
        """A TCP participant joins and says `lines` lines; returns it."""
        t = TcpClient(gw.tcp_port)
        t.read_greeting()
        for i in range(lines):
            t.send_line("%s %d" % (prefix, i + 1))
        t.wait_text("%s %d" % (prefix, lines))
        return t

    def test_resume_after_restart_is_reset_not_a_silent_gap(self):
        # First run: the browser sees events 1..6 (its own join, a TCP
        # participant's join, four lines).
        gw = Gateway()
        w = WsClient(gw.http_port)
        first = w.hello(nick="reader")
        old_epoch = first.get("epoch")
        t = self.run_events(gw, 4, "old")
        seen = []
        while not seen or seen[-1]["id"] < 6:
            seen.append(w.next_event(lambda e: "id" in e))
        self.assertEqual(ids(seen), [1, 2, 3, 4, 5, 6])
        last_id = seen[-1]["id"]
        t.close()
        w.close()
        self.assertEqual(gw.stop(), 0)

        # Second run: 9 events before the browser comes back.
        with Gateway() as gw2:
            t2 = self.run_events(gw2, 8, "new")
            w2 = WsClient(gw2.http_port)
            wel = resume(w2, last_id, old_epoch, nick="reader")
            self.assertIs(wel.get("reset"), True,
                          "resumed with last_id %d of an earlier run: got last_id %s, gap %s, "
                          "history %s" % (last_id, wel.get("last_id"), wel.get("gap"),
                                          ids(wel["history"])))
            self.assertNotEqual(ids(wel["history"]), [7, 8, 9])
            # The latest history of the new run, from its first event.
            self.assertEqual(ids(wel["history"]), list(range(1, 10)))
            self.assertEqual([e["text"] for e in wel["history"] if e["type"] == "message"],
                             ["new %d" % i for i in range(1, 9)])
            self.assertEqual(wel["last_id"], 9)
            self.assertTrue(wel["gap"])
            self.assertRegex(wel["epoch"], EPOCH_RE)
            self.assertRegex(old_epoch, EPOCH_RE)
            self.assertNotEqual(wel["epoch"], old_epoch)
            new_epoch = wel["epoch"]

            # A last_id without any epoch cannot be trusted either.
            w3 = WsClient(gw2.http_port)
            wel3 = resume(w3, last_id, None)
            self.assertIs(wel3["reset"], True)
            self.assertEqual(ids(wel3["history"])[:9], list(range(1, 10)))

            # With the current epoch, resuming is as before: what came after.
            w4 = WsClient(gw2.http_port)
            wel4 = resume(w4, last_id, new_epoch)
            self.assertIs(wel4["reset"], False)
            self.assertFalse(wel4["gap"])
            self.assertEqual(ids(wel4["history"]), list(range(7, wel4["last_id"] + 1)))
            self.assertEqual(wel4["epoch"], new_epoch)
            for c in (t2, w2, w3, w4):
                c.close()


if __name__ == "__main__":
    main()
