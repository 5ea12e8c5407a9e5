/*
 * gw_storage.h - the gateway program's side of history: it picks the
 * store engine the configuration names (--store sqlite, the default,
 * memory or redis), opens it before the hub (the epoch of the ids is kept
 * with the data), wires the engine's reports to the hub, commits at the end
 * of each turn of the event loop or before a write that comes after input
 * (at most every GW_STORAGE_EARLY_MS), runs the engine's upkeep (redis: on
 * the program's libuv loop, handed to gw_storage_open), reports the sqlite readers' answers
 * (history, search, a room's load) as soon as one is ready (its descriptor
 * polled on that loop), and says how it is for /readyz,
 * /healthz and /metrics.
 *
 * Part of the program (server/: I/O, the clock); one per process. Not the engine
 * (gw_store_sqlite.c) nor the hub's use of it (gw_hub.c, gw_read.c).
 */
#ifndef GW_STORAGE_H
#define GW_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "gw_config.h"
#include "gw_hub.h"
#include "gw_json.h"
#include "gw_metrics.h"

/* Room for gw_storage_open's message. */
#define GW_STORAGE_ERR_MAX 8448u

/*
 * Open the store cfg names, with the program's libuv loop for what the
 * engine does on it (redis: its connections; sqlite: its readers' wake-up;
 * NULL: redis cannot open, sqlite's answers wait for the turn's end).
 * Returns 0, or the exit status the program
 * should stop with (sysexits.h: 73 the directory cannot be made, 77 not
 * writable, 75 another gateway uses it, 65 a damaged or foreign
 * database, 74 other I/O) with one line in err naming the path and the
 * cause.
 */
int gw_storage_open(const struct gw_config *cfg, uv_loop_t *loop, char *err, size_t errlen);

/* The epoch of the ids kept (sqlite), or 0 when the store keeps none
 * (memory: the program makes one at random). */
uint64_t gw_storage_epoch(void);

/* The database file (sqlite), or NULL (memory). */
const char *gw_storage_path(void);

/* The engine's accounts (gw_accounts.h) for the hub's configuration, or
 * NULL when it keeps none; their answers go to the hub attached. */
const struct gw_accounts *gw_storage_accounts(void);

/* The engine for the hub's configuration, or NULL (memory). */
const struct gw_store *gw_storage_store(void);

/* Whether the rooms are shared with other gateways (redis): then each
 * gateway takes participant ids of its own (gw_hub_config.pid_base). */
int gw_storage_shared(void);

/* redis: the server as host:port/db (no password), for the log. */
const char *gw_storage_redis_where(void);

/* The hub the engine reports to (gw_hub_store_done, gw_hub_store_rows,
 * gw_hub_store_event...), where lines for the log go (a shared store's
 * outages, epochs), the hub's clock (ms), and the gateway's node (its
 * participants' ids >> GW_NODE_SHIFT: a shared store brings it the
 * private messages for them). */
void gw_storage_attach(struct gw_hub *h, void (*log)(const char *line), int64_t (*now)(void),
                       uint64_t node);

/* After every turn of the event loop: commit what the hub handed over and
 * report it. Returns 1 when the store's health changed (then *msg says to
 * what, for the log), else 0. */
int gw_storage_turn(const char **msg);

/*
 * Before a write, outside every call into the hub: commit now what the
 * turn has handed over so far, if GW_STORAGE_EARLY_MS have passed since the
 * last commit. The events then go out in this turn's writes that come
 * after, as they would without a store, instead of waiting for the next
 * turn's; the time bound keeps commits few under load.
 */
void gw_storage_early(void);

/* About every second, with the wall clock (ms since the Unix epoch):
 * retention, and the probe that finds a failed store working again. */
void gw_storage_tick(int64_t wall_ms);

/* 1 when the store takes events (always for memory), else 0 and *why. */
int gw_storage_healthy(const char **why);

/* "store":{...},"epoch":"..." for /healthz, written into w. */
void gw_storage_health_json(struct gw_jw *w, uint64_t epoch);

/* The store's figures for /metrics (all zero, not present, for memory). */
void gw_storage_metrics(struct gw_metrics_store *m);

/* Close the handles the store keeps on the program's loop (sqlite: the
 * readers' wake-up), before the loop closes; the store itself goes on
 * (gw_storage_turn reports what is left) until gw_storage_close. */
void gw_storage_leave_loop(void);

/* Commit what is left and close (after the hub has said goodbye). */
void gw_storage_close(void);

#endif /* GW_STORAGE_H */
