#!/usr/bin/env python3
"""A site's own login against the real gateway (--jwt-key): browsers' hellos
carrying tokens signed here (HS256 by the openssl command's HMAC, RS256 and
ES256 by `openssl dgst -sign` with keys `openssl genpkey` made; the helpers
are test_jwt.py's).

Accepted: HS256, RS256, ES256: the account made on first sight and found on
the next, its nick reserved, the rooms claim joined, the admin claim shown.
Refused with 530 and the welcome of a guest: a token expired at the exact
boundary (exp = now with --jwt-leeway 0; exp = now - leeway with the
default), a tampered payload, `alg: none`, HS256 signed with the RSA public
key's PEM as its secret against an RS256 gateway, a wrong audience or
issuer. Closed registration still takes tokens' accounts. --admin (and
WINTALK_ADMIN) by a password login, a session and a token. A key that
cannot be used stops the start; a secret others may read is logged. A flood
of 200 bad tokens (one connection after another, and 200 hellos on one
connection) leaves a bystander's chat flowing, each connection's token
verified once (counted in wintalk_rejections_total{reason="jwt"}).
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from gwtest import Gateway, Redis, TcpClient, WsClient, default_web_root, http_get, typed_line
from test_jwt import Keys, part, token

BIN = os.environ["WINTALK_GATEWAY"]


def claims(**kw):
    c = {"sub": "user-1", "exp": int(time.time()) + 600}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


def readme_token(secret, user_id, nick, admin=False, rooms=()):
    """A token made as README's *Embedding in your site* makes it: Python's
    hmac and hashlib, json.dumps with its default separators."""
    import base64
    import hashlib
    import hmac

    def b64u_(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64u_(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64u_(json.dumps({"sub": user_id, "nick": nick, "exp": int(time.time()) + 300,
                             "admin": admin, "rooms": list(rooms)}).encode())
    sig = hmac.new(secret, (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64u_(sig)


def until_welcome(ws, timeout=15):
    """Every event up to and including the welcome (errors about the hello
    come before it); the welcome last."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no welcome; got %r" % out)
        evs = ws.recv_events(left)
        for i, ev in enumerate(evs):
            out.append(ev)
            if ev.get("type") == "welcome":
                # What came after it in the same write: for next_event.
                ws._backlog = evs[i + 1:]
                return out


def errors(events):
    return [(e["code"], e["message"]) for e in events if e.get("type") == "error"]


def rejections_jwt(gw):
    _, _, body = http_get(gw.http_port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith('wintalk_rejections_total{reason="jwt"} '):
            return int(line.split()[-1])
    raise AssertionError("no jwt rejections in /metrics")


class JwtLogin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="wt-jwtlogin-")
        cls.k = Keys(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.clients = []
        self.dir = tempfile.mkdtemp(prefix="wt-jwtlogin-data-")

    def tearDown(self):
        for c in self.clients:
            c.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def gateway(self, key, *args, env=None):
        d = tempfile.mkdtemp(dir=self.dir)
        return Gateway(args=("--data-dir", d, "--jwt-key", key) + args, env=env)

    def browser(self, gw):
        ws = WsClient(gw.http_port, subprotocol="wintalk.v2", timeout=15)
        self.clients.append(ws)
        return ws

    def hello(self, gw, tok, **extra):
        """A browser whose hello carries tok: (its client, the events up to
        its welcome)."""
        ws = self.browser(gw)
        msg = {"type": "hello", "jwt": tok}
        msg.update(extra)
        ws.send_json(msg)
        return ws, until_welcome(ws)

    def program(self, gw, nick=None):
        t = TcpClient(gw.tcp_port, timeout=15)
        self.clients.append(t)
        t.read_greeting()
        if nick:
            typed_line(t, "/nick " + nick)
            t.wait_text("is now " + nick)
        return t

    def assert_logged_in(self, events, nick):
        w = events[-1]
        self.assertEqual(errors(events), [], events)
        self.assertEqual(w["you"]["nick"], nick)
        self.assertEqual(w.get("account"), nick)

    def assert_guest(self, events, code, words):
        w = events[-1]
        errs = errors(events)
        self.assertEqual(len(errs), 1, events)
        self.assertEqual(errs[0][0], code, errs)
        self.assertIn(words, errs[0][1])
        self.assertTrue(w["you"]["nick"].startswith("guest-"), w["you"])
        self.assertNotIn("account", w)
        self.assertNotIn("admin", w["you"])

    def hs(self, c, secret=None):
        return token("HS256", c, secret if secret is not None else self.k.hs_secret)

    # ------------------------------------------------------------------

    def test_hs256_first_sight_second_sight_rooms_and_the_nick_kept(self):
        with self.gateway(self.k.hs) as gw:
            gw.wait_log("site tokens: HS256 signed by the key in " + self.k.hs)
            tok = self.hs(claims(sub="u-1", nick="Alice", rooms=["#team"]))
            ws, evs = self.hello(gw, tok, nick="mallory")
            self.assert_logged_in(evs, "Alice")
            joined = ws.next_event(lambda e: e.get("type") == "joined", 15)
            self.assertEqual(joined["room"], "#team")
            # Another device, the same site user: the same account, found.
            _, evs = self.hello(gw, self.hs(claims(sub="u-1", nick="alice")))
            self.assert_logged_in(evs, "Alice")
            # A token of another site user naming the same nick: refused.
            _, evs = self.hello(gw, self.hs(claims(sub="u-2", nick="Alice")))
            self.assert_guest(evs, 553, "this nick belongs to another account")
            # The nick is registered: a WINTALK program may not take it, nor
            # log in to it with any password.
            t = self.program(gw)
            typed_line(t, "/nick alice")
            t.wait_text("error 553: alice is registered", timeout=15)
            typed_line(t, "/identify alice jwt:u-1")
            t.wait_text("error 530: wrong nick or password", timeout=15)
            # A token made as README shows, by Python's hmac.
            ws, evs = self.hello(gw, readme_token(self.k.hs_secret, "u-9", "Zed",
                                                  rooms=["#team"]))
            self.assert_logged_in(evs, "Zed")
            self.assertEqual(ws.next_event(lambda e: e.get("type") == "joined", 15)["room"],
                             "#team")
            # No nick claim: the sub, when it is a nick.
            _, evs = self.hello(gw, self.hs(claims(sub="Bea")))
            self.assert_logged_in(evs, "Bea")
            _, evs = self.hello(gw, self.hs(claims(sub="user 7")))
            self.assert_guest(evs, 553, "the token names no nick and its sub is not one")

    def test_a_password_account_is_not_taken_by_a_token(self):
        with self.gateway(self.k.hs) as gw:
            t = self.program(gw, "carol")
            typed_line(t, "/register hunter2")
            t.wait_text("registered and logged in as carol", timeout=30)
            _, evs = self.hello(gw, self.hs(claims(sub="carol", nick="Carol")))
            self.assert_guest(evs, 553, "this nick is registered with a password")

    def test_expiry_at_the_exact_boundary(self):
        with self.gateway(self.k.hs, "--jwt-leeway", "0") as gw:
            now = int(time.time())
            # Valid only before exp: exp = now is over (the gateway's now is
            # at least the test's).
            _, evs = self.hello(gw, self.hs(claims(exp=now)))
            self.assert_guest(evs, 530, "the token expired")
            _, evs = self.hello(gw, self.hs(claims(exp=now - 1)))
            self.assert_guest(evs, 530, "the token expired")
            _, evs = self.hello(gw, self.hs(claims(sub="dan", exp=int(time.time()) + 60)))
            self.assert_logged_in(evs, "dan")
        # The default leeway (60 s): exp = now - 60 is over, now - 30 is not.
        with self.gateway(self.k.hs) as gw:
            _, evs = self.hello(gw, self.hs(claims(sub="eve", exp=int(time.time()) - 60)))
            self.assert_guest(evs, 530, "(leeway 60 s)")
            _, evs = self.hello(gw, self.hs(claims(sub="eve", exp=int(time.time()) - 30)))
            self.assert_logged_in(evs, "eve")

    def test_tampered_none_and_another_key(self):
        with self.gateway(self.k.hs) as gw:
            good = self.hs(claims(sub="fay", nick="fay"))
            head, body, sig = good.split(".")
            # The payload changed (an admin claim added), the signature kept.
            forged = head + "." + part(claims(sub="fay", nick="fay", admin=True)) + "." + sig
            _, evs = self.hello(gw, forged)
            self.assert_guest(evs, 530, "the signature does not verify")
            # alg none, with and without a signature.
            nohead = part({"alg": "none", "typ": "JWT"})
            for t in (nohead + "." + body + ".", nohead + "." + body + "." + sig):
                _, evs = self.hello(gw, t)
                self.assert_guest(evs, 530, "\"none\"")
            # Signed with another secret.
            _, evs = self.hello(gw, self.hs(claims(sub="fay"), self.k.hs2_secret))
            self.assert_guest(evs, 530, "the signature does not verify")
            # Not a token at all; a token longer than its bound.
            _, evs = self.hello(gw, "not.a.token")
            self.assert_guest(evs, 530, "not a JWT")
            _, evs = self.hello(gw, "a" * 5000)
            self.assert_guest(evs, 530, "at most 4096")
            # The good one still logs in: nothing above made fay.
            _, evs = self.hello(gw, good)
            self.assert_logged_in(evs, "fay")
            self.assertNotIn("admin", evs[-1]["you"])

    def test_rs256_and_the_classic_forgery(self):
        with self.gateway(self.k.rsa_pub) as gw:
            gw.wait_log("site tokens: RS256")
            _, evs = self.hello(gw, token("RS256", claims(sub="gil"), self.k.rsa))
            self.assert_logged_in(evs, "gil")
            # HS256 whose secret is the gateway's RSA public key (public).
            with open(self.k.rsa_pub, "rb") as f:
                pem = f.read()
            for secret in (pem, pem.rstrip(b"\n")):
                _, evs = self.hello(gw, token("HS256", claims(sub="gil", admin=True), secret))
                self.assert_guest(evs, 530, "this gateway takes RS256 only")
            # Another RSA key's token.
            _, evs = self.hello(gw, token("RS256", claims(sub="gil"), self.k.rsa2))
            self.assert_guest(evs, 530, "the signature does not verify")
        with self.gateway(self.k.ec_pub) as gw:
            _, evs = self.hello(gw, token("ES256", claims(sub="hal"), self.k.ec))
            self.assert_logged_in(evs, "hal")
            _, evs = self.hello(gw, token("RS256", claims(sub="hal"), self.k.rsa))
            self.assert_guest(evs, 530, "this gateway takes ES256 only")

    def test_issuer_and_audience(self):
        with self.gateway(self.k.hs, "--jwt-issuer", "https://site.example",
                          "--jwt-audience", "chat") as gw:
            good = claims(sub="ivy", iss="https://site.example", aud=["web", "chat"])
            _, evs = self.hello(gw, self.hs(dict(good, aud="other")))
            self.assert_guest(evs, 530, "audience (aud)")
            _, evs = self.hello(gw, self.hs(dict(good, aud=None)))
            self.assert_guest(evs, 530, "audience (aud)")
            _, evs = self.hello(gw, self.hs(dict(good, iss="https://evil.example")))
            self.assert_guest(evs, 530, "issuer (iss)")
            _, evs = self.hello(gw, self.hs(good))
            self.assert_logged_in(evs, "ivy")

    def test_closed_registration_takes_tokens(self):
        with self.gateway(self.k.hs, "--registration", "closed") as gw:
            t = self.program(gw, "jon")
            typed_line(t, "/register pw")
            t.wait_text("error 530: registration is closed", timeout=15)
            _, evs = self.hello(gw, self.hs(claims(sub="s-jon", nick="jon")))
            self.assert_logged_in(evs, "jon")

    def test_administrators(self):
        with self.gateway(self.k.hs, "--admin", "Kim", "--admin", "root",
                          env={"WINTALK_ADMIN": "ignored-when-flags-given"}) as gw:
            gw.wait_log("administrators: 2 accounts named by --admin")
            # A password login (a WINTALK program).
            t = self.program(gw, "kim")
            typed_line(t, "/whoami")
            t.wait_text("you are kim, a guest (not logged in)", timeout=15)
            typed_line(t, "/register pw-kim")
            t.wait_text("registered and logged in as kim", timeout=30)
            typed_line(t, "/whoami")
            t.wait_text("you are kim, logged in to the account kim, a gateway administrator",
                        timeout=15)
            # A browser's password login, then its session on a reload.
            ws = self.browser(gw)
            ws.send_json({"type": "hello"})
            w = until_welcome(ws)[-1]
            self.assertNotIn("admin", w["you"])
            ws.send_json({"type": "login", "nick": "KIM", "password": "pw-kim"})
            acct = ws.next_event(lambda e: e.get("type") in ("account", "error"), 30)
            self.assertEqual(acct["type"], "account", acct)
            ws2 = self.browser(gw)
            ws2.send_json({"type": "hello", "session": acct["session"]})
            evs = until_welcome(ws2)
            self.assert_logged_in(evs, "kim")
            self.assertIs(evs[-1]["you"].get("admin"), True)
            # A token: named by --admin, or with the admin claim.
            _, evs = self.hello(gw, self.hs(claims(sub="r", nick="Root")))
            self.assertIs(evs[-1]["you"].get("admin"), True)
            _, evs = self.hello(gw, self.hs(claims(sub="l", nick="lee", admin=True)))
            self.assertIs(evs[-1]["you"].get("admin"), True)
            _, evs = self.hello(gw, self.hs(claims(sub="l", nick="lee")))
            self.assert_logged_in(evs, "lee")
            self.assertNotIn("admin", evs[-1]["you"])
        # WINTALK_ADMIN, comma-separated, without flags.
        with self.gateway(self.k.hs, env={"WINTALK_ADMIN": "max, ned"}) as gw:
            _, evs = self.hello(gw, self.hs(claims(sub="n", nick="Ned")))
            self.assertIs(evs[-1]["you"].get("admin"), True)
            _, evs = self.hello(gw, self.hs(claims(sub="o", nick="olaf")))
            self.assertNotIn("admin", evs[-1]["you"])

    def test_the_account_and_its_sub_are_kept(self):
        """SQLite across a restart; Redis across gateways: the account a
        token made keeps its sub (and no password) in the store."""
        d = tempfile.mkdtemp(dir=self.dir)
        args = ("--data-dir", d, "--jwt-key", self.k.hs)
        with Gateway(args=args) as gw:
            _, evs = self.hello(gw, self.hs(claims(sub="s-pia", nick="Pia")))
            self.assert_logged_in(evs, "Pia")
        with Gateway(args=args) as gw:
            _, evs = self.hello(gw, self.hs(claims(sub="s-pia", nick="pia")))
            self.assert_logged_in(evs, "Pia")
            _, evs = self.hello(gw, self.hs(claims(sub="s-pia2", nick="pia")))
            self.assert_guest(evs, 553, "this nick belongs to another account")
            t = self.program(gw)
            typed_line(t, "/identify pia s-pia")
            t.wait_text("error 530: wrong nick or password", timeout=15)
        redis = Redis()
        try:
            rargs = ("--store", "redis", "--redis", redis.url, "--jwt-key", self.k.hs)
            with Gateway(args=rargs) as a, Gateway(args=rargs) as b:
                _, evs = self.hello(a, self.hs(claims(sub="s-quin", nick="Quin")))
                self.assert_logged_in(evs, "Quin")
                # Quin stays on a. b takes the second device as the same
                # person once a's list of its participants (sent every 5 s)
                # says Quin there is logged in to the account; before that
                # the nick is taken there (553) and b's browser a guest.
                deadline = time.monotonic() + 20
                while True:
                    ws, evs = self.hello(b, self.hs(claims(sub="s-quin", nick="quin")))
                    if not errors(evs) or time.monotonic() > deadline:
                        break
                    self.assertEqual(errors(evs), [(553, 'nick "Quin" is taken')])
                    # A guest then, not logged in under a guest's name.
                    self.assertNotIn("account", evs[-1])
                    ws.close()
                    time.sleep(0.5)
                self.assert_logged_in(evs, "Quin")
                _, evs = self.hello(b, self.hs(claims(sub="s-other", nick="quin")))
                self.assert_guest(evs, 553, "this nick belongs to another account")
        finally:
            redis.stop()

    def test_help_names_the_flags(self):
        out = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30).stdout
        for flag, var in (("--jwt-key FILE", "WINTALK_JWT_KEY (none)"),
                          ("--jwt-issuer ISS", "WINTALK_JWT_ISSUER (any)"),
                          ("--jwt-audience AUD", "WINTALK_JWT_AUDIENCE (any)"),
                          ("--jwt-leeway S", "WINTALK_JWT_LEEWAY (60)"),
                          ("--admin ACCOUNT", "WINTALK_ADMIN (none)")):
            self.assertIn(flag, out)
            self.assertIn(var, out)
        # The text is whole: its last line is there.
        self.assertIn("SIGTERM or SIGINT stops the gateway", out)

    def test_a_key_that_cannot_be_used_stops_the_start(self):
        bad = os.path.join(self.dir, "open.key")
        with open(bad, "w") as f:
            f.write("x" * 64)
        os.chmod(bad, 0o666)
        short = os.path.join(self.dir, "short.key")
        with open(short, "w") as f:
            f.write("too-short")
        os.chmod(short, 0o600)
        for key, words in ((bad, "writable"), (short, "at least 32"),
                           (os.path.join(self.dir, "none.key"), "No such file")):
            p = subprocess.run([BIN, "--bind", "127.0.0.1", "--tcp-port", "0", "--http-port", "0",
                                "--web-root", default_web_root(), "--data-dir", self.dir,
                                "--jwt-key", key],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(b"wintalk-gateway: --jwt-key: ", p.stderr)
            self.assertIn(words.encode(), p.stderr)
        p = subprocess.run([BIN, "--jwt-audience", "x"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"need --jwt-key", p.stderr)
        p = subprocess.run([BIN, "--admin", "not a name"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--admin: 'not a name' is not an account's name", p.stderr)
        # A secret others may read: the gateway starts and says so.
        shared = os.path.join(self.dir, "shared.key")
        with open(shared, "w") as f:
            f.write("s" * 64)
        os.chmod(shared, 0o644)
        with self.gateway(shared) as gw:
            gw.wait_log("site tokens: ")
            gw.wait_log("site tokens: JWT key %s: an HMAC secret others may read" % shared)

    def test_a_flood_of_bad_tokens_leaves_the_chat_flowing(self):
        n = 200
        with self.gateway(self.k.rsa_pub, "--max-per-address", "64") as gw:
            talker, listener = self.browser(gw), self.browser(gw)
            talker.send_json({"type": "hello", "nick": "talker"})
            until_welcome(talker)
            listener.send_json({"type": "hello", "nick": "listener"})
            until_welcome(listener)
            # Well-formed RS256 tokens whose signature is another key's: each
            # one costs the gateway a real signature check.
            bad = token("RS256", claims(sub="mal"), self.k.rsa2)
            before = rejections_jwt(gw)
            said = []
            done = threading.Event()

            def talk():
                i = 0
                while not done.is_set() and i < 400:
                    text = "line %d" % i
                    talker.send_json({"type": "say", "text": text})
                    said.append(text)
                    i += 1
                    time.sleep(0.01)

            th = threading.Thread(target=talk, daemon=True)
            th.start()
            try:
                # One connection after another, each a bad token.
                for i in range(n):
                    ws = WsClient(gw.http_port, subprotocol="wintalk.v2", timeout=15)
                    ws.send_json({"type": "hello", "jwt": bad, "nick": "x"})
                    evs = until_welcome(ws)
                    self.assertEqual(errors(evs)[0][0], 530)
                    ws.close()
                # One connection, n hellos: the token is looked at once.
                ws = self.browser(gw)
                for i in range(n):
                    ws.send_json({"type": "hello", "jwt": bad})
                until_welcome(ws)
            finally:
                done.set()
                th.join(10)
            talker.send_json({"type": "say", "text": "after the flood"})
            said.append("after the flood")
            got = []
            deadline = time.monotonic() + 30
            while "after the flood" not in got and time.monotonic() < deadline:
                for ev in listener.recv_events(deadline - time.monotonic()):
                    if ev.get("type") == "message" and ev.get("nick") == "talker":
                        got.append(ev["text"])
            # Every line arrived, in order.
            self.assertEqual(got, said)
            # Each connection's token checked once: n + 1 refusals.
            self.assertEqual(rejections_jwt(gw) - before, n + 1)
            # ... and the other hellos refused as hellos sent already.
            refused = []
            while len(refused) < n - 1:
                ev = ws.next_event(lambda e: e.get("type") == "error", 15)
                refused.append((ev["code"], ev["message"]))
            self.assertEqual(set(refused), {(503, "hello was already sent")})


if __name__ == "__main__":
    unittest.main(verbosity=2)
