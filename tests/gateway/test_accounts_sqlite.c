/*
 * test_accounts_sqlite.c - accounts and sessions in the SQLite store engine
 * (gw_sqlite_accounts), against real database files in fresh temporary
 * directories: every call and answer; answers only from the flush after
 * the commit (and a kill -9 right after an answer loses nothing); a find
 * after a create in the same turn sees it; EXISTS within one batch; a
 * restart; the migration of a database of schema 1 (made here exactly as
 * the engine of schema 1 made it) and the refusal of a newer one; the
 * session bound, the expiry boundary and the upkeep's deletes; the
 * synchronous calls of the command-line tool. A full disk:
 * test_store_faults.c.
 */
#define _GNU_SOURCE /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "accttest.h"
#include "gw_accounts.h"
#include "gw_json.h"
#include "gw_store.h"
#include "gw_store_sqlite.h"

/* ---- what the sinks were told ---- */

#define GOT_MAX (GW_SQLITE_ANSWERS_MAX + 64)

struct fix {
    char dir[64];
    struct gw_sqlite *s;
    struct gw_store st;
    struct gw_accounts ac;
    struct gw_store_sink sink;
    struct gw_account_sink acc_sink;
    struct got got[GOT_MAX];
    size_t n;
    size_t total, seen;      /* answers ever; as of the last wait */
    int rows_calls, rows_status;
    size_t rows_n;
    char rows_json[4][256];
    uint64_t kill_on;        /* a child: SIGKILL itself once this tag is answered DONE */
};

static void on_done(void *ctx, const char *key, uint64_t id, int status)
{
    (void)ctx, (void)key, (void)id, (void)status;
}

static void on_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    struct fix *f = ctx;
    (void)tag, (void)more;
    f->rows_calls++;
    f->rows_status = status;
    f->rows_n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        snprintf(f->rows_json[i], sizeof f->rows_json[i], "%.*s", (int)ev[i].json_len,
                 ev[i].json);
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    struct fix *f = ctx;
    if (f->kill_on && tag == f->kill_on && status == GW_STORE_DONE)
        raise(SIGKILL); /* the user was told: nothing told may be lost */
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, a);
}

static void on_keys(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                    const char *next)
{
    struct fix *f = ctx;
    assert_true(f->n < GOT_MAX);
    assert_true(status == GW_STORE_DONE || (keys == NULL && n == 0 && next[0] == '\0'));
    f->total++;
    got_put(&f->got[f->n++], tag, status, NULL);
    kgot_put(keys, n, next);
}

static void on_rooms(void *ctx, uint64_t tag, int status, const struct gw_account_room *rows,
                     size_t n)
{
    struct fix *f = ctx;
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, NULL);
    rgot_put(status, rows, n);
}

static void on_pms(void *ctx, uint64_t tag, int status, const struct gw_account_pm *rows,
                   size_t n)
{
    struct fix *f = ctx;
    if (f->kill_on && tag == f->kill_on && status == GW_STORE_DONE)
        raise(SIGKILL); /* the sender was told: the message may not be lost */
    assert_true(f->n < GOT_MAX);
    f->total++;
    got_put(&f->got[f->n++], tag, status, NULL);
    pgot_put(status, rows, n);
}

/* ---- a fresh directory per test ---- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/wt-acc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->sink = (struct gw_store_sink){.ctx = f, .done = on_done, .rows = on_rows};
    f->acc_sink = (struct gw_account_sink){
        .ctx = f, .answer = on_answer, .keys = on_keys, .rooms = on_rooms, .pms = on_pms};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_sqlite_close(f->s);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void open_ok(struct fix *f)
{
    char err[GW_SQLITE_WHY_MAX_BYTES];
    struct gw_sqlite_opts o = {.dir = f->dir};
    int rc = gw_sqlite_open(&o, &f->sink, &f->s, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", f->dir, rc, err);
    gw_sqlite_store(f->s, &f->st);
    gw_sqlite_accounts(f->s, &f->acc_sink, &f->ac);
}

static void close_db(struct fix *f)
{
    gw_sqlite_close(f->s);
    f->s = NULL;
}

static void reopen(struct fix *f)
{
    close_db(f);
    open_ok(f);
}

/* Flush until want answers have come since the last wait (readers answer
 * off the loop: a few seconds at most on a loaded machine); they are
 * f->got[0..want). Fails on more or fewer. */
static void wait_answers(struct fix *f, size_t want)
{
    f->n = 0;
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    /* Each flush reports what the readers hold, a few answers: bounded by
     * time (10 s), not by flushes. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (f->n < want) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 10)
            break;
        gw_sqlite_wait(f->s, 100);
        assert_int_equal(gw_sqlite_flush(f->s), 0);
    }
    if (f->n != want)
        fail_msg("%zu answers, wanted %zu", f->n, want);
    f->seen = f->total;
}

/* Nothing answered since the last wait: not inside a call. */
#define NOTHING_YET(f) assert_int_equal((f)->total, (f)->seen)

static struct gw_accounts *fix_ac(struct fix *f)
{
    return &f->ac;
}

/* The one answer to a call just made: none yet, one by the wait. */
static struct got *take_one(struct fix *f)
{
    NOTHING_YET(f);
    wait_answers(f, 1);
    return &f->got[0];
}

/* The one answer to a call just made, checked for tag and status. */
static struct got *one(struct fix *f, uint64_t tag, int status)
{
    struct got *g = take_one(f);
    got_is(g, tag, status);
    assert_int_equal(g->has, status == GW_STORE_DONE && g->key[0] != '\0');
    return g;
}

/* find's answer for key: its status (the account in f->got[0]). */
static int afind(struct fix *f, const char *key)
{
    assert_int_equal(f->ac.find(f->ac.ctx, 9, key), GW_STORE_PENDING);
    struct got *g = take_one(f);
    assert_int_equal(g->tag, 9);
    assert_int_equal(g->has, g->status == GW_STORE_DONE);
    return g->status;
}

/* A second connection of the test's own to the database file. */
static sqlite3 *peek_db(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, GW_SQLITE_DB_NAME);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    return db;
}

static int64_t peek_int(const char *dir, const char *sql)
{
    sqlite3 *db = peek_db(dir);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- the tests ---- */

static void accounts_every_call_and_answer(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    struct gw_account a = account("alice", "Alice", 1);
    a.roles = GW_ROLE_ADMIN;
    assert_int_equal(f->ac.create(f->ac.ctx, 11, &a), GW_STORE_PENDING);
    one(f, 11, GW_STORE_DONE);
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    struct got *g = &f->got[0];
    assert_string_equal(g->key, "alice");
    assert_string_equal(g->nick, "Alice");
    assert_string_equal(g->phc, PHC);
    assert_int_equal(g->roles, GW_ROLE_ADMIN);
    assert_int_equal(g->generation, 1);
    assert_int_equal(g->created_ms, NOW_MS);
    assert_int_equal(afind(f, "bob"), GW_ACCOUNT_NONE);
    assert_int_equal(afind(f, "Alice"), GW_ACCOUNT_NONE); /* keys are bytes */

    struct gw_account b = account("alice", "ALICE", 7);
    assert_int_equal(f->ac.create(f->ac.ctx, 12, &b), GW_STORE_PENDING);
    one(f, 12, GW_ACCOUNT_EXISTS);

    struct gw_account u = {.key = "alice", .nick = "ALICE", .phc = "", .roles = 0,
                           .generation = 2, .created_ms = 5};
    assert_int_equal(f->ac.update(f->ac.ctx, 13, &u), GW_STORE_PENDING);
    one(f, 13, GW_STORE_DONE);
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    assert_string_equal(g->nick, "ALICE");
    assert_string_equal(g->phc, "");
    assert_int_equal(g->roles, 0);
    assert_int_equal(g->generation, 2);
    assert_int_equal(g->created_ms, NOW_MS); /* stays */
    u.key = "bob";
    assert_int_equal(f->ac.update(f->ac.ctx, 14, &u), GW_STORE_PENDING);
    one(f, 14, GW_ACCOUNT_NONE);

    /* Sessions. */
    int64_t end = NOW_MS + 1000;
    assert_int_equal(f->ac.session_keep(f->ac.ctx, 15, dig(1), "bob", 2, end), GW_STORE_PENDING);
    one(f, 15, GW_ACCOUNT_NONE);
    keep_ok(f, 1, "alice", 2, end);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    assert_string_equal(g->key, "alice");
    assert_string_equal(g->nick, "ALICE");
    assert_int_equal(g->generation, 2);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    keep_ok(f, 2, "alice", 2, end);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 16, dig(2)), GW_STORE_PENDING);
    one(f, 16, GW_STORE_DONE);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 17, dig(2)), GW_STORE_PENDING);
    one(f, 17, GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);

    /* Remove, twice: its sessions go with it. */
    assert_int_equal(f->ac.remove(f->ac.ctx, 18, "alice"), GW_STORE_PENDING);
    one(f, 18, GW_STORE_DONE);
    assert_int_equal(f->ac.remove(f->ac.ctx, 19, "alice"), GW_STORE_PENDING);
    one(f, 19, GW_ACCOUNT_NONE);
    assert_int_equal(afind(f, "alice"), GW_ACCOUNT_NONE);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 0);
    create_ok(f, "alice", 2);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_ACCOUNT_NONE);
}

static void answers_come_from_the_flush_after_the_commit_in_order(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    struct gw_account a = account("alice", "alice", 1);
    /* One turn: writes and reads mixed; nothing is answered inside a call
     * or before the flush, writes come first (at the commit, in their
     * order), and the reads see every write of the turn. */
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
    assert_int_equal(f->ac.find(f->ac.ctx, 2, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.session_keep(f->ac.ctx, 3, dig(1), "alice", 1, NOW_MS + 10),
                     GW_STORE_PENDING);
    assert_int_equal(f->ac.session_find(f->ac.ctx, 4, dig(1), NOW_MS), GW_STORE_PENDING);
    assert_int_equal(f->ac.create(f->ac.ctx, 5, &a), GW_STORE_PENDING);
    NOTHING_YET(f);
    assert_int_equal(gw_sqlite_busy(f->s), 1);
    /* The database has none of it before the flush. */
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM accounts"), 0);
    wait_answers(f, 5);
    assert_int_equal(f->got[0].tag, 1);
    assert_int_equal(f->got[0].status, GW_STORE_DONE);
    assert_int_equal(f->got[1].tag, 3);
    assert_int_equal(f->got[1].status, GW_STORE_DONE);
    assert_int_equal(f->got[2].tag, 5);
    assert_int_equal(f->got[2].status, GW_ACCOUNT_EXISTS);
    /* The reads, by the readers, in either order. */
    for (size_t i = 3; i < 5; i++) {
        assert_true(f->got[i].tag == 2 || f->got[i].tag == 4);
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
        assert_string_equal(f->got[i].key, "alice");
    }
    assert_int_not_equal(f->got[3].tag, f->got[4].tag);
    assert_int_equal(gw_sqlite_busy(f->s), 0);

    /* A remove then a find in one turn: the find sees it gone. */
    assert_int_equal(f->ac.remove(f->ac.ctx, 6, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.find(f->ac.ctx, 7, "alice"), GW_STORE_PENDING);
    assert_int_equal(f->ac.session_find(f->ac.ctx, 8, dig(1), NOW_MS), GW_STORE_PENDING);
    wait_answers(f, 3);
    assert_int_equal(f->got[0].tag, 6);
    assert_int_equal(f->got[0].status, GW_STORE_DONE);
    assert_int_equal(f->got[1].status, GW_ACCOUNT_NONE);
    assert_int_equal(f->got[2].status, GW_ACCOUNT_NONE);
}

static void two_creates_of_one_key_in_one_batch(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    struct gw_account a = account("alice", "alice-first", 1), b = account("alice", "alice-second", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
    assert_int_equal(f->ac.create(f->ac.ctx, 2, &b), GW_STORE_PENDING);
    /* Made, removed and made again in one batch: each decided in turn. */
    struct gw_account c = account("carol", "carol", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 3, &c), GW_STORE_PENDING);
    assert_int_equal(f->ac.remove(f->ac.ctx, 4, "carol"), GW_STORE_PENDING);
    assert_int_equal(f->ac.remove(f->ac.ctx, 5, "carol"), GW_STORE_PENDING);
    assert_int_equal(f->ac.create(f->ac.ctx, 6, &c), GW_STORE_PENDING);
    wait_answers(f, 6);
    static const int want[] = {GW_STORE_DONE, GW_ACCOUNT_EXISTS, GW_STORE_DONE,
                               GW_STORE_DONE, GW_ACCOUNT_NONE, GW_STORE_DONE};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(f->got[i].tag, i + 1);
        assert_int_equal(f->got[i].status, want[i]);
    }
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    assert_string_equal(f->got[0].nick, "alice-first");
    assert_int_equal(afind(f, "carol"), GW_STORE_DONE);
}

static void a_restart_keeps_accounts_and_sessions(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 3);
    create_ok(f, "bob", 1);
    keep_ok(f, 1, "alice", 3, NOW_MS + 1000);
    keep_ok(f, 2, "bob", 1, NOW_MS + 1000);
    reopen(f);
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    assert_int_equal(f->got[0].generation, 3);
    assert_string_equal(f->got[0].phc, PHC);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    assert_string_equal(f->got[0].key, "alice");
    assert_int_equal(sfind(f, 2, NOW_MS), GW_STORE_DONE);
    assert_string_equal(f->got[0].key, "bob");
    /* Writes waiting in the batch at close are kept too (not answered). */
    struct gw_account c = account("carol", "carol", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &c), GW_STORE_PENDING);
    reopen(f);
    assert_int_equal(afind(f, "carol"), GW_STORE_DONE);
}

/* A child makes an account and a session, and is killed the instant the
 * account's answer reaches it: what it was told is on disk. */
static void an_answered_write_survives_kill_9(void **state)
{
    struct fix *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        open_ok(f);
        struct gw_account a = account("alice", "alice", 1);
        f->kill_on = 2;
        if (f->ac.create(f->ac.ctx, 1, &a) != GW_STORE_PENDING ||
            f->ac.session_keep(f->ac.ctx, 2, dig(1), "alice", 1, NOW_MS + 1000) !=
                GW_STORE_PENDING)
            _exit(1);
        gw_sqlite_flush(f->s);
        _exit(2); /* never answered */
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!WIFSIGNALED(ws))
        fail_msg("the child was not killed at the answer: exit %d", WEXITSTATUS(ws));
    assert_int_equal(WTERMSIG(ws), SIGKILL);
    open_ok(f);
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
}

/* The schema of version 1, exactly as the engine of that version made a
 * new database (gw_store_sqlite.c before accounts), with its epoch. */
static const char schema1_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE rooms(n INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,"
    " name TEXT NOT NULL, last INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events(k INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " type INTEGER NOT NULL, json TEXT NOT NULL, line TEXT NOT NULL, text TEXT);"
    "CREATE VIRTUAL TABLE events_fts USING fts5(text, content='events', content_rowid='k',"
    " tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER events_ad AFTER DELETE ON events WHEN old.text IS NOT NULL BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, text) VALUES ('delete', old.k, old.text); END;"
    "PRAGMA user_version = 1;";

#define OLD_EPOCH "0123456789abcdef"
#define OLD_JSON "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":7,\"text\":\"kept across\"}"

static void make_schema1_database(const char *dir)
{
    sqlite3 *db = peek_db(dir);
    char sql[1024];
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema1_sql, NULL, NULL, NULL), SQLITE_OK);
    /* Room 1, event 7: k = (1 << GW_SQLITE_ID_BITS) | 7, with its words. */
    int64_t k = (INT64_C(1) << GW_SQLITE_ID_BITS) | 7;
    snprintf(sql, sizeof sql,
             "INSERT INTO meta(key, value) VALUES ('epoch', '" OLD_EPOCH "');"
             "INSERT INTO rooms(n, key, name, last) VALUES (1, '#lobby', '#Lobby', 7);"
             "INSERT INTO events(k, time, type, json, line, text) VALUES"
             " (%lld, %lld, %d, '%s', 'alice: kept across\r\n', 'kept across');"
             "INSERT INTO events_fts(rowid, text) VALUES (%lld, 'kept across');",
             (long long)k, (long long)NOW_MS, GW_EV_MESSAGE, OLD_JSON, (long long)k);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* One read of #lobby (AFTER 0, or a search), answered by a reader. */
static void read_lobby(struct fix *f, const char *q)
{
    struct gw_store_read rd = {
        .kind = q ? GW_STORE_SEARCH : GW_STORE_AFTER, .tag = 1, .room_key = "#lobby",
        .limit = 10, .q = q, .q_len = q ? strlen(q) : 0,
    };
    assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_PENDING);
    f->rows_calls = 0;
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    for (int i = 0; i < 100 && f->rows_calls == 0; i++) {
        gw_sqlite_wait(f->s, 100);
        assert_int_equal(gw_sqlite_flush(f->s), 0);
    }
    assert_int_equal(f->rows_calls, 1);
    assert_int_equal(f->rows_status, 0);
}

static void a_schema_1_database_gains_accounts_and_keeps_its_events(void **state)
{
    struct fix *f = *state;
    make_schema1_database(f->dir);
    open_ok(f);
    assert_int_equal(gw_sqlite_epoch(f->s), UINT64_C(0x0123456789abcdef));
    assert_int_equal(peek_int(f->dir, "PRAGMA user_version"), GW_SQLITE_SCHEMA);
    assert_int_equal(GW_SQLITE_SCHEMA, 4);
    /* Its event, read back and found. */
    read_lobby(f, NULL);
    assert_int_equal(f->rows_n, 1);
    assert_string_equal(f->rows_json[0], OLD_JSON);
    read_lobby(f, "across");
    assert_int_equal(f->rows_n, 1);
    uint64_t last = 0;
    assert_int_equal(f->st.load(f->st.ctx, "#lobby", 10, 1 << 20, &last, NULL, NULL), 0);
    assert_int_equal(last, 7);
    /* And accounts. */
    create_ok(f, "alice", 1);
    keep_ok(f, 1, "alice", 1, NOW_MS + 1000);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    /* Opened again, as a database of this version. */
    reopen(f);
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    read_lobby(f, NULL);
    assert_string_equal(f->rows_json[0], OLD_JSON);
    close_db(f);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                      "('accounts', 'sessions', 'sessions_key', "
                                      "'sessions_expires', 'account_rooms', "
                                      "'account_rooms_room', 'account_pms')"),
                     7);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM events"), 1);
}

static void a_newer_database_is_refused(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 1);
    close_db(f);
    sqlite3 *db = peek_db(f->dir);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", GW_SQLITE_SCHEMA + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[GW_SQLITE_WHY_MAX_BYTES];
    struct gw_sqlite_opts o = {.dir = f->dir};
    int rc = gw_sqlite_open(&o, &f->sink, &f->s, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ESCHEMA);
    assert_null(f->s);
    assert_non_null(strstr(err, "newer"));
    /* Untouched. */
    assert_int_equal(peek_int(f->dir, "PRAGMA user_version"), GW_SQLITE_SCHEMA + 1);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM accounts"), 1);
}

static void the_33rd_session_ends_the_oldest(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 1);
    create_ok(f, "bob", 1);
    int64_t end = NOW_MS + 1000;
    keep_ok(f, 500, "bob", 1, end);
    /* 32 in one batch. */
    for (unsigned i = 1; i <= GW_SESSIONS_PER_ACCOUNT; i++)
        assert_int_equal(f->ac.session_keep(f->ac.ctx, i, dig(i), "alice", 1, end),
                         GW_STORE_PENDING);
    wait_answers(f, GW_SESSIONS_PER_ACCOUNT);
    for (unsigned i = 0; i < GW_SESSIONS_PER_ACCOUNT; i++)
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions WHERE key = 'alice'"),
                     GW_SESSIONS_PER_ACCOUNT);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    /* Session 1 kept again is the newest: the 33rd ends session 2. */
    keep_ok(f, 1, "alice", 1, end);
    keep_ok(f, 33, "alice", 1, end);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions WHERE key = 'alice'"),
                     GW_SESSIONS_PER_ACCOUNT);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 33, NOW_MS), GW_STORE_DONE);
    assert_int_equal(sfind(f, 500, NOW_MS), GW_STORE_DONE); /* bob's */
    /* After a restart the order holds: the 34th ends session 3. */
    reopen(f);
    keep_ok(f, 34, "alice", 1, end);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 4, NOW_MS), GW_STORE_DONE);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"),
                     GW_SESSIONS_PER_ACCOUNT + 1);
}

static void expiry_boundary_generations_and_the_upkeep(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 3);
    int64_t end = NOW_MS + 1000;
    keep_ok(f, 1, "alice", 3, end);
    /* Alive 1 ms before its end, over at its end. */
    assert_int_equal(sfind(f, 1, end - 1), GW_STORE_DONE);
    assert_int_equal(sfind(f, 1, end), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 1, end + 1), GW_ACCOUNT_NONE);
    /* Generations: older is over, the same or newer is not. */
    keep_ok(f, 2, "alice", 2, end);
    keep_ok(f, 3, "alice", 4, end);
    assert_int_equal(sfind(f, 2, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    /* A new generation: the sessions below it go at once. */
    struct gw_account u = account("alice", "alice", 4);
    assert_int_equal(f->ac.update(f->ac.ctx, 4, &u), GW_STORE_PENDING);
    one(f, 4, GW_STORE_DONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_ACCOUNT_NONE);
    assert_int_equal(sfind(f, 3, NOW_MS), GW_STORE_DONE);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 1);

    /* The upkeep deletes what is over, at the same boundary. */
    keep_ok(f, 10, "alice", 4, NOW_MS);
    keep_ok(f, 11, "alice", 4, NOW_MS + 1);
    struct gw_sqlite_stats st;
    gw_sqlite_maintain(f->s, NOW_MS - 1);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 3);
    gw_sqlite_stats(f->s, &st);
    uint64_t commits = st.commits;
    gw_sqlite_maintain(f->s, NOW_MS - 1); /* nothing over: nothing committed */
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.commits, commits);
    assert_int_equal(st.sessions_expired, 0);
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 2);
    assert_int_equal(sfind(f, 11, NOW_MS), GW_STORE_DONE);
    gw_sqlite_maintain(f->s, NOW_MS + 1);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 1);
    gw_sqlite_maintain(f->s, end);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 0);
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.sessions_expired, 3);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 1);
    /* At most GW_SQLITE_EXPIRE_ROWS_MAX a call. */
    char key[32];
    for (unsigned i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "user%u", i);
        struct gw_account a = account(key, key, 1);
        assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
        for (unsigned j = 0; j < 30; j++)
            assert_int_equal(f->ac.session_keep(f->ac.ctx, 2, dig(1000 + i * 30 + j), key, 1,
                                                NOW_MS),
                             GW_STORE_PENDING);
    }
    wait_answers(f, 20 * 31);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 600);
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"),
                     600 - GW_SQLITE_EXPIRE_ROWS_MAX);
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sessions"), 0);
}

static void bad_arguments_are_refused_without_an_answer(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    char longkey[GW_ACCOUNT_KEY_MAX_BYTES + 2], longphc[GW_ACCOUNT_PHC_MAX_BYTES + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    memset(longphc, 'p', sizeof longphc - 1);
    longphc[sizeof longphc - 1] = '\0';
    struct gw_account a = account("", "x", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    a.key = longkey;
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    a = account("bob", NULL, 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    a = account("bob", "bob", UINT64_MAX);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    a = account("bob", "bob", 1);
    a.phc = longphc;
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    assert_int_equal(f->ac.update(f->ac.ctx, 1, &a), GW_STORE_EINVAL);
    assert_int_equal(gw_sqlite_account_create(f->s, &a), GW_STORE_EINVAL);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(f->ac.find(f->ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(f->ac.find(f->ac.ctx, 1, longkey), GW_STORE_EINVAL);
    assert_int_equal(f->ac.remove(f->ac.ctx, 1, ""), GW_STORE_EINVAL);
    char upper[GW_DIGEST_HEX_LEN + 1], shorter[GW_DIGEST_HEX_LEN];
    snprintf(upper, sizeof upper, "%s", dig(1));
    upper[3] = 'A';
    snprintf(shorter, sizeof shorter, "%s", dig(1));
    const char *bad[] = {upper, shorter, "", NULL, "'); DROP TABLE accounts; --"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f->ac.session_keep(f->ac.ctx, 1, bad[i], "bob", 1, NOW_MS),
                         GW_STORE_EINVAL);
        assert_int_equal(f->ac.session_find(f->ac.ctx, 1, bad[i], NOW_MS), GW_STORE_EINVAL);
        assert_int_equal(f->ac.session_drop(f->ac.ctx, 1, bad[i]), GW_STORE_EINVAL);
    }
    assert_int_equal(gw_sqlite_busy(f->s), 0);
    wait_answers(f, 0);
    /* Names are data: quotes and all. */
    create_ok(f, "o'neil\"; --", 1);
    assert_int_equal(afind(f, "o'neil\"; --"), GW_STORE_DONE);
}

static void each_account(void *arg, const struct gw_account *a)
{
    char *out = arg;
    size_t o = strlen(out);
    snprintf(out + o, 512 - o, "%s%s/%s/%u/%llu", o ? "," : "", a->key, a->nick, a->roles,
             (unsigned long long)a->generation);
}

static void the_tools_synchronous_calls(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    struct gw_account a = account("bob", "Bob", 1), b = account("alice", "Alice", 1);
    b.roles = GW_ROLE_ADMIN;
    assert_int_equal(gw_sqlite_account_create(f->s, &a), GW_STORE_DONE);
    assert_int_equal(gw_sqlite_account_create(f->s, &b), GW_STORE_DONE);
    assert_int_equal(gw_sqlite_account_create(f->s, &b), GW_ACCOUNT_EXISTS);
    char out[512] = "";
    assert_int_equal(gw_sqlite_account_list(f->s, each_account, out), 0);
    assert_string_equal(out, "alice/Alice/1/1,bob/Bob/0/1");
    /* A write waiting in the batch is committed first (and answered by
     * the next flush, as ever). */
    struct gw_account c = account("carol", "Carol", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 5, &c), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_account_create(f->s, &c), GW_ACCOUNT_EXISTS);
    one(f, 5, GW_STORE_DONE);
    keep_ok(f, 1, "bob", 1, NOW_MS + 1000);
    a.generation = 2;
    a.nick = "BOB";
    assert_int_equal(gw_sqlite_account_update(f->s, &a), GW_STORE_DONE);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_ACCOUNT_NONE);
    struct gw_account d = account("dave", "dave", 1);
    assert_int_equal(gw_sqlite_account_update(f->s, &d), GW_ACCOUNT_NONE);
    assert_int_equal(gw_sqlite_account_remove(f->s, "carol"), GW_STORE_DONE);
    assert_int_equal(gw_sqlite_account_remove(f->s, "carol"), GW_ACCOUNT_NONE);
    assert_int_equal(gw_sqlite_account_remove(f->s, ""), GW_STORE_EINVAL);
    out[0] = '\0';
    assert_int_equal(gw_sqlite_account_list(f->s, each_account, out), 0);
    assert_string_equal(out, "alice/Alice/1/1,bob/BOB/0/2");
    reopen(f);
    out[0] = '\0';
    assert_int_equal(gw_sqlite_account_list(f->s, each_account, out), 0);
    assert_string_equal(out, "alice/Alice/1/1,bob/BOB/0/2");
}

/* A turn with more writes than a batch holds: the batch is committed
 * inside a call, yet answered only by the flush; past the answers' bound a
 * write is refused at once; past the reads' bound a find is. */
static void the_engines_bounds(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    char key[32];
    for (unsigned i = 0; i < GW_SQLITE_ANSWERS_MAX; i++) {
        snprintf(key, sizeof key, "user%u", i);
        struct gw_account a = account(key, key, 1);
        if (f->ac.create(f->ac.ctx, i, &a) != GW_STORE_PENDING)
            fail_msg("create %u refused", i);
    }
    NOTHING_YET(f);
    struct gw_account a = account("one-more", "one-more", 1);
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_EBUSY);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 1, dig(1)), GW_STORE_EBUSY);
    /* Most are on disk already, none answered. */
    assert_true(peek_int(f->dir, "SELECT count(*) FROM accounts") >=
                GW_SQLITE_ANSWERS_MAX - GW_SQLITE_ACCOUNT_OPS_MAX);
    NOTHING_YET(f);
    wait_answers(f, GW_SQLITE_ANSWERS_MAX);
    for (unsigned i = 0; i < GW_SQLITE_ANSWERS_MAX; i++) {
        assert_int_equal(f->got[i].tag, i);
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
    }
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
    one(f, 1, GW_STORE_DONE);
    /* Reads: GW_SQLITE_READS_MAX in the engine at once. */
    for (unsigned i = 0; i < GW_SQLITE_READS_MAX; i++)
        assert_int_equal(f->ac.find(f->ac.ctx, i, "user1"), GW_STORE_PENDING);
    assert_int_equal(f->ac.find(f->ac.ctx, 1, "user1"), GW_STORE_EBUSY);
    assert_int_equal(f->ac.session_find(f->ac.ctx, 1, dig(1), NOW_MS), GW_STORE_EBUSY);
    wait_answers(f, GW_SQLITE_READS_MAX);
    for (unsigned i = 0; i < GW_SQLITE_READS_MAX; i++)
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
    assert_int_equal(afind(f, "user4095"), GW_STORE_DONE);
}

/* Make users from..to-1 in one batch. */
static void create_users(struct fix *f, unsigned from, unsigned to)
{
    char key[32];
    for (unsigned i = from; i < to; i++) {
        snprintf(key, sizeof key, "user%u", i);
        struct gw_account a = account(key, key, 1);
        assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
    }
    wait_answers(f, to - from);
    for (unsigned i = 0; i < to - from; i++)
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
}

static void remove_user0(struct fix *f)
{
    assert_int_equal(f->ac.remove(f->ac.ctx, 3, "user0"), GW_STORE_PENDING);
    one(f, 3, GW_STORE_DONE);
}

/* The name the cursor names (the first page's last) goes. */
static void remove_the_cursors_name(struct fix *f)
{
    char key[GW_ACCOUNT_CURSOR_MAX_BYTES + 1];
    snprintf(key, sizeof key, "%s", kgot.next);
    assert_int_equal(f->ac.remove(f->ac.ctx, 3, key), GW_STORE_PENDING);
    one(f, 3, GW_STORE_DONE);
}

static void keys_walks_every_name_once_in_exact_pages(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    enum { TOTAL = GW_ACCOUNT_KEYS_PAGE * 3 + 1 };
    static unsigned seen[TOTAL];
    /* None: one empty page, the last. */
    assert_int_equal(keys_walk(f, seen, TOTAL, 8, NULL), 1);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    /* Exactly three pages' worth: three full pages, the third the last. */
    create_users(f, 0, GW_ACCOUNT_KEYS_PAGE * 3);
    assert_int_equal(keys_walk(f, seen, TOTAL, 8, NULL), 3);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE);
    /* One more: a fourth page of one. */
    create_users(f, GW_ACCOUNT_KEYS_PAGE * 3, TOTAL);
    assert_int_equal(keys_walk(f, seen, TOTAL, 8, NULL), 4);
    assert_int_equal(kgot.n, 1);
    for (unsigned i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    /* A page: full, in byte order, its last name the cursor. */
    assert_int_equal(f->ac.keys(f->ac.ctx, 5, ""), GW_STORE_PENDING);
    one(f, 5, GW_STORE_DONE);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE);
    for (size_t i = 1; i < kgot.n; i++)
        assert_true(strcmp(kgot.keys[i - 1], kgot.keys[i]) < 0);
    assert_string_equal(kgot.next, kgot.keys[GW_ACCOUNT_KEYS_PAGE - 1]);
    /* A name of the first page removed during the walk: no other is
     * skipped (the cursor is a name, not a count). */
    assert_int_equal(keys_walk(f, seen, TOTAL, 8, remove_user0), 4);
    for (unsigned i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    /* The cursor's own name removed: the walk goes on past it. */
    assert_int_equal(keys_walk(f, seen, TOTAL, 8, remove_the_cursors_name), 3);
    for (unsigned i = 1; i < TOTAL; i++) /* the removed one, too: before its removal */
        if (seen[i] != 1)
            fail_msg("user%u given %u times", i, seen[i]);
    assert_int_equal(keys_walk(f, seen, TOTAL, 8, NULL), 3);
    assert_int_equal(kgot.n, GW_ACCOUNT_KEYS_PAGE - 1);
    /* A bad cursor is refused, with no answer. */
    char longer[GW_ACCOUNT_KEY_MAX_BYTES + 2];
    memset(longer, 'k', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(f->ac.keys(f->ac.ctx, 1, NULL), GW_STORE_EINVAL);
    assert_int_equal(f->ac.keys(f->ac.ctx, 1, longer), GW_STORE_EINVAL);
    assert_int_equal(gw_sqlite_busy(f->s), 0);
    wait_answers(f, 0);
    /* A cursor past every name: the last page, empty. */
    assert_int_equal(f->ac.keys(f->ac.ctx, 6, "zzz"), GW_STORE_PENDING);
    one(f, 6, GW_STORE_DONE);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    /* Without a keys sink: refused. */
    struct gw_account_sink plain = {.ctx = f, .answer = on_answer};
    struct gw_accounts ac;
    gw_sqlite_accounts(f->s, &plain, &ac);
    assert_int_equal(ac.keys(ac.ctx, 1, ""), GW_STORE_EINVAL);
    gw_sqlite_accounts(f->s, &f->acc_sink, &f->ac);
}

/* A read that fails (the table gone from under the reader) is answered
 * GW_STORE_EIO with no names; the next one, the table back, works. */
static void keys_a_failed_read_is_an_error_answer(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_users(f, 0, 3);
    sqlite3 *db = peek_db(f->dir);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE accounts RENAME TO gone", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(f->ac.keys(f->ac.ctx, 4, ""), GW_STORE_PENDING);
    one(f, 4, GW_STORE_EIO);
    assert_int_equal(kgot.n, 0);
    assert_string_equal(kgot.next, "");
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE gone RENAME TO accounts", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(f->ac.keys(f->ac.ctx, 5, ""), GW_STORE_PENDING);
    one(f, 5, GW_STORE_DONE);
    assert_int_equal(kgot.n, 3);
    assert_string_equal(kgot.keys[0], "user0");
    assert_string_equal(kgot.next, "");
}

/* ---- present while away (accttest.h's contract), and SQLite's own ---- */

static void rooms_calls(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    rooms_every_call_and_answer(f);
    /* Kept across a restart. */
    reopen(f);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#a"), 0);
    assert_int_equal(rgot_read("#b"), 10);
}

static void rooms_bound(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    rooms_the_101st_is_refused(f);
}

/* In one batch: the 101st of a batch is decided after the 100 before it. */
static void rooms_bound_in_one_batch(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 1);
    char room[16];
    for (unsigned i = 0; i <= GW_ACCOUNT_ROOMS_MAX; i++) {
        snprintf(room, sizeof room, "#r%03u", i);
        assert_int_equal(f->ac.room_keep(f->ac.ctx, i, "alice", room, 1), GW_STORE_PENDING);
    }
    assert_int_equal(f->ac.read_mark(f->ac.ctx, 500, "alice", "#r007", 7), GW_STORE_PENDING);
    assert_int_equal(f->ac.read_mark(f->ac.ctx, 501, "alice", "#r100", 7), GW_STORE_PENDING);
    wait_answers(f, GW_ACCOUNT_ROOMS_MAX + 3);
    for (unsigned i = 0; i < GW_ACCOUNT_ROOMS_MAX; i++)
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
    assert_int_equal(f->got[GW_ACCOUNT_ROOMS_MAX].status, GW_ACCOUNT_FULL);
    assert_int_equal(f->got[GW_ACCOUNT_ROOMS_MAX + 1].status, GW_STORE_DONE);
    assert_int_equal(f->got[GW_ACCOUNT_ROOMS_MAX + 2].status, GW_ACCOUNT_NONE);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM account_rooms"), GW_ACCOUNT_ROOMS_MAX);
}

static void room_accounts_walk(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    room_accounts_walks_every_member_once(f);
}

static void pms_calls(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    pms_every_call_and_answer(f);
}

static void pms_bound(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    pms_the_1001st_drops_the_oldest(f);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM account_pms"), GW_ACCOUNT_PMS_MAX);
    /* Ids go on from the last after a restart, never given twice. */
    reopen(f);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "after"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], GW_ACCOUNT_PMS_MAX + 3);
    assert_int_equal(pmafter(f, "alice", 0, 1), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 4);
}

/* Messages of one batch: each numbered after those before it. */
static void pms_in_one_batch(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 1);
    struct gw_account_pm pm = {.time_ms = NOW_MS, .peer = "bob", .text = "x"};
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(f->ac.pm_add(f->ac.ctx, i, "alice", &pm), GW_STORE_PENDING);
    assert_int_equal(f->ac.pm_add(f->ac.ctx, 9, "nobody", &pm), GW_STORE_PENDING);
    NOTHING_YET(f);
    wait_answers(f, 6);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(f->got[i].tag, i);
        assert_int_equal(f->got[i].status, GW_STORE_DONE);
    }
    assert_int_equal(f->got[5].status, GW_ACCOUNT_NONE);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 5);
    assert_int_equal(pgot.id[4], 5);
}

static void remove_takes_the_rest(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    remove_takes_rooms_and_messages(f);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM account_pms WHERE key = 'alice'"), 1);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM account_rooms WHERE key = 'alice'"),
                     0);
    /* The tool's remove too. */
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(gw_sqlite_account_remove(f->s, "alice"), GW_STORE_DONE);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM account_pms WHERE key = 'alice'"), 0);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM account_rooms WHERE key = 'alice'"),
                     0);
}

static void away_bad_arguments(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 1);
    away_bad_arguments_are_refused(f);
    assert_int_equal(gw_sqlite_busy(f->s), 0);
    wait_answers(f, 0);
    /* Without the sink functions their answers need: refused. */
    struct gw_account_sink plain = {.ctx = f, .answer = on_answer};
    struct gw_accounts ac;
    gw_sqlite_accounts(f->s, &plain, &ac);
    struct gw_account_pm pm = {.peer = "bob", .text = "hi"};
    assert_int_equal(ac.rooms_of(ac.ctx, 1, "alice"), GW_STORE_EINVAL);
    assert_int_equal(ac.room_accounts(ac.ctx, 1, "#a", ""), GW_STORE_EINVAL);
    assert_int_equal(ac.pm_add(ac.ctx, 1, "alice", &pm), GW_STORE_EINVAL);
    assert_int_equal(ac.pm_after(ac.ctx, 1, "alice", 0, 1), GW_STORE_EINVAL);
    assert_int_equal(gw_sqlite_busy(f->s), 0);
    gw_sqlite_accounts(f->s, &f->acc_sink, &f->ac);
}

/* A write lock another program holds: the batch's commit fails, every
 * write of it is answered GW_STORE_EIO (nothing kept), later writes are
 * refused at once while unhealthy, reads still answer; the lock gone,
 * the probe makes it healthy and writes are kept. A read that fails is
 * an error answer. */
static void away_faults(void **state)
{
    struct fix *f = *state;
    open_ok(f);
    create_ok(f, "alice", 1);
    assert_int_equal(rkeep(f, "alice", "#a", 1), GW_STORE_DONE);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "one"), GW_STORE_DONE);
    sqlite3 *db = peek_db(f->dir);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct gw_account_pm pm = {.time_ms = NOW_MS, .peer = "bob", .text = "two"};
    assert_int_equal(f->ac.room_keep(f->ac.ctx, 1, "alice", "#b", 1), GW_STORE_PENDING);
    assert_int_equal(f->ac.read_mark(f->ac.ctx, 2, "alice", "#a", 5), GW_STORE_PENDING);
    assert_int_equal(f->ac.pm_add(f->ac.ctx, 3, "alice", &pm), GW_STORE_PENDING);
    f->n = 0;
    assert_int_equal(gw_sqlite_flush(f->s), GW_STORE_EIO);
    assert_int_equal(f->n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(f->got[i].tag, i + 1);
        assert_int_equal(f->got[i].status, GW_STORE_EIO);
    }
    assert_int_equal(pgot.n, 0);
    f->seen = f->total;
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 0);
    assert_int_equal(f->ac.room_keep(f->ac.ctx, 4, "alice", "#b", 1), GW_STORE_EIO);
    assert_int_equal(f->ac.read_mark(f->ac.ctx, 4, "alice", "#a", 5), GW_STORE_EIO);
    assert_int_equal(f->ac.pm_add(f->ac.ctx, 4, "alice", &pm), GW_STORE_EIO);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 1);
    assert_int_equal(rgot_read("#a"), 0);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 1);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "two"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 2); /* the failed one took no id */
    /* Reads that fail: the tables gone from under the readers. */
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE account_pms RENAME TO gone;"
                                      "ALTER TABLE account_rooms RENAME TO gone2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_EIO);
    assert_int_equal(pgot.n, 0);
    assert_int_equal(rooms(f, "alice"), GW_STORE_EIO);
    assert_int_equal(rgot.n, 0);
    assert_int_equal(f->ac.room_accounts(f->ac.ctx, 7, "#a", ""), GW_STORE_PENDING);
    one(f, 7, GW_STORE_EIO);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE gone RENAME TO account_pms;"
                                      "ALTER TABLE gone2 RENAME TO account_rooms",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 2);
}

/* A child keeps a message for an account, a room and a read position,
 * and is killed the instant the message's answer reaches it: all of it
 * is on disk. */
static void an_answered_message_survives_kill_9(void **state)
{
    struct fix *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        open_ok(f);
        struct gw_account a = account("alice", "alice", 1);
        struct gw_account_pm pm = {.time_ms = NOW_MS, .peer = "bob", .text = "while away"};
        f->kill_on = 4;
        if (f->ac.create(f->ac.ctx, 1, &a) != GW_STORE_PENDING ||
            f->ac.room_keep(f->ac.ctx, 2, "alice", "#a", 1) != GW_STORE_PENDING ||
            f->ac.read_mark(f->ac.ctx, 3, "alice", "#a", 42) != GW_STORE_PENDING ||
            f->ac.pm_add(f->ac.ctx, 4, "alice", &pm) != GW_STORE_PENDING)
            _exit(1);
        gw_sqlite_flush(f->s);
        _exit(2); /* never answered */
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!WIFSIGNALED(ws))
        fail_msg("the child was not killed at the answer: exit %d", WEXITSTATUS(ws));
    open_ok(f);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    assert_string_equal(pgot.text[0], "while away");
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#a"), 42);
}

/* The schema of version 2, exactly as the engine of that version made a
 * new database: version 1's, and accounts and sessions. */
static const char schema2_sql[] =
    "CREATE TABLE accounts(key TEXT PRIMARY KEY, nick TEXT NOT NULL, phc TEXT NOT NULL,"
    " roles INTEGER NOT NULL, generation INTEGER NOT NULL, created_ms INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE sessions(digest TEXT PRIMARY KEY, key TEXT NOT NULL,"
    " generation INTEGER NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_key ON sessions(key);"
    "CREATE INDEX sessions_expires ON sessions(expires_ms);"
    "PRAGMA user_version = 2;";

static void a_schema_2_database_gains_rooms_and_messages(void **state)
{
    struct fix *f = *state;
    make_schema1_database(f->dir);
    sqlite3 *db = peek_db(f->dir);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO accounts VALUES ('alice', 'Alice', '%s', 1, 3, %lld);"
             "INSERT INTO sessions VALUES ('%s', 'alice', 3, %lld, %lld);",
             PHC, (long long)NOW_MS, dig(1), (long long)NOW_MS, (long long)NOW_MS + 1000);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema2_sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    open_ok(f);
    assert_int_equal(peek_int(f->dir, "PRAGMA user_version"), GW_SQLITE_SCHEMA);
    assert_int_equal(gw_sqlite_epoch(f->s), UINT64_C(0x0123456789abcdef));
    /* What it had. */
    assert_int_equal(afind(f, "alice"), GW_STORE_DONE);
    assert_string_equal(f->got[0].nick, "Alice");
    assert_int_equal(f->got[0].generation, 3);
    assert_int_equal(f->got[0].roles, 1);
    assert_int_equal(sfind(f, 1, NOW_MS), GW_STORE_DONE);
    read_lobby(f, "across");
    assert_int_equal(f->rows_n, 1);
    /* And what it gains: the old account's first message is 1. */
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot.n, 0);
    assert_int_equal(rkeep(f, "alice", "#lobby", 1), GW_STORE_DONE);
    assert_int_equal(rmark(f, "alice", "#lobby", 7), GW_STORE_DONE);
    assert_int_equal(pmadd(f, "alice", "bob", 0, "hi"), GW_STORE_DONE);
    assert_int_equal(pgot.id[0], 1);
    reopen(f);
    assert_int_equal(rooms(f, "alice"), GW_STORE_DONE);
    assert_int_equal(rgot_read("#lobby"), 7);
    assert_int_equal(pmafter(f, "alice", 0, 10), GW_STORE_DONE);
    assert_int_equal(pgot.n, 1);
    /* The tool beside it takes it as its own schema. */
    close_db(f);
    struct gw_sqlite_opts o = {.dir = f->dir, .beside = 1};
    char err[GW_SQLITE_WHY_MAX_BYTES];
    assert_int_equal(gw_sqlite_open(&o, &f->sink, &f->s, err, sizeof err), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(accounts_every_call_and_answer),
        T(answers_come_from_the_flush_after_the_commit_in_order),
        T(two_creates_of_one_key_in_one_batch),
        T(a_restart_keeps_accounts_and_sessions),
        T(an_answered_write_survives_kill_9),
        T(a_schema_1_database_gains_accounts_and_keeps_its_events),
        T(a_newer_database_is_refused),
        T(the_33rd_session_ends_the_oldest),
        T(expiry_boundary_generations_and_the_upkeep),
        T(bad_arguments_are_refused_without_an_answer),
        T(the_tools_synchronous_calls),
        T(the_engines_bounds),
        T(keys_walks_every_name_once_in_exact_pages),
        T(keys_a_failed_read_is_an_error_answer),
        T(rooms_calls),
        T(rooms_bound),
        T(rooms_bound_in_one_batch),
        T(room_accounts_walk),
        T(pms_calls),
        T(pms_bound),
        T(pms_in_one_batch),
        T(remove_takes_the_rest),
        T(away_bad_arguments),
        T(away_faults),
        T(an_answered_message_survives_kill_9),
        T(a_schema_2_database_gains_rooms_and_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
