/*
 * test_hub_jwt.c - a site's own login through the hub (gw_jwtlogin.c), on
 * the in-memory accounts engine, with a verifier of the test's own in
 * place of the program's (which test_jwt.py checks with real keys and
 * tokens): a token here is "ok|SUB|NICK|ADMIN|ROOM,ROOM" (verified, those
 * claims) or "bad:WHY" (refused, with those words). Passwords are "hashed"
 * by the test as in test_hub_accounts.c (a hash of pw is "phc:" pw).
 *
 * Every branch: an account made on first sight and found on the next, a
 * token of another sub for the same nick, a password account's nick, a
 * token without a nick claim, refused tokens (a guest, 530), the rooms
 * claim, administrators (the admin claim, cfg.admins by any way in, the
 * stored role), closed registration, what waits behind a held hello, a
 * browser gone before the store answers.
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

static unsigned verifies; /* calls of the token verifier */

/* "ok|SUB|NICK|ADMIN|ROOM,ROOM" or "bad:WHY". */
/* src (NULL: "") into dst of n bytes, cut to fit. */
static void copy_in(char *dst, size_t n, const char *src)
{
    size_t len = src ? strnlen(src, n - 1) : 0;
    memcpy(dst, src ? src : "", len);
    dst[len] = '\0';
}

static int fake_jwt(void *ctx, const char *token, size_t len, int64_t wall_ms,
                    struct gw_token_claims *out, char *why, size_t whylen)
{
    (void)ctx;
    (void)wall_ms;
    verifies++;
    char t[512];
    snprintf(t, sizeof t, "%.*s", (int)len, token);
    memset(out, 0, sizeof *out);
    if (strncmp(t, "ok|", 3) != 0) {
        snprintf(why, whylen, "%s", strncmp(t, "bad:", 4) ? "not a token" : t + 4);
        return -1;
    }
    char *f[5] = {0};
    char *s = t + 3;
    for (int i = 0; i < 5 && s; i++) {
        f[i] = s;
        s = strchr(s, '|');
        if (s)
            *s++ = '\0';
    }
    copy_in(out->sub, sizeof out->sub, f[0]);
    copy_in(out->nick, sizeof out->nick, f[1]);
    out->admin = f[2] && !strcmp(f[2], "1");
    for (char *r = f[3]; r && *r && out->n_rooms < GW_JWT_ROOMS_MAX;) {
        char *comma = strchr(r, ',');
        if (comma)
            *comma = '\0';
        snprintf(out->rooms[out->n_rooms++], sizeof out->rooms[0], "%s", r);
        r = comma ? comma + 1 : NULL;
    }
    return 0;
}

struct opts {
    int closed;
    int no_jwt;
    unsigned rooms_per_browser;
    const char *const *admins;
    size_t nadmins;
};

static void setup(struct fix *f, struct opts o)
{
    verifies = 0;
    acct_setup(f, (struct gw_hub_config){.jwt_verify = o.no_jwt ? NULL : fake_jwt,
                                         .registration_closed = o.closed,
                                         .max_rooms_per_browser = o.rooms_per_browser,
                                         .admins = o.admins,
                                         .nadmins = o.nadmins});
}

/* The phc the store keeps for key ("" when there is no such account). */
static const char *phc_of(struct fix *f, const char *key)
{
    seen_phc[0] = '\0';
    assert_int_equal(f->ac.find(f->ac.ctx, 1u << 30, key), GW_STORE_PENDING);
    settle(f);
    return seen_phc;
}

/* A wintalk.v2 browser whose hello carries token (and more JSON fields,
 * extra, e.g. ",\"nick\":\"x\""): what it was sent once all answered. */
static char *hello_jwt(struct fix *f, uint64_t *pid, const char *token, const char *extra)
{
    char hello[1024];
    *pid = ht_v2(f->h, T0);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"jwt\":\"%s\"%s}", token,
             extra ? extra : "");
    ht_send(f->h, *pid, T0, hello);
    settle(f);
    return ht_drain(f->h, *pid);
}


/* First sight: the account is made (no password: the token's sub), the
 * browser logged in to it with the token's nick; the hello held until
 * then. Second sight (another browser, the same sub): found, logged in,
 * nothing made. */
static void first_and_second_sight(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"jwt\":\"ok|u-1|Alice||\",\"nick\":\"zed\"}");
    /* Held while the store is asked: no welcome yet. */
    ht_expect(f.h, w, "");
    assert_int_equal(verifies, 1);
    settle(&f);
    char *got = ht_drain(f.h, w);
    ht_has(got, "\"you\":{\"pid\":");
    ht_has(got, "\"nick\":\"Alice\",\"ident\"");
    ht_has(got, "\"account\":\"Alice\"");
    assert_null(strstr(got, "\"type\":\"error\""));
    assert_null(strstr(got, "\"admin\""));
    free(got);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);
    assert_string_equal(phc_of(&f, "alice"), "jwt:u-1");
    /* No session for a token: the site's token is the credential. */
    size_t sessions = 9;
    gw_accounts_mem_count(f.mem, &sessions);
    assert_int_equal(sessions, 0);

    uint64_t v;
    got = hello_jwt(&f, &v, "ok|u-1|ALICE||", NULL);
    ht_has(got, "\"account\":\"Alice\"");
    ht_has(got, "\"nick\":\"Alice\",\"ident\"");
    assert_null(strstr(got, "\"type\":\"error\""));
    free(got);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);
    /* The name is registered at once: someone else may not take it. */
    uint64_t x = program(&f, NULL, 1);
    line(f.h, x, "/nick alice");
    got = ht_drain(f.h, x);
    ht_has(got, "error 553: alice is registered");
    free(got);
    teardown(&f);
}

/* The sub is the account's: a token of another sub naming the same nick
 * is refused (553), its holder a guest; so is a sub that only begins or
 * ends like it (compared whole). */
static void another_sub_same_nick(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w;
    free(hello_jwt(&f, &w, "ok|u1|alice||", NULL));
    const char *others[] = {"ok|u2|alice||", "ok|u|alice||", "ok|u10|alice||", "ok|U1|alice||"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        uint64_t v;
        char *got = hello_jwt(&f, &v, others[i], NULL);
        ht_has(got, "\"code\":553,\"message\":\"this nick belongs to another account\"");
        ht_has(got, "\"nick\":\"guest-");
        assert_null(strstr(got, "\"account\":"));
        free(got);
    }
    assert_string_equal(phc_of(&f, "alice"), "jwt:u1");
    teardown(&f);
}

/* An account registered with a password is not taken over by a token
 * naming its nick; and no password logs in to an account a token made:
 * the same words as a wrong one, checked against a hash of nothing, never
 * the token account's phc. */
static void password_and_token_accounts_stay_apart(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t b = program(&f, "bob", 1);
    line(f.h, b, "/register hunter2");
    settle(&f);
    free(ht_drain(f.h, b));
    uint64_t v;
    char *got = hello_jwt(&f, &v, "ok|bob|Bob||", NULL);
    ht_has(got, "\"code\":553,\"message\":\"this nick is registered with a password");
    ht_has(got, "\"nick\":\"guest-");
    assert_null(strstr(got, "\"account\":"));
    free(got);
    assert_string_equal(phc_of(&f, "bob"), "phc:hunter2");

    uint64_t w;
    free(hello_jwt(&f, &w, "ok|u7|carol||", NULL));
    uint64_t x = program(&f, NULL, 1);
    line(f.h, x, "/identify carol jwt:u7");
    gw_accounts_mem_flush(f.mem);
    assert_int_equal(nreqs, 1);
    assert_true(reqs[0].verify);
    assert_null(strstr(reqs[0].phc, "jwt:"));
    settle(&f);
    got = ht_drain(f.h, x);
    ht_has(got, "error 530: wrong nick or password");
    free(got);
    line(f.h, x, "/identify nobody jwt:u7");
    settle(&f);
    got = ht_drain(f.h, x);
    ht_has(got, "error 530: wrong nick or password");
    free(got);
    /* A browser's login: the same. */
    uint64_t y = ht_v2(f.h, T0);
    ht_send(f.h, y, T0, "{\"type\":\"hello\"}");
    free(ht_drain(f.h, y));
    ht_send(f.h, y, T0, "{\"type\":\"login\",\"nick\":\"carol\",\"password\":\"jwt:u7\"}");
    settle(&f);
    got = ht_drain(f.h, y);
    ht_has(got, "\"code\":530,\"message\":\"wrong nick or password\"");
    free(got);
    /* Logged in by the token, there is no password to change. */
    ht_send(f.h, w, T0, "{\"type\":\"password\",\"old\":\"jwt:u7\",\"new\":\"x\"}");
    settle(&f);
    got = ht_drain(f.h, w);
    ht_has(got, "\"code\":530,\"message\":\"this account has no password to change\"");
    free(got);
    assert_string_equal(phc_of(&f, "carol"), "jwt:u7");
    teardown(&f);
}

/* Without a nick claim the sub is the nick, when it is one; else 553 with
 * words, a guest. A nick claim that is not a nick: 553 too. */
static void sub_as_nick(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w;
    char *got = hello_jwt(&f, &w, "ok|Dora||0|", NULL);
    ht_has(got, "\"nick\":\"Dora\",\"ident\"");
    ht_has(got, "\"account\":\"Dora\"");
    free(got);
    assert_string_equal(phc_of(&f, "dora"), "jwt:Dora");
    got = hello_jwt(&f, &w, "ok|user 42||0|", NULL);
    ht_has(got, "\"code\":553,\"message\":\"the token names no nick and its sub is not one:");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
    got = hello_jwt(&f, &w, "ok|u9|guest-3||", NULL);
    ht_has(got, "\"code\":553,\"message\":\"the token's nick cannot be used:");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);
    /* Each hello a token logged nobody in with is counted. */
    assert_int_equal(gw_hub_metrics(f.h)->rejections[GW_REJ_JWT], 2);
    teardown(&f);
}

/* A refused token: 530 with the verifier's words, the welcome of a guest
 * (not the hello's nick), nothing asked of the store, counted; no tokens
 * taken at all: 504, a guest. */
static void refused_token_is_a_guest(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0,
            "{\"type\":\"hello\",\"jwt\":\"bad:the token has expired\",\"nick\":\"alice\","
            "\"ref\":7}");
    /* Answered at once: nothing held. */
    char *got = ht_drain(f.h, w);
    ht_has(got, "{\"type\":\"error\",\"code\":530,\"message\":\"the token has expired\","
                "\"ref\":7}");
    ht_has(got, "\"type\":\"welcome\"");
    ht_has(got, "\"nick\":\"guest-");
    assert_null(strstr(got, "\"account\":"));
    assert_null(strstr(got, "alice"));
    free(got);
    assert_int_equal(gw_accounts_mem_flush(f.mem), 0);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 0);
    assert_int_equal(gw_hub_metrics(f.h)->rejections[GW_REJ_JWT], 1);
    /* It may chat as the guest it is. */
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"text\":\"hi\"}");
    got = ht_drain(f.h, w);
    ht_has(got, "\"text\":\"hi\"");
    free(got);
    /* A second hello is refused before any token is looked at. */
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"jwt\":\"ok|u1|alice||\"}");
    got = ht_drain(f.h, w);
    ht_has(got, "\"code\":503,\"message\":\"hello was already sent\"");
    free(got);
    assert_int_equal(verifies, 1);
    teardown(&f);

    setup(&f, (struct opts){.no_jwt = 1});
    got = hello_jwt(&f, &w, "ok|u1|alice||", NULL);
    ht_has(got, "\"code\":504,\"message\":\"this gateway takes no site tokens\"");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 0);
    teardown(&f);
}

/* The rooms claim: joined after the welcome like a join of each (joined
 * reply, then the join), a room the hello named only once; bounded by
 * max_rooms_per_browser (452). */
static void rooms_claim_joined(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){.rooms_per_browser = 3});
    uint64_t w;
    char *got = hello_jwt(&f, &w, "ok|u5|eve|0|#a,#b,#c", ",\"rooms\":{\"#a\":0}");
    const char *welcome = strstr(got, "\"type\":\"welcome\"");
    const char *joined_b = strstr(got, "{\"type\":\"joined\",\"code\":250,\"room\":\"#b\"");
    assert_non_null(welcome);
    assert_non_null(joined_b);
    assert_true(welcome < joined_b);
    /* #a came with the welcome, once. */
    assert_int_equal(ht_count(got, "\"type\":\"joined\""), 1);
    ht_has(got, "\"code\":452,\"message\":\"too many rooms for one browser (at most 3)\","
                "\"room\":\"#c\"");
    free(got);
    assert_int_equal(gw_hub_room_members(f.h, "#a"), 1);
    assert_int_equal(gw_hub_room_members(f.h, "#b"), 1);
    /* #c was opened while #b waited for the store (a room loads before
     * anyone is in it), then refused: nobody is in it. */
    assert_true(gw_hub_room_members(f.h, "#c") <= 0);
    /* A refused token joins nothing. */
    got = hello_jwt(&f, &w, "bad:bad signature", NULL);
    assert_null(strstr(got, "\"type\":\"joined\""));
    free(got);
    assert_int_equal(gw_hub_room_members(f.h, "#b"), 1);
    teardown(&f);
}

/* Administrators: the token's admin claim; an account cfg.admins names
 * (compared as nicks), logged in by a token, a password or a session; the
 * welcome shows "admin":true and /whoami says so; logging out ends it. */
static void administrators(void **state)
{
    (void)state;
    const char *const admins[] = {"Root", "ÉRIN"};
    struct fix f;
    setup(&f, (struct opts){.admins = admins, .nadmins = 2});
    uint64_t w;
    char *got = hello_jwt(&f, &w, "ok|s1|sam|1|", NULL);
    ht_has(got, "\"nick\":\"sam\",\"ident\"");
    ht_has(got, "\"via\":\"web\",\"admin\":true}");
    free(got);
    /* The claim is the token's, not the account's: without it, not one. */
    got = hello_jwt(&f, &w, "ok|s1|sam|0|", NULL);
    ht_has(got, "\"account\":\"sam\"");
    assert_null(strstr(got, "\"admin\""));
    free(got);
    /* Nor does it outlive its login: a password login of the same
     * connection to another account, or a logout. */
    uint64_t s2;
    free(hello_jwt(&f, &s2, "ok|s1|sam|1|", NULL));
    uint64_t pp = program(&f, "pam", 1);
    line(f.h, pp, "/register pw-pam");
    line(f.h, pp, "/logout");
    settle(&f);
    ht_send(f.h, s2, T0, "{\"type\":\"login\",\"nick\":\"pam\",\"password\":\"pw-pam\"}");
    settle(&f);
    ht_send(f.h, s2, T0, "{\"type\":\"say\",\"text\":\"/whoami\"}");
    got = ht_drain(f.h, s2);
    ht_has(got, "you are pam, logged in to the account pam\"");
    free(got);
    /* Nor on another tab of its browser when this one logs in anew. */
    uint64_t t1;
    got = hello_jwt(&f, &t1, "ok|s1|sam|1|", NULL);
    const char *tk = strstr(got, "\"token\":\"");
    assert_non_null(tk);
    char hello2[128];
    snprintf(hello2, sizeof hello2, "{\"type\":\"hello\",\"token\":\"%.32s\"}",
             tk + strlen("\"token\":\""));
    free(got);
    uint64_t t2 = ht_v2(f.h, T0);
    ht_send(f.h, t2, T0, hello2);
    ht_send(f.h, t2, T0, "{\"type\":\"login\",\"nick\":\"pam\",\"password\":\"pw-pam\"}");
    settle(&f);
    free(ht_drain(f.h, t1));
    ht_send(f.h, t1, T0, "{\"type\":\"say\",\"text\":\"/whoami\"}");
    got = ht_drain(f.h, t1);
    ht_has(got, "you are pam, logged in to the account pam\"");
    free(got);
    free(hello_jwt(&f, &s2, "ok|s1|sam|1|", NULL));
    ht_send(f.h, s2, T0, "{\"type\":\"logout\"}");
    ht_send(f.h, s2, T0, "{\"type\":\"say\",\"text\":\"/whoami\"}");
    got = ht_drain(f.h, s2);
    ht_has(got, ", a guest (not logged in)\"");
    free(got);
    /* Named by cfg.admins: by a token without the claim... */
    got = hello_jwt(&f, &w, "ok|r1|root||", NULL);
    ht_has(got, "\"via\":\"web\",\"admin\":true}");
    free(got);
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"text\":\"/whoami\"}");
    got = ht_drain(f.h, w);
    ht_has(got, "you are root, logged in to the account root, a gateway administrator");
    free(got);
    /* ... by a password (a WINTALK program), and after /logout not. */
    uint64_t e = program(&f, "érin", 1);
    line(f.h, e, "/whoami");
    got = ht_drain(f.h, e);
    ht_has(got, "* you are érin, a guest (not logged in)");
    free(got);
    line(f.h, e, "/register pw1");
    settle(&f);
    line(f.h, e, "/whoami");
    got = ht_drain(f.h, e);
    ht_has(got, "* you are érin, logged in to the account érin, a gateway administrator");
    free(got);
    line(f.h, e, "/logout");
    line(f.h, e, "/whoami");
    got = ht_drain(f.h, e);
    ht_has(got, ", a guest (not logged in)\r\n");
    free(got);
    uint64_t k = program(&f, NULL, 1);
    line(f.h, k, "/identify Érin pw1");
    settle(&f);
    line(f.h, k, "/whoami");
    got = ht_drain(f.h, k);
    ht_has(got, "logged in to the account érin, a gateway administrator");
    free(got);
    /* ... and by a browser's password, then its session. */
    uint64_t b = ht_v2(f.h, T0);
    ht_send(f.h, b, T0, "{\"type\":\"hello\"}");
    free(ht_drain(f.h, b));
    ht_send(f.h, b, T0, "{\"type\":\"login\",\"nick\":\"erin\",\"password\":\"pw1\"}");
    settle(&f);
    got = ht_drain(f.h, b);
    assert_non_null(strstr(got, "\"type\":\"error\"")); /* erin is not Érin */
    free(got);
    ht_send(f.h, b, T0, "{\"type\":\"login\",\"nick\":\"ÉRIN\",\"password\":\"pw1\"}");
    settle(&f);
    got = ht_drain(f.h, b);
    const char *s = strstr(got, "\"session\":\"");
    assert_non_null(s);
    char tok[GW_TOKEN_HEX_LEN + 1];
    memcpy(tok, s + strlen("\"session\":\""), GW_TOKEN_HEX_LEN);
    tok[GW_TOKEN_HEX_LEN] = '\0';
    free(got);
    uint64_t c = ht_v2(f.h, T0);
    char hello[200];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"session\":\"%s\"}", tok);
    ht_send(f.h, c, T0, hello);
    settle(&f);
    got = ht_drain(f.h, c);
    ht_has(got, "\"account\":\"érin\"");
    ht_has(got, "\"via\":\"web\",\"admin\":true}");
    free(got);
    /* Somebody else: not one. */
    uint64_t n = program(&f, "nobody", 1);
    line(f.h, n, "/register pw2");
    settle(&f);
    line(f.h, n, "/whoami");
    got = ht_drain(f.h, n);
    ht_has(got, "logged in to the account nobody\r\n");
    free(got);
    teardown(&f);
}

/* The role kept with the account (`account add --admin`) makes an
 * administrator too, by a password or a token. */
static void the_stored_role(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    struct gw_account a = {.key = "olga",
                           .nick = "Olga",
                           .phc = "phc:pw",
                           .roles = GW_ROLE_ADMIN,
                           .generation = 1,
                           .created_ms = T0};
    assert_int_equal(f.ac.create(f.ac.ctx, 1u << 29, &a), GW_STORE_PENDING);
    struct gw_account t = {.key = "tia",
                           .nick = "Tia",
                           .phc = "jwt:t",
                           .roles = GW_ROLE_ADMIN,
                           .generation = 1,
                           .created_ms = T0};
    assert_int_equal(f.ac.create(f.ac.ctx, 1u << 29, &t), GW_STORE_PENDING);
    settle(&f);
    uint64_t p = program(&f, NULL, 1);
    line(f.h, p, "/identify olga pw");
    settle(&f);
    line(f.h, p, "/whoami");
    char *got = ht_drain(f.h, p);
    ht_has(got, "logged in to the account olga, a gateway administrator");
    free(got);
    uint64_t w;
    got = hello_jwt(&f, &w, "ok|t|tia||", NULL);
    ht_has(got, "\"nick\":\"Tia\",\"ident\"");
    ht_has(got, "\"admin\":true}");
    free(got);
    teardown(&f);
}

/* Closed registration: nobody registers, but a token's account is made. */
static void closed_registration_takes_tokens(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){.closed = 1});
    uint64_t p = program(&f, "pat", 1);
    line(f.h, p, "/register pw");
    settle(&f);
    char *got = ht_drain(f.h, p);
    ht_has(got, "error 530: registration is closed");
    free(got);
    uint64_t w;
    got = hello_jwt(&f, &w, "ok|p1|pam||", NULL);
    ht_has(got, "\"account\":\"pam\"");
    free(got);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);
    teardown(&f);
}

/* What a browser sends while its hello is held waits behind it, in order;
 * a browser gone before the store answers leaves nothing behind. */
static void held_hello_and_gone(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"jwt\":\"ok|q1|quinn||\"}");
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"text\":\"first\"}");
    ht_send(f.h, w, T0, "{\"type\":\"say\",\"text\":\"second\"}");
    settle(&f);
    char *got = ht_drain(f.h, w);
    const char *wel = strstr(got, "\"type\":\"welcome\"");
    /* Said as quinn: logged in before its lines were taken. */
    const char *a = strstr(got, "\"text\":\"first\"");
    assert_int_equal(ht_count(got, "\"type\":\"message\""), 2);
    assert_int_equal(ht_count(got, "\"nick\":\"quinn\""), 5);
    const char *b = strstr(got, "\"text\":\"second\"");
    if (!wel || !a || !b)
        fail_msg("missing: %s", got);
    if (!(wel < a && a < b))
        fail_msg("out of order: %s", got);
    free(got);

    uint64_t v = ht_v2(f.h, T0);
    ht_send(f.h, v, T0, "{\"type\":\"hello\",\"jwt\":\"ok|r1|rhea||\"}");
    assert_int_equal(gw_hub_disconnect(f.h, v, T0, GW_LEAVE_CLOSED), GW_OK);
    settle(&f);
    /* The answer is for nobody: dropped, nothing made. */
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);
    teardown(&f);
}

/* Two browsers with one new token at once: both find no account, one
 * makes it, the other's create finds it made and looks again: both in. */
static void two_at_once(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t a = ht_v2(f.h, T0), b = ht_v2(f.h, T0);
    ht_send(f.h, a, T0, "{\"type\":\"hello\",\"jwt\":\"ok|z1|zoe||\"}");
    ht_send(f.h, b, T0, "{\"type\":\"hello\",\"jwt\":\"ok|z1|zoe||\"}");
    settle(&f);
    char *ga = ht_drain(f.h, a), *gb = ht_drain(f.h, b);
    ht_has(ga, "\"account\":\"zoe\"");
    ht_has(gb, "\"account\":\"zoe\"");
    assert_null(strstr(gb, "\"type\":\"error\""));
    free(ga);
    free(gb);
    assert_int_equal(gw_accounts_mem_count(f.mem, NULL), 1);
    teardown(&f);
}

/* The account's nick held on another gateway by a participant not known
 * as the account's (a login there its list has yet to say, or a guest
 * its gateway will rename once it knows the name is registered): the
 * owner takes its nick all the same, logged in; and when the list says
 * it is the account's, the same person. */
static void the_nick_held_on_another_gateway(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w;
    free(hello_jwt(&f, &w, "ok|q1|Quin||", NULL));
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    const uint64_t node = 9, pid = (node << 32) + 1;
    char list[256];
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"Quin\",\"via\":\"web\",\"rooms\":"
             "\"#lobby\"}]}",
             (unsigned long long)pid);
    assert_int_equal(gw_hub_presence_apply(f.h, node, list, strlen(list), T0), GW_OK);
    char *got = hello_jwt(&f, &w, "ok|q1|quin||", NULL);
    ht_has(got, "\"account\":\"Quin\"");
    assert_null(strstr(got, "\"code\":553"));
    free(got);
    assert_int_equal(gw_hub_disconnect(f.h, w, T0, GW_LEAVE_CLOSED), GW_OK);
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"Quin\",\"via\":\"web\",\"rooms\":"
             "\"#lobby\",\"account\":true}]}",
             (unsigned long long)pid);
    assert_int_equal(gw_hub_presence_apply(f.h, node, list, strlen(list), T0 + 1), GW_OK);
    got = hello_jwt(&f, &w, "ok|q1|quin||", NULL);
    ht_has(got, "\"account\":\"Quin\"");
    assert_null(strstr(got, "\"type\":\"error\""));
    free(got);
    teardown(&f);
}

/* At most GW_JWT_LOGINS_MAX hellos wait for the store at once: the next
 * one is a guest told to try again (421); the waiting ones go on. */
static void held_hellos_are_bounded(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t pids[GW_JWT_LOGINS_MAX];
    for (unsigned i = 0; i < GW_JWT_LOGINS_MAX; i++) {
        char hello[96];
        pids[i] = ht_v2(f.h, T0);
        snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"jwt\":\"ok|s%u|user%u||\"}", i, i);
        ht_send(f.h, pids[i], T0, hello);
        ht_expect(f.h, pids[i], "");
    }
    uint64_t x = ht_v2(f.h, T0);
    ht_send(f.h, x, T0, "{\"type\":\"hello\",\"jwt\":\"ok|sx|userx||\"}");
    char *got = ht_drain(f.h, x);
    ht_has(got, "\"code\":421,\"message\":\"logins are busy: try again in a moment\"");
    ht_has(got, "\"nick\":\"guest-");
    free(got);
    settle(&f);
    for (unsigned i = 0; i < GW_JWT_LOGINS_MAX; i++) {
        got = ht_drain(f.h, pids[i]);
        char want[64];
        snprintf(want, sizeof want, "\"account\":\"user%u\"", i);
        ht_has(got, want);
        free(got);
    }
    /* Room again. */
    got = hello_jwt(&f, &x, "ok|sx|userx||", NULL);
    ht_has(got, "\"account\":\"userx\"");
    free(got);
    teardown(&f);
}

/* "jwt": null is no token; with a token, a session is not looked at. */
static void null_token_and_session(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w = ht_v2(f.h, T0);
    ht_send(f.h, w, T0, "{\"type\":\"hello\",\"jwt\":null,\"nick\":\"uma\"}");
    char *got = ht_drain(f.h, w);
    ht_has(got, "\"nick\":\"uma\",\"ident\"");
    assert_null(strstr(got, "\"type\":\"error\""));
    free(got);
    assert_int_equal(verifies, 0);
    ht_send(f.h, w, T0, "{\"type\":\"register\",\"password\":\"pw\"}");
    settle(&f);
    got = ht_drain(f.h, w);
    const char *s = strstr(got, "\"session\":\"");
    assert_non_null(s);
    char hello[256];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"session\":\"%.32s\",\"jwt\":\"bad:no\"}",
             s + strlen("\"session\":\""));
    free(got);
    uint64_t v = ht_v2(f.h, T0);
    ht_send(f.h, v, T0, hello);
    settle(&f);
    got = ht_drain(f.h, v);
    ht_has(got, "\"code\":530,\"message\":\"no\"");
    ht_has(got, "\"nick\":\"guest-");
    assert_null(strstr(got, "\"account\":"));
    free(got);
    teardown(&f);
}

/* A token's login keeps the account's generation as found or made: the
 * look at the accounts logged in (each walk of the names) leaves it
 * logged in, made on first sight (generation 1) or found after its
 * sessions were all ended (generation 2); ended again, it is out. */
static void a_look_at_the_accounts_leaves_a_token_login_in(void **state)
{
    (void)state;
    struct fix f;
    setup(&f, (struct opts){0});
    uint64_t w;
    char *got = hello_jwt(&f, &w, "ok|u-1|Alice||", NULL);
    ht_has(got, "\"account\":\"Alice\"");
    free(got);
    gw_hub_tick(f.h, T0); /* the first walk, and a look */
    settle(&f);
    got = ht_drain(f.h, w);
    assert_null(strstr(got, "\"nick\":null"));
    free(got);
    ht_send(f.h, w, T0, "{\"type\":\"logout\",\"all\":true,\"ref\":1}");
    settle(&f);
    got = ht_drain(f.h, w);
    ht_has(got, "{\"type\":\"account\",\"nick\":null,\"ref\":1}");
    free(got);
    uint64_t v;
    got = hello_jwt(&f, &v, "ok|u-1|Alice||", NULL);
    ht_has(got, "\"account\":\"Alice\"");
    free(got);
    keys_now = T0 + GW_NAMES_WALK_MS;
    gw_hub_tick(f.h, keys_now);
    settle(&f);
    got = ht_drain(f.h, v);
    assert_null(strstr(got, "\"nick\":null"));
    free(got);
    /* Another gateway ends its sessions: out. */
    struct gw_account a = {.key = "alice", .nick = "Alice", .phc = "jwt:u-1", .generation = 3};
    assert_int_equal(f.ac.update(f.ac.ctx, 997, &a), GW_STORE_PENDING);
    settle(&f);
    assert_int_equal(gw_hub_account_moved(f.h, "alice", 3, GW_MOVED_ENDED, T0), GW_OK);
    got = ht_drain(f.h, v);
    ht_has(got, "{\"type\":\"account\",\"nick\":null}");
    free(got);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_and_second_sight),
        cmocka_unit_test(another_sub_same_nick),
        cmocka_unit_test(password_and_token_accounts_stay_apart),
        cmocka_unit_test(sub_as_nick),
        cmocka_unit_test(refused_token_is_a_guest),
        cmocka_unit_test(rooms_claim_joined),
        cmocka_unit_test(administrators),
        cmocka_unit_test(the_stored_role),
        cmocka_unit_test(closed_registration_takes_tokens),
        cmocka_unit_test(held_hello_and_gone),
        cmocka_unit_test(two_at_once),
        cmocka_unit_test(the_nick_held_on_another_gateway),
        cmocka_unit_test(held_hellos_are_bounded),
        cmocka_unit_test(null_token_and_session),
        cmocka_unit_test(a_look_at_the_accounts_leaves_a_token_login_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
