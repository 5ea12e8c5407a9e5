"""HTTP, WebSocket admission, configuration, logs and stopping."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, WsRefused, http_get, main, wtlib

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.outside = tempfile.mkdtemp(prefix="wtout-")
        with open(os.path.join(cls.outside, "secret.txt"), "w") as f:
            f.write("TOP-SECRET\n")
        cls.gw = Gateway()
        os.symlink(os.path.join(cls.outside, "secret.txt"), os.path.join(cls.gw.web_root, "link.txt"))
        os.mkdir(os.path.join(cls.gw.web_root, "sub"))
        with open(os.path.join(cls.gw.web_root, "sub", "index.html"), "w") as f:
            f.write("<p>sub</p>\n")
        with open(os.path.join(cls.gw.web_root, "data.bin"), "wb") as f:
            f.write(b"\x00\x01")

    @classmethod
    def tearDownClass(cls):
        assert cls.gw.stop() == 0

    def test_static_files_with_types_and_headers(self):
        for path, ctype, needle in [("/", "text/html; charset=utf-8", b"<title>wintalk"),
                                    ("/index.html", "text/html; charset=utf-8", b"<title>"),
                                    ("/app.js", "text/javascript; charset=utf-8", b"console"),
                                    ("/style.css", "text/css; charset=utf-8", b"margin"),
                                    ("/sub/", "text/html; charset=utf-8", b"sub"),
                                    ("/data.bin", "application/octet-stream", b"\x00\x01")]:
            status, h, body = http_get(self.gw.http_port, path)
            self.assertEqual(status, 200, path)
            self.assertEqual(h["content-type"], ctype, path)
            self.assertIn(needle, body, path)
            self.assertEqual(h["content-security-policy"], CSP)
            self.assertEqual(h["x-content-type-options"], "nosniff")
            self.assertEqual(h["referrer-policy"], "no-referrer")
            self.assertEqual(h["x-frame-options"], "DENY")

    def test_no_directory_escape(self):
        for path in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                     "/..%2f..%2f..%2fetc%2fpasswd", "/%252e%252e/%252e%252e/etc/passwd",
                     "/.%2e/.%2e/.%2e/etc/passwd", "/..\\..\\etc\\passwd", "/link.txt",
                     "/app.js%00.html", "/nope.html", "//etc/passwd"]:
            try:
                status, h, body = http_get(self.gw.http_port, path)
            except (IndexError, ValueError, ConnectionError):
                continue  # refused outright
            self.assertNotEqual(status, 200, path)
            self.assertNotIn(b"root:", body, path)
            self.assertNotIn(b"TOP-SECRET", body, path)

    def test_connection_close_is_honoured(self):
        s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        else:
            self.fail("server did not close")
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"))
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")]
        self.assertEqual(len(body), length[0])

    def test_keep_alive_serves_two_requests(self):
        s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
        s.sendall(b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        s.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertEqual(data.count(b"HTTP/1.1 200"), 2)

    def test_healthz(self):
        t = TcpClient(self.gw.tcp_port)
        t.read_greeting()
        w = WsClient(self.gw.http_port)
        w.hello()
        status, h, body = http_get(self.gw.http_port, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "application/json")
        j = json.loads(body)
        self.assertEqual(j["status"], "ok")
        self.assertEqual(j["participants"], {"tcp": 1, "web": 1})
        self.assertIsInstance(j["uptime_s"], int)
        t.close()
        w.close()

    def test_websocket_needs_subprotocol(self):
        with self.assertRaises((WsRefused, ConnectionError)):
            WsClient(self.gw.http_port, subprotocol=None)
        with self.assertRaises((WsRefused, ConnectionError)):
            WsClient(self.gw.http_port, subprotocol="chat")
        w = WsClient(self.gw.http_port)
        self.assertEqual(w.protocol, "wintalk.v1")
        w.close()

    def test_websocket_same_origin_only(self):
        with self.assertRaises((WsRefused, ConnectionError)):
            WsClient(self.gw.http_port, origin="http://evil.example")
        self.gw.wait_log("origin http://evil.example")
        w = WsClient(self.gw.http_port, origin="http://127.0.0.1:%d" % self.gw.http_port)
        self.assertEqual(w.hello()["code"], 220)
        w.close()

    def test_connect_and_disconnect_are_logged(self):
        t = TcpClient(self.gw.tcp_port)
        t.read_greeting()
        port = t.sock.getsockname()[1]
        t.close()
        self.gw.wait_log("connect tcp peer=127.0.0.1:%d " % port)
        line = self.gw.wait_log("disconnect tcp peer=127.0.0.1:%d " % port)
        self.assertIn('reason="peer closed"', line)
        w = WsClient(self.gw.http_port)
        port = w.sock.getsockname()[1]
        w.hello(nick="logged")
        w.close()
        self.gw.wait_log("connect web peer=127.0.0.1:%d " % port)
        line = self.gw.wait_log("disconnect web peer=127.0.0.1:%d " % port)
        self.assertIn("nick=logged", line)
        self.assertIn("reason=\"peer closed (1000)\"", line)


class Config(unittest.TestCase):
    def test_help_lists_every_variable_with_defaults(self):
        out = subprocess.run([wtlib.find_gateway(), "--help"], capture_output=True, timeout=10,
                             text=True)
        self.assertEqual(out.returncode, 0)
        for flag, var, default in [("--bind", "WINTALK_BIND", "127.0.0.1"),
                                   ("--tcp-port", "WINTALK_TCP_PORT", "5150"),
                                   ("--http-port", "WINTALK_HTTP_PORT", "8080"),
                                   ("--web-root", "WINTALK_WEB_ROOT", "web"),
                                   ("--key", "WINTALK_KEY", "none"),
                                   ("--rate", "WINTALK_RATE", "10")]:
            line = [l for l in out.stdout.splitlines() if var in l or flag in l]
            self.assertTrue(line, flag)
            self.assertIn("(%s)" % default, out.stdout)
            self.assertIn(var, out.stdout)

    def test_frame_ancestors_let_a_site_frame_the_page(self):
        sites = "https://site.example https://other.example:8443"
        with Gateway(args=("--frame-ancestors", sites)) as gw:
            status, h, _ = http_get(gw.http_port, "/")
            self.assertEqual(status, 200)
            self.assertEqual(h["content-security-policy"],
                             CSP.replace("frame-ancestors 'none'", "frame-ancestors " + sites))
            self.assertNotIn("x-frame-options", h)
        # Anything but origins would write into the policy: refused at start.
        for bad in ("https://x.example; script-src *", "'self'", "https://x.example/path",
                    "javascript:alert(1)", "https://x.example:123456", "x" * 600):
            out = subprocess.run([wtlib.find_gateway(), "--frame-ancestors", bad],
                                 capture_output=True, timeout=10, text=True)
            self.assertEqual(out.returncode, 2, bad)
            self.assertIn("--frame-ancestors", out.stderr)

    def test_bad_flag_fails(self):
        out = subprocess.run([wtlib.find_gateway(), "--tcp-port", "99999"], capture_output=True,
                             timeout=10, text=True)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--tcp-port", out.stderr)

    def test_environment_variables(self):
        root = wtlib.default_web_root()
        env = dict(os.environ, WINTALK_BIND="127.0.0.1", WINTALK_TCP_PORT="0",
                   WINTALK_HTTP_PORT="0", WINTALK_WEB_ROOT=root, WINTALK_KEY="envkey")
        p = subprocess.Popen([wtlib.find_gateway()], env=env, stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)
        try:
            line = p.stderr.readline().decode()
            self.assertIn("listening tcp=127.0.0.1:", line)
            self.assertIn("web_root=" + os.path.realpath(root), line)
            http = int(line.split("http=127.0.0.1:")[1].split()[0])
            w = WsClient(http)
            w.send_json({"type": "hello"})
            self.assertEqual(w.next_event()["code"], 530)
            w = WsClient(http)
            self.assertEqual(w.hello(key="envkey")["code"], 220)
            w.close()
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(5), 0)
            p.stderr.close()

    def test_flag_beats_variable(self):
        with Gateway(env={"WINTALK_RATE": "1"}, args=["--rate", "0"]) as gw:
            w = WsClient(gw.http_port)
            w.hello()
            for i in range(20):
                w.send_json({"type": "say", "text": "m%d" % i})
            w.next_event(lambda e: e.get("text") == "m19")
            w.close()


class Stop(unittest.TestCase):
    def stop_with(self, sig):
        gw = Gateway()
        t = TcpClient(gw.tcp_port)
        t.read_greeting()
        w = WsClient(gw.http_port)
        w.hello()
        start = time.monotonic()
        os.kill(gw.pid, sig)
        bye = w.next_event(lambda e: e["type"] == "bye")
        self.assertEqual(bye, {"type": "bye", "code": 421, "message": "gateway shutting down"})
        self.assertEqual(w.recv(5)[:2], ("close", 1001))
        t.wait_text("* gateway shutting down")
        rc = gw.proc.wait(5)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(rc, 0)
        gw.stop()
        self.assertIn("stopped", gw.log_text())

    def test_sigterm(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint(self):
        self.stop_with(signal.SIGINT)

    def test_sigterm_idle(self):
        gw = Gateway()
        start = time.monotonic()
        self.assertEqual(gw.stop(), 0)
        self.assertLess(time.monotonic() - start, 2.0)


if __name__ == "__main__":
    main()
