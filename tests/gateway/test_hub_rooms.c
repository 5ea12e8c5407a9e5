/*
 * test_hub_rooms.c - rooms and private messages in the pure hub: a TCP
 * participant's pane switching rooms, ids per room, events reaching their
 * room's members only, the crowd rule per room, dropping the least recently
 * active empty room at --max-rooms, private messages (delivered, echoed,
 * resumed with the token; an impostor gets nothing), wintalk.v1 in #lobby
 * only, and the lines no one may forge. Time is an argument and the random
 * source is a counter, so every byte is asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_limits.h"
#include "hubtest.h"
#include "wt_codec.h"

/* A random source that is not: the n-th call fills every byte with n, so
 * the n-th token is "0n0n...". */
static unsigned random_calls;

static int counter_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, (int)++random_calls, len);
    return 0;
}

static int failing_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return -1;
}

static struct gw_hub *hub(struct gw_hub_config cfg)
{
    random_calls = 0;
    if (!cfg.random)
        cfg.random = counter_random;
    return ht_hub(cfg);
}

/* A wintalk.v2 browser, and its hello when one is given. */
static uint64_t web2(struct gw_hub *h, int64_t now, const char *hello)
{
    uint64_t pid;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, now, &pid), GW_OK);
    if (hello)
        assert_int_equal(gw_hub_web_input(h, pid, now, hello, strlen(hello)), GW_OK);
    return pid;
}

static void json(struct gw_hub *h, uint64_t pid, int64_t now, const char *s)
{
    assert_int_equal(gw_hub_web_input(h, pid, now, s, strlen(s)), GW_OK);
}

/* A line typed by a TCP participant, as one A frame. */
static void line(struct gw_hub *h, uint64_t pid, int64_t now, const char *text)
{
    char buf[512], with_end[256];
    size_t n;
    snprintf(with_end, sizeof with_end, "%s\r\n", text);
    assert_int_equal(wt_frame_encode(buf, sizeof buf, &n, WT_OP_APPEND, with_end,
                                     strlen(with_end)),
                     WT_OK);
    assert_int_equal(gw_hub_tcp_input(h, pid, now, buf, n), GW_OK);
}

/* A WINTALK frame of text (op 'A' or 'R'), as the hub writes it. */
static char *frame(char op, const char *text)
{
    static char out[8][4096];
    static int next;
    char *o = out[next++ % 8];
    size_t n;
    assert_int_equal(wt_frame_encode(o, 4096, &n, op == 'R' ? WT_OP_REPLACE : WT_OP_APPEND, text,
                                     strlen(text)),
                     WT_OK);
    o[n] = '\0';
    return o;
}

/* What pid is sent must be exactly these frames, each a write (a list of
 * op, text pairs ending with 0). */
static void expect_frames(struct gw_hub *h, uint64_t pid, ...)
{
    char want[16384] = "";
    va_list ap;
    va_start(ap, pid);
    for (int op; (op = va_arg(ap, int));) {
        const char *text = va_arg(ap, const char *);
        strcat(want, frame((char)op, text));
        strcat(want, "|");
    }
    va_end(ap);
    ht_expect(h, pid, want);
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *q = strstr(hay, needle); q; q = strstr(q + 1, needle))
        n++;
    return n;
}

/* ---- TCP: one room at a time, its pane the room's transcript ---- */

static void tcp_join_and_part_switch_panes(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t a = ht_tcp(h, T0), b = ht_tcp(h, T0);
    free(ht_drain(h, a));
    free(ht_drain(h, b));

    /* a goes to #dev: a leave in #lobby, a join in #dev, and its pane is
     * one R of #dev's transcript with where it is at the end. */
    line(h, a, T0 + 1, "/join #dev");
    expect_frames(h, a, 'R', "* guest-1 joined (tcp)\r\n* you are in #dev (1 here)\r\n", 0);
    expect_frames(h, b, 'A', "* guest-1 left\r\n", 0);
    assert_int_equal(gw_hub_room_members(h, "#DEV"), 1);
    assert_int_equal(gw_hub_room_members(h, "#lobby"), 1);

    /* b follows, spelling it otherwise: the same room. */
    line(h, b, T0 + 2, "/join #Dev");
    expect_frames(h, b, 'R',
                  "* guest-1 joined (tcp)\r\n* guest-2 joined (tcp)\r\n* you are in #dev (2 here)\r\n",
                  0);
    expect_frames(h, a, 'A', "* guest-2 joined (tcp)\r\n", 0);
    line(h, a, T0 + 3, "in dev");
    expect_frames(h, a, 'A', "guest-1: in dev\r\n", 0);
    expect_frames(h, b, 'A', "guest-1: in dev\r\n", 0);
    line(h, a, T0 + 4, "/who");
    expect_frames(h, a, 'A', "* 2 here: guest-1 (tcp), guest-2 (tcp)\r\n", 0);

    /* /join of the room it is in shows the pane again, and nothing else
     * happens; /part of another room is refused. */
    line(h, a, T0 + 5, "/join #dev");
    expect_frames(h, a, 'R',
                  "* guest-1 joined (tcp)\r\n* guest-2 joined (tcp)\r\nguest-1: in dev\r\n"
                  "* you are in #dev (2 here)\r\n",
                  0);
    expect_frames(h, b, 0);
    line(h, a, T0 + 6, "/part #lobby");
    expect_frames(h, a, 'A', "* error 501: not in #lobby\r\n", 0);

    /* /part takes it back to #lobby, whose transcript it gets. */
    line(h, a, T0 + 7, "/part");
    expect_frames(h, a, 'R',
                  "* guest-1 joined (tcp)\r\n* guest-2 joined (tcp)\r\n* guest-1 left\r\n"
                  "* guest-2 left\r\n* guest-1 joined (tcp)\r\n* you are in #lobby (1 here)\r\n",
                  0);
    expect_frames(h, b, 'A', "* guest-1 left\r\n", 0);
    line(h, a, T0 + 8, "/part");
    expect_frames(h, a, 'A', "* error 501: you are in #lobby; /join #room to go elsewhere\r\n", 0);
    line(h, a, T0 + 9, "/join dev");
    expect_frames(h, a, 'A',
                  "* error 553: room name not allowed: dev (a room is # and 1 to 32 letters, "
                  "digits, -, _ or .)\r\n",
                  0);
    line(h, a, T0 + 10, "/join");
    expect_frames(h, a, 'A', "* error 501: usage: /join #ROOM\r\n", 0);
    /* b, alone in #dev, leaves the gateway: a leave in #dev only. */
    assert_int_equal(gw_hub_room_members(h, "#dev"), 1);
    gw_hub_disconnect(h, b, T0 + 11, GW_LEAVE_CLOSED);
    expect_frames(h, a, 0);
    assert_int_equal(gw_hub_room_members(h, "#dev"), 0);
    gw_hub_free(h);
}

/* A TCP participant's typing is seen in its room only, and stops in the
 * room it leaves. */
static void tcp_typing_in_its_room(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t a = ht_tcp(h, T0);
    uint64_t lobby = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"l\"}");
    uint64_t dev = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"d\",\"rooms\":{\"#dev\":0}}");
    line(h, a, T0, "/join #dev");
    free(ht_drain(h, a));
    free(ht_drain(h, lobby));
    free(ht_drain(h, dev));
    ht_in(h, a, T0 + 1000, "A3:abc");
    ht_expect(h, dev, "{\"type\":\"typing\",\"room\":\"#dev\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"abc\"}|");
    ht_expect(h, lobby, "");
    /* It goes back to #lobby with "abc" still in its box (a second line
     * completed in an R): #dev is told it stopped, #lobby gets the text. */
    ht_in(h, a, T0 + 2000, "R22:/join #dev\r\n/part\r\nabc");
    char *got = ht_drain(h, dev);
    assert_non_null(strstr(got, "{\"type\":\"typing\",\"room\":\"#dev\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"\"}"));
    assert_non_null(strstr(got, "{\"type\":\"leave\",\"room\":\"#dev\",\"id\":3,"));
    free(got);
    got = ht_drain(h, lobby);
    assert_null(strstr(got, "\"room\":\"#dev\""));
    assert_non_null(strstr(got, "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":5,"));
    assert_non_null(strstr(got, "{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"abc\"}"));
    free(got);
    gw_hub_free(h);
}

/* ---- ids per room, fan-out to members only ---- */

static void ids_per_room_and_isolation(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t a = ht_tcp(h, T0);                                 /* #lobby 1: join */
    uint64_t b = ht_tcp(h, T0);                                 /* #lobby 2: join */
    uint64_t v1 = ht_web(h, T0, "{\"type\":\"hello\",\"nick\":\"old\"}"); /* #lobby 3 */
    uint64_t w = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\",\"rooms\":{\"#dev\":0}}");
    line(h, a, T0, "/join #dev");
    for (uint64_t p = 1; p <= 4; p++)
        free(ht_drain(h, p));
    assert_int_equal(gw_hub_last_id(h), 5);           /* + alice's join, a's leave */
    assert_int_equal(gw_hub_room_last_id(h, "#dev"), 2); /* alice's join, a's join */

    line(h, a, T0 + 1, "only dev");
    ht_expect(h, w, "{\"type\":\"message\",\"room\":\"#dev\",\"id\":3,\"time\":1795555200001,\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"only dev\",\"me\":false}|");
    ht_expect(h, b, "");
    ht_expect(h, v1, "");
    expect_frames(h, a, 'A', "guest-1: only dev\r\n", 0);

    json(h, w, T0 + 2, "{\"type\":\"say\",\"text\":\"all\"}"); /* no room: #lobby */
    const char *lobby_msg = "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":6,\"time\":1795555200002,\"pid\":4,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"text\":\"all\",\"me\":false}|";
    ht_expect(h, w, lobby_msg);
    ht_expect(h, v1, lobby_msg); /* the same bytes for both protocols */
    expect_frames(h, b, 'A', "alice: all\r\n", 0);
    expect_frames(h, a, 0);
    json(h, w, T0 + 3, "{\"type\":\"say\",\"room\":\"#DEV\",\"text\":\"dev again\"}");
    ht_expect(h, w, "{\"type\":\"message\",\"room\":\"#dev\",\"id\":4,\"time\":1795555200003,\"pid\":4,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"text\":\"dev again\",\"me\":false}|");
    expect_frames(h, a, 'A', "alice: dev again\r\n", 0);
    assert_int_equal(gw_hub_room_last_id(h, "#dev"), 4);
    assert_int_equal(gw_hub_last_id(h), 6);

    /* A nick change is an event of every room, each with its own id. */
    json(h, w, T0 + 4, "{\"type\":\"nick\",\"nick\":\"alicia\"}");
    ht_expect(h, w, "[{\"type\":\"nick\",\"room\":\"#lobby\",\"id\":7,\"time\":1795555200004,\"pid\":4,\"nick\":\"alicia\",\"ident\":\"2e3fd578df3c0adc\",\"old\":\"alice\",\"via\":\"web\"},"
                    "{\"type\":\"nick\",\"room\":\"#dev\",\"id\":5,\"time\":1795555200004,\"pid\":4,\"nick\":\"alicia\",\"ident\":\"2e3fd578df3c0adc\",\"old\":\"alice\",\"via\":\"web\"}]|");
    expect_frames(h, a, 'A', "* alice is now alicia\r\n", 0);
    expect_frames(h, b, 'A', "* alice is now alicia\r\n", 0);
    ht_expect(h, v1, "{\"type\":\"nick\",\"room\":\"#lobby\",\"id\":7,\"time\":1795555200004,\"pid\":4,\"nick\":\"alicia\",\"ident\":\"2e3fd578df3c0adc\",\"old\":\"alice\",\"via\":\"web\"}|");

    /* Leaving the gateway: a leave in each of its rooms. */
    gw_hub_disconnect(h, w, T0 + 5, GW_LEAVE_CLOSED);
    expect_frames(h, a, 'A', "* alicia left\r\n", 0);
    expect_frames(h, b, 'A', "* alicia left\r\n", 0);
    ht_expect(h, v1, "{\"type\":\"leave\",\"room\":\"#lobby\",\"id\":8,\"time\":1795555200005,\"pid\":4,\"nick\":\"alicia\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"reason\":\"closed\"}|");
    gw_hub_free(h);
}

/* ---- wintalk.v2: hello, join, part, say and typing with a room ---- */

static void v2_welcome_join_part(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){.epoch = 0x5eed00000000a001ull});
    uint64_t t = ht_tcp(h, T0);
    free(ht_drain(h, t));
    /* #lobby comes first whatever the order asked; a bad name is refused
     * after the welcome, with its room. */
    uint64_t w = web2(h, T0 + 1, "{\"type\":\"hello\",\"nick\":\"alice\",\"rooms\":{\"#dev\":0,\"#a b\":0,\"#LOBBY\":0,\"#Dev\":0},\"ref\":\"h\"}");
    ht_expect(h, w,
              "[{\"type\":\"welcome\",\"code\":220,\"protocol\":\"wintalk.v2\",\"epoch\":\"5eed00000000a001\","
              "\"token\":\"01010101010101010101010101010101\",\"you\":{\"pid\":2,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"},\"text_max\":4096,"
              "\"rooms\":[{\"room\":\"#lobby\",\"participants\":[{\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"typing\":\"\"},"
              "{\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"}],\"participants_count\":2,"
              "\"history\":[{\"type\":\"join\",\"room\":\"#lobby\",\"id\":1,\"time\":1795555200000,\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\"}],"
              "\"last_id\":1,\"gap\":false},"
              "{\"room\":\"#dev\",\"participants\":[{\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"}],"
              "\"participants_count\":1,\"history\":[],\"last_id\":0,\"gap\":false}],"
              "\"private\":[],\"private_id\":0,\"reset\":false},"
              "{\"type\":\"error\",\"code\":553,\"message\":\"room name not allowed: #a b (a room is # and 1 to 32 letters, digits, -, _ or .)\",\"room\":\"#a b\",\"ref\":\"h\"},"
              "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":2,\"time\":1795555200001,\"pid\":2,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"},"
              "{\"type\":\"join\",\"room\":\"#dev\",\"id\":1,\"time\":1795555200001,\"pid\":2,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"}]|");

    /* join: the reply (first spelling kept), then its join event. */
    json(h, w, T0 + 2, "{\"type\":\"join\",\"room\":\"#Ops\",\"last_id\":0}");
    ht_expect(h, w,
              "[{\"type\":\"joined\",\"code\":250,\"room\":\"#Ops\",\"participants\":[{\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"}],"
              "\"participants_count\":1,\"history\":[],\"last_id\":0,\"gap\":false},"
              "{\"type\":\"join\",\"room\":\"#Ops\",\"id\":1,\"time\":1795555200002,\"pid\":2,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"}]|");
    /* Again: the same reply, a resync after last_id, and no event. */
    json(h, w, T0 + 3, "{\"type\":\"join\",\"room\":\"#ops\",\"last_id\":0}");
    ht_expect(h, w,
              "{\"type\":\"joined\",\"code\":250,\"room\":\"#Ops\",\"participants\":[{\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"}],"
              "\"participants_count\":1,\"history\":[{\"type\":\"join\",\"room\":\"#Ops\",\"id\":1,\"time\":1795555200002,\"pid\":2,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"}],"
              "\"last_id\":1,\"gap\":false}|");
    json(h, w, T0 + 4, "{\"type\":\"say\",\"room\":\"#ops\",\"text\":\"/rooms\"}");
    ht_expect(h, w, "{\"type\":\"info\",\"code\":211,\"text\":\"3 rooms: #lobby (2), #dev (1), #Ops (1)\"}|");
    json(h, w, T0 + 5, "{\"type\":\"say\",\"room\":\"#ops\",\"text\":\"/who\"}");
    ht_expect(h, w, "{\"type\":\"info\",\"code\":211,\"text\":\"1 here: alice (web)\"}|");
    /* part: its leave goes to the others (none here), then the reply. */
    json(h, w, T0 + 6, "{\"type\":\"say\",\"room\":\"#ops\",\"text\":\"/part\"}");
    ht_expect(h, w, "{\"type\":\"parted\",\"code\":250,\"room\":\"#Ops\"}|");
    assert_int_equal(gw_hub_room_members(h, "#ops"), 0);
    assert_int_equal(gw_hub_room_last_id(h, "#ops"), 2); /* the leave is kept */
    json(h, w, T0 + 7, "{\"type\":\"say\",\"room\":\"#ops\",\"text\":\"x\",\"ref\":1}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"not in #ops\",\"room\":\"#ops\",\"ref\":1}|");
    json(h, w, T0 + 8, "{\"type\":\"part\",\"room\":\"#lobby\",\"ref\":2}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"everyone stays in #lobby\",\"room\":\"#lobby\",\"ref\":2}|");
    json(h, w, T0 + 9, "{\"type\":\"part\",\"room\":\"#ops\",\"ref\":3}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"not in #ops\",\"room\":\"#ops\",\"ref\":3}|");
    json(h, w, T0 + 10, "{\"type\":\"join\",\"room\":\"#\",\"ref\":4}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":553,\"message\":\"room name not allowed: # (a room is # and 1 to 32 letters, digits, -, _ or .)\",\"room\":\"#\",\"ref\":4}|");
    json(h, w, T0 + 11, "{\"type\":\"join\",\"ref\":5}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"a required field is missing\",\"ref\":5}|");
    /* A TCP participant sees none of it but alice's join in #lobby. */
    expect_frames(h, t, 'A', "* alice joined (web)\r\n", 0);
    gw_hub_free(h);
}

/* Typing has one room at a time: typing elsewhere stops it in the first. */
static void v2_typing_moves(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t w = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\",\"rooms\":{\"#dev\":0}}");
    uint64_t d = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"dan\",\"rooms\":{\"#dev\":0}}");
    uint64_t l = ht_web(h, T0, "{\"type\":\"hello\",\"nick\":\"lou\"}");
    free(ht_drain(h, w));
    free(ht_drain(h, d));
    free(ht_drain(h, l));
    json(h, w, T0 + 1000, "{\"type\":\"typing\",\"room\":\"#dev\",\"text\":\"hel\"}");
    ht_expect(h, d, "{\"type\":\"typing\",\"room\":\"#dev\",\"pid\":1,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"text\":\"hel\"}|");
    ht_expect(h, l, "");
    json(h, w, T0 + 2000, "{\"type\":\"typing\",\"text\":\"lo\"}");
    /* dan is in both: it stopped in #dev, then the text in #lobby. */
    ht_expect(h, d, "[{\"type\":\"typing\",\"room\":\"#dev\",\"pid\":1,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"text\":\"\"},"
                    "{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"text\":\"lo\"}]|");
    ht_expect(h, l, "{\"type\":\"typing\",\"room\":\"#lobby\",\"pid\":1,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\",\"text\":\"lo\"}|");
    /* A newcomer to #lobby sees it in the welcome's list; one to #dev not. */
    uint64_t n = web2(h, T0 + 2001, "{\"type\":\"hello\",\"rooms\":{\"#dev\":0}}");
    char *got = ht_drain(h, n);
    assert_non_null(strstr(got, "{\"pid\":1,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"lo\"}"));
    assert_non_null(strstr(got, "{\"pid\":1,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"}"));
    free(got);
    free(ht_drain(h, w));
    json(h, w, T0 + 3000, "{\"type\":\"typing\",\"room\":\"#nope\",\"text\":\"x\",\"ref\":9}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"not in #nope\",\"room\":\"#nope\",\"ref\":9}|");
    gw_hub_free(h);
}

/* ---- the crowd rule, per room ---- */

static void crowd_per_room(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){.max_participants = GW_PRESENCE_MAX + 10});
    uint64_t pids[GW_PRESENCE_MAX + 1];
    for (size_t i = 0; i <= GW_PRESENCE_MAX; i++)
        pids[i] = web2(h, T0, "{\"type\":\"hello\"}");
    /* #lobby is a crowd (501): no more joins there. */
    uint64_t lobby_last = gw_hub_last_id(h);
    assert_int_equal(lobby_last, GW_PRESENCE_MAX);
    for (size_t i = 0; i <= GW_PRESENCE_MAX; i++)
        free(ht_drain(h, pids[i]));
    /* A small room among them is not: its joins and leaves are events. */
    json(h, pids[0], T0, "{\"type\":\"join\",\"room\":\"#small\"}");
    json(h, pids[1], T0, "{\"type\":\"join\",\"room\":\"#small\"}");
    char *got = ht_drain(h, pids[0]);
    assert_int_equal(count_of(got, "{\"type\":\"join\",\"room\":\"#small\","), 2);
    free(got);
    json(h, pids[1], T0, "{\"type\":\"part\",\"room\":\"#small\"}");
    got = ht_drain(h, pids[0]);
    assert_int_equal(count_of(got, "{\"type\":\"leave\",\"room\":\"#small\","), 1);
    assert_non_null(strstr(got, "\"reason\":\"part\""));
    free(got);
    /* Leaving the gateway: silent in #lobby (a crowd). */
    gw_hub_disconnect(h, pids[GW_PRESENCE_MAX], T0, GW_LEAVE_CLOSED);
    ht_expect(h, pids[2], "");
    assert_int_equal(gw_hub_last_id(h), lobby_last);
    gw_hub_free(h);
}

/* ---- --max-rooms: the least recently active empty room goes ---- */

static void eviction(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){.max_rooms = 3});
    uint64_t a = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"a\",\"rooms\":{\"#one\":0,\"#two\":0}}");
    free(ht_drain(h, a));
    assert_int_equal(gw_hub_rooms(h), 3);
    /* Every room occupied: 452, and nothing changes. */
    json(h, a, T0, "{\"type\":\"join\",\"room\":\"#three\",\"ref\":1}");
    ht_expect(h, a, "{\"type\":\"error\",\"code\":452,\"message\":\"too many rooms (at most 3)\",\"room\":\"#three\",\"ref\":1}|");
    assert_int_equal(gw_hub_room_members(h, "#three"), GW_ENOENT);
    /* Both empty: #one was active last, so #two goes first. */
    json(h, a, T0, "{\"type\":\"part\",\"room\":\"#two\"}");
    json(h, a, T0, "{\"type\":\"part\",\"room\":\"#one\"}");
    json(h, a, T0, "{\"type\":\"join\",\"room\":\"#three\"}");
    assert_int_equal(gw_hub_room_members(h, "#two"), GW_ENOENT);
    assert_int_equal(gw_hub_room_members(h, "#one"), 0);
    assert_int_equal(gw_hub_room_members(h, "#three"), 1);
    /* #two had ids 1 and 2 (a's join and leave): a room made after it
     * was dropped starts after them, so no id is given twice. */
    assert_int_equal(gw_hub_room_last_id(h, "#three"), 3);
    free(ht_drain(h, a));
    /* #lobby never goes, even when it is empty. */
    uint64_t t = ht_tcp(h, T0);
    line(h, t, T0, "/join #one");
    json(h, a, T0, "{\"type\":\"part\",\"room\":\"#three\"}");
    gw_hub_disconnect(h, a, T0, GW_LEAVE_CLOSED);
    assert_int_equal(gw_hub_room_members(h, "#lobby"), 0);
    line(h, t, T0, "/join #four");
    assert_int_equal(gw_hub_room_members(h, "#three"), GW_ENOENT);
    assert_int_equal(gw_hub_room_members(h, "#lobby"), 0);
    assert_int_equal(gw_hub_room_members(h, "#four"), 1);
    /* #one is empty again (t left it): #five takes its place. Then every
     * room has someone, and a TCP participant is told so as a line. */
    uint64_t t2 = ht_tcp(h, T0), t3 = ht_tcp(h, T0);
    line(h, t2, T0, "/join #five");
    assert_int_equal(gw_hub_room_members(h, "#one"), GW_ENOENT);
    free(ht_drain(h, t3));
    line(h, t3, T0, "/join #six");
    expect_frames(h, t3, 'A', "* error 452: too many rooms (at most 3)\r\n", 0);
    gw_hub_free(h);
}

/* --max-rooms-per-browser: 452 for the one too many, in hello and join. */
static void rooms_per_browser(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){.max_rooms_per_browser = 2});
    uint64_t a = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"a\",\"rooms\":{\"#one\":0,\"#two\":0}}");
    char *got = ht_drain(h, a);
    assert_non_null(strstr(got, "\"rooms\":[{\"room\":\"#lobby\","));
    assert_non_null(strstr(got, "{\"room\":\"#one\","));
    assert_null(strstr(got, "{\"room\":\"#two\","));
    assert_non_null(strstr(got, "{\"type\":\"error\",\"code\":452,\"message\":\"too many rooms for one browser (at most 2)\",\"room\":\"#two\"}"));
    free(got);
    json(h, a, T0, "{\"type\":\"join\",\"room\":\"#two\",\"ref\":7}");
    ht_expect(h, a, "{\"type\":\"error\",\"code\":452,\"message\":\"too many rooms for one browser (at most 2)\",\"room\":\"#two\",\"ref\":7}|");
    gw_hub_free(h);
}

/* ---- private messages ---- */

static void private_delivery_and_echo(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t dora = ht_tcp(h, T0);
    line(h, dora, T0, "/nick dora");
    uint64_t alice = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    uint64_t old = ht_web(h, T0, "{\"type\":\"hello\",\"nick\":\"old\"}");
    uint64_t ed = ht_tcp(h, T0);
    for (uint64_t p = 1; p <= 4; p++)
        free(ht_drain(h, p));
    uint64_t lobby_last = gw_hub_last_id(h);

    /* alice (wintalk.v2) to dora (TCP): a line of dora's own, the echo as
     * alice's private message 1. */
    json(h, alice, T0 + 1, "{\"type\":\"say\",\"text\":\"/msg DORA psst\"}");
    expect_frames(h, dora, 'A', "* alice -> you: psst\r\n", 0);
    ht_expect(h, alice, "{\"type\":\"message\",\"private\":true,\"id\":1,\"time\":1795555200001,\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"to\":\"dora\",\"with\":\"dora\",\"text\":\"psst\"}|");
    /* dora back: the echo is a line, alice's copy is her message 2. */
    line(h, dora, T0 + 2, "/msg alice back at you");
    expect_frames(h, dora, 'A', "* you -> alice: back at you\r\n", 0);
    ht_expect(h, alice, "{\"type\":\"message\",\"private\":true,\"id\":2,\"time\":1795555200002,\"pid\":1,\"nick\":\"dora\",\"via\":\"tcp\",\"to\":\"alice\",\"with\":\"dora\",\"text\":\"back at you\"}|");
    /* The msg request, to wintalk.v1: an info 250 each way. */
    json(h, alice, T0 + 3, "{\"type\":\"msg\",\"to\":\"old\",\"text\":\"two\\nlines\"}");
    ht_expect(h, old, "{\"type\":\"info\",\"code\":250,\"text\":\"alice -> you: two\\nlines\"}|");
    ht_expect(h, alice, "{\"type\":\"message\",\"private\":true,\"id\":3,\"time\":1795555200003,\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"to\":\"old\",\"with\":\"old\",\"text\":\"two\\nlines\"}|");
    json(h, old, T0 + 4, "{\"type\":\"say\",\"text\":\"/msg dora hi\"}");
    ht_expect(h, old, "{\"type\":\"info\",\"code\":250,\"text\":\"you -> dora: hi\"}|");
    expect_frames(h, dora, 'A', "* old -> you: hi\r\n", 0);
    /* A multi-line text in a pane: its lines indented, as in a transcript. */
    json(h, alice, T0 + 5, "{\"type\":\"msg\",\"to\":\"dora\",\"text\":\"a\\nb\"}");
    expect_frames(h, dora, 'A', "* alice -> you: a\r\n  b\r\n", 0);
    free(ht_drain(h, alice));
    /* Guests can be written to. */
    line(h, dora, T0 + 6, "/msg guest-2 hey");
    expect_frames(h, ed, 'A', "* dora -> you: hey\r\n", 0);
    free(ht_drain(h, dora));
    /* Unknown nick, yourself, no text. */
    line(h, dora, T0 + 7, "/msg bob x");
    expect_frames(h, dora, 'A',
                  "* error 550: no one is called bob here (a guest who left cannot be reached): "
                  "the message was not sent\r\n",
                  0);
    json(h, alice, T0 + 8, "{\"type\":\"msg\",\"to\":\"nobody\",\"text\":\"x\",\"ref\":9}");
    ht_expect(h, alice, "{\"type\":\"error\",\"code\":550,\"message\":\"no one is called nobody "
                        "here (a guest who left cannot be reached): the message was not "
                        "sent\",\"ref\":9}|");
    line(h, dora, T0 + 9, "/msg Dora me");
    expect_frames(h, dora, 'A', "* error 501: a private message to yourself goes nowhere\r\n", 0);
    line(h, dora, T0 + 10, "/msg alice");
    expect_frames(h, dora, 'A', "* error 501: usage: /msg NICK TEXT\r\n", 0);
    /* No one else got anything; nothing went into a room. */
    ht_expect(h, ed, "");
    assert_int_equal(gw_hub_last_id(h), lobby_last);
    gw_hub_free(h);
}

/* Resume: a hello with the token gets the nick back and the private
 * messages after private_id; an impostor with the nick gets nothing; two
 * tabs of one identity both get its messages. */
static void private_resume_with_token(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){.epoch = 0x5eed00000000a001ull});
    uint64_t dora = ht_tcp(h, T0);
    line(h, dora, T0, "/nick dora");
    uint64_t alice = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    char *got = ht_drain(h, alice);
    assert_non_null(strstr(got, "\"token\":\"01010101010101010101010101010101\""));
    free(got);
    line(h, dora, T0 + 1, "/msg alice one");
    line(h, dora, T0 + 2, "/msg alice two");
    free(ht_drain(h, alice));
    gw_hub_disconnect(h, alice, T0 + 3, GW_LEAVE_CLOSED);
    line(h, dora, T0 + 4, "/msg alice away");
    free(ht_drain(h, dora));

    /* Someone else takes the nick: a new identity, nothing restored. */
    uint64_t imp = web2(h, T0 + 5, "{\"type\":\"hello\",\"nick\":\"alice\",\"private_id\":0,\"epoch\":\"5eed00000000a001\"}");
    got = ht_drain(h, imp);
    assert_non_null(strstr(got, "\"token\":\"02020202020202020202020202020202\""));
    assert_non_null(strstr(got, "\"private\":[],\"private_id\":0,"));
    free(got);
    /* Even with a token of the wrong length or case: none is found. */
    uint64_t imp2 = web2(h, T0 + 5, "{\"type\":\"hello\",\"token\":\"0101010101010101010101010101010\"}");
    got = ht_drain(h, imp2);
    assert_non_null(strstr(got, "\"private\":[],\"private_id\":0,"));
    free(got);
    gw_hub_disconnect(h, imp, T0 + 6, GW_LEAVE_CLOSED);
    gw_hub_disconnect(h, imp2, T0 + 6, GW_LEAVE_CLOSED);

    /* alice comes back with her token (no nick named: hers is free). */
    alice = web2(h, T0 + 7, "{\"type\":\"hello\",\"token\":\"01010101010101010101010101010101\",\"private_id\":1,\"epoch\":\"5eed00000000a001\"}");
    got = ht_drain(h, alice);
    assert_non_null(strstr(got, "\"token\":\"01010101010101010101010101010101\",\"you\":{\"pid\":5,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"}"));
    assert_non_null(strstr(got, "\"private\":[{\"type\":\"message\",\"private\":true,\"id\":2,\"time\":1795555200002,\"pid\":1,\"nick\":\"dora\",\"via\":\"tcp\",\"to\":\"alice\",\"with\":\"dora\",\"text\":\"two\"}],\"private_id\":2,\"reset\":false}"));
    free(got);
    /* A second tab is the same person: the identity's nick (no 553), and
     * no join for anyone; both get messages. */
    free(ht_drain(h, dora));
    uint64_t tab = web2(h, T0 + 8, "{\"type\":\"hello\",\"token\":\"01010101010101010101010101010101\",\"private_id\":2,\"epoch\":\"5eed00000000a001\"}");
    got = ht_drain(h, tab);
    assert_null(strstr(got, "\"code\":553"));
    assert_non_null(strstr(got, "\"you\":{\"pid\":6,\"nick\":\"alice\",\"ident\":\"2e3fd578df3c0adc\",\"via\":\"web\"}"));
    assert_non_null(strstr(got, "\"private\":[],\"private_id\":2,"));
    free(got);
    ht_expect(h, alice, "");
    ht_expect(h, dora, "");
    /* A nick change in one tab renames the other, said once in the room. */
    json(h, tab, T0 + 8, "{\"type\":\"nick\",\"nick\":\"alicia\"}");
    got = ht_drain(h, dora);
    assert_non_null(strstr(got, "* alice is now alicia"));
    assert_null(strstr(strstr(got, "is now alicia") + 1, "is now alicia"));
    free(got);
    got = ht_drain(h, alice);
    assert_non_null(strstr(got, "\"type\":\"nick\""));
    free(got);
    free(ht_drain(h, tab));
    json(h, alice, T0 + 8, "{\"type\":\"nick\",\"nick\":\"alice\"}");
    free(ht_drain(h, alice));
    free(ht_drain(h, tab));
    free(ht_drain(h, dora));
    line(h, dora, T0 + 9, "/msg alice both");
    const char *both = "{\"type\":\"message\",\"private\":true,\"id\":3,\"time\":1795555200009,\"pid\":1,\"nick\":\"dora\",\"via\":\"tcp\",\"to\":\"alice\",\"with\":\"dora\",\"text\":\"both\"}|";
    ht_expect(h, alice, both);
    ht_expect(h, tab, both);
    /* The tab writing to alice writes to itself. */
    json(h, tab, T0 + 10, "{\"type\":\"msg\",\"to\":\"alice\",\"text\":\"x\"}");
    ht_expect(h, tab, "{\"type\":\"error\",\"code\":501,\"message\":\"a private message to yourself goes nowhere\"}|");
    /* Another epoch: private messages are not restored. */
    uint64_t stale = web2(h, T0 + 11, "{\"type\":\"hello\",\"token\":\"01010101010101010101010101010101\",\"epoch\":\"00c0ffee0000b002\"}");
    got = ht_drain(h, stale);
    assert_non_null(strstr(got, "\"private\":[],\"private_id\":3,\"reset\":true}"));
    free(got);
    gw_hub_free(h);
}

/* An identity without connections is kept GW_IDENTITY_TTL_MS; then its
 * token is unknown. Without a random source, a wintalk.v2 hello is 421. */
static void identity_lifetime(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t a = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"a\"}");
    gw_hub_disconnect(h, a, T0, GW_LEAVE_CLOSED);
    gw_hub_tick(h, T0 + GW_IDENTITY_TTL_MS - 1);
    a = web2(h, T0 + GW_IDENTITY_TTL_MS - 1, "{\"type\":\"hello\",\"token\":\"01010101010101010101010101010101\"}");
    char *got = ht_drain(h, a);
    assert_non_null(strstr(got, "\"token\":\"01010101010101010101010101010101\",\"you\":{\"pid\":2,\"nick\":\"a\""));
    free(got);
    const int64_t left = T0 + GW_IDENTITY_TTL_MS;
    gw_hub_disconnect(h, a, left, GW_LEAVE_CLOSED);
    gw_hub_tick(h, left + GW_IDENTITY_TTL_MS);
    a = web2(h, left + GW_IDENTITY_TTL_MS, "{\"type\":\"hello\",\"token\":\"01010101010101010101010101010101\"}");
    got = ht_drain(h, a);
    assert_non_null(strstr(got, "\"token\":\"02020202020202020202020202020202\",\"you\":{\"pid\":3,\"nick\":\"guest-1\""));
    free(got);
    gw_hub_free(h);

    h = hub((struct gw_hub_config){.random = failing_random});
    a = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"a\",\"ref\":1}");
    ht_expect(h, a, "{\"type\":\"error\",\"code\":421,\"message\":\"cannot make a resume token now; try again later\",\"ref\":1}|");
    int code;
    assert_int_equal(gw_hub_closing(h, a, &code, NULL), 1);
    assert_int_equal(code, GW_CLOSE_TRY_LATER);
    assert_int_equal(gw_hub_joined(h, a), 0);
    gw_hub_free(h);
}

/* ---- wintalk.v1: #lobby only ---- */

static void v1_has_one_room(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t old = ht_web(h, T0, "{\"type\":\"hello\",\"nick\":\"old\"}");
    uint64_t w = web2(h, T0, "{\"type\":\"hello\",\"nick\":\"new\",\"rooms\":{\"#dev\":0}}");
    free(ht_drain(h, old));
    free(ht_drain(h, w));
    json(h, old, T0, "{\"type\":\"join\",\"room\":\"#dev\",\"ref\":2}");
    ht_expect(h, old, "{\"type\":\"error\",\"code\":501,\"message\":\"wintalk.v1 has one room; use wintalk.v2\",\"room\":\"#dev\",\"ref\":2}|");
    json(h, old, T0, "{\"type\":\"part\",\"room\":\"#lobby\"}");
    ht_expect(h, old, "{\"type\":\"error\",\"code\":501,\"message\":\"wintalk.v1 has one room; use wintalk.v2\",\"room\":\"#lobby\"}|");
    json(h, old, T0, "{\"type\":\"say\",\"text\":\"/join #dev\"}");
    ht_expect(h, old, "{\"type\":\"error\",\"code\":501,\"message\":\"wintalk.v1 has one room; use wintalk.v2\",\"room\":\"#dev\"}|");
    /* Its say names no room it could be in: it goes to #lobby. */
    json(h, old, T0 + 1, "{\"type\":\"say\",\"room\":\"#dev\",\"text\":\"hi\"}");
    char *got = ht_drain(h, w);
    assert_non_null(strstr(got, "\"room\":\"#lobby\",\"id\":3,"));
    free(got);
    /* Events of #dev never reach it. */
    json(h, w, T0 + 2, "{\"type\":\"say\",\"room\":\"#dev\",\"text\":\"dev\"}");
    free(ht_drain(h, old)); /* its own message */
    ht_expect(h, old, "");
    gw_hub_free(h);
}

/* ---- lines no one may forge in a pane ---- */

static void no_forged_lines(void **state)
{
    (void)state;
    struct gw_hub *h = hub((struct gw_hub_config){0});
    uint64_t a = ht_tcp(h, T0), b = ht_tcp(h, T0);
    uint64_t w = ht_web(h, T0, "{\"type\":\"hello\",\"nick\":\"YOU\"}");
    free(ht_drain(h, a));
    free(ht_drain(h, b));
    char *got = ht_drain(h, w);
    assert_non_null(strstr(got, "{\"type\":\"error\",\"code\":553,\"message\":\"the nick you is reserved\"}"));
    assert_non_null(strstr(got, "\"you\":{\"pid\":3,\"nick\":\"guest-3\""));
    free(got);
    line(h, a, T0, "/nick You");
    expect_frames(h, a, 'A', "* error 553: the nick you is reserved\r\n", 0);
    line(h, a, T0, "/me -> you: fake");
    expect_frames(h, a, 'A', "* error 501: an action may not start with ->\r\n", 0);
    line(h, a, T0, "/me  ->x");
    expect_frames(h, a, 'A', "* error 501: an action may not start with ->\r\n", 0);
    /* Other actions are fine. */
    line(h, a, T0, "/me - > waves");
    expect_frames(h, b, 'A', "* guest-1 - > waves\r\n", 0);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_join_and_part_switch_panes),
        cmocka_unit_test(tcp_typing_in_its_room),
        cmocka_unit_test(ids_per_room_and_isolation),
        cmocka_unit_test(v2_welcome_join_part),
        cmocka_unit_test(v2_typing_moves),
        cmocka_unit_test(crowd_per_room),
        cmocka_unit_test(eviction),
        cmocka_unit_test(rooms_per_browser),
        cmocka_unit_test(private_delivery_and_echo),
        cmocka_unit_test(private_resume_with_token),
        cmocka_unit_test(identity_lifetime),
        cmocka_unit_test(v1_has_one_room),
        cmocka_unit_test(no_forged_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
