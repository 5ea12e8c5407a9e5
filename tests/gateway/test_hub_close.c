/*
 * test_hub_close.c - the line that tells a TCP participant why it is closed
 * is always the last thing it gets, even when its queue is full (a peer
 * that stopped reading): queued output is dropped for it, never the line.
 * Exact sequences of what the participant is sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hubtest.h"

/* What guest-1 is sent for each "/q" it types: 49 bytes. */
#define Q_REPLY "A45:* error 502: unknown command /q (try /help)\r\n"
#define Q_LINE "A3:/q\n"

/* A frame header of 20 characters: malformed. */
#define BAD_FRAME "A1234567890123456789:"
#define BAD_REPLY "A79:* error 500: malformed frame: frame header longer than 19 characters; closing\r\n"

static void typed(struct gw_hub *h, uint64_t pid, const char *s, int times)
{
    for (int i = 0; i < times; i++)
        ht_in(h, pid, T0, s);
}

/* A malformed frame from a peer whose queue is full: the reason is queued
 * all the same, last, and the oldest replies make room for it. */
static void malformed_with_full_queue(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.tcp_queue_max_bytes = 256});
    uint64_t a = ht_tcp(h, T0);
    free(ht_drain(h, a));
    typed(h, a, Q_LINE, 5); /* 5 * 49 = 245 of 256 bytes: full for the reason */
    assert_int_equal(gw_hub_queued_bytes(h, a), 245);
    ht_in(h, a, T0, BAD_FRAME);
    int code;
    const char *why;
    assert_int_equal(gw_hub_closing(h, a, &code, &why), 1);
    assert_int_equal(code, GW_CLOSE_POLICY);
    assert_string_equal(why, "malformed frame: frame header longer than 19 characters");
    ht_expect(h, a, Q_REPLY Q_REPLY Q_REPLY BAD_REPLY "|");
    gw_hub_free(h);
}

/* A flood that fills its own queue with 429s: the abuse cut-off says so,
 * last. */
static void abuse_with_full_queue(void **state)
{
    (void)state;
    /* Two lines pass (2 * 17 bytes), then four 429s (4 * 58): 266 of 300
     * bytes, and the 60-byte reason does not fit. */
    struct gw_hub *h = ht_hub((struct gw_hub_config){
        .rate = 1, .abuse_strikes = 3, .tcp_queue_max_bytes = 300});
    uint64_t a = ht_tcp(h, T0);
    free(ht_drain(h, a));
    typed(h, a, "A3:x\r\n", 6);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 1);
#define SLOW "A54:* error 429: too many messages: slow down (not sent)\r\n"
    ht_expect(h, a, SLOW SLOW SLOW SLOW "A56:* error 429: flooding far over the rate limit; closing\r\n|");
#undef SLOW
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_ABUSE], 1);
    /* Input after that is ignored, and nothing more is queued. */
    typed(h, a, "A3:x\r\n", 2);
    ht_expect(h, a, "");
    gw_hub_free(h);
}

/* Stopping the gateway: the last line reaches a participant whose queue is
 * full too. */
static void shutdown_with_full_queue(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.tcp_queue_max_bytes = 256});
    uint64_t a = ht_tcp(h, T0);
    free(ht_drain(h, a));
    typed(h, a, Q_LINE, 5);
    gw_hub_shutdown(h, T0);
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 1);
    ht_expect(h, a, Q_REPLY Q_REPLY Q_REPLY Q_REPLY "A25:* gateway shutting down\r\n|");
    gw_hub_free(h);
}

/* A peer that has not read even its handshake: the handshake stays first
 * (alone, as always), then what fits, then the reason; no transcript R
 * for a participant that is closing. */
static void handshake_kept(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.tcp_queue_max_bytes = 256});
    uint64_t a = ht_tcp(h, T0);
    typed(h, a, Q_LINE, 4); /* 24 + 4 * 49 = 220 */
    ht_in(h, a, T0, BAD_FRAME);
    ht_expect(h, a, "WINTALK .NETR0:R0:R0:R0:|" Q_REPLY Q_REPLY Q_REPLY BAD_REPLY "|");
    gw_hub_free(h);
}

/* A queue with room: nothing is dropped for the reason. */
static void room_to_spare(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){0});
    uint64_t a = ht_tcp(h, T0);
    free(ht_drain(h, a));
    typed(h, a, Q_LINE, 2);
    ht_in(h, a, T0, BAD_FRAME);
    ht_expect(h, a, Q_REPLY Q_REPLY BAD_REPLY "|");
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_with_full_queue),
        cmocka_unit_test(abuse_with_full_queue),
        cmocka_unit_test(shutdown_with_full_queue),
        cmocka_unit_test(handshake_kept),
        cmocka_unit_test(room_to_spare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
