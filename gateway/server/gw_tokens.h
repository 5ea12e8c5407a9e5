/*
 * gw_tokens.h - a site's own login for the hub: the key given with
 * --jwt-key opened once at start (gw_jwt.h), and the hub's cfg.jwt_verify
 * that checks a hello's token with it and hands the hub the claims it
 * uses.
 *
 * Part of the program (server/); one per process. Verifying runs on the
 * loop's thread: a signature check is cheap (see gw_hub.h's jwt_verify).
 */
#ifndef GW_TOKENS_H
#define GW_TOKENS_H

#include <stddef.h>

#include "gw_config.h"
#include "gw_hub.h"

/*
 * With cfg->jwt_key: open it (with --jwt-issuer, --jwt-audience,
 * --jwt-leeway) and fill hc's jwt_verify. Returns 0 (also without a key:
 * nothing to do), or -1 with err (errlen bytes) saying why the key cannot
 * be used, in a sentence that names the file: the gateway must not start.
 * *note is set to a warning about the key file to log (borrowed until
 * gw_tokens_close), or NULL; *alg to the algorithm it pins, or NULL.
 */
int gw_tokens_open(const struct gw_config *cfg, struct gw_hub_config *hc, const char **alg,
                   const char **note, char *err, size_t errlen);

/* Forget the key. */
void gw_tokens_close(void);

#endif /* GW_TOKENS_H */
