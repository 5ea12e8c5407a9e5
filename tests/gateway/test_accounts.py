"""Accounts against the real gateway, typed by a WINTALK program as the
original .NET one types (a frame per key): /register, /identify, /logout,
a registered nick kept for its owner, the same words for a failed login
whether or not the account exists, accounts kept across a restart, and
closed registration with the account made by `wintalk-gateway account
add` while the gateway runs; a browser's login, its session across a reload,
a restart and another gateway on the same Redis, and its end."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from gwtest import Gateway, Redis, TcpClient, WsClient, typed_line

BIN = os.environ["WINTALK_GATEWAY"]


def program(gw, nick=None):
    t = TcpClient(gw.tcp_port)
    t.read_greeting()
    if nick:
        typed_line(t, "/nick " + nick)
        t.wait_text("is now " + nick)
    return t


def hello_browser(gw, nick=None, session=None):
    """A wintalk.v2 browser's hello (a nick, a session): it and its welcome."""
    w = WsClient(gw.http_port, subprotocol="wintalk.v2")
    hello = {"type": "hello"}
    if nick:
        hello["nick"] = nick
    if session:
        hello["session"] = session
    try:
        w.send_json(hello)
        return w, w.next_event(lambda e: e.get("type") == "welcome", 15)
    except Exception:
        w.close()
        raise


class Accounts(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wt-accounts-")
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def gateway(self, *args):
        return Gateway(args=("--data-dir", self.dir) + args)

    def prog(self, gw, nick=None):
        t = program(gw, nick)
        self.clients.append(t)
        return t

    def test_register_identify_and_a_restart(self):
        with self.gateway() as gw:
            a = self.prog(gw, "alice")
            typed_line(a, "/register hunter2")
            a.wait_text("registered and logged in as alice", timeout=15)
            # Nobody else may take it.
            b = self.prog(gw)
            typed_line(b, "/nick Alice")
            b.wait_text("error 553: Alice is registered: log in with /identify Alice PASSWORD",
                        timeout=15)
            # A wrong password, and a nick nobody registered: the same words.
            typed_line(b, "/identify alice hunter3")
            wrong = b.wait_text("* error 530", timeout=15)[-1][1]
            typed_line(b, "/identify nobody hunter2")
            none = b.wait_text("* error 530", timeout=15)[-1][1]
            self.assertEqual(wrong, none)
            self.assertIn("wrong nick or password", wrong)
        # Kept across a restart: the account, and its password.
        with self.gateway() as gw:
            c = self.prog(gw, "carol")
            typed_line(c, "/identify ALICE hunter2")
            c.wait_text("logged in as alice", timeout=15)
            typed_line(c, "hello as alice")
            c.wait_text("alice: hello as alice")
            typed_line(c, "/logout")
            c.wait_text("logged out; you are guest-", timeout=15)

    def test_a_browser_may_not_take_a_registered_nick(self):
        with self.gateway() as gw:
            a = self.prog(gw, "alice")
            typed_line(a, "/register hunter2")
            a.wait_text("registered and logged in as alice", timeout=15)
            for proto in ("wintalk.v2", "wintalk.v1"):
                w = WsClient(gw.http_port, subprotocol=proto)
                self.clients.append(w)
                w.send_json({"type": "hello", "nick": "ALICE"})
                err = w.next_event(lambda e: e.get("type") in ("error", "welcome"))
                self.assertEqual((err["type"], err.get("code")), ("error", 553), proto)
                self.assertIn("ALICE is registered", err["message"])
                welcome = w.next_event(lambda e: e.get("type") == "welcome")
                self.assertTrue(welcome["you"]["nick"].startswith("guest-"), welcome["you"])
                # Nor later, with a nick message.
                w.send_json({"type": "nick", "nick": "alice", "ref": "n1"})
                err = w.next_event(lambda e: e.get("type") == "error")
                self.assertEqual((err["code"], err.get("ref")), (553, "n1"))
            # A nick nobody registered is taken as before.
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            self.clients.append(w)
            w.send_json({"type": "hello", "nick": "bobby"})
            welcome = w.next_event(lambda e: e.get("type") == "welcome")
            self.assertEqual(welcome["you"]["nick"], "bobby")

    def test_closed_registration_and_an_account_made_by_the_operator(self):
        with self.gateway("--registration", "closed") as gw:
            a = self.prog(gw, "bob")
            typed_line(a, "/register s3cret")
            a.wait_text("registration is closed", timeout=15)
            p = subprocess.run([BIN, "account", "add", "bob", "--data-dir", self.dir],
                               input=b"s3cret\n", capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            typed_line(a, "/identify bob s3cret")
            a.wait_text("logged in as bob", timeout=15)

    def browser(self, gw, nick=None, session=None):
        """A wintalk.v2 browser's hello; returns it and its welcome."""
        w, wel = hello_browser(gw, nick, session)
        self.clients.append(w)
        return w, wel

    def answer(self, w, msg):
        w.send_json(msg)
        return w.next_event(lambda e: e.get("type") in ("account", "error")
                            and e.get("ref") == msg.get("ref"), 15)

    def test_a_browser_logs_in_and_comes_back_without_its_password(self):
        with self.gateway() as gw:
            w, _ = self.browser(gw, "wanda")
            got = self.answer(w, {"type": "register", "password": "hunter2", "ref": 1})
            self.assertEqual(got["type"], "account", got)
            session = got["session"]
            # A reload (a new connection, its session): logged in, no password.
            v, wel = self.browser(gw, "whoever", session)
            self.assertEqual((wel["account"], wel["you"]["nick"]), ("wanda", "wanda"))
            # Another device with the password: another session.
            d, _ = self.browser(gw)
            got = self.answer(d, {"type": "login", "nick": "Wanda", "password": "hunter2",
                                  "ref": "in"})
            self.assertEqual((got["type"], got["nick"]), ("account", "wanda"), got)
            self.assertNotEqual(got["session"], session)
            wrong = self.answer(d, {"type": "login", "nick": "wanda", "password": "x",
                                    "ref": 2})
            self.assertEqual((wrong["code"], wrong["message"]), (530, "wrong nick or password"))
        # Sessions are kept across a restart; logging out everywhere ends them.
        with self.gateway() as gw:
            v, wel = self.browser(gw, None, session)
            self.assertEqual(wel.get("account"), "wanda")
            got = self.answer(v, {"type": "logout", "all": True, "ref": 3})
            self.assertEqual((got["type"], got["nick"]), ("account", None))
            u = WsClient(gw.http_port, subprotocol="wintalk.v2")
            self.clients.append(u)
            u.send_json({"type": "hello", "session": session})
            err = u.next_event(lambda e: e.get("type") in ("error", "welcome"), 15)
            self.assertEqual((err["type"], err.get("code")), ("error", 530), err)
            wel = u.next_event(lambda e: e.get("type") == "welcome", 15)
            self.assertNotIn("account", wel)
            self.assertTrue(wel["you"]["nick"].startswith("guest-"))

    def test_twenty_wrong_passwords_are_held_back_and_chat_goes_on(self):
        """20 wrong passwords in a row for one account: 5 are checked (530),
        the rest refused at once (429), and a bystander's say-to-echo median
        stays under 100 ms meanwhile (passwords are hashed off the loop)."""
        import statistics
        import threading
        with self.gateway() as gw:
            a = self.prog(gw, "wanda")
            typed_line(a, "/register hunter2")
            a.wait_text("registered and logged in as wanda", timeout=15)
            by, _ = self.browser(gw, "bystander")
            lat, stop = [], threading.Event()

            def chat():
                n = 0
                while not stop.is_set() or n < 20:
                    n += 1
                    t0 = time.monotonic()
                    by.send_json({"type": "say", "text": "line %d" % n})
                    by.next_event(lambda e: e.get("type") == "message"
                                  and e.get("text") == "line %d" % n, 10)
                    lat.append(time.monotonic() - t0)
                    time.sleep(0.02)

            th = threading.Thread(target=chat)
            th.start()
            x, _ = self.browser(gw)
            codes = []
            for i in range(20):
                got = self.answer(x, {"type": "login", "nick": "wanda", "password": "guess%d" % i,
                                      "ref": i + 1})
                codes.append((got.get("code"), got.get("message")))
                time.sleep(0.25)  # within the message rate: only logins are held back
            stop.set()
            th.join(30)
            self.assertEqual(codes, [(530, "wrong nick or password")] * 5 +
                             [(429, "too many failed logins: try again in a minute")] * 15,
                             codes)
            self.assertGreaterEqual(len(lat), 20)
            self.assertLess(statistics.median(lat), 0.100, sorted(lat))
            # The right password is refused too while held back.
            got = self.answer(x, {"type": "login", "nick": "wanda", "password": "hunter2",
                                  "ref": 99})
            self.assertEqual(got.get("code"), 429)

    def test_two_tabs_and_a_program_are_one_person(self):
        """Two tabs of one browser and a WINTALK program logged in to one
        account: one nick, each sees the others' lines, a private message
        reaches all three, closing one tab posts nothing."""
        with self.gateway() as gw:
            t1, wel = self.browser(gw, "wanda")
            got = self.answer(t1, {"type": "register", "password": "hunter2", "ref": 1})
            session = got["session"]
            # The second tab: the browser's token and session, as the page sends them.
            t2 = WsClient(gw.http_port, subprotocol="wintalk.v2")
            self.clients.append(t2)
            t2.send_json({"type": "hello", "token": wel["token"], "session": session})
            wel2 = t2.next_event(lambda e: e.get("type") == "welcome", 15)
            self.assertEqual((wel2["you"]["nick"], wel2.get("account")), ("wanda", "wanda"))
            p = self.prog(gw)
            typed_line(p, "/identify wanda hunter2")
            p.wait_text("logged in as wanda", timeout=15)
            bob, _ = self.browser(gw, "bob")
            # Each sees the others' lines, under one nick.
            t1.send_json({"type": "say", "text": "from tab one"})
            t2.next_event(lambda e: e.get("text") == "from tab one", 10)
            p.wait_text("wanda: from tab one")
            typed_line(p, "from the program")
            for c in (t1, t2, bob):
                e = c.next_event(lambda e: e.get("text") == "from the program", 10)
                self.assertEqual(e["nick"], "wanda")
            # A private message reaches all three.
            bob.send_json({"type": "msg", "to": "wanda", "text": "psst"})
            for c in (t1, t2):
                c.next_event(lambda e: e.get("private") and e.get("text") == "psst", 10)
            p.wait_text("* bob -> you: psst")
            # Closing one tab posts nothing; the people list has wanda once.
            t2.close()
            time.sleep(0.5)
            bob.send_json({"type": "say", "text": "after the close"})
            seen = []
            while True:
                e = bob.next_event(lambda e: True, 10)
                seen.append(e)
                if e.get("text") == "after the close":
                    break
            self.assertEqual([e for e in seen if e.get("type") in ("leave", "join")], [])
            c, welc = self.browser(gw, "carol")
            people = [q["nick"] for q in welc["rooms"][0]["participants"]]
            self.assertEqual(people.count("wanda"), 1, people)

    def test_help_names_the_account_commands(self):
        with self.gateway() as gw:
            a = self.prog(gw)
            typed_line(a, "/help")
            line = a.wait_text("commands:")[-1][1]
            for cmd in ("/register PASSWORD", "/identify NICK PASSWORD", "/logout", "/login KEY"):
                self.assertIn(cmd, line)


class OnRedis:
    """Gateways on one real redis-server (started per test): gateway()
    starts one (more flags as arguments) and waits until it is ready;
    those in self.gateways and every client in self.clients end with the
    test."""

    def setUp(self):
        self.redis = Redis(appendonly=True)
        self.clients = []
        self.gateways = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for gw in self.gateways:
            if gw.proc.poll() is None:
                gw.stop()
        self.redis.stop()

    def gateway(self, *args):
        gw = Gateway(args=("--store", "redis", "--redis", self.redis.url) + args)
        self.gateways.append(gw)
        gw.wait_ready()
        return gw


class AccountsOnRedis(OnRedis, unittest.TestCase):
    """Two gateways on one Redis: an account made on one is the other's too;
    Redis gone and back during logins."""

    def test_a_session_made_on_one_gateway_holds_on_the_other(self):
        with self.gateway() as a:
            w = WsClient(a.http_port, subprotocol="wintalk.v2")
            self.clients.append(w)
            w.send_json({"type": "hello", "nick": "wanda"})
            w.next_event(lambda e: e.get("type") == "welcome", 15)
            w.send_json({"type": "register", "password": "hunter2", "ref": 1})
            got = w.next_event(lambda e: e.get("type") in ("account", "error"), 15)
            self.assertEqual(got["type"], "account", got)
            # A gateway started now knows the name from its first walk, and
            # takes the session made on the first.
            with self.gateway() as b:
                deadline = time.monotonic() + 15
                while b.metric("wintalk_accounts_walks_total") < 1:
                    self.assertLess(time.monotonic(), deadline, "no walk of the names")
                    time.sleep(0.05)
                self.assertEqual(b.metric("wintalk_accounts_known"), 1)
                t = program(b)
                self.clients.append(t)
                typed_line(t, "/nick wanda")
                t.wait_text("error 553: wanda is registered", timeout=15)
                v = WsClient(b.http_port, subprotocol="wintalk.v2")
                self.clients.append(v)
                v.send_json({"type": "hello", "session": got["session"]})
                wel = v.next_event(lambda e: e.get("type") == "welcome", 15)
                self.assertEqual((wel.get("account"), wel["you"]["nick"]), ("wanda", "wanda"))


    def test_a_message_kept_on_one_gateway_killed_reaches_its_owner_on_the_other(self):
        """Registered on A, away; a private message sent on A is kept; A is
        killed (-9); the owner logs in on B and gets it."""
        a = self.gateway()
        b = self.gateway()
        try:
            w = program(a)
            self.clients.append(w)
            typed_line(w, "/nick wanda")
            w.wait_text("is now wanda", timeout=15)
            typed_line(w, "/register hunter2")
            w.wait_text("registered and logged in as wanda", timeout=15)
            w.close()
            bob = program(a)
            self.clients.append(bob)
            typed_line(bob, "/nick bob")
            bob.wait_text("is now bob", timeout=15)
            for text in ("first of three", "second of three", "third of three"):
                typed_line(bob, "/msg wanda " + text)
                bob.wait_text("wanda is away: the message is kept for them", timeout=15)
            a.stop(signal.SIGKILL)
            t = program(b)
            self.clients.append(t)
            typed_line(t, "/identify wanda hunter2")
            got = t.wait_text("third of three", timeout=15)
            lines = [f[1] for f in got]
            kept = [l for l in lines if "(while you were away)" in l]
            self.assertEqual(len(kept), 3, lines)
            self.assertIn("* bob -> you (while you were away): first of three", kept[0])
            self.assertIn("second of three", kept[1])
        finally:
            for gw in (a, b):
                if gw.proc.poll() is None:
                    gw.stop()

    def test_an_account_away_from_one_gateway_stays_on_every_gateway(self):
        """Wanda (on A) closes: on B, nobody sees her leave; she is listed
        away, and /who says so. Back on B: no join line. On A again, A is
        killed (-9): when B finds A gone, she is away, not gone. A gateway
        started afterwards lists her away in #dev from the store."""
        a = self.gateway("--reload-grace", "1")
        b = self.gateway("--reload-grace", "1")
        c = None
        try:
            bob = WsClient(b.http_port, subprotocol="wintalk.v2")
            self.clients.append(bob)
            bob.send_json({"type": "hello", "nick": "bob", "rooms": {"#dev": 0}})
            bob.next_event(lambda e: e.get("type") == "welcome", 15)
            tom = program(b, "tom")
            self.clients.append(tom)
            typed_line(tom, "/join #dev")
            tom.wait_text("#dev", timeout=15)
            w = WsClient(a.http_port, subprotocol="wintalk.v2")
            self.clients.append(w)
            w.send_json({"type": "hello", "nick": "wanda", "rooms": {"#dev": 0}})
            w.next_event(lambda e: e.get("type") == "welcome", 15)
            w.send_json({"type": "register", "password": "hunter2", "ref": 1})
            got = w.next_event(lambda e: e.get("type") in ("account", "error"), 15)
            self.assertEqual(got["type"], "account", got)
            session = got["session"]
            of_wanda = lambda t: lambda e: (e.get("type") == t and e.get("nick") == "wanda" and
                                            e.get("room") == "#dev")
            bob.next_event(of_wanda("join"), 15)
            tom.wait_text("wanda joined", timeout=15)
            # Her only connection closes: away, on the other gateway too.
            w.close()
            left = bob.next_event(of_wanda("leave"), 15)
            self.assertEqual(left["reason"], "away", left)
            typed_line(tom, "/who")
            who = tom.wait_text("here:", timeout=15)[-1][1]
            self.assertIn("; away: wanda", who)
            self.assertNotIn("wanda left", tom.view)
            cy = WsClient(b.http_port, subprotocol="wintalk.v2")
            self.clients.append(cy)
            cy.send_json({"type": "hello", "nick": "cy", "rooms": {"#dev": 0}})
            wel = cy.next_event(lambda e: e.get("type") == "welcome", 15)
            dev = [r for r in wel["rooms"] if r["room"] == "#dev"][0]
            away = [p for p in dev["participants"] if p.get("away")]
            self.assertEqual([p["nick"] for p in away], ["wanda"], dev["participants"])
            # Back, on B: a join that says back, and no line for the pane.
            v = WsClient(b.http_port, subprotocol="wintalk.v2")
            self.clients.append(v)
            v.send_json({"type": "hello", "session": session})
            v.next_event(lambda e: e.get("type") == "welcome", 15)
            back = bob.next_event(of_wanda("join"), 15)
            self.assertIs(back.get("back"), True, back)
            v.close()
            self.assertEqual(bob.next_event(of_wanda("leave"), 15)["reason"], "away")
            # On A again, and A is killed: away when B finds A gone.
            u = WsClient(a.http_port, subprotocol="wintalk.v2")
            self.clients.append(u)
            u.send_json({"type": "hello", "session": session})
            u.next_event(lambda e: e.get("type") == "welcome", 15)
            self.assertIs(bob.next_event(of_wanda("join"), 15).get("back"), True)
            a.stop(signal.SIGKILL)
            gone = bob.next_event(of_wanda("leave"), 40)
            self.assertEqual(gone["reason"], "away", gone)
            tom.drain()
            self.assertNotIn("wanda left", tom.view)
            self.assertEqual(tom.view.count("wanda joined"), 1, tom.view)
            # A gateway that comes now finds her a member of #dev, away.
            c = self.gateway()
            dee = WsClient(c.http_port, subprotocol="wintalk.v2")
            self.clients.append(dee)
            dee.send_json({"type": "hello", "nick": "dee", "rooms": {"#dev": 0}})
            wel = dee.next_event(lambda e: e.get("type") == "welcome", 15)
            # The room waited for the store's list of its members: the
            # first welcome lists her.
            dev = [r for r in wel["rooms"] if r["room"] == "#dev"][0]
            self.assertEqual([p["nick"] for p in dev["participants"] if p.get("away")],
                             ["wanda"], dev)
        finally:
            for gw in (a, b, c):
                if gw and gw.proc.poll() is None:
                    gw.stop()

    def test_logins_while_redis_is_gone_say_so_and_work_again_after(self):
        with self.gateway() as gw:
            w = WsClient(gw.http_port, subprotocol="wintalk.v2")
            self.clients.append(w)
            w.send_json({"type": "hello", "nick": "wanda"})
            w.next_event(lambda e: e.get("type") == "welcome", 15)
            w.send_json({"type": "register", "password": "hunter2", "ref": 1})
            session = w.next_event(lambda e: e.get("type") in ("account", "error"), 15)["session"]
            t = program(gw)
            self.clients.append(t)
            typed_line(t, "/nick newbie")
            t.wait_text("is now newbie", timeout=15)
            self.redis.stop()
            gw.wait_ready(503)
            # A login, a session, a registration: each said, none a crash.
            for n in range(3):
                d = WsClient(gw.http_port, subprotocol="wintalk.v2")
                self.clients.append(d)
                d.send_json({"type": "hello", "session": session})
                err = d.next_event(lambda e: e.get("type") in ("error", "welcome"), 15)
                self.assertEqual((err["type"], err.get("code")), ("error", 421), err)
                self.assertIn("cannot be checked now", err["message"])
                wel = d.next_event(lambda e: e.get("type") == "welcome", 15)
                self.assertNotIn("account", wel)
                d.send_json({"type": "login", "nick": "wanda", "password": "hunter2",
                             "ref": "x%d" % n})
                err = d.next_event(lambda e: e.get("ref") == "x%d" % n, 15)
                self.assertEqual((err["type"], err.get("code")), ("error", 421), err)
            typed_line(t, "/register s3cret")
            t.wait_text("error 421", timeout=15)
            # Back: the session and the password work again, nothing lost.
            self.redis.start()
            gw.wait_ready(200, 20)
            deadline = time.monotonic() + 20
            while True:
                d = WsClient(gw.http_port, subprotocol="wintalk.v2")
                self.clients.append(d)
                d.send_json({"type": "hello", "session": session})
                wel = d.next_event(lambda e: e.get("type") == "welcome", 15)
                if wel.get("account") == "wanda":
                    break
                self.assertLess(time.monotonic(), deadline, "Redis back, the session not")
                time.sleep(0.5)
            typed_line(t, "/register s3cret")
            t.wait_text("registered and logged in as newbie", timeout=15)


class SessionsEndedOnRedis(OnRedis, unittest.TestCase):
    """Two gateways on one Redis: every session of an account ended, or its
    password changed, on A ends at once the connections logged in to it on
    B, a browser and a WINTALK program; news B missed (its subscription was
    down) ends them when its subscription is back."""

    # Seconds from the change done on A to the words on B: it takes
    # milliseconds; without the news, 30 s (the next look at the accounts).
    BOUND = 2.5

    def setUp(self):
        super().setUp()
        self.a = self.gateway()
        self.b = self.gateway()

    def prog(self, gw, login=None):
        t = program(gw)
        self.clients.append(t)
        if login:
            typed_line(t, "/identify %s %s" % login)
            t.wait_text("logged in as " + login[0], timeout=15)
        return t

    def browser(self, gw, nick=None, session=None, login=None):
        """A wintalk.v2 browser: its hello (a nick, a session), then a login
        with a password; returns it, its welcome and its session."""
        w, wel = hello_browser(gw, nick, session)
        self.clients.append(w)
        if not login:
            return w, wel, session
        w.send_json({"type": "login", "nick": login[0], "password": login[1], "ref": "in"})
        got = w.next_event(lambda e: e.get("ref") == "in", 15)
        self.assertEqual((got["type"], got["nick"]), ("account", login[0]), got)
        return w, wel, got["session"]

    def register(self, gw, nick, pw):
        w, _, _ = self.browser(gw, nick)
        w.send_json({"type": "register", "password": pw, "ref": "reg"})
        got = w.next_event(lambda e: e.get("ref") == "reg", 15)
        self.assertEqual(got["type"], "account", got)
        return w, got["session"]

    def logged_out(self, w, wel, t, words, t0, bound=BOUND):
        """The browser w (its welcome wel) and the program t are told they
        are logged out, and are guests, within bound of t0; the times."""
        left = lambda: max(0.05, t0 + bound - time.monotonic())
        got = w.next_event(lambda e: e.get("type") == "account", left())
        self.assertEqual(got, {"type": "account", "nick": None})
        pid = wel["you"]["pid"]
        renamed = w.next_event(lambda e: e.get("type") == "nick" and e.get("pid") == pid, left())
        self.assertTrue(renamed["nick"].startswith("guest-"), renamed)
        web_s = time.monotonic() - t0
        line = t.wait_text(words + "; you are guest-", left())[-1][1]
        self.assertIn(words + "; you are guest-", line)
        return web_s, time.monotonic() - t0

    def session_over(self, session):
        """session logs in on neither gateway."""
        for gw in (self.a, self.b):
            u = WsClient(gw.http_port, subprotocol="wintalk.v2")
            self.clients.append(u)
            u.send_json({"type": "hello", "session": session})
            err = u.next_event(lambda e: e.get("type") in ("error", "welcome"), 15)
            self.assertEqual((err.get("code"), err.get("message")),
                             (530, "your session is over: log in again"), err)
            wel = u.next_event(lambda e: e.get("type") == "welcome", 15)
            self.assertNotIn("account", wel)

    def test_logout_everywhere_on_one_gateway_ends_the_others_at_once(self):
        _, session_a = self.register(self.a, "wanda", "hunter2")
        bw, bwel, session_b = self.browser(self.b, login=("wanda", "hunter2"))
        bt = self.prog(self.b, login=("wanda", "hunter2"))
        # A bystander on B logged in to another account stays as it is.
        self.register(self.b, "bob", "b0bpass")
        other = self.prog(self.b, login=("bob", "b0bpass"))
        at = self.prog(self.a, login=("wanda", "hunter2"))
        typed_line(at, "/logout all")
        at.wait_text("logged out: every session of the account was ended; you are guest-",
                     timeout=15)
        t0 = time.monotonic()  # done on A (the password hashes are not B's to wait for)
        web_s, tcp_s = self.logged_out(bw, bwel, bt, "logged out: every session of the "
                                       "account was ended", t0)
        print("logout all on A: B's browser out after %.3f s, its program after %.3f s"
              % (web_s, tcp_s))
        for session in (session_a, session_b):
            self.session_over(session)
        typed_line(other, "/whoami")
        other.wait_text("logged in to the account bob", timeout=15)

    def test_a_new_password_on_one_gateway_ends_the_others_at_once(self):
        aw, session_a = self.register(self.a, "wanda", "hunter2")
        bw, bwel, session_b = self.browser(self.b, login=("wanda", "hunter2"))
        bt = self.prog(self.b, login=("wanda", "hunter2"))
        aw.send_json({"type": "password", "old": "hunter2", "new": "s3cret", "ref": "pw"})
        got = aw.next_event(lambda e: e.get("ref") == "pw", 15)
        self.assertEqual((got["type"], got["nick"]), ("account", "wanda"), got)
        t0 = time.monotonic()  # done on A: its hashes are behind it
        fresh = got["session"]
        web_s, tcp_s = self.logged_out(bw, bwel, bt, "logged out: the account's password "
                                       "was changed", t0)
        print("a new password on A: B's browser out after %.3f s, its program after %.3f s"
              % (web_s, tcp_s))
        for session in (session_a, session_b):
            self.session_over(session)
        # The changer stays logged in on A, its own news come back included:
        # it says under its nick, and is told nothing of a logout.
        time.sleep(1.0)
        aw.send_json({"type": "say", "text": "still me"})
        seen = []
        while True:
            e = aw.next_event(None, 15)
            seen.append(e)
            if e.get("text") == "still me":
                break
        self.assertEqual(e["nick"], "wanda", e)
        self.assertEqual([e for e in seen if e.get("type") == "account"], [], seen)
        # Its new session logs in on B; the new password too.
        _, wel, _ = self.browser(self.b, session=fresh)
        self.assertEqual(wel.get("account"), "wanda")
        self.prog(self.b, login=("wanda", "s3cret"))

    def test_news_missed_while_the_subscription_was_down_end_the_session_when_back(self):
        self.register(self.a, "wanda", "hunter2")
        bt = self.prog(self.b, login=("wanda", "hunter2"))
        bw, bwel, _ = self.browser(self.b, login=("wanda", "hunter2"))
        # The generation moves on in Redis with no news (as if B's
        # subscription had been down when A published).
        key = "wintalk:account:" + "wanda".encode().hex()
        self.assertEqual(self.redis.command("HINCRBY", key, "generation", 1), 2)
        bt.drain(1.0)
        typed_line(bt, "/whoami")
        bt.wait_text("logged in to the account wanda", timeout=15)
        # B's subscription is cut; when it is back, B looks at its accounts.
        self.assertEqual(kill_subscription_of(self.redis, self.b), 1)
        t0 = time.monotonic()
        # Back within a second; without the look, the next walk of the
        # names (30 s after B started) would be the first to find it.
        web_s, tcp_s = self.logged_out(bw, bwel, bt, "logged out: every session of the "
                                       "account was ended", t0, 5.0)
        print("news missed: B's browser out %.3f s, its program %.3f s after the cut"
              % (web_s, tcp_s))


def kill_subscription_of(redis, gw):
    """CLIENT KILL the Redis connection of gw that is subscribed: found by
    gw's local ports (ss) among Redis' pub/sub clients. How many."""
    out = subprocess.run(["ss", "-Htnp", "state", "established",
                          "( dport = :%d )" % redis.port],
                         capture_output=True, text=True, check=True).stdout
    ports = {line.split()[2].rsplit(":", 1)[1] for line in out.splitlines()
             if "pid=%d," % gw.pid in line}
    killed = 0
    for c in redis.command("CLIENT", "LIST").decode().splitlines():
        f = dict(kv.split("=", 1) for kv in c.split() if "=" in kv)
        if "P" in f.get("flags", "") and f["addr"].rsplit(":", 1)[1] in ports:
            killed += redis.command("CLIENT", "KILL", "ID", f["id"])
    return killed


if __name__ == "__main__":
    unittest.main()
