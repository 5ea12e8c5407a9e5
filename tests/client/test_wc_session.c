/*
 * test_wc_session.c - unit tests of the client's pure protocol state.
 *
 * No terminal, no sockets: bytes in, pane text and frames out. The frames
 * the box sends are checked against what the original program sends for
 * the same keystrokes (the facts table in the project brief).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_session.h"

#define HS_PRIMED WT_HANDSHAKE WT_PRIMING

/* Feed everything, frame by frame as the program does; ORs the events and
 * returns the first error. */
static int feed(struct wc_session *s, const void *data, size_t len, unsigned *events)
{
    const char *p = data;
    unsigned all = 0;
    int rc;

    for (;;) {
        size_t used = 0;
        unsigned ev = 0;
        rc = wc_session_feed(s, p, len, &used, &ev);
        all |= ev;
        assert_true(used <= len);
        p += used;
        len -= used;
        if (rc != WC_OK || len == 0 || used == 0)
            break;
    }
    *events = all;
    return rc;
}

static void talking_caller(struct wc_session *s)
{
    unsigned ev = 0;

    assert_int_equal(wc_session_init(s, WC_ROLE_CALLER), WC_OK);
    assert_int_equal(wc_session_start(s), WC_OK);
    assert_int_equal(feed(s, WT_HANDSHAKE, WT_HANDSHAKE_LEN, &ev), WC_OK);
    assert_true(ev & WC_EV_TALKING);
}

/* Take the queued output as a string and empty the queue. */
static char *take_out(struct wc_session *s)
{
    size_t len;
    const char *o = wc_session_output(s, &len);
    char *copy = malloc(len + 1);

    assert_non_null(copy);
    memcpy(copy, o, len);
    copy[len] = '\0';
    wc_session_consume(s, len);
    return copy;
}

static void expect_out(struct wc_session *s, const char *want)
{
    char *got = take_out(s);

    assert_string_equal(got, want);
    free(got);
}

static void expect_pane(struct wc_session *s, const char *want)
{
    size_t len;
    const char *t = wc_pane_text(wc_session_pane(s), &len);

    assert_int_equal(len, strlen(want));
    assert_memory_equal(t, want, len);
}

static void test_caller_handshake_whole_and_bytewise(void **state)
{
    const char *in = HS_PRIMED "R5:hello";
    size_t n = strlen(in), i;
    unsigned ev;
    (void)state;

    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct wc_session s;
        unsigned all = 0;
        assert_int_equal(wc_session_init(&s, WC_ROLE_CALLER), WC_OK);
        assert_int_equal(wc_session_start(&s), WC_OK);
        assert_int_equal(wc_session_state(&s), WC_STATE_HANDSHAKE);
        if (bytewise) {
            for (i = 0; i < n; i++) {
                assert_int_equal(feed(&s, in + i, 1, &ev), WC_OK);
                if (i < WT_HANDSHAKE_LEN - 1)
                    assert_int_equal(wc_session_state(&s), WC_STATE_HANDSHAKE);
                all |= ev;
            }
        } else {
            assert_int_equal(feed(&s, in, n, &ev), WC_OK);
            all = ev;
        }
        assert_true(all & WC_EV_TALKING);
        assert_true(all & WC_EV_PANE);
        assert_int_equal(wc_session_state(&s), WC_STATE_TALKING);
        expect_pane(&s, "hello");
        wc_session_free(&s);
    }
}

static void test_caller_wrong_handshake(void **state)
{
    const char *bad[] = {"WINTALK .NEX", "HTTP/1.1 200 OK\r\n", "R0:", "winTALK .NET"};
    (void)state;

    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct wc_session s;
        unsigned ev;
        assert_int_equal(wc_session_init(&s, WC_ROLE_CALLER), WC_OK);
        assert_int_equal(wc_session_start(&s), WC_OK);
        assert_int_equal(feed(&s, bad[k], strlen(bad[k]), &ev), WC_EHANDSHAKE);
        assert_int_equal(wc_session_state(&s), WC_STATE_FAILED);
        assert_int_equal(feed(&s, "x", 1, &ev), WC_EFAILED);
        wc_session_free(&s);
    }
}

static void test_caller_sends_nothing_before_handshake(void **state)
{
    struct wc_session s;
    unsigned ev;
    (void)state;

    assert_int_equal(wc_session_init(&s, WC_ROLE_CALLER), WC_OK);
    assert_int_equal(wc_session_insert(&s, "hi", 2), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "");
    assert_int_equal(wc_session_start(&s), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "");
    assert_int_equal(feed(&s, WT_HANDSHAKE, WT_HANDSHAKE_LEN, &ev), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A2:hi");
    wc_session_free(&s);
}

static void test_listener_handshake_and_priming_in_one_piece(void **state)
{
    struct wc_session s;
    size_t len;
    const char *o;
    (void)state;

    assert_int_equal(wc_session_init(&s, WC_ROLE_LISTENER), WC_OK);
    assert_int_equal(wc_session_insert(&s, "x", 1), WC_OK);
    assert_int_equal(wc_session_start(&s), WC_OK);
    assert_int_equal(wc_session_state(&s), WC_STATE_TALKING);
    o = wc_session_output(&s, &len);
    assert_int_equal(len, 24);
    assert_memory_equal(o, "WINTALK .NETR0:R0:R0:R0:", 24);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "WINTALK .NETR0:R0:R0:R0:A1:x");
    /* The listener takes frames at once: no handshake comes from a caller. */
    unsigned ev;
    assert_int_equal(feed(&s, "A2:ok", 5, &ev), WC_OK);
    expect_pane(&s, "ok");
    wc_session_free(&s);
}

/* The original's frames for: paste "¿Qué tal? 😀", Enter, type "ab",
 * Backspace, clear the box. */
static void test_sender_rule_matches_original(void **state)
{
    struct wc_session s;
    const char *q = "\xc2\xbfQu\xc3\xa9 tal? \xf0\x9f\x98\x80";
    (void)state;

    talking_caller(&s);
    assert_int_equal(wc_session_insert(&s, q, strlen(q)), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A12:\xc2\xbfQu\xc3\xa9 tal? \xf0\x9f\x98\x80");
    assert_int_equal(wc_session_newline(&s), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A2:\r\n");
    assert_int_equal(wc_session_insert(&s, "a", 1), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A1:a");
    assert_int_equal(wc_session_insert(&s, "b", 1), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A1:b");
    assert_int_equal(wc_session_backspace(&s), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "R15:\xc2\xbfQu\xc3\xa9 tal? \xf0\x9f\x98\x80\r\na");
    assert_int_equal(wc_session_clear(&s), WC_OK);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "R0:");
    /* No change, no frame. */
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "");
    wc_session_free(&s);
}

static void test_backspace_characters_and_line_ends(void **state)
{
    struct wc_session s;
    size_t len;
    const char *b;
    (void)state;

    talking_caller(&s);
    assert_int_equal(wc_session_backspace(&s), WC_OK); /* empty: nothing */
    assert_int_equal(wc_session_insert(&s, "x\xf0\x9f\x98\x80", 5), WC_OK);
    assert_int_equal(wc_session_newline(&s), WC_OK);
    assert_true(wc_session_box_at_line_start(&s));
    assert_int_equal(wc_session_backspace(&s), WC_OK); /* "\r\n" as one */
    b = wc_session_box(&s, &len);
    assert_int_equal(len, 5);
    assert_false(wc_session_box_at_line_start(&s));
    assert_int_equal(wc_session_backspace(&s), WC_OK); /* the emoji, 4 bytes */
    b = wc_session_box(&s, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(b, "x", 1);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A1:x");
    wc_session_free(&s);
}

static void test_box_line_and_invalid_input(void **state)
{
    struct wc_session s;
    size_t len;
    const char *l;
    (void)state;

    talking_caller(&s);
    assert_int_equal(wc_session_insert(&s, "one\r\ntw\xff", 8), WC_OK);
    l = wc_session_box_line(&s, &len);
    assert_int_equal(len, 5); /* "tw" and U+FFFD */
    assert_memory_equal(l, "tw\xef\xbf\xbd", 5);
    assert_int_equal(wc_session_pump(&s), WC_OK);
    expect_out(&s, "A8:one\r\ntw\xef\xbf\xbd");
    wc_session_free(&s);
}

static void test_box_full(void **state)
{
    struct wc_session s;
    char *big = malloc(WC_BOX_UNITS_MAX);
    (void)state;

    assert_non_null(big);
    memset(big, 'a', WC_BOX_UNITS_MAX);
    talking_caller(&s);
    assert_int_equal(wc_session_insert(&s, big, WC_BOX_UNITS_MAX - 1), WC_OK);
    assert_int_equal(wc_session_insert(&s, "\xf0\x9f\x98\x80", 4), WC_EFULL);
    assert_int_equal(wc_session_insert(&s, "b", 1), WC_OK);
    assert_int_equal(wc_session_insert(&s, "c", 1), WC_EFULL);
    assert_int_equal(wc_session_newline(&s), WC_EFULL);
    assert_int_equal(wc_session_backspace(&s), WC_OK);
    assert_int_equal(wc_session_insert(&s, "\xc3\xb1", 2), WC_OK);
    wc_session_free(&s);
    free(big);
}

static void test_frames_in_split_at_every_index(void **state)
{
    const char *in = "A3:\xc3\xb1\xc3\xa1\xc3\xa9"
                     "A2:\xf0\x9f\x98\x80"
                     "A1:x"
                     "A0:"
                     "a2:ok"
                     "Q3:abc";
    size_t n = strlen(in);
    (void)state;

    for (size_t cut = 0; cut <= n; cut++) {
        struct wc_session s;
        unsigned ev;
        talking_caller(&s);
        assert_int_equal(feed(&s, in, cut, &ev), WC_OK);
        assert_int_equal(feed(&s, in + cut, n - cut, &ev), WC_OK);
        expect_pane(&s, "\xc3\xb1\xc3\xa1\xc3\xa9\xf0\x9f\x98\x80xokabc");
        wc_session_free(&s);
    }
}

static void test_replace_and_clear(void **state)
{
    struct wc_session s;
    unsigned ev;
    (void)state;

    talking_caller(&s);
    assert_int_equal(feed(&s, WT_PRIMING "A5:helloR3:abc", 26, &ev), WC_OK);
    expect_pane(&s, "abc");
    assert_int_equal(feed(&s, "R0:", 3, &ev), WC_OK);
    assert_true(ev & WC_EV_PANE);
    expect_pane(&s, "");
    assert_int_equal(feed(&s, "A0:", 3, &ev), WC_OK);
    assert_false(ev & WC_EV_PANE);
    wc_session_free(&s);
}

static void test_malformed_frames(void **state)
{
    struct {
        const char *in;
        int wt;
    } cases[] = {
        {"A:", WT_ELENGTH},  {"A12345678901234567890:", WT_EHEADER},
        {"Ax:", WT_ELENGTH}, {"A99999999999:", WT_ETOOBIG},
        {":", WT_ELETTER},
    };
    (void)state;

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct wc_session s;
        unsigned ev;
        talking_caller(&s);
        assert_int_equal(feed(&s, "A2:ok", 5, &ev), WC_OK);
        assert_int_equal(feed(&s, cases[k].in, strlen(cases[k].in), &ev), WC_EPROTO);
        assert_int_equal(wc_session_wt_error(&s), cases[k].wt);
        assert_int_equal(wc_session_state(&s), WC_STATE_FAILED);
        assert_int_equal(feed(&s, "A1:x", 4, &ev), WC_EFAILED);
        expect_pane(&s, "ok");
        wc_session_free(&s);
    }
}

/* A peer that does not read: the queue stays bounded, and once it drains
 * one frame brings the peer to the box as it is now. */
static void test_output_bounded_and_coalesced(void **state)
{
    struct wc_session s, peer;
    char chunk[1000];
    unsigned ev;
    size_t len, total = 0;
    (void)state;

    memset(chunk, 'z', sizeof(chunk));
    talking_caller(&s);
    assert_int_equal(wc_session_init(&peer, WC_ROLE_LISTENER), WC_OK);
    assert_int_equal(wc_session_start(&peer), WC_OK);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(wc_session_insert(&s, chunk, sizeof(chunk)), WC_OK);
        assert_int_equal(wc_session_pump(&s), WC_OK);
        assert_int_equal(wc_session_backspace(&s), WC_OK);
        assert_int_equal(wc_session_pump(&s), WC_OK);
        wc_session_output(&s, &len);
        assert_true(len <= WC_OUT_MAX);
    }
    assert_true(wc_session_box_dirty(&s));
    /* Deliver everything to a peer session, draining as a socket would. */
    for (int round = 0; round < 10; round++) {
        const char *o = wc_session_output(&s, &len);
        assert_int_equal(feed(&peer, o, len, &ev), WC_OK);
        total += len;
        wc_session_consume(&s, len);
        assert_int_equal(wc_session_pump(&s), WC_OK);
    }
    assert_false(wc_session_box_dirty(&s));
    {
        size_t bl, pl;
        const char *b = wc_session_box(&s, &bl);
        const char *p = wc_pane_text(wc_session_pane(&peer), &pl);
        assert_int_equal(bl, pl);
        assert_memory_equal(b, p, bl);
    }
    wc_session_free(&s);
    wc_session_free(&peer);
}

/* Deterministic pseudo-random frames, fed in pseudo-random pieces: the pane
 * always equals a simple model of A and R. */
static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 8) & 0xFFFFFFu;
}

static void test_random_frames_against_model(void **state)
{
    static const char *pieces[] = {"a",    "\xc3\xb1", "\xf0\x9f\x98\x80", "\r\n", "\x1b[2J",
                                   "\x07", " ",        "\xe2\x82\xac",     "\n",   "xyz"};
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    uint32_t seed = 5150;
    char *wire = malloc(1 << 20), *model = malloc(1 << 16);
    (void)state;

    assert_non_null(wire);
    assert_non_null(model);
    for (int round = 0; round < 50; round++) {
        struct wc_session s;
        size_t wlen = 0, mlen = 0, off = 0;
        unsigned ev;
        talking_caller(&s);
        for (int f = 0; f < 40; f++) {
            char text[512], hdr[WT_HEADER_BUF];
            size_t tlen = 0;
            int n = (int)(lcg(&seed) % 12), op = lcg(&seed) % 4 == 0 ? 'R' : 'A';
            for (int k = 0; k < n; k++) {
                const char *p = pieces[lcg(&seed) % npieces];
                memcpy(text + tlen, p, strlen(p));
                tlen += strlen(p);
            }
            int hl = wt_frame_header(hdr, op == 'R' ? WT_OP_REPLACE : WT_OP_APPEND,
                                     wt_utf16_units(text, tlen));
            memcpy(wire + wlen, hdr, (size_t)hl);
            memcpy(wire + wlen + hl, text, tlen);
            wlen += (size_t)hl + tlen;
            if (op == 'R')
                mlen = 0;
            memcpy(model + mlen, text, tlen);
            mlen += tlen;
        }
        while (off < wlen) {
            size_t piece = 1 + lcg(&seed) % 64;
            if (piece > wlen - off)
                piece = wlen - off;
            assert_int_equal(feed(&s, wire + off, piece, &ev), WC_OK);
            off += piece;
        }
        model[mlen] = '\0';
        expect_pane(&s, model);
        wc_session_free(&s);
    }
    free(wire);
    free(model);
}

static void test_feed_stops_after_each_pane_change(void **state)
{
    struct wc_session s;
    size_t used;
    unsigned ev;
    const char *in = "A0:A1:aR1:bA1:c";
    (void)state;

    talking_caller(&s);
    assert_int_equal(wc_session_feed(&s, in, strlen(in), &used, &ev), WC_OK);
    assert_int_equal(used, 7); /* "A0:" changes nothing; "A1:a" does */
    assert_true(ev & WC_EV_PANE);
    expect_pane(&s, "a");
    assert_int_equal(wc_session_feed(&s, in + 7, strlen(in) - 7, &used, &ev), WC_OK);
    assert_int_equal(used, 4);
    expect_pane(&s, "b");
    assert_int_equal(wc_session_feed(&s, in + 11, strlen(in) - 11, &used, &ev), WC_OK);
    assert_int_equal(used, 4);
    expect_pane(&s, "bc");
    wc_session_free(&s);
}

/* A hub's stream in one read: appended lines, and now and then an R of its
 * trimmed transcript. Taking lines after every step, as the program does,
 * gives each line exactly once. */
static void test_hub_stream_lines_once(void **state)
{
    char *wire = malloc(1 << 20), line[64], hdr[WT_HEADER_BUF];
    size_t wlen = 0, off = 0, tstart = 0, tlen = 0;
    char *transcript = malloc(1 << 16);
    int next = 0;
    struct wc_session s;
    (void)state;

    assert_non_null(wire);
    assert_non_null(transcript);
    for (int i = 0; i < 300; i++) {
        int n = snprintf(line, sizeof(line), "nick: line %03d\r\n", i);
        memcpy(transcript + tlen, line, (size_t)n);
        tlen += (size_t)n;
        if (i % 80 == 79) { /* trim to the last 40 lines and re-send */
            size_t keep = tlen, lines = 0;
            while (keep > tstart && lines <= 40)
                if (transcript[--keep] == '\n')
                    lines++;
            tstart = keep + 1;
            int hl = wt_frame_header(hdr, WT_OP_REPLACE, tlen - tstart);
            memcpy(wire + wlen, hdr, (size_t)hl);
            memcpy(wire + wlen + hl, transcript + tstart, tlen - tstart);
            wlen += (size_t)hl + tlen - tstart;
        } else {
            int hl = wt_frame_header(hdr, WT_OP_APPEND, (size_t)n);
            memcpy(wire + wlen, hdr, (size_t)hl);
            memcpy(wire + wlen + hl, line, (size_t)n);
            wlen += (size_t)hl + (size_t)n;
        }
    }
    talking_caller(&s);
    while (off < wlen) {
        size_t used;
        unsigned ev;
        const char *l;
        size_t ll;
        assert_int_equal(wc_session_feed(&s, wire + off, wlen - off, &used, &ev), WC_OK);
        off += used;
        while (wc_pane_take_line(wc_session_pane(&s), &l, &ll) == WC_PANE_OK) {
            int n = snprintf(line, sizeof(line), "nick: line %03d", next);
            assert_int_equal(ll, (size_t)n);
            assert_memory_equal(l, line, ll);
            next++;
        }
    }
    assert_int_equal(next, 300);
    wc_session_free(&s);
    free(wire);
    free(transcript);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int c = WC_OK; c >= WC_EFAILED; c--)
        assert_string_not_equal(wc_strerror(c), "unknown error");
    assert_string_equal(wc_strerror(42), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caller_handshake_whole_and_bytewise),
        cmocka_unit_test(test_caller_wrong_handshake),
        cmocka_unit_test(test_caller_sends_nothing_before_handshake),
        cmocka_unit_test(test_listener_handshake_and_priming_in_one_piece),
        cmocka_unit_test(test_sender_rule_matches_original),
        cmocka_unit_test(test_backspace_characters_and_line_ends),
        cmocka_unit_test(test_box_line_and_invalid_input),
        cmocka_unit_test(test_box_full),
        cmocka_unit_test(test_frames_in_split_at_every_index),
        cmocka_unit_test(test_replace_and_clear),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_output_bounded_and_coalesced),
        cmocka_unit_test(test_random_frames_against_model),
        cmocka_unit_test(test_feed_stops_after_each_pane_change),
        cmocka_unit_test(test_hub_stream_lines_once),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
