/*
 * test_hub_delete.c - removing a room's messages through the hub
 * (gw_delete.c), without a store (the ring is the history): the sender
 * deletes its own (a browser's delete, a WINTALK /delete ID and /delete
 * last), another may not (532, nothing changed anywhere), an
 * administrator may (a site token's admin claim, on the in-memory accounts
 * engine), a second delete (551), no such message (550), the rate (429),
 * another tab of the same browser, and an administrator's clean-up of a
 * nick in batches of GW_DELETE_BATCH_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_accounts_mem.h"
#include "gw_limits.h"
#include "gw_store.h"
#include "hubtest.h"
#include "accthub.h"

/* A site's token here is "ok|SUB|NICK|ADMIN" (ADMIN "1": the claim). */
static int fake_jwt(void *ctx, const char *token, size_t len, int64_t wall_ms,
                    struct gw_token_claims *out, char *why, size_t whylen)
{
    (void)ctx;
    (void)wall_ms;
    char t[256];
    snprintf(t, sizeof t, "%.*s", (int)len, token);
    memset(out, 0, sizeof *out);
    char *sub = t + 3, *nick = strchr(sub, '|'), *admin = nick ? strchr(nick + 1, '|') : NULL;
    if (strncmp(t, "ok|", 3) != 0 || !admin) {
        snprintf(why, whylen, "not a token");
        return -1;
    }
    *nick++ = '\0';
    *admin++ = '\0';
    snprintf(out->sub, sizeof out->sub, "%.*s", (int)sizeof out->sub - 1, sub);
    snprintf(out->nick, sizeof out->nick, "%.*s", (int)sizeof out->nick - 1, nick);
    out->admin = !strcmp(admin, "1");
    return 0;
}

/* A hub (no store: deliveries at once; the message rate off unless
 * rate) with two browsers in #lobby, alice and bob, and what they were
 * sent drained. */
static struct fix f;
static uint64_t alice, bob;
static char alice_token[80]; /* from its welcome */

static void setup_rate(unsigned rate)
{
    acct_setup(&f, (struct gw_hub_config){.jwt_verify = fake_jwt, .rate = rate});
    alice = ht_v2(f.h, T0);
    ht_send(f.h, alice, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    bob = ht_v2(f.h, T0);
    ht_send(f.h, bob, T0, "{\"type\":\"hello\",\"nick\":\"bob\"}");
    settle(&f);
    char *got = ht_drain(f.h, alice);
    const char *t = strstr(got, "\"token\":\"");
    assert_non_null(t);
    snprintf(alice_token, sizeof alice_token, "%.*s", (int)strcspn(t + 9, "\""), t + 9);
    free(got);
    free(ht_drain(f.h, bob));
}

/* who says text in #lobby: its message's id. */
static uint64_t say(uint64_t who, const char *text)
{
    char msg[256];
    snprintf(msg, sizeof msg, "{\"type\":\"say\",\"room\":\"#lobby\",\"text\":\"%s\"}", text);
    ht_send(f.h, who, T0, msg);
    return gw_hub_room_last_id(f.h, "#lobby");
}

static void del(uint64_t who, int64_t now, uint64_t id)
{
    char msg[128];
    snprintf(msg, sizeof msg, "{\"type\":\"delete\",\"room\":\"#lobby\",\"id\":%llu,\"ref\":7}",
             (unsigned long long)id);
    ht_send(f.h, who, now, msg);
}

/* The room's newest events as a browser's history request answers. */
static char *history(uint64_t who)
{
    free(ht_drain(f.h, who));
    ht_send(f.h, who, T0, "{\"type\":\"history\",\"room\":\"#lobby\",\"limit\":500}");
    return ht_drain(f.h, who);
}

/* The sender deletes its message: a 250 with its ref, a deleted event to
 * everyone, kept in the ring; the ring's message without its words, its
 * id and sender kept. */
static void sender_deletes(void **state)
{
    (void)state;
    setup_rate(0);
    uint64_t id = say(alice, "secret words");
    free(ht_drain(f.h, bob));
    free(ht_drain(f.h, alice));
    del(alice, T0, id);
    char *got = ht_drain(f.h, alice);
    char want[256];
    snprintf(want, sizeof want, "\"type\":\"deleted\",\"room\":\"#lobby\",\"id\":%llu,",
             (unsigned long long)id + 1);
    ht_has(got, want);
    snprintf(want, sizeof want, "\"deleted\":%llu,\"by\":\"alice\",\"of\":\"alice\"}",
             (unsigned long long)id);
    ht_has(got, want);
    snprintf(want, sizeof want,
             "{\"type\":\"info\",\"code\":250,\"text\":\"message %llu of #lobby deleted\","
             "\"ref\":7}",
             (unsigned long long)id);
    ht_has(got, want);
    free(got);
    got = ht_drain(f.h, bob);
    ht_has(got, "\"type\":\"deleted\"");
    assert_null(strstr(got, "\"code\":250"));
    free(got);
    got = history(bob);
    assert_null(strstr(got, "secret"));
    snprintf(want, sizeof want, "\"id\":%llu,", (unsigned long long)id);
    ht_has(got, want);
    ht_has(got, "\"nick\":\"alice\"");
    ht_has(got, "\"text\":\"\",\"me\":false,\"deleted\":true}");
    free(got);
    /* A second delete: 551, and no second event. */
    del(alice, T0 + 1000, id);
    got = ht_drain(f.h, alice);
    snprintf(want, sizeof want,
             "{\"type\":\"error\",\"code\":551,\"message\":\"message %llu of #lobby was "
             "deleted already\",\"ref\":7}|",
             (unsigned long long)id);
    assert_string_equal(got, want);
    free(got);
    ht_expect(f.h, bob, "");
    teardown(&f);
}

/* Another may not: 532 in words, and nothing changes: no event, the
 * words still in the ring. */
static void another_may_not(void **state)
{
    (void)state;
    setup_rate(0);
    uint64_t id = say(alice, "mine alone");
    free(ht_drain(f.h, alice));
    free(ht_drain(f.h, bob));
    uint64_t last = gw_hub_room_last_id(f.h, "#lobby");
    del(bob, T0, id);
    char *got = ht_drain(f.h, bob);
    char want[256];
    snprintf(want, sizeof want,
             "{\"type\":\"error\",\"code\":532,\"message\":\"not allowed: message %llu is "
             "alice's; only its sender or a gateway administrator may delete it\",\"ref\":7}|",
             (unsigned long long)id);
    assert_string_equal(got, want);
    free(got);
    ht_expect(f.h, alice, "");
    assert_int_equal(gw_hub_room_last_id(f.h, "#lobby"), last);
    got = history(bob);
    ht_has(got, "\"text\":\"mine alone\"");
    assert_null(strstr(got, "deleted"));
    free(got);
    /* Nor everything of a nick: administrators only. */
    ht_send(f.h, bob, T0, "{\"type\":\"delete\",\"room\":\"#lobby\",\"from\":\"alice\"}");
    got = ht_drain(f.h, bob);
    ht_has(got, "\"code\":532,\"message\":\"not allowed: only a gateway administrator");
    free(got);
    assert_int_equal(gw_hub_room_last_id(f.h, "#lobby"), last);
    teardown(&f);
}

/* No such message: an id never given, and an event that is no message. */
static void no_such_message(void **state)
{
    (void)state;
    setup_rate(0);
    del(alice, T0, 999);
    char *got = ht_drain(f.h, alice);
    ht_has(got, "\"code\":550,\"message\":\"no message 999 in #lobby among its recent events\"");
    free(got);
    del(alice, T0, 1); /* alice's join */
    got = ht_drain(f.h, alice);
    ht_has(got, "\"code\":550,\"message\":\"event 1 of #lobby is not a message\"");
    free(got);
    ht_send(f.h, alice, T0, "{\"type\":\"delete\",\"room\":\"#lobby\"}");
    got = ht_drain(f.h, alice);
    ht_has(got, "\"code\":501");
    free(got);
    ht_send(f.h, alice, T0, "{\"type\":\"delete\",\"room\":\"#lobby\",\"id\":0}");
    got = ht_drain(f.h, alice);
    ht_has(got, "\"code\":501");
    free(got);
    teardown(&f);
}

/* An administrator (a site token's admin claim) may delete anyone's. */
static void admin_may(void **state)
{
    (void)state;
    setup_rate(0);
    uint64_t id = say(alice, "spam spam");
    uint64_t root = ht_v2(f.h, T0);
    ht_send(f.h, root, T0, "{\"type\":\"hello\",\"jwt\":\"ok|r1|root|1\"}");
    settle(&f);
    char *got = ht_drain(f.h, root);
    ht_has(got, "\"admin\":true");
    free(got);
    free(ht_drain(f.h, alice));
    del(root, T0, id);
    got = ht_drain(f.h, root);
    ht_has(got, "\"by\":\"root\",\"of\":\"alice\"}");
    ht_has(got, "\"code\":250");
    free(got);
    got = ht_drain(f.h, alice);
    ht_has(got, "\"type\":\"deleted\"");
    free(got);
    got = history(alice);
    assert_null(strstr(got, "spam"));
    free(got);
    teardown(&f);
}

/* Another tab of alice's browser (its token) may delete what the first
 * tab said: one person. */
static void another_tab(void **state)
{
    (void)state;
    setup_rate(0);
    uint64_t id = say(alice, "from tab one");
    /* Another browser: not alice. */
    uint64_t other = ht_v2(f.h, T0);
    ht_send(f.h, other, T0, "{\"type\":\"hello\",\"nick\":\"x\"}");
    free(ht_drain(f.h, other));
    del(other, T0, id);
    char *got = ht_drain(f.h, other);
    ht_has(got, "\"code\":532");
    free(got);
    /* A second tab of alice's browser (its token): alice. */
    uint64_t tab = ht_v2(f.h, T0);
    char hello[160];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"token\":\"%s\"}", alice_token);
    ht_send(f.h, tab, T0, hello);
    free(ht_drain(f.h, tab));
    del(tab, T0, id);
    got = ht_drain(f.h, tab);
    ht_has(got, "\"code\":250");
    free(got);
    teardown(&f);
}

/* WINTALK: /delete last takes its own latest; /delete ID; another's
 * /delete last finds nothing of its own; its pane is shown again without
 * the line, and with the line that says so. */
static void wintalk_delete(void **state)
{
    (void)state;
    setup_rate(0);
    uint64_t t = program(&f, "tess", 0);
    uint64_t u = program(&f, "ugo", 0);
    line(f.h, t, "first line");
    line(f.h, t, "second line");
    uint64_t second = gw_hub_room_last_id(f.h, "#lobby");
    free(ht_drain(f.h, t));
    free(ht_drain(f.h, u));
    line(f.h, u, "/delete last");
    char *got = ht_drain(f.h, u);
    ht_has(got, "* error 550: no message of yours in #lobby among its recent events");
    free(got);
    /* A later line that ends like tess's: not the one taken out. */
    line(f.h, u, "tess: second line");
    free(ht_drain(f.h, u));
    line(f.h, t, "/delete last");
    got = ht_drain(f.h, u);
    /* The whole again (R), without the line, with the one saying so. */
    assert_int_equal(got[0], 'R');
    assert_null(strstr(got, "\ntess: second line"));
    ht_has(got, "ugo: tess: second line\r\n");
    ht_has(got, "tess: first line\r\n");
    ht_has(got, "* a message of tess was deleted by tess\r\n");
    free(got);
    got = history(bob);
    char want[64];
    snprintf(want, sizeof want, "\"deleted\":%llu,", (unsigned long long)second);
    ht_has(got, want);
    free(got);
    got = ht_drain(f.h, t);
    ht_has(got, "message ");
    ht_has(got, " of #lobby deleted");
    free(got);
    /* /delete ID of another's: 532; a bad argument: usage. */
    line(f.h, u, "/delete 1");
    got = ht_drain(f.h, u);
    ht_has(got, "* error 550: event 1 of #lobby is not a message");
    free(got);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "/delete %llu", (unsigned long long)second - 1);
    line(f.h, u, cmd);
    got = ht_drain(f.h, u);
    ht_has(got, "* error 532: not allowed: message");
    free(got);
    line(f.h, u, "/delete 12x");
    got = ht_drain(f.h, u);
    ht_has(got, "* error 501: usage: /delete ID, /delete last or /delete all NICK");
    free(got);
    /* /delete last again: the latest not removed yet, first line. */
    line(f.h, t, "/delete last");
    got = ht_drain(f.h, u);
    assert_null(strstr(got, "first line"));
    ht_has(got, "* a message of tess was deleted by tess\r\n* a message of tess was deleted by tess");
    free(got);
    teardown(&f);
}

/* Deletions have their own rate: a burst of twice GW_DELETE_RATE, then
 * 429; the message rate is untouched (alice still says). */
static void rate(void **state)
{
    (void)state;
    setup_rate(0);
    uint64_t ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = say(alice, "x");
    free(ht_drain(f.h, alice));
    unsigned ok = 0, slow = 0;
    for (int i = 0; i < 8; i++) {
        del(alice, T0 + 5000, ids[i]);
        char *got = ht_drain(f.h, alice);
        ok += strstr(got, "\"code\":250") != NULL;
        slow += strstr(got, "\"code\":429,\"message\":\"too many deletions") != NULL;
        free(got);
    }
    assert_int_equal(ok, 2 * GW_DELETE_RATE);
    assert_int_equal(slow, 8 - 2 * GW_DELETE_RATE);
    teardown(&f);
}

/* An administrator removes every message of a nick, at most
 * GW_DELETE_BATCH_MAX a request, saying when more remain; bob's stay. */
static void clean_up_in_batches(void **state)
{
    (void)state;
    setup_rate(0);
    for (unsigned i = 0; i < GW_DELETE_BATCH_MAX + 5; i++) {
        (void)say(alice, "buy now");
        if (i == 3)
            (void)say(bob, "keep me");
    }
    uint64_t root = ht_v2(f.h, T0);
    ht_send(f.h, root, T0, "{\"type\":\"hello\",\"jwt\":\"ok|r1|root|1\"}");
    settle(&f);
    free(ht_drain(f.h, root));
    free(ht_drain(f.h, bob));
    const char *all = "{\"type\":\"delete\",\"room\":\"#lobby\",\"from\":\"ALICE\",\"ref\":\"c\"}";
    ht_send(f.h, root, T0, all);
    char *got = ht_drain(f.h, bob);
    assert_int_equal(ht_count(got, "\"type\":\"deleted\""), GW_DELETE_BATCH_MAX);
    free(got);
    got = ht_drain(f.h, root);
    char want[160];
    snprintf(want, sizeof want,
             "\"code\":250,\"text\":\"deleted %u messages of ALICE in #lobby; more remain: "
             "ask again\",\"ref\":\"c\"}",
             GW_DELETE_BATCH_MAX);
    ht_has(got, want);
    free(got);
    ht_send(f.h, root, T0, all);
    got = ht_drain(f.h, root);
    ht_has(got, "\"text\":\"deleted 5 messages of ALICE in #lobby\"");
    free(got);
    got = ht_drain(f.h, bob);
    assert_int_equal(ht_count(got, "\"type\":\"deleted\""), 5);
    free(got);
    /* Its own rate: twice GW_DELETE_ALL_RATE at once, then 429. */
    ht_send(f.h, root, T0, all);
    got = ht_drain(f.h, root);
    ht_has(got, "\"code\":429,\"message\":\"too many clean-ups");
    free(got);
    got = history(bob);
    assert_null(strstr(got, "buy now"));
    ht_has(got, "keep me");
    free(got);
    ht_send(f.h, root, T0 + 2000, all);
    got = ht_drain(f.h, root);
    ht_has(got, "\"text\":\"deleted 0 messages of ALICE in #lobby\"");
    free(got);
    teardown(&f);
}

/* A store that keeps at once, or refuses (refuse), and says what the
 * last append removed (gw_store_event.deletes). */
static int refuse;
static uint64_t last_deletes;

static int quick_append(void *ctx, const char *key, const char *name,
                        const struct gw_store_event *ev)
{
    (void)ctx;
    (void)key;
    (void)name;
    if (refuse)
        return GW_STORE_EIO;
    last_deletes = ev->deletes;
    return GW_STORE_DONE;
}

/* The store is handed the id the deleted event removes; when it refuses
 * the deletion, the sender gets 451 and no 250, and the words stay. */
static void store_told_or_refusing(void **state)
{
    (void)state;
    static struct gw_store st = {.kind = "quick", .append = quick_append};
    refuse = 0;
    last_deletes = 0;
    acct_setup(&f, (struct gw_hub_config){.store = &st});
    alice = ht_v2(f.h, T0);
    ht_send(f.h, alice, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    settle(&f);
    uint64_t one = say(alice, "one"), two = say(alice, "two");
    assert_int_equal(last_deletes, 0);
    free(ht_drain(f.h, alice));
    del(alice, T0, one);
    assert_int_equal(last_deletes, one);
    char *got = ht_drain(f.h, alice);
    ht_has(got, "\"code\":250");
    free(got);
    refuse = 1;
    del(alice, T0, two);
    got = ht_drain(f.h, alice);
    ht_has(got, "\"code\":451");
    assert_null(strstr(got, "\"code\":250"));
    assert_null(strstr(got, "\"type\":\"deleted\""));
    free(got);
    refuse = 0;
    got = history(alice);
    ht_has(got, "\"text\":\"two\"");
    free(got);
    teardown(&f);
}

/* A store that gives #lobby, as the hub starts, one message kept by a
 * WINTALK guest of an earlier run: the same connection id and guest name
 * as the first one of this run. */
#define OLD_GUEST_MESSAGE                                                                      \
    "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":1,\"time\":1700000000000,\"pid\":1," \
    "\"nick\":\"guest-1\",\"via\":\"tcp\",\"text\":\"from before\",\"me\":false}"

static int old_load(void *ctx, const char *room_key, size_t max_events, size_t max_bytes,
                    uint64_t *last_id, void (*each)(void *arg, const struct gw_store_event *ev),
                    void *arg)
{
    (void)ctx;
    (void)max_events;
    (void)max_bytes;
    *last_id = 0;
    if (strcmp(room_key, "#lobby") != 0)
        return 0;
    struct gw_store_event ev = {.id = 1, .time_ms = 1700000000000LL, .type = 0,
                                .json = OLD_GUEST_MESSAGE, .json_len = strlen(OLD_GUEST_MESSAGE),
                                .line = "guest-1: from before\r\n", .line_len = 22};
    each(arg, &ev);
    *last_id = 1;
    return 0;
}

/* A WINTALK guest may not delete an earlier run's message that has its
 * connection id and guest name; its own, it may. */
static void earlier_guest_of_same_id(void **state)
{
    (void)state;
    static struct gw_store st = {.kind = "old", .append = quick_append, .load = old_load};
    refuse = 0;
    acct_setup(&f, (struct gw_hub_config){.store = &st});
    uint64_t t = program(&f, NULL, 0);
    assert_int_equal(t, 1);
    assert_string_equal(gw_hub_nick(f.h, t), "guest-1");
    line(f.h, t, "/delete 1");
    char *got = ht_drain(f.h, t);
    ht_has(got, "* error 532: not allowed: message 1 is guest-1's");
    free(got);
    line(f.h, t, "now");
    line(f.h, t, "/delete last");
    got = ht_drain(f.h, t);
    ht_has(got, "* a message of guest-1 was deleted by guest-1");
    ht_has(got, "from before");
    free(got);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sender_deletes),
        cmocka_unit_test(another_may_not),
        cmocka_unit_test(no_such_message),
        cmocka_unit_test(admin_may),
        cmocka_unit_test(another_tab),
        cmocka_unit_test(wintalk_delete),
        cmocka_unit_test(rate),
        cmocka_unit_test(clean_up_in_batches),
        cmocka_unit_test(store_told_or_refusing),
        cmocka_unit_test(earlier_guest_of_same_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
