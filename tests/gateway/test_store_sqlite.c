/*
 * test_store_sqlite.c - the SQLite store engine against real database files
 * in fresh temporary directories: what survives a reopen (and a kill -9),
 * the epoch, batching (one transaction, completions from flush only, per
 * room, in order), reads before and after an id, search (words, prefixes,
 * phrases, hostile input, the time bound), load's bounds, retention, and
 * the faults at open (a second gateway, a file in the way, a damaged or
 * newer database). Disk full and read-only mounts: test_store_faults.c.
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
#include <unistd.h>

#include <sqlite3.h>

#include "gw_json.h"
#include "gw_store.h"
#include "gw_store_sqlite.h"

#define DAY_MS INT64_C(86400000)
#define NOW_MS INT64_C(1764000000000) /* a wall clock for the tests: Nov 2025 */

/* ---- what the sink was told ---- */

struct done_call {
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    uint64_t id;
    int status;
};

#define REC_DONE_MAX 64
#define REC_JSON_MAX 512

struct rec {
    struct done_call done[REC_DONE_MAX];
    size_t ndone;
    int rows_calls;
    int status;
    size_t n;
    int more;
    uint64_t ids[GW_STORE_READ_MAX];
    char json[GW_STORE_READ_MAX][REC_JSON_MAX];
    /* Appended from inside done, once, to this room (when set). */
    const char *echo_room;
};

/* What load gives (the struct below), from load_async's answer. */
struct loaded;

struct fix {
    char dir[64];
    struct gw_sqlite *s;
    struct gw_store st;
    struct rec rec;
    struct gw_store_sink sink;
    struct loaded *later;     /* load_async's answer goes here */
    int later_calls, later_status;
    uint64_t later_last;
    char later_key[GW_SQLITE_KEY_MAX_BYTES + 1];
};

static int add(struct fix *f, const char *room, uint64_t id, int64_t t, const char *text);
static void on_loaded(void *ctx, const char *key, int status, uint64_t last_id,
                      const struct gw_store_event *ev, size_t n);

static void on_done(void *ctx, const char *key, uint64_t id, int status)
{
    struct fix *f = ctx;
    struct rec *r = &f->rec;
    assert_true(r->ndone < REC_DONE_MAX);
    struct done_call *d = &r->done[r->ndone++];
    snprintf(d->key, sizeof d->key, "%s", key);
    d->id = id;
    d->status = status;
    if (r->echo_room) {
        const char *room = r->echo_room;
        r->echo_room = NULL;
        assert_int_equal(add(f, room, 1, NOW_MS, "echo"), GW_STORE_PENDING);
    }
}

static void on_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    struct fix *f = ctx;
    struct rec *r = &f->rec;
    (void)tag;
    r->rows_calls++;
    r->status = status;
    r->n = n;
    r->more = more;
    for (size_t i = 0; i < n; i++) {
        r->ids[i] = ev[i].id;
        assert_true(ev[i].json_len < REC_JSON_MAX);
        memcpy(r->json[i], ev[i].json, ev[i].json_len);
        r->json[i][ev[i].json_len] = '\0';
    }
}

/* ---- a fresh directory per test ---- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/wt-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->sink.ctx = f;
    f->sink.done = on_done;
    f->sink.rows = on_rows;
    f->sink.loaded = on_loaded;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_sqlite_close(f->s);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static int64_t fake_now_us;
/* A clock that moves one millisecond each time it is read. */
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_us += 1000;
}

static int open_opts(struct fix *f, const char *dir, const struct gw_sqlite_opts *o0, char *err,
                     size_t errlen)
{
    struct gw_sqlite_opts o = o0 ? *o0 : (struct gw_sqlite_opts){0};
    o.dir = dir;
    return gw_sqlite_open(&o, &f->sink, &f->s, err, errlen);
}

static void open_ok(struct fix *f, const struct gw_sqlite_opts *o)
{
    char err[GW_SQLITE_WHY_MAX_BYTES];
    int rc = open_opts(f, f->dir, o, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", f->dir, rc, err);
    gw_sqlite_store(f->s, &f->st);
    assert_string_equal(f->st.kind, "sqlite");
}

static void reopen(struct fix *f, const struct gw_sqlite_opts *o)
{
    gw_sqlite_close(f->s);
    f->s = NULL;
    open_ok(f, o);
}

/* ---- events ---- */

static int add(struct fix *f, const char *room, uint64_t id, int64_t t, const char *text)
{
    char json[REC_JSON_MAX], line[REC_JSON_MAX];
    snprintf(json, sizeof json, "{\"type\":\"message\",\"room\":\"%s\",\"id\":%llu,\"text\":\"%s\"}",
             room, (unsigned long long)id, text);
    snprintf(line, sizeof line, "alice: %s", text);
    struct gw_store_event ev = {
        .id = id, .time_ms = t, .type = GW_EV_MESSAGE,
        .json = json, .json_len = strlen(json),
        .line = line, .line_len = strlen(line),
        .text = text, .text_len = strlen(text),
    };
    return f->st.append(f->st.ctx, room, room, &ev);
}

static void add_ok(struct fix *f, const char *room, uint64_t id, int64_t t, const char *text)
{
    assert_int_equal(add(f, room, id, t, text), GW_STORE_PENDING);
}

/* Events from..to of room, each "word<id> common", at time t. */
static void add_range(struct fix *f, const char *room, uint64_t from, uint64_t to, int64_t t)
{
    char text[64];
    for (uint64_t id = from; id <= to; id++) {
        snprintf(text, sizeof text, "word%llu common", (unsigned long long)id);
        add_ok(f, room, id, t, text);
    }
}

static void flush_ok(struct fix *f)
{
    assert_int_equal(gw_sqlite_flush(f->s), 0);
}

/* Flush until the read handed over is answered by a reader (a few
 * seconds at most, for a loaded machine). */
static void answer_wait(struct fix *f)
{
    f->rec.rows_calls = 0;
    flush_ok(f);
    for (int i = 0; i < 100 && f->rec.rows_calls == 0; i++) {
        gw_sqlite_wait(f->s, 100);
        flush_ok(f);
    }
}

/* One read, answered by a reader after the next flush: the rows land in
 * f->rec. */
static void do_read(struct fix *f, enum gw_store_read_kind kind, const char *room, uint64_t id,
                    unsigned limit, const char *q)
{
    struct gw_store_read rd = {
        .kind = kind, .tag = 7, .room_key = room, .id = id, .limit = limit,
        .q = q, .q_len = q ? strlen(q) : 0,
    };
    assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_PENDING);
    f->rec.rows_calls = 0;
    answer_wait(f);
    assert_int_equal(f->rec.rows_calls, 1);
}

/* The ids of a read that must succeed, as "1,2,3" (more: "+" at the end). */
static const char *read_ids(struct fix *f, enum gw_store_read_kind kind, const char *room,
                            uint64_t id, unsigned limit, const char *q)
{
    static char out[8192];
    do_read(f, kind, room, id, limit, q);
    assert_int_equal(f->rec.status, 0);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->rec.n; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%llu", i ? "," : "",
                              (unsigned long long)f->rec.ids[i]);
    if (f->rec.more)
        snprintf(out + o, sizeof out - o, "+");
    return out;
}

/* What load gives. */
struct loaded {
    size_t n;
    uint64_t ids[64];
    size_t bytes;
};

static void on_each(void *arg, const struct gw_store_event *ev)
{
    struct loaded *l = arg;
    assert_true(l->n < 64);
    l->ids[l->n++] = ev->id;
    l->bytes += ev->json_len;
    assert_non_null(memchr(ev->json, '{', ev->json_len));
}

static void on_loaded(void *ctx, const char *key, int status, uint64_t last_id,
                      const struct gw_store_event *ev, size_t n)
{
    struct fix *f = ctx;
    f->later_calls++;
    f->later_status = status;
    f->later_last = last_id;
    snprintf(f->later_key, sizeof f->later_key, "%s", key);
    for (size_t i = 0; i < n; i++)
        on_each(f->later, &ev[i]);
}

/* load_async, then flushes until its answer is in *l. */
static void load_later(struct fix *f, const char *room, size_t max_events, size_t max_bytes,
                       struct loaded *l)
{
    memset(l, 0, sizeof *l);
    f->later = l;
    f->later_calls = 0;
    assert_int_equal(f->st.load_async(f->st.ctx, room, max_events, max_bytes), GW_STORE_PENDING);
    for (int i = 0; i < 100 && f->later_calls == 0; i++) {
        flush_ok(f);
        if (f->later_calls == 0)
            gw_sqlite_wait(f->s, 100);
    }
    assert_int_equal(f->later_calls, 1);
    assert_int_equal(f->later_status, 0);
    assert_string_equal(f->later_key, room);
}

/* A second connection of the test's own to the database file. */
static sqlite3 *peek_db(struct fix *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", f->dir, GW_SQLITE_DB_NAME);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static int64_t peek_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void peek_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* The database is sound, and so is its full-text index. */
static void check_integrity(struct fix *f)
{
    sqlite3 *db = peek_db(f);
    char ok[64];
    peek_text(db, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(sqlite3_exec(db, "INSERT INTO events_fts(events_fts) VALUES('integrity-check')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

/* ---- tests ---- */

static void reopen_keeps_events_last_id_and_epoch(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    const char *why = "x";
    assert_int_equal(gw_sqlite_healthy(f->s, &why), 1);
    assert_string_equal(why, "");
    uint64_t epoch = gw_sqlite_epoch(f->s);
    assert_true(epoch != 0);
    add_ok(f, "#a", 1, NOW_MS, "one");
    add_ok(f, "#b", 1, NOW_MS, "uno");
    add_ok(f, "#a", 2, NOW_MS, "two");
    add_ok(f, "#a", 3, NOW_MS, "three");
    flush_ok(f);
    reopen(f, NULL);
    assert_true(gw_sqlite_epoch(f->s) == epoch);

    struct loaded l = {0};
    uint64_t last = 99;
    assert_int_equal(f->st.load(f->st.ctx, "#a", 10, 1 << 20, &last, on_each, &l), 0);
    assert_int_equal(last, 3);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.ids[0], 1);
    assert_int_equal(l.ids[2], 3);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 10, NULL), "1,2,3");
    assert_string_equal(f->rec.json[1], "{\"type\":\"message\",\"room\":\"#a\",\"id\":2,\"text\":\"two\"}");
    assert_int_equal(f->st.load(f->st.ctx, "#b", 10, 1 << 20, &last, NULL, NULL), 0);
    assert_int_equal(last, 1);
    /* A room never seen: nothing, and no error. */
    assert_int_equal(f->st.load(f->st.ctx, "#nowhere", 10, 1 << 20, &last, on_each, &l), 0);
    assert_int_equal(last, 0);
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#nowhere", 0, 10, NULL), "");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#nowhere", 0, 10, "one"), "");

    /* WAL, as set at open, is the file's own journal mode now. */
    sqlite3 *db = peek_db(f);
    char mode[16];
    peek_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(peek_int(db, "PRAGMA user_version"), GW_SQLITE_SCHEMA);
    sqlite3_close(db);
}

static void new_directory_new_epoch(void **state)
{
    struct fix *f = *state;
    char sub[96];
    snprintf(sub, sizeof sub, "%s/data/deeper", f->dir);
    char err[GW_SQLITE_WHY_MAX_BYTES];
    assert_int_equal(open_opts(f, sub, NULL, err, sizeof err), 0);
    struct stat sb;
    assert_int_equal(stat(sub, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    uint64_t e1 = gw_sqlite_epoch(f->s);
    gw_sqlite_close(f->s);
    f->s = NULL;
    rm_tree(sub); /* a deleted data directory */
    assert_int_equal(open_opts(f, sub, NULL, err, sizeof err), 0);
    uint64_t e2 = gw_sqlite_epoch(f->s);
    assert_true(e1 != 0 && e2 != 0);
    assert_true(e1 != e2);
}

static void batch_is_one_transaction_and_done_comes_from_flush(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    struct gw_sqlite_stats st0, st1;
    gw_sqlite_stats(f->s, &st0);
    /* Three rooms, interleaved; #b first. */
    for (uint64_t id = 1; id <= 30; id++) {
        add_ok(f, "#b", id, NOW_MS, "b");
        add_ok(f, "#a", id, NOW_MS, "a");
        if (id <= 10)
            add_ok(f, "#c", id, NOW_MS, "c");
    }
    assert_int_equal(f->rec.ndone, 0);
    gw_sqlite_stats(f->s, &st1);
    assert_int_equal(st1.commits, st0.commits);
    assert_int_equal(st1.pending, 70);
    assert_int_equal(gw_sqlite_busy(f->s), 1);
    flush_ok(f);
    gw_sqlite_stats(f->s, &st1);
    assert_int_equal(st1.commits, st0.commits + 1);
    assert_int_equal(st1.batches, st0.batches + 1);
    assert_int_equal(st1.events_stored, 70);
    assert_int_equal(st1.pending, 0);
    assert_int_equal(f->rec.ndone, 3);
    assert_string_equal(f->rec.done[0].key, "#b");
    assert_int_equal(f->rec.done[0].id, 30);
    assert_string_equal(f->rec.done[1].key, "#a");
    assert_int_equal(f->rec.done[1].id, 30);
    assert_string_equal(f->rec.done[2].key, "#c");
    assert_int_equal(f->rec.done[2].id, 10);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(f->rec.done[i].status, GW_STORE_DONE);
    assert_int_equal(gw_sqlite_busy(f->s), 0);

    /* More than a batch holds: the full batch commits inside append, and
     * still nobody is told until the flush. */
    f->rec.ndone = 0;
    gw_sqlite_stats(f->s, &st0);
    add_range(f, "#a", 31, 30 + GW_SQLITE_BATCH_MAX_EVENTS + 5, NOW_MS);
    add_ok(f, "#d", 1, NOW_MS, "d");
    gw_sqlite_stats(f->s, &st1);
    assert_int_equal(st1.commits, st0.commits + 1);
    assert_int_equal(f->rec.ndone, 0);
    flush_ok(f);
    gw_sqlite_stats(f->s, &st1);
    assert_int_equal(st1.commits, st0.commits + 2);
    /* #a's two batches say the same: one completion up to its last id. */
    assert_int_equal(f->rec.ndone, 2);
    assert_string_equal(f->rec.done[0].key, "#a");
    assert_int_equal(f->rec.done[0].id, 30 + GW_SQLITE_BATCH_MAX_EVENTS + 5);
    assert_string_equal(f->rec.done[1].key, "#d");
    assert_int_equal(f->rec.done[1].id, 1);

    /* The sink may append from done: that goes to the next batch. */
    f->rec.ndone = 0;
    f->rec.echo_room = "#echo";
    add_ok(f, "#d", 2, NOW_MS, "d");
    flush_ok(f);
    assert_int_equal(f->rec.ndone, 1);
    assert_int_equal(gw_sqlite_busy(f->s), 1);
    flush_ok(f);
    assert_int_equal(f->rec.ndone, 2);
    assert_string_equal(f->rec.done[1].key, "#echo");
    assert_int_equal(f->rec.done[1].status, GW_STORE_DONE);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#echo", 0, 5, NULL), "1");
}

/* The full-text index's segments (FTS5 keeps a segment's pages under ids
 * whose bits from 37 up are the segment's number; ids up to 10 are its
 * own records). */
static int64_t fts_segments(struct fix *f)
{
    sqlite3 *db = peek_db(f);
    int64_t n = peek_int(db, "SELECT count(DISTINCT id >> 37) FROM events_fts_data WHERE id > 10");
    sqlite3_close(db);
    return n;
}

static void a_batch_writes_one_index_segment(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    /* Rooms interleaved, as a busy turn of the loop has them. */
    for (uint64_t id = 1; id <= 100; id++) {
        add_ok(f, "#b", id, NOW_MS, "the build is green again");
        add_ok(f, "#a", id, NOW_MS, "who broke the build");
    }
    flush_ok(f);
    assert_int_equal(fts_segments(f), 1);
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 2, "broke"), "100,99+");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#b", 0, 2, "green"), "100,99+");
}

static void the_wal_is_checkpointed_off_the_loop(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", f->dir, GW_SQLITE_DB_NAME);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    off_t before = sb.st_size;
    /* More than GW_SQLITE_CHECKPOINT_PAGES of WAL. */
    char text[1024];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    for (uint64_t id = 1; id <= 6000; id++) {
        text[id % 1000] = (char)('a' + id % 26);
        add_ok(f, "#a", id, NOW_MS, text);
        if (id % 500 == 0)
            flush_ok(f);
    }
    /* The checkpoint thread copies the pages into the database file; the
     * loop never does (SQLite's own checkpoint at commit is off). Waits
     * at most 10 s for the thread. */
    struct gw_sqlite_stats st;
    for (int i = 0; i < 1000; i++) {
        gw_sqlite_stats(f->s, &st);
        if (st.checkpoints > 0)
            break;
        usleep(10000);
    }
    assert_true(st.checkpoints > 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > before); /* pages copied out of the WAL */
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 0, 2, NULL), "6000,5999+");
}

static void before_pages_through_5000_events(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    for (uint64_t id = 1; id <= 5000; id++) {
        char text[32];
        snprintf(text, sizeof text, "n%llu", (unsigned long long)id);
        add_ok(f, "#a", id, NOW_MS, text);
        if (id % 7 == 0)
            add_ok(f, "#b", id / 7, NOW_MS, "other room");
    }
    flush_ok(f);
    /* From the newest back to the first, 97 at a time: every id once, in
     * order, and more until the last page. */
    uint64_t want = 5000, before = 0;
    int pages = 0;
    for (;;) {
        do_read(f, GW_STORE_BEFORE, "#a", before, 97, NULL);
        assert_int_equal(f->rec.status, 0);
        pages++;
        for (size_t i = 0; i < f->rec.n; i++)
            assert_int_equal(f->rec.ids[i], want--);
        if (!f->rec.more)
            break;
        assert_int_equal(f->rec.n, 97);
        before = f->rec.ids[f->rec.n - 1];
    }
    assert_int_equal(want, 0);
    assert_int_equal(pages, (5000 + 96) / 97);
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 4, 10, NULL), "3,2,1");
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 1, 10, NULL), "");
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 0, 2, NULL), "5000,4999+");
    assert_int_equal(f->rec.n, 2);
    /* The whole answer at its bound. */
    do_read(f, GW_STORE_BEFORE, "#a", 0, GW_STORE_READ_MAX, NULL);
    assert_int_equal(f->rec.n, GW_STORE_READ_MAX);
    assert_int_equal(f->rec.ids[GW_STORE_READ_MAX - 1], 5000 - GW_STORE_READ_MAX + 1);
}

static void after_reads_oldest_first(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    add_range(f, "#a", 1, 20, NOW_MS);
    add_range(f, "#b", 1, 3, NOW_MS);
    /* Read in the same turn as the appends: the flush commits first. */
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 10, 5, NULL), "11,12,13,14,15+");
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 15, 5, NULL), "16,17,18,19,20");
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 20, 5, NULL), "");
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 3, NULL), "1,2,3+");
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#b", 0, 5, NULL), "1,2,3");
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", UINT64_MAX, 5, NULL), "");
    /* Bad reads are refused at once. */
    struct gw_store_read rd = {.kind = GW_STORE_AFTER, .room_key = "#a", .limit = 0};
    assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_EINVAL);
    rd.limit = GW_STORE_READ_MAX + 1;
    assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_EINVAL);
    rd.limit = 1;
    rd.room_key = NULL;
    assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_EINVAL);
}

static void fts_query_is_never_user_syntax(void **state)
{
    (void)state;
    char out[GW_SQLITE_FTS_MAX_BYTES];
    struct {
        const char *in, *out;
        int terms;
    } cases[] = {
        {"hello world", "\"hello\" \"world\"", 2},
        {"pref*", "\"pref\"*", 1},
        /* Prefixes FTS5 would take long to gather are whole words. */
        {"t* th* thé* the*", "\"t\" \"th\" \"thé\"* \"the\"*", 4},
        {"abc* abd* abe*", "\"abc\"* \"abd\"* \"abe\"", 3},
        {"\"quick brown\" fox", "\"quick brown\" \"fox\"", 2},
        {"a AND b", "\"a\" \"AND\" \"b\"", 3},
        {"NEAR(a b)", "\"NEAR(a\" \"b)\"", 2},
        {"text:fox", "\"text:fox\"", 1},
        {"\"open phrase", "\"open phrase\"", 1},
        {"* - ( fox", "\"fox\"", 1},
        {"ab\"cd ef\"gh", "\"ab\" \"cd ef\" \"gh\"", 3},
        {"qué tal", "\"qué\" \"tal\"", 2},
        {"a b c d e f g h i j k l m n o p q r s", "\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" "
         "\"h\" \"i\" \"j\" \"k\" \"l\" \"m\" \"n\" \"o\" \"p\"", 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int n = gw_sqlite_fts_query(cases[i].in, strlen(cases[i].in), out, sizeof out);
        assert_int_equal(n, cases[i].terms);
        assert_string_equal(out, cases[i].out);
    }
    assert_int_equal(gw_sqlite_fts_query("* - \"", 5, out, sizeof out), GW_STORE_EINVAL);
    assert_int_equal(gw_sqlite_fts_query("hello", 5, out, 6), GW_STORE_EINVAL);
    /* The longest words fit the named bound. */
    char q[GW_STORE_QUERY_MAX_BYTES];
    for (size_t i = 0; i < sizeof q; i++)
        q[i] = (i % 16 == 15) ? ' ' : 'x';
    assert_true(gw_sqlite_fts_query(q, sizeof q, out, sizeof out) == 16);
}

static void search_words_prefixes_phrases_and_hostile_input(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    add_ok(f, "#a", 1, NOW_MS, "the quick brown fox");
    add_ok(f, "#a", 2, NOW_MS, "qué tal amigo");
    add_ok(f, "#a", 3, NOW_MS, "prefixes are testing things");
    add_ok(f, "#a", 4, NOW_MS, "and near text or not");
    add_ok(f, "#b", 1, NOW_MS, "the quick brown fox in another room");
    /* A join has no words to search. */
    struct gw_store_event join = {.id = 5, .time_ms = NOW_MS, .type = GW_EV_JOIN,
                                  .json = "{\"type\":\"join\"}", .json_len = 15,
                                  .line = "* fox joined", .line_len = 12};
    assert_int_equal(f->st.append(f->st.ctx, "#a", "#A", &join), GW_STORE_PENDING);
    flush_ok(f);

    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "fox"), "1");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "FOX brown"), "1");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "fox amigo"), "");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "pref*"), "3");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "pref"), "");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "\"quick brown\""), "1");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "\"brown quick\""), "");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, "que"), "2");
    /* Operators and column filters are words like any other: they find
     * the message that has them, and nothing else. */
    const char *literal[] = {"AND", "and NEAR", "NEAR(", "NEAR(text", "text:", "near:text",
                             "OR not", "{near}:text", "\"and near", "^and", "and*", "+near",
                             "near -text"};
    for (size_t i = 0; i < sizeof literal / sizeof *literal; i++) {
        const char *got = read_ids(f, GW_STORE_SEARCH, "#a", 0, 10, literal[i]);
        if (strcmp(got, "4") != 0)
            fail_msg("search %s: got [%s], want [4]", literal[i], got);
    }
    const char *nothing[] = {"fox AND amigo", "fox OR amigo", "NEAR(fox amigo)", "fox NOT brown",
                             "col:fox", "fox\"", "(fox", "fox)", "fox *", "fox ** brown"};
    for (size_t i = 0; i < sizeof nothing / sizeof *nothing; i++) {
        do_read(f, GW_STORE_SEARCH, "#a", 0, 10, nothing[i]);
        assert_int_equal(f->rec.status, 0); /* never an FTS5 syntax error */
    }
    /* Words with no letter or digit are refused at once, clearly. */
    const char *empty[] = {"\"", "*", "\"\"", "-", "NEAR( \""};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        struct gw_store_read rd = {.kind = GW_STORE_SEARCH, .room_key = "#a", .limit = 5,
                                   .q = empty[i], .q_len = strlen(empty[i])};
        int rc = f->st.read(f->st.ctx, &rd);
        if (strcmp(empty[i], "NEAR( \"") == 0) {
            assert_int_equal(rc, GW_STORE_PENDING); /* "NEAR(" is a word */
            answer_wait(f);
            assert_int_equal(f->rec.rows_calls, 1);
            assert_int_equal(f->rec.status, 0);
        } else {
            assert_int_equal(rc, GW_STORE_EINVAL);
        }
    }
}

static void search_newest_first_pages_and_time_bound(void **state)
{
    struct fix *f = *state;
    struct gw_sqlite_opts o = {.search_ms = 3, .clock_us = fake_clock};
    open_ok(f, &o);
    add_range(f, "#a", 1, 3000, NOW_MS);
    flush_ok(f);
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 2, "common"), "3000,2999+");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 2999, 2, "common"), "2998,2997+");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 3, 5, "common"), "2,1");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 5, "word1234"), "1234");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 5, "word123*"),
                        "1239,1238,1237,1236,1235+");
    /* 500 rows take more than 3 (fake) ms of the clock that moves 1 ms
     * per look: the search stops, busy. */
    struct gw_sqlite_stats st;
    do_read(f, GW_STORE_SEARCH, "#a", 0, GW_STORE_READ_MAX, "common");
    assert_int_equal(f->rec.status, GW_STORE_EBUSY);
    assert_int_equal(f->rec.n, 0);
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.search_timeouts, 1);
    /* And the store carries on. */
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 1, "common"), "3000+");
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 0, 1, NULL), "3000+");
}

static void load_is_bounded_and_includes_the_batch(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    add_range(f, "#a", 1, 50, NOW_MS);
    flush_ok(f);
    f->rec.ndone = 0;
    struct loaded l = {0};
    uint64_t last = 0;
    assert_int_equal(f->st.load(f->st.ctx, "#a", 10, 1 << 20, &last, on_each, &l), 0);
    assert_int_equal(last, 50);
    assert_int_equal(l.n, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(l.ids[i], 41 + i);
    /* By bytes: each JSON here is as long as the last's (ids 10..50 have
     * two digits), so 3.5 of them fit 3. */
    size_t one = l.bytes / 10;
    memset(&l, 0, sizeof l);
    assert_int_equal(f->st.load(f->st.ctx, "#a", 10, one * 7 / 2, &last, on_each, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.ids[0], 48);
    assert_int_equal(l.ids[2], 50);
    assert_true(l.bytes <= one * 7 / 2);
    memset(&l, 0, sizeof l);
    assert_int_equal(f->st.load(f->st.ctx, "#a", 10, one - 1, &last, on_each, &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(last, 50);
    /* Events still in the batch are in it; the completion still waits
     * for the flush. */
    add_ok(f, "#a", 51, NOW_MS, "fresh");
    memset(&l, 0, sizeof l);
    assert_int_equal(f->st.load(f->st.ctx, "#a", 2, 1 << 20, &last, on_each, &l), 0);
    assert_int_equal(last, 51);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[1], 51);
    assert_int_equal(f->rec.ndone, 0);
    flush_ok(f);
    assert_int_equal(f->rec.ndone, 1);
    assert_int_equal(f->rec.done[0].id, 51);
    assert_int_equal(f->rec.done[0].status, GW_STORE_DONE);
}

static void load_async_answers_what_load_gives_from_a_reader(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    add_range(f, "#a", 1, 50, NOW_MS);
    flush_ok(f);
    f->rec.ndone = 0;
    struct loaded l;
    load_later(f, "#a", 10, 1 << 20, &l);
    assert_int_equal(f->later_last, 50);
    assert_int_equal(l.n, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(l.ids[i], 41 + i);
    size_t one = l.bytes / 10;
    load_later(f, "#a", 10, one * 7 / 2, &l);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.ids[0], 48);
    assert_int_equal(l.ids[2], 50);
    load_later(f, "#a", 10, one - 1, &l);
    assert_int_equal(l.n, 0);
    assert_int_equal(f->later_last, 50);
    /* Events still in the batch are committed first and in it; their
     * completion is reported before the load's answer. */
    add_ok(f, "#a", 51, NOW_MS, "fresh");
    load_later(f, "#a", 2, 1 << 20, &l);
    assert_int_equal(f->later_last, 51);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[1], 51);
    assert_int_equal(f->rec.ndone, 1);
    assert_int_equal(f->rec.done[0].id, 51);
    /* A room never seen: empty, id 0. */
    load_later(f, "#nowhere", 10, 1 << 20, &l);
    assert_int_equal(l.n, 0);
    assert_int_equal(f->later_last, 0);
}

static void close_joins_the_readers_with_reads_under_way(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    add_range(f, "#a", 1, 3000, NOW_MS);
    flush_ok(f);
    /* Reads handed to the readers, answers left unreported, more queued
     * for a flush that never comes: close drops them and joins. */
    for (int i = 0; i < 40; i++) {
        struct gw_store_read rd = {.kind = GW_STORE_SEARCH, .tag = (uint64_t)i, .room_key = "#a",
                                   .limit = GW_STORE_READ_MAX, .q = "common", .q_len = 6};
        assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_PENDING);
        if (i == 20)
            flush_ok(f);
    }
    f->rec.rows_calls = 0;
    gw_sqlite_close(f->s);
    f->s = NULL;
    assert_int_equal(f->rec.rows_calls, 0); /* nobody is told any more */
    /* The database is as it was. */
    open_ok(f, NULL);
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 0, 1, NULL), "3000+");
}

/* Retention passes until one deletes nothing; each deletes at most its
 * bound. Returns the number of passes that deleted something. */
static int retain_all(struct fix *f)
{
    struct gw_sqlite_stats st;
    gw_sqlite_stats(f->s, &st);
    for (int passes = 0; passes < 100; passes++) {
        uint64_t before = st.events_deleted;
        gw_sqlite_maintain(f->s, NOW_MS);
        gw_sqlite_stats(f->s, &st);
        assert_true(st.events_deleted - before <= GW_SQLITE_RETAIN_ROWS_MAX);
        if (st.events_deleted == before)
            return passes;
    }
    fail_msg("retention does not end");
    return -1;
}

static void retention_by_days_in_bounded_steps(void **state)
{
    struct fix *f = *state;
    struct gw_sqlite_opts o = {.history_days = 1};
    open_ok(f, &o);
    add_range(f, "#a", 1, 2500, NOW_MS - 3 * DAY_MS);
    add_range(f, "#a", 2501, 2600, NOW_MS - DAY_MS / 2);
    add_range(f, "#b", 1, 10, NOW_MS - 3 * DAY_MS);
    flush_ok(f);
    struct gw_sqlite_stats st;
    gw_sqlite_maintain(f->s, NOW_MS);
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.events_deleted, GW_SQLITE_RETAIN_ROWS_MAX);
    char first[32];
    snprintf(first, sizeof first, "%u+", GW_SQLITE_RETAIN_ROWS_MAX + 1);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 1, NULL), first);
    /* The other 2010, in passes of at most the bound each. */
    assert_true(retain_all(f) >= (int)((2010 + GW_SQLITE_RETAIN_ROWS_MAX - 1) / GW_SQLITE_RETAIN_ROWS_MAX));
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 1, NULL), "2501+");
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#b", 0, 1, NULL), "");
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.events_deleted, 2510);
    /* The index forgets them too; the last id stays. */
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 5, "word7"), "");
    assert_string_equal(read_ids(f, GW_STORE_SEARCH, "#a", 0, 5, "word2600"), "2600");
    uint64_t last = 0;
    assert_int_equal(f->st.load(f->st.ctx, "#b", 5, 1 << 20, &last, NULL, NULL), 0);
    assert_int_equal(last, 10);
    /* Nothing more is old: a pass deletes nothing. */
    gw_sqlite_maintain(f->s, NOW_MS);
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.events_deleted, 2510);
    gw_sqlite_close(f->s);
    f->s = NULL;
    check_integrity(f);
}

static void retention_by_count_keeps_the_newest(void **state)
{
    struct fix *f = *state;
    struct gw_sqlite_opts o = {.history_max = 100};
    open_ok(f, &o);
    add_range(f, "#a", 1, 300, NOW_MS);
    add_range(f, "#b", 1, 50, NOW_MS);
    add_range(f, "#c", 1, 1500, NOW_MS);
    flush_ok(f);
    assert_true(retain_all(f) >= (int)((1600 + GW_SQLITE_RETAIN_ROWS_MAX - 1) / GW_SQLITE_RETAIN_ROWS_MAX));
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 2, NULL), "201,202+");
    do_read(f, GW_STORE_AFTER, "#a", 0, GW_STORE_READ_MAX, NULL);
    assert_int_equal(f->rec.n, 100);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#b", 0, 1, NULL), "1+");
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#c", 0, 1, NULL), "1401+");
    struct gw_sqlite_stats st;
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.events_deleted, 200 + 1400);
    /* A room that goes on past the bound is trimmed again. */
    add_range(f, "#a", 301, 310, NOW_MS);
    flush_ok(f);
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 1, NULL), "211+");
    gw_sqlite_close(f->s);
    f->s = NULL;
    check_integrity(f);
}

static void second_gateway_on_the_same_directory_is_refused(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    struct fix g = {.sink = f->sink};
    char err[GW_SQLITE_WHY_MAX_BYTES];
    int rc = open_opts(&g, f->dir, NULL, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ELOCKED);
    assert_null(g.s);
    assert_int_equal(gw_sqlite_exit_status(rc), 75);
    assert_non_null(strstr(err, "another gateway uses the data directory"));
    assert_non_null(strstr(err, f->dir));
    /* Another process, as a second gateway is. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct gw_sqlite *s = NULL;
        struct gw_sqlite_opts o = {.dir = f->dir};
        _exit(gw_sqlite_exit_status(gw_sqlite_open(&o, &f->sink, &s, NULL, 0)));
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 75);
    /* Once closed, the directory is free again. */
    reopen(f, NULL);
}

static void directory_that_is_a_file_cannot_be_created(void **state)
{
    struct fix *f = *state;
    char file[96], under[128];
    snprintf(file, sizeof file, "%s/plain", f->dir);
    snprintf(under, sizeof under, "%s/sub", file);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    const char *dirs[] = {file, under};
    for (size_t i = 0; i < 2; i++) {
        char err[GW_SQLITE_WHY_MAX_BYTES];
        int rc = open_opts(f, dirs[i], NULL, err, sizeof err);
        assert_int_equal(rc, GW_SQLITE_ECREATE);
        assert_int_equal(gw_sqlite_exit_status(rc), 73);
        assert_non_null(strstr(err, "cannot create the data directory"));
        assert_non_null(strstr(err, dirs[i]));
        assert_non_null(strstr(err, "Not a directory"));
    }
    char err[64];
    struct gw_sqlite_opts o = {0};
    assert_int_equal(gw_sqlite_open(&o, &f->sink, &f->s, err, sizeof err), GW_SQLITE_EINVAL);
    assert_int_equal(gw_sqlite_exit_status(GW_SQLITE_EINVAL), 64);
}

static void damaged_or_newer_database_is_refused(void **state)
{
    struct fix *f = *state;
    char path[128], err[GW_SQLITE_WHY_MAX_BYTES];
    snprintf(path, sizeof path, "%s/%s", f->dir, GW_SQLITE_DB_NAME);
    /* Garbage where the database should be. */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc("garbage!"[i % 8], fp);
    fclose(fp);
    int rc = open_opts(f, f->dir, NULL, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ECORRUPT);
    assert_int_equal(gw_sqlite_exit_status(rc), 65);
    assert_non_null(strstr(err, "file is not a database"));
    assert_non_null(strstr(err, path));
    /* A database of a newer schema. */
    remove(path);
    open_ok(f, NULL);
    gw_sqlite_close(f->s);
    f->s = NULL;
    sqlite3 *db = peek_db(f);
    char newer[48];
    snprintf(newer, sizeof newer, "PRAGMA user_version = %d", GW_SQLITE_SCHEMA + 1);
    assert_int_equal(sqlite3_exec(db, newer, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    rc = open_opts(f, f->dir, NULL, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ESCHEMA);
    assert_int_equal(gw_sqlite_exit_status(rc), 65);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, path));
    /* Somebody else's database. */
    remove(path);
    db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    rc = open_opts(f, f->dir, NULL, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ESCHEMA);
    assert_non_null(strstr(err, "not a wintalk-gateway database"));
}

static void a_flushed_batch_survives_kill_9(void **state)
{
    struct fix *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        open_ok(f, NULL);
        add_range(f, "#a", 1, 40, NOW_MS);
        if (gw_sqlite_flush(f->s) != 0)
            _exit(1);
        add_ok(f, "#a", 41, NOW_MS, "never flushed");
        raise(SIGKILL);
        _exit(2);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFSIGNALED(ws));
    assert_int_equal(WTERMSIG(ws), SIGKILL);
    open_ok(f, NULL);
    uint64_t last = 0;
    assert_int_equal(f->st.load(f->st.ctx, "#a", 5, 1 << 20, &last, NULL, NULL), 0);
    assert_int_equal(last, 40);
    assert_string_equal(read_ids(f, GW_STORE_BEFORE, "#a", 0, 2, NULL), "40,39+");
    gw_sqlite_close(f->s);
    f->s = NULL;
    check_integrity(f);
}

static void bad_appends_are_refused_and_stats_add_up(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    assert_int_equal(add(f, "#a", 0, NOW_MS, "zero"), GW_STORE_EINVAL);
    assert_int_equal(add(f, "#a", GW_SQLITE_ID_MAX + 1, NOW_MS, "big"), GW_STORE_EINVAL);
    assert_int_equal(add(f, "#a-room-name-longer-than-33-bytes!!", 1, NOW_MS, "x"), GW_STORE_EINVAL);
    assert_int_equal(add(f, "", 1, NOW_MS, "x"), GW_STORE_EINVAL);
    struct gw_store_event big = {.id = 1, .json = "{}", .json_len = GW_SQLITE_EVENT_MAX_BYTES + 1};
    assert_int_equal(f->st.append(f->st.ctx, "#a", "#a", &big), GW_STORE_EINVAL);
    add_ok(f, "#a", GW_SQLITE_ID_MAX, NOW_MS, "the last id there is");
    add_ok(f, "#a", 1, NOW_MS, "first");
    add_ok(f, "#a", 1, NOW_MS, "a replay of 1");
    flush_ok(f);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 5, NULL), "1,1099511627775");
    assert_non_null(strstr(f->rec.json[0], "first"));
    struct gw_sqlite_stats st;
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.events_stored, 2);
    assert_int_equal(st.batches, 1);
    assert_true(st.batch_us_max > 0 && st.batch_us_sum >= st.batch_us_max);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.reads, 1);
    assert_true(st.db_bytes >= 4096);
    assert_non_null(strstr(gw_sqlite_path(f->s), f->dir));
    assert_non_null(strstr(gw_sqlite_path(f->s), "/wintalk.db"));
}

/* ---- rooms that cost nothing kept ---- */

/* A join (an event without words) of room at id. */
static void add_join_ok(struct fix *f, const char *room, uint64_t id)
{
    char json[REC_JSON_MAX];
    snprintf(json, sizeof json, "{\"type\":\"join\",\"room\":\"%s\",\"id\":%llu}", room,
             (unsigned long long)id);
    const char *line = "* bob joined (web)";
    struct gw_store_event ev = {
        .id = id, .time_ms = NOW_MS, .type = GW_EV_JOIN,
        .json = json, .json_len = strlen(json),
        .line = line, .line_len = strlen(line),
    };
    assert_int_equal(f->st.append(f->st.ctx, room, room, &ev), GW_STORE_PENDING);
}

static int64_t rooms_named(struct fix *f, const char *key)
{
    sqlite3 *db = peek_db(f);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM rooms WHERE key = '%s'", key);
    int64_t n = peek_int(db, sql);
    sqlite3_close(db);
    return n;
}

static uint64_t last_of(struct fix *f, const char *room)
{
    uint64_t last = 0;
    assert_int_equal(f->st.load(f->st.ctx, room, 0, 0, &last, NULL, NULL), 0);
    return last;
}

static void a_room_without_messages_is_forgotten_and_its_ids_stay_given(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    assert_non_null(f->st.forget);
    add_join_ok(f, "#quiet", 1);
    add_join_ok(f, "#quiet", 2);
    add_join_ok(f, "#talk", 1);
    add_ok(f, "#talk", 2, NOW_MS, "words");
    flush_ok(f);
    f->st.forget(f->st.ctx, "#quiet");
    f->st.forget(f->st.ctx, "#talk");
    f->st.forget(f->st.ctx, "#never-made");
    flush_ok(f);
    assert_int_equal(rooms_named(f, "#quiet"), 0);
    assert_int_equal(rooms_named(f, "#talk"), 1);
    sqlite3 *db = peek_db(f);
    assert_int_equal(peek_int(db, "SELECT count(*) FROM events"), 2);
    sqlite3_close(db);
    struct gw_sqlite_stats st;
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.rooms_forgotten, 1);
    assert_int_equal(st.events_deleted, 2);
    /* Opened again, here or after a restart, it starts above its old ids,
     * and so does any room the store does not have. */
    assert_int_equal(last_of(f, "#quiet"), 2);
    assert_int_equal(last_of(f, "#brand-new"), 2);
    reopen(f, NULL);
    assert_int_equal(last_of(f, "#quiet"), 2);
    assert_int_equal(last_of(f, "#talk"), 2);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#talk", 0, 5, NULL), "1,2");

    /* An append before the flush cancels the forget: someone is back. */
    add_join_ok(f, "#back", 3);
    flush_ok(f);
    f->st.forget(f->st.ctx, "#back");
    add_join_ok(f, "#back", 4);
    flush_ok(f);
    assert_int_equal(rooms_named(f, "#back"), 1);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#back", 0, 5, NULL), "3,4");
    check_integrity(f);
}

static void a_room_of_many_events_is_kept_without_a_look(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    /* Exactly the bound: looked through, and forgotten. */
    for (uint64_t id = 1; id <= GW_SQLITE_FORGET_EVENTS_MAX; id++)
        add_join_ok(f, "#edge", id);
    /* One more: kept (a room people use). */
    for (uint64_t id = 1; id <= GW_SQLITE_FORGET_EVENTS_MAX + 1; id++)
        add_join_ok(f, "#busy", id);
    flush_ok(f);
    f->st.forget(f->st.ctx, "#edge");
    f->st.forget(f->st.ctx, "#busy");
    flush_ok(f);
    assert_int_equal(rooms_named(f, "#edge"), 0);
    assert_int_equal(rooms_named(f, "#busy"), 1);
    assert_int_equal(last_of(f, "#edge"), GW_SQLITE_FORGET_EVENTS_MAX);
}

static void a_room_retention_empties_goes_too(void **state)
{
    struct fix *f = *state;
    struct gw_sqlite_opts o = {.history_days = 1};
    open_ok(f, &o);
    add_range(f, "#old", 1, 10, NOW_MS - 3 * DAY_MS);
    add_range(f, "#mixed", 1, 5, NOW_MS - 3 * DAY_MS);
    add_range(f, "#mixed", 6, 7, NOW_MS);
    flush_ok(f);
    retain_all(f);
    assert_int_equal(rooms_named(f, "#old"), 0);
    assert_int_equal(rooms_named(f, "#mixed"), 1);
    assert_int_equal(last_of(f, "#old"), 10);
    /* Said again (someone was still in it): it continues, above. */
    add_ok(f, "#old", 11, NOW_MS, "still here");
    flush_ok(f);
    assert_int_equal(rooms_named(f, "#old"), 1);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#old", 0, 5, NULL), "11");
    check_integrity(f);
}

static void a_room_past_the_bound_is_refused_alone(void **state)
{
    struct fix *f = *state;
    open_ok(f, NULL);
    add_ok(f, "#a", 1, NOW_MS, "first");
    flush_ok(f);
    /* The next room made would be number GW_SQLITE_ROOMS_MAX + 1. */
    sqlite3 *db = peek_db(f);
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO rooms(n, key, name) VALUES (%llu, '#top', '#top')",
             (unsigned long long)GW_SQLITE_ROOMS_MAX);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    f->rec.ndone = 0;
    add_ok(f, "#a", 2, NOW_MS, "kept");
    add_ok(f, "#new", 1, NOW_MS, "refused");
    add_ok(f, "#a", 3, NOW_MS, "kept too");
    flush_ok(f);
    assert_int_equal(f->rec.ndone, 2);
    for (size_t i = 0; i < f->rec.ndone; i++) {
        const struct done_call *d = &f->rec.done[i];
        if (strcmp(d->key, "#a") == 0) {
            assert_int_equal(d->id, 3);
            assert_int_equal(d->status, GW_STORE_DONE);
        } else {
            assert_string_equal(d->key, "#new");
            assert_int_equal(d->status, GW_STORE_EIO);
        }
    }
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 1);
    assert_string_equal(read_ids(f, GW_STORE_AFTER, "#a", 0, 5, NULL), "1,2,3");
    assert_int_equal(rooms_named(f, "#new"), 0);
    struct gw_sqlite_stats st;
    gw_sqlite_stats(f->s, &st);
    assert_int_equal(st.rooms_refused, 1);
    check_integrity(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(reopen_keeps_events_last_id_and_epoch),
        T(new_directory_new_epoch),
        T(batch_is_one_transaction_and_done_comes_from_flush),
        T(a_batch_writes_one_index_segment),
        T(the_wal_is_checkpointed_off_the_loop),
        T(before_pages_through_5000_events),
        T(after_reads_oldest_first),
        cmocka_unit_test(fts_query_is_never_user_syntax),
        T(search_words_prefixes_phrases_and_hostile_input),
        T(search_newest_first_pages_and_time_bound),
        T(load_is_bounded_and_includes_the_batch),
        T(load_async_answers_what_load_gives_from_a_reader),
        T(close_joins_the_readers_with_reads_under_way),
        T(retention_by_days_in_bounded_steps),
        T(retention_by_count_keeps_the_newest),
        T(second_gateway_on_the_same_directory_is_refused),
        T(directory_that_is_a_file_cannot_be_created),
        T(damaged_or_newer_database_is_refused),
        T(a_flushed_batch_survives_kill_9),
        T(bad_appends_are_refused_and_stats_add_up),
        T(a_room_without_messages_is_forgotten_and_its_ids_stay_given),
        T(a_room_of_many_events_is_kept_without_a_look),
        T(a_room_retention_empties_goes_too),
        T(a_room_past_the_bound_is_refused_alone),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
