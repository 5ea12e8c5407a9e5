/*
 * gw_serve_tcp.c - WINTALK programs over raw TCP and over TLS (gw_serve.h).
 * Bytes in go to the hub's TCP input (gw_hub_tcp_input); the hub's output
 * goes out through gw_conn_write.
 */
#include "gw_serve.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "gw_app.h"
#include "gw_clock.h"
#include "gw_log.h"
#include "gw_tls.h"

/* How often a WINTALK-over-TLS connection is looked at while its TLS
 * handshake is under way (it joins #lobby once the handshake is done). */
#define GW_TLS_POLL_US (20 * LWS_US_PER_MS)

/*
 * A WINTALK-over-TLS connection is adopted before its TLS handshake. It is
 * admitted (counted for its address, greeted, joined to #lobby, or
 * refused with its 421 line) only once the handshake is done: a peer that
 * never completes one (a port scanner, plain text sent to the TLS port)
 * is never announced to anyone. Returns 0, or -1 to close.
 */
static int tls_admit_if_ready(struct lws *wsi, struct gw_conn *c)
{
    if (!c->tls_wait)
        return 0;
    if (gw_tls_done(wsi)) {
        c->tls_wait = 0;
        lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
        if (gw_app.stopping) {
            gw_app.metrics->rejections[GW_REJ_STOPPING]++;
            gw_log("refused tls peer=%s reason=\"shutting down\"", c->peer);
            return -1;
        }
        return gw_conn_admit(wsi, c, GW_VIA_TCP);
    }
    if (gw_now_ms() >= c->tls_deadline) {
        gw_log("timeout tls peer=%s reason=\"no TLS handshake within %u s\"", c->peer,
               gw_app.cfg.http_timeout);
        return -1;
    }
    lws_set_timer_usecs(wsi, GW_TLS_POLL_US);
    return 0;
}

int gw_serve_tcp(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct gw_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT: {
        int one = 1;
        memset(c, 0, sizeof(*c));
        c->tls = lws_is_ssl(wsi);
        gw_peer_name(wsi, c->peer, sizeof c->peer);
        gw_peer_ip(wsi, c->ip, sizeof c->ip);
        /* Each write its own segment, at once: the handshake and priming
         * must arrive together and apart from what follows. */
        setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        gw_peer_bound_socket(wsi);
        if (gw_app.stopping) {
            gw_app.metrics->rejections[GW_REJ_STOPPING]++;
            gw_log("refused %s peer=%s reason=\"shutting down\"", c->tls ? "tls" : "tcp", c->peer);
            return -1;
        }
        if (c->tls) {
            c->tls_wait = 1;
            c->tls_deadline = gw_now_ms() + (int64_t)gw_app.cfg.http_timeout * 1000;
            return tls_admit_if_ready(wsi, c);
        }
        return gw_conn_admit(wsi, c, GW_VIA_TCP);
    }
    case LWS_CALLBACK_RAW_RX:
        gw_app.metrics->bytes_in[GW_VIA_TCP] += len;
        if (tls_admit_if_ready(wsi, c))
            return -1;
        if (c->in_hub) {
            gw_hub_tcp_input(gw_app.hub, c->pid, gw_now_ms(), in, len);
            gw_conn_after_input(wsi, c, c->tls ? "tls" : "tcp");
        }
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (tls_admit_if_ready(wsi, c))
            return -1;
        return gw_conn_write(wsi, c, LWS_WRITE_RAW);
    case LWS_CALLBACK_TIMER:
        if (c->tls_wait)
            return tls_admit_if_ready(wsi, c);
        return gw_conn_timer(wsi, c, c->tls ? "tls" : "tcp");
    case LWS_CALLBACK_RAW_CLOSE:
        if (c->tls_wait) {
            gw_log("disconnect tls peer=%s reason=\"closed before a TLS handshake\"", c->peer);
            return 0;
        }
        gw_conn_leave(c, c->tls ? "tls" : "tcp", "peer closed");
        return 0;
    default:
        return 0;
    }
}
