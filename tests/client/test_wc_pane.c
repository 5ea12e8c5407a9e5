/*
 * test_wc_pane.c - unit tests of the peer's pane: A/R, the bound, and the
 * line reader used by the pipe mode and the log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_pane.h"

static void expect_line(struct wc_pane *p, const char *want)
{
    const char *l;
    size_t len;

    assert_int_equal(wc_pane_take_line(p, &l, &len), WC_PANE_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(l, want, len);
}

static void expect_no_line(struct wc_pane *p)
{
    const char *l;
    size_t len;

    assert_int_equal(wc_pane_take_line(p, &l, &len), WC_PANE_NOLINE);
}

static void test_append_replace(void **state)
{
    struct wc_pane p;
    size_t len;
    (void)state;

    wc_pane_init(&p);
    assert_string_equal(wc_pane_text(&p, &len), "");
    assert_int_equal(wc_pane_append(&p, "ab", 2), WC_PANE_OK);
    assert_int_equal(wc_pane_append(&p, "cd", 2), WC_PANE_OK);
    assert_string_equal(wc_pane_text(&p, &len), "abcd");
    assert_int_equal(wc_pane_replace(&p, "x", 1), WC_PANE_OK);
    assert_string_equal(wc_pane_text(&p, &len), "x");
    assert_int_equal(wc_pane_replace(&p, "", 0), WC_PANE_OK);
    assert_string_equal(wc_pane_text(&p, &len), "");
    assert_int_equal(len, 0);
    wc_pane_free(&p);
}

static void test_lines_crlf_and_rest(void **state)
{
    struct wc_pane p;
    const char *l;
    size_t len;
    (void)state;

    wc_pane_init(&p);
    wc_pane_append(&p, "one\r\ntwo\nthr", 12);
    expect_line(&p, "one");
    expect_line(&p, "two");
    expect_no_line(&p);
    wc_pane_append(&p, "ee\r", 3);
    expect_no_line(&p);
    wc_pane_append(&p, "\n", 1);
    expect_line(&p, "three");
    wc_pane_append(&p, "tail", 4);
    assert_int_equal(wc_pane_take_rest(&p, &l, &len), WC_PANE_OK);
    assert_int_equal(len, 4);
    assert_int_equal(wc_pane_take_rest(&p, &l, &len), WC_PANE_NOLINE);
    wc_pane_free(&p);
}

/* A peer edits its unfinished line: the reader gets the line as finished. */
static void test_backspace_in_unfinished_line(void **state)
{
    struct wc_pane p;
    (void)state;

    wc_pane_init(&p);
    wc_pane_append(&p, "hi\r\n", 4);
    expect_line(&p, "hi");
    wc_pane_append(&p, "ab", 2);
    wc_pane_replace(&p, "hi\r\na", 5);
    wc_pane_append(&p, "c\r\n", 3);
    expect_line(&p, "ac");
    expect_no_line(&p);
    wc_pane_free(&p);
}

/* A hub trims its transcript and re-sends it: nothing is repeated. */
static void test_replace_with_trimmed_view(void **state)
{
    struct wc_pane p;
    char buf[4096], line[32];
    size_t n = 0;
    (void)state;

    wc_pane_init(&p);
    for (int i = 1; i <= 100; i++) {
        int k = snprintf(line, sizeof(line), "line %d\r\n", i);
        wc_pane_append(&p, line, (size_t)k);
    }
    for (int i = 1; i <= 100; i++) {
        snprintf(line, sizeof(line), "line %d", i);
        expect_line(&p, line);
    }
    for (int i = 51; i <= 101; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "line %d\r\n", i);
    wc_pane_replace(&p, buf, n);
    expect_line(&p, "line 101");
    expect_no_line(&p);
    wc_pane_free(&p);
}

/* The peer cleared, or rewrote an old line: new lines come out. */
static void test_replace_with_other_text(void **state)
{
    struct wc_pane p;
    (void)state;

    wc_pane_init(&p);
    wc_pane_append(&p, "a\nb\nc\n", 6);
    expect_line(&p, "a");
    expect_line(&p, "b");
    expect_line(&p, "c");
    wc_pane_replace(&p, "a\nb\nX\n", 6); /* an edit of the last line */
    expect_line(&p, "X");
    wc_pane_replace(&p, "", 0);
    wc_pane_append(&p, "new\n", 4);
    expect_line(&p, "new");
    expect_no_line(&p);
    wc_pane_free(&p);
}

static void test_bounded(void **state)
{
    struct wc_pane p;
    char line[100];
    size_t len;
    const char *t;
    (void)state;

    wc_pane_init(&p);
    memset(line, 'x', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(wc_pane_append(&p, line, sizeof(line)), WC_PANE_OK);
        t = wc_pane_text(&p, &len);
        assert_true(len <= WC_PANE_MAX);
    }
    t = wc_pane_text(&p, &len);
    assert_true(len > WC_PANE_MAX - WC_PANE_TRIM_SLACK - sizeof(line));
    assert_int_equal(t[0], 'x'); /* cut at a line start */
    assert_int_equal((len % sizeof(line)), 0);
    wc_pane_free(&p);
}

/* One huge frame of multi-byte characters and no line ends: the tail is
 * kept, starting on a character boundary. */
static void test_bounded_cut_on_character(void **state)
{
    struct wc_pane p;
    size_t n = WC_PANE_MAX + 5001, len, i;
    char *big = malloc(n * 3);
    const char *t;
    (void)state;

    assert_non_null(big);
    for (i = 0; i < n; i++)
        memcpy(big + 3 * i, "\xe2\x82\xac", 3); /* the euro sign */
    wc_pane_init(&p);
    assert_int_equal(wc_pane_replace(&p, big, n * 3), WC_PANE_OK);
    t = wc_pane_text(&p, &len);
    assert_true(len <= WC_PANE_MAX);
    assert_int_equal(len % 3, 0);
    assert_memory_equal(t, "\xe2\x82\xac", 3);
    assert_int_equal(wc_pane_append(&p, big, n * 3), WC_PANE_OK);
    t = wc_pane_text(&p, &len);
    assert_true(len <= WC_PANE_MAX);
    assert_memory_equal(t, "\xe2\x82\xac", 3);
    wc_pane_free(&p);
    free(big);
}

/* Fill a pane with text and hand all of it out as lines (and the rest). */
static void take_all(struct wc_pane *p, const char *text)
{
    const char *l;
    size_t len;

    wc_pane_replace(p, "", 0);
    wc_pane_append(p, text, strlen(text));
    while (wc_pane_take_rest(p, &l, &len) == WC_PANE_OK)
        ;
}

/* Replace with text and expect exactly these lines (NULL-terminated) to be
 * handed out as new, then nothing. */
static void replace_expect(struct wc_pane *p, const char *text, const char *const *lines)
{
    size_t len;

    assert_int_equal(wc_pane_replace(p, text, strlen(text)), WC_PANE_OK);
    assert_in_range(wc_pane_replace_steps(p), 0, 4 * (strlen(text) + 64));
    for (; *lines != NULL; lines++)
        expect_line(p, *lines);
    expect_no_line(p);
    assert_string_equal(wc_pane_text(p, &len), text);
}

/* What counts as already seen after an R, case by case. */
static void test_replace_edge_cases(void **state)
{
    struct wc_pane p;
    const char *l;
    size_t len;
    (void)state;

    wc_pane_init(&p);
    /* Nothing taken yet: every line of the new text is new. */
    replace_expect(&p, "a\nb\n", (const char *const[]){"a", "b", NULL});
    wc_pane_replace(&p, "", 0);
    assert_int_equal(wc_pane_replace_steps(&p), 0);

    /* The taken text is a prefix of the new one: equal, or longer. */
    take_all(&p, "a\nb\n");
    replace_expect(&p, "a\nb\n", (const char *const[]){NULL});
    replace_expect(&p, "a\nb\nc\n", (const char *const[]){"c", NULL});

    /* Trimmed from the top: the longest overlap counts, not a shorter one
     * (here "a\na\n", not "a\n", which would repeat an "a"). */
    take_all(&p, "x\na\na\n");
    replace_expect(&p, "a\na\nb\n", (const char *const[]){"b", NULL});
    /* The overlap need not start a line of the old text. */
    take_all(&p, "xa\n");
    replace_expect(&p, "a\nb\n", (const char *const[]){"b", NULL});
    /* Shorter than what was taken, all of it seen. */
    take_all(&p, "1\n2\n3\n");
    replace_expect(&p, "3\n", (const char *const[]){NULL});
    replace_expect(&p, "", (const char *const[]){NULL});

    /* No overlap: the common prefix, back to a line start. */
    take_all(&p, "a\nb\n");
    replace_expect(&p, "a\nc\n", (const char *const[]){"c", NULL});
    take_all(&p, "a\nbcd\n");
    replace_expect(&p, "a\nbcX\nY\n", (const char *const[]){"bcX", "Y", NULL});
    take_all(&p, "zz\n");
    replace_expect(&p, "yy\n", (const char *const[]){"yy", NULL});

    /* Taken up to an unfinished line (the end of a talk): a suffix that is
     * not a line end never counts as an overlap; the common prefix does. */
    take_all(&p, "q\nab");
    replace_expect(&p, "ab\nzz\n", (const char *const[]){"ab", "zz", NULL});
    take_all(&p, "ab\ncd");
    replace_expect(&p, "ab\ncX\n", (const char *const[]){"cX", NULL});

    /* Nothing taken of a pane that has text. */
    wc_pane_replace(&p, "", 0);
    wc_pane_append(&p, "u\nv", 3);
    replace_expect(&p, "u\nv\nw\n", (const char *const[]){"u", "v", "w", NULL});

    /* Partly taken: only the rest comes out. */
    wc_pane_replace(&p, "", 0);
    wc_pane_append(&p, "1\n2\n3\n", 6);
    expect_line(&p, "1");
    replace_expect(&p, "1\n2\n3\n", (const char *const[]){"2", "3", NULL});
    assert_int_equal(wc_pane_take_rest(&p, &l, &len), WC_PANE_NOLINE);
    wc_pane_free(&p);
}

/*
 * A hostile peer picks both texts of an R to make a naive overlap search
 * try every candidate length: all of it taken, "\n" * (N-2) + "x\n", then
 * R frames of N bytes of line ends (and other shapes), N = WC_PANE_MAX.
 * Every candidate ends in '\n' and matches until its last bytes, which is
 * about N * N / 2 comparisons for such a search. The work must stay linear.
 */
static void test_replace_is_linear(void **state)
{
    const size_t n = WC_PANE_MAX;
    char *old = malloc(n), *nu = malloc(n);
    struct wc_pane p;
    size_t len, i, round;
    const char *l;
    (void)state;

    assert_non_null(old);
    assert_non_null(nu);
    memset(old, '\n', n);
    old[n - 2] = 'x';
    wc_pane_init(&p);
    for (round = 0; round < 4; round++) {
        /* The reader has taken all of the old text. */
        assert_int_equal(wc_pane_replace(&p, "", 0), WC_PANE_OK);
        assert_int_equal(wc_pane_append(&p, old, n), WC_PANE_OK);
        while (wc_pane_take_line(&p, &l, &len) == WC_PANE_OK)
            ;
        switch (round) {
        case 0: /* all line ends: every length is a candidate */
            memset(nu, '\n', n);
            break;
        case 1: /* "a\n" repeated against "a\n" * k + "b\n" */
            for (i = 0; i < n; i += 2)
                memcpy(old + i, "a\n", 2);
            memcpy(old + n - 4, "b\n", 2);
            memcpy(nu, old, n);
            nu[n - 4] = 'a';
            nu[n - 1] = 'c';
            break;
        case 2: /* a long line end run, then one different byte */
            memset(nu, '\n', n);
            nu[n / 2] = 'y';
            break;
        default: /* the new text is the old one shifted: a real trim */
            memmove(nu, old + 1000, n - 1000);
            memset(nu + n - 1000, 'z', 999);
            nu[n - 1] = '\n';
            break;
        }
        assert_int_equal(wc_pane_replace(&p, nu, n), WC_PANE_OK);
        assert_in_range(wc_pane_replace_steps(&p), 1, 4 * (n + n));
        if (round == 3) {
            /* Only the new line after the overlap comes out. */
            assert_int_equal(wc_pane_take_line(&p, &l, &len), WC_PANE_OK);
            assert_int_equal(len, 999);
            expect_no_line(&p);
        }
    }
    wc_pane_free(&p);
    free(old);
    free(nu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_replace),
        cmocka_unit_test(test_lines_crlf_and_rest),
        cmocka_unit_test(test_backspace_in_unfinished_line),
        cmocka_unit_test(test_replace_with_trimmed_view),
        cmocka_unit_test(test_replace_with_other_text),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_bounded_cut_on_character),
        cmocka_unit_test(test_replace_edge_cases),
        cmocka_unit_test(test_replace_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
