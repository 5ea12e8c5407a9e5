"""seeddesk: the seed's .NET program on a desktop of the test's own, used as
a person uses it. Python 3 stdlib, and Debian's mono-mcs, Xvfb, xdotool,
xclip and xwd (scripts/deps.sh seed).

    seed_path() -> path or None   the seed's text: $WINTALK_SEED, else
                                  <repo>/../shared/seed/000_ecf349f910a90ea5.txt
    seed_places() -> [path]       where it is looked for
    build_program(seed, out_dir) -> exe   seed_extract.py's files of the seed's
                                  program and TalkForm.cs, compiled with mcs
    d = Desktop(tmp)              Xvfb on a free display (-displayfd), 800x600
    d.stop()
    p = d.program(exe, args, log) the program started (mono, HOME=tmp, its
                                  output to log), and its window found (title
                                  "UnChat", the only one: the program's window
                                  carries no _NET_WM_PID to find it by)
    p.click_typed()               into its text box, the caret at the end
    p.type_line(text)             typed there key by key (xdotool, 30 ms a
                                  key), then Enter
    p.pane() -> str               what its received pane shows, read as a
                                  person copies it: click, Ctrl+Home,
                                  Ctrl+Shift+End, Ctrl+C, and the X clipboard
    p.wait_pane(substring, timeout) -> str
    p.shot(path)                  the window as a PNG (xwd, converted here)
    p.close()                     SIGTERM to its PID, waits for the exit and for
                                  its window to go
    Relay(port)                   127.0.0.1:relay.port -> 127.0.0.1:port, every
                                  byte both ways recorded per connection:
                                  relay.conns[i].up (program to gateway) and
                                  .down; relay.close()

Every process started here is ended by its PID; every wait has a timeout.
"""
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SEED_NAME = "000_ecf349f910a90ea5.txt"
TITLE = "UnChat"
KEY_DELAY_MS = 30

# Where the received pane and the typed box are, in the window's
# coordinates (TalkForm.cs: 640x400, the box 120 high above a 22-pixel
# status line).
PANE_XY = (320, 120)
TYPED_XY = (320, 320)


def seed_places():
    """Where the seed's text is looked for, in order."""
    env = os.environ.get("WINTALK_SEED")
    if env:
        return [env]
    return [os.path.normpath(os.path.join(REPO, "..", "shared", "seed", SEED_NAME))]


def seed_path():
    for p in seed_places():
        if os.path.isfile(p):
            return p
    return None


def run(argv, timeout=60, **kw):
    p = subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (argv[0], p.returncode,
                                                 p.stdout.decode(errors="replace"),
                                                 p.stderr.decode(errors="replace")))
    return p.stdout.decode("utf-8", "replace")


def build_program(seed, out_dir):
    """Extracts the seed's program, adds TalkForm.cs, compiles it; returns
    the .exe's path. Prints what the extraction repaired and mcs's
    warnings."""
    src = os.path.join(out_dir, "src")
    print(run(["python3", os.path.join(HERE, "seed_extract.py"), seed, src]), end="")
    with open(os.path.join(HERE, "TalkForm.cs"), encoding="utf-8") as f:
        form = f.read()
    with open(os.path.join(src, "TalkForm.cs"), "w", encoding="utf-8") as f:
        f.write(form)
    exe = os.path.join(out_dir, "UnChat.exe")
    sources = sorted(os.path.join(src, n) for n in os.listdir(src) if n.endswith(".cs"))
    out = run(["mcs", "-target:winexe", "-out:" + exe, "-r:System.Windows.Forms.dll",
               "-r:System.Drawing.dll"] + sources, timeout=120)
    print("mcs: " + out.strip().replace("\n", "\nmcs: "))
    return exe


def xwd_to_png(data):
    """An XWD dump (ZPixmap, 32 bits a pixel, as xwd writes a 24-bit
    screen) as PNG bytes."""
    f = struct.unpack(">25I", data[:100])
    header, fmt, width, height = f[0], f[2], f[4], f[5]
    order, bpp, line = f[7], f[11], f[12]
    masks = f[14:17]
    if fmt != 2 or bpp != 32:
        raise ValueError("xwd: format %d, %d bits a pixel" % (fmt, bpp))
    shifts = [(m & -m).bit_length() - 1 for m in masks]
    start = header + 12 * f[19]
    endian = "<" if order == 0 else ">"
    rows = []
    for y in range(height):
        px = struct.unpack_from(endian + "%dI" % width, data, start + y * line)
        row = bytearray(b"\0")
        for p in px:
            row += bytes((p & m) >> s for m, s in zip(masks, shifts))
        rows.append(bytes(row))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def stop_pid(proc, timeout=10):
    """SIGTERM to proc's PID, SIGKILL if it is still there after timeout."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


class Desktop:
    def __init__(self, tmp):
        self.tmp = tmp
        r, w = os.pipe()
        with open(os.path.join(tmp, "xvfb.log"), "wb") as log:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(w), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        os.close(w)
        got = b""
        deadline = time.monotonic() + 15
        while not got.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([r], [], [], 1)
            if ready:
                chunk = os.read(r, 16)
                if not chunk:
                    break
                got += chunk
        os.close(r)
        if not got.strip():
            self.stop()
            raise RuntimeError("Xvfb gave no display number")
        self.display = ":" + got.decode().strip()
        self.env = dict(os.environ, DISPLAY=self.display, HOME=tmp)

    def x(self, *argv, timeout=15):
        return run(list(argv), timeout=timeout, env=self.env)

    def windows(self):
        p = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^%s$" % TITLE],
                           capture_output=True, timeout=15, env=self.env)
        return p.stdout.decode().split()

    def program(self, exe, args, log):
        if self.windows():
            raise RuntimeError("a window called %s is there already" % TITLE)
        return Program(self, exe, args, log)

    def stop(self):
        stop_pid(self.proc)


class Program:
    def __init__(self, desk, exe, args, log):
        self.desk = desk
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(["mono", exe] + list(args), env=desk.env,
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        self.wid = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            found = desk.windows()
            if found:
                self.wid = found[0]
                break
            time.sleep(0.2)
        if self.wid is None:
            self.close()
            raise RuntimeError("the program's window did not show (exit %r):\n%s"
                               % (self.proc.poll(), self.log_text()))
        self._clip = 0

    def log_text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def click(self, xy):
        self.desk.x("xdotool", "mousemove", "--window", self.wid, str(xy[0]), str(xy[1]),
                    "click", "1")

    def key(self, *keys):
        self.desk.x("xdotool", "key", "--delay", str(KEY_DELAY_MS), *keys)

    def click_typed(self):
        """Into the text box, the caret at the end of what is there."""
        self.click(TYPED_XY)
        self.key("ctrl+End")

    def type_line(self, text):
        self.click_typed()
        self.desk.x("xdotool", "type", "--delay", str(KEY_DELAY_MS), text,
                    timeout=30 + len(text) * KEY_DELAY_MS / 1000)
        self.key("Return")

    def _clipboard(self):
        p = subprocess.run(["xclip", "-o", "-selection", "clipboard", "-t", "UTF8_STRING"],
                           capture_output=True, timeout=10, env=self.desk.env)
        return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None

    def pane(self):
        """The received pane's whole text, copied to the X clipboard as a
        person would. The clipboard first holds a mark of ours (an xclip
        of ours owns it until the program takes it), so a copy that did not
        happen is never read as the pane."""
        self._clip += 1
        mark = "(nothing copied %d)" % self._clip
        holder = subprocess.Popen(["xclip", "-quiet", "-i", "-selection", "clipboard"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=self.desk.env)
        try:
            holder.stdin.write(mark.encode())
            holder.stdin.close()
            deadline = time.monotonic() + 10
            while self._clipboard() != mark:
                if time.monotonic() > deadline:
                    raise RuntimeError("xclip did not take the clipboard")
                time.sleep(0.05)
            self.click(PANE_XY)
            self.key("ctrl+Home", "ctrl+shift+End", "ctrl+c")
            deadline = time.monotonic() + 10
            while True:
                got = self._clipboard()
                if got is not None and got != mark:
                    return got
                if time.monotonic() > deadline:
                    raise RuntimeError("the program copied nothing from its pane")
                time.sleep(0.1)
        finally:
            stop_pid(holder)

    def wait_pane(self, substring, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            text = self.pane()
            if substring in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError("the program's pane does not show %r; it shows:\n%s"
                                     % (substring, text))
            time.sleep(0.3)

    def shot(self, path):
        """The window as a PNG at path (the text box focused, so that the
        pane shows no selection left by a copy)."""
        self.click_typed()
        raw = subprocess.run(["xwd", "-silent", "-id", self.wid], capture_output=True,
                             timeout=20, env=self.desk.env, check=True).stdout
        with open(path, "wb") as f:
            f.write(xwd_to_png(raw))
        return path

    def close(self):
        stop_pid(self.proc)
        deadline = time.monotonic() + 15
        while self.desk.windows() and time.monotonic() < deadline:
            time.sleep(0.1)


class Conn:
    def __init__(self):
        self.up = bytearray()
        self.down = bytearray()
        self.closed = threading.Event()


class Relay:
    """Forwards each connection to 127.0.0.1:port and keeps what passed.
    Whatever one recv gives is sent in one sendall, so the gateway's
    handshake and priming (one write) reach the program as they left."""

    def __init__(self, port):
        self.target = port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self._stop = threading.Event()
        self._socks = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            ready, _, _ = select.select([self.lsock], [], [], 0.2)
            if not ready:
                continue
            try:
                a, _ = self.lsock.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            conn = Conn()
            self.conns.append(conn)
            self._socks += [a, b]
            threading.Thread(target=self._pump, args=(a, b, conn), daemon=True).start()

    def _pump(self, a, b, conn):
        ends = {a: (b, conn.up), b: (a, conn.down)}
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    other, record = ends[s]
                    record += data
                    other.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
            conn.closed.set()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.lsock.close()
