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

static void test_tls(void **state)
{
    struct wc_options o;
    (void)state;

    assert_int_equal(parse(&o, "--connect", "h", NULL, NULL), 0);
    assert_false(o.tls);
    assert_false(o.insecure);
    assert_null(o.ca);
    assert_int_equal(parse(&o, "--tls", "--connect", "h:5151", NULL), 0);
    assert_true(o.tls);
    assert_null(o.ca);
    assert_int_equal(parse(&o, "--tls", "--ca", "ca.pem", "-C"), 0);
    assert_string_equal(o.ca, "ca.pem");
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(parse(&o, "--connect", "h", "--tls", "--insecure"), 0);
    assert_true(o.insecure);
    {
        char name[] = "wintalk", a1[] = "--tls", a2[] = "--cert", a3[] = "c.pem", a4[] = "--key",
             a5[] = "k.pem", a6[] = "--listen";
        char *argv[] = {name, a1, a2, a3, a4, a5, a6, NULL};
        char err[128];
        assert_int_equal(wc_args_parse(7, argv, &o, err, sizeof(err)), 0);
        assert_int_equal(o.mode, WC_MODE_LISTEN);
        assert_string_equal(o.cert, "c.pem");
        assert_string_equal(o.key, "k.pem");
        argv[6] = a1; /* no mode: listen by default, also needs them: fine */
        assert_int_equal(wc_args_parse(6, argv, &o, err, sizeof(err)), 0);
        assert_int_equal(o.mode, WC_MODE_DEFAULT);
    }
    /* Each TLS option needs --tls. */
    assert_int_equal(parse(&o, "--insecure", "--connect", "h", NULL), -1);
    assert_int_equal(parse(&o, "--ca", "ca.pem", "--connect", "h"), -1);
    assert_int_equal(parse(&o, "--cert", "c.pem", "--key", "k.pem"), -1);
    /* Contradictions and missing pieces. */
    assert_int_equal(parse(&o, "--tls", "--ca", "ca.pem", "--insecure"), -1);
    assert_int_equal(parse(&o, "--tls", "--listen", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--tls", NULL, NULL, NULL), -1);
    assert_int_equal(parse(&o, "--tls", "/L", NULL, NULL), -1);
    assert_int_equal(parse(&o, "--tls", "--cert", "c.pem", "--listen"), -1);
    assert_int_equal(parse(&o, "--tls", "--key", "k.pem", "--listen"), -1);
    assert_int_equal(parse(&o, "--tls", "--connect", "h", "--ca"), -1);
    assert_int_equal(parse(&o, "--tls", "--ca", "", "-C"), -1);
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
        cmocka_unit_test(test_ports),        cmocka_unit_test(test_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
