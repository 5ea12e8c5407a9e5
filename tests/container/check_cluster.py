#!/usr/bin/env python3
"""Checks the gateway cluster (docker/compose.cluster.yaml, brought up by
test_cluster.sh) from the host, through HAProxy's ports on 127.0.0.1:

- the page, /healthz, and the WINTALK handshake through HAProxy;
- a browser (wintalk.v2) on one gateway and a WINTALK peer on the other
  chat, both ways;
- the browser's gateway stopped (podman stop): HAProxy's health check takes
  it out; a new browser and a new WINTALK peer, both on the gateway left,
  chat, and the new peer's transcript has what was said before the stop;
  the browser that was on the stopped gateway reconnects through HAProxy
  and resumes (hello with its epoch, token and last id), getting exactly
  what it missed;
- the stopped gateway started again (a new address): HAProxy finds it by
  name and sends connections to it again, and it is in the same chat;
- the network's DNS fails while both gateways are healthy: first it
  forgets a gateway's name (NXDOMAIN), then it stops answering at all;
  HAProxy keeps both gateways UP all along and a browser still lands on the
  one whose name is gone (a failed look-up is no reason to take a healthy
  gateway out: the health check decides);
- HAProxy restarted while a gateway is down starts and serves the page;
- Redis stopped: no gateway is ready, and HAProxy lets no WINTALK peer in;
  Redis started again: the history is all there, under the same epoch.

Which gateway a connection landed on is read from the gateways' own logs:
each logs a "connect web" or "connect tcp" line when it admits one. The
test is the only client, so the one gateway whose count of those lines
grows after a connect is the one it is on.

Usage: check_cluster.py --http-port N --tcp-port N --project NAME
(containers are NAME_SERVICE_1, as podman-compose names them).
"""
import argparse
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "..", "gateway"))
import check_container  # noqa: E402  (puts tests/lib on the path too)
import gwtest  # noqa: E402
import wtlib  # noqa: E402

GATEWAYS = ("gateway1", "gateway2")
BACKENDS = ("gateways_http", "gateways_tcp")
# Bounds on every wait, in seconds.
PODMAN_TIMEOUT = 60
LAND_TIMEOUT = 10
HAPROXY_TIMEOUT = 30
EVENT_TIMEOUT = 10
# How long each DNS fault lasts: HAProxy's own view of a failed look-up
# took a server out within 3 to 5 s (hold 2 s after 1 to 3 tries of 1 s).
DNS_FAULT_S = 10
# Where podman's dnsname plugin (the CNI network backend) keeps the hosts
# file and the pid of the dnsmasq it runs for each network.
DNSNAME_DIR = "/run/containers/cni/dnsname"
# Connections tried to get one onto a given gateway: round robin
# alternates, so two are enough; the rest is slack.
LAND_TRIES = 6


class Cluster:
    def __init__(self, project, http_port, tcp_port):
        self.http_port = http_port
        self.tcp_port = tcp_port
        self.project = project
        self.ctr = {s: "%s_%s_1" % (project, s)
                    for s in ("redis", "haproxy") + GATEWAYS}

    def podman(self, *args):
        """podman ARGS; its output, line ends kept (HTTP's CRLFs)."""
        r = subprocess.run(("podman",) + args, capture_output=True, timeout=PODMAN_TIMEOUT)
        if r.returncode:
            raise AssertionError("podman %s: %s" % (" ".join(args),
                                                    r.stderr.decode(errors="replace")[-500:]))
        return r.stdout.decode(errors="replace")

    def connects(self, gateway, kind):
        """How many connections of kind (web, tcp) gateway has logged."""
        r = subprocess.run(("podman", "logs", self.ctr[gateway]), capture_output=True,
                           text=True, timeout=PODMAN_TIMEOUT)
        # Matched within the message alone: the gateway writes a line's
        # time stamp, message and newline separately, and the container's
        # log may keep them apart.
        return len(re.findall(r"(?<!dis)connect %s peer=" % kind, r.stdout + r.stderr))

    def land(self, kind, make):
        """make() a connection of kind; returns (what make returned, the
        gateway that logged it)."""
        before = {g: self.connects(g, kind) for g in GATEWAYS}
        made = make()
        deadline = time.monotonic() + LAND_TIMEOUT
        while True:
            grown = [g for g in GATEWAYS if self.connects(g, kind) > before[g]]
            assert len(grown) <= 1, "one %s connection logged by both gateways" % kind
            if grown:
                return made, grown[0]
            assert time.monotonic() < deadline, "no gateway logged the %s connection" % kind
            time.sleep(0.2)

    def land_on(self, kind, make, gateway):
        """Connections of kind until one lands on gateway (the others are
        closed); returns it."""
        for _ in range(LAND_TRIES):
            made, g = self.land(kind, make)
            if g == gateway:
                return made
            (made[0] if isinstance(made, tuple) else made).close()
        raise AssertionError("%d %s connections, none on %s" % (LAND_TRIES, kind, gateway))

    def servers(self):
        """HAProxy's view: {(backend, server): status}, from its stats CSV
        on the container's loopback."""
        out = self.podman("exec", self.ctr["haproxy"], "bash", "-c",
                          "exec 3<>/dev/tcp/127.0.0.1/8404 && "
                          "printf 'GET /stats;csv HTTP/1.0\\r\\n\\r\\n' >&3 && "
                          "timeout 5 cat <&3")
        head, _, body = out.partition("\r\n\r\n")
        if "transfer-encoding: chunked" in head.lower():
            body = dechunk(body)
        body = body.lstrip("# ")
        return {(row["pxname"], row["svname"]): row["status"]
                for row in csv.DictReader(io.StringIO(body))
                if row["pxname"] in BACKENDS and row["svname"] in GATEWAYS}

    def wait_servers(self, up):
        """Wait until HAProxy has every gateway in up UP in both backends
        and every other one not UP."""
        deadline = time.monotonic() + HAPROXY_TIMEOUT
        while True:
            now = self.servers()
            ok = all(now.get((b, g), "").startswith("UP") == (g in up)
                     for b in BACKENDS for g in GATEWAYS)
            if ok:
                return now
            assert time.monotonic() < deadline, "HAProxy's servers: %r, want up: %r" % (now, up)
            time.sleep(0.5)

    def keep_servers(self, up, seconds):
        """For seconds, every gateway in up must stay UP in both backends."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = self.servers()
            down = {k: v for k, v in now.items() if k[1] in up and not v.startswith("UP")}
            assert not down, "HAProxy took out a healthy gateway: %r" % down
            time.sleep(0.5)

    def browser(self):
        return wtlib.WsClient(self.http_port, subprotocol="wintalk.v2", timeout=EVENT_TIMEOUT)

    def peer(self):
        return check_container.open_wintalk(self.tcp_port, timeout=EVENT_TIMEOUT)


class NetworkDns:
    """The DNS server of the project's network, as podman runs it with the
    CNI backend: a dnsmasq per network, started by the dnsname plugin,
    answering from a hosts file that the plugin rewrites and re-reads (by
    SIGHUP) whenever a container comes or goes. Faults are made here the way
    they happen: a name that drops out of that file, a server that does not
    answer."""

    def __init__(self, project):
        self.dir = os.path.join(DNSNAME_DIR, project + "_default")
        self.hosts = os.path.join(self.dir, "addnhosts")
        assert os.path.isfile(self.hosts), (
            "no dnsname hosts file at %s: this check needs podman's CNI backend "
            "with the dnsname plugin" % self.hosts)

    def pid(self):
        with open(os.path.join(self.dir, "pidfile")) as f:
            return int(f.read().strip())

    def _write(self, lines):
        tmp = self.hosts + ".check"
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.rename(tmp, self.hosts)
        os.kill(self.pid(), signal.SIGHUP)

    def forget(self, name):
        """Drop name's lines from the hosts file; returns them."""
        with open(self.hosts) as f:
            lines = f.readlines()
        gone = [l for l in lines if name in l.split()[1:]]
        assert gone, "%s is not in %s: %r" % (name, self.hosts, lines)
        self._write([l for l in lines if l not in gone])
        return gone

    def restore(self, lines):
        with open(self.hosts) as f:
            now = f.readlines()
        self._write(now + [l for l in lines if l not in now])

    def stop(self):
        os.kill(self.pid(), signal.SIGSTOP)

    def cont(self):
        os.kill(self.pid(), signal.SIGCONT)


def dechunk(body):
    """An HTTP/1.1 chunked body, decoded."""
    out = []
    while body:
        size, _, body = body.partition("\r\n")
        n = int(size.split(";")[0], 16)
        if n == 0:
            break
        out.append(body[:n])
        body = body[n + 2:]
    return "".join(out)


class Seen:
    """A wintalk.v2 browser's latest #lobby event id, from its welcome and
    every event read through until()."""

    def __init__(self, ws, welcome):
        self.ws = ws
        lobby = welcome["rooms"][0]
        assert lobby["room"] == "#lobby", welcome
        self.last_id = lobby["last_id"]

    def _note(self, e):
        if e.get("room") == "#lobby" and isinstance(e.get("id"), int):
            self.last_id = max(self.last_id, e["id"])

    def until(self, pred, what):
        def seen(e):
            self._note(e)
            return pred(e)
        try:
            return self.ws.next_event(seen, EVENT_TIMEOUT)
        except TimeoutError:
            raise AssertionError("no %s within %d s" % (what, EVENT_TIMEOUT)) from None

    def message(self, text):
        return self.until(lambda e: e.get("type") == "message" and e.get("text") == text,
                          "message %r" % text)

    def until_closed(self):
        """Read (noting ids) until the gateway closes the connection;
        returns the close code (None: closed without a close frame)."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        for e in getattr(self.ws, "_backlog", []):
            self._note(e)
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "the stopped gateway's browser was not closed"
            try:
                m = self.ws.recv(left)
            except ConnectionError:
                return None
            if m[0] == "close":
                return m[1]
            if m[0] == "text":
                obj = json.loads(m[1])
                for e in obj if isinstance(obj, list) else [obj]:
                    self._note(e)


def say(ws, text):
    ws.send_json({"type": "say", "room": "#lobby", "text": text})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--tcp-port", type=int, required=True)
    ap.add_argument("--project", required=True)
    a = ap.parse_args()
    c = Cluster(a.project, a.http_port, a.tcp_port)

    print("== through HAProxy: the page, /healthz, the WINTALK handshake")
    c.wait_servers(GATEWAYS)
    check_container.check_page(c.http_port)
    status, _, body = wtlib.http_get(c.http_port, "/healthz")
    assert status == 200, (status, body)
    tcp, _ = c.peer()
    tcp.close()
    print("wintalk: handshake and priming received")

    print("== a browser and a WINTALK peer on different gateways")
    b1, ga = c.land("web", c.browser)
    welcome = gwtest.hello2(b1, nick="webber", rooms={"#lobby": 0})
    epoch, token = welcome["epoch"], welcome["token"]
    s1 = Seen(b1, welcome)
    gb = GATEWAYS[1 - GATEWAYS.index(ga)]
    t1, _ = c.land_on("tcp", c.peer, gb)
    print("browser on %s, WINTALK peer on %s (epoch %s)" % (ga, gb, epoch))

    t1.send_line("hello from the WINTALK peer")
    ev = s1.message("hello from the WINTALK peer")
    assert ev["via"] == "tcp", ev
    say(b1, "hello from the browser")
    t1.wait_text("hello from the browser", EVENT_TIMEOUT)
    s1.message("hello from the browser")
    print("chat across gateways: WINTALK -> browser and browser -> WINTALK")

    print("== %s stopped" % ga)
    c.podman("stop", "-t", "10", c.ctr[ga])
    code = s1.until_closed()
    print("the browser on %s was closed (%s); it had seen up to id %d" % (ga, code, s1.last_id))
    c.wait_servers((gb,))
    print("HAProxy took %s out" % ga)

    b3, g = c.land("web", c.browser)
    assert g == gb, "a new browser went to the stopped %s" % g
    s3 = Seen(b3, gwtest.hello2(b3, nick="latecomer"))
    (t2, transcript), g = c.land("tcp", c.peer)
    assert g == gb, "a new WINTALK peer went to the stopped %s" % g
    assert "hello from the browser" in transcript, transcript
    print("new browser and WINTALK peer on %s; the peer's transcript has the chat so far" % gb)

    t2.send_line("missed one, from WINTALK")
    assert s3.message("missed one, from WINTALK")["via"] == "tcp"
    say(b3, "missed two, from a browser")
    t2.wait_text("missed two, from a browser", EVENT_TIMEOUT)
    t1.wait_text("missed two, from a browser", EVENT_TIMEOUT)
    print("chat goes on with one gateway")

    b1r, g = c.land("web", c.browser)
    assert g == gb, g
    back = gwtest.hello2(b1r, nick="webber", rooms={"#lobby": s1.last_id}, epoch=epoch,
                         token=token)
    assert back["epoch"] == epoch and back["reset"] is False, back
    lobby = back["rooms"][0]
    assert lobby["room"] == "#lobby" and lobby["gap"] is False, lobby
    assert all(e["id"] > s1.last_id for e in lobby["history"]), lobby["history"]
    texts = [e.get("text") for e in lobby["history"] if e["type"] == "message"]
    assert texts == ["missed one, from WINTALK", "missed two, from a browser"], texts
    print("the browser from %s resumed on %s after id %d and got %r"
          % (ga, gb, s1.last_id, texts))

    print("== %s started again" % ga)
    c.podman("start", c.ctr[ga])
    c.wait_servers(GATEWAYS)
    b4 = c.land_on("web", c.browser, ga)
    s4 = Seen(b4, gwtest.hello2(b4, nick="returner"))
    t1.send_line("welcome back")
    s4.message("welcome back")
    print("HAProxy sends connections to %s again, and it is in the same chat" % ga)
    for x in (b1r, b3, b4, t1, t2):
        x.close()

    dns = NetworkDns(c.project)
    print("== the network's DNS forgets %s's name for %d s" % (gb, DNS_FAULT_S))
    forgotten = dns.forget(gb)
    try:
        c.keep_servers(GATEWAYS, DNS_FAULT_S / 2)
        b6 = c.land_on("web", c.browser, gb)
        b6.close()
        c.keep_servers(GATEWAYS, DNS_FAULT_S / 2)
    finally:
        dns.restore(forgotten)
    print("HAProxy kept both gateways UP, and a browser still landed on %s" % gb)
    print("== the network's DNS does not answer for %d s" % DNS_FAULT_S)
    dns.stop()
    try:
        c.keep_servers(GATEWAYS, DNS_FAULT_S)
    finally:
        dns.cont()
    print("HAProxy kept both gateways UP")

    print("== HAProxy restarted while %s is down" % gb)
    c.podman("stop", "-t", "10", c.ctr[gb])
    c.podman("restart", "-t", "10", c.ctr["haproxy"])
    c.wait_servers((ga,))
    check_container.check_page(c.http_port)
    print("HAProxy started with %s down and serves from %s" % (gb, ga))

    print("== Redis stopped and started again")
    c.podman("stop", "-t", "10", c.ctr["redis"])
    c.wait_servers(())
    t3 = wtlib.TcpClient(c.tcp_port, timeout=EVENT_TIMEOUT)
    try:
        got = t3.read_exact(len(wtlib.HANDSHAKE))
        raise AssertionError("a WINTALK peer was let in without Redis: %r" % got)
    except ConnectionError:
        pass
    t3.close()
    print("without Redis, %s is not ready and HAProxy lets no WINTALK peer in" % ga)
    c.podman("start", c.ctr["redis"])
    c.wait_servers((ga,))
    b5 = c.browser()
    again = gwtest.hello2(b5, nick="afterwards")
    assert again["epoch"] == epoch and again["reset"] is False, again
    texts = [e.get("text") for e in again["rooms"][0]["history"] if e["type"] == "message"]
    for t in ("hello from the WINTALK peer", "hello from the browser",
              "missed two, from a browser", "welcome back"):
        assert t in texts, (t, texts)
    b5.close()
    print("after Redis' restart the history is all there (its append-only file), same epoch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
