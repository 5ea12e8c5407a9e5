#!/usr/bin/env python3
"""wclib's Check, which every client test script ends with: finish() fails
a script that ran no check (it proves nothing), fails one with a failed
check, and passes one whose checks all passed. Each case runs as a script
of its own, and its exit status is what is checked."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from wclib import Check, args  # noqa: E402


def run(body):
    """Exit status and output of a script that makes a Check, runs body
    (Python, with the Check as t) and calls finish()."""
    script = f"import sys; sys.path.insert(0, {HERE!r})\nfrom wclib import Check\n" \
             f"t = Check('inner')\n{body}\nt.finish()\n"
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout


def main():
    args()
    t = Check("client.wclib")
    rc, out = run("pass")
    t(rc == 1 and "no check ran" in out, "no check ran: the script fails", f"rc={rc} {out!r}")
    rc, out = run("t(True, 'one')")
    t(rc == 0, "one check, passed: the script passes", f"rc={rc} {out!r}")
    rc, out = run("t(True, 'one'); t(False, 'two')")
    t(rc == 1, "a check failed: the script fails", f"rc={rc} {out!r}")
    t.finish()


if __name__ == "__main__":
    main()
