/*
 * test_hub_linger.c - the reload grace (gw_linger.c): a wintalk.v2 browser
 * that closes stays in its rooms for cfg.reload_grace_ms; its identity
 * coming back in time takes its place with no join and no leave; a grace
 * that ends with nobody back posts the leaves, exactly at its end. What
 * does not linger (a close the hub made, a tab with a twin here, TCP,
 * wintalk.v1, no grace, past the bound) leaves at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_limits.h"
#include "hubtest.h"

#define GRACE 15000

static unsigned wakes[64];
static size_t nwakes;

static void on_wake(void *ctx, void *user, uint64_t pid)
{
    (void)ctx;
    (void)user;
    if (nwakes < sizeof wakes / sizeof wakes[0])
        wakes[nwakes++] = (unsigned)pid;
}

static struct gw_hub *hub(int64_t grace, unsigned linger_max)
{
    nwakes = 0;
    return ht_hub((struct gw_hub_config){.random = ht_random,
                                         .reload_grace_ms = grace,
                                         .linger_max = linger_max,
                                         .wake = on_wake});
}

/* A wintalk.v2 browser's hello with nick and rooms (a JSON object's
 * inside, "" for #lobby alone), and its token (out, 33 bytes) from the
 * welcome. */
static uint64_t browser(struct gw_hub *h, int64_t now, const char *nick, const char *rooms,
                        const char *token, char *token_out)
{
    char hello[512];
    uint64_t pid = ht_v2(h, now);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"nick\":\"%s\",\"rooms\":{%s}%s%s%s}",
             nick, rooms, token ? ",\"token\":\"" : "", token ? token : "", token ? "\"" : "");
    ht_send(h, pid, now, hello);
    char *got = ht_drain(h, pid);
    ht_has(got, "\"type\":\"welcome\"");
    if (token_out) {
        const char *t = strstr(got, "\"token\":\"");
        assert_non_null(t);
        memcpy(token_out, t + 9, GW_TOKEN_HEX_LEN);
        token_out[GW_TOKEN_HEX_LEN] = '\0';
    }
    free(got);
    return pid;
}

/* What pid was sent since the last look. Caller frees. */
static char *seen(struct gw_hub *h, uint64_t pid)
{
    return ht_drain(h, pid);
}

static void nothing_for(struct gw_hub *h, uint64_t pid)
{
    char *got = seen(h, pid);
    if (got[0])
        fail_msg("participant %llu was sent: %s", (unsigned long long)pid, got);
    free(got);
}

/* A reload: alice closes and comes back with her token within the grace,
 * to the same rooms. bob, in both, sees nothing: no leave, no join; she is
 * counted once all along; her nick is hers meanwhile. */
static void a_reload_is_not_seen(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 0);
    char token[GW_TOKEN_HEX_LEN + 1];
    uint64_t alice = browser(h, T0, "alice", "\"#dev\":0", NULL, token);
    uint64_t bob = browser(h, T0, "bob", "\"#dev\":0", NULL, NULL);
    free(seen(h, alice));
    nothing_for(h, bob);

    assert_int_equal(gw_hub_disconnect(h, alice, T0 + 10, GW_LEAVE_CLOSED), GW_OK);
    nothing_for(h, bob);
    /* Not a connection any more: nothing to write to, not counted. */
    assert_int_equal(gw_hub_connections(h), 1);
    assert_int_equal(gw_hub_take(h, alice, &(struct gw_buf *){NULL}), GW_ENOENT);
    /* Still in the rooms: bob's /who-like count says two. */
    ht_send(h, bob, T0 + 20, "{\"type\":\"say\",\"room\":\"#dev\",\"text\":\"still here?\"}");
    char *got = seen(h, bob);
    ht_has(got, "still here?");
    free(got);
    /* Her nick is hers during the grace. */
    uint64_t carol = ht_v2(h, T0 + 30);
    ht_send(h, carol, T0 + 30, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    got = seen(h, carol);
    ht_has(got, "\"code\":553");
    free(got);
    free(seen(h, bob));

    gw_hub_tick(h, T0 + 10 + GRACE - 1);
    nothing_for(h, bob);
    uint64_t back = browser(h, T0 + 10 + GRACE - 1, "alice", "\"#dev\":0", token, NULL);
    got = seen(h, bob);
    if (strstr(got, "\"type\":\"join\"") || strstr(got, "\"type\":\"leave\""))
        fail_msg("bob saw alice come and go: %s", got);
    free(got);
    /* The old connection ended when she came back: nothing at its end. */
    gw_hub_tick(h, T0 + 10 + 2 * GRACE);
    nothing_for(h, bob);
    assert_int_equal(gw_hub_connections(h), 3);
    (void)back;
    gw_hub_free(h);
}

/* Nobody comes back: the leaves come exactly when the grace ends, one in
 * each of her rooms, with the reason of the close. */
static void the_grace_ends_with_her_leaves(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 0);
    uint64_t alice = browser(h, T0, "alice", "\"#dev\":0", NULL, NULL);
    uint64_t bob = browser(h, T0, "bob", "\"#dev\":0", NULL, NULL);
    nothing_for(h, bob);
    gw_hub_disconnect(h, alice, T0 + 100, GW_LEAVE_CLOSED);
    gw_hub_tick(h, T0 + 100 + GRACE - 1);
    nothing_for(h, bob);
    gw_hub_tick(h, T0 + 100 + GRACE);
    char *got = seen(h, bob);
    assert_int_equal(ht_count(got, "\"type\":\"leave\""), 2);
    ht_has(got, "\"room\":\"#lobby\"");
    ht_has(got, "\"room\":\"#dev\"");
    ht_has(got, "\"reason\":\"closed\"");
    free(got);
    /* And her nick is free again. */
    uint64_t carol = browser(h, T0 + 100 + GRACE, "alice", "", NULL, NULL);
    got = seen(h, bob);
    ht_has(got, "\"nick\":\"alice\"");
    free(got);
    (void)carol;
    gw_hub_free(h);
}

/* Back, but naming fewer rooms: she leaves the room she did not name, at
 * once, and nothing is said in the one she is back in. */
static void back_to_fewer_rooms(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 0);
    char token[GW_TOKEN_HEX_LEN + 1];
    uint64_t alice = browser(h, T0, "alice", "\"#dev\":0", NULL, token);
    uint64_t bob = browser(h, T0, "bob", "\"#dev\":0", NULL, NULL);
    nothing_for(h, bob);
    gw_hub_disconnect(h, alice, T0 + 1, GW_LEAVE_CLOSED);
    browser(h, T0 + 2, "alice", "", token, NULL);
    char *got = seen(h, bob);
    assert_int_equal(ht_count(got, "\"type\":\"leave\""), 1);
    ht_has(got, "\"room\":\"#dev\"");
    assert_int_equal(ht_count(got, "\"type\":\"join\""), 0);
    free(got);
    gw_hub_free(h);
}

/* Private messages sent to her during the grace are not refused, and come
 * back with her (the welcome's "private"). */
static void a_private_message_meanwhile(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 0);
    char token[GW_TOKEN_HEX_LEN + 1];
    uint64_t alice = browser(h, T0, "alice", "", NULL, token);
    uint64_t bob = browser(h, T0, "bob", "", NULL, NULL);
    gw_hub_disconnect(h, alice, T0 + 1, GW_LEAVE_CLOSED);
    ht_send(h, bob, T0 + 2, "{\"type\":\"msg\",\"to\":\"alice\",\"text\":\"are you back?\"}");
    char *got = seen(h, bob);
    if (strstr(got, "\"type\":\"error\""))
        fail_msg("refused: %s", got);
    free(got);
    uint64_t back = ht_v2(h, T0 + 3);
    char hello[160];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"token\":\"%s\",\"private_id\":0}", token);
    ht_send(h, back, T0 + 3, hello);
    got = seen(h, back);
    ht_has(got, "\"nick\":\"alice\"");
    ht_has(got, "are you back?");
    free(got);
    gw_hub_free(h);
}

/* A lingering browser is sent nothing and woken for nothing: nothing is
 * held for it. */
static void nothing_is_sent_to_a_closed_tab(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 0);
    uint64_t alice = browser(h, T0, "alice", "", NULL, NULL);
    uint64_t bob = browser(h, T0, "bob", "", NULL, NULL);
    free(seen(h, alice));
    free(seen(h, bob));
    gw_hub_disconnect(h, alice, T0 + 1, GW_LEAVE_CLOSED);
    nwakes = 0;
    ht_send(h, bob, T0 + 2, "{\"type\":\"say\",\"text\":\"hello room\"}");
    for (size_t i = 0; i < nwakes; i++)
        assert_int_equal(wakes[i], (unsigned)bob);
    assert_true(nwakes >= 1);
    free(seen(h, bob));
    assert_int_equal(gw_hub_output_bytes(h), 0);
    gw_hub_free(h); /* frees the lingering one too (the sanitizer build checks) */
}

/* What leaves at once: a close the hub made, a tab whose twin stays, no
 * grace, TCP and wintalk.v1, and one past the bound. */
static void what_leaves_at_once(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 1);
    char token[GW_TOKEN_HEX_LEN + 1];
    uint64_t bob = browser(h, T0, "bob", "", NULL, NULL);
    /* A close for an error: at once. */
    uint64_t a = browser(h, T0, "alice", "", NULL, NULL);
    free(seen(h, bob));
    gw_hub_disconnect(h, a, T0 + 1, GW_LEAVE_ERROR);
    char *got = seen(h, bob);
    ht_has(got, "\"type\":\"leave\"");
    free(got);
    /* Two tabs: the first to close leaves nothing behind (its twin
     * stays) and does not linger; the second lingers. */
    uint64_t t1 = browser(h, T0 + 2, "dora", "", NULL, token);
    uint64_t t2 = browser(h, T0 + 2, "dora", "", token, NULL);
    free(seen(h, bob));
    gw_hub_disconnect(h, t1, T0 + 3, GW_LEAVE_CLOSED);
    nothing_for(h, bob);
    gw_hub_disconnect(h, t2, T0 + 4, GW_LEAVE_CLOSED);
    nothing_for(h, bob);
    /* The bound is one: the next to close leaves at once. */
    uint64_t e = browser(h, T0 + 5, "erin", "", NULL, NULL);
    free(seen(h, bob));
    gw_hub_disconnect(h, e, T0 + 6, GW_LEAVE_CLOSED);
    got = seen(h, bob);
    ht_has(got, "\"nick\":\"erin\"");
    ht_has(got, "\"type\":\"leave\"");
    free(got);
    /* dora's grace is her last tab's, not the first's (which did not
     * linger: its twin was here). */
    gw_hub_tick(h, T0 + 3 + GRACE);
    nothing_for(h, bob);
    gw_hub_tick(h, T0 + 4 + GRACE);
    got = seen(h, bob);
    ht_has(got, "\"nick\":\"dora\"");
    free(got);
    /* TCP and wintalk.v1 have no token to come back with. */
    uint64_t t = ht_tcp(h, T0 + 7);
    ht_in(h, t, T0 + 7, "A11:/nick frank\r\n");
    uint64_t v1 = ht_web(h, T0 + 7, "{\"type\":\"hello\",\"nick\":\"gus\"}");
    free(seen(h, bob));
    gw_hub_disconnect(h, t, T0 + 8, GW_LEAVE_CLOSED);
    gw_hub_disconnect(h, v1, T0 + 8, GW_LEAVE_CLOSED);
    got = seen(h, bob);
    assert_int_equal(ht_count(got, "\"type\":\"leave\""), 2);
    free(got);
    gw_hub_free(h);

    /* No grace: at once. */
    h = hub(0, 0);
    bob = browser(h, T0, "bob", "", NULL, NULL);
    a = browser(h, T0, "alice", "", NULL, NULL);
    free(seen(h, bob));
    gw_hub_disconnect(h, a, T0 + 1, GW_LEAVE_CLOSED);
    got = seen(h, bob);
    ht_has(got, "\"type\":\"leave\"");
    free(got);
    gw_hub_free(h);
}

/* A gateway that stops does not wait for anyone to come back. */
static void shutdown_ends_the_grace(void **state)
{
    (void)state;
    struct gw_hub *h = hub(GRACE, 0);
    uint64_t alice = browser(h, T0, "alice", "", NULL, NULL);
    uint64_t bob = browser(h, T0, "bob", "", NULL, NULL);
    free(seen(h, bob));
    gw_hub_disconnect(h, alice, T0 + 1, GW_LEAVE_CLOSED);
    gw_hub_shutdown(h, T0 + 2);
    char *got = seen(h, bob);
    ht_has(got, "\"nick\":\"alice\"");
    ht_has(got, "\"type\":\"leave\"");
    free(got);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_reload_is_not_seen),
        cmocka_unit_test(the_grace_ends_with_her_leaves),
        cmocka_unit_test(back_to_fewer_rooms),
        cmocka_unit_test(a_private_message_meanwhile),
        cmocka_unit_test(nothing_is_sent_to_a_closed_tab),
        cmocka_unit_test(what_leaves_at_once),
        cmocka_unit_test(shutdown_ends_the_grace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
