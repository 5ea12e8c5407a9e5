"""The reload grace, against the real gateway (--reload-grace): a wintalk.v2
browser that closes and comes back with its token in time is not seen
leaving or joining, by browsers or by WINTALK programs; a private message
sent to it meanwhile is not refused and comes back with it; with nobody
back, its leave comes when the grace ends, not before."""
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, collect, hello2, typed_line

V2 = "wintalk.v2"
GRACE_S = 3


def comings_and_goings(events, nick):
    return [e for e in events if e.get("type") in ("join", "leave") and e.get("nick") == nick]


def lines_about(frames, nick):
    return [f[1] for f in frames if ("* %s joined" % nick) in f[1] or ("* %s left" % nick) in f[1]]


class ReloadGrace(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway(args=("--reload-grace", str(GRACE_S))).__enter__()
        self.dora = TcpClient(self.gw.tcp_port)
        self.dora.read_greeting()
        typed_line(self.dora, "/nick dora")
        self.dora.wait_text("is now dora")
        self.bob = WsClient(self.gw.http_port, subprotocol=V2)
        hello2(self.bob, nick="bob", rooms={"#dev": 0})

    def tearDown(self):
        self.dora.close()
        self.bob.close()
        self.gw.__exit__(None, None, None)

    def alice(self, token=None, private_id=None):
        w = WsClient(self.gw.http_port, subprotocol=V2)
        welcome = hello2(w, nick=None if token else "alice", rooms={"#dev": 0}, token=token,
                         private_id=private_id)
        return w, welcome

    def test_a_reload_is_seen_by_nobody(self):
        w, first = self.alice()
        self.dora.wait_text("* alice joined")
        collect(self.bob, 0.3)
        w.close()
        w2, again = self.alice(token=first["token"])
        self.assertEqual(again["you"]["nick"], "alice")
        self.assertEqual(again["you"]["ident"], first["you"]["ident"])
        # Longer than the grace: her old connection ended when she came
        # back, and nothing is said of it at the grace's end either.
        events = collect(self.bob, GRACE_S + 1.5)
        self.assertEqual(comings_and_goings(events, "alice"), [])
        self.assertEqual(lines_about(self.dora.drain(0.5), "alice"), [])
        # She is there, and speaks as herself.
        w2.send_json({"type": "say", "room": "#dev", "text": "back already"})
        said = self.bob.next_event(lambda e: e.get("type") == "message")
        self.assertEqual((said["nick"], said["text"]), ("alice", "back already"))
        w2.close()

    def test_nobody_back_then_she_leaves_when_the_grace_ends(self):
        w, _ = self.alice()
        self.dora.wait_text("* alice joined")
        collect(self.bob, 0.3)
        closed = time.monotonic()
        w.close()
        frames = self.dora.wait_text("* alice left", timeout=GRACE_S + 5)
        waited = time.monotonic() - closed
        # Not before the grace (a wide margin below it), and soon after it.
        self.assertGreater(waited, GRACE_S - 1.0, frames)
        leaves = [e for e in collect(self.bob, 1.0) if e.get("type") == "leave"]
        self.assertEqual(sorted(e["room"] for e in leaves), ["#dev", "#lobby"])
        self.assertEqual({e["reason"] for e in leaves}, {"closed"})

    def test_a_private_message_while_she_is_away_for_a_moment(self):
        w, first = self.alice()
        self.dora.wait_text("* alice joined")
        w.close()
        time.sleep(0.3)
        typed_line(self.dora, "/msg alice are you there?")
        got = self.dora.drain(0.8)
        self.assertFalse([f for f in got if "error 550" in f[1]], got)
        w2, again = self.alice(token=first["token"], private_id=first["private_id"])
        self.assertIn("are you there?", [m["text"] for m in again["private"]])
        w2.close()

    def test_her_nick_is_hers_during_the_grace(self):
        w, _ = self.alice()
        self.dora.wait_text("* alice joined")
        w.close()
        time.sleep(0.3)
        carol = WsClient(self.gw.http_port, subprotocol=V2)
        # The 553 comes before the welcome, which names her a guest.
        carol.send_json({"type": "hello", "nick": "alice"})
        err = carol.next_event(lambda e: e.get("type") in ("error", "welcome"))
        self.assertEqual((err["type"], err.get("code")), ("error", 553))
        welcome = carol.next_event(lambda e: e.get("type") == "welcome")
        self.assertTrue(welcome["you"]["nick"].startswith("guest-"), welcome["you"])
        carol.close()


if __name__ == "__main__":
    unittest.main()
