/*
 * test_history.c - a room's ring of events read back after an id
 * (gw_history_read_after): where a gap begins, to the id, and the cut to a
 * number of bytes on its own (a browser that missed nothing the ring lost,
 * but more than one welcome holds). Also the ring's own bounds, by count
 * and by bytes, seen through what is read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_history.h"
#include "gw_limits.h"

/* Append n events of len bytes of JSON each; each one's bytes start with
 * its id in decimal and a space, the rest is padding. */
static void add_events(struct gw_history *hi, unsigned n, size_t len)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t id = gw_history_new_id(hi);
        struct gw_buf *b = gw_buf_new(0, len);
        assert_non_null(b);
        memset(gw_buf_bytes(b), 'x', len);
        char head[32];
        int hl = snprintf(head, sizeof head, "%llu ", (unsigned long long)id);
        assert_true(hl > 0 && (size_t)hl <= len);
        memcpy(gw_buf_bytes(b), head, (size_t)hl);
        gw_history_add(hi, id, b);
        gw_buf_unref(b);
    }
}

/* The id an event's JSON starts with. */
static uint64_t id_of(struct gw_buf *b)
{
    return strtoull((const char *)gw_buf_bytes(b), NULL, 10);
}

/* What a read after last_id hands out: checks the gap flag, the first and
 * last ids and how many (first 0: none). */
static void expect_read(const struct gw_history *hi, uint64_t last_id, size_t max_bytes,
                        int gap, uint64_t first, uint64_t last, size_t count)
{
    struct gw_history_cursor c;
    int got_gap = gw_history_read_after(hi, last_id, max_bytes, &c);
    uint64_t got_first = 0, got_last = 0, prev = 0;
    size_t n = 0;
    struct gw_buf *b;
    while ((b = gw_history_next(&c)) != NULL) {
        uint64_t id = id_of(b);
        if (n == 0)
            got_first = id;
        else
            assert_int_equal(id, prev + 1); /* in order, none skipped */
        prev = got_last = id;
        n++;
    }
    if (got_gap != gap)
        fail_msg("after %llu: gap %d, want %d", (unsigned long long)last_id, got_gap, gap);
    assert_int_equal(got_first, first);
    assert_int_equal(got_last, last);
    assert_int_equal(n, count);
}

/* The ring full by count: ids 1..10 dropped, 11..2010 kept. A browser that
 * saw 10 (one before the oldest kept) misses nothing; one that saw 9 missed
 * id 10, which is gone: a gap. */
static void test_gap_begins_two_before_the_oldest_kept(void **state)
{
    (void)state;
    struct gw_history hi;
    gw_history_init(&hi, 0);
    add_events(&hi, GW_HISTORY_MAX_EVENTS + 10, 16);
    const uint64_t oldest = 11, latest = GW_HISTORY_MAX_EVENTS + 10;
    expect_read(&hi, oldest - 1, SIZE_MAX, 0, oldest, latest, GW_HISTORY_MAX_EVENTS);
    expect_read(&hi, oldest - 2, SIZE_MAX, 1, oldest, latest, GW_HISTORY_MAX_EVENTS);
    expect_read(&hi, 1, SIZE_MAX, 1, oldest, latest, GW_HISTORY_MAX_EVENTS);
    expect_read(&hi, oldest, SIZE_MAX, 0, oldest + 1, latest, GW_HISTORY_MAX_EVENTS - 1);
    expect_read(&hi, latest - 1, SIZE_MAX, 0, latest, latest, 1);
    expect_read(&hi, latest, SIZE_MAX, 0, 0, 0, 0);
    /* An id never given: a gap, and the latest few. */
    expect_read(&hi, latest + 1, SIZE_MAX, 1, latest - GW_WELCOME_RECENT + 1, latest,
                GW_WELCOME_RECENT);
    gw_history_free(&hi);
}

/* The same boundary when the ring dropped its oldest for its bound in
 * bytes, far under its bound in count: 1 MiB holds 16 events of 64 KiB, so
 * of 20 the ring keeps 5..20. */
static void test_gap_after_the_ring_trimmed_by_bytes(void **state)
{
    (void)state;
    struct gw_history hi;
    const size_t len = GW_HISTORY_MAX_BYTES / 16;
    gw_history_init(&hi, 0);
    add_events(&hi, 20, len);
    assert_int_equal(gw_history_bytes(&hi), GW_HISTORY_MAX_BYTES);
    expect_read(&hi, 4, SIZE_MAX, 0, 5, 20, 16);
    expect_read(&hi, 3, SIZE_MAX, 1, 5, 20, 16);
    gw_history_free(&hi);
}

/* Nothing lost from the ring, but more after last_id than a welcome holds
 * (GW_WELCOME_HISTORY_MAX_BYTES, each event counted with a separator): the
 * oldest are left out and that is a gap too. Events of 1023 bytes count
 * 1 KiB each: 256 of them fit exactly. */
static void test_the_cut_to_a_welcome_bytes_is_a_gap_on_its_own(void **state)
{
    (void)state;
    struct gw_history hi;
    const size_t max = GW_WELCOME_HISTORY_MAX_BYTES;
    const unsigned fit = (unsigned)(max / 1024);
    gw_history_init(&hi, 0);
    add_events(&hi, fit + 44, 1023); /* ids 1..300, all kept */
    const uint64_t latest = fit + 44;
    /* Exactly what fits: all of it, no gap. */
    expect_read(&hi, latest - fit, max, 0, latest - fit + 1, latest, fit);
    /* One more than fits: the oldest of them left out, a gap. */
    expect_read(&hi, latest - fit - 1, max, 1, latest - fit + 1, latest, fit);
    /* From the very start of the ring: still only the newest that fit. */
    expect_read(&hi, 1, max, 1, latest - fit + 1, latest, fit);
    /* One byte short of the exact fit: one event fewer. */
    expect_read(&hi, latest - fit, max - 1, 1, latest - fit + 2, latest, fit - 1);
    gw_history_free(&hi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_begins_two_before_the_oldest_kept),
        cmocka_unit_test(test_gap_after_the_ring_trimmed_by_bytes),
        cmocka_unit_test(test_the_cut_to_a_welcome_bytes_is_a_gap_on_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
