/*
 * test_hub_accounts.c - registering and logging in through the hub, on the
 * in-memory accounts engine, with passwords "hashed" by the test (a hash
 * of pw is "phc:" pw; the test answers each request when it chooses):
 * /register, /identify, /logout, a registered nick kept for its owner, the
 * password rule for plain TCP, the words of a failed login, the
 * registered names the hub knows (checked at once, walked from the store),
 * sessions ended on another gateway (its news, and the look at the
 * accounts logged in when news was lost), accounts away from their rooms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_accounts_mem.h"
#include "gw_limits.h"
#include "hubtest.h"
#include "accthub.h"

static int64_t grace_ms;
static unsigned per_hour;

static void setup(struct fix *f, int closed, int plain)
{
    acct_setup(f, (struct gw_hub_config){.registration_closed = closed,
                                         .plain_passwords = plain,
                                         .reload_grace_ms = grace_ms,
                                         .registrations_per_hour = per_hour});
}

static void register_then_identify(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    settle(&f);
    char *got = ht_drain(f.h, a);
    ht_has(got, "registered and logged in as alice");
    free(got);
    /* The hash kept is the hasher's, never the password. */
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);

    uint64_t b = program(&f, NULL, 1);
    line(f.h, b, "/identify ALICE hunter2");
    settle(&f);
    got = ht_drain(f.h, b);
    ht_has(got, "logged in as alice");
    free(got);
    teardown(&f);
}

/* A wrong password and a nick nobody registered get the same words. */
static void a_failed_login_says_the_same(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    settle(&f);
    uint64_t b = program(&f, NULL, 1);
    line(f.h, b, "/identify alice hunter3");
    settle(&f);
    char *wrong = ht_drain(f.h, b);
    line(f.h, b, "/identify nobody hunter2");
    /* Checked all the same, against a hash of nothing. */
    gw_accounts_mem_flush(f.mem);
    assert_int_equal(nreqs, 1);
    assert_true(reqs[0].verify);
    settle(&f);
    char *none = ht_drain(f.h, b);
    ht_has(wrong, "error 530: wrong nick or password");
    assert_string_equal(wrong, none);
    free(wrong);
    free(none);
    teardown(&f);
}

/* A registered nick: nobody else may take it; a guest who holds it when
 * its owner logs in becomes a guest again, told why. */
static void a_registered_nick_is_its_owners(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    settle(&f);
    line(f.h, a, "/logout");
    char *got = ht_drain(f.h, a);
    ht_has(got, "logged out; you are guest-");
    free(got);
    /* Logged out, she may not take it back without logging in. */
    line(f.h, a, "/nick alice");
    settle(&f);
    got = ht_drain(f.h, a);
    ht_has(got, "error 553: alice is registered: log in with /identify alice PASSWORD");
    free(got);
    /* An impostor who had it before it was registered... is renamed. */
    uint64_t b = program(&f, NULL, 1);
    line(f.h, a, "/identify alice hunter2");
    settle(&f);
    got = ht_drain(f.h, a);
    ht_has(got, "logged in as alice");
    free(got);
    (void)b;
    teardown(&f);
}

/* Passwords over plain TCP from another machine are refused, unless the
 * operator allows them; closed registration; no accounts at all. */
static void where_a_password_may_come_from(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 0);
    line(f.h, a, "/register hunter2");
    settle(&f);
    char *got = ht_drain(f.h, a);
    ht_has(got, "error 530: a password over plain TCP would travel in clear");
    free(got);
    assert_int_equal(nreqs, 0);
    teardown(&f);

    setup(&f, 0, 1);
    a = program(&f, "alice", 0);
    line(f.h, a, "/register hunter2");
    settle(&f);
    got = ht_drain(f.h, a);
    ht_has(got, "registered and logged in as alice");
    free(got);
    teardown(&f);

    setup(&f, 1, 0);
    a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    settle(&f);
    got = ht_drain(f.h, a);
    ht_has(got, "registration is closed");
    free(got);
    teardown(&f);
}

/* An account made by the operator while a guest uses its nick: the guest
 * is renamed when the owner logs in, and told why. */
static void the_owner_logs_in_over_a_guest(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t g = program(&f, "carol", 1);
    char phc[] = "phc:pw1";
    struct gw_account a = {.key = "carol", .nick = "carol", .phc = phc, .generation = 1};
    assert_int_equal(f.ac.create(f.ac.ctx, 999, &a), GW_STORE_PENDING);
    settle(&f);
    uint64_t c = program(&f, NULL, 1);
    line(f.h, c, "/identify carol pw1");
    settle(&f);
    char *got = ht_drain(f.h, g);
    ht_has(got, "error 553: carol is a registered nick, kept for its owner; you are guest-");
    free(got);
    got = ht_drain(f.h, c);
    ht_has(got, "logged in as carol");
    free(got);
    teardown(&f);
}

/* An account made outside this hub (the operator's command line, another
 * gateway) is known from the next walk of the store's names: whoever holds
 * it then is renamed, and from then on a /nick for it is refused at once. */
static void a_walk_finds_names_made_elsewhere(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    int64_t t = T0;
    gw_hub_tick(f.h, t); /* the first walk: nothing yet */
    settle(&f);
    assert_int_equal(gw_hub_names_count(f.h), 0);
    uint64_t g = program(&f, "carol", 1);
    char phc[] = "phc:pw1";
    char key[32];
    struct gw_account a = {.key = "carol", .nick = "carol", .phc = phc, .generation = 1};
    assert_int_equal(f.ac.create(f.ac.ctx, 999, &a), GW_STORE_PENDING);
    for (unsigned i = 0; i < 600; i++) { /* more than a page */
        snprintf(key, sizeof key, "user%u", i);
        a.key = a.nick = key;
        assert_int_equal(f.ac.create(f.ac.ctx, 999, &a), GW_STORE_PENDING);
        if (i % 500 == 0)
            settle(&f);
    }
    settle(&f);
    /* Not known before the next walk: carol keeps her nick meanwhile. */
    gw_hub_tick(f.h, t + GW_NAMES_WALK_MS - 1);
    settle(&f);
    assert_int_equal(gw_hub_names_count(f.h), 0);
    char *got = ht_drain(f.h, g);
    assert_string_equal(got, "");
    free(got);
    keys_now = t + GW_NAMES_WALK_MS;
    gw_hub_tick(f.h, keys_now);
    settle(&f);
    assert_int_equal(gw_hub_names_count(f.h), 601);
    got = ht_drain(f.h, g);
    ht_has(got, "error 553: carol is a registered nick, kept for its owner; you are guest-");
    free(got);
    /* Refused at once, without the store: no flush here. */
    line(f.h, g, "/nick CAROL");
    got = ht_drain(f.h, g);
    ht_has(got, "error 553: CAROL is registered: log in with /identify CAROL PASSWORD");
    free(got);
    /* A browser's hello naming it: a guest, told why. */
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"nick\":\"user599\"}");
    got = ht_drain(f.h, w);
    ht_has(got, "user599 is registered: log in to use it");
    ht_has(got, "\"you\":{\"pid\"");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
    /* Removed in the store: free again after the next walk. */
    assert_int_equal(f.ac.remove(f.ac.ctx, 998, "user599"), GW_STORE_PENDING);
    settle(&f);
    keys_now = t + 2 * GW_NAMES_WALK_MS;
    gw_hub_tick(f.h, keys_now);
    settle(&f);
    assert_int_equal(gw_hub_names_count(f.h), 600);
    ht_send(f.h, w, T0, "{\"type\":\"nick\",\"nick\":\"user599\"}");
    got = ht_drain(f.h, w);
    ht_has(got, "\"type\":\"nick\"");
    assert_null(strstr(got, "553"));
    free(got);
    teardown(&f);
}

/* A line after /nick is said under the new nick: the check does not
 * reorder what a participant sends. */
static void a_line_after_nick_is_said_under_it(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t d = program(&f, NULL, 1);
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"nick\":\"wes\"}");
    free(ht_drain(f.h, w));
    line(f.h, d, "/nick dora");
    line(f.h, d, "hello all");
    char *got = ht_drain(f.h, w);
    ht_has(got, "\"nick\":\"dora\",\"old\":\"guest-1\"");
    ht_has(got, "\"nick\":\"dora\",\"via\":\"tcp\",\"text\":\"hello all\"");
    free(got);
    teardown(&f);
}

/* The memory engine's bucket of a key (FNV-1a, as gw_accounts_mem.c). */
static size_t mem_bucket(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (GW_ACCOUNTS_MEM_BUCKETS - 1u);
}

/* A name registered here is reserved at once, before any walk, and the
 * walk under way when it is registered keeps it (its first page, read
 * before the account was made, holds the name's bucket: the walk itself
 * does not find it). */
static void a_name_registered_here_is_reserved_at_once(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char nick[32];
    unsigned i = 0;
    do
        snprintf(nick, sizeof nick, "alice%u", i++);
    while (mem_bucket(nick) >= GW_ACCOUNTS_MEM_KEYS_WALK);
    uint64_t a = program(&f, nick, 1);
    gw_hub_tick(f.h, T0); /* a walk under way: its first page read */
    line(f.h, a, "/register hunter2");
    settle(&f);
    assert_int_equal(gw_hub_names_count(f.h), 1);
    uint64_t b = program(&f, NULL, 1);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "/nick %s", nick);
    line(f.h, b, cmd);
    char *got = ht_drain(f.h, b);
    ht_has(got, "is registered: log in with /identify");
    free(got);
    teardown(&f);
}

/* The session token in an account event of got (copied to out), or the
 * test fails. */
static void session_of(const char *got, char out[GW_TOKEN_HEX_LEN + 1])
{
    const char *s = strstr(got, "\"type\":\"account\"");
    assert_non_null(s);
    s = strstr(s, "\"session\":\"");
    assert_non_null(s);
    s += strlen("\"session\":\"");
    assert_true(strspn(s, "0123456789abcdef") == GW_TOKEN_HEX_LEN);
    memcpy(out, s, GW_TOKEN_HEX_LEN);
    out[GW_TOKEN_HEX_LEN] = '\0';
}

/* A browser that sends hello with a session (and nick): its drained
 * output after everything answered. */
static char *hello_with(struct fix *f, uint64_t *pid, int64_t now, const char *session,
                        const char *nick)
{
    char hello[256];
    *pid = ht_v2(f->h, now);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"nick\":\"%s\",\"session\":\"%s\"}", nick,
             session);
    ht_send(f->h, *pid, now, hello);
    settle(f);
    return ht_drain(f->h, *pid);
}

/* A browser that says hello as nick and registers it (password
 * "hunter2"): its id, and its session token in tok. */
static uint64_t browser_registers(struct fix *f, const char *nick, char tok[GW_TOKEN_HEX_LEN + 1])
{
    char hello[128];
    uint64_t w = ht_v2(f->h, T0);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"nick\":\"%s\"}", nick);
    ht_send(f->h, w, T0, hello);
    ht_send(f->h, w, T0, "{\"type\":\"register\",\"password\":\"hunter2\"}");
    settle(f);
    char *got = ht_drain(f->h, w);
    session_of(got, tok);
    free(got);
    return w;
}

/* A browser registers its nick and gets a session; another device comes
 * back with the session and no password: logged in, the account's nick
 * whatever its hello named, the account named in the welcome. */
static void a_browser_registers_and_comes_back_with_its_session(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"nick\":\"Wanda\"}");
    free(ht_drain(f.h, w));
    ht_send(f.h, w, T0, "{\"type\":\"register\",\"password\":\"hunter2\",\"ref\":4}");
    settle(&f);
    char *got = ht_drain(f.h, w);
    char tok[GW_TOKEN_HEX_LEN + 1];
    session_of(got, tok);
    ht_has(got, "{\"type\":\"account\",\"nick\":\"Wanda\",\"session\":\"");
    ht_has(got, "\",\"ref\":4}");
    free(got);
    uint64_t v;
    got = hello_with(&f, &v, T0, tok, "someone");
    ht_has(got, "\"you\":{\"pid\":");
    ht_has(got, "\"nick\":\"Wanda\",\"ident\"");
    ht_has(got, "\"account\":\"Wanda\"");
    assert_null(strstr(got, "\"code\":553"));
    free(got);
    /* A session of another form, or unknown: over, a guest, told why. */
    uint64_t x;
    got = hello_with(&f, &x, T0, "not-a-session", "wanda");
    ht_has(got, "\"code\":530,\"message\":\"your session is over: log in again\"");
    ht_has(got, "wanda is registered: log in to use it");
    ht_has(got, "\"nick\":\"guest-");
    assert_null(strstr(got, "\"account\":"));
    free(got);
    tok[0] = tok[0] == 'a' ? 'b' : 'a';
    got = hello_with(&f, &x, T0, tok, "x");
    ht_has(got, "your session is over: log in again");
    free(got);
    teardown(&f);
}

/* A session lasts session_days: the last millisecond is good, the next is
 * over. */
static void a_session_ends_at_its_time(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    (void)browser_registers(&f, "wanda", tok);
    char *got;
    int64_t ends = T0 + (int64_t)GW_SESSION_DAYS_DEFAULT * 86400000;
    uint64_t v;
    got = hello_with(&f, &v, ends - 1, tok, "x");
    ht_has(got, "\"account\":\"wanda\"");
    free(got);
    got = hello_with(&f, &v, ends, tok, "x");
    ht_has(got, "your session is over");
    free(got);
    teardown(&f);
}

/* Logging out ends this browser's session (its tabs with it); logging out
 * everywhere ends every session and logs out every connection of the
 * account, a WINTALK program's too. */
static void logout_here_and_everywhere(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok1[GW_TOKEN_HEX_LEN + 1], tok2[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok1);
    char *got;
    /* Another device logs in with the password: another session. */
    uint64_t v = ht_v2(f.h, T0);
    ht_send(f.h, v, T0, "{\"type\":\"hello\"}");
    ht_send(f.h, v, T0, "{\"type\":\"login\",\"nick\":\"WANDA\",\"password\":\"hunter2\",\"ref\":\"l\"}");
    settle(&f);
    got = ht_drain(f.h, v);
    session_of(got, tok2);
    assert_string_not_equal(tok1, tok2);
    ht_has(got, "\"nick\":\"wanda\",\"session\":");
    free(got);
    /* A WINTALK program too. */
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    free(ht_drain(f.h, t));
    /* v logs out: its session is over, tok1 is still good. */
    ht_send(f.h, v, T0, "{\"type\":\"logout\",\"ref\":9}");
    settle(&f);
    got = ht_drain(f.h, v);
    ht_has(got, "{\"type\":\"account\",\"nick\":null,\"ref\":9}");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
    uint64_t x;
    got = hello_with(&f, &x, T0, tok2, "x");
    ht_has(got, "your session is over");
    free(got);
    got = hello_with(&f, &x, T0, tok1, "x");
    ht_has(got, "\"account\":\"wanda\"");
    free(got);
    /* Everywhere: w, x and the program are logged out; tok1 is over. */
    ht_send(f.h, w, T0, "{\"type\":\"logout\",\"all\":true,\"ref\":10}");
    settle(&f);
    got = ht_drain(f.h, w);
    ht_has(got, "{\"type\":\"account\",\"nick\":null,\"ref\":10}");
    free(got);
    got = ht_drain(f.h, x);
    ht_has(got, "{\"type\":\"account\",\"nick\":null}");
    free(got);
    got = ht_drain(f.h, t);
    ht_has(got, "logged out: every session of the account was ended; you are guest-");
    free(got);
    got = hello_with(&f, &x, T0, tok1, "x");
    ht_has(got, "your session is over");
    free(got);
    /* Not logged in: nothing to log out of. */
    ht_send(f.h, w, T0, "{\"type\":\"logout\",\"ref\":11}");
    got = ht_drain(f.h, w);
    ht_has(got, "\"code\":503,\"message\":\"you are not logged in\",\"ref\":11");
    free(got);
    teardown(&f);
}

/* A new password: the old one must be right; then the other sessions are
 * over, the browser that changed it gets a new one, and the new password
 * logs in. */
static void a_new_password(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok1[GW_TOKEN_HEX_LEN + 1], tok2[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok1);
    char *got;
    ht_send(f.h, w, T0, "{\"type\":\"password\",\"old\":\"hunter3\",\"new\":\"s3cret\",\"ref\":1}");
    settle(&f);
    got = ht_drain(f.h, w);
    ht_has(got, "\"code\":530,\"message\":\"the old password is wrong\",\"ref\":1");
    free(got);
    ht_send(f.h, w, T0, "{\"type\":\"password\",\"old\":\"hunter2\",\"new\":\"s3cret\",\"ref\":2}");
    settle(&f);
    got = ht_drain(f.h, w);
    session_of(got, tok2);
    ht_has(got, "\"ref\":2}");
    free(got);
    uint64_t x;
    got = hello_with(&f, &x, T0, tok1, "x");
    ht_has(got, "your session is over");
    free(got);
    got = hello_with(&f, &x, T0, tok2, "x");
    ht_has(got, "\"account\":\"wanda\"");
    free(got);
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    got = ht_drain(f.h, t);
    ht_has(got, "wrong nick or password");
    free(got);
    line(f.h, t, "/identify wanda s3cret");
    settle(&f);
    got = ht_drain(f.h, t);
    ht_has(got, "logged in as wanda");
    free(got);
    line(f.h, t, "/password s3cret n3w");
    settle(&f);
    got = ht_drain(f.h, t);
    ht_has(got, "password changed; every other connection of the account was logged out");
    free(got);
    /* The browser that had changed it before is logged out now. */
    got = ht_drain(f.h, w);
    ht_has(got, "{\"type\":\"account\",\"nick\":null}");
    free(got);
    got = hello_with(&f, &x, T0, tok2, "x");
    ht_has(got, "your session is over");
    free(got);
    teardown(&f);
}

/* Every connection logged in to an account is one person: two browsers
 * (two devices) and a WINTALK program. One nick (another is refused while
 * logged in), one public name in events, listed and counted once, a join
 * with the first and a leave with the last, and a private message reaches
 * every one of them, the sender's copy too. */
static void one_person_on_every_device(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t bob = ht_v2(f.h, T0);
    ht_send(f.h, bob, T0, "{\"type\":\"hello\",\"nick\":\"bob\"}");
    uint64_t w1 = ht_v2(f.h, T0);
    ht_send(f.h, w1, T0, "{\"type\":\"hello\",\"nick\":\"wanda\"}");
    ht_send(f.h, w1, T0, "{\"type\":\"register\",\"password\":\"hunter2\"}");
    settle(&f);
    char *got = ht_drain(f.h, w1);
    char tok[GW_TOKEN_HEX_LEN + 1];
    session_of(got, tok);
    free(got);
    free(ht_drain(f.h, bob));
    /* A second device with the session: no join for bob to see. */
    uint64_t w2;
    got = hello_with(&f, &w2, T0, tok, "x");
    ht_has(got, "\"account\":\"wanda\"");
    /* Its own welcome lists wanda once, and its events' name is w1's. */
    assert_int_equal(ht_count(got, "\"nick\":\"wanda\",\"via\""), 1);
    free(got);
    got = ht_drain(f.h, bob);
    assert_null(strstr(got, "\"type\":\"join\""));
    free(got);
    /* And a WINTALK program logged in to it: a guest first, then wanda. */
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    free(ht_drain(f.h, t));
    free(ht_drain(f.h, bob));
    /* Both browsers' messages carry one public name. */
    ht_send(f.h, w1, T0, "{\"type\":\"say\",\"text\":\"from one\"}");
    ht_send(f.h, w2, T0, "{\"type\":\"say\",\"text\":\"from two\"}");
    got = ht_drain(f.h, bob);
    const char *a = strstr(got, "\"ident\":\"");
    assert_non_null(a);
    const char *b = strstr(a + 1, "\"ident\":\"");
    assert_non_null(b);
    assert_memory_equal(a, b, 9 + 16); /* GW_IDENT_PUBLIC_LEN hex digits */
    free(got);
    free(ht_drain(f.h, w1));
    free(ht_drain(f.h, w2));
    free(ht_drain(f.h, t));
    /* One nick: another is refused while logged in. */
    ht_send(f.h, w2, T0, "{\"type\":\"nick\",\"nick\":\"wendy\",\"ref\":5}");
    got = ht_drain(f.h, w2);
    ht_has(got, "you are logged in as wanda: your nick is your account's");
    free(got);
    /* A private message from bob reaches all three; wanda's answer from
     * one browser is seen by the other and by the program. */
    ht_send(f.h, bob, T0, "{\"type\":\"msg\",\"to\":\"WANDA\",\"text\":\"psst\"}");
    got = ht_drain(f.h, w1);
    ht_has(got, "\"text\":\"psst\"");
    free(got);
    got = ht_drain(f.h, w2);
    ht_has(got, "\"text\":\"psst\"");
    free(got);
    got = ht_drain(f.h, t);
    ht_has(got, "* bob -> you: psst");
    free(got);
    ht_send(f.h, w1, T0, "{\"type\":\"msg\",\"to\":\"bob\",\"text\":\"hi bob\"}");
    got = ht_drain(f.h, w2);
    ht_has(got, "\"text\":\"hi bob\"");
    free(got);
    got = ht_drain(f.h, t);
    ht_has(got, "* you -> bob: hi bob");
    free(got);
    /* To herself, from any device (the nick's owner found may be another
     * of her connections): nowhere. */
    line(f.h, t, "/msg wanda hello me");
    got = ht_drain(f.h, t);
    ht_has(got, "a private message to yourself goes nowhere");
    free(got);
    ht_send(f.h, w1, T0, "{\"type\":\"msg\",\"to\":\"wanda\",\"text\":\"me\"}");
    got = ht_drain(f.h, w1);
    ht_has(got, "a private message to yourself goes nowhere");
    free(got);
    free(ht_drain(f.h, bob));
    /* Two of three close: no leave; the last: one. */
    assert_int_equal(gw_hub_disconnect(f.h, w1, T0, GW_LEAVE_CLOSED), GW_OK);
    assert_int_equal(gw_hub_disconnect(f.h, t, T0, GW_LEAVE_CLOSED), GW_OK);
    got = ht_drain(f.h, bob);
    assert_null(strstr(got, "\"type\":\"leave\""));
    free(got);
    assert_int_equal(gw_hub_disconnect(f.h, w2, T0, GW_LEAVE_CLOSED), GW_OK);
    got = ht_drain(f.h, bob);
    assert_int_equal(ht_count(got, "\"type\":\"leave\""), 1);
    free(got);
    teardown(&f);
}

/* Failed logins: GW_LOGIN_FAILS_BURST for one name, from any connection,
 * then 429 at once (no password checked, the right one neither) until a
 * try comes back GW_LOGIN_FAIL_REFILL_MS later; another name is not held
 * back; a connection trying many names is held back after
 * GW_LOGIN_FAILS_CONN_BURST. */
static void failed_logins_are_held_back(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    uint64_t c = program(&f, "carol", 1);
    line(f.h, c, "/register pw3");
    settle(&f);
    uint64_t m[GW_LOGIN_FAILS_BURST];
    char *got;
    for (int i = 0; i < GW_LOGIN_FAILS_BURST; i++) {
        m[i] = program(&f, NULL, 1); /* a connection each: the name is counted */
        line(f.h, m[i], "/identify alice guess");
        settle(&f);
        got = ht_drain(f.h, m[i]);
        ht_has(got, "wrong nick or password");
        free(got);
    }
    uint64_t x = program(&f, NULL, 1);
    line(f.h, x, "/identify ALICE hunter2");
    assert_int_equal(nreqs, 0); /* nothing to hash: refused at once */
    gw_accounts_mem_flush(f.mem);
    assert_int_equal(nreqs, 0);
    got = ht_drain(f.h, x);
    ht_has(got, "error 429: too many failed logins: try again in a minute");
    free(got);
    /* Carol is not held back. */
    line(f.h, x, "/identify carol pw3");
    settle(&f);
    got = ht_drain(f.h, x);
    ht_has(got, "logged in as carol");
    free(got);
    /* One try comes back after the refill, not a millisecond before. */
    uint64_t y = program(&f, NULL, 1);
    int64_t last = T0;
    char frame[64];
    snprintf(frame, sizeof frame, "A%zu:/identify alice hunter2\r\n",
             strlen("/identify alice hunter2") + 2);
    ht_in(f.h, y, last + GW_LOGIN_FAIL_REFILL_MS - 1, frame);
    got = ht_drain(f.h, y);
    ht_has(got, "error 429");
    free(got);
    ht_in(f.h, y, last + GW_LOGIN_FAIL_REFILL_MS, frame);
    settle(&f);
    got = ht_drain(f.h, y);
    ht_has(got, "logged in as alice");
    free(got);
    /* One connection, many names: held back after its own burst. */
    uint64_t z = program(&f, NULL, 1);
    char cmd[64];
    for (int i = 0; i < GW_LOGIN_FAILS_CONN_BURST; i++) {
        snprintf(cmd, sizeof cmd, "/identify nobody%d guess", i);
        line(f.h, z, cmd);
        settle(&f);
    }
    got = ht_drain(f.h, z);
    assert_int_equal(ht_count(got, "wrong nick or password"), GW_LOGIN_FAILS_CONN_BURST);
    free(got);
    line(f.h, z, "/identify carol pw3");
    got = ht_drain(f.h, z);
    ht_has(got, "error 429: too many failed logins");
    free(got);
    teardown(&f);
}

/* A private message to an account away is kept and given when it comes
 * back, by any way in, once; to a guest who left it is refused in words
 * that say so. */
static void private_messages_wait_for_the_absent(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    char *got;
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    uint64_t b = program(&f, "bob", 1);
    line(f.h, b, "/msg Wanda psst");
    settle(&f);
    got = ht_drain(f.h, b);
    ht_has(got, "* you -> wanda: psst");
    ht_has(got, "wanda is away: the message is kept for them");
    free(got);
    /* She comes back by a WINTALK program: given once. */
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    got = ht_drain(f.h, t);
    ht_has(got, "* bob -> you (while you were away): psst");
    free(got);
    assert_int_equal(gw_hub_disconnect(f.h, t, T0, GW_LEAVE_CLOSED), GW_OK);
    line(f.h, b, "/msg wanda second");
    settle(&f);
    free(ht_drain(f.h, b));
    /* Then by a browser's session: after its welcome, only the second. */
    uint64_t v;
    got = hello_with(&f, &v, T0, tok, "x");
    const char *wel = strstr(got, "\"type\":\"welcome\"");
    assert_non_null(wel);
    const char *kept = strstr(wel, "\"kept\":true,\"text\":\"second\"");
    assert_non_null(kept);
    assert_null(strstr(got, "\"text\":\"psst\""));
    free(got);
    /* A guest who left: refused, said so. */
    uint64_t g = program(&f, "gus", 1);
    assert_int_equal(gw_hub_disconnect(f.h, g, T0, GW_LEAVE_CLOSED), GW_OK);
    line(f.h, b, "/msg gus hello?");
    got = ht_drain(f.h, b);
    ht_has(got, "error 550: no one is called gus here (a guest who left cannot be reached): "
                "the message was not sent");
    free(got);
    teardown(&f);
}

/* More kept than one page of the store's answer: every one given, once,
 * in order. */
static void many_kept_messages_are_given_page_by_page(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t t = program(&f, "wanda", 1);
    line(f.h, t, "/register hunter2");
    settle(&f);
    assert_int_equal(gw_hub_disconnect(f.h, t, T0, GW_LEAVE_CLOSED), GW_OK);
    uint64_t b = program(&f, "bob", 1);
    char cmd[64];
    const int n = GW_ACCOUNT_PMS_PAGE * 2 + 1;
    for (int i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "/msg wanda m%d.", i);
        line(f.h, b, cmd);
        settle(&f);
        free(ht_drain(f.h, b));
    }
    t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    char *got = ht_drain(f.h, t);
    assert_int_equal(ht_count(got, "(while you were away)"), n);
    const char *at = got;
    for (int i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "you (while you were away): m%d.", i);
        at = strstr(at, cmd);
        if (!at)
            fail_msg("m%d missing or out of order", i);
    }
    free(got);
    teardown(&f);
}

/* A browser logged in on another device closes (its tab lingers for the
 * reload grace) and its session ends meanwhile (a new password); back
 * with its token and that session, it is a guest: not the account's nick
 * of the lingering tab. */
static void back_with_a_session_that_ended_is_a_guest(void **state)
{
    (void)state;
    struct fix f;
    grace_ms = 15000;
    setup(&f, 0, 0);
    grace_ms = 0;
    char tok[GW_TOKEN_HEX_LEN + 1], tok2[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "dora", tok);
    uint64_t b = ht_v2(f.h, T0);
    ht_send(f.h, b, T0, "{\"type\":\"hello\"}");
    char *got = ht_drain(f.h, b);
    const char *t = strstr(got, "\"token\":\"");
    assert_non_null(t);
    char itok[GW_TOKEN_HEX_LEN + 1];
    memcpy(itok, t + 9, GW_TOKEN_HEX_LEN);
    itok[GW_TOKEN_HEX_LEN] = '\0';
    free(got);
    ht_send(f.h, b, T0, "{\"type\":\"login\",\"nick\":\"dora\",\"password\":\"hunter2\"}");
    settle(&f);
    got = ht_drain(f.h, b);
    session_of(got, tok2);
    free(got);
    assert_int_equal(gw_hub_disconnect(f.h, b, T0, GW_LEAVE_CLOSED), GW_OK);
    ht_send(f.h, w, T0, "{\"type\":\"password\",\"old\":\"hunter2\",\"new\":\"n3w\"}");
    settle(&f);
    free(ht_drain(f.h, w));
    uint64_t c = ht_v2(f.h, T0 + 1);
    char hello[256];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"token\":\"%s\",\"session\":\"%s\"}",
             itok, tok2);
    ht_send(f.h, c, T0 + 1, hello);
    settle(&f);
    got = ht_drain(f.h, c);
    ht_has(got, "your session is over");
    const char *you = strstr(got, "\"you\":{\"pid\":");
    assert_non_null(you);
    you = strstr(you, ",\"nick\":\"");
    assert_non_null(you);
    if (strncmp(you, ",\"nick\":\"guest-", 15) != 0)
        fail_msg("back as %.30s", you);
    free(got);
    teardown(&f);
}

/* The id of the message whose text is text in got, or the test fails. */
static uint64_t id_of(const char *got, const char *text)
{
    char want[128];
    snprintf(want, sizeof want, "\"text\":\"%s\"", text);
    const char *t = strstr(got, want);
    assert_non_null(t);
    const char *id = NULL;
    for (const char *s = got; (s = strstr(s, "\"id\":")) && s < t; s++)
        id = s;
    assert_non_null(id);
    return strtoull(id + 5, NULL, 10);
}

/* An account stays a member of the rooms it joined, and keeps where it
 * read to (forward only): a browser logging in later joins them and is
 * told; a room it parted is not joined again; a guest's reads are not
 * kept. */
static void rooms_and_read_positions_stay_with_the_account(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    ht_send(f.h, w, T0, "{\"type\":\"join\",\"room\":\"#Dev\"}");
    ht_send(f.h, w, T0, "{\"type\":\"join\",\"room\":\"#ops\"}");
    settle(&f); /* joined once the store said who is a member */
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"room\":\"#dev\",\"text\":\"one\"}");
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"room\":\"#dev\",\"text\":\"two\"}");
    settle(&f);
    char *got = ht_drain(f.h, w);
    uint64_t one = id_of(got, "one"), two = id_of(got, "two");
    free(got);
    char msg[128];
    snprintf(msg, sizeof msg, "{\"type\":\"read\",\"room\":\"#dev\",\"id\":%llu}",
             (unsigned long long)one);
    ht_send(f.h, w, T0, msg);
    snprintf(msg, sizeof msg, "{\"type\":\"read\",\"room\":\"#DEV\",\"id\":%llu}",
             (unsigned long long)(one - 1)); /* back: nothing */
    ht_send(f.h, w, T0, msg);
    ht_send(f.h, w, T0, "{\"type\":\"read\",\"room\":\"#nowhere\",\"id\":1,\"ref\":4}");
    settle(&f);
    got = ht_drain(f.h, w);
    ht_has(got, "{\"type\":\"error\",\"code\":501,\"message\":\"not in #nowhere\",\"ref\":4}");
    free(got);
    (void)two;
    /* Another device: #Dev and #ops joined for it, and where she read. */
    uint64_t v;
    got = hello_with(&f, &v, T0, tok, "x");
    ht_has(got, "\"type\":\"joined\",\"code\":250,\"room\":\"#Dev\"");
    ht_has(got, "\"type\":\"joined\",\"code\":250,\"room\":\"#ops\"");
    snprintf(msg, sizeof msg,
             "{\"type\":\"reads\",\"rooms\":{\"#Dev\":%llu,\"#lobby\":0,\"#ops\":0}}",
             (unsigned long long)one);
    ht_has(got, msg);
    free(got);
    /* It parts #ops: the next device does not join it. */
    ht_send(f.h, v, T0, "{\"type\":\"part\",\"room\":\"#ops\"}");
    settle(&f);
    free(ht_drain(f.h, v));
    uint64_t u;
    got = hello_with(&f, &u, T0, tok, "x");
    ht_has(got, "\"room\":\"#Dev\"");
    assert_null(strstr(got, "\"type\":\"joined\",\"code\":250,\"room\":\"#ops\""));
    free(got);
    /* A guest's read: nothing kept, nothing said. */
    uint64_t g = ht_v2(f.h, T0);
    ht_send(f.h, g, T0, "{\"type\":\"hello\",\"rooms\":{\"#dev\":0}}");
    free(ht_drain(f.h, g));
    ht_send(f.h, g, T0, "{\"type\":\"read\",\"room\":\"#dev\",\"id\":1}");
    got = ht_drain(f.h, g);
    assert_string_equal(got, "");
    free(got);
    teardown(&f);
}

/* A WINTALK program from address ip, with nick (NULL: a guest). */
static uint64_t program_from(struct fix *f, const char *ip, const char *nick)
{
    uint64_t p = program(f, NULL, 1);
    assert_int_equal(gw_hub_set_address(f->h, p, ip), GW_OK);
    if (nick) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "/nick %s", nick);
        line(f->h, p, cmd);
        settle(f);
        free(ht_drain(f->h, p));
    }
    return p;
}

/* The rooms a browser is in when it logs in become its account's: another
 * device that logs in joins them, and its read positions there are kept. */
static void the_rooms_of_a_login_become_the_accounts(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"nick\":\"wanda\",\"rooms\":{\"#dev\":0}}");
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"room\":\"#dev\",\"text\":\"before\"}");
    settle(&f);
    char *got = ht_drain(f.h, w);
    uint64_t id = id_of(got, "before");
    free(got);
    ht_send(f.h, w, T0, "{\"type\":\"register\",\"password\":\"hunter2\"}");
    settle(&f);
    got = ht_drain(f.h, w);
    char tok[GW_TOKEN_HEX_LEN + 1];
    session_of(got, tok);
    free(got);
    char msg[96];
    snprintf(msg, sizeof msg, "{\"type\":\"read\",\"room\":\"#dev\",\"id\":%llu}",
             (unsigned long long)id);
    ht_send(f.h, w, T0, msg);
    settle(&f);
    uint64_t v;
    got = hello_with(&f, &v, T0, tok, "x");
    ht_has(got, "\"type\":\"joined\",\"code\":250,\"room\":\"#dev\"");
    snprintf(msg, sizeof msg, "\"#dev\":%llu", (unsigned long long)id);
    ht_has(got, msg);
    ht_has(got, "\"#lobby\":0");
    free(got);
    teardown(&f);
}

/* Per address: registrations an hour (cfg.registrations_per_hour), and
 * failed logins whatever the names and connections
 * (GW_LOGIN_FAILS_ADDR_BURST); another address is not held back. */
static void what_one_address_may_do(void **state)
{
    (void)state;
    struct fix f;
    per_hour = 3;
    setup(&f, 0, 0);
    per_hour = 0;
    char nick[32];
    char *got;
    for (int i = 0; i < 4; i++) {
        snprintf(nick, sizeof nick, "user%d", i);
        uint64_t p = program_from(&f, "10.0.0.1", nick);
        line(f.h, p, "/register pw");
        settle(&f);
        got = ht_drain(f.h, p);
        ht_has(got, i < 3 ? "registered and logged in"
                          : "error 429: too many registrations from your address");
        free(got);
    }
    uint64_t q = program_from(&f, "10.0.0.2", "other");
    line(f.h, q, "/register pw");
    settle(&f);
    got = ht_drain(f.h, q);
    ht_has(got, "registered and logged in as other");
    free(got);
    /* A try comes back 20 minutes (an hour over 3) later, not before. */
    uint64_t r = program_from(&f, "10.0.0.1", "late");
    char frame[32];
    snprintf(frame, sizeof frame, "A%zu:/register pw\r\n", strlen("/register pw") + 2);
    ht_in(f.h, r, T0 + 1200000 - 1, frame);
    got = ht_drain(f.h, r);
    ht_has(got, "error 429");
    free(got);
    ht_in(f.h, r, T0 + 1200000, frame);
    settle(&f);
    got = ht_drain(f.h, r);
    ht_has(got, "registered and logged in as late");
    free(got);
    /* Failed logins: one a name and a connection, 20 from one address. */
    for (int i = 0; i < GW_LOGIN_FAILS_ADDR_BURST; i++) {
        uint64_t m = program_from(&f, "10.0.0.3", NULL);
        snprintf(frame, sizeof frame, "/identify nobody%d x", i);
        line(f.h, m, frame);
        settle(&f);
        got = ht_drain(f.h, m);
        ht_has(got, "wrong nick or password");
        free(got);
    }
    uint64_t m = program_from(&f, "10.0.0.3", NULL);
    line(f.h, m, "/identify other pw");
    got = ht_drain(f.h, m);
    ht_has(got, "error 429: too many failed logins");
    free(got);
    uint64_t n = program_from(&f, "10.0.0.4", NULL);
    line(f.h, n, "/identify other pw");
    settle(&f);
    got = ht_drain(f.h, n);
    ht_has(got, "logged in as other");
    free(got);
    teardown(&f);
}

/* Tries at once count as many: a burst of logins to one name before any
 * answer gets GW_LOGIN_FAILS_BURST checked and the rest refused at once;
 * a right password gives its try back. */
static void a_burst_of_tries_is_held_back_too(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    settle(&f);
    uint64_t m[GW_LOGIN_FAILS_BURST + 3];
    for (int i = 0; i < GW_LOGIN_FAILS_BURST + 3; i++) {
        m[i] = program(&f, NULL, 1);
        line(f.h, m[i], "/identify alice guess");
    }
    gw_accounts_mem_flush(f.mem);
    assert_int_equal(nreqs, GW_LOGIN_FAILS_BURST); /* checked: the first 5 only */
    settle(&f);
    for (int i = 0; i < GW_LOGIN_FAILS_BURST + 3; i++) {
        char *got = ht_drain(f.h, m[i]);
        ht_has(got, i < GW_LOGIN_FAILS_BURST ? "wrong nick or password"
                                             : "error 429: too many failed logins");
        free(got);
    }
    /* Right passwords give their tries back: carol logs in 8 times. */
    uint64_t c = program(&f, "carol", 1);
    line(f.h, c, "/register pw3");
    settle(&f);
    for (int i = 0; i < GW_LOGIN_FAILS_BURST + 3; i++) {
        uint64_t x = program(&f, NULL, 1);
        line(f.h, x, "/identify carol pw3");
        settle(&f);
        char *got = ht_drain(f.h, x);
        ht_has(got, "logged in as carol");
        free(got);
    }
    teardown(&f);
}

/* A participant gone before the answers: they go to nobody. */
static void gone_before_the_answer(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    uint64_t a = program(&f, "alice", 1);
    line(f.h, a, "/register hunter2");
    assert_int_equal(gw_hub_disconnect(f.h, a, T0, GW_LEAVE_CLOSED), GW_OK);
    settle(&f);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 0);
    teardown(&f);
}

/* What /who typed by the WINTALK program t answers (the caller frees). */
static char *who(struct fix *f, uint64_t t)
{
    free(ht_drain(f->h, t));
    line(f->h, t, "/who");
    return ht_drain(f->h, t);
}

/* The hub stops and starts again on the same store (its accounts). */
static void restart(struct fix *f)
{
    gw_hub_free(f->h);
    f->h = ht_hub((struct gw_hub_config){.random = ht_random, .accounts = &f->ac,
                                         .hash = fake_hash, .verify = fake_verify});
    the_hub = f->h;
    settle(f);
}

/* A guest browser saying hello in room (its output drained). */
static uint64_t guest_in(struct fix *f, const char *nick, const char *room)
{
    char hello[160];
    uint64_t g = ht_v2(f->h, T0);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"nick\":\"%s\",\"rooms\":{\"%s\":0}}",
             nick, room);
    ht_send(f->h, g, T0, hello);
    settle(f);
    free(ht_drain(f->h, g));
    return g;
}

/* An account stays a member of its rooms while it has no connection:
 * nobody sees it leave or come back, the lists and /who show it away,
 * and a part ends it. A hub started again on the same store lists it
 * too, by the nick it registered. */
static void an_account_away_stays_in_its_rooms(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "Wanda", tok);
    ht_send(f.h, w, T0, "{\"type\":\"join\",\"room\":\"#dev\"}");
    settle(&f);
    uint64_t b = guest_in(&f, "bob", "#dev");
    uint64_t t = program(&f, "tom", 1);
    line(f.h, t, "/join #dev");
    settle(&f);
    free(ht_drain(f.h, t));
    free(ht_drain(f.h, w));
    /* Her last connection closes: away, not gone; no line for the pane. */
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    settle(&f);
    char *got = ht_drain(f.h, b);
    ht_has(got, "\"type\":\"leave\",\"room\":\"#dev\"");
    ht_has(got, "\"nick\":\"Wanda\",\"ident\":\"");
    ht_has(got, "\"reason\":\"away\"");
    assert_null(strstr(got, "\"reason\":\"closed\""));
    free(got);
    got = ht_drain(f.h, t);
    assert_null(strstr(got, "Wanda"));
    free(got);
    /* Who comes now finds her listed away; /who says so. */
    uint64_t c = ht_v2(f.h, T0);
    ht_send(f.h, c, T0, "{\"type\":\"hello\",\"nick\":\"cy\",\"rooms\":{\"#dev\":0}}");
    settle(&f);
    got = ht_drain(f.h, c);
    ht_has(got, "{\"pid\":0,\"nick\":\"Wanda\",\"ident\":\"");
    ht_has(got, "\"away\":true}");
    assert_int_equal(ht_count(got, "\"away\":true"), 2); /* #lobby, #dev */
    free(got);
    got = who(&f, t);
    ht_has(got, "here: bob (web), cy (web), tom (tcp); away: Wanda");
    free(got);
    /* She comes back on another device: back, with no line, and listed
     * here, no more away. */
    uint64_t v;
    got = hello_with(&f, &v, T0, tok, "x");
    ht_has(got, "\"room\":\"#dev\"");
    free(got);
    got = ht_drain(f.h, b);
    ht_has(got, "\"type\":\"join\",\"room\":\"#dev\"");
    ht_has(got, "\"back\":true}");
    free(got);
    got = ht_drain(f.h, t);
    assert_null(strstr(got, "Wanda"));
    free(got);
    got = who(&f, t);
    ht_has(got, "4 here: bob (web), cy (web), tom (tcp), Wanda (web)\r\n");
    free(got);
    /* Away again, then back: she parts, and is a member no more. */
    assert_int_equal(gw_hub_disconnect(f.h, v, T0, GW_LEAVE_CLOSED), GW_OK);
    got = hello_with(&f, &v, T0, tok, "x");
    free(got);
    ht_send(f.h, v, T0, "{\"type\":\"part\",\"room\":\"#dev\"}");
    settle(&f);
    free(ht_drain(f.h, b));
    got = ht_drain(f.h, t);
    ht_has(got, "* Wanda left");
    free(got);
    assert_int_equal(gw_hub_disconnect(f.h, v, T0, GW_LEAVE_CLOSED), GW_OK);
    settle(&f);
    got = who(&f, t);
    assert_null(strstr(got, "away"));
    free(got);
    /* She joins again and goes: the hub starts again on the same store,
     * and #dev, loaded when somebody comes to it, lists her away by the
     * nick she registered (the store knows her by "wanda"). */
    got = hello_with(&f, &v, T0, tok, "x");
    free(got);
    ht_send(f.h, v, T0, "{\"type\":\"join\",\"room\":\"#dev\"}");
    settle(&f);
    restart(&f);
    uint64_t d = ht_v2(f.h, T0);
    ht_send(f.h, d, T0, "{\"type\":\"hello\",\"nick\":\"dee\",\"rooms\":{\"#dev\":0}}");
    settle(&f);
    got = ht_drain(f.h, d);
    ht_has(got, "{\"pid\":0,\"nick\":\"Wanda\",\"ident\":\"");
    free(got);
    (void)c;
    teardown(&f);
}

/* Another gateway says she went away from #dev while she is here (its
 * word came late): not shown while she is here, and when she parts here,
 * a member no more, so not away either. */
static void a_part_ends_a_late_away(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    ht_send(f.h, w, T0, "{\"type\":\"join\",\"room\":\"#dev\"}");
    settle(&f);
    uint64_t t = program(&f, "tom", 1);
    line(f.h, t, "/join #dev");
    settle(&f);
    free(ht_drain(f.h, t));
    static const char away[] =
        "{\"type\":\"leave\",\"room\":\"#dev\",\"id\":90,\"time\":1795555200000,"
        "\"pid\":8589934593,\"nick\":\"wanda\",\"via\":\"web\",\"reason\":\"away\"}";
    struct gw_store_event ev = {.id = 90, .type = GW_EV_LEAVE, .json = away,
                                .json_len = sizeof away - 1};
    assert_int_equal(gw_hub_store_event(f.h, "#dev", &ev), GW_OK);
    char *got = who(&f, t);
    ht_has(got, "here: tom (tcp), wanda (web)\r\n");
    free(got);
    ht_send(f.h, w, T0, "{\"type\":\"part\",\"room\":\"#dev\"}");
    settle(&f);
    free(ht_drain(f.h, t));
    got = who(&f, t);
    ht_has(got, "1 here: tom (tcp)\r\n");
    free(got);
    teardown(&f);
}

/* A room lists at most GW_ROOM_AWAY_MAX accounts away: with one more a
 * member, that many, and none from a leave past the bound. */
static void a_room_lists_a_bounded_number_away(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char phc[] = "phc:pw", key[32], nick[32];
    struct gw_account a = {.phc = phc, .generation = 1, .key = key, .nick = nick};
    for (unsigned i = 0; i <= GW_ROOM_AWAY_MAX; i++) {
        snprintf(key, sizeof key, "member%03u", i);
        snprintf(nick, sizeof nick, "Member%03u", i); /* listed by it, once asked */
        assert_int_equal(f.ac.create(f.ac.ctx, 999, &a), GW_STORE_PENDING);
        assert_int_equal(f.ac.room_keep(f.ac.ctx, 998, key, "#big", 1), GW_STORE_PENDING);
        if (i % 100 == 0)
            settle(&f);
    }
    settle(&f);
    uint64_t g = ht_v2(f.h, T0);
    ht_send(f.h, g, T0, "{\"type\":\"hello\",\"nick\":\"gus\",\"rooms\":{\"#big\":0}}");
    settle(&f);
    free(ht_drain(f.h, g));
    ht_send(f.h, g, T0, "{\"type\":\"join\",\"room\":\"#big\"}");
    char *got = ht_drain(f.h, g);
    assert_int_equal(ht_count(got, "\"away\":true"), GW_ROOM_AWAY_MAX);
    assert_int_equal(ht_count(got, "{\"pid\":0,\"nick\":\"Member"), GW_ROOM_AWAY_MAX);
    free(got);
    /* One more goes away from a full list: not listed. */
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    ht_send(f.h, w, T0, "{\"type\":\"join\",\"room\":\"#big\"}");
    settle(&f);
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    settle(&f);
    free(ht_drain(f.h, g));
    ht_send(f.h, g, T0, "{\"type\":\"join\",\"room\":\"#big\"}");
    got = ht_drain(f.h, g);
    assert_int_equal(ht_count(got, "\"away\":true"), GW_ROOM_AWAY_MAX);
    assert_null(strstr(got, "{\"pid\":0,\"nick\":\"wanda\""));
    free(got);
    teardown(&f);
}

/* A WINTALK program's rooms are its account's too: one logged in that goes
 * to #dev and closes is listed away there by a hub started again; going
 * from a room where a browser of the account stays does not part the
 * account from it. */
static void a_programs_rooms_are_its_accounts(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    ht_send(f.h, w, T0, "{\"type\":\"join\",\"room\":\"#ops\"}");
    settle(&f);
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    line(f.h, t, "/join #ops");
    settle(&f);
    line(f.h, t, "/join #dev"); /* from #ops, where her browser stays */
    settle(&f);
    assert_int_equal(gw_hub_disconnect(f.h, t, T0, GW_LEAVE_CLOSED), GW_OK);
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    settle(&f);
    restart(&f);
    uint64_t d = ht_v2(f.h, T0);
    ht_send(f.h, d, T0, "{\"type\":\"hello\",\"nick\":\"dee\",\"rooms\":{\"#dev\":0,\"#ops\":0}}");
    settle(&f);
    char *got = ht_drain(f.h, d);
    assert_int_equal(ht_count(got, "{\"pid\":0,\"nick\":\"wanda\""), 3); /* #lobby, #dev, #ops */
    free(got);
    teardown(&f);
}

/* A store that reads a room's history later (load_async), answered when
 * the test says (gw_hub_store_loaded). */
static int later_append(void *ctx, const char *key, const char *name,
                        const struct gw_store_event *ev)
{
    (void)ctx, (void)key, (void)name, (void)ev;
    return GW_STORE_DONE;
}

static int later_load_async(void *ctx, const char *key, size_t max_events, size_t max_bytes)
{
    (void)ctx, (void)key, (void)max_events, (void)max_bytes;
    return GW_STORE_PENDING;
}

/* A room whose history comes before the store's list of its members:
 * its joins wait for the list too, and the first joiner sees who is away. */
static void a_room_waits_for_its_members_away(void **state)
{
    (void)state;
    struct gw_store st = {.kind = "later", .append = later_append,
                          .load_async = later_load_async};
    struct fix f;
    acct_setup(&f, (struct gw_hub_config){.store = &st});
    char phc[] = "phc:pw";
    struct gw_account a = {.key = "wanda", .nick = "Wanda", .phc = phc, .generation = 1};
    assert_int_equal(f.ac.create(f.ac.ctx, 999, &a), GW_STORE_PENDING);
    assert_int_equal(f.ac.room_keep(f.ac.ctx, 998, "wanda", "#dev", 1), GW_STORE_PENDING);
    settle(&f);
    uint64_t g = ht_v2(f.h, T0);
    ht_send(f.h, g, T0, "{\"type\":\"hello\",\"nick\":\"gus\"}");
    free(ht_drain(f.h, g));
    ht_send(f.h, g, T0, "{\"type\":\"join\",\"room\":\"#dev\"}");
    assert_int_equal(gw_hub_store_loaded(f.h, "#dev", 0, 0, NULL, 0, T0), GW_OK);
    char *got = ht_drain(f.h, g);
    assert_null(strstr(got, "\"type\":\"joined\"")); /* the list is still to come */
    free(got);
    settle(&f);
    got = ht_drain(f.h, g);
    ht_has(got, "\"type\":\"joined\"");
    ht_has(got, "{\"pid\":0,\"nick\":\"");
    ht_has(got, "\"away\":true}");
    free(got);
    teardown(&f);
}

/* Logged out, a guest again: the account stays a member of the room,
 * listed away by /who. */
static void a_logout_leaves_the_account_away(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, 0, 0);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    uint64_t t = program(&f, "tom", 1);
    ht_send(f.h, w, T0, "{\"type\":\"logout\"}");
    settle(&f);
    free(ht_drain(f.h, t));
    char *got = who(&f, t);
    ht_has(got, "2 here: guest-");
    ht_has(got, "; away: wanda\r\n");
    free(got);
    teardown(&f);
}

/* The reload grace and being away go one after the other: a reload is
 * nothing for anyone; a grace that ends with nobody back is away. */
static void an_account_away_after_its_grace(void **state)
{
    (void)state;
    struct fix f;
    grace_ms = 15000;
    setup(&f, 0, 0);
    grace_ms = 0;
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    uint64_t b = guest_in(&f, "bob", "#lobby");
    free(ht_drain(f.h, w));
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    gw_hub_tick(f.h, T0 + 14999);
    char *got = ht_drain(f.h, b);
    assert_null(strstr(got, "\"type\":\"leave\""));
    free(got);
    /* A private message while she is in her grace is kept for her account. */
    uint64_t t = program(&f, "tom", 1);
    line(f.h, t, "/msg wanda in the grace");
    settle(&f);
    got = ht_drain(f.h, t);
    ht_has(got, "wanda is away: the message is kept for them");
    free(got);
    gw_hub_tick(f.h, T0 + 15000);
    settle(&f);
    got = ht_drain(f.h, b);
    ht_has(got, "\"type\":\"leave\",\"room\":\"#lobby\"");
    ht_has(got, "\"reason\":\"away\"");
    free(got);
    /* Another device gets it at its login. */
    uint64_t v;
    got = hello_with(&f, &v, T0 + 15000, tok, "x");
    ht_has(got, "\"kept\":true,\"text\":\"in the grace\"");
    free(got);
    teardown(&f);
}

/* ---- sessions ended on another gateway ---- */

/* What the hub told the other gateways (cfg.accounts->moved), and the
 * finds it asked (to count those out at once). */
static char moved_key[GW_NICK_KEY_MAX_BYTES + 1];
static uint64_t moved_gen;
static int moved_why, moved_calls;
static size_t finds_asked;
static int (*mem_find)(void *ctx, uint64_t tag, const char *key);

static int fake_moved(void *ctx, const char *key, uint64_t generation, int why)
{
    (void)ctx;
    snprintf(moved_key, sizeof moved_key, "%s", key);
    moved_gen = generation;
    moved_why = why;
    moved_calls++;
    return 0;
}

static int counted_find(void *ctx, uint64_t tag, const char *key)
{
    finds_asked++;
    return mem_find(ctx, tag, key);
}

/* A hub on a store several gateways share, as far as the hub knows: its
 * news go to fake_moved; its finds are counted. */
static void shared_setup(struct fix *f)
{
    setup(f, 0, 0);
    f->ac.moved = fake_moved;
    mem_find = f->ac.find;
    f->ac.find = counted_find;
    moved_key[0] = '\0';
    moved_gen = 0;
    moved_why = moved_calls = 0;
    finds_asked = 0;
}

/* The account of key has generation in the store, as another gateway
 * (or the operator) leaves it: its password "phc:hunter2". */
static void store_moves(struct fix *f, const char *key, uint64_t generation)
{
    struct gw_account a = {.key = key, .nick = key, .phc = "phc:hunter2",
                           .generation = generation};
    assert_int_equal(f->ac.update(f->ac.ctx, 997, &a), GW_STORE_PENDING);
    settle(f);
}

/* A program that registers nick (password "hunter2"), drained. */
static uint64_t program_registers(struct fix *f, const char *nick)
{
    uint64_t t = program(f, nick, 1);
    line(f->h, t, "/register hunter2");
    settle(f);
    char *got = ht_drain(f->h, t);
    ht_has(got, "registered and logged in as");
    free(got);
    return t;
}

/* p's output holds no logout. */
static void still_in(struct fix *f, uint64_t p)
{
    char *got = ht_drain(f->h, p);
    if (strstr(got, "logged out") || strstr(got, "\"nick\":null"))
        fail_msg("logged out: %s", got);
    free(got);
}

/* A browser p is told it is logged out (no ref) and is a guest. */
static void browser_out(struct fix *f, uint64_t p)
{
    char *got = ht_drain(f->h, p);
    ht_has(got, "{\"type\":\"account\",\"nick\":null}");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
}

/* Another gateway's news: connections here logged in under an older
 * generation are logged out, each transport told as a logout here tells
 * it; those of the generation given, and other accounts, stay. */
static void news_from_another_gateway_end_older_sessions(void **state)
{
    (void)state;
    struct fix f;
    shared_setup(&f);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    uint64_t x;
    char *got = hello_with(&f, &x, T0, tok, "x"); /* logged in by its session */
    ht_has(got, "\"account\":\"wanda\"");
    free(got);
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    free(ht_drain(f.h, t));
    uint64_t bob = program_registers(&f, "bob");
    /* News of the generation they have: nobody is logged out. */
    assert_int_equal(gw_hub_account_moved(f.h, "wanda", 1, GW_MOVED_ENDED, T0), GW_ENOENT);
    still_in(&f, w);
    still_in(&f, x);
    still_in(&f, t);
    /* Bad news: nothing. */
    assert_int_equal(gw_hub_account_moved(f.h, "", 5, GW_MOVED_ENDED, T0), GW_ENOENT);
    /* Moved on elsewhere: all three are out, bob stays. */
    store_moves(&f, "wanda", 2);
    assert_int_equal(gw_hub_account_moved(f.h, "wanda", 2, GW_MOVED_PASSWORD, T0), GW_OK);
    browser_out(&f, w);
    browser_out(&f, x);
    got = ht_drain(f.h, t);
    ht_has(got, "logged out: the account's password was changed; you are guest-");
    free(got);
    still_in(&f, bob);
    line(f.h, bob, "/whoami");
    got = ht_drain(f.h, bob);
    ht_has(got, "logged in to the account bob");
    free(got);
    /* The session is over for the store too; news again finds nobody. */
    got = hello_with(&f, &x, T0, tok, "x");
    ht_has(got, "your session is over");
    free(got);
    assert_int_equal(gw_hub_account_moved(f.h, "wanda", 2, GW_MOVED_ENDED, T0), GW_ENOENT);
    teardown(&f);
}

/* What this gateway moves on, it tells every gateway (this one too): a
 * logout everywhere, a new password. Its own news coming back leaves the
 * changer and its browser's other tab logged in. */
static void this_gateways_news_go_to_every_gateway(void **state)
{
    (void)state;
    struct fix f;
    shared_setup(&f);
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"nick\":\"wanda\"}");
    char *got = ht_drain(f.h, w);
    const char *tk = strstr(got, "\"token\":\"");
    assert_non_null(tk);
    char token[GW_TOKEN_HEX_LEN + 1];
    memcpy(token, tk + 9, GW_TOKEN_HEX_LEN);
    token[GW_TOKEN_HEX_LEN] = '\0';
    free(got);
    ht_send(f.h, w, T0, "{\"type\":\"register\",\"password\":\"hunter2\"}");
    settle(&f);
    char tok[GW_TOKEN_HEX_LEN + 1];
    got = ht_drain(f.h, w);
    session_of(got, tok);
    free(got);
    /* The same browser's second tab. */
    uint64_t w2 = ht_v2(f.h, T0);
    char hello[256];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"token\":\"%s\",\"session\":\"%s\"}",
             token, tok);
    ht_send(f.h, w2, T0, hello);
    settle(&f);
    got = ht_drain(f.h, w2);
    ht_has(got, "\"account\":\"wanda\"");
    free(got);
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    free(ht_drain(f.h, t));
    assert_int_equal(moved_calls, 0);
    /* A new password: told as such, with the new generation. */
    ht_send(f.h, w, T0, "{\"type\":\"password\",\"old\":\"hunter2\",\"new\":\"s3cret\",\"ref\":2}");
    settle(&f);
    assert_int_equal(moved_calls, 1);
    assert_string_equal(moved_key, "wanda");
    assert_int_equal(moved_gen, 2);
    assert_int_equal(moved_why, GW_MOVED_PASSWORD);
    got = ht_drain(f.h, t);
    ht_has(got, "logged out: the account's password was changed; you are guest-");
    free(got);
    free(ht_drain(f.h, w));
    free(ht_drain(f.h, w2));
    /* Its own news come back: the changer and its tab stay. */
    assert_int_equal(gw_hub_account_moved(f.h, "wanda", 2, GW_MOVED_PASSWORD, T0), GW_ENOENT);
    still_in(&f, w);
    still_in(&f, w2);
    /* So does a look at the account in the store. */
    gw_hub_tick(f.h, T0);
    settle(&f);
    still_in(&f, w);
    still_in(&f, w2);
    /* Everywhere, from the program logged in anew. */
    line(f.h, t, "/identify wanda s3cret");
    settle(&f);
    free(ht_drain(f.h, t));
    line(f.h, t, "/logout all");
    settle(&f);
    assert_int_equal(moved_calls, 2);
    assert_string_equal(moved_key, "wanda");
    assert_int_equal(moved_gen, 3);
    assert_int_equal(moved_why, GW_MOVED_ENDED);
    browser_out(&f, w);
    teardown(&f);
}

/* News lost: the accounts logged in here are looked at in the store with
 * each walk of the names, and when the engine says news may have been
 * missed; at most GW_ACCOUNT_CHECKS_MAX look-ups out at once, one per
 * account. An account found at a newer generation logs out its older
 * connections, one found removed all of them. */
static void a_look_at_the_accounts_finds_sessions_ended_elsewhere(void **state)
{
    (void)state;
    struct fix f;
    shared_setup(&f);
    char tok[GW_TOKEN_HEX_LEN + 1];
    uint64_t w = browser_registers(&f, "wanda", tok);
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    settle(&f);
    free(ht_drain(f.h, t));
    enum { OTHERS = 2 * GW_ACCOUNT_CHECKS_MAX + 3 };
    uint64_t others[OTHERS];
    for (unsigned i = 0; i < OTHERS; i++) {
        char nick[16];
        snprintf(nick, sizeof nick, "user%u", i);
        others[i] = program_registers(&f, nick);
    }
    /* The first walk: one look-up per account, the bound at once. */
    finds_asked = 0;
    gw_hub_tick(f.h, T0);
    assert_int_equal(finds_asked, GW_ACCOUNT_CHECKS_MAX);
    settle(&f);
    assert_int_equal(finds_asked, OTHERS + 1);
    still_in(&f, w);
    still_in(&f, t);
    /* Moved on with no news: found at the next walk, not before. */
    store_moves(&f, "wanda", 2);
    finds_asked = 0;
    keys_now = T0 + GW_NAMES_WALK_MS - 1;
    gw_hub_tick(f.h, keys_now);
    settle(&f);
    assert_int_equal(finds_asked, 0);
    still_in(&f, w);
    still_in(&f, t);
    keys_now = T0 + GW_NAMES_WALK_MS;
    gw_hub_tick(f.h, keys_now);
    settle(&f);
    browser_out(&f, w);
    char *got = ht_drain(f.h, t);
    ht_has(got, "logged out: every session of the account was ended; you are guest-");
    free(got);
    for (unsigned i = 0; i < OTHERS; i++)
        still_in(&f, others[i]);
    /* News missed (the engine's link came back): a look now. An account
     * removed meanwhile: its connection is out. */
    assert_int_equal(f.ac.remove(f.ac.ctx, 996, "user3"), GW_STORE_PENDING);
    settle(&f);
    finds_asked = 0;
    assert_int_equal(gw_hub_account_moved(f.h, NULL, 0, 0, T0), GW_OK);
    /* Asked again while the round is out: another round after it. */
    assert_int_equal(gw_hub_account_moved(f.h, NULL, 0, 0, T0), GW_OK);
    settle(&f);
    assert_int_equal(finds_asked, 2 * OTHERS - 1);
    got = ht_drain(f.h, others[3]);
    ht_has(got, "logged out: the account was removed; you are guest-");
    free(got);
    for (unsigned i = 0; i < OTHERS; i++)
        if (i != 3)
            still_in(&f, others[i]);
    teardown(&f);
}

/* A login by password whose account moved on while its password was
 * checked (the news came then, finding nobody): looked at once more when
 * it is done, and logged out. */
static void a_login_that_raced_the_news_is_looked_at_again(void **state)
{
    (void)state;
    struct fix f;
    shared_setup(&f);
    uint64_t r = program_registers(&f, "wanda");
    uint64_t t = program(&f, NULL, 1);
    line(f.h, t, "/identify wanda hunter2");
    gw_accounts_mem_flush(f.mem); /* found at generation 1: the check asked */
    assert_int_equal(nreqs, 1);
    /* Meanwhile, elsewhere: moved on, and the news (r, logged in, is out;
     * t is not logged in yet). The check still waits. */
    struct gw_account a = {.key = "wanda", .nick = "wanda", .phc = "phc:hunter2",
                           .generation = 2};
    assert_int_equal(f.ac.update(f.ac.ctx, 997, &a), GW_STORE_PENDING);
    gw_accounts_mem_flush(f.mem);
    assert_int_equal(gw_hub_account_moved(f.h, "wanda", 2, GW_MOVED_ENDED, T0), GW_OK);
    char *got = ht_drain(f.h, r);
    ht_has(got, "logged out: every session of the account was ended; you are guest-");
    free(got);
    free(ht_drain(f.h, t));
    settle(&f);
    got = ht_drain(f.h, t);
    ht_has(got, "logged in as wanda");
    ht_has(got, "logged out: every session of the account was ended; you are guest-");
    free(got);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_then_identify),
        cmocka_unit_test(a_failed_login_says_the_same),
        cmocka_unit_test(a_registered_nick_is_its_owners),
        cmocka_unit_test(where_a_password_may_come_from),
        cmocka_unit_test(gone_before_the_answer),
        cmocka_unit_test(the_owner_logs_in_over_a_guest),
        cmocka_unit_test(a_walk_finds_names_made_elsewhere),
        cmocka_unit_test(a_line_after_nick_is_said_under_it),
        cmocka_unit_test(a_name_registered_here_is_reserved_at_once),
        cmocka_unit_test(a_browser_registers_and_comes_back_with_its_session),
        cmocka_unit_test(a_session_ends_at_its_time),
        cmocka_unit_test(logout_here_and_everywhere),
        cmocka_unit_test(a_new_password),
        cmocka_unit_test(one_person_on_every_device),
        cmocka_unit_test(failed_logins_are_held_back),
        cmocka_unit_test(private_messages_wait_for_the_absent),
        cmocka_unit_test(many_kept_messages_are_given_page_by_page),
        cmocka_unit_test(back_with_a_session_that_ended_is_a_guest),
        cmocka_unit_test(rooms_and_read_positions_stay_with_the_account),
        cmocka_unit_test(what_one_address_may_do),
        cmocka_unit_test(the_rooms_of_a_login_become_the_accounts),
        cmocka_unit_test(a_burst_of_tries_is_held_back_too),
        cmocka_unit_test(an_account_away_stays_in_its_rooms),
        cmocka_unit_test(an_account_away_after_its_grace),
        cmocka_unit_test(a_part_ends_a_late_away),
        cmocka_unit_test(a_logout_leaves_the_account_away),
        cmocka_unit_test(a_programs_rooms_are_its_accounts),
        cmocka_unit_test(a_room_waits_for_its_members_away),
        cmocka_unit_test(a_room_lists_a_bounded_number_away),
        cmocka_unit_test(news_from_another_gateway_end_older_sessions),
        cmocka_unit_test(this_gateways_news_go_to_every_gateway),
        cmocka_unit_test(a_look_at_the_accounts_finds_sessions_ended_elsewhere),
        cmocka_unit_test(a_login_that_raced_the_news_is_looked_at_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
