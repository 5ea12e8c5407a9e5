"""The history store's faults, as an operator meets them through the real
gateway: at start (a directory that cannot be made, a read-only one, a
damaged database, a locked one, a second gateway on the same directory) the
gateway stops with a line naming the path and the cause and an exit status
that says which; at run time a full disk (a small tmpfs in a mount namespace
of the gateway's own) turns /readyz 503, refuses messages with 451 that
nobody gets, says why in the log once, damages nothing stored, and the
gateway goes back to work by itself when space comes back. Also /healthz and
/metrics about the store."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from gwtest import Gateway, WsClient, http_get, main
import wtlib

V2 = "wintalk.v2"
EX_DATAERR, EX_CANTCREAT, EX_TEMPFAIL, EX_NOPERM = 65, 73, 75, 77


def start_fails(data_dir, wrap=(), timeout=15):
    """Run the gateway on data_dir expecting it not to start: its exit
    status and what it said."""
    argv = list(wrap) + [wtlib.find_gateway(), "--bind", wtlib.HOST, "--tcp-port", "0",
                         "--http-port", "0", "--web-root", wtlib.default_web_root(),
                         "--data-dir", data_dir]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def in_own_mounts(script):
    """A command that runs script (sh, with the gateway's argv as "$@") in a
    mount namespace of its own, then execs the gateway: as root a mount
    namespace, otherwise a user namespace too."""
    ns = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-Urm"]
    return ns + ["sh", "-ec", script + '\nexec "$@"', "sh"]


def say(w, text):
    ref = "s%d" % time.monotonic_ns()
    w.send_json({"type": "say", "text": text, "ref": ref})
    return ref


class AtStart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wintalk-ops-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_a_directory_that_cannot_be_made(self):
        blocker = os.path.join(self.dir, "a-file")
        open(blocker, "w").close()
        where = os.path.join(blocker, "data")
        code, err = start_fails(where)
        self.assertEqual(code, EX_CANTCREAT, err)
        self.assertIn(where, err)

    def test_a_read_only_directory(self):
        d = os.path.join(self.dir, "ro")
        os.mkdir(d)
        code, err = start_fails(d, wrap=in_own_mounts(
            'mount --bind "%s" "%s"; mount -o remount,bind,ro "%s"' % (d, d, d)))
        self.assertEqual(code, EX_NOPERM, err)
        self.assertIn(d, err)
        self.assertRegex(err.lower(), r"read-only|not writable|permission")

    def test_a_damaged_database(self):
        with open(os.path.join(self.dir, "wintalk.db"), "wb") as f:
            f.write(b"this is not a database, " * 400)
        code, err = start_fails(self.dir)
        self.assertEqual(code, EX_DATAERR, err)
        self.assertIn(os.path.join(self.dir, "wintalk.db"), err)

    def test_a_locked_database(self):
        with Gateway(data_dir=self.dir):
            pass  # makes the database
        db = sqlite3.connect(os.path.join(self.dir, "wintalk.db"), isolation_level=None)
        try:
            db.execute("BEGIN EXCLUSIVE")
            code, err = start_fails(self.dir)
        finally:
            db.close()
        self.assertEqual(code, EX_TEMPFAIL, err)
        self.assertIn(self.dir, err)
        self.assertIn("lock", err.lower())

    def test_a_second_gateway_on_the_same_directory(self):
        with Gateway(data_dir=self.dir) as first:
            code, err = start_fails(self.dir)
            self.assertEqual(code, EX_TEMPFAIL, err)
            self.assertIn(self.dir, err)
            self.assertIn("another", err.lower())
            # The first one is not disturbed.
            status, _, body = http_get(first.http_port, "/readyz")
            self.assertEqual((status, body), (200, b"ready\n"))


class DiskFull(unittest.TestCase):
    """A 4 MiB tmpfs as the data directory, filled from outside through
    /proc/PID/root (the gateway's view of the mounts)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wintalk-full-")
        self.gw = Gateway(data_dir=self.dir, wrap=in_own_mounts(
            'mount -t tmpfs -o size=4m,mode=0700 wintalk-test "%s"' % self.dir))
        self.seen = "/proc/%d/root%s" % (self.gw.pid, self.dir)

    def tearDown(self):
        self.gw.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def fill(self):
        """Take every free byte of the tmpfs."""
        fd = os.open(os.path.join(self.seen, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            chunk = b"\0" * 4096
            while True:
                os.write(fd, chunk)
        except OSError:
            pass
        finally:
            os.close(fd)

    def test_full_disk_refuses_keeps_what_was_stored_and_recovers(self):
        gw = self.gw
        self.assertTrue(os.path.exists(os.path.join(self.seen, "wintalk.db")))
        alice = WsClient(gw.http_port, subprotocol=V2)
        alice.send_json({"type": "hello", "nick": "alice"})
        alice.next_event(lambda e: e.get("type") == "welcome")
        bob = WsClient(gw.http_port, subprotocol=V2)
        bob.send_json({"type": "hello", "nick": "bob"})
        bob.next_event(lambda e: e.get("type") == "welcome")
        # Every message bob is given, (id, text), in the order he got them.
        given = []

        def bob_reads(until=None, quiet=None):
            """bob's events into given: until a message with the text until,
            or until nothing came for quiet seconds."""
            while True:
                try:
                    e = bob.next_event(timeout=quiet or 10)
                except TimeoutError:
                    if quiet:
                        return
                    raise
                if e.get("type") == "message":
                    given.append((e["id"], e["text"]))
                    if e["text"] == until:
                        return e

        for i in range(20):
            say(alice, "before %d" % i)
        bob_reads(until="before 19")

        self.fill()
        refused = None
        text = "x" * 3000
        for i in range(300):
            ref = say(alice, "%s during %d" % (text, i))
            ev = alice.next_event(lambda e: e.get("ref") == ref or
                                  (e.get("type") == "message" and
                                   e["text"] == "%s during %d" % (text, i)), timeout=10)
            if ev.get("type") == "error":
                refused = (i, ev)
                break
        self.assertIsNotNone(refused, "the disk never filled")
        i, ev = refused
        self.assertEqual(ev["code"], 451, ev)
        status, _, body = http_get(gw.http_port, "/readyz")
        self.assertEqual(status, 503)
        self.assertIn(b"full", body)
        gw.wait_log("store failing")
        status, _, body = http_get(gw.http_port, "/healthz")
        self.assertIn(b'"healthy":false', body)
        # Nobody got the refused message.
        bob_reads(quiet=0.5)
        self.assertNotIn("%s during %d" % (text, i), [t for _, t in given])
        # Refused at once while the disk stays full.
        ref = say(alice, "still full")
        self.assertEqual(alice.next_event(lambda e: e.get("ref") == ref)["code"], 451)

        # Space comes back: the gateway works again by itself.
        os.unlink(os.path.join(self.seen, "filler"))
        deadline = time.monotonic() + 15
        while http_get(gw.http_port, "/readyz")[0] != 200:
            self.assertLess(time.monotonic(), deadline, "never ready again")
            time.sleep(0.2)
        gw.wait_log("store working again")
        # Nothing stored is damaged.
        db = sqlite3.connect(os.path.join(self.seen, "wintalk.db"))
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        db.close()
        say(alice, "after")
        m = bob_reads(until="after")
        # Every message bob was given is in the history, with its id, in
        # order, and bob was given every message the history has (he was
        # there all along): what was sent was kept. The refused ones are in
        # neither.
        ref = "h"
        alice.send_json({"type": "history", "limit": 500, "ref": ref})
        h = alice.next_event(lambda e: e.get("ref") == ref)
        self.assertFalse(h.get("more"), "more than one answer holds")
        kept = [(e["id"], e["text"]) for e in h["events"] if e["type"] == "message"]
        self.assertEqual([t for _, t in kept[:20]], ["before %d" % k for k in range(20)])
        self.assertEqual(kept[-1][1], "after")
        self.assertEqual([x for x in given if x not in kept], [],
                         "given to bob, not in the history")
        self.assertEqual(given, kept)
        texts = [t for _, t in kept]
        self.assertNotIn("%s during %d" % (text, i), texts)
        self.assertNotIn("still full", texts)
        self.assertEqual(h["events"][-1]["id"], m["id"])
        alice.close()
        bob.close()

    def test_accounts_on_a_full_disk(self):
        """A full disk: a registration is refused (421) and kept nowhere, a
        login still works (its session cannot be kept: said), a private
        message for an account away is refused (451); nothing else breaks,
        and once there is space a registration works."""
        gw = self.gw

        def browser(nick=None):
            w = WsClient(gw.http_port, subprotocol=V2)
            w.send_json({"type": "hello", "nick": nick} if nick else {"type": "hello"})
            w.next_event(lambda e: e.get("type") == "welcome")
            return w

        def answer(w, msg):
            w.send_json(msg)
            return w.next_event(lambda e: e.get("ref") == msg["ref"] and
                                e.get("type") in ("account", "error"), timeout=15)

        wanda = browser("wanda")
        self.assertEqual(answer(wanda, {"type": "register", "password": "pw1", "ref": 1})["type"],
                         "account")
        # Logged out before it closes: its closed tab does not hold the
        # nick through the reload grace.
        self.assertIsNone(answer(wanda, {"type": "logout", "ref": 9})["nick"])
        wanda.close()
        bob = browser("bob")
        d = browser()
        self.fill()
        got = answer(bob, {"type": "register", "password": "pw2", "ref": 2})
        self.assertEqual((got["type"], got.get("code")), ("error", 421), got)
        # The login reads (works); its session is a write (refused, said).
        d.send_json({"type": "login", "nick": "wanda", "password": "pw1", "ref": 3})
        got = d.next_event(lambda e: e.get("type") == "account" and e.get("ref") == 3, 15)
        self.assertEqual(got["nick"], "wanda")
        self.assertNotIn("session", got)
        err = d.next_event(lambda e: e.get("type") == "error", 15)
        self.assertEqual(err["code"], 421)
        self.assertIn("no session could be kept", err["message"])
        self.assertIsNone(answer(d, {"type": "logout", "ref": 8})["nick"])
        d.close()
        # A private message for wanda, away: refused, not lost silently.
        bob.send_json({"type": "msg", "to": "wanda", "text": "psst", "ref": 4})
        err = bob.next_event(lambda e: e.get("ref") == 4, 15)
        self.assertEqual((err["type"], err["code"]), ("error", 451), err)
        # Space comes back: a registration works.
        os.unlink(os.path.join(self.seen, "filler"))
        deadline = time.monotonic() + 15
        while http_get(gw.http_port, "/readyz")[0] != 200:
            self.assertLess(time.monotonic(), deadline, "never ready again")
            time.sleep(0.2)
        got = answer(bob, {"type": "register", "password": "pw2", "ref": 5})
        self.assertEqual((got["type"], got["nick"]), ("account", "bob"), got)
        bob.close()


class Upkeep(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wintalk-upkeep-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def history(self, w, before=None):
        msg = {"type": "history", "limit": 500, "ref": "h"}
        if before:
            msg["before"] = before
        w.send_json(msg)
        return w.next_event(lambda e: e.get("ref") == "h")

    def test_history_max_keeps_the_latest_of_each_room(self):
        with Gateway(data_dir=self.dir, args=["--history-max", "10"]) as gw:
            w = WsClient(gw.http_port, subprotocol=V2)
            w.send_json({"type": "hello", "nick": "alice"})
            w.next_event(lambda e: e.get("type") == "welcome")
            for i in range(30):
                say(w, "m%d" % i)
            last = w.next_event(lambda e: e.get("type") == "message" and e["text"] == "m29")
            deadline = time.monotonic() + 10
            while True:
                h = self.history(w)
                if len(h["events"]) <= 10:
                    break
                self.assertLess(time.monotonic(), deadline, "retention never ran")
                time.sleep(0.3)
            ids = [e["id"] for e in h["events"]]
            self.assertEqual(ids, list(range(last["id"] - 9, last["id"] + 1)))
            self.assertIs(h["more"], False)
            w.close()

    def test_the_documented_backup_while_running(self):
        with Gateway(data_dir=self.dir) as gw:
            w = WsClient(gw.http_port)
            w.hello(nick="alice")
            for i in range(50):
                say(w, "kept %d" % i)
            w.next_event(lambda e: e.get("type") == "message" and e["text"] == "kept 49")
            copy = os.path.join(self.dir, "copy.db")
            # The command README.md gives, while the gateway runs.
            subprocess.run(["sqlite3", os.path.join(self.dir, "wintalk.db"),
                            ".backup '%s'" % copy], check=True, timeout=30)
            say(w, "after the copy")
            w.next_event(lambda e: e.get("type") == "message" and e["text"] == "after the copy")
            w.close()
        # The copy restored in a directory of its own: the history up to it.
        restored = os.path.join(self.dir, "restored")
        os.mkdir(restored)
        shutil.copy(copy, os.path.join(restored, "wintalk.db"))
        with Gateway(data_dir=restored) as gw:
            w = WsClient(gw.http_port)
            w.hello(nick="bob")
            texts = [e["text"] for e in self.history(w)["events"] if e["type"] == "message"]
            self.assertEqual(texts, ["kept %d" % i for i in range(50)])
            w.close()


class Reporting(unittest.TestCase):
    def test_health_and_metrics_name_the_store(self):
        d = tempfile.mkdtemp(prefix="wintalk-rep-")
        try:
            with Gateway(data_dir=d) as gw:
                w = WsClient(gw.http_port)
                welcome = w.hello(nick="alice")
                w.send_json({"type": "say", "text": "counted"})
                w.next_event(lambda e: e.get("type") == "message")
                status, _, body = http_get(gw.http_port, "/healthz")
                import json
                h = json.loads(body)
                self.assertEqual(h["store"]["kind"], "sqlite")
                self.assertEqual(h["store"]["path"], os.path.join(os.path.realpath(d),
                                                                  "wintalk.db"))
                self.assertIs(h["store"]["healthy"], True)
                self.assertEqual(h["epoch"], welcome["epoch"])
                gw.wait_log("history: sqlite ")
                _, _, m = http_get(gw.http_port, "/metrics")
                m = m.decode()
                stored = [l for l in m.splitlines()
                          if l.startswith("wintalk_store_events_stored_total ")]
                self.assertTrue(stored and int(stored[0].split()[1]) >= 2, m)
                self.assertIn("wintalk_store_healthy 1\n", m)
                self.assertIn("wintalk_store_database_bytes ", m)
                w.close()
            with Gateway(args=["--store", "memory"]) as gw:
                _, _, body = http_get(gw.http_port, "/healthz")
                self.assertIn(b'"store":{"kind":"memory"', body)
                gw.wait_log("history: memory only")
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
