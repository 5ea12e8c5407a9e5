"""The seed's own .NET program against a real gateway, used as a person uses
it: it registers, closes, is kept from a registered nick, comes back, logs
in, and finds the private messages sent while it was away; at the login
after that, they are not given again.

The program is the one the 2010 tutorial prints (its entry point, which
reads `/C ADDRESS PORT` from its command line, and its Talker class, which
sends an A or R frame at every change of the text typed): extracted from the
seed's text at test time by seed_extract.py, given the window of
TalkForm.cs (the tutorial does not print one), compiled with Mono's mcs and
run under Xvfb. xdotool types into its text box key by key; what it shows is
read from its received pane through the X clipboard (select all, copy); a
relay of ours between it and the gateway keeps every byte both ways, so the
test also checks that what reached the gateway is a frame per keystroke.

Where the seed is: $WINTALK_SEED, else ../shared/seed/ beside the repository.
Without it the test says so and exits 77, which CTest reports as skipped.
Without Mono, Xvfb, xdotool or xclip it fails (scripts/deps.sh seed installs
them). PNGs of its window (back and logged in; at the next login) are
written to $SEED_ARTIFACTS (CTest: the build's tests/mono/artifacts/) and
their paths printed.
"""
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))

from gwtest import Gateway, TcpClient, WsClient, typed_line  # noqa: E402
import seeddesk  # noqa: E402

SKIPPED = 77
# The whole test ends by itself well within CTest's timeout (300 s).
BOUND_S = 240

NICK, PASSWORD = "sofia", "hunter22"
OTHER, OTHER_PASSWORD = "ramon", "s3cret-ramon"
# How long the third login is watched for messages given again.
SETTLE_S = 2
KEPT = ["first of three", "second of three", "third of three"]
FROM_BROWSER = "and one from a browser"


# What Enter adds to the text box: Mono's TextBox on Linux ends a line with
# "\n" (Windows' with "\r\n"); the gateway takes either.
ENTER = b"\n"


def typed_frames(lines):
    """The bytes the seed's program sends for lines typed into an empty box
    key by key, each ended with Enter: one A frame a key (the box's text
    grows by one character at a time), Enter's line end one more."""
    out = b""
    for line in lines:
        for ch in line:
            out += b"A1:" + ch.encode()
        out += b"A%d:%s" % (len(ENTER), ENTER)
    return out


class SeedProgram(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Missing tools fail the test (the suite never shrinks quietly).
        missing = [t for t in ("mcs", "mono", "Xvfb", "xdotool", "xclip", "xwd")
                   if not shutil.which(t)]
        if missing:
            raise RuntimeError("missing %s: scripts/deps.sh seed installs them" % missing)
        cls.tmp = tempfile.mkdtemp(prefix="wt-seed-")
        cls.artifacts = os.environ.get("SEED_ARTIFACTS") or cls.tmp
        os.makedirs(cls.artifacts, exist_ok=True)
        try:
            cls.exe = seeddesk.build_program(SEED, cls.tmp)
            cls.desk = seeddesk.Desktop(cls.tmp)
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        print("seed program: display %s, files in %s" % (cls.desk.display, cls.tmp))

    @classmethod
    def tearDownClass(cls):
        cls.desk.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.closers = []

    def tearDown(self):
        # Every closer runs, whatever the one before it raised.
        errors = []
        for c in reversed(self.closers):
            try:
                c()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise errors[0]

    def program(self, n):
        p = self.desk.program(self.exe, ["/C", "127.0.0.1", str(self.relay.port)],
                              os.path.join(self.tmp, "program-%d.log" % n))
        self.closers.append(p.close)
        # Its window comes before its connection: the gateway's greeting
        # shows when the Talker has read the handshake and the priming.
        p.wait_pane("* you are in #lobby", timeout=30)
        return p

    def tcp(self, nick):
        t = TcpClient(self.gw.tcp_port, timeout=15)
        self.closers.append(t.close)
        t.read_greeting()
        typed_line(t, "/nick " + nick)
        t.wait_text("is now " + nick)
        return t

    def browser(self, nick):
        w = WsClient(self.gw.http_port, subprotocol="wintalk.v2", timeout=15)
        self.closers.append(w.close)
        w.send_json({"type": "hello", "nick": nick})
        events = []
        welcome = w.next_event(lambda e: events.append(e) or e.get("type") == "welcome", 15)
        return w, welcome, events

    def check_typed(self, conn, lines):
        """What the program sent is one frame a keystroke of those lines,
        nothing else; and it got the handshake and the priming first."""
        self.assertTrue(conn.down.startswith(b"WINTALK .NETR0:R0:R0:R0:"), bytes(conn.down[:40]))
        self.assertEqual(bytes(conn.up), typed_frames(lines))

    def test_register_be_kept_from_a_nick_identify_and_get_what_was_kept(self):
        self.gw = Gateway(args=("--data-dir", os.path.join(self.tmp, "data")))
        self.closers.append(self.gw.stop)
        self.relay = seeddesk.Relay(self.gw.tcp_port)
        self.closers.append(self.relay.close)

        # 1. The seed's program takes a nick and registers it.
        first = self.program(1)
        lines1 = ["/nick " + NICK, "/register " + PASSWORD, "/whoami"]
        first.type_line(lines1[0])
        first.wait_pane("is now %s\r\n" % NICK)
        first.type_line(lines1[1])
        first.wait_pane("* registered and logged in as %s\r\n" % NICK)
        first.type_line(lines1[2])
        first.wait_pane("you are %s, logged in to the account %s" % (NICK, NICK))
        self.check_typed(self.relay.conns[0], lines1)

        # 2. It closes. Its nick is nobody else's: not a browser's at hello,
        # not a TCP guest's by /nick.
        first.close()
        self.assertTrue(self.relay.conns[0].closed.wait(10), "the relay saw no close")
        self.gw.wait_log("nick=%s reason=" % NICK, 10)
        w, welcome, events = self.browser(NICK.upper())
        refused = [e for e in events if e.get("type") == "error"]
        self.assertEqual([e.get("code") for e in refused], [553], events)
        self.assertTrue(welcome["you"]["nick"].startswith("guest-"), welcome["you"])
        tomas = self.tcp("tomas")
        typed_line(tomas, "/nick " + NICK)
        tomas.wait_text("error 553: %s is registered: log in with /identify %s PASSWORD"
                        % (NICK, NICK), timeout=15)

        # Someone else's account, for the seed's program to be kept from.
        r, _, _ = self.browser(OTHER)
        r.send_json({"type": "register", "password": OTHER_PASSWORD, "ref": "reg"})
        got = r.next_event(lambda e: e.get("ref") == "reg", 15)
        self.assertEqual((got["type"], got.get("nick")), ("account", OTHER), got)

        # 3. While it is away: three private lines from a TCP program and
        # one from a browser, each kept for it.
        for text in KEPT:
            typed_line(tomas, "/msg %s %s" % (NICK, text))
            tomas.wait_text("%s is away: the message is kept for them" % NICK, timeout=15)
        r.send_json({"type": "msg", "to": NICK, "text": FROM_BROWSER, "ref": "pm"})
        got = r.next_event(lambda e: e.get("ref") == "pm" or e.get("kept"), 15)
        self.assertTrue(got.get("kept"), got)
        # Its owner gone too, only the registration keeps OTHER's nick.
        r.close()

        # 4. It comes back: a new process, a guest. It is kept from a nick
        # someone else registered, a wrong password gets it nothing, its
        # own password logs it in, and it is shown what was kept, in order.
        second = self.program(2)
        lines2 = ["/nick " + OTHER, "/identify %s wrong-password" % NICK,
                  "/identify %s %s" % (NICK, PASSWORD), "/whoami"]
        second.type_line(lines2[0])
        second.wait_pane("%s is registered: log in with /identify %s PASSWORD"
                         % (OTHER, OTHER))
        second.type_line(lines2[1])
        second.wait_pane("* error 530: wrong nick or password\r\n")
        second.type_line(lines2[2])
        kept_lines = ["* tomas -> you (while you were away): " + t for t in KEPT]
        kept_lines.append("* %s -> you (while you were away): %s" % (OTHER, FROM_BROWSER))
        shown = second.wait_pane(kept_lines[-1])
        self.assertIn("* logged in as %s\r\n" % NICK, shown)
        self.assertRegex(shown, r"\* guest-\d+ is now %s\r\n" % NICK)
        at = [shown.find(line + "\r\n") for line in kept_lines]
        self.assertNotIn(-1, at, shown)
        self.assertEqual(at, sorted(at), shown)
        for line in kept_lines:
            self.assertEqual(shown.count(line), 1, shown)
        self.assertNotIn("is now %s\r\n" % OTHER, shown)
        second.type_line(lines2[3])
        second.wait_pane("you are %s, logged in to the account %s" % (NICK, NICK))
        # Logged in, it is reached at once.
        typed_line(tomas, "/msg %s welcome back" % NICK)
        shown = second.wait_pane("* tomas -> you: welcome back\r\n")
        for line in kept_lines:
            self.assertEqual(shown.count(line), 1, shown)
        self.check_typed(self.relay.conns[1], lines2)
        shot = second.shot(os.path.join(self.artifacts, "seed_program_back.png"))
        print("seed program: its window back, logged in: " + shot)
        second.close()

        # 5. What was kept was given once: the next login finds nothing
        # waiting. (The kept messages come from the store a moment after a
        # login, so nothing shown SETTLE_S after /whoami's answer is what
        # a login that was given them again would show.)
        third = self.program(3)
        lines3 = ["/identify %s %s" % (NICK, PASSWORD), "/whoami"]
        third.type_line(lines3[0])
        third.wait_pane("* logged in as %s\r\n" % NICK)
        third.type_line(lines3[1])
        third.wait_pane("you are %s, logged in to the account %s" % (NICK, NICK))
        time.sleep(SETTLE_S)
        shown = third.pane()
        self.assertNotIn("while you were away", shown)
        self.check_typed(self.relay.conns[2], lines3)
        shot = third.shot(os.path.join(self.artifacts, "seed_program_next_login.png"))
        print("seed program: its window at the next login: " + shot)
        third.close()


def bound(signum, frame):
    raise TimeoutError("test_seed_program: not done within %d s" % BOUND_S)


SEED = seeddesk.seed_path()

if __name__ == "__main__":
    if SEED is None:
        words = ("*" * 72 + "\nSKIPPED: the seed's text was not found at %s.\n"
                 "Set WINTALK_SEED to %s, or put the shared/ folder beside the repository\n"
                 "(../shared/seed/). The seed's .NET program was NOT run.\n" + "*" * 72)
        words %= (" nor ".join(seeddesk.seed_places()), seeddesk.SEED_NAME)
        print(words)
        print(words, file=sys.stderr)
        sys.exit(SKIPPED)
    signal.signal(signal.SIGALRM, bound)
    signal.alarm(BOUND_S)
    unittest.main(verbosity=2)
