#!/usr/bin/env python3
"""read_flood: what a flood of slow searches does to live traffic.

    python3 bench/read_flood.py [--gateway PATH] [--conns 30] [--per 4] [--seconds 6]

starts a gateway (the sqlite store, a fresh data directory, on 127.0.0.1
free ports; PATH defaults to $WINTALK_GATEWAY or the first
build*/gateway/wintalk-gateway), fills the room #s with ~2,100 messages of
4 KiB "b a a ... a" through one browser, then has --conns browsers keep
--per searches each outstanding for the phrase "a a ... a b" (126 a's: it
never matches, so the full-text index checks positions in every row), and
meanwhile measures a bystander in #lobby: its say-to-echo round trips, GET
/livez, how long the first search answer took (first_answer_s) and by when
every flooding browser had one (all_first_answer_s; any answer counts,
refusals too). Prints one JSON line.

tests/gateway/test_read_flood.py imports run() and fill() from here.
"""
import json
import os
import re
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

from wtlib import Gateway, WsClient, http_get  # noqa: E402

TEXT = "b" + " a" * 2047                       # 4,095 bytes
PHRASE = '"' + "a " * 126 + 'b"'               # 255 bytes: never matches TEXT
ROOM = "#s"


def _bound(name):
    with open(os.path.join(HERE, "..", "gateway", "proto", "gw_limits.h")) as f:
        m = re.search(r"#define %s (\d+)u" % name, f.read())
    return int(m.group(1))


GW_READS_MAX = _bound("GW_READS_MAX")


def hello(port, nick, rooms=None, epoch=None):
    w = WsClient(port, subprotocol="wintalk.v2", timeout=30)
    msg = {"type": "hello", "nick": nick}
    if rooms is not None:
        msg["rooms"] = rooms
    if epoch is not None:
        msg["epoch"] = epoch
    w.send_json(msg)
    welcome = w.next_event(lambda e: e.get("type") == "welcome", 30)
    return w, welcome


def fill(port, count=2100, window=50, log=None):
    """Say count messages TEXT in ROOM through one browser, window at a time
    (each window's echoes awaited). Returns (epoch, the room's last id)."""
    t0 = time.monotonic()
    w, welcome = hello(port, "filler", rooms={"#lobby": 0, ROOM: 0})
    last = 0
    sent = 0
    while sent < count:
        n = min(window, count - sent)
        for _ in range(n):
            w.send_json({"type": "say", "room": ROOM, "text": TEXT})
        got = 0
        while got < n:
            for e in w.recv_events(30):
                if e.get("type") == "message" and e.get("room") == ROOM:
                    got += 1
                    last = e["id"]
                elif e.get("type") == "error":
                    raise AssertionError("fill: %r" % e)
        sent += n
    w.close()
    if log:
        log("filled %s with %d messages of %d bytes in %.1f s" %
            (ROOM, count, len(TEXT), time.monotonic() - t0))
    return welcome["epoch"], last


class Flooder(threading.Thread):
    """One browser that keeps `per` searches outstanding until stopped: a new
    one for each answer; after a refusal (421, 429) a pause first."""

    def __init__(self, w, per, t0, stats):
        super().__init__(daemon=True)
        self.w, self.per, self.t0, self.stats = w, per, t0, stats
        self.stop = threading.Event()
        self.n = 0
        self.first = None  # s from the flood's start to this browser's first answer

    def send(self):
        self.n += 1
        self.w.send_json({"type": "search", "room": ROOM, "q": PHRASE, "ref": "q%d" % self.n})
        self.stats.add("sent")

    def run(self):
        try:
            for _ in range(self.per):
                self.send()
            while not self.stop.is_set():
                try:
                    evs = self.w.recv_events(0.5)
                except TimeoutError:
                    continue
                for e in evs:
                    if "ref" not in e:
                        continue
                    if self.first is None:
                        self.first = time.monotonic() - self.t0
                    self.stats.answer(e, time.monotonic() - self.t0)
                    if e.get("type") == "error" and e.get("code") in (421, 429):
                        self.stop.wait(0.2)
                    if not self.stop.is_set():
                        self.send()
        except Exception:
            return


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.first_answer_s = None

    def add(self, k, n=1):
        with self.lock:
            self.c[k] = self.c.get(k, 0) + n

    def answer(self, e, t):
        k = e["type"] if e["type"] != "error" else "error %s" % e.get("code")
        self.add(k)
        self.add("answered")
        with self.lock:
            if e["type"] == "search" or e.get("code") == 451:
                if self.first_answer_s is None:
                    self.first_answer_s = t

    def get(self, k):
        with self.lock:
            return self.c.get(k, 0)


def _livez(port, stop, out):
    while not stop.is_set():
        t = time.monotonic()
        try:
            status, _, _ = http_get(port, "/livez", timeout=10)
        except Exception:
            status = None
        out.append(((time.monotonic() - t) * 1000.0, status))
        stop.wait(0.2)


def run(port, conns=30, per=4, seconds=6.0, count=2100, log=None, fill_room=True, epoch=None,
        last=None):
    """Fill (unless fill_room is False: then the room was filled under
    epoch, up to id last), flood, measure; returns the figures as a dict
    (ms)."""
    if fill_room:
        epoch, last = fill(port, count=count, log=log)
    bystander, _ = hello(port, "bystander")
    flood = []
    for i in range(conns):
        w, _ = hello(port, "flood%d" % i, rooms={"#lobby": 0, ROOM: last}, epoch=epoch)
        flood.append(w)
    stats = Stats()
    t0 = time.monotonic()
    threads = [Flooder(w, per, t0, stats) for w in flood]
    for t in threads:
        t.start()
    time.sleep(0.3)
    outstanding = stats.get("sent") - stats.get("answered")
    stop = threading.Event()
    livez = []
    lt = threading.Thread(target=_livez, args=(port, stop, livez), daemon=True)
    lt.start()
    rtts = []
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        i += 1
        text = "ping %d" % i
        t = time.monotonic()
        bystander.send_json({"type": "say", "text": text})
        try:
            bystander.next_event(lambda e: e.get("type") == "message" and e.get("text") == text,
                                 timeout=max(1.0, end - time.monotonic() + 1.0))
            rtts.append((time.monotonic() - t) * 1000.0)
        except TimeoutError:
            rtts.append((time.monotonic() - t) * 1000.0)
            break
        time.sleep(0.02)
    stop.set()
    lt.join(15)
    for t in threads:
        t.stop.set()
    for t in threads:
        t.join(5)
    for w in flood + [bystander]:
        try:
            w.close()
        except Exception:
            pass
    rtts_sorted = sorted(rtts)
    lz = [ms for ms, _ in livez]
    return {
        "conns": conns, "per": per, "messages": count,
        "outstanding_at_start": outstanding,
        "say_samples": len(rtts),
        "say_median_ms": round(statistics.median(rtts), 1) if rtts else None,
        "say_p99_ms": round(rtts_sorted[min(len(rtts) - 1, int(len(rtts) * 0.99))], 1)
        if rtts else None,
        "livez_samples": len(lz),
        "livez_max_ms": round(max(lz), 1) if lz else None,
        "livez_median_ms": round(statistics.median(lz), 1) if lz else None,
        "first_answer_s": round(stats.first_answer_s, 2) if stats.first_answer_s else None,
        # By when every flooding browser had its first answer (None: one never had).
        "all_first_answer_s": round(max(t.first for t in threads), 2)
        if all(t.first is not None for t in threads) else None,
        "answers": dict(stats.c),
    }


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gateway", default=None)
    ap.add_argument("--conns", type=int, default=30)
    ap.add_argument("--per", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--messages", type=int, default=2100)
    ap.add_argument("args", nargs="*", help="more gateway flags (after --)")
    a = ap.parse_args()
    with Gateway(binary=a.gateway, args=a.args) as gw:
        r = run(gw.http_port, a.conns, a.per, a.seconds, a.messages,
                log=lambda s: print(s, file=sys.stderr))
    print(json.dumps(r))


if __name__ == "__main__":
    main()
