/*
 * gw_app.h - the program's state that its parts share: the configuration,
 * the libwebsockets context and its listeners, the hub, and whether the
 * gateway is stopping. One per process, made by main() (gw_main.c); the
 * transports (gw_serve.h) and the connections (gw_conn.h) read it.
 *
 * Part of the program (server/): never seen by the hub or the stores.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <libwebsockets.h>

#include <limits.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_hub.h"
#include "gw_metrics.h"

#define GW_VERSION "0.1.0"

struct gw_app {
    struct gw_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh_http, *vh_tcp, *vh_tls;
    struct gw_hub *hub;
    struct gw_metrics *metrics; /* the hub's; the transports add to it */
    char web_root[PATH_MAX];    /* --web-root, resolved */
    int64_t started_ms;         /* monotonic (gw_clock.h) */
    uint64_t epoch;             /* of the event ids: kept with the history, or this run's */
    int stopping;               /* the stop has begun: nobody new gets in */
    int destroying;             /* the context is going: no more writes asked for */
};

extern struct gw_app gw_app;

#endif /* GW_APP_H */
