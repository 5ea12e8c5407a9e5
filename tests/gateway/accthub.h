/*
 * accthub.h - what the hub's tests of accounts share (test_hub_accounts.c,
 * test_hub_jwt.c): the hub on the in-memory accounts engine, passwords
 * "hashed" by the test (a hash of pw is "phc:" pw, answered when the test
 * settles), the engine's answers handed to the hub, and a WINTALK program
 * typing lines. Include after cmocka.h and hubtest.h.
 *
 * A test file sets the hub's other settings in the config it gives
 * acct_setup; the_hub is the hub the answers go to.
 */
#ifndef ACCTHUB_H
#define ACCTHUB_H

#include <stdio.h>
#include <string.h>

#include "gw_accounts_mem.h"
#include "gw_limits.h"

/* A request to the test's hasher: a hash, or a check (verify). */
struct req {
    uint64_t tag;
    int verify;
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    char pw[64];
};

static struct req reqs[256];
static size_t nreqs;
static struct gw_hub *the_hub;
static int64_t keys_now = T0;  /* the hub's clock for the pages of a walk */
static char seen_phc[GW_ACCOUNT_PHC_MAX_BYTES + 1]; /* the last account's phc given */

static int fake_hash(void *ctx, uint64_t tag, const char *pw, size_t len)
{
    (void)ctx;
    assert_true(nreqs < sizeof reqs / sizeof reqs[0]);
    struct req *r = &reqs[nreqs++];
    r->tag = tag;
    r->verify = 0;
    snprintf(r->pw, sizeof r->pw, "%.*s", (int)len, pw);
    return 0;
}

static int fake_verify(void *ctx, uint64_t tag, const char *phc, const char *pw, size_t len)
{
    (void)ctx;
    assert_true(nreqs < sizeof reqs / sizeof reqs[0]);
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
    static struct req copy[sizeof reqs / sizeof reqs[0]];
    memcpy(copy, reqs, n * sizeof copy[0]);
    nreqs = 0;
    for (size_t i = 0; i < n; i++) {
        struct req *r = &copy[i];
        char want[80];
        snprintf(want, sizeof want, "phc:%s", r->pw);
        if (!r->verify)
            gw_hub_hash_answer(the_hub, r->tag, GW_HASH_ANSWER_OK, want, now);
        else
            gw_hub_hash_answer(the_hub, r->tag,
                               strcmp(want, r->phc) ? GW_HASH_ANSWER_WRONG : GW_HASH_ANSWER_OK,
                               NULL, now);
    }
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    (void)ctx;
    if (a)
        snprintf(seen_phc, sizeof seen_phc, "%s", a->phc);
    gw_hub_account_answer(the_hub, tag, status, a, T0);
}

static void on_keys(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                    const char *next)
{
    (void)ctx;
    gw_hub_account_keys(the_hub, tag, status, keys, n, next, keys_now);
}

static void on_rooms(void *ctx, uint64_t tag, int status, const struct gw_account_room *rows,
                     size_t n)
{
    (void)ctx;
    gw_hub_account_rooms(the_hub, tag, status, rows, n, T0);
}

static void on_pms(void *ctx, uint64_t tag, int status, const struct gw_account_pm *rows, size_t n)
{
    (void)ctx;
    gw_hub_account_pms(the_hub, tag, status, rows, n, T0);
}

struct fix {
    struct gw_accounts_mem *mem;
    struct gw_accounts ac;
    struct gw_hub *h;
};

/* A hub of cfg (its random, accounts, hash and verify set here) on a new
 * in-memory engine. */
static void acct_setup(struct fix *f, struct gw_hub_config cfg)
{
    struct gw_account_sink sink = {
        .ctx = NULL, .answer = on_answer, .keys = on_keys, .rooms = on_rooms, .pms = on_pms};
    assert_int_equal(gw_accounts_mem_new(&f->mem, &sink), 0);
    gw_accounts_mem_iface(f->mem, &f->ac);
    nreqs = 0;
    keys_now = T0;
    cfg.random = ht_random;
    cfg.accounts = &f->ac;
    cfg.hash = fake_hash;
    cfg.verify = fake_verify;
    f->h = ht_hub(cfg);
    the_hub = f->h;
    /* What the hub asks as it starts (who #lobby's members are) answered:
     * a test sees what its own steps ask. */
    (void)gw_accounts_mem_flush(f->mem);
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

/* A WINTALK program typing a line (its length in UTF-16 units: these
 * lines have no astral characters). */
static void line(struct gw_hub *h, uint64_t pid, const char *text)
{
    char frame[512];
    size_t units = 0;
    for (const char *c = text; *c; c++)
        units += ((unsigned char)*c & 0xC0) != 0x80;
    snprintf(frame, sizeof frame, "A%zu:%s\r\n", units + 2, text);
    ht_in(h, pid, T0, frame);
}

/* A WINTALK program (over TLS or from this machine when secure), with
 * nick (NULL: a guest), what it was sent so far drained. */
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

#endif
