#!/usr/bin/env python3
"""redis_ctl.py PROGRAM [ARGS...]: run a C test program against a real
redis-server of its own (wtlib.Redis, 127.0.0.1, a free port, a temporary
directory), and do to that server what the program asks.

The program finds the port in $WT_REDIS_PORT. It asks through two pipes
named in $WT_REDIS_CTL ("WFD,RFD"): it writes one request a line, fields
separated by tabs, and reads one answer a line: "ok<TAB>TEXT" or
"err<TAB>TEXT".

    kill | stop | start | pause | resume | flushall
                    SIGKILL, SIGTERM, start again (same port and dir),
                    SIGSTOP, SIGCONT, FLUSHALL
    killpaused      SIGKILL without the SIGCONT that kill sends first: a
                    paused server dies without running what it has read
    auth PASSWORD   start a second redis-server that wants AUTH PASSWORD
                    (stopped at the end); TEXT is its port
    cmd DB ARG...   one command on a new connection to database DB; TEXT is
                    the reply: a string or status as is, an integer in
                    decimal, nil as (nil), an array's items joined by ','

Exits with the program's status. redis-server missing is a failure, not a
skip: scripts/deps.sh test installs it.
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wtlib  # noqa: E402


def flat(rep):
    if rep is None:
        return "(nil)"
    if isinstance(rep, bytes):
        return rep.decode("utf-8", "replace")
    if isinstance(rep, list):
        return ",".join(flat(x) for x in rep)
    return str(rep)


def answer(rs, fields, others):
    op = fields[0]
    if op == "auth":
        others.append(wtlib.Redis(args=("--requirepass", fields[1])))
        return str(others[-1].port)
    if op == "kill":
        rs.kill()
    elif op == "killpaused":
        os.kill(rs.pid, signal.SIGKILL)
        rs.proc.wait(10)
    elif op == "stop":
        rs.stop()
    elif op == "start":
        rs.start()
    elif op == "pause":
        rs.pause()
    elif op == "resume":
        rs.resume()
    elif op == "flushall":
        rs.flushall()
    elif op == "cmd":
        return flat(rs.command(*fields[2:], db=int(fields[1])))
    else:
        raise ValueError("unknown request %r" % op)
    return ""


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: redis_ctl.py PROGRAM [ARGS...]")
    others = []
    with wtlib.Redis() as rs:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        env = dict(os.environ, WT_REDIS_PORT=str(rs.port), WT_REDIS_CTL="%d,%d" % (req_w, rep_r))
        child = subprocess.Popen(sys.argv[1:], env=env, pass_fds=(req_w, rep_r))
        os.close(req_w)
        os.close(rep_r)
        with os.fdopen(req_r, "r") as requests, os.fdopen(rep_w, "w") as replies:
            for line in requests:
                fields = line.rstrip("\n").split("\t")
                try:
                    text = "ok\t" + answer(rs, fields, others)
                except (wtlib.RedisError, OSError, RuntimeError, ValueError) as e:
                    text = "err\t%s" % e
                replies.write(text.replace("\n", " ") + "\n")
                replies.flush()
        code = child.wait()
    for o in others:
        o.close()
    sys.exit(code)


if __name__ == "__main__":
    main()
