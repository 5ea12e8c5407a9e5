"""docs/protocol.md is the contract: the browser examples it shows are sent to
the gateway verbatim, and every gateway example is checked against what the
gateway really sends (same fields; exact where the situation can be made the
same)."""
import os
import re
import json
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, collect, main, frame

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "protocol.md")


def doc_examples():
    text = open(DOC, encoding="utf-8").read()
    client, server = [], []
    side = None
    pos = 0
    for m in re.finditer(r"^### ([^\n]*)$|^```json\n(.*?)\n```", text, re.M | re.S):
        if m.group(1) is not None:
            h = m.group(1).lower()
            side = "client" if h.startswith("browser to gateway") else \
                "server" if h.startswith("gateway to browser") else None
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
        cls.checked = set()

    def server_example(self, type_, pred=None):
        for ex in self.server:
            if isinstance(ex, dict) and ex["type"] == type_ and (pred is None or pred(ex)):
                return ex
        self.fail("docs/protocol.md has no %s example" % type_)

    def same_shape(self, got, example, name):
        self.assertEqual(keys(got), keys(example), name)
        for k, v in example.items():
            self.assertEqual(type(got[k]), type(v), "%s.%s" % (name, k))
            if isinstance(v, dict):
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


if __name__ == "__main__":
    main()
