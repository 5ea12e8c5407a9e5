"""The gateway's edges toward sockets and HTTP: the same-origin rule for
Origins of any length, a refused binary message that leaves its sender able
to chat, and HEAD answered with headers only on a keep-alive connection."""
import json
import socket
import time
import unittest

from gwtest import Gateway, WsClient, WsRefused, main

EVIL = "http://" + "a" * 244 + ".evil.example"  # 264 bytes


def read_response(sock, head_only):
    """One HTTP/1.1 response from a keep-alive connection, read exactly:
    the status line, the headers, and content-length bytes of body (none
    for a HEAD). Returns (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed inside the headers: %r" % data)
        data += chunk
    lines = data.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k:
            headers[k.strip().lower()] = v.strip()
    body = b""
    if not head_only:
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            chunk = sock.recv(n - len(body))
            if not chunk:
                raise ConnectionError("closed inside the body")
            body += chunk
    return status, headers, body


class Origin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway()

    @classmethod
    def tearDownClass(cls):
        assert cls.gw.stop() == 0

    def refused(self, origin):
        with self.assertRaises(WsRefused) as cm:
            WsClient(self.gw.http_port, origin=origin)
        self.local_port = cm.exception.local_port
        return str(cm.exception)

    def test_long_foreign_origin_is_refused(self):
        self.assertEqual(len(EVIL), 264)
        self.assertIn("status 403", self.refused(EVIL))
        # That connection, by its own port: refused, never connected. (Not
        # a count of every connect line: the log is read as it comes, and
        # the lines of an earlier test's connections may come later.)
        peer = "peer=127.0.0.1:%d " % self.local_port
        self.gw.wait_log(peer + "reason=\"origin http://aaaa")
        self.assertNotIn("connect web " + peer, self.gw.log_text())

    def test_origins_of_every_length_are_refused(self):
        for n in (200, 250, 255, 256, 257, 300, 1000, 3000):
            origin = "http://" + "b" * (n - len("http://.evil.example")) + ".evil.example"
            self.assertEqual(len(origin), n)
            why = self.refused(origin)
            self.assertTrue("status 403" in why, (n, why))

    def test_origin_past_the_header_bound_never_upgrades(self):
        # Longer than all the request headers may be: 403, 431 or a close.
        why = self.refused("http://" + "c" * 6000 + ".example")
        self.assertTrue("status 403" in why or "status 431" in why or "closed" in why, why)

    def test_near_misses_of_its_own_origin_are_refused(self):
        # The same host with another port, or none; its host:port with more
        # after it (another host, another port, userinfo, a path); a prefix
        # of it; "null" (a sandboxed page, a file); ws:// and wss://, which
        # no browser sends as an Origin (it sends the page's http(s)
        # origin): each one is a page of another origin.
        p = self.gw.http_port
        other = p + 1 if p < 65535 else p - 1
        for origin in ("http://127.0.0.1:%d" % other, "https://127.0.0.1:%d" % other,
                       "http://127.0.0.1", "http://127.0.0.1:%d.evil.example" % p,
                       "http://127.0.0.1:%d0" % p, "http://127.0.0.1:%d@evil.example" % p,
                       "http://127.0.0.1:%d/evil" % p, "http://127.0.0.1:%d" % (p // 10),
                       "http://127.0.0.1:", "null", "ws://127.0.0.1:%d" % p,
                       "wss://127.0.0.1:%d" % p, "127.0.0.1:%d" % p):
            with self.subTest(origin=origin):
                self.assertIn("status 403", self.refused(origin))
        # The exact origin is let in, whatever the case of its scheme and
        # with the slash a few clients add.
        for origin in ("http://127.0.0.1:%d" % p, "HTTP://127.0.0.1:%d/" % p):
            w = WsClient(p, origin=origin)
            self.assertEqual(w.hello(nick="own")["type"], "welcome", origin)
            w.close()

    def test_long_allowed_origin_and_no_origin_still_work(self):
        same = "http://127.0.0.1:%d" % self.gw.http_port
        w = WsClient(self.gw.http_port, origin=same)
        self.assertEqual(w.hello(nick="same")["type"], "welcome")
        w.close()
        w = WsClient(self.gw.http_port)  # a program: no Origin at all
        self.assertEqual(w.hello(nick="program")["type"], "welcome")
        w.close()

    def test_allow_origin_of_the_longest_length(self):
        long_ok = "https://" + "d" * 230 + ".example.org"
        with Gateway(args=["--allow-origin", long_ok]) as gw:
            w = WsClient(gw.http_port, origin=long_ok)
            self.assertEqual(w.hello(nick="longok")["type"], "welcome")
            w.close()
            with self.assertRaises(WsRefused):
                WsClient(gw.http_port, origin=long_ok + "x")


class Binary(unittest.TestCase):
    def test_refused_messages_do_not_mute_the_sender(self):
        with Gateway() as gw:
            a = WsClient(gw.http_port)
            a.hello(nick="alice")
            b = WsClient(gw.http_port)
            b.hello(nick="bob")
            for size in (10, 600, 2000, 70000):
                # Past 512 bytes a message arrives in several receives.
                a.send_frame(2, b"\x00" * size)
                err = a.next_event(lambda e: e.get("type") == "error")
                self.assertEqual(err["code"], 500, size)
                a.send_json({"type": "say", "text": "after %d binary bytes" % size})
                got = b.next_event(lambda e: e.get("type") == "message")
                self.assertEqual(got["text"], "after %d binary bytes" % size)
            # A fragmented binary message, then a fragmented text one.
            a.send_frame(2, b"\x01" * 700, fin=False)
            a.send_frame(0, b"\x02" * 700, fin=True)
            self.assertEqual(a.next_event(lambda e: e.get("type") == "error")["code"], 500)
            text = json.dumps({"type": "say", "text": "fragments " + "y" * 900}).encode()
            a.send_frame(1, text[:600], fin=False)
            a.send_frame(0, text[600:], fin=True)
            got = b.next_event(lambda e: e.get("type") == "message")
            self.assertEqual(got["text"], "fragments " + "y" * 900)
            a.close()
            b.close()


class Head(unittest.TestCase):
    def test_head_sends_headers_only_on_keep_alive(self):
        with Gateway() as gw:
            for path in ("/livez", "/readyz", "/healthz", "/metrics", "/", "/no-such-file"):
                s = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5)
                s.sendall(("HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
                status, headers, _ = read_response(s, head_only=True)
                self.assertIn(status, (200, 404), path)
                time.sleep(0.2)  # a body, if one was (wrongly) sent, is here by now
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                status, headers, body = read_response(s, head_only=False)
                self.assertEqual((status, body), (200, b"ok\n"), path)
                s.settimeout(0.3)
                try:
                    extra = s.recv(100)
                except socket.timeout:
                    extra = b""
                self.assertEqual(extra, b"", path)
                s.close()

    def test_error_statuses_have_a_short_text_body(self):
        with Gateway() as gw:
            s = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5)
            s.sendall(b"GET /no-such-file HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, body = read_response(s, head_only=False)
            self.assertEqual((status, body), (404, b"404 not found\n"))
            self.assertTrue(headers["content-type"].startswith("text/plain"))
            self.assertEqual(headers.get("x-content-type-options"), "nosniff")
            s.close()


if __name__ == "__main__":
    main()
