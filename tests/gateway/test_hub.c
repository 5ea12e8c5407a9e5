/*
 * test_hub.c - the pure hub: exact sequences of what each participant is
 * sent, for drafts, edits, commands, nicks, the transcript, queue bounds,
 * batching and resuming by id. Time is an argument, so every JSON byte
 * (ids and times included) is asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub.h"
#include "gw_limits.h"
#include "hubtest.h"
#include "wt_codec.h"

static int wakes;

static void on_wake(void *ctx, void *user, uint64_t pid)
{
    (void)ctx;
    (void)user;
    (void)pid;
    wakes++;
}

static struct gw_hub *hub(unsigned rate)
{
    struct gw_hub *h;
    struct gw_hub_config cfg = {.headroom = 16, .rate = rate, .wake = on_wake};
    assert_int_equal(gw_hub_new(&h, &cfg), GW_OK);
    return h;
}

/* The shared helpers of the hub's tests, under this file's short names. */
#define drain ht_drain
#define expect ht_expect
#define tcp ht_tcp
#define web ht_web
#define in ht_in

/* Send text as one A frame, its count computed. */
static void type(struct gw_hub *h, uint64_t pid, int64_t now, const char *text)
{
    char buf[256];
    size_t n;
    assert_int_equal(wt_frame_encode(buf, sizeof buf, &n, WT_OP_APPEND, text, strlen(text)), WT_OK);
    assert_int_equal(gw_hub_tcp_input(h, pid, now, buf, n), GW_OK);
}

/* What pid is sent, writes joined, must be these transcript lines as A
 * frames (NULL-terminated list). */
static void expect_lines(struct gw_hub *h, uint64_t pid, ...)
{
    char want[8192], *got = drain(h, pid), *o = got;
    size_t len = 0, n;
    va_list ap;
    va_start(ap, pid);
    for (const char *l; (l = va_arg(ap, const char *));) {
        assert_int_equal(wt_frame_encode(want + len, sizeof want - len, &n, WT_OP_APPEND, l, strlen(l)), WT_OK);
        len += n;
    }
    va_end(ap);
    want[len] = '\0';
    for (char *i = got; *i; i++)
        if (*i != '|')
            *o++ = *i;
    *o = '\0';
    if (strcmp(got, want) != 0)
        fail_msg("participant %llu\n got: %s\nwant: %s", (unsigned long long)pid, got, want);
    free(got);
}

static void say(struct gw_hub *h, uint64_t pid, int64_t now, const char *json)
{
    assert_int_equal(gw_hub_web_input(h, pid, now, json, strlen(json)), GW_OK);
}

static void tcp_greeting(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    wakes = 0;
    uint64_t a = tcp(h, T0);
    assert_true(wakes > 0);
    /* The handshake and priming alone, then the transcript as R, ending
     * with the line (its own) that says where it is. */
    struct gw_buf *b;
    assert_int_equal(gw_hub_take(h, a, &b), 1);
    assert_int_equal(b->len, 24);
    assert_memory_equal(gw_buf_bytes(b), "WINTALK .NETR0:R0:R0:R0:", 24);
    gw_buf_unref(b);
    expect(h, a, "R54:* guest-1 joined (tcp)\r\n* you are in #lobby (1 here)\r\n|");
    uint64_t c = tcp(h, T0 + 1);
    expect(h, a, "A24:* guest-2 joined (tcp)\r\n|");
    expect(h, c, "WINTALK .NETR0:R0:R0:R0:|R78:* guest-1 joined (tcp)\r\n* guest-2 joined (tcp)\r\n* you are in #lobby (2 here)\r\n|");
    assert_string_equal(gw_hub_nick(h, c), "guest-2");
    gw_hub_free(h);
}

/* After a write, the adapter asks for another only while something waits,
 * and the next output after the queue ran dry wakes it again. */
static void more_after_a_write_only_when_something_waits(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t w = web(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    struct gw_buf *b;
    assert_int_equal(gw_hub_take(h, w, &b), 1); /* the welcome and the join */
    gw_buf_unref(b);
    assert_int_equal(gw_hub_more(h, w), 0);
    /* Dry: the next message wakes the adapter. */
    wakes = 0;
    say(h, w, T0 + 1, "{\"type\":\"say\",\"text\":\"one\"}");
    assert_int_equal(wakes, 1);
    /* More than one write's worth: more after the first, until dry. */
    char big[1100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char json[1200];
    snprintf(json, sizeof json, "{\"type\":\"say\",\"text\":\"%s\"}", big);
    for (int i = 0; i < 40; i++) /* 40 KiB: over GW_BATCH_MAX_BYTES */
        say(h, w, T0 + 2, json);
    assert_int_equal(wakes, 1);
    int writes = 0;
    while (gw_hub_take(h, w, &b) == 1) {
        gw_buf_unref(b);
        writes++;
        if (gw_hub_more(h, w) == 0)
            break;
    }
    assert_int_equal(writes, 2);
    assert_int_equal(gw_hub_more(h, w), 0);
    say(h, w, T0 + 3, "{\"type\":\"say\",\"text\":\"two\"}");
    assert_int_equal(wakes, 2);
    /* A participant being closed has one more write to make: its close. */
    assert_int_equal(gw_hub_take(h, w, &b), 1);
    gw_buf_unref(b);
    assert_int_equal(gw_hub_web_reject(h, w, 1008, "test"), GW_OK);
    assert_int_equal(gw_hub_more(h, w), 1);
    assert_int_equal(gw_hub_more(h, 999), GW_ENOENT);
    gw_hub_free(h);
}

/* The usual room: two TCP participants (guest-1, guest-2) and a browser,
 * alice, with everything they were sent so far taken away. */
static struct gw_hub *room(uint64_t *a, uint64_t *b, uint64_t *w)
{
    struct gw_hub *h = hub(0);
    *a = tcp(h, T0);
    *b = tcp(h, T0);
    *w = web(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    free(drain(h, *a));
    free(drain(h, *b));
    free(drain(h, *w));
    return h;
}

/* A line typed one character at a time is one message, with typing. */
static void line_char_by_char(void **state)
{
    (void)state;
    uint64_t a, b, w;
    struct gw_hub *h = room(&a, &b, &w);
    in(h, a, T0 + 1000, "A1:h");
    in(h, a, T0 + 1001, "A1:i");
    in(h, a, T0 + 1002, "A2:\r\n");
    expect(h, w,
           "[{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"h\"},"
           "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":4,\"time\":1795555201002,\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"hi\",\"me\":false},"
           "{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"\"}]|");
    expect(h, b, "A13:guest-1: hi\r\n|");
    expect(h, a, "A13:guest-1: hi\r\n|");
    gw_hub_free(h);
}

/* A slash command typed key by key (it may carry a key or a password) is
 * never anyone's typing, from either transport; "//" starts a message,
 * shown as typed. */
static void a_command_is_not_typing(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0);
    uint64_t w = web(h, T0, "{\"type\":\"hello\",\"nick\":\"wanda\"}");
    uint64_t v = web(h, T0, "{\"type\":\"hello\",\"nick\":\"vic\"}");
    free(drain(h, w));
    free(drain(h, v));
    const char *keys = "/login s3cret";
    int64_t t = T0 + 1000;
    for (const char *k = keys; *k; k++) {
        char frame[8];
        snprintf(frame, sizeof frame, "A1:%c", *k);
        in(h, a, t, frame);
        gw_hub_tick(h, t += GW_TYPING_INTERVAL_MS);
    }
    char *got = drain(h, w);
    if (strstr(got, "s3cret") || strstr(got, "login"))
        fail_msg("a command was shown as typing: %s", got);
    free(got);
    /* A browser's typing message of a command: nothing for the others. */
    char msg[128];
    snprintf(msg, sizeof msg, "{\"type\":\"typing\",\"text\":\"%s\"}", keys);
    ht_send(h, v, t, msg);
    gw_hub_tick(h, t + GW_TYPING_INTERVAL_MS);
    got = drain(h, w);
    if (strstr(got, "s3cret"))
        fail_msg("a command was shown as typing: %s", got);
    free(got);
    /* "//" is a message being typed: shown. */
    ht_send(h, v, t + 2 * GW_TYPING_INTERVAL_MS, "{\"type\":\"typing\",\"text\":\"//slash\"}");
    got = drain(h, w);
    if (!strstr(got, "\"text\":\"//slash\""))
        fail_msg("a // message being typed was not shown: %s", got);
    free(got);
    gw_hub_free(h);
}

/* The throttle: updates within GW_TYPING_INTERVAL_MS wait for a tick. */
static void typing_throttle(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0);
    uint64_t w = web(h, T0, "{\"type\":\"hello\"}");
    free(drain(h, w));
    in(h, a, T0 + 1000, "A1:a");
    in(h, a, T0 + 1010, "A1:b");
    in(h, a, T0 + 1020, "A1:c");
    expect(h, w, "{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"a\"}|");
    gw_hub_tick(h, T0 + 1100);
    expect(h, w, "");
    gw_hub_tick(h, T0 + 1250);
    expect(h, w, "{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"abc\"}|");
    gw_hub_tick(h, T0 + 2000);
    expect(h, w, "");
    gw_hub_free(h);
}

/* Backspace, clear, edits before the last line, \n and \r\n, split \r\n. */
static void draft_edits(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0), b = tcp(h, T0);
    free(drain(h, a));
    free(drain(h, b));
    int64_t t = T0 + 1000;
    in(h, a, t, "A5:hello");
    in(h, a, t, "R4:hell");          /* backspace */
    in(h, a, t, "A2:\r\n");          /* "hell" */
    in(h, a, t, "A1:aA1:b");
    in(h, a, t, "R7:hell\r\na");     /* backspace on the live line: nothing */
    in(h, a, t, "R0:");              /* clear: nothing */
    in(h, a, t, "A3:xyzA1:\r");      /* a \r alone does not end the line */
    in(h, a, t, "A1:\n");            /* ...its \n does: "xyz" */
    in(h, a, t, "R6:xYz\r\nq");      /* edit an old line: not sent again */
    in(h, a, t, "A1:\n");            /* "q" */
    in(h, a, t, "R8:x\r\ny\r\nz\n"); /* a 3rd line completed inside an R: "z" */
    in(h, a, t, "R3:one");           /* lines deleted: count follows */
    in(h, a, t, "A5:\ntwo\n");       /* "one", "two" */
    in(h, a, t, "A4:   \n");         /* blank lines are not messages */
    expect_lines(h, b, "guest-1: hell\r\n", "guest-1: xyz\r\n", "guest-1: q\r\n",
                 "guest-1: z\r\n", "guest-1: one\r\n", "guest-1: two\r\n", NULL);
    /* The BRIEF's sequence: paste, Enter, "ab", Backspace, clear. */
    in(h, a, t, "R0:");
    in(h, a, t, "A12:¿Qué tal? 😀A2:\r\nA1:aA1:bR15:¿Qué tal? 😀\r\naR0:");
    expect_lines(h, b, "guest-1: ¿Qué tal? 😀\r\n", NULL);
    gw_hub_free(h);
}

static void commands(void **state)
{
    (void)state;
    uint64_t a, b, w;
    struct gw_hub *h = room(&a, &b, &w);
    type(h, a, T0 + 1, "/nick robert\n");
    expect_lines(h, b, "* guest-1 is now robert\r\n", NULL);
    expect(h, w, "{\"type\":\"nick\",\"room\":\"#lobby\",\"id\":4,\"time\":1795555200001,\"pid\":1,\"nick\":\"robert\",\"old\":\"guest-1\",\"via\":\"tcp\"}|");
    in(h, a, T0 + 2, "A6:/who\r\n");
    expect_lines(h, a, "* guest-1 is now robert\r\n", "* 3 here: alice (web), guest-2 (tcp), robert (tcp)\r\n", NULL);
    say(h, w, T0 + 3, "{\"type\":\"say\",\"text\":\"/me waves\",\"ref\":1}");
    expect_lines(h, b, "* alice waves\r\n", NULL);
    expect(h, w, "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":5,\"time\":1795555200003,\"pid\":3,\"nick\":\"alice\",\"via\":\"web\",\"text\":\"waves\",\"me\":true}|");
    say(h, w, T0 + 4, "{\"type\":\"say\",\"text\":\"/dance\",\"ref\":2}");
    expect(h, w, "{\"type\":\"error\",\"code\":502,\"message\":\"unknown command /dance (try /help)\",\"ref\":2}|");
    say(h, w, T0 + 5, "{\"type\":\"say\",\"text\":\"/me\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"usage: /me ACTION\"}|");
    in(h, b, T0 + 6, "A6:/help\n");
    expect_lines(h, b, "* commands: /nick NAME, /me ACTION, /who, /join #ROOM, /part, /rooms, /msg NICK TEXT, /delete ID or last, /help, /login KEY; start a line with // to send one starting with /\r\n", NULL);
    in(h, b, T0 + 7, "A13:/nick ROBERT\n");
    expect_lines(h, b, "* error 553: nick \"ROBERT\" is taken\r\n", NULL);
    /* Lines only the gateway writes ("* alice -> you: ...") cannot be
     * forged: no one is called you, no action starts with "->". */
    in(h, b, T0 + 7, "A10:/nick yoU\n");
    expect_lines(h, b, "* error 553: the nick you is reserved\r\n", NULL);
    in(h, b, T0 + 7, "A14:/me -> you: x\n");
    expect_lines(h, b, "* error 501: an action may not start with ->\r\n", NULL);
    say(h, w, T0 + 8, "{\"type\":\"say\",\"text\":\"//x\"}");
    expect_lines(h, b, "alice: /x\r\n", NULL);
    gw_hub_free(h);
}

static void web_nick_and_sequence(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0);
    free(drain(h, a));
    uint64_t w = web(h, T0, NULL);
    say(h, w, T0, "{\"type\":\"say\",\"text\":\"hi\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":503,\"message\":\"send hello first\"}|");
    /* A nick that is not allowed: 553, and the browser joins as a guest. */
    say(h, w, T0, "{\"type\":\"hello\",\"nick\":\"guest-5\",\"ref\":\"h\"}");
    char *out = drain(h, w);
    /* One write: the error, the welcome, its own join. */
    assert_memory_equal(out, "[{\"type\":\"error\",\"code\":553,\"message\":\"nicks starting with guest- are reserved\",\"ref\":\"h\"},{\"type\":\"welcome\"", 108);
    assert_non_null(strstr(out, "\"you\":{\"pid\":2,\"nick\":\"guest-2\",\"via\":\"web\"}"));
    free(out);
    say(h, w, T0, "{\"type\":\"hello\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":503,\"message\":\"hello was already sent\"}|");
    say(h, w, T0, "{\"type\":\"nick\",\"room\":\"#lobby\",\"nick\":\"guest-1\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":553,\"message\":\"nicks starting with guest- are reserved\"}|");
    say(h, w, T0, "{\"type\":\"nick\",\"room\":\"#lobby\",\"nick\":\"9x\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":553,\"message\":\"nick must start with a letter\"}|");
    say(h, w, T0, "{\"type\":\"say\",\"text\":\"\\r\\n\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"text is empty\"}|");
    gw_hub_free(h);
}

static void transcript_trim(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0), b = tcp(h, T0);
    free(drain(h, a));
    free(drain(h, b));
    char line[128];
    int trims = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(line, sizeof line, "message number %05d xxxxxxxx\n", i);
        type(h, a, T0 + i, line);
        char *out = drain(h, b);
        if (out[0] == 'R') {
            trims++;
            /* The whole transcript, cut at a line boundary, ending with
             * the newest line, within the cap. */
            char *colon = strchr(out, ':');
            size_t n = strlen(colon + 1) - 1;
            assert_true(n <= GW_TRANSCRIPT_KEEP_BYTES);
            assert_memory_equal(colon + 1, "guest-1: message number ", 24);
            snprintf(line, sizeof line, "guest-1: message number %05d xxxxxxxx\r\n|", i);
            assert_string_equal(colon + 1 + n + 1 - strlen(line), line);
        } else {
            snprintf(line, sizeof line, "A40:guest-1: message number %05d xxxxxxxx\r\n|", i);
            assert_string_equal(out, line);
        }
        free(out);
    }
    assert_true(trims >= 2);
    gw_hub_free(h);
}

/* A TCP participant that does not read: its queue stays within the bound,
 * and when it reads again it gets one R of the transcript. */
static void tcp_slow_consumer(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0), slow = tcp(h, T0);
    free(drain(h, a));
    free(drain(h, slow));
    char line[128];
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "A10:m%08d\n", i);
        in(h, a, T0, line);
        assert_true(gw_hub_queued_bytes(h, slow) <= GW_TCP_QUEUE_MAX_BYTES);
        free(drain(h, a));
    }
    char *out = drain(h, slow);
    assert_int_equal(out[0], 'R');
    assert_non_null(strstr(out, "guest-1: m00002999\r\n"));
    assert_null(strstr(out, "m00000000"));
    free(out);
    gw_hub_free(h);
}

/* A browser that does not read is closed with 4421 and holds nothing. */
static void web_slow_consumer(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0);
    uint64_t slow = web(h, T0, "{\"type\":\"hello\"}");
    free(drain(h, a));
    char line[128];
    int i;
    for (i = 0; i < 20000 && gw_hub_closing(h, slow, NULL, NULL) == 0; i++) {
        snprintf(line, sizeof line, "A10:m%08d\n", i);
        in(h, a, T0, line);
        assert_true(gw_hub_queued_bytes(h, slow) <= GW_WEB_QUEUE_MAX_BYTES);
        free(drain(h, a));
    }
    assert_true(i < 20000);
    int code;
    const char *reason;
    assert_int_equal(gw_hub_closing(h, slow, &code, &reason), 1);
    assert_int_equal(code, GW_CLOSE_BEHIND);
    assert_string_equal(reason, "too far behind");
    assert_int_equal(gw_hub_queued_bytes(h, slow), 0);
    expect(h, slow, "");
    gw_hub_disconnect(h, slow, T0, GW_LEAVE_BEHIND);
    expect_lines(h, a, "* guest-2 left\r\n", NULL);
    gw_hub_free(h);
}

/* Several waiting events leave in one write; a single one is shared. */
static void batching_and_sharing(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0), b = tcp(h, T0);
    uint64_t w1 = web(h, T0, "{\"type\":\"hello\"}"), w2 = web(h, T0, "{\"type\":\"hello\"}");
    free(drain(h, a));
    free(drain(h, b));
    free(drain(h, w1));
    free(drain(h, w2));
    in(h, a, T0, "A4:one\n");
    struct gw_buf *x, *y;
    assert_int_equal(gw_hub_take(h, w1, &x), 1);
    assert_int_equal(gw_hub_take(h, w2, &y), 1);
    assert_ptr_equal(x, y); /* encoded once, shared by both queues */
    gw_buf_unref(x);
    gw_buf_unref(y);
    in(h, a, T0, "A4:two\nA6:three\n");
    expect(h, b, "A14:guest-1: one\r\nA14:guest-1: two\r\nA16:guest-1: three\r\n|");
    char *out = drain(h, w1);
    assert_int_equal(out[0], '[');
    assert_non_null(strstr(out, "\"text\":\"two\",\"me\":false},{\"type\":\"message\""));
    assert_string_equal(out + strlen(out) - 3, "}]|");
    free(out);
    gw_hub_free(h);
}

/* Resuming in the same epoch (the hub's, 0 here): see test_hub_epoch.c for
 * other epochs. */
static void resume_by_id(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0);                               /* id 1: join */
    uint64_t w = web(h, T0, "{\"type\":\"hello\"}");        /* id 2: join */
    in(h, a, T0 + 1, "A2:a\n");                            /* id 3 */
    gw_hub_disconnect(h, w, T0 + 2, GW_LEAVE_CLOSED);      /* id 4: leave */
    in(h, a, T0 + 3, "A2:b\nA2:c\n");                      /* ids 5, 6 */
    w = web(h, T0 + 4, "{\"type\":\"hello\",\"last_id\":3,\"epoch\":\"0000000000000000\"}");
    char *out = drain(h, w);
    const char *want =
        "\"history\":[{\"type\":\"leave\",\"room\":\"#lobby\",\"id\":4,\"time\":1795555200002,\"pid\":2,\"nick\":\"guest-2\",\"via\":\"web\",\"reason\":\"closed\"},"
        "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":5,\"time\":1795555200003,\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"b\",\"me\":false},"
        "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":6,\"time\":1795555200003,\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"c\",\"me\":false}],"
        "\"last_id\":6,\"gap\":false}";
    if (!strstr(out, want))
        fail_msg("got %s", out);
    /* Then its own join, id 7, live. */
    assert_non_null(strstr(out, "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":7,"));
    free(out);
    /* A last_id from before the retained history: gap. */
    for (unsigned i = 0; i < GW_HISTORY_MAX_EVENTS; i++)
        in(h, a, T0 + 5, "A2:z\n");
    uint64_t w2 = web(h, T0 + 6, "{\"type\":\"hello\",\"last_id\":3,\"epoch\":\"0000000000000000\"}");
    out = drain(h, w2);
    assert_non_null(strstr(out, "\"gap\":true}"));
    free(out);
    /* A last_id past the latest (of this epoch, so none was ever sent):
     * gap, recent history. */
    uint64_t w3 = web(h, T0 + 6, "{\"type\":\"hello\",\"last_id\":999999,\"epoch\":\"0000000000000000\"}");
    out = drain(h, w3);
    assert_non_null(strstr(out, "\"gap\":true}"));
    free(out);
    gw_hub_free(h);
}

static void bad_tcp_frame(void **state)
{
    (void)state;
    struct gw_hub *h = hub(0);
    uint64_t a = tcp(h, T0), b = tcp(h, T0);
    free(drain(h, a));
    free(drain(h, b));
    in(h, a, T0, "A2:okA1234567890123456789:");
    int code;
    const char *reason;
    assert_int_equal(gw_hub_closing(h, a, &code, &reason), 1);
    assert_non_null(strstr(reason, "malformed frame"));
    char *out = drain(h, a);
    assert_memory_equal(out, "A", 1);
    assert_non_null(strstr(out, ":* error 500: malformed frame: "));
    assert_non_null(strstr(out, "; closing\r\n|"));
    free(out);
    /* Input after that is ignored; the other participant is unaffected. */
    in(h, a, T0, "A3:x\r\n");
    expect(h, b, "");
    in(h, b, T0, "A3:hi\n");
    expect(h, b, "A13:guest-2: hi\r\n|");
    assert_int_equal(gw_hub_disconnect(h, a, T0, GW_LEAVE_ERROR), GW_OK);
    assert_int_equal(gw_hub_disconnect(h, a, T0, GW_LEAVE_ERROR), GW_ENOENT);
    assert_int_equal(gw_hub_tcp_input(h, a, T0, "x", 1), GW_ENOENT);
    gw_hub_free(h);
}

static void rate_limit(void **state)
{
    (void)state;
    struct gw_hub *h = hub(1); /* 1 a second, burst 2 */
    uint64_t w = web(h, T0, "{\"type\":\"hello\"}");
    free(drain(h, w));
    say(h, w, T0, "{\"type\":\"say\",\"text\":\"1\"}");
    say(h, w, T0, "{\"type\":\"say\",\"text\":\"2\"}");
    free(drain(h, w));
    say(h, w, T0, "{\"type\":\"say\",\"text\":\"3\"}");
    expect(h, w, "{\"type\":\"error\",\"code\":429,\"message\":\"too many messages: slow down (not sent)\"}|");
    say(h, w, T0 + 1000, "{\"type\":\"say\",\"text\":\"4\"}");
    char *out = drain(h, w);
    assert_non_null(strstr(out, "\"text\":\"4\""));
    free(out);
    gw_hub_free(h);
}

static void shutdown_and_full(void **state)
{
    (void)state;
    struct gw_hub *h;
    struct gw_hub_config cfg = {.max_participants = 1};
    assert_int_equal(gw_hub_new(&h, &cfg), GW_OK);
    uint64_t w = web(h, T0, "{\"type\":\"hello\"}");
    uint64_t extra = web(h, T0, NULL);
    int code;
    assert_int_equal(gw_hub_closing(h, extra, &code, NULL), 1);
    assert_int_equal(code, GW_CLOSE_TRY_LATER);
    expect(h, extra, "{\"type\":\"bye\",\"code\":421,\"message\":\"the gateway is full, try again later\"}|");
    free(drain(h, w));
    gw_hub_shutdown(h, T0);
    assert_int_equal(gw_hub_closing(h, w, &code, NULL), 1);
    assert_int_equal(code, GW_CLOSE_GOING_AWAY);
    expect(h, w, "{\"type\":\"bye\",\"code\":421,\"message\":\"gateway shutting down\"}|");
    unsigned t, wb;
    gw_hub_counts(h, &t, &wb);
    assert_int_equal(t, 0);
    assert_int_equal(wb, 1);
    gw_hub_free(h);
}

static struct gw_hub *hub_cfg(struct gw_hub_config cfg)
{
    struct gw_hub *h;
    cfg.headroom = 16;
    cfg.wake = on_wake;
    assert_int_equal(gw_hub_new(&h, &cfg), GW_OK);
    return h;
}

/* With a key, a TCP participant sees only the prompt until /login; it is
 * not in the room (no join, not listed, no transcript); a wrong key is 530
 * and the end. */
static void tcp_login(void **state)
{
    (void)state;
    struct gw_hub *h = hub_cfg((struct gw_hub_config){.key = "s3cret"});
    uint64_t w = web(h, T0, "{\"type\":\"hello\",\"nick\":\"w\",\"key\":\"s3cret\"}");
    free(drain(h, w));
    uint64_t a = tcp(h, T0);
    expect(h, a, "WINTALK .NETR0:R0:R0:R0:|R53:* this gateway needs an access key: type /login KEY\r\n|");
    unsigned t, wc;
    gw_hub_counts(h, &t, &wc);
    assert_int_equal(t, 0);
    assert_int_equal(gw_hub_joined(h, a), 0);
    type(h, a, T0, "hello\r\n");
    expect_lines(h, a, "* error 530: access key required: type /login KEY\r\n", NULL);
    expect(h, w, ""); /* nothing reached the room, not even typing */
    type(h, a, T0, "/login s3cret\r\n");
    assert_int_equal(gw_hub_joined(h, a), 1);
    expect(h, a, "R72:* w joined (web)\r\n* guest-1 joined (tcp)\r\n* you are in #lobby (2 here)\r\n|");
    char *got = drain(h, w);
    assert_non_null(strstr(got, "\"type\":\"join\""));
    assert_null(strstr(got, "s3cret"));
    free(got);
    uint64_t b = tcp(h, T0);
    free(drain(h, b));
    type(h, b, T0, "/login nope\r\n");
    expect_lines(h, b, "* error 530: wrong access key; closing\r\n", NULL);
    assert_int_equal(gw_hub_closing(h, b, NULL, NULL), 1);
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_KEY], 1);
    gw_hub_free(h);
}

/* The hub's clock measures durations; events carry wall time, which the
 * adapter gives as an offset (gw_hub_set_wall_clock). A step of the wall
 * clock changes event times only, never the rate limits. */
static void wall_clock_offset(void **state)
{
    (void)state;
    struct gw_hub *h = hub(1); /* 1 message/s, a burst of 2 */
    const int64_t mono = 5000;
    gw_hub_set_wall_clock(h, T0, mono);
    uint64_t a = web(h, mono, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    free(drain(h, a));
    say(h, a, mono, "{\"type\":\"say\",\"text\":\"one\"}");
    say(h, a, mono, "{\"type\":\"say\",\"text\":\"two\"}");
    say(h, a, mono, "{\"type\":\"say\",\"text\":\"three\"}");
    char *got = drain(h, a);
    assert_non_null(strstr(got, "\"time\":1795555200000,\"pid\":1,\"nick\":\"alice\",\"via\":\"web\",\"text\":\"one\""));
    assert_non_null(strstr(got, "\"code\":429"));
    free(got);
    /* The wall clock is stepped back an hour while one second passes. */
    gw_hub_set_wall_clock(h, T0 - 3600000 + 1000, mono + 1000);
    say(h, a, mono + 1000, "{\"type\":\"say\",\"text\":\"four\"}");
    got = drain(h, a);
    assert_non_null(strstr(got, "\"time\":1795551601000,\"pid\":1,\"nick\":\"alice\",\"via\":\"web\",\"text\":\"four\""));
    assert_null(strstr(got, "\"code\":429"));
    free(got);
    gw_hub_free(h);
}

static void typing_rate_and_abuse(void **state)
{
    (void)state;
    struct gw_hub *h = hub_cfg((struct gw_hub_config){.rate = 2, .typing_rate = 2, .abuse_strikes = 5});
    uint64_t a = web(h, T0, "{\"type\":\"hello\"}");
    free(drain(h, a));
    /* A burst of 4 typing updates is fine; the 5th is 429. */
    for (int i = 0; i < 4; i++)
        say(h, a, T0, "{\"type\":\"typing\",\"room\":\"#lobby\",\"text\":\"x\"}");
    expect(h, a, "");
    say(h, a, T0, "{\"type\":\"typing\",\"room\":\"#lobby\",\"text\":\"x\",\"ref\":1}");
    expect(h, a, "{\"type\":\"error\",\"code\":429,\"message\":\"typing updates too fast: slow down\",\"ref\":1}|");
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_TYPING_RATE], 1);
    /* Strikes leak at the rate: a second later, one more 429 is no abuse. */
    say(h, a, T0 + 1000, "{\"type\":\"typing\",\"room\":\"#lobby\",\"text\":\"y\"}");
    say(h, a, T0 + 1000, "{\"type\":\"typing\",\"room\":\"#lobby\",\"text\":\"y\"}");
    say(h, a, T0 + 1000, "{\"type\":\"typing\",\"room\":\"#lobby\",\"text\":\"y\"}");
    assert_int_equal(gw_hub_closing(h, a, NULL, NULL), 0);
    /* A flood: past 5 strikes, it is closed with 1008. */
    for (int i = 0; i < 10; i++)
        say(h, a, T0 + 1000, "{\"type\":\"say\",\"text\":\"spam\"}");
    int code;
    const char *why;
    assert_int_equal(gw_hub_closing(h, a, &code, &why), 1);
    assert_int_equal(code, GW_CLOSE_POLICY);
    assert_string_equal(why, "flooding far over the rate limit");
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_ABUSE], 1);

    /* TCP: a flood of lines in one read gets 429s, then a last line. */
    uint64_t t = tcp(h, T0);
    free(drain(h, t));
    char flood[4096] = "";
    for (int i = 0; i < 40; i++)
        strcat(flood, "A3:x\r\n");
    in(h, t, T0 + 2000, flood);
    char *got = drain(h, t);
    assert_non_null(strstr(got, "* error 429: too many messages"));
    assert_non_null(strstr(got, "* error 429: flooding far over the rate limit; closing\r\n"));
    free(got);
    assert_int_equal(gw_hub_closing(h, t, NULL, NULL), 1);
    gw_hub_free(h);
}

static void refuse_and_limits(void **state)
{
    (void)state;
    struct gw_hub *h = hub_cfg((struct gw_hub_config){.line_max = 16, .nick_max = 4});
    uint64_t r;
    assert_int_equal(gw_hub_refuse(h, GW_VIA_TCP, NULL, "too many connections from 127.0.0.1", &r), GW_OK);
    expect(h, r, "WINTALK .NETR0:R0:R0:R0:|A50:* error 421: too many connections from 127.0.0.1\r\n|");
    assert_int_equal(gw_hub_closing(h, r, NULL, NULL), 1);
    assert_int_equal(gw_hub_refuse(h, GW_VIA_WEB, NULL, "busy", &r), GW_OK);
    expect(h, r, "{\"type\":\"error\",\"code\":421,\"message\":\"busy\"}|");
    uint64_t a = web(h, T0, "{\"type\":\"hello\",\"nick\":\"abcde\"}");
    char *got = drain(h, a);
    assert_non_null(strstr(got, "\"code\":553"));
    free(got);
    say(h, a, T0, "{\"type\":\"nick\",\"room\":\"#lobby\",\"nick\":\"abcd\"}");
    say(h, a, T0, "{\"type\":\"say\",\"text\":\"0123456789abcdefg\"}");
    got = drain(h, a);
    assert_non_null(strstr(got, "\"nick\":\"abcd\""));
    assert_non_null(strstr(got, "message too long (at most 16 bytes)"));
    free(got);
    gw_hub_free(h);
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *q = strstr(hay, needle); q; q = strstr(q + 1, needle))
        n++;
    return n;
}

/* A crowd (more than GW_PRESENCE_MAX connected): joins and leaves are no
 * longer events, and a welcome lists GW_PRESENCE_MAX participants, the
 * newcomer among them, with the room's size. */
static void crowd_presence(void **state)
{
    (void)state;
    struct gw_hub *h = hub_cfg((struct gw_hub_config){.max_participants = GW_PRESENCE_MAX + 10});
    uint64_t pids[GW_PRESENCE_MAX + 1];
    for (size_t i = 0; i <= GW_PRESENCE_MAX; i++) {
        pids[i] = web(h, T0, "{\"type\":\"hello\"}");
        if (i)
            free(drain(h, pids[i]));
    }
    char *first = drain(h, pids[0]);
    char want[64];
    snprintf(want, sizeof want, "\"type\":\"join\",");
    assert_int_equal(count_of(first, want), GW_PRESENCE_MAX); /* its own and 499 others */
    snprintf(want, sizeof want, "\"pid\":%llu,", (unsigned long long)pids[GW_PRESENCE_MAX]);
    assert_null(strstr(first, want));
    free(first);

    uint64_t last = web(h, T0, "{\"type\":\"hello\"}"); /* the 502nd */
    char *welcome = drain(h, last);
    assert_int_equal(count_of(welcome, "{\"pid\":"), 1 + GW_PRESENCE_MAX); /* you + list */
    snprintf(want, sizeof want, ",{\"pid\":%llu,", (unsigned long long)last);
    assert_non_null(strstr(welcome, want));
    snprintf(want, sizeof want, "\"participants_count\":%u,", GW_PRESENCE_MAX + 2);
    assert_non_null(strstr(welcome, want));
    /* The welcome alone, no join of its own after it. */
    assert_int_equal(strncmp(welcome, "{\"type\":\"welcome\"", 17), 0);
    assert_int_equal(count_of(welcome, "|"), 1);
    free(welcome);

    /* Leaving a crowd is silent; once it is small again, leaves are told. */
    assert_int_equal(gw_hub_disconnect(h, last, T0, GW_LEAVE_CLOSED), GW_OK);
    assert_int_equal(gw_hub_disconnect(h, pids[GW_PRESENCE_MAX], T0, GW_LEAVE_CLOSED), GW_OK);
    expect(h, pids[0], "");
    assert_int_equal(gw_hub_disconnect(h, pids[GW_PRESENCE_MAX - 1], T0, GW_LEAVE_CLOSED), GW_OK);
    char *after = drain(h, pids[0]);
    assert_non_null(strstr(after, "\"type\":\"leave\""));
    free(after);
    gw_hub_free(h);
}

static void metrics_text(void **state)
{
    (void)state;
    struct gw_hub *h = hub(1);
    uint64_t a = web(h, T0, "{\"type\":\"hello\"}");
    uint64_t t = tcp(h, T0);
    for (int i = 0; i < 3; i++)
        say(h, a, T0, "{\"type\":\"say\",\"text\":\"hi\"}");
    struct gw_metrics *m = gw_hub_metrics(h);
    assert_int_equal(m->messages_in[GW_VIA_WEB], 3);
    assert_int_equal(m->rejections[GW_REJ_RATE], 1);
    assert_int_equal(m->messages_out[GW_VIA_TCP], 2);
    assert_int_equal(m->messages_out[GW_VIA_WEB], 2);
    assert_int_equal(m->errors[gw_metrics_code_index(429)], 1);
    assert_true(m->queue_high_water[GW_VIA_TCP] > 0);
    char text[GW_METRICS_TEXT_MAX];
    struct gw_metrics_now now = {.participants = {1, 1}, .connections = 2, .last_id = 4,
                                 .uptime_s = 1.5, .ready = 1};
    int n = gw_metrics_format(m, &now, text, sizeof text);
    assert_true(n > 0);
    assert_non_null(strstr(text, "# TYPE wintalk_messages_in_total counter\n"));
    assert_non_null(strstr(text, "wintalk_messages_in_total{transport=\"web\"} 3\n"));
    assert_non_null(strstr(text, "wintalk_rejections_total{reason=\"rate\"} 1\n"));
    assert_non_null(strstr(text, "wintalk_errors_total{code=\"429\"} 1\n"));
    assert_non_null(strstr(text, "wintalk_uptime_seconds 1.500\n"));
    assert_int_equal(gw_metrics_format(m, &now, text, 100), -1);
    (void)t;
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_greeting),
        cmocka_unit_test(more_after_a_write_only_when_something_waits),
        cmocka_unit_test(line_char_by_char),
        cmocka_unit_test(typing_throttle),
        cmocka_unit_test(a_command_is_not_typing),
        cmocka_unit_test(draft_edits),
        cmocka_unit_test(commands),
        cmocka_unit_test(web_nick_and_sequence),
        cmocka_unit_test(transcript_trim),
        cmocka_unit_test(tcp_slow_consumer),
        cmocka_unit_test(web_slow_consumer),
        cmocka_unit_test(batching_and_sharing),
        cmocka_unit_test(resume_by_id),
        cmocka_unit_test(bad_tcp_frame),
        cmocka_unit_test(rate_limit),
        cmocka_unit_test(shutdown_and_full),
        cmocka_unit_test(tcp_login),
        cmocka_unit_test(typing_rate_and_abuse),
        cmocka_unit_test(wall_clock_offset),
        cmocka_unit_test(refuse_and_limits),
        cmocka_unit_test(metrics_text),
        cmocka_unit_test(crowd_presence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
