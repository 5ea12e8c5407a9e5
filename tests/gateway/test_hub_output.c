/*
 * test_hub_output.c - the bound on output held for every participant
 * together (gw_hub_config.output_max_bytes, --max-output-mb): what is
 * counted (each queue's bytes, a shared buffer once per holder, and the
 * writes a transport still holds), the bound's edge (held == bound is
 * fine, one byte more is not), and who is closed past it (the largest
 * holders first, each told why; nobody else).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_limits.h"
#include "hubtest.h"

#define HELLO(n) "{\"type\":\"hello\",\"nick\":\"" n "\"}"

static void say(struct gw_hub *h, uint64_t pid, const char *text)
{
    char msg[256];
    snprintf(msg, sizeof msg, "{\"type\":\"say\",\"text\":\"%s\"}", text);
    assert_int_equal(gw_hub_web_input(h, pid, T0, msg, strlen(msg)), GW_OK);
}

/* Three browsers, each drained: nothing held. */
static void three(struct gw_hub *h, uint64_t *a, uint64_t *b, uint64_t *c)
{
    *a = ht_web(h, T0, HELLO("a"));
    *b = ht_web(h, T0, HELLO("b"));
    *c = ht_web(h, T0, HELLO("c"));
    free(ht_drain(h, *a));
    free(ht_drain(h, *b));
    free(ht_drain(h, *c));
    assert_int_equal(gw_hub_output_bytes(h), 0);
}

/* One message to three browsers is one buffer, counted three times; what a
 * transport still holds counts until it has written it. */
static void counted_per_holder(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){0});
    uint64_t a, b, c;
    three(h, &a, &b, &c);
    say(h, a, "hello there");
    size_t one = gw_hub_queued_bytes(h, b);
    assert_true(one > 0);
    assert_int_equal(gw_hub_queued_bytes(h, a), one);
    assert_int_equal(gw_hub_queued_bytes(h, c), one);
    assert_int_equal(gw_hub_output_bytes(h), 3 * one);
    free(ht_drain(h, b));
    assert_int_equal(gw_hub_output_bytes(h), 2 * one);
    assert_int_equal(gw_hub_in_flight(h, b, 1000), GW_OK);
    assert_int_equal(gw_hub_output_bytes(h), 2 * one + 1000);
    assert_int_equal(gw_hub_in_flight(h, b, 0), GW_OK);
    assert_int_equal(gw_hub_in_flight(h, 999999, 0), GW_ENOENT);
    /* A participant that goes takes its share with it. */
    assert_int_equal(gw_hub_in_flight(h, c, 500), GW_OK);
    assert_int_equal(gw_hub_disconnect(h, c, T0, GW_LEAVE_CLOSED), GW_OK);
    /* Its leave went to a and b. */
    size_t leave = gw_hub_queued_bytes(h, b);
    assert_int_equal(gw_hub_output_bytes(h), one + 2 * leave);
    free(ht_drain(h, a));
    free(ht_drain(h, b));
    assert_int_equal(gw_hub_output_bytes(h), 0);
    gw_hub_free(h);
}

/* Held == bound is within it; one byte more closes the holder. */
static void edge_of_the_bound(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.output_max_bytes = 10000});
    uint64_t a, b, c;
    three(h, &a, &b, &c);
    assert_int_equal(gw_hub_in_flight(h, a, 6000), GW_OK);
    assert_int_equal(gw_hub_in_flight(h, b, 4000), GW_OK);
    assert_int_equal(gw_hub_output_bytes(h), 10000);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 0);
    assert_int_equal(gw_hub_closing(h, b, NULL, NULL), 0);
    assert_int_equal(gw_hub_in_flight(h, c, 1), GW_OK);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 1);
    assert_int_equal(gw_hub_closing(h, b, NULL, NULL), 0);
    assert_int_equal(gw_hub_closing(h, c, NULL, NULL), 0);
    assert_int_equal(gw_hub_output_bytes(h), 4001);
    /* What a held goes with it, counted apart until it is gone. */
    assert_int_equal(gw_hub_output_closing_bytes(h), 6000);
    assert_int_equal(gw_hub_disconnect(h, a, T0, GW_LEAVE_BEHIND), GW_OK);
    assert_int_equal(gw_hub_output_closing_bytes(h), 0);
    assert_int_equal(gw_hub_metrics(h)->output_closed[GW_VIA_WEB], 1);
    gw_hub_free(h);
}

/* Past the bound the largest holder goes first, then the next, only until
 * the rest fits; each browser closed 4421 with the reason. */
static void largest_first(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.output_max_bytes = 64 * 1024});
    uint64_t a, b, c;
    three(h, &a, &b, &c);
    uint64_t d = ht_web(h, T0, HELLO("d"));
    free(ht_drain(h, d));
    free(ht_drain(h, a));
    free(ht_drain(h, b));
    free(ht_drain(h, c));
    assert_int_equal(gw_hub_in_flight(h, c, 10 * 1024), GW_OK);
    assert_int_equal(gw_hub_in_flight(h, a, 30 * 1024), GW_OK);
    assert_int_equal(gw_hub_in_flight(h, b, 20 * 1024), GW_OK);
    assert_int_equal(gw_hub_output_bytes(h), 60 * 1024);
    /* d's 40 KiB: 100 KiB held. a (30) is not enough to leave, d (40)
     * is: d alone is closed. */
    assert_int_equal(gw_hub_in_flight(h, d, 40 * 1024), GW_OK);
    int code;
    const char *why;
    assert_int_equal(gw_hub_closing(h, d, &code, &why), 1);
    assert_int_equal(code, GW_CLOSE_BEHIND);
    assert_string_equal(why, "gateway output over its bound (64 KiB): this connection held the "
                             "most (40 KiB)");
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 0);
    assert_int_equal(gw_hub_closing(h, b, NULL, NULL), 0);
    assert_int_equal(gw_hub_closing(h, c, NULL, NULL), 0);
    assert_int_equal(gw_hub_output_bytes(h), 60 * 1024);
    /* b grows to 50: 90 KiB; b (50) goes, then 40 held: a and c stay. */
    assert_int_equal(gw_hub_in_flight(h, b, 50 * 1024), GW_OK);
    assert_int_equal(gw_hub_closing(h, b, NULL, NULL), 1);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 0);
    assert_int_equal(gw_hub_closing(h, c, NULL, NULL), 0);
    assert_int_equal(gw_hub_metrics(h)->output_closed[GW_VIA_WEB], 2);
    gw_hub_free(h);
}

/* A fan-out past the bound: the browsers that hold most (they never
 * read) are closed and what they held is let go; the one that reads is
 * not, and gets every message. */
static void fan_out_closes_the_holders(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.output_max_bytes = 4096});
    uint64_t a, b, c;
    three(h, &a, &b, &c);
    /* a and b never read; c reads after every message. */
    char text[200];
    memset(text, 'x', 150);
    text[150] = '\0';
    int got = 0;
    for (int i = 0; i < 40; i++) {
        say(h, c, text);
        char *out = ht_drain(h, c);
        for (char *s = out; (s = strstr(s, "\"type\":\"message\"")); s++)
            got++;
        free(out);
        assert_true(gw_hub_output_bytes(h) <= 4096);
    }
    assert_int_equal(got, 40);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 1);
    assert_int_equal(gw_hub_closing(h, b, NULL, NULL), 1);
    assert_int_equal(gw_hub_closing(h, c, NULL, NULL), 0);
    assert_int_equal(gw_hub_queued_bytes(h, a), 0);
    gw_hub_free(h);
}

/* A TCP peer closed for the bound reads why, last, and is closed 1013. */
static void tcp_peer_told(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.output_max_bytes = 8192});
    uint64_t t = ht_tcp(h, T0);
    uint64_t w = ht_web(h, T0, HELLO("w"));
    free(ht_drain(h, t));
    free(ht_drain(h, w));
    assert_int_equal(gw_hub_in_flight(h, w, 100), GW_OK);
    assert_int_equal(gw_hub_in_flight(h, t, 9000), GW_OK);
    int code;
    const char *why;
    assert_int_equal(gw_hub_closing(h, t, &code, &why), 1);
    assert_int_equal(code, GW_CLOSE_TRY_LATER);
    assert_int_equal(gw_hub_closing(h, w, NULL, NULL), 0);
    ht_expect(h, t,
              "A100:* error 421: gateway output over its bound (8 KiB): this connection held the "
              "most (8 KiB); closing\r\n|");
    assert_int_equal(gw_hub_metrics(h)->output_closed[GW_VIA_TCP], 1);
    gw_hub_free(h);
}

/* A batch of many items is one write: at most GW_BATCH_MAX_BYTES, the
 * array's brackets included (a single item may be larger, and is written
 * in pieces). */
static void batches_fit_one_write(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){0});
    uint64_t a, b, c;
    three(h, &a, &b, &c);
    char text[200];
    /* Every length of text from 1 to 189 bytes: some batch of each ends
     * within a few bytes of the bound. */
    for (size_t n = 1; n < 190; n++) {
        memset(text, 'y', n);
        text[n] = '\0';
        for (int i = 0; i < 300; i++)
            say(h, a, text);
        struct gw_buf *out;
        int writes = 0;
        while (gw_hub_take(h, b, &out) == 1) {
            assert_true(out->len <= GW_BATCH_MAX_BYTES);
            assert_true(out->len <= GW_WRITE_MAX_BYTES);
            writes++;
            gw_buf_unref(out);
        }
        assert_true(writes > 1);
        free(ht_drain(h, a));
        free(ht_drain(h, c));
    }
    gw_hub_free(h);
}

/* No bound (0): nobody is closed however much is held. */
static void no_bound(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){0});
    uint64_t a, b, c;
    three(h, &a, &b, &c);
    assert_int_equal(gw_hub_in_flight(h, a, (size_t)1 << 40), GW_OK);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 0);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counted_per_holder),
        cmocka_unit_test(edge_of_the_bound),
        cmocka_unit_test(largest_first),
        cmocka_unit_test(fan_out_closes_the_holders),
        cmocka_unit_test(tcp_peer_told),
        cmocka_unit_test(batches_fit_one_write),
        cmocka_unit_test(no_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
