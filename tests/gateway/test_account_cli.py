"""`wintalk-gateway account add|passwd|del|admin|list`, the operator's
accounts on the data store, run as real processes: on SQLite with no
gateway (the first add makes the database, which a gateway then opens) and
with a gateway running on the same data directory (started here: it holds
the directory's lock and keeps chatting while the command writes); on a
real redis-server started here. The password comes from a pipe. Checked:
exit statuses and words, NFC and case (one name), guest-N and "you"
refused, empty and too long passwords refused, --store memory and an
unknown store refused, passwd's new generation, the hash an Argon2id PHC
string and the password nowhere in the database files or Redis' dump.
(Beside a running engine, found through its accounts interface:
test_account_cli.c.)"""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from gwtest import Gateway, Redis, TcpClient, find_gateway, main, typed_line

BIN = find_gateway()
EX_USAGE, EX_DATAERR, EX_UNAVAILABLE = 64, 65, 69
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PW = "s3cret-Passw0rd-for-tests"


def account(*args, pw=None, env=None, timeout=30):
    """Run `wintalk-gateway account ARGS`; pw (str or bytes) is its standard
    input. Returns (status, stdout, stderr)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("WINTALK_")}
    e.update(env or {})
    data = pw.encode() if isinstance(pw, str) else (pw or b"")
    p = subprocess.run([BIN, "account"] + list(args), input=data, capture_output=True,
                       env=e, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def listing(*store):
    """The list's lines, each split at its tabs."""
    rc, out, err = account("list", *store)
    if rc != 0:
        raise AssertionError("list: %d %s" % (rc, err))
    return [line.split("\t") for line in out.splitlines()]


def db_rows(d):
    """The accounts table as the gateway's own database has it."""
    con = sqlite3.connect(os.path.join(d, "wintalk.db"))
    try:
        return con.execute("SELECT key, nick, phc, roles, generation FROM accounts "
                           "ORDER BY key").fetchall()
    finally:
        con.close()


def files_hold(d, needle):
    """Whether any file under d holds the bytes needle."""
    for root, _, names in os.walk(d):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                if needle in f.read():
                    return os.path.join(root, n)
    return None


class SqliteRoundTrips:
    """The same round trips with and without a gateway running: self.store
    is the store options, self.dir the data directory."""

    def test_round_trips(self):
        s = self.store
        rc, out, err = account("add", "Alice", *s, pw=PW + "\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "account Alice added\n")
        rows = listing(*s)
        self.assertEqual(len(rows), 1, rows)
        nick, roles, created, gen = rows[0]
        self.assertEqual((nick, roles, gen), ("Alice", "-", "1"))
        self.assertRegex(created, ISO)
        made = time.mktime(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        self.assertLess(abs(made - time.time()), 120)

        # One name whatever its case or Unicode form.
        rc, out, err = account("add", "alice", *s, pw="other\n")
        self.assertEqual(rc, EX_DATAERR, err)
        self.assertIn('an account "alice" exists already', err)
        rc, _, err = account("add", "Jose\u0301", *s, pw="x\n")
        self.assertEqual(rc, 0, err)
        rc, _, err = account("add", "JOS\u00c9", *s, pw="x\n")
        self.assertEqual(rc, EX_DATAERR, err)

        # Refused as the hub refuses them.
        for bad in ("guest-3", "Guest-12", "you", "YOU", "9lives", "a b", ""):
            rc, _, err = account("add", bad, *s, pw="x\n")
            self.assertEqual(rc, EX_USAGE, (bad, err))
            self.assertIn("wintalk-gateway account:", err)
        rc, _, err = account("add", "guest-3", *s, pw="x\n")
        self.assertIn("guest-", err)
        for pw, why in ((b"\n", "empty"), (b"", "empty"), (b"a" * 257 + b"\n", "longer than 256")):
            rc, _, err = account("add", "bob", *s, pw=pw)
            self.assertEqual(rc, EX_DATAERR, err)
            self.assertIn(why, err)
        rc, _, err = account("add", "bob", *s, pw=b"b" * 256 + b"\n")
        self.assertEqual(rc, 0, err)

        # Sorted by key, roles shown.
        rc, _, err = account("add", "Zed", "--admin", *s, pw="z\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual([(r[0], r[1]) for r in listing(*s)],
                         [("Alice", "-"), ("bob", "-"), ("Jos\u00e9", "-"), ("Zed", "admin")])

        # passwd: a new hash, the next generation, every session ended.
        before = {r[0]: r for r in db_rows(self.dir)}
        rc, out, err = account("passwd", "ALICE", *s, pw="new-one\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "password of Alice changed: every session of Alice has ended\n")
        after = {r[0]: r for r in db_rows(self.dir)}
        self.assertEqual(after["alice"][4], before["alice"][4] + 1)
        self.assertNotEqual(after["alice"][2], before["alice"][2])
        self.assertEqual(listing(*s)[0][3], "2")
        rc, _, err = account("passwd", "nobody", *s, pw="x\n")
        self.assertEqual((rc, err.strip()), (EX_DATAERR, 'wintalk-gateway account: no account "nobody"'))

        # admin on|off.
        rc, out, _ = account("admin", "alice", "on", *s)
        self.assertEqual((rc, out), (0, "Alice is now an administrator\n"))
        self.assertEqual(listing(*s)[0][1], "admin")
        rc, out, _ = account("admin", "alice", "off", *s)
        self.assertEqual((rc, out), (0, "Alice is no longer an administrator\n"))
        self.assertEqual(after["alice"][4], int(listing(*s)[0][3]))
        rc, _, _ = account("admin", "alice", "maybe", *s)
        self.assertEqual(rc, EX_USAGE)

        # The hash kept, never the password.
        for key, nick, phc, roles, gen in db_rows(self.dir):
            self.assertRegex(phc, r"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")
        for secret in (PW.encode(), b"new-one", b"b" * 256):
            self.assertIsNone(files_hold(self.dir, secret), secret)

        # del.
        rc, out, err = account("del", "Zed", *s)
        self.assertEqual((rc, out), (0, "account Zed removed, with its sessions\n"), err)
        rc, _, err = account("del", "zed", *s)
        self.assertEqual(rc, EX_DATAERR, err)
        self.assertEqual([r[0] for r in listing(*s)], ["Alice", "bob", "Jos\u00e9"])

    def test_usage(self):
        s = self.store
        for args in (("add",), ("add", "a", "b"), ("frob",), ("list", "x"), ("del", "a", "--admin"),
                     ("list", "--http-port", "1"), ("list", "--data-dir")):
            rc, _, err = account(*(args + tuple(s)))
            self.assertEqual(rc, EX_USAGE, (args, err))
        rc, _, err = account("list", *s, "--store", "memory")
        self.assertEqual(rc, EX_USAGE)
        self.assertIn("--store memory keeps nothing", err)
        rc, _, err = account("list", *s, "--store", "mysql")
        self.assertEqual(rc, EX_USAGE)
        self.assertIn("'mysql' is not a store", err)
        rc, _, err = account("list", env={"WINTALK_STORE": "memory"})
        self.assertEqual(rc, EX_USAGE)
        rc, out, _ = account("--help")
        self.assertEqual(rc, 0)
        self.assertIn("printf '%s\\n' \"$PW\" | wintalk-gateway account add alice", out)


class NoGateway(SqliteRoundTrips, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wt-acli-")
        self.store = ("--data-dir", self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_before_the_first_start(self):
        """Nothing yet: list prints nothing and makes nothing; add makes the
        database the gateway's way, and a gateway then starts on it and
        finds the account's tables there (schema 4)."""
        d = os.path.join(self.dir, "new")
        self.assertEqual(account("list", "--data-dir", d)[:2], (0, ""))
        self.assertFalse(os.path.exists(d))
        rc, _, err = account("del", "alice", "--data-dir", d)
        self.assertEqual(rc, EX_DATAERR, err)
        rc, _, err = account("add", "alice", env={"WINTALK_DATA_DIR": d}, pw=PW + "\n")
        self.assertEqual(rc, 0, err)
        con = sqlite3.connect(os.path.join(d, "wintalk.db"))
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 4)
        self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        con.close()
        with Gateway(data_dir=d) as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            t.close()
        self.assertEqual([r[0] for r in listing("--data-dir", d)], ["alice"])

    def test_other_schema_refused(self):
        """A database of a newer schema: words, nothing written."""
        rc, _, err = account("add", "alice", *self.store, pw="x\n")
        self.assertEqual(rc, 0, err)
        con = sqlite3.connect(os.path.join(self.dir, "wintalk.db"))
        con.execute("PRAGMA user_version = 5")
        con.commit()
        con.close()
        rc, _, err = account("add", "bob", *self.store, pw="x\n")
        self.assertEqual(rc, EX_UNAVAILABLE, err)
        self.assertIn("has schema 5, newer than this", err)
        self.assertIn("run a newer wintalk-gateway", err)


class GatewayRunning(SqliteRoundTrips, unittest.TestCase):
    """The same with a gateway running on the directory (holding its lock)
    and chatting: the command works, and the gateway keeps every line."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wt-acli-gw-")
        self.store = ("--data-dir", self.dir)
        self.gw = Gateway(data_dir=self.dir)
        self.t = TcpClient(self.gw.tcp_port)
        self.t.read_greeting()
        self.t.send_line("/nick talker")
        self.t.wait_text("is now talker")

    def tearDown(self):
        # The gateway kept chatting: a line said now comes back (kept).
        self.t.send_line("still here")
        self.t.wait_text("still here")
        self.t.close()
        self.assertIsNone(self.gw.proc.poll(), "the gateway stopped")
        self.gw.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_lock_held(self):
        """The gateway holds the directory: a second one is refused (75),
        the command is not."""
        p = subprocess.run([BIN, "--bind", "127.0.0.1", "--tcp-port", "0", "--http-port", "0",
                            "--data-dir", self.dir, "--web-root", self.gw.web_root],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 75, p.stderr)
        rc, _, err = account("add", "alice", *self.store, pw="x\n")
        self.assertEqual(rc, 0, err)


class Terminal(unittest.TestCase):
    """Standard input a terminal (tmux, a real pseudo-terminal): the password
    typed twice, never shown; two that differ change nothing."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wt-acli-tty-")
        self.socks = []
        self.env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")

    def tearDown(self):
        # Each run had a tmux server of its own: one just killed may still
        # be going away when the next starts on its socket.
        for sock in self.socks:
            self.sock = sock
            self.tmux("kill-server")
        shutil.rmtree(self.dir, ignore_errors=True)

    def tmux(self, *a):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *a], env=self.env,
                              capture_output=True, text=True, timeout=10).stdout

    def wait_screen(self, needle, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.tmux("capture-pane", "-p", "-t", "w")
            if needle in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError("%r never on the screen:\n%s" % (needle, screen))

    def run_typed(self, nick, first, second):
        """`account add NICK` in a terminal, the two passwords typed; the
        screen at its end (which shows its exit status)."""
        cmd = "%s account add %s --data-dir %s; echo exit=$?; sleep 30" % (BIN, nick, self.dir)
        self.sock = "wt-acli-%d-%d" % (os.getpid(), len(self.socks))
        self.socks.append(self.sock)
        self.tmux("new-session", "-d", "-s", "w", "-x", "120", "-y", "20", "sh", "-c", cmd)
        self.wait_screen("New password for %s:" % nick)
        self.tmux("send-keys", "-t", "w", "-l", first)
        self.tmux("send-keys", "-t", "w", "Enter")
        self.wait_screen("Again:")
        self.tmux("send-keys", "-t", "w", "-l", second)
        self.tmux("send-keys", "-t", "w", "Enter")
        return self.wait_screen("exit=")

    def test_typed_twice_without_echo(self):
        screen = self.run_typed("alice", "typed-secret-1", "typed-secret-1")
        self.assertIn("account alice added", screen)
        self.assertIn("exit=0", screen)
        self.assertNotIn("typed-secret", screen)
        self.assertEqual([r[0] for r in listing("--data-dir", self.dir)], ["alice"])
        screen = self.run_typed("bob", "one-thing", "another")
        self.assertIn("the two passwords differ: nothing changed", screen)
        self.assertIn("exit=65", screen)
        self.assertNotIn("one-thing", screen)
        self.assertEqual([r[0] for r in listing("--data-dir", self.dir)], ["alice"])


class OnRedis(unittest.TestCase):
    def setUp(self):
        self.redis = Redis()
        self.store = ("--store", "redis", "--redis", self.redis.url)

    def tearDown(self):
        self.redis.close()

    def test_add_list_passwd_del(self):
        s = self.store
        rc, out, err = account("add", "Alice", "--admin", *s, pw=PW + "\n")
        self.assertEqual((rc, out), (0, "account Alice added, an administrator\n"), err)
        rc, _, err = account("add", "bob", env={"WINTALK_STORE": "redis",
                                                "WINTALK_REDIS": self.redis.url}, pw="b\n")
        self.assertEqual(rc, 0, err)
        rc, _, err = account("add", "ALICE", *s, pw="x\n")
        self.assertEqual(rc, EX_DATAERR, err)
        rows = listing(*s)
        self.assertEqual([(r[0], r[1], r[3]) for r in rows], [("Alice", "admin", "1"), ("bob", "-", "1")])
        self.assertRegex(rows[0][2], ISO)
        rc, out, err = account("passwd", "alice", *s, pw="new-one\n")
        self.assertEqual(rc, 0, err)
        self.assertIn("every session of Alice has ended", out)
        self.assertEqual(listing(*s)[0][3], "2")
        key = "wintalk:account:" + b"alice".hex()
        h = self.redis.command("HGETALL", key)
        fields = dict(zip(h[0::2], h[1::2]))
        self.assertEqual(fields[b"generation"], b"2")
        self.assertTrue(fields[b"phc"].startswith(b"$argon2id$v=19$m=19456,t=2,p=1$"), fields)
        self.redis.command("SAVE")
        dump = os.path.join(self.redis.dir, "dump.rdb")
        self.assertTrue(os.path.exists(dump))
        for secret in (PW.encode(), b"new-one"):
            self.assertIsNone(files_hold(self.redis.dir, secret), secret)
        self.assertIsNotNone(files_hold(self.redis.dir, b"$argon2id$"))
        rc, _, err = account("del", "Alice", *s)
        self.assertEqual(rc, 0, err)
        self.assertEqual([r[0] for r in listing(*s)], ["bob"])

    def test_passwd_and_del_end_the_connections_at_once(self):
        """A WINTALK program logged in on a gateway on the Redis: the
        command line's passwd logs it out at once (well before the gateway's
        next look at its accounts, 30 s), and so does del."""
        s = self.store
        rc, _, err = account("add", "alice", *s, pw=PW + "\n")
        self.assertEqual(rc, 0, err)
        with Gateway(args=s) as gw:
            gw.wait_ready()
            t = TcpClient(gw.tcp_port)
            try:
                t.read_greeting()
                typed_line(t, "/identify alice " + PW)
                t.wait_text("logged in as alice", timeout=15)
                rc, _, err = account("passwd", "alice", *s, pw="new-one\n")
                self.assertEqual(rc, 0, err)
                t0 = time.monotonic()
                t.wait_text("logged out: the account's password was changed; you are guest-",
                            timeout=2.5)
                print("passwd: out %.3f s after the command ended" % (time.monotonic() - t0))
                typed_line(t, "/identify alice new-one")
                t.wait_text("logged in as alice", timeout=15)
                rc, _, err = account("del", "alice", *s)
                self.assertEqual(rc, 0, err)
                t0 = time.monotonic()
                t.wait_text("logged out: the account was removed; you are guest-", timeout=2.5)
                print("del: out %.3f s after the command ended" % (time.monotonic() - t0))
            finally:
                t.close()

    def test_list_many(self):
        """More accounts than one SCAN page, with their sessions' sets beside
        them (not accounts): every account once, by key."""
        s = self.store
        rc, _, err = account("add", "Zoe", *s, pw="z\n")
        self.assertEqual(rc, 0, err)
        phc = dict(zip(*[iter(self.redis.command("HGETALL", "wintalk:account:" + b"zoe".hex()))] * 2))[b"phc"]
        names = ["user%03d" % i for i in range(450)]
        for n in names:
            key = "wintalk:account:" + n.encode().hex()
            self.redis.command("HSET", key, "key", n, "nick", n.upper(), "phc", phc, "roles", "0",
                               "generation", "1", "created_ms", "1764000000000")
            self.redis.command("ZADD", key + ":sessions", "1", "x")
        rows = listing(*s)
        self.assertEqual([r[0] for r in rows], [n.upper() for n in names] + ["Zoe"])
        self.assertEqual(rows[0][2], "2025-11-24T16:00:00Z")

    def test_redis_away(self):
        """No Redis there: 69 with words, within a few seconds."""
        port = self.redis.port
        self.redis.close()
        t0 = time.monotonic()
        rc, _, err = account("list", "--store", "redis", "--redis", "redis://127.0.0.1:%d" % port)
        self.assertEqual(rc, EX_UNAVAILABLE, err)
        self.assertIn("not ready within 5000 ms", err)
        self.assertLess(time.monotonic() - t0, 20)


if __name__ == "__main__":
    main()
