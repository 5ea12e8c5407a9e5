/*
 * gw_serve_ws.c - browsers over WebSocket (gw_serve.h): the Origin rule,
 * the subprotocol, a message put back together from its pieces (bounded by
 * --max-json-bytes) and given to the hub's browser input
 * (gw_hub_web_input); the hub's output goes out through gw_conn_write.
 */
#include "gw_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_app.h"
#include "gw_clock.h"
#include "gw_log.h"

static int header(struct lws *wsi, enum lws_token_indexes t, char *out, int len)
{
    if (lws_hdr_total_length(wsi, t) <= 0 || lws_hdr_total_length(wsi, t) >= len)
        return -1;
    return lws_hdr_copy(wsi, out, len, t) < 0 ? -1 : 0;
}

/*
 * Same-origin WebSockets by default: a browser's Origin must name this
 * very host and port. Programs that send no Origin at all are let in. An
 * Origin that is present is judged whatever its length: one too long to
 * compare (past GW_ORIGIN_MAX_BYTES) is refused, never taken for absent,
 * or a page on a long host name could open a WebSocket here.
 */
int gw_ws_origin_ok(struct lws *wsi)
{
    char origin[GW_ORIGIN_MAX_BYTES + 1], host[GW_ORIGIN_MAX_BYTES + 1];
    if (gw_app.cfg.any_origin || lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return 1;
    if (header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin))
        return 0;
    size_t ol = strlen(origin);
    while (ol && origin[ol - 1] == '/')
        origin[--ol] = '\0';
    for (unsigned i = 0; i < gw_app.cfg.n_allow_origin; i++)
        if (!strcasecmp(origin, gw_app.cfg.allow_origin[i]))
            return 1;
    if (header(wsi, WSI_TOKEN_HOST, host, sizeof host))
        return 0;
    const char *o = origin;
    if (!strncasecmp(o, "http://", 7))
        o += 7;
    else if (!strncasecmp(o, "https://", 8))
        o += 8;
    else
        return 0;
    return strcasecmp(o, host) == 0;
}

/* The Origin for a log line: its first bytes, or "?" (control bytes are
 * replaced so a header cannot forge log lines). */
void gw_ws_origin_for_log(struct lws *wsi, char *out, size_t len)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    char whole[GW_HTTP_HEADER_MAX_BYTES + 1];
    snprintf(out, len, "?");
    if (total <= 0 || total >= (int)sizeof whole ||
        lws_hdr_copy(wsi, whole, sizeof whole, WSI_TOKEN_ORIGIN) < 0)
        return;
    size_t n = 0;
    for (const char *s = whole; *s && n + 4 < len; s++)
        out[n++] = (unsigned char)*s < 0x20 || *s == 0x7F || *s == '"' ? '?' : *s;
    if ((size_t)total > n && n >= 3) {
        memcpy(out + n - 3, "...", 3); /* cut: say so */
    }
    out[n] = '\0';
}

int gw_serve_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len)
{
    struct gw_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (gw_app.stopping) {
            gw_app.metrics->rejections[GW_REJ_STOPPING]++;
            return 1;
        }
        if (!gw_ws_origin_ok(wsi)) {
            char peer[GW_PEER_NAME_MAX], origin[GW_ORIGIN_LOG_BYTES];
            gw_peer_name(wsi, peer, sizeof peer);
            gw_ws_origin_for_log(wsi, origin, sizeof origin);
            gw_app.metrics->rejections[GW_REJ_ORIGIN]++;
            gw_log("refused web peer=%s reason=\"origin %s is not this gateway\"", peer, origin);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        const struct lws_protocols *pr = lws_get_protocol(wsi);
        memset(c, 0, sizeof(*c));
        gw_peer_name(wsi, c->peer, sizeof c->peer);
        gw_peer_ip(wsi, c->ip, sizeof c->ip);
        gw_peer_bound_socket(wsi);
        c->proto = pr && pr->name && !strcmp(pr->name, GW_SUBPROTOCOL_V2) ? GW_PROTO_V2
                                                                          : GW_PROTO_V1;
        return gw_conn_admit(wsi, c, GW_VIA_WEB);
    }
    case LWS_CALLBACK_TIMER:
        return gw_conn_timer(wsi, c, "web");
    case LWS_CALLBACK_RECEIVE: {
        /*
         * A message may arrive in several receives (GW_WS_RX_CHUNK_BYTES
         * each, and in fragments). A refused one (binary, too large) is
         * answered once and its remaining pieces are skipped; whatever
         * happened, the state is reset at the message's last piece, so
         * the next message is judged on its own.
         */
        gw_app.metrics->bytes_in[GW_VIA_WEB] += len;
        if (!c->in_hub)
            return 0;
        if (c->rx_rejected) {
            /* skipping the rest of a refused message */
        } else if (lws_frame_is_binary(wsi)) {
            c->rx_rejected = 1;
            gw_hub_web_reject(gw_app.hub, c->pid, GW_R_UNREADABLE,
                              "binary messages are not understood; send JSON text");
        } else if (c->rx_len + len > gw_app.cfg.max_json_bytes) {
            char why[64];
            snprintf(why, sizeof why, "message too large (at most %u bytes)",
                     gw_app.cfg.max_json_bytes);
            c->rx_rejected = 1;
            gw_hub_web_reject(gw_app.hub, c->pid, GW_R_TOO_LARGE, why);
        } else if (len) {
            char *n = realloc(c->rx, c->rx_len + len);
            if (!n)
                return -1;
            c->rx = n;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
        if (c->rx_rejected) {
            free(c->rx);
            c->rx = NULL;
            c->rx_len = 0;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (!c->rx_rejected) {
                gw_hub_web_input(gw_app.hub, c->pid, gw_now_ms(), c->rx ? c->rx : "", c->rx_len);
                gw_conn_after_input(wsi, c, "web");
            }
            c->rx_rejected = 0;
            free(c->rx);
            c->rx = NULL;
            c->rx_len = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return gw_conn_write(wsi, c, LWS_WRITE_TEXT);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            c->peer_close = ((unsigned char *)in)[0] << 8 | ((unsigned char *)in)[1];
        return 0;
    case LWS_CALLBACK_CLOSED:
        gw_conn_leave(c, "web", "peer closed");
        return 0;
    default:
        return 0;
    }
}
