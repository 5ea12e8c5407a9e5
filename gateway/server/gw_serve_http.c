/*
 * gw_serve_http.c - HTTP on the browsers' port (gw_serve.h): the page's
 * files (gw_files.h), /livez, /readyz, /healthz and /metrics, the upgrade
 * to a WebSocket (same origin, not while stopping), a slot of the
 * per-address table per connection, and a deadline for every request.
 */
#include "gw_serve.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw_app.h"
#include "gw_clock.h"
#include "gw_files.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_loop.h"
#include "gw_metrics.h"
#include "gw_peer.h"
#include "gw_storage.h"

/* Body of /healthz, /livez, /readyz. */
#define GW_HEALTH_MAX 256

static const char *const security_headers[][2] = {
    {"x-content-type-options:", "nosniff"},
    {"referrer-policy:", "no-referrer"},
    {"cache-control:", "no-cache"},
};

/* The content security policy, and whether any site may frame the page:
 * none (X-Frame-Options DENY too), or the origins of --frame-ancestors (a
 * site that embeds the chat). Made once at start. */
#define CSP_BASE                                                                                  \
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "     \
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors "
static char csp_value[sizeof CSP_BASE + GW_FRAME_ANCESTORS_MAX_BYTES + 8];

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

/*
 * Strict-Transport-Security, on HTTPS answers only: a browser must not
 * take it from plain HTTP (RFC 6797 8.1), and a gateway without a
 * certificate has no HTTPS to insist on. Made once at start; "" for none
 * (--hsts-max-age 0, or no TLS).
 */
static char hsts_value[64];

void gw_http_init(void)
{
    const char *fa = gw_app.cfg.frame_ancestors;
    snprintf(csp_value, sizeof csp_value, "%s%s", CSP_BASE, fa && *fa ? fa : "'none'");
    hsts_value[0] = '\0';
    if (gw_app.cfg.tls_cert && gw_app.cfg.hsts_max_age)
        snprintf(hsts_value, sizeof hsts_value, "max-age=%u%s", gw_app.cfg.hsts_max_age,
                 gw_app.cfg.hsts_subdomains ? "; includeSubDomains" : "");
}

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-security-policy:",
                                    (const unsigned char *)csp_value, (int)strlen(csp_value), p,
                                    end))
        return -1;
    const char *fa = gw_app.cfg.frame_ancestors;
    if (!(fa && *fa) &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-frame-options:",
                                    (const unsigned char *)"DENY", 4, p, end))
        return -1;
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

/* An answer is complete: the next request must arrive in time too. */
static void http_rearm(struct lws *wsi)
{
    struct http_watch *w = watch_find(wsi);
    if (w)
        w->deadline = gw_now_ms() + (int64_t)gw_app.cfg.http_timeout * 1000;
}

/* The tick: cut connections whose request is late. */
void gw_http_sweep(int64_t now)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++) {
        struct http_watch *w = &http_watch[i];
        if (!w->wsi || !w->deadline || now < w->deadline)
            continue;
        char peer[GW_PEER_NAME_MAX];
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(lws_get_socket_fd(w->wsi), (struct sockaddr *)&ss, &sl) != 0) {
            w->wsi = NULL; /* the listener, or already gone */
            continue;
        }
        gw_peer_name(w->wsi, peer, sizeof peer);
        gw_app.metrics->rejections[GW_REJ_HTTP_TIMEOUT]++;
        gw_log("timeout http peer=%s reason=\"no complete request within %u s\"", peer,
               gw_app.cfg.http_timeout);
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
static int serve_body(struct lws *wsi, struct gw_http_req *r, unsigned status, const char *type,
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
static int http_status(struct lws *wsi, struct gw_http_req *r, unsigned code)
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
    return !gw_app.stopping && gw_app.vh_http && gw_app.vh_tcp &&
           (!gw_app.cfg.tls_cert || gw_app.vh_tls) && gw_storage_healthy(NULL);
}

static int serve_health(struct lws *wsi, struct gw_http_req *r)
{
    char head[GW_HEALTH_MAX];
    unsigned tcp, web;
    gw_hub_counts(gw_app.hub, &tcp, &web);
    int64_t up = (gw_now_ms() - gw_app.started_ms) / 1000;
    snprintf(head, sizeof head,
             "{\"status\":\"%s\",\"version\":\"" GW_VERSION "\",\"uptime_s\":%lld,"
             "\"participants\":{\"tcp\":%u,\"web\":%u},\"last_id\":%llu,"
             "\"loop\":\"" GW_LOOP_NAME "\",",
             gw_app.stopping ? "stopping" : gw_storage_healthy(NULL) ? "ok" : "store failing",
             (long long)up, tcp, web, (unsigned long long)gw_hub_last_id(gw_app.hub));
    struct gw_jw w;
    gw_jw_init(&w, 0, GW_HEALTH_MAX + PATH_MAX);
    gw_jw_lit(&w, head);
    gw_storage_health_json(&w, gw_app.epoch);
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
static int serve_ready(struct lws *wsi, struct gw_http_req *r)
{
    const char *why = "";
    char body[GW_HEALTH_MAX];
    if (ready())
        return serve_body(wsi, r, HTTP_STATUS_OK, "text/plain; charset=utf-8", "ready\n", 6);
    int n = gw_app.stopping || gw_storage_healthy(&why)
                ? snprintf(body, sizeof body, "stopping\n")
                : snprintf(body, sizeof body, "store failing: %s\n", why);
    if (n < 0 || (size_t)n >= sizeof body) {
        n = (int)sizeof body - 1;
        body[n - 1] = '\n';
    }
    return serve_body(wsi, r, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                      body, (size_t)n);
}

static int serve_metrics(struct lws *wsi, struct gw_http_req *r)
{
    static char text[GW_METRICS_TEXT_MAX];
    struct gw_metrics_now now;
    memset(&now, 0, sizeof now);
    gw_hub_counts(gw_app.hub, &now.participants[GW_VIA_TCP], &now.participants[GW_VIA_WEB]);
    now.connections = gw_hub_connections(gw_app.hub);
    now.last_id = gw_hub_last_id(gw_app.hub);
    now.uptime_s = (double)(gw_now_ms() - gw_app.started_ms) / 1000.0;
    now.ready = ready();
    now.output_bytes = gw_hub_output_bytes(gw_app.hub);
    now.output_closing_bytes = gw_hub_output_closing_bytes(gw_app.hub);
    now.output_max_bytes = (uint64_t)gw_app.cfg.max_output_mb << 20;
    gw_storage_metrics(&now.store);
    now.names_known = gw_hub_names_count(gw_app.hub);
    int n = gw_metrics_format(gw_app.metrics, &now, text, sizeof text);
    if (n < 0)
        return http_status(wsi, r, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    return serve_body(wsi, r, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                      (size_t)n);
}

int gw_serve_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct gw_http_req *r = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* A WebSocket without our subprotocol lands here: refuse it. */
        return 1;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        /* Same-origin WebSockets by default: refused with 403. */
        char peer[GW_PEER_NAME_MAX], origin[GW_ORIGIN_LOG_BYTES];
        if (gw_app.stopping) {
            gw_app.metrics->rejections[GW_REJ_STOPPING]++;
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
            return 1;
        }
        if (gw_ws_origin_ok(wsi)) {
            struct http_watch *w = watch_find(wsi);
            if (w)
                w->wsi = NULL; /* a WebSocket now: keepalive takes over */
            return 0;
        }
        gw_peer_name(wsi, peer, sizeof peer);
        gw_ws_origin_for_log(wsi, origin, sizeof origin);
        gw_app.metrics->rejections[GW_REJ_ORIGIN]++;
        gw_log("refused web peer=%s reason=\"origin %s is not this gateway\"", peer, origin);
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
        return 1;
    }
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        /* Each HTTP connection holds a slot of its address while open,
         * and its requests must arrive in time (the request timer). */
        if (r && !r->counted) {
            gw_peer_ip(wsi, r->ip, sizeof r->ip);
            r->counted = gw_addr_add(r->ip) > 0;
        }
        return 0;
    case LWS_CALLBACK_WSI_CREATE: {
        /* Every connection of this vhost (and its listener, which the
         * sweep drops: it has no peer) starts on the request clock. */
        struct http_watch *w = watch_find(NULL);
        if (w) {
            w->wsi = wsi;
            w->deadline = gw_now_ms() + (int64_t)gw_app.cfg.http_timeout * 1000;
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
                gw_addr_del(r->ip);
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
        if (r && r->counted && gw_app.cfg.max_per_address &&
            gw_addr_count(r->ip) > gw_app.cfg.max_per_address * GW_HTTP_PER_ADDRESS_FACTOR) {
            char peer[GW_PEER_NAME_MAX];
            gw_peer_name(wsi, peer, sizeof peer);
            gw_app.metrics->rejections[GW_REJ_PER_ADDRESS]++;
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
        if (gw_files_resolve(gw_app.web_root, uri, path, sizeof path))
            return http_status(wsi, r, HTTP_STATUS_NOT_FOUND);
        unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                           *end = hdr + sizeof hdr;
        if (add_security_headers(wsi, &p, end))
            return -1;
        int n = lws_serve_http_file(wsi, path, gw_files_mime(path), (const char *)start,
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
