"""Rooms and private messages through the real gateway: WINTALK peers that
type like the original .NET program (a frame per keystroke, CRLF line ends),
browsers on wintalk.v2 in several rooms, the wintalk.v1 page in #lobby only,
/msg across transports, resume of every room and of private messages with
the resume token, and the limits."""
import time
import unittest

from gwtest import (Gateway, TcpClient, WsClient, WsRefused, collect, hello2, main, room_of,
                    typed_line)

V2 = "wintalk.v2"


def quiet(w, seconds=0.4):
    """Events that arrive within `seconds` (and the backlog)."""
    out = list(getattr(w, "_backlog", []))
    w._backlog = []
    return out + collect(w, seconds)


class Rooms(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway()
        self.t1 = TcpClient(self.gw.tcp_port)
        _, (op, text) = self.t1.read_greeting()
        self.t2 = TcpClient(self.gw.tcp_port)
        self.t2.read_greeting()
        # The first pane is one R: the lobby's transcript and where it is.
        self.assertEqual(op, "R")
        self.assertIn("* you are in #lobby", text)
        typed_line(self.t1, "/nick dora")
        typed_line(self.t2, "/nick ed")
        self.t2.wait_text("* guest-2 is now ed")
        self.w = WsClient(self.gw.http_port, subprotocol=V2)
        self.assertEqual(self.w.protocol, V2)
        self.welcome = hello2(self.w, nick="alice", rooms={"#lobby": 0, "#dev": 0})

    def tearDown(self):
        for c in (self.t1, self.t2, self.w):
            c.close()
        self.assertEqual(self.gw.stop(), 0)

    def test_welcome_lists_each_room(self):
        self.assertEqual(self.welcome["protocol"], V2)
        self.assertEqual([r["room"] for r in self.welcome["rooms"]], ["#lobby", "#dev"])
        lobby = room_of(self.welcome, "#lobby")
        self.assertEqual(sorted(p["nick"] for p in lobby["participants"]),
                         ["alice", "dora", "ed"])
        dev = room_of(self.welcome, "#dev")
        self.assertEqual([p["nick"] for p in dev["participants"]], ["alice"])
        self.assertRegex(self.welcome["token"], "^[0-9a-f]{32}$")

    def test_join_replaces_the_pane_and_rooms_do_not_mix(self):
        self.t1.send_frame("A", "x")  # typing, then the command on its own line
        self.t1.send_frame("R", "")
        typed_line(self.t1, "/join #dev")
        frames = self.t1.wait_text("* you are in #dev (2 here)")
        op, text = frames[-1]
        self.assertEqual(op, "R")
        self.assertTrue(text.endswith("* dora joined (tcp)\r\n* you are in #dev (2 here)\r\n"),
                        text)
        # dora in #dev, ed in #lobby: their lines do not cross.
        typed_line(self.t1, "in dev")
        typed_line(self.t2, "in lobby")
        self.t2.wait_text("ed: in lobby")
        self.t1.wait_text("dora: in dev")
        time.sleep(0.3)
        self.t1.drain()
        self.t2.drain()
        self.assertNotIn("in lobby", self.t1.view)
        self.assertNotIn("in dev", self.t2.view)
        # The browser in both sees both, each marked with its room.
        evs = [e for e in quiet(self.w, 0.5) if e.get("type") == "message"]
        self.assertIn(("#dev", "dora", "in dev"), [(e["room"], e["nick"], e["text"]) for e in evs])
        self.assertIn(("#lobby", "ed", "in lobby"), [(e["room"], e["nick"], e["text"]) for e in evs])
        # Ids count per room.
        dev_ids = [e["id"] for e in evs if e["room"] == "#dev"]
        self.assertEqual(dev_ids, sorted(dev_ids))
        # /part takes dora back to #lobby, with its transcript.
        typed_line(self.t1, "/part")
        op, text = self.t1.wait_text("* you are in #lobby (3 here)")[-1]
        self.assertEqual(op, "R")
        self.assertIn("ed: in lobby\r\n", text)
        self.assertNotIn("dora: in dev", text)
        # The browser saw dora leave #dev and join #lobby.
        evs = quiet(self.w, 0.5)
        self.assertIn(("leave", "#dev", "dora"),
                      [(e["type"], e.get("room"), e.get("nick")) for e in evs])
        self.assertIn(("join", "#lobby", "dora"),
                      [(e["type"], e.get("room"), e.get("nick")) for e in evs])

    def test_typing_is_seen_in_its_room_only(self):
        w2 = WsClient(self.gw.http_port, subprotocol=V2)
        hello2(w2, nick="bob")  # #lobby only
        quiet(self.w)
        typed_line(self.t1, "/join #dev")
        self.t1.wait_text("* you are in #dev")
        quiet(w2)
        quiet(self.w)
        self.t1.send_frame("A", "secret plans")
        ev = self.w.next_event(lambda e: e.get("type") == "typing" and e.get("nick") == "dora")
        self.assertEqual((ev["room"], ev["text"]), ("#dev", "secret plans"))
        self.assertEqual([e for e in quiet(w2, 0.6) if e.get("type") == "typing"], [])
        w2.close()

    def test_browser_say_join_part_and_rooms(self):
        self.w.send_json({"type": "say", "room": "#dev", "text": "hello dev"})
        ev = self.w.next_event(lambda e: e.get("type") == "message")
        self.assertEqual((ev["room"], ev["text"]), ("#dev", "hello dev"))
        self.t1.drain()
        self.assertNotIn("hello dev", self.t1.view)
        # Not in a room: 501.
        self.w.send_json({"type": "say", "room": "#ops", "text": "x", "ref": 1})
        err = self.w.next_event(lambda e: e.get("type") == "error")
        self.assertEqual((err["code"], err.get("ref")), (501, 1))
        # join and part requests, and the same as commands.
        self.w.send_json({"type": "join", "room": "#Ops"})
        j = self.w.next_event(lambda e: e.get("type") == "joined")
        self.assertEqual((j["code"], j["room"]), (250, "#Ops"))
        self.w.send_json({"type": "say", "room": "#ops", "text": "/rooms"})
        info = self.w.next_event(lambda e: e.get("type") == "info")
        self.assertIn("#lobby (3)", info["text"])
        self.assertIn("#dev (1)", info["text"])
        self.assertIn("#Ops (1)", info["text"])
        self.w.send_json({"type": "part", "room": "#OPS"})
        p = self.w.next_event(lambda e: e.get("type") == "parted")
        self.assertEqual(p["room"], "#Ops")
        self.w.send_json({"type": "part", "room": "#lobby", "ref": "l"})
        err = self.w.next_event(lambda e: e.get("type") == "error")
        self.assertEqual((err["code"], err.get("ref")), (501, "l"))
        self.w.send_json({"type": "say", "room": "#dev", "text": "/who"})
        who = self.w.next_event(lambda e: e.get("type") == "info")
        self.assertEqual(who["text"], "1 here: alice (web)")
        # Bad names: 553, and nothing changes.
        for bad in ("#", "dev", "#" + "x" * 33, "#a b", "#ü"):
            self.w.send_json({"type": "join", "room": bad})
            err = self.w.next_event(lambda e: e.get("type") == "error")
            self.assertEqual(err["code"], 553, bad)
        typed_line(self.t2, "/join #no/way")
        self.t2.wait_text("* error 553")
        typed_line(self.t2, "/part")
        self.t2.wait_text("* error 501: you are in #lobby")

    def test_private_messages_across_transports(self):
        quiet(self.w)
        self.w.send_json({"type": "say", "room": "#lobby", "text": "/msg dora psst"})
        op, text = self.t1.wait_text("psst")[-1]
        self.assertEqual((op, text), ("A", "* alice -> you: psst\r\n"))
        mine = self.w.next_event(lambda e: e.get("type") == "message" and e.get("private"))
        self.assertEqual((mine["nick"], mine["to"], mine["with"], mine["text"]),
                         ("alice", "dora", "dora", "psst"))
        self.assertNotIn("room", mine)
        typed_line(self.t1, "/msg alice back at you")
        self.t1.wait_text("* you -> alice: back at you")
        got = self.w.next_event(lambda e: e.get("type") == "message" and e.get("private"))
        self.assertEqual((got["nick"], got["to"], got["with"], got["text"]),
                         ("dora", "alice", "dora", "back at you"))
        self.assertGreater(got["id"], mine["id"])
        # Nobody else sees any of it.
        time.sleep(0.3)
        self.t2.drain()
        self.assertNotIn("psst", self.t2.view)
        self.assertNotIn("back at you", self.t2.view)
        self.assertNotIn("psst", self.gw.log_text())
        # The JSON request, an unknown nick, and yourself.
        self.w.send_json({"type": "msg", "to": "ED", "text": "hi ed"})
        self.t2.wait_text("* alice -> you: hi ed")
        self.w.send_json({"type": "msg", "to": "nobody", "text": "x", "ref": 9})
        err = self.w.next_event(lambda e: e.get("type") == "error")
        self.assertEqual((err["code"], err.get("ref")), (550, 9))
        typed_line(self.t2, "/msg nobody x")
        self.t2.wait_text("* error 550: no one is called nobody")
        typed_line(self.t2, "/msg ed me")
        self.t2.wait_text("* error 501")

    def test_lines_that_could_pass_for_the_gateway_are_refused(self):
        typed_line(self.t2, "/nick You")
        self.t2.wait_text("* error 553")
        typed_line(self.t2, "/me -> you: fake")
        self.t2.wait_text("* error 501")
        self.t1.drain()
        self.assertNotIn("fake", self.t1.view)


class V1(unittest.TestCase):
    def test_v1_page_is_one_room(self):
        with Gateway() as gw:
            old = WsClient(gw.http_port)  # wintalk.v1
            w = old.hello(nick="old")
            self.assertEqual(w["protocol"], "wintalk.v1")
            self.assertIn("last_id", w)
            # Offering both: the client's order decides.
            both = WsClient(gw.http_port, subprotocol="wintalk.v1, wintalk.v2")
            self.assertEqual(both.protocol, "wintalk.v1")
            both.close()
            new = WsClient(gw.http_port, subprotocol="wintalk.v2, wintalk.v1")
            self.assertEqual(new.protocol, V2)
            hello2(new, nick="new", rooms={"#lobby": 0, "#dev": 0})
            new.send_json({"type": "say", "room": "#dev", "text": "dev only"})
            new.send_json({"type": "say", "room": "#lobby", "text": "for all"})
            m = old.next_event(lambda e: e.get("type") == "message")
            self.assertEqual(m["text"], "for all")
            old.send_json({"type": "join", "room": "#dev", "ref": 2})
            err = old.next_event(lambda e: e.get("type") == "error")
            self.assertEqual((err["code"], err.get("ref")), (501, 2))
            new.send_json({"type": "msg", "to": "old", "text": "private"})
            info = old.next_event(lambda e: e.get("type") == "info")
            self.assertEqual(info["text"], "new -> you: private")
            self.assertNotIn("dev only", str(quiet(old)))
            old.close()
            new.close()


class Resume(unittest.TestCase):
    def test_every_room_and_private_messages_with_the_token(self):
        # Away past the reload grace: without one, she is gone at once
        # (test_reload.py has the grace itself).
        with Gateway(args=("--reload-grace", "0")) as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            typed_line(t, "/nick dora")
            t.wait_text("is now dora")
            w = WsClient(gw.http_port, subprotocol=V2)
            first = hello2(w, nick="alice", rooms={"#lobby": 0, "#dev": 0})
            epoch, token = first["epoch"], first["token"]
            w.send_json({"type": "say", "room": "#dev", "text": "seen in dev"})
            seen = w.next_event(lambda e: e.get("type") == "message" and e["room"] == "#dev")
            typed_line(t, "seen in lobby")
            seen_l = w.next_event(lambda e: e.get("type") == "message" and e["room"] == "#lobby")
            typed_line(t, "/msg alice seen privately")
            seen_p = w.next_event(lambda e: e.get("private"))
            w.close()
            t.wait_text("* alice left")
            # Missed while away: two lobby lines, a dev line, two private ones.
            typed_line(t, "missed 1")
            typed_line(t, "/join #dev")
            t.wait_text("* you are in #dev")
            typed_line(t, "missed in dev")
            typed_line(t, "/msg alice missed privately")
            t.wait_text("* error 550")  # alice is away: no one to deliver to now
            typed_line(t, "/part")
            t.wait_text("* you are in #lobby")
            # An impostor who takes the nick gets no private messages.
            imp = WsClient(gw.http_port, subprotocol=V2)
            iw = hello2(imp, nick="alice", rooms={"#lobby": seen_l["id"], "#dev": seen["id"]},
                        epoch=epoch, private_id=0)
            self.assertEqual(iw["private"], [])
            self.assertNotEqual(iw["token"], token)
            imp.close()
            t.wait_text("* alice left")
            w = WsClient(gw.http_port, subprotocol=V2)
            back = hello2(w, nick="alice", rooms={"#lobby": seen_l["id"], "#dev": seen["id"]},
                          epoch=epoch, token=token, private_id=seen_p["id"])
            self.assertEqual(back["you"]["nick"], "alice")
            self.assertEqual(back["token"], token)
            self.assertFalse(back["reset"])
            lobby, dev = room_of(back, "#lobby"), room_of(back, "#dev")
            self.assertFalse(lobby["gap"] or dev["gap"])
            texts = [e.get("text") for e in lobby["history"] if e["type"] == "message"]
            self.assertEqual(texts, ["missed 1"])
            self.assertEqual([e["id"] for e in lobby["history"]],
                             sorted(e["id"] for e in lobby["history"]))
            self.assertTrue(all(e["id"] > seen_l["id"] for e in lobby["history"]))
            texts = [e.get("text") for e in dev["history"] if e["type"] == "message"]
            self.assertEqual(texts, ["missed in dev"])
            self.assertEqual(back["private"], [])  # the one sent while away was refused
            # Private messages sent while connected on another tab are kept.
            w2 = WsClient(gw.http_port, subprotocol=V2)
            hello2(w2, rooms={"#lobby": 0}, epoch=epoch, token=token)
            typed_line(t, "/msg alice to both tabs")
            for c in (w, w2):
                got = c.next_event(lambda e: e.get("private"))
                self.assertEqual(got["text"], "to both tabs")
            w.close()
            w2.close()
            w = WsClient(gw.http_port, subprotocol=V2)
            again = hello2(w, rooms={"#lobby": 0}, epoch=epoch, token=token,
                           private_id=seen_p["id"])
            self.assertEqual([e["text"] for e in again["private"]], ["to both tabs"])
            w.close()
            t.close()


class Limits(unittest.TestCase):
    def test_rooms_limits(self):
        with Gateway(args=["--max-rooms", "3", "--max-rooms-per-browser", "2"]) as gw:
            a = WsClient(gw.http_port, subprotocol=V2)
            hello2(a, nick="a", rooms={"#lobby": 0, "#one": 0})
            a.send_json({"type": "join", "room": "#two", "ref": 1})
            err = a.next_event(lambda e: e.get("type") == "error")
            self.assertEqual((err["code"], err.get("ref")), (452, 1))
            b = WsClient(gw.http_port, subprotocol=V2)
            hello2(b, nick="b", rooms={"#lobby": 0, "#two": 0})
            c = WsClient(gw.http_port, subprotocol=V2)
            hello2(c, nick="c")
            c.send_json({"type": "join", "room": "#three", "ref": 3})
            err = c.next_event(lambda e: e.get("type") == "error")
            self.assertEqual((err["code"], err.get("ref")), (452, 3))
            # b leaves #two, which is then empty: a new room may take its place.
            b.send_json({"type": "part", "room": "#two"})
            b.next_event(lambda e: e.get("type") == "parted")
            c.send_json({"type": "join", "room": "#three"})
            self.assertEqual(c.next_event(lambda e: e.get("type") == "joined")["room"], "#three")
            for w in (a, b, c):
                w.close()


if __name__ == "__main__":
    main()
