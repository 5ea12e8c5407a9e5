"""Hostile input against a running gateway (issue 7's acceptance).

One gateway with the limits an operator would run with (an access key, the
default message rate, a short HTTP timeout), and a well-behaved pair of
participants (one WINTALK program, one browser). Each test attacks it one
way; after EACH, the pair still chats both ways and the gateway's memory
stays within its build's bound above what it used at the start, read from
/proc/PID/status."""
import json
import os
import socket
import threading
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, WsRefused, collect, frame, http_get, main

KEY = "k3y-of-the-room"
HTTP_TIMEOUT_S = 3

# What the gateway may grow by, in KiB, over the whole suite. Its live data
# is bounded by the queue bounds of gw_limits.h (64 KiB per TCP peer,
# 512 KiB per browser, 1 MiB of history, 16 KiB of transcript), SQLite's
# page caches (2 MiB for each of its two connections), and the attackers
# here hold a few connections at a time. Measured growth is 8 MiB plain
# and 26 MiB under AddressSanitizer (its shadow memory, a 4 MiB quarantine
# and its size classes: the JSON bombs and the 4 KB lines of
# test_never_reads add 10 and 15 MiB there, under 1 and 7 MiB plain), so
# each build has its own bound.
RSS_GROWTH_MAX_KB = 20 * 1024
RSS_GROWTH_MAX_KB_SANITIZED = 48 * 1024


def read_until_closed(sock, timeout=5.0):
    """Everything sent until the peer closes (raises TimeoutError if it
    does not close in time)."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("not closed; got %r" % data[-200:])
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


class Hostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"}
        cls.gw = Gateway(args=["--access-key", KEY, "--rate", "10", "--typing-rate", "10",
                               "--http-timeout", str(HTTP_TIMEOUT_S)], env=env)
        cls.tcp = cls.login_tcp()
        cls.web = WsClient(cls.gw.http_port)
        cls.web.hello(nick="witness", key=KEY)
        cls.tcp.wait_text("* witness joined (web)")
        cls.n = 0
        time.sleep(0.2)
        cls.rss_base = cls.gw.rss_kb()
        cls.rss_peak = cls.rss_base
        cls.rss_bound = (RSS_GROWTH_MAX_KB_SANITIZED if cls.gw.sanitized()
                         else RSS_GROWTH_MAX_KB)

    @classmethod
    def tearDownClass(cls):
        print("RSS base %d KiB, peak %d KiB, growth %d KiB (bound %d KiB)"
              % (cls.rss_base, cls.rss_peak, cls.rss_peak - cls.rss_base, cls.rss_bound))
        cls.tcp.close()
        cls.web.close()
        rc = cls.gw.stop()
        print("gateway log (tail):\n" + "\n".join(cls.gw.log_text().splitlines()[-60:]))
        assert rc == 0

    @classmethod
    def login_tcp(cls, key=KEY):
        t = TcpClient(cls.gw.tcp_port)
        t.read_greeting()
        t.send_line("/login " + key)
        t.wait_text("joined (tcp)")
        return t

    def tearDown(self):
        """After each attack: the pair still chats, memory is bounded."""
        type(self).n += 1
        # The witnesses may have been sent 429s or events: skip them.
        a = "from tcp %d" % self.n
        b = "from web %d" % self.n
        time.sleep(0.25)  # the witness's own rate (10/s) is never in question
        # A WinTalk program reads what it is sent; one that did not while an
        # attack was going on catches up now (its view comes back whole).
        self.tcp.drain(0.3)
        self.tcp.send_line(a)
        self.web.next_event(lambda e: e.get("text") == a, 10)
        self.web.send_json({"type": "say", "text": b})
        self.tcp.wait_text("witness: " + b, 10)
        rss = self.gw.rss_kb()
        type(self).rss_peak = max(self.rss_peak, rss)
        self.assertLess(rss - self.rss_base, self.rss_bound,
                        "RSS %d KiB, base %d KiB" % (rss, self.rss_base))
        self.assertIsNone(self.gw.proc.poll(), "the gateway is still running")

    # ---- WINTALK over TCP ----

    def tcp_attack(self, payload, want):
        c = self.login_tcp()
        c.send(payload)
        data = read_until_closed(c.sock)
        c.close()
        self.assertIn(want, data)
        return data

    def test_malformed_frames(self):
        for bad in (b"A:x", b"Axyz:", b"\x01\x02\x03:", b"Z" * 25):
            self.tcp_attack(bad, b"* error 500: malformed frame")
        self.gw.wait_log("reason=\"malformed frame")

    def test_more_than_19_digits(self):
        # A letter and 18 digits is fine; 19 digits is a header of 20 characters.
        c = self.login_tcp()
        c.send(b"A000000000000000003:abc")
        c.send_line("after 18 digits")
        self.web.next_event(lambda e: e.get("text") == "abcafter 18 digits")
        c.close()
        self.tcp_attack(b"A1234567890123456789:x", b"* error 500: malformed frame")
        self.tcp_attack(b"A" + b"9" * 40 + b":x", b"* error 500: malformed frame")

    def test_oversized_frame(self):
        self.tcp_attack(b"A70000:" + b"x" * 1000, b"* error 552")

    def test_oversized_line(self):
        c = self.login_tcp()
        c.send(frame("A", "y" * 5000 + "\r\n"))
        c.wait_text("* error 552: message too long")
        c.send_line("short again")
        self.web.next_event(lambda e: e.get("text") == "short again")
        c.close()

    def test_invalid_utf8(self):
        c = self.login_tcp()
        c.send(b"A7:\xff\xfeok\xc3\r\n")
        ev = self.web.next_event(lambda e: e.get("type") == "message" and "ok" in e["text"])
        self.assertEqual(ev["text"].replace("\ufffd", ""), "ok")
        c.close()
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        w.send_frame(1, b'{"type":"say","text":"\xff\xfe"}')
        m = w.recv(5)
        # Either our 500, or libwebsockets closing for invalid UTF-8 (1007).
        if m[0] == "text":
            self.assertEqual(json.loads(m[1])["code"], 500)
        else:
            self.assertEqual(m[0], "close")
        w.close()

    def test_nul_flood(self):
        # NULs where a header is expected: malformed at once.
        self.tcp_attack(b"\x00" * 100000, b"* error 500: malformed frame")
        # NULs as text: removed from relayed text; an empty line is not sent.
        c = self.login_tcp()
        c.send(b"A60000:" + b"\x00" * 60000)
        c.send(b"A2:\r\n")
        c.send_line("after nuls")
        ev = self.web.next_event(lambda e: e.get("type") == "message" and e["nick"] != "witness")
        self.assertEqual(ev["text"], "after nuls")
        c.close()
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        w.send_text(json.dumps({"type": "say", "text": "\u0000" * 10000}))
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 501)
        w.close()

    # ---- JSON over WebSocket ----

    def test_json_bombs(self):
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        w.send_text("[" * 60000 + "]" * 10)
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 500)
        w.send_text('{"type":"say","text":' + "[" * 5000 + "]" * 5000 + "}")
        self.assertIn(w.next_event(lambda e: e["type"] == "error")["code"], (500, 501))
        w.send_text(json.dumps({"type": "say", "text": "z" * 60000}))
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 552)
        w.send_text(json.dumps({"type": "hello", "nick": "n" * 5000}))
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 552)
        # Over the message bound: 552, then close 1009.
        w.send_text(json.dumps({"type": "say", "text": "q" * 70000}))
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 552)
        self.assertEqual(w.recv(5)[:2], ("close", 1009))
        w.close()

    def test_malformed_ws_frames(self):
        # A fragmented message past the bound, then garbage framing.
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        # 17 fragments of 4000 bytes are the first past 64 KiB: the gateway
        # answers 552 and closes, so nothing more is sent (a send after its
        # close would reset the connection and lose the answer).
        for _ in range(65536 // 4000 + 1):
            w.send_frame(1 if _ == 0 else 0, b"x" * 4000, fin=False)
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 552)
        w.close()
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        w.sock.sendall(b"\x8f\x85\x00\x00\x00\x00hello")  # reserved opcode 0xF
        try:
            m = w.recv(5)
            self.assertEqual(m[0], "close")
        except ConnectionError:
            pass
        w.close()
        # An unmasked client frame. RFC 6455 (5.1) has a server close the
        # connection on one, with 1002. libwebsockets 4.1.6 (Debian 12),
        # which parses the frames, does not look at the mask bit of a
        # client's frame and tells its user nothing of it: it hands over
        # the payload as sent. So the answer is exactly what any payload
        # that is not JSON gets, one error 500, and the connection carries
        # on; a libwebsockets that closes with 1002 fails this test, on
        # purpose, for this comment and the test to change with it.
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        w.sock.sendall(b"\x81\x05hello")
        m = w.recv(5)
        self.assertEqual(m[0], "text", m)
        self.assertEqual(json.loads(m[1]),
                         {"type": "error", "code": 500, "message": "the message is not JSON"})
        w.send_json({"type": "say", "text": "masked again"})
        ev = w.next_event(lambda e: e["type"] in ("message", "error"))
        self.assertEqual((ev["type"], ev.get("text")), ("message", "masked again"), ev)
        w.close()

    def test_unknown_types(self):
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        for t in ("bogus", "", "HELLO", "say\u0000"):
            w.send_json({"type": t, "ref": 9})
            ev = w.next_event(lambda e: e["type"] == "error")
            self.assertEqual(ev["code"], 502)
            self.assertEqual(ev["ref"], 9)
        w.send_json({"type": 5})
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 501)
        w.send_frame(2, b"\x00" * 100)
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 500)
        w.close()

    # ---- HTTP ----

    def test_path_traversal(self):
        for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                     "/%252e%252e/%252e%252e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
                     "/..\\..\\etc\\passwd", "/.%2e/.%2e/etc/passwd", "//etc/passwd",
                     "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/index.html/../../etc/passwd",
                     "/%00/etc/passwd", "/%2fetc%2fpasswd", "/.%00./etc/passwd"):
            try:
                status, _, body = http_get(self.gw.http_port, path)
            except (ConnectionError, IndexError, ValueError):
                continue  # refused outright is fine too
            if "%00" not in path:  # lws ends the path at a NUL: what is left is ours
                self.assertIn(status, (400, 403, 404), path)
            self.assertNotIn(b"root:", body, path)

    def test_oversized_headers(self):
        s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        data = read_until_closed(s, 5)
        s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:80])
        # Many headers.
        s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200)) + b"\r\n")
        data = read_until_closed(s, 5)
        s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:80])

    def test_slowloris(self):
        # Requests that dribble in, a byte every 0.3 s: each is cut within
        # --http-timeout of its connection, and a normal request meanwhile
        # is served.
        socks = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        start = time.monotonic()
        closed = [None] * len(socks)
        while None in closed and time.monotonic() - start < HTTP_TIMEOUT_S + 4:
            for i, s in enumerate(socks):
                if closed[i] is not None:
                    continue
                try:
                    s.sendall(b"X")
                    s.settimeout(0.01)
                    if s.recv(4096) == b"":
                        closed[i] = time.monotonic() - start
                except socket.timeout:
                    pass
                except OSError:
                    closed[i] = time.monotonic() - start
            status, _, _ = http_get(self.gw.http_port, "/livez", timeout=2)
            self.assertEqual(status, 200)
            time.sleep(0.3)
        for s in socks:
            s.close()
        self.assertNotIn(None, closed, "a slow request was never cut")
        self.assertLess(max(closed), HTTP_TIMEOUT_S + 2.5, closed)

    # ---- policy ----

    def test_cross_origin_upgrade(self):
        with self.assertRaises(WsRefused) as cm:
            WsClient(self.gw.http_port, origin="http://evil.example")
        self.assertIn("403", str(cm.exception))
        self.gw.wait_log("origin http://evil.example is not this gateway")

    def test_wrong_key(self):
        w = WsClient(self.gw.http_port)
        w.send_json({"type": "hello", "key": "guess"})
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 530)
        self.assertEqual(w.recv(5)[:2], ("close", 1008))
        w.close()
        w = WsClient(self.gw.http_port)
        w.send_json({"type": "hello"})
        self.assertEqual(w.next_event(lambda e: e["type"] == "error")["code"], 530)
        w.close()
        # TCP: only the prompt until /login; not in the room, not listed.
        c = TcpClient(self.gw.tcp_port)
        first, (op, text) = c.read_greeting()
        self.assertEqual((op, text), ("R", "* this gateway needs an access key: type /login KEY\r\n"))
        c.send_line("hello?")
        self.assertEqual(c.read_frame()[1], "* error 530: access key required: type /login KEY\r\n")
        self.web.send_json({"type": "say", "text": "/who"})
        who = self.web.next_event(lambda e: e["type"] == "info")
        self.assertEqual(who["text"], "2 here: guest-1 (tcp), witness (web)")
        c.send_line("/login guess")
        data = read_until_closed(c.sock)
        self.assertIn(b"* error 530: wrong access key; closing", data)
        self.assertNotIn(b"witness", data)
        c.close()

    # ---- floods and slow readers ----

    def test_flood_of_lines(self):
        # 10,000 lines in about a second from one participant: 429s, then it
        # is disconnected for flooding; the room sees at most its burst.
        f = self.login_tcp()
        got = []
        reader_done = threading.Event()

        def reader():
            try:
                got.append(read_until_closed(f.sock, 15))
            except (TimeoutError, OSError) as e:
                got.append(repr(e).encode())
            reader_done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        start = time.monotonic()
        try:
            for i in range(100):
                f.send(b"".join(frame("A", "flood %d\r\n" % (i * 100 + j)) for j in range(100)))
                time.sleep(max(0, start + (i + 1) * 0.01 - time.monotonic()))
        except OSError:
            pass  # cut while still sending
        reader_done.wait(15)
        f.close()
        out = b"".join(got)
        self.assertIn(b"* error 429: too many messages: slow down", out)
        self.assertIn(b"* error 429: flooding far over the rate limit; closing", out)
        self.gw.wait_log("reason=\"flooding far over the rate limit\"")
        self.gw.wait_log("limit tcp ")
        seen = [e for e in collect(self.web, 1.0)
                if e.get("type") == "message" and e.get("text", "").startswith("flood ")]
        self.assertLessEqual(len(seen), 25)
        # A browser that floods: 429s, then close 1008.
        w = WsClient(self.gw.http_port)
        w.hello(key=KEY)
        try:
            for i in range(300):
                w.send_json({"type": "say", "text": "wflood %d" % i})
        except OSError:
            pass  # cut while still sending
        codes = set()
        closed = None
        deadline = time.monotonic() + 10
        while closed is None and time.monotonic() < deadline:
            m = w.recv(5)
            if m[0] == "close":
                closed = m[1]
            else:
                for e in json.loads(m[1]) if m[1].startswith("[") else [json.loads(m[1])]:
                    if e["type"] == "error":
                        codes.add(e["code"])
        self.assertIn(429, codes)
        self.assertEqual(closed, 1008)
        w.close()

    def test_never_reads(self):
        # One TCP participant and one browser never read while the room is
        # busy: their queues stay bounded, and the others are unaffected.
        st = socket.socket()
        st.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        st.connect(("127.0.0.1", self.gw.tcp_port))
        st.sendall(frame("A", "/login %s\r\n" % KEY))
        sw = WsClient(self.gw.http_port)
        sw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sw.send_json({"type": "hello", "nick": "deaf", "key": KEY})
        talkers = [self.login_tcp() for _ in range(12)]
        # 12 talkers at 9 lines a second (under --rate 10) of 4 KB: about
        # 1.6 MB for each reader, more than a browser's queue bound and the
        # kernel's buffers together.
        pad = "p" * 4000
        seen = []
        # The talkers read what they are sent (a peer that never reads
        # stalls its own input, and these must keep talking).
        stop = threading.Event()

        def discard():
            import select
            socks = [t.sock for t in talkers]
            while not stop.is_set():
                ready, _, _ = select.select(socks, [], [], 0.1)
                for r in ready:
                    try:
                        r.recv(1 << 16)
                    except OSError:
                        socks.remove(r)

        drain = threading.Thread(target=discard, daemon=True)
        drain.start()
        # The witness reads as it goes, like a live browser.
        reader = threading.Thread(target=lambda: seen.append(self.web.next_event(
            lambda e: e.get("text", "").startswith("busy 33 11 "), 60)), daemon=True)
        reader.start()
        for r in range(34):
            for i, t in enumerate(talkers):
                t.send_line("busy %d %d %s" % (r, i, pad))
            time.sleep(0.11)
        reader.join(60)
        stop.set()
        drain.join(2)
        self.assertTrue(seen, "the witness got every line")
        for t in talkers:
            t.close()
        self.gw.wait_log("nick=deaf reason=\"too far behind\"", 15)
        st.close()
        sw.close()


if __name__ == "__main__":
    main()
