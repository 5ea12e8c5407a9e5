"""History kept on disk (the sqlite store, the default) through the real
gateway: kill -9 in the middle of a chat of browsers and WINTALK peers, then a
restart on the same data directory keeps every event anyone had received, the
epoch and the ids, and a browser that resumes gets exactly what it missed;
a new data directory means reset; scrollback reads 5,000 events back to the
first, each once, in order; search finds words, prefixes and phrases and takes
no query syntax from users; history and search per docs/protocol.md."""
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, hello2, main, typed_line

V2 = "wintalk.v2"
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "protocol.md")


def request(w, msg, timeout=10):
    """Send a history or search request; its answer (or error), by ref."""
    ref = "r%d" % time.monotonic_ns()
    msg = dict(msg, ref=ref)
    w.send_json(msg)
    return w.next_event(lambda e: e.get("ref") == ref, timeout=timeout)


def all_history(w, room, page=500):
    """Every event the store has for room, oldest first, by paging back from
    the newest (history before the oldest seen) until more is false."""
    out = []
    before = None
    for _ in range(10000):
        msg = {"type": "history", "room": room, "limit": page}
        if before is not None:
            msg["before"] = before
        a = request(w, msg)
        if a.get("type") != "history":
            raise AssertionError("history answered %r" % a)
        out[:0] = a["events"]
        if not a["more"]:
            return out
        if not a["events"]:
            raise AssertionError("more:true with no events")
        before = a["events"][0]["id"]
    raise AssertionError("scrollback never ended")


def key(e):
    return (e["room"].lower(), e["id"])


class Reader(threading.Thread):
    """Every room event a browser gets, until its connection ends."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws = ws
        self.events = []
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                evs = self.ws.recv_events(30)
            except Exception:
                return
            with self.lock:
                self.events.extend(e for e in evs if "id" in e and "room" in e)

    def seen(self):
        with self.lock:
            return list(self.events)


class TcpReader(threading.Thread):
    """Every frame a WINTALK peer gets, until its connection ends: the
    message lines it was shown."""

    def __init__(self, t):
        super().__init__(daemon=True)
        self.t = t
        self.text = ""
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                f = self.t.read_frame(30)
            except Exception:
                return
            with self.lock:
                self.text += f[1]

    def lines(self):
        with self.lock:
            return self.text.split("\r\n")


class Restart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wintalk-store-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_kill_9_during_a_chat_loses_nothing_anyone_saw(self):
        gw = Gateway(data_dir=self.dir)
        alice = WsClient(gw.http_port, subprotocol=V2)
        w = hello2(alice, nick="alice", rooms={"#lobby": 0, "#dev": 0})
        epoch = w["epoch"]
        carol = WsClient(gw.http_port, subprotocol=V2)
        hello2(carol, nick="carol", rooms={"#lobby": 0, "#dev": 0})
        bob = TcpClient(gw.tcp_port)
        bob.read_greeting()
        typed_line(bob, "/nick bob")
        bob.wait_text("is now bob")
        typed_line(bob, "/join #dev")
        bob.wait_text("you are in #dev")
        dave = TcpClient(gw.tcp_port)
        dave.read_greeting()
        typed_line(dave, "/nick dave")
        dave.wait_text("is now dave")

        # Some chat everyone sees; carol then leaves, remembering where she was.
        for i in range(5):
            alice.send_json({"type": "say", "room": "#dev", "text": "dev %d" % i})
            typed_line(dave, "lobby %d" % i)
        carol_last, texts = {}, set()
        deadline = time.monotonic() + 10
        while not {"lobby 4", "dev 4"} <= texts:
            self.assertLess(time.monotonic(), deadline, "carol never saw the chat")
            for e in carol.recv_events(5):
                if "id" in e and "room" in e:
                    room = e["room"].lower()
                    carol_last[room] = max(carol_last.get(room, 0), e["id"])
                    texts.add(e.get("text"))
        carol.close()

        # A chat in full flow, killed with SIGKILL in the middle of it.
        ra, rb, rd = Reader(alice), TcpReader(bob), TcpReader(dave)
        for r in (ra, rb, rd):
            r.start()
        stop = threading.Event()

        def flood():
            i = 0
            while not stop.is_set():
                try:
                    alice.send_json({"type": "say", "room": "#lobby" if i % 2 else "#dev",
                                     "text": "flow %d" % i})
                    if i % 5 == 0:
                        typed_line(bob, "bob %d" % i)
                        dave.send_line("dave %d" % i)
                except OSError:
                    return
                i += 1
                time.sleep(0.002)

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        deadline = time.monotonic() + 20
        while len(ra.seen()) < 300:
            self.assertLess(time.monotonic(), deadline, "the chat did not flow")
            time.sleep(0.01)
        os.kill(gw.pid, signal.SIGKILL)
        gw.proc.wait(5)
        stop.set()
        sender.join(5)
        for r in (ra, rb, rd):
            r.join(35)
        gw.stop()
        seen_alice = ra.seen()
        bob_lines = [l for l in rb.lines() if re.match(r"^(alice|bob|dave): ", l)]
        dave_lines = [l for l in rd.lines() if re.match(r"^(alice|bob|dave): ", l)]
        self.assertGreaterEqual(len(seen_alice), 300)
        self.assertTrue(bob_lines and dave_lines)

        # Restarted on the same directory.
        gw = Gateway(data_dir=self.dir)
        try:
            eve = WsClient(gw.http_port, subprotocol=V2)
            w2 = hello2(eve, nick="eve", rooms={"#lobby": 0, "#dev": 0})
            self.assertEqual(w2["epoch"], epoch, "the epoch is kept with the data")
            self.assertIs(w2["reset"], False)
            stored = all_history(eve, "#lobby") + all_history(eve, "#dev")
            by_key = {key(e): e for e in stored}
            self.assertEqual(len(by_key), len(stored), "an event stored twice")
            for room in ("#lobby", "#dev"):
                ids = [e["id"] for e in stored if e["room"].lower() == room]
                self.assertEqual(ids, sorted(ids), room)
                self.assertEqual(ids, list(range(1, len(ids) + 1)),
                                 "%s: ids skip: nothing was given an id and then lost" % room)
            # Every event alice had received is there, the same.
            for e in seen_alice:
                self.assertIn(key(e), by_key, "alice saw %r; it is gone" % (e,))
                self.assertEqual(by_key[key(e)], e)
            # Every line the WINTALK peers were shown is a stored message.
            said = {"%s: %s" % (e["nick"], e["text"]) for e in stored if e["type"] == "message"}
            for l in bob_lines + dave_lines:
                self.assertIn(l, said)
            # Ids go on from where they were.
            top = {room: max(e["id"] for e in stored if e["room"].lower() == room)
                   for room in ("#lobby", "#dev")}
            eve.send_json({"type": "say", "room": "#dev", "text": "after the restart"})
            m = eve.next_event(lambda e: e.get("type") == "message" and
                               e["text"] == "after the restart")
            self.assertGreater(m["id"], top["#dev"])

            # carol resumes: exactly what she missed, in each room, once.
            carol = WsClient(gw.http_port, subprotocol=V2)
            w3 = hello2(carol, nick="carol", epoch=epoch, rooms=carol_last)
            self.assertIs(w3["reset"], False)
            now = all_history(eve, "#lobby") + all_history(eve, "#dev")
            for r in w3["rooms"]:
                room = r["room"].lower()
                want = [e for e in now if e["room"].lower() == room and
                        carol_last[room] < e["id"] <= r["last_id"]]
                self.assertFalse(r["gap"], room)
                self.assertEqual(r["history"], want, room)
            carol.close()
            eve.close()
        finally:
            gw.stop()

    def test_a_new_data_directory_is_a_reset(self):
        with Gateway(data_dir=self.dir) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            first = hello2(w, nick="alice")
            w.send_json({"type": "say", "text": "one"})
            m = w.next_event(lambda e: e.get("type") == "message")
            w.close()
        # The same directory: the same epoch, no reset.
        with Gateway(data_dir=self.dir) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            again = hello2(w, nick="alice", epoch=first["epoch"], rooms={"#lobby": m["id"]})
            self.assertEqual(again["epoch"], first["epoch"])
            self.assertIs(again["reset"], False)
            w.close()
        # The directory deleted: a new epoch, and the browser is told.
        shutil.rmtree(self.dir)
        with Gateway(data_dir=self.dir) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            fresh = hello2(w, nick="alice", epoch=first["epoch"], rooms={"#lobby": m["id"]})
            self.assertNotEqual(fresh["epoch"], first["epoch"])
            self.assertIs(fresh["reset"], True)
            w.close()


class Scrollback(unittest.TestCase):
    def test_5000_events_back_to_the_first_each_once_in_order(self):
        with Gateway() as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            hello2(w, nick="alice")
            n = 5000
            for i in range(n):
                w.send_json({"type": "say", "text": "line %d" % i})
            last = None
            deadline = time.monotonic() + 60
            while last is None or last["text"] != "line %d" % (n - 1):
                self.assertLess(time.monotonic(), deadline)
                last = w.next_event(lambda e: e.get("type") == "message", timeout=30)
            got = all_history(w, "#lobby", page=500)
            msgs = [e for e in got if e["type"] == "message"]
            self.assertEqual([e["text"] for e in msgs], ["line %d" % i for i in range(n)])
            ids = [e["id"] for e in got]
            self.assertEqual(ids, list(range(1, len(ids) + 1)))
            # After an id, the other way.
            a = request(w, {"type": "history", "after": 10, "limit": 5})
            self.assertEqual([e["id"] for e in a["events"]], [11, 12, 13, 14, 15])
            self.assertIs(a["more"], True)
            w.close()

    def test_history_needs_the_room(self):
        with Gateway() as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            hello2(w, nick="alice")
            a = request(w, {"type": "history", "room": "#elsewhere"})
            self.assertEqual((a["type"], a["code"]), ("error", 501))
            w.close()


class Search(unittest.TestCase):
    TEXTS = ["the build is green", "deploying to staging now", "green build ok",
             "Café au lait", "nothing here", "AND NEAR col:x \"quoted\""]

    def chat(self, gw):
        w = WsClient(gw.http_port, subprotocol=V2)
        hello2(w, nick="alice")
        for t in self.TEXTS:
            w.send_json({"type": "say", "text": t})
        w.next_event(lambda e: e.get("type") == "message" and e["text"] == self.TEXTS[-1])
        return w

    def found(self, w, q, **kw):
        a = request(w, dict({"type": "search", "q": q}, **kw))
        self.assertEqual(a["type"], "search", a)
        self.assertEqual(a["q"], q)
        return [e["text"] for e in a["events"]]

    def test_words_prefixes_phrases(self):
        with Gateway() as gw:
            w = self.chat(gw)
            self.assertEqual(self.found(w, "green"), ["green build ok", "the build is green"])
            self.assertEqual(self.found(w, "GREEN build"),
                             ["green build ok", "the build is green"])
            self.assertEqual(self.found(w, "deploy*"), ["deploying to staging now"])
            self.assertEqual(self.found(w, '"build is green"'), ["the build is green"])
            self.assertEqual(self.found(w, '"green build"'), ["green build ok"])
            self.assertEqual(self.found(w, "cafe"), ["Café au lait"])
            self.assertEqual(self.found(w, "green", limit=1), ["green build ok"])
            # Query syntax is only words.
            for q in ("AND", "NEAR(", "col:x", '"green', "green OR", "* green", "-green",
                      "^green", "green)", "{green}"):
                a = request(w, {"type": "search", "q": q})
                self.assertEqual(a["type"], "search", "%r answered %r" % (q, a))
            # No word at all: 501, not a store error.
            for q in ('"', "*", "  "):
                a = request(w, {"type": "search", "q": q})
                self.assertEqual((a["type"], a["code"]), ("error", 501), q)
            self.assertEqual(self.found(w, "NEAR"), ['AND NEAR col:x "quoted"'])
            self.assertEqual(self.found(w, "absent"), [])
            w.close()

    def test_memory_store_has_no_search(self):
        with Gateway(args=["--store", "memory"]) as gw:
            w = self.chat(gw)
            a = request(w, {"type": "search", "q": "green"})
            self.assertEqual((a["type"], a["code"]), ("error", 504))
            # History still works, from memory.
            a = request(w, {"type": "history", "limit": 2})
            self.assertEqual([e["text"] for e in a["events"]], self.TEXTS[-2:])
            w.close()


class ProtocolDoc(unittest.TestCase):
    """The history and search examples of docs/protocol.md against the
    gateway: the requests as written, the answers' shapes."""

    def examples(self):
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
        sec = text.split("### History and search", 1)[1].split("\n### ", 1)[0]
        return [json.loads(m) for m in re.findall(r"```json\n(.*?)\n```", sec, re.S)]

    def test_examples(self):
        ex = self.examples()
        reqs = [e for e in ex if "events" not in e and e["type"] != "error"]
        answers = {e["type"]: e for e in ex if "events" in e}
        self.assertEqual(sorted(r["type"] for r in reqs), ["history", "history", "search"])
        # The refusals shown: a rate (429) and the gateway's bound (421).
        errors = [e for e in ex if e["type"] == "error"]
        self.assertEqual(sorted(e["code"] for e in errors), [421, 429])
        for e in errors:
            self.assertEqual(set(e), {"type", "code", "message", "ref"})
        with Gateway() as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            hello2(w, nick="alice")
            for t in ("the build is green, deploying", "the build is green"):
                w.send_json({"type": "say", "text": t})
            w.next_event(lambda e: e.get("type") == "message" and e["text"] == "the build is green")
            for r in reqs:
                w.send_json(r)
                a = w.next_event(lambda e: e.get("ref") == r["ref"])
                self.assertEqual(a["type"], r["type"], a)
                want = set(answers[r["type"]])
                if "after" in r:
                    want = want - {"before"} | {"after"}
                self.assertEqual(set(a), want, a)
                for e in a["events"]:
                    self.assertEqual(e["room"], "#lobby")
            w.close()


if __name__ == "__main__":
    main()
