/*
 * gw_ident.h - identities of wintalk.v2 browsers: a secret resume token,
 * the nick last chosen, and the latest private messages (sent and
 * received, with the identity's own increasing ids), so that a browser
 * that comes back with its token gets its nick back and what it missed.
 *
 * An identity is made at a browser's first hello, with a token of
 * GW_TOKEN_BYTES random bytes from the caller's random source (this module
 * makes none: it is pure). Tokens are looked up by their SHA-256 digest
 * and compared as digests in constant time, so neither the lookup nor the
 * comparison tells anything of a token by its timing. An identity with
 * connections is kept; one without is kept GW_IDENTITY_TTL_MS after its
 * last connection left, and at most GW_IDENTITIES_MAX of those, the oldest
 * dropped first.
 *
 * Pure: no I/O, no clock (time is an argument), no logging. Connections
 * are the hub's (struct gw_part, opaque here): the hub keeps the list of an
 * identity's connections through its participants.
 */
#ifndef GW_IDENT_H
#define GW_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "gw_limits.h"
#include "gw_queue.h"

struct gw_part;

struct gw_priv_entry {
    uint64_t id;
    struct gw_buf *json;
};

/* The public name of an identity, in its connections' events ("ident"):
 * so many lowercase hex digits of SHA-256("wintalk.ident:" token), the same
 * on every gateway. Not the token, nor a step towards it, nor the digest a
 * shared engine keeps it under: whoever reads it can do nothing with it. */
#define GW_IDENT_PUBLIC_LEN 16

struct gw_ident {
    char token[GW_TOKEN_HEX_LEN + 1];        /* lowercase hex */
    char public_name[GW_IDENT_PUBLIC_LEN + 1]; /* lowercase hex: see above */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char nick[GW_NICK_MAX_BYTES + 1];        /* the nick it last chose; "" for none */
    uint64_t last_private;                   /* the id of its latest private message */
    uint64_t elsewhere;                      /* adopted: its connection on the gateway
                                              * that made it (a participant id), or 0 */
    struct gw_priv_entry *ring;              /* GW_PRIVATE_KEEP entries, from the first message */
    size_t head, count, bytes;
    unsigned conns;                          /* connections that are this identity */
    struct gw_part *first_conn;              /* the hub's list of them */
    int64_t left_at;                         /* when the last connection left */
    struct gw_ident *older, *newer;          /* the list of identities without connections */
    struct gw_ident *next;                   /* hash chain */
};

/* Every identity. The fields are the module's own. */
struct gw_idents {
    struct gw_ident **buckets;               /* GW_IDENTITY_BUCKETS chains */
    struct gw_ident *oldest, *newest;        /* without connections, by left_at */
    size_t idle, total;
};

/* Random bytes: fill buf with len of them; 0 on success. */
typedef int (*gw_random_fn)(void *ctx, void *buf, size_t len);

/* Start with none. Returns 0 or -1 (out of memory). */
int gw_idents_init(struct gw_idents *is);

/* Free every identity and its private messages. */
void gw_idents_free(struct gw_idents *is);

/*
 * A new identity with a fresh token from random (with ctx), with one
 * connection already (the caller's). Returns it, or NULL when the random
 * source fails or memory is out (no identity then).
 */
struct gw_ident *gw_idents_new(struct gw_idents *is, gw_random_fn random, void *ctx);

/*
 * An identity another gateway made (a browser resuming here with its
 * token, found in a shared engine): the token given (GW_TOKEN_HEX_LEN
 * lowercase hex digits, else NULL), without connections yet (attach one
 * with gw_ident_attach), aging from now. NULL also when memory is out.
 */
struct gw_ident *gw_idents_adopt(struct gw_idents *is, const char *token, size_t len,
                                 int64_t now);

/* A token's digest (as gw_ident.digest) in lowercase hex, NUL-terminated,
 * into out: how a shared engine names the identity. */
_Static_assert(GW_DIGEST_HEX_LEN == 2 * SHA256_DIGEST_LENGTH, "a digest in hex: two digits a byte");
/* Of those digits, the first so many name the identity in the lists
 * gateways send each other (gw_presence.c). */
#define GW_IDENT_TAG_LEN 16
void gw_digest_hex(const unsigned char digest[SHA256_DIGEST_LENGTH],
                   char out[GW_DIGEST_HEX_LEN + 1]);

/* The identity whose token is token (len bytes), or NULL. */
struct gw_ident *gw_idents_find(const struct gw_idents *is, const char *token, size_t len);

/* One more connection is identity id (found with gw_idents_find). */
void gw_ident_attach(struct gw_idents *is, struct gw_ident *id);

/* A connection of id is gone (at now): with its last, id starts to age. */
void gw_ident_detach(struct gw_idents *is, struct gw_ident *id, int64_t now);

/* Drop the identities without connections that are past
 * GW_IDENTITY_TTL_MS at now, and the oldest past GW_IDENTITIES_MAX. */
void gw_idents_expire(struct gw_idents *is, int64_t now);

/* The id for id's next private message (its ids only grow). */
uint64_t gw_ident_new_id(struct gw_ident *id);

/* Keep a private message of id (its id from gw_ident_new_id; the JSON as
 * id's connections get it: a reference of its own), dropping the oldest
 * past GW_PRIVATE_KEEP or GW_PRIVATE_KEEP_BYTES. */
void gw_ident_keep(struct gw_ident *id, uint64_t pid, struct gw_buf *json);

/* The i-th kept private message with an id after after_id, oldest first
 * (borrowed until the next gw_ident_keep), or NULL past the last. */
struct gw_buf *gw_ident_private_after(const struct gw_ident *id, uint64_t after_id, size_t i);

#endif /* GW_IDENT_H */
