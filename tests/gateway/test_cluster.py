"""Several gateways sharing their rooms through one real Redis (Debian's
redis-server, started here on 127.0.0.1): a WINTALK peer typing key by key
on each gateway and a browser, chatting both ways with live typing; a
gateway killed with SIGKILL and its browser resuming on the other with
nothing lost and nothing twice; Redis stopped during a chat (refused sends
get 451, /readyz says why) and started again (nothing accepted is lost);
Redis restarted empty (a new epoch: resuming browsers are told reset)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from gwtest import (Gateway, Redis, TcpClient, WsClient, collect, default_web_root, find_gateway,
                    hello2, main,
                    messages, typed_line)

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


def on_redis(redis, args=(), **kw):
    gw = Gateway(args=("--store", "redis", "--redis", redis.url) + tuple(args), **kw)
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

    def kill_subscription_of(self, gw):
        """CLIENT KILL the Redis connection of gw that is subscribed: found
        by gw's local ports (ss) among Redis' pub/sub clients."""
        out = subprocess.run(["ss", "-Htnp", "state", "established",
                              "( dport = :%d )" % self.redis.port],
                             capture_output=True, text=True, check=True).stdout
        ports = {line.split()[2].rsplit(":", 1)[1] for line in out.splitlines()
                 if "pid=%d," % gw.pid in line}
        killed = 0
        for c in self.redis.command("CLIENT", "LIST").decode().splitlines():
            f = dict(kv.split("=", 1) for kv in c.split() if "=" in kv)
            if "P" in f.get("flags", "") and f["addr"].rsplit(":", 1)[1] in ports:
                killed += self.redis.command("CLIENT", "KILL", "ID", f["id"])
        return killed

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

    def test_a_reload_that_lands_on_the_other_gateway_is_nothing_for_anyone(self):
        """A browser closes on a and comes back, with its token, on b within
        the reload grace: no line anywhere, no join or leave that a page
        shows (its new connection's join and the old one's leave say tab);
        closed for good, its leave comes when the grace ends."""
        grace = 3
        for gw in (self.a, self.b):
            gw.stop()
        self.a = on_redis(self.redis, ("--reload-grace", str(grace)))
        self.b = on_redis(self.redis, ("--reload-grace", str(grace)))
        dora = self.tcp(self.b, "dora")
        eve, _ = self.web(self.a, "eve")
        bob, _ = self.web(self.b, "bob", rooms={"#lobby": 0, "#dev": 0})
        w, welcome = self.web(self.a, "alice", rooms={"#lobby": 0, "#dev": 0})
        dora.wait_text("* alice joined")
        of_alice = lambda e: e.get("type") in ("join", "leave") and e.get("nick") == "alice"
        bob.next_event(lambda e: of_alice(e) and e["room"] == "#dev", 10)
        # The beat lists name her connection, and then it closes.
        time.sleep(1.2)
        collect(eve, 0.3)
        collect(bob, 0.3)
        w.close()
        time.sleep(0.3)
        w2, back = self.web(self.b, "alice", token=welcome["token"], rooms={"#lobby": 0, "#dev": 0})
        self.assertEqual(back["you"]["nick"], "alice", back["you"])
        seen = {"eve": collect(eve, grace + 2.0), "bob": collect(bob, 0.5)}
        for who, events in seen.items():
            shown = [e for e in events if of_alice(e) and not e.get("tab")]
            self.assertEqual(shown, [], "%s saw alice come or go: %r" % (who, events))
        tabs = [(e["type"], e["room"]) for e in seen["bob"] if of_alice(e)]
        self.assertEqual(sorted(tabs), [("join", "#dev"), ("join", "#lobby"),
                                        ("leave", "#dev"), ("leave", "#lobby")], seen["bob"])
        dora.drain()
        self.assertNotIn("alice left", dora.view)
        self.assertEqual(dora.view.count("alice joined"), 1, dora.view)
        # Closed for good: she leaves when the grace ends, for everyone.
        w2.close()
        self.assertEqual(collect(bob, grace - 1.5), [])
        dora.wait_text("* alice left", timeout=grace + 5)
        left = eve.next_event(of_alice, 5)
        self.assertEqual((left["type"], left.get("tab"), left["reason"]),
                         ("leave", None, "closed"), left)

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


    def test_kill_9_its_browser_resumes_its_identity_on_the_other(self):
        # alice (a browser on a) and dora (a peer on b) write privately.
        dora = self.tcp(self.b, "dora")
        w, welcome = self.web(self.a, "alice")
        token = welcome["token"]

        def pm(ws, text):
            return ws.next_event(lambda e: e.get("private") and e.get("text") == text, 5)

        typed_line(dora, "/msg alice one")
        one = pm(w, "one")
        typed_line(dora, "/msg alice two")
        two = pm(w, "two")
        w.send_json({"type": "say", "room": "#lobby", "text": "/msg dora three"})
        three = pm(w, "three")
        dora.wait_text("* alice -> you: three")
        self.assertEqual([one["id"], two["id"], three["id"]],
                         [one["id"], one["id"] + 1, one["id"] + 2])
        # Gateway a dies. Before its participants leave b's lists, a
        # message to alice reaches no gateway: dora is told.
        self.a.proc.kill()
        self.a.proc.wait()
        typed_line(dora, "/msg alice lost")
        dora.wait_text("* error 451: private message to alice not delivered: "
                       "their gateway stopped answering")
        # alice's browser had shown only "one": it resumes on b with its
        # token, and gets its nick back (the browser a had is the same
        # identity) and exactly the private messages it missed, once.
        w2 = WsClient(self.b.http_port, subprotocol=V2)
        self.clients.append(w2)
        back = hello2(w2, epoch=welcome["epoch"], token=token, private_id=one["id"])
        self.assertEqual(back["token"], token)
        self.assertEqual(back["you"]["nick"], "alice")
        self.assertEqual([(e["text"], e["id"]) for e in back["private"]],
                         [("two", two["id"]), ("three", three["id"])])
        self.assertEqual(back["private_id"], three["id"])
        self.assertFalse([e for e in collect(w2, 0.5) if e.get("type") == "error"])
        # And it goes on there: dora's next one has the next id.
        typed_line(dora, "/msg alice four")
        self.assertEqual(pm(w2, "four")["id"], three["id"] + 1)
        # A token no gateway gave is a new identity, as on one gateway.
        w3 = WsClient(self.b.http_port, subprotocol=V2)
        self.clients.append(w3)
        fresh = hello2(w3, nick="carl", token="0" * 32, private_id=1)
        self.assertNotEqual(fresh["token"], "0" * 32)
        self.assertEqual(fresh["private"], [])

    def test_who_nicks_and_private_messages_cross_gateways(self):
        dora = self.tcp(self.a, "dora")
        w, welcome = self.web(self.b, "alice")
        # dora's join reached b: she is in the lobby's list there.
        w.send_json({"type": "say", "room": "#lobby", "text": "/who"})
        who = w.next_event(lambda e: e.get("code") == 211 or "here:" in e.get("text", ""), 5)
        self.assertIn("dora (tcp)", who["text"])
        self.assertIn("alice (web)", who["text"])
        # /who on a: alice, from b, is listed too.
        typed_line(dora, "/who")
        dora.wait_text("alice (web)")
        # A nick taken on a cannot be taken on b, whatever its case.
        ed = self.tcp(self.b, "ed")
        typed_line(ed, "/nick Dora")
        ed.wait_text('nick "Dora" is taken')
        w.send_json({"type": "say", "room": "#lobby", "text": "/nick DORA", "ref": 5})
        err = w.next_event(lambda e: e.get("type") == "error" and e.get("ref") == 5, 5)
        self.assertEqual(err["code"], 553)
        # /msg from b to dora on a, and back from a to alice on b.
        w.send_json({"type": "say", "room": "#lobby", "text": "/msg dora psst from b"})
        dora.wait_text("* alice -> you: psst from b")
        typed_line(dora, "/msg alice hi back")
        pm = w.next_event(lambda e: e.get("private") and e.get("text") == "hi back", 5)
        self.assertEqual(pm["nick"], "dora")
        self.assertEqual(pm["with"], "dora")
        dora.wait_text("* you -> alice: hi back")
        # Nobody in the lobby saw them.
        self.assertNotIn("psst", ed.view)

    def test_a_private_message_across_gateways_reaches_its_receiver_only(self):
        # a: alice (who writes), carol and a peer tess; b: bob (written to),
        # bobby (whose nick starts with his) and a peer dave.
        w_alice, _ = self.web(self.a, "alice")
        w_carol, _ = self.web(self.a, "carol")
        tess = self.tcp(self.a, "tess")
        w_bob, _ = self.web(self.b, "bob")
        w_bobby, _ = self.web(self.b, "bobby")
        dave = self.tcp(self.b, "dave")
        deadline = time.monotonic() + 10
        while True:
            w_alice.send_json({"type": "say", "room": "#lobby", "text": "/who"})
            who = w_alice.next_event(lambda e: "here:" in e.get("text", ""), 5)["text"]
            if all(n in who for n in ("bob (web)", "bobby (web)", "dave (tcp)")):
                break
            self.assertLess(time.monotonic(), deadline, who)
            time.sleep(0.2)
        webs = {"alice": w_alice, "carol": w_carol, "bob": w_bob, "bobby": w_bobby}
        peers = {"tess": tess, "dave": dave}

        def who_got(text, receiver):
            """Wait for receiver's copy; then who else, browser or peer, got
            anything with text in it."""
            if receiver in webs:
                webs[receiver].next_event(lambda e: e.get("private") and e.get("text") == text, 5)
            else:
                peers[receiver].wait_text("* alice -> you: " + text)
            time.sleep(0.5)
            got = set()
            for nick, w in webs.items():
                if nick != receiver and any(text in json.dumps(e) for e in collect(w, 0.3)
                                            if e.get("type") != "error"):
                    got.add(nick)
            for nick, t in peers.items():
                if nick != receiver and any(text in f[1] for f in t.drain(0.3)):
                    got.add(nick)
            got.discard("alice")  # her own copy ("you -> bob")
            return got

        w_alice.send_json({"type": "say", "room": "#lobby", "text": "/msg bob psst"})
        self.assertEqual(who_got("psst", "bob"), set())
        w_alice.send_json({"type": "say", "room": "#lobby", "text": "/msg bobby hush"})
        self.assertEqual(who_got("hush", "bobby"), set())
        w_alice.send_json({"type": "say", "room": "#lobby", "text": "/msg dave quiet"})
        self.assertEqual(who_got("quiet", "dave"), set())
        # A name nobody has, though two nicks start with it: refused, and
        # nobody gets it.
        w_alice.send_json({"type": "say", "room": "#lobby", "text": "/msg bo nope", "ref": 4})
        err = w_alice.next_event(lambda e: e.get("type") == "error" and e.get("ref") == 4, 5)
        self.assertEqual(err["code"], 550)
        time.sleep(0.5)
        for nick, w in webs.items():
            self.assertFalse([e for e in collect(w, 0.3) if "nope" in json.dumps(e)
                              and e.get("type") != "error"], nick)
        for nick, t in peers.items():
            self.assertNotIn("nope", t.view, nick)

    def test_the_first_events_of_a_room_just_opened_come_at_once(self):
        # A room no gateway has open: the gateway starts watching it as the
        # browser joins, and its join, and a line said at once there, come
        # back to it at once (not at the next check of the rooms, 5 to 10 s
        # later); on the other gateway too, once someone is there.
        for i in range(3):
            room = "#fresh%d" % i
            w, _ = self.web(self.a, "joiner%d" % i)
            t0 = time.monotonic()
            w.send_json({"type": "join", "room": room})
            # In it once the gateway has read it from Redis: joined says so.
            w.next_event(lambda e: e.get("type") == "joined" and e.get("room") == room, 10)
            w.send_json({"type": "say", "room": room, "text": "first words"})
            w.next_event(lambda e: e.get("type") == "join" and e.get("room") == room, 10)
            w.next_event(lambda e: e.get("type") == "message" and e.get("room") == room, 10)
            self.assertLess(time.monotonic() - t0, 2.0, room)
            o, _ = self.web(self.b, "other%d" % i)
            t0 = time.monotonic()
            o.send_json({"type": "join", "room": room})
            o.next_event(lambda e: e.get("type") == "join" and e.get("room") == room
                         and e.get("nick") == "other%d" % i, 10)
            self.assertLess(time.monotonic() - t0, 2.0, room)

    def test_a_nick_both_gateways_gave_at_once_stays_with_one(self):
        # While Redis is stopped (SIGSTOP, shorter than the gateways'
        # command timeout), neither gateway hears of the other's newcomer,
        # and both give the nick "zoe"; a third browser is already there.
        watcher, _ = self.web(self.a, "watcher")
        wa = WsClient(self.a.http_port, subprotocol=V2)
        wb = WsClient(self.b.http_port, subprotocol=V2)
        self.clients += [wa, wb]
        self.redis.pause()
        try:
            wa.send_json({"type": "hello", "nick": "zoe"})
            time.sleep(0.05)
            wb.send_json({"type": "hello", "nick": "ZOE"})
            time.sleep(0.3)
        finally:
            self.redis.resume()
        welcomes = [w.next_event(lambda e: e.get("type") == "welcome", 10) for w in (wa, wb)]
        self.assertEqual([x["you"]["nick"] for x in welcomes], ["zoe", "ZOE"])
        # Once each hears of the other, the one who took it later (the
        # browser on b) is a guest, told why; the first keeps it.
        err = wb.next_event(lambda e: e.get("type") == "error", 10)
        self.assertEqual(err["code"], 553)
        self.assertIn('nick "ZOE" was taken on another gateway first; you are guest-',
                      err["message"])
        mine = wb.next_event(lambda e: e.get("type") == "nick" and e.get("old") == "ZOE", 10)
        self.assertEqual(mine["pid"], welcomes[1]["you"]["pid"])
        self.assertTrue(mine["nick"].startswith("guest-"))
        # Everyone sees the change, and /who lists one zoe.
        watcher.next_event(lambda e: e.get("type") == "nick" and e.get("old") == "ZOE", 10)
        watcher.send_json({"type": "say", "room": "#lobby", "text": "/who"})
        who = watcher.next_event(lambda e: "here:" in e.get("text", ""), 5)["text"]
        self.assertIn("zoe (web)", who)
        self.assertNotIn("ZOE", who)
        self.assertIn(mine["nick"] + " (web)", who)
        self.assertFalse([e for e in collect(wa, 1.0) if e.get("type") == "error"])

    def test_what_was_published_while_a_subscription_was_lost_is_read_back(self):
        dora = self.tcp(self.a, "dora")
        w, _ = self.web(self.b, "alice")
        typed_line(dora, "first")
        w.next_event(lambda e: e.get("text") == "first", 5)
        # Redis drops b's subscribed connection (not a's: a goes on taking
        # lines); dora goes on talking while b makes it again.
        self.assertEqual(self.kill_subscription_of(self.b), 1)
        for i in range(20):
            typed_line(dora, "meanwhile %d" % i)
        got = []
        # Back with its subscription, b reads what it missed at once: well
        # before its periodic check of the rooms (every 5 s) would.
        deadline = time.monotonic() + 3.5
        while len(got) < 20 and time.monotonic() < deadline:
            got += [e["text"] for e in messages(collect(w, 0.3))
                    if e.get("text", "").startswith("meanwhile")]
        self.assertEqual(got, ["meanwhile %d" % i for i in range(20)])
        self.assertFalse([e for e in collect(w, 0.5) if e.get("type") == "message"])

    def test_a_gateway_that_comes_later_knows_who_is_there_at_once(self):
        dora = self.tcp(self.a, "dora")
        # a's list with dora is kept in Redis (its next beat)...
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            keys = self.redis.command("KEYS", "wintalk:presence:*")
            lists = [self.redis.command("GET", k) for k in keys]
            if any(l and b"dora" in l for l in lists):
                break
            time.sleep(0.2)
        else:
            self.fail("no list with dora kept in Redis: %r" % lists)
        # ...and it is all a newcomer can learn her from: a is frozen (no
        # beat), the lobby's stream emptied (no join event to read back).
        os.kill(self.a.pid, signal.SIGSTOP)
        try:
            self.redis.command("XTRIM", "wintalk:room:#lobby:log", "MAXLEN", "0")
            c = on_redis(self.redis)
            try:
                w = WsClient(c.http_port, subprotocol=V2)
                self.clients.append(w)
                welcome = hello2(w, nick="newcomer")
                lobby = [r for r in welcome["rooms"] if r["room"] == "#lobby"][0]
                self.assertIn("dora", [p["nick"] for p in lobby["participants"]])
                # And her nick is taken there.
                w.send_json({"type": "say", "room": "#lobby", "text": "/nick dora", "ref": 3})
                err = w.next_event(lambda e: e.get("type") == "error" and e.get("ref") == 3, 5)
                self.assertEqual(err["code"], 553)
            finally:
                c.stop()
        finally:
            os.kill(self.a.pid, signal.SIGCONT)
        del dora

    def test_a_killed_gateways_participants_leave_everyones_lists(self):
        dora = self.tcp(self.a, "dora")
        w, welcome = self.web(self.b, "alice")
        w.send_json({"type": "say", "room": "#lobby", "text": "/who"})
        who = w.next_event(lambda e: "here:" in e.get("text", ""), 5)
        self.assertIn("dora (tcp)", who["text"])
        # While her gateway lives, she stays.
        early = collect(w, 2.0)
        self.assertFalse([e for e in early if e.get("type") == "leave"], early)
        t0 = time.monotonic()
        self.a.proc.kill()
        self.a.proc.wait()
        # Within the bound (a beat and the time to live: 20 s; say 30),
        # her leave comes, said by the gateway left.
        leave = w.next_event(lambda e: e.get("type") == "leave" and e.get("nick") == "dora", 30)
        took = time.monotonic() - t0
        self.assertEqual(leave["reason"], "gone")
        self.assertLess(took, 30)
        w.send_json({"type": "say", "room": "#lobby", "text": "/who"})
        who = w.next_event(lambda e: "here:" in e.get("text", ""), 5)
        self.assertNotIn("dora", who["text"])
        # Once: no second leave of hers follows.
        later = collect(w, 1.0)
        self.assertFalse([e for e in later if e.get("type") == "leave"], later)


class Forwarder:
    """TCP between the gateway and Redis, through a thread of the test's
    own, whose connections of the moment can be made to lose what one side
    sends (new connections are forwarded whole)."""

    def __init__(self, port):
        self.port = port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.local_port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []  # [client, server, {"up": bool, "down": bool}] (forward?)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.port))
            flags = {"up": True, "down": True}
            with self.lock:
                self.pairs.append((c, s, flags))
            threading.Thread(target=self._pump, args=(c, s, flags, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, flags, "down"), daemon=True).start()

    @staticmethod
    def _pump(src, dst, flags, way):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for x in (src, dst):
                    try:
                        x.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            if flags[way]:
                try:
                    dst.sendall(data)
                except OSError:
                    return

    def lose(self, way):
        """From now on, what goes up (to Redis) or down (to the gateway) on
        the connections there are now is lost."""
        with self.lock:
            for _, _, flags in self.pairs:
                flags[way] = False

    def close(self):
        self.listener.close()
        with self.lock:
            for c, s, _ in self.pairs:
                c.close()
                s.close()


class RedisAnswersLost(unittest.TestCase):
    """An append whose answer is lost with its connection may have been
    kept: its sender gets the one answer that is true, once Redis is back."""

    def setUp(self):
        self.redis = Redis()
        self.fwd = Forwarder(self.redis.port)
        self.gw = Gateway(args=("--store", "redis", "--redis",
                                "redis://127.0.0.1:%d/0" % self.fwd.local_port))
        wait_ready(self.gw)
        self.w = WsClient(self.gw.http_port, subprotocol=V2)
        hello2(self.w, nick="alice")

    def tearDown(self):
        self.w.close()
        self.gw.stop()
        self.fwd.close()
        self.redis.close()

    def in_redis(self, text):
        log = self.redis.command("XRANGE", "wintalk:room:#lobby:log", "-", "+")
        return [e for e in log if ('"text":"%s"' % text).encode() in dict(
            zip(e[1][::2], e[1][1::2]))[b"j"]]

    def answers(self, ref, text, seconds):
        """What alice got for her line: its echoes and errors with ref."""
        got = []
        for e in collect(self.w, seconds):
            if e.get("type") == "message" and e.get("text") == text:
                got.append("echo")
            elif e.get("type") == "error" and e.get("ref") == ref:
                got.append(e["code"])
        return got

    def test_kept_though_its_answer_was_lost_is_an_echo_not_451(self):
        self.fwd.lose("down")  # Redis' answers go nowhere
        self.w.send_json({"type": "say", "room": "#lobby", "text": "in the dark", "ref": 7})
        deadline = time.monotonic() + 5
        while not self.in_redis("in the dark") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(self.in_redis("in the dark"), "Redis kept it")
        # The gateway gives up on that connection (no answer within 2 s),
        # connects again, asks how many of its appends were kept, and reads
        # the room back: one echo, no error.
        self.assertEqual(self.answers(7, "in the dark", 15), ["echo"])
        self.w.send_json({"type": "say", "room": "#lobby", "text": "after", "ref": 8})
        self.assertEqual(self.answers(8, "after", 3), ["echo"])

    def test_never_kept_while_its_answer_was_awaited_is_451(self):
        self.fwd.lose("up")  # what the gateway sends goes nowhere
        self.w.send_json({"type": "say", "room": "#lobby", "text": "unheard", "ref": 9})
        self.assertEqual(self.answers(9, "unheard", 15), [451])
        self.assertFalse(self.in_redis("unheard"))


class RedisRetention(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.gw = None

    def tearDown(self):
        if self.gw and self.gw.proc.poll() is None:
            self.gw.stop()
        self.redis.close()

    def put(self, room, ids, time_ms):
        """Events of room as a gateway writes them, at time_ms."""
        r = self.redis
        for i in ids:
            j = ('{"type":"message","room":"%s","id":%d,"time":%d,"pid":1,"nick":"old",'
                 '"via":"tcp","text":"said %d","me":false}' % (room, i, time_ms, i))
            r.command("XADD", "wintalk:room:%s:log" % room, "%d-0" % i, "j", j,
                      "l", "old: said %d\r\n" % i, "y", "3", "t", str(time_ms),
                      "x", "said %d" % i)
        r.command("HSET", "wintalk:room:%s" % room, "top", str(ids[-1]), "name", room)

    def test_history_days_deletes_old_events_of_every_room(self):
        # Three days old: 1-3 in #lobby and all of #attic, which no gateway
        # has open; 4 in #lobby is of now.
        self.redis.command("SET", "wintalk:epoch", "00000000000000aa")
        now = int(time.time() * 1000)
        self.put("#lobby", [1, 2, 3], now - 3 * 86400000)
        self.put("#lobby", [4], now)
        self.put("#attic", [1, 2], now - 3 * 86400000)
        self.gw = on_redis(self.redis, args=("--history-days", "2"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lens = [self.redis.command("XLEN", "wintalk:room:%s:log" % r) for r in ("#lobby", "#attic")]
            if lens == [1, 0]:
                break
            time.sleep(0.2)
        self.assertEqual(lens, [1, 0])
        # Nothing left of #attic: its hash goes with its stream, the floor
        # keeps its ids.
        until_gone = time.monotonic() + 5
        while self.redis.command("EXISTS", "wintalk:room:#attic") and time.monotonic() < until_gone:
            time.sleep(0.1)
        self.assertEqual(self.redis.command("EXISTS", "wintalk:room:#attic"), 0)
        self.assertEqual(self.redis.command("GET", "wintalk:floor"), b"2")
        left = self.redis.command("XRANGE", "wintalk:room:#lobby:log", "-", "+")
        self.assertEqual(left[0][0], b"4-0")
        # The ids go on; a browser's scrollback has what is left.
        w = WsClient(self.gw.http_port, subprotocol=V2)
        hello2(w, nick="reader")
        w.send_json({"type": "say", "room": "#lobby", "text": "new one"})
        mine = w.next_event(lambda e: e.get("text") == "new one", 5)
        self.assertGreater(mine["id"], 4)
        w.send_json({"type": "history", "room": "#lobby", "limit": 50})
        got = w.next_event(lambda e: e.get("type") == "history", 5)
        texts = [e["text"] for e in got["events"] if e["type"] == "message"]
        self.assertEqual(texts, ["said 4", "new one"])
        self.assertIn("wintalk_store_events_deleted_total 5",
                      urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.gw.http_port,
                                             timeout=5).read().decode())
        w.close()


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
        # The operator is told of the outage, in one line of its own.
        where = "127.0.0.1:%d" % self.redis.port
        lost = self.gw.wait_log("; reconnecting every 100 to 2000 ms until it answers")
        self.assertIn("redis: connection lost to " + where, lost)
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
        # And of its end, with how long it lasted, after its beginning.
        back = self.gw.wait_log("redis: up again at %s db 0 after " % where)
        lines = self.gw.log_text().splitlines()
        self.assertLess(lines.index(lost), lines.index(back))

    def test_redis_stopped_and_started_during_a_chat(self):
        """A browser sends a line every 20 ms while Redis is stopped (SIGTERM,
        its append-only file kept) and started again: every line gets one
        answer, its echo or 451; after, the history holds every echoed line
        and no refused one."""
        w = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w)
        hello2(w, nick="alice")
        answers = {}
        events = []

        def take(seconds):
            for e in collect(w, seconds):
                events.append(e)
                if e.get("type") == "message" and e.get("text", "").startswith("n "):
                    answers.setdefault(int(e["text"][2:]), []).append("kept")
                elif e.get("type") == "error" and isinstance(e.get("ref"), int):
                    answers.setdefault(e["ref"], []).append(e["code"])

        for i in range(150):
            w.send_json({"type": "say", "room": "#lobby", "text": "n %d" % i, "ref": i})
            take(0.02)
            if i == 50:
                self.redis.stop()
            if i == 100:
                self.redis.start()
        take(1.0)
        wait_ready(self.gw, 200, 20)
        take(0.5)
        self.assertEqual(sorted(answers), list(range(150)), "every line answered")
        for i, a in answers.items():
            self.assertEqual(len(a), 1, (i, a))
        kept = sorted(i for i, a in answers.items() if a == ["kept"])
        refused = sorted(i for i, a in answers.items() if a == [451])
        self.assertEqual(len(kept) + len(refused), 150)
        self.assertTrue(refused, "some lines fell in the outage")
        self.assertGreaterEqual(len(kept), 50)
        w.send_json({"type": "history", "room": "#lobby", "limit": 500})
        h = w.next_event(lambda e: e.get("type") == "history", 5)
        stored = sorted(int(e["text"][2:]) for e in messages(h["events"])
                        if e["text"].startswith("n "))
        self.assertEqual(stored, kept)

    def test_redis_not_there_at_start_then_it_comes(self):
        self.gw.stop()
        self.redis.stop()
        gw = Gateway(args=("--store", "redis", "--redis", self.redis.url))
        try:
            # It starts, says why it is not ready, and takes no message.
            status, body = ready(gw)
            self.assertEqual(status, 503)
            self.assertIn("redis", body)
            gw.wait_log("redis: connection refused at 127.0.0.1:%d; reconnecting every"
                        % self.redis.port)
            w = WsClient(gw.http_port, subprotocol=V2)
            self.clients.append(w)
            hello2(w, nick="early")
            w.send_json({"type": "say", "room": "#lobby", "text": "too soon", "ref": 1})
            err = w.next_event(lambda e: e.get("type") == "error", 5)
            self.assertEqual(err["code"], 451)
            # Redis comes: ready, and a message goes through.
            self.redis.start()
            wait_ready(gw, 200, 20)
            w2 = WsClient(gw.http_port, subprotocol=V2)
            self.clients.append(w2)
            hello2(w2, nick="later")
            w2.send_json({"type": "say", "room": "#lobby", "text": "now it works"})
            w2.next_event(lambda e: e.get("type") == "message" and e.get("text") == "now it works",
                          10)
            gw.wait_log("redis: up again at 127.0.0.1:%d db 0 after " % self.redis.port)
        finally:
            gw.stop()

    def test_bad_redis_url_is_refused_at_start(self):
        for url, why in (("rediss://127.0.0.1:6379", "TLS"), ("redis://127.0.0.1:99999", "port"),
                         ("http://127.0.0.1", "redis://")):
            p = subprocess.run([find_gateway(), "--bind", "127.0.0.1", "--http-port", "0",
                                "--tcp-port", "0", "--web-root", default_web_root(),
                                "--store", "redis", "--redis", url],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 64, (url, p.stderr))
            self.assertIn("--redis", p.stderr)
            self.assertIn(why, p.stderr)

    def test_redis_restarted_empty_is_a_new_epoch_and_resumes_are_reset(self):
        self.check_emptied(self.redis.flushall)

    def restart_empty(self):
        """Redis killed (SIGKILL), its data deleted, started again: empty.
        One that is frozen (SIGSTOP) dies so, without running again first."""
        if self.redis.proc.poll() is None:
            os.kill(self.redis.pid, signal.SIGKILL)
            self.redis.proc.wait(10)
        self.redis.kill()
        for name in os.listdir(self.redis.dir):
            path = os.path.join(self.redis.dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif name != "redis.log":
                os.unlink(path)
        self.redis.start()

    def test_redis_restarted_without_its_data_is_a_new_epoch_too(self):
        self.check_emptied(self.restart_empty)

    def test_says_in_flight_when_redis_restarts_empty_get_451_before_the_close(self):
        w = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w)
        hello2(w, nick="alice")
        w.send_json({"type": "say", "room": "#lobby", "text": "kept", "ref": 1})
        w.next_event(lambda e: e.get("type") == "message" and e.get("text") == "kept", 5)
        # Five says sent to Redis while it is frozen (their answers never
        # come), then Redis dies, loses its data and comes back empty.
        self.redis.pause()
        try:
            for ref in range(2, 7):
                w.send_json({"type": "say", "room": "#lobby", "text": "lost %d" % ref,
                             "ref": ref})
            time.sleep(0.5)
        finally:
            self.restart_empty()
        # Each one's 451 (with its ref) comes, then the close 1012: the
        # browser learns which lines were not kept before it reconnects.
        got = list(getattr(w, "_backlog", []))
        deadline = time.monotonic() + 20
        while w.closed is None and time.monotonic() < deadline:
            try:
                got += w.recv_events(0.3)
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                break
        self.assertEqual(w.closed, 1012, got)
        errors = sorted((e["ref"], e["code"]) for e in got if e.get("type") == "error")
        self.assertEqual(errors, [(ref, 451) for ref in range(2, 7)], got)
        self.assertFalse([e for e in got if e.get("type") == "message"
                          and e.get("text", "").startswith("lost")], got)

    def check_emptied(self, empty):
        w = WsClient(self.gw.http_port, subprotocol=V2)
        self.clients.append(w)
        first = hello2(w, nick="alice")
        w.send_json({"type": "say", "room": "#lobby", "text": "soon forgotten"})
        ev = w.next_event(lambda e: e.get("type") == "message", 5)
        empty()
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
