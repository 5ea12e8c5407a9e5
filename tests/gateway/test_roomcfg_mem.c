/*
 * test_roomcfg_mem.c - the in-memory room config engine (gw_roomcfg_mem.h)
 * through what every engine must do (roomcfgtest.h), and what is its own:
 * answers only from a flush, each write's answer before its change notice,
 * the engine's bounds (answers waiting, rooms). And the addresses and CIDR
 * prefixes every engine takes (gw_roomcfg.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_roomcfg_mem.h"
#include "roomcfgtest.h"

struct fix {
    struct rct t;
    struct gw_roomcfg_mem *m;
};

static void pump(struct rct *t, int wait_ms)
{
    (void)wait_ms;
    struct fix *f = t->arg;
    gw_roomcfg_mem_flush(f->m);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    rct_init(&f->t);
    struct gw_roomcfg_sink sink = rct_sink(&f->t);
    assert_int_equal(gw_roomcfg_mem_new(&f->m, &sink), 0);
    gw_roomcfg_mem_iface(f->m, &f->t.rc);
    f->t.pump = pump;
    f->t.arg = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_roomcfg_mem_free(f->m);
    rct_fini(&f->t);
    free(f);
    return 0;
}

static void mem_room(void **state)
{
    rct_test_room(&((struct fix *)*state)->t);
}

static void mem_entries(void **state)
{
    rct_test_entries(&((struct fix *)*state)->t);
}

static void mem_expiry(void **state)
{
    rct_test_expiry(&((struct fix *)*state)->t);
}

static void mem_bounds(void **state)
{
    rct_test_bounds(&((struct fix *)*state)->t);
}

static void mem_einval(void **state)
{
    rct_test_einval(&((struct fix *)*state)->t);
}

/* Answers come from the flush only, in the order of the calls, a write's
 * answer right before its notice; a refused write has no notice. */
static void mem_answers_in_order(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, "bob", 1, 0);
    assert_int_equal(t->rc.owner_set(t->rc.ctx, 10, "#a", "alice"), GW_STORE_PENDING);
    assert_int_equal(t->rc.entry_set(t->rc.ctx, 11, "#a", &e), GW_STORE_PENDING);
    assert_int_equal(t->rc.entry_clear(t->rc.ctx, 12, "#a", GW_RCL_BAN, GW_RCK_ACCOUNT, "x", 1),
                     GW_STORE_PENDING);
    assert_int_equal(t->rc.load(t->rc.ctx, 13, "#a", 1), GW_STORE_PENDING);
    /* A write after the load changes nothing the load answers. */
    assert_int_equal(t->rc.owner_set(t->rc.ctx, 14, "#a", "zed"), GW_STORE_PENDING);
    assert_int_equal(t->n, 0);
    assert_int_equal(gw_roomcfg_mem_flush(f->m), 8);
    assert_int_equal(t->n, 8);
    assert_int_equal(t->got[0].type, RCT_ANSWER);
    assert_int_equal(t->got[0].tag, 10);
    assert_int_equal(t->got[1].type, RCT_CHANGED);
    assert_string_equal(t->got[1].room, "#a");
    assert_int_equal(t->got[1].what, GW_ROOMCFG_CH_OWNER);
    assert_int_equal(t->got[2].tag, 11);
    assert_int_equal(t->got[3].what, GW_ROOMCFG_CH_LIST(GW_RCL_OP));
    assert_int_equal(t->got[4].tag, 12);
    assert_int_equal(t->got[4].status, GW_ROOMCFG_NONE);
    assert_int_equal(t->got[5].type, RCT_CONFIG);
    assert_int_equal(t->got[5].tag, 13);
    assert_string_equal(t->got[5].owner, "alice");
    assert_int_equal(t->got[5].n, 1);
    assert_int_equal(t->got[6].tag, 14);
    assert_int_equal(t->got[7].type, RCT_CHANGED);
    assert_int_equal(gw_roomcfg_mem_flush(f->m), 0);
}

/* A sink that calls the engine from inside a flush: answered by the next. */
static struct gw_roomcfg_mem *again_m;
static struct gw_roomcfgs again_rc;
static int again_n;
static void again_answer(void *ctx, uint64_t tag, int status)
{
    (void)ctx;
    (void)status;
    again_n++;
    if (tag == 1)
        assert_int_equal(again_rc.owner_set(again_rc.ctx, 2, "#b", "x"), GW_STORE_PENDING);
}

static void mem_call_from_sink(void **state)
{
    (void)state;
    struct gw_roomcfg_sink s = {.answer = again_answer};
    assert_int_equal(gw_roomcfg_mem_new(&again_m, &s), 0);
    gw_roomcfg_mem_iface(again_m, &again_rc);
    /* Without config and entries in the sink: load and entries refused. */
    assert_int_equal(again_rc.load(again_rc.ctx, 1, "#b", 0), GW_STORE_EINVAL);
    assert_int_equal(again_rc.entries(again_rc.ctx, 1, "#b", GW_RCL_BAN, 0), GW_STORE_EINVAL);
    assert_int_equal(again_rc.owner_set(again_rc.ctx, 1, "#b", "y"), GW_STORE_PENDING);
    assert_int_equal(gw_roomcfg_mem_flush(again_m), 2); /* answer, notice (no sink fn) */
    assert_int_equal(again_n, 1);
    assert_int_equal(gw_roomcfg_mem_flush(again_m), 2);
    assert_int_equal(again_n, 2);
    gw_roomcfg_mem_free(again_m);
    struct gw_roomcfg_sink none = {0};
    assert_int_equal(gw_roomcfg_mem_new(&again_m, &none), GW_STORE_EINVAL);
    assert_int_equal(gw_roomcfg_mem_new(&again_m, NULL), GW_STORE_EINVAL);
}

/* GW_ROOMCFG_MEM_ANSWERS_MAX waiting: a call past it is EBUSY and does
 * nothing; a write needs room for its answer and its notice. */
static void mem_answers_bound(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    for (size_t i = 0; i < GW_ROOMCFG_MEM_ANSWERS_MAX - 1; i++)
        assert_int_equal(t->rc.load(t->rc.ctx, i, "#a", 0), GW_STORE_PENDING);
    /* One left: a write needs two. */
    assert_int_equal(t->rc.owner_set(t->rc.ctx, 1, "#a", "x"), GW_STORE_EBUSY);
    assert_int_equal(t->rc.load(t->rc.ctx, 1, "#a", 0), GW_STORE_PENDING);
    assert_int_equal(t->rc.load(t->rc.ctx, 1, "#a", 0), GW_STORE_EBUSY);
    assert_int_equal(t->rc.entries(t->rc.ctx, 1, "#a", GW_RCL_BAN, 0), GW_STORE_EBUSY);
    assert_int_equal(gw_roomcfg_mem_flush(f->m), GW_ROOMCFG_MEM_ANSWERS_MAX);
    t->n = 0;
    assert_string_equal(rct_load(t, "#a", 0)->owner, ""); /* the refused write: nothing */
}

/* GW_ROOMCFG_MEM_ROOMS_MAX rooms: one more is EBUSY (answered), a room
 * there already still takes writes, a read of a room not kept is fine. */
static void mem_rooms_bound(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    char room[16];
    for (size_t i = 0; i < GW_ROOMCFG_MEM_ROOMS_MAX; i++) {
        snprintf(room, sizeof room, "#r%zu", i);
        assert_int_equal(t->rc.owner_set(t->rc.ctx, i, room, "a"), GW_STORE_PENDING);
        if (i % 256 == 255) {
            t->n = 0;
            gw_roomcfg_mem_flush(f->m);
        }
    }
    t->n = 0;
    gw_roomcfg_mem_flush(f->m);
    assert_int_equal(gw_roomcfg_mem_count(f->m, NULL), GW_ROOMCFG_MEM_ROOMS_MAX);
    t->n = 0;
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_GBAN, GW_RCK_ACCOUNT, "m", 1, 0);
    assert_int_equal(t->rc.entry_set(t->rc.ctx, 7, "", &e), GW_STORE_EBUSY);
    assert_int_equal(t->rc.topic_set(t->rc.ctx, 7, "#new", "t", "b", 1), GW_STORE_EBUSY);
    rct_topic(t, "#r0", "still", "b", 1);
    assert_string_equal(rct_load(t, "#new", 0)->topic, "");
    rct_unset(t, "#new", GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 1, GW_ROOMCFG_NONE);
    assert_int_equal(gw_roomcfg_mem_count(f->m, NULL), GW_ROOMCFG_MEM_ROOMS_MAX);
}

/* Expired entries are deleted when their list is written, not before. */
static void mem_lazy_delete(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "a", 1, 10);
    rct_set(t, "#a", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_MUTE, GW_RCK_ACCOUNT, "b", 1, 10);
    rct_set(t, "#a", &e, GW_STORE_DONE);
    size_t n;
    gw_roomcfg_mem_count(f->m, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rct_list(t, "#a", GW_RCL_BAN, 10), 0); /* a read deletes nothing */
    gw_roomcfg_mem_count(f->m, &n);
    assert_int_equal(n, 2);
    e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "c", 10, 0);
    rct_set(t, "#a", &e, GW_STORE_DONE); /* the ban list's expired one goes */
    gw_roomcfg_mem_count(f->m, &n);
    assert_int_equal(n, 2);
    rct_unset(t, "#a", GW_RCL_MUTE, GW_RCK_ACCOUNT, "x", 9, GW_ROOMCFG_NONE);
    gw_roomcfg_mem_count(f->m, &n);
    assert_int_equal(n, 2); /* not yet expired at 9 */
    rct_unset(t, "#a", GW_RCL_MUTE, GW_RCK_ACCOUNT, "x", 10, GW_ROOMCFG_NONE);
    gw_roomcfg_mem_count(f->m, &n);
    assert_int_equal(n, 1);
}

/* Addresses and prefixes: canonical forms, refusals, matches. */
static void addresses(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"192.0.2.7", "192.0.2.7/32"},
        {"192.0.2.7/32", "192.0.2.7/32"},
        {"192.0.2.7/24", "192.0.2.0/24"},
        {"192.0.2.255/25", "192.0.2.128/25"},
        {"10.1.2.3/0", "0.0.0.0/0"},
        {"10.255.2.3/9", "10.128.0.0/9"},
        {"::ffff:192.0.2.7", "192.0.2.7/32"},
        {"::ffff:192.0.2.7/120", "192.0.2.0/24"},
        {"::ffff:192.0.2.7/64", "::/64"},
        {"2001:DB8::1", "2001:db8::1/128"},
        {"2001:db8:abcd:1234::1/48", "2001:db8:abcd::/48"},
        {"2001:db8::1/33", "2001:db8::/33"},
        {"::1", "::1/128"},
        {"::/0", "::/0"},
    };
    char out[GW_ROOMCFG_ADDR_MAX_BYTES + 1];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(gw_roomcfg_addr_canon(ok[i].in, out, sizeof out), 0);
        assert_string_equal(out, ok[i].out);
    }
    static const char *const bad[] = {
        "", "nobody", "192.0.2", "192.0.2.256", "192.0.2.7/33", "192.0.2.7/024",
        "192.0.2.7/", "192.0.2.7/-1", "192.0.2.7/2 4", "2001:db8::/129", "/24",
        "192.0.2.7 ", " 192.0.2.7", "192.0.2.7/99999999999999999999", "1:2:3:4:5:6:7:8:9",
        "0000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(gw_roomcfg_addr_canon(bad[i], out, sizeof out), GW_STORE_EINVAL);
    assert_int_equal(gw_roomcfg_addr_canon(NULL, out, sizeof out), GW_STORE_EINVAL);
    assert_int_equal(gw_roomcfg_addr_canon("192.0.2.7", out, GW_ROOMCFG_ADDR_MAX_BYTES),
                     GW_STORE_EINVAL);

    static const struct {
        const char *entry, *addr;
        int m;
    } match[] = {
        {"192.0.2.0/24", "192.0.2.0", 1},
        {"192.0.2.0/24", "192.0.2.255", 1},
        {"192.0.2.0/24", "192.0.3.0", 0},
        {"192.0.2.0/24", "192.0.1.255", 0},
        {"192.0.2.128/25", "192.0.2.127", 0},
        {"192.0.2.128/25", "192.0.2.128", 1},
        {"192.0.2.7/32", "192.0.2.7", 1},
        {"192.0.2.7/32", "192.0.2.8", 0},
        {"192.0.2.0/24", "::ffff:192.0.2.9", 1},   /* a dual-stack listener's peer */
        {"192.0.2.0/24", "::ffff:192.0.3.9", 0},
        {"0.0.0.0/0", "203.0.113.1", 1},
        {"0.0.0.0/0", "2001:db8::1", 0},           /* families apart */
        {"2001:db8::/32", "2001:db8:ffff::5", 1},
        {"2001:db8::/32", "2001:db9::5", 0},
        {"2001:db8::/33", "2001:db8:8000::", 0},
        {"2001:db8::/33", "2001:db8:7fff::", 1},
        {"192.0.2.0/24", "192.0.2.9/32", 0},       /* a peer has no prefix */
        {"192.0.2.0/24", "nobody", 0},
        {"nobody", "192.0.2.9", 0},
    };
    for (size_t i = 0; i < sizeof match / sizeof match[0]; i++)
        assert_int_equal(gw_roomcfg_addr_match(match[i].entry, match[i].addr), match[i].m);
    assert_int_equal(gw_roomcfg_addr_match(NULL, "192.0.2.9"), 0);
    assert_int_equal(gw_roomcfg_addr_match("192.0.2.0/24", NULL), 0);

    /* Lists and kinds. */
    assert_int_equal(gw_roomcfg_list_max(GW_RCL_OP), GW_ROOMCFG_OPS_MAX);
    assert_int_equal(gw_roomcfg_list_max(GW_RCL_GBAN), GW_GBANS_MAX);
    assert_int_equal(gw_roomcfg_list_max(GW_RCL_COUNT), 0);
    assert_int_equal(gw_roomcfg_list_max(-1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mem_room, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_answers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_call_from_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_answers_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_rooms_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(mem_lazy_delete, setup, teardown),
        cmocka_unit_test(addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
