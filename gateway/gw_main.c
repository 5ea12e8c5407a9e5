/*
 * gw_main.c - wintalk-gateway: the libwebsockets adapter around the hub.
 *
 * One thread, one libwebsockets event loop, two vhosts:
 *   - "wintalk-tcp": a raw-socket listener for WINTALK programs;
 *   - "http": static files of the web root, /healthz, and WebSockets with
 *     the subprotocol wintalk.v1, on one port.
 * Everything the protocol means lives in the hub (gw_hub.h); this file only
 * moves bytes between sockets and the hub, holds participant ids (never hub
 * pointers), writes only from WRITEABLE callbacks (one lws_write each), and
 * logs who connected and why someone left.
 */
/* realpath() and strcasecmp() are X/Open, not plain POSIX. */
#define _DEFAULT_SOURCE

#include <libwebsockets.h>

#include <errno.h>
#include <strings.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "gw_config.h"
#include "gw_hub.h"
#include "gw_json.h"
#include "gw_limits.h"

#define GW_VERSION "0.1.0"

/* How often the hub's clock ticks (typing throttle), in microseconds. */
#define GW_TICK_US (100 * LWS_US_PER_MS)

/* Seconds a closing connection may take to flush before it is cut. */
#define GW_CLOSE_GRACE_S 2

/* After SIGTERM, how long browsers get to read their bye, in ms. */
#define GW_STOP_GRACE_MS 1200

/* Longest request path we look at. */
#define GW_PATH_MAX 1024

/* Body of /healthz. */
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
    struct lws_vhost *vh_http, *vh_tcp;
    struct gw_hub *hub;
    char web_root[PATH_MAX];
    int64_t started_ms;
    lws_sorted_usec_list_t tick;
    int stopping;
    int64_t stop_deadline;
    int destroying;
};

static struct app app;
static volatile sig_atomic_t stop_signal;

/* Per connection (raw TCP and WebSocket alike). */
struct conn {
    uint64_t pid;
    int in_hub;
    char peer[80];
    /* WebSocket reassembly */
    char *rx;
    size_t rx_len;
    int rx_rejected;
    int peer_close;
};

/* Per HTTP request that answers with a body of its own (/healthz). */
struct http_req {
    char body[GW_HEALTH_MAX];
    size_t body_len;
    int pending;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gw_log(const char *fmt, ...)
{
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s.%03ldZ ", stamp, ts.tv_nsec / 1000000);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

/* Bound the kernel's share of a slow peer (GW_SOCKET_SNDBUF). */
static void bound_socket(struct lws *wsi)
{
    int sz = GW_SOCKET_SNDBUF;
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
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

/* The hub has output for, or is closing, a participant. */
static void on_wake(void *ctx, void *user, uint64_t pid)
{
    (void)ctx;
    struct lws *wsi = user;
    if (app.destroying || !wsi)
        return;
    lws_callback_on_writable(wsi);
    if (gw_hub_closing(app.hub, pid, NULL, NULL) == 1)
        /* A peer that stopped reading never becomes writeable: cut it. */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, GW_CLOSE_GRACE_S);
}

/* One write from the hub's queue for this connection; -1 closes it. */
static int write_out(struct lws *wsi, struct conn *c, enum lws_write_protocol mode)
{
    struct gw_buf *b;
    if (!c->in_hub)
        return 0;
    int rc = gw_hub_take(app.hub, c->pid, &b);
    if (rc == 1) {
        size_t len = b->len;
        int n = lws_write(wsi, gw_buf_bytes(b), len, mode);
        gw_buf_unref(b);
        if (n < 0 || (size_t)n < len)
            return -1;
        /* There may be more; a spurious WRITEABLE costs one empty take. */
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (rc < 0)
        return -1;
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

static void leave(struct conn *c, const char *transport, const char *fallback)
{
    if (!c->in_hub)
        return;
    int code = 0;
    const char *reason = NULL;
    char why[GW_REASON_MAX_BYTES + 48];
    const char *nick = gw_hub_nick(app.hub, c->pid);
    if (gw_hub_closing(app.hub, c->pid, &code, &reason) != 1)
        reason = NULL;
    if (reason)
        snprintf(why, sizeof why, "%s", reason);
    else if (c->peer_close)
        snprintf(why, sizeof why, "%s (%d)", fallback, c->peer_close);
    else
        snprintf(why, sizeof why, "%s", fallback);
    gw_log("disconnect %s peer=%s pid=%llu nick=%s reason=\"%s\"", transport, c->peer,
           (unsigned long long)c->pid, nick ? nick : "-", why);
    /* Browsers see a short reason; the log has the whole story. */
    const char *shown = reason && code == GW_CLOSE_BEHIND ? "behind"
                        : reason && !strcmp(reason, "gateway shutting down") ? "shutdown"
                        : reason ? "error"
                                 : "closed";
    gw_hub_disconnect(app.hub, c->pid, now_ms(), shown);
    c->in_hub = 0;
    free(c->rx);
    c->rx = NULL;
}

/* ---- WINTALK over raw TCP ---- */

static int cb_tcp(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT: {
        int one = 1;
        memset(c, 0, sizeof(*c));
        peer_name(wsi, c->peer, sizeof c->peer);
        /* Each write its own segment, at once: the handshake and priming
         * must arrive together and apart from what follows. */
        setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bound_socket(wsi);
        if (app.stopping) {
            gw_log("refused tcp peer=%s reason=\"shutting down\"", c->peer);
            return -1;
        }
        int rc = gw_hub_connect(app.hub, GW_VIA_TCP, wsi, now_ms(), &c->pid);
        if (rc) {
            gw_log("refused tcp peer=%s reason=\"%s\"", c->peer, gw_strerror(rc));
            return -1;
        }
        c->in_hub = 1;
        gw_log("connect tcp peer=%s pid=%llu nick=%s", c->peer, (unsigned long long)c->pid,
               gw_hub_nick(app.hub, c->pid));
        return 0;
    }
    case LWS_CALLBACK_RAW_RX:
        if (c->in_hub)
            gw_hub_tcp_input(app.hub, c->pid, now_ms(), in, len);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return write_out(wsi, c, LWS_WRITE_RAW);
    case LWS_CALLBACK_RAW_CLOSE:
        leave(c, "tcp", "peer closed");
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

/* Same-origin WebSockets by default: a browser's Origin must name this
 * very host and port. Programs that send no Origin are let in. */
static int origin_ok(struct lws *wsi)
{
    char origin[256], host[256];
    if (app.cfg.any_origin || header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin))
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

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (app.stopping)
            return 1;
        if (!origin_ok(wsi)) {
            char peer[80], origin[256] = "?";
            peer_name(wsi, peer, sizeof peer);
            header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
            gw_log("refused web peer=%s reason=\"origin %s is not this gateway\"", peer, origin);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof(*c));
        peer_name(wsi, c->peer, sizeof c->peer);
        bound_socket(wsi);
        int rc = gw_hub_connect(app.hub, GW_VIA_WEB, wsi, now_ms(), &c->pid);
        if (rc) {
            gw_log("refused web peer=%s reason=\"%s\"", c->peer, gw_strerror(rc));
            return -1;
        }
        c->in_hub = 1;
        gw_log("connect web peer=%s pid=%llu", c->peer, (unsigned long long)c->pid);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
        if (!c->in_hub || c->rx_rejected)
            return 0;
        if (lws_frame_is_binary(wsi)) {
            c->rx_rejected = 1;
            gw_hub_web_reject(app.hub, c->pid, GW_R_UNREADABLE,
                              "binary messages are not understood; send JSON text");
        } else if (c->rx_len + len > GW_WS_IN_MAX_BYTES) {
            c->rx_rejected = 1;
            gw_hub_web_reject(app.hub, c->pid, GW_R_TOO_LARGE,
                              "message too large (at most 65536 bytes)");
            free(c->rx);
            c->rx = NULL;
            c->rx_len = 0;
            return 0;
        } else if (len) {
            char *n = realloc(c->rx, c->rx_len + len);
            if (!n)
                return -1;
            c->rx = n;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (!c->rx_rejected)
                gw_hub_web_input(app.hub, c->pid, now_ms(), c->rx ? c->rx : "", c->rx_len);
            /* A binary message is refused once; the next may be fine. */
            c->rx_rejected = c->rx_rejected && gw_hub_closing(app.hub, c->pid, NULL, NULL) == 1;
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

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        const char *v = security_headers[i][1];
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)security_headers[i][0],
                                        (const unsigned char *)v, (int)strlen(v), p, end))
            return -1;
    }
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

static int http_status(struct lws *wsi, unsigned code)
{
    if (lws_return_http_status(wsi, code, NULL))
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_health(struct lws *wsi, struct http_req *r)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    unsigned tcp, web;
    gw_hub_counts(app.hub, &tcp, &web);
    int64_t up = (now_ms() - app.started_ms) / 1000;
    int n = snprintf(r->body, sizeof r->body,
                     "{\"status\":\"%s\",\"version\":\"" GW_VERSION "\",\"uptime_s\":%lld,"
                     "\"participants\":{\"tcp\":%u,\"web\":%u},\"last_id\":%llu}\n",
                     app.stopping ? "stopping" : "ok", (long long)up, tcp, web,
                     (unsigned long long)gw_hub_last_id(app.hub));
    r->body_len = (size_t)n;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", r->body_len, &p, end) ||
        add_security_headers(wsi, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    r->pending = 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct http_req *r = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* A WebSocket without our subprotocol lands here: refuse it. */
        return 1;
    case LWS_CALLBACK_HTTP: {
        const char *uri = in;
        char path[PATH_MAX];
        if (!lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) &&
            !lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
            return http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
        if (!strcmp(uri, "/healthz"))
            return serve_health(wsi, r);
        if (resolve(uri, path, sizeof path))
            return http_status(wsi, HTTP_STATUS_NOT_FOUND);
        unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                                  *end = hdr + sizeof hdr;
        if (add_security_headers(wsi, &p, end))
            return -1;
        int n = lws_serve_http_file(wsi, path, mime_for(path), (const char *)start,
                                    (int)(p - start));
        if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!r || !r->pending)
            return 0;
        {
            unsigned char buf[LWS_PRE + GW_HEALTH_MAX];
            memcpy(buf + LWS_PRE, r->body, r->body_len);
            r->pending = 0;
            if (lws_write(wsi, buf + LWS_PRE, r->body_len, LWS_WRITE_HTTP_FINAL) !=
                (int)r->body_len)
                return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols http_protocols[] = {
    {"http", cb_http, sizeof(struct http_req), 0, 0, NULL, 0},
    {"wintalk.v1", cb_ws, sizeof(struct conn), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocols tcp_protocols[] = {
    {"wintalk-tcp", cb_tcp, sizeof(struct conn), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- main loop ---- */

static void on_tick(lws_sorted_usec_list_t *sul)
{
    gw_hub_tick(app.hub, now_ms());
    lws_sul_schedule(app.ctx, 0, sul, on_tick, GW_TICK_US);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_signal = 1;
    if (app.ctx)
        lws_cancel_service(app.ctx);
}

static const char *getenv_c(const char *name)
{
    return getenv(name);
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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct gw_hub_config hc = {
        .headroom = LWS_PRE,
        .max_participants = app.cfg.max_participants,
        .rate = app.cfg.rate,
        .key = app.cfg.key,
        .wake = on_wake,
        .ctx = &app,
    };
    int rc = gw_hub_new(&app.hub, &hc);
    if (rc) {
        fprintf(stderr, "wintalk-gateway: %s\n", gw_strerror(rc));
        return 1;
    }
    app.started_ms = now_ms();

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    app.ctx = lws_create_context(&info);
    if (!app.ctx) {
        fprintf(stderr, "wintalk-gateway: cannot create the event loop\n");
        return 1;
    }

    memset(&info, 0, sizeof info);
    info.vhost_name = "http";
    info.iface = app.cfg.bind;
    info.port = app.cfg.http_port ? app.cfg.http_port : CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = http_protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.keepalive_timeout = 5;
    info.timeout_secs = 20;
    info.server_string = "wintalk-gateway";
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
    app.vh_tcp = app.vh_http ? lws_create_vhost(app.ctx, &info) : NULL;

    if (!app.vh_http || !app.vh_tcp) {
        fprintf(stderr, "wintalk-gateway: cannot listen on %s (http %d, tcp %d): in use or not allowed?\n",
                app.cfg.bind, app.cfg.http_port, app.cfg.tcp_port);
        lws_context_destroy(app.ctx);
        gw_hub_free(app.hub);
        return 1;
    }
    int http_port = lws_get_vhost_listen_port(app.vh_http);
    int tcp_port = lws_get_vhost_listen_port(app.vh_tcp);
    gw_log("listening tcp=%s:%d http=%s:%d web_root=%s", app.cfg.bind, tcp_port, app.cfg.bind,
           http_port, app.web_root);
    gw_log("browsers: http://%s:%d/  WINTALK clients: %s port %d", app.cfg.bind, http_port,
           app.cfg.bind, tcp_port);

    lws_sul_schedule(app.ctx, 0, &app.tick, on_tick, GW_TICK_US);

    for (;;) {
        if (lws_service(app.ctx, 0) < 0)
            break;
        if (stop_signal && !app.stopping) {
            app.stopping = 1;
            app.stop_deadline = now_ms() + GW_STOP_GRACE_MS;
            gw_log("stopping: signal received, %u connections", gw_hub_connections(app.hub));
            gw_hub_shutdown(app.hub, now_ms());
        }
        if (app.stopping && (gw_hub_connections(app.hub) == 0 || now_ms() >= app.stop_deadline))
            break;
    }
    lws_sul_cancel(&app.tick);
    app.destroying = 1;
    lws_context_destroy(app.ctx);
    gw_hub_free(app.hub);
    gw_log("stopped");
    return 0;
}
