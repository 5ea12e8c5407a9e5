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
                                   * removed since) */

/* Roles (bits). */
#define GW_ROLE_ADMIN 1u          /* a gateway administrator (--admin) */

/* Bounds of what an engine keeps, in bytes of each string without its NUL. */
#define GW_ACCOUNT_KEY_MAX_BYTES GW_NICK_MAX_BYTES
#define GW_ACCOUNT_PHC_MAX_BYTES 256u

/* Registered names in one answer of keys, and the bytes of its cursor. */
#define GW_ACCOUNT_KEYS_PAGE 256u
#define GW_ACCOUNT_CURSOR_MAX_BYTES 128u

/* An account. */
struct gw_account {
    const char *key;        /* its name: the nick as compared */
    const char *nick;       /* the nick as registered */
    const char *phc;        /* the password's hash, a PHC string; "" for none
                             * (an account a site's token made has none) */
    unsigned roles;         /* GW_ROLE_* */
    uint64_t generation;    /* sessions of older generations are over */
    int64_t created_ms;     /* wall clock, ms since the Unix epoch */
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
};

/* Accounts as the hub sees them. Any function may be NULL: not offered
 * (GW_STORE_ENOTSUP). Each returns GW_STORE_PENDING (the answer follows)
 * or a failure (nothing done, no answer). */
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
};

#endif /* GW_ACCOUNTS_H */
