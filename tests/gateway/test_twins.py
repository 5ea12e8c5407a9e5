"""Two tabs of one identity (the second hello passes the first's token) are
one person: the participant lists of a welcome and of a joined reply name
her once and count her once, and so do a WINTALK peer's /who and the
"(N here)" of its pane; on a real gateway, with real sockets."""
import re
import unittest

from gwtest import Gateway, TcpClient, WsClient, hello2, main, room_of, typed_line

V2 = "wintalk.v2"


def nicks(view):
    return sorted(p["nick"] for p in view["participants"])


class OneGateway(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.gw.stop()

    def ws(self):
        w = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w)
        return w

    def test_two_tabs_are_listed_and_counted_once(self):
        tab1 = self.ws()
        first = hello2(tab1, nick="alice", rooms={"#lobby": 0, "#dev": 0})
        tab2 = self.ws()
        second = hello2(tab2, rooms={"#lobby": 0, "#dev": 0}, token=first["token"])
        self.assertEqual(second["you"]["nick"], "alice")
        self.assertNotEqual(second["you"]["pid"], first["you"]["pid"])
        # The second tab's own welcome has her once.
        self.assertEqual(nicks(room_of(second, "#lobby")), ["alice"])
        self.assertEqual(room_of(second, "#lobby")["participants_count"], 1)

        # A WINTALK peer arriving: "(N here)" counts people.
        t = TcpClient(self.gw.tcp_port)
        self.clients.append(t)
        _, (_, greeting) = t.read_greeting()
        self.assertIn("* you are in #lobby (2 here)", greeting)
        typed_line(t, "/nick bob")
        t.wait_text("bob")
        typed_line(t, "/who")
        got = t.wait_text(" here:")
        who = [f[1] for f in got if " here:" in f[1]][-1]
        self.assertRegex(who, r"2 here: ")
        self.assertEqual(len(re.findall(r"\balice \(web\)", who)), 1, who)
        # Its pane in #dev too.
        typed_line(t, "/join #dev")
        t.wait_text("* you are in #dev (2 here)")

        # A third browser: its welcome and its joined reply list her once.
        carol = self.ws()
        w = hello2(carol, nick="carol", rooms={"#lobby": 0})
        lobby = room_of(w, "#lobby")
        self.assertEqual(nicks(lobby), ["alice", "carol"])
        self.assertEqual(lobby["participants_count"], 2)
        carol.send_json({"type": "join", "room": "#dev"})
        joined = carol.next_event(lambda e: e.get("type") == "joined")
        self.assertEqual(nicks(joined), ["alice", "bob", "carol"])
        self.assertEqual(joined["participants_count"], 3)
        # The entry is one of her tabs'.
        alice = [p for p in joined["participants"] if p["nick"] == "alice"][0]
        self.assertIn(alice["pid"], (first["you"]["pid"], second["you"]["pid"]))
        # The tab not listed types: the entry shows it.
        other = tab1 if alice["pid"] == second["you"]["pid"] else tab2
        other.send_json({"type": "typing", "room": "#dev", "text": "hel"})
        carol.next_event(lambda e: e.get("type") == "typing" and e.get("text") == "hel")
        erin = self.ws()
        dev = room_of(hello2(erin, nick="erin", rooms={"#dev": 0}), "#dev")
        self.assertEqual([(p["nick"], p["typing"]) for p in dev["participants"]
                          if p["nick"] == "alice"], [("alice", "hel")])

        # The first tab closes: she is there still, listed once by the other.
        tab1.close()
        self.clients.remove(tab1)
        dave = self.ws()
        w = hello2(dave, nick="dave", rooms={"#dev": 0})
        dev = room_of(w, "#dev")
        self.assertEqual(nicks(dev), ["alice", "bob", "carol", "dave", "erin"])
        self.assertEqual(dev["participants_count"], 5)
        alice = [p for p in dev["participants"] if p["nick"] == "alice"][0]
        self.assertEqual(alice["pid"], second["you"]["pid"])


if __name__ == "__main__":
    main()
