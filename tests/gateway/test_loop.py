"""The gateway's event loop: libwebsockets' own poll loop serves the
connections, and the program's libuv loop (Redis, signals, timers) runs
inside it, its epoll descriptor one more descriptor in the poll (read from
/proc/PID/fdinfo, as the kernel sees it: the connections are in no epoll,
libuv's signal pipe is); a signal reaches an idle gateway at once; the
start-up log line and /healthz name the loop; SIGINT stops it like
SIGTERM, and more signals while it stops change nothing."""
import json
import os
import signal
import subprocess
import time
import unittest

from gwtest import Gateway, TcpClient, WsClient, http_get, main
import wtlib

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
    def test_connections_are_polled_and_libuv_is_inside_the_poll(self):
        with Gateway() as gw:
            t = TcpClient(gw.tcp_port)
            t.read_greeting()
            conn_fds = [fd_of_socket(gw.pid, i)
                        for i, st in socket_inodes(gw.tcp_port).items() if st == "01"]
            conn_fds = [fd for fd in conn_fds if fd is not None]
            self.assertEqual(len(conn_fds), 1, conn_fds)
            tcp_l, http_l = listener_fd(gw.pid, gw.tcp_port), listener_fd(gw.pid, gw.http_port)
            watches = epoll_watches(gw.pid)
            # libuv's epoll, watching its own descriptors (the signals'
            # pipe), and none of the connections or listeners: those are
            # libwebsockets' poll's.
            self.assertTrue(watches, "no epoll descriptor: %r" % fds_by_target(gw.pid))
            self.assertTrue(any(w for w in watches.values()), watches)
            for want in (tcp_l, http_l, conn_fds[0]):
                self.assertFalse([ep for ep, w in watches.items() if want in w],
                                 "fd %d in an epoll: %r" % (want, watches))
            t.close()

    def test_an_idle_gateway_hears_a_signal_at_once(self):
        gw = Gateway()
        time.sleep(1.5)  # nothing to do: waiting in poll
        t0 = time.monotonic()
        os.kill(gw.pid, signal.SIGTERM)
        self.assertEqual(gw.proc.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 1.0)
        gw.stop()

    def test_the_log_and_healthz_name_the_loop(self):
        with Gateway() as gw:
            line = gw.wait_log("listening ")
            self.assertIn(" loop=poll+libuv", line)
            status, _, body = http_get(gw.http_port, "/healthz")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["loop"], "poll+libuv")

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

    def test_more_signals_while_stopping_change_nothing(self):
        gw = Gateway()
        w = WsClient(gw.http_port)
        w.hello(nick="twice")
        os.kill(gw.pid, signal.SIGTERM)
        # SIGTERM after SIGTERM, every millisecond, until the gateway has
        # exited (a child not yet reaped keeps its pid): none may kill it,
        # whatever part of the stop it is in.
        deadline = time.monotonic() + 10
        sent = 1
        while gw.proc.poll() is None and time.monotonic() < deadline:
            os.kill(gw.pid, signal.SIGTERM)
            sent += 1
            time.sleep(0.001)
        self.assertEqual(gw.proc.wait(5), 0, "after %d signals" % sent)
        gw.wait_log("stopped")
        self.assertEqual(gw.log_text().count("stopping: signal received"), 1, gw.log_text())
        self.assertEqual(w.next_event(lambda e: e["type"] == "bye", 5)["code"], 421)
        w.close()
        gw.stop()


if __name__ == "__main__":
    main()
