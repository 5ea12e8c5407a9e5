/*
 * gw_ident.c - identities, their tokens and private messages. Pure: no
 * I/O, no clock, no logging; see gw_ident.h.
 */
#include "gw_ident.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

_Static_assert((GW_IDENTITY_BUCKETS & (GW_IDENTITY_BUCKETS - 1)) == 0,
               "the bucket count is a power of two");

static size_t bucket(const unsigned char digest[SHA256_DIGEST_LENGTH])
{
    size_t b = (size_t)digest[0] | (size_t)digest[1] << 8 | (size_t)digest[2] << 16;
    return b & (GW_IDENTITY_BUCKETS - 1);
}

int gw_idents_init(struct gw_idents *is)
{
    memset(is, 0, sizeof(*is));
    is->buckets = calloc(GW_IDENTITY_BUCKETS, sizeof(*is->buckets));
    return is->buckets ? 0 : -1;
}

static void ident_free(struct gw_ident *id)
{
    for (size_t i = 0; i < id->count; i++)
        gw_buf_unref(id->ring[(id->head + i) % GW_PRIVATE_KEEP].json);
    free(id->ring);
    free(id);
}

void gw_idents_free(struct gw_idents *is)
{
    if (!is->buckets)
        return;
    for (size_t b = 0; b < GW_IDENTITY_BUCKETS; b++)
        for (struct gw_ident *id = is->buckets[b], *next; id; id = next) {
            next = id->next;
            ident_free(id);
        }
    free(is->buckets);
    memset(is, 0, sizeof(*is));
}

static void idle_unlink(struct gw_idents *is, struct gw_ident *id)
{
    if (id->older)
        id->older->newer = id->newer;
    else
        is->oldest = id->newer;
    if (id->newer)
        id->newer->older = id->older;
    else
        is->newest = id->older;
    id->older = id->newer = NULL;
    is->idle--;
}

/* Drop an identity without connections. */
static void drop(struct gw_idents *is, struct gw_ident *id)
{
    idle_unlink(is, id);
    struct gw_ident **pp = &is->buckets[bucket(id->digest)];
    while (*pp != id)
        pp = &(*pp)->next;
    *pp = id->next;
    is->total--;
    ident_free(id);
}

static const char hex[] = "0123456789abcdef";

/* An identity of token (GW_TOKEN_HEX_LEN bytes), in its chain. */
static struct gw_ident *insert(struct gw_idents *is, const char *token)
{
    struct gw_ident *id = calloc(1, sizeof(*id));
    if (!id)
        return NULL;
    memcpy(id->token, token, GW_TOKEN_HEX_LEN);
    id->token[GW_TOKEN_HEX_LEN] = '\0';
    SHA256((const unsigned char *)id->token, GW_TOKEN_HEX_LEN, id->digest);
    /* The public name: another hash of the token than the digest, so that
     * it names nothing a shared engine keeps. */
    static const char domain[] = "wintalk.ident:";
    unsigned char in[sizeof domain - 1 + GW_TOKEN_HEX_LEN], pub[SHA256_DIGEST_LENGTH];
    memcpy(in, domain, sizeof domain - 1);
    memcpy(in + sizeof domain - 1, id->token, GW_TOKEN_HEX_LEN);
    SHA256(in, sizeof in, pub);
    for (size_t i = 0; i < GW_IDENT_PUBLIC_LEN / 2; i++) {
        id->public_name[2 * i] = hex[pub[i] >> 4];
        id->public_name[2 * i + 1] = hex[pub[i] & 15];
    }
    id->public_name[GW_IDENT_PUBLIC_LEN] = '\0';
    size_t b = bucket(id->digest);
    id->next = is->buckets[b];
    is->buckets[b] = id;
    is->total++;
    return id;
}

struct gw_ident *gw_idents_new(struct gw_idents *is, gw_random_fn random, void *ctx)
{
    unsigned char raw[GW_TOKEN_BYTES];
    char token[GW_TOKEN_HEX_LEN];
    if (!random || random(ctx, raw, sizeof raw) != 0)
        return NULL;
    for (size_t i = 0; i < GW_TOKEN_BYTES; i++) {
        token[2 * i] = hex[raw[i] >> 4];
        token[2 * i + 1] = hex[raw[i] & 15];
    }
    struct gw_ident *id = insert(is, token);
    if (id)
        id->conns = 1;
    return id;
}

struct gw_ident *gw_idents_adopt(struct gw_idents *is, const char *token, size_t len,
                                 int64_t now)
{
    if (!token || len != GW_TOKEN_HEX_LEN || strspn(token, hex) < len)
        return NULL;
    struct gw_ident *id = insert(is, token);
    if (!id)
        return NULL;
    id->conns = 1;
    gw_ident_detach(is, id, now); /* without connections: in the aging list */
    return id;
}

void gw_digest_hex(const unsigned char digest[SHA256_DIGEST_LENGTH],
                   char out[GW_DIGEST_HEX_LEN + 1])
{
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[GW_DIGEST_HEX_LEN] = '\0';
}

/* Every identity of the token's chain is compared, each in constant time:
 * the time says how long the chain is, never how much of a token was
 * right. */
struct gw_ident *gw_idents_find(const struct gw_idents *is, const char *token, size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    struct gw_ident *found = NULL;
    if (!token)
        return NULL;
    SHA256((const unsigned char *)token, len, d);
    for (struct gw_ident *id = is->buckets[bucket(d)]; id; id = id->next)
        if (CRYPTO_memcmp(id->digest, d, sizeof d) == 0)
            found = id;
    return found;
}

void gw_ident_attach(struct gw_idents *is, struct gw_ident *id)
{
    if (id->conns++ == 0)
        idle_unlink(is, id);
}

void gw_ident_detach(struct gw_idents *is, struct gw_ident *id, int64_t now)
{
    if (!id->conns || --id->conns)
        return;
    id->left_at = now;
    id->older = is->newest;
    id->newer = NULL;
    if (is->newest)
        is->newest->newer = id;
    else
        is->oldest = id;
    is->newest = id;
    is->idle++;
}

void gw_idents_expire(struct gw_idents *is, int64_t now)
{
    while (is->oldest &&
           (is->idle > GW_IDENTITIES_MAX || now - is->oldest->left_at >= GW_IDENTITY_TTL_MS))
        drop(is, is->oldest);
}

uint64_t gw_ident_new_id(struct gw_ident *id)
{
    return ++id->last_private;
}

void gw_ident_keep(struct gw_ident *id, uint64_t pid, struct gw_buf *json)
{
    if (!id->ring) {
        id->ring = calloc(GW_PRIVATE_KEEP, sizeof(*id->ring));
        if (!id->ring)
            return; /* not kept: it was delivered all the same */
    }
    while (id->count &&
           (id->count >= GW_PRIVATE_KEEP || id->bytes + json->len > GW_PRIVATE_KEEP_BYTES)) {
        struct gw_priv_entry *old = &id->ring[id->head];
        id->bytes -= old->json->len;
        gw_buf_unref(old->json);
        id->head = (id->head + 1) % GW_PRIVATE_KEEP;
        id->count--;
    }
    struct gw_priv_entry *e = &id->ring[(id->head + id->count) % GW_PRIVATE_KEEP];
    e->id = pid;
    e->json = gw_buf_ref(json);
    id->count++;
    id->bytes += json->len;
}

struct gw_buf *gw_ident_private_after(const struct gw_ident *id, uint64_t after_id, size_t i)
{
    size_t k = 0;
    while (k < id->count && id->ring[(id->head + k) % GW_PRIVATE_KEEP].id <= after_id)
        k++;
    k += i;
    return k < id->count ? id->ring[(id->head + k) % GW_PRIVATE_KEEP].json : NULL;
}
