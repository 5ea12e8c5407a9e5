/*
 * gw_store_sqlite.h - the SQLite store engine: room events kept on disk in
 * one database file, DIR/wintalk.db, so history survives a restart; reads
 * after or before an id (resume, scrollback) and full-text search (FTS5).
 *
 * An adapter with I/O, like gw_main.c: it opens files, takes a lock and
 * reads a clock; it never logs and never sends anything anywhere (it
 * returns messages, and reports what completes through the struct
 * gw_store_sink it was given). Its functions are called from one thread,
 * the event loop's. It has threads of its own: one that only copies the
 * WAL into the database (a checkpoint) when the WAL has grown, since that
 * copy and its fsync could hold the loop for a few hundred ms; and
 * GW_SQLITE_READERS readers, each with a read-only connection of its own
 * (WAL lets readers read beside the writer), that answer history and
 * search reads, since a search may take its whole time bound and a flood
 * of them held the loop for tens of seconds.
 *
 * How it keeps the loop moving: an append only copies the event into an
 * in-memory batch (GW_STORE_PENDING); once per turn of the loop the adapter
 * calls gw_sqlite_flush, which commits the whole batch in one transaction,
 * reports each room's completion (sink.done), then hands the reads queued
 * meanwhile to the readers and reports the answers they have finished
 * (sink.rows). A reader that finishes makes gw_sqlite_fd readable, so
 * that the adapter flushes again. The sink is called from gw_sqlite_flush
 * only, on the loop's thread.
 *
 * Durability: WAL journal with synchronous=NORMAL. A commit reported done
 * survives the process being killed (kill -9): it is in the WAL, in the
 * operating system's cache. A power cut or kernel crash may lose the last
 * commits made since the WAL was last synced (at a checkpoint), never
 * damaging the database: it reopens at an earlier, consistent state.
 * Nothing else is lost with the checkpoint thread: it copies committed
 * pages only, as SQLite itself would.
 *
 * Schema (version GW_SQLITE_SCHEMA, kept in PRAGMA user_version):
 *   meta(key, value)          "epoch": 16 lowercase hex digits
 *   rooms(n, key, name, last) a number per room key; last: its latest id
 *   events(k, time, type, json, line, text)
 *                             k = (n << GW_SQLITE_ID_BITS) | id: a room's
 *                             events are one range of the table's b-tree,
 *                             so resume, scrollback and "the latest" are
 *                             index-only whatever the table's size
 *   events_fts                FTS5 over events.text (external content:
 *                             the engine adds an event's words in the
 *                             transaction that adds the event; a trigger
 *                             takes them out when an event is deleted)
 *   accounts(key, nick, phc, roles, generation, created_ms, pm_top)
 *                             one row per account (gw_accounts.h), by key;
 *                             pm_top: the last id given to its messages
 *   sessions(digest, key, generation, created_ms, expires_ms)
 *                             one row per session, by its token's digest,
 *                             indexed by key (an account's, oldest first:
 *                             by rowid, which only grows) and by
 *                             expires_ms (the upkeep's deletes)
 *   account_rooms(key, room, read_id)
 *                             the rooms an account is a member of and the
 *                             last id it read in each, by (key, room), and
 *                             indexed by (room, key): a room's members
 *   account_pms(key, id, time_ms, peer, out, text)
 *                             the private messages kept for an account,
 *                             unique by (key, id): its latest
 *                             GW_ACCOUNT_PMS_MAX (ids are dense, so those
 *                             above pm_top - GW_ACCOUNT_PMS_MAX)
 *   room_cfg(room, owner, topic, topic_by, topic_ms, flags, jkey)
 *                             one row per room with a config (gw_roomcfg.h),
 *                             by its key; the join key as given
 *   room_entries(room, list_id, kind, who, setter, set_ms, expires_ms, why)
 *                             a room's operators, voice, bans, mutes and
 *                             invites, and under room '' the gateway-wide
 *                             bans, by (room, list_id, kind, who)
 *
 * Versions: 1 had meta, rooms, events and events_fts; 2 added accounts and
 * sessions; 3 added accounts.pm_top, account_rooms and account_pms; 4
 * added room_cfg and room_entries. A
 * database of an older version gains what it lacks at open, in
 * one transaction with its new user_version, keeping everything it had; a
 * newer one is refused (GW_SQLITE_ESCHEMA).
 *
 * Accounts (gw_sqlite_accounts): their writes join the batch like appends
 * and are answered from the flush after their commit, in the order made;
 * their reads (find, session_find) go to the readers after the commit that
 * precedes them, like history reads, so a find sees every write made
 * before it.
 */
#ifndef GW_STORE_SQLITE_H
#define GW_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_accounts.h"
#include "gw_limits.h"
#include "gw_roomcfg.h"
#include "gw_store.h"

/* Files in the data directory. */
#define GW_SQLITE_DB_NAME "wintalk.db"
#define GW_SQLITE_LOCK_NAME "wintalk.lock" /* flock'ed while a gateway has it open */

/* The schema this code writes; a database of a newer one is refused. */
#define GW_SQLITE_SCHEMA 4

/* A path: the data directory and a file name in it. */
#define GW_SQLITE_PATH_MAX_BYTES 4096u

/* Event ids in a room: 1 .. 2^40 - 1 (the low bits of the key); room
 * numbers 1 .. 2^23 - 1 (the high bits, the key staying a positive int64). */
#define GW_SQLITE_ID_BITS 40
#define GW_SQLITE_ID_MAX ((UINT64_C(1) << GW_SQLITE_ID_BITS) - 1u)
#define GW_SQLITE_ROOMS_MAX ((UINT64_C(1) << (63 - GW_SQLITE_ID_BITS)) - 1u)

/* A room key or name the store takes (gw_room.h keeps them within it). */
#define GW_SQLITE_KEY_MAX_BYTES GW_ROOM_NAME_MAX_BYTES

/* The batch of appends waiting for the next commit: at most this many
 * events and bytes (json + line + text). An append that finds the batch
 * full commits it first, there (its rooms are reported at the next
 * flush). One event is at most GW_SQLITE_EVENT_MAX_BYTES (more: the append
 * is refused with GW_STORE_EINVAL). */
#define GW_SQLITE_BATCH_MAX_EVENTS 1024u
#define GW_SQLITE_BATCH_MAX_BYTES (4u * 1024u * 1024u)
#define GW_SQLITE_EVENT_MAX_BYTES (256u * 1024u)

/* Completions waiting for the next flush (one per room and outcome, in
 * order). An append that would need a commit when these are full is
 * refused with GW_STORE_EBUSY. */
#define GW_SQLITE_REPORTS_MAX 4096u

/* Rooms left empty waiting for the next flush to be forgotten (gw_store.h,
 * forget); past it a room is not forgotten (counted). A room of more than
 * GW_SQLITE_FORGET_EVENTS_MAX events is kept without looking for a message
 * in it: the look is a scan of its events, and such a room is one people
 * use. */
#define GW_SQLITE_FORGETS_MAX 256u
#define GW_SQLITE_FORGET_EVENTS_MAX 2000u

/* Account writes in one batch: past it the batch is committed at once
 * (answered at the next flush, as ever). Answers to account writes waiting
 * for the flush: a write that would need a commit when these are full is
 * refused with GW_STORE_EBUSY. */
#define GW_SQLITE_ACCOUNT_OPS_MAX 1024u
#define GW_SQLITE_ANSWERS_MAX 4096u

/* Room config calls waiting in the engine (writes until their commit,
 * reads, and their answers until the flush gives them); past it a call is
 * refused with GW_STORE_EBUSY. */
#define GW_SQLITE_ROOMCFG_OPS_MAX 1024u

/* Reads in the engine at once (waiting for the commit, waiting for a
 * reader, being read, or read and not yet reported); past it a read gets
 * GW_STORE_EBUSY. (The hub's own bound, GW_READS_MAX, is lower.) */
#define GW_SQLITE_READS_MAX 256u

/* Reader threads, each with its own read-only connection (opts.readers;
 * 0: GW_SQLITE_READERS). Two keep one long search from holding every
 * other read on a machine of two cores; more would take the loop's core. */
#define GW_SQLITE_READERS 2u
#define GW_SQLITE_READERS_MAX 8u

/* One read's answer is copied out of SQLite into a buffer of this many
 * bytes (json + line + text of its events): an answer that would not fit
 * stops early with more = 1, the reader asks again from there. */
#define GW_SQLITE_ROWS_MAX_BYTES (4u * 1024u * 1024u)

/* A search: at most this many terms are used (the rest are ignored), and
 * it runs for at most search_ms (GW_STORE_EBUSY past it). The FTS5 query
 * made from the user's words fits GW_SQLITE_FTS_MAX_BYTES.
 *
 * The time bound is checked between SQLite's steps, and FTS5 gathers a
 * prefix term's matches in one step that cannot be stopped, taking time
 * with the size of every matching word's list (over 1,000,000 events:
 * "t*" 220 ms, "th*" 70 ms, "bui*" 20 ms). So a prefix term needs
 * GW_SQLITE_PREFIX_MIN_CHARS characters, and a search has at most
 * GW_SQLITE_PREFIX_TERMS_MAX of them; past either, the word is searched
 * whole. */
#define GW_SQLITE_SEARCH_TERMS_MAX 16u
#define GW_SQLITE_PREFIX_MIN_CHARS 3u
#define GW_SQLITE_PREFIX_TERMS_MAX 2u
#define GW_SQLITE_SEARCH_MS_DEFAULT 250u
#define GW_SQLITE_FTS_MAX_BYTES (GW_STORE_QUERY_MAX_BYTES + 8u * GW_SQLITE_SEARCH_TERMS_MAX + 1u)

/* The WAL's pages (4 KiB) past which the checkpoint thread is woken:
 * SQLite's own default. The checkpoint copies what the loop committed
 * while the loop goes on; when the loop writes faster than it copies
 * (store_fill's 1,000,000 events at 138,000 a second left 400 MB of WAL),
 * the WAL grows until the rate drops, then starts over and is cut back to
 * GW_SQLITE_WAL_KEEP_BYTES. */
#define GW_SQLITE_CHECKPOINT_PAGES 1000
#define GW_SQLITE_WAL_KEEP_BYTES (64u * 1024u * 1024u)

/* How long a statement waits for SQLite's own lock (another process
 * writing the file): short, since the event loop waits with it. */
#define GW_SQLITE_BUSY_MS 10

/* How long a command-line tool's statement waits for that lock when it
 * opens the database beside a running gateway (opts.beside): the
 * gateway's commits take milliseconds, so this only bounds a stuck one. */
#define GW_SQLITE_BESIDE_BUSY_MS 5000

/* Retention: one gw_sqlite_maintain call deletes at most this many events
 * and looks at at most this many rooms, so it holds the loop a few ms
 * (deleting 136,000 of 1,000,000 events: 2 ms a call on average, 24 ms
 * at most); 500 a second is 43 million a day. */
#define GW_SQLITE_RETAIN_ROWS_MAX 500u
#define GW_SQLITE_RETAIN_ROOMS_MAX 64u

/* One gw_sqlite_maintain call deletes at most this many sessions past
 * their end. */
#define GW_SQLITE_EXPIRE_ROWS_MAX 500u

/* While unhealthy, gw_sqlite_maintain probes this often: the file system
 * has this many bytes free (room for a few batches of chat), and a tiny
 * write works. */
#define GW_SQLITE_PROBE_MS 2000
#define GW_SQLITE_PROBE_FREE_BYTES (1024u * 1024u)

/* The message of a failure (gw_sqlite_open's err, gw_sqlite_healthy's why). */
#define GW_SQLITE_WHY_MAX_BYTES (2u * GW_SQLITE_PATH_MAX_BYTES + 256u)

/*
 * Return codes of gw_sqlite_open, each with its exit status (sysexits.h)
 * for a program that cannot start without its store:
 */
enum gw_sqlite_status {
    GW_SQLITE_OK = 0,        /* EX_OK 0 */
    GW_SQLITE_EINVAL = -1,   /* no directory, or a path too long: EX_USAGE 64 */
    GW_SQLITE_ECREATE = -2,  /* the directory cannot be created (a path in the way is
                              * a file, no permission): EX_CANTCREAT 73 */
    GW_SQLITE_ENOPERM = -3,  /* the directory or the database is not writable (read-only
                              * file system, permissions): EX_NOPERM 77 */
    GW_SQLITE_ELOCKED = -4,  /* another gateway uses the directory, or another program
                              * holds the database's lock: EX_TEMPFAIL 75 */
    GW_SQLITE_ECORRUPT = -5, /* the file is not a database, or a damaged one, or has
                              * no valid epoch: EX_DATAERR 65 */
    GW_SQLITE_ESCHEMA = -6,  /* a database of a newer schema, or not this program's
                              * (other tables in it): EX_DATAERR 65 */
    GW_SQLITE_EIO = -7,      /* any other failure to read or write (disk full while
                              * creating, I/O error): EX_IOERR 74 */
    GW_SQLITE_ENOMEM = -8,   /* EX_OSERR 71 */
};

struct gw_sqlite; /* opaque */

struct gw_sqlite_opts {
    const char *dir;         /* the data directory; made (mode 0700, with parents) if missing */
    unsigned history_days;   /* retention: delete events older than this; 0 = keep all */
    unsigned history_max;    /* retention: keep this many latest per room; 0 = keep all */
    unsigned search_ms;      /* a search's time bound; 0 = GW_SQLITE_SEARCH_MS_DEFAULT */
    unsigned readers;        /* reader threads; 0 = GW_SQLITE_READERS (at most
                              * GW_SQLITE_READERS_MAX) */
    /* The clock of the search bound, in microseconds of a monotonic clock,
     * given clock_arg; NULL: CLOCK_MONOTONIC. (Tests give one that moves
     * on each call, making the bound hit at a known point.) Called from
     * the reader threads. */
    int64_t (*clock_us)(void *arg);
    void *clock_arg;
    /* For a command-line tool's account calls (gw_sqlite_account_list
     * and the synchronous writes) beside a gateway that may be running on
     * the same directory: take no lock (the gateway's flock stays its
     * own), make nothing (the directory and DIR/wintalk.db must exist,
     * with schema GW_SQLITE_SCHEMA exactly: another is GW_SQLITE_ESCHEMA,
     * with no migration), no checkpoint thread and no reader (the gateway
     * checkpoints), statements waiting up to GW_SQLITE_BESIDE_BUSY_MS for
     * the gateway's transaction. SQLite's own locks keep the two writers
     * apart; each write is one short transaction, shorter than the
     * gateway's GW_SQLITE_BUSY_MS. Nothing but those account calls. */
    int beside;
};

/*
 * Open (creating) DIR/wintalk.db: make the directory if missing, take an
 * exclusive non-blocking flock on DIR/wintalk.lock (held until close),
 * set WAL and synchronous=NORMAL, make the schema and a random nonzero
 * epoch (OpenSSL RAND_bytes) in a new database or read them from an
 * existing one. The sink is copied; it is called from gw_sqlite_flush only.
 * With o->beside, none of the lock, the making and the threads: see there.
 * Returns 0 and stores the engine in *out (free with gw_sqlite_close), or a
 * GW_SQLITE_E* code with one line in err (errlen bytes, may be 0) naming
 * the path and the cause, and nothing to free.
 */
int gw_sqlite_open(const struct gw_sqlite_opts *o, const struct gw_store_sink *sink,
                   struct gw_sqlite **out, char *err, size_t errlen);

/* The exit status (sysexits.h) for a gw_sqlite_open code, as listed above. */
int gw_sqlite_exit_status(int code);

/* English for a gw_sqlite_status. Never NULL. */
const char *gw_sqlite_strerror(int code);

/* The epoch of the ids kept in this database: made once when the
 * database is made (a deleted data directory gives a new one). Nonzero. */
uint64_t gw_sqlite_epoch(const struct gw_sqlite *s);

/*
 * Fill *out with the engine's functions (kind "sqlite"), ctx s:
 *  - append: copies the event (id 1..GW_SQLITE_ID_MAX; strings borrowed
 *    for the call) into the batch and returns GW_STORE_PENDING; sink.done
 *    follows from a flush. Returns GW_STORE_EIO at once while unhealthy,
 *    GW_STORE_EINVAL for a bad id, key or size, GW_STORE_EBUSY when the
 *    completions waiting are at their bound. An id already kept in the
 *    room is not replaced (and reported done).
 *  - read: checks and queues the read (GW_STORE_PENDING; GW_STORE_EINVAL
 *    for a bad limit, key or search, GW_STORE_EBUSY when GW_SQLITE_READS_MAX
 *    are in the engine); the next flush hands it to a reader after its
 *    commit, so a read sees every append made before it, and a later flush
 *    reports the answer. SEARCH takes id like BEFORE (0: from the newest;
 *    else matches below id), to page through matches.
 *  - load_async: the same as load, answered through sink.loaded by a
 *    reader (GW_STORE_PENDING; GW_STORE_ENOTSUP without sink.loaded,
 *    GW_STORE_EBUSY when GW_SQLITE_READS_MAX are in the engine); commits
 *    the room's events still in the batch first, at once.
 *  - load: synchronous; commits the batch first when it holds events of
 *    that room. The events are given to each() as they are read (each()
 *    must not call the store).
 * Valid until gw_sqlite_close.
 */
void gw_sqlite_store(struct gw_sqlite *s, struct gw_store *out);

/*
 * Once per turn of the event loop: commit the batch in one transaction
 * (BEGIN IMMEDIATE ... COMMIT), then call sink.done(room, last id of that
 * room, status) for every room committed since the last flush, in the
 * order of their appends (GW_STORE_DONE, or GW_STORE_EIO for a batch
 * rolled back: none of its events was kept, what was kept before is
 * intact, and the store is unhealthy), then give the answers to the
 * account writes committed since the last flush, in the order they were
 * made (GW_STORE_EIO for those of a batch rolled back), then hand the
 * reads queued before this call to the readers, and report the answers
 * the readers have finished (sink.rows, sink.loaded, and the account
 * sink's answers to find and session_find). The sink may call the store
 * again (appends and account writes go to the next batch, reads to the
 * next flush). Returns 0, or GW_STORE_EIO when the commit failed.
 */
int gw_sqlite_flush(struct gw_sqlite *s);

/* Whether a flush has anything to do (a batch, completions, reads to hand
 * over or answers to report): the adapter may then turn its loop without
 * waiting. */
int gw_sqlite_busy(const struct gw_sqlite *s);

/* A descriptor (an eventfd) that is readable while a reader's answer
 * waits for a flush: the adapter polls it on its loop and flushes when it
 * is. Owned by the engine; valid until gw_sqlite_close. */
int gw_sqlite_fd(const struct gw_sqlite *s);

/* For a program without a loop (tests, tools): wait at most timeout_ms for
 * an answer to report. Returns 1 when one waits, else 0. */
int gw_sqlite_wait(const struct gw_sqlite *s, int timeout_ms);

/*
 * Now and then (about once a second), with the wall clock in ms since the
 * Unix epoch: while unhealthy, every GW_SQLITE_PROBE_MS a probe (at least
 * GW_SQLITE_PROBE_FREE_BYTES free on the file system, and a tiny write)
 * that makes the store healthy again when it succeeds; while healthy,
 * retention: a room's events older than history_days (by their time; the
 * oldest of the room first, stopping at the first newer one) and those
 * more than history_max ids behind its latest id (ids in a room are
 * dense, so those are its newest history_max events, fewer only where
 * ids were lost), at most GW_SQLITE_RETAIN_ROWS_MAX rows per call, in one
 * transaction; and sessions over by then (expires_ms <= wall_ms), at most
 * GW_SQLITE_EXPIRE_ROWS_MAX per call. Never calls the sink.
 */
void gw_sqlite_maintain(struct gw_sqlite *s, int64_t wall_ms);

/* 1 when the last commit or probe succeeded, else 0 with *why (if why is
 * not NULL) set to one line: "disk full: database or disk is full
 * (DIR/wintalk.db)". *why is "" when healthy; borrowed until the next
 * call into the engine. */
int gw_sqlite_healthy(const struct gw_sqlite *s, const char **why);

struct gw_sqlite_stats {
    uint64_t events_stored;  /* events committed since open */
    uint64_t batches;        /* batches committed: the count of the latency below */
    uint64_t batch_us_sum;   /* their commit time (BEGIN to COMMIT), microseconds */
    uint64_t batch_us_max;
    uint64_t commits;        /* every transaction SQLite committed (batches,
                              * retention, probes), from its commit hook */
    uint64_t checkpoints;    /* WAL copies the checkpoint thread made */
    uint64_t errors;         /* failed commits and probes */
    uint64_t events_deleted; /* by retention, and of rooms forgotten */
    uint64_t rooms_forgotten; /* rooms with no message left behind, and rooms
                              * retention emptied, deleted */
    uint64_t forgets_dropped; /* rooms not forgotten: GW_SQLITE_FORGETS_MAX waiting */
    uint64_t rooms_refused;  /* a new room past GW_SQLITE_ROOMS_MAX: its events
                              * refused, the batch's others kept */
    uint64_t reads;          /* reads answered (rows or a failure) */
    uint64_t search_timeouts; /* searches stopped at search_ms */
    uint64_t pending;        /* events in the batch now */
    uint64_t sessions_expired; /* sessions deleted by the upkeep past their end */
    uint64_t db_bytes;       /* the database (page_count * page_size) and its WAL file */
};

/* Fill *st (reads the database's size: a stat of the WAL file). */
void gw_sqlite_stats(const struct gw_sqlite *s, struct gw_sqlite_stats *st);

/* The database file's path, for /healthz. Borrowed until gw_sqlite_close. */
const char *gw_sqlite_path(const struct gw_sqlite *s);

/*
 * Fill *out with the accounts' calls (gw_accounts.h), ctx s, answering to
 * sink (copied; sink->answer is called from gw_sqlite_flush only, on the
 * loop's thread):
 *  - create, update, remove, session_keep, session_drop copy their
 *    arguments into the batch and return GW_STORE_PENDING; the flush that
 *    commits the batch answers them, in the order they were made, each
 *    decided in the transaction after the writes before it (of two creates
 *    of one key in a batch, the second gets GW_ACCOUNT_EXISTS), or all
 *    GW_STORE_EIO when the batch is rolled back. They return GW_STORE_EIO
 *    at once while unhealthy, GW_STORE_EINVAL for a bad argument (a key
 *    or nick of 0 or more than GW_ACCOUNT_KEY_MAX_BYTES bytes, a phc past
 *    GW_ACCOUNT_PHC_MAX_BYTES, a digest not of GW_DIGEST_HEX_LEN lowercase
 *    hex digits, a generation of 2^63 or more), GW_STORE_EBUSY when
 *    answers wait at their bound.
 *  - find, session_find are queued like a read (GW_STORE_PENDING; EINVAL,
 *    or EBUSY when GW_SQLITE_READS_MAX are in the engine) and answered by
 *    a reader after the commit of what was written before them.
 *  - room_keep, read_mark and pm_add are writes of the batch like
 *    create: decided in the transaction after the writes before them
 *    (of 101 joins in one batch, the 101st is GW_ACCOUNT_FULL; messages
 *    are numbered in the order made), answered from the flush after the
 *    commit (pm_add through sink->pms, with the message as kept), or
 *    GW_STORE_EIO when the batch is rolled back (a pm_add then took no
 *    id). An account's ids come from its row (pm_top), so they go on
 *    across restarts; removing it deletes its rooms and messages (the tool's
 *    remove too).
 *  - rooms_of, room_accounts and pm_after are reads like find (rooms_of
 *    in byte order of room; room_accounts pages exactly as keys does).
 *  - keys is such a read too, answered through sink->keys (EINVAL without
 *    it): the names after the cursor in byte order, GW_ACCOUNT_KEYS_PAGE
 *    of them and the last one as the next cursor while there are more,
 *    else the rest and next "" (no names: one empty page). The cursor is
 *    "" or the last name given, so a page is never short before the last
 *    and a walk gives each name registered throughout it exactly once (a
 *    name made or removed meanwhile: once or not at all). A cursor of
 *    more than GW_ACCOUNT_KEY_MAX_BYTES bytes, or NULL, is EINVAL. A
 *    failed read is answered GW_STORE_EIO (no names, next "").
 * A session is over at now_ms >= expires_ms, or when its generation is
 * below its account's. Sessions past GW_SESSIONS_PER_ACCOUNT end the
 * account's oldest (the one kept longest ago). Valid until gw_sqlite_close.
 */
void gw_sqlite_accounts(struct gw_sqlite *s, const struct gw_account_sink *sink,
                        struct gw_accounts *out);

/*
 * Fill *out with the room config's calls (gw_roomcfg.h), ctx s, answering
 * to sink (copied; called from gw_sqlite_flush only, on the loop's
 * thread):
 *  - owner_set, topic_set, settings_set, entry_set, entry_clear copy their
 *    arguments into a queue and return GW_STORE_PENDING; they run in the
 *    transaction of the next commit of the batch, after its events and
 *    account writes, each decided after the writes before it (of two
 *    entry_sets of new entries at a list's bound less one, the second is
 *    GW_ROOMCFG_FULL), and are answered from the flush after it, in the
 *    order made, each GW_STORE_DONE followed by sink->changed; a rolled
 *    back batch answers them all GW_STORE_EIO. While unhealthy they return
 *    GW_STORE_EIO at once.
 *  - load and entries are answered from the flush too, in the queue's
 *    order, read then, after the commit: they see every write made before
 *    them (and those made after them before the flush). They are read on
 *    the loop's thread, not by the readers: one room's rows by their key,
 *    at most the sum of its lists' bounds (GW_GBANS_MAX for the
 *    gateway-wide bans), which the loop reads in about a millisecond
 *    (test_roomcfg_sqlite measures a room full to every bound).
 *  - every call returns GW_STORE_EINVAL for a bad argument (gw_roomcfg.h),
 *    GW_STORE_EBUSY when GW_SQLITE_ROOMCFG_OPS_MAX calls wait.
 * Expired entries are deleted when their list is written (the write's
 * time), not before. Valid until gw_sqlite_close.
 */
void gw_sqlite_roomcfg(struct gw_sqlite *s, const struct gw_roomcfg_sink *sink,
                       struct gw_roomcfgs *out);

/*
 * For a command-line tool (no loop, nothing else running on s): each
 * account in key order to each() (strings borrowed for the call; each()
 * must not call the store), after committing the batch. Returns 0 or
 * GW_STORE_EIO.
 */
int gw_sqlite_account_list(struct gw_sqlite *s,
                           void (*each)(void *arg, const struct gw_account *a), void *arg);

/*
 * The same tool's writes, at once, each in a transaction of its own after
 * the batch is committed: create (GW_STORE_DONE or GW_ACCOUNT_EXISTS),
 * update (its nick, phc, roles and generation; GW_STORE_DONE or
 * GW_ACCOUNT_NONE), remove (with its sessions; GW_STORE_DONE or
 * GW_ACCOUNT_NONE). Or GW_STORE_EINVAL (as gw_sqlite_accounts' calls),
 * GW_STORE_EIO (the store is unhealthy, or the write failed: nothing kept).
 */
int gw_sqlite_account_create(struct gw_sqlite *s, const struct gw_account *a);
int gw_sqlite_account_update(struct gw_sqlite *s, const struct gw_account *a);
int gw_sqlite_account_remove(struct gw_sqlite *s, const char *key);

/*
 * Commit what the batch holds (without reporting it: call gw_sqlite_flush
 * first to have it reported), drop the reads waiting, stop and join the
 * readers (a read under way ends first), close the database
 * and release the directory's lock. NULL is fine.
 */
void gw_sqlite_close(struct gw_sqlite *s);

/*
 * The FTS5 query for the user's words q (len bytes; gw_store_query_check
 * accepts them), never FTS5 syntax from the user: each bare word becomes a
 * quoted term (implicit AND; a word ending in '*' a prefix term, within
 * the bounds of prefixes above), text in double quotes a phrase (an
 * unclosed quote runs to the end), words with no letter or digit are
 * dropped, and after GW_SQLITE_SEARCH_TERMS_MAX terms the rest are
 * ignored. Writes a NUL-terminated query into out (cap
 * bytes; GW_SQLITE_FTS_MAX_BYTES is enough). Returns the number of terms
 * (1 or more), or GW_STORE_EINVAL when there is none or it does not fit.
 * Pure.
 */
int gw_sqlite_fts_query(const char *q, size_t len, char *out, size_t cap);

#endif /* GW_STORE_SQLITE_H */
