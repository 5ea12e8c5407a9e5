"""The gateway's event loop: libwebsockets runs on the program's libuv loop,
so the process waits in one epoll that watches its listening sockets and its
connections (read from /proc/PID/fdinfo, as the kernel sees it); the start-up
log line and /healthz name the loop; SIGINT stops it like SIGTERM; without
libwebsockets' libuv plugin (hidden in a mount namespace of the gateway's
own) it stops at once with one line naming the Debian package."""
import json
import os
import signal
import subprocess
import unittest

from gwtest import Gateway, TcpClient, WsClient, http_get, main
import wtlib

EVLIB_UV = "/usr/lib/x86_64-linux-gnu/libwebsockets-evlib_uv.so"
EX_UNAVAILABLE = 69
EPOLLIN = 0x001


def socket_inodes(port):
    """Inodes of the sockets bound to 127.0.0.1:port, from /proc/net/tcp:
    {inode: state} (state 0A is LISTEN, 01 ESTABLISHED)."""
    want = "0100007F:%04X" % port
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[1] == want:
                out[int(cols[9])] = cols[3]
    return out


def fds_by_target(pid):
    """{fd: what /proc/PID/fd/N links to} for every descriptor of pid."""
    out = {}
    base = "/proc/%d/fd" % pid
    for name in os.listdir(base):
        try:
            out[int(name)] = os.readlink(os.path.join(base, name))
        except FileNotFoundError:
            pass
    return out


def epoll_watches(pid):
    """{epoll fd: {watched fd: event mask}} from /proc/PID/fdinfo."""
    out = {}
    for fd, target in fds_by_target(pid).items():
        if target != "anon_inode:[eventpoll]":
            continue
        watched = {}
        with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
            for line in f:
                if line.startswith("tfd:"):
                    cols = line.split()
                    watched[int(cols[1])] = int(cols[3], 16)
        out[fd] = watched
    return out


def fd_of_socket(pid, inode):
    for fd, target in fds_by_target(pid).items():
        if target == "socket:[%d]" % inode:
            return fd
    return None


def listener_fd(pid, port):
    for inode, state in socket_inodes(port).items():
        if state == "0A":
            fd = fd_of_socket(pid, inode)
            if fd is not None:
                return fd
    raise AssertionError("no listening socket of pid %d on port %d" % (pid, port))


class Loop(unittest.TestCase):
    def test_waits_in_epoll_on_its_listeners_and_connections(self):
        with Gateway() as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            # The gateway's end of this connection: the socket on the
            # gateway's port whose inode is one of the gateway's fds.
            conn_fds = [fd_of_socket(gw.pid, i)
                        for i, st in socket_inodes(gw.tcp_port).items() if st == "01"]
            conn_fds = [fd for fd in conn_fds if fd is not None]
            self.assertEqual(len(conn_fds), 1, conn_fds)
            tcp_l, http_l = listener_fd(gw.pid, gw.tcp_port), listener_fd(gw.pid, gw.http_port)
            watches = epoll_watches(gw.pid)
            self.assertTrue(watches, "the gateway holds no epoll descriptor: %r"
                            % fds_by_target(gw.pid))
            for want in (tcp_l, http_l, conn_fds[0]):
                holders = [ep for ep, w in watches.items() if want in w]
                self.assertEqual(len(holders), 1, "fd %d in %r" % (want, watches))
                self.assertTrue(watches[holders[0]][want] & EPOLLIN)
            t.close()

    def test_the_log_and_healthz_name_the_loop(self):
        with Gateway() as gw:
            line = gw.wait_log("listening ")
            self.assertIn(" loop=libuv", line)
            status, _, body = http_get(gw.http_port, "/healthz")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["loop"], "libuv")

    def test_sigint_stops_like_sigterm(self):
        gw = Gateway()
        w = WsClient(gw.http_port)
        w.hello(nick="int")
        t = TcpClient(gw.tcp_port)
        t.read_greeting()
        os.kill(gw.pid, signal.SIGINT)
        bye = w.next_event(lambda e: e["type"] == "bye", 5)
        self.assertEqual((bye["code"], bye["message"]), (421, "gateway shutting down"))
        t.wait_text("* gateway shutting down", 5)
        self.assertEqual(gw.proc.wait(5), 0)
        gw.wait_log("stopped")
        w.close()
        t.close()
        gw.stop()

    def test_a_second_signal_changes_nothing(self):
        gw = Gateway()
        w = WsClient(gw.http_port)
        w.hello(nick="twice")
        os.kill(gw.pid, signal.SIGTERM)
        os.kill(gw.pid, signal.SIGTERM)
        w.next_event(lambda e: e["type"] == "bye", 5)
        self.assertEqual(gw.proc.wait(5), 0)
        gw.wait_log("stopped")
        self.assertEqual(gw.log_text().count("stopping: signal received"), 1, gw.log_text())
        w.close()
        gw.stop()


class WithoutPlugin(unittest.TestCase):
    def test_one_line_naming_the_package(self):
        # The plugin's file reads as empty in the gateway's own mount
        # namespace (as root; else in a user namespace too): what a machine
        # without the package looks like to the dynamic loader.
        ns = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-Urm"]
        argv = ns + ["sh", "-ec", 'mount --bind /dev/null "%s"\nexec "$@"' % EVLIB_UV, "sh",
                     wtlib.find_gateway(), "--bind", wtlib.HOST, "--tcp-port", "0",
                     "--http-port", "0", "--web-root", wtlib.default_web_root(),
                     "--store", "memory"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            self.fail("the gateway started without the plugin: %r" % err.decode()[-800:])
        err = err.decode("utf-8", "replace")
        self.assertEqual(p.returncode, EX_UNAVAILABLE, err)
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertRegex(lines[0], r"^wintalk-gateway: .*install the package "
                                   r"libwebsockets-evlib-uv")
        self.assertIn(EVLIB_UV, lines[0])


if __name__ == "__main__":
    main()
