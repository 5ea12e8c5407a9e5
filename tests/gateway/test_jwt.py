#!/usr/bin/env python3
"""A site's JWTs (server/gw_jwt.h), through the test program jwt_check
(WINTALK_JWT_CHECK): keys made by `openssl rand` and `openssl genpkey`,
tokens signed by `openssl dgst` (an ES256 signature turned from DER into the
JWS form r||s here), each verified at a given time.

Accepted: HS256, RS256 and ES256 with their claims. Refused, each with its
exact code and words that say why: an expired token (at the leeway's edge
exactly), one not yet valid, a flipped bit, another key's token, `alg: none`,
HS256 signed with the RSA public key's PEM as its secret against that RSA key,
4097 bytes (4096 pass), two parts, bad base64, no sub, a wrong iss or aud,
an oversize nick, rooms that are not an array. And keys gw_jwt_open refuses.
Python's standard library only, and the openssl command.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import unittest

CHECK = os.environ.get("WINTALK_JWT_CHECK", "")

NOW = 1_900_000_000
LEEWAY = 60          # GW_JWT_LEEWAY_S
MAX_BYTES = 4096     # GW_JWT_MAX_BYTES
NICK_MAX = 96        # GW_NICK_MAX_BYTES
ROOMS_MAX = 16       # GW_JWT_ROOMS_MAX
ROOM_MAX = 33        # GW_ROOM_NAME_MAX_BYTES

# jwt_check's exit codes: 10 + the code's absolute value (gw_jwt.h).
OK, KEY = 0, 2
TOO_LARGE, FORM, ALG, SIGNATURE, EXPIRED, EARLY, ISSUER, AUDIENCE, CLAIM = range(11, 20)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def openssl(*args, data=None):
    p = subprocess.run(["openssl"] + list(args), input=data, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


def der_to_jws(der):
    """An ECDSA signature as OpenSSL writes it, SEQUENCE { INTEGER r,
    INTEGER s } in DER, turned into the JWS form: r and s as 32 bytes each."""
    assert der[0] == 0x30, der.hex()
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02, der.hex()
        n = der[i + 1]
        v = der[i + 2:i + 2 + n]
        i += 2 + n
        v = v.lstrip(b"\0")
        assert len(v) <= 32, der.hex()
        out += v.rjust(32, b"\0")
    assert i == len(der), der.hex()
    return out


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def part(obj):
    """A header or payload: a dict as compact JSON, or text as it is."""
    if isinstance(obj, str):
        return b64u(obj.encode())
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


class Keys:
    """Every key the tests use, made once in a temporary folder."""

    def __init__(self, d):
        self.d = d
        # HMAC secrets: text, as `openssl rand -hex` writes it (with a line
        # end, which is not part of the secret).
        self.hs = self.path("hs.key")
        openssl("rand", "-hex", "-out", self.hs, "32")
        self.hs_secret = slurp(self.hs).rstrip(b"\n")
        assert len(self.hs_secret) == 64
        self.hs2 = self.path("hs2.key")
        openssl("rand", "-hex", "-out", self.hs2, "32")
        self.hs2_secret = slurp(self.hs2).rstrip(b"\n")
        for f in (self.hs, self.hs2):
            os.chmod(f, 0o600)
        self.rsa, self.rsa_pub = self.pair("rsa", "RSA", "rsa_keygen_bits:2048")
        self.rsa2, self.rsa2_pub = self.pair("rsa2", "RSA", "rsa_keygen_bits:2048")
        self.ec, self.ec_pub = self.pair("ec", "EC", "ec_paramgen_curve:P-256")
        self.ec2, self.ec2_pub = self.pair("ec2", "EC", "ec_paramgen_curve:P-256")

    def path(self, name):
        return os.path.join(self.d, name)

    def pair(self, name, algorithm, opt):
        key, pub = self.path(name + ".key"), self.path(name + ".pub")
        openssl("genpkey", "-algorithm", algorithm, "-pkeyopt", opt, "-out", key)
        openssl("pkey", "-in", key, "-pubout", "-out", pub)
        return key, pub


def sign(alg, signing_input, key):
    """The signature of SIGNING_INPUT (bytes) by the openssl command: KEY is
    an HMAC secret (bytes) for HS256, a private key file otherwise."""
    if alg == "HS256":
        return openssl("dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + key.hex(),
                       "-binary", data=signing_input)
    der_or_rsa = openssl("dgst", "-sha256", "-sign", key, "-binary", data=signing_input)
    return der_to_jws(der_or_rsa) if alg == "ES256" else der_or_rsa


def token(alg, claims, key, header=None):
    head = part(header if header is not None else {"alg": alg, "typ": "JWT"})
    body = part(claims)
    signing_input = (head + "." + body).encode()
    return head + "." + body + "." + b64u(sign(alg, signing_input, key))


def claims(**extra):
    c = {"sub": "user-42", "exp": NOW + 3600}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


class JwtTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not CHECK or not os.access(CHECK, os.X_OK):
            raise AssertionError("WINTALK_JWT_CHECK must name the jwt_check program: %r" % CHECK)
        cls.tmp = tempfile.TemporaryDirectory(prefix="wt-jwt-")
        cls.k = Keys(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_check(self, keyfile, tok, *opts, now=NOW):
        p = subprocess.run([CHECK, "--now", str(now)] + list(opts) + [keyfile],
                           input=tok.encode() if isinstance(tok, str) else tok,
                           capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode().strip(), p.stderr.decode()

    def accepted(self, keyfile, tok, *opts, now=NOW):
        rc, out, err = self.run_check(keyfile, tok, *opts, now=now)
        self.assertEqual((rc, err), (OK, ""), out)
        self.assertTrue(out.startswith("ok "), out)
        return out

    def refused(self, keyfile, tok, code, words, *opts, now=NOW):
        rc, out, err = self.run_check(keyfile, tok, *opts, now=now)
        self.assertEqual(rc, code, out + err)
        self.assertRegex(out, r"^refused \w+: ", out)
        self.assertRegex(out.lower(), words)
        return out

    # ---- accepted ------------------------------------------------------

    def test_hs256_accepted_with_its_claims(self):
        k = self.k
        tok = token("HS256", claims(nick="Ann", admin=True, rooms=["#lobby", "#dev"]),
                    k.hs_secret)
        self.assertEqual(self.accepted(k.hs, tok),
                         "ok sub=user-42 nick=Ann exp=%d admin=1 rooms=#lobby,#dev" % (NOW + 3600))

    def test_rs256_accepted_with_its_claims(self):
        k = self.k
        tok = token("RS256", claims(nick="Bo", admin=False), k.rsa)
        self.assertEqual(self.accepted(k.rsa_pub, tok),
                         "ok sub=user-42 nick=Bo exp=%d admin=0 rooms=" % (NOW + 3600))

    def test_es256_accepted_with_its_claims(self):
        k = self.k
        tok = token("ES256", claims(sub="é-7", rooms=["#a"]), k.ec)
        self.assertEqual(len(unb64u(tok.split(".")[2])), 64)
        self.assertEqual(self.accepted(k.ec_pub, tok),
                         "ok sub=é-7 nick= exp=%d admin=0 rooms=#a" % (NOW + 3600))

    def test_es256_der_signature_refused(self):
        # OpenSSL's own DER form is not JWS's r||s.
        k = self.k
        head, body = part({"alg": "ES256"}), part(claims())
        der = openssl("dgst", "-sha256", "-sign", k.ec, "-binary",
                      data=(head + "." + body).encode())
        self.refused(k.ec_pub, head + "." + body + "." + b64u(der), SIGNATURE, r"signature")

    # ---- time ----------------------------------------------------------

    def test_expiry_at_the_leeway_edge(self):
        k = self.k
        exp = NOW
        tok = token("HS256", claims(exp=exp), k.hs_secret)
        self.accepted(k.hs, tok, now=exp - 1)
        self.accepted(k.hs, tok, now=exp)                # past exp, inside the leeway
        self.accepted(k.hs, tok, now=exp + LEEWAY - 1)   # the last second accepted
        self.refused(k.hs, tok, EXPIRED, r"expired 60 s ago", now=exp + LEEWAY)
        self.refused(k.hs, tok, EXPIRED, r"expired", now=exp + 10 * LEEWAY)

    def test_expiry_without_leeway(self):
        k = self.k
        tok = token("HS256", claims(exp=NOW), k.hs_secret)
        self.accepted(k.hs, tok, "--leeway", "0", now=NOW - 1)
        self.refused(k.hs, tok, EXPIRED, r"expired 0 s ago", "--leeway", "0", now=NOW)

    def test_not_before_at_the_leeway_edge(self):
        k = self.k
        nbf = NOW + 1000
        tok = token("RS256", claims(nbf=nbf, exp=NOW + 5000), k.rsa)
        self.accepted(k.rsa_pub, tok, now=nbf - LEEWAY)
        self.refused(k.rsa_pub, tok, EARLY, r"valid only in 61 s", now=nbf - LEEWAY - 1)
        self.refused(k.rsa_pub, tok, EARLY, r"valid only in", now=NOW)

    def test_exp_missing_or_malformed(self):
        k = self.k
        self.refused(k.hs, token("HS256", claims(exp=None), k.hs_secret), CLAIM, r"no exp")
        for bad in ("1900003600", 1900003600.5, -1, True, [1], 2 ** 60):
            self.refused(k.hs, token("HS256", claims(exp=bad), k.hs_secret), CLAIM,
                         r"exp claim is not a whole number")
        self.refused(k.hs, token("HS256", claims(nbf="soon"), k.hs_secret), CLAIM,
                     r"nbf claim is not a whole number")

    # ---- signatures and keys ---------------------------------------------

    def flip(self, tok, bit=0):
        head, body, sig = tok.split(".")
        s = bytearray(unb64u(sig))
        s[len(s) // 2] ^= 1 << bit
        return head + "." + body + "." + b64u(bytes(s))

    def test_one_bit_flipped_refused(self):
        k = self.k
        for alg, key, pub in (("HS256", k.hs_secret, k.hs), ("RS256", k.rsa, k.rsa_pub),
                              ("ES256", k.ec, k.ec_pub)):
            tok = token(alg, claims(), key)
            self.accepted(pub, tok)
            self.refused(pub, self.flip(tok), SIGNATURE, r"signature does not verify")
            # A bit of the payload instead: the signature no longer fits.
            head, body, sig = tok.split(".")
            other = part(claims(sub="user-43"))
            self.refused(pub, head + "." + other + "." + sig, SIGNATURE,
                         r"signature does not verify")

    def test_a_token_for_another_key_refused(self):
        k = self.k
        self.refused(k.hs, token("HS256", claims(), k.hs2_secret), SIGNATURE, r"signature")
        self.refused(k.rsa_pub, token("RS256", claims(), k.rsa2), SIGNATURE, r"signature")
        self.refused(k.ec_pub, token("ES256", claims(), k.ec2), SIGNATURE, r"signature")
        # And each is good for its own key.
        self.accepted(k.hs2, token("HS256", claims(), k.hs2_secret))
        self.accepted(k.rsa2_pub, token("RS256", claims(), k.rsa2))

    def test_alg_none_refused(self):
        k = self.k
        for header in ({"alg": "none", "typ": "JWT"}, {"alg": "none"}, {"alg": "None"},
                       {"alg": "NONE"}):
            tok = part(header) + "." + part(claims()) + "."
            for keyfile in (k.hs, k.rsa_pub, k.ec_pub):
                self.refused(keyfile, tok, ALG, r"signed with \"none\"|signed with \"n")
        # With some signature bytes after it too.
        tok = part({"alg": "none"}) + "." + part(claims()) + "." + b64u(b"x" * 32)
        self.refused(k.hs, tok, ALG, r"none")

    def test_hs256_with_the_rsa_public_key_as_secret_refused(self):
        # The classic forgery: the RSA public key is public, and a verifier
        # that hands its PEM to the library for whatever alg the header
        # names checks this HMAC with it.
        k = self.k
        for pub, takes in ((k.rsa_pub, "RS256"), (k.ec_pub, "ES256")):
            pem = slurp(pub)
            for secret in (pem, pem.rstrip(b"\n")):
                tok = token("HS256", claims(admin=True), secret)
                head, body, sig = tok.split(".")
                # It is that forgery: an HMAC-SHA256 keyed with the PEM's bytes.
                self.assertEqual(unb64u(sig), hmac.new(secret, (head + "." + body).encode(),
                                                       hashlib.sha256).digest())
                self.refused(pub, tok, ALG, r"signed with \"hs256\": this gateway takes %s only"
                             % takes.lower())

    def test_other_algorithms_refused_for_each_key(self):
        k = self.k
        self.refused(k.hs, token("RS256", claims(), k.rsa), ALG, r"rs256.*hs256 only")
        self.refused(k.rsa_pub, token("ES256", claims(), k.ec), ALG, r"es256.*rs256 only")
        self.refused(k.ec_pub, token("RS256", claims(), k.rsa), ALG, r"rs256.*es256 only")
        # A sibling of the pinned one, signed properly with the same key.
        head, body = part({"alg": "RS512"}), part(claims())
        sig = openssl("dgst", "-sha512", "-sign", k.rsa, "-binary",
                      data=(head + "." + body).encode())
        self.refused(k.rsa_pub, head + "." + body + "." + b64u(sig), ALG, r"rs512")

    def test_header_refusals(self):
        k = self.k
        body = part(claims())
        sig = b64u(b"\1" * 32)
        self.refused(k.hs, part("not json") + "." + body + "." + sig, FORM,
                     r"header is not a json object")
        self.refused(k.hs, part({"typ": "JWT"}) + "." + body + "." + sig, FORM, r"no alg")
        self.refused(k.hs, part('{"alg":"HS256"} x') + "." + body + "." + sig, FORM,
                     r"header is not a json object")
        self.refused(k.hs, token("HS256", '{"sub":"u","exp":%d}{}' % (NOW + 60), k.hs_secret),
                     FORM, r"payload is not a json object")
        # White space around the JSON is still JSON.
        self.accepted(k.hs, token("HS256", ' {"sub":"u","exp":%d}\n' % (NOW + 60), k.hs_secret,
                                  header=' {"alg":"HS256"} '))
        self.refused(k.hs, part({"alg": 256}) + "." + body + "." + sig, FORM, r"no alg")
        self.refused(k.hs, token("HS256", claims(), k.hs_secret,
                                 header={"alg": "HS256", "typ": "at+jwt"}), FORM, r"typ")
        self.refused(k.hs, token("HS256", claims(), k.hs_secret,
                                 header={"alg": "HS256", "crit": ["exp"], "exp": 1}), FORM,
                     r"crit")
        self.refused(k.hs, token("HS256", claims(), k.hs_secret,
                                 header='{"alg":"none","alg":"HS256"}'), FORM, r"twice")
        # typ "jwt" in any case is fine.
        self.accepted(k.hs, token("HS256", claims(), k.hs_secret,
                                  header={"alg": "HS256", "typ": "jwt"}))

    # ---- form ----------------------------------------------------------

    def sized(self, total):
        """A good HS256 token of exactly TOTAL bytes (a padding claim and a
        kid in the header make up the length)."""
        for kid in range(0, 8):
            header = {"alg": "HS256", "typ": "JWT", "kid": "k" * kid}
            h = part(header)
            for pad in range(0, total):
                c = claims(pad="p" * pad)
                n = len(h) + 1 + len(part(c)) + 1 + 43
                if n == total:
                    tok = token("HS256", c, self.k.hs_secret, header=header)
                    self.assertEqual(len(tok), total)
                    return tok
                if n > total:
                    break
        raise AssertionError("no token of %d bytes" % total)

    def test_size_bound(self):
        k = self.k
        self.accepted(k.hs, self.sized(MAX_BYTES))
        self.refused(k.hs, self.sized(MAX_BYTES + 1), TOO_LARGE, r"4097 bytes: at most 4096")
        self.refused(k.hs, "a" * 100000, TOO_LARGE, r"at most 4096")

    def test_parts_and_base64(self):
        k = self.k
        tok = token("HS256", claims(), k.hs_secret)
        head, body, sig = tok.split(".")
        for bad in (head + "." + body, head + "." + body + "." + sig + "." + sig, "", ".", "..",
                    head, tok.replace(".", "")):
            self.refused(k.hs, bad, FORM, r"three parts|empty header")
        for bad in (head + "." + body + "!." + sig,          # not base64url at all
                    head + "." + body + "." + sig + "=",     # padding
                    head.replace("J", "+", 1) + "." + body + "." + sig,  # base64, not url
                    head + "." + body + "x." + sig,          # a length base64 cannot have
                    head + "." + body + "." + sig[:-1] + "B",  # bits that encode nothing
                    head + " ." + body + "." + sig):
            self.refused(k.hs, bad, FORM, r"not base64url")
        self.refused(k.hs, "." + body + "." + sig, FORM, r"empty header")
        self.refused(k.hs, head + "." + body + ".", SIGNATURE, r"no signature")
        self.refused(k.hs, head + "." + part("[1,2]") + "." + sig, FORM,
                     r"payload is not a json object")

    # ---- claims --------------------------------------------------------

    def test_sub(self):
        k = self.k
        self.refused(k.hs, token("HS256", claims(sub=None), k.hs_secret), CLAIM, r"no sub")
        self.refused(k.hs, token("HS256", claims(sub=""), k.hs_secret), CLAIM, r"sub claim is empty")
        self.refused(k.hs, token("HS256", claims(sub=42), k.hs_secret), CLAIM,
                     r"sub claim is not a string")
        self.refused(k.hs, token("HS256", claims(sub="u" * 129), k.hs_secret), CLAIM,
                     r"sub claim is 129 bytes long: at most 128")
        self.refused(k.hs, token("HS256", claims(sub="a\nb"), k.hs_secret), CLAIM,
                     r"sub claim is not valid utf-8")
        self.assertIn("sub=" + "u" * 128 + " ",
                      self.accepted(k.hs, token("HS256", claims(sub="u" * 128), k.hs_secret)))

    def test_issuer_and_audience(self):
        k = self.k
        iss = ("--iss", "https://site.example")
        aud = ("--aud", "wintalk")
        good = token("RS256", claims(iss="https://site.example", aud="wintalk"), k.rsa)
        self.accepted(k.rsa_pub, good, *iss, *aud)
        self.refused(k.rsa_pub, token("RS256", claims(iss="https://evil.example"), k.rsa),
                     ISSUER, r"issuer", *iss)
        self.refused(k.rsa_pub, token("RS256", claims(), k.rsa), ISSUER, r"issuer", *iss)
        self.refused(k.rsa_pub, token("RS256", claims(aud="other"), k.rsa), AUDIENCE,
                     r"audience", *aud)
        self.refused(k.rsa_pub, token("RS256", claims(), k.rsa), AUDIENCE, r"audience", *aud)
        self.refused(k.rsa_pub, token("RS256", claims(aud=["a", "b"]), k.rsa), AUDIENCE,
                     r"audience", *aud)
        self.accepted(k.rsa_pub, token("RS256", claims(aud=["a", "wintalk"]), k.rsa), *aud)
        # Not required: not checked.
        self.accepted(k.rsa_pub, token("RS256", claims(iss="anyone", aud="any"), k.rsa))

    def test_nick(self):
        k = self.k
        self.refused(k.hs, token("HS256", claims(nick="n" * (NICK_MAX + 1)), k.hs_secret), CLAIM,
                     r"nick claim is 97 bytes long: at most 96")
        self.refused(k.hs, token("HS256", claims(nick=["Ann"]), k.hs_secret), CLAIM,
                     r"nick claim is not a string")
        self.refused(k.hs, token("HS256", claims(nick=""), k.hs_secret), CLAIM, r"nick claim is empty")
        self.assertIn("nick=" + "n" * NICK_MAX + " ",
                      self.accepted(k.hs, token("HS256", claims(nick="n" * NICK_MAX), k.hs_secret)))

    def test_admin_and_rooms(self):
        k = self.k
        self.refused(k.hs, token("HS256", claims(admin="yes"), k.hs_secret), CLAIM,
                     r"admin claim is not true or false")
        self.refused(k.hs, token("HS256", claims(rooms="#lobby"), k.hs_secret), CLAIM,
                     r"rooms claim is not an array")
        self.refused(k.hs, token("HS256", claims(rooms={"#a": 1}), k.hs_secret), CLAIM,
                     r"rooms claim is not an array")
        self.refused(k.hs, token("HS256", claims(rooms=["#a", 7]), k.hs_secret), CLAIM,
                     r"rooms entry claim is not a string")
        many = ["#r%d" % i for i in range(ROOMS_MAX + 1)]
        self.refused(k.hs, token("HS256", claims(rooms=many), k.hs_secret), CLAIM,
                     r"names 17 rooms: at most 16")
        self.assertIn("rooms=" + ",".join(many[:ROOMS_MAX]),
                      self.accepted(k.hs, token("HS256", claims(rooms=many[:ROOMS_MAX]),
                                                k.hs_secret)))
        self.refused(k.hs, token("HS256", claims(rooms=["#" + "r" * ROOM_MAX]), k.hs_secret),
                     CLAIM, r"34 bytes long: at most 33")
        self.accepted(k.hs, token("HS256", claims(rooms=["#" + "r" * (ROOM_MAX - 1)]),
                                  k.hs_secret))
        self.assertIn(" rooms=", self.accepted(k.hs, token("HS256", claims(rooms=[]),
                                                            k.hs_secret)))

    def test_a_claim_given_twice(self):
        k = self.k
        body = '{"sub":"user-42","exp":%d,"sub":"admin"}' % (NOW + 3600)
        self.refused(k.hs, token("HS256", body, k.hs_secret), CLAIM, r"given twice")

    # ---- keys ----------------------------------------------------------

    def open_refused(self, path, words):
        rc, out, err = self.run_check(path, "x.y.z")
        self.assertEqual(rc, KEY, out + err)
        self.assertRegex(out, r"^key: JWT key ", out)
        self.assertRegex(out.lower(), words)

    def write(self, name, data, mode=0o600):
        p = self.k.path(name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        return p

    def test_keys_refused(self):
        k = self.k
        self.open_refused(k.path("absent.key"), r"no such file")
        self.open_refused(k.d, r"not a regular file")
        self.open_refused(self.write("empty.key", b""), r"empty")
        self.open_refused(self.write("short.key", b"s" * 31 + b"\n"),
                          r"hmac secret of 31 bytes: hs256 needs at least 32")
        self.open_refused(self.write("big.key", b"s" * (16 * 1024 + 1)), r"16385 bytes, at most 16384")
        self.open_refused(k.rsa, r"a private key")
        self.open_refused(k.ec, r"a private key")
        two = slurp(k.rsa_pub) + slurp(k.ec_pub)
        self.open_refused(self.write("two.pub", two), r"more than one pem block")
        self.open_refused(self.write("broken.pub", b"-----BEGIN PUBLIC KEY-----\nAAAA\n"
                                                  b"-----END PUBLIC KEY-----\n"),
                          r"not a pem public key")
        for name, alg, opt, words in (
                ("p384", "EC", ["-pkeyopt", "ec_paramgen_curve:P-384"],
                 r"ec key on curve secp384r1: only p-256"),
                ("ed", "ED25519", [], r"a public key of type ed25519: only rsa"),
                ("rsa1024", "RSA", ["-pkeyopt", "rsa_keygen_bits:1024"],
                 r"rsa key of 1024 bits: rs256 needs 2048")):
            key, pub = k.path(name + ".key"), k.path(name + ".pub")
            openssl("genpkey", "-algorithm", alg, *opt, "-out", key)
            openssl("pkey", "-in", key, "-pubout", "-out", pub)
            self.open_refused(pub, words)
        # Anyone who may write the key could put their own there.
        ww = self.write("ww.key", k.hs_secret, 0o666)
        os.chmod(ww, 0o666)  # past the umask
        self.open_refused(ww, r"writable by every user")
        ww_pub = self.write("ww.pub", slurp(k.rsa_pub), 0o646)
        os.chmod(ww_pub, 0o646)
        self.open_refused(ww_pub, r"writable by every user")

    def test_secret_bounds(self):
        # 32 bytes, the least (RFC 7518 3.2), and 16 KiB, the most; a line
        # end after the secret is not part of it, one inside is.
        for secret, ending in ((b"k" * 32, b"\n"), (b"k" * 31 + b"\r\nk", b"\r\n"),
                               (b"s" * (16 * 1024), b"")):
            keyfile = self.write("bound.key", secret + ending)
            self.accepted(keyfile, token("HS256", claims(), secret))
            if ending:
                self.refused(keyfile, token("HS256", claims(), secret + ending), SIGNATURE,
                             r"signature")

    def test_key_notes(self):
        k = self.k
        tok = token("HS256", claims(), k.hs_secret)
        readable = self.write("readable.key", k.hs_secret + b"\r\n", 0o644)
        os.chmod(readable, 0o644)
        rc, out, err = self.run_check(readable, tok)
        self.assertEqual(rc, OK, out)
        self.assertRegex(err, r"^note: JWT key .*readable\.key: an HMAC secret others may read")
        # A public key may be read by all; a group that may write it is noted.
        os.chmod(k.rsa_pub, 0o644)
        rc, out, err = self.run_check(k.rsa_pub, token("RS256", claims(), k.rsa))
        self.assertEqual((rc, err), (OK, ""), out)
        gw = self.write("gw.pub", slurp(k.rsa_pub), 0o664)
        os.chmod(gw, 0o664)
        rc, out, err = self.run_check(gw, token("RS256", claims(), k.rsa))
        self.assertEqual(rc, OK, out)
        self.assertRegex(err, r"^note: JWT key .*gw\.pub: writable by its group")
        # Both, for a secret.
        both = self.write("both.key", k.hs_secret, 0o664)
        os.chmod(both, 0o664)
        rc, out, err = self.run_check(both, tok)
        self.assertEqual(rc, OK, out)
        self.assertRegex(err, r"others may read .*; writable by its group")
        # And none for a secret only its owner may read.
        rc, out, err = self.run_check(k.hs, tok)
        self.assertEqual((rc, err), (OK, ""), out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
