"""Room names joined and left cost nothing kept, through the real gateway on
its SQLite store: a room with no messages and nobody in it leaves no row and
no events in the database (joins, leaves and all), a room with messages
stays, a name opened again never gives an id twice (also after a restart),
and --room-rate bounds how fast one participant makes new rooms (429, over
both transports and in a hello's rooms)."""
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest

from gwtest import Gateway, Redis, TcpClient, WsClient, hello2, http_get, main, typed_line
from test_cluster import on_redis

V2 = "wintalk.v2"


def db_rooms(data_dir):
    """The rooms table's keys and how many events the database holds that
    belong to no room in it."""
    db = sqlite3.connect(os.path.join(data_dir, "wintalk.db"))
    try:
        keys = sorted(r[0] for r in db.execute("SELECT key FROM rooms"))
        orphans = db.execute("SELECT count(*) FROM events WHERE (k >> 40) NOT IN "
                             "(SELECT n FROM rooms)").fetchone()[0]
        return keys, orphans
    finally:
        db.close()


def metric(gw, name):
    status, _, body = http_get(gw.http_port, "/metrics")
    m = re.search(r"^%s (\d+)$" % re.escape(name), body.decode(), re.M)
    if not m:
        raise AssertionError("no %s in /metrics" % name)
    return int(m.group(1))


def join(w, room, ref):
    w.send_json({"type": "join", "room": room, "ref": ref})
    return w.next_event(lambda e: e.get("ref") == ref or
                        (e.get("type") == "joined" and e.get("room") == room))


def part(w, room):
    w.send_json({"type": "part", "room": room})
    w.next_event(lambda e: e.get("type") == "parted" and e.get("room") == room)


class Churn(unittest.TestCase):
    def test_rooms_joined_and_left_leave_nothing_behind(self):
        data = tempfile.mkdtemp(prefix="wintalk-churn-")
        self.addCleanup(shutil.rmtree, data, True)
        with Gateway(args=["--room-rate", "0"], data_dir=data) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            hello2(w, nick="alice")
            # A crowd of names, each joined and left; one of them said something.
            for i in range(40):
                room = "#churn%d" % i
                self.assertEqual(join(w, room, i)["type"], "joined")
                if i == 7:
                    w.send_json({"type": "say", "room": room, "text": "kept words"})
                    w.next_event(lambda e: e.get("type") == "message" and e.get("room") == room)
                part(w, room)
            # Someone still in a room without messages: it stays.
            self.assertEqual(join(w, "#stay", 100)["type"], "joined")
            # A TCP peer walks through rooms too.
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            for i in range(5):
                typed_line(t, "/join #walk%d" % i)
                t.wait_text("* you are in #walk%d" % i)
            typed_line(t, "/join #lobby")
            t.wait_text("* you are in #lobby")
            # The store forgets at the flush after the commit of the last
            # leave: 39 #churn rooms and the five the peer walked through.
            until(lambda: metric(gw, "wintalk_store_rooms_forgotten_total") >= 39 + 5,
                  "rooms forgotten: %d" % metric(gw, "wintalk_store_rooms_forgotten_total"))
            self.assertEqual(metric(gw, "wintalk_store_rooms_forgotten_total"), 39 + 5)
            t.close()
            w.close()
        keys, orphans = db_rooms(data)
        # #stay had alice in it when she closed, and was forgotten then.
        self.assertEqual(keys, ["#churn7", "#lobby"])
        self.assertEqual(orphans, 0)

    def test_a_name_opened_again_never_gives_an_id_twice(self):
        data = tempfile.mkdtemp(prefix="wintalk-churn-")
        self.addCleanup(shutil.rmtree, data, True)
        with Gateway(args=["--room-rate", "0"], data_dir=data) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            welcome = hello2(w, nick="alice", rooms={"#lobby": 0, "#gone": 0})
            epoch = welcome["epoch"]
            part(w, "#gone")
            w.close()
            gw.stop()
            self.assertNotIn("#gone", db_rooms(data)[0])
            gw2 = Gateway(data_dir=data, args=["--room-rate", "0"])
            try:
                # alice had seen #gone up to its join (and left at the next
                # id): its ids start above those, here after a restart.
                w = WsClient(gw2.http_port, subprotocol=V2)
                w2 = hello2(w, nick="alice", epoch=epoch, rooms={"#lobby": 0, "#gone": 1})
                gone = [r for r in w2["rooms"] if r["room"] == "#gone"][0]
                self.assertTrue(gone["gap"], gone)
                b = WsClient(gw2.http_port, subprotocol=V2)
                bw = hello2(b, nick="bob", rooms={"#lobby": 0, "#gone": 0})
                seen = [e["id"] for e in
                        [r for r in bw["rooms"] if r["room"] == "#gone"][0]["history"]]
                self.assertTrue(seen, bw)
                self.assertGreater(min(seen), 2, "ids 1 and 2 of #gone given again")
                b.send_json({"type": "say", "room": "#gone", "text": "new"})
                m = w.next_event(lambda e: e.get("type") == "message" and e.get("room") == "#gone")
                self.assertGreater(m["id"], max(seen))
                w.close()
                b.close()
            finally:
                gw2.stop()


def redis_rooms(redis):
    """The room keys Redis holds (hashes and streams), by room."""
    keys = redis.command("KEYS", "wintalk:room:*") or []
    return sorted({k.decode().split(":", 2)[2].rsplit(":log", 1)[0] for k in keys})


def until(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(what)


class ChurnOnRedis(unittest.TestCase):
    """The same rule where gateways share their rooms through Redis."""

    def setUp(self):
        self.redis = Redis()
        self.addCleanup(self.redis.close)
        self.a = on_redis(self.redis)
        self.addCleanup(self.a.stop)

    def test_rooms_joined_and_left_leave_nothing_in_redis(self):
        w = WsClient(self.a.http_port, subprotocol=V2)
        hello2(w, nick="alice")
        for i in range(12):
            room = "#churn%d" % i
            self.assertEqual(join(w, room, i)["type"], "joined")
            if i == 3:
                w.send_json({"type": "say", "room": room, "text": "kept words"})
                w.next_event(lambda e: e.get("type") == "message" and e.get("room") == room)
            part(w, room)
        until(lambda: redis_rooms(self.redis) == ["#churn3", "#lobby"],
              "Redis keeps %r" % redis_rooms(self.redis))
        # A name opened again starts above every id it gave.
        self.assertEqual(join(w, "#churn5", 50)["type"], "joined")
        w.send_json({"type": "say", "room": "#churn5", "text": "again"})
        m = w.next_event(lambda e: e.get("type") == "message" and e.get("room") == "#churn5")
        self.assertGreater(m["id"], 3, "ids of #churn5 given again")  # its join and leave were 1, 2
        w.close()

    def test_a_room_someone_is_in_on_another_gateway_stays(self):
        b = on_redis(self.redis)
        self.addCleanup(b.stop)
        bob = WsClient(b.http_port, subprotocol=V2)
        hello2(bob, nick="bob", rooms={"#lobby": 0, "#both": 0})
        alice = WsClient(self.a.http_port, subprotocol=V2)
        hello2(alice, nick="alice")
        # alice's gateway knows bob is in #both (its list comes every few
        # seconds): her joined reply names him.
        deadline = time.monotonic() + 15
        while True:
            j = join(alice, "#both", 1)
            if any(p["nick"] == "bob" for p in j.get("participants", [])):
                break
            self.assertLess(time.monotonic(), deadline, "gateway a never heard of bob")
            part(alice, "#both")
            time.sleep(0.5)
        part(alice, "#both")
        # A round trip later nothing was forgotten: bob is still in it.
        alice.send_json({"type": "say", "room": "#lobby", "text": "sync"})
        alice.next_event(lambda e: e.get("type") == "message" and e.get("text") == "sync")
        time.sleep(0.5)
        self.assertIn("#both", redis_rooms(self.redis))
        # bob leaves too: now it goes.
        part(bob, "#both")
        until(lambda: "#both" not in redis_rooms(self.redis), "#both stays in Redis")
        alice.close()
        bob.close()


class RoomRate(unittest.TestCase):
    def test_new_rooms_past_the_rate_get_429_and_old_ones_do_not(self):
        with Gateway(args=["--room-rate", "3"]) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            hello2(w, nick="alice")
            for i in range(3):  # the burst: three new rooms
                self.assertEqual(join(w, "#r%d" % i, i)["type"], "joined")
            err = join(w, "#r3", 3)
            self.assertEqual((err["type"], err["code"], err.get("room")), ("error", 429, "#r3"))
            self.assertIn("a minute", err["message"])
            # A room that exists is no new room: joining it takes nothing.
            b = WsClient(gw.http_port, subprotocol=V2)
            hello2(b, nick="bob", rooms={"#lobby": 0, "#r0": 0})
            part(w, "#r0")
            self.assertEqual(join(w, "#r0", 10)["type"], "joined")
            # A hello's rooms are new rooms too: the fourth is refused alone.
            c = WsClient(gw.http_port, subprotocol=V2)
            c.send_json({"type": "hello", "nick": "carol",
                         "rooms": {"#lobby": 0, "#c0": 0, "#c1": 0, "#c2": 0, "#c3": 0}})
            welcome = c.next_event(lambda e: e.get("type") == "welcome")
            self.assertEqual(sorted(r["room"] for r in welcome["rooms"]),
                             ["#c0", "#c1", "#c2", "#lobby"])
            err = c.next_event(lambda e: e.get("type") == "error")
            self.assertEqual((err["code"], err.get("room")), (429, "#c3"))
            # A TCP peer: the same bound, said in its pane.
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            for i in range(3):
                typed_line(t, "/join #t%d" % i)
                t.wait_text("* you are in #t%d" % i)
            typed_line(t, "/join #t3")
            t.wait_text("429")
            status, _, body = http_get(gw.http_port, "/metrics")
            self.assertRegex(body.decode(), r'wintalk_rejections_total\{reason="room_rate"\} [1-9]')
            for x in (w, b, c, t):
                x.close()


if __name__ == "__main__":
    main()
