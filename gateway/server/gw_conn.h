/*
 * gw_conn.h - a participant's connection, whichever transport carries it
 * (WINTALK over TCP or TLS: gw_serve_tcp.c; a browser's WebSocket:
 * gw_serve_ws.c): its way into the hub (admit), its writes (the hub's
 * output, one lws_write per WRITEABLE callback, large items in pieces),
 * its login deadline, the log of its refusals, and its way out.
 *
 * The connection holds the participant's id, never a hub pointer; the hub
 * asks for writes through gw_conn_wake (its wake callback).
 *
 * Part of the program (server/).
 */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <libwebsockets.h>

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_hub.h"
#include "gw_peer.h"

/* The subprotocols, newest first. Which of the two a browser gets:
 * libwebsockets 4.1 binds a WebSocket to the first name in the client's
 * Sec-WebSocket-Protocol list that the gateway knows, so the client's
 * order decides ("wintalk.v2, wintalk.v1" gets v2). The page offers
 * wintalk.v2 alone; older pages offer v1 alone. */
#define GW_SUBPROTOCOL_V2 "wintalk.v2"
#define GW_SUBPROTOCOL_V1 "wintalk.v1"

/* Per connection (raw TCP and WebSocket alike): libwebsockets' per-session
 * data of the participant protocols, zeroed by the transport when the
 * connection is made. */
struct gw_conn {
    uint64_t pid;
    int in_hub;
    enum gw_via via;        /* set by gw_conn_admit */
    enum gw_proto proto;    /* a WebSocket's subprotocol */
    int counted;            /* holds a slot in the per-address table */
    int login_pending;      /* not joined yet: the login timer runs */
    int64_t login_deadline; /* ms */
    int tls;
    int tls_wait;           /* TLS handshake under way: not admitted yet */
    int64_t tls_deadline;   /* ms: the handshake must be done by then */
    char ip[INET6_ADDRSTRLEN];
    char peer[GW_PEER_NAME_MAX];
    const char *why;        /* a reason of the program's own, for the log */
    int64_t limit_logged_at;
    uint64_t limit_seen;    /* refusals of this connection already logged */
    /* An item being written in pieces (GW_WRITE_MAX_BYTES each): a
     * reference to it, and how much of it has gone. */
    struct gw_buf *out;
    size_t out_off;
    /* WebSocket reassembly */
    char *rx;
    size_t rx_len;
    int rx_rejected;
    int peer_close;
};

/*
 * A new participant connection (TCP or browser): counted for its address,
 * then into the hub, or refused there with 421 when its address has too
 * many. Returns 0, or -1 to close at once.
 */
int gw_conn_admit(struct lws *wsi, struct gw_conn *c, enum gw_via via);

/* The hub has output for, or is closing, a participant (the hub's wake
 * callback: ctx unused, user the connection's wsi). */
void gw_conn_wake(void *ctx, void *user, uint64_t pid);

/*
 * One write for this connection (one lws_write): the next piece of the
 * item being written, or the hub's next item; LWS_WRITE_TEXT for a
 * browser, LWS_WRITE_RAW for a WINTALK peer. Returns 0, or -1 to close.
 */
int gw_conn_write(struct lws *wsi, struct gw_conn *c, enum lws_write_protocol mode);

/* After input: a joined participant's login timer stops; limits are
 * logged. transport: "tcp", "tls" or "web", for the log. */
void gw_conn_after_input(struct lws *wsi, struct gw_conn *c, const char *transport);

/* The connection's timer: ask for a write, and close (-1) a connection
 * still not joined at its login deadline. */
int gw_conn_timer(struct lws *wsi, struct gw_conn *c, const char *transport);

/* The connection has closed: out of the per-address table and the hub,
 * with one log line saying why (fallback when nobody said). */
void gw_conn_leave(struct gw_conn *c, const char *transport, const char *fallback);

#endif /* GW_CONN_H */
