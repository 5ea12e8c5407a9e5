"""A TCP peer that is dropped for a reason is told the reason, last, even when
its output queue is full.

The peer stops reading and, in one write, asks for more replies than fit in
its queue in the gateway (64 KiB) but for less than one short reply, then
sends a malformed frame: the gateway reads that write in one go, so the line
saying why the peer is dropped meets a full queue. When the peer reads again,
everything it gets must end with that line: it is never cut without being
told.
"""
import socket
import time
import unittest

from gwtest import FrameParser, Gateway, TcpClient, WsClient, frame, main

QUEUE_MAX = 64 * 1024  # GW_TCP_QUEUE_MAX_BYTES, the default
BAD_FRAME = b"A1234567890123456789:"  # a header of 20 characters
ONE_READ = 4096  # what the gateway reads from a TCP peer at once
NICKS = ["participant_number_%05d" % i for i in range(20)]  # 24 characters each


def read_to_end(sock, timeout):
    """Everything the peer is sent until the gateway closes it."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            return data, True
        data += chunk
    return data, False


class LastLine(unittest.TestCase):
    def test_a_peer_with_a_full_queue_is_told_why_it_is_dropped(self):
        with Gateway() as gw:
            # A room of long nicks, so that /who has a long answer.
            browsers = []
            for nick in NICKS:
                w = WsClient(gw.http_port)
                self.assertEqual(w.hello(nick=nick)["you"]["nick"], nick)
                browsers.append(w)
            peer = TcpClient(gw.tcp_port)
            self.assertIn("%s joined" % NICKS[-1], peer.read_greeting()[1][1])
            # The replies' sizes, as the gateway sends them.
            peer.send_line("/who")
            who = peer.wait_text("21 here:")[-1][1]
            peer.send_line("/q")
            unknown = peer.wait_text("unknown command")[-1][1]
            probe = TcpClient(gw.tcp_port)
            probe.read_greeting()
            probe.send(BAD_FRAME)
            reason = probe.wait_text("; closing")[-1][1]
            probe.close()
            peer.wait_text("guest-2 left")
            peer.drain()
            self.assertRegex(reason, r"^\* error 500: malformed frame: .*; closing\r\n$")
            w_len, q_len, r_len = (len(frame("A", t)) for t in (who, unknown, reason))

            # /who answers, then /q answers up to less than one /q answer
            # (which is shorter than the reason) from the queue's bound.
            n_who = QUEUE_MAX // w_len
            n_q = (QUEUE_MAX - n_who * w_len) // q_len
            self.assertLess(QUEUE_MAX - n_who * w_len - n_q * q_len, r_len)
            burst = frame("A", "/who\n") * n_who + frame("A", "/q\n") * n_q + BAD_FRAME
            self.assertLessEqual(len(burst), ONE_READ)
            peer.send(burst)
            # Reading again (within the gateway's grace for a closing peer):
            # everything, to the end.
            data, ended = read_to_end(peer.sock, 20)
            peer.close()
            self.assertTrue(ended, "the connection was not closed")
            frames = FrameParser().feed(data)
            self.assertTrue(frames, "nothing at all after the burst")
            self.assertEqual(frames[-1], ("A", reason),
                             "the last of %d frames (%d bytes) is %r, not the reason"
                             % (len(frames), len(data), frames[-1]))
            self.assertEqual([f for f in frames if "; closing" in f[1]], [("A", reason)])
            # What came before it are the answers asked for (the oldest made
            # room for the reason).
            self.assertTrue(all(f in (("A", who), ("A", unknown)) for f in frames[:-1]))
            gw.wait_log('reason="malformed frame', 5)
            for w in browsers:
                w.close()


if __name__ == "__main__":
    main()
