"""A browser (or a WINTALK peer) that comes to a gateway which has nobody in
a room yet, the room's events being on another gateway: two and three
gateways on one real Redis (Debian's redis-server, started here on
127.0.0.1). The gateway waits until it has read the room from Redis before
it answers, and answers exactly: the room's latest id, who is in it on
every gateway, the history after the browser's last_id (gap only when
events after it are not there any more), and then each later event once,
never an old one again. The same for a peer's /join (its R frame holds the
room's transcript, each line once) and, under traffic, for the browsers of
a gateway stopped with SIGTERM that resume on another one. While Redis
stalls, a hello waits for the room 5 s, then is told 421 for it."""
import collections
import signal
import threading
import time
import unittest

from gwtest import Reader, Redis, TcpClient, WsClient, collect, hello2, main, room_of, typed_line
from test_cluster import on_redis

V2 = "wintalk.v2"
FAST = ("--rate", "0")
# A gateway sends its list of participants this often (GW_PRESENCE_BEAT_MS),
# and a little more.
BEAT_S = 6.0


def backlog(ws):
    """The events that came with the welcome, after it (in its batch)."""
    out = list(getattr(ws, "_backlog", []))
    ws._backlog = []
    return out


def ids_in(events, room):
    return [e["id"] for e in events if e.get("room") == room and "id" in e and not e.get("private")
            and e.get("type") in ("message", "join", "leave", "nick", "topic")]


class ResumeOnAnother(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.one = on_redis(self.redis, FAST)
        self.two = on_redis(self.redis, FAST)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for gw in (self.one, self.two):
            if gw.proc.poll() is None:
                gw.stop()
        self.redis.close()

    def web(self, gw, **kw):
        w = WsClient(gw.http_port, subprotocol=V2)
        self.clients.append(w)
        return w, hello2(w, **kw)

    def fill(self, room, n, nick="alice"):
        """alice on gateway two joins room and says n messages there;
        returns (her socket, the welcome, the room's latest id)."""
        w, welcome = self.web(self.two, nick=nick, rooms={room: 0})
        for i in range(n):
            w.send_json({"type": "say", "room": room, "text": "m%d" % i})
        last = w.next_event(lambda e: e.get("type") == "message" and e.get("room") == room
                            and e.get("text") == "m%d" % (n - 1), 30)
        return w, welcome, last["id"]

    def check_resume(self, room, latest, last_id, epoch, gap):
        """bob comes to gateway one (nobody there is in room) with last_id:
        his welcome and what follows are exact."""
        bob, welcome = self.web(self.one, nick="bob", epoch=epoch,
                                rooms={"#lobby": 0, room: last_id})
        r = room_of(welcome, room)
        hist = [e["id"] for e in r["history"]]
        self.assertEqual(r["last_id"], latest, "the room's latest id")
        self.assertEqual(r["gap"], gap, (last_id, hist[:3]))
        if last_id:
            if not gap:
                self.assertEqual(hist, list(range(last_id + 1, latest + 1)))
            else:
                self.assertTrue(hist and hist[0] > last_id + 1, hist[:3])
        if hist:
            self.assertEqual(hist, list(range(hist[0], latest + 1)), "a run up to the latest")
        nicks = [p["nick"] for p in r["participants"]]
        self.assertIn("alice", nicks)
        self.assertIn("bob", nicks)
        # Nothing old comes again; what comes next comes once.
        after = backlog(bob) + collect(bob, 1.5)
        old = [i for i in ids_in(after, room) if i <= latest]
        self.assertEqual(old, [], "old events again")
        return bob, hist

    def test_the_reported_case_a_resume_in_a_room_loaded_elsewhere(self):
        alice, aw, latest = self.fill("#a", 30)
        self.assertEqual(latest, 31)
        bob, hist = self.check_resume("#a", latest, 31, aw["epoch"], False)
        self.assertEqual(hist, [])
        # The next events: each once, in order.
        alice.send_json({"type": "say", "room": "#a", "text": "new one"})
        got = bob.next_event(lambda e: e.get("type") == "message" and e.get("text") == "new one",
                             5)
        more = backlog(bob) + collect(bob, 0.5)
        ids = ids_in(more + [got], "#a")
        self.assertEqual(len(ids), len(set(ids)))
        self.assertTrue(all(i > latest for i in ids), ids)

    def test_last_id_one_below_the_latest(self):
        _, aw, latest = self.fill("#b", 12)
        _, hist = self.check_resume("#b", latest, latest - 1, aw["epoch"], False)
        self.assertEqual(hist, [latest])

    def test_last_id_zero_gets_the_recent_history(self):
        _, aw, latest = self.fill("#c", 7)
        _, hist = self.check_resume("#c", latest, 0, aw["epoch"], False)
        self.assertEqual(hist, list(range(1, latest + 1)))

    def test_last_id_far_below_past_the_ring_is_a_gap(self):
        # 1,100 events: the gateway reads the latest 1,000 of them.
        _, aw, latest = self.fill("#d", 1100)
        # alice's join is not among them: gateway one knows she is there
        # from gateway two's list of participants, sent every 5 s.
        time.sleep(BEAT_S)
        self.check_resume("#d", latest, 5, aw["epoch"], True)

    def test_a_join_gets_a_joined_reply_as_exact(self):
        _, aw, latest = self.fill("#f", 15)
        bob, _ = self.web(self.one, nick="bob", epoch=aw["epoch"])
        bob.send_json({"type": "join", "room": "#f", "last_id": latest - 2, "ref": 4})
        r = bob.next_event(lambda e: e.get("type") == "joined", 10)
        self.assertEqual(r["last_id"], latest)
        self.assertFalse(r["gap"])
        self.assertEqual([e["id"] for e in r["history"]], [latest - 1, latest])
        self.assertIn("alice", [p["nick"] for p in r["participants"]])
        after = backlog(bob) + collect(bob, 1.5)
        self.assertEqual([i for i in ids_in(after, "#f") if i <= latest], [], "old events again")
        self.assertEqual(ids_in(after, "#f"), [latest + 1], "its own join, once")

    def test_redis_stalled_a_hello_is_told_421_for_the_room_then_it_comes(self):
        _, aw, latest = self.fill("#s", 5)
        self.redis.pause()
        try:
            bob = WsClient(self.one.http_port, subprotocol=V2)
            self.clients.append(bob)
            t0 = time.monotonic()
            welcome = hello2(bob, nick="bob", epoch=aw["epoch"],
                             rooms={"#lobby": 0, "#s": latest}, timeout=20)
            waited = time.monotonic() - t0
            # It waited for the room (5 s), then went on without it: no
            # entry for #s rather than one the gateway cannot vouch for.
            self.assertGreater(waited, 3.0)
            self.assertEqual([r["room"] for r in welcome["rooms"]], ["#lobby"])
            err = bob.next_event(lambda e: e.get("type") == "error", 5)
            self.assertEqual((err["code"], err.get("room")), (421, "#s"))
        finally:
            self.redis.resume()
        # Redis back: a join is answered exactly.
        bob.send_json({"type": "join", "room": "#s", "last_id": latest})
        r = bob.next_event(lambda e: e.get("type") == "joined", 15)
        self.assertEqual((r["last_id"], r["gap"], r["history"]), (latest, False, []))
        after = backlog(bob) + collect(bob, 1.5)
        self.assertEqual([i for i in ids_in(after, "#s") if i <= latest], [], "old events again")

    def test_a_peers_join_gets_the_transcript_once(self):
        _, _, latest = self.fill("#e", 20)
        t = TcpClient(self.one.tcp_port)
        self.clients.append(t)
        t.read_greeting()
        t.drain()
        typed_line(t, "/join #e")
        frames = t.wait_text("alice: m19", 10)
        time.sleep(1.0)
        frames += t.drain()
        # Its pane is replaced (R) with the room's transcript: each line
        # once, and none of them comes again after it.
        rs = [i for i, f in enumerate(frames) if f[0] == "R"]
        self.assertTrue(rs, frames)
        pane = frames[rs[-1]][1]
        lines = [ln for ln in pane.split("\r\n") if ln.startswith("alice: m")]
        self.assertEqual(lines, ["alice: m%d" % i for i in range(20)], pane)
        self.assertEqual(pane.count("* alice joined"), 1, pane)
        again = [f for f in frames[rs[-1] + 1:] if "alice" in f[1]]
        self.assertEqual(again, [], "lines of the transcript again")


class StoppedUnderTraffic(unittest.TestCase):
    """Three gateways: talk comes from gateway three into #load; six
    browsers on gateway two follow it; two is stopped (SIGTERM) and they
    resume on gateway one, where nobody is in #load, with their last ids."""
    N = 6

    def setUp(self):
        self.redis = Redis()
        self.one = on_redis(self.redis, FAST)
        self.two = on_redis(self.redis, FAST)
        self.three = on_redis(self.redis, FAST)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for gw in (self.one, self.two, self.three):
            if gw.proc.poll() is None:
                gw.stop()
        self.redis.close()

    def test_each_resumes_with_every_event_after_its_last_id_once(self):
        talker = WsClient(self.three.http_port, subprotocol=V2)
        self.clients.append(talker)
        hello2(talker, nick="talker", rooms={"#load": 0})
        stop = threading.Event()
        said = [0]

        def talk():
            while not stop.is_set() and said[0] < 2000:
                try:
                    talker.send_json({"type": "say", "room": "#load", "text": "t%d" % said[0]})
                except OSError:
                    return
                said[0] += 1
                time.sleep(0.01)

        followers = []
        for i in range(self.N):
            w = WsClient(self.two.http_port, subprotocol=V2)
            self.clients.append(w)
            wl = hello2(w, nick="f%d" % i, rooms={"#load": 0})
            followers.append((w, wl, Reader(w)))
        epoch = followers[0][1]["epoch"]
        sender = threading.Thread(target=talk, daemon=True)
        sender.start()
        time.sleep(2.0)
        self.two.stop(signal.SIGTERM)
        seen = []
        for w, wl, rd in followers:
            evs = rd.finish()
            r = room_of(wl, "#load")
            ids = [e["id"] for e in r["history"]] + ids_in(evs, "#load")
            self.assertEqual(len(ids), len(set(ids)), "each once before the stop")
            seen.append(ids)
        # They come back on gateway one, traffic going on.
        back = []
        for i, ids in enumerate(seen):
            last = max(ids) if ids else 0
            w = WsClient(self.one.http_port, subprotocol=V2)
            self.clients.append(w)
            # Half as the page does, with its identity's token (which
            # gateway one looks up in Redis first), half as a new identity:
            # both with the last id they saw.
            if i % 2:
                wl = hello2(w, epoch=epoch, token=followers[i][1]["token"],
                            rooms={"#lobby": 0, "#load": last})
                self.assertEqual(wl["you"]["nick"], "f%d" % i)
            else:
                wl = hello2(w, nick="g%d" % i, epoch=epoch, rooms={"#lobby": 0, "#load": last})
            back.append((last, wl, Reader(w)))
        time.sleep(2.0)
        stop.set()
        sender.join(5)
        time.sleep(1.5)
        # The room's latest id, as everyone finally knows it.
        check = WsClient(self.three.http_port, subprotocol=V2)
        self.clients.append(check)
        final = room_of(hello2(check, nick="check", rooms={"#load": 0}), "#load")["last_id"]
        self.assertGreater(said[0], 100)
        for last, wl, rd in back:
            r = room_of(wl, "#load")
            self.assertFalse(r["gap"], "nothing is past the ring here")
            self.assertGreaterEqual(r["last_id"], last)
            evs = rd.finish()
            ids = [e["id"] for e in r["history"]] + ids_in(evs, "#load")
            dup = [i for i, c in collections.Counter(ids).items() if c > 1]
            self.assertEqual(dup, [], "an event twice")
            self.assertEqual([i for i in ids if i <= last], [], "an old event again")
            # Every event after last, up to the end of the talk and past
            # it (the check's join, the last leaves).
            self.assertGreaterEqual(max(ids), final)
            self.assertEqual(sorted(ids), list(range(last + 1, max(ids) + 1)),
                             "every event after its last id")


if __name__ == "__main__":
    main()
