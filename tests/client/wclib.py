"""wclib: helpers for the wintalk client's integration tests.

Standard library only. Everything listens on 127.0.0.1, every wait has a
deadline, and only processes a test started are stopped, by their PID.
"""

import argparse
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

HANDSHAKE = b"WINTALK .NET"
PRIMING = b"R0:R0:R0:R0:"


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--wintalk", required=True)
    p.add_argument("--build-dir", default="")
    return p.parse_args()


def frame(op, text):
    """One WINTALK frame: the length counts UTF-16 code units."""
    units = len(text.encode("utf-16-le")) // 2
    return op.encode() + str(units).encode() + b":" + text.encode("utf-8")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Check:
    """Counts checks; prints each, and fails at the end if any failed, or
    if none ran (a script that checked nothing proves nothing)."""

    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0

    def __call__(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok   {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {what} {detail}", flush=True)
        return cond

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        if self.passed + self.failed == 0:
            print(f"FAIL {self.name}: no check ran", flush=True)
        sys.exit(1 if self.failed or self.passed + self.failed == 0 else 0)


class Proc:
    """A wintalk (or other) process with piped stdin/stdout/stderr."""

    def __init__(self, argv, env=None, stdin=True):
        e = dict(os.environ)
        e.setdefault("LC_ALL", "C.UTF-8")
        if env:
            e.update(env)
        self.p = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=e,
        )
        self.out = b""
        self.err = b""
        os.set_blocking(self.p.stdout.fileno(), False)
        os.set_blocking(self.p.stderr.fileno(), False)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def close_stdin(self):
        self.p.stdin.close()

    def _pump(self, timeout):
        sel = selectors.DefaultSelector()
        for f in (self.p.stdout, self.p.stderr):
            if not f.closed:
                sel.register(f, selectors.EVENT_READ)
        if not sel.get_map():
            time.sleep(timeout)
            return
        for key, _ in sel.select(timeout):
            try:
                chunk = os.read(key.fileobj.fileno(), 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                continue
            if key.fileobj is self.p.stdout:
                self.out += chunk
            else:
                self.err += chunk
        sel.close()

    def wait_out(self, needle, timeout=5.0, err=False):
        """Wait until stdout (or stderr) holds needle; returns whether it did."""
        if isinstance(needle, str):
            needle = needle.encode()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in (self.err if err else self.out):
                return True
            if self.p.stdout.closed and self.p.stderr.closed:
                break
            self._pump(0.05)
        return needle in (self.err if err else self.out)

    def wait_exit(self, timeout=10.0):
        """The exit status, or None if it did not end in time (then killed)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self._pump(0.05)
            rc = self.p.poll()
            if rc is not None:
                self._pump(0.05)
                self._pump(0)
                return rc
        self.kill()
        return None

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait(5)


class RawPeer:
    """A raw TCP peer on 127.0.0.1: a listener taking one caller, or a caller."""

    def __init__(self, port=None):
        self.ls = None
        self.s = None
        if port is not None:
            self.ls = socket.socket()
            self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.ls.bind(("127.0.0.1", port))
            self.ls.listen(1)
        self.got = b""

    def accept(self, timeout=5.0):
        self.ls.settimeout(timeout)
        self.s, _ = self.ls.accept()
        self.s.settimeout(timeout)
        return self.s

    def connect(self, port, timeout=5.0):
        end = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=1)
                self.s.settimeout(timeout)
                return self.s
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def send(self, data):
        self.s.sendall(data)

    def read_until(self, needle, timeout=5.0):
        end = time.monotonic() + timeout
        while needle not in self.got and time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            self.got += chunk
        return needle in self.got

    def read_to_eof(self, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, OSError):
                return False
            if not chunk:
                return True
            self.got += chunk
        return False

    def close(self):
        for s in (self.s, self.ls):
            if s is not None:
                s.close()


def make_pki(folder, timeout=30):
    """A throwaway CA and three certificates it signs, made with the openssl
    command line in folder (EC P-256 keys: quick, also under sanitizers):
      ca.pem                          the CA
      server.pem / server.key         for localhost and 127.0.0.1
      other.pem / other.key           for other.invalid only (a wrong name)
    plus selfsigned.pem / selfsigned.key, for localhost and 127.0.0.1 but
    signed by nobody. Returns a dict of those paths by name (ca, server_cert,
    server_key, other_cert, other_key, self_cert, self_key)."""
    def run(*argv):
        subprocess.run(["openssl", *argv], cwd=folder, check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=wintalk test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, san in (("server", "DNS:localhost,IP:127.0.0.1"), ("other", "DNS:other.invalid")):
        with open(os.path.join(folder, name + ".ext"), "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + ("localhost" if name == "server" else "other.invalid"))
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
    run("req", "-x509", *ec, "-keyout", "selfsigned.key", "-out", "selfsigned.pem",
        "-days", "2", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    p = lambda n: os.path.join(folder, n)  # noqa: E731
    return {"ca": p("ca.pem"), "server_cert": p("server.pem"), "server_key": p("server.key"),
            "other_cert": p("other.pem"), "other_key": p("other.key"),
            "self_cert": p("selfsigned.pem"), "self_key": p("selfsigned.key")}


class TlsPeer(RawPeer):
    """A WINTALK peer over TLS on 127.0.0.1 (Python's ssl module): a
    listener that takes one caller and does the TLS handshake, or a caller.
    tls_max (an ssl.TLSVersion) caps the versions it speaks; handshake_error
    holds what went wrong when the handshake failed."""

    def __init__(self, port=None, cert=None, key=None, ca=None, tls_min=None, tls_max=None):
        import ssl
        super().__init__(port)
        self.handshake_error = None
        if cert is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        else:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if ca is not None:
                self.ctx.load_verify_locations(ca)
            else:
                self.ctx.check_hostname = False
                self.ctx.verify_mode = ssl.CERT_NONE
        if tls_min is not None or tls_max is not None:
            # Old versions need the lowest security level in OpenSSL 3.
            self.ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if tls_min is not None:
            self.ctx.minimum_version = tls_min
        if tls_max is not None:
            self.ctx.maximum_version = tls_max

    def accept(self, timeout=5.0):
        """Accept and do the handshake: the TLS socket, or None when the
        handshake failed (the reason in handshake_error)."""
        import ssl
        self.ls.settimeout(timeout)
        raw, _ = self.ls.accept()
        raw.settimeout(timeout)
        try:
            self.s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.handshake_error = e
            raw.close()
            self.s = None
        return self.s

    def connect(self, port, timeout=5.0, server_hostname="localhost"):
        raw = RawPeer.connect(self, port, timeout)
        self.s = self.ctx.wrap_socket(raw, server_hostname=server_hostname)
        return self.s


def require(ok, what):
    """Stop the test as failed, saying what is missing, unless ok. The test
    command installs everything these tests use, so nothing is skipped."""
    if not ok:
        print(f"{what}: run scripts/deps.sh build test, then build again", file=sys.stderr)
        sys.exit(1)


def ws_wait(ws, pred, timeout=5.0):
    """The next WebSocket event (wtlib.WsClient) for which pred holds, or None."""
    try:
        return ws.next_event(pred, timeout)
    except (TimeoutError, OSError, ConnectionError):
        return None


def is_message(text, nick=None):
    return lambda e: (e.get("type") == "message" and e.get("text") == text
                      and (nick is None or e.get("nick") == nick))


class Tmux:
    """A private tmux server (its own socket name) running one session, "w"."""

    def __init__(self, sock):
        self.sock = sock
        self.env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")

    def __call__(self, *a):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *a], env=self.env,
                              capture_output=True, text=True, timeout=10).stdout

    def screen(self):
        return self("capture-pane", "-p", "-t", "w")

    def wait_screen(self, needle, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.screen():
                return True
            time.sleep(0.05)
        return False
