/*
 * gw_loop.h - the program's event loop: libwebsockets' poll serves the
 * connections, and libuv's loop (Redis' connections, a store's wake-ups,
 * the signals, the stop's timer) runs inside it: libuv's epoll descriptor
 * is one more descriptor in that poll, its timers libwebsockets timers,
 * and it runs without waiting (UV_RUN_NOWAIT) when either says so. A
 * handle's callback is called from the loop's thread, outside every
 * callback of the hub.
 *
 * SIGTERM and SIGINT arrive as an ordinary callback of the loop: they ask
 * for a stop (gw_loop_stop_requested), which main() begins at the end of
 * the turn.
 *
 * Part of the program (server/); one per process. The hub never sees it;
 * the store's glue is handed its libuv loop (gw_storage_open).
 */
#ifndef GW_LOOP_H
#define GW_LOOP_H

#include <libwebsockets.h>
#include <uv.h>

/* What /healthz and the start-up log line call the loop. */
#define GW_LOOP_NAME "poll+libuv"

/* Make libuv's loop and start the program's handles on it (the signals,
 * the stop's timer). Returns 0 or a libuv error code (then gw_loop_close
 * undoes what was done). */
int gw_loop_open(void);

/* libuv's loop, or NULL before gw_loop_open or after gw_loop_close.
 * Borrowed: a handle started on it must be closed (uv_close) before the
 * program stops; gw_loop_close runs the loop until every handle's close
 * callback has run. */
uv_loop_t *gw_loop_uv(void);

/* Put libuv's descriptor into libwebsockets' poll, adopted on vh (whose
 * protocols include GW_LOOP_PROTOCOL), and its timers on ctx's. Returns 0
 * or -1. */
int gw_loop_attach(struct lws_context *ctx, struct lws_vhost *vh);

/* Run what of libuv's is ready, without waiting; then libuv's next timer
 * is a libwebsockets timer. Called after every lws_service. */
void gw_loop_turn(void);

/* Block (1) or unblock (0) SIGTERM and SIGINT in the calling thread: a
 * thread made meanwhile (a store's) inherits the block and never takes
 * them, so they always reach the loop's thread. */
void gw_loop_block_signals(int block);

/* Whether SIGTERM or SIGINT has come. */
int gw_loop_stop_requested(void);

/* Start the stop's grace (ms): gw_loop_grace_over says 1 once it has
 * passed, even if nothing else wakes the loop. */
void gw_loop_grace(unsigned ms);
int gw_loop_grace_over(void);

/* Destroy ctx (libwebsockets' context) if not NULL, then close libuv's
 * loop: the program's handles, and any a store left open, close in a last
 * run. Returns 0, or the libuv error of uv_loop_close. */
int gw_loop_close(struct lws_context *ctx);

/* libuv's descriptor's protocol, for the vhost it is adopted on. */
int gw_loop_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
#define GW_LOOP_PROTOCOL {"wintalk-uv", gw_loop_callback, 0, 0, 0, NULL, 0}

#endif /* GW_LOOP_H */
