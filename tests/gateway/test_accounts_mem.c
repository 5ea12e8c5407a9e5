/*
 * test_accounts_mem.c - the in-memory accounts engine (gw_accounts_mem.h):
 * every call and every answer it can give, answers only from a flush (never
 * inside the call), keys as bytes, sessions at their expiry's exact
 * boundary, of an older generation, past the per-account bound, of a removed
 * account, and the engine's own bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accttest.h"
#include "gw_accounts.h"
#include "gw_accounts_mem.h"

#define GOT_MAX 2048

struct fix {
    struct gw_accounts_mem *m;
    struct gw_accounts ac;
    struct got got[GOT_MAX];
    size_t n;
    size_t total, seen;      /* answers given ever; as of the last flush */
    int again;               /* the sink calls find once more from inside */
};

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    struct fix *f = ctx;
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, a);
    if (f->again) {
        f->again = 0;
        size_t before = f->n;
        assert_int_equal(f->ac.find(f->ac.ctx, 999, "alice"), GW_STORE_PENDING);
        assert_int_equal(f->n, before); /* not inside this call either */
    }
}

static void on_keys(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                    const char *next)
{
    struct fix *f = ctx;
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, NULL);
    kgot_put(keys, n, next);
}

static void on_rooms(void *ctx, uint64_t tag, int status, const struct gw_account_room *rows,
                     size_t n)
{
    struct fix *f = ctx;
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, NULL);
    rgot_put(status, rows, n);
}

static void on_pms(void *ctx, uint64_t tag, int status, const struct gw_account_pm *rows,
                   size_t n)
{
    struct fix *f = ctx;
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, NULL);
    pgot_put(status, rows, n);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct gw_account_sink sink = {
        .ctx = f, .answer = on_answer, .keys = on_keys, .rooms = on_rooms, .pms = on_pms};
    assert_int_equal(gw_accounts_mem_new(&f->m, &sink), 0);
    gw_accounts_mem_iface(f->m, &f->ac);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_accounts_mem_free(f->m);
    free(f);
    return 0;
}

static struct gw_accounts *fix_ac(struct fix *f)
{
    return &f->ac;
}

/* The one answer a flush gives. */
static struct got *take_one(struct fix *f)
{
    f->n = 0;
    assert_int_equal(gw_accounts_mem_flush(f->m), 1);
    f->seen = f->total;
    return &f->got[0];
}

/* The one answer a flush gives, checked for tag and status. */
static struct got *one(struct fix *f, uint64_t tag, int status)
{
    struct got *g = take_one(f);
    assert_int_equal(f->n, 1);
    got_is(g, tag, status);
    return g;
}

static void accounts_every_call_and_answer(void **state)
{
    struct fix *f = *state;
    struct gw_account a = account("alice", "Alice", 1);
    a.roles = GW_ROLE_ADMIN;
    /* Nothing is answered inside a call, only by a flush. */
    assert_int_equal(f->ac.create(f->ac.ctx, 11, &a), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    one(f, 11, GW_STORE_DONE);
    assert_int_equal(gw_accounts_mem_flush(f->m), 0);

    /* Taken: EXISTS, and the account stays as it was. */
    struct gw_account b = account("alice", "ALICE", 5);
    assert_int_equal(f->ac.create(f->ac.ctx, 12, &b), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    assert_null(one(f, 12, GW_ACCOUNT_EXISTS)->has ? "account" : NULL);

    /* Keys are bytes: the caller folds case; "Alice" is another key. */
    b.key = "Alice";
    assert_int_equal(f->ac.create(f->ac.ctx, 13, &b), GW_STORE_PENDING);
    one(f, 13, GW_STORE_DONE);

    assert_int_equal(f->ac.find(f->ac.ctx, 14, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    struct got *g = one(f, 14, GW_STORE_DONE);
    assert_true(g->has);
    assert_string_equal(g->key, "alice");
    assert_string_equal(g->nick, "Alice");
    assert_string_equal(g->phc, PHC);
    assert_int_equal(g->roles, GW_ROLE_ADMIN);
    assert_int_equal(g->generation, 1);
    assert_int_equal(g->created_ms, NOW_MS);
    assert_int_equal(f->ac.find(f->ac.ctx, 15, "bob"), GW_STORE_PENDING);
    assert_false(one(f, 15, GW_ACCOUNT_NONE)->has);

    /* Update: everything but created_ms. */
    struct gw_account u = {.key = "alice", .nick = "ALICE", .phc = "", .roles = 0,
                           .generation = 2, .created_ms = 5};
    assert_int_equal(f->ac.update(f->ac.ctx, 16, &u), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    one(f, 16, GW_STORE_DONE);
    assert_int_equal(f->ac.find(f->ac.ctx, 17, "alice"), GW_STORE_PENDING);
    g = one(f, 17, GW_STORE_DONE);
    assert_string_equal(g->nick, "ALICE");
    assert_string_equal(g->phc, "");
    assert_int_equal(g->roles, 0);
    assert_int_equal(g->generation, 2);
    assert_int_equal(g->created_ms, NOW_MS);
    u.key = "bob";
    assert_int_equal(f->ac.update(f->ac.ctx, 18, &u), GW_STORE_PENDING);
    one(f, 18, GW_ACCOUNT_NONE);

    /* Remove, twice. */
    assert_int_equal(f->ac.remove(f->ac.ctx, 19, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    one(f, 19, GW_STORE_DONE);
    assert_int_equal(f->ac.remove(f->ac.ctx, 20, "alice"), GW_STORE_PENDING);
    one(f, 20, GW_ACCOUNT_NONE);
    assert_int_equal(f->ac.find(f->ac.ctx, 21, "alice"), GW_STORE_PENDING);
    one(f, 21, GW_ACCOUNT_NONE);
    assert_int_equal(f->ac.find(f->ac.ctx, 22, "Alice"), GW_STORE_PENDING);
    one(f, 22, GW_STORE_DONE);
    assert_int_equal(gw_accounts_mem_count(f->m, NULL), 1);
}

static void answers_come_in_order_and_never_inside_a_call(void **state)
{
    struct fix *f = *state;
    struct gw_account a = account("alice", "alice", 1);
    assert_int_equal(f->ac.find(f->ac.ctx, 1, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.create(f->ac.ctx, 2, &a), GW_STORE_PENDING);
    assert_int_equal(f->ac.find(f->ac.ctx, 3, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.create(f->ac.ctx, 4, &a), GW_STORE_PENDING);
    assert_int_equal(f->ac.remove(f->ac.ctx, 5, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.find(f->ac.ctx, 6, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    f->again = 1; /* the sink asks again while answered: next flush */
    assert_int_equal(gw_accounts_mem_flush(f->m), 6);
    static const int want[] = {GW_ACCOUNT_NONE, GW_STORE_DONE, GW_STORE_DONE,
                               GW_ACCOUNT_EXISTS, GW_STORE_DONE, GW_ACCOUNT_NONE};
    assert_int_equal(f->n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(f->got[i].tag, i + 1);
        assert_int_equal(f->got[i].status, want[i]);
    }
    one(f, 999, GW_ACCOUNT_NONE);
}

static void bad_arguments_are_refused_without_an_answer(void **state)
{
    struct fix *f = *state;
    char longkey[GW_ACCOUNT_KEY_MAX_BYTES + 2], longphc[GW_ACCOUNT_PHC_MAX_BYTES + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    memset(longphc, 'p', sizeof longphc - 1);
    longphc[sizeof longphc - 1] = '\0';
    struct gw_account a = account("", "x", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    a.key = longkey;
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    longkey[GW_ACCOUNT_KEY_MAX_BYTES] = '\0'; /* exactly the bound: fine */
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
    a = account("bob", NULL, 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    a = account("bob", "bob", 1);
    a.phc = longphc;
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    assert_int_equal(f->ac.update(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(f->ac.find(f->ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(f->ac.remove(f->ac.ctx, 1, ""), GW_STORE_EINVAL);
    char upper[GW_DIGEST_HEX_LEN + 1];
    snprintf(upper, sizeof upper, "%s", dig(1));
    upper[3] = 'A';
    char shorter[GW_DIGEST_HEX_LEN];
    snprintf(shorter, sizeof shorter, "%s", dig(1));
    const char *bad[] = {upper, shorter, "", NULL};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->ac.session_keep(f->ac.ctx, 1, bad[i], "bob", 1, NOW_MS),
                         GW_STORE_EINVAL);
        assert_int_equal(f->ac.session_find(f->ac.ctx, 1, bad[i], NOW_MS), GW_STORE_EINVAL);
        assert_int_equal(f->ac.session_drop(f->ac.ctx, 1, bad[i]), GW_STORE_EINVAL);
    }
    assert_int_equal(f->ac.session_keep(f->ac.ctx, 1, dig(1), "", 1, NOW_MS), GW_STORE_EINVAL);
    /* Only the one good create was answered. */
    assert_int_equal(gw_accounts_mem_flush(f->m), 1);
    assert_int_equal(f->got[0].status, GW_STORE_DONE);
    struct gw_account_sink none = {0};
    struct gw_accounts_mem *m = NULL;
    assert_int_equal(gw_accounts_mem_new(&m, &none), GW_STORE_EINVAL);
    assert_null(m);
}

static void sessions_every_call_and_answer(void **state)
{
    struct fix *f = *state;
    int64_t end = NOW_MS + 1000;
    assert_int_equal(f->ac.session_keep(f->ac.ctx, 7, dig(1), "alice", 1, end),
                     GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    one(f, 7, GW_ACCOUNT_NONE); /* no such account */
    create_ok(f, "alice", 1);
    keep_ok(f, 1, "alice", 1, end);
    assert_int_equal(f->ac.session_find(f->ac.ctx, 8, dig(1), NOW_MS), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    struct got *g = one(f, 8, GW_STORE_DONE);
    assert_true(g->has);
    assert_string_equal(g->key, "alice");
    assert_string_equal(g->phc, PHC);
    /* The boundary: alive 1 ms before its end, over at its end. */
    assert_int_equal(sfind(f, 1, end - 1), GW_STORE_DONE);
    assert_int_equal(sfind(f, 1, end), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 1, end + 1), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE); /* never kept */
    /* Drop, twice. */
    keep_ok(f, 2, "alice", 1, end);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 9, dig(2)), GW_STORE_PENDING);
    assert_int_equal(f->total, f->seen); /* nothing inside the call */
    one(f, 9, GW_STORE_DONE);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 9, dig(2)), GW_STORE_PENDING);
    one(f, 9, GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
}

static void an_older_generation_is_over(void **state)
{
    struct fix *f = *state;
    create_ok(f, "alice", 3);
    int64_t end = NOW_MS + 1000;
    keep_ok(f, 1, "alice", 2, end);          /* made under an older one */
    keep_ok(f, 2, "alice", 3, end);
    keep_ok(f, 3, "alice", 4, end);          /* a newer one is not over */
    assert_int_equal(sfind(f, 1, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    /* A new password (generation 4) ends session 2, not 3. */
    struct gw_account u = account("alice", "alice", 4);
    assert_int_equal(f->ac.update(f->ac.ctx, 5, &u), GW_STORE_PENDING);
    one(f, 5, GW_STORE_DONE);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    size_t sessions = 0;
    gw_accounts_mem_count(f->m, &sessions);
    assert_int_equal(sessions, 1);
}

static void the_33rd_session_ends_the_oldest(void **state)
{
    struct fix *f = *state;
    create_ok(f, "alice", 1);
    create_ok(f, "bob", 1);
    int64_t end = NOW_MS + 1000;
    keep_ok(f, 500, "bob", 1, end);
    for (unsigned i = 1; i <= GW_SESSIONS_PER_ACCOUNT; i++)
        keep_ok(f, i, "alice", 1, end);
    size_t sessions = 0;
    gw_accounts_mem_count(f->m, &sessions);
    assert_int_equal(sessions, GW_SESSIONS_PER_ACCOUNT + 1);
    for (unsigned i = 1; i <= GW_SESSIONS_PER_ACCOUNT; i++)
        assert_int_equal(sfind(f, i, NOW_MS), GW_STORE_DONE);
    /* Session 1 kept again is the newest now: the 33rd ends session 2. */
    keep_ok(f, 1, "alice", 1, end);
    keep_ok(f, 33, "alice", 1, end);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 33, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 500, NOW_MS), GW_STORE_DONE); /* another account's */
    gw_accounts_mem_count(f->m, &sessions);
    assert_int_equal(sessions, GW_SESSIONS_PER_ACCOUNT + 1);
    /* And the 34th ends session 3. */
    keep_ok(f, 34, "alice", 1, end);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 4, NOW_MS), GW_STORE_DONE);
}

static void remove_ends_the_accounts_sessions(void **state)
{
    struct fix *f = *state;
    create_ok(f, "alice", 1);
    create_ok(f, "bob", 1);
    int64_t end = NOW_MS + 1000;
    keep_ok(f, 1, "alice", 1, end);
    keep_ok(f, 2, "alice", 1, end);
    keep_ok(f, 3, "bob", 1, end);
    assert_int_equal(f->ac.remove(f->ac.ctx, 4, "alice"), GW_STORE_PENDING);
    one(f, 4, GW_STORE_DONE);
    size_t sessions = 0;
    assert_int_equal(gw_accounts_mem_count(f->m, &sessions), 1);
    assert_int_equal(sessions, 1);
    /* Made again under the same name, the old sessions stay over. */
    create_ok(f, "alice", 1);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 5, dig(1)), GW_STORE_PENDING);
    one(f, 5, GW_ACCOUNT_NONE);
}

static void expiry_ends_what_is_over(void **state)
{
    struct fix *f = *state;
    create_ok(f, "alice", 1);
    keep_ok(f, 1, "alice", 1, NOW_MS);
    keep_ok(f, 2, "alice", 1, NOW_MS + 1);
    assert_int_equal(gw_accounts_mem_expire(f->m, NOW_MS - 1), 0);
    assert_int_equal(gw_accounts_mem_expire(f->m, NOW_MS), 1);
    size_t sessions = 0;
    gw_accounts_mem_count(f->m, &sessions);
    assert_int_equal(sessions, 1);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_STORE_DONE);
    assert_int_equal(gw_accounts_mem_expire(f->m, NOW_MS + 1), 1);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
}

static void the_engines_bounds(void **state)
{
    struct fix *f = *state;
    /* Answers waiting: past the bound a call does nothing. */
    struct gw_account a = account("alice", "alice", 1);
    for (unsigned i = 0; i < GW_ACCOUNTS_MEM_ANSWERS_MAX; i++)
        assert_int_equal(f->ac.find(f->ac.ctx, i, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EBUSY);
    assert_int_equal(f->ac.session_find(f->ac.ctx, 1, dig(1), NOW_MS), GW_STORE_EBUSY);
    assert_int_equal(gw_accounts_mem_flush(f->m), GW_ACCOUNTS_MEM_ANSWERS_MAX);
    assert_int_equal(gw_accounts_mem_count(f->m, NULL), 0);
    /* Accounts: GW_ACCOUNTS_MEM_MAX, then EBUSY as the answer. */
    char key[32];
    for (unsigned i = 0; i < GW_ACCOUNTS_MEM_MAX; i++) {
        snprintf(key, sizeof key, "user%u", i);
        a.key = a.nick = key;
        assert_int_equal(f->ac.create(f->ac.ctx, i, &a), GW_STORE_PENDING);
        if (f->n + GW_ACCOUNTS_MEM_ANSWERS_MAX > GOT_MAX || i % 512 == 511) {
            f->n = 0;
            gw_accounts_mem_flush(f->m);
            for (size_t j = 0; j < f->n; j++)
                assert_int_equal(f->got[j].status, GW_STORE_DONE);
        }
    }
    f->n = 0;
    gw_accounts_mem_flush(f->m);
    assert_int_equal(gw_accounts_mem_count(f->m, NULL), GW_ACCOUNTS_MEM_MAX);
    a.key = a.nick = "one-more";
    assert_int_equal(f->ac.create(f->ac.ctx, 77, &a), GW_STORE_PENDING);
    one(f, 77, GW_STORE_EBUSY);
    /* Room again after a remove. */
    assert_int_equal(f->ac.remove(f->ac.ctx, 78, "user0"), GW_STORE_PENDING);
    one(f, 78, GW_STORE_DONE);
    assert_int_equal(f->ac.create(f->ac.ctx, 79, &a), GW_STORE_PENDING);
    one(f, 79, GW_STORE_DONE);
}

/* FNV-1a as the engine buckets keys, to make names that share a bucket. */
static size_t mem_bucket(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (GW_ACCOUNTS_MEM_BUCKETS - 1u);
}

static void remove_user7(struct fix *f)
{
    assert_int_equal(f->ac.remove(f->ac.ctx, 3, "user7"), GW_STORE_PENDING);
    one(f, 3, GW_STORE_DONE);
}

static void keys_walks_every_name_once(void **state)
{
    struct fix *f = *state;
    static unsigned seen[GW_ACCOUNT_KEYS_PAGE * 3 + 1];
    const size_t total = GW_ACCOUNT_KEYS_PAGE * 3 + 1;
    /* None: 16 empty pages (1024 buckets each), the last with next "". */
    assert_int_equal(keys_walk(f, seen, total, 64, NULL), 16);
    assert_int_equal(kgot.n, 0);
    for (unsigned i = 0; i < total; i++)
        assert_int_equal(seen[i], 0);
    char key[32];
    for (unsigned i = 0; i < total; i++) {
        snprintf(key, sizeof key, "user%u", i);
        create_ok(f, key, 1);
    }
    /* 16384 buckets walked 1024 at a time: at most 16 pages and those the
     * names fill; every name once. */
    size_t pages = keys_walk(f, seen, total, 16 + 4 + 1, NULL);
    assert_true(pages >= 4);
    for (unsigned i = 0; i < total; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    /* A name removed during the walk may be given or not; the others are. */
    keys_walk(f, seen, total, 16 + 4 + 1, remove_user7);
    for (unsigned i = 0; i < total; i++)
        if (i != 7 && seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    /* A bad cursor is refused with no answer. */
    f->n = 0;
    assert_int_equal(f->ac.keys(f->ac.ctx, 1, "x"), GW_STORE_EINVAL);
    assert_int_equal(f->ac.keys(f->ac.ctx, 1, "16384.0"), GW_STORE_EINVAL);
    assert_int_equal(f->ac.keys(f->ac.ctx, 1, "3.x"), GW_STORE_EINVAL);
    assert_int_equal(f->ac.keys(f->ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(gw_accounts_mem_flush(f->m), 0);
}

static void keys_splits_a_bucket_longer_than_a_page(void **state)
{
    struct fix *f = *state;
    /* GW_ACCOUNT_KEYS_PAGE + 2 names in one bucket, among others. */
    static unsigned seen[8000000];
    char key[32];
    size_t b = mem_bucket("user0"), same = 0;
    unsigned last = 0;
    for (unsigned i = 0; same < GW_ACCOUNT_KEYS_PAGE + 2 && i < 8000000; i++) {
        snprintf(key, sizeof key, "user%u", i);
        if (mem_bucket(key) == b || i % 4096 == 1) {
            create_ok(f, key, 1);
            same += mem_bucket(key) == b;
        }
        last = i;
    }
    assert_int_equal(same, GW_ACCOUNT_KEYS_PAGE + 2);
    keys_walk(f, seen, last + 1, 64, NULL);
    size_t n = 0;
    for (unsigned i = 0; i <= last; i++) {
        snprintf(key, sizeof key, "user%u", i);
        int made = mem_bucket(key) == b || i % 4096 == 1;
        if (seen[i] != (unsigned)made)
            fail_msg("user%u given %u times", i, seen[i]);
        n += made;
    }
    assert_int_equal(n, gw_accounts_mem_count(f->m, NULL));
}

/* ---- present while away (accttest.h's contract) ---- */

static void rooms_calls(void **state)
{
    rooms_every_call_and_answer(*state);
}

static void rooms_bound(void **state)
{
    rooms_the_101st_is_refused(*state);
}

static void room_accounts_walk(void **state)
{
    room_accounts_walks_every_member_once(*state);
}

static void pms_calls(void **state)
{
    pms_every_call_and_answer(*state);
}

static void pms_bound(void **state)
{
    pms_the_1001st_drops_the_oldest(*state);
}

static void remove_takes_the_rest(void **state)
{
    remove_takes_rooms_and_messages(*state);
}

static void away_bad_arguments(void **state)
{
    struct fix *f = *state;
    create_ok(f, "alice", 1);
    away_bad_arguments_are_refused(f);
    assert_int_equal(gw_accounts_mem_flush(f->m), 0);
    /* Without the sink functions their answers need: refused. */
    struct gw_account_sink plain = {.ctx = f, .answer = on_answer};
    struct gw_accounts_mem *m = NULL;
    struct gw_accounts ac;
    assert_int_equal(gw_accounts_mem_new(&m, &plain), 0);
    gw_accounts_mem_iface(m, &ac);
    struct gw_account_pm pm = {.peer = "bob", .text = "hi"};
    assert_int_equal(ac.rooms_of(ac.ctx, 1, "alice"), GW_STORE_EINVAL);
    assert_int_equal(ac.room_accounts(ac.ctx, 1, "#a", ""), GW_STORE_EINVAL);
    assert_int_equal(ac.pm_add(ac.ctx, 1, "alice", &pm), GW_STORE_EINVAL);
    assert_int_equal(ac.pm_after(ac.ctx, 1, "alice", 0, 1), GW_STORE_EINVAL);
    assert_int_equal(gw_accounts_mem_flush(m), 0);
    gw_accounts_mem_free(m);
}

/* The engine's bytes of messages: past GW_ACCOUNTS_MEM_PM_BYTES_MAX a new
 * one is answered GW_STORE_EBUSY; one that replaces an account's oldest
 * of the same size still fits. */
static void pms_the_engines_bytes_bound(void **state)
{
    struct fix *f = *state;
    static char text[GW_ACCOUNT_TEXT_MAX_BYTES + 1];
    memset(text, 'x', GW_ACCOUNT_TEXT_MAX_BYTES);
    const size_t each = 4 + GW_ACCOUNT_TEXT_MAX_BYTES + 1; /* "bob", text, NULs */
    const size_t fit = GW_ACCOUNTS_MEM_PM_BYTES_MAX / each;
    char key[32];
    size_t made = 0;
    for (unsigned a = 0; made < fit; a++) {
        snprintf(key, sizeof key, "user%u", a);
        create_ok(f, key, 1);
        for (unsigned i = 0; i < GW_ACCOUNT_PMS_MAX && made < fit; i++, made++)
            assert_int_equal(pmadd(f, key, "bob", 0, text), GW_STORE_DONE);
    }
    create_ok(f, "last", 1);
    assert_int_equal(pmadd(f, "last", "bob", 0, text), GW_STORE_EBUSY);
    assert_int_equal(pmafter(f, "last", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    /* user0 is full: its next replaces its oldest. */
    assert_int_equal(pmadd(f, "user0", "bob", 0, text), GW_STORE_DONE);
    /* A removal makes room. */
    assert_int_equal(f->ac.remove(f->ac.ctx, 3, "user1"), GW_STORE_PENDING);
    one(f, 3, GW_STORE_DONE);
    assert_int_equal(pmadd(f, "last", "bob", 0, text), GW_STORE_DONE);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(accounts_every_call_and_answer),
        T(answers_come_in_order_and_never_inside_a_call),
        T(bad_arguments_are_refused_without_an_answer),
        T(sessions_every_call_and_answer),
        T(an_older_generation_is_over),
        T(the_33rd_session_ends_the_oldest),
        T(remove_ends_the_accounts_sessions),
        T(expiry_ends_what_is_over),
        T(the_engines_bounds),
        T(keys_walks_every_name_once),
        T(keys_splits_a_bucket_longer_than_a_page),
        T(rooms_calls),
        T(rooms_bound),
        T(room_accounts_walk),
        T(pms_calls),
        T(pms_bound),
        T(remove_takes_the_rest),
        T(away_bad_arguments),
        T(pms_the_engines_bytes_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
