"""Bad input on either transport gets a clear answer; everyone else carries on."""
import json
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, collect, main, messages, frame


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway()
        cls.tcp = TcpClient(cls.gw.tcp_port)
        cls.tcp.read_greeting()
        cls.web = WsClient(cls.gw.http_port)
        cls.web.hello(nick="witness")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.tcp.close()
        cls.web.close()
        assert cls.gw.stop() == 0

    def others_still_chat(self):
        """The witness TCP client and browser still talk both ways."""
        type(self).n += 1
        a = "from tcp %d" % self.n
        b = "from web %d" % self.n
        self.tcp.send_line(a)
        self.web.next_event(lambda e: e.get("text") == a)
        self.web.send_json({"type": "say", "text": b})
        self.tcp.wait_text("witness: " + b)

    # ---- TCP ----

    def tcp_bad(self, data, why):
        c = TcpClient(self.gw.tcp_port)
        c.read_greeting()
        c.send(b"A2:ok" + data)
        frames = c.wait_text("error")
        self.assertIn(why, frames[-1][1])
        self.assertTrue(frames[-1][1].startswith("* error 5"), frames[-1])
        self.assertTrue(frames[-1][1].endswith("\r\n"))
        # Then the gateway closes the connection.
        c.sock.settimeout(5)
        rest = b""
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            rest += chunk
        c.close()
        line = self.gw.wait_log("reason=\"malformed frame: " if "frame" in why else "reason=\"")
        self.assertIn("disconnect tcp peer=127.0.0.1:", line)
        self.others_still_chat()

    def test_tcp_header_too_long(self):
        self.tcp_bad(b"A1234567890123456789:x", "malformed frame")

    def test_tcp_empty_length(self):
        self.tcp_bad(b"A:", "malformed frame")

    def test_tcp_bad_digits(self):
        self.tcp_bad(b"A1x:", "malformed frame")

    def test_tcp_oversized_frame(self):
        self.tcp_bad(b"A70000:", "error 552")

    def test_tcp_letter_colon(self):
        self.tcp_bad(b"::", "malformed frame")

    def test_tcp_control_characters_are_stripped(self):
        c = TcpClient(self.gw.tcp_port)
        c.read_greeting()
        c.send(frame("A", "he\x1b[31mllo\x07 there\x00!\x7f\u0085\r\n"))
        m = self.web.next_event(lambda e: e["type"] == "message" and e["via"] == "tcp")
        self.assertEqual(m["text"], "he[31mllo there!")
        self.tcp.wait_text("he[31mllo there!")
        c.close()
        self.others_still_chat()

    def test_tcp_invalid_utf8_is_replaced(self):
        c = TcpClient(self.gw.tcp_port)
        c.read_greeting()
        c.send(b"A4:a\xffb\xfe" + b"A2:\r\n")
        m = self.web.next_event(lambda e: e["type"] == "message" and e["via"] == "tcp")
        self.assertEqual(m["text"], "a\ufffdb\ufffd")
        c.close()
        self.others_still_chat()

    # ---- WebSocket ----

    def ws_error(self, payload, code, hello=True, ref=None):
        w = WsClient(self.gw.http_port)
        if hello:
            w.hello()
        if isinstance(payload, (dict, list)):
            w.send_json(payload)
        else:
            w.send_text(payload)
        ev = w.next_event(lambda e: e["type"] == "error")
        self.assertEqual(ev["code"], code, ev)
        self.assertTrue(ev["message"])
        if ref is not None:
            self.assertEqual(ev["ref"], ref)
        # The connection stays open and usable.
        if hello:
            w.send_json({"type": "say", "text": "still here %d" % code})
            w.next_event(lambda e: e.get("text") == "still here %d" % code)
        w.close()
        self.others_still_chat()

    def test_ws_not_json(self):
        self.ws_error("{oops", 500)

    def test_ws_not_an_object(self):
        self.ws_error("[1,2]", 500)
        self.ws_error("42", 500)

    def test_ws_not_utf8(self):
        self.ws_error(b'{"type":"say","text":"\xff"}', 500)

    def test_ws_unknown_type(self):
        self.ws_error({"type": "shout", "text": "x", "ref": "r1"}, 502, ref="r1")

    def test_ws_missing_type(self):
        self.ws_error({"text": "x"}, 501)

    def test_ws_bad_fields(self):
        self.ws_error({"type": "say"}, 501)
        self.ws_error({"type": "say", "text": 5, "ref": 7}, 501, ref=7)
        self.ws_error({"type": "say", "text": ""}, 501)
        self.ws_error({"type": "nick"}, 501)
        self.ws_error({"type": "say", "text": "x", "ref": {"no": 1}}, 501)

    def test_ws_bad_hello(self):
        self.ws_error({"type": "hello", "last_id": "x"}, 501, hello=False)
        self.ws_error({"type": "hello", "last_id": -1}, 501, hello=False)

    def test_ws_sequence(self):
        self.ws_error({"type": "say", "text": "too early"}, 503, hello=False)
        self.ws_error({"type": "hello"}, 503)

    def test_ws_unknown_command(self):
        self.ws_error({"type": "say", "text": "/dance now"}, 502)

    def test_ws_text_too_long(self):
        self.ws_error({"type": "say", "text": "x" * 5000}, 552)

    def test_ws_binary(self):
        w = WsClient(self.gw.http_port)
        w.hello()
        w.send_frame(2, b"\x00\x01")
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 500)
        w.send_json({"type": "say", "text": "after binary"})
        w.next_event(lambda e: e.get("text") == "after binary")
        w.close()
        self.others_still_chat()

    def test_ws_oversized_closes_1009(self):
        w = WsClient(self.gw.http_port)
        w.hello()
        w.send_text(json.dumps({"type": "say", "text": "x" * 70000}))
        ev = w.next_event(lambda e: e["type"] == "error")
        self.assertEqual(ev["code"], 552)
        closed = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = w.recv(5)
            if m[0] == "close":
                closed = m[1]
                break
        self.assertEqual(closed, 1009)
        w.close()
        self.gw.wait_log("reason=\"message too large")
        self.others_still_chat()

    def test_ws_control_characters_are_stripped(self):
        w = WsClient(self.gw.http_port)
        w.hello(nick="ctl")
        w.send_json({"type": "say", "text": "a\u001b[2Jb\u0007c\r\nd\u0000e"})
        ev = self.web.next_event(lambda e: e.get("nick") == "ctl" and e["type"] == "message")
        self.assertEqual(ev["text"], "a[2Jbc\nde")
        self.tcp.wait_text("ctl: a[2Jbc\r\n  de\r\n")
        w.close()
        self.others_still_chat()

    def test_ws_wrong_key_is_refused(self):
        with Gateway(args=["--key", "s3cret"]) as gw:
            w = WsClient(gw.http_port)
            w.send_json({"type": "hello", "key": "nope"})
            self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 530)
            self.assertEqual(w.recv(5)[:2], ("close", 1008))
            ok = WsClient(gw.http_port)
            self.assertEqual(ok.hello(key="s3cret")["code"], 220)
            ok.close()
            w.close()

    def test_rate_limit(self):
        with Gateway(args=["--rate", "2"]) as gw:
            w = WsClient(gw.http_port)
            w.hello()
            for i in range(10):
                w.send_json({"type": "say", "text": "spam %d" % i})
            evs = collect(w, 1.0)
            self.assertGreaterEqual(len(messages(evs)), 1)
            self.assertLessEqual(len(messages(evs)), 5)
            self.assertTrue(any(e["type"] == "error" and e["code"] == 429 for e in evs))
            w.close()


if __name__ == "__main__":
    main()
