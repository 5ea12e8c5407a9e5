/*
 * test_hub_accounts.c - registering and logging in through the hub, on the
 * in-memory accounts engine, with passwords "hashed" by the test (a hash
 * of pw is "phc:" pw; the test answers each request when it chooses):
 * /register, /identify, /logout, a registered nick kept for its owner, the
 * password rule for plain TCP, the words of a failed login, the
 * registered names the hub knows (checked at once, walked from the store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_accounts_mem.h"
#include "gw_limits.h"
#include "hubtest.h"

struct req {
    uint64_t tag;
    int verify;
    char phc[64];
    char pw[64];
};

static struct req reqs[128];
static size_t nreqs;
static struct gw_hub *the_hub;
static int hasher_busy;

static int fake_hash(void *ctx, uint64_t tag, const char *pw, size_t len)
{
    (void)ctx;
    if (hasher_busy)
        return -1;
    struct req *r = &reqs[nreqs++];
    r->tag = tag;
    r->verify = 0;
    snprintf(r->pw, sizeof r->pw, "%.*s", (int)len, pw);
    return 0;
}

static int fake_verify(void *ctx, uint64_t tag, const char *phc, const char *pw, size_t len)
{
    (void)ctx;
    if (hasher_busy)
        return -1;
    struct req *r = &reqs[nreqs++];
    r->tag = tag;
    r->verify = 1;
    snprintf(r->phc, sizeof r->phc, "%s", phc);
    snprintf(r->pw, sizeof r->pw, "%.*s", (int)len, pw);
    return 0;
}

/* Answer every request made so far, as a real hasher would. */
static void hasher_answers(int64_t now)
{
    size_t n = nreqs;
    struct req copy[128];
    memcpy(copy, reqs, n * sizeof copy[0]);
    nreqs = 0;
    for (size_t i = 0; i < n; i++) {
        struct req *r = &copy[i];
        if (!r->verify) {
            char phc[80];
            snprintf(phc, sizeof phc, "phc:%s", r->pw);
            gw_hub_hash_answer(the_hub, r->tag, GW_HASH_ANSWER_OK, phc, now);
        } else {
            char want[80];
            snprintf(want, sizeof want, "phc:%s", r->pw);
            gw_hub_hash_answer(the_hub, r->tag,
                               strcmp(want, r->phc) ? GW_HASH_ANSWER_WRONG : GW_HASH_ANSWER_OK,
                               NULL, now);
        }
    }
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    (void)ctx;
    gw_hub_account_answer(the_hub, tag, status, a, T0);
}

static int64_t keys_now = T0;

static void on_keys(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                    const char *next)
{
    (void)ctx;
    gw_hub_account_keys(the_hub, tag, status, keys, n, next, keys_now);
}

struct fix {
    struct gw_accounts_mem *mem;
    struct gw_accounts ac;
    struct gw_hub *h;
};

static void setup(struct fix *f, int closed, int plain)
{
    struct gw_account_sink sink = {.ctx = NULL, .answer = on_answer, .keys = on_keys};
    assert_int_equal(gw_accounts_mem_new(&f->mem, &sink), 0);
    gw_accounts_mem_iface(f->mem, &f->ac);
    nreqs = 0;
    hasher_busy = 0;
    f->h = ht_hub((struct gw_hub_config){.random = ht_random,
                                         .accounts = &f->ac,
                                         .hash = fake_hash,
                                         .verify = fake_verify,
                                         .registration_closed = closed,
                                         .plain_passwords = plain});
    the_hub = f->h;
}

static void teardown(struct fix *f)
{
    gw_hub_free(f->h);
    gw_accounts_mem_free(f->mem);
}

/* Everything answers (the store, the hasher, the store again, each page
 * of a walk) until nothing is asked any more. */
static void settle(struct fix *f)
{
    for (int i = 0; i < 100; i++) {
        size_t n = gw_accounts_mem_flush(f->mem) + nreqs;
        hasher_answers(T0);
        if (n == 0)
            return;
    }
    fail_msg("the answers do not settle");
}

/* A WINTALK program typing a line. */
static void line(struct gw_hub *h, uint64_t pid, const char *text)
{
    char frame[512];
    snprintf(frame, sizeof frame, "A%zu:%s\r\n", strlen(text) + 2, text);
    ht_in(h, pid, T0, frame);
}

static uint64_t program(struct fix *f, const char *nick, int secure)
{
    uint64_t p = ht_tcp(f->h, T0);
    assert_int_equal(gw_hub_set_secure(f->h, p, secure), GW_OK);
    if (nick) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "/nick %s", nick);
        line(f->h, p, cmd);
        settle(f);
    }
    free(ht_drain(f->h, p));
    return p;
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
    keys_now = T0;
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
