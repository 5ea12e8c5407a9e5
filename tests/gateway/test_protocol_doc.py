"""docs/protocol.md is the contract: the browser examples it shows are sent to
the gateway verbatim, and every gateway example is checked against what the
gateway really sends (same fields; exact where the situation can be made the
same), for wintalk.v1 and for wintalk.v2 (the sections whose heading names
it)."""
import os
import re
import json
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, collect, main, frame

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "protocol.md")


def doc_examples(version="wintalk.v1"):
    """The examples of the browser-to-gateway and gateway-to-browser
    sections of one protocol version (a heading naming wintalk.v2 is v2's)."""
    text = open(DOC, encoding="utf-8").read()
    client, server = [], []
    side = None
    for m in re.finditer(r"^### ([^\n]*)$|^```json\n(.*?)\n```", text, re.M | re.S):
        if m.group(1) is not None:
            h = m.group(1).lower()
            v = "wintalk.v2" if "wintalk.v2" in h else "wintalk.v1"
            side = None if v != version else \
                "client" if h.startswith("browser to gateway") else \
                "server" if h.startswith("gateway to browser") else None
            continue
        if side is None:
            continue
        obj = json.loads(m.group(2))
        (client if side == "client" else server).append(obj)
    return client, server


def keys(obj):
    return sorted(obj.keys())


class ProtocolDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client, cls.server = doc_examples()
        cls.client2, cls.server2 = doc_examples("wintalk.v2")
        cls.checked = set()

    def server_example(self, type_, pred=None, examples=None):
        for ex in (self.server if examples is None else examples):
            if isinstance(ex, dict) and ex["type"] == type_ and (pred is None or pred(ex)):
                return ex
        self.fail("docs/protocol.md has no %s example" % type_)

    def example2(self, type_, pred=None):
        return self.server_example(type_, pred, self.server2)

    def same_shape(self, got, example, name):
        # "ident" is in the events of wintalk.v2 browsers only (docs:
        # Identities): an example of another participant's event has none.
        if isinstance(got, dict) and "ident" in got and "ident" not in example:
            self.assertRegex(got["ident"], r"^[0-9a-f]{16}$", name + ".ident")
            got = {k: v for k, v in got.items() if k != "ident"}
        self.assertEqual(keys(got), keys(example), name)
        for k, v in example.items():
            self.assertEqual(type(got[k]), type(v), "%s.%s" % (name, k))
            if isinstance(v, dict) and k != "rooms":
                self.same_shape(got[k], v, name + "." + k)
            if k == "history":
                # Events of every kind: each has the shape of its own example.
                for e in got[k]:
                    self.same_shape(e, self.server_example(e["type"]), name + ".history[]")
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                self.assertTrue(got[k], name + "." + k + " is empty")
                self.same_shape(got[k][0], v[0], name + "." + k + "[0]")
        self.checked.add(name.split(".")[0])

    def test_doc_has_every_message(self):
        self.assertEqual(sorted({c["type"] for c in self.client}),
                         ["hello", "nick", "say", "typing"])
        self.assertEqual(sorted({s["type"] for s in self.server if isinstance(s, dict)}),
                         ["bye", "error", "info", "join", "leave", "message", "nick", "typing",
                          "welcome"])
        self.assertTrue(any(isinstance(s, list) for s in self.server), "batch example")
        # wintalk.v2: what is new or changed.
        self.assertEqual(sorted({c["type"] for c in self.client2}),
                         ["delete", "hello", "join", "login", "logout", "msg", "part",
                          "password", "read", "register", "say", "typing"])
        self.assertEqual(sorted({s["type"] for s in self.server2}),
                         ["account", "error", "join", "joined", "leave", "message", "parted",
                          "reads", "welcome"])
        # Every room event names its room, in both versions.
        for ex in self.server + self.server2:
            for e in ex if isinstance(ex, list) else [ex]:
                if e["type"] in ("message", "join", "leave", "nick", "typing") and \
                        not e.get("private"):
                    self.assertIn("room", e, e)

    def test_examples_against_the_gateway(self):
        hello1, hello2 = [c for c in self.client if c["type"] == "hello"]
        say_text, say_me = [c for c in self.client if c["type"] == "say"]
        typing = [c for c in self.client if c["type"] == "typing"][0]
        nick = [c for c in self.client if c["type"] == "nick"][0]

        gw = Gateway()
        t = TcpClient(gw.tcp_port)
        t.read_greeting()
        t.type_chars("hel")
        alice = WsClient(gw.http_port)
        alice.send_json(hello1)
        welcome = alice.next_event(lambda e: e["type"] == "welcome")
        self.same_shape(welcome, self.server_example("welcome"), "welcome")
        self.assertEqual(welcome["you"]["nick"], hello1["nick"])
        self.assertIs(welcome["reset"], False)
        self.assertRegex(welcome["epoch"], r"^[0-9a-f]{16}$")
        self.assertEqual([p["typing"] for p in welcome["participants"] if p["via"] == "tcp"],
                         ["hel"])
        bob = WsClient(gw.http_port)
        bob.hello(nick="bob")
        join = alice.next_event(lambda e: e["type"] == "join" and e["nick"] == "bob")
        self.same_shape(join, self.server_example("join"), "join")

        alice.send_json(say_text)
        m = bob.next_event(lambda e: e["type"] == "message")
        ex = self.server_example("message")
        self.same_shape(m, ex, "message")
        self.assertEqual((m["text"], m["me"], m["nick"], m["via"]),
                         (ex["text"], ex["me"], ex["nick"], ex["via"]))
        alice.send_json(say_me)
        m = bob.next_event(lambda e: e["type"] == "message")
        self.assertEqual((m["text"], m["me"]), ("waves", True))
        t.wait_text("* alice waves\r\n")

        alice.send_json(typing)
        ty = bob.next_event(lambda e: e["type"] == "typing" and e["nick"] == "alice")
        self.same_shape(ty, self.server_example("typing"), "typing")
        self.assertEqual(ty["text"], typing["text"])

        alice.send_json(nick)
        ev = bob.next_event(lambda e: e["type"] == "nick")
        self.same_shape(ev, self.server_example("nick"), "nick")
        self.assertEqual((ev["old"], ev["nick"]), ("alice", nick["nick"]))

        # The error example, exactly: someone else asks for the same nick.
        err_ex = self.server_example("error")
        bob.send_json({"type": "nick", "nick": "robert", "ref": err_ex["ref"]})
        self.assertEqual(bob.next_event(lambda e: e["type"] == "error"), err_ex)
        self.checked.add("error")

        # Several events for one browser leave as one JSON array.
        batch_ex = [s for s in self.server if isinstance(s, list)][0]
        t.send(frame("A", "\r\none\r\ntwo\r\nthree\r\n"))
        got = None
        deadline = time.monotonic() + 5
        while got is None and time.monotonic() < deadline:
            msg = bob.recv(5)
            if msg[0] == "text" and msg[1].startswith("["):
                arr = json.loads(msg[1])
                if any(e.get("text") == "one" for e in arr):
                    got = arr
        self.assertIsNotNone(got, "an array of events")
        for e in got:
            if e["type"] == "message":
                self.same_shape(e, batch_ex[0], "batch")

        bob.close()
        leave = alice.next_event(lambda e: e["type"] == "leave")
        ex = self.server_example("leave")
        self.same_shape(leave, ex, "leave")
        self.assertEqual(leave["reason"], ex["reason"])

        # The bye example, exactly, on SIGTERM.
        import signal
        os.kill(gw.pid, signal.SIGTERM)
        self.assertEqual(alice.next_event(lambda e: e["type"] == "bye"), self.server_example("bye"))
        self.checked.add("bye")
        self.assertEqual(gw.proc.wait(5), 0)
        gw.stop()
        t.close()
        alice.close()

        # The info example, exactly: alice (web) and robert (tcp).
        with Gateway() as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            t.send_line("/nick robert")
            t.wait_text("is now robert")
            w = WsClient(gw.http_port)
            w.hello(nick="alice")
            w.send_json({"type": "say", "text": "/who"})
            self.assertEqual(w.next_event(lambda e: e["type"] == "info"),
                             self.server_example("info"))
            self.checked.add("info")
            t.close()
            w.close()

        # The hello with a key and a last_id and epoch from an earlier run:
        # the reset welcome example, the new run's events from its first.
        reset_ex = self.server_example("welcome", lambda e: e["reset"])
        with Gateway(args=["--key", hello2["key"]]) as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            t.send_line("/login " + hello2["key"])
            t.wait_text("guest-1 joined")
            for e in reset_ex["history"]:
                if e["type"] == "message":
                    t.send_line(e["text"])
                    t.wait_text(e["text"])
            w = WsClient(gw.http_port)
            w.send_json(hello2)
            wel = w.next_event(lambda e: e["type"] == "welcome")
            self.same_shape(wel, reset_ex, "welcome")
            self.assertEqual(wel["code"], 220)
            self.assertIs(wel["reset"], True, "epoch %s is not this run's" % hello2["epoch"])
            self.assertTrue(wel["gap"])
            self.assertNotEqual(wel["epoch"], hello2["epoch"])
            self.assertEqual([(e["type"], e["id"], e.get("text")) for e in wel["history"]],
                             [(e["type"], e["id"], e.get("text")) for e in reset_ex["history"]])
            self.assertEqual(wel["last_id"], reset_ex["last_id"])
            t.close()
            w.close()

        self.assertTrue({"welcome", "join", "message", "typing", "nick", "error", "batch",
                         "leave", "bye", "info"} <= self.checked, self.checked)


    def test_v2_examples_against_the_gateway(self):
        hello1, hello2 = [c for c in self.client2 if c["type"] == "hello" and "session" not in c]
        say = [c for c in self.client2 if c["type"] == "say"][0]
        typing = [c for c in self.client2 if c["type"] == "typing"][0]
        join = [c for c in self.client2 if c["type"] == "join"][0]
        part = [c for c in self.client2 if c["type"] == "part"][0]
        msg = [c for c in self.client2 if c["type"] == "msg"][0]
        checked = set()

        with Gateway() as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            t.send_line("/nick dora")
            t.wait_text("is now dora")
            # The first-visit hello, verbatim: one entry per room, #lobby first.
            alice = WsClient(gw.http_port, subprotocol="wintalk.v2")
            self.assertEqual(alice.protocol, "wintalk.v2")
            alice.send_json(hello1)
            first = alice.next_event(lambda e: e["type"] == "welcome")
            self.assertEqual([r["room"] for r in first["rooms"]], list(hello1["rooms"]))
            self.assertRegex(first["token"], r"^[0-9a-f]{32}$")
            # bob, who gets the private message example.
            bob = WsClient(gw.http_port, subprotocol="wintalk.v2")
            bob.send_json({"type": "hello", "nick": msg["to"]})
            bob_welcome = bob.next_event(lambda e: e["type"] == "welcome")

            # say and typing in a room, verbatim.
            alice.send_json(say)
            m = alice.next_event(lambda e: e["type"] == "message")
            self.same_shape(m, self.server_example("message"), "message")
            self.assertEqual((m["room"], m["text"]), (say["room"], say["text"]))
            t.send_line("/join " + say["room"])
            t.wait_text("* you are in " + say["room"])
            alice.send_json(typing)
            w3 = WsClient(gw.http_port, subprotocol="wintalk.v2")
            w3.send_json({"type": "hello", "rooms": {typing["room"]: 0}})
            w3.next_event(lambda e: e["type"] == "welcome")
            alice.send_json(dict(typing, text=typing["text"] + "l"))
            ty = w3.next_event(lambda e: e["type"] == "typing" and e["nick"] == "alice")
            self.same_shape(ty, self.server_example("typing"), "typing")
            self.assertEqual(ty["room"], typing["room"])

            # part, then join again: parted exactly, joined of that shape.
            alice.send_json(part)
            self.assertEqual(alice.next_event(lambda e: e["type"] == "parted"),
                             self.example2("parted"))
            checked.add("parted")
            alice.send_json(join)
            j = alice.next_event(lambda e: e["type"] == "joined")
            self.same_shape(j, self.example2("joined"), "joined")
            self.assertEqual(j["room"], join["room"])
            checked.add("joined")

            # The private message example: bob's copy and alice's echo.
            alice.send_json(msg)
            pm_ex = self.example2("message", lambda e: e.get("private"))
            for w, other in ((bob, "alice"), (alice, msg["to"])):
                pm = w.next_event(lambda e: e["type"] == "message" and e.get("private"))
                self.same_shape(pm, pm_ex, "private message")
                self.assertEqual((pm["nick"], pm["to"], pm["with"], pm["text"]),
                                 ("alice", msg["to"], other, msg["text"]))
            checked.add("message")

            # The room error example, exactly.
            err_ex = self.example2("error")
            alice.send_json({"type": "say", "room": err_ex["room"], "text": "x",
                             "ref": err_ex["ref"]})
            self.assertEqual(alice.next_event(lambda e: e["type"] == "error"), err_ex)
            checked.add("error")

            # The welcome example's shape: bob comes back with his token, a
            # private message to restore, someone in every room.
            bob.close()
            t.send_line("/part")
            t.wait_text("* you are in #lobby")
            bob = WsClient(gw.http_port, subprotocol="wintalk.v2")
            bob.send_json({"type": "hello", "token": bob_welcome["token"],
                           "epoch": bob_welcome["epoch"], "private_id": 0,
                           "rooms": {"#lobby": 1, join["room"]: 0}})
            back = bob.next_event(lambda e: e["type"] == "welcome")
            welcome_ex = self.example2("welcome")
            self.same_shape(back, welcome_ex, "welcome")
            self.assertEqual([r["room"] for r in back["rooms"]],
                             [r["room"] for r in welcome_ex["rooms"]])
            self.assertEqual([p["text"] for p in back["private"]], [msg["text"]])
            self.assertEqual(back["you"]["nick"], msg["to"])
            checked.add("welcome")
            for c in (t, alice, bob, w3):
                c.close()

        # The coming-back hello, verbatim, to a gateway that never saw its
        # epoch nor its token: a reset, a new identity, nothing restored.
        with Gateway(args=["--access-key", hello2["key"]]) as gw:
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            w.send_json(hello2)
            wel = w.next_event(lambda e: e["type"] == "welcome")
            self.assertIs(wel["reset"], True)
            self.assertNotEqual(wel["token"], hello2["token"])
            self.assertEqual(wel["private"], [])
            self.assertTrue(all(r["gap"] for r in wel["rooms"]))
            self.assertEqual([r["room"] for r in wel["rooms"]], list(hello2["rooms"]))
            w.close()

        # The account examples, in the order a person uses them.
        ex = {c["type"]: c for c in self.client2 if c["type"] != "hello"}
        session_hello = [c for c in self.client2 if c["type"] == "hello" and "session" in c][0]
        in_ex = self.example2("account", lambda e: e["nick"])
        out_ex = self.example2("account", lambda e: e["nick"] is None)
        with Gateway() as gw:
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            w.send_json({"type": "hello", "nick": ex["login"]["nick"]})
            w.next_event(lambda e: e["type"] == "welcome")
            w.send_json(ex["register"])
            got = w.next_event(lambda e: e["type"] in ("account", "error"))
            self.same_shape(dict(got, ref=in_ex["ref"]), in_ex, "account")
            self.assertEqual(got["ref"], ex["register"]["ref"])
            self.assertRegex(got["session"], r"^[0-9a-f]{32}$")
            w.send_json(ex["password"])
            got = w.next_event(lambda e: e["type"] in ("account", "error"))
            self.assertEqual((got["type"], got["ref"]), ("account", ex["password"]["ref"]))
            w.send_json(ex["logout"])
            got = w.next_event(lambda e: e["type"] in ("account", "error"))
            self.same_shape(dict(got, ref=None) if "ref" in got else got,
                            dict(out_ex, ref=None), "account")
            self.assertEqual(got["ref"], ex["logout"]["ref"])
            # The login example with the new password, then its session in a hello.
            w.send_json(dict(ex["login"], password=ex["password"]["new"]))
            got = w.next_event(lambda e: e["type"] in ("account", "error"))
            self.assertEqual((got["type"], got["nick"]), ("account", ex["login"]["nick"]))
            # The read example, in a room joined and said in.
            room = ex["read"]["room"]
            w.send_json({"type": "join", "room": room})
            w.next_event(lambda e: e["type"] == "joined")
            w.send_json({"type": "say", "room": room, "text": "read me"})
            said = w.next_event(lambda e: e["type"] == "message" and e.get("text") == "read me")
            w.send_json(dict(ex["read"], id=said["id"]))
            v = WsClient(gw.http_port, subprotocol="wintalk.v2")
            v.send_json(dict(session_hello, session=got["session"]))
            wel = v.next_event(lambda e: e["type"] == "welcome")
            self.assertEqual(wel["account"], ex["login"]["nick"])
            self.assertEqual(wel["you"]["nick"], ex["login"]["nick"])
            reads = v.next_event(lambda e: e["type"] == "reads")
            self.same_shape(reads, self.example2("reads"), "reads")
            self.assertEqual(reads["rooms"][room], said["id"])
            checked.add("reads")
            # The example's own session is nobody's: over.
            u = WsClient(gw.http_port, subprotocol="wintalk.v2")
            u.send_json(session_hello)
            err = u.next_event(lambda e: e["type"] in ("error", "welcome"))
            self.assertEqual((err["type"], err["code"]), ("error", 530))
            checked.add("account")
            for c in (w, v, u):
                c.close()

        # An account away and back: the leave and join examples of wintalk.v2.
        away_ex = self.example2("leave", lambda e: e.get("reason") == "away")
        back_ex = self.example2("join", lambda e: e.get("back"))
        with Gateway(args=("--reload-grace", "0")) as gw:
            bob = WsClient(gw.http_port, subprotocol="wintalk.v2")
            bob.send_json({"type": "hello", "nick": "bob"})
            bob.next_event(lambda e: e["type"] == "welcome")
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            w.send_json({"type": "hello", "nick": "wanda"})
            w.next_event(lambda e: e["type"] == "welcome")
            w.send_json(ex["register"])
            got = w.next_event(lambda e: e["type"] in ("account", "error"))
            self.assertEqual(got["type"], "account", got)
            w.close()
            of_wanda = lambda t: lambda e: e["type"] == t and e.get("nick") == "wanda"
            left = bob.next_event(of_wanda("leave"))
            self.same_shape(left, away_ex, "leave")
            self.assertEqual(left["reason"], "away")
            v = WsClient(gw.http_port, subprotocol="wintalk.v2")
            v.send_json(dict(session_hello, session=got["session"]))
            v.next_event(lambda e: e["type"] == "welcome")
            back = bob.next_event(of_wanda("join"))
            self.same_shape(back, back_ex, "join")
            self.assertIs(back["back"], True)
            checked.update({"leave", "join"})
            for c in (bob, v):
                c.close()

        self.assertEqual(checked, {s["type"] for s in self.server2})

    def test_removing_a_message_examples(self):
        """The delete examples, verbatim, from the sender (an id of its
        message: 250 and a deleted event of the doc's shape) and from a
        browser that is no administrator (from: 532)."""
        text = open(DOC, encoding="utf-8").read()
        section = text[text.index("### Removing a message"):text.index("### History and search")]
        deleted_ex = [json.loads(b) for b in re.findall(r"^```json\n(.*?)\n```", section,
                                                       re.M | re.S)]
        self.assertEqual([e["type"] for e in deleted_ex], ["deleted"])
        one, every = [c for c in self.client2 if c["type"] == "delete"]
        with Gateway() as gw:
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            w.send_json({"type": "hello", "nick": "alice", "rooms": {one["room"]: 0}})
            w.next_event(lambda e: e["type"] == "welcome")
            m = None
            while m is None or m["id"] < one["id"]:
                w.send_json({"type": "say", "room": one["room"], "text": "words"})
                m = w.next_event(lambda e: e["type"] == "message")
            self.assertEqual(m["id"], one["id"])
            w.send_json(one)
            seen = {}
            while len(seen) < 2:  # the reply and the event, in either order
                e = w.next_event(lambda e: e["type"] == "deleted" or e.get("ref") == one["ref"])
                seen[e["type"]] = e
            got, ok = seen["deleted"], seen.get("info", seen.get("error"))
            self.same_shape(got, deleted_ex[0], "deleted")
            self.assertEqual((got["deleted"], got["by"], got["of"]), (one["id"], "alice", "alice"))
            self.assertEqual((ok["type"], ok["code"], ok["text"]),
                             ("info", 250, "message %d of %s deleted" % (one["id"], one["room"])))
            w.send_json(every)
            err = w.next_event(lambda e: e.get("ref") == every["ref"])
            self.assertEqual((err["type"], err["code"]), ("error", 532))
            w.close()


if __name__ == "__main__":
    main()
