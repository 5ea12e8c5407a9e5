/*
 * test_hub_loading.c - a room whose store loads it later (gw_store.h,
 * load_async): the joins asked while it loads wait (a wintalk.v2 browser's
 * join, a TCP participant's /join, a hello naming it), and go on in order
 * once the load arrives, each answered with the loaded history; the
 * room's ids go on after the loaded last id, and every event reaches each
 * member once.
 *
 * The store here keeps the appends done at once and records the loads it
 * is asked for; the test answers them (gw_hub_store_loaded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_limits.h"
#include "hubtest.h"

struct later {
    char asked[8][40];
    size_t nasked;
    int refuse;                 /* load_async answers this failure */
    int sync_loads;
};

static int later_append(void *ctx, const char *key, const char *name,
                        const struct gw_store_event *ev)
{
    (void)ctx, (void)key, (void)name, (void)ev;
    return GW_STORE_DONE;
}

static int later_load_async(void *ctx, const char *key, size_t max_events, size_t max_bytes)
{
    struct later *s = ctx;
    (void)max_events, (void)max_bytes;
    if (s->refuse)
        return s->refuse;
    assert_true(s->nasked < 8);
    snprintf(s->asked[s->nasked++], sizeof s->asked[0], "%s", key);
    return GW_STORE_PENDING;
}

static int later_load(void *ctx, const char *key, size_t max_events, size_t max_bytes,
                      uint64_t *last_id, void (*each)(void *, const struct gw_store_event *),
                      void *arg)
{
    struct later *s = ctx;
    (void)key, (void)max_events, (void)max_bytes, (void)each, (void)arg;
    s->sync_loads++;
    *last_id = 0;
    return 0;
}

static struct gw_store later_store(struct later *s)
{
    struct gw_store st = {.ctx = s, .kind = "later", .append = later_append,
                          .load = later_load, .load_async = later_load_async};
    return st;
}

static const char *ev_json[] = {
    "{\"type\":\"message\",\"room\":\"#big\",\"id\":41,\"text\":\"kept one\"}",
    "{\"type\":\"message\",\"room\":\"#big\",\"id\":42,\"text\":\"kept two\"}",
};
static const char *ev_line[] = {"old: kept one\r\n", "old: kept two\r\n"};

static void answer(struct gw_hub *h, const char *key, int64_t now)
{
    struct gw_store_event ev[2];
    for (int i = 0; i < 2; i++)
        ev[i] = (struct gw_store_event){.id = 41 + (uint64_t)i, .json = ev_json[i],
                                        .json_len = strlen(ev_json[i]), .line = ev_line[i],
                                        .line_len = strlen(ev_line[i])};
    assert_int_equal(gw_hub_store_loaded(h, key, 0, 42, ev, 2, now), GW_OK);
}

static void joins_wait_for_the_load_and_go_on_in_order(void **state)
{
    (void)state;
    struct later s = {0};
    struct gw_store st = later_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t alice = ht_v2(h, T0);
    uint64_t bob = ht_v2(h, T0);
    ht_send(h, alice, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    ht_send(h, bob, T0, "{\"type\":\"hello\",\"nick\":\"bob\"}");
    uint64_t tom = ht_tcp(h, T0);
    free(ht_drain(h, alice));
    free(ht_drain(h, bob));
    free(ht_drain(h, tom));
    /* #lobby was read at once, as the hub started. */
    assert_int_equal(s.nasked, 0);
    assert_int_equal(s.sync_loads, 1);

    ht_send(h, alice, T0 + 1, "{\"type\":\"join\",\"room\":\"#big\",\"last_id\":0,\"ref\":1}");
    assert_int_equal(s.nasked, 1);
    assert_string_equal(s.asked[0], "#big");
    ht_in(h, tom, T0 + 2, "A11:/join #BIG\n");
    ht_send(h, bob, T0 + 3, "{\"type\":\"join\",\"room\":\"#big\",\"last_id\":41,\"ref\":2}");
    /* Asked once; nobody is told anything yet, tom is still in #lobby. */
    assert_int_equal(s.nasked, 1);
    ht_expect(h, alice, "");
    ht_expect(h, bob, "");
    ht_expect(h, tom, "");
    /* Saying into it before the reply: not in it yet. */
    ht_send(h, alice, T0 + 4, "{\"type\":\"say\",\"room\":\"#big\",\"text\":\"early\",\"ref\":3}");
    char *a = ht_drain(h, alice);
    ht_has(a, "\"code\":501");
    free(a);

    answer(h, "#big", T0 + 5);
    /* In the order asked: alice joined (the loaded history, last_id 42),
     * then her join (43); tom's pane with the room's transcript and both
     * lines, then his join (44); bob's from 41 on, then his (45). */
    a = ht_drain(h, alice);
    ht_has(a, "\"type\":\"joined\",\"code\":250,\"room\":\"#big\"");
    ht_has(a, "\"kept one\"");
    ht_has(a, "\"last_id\":42");
    ht_has(a, "\"type\":\"join\",\"room\":\"#big\",\"id\":43");
    ht_has(a, "\"id\":44");
    ht_has(a, "\"id\":45");
    assert_int_equal(ht_count(a, "\"id\":43"), 1);
    assert_int_equal(ht_count(a, "\"id\":44"), 1);
    assert_true(strstr(a, "\"id\":43") < strstr(a, "\"id\":44"));
    free(a);
    char *t = ht_drain(h, tom);
    ht_has(t, "old: kept one\r\nold: kept two\r\n");
    assert_null(strstr(t, "early"));
    free(t);
    char *b = ht_drain(h, bob);
    ht_has(b, "\"type\":\"joined\",\"code\":250,\"room\":\"#big\"");
    assert_null(strstr(b, "\"kept one\""));
    ht_has(b, "\"kept two\"");
    assert_int_equal(ht_count(b, "\"id\":45"), 1);
    free(b);
    /* Loaded: a join now is answered at once, and nothing is asked. */
    uint64_t cy = ht_v2(h, T0 + 6);
    ht_send(h, cy, T0 + 6, "{\"type\":\"hello\",\"nick\":\"cy\",\"rooms\":{\"#big\":0}}");
    char *c = ht_drain(h, cy);
    ht_has(c, "\"type\":\"welcome\"");
    ht_has(c, "\"kept one\"");
    free(c);
    assert_int_equal(s.nasked, 1);
    /* An answer for a room not loading is nobody's. */
    assert_int_equal(gw_hub_store_loaded(h, "#big", 0, 42, NULL, 0, T0 + 7), GW_ENOENT);
    assert_int_equal(gw_hub_store_loaded(h, "#nowhere", 0, 1, NULL, 0, T0 + 7), GW_ENOENT);
    gw_hub_free(h);
}

static void a_hello_naming_a_loading_room_waits_for_it(void **state)
{
    (void)state;
    struct later s = {0};
    struct gw_store st = later_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t dee = ht_v2(h, T0);
    ht_send(h, dee, T0, "{\"type\":\"hello\",\"nick\":\"dee\",\"rooms\":{\"#big\":0,\"#new\":0},"
                     "\"ref\":7}");
    /* Both rooms asked for at once; no welcome yet. */
    assert_int_equal(s.nasked, 2);
    ht_expect(h, dee, "");
    /* Meanwhile: what she sends waits behind the hello, in order. */
    ht_send(h, dee, T0 + 1, "{\"type\":\"say\",\"text\":\"hi\",\"ref\":8}");
    ht_send(h, dee, T0 + 1, "{\"type\":\"hello\",\"nick\":\"dee\"}");
    char *d = ht_drain(h, dee);
    assert_string_equal(d, "");
    free(d);
    /* One room ready: still waiting for the other. */
    assert_int_equal(gw_hub_store_loaded(h, "#new", 0, 0, NULL, 0, T0 + 2), GW_OK);
    ht_expect(h, dee, "");
    answer(h, "#big", T0 + 3);
    d = ht_drain(h, dee);
    ht_has(d, "\"type\":\"welcome\"");
    ht_has(d, "\"kept two\"");
    ht_has(d, "\"room\":\"#new\"");
    assert_int_equal(ht_count(d, "\"type\":\"welcome\""), 1);
    /* Then the say, and the second hello's 503, after the welcome. */
    const char *after = strstr(d, "\"type\":\"welcome\"");
    assert_non_null(strstr(after, "\"text\":\"hi\""));
    assert_non_null(strstr(after, "hello was already sent"));
    free(d);
    assert_int_equal(s.nasked, 2);
    gw_hub_free(h);
}

static void a_store_that_cannot_load_later_loads_at_once(void **state)
{
    (void)state;
    struct later s = {.refuse = GW_STORE_EBUSY};
    struct gw_store st = later_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t eve = ht_v2(h, T0);
    ht_send(h, eve, T0, "{\"type\":\"hello\",\"nick\":\"eve\"}");
    free(ht_drain(h, eve));
    ht_send(h, eve, T0 + 1, "{\"type\":\"join\",\"room\":\"#x\",\"ref\":1}");
    char *e = ht_drain(h, eve);
    ht_has(e, "\"type\":\"joined\"");
    free(e);
    assert_int_equal(s.sync_loads, 2); /* #lobby, #x */
    gw_hub_free(h);
}

/* What a browser sends while its hello is held waits behind it, within
 * GW_HELD_AFTER_MAX messages: one more closes it (421). */
static void what_waits_behind_a_held_hello_is_bounded(void **state)
{
    (void)state;
    struct later s = {0};
    struct gw_store st = later_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t v = ht_v2(h, T0);
    ht_send(h, v, T0, "{\"type\":\"hello\",\"nick\":\"vic\",\"rooms\":{\"#new\":0}}");
    assert_int_equal(s.nasked, 1);
    for (unsigned i = 0; i < GW_HELD_AFTER_MAX; i++)
        ht_send(h, v, T0, "{\"type\":\"typing\",\"text\":\"x\"}");
    assert_int_equal(gw_hub_closing(h, v, NULL, NULL), 0);
    ht_send(h, v, T0, "{\"type\":\"typing\",\"text\":\"x\"}");
    assert_int_equal(gw_hub_closing(h, v, NULL, NULL), 1);
    char *d = ht_drain(h, v);
    ht_has(d, "\"code\":421");
    free(d);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(joins_wait_for_the_load_and_go_on_in_order),
        cmocka_unit_test(a_hello_naming_a_loading_room_waits_for_it),
        cmocka_unit_test(what_waits_behind_a_held_hello_is_bounded),
        cmocka_unit_test(a_store_that_cannot_load_later_loads_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
