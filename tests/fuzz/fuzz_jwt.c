/*
 * fuzz_jwt.c - libFuzzer target for a site's JWTs (server/gw_jwt.h):
 * gw_jwt_verify on what a browser may send as its token.
 *
 * The first byte chooses what the rest is:
 *   even: a token as it arrives, verified against an HMAC secret;
 *   odd:  a payload (claims as JSON), signed by libjwt with that very
 *         secret and then verified, so that the claims' checks are reached
 *         (a fuzzer does not forge HMACs).
 * Checked on every input: nothing crashes or leaks; the answer is 0 or a
 * documented refusal with words; a refusal leaves the claims zeroed; what
 * is accepted has a non-empty sub and every string within its bound, valid
 * UTF-8 without control characters.
 */
/* mkstemp, strnlen: the libFuzzer build lacks wt_defaults' definition. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>

#include "gw_jwt.h"
#include "gw_limits.h"
#include "wt_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* The corpus' tokens are signed with this secret (tests/fuzz/corpus/jwt). */
static const char SECRET[] = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

/* The time every token is verified at: the corpus' exp lie after it. */
#define NOW 1900000000

static struct gw_jwt *key(void)
{
    static struct gw_jwt *j;
    if (j)
        return j;
    char path[] = "/tmp/fuzz_jwt_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, SECRET, sizeof SECRET - 1) == (ssize_t)(sizeof SECRET - 1));
    close(fd);
    char err[256];
    CHECK(gw_jwt_open(&j, path, NULL, err, sizeof err) == 0);
    unlink(path);
    return j;
}

static void check_text(const char *s, size_t max, bool may_be_empty)
{
    size_t n = strnlen(s, max + 1);
    CHECK(n <= max);
    CHECK(may_be_empty || n > 0);
    CHECK(wt_utf8_valid(s, n));
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void verify(const char *tok, size_t len)
{
    struct gw_jwt_claims c;
    char why[256] = "";
    int rc = gw_jwt_verify(key(), tok, len, NOW, &c, why, sizeof why);
    if (rc != 0) {
        CHECK(rc <= GW_JWT_E_TOO_LARGE && rc >= GW_JWT_E_NOMEM && rc != GW_JWT_E_KEY);
        CHECK(why[0] != '\0');
        static const struct gw_jwt_claims zero;
        CHECK(memcmp(&c, &zero, sizeof c) == 0);
        return;
    }
    CHECK(len <= GW_JWT_MAX_BYTES);
    check_text(c.sub, GW_JWT_SUB_MAX_BYTES, false);
    check_text(c.nick, GW_NICK_MAX_BYTES, true);
    CHECK(c.exp + GW_JWT_LEEWAY_S > NOW);
    CHECK(c.n_rooms <= GW_JWT_ROOMS_MAX);
    for (size_t r = 0; r < c.n_rooms; r++)
        check_text(c.rooms[r], GW_ROOM_NAME_MAX_BYTES, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if ((data[0] & 1) == 0) {
        verify(rest, n);
        return 0;
    }
    /* Claims to sign: libjwt takes a NUL-ended JSON object (jansson). */
    if (n > GW_JWT_MAX_BYTES)
        return 0;
    char *json = malloc(n + 1);
    CHECK(json);
    memcpy(json, rest, n);
    json[n] = '\0';
    jwt_t *t = NULL;
    CHECK(jwt_new(&t) == 0);
    if (jwt_add_grants_json(t, json) == 0 &&
        jwt_set_alg(t, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)sizeof SECRET - 1) == 0) {
        char *tok = jwt_encode_str(t);
        if (tok) {
            verify(tok, strlen(tok));
            free(tok);
        }
    }
    jwt_free(t);
    free(json);
    return 0;
}
