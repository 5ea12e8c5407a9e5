/*
 * accttest.h - helpers shared by the CMocka tests of the accounts engines
 * (test_accounts_mem.c, test_accounts_sqlite.c, test_accounts_redis.c):
 * an answer as the sink was told it, an account to give, session digests,
 * and calls that expect their one answer. Include after cmocka.h.
 *
 * What differs between the engines stays in each test file, which defines
 * for its engine, after including this:
 *   struct fix, the test's fixture;
 *   static struct gw_accounts *fix_ac(struct fix *f): the engine's calls;
 *   static struct got *take_one(struct fix *f): the engine's flush (or
 *       loop), until the one answer to a call just made is there;
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

/* The last page of keys a sink was told (kgot_put from the test's keys
 * sink, which also puts its tag and status with got_put). */
struct keys_got {
    size_t n;
    char keys[GW_ACCOUNT_KEYS_PAGE][GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char next[GW_ACCOUNT_CURSOR_MAX_BYTES + 1];
};
static struct keys_got kgot;

static inline void kgot_put(const char *const *keys, size_t n, const char *next)
{
    assert_true(n <= GW_ACCOUNT_KEYS_PAGE);
    kgot.n = n;
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(keys[i]) <= GW_ACCOUNT_KEY_MAX_BYTES);
        snprintf(kgot.keys[i], sizeof kgot.keys[i], "%s", keys[i]);
    }
    assert_true(strlen(next) <= GW_ACCOUNT_CURSOR_MAX_BYTES);
    snprintf(kgot.next, sizeof kgot.next, "%s", next);
}

/*
 * Walk every page of keys; count in seen[i] how often "user<i>" was given
 * (i < nseen; any other name fails the test). Returns the pages walked
 * (at most max_pages, or the test fails). When between is set, it is
 * called after the first page (to change the accounts during the walk).
 */
static inline size_t keys_walk(struct fix *f, unsigned *seen, size_t nseen, size_t max_pages,
                               void (*between)(struct fix *f))
{
    struct gw_accounts *ac = fix_ac(f);
    char cursor[GW_ACCOUNT_CURSOR_MAX_BYTES + 1] = "";
    size_t pages = 0;
    memset(seen, 0, nseen * sizeof *seen);
    do {
        assert_true(pages < max_pages);
        assert_int_equal(ac->keys(ac->ctx, 40 + pages, cursor), GW_STORE_PENDING);
        one(f, 40 + pages, GW_STORE_DONE);
        pages++;
        for (size_t i = 0; i < kgot.n; i++) {
            unsigned u;
            char tail;
            if (sscanf(kgot.keys[i], "user%u%c", &u, &tail) != 1 || u >= nseen)
                fail_msg("keys gave \"%s\"", kgot.keys[i]);
            seen[u]++;
        }
        snprintf(cursor, sizeof cursor, "%s", kgot.next);
        if (pages == 1 && between)
            between(f);
    } while (cursor[0]);
    return pages;
}

#endif
