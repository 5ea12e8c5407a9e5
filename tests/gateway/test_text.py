"""Text rules through the real gateway: nicks that would pass for someone
else's are refused, names are compared after NFC and case folding, no
direction control reaches a WINTALK peer, and a transcript line too long for
the transcript is cut but still ends its line."""
import unicodedata
import unittest

from gwtest import Gateway, TcpClient, WsClient, main

# Characters that show as nothing or reorder what is shown around them.
INVISIBLE = {
    "\u3164": "HANGUL FILLER",
    "\u115f": "HANGUL CHOSEONG FILLER",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE",
    "\u061c": "ARABIC LETTER MARK",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u200f": "RIGHT-TO-LEFT MARK",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
}
REFUSED = "nick may not hold invisible, formatting, control or direction characters"
DIRECTION = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


class Text(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway()

    @classmethod
    def tearDownClass(cls):
        assert cls.gw.stop() == 0

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def tcp(self):
        c = TcpClient(self.gw.tcp_port)
        c.read_greeting()
        self.clients.append(c)
        return c

    def web(self, nick=None):
        w = WsClient(self.gw.http_port)
        self.clients.append(w)
        if nick is not None:
            w.hello(nick=nick)
        return w

    def hello_events(self, w, nick):
        """Send hello; every event up to and including the welcome."""
        w.send_json({"type": "hello", "nick": nick, "ref": "h"})
        got = []
        while not got or got[-1]["type"] != "welcome":
            got.append(w.next_event())
        return got

    def test_browser_hello_with_invisible_nick_gets_553(self):
        for ch, name in INVISIBLE.items():
            w = self.web()
            events = self.hello_events(w, "alice" + ch)
            errors = [e for e in events if e["type"] == "error"]
            self.assertEqual([(e["code"], e["message"], e["ref"]) for e in errors],
                             [(553, REFUSED, "h")], name)
            # It joins all the same, as a guest.
            self.assertTrue(events[-1]["you"]["nick"].startswith("guest-"), name)
            w.close()

    def test_browser_nick_with_invisible_character_gets_553(self):
        w = self.web("carol")
        for i, (ch, name) in enumerate(INVISIBLE.items()):
            w.send_json({"type": "nick", "nick": "carol" + ch, "ref": i})
            ev = w.next_event(lambda e: e["type"] in ("error", "nick"))
            self.assertEqual((ev["type"], ev.get("code"), ev.get("message"), ev.get("ref")),
                             ("error", 553, REFUSED, i), name)

    def test_tcp_nick_with_invisible_character_gets_553_line(self):
        t = self.tcp()
        for ch, name in INVISIBLE.items():
            t.send_line("/nick dave" + ch)
            while True:  # the answer: an error, or a rename
                line = t.read_frame()[1]
                if "error" in line or " is now " in line:
                    break
            self.assertEqual(line, "* error 553: " + REFUSED + "\r\n", name)
        # None of them renamed it: it is still a guest when it takes "dave".
        t.send_line("/nick dave")
        self.assertRegex(t.wait_text(" is now dave")[-1][1], r"^\* guest-\d+ is now dave\r\n$")

    def test_names_compare_after_nfc_and_case_folding(self):
        self.web("Erin")
        w = self.web()
        events = self.hello_events(w, "ERIN")
        self.assertEqual([(e["code"], e["message"]) for e in events if e["type"] == "error"],
                         [(553, 'nick "ERIN" is taken')])
        precomposed = unicodedata.normalize("NFC", "José")
        decomposed = unicodedata.normalize("NFD", "José")
        self.assertNotEqual(precomposed, decomposed)
        self.web(precomposed)
        t = self.tcp()
        t.send_line("/nick " + decomposed)
        self.assertEqual(t.wait_text("error")[-1][1],
                         '* error 553: nick "%s" is taken\r\n' % precomposed)
        w.send_json({"type": "nick", "nick": "JOSE\u0301", "ref": 5})
        ev = w.next_event(lambda e: e["type"] in ("error", "nick"))
        self.assertEqual((ev["type"], ev.get("code"), ev.get("message")),
                         ("error", 553, 'nick "JOS\u00c9" is taken'))
        # A decomposed nick nobody has is taken, and shown composed.
        t.send_line("/nick Rene\u0301")
        line = t.wait_text(" is now ")[-1][1]
        self.assertTrue(line.endswith(" is now Ren\u00e9\r\n"), line)

    def test_browser_say_reaches_tcp_without_direction_controls(self):
        t = self.tcp()
        w = self.web("frank")
        text = "pay \u202eroF\u202c now \u2067x\u2069 \u200fy\u061c\u200e"
        w.send_json({"type": "say", "text": text})
        line = t.wait_text("frank: ")[-1][1]
        self.assertEqual(line, "frank: pay roF now x y\r\n")
        for ch in DIRECTION:
            self.assertNotIn(ch, t.view)
        # A newcomer's copy of the transcript has none either.
        t2 = self.tcp()
        self.assertIn("frank: pay roF now x y\r\n", t2.view)
        for ch in DIRECTION:
            self.assertNotIn(ch, t2.view)

    def test_long_multiline_say_keeps_its_line_end(self):
        t = self.tcp()
        w = self.web("grace")
        t.wait_text("* grace joined")
        # 4095 bytes of text (the line limit is 4096), 9000 bytes for a TCP
        # peer: each "\n" is shown as "\r\n  ", an indented next line.
        text = "\u20ac\n\n" * 819
        self.assertEqual(len(text.encode()), 4095)
        w.send_json({"type": "say", "text": text})
        w.send_json({"type": "say", "text": "next"})
        # Frames are decoded as UTF-8 as they arrive: a cut inside a
        # character would fail here.
        t.wait_text("grace: next")
        view = t.view
        self.assertTrue(view.endswith("\r\ngrace: next\r\n"), repr(view[-80:]))
        start = view.rindex("grace: \u20ac\r\n")
        long_line = view[start:view.rindex("grace: next")]
        self.assertTrue(long_line.endswith(" \u2026\r\n"), repr(long_line[-20:]))
        self.assertEqual(long_line.count("\r\n  "), long_line.count("\r\n") - 1)
        size = len(long_line.encode())
        self.assertLessEqual(size, 8192)
        self.assertGreater(size, 8192 - 8)
        self.assertEqual(view.count("grace: next"), 1)


if __name__ == "__main__":
    main()
