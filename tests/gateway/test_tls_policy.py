#!/usr/bin/env python3
"""What the gateway's two TLS listeners offer, seen from outside with the real
openssl command, and Strict-Transport-Security on its HTTPS answers.

Both the HTTPS port and the WINTALK-over-TLS port follow Mozilla's
"intermediate" server profile for TLS 1.2 (ECDHE with AES-GCM or
ChaCha20-Poly1305 only): a CBC suite, with or without ECDHE, and a static-RSA
AEAD suite are refused, an intermediate suite is accepted, TLS 1.1 is refused
and TLS 1.3 works. Each refusal is first shown to be the gateway's: the same
openssl client completes that very handshake with `openssl s_server` made to
allow it, with the same certificate.

HTTPS answers (files, errors, /livez) carry Strict-Transport-Security with
the max-age of --hsts-max-age (or WINTALK_HSTS_MAX_AGE; a year by default, 0
for none); plain HTTP never does. Everything listens on 127.0.0.1.
"""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from gwtest import Gateway, find_gateway, http_get, main


# Refused in TLS 1.2: CBC with ECDHE (SHA-256 and SHA-1 MACs), and AEAD
# without forward secrecy.
REFUSED_12 = ["ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES256-SHA384",
              "AES128-GCM-SHA256", "AES256-SHA"]
# Accepted in TLS 1.2 with an RSA certificate.
ACCEPTED_12 = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
               "ECDHE-RSA-CHACHA20-POLY1305"]


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def s_client(port, *args):
    """One handshake by `openssl s_client` (nothing sent after it): the
    protocol and suite agreed, or None when the handshake failed."""
    p = subprocess.run(["openssl", "s_client", "-brief", "-connect", "127.0.0.1:%d" % port]
                       + list(args), stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    out = p.stdout.decode("latin-1") + p.stderr.decode("latin-1")
    if "CONNECTION ESTABLISHED" not in out:
        return None
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return fields.get("Protocol version"), fields.get("Ciphersuite")


class Suites(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="wttlspol-")
        cls.cert, cls.key = make_cert(cls.dir)
        cls.gw = Gateway(args=["--store", "memory", "--tls-cert", cls.cert, "--tls-key", cls.key,
                               "--tls-tcp-port", "0"])
        cls.ports = {"https": cls.gw.http_port, "wintalk-tls": cls.gw.tls_port}

    @classmethod
    def tearDownClass(cls):
        assert cls.gw.stop() == 0
        shutil.rmtree(cls.dir, ignore_errors=True)

    def control_server(self, *args):
        """`openssl s_server` with the same certificate, allowing what args
        say; returns (process, port) once it answers."""
        port = free_port()
        p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert",
                              self.cert, "-key", self.key, "-naccept", "50", "-quiet"]
                             + list(args), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        p.kill()
        p.wait(5)
        self.fail("openssl s_server did not start")

    def test_cbc_and_static_rsa_refused_on_both_ports(self):
        ctl, cport = self.control_server("-cipher", "ALL:@SECLEVEL=0")
        try:
            for suite in REFUSED_12:
                self.assertEqual(s_client(cport, "-tls1_2", "-cipher", suite + ":@SECLEVEL=0"),
                                 ("TLSv1.2", suite), "control: the client can offer " + suite)
        finally:
            ctl.kill()
            ctl.wait(5)
        for name, port in self.ports.items():
            for suite in REFUSED_12:
                self.assertIsNone(s_client(port, "-tls1_2", "-cipher", suite + ":@SECLEVEL=0"),
                                  "%s accepted %s" % (name, suite))

    def test_intermediate_suites_accepted_on_both_ports(self):
        for name, port in self.ports.items():
            for suite in ACCEPTED_12:
                self.assertEqual(s_client(port, "-tls1_2", "-cipher", suite), ("TLSv1.2", suite),
                                 name)
            got = s_client(port, "-tls1_3")
            self.assertIsNotNone(got, name + ": TLS 1.3")
            self.assertEqual(got[0], "TLSv1.3")
            self.assertIn(got[1], ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                   "TLS_AES_128_GCM_SHA256"))
            # A client that offers CBC first and GCM last gets GCM.
            got = s_client(port, "-tls1_2", "-cipher",
                           "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
            self.assertEqual(got, ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), name)

    def test_tls11_refused_on_both_ports(self):
        ctl, cport = self.control_server("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
        try:
            got = s_client(cport, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
            self.assertIsNotNone(got, "control: the client speaks TLS 1.1")
            self.assertEqual(got[0], "TLSv1.1")
        finally:
            ctl.kill()
            ctl.wait(5)
        for name, port in self.ports.items():
            self.assertIsNone(s_client(port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"), name)

    def test_wintalk_over_tls_still_greets(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        s = socket.create_connection(("127.0.0.1", self.gw.tls_port), timeout=5)
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
            data = b""
            while len(data) < 24:
                chunk = tls.recv(24 - len(data))
                if not chunk:
                    break
                data += chunk
            self.assertEqual(data, b"WINTALK .NETR0:R0:R0:R0:")
            self.assertIn(tls.cipher()[0], ("TLS_AES_256_GCM_SHA384",
                                            "TLS_CHACHA20_POLY1305_SHA256",
                                            "TLS_AES_128_GCM_SHA256"))


class Hsts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="wthsts-")
        cls.cert, cls.key = make_cert(cls.dir)
        cls.ctx = ssl.create_default_context(cafile=cls.cert)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tls_args(self):
        return ["--store", "memory", "--tls-cert", self.cert, "--tls-key", self.key,
                "--tls-tcp-port", "0"]

    def headers_of(self, gw, tls):
        """The Strict-Transport-Security header (or None) of a file, a 404
        and /livez."""
        out = []
        for path in ("/", "/no-such-file", "/livez"):
            status, hdrs, _ = http_get(gw.http_port, path, ssl_context=self.ctx if tls else None)
            self.assertIn(status, (200, 404))
            out.append(hdrs.get("strict-transport-security"))
        return out

    def test_https_sends_configured_max_age(self):
        with Gateway(args=self.tls_args() + ["--hsts-max-age", "4321"]) as gw:
            self.assertEqual(self.headers_of(gw, True), ["max-age=4321"] * 3)
        with Gateway(args=self.tls_args(), env={"WINTALK_HSTS_MAX_AGE": "86400"}) as gw:
            self.assertEqual(self.headers_of(gw, True), ["max-age=86400"] * 3)
        with Gateway(args=self.tls_args() + ["--hsts-include-subdomains"]) as gw:
            self.assertEqual(self.headers_of(gw, True),
                             ["max-age=31536000; includeSubDomains"] * 3)

    def test_default_is_a_year_and_zero_sends_none(self):
        with Gateway(args=self.tls_args()) as gw:
            self.assertEqual(self.headers_of(gw, True), ["max-age=31536000"] * 3)
        with Gateway(args=self.tls_args() + ["--hsts-max-age", "0"]) as gw:
            self.assertEqual(self.headers_of(gw, True), [None] * 3)

    def test_plain_http_never_sends_it(self):
        with Gateway(args=["--store", "memory", "--hsts-max-age", "4321",
                           "--hsts-include-subdomains"]) as gw:
            self.assertEqual(self.headers_of(gw, False), [None] * 3)
            # The other security headers are there: the answer is ours.
            _, hdrs, _ = http_get(gw.http_port, "/")
            self.assertEqual(hdrs.get("x-content-type-options"), "nosniff")

    def test_help_names_the_flags(self):
        out = subprocess.run([find_gateway(), "--help"], capture_output=True, text=True,
                             timeout=10).stdout
        for s in ("--hsts-max-age", "WINTALK_HSTS_MAX_AGE (31536000)",
                  "--hsts-include-subdomains", "WINTALK_HSTS_INCLUDE_SUBDOMAINS (0)"):
            self.assertIn(s, out)

    def test_bad_values_refused(self):
        for bad in ("-1", "x", "63072001"):
            p = subprocess.run([find_gateway(),
                                "--hsts-max-age", bad], capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--hsts-max-age", p.stderr)


if __name__ == "__main__":
    main()
