/*
 * gw_tokens.c - a site's own login for the hub (gw_tokens.h): gw_jwt's
 * verifier behind the hub's callback.
 */
#include "gw_tokens.h"

#include <stdio.h>
#include <string.h>

#include "gw_jwt.h"

static struct gw_jwt *key;

/* cfg.jwt_verify: the token checked at the wall clock's second (exp is
 * valid before its second, RFC 7519 4.1.4), its claims copied for the hub. */
static int verify(void *ctx, const char *token, size_t len, int64_t wall_ms,
                  struct gw_token_claims *out, char *why, size_t whylen)
{
    (void)ctx;
    struct gw_jwt_claims c;
    int64_t now_s = wall_ms >= 0 ? wall_ms / 1000 : -((-wall_ms + 999) / 1000);
    if (!key || gw_jwt_verify(key, token, len, now_s, &c, why, whylen) != GW_JWT_OK)
        return -1;
    memset(out, 0, sizeof *out);
    snprintf(out->sub, sizeof out->sub, "%s", c.sub);
    snprintf(out->nick, sizeof out->nick, "%s", c.nick);
    out->admin = c.admin;
    out->n_rooms = c.n_rooms < GW_JWT_ROOMS_MAX ? c.n_rooms : GW_JWT_ROOMS_MAX;
    for (size_t i = 0; i < out->n_rooms; i++)
        snprintf(out->rooms[i], sizeof out->rooms[i], "%s", c.rooms[i]);
    return 0;
}

int gw_tokens_open(const struct gw_config *cfg, struct gw_hub_config *hc, const char **alg,
                   const char **note, char *err, size_t errlen)
{
    *alg = *note = NULL;
    if (!cfg->jwt_key)
        return 0;
    struct gw_jwt_opts o = {cfg->jwt_issuer, cfg->jwt_audience, (int)cfg->jwt_leeway};
    if (gw_jwt_open(&key, cfg->jwt_key, &o, err, errlen) != GW_JWT_OK) {
        key = NULL;
        return -1;
    }
    hc->jwt_verify = verify;
    *alg = gw_jwt_alg(key);
    *note = gw_jwt_note(key);
    return 0;
}

void gw_tokens_close(void)
{
    gw_jwt_close(key);
    key = NULL;
}
