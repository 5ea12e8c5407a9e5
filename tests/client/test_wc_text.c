/*
 * test_wc_text.c - unit tests of what the terminal is shown: placeholders
 * for control characters, row layout with wide characters, and invalid
 * UTF-8 shown exactly as the shared codec replaces it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "wc_text.h"
#include "wt_codec.h"

static void test_placeholders(void **state)
{
    (void)state;
    assert_int_equal(wc_text_display_cp(0x1B), 0x241B);
    assert_int_equal(wc_text_display_cp(0x07), 0x2407);
    assert_int_equal(wc_text_display_cp(0x00), 0x2400);
    assert_int_equal(wc_text_display_cp('\r'), 0x240D);
    assert_int_equal(wc_text_display_cp(0x7F), 0x2421);
    assert_int_equal(wc_text_display_cp(0x9B), WC_TEXT_REPLACEMENT); /* C1 CSI */
    assert_int_equal(wc_text_display_cp(0x9D), WC_TEXT_REPLACEMENT); /* C1 OSC */
    assert_int_equal(wc_text_display_cp(0x202E), WC_TEXT_REPLACEMENT);
    assert_int_equal(wc_text_display_cp('a'), 'a');
    assert_int_equal(wc_text_display_cp(0xF1), 0xF1);
    assert_int_equal(wc_text_display_cp(0x1F600), 0x1F600);
}

static void test_sanitize_line(void **state)
{
    char out[128];
    size_t n;
    const char *osc = "\x1b]0;owned\x07";
    const char *cls = "\x1b[2J"
                      "ok\t\xc2\x9b"
                      "x\r";
    (void)state;

    assert_int_equal(wc_text_sanitize_line(osc, strlen(osc), out, sizeof(out), &n), 0);
    assert_string_equal(out, "\xe2\x90\x9b]0;owned\xe2\x90\x87");
    assert_int_equal(wc_text_sanitize_line(cls, strlen(cls), out, sizeof(out), &n), 0);
    assert_string_equal(out, "\xe2\x90\x9b[2Jok\t\xef\xbf\xbdx");
    assert_null(memchr(out, 0x1b, n));
    /* Too small: a safe, truncated line. */
    assert_int_equal(wc_text_sanitize_line(osc, strlen(osc), out, 4, &n), -1);
    assert_int_equal(n, 3);
}

static void test_next_invalid(void **state)
{
    uint32_t cp;
    (void)state;

    assert_int_equal(wc_text_next("\xff", 1, &cp), 1);
    assert_int_equal(cp, 0xFFFD);
    /* A sequence cut off by the end: one U+FFFD for all of it. */
    assert_int_equal(wc_text_next("\xe2\x82", 2, &cp), 2);
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(wc_text_next("\xed\xa0\x80", 3, &cp), 1); /* surrogate */
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(wc_text_next("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(wc_text_next("\xef\xbf\xbd", 3, &cp), 3); /* a real U+FFFD */
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(wc_text_next("\xc3\xb1x", 3, &cp), 2);
    assert_int_equal(cp, 0xF1);
}

/* The codec's replacement of len bytes of in (valid UTF-8, NUL-terminated
 * in out). */
static size_t codec_sanitize(const char *in, size_t len, char *out, size_t cap)
{
    size_t n;

    assert_int_equal(wt_utf8_sanitize(in, len, out, cap - 1, &n), WT_OK);
    out[n] = '\0';
    return n;
}

/* Characters in valid UTF-8 (the lead bytes). */
static size_t chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/*
 * Overlong forms, surrogates, code points past U+10FFFF, stray and missing
 * continuation bytes: what the client shows of them (a printed line, a
 * screen row) is exactly what the shared codec makes of them, which is
 * one U+FFFD per maximal invalid subsequence.
 */
static void test_invalid_like_codec(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* "?" for each U+FFFD */
    } cases[] = {
        {"\xc0\xafx", "??x"},                     /* overlong '/' */
        {"\xc1\xbfx", "??x"},                     /* overlong DEL */
        {"\xe0\x80\xafx", "???x"},                /* overlong '/' in 3 */
        {"\xe0\x9f\xbfx", "???x"},                /* overlong U+07FF */
        {"\xf0\x80\x80\xafx", "????x"},           /* overlong '/' in 4 */
        {"\xf0\x8f\xbf\xbfx", "????x"},           /* overlong U+FFFF */
        {"\xed\xa0\x80x", "???x"},                /* U+D800 */
        {"\xed\xbf\xbfx", "???x"},                /* U+DFFF */
        {"\xed\xa0\xbd\xed\xb8\x80x", "??????x"}, /* a pair, CESU-8 */
        {"\xf4\x90\x80\x80x", "????x"},           /* U+110000 */
        {"\xf5\x80\x80\x80x", "????x"},
        {"\xff\xfex", "??x"},
        {"\x80\xbfx", "??x"},         /* stray continuations */
        {"\xe2\x82x", "?x"},          /* missing one */
        {"\xf0\x9f\x98x", "?x"},      /* missing one of three */
        {"\xf0\x9fx\xe2\x82", "?x?"}, /* and cut off by the end */
        {"\xe2\x82\xac\xf0\x9f\x98\x80x", "\xe2\x82\xac\xf0\x9f\x98\x80x"},
    };
    char out[128], want[128], codec[128];
    wchar_t row[64];
    size_t n, w, c;
    int cols;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *in = cases[i].in;
        size_t len = strlen(in);

        /* The expected text, U+FFFD for each '?'. */
        for (w = 0, c = 0; cases[i].want[c] != '\0'; c++) {
            if (cases[i].want[c] == '?') {
                memcpy(want + w, "\xef\xbf\xbd", 3);
                w += 3;
            } else {
                want[w++] = cases[i].want[c];
            }
        }
        want[w] = '\0';
        codec_sanitize(in, len, codec, sizeof(codec));
        assert_string_equal(codec, want); /* the codec's rule, spelled out */

        assert_int_equal(wc_text_sanitize_line(in, len, out, sizeof(out), &n), 0);
        assert_string_equal(out, want);

        assert_int_equal(wc_text_row(in, len, 0, 60, row, 64, &cols), len);
        assert_int_equal(wcslen(row), chars(want, w));
        for (c = 0; row[c] != L'\0'; c++)
            if (cases[i].want[c] == '?')
                assert_int_equal(row[c], 0xFFFD);
    }
}

/*
 * The same for many byte strings: printing raw bytes gives what printing
 * the codec's replacement of them gives. The strings are drawn, with a
 * fixed seed, from bytes that make lead bytes, continuations, overlongs and
 * surrogates likely.
 */
static void test_any_bytes_like_codec(void **state)
{
    static const unsigned char pick[] = {0x61, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                         0xC1, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF,
                                         0xF0, 0xF3, 0xF4, 0xF5, 0xFF, 0x82, 0xAC, 0xB1};
    char in[16], clean[64], a[256], b[256];
    size_t alen, blen, clen;
    uint32_t seed = 12345;
    (void)state;

    for (int round = 0; round < 200000; round++) {
        size_t len = 1 + round % 12;

        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)pick[(seed >> 16) % sizeof(pick)];
        }
        clen = codec_sanitize(in, len, clean, sizeof(clean));
        assert_int_equal(wc_text_sanitize_line(in, len, a, sizeof(a), &alen), 0);
        assert_int_equal(wc_text_sanitize_line(clean, clen, b, sizeof(b), &blen), 0);
        if (alen != blen || memcmp(a, b, alen) != 0) {
            char hex[64] = "";
            for (size_t i = 0; i < len; i++)
                snprintf(hex + 3 * i, 4, "%02x ", (unsigned char)in[i]);
            fail_msg("bytes %sshow differently from the codec's replacement", hex);
        }
    }
}

/* Cutting long input in pieces: never inside a character, never nothing. */
static void test_cut(void **state)
{
    char s[64];
    (void)state;

    assert_int_equal(wc_text_cut("abc", 3, 8), 3);
    assert_int_equal(wc_text_cut("abcdefgh", 8, 8), 8);
    /* Continuation bytes only: cut at max, not before the run (a cut at
     * 0 would send an empty piece and never move on). */
    memset(s, 0x80, sizeof(s));
    assert_int_equal(wc_text_cut(s, sizeof(s), 32), 32);
    assert_int_equal(wc_text_cut(s, sizeof(s), 4), 4);
    /* A character across max goes whole to the next piece; one that ends
     * at max stays. */
    memcpy(s, "aaaaaaa\xe2\x82\xaczzz", 13);
    assert_int_equal(wc_text_cut(s, 13, 8), 7);
    assert_int_equal(wc_text_cut(s, 13, 9), 7);
    assert_int_equal(wc_text_cut(s, 13, 10), 10);
    assert_int_equal(wc_text_cut(s, 13, 7), 7);
    memcpy(s, "aaaaa\xf0\x9f\x98\x80zzz", 12);
    for (size_t max = 6; max <= 8; max++)
        assert_int_equal(wc_text_cut(s, 12, max), 5);
    assert_int_equal(wc_text_cut(s, 12, 9), 9);
    /* So is an invalid sequence the codec replaces with one U+FFFD. */
    memcpy(s, "aaaaaaa\xe2\x82x", 10);
    assert_int_equal(wc_text_cut(s, 10, 8), 7);
    /* A lead byte and continuation bytes that make no character: cut at
     * max (each is its own U+FFFD either way). */
    memcpy(s, "aaaa\xc0\x80\x80\x80\x80\x80", 10);
    assert_int_equal(wc_text_cut(s, 10, 6), 6);
}

/* For any bytes: the two pieces, sanitized by the codec one after the
 * other, give what the whole gives; and cutting again and again ends. */
static void test_cut_any_bytes(void **state)
{
    static const unsigned char pick[] = {'a',  '\n', 0x80, 0x8F, 0x90, 0xA0, 0xBF, 0xC0, 0xC2,
                                         0xC3, 0xE0, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF};
    char in[40], whole[160], head[160], tail[160];
    size_t wl, hl, tl, cut;
    uint32_t seed = 777;
    (void)state;

    for (int round = 0; round < 100000; round++) {
        size_t len = 5 + round % 30, max = 4 + (size_t)round % 9, off, pieces;

        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)pick[(seed >> 16) % sizeof(pick)];
        }
        cut = wc_text_cut(in, len, max);
        if (len <= max)
            assert_int_equal(cut, len);
        else
            assert_in_range(cut, max - 3, max);
        wl = codec_sanitize(in, len, whole, sizeof(whole));
        hl = codec_sanitize(in, cut, head, sizeof(head));
        tl = codec_sanitize(in + cut, len - cut, tail, sizeof(tail));
        assert_int_equal(hl + tl, wl);
        assert_memory_equal(whole, head, hl);
        assert_memory_equal(whole + hl, tail, tl);
        for (off = 0, pieces = 0; off < len; pieces++)
            off += wc_text_cut(in + off, len - off, max);
        assert_true(pieces <= len / (max - 3) + 1);
    }
}

static void test_rows(void **state)
{
    wchar_t out[64];
    int cols;
    size_t pos;
    const char *s = "ab\r\ncd\nef";
    const char *wide = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80";
    (void)state;

    pos = wc_text_row(s, strlen(s), 0, 10, out, 64, &cols);
    assert_int_equal(pos, 4);
    assert_true(wcscmp(out, L"ab") == 0);
    pos = wc_text_row(s, strlen(s), pos, 10, out, 64, &cols);
    assert_int_equal(pos, 7);
    pos = wc_text_row(s, strlen(s), pos, 10, out, 64, &cols);
    assert_int_equal(pos, strlen(s));
    assert_true(wcscmp(out, L"ef") == 0);

    /* Wide characters wrap whole: two fit in 5 columns, not three. */
    pos = wc_text_row(wide, strlen(wide), 0, 5, out, 64, &cols);
    assert_int_equal(pos, 8);
    assert_int_equal(cols, 4);
    pos = wc_text_row(wide, strlen(wide), pos, 5, out, 64, &cols);
    assert_int_equal(pos, 12);

    /* A full row takes its line end along: no empty row after it. */
    pos = wc_text_row("abcd\r\nx", 7, 0, 4, out, 64, &cols);
    assert_int_equal(pos, 6);

    /* Controls become pictures, tabs spaces. */
    pos = wc_text_row("\x1b[2J\tz", 6, 0, 20, out, 64, &cols);
    assert_true(wcscmp(out, L"\x241b[2J    z") == 0);
    assert_int_equal(cols, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholders),         cmocka_unit_test(test_sanitize_line),
        cmocka_unit_test(test_next_invalid),         cmocka_unit_test(test_invalid_like_codec),
        cmocka_unit_test(test_any_bytes_like_codec), cmocka_unit_test(test_cut),
        cmocka_unit_test(test_cut_any_bytes),        cmocka_unit_test(test_rows),
    };
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        /* wcwidth needs a UTF-8 locale; the C library ships C.UTF-8. */
        fprintf(stderr, "test_wc_text: the C.UTF-8 locale is missing\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
