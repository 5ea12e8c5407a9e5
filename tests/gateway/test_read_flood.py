"""Reads never hold the event loop: with a room of ~2,100 messages of 4 KiB
("b a a ... a") kept on disk (the sqlite store), 30 browsers each keep 4
searches outstanding for a phrase that never matches (so that the full-text
index checks positions in every row); meanwhile a bystander's say-to-echo
round trip stays under 100 ms (median) and GET /livez under 500 ms. And the
bounds on reads through the real gateway: a browser's history and search
requests have a rate (--read-rate: the burst's last one passes, the next
gets 429), and the gateway takes at most GW_READS_MAX of them at once (past
it: 421, counted in wintalk_rejections_total{reason="reads_busy"}). The
exact boundaries are test_hub_reads.c's. Then a stop with reads waiting,
and a room read from disk again as 30 browsers join it at once: their
joins wait for it and go on in order (test_hub_loading.c for the exact
sequences).

bench/read_flood.py runs the same flood and prints its figures."""
import os
import shutil
import tempfile
import sys
import time
import unittest

from gwtest import Gateway, WsClient, hello2, http_get, main

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import read_flood  # noqa: E402


class Flood(unittest.TestCase):
    """One gateway on the sqlite store, its room #s filled once."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="wintalk-flood-")
        cls.gw = Gateway(data_dir=cls.dir)
        cls.epoch, cls.last = read_flood.fill(cls.gw.http_port, log=print)

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_1_gateway_wide_bound_on_reads_in_flight(self):
        # A burst of slow searches, GW_READS_MAX + 16 from browsers at their
        # own bound of 4 each: the gateway takes what it can (its bound,
        # plus what the readers finish meanwhile: the exact boundary is
        # test_hub_reads.c's) and refuses the rest at once with 421, each
        # counted in /metrics; every one taken is answered.
        limit = read_flood.GW_READS_MAX
        per = 4  # GW_READS_PER_PART_MAX
        conns = []
        for i in range(limit // per + 4):
            w, _ = read_flood.hello(self.gw.http_port, "f%d" % i,
                                     rooms={"#lobby": 0, read_flood.ROOM: self.last},
                                     epoch=self.epoch)
            conns.append(w)
        for w in conns:
            for k in range(per):
                w.send_json({"type": "search", "room": "#s", "q": read_flood.PHRASE,
                             "ref": "s%d" % k})
        codes = []
        for w in conns:
            for k in range(per):
                e = w.next_event(lambda e: "ref" in e, timeout=60)
                codes.append(e.get("code") if e["type"] == "error" else e["type"])
                if e.get("code") == 421:
                    self.assertIn("try again later", e["message"])
        refused = codes.count(421)
        self.assertGreaterEqual(refused, 1, codes)
        self.assertLess(refused, len(codes) - limit // 2, codes)
        # Taken: answered, or out of the search's time (451).
        self.assertEqual(set(codes) - {"search", 451, 421}, set(), codes)
        _, _, body = http_get(self.gw.http_port, "/metrics")
        line = [l for l in body.decode().splitlines()
                if 'reason="reads_busy"' in l and not l.startswith("#")]
        self.assertEqual(len(line), 1, body)
        self.assertEqual(int(float(line[0].split()[-1])), refused)
        for w in conns:
            w.close()

    def test_2_search_flood_leaves_live_traffic_alone(self):
        r = read_flood.run(self.gw.http_port, fill_room=False, epoch=self.epoch,
                           last=self.last, log=print)
        print("flood figures: %r" % (r,))
        # The flood really was one: searches were still waiting when
        # the bystander measured (else the test proves nothing).
        self.assertGreater(r["outstanding_at_start"], 30, r)
        self.assertLess(r["say_median_ms"], 100.0, r)
        self.assertLess(r["livez_max_ms"], 500.0, r)


    def test_3_joins_wait_for_a_room_read_from_disk(self):
        # After a restart (a clean stop, whatever reads were waiting) #s is
        # on disk only: 30 browsers join it at once.
        # The first join has a reader load it; every joined reply comes
        # once it has loaded and carries its latest events (up to the
        # room's last message), each browser sees every join once, in id
        # order, and the bystander's echo is not held meanwhile.
        # The flood's reads may still be queued: the stop drops them and
        # joins the readers (a search under way ends at its bound).
        t = time.monotonic()
        self.assertEqual(self.gw.stop(), 0)
        self.assertLess(time.monotonic() - t, 4.0)
        type(self).gw = Gateway(data_dir=self.dir)
        port = self.gw.http_port
        bystander, _ = read_flood.hello(port, "bystander")
        conns = [read_flood.hello(port, "j%d" % i, epoch=self.epoch)[0] for i in range(30)]
        t0 = time.monotonic()
        for i, w in enumerate(conns):
            w.send_json({"type": "join", "room": read_flood.ROOM, "last_id": 0, "ref": i})
        bystander.send_json({"type": "say", "text": "while loading"})
        bystander.next_event(lambda e: e.get("text") == "while loading", timeout=10)
        echo_ms = (time.monotonic() - t0) * 1000.0
        lasts, kept = [], []
        for w in conns:
            j = w.next_event(lambda e: e.get("type") == "joined", timeout=30)
            ids = [e["id"] for e in j["history"]]
            self.assertTrue(ids, j["room"])
            self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))))
            self.assertGreaterEqual(ids[-1], self.last)
            # The others' joins before it may still wait for their commit:
            # they come next, as events.
            self.assertGreaterEqual(j["last_id"], ids[-1])
            lasts.append(j["last_id"])
            kept.append(ids[-1])
        # Taken in turn: each joined after the joins of those before it.
        order = sorted(lasts)
        self.assertEqual(order, list(range(order[0], order[0] + 30)), lasts)
        # Then every browser gets the joins after its joined's history, each
        # once, in order, up to the last one.
        for w, last in zip(conns, kept):
            got = []
            while not got or got[-1] < order[-1] + 1:
                e = w.next_event(lambda e: e.get("type") == "join" and e.get("room") == "#s",
                                 timeout=10)
                got.append(e["id"])
            self.assertEqual(got, list(range(last + 1, order[-1] + 2)), got)
        print("bystander echo while #s loaded: %.1f ms" % echo_ms)
        self.assertLess(echo_ms, 1000.0)
        for w in conns + [bystander]:
            w.close()


def request(w, msg, timeout=10):
    ref = "r%d" % time.monotonic_ns()
    w.send_json(dict(msg, ref=ref))
    return w.next_event(lambda e: e.get("ref") == ref, timeout=timeout)


class Bounds(unittest.TestCase):
    def test_read_rate_burst_boundary(self):
        # --read-rate 1: a burst of 2, one more a second. Two requests pass,
        # the third (well within a second) is refused with its ref.
        with Gateway(args=["--read-rate", "1"]) as gw:
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            hello2(w, nick="reader")
            # Idle past a full refill: the bucket holds its burst, no more.
            time.sleep(2.5)
            t0 = time.monotonic()
            codes = []
            for i in range(3):
                a = request(w, {"type": "history", "room": "#lobby", "limit": 5})
                codes.append(a.get("code") if a["type"] == "error" else a["type"])
                last = a
            self.assertLess(time.monotonic() - t0, 0.9, "too slow to test the burst")
            self.assertEqual(codes, ["history", "history", 429], codes)
            self.assertIn("history and search", last["message"])
            self.assertIn("ref", last)
            # Search counts against the same rate; after a second, one more.
            a = request(w, {"type": "search", "room": "#lobby", "q": "hello"})
            self.assertEqual(a.get("code"), 429, a)
            time.sleep(1.1)
            a = request(w, {"type": "search", "room": "#lobby", "q": "hello"})
            self.assertEqual(a["type"], "search", a)
            w.close()


if __name__ == "__main__":
    main()
