/*
 * gw_main.c - wintalk-gateway: main() and the wiring of its parts.
 *
 * One thread, one event loop (gw_loop.h: libwebsockets' poll, with libuv's
 * loop inside it), two or three listeners (vhosts):
 *   - "wintalk-tcp": a raw-socket listener for WINTALK programs
 *     (gw_serve_tcp.c);
 *   - "wintalk-tls": the same over TLS, when given a certificate (gw_tls.c);
 *   - "http": the page's files, /livez, /readyz, /healthz, /metrics
 *     (gw_serve_http.c), and WebSockets with the subprotocols wintalk.v2
 *     and wintalk.v1 (gw_serve_ws.c), on one port (HTTPS and WSS when
 *     given a certificate).
 * Everything the protocol means lives in the hub (gw_hub.h); the store
 * engine the configuration names is opened and wired to it by
 * gw_storage.c. This file reads the configuration, makes the loop, the
 * store, the hub and the listeners in that order, runs the turns of the
 * loop, and undoes it all in reverse when a signal asks it to stop.
 */
/* realpath() is X/Open, not plain POSIX. */
#define _DEFAULT_SOURCE

#include <libwebsockets.h>
#include <openssl/rand.h>
#include <uv.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_account_cli.h"
#include "gw_app.h"
#include "gw_auth.h"
#include "gw_clock.h"
#include "gw_conn.h"
#include "gw_limits.h"
#include "gw_log.h"
#include "gw_loop.h"
#include "gw_serve.h"
#include "gw_storage.h"
#include "gw_tls.h"
#include "gw_tokens.h"

/* How often the hub's clock ticks (typing throttle), in microseconds. */
#define GW_TICK_US (100 * LWS_US_PER_MS)

/* After SIGTERM, how long output may take to flush, in ms. */
#define GW_STOP_GRACE_MS 2000

struct gw_app gw_app;

/* The hub's clock (typing throttle, deadlines) and the upkeep of the
 * program's parts, every GW_TICK_US. */
static lws_sorted_usec_list_t tick;

/* The browsers' port: HTTP, and WebSockets of either subprotocol. */
static const struct lws_protocols http_protocols[] = {
    GW_SERVE_HTTP_PROTOCOL,
    GW_SERVE_WS_PROTOCOL(GW_SUBPROTOCOL_V2),
    GW_SERVE_WS_PROTOCOL(GW_SUBPROTOCOL_V1),
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* The WINTALK ports, and libuv's descriptor (adopted on the TCP one). */
static const struct lws_protocols tcp_protocols[] = {
    GW_SERVE_TCP_PROTOCOL,
    GW_LOOP_PROTOCOL,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* After a burst of connections or disconnections, once the count has
 * been still for a tick, give the allocator's free memory back to the
 * system: set-up leaves megabytes of freed welcome texts and batches
 * behind that would otherwise stay in the process's RSS. */
static void trim_after_burst(void)
{
    static unsigned last, trimmed;
    unsigned n = gw_hub_connections(gw_app.hub);
    if (n == last && n != trimmed) {
        malloc_trim(0);
        trimmed = n;
    }
    last = n;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    gw_hub_set_wall_clock(gw_app.hub, gw_wall_ms(), gw_now_ms());
    gw_hub_tick(gw_app.hub, gw_now_ms());
    gw_http_sweep(gw_now_ms());
    gw_storage_tick(gw_wall_ms());
    trim_after_burst();
    lws_sul_schedule(gw_app.ctx, 0, sul, on_tick, GW_TICK_US);
}

/*
 * The end of a turn of the loop, outside every callback the hub is in.
 * What the turn's callbacks handed to the store is committed, and only
 * then sent (gw_store.h); then a stop that was asked for begins, and a
 * stop under way ends once nobody is left (or its grace is over): then
 * 1, to leave the loop.
 */
static int end_turn(void)
{
    const char *smsg;
    if (gw_storage_turn(&smsg))
        gw_log("%s", smsg);
    if (gw_loop_stop_requested() && !gw_app.stopping) {
        gw_app.stopping = 1;
        gw_log("stopping: signal received, %u connections", gw_hub_connections(gw_app.hub));
        gw_hub_shutdown(gw_app.hub, gw_now_ms());
        /* The grace ends even if nothing else wakes the loop. */
        gw_loop_grace(GW_STOP_GRACE_MS);
    }
    return gw_loop_grace_over() || (gw_app.stopping && gw_hub_connections(gw_app.hub) == 0);
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
    /* The operator's accounts on the store: a command of its own. */
    if (argc > 1 && strcmp(argv[1], "account") == 0)
        return gw_account_cli(argc, argv);
    char err[256];
    if (gw_config_parse(&gw_app.cfg, argc, argv, getenv_c, err, sizeof err)) {
        fprintf(stderr, "wintalk-gateway: %s\n", err);
        return 2;
    }
    if (gw_app.cfg.help) {
        fputs(gw_config_usage(), stdout);
        return 0;
    }
    if (gw_app.cfg.version) {
        puts("wintalk-gateway " GW_VERSION);
        return 0;
    }
    if (!realpath(gw_app.cfg.web_root, gw_app.web_root)) {
        fprintf(stderr, "wintalk-gateway: web root '%s': %s\n", gw_app.cfg.web_root,
                strerror(errno));
        return 2;
    }

    lws_set_log_level(gw_app.cfg.verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
    /* SIGTERM and SIGINT come through the loop (on_signal); a write to a
     * peer that has gone must fail with EPIPE, not kill the gateway. */
    signal(SIGPIPE, SIG_IGN);
    int urc = gw_loop_open();
    if (urc) {
        fprintf(stderr, "wintalk-gateway: cannot make the event loop: %s\n", uv_strerror(urc));
        (void)gw_loop_close(NULL);
        return 1;
    }

    struct gw_hub_config hc = {
        .headroom = LWS_PRE,
        .max_participants = gw_app.cfg.max_participants,
        .rate = gw_app.cfg.rate,
        .typing_rate = gw_app.cfg.typing_rate,
        .read_rate = gw_app.cfg.read_rate,
        .room_rate = gw_app.cfg.room_rate,
        .abuse_strikes = gw_app.cfg.abuse_strikes,
        .line_max = gw_app.cfg.max_line_bytes,
        .draft_units = gw_app.cfg.max_draft_units,
        .nick_max = gw_app.cfg.max_nick_chars,
        .key = gw_app.cfg.key,
        .max_rooms = gw_app.cfg.max_rooms,
        .max_rooms_per_browser = gw_app.cfg.max_rooms_per_browser,
        .output_max_bytes = (size_t)gw_app.cfg.max_output_mb << 20,
        .reload_grace_ms = (int64_t)gw_app.cfg.reload_grace * 1000,
        .random = random_bytes,
        .wake = gw_conn_wake,
        .ctx = &gw_app,
    };
    /* History first: its epoch is the ids' epoch. The store may start a
     * thread: made with SIGTERM and SIGINT blocked, it never takes them,
     * so they always reach the loop's thread (gw_loop_close relies on it). */
    char serr[GW_STORAGE_ERR_MAX];
    gw_loop_block_signals(1);
    int src = gw_storage_open(&gw_app.cfg, gw_loop_uv(), serr, sizeof serr);
    gw_loop_block_signals(0);
    if (src) {
        fprintf(stderr, "wintalk-gateway: %s\n", serr);
        (void)gw_loop_close(NULL);
        return src;
    }
    hc.store = gw_storage_store();
    hc.epoch = gw_storage_epoch();
    hc.accounts = gw_storage_accounts();
    hc.registration_closed = strcmp(gw_app.cfg.registration, "closed") == 0;
    hc.plain_passwords = gw_app.cfg.plain_passwords;
    hc.session_days = gw_app.cfg.session_days;
    hc.registrations_per_hour = gw_app.cfg.registrations_per_hour;
    /* Passwords hashed off the loop; without the pool, no accounts. */
    if (hc.accounts && gw_auth_open(gw_loop_uv(), &hc) != 0)
        hc.accounts = NULL;
    hc.admins = gw_app.cfg.admins;
    hc.nadmins = gw_app.cfg.n_admins;
    /* A site's tokens: a key that cannot be used stops the start. */
    const char *jwt_alg, *jwt_note;
    char jerr[512];
    if (gw_tokens_open(&gw_app.cfg, &hc, &jwt_alg, &jwt_note, jerr, sizeof jerr) != 0) {
        fprintf(stderr, "wintalk-gateway: --jwt-key: %s\n", jerr);
        gw_storage_close();
        gw_auth_close();
        (void)gw_loop_close(NULL);
        return 2;
    }
    /* Without kept history the epoch is this run's: random, so that a
     * browser resuming with an id from an earlier run is told its history
     * was reset. */
    if (!hc.epoch && RAND_bytes((unsigned char *)&hc.epoch, sizeof hc.epoch) != 1) {
        fprintf(stderr, "wintalk-gateway: no random source for the event epoch\n");
        gw_storage_close();
        gw_auth_close();
        (void)gw_loop_close(NULL);
        return 1;
    }
    gw_app.epoch = hc.epoch;
    /* Rooms shared with other gateways: participant ids of a node of this
     * gateway's own, at random (two gateways drawing the same node out of
     * a million is the price of needing nobody to hand them out). */
    if (gw_storage_shared()) {
        uint32_t node = 0;
        if (RAND_bytes((unsigned char *)&node, sizeof node) != 1) {
            fprintf(stderr, "wintalk-gateway: no random source for the gateway's node\n");
            gw_storage_close();
            gw_auth_close();
            (void)gw_loop_close(NULL);
            return 1;
        }
        hc.pid_base = (uint64_t)(node % GW_NODE_MAX + 1) << GW_NODE_SHIFT;
    }
    int rc = gw_hub_new(&gw_app.hub, &hc);
    if (rc) {
        fprintf(stderr, "wintalk-gateway: %s\n", gw_strerror(rc));
        gw_storage_close();
        gw_auth_close();
        (void)gw_loop_close(NULL);
        return 1;
    }
    gw_storage_attach(gw_app.hub, gw_log_line, gw_now_ms, hc.pid_base >> GW_NODE_SHIFT);
    gw_auth_attach(gw_app.hub, gw_now_ms);
    gw_app.metrics = gw_hub_metrics(gw_app.hub);
    gw_http_init();
    gw_app.started_ms = gw_now_ms();
    gw_hub_set_wall_clock(gw_app.hub, gw_wall_ms(), gw_app.started_ms);

    /* WebSocket keepalive: lws pings after ping_interval idle seconds and
     * hangs up after idle_timeout without a valid frame or pong. */
    static lws_retry_bo_t keepalive;
    keepalive.secs_since_valid_ping = (uint16_t)gw_app.cfg.ping_interval;
    keepalive.secs_since_valid_hangup = (uint16_t)gw_app.cfg.idle_timeout;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (gw_app.cfg.tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    /* Request headers past this are refused (431 or a close). */
    info.max_http_header_data = GW_HTTP_HEADER_MAX_BYTES;
    gw_app.ctx = lws_create_context(&info);
    if (!gw_app.ctx) {
        fprintf(stderr, "wintalk-gateway: cannot create the event loop\n");
        gw_storage_close();
        gw_hub_free(gw_app.hub);
        gw_auth_close();
        (void)gw_loop_close(NULL);
        return 1;
    }

    memset(&info, 0, sizeof info);
    info.vhost_name = "http";
    info.iface = gw_app.cfg.bind;
    info.port = gw_app.cfg.http_port ? gw_app.cfg.http_port : CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = http_protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    /* Idle keep-alive connections are closed; a request (headers and all)
     * must arrive within http_timeout of the connection: no slowloris. */
    info.keepalive_timeout = GW_HTTP_KEEPALIVE_S;
    info.timeout_secs = gw_app.cfg.http_timeout;
    info.retry_and_idle_policy = &keepalive;
    info.server_string = "wintalk-gateway";
    if (gw_app.cfg.tls_cert) {
        gw_tls_options(&info, gw_app.cfg.tls_cert, gw_app.cfg.tls_key);
        /* HTTP/1.1 only: with h2 offered, a browser may carry wss:// over
         * HTTP/2 streams (RFC 8441 extended CONNECT), which the upgrade,
         * Origin and per-address checks (gw_serve_http.c, gw_serve_ws.c) never see. */
        info.alpn = "http/1.1";
    }
    if (!gw_app.cfg.http_port)
        info.port = 0;
    gw_app.vh_http = lws_create_vhost(gw_app.ctx, &info);

    memset(&info, 0, sizeof info);
    info.vhost_name = "wintalk-tcp";
    info.iface = gw_app.cfg.bind;
    info.port = gw_app.cfg.tcp_port;
    info.protocols = tcp_protocols;
    info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = "wintalk-tcp";
    info.timeout_secs = gw_app.cfg.http_timeout;
    gw_app.vh_tcp = gw_app.vh_http ? lws_create_vhost(gw_app.ctx, &info) : NULL;

    if (gw_app.cfg.tls_cert && gw_app.vh_tcp) {
        info.vhost_name = "wintalk-tls";
        info.port = gw_app.cfg.tls_tcp_port;
        gw_tls_options(&info, gw_app.cfg.tls_cert, gw_app.cfg.tls_key);
        gw_app.vh_tls = lws_create_vhost(gw_app.ctx, &info);
    }

    if (!gw_app.vh_http || !gw_app.vh_tcp || (gw_app.cfg.tls_cert && !gw_app.vh_tls)) {
        fprintf(stderr, "wintalk-gateway: cannot listen on %s (http %d, tcp %d%s): in use, not "
                        "allowed, or a bad certificate or key?\n",
                gw_app.cfg.bind, gw_app.cfg.http_port, gw_app.cfg.tcp_port,
                gw_app.cfg.tls_cert ? ", tls" : "");
        gw_app.destroying = 1;
        gw_auth_close();
        (void)gw_loop_close(gw_app.ctx);
        gw_app.ctx = NULL;
        gw_storage_close();
        gw_hub_free(gw_app.hub);
        return 1;
    }
    int http_port = lws_get_vhost_listen_port(gw_app.vh_http);
    int tcp_port = lws_get_vhost_listen_port(gw_app.vh_tcp);
    char tls_part[64] = "";
    if (gw_app.vh_tls)
        snprintf(tls_part, sizeof tls_part, " tls=%s:%d", gw_app.cfg.bind,
                 lws_get_vhost_listen_port(gw_app.vh_tls));
    gw_log("listening tcp=%s:%d http=%s:%d%s web_root=%s loop=" GW_LOOP_NAME, gw_app.cfg.bind,
           tcp_port, gw_app.cfg.bind, http_port, tls_part, gw_app.web_root);
    if (gw_storage_path())
        gw_log("history: sqlite %s epoch=%016llx", gw_storage_path(),
               (unsigned long long)gw_app.epoch);
    else if (gw_storage_shared())
        gw_log("history: redis %s, rooms shared with every gateway on it; node %llu",
               gw_storage_redis_where(), (unsigned long long)(hc.pid_base >> GW_NODE_SHIFT));
    else
        gw_log("history: memory only (the latest events of each room; lost on restart)");
    if (jwt_alg)
        gw_log("site tokens: %s signed by the key in %s%s%s%s%s%s", jwt_alg, gw_app.cfg.jwt_key,
               gw_app.cfg.jwt_issuer ? ", iss " : "",
               gw_app.cfg.jwt_issuer ? gw_app.cfg.jwt_issuer : "",
               gw_app.cfg.jwt_audience ? ", aud " : "",
               gw_app.cfg.jwt_audience ? gw_app.cfg.jwt_audience : "",
               hc.accounts ? "" : " (refused: no accounts on this gateway)");
    if (jwt_note)
        gw_log("site tokens: %s", jwt_note);
    if (gw_app.cfg.n_admins)
        gw_log("administrators: %u accounts named by --admin", gw_app.cfg.n_admins);
    gw_log("browsers: %s://%s:%d/  WINTALK clients: %s port %d%s", gw_app.vh_tls ? "https" : "http",
           gw_app.cfg.bind, http_port, gw_app.cfg.bind, tcp_port,
           gw_app.vh_tls ? " (TLS: port in tls=)" : "");

    lws_sul_schedule(gw_app.ctx, 0, &tick, on_tick, GW_TICK_US);
    int exit_code = 0, quit = 0;
    if (gw_loop_attach(gw_app.ctx, gw_app.vh_tcp)) {
        fprintf(stderr, "wintalk-gateway: event loop: libuv's descriptor cannot be polled\n");
        exit_code = 1;
        quit = 1;
    }
    gw_loop_turn();
    /* A turn: libwebsockets' poll and what is ready, then libuv's, then
     * the turn's end (the store's commit). Until the stop is over. */
    while (!quit) {
        if (lws_service(gw_app.ctx, 0) < 0)
            break;
        gw_loop_turn();
        quit = end_turn();
    }
    lws_sul_cancel(&tick);
    const char *smsg;
    (void)gw_storage_turn(&smsg);
    gw_app.destroying = 1;
    /* A store on the loop (redis) closes its connections before the loop
     * closes; one on disk is closed after, keeping the leaves of those
     * still connected too. */
    int on_loop = gw_storage_shared();
    if (on_loop)
        gw_storage_close();
    gw_storage_leave_loop();
    gw_auth_close();
    urc = gw_loop_close(gw_app.ctx);
    gw_app.ctx = NULL;
    if (urc)
        gw_log("event loop: cannot close: %s", uv_strerror(urc));
    if (!on_loop)
        gw_storage_close();
    gw_hub_free(gw_app.hub);
    gw_tokens_close();
    gw_log("stopped");
    return exit_code;
}
