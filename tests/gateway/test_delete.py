"""Removing a message through the real gateway on its SQLite store: the
sender's browser deletes its message; every browser gets the deleted event
and a WINTALK peer's pane is shown again without the line; then, after a
restart on the same data directory, history and search never give the text
again, the message's id is still there marked deleted, the deleted event is
kept, and the words are gone from the database file itself (its row and its
search index). Another's delete is refused (532) and changes nothing. A
WINTALK program's typed /delete last. Two gateways on one Redis: the deletion
reaches the other gateway's browser, and Redis keeps no words."""
import sqlite3
import os
import time
import unittest

from gwtest import Gateway, Redis, TcpClient, WsClient, hello2, http_get, main

V2 = "wintalk.v2"
SECRET = "the launch code is zebra42"


def request(w, msg, timeout=10):
    """Send a request with a ref; its answer (or error), by ref."""
    ref = "r%d" % time.monotonic_ns()
    w.send_json(dict(msg, ref=ref))
    return w.next_event(lambda e: e.get("ref") == ref, timeout=timeout)


class DeleteOnSqlite(unittest.TestCase):
    def test_deleted_text_gone_after_restart(self):
        data = None
        with Gateway() as gw:
            data = gw.data_dir
            gw._own_data = False  # kept for the restart; removed below
            alice = WsClient(gw.http_port, subprotocol=V2)
            hello2(alice, nick="alice")
            bob = WsClient(gw.http_port, subprotocol=V2)
            hello2(bob, nick="bob")
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            t.send_line("/nick tess")
            t.wait_text("tess")
            alice.send_json({"type": "say", "room": "#lobby", "text": SECRET})
            m = alice.next_event(lambda e: e.get("type") == "message" and e["text"] == SECRET)
            alice.send_json({"type": "say", "room": "#lobby", "text": "zebra crossing"})
            keep = alice.next_event(lambda e: e.get("type") == "message" and
                                    e["text"] == "zebra crossing")
            t.wait_text("alice: " + SECRET)
            # Bob may not: 532 in words, and nothing changes.
            a = request(bob, {"type": "delete", "room": "#lobby", "id": m["id"]})
            self.assertEqual((a["type"], a["code"]), ("error", 532), a)
            self.assertIn("alice's", a["message"])
            # Alice may: 250, and everyone gets the deleted event.
            a = request(alice, {"type": "delete", "room": "#lobby", "id": m["id"]})
            self.assertEqual((a["type"], a["code"]), ("info", 250), a)
            d = bob.next_event(lambda e: e.get("type") == "deleted")
            self.assertEqual((d["room"], d["deleted"], d["by"], d["of"]),
                             ("#lobby", m["id"], "alice", "alice"))
            self.assertGreater(d["id"], keep["id"])
            # The WINTALK pane: shown again (R) without the line.
            t.wait_text("* a message of alice was deleted by alice")
            self.assertNotIn(SECRET, t.view)
            self.assertIn("alice: zebra crossing", t.view)
            # A second delete: 551.
            a = request(alice, {"type": "delete", "room": "#lobby", "id": m["id"]})
            self.assertEqual((a["type"], a["code"]), ("error", 551), a)
            for c in (alice, bob):
                c.close()
            t.close()
        try:
            with Gateway(data_dir=data) as gw:
                w = WsClient(gw.http_port, subprotocol=V2)
                welcome = hello2(w, nick="carol")
                self.assertNotIn(SECRET, str(welcome))
                h = request(w, {"type": "history", "room": "#lobby", "limit": 500})
                self.assertEqual(h["type"], "history", h)
                byid = {e["id"]: e for e in h["events"]}
                gone = byid[m["id"]]
                self.assertEqual((gone["type"], gone["text"], gone["deleted"], gone["nick"]),
                                 ("message", "", True, "alice"))
                self.assertEqual(byid[d["id"]]["type"], "deleted")
                self.assertEqual(byid[keep["id"]]["text"], "zebra crossing")
                self.assertNotIn(SECRET, str(h))
                for q in ("launch", "zebra42", "code"):
                    s = request(w, {"type": "search", "room": "#lobby", "q": q})
                    self.assertEqual((s["type"], s["events"]), ("search", []), q)
                s = request(w, {"type": "search", "room": "#lobby", "q": "zebra*"})
                self.assertEqual([e["text"] for e in s["events"]], ["zebra crossing"])
                # A WINTALK peer that joins is shown no trace of it.
                t = TcpClient(gw.tcp_port)
                t.read_greeting()  # the greeting's R: the room's transcript
                self.assertIn("alice: zebra crossing", t.view)
                self.assertIn("* a message of alice was deleted by alice", t.view)
                self.assertNotIn(SECRET, t.view)
                t.close()
                w.close()
            # The file itself: neither the row nor the index holds the words.
            db = sqlite3.connect(os.path.join(data, [f for f in os.listdir(data)
                                                     if f.endswith(".db")][0]))
            rows = db.execute("SELECT json, line, text FROM events").fetchall()
            self.assertFalse([r for r in rows if any(c and "zebra42" in c for c in r)])
            hits = db.execute("SELECT rowid FROM events_fts WHERE events_fts MATCH 'launch'")
            self.assertEqual(hits.fetchall(), [])
            db.close()
        finally:
            import shutil
            shutil.rmtree(data, ignore_errors=True)


class DeleteFromWintalk(unittest.TestCase):
    def test_typed_delete_last(self):
        """A WINTALK program types /delete last: its latest line goes from
        every pane and page; another program's /delete last finds nothing
        of its own (550)."""
        with Gateway() as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            hello2(w, nick="wendy")
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            u = TcpClient(gw.tcp_port)
            u.read_greeting()
            t.send_line("/nick tess")
            t.wait_text("is now tess")
            t.send_line("typed in error")
            m = w.next_event(lambda e: e.get("type") == "message" and e["text"] == "typed in error")
            u.send_line("/delete last")
            u.wait_text("* error 550: no message of yours in #lobby among its recent events")
            t.send_line("/delete last")
            d = w.next_event(lambda e: e.get("type") == "deleted")
            self.assertEqual((d["deleted"], d["by"], d["of"]), (m["id"], "tess", "tess"))
            t.wait_text("deleted")
            u.wait_text("* a message of tess was deleted by tess")
            for c in (t, u):
                self.assertNotIn("typed in error", c.view)
            for c in (w, t, u):
                c.close()


def on_redis(redis):
    gw = Gateway(args=("--store", "redis", "--redis", redis.url))
    deadline = time.monotonic() + 10
    while http_get(gw.http_port, "/readyz")[0] != 200:
        if time.monotonic() > deadline:
            raise AssertionError("/readyz never 200")
        time.sleep(0.1)
    return gw


class DeleteOnRedis(unittest.TestCase):
    """Two gateways sharing #lobby through one Redis: alice on A deletes
    her message (bob on B may not: 532); bob gets the deleted event, and
    neither B's welcome (its ring) nor history from Redis, also after both
    gateways restarted, has the words."""

    def test_deletion_reaches_the_other_gateway(self):
        redis = Redis()
        a = b = None
        try:
            a, b = on_redis(redis), on_redis(redis)
            alice = WsClient(a.http_port, subprotocol=V2)
            hello2(alice, nick="alice")
            bob = WsClient(b.http_port, subprotocol=V2)
            hello2(bob, nick="bob")
            alice.send_json({"type": "say", "room": "#lobby", "text": SECRET})
            m = bob.next_event(lambda e: e.get("type") == "message" and e["text"] == SECRET)
            # Bob, on the other gateway, may not.
            r = request(bob, {"type": "delete", "room": "#lobby", "id": m["id"]})
            self.assertEqual((r["type"], r["code"]), ("error", 532), r)
            r = request(alice, {"type": "delete", "room": "#lobby", "id": m["id"]})
            self.assertEqual((r["type"], r["code"]), ("info", 250), r)
            d = bob.next_event(lambda e: e.get("type") == "deleted")
            self.assertEqual((d["deleted"], d["by"]), (m["id"], "alice"))
            h = request(bob, {"type": "history", "room": "#lobby", "limit": 500})
            self.assertNotIn(SECRET, str(h))
            # Redis cannot rewrite a stream's entry: the message's is gone,
            # the deleted event its record.
            self.assertEqual([e for e in h["events"] if e["id"] == m["id"]], [])
            self.assertIn(d["id"], [e["id"] for e in h["events"] if e["type"] == "deleted"])
            # B's ring has it deleted too: a welcome there gives no words.
            carol = WsClient(b.http_port, subprotocol=V2)
            welcome = hello2(carol, nick="carol")
            self.assertNotIn(SECRET, str(welcome))
            for c in (alice, bob, carol):
                c.close()
            a.stop()
            b.stop()
            # Both gone: a new gateway reads the room from Redis alone.
            a = on_redis(redis)
            w = WsClient(a.http_port, subprotocol=V2)
            welcome = hello2(w, nick="dave")
            self.assertNotIn(SECRET, str(welcome))
            h = request(w, {"type": "history", "room": "#lobby", "limit": 500})
            self.assertNotIn(SECRET, str(h))
            self.assertIn(d["id"], [e["id"] for e in h["events"] if e["type"] == "deleted"])
            w.close()
        finally:
            for gw in (a, b):
                if gw and gw.proc.poll() is None:
                    gw.stop()
            redis.close()


if __name__ == "__main__":
    main()
