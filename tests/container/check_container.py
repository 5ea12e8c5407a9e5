#!/usr/bin/env python3
"""Checks a running gateway container from the host, on 127.0.0.1:

- the page is served on the HTTP port, with its CSP;
- a WINTALK client on the TCP port gets the handshake and the priming;
- a line typed by that client reaches a WebSocket client as a message;
- /healthz names the gateway's loop (poll+libuv);
- with --kept TEXT --epoch HEX (after `compose down` and `up`): the history
  still has the message TEXT, under the same epoch.

Usage: check_container.py --http-port N --tcp-port N [--kept TEXT --epoch HEX]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wtlib  # noqa: E402


def check_page(http_port):
    """GET / on http_port: 200, the page's HTML, its CSP. Prints a line."""
    status, headers, body = wtlib.http_get(http_port, "/")
    assert status == 200, status
    assert b"<html" in body.lower(), body[:200]
    assert "content-security-policy" in headers, headers
    print("page: 200, %d bytes, CSP present" % len(body))


def open_wintalk(tcp_port, timeout=10):
    """A WINTALK peer on tcp_port that got the 12-byte handshake, the
    priming and the transcript's R frame. Returns (client, transcript);
    the caller closes the client."""
    tcp = wtlib.TcpClient(tcp_port, timeout=timeout)
    first24, (op, transcript) = tcp.read_greeting()
    assert first24 == wtlib.HANDSHAKE + wtlib.PRIMING, first24
    assert op == "R", op
    return tcp, transcript


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--tcp-port", type=int, required=True)
    ap.add_argument("--kept")
    ap.add_argument("--epoch")
    a = ap.parse_args()

    if a.kept:
        ws = wtlib.WsClient(a.http_port)
        welcome = ws.hello(nick="returner")
        texts = [e.get("text") for e in welcome["history"]]
        assert a.kept in texts, "history after down/up: %r" % texts
        assert welcome["epoch"] == a.epoch, (welcome["epoch"], a.epoch)
        assert welcome["reset"] is False, welcome
        print("history kept: %r under epoch %s" % (a.kept, welcome["epoch"]))
        ws.close()
        return 0

    check_page(a.http_port)

    status, _, body = wtlib.http_get(a.http_port, "/healthz")
    assert status == 200, status
    assert json.loads(body)["loop"] == "poll+libuv", body
    print("healthz:", body.decode()[:120])

    ws = wtlib.WsClient(a.http_port)
    welcome = ws.hello(nick="webber")
    assert welcome["type"] == "welcome", welcome
    print("epoch:", welcome["epoch"])

    tcp, _ = open_wintalk(a.tcp_port)
    print("wintalk: handshake and priming received")

    tcp.send_line("hello from the container test")
    ev = ws.next_event(lambda e: e.get("type") == "message", timeout=10)
    assert ev["text"] == "hello from the container test", ev
    assert ev["via"] == "tcp", ev
    print("websocket: got %r from %s (%s)" % (ev["text"], ev["nick"], ev["via"]))
    tcp.close()
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
