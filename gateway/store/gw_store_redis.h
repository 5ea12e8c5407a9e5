/*
 * gw_store_redis.h - the Redis store engine: the rooms of every gateway
 * started with the same Redis are the same rooms. Each room is a Redis
 * Stream of its events (ids given by Redis, one sequence per room) with a
 * meta hash, and a channel on which every event is published as it is
 * kept; each gateway subscribes to the channels of the rooms it has open
 * and sends what comes to its own participants. An engine that orders
 * (GW_STORE_ORDERS, gw_store.h).
 *
 * An adapter with I/O, like gw_store_sqlite.c: it talks to Redis through
 * gw_redis.h on the event loop's libuv loop, never blocking it; it never
 * logs and never writes to stderr (lines for the log go to a callback).
 *
 * Keys (GW_RSTORE_PREFIX first):
 *   epoch               the epoch of every room's ids: 16 lowercase hex
 *                       digits, made by the first gateway to find none
 *                       (a Redis that lost its data gets a new one)
 *   room:KEY            hash: top (the room's last id), name (as first
 *                       spelled)
 *   nodes               set: the gateways (nodes) that sent a list
 *   presence:NODE       that gateway's last list of participants, for
 *                       GW_PRESENCE_TTL_MS: read by a gateway that comes,
 *                       which then need not wait for the next beats
 *   room:KEY:log        stream: the room's events, entry id "ID-0", fields
 *                       j (JSON), l (transcript line), y (type), t (time),
 *                       x (a message's words), trimmed to max_events
 *   node:NODE:kept      the number of that gateway's latest append kept
 *                       (its appends are numbered 1, 2, 3... as sent)
 *   once:NAME           an append made once (append_once, gw_store.h) was
 *                       kept under that name, for GW_RSTORE_ONCE_TTL_MS:
 *                       the same append asked again, by any gateway, keeps
 *                       nothing more
 *   ident:DIGEST        hash: a browser's identity, named by its token's
 *                       SHA-256 in hex (never the token): nick, top (its
 *                       latest private id), conn (its latest connection's
 *                       participant id), m<ID> (its latest GW_PRIVATE_KEEP
 *                       private messages' JSON); for GW_IDENTITY_TTL_MS
 *                       after the last write or touch, so that a browser
 *                       resumes its identity on any gateway
 *   account:HEX         hash: an account (gw_accounts.h), HEX its name's
 *                       bytes in lowercase hex (any bytes make a safe key,
 *                       and no name can end in another's ":sessions"):
 *                       key (the name as is), nick, phc, roles,
 *                       generation, created_ms (decimal); pm_top (the
 *                       last id given to its private messages, once it
 *                       has had one)
 *   account:HEX:sessions  sorted set: the digests of the account's
 *                       sessions, scored by the order they were made in
 *                       (1, 2, 3...: the highest score plus one, not a
 *                       time, because sessions made in one millisecond on
 *                       two gateways would tie, and ties order by digest)
 *   account:HEX:rooms   hash: the rooms the account is a member of (their
 *                       keys as is), each to the last message id it read
 *                       there (decimal)
 *   account:HEX:pms     stream: the private messages kept for it, entry
 *                       id "ID-0", fields t (time), p (peer), o (out: 1
 *                       or 0), x (text); trimmed to GW_ACCOUNT_PMS_MAX
 *                       exactly (XADD MAXLEN =)
 *   members:ROOM        sorted set: the accounts that are members of the
 *                       room of that key, by name (as is), all of score 0
 *   session:DIGEST      hash: a session, named by its token's SHA-256 in
 *                       hex: account (its key as is), generation,
 *                       expires_ms; PEXPIREAT at its end, so Redis deletes
 *                       it then
 *   accounts            sorted set: every account's name (as is), all of
 *                       score 0, so that ZRANGE BYLEX pages them in byte
 *                       order (keys); kept by create and remove
 *   accounts:indexed    "1": accounts holds every account's name (set once
 *                       by the gateway that filled it: see keys below)
 * Channels:
 *   room:KEY            "E" id " " json-length " " json line: an event
 *                       kept; "T" from " " json: typing, kept nowhere
 *   presence            "S" node " " list: a gateway's participants
 *                       (gw_presence.c), on its beat
 *   node:NODE           "M" message: a private message for a participant
 *                       of that gateway (gw_private.c)
 *   generations         "G" generation " " why " " name: a gateway moved
 *                       an account's generation on (moved, gw_accounts.h:
 *                       every session of it ended, or a new password), so
 *                       that each gateway ends at once its connections
 *                       logged in under an older one; sent after update
 *                       answered, kept nowhere. A gateway whose
 *                       subscription was lost misses what was sent
 *                       meanwhile: when it is back (resubscribed) the
 *                       engine says so (sink->moved with no name) and the
 *                       hub looks at its accounts again.
 *   roomcfg             "C" what " " room: a gateway changed a room's
 *                       config (gw_roomcfg.h; what: GW_ROOMCFG_CH_* bits;
 *                       room "" for the gateway-wide bans), published by
 *                       the script that made the change, in the same
 *                       step, so no gateway can see the change before the
 *                       notice is sent; every gateway (the sender too)
 *                       gives it to sink->changed, and after a lost
 *                       subscription sink->changed(NULL, 0) says news
 *                       may have been missed.
 *
 * One Lua script appends: it checks the epoch, takes the next id (HINCRBY
 * top), writes it into the JSON, adds the entry (XADD MAXLEN ~) and
 * publishes it, so the stream and the live copies can never disagree and
 * id order is publish order. The gateway that appended gets its event
 * back through its subscription like every other.
 *
 * Accounts and their sessions (gw_rstore_accounts) are kept by six Lua
 * scripts, each one step that no other gateway can cut in two:
 *   create    answers GW_ACCOUNT_EXISTS when the account's hash exists,
 *             else writes it and puts its name in the names' index: of two
 *             gateways creating one name at once, exactly one is told
 *             GW_STORE_DONE.
 *   update    writes nick, phc, roles, generation when the hash exists
 *             (created_ms stays), else GW_ACCOUNT_NONE. The sessions stay
 *             as they are: those of an older generation are over for
 *             session_find, and deleted at the account's next
 *             session_keep or their own end.
 *   remove    deletes every session of the account, its sorted set, its
 *             name from each of its rooms' members, its rooms' hash, its
 *             messages' stream, its hash and its name in the index
 *             (GW_ACCOUNT_NONE when there was no hash).
 *   session_keep  GW_ACCOUNT_NONE when the account's hash is gone. Else
 *             a session of that digest kept before is replaced (it counts
 *             as made now); sessions that are over (deleted by Redis at
 *             their end, of another generation) leave the sorted set and
 *             do not count; a session asked under a generation that is not
 *             the account's present one is over already: nothing is kept
 *             and the answer is GW_STORE_DONE, as for a session kept and
 *             ended (so is one whose end has passed by Redis' clock: it
 *             takes no place); past GW_SESSIONS_PER_ACCOUNT the oldest
 *             are deleted.
 *   session_find  the account when the session exists, now_ms is before
 *             its end (a session whose expires_ms is now_ms is over), its
 *             account exists and has the session's generation; else
 *             GW_ACCOUNT_NONE. now_ms is the caller's clock: Redis deletes
 *             the key at expires_ms by its own clock, so a Redis clock
 *             ahead of the gateway's ends sessions that much early.
 *   session_drop  deletes the session and its place in its account's set
 *             (GW_ACCOUNT_NONE when there was no session: never made,
 *             ended, or deleted with its account; one of an older
 *             generation not deleted yet is dropped: GW_STORE_DONE).
 * Present while away, one script a call (each GW_ACCOUNT_NONE when the
 * account's hash is gone): room_keep puts the room in the account's rooms
 * at read id 0 and the name in the room's members, or takes both out
 * (GW_ACCOUNT_FULL past GW_ACCOUNT_ROOMS_MAX, by HLEN); rooms_of is its
 * rooms' HGETALL (sorted by room here); read_mark sets a room's read id
 * when it is larger (compared as decimal strings: Lua's numbers are
 * exact only below 2^53; GW_ACCOUNT_NONE when the room is not one of
 * its); pm_add takes the next id (HINCRBY pm_top: a new account, or one
 * made again after a remove, starts at 1), adds the entry and trims the
 * stream; pm_after is XRANGE from "(" after_id "-0" with COUNT.
 * room_accounts is ZRANGE BYLEX of the room's members, paged as keys.
 *
 * find is one HGETALL. keys is one ZRANGE of the names' index, BYLEX from
 * "(" and the cursor (the last name given, "" for the first page: "-"),
 * LIMIT GW_ACCOUNT_KEYS_PAGE + 1: a page is full exactly when there are
 * more (its last name is the next cursor), the last says next "" (no
 * names: one empty page), and a walk gives each name registered
 * throughout it exactly once, whatever is made or removed meanwhile. (Not
 * SCAN: it may give more than it is asked, and a name twice.) A cursor
 * NULL or over GW_ACCOUNT_KEY_MAX_BYTES, or no sink->keys, is
 * GW_STORE_EINVAL.
 *
 * The index came after the accounts' hashes (the same day, but a Redis may
 * hold accounts a gateway without it made): on each connect the engine
 * looks for accounts:indexed, and without it walks the account hashes
 * (SCAN, one script a page that puts the names of those still there in
 * the index) and sets it once every page is in. Until it knows the index
 * whole on this connection (one round trip when the mark is there) keys
 * fails at once with GW_STORE_EBUSY; a walk cut by an outage is begun
 * again at the next connect (putting a name in twice changes nothing).
 * Generations are compared as the decimal strings
 * written (Lua's numbers are doubles: exact only below 2^53). The scripts
 * name session keys they build from ARGV (a standalone Redis, as every
 * script of this engine assumes; not Redis Cluster).
 *
 * Outages, for accounts: a call made while the connection is down fails
 * at once (GW_STORE_EIO returned, no answer); a call in flight when the
 * connection drops or times out (gw_redis.h's command_ms) is answered
 * once with GW_STORE_EIO: it may or may not have been done (a create
 * asked again then answers GW_ACCOUNT_EXISTS when it was). Nothing waits
 * for Redis to come back. At most GW_RSTORE_ACCOUNT_CALLS_MAX calls wait
 * for their answers; past that a call fails at once with GW_STORE_EBUSY.
 * Calls still waiting at gw_rstore_close are not answered. Accounts live
 * as long as Redis keeps its data: run it with persistence (appendonly).
 *
 * Recovery: a room is read from its stream when it is watched, when an
 * event arrives with an id past the next expected one (a gap), when the
 * subscription connection came back after an outage, and when the
 * periodic position check (each room's top, every GW_RSTORE_CHECK_MS)
 * finds that what a room had at the check before has still not all come
 * here (not what came since: a busy gateway reads its subscription late,
 * and those events are on their way). Live events arriving meanwhile
 * wait (at most GW_RSTORE_HELD_MAX per room), then go after the read's,
 * each id once.
 */
#ifndef GW_STORE_REDIS_H
#define GW_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "gw_accounts.h"
#include "gw_roomcfg.h"
#include "gw_store.h"

#define GW_RSTORE_PREFIX "wintalk:"

/* A room's stream keeps about this many events by default (XADD MAXLEN
 * ~: Redis trims whole nodes, so a little more). */
#define GW_RSTORE_MAX_EVENTS_DEFAULT 100000u

/* One recovery read takes at most this many events; a room further behind
 * reads again from where the read ended. */
#define GW_RSTORE_READ_BATCH 1000u

/* Live events held while a room is read back; past it they are dropped
 * and the room is read again after (nothing is lost: they are in the
 * stream). */
#define GW_RSTORE_HELD_MAX 4096u

/* The position check's period. */
#define GW_RSTORE_CHECK_MS 5000u

/* An append whose answer was lost with its connection may have been kept:
 * its done waits until Redis, back, says (each gateway's count of appends
 * kept, node:NODE:kept, kept GW_RSTORE_KEPT_TTL_MS after its last append),
 * or is reported lost after GW_RSTORE_UNSURE_MS. */
#define GW_RSTORE_KEPT_TTL_MS 3600000u
#define GW_RSTORE_UNSURE_MS 15000u

/* Appends made once (append_once: the leave of a participant whose
 * gateway is gone, which every gateway left posts): at most
 * GW_RSTORE_ONCE_MAX wait (past it: GW_STORE_EBUSY), each sent again every
 * tick while Redis is down or did not answer (the name makes a second
 * one keep nothing), for at most GW_RSTORE_ONCE_TRY_MS; the names are kept
 * in Redis for GW_RSTORE_ONCE_TTL_MS, longer than any gateway tries. */
#define GW_RSTORE_ONCE_MAX 65536u
#define GW_RSTORE_ONCE_TRY_MS 600000u
#define GW_RSTORE_ONCE_TTL_MS 3600000u
_Static_assert(GW_RSTORE_ONCE_TTL_MS > 2u * GW_RSTORE_ONCE_TRY_MS, "a name outlives its tries");

/* Retention by age (history_days): every GW_RSTORE_RETAIN_MS a pass over
 * every room's stream in Redis (SCAN: the rooms no gateway has open too)
 * deletes its events older than the bound, at most GW_RSTORE_TRIM_BATCH
 * of a room at a time (one script: XRANGE, then XTRIM MINID); a pass that
 * found a full batch is followed by another at the next check. */
#define GW_RSTORE_RETAIN_MS 60000u
#define GW_RSTORE_TRIM_BATCH 1000u

/* Rooms watched at once. */
#define GW_RSTORE_ROOMS_MAX 65536u

/* A room left by its last member anywhere is forgotten (its hash and
 * stream deleted) when it has no message and at most this many events:
 * the look is a scan of them, in Redis, inside one script. */
#define GW_RSTORE_FORGET_EVENTS_MAX 2000u

/* Room config calls (gw_rstore_roomcfg) waiting for their answers at
 * once; past it a call is refused with GW_STORE_EBUSY. */
#define GW_RSTORE_ROOMCFG_CALLS_MAX 1024u

/* Account calls (gw_rstore_accounts) waiting for their answers at once:
 * a bound of their own, so that a flood of logins cannot take the
 * connection's whole GW_REDIS_MAX_WAITING_DEFAULT from the rooms. */
#define GW_RSTORE_ACCOUNT_CALLS_MAX 1024u

/* Room for a why or a log line. */
#define GW_RSTORE_WHY_MAX_BYTES 512u

struct gw_rstore; /* opaque */

struct gw_rstore_opts {
    const char *url;          /* redis://host:port/db (gw_redis.h) */
    unsigned max_events;      /* per room; 0: GW_RSTORE_MAX_EVENTS_DEFAULT */
    unsigned history_days;    /* events older than this are deleted; 0: kept */
    unsigned command_ms;      /* 0: gw_redis.h's default */
    unsigned probe_idle_ms;   /* 0: gw_redis.h's default */
    void *arg;                /* given to the callbacks */
    /* A line for the operator (no newline), borrowed for the call. */
    void (*log)(void *arg, const char *line);
    /* The epoch of the ids, once known, and whenever it changes (Redis lost
     * its data): the hub's must follow (gw_hub_set_epoch). */
    void (*epoch)(void *arg, uint64_t epoch);
};

/*
 * Start the engine on loop (borrowed until gw_rstore_close and the loop
 * run after it): parse the URL and start connecting. Redis need not be
 * there yet: the engine is unhealthy (gw_rstore_healthy says why) until it
 * is, and appends fail at once meanwhile. Reports go to sink (copied).
 * Returns 0 and the engine in *out, or a failure (gw_store_status) with one
 * line in err (a bad URL: GW_STORE_EINVAL).
 */
int gw_rstore_open(uv_loop_t *loop, const struct gw_rstore_opts *o,
                   const struct gw_store_sink *sink, struct gw_rstore **out, char *err,
                   size_t errlen);

/* The engine as the hub sees it (kind "redis", GW_STORE_ORDERS). */
void gw_rstore_store(struct gw_rstore *rs, struct gw_store *out);

/* Take the private messages for this gateway, the node its participants'
 * ids say (gw_hub_config.pid_base >> GW_NODE_SHIFT): channel node:NODE,
 * "M" and the message (gw_hub_private_in). Once. Returns 0 or a failure. */
int gw_rstore_listen(struct gw_rstore *rs, uint64_t node);

/*
 * Accounts and their sessions in this Redis (gw_accounts.h), shared by
 * every gateway on it: fill *out with the call table (every call
 * offered), answered through sink (copied). Once per engine, before the
 * first account call; a second call replaces the sink. Returns 0.
 * Each call returns GW_STORE_PENDING, or at once: GW_STORE_EINVAL (a
 * name empty or over GW_ACCOUNT_KEY_MAX_BYTES, a nick over
 * GW_NICK_MAX_BYTES, a phc over GW_ACCOUNT_PHC_MAX_BYTES, a digest not
 * GW_DIGEST_HEX_LEN lowercase hex digits, a NULL string), GW_STORE_EIO
 * (Redis is down), GW_STORE_EBUSY (GW_RSTORE_ACCOUNT_CALLS_MAX, or the
 * connection's own bound), GW_STORE_ENOMEM.
 */
int gw_rstore_accounts(struct gw_rstore *rs, const struct gw_account_sink *sink,
                       struct gw_accounts *out);

/*
 * Rooms' configs in this Redis (gw_roomcfg.h), shared by every gateway on
 * it: fill *out with the call table (every call offered), answered through
 * sink (copied). Returns 0. Kept as:
 *   roomcfg:ROOM        hash: owner, topic, topic_by, topic_ms, flags, key
 *                       (the join key as given)
 *   roomcfg:ROOM:lN     hash: list N's entries (enum gw_roomcfg_list),
 *                       field kind " " who, value set_ms " " expires_ms
 *                       " " by-length " " by why
 *   roomcfg:ROOM:lN:exp sorted set: the fields of list N's entries that
 *                       expire, scored by expires_ms
 *   gbans, gbans:exp    the gateway-wide bans, the same way
 * Each write is one Lua script that makes the change and publishes its
 * notice (channel roomcfg) in one step; entry_set and entry_clear first
 * delete the list's entries expired as of the write's time, and entry_set
 * checks the list's bound there, so of two gateways racing for a list's
 * last place exactly one is told GW_STORE_DONE. load reads the room's
 * hash and its lists in one script (one instant); entries is one HGETALL.
 * Expired entries are left out of answers (deleted at the next write to
 * their list). Answers come from the command's reply and notices from the
 * subscription: a write's notice may come before or after its answer.
 * Outages as for accounts: a call made while Redis is down returns
 * GW_STORE_EIO at once; one in flight when the connection drops is
 * answered GW_STORE_EIO (it may or may not have been done). Each call
 * returns GW_STORE_PENDING, or at once GW_STORE_EINVAL (gw_roomcfg.h),
 * GW_STORE_EIO, GW_STORE_EBUSY (GW_RSTORE_ROOMCFG_CALLS_MAX, or the
 * connection's own bound), GW_STORE_ENOMEM.
 */
int gw_rstore_roomcfg(struct gw_rstore *rs, const struct gw_roomcfg_sink *sink,
                      struct gw_roomcfgs *out);

/*
 * For a command-line tool (wintalk-gateway account list): every account
 * in this Redis to each(arg, a) (strings borrowed for the call), in no
 * particular order, then done(arg, status) once: GW_STORE_DONE, or
 * GW_STORE_EIO when Redis failed or a key of the accounts' holds no
 * account of this engine's (what each() was given is then partial).
 * Found by SCAN over the accounts' keys: an account made or removed
 * during the walk may be given or not. Returns GW_STORE_PENDING, or at
 * once (no call follows) GW_STORE_EINVAL (each or done NULL), GW_STORE_EIO
 * (Redis is down), GW_STORE_ENOMEM. Nothing is called after
 * gw_rstore_close.
 */
int gw_rstore_account_list(struct gw_rstore *rs,
                           void (*each)(void *arg, const struct gw_account *a),
                           void (*done)(void *arg, int status), void *arg);

/* 1 when connected and the epoch is known, else 0 and *why. */
int gw_rstore_healthy(const struct gw_rstore *rs, const char **why);

/* The epoch (0 until known). */
uint64_t gw_rstore_epoch(const struct gw_rstore *rs);

/* About every second, with the loop's clock in ms: the position check. */
void gw_rstore_tick(struct gw_rstore *rs, int64_t now_ms);

/* Figures for /metrics. */
struct gw_rstore_stats {
    uint64_t appended;        /* appends Redis took */
    uint64_t refused;         /* appends refused or lost */
    uint64_t delivered;       /* events given to the hub */
    uint64_t recoveries;      /* reads of a room from its stream */
    uint64_t recovered;       /* events those reads gave the hub */
    uint64_t epochs;          /* epoch changes seen */
    uint64_t expired;         /* events deleted for their age (history_days) */
    uint64_t forgotten;       /* rooms deleted: left with no message, or emptied by age */
};
void gw_rstore_stats(const struct gw_rstore *rs, struct gw_rstore_stats *st);

/* Stop: appends waiting are reported lost. Run the loop afterwards until
 * it has nothing to do (libuv closes the handles). NULL is fine. */
void gw_rstore_close(struct gw_rstore *rs);

#endif /* GW_STORE_REDIS_H */
