"""Durations are measured on the monotonic clock: stepping the system's wall
clock (back or forward) neither stops the rate limits' refill nor fires
deadlines early, while the `time` of events follows the wall clock.

The gateway runs under libfaketime (Debian's faketime package), whose
offset is read from a file the test rewrites: that steps the gateway's
CLOCK_REALTIME and leaves CLOCK_MONOTONIC alone."""
import os
import socket
import tempfile
import time
import unittest

from gwtest import Gateway, WsClient, main

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


class SteppedClock(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.path.exists(LIBFAKETIME),
                        "libfaketime is missing: scripts/deps.sh test installs faketime")
        fd, self.offset_file = tempfile.mkstemp(prefix="wtclock-")
        os.close(fd)
        self.step(0)
        self.env = {
            "LD_PRELOAD": LIBFAKETIME,
            "FAKETIME_TIMESTAMP_FILE": self.offset_file,
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # The sanitizer build: libfaketime comes before ASan's runtime.
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0",
        }

    def tearDown(self):
        os.unlink(self.offset_file)

    def step(self, seconds):
        """Set the gateway's wall clock to the real time plus seconds."""
        with open(self.offset_file + ".new", "w") as f:
            f.write("%+d\n" % seconds)
        os.replace(self.offset_file + ".new", self.offset_file)

    def test_rate_limit_refills_after_a_step_back(self):
        with Gateway(args=["--rate", "2", "--abuse-strikes", "0"], env=self.env) as gw:
            a = WsClient(gw.http_port)
            a.hello(nick="alice")
            b = WsClient(gw.http_port)
            b.hello(nick="bob")
            # Spend the bucket (2/s, a burst of 4) until a 429.
            for i in range(8):
                a.send_json({"type": "say", "text": "burst %d" % i})
            a.next_event(lambda e: e.get("type") == "error" and e.get("code") == 429)
            got = b.next_event(lambda e: e.get("type") == "message")
            self.assertLess(abs(got["time"] / 1000 - time.time()), 60)
            self.step(-3600)
            time.sleep(1.6)  # three tokens' worth of monotonic time
            while True:  # drop what is still queued for bob
                try:
                    b.recv_events(0.3)
                except TimeoutError:
                    break
            a.send_json({"type": "say", "text": "after the step"})
            got = b.next_event(lambda e: e.get("type") == "message", timeout=3)
            self.assertEqual(got["text"], "after the step")
            # Its time is the (stepped) wall clock.
            self.assertLess(abs(got["time"] / 1000 - (time.time() - 3600)), 60)
            a.close()
            b.close()

    def test_deadlines_do_not_fire_after_a_step_forward(self):
        with Gateway(args=["--http-timeout", "30", "--login-timeout", "30"],
                     env=self.env) as gw:
            # A request under way, and a browser that has not said hello.
            s = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5)
            s.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            w = WsClient(gw.http_port)
            time.sleep(0.3)
            self.step(+3600)
            time.sleep(1.5)
            s.settimeout(0.5)
            try:
                self.assertNotEqual(s.recv(100), b"", "the request was cut")
            except socket.timeout:
                pass  # still waiting for the rest of the request: right
            s.sendall(b"\r\n")
            s.settimeout(5)
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))
            s.close()
            self.assertEqual(w.hello(nick="late")["type"], "welcome")
            w.close()
            self.assertNotIn("timeout", gw.log_text())


if __name__ == "__main__":
    main()
