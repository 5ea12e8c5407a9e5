"""History kept on disk (the sqlite store, the default) through the real
gateway: kill -9 in the middle of a chat of browsers and WINTALK peers, then a
restart on the same data directory keeps every event anyone had received
(every one each client was given, checked against the history, also after a
write lock held from outside made the store fail: what it could not keep
nobody got), the epoch and the ids, and a browser that resumes gets exactly
what it missed; a new data directory means reset; scrollback reads 5,000
events back to the first, each once, in order; search finds words, prefixes
and phrases and takes no query syntax from users; history and search per
docs/protocol.md."""
import json
import os
import re
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, hello2, http_get, main, typed_line

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


ROOMS = ("#lobby", "#dev")
# A line of the chat as a WINTALK peer is shown it.
SAID_LINE = re.compile(r"^(alice|carol|bob|dave): (.*)$")


class Reader(threading.Thread):
    """Everything a browser is given, from the welcome to the end of its
    connection (the test sends the hello before this starts reading)."""

    def __init__(self, name, ws):
        super().__init__(daemon=True)
        self.name, self.ws = name, ws
        self.got = []
        self.lock = threading.Lock()
        self.welcomed = threading.Event()

    def run(self):
        while True:
            try:
                evs = self.ws.recv_events(30)
            except Exception:
                return
            with self.lock:
                self.got.extend(evs)
            if any(e.get("type") == "welcome" for e in evs):
                self.welcomed.set()

    def events(self):
        """Every room event it was given, the welcome's history included."""
        with self.lock:
            got = list(self.got)
        out = []
        for e in got:
            if e.get("type") == "welcome":
                out.extend(h for r in e.get("rooms", []) for h in r.get("history", []))
            elif "id" in e and "room" in e:
                out.append(e)
        return out

    def welcome(self):
        with self.lock:
            return next(e for e in self.got if e.get("type") == "welcome")

    def errors(self):
        """The code of each error it was given, by ref."""
        with self.lock:
            return {e["ref"]: e["code"] for e in self.got
                    if e.get("type") == "error" and "ref" in e}


class TcpReader(threading.Thread):
    """Everything a WINTALK peer is shown, from its greeting to the end of
    its connection."""

    def __init__(self, name, t):
        super().__init__(daemon=True)
        self.name, self.t = name, t
        self.text = ""
        self.lock = threading.Lock()

    def run(self):
        try:
            _, f = self.t.read_greeting(10)
            while True:
                with self.lock:
                    self.text += f[1]
                f = self.t.read_frame(30)
        except Exception:
            return

    def lines(self):
        with self.lock:
            return self.text.split("\r\n")

    def wait_text(self, s, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if s in self.text:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("%s was never shown %r" % (self.name, s))
            time.sleep(0.01)


class Chat:
    """On one gateway: alice and carol, browsers in #lobby and #dev, bob, a
    WINTALK peer in #dev, and dave, one in #lobby; each read by a thread
    that keeps everything it is given. One sender thread makes them talk in
    turn, as fast as a few hundred lines a second, every line its own text
    (tag nick n), and notes when each was sent."""

    NICKS = ("alice", "bob", "carol", "dave")

    def __init__(self, gw, tag):
        self.gw, self.tag = gw, tag
        self.browsers = {}
        for nick in ("alice", "carol"):
            ws = WsClient(gw.http_port, subprotocol=V2)
            ws.send_json({"type": "hello", "nick": nick, "rooms": {r: 0 for r in ROOMS}})
            r = self.browsers[nick] = Reader(nick, ws)
            r.start()
            if not r.welcomed.wait(10):
                raise AssertionError("%s got no welcome" % nick)
        self.peers = {}
        for nick, room in (("bob", "#dev"), ("dave", "#lobby")):
            r = self.peers[nick] = TcpReader(nick, TcpClient(gw.tcp_port))
            r.start()
            typed_line(r.t, "/nick " + nick)
            r.wait_text("is now " + nick)
            if room != "#lobby":
                r.t.send_line("/join " + room)
                r.wait_text("you are in " + room)
        self.said = []  # (nick, text, ref, the time just before it was sent)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.idle = threading.Event()
        self.sender = threading.Thread(target=self.flow, daemon=True)
        self.sender.start()

    def flow(self):
        i = 0
        while not self.stop.is_set():
            if self.paused.is_set():
                self.idle.set()
                time.sleep(0.005)
                continue
            nick = self.NICKS[i % 4]
            text, ref = "%s %s %d" % (self.tag, nick, i), None
            t = time.monotonic()
            try:
                if nick in self.browsers:
                    ref = "%s-%d" % (self.tag, i)
                    self.browsers[nick].ws.send_json({"type": "say", "room": ROOMS[i // 4 % 2],
                                                      "text": text, "ref": ref})
                elif i % 12 == 1:
                    typed_line(self.peers[nick].t, text)  # key by key, as WINTALK does
                else:
                    self.peers[nick].t.send_line(text)
            except OSError:
                return
            with self.lock:
                self.said.append((nick, text, ref, t))
            i += 1
            time.sleep(0.002)

    def pause(self):
        """Nothing more is sent until resume()."""
        self.paused.set()
        self.idle.clear()
        if not self.idle.wait(10):
            raise AssertionError("the sender did not pause")

    def resume(self):
        self.paused.clear()

    def said_since(self, t):
        with self.lock:
            return [s for s in self.said if s[3] > t]

    def messages(self, nick):
        """The texts of the chat's lines nick was given."""
        if nick in self.browsers:
            return [e["text"] for e in self.browsers[nick].events() if e["type"] == "message"]
        return [m.group(2) for m in map(SAID_LINE.match, self.peers[nick].lines()) if m]

    def wait_flowing(self, n, timeout=20):
        """Until every one of them was given at least n more lines of the chat."""
        base = {nick: len(self.messages(nick)) for nick in self.NICKS}
        deadline = time.monotonic() + timeout
        while any(len(self.messages(nick)) < base[nick] + n for nick in self.NICKS):
            if time.monotonic() > deadline:
                raise AssertionError("the chat did not flow: %r" % {
                    nick: len(self.messages(nick)) - base[nick] for nick in self.NICKS})
            time.sleep(0.01)

    def end(self):
        """After the gateway was killed: the sender and the readers stop."""
        self.stop.set()
        self.sender.join(10)
        for r in list(self.browsers.values()) + list(self.peers.values()):
            r.join(35)
            self.assert_ended(r)
            (r.ws if r in self.browsers.values() else r.t).sock.close()

    @staticmethod
    def assert_ended(r):
        if r.is_alive():
            raise AssertionError("%s's connection did not end" % r.name)


class WriteLock:
    """A write transaction held on the gateway's database by a connection
    of the test's own (BEGIN IMMEDIATE, as another program could): while it
    is held, no commit of the gateway's can get SQLite's lock."""

    def __init__(self, data_dir):
        self.db = sqlite3.connect(os.path.join(data_dir, "wintalk.db"), timeout=10,
                                  isolation_level=None)
        self.db.execute("BEGIN IMMEDIATE")
        self.since = time.monotonic()

    def release(self):
        if self.db:
            self.db.execute("ROLLBACK")
            self.db.close()
            self.db = None


def wait_ready(gw, status, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        got = http_get(gw.http_port, "/readyz")
        if got[0] == status:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("/readyz never %d: %r" % (status, got))
        time.sleep(0.05)


class Restart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wintalk-store-")
        self.lock = None
        self.gws = []
        self.chats = []
        self.refused = set()  # texts answered 451 (or said under the lock)

    def tearDown(self):
        if self.lock:
            self.lock.release()
        for gw in self.gws:
            gw.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def assert_all_given_were_kept(self, stored, when):
        """Every room event each browser of every chat so far was given is
        in stored, the same, and every line each WINTALK peer was shown is
        a stored message: all of them. Nothing refused is stored."""
        by_key = {key(e): e for e in stored}
        lines = {"%s: %s" % (e["nick"], e["text"]) for e in stored if e["type"] == "message"}
        n = 0
        for chat in self.chats:
            for nick, r in chat.browsers.items():
                for e in r.events():
                    kept = by_key.get(key(e))
                    self.assertEqual(kept, e, "%s: %s was given %r; the history has %r under "
                                     "its id" % (when, nick, e, kept))
                    n += 1
            for nick, r in chat.peers.items():
                for line in r.lines():
                    if SAID_LINE.match(line):
                        self.assertTrue(line in lines, "%s: %s was shown %r; the history has "
                                        "not got it" % (when, nick, line))
                        n += 1
        self.assertGreater(n, 0)
        texts = {e["text"] for e in stored if e["type"] == "message"}
        self.assertFalse(texts & self.refused, "%s: refused and yet kept" % when)
        return n

    def hold_the_lock(self, chat, seconds):
        """While the chat flows, take a write lock on the database from
        outside for a while: every line said meanwhile is refused (451 to
        each browser, by its ref; an error line to each peer) and nobody
        is given it; /readyz says why. The chat is paused after."""
        self.lock = WriteLock(self.dir)
        time.sleep(seconds)
        status, _, body = http_get(chat.gw.http_port, "/readyz")
        chat.pause()
        late = chat.said_since(self.lock.since)
        self.assertGreater(len(late), 20, "hardly anything was said under the lock")
        self.refused |= {text for _, text, _, _ in late}
        refs = {ref: (nick, text) for nick, text, ref, _ in late if ref}
        lines = {nick: {text for n, text, _, _ in late if n == nick} for nick in chat.peers}

        def waiting():
            """Whether a line said under the lock may still be on its way:
            a browser's say that got neither its error nor, to its sender,
            the line; a peer given fewer errors and lines of its own said
            under the lock than it said there."""
            ans = {nick: set(r.errors()) | set(chat.messages(nick))
                   for nick, r in chat.browsers.items()}
            told = {nick: sum(1 for l in r.lines() if l.startswith("* error 451: ")) +
                    len(lines[nick] & set(chat.messages(nick)))
                    for nick, r in chat.peers.items()}
            return (any(ref not in ans[nick] and text not in ans[nick]
                        for ref, (nick, text) in refs.items()) or
                    any(told[nick] < len(lines[nick]) for nick in chat.peers))

        deadline = time.monotonic() + 15
        while waiting() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # anything given after the last answer is here too
        # Nobody was given a line said under the lock: the first of them
        # went into a batch whose commit failed, the others were refused.
        given = {nick: sorted(set(chat.messages(nick)) & self.refused) for nick in chat.NICKS}
        self.assertFalse(any(given.values()), "given lines said while the store could not "
                         "keep them (never kept): %r" % given)
        for ref, (nick, _) in refs.items():
            self.assertEqual(chat.browsers[nick].errors().get(ref), 451,
                             "%s's %s was said under the lock" % (nick, ref))
        for nick, r in chat.peers.items():
            self.assertTrue(any(l.startswith("* error 451: ") for l in r.lines()),
                            "%s was not told its lines were refused" % nick)
        self.assertEqual(status, 503, body)
        self.assertIn(b"locked", body)

    def kill_9(self, gw, chat):
        os.kill(gw.pid, signal.SIGKILL)
        gw.proc.wait(5)
        chat.end()
        gw.stop()

    def restart(self, epoch, when):
        """The gateway again on the same directory: the same epoch, no
        reset, each event once, ids in order, and everything anyone was
        given is kept. Returns it and its history."""
        gw = Gateway(data_dir=self.dir)
        self.gws.append(gw)
        eve = WsClient(gw.http_port, subprotocol=V2)
        w = hello2(eve, nick="eve", rooms={r: 0 for r in ROOMS})
        self.assertEqual(w["epoch"], epoch, "the epoch is kept with the data")
        self.assertIs(w["reset"], False)
        stored = all_history(eve, "#lobby") + all_history(eve, "#dev")
        eve.close()
        self.assertEqual(len({key(e) for e in stored}), len(stored), "an event stored twice")
        for room in ROOMS:
            ids = [e["id"] for e in stored if e["room"].lower() == room]
            self.assertEqual(ids, sorted(ids), room)
        self.assert_all_given_were_kept(stored, when)
        return gw, stored

    def test_kill_9_during_a_chat_loses_nothing_anyone_saw(self):
        gw = Gateway(data_dir=self.dir)
        self.gws.append(gw)

        # 1. A write lock taken in full flow and held: everything said
        # meanwhile is refused and nobody gets it. Killed while it is
        # held and the chat goes on (refused).
        chat = Chat(gw, "one")
        self.chats.append(chat)
        epoch = chat.browsers["alice"].welcome()["epoch"]
        chat.wait_flowing(30)
        self.hold_the_lock(chat, 0.4)
        chat.resume()
        time.sleep(0.2)
        self.kill_9(gw, chat)
        self.refused |= {text for _, text, _, _ in chat.said_since(self.lock.since)}
        self.lock.release()
        gw, stored = self.restart(epoch, "after the kill under the lock")

        # 2. The lock taken and released: the store works again by itself,
        # and everything anyone was given is in the history while it runs.
        # Then killed in full flow.
        chat = Chat(gw, "two")
        self.chats.append(chat)
        chat.wait_flowing(30)
        self.hold_the_lock(chat, 0.3)
        self.lock.release()
        wait_ready(gw, 200)
        gw.wait_log("store working again")
        chat.resume()
        chat.wait_flowing(20)
        chat.pause()
        time.sleep(0.2)
        w = WsClient(gw.http_port, subprotocol=V2)
        hello2(w, nick="eve", rooms={r: 0 for r in ROOMS})
        now = all_history(w, "#lobby") + all_history(w, "#dev")
        self.assert_all_given_were_kept(now, "running again after the lock")
        w.close()  # after: its leave is news the history read could not have
        chat.resume()
        chat.wait_flowing(50)
        self.kill_9(gw, chat)
        gw, stored = self.restart(epoch, "after the kill in full flow")

        # 3. Killed in full flow, no fault: the ids go on with none
        # skipped, and carol, who was there until the kill, resumes with
        # exactly what she missed.
        top = {room: max(e["id"] for e in stored if e["room"].lower() == room) for room in ROOMS}
        chat = Chat(gw, "three")
        self.chats.append(chat)
        chat.wait_flowing(100)
        self.kill_9(gw, chat)
        carol_last = {}
        for e in chat.browsers["carol"].events():
            room = e["room"].lower()
            carol_last[room] = max(carol_last.get(room, 0), e["id"])
        gw, stored = self.restart(epoch, "after the kill without a fault")
        for room in ROOMS:
            ids = [e["id"] for e in stored if e["room"].lower() == room and e["id"] > top[room]]
            self.assertEqual(ids, list(range(top[room] + 1, top[room] + 1 + len(ids))),
                             "%s: ids skip: nothing was given an id and then lost" % room)
        # Ids go on from where they were.
        eve = WsClient(gw.http_port, subprotocol=V2)
        hello2(eve, nick="eve", rooms={r: 0 for r in ROOMS})
        eve.send_json({"type": "say", "room": "#dev", "text": "after the restart"})
        m = eve.next_event(lambda e: e.get("type") == "message" and
                           e["text"] == "after the restart")
        self.assertGreater(m["id"], max(e["id"] for e in stored if e["room"].lower() == "#dev"))
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
