"""wtlib: test helpers for wintalk-gateway and its clients. Python 3 stdlib only.

Everything talks to 127.0.0.1 only, and every wait has a timeout.

Gateway process
    gw = Gateway(binary=None, web_root=None, args=(), env=None)
        Starts wintalk-gateway on free ports (--tcp-port 0 --http-port 0,
        --bind 127.0.0.1; --rate 0, --typing-rate 0 and --read-rate 0 unless args
        give them)
        and waits for its "listening" log line. binary defaults to $WINTALK_GATEWAY, else the
        first build*/gateway/wintalk-gateway found under the repo. web_root
        defaults to a temporary folder with index.html, app.js, style.css.
        Use as a context manager, or call gw.stop().
    gw.tcp_port, gw.http_port, gw.pid, gw.web_root
    gw.tls_port                   WINTALK-over-TLS port, or None without --tls-cert
    gw.log_text() -> str          everything the gateway logged so far
    gw.wait_log(substring, timeout=5) -> str   wait for a log line
    gw.rss_kb() -> int            VmRSS from /proc/PID/status
    gw.stop(sig=SIGTERM, timeout=5) -> exit code (kills by PID if it hangs)

WINTALK over TCP
    units(s) -> int               UTF-16 code units of s
    frame(op, text) -> bytes      b"A<n>:text" / b"R<n>:text"
    FrameParser().feed(bytes) -> [(op, text), ...]   incremental, UTF-16 counts
    c = TcpClient(port, timeout=5, ssl_context=None)   (TLS when given a context)
    c.read_exact(n) -> bytes      raw bytes (for the handshake)
    c.read_greeting() -> (first24, (op, text))   handshake+priming, then the R
    c.send(bytes) / c.send_frame(op, text)
    c.type_chars(text)            one A frame per character (live typing)
    c.send_line(text)             A frame with text + "\\r\\n"
    c.read_frame(timeout=5) -> (op, text)   raises TimeoutError
    c.wait_text(substring, timeout=5) -> [(op, text), ...] frames up to the one
                                  whose text contains substring
    c.view                        what a WinTalk pane would show now
    c.close()

WebSocket (RFC 6455 client, subprotocol wintalk.v1 by default)
    w = WsClient(port, path="/", subprotocol="wintalk.v1", origin=None, timeout=5,
                 ssl_context=None)    wss:// when given an ssl.SSLContext
    w.status, w.headers           of the HTTP upgrade answer
    w.send_json(obj) / w.send_text(str) / w.send_frame(opcode, payload, fin=True)
    w.recv(timeout=5) -> ("text", str) | ("binary", bytes) | ("close", code, reason)
    w.recv_events(timeout=5) -> [obj, ...]   one message, a JSON array flattened
    w.next_event(pred=None, timeout=5) -> obj  first event matching pred
    w.hello(nick=None, last_id=None, key=None, epoch=None) -> welcome object
    w.close(code=1000)
    WsRefused is raised when the upgrade is not 101.

Redis (Debian's redis-server, one of the test's own on 127.0.0.1)
    rs = Redis(port=None, appendonly=False, args=(), start_timeout=10)
        Starts redis-server --port P --bind 127.0.0.1 --dir D --save ""
        --appendonly yes|no --daemonize no (args appended) on a free port with
        a fresh temporary dir D, and waits until it answers PING. Raises
        FileNotFoundError when redis-server is not installed (never skips).
        Use as a context manager, or call rs.close() (stops it, removes D).
    rs.port, rs.dir, rs.pid, rs.url ("redis://127.0.0.1:P")
    rs.command(*args, db=0, timeout=5) -> reply   one command on a new connection
        (a tiny RESP2 client: bytes/str args; str/bytes/int/list replies;
        an error reply raises RedisError)
    rs.stop(sig=SIGTERM) / rs.kill()       stop it (SIGKILL: no AOF rewrite, no goodbye)
    rs.start()                             start it again: same port, same dir
    rs.pause() / rs.resume()               SIGSTOP / SIGCONT: silent, sockets open
    rs.flushall()
    rs.log_text() -> str                   what it logged

HTTP
    http_get(port, path, headers=None, method="GET", timeout=5, ssl_context=None)
        -> (status, headers, body)
        one request with Connection: close; headers keys are lower case.
"""

import atexit
import base64
import json
import select
import os
import glob
import hashlib
import signal
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

HOST = "127.0.0.1"
HANDSHAKE = b"WINTALK .NET"
PRIMING = b"R0:R0:R0:R0:"

_here = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(_here, "..", ".."))


# ---------------------------------------------------------------- WINTALK

def units(s):
    """UTF-16 code units of s (what .NET's String.Length says)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in s)


def frame(op, text):
    return ("%s%d:" % (op, units(text))).encode() + text.encode("utf-8")


class FrameParser:
    """Incremental WINTALK frame parser counting UTF-16 units."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            f = self._one()
            if f is None:
                return out
            out.append(f)

    def _one(self):
        b = self.buf
        if not b:
            return None
        colon = b.find(b":")
        if colon < 0:
            if len(b) > 20:
                raise ValueError("header too long: %r" % b[:24])
            return None
        op = chr(b[0])
        n = int(b[1:colon].decode().strip() or "x")
        i = colon + 1
        got = 0
        while got < n:
            if i >= len(b):
                return None
            c = b[i]
            ln = 1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else 4
            if i + ln > len(b):
                return None
            got += 2 if ln == 4 else 1
            i += ln
        text = b[colon + 1:i].decode("utf-8")
        self.buf = b[i:]
        return ("R" if op == "R" else "A", text)


def _connect(host, port, timeout, ssl_context):
    sock = socket.create_connection((host, port), timeout=timeout)
    if ssl_context is not None:
        sock = ssl_context.wrap_socket(sock, server_hostname=host)
    return sock


class TcpClient:
    def __init__(self, port, timeout=5.0, host=HOST, ssl_context=None):
        self.sock = _connect(host, port, timeout, ssl_context)
        self.timeout = timeout
        self.parser = FrameParser()
        self.pending = []
        self.view = ""

    def read_exact(self, n, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed after %r" % data)
            data += chunk
        return data

    def read_greeting(self, timeout=None):
        first = self.read_exact(24, timeout)
        return first, self.read_frame(timeout)

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, op, text):
        self.send(frame(op, text))

    def type_chars(self, text, delay=0.0):
        for ch in text:
            self.send_frame("A", ch)
            if delay:
                time.sleep(delay)

    def send_line(self, text):
        self.send_frame("A", text + "\r\n")

    def _apply(self, f):
        self.view = f[1] if f[0] == "R" else self.view + f[1]
        return f

    def read_frame(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no frame")
            if not data:
                raise ConnectionError("closed")
            self.pending.extend(self.parser.feed(data))
        return self._apply(self.pending.pop(0))

    def wait_text(self, substring, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame with %r; got %r" % (substring, got))
            f = self.read_frame(left)
            got.append(f)
            if substring in f[1]:
                return got

    def drain(self, quiet=0.3):
        """Read frames until none comes for `quiet` seconds."""
        got = []
        while True:
            try:
                got.append(self.read_frame(quiet))
            except TimeoutError:
                return got

    def discard_in_background(self):
        """Read and drop what the gateway sends, in a thread, until the
        function returned is called (it waits for the thread). A WinTalk
        client that floods reads what it is sent too: a peer that never
        reads stalls its own input, not others'. select(), not a socket
        timeout: the timeout would be the sending thread's too, and cut its
        sendall short whenever the gateway took longer than that to read."""
        stop = threading.Event()

        def run():
            while not stop.is_set():
                ready, _, _ = select.select([self.sock], [], [], 0.2)
                if ready and not self.sock.recv(65536):
                    return

        t = threading.Thread(target=run, daemon=True)
        t.start()

        def end():
            stop.set()
            t.join(2)
        return end

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- WebSocket

class WsRefused(Exception):
    """An upgrade refused; local_port is the refused connection's own port
    (the gateway's log names its peers by address and port)."""

    def __init__(self, message, local_port=None):
        super().__init__(message)
        self.local_port = local_port


class WsClient:
    def __init__(self, port, path="/", subprotocol="wintalk.v1", origin=None, timeout=5.0,
                 host=HOST, extra_headers=None, ssl_context=None):
        self.timeout = timeout
        self.sock = _connect(host, port, timeout, ssl_context)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port), "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if subprotocol:
            lines.append("Sec-WebSocket-Protocol: " + subprotocol)
        if origin:
            lines.append("Origin: " + origin)
        for k, v in (extra_headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        local_port = self.sock.getsockname()[1]
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WsRefused("closed during upgrade: %r" % head, local_port)
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        hl = head.decode("latin-1").split("\r\n")
        self.status = int(hl[0].split()[1])
        self.headers = {}
        for line in hl[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 101:
            raise WsRefused("status %d" % self.status, local_port)
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if self.headers.get("sec-websocket-accept") != accept:
            raise WsRefused("bad accept")
        self.protocol = self.headers.get("sec-websocket-protocol")
        self.closed = None

    def send_frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self.send_frame(1, text.encode("utf-8") if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj, ensure_ascii=False))

    def _read(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no message")
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        data = b""
        first_op = None
        while True:
            b0, b1 = self._read(2, deadline)
            op, fin, n = b0 & 0x0F, b0 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8, deadline))[0]
            payload = self._read(n, deadline) if n else b""
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = code
                try:
                    self.send_frame(8, payload[:2])
                except OSError:
                    pass
                return ("close", code, payload[2:].decode("utf-8", "replace"))
            if op == 9:
                self.send_frame(10, payload)
                continue
            if op == 10:
                continue
            if first_op is None:
                first_op = op
            data += payload
            if fin:
                if first_op == 1:
                    return ("text", data.decode("utf-8"))
                return ("binary", data)

    def recv_events(self, timeout=None):
        m = self.recv(timeout)
        if m[0] != "text":
            raise ConnectionError("expected text, got %r" % (m,))
        obj = json.loads(m[1])
        return obj if isinstance(obj, list) else [obj]

    def next_event(self, pred=None, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        if not hasattr(self, "_backlog"):
            self._backlog = []
        while True:
            while self._backlog:
                ev = self._backlog.pop(0)
                if pred is None or pred(ev):
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching event")
            self._backlog.extend(self.recv_events(left))

    def hello(self, nick=None, last_id=None, key=None, timeout=None, epoch=None):
        msg = {"type": "hello"}
        if nick is not None:
            msg["nick"] = nick
        if last_id is not None:
            msg["last_id"] = last_id
        if key is not None:
            msg["key"] = key
        if epoch is not None:
            msg["epoch"] = epoch
        self.send_json(msg)
        return self.next_event(lambda e: e.get("type") == "welcome", timeout)

    def close(self, code=1000):
        try:
            if self.closed is None:
                self.send_frame(8, struct.pack("!H", code))
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- HTTP

def http_get(port, path, headers=None, method="GET", timeout=5.0, host=HOST, ssl_context=None):
    s = _connect(host, port, timeout, ssl_context)
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port), "Connection: close"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    hl = head.decode("latin-1").split("\r\n")
    status = int(hl[0].split()[1])
    hdrs = {}
    for line in hl[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, hdrs, body


# ---------------------------------------------------------------- the gateway

def find_gateway():
    env = os.environ.get("WINTALK_GATEWAY")
    if env:
        return env
    found = sorted(glob.glob(os.path.join(REPO, "build*", "gateway", "wintalk-gateway")),
                   key=os.path.getmtime, reverse=True)
    if not found:
        raise FileNotFoundError("no wintalk-gateway built; set WINTALK_GATEWAY")
    return found[0]


def default_web_root():
    d = tempfile.mkdtemp(prefix="wtweb-")
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write("<!doctype html><meta charset=utf-8><title>wintalk</title>"
                "<link rel=stylesheet href=style.css><script src=app.js></script>\n")
    with open(os.path.join(d, "app.js"), "w") as f:
        f.write("console.log('wintalk');\n")
    with open(os.path.join(d, "style.css"), "w") as f:
        f.write("body { margin: 0 }\n")
    return d


# Gateways started and not yet stopped: a test that fails before it stops its
# gateway must not leave the process running after the test ends.
_running = set()


@atexit.register
def _stop_leftovers():
    for gw in list(_running):
        gw.stop(timeout=2.0)


def _end(proc, sig, timeout):
    """Send sig to a process of ours that still runs, and SIGKILL it if it
    has not exited within timeout seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Gateway:
    def __init__(self, binary=None, web_root=None, args=(), env=None, start_timeout=10.0,
                 data_dir=None, wrap=()):
        self.binary = binary or find_gateway()
        self.web_root = web_root or default_web_root()
        argv = [self.binary, "--bind", HOST, "--tcp-port", "0", "--http-port", "0",
                "--web-root", self.web_root]
        # The history (the sqlite store, the default) goes to data_dir, or
        # to a fresh directory of this gateway's own, removed when it stops.
        self.data_dir = data_dir
        self._own_data = False
        if "--data-dir" not in args and not (env or {}).get("WINTALK_DATA_DIR"):
            if self.data_dir is None:
                self.data_dir = tempfile.mkdtemp(prefix="wintalk-data-")
                self._own_data = True
            argv += ["--data-dir", self.data_dir]
        if "--rate" not in args:
            argv += ["--rate", "0"]
        if "--typing-rate" not in args:
            argv += ["--typing-rate", "0"]
        if "--read-rate" not in args:
            argv += ["--read-rate", "0"]
        if "--room-rate" not in args:
            argv += ["--room-rate", "0"]
        argv += list(args)
        # wrap: a command that execs the gateway (same pid), e.g. in a
        # mount namespace of its own.
        argv = list(wrap) + argv
        self.argv = argv
        e = dict(os.environ)
        e.update(env or {})
        self._lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=e)
        self.pid = self.proc.pid
        _running.add(self)
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        line = self.wait_log("listening ", start_timeout)
        parts = dict(p.split("=", 1) for p in line.split() if "=" in p)
        self.tcp_port = int(parts["tcp"].rsplit(":", 1)[1])
        self.http_port = int(parts["http"].rsplit(":", 1)[1])
        self.tls_port = int(parts["tls"].rsplit(":", 1)[1]) if "tls" in parts else None

    def _read_log(self):
        for raw in self.proc.stderr:
            with self._lock:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def log_text(self):
        with self._lock:
            return "\n".join(self._lines)

    def wait_log(self, substring, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for line in self._lines:
                    if substring in line:
                        return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise TimeoutError("gateway never logged %r; log:\n%s" % (substring, self.log_text()))

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def sanitized(self):
        """Whether this gateway runs under AddressSanitizer (whose shadow
        memory, quarantine and size classes make its RSS several times a
        plain build's)."""
        with open("/proc/%d/maps" % self.pid) as f:
            return "libasan" in f.read()

    def wait_ready(self, want=200, timeout=15.0):
        """Until /readyz answers want (200: ready; 503: not); its body."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, _, body = http_get(self.http_port, "/readyz")
            except OSError:
                status, body = None, b""
            if status == want:
                return body.decode(errors="replace")
            if time.monotonic() > deadline:
                raise AssertionError("/readyz never answered %d: %s" % (want, status))
            time.sleep(0.1)

    def metric(self, name):
        """The value of the unlabelled metric name in /metrics."""
        import re
        _, _, body = http_get(self.http_port, "/metrics")
        m = re.search(r"^%s (\d+)$" % re.escape(name), body.decode(), re.M)
        if not m:
            raise AssertionError("no %s in /metrics" % name)
        return int(m.group(1))

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        _running.discard(self)
        _end(self.proc, sig, timeout)
        self._reader.join(2)
        self.proc.stderr.close()
        if self._own_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._own_data = False
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- Redis

class RedisError(Exception):
    """An error reply from Redis (its text)."""


def _resp_command(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _RespReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError("not RESP: %r" % line)


_redis_running = set()


@atexit.register
def _stop_redis_leftovers():
    for rs in list(_redis_running):
        rs.close()


class Redis:
    def __init__(self, port=None, appendonly=False, args=(), start_timeout=10.0):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(self.binary):
            raise FileNotFoundError("redis-server is not installed (scripts/deps.sh test)")
        if port is None:
            s = socket.socket()
            s.bind((HOST, 0))
            port = s.getsockname()[1]
            s.close()
        self.port = port
        self.url = "redis://%s:%d" % (HOST, port)
        self.dir = tempfile.mkdtemp(prefix="wintalk-redis-")
        self.appendonly = appendonly
        self.args = list(args)
        self.start_timeout = start_timeout
        self.proc = None
        self.pid = None
        self.start()

    def start(self):
        """Start it (again): the same port and directory."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("redis-server is running already")
        argv = [self.binary, "--port", str(self.port), "--bind", HOST, "--dir", self.dir,
                "--save", "", "--appendonly", "yes" if self.appendonly else "no",
                "--daemonize", "no", "--logfile", "redis.log"] + self.args
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.dir)
        self.pid = self.proc.pid
        _redis_running.add(self)
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                if self.command("PING", timeout=1.0) == "PONG":
                    return
            except (OSError, RedisError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited (%s); log:\n%s"
                                   % (self.proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not answer PING; log:\n" + self.log_text())
            time.sleep(0.05)

    def command(self, *args, db=0, timeout=5.0):
        """One command on a new connection; the reply (an error raises)."""
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            auth = None
            if "--requirepass" in self.args:
                auth = self.args[self.args.index("--requirepass") + 1]
            cmds = []
            if auth is not None:
                cmds.append(("AUTH", auth))
            if db:
                cmds.append(("SELECT", db))
            cmds.append(args)
            sock.sendall(b"".join(_resp_command(c) for c in cmds))
            reader = _RespReader(sock)
            for _ in range(len(cmds)):
                rep = reader.reply()
                if isinstance(rep, RedisError):
                    raise rep
            return rep

    def flushall(self):
        return self.command("FLUSHALL")

    def pause(self):
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop it by its PID; returns its exit status (None if not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGCONT)  # a paused one cannot act on SIGTERM
        _end(self.proc, sig, timeout)
        _redis_running.discard(self)
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "redis.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
