/*
 * test_codec.c - boundary tests for the WINTALK codec (wintalk/wt_codec.h).
 *
 * Every golden stream is decoded three ways: fed whole, one byte at a time,
 * and split in two at every index. All three must give the same frames and
 * the same final status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_codec.h"

#define MAX_FRAMES 16

struct decoded {
    int nframes;
    char op[MAX_FRAMES];
    char letter[MAX_FRAMES];
    char *text[MAX_FRAMES];
    size_t len[MAX_FRAMES];
    size_t units[MAX_FRAMES];
    int status; /* WT_EAGAIN when the stream ended cleanly between frames */
    int pending; /* nonzero if bytes of an unfinished frame were fed */
};

static void decoded_free(struct decoded *r)
{
    for (int i = 0; i < r->nframes; i++)
        free(r->text[i]);
    memset(r, 0, sizeof(*r));
}

/* Feed one piece, collecting frames until it is used up or an error. */
static int feed_piece(struct wt_decoder *d, const char *p, size_t n, struct decoded *r)
{
    while (n > 0) {
        struct wt_frame f;
        size_t used = 99999;
        int rc = wt_decoder_feed(d, p, n, &used, &f);
        assert_true(used <= n);
        p += used;
        n -= used;
        if (rc == WT_EAGAIN) {
            assert_int_equal(n, 0);
            return rc;
        }
        if (rc != WT_OK)
            return rc;
        assert_true(r->nframes < MAX_FRAMES);
        r->op[r->nframes] = (char)f.op;
        r->letter[r->nframes] = f.letter;
        r->text[r->nframes] = malloc(f.len + 1);
        memcpy(r->text[r->nframes], f.text, f.len + 1);
        assert_int_equal(f.text[f.len], '\0');
        r->len[r->nframes] = f.len;
        r->units[r->nframes] = f.units;
        r->nframes++;
    }
    return WT_EAGAIN;
}

/* Decode stream split at the given cut points (sorted, within len). */
static void decode_cuts(const char *s, size_t len, const size_t *cuts, size_t ncuts, uint32_t cap,
                        struct decoded *r)
{
    struct wt_decoder d;
    size_t start = 0;
    int rc = WT_EAGAIN;

    memset(r, 0, sizeof(*r));
    assert_int_equal(wt_decoder_init(&d, cap), WT_OK);
    for (size_t c = 0; c <= ncuts && rc == WT_EAGAIN; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        rc = feed_piece(&d, s + start, end - start, r);
        start = end;
    }
    r->status = rc;
    r->pending = rc == WT_EAGAIN && d.state != WT_DEC_LETTER;
    if (rc != WT_EAGAIN && rc != WT_OK) {
        /* errors stick */
        struct wt_frame f;
        size_t used;
        assert_int_equal(wt_decoder_feed(&d, "A1:x", 4, &used, &f), rc);
    }
    wt_decoder_free(&d);
}

static void assert_same(const struct decoded *a, const struct decoded *b)
{
    assert_int_equal(a->nframes, b->nframes);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->pending, b->pending);
    for (int i = 0; i < a->nframes; i++) {
        assert_int_equal(a->op[i], b->op[i]);
        assert_int_equal(a->letter[i], b->letter[i]);
        assert_int_equal(a->len[i], b->len[i]);
        assert_int_equal(a->units[i], b->units[i]);
        assert_memory_equal(a->text[i], b->text[i], a->len[i]);
    }
}

/* Decode whole, byte by byte and split at every index; check they agree
 * and return the whole-stream result in *out (caller frees). */
static void decode_every_way(const char *s, size_t len, uint32_t cap, struct decoded *out)
{
    struct decoded other;
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));

    decode_cuts(s, len, NULL, 0, cap, out);

    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    decode_cuts(s, len, cuts, len ? len - 1 : 0, cap, &other);
    assert_same(out, &other);
    decoded_free(&other);

    for (size_t i = 0; i <= len; i++) {
        decode_cuts(s, len, &i, 1, cap, &other);
        assert_same(out, &other);
        decoded_free(&other);
    }
    free(cuts);
}

struct golden_frame {
    char op;
    const char *text;
    size_t units;
    size_t len; /* 0: strlen(text) */
};

struct golden {
    const char *name;
    const char *wire;
    size_t wire_len; /* 0: strlen(wire) */
    int status;      /* final status: WT_EAGAIN (clean) or an error */
    int nframes;
    struct golden_frame frames[6];
};

#define FFFD "\xEF\xBF\xBD"

static const struct golden goldens[] = {
    {"append", "A5:hello", 0, WT_EAGAIN, 1, {{'A', "hello", 5}}},
    {"clear", "R0:", 0, WT_EAGAIN, 1, {{'R', "", 0}}},
    {"empty append", "A0:", 0, WT_EAGAIN, 1, {{'A', "", 0}}},
    {"priming", WT_PRIMING, 0, WT_EAGAIN, 4,
     {{'R', "", 0}, {'R', "", 0}, {'R', "", 0}, {'R', "", 0}}},
    {"two-byte chars", "A3:ñáé", 0, WT_EAGAIN, 1, {{'A', "ñáé", 3}}},
    {"astral char is two units", "A2:😀", 0, WT_EAGAIN, 1, {{'A', "😀", 2}}},
    {"no separator between frames", "A3:ñáéA2:😀A1:x", 0, WT_EAGAIN, 3,
     {{'A', "ñáé", 3}, {'A', "😀", 2}, {'A', "x", 1}}},
    {"pasted text", "A12:¿Qué tal? 😀", 0, WT_EAGAIN, 1, {{'A', "¿Qué tal? 😀", 12}}},
    {"line end", "A2:\r\n", 0, WT_EAGAIN, 1, {{'A', "\r\n", 2}}},
    {"replace after backspace", "R15:¿Qué tal? 😀\r\na", 0, WT_EAGAIN, 1,
     {{'R', "¿Qué tal? 😀\r\na", 15}}},
    {"other letters append", "a2:okQ3:abc", 0, WT_EAGAIN, 2, {{'a', "ok", 2}, {'Q', "abc", 3}}},
    {"leading space", "A 5:hello", 0, WT_EAGAIN, 1, {{'A', "hello", 5}}},
    {"plus sign", "A+5:hello", 0, WT_EAGAIN, 1, {{'A', "hello", 5}}},
    {"trailing space", "A5 :hello", 0, WT_EAGAIN, 1, {{'A', "hello", 5}}},
    {"leading zeros", "R005:hello", 0, WT_EAGAIN, 1, {{'R', "hello", 5}}},
    {"letter and 18 digits", "A000000000000000005:hello", 0, WT_EAGAIN, 1, {{'A', "hello", 5}}},
    {"colon inside text", "A3:a:bR0:", 0, WT_EAGAIN, 2, {{'A', "a:b", 3}, {'R', "", 0}}},
    {"NUL inside text", "A3:a\0b", 6, WT_EAGAIN, 1, {{'A', "a\0b", 3, 3}}},
    {"invalid bytes are U+FFFD", "A3:\xff\xfeX", 0, WT_EAGAIN, 1, {{'A', FFFD FFFD "X", 3}}},
    {"bad continuation", "A2:\xc3(", 0, WT_EAGAIN, 1, {{'A', FFFD "(", 2}}},
    {"truncated sequence ends a frame", "A1:\xe2\x82" "A1:x", 0, WT_EAGAIN, 2,
     {{'A', FFFD, 1}, {'A', "x", 1}}},
    {"overlong", "A2:\xc0\xaf", 0, WT_EAGAIN, 1, {{'A', FFFD FFFD, 2}}},
    {"surrogate", "A3:\xed\xa0\x80", 0, WT_EAGAIN, 1, {{'A', FFFD FFFD FFFD, 3}}},
    {"above U+10FFFF", "A4:\xf4\x90\x80\x80", 0, WT_EAGAIN, 1,
     {{'A', FFFD FFFD FFFD FFFD, 4}}},
    {"truncated astral", "A2:\xf0\x9f\x98" "x", 0, WT_EAGAIN, 1, {{'A', FFFD "x", 2}}},
    {"incomplete frame", "A5:hel", 0, WT_EAGAIN, 0, {{0, NULL, 0}}},
    {"empty length", "A:", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"negative length", "A-5:hello", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"negative replace", "R-5:", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"non-digit", "A5x:hello", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"hex digits", "A0x5:hello", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"space between digits", "A5 5:", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"sign then space", "A+ 5:", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"two signs", "A++5:", 0, WT_ELENGTH, 0, {{0, NULL, 0}}},
    {"letter and 19 digits", "A0000000000000000005:hello", 0, WT_EHEADER, 0, {{0, NULL, 0}}},
    {"20 digits after a frame", "A1:xA12345678901234567890:", 0, WT_EHEADER, 1, {{'A', "x", 1}}},
    {"colon as letter", ":5:hello", 0, WT_ELETTER, 0, {{0, NULL, 0}}},
    {"non-ASCII letter", "\xc3\xb1" "5:hello", 0, WT_ELETTER, 0, {{0, NULL, 0}}},
    {"over the cap", "A65537:", 0, WT_ETOOBIG, 0, {{0, NULL, 0}}},
    {"huge length", "A999999999999999999:", 0, WT_ETOOBIG, 0, {{0, NULL, 0}}},
    {"half a surrogate pair", "A1:😀", 0, WT_ESPLIT, 0, {{0, NULL, 0}}},
    {"NUL flood", "\0\0\0\0\0\0", 6, WT_ELENGTH, 0, {{0, NULL, 0}}},
};

static void test_goldens(void **state)
{
    (void)state;
    for (size_t g = 0; g < sizeof(goldens) / sizeof(goldens[0]); g++) {
        const struct golden *gd = &goldens[g];
        size_t len = gd->wire_len ? gd->wire_len : strlen(gd->wire);
        struct decoded r;

        print_message("golden: %s\n", gd->name);
        decode_every_way(gd->wire, len, 0, &r);
        assert_int_equal(r.status, gd->status);
        assert_int_equal(r.nframes, gd->nframes);
        for (int i = 0; i < gd->nframes; i++) {
            const struct golden_frame *e = &gd->frames[i];
            size_t elen = e->len ? e->len : strlen(e->text);
            char eop = e->op == 'R' ? 'R' : 'A';
            assert_int_equal(r.op[i], eop);
            assert_int_equal(r.letter[i], e->op);
            assert_int_equal(r.units[i], e->units);
            assert_int_equal(r.len[i], elen);
            assert_memory_equal(r.text[i], e->text, elen);
            /* what leaves the codec is valid UTF-8 and its count agrees */
            assert_true(wt_utf8_valid(r.text[i], r.len[i]));
            assert_int_equal(wt_utf16_units(r.text[i], r.len[i]), r.units[i]);
        }
        decoded_free(&r);
    }
}

static void test_incomplete_frame_is_pending(void **state)
{
    struct decoded r;
    (void)state;
    decode_cuts("A5:hel", 6, NULL, 0, 0, &r);
    assert_int_equal(r.status, WT_EAGAIN);
    assert_true(r.pending);
    decoded_free(&r);
    decode_cuts("A5:hello", 8, NULL, 0, 0, &r);
    assert_false(r.pending);
    decoded_free(&r);
}

/* A frame at the cap is accepted, one unit over is refused, with a small
 * configured cap and with the default. */
static void test_cap_boundaries(void **state)
{
    struct decoded r;
    char wire[64];
    (void)state;

    decode_every_way("A4:abcd", 7, 4, &r);
    assert_int_equal(r.status, WT_EAGAIN);
    assert_int_equal(r.nframes, 1);
    decoded_free(&r);

    decode_every_way("A5:abcde", 8, 4, &r);
    assert_int_equal(r.status, WT_ETOOBIG);
    assert_int_equal(r.nframes, 0);
    decoded_free(&r);

    /* the default cap, 64 Ki units, filled with 3-byte characters */
    {
        size_t n = WT_FRAME_UNITS_DEFAULT;
        int h = snprintf(wire, sizeof(wire), "R%zu:", n);
        size_t len = (size_t)h + 3 * n;
        char *big = malloc(len);
        struct wt_decoder d;
        struct wt_frame f;
        size_t used, off = 0;
        int rc = WT_EAGAIN;

        memcpy(big, wire, (size_t)h);
        for (size_t i = 0; i < n; i++)
            memcpy(big + h + 3 * i, "\xe2\x82\xac", 3); /* U+20AC */
        assert_int_equal(wt_decoder_init(&d, 0), WT_OK);
        while (off < len && rc == WT_EAGAIN) {
            size_t piece = len - off < 1000 ? len - off : 1000;
            rc = wt_decoder_feed(&d, big + off, piece, &used, &f);
            off += used;
            /* never more than one frame's worth of text is held */
            assert_true(d.buf_cap <= 3 * (size_t)n + 2);
        }
        assert_int_equal(rc, WT_OK);
        assert_int_equal(off, len);
        assert_int_equal(f.units, n);
        assert_int_equal(f.len, 3 * n);
        assert_int_equal(f.op, WT_OP_REPLACE);
        /* the big buffer is let go at the next feed */
        rc = wt_decoder_feed(&d, "A", 1, &used, &f);
        assert_int_equal(rc, WT_EAGAIN);
        assert_true(d.buf_cap == 0);
        wt_decoder_free(&d);

        h = snprintf(wire, sizeof(wire), "A%zu:", n + 1);
        assert_int_equal(wt_decoder_init(&d, 0), WT_OK);
        assert_int_equal(wt_decoder_feed(&d, wire, (size_t)h, &used, &f), WT_ETOOBIG);
        assert_null(d.buf); /* refused before allocating anything */
        wt_decoder_free(&d);
        free(big);
    }
}

/* A length the peer never fills does not make the decoder allocate ahead. */
static void test_no_allocation_ahead(void **state)
{
    struct wt_decoder d;
    struct wt_frame f;
    size_t used;
    (void)state;
    assert_int_equal(wt_decoder_init(&d, 0), WT_OK);
    assert_int_equal(wt_decoder_feed(&d, "A65536:ab", 9, &used, &f), WT_EAGAIN);
    assert_int_equal(used, 9);
    assert_true(d.buf_cap <= 128);
    wt_decoder_free(&d);
}

static void test_bad_arguments(void **state)
{
    struct wt_decoder d;
    struct wt_frame f;
    size_t used = 7;
    (void)state;
    assert_int_equal(wt_decoder_init(NULL, 0), WT_EINVAL);
    assert_int_equal(wt_decoder_init(&d, WT_FRAME_UNITS_CEILING + 1), WT_EINVAL);
    assert_int_equal(wt_decoder_init(&d, 0), WT_OK);
    assert_int_equal(d.cap, WT_FRAME_UNITS_DEFAULT);
    assert_int_equal(wt_decoder_feed(&d, NULL, 3, &used, &f), WT_EINVAL);
    assert_int_equal(used, 0);
    assert_int_equal(wt_decoder_feed(&d, "", 0, &used, &f), WT_EAGAIN);
    wt_decoder_free(&d);
}

static void test_reset_clears_error(void **state)
{
    struct wt_decoder d;
    struct wt_frame f;
    size_t used;
    (void)state;
    assert_int_equal(wt_decoder_init(&d, 0), WT_OK);
    assert_int_equal(wt_decoder_feed(&d, "A:", 2, &used, &f), WT_ELENGTH);
    assert_int_equal(wt_decoder_feed(&d, "A1:x", 4, &used, &f), WT_ELENGTH);
    wt_decoder_reset(&d);
    assert_int_equal(wt_decoder_feed(&d, "A1:x", 4, &used, &f), WT_OK);
    assert_string_equal(f.text, "x");
    wt_decoder_free(&d);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int c = WT_EUTF8; c <= WT_OK; c++)
        assert_string_not_equal(wt_strerror(c), "unknown error");
    assert_string_equal(wt_strerror(-1000), "unknown error");
}

/* ---- encoder ---- */

static void expect_frame(const char *prev, const char *now, const char *expected)
{
    char *frame = NULL;
    size_t len = 0;
    assert_int_equal(wt_sender_frame(prev, strlen(prev), now, strlen(now), &frame, &len), WT_OK);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(frame, expected, len);
    free(frame);
}

static void test_encode(void **state)
{
    char out[64];
    char hdr[WT_HEADER_BUF];
    size_t len;
    const char *t = "¿Qué tal? 😀";
    (void)state;

    assert_int_equal(strlen(t), 16);
    assert_int_equal(wt_frame_encode(out, sizeof(out), &len, WT_OP_APPEND, t, strlen(t)), WT_OK);
    assert_int_equal(len, 4 + 16);
    assert_memory_equal(out, "A12:", 4);
    assert_memory_equal(out + 4, t, 16);
    assert_int_equal(wt_frame_size(t, strlen(t)), 20);

    assert_int_equal(wt_frame_encode(out, 19, &len, WT_OP_APPEND, t, strlen(t)), WT_ENOSPACE);
    assert_int_equal(wt_frame_encode(out, sizeof(out), &len, WT_OP_REPLACE, "", 0), WT_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "R0:", 3);

    assert_int_equal(wt_frame_header(hdr, WT_OP_REPLACE, 65536), 7);
    assert_string_equal(hdr, "R65536:");
}

/* The sequence of the facts table: paste, Enter, type, Backspace, clear. */
static void test_sender_rule_table(void **state)
{
    (void)state;
    expect_frame("", "¿Qué tal? 😀", "A12:¿Qué tal? 😀");
    expect_frame("¿Qué tal? 😀", "¿Qué tal? 😀\r\n", "A2:\r\n");
    expect_frame("¿Qué tal? 😀\r\n", "¿Qué tal? 😀\r\na", "A1:a");
    expect_frame("¿Qué tal? 😀\r\na", "¿Qué tal? 😀\r\nab", "A1:b");
    expect_frame("¿Qué tal? 😀\r\nab", "¿Qué tal? 😀\r\na", "R15:¿Qué tal? 😀\r\na");
    expect_frame("¿Qué tal? 😀\r\na", "", "R0:");
}

static void test_sender_rule_edits(void **state)
{
    enum wt_op op;
    size_t tail;
    (void)state;
    expect_frame("hello", "hallo", "R5:hallo");       /* edit in the middle */
    expect_frame("hello", "hello world", "A6: world"); /* append */
    expect_frame("hello", "hello", "A0:");             /* unchanged: as the original */
    expect_frame("ñ", "ñ😀", "A2:😀");
    expect_frame("ñandú", "ñand", "R4:ñand"); /* backspace over ASCII */
    expect_frame("añ", "a", "R1:a");          /* backspace over a two-byte char */
    expect_frame("", "", "A0:");
    assert_int_equal(wt_sender_rule(NULL, 0, NULL, 0, &op, &tail), WT_OK);
    assert_int_equal(op, WT_OP_APPEND);
    assert_int_equal(wt_sender_rule("ab", 2, "a", 1, &op, &tail), WT_OK);
    assert_int_equal(op, WT_OP_REPLACE);
    assert_int_equal(tail, 0);
    assert_int_equal(wt_sender_rule("a", 1, "ab", 2, NULL, &tail), WT_EINVAL);
}

/* Encode then decode gives back the text, for every golden text. */
static void test_round_trip(void **state)
{
    const char *texts[] = {"", "x", "ñáé", "😀😀", "¿Qué tal? ñandú 😀\r\n", "a:b:c", "R0:"};
    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char wire[128];
        size_t len;
        struct decoded r;
        assert_int_equal(
            wt_frame_encode(wire, sizeof(wire), &len, WT_OP_REPLACE, texts[i], strlen(texts[i])),
            WT_OK);
        decode_every_way(wire, len, 0, &r);
        assert_int_equal(r.nframes, 1);
        assert_int_equal(r.op[0], 'R');
        assert_int_equal(r.len[0], strlen(texts[i]));
        assert_memory_equal(r.text[0], texts[i], r.len[0]);
        decoded_free(&r);
    }
}

/* ---- UTF-8 helpers ---- */

static void test_utf16_units(void **state)
{
    (void)state;
    assert_int_equal(wt_utf16_units("", 0), 0);
    assert_int_equal(wt_utf16_units("abc", 3), 3);
    assert_int_equal(wt_utf16_units("ñ", 2), 1);
    assert_int_equal(wt_utf16_units("😀", 4), 2);
    assert_int_equal(wt_utf16_units("¿Qué tal? 😀", 16), 12);
    assert_int_equal(wt_utf16_units("\xff", 1), 1);
    assert_int_equal(wt_utf16_units("\xf0\x9f", 2), 1); /* truncated: one U+FFFD */
    assert_int_equal(wt_utf16_units("\xed\xa0\x80", 3), 3);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(wt_utf8_valid("", 0));
    assert_true(wt_utf8_valid("¿Qué tal? 😀", 16));
    assert_true(wt_utf8_valid(FFFD, 3));
    assert_false(wt_utf8_valid("\xff", 1));
    assert_false(wt_utf8_valid("\xc3", 1));
    assert_false(wt_utf8_valid("\xc0\xaf", 2));
    assert_false(wt_utf8_valid("\xed\xa0\x80", 3));
    assert_false(wt_utf8_valid("\xf4\x90\x80\x80", 4));
}

static void test_utf8_sanitize(void **state)
{
    char out[64];
    size_t len;
    (void)state;
    assert_int_equal(wt_utf8_sanitize("a\xffz", 3, out, sizeof(out), &len), WT_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "a" FFFD "z", 5);
    assert_int_equal(wt_utf8_sanitize("ok\xe2\x82", 4, out, sizeof(out), &len), WT_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "ok" FFFD, 5);
    assert_int_equal(wt_utf8_sanitize("😀", 4, out, sizeof(out), &len), WT_OK);
    assert_int_equal(len, 4);
    assert_int_equal(wt_utf8_sanitize("\xff\xff", 2, out, 5, &len), WT_ENOSPACE);
    assert_int_equal(wt_utf8_sanitize(NULL, 1, out, 5, &len), WT_EINVAL);
}

/* One step of wt_utf8_next: what it returns for the bytes at the start. */
struct next_case {
    const char *in;
    size_t len;
    int rc;
    uint32_t cp;
    size_t used;
};

static void test_utf8_next(void **state)
{
    static const struct next_case cases[] = {
        {"a", 1, WT_OK, 'a', 1},
        {"ab", 2, WT_OK, 'a', 1},
        {"\xc3\xb1x", 3, WT_OK, 0xF1, 2},               /* ñ */
        {"\xe2\x82\xac", 3, WT_OK, 0x20AC, 3},          /* € */
        {"\xf0\x9f\x98\x80", 4, WT_OK, 0x1F600, 4},    /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, WT_OK, 0x10FFFF, 4},   /* the last code point */
        {"\xed\x9f\xbf", 3, WT_OK, 0xD7FF, 3},          /* just below the surrogates */
        {"\xee\x80\x80", 3, WT_OK, 0xE000, 3},          /* just above them */
        {"\xc2\x80", 2, WT_OK, 0x80, 2},                 /* the smallest 2-byte form */
        {"\xe0\xa0\x80", 3, WT_OK, 0x800, 3},           /* the smallest 3-byte form */
        {"\xf0\x90\x80\x80", 4, WT_OK, 0x10000, 4},    /* the smallest 4-byte form */
        /* Overlong forms: '/' as C0 AF, E0 80 AF, F0 80 80 AF; 'a' as C1 A1. */
        {"\xc0\xaf", 2, WT_EUTF8, 0xFFFD, 1},
        {"\xc1\xa1", 2, WT_EUTF8, 0xFFFD, 1},
        {"\xe0\x80\xaf", 3, WT_EUTF8, 0xFFFD, 1},
        {"\xe0\x9f\xbf", 3, WT_EUTF8, 0xFFFD, 1},
        {"\xf0\x80\x80\xaf", 4, WT_EUTF8, 0xFFFD, 1},
        {"\xf0\x8f\xbf\xbf", 4, WT_EUTF8, 0xFFFD, 1},
        /* Surrogates, encoded as if they were characters. */
        {"\xed\xa0\x80", 3, WT_EUTF8, 0xFFFD, 1},
        {"\xed\xbf\xbf", 3, WT_EUTF8, 0xFFFD, 1},
        /* Above U+10FFFF, and bytes that never occur. */
        {"\xf4\x90\x80\x80", 4, WT_EUTF8, 0xFFFD, 1},
        {"\xf5\x80\x80\x80", 4, WT_EUTF8, 0xFFFD, 1},
        {"\xff", 1, WT_EUTF8, 0xFFFD, 1},
        {"\x80", 1, WT_EUTF8, 0xFFFD, 1},               /* a stray continuation */
        /* A sequence broken by a byte that starts the next character. */
        {"\xe2\x82" "a", 3, WT_EUTF8, 0xFFFD, 2},
        {"\xf0\x9f\x98" "a", 4, WT_EUTF8, 0xFFFD, 3},
        {"\xc3\xc3\xb1", 3, WT_EUTF8, 0xFFFD, 1},
        /* Cut off by the end of the input. */
        {"\xc3", 1, WT_EUTF8, 0xFFFD, 1},
        {"\xf0\x9f\x98", 3, WT_EUTF8, 0xFFFD, 3},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 1;
        size_t used = 99;
        int rc = wt_utf8_next(cases[i].in, cases[i].len, &cp, &used);
        if (rc != cases[i].rc || cp != cases[i].cp || used != cases[i].used)
            fail_msg("case %zu: got rc %d cp U+%04X used %zu; want rc %d cp U+%04X used %zu", i,
                     rc, (unsigned)cp, used, cases[i].rc, (unsigned)cases[i].cp, cases[i].used);
    }
    uint32_t cp;
    size_t used = 7;
    assert_int_equal(wt_utf8_next("a", 0, &cp, &used), WT_EINVAL);
    assert_int_equal(used, 0);
    assert_int_equal(wt_utf8_next(NULL, 1, &cp, &used), WT_EINVAL);
    assert_int_equal(wt_utf8_next("a", 1, NULL, &used), WT_EINVAL);
    assert_int_equal(wt_utf8_next("a", 1, &cp, NULL), WT_EINVAL);
}

/* Walk s with wt_utf8_next: it must agree with wt_utf8_valid (every step
 * WT_OK) and, putting U+FFFD for every WT_EUTF8, with wt_utf8_sanitize. */
static void next_agrees(const char *s, size_t len)
{
    char walked[64], clean[64];
    size_t w = 0, clean_len = 0, i = 0;
    int all_ok = 1;
    while (i < len) {
        uint32_t cp;
        size_t used;
        int rc = wt_utf8_next(s + i, len - i, &cp, &used);
        assert_true(used >= 1 && used <= 4 && used <= len - i);
        if (rc == WT_OK) {
            memcpy(walked + w, s + i, used);
            w += used;
        } else {
            assert_int_equal(rc, WT_EUTF8);
            assert_int_equal(cp, 0xFFFD);
            memcpy(walked + w, FFFD, 3);
            w += 3;
            all_ok = 0;
        }
        i += used;
    }
    assert_int_equal(all_ok, wt_utf8_valid(s, len));
    assert_int_equal(wt_utf8_sanitize(s, len, clean, sizeof clean, &clean_len), WT_OK);
    if (w != clean_len || memcmp(walked, clean, w) != 0)
        fail_msg("walk and sanitize differ for %zu bytes starting %02x", len, (unsigned char)s[0]);
}

static void test_utf8_next_agrees(void **state)
{
    /* Bytes at every boundary of the decoder's table. */
    static const unsigned char edge[] = {0x00, 0x2F, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                         0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                         0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
    const size_t n = sizeof edge;
    char s[4];
    (void)state;
    /* Every string of one and two bytes. */
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (char)a;
        next_agrees(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (char)b;
            next_agrees(s, 2);
        }
    }
    /* Every string of three and four edge bytes. */
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++)
            for (size_t c = 0; c < n; c++) {
                s[0] = (char)edge[a];
                s[1] = (char)edge[b];
                s[2] = (char)edge[c];
                next_agrees(s, 3);
                for (size_t d = 0; d < n; d++) {
                    s[3] = (char)edge[d];
                    next_agrees(s, 4);
                }
            }
}

static void test_utf8_prefix_units(void **state)
{
    const char *t = "a😀ñ";
    (void)state;
    assert_int_equal(wt_utf8_prefix_units(t, 7, 0), 0);
    assert_int_equal(wt_utf8_prefix_units(t, 7, 1), 1);
    assert_int_equal(wt_utf8_prefix_units(t, 7, 2), 1); /* never half of 😀 */
    assert_int_equal(wt_utf8_prefix_units(t, 7, 3), 5);
    assert_int_equal(wt_utf8_prefix_units(t, 7, 4), 7);
    assert_int_equal(wt_utf8_prefix_units(t, 7, 100), 7);
}

static void test_constants(void **state)
{
    (void)state;
    assert_int_equal(strlen(WT_HANDSHAKE), WT_HANDSHAKE_LEN);
    assert_int_equal(strlen(WT_PRIMING), WT_PRIMING_LEN);
    assert_memory_equal(WT_HANDSHAKE, "WINTALK .NET", 12);
    assert_memory_equal(WT_PRIMING, "R0:R0:R0:R0:", 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),
        cmocka_unit_test(test_incomplete_frame_is_pending),
        cmocka_unit_test(test_cap_boundaries),
        cmocka_unit_test(test_no_allocation_ahead),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_reset_clears_error),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_sender_rule_table),
        cmocka_unit_test(test_sender_rule_edits),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_utf16_units),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_utf8_next),
        cmocka_unit_test(test_utf8_next_agrees),
        cmocka_unit_test(test_utf8_prefix_units),
        cmocka_unit_test(test_constants),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
