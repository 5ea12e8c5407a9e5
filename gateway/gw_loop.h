/*
 * gw_loop.h - the gateway program's event loop: one libuv loop, owned by
 * gw_main.c, that libwebsockets runs on (its "foreign loop") and that
 * other adapters of the program (a network store) attach their own
 * handles to, so that everything waits in one epoll.
 *
 * Part of the adapter (I/O); one per process. The hub and the pure
 * modules never see it.
 */
#ifndef GW_LOOP_H
#define GW_LOOP_H

#include <uv.h>

/* What /healthz and the start-up log line call the loop. */
#define GW_LOOP_NAME "libuv"

/*
 * The program's loop, or NULL before main() has made it or after it has
 * been closed. Borrowed: a handle started on it must be closed (uv_close)
 * before the program stops, or the loop cannot close; the program runs
 * the loop until every handle's close callback has run.
 */
uv_loop_t *gw_main_loop(void);

#endif /* GW_LOOP_H */
