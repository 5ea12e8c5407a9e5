"""A gateway killed (SIGKILL) among three sharing one real Redis, under
load, after Redis itself was restarted: its participants leave every
list with a `leave` (reason `gone`) in each of their rooms, said exactly
once, though Redis stalls (SIGSTOP, then SIGCONT, 3 s) just as the two
gateways left drop them (neither can reach Redis at that moment: each
posts the leaves, and the one that Redis keeps first is the only one
kept). And a gateway's list read back from Redis after a restart is as
old as it is: a gateway that died meanwhile is gone in time."""
import re
import threading
import time
import unittest

from gwtest import Reader, Redis, TcpClient, WsClient, collect, hello2, main, typed_line
import test_cluster
from test_cluster import on_redis, wait_ready

V2 = "wintalk.v2"
STALL_S = 3.0
# A gateway's list lives in Redis as long as the others keep it before
# they count the gateway gone (GW_PRESENCE_TTL_MS).
TTL_S = 15.0


class Talker:
    """A browser saying a line every 25 ms, in turn in #lobby and #a, and
    reading what it gets (so that it never falls behind)."""

    def __init__(self, gw, nick):
        self.ws = WsClient(gw.http_port, subprotocol=V2)
        hello2(self.ws, nick=nick)
        self.ws.send_json({"type": "join", "room": "#a"})
        self.said = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            room = "#a" if self.said % 2 else "#lobby"
            try:
                self.ws.send_json({"type": "say", "room": room, "text": "load %d" % self.said})
                collect(self.ws, 0.025)
            except (ConnectionError, OSError):
                return
            self.said += 1

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.ws.close()


def node_of(gw):
    line = gw.wait_log("rooms shared with every gateway on it; node ")
    return int(re.search(r"; node (\d+)", line).group(1))


def gone_leaves(events):
    return sorted((e["room"], e["nick"]) for e in events
                  if e.get("type") == "leave" and e.get("reason") == "gone")


class GoneThroughAStall(unittest.TestCase):
    def setUp(self):
        self.redis = Redis(appendonly=True)
        self.gws = [on_redis(self.redis) for _ in range(3)]
        self.clients = []
        self.readers = []
        self.talkers = []

    def tearDown(self):
        for t in self.talkers:
            t.close()
        for r in self.readers:
            r.close()
        for c in self.clients:
            c.close()
        for gw in self.gws:
            if gw.proc.poll() is None:
                gw.stop()
        try:
            self.redis.resume()
        except OSError:
            pass
        self.redis.close()

    def web(self, gw, nick, rooms=()):
        w = WsClient(gw.http_port, subprotocol=V2)
        self.clients.append(w)
        hello2(w, nick=nick)
        for room in rooms:
            w.send_json({"type": "join", "room": room})
            w.next_event(lambda e, room=room: e.get("type") == "joined" and e.get("room") == room,
                         10)
        return w

    def stream_leaves(self, room):
        """The leaves (reason gone) kept in the room's stream: (nick, pid)."""
        out = []
        for _, fields in self.redis.command("XRANGE", "wintalk:room:%s:log" % room, "-", "+"):
            j = dict(zip(fields[::2], fields[1::2]))[b"j"].decode()
            if '"type":"leave"' in j and '"reason":"gone"' in j:
                out.append((re.search(r'"nick":"([^"]*)"', j).group(1),
                            int(re.search(r'"pid":(\d+)', j).group(1))))
        return sorted(out)

    def who(self, w, tag):
        w.send_json({"type": "say", "room": "#lobby", "text": "/who", "ref": tag})
        return w.next_event(lambda e: "here:" in e.get("text", ""), 10)["text"]

    def test_a_dead_gateways_participants_leave_once_though_redis_stalls(self):
        a, b, c = self.gws
        # On a, the gateway that will die: a WINTALK peer in the lobby, a
        # browser in three rooms, and six more browsers in two.
        dora = TcpClient(a.tcp_port)
        self.clients.append(dora)
        dora.read_greeting()
        typed_line(dora, "/nick dora")
        dora.wait_text("is now dora")
        self.web(a, "bea", ("#a", "#b"))
        extras = ["x%d" % i for i in range(6)]
        for nick in extras:
            self.web(a, nick, ("#a",))
        # Watching on b and c; talking on both (the load keeps commands in
        # flight, so that the stall cuts both gateways off Redis).
        alice = self.web(b, "alice", ("#a", "#b"))
        carl = self.web(c, "carl", ("#a", "#b"))
        self.talkers = [Talker(b, "tb"), Talker(c, "tc")]

        # The first fault: Redis restarted (SIGTERM, its append-only file
        # kept); every gateway finds it again, and a's list comes again.
        self.redis.stop()
        self.redis.start()
        for gw in self.gws:
            wait_ready(gw, 200, 20)
        time.sleep(6)  # a beat of every gateway since
        for w, tag in ((alice, 1), (carl, 2)):
            listed = self.who(w, tag)
            for nick in ["dora", "bea"] + extras:
                self.assertIn(nick, listed)
        self.readers = [Reader(alice), Reader(carl)]

        # The second: a dies; when its list in Redis runs out, b and c drop
        # its participants, and the stall starts just before that (so that
        # both have given up on Redis when they do).
        node = node_of(a)
        a.proc.kill()
        a.proc.wait()
        killed = time.monotonic()
        left_ms = self.redis.command("PTTL", "wintalk:presence:%d" % node)
        self.assertGreater(left_ms, 0)
        expire = killed + left_ms / 1000.0
        time.sleep(max(0.0, expire - (STALL_S - 0.6) - time.monotonic()))
        self.redis.pause()
        try:
            time.sleep(STALL_S)
        finally:
            self.redis.resume()

        # Each of them leaves each of its rooms, once, on both gateways
        # (a beat, the time to live, the outage and a retry: 35 s at most).
        want = sorted([("#lobby", "dora"), ("#lobby", "bea"), ("#a", "bea"), ("#b", "bea")]
                      + [(room, n) for n in extras for room in ("#lobby", "#a")])
        deadline = killed + 35
        while time.monotonic() < deadline:
            if all(gone_leaves(r.events) == want for r in self.readers):
                break
            time.sleep(0.2)
        took = time.monotonic() - killed
        time.sleep(2)  # nothing more comes
        for r, name in zip(self.readers, ("alice on b", "carl on c")):
            self.assertEqual(gone_leaves(r.events), want,
                             "%s: every leave of a's participants once, %.1f s after the kill"
                             % (name, took))
        self.assertLess(took, 35)
        # Kept once each in every room's stream.
        for room in ("#lobby", "#a", "#b"):
            nicks = [n for n, _ in self.stream_leaves(room)]
            self.assertEqual(sorted(nicks), sorted(n for r, n in want if r == room), room)
        # And gone from every list.
        for r in self.readers:
            r.close()
        self.readers = []
        for w, tag in ((alice, 3), (carl, 4)):
            listed = self.who(w, tag)
            for nick in ["dora", "bea"] + extras:
                self.assertNotIn(nick, listed)
        # The load went on through it all.
        self.assertGreater(min(t.said for t in self.talkers), 200)


class TwoGatewaysKeptRedis(unittest.TestCase):
    """Two gateways on a Redis that keeps its data through a restart."""

    def setUp(self):
        self.redis = Redis(appendonly=True)
        self.a = on_redis(self.redis)
        self.b = on_redis(self.redis)
        self.clients = []

    # (the module, not the class, is imported: unittest would run its tests)
    tearDown = test_cluster.TwoGateways.tearDown
    tcp = test_cluster.TwoGateways.tcp
    web = test_cluster.TwoGateways.web

    def test_a_list_read_back_after_a_redis_restart_keeps_its_age(self):
        # a dies; a few seconds later Redis restarts (its append-only file
        # kept) and b, connecting again, reads back a's last list, still in
        # Redis: as old as it is, not as news of a. dora leaves within the
        # time to live of a's last beat (15 s after the kill at most), not
        # 15 s after b came back.
        dora = self.tcp(self.a, "dora")
        w, _ = self.web(self.b, "alice")
        w.send_json({"type": "say", "room": "#lobby", "text": "/who"})
        self.assertIn("dora (tcp)", w.next_event(lambda e: "here:" in e.get("text", ""), 5)["text"])
        # a's list with dora is kept in Redis (a beat of a's since she came).
        deadline = time.monotonic() + 10
        while not any(b"dora" in (self.redis.command("GET", k) or b"")
                      for k in self.redis.command("KEYS", "wintalk:presence:*")):
            self.assertLess(time.monotonic(), deadline, "no list of a's with dora in Redis")
            time.sleep(0.1)
        self.a.proc.kill()
        self.a.proc.wait()
        killed = time.monotonic()
        time.sleep(7)
        self.redis.stop()
        self.redis.start()
        wait_ready(self.b, 200, 10)
        leave = w.next_event(lambda e: e.get("type") == "leave" and e.get("nick") == "dora", 30)
        took = time.monotonic() - killed
        self.assertEqual(leave["reason"], "gone")
        self.assertLess(took, 18.0)
        del dora


if __name__ == "__main__":
    main()
