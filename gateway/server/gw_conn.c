/*
 * gw_conn.c - a participant's connection, whichever transport carries it
 * (gw_conn.h): into the hub, the hub's output onto the socket, out again.
 * Writes only from WRITEABLE callbacks, one lws_write each.
 */
#include "gw_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_app.h"
#include "gw_clock.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_storage.h"

/* Seconds a closing connection may take to flush before it is cut. */
#define GW_CLOSE_GRACE_S 2

/* A refusal for a limit is logged at most once per this many ms per
 * connection (a flood of 429s is one log line, with a count). */
#define GW_LIMIT_LOG_MS 5000

/* The hub has output for, or is closing, a participant. */
void gw_conn_wake(void *ctx, void *user, uint64_t pid)
{
    (void)ctx;
    struct lws *wsi = user;
    int code;
    if (gw_app.destroying || !wsi)
        return;
    lws_callback_on_writable(wsi);
    if (gw_hub_closing(gw_app.hub, pid, &code, NULL) == 1) {
        /* A peer that stopped reading never becomes writeable: cut it. */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, GW_CLOSE_GRACE_S);
        /* A browser closed for being behind (or for holding most when the
         * gateway's output passed its bound) gives up at once the rest of
         * a message it was being sent in pieces: the close frame may come
         * between fragments, and that memory is what is wanted back. (A
         * TCP peer's item is small, and its stream must stay whole.) */
        struct gw_conn *c = lws_wsi_user(wsi);
        if (code == GW_CLOSE_BEHIND && c && c->via == GW_VIA_WEB && c->out) {
            gw_buf_unref(c->out);
            c->out = NULL;
            c->out_off = 0;
        }
    }
}

/* Scratch for a piece of an item written in pieces, with the headroom a
 * WebSocket header is written into: the item itself is shared with other
 * connections, and its bytes before the piece must not be written over.
 * libwebsockets copies what a socket does not take, so one buffer serves
 * every connection (one thread). */
static unsigned char piece_buf[LWS_PRE + GW_WRITE_MAX_BYTES];

/*
 * One write for this connection (one lws_write): the next piece of the
 * item being written, or the hub's next item; -1 closes the connection.
 * An item of up to GW_WRITE_MAX_BYTES (every batch) is written whole from
 * its own buffer; a larger one in pieces of that size, as WebSocket
 * fragments of one message for a browser.
 */
int gw_conn_write(struct lws *wsi, struct gw_conn *c, enum lws_write_protocol mode)
{
    if (!c->in_hub)
        return 0;
    /* libwebsockets calls back for a write only once it has sent what it
     * kept of the last one: what is held now is the rest of the item. */
    gw_hub_in_flight(gw_app.hub, c->pid, c->out ? c->out->len - c->out_off : 0);
    if (!c->out) {
        gw_storage_early();
        int rc = gw_hub_take(gw_app.hub, c->pid, &c->out);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            int code;
            const char *reason;
            if (gw_hub_closing(gw_app.hub, c->pid, &code, &reason) == 1) {
                if (mode == LWS_WRITE_TEXT) {
                    unsigned char why[GW_REASON_MAX_BYTES + 1];
                    size_t n = strlen(reason);
                    memcpy(why, reason, n);
                    lws_close_reason(wsi, (enum lws_close_status)code, why, n);
                }
                return -1;
            }
            return 0;
        }
        c->out_off = 0;
    }
    struct gw_buf *b = c->out;
    size_t len = b->len - c->out_off;
    unsigned char *p = gw_buf_bytes(b) + c->out_off;
    int first = c->out_off == 0;
    if (len > GW_WRITE_MAX_BYTES)
        len = GW_WRITE_MAX_BYTES;
    int last = c->out_off + len == b->len;
    if (!(first && last)) {
        memcpy(piece_buf + LWS_PRE, p, len);
        p = piece_buf + LWS_PRE;
    }
    int flags = (int)mode;
    if (mode == LWS_WRITE_TEXT)
        flags = (first ? LWS_WRITE_TEXT : LWS_WRITE_CONTINUATION) | (last ? 0 : LWS_WRITE_NO_FIN);
    int n = lws_write(wsi, p, len, (enum lws_write_protocol)flags);
    if (n < 0 || (size_t)n < len)
        return -1;
    gw_app.metrics->bytes_out[mode == LWS_WRITE_TEXT ? GW_VIA_WEB : GW_VIA_TCP] += len;
    c->out_off += len;
    size_t rest = b->len - c->out_off;
    if (last) {
        gw_buf_unref(b);
        c->out = NULL;
        c->out_off = 0;
    }
    if (lws_partial_buffered(wsi) || !last) {
        /* The rest of the item, and what the socket did not take of this
         * piece (libwebsockets keeps it, and calls back once it is sent),
         * count as held for this connection (--max-output-mb). */
        gw_hub_in_flight(gw_app.hub, c->pid, rest + (lws_partial_buffered(wsi) ? len : 0));
        lws_callback_on_writable(wsi);
        return 0;
    }
    gw_hub_in_flight(gw_app.hub, c->pid, 0);
    /* Another write only if something waits: else the hub wakes us
     * (gw_conn_wake) when there is. */
    if (gw_hub_more(gw_app.hub, c->pid) == 1)
        lws_callback_on_writable(wsi);
    return 0;
}

/* Log a connection's refusals for limits (429, 552) since the last time,
 * at most once per GW_LIMIT_LOG_MS: a flood is a few lines, with counts. */
static void log_limits(struct gw_conn *c, const char *transport, int force)
{
    uint64_t n = gw_hub_refusals(gw_app.hub, c->pid);
    if (n == c->limit_seen)
        return;
    int64_t now = gw_now_ms();
    if (!force && now - c->limit_logged_at < GW_LIMIT_LOG_MS)
        return;
    const char *nick = gw_hub_nick(gw_app.hub, c->pid);
    gw_log("limit %s peer=%s pid=%llu nick=%s refused=%llu reason=\"over a rate or size limit (429/552)\"",
           transport, c->peer, (unsigned long long)c->pid, nick ? nick : "-",
           (unsigned long long)(n - c->limit_seen));
    c->limit_seen = n;
    c->limit_logged_at = now;
}

/* After input: a joined participant's login timer stops; limits are
 * logged. */
void gw_conn_after_input(struct lws *wsi, struct gw_conn *c, const char *transport)
{
    if (c->login_pending && gw_hub_joined(gw_app.hub, c->pid) == 1) {
        c->login_pending = 0;
        lws_set_timer_usecs(wsi, -1);
    }
    log_limits(c, transport, 0);
}

void gw_conn_leave(struct gw_conn *c, const char *transport, const char *fallback)
{
    if (c->counted) {
        gw_addr_del(c->ip);
        c->counted = 0;
    }
    if (!c->in_hub)
        return;
    log_limits(c, transport, 1);
    int code = 0;
    const char *reason = NULL;
    char why[GW_REASON_MAX_BYTES + 48];
    const char *nick = gw_hub_nick(gw_app.hub, c->pid);
    if (gw_hub_closing(gw_app.hub, c->pid, &code, &reason) != 1)
        reason = NULL;
    if (c->why)
        snprintf(why, sizeof why, "%s", c->why);
    else if (reason)
        snprintf(why, sizeof why, "%s", reason);
    else if (c->peer_close)
        snprintf(why, sizeof why, "%s (%d)", fallback, c->peer_close);
    else
        snprintf(why, sizeof why, "%s", fallback);
    gw_log("disconnect %s peer=%s pid=%llu nick=%s reason=\"%s\"", transport, c->peer,
           (unsigned long long)c->pid, nick ? nick : "-", why);
    /* Browsers see a short reason; the log has the whole story. */
    enum gw_leave_reason shown =
        c->why                                               ? GW_LEAVE_ERROR
        : reason && code == GW_CLOSE_BEHIND                  ? GW_LEAVE_BEHIND
        : reason && !strcmp(reason, "gateway shutting down") ? GW_LEAVE_SHUTDOWN
        : reason                                             ? GW_LEAVE_ERROR
                                                             : GW_LEAVE_CLOSED;
    gw_hub_disconnect(gw_app.hub, c->pid, gw_now_ms(), shown);
    c->in_hub = 0;
    gw_buf_unref(c->out);
    c->out = NULL;
    free(c->rx);
    c->rx = NULL;
}

/*
 * A new participant connection (TCP or browser): counted for its address,
 * then into the hub, or refused there with 421 when its address has too
 * many. Returns 0, or -1 to close at once.
 */
int gw_conn_admit(struct lws *wsi, struct gw_conn *c, enum gw_via via)
{
    const char *transport = via == GW_VIA_TCP ? (c->tls ? "tls" : "tcp") : "web";
    c->via = via;
    unsigned n = gw_addr_add(c->ip);
    c->counted = n > 0;
    int rc;
    if (gw_app.cfg.max_per_address && n > gw_app.cfg.max_per_address) {
        char why[GW_REASON_MAX_BYTES];
        snprintf(why, sizeof why, "too many connections from %s (at most %u)", c->ip,
                 gw_app.cfg.max_per_address);
        gw_app.metrics->rejections[GW_REJ_PER_ADDRESS]++;
        rc = gw_hub_refuse(gw_app.hub, via, wsi, why, &c->pid);
        if (rc == GW_OK) {
            c->in_hub = 1;
            c->why = "too many connections from this address";
            gw_log("refused %s peer=%s pid=%llu reason=\"%s\"", transport, c->peer,
                   (unsigned long long)c->pid, why);
            return 0;
        }
    } else if (via == GW_VIA_WEB) {
        rc = gw_hub_connect_web(gw_app.hub, c->proto, wsi, gw_now_ms(), &c->pid);
    } else {
        rc = gw_hub_connect(gw_app.hub, via, wsi, gw_now_ms(), &c->pid);
    }
    if (rc) {
        gw_log("refused %s peer=%s reason=\"%s\"", transport, c->peer, gw_strerror(rc));
        return -1;
    }
    c->in_hub = 1;
    /* A password may come over TLS, or from this machine. */
    (void)gw_hub_set_secure(gw_app.hub, c->pid,
                            c->tls || !strncmp(c->ip, "127.", 4) || !strcmp(c->ip, "::1"));
    /* Counted per address, unless every connection is a proxy's. */
    if (gw_app.cfg.max_per_address)
        (void)gw_hub_set_address(gw_app.hub, c->pid, c->ip);
    if (gw_hub_closing(gw_app.hub, c->pid, NULL, NULL) == 1) {
        gw_log("refused %s peer=%s pid=%llu reason=\"gateway full (%u)\"", transport, c->peer,
               (unsigned long long)c->pid, gw_app.cfg.max_participants);
        return 0;
    }
    if (gw_hub_joined(gw_app.hub, c->pid) != 1) {
        /* A browser before hello, a TCP peer before /login. */
        c->login_pending = 1;
        c->login_deadline = gw_now_ms() + (int64_t)gw_app.cfg.login_timeout * 1000;
        lws_set_timer_usecs(wsi, (lws_usec_t)gw_app.cfg.login_timeout * LWS_US_PER_SEC);
    }
    if (via == GW_VIA_TCP)
        gw_log("connect %s peer=%s pid=%llu nick=%s%s", transport, c->peer,
               (unsigned long long)c->pid,
               c->login_pending ? "-" : gw_hub_nick(gw_app.hub, c->pid),
               c->login_pending ? " (waiting for /login)" : "");
    else
        gw_log("connect web peer=%s pid=%llu protocol=%s", c->peer, (unsigned long long)c->pid,
               c->proto == GW_PROTO_V2 ? GW_SUBPROTOCOL_V2 : GW_SUBPROTOCOL_V1);
    return 0;
}

/* The connection's timer: ask for a write, and close a connection still
 * not joined at its login deadline. */
int gw_conn_timer(struct lws *wsi, struct gw_conn *c, const char *transport)
{
    if (c->in_hub)
        lws_callback_on_writable(wsi);
    if (!c->in_hub || !c->login_pending || gw_hub_joined(gw_app.hub, c->pid) == 1)
        return 0;
    int64_t left = c->login_deadline - gw_now_ms();
    if (left > 0) {
        lws_set_timer_usecs(wsi, (lws_usec_t)left * LWS_US_PER_MS);
        return 0;
    }
    gw_app.metrics->rejections[GW_REJ_LOGIN_TIMEOUT]++;
    c->why = "did not join in time (login timeout)";
    gw_log("timeout %s peer=%s pid=%llu reason=\"no %s within %u s\"", transport, c->peer,
           (unsigned long long)c->pid, strcmp(transport, "web") ? "/login" : "hello",
           gw_app.cfg.login_timeout);
    return -1;
}
