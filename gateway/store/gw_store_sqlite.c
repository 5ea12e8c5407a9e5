/*
 * gw_store_sqlite.c - the SQLite store engine (see gw_store_sqlite.h): a
 * batch of appends committed once per turn of the event loop, reads and
 * searches answered after that commit, retention in small steps, and the
 * faults of a disk (full, read-only, locked, damaged) turned into codes
 * and one-line messages. An adapter: it does I/O; it does not log.
 */
#define _DEFAULT_SOURCE /* flock */

#include "gw_store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

/* The progress handler (the search bound) runs every this many SQLite
 * virtual machine instructions: often enough to stop within a fraction of
 * a millisecond, rarely enough to cost nothing. */
#define PROGRESS_OPS 1000

/* A room's key range in events.k. */
#define ROOM_LO(n) ((int64_t)((uint64_t)(n) << GW_SQLITE_ID_BITS))
#define ROOM_HI(n) ((int64_t)(((uint64_t)(n) << GW_SQLITE_ID_BITS) | GW_SQLITE_ID_MAX))

#define MS_PER_DAY INT64_C(86400000)

/* One event of the batch: its strings are in the batch's arena. */
struct bev {
    size_t room;          /* index in brooms */
    uint64_t id;
    int64_t time_ms;
    int type;
    size_t off;           /* json, then line, then text, in the arena */
    size_t json_len, line_len, text_len;
    int has_text;
    uint64_t deletes;     /* a deleted event: the id whose words go */
};

/* One room with events in the batch, in the order of its first append. */
struct broom {
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    char name[GW_SQLITE_KEY_MAX_BYTES + 1];
    uint64_t last;        /* its latest id in the batch */
    int refused;          /* its entry could not be made: its events are not kept */
};

/* A room to forget at the next flush (st_forget). */
struct forget {
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
};

/* An event of the batch by its key in events.k. */
struct korder {
    int64_t k;
    size_t i;             /* index in the batch */
};

/* A completion waiting for the next flush. */
struct report {
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    uint64_t id;
    int status;
};

/* An account write in the batch (gw_sqlite_accounts), with its own
 * copies of the strings; status is decided in the transaction. */
enum aop_kind { AOP_CREATE, AOP_UPDATE, AOP_REMOVE, AOP_KEEP, AOP_DROP, AOP_ROOM, AOP_MARK,
                AOP_PM };

struct aop {
    enum aop_kind kind;
    uint64_t tag;
    int status;
    unsigned roles;
    uint64_t generation;
    int64_t created_ms, expires_ms;
    char key[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char nick[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    char digest[GW_DIGEST_HEX_LEN + 1];
    /* room_keep, read_mark: the room, in or out, the id read */
    char room[GW_ACCOUNT_ROOM_MAX_BYTES + 1];
    int in;
    uint64_t id;
    /* pm_add: the peer in nick, the time in created_ms, and: */
    int out;
    uint64_t pm_id;       /* given in the transaction */
    char *text;           /* a copy of the text (NUL-terminated), owned by
                           * the write, then by its answer */
};

/* An account write's answer waiting for the next flush; pm_add's with the
 * message as kept (text owned: freed once given). */
struct aanswer {
    uint64_t tag;
    int status;
    int pm;
    uint64_t pm_id;
    int64_t time_ms;
    int out;
    char peer[GW_ACCOUNT_PEER_MAX_BYTES + 1];
    char *text;
};

/* What a read is besides a history read. */
enum pread_acct {
    PR_EVENTS, PR_ACC_FIND, PR_SESS_FIND, PR_ACC_KEYS, PR_ROOMS_OF, PR_ROOM_ACCTS, PR_PM_AFTER
};

/* A read waiting for the next flush, with its own copies of the strings. */
struct pread {
    enum gw_store_read_kind kind;
    enum pread_acct acct; /* an account's find or session_find */
    int64_t now_ms;       /* session_find: when */
    char akey[GW_ACCOUNT_KEY_MAX_BYTES + 1]; /* find, rooms_of, pm_after: the key;
                                              * session_find: the digest; keys,
                                              * room_accounts: the cursor (and
                                              * key the room) */
    int load;             /* a room's load (load_async), not a read */
    uint64_t tag, id;     /* load: id is the room's latest id still in the batch */
    unsigned limit;       /* load: at most this many events, */
    size_t max_bytes;     /* and this many bytes of JSON */
    uint64_t floor;       /* load: where a room the store does not have starts,
                           * as it was when the load was handed to a reader */
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    char fts[GW_SQLITE_FTS_MAX_BYTES];
};

/* A reader's statements, on its own connection. */
enum rd_stmt {
    RD_ROOM_FIND, RD_BEFORE, RD_AFTER, RD_SEARCH, RD_LOAD_SIZES, RD_LOAD,
    RD_ACC_FIND, RD_SESS_FIND, RD_ACC_KEYS, RD_ROOMS_OF, RD_ROOM_ACCTS, RD_PM_AFTER, RD_COUNT
};

/* The events one answer holds: a read's, or a room's load. */
#define RD_ROWS_MAX \
    (GW_STORE_READ_MAX > GW_HISTORY_MAX_EVENTS ? GW_STORE_READ_MAX : GW_HISTORY_MAX_EVENTS)

/* What a reader is doing (under rd_mu). */
enum rd_state {
    RD_IDLE,     /* waiting for a job */
    RD_RUNNING,  /* reading job */
    RD_ANSWERED, /* status, rows[0..got) and more wait for the loop */
};

struct reader {
    struct gw_sqlite *s;
    pthread_t thread;
    sqlite3 *db;
    sqlite3_stmt *st[RD_COUNT];
    int64_t deadline_us;   /* the search's, for on_progress */
    enum rd_state state;
    struct pread job;
    int status, more;
    size_t got;
    uint64_t last;               /* load: the room's latest id */
    struct gw_account acct;      /* an account's read: what was found, in the arena */
    const char *keys[GW_ACCOUNT_KEYS_PAGE]; /* keys: the page, in the arena */
    char next[GW_ACCOUNT_CURSOR_MAX_BYTES + 1]; /* keys: the next page's cursor */
    struct gw_account_room rrows[GW_ACCOUNT_ROOMS_MAX]; /* rooms_of's, in the arena */
    struct gw_account_pm prows[GW_ACCOUNT_PMS_PAGE];    /* pm_after's, in the arena */
    struct gw_store_event *rows; /* RD_ROWS_MAX */
    char *arena;                 /* GW_SQLITE_ROWS_MAX_BYTES */
};

/* Prepared once at open, reset after each use. */
enum stmt_id {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
    ST_ROOM_FIND, ST_ROOM_ADD, ST_ROOM_LAST,
    ST_EV_ADD, ST_FTS_ADD, ST_DEL_FTS, ST_DEL_BLANK,
    ST_BEFORE, ST_AFTER, ST_SEARCH,
    ST_LOAD_SIZES, ST_LOAD,
    ST_PROBE,
    ST_RET_ROOMS, ST_RET_FIRST, ST_RET_DEL_UPTO, ST_RET_DEL_OLD,
    ST_PAGE_COUNT, ST_PAGE_SIZE,
    ST_ROOM_TEXT, ST_ROOM_DEL_EVENTS, ST_ROOM_DEL, ST_FLOOR_SET, ST_FLOOR_GET,
    ST_ACC_ADD, ST_ACC_SET, ST_ACC_DEL, ST_ACC_HAS, ST_ACC_FIND, ST_ACC_LIST,
    ST_SESS_PUT, ST_SESS_BOUND, ST_SESS_DEL, ST_SESS_DEL_KEY, ST_SESS_DEL_OLDER, ST_SESS_FIND,
    ST_SESS_EXPIRED, ST_SESS_EXPIRE, ST_ACC_KEYS,
    ST_AROOM_HAS, ST_AROOM_COUNT, ST_AROOM_ADD, ST_AROOM_DEL, ST_AROOM_MARK, ST_AROOM_DEL_KEY,
    ST_ROOMS_OF, ST_ROOM_ACCTS,
    ST_PM_NEXT, ST_PM_ADD, ST_PM_TRIM, ST_PM_DEL_KEY, ST_PM_AFTER,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ROOM_FIND] = "SELECT n, last FROM rooms WHERE key = ?1",
    [ST_ROOM_ADD] = "INSERT INTO rooms(key, name) VALUES (?1, ?2)",
    [ST_ROOM_LAST] = "UPDATE rooms SET last = max(last, ?2) WHERE n = ?1",
    /* An id already kept stays as it is: ids are never given twice, so
     * a second one is a replay, not news. */
    [ST_EV_ADD] = "INSERT OR IGNORE INTO events(k, time, type, json, line, text) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* The engine adds an event's words to the index itself, right after
     * the event, not an AFTER INSERT trigger: an insert that runs a
     * trigger opens a savepoint, where FTS5 writes out what it has
     * gathered as a segment of its own, so a batch made one segment per
     * event and took 2.5 times as long. (The delete trigger is one
     * statement for a whole retention step: one segment.) */
    [ST_FTS_ADD] = "INSERT INTO events_fts(rowid, text) VALUES (?1, ?2)",
    /* A deleted event removes its message's words: from the index (an
     * external content table: the old text must be named to take it out),
     * then from the row, whose id, time and sender stay. json_set keeps
     * the fields' order and adds "deleted" last, as the hub's own ring
     * writes it (gw_json_blank_message). */
    [ST_DEL_FTS] = "INSERT INTO events_fts(events_fts, rowid, text) "
                   "SELECT 'delete', k, text FROM events WHERE k = ?1 AND text IS NOT NULL",
    [ST_DEL_BLANK] = "UPDATE events SET json = json_set(json, '$.text', '', '$.deleted', "
                     "json('true')), line = '', text = NULL "
                     "WHERE k = ?1 AND type = 0 AND json_extract(json, '$.deleted') IS NOT 1",
    [ST_BEFORE] = "SELECT k, time, type, json, line, text FROM events "
                  "WHERE k BETWEEN ?1 AND ?2 ORDER BY k DESC LIMIT ?3",
    [ST_AFTER] = "SELECT k, time, type, json, line, text FROM events "
                 "WHERE k BETWEEN ?1 AND ?2 ORDER BY k LIMIT ?3",
    /* The FTS5 index drives (CROSS JOIN keeps it the outer loop): it
     * takes the key range and the descending order itself. */
    [ST_SEARCH] = "SELECT e.k, e.time, e.type, e.json, e.line, e.text "
                  "FROM events_fts CROSS JOIN events AS e ON e.k = events_fts.rowid "
                  "WHERE events_fts MATCH ?1 AND events_fts.rowid BETWEEN ?2 AND ?3 "
                  "ORDER BY events_fts.rowid DESC LIMIT ?4",
    [ST_LOAD_SIZES] = "SELECT k, json, line FROM events WHERE k BETWEEN ?1 AND ?2 "
                      "ORDER BY k DESC LIMIT ?3",
    [ST_LOAD] = "SELECT k, time, type, json, line, text FROM events "
                "WHERE k BETWEEN ?1 AND ?2 ORDER BY k",
    [ST_PROBE] = "INSERT INTO meta(key, value) VALUES ('probe', ?1) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_RET_ROOMS] = "SELECT n, last FROM rooms WHERE n > ?1 ORDER BY n LIMIT ?2",
    [ST_RET_FIRST] = "SELECT k, time FROM events WHERE k BETWEEN ?1 AND ?2 ORDER BY k LIMIT 1",
    [ST_RET_DEL_UPTO] = "DELETE FROM events WHERE k IN "
                        "(SELECT k FROM events WHERE k BETWEEN ?1 AND ?2 ORDER BY k LIMIT ?3)",
    [ST_RET_DEL_OLD] = "DELETE FROM events WHERE k IN "
                       "(SELECT k FROM events WHERE k BETWEEN ?1 AND ?2 ORDER BY k LIMIT ?3) "
                       "AND time < ?4",
    [ST_PAGE_COUNT] = "PRAGMA page_count",
    [ST_PAGE_SIZE] = "PRAGMA page_size",
    /* Forgetting a room (st_forget, retention): whether it has a message,
     * then its events and its entry; the floor keeps its ids from being
     * given again. */
    [ST_ROOM_TEXT] = "SELECT 1 FROM events WHERE k BETWEEN ?1 AND ?2 AND text IS NOT NULL LIMIT 1",
    [ST_ROOM_DEL_EVENTS] = "DELETE FROM events WHERE k BETWEEN ?1 AND ?2",
    [ST_ROOM_DEL] = "DELETE FROM rooms WHERE n = ?1",
    [ST_FLOOR_SET] = "INSERT INTO meta(key, value) VALUES ('floor', ?1) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_FLOOR_GET] = "SELECT value FROM meta WHERE key = 'floor'",
    /* Accounts and sessions (gw_sqlite_accounts). */
    [ST_ACC_ADD] = "INSERT OR IGNORE INTO accounts(key, nick, phc, roles, generation, created_ms) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_ACC_SET] = "UPDATE accounts SET nick = ?2, phc = ?3, roles = ?4, generation = ?5 "
                   "WHERE key = ?1",
    [ST_ACC_DEL] = "DELETE FROM accounts WHERE key = ?1",
    [ST_ACC_HAS] = "SELECT 1 FROM accounts WHERE key = ?1",
    [ST_ACC_FIND] = "SELECT key, nick, phc, roles, generation, created_ms FROM accounts "
                    "WHERE key = ?1",
    [ST_ACC_LIST] = "SELECT key, nick, phc, roles, generation, created_ms FROM accounts "
                    "ORDER BY key",
    /* A digest kept again replaces its row, with a new rowid: the newest. */
    [ST_SESS_PUT] = "INSERT OR REPLACE INTO sessions(digest, key, generation, created_ms, "
                    "expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* Every session of the account but its newest ?2 (rowids only grow:
     * a new row's is above every row's there is). */
    [ST_SESS_BOUND] = "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions "
                      "WHERE key = ?1 ORDER BY rowid DESC LIMIT -1 OFFSET ?2)",
    [ST_SESS_DEL] = "DELETE FROM sessions WHERE digest = ?1",
    [ST_SESS_DEL_KEY] = "DELETE FROM sessions WHERE key = ?1",
    [ST_SESS_DEL_OLDER] = "DELETE FROM sessions WHERE key = ?1 AND generation < ?2",
    /* Over from expires_ms on, and when made under an older generation. */
    [ST_SESS_FIND] = "SELECT a.key, a.nick, a.phc, a.roles, a.generation, a.created_ms "
                     "FROM sessions AS s JOIN accounts AS a ON a.key = s.key "
                     "WHERE s.digest = ?1 AND s.expires_ms > ?2 AND s.generation >= a.generation",
    [ST_SESS_EXPIRED] = "SELECT 1 FROM sessions WHERE expires_ms <= ?1 LIMIT 1",
    [ST_SESS_EXPIRE] = "DELETE FROM sessions WHERE rowid IN "
                       "(SELECT rowid FROM sessions WHERE expires_ms <= ?1 LIMIT ?2)",
    /* A page of names after the cursor (the last name given; '' before
     * every name), in the primary key's order: bytes (BINARY). */
    [ST_ACC_KEYS] = "SELECT key FROM accounts WHERE key > ?1 ORDER BY key LIMIT ?2",
    /* An account's rooms and read positions; the members of a room. */
    [ST_AROOM_HAS] = "SELECT 1 FROM account_rooms WHERE key = ?1 AND room = ?2",
    [ST_AROOM_COUNT] = "SELECT count(*) FROM account_rooms WHERE key = ?1",
    [ST_AROOM_ADD] = "INSERT INTO account_rooms(key, room, read_id) VALUES (?1, ?2, 0)",
    [ST_AROOM_DEL] = "DELETE FROM account_rooms WHERE key = ?1 AND room = ?2",
    [ST_AROOM_MARK] = "UPDATE account_rooms SET read_id = max(read_id, ?3) "
                      "WHERE key = ?1 AND room = ?2",
    [ST_AROOM_DEL_KEY] = "DELETE FROM account_rooms WHERE key = ?1",
    /* No row: no such account; one with a NULL room: an account in none. */
    [ST_ROOMS_OF] = "SELECT r.room, r.read_id FROM accounts AS a LEFT JOIN account_rooms AS r "
                    "ON r.key = a.key WHERE a.key = ?1 ORDER BY r.room LIMIT ?2",
    [ST_ROOM_ACCTS] = "SELECT key FROM account_rooms WHERE room = ?1 AND key > ?2 "
                      "ORDER BY key LIMIT ?3",
    /* Private messages: the account's next id (its counter never goes
     * back while the account exists), the message, its oldest past the
     * bound (ids are dense: those up to the new id less the bound). */
    [ST_PM_NEXT] = "UPDATE accounts SET pm_top = pm_top + 1 WHERE key = ?1 RETURNING pm_top",
    [ST_PM_ADD] = "INSERT INTO account_pms(key, id, time_ms, peer, out, text) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_PM_TRIM] = "DELETE FROM account_pms WHERE key = ?1 AND id <= ?2",
    [ST_PM_DEL_KEY] = "DELETE FROM account_pms WHERE key = ?1",
    /* No row: no such account; one with a NULL id: none after after_id. */
    [ST_PM_AFTER] = "SELECT p.id, p.time_ms, p.peer, p.out, p.text FROM accounts AS a "
                    "LEFT JOIN account_pms AS p ON p.key = a.key AND p.id > ?2 "
                    "WHERE a.key = ?1 ORDER BY p.id LIMIT ?3",
};

/* The schema of a new database, made in one transaction with its epoch:
 * version 1's tables, then what each later version added (the same text
 * that brings an older database up to date: migrate). */
static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE rooms(n INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,"
    " name TEXT NOT NULL, last INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events(k INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " type INTEGER NOT NULL, json TEXT NOT NULL, line TEXT NOT NULL, text TEXT);"
    /* remove_diacritics 2: "que" finds "qué", as a Spanish reader expects. */
    "CREATE VIRTUAL TABLE events_fts USING fts5(text, content='events', content_rowid='k',"
    " tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER events_ad AFTER DELETE ON events WHEN old.text IS NOT NULL BEGIN"
    " INSERT INTO events_fts(events_fts, rowid, text) VALUES ('delete', old.k, old.text); END;";

/* Version 2: accounts and their sessions (gw_accounts.h). */
static const char schema2_sql[] =
    "CREATE TABLE accounts(key TEXT PRIMARY KEY, nick TEXT NOT NULL, phc TEXT NOT NULL,"
    " roles INTEGER NOT NULL, generation INTEGER NOT NULL, created_ms INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE sessions(digest TEXT PRIMARY KEY, key TEXT NOT NULL,"
    " generation INTEGER NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_key ON sessions(key);"
    "CREATE INDEX sessions_expires ON sessions(expires_ms);";

/* Version 3: present while away (gw_accounts.h): an account's rooms with
 * its read position in each (by account, and by room for its members),
 * and the private messages kept for it, numbered by its counter pm_top. */
static const char schema3_sql[] =
    "ALTER TABLE accounts ADD COLUMN pm_top INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE account_rooms(key TEXT NOT NULL, room TEXT NOT NULL,"
    " read_id INTEGER NOT NULL, PRIMARY KEY(key, room)) WITHOUT ROWID;"
    "CREATE INDEX account_rooms_room ON account_rooms(room, key);"
    "CREATE TABLE account_pms(key TEXT NOT NULL, id INTEGER NOT NULL,"
    " time_ms INTEGER NOT NULL, peer TEXT NOT NULL, out INTEGER NOT NULL, text TEXT NOT NULL,"
    " UNIQUE(key, id));";

/* Room config (gw_sqlite_roomcfg): a write or read waiting in the queue,
 * with its own copies; a write's status is decided in the transaction. */
enum rcop_kind { RCO_OWNER, RCO_TOPIC, RCO_SETTINGS, RCO_SET, RCO_CLEAR, RCO_LOAD, RCO_ENTRIES };

struct rcop {
    enum rcop_kind kind;
    uint64_t tag;
    int status;
    int ran;              /* a write: committed (or rolled back); a read: 1 */
    unsigned what;        /* GW_ROOMCFG_CH_* of a write */
    char room[GW_ROOMCFG_ROOM_MAX_BYTES + 1];
    int list, ekind;
    unsigned flags;
    char a[GW_ROOMCFG_TOPIC_MAX_BYTES + 1]; /* owner, topic, join key, who */
    char by[GW_ROOMCFG_BY_MAX_BYTES + 1];
    char why[GW_ROOMCFG_WHY_MAX_BYTES + 1];
    int64_t t1, t2;       /* topic: its time; set: set_ms, expires_ms; clear,
                           * load, entries: now */
};

/* An entry's strings as read, for an answer. */
struct rcent {
    char who[GW_ROOMCFG_WHO_MAX_BYTES + 1];
    char by[GW_ROOMCFG_BY_MAX_BYTES + 1];
    char why[GW_ROOMCFG_WHY_MAX_BYTES + 1];
};

enum rc_stmt {
    RCS_OWNER, RCS_TOPIC, RCS_SETTINGS, RCS_SWEEP, RCS_HAS, RCS_NUM, RCS_PUT, RCS_DEL,
    RCS_CFG, RCS_ENTRIES, RCS_COUNT
};

/* Version 4: what a room keeps about who is in charge (gw_roomcfg.h): one
 * row per room with a config (owner, topic, settings, join key), and its
 * entries (operators, voice, bans, mutes, invites; the gateway-wide bans
 * under room ''), unique by (room, list_id, kind, who). */
static const char schema4_sql[] =
    "CREATE TABLE room_cfg(room TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '',"
    " topic TEXT NOT NULL DEFAULT '', topic_by TEXT NOT NULL DEFAULT '',"
    " topic_ms INTEGER NOT NULL DEFAULT 0, flags INTEGER NOT NULL DEFAULT 0,"
    " jkey TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
    "CREATE TABLE room_entries(room TEXT NOT NULL, list_id INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, who TEXT NOT NULL, setter TEXT NOT NULL,"
    " set_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, why TEXT NOT NULL,"
    " PRIMARY KEY(room, list_id, kind, who)) WITHOUT ROWID;";

struct gw_sqlite {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    int lock_fd;
    struct gw_store_sink sink;
    char dir[GW_SQLITE_PATH_MAX_BYTES];
    char path[GW_SQLITE_PATH_MAX_BYTES];
    char wal_path[GW_SQLITE_PATH_MAX_BYTES];
    uint64_t epoch;
    unsigned history_days, history_max, search_ms;
    int64_t (*clock_us)(void *arg);
    void *clock_arg;

    int healthy;
    char why[GW_SQLITE_WHY_MAX_BYTES];
    int64_t probe_at;      /* wall ms of the last probe; INT64_MIN: none yet */
    int64_t retain_cursor; /* retention goes on after this room number */
    int flushing;          /* inside gw_sqlite_flush */

    /* The batch. */
    struct bev *bev;
    size_t nbev;
    char *arena;
    size_t arena_used;
    struct broom *brooms;
    size_t nbrooms, last_broom;
    int64_t *nums;         /* the batch rooms' numbers, while committing */
    struct korder *order;  /* the batch's events by key, while committing */

    /* Completions for the next flush; those before reps_sent are reported. */
    struct report *reps;
    size_t nreps, reps_sent;

    /* Accounts: their sink, their writes in the batch, and the answers to
     * writes committed, for the next flush (those before ans_sent given). */
    struct gw_account_sink acc_sink;
    struct aop *aops;
    size_t naops;
    struct aanswer *ans;
    size_t nans, ans_sent;

    /* Room config: its sink, its statements, the queue of writes (run in
     * the batch's transaction) and reads (made after the commit), given
     * from the flush in order; rc_unrun: writes not yet committed. The
     * rows of a read's answer and their strings (GW_GBANS_MAX each). */
    struct gw_roomcfg_sink rc_sink;
    sqlite3_stmt *rc_st[RCS_COUNT];
    struct rcop *rcq;
    size_t nrcq, rc_unrun;
    struct gw_roomcfg_entry *rc_rows;
    struct rcent *rc_ents;

    /* Reads waiting for the next commit (loop thread only); then handed
     * to the readers. inflight: reads taken and not yet answered. */
    struct pread *reads;
    size_t nreads;
    size_t inflight;

    /* The readers: threads with a read-only connection each, fed through
     * a ring of jobs (under rd_mu); an answer waits in its reader until
     * the loop has reported it (the reader's rows and arena are its own),
     * and wakes the loop through rd_fd (an eventfd). */
    struct reader *readers;
    unsigned nreaders, readers_started;
    pthread_mutex_t rd_mu;
    pthread_cond_t rd_cv;
    struct pread *jobs;    /* a ring of GW_SQLITE_READS_MAX */
    size_t jobs_head, njobs;
    int rd_stop;           /* under rd_mu */
    int rd_fd;             /* readable while an answer waits */
    atomic_uint answers;   /* readers holding an answer */

    struct gw_sqlite_stats stats;

    /* Rooms to forget at the next flush, and the floor: the highest id a
     * forgotten room had (meta 'floor'), where a room the store does not
     * have starts. */
    struct forget *forgets;
    size_t nforgets;
    uint64_t floor;

    /* The checkpointer: a thread with a connection of its own that copies
     * the WAL into the database once it has grown, so that the copy and
     * its fsync (100-300 ms measured under load) never hold the loop. */
    sqlite3 *ck_db;
    pthread_t ck_thread;
    int ck_started;
    int beside;            /* opts.beside: a tool's account calls, no lock */
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    int ck_want, ck_stop;  /* under ck_mu */
    atomic_uint_least64_t ck_done; /* checkpoints made (read by stats) */
};

/* ---- small helpers ---- */

static void put(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int open_fault(struct gw_sqlite *s, int rc, char *err, size_t errlen);
static int room_first(struct gw_sqlite *s, int64_t lo, int64_t hi, int64_t *k, int64_t *time_ms);

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t search_clock(const struct gw_sqlite *s)
{
    return s->clock_us ? s->clock_us(s->clock_arg) : mono_us();
}

/* dir + "/" + name into out (cap bytes). Returns 0 or -1 when too long. */
static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    int n = snprintf(out, cap, "%s%s%s", dir, sep, name);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static sqlite3_stmt *stmt(const struct gw_sqlite *s, enum stmt_id id)
{
    return s->st[id];
}

/* Step a statement that returns no rows, and reset it. Returns the SQLite
 * code (SQLITE_DONE on success). */
static int run(struct gw_sqlite *s, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(s, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = SQLITE_DONE; /* a PRAGMA's answer, not wanted */
    sqlite3_reset(st);
    return rc;
}

/* The word for what went wrong, as a health message starts. */
static const char *fault_word(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL: return "disk full";
    case SQLITE_READONLY: return "read-only";
    case SQLITE_IOERR: return "I/O error";
    case SQLITE_BUSY: case SQLITE_LOCKED: return "locked";
    case SQLITE_NOMEM: return "out of memory";
    case SQLITE_CORRUPT: case SQLITE_NOTADB: return "damaged";
    case SQLITE_CANTOPEN: return "cannot open";
    default: return "failed";
    }
}

/* The store failed at run time with SQLite code rc: unhealthy, and why. */
static void fail(struct gw_sqlite *s, int rc, const char *msg)
{
    s->healthy = 0;
    s->stats.errors++;
    snprintf(s->why, sizeof s->why, "%s: %s (%s)", fault_word(rc),
             msg ? msg : sqlite3_errstr(rc), s->path);
}

/* End a failed transaction; what was kept before it stays as it was. */
static void rollback(struct gw_sqlite *s)
{
    if (!sqlite3_get_autocommit(s->db))
        run(s, ST_ROLLBACK);
}

/* A transaction failed with SQLite code rc: end it, and fail with SQLite's
 * message of the failure (copied first: the rollback replaces it). */
static void fail_rollback(struct gw_sqlite *s, int rc)
{
    char m[256];
    snprintf(m, sizeof m, "%s", sqlite3_errmsg(s->db));
    rollback(s);
    fail(s, rc, m);
}

static int on_commit(void *arg)
{
    struct gw_sqlite *s = arg;
    s->stats.commits++;
    return 0; /* let it commit */
}

/* ---- the checkpointer ---- */

/* After each commit, with the pages in the WAL: past the mark, wake the
 * checkpointer. (A WAL hook of our own also turns off SQLite's own
 * checkpoint at commit, which would run on the loop.) */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct gw_sqlite *s = arg;
    (void)db;
    (void)name;
    if (pages >= GW_SQLITE_CHECKPOINT_PAGES) {
        pthread_mutex_lock(&s->ck_mu);
        s->ck_want = 1;
        pthread_cond_signal(&s->ck_cv);
        pthread_mutex_unlock(&s->ck_mu);
    }
    return SQLITE_OK;
}

/* The thread: a PASSIVE checkpoint each time it is woken. It takes no
 * lock a writer waits for; what it cannot copy yet (frames a reader still
 * uses) waits for the next time. A failure (disk full) leaves the pages
 * in the WAL, where they are safe. */
static void *checkpointer(void *arg)
{
    struct gw_sqlite *s = arg;
    pthread_mutex_lock(&s->ck_mu);
    for (;;) {
        while (!s->ck_want && !s->ck_stop)
            pthread_cond_wait(&s->ck_cv, &s->ck_mu);
        if (s->ck_stop)
            break;
        s->ck_want = 0;
        pthread_mutex_unlock(&s->ck_mu);
        int rc = sqlite3_wal_checkpoint_v2(s->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc == SQLITE_OK)
            atomic_fetch_add(&s->ck_done, 1);
        pthread_mutex_lock(&s->ck_mu);
    }
    pthread_mutex_unlock(&s->ck_mu);
    return NULL;
}

/* Open the checkpointer's connection and start it. Returns 0 or a code. */
static int start_checkpointer(struct gw_sqlite *s, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(s->path, &s->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    /* A connection reads the file only when first used: till then it does
     * not know the WAL, and a checkpoint through it does nothing. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->ck_db, "PRAGMA schema_version", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        put(err, errlen, "cannot open %s for checkpoints: %s", s->path,
            s->ck_db ? sqlite3_errmsg(s->ck_db) : sqlite3_errstr(rc));
        return GW_SQLITE_EIO;
    }
    if (pthread_create(&s->ck_thread, NULL, checkpointer, s) != 0) {
        put(err, errlen, "%s: cannot start the checkpoint thread", s->path);
        return GW_SQLITE_ENOMEM;
    }
    s->ck_started = 1;
    sqlite3_wal_hook(s->db, on_wal, s);
    return 0;
}

static void stop_checkpointer(struct gw_sqlite *s)
{
    if (s->ck_started) {
        pthread_mutex_lock(&s->ck_mu);
        s->ck_stop = 1;
        pthread_cond_signal(&s->ck_cv);
        pthread_mutex_unlock(&s->ck_mu);
        pthread_join(s->ck_thread, NULL);
        s->ck_started = 0;
    }
    if (s->ck_db)
        sqlite3_close(s->ck_db);
    s->ck_db = NULL;
}

/* ---- the FTS5 query ---- */

int gw_sqlite_fts_query(const char *q, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0)
        return GW_STORE_EINVAL;
    out[0] = '\0';
    if (!q)
        return GW_STORE_EINVAL;
    size_t o = 0, i = 0;
    int terms = 0, prefixes = 0;
    while (i < len && terms < (int)GW_SQLITE_SEARCH_TERMS_MAX) {
        if (q[i] == ' ') {
            i++;
            continue;
        }
        size_t start, end;
        int prefix = 0;
        if (q[i] == '"') {
            /* A phrase, to the closing quote or the end. */
            start = ++i;
            while (i < len && q[i] != '"')
                i++;
            end = i;
            if (i < len)
                i++;
        } else {
            /* A bare word, to a space or the quote that starts a phrase. */
            start = i;
            while (i < len && q[i] != ' ' && q[i] != '"')
                i++;
            end = i;
            while (end > start && q[end - 1] == '*') {
                end--;
                prefix = 1;
            }
        }
        /* Only words with a letter or digit make a term: the rest (an
         * operator's punctuation, a lone '*') would match nothing or,
         * unquoted, be syntax. Inside double quotes nothing is syntax but
         * the quote itself, and no term holds one. */
        if (end == start || gw_store_query_check(q + start, end - start) != 0)
            continue;
        if (prefix) {
            size_t chars = 0;
            for (size_t c = start; c < end; c++)
                chars += ((unsigned char)q[c] & 0xc0) != 0x80;
            if (chars < GW_SQLITE_PREFIX_MIN_CHARS || prefixes == (int)GW_SQLITE_PREFIX_TERMS_MAX)
                prefix = 0; /* see GW_SQLITE_PREFIX_MIN_CHARS */
            else
                prefixes++;
        }
        size_t need = (terms ? 1u : 0u) + 2u + (end - start) + (prefix ? 1u : 0u) + 1u;
        if (o + need > cap) {
            out[0] = '\0';
            return GW_STORE_EINVAL;
        }
        if (terms)
            out[o++] = ' ';
        out[o++] = '"';
        memcpy(out + o, q + start, end - start);
        o += end - start;
        out[o++] = '"';
        if (prefix)
            out[o++] = '*';
        out[o] = '\0';
        terms++;
    }
    return terms ? terms : GW_STORE_EINVAL;
}

/* ---- rooms ---- */

/* The room number and last id of key. Returns 1 found, 0 not, or a
 * negative SQLite code. */
static int room_find(struct gw_sqlite *s, const char *key, int64_t *n, uint64_t *last)
{
    sqlite3_stmt *st = stmt(s, ST_ROOM_FIND);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        if (last)
            *last = (uint64_t)sqlite3_column_int64(st, 1);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = -rc;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return found;
}

/* ---- the batch ---- */

/* Queue a completion, merged with the room's latest one not yet reported
 * when it says the same (every event up to the later id). */
static void add_report(struct gw_sqlite *s, const char *key, uint64_t id, int status)
{
    for (size_t i = s->nreps; i > s->reps_sent; i--) {
        struct report *r = &s->reps[i - 1];
        if (strcmp(r->key, key) == 0) {
            if (r->status == status) {
                r->id = id;
                return;
            }
            break;
        }
    }
    /* commit_batch made sure of the room. */
    struct report *r = &s->reps[s->nreps++];
    memcpy(r->key, key, sizeof r->key);
    r->id = id;
    r->status = status;
}

static void batch_clear(struct gw_sqlite *s)
{
    s->nbev = s->nbrooms = s->last_broom = 0;
    s->arena_used = 0;
    s->naops = 0;
}

/* Bind a NUL-terminated text, kept by the caller until the step. */
static void bind_s(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Step st (no rows wanted, or one to see whether there is one), reset it
 * and clear its bindings. Returns the SQLite code. */
static int step_once(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* room_keep, in the transaction: o->status GW_STORE_DONE, GW_ACCOUNT_NONE
 * or GW_ACCOUNT_FULL. Returns SQLITE_DONE or the failing code. */
static int aop_room(struct gw_sqlite *s, struct aop *o)
{
    sqlite3_stmt *st = stmt(s, ST_ACC_HAS);
    bind_s(st, 1, o->key);
    int rc = step_once(st);
    if (rc == SQLITE_DONE) {
        o->status = GW_ACCOUNT_NONE;
        return SQLITE_DONE;
    }
    if (rc != SQLITE_ROW)
        return rc;
    o->status = GW_STORE_DONE;
    if (!o->in) {
        st = stmt(s, ST_AROOM_DEL);
        bind_s(st, 1, o->key);
        bind_s(st, 2, o->room);
        return step_once(st);
    }
    st = stmt(s, ST_AROOM_HAS);
    bind_s(st, 1, o->key);
    bind_s(st, 2, o->room);
    if ((rc = step_once(st)) == SQLITE_ROW)
        return SQLITE_DONE; /* a member already: as it was */
    if (rc != SQLITE_DONE)
        return rc;
    st = stmt(s, ST_AROOM_COUNT);
    bind_s(st, 1, o->key);
    rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW)
        return rc;
    if (n >= (int64_t)GW_ACCOUNT_ROOMS_MAX) {
        o->status = GW_ACCOUNT_FULL;
        return SQLITE_DONE;
    }
    st = stmt(s, ST_AROOM_ADD);
    bind_s(st, 1, o->key);
    bind_s(st, 2, o->room);
    return step_once(st);
}

/* pm_add, in the transaction: the account's next id into o->pm_id, the
 * message, and its oldest past GW_ACCOUNT_PMS_MAX deleted; o->status
 * GW_STORE_DONE or GW_ACCOUNT_NONE. Returns SQLITE_DONE or the failing
 * code. */
static int aop_pm(struct gw_sqlite *s, struct aop *o)
{
    sqlite3_stmt *st = stmt(s, ST_PM_NEXT);
    bind_s(st, 1, o->key);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return rc;
    if (id <= 0) {
        o->status = GW_ACCOUNT_NONE;
        return SQLITE_DONE;
    }
    st = stmt(s, ST_PM_ADD);
    bind_s(st, 1, o->key);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int64(st, 3, o->created_ms);
    bind_s(st, 4, o->nick);
    sqlite3_bind_int(st, 5, o->out);
    bind_s(st, 6, o->text);
    if ((rc = step_once(st)) != SQLITE_DONE)
        return rc;
    if (id > (int64_t)GW_ACCOUNT_PMS_MAX) {
        st = stmt(s, ST_PM_TRIM);
        bind_s(st, 1, o->key);
        sqlite3_bind_int64(st, 2, id - (int64_t)GW_ACCOUNT_PMS_MAX);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
    }
    o->pm_id = (uint64_t)id;
    o->status = GW_STORE_DONE;
    return SQLITE_DONE;
}

/*
 * One account write, inside the transaction, after those before it: its
 * answer in o->status (GW_STORE_DONE, GW_ACCOUNT_EXISTS, GW_ACCOUNT_NONE,
 * GW_ACCOUNT_FULL). Returns SQLITE_DONE or the failing code.
 */
static int aop_run(struct gw_sqlite *s, struct aop *o)
{
    sqlite3_stmt *st;
    int rc;
    switch (o->kind) {
    case AOP_CREATE:
        st = stmt(s, ST_ACC_ADD);
        bind_s(st, 1, o->key);
        bind_s(st, 2, o->nick);
        bind_s(st, 3, o->phc);
        sqlite3_bind_int64(st, 4, (int64_t)o->roles);
        sqlite3_bind_int64(st, 5, (int64_t)o->generation);
        sqlite3_bind_int64(st, 6, o->created_ms);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        o->status = sqlite3_changes(s->db) ? GW_STORE_DONE : GW_ACCOUNT_EXISTS;
        return SQLITE_DONE;
    case AOP_UPDATE:
        st = stmt(s, ST_ACC_SET);
        bind_s(st, 1, o->key);
        bind_s(st, 2, o->nick);
        bind_s(st, 3, o->phc);
        sqlite3_bind_int64(st, 4, (int64_t)o->roles);
        sqlite3_bind_int64(st, 5, (int64_t)o->generation);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        if (sqlite3_changes(s->db) == 0) {
            o->status = GW_ACCOUNT_NONE;
            return SQLITE_DONE;
        }
        /* Sessions of an older generation are over: they go now. */
        st = stmt(s, ST_SESS_DEL_OLDER);
        bind_s(st, 1, o->key);
        sqlite3_bind_int64(st, 2, (int64_t)o->generation);
        o->status = GW_STORE_DONE;
        return step_once(st);
    case AOP_REMOVE:
        st = stmt(s, ST_ACC_DEL);
        bind_s(st, 1, o->key);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        if (sqlite3_changes(s->db) == 0) {
            o->status = GW_ACCOUNT_NONE;
            return SQLITE_DONE;
        }
        st = stmt(s, ST_SESS_DEL_KEY);
        bind_s(st, 1, o->key);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        st = stmt(s, ST_AROOM_DEL_KEY);
        bind_s(st, 1, o->key);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        st = stmt(s, ST_PM_DEL_KEY);
        bind_s(st, 1, o->key);
        o->status = GW_STORE_DONE;
        return step_once(st);
    case AOP_ROOM:
        return aop_room(s, o);
    case AOP_MARK:
        st = stmt(s, ST_AROOM_MARK);
        bind_s(st, 1, o->key);
        bind_s(st, 2, o->room);
        sqlite3_bind_int64(st, 3, (int64_t)o->id);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        o->status = sqlite3_changes(s->db) ? GW_STORE_DONE : GW_ACCOUNT_NONE;
        return SQLITE_DONE;
    case AOP_PM:
        return aop_pm(s, o);
    case AOP_KEEP:
        st = stmt(s, ST_ACC_HAS);
        bind_s(st, 1, o->key);
        rc = step_once(st);
        if (rc == SQLITE_DONE) {
            o->status = GW_ACCOUNT_NONE;
            return SQLITE_DONE;
        }
        if (rc != SQLITE_ROW)
            return rc;
        st = stmt(s, ST_SESS_PUT);
        bind_s(st, 1, o->digest);
        bind_s(st, 2, o->key);
        sqlite3_bind_int64(st, 3, (int64_t)o->generation);
        sqlite3_bind_int64(st, 4, wall_now_ms());
        sqlite3_bind_int64(st, 5, o->expires_ms);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        st = stmt(s, ST_SESS_BOUND);
        bind_s(st, 1, o->key);
        sqlite3_bind_int64(st, 2, GW_SESSIONS_PER_ACCOUNT);
        o->status = GW_STORE_DONE;
        return step_once(st);
    case AOP_DROP:
        st = stmt(s, ST_SESS_DEL);
        bind_s(st, 1, o->digest);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        o->status = sqlite3_changes(s->db) ? GW_STORE_DONE : GW_ACCOUNT_NONE;
        return SQLITE_DONE;
    }
    return SQLITE_MISUSE;
}

/* By key, then by order of append (of two appends of one id, the first
 * is kept). */
static int by_key(const void *a, const void *b)
{
    const struct korder *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A deleted event's message (its key k): its words out of the search
 * index, then out of its row (ST_DEL_FTS, ST_DEL_BLANK). A message not
 * kept (gone by retention) or removed already changes nothing. Returns
 * SQLITE_DONE or the failing code. */
static int remove_words(struct gw_sqlite *s, int64_t k)
{
    static const enum stmt_id steps[] = {ST_DEL_FTS, ST_DEL_BLANK};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = stmt(s, steps[i]);
        sqlite3_bind_int64(st, 1, k);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE)
            return rc;
    }
    return SQLITE_DONE;
}

/* The batch's writes, inside the transaction. Returns SQLITE_DONE or the
 * failing code (SQLite's message says why). A room whose entry cannot be
 * made is marked refused and its events left out. */
static int batch_write(struct gw_sqlite *s, int64_t *nums)
{
    for (size_t r = 0; r < s->nbrooms; r++) {
        struct broom *b = &s->brooms[r];
        int f = room_find(s, b->key, &nums[r], NULL);
        if (f < 0)
            return -f;
        if (f == 0) {
            sqlite3_stmt *st = stmt(s, ST_ROOM_ADD);
            sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, b->name, -1, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            if (rc != SQLITE_DONE)
                return rc;
            nums[r] = sqlite3_last_insert_rowid(s->db);
            if (nums[r] < 1 || (uint64_t)nums[r] > GW_SQLITE_ROOMS_MAX) {
                /* This room alone cannot be kept: its entry goes again and
                 * its events are refused; the other rooms' are kept. */
                st = stmt(s, ST_ROOM_DEL);
                sqlite3_bind_int64(st, 1, nums[r]);
                rc = sqlite3_step(st);
                sqlite3_reset(st);
                if (rc != SQLITE_DONE)
                    return rc;
                b->refused = 1;
                s->stats.rooms_refused++;
            }
        }
    }
    /* In key order: FTS5 writes what it has gathered out as a segment of
     * its own whenever a key is lower than the one before, and the
     * batch's rooms interleave (unsorted, a batch took three times as long). */
    size_t nord = 0;
    for (size_t i = 0; i < s->nbev; i++) {
        if (s->brooms[s->bev[i].room].refused)
            continue;
        s->order[nord].k = ROOM_LO(nums[s->bev[i].room]) | (int64_t)s->bev[i].id;
        s->order[nord++].i = i;
    }
    qsort(s->order, nord, sizeof *s->order, by_key);
    sqlite3_stmt *st = stmt(s, ST_EV_ADD);
    for (size_t o = 0; o < nord; o++) {
        const struct bev *e = &s->bev[s->order[o].i];
        const char *p = s->arena + e->off;
        sqlite3_bind_int64(st, 1, s->order[o].k);
        sqlite3_bind_int64(st, 2, e->time_ms);
        sqlite3_bind_int(st, 3, e->type);
        sqlite3_bind_text(st, 4, p, (int)e->json_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, p + e->json_len, (int)e->line_len, SQLITE_STATIC);
        if (e->has_text)
            sqlite3_bind_text(st, 6, p + e->json_len + e->line_len, (int)e->text_len,
                              SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 6);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            sqlite3_clear_bindings(st);
            return rc;
        }
        if (sqlite3_changes(s->db) == 0)
            continue; /* a replay: kept already, words and all */
        s->stats.events_stored++;
        if (e->deletes && (rc = remove_words(s, ROOM_LO(nums[e->room]) | (int64_t)e->deletes)) !=
                              SQLITE_DONE) {
            sqlite3_clear_bindings(st);
            return rc;
        }
        if (e->has_text) {
            sqlite3_stmt *fst = stmt(s, ST_FTS_ADD);
            sqlite3_bind_int64(fst, 1, s->order[o].k);
            sqlite3_bind_text(fst, 2, p + e->json_len + e->line_len, (int)e->text_len,
                              SQLITE_STATIC);
            rc = sqlite3_step(fst);
            sqlite3_reset(fst);
            sqlite3_clear_bindings(fst);
            if (rc != SQLITE_DONE) {
                sqlite3_clear_bindings(st);
                return rc;
            }
        }
    }
    sqlite3_clear_bindings(st);
    st = stmt(s, ST_ROOM_LAST);
    for (size_t r = 0; r < s->nbrooms; r++) {
        if (s->brooms[r].refused)
            continue;
        sqlite3_bind_int64(st, 1, nums[r]);
        sqlite3_bind_int64(st, 2, (int64_t)s->brooms[r].last);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return rc;
    }
    return SQLITE_DONE;
}

static int rc_unrun(const struct gw_sqlite *s);
static int rc_run_writes(struct gw_sqlite *s);
static void rc_ran(struct gw_sqlite *s, int status);

/*
 * Commit the batch in one transaction and queue its rooms' completions.
 * Returns 0 (also for an empty batch), GW_STORE_EIO (rolled back: the
 * rooms get GW_STORE_EIO and the store is unhealthy), or GW_STORE_EBUSY
 * when the completions would not fit (nothing done).
 */
static int commit_batch(struct gw_sqlite *s)
{
    if (s->nbev == 0 && s->naops == 0 && !rc_unrun(s))
        return 0;
    if (s->nreps + s->nbrooms > GW_SQLITE_REPORTS_MAX ||
        s->nans + s->naops > GW_SQLITE_ANSWERS_MAX)
        return GW_STORE_EBUSY;
    int64_t t0 = mono_us();
    uint64_t stored0 = s->stats.events_stored;
    int rc = run(s, ST_BEGIN);
    if (rc == SQLITE_DONE)
        rc = batch_write(s, s->nums);
    /* The accounts' writes in the order they were made: each decided
     * after those before it in this same batch. */
    for (size_t i = 0; rc == SQLITE_DONE && i < s->naops; i++)
        rc = aop_run(s, &s->aops[i]);
    /* Then the rooms' configs' writes, in theirs. */
    if (rc == SQLITE_DONE)
        rc = rc_run_writes(s);
    if (rc == SQLITE_DONE)
        rc = run(s, ST_COMMIT);
    int status = GW_STORE_DONE;
    if (rc != SQLITE_DONE) {
        fail_rollback(s, rc);
        s->stats.events_stored = stored0;
        status = GW_STORE_EIO;
    } else {
        uint64_t us = (uint64_t)(mono_us() - t0);
        s->stats.batches++;
        s->stats.batch_us_sum += us;
        if (us > s->stats.batch_us_max)
            s->stats.batch_us_max = us;
        s->healthy = 1;
        s->why[0] = '\0';
    }
    for (size_t r = 0; r < s->nbrooms; r++)
        add_report(s, s->brooms[r].key, s->brooms[r].last,
                   s->brooms[r].refused ? GW_STORE_EIO : status);
    rc_ran(s, status);
    /* Answered only now, after the commit (or the rollback). */
    for (size_t i = 0; i < s->naops; i++) {
        struct aop *o = &s->aops[i];
        struct aanswer *a = &s->ans[s->nans++];
        a->tag = o->tag;
        a->status = status == GW_STORE_DONE ? o->status : GW_STORE_EIO;
        a->pm = o->kind == AOP_PM;
        a->text = NULL;
        if (a->pm && a->status == GW_STORE_DONE) {
            a->pm_id = o->pm_id;
            a->time_ms = o->created_ms;
            a->out = o->out;
            memcpy(a->peer, o->nick, sizeof a->peer);
            a->text = o->text; /* the answer's now */
            o->text = NULL;
        }
        free(o->text);
        o->text = NULL;
    }
    batch_clear(s);
    return status == GW_STORE_DONE ? 0 : GW_STORE_EIO;
}

/* Copy a NUL-terminated string of min..max bytes into dst (max + 1 bytes).
 * Returns 0 or -1. */
static int copy_str(char *dst, const char *src, size_t min, size_t max)
{
    if (!src)
        return -1;
    size_t n = strnlen(src, max + 1);
    if (n < min || n > max)
        return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int st_append(void *ctx, const char *room_key, const char *room_name,
                     const struct gw_store_event *ev)
{
    struct gw_sqlite *s = ctx;
    if (!ev || ev->id == 0 || ev->id > GW_SQLITE_ID_MAX)
        return GW_STORE_EINVAL;
    if ((!ev->json && ev->json_len) || (!ev->line && ev->line_len) ||
        (!ev->text && ev->text_len))
        return GW_STORE_EINVAL;
    size_t size = ev->json_len + ev->line_len + ev->text_len;
    if (ev->json_len > GW_SQLITE_EVENT_MAX_BYTES || ev->line_len > GW_SQLITE_EVENT_MAX_BYTES ||
        ev->text_len > GW_SQLITE_EVENT_MAX_BYTES || size > GW_SQLITE_EVENT_MAX_BYTES)
        return GW_STORE_EINVAL;
    char key[GW_SQLITE_KEY_MAX_BYTES + 1], name[GW_SQLITE_KEY_MAX_BYTES + 1];
    if (copy_str(key, room_key, 1, GW_SQLITE_KEY_MAX_BYTES) != 0 ||
        copy_str(name, room_name ? room_name : room_key, 1, GW_SQLITE_KEY_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    if (!s->healthy)
        return GW_STORE_EIO;
    /* Someone is back in a room it was to forget: it stays. */
    for (size_t i = 0; i < s->nforgets; i++)
        if (strcmp(s->forgets[i].key, key) == 0) {
            s->forgets[i] = s->forgets[--s->nforgets];
            break;
        }

    if (s->nbev == GW_SQLITE_BATCH_MAX_EVENTS || s->arena_used + size > GW_SQLITE_BATCH_MAX_BYTES) {
        /* Full: commit it now; its rooms are reported at the next flush. */
        int rc = commit_batch(s);
        if (rc == GW_STORE_EBUSY)
            return GW_STORE_EBUSY;
        if (rc != 0)
            return GW_STORE_EIO;
    }

    size_t r = s->last_broom;
    if (r >= s->nbrooms || strcmp(s->brooms[r].key, key) != 0) {
        for (r = 0; r < s->nbrooms; r++)
            if (strcmp(s->brooms[r].key, key) == 0)
                break;
        if (r == s->nbrooms) {
            memcpy(s->brooms[r].key, key, sizeof key);
            memcpy(s->brooms[r].name, name, sizeof name);
            s->brooms[r].refused = 0;
            s->nbrooms++;
        }
        s->last_broom = r;
    }
    struct bev *e = &s->bev[s->nbev++];
    e->room = r;
    e->id = ev->id;
    e->time_ms = ev->time_ms;
    e->type = ev->type;
    e->off = s->arena_used;
    e->json_len = ev->json_len;
    e->line_len = ev->line_len;
    e->text_len = ev->text_len;
    e->has_text = ev->text != NULL;
    e->deletes = ev->deletes <= GW_SQLITE_ID_MAX ? ev->deletes : 0;
    char *p = s->arena + s->arena_used;
    if (ev->json_len)
        memcpy(p, ev->json, ev->json_len);
    if (ev->line_len)
        memcpy(p + ev->json_len, ev->line, ev->line_len);
    if (ev->text_len)
        memcpy(p + ev->json_len + ev->line_len, ev->text, ev->text_len);
    s->arena_used += size;
    s->brooms[r].last = ev->id;
    return GW_STORE_PENDING;
}

/* ---- accounts: the calls ---- */

static int copy_digest(char *dst, const char *src)
{
    if (copy_str(dst, src, GW_DIGEST_HEX_LEN, GW_DIGEST_HEX_LEN) != 0)
        return -1;
    for (const char *c = dst; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return -1;
    return 0;
}

/* Fill o from a (create, update). Returns 0 or GW_STORE_EINVAL. */
static int aop_account(struct aop *o, enum aop_kind kind, uint64_t tag,
                       const struct gw_account *a)
{
    memset(o, 0, sizeof *o);
    if (!a || copy_str(o->key, a->key, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0 ||
        copy_str(o->nick, a->nick, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0 ||
        copy_str(o->phc, a->phc, 0, GW_ACCOUNT_PHC_MAX_BYTES) != 0 ||
        a->generation > (uint64_t)INT64_MAX)
        return GW_STORE_EINVAL;
    o->kind = kind;
    o->tag = tag;
    o->status = GW_STORE_EIO; /* until decided in the transaction */
    o->roles = a->roles;
    o->generation = a->generation;
    o->created_ms = a->created_ms;
    o->digest[0] = '\0';
    return 0;
}

/* The batch's next account write, made room for: the batch is committed
 * first when it holds GW_SQLITE_ACCOUNT_OPS_MAX. Returns it (the caller
 * fills it and counts it in), or NULL with *rc a failure. */
static struct aop *aop_next(struct gw_sqlite *s, int *rc)
{
    if (!s->healthy) {
        *rc = GW_STORE_EIO;
        return NULL;
    }
    if (s->naops == GW_SQLITE_ACCOUNT_OPS_MAX) {
        /* Full: commit it now; its answers come at the next flush. */
        int c = commit_batch(s);
        if (c != 0) {
            *rc = c == GW_STORE_EBUSY ? GW_STORE_EBUSY : GW_STORE_EIO;
            return NULL;
        }
    }
    if (s->nans + s->naops >= GW_SQLITE_ANSWERS_MAX) {
        *rc = GW_STORE_EBUSY;
        return NULL;
    }
    return &s->aops[s->naops];
}

/* Queue o as the batch's next account write: GW_STORE_PENDING, or
 * aop_next's failure. */
static int aop_queue(struct gw_sqlite *s, const struct aop *o)
{
    int rc = 0;
    struct aop *to = aop_next(s, &rc);
    if (!to)
        return rc;
    *to = *o;
    s->naops++;
    return GW_STORE_PENDING;
}

static int acc_write(struct gw_sqlite *s, enum aop_kind kind, uint64_t tag,
                     const struct gw_account *a)
{
    struct aop o;
    if (aop_account(&o, kind, tag, a) != 0)
        return GW_STORE_EINVAL;
    return aop_queue(s, &o);
}

static int acc_create(void *ctx, uint64_t tag, const struct gw_account *a)
{
    return acc_write(ctx, AOP_CREATE, tag, a);
}

static int acc_update(void *ctx, uint64_t tag, const struct gw_account *a)
{
    return acc_write(ctx, AOP_UPDATE, tag, a);
}

static int acc_remove(void *ctx, uint64_t tag, const char *key)
{
    struct gw_sqlite *s = ctx;
    struct aop o = {.kind = AOP_REMOVE, .status = GW_STORE_EIO, .tag = tag};
    if (copy_str(o.key, key, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    return aop_queue(s, &o);
}

static int acc_session_keep(void *ctx, uint64_t tag, const char *digest_hex, const char *key,
                            uint64_t generation, int64_t expires_ms)
{
    struct gw_sqlite *s = ctx;
    struct aop o = {.kind = AOP_KEEP, .status = GW_STORE_EIO, .tag = tag, .generation = generation,
                    .expires_ms = expires_ms};
    if (copy_digest(o.digest, digest_hex) != 0 ||
        copy_str(o.key, key, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0 ||
        generation > (uint64_t)INT64_MAX)
        return GW_STORE_EINVAL;
    return aop_queue(s, &o);
}

static int acc_session_drop(void *ctx, uint64_t tag, const char *digest_hex)
{
    struct gw_sqlite *s = ctx;
    struct aop o = {.kind = AOP_DROP, .status = GW_STORE_EIO, .tag = tag};
    if (copy_digest(o.digest, digest_hex) != 0)
        return GW_STORE_EINVAL;
    return aop_queue(s, &o);
}

/* An account and a room (room_keep, read_mark). Returns 0 or
 * GW_STORE_EINVAL. */
static int aop_key_room(struct aop *o, enum aop_kind kind, uint64_t tag, const char *key,
                        const char *room)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->tag = tag;
    o->status = GW_STORE_EIO;
    if (copy_str(o->key, key, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0 ||
        copy_str(o->room, room, 1, GW_ACCOUNT_ROOM_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    return 0;
}

static int acc_room_keep(void *ctx, uint64_t tag, const char *key, const char *room, int in)
{
    struct aop o;
    if (aop_key_room(&o, AOP_ROOM, tag, key, room) != 0 || (in != 0 && in != 1))
        return GW_STORE_EINVAL;
    o.in = in;
    return aop_queue(ctx, &o);
}

static int acc_read_mark(void *ctx, uint64_t tag, const char *key, const char *room, uint64_t id)
{
    struct aop o;
    if (aop_key_room(&o, AOP_MARK, tag, key, room) != 0 || id > GW_ACCOUNT_ID_MAX)
        return GW_STORE_EINVAL;
    o.id = id;
    return aop_queue(ctx, &o);
}

static int acc_pm_add(void *ctx, uint64_t tag, const char *key, const struct gw_account_pm *pm)
{
    struct gw_sqlite *s = ctx;
    struct aop o;
    memset(&o, 0, sizeof o);
    o.kind = AOP_PM;
    o.tag = tag;
    o.status = GW_STORE_EIO;
    if (!s->acc_sink.pms || !pm || copy_str(o.key, key, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0 ||
        copy_str(o.nick, pm->peer, 1, GW_ACCOUNT_PEER_MAX_BYTES) != 0 || !pm->text ||
        strnlen(pm->text, GW_ACCOUNT_TEXT_MAX_BYTES + 1) > GW_ACCOUNT_TEXT_MAX_BYTES ||
        (pm->out != 0 && pm->out != 1))
        return GW_STORE_EINVAL;
    o.created_ms = pm->time_ms;
    o.out = pm->out;
    if (!(o.text = strdup(pm->text)))
        return GW_STORE_ENOMEM;
    int rc = aop_queue(s, &o);
    if (rc != GW_STORE_PENDING)
        free(o.text);
    return rc;
}

/* A find or session_find, queued like a read: handed to a reader after
 * the commit that follows it, so it sees every write made before it. */
static int acc_read(struct gw_sqlite *s, enum pread_acct kind, uint64_t tag, const char *arg,
                    int64_t now_ms)
{
    if (s->inflight >= GW_SQLITE_READS_MAX)
        return GW_STORE_EBUSY;
    struct pread *p = &s->reads[s->nreads];
    int bad = kind == PR_SESS_FIND ? copy_digest(p->akey, arg)
              : kind == PR_ACC_KEYS || kind == PR_ROOM_ACCTS
                  ? copy_str(p->akey, arg, 0, GW_ACCOUNT_KEY_MAX_BYTES)
                  : copy_str(p->akey, arg, 1, GW_ACCOUNT_KEY_MAX_BYTES);
    if (bad)
        return GW_STORE_EINVAL;
    p->acct = kind;
    p->now_ms = now_ms;
    p->kind = GW_STORE_AFTER;
    p->load = 0;
    p->tag = tag;
    p->id = 0;
    p->limit = 0;
    p->key[0] = '\0';
    p->fts[0] = '\0';
    s->nreads++;
    s->inflight++;
    return GW_STORE_PENDING;
}

static int acc_find(void *ctx, uint64_t tag, const char *key)
{
    return acc_read(ctx, PR_ACC_FIND, tag, key, 0);
}

static int acc_session_find(void *ctx, uint64_t tag, const char *digest_hex, int64_t now_ms)
{
    return acc_read(ctx, PR_SESS_FIND, tag, digest_hex, now_ms);
}

static int acc_rooms_of(void *ctx, uint64_t tag, const char *key)
{
    struct gw_sqlite *s = ctx;
    if (!s->acc_sink.rooms)
        return GW_STORE_EINVAL;
    return acc_read(s, PR_ROOMS_OF, tag, key, 0);
}

/* The room goes in the read's key, the cursor as keys' does. */
static int acc_room_accounts(void *ctx, uint64_t tag, const char *room, const char *cursor)
{
    struct gw_sqlite *s = ctx;
    char key[GW_ACCOUNT_ROOM_MAX_BYTES + 1];
    if (!s->acc_sink.keys || copy_str(key, room, 1, GW_ACCOUNT_ROOM_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    int rc = acc_read(s, PR_ROOM_ACCTS, tag, cursor, 0);
    if (rc == GW_STORE_PENDING)
        memcpy(s->reads[s->nreads - 1].key, key, sizeof key);
    return rc;
}

static int acc_pm_after(void *ctx, uint64_t tag, const char *key, uint64_t after_id,
                        size_t limit)
{
    struct gw_sqlite *s = ctx;
    if (!s->acc_sink.pms || after_id > GW_ACCOUNT_ID_MAX)
        return GW_STORE_EINVAL;
    int rc = acc_read(s, PR_PM_AFTER, tag, key, 0);
    if (rc == GW_STORE_PENDING) {
        struct pread *p = &s->reads[s->nreads - 1];
        p->id = after_id;
        p->limit = limit < GW_ACCOUNT_PMS_PAGE ? (unsigned)limit : GW_ACCOUNT_PMS_PAGE;
    }
    return rc;
}

/* The cursor is the last name given ("" for the first page): a name of
 * at most GW_ACCOUNT_KEY_MAX_BYTES, anything else is refused. */
static int acc_keys(void *ctx, uint64_t tag, const char *cursor)
{
    struct gw_sqlite *s = ctx;
    if (!s->acc_sink.keys)
        return GW_STORE_EINVAL;
    return acc_read(s, PR_ACC_KEYS, tag, cursor, 0);
}

/* ---- reads ---- */

static int st_read(void *ctx, const struct gw_store_read *rd)
{
    struct gw_sqlite *s = ctx;
    if (!rd || rd->limit < 1 || rd->limit > GW_STORE_READ_MAX)
        return GW_STORE_EINVAL;
    if (rd->kind != GW_STORE_BEFORE && rd->kind != GW_STORE_AFTER && rd->kind != GW_STORE_SEARCH)
        return GW_STORE_EINVAL;
    if (s->inflight >= GW_SQLITE_READS_MAX)
        return GW_STORE_EBUSY;
    struct pread *p = &s->reads[s->nreads];
    if (copy_str(p->key, rd->room_key, 1, GW_SQLITE_KEY_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    p->fts[0] = '\0';
    if (rd->kind == GW_STORE_SEARCH) {
        if (gw_store_query_check(rd->q, rd->q_len) != 0 ||
            gw_sqlite_fts_query(rd->q, rd->q_len, p->fts, sizeof p->fts) < 1)
            return GW_STORE_EINVAL;
    }
    p->kind = rd->kind;
    p->acct = PR_EVENTS;
    p->load = 0;
    p->tag = rd->tag;
    p->id = rd->id;
    p->limit = rd->limit;
    s->nreads++;
    s->inflight++;
    return GW_STORE_PENDING;
}

/* A reader's progress handler: nonzero stops its search. */
static int on_progress(void *arg)
{
    const struct reader *r = arg;
    return search_clock(r->s) >= r->deadline_us;
}

/* A column's text and its length (NULL, 0 for NULL). */
static const char *col_text(sqlite3_stmt *st, int i, size_t *len)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    *len = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    return t;
}

/* The event of a result row (k, time, type, json, line, text), its strings
 * borrowed from the statement until its next step. */
static void row_event(sqlite3_stmt *st, struct gw_store_event *ev)
{
    ev->id = (uint64_t)sqlite3_column_int64(st, 0) & GW_SQLITE_ID_MAX;
    ev->time_ms = sqlite3_column_int64(st, 1);
    ev->type = sqlite3_column_int(st, 2);
    ev->json = col_text(st, 3, &ev->json_len);
    ev->line = col_text(st, 4, &ev->line_len);
    ev->text = col_text(st, 5, &ev->text_len);
    if (!ev->json)
        ev->json = "";
    if (!ev->line)
        ev->line = "";
}

/*
 * Read r->job on the reader's own connection, in its thread: the answer
 * (r->status, r->rows[0..r->got), r->more) is copied into the reader's
 * arena, to be reported by the loop. Touches nothing of the engine but
 * its constant options (the clock, the search bound).
 */
static void run_read(struct reader *r)
{
    const struct pread *rd = &r->job;
    const struct gw_sqlite *s = r->s;
    r->status = 0;
    r->got = 0;
    r->more = 0;
    sqlite3_stmt *st = r->st[RD_ROOM_FIND];
    sqlite3_bind_text(st, 1, rd->key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            r->status = GW_STORE_EIO;
        return; /* else a room never seen: no events */
    }
    int64_t lo = ROOM_LO(n), hi = ROOM_HI(n);
    int at = 1; /* the parameter of the range's start; limit after its end */
    if (rd->kind == GW_STORE_AFTER) {
        if (rd->id >= GW_SQLITE_ID_MAX)
            return;
        lo |= (int64_t)rd->id + 1;
        st = r->st[RD_AFTER];
    } else {
        /* BEFORE and SEARCH: below id, or from the newest (0, or an id
         * past any the room can have). */
        if (rd->id == 1)
            return;
        if (rd->id && rd->id <= GW_SQLITE_ID_MAX)
            hi = lo | (int64_t)(rd->id - 1);
        lo |= 1;
        if (rd->kind == GW_STORE_SEARCH) {
            st = r->st[RD_SEARCH];
            sqlite3_bind_text(st, 1, rd->fts, -1, SQLITE_STATIC);
            at = 2;
        } else {
            st = r->st[RD_BEFORE];
        }
    }
    sqlite3_bind_int64(st, at, lo);
    sqlite3_bind_int64(st, at + 1, hi);
    sqlite3_bind_int64(st, at + 2, (int64_t)rd->limit + 1); /* one more: is there more? */
    if (rd->kind == GW_STORE_SEARCH) {
        r->deadline_us = search_clock(s) + (int64_t)s->search_ms * 1000;
        sqlite3_progress_handler(r->db, PROGRESS_OPS, on_progress, r);
    }
    size_t used = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->got == rd->limit) {
            r->more = 1;
            break;
        }
        struct gw_store_event ev;
        row_event(st, &ev);
        size_t size = ev.json_len + ev.line_len + ev.text_len;
        if (used + size > GW_SQLITE_ROWS_MAX_BYTES) {
            r->more = 1; /* the rest in another read */
            break;
        }
        char *p = r->arena + used;
        memcpy(p, ev.json, ev.json_len);
        ev.json = p;
        memcpy(p + ev.json_len, ev.line, ev.line_len);
        ev.line = p + ev.json_len;
        if (ev.text) {
            memcpy(p + ev.json_len + ev.line_len, ev.text, ev.text_len);
            ev.text = p + ev.json_len + ev.line_len;
        }
        used += size;
        r->rows[r->got++] = ev;
    }
    if (rd->kind == GW_STORE_SEARCH)
        sqlite3_progress_handler(r->db, 0, NULL, NULL);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r->status = (rc & 0xff) == SQLITE_INTERRUPT ? GW_STORE_EBUSY : GW_STORE_EIO;
        r->got = 0;
        r->more = 0;
    }
}

/*
 * Load r->job's room on the reader's connection, in its thread: its
 * latest id, and its latest events (at most limit, max_bytes of JSON, and
 * what the arena holds of JSON and lines), oldest first, into the arena.
 */
static void run_load(struct reader *r)
{
    const struct pread *rd = &r->job;
    r->status = 0;
    r->got = 0;
    r->more = 0;
    r->last = rd->id;
    sqlite3_stmt *st = r->st[RD_ROOM_FIND];
    sqlite3_bind_text(st, 1, rd->key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    uint64_t last = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 1) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            r->status = GW_STORE_EIO;
        else if (rd->floor > r->last)
            r->last = rd->floor; /* new, or forgotten: above every id given before */
        return; /* else a room never seen: empty */
    }
    if (last > r->last)
        r->last = last;
    /* Newest first, to find where the bounds stop... */
    st = r->st[RD_LOAD_SIZES];
    int64_t lo = ROOM_LO(n), hi = ROOM_HI(n), from = hi;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    sqlite3_bind_int64(st, 3, rd->limit);
    size_t bytes = 0, both = 0;
    int any = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        size_t line = (size_t)sqlite3_column_bytes(st, 2);
        if (bytes + len > rd->max_bytes || both + len + line > GW_SQLITE_ROWS_MAX_BYTES)
            break;
        bytes += len;
        both += len + line;
        from = sqlite3_column_int64(st, 0);
        any = 1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r->status = GW_STORE_EIO;
        return;
    }
    if (!any)
        return;
    /* ...then oldest first from there, without the words (not needed). */
    st = r->st[RD_LOAD];
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, hi);
    size_t used = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->got < RD_ROWS_MAX) {
        struct gw_store_event ev;
        row_event(st, &ev);
        if (used + ev.json_len + ev.line_len > GW_SQLITE_ROWS_MAX_BYTES)
            break; /* grown since the sizes were read: the newest wait for no one */
        char *p = r->arena + used;
        memcpy(p, ev.json, ev.json_len);
        ev.json = p;
        memcpy(p + ev.json_len, ev.line, ev.line_len);
        ev.line = p + ev.json_len;
        ev.text = NULL;
        ev.text_len = 0;
        used += ev.json_len + ev.line_len;
        r->rows[r->got++] = ev;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r->status = GW_STORE_EIO;
        r->got = 0;
    }
}

/* Copy a text column into the arena at *used (NUL-terminated). */
static const char *arena_text(struct reader *r, sqlite3_stmt *st, int i, size_t *used)
{
    size_t len = 0;
    const char *t = col_text(st, i, &len);
    char *p = r->arena + *used;
    if (len)
        memcpy(p, t, len);
    p[len] = '\0';
    *used += len + 1;
    return p;
}

/* The account of r->job (find by key, or session_find by digest at
 * now_ms), in the reader's thread: r->status is GW_STORE_DONE with
 * r->acct (its strings in the arena: each at most its bound, far below
 * the arena's size), GW_ACCOUNT_NONE, or GW_STORE_EIO. */
static void run_account(struct reader *r)
{
    const struct pread *rd = &r->job;
    sqlite3_stmt *st = r->st[rd->acct == PR_ACC_FIND ? RD_ACC_FIND : RD_SESS_FIND];
    sqlite3_bind_text(st, 1, rd->akey, -1, SQLITE_STATIC);
    if (rd->acct == PR_SESS_FIND)
        sqlite3_bind_int64(st, 2, rd->now_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t used = 0;
        r->acct.key = arena_text(r, st, 0, &used);
        r->acct.nick = arena_text(r, st, 1, &used);
        r->acct.phc = arena_text(r, st, 2, &used);
        r->acct.roles = (unsigned)sqlite3_column_int64(st, 3);
        r->acct.generation = (uint64_t)sqlite3_column_int64(st, 4);
        r->acct.created_ms = sqlite3_column_int64(st, 5);
        r->status = GW_STORE_DONE;
    } else {
        r->status = rc == SQLITE_DONE ? GW_ACCOUNT_NONE : GW_STORE_EIO;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/*
 * A page of names after r->job's cursor, in the reader's thread: one more
 * than a page is asked for, so that a page is full exactly when there is
 * more (next: its last name) and the last page says so (next ""). An
 * empty database gives one empty page. r->status: GW_STORE_DONE or
 * GW_STORE_EIO.
 */
static void run_keys(struct reader *r)
{
    const struct pread *rd = &r->job;
    sqlite3_stmt *st;
    if (rd->acct == PR_ROOM_ACCTS) { /* the room's members: as keys, in the room */
        st = r->st[RD_ROOM_ACCTS];
        sqlite3_bind_text(st, 1, rd->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rd->akey, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, GW_ACCOUNT_KEYS_PAGE + 1);
    } else {
        st = r->st[RD_ACC_KEYS];
        sqlite3_bind_text(st, 1, rd->akey, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, GW_ACCOUNT_KEYS_PAGE + 1);
    }
    size_t used = 0;
    int rc;
    r->got = 0;
    r->next[0] = '\0';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->got == GW_ACCOUNT_KEYS_PAGE) {
            snprintf(r->next, sizeof r->next, "%s", r->keys[r->got - 1]);
            break;
        }
        r->keys[r->got++] = arena_text(r, st, 0, &used);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    r->status = rc == SQLITE_ROW || rc == SQLITE_DONE ? GW_STORE_DONE : GW_STORE_EIO;
    if (r->status != GW_STORE_DONE) {
        r->got = 0;
        r->next[0] = '\0';
    }
}

/* rooms_of, in the reader's thread: r->got rooms in r->rrows (strings in
 * the arena), r->status GW_STORE_DONE, GW_ACCOUNT_NONE or GW_STORE_EIO. */
static void run_rooms(struct reader *r)
{
    sqlite3_stmt *st = r->st[RD_ROOMS_OF];
    sqlite3_bind_text(st, 1, r->job.akey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, GW_ACCOUNT_ROOMS_MAX);
    size_t used = 0;
    int rc, rows = 0;
    r->got = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
            continue; /* the account, in no room */
        r->rrows[r->got].room = arena_text(r, st, 0, &used);
        r->rrows[r->got++].read_id = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    r->status = rc != SQLITE_DONE ? GW_STORE_EIO : rows ? GW_STORE_DONE : GW_ACCOUNT_NONE;
    if (r->status != GW_STORE_DONE)
        r->got = 0;
}

/* pm_after, in the reader's thread: r->got messages in r->prows (at most
 * the job's limit; strings in the arena), r->status as run_rooms'. */
static void run_pms(struct reader *r)
{
    const struct pread *rd = &r->job;
    sqlite3_stmt *st = r->st[RD_PM_AFTER];
    sqlite3_bind_text(st, 1, rd->akey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)rd->id);
    sqlite3_bind_int64(st, 3, rd->limit ? rd->limit : 1); /* 1: does the account exist? */
    size_t used = 0;
    int rc, rows = 0;
    r->got = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL || r->got == rd->limit)
            continue; /* none after after_id, or past the limit */
        struct gw_account_pm *pm = &r->prows[r->got++];
        pm->id = (uint64_t)sqlite3_column_int64(st, 0);
        pm->time_ms = sqlite3_column_int64(st, 1);
        pm->peer = arena_text(r, st, 2, &used);
        pm->out = sqlite3_column_int(st, 3) != 0;
        pm->text = arena_text(r, st, 4, &used);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    r->status = rc != SQLITE_DONE ? GW_STORE_EIO : rows ? GW_STORE_DONE : GW_ACCOUNT_NONE;
    if (r->status != GW_STORE_DONE)
        r->got = 0;
}

/* A reader's thread: take a job, read it, leave the answer for the loop
 * and wake it, wait until the loop has reported it; until told to stop. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct gw_sqlite *s = r->s;
    pthread_mutex_lock(&s->rd_mu);
    for (;;) {
        while (!s->rd_stop && (r->state != RD_IDLE || s->njobs == 0))
            pthread_cond_wait(&s->rd_cv, &s->rd_mu);
        if (s->rd_stop)
            break;
        r->job = s->jobs[s->jobs_head];
        s->jobs_head = (s->jobs_head + 1) % GW_SQLITE_READS_MAX;
        s->njobs--;
        r->state = RD_RUNNING;
        pthread_mutex_unlock(&s->rd_mu);
        if (r->job.acct == PR_ACC_KEYS || r->job.acct == PR_ROOM_ACCTS)
            run_keys(r);
        else if (r->job.acct == PR_ROOMS_OF)
            run_rooms(r);
        else if (r->job.acct == PR_PM_AFTER)
            run_pms(r);
        else if (r->job.acct != PR_EVENTS)
            run_account(r);
        else if (r->job.load)
            run_load(r);
        else
            run_read(r);
        pthread_mutex_lock(&s->rd_mu);
        r->state = RD_ANSWERED;
        atomic_fetch_add(&s->answers, 1);
        uint64_t one = 1;
        ssize_t w = write(s->rd_fd, &one, sizeof one);
        (void)w; /* a full counter is still readable: the loop wakes */
    }
    pthread_mutex_unlock(&s->rd_mu);
    return NULL;
}

/* Hand the reads that waited for this flush's commit to the readers. */
static void hand_reads(struct gw_sqlite *s)
{
    if (s->nreads == 0)
        return;
    pthread_mutex_lock(&s->rd_mu);
    for (size_t i = 0; i < s->nreads; i++) {
        /* inflight bounds the ring: it cannot be full. */
        /* After this flush's forgets: a room forgotten now starts above. */
        s->reads[i].floor = s->floor;
        s->jobs[(s->jobs_head + s->njobs) % GW_SQLITE_READS_MAX] = s->reads[i];
        s->njobs++;
    }
    pthread_cond_broadcast(&s->rd_cv);
    pthread_mutex_unlock(&s->rd_mu);
    s->nreads = 0;
}

static void drain_reports(struct gw_sqlite *s);
static void rc_report(struct gw_sqlite *s);
static int rc_prepare(struct gw_sqlite *s);

/* Report the readers' answers (sink.rows), on the loop's thread, and set
 * those readers free for the next job. */
static void report_answers(struct gw_sqlite *s)
{
    uint64_t v;
    ssize_t got = read(s->rd_fd, &v, sizeof v); /* clears the wake-up */
    (void)got;
    if (atomic_load(&s->answers) == 0)
        return;
    struct reader *done[GW_SQLITE_READERS_MAX];
    size_t n = 0;
    pthread_mutex_lock(&s->rd_mu);
    for (unsigned i = 0; i < s->readers_started; i++)
        if (s->readers[i].state == RD_ANSWERED)
            done[n++] = &s->readers[i];
    pthread_mutex_unlock(&s->rd_mu);
    for (size_t i = 0; i < n; i++) {
        struct reader *r = done[i];
        /* A commit made meanwhile by a sink's append (a full batch) is
         * reported first: an answer never holds an event its reader was
         * not sent. */
        drain_reports(s);
        s->inflight--;
        /* The reader waits for RD_IDLE: its rows stay as they are. */
        if (r->job.acct == PR_ROOMS_OF || r->job.acct == PR_PM_AFTER) {
            int ok = r->status == GW_STORE_DONE;
            if (r->job.acct == PR_ROOMS_OF && s->acc_sink.rooms)
                s->acc_sink.rooms(s->acc_sink.ctx, r->job.tag, r->status, ok ? r->rrows : NULL,
                                  ok ? r->got : 0);
            else if (r->job.acct == PR_PM_AFTER && s->acc_sink.pms)
                s->acc_sink.pms(s->acc_sink.ctx, r->job.tag, r->status, ok ? r->prows : NULL,
                                ok ? r->got : 0);
        } else if (r->job.acct == PR_ACC_KEYS || r->job.acct == PR_ROOM_ACCTS) {
            if (s->acc_sink.keys)
                s->acc_sink.keys(s->acc_sink.ctx, r->job.tag, r->status,
                                 r->status == GW_STORE_DONE ? r->keys : NULL, r->got, r->next);
        } else if (r->job.acct != PR_EVENTS) {
            if (s->acc_sink.answer)
                s->acc_sink.answer(s->acc_sink.ctx, r->job.tag, r->status,
                                   r->status == GW_STORE_DONE ? &r->acct : NULL);
        } else if (r->job.load) {
            if (s->sink.loaded)
                s->sink.loaded(s->sink.ctx, r->job.key, r->status, r->last,
                               r->status ? NULL : r->rows, r->status ? 0 : r->got);
        } else {
            s->stats.reads++;
            if (r->status == GW_STORE_EBUSY)
                s->stats.search_timeouts++;
            s->sink.rows(s->sink.ctx, r->job.tag, r->status, r->status ? NULL : r->rows,
                         r->status ? 0 : r->got, r->more);
        }
        pthread_mutex_lock(&s->rd_mu);
        r->state = RD_IDLE;
        atomic_fetch_sub(&s->answers, 1);
        pthread_cond_broadcast(&s->rd_cv);
        pthread_mutex_unlock(&s->rd_mu);
    }
}

/* Open a reader's connection (read-only: WAL lets it read beside the
 * writer) and its statements. Returns 0 or a code. */
static int open_reader(struct gw_sqlite *s, struct reader *r, char *err, size_t errlen)
{
    static const enum stmt_id from[RD_COUNT] = {
        [RD_ROOM_FIND] = ST_ROOM_FIND, [RD_BEFORE] = ST_BEFORE, [RD_AFTER] = ST_AFTER,
        [RD_SEARCH] = ST_SEARCH, [RD_LOAD_SIZES] = ST_LOAD_SIZES, [RD_LOAD] = ST_LOAD,
        [RD_ACC_FIND] = ST_ACC_FIND, [RD_SESS_FIND] = ST_SESS_FIND,
        [RD_ACC_KEYS] = ST_ACC_KEYS, [RD_ROOMS_OF] = ST_ROOMS_OF,
        [RD_ROOM_ACCTS] = ST_ROOM_ACCTS, [RD_PM_AFTER] = ST_PM_AFTER,
    };
    r->s = s;
    r->rows = malloc(RD_ROWS_MAX * sizeof *r->rows);
    r->arena = malloc(GW_SQLITE_ROWS_MAX_BYTES);
    if (!r->rows || !r->arena) {
        put(err, errlen, "%s: out of memory", s->path);
        return GW_SQLITE_ENOMEM;
    }
    int rc = sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(r->db, 1);
        sqlite3_busy_timeout(r->db, GW_SQLITE_BUSY_MS);
    }
    for (int i = 0; rc == SQLITE_OK && i < RD_COUNT; i++)
        rc = sqlite3_prepare_v3(r->db, stmt_sql[from[i]], -1, SQLITE_PREPARE_PERSISTENT,
                                &r->st[i], NULL);
    if (rc != SQLITE_OK) {
        put(err, errlen, "cannot open %s for reading: %s", s->path,
            r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        return GW_SQLITE_EIO;
    }
    return 0;
}

/* Start the readers. Returns 0 or a code (those started are stopped by
 * stop_readers). */
static int start_readers(struct gw_sqlite *s, char *err, size_t errlen)
{
    for (unsigned i = 0; i < s->nreaders; i++) {
        struct reader *r = &s->readers[i];
        int rc = open_reader(s, r, err, errlen);
        if (rc != 0)
            return rc;
        if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
            put(err, errlen, "%s: cannot start a reader thread", s->path);
            return GW_SQLITE_ENOMEM;
        }
        s->readers_started++;
    }
    return 0;
}

/* Stop and join the readers (a read under way ends first: a search at its
 * bound at most), and close their connections. Answers not reported are
 * dropped. */
static void stop_readers(struct gw_sqlite *s)
{
    if (s->readers_started) {
        pthread_mutex_lock(&s->rd_mu);
        s->rd_stop = 1;
        pthread_cond_broadcast(&s->rd_cv);
        pthread_mutex_unlock(&s->rd_mu);
        for (unsigned i = 0; i < s->readers_started; i++)
            pthread_join(s->readers[i].thread, NULL);
        s->readers_started = 0;
    }
    for (unsigned i = 0; s->readers && i < s->nreaders; i++) {
        struct reader *r = &s->readers[i];
        for (int j = 0; j < RD_COUNT; j++) {
            sqlite3_finalize(r->st[j]);
            r->st[j] = NULL;
        }
        if (r->db)
            sqlite3_close(r->db);
        r->db = NULL;
        free(r->rows);
        free(r->arena);
        r->rows = NULL;
        r->arena = NULL;
    }
}

/* ---- load ---- */

static int st_load(void *ctx, const char *room_key, size_t max_events, size_t max_bytes,
                   uint64_t *last_id, void (*each)(void *arg, const struct gw_store_event *ev),
                   void *arg)
{
    struct gw_sqlite *s = ctx;
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    if (last_id)
        *last_id = 0;
    if (copy_str(key, room_key, 1, GW_SQLITE_KEY_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    /* Events of this room still in the batch are committed first, so the
     * room opens with them; should that fail, their ids still count. */
    uint64_t pending = 0;
    for (size_t r = 0; r < s->nbrooms; r++)
        if (strcmp(s->brooms[r].key, key) == 0)
            pending = s->brooms[r].last;
    if (pending)
        commit_batch(s);
    int64_t n = 0;
    uint64_t last = 0;
    int f = room_find(s, key, &n, &last);
    if (f < 0)
        return GW_STORE_EIO;
    if (f == 0)
        last = s->floor; /* new, or forgotten: above every id given before */
    if (last_id)
        *last_id = last > pending ? last : pending;
    if (f == 0 || max_events == 0 || !each)
        return 0;

    /* Newest first, to find where max_events and max_bytes stop... */
    sqlite3_stmt *st = stmt(s, ST_LOAD_SIZES);
    int64_t lo = ROOM_LO(n), hi = ROOM_HI(n), from = hi;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    sqlite3_bind_int64(st, 3, max_events > INT64_MAX ? INT64_MAX : (int64_t)max_events);
    size_t bytes = 0;
    int rc, any = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (bytes + len > max_bytes)
            break;
        bytes += len;
        from = sqlite3_column_int64(st, 0);
        any = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return GW_STORE_EIO;
    if (!any)
        return 0;
    /* ...then oldest first from there. */
    st = stmt(s, ST_LOAD);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, hi);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct gw_store_event ev;
        row_event(st, &ev);
        each(arg, &ev);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : GW_STORE_EIO;
}

/* The room's load in a reader: queued for the next flush like a read,
 * after the room's events still in the batch are committed here. */
static int st_load_async(void *ctx, const char *room_key, size_t max_events, size_t max_bytes)
{
    struct gw_sqlite *s = ctx;
    if (!s->sink.loaded)
        return GW_STORE_ENOTSUP;
    if (s->inflight >= GW_SQLITE_READS_MAX)
        return GW_STORE_EBUSY;
    struct pread *p = &s->reads[s->nreads];
    if (copy_str(p->key, room_key, 1, GW_SQLITE_KEY_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    uint64_t pending = 0;
    for (size_t r = 0; r < s->nbrooms; r++)
        if (strcmp(s->brooms[r].key, p->key) == 0)
            pending = s->brooms[r].last;
    if (pending)
        commit_batch(s); /* should that fail, their ids still count */
    p->kind = GW_STORE_AFTER;
    p->acct = PR_EVENTS;
    p->load = 1;
    p->tag = 0;
    p->id = pending;
    p->limit = max_events > RD_ROWS_MAX ? RD_ROWS_MAX : (unsigned)max_events;
    p->max_bytes = max_bytes;
    p->fts[0] = '\0';
    s->nreads++;
    s->inflight++;
    return GW_STORE_PENDING;
}

/* ---- forgetting rooms ---- */

static void st_forget(void *ctx, const char *room_key)
{
    struct gw_sqlite *s = ctx;
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    if (copy_str(key, room_key, 1, GW_SQLITE_KEY_MAX_BYTES) != 0)
        return;
    for (size_t i = 0; i < s->nforgets; i++)
        if (strcmp(s->forgets[i].key, key) == 0)
            return;
    if (s->nforgets == GW_SQLITE_FORGETS_MAX) {
        s->stats.forgets_dropped++; /* kept: a room too many costs a row, not a fault */
        return;
    }
    memcpy(s->forgets[s->nforgets++].key, key, sizeof key);
}

/* Raise the floor to last (in the transaction). Returns SQLITE_DONE or the
 * failing code. */
static int raise_floor(struct gw_sqlite *s, uint64_t last)
{
    if (last <= s->floor)
        return SQLITE_DONE;
    sqlite3_stmt *st = stmt(s, ST_FLOOR_SET);
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)last);
    sqlite3_bind_text(st, 1, v, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE)
        s->floor = last;
    return rc;
}

/* Delete room n (last id last) and what is left of its events, raising
 * the floor to its last id (in the transaction). */
static int drop_room(struct gw_sqlite *s, int64_t n, uint64_t last)
{
    sqlite3_stmt *st = stmt(s, ST_ROOM_DEL_EVENTS);
    sqlite3_bind_int64(st, 1, ROOM_LO(n));
    sqlite3_bind_int64(st, 2, ROOM_HI(n));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc;
    s->stats.events_deleted += (uint64_t)sqlite3_changes(s->db);
    st = stmt(s, ST_ROOM_DEL);
    sqlite3_bind_int64(st, 1, n);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rc;
    s->stats.rooms_forgotten++;
    return raise_floor(s, last);
}

/* Forget one room if it has no message and few enough events to look
 * through. Returns SQLITE_DONE (forgotten or kept) or the failing code. */
static int forget_one(struct gw_sqlite *s, const char *key)
{
    int64_t n = 0, k = 0, t = 0;
    uint64_t last = 0;
    int f = room_find(s, key, &n, &last);
    if (f <= 0)
        return f < 0 ? -f : SQLITE_DONE;
    int64_t lo = ROOM_LO(n), hi = ROOM_HI(n);
    f = room_first(s, lo, hi, &k, &t);
    if (f < 0)
        return -f;
    /* A room with this many events is one people use: looking for a
     * message in it would cost the loop more than its row costs the disk. */
    if (f && last - ((uint64_t)k & GW_SQLITE_ID_MAX) + 1 > GW_SQLITE_FORGET_EVENTS_MAX)
        return SQLITE_DONE;
    sqlite3_stmt *st = stmt(s, ST_ROOM_TEXT);
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return SQLITE_DONE; /* it has messages: it stays */
    if (rc != SQLITE_DONE)
        return rc;
    return drop_room(s, n, last);
}

/* The rooms to forget, in one transaction, after the batch that holds
 * their leaves is committed. */
static void run_forgets(struct gw_sqlite *s)
{
    if (!s->nforgets || !s->healthy)
        return;
    int rc = run(s, ST_BEGIN);
    for (size_t i = 0; rc == SQLITE_DONE && i < s->nforgets; i++)
        rc = forget_one(s, s->forgets[i].key);
    if (rc == SQLITE_DONE)
        rc = run(s, ST_COMMIT);
    s->nforgets = 0;
    if (rc != SQLITE_DONE)
        fail_rollback(s, rc);
}

/* ---- flush, maintain ---- */

static void drain_reports(struct gw_sqlite *s)
{
    /* The sink may append, and an append may commit and queue more: they
     * are reported in this same loop. */
    while (s->reps_sent < s->nreps) {
        struct report r = s->reps[s->reps_sent++];
        s->sink.done(s->sink.ctx, r.key, r.id, r.status);
    }
    s->nreps = s->reps_sent = 0;
    /* The accounts' writes, committed (or rolled back), in their order. */
    while (s->ans_sent < s->nans) {
        struct aanswer a = s->ans[s->ans_sent++];
        if (a.pm) {
            struct gw_account_pm pm = {.id = a.pm_id, .time_ms = a.time_ms, .peer = a.peer,
                                       .out = a.out, .text = a.text};
            if (s->acc_sink.pms)
                s->acc_sink.pms(s->acc_sink.ctx, a.tag, a.status, a.text ? &pm : NULL,
                                a.text ? 1 : 0);
            free(a.text);
        } else if (s->acc_sink.answer) {
            s->acc_sink.answer(s->acc_sink.ctx, a.tag, a.status, NULL);
        }
    }
    s->nans = s->ans_sent = 0;
}

int gw_sqlite_flush(struct gw_sqlite *s)
{
    if (s->flushing)
        return 0;
    s->flushing = 1;
    int rc = 0;
    if (s->nbev || s->naops || rc_unrun(s)) {
        if (s->nreps + s->nbrooms > GW_SQLITE_REPORTS_MAX ||
            s->nans + s->naops > GW_SQLITE_ANSWERS_MAX)
            drain_reports(s);
        while (commit_batch(s) == GW_STORE_EBUSY)
            drain_reports(s);
        if (!s->healthy)
            rc = GW_STORE_EIO;
    }
    drain_reports(s);
    run_forgets(s);
    /* Only now, after the commit: a read sees every event reported
     * before it. Reads the sink queues below wait for the next flush. */
    hand_reads(s);
    report_answers(s);
    drain_reports(s);
    rc_report(s);
    s->flushing = 0;
    return rc;
}

int gw_sqlite_busy(const struct gw_sqlite *s)
{
    return s->nbev > 0 || s->nreps > 0 || s->nreads > 0 || s->naops > 0 || s->nans > 0 ||
           s->nrcq > 0 ||
           atomic_load(&s->answers) > 0;
}

int gw_sqlite_fd(const struct gw_sqlite *s)
{
    return s->rd_fd;
}

int gw_sqlite_wait(const struct gw_sqlite *s, int timeout_ms)
{
    struct pollfd pfd = {.fd = s->rd_fd, .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) == 1;
}

/*
 * While unhealthy: is there room (GW_SQLITE_PROBE_FREE_BYTES free on the
 * file system), and does one tiny write, in a transaction of its own,
 * work? The room is checked because a tiny write alone succeeds on a full
 * disk, in the WAL's space left by the batch that failed.
 */
static void probe(struct gw_sqlite *s, int64_t wall_ms)
{
    s->probe_at = wall_ms;
    struct statvfs sv;
    if (statvfs(s->dir, &sv) == 0) {
        uint64_t avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
        if (sv.f_flag & ST_RDONLY) {
            s->stats.errors++;
            snprintf(s->why, sizeof s->why, "read-only: the file system is read-only (%s)",
                     s->path);
            return;
        }
        if (avail < GW_SQLITE_PROBE_FREE_BYTES) {
            s->stats.errors++;
            snprintf(s->why, sizeof s->why,
                     "disk full: %llu bytes free, the store waits for %u (%s)",
                     (unsigned long long)avail, GW_SQLITE_PROBE_FREE_BYTES, s->path);
            return;
        }
    }
    sqlite3_stmt *st = stmt(s, ST_PROBE);
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)wall_ms);
    sqlite3_bind_text(st, 1, v, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    const char *msg = rc == SQLITE_DONE ? NULL : sqlite3_errmsg(s->db);
    char m[256];
    snprintf(m, sizeof m, "%s", msg ? msg : "");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE) {
        s->healthy = 1;
        s->why[0] = '\0';
    } else {
        rollback(s);
        fail(s, rc, m);
    }
}

/* The key and time of the room's oldest event. Returns 1, 0 (none) or a
 * negative SQLite code. */
static int room_first(struct gw_sqlite *s, int64_t lo, int64_t hi, int64_t *k, int64_t *time_ms)
{
    sqlite3_stmt *st = stmt(s, ST_RET_FIRST);
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    int rc = sqlite3_step(st), got = 0;
    if (rc == SQLITE_ROW) {
        *k = sqlite3_column_int64(st, 0);
        *time_ms = sqlite3_column_int64(st, 1);
        got = 1;
    } else if (rc != SQLITE_DONE) {
        got = -rc;
    }
    sqlite3_reset(st);
    return got;
}

/* Delete the room's oldest events, up to the key upto, at most *budget of
 * them, only those older than cutoff when old_only. Returns SQLITE_DONE
 * or the failing code. */
static int retain_delete(struct gw_sqlite *s, int64_t lo, int64_t upto, int64_t cutoff,
                         int old_only, unsigned *budget)
{
    sqlite3_stmt *st = stmt(s, old_only ? ST_RET_DEL_OLD : ST_RET_DEL_UPTO);
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, upto);
    sqlite3_bind_int64(st, 3, *budget);
    if (old_only)
        sqlite3_bind_int64(st, 4, cutoff);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        unsigned gone = (unsigned)sqlite3_changes(s->db);
        *budget -= gone < *budget ? gone : *budget;
        s->stats.events_deleted += gone;
    }
    return rc;
}

/* One pass of retention over at most GW_SQLITE_RETAIN_ROOMS_MAX rooms,
 * from where the last one stopped. */
static int retain(struct gw_sqlite *s, int64_t wall_ms)
{
    int64_t nums[GW_SQLITE_RETAIN_ROOMS_MAX];
    uint64_t lasts[GW_SQLITE_RETAIN_ROOMS_MAX];
    size_t count = 0;
    sqlite3_stmt *st = stmt(s, ST_RET_ROOMS);
    sqlite3_bind_int64(st, 1, s->retain_cursor);
    sqlite3_bind_int64(st, 2, GW_SQLITE_RETAIN_ROOMS_MAX);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && count < GW_SQLITE_RETAIN_ROOMS_MAX) {
        nums[count] = sqlite3_column_int64(st, 0);
        lasts[count++] = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return rc;
    int64_t cutoff = wall_ms - (int64_t)s->history_days * MS_PER_DAY;
    unsigned budget = GW_SQLITE_RETAIN_ROWS_MAX;
    int64_t cursor = count < GW_SQLITE_RETAIN_ROOMS_MAX ? 0 : nums[count - 1];
    for (size_t i = 0; i < count; i++) {
        int64_t lo = ROOM_LO(nums[i]), hi = ROOM_HI(nums[i]), k = 0, t = 0;
        if (s->history_max && lasts[i] > s->history_max) {
            int64_t upto = lo | (int64_t)(lasts[i] - s->history_max);
            int f = room_first(s, lo, hi, &k, &t);
            if (f < 0)
                return -f;
            if (f && k <= upto && (rc = retain_delete(s, lo, upto, 0, 0, &budget)) != SQLITE_DONE)
                return rc;
        }
        if (s->history_days && budget) {
            /* The oldest first: a room whose oldest event is recent has
             * nothing to delete, found with one step of the index. */
            int f = room_first(s, lo, hi, &k, &t);
            if (f < 0)
                return -f;
            if (f && t < cutoff && (rc = retain_delete(s, lo, hi, cutoff, 1, &budget)) != SQLITE_DONE)
                return rc;
        }
        /* Nothing left of it: its entry goes too (the floor keeps its ids).
         * The hub still has it while someone is in it, and its next event
         * makes the entry again. */
        int f = room_first(s, lo, hi, &k, &t);
        if (f < 0)
            return -f;
        if (f == 0 && (rc = drop_room(s, nums[i], lasts[i])) != SQLITE_DONE)
            return rc;
        if (budget == 0) {
            cursor = nums[i] - 1; /* this room may have more: go on from it */
            break;
        }
    }
    s->retain_cursor = cursor;
    return SQLITE_DONE;
}

/* Delete sessions over at wall_ms (expires_ms <= wall_ms: the same
 * boundary session_find keeps), at most GW_SQLITE_EXPIRE_ROWS_MAX, in one
 * statement; a look first, so that a quiet second commits nothing. */
static void expire_sessions(struct gw_sqlite *s, int64_t wall_ms)
{
    sqlite3_stmt *st = stmt(s, ST_SESS_EXPIRED);
    sqlite3_bind_int64(st, 1, wall_ms);
    int rc = step_once(st);
    if (rc == SQLITE_ROW) {
        st = stmt(s, ST_SESS_EXPIRE);
        sqlite3_bind_int64(st, 1, wall_ms);
        sqlite3_bind_int64(st, 2, GW_SQLITE_EXPIRE_ROWS_MAX);
        rc = step_once(st);
        if (rc == SQLITE_DONE)
            s->stats.sessions_expired += (uint64_t)sqlite3_changes(s->db);
    }
    if (rc != SQLITE_DONE) {
        fail_rollback(s, rc);
        s->probe_at = wall_ms;
    }
}

void gw_sqlite_maintain(struct gw_sqlite *s, int64_t wall_ms)
{
    if (!s->healthy) {
        if (s->probe_at == INT64_MIN || wall_ms < s->probe_at ||
            wall_ms - s->probe_at >= GW_SQLITE_PROBE_MS)
            probe(s, wall_ms);
        return;
    }
    expire_sessions(s, wall_ms);
    if (!s->healthy)
        return;
    if (!s->history_days && !s->history_max)
        return;
    int rc = run(s, ST_BEGIN);
    if (rc == SQLITE_DONE)
        rc = retain(s, wall_ms);
    if (rc == SQLITE_DONE)
        rc = run(s, ST_COMMIT);
    if (rc != SQLITE_DONE) {
        fail_rollback(s, rc);
        s->probe_at = wall_ms;
    }
}

int gw_sqlite_healthy(const struct gw_sqlite *s, const char **why)
{
    if (why)
        *why = s->healthy ? "" : s->why;
    return s->healthy;
}

/* ---- stats, accessors ---- */

static int64_t pragma_int(const struct gw_sqlite *s, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(s, id);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

void gw_sqlite_stats(const struct gw_sqlite *s, struct gw_sqlite_stats *st)
{
    *st = s->stats;
    st->pending = s->nbev;
    st->checkpoints = atomic_load(&s->ck_done);
    int64_t pages = pragma_int(s, ST_PAGE_COUNT), size = pragma_int(s, ST_PAGE_SIZE);
    st->db_bytes = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
    struct stat sb;
    if (stat(s->wal_path, &sb) == 0)
        st->db_bytes += (uint64_t)sb.st_size;
}

uint64_t gw_sqlite_epoch(const struct gw_sqlite *s)
{
    return s->epoch;
}

const char *gw_sqlite_path(const struct gw_sqlite *s)
{
    return s->path;
}

void gw_sqlite_store(struct gw_sqlite *s, struct gw_store *out)
{
    out->ctx = s;
    out->kind = "sqlite";
    out->append = st_append;
    out->read = st_read;
    out->load = st_load;
    out->load_async = st_load_async;
    out->forget = st_forget;
}

void gw_sqlite_accounts(struct gw_sqlite *s, const struct gw_account_sink *sink,
                        struct gw_accounts *out)
{
    if (sink)
        s->acc_sink = *sink;
    out->ctx = s;
    out->create = acc_create;
    out->find = acc_find;
    out->update = acc_update;
    out->remove = acc_remove;
    out->session_keep = acc_session_keep;
    out->session_find = acc_session_find;
    out->session_drop = acc_session_drop;
    out->keys = acc_keys;
    out->room_keep = acc_room_keep;
    out->rooms_of = acc_rooms_of;
    out->read_mark = acc_read_mark;
    out->room_accounts = acc_room_accounts;
    out->pm_add = acc_pm_add;
    out->pm_after = acc_pm_after;
    out->moved = NULL; /* one gateway a directory (its flock): nobody to tell */
}

/* ---- room config (gw_roomcfg.h): gw_sqlite_roomcfg ---- */

static const char *const rc_sql[RCS_COUNT] = {
    [RCS_OWNER] = "INSERT INTO room_cfg(room, owner) VALUES (?1, ?2) "
                  "ON CONFLICT(room) DO UPDATE SET owner = excluded.owner",
    [RCS_TOPIC] = "INSERT INTO room_cfg(room, topic, topic_by, topic_ms) VALUES (?1, ?2, ?3, ?4) "
                  "ON CONFLICT(room) DO UPDATE SET topic = excluded.topic, "
                  "topic_by = excluded.topic_by, topic_ms = excluded.topic_ms",
    [RCS_SETTINGS] = "INSERT INTO room_cfg(room, flags, jkey) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT(room) DO UPDATE SET flags = excluded.flags, jkey = excluded.jkey",
    /* A list's entries expired as of a write go before it. */
    [RCS_SWEEP] = "DELETE FROM room_entries WHERE room = ?1 AND list_id = ?2 "
                  "AND expires_ms > 0 AND expires_ms <= ?3",
    [RCS_HAS] = "SELECT 1 FROM room_entries WHERE room = ?1 AND list_id = ?2 AND kind = ?3 "
                "AND who = ?4",
    [RCS_NUM] = "SELECT count(*) FROM room_entries WHERE room = ?1 AND list_id = ?2",
    [RCS_PUT] = "INSERT OR REPLACE INTO room_entries(room, list_id, kind, who, setter, set_ms, "
                "expires_ms, why) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [RCS_DEL] = "DELETE FROM room_entries WHERE room = ?1 AND list_id = ?2 AND kind = ?3 "
                "AND who = ?4",
    [RCS_CFG] = "SELECT owner, topic, topic_by, topic_ms, flags, jkey FROM room_cfg "
                "WHERE room = ?1",
    /* The primary key's order (BINARY: bytes), as every engine gives it. */
    [RCS_ENTRIES] = "SELECT list_id, kind, who, setter, set_ms, expires_ms, why FROM room_entries "
                    "WHERE room = ?1 AND list_id BETWEEN ?2 AND ?3 "
                    "AND (expires_ms = 0 OR expires_ms > ?4) ORDER BY list_id, kind, who",
};

static int rc_prepare(struct gw_sqlite *s)
{
    for (int i = 0; i < RCS_COUNT; i++) {
        int rc = sqlite3_prepare_v3(s->db, rc_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->rc_st[i], NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static void rc_finalize(struct gw_sqlite *s)
{
    for (int i = 0; i < RCS_COUNT; i++)
        sqlite3_finalize(s->rc_st[i]);
    free(s->rcq);
    free(s->rc_rows);
    free(s->rc_ents);
}

/* Whether a write of the queue waits for a commit. */
static int rc_unrun(const struct gw_sqlite *s)
{
    return s->rc_unrun > 0;
}

/* The next item of the queue, or NULL with *rc a failure. */
/* The next call's place in the queue, of kind for tag and room (a write,
 * unless kind is RCO_LOAD or later), or NULL with *rc the failure. */
static struct rcop *rc_next(struct gw_sqlite *s, enum rcop_kind kind, uint64_t tag, const char *room,
                            int *rc)
{
    if (kind < RCO_LOAD && !s->healthy) {
        *rc = GW_STORE_EIO;
        return NULL;
    }
    if (!s->rcq) {
        s->rcq = malloc(GW_SQLITE_ROOMCFG_OPS_MAX * sizeof *s->rcq);
        if (!s->rcq) {
            *rc = GW_STORE_ENOMEM;
            return NULL;
        }
    }
    if (s->nrcq >= GW_SQLITE_ROOMCFG_OPS_MAX) {
        *rc = GW_STORE_EBUSY;
        return NULL;
    }
    struct rcop *o = &s->rcq[s->nrcq];
    memset(o, 0, sizeof *o);
    o->status = GW_STORE_EIO; /* until decided in the transaction */
    o->kind = kind;
    o->tag = tag;
    strcpy(o->room, room); /* checked by the caller */
    return o;
}

static int rc_push(struct gw_sqlite *s, struct rcop *o)
{
    if (o->kind < RCO_LOAD)
        s->rc_unrun++;
    else
        o->ran = 1; /* a read: nothing to commit */
    s->nrcq++;
    return GW_STORE_PENDING;
}

static int rc_owner_set(void *ctx, uint64_t tag, const char *room, const char *owner)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (gw_roomcfg_owner_check(room, owner) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_OWNER, tag, room, &rc);
    if (!o)
        return rc;
    strcpy(o->a, owner);
    return rc_push(s, o);
}

static int rc_topic_set(void *ctx, uint64_t tag, const char *room, const char *text,
                        const char *by, int64_t time_ms)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (gw_roomcfg_topic_check(room, text, by) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_TOPIC, tag, room, &rc);
    if (!o)
        return rc;
    strcpy(o->a, text);
    strcpy(o->by, by);
    o->t1 = time_ms;
    return rc_push(s, o);
}

static int rc_settings_set(void *ctx, uint64_t tag, const char *room, unsigned flags,
                           const char *key)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (gw_roomcfg_settings_check(room, flags, key) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_SETTINGS, tag, room, &rc);
    if (!o)
        return rc;
    o->flags = flags;
    strcpy(o->a, key);
    return rc_push(s, o);
}

static int rc_entry_set(void *ctx, uint64_t tag, const char *room,
                        const struct gw_roomcfg_entry *e)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (gw_roomcfg_entry_check(room, e) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_SET, tag, room, &rc);
    if (!o)
        return rc;
    o->list = e->list;
    o->ekind = e->kind;
    strcpy(o->a, e->who);
    strcpy(o->by, e->by);
    strcpy(o->why, e->why);
    o->t1 = e->set_ms;
    o->t2 = e->expires_ms;
    return rc_push(s, o);
}

static int rc_entry_clear(void *ctx, uint64_t tag, const char *room, int list, int kind,
                          const char *who, int64_t now_ms)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (gw_roomcfg_clear_check(room, list, kind, who) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_CLEAR, tag, room, &rc);
    if (!o)
        return rc;
    o->list = list;
    o->ekind = kind;
    strcpy(o->a, who);
    o->t1 = now_ms;
    return rc_push(s, o);
}

static int rc_load(void *ctx, uint64_t tag, const char *room, int64_t now_ms)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (!s->rc_sink.config || gw_roomcfg_room_check(room, GW_RCL_OP) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_LOAD, tag, room, &rc);
    if (!o)
        return rc;
    o->t1 = now_ms;
    return rc_push(s, o);
}

static int rc_entries(void *ctx, uint64_t tag, const char *room, int list, int64_t now_ms)
{
    struct gw_sqlite *s = ctx;
    int rc = 0;
    if (!s->rc_sink.entries || gw_roomcfg_list_max(list) == 0 ||
        gw_roomcfg_room_check(room, list) != 0)
        return GW_STORE_EINVAL;
    struct rcop *o = rc_next(s, RCO_ENTRIES, tag, room, &rc);
    if (!o)
        return rc;
    o->list = list;
    o->t1 = now_ms;
    return rc_push(s, o);
}

/* Bind (room, list, kind, who) as ?1..?4. */
static void rc_bind_key(sqlite3_stmt *st, const struct rcop *o)
{
    bind_s(st, 1, o->room);
    sqlite3_bind_int(st, 2, o->list);
    sqlite3_bind_int(st, 3, o->ekind);
    bind_s(st, 4, o->a);
}

/* The list's expired entries as of now_ms go. */
static int rc_sweep(struct gw_sqlite *s, const struct rcop *o, int64_t now_ms)
{
    sqlite3_stmt *st = s->rc_st[RCS_SWEEP];
    bind_s(st, 1, o->room);
    sqlite3_bind_int(st, 2, o->list);
    sqlite3_bind_int64(st, 3, now_ms);
    return step_once(st);
}

/* One write, in the transaction: o->status and o->what decided. Returns
 * SQLITE_DONE or the failing code. */
static int rc_write(struct gw_sqlite *s, struct rcop *o)
{
    sqlite3_stmt *st;
    int rc;
    o->status = GW_STORE_DONE;
    switch (o->kind) {
    case RCO_OWNER:
        st = s->rc_st[RCS_OWNER];
        bind_s(st, 1, o->room);
        bind_s(st, 2, o->a);
        o->what = GW_ROOMCFG_CH_OWNER;
        return step_once(st);
    case RCO_TOPIC:
        st = s->rc_st[RCS_TOPIC];
        bind_s(st, 1, o->room);
        bind_s(st, 2, o->a);
        bind_s(st, 3, o->by);
        sqlite3_bind_int64(st, 4, o->t1);
        o->what = GW_ROOMCFG_CH_TOPIC;
        return step_once(st);
    case RCO_SETTINGS:
        st = s->rc_st[RCS_SETTINGS];
        bind_s(st, 1, o->room);
        sqlite3_bind_int64(st, 2, o->flags);
        bind_s(st, 3, o->a);
        o->what = GW_ROOMCFG_CH_SETTINGS;
        return step_once(st);
    case RCO_SET: {
        o->what = GW_ROOMCFG_CH_LIST(o->list);
        if ((rc = rc_sweep(s, o, o->t1)) != SQLITE_DONE)
            return rc;
        st = s->rc_st[RCS_HAS];
        rc_bind_key(st, o);
        rc = step_once(st);
        if (rc == SQLITE_DONE) { /* a new one: within the bound? */
            st = s->rc_st[RCS_NUM];
            bind_s(st, 1, o->room);
            sqlite3_bind_int(st, 2, o->list);
            rc = sqlite3_step(st);
            int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            if (rc != SQLITE_ROW)
                return rc;
            if ((uint64_t)n >= gw_roomcfg_list_max(o->list)) {
                o->status = GW_ROOMCFG_FULL;
                return SQLITE_DONE;
            }
        } else if (rc != SQLITE_ROW) {
            return rc;
        }
        st = s->rc_st[RCS_PUT];
        rc_bind_key(st, o);
        bind_s(st, 5, o->by);
        sqlite3_bind_int64(st, 6, o->t1);
        sqlite3_bind_int64(st, 7, o->t2);
        bind_s(st, 8, o->why);
        return step_once(st);
    }
    case RCO_CLEAR:
        o->what = GW_ROOMCFG_CH_LIST(o->list);
        if ((rc = rc_sweep(s, o, o->t1)) != SQLITE_DONE)
            return rc;
        st = s->rc_st[RCS_DEL];
        rc_bind_key(st, o);
        if ((rc = step_once(st)) != SQLITE_DONE)
            return rc;
        o->status = sqlite3_changes(s->db) ? GW_STORE_DONE : GW_ROOMCFG_NONE;
        return SQLITE_DONE;
    default:
        return SQLITE_DONE;
    }
}

/* The queue's writes not yet run, in the batch's transaction, in the
 * order made. Returns SQLITE_DONE or the failing code. */
static int rc_run_writes(struct gw_sqlite *s)
{
    int rc = SQLITE_DONE;
    for (size_t i = 0; rc == SQLITE_DONE && i < s->nrcq; i++)
        if (!s->rcq[i].ran)
            rc = rc_write(s, &s->rcq[i]);
    return rc;
}

/* After the commit (status GW_STORE_DONE) or the rollback (GW_STORE_EIO:
 * every write of it is answered so). */
static void rc_ran(struct gw_sqlite *s, int status)
{
    for (size_t i = 0; i < s->nrcq; i++) {
        struct rcop *o = &s->rcq[i];
        if (o->ran)
            continue;
        o->ran = 1;
        if (status != GW_STORE_DONE)
            o->status = GW_STORE_EIO;
    }
    s->rc_unrun = 0;
}

/* Read a room's lists [lo, hi] not expired at now_ms into rc_rows (their
 * strings in rc_ents). Returns GW_STORE_DONE or GW_STORE_EIO / ENOMEM. */
static int rc_read_entries(struct gw_sqlite *s, const char *room, int lo, int hi, int64_t now_ms,
                           size_t *n)
{
    *n = 0;
    if (!s->rc_rows) {
        s->rc_rows = malloc(GW_GBANS_MAX * sizeof *s->rc_rows);
        s->rc_ents = malloc(GW_GBANS_MAX * sizeof *s->rc_ents);
        if (!s->rc_rows || !s->rc_ents) {
            free(s->rc_rows);
            free(s->rc_ents);
            s->rc_rows = NULL;
            s->rc_ents = NULL;
            return GW_STORE_ENOMEM;
        }
    }
    sqlite3_stmt *st = s->rc_st[RCS_ENTRIES];
    bind_s(st, 1, room);
    sqlite3_bind_int(st, 2, lo);
    sqlite3_bind_int(st, 3, hi);
    sqlite3_bind_int64(st, 4, now_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < GW_GBANS_MAX) {
        struct rcent *x = &s->rc_ents[*n];
        const char *who = (const char *)sqlite3_column_text(st, 2),
                   *by = (const char *)sqlite3_column_text(st, 3),
                   *why = (const char *)sqlite3_column_text(st, 6);
        /* What this engine wrote fits; anything else is cut to fit. */
        snprintf(x->who, sizeof x->who, "%s", who ? who : "");
        snprintf(x->by, sizeof x->by, "%s", by ? by : "");
        snprintf(x->why, sizeof x->why, "%s", why ? why : "");
        s->rc_rows[*n] = (struct gw_roomcfg_entry){
            .list = sqlite3_column_int(st, 0), .kind = sqlite3_column_int(st, 1),
            .who = x->who, .by = x->by, .why = x->why,
            .set_ms = sqlite3_column_int64(st, 4), .expires_ms = sqlite3_column_int64(st, 5),
        };
        (*n)++;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? GW_STORE_DONE : GW_STORE_EIO;
}

/* A load, on the loop's thread after the commit: one room's rows by its
 * key (at most the sum of the lists' bounds), a read of a few hundred
 * microseconds (gw_store_sqlite.h). */
static void rc_give_load(struct gw_sqlite *s, const struct rcop *o)
{
    char owner[GW_NICK_MAX_BYTES + 1] = "", topic[GW_ROOMCFG_TOPIC_MAX_BYTES + 1] = "",
         topic_by[GW_ROOMCFG_BY_MAX_BYTES + 1] = "", key[GW_ROOMCFG_KEY_MAX_BYTES + 1] = "";
    int64_t topic_ms = 0;
    unsigned flags = 0;
    sqlite3_stmt *st = s->rc_st[RCS_CFG];
    bind_s(st, 1, o->room);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t;
        snprintf(owner, sizeof owner, "%s", (t = (const char *)sqlite3_column_text(st, 0)) ? t : "");
        snprintf(topic, sizeof topic, "%s", (t = (const char *)sqlite3_column_text(st, 1)) ? t : "");
        snprintf(topic_by, sizeof topic_by, "%s",
                 (t = (const char *)sqlite3_column_text(st, 2)) ? t : "");
        topic_ms = sqlite3_column_int64(st, 3);
        flags = (unsigned)sqlite3_column_int64(st, 4) & GW_ROOMCFG_FLAGS_ALL;
        snprintf(key, sizeof key, "%s", (t = (const char *)sqlite3_column_text(st, 5)) ? t : "");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    size_t n = 0;
    int status = rc == SQLITE_ROW || rc == SQLITE_DONE ? GW_STORE_DONE : GW_STORE_EIO;
    if (status == GW_STORE_DONE)
        status = rc_read_entries(s, o->room, GW_RCL_OP, GW_RCL_INVITE, o->t1, &n);
    struct gw_roomcfg c = {
        .room = o->room, .owner = owner, .topic = topic, .topic_by = topic_by,
        .topic_ms = topic_ms, .flags = flags, .key = key, .entries = s->rc_rows, .n = n,
    };
    s->rc_sink.config(s->rc_sink.ctx, o->tag, status, status == GW_STORE_DONE ? &c : NULL);
}

/* Give the answers of the queue's items made before this call, in their
 * order (its writes are committed: gw_sqlite_flush commits first); reads
 * are made now. Items the sink adds meanwhile wait for the next flush. */
static void rc_report(struct gw_sqlite *s)
{
    if (s->nrcq == 0)
        return; /* (rcq may be NULL: none was ever made) */
    size_t n0 = s->nrcq, i = 0;
    for (; i < n0 && s->rcq[i].ran; i++) {
        struct rcop o = s->rcq[i]; /* a copy: the sink may queue behind it */
        if (o.kind == RCO_LOAD) {
            rc_give_load(s, &o);
        } else if (o.kind == RCO_ENTRIES) {
            size_t n = 0;
            int status = rc_read_entries(s, o.room, o.list, o.list, o.t1, &n);
            s->rc_sink.entries(s->rc_sink.ctx, o.tag, status,
                               status == GW_STORE_DONE ? s->rc_rows : NULL, n);
        } else {
            s->rc_sink.answer(s->rc_sink.ctx, o.tag, o.status);
            if (o.status == GW_STORE_DONE && s->rc_sink.changed)
                s->rc_sink.changed(s->rc_sink.ctx, o.room, o.what);
        }
    }
    memmove(s->rcq, s->rcq + i, (s->nrcq - i) * sizeof *s->rcq);
    s->nrcq -= i;
}

void gw_sqlite_roomcfg(struct gw_sqlite *s, const struct gw_roomcfg_sink *sink,
                       struct gw_roomcfgs *out)
{
    s->rc_sink = *sink;
    memset(out, 0, sizeof *out);
    out->ctx = s;
    out->load = rc_load;
    out->owner_set = rc_owner_set;
    out->topic_set = rc_topic_set;
    out->settings_set = rc_settings_set;
    out->entry_set = rc_entry_set;
    out->entry_clear = rc_entry_clear;
    out->entries = rc_entries;
}

/* ---- accounts for a command-line tool ---- */

int gw_sqlite_account_list(struct gw_sqlite *s,
                           void (*each)(void *arg, const struct gw_account *a), void *arg)
{
    if (commit_batch(s) != 0)
        return GW_STORE_EIO;
    sqlite3_stmt *st = stmt(s, ST_ACC_LIST);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len;
        const char *key = col_text(st, 0, &len), *nick = col_text(st, 1, &len),
                   *phc = col_text(st, 2, &len);
        struct gw_account a = {
            .key = key ? key : "", .nick = nick ? nick : "", .phc = phc ? phc : "",
            .roles = (unsigned)sqlite3_column_int64(st, 3),
            .generation = (uint64_t)sqlite3_column_int64(st, 4),
            .created_ms = sqlite3_column_int64(st, 5),
        };
        if (each)
            each(arg, &a);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : GW_STORE_EIO;
}

/* One account write in a transaction of its own, after the batch's. */
static int write_now(struct gw_sqlite *s, struct aop *o)
{
    if (!s->healthy || commit_batch(s) != 0)
        return GW_STORE_EIO;
    int rc = run(s, ST_BEGIN);
    if (rc == SQLITE_DONE)
        rc = aop_run(s, o);
    if (rc == SQLITE_DONE)
        rc = run(s, ST_COMMIT);
    if (rc != SQLITE_DONE) {
        fail_rollback(s, rc);
        return GW_STORE_EIO;
    }
    return o->status;
}

int gw_sqlite_account_create(struct gw_sqlite *s, const struct gw_account *a)
{
    struct aop o;
    if (aop_account(&o, AOP_CREATE, 0, a) != 0)
        return GW_STORE_EINVAL;
    return write_now(s, &o);
}

int gw_sqlite_account_update(struct gw_sqlite *s, const struct gw_account *a)
{
    struct aop o;
    if (aop_account(&o, AOP_UPDATE, 0, a) != 0)
        return GW_STORE_EINVAL;
    return write_now(s, &o);
}

int gw_sqlite_account_remove(struct gw_sqlite *s, const char *key)
{
    struct aop o = {.kind = AOP_REMOVE};
    if (copy_str(o.key, key, 1, GW_ACCOUNT_KEY_MAX_BYTES) != 0)
        return GW_STORE_EINVAL;
    return write_now(s, &o);
}

/* ---- open, close ---- */

int gw_sqlite_exit_status(int code)
{
    switch (code) {
    case GW_SQLITE_OK: return EX_OK;
    case GW_SQLITE_EINVAL: return EX_USAGE;
    case GW_SQLITE_ECREATE: return EX_CANTCREAT;
    case GW_SQLITE_ENOPERM: return EX_NOPERM;
    case GW_SQLITE_ELOCKED: return EX_TEMPFAIL;
    case GW_SQLITE_ECORRUPT: return EX_DATAERR;
    case GW_SQLITE_ESCHEMA: return EX_DATAERR;
    case GW_SQLITE_ENOMEM: return EX_OSERR;
    default: return EX_IOERR;
    }
}

const char *gw_sqlite_strerror(int code)
{
    switch (code) {
    case GW_SQLITE_OK: return "ok";
    case GW_SQLITE_EINVAL: return "bad store options";
    case GW_SQLITE_ECREATE: return "the data directory cannot be created";
    case GW_SQLITE_ENOPERM: return "the data directory is not writable";
    case GW_SQLITE_ELOCKED: return "the data directory is in use by another gateway";
    case GW_SQLITE_ECORRUPT: return "the database is damaged or not a database";
    case GW_SQLITE_ESCHEMA: return "the database is of a newer or another schema";
    case GW_SQLITE_EIO: return "the database cannot be read or written";
    case GW_SQLITE_ENOMEM: return "out of memory";
    default: return "unknown store error";
    }
}

/* Make dir and its missing parents, mode 0700. Returns 0 or an errno. */
static int make_dirs(const char *dir)
{
    char p[GW_SQLITE_PATH_MAX_BYTES];
    size_t n = strlen(dir);
    memcpy(p, dir, n + 1);
    struct stat sb;
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (stat(p, &sb) != 0) {
            if (errno != ENOENT)
                return errno;
            if (mkdir(p, 0700) != 0 && errno != EEXIST)
                return errno;
        } else if (!S_ISDIR(sb.st_mode)) {
            return ENOTDIR;
        }
        p[i] = c;
    }
    if (stat(dir, &sb) != 0)
        return errno;
    return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

/* A failure of SQLite at open: its code and a message naming the path. */
static int open_fault(struct gw_sqlite *s, int rc, char *err, size_t errlen)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        put(err, errlen, "%s is not a usable database: %s", s->path, msg);
        return GW_SQLITE_ECORRUPT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        put(err, errlen, "%s is not writable: %s", s->path, msg);
        return GW_SQLITE_ENOPERM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        put(err, errlen, "%s is locked by another program: %s", s->path, msg);
        return GW_SQLITE_ELOCKED;
    case SQLITE_NOMEM:
        put(err, errlen, "%s: out of memory", s->path);
        return GW_SQLITE_ENOMEM;
    default:
        put(err, errlen, "cannot open %s: %s", s->path, msg);
        return GW_SQLITE_EIO;
    }
}

static int exec(struct gw_sqlite *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* One integer a statement answers (a PRAGMA, a count), or -1. */
static int64_t query_int(struct gw_sqlite *s, const char *sql, int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    *rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (*rc == SQLITE_OK) {
        *rc = sqlite3_step(st);
        if (*rc == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
            *rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return v;
}

/*
 * Run n statements (each may hold several) in one transaction: all of them,
 * or on a failure none (rolled back). 0, or open_fault's code for the
 * statement that failed, BEGIN and COMMIT included.
 */
static int in_transaction(struct gw_sqlite *s, const char *const *sql, size_t n, char *err,
                          size_t errlen)
{
    int rc = exec(s, "BEGIN IMMEDIATE");
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
        rc = exec(s, sql[i]);
    if (rc == SQLITE_OK)
        rc = exec(s, "COMMIT");
    if (rc != SQLITE_OK) {
        int code = open_fault(s, rc, err, errlen);
        if (!sqlite3_get_autocommit(s->db))
            exec(s, "ROLLBACK");
        return code;
    }
    return 0;
}

/* Make the schema and a new epoch, in one transaction. */
static int create_schema(struct gw_sqlite *s, char *err, size_t errlen)
{
    uint64_t e = 0;
    while (e == 0) {
        unsigned char b[8];
        if (RAND_bytes(b, sizeof b) != 1) {
            put(err, errlen, "%s: no random bytes for the epoch", s->path);
            return GW_SQLITE_EIO;
        }
        for (size_t i = 0; i < sizeof b; i++)
            e = e << 8 | b[i];
    }
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO meta(key, value) VALUES ('epoch', '%016llx');",
             (unsigned long long)e);
    char version[48];
    snprintf(version, sizeof version, "PRAGMA user_version = %d;", GW_SQLITE_SCHEMA);
    const char *steps[] = {schema_sql, schema2_sql, schema3_sql, schema4_sql, version, sql};
    int rc = in_transaction(s, steps, sizeof steps / sizeof steps[0], err, errlen);
    if (rc != 0)
        return rc;
    s->epoch = e;
    return 0;
}

/*
 * Bring a database of an older version (from) up to GW_SQLITE_SCHEMA: the
 * tables each later version added, and the new user_version, in one
 * transaction; what it had stays as it was. A failure changes nothing.
 */
static int migrate(struct gw_sqlite *s, int64_t from, char *err, size_t errlen)
{
    char version[48];
    snprintf(version, sizeof version, "PRAGMA user_version = %d;", GW_SQLITE_SCHEMA);
    const char *steps[4];
    size_t n = 0;
    if (from < 2)
        steps[n++] = schema2_sql;
    if (from < 3)
        steps[n++] = schema3_sql;
    if (from < 4)
        steps[n++] = schema4_sql;
    steps[n++] = version;
    return in_transaction(s, steps, n, err, errlen);
}

/* Read the epoch of an existing database. */
static int read_epoch(struct gw_sqlite *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'epoch'", -1, &st,
                                NULL);
    if (rc != SQLITE_OK)
        return open_fault(s, rc, err, errlen);
    rc = sqlite3_step(st);
    uint64_t e = 0;
    int ok = 0;
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strlen(t) == GW_EPOCH_HEX_LEN) {
            ok = 1;
            for (const char *c = t; *c; c++) {
                int d = (*c >= '0' && *c <= '9') ? *c - '0'
                        : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10 : -1;
                if (d < 0)
                    ok = 0;
                e = e << 4 | (uint64_t)(d < 0 ? 0 : d);
            }
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return open_fault(s, rc, err, errlen);
    if (!ok || e == 0) {
        put(err, errlen, "%s is not a usable database: it has no valid epoch", s->path);
        return GW_SQLITE_ECORRUPT;
    }
    s->epoch = e;
    return 0;
}

/* The database: settings, schema or its check, epoch, statements. */
static int open_db(struct gw_sqlite *s, char *err, size_t errlen)
{
    /* Beside a gateway, the database is the gateway's to make. */
    int rc = sqlite3_open_v2(s->path, &s->db,
                             SQLITE_OPEN_READWRITE | (s->beside ? 0 : SQLITE_OPEN_CREATE) |
                                 SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK)
        return open_fault(s, rc, err, errlen);
    sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        put(err, errlen, "%s is not writable: opened read-only", s->path);
        return GW_SQLITE_ENOPERM;
    }
    sqlite3_busy_timeout(s->db, s->beside ? GW_SQLITE_BESIDE_BUSY_MS : GW_SQLITE_BUSY_MS);
    /* The gateway's checkpoint thread copies the WAL: a tool's commit
     * never does it on the way. */
    if (s->beside)
        sqlite3_wal_autocheckpoint(s->db, 0);
    /* The first statement reads the file: a damaged one shows here. */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int wal = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
              strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return open_fault(s, rc, err, errlen);
    if (!wal) {
        put(err, errlen, "cannot open %s: it cannot use a WAL journal", s->path);
        return GW_SQLITE_EIO;
    }
    if ((rc = exec(s, "PRAGMA synchronous=NORMAL")) != SQLITE_OK)
        return open_fault(s, rc, err, errlen);
    char limit[64];
    snprintf(limit, sizeof limit, "PRAGMA journal_size_limit=%u", GW_SQLITE_WAL_KEEP_BYTES);
    if ((rc = exec(s, limit)) != SQLITE_OK)
        return open_fault(s, rc, err, errlen);

    int64_t version = query_int(s, "PRAGMA user_version", &rc);
    if (rc != SQLITE_OK)
        return open_fault(s, rc, err, errlen);
    if (s->beside && version != GW_SQLITE_SCHEMA) {
        if (version == 0)
            put(err, errlen, "%s is not a wintalk-gateway database (no schema)", s->path);
        else
            put(err, errlen,
                version > GW_SQLITE_SCHEMA
                    ? "%s has schema %lld, newer than this program's %d: run a newer "
                      "wintalk-gateway"
                    : "%s has schema %lld, older than this program's %d: start this "
                      "wintalk-gateway on it once (it brings the database up to date)",
                s->path, (long long)version, GW_SQLITE_SCHEMA);
        return GW_SQLITE_ESCHEMA;
    }
    if (version == 0) {
        int64_t tables = query_int(s, "SELECT count(*) FROM sqlite_schema", &rc);
        if (rc != SQLITE_OK)
            return open_fault(s, rc, err, errlen);
        if (tables > 0) {
            put(err, errlen, "%s is not a wintalk-gateway database: it has other tables",
                s->path);
            return GW_SQLITE_ESCHEMA;
        }
        if ((rc = create_schema(s, err, errlen)) != 0)
            return rc;
    } else if (version > GW_SQLITE_SCHEMA) {
        put(err, errlen,
            "%s has schema %lld, newer than this gateway's %d: run a newer wintalk-gateway",
            s->path, (long long)version, GW_SQLITE_SCHEMA);
        return GW_SQLITE_ESCHEMA;
    } else if ((rc = read_epoch(s, err, errlen)) != 0) {
        return rc;
    } else if (version < GW_SQLITE_SCHEMA && (rc = migrate(s, version, err, errlen)) != 0) {
        return rc;
    }

    /* A write lock another program holds (a gateway would hold the
     * directory's flock instead) would fail every batch: say so now. */
    if ((rc = in_transaction(s, NULL, 0, err, errlen)) != 0)
        return rc;

    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                NULL);
        if (rc != SQLITE_OK)
            return open_fault(s, rc, err, errlen);
    }
    if ((rc = rc_prepare(s)) != SQLITE_OK)
        return open_fault(s, rc, err, errlen);
    sqlite3_commit_hook(s->db, on_commit, s);
    /* The floor: where rooms this database does not have start. */
    sqlite3_stmt *fl = stmt(s, ST_FLOOR_GET);
    if (sqlite3_step(fl) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(fl, 0);
        s->floor = v ? strtoull(v, NULL, 10) : 0;
        if (s->floor > GW_SQLITE_ID_MAX)
            s->floor = 0; /* not a floor this code wrote */
    }
    sqlite3_reset(fl);
    return 0;
}

static void free_engine(struct gw_sqlite *s)
{
    rc_finalize(s);
    stop_readers(s);
    stop_checkpointer(s);
    pthread_cond_destroy(&s->ck_cv);
    pthread_mutex_destroy(&s->ck_mu);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    if (s->db)
        sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    free(s->bev);
    free(s->arena);
    free(s->brooms);
    free(s->nums);
    free(s->order);
    free(s->reps);
    for (size_t i = 0; s->aops && i < s->naops; i++)
        free(s->aops[i].text);
    free(s->aops);
    free(s->ans);
    free(s->reads);
    free(s->jobs);
    free(s->readers);
    if (s->rd_fd >= 0)
        close(s->rd_fd);
    pthread_cond_destroy(&s->rd_cv);
    pthread_mutex_destroy(&s->rd_mu);
    free(s->forgets);
    free(s);
}

int gw_sqlite_open(const struct gw_sqlite_opts *o, const struct gw_store_sink *sink,
                   struct gw_sqlite **out, char *err, size_t errlen)
{
    put(err, errlen, "%s", "");
    if (!o || !o->dir || !o->dir[0] || !sink || !sink->done || !sink->rows || !out) {
        put(err, errlen, "the store needs a data directory and a sink");
        return GW_SQLITE_EINVAL;
    }
    *out = NULL;
    struct gw_sqlite *s = calloc(1, sizeof *s);
    if (!s) {
        put(err, errlen, "%s: out of memory", o->dir);
        return GW_SQLITE_ENOMEM;
    }
    s->lock_fd = -1;
    pthread_mutex_init(&s->ck_mu, NULL);
    pthread_cond_init(&s->ck_cv, NULL);
    pthread_mutex_init(&s->rd_mu, NULL);
    pthread_cond_init(&s->rd_cv, NULL);
    s->rd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->nreaders = o->readers ? o->readers : GW_SQLITE_READERS;
    if (s->nreaders > GW_SQLITE_READERS_MAX)
        s->nreaders = GW_SQLITE_READERS_MAX;
    char lock_path[GW_SQLITE_PATH_MAX_BYTES];
    if (strlen(o->dir) >= sizeof s->dir ||
        join_path(s->path, sizeof s->path, o->dir, GW_SQLITE_DB_NAME) != 0 ||
        join_path(s->wal_path, sizeof s->wal_path, o->dir, GW_SQLITE_DB_NAME "-wal") != 0 ||
        join_path(lock_path, sizeof lock_path, o->dir, GW_SQLITE_LOCK_NAME) != 0) {
        put(err, errlen, "the data directory's path is too long (%zu bytes)", strlen(o->dir));
        free_engine(s);
        return GW_SQLITE_EINVAL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", o->dir);
    s->sink = *sink;
    s->history_days = o->history_days;
    s->history_max = o->history_max;
    s->search_ms = o->search_ms ? o->search_ms : GW_SQLITE_SEARCH_MS_DEFAULT;
    s->clock_us = o->clock_us;
    s->clock_arg = o->clock_arg;
    s->healthy = 1;
    s->probe_at = INT64_MIN;

    s->bev = malloc(GW_SQLITE_BATCH_MAX_EVENTS * sizeof *s->bev);
    s->arena = malloc(GW_SQLITE_BATCH_MAX_BYTES);
    s->brooms = malloc(GW_SQLITE_BATCH_MAX_EVENTS * sizeof *s->brooms);
    s->nums = malloc(GW_SQLITE_BATCH_MAX_EVENTS * sizeof *s->nums);
    s->order = malloc(GW_SQLITE_BATCH_MAX_EVENTS * sizeof *s->order);
    s->reps = malloc(GW_SQLITE_REPORTS_MAX * sizeof *s->reps);
    s->reads = malloc(GW_SQLITE_READS_MAX * sizeof *s->reads);
    s->aops = malloc(GW_SQLITE_ACCOUNT_OPS_MAX * sizeof *s->aops);
    s->ans = malloc(GW_SQLITE_ANSWERS_MAX * sizeof *s->ans);
    s->forgets = malloc(GW_SQLITE_FORGETS_MAX * sizeof *s->forgets);
    s->jobs = malloc(GW_SQLITE_READS_MAX * sizeof *s->jobs);
    s->readers = calloc(s->nreaders, sizeof *s->readers);
    if (!s->bev || !s->arena || !s->brooms || !s->nums || !s->order || !s->reps || !s->reads || !s->forgets ||
        !s->aops || !s->ans ||
        !s->jobs || !s->readers || s->rd_fd < 0) {
        put(err, errlen, "%s: out of memory", o->dir);
        free_engine(s);
        return GW_SQLITE_ENOMEM;
    }

    s->beside = o->beside;
    if (s->beside) {
        int rc = open_db(s, err, errlen);
        if (rc != 0) {
            free_engine(s);
            return rc;
        }
        *out = s;
        return 0;
    }
    int e = make_dirs(s->dir);
    if (e != 0) {
        put(err, errlen, "cannot create the data directory %s: %s", s->dir, strerror(e));
        free_engine(s);
        return GW_SQLITE_ECREATE;
    }
    s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        e = errno;
        int code = (e == EROFS || e == EACCES || e == EPERM) ? GW_SQLITE_ENOPERM : GW_SQLITE_EIO;
        put(err, errlen, "%s%s: %s: %s",
            code == GW_SQLITE_ENOPERM ? "the data directory is not writable: " : "cannot open ",
            code == GW_SQLITE_ENOPERM ? s->dir : lock_path,
            code == GW_SQLITE_ENOPERM ? lock_path : "the lock", strerror(e));
        free_engine(s);
        return code;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        e = errno;
        if (e == EWOULDBLOCK) {
            put(err, errlen, "another gateway uses the data directory %s (%s is locked)", s->dir,
                lock_path);
            free_engine(s);
            return GW_SQLITE_ELOCKED;
        }
        put(err, errlen, "cannot lock %s: %s", lock_path, strerror(e));
        free_engine(s);
        return GW_SQLITE_EIO;
    }
    if (access(s->dir, W_OK) != 0) {
        e = errno;
        put(err, errlen, "the data directory is not writable: %s: %s", s->dir, strerror(e));
        free_engine(s);
        return GW_SQLITE_ENOPERM;
    }
    int rc = open_db(s, err, errlen);
    if (rc == 0)
        rc = start_checkpointer(s, err, errlen);
    if (rc == 0)
        rc = start_readers(s, err, errlen);
    if (rc != 0) {
        free_engine(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Drop the account answers not given (and the texts they own). */
static void drop_answers(struct gw_sqlite *s)
{
    for (size_t i = s->ans_sent; i < s->nans; i++)
        free(s->ans[i].text);
    s->nans = s->ans_sent = 0;
}

void gw_sqlite_close(struct gw_sqlite *s)
{
    if (!s)
        return;
    /* Nobody is told any more: what waits to be reported is dropped, and
     * the batch is kept if it can be. */
    s->nreps = s->reps_sent = 0;
    drop_answers(s);
    s->nreads = 0;
    stop_readers(s);
    commit_batch(s);
    drop_answers(s);
    free_engine(s);
}
