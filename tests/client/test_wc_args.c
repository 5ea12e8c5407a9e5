/*
 * test_wc_args.c - unit tests of the command line: long options and the
 * original program's /C and /L switches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "wc_args.h"

static int parse(struct wc_options *o, char *a1, char *a2, char *a3, char *a4)
{
    char name[] = "wintalk";
    char *argv[6] = {name, a1, a2, a3, a4, NULL};
    char err[128];
    int argc = 1;

    while (argc < 5 && argv[argc] != NULL)
        argc++;
    return wc_args_parse(argc, argv, o, err, sizeof(err));
}

static void test_defaults(void **state)
{
    struct wc_options o;
    (void)state;

    assert_int_equal(parse(&o, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(o.mode, WC_MODE_DEFAULT);
    assert_string_equal(o.port, "");
    assert_string_equal(o.host, "");
    assert_true(o.mouse);
}

static void test_connect_forms(void **state)
{
    struct wc_options o;
    (void)state;

    assert_int_equal(parse(&o, "--connect", "example.org:6000", NULL, NULL), 0);
    assert_int_equal(o.mode, WC_MODE_CONNECT);
    assert_string_equal(o.host, "example.org");
    assert_string_equal(o.port, "6000");
    assert_int_equal(parse(&o, "--connect", "[::1]:5150", NULL, NULL), 0);
    assert_string_equal(o.host, "::1");
    assert_string_equal(o.port, "5150");
    assert_int_equal(parse(&o, "--connect", "::1", NULL, NULL), 0);
    assert_string_equal(o.host, "::1");
    assert_string_equal(o.port, "");
    assert_int_equal(parse(&o, "--connect", "localhost", NULL, NULL), 0);
    assert_string_equal(o.host, "localhost");
    assert_int_equal(parse(&o, "/C", "10.0.0.2", "7000", "--plain"), 0);
    assert_int_equal(o.mode, WC_MODE_CONNECT);
    assert_string_equal(o.host, "10.0.0.2");
    assert_string_equal(o.port, "7000");
    assert_true(o.plain);
    assert_int_equal(parse(&o, "-C", NULL, NULL, NULL), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(parse(&o, "/c", "host", NULL, NULL), 0);
    assert_string_equal(o.host, "host");
}

static void test_listen_forms(void **state)
{
    struct wc_options o;
    (void)state;

    assert_int_equal(parse(&o, "--listen", NULL, NULL, NULL), 0);
    assert_int_equal(o.mode, WC_MODE_LISTEN);
    assert_string_equal(o.port, "");
    assert_int_equal(parse(&o, "--listen", "5151", NULL, NULL), 0);
    assert_string_equal(o.port, "5151");
    assert_string_equal(o.host, "");
    assert_int_equal(parse(&o, "--listen", "127.0.0.1:5151", "--nick", "ann"), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_string_equal(o.port, "5151");
    assert_string_equal(o.nick, "ann");
    assert_int_equal(parse(&o, "/L", "6001", NULL, NULL), 0);
    assert_int_equal(o.mode, WC_MODE_ORIG_LISTEN);
    assert_string_equal(o.port, "6001");
    assert_int_equal(parse(&o, "-L", "--plain", NULL, NULL), 0);
    assert_int_equal(o.mode, WC_MODE_ORIG_LISTEN);
    assert_string_equal(o.port, "");
}

static void test_errors(void **state)
{
    struct wc_options o;
    (void)state;

    assert_int_equal(parse(&o, "--connect", NULL, NULL, NULL), -1);
    assert_int_equal(parse(&o, "--bogus", NULL, NULL, NULL), -1);
    assert_int_equal(parse(&o, "--connect", "h:70000", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--connect", "h:", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--connect", "[::1", NULL, NULL), -1);
    assert_int_equal(parse(&o, "/L", "x", NULL, NULL), -1);
    assert_int_equal(parse(&o, "/L", "/C", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--nick", "a b", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--nick", "a\x1b", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--log", NULL, NULL, NULL), -1);
}

static void test_ports(void **state)
{
    (void)state;
    assert_true(wc_args_valid_port("1"));
    assert_true(wc_args_valid_port("65535"));
    assert_false(wc_args_valid_port("0"));
    assert_false(wc_args_valid_port("65536"));
    assert_false(wc_args_valid_port("-1"));
    assert_false(wc_args_valid_port(""));
    assert_false(wc_args_valid_port("123456"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_connect_forms),
        cmocka_unit_test(test_listen_forms), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
