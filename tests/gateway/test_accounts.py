"""Accounts against the real gateway, typed by a WINTALK program as the
original .NET one types (a frame per key): /register, /identify, /logout,
a registered nick kept for its owner, the same words for a failed login
whether or not the account exists, accounts kept across a restart, and
closed registration with the account made by `wintalk-gateway account
add` while the gateway runs."""
import os
import shutil
import subprocess
import tempfile
import unittest

from gwtest import Gateway, TcpClient, WsClient, typed_line

BIN = os.environ["WINTALK_GATEWAY"]


def program(gw, nick=None):
    t = TcpClient(gw.tcp_port)
    t.read_greeting()
    if nick:
        typed_line(t, "/nick " + nick)
        t.wait_text("is now " + nick)
    return t


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

    def test_help_names_the_account_commands(self):
        with self.gateway() as gw:
            a = self.prog(gw)
            typed_line(a, "/help")
            line = a.wait_text("commands:")[-1][1]
            for cmd in ("/register PASSWORD", "/identify NICK PASSWORD", "/logout", "/login KEY"):
                self.assertIn(cmd, line)


if __name__ == "__main__":
    unittest.main()
