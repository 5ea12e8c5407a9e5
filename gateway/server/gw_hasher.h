/*
 * gw_hasher.h - passwords: their Argon2id hash (Debian's libargon2, the
 * reference implementation) as a PHC string, and a pool of threads that
 * makes and checks those hashes off the event loop.
 *
 * Two faces. The synchronous primitives (gw_password_hash,
 * gw_password_verify) take tens of milliseconds of a core each: the pool's
 * workers call them, and so may a command line (wintalk-gateway account
 * add), never the loop. The pool (gw_hasher_open) takes requests on the
 * loop's thread, hashes on its own threads, and hands each answer back on
 * the loop's thread through an eventfd polled with uv_poll, so a flood of
 * logins waits in a bounded queue and never holds the chat.
 *
 * The parameters (RFC 9106 section 4, OWASP's password storage cheat
 * sheet): Argon2id, m = 19 MiB, t = 2, p = 1, a 16-byte salt from
 * OpenSSL's RAND_bytes, a 32-byte hash. Measured on this project's machine
 * (2 vCPUs, shared with other builds) with bench/hash_bench, three runs of
 * 40 hashes each (bench/README.md, "Password hashing (Argon2id)"), the
 * median ms of one hash (the best in brackets):
 *
 *   m = 19 MiB, t = 2, p = 1   19-32   (17-20)    chosen
 *   m = 46 MiB, t = 1, p = 1   51-94   (46-52)
 *   m = 64 MiB, t = 3, p = 1  158-185 (141-146)   RFC 9106's second set, p=1
 *
 * The first is OWASP's first equivalent setting and costs a few tens of
 * milliseconds: about 40 to 55 hashes a second on the one thread
 * (GW_HASH_THREADS) that leaves the other core to the chat; 64 MiB, t = 3
 * would allow 6 logins a second. The string names its parameters, and
 * gw_password_verify reads them from it: a hash made with other parameters
 * still verifies after these change.
 *
 * Part of the program (server/: threads, libuv), in a library of its own
 * (gwhasher). Knows nothing of the hub, and of accounts only how long a
 * kept PHC string may be: it hashes bytes and hands back strings. Never
 * logs; never keeps a password past its request (every copy is wiped).
 */
#ifndef GW_HASHER_H
#define GW_HASHER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "gw_accounts.h"
#include "gw_limits.h"

/* The parameters of new hashes (see above). */
#define GW_HASH_M_KIB      19456u /* memory: 19 MiB */
#define GW_HASH_T          2u     /* passes */
#define GW_HASH_P          1u     /* lanes */
#define GW_HASH_SALT_BYTES 16u
#define GW_HASH_OUT_BYTES  32u

/* What a PHC string to verify may ask for: past it the string is refused
 * as malformed rather than allowed to take 4 GiB or minutes (a store is
 * not trusted that far). Generous against the parameters above, so that
 * they may grow. */
#define GW_HASH_VERIFY_M_MAX_KIB 262144u /* 256 MiB */
#define GW_HASH_VERIFY_T_MAX     16u
#define GW_HASH_VERIFY_P_MAX     8u

/* Room for a PHC string with its NUL: what an account keeps. A hash with
 * the parameters above takes 97 bytes. */
#define GW_HASH_PHC_SIZE (GW_ACCOUNT_PHC_MAX_BYTES + 1u)

/* Return codes. */
enum gw_hash_status {
    GW_HASH_OK = 0,
    GW_HASH_MISMATCH = -1,  /* verify: not that password */
    GW_HASH_MALFORMED = -2, /* verify: not a PHC string of Argon2id, or
                             * longer than GW_ACCOUNT_PHC_MAX_BYTES, or
                             * asking past GW_HASH_VERIFY_* */
    GW_HASH_LENGTH = -3,    /* a password of 0 or more than
                             * GW_PASSWORD_MAX_BYTES bytes */
    GW_HASH_BUSY = -4,      /* the pool holds queue_max requests */
    GW_HASH_FAILED = -5,    /* no random bytes, no memory, the library */
    GW_HASH_EINVAL = -6,    /* a bad argument (NULL, a too small buffer,
                             * threads or queue_max out of bounds) */
};

/* The name of a gw_hash_status, static. */
const char *gw_hash_strerror(int status);

/*
 * The Argon2id hash of the len bytes at pw, with a new salt, as a PHC
 * string ("$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH") written with its NUL
 * into phc, of phc_len bytes (GW_HASH_PHC_SIZE is enough). Takes tens of
 * milliseconds: not on the loop. pw is borrowed and not copied. Returns
 * GW_HASH_OK, GW_HASH_LENGTH, GW_HASH_EINVAL or GW_HASH_FAILED (phc is
 * then "").
 */
int gw_password_hash(const char *pw, size_t len, char *phc, size_t phc_len);

/*
 * Whether the len bytes at pw are the password of phc (a NUL-terminated
 * PHC string of Argon2id, with the parameters it names), compared in
 * constant time by the library. Takes as long as a hash with phc's
 * parameters: not on the loop. Returns GW_HASH_OK (it is),
 * GW_HASH_MISMATCH, GW_HASH_MALFORMED, GW_HASH_LENGTH or GW_HASH_FAILED.
 */
int gw_password_verify(const char *phc, const char *pw, size_t len);

/* ---- The pool ---- */

struct gw_hasher;

/*
 * An answer, on the loop's thread, from the loop's run (never from inside
 * gw_hasher_hash or gw_hasher_verify): the request's tag and its status,
 * and for a hash that succeeded the PHC string (borrowed for the call,
 * NULL otherwise). A hash answers GW_HASH_OK or GW_HASH_FAILED; a verify
 * as gw_password_verify. done may submit new requests (this one no longer
 * counts) and may close the pool (no answer follows).
 */
typedef void (*gw_hasher_done_fn)(void *ctx, uint64_t tag, int status, const char *phc);

/*
 * Start a pool of threads (1..GW_HASH_THREADS_MAX; GW_HASH_THREADS is the
 * program's) holding at most queue_max requests at once
 * (1..GW_HASH_QUEUE_CEILING; GW_HASH_QUEUE_MAX is the program's), whose
 * answers come to done(ctx, ...) on loop (borrowed: the pool must be
 * closed before it). The threads never take SIGTERM or SIGINT: they are
 * blocked in them here, whatever the caller's mask. On success *out is
 * the pool (close it with gw_hasher_close). Returns GW_HASH_OK,
 * GW_HASH_EINVAL, or GW_HASH_FAILED (nothing is left open).
 */
int gw_hasher_open(struct gw_hasher **out, uv_loop_t *loop, unsigned threads, unsigned queue_max,
                   gw_hasher_done_fn done, void *ctx);

/*
 * Queue the hash of the len bytes at pw (copied; the copy is wiped once
 * hashed). Returns GW_HASH_OK (done(tag) follows), GW_HASH_BUSY (queue_max
 * requests are held: nothing queued), GW_HASH_LENGTH or GW_HASH_EINVAL
 * (GW_HASH_FAILED would be a fault of the pool's own count); no answer
 * follows a refusal.
 */
int gw_hasher_hash(struct gw_hasher *h, uint64_t tag, const char *pw, size_t len);

/*
 * Queue the check of the len bytes at pw against phc (both copied).
 * Returns as gw_hasher_hash, or GW_HASH_MALFORMED for a phc longer than
 * GW_ACCOUNT_PHC_MAX_BYTES (other malformed strings are answered so by
 * done).
 */
int gw_hasher_verify(struct gw_hasher *h, uint64_t tag, const char *phc, const char *pw,
                     size_t len);

/* Requests held (queued, being hashed, or answered but not yet handed
 * back): what is counted against queue_max. */
unsigned gw_hasher_held(const struct gw_hasher *h);

/*
 * Stop the pool: waits for the hashes being made (at most one per thread)
 * and joins the threads; requests not yet answered are dropped, without an
 * answer (done is never called again), and their passwords wiped. May be
 * called from inside done. h's memory is freed by its poll handle's close
 * callback: the loop must run once more (gw_loop_close does) before it is
 * closed. h NULL does nothing.
 */
void gw_hasher_close(struct gw_hasher *h);

#endif /* GW_HASHER_H */
