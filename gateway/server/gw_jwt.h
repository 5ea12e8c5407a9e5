/*
 * gw_jwt.h - a site's own login: verifying the JSON Web Tokens (RFC 7519)
 * a site's backend signs for its users, with one key the operator gives.
 *
 * The key decides the one algorithm accepted, never the token: a PEM public
 * key of RSA (2048 bits or more) takes RS256 only, of EC on P-256 ES256
 * only, and any other file is an HMAC secret that takes HS256 only. A token
 * whose header names another algorithm is refused before its signature is
 * looked at, "none" included, and so is the classic forgery: a token marked
 * HS256 whose HMAC key is the gateway's RSA public key (which is public).
 * Signatures are checked by libjwt (Debian's libjwt-dev); libjwt 1.10
 * verifies with whatever algorithm the token's header names, which is why
 * the header is read and the algorithm pinned here first.
 *
 * Part of the program (server/), but without I/O after gw_jwt_open and
 * without a clock: the time is an argument. Never includes the hub; never
 * logs (gw_jwt_open hands back a note for the caller to log). A struct
 * gw_jwt is read-only once open.
 *
 * The key file is read once, by gw_jwt_open: a changed key takes effect at
 * the next start.
 */
#ifndef GW_JWT_H
#define GW_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"

/* What gw_jwt_open and gw_jwt_verify return: 0, or one of these (named by
 * gw_jwt_strerror). Each refusal also says why in words. */
enum gw_jwt_status {
    GW_JWT_OK = 0,
    GW_JWT_E_TOO_LARGE = -1, /* a token longer than GW_JWT_MAX_BYTES */
    GW_JWT_E_FORM = -2,      /* not three base64url parts, a header or payload
                                that is not a JSON object, no alg, a crit header */
    GW_JWT_E_ALG = -3,       /* an alg other than the key's ("none" included) */
    GW_JWT_E_SIGNATURE = -4, /* no signature, or one that does not verify with
                                the key (a token for another key, a bit flipped) */
    GW_JWT_E_EXPIRED = -5,   /* exp (plus the leeway) is past */
    GW_JWT_E_EARLY = -6,     /* nbf (less the leeway) is still to come */
    GW_JWT_E_ISSUER = -7,    /* iss is not the one required */
    GW_JWT_E_AUDIENCE = -8,  /* aud does not name the one required */
    GW_JWT_E_CLAIM = -9,     /* a claim missing (sub, exp) or malformed (sub, exp,
                                nbf, nick, admin, rooms: type, size, UTF-8) */
    GW_JWT_E_KEY = -10,      /* gw_jwt_open: the key file cannot be used */
    GW_JWT_E_NOMEM = -11,    /* out of memory */
};

/* The name of a status ("expired", "bad signature", ...): static text. */
const char *gw_jwt_strerror(int status);

/* What a token must also hold, given at open. The strings are copied (at
 * most GW_JWT_CLAIM_MAX_BYTES each). */
struct gw_jwt_opts {
    const char *issuer;   /* iss must equal this; NULL: iss is not checked */
    const char *audience; /* aud (a string, or an array of strings) must name
                             this; NULL: aud is not checked */
    int leeway_s;         /* seconds of clock skew allowed on exp and nbf:
                             0 to GW_JWT_LEEWAY_MAX_S */
};

/* Nothing required but exp, with the default leeway: what a NULL opts
 * means. */
#define GW_JWT_OPTS_DEFAULT                                                                        \
    {                                                                                              \
        NULL, NULL, GW_JWT_LEEWAY_S                                                                \
    }

/* An open key: the algorithm it pins, the key, the options. */
struct gw_jwt;

/*
 * Reads the key file KEY_PATH and pins its algorithm:
 *   - a PEM public key ("-----BEGIN PUBLIC KEY-----", as `openssl pkey
 *     -pubout` writes it): RSA of 2048 bits or more -> RS256; EC on P-256
 *     -> ES256; any other type or curve, a private key, or a file with more
 *     than one PEM block is refused. A file that holds "-----BEGIN" anywhere
 *     is taken as PEM, never as a secret.
 *   - anything else is an HMAC secret -> HS256: the file's bytes, less any
 *     line ends (CR, LF) at its end, since editors and `echo` add one; at
 *     least GW_JWT_SECRET_MIN_BYTES (RFC 7518 3.2). Use a text secret
 *     (`openssl rand -hex 32`): a binary one that ends in a line-end byte
 *     would lose it.
 * The file must be a regular file, not empty, at most GW_JWT_KEY_MAX_BYTES,
 * and not writable by others (whoever can write the key can log in as
 * anyone): a world-writable file is refused. A secret that others than the
 * owner may read, or a key file its group may write, is accepted with a note
 * (gw_jwt_note) for the caller to log.
 * O may be NULL (GW_JWT_OPTS_DEFAULT).
 * Returns 0 and *OUT (the caller closes it with gw_jwt_close), or
 * GW_JWT_E_KEY (a leeway out of range, an issuer or audience too long too)
 * or GW_JWT_E_NOMEM with *OUT NULL and ERR saying why in a sentence that
 * names the file.
 */
int gw_jwt_open(struct gw_jwt **out, const char *key_path, const struct gw_jwt_opts *o, char *err,
                size_t errlen);

/* Frees J and forgets its key. NULL is fine. */
void gw_jwt_close(struct gw_jwt *j);

/* The algorithm J pins: "HS256", "RS256" or "ES256" (static text). */
const char *gw_jwt_alg(const struct gw_jwt *j);

/* A warning about the key file found by gw_jwt_open (a secret others may
 * read, a group-writable file), or NULL: borrowed until gw_jwt_close. */
const char *gw_jwt_note(const struct gw_jwt *j);

/* The claims of a verified token, copied into fixed buffers (NUL-ended
 * UTF-8 without control characters). */
struct gw_jwt_claims {
    char sub[GW_JWT_SUB_MAX_BYTES + 1]; /* the site's user id, never empty */
    char nick[GW_NICK_MAX_BYTES + 1];   /* the nick the site gives, "" when
                                           none (checked as a nick later, by
                                           the hub) */
    int64_t exp;                        /* seconds since the epoch */
    bool admin;                         /* the admin claim; false when absent */
    size_t n_rooms;                     /* rooms[0..n_rooms): the rooms claim */
    char rooms[GW_JWT_ROOMS_MAX][GW_ROOM_NAME_MAX_BYTES + 1];
};

/*
 * Verifies TOKEN (LEN bytes, compact serialisation, no NUL needed) against
 * J at NOW_S (seconds since the epoch) and fills *OUT. In this order:
 *   GW_JWT_E_TOO_LARGE  LEN over GW_JWT_MAX_BYTES (nothing else is read)
 *   GW_JWT_E_FORM       not header.payload.signature in canonical base64url
 *                       without padding; a header or payload that is not a
 *                       JSON object; no alg; a crit header
 *   GW_JWT_E_ALG        alg is not the pinned one (the key is never handed to
 *                       libjwt for another algorithm)
 *   GW_JWT_E_SIGNATURE  an empty signature, or one libjwt does not verify
 *                       (libjwt also refuses here a payload it cannot read)
 *   GW_JWT_E_CLAIM      exp missing or not an integer of 0 to 2^53; nbf not
 *                       such an integer
 *   GW_JWT_E_EXPIRED    NOW_S >= exp + leeway (RFC 7519 4.1.4: valid only
 *                       before exp)
 *   GW_JWT_E_EARLY      NOW_S + leeway < nbf (valid from nbf on)
 *   GW_JWT_E_ISSUER, GW_JWT_E_AUDIENCE   as configured
 *   GW_JWT_E_CLAIM      sub missing, empty, not a string, too long; nick,
 *                       admin or rooms malformed; a claim this reads given
 *                       twice
 *   GW_JWT_E_NOMEM
 * Returns 0 with *OUT filled, or a code with *OUT zeroed and WHY (may be
 * NULL) saying why in a sentence fit to show the token's holder (no key
 * material, the token's own text quoted only in short, printable form).
 */
int gw_jwt_verify(const struct gw_jwt *j, const char *token, size_t len, int64_t now_s,
                  struct gw_jwt_claims *out, char *why, size_t whylen);

#endif /* GW_JWT_H */
