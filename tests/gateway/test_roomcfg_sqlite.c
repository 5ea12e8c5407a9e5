/*
 * test_roomcfg_sqlite.c - the room config in the SQLite engine
 * (gw_sqlite_roomcfg) against real database files in temporary
 * directories: what every engine must do (roomcfgtest.h); answers only
 * from the flush after the commit, in the order of the calls; two new
 * entries racing for a list's last place in one batch; everything kept
 * across a reopen and writes waiting at close kept too; the migration of a
 * database of schema 3 (made here exactly as the engine of schema 3 made
 * it), keeping its events and accounts; the engine's bound of waiting
 * calls; a load of a room full to every bound, timed on the loop.
 */
#define _GNU_SOURCE /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "gw_json.h"
#include "gw_store_sqlite.h"
#include "roomcfgtest.h"

struct fix {
    struct rct t;
    char dir[64];
    struct gw_sqlite *s;
    struct gw_store_sink sink;
    struct gw_account_sink acc_sink;
    int acc_n, acc_status;
    char acc_nick[GW_NICK_MAX_BYTES + 1];
    int rows_calls, rows_status;
    size_t rows_n;
};

static void on_done(void *ctx, const char *key, uint64_t id, int status)
{
    (void)ctx, (void)key, (void)id, (void)status;
}

static void on_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    struct fix *f = ctx;
    (void)tag, (void)ev, (void)more;
    f->rows_calls++;
    f->rows_status = status;
    f->rows_n = n;
}

static void on_acc(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    struct fix *f = ctx;
    (void)tag;
    f->acc_n++;
    f->acc_status = status;
    snprintf(f->acc_nick, sizeof f->acc_nick, "%s", a ? a->nick : "");
}

static void pump(struct rct *t, int wait_ms)
{
    struct fix *f = t->arg;
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    if (wait_ms > 0 && t->n == 0)
        gw_sqlite_wait(f->s, wait_ms);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void open_ok(struct fix *f)
{
    char err[GW_SQLITE_WHY_MAX_BYTES];
    struct gw_sqlite_opts o = {.dir = f->dir};
    int rc = gw_sqlite_open(&o, &f->sink, &f->s, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", f->dir, rc, err);
    struct gw_roomcfg_sink rs = rct_sink(&f->t);
    gw_sqlite_roomcfg(f->s, &rs, &f->t.rc);
}

static void reopen(struct fix *f)
{
    gw_sqlite_close(f->s);
    f->s = NULL;
    open_ok(f);
}

static int setup_dir(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    rct_init(&f->t);
    f->t.pump = pump;
    f->t.arg = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/wt-rcfg-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->sink = (struct gw_store_sink){.ctx = f, .done = on_done, .rows = on_rows};
    f->acc_sink = (struct gw_account_sink){.ctx = f, .answer = on_acc};
    *state = f;
    return 0;
}

static int setup(void **state)
{
    setup_dir(state);
    open_ok(*state);
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_sqlite_close(f->s);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    rct_fini(&f->t);
    free(f);
    return 0;
}

/* A connection of the test's own to the database file. */
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

/* ---- what every engine must do ---- */

static void sqlite_room(void **state)
{
    rct_test_room(&((struct fix *)*state)->t);
}

static void sqlite_entries(void **state)
{
    rct_test_entries(&((struct fix *)*state)->t);
}

static void sqlite_expiry(void **state)
{
    rct_test_expiry(&((struct fix *)*state)->t);
}

static void sqlite_bounds(void **state)
{
    rct_test_bounds(&((struct fix *)*state)->t);
}

static void sqlite_einval(void **state)
{
    rct_test_einval(&((struct fix *)*state)->t);
}

/* ---- this engine's own ---- */

/* As each answer or notice of a write is given, the write is committed:
 * another connection sees it. */
static char seen_dir[64];
static int seen_n;
static void seen_committed(struct rct *t, const struct rct_got *g)
{
    (void)t;
    if (g->type == RCT_ANSWER && g->tag == 1) {
        assert_int_equal(peek_int(seen_dir, "SELECT count(*) FROM room_cfg WHERE owner = 'alice'"), 1);
        seen_n++;
    }
    if (g->type == RCT_ANSWER && g->tag == 2) {
        assert_int_equal(peek_int(seen_dir, "SELECT count(*) FROM room_entries"), 1);
        seen_n++;
    }
}

/* Nothing is written before the flush's commit; then every answer in the
 * order of the calls, each done write followed by its notice (each given
 * after the commit: seen_committed), and a load queued between writes
 * sees those before it. */
static void answers_from_the_flush_after_the_commit(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    snprintf(seen_dir, sizeof seen_dir, "%s", f->dir);
    seen_n = 0;
    t->seen = seen_committed;
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 1, 0);
    t->inside = 1;
    assert_int_equal(t->rc.owner_set(t->rc.ctx, 1, "#a", "alice"), GW_STORE_PENDING);
    assert_int_equal(t->rc.entry_set(t->rc.ctx, 2, "#a", &e), GW_STORE_PENDING);
    assert_int_equal(t->rc.entry_clear(t->rc.ctx, 3, "#a", GW_RCL_OP, GW_RCK_ACCOUNT, "x", 1),
                     GW_STORE_PENDING);
    assert_int_equal(t->rc.load(t->rc.ctx, 4, "#a", 1), GW_STORE_PENDING);
    assert_int_equal(t->rc.entries(t->rc.ctx, 5, "#a", GW_RCL_BAN, 1), GW_STORE_PENDING);
    t->inside = 0;
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM room_cfg"), 0);
    assert_int_equal(gw_sqlite_busy(f->s), 1);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(seen_n, 2);
    t->seen = NULL;
    assert_int_equal(t->n, 7);
    static const enum rct_type types[] = {RCT_ANSWER,  RCT_CHANGED, RCT_ANSWER, RCT_CHANGED,
                                          RCT_ANSWER,  RCT_CONFIG,  RCT_ENTRIES};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(t->got[i].type, types[i]);
    assert_int_equal(t->got[0].tag, 1);
    assert_string_equal(t->got[1].room, "#a");
    assert_int_equal(t->got[1].what, GW_ROOMCFG_CH_OWNER);
    assert_int_equal(t->got[3].what, GW_ROOMCFG_CH_LIST(GW_RCL_BAN));
    assert_int_equal(t->got[4].status, GW_ROOMCFG_NONE);
    assert_string_equal(t->got[5].owner, "alice");
    assert_int_equal(t->got[5].n, 1);
    assert_int_equal(t->got[6].n, 1);
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM room_entries"), 1);
    assert_int_equal(gw_sqlite_busy(f->s), 0);
    t->n = 0;
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(t->n, 0);
}

/* Two new entries for a list's last place in one batch: the first made
 * takes it, the second is FULL. */
static void two_for_the_last_place_in_one_batch(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    char who[32];
    for (size_t i = 0; i < GW_ROOMCFG_OPS_MAX - 1; i++) {
        snprintf(who, sizeof who, "op%zu", i);
        struct gw_roomcfg_entry e = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, who, 1, 0);
        assert_int_equal(t->rc.entry_set(t->rc.ctx, 100 + i, "#a", &e), GW_STORE_PENDING);
    }
    struct gw_roomcfg_entry a = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, "first", 1, 0);
    struct gw_roomcfg_entry b = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, "second", 1, 0);
    assert_int_equal(t->rc.entry_set(t->rc.ctx, 1, "#a", &a), GW_STORE_PENDING);
    assert_int_equal(t->rc.entry_set(t->rc.ctx, 2, "#a", &b), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(rct_find(t, RCT_ANSWER, 1)->status, GW_STORE_DONE);
    assert_int_equal(rct_find(t, RCT_ANSWER, 2)->status, GW_ROOMCFG_FULL);
    assert_int_equal(rct_list(t, "#a", GW_RCL_OP, 1), GW_ROOMCFG_OPS_MAX);
    assert_null(rct_row(t, GW_RCL_OP, GW_RCK_ACCOUNT, "second"));
}

/* Everything is kept across a reopen; writes waiting at close too. */
static void kept_across_a_reopen(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    rct_owner(t, "#a", "alice");
    rct_topic(t, "#a", "the topic ñ", "Alice", 42);
    rct_settings(t, "#a", GW_ROOMCFG_REGISTERED | GW_ROOMCFG_TOPIC_ANYONE, "k3y");
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_MUTE, GW_RCK_ADDRESS, "192.0.2.0/24", 5, 9000);
    rct_set(t, "#a", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_GBAN, GW_RCK_ACCOUNT, "spammer", 5, 0);
    rct_set(t, "", &e, GW_STORE_DONE);
    /* Waiting in the queue at close: kept, not answered. */
    e = rct_entry(GW_RCL_INVITE, GW_RCK_NICK, "guest", 6, 0);
    t->n = 0;
    assert_int_equal(t->rc.entry_set(t->rc.ctx, 77, "#a", &e), GW_STORE_PENDING);
    reopen(f);
    assert_int_equal(t->n, 0);
    struct rct_got *g = rct_load(t, "#a", 100);
    assert_string_equal(g->owner, "alice");
    assert_string_equal(g->topic, "the topic ñ");
    assert_string_equal(g->topic_by, "Alice");
    assert_int_equal(g->topic_ms, 42);
    assert_int_equal(g->flags, GW_ROOMCFG_REGISTERED | GW_ROOMCFG_TOPIC_ANYONE);
    assert_string_equal(g->key, "k3y");
    assert_int_equal(g->n, 2);
    struct rct_row *r = rct_row(t, GW_RCL_MUTE, GW_RCK_ADDRESS, "192.0.2.0/24");
    assert_non_null(r);
    assert_int_equal(r->expires_ms, 9000);
    assert_int_equal(r->set_ms, 5);
    assert_string_equal(r->by, "Op");
    assert_string_equal(r->why, "because");
    assert_non_null(rct_row(t, GW_RCL_INVITE, GW_RCK_NICK, "guest"));
    assert_int_equal(rct_list(t, "", GW_RCL_GBAN, 100), 1);
    assert_string_equal(t->rows[0].who, "spammer");
}

/* The schema of version 3, exactly as the engine of that version made a
 * new database (its schema texts in order), with an epoch, an event and
 * an account. */
static const char schema3_db_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE rooms(n INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,"
    " name TEXT NOT NULL, last INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events(k INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " type INTEGER NOT NULL, json TEXT NOT NULL, line TEXT NOT NULL, text TEXT);"
    "CREATE VIRTUAL TABLE events_fts USING fts5(text, content='events', content_rowid='k',"
    " tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER events_ad AFTER DELETE ON events WHEN old.text IS NOT NULL BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, text) VALUES ('delete', old.k, old.text); END;"
    "CREATE TABLE accounts(key TEXT PRIMARY KEY, nick TEXT NOT NULL, phc TEXT NOT NULL,"
    " roles INTEGER NOT NULL, generation INTEGER NOT NULL, created_ms INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE sessions(digest TEXT PRIMARY KEY, key TEXT NOT NULL,"
    " generation INTEGER NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_key ON sessions(key);"
    "CREATE INDEX sessions_expires ON sessions(expires_ms);"
    "ALTER TABLE accounts ADD COLUMN pm_top INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE account_rooms(key TEXT NOT NULL, room TEXT NOT NULL,"
    " read_id INTEGER NOT NULL, PRIMARY KEY(key, room)) WITHOUT ROWID;"
    "CREATE INDEX account_rooms_room ON account_rooms(room, key);"
    "CREATE TABLE account_pms(key TEXT NOT NULL, id INTEGER NOT NULL,"
    " time_ms INTEGER NOT NULL, peer TEXT NOT NULL, out INTEGER NOT NULL, text TEXT NOT NULL,"
    " UNIQUE(key, id));"
    "PRAGMA user_version = 3;"
    "INSERT INTO meta(key, value) VALUES ('epoch', '0123456789abcdef');"
    "INSERT INTO rooms(n, key, name, last) VALUES (1, '#lobby', '#Lobby', 7);"
    "INSERT INTO accounts VALUES ('alice', 'Alice', '$argon2id$x', 1, 3, 1000, 0);"
    "INSERT INTO account_rooms VALUES ('alice', '#lobby', 7);";

static void a_schema_3_database_gains_room_configs(void **state)
{
    struct fix *f = *state;
    sqlite3 *db = peek_db(f->dir);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema3_db_sql, NULL, NULL, NULL), SQLITE_OK);
    int64_t k = (INT64_C(1) << GW_SQLITE_ID_BITS) | 7;
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO events(k, time, type, json, line, text) VALUES"
             " (%lld, 1000, %d, '{\"id\":7}', 'alice: kept across\r\n', 'kept across');"
             "INSERT INTO events_fts(rowid, text) VALUES (%lld, 'kept across');",
             (long long)k, GW_EV_MESSAGE, (long long)k);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    open_ok(f);
    assert_int_equal(GW_SQLITE_SCHEMA, 4);
    assert_int_equal(peek_int(f->dir, "PRAGMA user_version"), 4);
    assert_int_equal(gw_sqlite_epoch(f->s), UINT64_C(0x0123456789abcdef));
    assert_int_equal(peek_int(f->dir, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                      "('room_cfg', 'room_entries')"),
                     2);
    /* What it had: its account, and its event by search. */
    struct gw_accounts ac;
    gw_sqlite_accounts(f->s, &f->acc_sink, &ac);
    assert_int_equal(ac.find(ac.ctx, 1, "alice"), GW_STORE_PENDING);
    for (int i = 0; i < 100 && f->acc_n == 0; i++) {
        gw_sqlite_wait(f->s, 100);
        assert_int_equal(gw_sqlite_flush(f->s), 0);
    }
    assert_int_equal(f->acc_status, GW_STORE_DONE);
    assert_string_equal(f->acc_nick, "Alice");
    struct gw_store st;
    gw_sqlite_store(f->s, &st);
    struct gw_store_read rd = {.kind = GW_STORE_SEARCH, .tag = 1, .room_key = "#lobby",
                               .limit = 10, .q = "across", .q_len = 6};
    assert_int_equal(st.read(st.ctx, &rd), GW_STORE_PENDING);
    for (int i = 0; i < 100 && f->rows_calls == 0; i++) {
        gw_sqlite_wait(f->s, 100);
        assert_int_equal(gw_sqlite_flush(f->s), 0);
    }
    assert_int_equal(f->rows_status, 0);
    assert_int_equal(f->rows_n, 1);
    /* What it gains, kept across a reopen. */
    struct rct *t = &f->t;
    assert_string_equal(rct_load(t, "#lobby", 0)->owner, "");
    rct_owner(t, "#lobby", "alice");
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory", 1, 0);
    rct_set(t, "#lobby", &e, GW_STORE_DONE);
    reopen(f);
    assert_string_equal(rct_load(t, "#lobby", 0)->owner, "alice");
    assert_int_equal(t->nrows, 1);
    /* The tool beside it takes it as its own schema. */
    gw_sqlite_close(f->s);
    f->s = NULL;
    struct gw_sqlite_opts o = {.dir = f->dir, .beside = 1};
    char err[GW_SQLITE_WHY_MAX_BYTES];
    assert_int_equal(gw_sqlite_open(&o, &f->sink, &f->s, err, sizeof err), 0);
}

/* GW_SQLITE_ROOMCFG_OPS_MAX calls waiting: one more is EBUSY, nothing
 * done; the flush answers them all and takes calls again. */
static void the_engines_bound(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    for (size_t i = 0; i < GW_SQLITE_ROOMCFG_OPS_MAX; i++)
        assert_int_equal(t->rc.topic_set(t->rc.ctx, i, "#a", "t", "b", (int64_t)i),
                         GW_STORE_PENDING);
    assert_int_equal(t->rc.topic_set(t->rc.ctx, 9999, "#a", "over", "b", 1), GW_STORE_EBUSY);
    assert_int_equal(t->rc.load(t->rc.ctx, 9999, "#a", 1), GW_STORE_EBUSY);
    /* Answers and notices: two a write. */
    t->n = 0;
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(t->n, 2 * GW_SQLITE_ROOMCFG_OPS_MAX);
    assert_null(rct_find(t, RCT_ANSWER, 9999));
    struct rct_got *g = rct_load(t, "#a", 1);
    assert_string_equal(g->topic, "t");
    assert_int_equal(g->topic_ms, GW_SQLITE_ROOMCFG_OPS_MAX - 1);
}

/* A room full to every bound, loaded on the loop: timed. */
static void a_full_room_loads_fast(void **state)
{
    struct fix *f = *state;
    struct rct *t = &f->t;
    char who[32];
    for (int l = 0; l < GW_RCL_GBAN; l++) {
        for (size_t i = 0; i < gw_roomcfg_list_max(l); i++) {
            snprintf(who, sizeof who, "u%05zu", i);
            struct gw_roomcfg_entry e = rct_entry(l, GW_RCK_ACCOUNT, who, 1, 0);
            char why[GW_ROOMCFG_WHY_MAX_BYTES + 1];
            memset(why, 'w', sizeof why - 1);
            why[sizeof why - 1] = '\0';
            e.why = why;
            assert_int_equal(t->rc.entry_set(t->rc.ctx, 1, "#full", &e), GW_STORE_PENDING);
        }
        t->n = 0;
        assert_int_equal(gw_sqlite_flush(f->s), 0);
    }
    struct timespec a, b;
    t->n = 0;
    assert_int_equal(t->rc.load(t->rc.ctx, 5, "#full", 2), GW_STORE_PENDING);
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    size_t all = 0;
    for (int l = 0; l < GW_RCL_GBAN; l++)
        all += gw_roomcfg_list_max(l);
    assert_int_equal(t->nrows, all);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    print_message("a load of %zu entries on the loop: %.2f ms\n", all, ms);
    /* Far above what it takes (a millisecond or two): only a load that
     * scans or sorts badly would come near. */
    assert_true(ms < 250.0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(sqlite_room),
        T(sqlite_entries),
        T(sqlite_expiry),
        T(sqlite_bounds),
        T(sqlite_einval),
        T(answers_from_the_flush_after_the_commit),
        T(two_for_the_last_place_in_one_batch),
        T(kept_across_a_reopen),
        cmocka_unit_test_setup_teardown(a_schema_3_database_gains_room_configs, setup_dir,
                                        teardown),
        T(the_engines_bound),
        T(a_full_room_loads_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
