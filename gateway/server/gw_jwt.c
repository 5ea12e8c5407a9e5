/*
 * gw_jwt.c - verifying a site's JSON Web Tokens with one pinned algorithm
 * (gw_jwt.h).
 *
 * What is here: reading the key file and telling its kind (OpenSSL reads a
 * PEM), the token's form (three parts of canonical base64url), its header
 * (the algorithm pin), and its claims (cJSON, types and bounds). What is
 * not: any signature code. libjwt verifies the signature, and is handed the
 * key only for a token whose header names the pinned algorithm.
 */
#include "gw_jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "wt_codec.h"

struct gw_jwt {
    jwt_alg_t alg;        /* the one algorithm accepted */
    const char *alg_name; /* its name in a token's header */
    unsigned char *key;   /* the PEM text or the secret, key_len bytes */
    size_t key_len;
    char issuer[GW_JWT_CLAIM_MAX_BYTES + 1];   /* "" when not checked */
    char audience[GW_JWT_CLAIM_MAX_BYTES + 1]; /* "" when not checked */
    int leeway_s;
    char note[512]; /* "" when there is nothing to say */
};

/* exp and nbf are JSON numbers: integers up to 2^53 are exact in a double,
 * and 2^53 seconds is far past any real expiry. */
#define JWT_TIME_MAX ((double)(1ull << 53))

const char *gw_jwt_strerror(int status)
{
    switch (status) {
    case GW_JWT_OK:
        return "ok";
    case GW_JWT_E_TOO_LARGE:
        return "token too large";
    case GW_JWT_E_FORM:
        return "malformed token";
    case GW_JWT_E_ALG:
        return "algorithm not accepted";
    case GW_JWT_E_SIGNATURE:
        return "bad signature";
    case GW_JWT_E_EXPIRED:
        return "expired";
    case GW_JWT_E_EARLY:
        return "not yet valid";
    case GW_JWT_E_ISSUER:
        return "wrong issuer";
    case GW_JWT_E_AUDIENCE:
        return "wrong audience";
    case GW_JWT_E_CLAIM:
        return "bad claim";
    case GW_JWT_E_KEY:
        return "unusable key";
    case GW_JWT_E_NOMEM:
        return "out of memory";
    default:
        return "unknown JWT status";
    }
}

/* Writes a sentence into BUF (when there is one) and returns CODE. */
__attribute__((format(printf, 4, 5))) static int say(int code, char *buf, size_t len,
                                                     const char *fmt, ...)
{
    if (buf && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- The key file ------------------------------------------------------ */

/* Reads the whole file at PATH into a new buffer (caller frees *DATA), with
 * the checks gw_jwt_open promises on the file itself. */
static int read_key_file(const char *path, unsigned char **data, size_t *len, mode_t *mode,
                         char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: not a regular file", path);
    }
    /* Whoever may write the key may put their own there and log in as
     * anyone: refused for everyone, worth a note for the group
     * (gw_jwt_open). */
    if (st.st_mode & S_IWOTH) {
        close(fd);
        return say(GW_JWT_E_KEY, err, errlen,
                   "JWT key %s: writable by every user (anyone could replace the key): "
                   "chmod o-w it",
                   path);
    }
    if (st.st_size <= 0 || (unsigned long long)st.st_size > GW_JWT_KEY_MAX_BYTES) {
        close(fd);
        if (st.st_size <= 0)
            return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: the file is empty", path);
        return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: %lld bytes, at most %u", path,
                   (long long)st.st_size, GW_JWT_KEY_MAX_BYTES);
    }
    /* One byte more than the bound, to see a file that grew meanwhile. */
    unsigned char *buf = malloc(GW_JWT_KEY_MAX_BYTES + 1);
    if (!buf) {
        close(fd);
        return say(GW_JWT_E_NOMEM, err, errlen, "JWT key %s: out of memory", path);
    }
    size_t got = 0;
    while (got < GW_JWT_KEY_MAX_BYTES + 1) {
        ssize_t n = read(fd, buf + got, GW_JWT_KEY_MAX_BYTES + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            OPENSSL_cleanse(buf, got);
            free(buf);
            return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got == 0 || got > GW_JWT_KEY_MAX_BYTES) {
        OPENSSL_cleanse(buf, got);
        free(buf);
        return say(GW_JWT_E_KEY, err, errlen, "JWT key %s: %s", path,
                   got ? "grew past the bound while read" : "the file is empty");
    }
    *data = buf;
    *len = got;
    *mode = st.st_mode;
    return 0;
}

/* The first NEEDLE in HAY[0..N), or NULL (memmem is not POSIX). */
static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (hay[i] == (unsigned char)needle[0] && memcmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

/* A PEM file: exactly one public key, RSA of 2048 bits or more, or EC on
 * P-256. Pins the algorithm in J. */
static int pem_kind(struct gw_jwt *j, const char *path, char *err, size_t errlen)
{
    const unsigned char *k = j->key;
    size_t n = j->key_len;
    const unsigned char *first = find(k, n, "-----BEGIN");
    if (first && find(first + 1, n - (size_t)(first + 1 - k), "-----BEGIN"))
        return say(GW_JWT_E_KEY, err, errlen,
                   "JWT key %s: more than one PEM block: give one public key", path);
    if (find(k, n, "PRIVATE KEY"))
        return say(GW_JWT_E_KEY, err, errlen,
                   "JWT key %s: a private key: give the gateway the public key only "
                   "(openssl pkey -in KEY -pubout)",
                   path);
    BIO *bio = BIO_new_mem_buf(k, (int)n);
    if (!bio)
        return say(GW_JWT_E_NOMEM, err, errlen, "JWT key %s: out of memory", path);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pkey)
        return say(GW_JWT_E_KEY, err, errlen,
                   "JWT key %s: not a PEM public key (-----BEGIN PUBLIC KEY-----, as "
                   "openssl pkey -pubout writes it)",
                   path);
    int rc = 0;
    int type = EVP_PKEY_get_base_id(pkey);
    if (type == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(pkey);
        /* RFC 7518 3.3: a key of 2048 bits or larger MUST be used. */
        if (bits < 2048) {
            rc = say(GW_JWT_E_KEY, err, errlen,
                     "JWT key %s: an RSA key of %d bits: RS256 needs 2048 or more", path, bits);
        } else {
            j->alg = JWT_ALG_RS256;
            j->alg_name = "RS256";
        }
    } else if (type == EVP_PKEY_EC) {
        char group[64] = "";
        size_t glen = 0;
        int nid = NID_undef;
        if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) == 1) {
            nid = OBJ_sn2nid(group);
            if (nid == NID_undef)
                nid = EC_curve_nist2nid(group);
        }
        if (nid != NID_X9_62_prime256v1) {
            rc = say(GW_JWT_E_KEY, err, errlen,
                     "JWT key %s: an EC key on curve %s: only P-256 (ES256) is accepted", path,
                     group[0] ? group : "(unnamed)");
        } else {
            j->alg = JWT_ALG_ES256;
            j->alg_name = "ES256";
        }
    } else {
        const char *name = EVP_PKEY_get0_type_name(pkey);
        rc = say(GW_JWT_E_KEY, err, errlen,
                 "JWT key %s: a public key of type %s: only RSA (RS256) and EC P-256 (ES256) "
                 "are accepted",
                 path, name ? name : "unknown");
    }
    EVP_PKEY_free(pkey);
    return rc;
}

/* Copies an option string into a fixed buffer: NULL is "" (not checked). */
static int copy_opt(char *dst, size_t size, const char *src, const char *what, char *err,
                    size_t errlen)
{
    dst[0] = '\0';
    if (!src)
        return 0;
    size_t n = strlen(src);
    if (n == 0 || n >= size)
        return say(GW_JWT_E_KEY, err, errlen, "JWT %s: 1 to %zu bytes", what, size - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

int gw_jwt_open(struct gw_jwt **out, const char *key_path, const struct gw_jwt_opts *o, char *err,
                size_t errlen)
{
    static const struct gw_jwt_opts defaults = GW_JWT_OPTS_DEFAULT;
    *out = NULL;
    if (!o)
        o = &defaults;
    if (o->leeway_s < 0 || o->leeway_s > GW_JWT_LEEWAY_MAX_S)
        return say(GW_JWT_E_KEY, err, errlen, "JWT leeway %d s: 0 to %d", o->leeway_s,
                   GW_JWT_LEEWAY_MAX_S);
    struct gw_jwt *j = calloc(1, sizeof *j);
    if (!j)
        return say(GW_JWT_E_NOMEM, err, errlen, "JWT key %s: out of memory", key_path);
    int rc = copy_opt(j->issuer, sizeof j->issuer, o->issuer, "issuer", err, errlen);
    if (!rc)
        rc = copy_opt(j->audience, sizeof j->audience, o->audience, "audience", err, errlen);
    j->leeway_s = o->leeway_s;
    mode_t mode = 0;
    if (!rc)
        rc = read_key_file(key_path, &j->key, &j->key_len, &mode, err, errlen);
    if (rc) {
        gw_jwt_close(j);
        return rc;
    }
    if (find(j->key, j->key_len, "-----BEGIN")) {
        rc = pem_kind(j, key_path, err, errlen);
    } else {
        /* A secret: its line end, if any, is not part of it. */
        while (j->key_len && (j->key[j->key_len - 1] == '\n' || j->key[j->key_len - 1] == '\r'))
            j->key_len--;
        if (j->key_len < GW_JWT_SECRET_MIN_BYTES) {
            rc = say(GW_JWT_E_KEY, err, errlen,
                     "JWT key %s: an HMAC secret of %zu bytes: HS256 needs at least %u "
                     "(RFC 7518 3.2; openssl rand -hex 32 makes one)",
                     key_path, j->key_len, GW_JWT_SECRET_MIN_BYTES);
        } else {
            j->alg = JWT_ALG_HS256;
            j->alg_name = "HS256";
        }
    }
    if (rc) {
        gw_jwt_close(j);
        return rc;
    }
    /* Anyone who can read a secret can sign tokens with it (a public key
     * may be read by all); anyone in a group that may write the key could
     * replace it. Worth a word in the log, not a refusal: a container's
     * secret is often mounted readable by all, for its one user. */
    bool readable = j->alg == JWT_ALG_HS256 && (mode & (S_IRGRP | S_IROTH));
    bool group_writes = mode & S_IWGRP;
    if (readable || group_writes)
        snprintf(j->note, sizeof j->note, "JWT key %s: %s%s%s", key_path,
                 readable ? "an HMAC secret others may read (anyone who reads it can sign "
                            "tokens: chmod 600 it)"
                          : "",
                 readable && group_writes ? "; " : "",
                 group_writes ? "writable by its group (anyone in it could replace the key)" : "");
    *out = j;
    return 0;
}

void gw_jwt_close(struct gw_jwt *j)
{
    if (!j)
        return;
    if (j->key) {
        /* The whole allocation (read_key_file), not just key_len: a
         * secret's line end was cut off after it was read. */
        OPENSSL_cleanse(j->key, GW_JWT_KEY_MAX_BYTES + 1);
        free(j->key);
    }
    free(j);
}

const char *gw_jwt_alg(const struct gw_jwt *j)
{
    return j->alg_name;
}

const char *gw_jwt_note(const struct gw_jwt *j)
{
    return j->note[0] ? j->note : NULL;
}

/* ---- The token's form -------------------------------------------------- */

/* The value of a base64url character, or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Whether S[0..N) is canonical unpadded base64url (RFC 7515 2: no '=', no
 * other character, unused low bits zero, so that one value has one text).
 * Decodes it into OUT (room for N * 3 / 4 bytes) when OUT is not NULL. */
static bool b64url_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    if (n % 4 == 1)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out)
                out[o] = (unsigned char)(acc >> bits);
            o++;
            acc &= (1u << bits) - 1u;
        }
    }
    if (acc != 0) /* leftover bits that encode nothing must be zero */
        return false;
    if (outlen)
        *outlen = o;
    return true;
}

/* Quotes at most 16 bytes of a token's own text, printable ASCII only. */
static void quote(char *dst, size_t size, const char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 1 < size && i < 16; i++)
        dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    if (s[0] && strlen(s) > 16 && o + 3 < size) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* The member NAME of OBJ, or NULL; *TWICE is set when it is given more than
 * once (JSON parsers disagree on which one counts, so neither does). */
static const cJSON *member(const cJSON *obj, const char *name, bool *twice)
{
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (c->string && strcmp(c->string, name) == 0) {
            if (found)
                *twice = true;
            found = c;
        }
    }
    return found;
}

/* TEXT[0..LEN) as one JSON object and nothing after it but white space
 * (as libjwt's reader wants it too), or NULL. The caller deletes it. */
static cJSON *parse_object(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(v);
        return NULL;
    }
    while (end && end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* ---- Claims ------------------------------------------------------------ */

/* Text a claim may hold: valid UTF-8, no control characters. */
static bool clean_text(const char *s, size_t n)
{
    if (!wt_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* Copies the string claim V named NAME into DST (room for MAX bytes and a
 * NUL): a non-empty string of clean text. */
static int copy_claim(char *dst, size_t max, const cJSON *v, const char *name, char *why,
                      size_t whylen)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return say(GW_JWT_E_CLAIM, why, whylen, "the %s claim is not a string", name);
    size_t n = strlen(v->valuestring);
    if (n == 0)
        return say(GW_JWT_E_CLAIM, why, whylen, "the %s claim is empty", name);
    if (n > max)
        return say(GW_JWT_E_CLAIM, why, whylen, "the %s claim is %zu bytes long: at most %zu", name,
                   n, max);
    if (!clean_text(v->valuestring, n))
        return say(GW_JWT_E_CLAIM, why, whylen,
                   "the %s claim is not valid UTF-8 text (control characters?)", name);
    memcpy(dst, v->valuestring, n + 1);
    return 0;
}

/* A time claim: an integer of 0 to 2^53 seconds. */
static int time_claim(const cJSON *v, const char *name, int64_t *t, char *why, size_t whylen)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > JWT_TIME_MAX ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return say(GW_JWT_E_CLAIM, why, whylen,
                   "the %s claim is not a whole number of seconds since 1970", name);
    *t = (int64_t)v->valuedouble;
    return 0;
}

static int read_claims(const struct gw_jwt *j, const cJSON *c, int64_t now_s,
                       struct gw_jwt_claims *out, char *why, size_t whylen)
{
    bool twice = false;
    const cJSON *exp = member(c, "exp", &twice);
    const cJSON *nbf = member(c, "nbf", &twice);
    const cJSON *iss = member(c, "iss", &twice);
    const cJSON *aud = member(c, "aud", &twice);
    const cJSON *sub = member(c, "sub", &twice);
    const cJSON *nick = member(c, "nick", &twice);
    const cJSON *admin = member(c, "admin", &twice);
    const cJSON *rooms = member(c, "rooms", &twice);
    if (twice)
        return say(GW_JWT_E_CLAIM, why, whylen, "a claim is given twice");
    int64_t leeway = j->leeway_s;

    /* Time first: a token past its time says nothing more. */
    if (!exp)
        return say(GW_JWT_E_CLAIM, why, whylen, "no exp claim: a token must say when it expires");
    int rc = time_claim(exp, "exp", &out->exp, why, whylen);
    if (rc)
        return rc;
    /* RFC 7519 4.1.4: valid only before exp; the leeway moves that on. */
    if (now_s >= out->exp + leeway)
        return say(GW_JWT_E_EXPIRED, why, whylen, "the token expired %lld s ago (leeway %lld s)",
                   (long long)(now_s - out->exp), (long long)leeway);
    if (nbf) {
        int64_t t = 0;
        rc = time_claim(nbf, "nbf", &t, why, whylen);
        if (rc)
            return rc;
        /* RFC 7519 4.1.5: valid from nbf on, the leeway earlier. */
        if (t - leeway > now_s)
            return say(GW_JWT_E_EARLY, why, whylen,
                       "the token is valid only in %lld s (leeway %lld s)", (long long)(t - now_s),
                       (long long)leeway);
    }

    if (j->issuer[0] &&
        !(cJSON_IsString(iss) && iss->valuestring && strcmp(iss->valuestring, j->issuer) == 0))
        return say(GW_JWT_E_ISSUER, why, whylen,
                   "the token's issuer (iss) is not the one required");
    if (j->audience[0]) {
        bool named = false;
        if (cJSON_IsString(aud)) {
            named = aud->valuestring && strcmp(aud->valuestring, j->audience) == 0;
        } else if (cJSON_IsArray(aud)) {
            for (const cJSON *a = aud->child; a && !named; a = a->next)
                named =
                    cJSON_IsString(a) && a->valuestring && strcmp(a->valuestring, j->audience) == 0;
        }
        if (!named)
            return say(GW_JWT_E_AUDIENCE, why, whylen,
                       "the token's audience (aud) does not name this gateway's");
    }

    if (!sub)
        return say(GW_JWT_E_CLAIM, why, whylen, "no sub claim: a token must name its user");
    rc = copy_claim(out->sub, GW_JWT_SUB_MAX_BYTES, sub, "sub", why, whylen);
    if (rc)
        return rc;
    if (nick) {
        rc = copy_claim(out->nick, GW_NICK_MAX_BYTES, nick, "nick", why, whylen);
        if (rc)
            return rc;
    }
    if (admin) {
        if (!cJSON_IsBool(admin))
            return say(GW_JWT_E_CLAIM, why, whylen, "the admin claim is not true or false");
        out->admin = cJSON_IsTrue(admin);
    }
    if (rooms) {
        if (!cJSON_IsArray(rooms))
            return say(GW_JWT_E_CLAIM, why, whylen, "the rooms claim is not an array of names");
        int n = cJSON_GetArraySize(rooms);
        if (n < 0 || (unsigned)n > GW_JWT_ROOMS_MAX)
            return say(GW_JWT_E_CLAIM, why, whylen, "the rooms claim names %d rooms: at most %u", n,
                       GW_JWT_ROOMS_MAX);
        for (const cJSON *r = rooms->child; r; r = r->next) {
            rc = copy_claim(out->rooms[out->n_rooms], GW_ROOM_NAME_MAX_BYTES, r, "rooms entry", why,
                            whylen);
            if (rc)
                return rc;
            out->n_rooms++;
        }
    }
    return 0;
}

/* ---- Verifying --------------------------------------------------------- */

int gw_jwt_verify(const struct gw_jwt *j, const char *token, size_t len, int64_t now_s,
                  struct gw_jwt_claims *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (len > GW_JWT_MAX_BYTES)
        return say(GW_JWT_E_TOO_LARGE, why, whylen, "a token of %zu bytes: at most %u", len,
                   GW_JWT_MAX_BYTES);
    if (!token)
        len = 0;

    /* header.payload.signature: exactly two dots. */
    const char *dot1 = memchr(token ? token : "", '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return say(GW_JWT_E_FORM, why, whylen,
                   "not a JWT: three parts separated by dots are expected");
    size_t hlen = (size_t)(dot1 - token);
    size_t plen = (size_t)(dot2 - dot1 - 1);
    size_t slen = len - (size_t)(dot2 + 1 - token);
    if (hlen == 0 || plen == 0)
        return say(GW_JWT_E_FORM, why, whylen, "not a JWT: an empty header or payload");
    if (!b64url_decode(token, hlen, NULL, NULL) || !b64url_decode(dot1 + 1, plen, NULL, NULL) ||
        !b64url_decode(dot2 + 1, slen, NULL, NULL))
        return say(GW_JWT_E_FORM, why, whylen, "not a JWT: a part is not base64url");

    /* Decoded text is shorter than the token: one buffer does for both. */
    char text[GW_JWT_MAX_BYTES + 1];
    size_t tlen = 0;
    b64url_decode(token, hlen, (unsigned char *)text, &tlen);
    cJSON *head = parse_object(text, tlen);
    if (!head)
        return say(GW_JWT_E_FORM, why, whylen, "the token's header is not a JSON object");
    bool twice = false;
    const cJSON *alg = member(head, "alg", &twice);
    const cJSON *crit = member(head, "crit", &twice);
    const cJSON *typ = member(head, "typ", &twice);
    /* RFC 7519 5.1: "JWT" when given; libjwt refuses any other typ as if
     * the signature were wrong, so it is said here in words. */
    bool typ_ok = !typ || (cJSON_IsString(typ) && typ->valuestring &&
                           strcasecmp(typ->valuestring, "JWT") == 0);
    char alg_q[24] = "";
    if (cJSON_IsString(alg) && alg->valuestring)
        quote(alg_q, sizeof alg_q, alg->valuestring);
    bool alg_ok =
        cJSON_IsString(alg) && alg->valuestring && strcmp(alg->valuestring, j->alg_name) == 0;
    bool no_alg = !cJSON_IsString(alg);
    cJSON_Delete(head);
    if (twice)
        return say(GW_JWT_E_FORM, why, whylen, "the token's header gives a name twice");
    if (no_alg)
        return say(GW_JWT_E_FORM, why, whylen, "the token's header names no alg");
    /* The pin: the key goes to libjwt only for the key's own algorithm. */
    if (!alg_ok)
        return say(GW_JWT_E_ALG, why, whylen,
                   "the token is signed with \"%s\": this gateway takes %s only", alg_q,
                   j->alg_name);
    if (!typ_ok)
        return say(GW_JWT_E_FORM, why, whylen, "the token's header gives a typ other than JWT");
    /* RFC 7515 4.1.11: extensions the recipient does not know are refused. */
    if (crit)
        return say(GW_JWT_E_FORM, why, whylen,
                   "the token's header has crit extensions this gateway does not know");
    if (slen == 0)
        return say(GW_JWT_E_SIGNATURE, why, whylen, "the token has no signature");

    b64url_decode(dot1 + 1, plen, (unsigned char *)text, &tlen);
    cJSON *claims = parse_object(text, tlen);
    if (!claims)
        return say(GW_JWT_E_FORM, why, whylen, "the token's payload is not a JSON object");

    /* libjwt wants a NUL-ended token. */
    memcpy(text, token, len);
    text[len] = '\0';
    jwt_t *lj = NULL;
    int rc = jwt_decode(&lj, text, j->key, (int)j->key_len);
    if (rc == ENOMEM) {
        cJSON_Delete(claims);
        return say(GW_JWT_E_NOMEM, why, whylen, "out of memory");
    }
    if (rc != 0 || !lj) {
        if (lj)
            jwt_free(lj);
        cJSON_Delete(claims);
        return say(GW_JWT_E_SIGNATURE, why, whylen,
                   "the signature does not verify with this gateway's key");
    }
    /* The same pin, as libjwt saw it. */
    jwt_alg_t seen = jwt_get_alg(lj);
    jwt_free(lj);
    if (seen != j->alg) {
        cJSON_Delete(claims);
        return say(GW_JWT_E_ALG, why, whylen,
                   "the token is signed with %s: this gateway takes %s only",
                   jwt_alg_str(seen) ? jwt_alg_str(seen) : "another algorithm", j->alg_name);
    }

    rc = read_claims(j, claims, now_s, out, why, whylen);
    cJSON_Delete(claims);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
