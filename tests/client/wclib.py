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
SKIP = 77  # CTest's SKIP_RETURN_CODE


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
    """Counts checks; prints each, and fails at the end if any failed."""

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
        sys.exit(1 if self.failed else 0)


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
