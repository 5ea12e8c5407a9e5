/*
 * test_roomcfg_redis.c - the room config in the Redis engine
 * (gw_rstore_roomcfg) against a real redis-server (redis_ctl.py starts
 * it): what every engine must do (roomcfgtest.h), on one engine; then two
 * engines on one loop, two gateways on one Redis: a change by one is in
 * the other's next load, and its notice reaches both sinks, the sender's
 * too; two gateways racing for a list's last place; the keys it leaves in
 * Redis (expired entries deleted by the next write to their list); a
 * subscription cut is told as news missed; Redis down refuses at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_store_redis.h"
#include "redisctl.h"
#include "roomcfgtest.h"

struct gw;

struct fix {
    uv_loop_t loop;
    uv_timer_t pump;
    char url[128];
};

/* One gateway: its engine and its recorder. */
struct gw {
    struct fix *f;
    struct gw_rstore *rs;
    struct rct t;
};

/* Something more was recorded than when the pump began (arg: that count). */
static int got_more(void *ctx, void *arg)
{
    const struct gw *g = ctx;
    return g->t.n > *(const size_t *)arg;
}

static void pump(struct rct *t, int wait_ms)
{
    struct gw *g = t->arg;
    size_t before = t->n;
    loop_until(&g->f->loop, got_more, g, &before, (unsigned)wait_ms);
}

static int healthy(void *ctx, void *arg)
{
    (void)ctx;
    return gw_rstore_healthy(((struct gw *)arg)->rs, NULL);
}

static int unhealthy(void *ctx, void *arg)
{
    (void)ctx;
    return !gw_rstore_healthy(((struct gw *)arg)->rs, NULL);
}

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->pump), 0);
    assert_int_equal(uv_timer_start(&f->pump, loop_pump, 5, 5), 0);
    snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", redis_port);
}

static void fix_done(struct fix *f)
{
    uv_close((uv_handle_t *)&f->pump, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void gw_open(struct fix *f, struct gw *g)
{
    memset(g, 0, sizeof *g);
    g->f = f;
    rct_init(&g->t);
    g->t.pump = pump;
    g->t.arg = g;
    struct gw_rstore_opts o = {.url = f->url};
    struct gw_store_sink none = {0};
    char err[256] = "";
    assert_int_equal(gw_rstore_open(&f->loop, &o, &none, &g->rs, err, sizeof err), 0);
    struct gw_roomcfg_sink rs = rct_sink(&g->t);
    assert_int_equal(gw_rstore_roomcfg(g->rs, &rs, &g->t.rc), 0);
    if (!loop_until(&f->loop, healthy, NULL, g, 5000))
        fail_msg("the engine never came up");
    /* Its subscription is up too: a notice of its own comes back. */
    for (int i = 0; i < 50; i++) {
        rct_clear(&g->t);
        uint64_t tag = g->t.next_tag++;
        assert_int_equal(g->t.rc.owner_set(g->t.rc.ctx, tag, "#probe", ""), GW_STORE_PENDING);
        loop_for(&f->loop, 50);
        if (rct_changed(&g->t, "#probe"))
            break;
    }
    assert_non_null(rct_changed(&g->t, "#probe"));
    rct_clear(&g->t);
}

static void gw_close(struct gw *g)
{
    gw_rstore_close(g->rs);
    g->rs = NULL;
    rct_fini(&g->t);
}

/* Each test on an empty Redis. */
static void fresh(void)
{
    ctl("flushall");
}

/* ---- what every engine must do, on one engine ---- */

static void one(void (*test)(struct rct *))
{
    fresh();
    struct fix f;
    fix_init(&f);
    struct gw g;
    gw_open(&f, &g);
    test(&g.t);
    gw_close(&g);
    fix_done(&f);
}

static void redis_room(void **state)
{
    (void)state;
    one(rct_test_room);
}

static void redis_entries(void **state)
{
    (void)state;
    one(rct_test_entries);
}

static void redis_expiry(void **state)
{
    (void)state;
    one(rct_test_expiry);
}

static void redis_bounds(void **state)
{
    (void)state;
    one(rct_test_bounds);
}

static void redis_einval(void **state)
{
    (void)state;
    one(rct_test_einval);
}

/* ---- two gateways ---- */

/* A change by one reaches both sinks (the sender's too) and the other's
 * next load; every kind of change, the gateway-wide bans included. */
static void two_gateways_see_each_change(void **state)
{
    (void)state;
    fresh();
    struct fix f;
    fix_init(&f);
    struct gw a, b;
    gw_open(&f, &a);
    gw_open(&f, &b);
    struct {
        unsigned what;
        const char *room;
    } want[] = {
        {GW_ROOMCFG_CH_OWNER, "#shared"},
        {GW_ROOMCFG_CH_TOPIC, "#shared"},
        {GW_ROOMCFG_CH_SETTINGS, "#shared"},
        {GW_ROOMCFG_CH_LIST(GW_RCL_BAN), "#shared"},
        {GW_ROOMCFG_CH_LIST(GW_RCL_GBAN), ""},
        {GW_ROOMCFG_CH_LIST(GW_RCL_BAN), "#shared"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct gw *by = i % 2 ? &b : &a, *other = i % 2 ? &a : &b;
        rct_clear(&other->t);
        switch (i) {
        case 0: rct_owner(&by->t, "#shared", "alice"); break;
        case 1: rct_topic(&by->t, "#shared", "hola", "Alice", 7); break;
        case 2: rct_settings(&by->t, "#shared", GW_ROOMCFG_INVITE, "key"); break;
        case 3: {
            struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "troll", 1, 0);
            rct_set(&by->t, "#shared", &e, GW_STORE_DONE);
            break;
        }
        case 4: {
            struct gw_roomcfg_entry e =
                rct_entry(GW_RCL_GBAN, GW_RCK_ADDRESS, "203.0.113.0/24", 1, 0);
            rct_set(&by->t, "", &e, GW_STORE_DONE);
            break;
        }
        case 5:
            rct_unset(&by->t, "#shared", GW_RCL_BAN, GW_RCK_ACCOUNT, "troll", 2, GW_STORE_DONE);
            break;
        }
        /* The sender's own notice was checked by the call; the other's: */
        for (int k = 0; k < 100 && !rct_changed(&other->t, want[i].room); k++)
            loop_for(&f.loop, 20);
        struct rct_got *n = rct_changed(&other->t, want[i].room);
        assert_non_null(n);
        assert_int_equal(n->what, want[i].what);
        /* One notice a change, not more. */
        loop_for(&f.loop, 50);
        size_t count = 0;
        for (size_t k = 0; k < other->t.n; k++)
            count += other->t.got[k].type == RCT_CHANGED;
        assert_int_equal(count, 1);
        if (i == 3) {
            assert_int_equal(rct_list(&other->t, "#shared", GW_RCL_BAN, 5), 1);
            assert_string_equal(other->t.rows[0].who, "troll");
        }
    }
    struct rct_got *g = rct_load(&a.t, "#shared", 10);
    assert_string_equal(g->owner, "alice");
    assert_string_equal(g->topic, "hola");
    assert_int_equal(g->flags, GW_ROOMCFG_INVITE);
    assert_string_equal(g->key, "key");
    assert_int_equal(g->n, 0);
    assert_int_equal(rct_list(&a.t, "", GW_RCL_GBAN, 10), 1);
    gw_close(&a);
    gw_close(&b);
    fix_done(&f);
}

/* Two gateways, one place left in a list, each asks for it at once:
 * exactly one is told done. */
static void two_gateways_race_for_the_last_place(void **state)
{
    (void)state;
    fresh();
    struct fix f;
    fix_init(&f);
    struct gw a, b;
    gw_open(&f, &a);
    gw_open(&f, &b);
    char who[32];
    for (size_t i = 0; i < GW_ROOMCFG_OPS_MAX - 1; i++) {
        snprintf(who, sizeof who, "op%zu", i);
        struct gw_roomcfg_entry e = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, who, 1, 0);
        rct_set(&a.t, "#race", &e, GW_STORE_DONE);
    }
    rct_clear(&a.t);
    rct_clear(&b.t);
    struct gw_roomcfg_entry ea = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, "froma", 1, 0);
    struct gw_roomcfg_entry eb = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, "fromb", 1, 0);
    assert_int_equal(a.t.rc.entry_set(a.t.rc.ctx, 1, "#race", &ea), GW_STORE_PENDING);
    assert_int_equal(b.t.rc.entry_set(b.t.rc.ctx, 1, "#race", &eb), GW_STORE_PENDING);
    struct rct_got *ga = rct_wait(&a.t, RCT_ANSWER, 1, NULL, 0);
    struct rct_got *gb = rct_wait(&b.t, RCT_ANSWER, 1, NULL, 0);
    assert_true((ga->status == GW_STORE_DONE) != (gb->status == GW_STORE_DONE));
    assert_int_equal(ga->status == GW_ROOMCFG_FULL || gb->status == GW_ROOMCFG_FULL, 1);
    assert_int_equal(rct_list(&b.t, "#race", GW_RCL_OP, 1), GW_ROOMCFG_OPS_MAX);
    gw_close(&a);
    gw_close(&b);
    fix_done(&f);
}

/* What it leaves in Redis: expired entries stay until the next write to
 * their list, which deletes them (and their expiries). */
static void expired_entries_deleted_by_the_next_write(void **state)
{
    (void)state;
    fresh();
    struct fix f;
    fix_init(&f);
    struct gw a;
    gw_open(&f, &a);
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_MUTE, GW_RCK_ACCOUNT, "old", 1, 100);
    rct_set(&a.t, "#k", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_MUTE, GW_RCK_ACCOUNT, "forever", 1, 0);
    rct_set(&a.t, "#k", &e, GW_STORE_DONE);
    assert_string_equal(ctl("cmd\t0\tHLEN\t" "wintalk:roomcfg:#k:l3"), "2");
    assert_string_equal(ctl("cmd\t0\tZCARD\t" "wintalk:roomcfg:#k:l3:exp"), "1");
    assert_int_equal(rct_list(&a.t, "#k", GW_RCL_MUTE, 100), 1); /* read: not deleted */
    assert_string_equal(ctl("cmd\t0\tHLEN\t" "wintalk:roomcfg:#k:l3"), "2");
    /* A write at 99 deletes nothing; one at 100 deletes it. */
    rct_unset(&a.t, "#k", GW_RCL_MUTE, GW_RCK_ACCOUNT, "nobody", 99, GW_ROOMCFG_NONE);
    assert_string_equal(ctl("cmd\t0\tHLEN\t" "wintalk:roomcfg:#k:l3"), "2");
    rct_unset(&a.t, "#k", GW_RCL_MUTE, GW_RCK_ACCOUNT, "nobody", 100, GW_ROOMCFG_NONE);
    assert_string_equal(ctl("cmd\t0\tHLEN\t" "wintalk:roomcfg:#k:l3"), "1");
    assert_string_equal(ctl("cmd\t0\tZCARD\t" "wintalk:roomcfg:#k:l3:exp"), "0");
    /* An expiring entry set again to last for ever leaves the expiries. */
    e = rct_entry(GW_RCL_MUTE, GW_RCK_ACCOUNT, "x", 200, 300);
    rct_set(&a.t, "#k", &e, GW_STORE_DONE);
    e.expires_ms = 0;
    rct_set(&a.t, "#k", &e, GW_STORE_DONE);
    assert_string_equal(ctl("cmd\t0\tZCARD\t" "wintalk:roomcfg:#k:l3:exp"), "0");
    rct_unset(&a.t, "#k", GW_RCL_MUTE, GW_RCK_ACCOUNT, "x", 1000, GW_STORE_DONE);
    gw_close(&a);
    fix_done(&f);
}

/* A subscription cut: news missed, told to each sink once it is back;
 * Redis down: calls refused at once. */
static void outages(void **state)
{
    (void)state;
    fresh();
    struct fix f;
    fix_init(&f);
    struct gw a;
    gw_open(&f, &a);
    ctl("cmd\t0\tCLIENT\tKILL\tTYPE\tpubsub");
    for (int k = 0; k < 250 && !rct_changed(&a.t, "(null)"); k++)
        loop_for(&f.loop, 20);
    struct rct_got *n = rct_changed(&a.t, "(null)");
    assert_non_null(n);
    assert_int_equal(n->what, 0);
    ctl("stop");
    assert_true(loop_until(&f.loop, unhealthy, NULL, &a, 5000));
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 1, 0);
    assert_int_equal(a.t.rc.entry_set(a.t.rc.ctx, 1, "#r", &e), GW_STORE_EIO);
    assert_int_equal(a.t.rc.load(a.t.rc.ctx, 1, "#r", 0), GW_STORE_EIO);
    assert_int_equal(a.t.rc.owner_set(a.t.rc.ctx, 1, "#r", "x"), GW_STORE_EIO);
    ctl("start");
    assert_true(loop_until(&f.loop, healthy, NULL, &a, 5000));
    gw_close(&a);
    fix_done(&f);
}

int main(void)
{
    if (redisctl_attach("test_roomcfg_redis") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redis_room),
        cmocka_unit_test(redis_entries),
        cmocka_unit_test(redis_expiry),
        cmocka_unit_test(redis_bounds),
        cmocka_unit_test(redis_einval),
        cmocka_unit_test(two_gateways_see_each_change),
        cmocka_unit_test(two_gateways_race_for_the_last_place),
        cmocka_unit_test(expired_entries_deleted_by_the_next_write),
        cmocka_unit_test(outages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
