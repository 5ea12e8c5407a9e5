/*
 * gw_auth.h - passwords for the hub: the pool of threads that hashes and
 * checks them (gw_hasher.h), wired to the hub's cfg.hash and cfg.verify,
 * its answers handed to gw_hub_hash_answer on the loop's thread.
 *
 * Part of the program (server/); one per process.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdint.h>

#include <uv.h>

#include "gw_hub.h"

/* Open the pool on loop and fill hc's hash and verify. Returns 0, or -1
 * (then accounts are not offered: hc's are left NULL). */
int gw_auth_open(uv_loop_t *loop, struct gw_hub_config *hc);

/* The hub the answers go to, and its clock (ms). */
void gw_auth_attach(struct gw_hub *h, int64_t (*now)(void));

/* Stop the pool before the loop closes: what waits is dropped. */
void gw_auth_close(void);

#endif /* GW_AUTH_H */
