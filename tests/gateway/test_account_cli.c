/*
 * test_account_cli.c - `wintalk-gateway account` (gw_account_cli) beside
 * a running SQLite engine: the test opens the engine the gateway's way
 * (it holds the directory's lock, its readers answer finds), runs the
 * command's function with a password on a pipe as standard input, and
 * finds the result through the engine's accounts interface, as the
 * running gateway would: the account there, its hash an Argon2id PHC
 * string of exactly the bytes given (256 of them at the bound), passwd's
 * new generation ending a session kept before it, del's removal.
 * The program in real processes (a gateway running, Redis):
 * test_account_cli.py.
 */
#define _GNU_SOURCE /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "gw_account_cli.h"
#include "gw_accounts.h"
#include "gw_hasher.h"
#include "gw_store_sqlite.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fix {
    char dir[64];
    struct gw_sqlite *s;
    struct gw_accounts ac;
    int answered, status;
    char nick[GW_NICK_MAX_BYTES + 1], phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    unsigned roles;
    uint64_t generation;
};

static void on_done(void *ctx, const char *key, uint64_t id, int status)
{
    (void)ctx, (void)key, (void)id, (void)status;
}

static void on_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    (void)ctx, (void)tag, (void)status, (void)ev, (void)n, (void)more;
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    struct fix *f = ctx;
    (void)tag;
    f->answered = 1;
    f->status = status;
    if (a) {
        snprintf(f->nick, sizeof f->nick, "%s", a->nick);
        snprintf(f->phc, sizeof f->phc, "%s", a->phc);
        f->roles = a->roles;
        f->generation = a->generation;
    }
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    static struct fix fx;
    struct fix *f = &fx;
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/wt-acli-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    static struct gw_store_sink sink;
    static struct gw_account_sink acc_sink;
    sink = (struct gw_store_sink){.ctx = f, .done = on_done, .rows = on_rows};
    acc_sink = (struct gw_account_sink){.ctx = f, .answer = on_answer};
    char err[GW_SQLITE_WHY_MAX_BYTES];
    struct gw_sqlite_opts o = {.dir = f->dir};
    int rc = gw_sqlite_open(&o, &sink, &f->s, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", f->dir, rc, err);
    gw_sqlite_accounts(f->s, &acc_sink, &f->ac);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_sqlite_close(f->s);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* The engine's answer to the call just made (rc its return). */
static int answer(struct fix *f, int rc)
{
    assert_int_equal(rc, GW_STORE_PENDING);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    while (!f->answered) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 10)
            fail_msg("no answer from the engine in 10 s");
        gw_sqlite_wait(f->s, 100);
        assert_int_equal(gw_sqlite_flush(f->s), 0);
    }
    return f->status;
}

static int find(struct fix *f, const char *key)
{
    f->answered = 0;
    f->nick[0] = f->phc[0] = '\0';
    return answer(f, f->ac.find(f->ac.ctx, 1, key));
}

/* Run `wintalk-gateway account WORDS... --data-dir DIR` with input (len
 * bytes) as its standard input (a pipe). Returns its exit status. */
static int cli(struct fix *f, const char *input, size_t len, char *w1, char *w2, char *w3)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], input, len), (ssize_t)len);
    close(p[1]);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(p[0], STDIN_FILENO) >= 0);
    close(p[0]);
    char *argv[8];
    int argc = 0;
    argv[argc++] = "wintalk-gateway";
    argv[argc++] = "account";
    argv[argc++] = w1;
    if (w2)
        argv[argc++] = w2;
    if (w3)
        argv[argc++] = w3;
    argv[argc++] = "--data-dir";
    argv[argc++] = f->dir;
    argv[argc] = NULL;
    int rc = gw_account_cli(argc, argv);
    assert_true(dup2(saved, STDIN_FILENO) >= 0);
    close(saved);
    return rc;
}

/* Added beside the engine, found through it: the nick as given (NFC), the
 * key folded, a hash of exactly the password's bytes. */
static void test_add_seen_by_engine(void **state)
{
    struct fix *f = *state;
    assert_int_equal(find(f, "alice"), GW_ACCOUNT_NONE);
    const char pw[] = "correct horse\n";
    assert_int_equal(cli(f, pw, strlen(pw), "add", "Alice", NULL), EX_OK);
    assert_int_equal(find(f, "alice"), GW_STORE_DONE);
    assert_string_equal(f->nick, "Alice");
    assert_int_equal(f->generation, 1);
    assert_int_equal(f->roles, 0);
    assert_memory_equal(f->phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
    assert_null(strstr(f->phc, "horse"));
    assert_int_equal(gw_password_verify(f->phc, "correct horse", 13), GW_HASH_OK);
    assert_int_equal(gw_password_verify(f->phc, "correct hors", 12), GW_HASH_MISMATCH);
    /* The same name, another spelling: exists. */
    assert_int_equal(cli(f, "x\n", 2, "add", "ALICE", NULL), EX_DATAERR);
}

/* GW_PASSWORD_MAX_BYTES bytes are taken whole (no "\n" at the end of the
 * input either, or "\r\n"); one more is refused. "\r\n" ends a line too. */
static void test_password_bounds(void **state)
{
    struct fix *f = *state;
    char pw[GW_PASSWORD_MAX_BYTES + 2];
    memset(pw, 'a', sizeof pw);
    pw[GW_PASSWORD_MAX_BYTES - 1] = 'Z';
    assert_int_equal(cli(f, pw, GW_PASSWORD_MAX_BYTES, "add", "bob", NULL), EX_OK);
    assert_int_equal(find(f, "bob"), GW_STORE_DONE);
    assert_int_equal(gw_password_verify(f->phc, pw, GW_PASSWORD_MAX_BYTES), GW_HASH_OK);
    assert_int_equal(gw_password_verify(f->phc, pw, GW_PASSWORD_MAX_BYTES - 1),
                     GW_HASH_MISMATCH);
    pw[GW_PASSWORD_MAX_BYTES] = '\n';
    assert_int_equal(cli(f, pw, GW_PASSWORD_MAX_BYTES + 1, "add", "carol", NULL), EX_OK);
    assert_int_equal(find(f, "carol"), GW_STORE_DONE);
    assert_int_equal(gw_password_verify(f->phc, pw, GW_PASSWORD_MAX_BYTES), GW_HASH_OK);
    pw[GW_PASSWORD_MAX_BYTES] = '\r';
    pw[GW_PASSWORD_MAX_BYTES + 1] = '\n';
    assert_int_equal(cli(f, pw, GW_PASSWORD_MAX_BYTES + 2, "add", "cy", NULL), EX_OK);
    assert_int_equal(find(f, "cy"), GW_STORE_DONE);
    assert_int_equal(gw_password_verify(f->phc, pw, GW_PASSWORD_MAX_BYTES), GW_HASH_OK);
    memset(pw, 'a', sizeof pw);
    pw[GW_PASSWORD_MAX_BYTES + 1] = '\n';
    assert_int_equal(cli(f, pw, GW_PASSWORD_MAX_BYTES + 2, "add", "dave", NULL), EX_DATAERR);
    assert_int_equal(find(f, "dave"), GW_ACCOUNT_NONE);
    assert_int_equal(cli(f, "\n", 1, "add", "dave", NULL), EX_DATAERR);
    assert_int_equal(cli(f, "", 0, "add", "dave", NULL), EX_DATAERR);
    assert_int_equal(find(f, "dave"), GW_ACCOUNT_NONE);
    assert_int_equal(cli(f, "dos\r\n", 5, "add", "dave", NULL), EX_OK);
    assert_int_equal(find(f, "dave"), GW_STORE_DONE);
    assert_int_equal(gw_password_verify(f->phc, "dos", 3), GW_HASH_OK);
}

/* passwd: a new hash and generation; a session kept before is over. del:
 * the account and its sessions gone. admin: the role. */
static void test_passwd_admin_del(void **state)
{
    struct fix *f = *state;
    assert_int_equal(cli(f, "one\n", 4, "add", "erin", NULL), EX_OK);
    f->answered = 0;
    assert_int_equal(answer(f, f->ac.session_keep(f->ac.ctx, 2, DIGEST, "erin", 1,
                                                  INT64_C(1) << 50)),
                     GW_STORE_DONE);
    f->answered = 0;
    assert_int_equal(answer(f, f->ac.session_find(f->ac.ctx, 3, DIGEST, 0)), GW_STORE_DONE);

    assert_int_equal(cli(f, "two\n", 4, "passwd", "Erin", NULL), EX_OK);
    assert_int_equal(find(f, "erin"), GW_STORE_DONE);
    assert_int_equal(f->generation, 2);
    assert_string_equal(f->nick, "erin");
    assert_int_equal(gw_password_verify(f->phc, "two", 3), GW_HASH_OK);
    f->answered = 0;
    assert_int_equal(answer(f, f->ac.session_find(f->ac.ctx, 4, DIGEST, 0)), GW_ACCOUNT_NONE);

    assert_int_equal(cli(f, "", 0, "admin", "erin", "on"), EX_OK);
    assert_int_equal(find(f, "erin"), GW_STORE_DONE);
    assert_int_equal(f->roles, GW_ROLE_ADMIN);
    assert_int_equal(f->generation, 2);
    assert_int_equal(cli(f, "", 0, "admin", "erin", "off"), EX_OK);
    assert_int_equal(find(f, "erin"), GW_STORE_DONE);
    assert_int_equal(f->roles, 0);

    f->answered = 0;
    assert_int_equal(answer(f, f->ac.session_keep(f->ac.ctx, 5, DIGEST, "erin", 2,
                                                  INT64_C(1) << 50)),
                     GW_STORE_DONE);
    assert_int_equal(cli(f, "", 0, "del", "ERIN", NULL), EX_OK);
    assert_int_equal(find(f, "erin"), GW_ACCOUNT_NONE);
    f->answered = 0;
    assert_int_equal(answer(f, f->ac.session_find(f->ac.ctx, 6, DIGEST, 0)), GW_ACCOUNT_NONE);
    assert_int_equal(cli(f, "", 0, "del", "erin", NULL), EX_DATAERR);
    assert_int_equal(cli(f, "x\n", 2, "passwd", "erin", NULL), EX_DATAERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_seen_by_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passwd_admin_del, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
