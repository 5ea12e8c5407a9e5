/*
 * test_hub_store.c - the hub with a store whose appends complete later
 * (gw_store.h): nobody, not even the sender, gets an event before the store
 * reports it kept; a lost message gets its sender 451; a room's recent
 * events and last id come from the store when it opens; history and search
 * requests go to the store's reads or, without a store, to the room's ring.
 *
 * The store here is a small engine of the test's own: it keeps the
 * appends in arrays and completes them when the test says, the way a
 * store that commits once per turn of the event loop does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hubtest.h"

#define MAXEV 64

struct held {
    int mode;                   /* GW_STORE_PENDING, GW_STORE_DONE, or a failure to return */
    char key[MAXEV][40];
    uint64_t id[MAXEV];
    char line[MAXEV][256];
    char text[MAXEV][64];
    int has_text[MAXEV];
    size_t n;
    /* load */
    const char *load_key;       /* the room whose events load gives */
    uint64_t load_last;
    /* reads */
    struct gw_store_read rd[8];
    char rd_key[8][40];
    size_t nrd;
    int read_rc;
};

static int held_append(void *ctx, const char *key, const char *name,
                       const struct gw_store_event *ev)
{
    struct held *s = ctx;
    (void)name;
    if (s->mode < 0)
        return s->mode;
    assert_true(s->n < MAXEV);
    snprintf(s->key[s->n], sizeof s->key[0], "%s", key);
    s->id[s->n] = ev->id;
    snprintf(s->line[s->n], sizeof s->line[0], "%.*s", (int)ev->line_len, ev->line);
    s->has_text[s->n] = ev->text != NULL;
    if (ev->text)
        snprintf(s->text[s->n], sizeof s->text[0], "%.*s", (int)ev->text_len, ev->text);
    s->n++;
    return s->mode;
}

static int held_read(void *ctx, const struct gw_store_read *rd)
{
    struct held *s = ctx;
    if (s->read_rc < 0)
        return s->read_rc;
    assert_true(s->nrd < 8);
    s->rd[s->nrd] = *rd;
    snprintf(s->rd_key[s->nrd], sizeof s->rd_key[0], "%s", rd->room_key);
    s->nrd++;
    return GW_STORE_PENDING;
}

static int held_load(void *ctx, const char *key, size_t max_events, size_t max_bytes,
                     uint64_t *last_id, void (*each)(void *, const struct gw_store_event *),
                     void *arg)
{
    struct held *s = ctx;
    (void)max_events;
    (void)max_bytes;
    if (!s->load_key || strcmp(key, s->load_key) != 0)
        return 0;
    static const char *json[] = {
        "{\"type\":\"message\",\"id\":41,\"nick\":\"old\",\"text\":\"before the restart\"}",
        "{\"type\":\"message\",\"id\":42,\"nick\":\"old\",\"text\":\"last words\"}",
    };
    static const char *line[] = {"old: before the restart\r\n", "old: last words\r\n"};
    for (int i = 0; i < 2; i++) {
        struct gw_store_event ev = {
            .id = 41 + (uint64_t)i, .json = json[i], .json_len = strlen(json[i]),
            .line = line[i], .line_len = strlen(line[i]),
        };
        each(arg, &ev);
    }
    *last_id = s->load_last;
    return 0;
}

static struct gw_store held_store(struct held *s)
{
    struct gw_store st = {
        .ctx = s, .kind = "held", .append = held_append, .read = held_read, .load = held_load,
    };
    return st;
}

static const char *hello_v1 = "{\"type\":\"hello\",\"nick\":\"alice\"}";

/* A hub on store st with alice (a browser) and bob (TCP), their
 * welcomes and join lines drained after the store keeps the joins. */
static struct gw_hub *two(const struct gw_store *st, struct held *s, uint64_t *alice,
                          uint64_t *bob)
{
    struct gw_hub_config cfg = {.store = st};
    struct gw_hub *h = ht_hub(cfg);
    *alice = ht_web(h, T0, hello_v1);
    *bob = ht_tcp(h, T0);
    for (size_t i = 0; i < s->n; i++)
        gw_hub_store_done(h, s->key[i], s->id[i], GW_STORE_DONE);
    s->n = 0;
    free(ht_drain(h, *alice));
    free(ht_drain(h, *bob));
    return h;
}

static void nothing_before_the_store_keeps_it(void **state)
{
    (void)state;
    struct held s = {.mode = GW_STORE_PENDING};
    struct gw_store st = held_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);

    const char *say = "{\"type\":\"say\",\"text\":\"hello there\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    ht_in(h, bob, T0 + 2, "A4:hi!\n");
    /* Both handed to the store, in order, with their lines and words. */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.key[0], "#lobby");
    assert_int_equal(s.id[1], s.id[0] + 1);
    assert_string_equal(s.line[0], "alice: hello there\r\n");
    assert_true(s.has_text[0]);
    assert_string_equal(s.text[1], "hi!");
    assert_int_equal(gw_hub_store_pending(h), 2);
    /* Nobody has them yet, not even the senders. */
    ht_expect(h, alice, "");
    ht_expect(h, bob, "");

    /* The first is kept: it alone goes out. */
    assert_int_equal(gw_hub_store_done(h, "#lobby", s.id[0], GW_STORE_DONE), GW_OK);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "hello there"));
    assert_null(strstr(a, "hi!"));
    free(a);
    ht_expect(h, bob, "A20:alice: hello there\r\n|");
    /* The second is kept. */
    assert_int_equal(gw_hub_store_done(h, "#lobby", s.id[1], GW_STORE_DONE), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"text\":\"hi!\""));
    free(a);
    ht_expect(h, bob, "A14:guest-1: hi!\r\n|");
    assert_int_equal(gw_hub_store_pending(h), 0);
    assert_int_equal(gw_hub_store_done(h, "#nowhere", 1, GW_STORE_DONE), GW_ENOENT);
    gw_hub_free(h);
}

static void typing_keeps_its_place_behind_waiting_events(void **state)
{
    (void)state;
    struct held s = {.mode = GW_STORE_PENDING};
    struct gw_store st = held_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);

    /* bob types, ends the line (a message waits for the store), and his
     * typing stops: alice gets the message first, then the stop. */
    ht_in(h, bob, T0 + 1, "A3:hey");
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"type\":\"typing\""));
    free(a);
    ht_in(h, bob, T0 + 2, "A2:\r\n");
    ht_expect(h, alice, "");
    assert_int_equal(gw_hub_store_done(h, "#lobby", s.id[0], GW_STORE_DONE), GW_OK);
    a = ht_drain(h, alice);
    char *msg = strstr(a, "\"type\":\"message\""), *stop = strstr(a, "\"text\":\"\"");
    if (!msg || !stop || stop < msg)
        fail_msg("want the message, then typing \"\": %s", a);
    free(a);
    /* With nothing waiting, typing goes at once. */
    ht_in(h, bob, T0 + 10000, "A1:x"); /* past the typing throttle */
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"text\":\"x\""));
    free(a);
    gw_hub_free(h);
}

static void a_lost_message_is_sent_to_nobody_and_its_sender_told(void **state)
{
    (void)state;
    struct held s = {.mode = GW_STORE_PENDING};
    struct gw_store st = held_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);

    const char *say = "{\"type\":\"say\",\"text\":\"lost one\",\"ref\":17}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    assert_int_equal(gw_hub_store_done(h, "#lobby", s.id[0], GW_STORE_EIO), GW_OK);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":451"));
    assert_non_null(strstr(a, "\"ref\":17"));
    assert_null(strstr(a, "lost one\""));
    free(a);
    ht_expect(h, bob, "");
    assert_int_equal(gw_hub_metrics(h)->events_lost, 1);

    /* A TCP sender reads it in its pane. */
    ht_in(h, bob, T0 + 2, "A5:gone\n");
    assert_int_equal(gw_hub_store_done(h, "#lobby", s.id[1], GW_STORE_EIO), GW_OK);
    char *b = ht_drain(h, bob);
    assert_non_null(strstr(b, "* error 451: message not kept"));
    free(b);

    /* A store that refuses at once: the same, at once. */
    s.mode = GW_STORE_EIO;
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 3, say, strlen(say)), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":451"));
    free(a);
    ht_expect(h, bob, "");
    gw_hub_free(h);
}

static void a_stalled_store_bounds_what_waits(void **state)
{
    (void)state;
    struct held s = {.mode = GW_STORE_PENDING};
    struct gw_store st = held_store(&s);
    struct gw_hub_config cfg = {.store = &st};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t alice = ht_web(h, T0, hello_v1);
    /* Fill the room's FIFO past its bound without the test store's
     * arrays: a store that takes everything and never reports. */
    assert_int_equal(gw_hub_store_pending(h), 1); /* alice's join */
    for (unsigned i = 1; i < GW_ROOM_PENDING_MAX; i++) {
        s.n = 0;
        const char *say = "{\"type\":\"say\",\"text\":\"x\"}";
        assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    }
    free(ht_drain(h, alice));
    assert_int_equal(gw_hub_store_pending(h), GW_ROOM_PENDING_MAX);
    s.n = 0;
    const char *say = "{\"type\":\"say\",\"text\":\"one too many\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    assert_int_equal(s.n, 0);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":451"));
    free(a);
    gw_hub_free(h);
}

static void a_room_opens_with_what_the_store_kept(void **state)
{
    (void)state;
    struct held s = {.mode = GW_STORE_PENDING, .load_key = "#lobby", .load_last = 42};
    struct gw_store st = held_store(&s);
    struct gw_hub_config cfg = {.store = &st};
    struct gw_hub *h = ht_hub(cfg);
    assert_int_equal(gw_hub_last_id(h), 42);
    /* A browser's welcome has the loaded events; a TCP peer's pane the
     * loaded lines. */
    uint64_t alice = ht_web(h, T0, hello_v1);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "before the restart"));
    assert_non_null(strstr(a, "\"last_id\":42"));
    free(a);
    uint64_t bob = ht_tcp(h, T0);
    char *b = ht_drain(h, bob);
    assert_non_null(strstr(b, "old: before the restart\r\nold: last words\r\n"));
    free(b);
    /* Ids go on after the stored ones. */
    assert_true(s.n >= 1);
    assert_int_equal(s.id[0], 43);
    gw_hub_free(h);
}

static void history_without_a_store_reads_the_ring(void **state)
{
    (void)state;
    struct gw_hub_config cfg = {0};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t alice = ht_web(h, T0, hello_v1);
    for (int i = 0; i < 10; i++) {
        char say[64];
        snprintf(say, sizeof say, "{\"type\":\"say\",\"text\":\"m%d\"}", i);
        assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    }
    free(ht_drain(h, alice));
    uint64_t last = gw_hub_last_id(h); /* m9 */
    char req[128];
    snprintf(req, sizeof req, "{\"type\":\"history\",\"before\":%llu,\"limit\":3,\"ref\":5}",
             (unsigned long long)last);
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 2, req, strlen(req)), GW_OK);
    char *a = ht_drain(h, alice);
    /* m6, m7, m8, oldest first, more before them. */
    char *m6 = strstr(a, "\"m6\""), *m7 = strstr(a, "\"m7\""), *m8 = strstr(a, "\"m8\"");
    assert_true(m6 && m7 && m8 && m6 < m7 && m7 < m8);
    assert_null(strstr(a, "\"m9\""));
    assert_null(strstr(a, "\"m5\""));
    assert_non_null(strstr(a, "\"type\":\"history\",\"room\":\"#lobby\",\"before\":"));
    assert_non_null(strstr(a, "\"more\":true,\"ref\":5}"));
    free(a);
    snprintf(req, sizeof req, "{\"type\":\"history\",\"after\":%llu}",
             (unsigned long long)(last - 1));
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 2, req, strlen(req)), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"m9\""));
    assert_null(strstr(a, "\"m8\""));
    assert_non_null(strstr(a, "\"more\":false"));
    free(a);
    /* Search is not offered without a store. */
    const char *search = "{\"type\":\"search\",\"q\":\"m1\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 2, search, strlen(search)), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":504"));
    free(a);
    /* Bad requests. */
    const char *bad[] = {
        "{\"type\":\"history\",\"before\":3,\"after\":1}",
        "{\"type\":\"history\",\"limit\":501}",
        "{\"type\":\"history\",\"limit\":0}",
        "{\"type\":\"history\",\"before\":-1}",
        "{\"type\":\"search\",\"q\":\"  ** \"}",
        "{\"type\":\"search\"}",
        "{\"type\":\"search\",\"q\":\"x\",\"limit\":101}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gw_hub_web_input(h, alice, T0 + 3, bad[i], strlen(bad[i])), GW_OK);
        a = ht_drain(h, alice);
        if (!strstr(a, "\"code\":501"))
            fail_msg("%s got %s", bad[i], a);
        free(a);
    }
    gw_hub_free(h);
}

static void reads_go_to_the_store_and_come_back(void **state)
{
    (void)state;
    struct held s = {.mode = GW_STORE_DONE};
    struct gw_store st = held_store(&s);
    struct gw_hub_config cfg = {.store = &st};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t alice = ht_web(h, T0, hello_v1);
    free(ht_drain(h, alice));

    const char *req = "{\"type\":\"history\",\"before\":500,\"limit\":2,\"ref\":\"up\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, req, strlen(req)), GW_OK);
    assert_int_equal(s.nrd, 1);
    assert_int_equal(s.rd[0].kind, GW_STORE_BEFORE);
    assert_int_equal(s.rd[0].id, 500);
    assert_int_equal(s.rd[0].limit, 2);
    assert_string_equal(s.rd_key[0], "#lobby");
    ht_expect(h, alice, "");
    /* The store answers newest first; the browser gets oldest first. */
    struct gw_store_event ev[2] = {
        {.id = 499, .json = "{\"id\":499}", .json_len = 10},
        {.id = 498, .json = "{\"id\":498}", .json_len = 10},
    };
    assert_int_equal(gw_hub_store_rows(h, s.rd[0].tag, 0, ev, 2, 1), GW_OK);
    ht_expect(h, alice, "{\"type\":\"history\",\"room\":\"#lobby\",\"before\":500,\"events\":"
                        "[{\"id\":498},{\"id\":499}],\"more\":true,\"ref\":\"up\"}|");
    /* An answer nobody waits for any more. */
    assert_int_equal(gw_hub_store_rows(h, s.rd[0].tag, 0, ev, 2, 1), GW_ENOENT);

    /* Search: newest first as the store gives it, with the words. */
    const char *search = "{\"type\":\"search\",\"q\":\"green \\\"build ok\\\"\",\"limit\":5}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, search, strlen(search)), GW_OK);
    assert_int_equal(s.rd[1].kind, GW_STORE_SEARCH);
    assert_int_equal(s.rd[1].q_len, strlen("green \"build ok\""));
    assert_int_equal(gw_hub_store_rows(h, s.rd[1].tag, 0, ev, 2, 0), GW_OK);
    ht_expect(h, alice, "{\"type\":\"search\",\"room\":\"#lobby\",\"q\":\"green \\\"build ok\\\"\","
                        "\"events\":[{\"id\":499},{\"id\":498}],\"more\":false}|");
    /* A search over its time. */
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, search, strlen(search)), GW_OK);
    assert_int_equal(gw_hub_store_rows(h, s.rd[2].tag, GW_STORE_EBUSY, NULL, 0, 0), GW_OK);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":451"));
    free(a);

    /* At most GW_READS_PER_PART_MAX wait at once. */
    s.nrd = 0;
    for (unsigned i = 0; i < GW_READS_PER_PART_MAX; i++)
        assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, req, strlen(req)), GW_OK);
    ht_expect(h, alice, "");
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, req, strlen(req)), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":429"));
    free(a);
    assert_int_equal(s.nrd, GW_READS_PER_PART_MAX);
    /* A participant gone before its answer: nothing to send. */
    assert_int_equal(gw_hub_disconnect(h, alice, T0 + 2, GW_LEAVE_CLOSED), GW_OK);
    assert_int_equal(gw_hub_store_rows(h, s.rd[0].tag, 0, ev, 2, 0), GW_ENOENT);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_before_the_store_keeps_it),
        cmocka_unit_test(typing_keeps_its_place_behind_waiting_events),
        cmocka_unit_test(a_lost_message_is_sent_to_nobody_and_its_sender_told),
        cmocka_unit_test(a_stalled_store_bounds_what_waits),
        cmocka_unit_test(a_room_opens_with_what_the_store_kept),
        cmocka_unit_test(history_without_a_store_reads_the_ring),
        cmocka_unit_test(reads_go_to_the_store_and_come_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
