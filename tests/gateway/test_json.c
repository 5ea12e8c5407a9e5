/*
 * test_json.c - the JSON mapping of wintalk.v1: encoding exact bytes, and
 * parsing with every reply code. Pure: no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_json.h"
#include "gw_text.h"

static void expect_buf(struct gw_buf *b, const char *want)
{
    assert_non_null(b);
    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(gw_buf_bytes(b), want, b->len);
    gw_buf_unref(b);
}

static void encode_events(void **state)
{
    (void)state;
    struct gw_event ev = {.type = GW_EV_MESSAGE, .id = 58, .time_ms = 1795555201000, .pid = 7,
                          .nick = "alice", .via = "web", .text = "¿Qué tal? ñandú 😀",
                          .text_len = strlen("¿Qué tal? ñandú 😀")};
    expect_buf(gw_json_event(&ev, 16),
               "{\"type\":\"message\",\"id\":58,\"time\":1795555201000,\"pid\":7,\"nick\":\"alice\","
               "\"via\":\"web\",\"text\":\"¿Qué tal? ñandú 😀\",\"me\":false}");
    ev.type = GW_EV_JOIN;
    ev.id = 59;
    expect_buf(gw_json_event(&ev, 0), "{\"type\":\"join\",\"id\":59,\"time\":1795555201000,"
                                      "\"pid\":7,\"nick\":\"alice\",\"via\":\"web\"}");
    ev.type = GW_EV_LEAVE;
    ev.reason = GW_LEAVE_CLOSED;
    expect_buf(gw_json_event(&ev, 0), "{\"type\":\"leave\",\"id\":59,\"time\":1795555201000,"
                                      "\"pid\":7,\"nick\":\"alice\",\"via\":\"web\",\"reason\":\"closed\"}");
    ev.type = GW_EV_NICK;
    ev.old = "guest-1";
    expect_buf(gw_json_event(&ev, 0), "{\"type\":\"nick\",\"id\":59,\"time\":1795555201000,"
                                      "\"pid\":7,\"nick\":\"alice\",\"old\":\"guest-1\",\"via\":\"web\"}");
    ev.type = GW_EV_TYPING;
    ev.text = "a\"b\\c\nd\te\x01";
    ev.text_len = strlen(ev.text);
    expect_buf(gw_json_event(&ev, 0), "{\"type\":\"typing\",\"pid\":7,\"nick\":\"alice\","
                                      "\"via\":\"web\",\"text\":\"a\\\"b\\\\c\\nd\\te\\u0001\"}");
}

/* Each leave reason the adapter passes is the word docs/protocol.md gives. */
static void encode_leave_reasons(void **state)
{
    (void)state;
    static const struct {
        enum gw_leave_reason reason;
        const char *word;
    } cases[] = {
        {GW_LEAVE_CLOSED, "closed"},
        {GW_LEAVE_ERROR, "error"},
        {GW_LEAVE_BEHIND, "behind"},
        {GW_LEAVE_SHUTDOWN, "shutdown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_event ev = {.type = GW_EV_LEAVE, .id = 60, .time_ms = 1795555203000, .pid = 9,
                              .nick = "guest-2", .via = "tcp", .reason = cases[i].reason};
        char want[192];
        snprintf(want, sizeof want,
                 "{\"type\":\"leave\",\"id\":60,\"time\":1795555203000,\"pid\":9,"
                 "\"nick\":\"guest-2\",\"via\":\"tcp\",\"reason\":\"%s\"}",
                 cases[i].word);
        expect_buf(gw_json_event(&ev, 0), want);
    }
}

/* What the welcome's iterators walk in this test. */
struct walk {
    const struct gw_presence *who;
    size_t nwho, i;
    struct gw_buf **events;
    size_t nevents, e;
};

static int next_presence(void *ctx, struct gw_presence *out)
{
    struct walk *wk = ctx;
    if (wk->i == wk->nwho)
        return 0;
    *out = wk->who[wk->i++];
    return 1;
}

static struct gw_buf *next_event(void *ctx)
{
    struct walk *wk = ctx;
    return wk->e < wk->nevents ? wk->events[wk->e++] : NULL;
}

/* A welcome is written from plain values and what its iterators give, in
 * their order; empty lists are empty arrays. */
static void encode_welcome(void **state)
{
    (void)state;
    const struct gw_presence who[] = {
        {.pid = 3, .nick = "alice", .via = "web", .typing = "", .typing_len = 0},
        {.pid = 1, .nick = "b\"ob", .via = "tcp", .typing = "hi\n", .typing_len = 3},
    };
    struct gw_event ev = {.type = GW_EV_JOIN, .id = 6, .time_ms = 1795555201000, .pid = 3,
                          .nick = "alice", .via = "web"};
    struct gw_buf *events[2] = {gw_json_event(&ev, 0), NULL};
    ev.id = 7;
    events[1] = gw_json_event(&ev, 0);
    assert_non_null(events[0]);
    assert_non_null(events[1]);
    struct walk wk = {who, 2, 0, events, 2, 0};
    struct gw_welcome w = {.pid = 3, .nick = "alice", .participants_count = 4,
                           .epoch = "5eed00000000a001", .reset = 0, .last_id = 7, .gap = 1,
                           .next_presence = next_presence, .next_event = next_event, .ctx = &wk};
    expect_buf(gw_json_welcome(&w, 16),
               "{\"type\":\"welcome\",\"code\":220,\"protocol\":\"wintalk.v1\","
               "\"you\":{\"pid\":3,\"nick\":\"alice\",\"via\":\"web\"},"
               "\"participants\":[{\"pid\":3,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"},"
               "{\"pid\":1,\"nick\":\"b\\\"ob\",\"via\":\"tcp\",\"typing\":\"hi\\n\"}],"
               "\"participants_count\":4,\"epoch\":\"5eed00000000a001\",\"reset\":false,"
               "\"history\":[{\"type\":\"join\",\"id\":6,\"time\":1795555201000,\"pid\":3,"
               "\"nick\":\"alice\",\"via\":\"web\"},{\"type\":\"join\",\"id\":7,"
               "\"time\":1795555201000,\"pid\":3,\"nick\":\"alice\",\"via\":\"web\"}],"
               "\"last_id\":7,\"gap\":true}");
    struct walk none = {who, 0, 0, events, 0, 0};
    w.ctx = &none;
    w.reset = 1;
    w.gap = 0;
    w.last_id = 0;
    w.participants_count = 0;
    expect_buf(gw_json_welcome(&w, 0),
               "{\"type\":\"welcome\",\"code\":220,\"protocol\":\"wintalk.v1\","
               "\"you\":{\"pid\":3,\"nick\":\"alice\",\"via\":\"web\"},\"participants\":[],"
               "\"participants_count\":0,\"epoch\":\"5eed00000000a001\",\"reset\":true,"
               "\"history\":[],\"last_id\":0,\"gap\":false}");
    gw_buf_unref(events[0]);
    gw_buf_unref(events[1]);
}

static void encode_replies(void **state)
{
    (void)state;
    expect_buf(gw_json_info(211, "2 here", 6, 0), "{\"type\":\"info\",\"code\":211,\"text\":\"2 here\"}");
    expect_buf(gw_json_error(553, "nick \"robert\" is taken", "12", 0),
               "{\"type\":\"error\",\"code\":553,\"message\":\"nick \\\"robert\\\" is taken\",\"ref\":12}");
    expect_buf(gw_json_error(500, "x", NULL, 0), "{\"type\":\"error\",\"code\":500,\"message\":\"x\"}");
    expect_buf(gw_json_bye(421, "gateway shutting down", 0),
               "{\"type\":\"bye\",\"code\":421,\"message\":\"gateway shutting down\"}");
}

static int parse(const char *s, struct gw_cmsg *m)
{
    const char *why;
    int rc = gw_json_parse_client(s, strlen(s), m, &why);
    assert_non_null(why);
    return rc;
}

static void parse_good(void **state)
{
    (void)state;
    struct gw_cmsg m;
    assert_int_equal(parse("{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":57,\"key\":\"s3cret\"}", &m), 0);
    assert_int_equal(m.type, GW_C_HELLO);
    assert_string_equal(m.nick, "alice");
    assert_string_equal(m.key, "s3cret");
    assert_int_equal(m.last_id, 57);
    assert_null(m.epoch);
    assert_string_equal(m.ref, "");
    gw_cmsg_free(&m);

    assert_int_equal(parse("{\"type\":\"hello\",\"last_id\":57,\"epoch\":\"5eed00000000a001\"}", &m), 0);
    assert_string_equal(m.epoch, "5eed00000000a001");
    assert_int_equal(m.epoch_len, 16);
    gw_cmsg_free(&m);
    assert_int_equal(parse("{\"type\":\"hello\",\"epoch\":null}", &m), 0);
    assert_null(m.epoch);
    gw_cmsg_free(&m);

    assert_int_equal(parse("{\"type\":\"say\",\"text\":\"\\u00bfQu\\u00e9? \\ud83d\\ude00\",\"ref\":\"r\\\"1\"}", &m), 0);
    assert_int_equal(m.type, GW_C_SAY);
    assert_string_equal(m.text, "¿Qué? 😀");
    assert_string_equal(m.ref, "\"r\\\"1\"");
    gw_cmsg_free(&m);

    assert_int_equal(parse("{\"type\":\"typing\",\"text\":\"\",\"ref\":-3}", &m), 0);
    assert_int_equal(m.type, GW_C_TYPING);
    assert_int_equal(m.text_len, 0);
    assert_string_equal(m.ref, "-3");
    gw_cmsg_free(&m);

    /* An escaped NUL does not cut the text: it becomes U+0001 (removed later). */
    assert_int_equal(parse("{\"type\":\"say\",\"text\":\"a\\u0000b\"}", &m), 0);
    assert_int_equal(m.text_len, 3);
    char out[8];
    assert_int_equal(gw_text_clean(m.text, m.text_len, out, 0), 2);
    assert_memory_equal(out, "ab", 2);
    gw_cmsg_free(&m);

    /* Unknown extra fields are ignored (forward compatible). */
    assert_int_equal(parse("{\"type\":\"nick\",\"nick\":\"robert\",\"extra\":[1,2]}", &m), 0);
    assert_string_equal(m.nick, "robert");
    gw_cmsg_free(&m);
}

static void parse_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int code;
    } cases[] = {
        {"", 500},
        {"{oops", 500},
        {"[1,2]", 500},
        {"42", 500},
        {"\"str\"", 500},
        {"{\"type\":\"say\",\"text\":\"\\ud800\"}", 500},
        {"{\"text\":\"x\"}", 501},
        {"{\"type\":5}", 501},
        {"{\"type\":\"shout\"}", 502},
        {"{\"type\":\"say\"}", 501},
        {"{\"type\":\"say\",\"text\":5}", 501},
        {"{\"type\":\"say\",\"text\":null}", 501},
        {"{\"type\":\"nick\"}", 501},
        {"{\"type\":\"hello\",\"last_id\":\"7\"}", 501},
        {"{\"type\":\"hello\",\"last_id\":-1}", 501},
        {"{\"type\":\"hello\",\"last_id\":1.5}", 501},
        {"{\"type\":\"hello\",\"nick\":7}", 501},
        {"{\"type\":\"hello\",\"last_id\":7,\"epoch\":7}", 501},
        {"{\"type\":\"hello\",\"epoch\":\"00000000000000000000000000000000000000000000000000000000000000000\"}", 552},
        {"{\"type\":\"hello\",\"nick\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 552},
        {"{\"type\":\"say\",\"text\":\"x\",\"ref\":{}}", 501},
        {"{\"type\":\"say\",\"text\":\"x\",\"ref\":1.5}", 501},
        {"{\"type\":\"say\",\"text\":\"x\",\"ref\":\"01234567890123456789012345678901234567890123456789012345678901234\"}", 501},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_cmsg m;
        int rc = parse(cases[i].in, &m);
        if (rc != -cases[i].code)
            fail_msg("case %zu (%s): got %d, want %d", i, cases[i].in, rc, -cases[i].code);
        gw_cmsg_free(&m);
    }
    /* Invalid UTF-8 bytes. */
    struct gw_cmsg m;
    const char *why;
    assert_int_equal(gw_json_parse_client("{\"type\":\"say\",\"text\":\"\xff\"}", 24, &m, &why), -500);
    gw_cmsg_free(&m);
    /* The ref comes back even when the message is otherwise refused. */
    assert_int_equal(parse("{\"type\":\"shout\",\"ref\":9}", &m), -502);
    assert_string_equal(m.ref, "9");
    gw_cmsg_free(&m);
}

static void text_rules(void **state)
{
    (void)state;
    char out[64];
    const char *in = "a\x1b[1mb\r\nc\rd\ne\tf\x7f\xc2\x85g";
    size_t n = gw_text_clean(in, strlen(in), out, 1);
    assert_int_equal(n, strlen("a[1mb\nc\nd\ne\tfg"));
    assert_memory_equal(out, "a[1mb\nc\nd\ne\tfg", n);
    n = gw_text_clean(in, strlen(in), out, 0);
    assert_memory_equal(out, "a[1mbcde\tfg", n);

    assert_int_equal(gw_nick_check("alice", 5), GW_NICK_OK);
    assert_int_equal(gw_nick_check("ñandú_1.x-y", strlen("ñandú_1.x-y")), GW_NICK_OK);
    assert_int_equal(gw_nick_check("Ψυχή", strlen("Ψυχή")), GW_NICK_OK);
    assert_int_equal(gw_nick_check("", 0), GW_NICK_EMPTY);
    assert_int_equal(gw_nick_check("9lives", 6), GW_NICK_START);
    assert_int_equal(gw_nick_check("_x", 2), GW_NICK_START);
    assert_int_equal(gw_nick_check("a b", 3), GW_NICK_CHARS);
    assert_int_equal(gw_nick_check("a😀", strlen("a😀")), GW_NICK_CHARS);
    assert_int_equal(gw_nick_check("GUEST-1", 7), GW_NICK_RESERVED);
    assert_int_equal(gw_nick_check("guestx", 6), GW_NICK_OK);
    assert_int_equal(gw_nick_check("abcdefghijklmnopqrstuvwx", 24), GW_NICK_OK);
    assert_int_equal(gw_nick_check("abcdefghijklmnopqrstuvwxy", 25), GW_NICK_LONG);
    assert_int_equal(gw_nick_check("ñññññññññññññññññññññññ", strlen("ñññññññññññññññññññññññ")), GW_NICK_OK);
    char k1[GW_NICK_KEY_MAX_BYTES + 1], k2[GW_NICK_KEY_MAX_BYTES + 1];
    assert_int_equal(gw_nick_key("Robert", k1), GW_NICK_OK);
    assert_int_equal(gw_nick_key("rOBERT", k2), GW_NICK_OK);
    assert_string_equal(k1, k2);
    assert_int_equal(gw_nick_key("Robert2", k2), GW_NICK_OK);
    assert_string_not_equal(k1, k2);
    assert_int_equal(gw_utf8_cut("añb", 4, 2), 1);
    assert_int_equal(gw_utf8_cut("añb", 4, 3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_events),
        cmocka_unit_test(encode_leave_reasons),
        cmocka_unit_test(encode_welcome),
        cmocka_unit_test(encode_replies),
        cmocka_unit_test(parse_good),
        cmocka_unit_test(parse_bad),
        cmocka_unit_test(text_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
