/*
 * gw_loop.h - the gateway program's libuv loop, owned by gw_main.c, that
 * adapters of the program (a network store) attach their handles to. It
 * runs inside libwebsockets' own poll loop, which serves the connections:
 * its epoll descriptor is one more descriptor in that poll, its timers
 * libwebsockets timers, and it runs without waiting (UV_RUN_NOWAIT) when
 * either says so. A handle's callback is called from the loop's thread,
 * outside every callback of the hub.
 *
 * Part of the adapter (I/O); one per process. The hub and the pure
 * modules never see it.
 */
#ifndef GW_LOOP_H
#define GW_LOOP_H

#include <uv.h>

/* What /healthz and the start-up log line call the loop. */
#define GW_LOOP_NAME "poll+libuv"

/*
 * The program's loop, or NULL before main() has made it or after it has
 * been closed. Borrowed: a handle started on it must be closed (uv_close)
 * before the program stops, or the loop cannot close; the program runs
 * the loop until every handle's close callback has run.
 */
uv_loop_t *gw_main_loop(void);

#endif /* GW_LOOP_H */
