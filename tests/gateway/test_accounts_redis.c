/*
 * test_accounts_redis.c - accounts and their sessions in the Redis engine
 * (gw_rstore_accounts, gw_accounts.h) against a real redis-server on
 * 127.0.0.1, started by tests/gateway/redis_ctl.py, which also pauses,
 * kills and starts it again and runs commands on it from outside when
 * asked (see that file). Each test drives its own uv loop with one or two
 * engines on it (two engines are two gateways: two connections each).
 *
 * Every call and its answer (never from inside the call), names of any
 * bytes, two gateways creating one name at once (many rounds: exactly one
 * is told it made it), a session made on one gateway found on the other,
 * the bound on sessions (the 33rd ends the oldest), the end of a session
 * to the millisecond and Redis deleting it then, a new generation ending
 * the sessions before it, remove ending every session, the bound on calls
 * waiting, and Redis paused, killed with calls in flight and started
 * again: each call answered once (its answer, or GW_STORE_EIO) or refused
 * at once, never twice. News of generations (moved) to every gateway, and
 * a subscription back saying news may have been missed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "accttest.h"
#include "gw_accounts.h"
#include "gw_store_redis.h"
#include "redisctl.h"

/* ------------------------------------------------------------- the clock */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------- what came back */

#define ANSWERS_MAX 8192

struct answer {
    uint64_t tag;
    int status;
    int has; /* an account came with it */
    char key[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    unsigned roles;
    uint64_t generation;
    int64_t created_ms;
};

struct eng {
    struct gw_rstore *rs;
    struct gw_accounts ac;
    int in_call;        /* a call of the engine's is running */
    struct answer *ans; /* ANSWERS_MAX */
    size_t n;
    size_t mark;        /* accttest.h's calls: the answers before it are taken */
    /* News of generations (sink.moved): how many, the last; and how many
     * said news may have been missed (no name). */
    int moved_n, missed_n;
    char moved_key[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    uint64_t moved_gen;
    int moved_why;
};

/* The next answer's place in e, for tag with status: never from inside a
 * call (what names the kind of answer), and at most ANSWERS_MAX. */
static struct answer *take_answer(struct eng *e, const char *what, uint64_t tag, int status)
{
    if (e->in_call)
        fail_msg("%sanswer to tag %" PRIu64 " from inside a call", what, tag);
    if (e->n >= ANSWERS_MAX)
        fail_msg("more than %d answers", ANSWERS_MAX);
    struct answer *r = &e->ans[e->n++];
    memset(r, 0, sizeof *r);
    r->tag = tag;
    r->status = status;
    return r;
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    if (a && status != GW_STORE_DONE)
        fail_msg("tag %" PRIu64 ": an account with status %d", tag, status);
    struct answer *r = take_answer(ctx, "", tag, status);
    if (a) {
        r->has = 1;
        snprintf(r->key, sizeof r->key, "%s", a->key);
        snprintf(r->nick, sizeof r->nick, "%s", a->nick);
        snprintf(r->phc, sizeof r->phc, "%s", a->phc);
        r->roles = a->roles;
        r->generation = a->generation;
        r->created_ms = a->created_ms;
    }
}

static void on_keys(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                    const char *next)
{
    if (status != GW_STORE_DONE && (keys || n || next[0]))
        fail_msg("tag %" PRIu64 ": keys with status %d", tag, status);
    (void)take_answer(ctx, "keys' ", tag, status);
    kgot_put(keys, n, next);
}

static void on_rooms(void *ctx, uint64_t tag, int status, const struct gw_account_room *rows,
                     size_t n)
{
    (void)take_answer(ctx, "rooms' ", tag, status);
    rgot_put(status, rows, n);
}

static void on_moved(void *ctx, const char *key, uint64_t generation, int why)
{
    struct eng *e = ctx;
    if (e->in_call)
        fail_msg("news from inside a call");
    if (!key) {
        assert_int_equal(generation, 0);
        assert_int_equal(why, 0);
        e->missed_n++;
        return;
    }
    e->moved_n++;
    snprintf(e->moved_key, sizeof e->moved_key, "%s", key);
    e->moved_gen = generation;
    e->moved_why = why;
}

static void on_pms(void *ctx, uint64_t tag, int status, const struct gw_account_pm *rows,
                   size_t n)
{
    (void)take_answer(ctx, "pms' ", tag, status);
    pgot_put(status, rows, n);
}

/* How many answers tag got; the last in *out. */
static int answers(const struct eng *e, uint64_t tag, const struct answer **out)
{
    int n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->ans[i].tag == tag) {
            n++;
            if (out)
                *out = &e->ans[i];
        }
    return n;
}

/* ------------------------------------------------------------ the loop */

struct fix {
    uv_loop_t loop;
    uv_timer_t pump; /* wakes uv_run(UV_RUN_ONCE) every few ms */
    char url[128];
    struct eng *cur; /* the engine accttest.h's calls use (fix_use) */
    struct got got;  /* its last answer taken */
};

/* The fixture's loop until pred holds, or for ms. */
#define run_until(f, pred, arg, ms) loop_until(&(f)->loop, pred, f, arg, ms)
#define run_for(f, ms) loop_for(&(f)->loop, ms)

static int healthy(void *ctx, void *arg)
{
    (void)ctx;
    return gw_rstore_healthy(((struct eng *)arg)->rs, NULL);
}

static int unhealthy(void *ctx, void *arg)
{
    (void)ctx;
    return !gw_rstore_healthy(((struct eng *)arg)->rs, NULL);
}

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->pump), 0);
    assert_int_equal(uv_timer_start(&f->pump, loop_pump, 5, 5), 0);
    snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", redis_port);
}

/* An engine on the fixture's loop, up, with its accounts. */
static void eng_open(struct fix *f, struct eng *e, unsigned command_ms)
{
    struct gw_rstore_opts o = {.url = f->url, .command_ms = command_ms};
    struct gw_store_sink none = {0};
    struct gw_account_sink sink = {.ctx = e, .answer = on_answer, .keys = on_keys,
                                   .rooms = on_rooms, .pms = on_pms, .moved = on_moved};
    char err[256] = "";
    memset(e, 0, sizeof *e);
    e->ans = calloc(ANSWERS_MAX, sizeof *e->ans);
    assert_non_null(e->ans);
    assert_int_equal(gw_rstore_open(&f->loop, &o, &none, &e->rs, err, sizeof err), 0);
    assert_int_equal(gw_rstore_accounts(e->rs, &sink, &e->ac), 0);
    if (!run_until(f, healthy, e, 5000))
        fail_msg("the engine never came up");
}

static void eng_close(struct eng *e)
{
    gw_rstore_close(e->rs);
    e->rs = NULL;
    free(e->ans);
    e->ans = NULL;
}

/* Close the loop: every handle of the engines' must be gone. */
static void fix_done(struct fix *f)
{
    uv_close((uv_handle_t *)&f->pump, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ------------------------------------------------------------ the calls */

static uint64_t next_tag = 1;

static struct gw_account acct(const char *key, const char *nick, const char *phc, unsigned roles,
                              uint64_t gen, int64_t created)
{
    return (struct gw_account){.key = key,
                               .nick = nick,
                               .phc = phc,
                               .roles = roles,
                               .generation = gen,
                               .created_ms = created};
}

/* A call begins: its fresh tag, and an answer from inside it fails the
 * test (on_answer) until it ends. */
static uint64_t call_begin(struct eng *e)
{
    e->in_call = 1;
    return next_tag++;
}

/* The call has returned rc: answers may come. */
static int call_end(struct eng *e, int rc)
{
    e->in_call = 0;
    return rc;
}

/* Each call with a fresh tag, returning what the call returned; the tag
 * in *tag. */
static int c_create(struct eng *e, uint64_t *tag, const struct gw_account *a)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.create(e->ac.ctx, *tag, a));
}

static int c_find(struct eng *e, uint64_t *tag, const char *key)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.find(e->ac.ctx, *tag, key));
}

static int c_update(struct eng *e, uint64_t *tag, const struct gw_account *a)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.update(e->ac.ctx, *tag, a));
}

static int c_remove(struct eng *e, uint64_t *tag, const char *key)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.remove(e->ac.ctx, *tag, key));
}

static int c_keep(struct eng *e, uint64_t *tag, const char *digest, const char *key, uint64_t gen,
                  int64_t expires)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.session_keep(e->ac.ctx, *tag, digest, key, gen, expires));
}

static int c_sfind(struct eng *e, uint64_t *tag, const char *digest, int64_t now)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.session_find(e->ac.ctx, *tag, digest, now));
}

static int c_drop(struct eng *e, uint64_t *tag, const char *digest)
{
    *tag = call_begin(e);
    return call_end(e, e->ac.session_drop(e->ac.ctx, *tag, digest));
}

struct wait_one {
    struct eng *e;
    uint64_t tag;
};

static int has_answer(void *ctx, void *arg)
{
    (void)ctx;
    struct wait_one *w = arg;
    return answers(w->e, w->tag, NULL) > 0;
}

/* Run until tag is answered; exactly once. */
static const struct answer *wait_answer(struct fix *f, struct eng *e, uint64_t tag)
{
    struct wait_one w = {e, tag};
    const struct answer *a = NULL;
    if (!run_until(f, has_answer, &w, 5000))
        fail_msg("no answer to tag %" PRIu64, tag);
    int n = answers(e, tag, &a);
    if (n != 1)
        fail_msg("tag %" PRIu64 " was answered %d times", tag, n);
    return a;
}

/* A call that must be taken, then its answer (borrowed from e). */
#define ANSWER(f, e, call)                                                                         \
    ({                                                                                             \
        uint64_t t_;                                                                               \
        int rc_ = call;                                                                            \
        if (rc_ != GW_STORE_PENDING)                                                               \
            fail_msg("%s returned %d", #call, rc_);                                                \
        wait_answer(f, e, t_);                                                                     \
    })

/* A call that must be taken, then its answer's status. */
#define STATUS(f, e, call) (ANSWER(f, e, call)->status)

static const char *sname(int status)
{
    switch (status) {
    case GW_STORE_DONE:
        return "GW_STORE_DONE";
    case GW_ACCOUNT_EXISTS:
        return "GW_ACCOUNT_EXISTS";
    case GW_ACCOUNT_NONE:
        return "GW_ACCOUNT_NONE";
    case GW_STORE_EIO:
        return "GW_STORE_EIO";
    default:
        return "another status";
    }
}

/* A call that must be taken, and the answer it must get. */
#define EXPECT(f, e, call, want)                                                                   \
    do {                                                                                           \
        int got_ = STATUS(f, e, call);                                                             \
        if (got_ != (want))                                                                        \
            fail_msg("line %d: %s was answered %s, not %s", __LINE__, #call, sname(got_),          \
                     sname(want));                                                                 \
    } while (0)

/* A digest: 64 hex digits from a number. */
static const char *digest(char out[GW_DIGEST_HEX_LEN + 1], unsigned n)
{
    snprintf(out, GW_DIGEST_HEX_LEN + 1, "%056x%08x", 0xabcu, n);
    return out;
}

static const char phc1[] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo";
static const char phc2[] = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0eHg$b3RoZXJoYXNoeHg";

/* ------------------------------------------ accttest.h's calls, on Redis */

/* accttest.h's calls go to e from now on; the answers it has are taken. */
static void fix_use(struct fix *f, struct eng *e)
{
    f->cur = e;
    e->mark = e->n;
}

static struct gw_accounts *fix_ac(struct fix *f)
{
    return &f->cur->ac;
}

static int answer_after_mark(void *ctx, void *arg)
{
    (void)ctx;
    const struct eng *e = arg;
    return e->n > e->mark;
}

/* The next answer of f->cur (5 s at most), as accttest.h keeps one. */
static struct got *take_one(struct fix *f)
{
    struct eng *e = f->cur;
    if (!run_until(f, answer_after_mark, e, 5000))
        fail_msg("no answer");
    const struct answer *r = &e->ans[e->mark++];
    struct gw_account a = {.key = r->key, .nick = r->nick, .phc = r->phc, .roles = r->roles,
                           .generation = r->generation, .created_ms = r->created_ms};
    got_put(&f->got, r->tag, r->status, r->has ? &a : NULL);
    return &f->got;
}

static struct got *one(struct fix *f, uint64_t tag, int status)
{
    struct got *g = take_one(f);
    got_is(g, tag, status);
    return g;
}

/* ------------------------------------------------------- every call */

static void test_calls(void **state)
{
    struct fix f;
    struct eng e;
    char d1[65], d2[65];
    const struct answer *a;
    uint64_t t;
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e, 0);
    int64_t now = wall_ms();

    /* Nothing yet. */
    EXPECT(&f, &e, c_find(&e, &t_, "alice"), GW_ACCOUNT_NONE);

    /* Created once; a second create of the name is refused, the first kept. */
    struct gw_account al = acct("alice", "Alice", phc1, GW_ROLE_ADMIN, 1, 1700000000123);
    EXPECT(&f, &e, c_create(&e, &t_, &al), GW_STORE_DONE);
    struct gw_account al2 = acct("alice", "ALICE", phc2, 0, 9, 5);
    EXPECT(&f, &e, c_create(&e, &t_, &al2), GW_ACCOUNT_EXISTS);
    a = ANSWER(&f, &e, c_find(&e, &t_, "alice"));
    assert_int_equal(a->status, GW_STORE_DONE);
    assert_true(a->has);
    assert_string_equal(a->key, "alice");
    assert_string_equal(a->nick, "Alice");
    assert_string_equal(a->phc, phc1);
    assert_int_equal(a->roles, GW_ROLE_ADMIN);
    assert_int_equal(a->generation, 1);
    assert_int_equal(a->created_ms, 1700000000123);
    /* Under its name's hex, with every field. */
    assert_string_equal(ctl("cmd\t0\tHGET\twintalk:account:616c696365\tnick"), "Alice");
    assert_string_equal(ctl("cmd\t0\tHGET\twintalk:account:616c696365\tgeneration"), "1");

    /* A name of any bytes, and one that ends like another's set. */
    struct gw_account odd = acct("\xc3\x9f x:y", "\xc3\x9f x:y", "", 0, 18446744073709551615u, -1);
    EXPECT(&f, &e, c_create(&e, &t_, &odd), GW_STORE_DONE);
    a = ANSWER(&f, &e, c_find(&e, &t_, "\xc3\x9f x:y"));
    assert_int_equal(a->status, GW_STORE_DONE);
    assert_string_equal(a->key, "\xc3\x9f x:y");
    assert_string_equal(a->phc, "");
    assert_int_equal(a->generation, 18446744073709551615u);
    assert_int_equal(a->created_ms, -1);
    /* Its sessions: the scripts spell its key as the engine does. A
     * generation is compared whole (as doubles, 2^64 - 1 and 2^64 - 2
     * would be one number). */
    char dodd[65], dold[65];
    digest(dodd, 77);
    digest(dold, 78);
    EXPECT(&f, &e, c_keep(&e, &t_, dold, "\xc3\x9f x:y", 18446744073709551614u, now + 3600000),
           GW_STORE_DONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, dold, now), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_keep(&e, &t_, dodd, "\xc3\x9f x:y", 18446744073709551615u, now + 3600000),
           GW_STORE_DONE);
    a = ANSWER(&f, &e, c_sfind(&e, &t_, dodd, now));
    assert_int_equal(a->status, GW_STORE_DONE);
    assert_string_equal(a->key, "\xc3\x9f x:y");
    assert_string_equal(ctl("cmd\t0\tZCARD\twintalk:account:c39f20783a79:sessions"), "1");
    EXPECT(&f, &e, c_drop(&e, &t_, dodd), GW_STORE_DONE);
    assert_string_equal(ctl("cmd\t0\tZCARD\twintalk:account:c39f20783a79:sessions"), "0");
    struct gw_account bob = acct("bob", "bob", phc1, 0, 1, 1);
    struct gw_account bobs = acct("bob:sessions", "bobs", phc1, 0, 1, 1);
    EXPECT(&f, &e, c_create(&e, &t_, &bob), GW_STORE_DONE);
    EXPECT(&f, &e, c_create(&e, &t_, &bobs), GW_STORE_DONE);
    digest(d1, 1);
    EXPECT(&f, &e, c_keep(&e, &t_, d1, "bob", 1, now + 3600000), GW_STORE_DONE);
    a = ANSWER(&f, &e, c_find(&e, &t_, "bob:sessions"));
    assert_string_equal(a->nick, "bobs");
    a = ANSWER(&f, &e, c_sfind(&e, &t_, d1, now));
    assert_string_equal(a->key, "bob");

    /* update: everything but created_ms; none for a name not there. */
    struct gw_account up = acct("alice", "ALICE", phc2, 0, 2, 42);
    EXPECT(&f, &e, c_update(&e, &t_, &up), GW_STORE_DONE);
    a = ANSWER(&f, &e, c_find(&e, &t_, "alice"));
    assert_string_equal(a->nick, "ALICE");
    assert_string_equal(a->phc, phc2);
    assert_int_equal(a->roles, 0);
    assert_int_equal(a->generation, 2);
    assert_int_equal(a->created_ms, 1700000000123);
    struct gw_account ghost = acct("ghost", "ghost", phc1, 0, 1, 1);
    EXPECT(&f, &e, c_update(&e, &t_, &ghost), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_find(&e, &t_, "ghost"), GW_ACCOUNT_NONE);

    /* Sessions: kept (with PEXPIREAT at its end), found, dropped. */
    digest(d2, 2);
    EXPECT(&f, &e, c_keep(&e, &t_, d2, "alice", 2, now + 3600000), GW_STORE_DONE);
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, now + 3600000);
    assert_string_equal(ctl("cmd\t0\tPEXPIRETIME\twintalk:session:%s", d2), want);
    a = ANSWER(&f, &e, c_sfind(&e, &t_, d2, now));
    assert_int_equal(a->status, GW_STORE_DONE);
    assert_string_equal(a->key, "alice");
    assert_string_equal(a->nick, "ALICE");
    assert_int_equal(a->generation, 2);
    EXPECT(&f, &e, c_keep(&e, &t_, d2, "ghost", 1, now + 3600000), GW_ACCOUNT_NONE);
    char d9[65];
    EXPECT(&f, &e, c_sfind(&e, &t_, digest(d9, 999), now), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_drop(&e, &t_, d2), GW_STORE_DONE);
    EXPECT(&f, &e, c_drop(&e, &t_, d2), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, d2, now), GW_ACCOUNT_NONE);
    assert_string_equal(ctl("cmd\t0\tZCARD\twintalk:account:616c696365:sessions"), "0");

    /* remove: once. */
    EXPECT(&f, &e, c_remove(&e, &t_, "alice"), GW_STORE_DONE);
    EXPECT(&f, &e, c_remove(&e, &t_, "alice"), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_find(&e, &t_, "alice"), GW_ACCOUNT_NONE);

    /* Bad arguments: refused at once, never answered. */
    char longkey[GW_ACCOUNT_KEY_MAX_BYTES + 2], longphc[GW_ACCOUNT_PHC_MAX_BYTES + 2];
    char longnick[GW_NICK_MAX_BYTES + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    memset(longphc, 'p', sizeof longphc - 1);
    longphc[sizeof longphc - 1] = '\0';
    memset(longnick, 'n', sizeof longnick - 1);
    longnick[sizeof longnick - 1] = '\0';
    size_t before = e.n;
    struct gw_account bad;
    bad = acct("", "x", "", 0, 1, 1);
    assert_int_equal(c_create(&e, &t, &bad), GW_STORE_EINVAL);
    bad = acct(longkey, "x", "", 0, 1, 1);
    assert_int_equal(c_create(&e, &t, &bad), GW_STORE_EINVAL);
    longkey[GW_ACCOUNT_KEY_MAX_BYTES] = '\0'; /* the longest name there may be */
    bad = acct(longkey, "x", "", 0, 1, 1);
    EXPECT(&f, &e, c_create(&e, &t_, &bad), GW_STORE_DONE);
    before = e.n;
    bad = acct("carol", longnick, "", 0, 1, 1);
    assert_int_equal(c_create(&e, &t, &bad), GW_STORE_EINVAL);
    bad = acct("carol", "carol", longphc, 0, 1, 1);
    assert_int_equal(c_update(&e, &t, &bad), GW_STORE_EINVAL);
    bad = acct("carol", "carol", NULL, 0, 1, 1);
    assert_int_equal(c_create(&e, &t, &bad), GW_STORE_EINVAL);
    assert_int_equal(c_find(&e, &t, ""), GW_STORE_EINVAL);
    assert_int_equal(c_remove(&e, &t, NULL), GW_STORE_EINVAL);
    assert_int_equal(c_keep(&e, &t, "ABC", "bob", 1, now + 1000), GW_STORE_EINVAL);
    digest(d2, 3);
    d2[0] = 'A'; /* upper case is not the digest's spelling */
    assert_int_equal(c_keep(&e, &t, d2, "bob", 1, now + 1000), GW_STORE_EINVAL);
    assert_int_equal(c_sfind(&e, &t, d2, now), GW_STORE_EINVAL);
    assert_int_equal(c_drop(&e, &t, NULL), GW_STORE_EINVAL);
    assert_int_equal(c_keep(&e, &t, d1, "", 1, now + 1000), GW_STORE_EINVAL);
    run_for(&f, 100);
    assert_int_equal(e.n, before);

    eng_close(&e);
    fix_done(&f);
}

/* ------------------------------------------------- two gateways at once */

#define RACE_ROUNDS 300

static void test_create_race(void **state)
{
    struct fix f;
    struct eng e1, e2;
    uint64_t t1[RACE_ROUNDS], t2[RACE_ROUNDS];
    char names[RACE_ROUNDS][16];
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e1, 0);
    eng_open(&f, &e2, 0);

    /* Both gateways ask for each name in the same turn of the loop, on
     * two connections, which come to Redis in either order; neither hears
     * back before the other has asked. */
    for (int i = 0; i < RACE_ROUNDS; i++) {
        snprintf(names[i], sizeof names[i], "race-%d", i);
        struct gw_account a1 = acct(names[i], "one", phc1, 0, 1, 1);
        struct gw_account a2 = acct(names[i], "two", phc2, 0, 1, 2);
        if (i % 2) {
            assert_int_equal(c_create(&e1, &t1[i], &a1), GW_STORE_PENDING);
            assert_int_equal(c_create(&e2, &t2[i], &a2), GW_STORE_PENDING);
        } else {
            assert_int_equal(c_create(&e2, &t2[i], &a2), GW_STORE_PENDING);
            assert_int_equal(c_create(&e1, &t1[i], &a1), GW_STORE_PENDING);
        }
        uv_run(&f.loop, UV_RUN_NOWAIT); /* written: the next round follows */
    }
    int ones = 0;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        const struct answer *a1 = wait_answer(&f, &e1, t1[i]);
        const struct answer *a2 = wait_answer(&f, &e2, t2[i]);
        int done = (a1->status == GW_STORE_DONE) + (a2->status == GW_STORE_DONE);
        int exists = (a1->status == GW_ACCOUNT_EXISTS) + (a2->status == GW_ACCOUNT_EXISTS);
        if (done != 1 || exists != 1)
            fail_msg("%s: the gateways were told %d and %d (%d made it)", names[i], a1->status,
                     a2->status, done);
        ones += a1->status == GW_STORE_DONE;
    }
    /* What is kept is the winner's, whole. */
    for (int i = 0; i < RACE_ROUNDS; i += 37) {
        const struct answer *w = NULL, *k;
        uint64_t t;
        assert_int_equal(answers(&e1, t1[i], &w), 1);
        k = ANSWER(&f, &e2, c_find(&e2, &t_, names[i]));
        (void)t;
        assert_string_equal(k->nick, w->status == GW_STORE_DONE ? "one" : "two");
        assert_string_equal(k->phc, w->status == GW_STORE_DONE ? phc1 : phc2);
        assert_int_equal(k->created_ms, w->status == GW_STORE_DONE ? 1 : 2);
    }
    print_message("race: gateway one made %d of %d names\n", ones, RACE_ROUNDS);

    eng_close(&e1);
    eng_close(&e2);
    fix_done(&f);
}

/* ------------------------------------- sessions across gateways, generations */

static void test_sessions_shared(void **state)
{
    struct fix f;
    struct eng e1, e2;
    char d1[65], d2[65], d3[65];
    const struct answer *a;
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e1, 0);
    eng_open(&f, &e2, 0);
    int64_t now = wall_ms();

    struct gw_account al = acct("alice", "Alice", phc1, 0, 1, now);
    EXPECT(&f, &e1, c_create(&e1, &t_, &al), GW_STORE_DONE);
    /* Made on one gateway, found on the other. */
    digest(d1, 1);
    EXPECT(&f, &e1, c_keep(&e1, &t_, d1, "alice", 1, now + 3600000), GW_STORE_DONE);
    a = ANSWER(&f, &e2, c_sfind(&e2, &t_, d1, now));
    assert_int_equal(a->status, GW_STORE_DONE);
    assert_string_equal(a->nick, "Alice");

    /* A new generation (a new password, on the other gateway) ends it. */
    struct gw_account pw = acct("alice", "Alice", phc2, 0, 2, 0);
    EXPECT(&f, &e2, c_update(&e2, &t_, &pw), GW_STORE_DONE);
    EXPECT(&f, &e1, c_sfind(&e1, &t_, d1, now), GW_ACCOUNT_NONE);
    EXPECT(&f, &e2, c_sfind(&e2, &t_, d1, now), GW_ACCOUNT_NONE);
    /* One made under the old generation after it (a login that raced the
     * change) is over at once. */
    digest(d2, 2);
    EXPECT(&f, &e1, c_keep(&e1, &t_, d2, "alice", 1, now + 3600000), GW_STORE_DONE);
    EXPECT(&f, &e2, c_sfind(&e2, &t_, d2, now), GW_ACCOUNT_NONE);
    /* One under the new generation is found; the next keep cleared the
     * old one from Redis. */
    digest(d3, 3);
    EXPECT(&f, &e1, c_keep(&e1, &t_, d3, "alice", 2, now + 3600000), GW_STORE_DONE);
    EXPECT(&f, &e2, c_sfind(&e2, &t_, d3, now), GW_STORE_DONE);
    assert_string_equal(ctl("cmd\t0\tEXISTS\twintalk:session:%s", d1), "0");
    assert_string_equal(ctl("cmd\t0\tZCARD\twintalk:account:616c696365:sessions"), "1");

    /* A session is dropped on one gateway: gone on the other. */
    EXPECT(&f, &e2, c_drop(&e2, &t_, d3), GW_STORE_DONE);
    EXPECT(&f, &e1, c_sfind(&e1, &t_, d3, now), GW_ACCOUNT_NONE);

    /* remove on one gateway ends every session, also on the other, and
     * leaves nothing of the account in Redis; a name made again has none. */
    char d[65];
    for (unsigned i = 10; i < 15; i++)
        EXPECT(&f, &e1, c_keep(&e1, &t_, digest(d, i), "alice", 2, now + 3600000), GW_STORE_DONE);
    EXPECT(&f, &e2, c_sfind(&e2, &t_, digest(d, 12), now), GW_STORE_DONE);
    EXPECT(&f, &e2, c_remove(&e2, &t_, "alice"), GW_STORE_DONE);
    for (unsigned i = 10; i < 15; i++)
        EXPECT(&f, &e1, c_sfind(&e1, &t_, digest(d, i), now), GW_ACCOUNT_NONE);
    assert_string_equal(ctl("cmd\t0\tKEYS\twintalk:session:*"), "");
    assert_string_equal(ctl("cmd\t0\tKEYS\twintalk:account:*"), "");
    struct gw_account again = acct("alice", "alice", phc1, 0, 2, now);
    EXPECT(&f, &e1, c_create(&e1, &t_, &again), GW_STORE_DONE);
    EXPECT(&f, &e2, c_sfind(&e2, &t_, digest(d, 12), now), GW_ACCOUNT_NONE);

    eng_close(&e1);
    eng_close(&e2);
    fix_done(&f);
}

/* ------------------------------------------------------ the bound, the end */

static void test_session_bound(void **state)
{
    struct fix f;
    struct eng e1, e2;
    char d[GW_SESSIONS_PER_ACCOUNT + 1][65];
    uint64_t t[GW_SESSIONS_PER_ACCOUNT + 1];
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e1, 0);
    eng_open(&f, &e2, 0);
    int64_t now = wall_ms();

    struct gw_account al = acct("alice", "Alice", phc1, 0, 1, now);
    EXPECT(&f, &e1, c_create(&e1, &t_, &al), GW_STORE_DONE);
    /* 33 sessions, one after the other, alternately on both gateways (all
     * in one millisecond, likely: the order is Redis', not the clock's). */
    for (unsigned i = 0; i <= GW_SESSIONS_PER_ACCOUNT; i++) {
        struct eng *e = i % 2 ? &e2 : &e1;
        digest(d[i], 100 + i);
        assert_int_equal(c_keep(e, &t[i], d[i], "alice", 1, now + 3600000), GW_STORE_PENDING);
        assert_int_equal(wait_answer(&f, e, t[i])->status, GW_STORE_DONE);
    }
    /* The 33rd ended the first, and only it. */
    EXPECT(&f, &e1, c_sfind(&e1, &t_, d[0], now), GW_ACCOUNT_NONE);
    for (unsigned i = 1; i <= GW_SESSIONS_PER_ACCOUNT; i++)
        if (STATUS(&f, &e2, c_sfind(&e2, &t_, d[i], now)) != GW_STORE_DONE)
            fail_msg("session %u of %u is not found", i + 1, GW_SESSIONS_PER_ACCOUNT + 1);
    char n[16];
    snprintf(n, sizeof n, "%u", GW_SESSIONS_PER_ACCOUNT);
    assert_string_equal(ctl("cmd\t0\tZCARD\twintalk:account:616c696365:sessions"), n);
    assert_string_equal(ctl("cmd\t0\tEXISTS\twintalk:session:%s", d[0]), "0");
    /* Kept again, a session counts as made now: the next one ends d[2]. */
    EXPECT(&f, &e1, c_keep(&e1, &t_, d[1], "alice", 1, now + 3600000), GW_STORE_DONE);
    char extra[65];
    EXPECT(&f, &e1, c_keep(&e1, &t_, digest(extra, 999), "alice", 1, now + 3600000), GW_STORE_DONE);
    EXPECT(&f, &e1, c_sfind(&e1, &t_, d[1], now), GW_STORE_DONE);
    EXPECT(&f, &e1, c_sfind(&e1, &t_, d[2], now), GW_ACCOUNT_NONE);
    EXPECT(&f, &e1, c_sfind(&e1, &t_, d[3], now), GW_STORE_DONE);

    eng_close(&e1);
    eng_close(&e2);
    fix_done(&f);
}

static void test_session_end(void **state)
{
    struct fix f;
    struct eng e;
    char d1[65], d2[65], d3[65];
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e, 0);
    int64_t now = wall_ms();
    int64_t end = now + 3600000;

    struct gw_account al = acct("alice", "Alice", phc1, 0, 1, now);
    EXPECT(&f, &e, c_create(&e, &t_, &al), GW_STORE_DONE);
    digest(d1, 1);
    EXPECT(&f, &e, c_keep(&e, &t_, d1, "alice", 1, end), GW_STORE_DONE);
    /* To the millisecond, by the caller's clock: over at its end. */
    EXPECT(&f, &e, c_sfind(&e, &t_, d1, end - 1), GW_STORE_DONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, d1, end), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, d1, end + 1), GW_ACCOUNT_NONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, d1, now), GW_STORE_DONE);

    /* Redis deletes it at its end (its own clock): a caller whose clock
     * lags still finds nothing. */
    digest(d2, 2);
    int64_t soon = wall_ms() + 2000; /* far enough for a busy machine to find it first */
    EXPECT(&f, &e, c_keep(&e, &t_, d2, "alice", 1, soon), GW_STORE_DONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, d2, now), GW_STORE_DONE);
    while (wall_ms() <= soon + 100)
        run_for(&f, 50);
    EXPECT(&f, &e, c_sfind(&e, &t_, d2, now), GW_ACCOUNT_NONE);
    assert_string_equal(ctl("cmd\t0\tEXISTS\twintalk:session:%s", d2), "0");

    /* One kept with its end past already is over at once, and takes no
     * place in the bound. */
    digest(d3, 3);
    EXPECT(&f, &e, c_keep(&e, &t_, d3, "alice", 1, now - 1000), GW_STORE_DONE);
    EXPECT(&f, &e, c_sfind(&e, &t_, d3, 0), GW_ACCOUNT_NONE);
    assert_string_equal(ctl("cmd\t0\tZRANGE\twintalk:account:616c696365:sessions\t0\t-1"), d1);

    eng_close(&e);
    fix_done(&f);
}

/* ------------------------------------------------------ calls waiting */

static void test_busy(void **state)
{
    struct fix f;
    struct eng e;
    uint64_t t, first = next_tag;
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e, 0);
    /* Without running the loop, nothing is answered: the bound holds. */
    for (unsigned i = 0; i < GW_RSTORE_ACCOUNT_CALLS_MAX; i++)
        assert_int_equal(c_find(&e, &t, "nobody"), GW_STORE_PENDING);
    int rc = c_find(&e, &t, "nobody");
    if (rc != GW_STORE_EBUSY)
        fail_msg("call %u past the bound returned %d, not GW_STORE_EBUSY",
                 GW_RSTORE_ACCOUNT_CALLS_MAX + 1, rc);
    next_tag--; /* never answered: not waited for */
    for (uint64_t i = first; i < first + GW_RSTORE_ACCOUNT_CALLS_MAX; i++)
        assert_int_equal(wait_answer(&f, &e, i)->status, GW_ACCOUNT_NONE);
    assert_int_equal(e.n, GW_RSTORE_ACCOUNT_CALLS_MAX);
    /* Room again. */
    EXPECT(&f, &e, c_find(&e, &t_, "nobody"), GW_ACCOUNT_NONE);
    eng_close(&e);
    fix_done(&f);
}

/* ------------------------------------------------------------ outages */

#define FLIGHT 60

struct all_answered {
    struct eng *e;
    const uint64_t *tags;
    int n;
};

static int all_answered(void *ctx, void *arg)
{
    (void)ctx;
    struct all_answered *w = arg;
    for (int i = 0; i < w->n; i++)
        if (!answers(w->e, w->tags[i], NULL))
            return 0;
    return 1;
}

/* Send FLIGHT calls of every kind; their tags in tags. */
static void send_mixed(struct eng *e, uint64_t *tags, int64_t now)
{
    char d[65], name[32];
    for (int i = 0; i < FLIGHT; i++) {
        snprintf(name, sizeof name, "flight-%d", i);
        struct gw_account a = acct(name, name, phc1, 0, 1, now);
        int rc = 0;
        switch (i % 7) {
        case 0:
            rc = c_create(e, &tags[i], &a);
            break;
        case 1:
            rc = c_find(e, &tags[i], "alice");
            break;
        case 2:
            rc = c_update(e, &tags[i], &a);
            break;
        case 3:
            rc = c_keep(e, &tags[i], digest(d, (unsigned)i), "alice", 1, now + 60000);
            break;
        case 4:
            rc = c_sfind(e, &tags[i], digest(d, 1), now);
            break;
        case 5:
            rc = c_drop(e, &tags[i], digest(d, (unsigned)i - 2));
            break;
        case 6:
            rc = c_remove(e, &tags[i], name);
            break;
        }
        assert_int_equal(rc, GW_STORE_PENDING);
    }
}

/* Stop Redis, send FLIGHT calls, end it with op (redis_ctl.py): every
 * call is answered exactly once; with "killpaused" (it ran none of them),
 * GW_STORE_EIO. */
static void kill_in_flight(struct fix *f, struct eng *e, const char *op, int64_t now)
{
    uint64_t tags[FLIGHT];
    ctl("pause");
    send_mixed(e, tags, now);
    run_for(f, 50);
    ctl("%s", op);
    struct all_answered w = {e, tags, FLIGHT};
    if (!run_until(f, all_answered, &w, 5000))
        fail_msg("calls in flight when Redis died (%s) were never answered", op);
    run_for(f, 300); /* and never twice */
    int eio = 0;
    for (int i = 0; i < FLIGHT; i++) {
        const struct answer *a = NULL;
        int n = answers(e, tags[i], &a);
        if (n != 1)
            fail_msg("call %d in flight when Redis died (%s) was answered %d times", i, op, n);
        if (strcmp(op, "killpaused") == 0 && a->status != GW_STORE_EIO)
            fail_msg("call %d in flight when Redis died unwoken was answered %s", i,
                     sname(a->status));
        assert_true(a->status == GW_STORE_EIO || a->status == GW_STORE_DONE ||
                    a->status == GW_ACCOUNT_NONE || a->status == GW_ACCOUNT_EXISTS);
        eio += a->status == GW_STORE_EIO;
    }
    print_message("%s: %d of %d calls in flight answered GW_STORE_EIO\n", op, eio, FLIGHT);
}

/* Down: every call fails at once, and nothing is answered later. */
static void down_refuses(struct fix *f, struct eng *e, const char *d1, int64_t now)
{
    uint64_t t;
    assert_true(run_until(f, unhealthy, e, 5000));
    size_t before = e->n;
    struct gw_account b = acct("bob", "bob", phc1, 0, 1, now);
    assert_int_equal(c_create(e, &t, &b), GW_STORE_EIO);
    assert_int_equal(c_find(e, &t, "alice"), GW_STORE_EIO);
    assert_int_equal(c_update(e, &t, &b), GW_STORE_EIO);
    assert_int_equal(c_remove(e, &t, "alice"), GW_STORE_EIO);
    assert_int_equal(c_keep(e, &t, d1, "alice", 1, now + 60000), GW_STORE_EIO);
    assert_int_equal(c_sfind(e, &t, d1, now), GW_STORE_EIO);
    assert_int_equal(c_drop(e, &t, d1), GW_STORE_EIO);
    run_for(f, 300);
    assert_int_equal(e->n, before);
}

/* Back (empty: it kept nothing on disk): the calls work again. */
static void back_again(struct fix *f, struct eng *e, const char *d1, int64_t now)
{
    assert_true(run_until(f, healthy, e, 10000));
    struct gw_account al = acct("alice", "Alice", phc1, 0, 1, now);
    EXPECT(f, e, c_find(e, &t_, "alice"), GW_ACCOUNT_NONE);
    EXPECT(f, e, c_create(e, &t_, &al), GW_STORE_DONE);
    EXPECT(f, e, c_keep(e, &t_, d1, "alice", 1, now + 60000), GW_STORE_DONE);
    EXPECT(f, e, c_sfind(e, &t_, d1, now), GW_STORE_DONE);
}

static void test_outage(void **state)
{
    struct fix f;
    struct eng e;
    uint64_t t;
    char d1[65];
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e, 1000); /* a reply within 1 s, or the connection goes */
    int64_t now = wall_ms();
    struct gw_account al = acct("alice", "Alice", phc1, 0, 1, now);
    EXPECT(&f, &e, c_create(&e, &t_, &al), GW_STORE_DONE);
    digest(d1, 1);
    EXPECT(&f, &e, c_keep(&e, &t_, d1, "alice", 1, now + 60000), GW_STORE_DONE);

    /* Redis killed while stopped, with calls in flight (sent while it was
     * stopped, so they are surely out, and never run): each is answered
     * once, GW_STORE_EIO. */
    kill_in_flight(&f, &e, "killpaused", now);
    down_refuses(&f, &e, d1, now);
    ctl("start");
    back_again(&f, &e, d1, now);

    /* Killed as it wakes (SIGCONT, then SIGKILL): Redis may run some of
     * what it read in that instant. Each is answered once, with its own
     * answer or GW_STORE_EIO. */
    kill_in_flight(&f, &e, "kill", now);
    down_refuses(&f, &e, d1, now);
    ctl("start");
    back_again(&f, &e, d1, now);

    /* Redis stalled past the command timeout: the call is answered
     * GW_STORE_EIO once; Redis may still run it when it wakes (it read
     * it), so the same create asked again is told it was made or that
     * the name is taken. */
    struct gw_account b = acct("bob", "bob", phc1, 0, 1, now);
    ctl("pause");
    assert_int_equal(c_create(&e, &t, &b), GW_STORE_PENDING);
    const struct answer *a = wait_answer(&f, &e, t);
    assert_int_equal(a->status, GW_STORE_EIO);
    ctl("resume");
    assert_true(run_until(&f, healthy, &e, 10000));
    run_for(&f, 100);
    assert_int_equal(answers(&e, t, NULL), 1);
    int st = STATUS(&f, &e, c_create(&e, &t_, &b));
    assert_true(st == GW_STORE_DONE || st == GW_ACCOUNT_EXISTS);
    EXPECT(&f, &e, c_find(&e, &t_, "bob"), GW_STORE_DONE);

    eng_close(&e);
    fix_done(&f);
}

/* ----------------------------------------------------------------- keys */

/* The names' index is known whole (keys is refused with GW_STORE_EBUSY
 * for the first moments of a connection, until it is): a first page. */
static void names_ready(struct fix *f, struct eng *e)
{
    uint64_t t;
    for (int i = 0; i < 500; i++) {
        int rc = e->ac.keys(e->ac.ctx, t = next_tag++, "");
        if (rc == GW_STORE_PENDING) {
            assert_int_equal(wait_answer(f, e, t)->status, GW_STORE_DONE);
            return;
        }
        assert_int_equal(rc, GW_STORE_EBUSY);
        run_for(f, 10);
    }
    fail_msg("the names' index was never whole");
}

/* Make user<from>..user<to-1> on e, all sent before the first answer. */
static void create_users(struct fix *f, struct eng *e, unsigned from, unsigned to)
{
    static uint64_t tags[4 * GW_ACCOUNT_KEYS_PAGE];
    char key[32];
    assert_true(to - from <= 4 * GW_ACCOUNT_KEYS_PAGE);
    for (unsigned i = from; i < to; i++) {
        snprintf(key, sizeof key, "user%u", i);
        struct gw_account a = acct(key, key, phc1, 0, 1, 1);
        assert_int_equal(c_create(e, &tags[i - from], &a), GW_STORE_PENDING);
    }
    for (unsigned i = from; i < to; i++)
        assert_int_equal(wait_answer(f, e, tags[i - from])->status, GW_STORE_DONE);
}

static struct fix *between_fix;
static struct eng *between_other;

/* During a walk: user0 (given on the first page) removed on the other
 * gateway. */
static void remove_user0(struct fix *f)
{
    (void)f;
    EXPECT(between_fix, between_other, c_remove(between_other, &t_, "user0"), GW_STORE_DONE);
}

static void test_keys(void **state)
{
    struct fix f;
    struct eng e1, e2;
    enum { TOTAL = GW_ACCOUNT_KEYS_PAGE * 3 + 1 };
    static unsigned seen[TOTAL];
    uint64_t t;
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e1, 0);
    eng_open(&f, &e2, 0);
    names_ready(&f, &e1);
    names_ready(&f, &e2);
    fix_use(&f, &e2);
    /* None: one empty page, the last. */
    assert_int_equal(keys_walk(&f, seen, TOTAL, 8, NULL), 1);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    /* Exactly three pages' worth, made on the other gateway: three full
     * pages, the third the last. */
    create_users(&f, &e1, 0, GW_ACCOUNT_KEYS_PAGE * 3);
    fix_use(&f, &e2);
    assert_int_equal(keys_walk(&f, seen, TOTAL, 8, NULL), 3);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE);
    /* One more: a fourth page of one; every name once. */
    create_users(&f, &e1, GW_ACCOUNT_KEYS_PAGE * 3, TOTAL);
    fix_use(&f, &e2);
    assert_int_equal(keys_walk(&f, seen, TOTAL, 8, NULL), 4);
    assert_int_equal(kgot.n, 1);
    for (unsigned i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    /* A page: full, in byte order, its last name the cursor. */
    assert_int_equal(e2.ac.keys(e2.ac.ctx, 5, ""), GW_STORE_PENDING);
    one(&f, 5, GW_STORE_DONE);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE);
    for (size_t i = 1; i < kgot.n; i++)
        assert_true(strcmp(kgot.keys[i - 1], kgot.keys[i]) < 0);
    assert_string_equal(kgot.next, kgot.keys[GW_ACCOUNT_KEYS_PAGE - 1]);
    /* A name of the first page removed during the walk (on the other
     * gateway): no other is skipped, and it is out of the index. */
    between_fix = &f;
    between_other = &e1;
    assert_int_equal(keys_walk(&f, seen, TOTAL, 8, remove_user0), 4);
    fix_use(&f, &e2);
    for (unsigned i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    assert_int_equal(keys_walk(&f, seen, TOTAL, 8, NULL), 3);
    assert_int_equal(seen[0], 0);
    char n[16];
    snprintf(n, sizeof n, "%u", TOTAL - 1);
    assert_string_equal(ctl("cmd\t0\tZCARD\twintalk:accounts"), n);
    /* A cursor past every name: the last page, empty. Names of any
     * bytes: a cursor of such a name. */
    assert_int_equal(e2.ac.keys(e2.ac.ctx, 6, "\xff"), GW_STORE_PENDING);
    one(&f, 6, GW_STORE_DONE);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    /* A bad cursor is refused, with no answer. */
    char longer[GW_ACCOUNT_KEY_MAX_BYTES + 2];
    memset(longer, 'k', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    size_t before = e2.n;
    assert_int_equal(e2.ac.keys(e2.ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(e2.ac.keys(e2.ac.ctx, 1, longer), GW_STORE_EINVAL);
    run_for(&f, 100);
    assert_int_equal(e2.n, before);
    (void)t;
    eng_close(&e1);
    eng_close(&e2);
    fix_done(&f);
}

/* Accounts an older gateway made (their hashes only, no index): the first
 * engine to connect puts their names in the index, over several SCAN
 * pages, and marks it whole; the names' sessions' sets are not names. */
static void test_keys_of_accounts_made_before_the_index(void **state)
{
    struct fix f;
    struct eng e;
    enum { OLD = 450 };
    static unsigned seen[OLD];
    (void)state;
    ctl("flushall");
    ctl("cmd\t0\tEVAL\t"
        "local function hex(s) return (string.gsub(s, '.', function(c) "
        "return string.format('%%02x', string.byte(c)) end)) end "
        "for i = 0, %d do local k = 'user' .. i "
        "redis.call('HSET', 'wintalk:account:' .. hex(k), 'key', k, 'nick', k, 'phc', '', "
        "'roles', '0', 'generation', '1', 'created_ms', '1') "
        "if i %% 10 == 0 then redis.call('ZADD', 'wintalk:account:' .. hex(k) .. ':sessions', "
        "1, 'abc') end end return 1\t0",
        OLD - 1);
    assert_string_equal(ctl("cmd\t0\tEXISTS\twintalk:accounts:indexed"), "0");
    fix_init(&f);
    eng_open(&f, &e, 0);
    names_ready(&f, &e);
    fix_use(&f, &e);
    keys_walk(&f, seen, OLD, 8, NULL);
    for (unsigned i = 0; i < OLD; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    assert_string_equal(ctl("cmd\t0\tEXISTS\twintalk:accounts:indexed"), "1");
    /* Once marked whole, nobody walks again: a name taken out of the index
     * by hand stays out for a gateway that connects now. */
    ctl("cmd\t0\tZREM\twintalk:accounts\tuser7");
    struct eng e2;
    eng_open(&f, &e2, 0);
    names_ready(&f, &e2);
    fix_use(&f, &e2);
    keys_walk(&f, seen, OLD, 8, NULL);
    assert_int_equal(seen[7], 0);
    eng_close(&e);
    eng_close(&e2);
    fix_done(&f);
}

/* Redis stalled past the command timeout: a keys in flight is answered
 * GW_STORE_EIO once; Redis down: refused at once; back: answered. */
static void test_keys_outage(void **state)
{
    struct fix f;
    struct eng e;
    uint64_t t;
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e, 1000);
    names_ready(&f, &e);
    create_users(&f, &e, 0, 3);
    ctl("pause");
    t = next_tag++;
    assert_int_equal(e.ac.keys(e.ac.ctx, t, ""), GW_STORE_PENDING);
    const struct answer *a = wait_answer(&f, &e, t);
    assert_int_equal(a->status, GW_STORE_EIO);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    ctl("resume");
    assert_true(run_until(&f, healthy, &e, 10000));
    ctl("stop");
    assert_true(run_until(&f, unhealthy, &e, 5000));
    size_t before = e.n;
    assert_int_equal(e.ac.keys(e.ac.ctx, next_tag++, ""), GW_STORE_EIO);
    run_for(&f, 200);
    assert_int_equal(e.n, before);
    ctl("start");
    assert_true(run_until(&f, healthy, &e, 10000));
    names_ready(&f, &e);
    eng_close(&e);
    fix_done(&f);
}

/* ------------------------------------------ present while away (accttest.h) */

/* A fresh Redis, one engine, accttest.h's calls on it. */
static void away_begin(struct fix *f, struct eng *e)
{
    ctl("flushall");
    fix_init(f);
    eng_open(f, e, 0);
    fix_use(f, e);
}

static void away_end(struct fix *f, struct eng *e)
{
    eng_close(e);
    fix_done(f);
}

static void test_rooms_calls(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    rooms_every_call_and_answer(&f);
    /* As kept: the rooms' hash and each room's members. */
    assert_string_equal(ctl("cmd\t0\tHGET\twintalk:account:616c696365:rooms\t#b"), "10");
    assert_string_equal(ctl("cmd\t0\tZRANGE\twintalk:members:#a\t0\t-1"), "alice,bob");
    away_end(&f, &e);
}

static void test_rooms_bound(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    rooms_the_101st_is_refused(&f);
    away_end(&f, &e);
}

static void test_room_accounts(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    room_accounts_walks_every_member_once(&f);
    away_end(&f, &e);
}

static void test_pms_calls(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    pms_every_call_and_answer(&f);
    away_end(&f, &e);
}

static void test_pms_bound(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    pms_the_1001st_drops_the_oldest(&f);
    char n[16];
    snprintf(n, sizeof n, "%u", GW_ACCOUNT_PMS_MAX);
    assert_string_equal(ctl("cmd\t0\tXLEN\twintalk:account:616c696365:pms"), n);
    away_end(&f, &e);
}

static void test_remove_takes_the_rest(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    remove_takes_rooms_and_messages(&f);
    /* Nothing of the removed account's is left but what it made again. */
    assert_string_equal(ctl("cmd\t0\tEXISTS\twintalk:account:616c696365:rooms"), "0");
    assert_string_equal(ctl("cmd\t0\tXLEN\twintalk:account:616c696365:pms"), "1");
    assert_string_equal(ctl("cmd\t0\tZRANGE\twintalk:members:#a\t0\t-1"), "bob");
    away_end(&f, &e);
}

static void test_away_bad_arguments(void **state)
{
    struct fix f;
    struct eng e;
    (void)state;
    away_begin(&f, &e);
    create_ok(&f, "alice", 1);
    size_t before = e.n;
    away_bad_arguments_are_refused(&f);
    run_for(&f, 100);
    assert_int_equal(e.n, before);
    away_end(&f, &e);
}

static int list_done_status;
static unsigned list_each_n;

static void list_each(void *arg, const struct gw_account *a)
{
    (void)arg, (void)a;
    list_each_n++;
}

static void list_done(void *arg, int status)
{
    (void)arg;
    list_done_status = status;
}

static int list_over(void *ctx, void *arg)
{
    (void)ctx, (void)arg;
    return list_done_status != 99;
}

/* Two gateways: joined and marked on one, seen on the other; a message
 * kept on one read on the other, numbered on from the other's; and the
 * tool's list walks past the rooms' and messages' keys. */
static void test_away_two_gateways(void **state)
{
    struct fix f;
    struct eng e1, e2;
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e1, 0);
    eng_open(&f, &e2, 0);
    fix_use(&f, &e1);
    create_ok(&f, "alice", 1);
    create_ok(&f, "bob", 1);
    assert_int_equal(rkeep(&f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(rmark(&f, "alice", "#a", 12), GW_STORE_DONE);
    assert_int_equal(pmadd(&f, "alice", "bob", 0, "one"), GW_STORE_DONE);
    fix_use(&f, &e2);
    assert_int_equal(rooms(&f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#a"), 12);
    assert_int_equal(pmadd(&f, "alice", "bob", 0, "two"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 2);
    fix_use(&f, &e1);
    assert_int_equal(pmafter(&f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 2);
    assert_string_equal(pgot.text[1], "two");
    list_done_status = 99; /* not yet */
    list_each_n = 0;
    assert_int_equal(gw_rstore_account_list(e2.rs, list_each, list_done, NULL), GW_STORE_PENDING);
    assert_true(run_until(&f, list_over, NULL, 5000));
    assert_int_equal(list_done_status, GW_STORE_DONE);
    assert_int_equal(list_each_n, 2);
    eng_close(&e1);
    eng_close(&e2);
    fix_done(&f);
}

/* Redis stalled past the command timeout: each call in flight is
 * answered GW_STORE_EIO once, through its own sink; down: refused at
 * once; back: answered. */
static void test_away_outage(void **state)
{
    struct fix f;
    struct eng e;
    uint64_t t[6];
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e, 1000);
    fix_use(&f, &e);
    create_ok(&f, "alice", 1);
    ctl("pause");
    struct gw_account_pm pm = {.time_ms = 1, .peer = "bob", .text = "hi"};
    for (int i = 0; i < 6; i++)
        t[i] = next_tag++;
    assert_int_equal(e.ac.room_keep(e.ac.ctx, t[0], "alice", "#a", 1), GW_STORE_PENDING);
    assert_int_equal(e.ac.rooms_of(e.ac.ctx, t[1], "alice"), GW_STORE_PENDING);
    assert_int_equal(e.ac.read_mark(e.ac.ctx, t[2], "alice", "#a", 3), GW_STORE_PENDING);
    assert_int_equal(e.ac.room_accounts(e.ac.ctx, t[3], "#a", ""), GW_STORE_PENDING);
    assert_int_equal(e.ac.pm_add(e.ac.ctx, t[4], "alice", &pm), GW_STORE_PENDING);
    assert_int_equal(e.ac.pm_after(e.ac.ctx, t[5], "alice", 0, 10), GW_STORE_PENDING);
    for (int i = 0; i < 6; i++)
        assert_int_equal(wait_answer(&f, &e, t[i])->status, GW_STORE_EIO);
    ctl("resume");
    assert_true(run_until(&f, healthy, &e, 10000));
    run_for(&f, 100);
    for (int i = 0; i < 6; i++)
        assert_int_equal(answers(&e, t[i], NULL), 1);
    ctl("stop");
    assert_true(run_until(&f, unhealthy, &e, 5000));
    size_t before = e.n;
    uint64_t x = next_tag++;
    assert_int_equal(e.ac.room_keep(e.ac.ctx, x, "alice", "#a", 1), GW_STORE_EIO);
    assert_int_equal(e.ac.rooms_of(e.ac.ctx, x, "alice"), GW_STORE_EIO);
    assert_int_equal(e.ac.read_mark(e.ac.ctx, x, "alice", "#a", 3), GW_STORE_EIO);
    assert_int_equal(e.ac.room_accounts(e.ac.ctx, x, "#a", ""), GW_STORE_EIO);
    assert_int_equal(e.ac.pm_add(e.ac.ctx, x, "alice", &pm), GW_STORE_EIO);
    assert_int_equal(e.ac.pm_after(e.ac.ctx, x, "alice", 0, 10), GW_STORE_EIO);
    run_for(&f, 200);
    assert_int_equal(e.n, before);
    ctl("start");
    assert_true(run_until(&f, healthy, &e, 10000));
    fix_use(&f, &e);
    assert_int_equal(rooms(&f, "alice") == GW_STORE_DONE || f.got.status == GW_ACCOUNT_NONE, 1);
    eng_close(&e);
    fix_done(&f);
}

/* ------------------------------------------------- news of generations */

static int both_moved(void *ctx, void *arg)
{
    const struct eng *const *e = arg;
    (void)ctx;
    return e[0]->moved_n && e[1]->moved_n;
}

static int both_missed(void *ctx, void *arg)
{
    const struct eng *const *e = arg;
    (void)ctx;
    return e[0]->missed_n && e[1]->missed_n;
}

/* moved on one gateway reaches every gateway (the sender too), the name
 * of any bytes as is; bad arguments are refused at once; what is not one
 * of ours on the channel is dropped; a subscription back after it was cut
 * says news may have been missed. */
static void test_generations(void **state)
{
    struct fix f;
    struct eng e1, e2;
    const struct eng *both[2] = {&e1, &e2};
    (void)state;
    ctl("flushall");
    fix_init(&f);
    eng_open(&f, &e1, 0);
    eng_open(&f, &e2, 0);
    char name[GW_ACCOUNT_KEY_MAX_BYTES + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    e1.in_call = 1;
    assert_int_equal(e1.ac.moved(e1.ac.ctx, NULL, 2, GW_MOVED_ENDED), GW_STORE_EINVAL);
    assert_int_equal(e1.ac.moved(e1.ac.ctx, "", 2, GW_MOVED_ENDED), GW_STORE_EINVAL);
    assert_int_equal(e1.ac.moved(e1.ac.ctx, name, 2, GW_MOVED_ENDED), GW_STORE_EINVAL);
    assert_int_equal(e1.ac.moved(e1.ac.ctx, "alice", 0, GW_MOVED_ENDED), GW_STORE_EINVAL);
    assert_int_equal(e1.ac.moved(e1.ac.ctx, "alice", 2, 0), GW_STORE_EINVAL);
    /* Not ours: dropped, the channel goes on. */
    static const char *const junk[] = {"G", "G5", "G5 ", "G5 2", "G5 2 ", "G0 1 a", "Gx 1 a",
                                       "X5 1 a", "G5 0 a", "G5 99999999999 a", "G5 x a"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        ctl("cmd\t0\tPUBLISH\twintalk:generations\t%s", junk[i]);
    name[GW_ACCOUNT_KEY_MAX_BYTES] = '\0'; /* the longest name */
    name[3] = ' ';
    assert_int_equal(e1.ac.moved(e1.ac.ctx, name, UINT64_MAX, GW_MOVED_PASSWORD), 0);
    e1.in_call = 0;
    assert_true(run_until(&f, both_moved, both, 5000));
    for (int i = 0; i < 2; i++) {
        const struct eng *e = both[i];
        assert_int_equal(e->moved_n, 1);
        assert_string_equal(e->moved_key, name);
        assert_true(e->moved_gen == UINT64_MAX);
        assert_int_equal(e->moved_why, GW_MOVED_PASSWORD);
    }
    e2.in_call = 1;
    assert_int_equal(e2.ac.moved(e2.ac.ctx, "Ünïcode", 7, GW_MOVED_ENDED), 0);
    e2.in_call = 0;
    e1.moved_n = e2.moved_n = 0;
    assert_true(run_until(&f, both_moved, both, 5000));
    assert_string_equal(e1.moved_key, "Ünïcode");
    assert_int_equal(e1.moved_gen, 7);
    assert_int_equal(e1.moved_why, GW_MOVED_ENDED);
    assert_int_equal(e1.missed_n + e2.missed_n, 0);
    /* The subscriptions cut: each says so when it is back. */
    ctl("cmd\t0\tCLIENT\tKILL\tTYPE\tpubsub");
    assert_true(run_until(&f, both_missed, both, 5000));
    assert_int_equal(e1.missed_n, 1);
    assert_int_equal(e2.missed_n, 1);
    /* Redis down: refused at once. */
    ctl("stop");
    assert_true(run_until(&f, unhealthy, &e1, 5000));
    assert_int_equal(e1.ac.moved(e1.ac.ctx, "alice", 3, GW_MOVED_ENDED), GW_STORE_EIO);
    ctl("start");
    assert_true(run_until(&f, healthy, &e1, 5000));
    eng_close(&e1);
    eng_close(&e2);
    fix_done(&f);
}

int main(void)
{
    if (redisctl_attach("test_accounts_redis") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls),           cmocka_unit_test(test_create_race),
        cmocka_unit_test(test_sessions_shared), cmocka_unit_test(test_session_bound),
        cmocka_unit_test(test_session_end),     cmocka_unit_test(test_busy),
        cmocka_unit_test(test_outage),          cmocka_unit_test(test_keys),
        cmocka_unit_test(test_keys_of_accounts_made_before_the_index),
        cmocka_unit_test(test_keys_outage),
        cmocka_unit_test(test_rooms_calls),
        cmocka_unit_test(test_rooms_bound),
        cmocka_unit_test(test_room_accounts),
        cmocka_unit_test(test_pms_calls),
        cmocka_unit_test(test_pms_bound),
        cmocka_unit_test(test_remove_takes_the_rest),
        cmocka_unit_test(test_away_bad_arguments),
        cmocka_unit_test(test_away_two_gateways),
        cmocka_unit_test(test_away_outage),
        cmocka_unit_test(test_generations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
