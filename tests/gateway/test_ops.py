"""Operating the gateway: /metrics (parsed strictly as Prometheus text),
/livez and /readyz, SIGTERM during traffic, TLS (https, wss://, WINTALK
over TLS; TLS 1.1 refused), connections per address, the login timeout,
WebSocket keepalive, --allow-origin."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, WsRefused, http_get, main

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\}'
_SAMPLE = re.compile(r"^(%s)(%s)? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$" % (_NAME, _LABELS))


def parse_prometheus(text):
    """Strict parser of the text exposition format 0.0.4: every line a HELP,
    a TYPE (before the metric's samples, once), or a sample of a declared
    metric; returns {(name, labels-string): float} and {name: type}."""
    assert text.endswith("\n"), "ends with a newline"
    samples, types, helps = {}, {}, set()
    for line in text.splitlines():
        assert line, "no empty lines"
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert re.fullmatch(_NAME, name) and name not in helps, line
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, "TYPE once: " + line
            types[name] = typ
        else:
            assert not line.startswith("#"), line
            m = _SAMPLE.match(line)
            assert m, "bad sample line: %r" % line
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            assert name in types, "sample before its TYPE: " + line
            assert (name, labels) not in samples, "duplicate: " + line
            v = float(value)
            if types[name] == "counter":
                assert name.endswith("_total") and v >= 0, line
            samples[(name, labels)] = v
    return samples, types


def metrics(gw):
    status, h, body = http_get(gw.http_port, "/metrics")
    assert status == 200, status
    assert h["content-type"].startswith("text/plain; version=0.0.4"), h
    return parse_prometheus(body.decode())[0]


class Metrics(unittest.TestCase):
    def test_counters_move(self):
        with Gateway(args=["--rate", "5"]) as gw:
            m0 = metrics(gw)
            self.assertEqual(m0[("wintalk_ready", "")], 1)
            w = WsClient(gw.http_port)
            w.hello(nick="m")
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            m1 = metrics(gw)
            self.assertEqual(m1[("wintalk_participants", '{transport="web"}')], 1)
            self.assertEqual(m1[("wintalk_participants", '{transport="tcp"}')], 1)
            n = 4
            for i in range(n):
                w.send_json({"type": "say", "text": "count %d" % i})
            t.wait_text("m: count %d" % (n - 1))
            m2 = metrics(gw)
            key = ("wintalk_messages_in_total", '{transport="web"}')
            self.assertEqual(m2[key] - m1[key], n)
            out = ("wintalk_messages_out_total", '{transport="tcp"}')
            self.assertEqual(m2[out] - m1[out], n)
            self.assertGreater(m2[("wintalk_bytes_in_total", '{transport="web"}')],
                               m1[("wintalk_bytes_in_total", '{transport="web"}')])
            self.assertGreater(m2[("wintalk_bytes_out_total", '{transport="tcp"}')], 0)
            self.assertGreater(m2[("wintalk_queue_high_water_bytes", '{transport="tcp"}')], 0)
            # Past the burst (10): 429s, each counted once.
            for i in range(12):
                w.send_json({"type": "say", "text": "burst %d" % i})
            errs = [w.next_event(lambda e: e["type"] == "error") for _ in range(6)]
            self.assertTrue(all(e["code"] == 429 for e in errs))
            time.sleep(0.2)
            m3 = metrics(gw)
            rej = ("wintalk_rejections_total", '{reason="rate"}')
            e429 = ("wintalk_errors_total", '{code="429"}')
            self.assertGreaterEqual(m3[rej] - m2[rej], 6)
            self.assertEqual(m3[rej] - m2[rej], m3[e429] - m2[e429])
            self.assertGreater(m3[("wintalk_uptime_seconds", "")], 0)
            w.close()
            t.close()

    def test_health_endpoints(self):
        with Gateway() as gw:
            self.assertEqual(http_get(gw.http_port, "/livez")[0], 200)
            status, _, body = http_get(gw.http_port, "/readyz")
            self.assertEqual((status, body), (200, b"ready\n"))


class Log(unittest.TestCase):
    def test_each_line_is_one_write(self):
        """A container's log (podman logs, docker logs) keeps a line whole
        only if it reaches stderr in one write: seen with strace."""
        trace = tempfile.mktemp(prefix="wintalk-strace-")
        # LeakSanitizer cannot look at a process being traced: its leak
        # check is the other tests' business.
        asan = os.environ.get("ASAN_OPTIONS", "")
        gw = Gateway(env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "detect_leaks=0"})
        st = subprocess.Popen(["strace", "-qq", "-f", "-p", str(gw.pid), "-e", "trace=write",
                               "-e", "signal=none", "-s", "4096", "-o", trace],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(trace) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # attached
            w = WsClient(gw.http_port)
            w.hello(nick="traced")
            w.close()
            gw.wait_log("disconnect web")
        finally:
            self.assertEqual(gw.stop(), 0)
            st.wait(10)
        with open(trace) as f:
            writes = [l for l in f if " write(2, " in l]
        os.unlink(trace)
        # connect, disconnect, stopping, stopped at least
        self.assertGreaterEqual(len(writes), 4, writes)
        for l in writes:
            # write(2, "2026-...Z connect web ...\n", 97) = 97
            text = l.split(" write(2, ", 1)[1]
            self.assertRegex(text.rstrip("\n"), r'^"\d{4}-\d\d-\d\dT\S*Z .*\\n", (\d+)\) = \1$', l)


class Stop(unittest.TestCase):
    def test_sigterm_during_traffic(self):
        gw = Gateway()
        browsers = []
        for i in range(5):
            w = WsClient(gw.http_port)
            w.hello(nick="b%d" % i)
            browsers.append(w)
        tcps = []
        for i in range(2):
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            tcps.append(t)
        # One WINTALK program that never reads, so the gateway has output it
        # cannot flush: it stops after its 2 s grace, and /readyz says 503
        # meanwhile.
        deaf = socket.socket()
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        deaf.connect(("127.0.0.1", gw.tcp_port))
        stop = threading.Event()

        def talk():
            i = 0
            while not stop.is_set():
                try:
                    tcps[0].send_line("traffic %d %s" % (i, "t" * 500))
                except OSError:
                    return
                i += 1
                time.sleep(0.002)

        # First more output for the deaf one than the kernel's buffers hold
        # (its socket's send buffer is GW_SOCKET_SNDBUF), seen through to a
        # browser, so that however slow the machine, the gateway still has
        # output for it when the signal comes.
        for i in range(800):
            tcps[0].send_line("fill %d %s" % (i, "f" * 500))
        browsers[0].next_event(lambda e: e.get("text", "").startswith("fill 799 "), 30)
        talker = threading.Thread(target=talk, daemon=True)
        talker.start()
        time.sleep(0.2)
        start = time.monotonic()
        os.kill(gw.pid, signal.SIGTERM)
        ready_during_stop = []
        for _ in range(20):
            try:
                ready_during_stop.append(http_get(gw.http_port, "/readyz", timeout=1)[0])
            except (OSError, IndexError) as e:
                ready_during_stop.append(repr(e))
                break
            if ready_during_stop[-1] == 503:
                break
            time.sleep(0.05)
        for w in browsers:
            bye = w.next_event(lambda e: e["type"] == "bye", 5)
            self.assertEqual((bye["code"], bye["message"]), (421, "gateway shutting down"))
            while True:
                m = w.recv(5)
                if m[0] == "close":
                    self.assertEqual(m[1], 1001)
                    break
        rc = gw.proc.wait(5)
        elapsed = time.monotonic() - start
        stop.set()
        talker.join(2)
        self.assertEqual(rc, 0)
        self.assertLess(elapsed, 3.0)
        self.assertIn(503, ready_during_stop, gw.log_text()[-1500:])
        for t in tcps:
            t.close()
        deaf.close()
        gw.stop()


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="wttls-")
        cls.cert, cls.key = make_cert(cls.dir)
        cls.gw = Gateway(args=["--tls-cert", cls.cert, "--tls-key", cls.key,
                               "--tls-tcp-port", "0"])
        cls.ctx = ssl.create_default_context(cafile=cls.cert)

    @classmethod
    def tearDownClass(cls):
        assert cls.gw.stop() == 0
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_https_wss_and_wintalk_over_tls(self):
        status, _, body = http_get(self.gw.http_port, "/livez", ssl_context=self.ctx)
        self.assertEqual((status, body), (200, b"ok\n"))
        w = WsClient(self.gw.http_port, ssl_context=self.ctx,
                     origin="https://127.0.0.1:%d" % self.gw.http_port)
        w.hello(nick="secure")
        t = TcpClient(self.gw.tls_port, ssl_context=self.ctx)
        first, (op, text) = t.read_greeting()
        self.assertEqual(first, b"WINTALK .NETR0:R0:R0:R0:")
        self.assertIn("secure joined (web)", text)
        t.send_line("over tls")
        self.assertEqual(w.next_event(lambda e: e.get("type") == "message")["text"], "over tls")
        w.send_json({"type": "say", "text": "back"})
        t.wait_text("secure: back")
        self.assertTrue(t.sock.version() in ("TLSv1.2", "TLSv1.3"))
        # The plain WINTALK port still works alongside.
        p = TcpClient(self.gw.tcp_port)
        p.read_greeting()
        p.send_line("plain")
        t.wait_text("plain")
        self.gw.wait_log("connect tls peer=127.0.0.1:")
        for c in (w, t, p):
            c.close()

    def test_tls11_refused(self):
        # A client that offers TLS 1.1 and nothing newer. It is first shown
        # to complete a TLS 1.1 handshake with a server that allows it, so
        # the refusals below are the gateway's, not the client's.
        def tls11_client():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            return ctx

        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        server_ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        server_ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        server_ctx.load_cert_chain(self.cert, self.key)
        lsock = socket.create_server(("127.0.0.1", 0))
        seen = []

        def serve():
            conn, _ = lsock.accept()
            conn.settimeout(5)
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    seen.append(tls.version())
            except (ssl.SSLError, OSError) as e:
                seen.append(repr(e))

        th = threading.Thread(target=serve)
        th.start()
        s = socket.create_connection(("127.0.0.1", lsock.getsockname()[1]), timeout=5)
        with tls11_client().wrap_socket(s) as control:
            self.assertEqual(control.version(), "TLSv1.1")
        th.join(5)
        lsock.close()
        self.assertEqual(seen, ["TLSv1.1"])

        for port in (self.gw.http_port, self.gw.tls_port):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                with self.assertRaises((ssl.SSLError, OSError)):
                    tls11_client().wrap_socket(s).close()
            finally:
                s.close()
            # TLS 1.2 from the same machine is accepted.
            ctx12 = ssl.create_default_context(cafile=self.cert)
            ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            with ctx12.wrap_socket(s, server_hostname="127.0.0.1") as tls:
                self.assertEqual(tls.version(), "TLSv1.2")

    def test_https_offers_http11_only(self):
        # With h2 offered, a browser could carry wss:// over HTTP/2 streams
        # that the upgrade, Origin and per-address checks never see.
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
            self.assertEqual(tls.selected_alpn_protocol(), "http/1.1")
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.set_alpn_protocols(["h2"])
        s = socket.create_connection(("127.0.0.1", self.gw.http_port), timeout=5)
        try:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
                self.assertNotEqual(tls.selected_alpn_protocol(), "h2")
        except (ssl.SSLError, OSError):
            pass  # no protocol in common: refused, which is fine too
        finally:
            s.close()

    def test_tls_peer_joins_after_its_handshake(self):
        w = WsClient(self.gw.http_port, origin="https://127.0.0.1:%d" % self.gw.http_port,
                     ssl_context=self.ctx)
        w.hello(nick="watcher")
        # Plain text, then garbage, to the TLS port: never a participant.
        for junk in (b"hello there\r\n", b"\x16\x03\x01\x00\x05garbage", b""):
            s = socket.create_connection(("127.0.0.1", self.gw.tls_port), timeout=5)
            if junk:
                s.sendall(junk)
            time.sleep(0.2)
            s.close()
        time.sleep(0.8)
        seen = []
        while True:
            try:
                seen.extend(w.recv_events(0.3))
            except TimeoutError:
                break
        seen += getattr(w, "_backlog", [])
        self.assertEqual([e for e in seen if e.get("type") in ("join", "leave") and
                          e.get("nick") != "watcher"], [])
        self.gw.wait_log("closed before a TLS handshake")
        # A real TLS peer joins, as before.
        t = TcpClient(self.gw.tls_port, ssl_context=self.ctx)
        first, _ = t.read_greeting()
        self.assertEqual(first, b"WINTALK .NETR0:R0:R0:R0:")
        joined = w.next_event(lambda e: e.get("type") == "join" and e.get("nick") != "watcher")
        self.assertEqual(joined["via"], "tcp")
        t.close()
        w.close()

    def test_refused_tls_peers_read_their_reason(self):
        for args, why in ((["--max-per-address", "1"], "too many connections from 127.0.0.1"),
                          (["--max-participants", "1"], "421")):
            with Gateway(args=["--tls-cert", self.cert, "--tls-key", self.key,
                               "--tls-tcp-port", "0"] + args) as gw:
                first = TcpClient(gw.tls_port, ssl_context=self.ctx)
                first.read_greeting()
                extra = TcpClient(gw.tls_port, ssl_context=self.ctx)
                self.assertEqual(extra.read_exact(24), b"WINTALK .NETR0:R0:R0:R0:")
                op, text = extra.read_frame()
                self.assertIn("* error 421", text)
                self.assertIn(why, text)
                extra.close()
                first.close()

    def test_plain_http_on_tls_port_fails(self):
        with self.assertRaises((OSError, IndexError, ValueError)):
            http_get(self.gw.http_port, "/livez", timeout=2)


class Limits(unittest.TestCase):
    def test_connections_per_address(self):
        with Gateway(args=["--max-per-address", "3"]) as gw:
            keep = [TcpClient(gw.tcp_port) for _ in range(2)]
            w = WsClient(gw.http_port)
            w.hello()
            for c in keep:
                c.read_greeting()
            extra = TcpClient(gw.tcp_port)
            self.assertEqual(extra.read_exact(24), b"WINTALK .NETR0:R0:R0:R0:")
            op, text = extra.read_frame()
            self.assertTrue(text.startswith("* error 421: too many connections from 127.0.0.1"))
            extra.close()
            wx = WsClient(gw.http_port)
            ev = wx.next_event()
            self.assertEqual((ev["type"], ev["code"]), ("error", 421))
            self.assertEqual(wx.recv(5)[:2], ("close", 1013))
            wx.close()
            gw.wait_log("reason=\"too many connections from 127.0.0.1 (at most 3)\"")
            # Plain HTTP: past twice the bound, 503.
            idle = []
            for _ in range(4):
                s = socket.create_connection(("127.0.0.1", gw.http_port))
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(4096)
                idle.append(s)  # keep-alive: still open
            self.assertEqual(http_get(gw.http_port, "/livez")[0], 503)
            for s in idle:
                s.close()
            # The others are fine, and a slot frees when one leaves.
            keep[0].close()
            time.sleep(0.3)
            again = TcpClient(gw.tcp_port)
            again.read_greeting()
            self.assertNotIn("error", again.view)
            for c in keep[1:] + [again, w]:
                c.close()
            m = metrics(gw)
            self.assertGreaterEqual(m[("wintalk_rejections_total", '{reason="per_address"}')], 3)

    def test_login_timeout_and_tcp_login(self):
        with Gateway(args=["--access-key", "sesame", "--login-timeout", "1"]) as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            start = time.monotonic()
            t.sock.settimeout(5)
            while t.sock.recv(4096):
                pass
            self.assertLess(time.monotonic() - start, 3)
            gw.wait_log("reason=\"no /login within 1 s\"")
            ok = TcpClient(gw.tcp_port)
            ok.read_greeting()
            ok.send_line("/login sesame")
            op, text = ok.read_frame()
            self.assertEqual(op, "R")
            # Its own join line is in that pane, or follows it once kept.
            if "guest-" not in text:
                ok.wait_text("guest-")
            time.sleep(1.5)  # in the room: no timeout
            ok.send_line("/who")
            ok.wait_text("1 here: guest-")
            ok.close()
            w = WsClient(gw.http_port)  # never says hello
            try:
                self.assertEqual(w.recv(5)[0], "close")
            except ConnectionError:
                pass  # cut without a close frame: as good
            w.close()

    def test_keepalive_drops_silent_websockets(self):
        with Gateway(args=["--ping-interval", "1", "--idle-timeout", "3"]) as gw:
            live = WsClient(gw.http_port)
            live.hello(nick="live")
            silent = WsClient(gw.http_port)
            silent.send_json({"type": "hello", "nick": "silent"})
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            # live answers pings (recv does); silent never reads.
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                try:
                    live.recv(0.5)
                except TimeoutError:
                    pass
                if "nick=silent" in gw.log_text():
                    break
            gw.wait_log("disconnect web peer=127.0.0.1:", 1)
            self.assertIn("nick=silent", gw.log_text())
            self.assertNotIn("nick=live ", gw.log_text().split("nick=silent")[0][-200:] + "x")
            live.send_json({"type": "say", "text": "still here"})
            t.wait_text("live: still here")  # TCP has no pings and is not dropped
            live.close()
            t.close()

    def test_allow_origin(self):
        with Gateway(args=["--allow-origin", "https://chat.example",
                           "--allow-origin", "http://other.example:8000"]) as gw:
            for o in ("https://chat.example", "http://other.example:8000"):
                w = WsClient(gw.http_port, origin=o)
                w.hello()
                w.close()
            with self.assertRaises(WsRefused) as cm:
                WsClient(gw.http_port, origin="https://evil.example")
            self.assertIn("403", str(cm.exception))

    def test_help_lists_new_flags(self):
        from wtlib import find_gateway
        out = subprocess.run([find_gateway(), "--help"], capture_output=True, text=True,
                             timeout=10).stdout
        for flag, var in [("--access-key", "WINTALK_ACCESS_KEY"), ("--tls-cert", "WINTALK_TLS_CERT"),
                          ("--tls-key", "WINTALK_TLS_KEY"), ("--tls-tcp-port", "WINTALK_TLS_TCP_PORT"),
                          ("--allow-origin", "WINTALK_ALLOW_ORIGIN"),
                          ("--max-per-address", "WINTALK_MAX_PER_ADDRESS"),
                          ("--typing-rate", "WINTALK_TYPING_RATE"),
                          ("--abuse-strikes", "WINTALK_ABUSE_STRIKES"),
                          ("--max-line-bytes", "WINTALK_MAX_LINE_BYTES"),
                          ("--max-draft-units", "WINTALK_MAX_DRAFT_UNITS"),
                          ("--max-json-bytes", "WINTALK_MAX_JSON_BYTES"),
                          ("--max-nick-chars", "WINTALK_MAX_NICK_CHARS"),
                          ("--ping-interval", "WINTALK_PING_INTERVAL"),
                          ("--idle-timeout", "WINTALK_IDLE_TIMEOUT"),
                          ("--login-timeout", "WINTALK_LOGIN_TIMEOUT"),
                          ("--http-timeout", "WINTALK_HTTP_TIMEOUT")]:
            self.assertIn(flag, out)
            self.assertIn(var, out)
        self.assertIn("(5151)", out)
        self.assertIn("(32)", out)


if __name__ == "__main__":
    main()
