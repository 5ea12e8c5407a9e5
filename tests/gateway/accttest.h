/*
 * accttest.h - helpers shared by the CMocka tests of the accounts engines
 * (test_accounts_mem.c, test_accounts_sqlite.c, test_accounts_redis.c):
 * an answer as the sink was told it, an account to give, session digests,
 * and calls that expect their one answer; a walk of pages of names (keys,
 * room_accounts); and what every engine promises of present while away
 * and of private messages kept for the absent, as functions each engine's
 * test runs on its fixture (rooms_every_call_and_answer ...). Include
 * after cmocka.h.
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
 * Walk every page of keys (room NULL) or of room_accounts(room); count in
 * seen[i] how often "user<i>" was given (i < nseen; any other name fails
 * the test). Returns the pages walked (at most max_pages, or the test
 * fails). When between is set, it is called after the first page (to
 * change the accounts during the walk).
 */
static inline size_t names_walk(struct fix *f, const char *room, unsigned *seen, size_t nseen,
                                size_t max_pages, void (*between)(struct fix *f))
{
    struct gw_accounts *ac = fix_ac(f);
    char cursor[GW_ACCOUNT_CURSOR_MAX_BYTES + 1] = "";
    size_t pages = 0;
    memset(seen, 0, nseen * sizeof *seen);
    do {
        assert_true(pages < max_pages);
        int rc = room ? ac->room_accounts(ac->ctx, 40 + pages, room, cursor)
                      : ac->keys(ac->ctx, 40 + pages, cursor);
        assert_int_equal(rc, GW_STORE_PENDING);
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

static inline size_t keys_walk(struct fix *f, unsigned *seen, size_t nseen, size_t max_pages,
                               void (*between)(struct fix *f))
{
    return names_walk(f, NULL, seen, nseen, max_pages, between);
}

/* ---- present while away: what the rooms and pms sinks were told ---- */

/* The last rooms answer (rgot_put from the test's rooms sink, which also
 * puts its tag and status with got_put). */
struct rooms_got {
    size_t n;
    char room[GW_ACCOUNT_ROOMS_MAX][GW_ACCOUNT_ROOM_MAX_BYTES + 1];
    uint64_t read_id[GW_ACCOUNT_ROOMS_MAX];
};
static struct rooms_got rgot;

static inline void rgot_put(int status, const struct gw_account_room *rows, size_t n)
{
    assert_true(n <= GW_ACCOUNT_ROOMS_MAX);
    assert_true(status == GW_STORE_DONE || (rows == NULL && n == 0));
    rgot.n = n;
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(rows[i].room) <= GW_ACCOUNT_ROOM_MAX_BYTES);
        snprintf(rgot.room[i], sizeof rgot.room[i], "%s", rows[i].room);
        rgot.read_id[i] = rows[i].read_id;
    }
}

/* The last pms answer (pgot_put from the test's pms sink, likewise). */
struct pms_got {
    size_t n;
    uint64_t id[GW_ACCOUNT_PMS_PAGE];
    int64_t time_ms[GW_ACCOUNT_PMS_PAGE];
    int out[GW_ACCOUNT_PMS_PAGE];
    char peer[GW_ACCOUNT_PMS_PAGE][GW_ACCOUNT_PEER_MAX_BYTES + 1];
    char text[GW_ACCOUNT_PMS_PAGE][GW_ACCOUNT_TEXT_MAX_BYTES + 1];
};
static struct pms_got pgot;

static inline void pgot_put(int status, const struct gw_account_pm *rows, size_t n)
{
    assert_true(n <= GW_ACCOUNT_PMS_PAGE);
    assert_true(status == GW_STORE_DONE || (rows == NULL && n == 0));
    pgot.n = n;
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(rows[i].peer) <= GW_ACCOUNT_PEER_MAX_BYTES);
        assert_true(strlen(rows[i].text) <= GW_ACCOUNT_TEXT_MAX_BYTES);
        pgot.id[i] = rows[i].id;
        pgot.time_ms[i] = rows[i].time_ms;
        pgot.out[i] = rows[i].out;
        snprintf(pgot.peer[i], sizeof pgot.peer[i], "%s", rows[i].peer);
        snprintf(pgot.text[i], sizeof pgot.text[i], "%s", rows[i].text);
    }
}

/* room_keep's answer: its status. */
static inline int rkeep(struct fix *f, const char *key, const char *room, int in)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->room_keep(ac->ctx, 50, key, room, in), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 50);
    return g->status;
}

/* rooms_of's answer: its status (the rooms in rgot). */
static inline int rooms(struct fix *f, const char *key)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->rooms_of(ac->ctx, 51, key), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 51);
    return g->status;
}

/* read_mark's answer: its status. */
static inline int rmark(struct fix *f, const char *key, const char *room, uint64_t id)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->read_mark(ac->ctx, 52, key, room, id), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 52);
    return g->status;
}

/* The read position rgot has for room, or -1 when room is not there. */
static inline int64_t rgot_read(const char *room)
{
    for (size_t i = 0; i < rgot.n; i++)
        if (strcmp(rgot.room[i], room) == 0)
            return (int64_t)rgot.read_id[i];
    return -1;
}

/* pm_add's answer: its status (the message as kept in pgot). */
static inline int pmadd(struct fix *f, const char *key, const char *peer, int out,
                        const char *text)
{
    struct gw_accounts *ac = fix_ac(f);
    struct gw_account_pm pm = {.id = 77, .time_ms = NOW_MS, .peer = peer, .out = out,
                               .text = text};
    assert_int_equal(ac->pm_add(ac->ctx, 53, key, &pm), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 53);
    assert_int_equal(pgot.n, g->status == GW_STORE_DONE ? 1 : 0);
    return g->status;
}

/* pm_after's answer: its status (the messages in pgot). */
static inline int pmafter(struct fix *f, const char *key, uint64_t after, size_t limit)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->pm_after(ac->ctx, 54, key, after, limit), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 54);
    return g->status;
}

/* ---- present while away: the contract every engine keeps ---- */

static inline void rooms_every_call_and_answer(struct fix *f)
{
    /* No such account. */
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_ACCOUNT_NONE);
    assert_int_equal(rkeep(f, "alice", "#a", 0), GW_ACCOUNT_NONE);
    assert_int_equal(rooms(f, "alice"), GW_ACCOUNT_NONE);
    assert_int_equal(rgot.n, 0);
    assert_int_equal(rmark(f, "alice", "#a", 5), GW_ACCOUNT_NONE);
    create_ok(f, "alice", 1);
    create_ok(f, "bob", 1);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 0);
    /* Joined (twice: one room), read position 0, in byte order. */
    assert_int_equal(rkeep(f, "alice", "#b", 1), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "bob", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 2);
    assert_string_equal(rgot.room[0], "#a");
    assert_string_equal(rgot.room[1], "#b");
    assert_int_equal(rgot.read_id[0], 0);
    assert_int_equal(rgot.read_id[1], 0);
    /* The read position: forward only; per account and room. */
    assert_int_equal(rmark(f, "alice", "#a", 5), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#a", 3), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#b", 9), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#b", 10), GW_STORE_DONE); /* more digits: larger */
    assert_int_equal(rmark(f, "alice", "#b", 9), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#c", 9), GW_ACCOUNT_NONE); /* not a member */
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#a"), 5);
    assert_int_equal(rgot_read("#b"), 10);
    assert_int_equal(rooms(f, "bob"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 1);
    assert_int_equal(rgot_read("#a"), 0);
    /* Joined again while a member: its position stays. */
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#a"), 5);
    /* The largest id there is. */
    assert_int_equal(rmark(f, "alice", "#a", GW_ACCOUNT_ID_MAX), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#a", GW_ACCOUNT_ID_MAX - 1), GW_STORE_DONE);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_true(rgot.read_id[0] == GW_ACCOUNT_ID_MAX);
    /* Left (twice: fine), and joined again: from 0. */
    assert_int_equal(rkeep(f, "alice", "#a", 0), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "alice", "#a", 0), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#a", 7), GW_ACCOUNT_NONE);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 1);
    assert_string_equal(rgot.room[0], "#b");
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#a"), 0);
    assert_int_equal(rgot_read("#b"), 10);
}

static inline void rooms_the_101st_is_refused(struct fix *f)
{
    char room[16];
    create_ok(f, "alice", 1);
    for (unsigned i = 0; i < GW_ACCOUNT_ROOMS_MAX; i++) {
        snprintf(room, sizeof room, "#r%03u", i);
        assert_int_equal(rkeep(f, "alice", room, 1), GW_STORE_DONE);
    }
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, GW_ACCOUNT_ROOMS_MAX);
    for (unsigned i = 0; i < GW_ACCOUNT_ROOMS_MAX; i++) {
        snprintf(room, sizeof room, "#r%03u", i);
        assert_string_equal(rgot.room[i], room);
    }
    /* The 101st: refused, nothing kept; one it is in: fine. */
    assert_int_equal(rkeep(f, "alice", "#one-more", 1), GW_ACCOUNT_FULL);
    assert_int_equal(rkeep(f, "alice", "#r050", 1), GW_STORE_DONE);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, GW_ACCOUNT_ROOMS_MAX);
    assert_int_equal(rgot_read("#one-more"), -1);
    /* One left: room for one. */
    assert_int_equal(rkeep(f, "alice", "#r050", 0), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "alice", "#one-more", 1), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "alice", "#r050", 1), GW_ACCOUNT_FULL);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, GW_ACCOUNT_ROOMS_MAX);
    assert_int_equal(rgot_read("#one-more"), 0);
}

static inline void rac_remove_user0(struct fix *f)
{
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->remove(ac->ctx, 3, "user0"), GW_STORE_PENDING);
    one(f, 3, GW_STORE_DONE);
}

static inline void rac_user1_leaves(struct fix *f)
{
    assert_int_equal(rkeep(f, "user1", "#lobby", 0), GW_STORE_DONE);
}

static inline void room_accounts_walks_every_member_once(struct fix *f)
{
    enum { TOTAL = GW_ACCOUNT_KEYS_PAGE * 3 + 1 };
    static unsigned seen[TOTAL + 1];
    char key[32];
    /* None: one empty page, the last. */
    assert_int_equal(names_walk(f, "#lobby", seen, TOTAL + 1, 8, NULL), 1);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    /* user0..user768 in #lobby, user769 elsewhere. */
    for (unsigned i = 0; i <= TOTAL; i++) {
        snprintf(key, sizeof key, "user%u", i);
        create_ok(f, key, 1);
        assert_int_equal(rkeep(f, key, i < TOTAL ? "#lobby" : "#other", 1), GW_STORE_DONE);
    }
    assert_int_equal(names_walk(f, "#lobby", seen, TOTAL + 1, 8, NULL), 4);
    assert_int_equal(kgot.n, 1);
    for (unsigned i = 0; i <= TOTAL; i++)
        if (seen[i] != (i < TOTAL))
            fail_msg("user%u given %u times", i, seen[i]);
    /* A page: full, in byte order, its last name the cursor. */
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->room_accounts(ac->ctx, 5, "#lobby", ""), GW_STORE_PENDING);
    one(f, 5, GW_STORE_DONE);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE);
    for (size_t i = 1; i < kgot.n; i++)
        assert_true(strcmp(kgot.keys[i - 1], kgot.keys[i]) < 0);
    assert_string_equal(kgot.next, kgot.keys[GW_ACCOUNT_KEYS_PAGE - 1]);
    /* Removed during the walk (its rooms go with it), or left: no other
     * member is skipped. */
    assert_int_equal(names_walk(f, "#lobby", seen, TOTAL + 1, 8, rac_remove_user0), 4);
    for (unsigned i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    assert_int_equal(names_walk(f, "#lobby", seen, TOTAL + 1, 8, rac_user1_leaves), 3);
    for (unsigned i = 1; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    assert_int_equal(names_walk(f, "#lobby", seen, TOTAL + 1, 8, NULL), 3);
    assert_int_equal(seen[0] + seen[1], 0);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE - 1);
    /* Made again: in no room. */
    create_ok(f, "user0", 1);
    assert_int_equal(names_walk(f, "#lobby", seen, TOTAL + 1, 8, NULL), 3);
    assert_int_equal(seen[0], 0);
    assert_int_equal(names_walk(f, "#other", seen, TOTAL + 1, 8, NULL), 1);
    assert_int_equal(kgot.n, 1);
    assert_int_equal(seen[TOTAL], 1);
    /* A cursor past every name: the last page, empty. */
    assert_int_equal(ac->room_accounts(ac->ctx, 6, "#lobby", "zzz"), GW_STORE_PENDING);
    one(f, 6, GW_STORE_DONE);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
}

static inline void pms_every_call_and_answer(struct fix *f)
{
    assert_int_equal(pmadd(f, "alice", "bob", 0, "hi"), GW_ACCOUNT_NONE);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_ACCOUNT_NONE);
    assert_int_equal(pgot.n, 0);
    create_ok(f, "alice", 1);
    create_ok(f, "bob", 1);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    /* Ids from 1, the caller's id ignored; the message as kept. */
    assert_int_equal(pmadd(f, "alice", "Bob", 0, "hi alice"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 1);
    assert_int_equal(pgot.time_ms[0], NOW_MS);
    assert_string_equal(pgot.peer[0], "Bob");
    assert_int_equal(pgot.out[0], 0);
    assert_string_equal(pgot.text[0], "hi alice");
    assert_int_equal(pmadd(f, "alice", "Bob", 1, "hi \xc3\xa9 \"bob\"'; --"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 2);
    assert_int_equal(pgot.out[0], 1);
    assert_int_equal(pmadd(f, "alice", "Carol", 0, ""), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 3);
    assert_string_equal(pgot.text[0], "");
    /* Per account. */
    assert_int_equal(pmadd(f, "bob", "alice", 1, "hi alice"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 1);
    /* After an id, oldest first. */
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(pgot.id[i], i + 1);
    assert_string_equal(pgot.peer[1], "Bob");
    assert_int_equal(pgot.out[1], 1);
    assert_string_equal(pgot.text[1], "hi \xc3\xa9 \"bob\"'; --");
    assert_int_equal(pgot.time_ms[1], NOW_MS);
    assert_string_equal(pgot.peer[2], "Carol");
    assert_int_equal(pmafter(f, "alice", 1, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 2);
    assert_int_equal(pgot.id[0], 2);
    /* After the last id: none. Past it: none. */
    assert_int_equal(pmafter(f, "alice", 3, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    assert_int_equal(pmafter(f, "alice", 4, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    assert_int_equal(pmafter(f, "alice", GW_ACCOUNT_ID_MAX, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    /* Limits: 0 (still says the account exists), 1. */
    assert_int_equal(pmafter(f, "alice", 0, 0), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    assert_int_equal(pmafter(f, "nobody", 0, 0), GW_ACCOUNT_NONE);
    assert_int_equal(pmafter(f, "alice", 0, 1), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_int_equal(pgot.id[0], 1);
    assert_int_equal(pmafter(f, "alice", 1, 1), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_int_equal(pgot.id[0], 2);
    /* A text of GW_ACCOUNT_TEXT_MAX_BYTES, a peer of its bound. */
    static char big[GW_ACCOUNT_TEXT_MAX_BYTES + 1];
    char peer[GW_ACCOUNT_PEER_MAX_BYTES + 1];
    memset(big, 'x', GW_ACCOUNT_TEXT_MAX_BYTES);
    big[GW_ACCOUNT_TEXT_MAX_BYTES] = '\0';
    memset(peer, 'p', GW_ACCOUNT_PEER_MAX_BYTES);
    peer[GW_ACCOUNT_PEER_MAX_BYTES] = '\0';
    assert_int_equal(pmadd(f, "alice", peer, 0, big), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 4);
    assert_int_equal(pmafter(f, "alice", 3, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_string_equal(pgot.text[0], big);
    assert_string_equal(pgot.peer[0], peer);
}

static inline void pms_the_1001st_drops_the_oldest(struct fix *f)
{
    char text[32];
    create_ok(f, "alice", 1);
    for (unsigned i = 1; i <= GW_ACCOUNT_PMS_MAX; i++) {
        snprintf(text, sizeof text, "m%u", i);
        assert_int_equal(pmadd(f, "alice", "bob", (int)(i % 2), text), GW_STORE_DONE);
        assert_int_equal(pgot.id[0], i);
    }
    /* The 1000th kept, the first still there. */
    assert_int_equal(pmafter(f, "alice", 0, 1), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 1);
    assert_string_equal(pgot.text[0], "m1");
    /* A limit above the page: the page. */
    assert_int_equal(pmafter(f, "alice", 0, GW_ACCOUNT_PMS_PAGE + 1), GW_STORE_DONE);
    assert_int_equal(pgot.n, GW_ACCOUNT_PMS_PAGE);
    assert_int_equal(pmafter(f, "alice", 0, (size_t)-1), GW_STORE_DONE);
    assert_int_equal(pgot.n, GW_ACCOUNT_PMS_PAGE);
    assert_int_equal(pgot.id[GW_ACCOUNT_PMS_PAGE - 1], GW_ACCOUNT_PMS_PAGE);
    /* The 1001st: the first goes. */
    assert_int_equal(pmadd(f, "alice", "bob", 1, "m1001"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], GW_ACCOUNT_PMS_MAX + 1);
    assert_int_equal(pmafter(f, "alice", 0, 1), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 2);
    assert_string_equal(pgot.text[0], "m2");
    /* Every one kept, page by page: 2..1001, each once, in order. */
    uint64_t after = 0, want = 2;
    unsigned pages = 0;
    do {
        assert_int_equal(pmafter(f, "alice", after, GW_ACCOUNT_PMS_PAGE), GW_STORE_DONE);
        for (size_t i = 0; i < pgot.n; i++) {
            assert_int_equal(pgot.id[i], want);
            snprintf(text, sizeof text, "m%u", (unsigned)want);
            assert_string_equal(pgot.text[i], text);
            assert_int_equal(pgot.out[i], (int)(want % 2));
            want++;
        }
        if (pgot.n)
            after = pgot.id[pgot.n - 1];
        pages++;
    } while (pgot.n == GW_ACCOUNT_PMS_PAGE);
    assert_int_equal(want, GW_ACCOUNT_PMS_MAX + 2);
    assert_int_equal(pages, GW_ACCOUNT_PMS_MAX / GW_ACCOUNT_PMS_PAGE + 1);
    /* The 1002nd: the second goes; after_id below the oldest: from it. */
    assert_int_equal(pmadd(f, "alice", "bob", 0, "m1002"), GW_STORE_DONE);
    assert_int_equal(pmafter(f, "alice", 1, 2), GW_STORE_DONE);
    assert_int_equal(pgot.n, 2);
    assert_int_equal(pgot.id[0], 3);
    assert_int_equal(pgot.id[1], 4);
    assert_int_equal(pmafter(f, "alice", GW_ACCOUNT_PMS_MAX + 1, 5), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_int_equal(pgot.id[0], GW_ACCOUNT_PMS_MAX + 2);
}

static inline void remove_takes_rooms_and_messages(struct fix *f)
{
    create_ok(f, "alice", 1);
    create_ok(f, "bob", 1);
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rkeep(f, "bob", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#a", 9), GW_STORE_DONE);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "one"), GW_STORE_DONE);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "two"), GW_STORE_DONE);
    assert_int_equal(pmadd(f, "bob", "alice", 1, "one"), GW_STORE_DONE);
    struct gw_accounts *ac = fix_ac(f);
    assert_int_equal(ac->remove(ac->ctx, 3, "alice"), GW_STORE_PENDING);
    one(f, 3, GW_STORE_DONE);
    assert_int_equal(rooms(f, "alice"), GW_ACCOUNT_NONE);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_ACCOUNT_NONE);
    assert_int_equal(rmark(f, "alice", "#a", 10), GW_ACCOUNT_NONE);
    static unsigned seen[1];
    assert_int_equal(ac->room_accounts(ac->ctx, 4, "#a", ""), GW_STORE_PENDING);
    one(f, 4, GW_STORE_DONE);
    assert_int_equal(kgot.n, 1);
    assert_string_equal(kgot.keys[0], "bob");
    (void)seen;
    /* Made again: nothing of the old one; its ids start again. */
    create_ok(f, "alice", 1);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 0);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 0);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "again"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 1);
    /* The other account's are as they were. */
    assert_int_equal(pmafter(f, "bob", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_int_equal(rooms(f, "bob"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 1);
}

/* Every bad argument of the calls above: refused at once (the caller then
 * checks that nothing was answered). */
static inline void away_bad_arguments_are_refused(struct fix *f)
{
    struct gw_accounts *ac = fix_ac(f);
    char longkey[GW_ACCOUNT_KEY_MAX_BYTES + 2], longroom[GW_ACCOUNT_ROOM_MAX_BYTES + 2];
    static char longtext[GW_ACCOUNT_TEXT_MAX_BYTES + 2];
    char longpeer[GW_ACCOUNT_PEER_MAX_BYTES + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    memset(longroom, 'r', sizeof longroom - 1);
    longroom[sizeof longroom - 1] = '\0';
    memset(longtext, 't', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    memset(longpeer, 'p', sizeof longpeer - 1);
    longpeer[sizeof longpeer - 1] = '\0';
    const char *keys[] = {NULL, "", longkey};
    const char *rooms_[] = {NULL, "", longroom};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ac->room_keep(ac->ctx, 1, keys[i], "#a", 1), GW_STORE_EINVAL);
        assert_int_equal(ac->room_keep(ac->ctx, 1, "alice", rooms_[i], 1), GW_STORE_EINVAL);
        assert_int_equal(ac->rooms_of(ac->ctx, 1, keys[i]), GW_STORE_EINVAL);
        assert_int_equal(ac->read_mark(ac->ctx, 1, keys[i], "#a", 1), GW_STORE_EINVAL);
        assert_int_equal(ac->read_mark(ac->ctx, 1, "alice", rooms_[i], 1), GW_STORE_EINVAL);
        assert_int_equal(ac->room_accounts(ac->ctx, 1, rooms_[i], ""), GW_STORE_EINVAL);
        assert_int_equal(ac->pm_after(ac->ctx, 1, keys[i], 0, 10), GW_STORE_EINVAL);
        struct gw_account_pm pm = {.peer = "bob", .text = "hi"};
        assert_int_equal(ac->pm_add(ac->ctx, 1, keys[i], &pm), GW_STORE_EINVAL);
    }
    assert_int_equal(ac->room_keep(ac->ctx, 1, "alice", "#a", 2), GW_STORE_EINVAL);
    assert_int_equal(ac->room_keep(ac->ctx, 1, "alice", "#a", -1), GW_STORE_EINVAL);
    assert_int_equal(ac->read_mark(ac->ctx, 1, "alice", "#a", GW_ACCOUNT_ID_MAX + 1),
                     GW_STORE_EINVAL);
    assert_int_equal(ac->pm_after(ac->ctx, 1, "alice", GW_ACCOUNT_ID_MAX + 1, 10),
                     GW_STORE_EINVAL);
    assert_int_equal(ac->room_accounts(ac->ctx, 1, "#a", NULL), GW_STORE_EINVAL);
    assert_int_equal(ac->room_accounts(ac->ctx, 1, "#a", longkey), GW_STORE_EINVAL);
    assert_int_equal(ac->pm_add(ac->ctx, 1, "alice", NULL), GW_STORE_EINVAL);
    struct gw_account_pm bad[] = {
        {.peer = NULL, .text = "hi"},     {.peer = "", .text = "hi"},
        {.peer = longpeer, .text = "hi"}, {.peer = "bob", .text = NULL},
        {.peer = "bob", .text = longtext}, {.peer = "bob", .text = "hi", .out = 2},
        {.peer = "bob", .text = "hi", .out = -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ac->pm_add(ac->ctx, 1, "alice", &bad[i]) != GW_STORE_EINVAL)
            fail_msg("pm_add's bad message %zu was taken", i);
}

#endif
