"""Several gateways sharing their rooms through one real Redis (Debian's
redis-server, started here on 127.0.0.1): a WINTALK peer typing key by key
on each gateway and a browser, chatting both ways with live typing; a
gateway killed with SIGKILL and its browser resuming on the other with
nothing lost and nothing twice; Redis stopped during a chat (refused sends
get 451, /readyz says why) and started again (nothing accepted is lost);
Redis restarted empty (a new epoch: resuming browsers are told reset)."""
import json
import time
import unittest
import urllib.error
import urllib.request

from gwtest import Gateway, Redis, TcpClient, WsClient, collect, hello2, main, messages, typed_line

V2 = "wintalk.v2"


def ready(gw):
    """(status, body) of the gateway's /readyz."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % gw.http_port, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_ready(gw, want=200, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = ready(gw)
        if status == want:
            return body
        time.sleep(0.1)
    raise AssertionError("/readyz never answered %d: %s %s" % (want, status, body))


def on_redis(redis, **kw):
    gw = Gateway(args=("--store", "redis", "--redis", redis.url), **kw)
    wait_ready(gw)
    return gw


def lobby_ids(events):
    return [e["id"] for e in events if e.get("room") == "#lobby" and "id" in e]


class TwoGateways(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.a = on_redis(self.redis)
        self.b = on_redis(self.redis)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for gw in (self.a, self.b):
            if gw.proc.poll() is None:
                gw.stop()
        self.redis.close()

    def tcp(self, gw, nick):
        t = TcpClient(gw.tcp_port)
        t.read_greeting()
        typed_line(t, "/nick " + nick)
        t.wait_text("is now " + nick)
        self.clients.append(t)
        return t

    def web(self, gw, nick, **kw):
        w = WsClient(gw.http_port, subprotocol=V2)
        self.clients.append(w)
        return w, hello2(w, nick=nick, **kw)

    def test_peers_on_two_gateways_and_a_browser_chat_both_ways(self):
        dora = self.tcp(self.a, "dora")
        ed = self.tcp(self.b, "ed")
        w, welcome = self.web(self.b, "alice")
        # A line typed on gateway a reaches the peer on b and the browser.
        typed_line(dora, "hello from a")
        ed.wait_text("dora: hello from a")
        w.next_event(lambda e: e.get("type") == "message" and e.get("text") == "hello from a")
        # And back: from b to a.
        typed_line(ed, "hello from b")
        dora.wait_text("ed: hello from b")
        w.send_json({"type": "say", "room": "#lobby", "text": "and from the browser"})
        dora.wait_text("alice: and from the browser")
        ed.wait_text("alice: and from the browser")
        # Live typing crosses too: dora's unfinished line on the browser on b.
        dora.send_frame("A", "typ")
        w.next_event(lambda e: e.get("type") == "typing" and e.get("text") == "typ", 5)
        # One sequence of ids for the room, whichever gateway took the line.
        a_view = WsClient(self.a.http_port, subprotocol=V2)
        self.clients.append(a_view)
        wa = hello2(a_view, nick="viewer")
        ra = [r for r in wa["rooms"] if r["room"] == "#lobby"][0]
        self.assertGreaterEqual(ra["last_id"], 3)
        # The transcript a peer is shown says the same on both gateways.
        late = TcpClient(self.a.tcp_port)
        self.clients.append(late)
        _, (op, text) = late.read_greeting()
        self.assertIn("dora: hello from a\r\ned: hello from b\r\nalice: and from the browser",
                      text)

    def test_kill_9_of_a_gateway_its_browser_resumes_on_the_other(self):
        dora = self.tcp(self.a, "dora")
        w, welcome = self.web(self.a, "alice")
        epoch = welcome["epoch"]
        seen = []
        for i in range(30):
            typed_line(dora, "line %d" % i)
        deadline = time.monotonic() + 10
        while len(messages(seen)) < 30 and time.monotonic() < deadline:
            seen += collect(w, 0.2)
        got = [e["text"] for e in messages(seen) if e["room"] == "#lobby"]
        self.assertEqual(got, ["line %d" % i for i in range(30)])
        last = max(lobby_ids(seen))
        # Gateway a dies; meanwhile a peer on b goes on talking.
        self.a.proc.kill()
        self.a.proc.wait()
        ed = self.tcp(self.b, "ed")
        for i in range(5):
            typed_line(ed, "after %d" % i)
        ed.wait_text("ed: after 4")
        # alice comes back through b with her epoch and last id: exactly
        # what she missed, once, in order.
        w2 = WsClient(self.b.http_port, subprotocol=V2)
        self.clients.append(w2)
        back = hello2(w2, nick="alice", epoch=epoch, rooms={"#lobby": last})
        self.assertFalse(back.get("reset", False), back)
        self.assertEqual(back["epoch"], epoch)
        room = [r for r in back["rooms"] if r["room"] == "#lobby"][0]
        self.assertFalse(room["gap"], room)
        events = list(room["history"]) + collect(w2, 1.0)
        ids = lobby_ids(events)
        self.assertEqual(ids, sorted(set(ids)), "each once, in order")
        self.assertTrue(all(i > last for i in ids))
        texts = [e["text"] for e in messages(events)]
        self.assertEqual([t for t in texts if t.startswith("after")],
                         ["after %d" % i for i in range(5)])
        self.assertFalse(any(t.startswith("line ") for t in texts), texts)


class RedisFaults(unittest.TestCase):
    def setUp(self):
        self.redis = Redis(appendonly=True)
        self.gw = on_redis(self.redis)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        if self.gw.proc.poll() is None:
            self.gw.stop()
        self.redis.close()

    def test_redis_stopped_sends_refused_then_back_nothing_lost(self):
        w = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w)
        hello2(w, nick="alice")
        w.send_json({"type": "say", "room": "#lobby", "text": "before", "ref": 1})
        w.next_event(lambda e: e.get("type") == "message" and e.get("text") == "before")
        self.redis.stop()
        wait_ready(self.gw, 503)
        status, body = ready(self.gw)
        self.assertIn("redis", body)
        # Connected still, and told: a message now is refused with 451.
        w.send_json({"type": "say", "room": "#lobby", "text": "during", "ref": 2})
        err = w.next_event(lambda e: e.get("type") == "error", 5)
        self.assertEqual(err["code"], 451)
        self.assertEqual(err.get("ref"), 2)
        self.redis.start()
        wait_ready(self.gw, 200, 20)
        w.send_json({"type": "say", "room": "#lobby", "text": "after", "ref": 3})
        w.next_event(lambda e: e.get("type") == "message" and e.get("text") == "after", 10)
        # The stream holds what was accepted, never the refused one.
        w.send_json({"type": "history", "room": "#lobby", "limit": 50})
        h = w.next_event(lambda e: e.get("type") == "history", 5)
        texts = [e["text"] for e in messages(h["events"])]
        self.assertIn("before", texts)
        self.assertIn("after", texts)
        self.assertNotIn("during", texts)
        self.gw.wait_log("redis")

    def test_redis_restarted_empty_is_a_new_epoch_and_resumes_are_reset(self):
        w = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w)
        first = hello2(w, nick="alice")
        w.send_json({"type": "say", "room": "#lobby", "text": "soon forgotten"})
        ev = w.next_event(lambda e: e.get("type") == "message", 5)
        self.redis.flushall()
        # The gateway finds the new epoch and sends its wintalk.v2
        # browsers back to resume; resuming, they are told reset.
        deadline = time.monotonic() + 15
        while w.closed is None and time.monotonic() < deadline:
            try:
                collect(w, 0.3)
            except (ConnectionError, OSError):
                break
        self.assertEqual(w.closed, 1012)
        w2 = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w2)
        back = hello2(w2, nick="alice", epoch=first["epoch"], rooms={"#lobby": ev["id"]})
        self.assertTrue(back.get("reset"), back)
        self.assertNotEqual(back["epoch"], first["epoch"])


if __name__ == "__main__":
    main()
