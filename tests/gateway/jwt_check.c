/*
 * jwt_check.c - a test program around server/gw_jwt.h: opens a key, verifies
 * one token and prints what gw_jwt_verify decided. Built for
 * tests/gateway/test_jwt.py; not installed.
 *
 *   jwt_check [--now S] [--leeway S] [--iss ISSUER] [--aud AUDIENCE] KEYFILE [TOKEN]
 *
 * The token is TOKEN or standard input (one line end at its end is not part
 * of it). --now gives the time (seconds since the epoch; default: the
 * clock). Prints, and exits with:
 *   ok sub=S nick=N exp=E admin=0|1 rooms=a,b     0
 *   refused <code>: <why>                          10 + the code's absolute value
 *   key: <why>                                     2  (gw_jwt_open refused)
 *   usage                                          64
 * A note of gw_jwt_open goes to standard error as "note: ...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_jwt.h"

static int usage(void)
{
    fprintf(stderr, "usage: jwt_check [--now S] [--leeway S] [--iss ISSUER] [--aud AUDIENCE] "
                    "KEYFILE [TOKEN]\n");
    return 64;
}

/* Codes by name, for the test to match exactly. */
static const char *code_name(int rc)
{
    switch (rc) {
    case GW_JWT_E_TOO_LARGE:
        return "too_large";
    case GW_JWT_E_FORM:
        return "form";
    case GW_JWT_E_ALG:
        return "alg";
    case GW_JWT_E_SIGNATURE:
        return "signature";
    case GW_JWT_E_EXPIRED:
        return "expired";
    case GW_JWT_E_EARLY:
        return "early";
    case GW_JWT_E_ISSUER:
        return "issuer";
    case GW_JWT_E_AUDIENCE:
        return "audience";
    case GW_JWT_E_CLAIM:
        return "claim";
    case GW_JWT_E_NOMEM:
        return "nomem";
    default:
        return "other";
    }
}

int main(int argc, char **argv)
{
    struct gw_jwt_opts o = GW_JWT_OPTS_DEFAULT;
    long long now = (long long)time(NULL);
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        char *end;
        if (strcmp(argv[i], "--now") == 0) {
            now = strtoll(argv[i + 1], &end, 10);
            if (*end)
                return usage();
        } else if (strcmp(argv[i], "--leeway") == 0) {
            o.leeway_s = (int)strtol(argv[i + 1], &end, 10);
            if (*end)
                return usage();
        } else if (strcmp(argv[i], "--iss") == 0) {
            o.issuer = argv[i + 1];
        } else if (strcmp(argv[i], "--aud") == 0) {
            o.audience = argv[i + 1];
        } else {
            return usage();
        }
    }
    if (i >= argc || argc - i > 2)
        return usage();

    char err[512];
    struct gw_jwt *j;
    if (gw_jwt_open(&j, argv[i], &o, err, sizeof err) != 0) {
        printf("key: %s\n", err);
        return 2;
    }
    if (gw_jwt_note(j))
        fprintf(stderr, "note: %s\n", gw_jwt_note(j));

    /* Room for tokens past the bound, so that the bound is what refuses
     * them. */
    static char tok[4 * GW_JWT_MAX_BYTES];
    size_t len;
    if (i + 1 < argc) {
        len = strlen(argv[i + 1]);
        if (len > sizeof tok)
            len = sizeof tok;
        memcpy(tok, argv[i + 1], len);
    } else {
        len = fread(tok, 1, sizeof tok, stdin);
        if (len && tok[len - 1] == '\n')
            len--;
        if (len && tok[len - 1] == '\r')
            len--;
    }

    struct gw_jwt_claims c;
    char why[256];
    int rc = gw_jwt_verify(j, tok, len, (int64_t)now, &c, why, sizeof why);
    gw_jwt_close(j);
    if (rc != 0) {
        printf("refused %s: %s\n", code_name(rc), why);
        return 10 - rc;
    }
    printf("ok sub=%s nick=%s exp=%lld admin=%d rooms=", c.sub, c.nick, (long long)c.exp,
           c.admin ? 1 : 0);
    for (size_t r = 0; r < c.n_rooms; r++)
        printf("%s%s", r ? "," : "", c.rooms[r]);
    printf("\n");
    return 0;
}
