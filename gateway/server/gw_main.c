/*
 * gw_main.c - wintalk-gateway: the libwebsockets adapter around the hub.
 *
 * One thread, one event loop (libuv's, which the program owns and
 * libwebsockets runs on: gw_loop.h), two or three vhosts:
 *   - "wintalk-tcp": a raw-socket listener for WINTALK programs;
 *   - "wintalk-tls": the same over TLS, when given a certificate;
 *   - "http": static files of the web root, /livez, /readyz, /healthz,
 *     /metrics, and WebSockets with the subprotocols wintalk.v2 and
 *     wintalk.v1, on one port (HTTPS and WSS when given a certificate).
 * Everything the protocol means lives in the hub (gw_hub.h); this file only
 * moves bytes between sockets and the hub, holds participant ids (never hub
 * pointers), writes only from WRITEABLE callbacks (one lws_write each), and
 * logs who connected and why someone left.
 */
/* realpath() and strcasecmp() are X/Open, not plain POSIX. */
#define _DEFAULT_SOURCE

#include <libwebsockets.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <errno.h>
#include <strings.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gw_config.h"
#include "gw_hub.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_loop.h"
#include "gw_metrics.h"
#include "gw_storage.h"

#define GW_VERSION "0.1.0"

/* How often the hub's clock ticks (typing throttle), in microseconds. */
#define GW_TICK_US (100 * LWS_US_PER_MS)

/* Seconds a closing connection may take to flush before it is cut. */
#define GW_CLOSE_GRACE_S 2

/* After SIGTERM, how long output may take to flush, in ms. */
#define GW_STOP_GRACE_MS 2000

/* A refusal for a limit is logged at most once per this many ms per
 * connection (a flood of 429s is one log line, with a count). */
#define GW_LIMIT_LOG_MS 5000

/* How often a WINTALK-over-TLS connection is looked at while its TLS
 * handshake is under way (it joins #lobby once the handshake is done). */
#define GW_TLS_POLL_US (20 * LWS_US_PER_MS)

/* Longest request path we look at. */
#define GW_PATH_MAX 1024

/* Body of /healthz, /livez, /readyz. */
#define GW_HEALTH_MAX 256

static const char *const security_headers[][2] = {
    {"content-security-policy:",
     "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
     "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"},
    {"x-content-type-options:", "nosniff"},
    {"referrer-policy:", "no-referrer"},
    {"x-frame-options:", "DENY"},
    {"cache-control:", "no-cache"},
};

struct app {
    struct gw_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh_http, *vh_tcp, *vh_tls;
    struct gw_hub *hub;
    struct gw_metrics *metrics; /* the hub's; the adapter adds to it */
    char web_root[PATH_MAX];
    int64_t started_ms;
    uint64_t epoch;          /* of the event ids: kept with the history, or this run's */
    lws_sorted_usec_list_t tick;
    int stop_requested;      /* SIGTERM or SIGINT came; the next turn's end stops */
    int stopping;
    int destroying;
    /* The event loop (gw_loop.h) and the program's own handles on it. */
    uv_loop_t loop;
    int loop_open;           /* uv_loop_init done, uv_loop_close not yet */
    struct lws *uv_wsi;      /* the libuv loop's epoll descriptor, in libwebsockets' poll */
    lws_sorted_usec_list_t uv_sul; /* libuv's next timer */
    uv_signal_t sigterm, sigint;
    uv_timer_t stop_timer;   /* GW_STOP_GRACE_MS after the signal */
    int quit;                /* the stop is over: leave the service loop */
};

static struct app app;

/* The subprotocols, newest first. */
#define GW_SUBPROTOCOL_V2 "wintalk.v2"
#define GW_SUBPROTOCOL_V1 "wintalk.v1"

/*
 * Which of the two a browser gets: libwebsockets 4.1 binds a WebSocket to
 * the first name in the client's Sec-WebSocket-Protocol list that the
 * gateway knows, so the client's order decides ("wintalk.v2, wintalk.v1"
 * gets v2). The page offers wintalk.v2 alone; older pages offer v1 alone.
 */

/* Connections per address, for --max-per-address: a fixed table of the
 * addresses with connections open. */
struct addr_count {
    char ip[INET6_ADDRSTRLEN];
    unsigned n;
};
static struct addr_count addrs[GW_ADDR_TABLE_MAX];

/*
 * HTTP connections waiting for a request: a request (its headers) must
 * arrive within --http-timeout of the connection or of the previous
 * answer, however slowly it trickles in (libwebsockets restarts its own
 * timeout on every read). A fixed table, swept by the tick.
 */
struct http_watch {
    struct lws *wsi;
    int64_t deadline;       /* ms; 0: a request is being answered */
};
static struct http_watch http_watch[GW_ADDR_TABLE_MAX];

static struct http_watch *watch_find(struct lws *wsi)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++)
        if (http_watch[i].wsi == wsi)
            return &http_watch[i];
    return NULL;
}

/* Per connection (raw TCP and WebSocket alike). */
struct conn {
    uint64_t pid;
    int in_hub;
    enum gw_proto proto;    /* a WebSocket's subprotocol */
    int counted;            /* holds a slot in addrs[] */
    int login_pending;      /* not joined yet: the login timer runs */
    int64_t login_deadline; /* ms */
    int tls;
    int tls_wait;           /* TLS handshake under way: not admitted yet */
    int64_t tls_deadline;   /* ms: the handshake must be done by then */
    char ip[INET6_ADDRSTRLEN];
    char peer[80];
    const char *why;        /* a reason of the adapter's own, for the log */
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

/* Per HTTP connection: its address slot, and a body of our own
 * (/healthz, /livez, /readyz, /metrics) waiting to be written. */
struct http_req {
    char *body;             /* malloc'd; freed when written or closed */
    size_t body_len;
    int pending;
    int counted;
    char ip[INET6_ADDRSTRLEN];
};

/*
 * Two clocks. Every duration (rate limits, the typing throttle, login and
 * request deadlines, uptime) is measured on the monotonic clock, which a
 * step of the system's time (an operator's `date -s`, NTP stepping) does
 * not move: stepped back, the wall clock would stop every refill; stepped
 * forward, it would fire every deadline at once. The wall clock is only
 * for the `time` of events (the hub adds the offset) and the log.
 */
static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static int64_t wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

/* A log line is cut at this many bytes. */
#define GW_LOG_LINE_MAX_BYTES 4096

static void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gw_log(const char *fmt, ...)
{
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    /* One write per line, so that a line is never split or interleaved
     * with another writer's in a container's log. */
    char line[GW_LOG_LINE_MAX_BYTES];
    int n = snprintf(line, sizeof line, "%s.%03ldZ ", stamp, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* cut: a line over the bound */
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}

/* A line from the store (gw_storage_attach). */
static void log_line(const char *line)
{
    gw_log("%s", line);
}

/* Bound the kernel's share of a slow peer (GW_SOCKET_SNDBUF). */
static void bound_socket(struct lws *wsi)
{
    int sz = GW_SOCKET_SNDBUF;
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

/* The peer's address alone, for the per-address count. */
static void peer_ip(struct lws *wsi, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    snprintf(out, len, "?");
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)len);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)len);
}

/* Count one more connection from ip; returns how many are open from it now
 * (0 when the table is full: then the connection is not counted). */
static unsigned addr_add(const char *ip)
{
    struct addr_count *free_slot = NULL;
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++) {
        if (addrs[i].n && !strcmp(addrs[i].ip, ip))
            return ++addrs[i].n;
        if (!addrs[i].n && !free_slot)
            free_slot = &addrs[i];
    }
    if (!free_slot)
        return 0;
    snprintf(free_slot->ip, sizeof free_slot->ip, "%s", ip);
    free_slot->n = 1;
    return 1;
}

static unsigned addr_count(const char *ip)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++)
        if (addrs[i].n && !strcmp(addrs[i].ip, ip))
            return addrs[i].n;
    return 0;
}

static void addr_del(const char *ip)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++)
        if (addrs[i].n && !strcmp(addrs[i].ip, ip)) {
            addrs[i].n--;
            return;
        }
}

static void peer_name(struct lws *wsi, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    snprintf(out, len, "?");
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        port = ntohs(s4->sin_port);
        snprintf(out, len, "%s:%d", ip, port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        port = ntohs(s6->sin6_port);
        snprintf(out, len, "[%s]:%d", ip, port);
    }
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);

/* The hub has output for, or is closing, a participant. */
static void on_wake(void *ctx, void *user, uint64_t pid)
{
    (void)ctx;
    struct lws *wsi = user;
    int code;
    if (app.destroying || !wsi)
        return;
    lws_callback_on_writable(wsi);
    if (gw_hub_closing(app.hub, pid, &code, NULL) == 1) {
        /* A peer that stopped reading never becomes writeable: cut it. */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, GW_CLOSE_GRACE_S);
        /* A browser closed for being behind (or for holding most when the
         * gateway's output passed its bound) gives up at once the rest of
         * a message it was being sent in pieces: the close frame may come
         * between fragments, and that memory is what is wanted back. (A
         * TCP peer's item is small, and its stream must stay whole.) */
        const struct lws_protocols *pr = lws_get_protocol(wsi);
        struct conn *c = lws_wsi_user(wsi);
        if (code == GW_CLOSE_BEHIND && pr && pr->callback == cb_ws && c && c->out) {
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
static int write_out(struct lws *wsi, struct conn *c, enum lws_write_protocol mode)
{
    if (!c->in_hub)
        return 0;
    /* libwebsockets calls back for a write only once it has sent what it
     * kept of the last one: what is held now is the rest of the item. */
    gw_hub_in_flight(app.hub, c->pid, c->out ? c->out->len - c->out_off : 0);
    if (!c->out) {
        gw_storage_early();
        int rc = gw_hub_take(app.hub, c->pid, &c->out);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            int code;
            const char *reason;
            if (gw_hub_closing(app.hub, c->pid, &code, &reason) == 1) {
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
    app.metrics->bytes_out[mode == LWS_WRITE_TEXT ? GW_VIA_WEB : GW_VIA_TCP] += len;
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
        gw_hub_in_flight(app.hub, c->pid, rest + (lws_partial_buffered(wsi) ? len : 0));
        lws_callback_on_writable(wsi);
        return 0;
    }
    gw_hub_in_flight(app.hub, c->pid, 0);
    /* Another write only if something waits: else the hub wakes us
     * (on_wake) when there is. */
    if (gw_hub_more(app.hub, c->pid) == 1)
        lws_callback_on_writable(wsi);
    return 0;
}

/* Log a connection's refusals for limits (429, 552) since the last time,
 * at most once per GW_LIMIT_LOG_MS: a flood is a few lines, with counts. */
static void log_limits(struct conn *c, const char *transport, int force)
{
    uint64_t n = gw_hub_refusals(app.hub, c->pid);
    if (n == c->limit_seen)
        return;
    int64_t now = now_ms();
    if (!force && now - c->limit_logged_at < GW_LIMIT_LOG_MS)
        return;
    const char *nick = gw_hub_nick(app.hub, c->pid);
    gw_log("limit %s peer=%s pid=%llu nick=%s refused=%llu reason=\"over a rate or size limit (429/552)\"",
           transport, c->peer, (unsigned long long)c->pid, nick ? nick : "-",
           (unsigned long long)(n - c->limit_seen));
    c->limit_seen = n;
    c->limit_logged_at = now;
}

/* After input: a joined participant's login timer stops; limits are
 * logged. */
static void after_input(struct lws *wsi, struct conn *c, const char *transport)
{
    if (c->login_pending && gw_hub_joined(app.hub, c->pid) == 1) {
        c->login_pending = 0;
        lws_set_timer_usecs(wsi, -1);
    }
    log_limits(c, transport, 0);
}

static void leave(struct conn *c, const char *transport, const char *fallback)
{
    if (c->counted) {
        addr_del(c->ip);
        c->counted = 0;
    }
    if (!c->in_hub)
        return;
    log_limits(c, transport, 1);
    int code = 0;
    const char *reason = NULL;
    char why[GW_REASON_MAX_BYTES + 48];
    const char *nick = gw_hub_nick(app.hub, c->pid);
    if (gw_hub_closing(app.hub, c->pid, &code, &reason) != 1)
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
    gw_hub_disconnect(app.hub, c->pid, now_ms(), shown);
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
static int admit(struct lws *wsi, struct conn *c, enum gw_via via)
{
    const char *transport = via == GW_VIA_TCP ? (c->tls ? "tls" : "tcp") : "web";
    unsigned n = addr_add(c->ip);
    c->counted = n > 0;
    int rc;
    if (app.cfg.max_per_address && n > app.cfg.max_per_address) {
        char why[GW_REASON_MAX_BYTES];
        snprintf(why, sizeof why, "too many connections from %s (at most %u)", c->ip,
                 app.cfg.max_per_address);
        app.metrics->rejections[GW_REJ_PER_ADDRESS]++;
        rc = gw_hub_refuse(app.hub, via, wsi, why, &c->pid);
        if (rc == GW_OK) {
            c->in_hub = 1;
            c->why = "too many connections from this address";
            gw_log("refused %s peer=%s pid=%llu reason=\"%s\"", transport, c->peer,
                   (unsigned long long)c->pid, why);
            return 0;
        }
    } else if (via == GW_VIA_WEB) {
        rc = gw_hub_connect_web(app.hub, c->proto, wsi, now_ms(), &c->pid);
    } else {
        rc = gw_hub_connect(app.hub, via, wsi, now_ms(), &c->pid);
    }
    if (rc) {
        gw_log("refused %s peer=%s reason=\"%s\"", transport, c->peer, gw_strerror(rc));
        return -1;
    }
    c->in_hub = 1;
    if (gw_hub_closing(app.hub, c->pid, NULL, NULL) == 1) {
        gw_log("refused %s peer=%s pid=%llu reason=\"gateway full (%u)\"", transport, c->peer,
               (unsigned long long)c->pid, app.cfg.max_participants);
        return 0;
    }
    if (gw_hub_joined(app.hub, c->pid) != 1) {
        /* A browser before hello, a TCP peer before /login. */
        c->login_pending = 1;
        c->login_deadline = now_ms() + (int64_t)app.cfg.login_timeout * 1000;
        lws_set_timer_usecs(wsi, (lws_usec_t)app.cfg.login_timeout * LWS_US_PER_SEC);
    }
    if (via == GW_VIA_TCP)
        gw_log("connect %s peer=%s pid=%llu nick=%s%s", transport, c->peer,
               (unsigned long long)c->pid,
               c->login_pending ? "-" : gw_hub_nick(app.hub, c->pid),
               c->login_pending ? " (waiting for /login)" : "");
    else
        gw_log("connect web peer=%s pid=%llu protocol=%s", c->peer, (unsigned long long)c->pid,
               c->proto == GW_PROTO_V2 ? GW_SUBPROTOCOL_V2 : GW_SUBPROTOCOL_V1);
    return 0;
}

/* The connection's timer: ask for a write, and close a connection still
 * not joined at its login deadline. */
static int login_timer(struct lws *wsi, struct conn *c, const char *transport)
{
    if (c->in_hub)
        lws_callback_on_writable(wsi);
    if (!c->in_hub || !c->login_pending || gw_hub_joined(app.hub, c->pid) == 1)
        return 0;
    int64_t left = c->login_deadline - now_ms();
    if (left > 0) {
        lws_set_timer_usecs(wsi, (lws_usec_t)left * LWS_US_PER_MS);
        return 0;
    }
    app.metrics->rejections[GW_REJ_LOGIN_TIMEOUT]++;
    c->why = "did not join in time (login timeout)";
    gw_log("timeout %s peer=%s pid=%llu reason=\"no %s within %u s\"", transport, c->peer,
           (unsigned long long)c->pid, strcmp(transport, "web") ? "/login" : "hello",
           app.cfg.login_timeout);
    return -1;
}

/* ---- WINTALK over raw TCP ---- */

/* Whether a TLS connection's handshake is complete. */
static int tls_done(struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(wsi);
    return ssl && SSL_is_init_finished(ssl);
}

/*
 * A WINTALK-over-TLS connection is adopted before its TLS handshake. It is
 * admitted (counted for its address, greeted, joined to #lobby, or
 * refused with its 421 line) only once the handshake is done: a peer that
 * never completes one (a port scanner, plain text sent to the TLS port)
 * is never announced to anyone. Returns 0, or -1 to close.
 */
static int tls_admit_if_ready(struct lws *wsi, struct conn *c)
{
    if (!c->tls_wait)
        return 0;
    if (tls_done(wsi)) {
        c->tls_wait = 0;
        lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
        if (app.stopping) {
            app.metrics->rejections[GW_REJ_STOPPING]++;
            gw_log("refused tls peer=%s reason=\"shutting down\"", c->peer);
            return -1;
        }
        return admit(wsi, c, GW_VIA_TCP);
    }
    if (now_ms() >= c->tls_deadline) {
        gw_log("timeout tls peer=%s reason=\"no TLS handshake within %u s\"", c->peer,
               app.cfg.http_timeout);
        return -1;
    }
    lws_set_timer_usecs(wsi, GW_TLS_POLL_US);
    return 0;
}

static int cb_tcp(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT: {
        int one = 1;
        memset(c, 0, sizeof(*c));
        c->tls = lws_is_ssl(wsi);
        peer_name(wsi, c->peer, sizeof c->peer);
        peer_ip(wsi, c->ip, sizeof c->ip);
        /* Each write its own segment, at once: the handshake and priming
         * must arrive together and apart from what follows. */
        setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bound_socket(wsi);
        if (app.stopping) {
            app.metrics->rejections[GW_REJ_STOPPING]++;
            gw_log("refused %s peer=%s reason=\"shutting down\"", c->tls ? "tls" : "tcp", c->peer);
            return -1;
        }
        if (c->tls) {
            c->tls_wait = 1;
            c->tls_deadline = now_ms() + (int64_t)app.cfg.http_timeout * 1000;
            return tls_admit_if_ready(wsi, c);
        }
        return admit(wsi, c, GW_VIA_TCP);
    }
    case LWS_CALLBACK_RAW_RX:
        app.metrics->bytes_in[GW_VIA_TCP] += len;
        if (tls_admit_if_ready(wsi, c))
            return -1;
        if (c->in_hub) {
            gw_hub_tcp_input(app.hub, c->pid, now_ms(), in, len);
            after_input(wsi, c, c->tls ? "tls" : "tcp");
        }
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (tls_admit_if_ready(wsi, c))
            return -1;
        return write_out(wsi, c, LWS_WRITE_RAW);
    case LWS_CALLBACK_TIMER:
        if (c->tls_wait)
            return tls_admit_if_ready(wsi, c);
        return login_timer(wsi, c, c->tls ? "tls" : "tcp");
    case LWS_CALLBACK_RAW_CLOSE:
        if (c->tls_wait) {
            gw_log("disconnect tls peer=%s reason=\"closed before a TLS handshake\"", c->peer);
            return 0;
        }
        leave(c, c->tls ? "tls" : "tcp", "peer closed");
        return 0;
    default:
        return 0;
    }
}

/* ---- WebSocket ---- */

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
static int origin_ok(struct lws *wsi)
{
    char origin[GW_ORIGIN_MAX_BYTES + 1], host[GW_ORIGIN_MAX_BYTES + 1];
    if (app.cfg.any_origin || lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return 1;
    if (header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin))
        return 0;
    size_t ol = strlen(origin);
    while (ol && origin[ol - 1] == '/')
        origin[--ol] = '\0';
    for (unsigned i = 0; i < app.cfg.n_allow_origin; i++)
        if (!strcasecmp(origin, app.cfg.allow_origin[i]))
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
static void origin_for_log(struct lws *wsi, char *out, size_t len)
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

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (app.stopping) {
            app.metrics->rejections[GW_REJ_STOPPING]++;
            return 1;
        }
        if (!origin_ok(wsi)) {
            char peer[80], origin[GW_ORIGIN_LOG_BYTES];
            peer_name(wsi, peer, sizeof peer);
            origin_for_log(wsi, origin, sizeof origin);
            app.metrics->rejections[GW_REJ_ORIGIN]++;
            gw_log("refused web peer=%s reason=\"origin %s is not this gateway\"", peer, origin);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        const struct lws_protocols *pr = lws_get_protocol(wsi);
        memset(c, 0, sizeof(*c));
        peer_name(wsi, c->peer, sizeof c->peer);
        peer_ip(wsi, c->ip, sizeof c->ip);
        bound_socket(wsi);
        c->proto = pr && pr->name && !strcmp(pr->name, GW_SUBPROTOCOL_V2) ? GW_PROTO_V2
                                                                          : GW_PROTO_V1;
        return admit(wsi, c, GW_VIA_WEB);
    }
    case LWS_CALLBACK_TIMER:
        return login_timer(wsi, c, "web");
    case LWS_CALLBACK_RECEIVE: {
        /*
         * A message may arrive in several receives (GW_WS_RX_CHUNK_BYTES
         * each, and in fragments). A refused one (binary, too large) is
         * answered once and its remaining pieces are skipped; whatever
         * happened, the state is reset at the message's last piece, so
         * the next message is judged on its own.
         */
        app.metrics->bytes_in[GW_VIA_WEB] += len;
        if (!c->in_hub)
            return 0;
        if (c->rx_rejected) {
            /* skipping the rest of a refused message */
        } else if (lws_frame_is_binary(wsi)) {
            c->rx_rejected = 1;
            gw_hub_web_reject(app.hub, c->pid, GW_R_UNREADABLE,
                              "binary messages are not understood; send JSON text");
        } else if (c->rx_len + len > app.cfg.max_json_bytes) {
            char why[64];
            snprintf(why, sizeof why, "message too large (at most %u bytes)",
                     app.cfg.max_json_bytes);
            c->rx_rejected = 1;
            gw_hub_web_reject(app.hub, c->pid, GW_R_TOO_LARGE, why);
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
                gw_hub_web_input(app.hub, c->pid, now_ms(), c->rx ? c->rx : "", c->rx_len);
                after_input(wsi, c, "web");
            }
            c->rx_rejected = 0;
            free(c->rx);
            c->rx = NULL;
            c->rx_len = 0;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return write_out(wsi, c, LWS_WRITE_TEXT);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            c->peer_close = ((unsigned char *)in)[0] << 8 | ((unsigned char *)in)[1];
        return 0;
    case LWS_CALLBACK_CLOSED:
        leave(c, "web", "peer closed");
        return 0;
    default:
        return 0;
    }
}

/* ---- HTTP ---- */

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".wasm", "application/wasm"},
};

static const char *mime_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (!strcasecmp(dot, mime_types[i].ext))
                return mime_types[i].type;
    return "application/octet-stream";
}

/*
 * Strict-Transport-Security, on HTTPS answers only: a browser must not
 * take it from plain HTTP (RFC 6797 8.1), and a gateway without a
 * certificate has no HTTPS to insist on. Made once at start; "" for none
 * (--hsts-max-age 0, or no TLS).
 */
static char hsts_value[64];

static void hsts_init(void)
{
    hsts_value[0] = '\0';
    if (app.cfg.tls_cert && app.cfg.hsts_max_age)
        snprintf(hsts_value, sizeof hsts_value, "max-age=%u%s", app.cfg.hsts_max_age,
                 app.cfg.hsts_subdomains ? "; includeSubDomains" : "");
}

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        const char *v = security_headers[i][1];
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)security_headers[i][0],
                                        (const unsigned char *)v, (int)strlen(v), p, end))
            return -1;
    }
    if (hsts_value[0] &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"strict-transport-security:",
                                    (const unsigned char *)hsts_value, (int)strlen(hsts_value),
                                    p, end))
        return -1;
    return 0;
}

/*
 * Map a request path onto a file under the web root, or fail. Refuses any
 * path with a dot segment, a backslash, a control byte or a '%' (the path
 * lws hands us is already decoded once, so a '%' left over is an attempt at
 * double encoding), then resolves symlinks and insists the result is still
 * inside the root. A directory maps to its index.html.
 */
static int resolve(const char *uri, char *out, size_t out_len)
{
    char rel[GW_PATH_MAX], joined[PATH_MAX];
    size_t n = strlen(uri);
    if (n == 0 || n >= sizeof rel || uri[0] != '/')
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)uri[i];
        if (ch < 0x20 || ch == 0x7F || ch == '\\' || ch == '%')
            return -1;
    }
    memcpy(rel, uri, n + 1);
    for (char *seg = rel; seg;) {
        char *next = strchr(seg + 1, '/');
        size_t sl = next ? (size_t)(next - seg - 1) : strlen(seg + 1);
        if ((sl == 1 && seg[1] == '.') || (sl == 2 && seg[1] == '.' && seg[2] == '.'))
            return -1;
        seg = next;
    }
    if (snprintf(joined, sizeof joined, "%s%s", app.web_root, rel) >= (int)sizeof joined)
        return -1;
    struct stat st;
    if (stat(joined, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t jl = strlen(joined);
        if (snprintf(joined + jl, sizeof joined - jl, "%sindex.html",
                     jl && joined[jl - 1] == '/' ? "" : "/") >= (int)(sizeof joined - jl))
            return -1;
    }
    char real[PATH_MAX];
    if (!realpath(joined, real))
        return -1;
    size_t rl = strlen(app.web_root);
    if (strncmp(real, app.web_root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return -1;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    if (strlen(real) >= out_len)
        return -1;
    memcpy(out, real, strlen(real) + 1);
    return 0;
}

/* An answer is complete: the next request must arrive in time too. */
static void http_rearm(struct lws *wsi)
{
    struct http_watch *w = watch_find(wsi);
    if (w)
        w->deadline = now_ms() + (int64_t)app.cfg.http_timeout * 1000;
}

/* The tick: cut connections whose request is late. */
static void http_sweep(int64_t now)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++) {
        struct http_watch *w = &http_watch[i];
        if (!w->wsi || !w->deadline || now < w->deadline)
            continue;
        char peer[80];
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(lws_get_socket_fd(w->wsi), (struct sockaddr *)&ss, &sl) != 0) {
            w->wsi = NULL; /* the listener, or already gone */
            continue;
        }
        peer_name(w->wsi, peer, sizeof peer);
        app.metrics->rejections[GW_REJ_HTTP_TIMEOUT]++;
        gw_log("timeout http peer=%s reason=\"no complete request within %u s\"", peer,
               app.cfg.http_timeout);
        lws_set_timeout(w->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        w->deadline = 0;
    }
}

/* Whether the request being answered is a HEAD. */
static int is_head(struct lws *wsi)
{
    return lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
}

/* Answer with a body of our own: headers now, the body from WRITEABLE. */
static int serve_body(struct lws *wsi, struct http_req *r, unsigned status, const char *type,
                      const char *body, size_t len)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    free(r->body);
    r->body = malloc(len ? len : 1);
    if (!r->body)
        return -1;
    memcpy(r->body, body, len);
    r->body_len = len;
    if (lws_add_http_common_headers(wsi, status, type, r->body_len, &p, end) ||
        add_security_headers(wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (is_head(wsi)) {
        /* HEAD: the headers (with the length the body would have), and
         * not one byte more, or a keep-alive connection falls out of step. */
        free(r->body);
        r->body = NULL;
        http_rearm(wsi);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    r->pending = 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* An error status with a one-line text body (none for HEAD), through
 * serve_body so that HEAD is honoured here too: lws's own status page
 * would send its HTML body whatever the method. */
static int http_status(struct lws *wsi, struct http_req *r, unsigned code)
{
    static const struct {
        unsigned code;
        const char *text;
    } phrases[] = {
        {HTTP_STATUS_FORBIDDEN, "forbidden"},
        {HTTP_STATUS_NOT_FOUND, "not found"},
        {HTTP_STATUS_METHOD_NOT_ALLOWED, "method not allowed"},
        {HTTP_STATUS_INTERNAL_SERVER_ERROR, "internal error"},
        {HTTP_STATUS_SERVICE_UNAVAILABLE, "unavailable"},
    };
    const char *text = "error";
    char body[64];
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if (phrases[i].code == code)
            text = phrases[i].text;
    int n = snprintf(body, sizeof body, "%u %s\n", code, text);
    if (!r) {
        http_rearm(wsi);
        if (lws_return_http_status(wsi, code, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    return serve_body(wsi, r, code, "text/plain; charset=utf-8", body, (size_t)n);
}

/* Both sides listen, the store takes events and the gateway is not
 * stopping. */
static int ready(void)
{
    return !app.stopping && app.vh_http && app.vh_tcp &&
           (!app.cfg.tls_cert || app.vh_tls) && gw_storage_healthy(NULL);
}

static int serve_health(struct lws *wsi, struct http_req *r)
{
    char head[GW_HEALTH_MAX];
    unsigned tcp, web;
    gw_hub_counts(app.hub, &tcp, &web);
    int64_t up = (now_ms() - app.started_ms) / 1000;
    snprintf(head, sizeof head,
             "{\"status\":\"%s\",\"version\":\"" GW_VERSION "\",\"uptime_s\":%lld,"
             "\"participants\":{\"tcp\":%u,\"web\":%u},\"last_id\":%llu,"
             "\"loop\":\"" GW_LOOP_NAME "\",",
             app.stopping ? "stopping" : gw_storage_healthy(NULL) ? "ok" : "store failing",
             (long long)up, tcp, web, (unsigned long long)gw_hub_last_id(app.hub));
    struct gw_jw w;
    gw_jw_init(&w, 0, GW_HEALTH_MAX + PATH_MAX);
    gw_jw_lit(&w, head);
    gw_storage_health_json(&w, app.epoch);
    gw_jw_lit(&w, "}\n");
    struct gw_buf *b = gw_jw_finish(&w);
    if (!b)
        return http_status(wsi, r, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    int rc = serve_body(wsi, r, HTTP_STATUS_OK, "application/json", (const char *)gw_buf_bytes(b),
                        b->len);
    gw_buf_unref(b);
    return rc;
}

/* /readyz: 200 "ready", or 503 with why not (stopping, the store). */
static int serve_ready(struct lws *wsi, struct http_req *r)
{
    const char *why = "";
    char body[GW_HEALTH_MAX];
    if (ready())
        return serve_body(wsi, r, HTTP_STATUS_OK, "text/plain; charset=utf-8", "ready\n", 6);
    int n = app.stopping || gw_storage_healthy(&why)
                ? snprintf(body, sizeof body, "stopping\n")
                : snprintf(body, sizeof body, "store failing: %s\n", why);
    if (n < 0 || (size_t)n >= sizeof body) {
        n = (int)sizeof body - 1;
        body[n - 1] = '\n';
    }
    return serve_body(wsi, r, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                      body, (size_t)n);
}

static int serve_metrics(struct lws *wsi, struct http_req *r)
{
    static char text[GW_METRICS_TEXT_MAX];
    struct gw_metrics_now now;
    memset(&now, 0, sizeof now);
    gw_hub_counts(app.hub, &now.participants[GW_VIA_TCP], &now.participants[GW_VIA_WEB]);
    now.connections = gw_hub_connections(app.hub);
    now.last_id = gw_hub_last_id(app.hub);
    now.uptime_s = (double)(now_ms() - app.started_ms) / 1000.0;
    now.ready = ready();
    now.output_bytes = gw_hub_output_bytes(app.hub);
    now.output_closing_bytes = gw_hub_output_closing_bytes(app.hub);
    now.output_max_bytes = (uint64_t)app.cfg.max_output_mb << 20;
    gw_storage_metrics(&now.store);
    int n = gw_metrics_format(app.metrics, &now, text, sizeof text);
    if (n < 0)
        return http_status(wsi, r, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    return serve_body(wsi, r, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                      (size_t)n);
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct http_req *r = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* A WebSocket without our subprotocol lands here: refuse it. */
        return 1;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        /* Same-origin WebSockets by default: refused with 403. */
        char peer[80], origin[GW_ORIGIN_LOG_BYTES];
        if (app.stopping) {
            app.metrics->rejections[GW_REJ_STOPPING]++;
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
            return 1;
        }
        if (origin_ok(wsi)) {
            struct http_watch *w = watch_find(wsi);
            if (w)
                w->wsi = NULL; /* a WebSocket now: keepalive takes over */
            return 0;
        }
        peer_name(wsi, peer, sizeof peer);
        origin_for_log(wsi, origin, sizeof origin);
        app.metrics->rejections[GW_REJ_ORIGIN]++;
        gw_log("refused web peer=%s reason=\"origin %s is not this gateway\"", peer, origin);
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
        return 1;
    }
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        /* Each HTTP connection holds a slot of its address while open,
         * and its requests must arrive in time (the request timer). */
        if (r && !r->counted) {
            peer_ip(wsi, r->ip, sizeof r->ip);
            r->counted = addr_add(r->ip) > 0;
        }
        return 0;
    case LWS_CALLBACK_WSI_CREATE: {
        /* Every connection of this vhost (and its listener, which the
         * sweep drops: it has no peer) starts on the request clock. */
        struct http_watch *w = watch_find(NULL);
        if (w) {
            w->wsi = wsi;
            w->deadline = now_ms() + (int64_t)app.cfg.http_timeout * 1000;
        }
        return 0;
    }
    case LWS_CALLBACK_WSI_DESTROY: {
        struct http_watch *w = watch_find(wsi);
        if (w)
            w->wsi = NULL;
        return 0;
    }
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r) {
            if (r->counted)
                addr_del(r->ip);
            r->counted = 0;
            free(r->body);
            r->body = NULL;
            r->pending = 0;
        }
        return 0;
    case LWS_CALLBACK_HTTP: {
        const char *uri = in;
        char path[PATH_MAX];
        {
            struct http_watch *w = watch_find(wsi);
            if (w)
                w->deadline = 0; /* answering; the clock restarts after */
        }
        if (!lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) &&
            !lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
            return http_status(wsi, r, HTTP_STATUS_METHOD_NOT_ALLOWED);
        if (r && r->counted && app.cfg.max_per_address &&
            addr_count(r->ip) > app.cfg.max_per_address * GW_HTTP_PER_ADDRESS_FACTOR) {
            char peer[80];
            peer_name(wsi, peer, sizeof peer);
            app.metrics->rejections[GW_REJ_PER_ADDRESS]++;
            gw_log("refused http peer=%s reason=\"too many connections from this address\"", peer);
            return http_status(wsi, r, HTTP_STATUS_SERVICE_UNAVAILABLE);
        }
        if (!strcmp(uri, "/livez"))
            return serve_body(wsi, r, HTTP_STATUS_OK, "text/plain; charset=utf-8", "ok\n", 3);
        if (!strcmp(uri, "/readyz"))
            return serve_ready(wsi, r);
        if (!strcmp(uri, "/metrics"))
            return serve_metrics(wsi, r);
        if (!strcmp(uri, "/healthz"))
            return serve_health(wsi, r);
        if (resolve(uri, path, sizeof path))
            return http_status(wsi, r, HTTP_STATUS_NOT_FOUND);
        unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                                  *end = hdr + sizeof hdr;
        if (add_security_headers(wsi, &p, end))
            return -1;
        int n = lws_serve_http_file(wsi, path, mime_for(path), (const char *)start,
                                    (int)(p - start));
        if (n > 0)
            http_rearm(wsi);
        if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!r || !r->pending)
            return 0;
        {
            static unsigned char buf[LWS_PRE + GW_METRICS_TEXT_MAX];
            size_t n = r->body_len;
            if (n > GW_METRICS_TEXT_MAX)
                return -1;
            memcpy(buf + LWS_PRE, r->body, n);
            free(r->body);
            r->body = NULL;
            r->pending = 0;
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) != (int)n)
                return -1;
            http_rearm(wsi);
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        http_rearm(wsi);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* Two entries, one callback: cb_ws asks which one a connection got. */
static const struct lws_protocols http_protocols[] = {
    {"http", cb_http, sizeof(struct http_req), 0, 0, NULL, 0},
    {GW_SUBPROTOCOL_V2, cb_ws, sizeof(struct conn), GW_WS_RX_CHUNK_BYTES, 0, NULL,
     GW_TX_PACKET_MAX_BYTES},
    {GW_SUBPROTOCOL_V1, cb_ws, sizeof(struct conn), GW_WS_RX_CHUNK_BYTES, 0, NULL,
     GW_TX_PACKET_MAX_BYTES},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int cb_uv(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);

static const struct lws_protocols tcp_protocols[] = {
    {"wintalk-tcp", cb_tcp, sizeof(struct conn), 4096, 0, NULL, GW_TX_PACKET_MAX_BYTES},
    {"wintalk-uv", cb_uv, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- main loop ---- */

/* After a burst of connections or disconnections, once the count has
 * been still for a tick, give the allocator's free memory back to the
 * system: set-up leaves megabytes of freed welcome texts and batches
 * behind that would otherwise stay in the process's RSS. */
static void trim_after_burst(void)
{
    static unsigned last, trimmed;
    unsigned n = gw_hub_connections(app.hub);
    if (n == last && n != trimmed) {
        malloc_trim(0);
        trimmed = n;
    }
    last = n;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    gw_hub_set_wall_clock(app.hub, wall_ms(), now_ms());
    gw_hub_tick(app.hub, now_ms());
    http_sweep(now_ms());
    gw_storage_tick(wall_ms());
    trim_after_burst();
    lws_sul_schedule(app.ctx, 0, sul, on_tick, GW_TICK_US);
}

/* The grace after the signal is over: stop, whoever is still connected
 * (their output could not be flushed in time). */
static void on_stop_deadline(uv_timer_t *h)
{
    (void)h;
    app.quit = 1;
}

/*
 * The end of a turn of the loop, outside every callback the hub is in.
 * What the turn's callbacks handed to the store is committed, and only
 * then sent (gw_store.h); then a stop that was asked for begins, and a
 * stop under way ends once nobody is left.
 */
static void end_turn(void)
{
    const char *smsg;
    if (gw_storage_turn(&smsg))
        gw_log("%s", smsg);
    if (app.stop_requested && !app.stopping) {
        app.stopping = 1;
        gw_log("stopping: signal received, %u connections", gw_hub_connections(app.hub));
        gw_hub_shutdown(app.hub, now_ms());
        /* The grace ends even if nothing else wakes the loop. */
        uv_timer_start(&app.stop_timer, on_stop_deadline, GW_STOP_GRACE_MS, 0);
    }
    if (app.stopping && gw_hub_connections(app.hub) == 0)
        app.quit = 1;
}

/*
 * libuv's loop (Redis' connections, the signals, the stop's timer) inside
 * libwebsockets' own: its epoll descriptor is one more descriptor in
 * libwebsockets' poll (readable when something of libuv's is ready), and
 * its next timer is a libwebsockets timer. Either way libuv runs without
 * waiting (UV_RUN_NOWAIT). libwebsockets' own loop, not libuv's, serves
 * the connections: with libuv under libwebsockets, every change of what a
 * connection waits for (twice per write) took the descriptor out of epoll
 * and put it back, and walked the turn's events (bench/README.md).
 */
static void on_uv_timer(lws_sorted_usec_list_t *sul);

static void uv_turn(void)
{
    if (!app.loop_open)
        return;
    (void)uv_run(&app.loop, UV_RUN_NOWAIT);
    int ms = uv_backend_timeout(&app.loop);
    if (ms >= 0)
        lws_sul_schedule(app.ctx, 0, &app.uv_sul, on_uv_timer,
                         (lws_usec_t)(ms ? ms : 1) * LWS_US_PER_MS);
    else
        lws_sul_cancel(&app.uv_sul);
}

static void on_uv_timer(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    uv_turn();
}

static int cb_uv(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    (void)wsi;
    (void)user;
    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE)
        uv_turn();
    else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE)
        app.uv_wsi = NULL;
    return 0;
}

/* Put libuv's epoll descriptor (a copy: libwebsockets closes what it
 * holds) into libwebsockets' poll. Returns 0 or -1. */
static int uv_attach(void)
{
    int fd = dup(uv_backend_fd(&app.loop));
    if (fd < 0)
        return -1;
    lws_sock_file_fd_type u;
    u.filefd = (lws_filefd_type)(intptr_t)fd;
    app.uv_wsi = lws_adopt_descriptor_vhost(app.vh_tcp, LWS_ADOPT_RAW_FILE_DESC, u, "wintalk-uv",
                                            NULL);
    if (!app.uv_wsi) {
        close(fd);
        return -1;
    }
    return 0;
}

/* SIGTERM, SIGINT: libuv delivers them as an ordinary callback of the
 * loop, so the stop itself begins at the end of this turn, after what the
 * turn handed to the store is committed. A second signal changes nothing. */
static void on_signal(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    app.stop_requested = 1;
}

uv_loop_t *gw_main_loop(void)
{
    return app.loop_open ? &app.loop : NULL;
}

/* Block (how: SIG_BLOCK) or unblock (SIG_UNBLOCK) SIGTERM and SIGINT in
 * the calling thread; a thread made meanwhile inherits the block. */
static void stop_signals_mask(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    (void)pthread_sigmask(how, &set, NULL);
}

/* The program's own handles on the loop, in the order they are made. */
static uv_handle_t *const own_handles[] = {
    (uv_handle_t *)&app.sigterm,
    (uv_handle_t *)&app.sigint,
    (uv_handle_t *)&app.stop_timer,
};
static size_t own_handles_made;

/* Make the loop and start the program's handles on it. Returns 0 or a
 * libuv error code (then loop_close undoes what was done). */
static int loop_open(void)
{
    int rc = uv_loop_init(&app.loop);
    if (rc)
        return rc;
    app.loop_open = 1;
    if ((rc = uv_signal_init(&app.loop, &app.sigterm)))
        return rc;
    own_handles_made++;
    if ((rc = uv_signal_init(&app.loop, &app.sigint)))
        return rc;
    own_handles_made++;
    if ((rc = uv_timer_init(&app.loop, &app.stop_timer)))
        return rc;
    own_handles_made++;
    if ((rc = uv_signal_start(&app.sigterm, on_signal, SIGTERM)) ||
        (rc = uv_signal_start(&app.sigint, on_signal, SIGINT)))
        return rc;
    return 0;
}

static void log_left_open(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        gw_log("event loop: a %s handle was left open; closing it", uv_handle_type_name(h->type));
        uv_close(h, NULL);
    }
}

/*
 * Destroy the libwebsockets context, if there is one, and close libuv's
 * loop: the program's handles, and any a store left open, close in a last
 * run. Returns 0, or the libuv error of uv_loop_close.
 */
static int loop_close(void)
{
    if (app.ctx) {
        lws_sul_cancel(&app.uv_sul);
        lws_context_destroy(app.ctx);
        app.ctx = NULL;
    }
    if (!app.loop_open)
        return 0;
    /* Closing a uv_signal_t gives its signal back to the default action,
     * which would let a second SIGTERM kill the gateway while it stops.
     * Blocked meanwhile (only this thread takes them: the store's thread
     * was made with them blocked), then ignored: a pending one is dropped. */
    stop_signals_mask(SIG_BLOCK);
    for (size_t i = 0; i < own_handles_made; i++)
        uv_close(own_handles[i], NULL);
    own_handles_made = 0;
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    stop_signals_mask(SIG_UNBLOCK);
    (void)uv_run(&app.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&app.loop);
    if (rc == UV_EBUSY) {
        /* Not ours to leave open, but better closed late than leaked. */
        uv_walk(&app.loop, log_left_open, NULL);
        (void)uv_run(&app.loop, UV_RUN_DEFAULT);
        rc = uv_loop_close(&app.loop);
    }
    if (!rc)
        app.loop_open = 0;
    return rc;
}

/*
 * The TLS 1.2 suites both listeners offer: Mozilla's "intermediate" server
 * profile, ECDHE key exchange only (forward secrecy) with an AEAD cipher
 * (AES-GCM or ChaCha20-Poly1305). No CBC suite (LUCKY13 and its kin), no
 * static-RSA key exchange. TLS 1.3 has only AEAD suites: OpenSSL's
 * defaults, named here so that the whole offer reads in one place.
 */
#define GW_TLS12_CIPHERS                                                                     \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                             \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                             \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GW_TLS13_CIPHERS "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

/* TLS on a vhost: our certificate and key, TLS 1.2 and newer only, the
 * suites above. */
static void tls_options(struct lws_context_creation_info *info)
{
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = app.cfg.tls_cert;
    info->ssl_private_key_filepath = app.cfg.tls_key;
    info->ssl_cipher_list = GW_TLS12_CIPHERS;
    info->tls1_3_plus_cipher_list = GW_TLS13_CIPHERS;
    info->ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                            SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION;
}

static const char *getenv_c(const char *name)
{
    return getenv(name);
}

/* The hub's random source (resume tokens): OpenSSL's. */
static int random_bytes(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    return len <= INT_MAX && RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    char err[256];
    if (gw_config_parse(&app.cfg, argc, argv, getenv_c, err, sizeof err)) {
        fprintf(stderr, "wintalk-gateway: %s\n", err);
        return 2;
    }
    if (app.cfg.help) {
        fputs(gw_config_usage(), stdout);
        return 0;
    }
    if (app.cfg.version) {
        puts("wintalk-gateway " GW_VERSION);
        return 0;
    }
    if (!realpath(app.cfg.web_root, app.web_root)) {
        fprintf(stderr, "wintalk-gateway: web root '%s': %s\n", app.cfg.web_root,
                strerror(errno));
        return 2;
    }

    lws_set_log_level(app.cfg.verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
    /* SIGTERM and SIGINT come through the loop (on_signal); a write to a
     * peer that has gone must fail with EPIPE, not kill the gateway. */
    signal(SIGPIPE, SIG_IGN);
    int urc = loop_open();
    if (urc) {
        fprintf(stderr, "wintalk-gateway: cannot make the event loop: %s\n", uv_strerror(urc));
        (void)loop_close();
        return 1;
    }

    struct gw_hub_config hc = {
        .headroom = LWS_PRE,
        .max_participants = app.cfg.max_participants,
        .rate = app.cfg.rate,
        .typing_rate = app.cfg.typing_rate,
        .read_rate = app.cfg.read_rate,
        .room_rate = app.cfg.room_rate,
        .abuse_strikes = app.cfg.abuse_strikes,
        .line_max = app.cfg.max_line_bytes,
        .draft_units = app.cfg.max_draft_units,
        .nick_max = app.cfg.max_nick_chars,
        .key = app.cfg.key,
        .max_rooms = app.cfg.max_rooms,
        .max_rooms_per_browser = app.cfg.max_rooms_per_browser,
        .output_max_bytes = (size_t)app.cfg.max_output_mb << 20,
        .random = random_bytes,
        .wake = on_wake,
        .ctx = &app,
    };
    /* History first: its epoch is the ids' epoch. The store may start a
     * thread: made with SIGTERM and SIGINT blocked, it never takes them,
     * so they always reach the loop's thread (loop_close relies on it). */
    char serr[GW_STORAGE_ERR_MAX];
    stop_signals_mask(SIG_BLOCK);
    int src = gw_storage_open(&app.cfg, serr, sizeof serr);
    stop_signals_mask(SIG_UNBLOCK);
    if (src) {
        fprintf(stderr, "wintalk-gateway: %s\n", serr);
        (void)loop_close();
        return src;
    }
    hc.store = gw_storage_store();
    hc.epoch = gw_storage_epoch();
    /* Without kept history the epoch is this run's: random, so that a
     * browser resuming with an id from an earlier run is told its history
     * was reset. */
    if (!hc.epoch && RAND_bytes((unsigned char *)&hc.epoch, sizeof hc.epoch) != 1) {
        fprintf(stderr, "wintalk-gateway: no random source for the event epoch\n");
        gw_storage_close();
        (void)loop_close();
        return 1;
    }
    app.epoch = hc.epoch;
    /* Rooms shared with other gateways: participant ids of a node of this
     * gateway's own, at random (two gateways drawing the same node out of
     * a million is the price of needing nobody to hand them out). */
    if (gw_storage_shared()) {
        uint32_t node = 0;
        if (RAND_bytes((unsigned char *)&node, sizeof node) != 1) {
            fprintf(stderr, "wintalk-gateway: no random source for the gateway's node\n");
            gw_storage_close();
            (void)loop_close();
            return 1;
        }
        hc.pid_base = (uint64_t)(node % GW_NODE_MAX + 1) << GW_NODE_SHIFT;
    }
    int rc = gw_hub_new(&app.hub, &hc);
    if (rc) {
        fprintf(stderr, "wintalk-gateway: %s\n", gw_strerror(rc));
        gw_storage_close();
        (void)loop_close();
        return 1;
    }
    gw_storage_attach(app.hub, log_line, now_ms, hc.pid_base >> GW_NODE_SHIFT);
    app.metrics = gw_hub_metrics(app.hub);
    hsts_init();
    app.started_ms = now_ms();
    gw_hub_set_wall_clock(app.hub, wall_ms(), app.started_ms);

    /* WebSocket keepalive: lws pings after ping_interval idle seconds and
     * hangs up after idle_timeout without a valid frame or pong. */
    static lws_retry_bo_t keepalive;
    keepalive.secs_since_valid_ping = (uint16_t)app.cfg.ping_interval;
    keepalive.secs_since_valid_hangup = (uint16_t)app.cfg.idle_timeout;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (app.cfg.tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    /* Request headers past this are refused (431 or a close). */
    info.max_http_header_data = GW_HTTP_HEADER_MAX_BYTES;
    app.ctx = lws_create_context(&info);
    if (!app.ctx) {
        fprintf(stderr, "wintalk-gateway: cannot create the event loop\n");
        gw_storage_close();
        gw_hub_free(app.hub);
        (void)loop_close();
        return 1;
    }

    memset(&info, 0, sizeof info);
    info.vhost_name = "http";
    info.iface = app.cfg.bind;
    info.port = app.cfg.http_port ? app.cfg.http_port : CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = http_protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    /* Idle keep-alive connections are closed; a request (headers and all)
     * must arrive within http_timeout of the connection: no slowloris. */
    info.keepalive_timeout = GW_HTTP_KEEPALIVE_S;
    info.timeout_secs = app.cfg.http_timeout;
    info.retry_and_idle_policy = &keepalive;
    info.server_string = "wintalk-gateway";
    if (app.cfg.tls_cert) {
        tls_options(&info);
        /* HTTP/1.1 only: with h2 offered, a browser may carry wss:// over
         * HTTP/2 streams (RFC 8441 extended CONNECT), which the upgrade,
         * Origin and per-address checks of this file never see. */
        info.alpn = "http/1.1";
    }
    if (!app.cfg.http_port)
        info.port = 0;
    app.vh_http = lws_create_vhost(app.ctx, &info);

    memset(&info, 0, sizeof info);
    info.vhost_name = "wintalk-tcp";
    info.iface = app.cfg.bind;
    info.port = app.cfg.tcp_port;
    info.protocols = tcp_protocols;
    info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = "wintalk-tcp";
    info.timeout_secs = app.cfg.http_timeout;
    app.vh_tcp = app.vh_http ? lws_create_vhost(app.ctx, &info) : NULL;

    if (app.cfg.tls_cert && app.vh_tcp) {
        info.vhost_name = "wintalk-tls";
        info.port = app.cfg.tls_tcp_port;
        tls_options(&info);
        app.vh_tls = lws_create_vhost(app.ctx, &info);
    }

    if (!app.vh_http || !app.vh_tcp || (app.cfg.tls_cert && !app.vh_tls)) {
        fprintf(stderr, "wintalk-gateway: cannot listen on %s (http %d, tcp %d%s): in use, not "
                        "allowed, or a bad certificate or key?\n",
                app.cfg.bind, app.cfg.http_port, app.cfg.tcp_port,
                app.cfg.tls_cert ? ", tls" : "");
        app.destroying = 1;
        (void)loop_close();
        gw_storage_close();
        gw_hub_free(app.hub);
        return 1;
    }
    int http_port = lws_get_vhost_listen_port(app.vh_http);
    int tcp_port = lws_get_vhost_listen_port(app.vh_tcp);
    char tls_part[64] = "";
    if (app.vh_tls)
        snprintf(tls_part, sizeof tls_part, " tls=%s:%d", app.cfg.bind,
                 lws_get_vhost_listen_port(app.vh_tls));
    gw_log("listening tcp=%s:%d http=%s:%d%s web_root=%s loop=" GW_LOOP_NAME, app.cfg.bind,
           tcp_port, app.cfg.bind, http_port, tls_part, app.web_root);
    if (gw_storage_path())
        gw_log("history: sqlite %s epoch=%016llx", gw_storage_path(),
               (unsigned long long)app.epoch);
    else if (gw_storage_shared())
        gw_log("history: redis %s, rooms shared with every gateway on it; node %llu",
               gw_storage_redis_where(), (unsigned long long)(hc.pid_base >> GW_NODE_SHIFT));
    else
        gw_log("history: memory only (the latest events of each room; lost on restart)");
    gw_log("browsers: %s://%s:%d/  WINTALK clients: %s port %d%s", app.vh_tls ? "https" : "http",
           app.cfg.bind, http_port, app.cfg.bind, tcp_port,
           app.vh_tls ? " (TLS: port in tls=)" : "");

    lws_sul_schedule(app.ctx, 0, &app.tick, on_tick, GW_TICK_US);
    int exit_code = 0;
    if (uv_attach()) {
        fprintf(stderr, "wintalk-gateway: event loop: libuv's descriptor cannot be polled\n");
        exit_code = 1;
        app.quit = 1;
    }
    uv_turn();
    /* A turn: libwebsockets' poll and what is ready, then libuv's, then
     * the turn's end (the store's commit). Until the stop is over. */
    while (!app.quit) {
        if (lws_service(app.ctx, 0) < 0)
            break;
        uv_turn();
        end_turn();
    }
    lws_sul_cancel(&app.tick);
    const char *smsg;
    (void)gw_storage_turn(&smsg);
    app.destroying = 1;
    /* A store on the loop (redis) closes its connections before the loop
     * closes; one on disk is closed after, keeping the leaves of those
     * still connected too. */
    int on_loop = gw_storage_shared();
    if (on_loop)
        gw_storage_close();
    gw_storage_leave_loop();
    urc = loop_close();
    if (urc)
        gw_log("event loop: cannot close: %s", uv_strerror(urc));
    if (!on_loop)
        gw_storage_close();
    gw_hub_free(app.hub);
    gw_log("stopped");
    return exit_code;
}
