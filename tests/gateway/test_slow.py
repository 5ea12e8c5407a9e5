"""Slow consumers: 10,000 messages flow while one TCP client and one browser
stop reading. The gateway's memory stays bounded, the others keep receiving
every message, the stalled TCP client gets its view back with one R, and the
stalled browser is closed with 4421 and resumes by id."""
import os
import socket
import threading
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, frame, main, resume

COUNT = 10000
# Each message carries this much, so that queues without bounds would hold
# far more than RSS_GROWTH_MAX_KB.
PAD = "x" * 4000

# What the gateway may grow by, in KiB, while the flood passes. Live data
# is bounded by about 5 MiB: the retained history (GW_HISTORY_MAX_BYTES,
# 1 MiB), the transcript (16 KiB), the stalled TCP queue (64 KiB), the
# stalled browser queue (512 KiB, then dropped), a 64 KiB batch in flight
# per connection, SQLite's page caches (2 MiB for each of its two
# connections); the allocator's fragmentation (and, in a sanitizer build,
# its bookkeeping) takes that to 15-17 MiB measured, and once to 29 MiB
# with the rest of the suite running beside it. Without the bounds the
# stalled browser alone holds 10,000 * ~4 KiB: the growth measured with
# its bound lifted was 80 MiB.
RSS_GROWTH_MAX_KB = 40 * 1024


class SlowConsumers(unittest.TestCase):
    def test_flood_with_stalled_readers(self):
        # Under AddressSanitizer, freed memory sits in a quarantine that would
        # count against RSS; keep it small so the bound measured is ours.
        env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"}
        with Gateway(env=env) as gw:
            # A generous send timeout: under a sanitizer on a busy machine the
            # gateway may take seconds to drain the flood, which is not what
            # this test is about (speed is measured in bench/).
            sender = TcpClient(gw.tcp_port, timeout=60)
            sender.read_greeting()
            live_tcp = TcpClient(gw.tcp_port)
            live_tcp.read_greeting()
            live_web = WsClient(gw.http_port)
            live_web.hello(nick="live")

            # Stalled readers: tiny receive buffers, and they never read.
            st = socket.socket()
            st.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            st.connect(("127.0.0.1", gw.tcp_port))
            stalled_web = WsClient(gw.http_port)
            stalled_web.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            w0 = stalled_web.hello(nick="stalled")
            stalled_last = w0["last_id"]

            # Warm up, then measure.
            for i in range(200):
                sender.send(frame("A", "warm %d\n" % i))
            live_web.next_event(lambda e: e.get("text") == "warm 199", 10)
            live_tcp.wait_text("warm 199", 10)
            time.sleep(0.3)
            base = gw.rss_kb()

            got_web = []
            web_arrays = [0, 0]  # WebSocket messages, of which arrays

            def read_web():
                while True:
                    m = live_web.recv(30)
                    if m[0] != "text":
                        return
                    web_arrays[0] += 1
                    web_arrays[1] += m[1].startswith("[")
                    import json
                    obj = json.loads(m[1])
                    for e in obj if isinstance(obj, list) else [obj]:
                        if e["type"] == "message" and e["text"].startswith("flood "):
                            got_web.append(int(e["text"].split()[1]))
                    if got_web and got_web[-1] == COUNT - 1:
                        return

            tcp_done = threading.Event()

            def read_tcp():
                while True:
                    live_tcp.read_frame(30)
                    if live_tcp.view.endswith("flood %d %s\r\n" % (COUNT - 1, PAD)):
                        tcp_done.set()
                        return

            end_discard = sender.discard_in_background()
            threads = [threading.Thread(target=read_web, daemon=True),
                       threading.Thread(target=read_tcp, daemon=True)]
            for t in threads:
                t.start()
            peak = base
            chunk = b""
            # Paced so that a reader in Python keeps up (about 10,000 a
            # second); the stalled ones fall behind all the same.
            for i in range(COUNT):
                chunk += frame("A", "flood %d %s\n" % (i, PAD))
                if i % 100 == 99:
                    sender.send(chunk)
                    chunk = b""
                    peak = max(peak, gw.rss_kb())
                    time.sleep(0.03)
            sender.send(chunk)
            deadline = time.monotonic() + 60
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                peak = max(peak, gw.rss_kb())
                time.sleep(0.05)
            for t in threads:
                t.join(1)
            end_discard()
            sender.parser = __import__("wtlib").FrameParser()
            sender.pending = []

            # The others kept receiving: the browser every message, in order.
            self.assertEqual(got_web, list(range(COUNT)))
            self.assertTrue(tcp_done.is_set(), "live TCP view ends with the last message")
            # Several events went out per WebSocket message.
            self.assertGreater(web_arrays[1], 0)
            self.assertLess(web_arrays[0], COUNT)
            growth = peak - base
            print("RSS base %d KiB, peak %d KiB, growth %d KiB (bound %d KiB)"
                  % (base, peak, growth, RSS_GROWTH_MAX_KB))
            self.assertLess(growth, RSS_GROWTH_MAX_KB,
                            "RSS grew %d KiB (base %d KiB)" % (growth, base))

            # The stalled browser was dropped with 4421 (or cut when it
            # could not even take the close frame).
            gw.wait_log("pid=%d nick=stalled reason=\"too far behind\"" % w0["you"]["pid"], 10)
            # It resumes by id: a new connection gets what it missed.
            again = WsClient(gw.http_port)
            wel = resume(again, stalled_last, w0["epoch"], nick="stalled2")
            self.assertFalse(wel["reset"])
            hist = [e for e in wel["history"] if e["type"] == "message"]
            self.assertTrue(hist)
            self.assertEqual(hist[-1]["text"], "flood %d %s" % (COUNT - 1, PAD))
            ids = [e["id"] for e in wel["history"]]
            self.assertEqual(ids, sorted(set(ids)))
            # 10,000 messages are more than the history keeps: it says so.
            self.assertTrue(wel["gap"])
            again.close()
            stalled_web.close()

            # The stalled TCP client, reading at last, gets one R of the
            # transcript that ends with the latest message.
            stalled = TcpClient.__new__(TcpClient)
            from wtlib import FrameParser
            stalled.sock, stalled.timeout, stalled.pending, stalled.view = st, 10, [], ""
            stalled.parser = FrameParser()
            self.assertEqual(stalled.read_exact(24), b"WINTALK .NETR0:R0:R0:R0:")
            saw_r_after_greeting = 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    op, text = stalled.read_frame(10)
                except TimeoutError:
                    self.fail("stalled view ends %r after %d R; log tail %s" % (
                        stalled.view[-200:], saw_r_after_greeting, gw.log_text()[-600:]))
                saw_r_after_greeting += op == "R"
                if "guest-1: flood %d %s\r\n" % (COUNT - 1, PAD) in stalled.view:
                    break
            self.assertIn("guest-1: flood %d %s\r\n" % (COUNT - 1, PAD), stalled.view)
            self.assertGreaterEqual(saw_r_after_greeting, 2, "greeting R, then a resync R")
            # And the room still works for everyone left.
            live_web.send_json({"type": "say", "text": "still alive"})
            sender.wait_text("live: still alive", 10)
            for c in (sender, live_tcp, live_web, stalled):
                c.close()


if __name__ == "__main__":
    main()
