/*
 * gw_serve.h - the transports: libwebsockets' callbacks for each kind of
 * connection, and the protocol entries main() puts on its listeners.
 *
 *   gw_serve_tcp.c   WINTALK programs over raw TCP, and over TLS
 *   gw_serve_ws.c    browsers over WebSocket (wintalk.v2, wintalk.v1),
 *                    and the Origin rule of the upgrade
 *   gw_serve_http.c  HTTP on the browsers' port: the page's files
 *                    (gw_files.h), /livez, /readyz, /healthz, /metrics,
 *                    the upgrade to a WebSocket, request deadlines
 *
 * Each moves bytes between its sockets and the hub (gw_hub.h), through
 * what participant connections share (gw_conn.h).
 *
 * Part of the program (server/).
 */
#ifndef GW_SERVE_H
#define GW_SERVE_H

#include <libwebsockets.h>

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_conn.h"
#include "gw_limits.h"

/* ---- WINTALK over raw TCP and TLS (gw_serve_tcp.c) ---- */

int gw_serve_tcp(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);

#define GW_SERVE_TCP_PROTOCOL                                                                \
    {"wintalk-tcp", gw_serve_tcp, sizeof(struct gw_conn), 4096, 0, NULL, GW_TX_PACKET_MAX_BYTES}

/* ---- WebSocket (gw_serve_ws.c) ---- */

int gw_serve_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);

/* Two entries, one callback: gw_serve_ws asks which one a connection got. */
#define GW_SERVE_WS_PROTOCOL(name)                                                           \
    {name, gw_serve_ws, sizeof(struct gw_conn), GW_WS_RX_CHUNK_BYTES, 0, NULL,              \
     GW_TX_PACKET_MAX_BYTES}

/*
 * Same-origin WebSockets by default: 1 when the request's Origin names
 * this very host and port, or is on --allow-origin, or there is none (a
 * program, not a browser), or with --any-origin; else 0.
 */
int gw_ws_origin_ok(struct lws *wsi);

/* The request's Origin for a log line (cut, control bytes replaced). */
void gw_ws_origin_for_log(struct lws *wsi, char *out, size_t len);

/* ---- HTTP (gw_serve_http.c) ---- */

/* Per HTTP connection: its address slot, and a body of our own
 * (/healthz, /livez, /readyz, /metrics) waiting to be written. */
struct gw_http_req {
    char *body;             /* malloc'd; freed when written or closed */
    size_t body_len;
    int pending;
    int counted;
    char ip[INET6_ADDRSTRLEN];
};

int gw_serve_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

#define GW_SERVE_HTTP_PROTOCOL {"http", gw_serve_http, sizeof(struct gw_http_req), 0, 0, NULL, 0}

/* Once the configuration is read: the headers every answer carries. */
void gw_http_init(void);

/* The tick: cut HTTP connections whose request is late (--http-timeout). */
void gw_http_sweep(int64_t now);

#endif /* GW_SERVE_H */
