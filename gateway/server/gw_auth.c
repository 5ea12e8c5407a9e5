/*
 * gw_auth.c - passwords for the hub, off the loop (gw_auth.h).
 */
#include "gw_auth.h"

#include <stddef.h>

#include "gw_hasher.h"
#include "gw_limits.h"

static struct {
    struct gw_hasher *hasher;
    struct gw_hub *hub;
    int64_t (*now)(void);
} au;

static void on_done(void *ctx, uint64_t tag, int status, const char *phc)
{
    (void)ctx;
    if (!au.hub || !au.now)
        return;
    int answer = status == GW_HASH_OK         ? GW_HASH_ANSWER_OK
                 : status == GW_HASH_MISMATCH ? GW_HASH_ANSWER_WRONG
                                              : -1;
    (void)gw_hub_hash_answer(au.hub, tag, answer, phc, au.now());
}

static int hash(void *ctx, uint64_t tag, const char *pw, size_t len)
{
    (void)ctx;
    return au.hasher && gw_hasher_hash(au.hasher, tag, pw, len) == GW_HASH_OK ? 0 : -1;
}

static int verify(void *ctx, uint64_t tag, const char *phc, const char *pw, size_t len)
{
    (void)ctx;
    return au.hasher && gw_hasher_verify(au.hasher, tag, phc, pw, len) == GW_HASH_OK ? 0 : -1;
}

int gw_auth_open(uv_loop_t *loop, struct gw_hub_config *hc)
{
    if (!loop || gw_hasher_open(&au.hasher, loop, GW_HASH_THREADS, GW_HASH_QUEUE_MAX, on_done,
                                NULL) != GW_HASH_OK) {
        au.hasher = NULL;
        return -1;
    }
    hc->hash = hash;
    hc->verify = verify;
    return 0;
}

void gw_auth_attach(struct gw_hub *h, int64_t (*now)(void))
{
    au.hub = h;
    au.now = now;
}

void gw_auth_close(void)
{
    gw_hasher_close(au.hasher);
    au.hasher = NULL;
    au.hub = NULL;
}
