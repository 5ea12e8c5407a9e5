/*
 * test_wc_text.c - unit tests of what the terminal is shown: placeholders
 * for control characters, and row layout with wide characters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <string.h>
#include <wchar.h>

#include "wc_text.h"

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

static void test_decode_invalid(void **state)
{
    uint32_t cp;
    (void)state;

    assert_int_equal(wc_utf8_decode("\xff", 1, &cp), 1);
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(wc_utf8_decode("\xe2\x82", 2, &cp), 1);
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(wc_utf8_decode("\xed\xa0\x80", 3, &cp), 1); /* surrogate */
    assert_int_equal(cp, 0xFFFD);
    assert_int_equal(wc_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
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
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_sanitize_line),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_rows),
    };
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        return 77; /* wcwidth needs a UTF-8 locale */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
