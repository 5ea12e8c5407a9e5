"""Chat through the real gateway: two TCP and two WebSocket clients in one room."""
import socket
import time
import unittest

from gwtest import (Gateway, TcpClient, WsClient, collect, main, messages, units, frame,
                    resume, HANDSHAKE, PRIMING)

TEXT = "¿Qué tal? ñandú 😀"


class Room(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway()
        # The TCP clients come first, so the first one is guest-1.
        self.t1 = TcpClient(self.gw.tcp_port)
        self.t1.read_greeting()
        self.t2 = TcpClient(self.gw.tcp_port)
        self.t2.read_greeting()
        self.w1 = WsClient(self.gw.http_port)
        self.w1.hello(nick="alice")
        self.w2 = WsClient(self.gw.http_port)
        self.w2.hello(nick="bob")
        for t in (self.t1, self.t2):
            t.wait_text("* bob joined")
        self.w1.next_event(lambda e: e["type"] == "join" and e["nick"] == "bob")

    def tearDown(self):
        for c in (self.t1, self.t2, self.w1, self.w2):
            c.close()
        self.assertEqual(self.gw.stop(), 0)

    def test_line_typed_char_by_char_is_one_message(self):
        for ch in "hello there":
            self.t1.send(b"A1:" + ch.encode())
        self.t1.send(b"A2:\r\n")
        for w in (self.w1, self.w2):
            m = w.next_event(lambda e: e["type"] == "message")
            self.assertEqual(m["text"], "hello there")
            self.assertEqual(m["nick"], "guest-1")
            self.assertEqual(m["via"], "tcp")
            later = messages(collect(w, 0.4))
            self.assertEqual(later, [], "exactly one message")
        frames = self.t2.wait_text("hello there")
        self.assertEqual(frames[-1], ("A", "guest-1: hello there\r\n"))
        # Nothing partial reached the other TCP client before the line.
        for op, text in frames[:-1]:
            self.assertNotIn("hel", text)

    def test_browser_say_reaches_both_tcp(self):
        self.w1.send_json({"type": "say", "text": "hi from the web"})
        for t in (self.t1, self.t2):
            self.assertEqual(t.wait_text("hi from the web")[-1], ("A", "alice: hi from the web\r\n"))
        m = self.w2.next_event(lambda e: e["type"] == "message")
        self.assertEqual((m["nick"], m["via"], m["text"]), ("alice", "web", "hi from the web"))

    def test_unicode_and_utf16_counts(self):
        self.t1.send_frame("A", TEXT)
        self.t1.send(b"A2:\r\n")
        for w in (self.w1, self.w2):
            self.assertEqual(w.next_event(lambda e: e["type"] == "message")["text"], TEXT)
        # Read raw bytes on t2 and check the header's count is in UTF-16 units.
        line = "guest-1: " + TEXT + "\r\n"
        want = frame("A", line)
        self.assertIn(("A%d:" % units(line)).encode(), want)
        self.assertEqual(units(line), len(line.encode("utf-16-le")) // 2)
        got = self.t2.wait_text(TEXT)[-1]
        self.assertEqual(got, ("A", line))
        # And from a browser to TCP.
        self.w2.send_json({"type": "say", "text": TEXT})
        self.assertEqual(self.t1.wait_text("bob: ")[-1], ("A", "bob: " + TEXT + "\r\n"))

    def test_backspace_clear_and_edits(self):
        t, w = self.t1, self.w1
        t.type_chars("hello")
        t.send_frame("R", "hell")          # backspace
        t.send_frame("A", "\r\n")          # Enter: "hell"
        t.type_chars("ab")
        t.send_frame("R", "hell\r\na")     # backspace on the unfinished line
        t.send_frame("R", "")              # clear the box
        t.type_chars("xyz")
        t.send_frame("A", "\r\n")          # "xyz" (after the clear it is new)
        t.send_frame("R", "xYz\r\nq")      # edit an old line: not sent again
        t.send_frame("A", "\n")            # a bare \n ends a line too: "q"
        # The BRIEF's sequence: paste, Enter, "ab", Backspace, clear.
        t.send_frame("R", "")
        t.send(frame("A", "¿Qué tal? 😀") + b"A2:\r\n" + b"A1:aA1:b")
        t.send(frame("R", "¿Qué tal? 😀\r\na") + b"R0:")
        t.send(frame("A", "end\r\n"))
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 5 and time.monotonic() < deadline:
            got += [m["text"] for m in messages(w.recv_events(5))]
        got += [m["text"] for m in messages(collect(w, 0.4))]
        self.assertEqual(got, ["hell", "xyz", "q", "¿Qué tal? 😀", "end"])
        lines = [f[1] for f in self.t2.wait_text("guest-1: end")]
        self.assertEqual([x for x in lines if x.startswith("guest-1:")],
                         ["guest-1: hell\r\n", "guest-1: xyz\r\n", "guest-1: q\r\n",
                          "guest-1: ¿Qué tal? 😀\r\n", "guest-1: end\r\n"])

    def test_typing_is_forwarded_throttled(self):
        self.t1.type_chars("abcdefghijklmnopqrst")
        seen = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                ev = self.w1.next_event(lambda e: e["type"] == "typing", 0.5)
            except TimeoutError:
                break
            seen.append(ev["text"])
            if ev["text"] == "abcdefghijklmnopqrst":
                break
        self.assertEqual(seen[-1], "abcdefghijklmnopqrst")
        self.assertLess(len(seen), 20, "throttled: fewer updates than keystrokes")
        self.t1.send(b"A2:\r\n")
        self.w1.next_event(lambda e: e["type"] == "message")
        self.assertEqual(self.w1.next_event(lambda e: e["type"] == "typing")["text"], "")
        # A browser's typing reaches the other browser, not itself.
        self.w1.send_json({"type": "typing", "text": "hel"})
        ev = self.w2.next_event(lambda e: e["type"] == "typing" and e["nick"] == "alice")
        self.assertEqual(ev["text"], "hel")

    def test_commands_from_both_sides(self):
        self.t1.send_line("/nick robert")
        ev = self.w1.next_event(lambda e: e["type"] == "nick")
        self.assertEqual((ev["old"], ev["nick"], ev["via"]), ("guest-1", "robert", "tcp"))
        self.t2.wait_text("* guest-1 is now robert")
        self.w1.send_json({"type": "say", "text": "/who"})
        info = self.w1.next_event(lambda e: e["type"] == "info")
        self.assertEqual(info["code"], 211)
        self.assertEqual(info["text"],
                         "4 here: alice (web), bob (web), guest-2 (tcp), robert (tcp)")
        self.t2.send_line("/who")
        self.assertIn("4 here: alice (web)", self.t2.wait_text("here:")[-1][1])
        self.t2.send_line("/me waves")
        m = self.w2.next_event(lambda e: e["type"] == "message")
        self.assertEqual((m["text"], m["me"], m["nick"]), ("waves", True, "guest-2"))
        self.t1.wait_text("* guest-2 waves\r\n")
        self.w2.send_json({"type": "say", "text": "/help"})
        self.assertEqual(self.w2.next_event(lambda e: e["type"] == "info")["code"], 214)
        self.t1.send_line("/help")
        self.assertIn("/nick NAME", self.t1.wait_text("commands:")[-1][1])
        self.w2.send_json({"type": "say", "text": "//slash"})
        self.w1.next_event(lambda e: e.get("text") == "/slash")

    def test_nick_rules(self):
        cases = [("Robert", None), ("ROBERT", 553), ("guest-9", 553), ("9lives", 553),
                 ("a" * 25, 553), ("has space", 553), ("ñandú_1.x-y", None), ("😀", 553)]
        self.t1.send_line("/nick robert")
        self.w2.next_event(lambda e: e["type"] == "nick")
        for i, (nick, code) in enumerate(cases):
            self.w2.send_json({"type": "nick", "nick": nick, "ref": i})
            if code is None:
                ev = self.w2.next_event(lambda e: e["type"] in ("nick", "error"))
                if nick == "Robert":
                    self.assertEqual(ev["type"], "error", "taken regardless of case")
                    continue
                self.assertEqual((ev["type"], ev["nick"]), ("nick", nick))
            else:
                ev = self.w2.next_event(lambda e: e["type"] == "error")
                self.assertEqual((ev["code"], ev["ref"]), (553, i), nick)
        self.t2.send_line("/nick guest-7")
        self.assertIn("error 553", self.t2.wait_text("error")[-1][1])

    def test_first_bytes_and_transcript(self):
        s = socket.create_connection(("127.0.0.1", self.gw.tcp_port), timeout=5)
        first = s.recv(4096)
        self.assertGreaterEqual(len(first), 24, "handshake and priming in one segment")
        self.assertEqual(first[:24], HANDSHAKE + PRIMING)
        c = TcpClient.__new__(TcpClient)
        c.sock, c.timeout, c.pending, c.view = s, 5, [], ""
        from wtlib import FrameParser
        c.parser = FrameParser()
        c.pending.extend(c.parser.feed(first[24:]))
        op, text = c.read_frame()
        self.assertEqual(op, "R")
        self.assertIn("* alice joined (web)\r\n", text)
        # The transcript ends with its own join, then the line (its own,
        # not the transcript's) saying where it is.
        self.assertRegex(text, r"\* guest-3 joined \(tcp\)\r\n\* you are in #lobby \(\d+ here\)\r\n$")
        c.close()


class Resume(unittest.TestCase):
    def test_resume_by_last_id_gets_each_missed_message_once(self):
        with Gateway() as gw:
            talker = WsClient(gw.http_port)
            talker.hello(nick="talker")
            tcp = TcpClient(gw.tcp_port)
            tcp.read_greeting()
            w = WsClient(gw.http_port)
            epoch = w.hello(nick="reader")["epoch"]
            talker.send_json({"type": "say", "text": "before"})
            last = w.next_event(lambda e: e["type"] == "message")["id"]
            w.close()
            talker.next_event(lambda e: e["type"] == "leave")
            for i in range(5):
                talker.send_json({"type": "say", "text": "missed %d" % i})
                tcp.send_line("tcp missed %d" % i)
            talker.send_json({"type": "say", "text": "done"})
            talker.next_event(lambda e: e.get("text") == "done")
            w = WsClient(gw.http_port)
            welcome = resume(w, last, epoch, nick="reader")
            self.assertFalse(welcome["gap"])
            self.assertFalse(welcome["reset"])
            hist = welcome["history"]
            ids = [e["id"] for e in hist]
            self.assertEqual(ids, sorted(set(ids)), "no duplicates, in order")
            self.assertTrue(all(i > last for i in ids))
            texts = [e["text"] for e in hist if e["type"] == "message"]
            want = []
            for i in range(5):
                want += ["missed %d" % i, "tcp missed %d" % i]
            self.assertEqual(sorted(texts), sorted(want + ["done"]))
            self.assertEqual(len(texts), len(set(texts)))
            self.assertEqual(welcome["last_id"], max(ids))
            # Live events after the welcome do not repeat the history.
            talker.send_json({"type": "say", "text": "after"})
            later = messages(collect(w, 0.5))
            self.assertEqual([m["text"] for m in later], ["after"])
            self.assertGreater(later[0]["id"], welcome["last_id"])
            for c in (talker, tcp, w):
                c.close()


if __name__ == "__main__":
    main()
