/*
 * accttest.h - helpers shared by the CMocka tests of the accounts engines
 * that answer from a flush (test_accounts_mem.c, test_accounts_sqlite.c):
 * an answer as the sink was told it, an account to give, session digests,
 * and calls that expect their one answer. Include after cmocka.h.
 *
 * What differs between the engines stays in each test file, which defines
 * for its engine, after including this:
 *   struct fix, the test's fixture;
 *   static struct gw_accounts *fix_ac(struct fix *f): the engine's calls;
 *   static struct got *take_one(struct fix *f): the engine's flush, until
 *       the one answer to a call just made is in f->got[0];
 *   static struct got *one(struct fix *f, uint64_t tag, int status): that
 *       answer, checked for tag and status (got_is) and what else the
 *       engine promises.
 */
#ifndef ACCTTEST_H
#define ACCTTEST_H

#include <stdio.h>
#include <string.h>

#include "gw_accounts.h"

#define NOW_MS INT64_C(1764000000000)
#define PHC    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo"

/* An answer: its tag and status, and a copy of the account it came with. */
struct got {
    uint64_t tag;
    int status;
    int has;
    char key[GW_ACCOUNT_KEY_MAX_BYTES + 1], nick[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    unsigned roles;
    uint64_t generation;
    int64_t created_ms;
};

struct fix;
static struct gw_accounts *fix_ac(struct fix *f);
static struct got *take_one(struct fix *f);
static struct got *one(struct fix *f, uint64_t tag, int status);

/* Keep what a sink was told in g (a is borrowed for the call only). */
static inline void got_put(struct got *g, uint64_t tag, int status, const struct gw_account *a)
{
    memset(g, 0, sizeof *g);
    g->tag = tag;
    g->status = status;
    g->has = a != NULL;
    if (a) {
        snprintf(g->key, sizeof g->key, "%s", a->key);
        snprintf(g->nick, sizeof g->nick, "%s", a->nick);
        snprintf(g->phc, sizeof g->phc, "%s", a->phc);
        g->roles = a->roles;
        g->generation = a->generation;
        g->created_ms = a->created_ms;
    }
}

/* The answer g is tag's, with this status. */
static inline void got_is(const struct got *g, uint64_t tag, int status)
{
    assert_int_equal(g->tag, tag);
    if (g->status != status)
        fail_msg("tag %llu: status %d, wanted %d", (unsigned long long)tag, g->status, status);
}

/* An account to give (not acct: unistd.h has one under _GNU_SOURCE). */
static inline struct gw_account account(const char *key, const char *nick, uint64_t gen)
{
    return (struct gw_account){
        .key = key, .nick = nick, .phc = PHC, .roles = 0, .generation = gen, .created_ms = NOW_MS};
}

/* A digest: 64 hex digits made from n. Borrowed for the next 7 calls. */
static inline const char *dig(unsigned n)
{
    static char d[8][GW_DIGEST_HEX_LEN + 1];
    static unsigned at;
    char *p = d[at++ % 8];
    for (unsigned i = 0; i < GW_DIGEST_HEX_LEN; i += 8)
        snprintf(p + i, 9, "%08x", n * 2654435761u + i);
    return p;
}

static inline void create_ok(struct fix *f, const char *key, uint64_t gen)
{
    struct gw_accounts *ac = fix_ac(f);
    struct gw_account a = account(key, key, gen);
    assert_int_equal(ac->create(ac->ctx, 1, &a), GW_STORE_PENDING);
    one(f, 1, GW_STORE_DONE);
}

static inline void keep_ok(struct fix *f, unsigned n, const char *key, uint64_t gen,
                           int64_t expires)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->session_keep(ac->ctx, 7, dig(n), key, gen, expires), GW_STORE_PENDING);
    one(f, 7, GW_STORE_DONE);
}

/* session_find's answer for digest n at now: its status. */
static inline int sfind(struct fix *f, unsigned n, int64_t now)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->session_find(ac->ctx, 8, dig(n), now), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 8);
    assert_int_equal(g->has, g->status == GW_STORE_DONE);
    return g->status;
}

#endif
