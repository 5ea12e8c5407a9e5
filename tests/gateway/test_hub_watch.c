/*
 * test_hub_watch.c - a room of an engine that orders (gw_store.h,
 * GW_STORE_ORDERS) opened on this gateway while its events are kept
 * elsewhere: the room is loading from the watch until the engine says it
 * has caught up (gw_hub_store_ready). Its kept events, given meanwhile,
 * go into the ring and are sent to nobody; the hello, the join and the
 * TCP /join held meanwhile are answered from them exactly (the latest id,
 * the history after last_id, who joined), and no event comes twice. A
 * join held past GW_ROOM_WAIT_MAX_MS is told 421 for that room.
 *
 * The store here takes appends and watches and reports nothing by itself:
 * the test gives the events and says when the room is ready.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hubtest.h"

struct shared {
    char watched[8][40];
    size_t nwatched;
};

static int shared_append(void *ctx, const char *key, const char *name,
                         const struct gw_store_event *ev)
{
    (void)ctx, (void)key, (void)name, (void)ev;
    return GW_STORE_PENDING;
}

static int shared_watch(void *ctx, const char *key, const char *name, uint64_t after)
{
    struct shared *s = ctx;
    (void)name, (void)after;
    assert_true(s->nwatched < 8);
    snprintf(s->watched[s->nwatched++], sizeof s->watched[0], "%s", key);
    return 0;
}

static struct gw_store shared_store(struct shared *s)
{
    struct gw_store st = {.ctx = s, .kind = "shared", .flags = GW_STORE_ORDERS,
                          .append = shared_append, .watch = shared_watch};
    return st;
}

/* alice (of another gateway: node 9) joined #a (id 1), then said 2..last. */
#define ALICE ((9ull << GW_NODE_SHIFT) | 5u)

static void give(struct gw_hub *h, const char *room, uint64_t id)
{
    char json[256], line[64];
    if (id == 1)
        snprintf(json, sizeof json,
                 "{\"type\":\"join\",\"room\":\"%s\",\"id\":1,\"time\":1795555200000,"
                 "\"pid\":%llu,\"nick\":\"alice\",\"via\":\"web\"}",
                 room, (unsigned long long)ALICE);
    else
        snprintf(json, sizeof json,
                 "{\"type\":\"message\",\"room\":\"%s\",\"id\":%llu,\"text\":\"m%llu\"}", room,
                 (unsigned long long)id, (unsigned long long)id);
    snprintf(line, sizeof line, "alice: m%llu\r\n", (unsigned long long)id);
    struct gw_store_event ev = {.id = id, .json = json, .json_len = strlen(json),
                                .line = line, .line_len = strlen(line)};
    assert_int_equal(gw_hub_store_event(h, room, &ev), GW_OK);
}

static void a_hello_waits_for_the_room_and_is_answered_from_it(void **state)
{
    (void)state;
    struct shared s = {0};
    struct gw_store st = shared_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t bob = ht_v2(h, T0);
    ht_send(h, bob, T0, "{\"type\":\"hello\",\"nick\":\"bob\",\"epoch\":\"0000000000000000\","
                     "\"rooms\":{\"#lobby\":0,\"#a\":31}}");
    /* #lobby at the start, #a now; nothing said yet. */
    assert_int_equal(s.nwatched, 2);
    assert_string_equal(s.watched[1], "#a");
    ht_expect(h, bob, "");
    /* The kept events come: into the room, to nobody. */
    for (uint64_t id = 1; id <= 31; id++)
        give(h, "#a", id);
    ht_expect(h, bob, "");
    assert_int_equal(gw_hub_store_ready(h, "#a", T0 + 1), GW_OK);
    char *b = ht_drain(h, bob);
    ht_has(b, "\"type\":\"welcome\"");
    ht_has(b, "\"room\":\"#a\",\"participants\":[");
    ht_has(b, "\"nick\":\"alice\"");
    ht_has(b, "\"history\":[],\"last_id\":31,\"gap\":false");
    assert_null(strstr(b, "\"text\":\"m"));
    free(b);
    /* Ready once; a later event goes to bob once. */
    assert_int_equal(gw_hub_store_ready(h, "#a", T0 + 2), GW_ENOENT);
    give(h, "#a", 31);
    give(h, "#a", 32);
    b = ht_drain(h, bob);
    assert_int_equal(ht_count(b, "\"id\":32"), 1);
    assert_null(strstr(b, "\"id\":31"));
    free(b);
    gw_hub_free(h);
}

static void joins_get_the_history_after_their_last_id(void **state)
{
    (void)state;
    struct shared s = {0};
    struct gw_store st = shared_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t c0 = ht_v2(h, T0), c1 = ht_v2(h, T0), c2 = ht_v2(h, T0);
    ht_send(h, c0, T0, "{\"type\":\"hello\",\"nick\":\"c0\"}");
    ht_send(h, c1, T0, "{\"type\":\"hello\",\"nick\":\"c1\"}");
    ht_send(h, c2, T0, "{\"type\":\"hello\",\"nick\":\"c2\"}");
    uint64_t tom = ht_tcp(h, T0);
    free(ht_drain(h, c0));
    free(ht_drain(h, c1));
    free(ht_drain(h, c2));
    free(ht_drain(h, tom));
    /* The latest, one below it, and 0. */
    ht_send(h, c0, T0 + 1, "{\"type\":\"join\",\"room\":\"#b\",\"last_id\":12,\"ref\":1}");
    ht_send(h, c1, T0 + 1, "{\"type\":\"join\",\"room\":\"#b\",\"last_id\":11,\"ref\":2}");
    ht_send(h, c2, T0 + 1, "{\"type\":\"join\",\"room\":\"#b\",\"last_id\":0,\"ref\":3}");
    ht_in(h, tom, T0 + 1, "A9:/join #b\n");
    for (uint64_t id = 1; id <= 12; id++)
        give(h, "#b", id);
    ht_expect(h, c0, "");
    ht_expect(h, tom, "");
    assert_int_equal(gw_hub_store_ready(h, "#b", T0 + 2), GW_OK);
    char *a = ht_drain(h, c0);
    ht_has(a, "\"history\":[],\"last_id\":12,\"gap\":false");
    free(a);
    a = ht_drain(h, c1);
    ht_has(a, "\"history\":[{\"type\":\"message\",\"room\":\"#b\",\"id\":12,\"text\":\"m12\"}],"
           "\"last_id\":12,\"gap\":false");
    free(a);
    a = ht_drain(h, c2);
    ht_has(a, "\"last_id\":12,\"gap\":false");
    assert_int_equal(ht_count(a, "\"text\":\"m"), 11);
    free(a);
    char *t = ht_drain(h, tom);
    for (int i = 2; i <= 12; i++) {
        char want[32];
        snprintf(want, sizeof want, "alice: m%d\r\n", i);
        assert_int_equal(ht_count(t, want), 1);
    }
    free(t);
    gw_hub_free(h);
}

static void past_the_wait_a_join_is_told_to_try_later(void **state)
{
    (void)state;
    struct shared s = {0};
    struct gw_store st = shared_store(&s);
    struct gw_hub_config cfg = {.store = &st, .random = ht_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t c0 = ht_v2(h, T0), dee = ht_v2(h, T0);
    ht_send(h, c0, T0, "{\"type\":\"hello\",\"nick\":\"c0\"}");
    free(ht_drain(h, c0));
    uint64_t tom = ht_tcp(h, T0);
    free(ht_drain(h, tom));
    ht_send(h, c0, T0 + 1, "{\"type\":\"join\",\"room\":\"#down\",\"last_id\":3,\"ref\":1}");
    ht_in(h, tom, T0 + 1, "A12:/join #down\n");
    ht_send(h, dee, T0 + 1, "{\"type\":\"hello\",\"nick\":\"dee\",\"epoch\":\"0000000000000000\","
                         "\"rooms\":{\"#down\":3}}");
    /* A later one, held 2 s after them. */
    uint64_t c3 = ht_v2(h, T0);
    ht_send(h, c3, T0, "{\"type\":\"hello\",\"nick\":\"c3\"}");
    free(ht_drain(h, c3));
    ht_send(h, c3, T0 + 2000, "{\"type\":\"join\",\"room\":\"#down\",\"last_id\":0}");
    gw_hub_tick(h, T0 + GW_ROOM_WAIT_MAX_MS);
    ht_expect(h, c0, "");
    ht_expect(h, dee, "");
    ht_expect(h, tom, "");
    gw_hub_tick(h, T0 + 1 + GW_ROOM_WAIT_MAX_MS);
    char *a = ht_drain(h, c0);
    ht_has(a, "\"code\":421");
    ht_has(a, "\"room\":\"#down\"");
    assert_null(strstr(a, "\"joined\""));
    free(a);
    /* The hello goes on without the room: no welcome names it. */
    char *d = ht_drain(h, dee);
    ht_has(d, "\"type\":\"welcome\"");
    assert_null(strstr(d, "\"room\":\"#down\",\"participants\""));
    ht_has(d, "\"code\":421");
    free(d);
    /* Not yet for the later one. */
    ht_expect(h, c3, "");
    gw_hub_tick(h, T0 + 2000 + GW_ROOM_WAIT_MAX_MS);
    a = ht_drain(h, c3);
    ht_has(a, "\"code\":421");
    free(a);
    /* The peer stays in #lobby, told why. */
    char *t = ht_drain(h, tom);
    ht_has(t, "error 421: #down cannot be loaded now: try again later");
    free(t);
    ht_in(h, tom, T0 + 5002, "A4:/who");
    ht_in(h, tom, T0 + 5002, "A2:\r\n");
    t = ht_drain(h, tom);
    ht_has(t, "c0 (web), c3 (web), dee (web)"); /* who is in #lobby */
    free(t);
    /* Ready later: a join now is answered at once. */
    give(h, "#down", 1);
    assert_int_equal(gw_hub_store_ready(h, "#down", T0 + 9000), GW_OK);
    ht_send(h, c0, T0 + 9001, "{\"type\":\"join\",\"room\":\"#down\",\"last_id\":0,\"ref\":4}");
    a = ht_drain(h, c0);
    ht_has(a, "\"type\":\"joined\"");
    ht_has(a, "\"last_id\":1,");
    free(a);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hello_waits_for_the_room_and_is_answered_from_it),
        cmocka_unit_test(joins_get_the_history_after_their_last_id),
        cmocka_unit_test(past_the_wait_a_join_is_told_to_try_later),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
