/*
 * gw_accounts.h - where accounts and their sessions are kept: the interface
 * every store engine offers the hub for them, beside the rooms' (gw_store.h).
 *
 * An account is a registered nick: its name is the nick as compared
 * (gw_nick_key: NFC, case folded), with the spelling it was registered
 * with, the Argon2id hash of its password as a PHC string (made and checked
 * off the event loop, never here: an engine only keeps the string), its
 * roles, and a generation: a session made under an older generation is
 * over (a new password, or "log out everywhere", moves it on). A session
 * is what a browser keeps to come back without its password: a random
 * token given at login, which an engine keeps only as its SHA-256 digest
 * (GW_DIGEST_HEX_LEN lowercase hex digits), with the account's name, the
 * generation it was made under and when it ends.
 *
 * An account is also present while away: it stays a member of its rooms
 * with no connection (at most GW_ACCOUNT_ROOMS_MAX), with the id of the
 * last message it has read in each, and its private messages are kept
 * for it (the latest GW_ACCOUNT_PMS_MAX, sent and received, numbered by
 * the engine 1, 2, 3... per account). Removing an account removes them.
 *
 * Every call is answered later through the sink, with the caller's tag,
 * never from inside the call, and off the caller's thread where the answer
 * needs a disk read; a call that returns a failure is not answered. Writes
 * are kept in the order they were made. Strings are borrowed for the call
 * (an engine copies what it keeps) and for the answer (the receiver
 * copies what it keeps).
 *
 * Pure interface: the engines are gw_accounts_mem.c (in memory, for
 * --store memory and the hub's tests), gw_store_sqlite.c and
 * gw_store_redis.c.
 */
#ifndef GW_ACCOUNTS_H
#define GW_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"
#include "gw_store.h"

/* Answers besides enum gw_store_status's. */
#define GW_ACCOUNT_EXISTS (-20)   /* create: the name is registered already */
#define GW_ACCOUNT_NONE (-21)     /* no such account, or no such session (or
                                   * one that is over: expired, or of an
                                   * older generation, or of an account
                                   * removed since); read_mark: the account
                                   * is not a member of the room */
#define GW_ACCOUNT_FULL (-22)     /* room_keep: the account is a member of
                                   * GW_ACCOUNT_ROOMS_MAX rooms already */

/* Why an account's generation moved on (moved, sink->moved): the words
 * the connections it logs out are told. */
#define GW_MOVED_ENDED 1          /* every session ended ("log out everywhere") */
#define GW_MOVED_PASSWORD 2       /* a new password */
#define GW_MOVED_REMOVED 3        /* the account is gone (the hub found none) */

/* Roles (bits). */
#define GW_ROLE_ADMIN 1u          /* a gateway administrator (--admin) */

/* Bounds of what an engine keeps, in bytes of each string without its NUL. */
#define GW_ACCOUNT_KEY_MAX_BYTES GW_NICK_MAX_BYTES
#define GW_ACCOUNT_PHC_MAX_BYTES 256u

/*
 * The phc of an account a site's token made (hub/gw_jwtlogin.c): this
 * prefix, then the token's sub (the site's user id, 1 to
 * GW_JWT_SUB_MAX_BYTES bytes), e.g. "jwt:user-42". It is no password hash:
 * no password logs in to such an account (a login answers "wrong nick or
 * password", as for no account, and the hasher is never asked to check a
 * password against it), and only a token with the same sub, compared
 * whole, logs in to it. An engine keeps it as any other phc string; the
 * operator's `account passwd` replaces it with a password's hash, and the
 * account is then a password account that no token logs in to.
 */
#define GW_ACCOUNT_PHC_SITE "jwt:"
#define GW_ACCOUNT_PHC_SITE_LEN 4u

/* Registered names in one answer of keys, and the bytes of its cursor. */
#define GW_ACCOUNT_KEYS_PAGE 256u
#define GW_ACCOUNT_CURSOR_MAX_BYTES 128u

/* A room as an account's rooms name it: the room's key (gw_room.h, as
 * compared), 1 to this many bytes. */
#define GW_ACCOUNT_ROOM_MAX_BYTES GW_ROOM_NAME_MAX_BYTES

/* Private messages in one answer of pm_after, at most; a private
 * message's peer (a nick) and text, in bytes. */
#define GW_ACCOUNT_PMS_PAGE 100u
#define GW_ACCOUNT_PEER_MAX_BYTES GW_NICK_MAX_BYTES
#define GW_ACCOUNT_TEXT_MAX_BYTES GW_TEXT_MAX_BYTES

/* Message ids an engine takes (read_mark, pm_after): 0 .. INT64_MAX. */
#define GW_ACCOUNT_ID_MAX ((uint64_t)INT64_MAX)

/* An account. */
struct gw_account {
    const char *key;        /* its name: the nick as compared */
    const char *nick;       /* the nick as registered */
    const char *phc;        /* the password's hash, a PHC string; "" for none;
                             * GW_ACCOUNT_PHC_SITE + sub for an account a
                             * site's token made */
    unsigned roles;         /* GW_ROLE_* */
    uint64_t generation;    /* sessions of older generations are over */
    int64_t created_ms;     /* wall clock, ms since the Unix epoch */
};

/* A room an account is a member of, and the id of the last message it
 * has read there (0: none). */
struct gw_account_room {
    const char *room;       /* the room's key, 1..GW_ACCOUNT_ROOM_MAX_BYTES */
    uint64_t read_id;
};

/* A private message kept for an account. */
struct gw_account_pm {
    uint64_t id;            /* given by the engine: 1, 2, 3... per account */
    int64_t time_ms;        /* wall clock, ms since the Unix epoch */
    const char *peer;       /* the other side's nick, 1..GW_ACCOUNT_PEER_MAX_BYTES */
    int out;                /* 1: the account sent it; 0: it received it */
    const char *text;       /* 0..GW_ACCOUNT_TEXT_MAX_BYTES bytes */
};

/* What an engine reports. */
struct gw_account_sink {
    void *ctx;
    /*
     * The answer to the call made with tag: GW_STORE_DONE, or
     * GW_ACCOUNT_EXISTS, GW_ACCOUNT_NONE, or a failure of enum
     * gw_store_status. find and session_find give the account with
     * GW_STORE_DONE (NULL otherwise); the others give NULL.
     */
    void (*answer)(void *ctx, uint64_t tag, int status, const struct gw_account *a);
    /*
     * The answer to keys: GW_STORE_DONE with n (0..GW_ACCOUNT_KEYS_PAGE)
     * registered names and the cursor of the next page ("" after the
     * last page), or a failure of enum gw_store_status (keys NULL, n 0,
     * next ""). May be NULL when keys is never called.
     */
    void (*keys)(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                 const char *next);
    /*
     * The answer to rooms_of: GW_STORE_DONE with every room of the
     * account (n 0..GW_ACCOUNT_ROOMS_MAX, in byte order of their keys),
     * or GW_ACCOUNT_NONE (no such account), or a failure (rows NULL, n 0
     * for both). May be NULL when rooms_of is never called.
     */
    void (*rooms)(void *ctx, uint64_t tag, int status, const struct gw_account_room *rows,
                  size_t n);
    /*
     * The answer to pm_add (GW_STORE_DONE with the one message as kept,
     * its id given) and to pm_after (GW_STORE_DONE with n
     * 0..GW_ACCOUNT_PMS_PAGE messages, oldest first), or GW_ACCOUNT_NONE
     * (no such account), or a failure (rows NULL, n 0 for both). May be
     * NULL when neither is called.
     */
    void (*pms)(void *ctx, uint64_t tag, int status, const struct gw_account_pm *rows,
                size_t n);
    /*
     * An engine several gateways share: a gateway said (moved) that the
     * account of key has the generation given now, and why (GW_MOVED_*;
     * another number is taken as GW_MOVED_ENDED), so that connections
     * logged in under an older one end; this gateway's own news comes
     * back too. Or key NULL (generation 0, why 0): news may have been
     * missed (the engine's link to the others came back after an
     * outage). Not an answer: no tag. May be NULL.
     */
    void (*moved)(void *ctx, const char *key, uint64_t generation, int why);
};

/* Accounts as the hub sees them. Any function may be NULL: not offered
 * (GW_STORE_ENOTSUP). Each returns GW_STORE_PENDING (the answer follows)
 * or a failure (nothing done, no answer): GW_STORE_EINVAL for a bad
 * argument (a NULL string or struct; a key, room, peer or text outside
 * its bounds above; a call whose answer goes to a sink function the
 * engine was not given), or the engine's own (GW_STORE_EIO, EBUSY,
 * ENOMEM). */
struct gw_accounts {
    void *ctx;
    /* A new account; GW_ACCOUNT_EXISTS when its key is taken. */
    int (*create)(void *ctx, uint64_t tag, const struct gw_account *a);
    /* The account of key, or GW_ACCOUNT_NONE. */
    int (*find)(void *ctx, uint64_t tag, const char *key);
    /* Keep a's nick, phc, roles and generation under a->key (created_ms
     * stays); GW_ACCOUNT_NONE when there is no such account. Sessions of
     * a generation below the new one are over (an engine may delete them
     * now). */
    int (*update)(void *ctx, uint64_t tag, const struct gw_account *a);
    /* Remove the account of key and every session of it; GW_ACCOUNT_NONE
     * when there was none. */
    int (*remove)(void *ctx, uint64_t tag, const char *key);
    /*
     * Keep a session: the token's digest, the account's key, the
     * generation it is made under, when it ends (wall clock, ms). At most
     * GW_SESSIONS_PER_ACCOUNT per account: a new one past that ends the
     * account's oldest (the one kept longest ago; a digest kept again
     * replaces its session, which becomes the newest). Answered with
     * GW_STORE_DONE, or GW_ACCOUNT_NONE when the account is gone.
     */
    int (*session_keep)(void *ctx, uint64_t tag, const char *digest_hex, const char *key,
                        uint64_t generation, int64_t expires_ms);
    /* The account of the session whose token has this digest, if the
     * session is not over at now_ms (wall clock), else GW_ACCOUNT_NONE.
     * A session is over from its expires_ms on (now_ms >= expires_ms),
     * and when its generation is below its account's. */
    int (*session_find)(void *ctx, uint64_t tag, const char *digest_hex, int64_t now_ms);
    /* End one session (logout); GW_ACCOUNT_NONE when there was none. */
    int (*session_drop)(void *ctx, uint64_t tag, const char *digest_hex);
    /*
     * A page of the registered names (gw_account.key), at most
     * GW_ACCOUNT_KEYS_PAGE, from cursor: "" for the first page, else the
     * next given with the page before (an opaque string of at most
     * GW_ACCOUNT_CURSOR_MAX_BYTES bytes). Answered through sink->keys.
     * Walking every page gives every name registered throughout the walk
     * at least once; a name made or removed during the walk may be given
     * or not, and a name may be given twice. An empty page with a next
     * cursor other than "" is allowed (walk on).
     */
    int (*keys)(void *ctx, uint64_t tag, const char *cursor);

    /* ---- present while away: rooms, read positions ---- */

    /*
     * The account of key becomes a member of room (in = 1; one it is a
     * member of already stays as it was, read position and all; a new one
     * starts at read_id 0) or is one no more (in = 0; also when it was
     * not). Answered through sink->answer: GW_STORE_DONE, GW_ACCOUNT_NONE
     * (no such account), or GW_ACCOUNT_FULL (in = 1 for a new room while
     * it is in GW_ACCOUNT_ROOMS_MAX: nothing kept). in other than 0 or 1
     * is GW_STORE_EINVAL.
     */
    int (*room_keep)(void *ctx, uint64_t tag, const char *key, const char *room, int in);
    /* Every room of the account, answered through sink->rooms. */
    int (*rooms_of)(void *ctx, uint64_t tag, const char *key);
    /*
     * The last message id the account has read in room: it only moves
     * forward (a smaller id than the one kept leaves it as it was).
     * Answered through sink->answer: GW_STORE_DONE, or GW_ACCOUNT_NONE
     * (no such account, or it is not a member of room). id past
     * GW_ACCOUNT_ID_MAX is GW_STORE_EINVAL.
     */
    int (*read_mark)(void *ctx, uint64_t tag, const char *key, const char *room, uint64_t id);
    /*
     * A page of the accounts that are members of room, answered through
     * sink->keys exactly as keys (cursor and page alike): the hub lists
     * its members who are away.
     */
    int (*room_accounts)(void *ctx, uint64_t tag, const char *room, const char *cursor);

    /* ---- private messages kept for the absent ---- */

    /*
     * Keep a private message for the account of key (pm->id is ignored:
     * the engine gives the next of the account's ids, 1 for its first,
     * never given twice to that account; an account removed and made
     * again starts at 1). Past GW_ACCOUNT_PMS_MAX the account's oldest go.
     * Answered through sink->pms: GW_STORE_DONE with the message as kept,
     * or GW_ACCOUNT_NONE (no such account).
     */
    int (*pm_add)(void *ctx, uint64_t tag, const char *key, const struct gw_account_pm *pm);
    /*
     * The account's messages with an id above after_id, oldest first, at
     * most min(limit, GW_ACCOUNT_PMS_PAGE) (limit 0: none, but the answer
     * still says whether the account exists), answered through sink->pms.
     * after_id past GW_ACCOUNT_ID_MAX is GW_STORE_EINVAL.
     */
    int (*pm_after)(void *ctx, uint64_t tag, const char *key, uint64_t after_id, size_t limit);

    /* ---- every gateway on the store ---- */

    /*
     * An engine several gateways share: tell every gateway on it (this
     * one too) that the account of key has generation now (kept already
     * by update) and why (GW_MOVED_*), through sink->moved there, so that
     * each ends at once its connections logged in under an older one.
     * A removed account: UINT64_MAX and GW_MOVED_REMOVED (every
     * connection of it ends). Nothing is answered and nothing is kept: a
     * gateway cut off at that moment misses it (sink->moved with key NULL
     * says so when the link is back; the hub also looks at its accounts
     * again in the store now and then). Returns 0, or a failure (nothing sent): GW_STORE_EINVAL
     * (key outside its bounds, generation 0), GW_STORE_EIO (the link is
     * down), GW_STORE_ENOMEM. An engine of one gateway (memory, SQLite:
     * one gateway a directory) offers none.
     */
    int (*moved)(void *ctx, const char *key, uint64_t generation, int why);
};

#endif /* GW_ACCOUNTS_H */
