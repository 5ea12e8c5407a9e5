/*
 * gw_config.c - flags and WINTALK_* variables. No I/O.
 */
#include "gw_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_limits.h"
#include "gw_text.h"

const char *gw_config_usage(void)
{
    static char text[12288];
    snprintf(text, sizeof text, "usage: wintalk-gateway [OPTION]...\n"
           "A chat hub: WINTALK programs over TCP and browsers over WebSocket, in rooms.\n"
           "Each option can also be set by its WINTALK_* variable; a flag wins. (default)\n"
           "\n"
           "  --bind ADDR             address to listen on          WINTALK_BIND (127.0.0.1)\n"
           "  --tcp-port N            WINTALK TCP port (0: any)     WINTALK_TCP_PORT (5150)\n"
           "  --http-port N           HTTP + WebSocket port (0: any) WINTALK_HTTP_PORT (8080)\n"
           "  --web-root DIR          static files of the page      WINTALK_WEB_ROOT (web)\n"
           "  --access-key KEY        key browsers give in hello and TCP users with /login KEY\n"
           "                          (alias --key, WINTALK_KEY)    WINTALK_ACCESS_KEY (none)\n"
           "TLS (OpenSSL, TLS 1.2 and newer):\n"
           "  --tls-cert FILE         PEM certificate: HTTPS and WSS on the HTTP port\n"
           "                                                        WINTALK_TLS_CERT (none)\n"
           "  --tls-key FILE          PEM private key               WINTALK_TLS_KEY (none)\n"
           "  --tls-tcp-port N        WINTALK over TLS, with a certificate only\n"
           "                                                        WINTALK_TLS_TCP_PORT (5151)\n"
           "  --hsts-max-age S        HTTPS answers carry Strict-Transport-Security with this\n"
           "                          max-age, 0 = no header        WINTALK_HSTS_MAX_AGE (%u)\n"
           "  --hsts-include-subdomains  ... and includeSubDomains  WINTALK_HSTS_INCLUDE_SUBDOMAINS (0)\n"
           "Origins:\n"
           "  --frame-ancestors 'ORIGIN ...'  sites that may show the page in a frame (the\n"
           "                          chat embedded in a site)      WINTALK_FRAME_ANCESTORS (none)\n"
           "  --allow-origin ORIGIN   also accept WebSockets from this page origin\n"
           "                          (repeatable; the variable is comma-separated)\n"
           "                                                        WINTALK_ALLOW_ORIGIN (none)\n"
           "  --any-origin            accept WebSockets from any page, not only this gateway's\n"
           "                                                        WINTALK_ANY_ORIGIN (0)\n"
           "Limits:\n"
           "  --max-participants N    connections at once           WINTALK_MAX_PARTICIPANTS (%u)\n"
           "  --max-per-address N     connections from one address, 0 = no limit\n"
           "                                                        WINTALK_MAX_PER_ADDRESS (%u)\n"
           "  --rate N                messages/s per participant, 0 = no limit\n"
           "                                                        WINTALK_RATE (%u)\n"
           "  --typing-rate N         browser typing updates/s, 0 = no limit\n"
           "                                                        WINTALK_TYPING_RATE (%u)\n"
           "  --read-rate N           history and search requests/s per browser (burst twice\n"
           "                          that), 0 = no limit           WINTALK_READ_RATE (%u)\n"
           "  --room-rate N           new rooms a minute per participant, 0 = no limit\n"
           "                                                        WINTALK_ROOM_RATE (%u)\n"
           "  --abuse-strikes N       refused messages before a flooder is disconnected, 0 = never\n"
           "                                                        WINTALK_ABUSE_STRIKES (%u)\n"
           "  --max-line-bytes N      one chat message, %u..%u    WINTALK_MAX_LINE_BYTES (%u)\n"
           "  --max-draft-units N     a TCP draft/frame in UTF-16 units\n"
           "                                                        WINTALK_MAX_DRAFT_UNITS (%u)\n"
           "  --max-json-bytes N      one WebSocket message         WINTALK_MAX_JSON_BYTES (%u)\n"
           "  --max-nick-chars N      a nick, 1..%u                 WINTALK_MAX_NICK_CHARS (%u)\n"
           "  --max-rooms N           rooms at once, #lobby included; past it the empty room\n"
           "                          least recently active goes    WINTALK_MAX_ROOMS (%u)\n"
           "  --max-rooms-per-browser N  rooms one wintalk.v2 browser may be in, 1..%u\n"
           "                                                        WINTALK_MAX_ROOMS_PER_BROWSER (%u)\n"
           "  --max-output-mb N       output held for all clients together, in MiB; past it the\n"
           "                          connections holding most are closed, 0 = no bound\n"
           "                                                        WINTALK_MAX_OUTPUT_MB (%u)\n"
           "  --ping-interval S       WebSocket ping after S idle seconds\n"
           "                                                        WINTALK_PING_INTERVAL (%u)\n"
           "  --idle-timeout S        drop a WebSocket silent for S seconds\n"
           "                                                        WINTALK_IDLE_TIMEOUT (%u)\n"
           "  --login-timeout S       close connections not joined (hello, /login) after S s\n"
           "                                                        WINTALK_LOGIN_TIMEOUT (%u)\n"
           "  --reload-grace S        a browser that closes stays in its rooms S seconds: back\n"
           "                          in time, nobody saw it leave; 0 = leave at once\n"
           "                                                        WINTALK_RELOAD_GRACE (%u)\n"
           "  --http-timeout S        an HTTP request must arrive within S seconds\n"
           "                                                        WINTALK_HTTP_TIMEOUT (%u)\n"
           "History:\n"
           "  --store KIND            sqlite: history on disk in the data directory; memory:\n"
           "                          the latest events of each room, lost on restart; redis:\n"
           "                          rooms shared by every gateway on the same Redis\n"
           "                                                        WINTALK_STORE (sqlite)\n"
           "  --redis URL             the redis store's server: redis://host[:port][/db]\n"
           "                                                        WINTALK_REDIS\n"
           "                                                        (redis://127.0.0.1:6379/0)\n"
           "  --data-dir DIR          where the sqlite store keeps wintalk.db (made if missing)\n"
           "                                                        WINTALK_DATA_DIR (./data)\n"
           "  --history-days N        delete events older than N days, 0 = keep all\n"
           "                                                        WINTALK_HISTORY_DAYS (0)\n"
           "  --history-max N         keep the latest N events of each room, 0 = keep all\n"
           "                                                        WINTALK_HISTORY_MAX (0)\n"
           "Accounts:\n"
           "  --registration MODE     open: people register their nick (/register); closed:\n"
           "                          accounts come from `wintalk-gateway account add`\n"
           "                                                        WINTALK_REGISTRATION (open)\n"
           "  --allow-plain-passwords passwords from WINTALK programs on plain TCP from other\n"
           "                          machines (they travel in clear; TLS and this machine\n"
           "                          always may)                   WINTALK_ALLOW_PLAIN_PASSWORDS (0)\n"
           "  --session-days N        a browser's login lasts N days without the password\n"
           "                                                        WINTALK_SESSION_DAYS (30)\n"
           "  --registrations-per-hour N  accounts one address may register an hour, 0 = any\n"
           "                                                        WINTALK_REGISTRATIONS_PER_HOUR (10)\n"
           "  --jwt-key FILE          a site's own login: browsers' hellos may carry a token\n"
           "                          (JWT) signed with this key: an HMAC secret (HS256) or a\n"
           "                          PEM public key, RSA (RS256) or EC P-256 (ES256)\n"
           "                                                        WINTALK_JWT_KEY (none)\n"
           "  --jwt-issuer ISS        tokens must have this iss     WINTALK_JWT_ISSUER (any)\n"
           "  --jwt-audience AUD      tokens must name this aud     WINTALK_JWT_AUDIENCE (any)\n"
           "  --jwt-leeway S          seconds of clock skew allowed on exp and nbf, 0..%u\n"
           "                                                        WINTALK_JWT_LEEWAY (%u)\n"
           "  --admin ACCOUNT         a gateway administrator (repeatable; the variable is\n"
           "                          comma-separated)              WINTALK_ADMIN (none)\n"
           "Other:\n"
           "  --verbose               libwebsockets' notices too    WINTALK_VERBOSE (0)\n"
           "  --help                  this text\n"
           "  --version               the version\n"
           "\n"
           "Browsers: http://ADDR:HTTP_PORT/ (WebSocket subprotocols wintalk.v2 and wintalk.v1\n"
           "on the same port). Everyone starts in #lobby; /join #room and /part move between rooms.\n"
           "WINTALK clients: ADDR port TCP_PORT. Health: /livez, /readyz, /healthz;\n"
           "metrics: /metrics (Prometheus text).\n"
           "SIGTERM or SIGINT stops the gateway (browsers get bye 421), exit status 0.\n",
             GW_HSTS_MAX_AGE_DEFAULT_S,
             GW_PARTICIPANTS_DEFAULT, GW_PER_ADDRESS_DEFAULT, GW_RATE_DEFAULT,
             GW_TYPING_RATE_DEFAULT, GW_READ_RATE_DEFAULT, GW_ROOM_RATE_DEFAULT, GW_ABUSE_STRIKES_DEFAULT, GW_TEXT_MIN_BYTES,
             GW_TEXT_MAX_BYTES, GW_TEXT_MAX_BYTES, GW_DRAFT_UNITS_DEFAULT, GW_WS_IN_MAX_BYTES,
             GW_NICK_MAX_CHARS, GW_NICK_MAX_CHARS, GW_ROOMS_MAX_DEFAULT,
             GW_ROOMS_PER_BROWSER_CEILING, GW_ROOMS_PER_BROWSER_DEFAULT,
             GW_OUTPUT_MAX_MB_DEFAULT, GW_PING_INTERVAL_DEFAULT_S,
             GW_IDLE_TIMEOUT_DEFAULT_S, GW_LOGIN_TIMEOUT_DEFAULT_S, GW_RELOAD_GRACE_DEFAULT_S,
             GW_HTTP_TIMEOUT_DEFAULT_S, GW_JWT_LEEWAY_MAX_S, GW_JWT_LEEWAY_S);
    return text;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int truthy(const char *s)
{
    return s && *s && strcmp(s, "0") != 0 && strcmp(s, "false") != 0 && strcmp(s, "no") != 0;
}

/* The options, checked once here: flag, variable, kind. */
enum kind { K_STR, K_PORT, K_UINT, K_BOOL, K_LIST, K_ADMINS };
struct opt {
    const char *flag;
    const char *var;
    enum kind kind;
    size_t off;
    unsigned long min, max;
};
#define OFF(f) offsetof(struct gw_config, f)
/* Where two entries set the same field (an old name kept as an alias),
 * the later entry's variable wins over the earlier's. */
static const struct opt opts[] = {
    {"--bind", "WINTALK_BIND", K_STR, OFF(bind), 0, 0},
    {"--tcp-port", "WINTALK_TCP_PORT", K_PORT, OFF(tcp_port), 0, 65535},
    {"--http-port", "WINTALK_HTTP_PORT", K_PORT, OFF(http_port), 0, 65535},
    {"--tls-tcp-port", "WINTALK_TLS_TCP_PORT", K_PORT, OFF(tls_tcp_port), 0, 65535},
    {"--web-root", "WINTALK_WEB_ROOT", K_STR, OFF(web_root), 0, 0},
    {"--key", "WINTALK_KEY", K_STR, OFF(key), 0, 0},
    {"--access-key", "WINTALK_ACCESS_KEY", K_STR, OFF(key), 0, 0},
    {"--tls-cert", "WINTALK_TLS_CERT", K_STR, OFF(tls_cert), 0, 0},
    {"--tls-key", "WINTALK_TLS_KEY", K_STR, OFF(tls_key), 0, 0},
    {"--hsts-max-age", "WINTALK_HSTS_MAX_AGE", K_UINT, OFF(hsts_max_age), 0,
     GW_HSTS_MAX_AGE_CEILING_S},
    {"--hsts-include-subdomains", "WINTALK_HSTS_INCLUDE_SUBDOMAINS", K_BOOL,
     OFF(hsts_subdomains), 0, 0},
    {"--rate", "WINTALK_RATE", K_UINT, OFF(rate), 0, 100000},
    {"--typing-rate", "WINTALK_TYPING_RATE", K_UINT, OFF(typing_rate), 0, 100000},
    {"--read-rate", "WINTALK_READ_RATE", K_UINT, OFF(read_rate), 0, 100000},
    {"--room-rate", "WINTALK_ROOM_RATE", K_UINT, OFF(room_rate), 0, 100000},
    {"--reload-grace", "WINTALK_RELOAD_GRACE", K_UINT, OFF(reload_grace), 0,
     GW_RELOAD_GRACE_MAX_S},
    {"--abuse-strikes", "WINTALK_ABUSE_STRIKES", K_UINT, OFF(abuse_strikes), 0, 1000000},
    {"--max-participants", "WINTALK_MAX_PARTICIPANTS", K_UINT, OFF(max_participants), 1,
     GW_PARTICIPANTS_CEILING},
    {"--max-per-address", "WINTALK_MAX_PER_ADDRESS", K_UINT, OFF(max_per_address), 0,
     GW_PARTICIPANTS_CEILING},
    {"--max-line-bytes", "WINTALK_MAX_LINE_BYTES", K_UINT, OFF(max_line_bytes),
     GW_TEXT_MIN_BYTES, GW_TEXT_MAX_BYTES},
    {"--max-draft-units", "WINTALK_MAX_DRAFT_UNITS", K_UINT, OFF(max_draft_units),
     GW_DRAFT_UNITS_MIN, GW_DRAFT_UNITS_CEILING},
    {"--max-json-bytes", "WINTALK_MAX_JSON_BYTES", K_UINT, OFF(max_json_bytes),
     GW_WS_IN_MIN_BYTES, GW_WS_IN_CEILING},
    {"--max-nick-chars", "WINTALK_MAX_NICK_CHARS", K_UINT, OFF(max_nick_chars), 1,
     GW_NICK_MAX_CHARS},
    {"--max-rooms", "WINTALK_MAX_ROOMS", K_UINT, OFF(max_rooms), 1, GW_ROOMS_CEILING},
    {"--max-rooms-per-browser", "WINTALK_MAX_ROOMS_PER_BROWSER", K_UINT,
     OFF(max_rooms_per_browser), 1, GW_ROOMS_PER_BROWSER_CEILING},
    {"--max-output-mb", "WINTALK_MAX_OUTPUT_MB", K_UINT, OFF(max_output_mb), 0,
     GW_OUTPUT_MAX_MB_CEILING},
    {"--ping-interval", "WINTALK_PING_INTERVAL", K_UINT, OFF(ping_interval), 1, 3600},
    {"--idle-timeout", "WINTALK_IDLE_TIMEOUT", K_UINT, OFF(idle_timeout), 2, 7200},
    {"--login-timeout", "WINTALK_LOGIN_TIMEOUT", K_UINT, OFF(login_timeout), 1, 3600},
    {"--http-timeout", "WINTALK_HTTP_TIMEOUT", K_UINT, OFF(http_timeout), 1, 600},
    {"--allow-origin", "WINTALK_ALLOW_ORIGIN", K_LIST, OFF(allow_origin), 0, 0},
    {"--frame-ancestors", "WINTALK_FRAME_ANCESTORS", K_STR, OFF(frame_ancestors), 0, 0},
    {"--any-origin", "WINTALK_ANY_ORIGIN", K_BOOL, OFF(any_origin), 0, 0},
    {"--store", "WINTALK_STORE", K_STR, OFF(store), 0, 0},
    {"--registration", "WINTALK_REGISTRATION", K_STR, OFF(registration), 0, 0},
    {"--allow-plain-passwords", "WINTALK_ALLOW_PLAIN_PASSWORDS", K_BOOL,
     OFF(plain_passwords), 0, 0},
    {"--session-days", "WINTALK_SESSION_DAYS", K_UINT, OFF(session_days), 1, 3650},
    {"--registrations-per-hour", "WINTALK_REGISTRATIONS_PER_HOUR", K_UINT,
     OFF(registrations_per_hour), 0, 100000},
    {"--jwt-key", "WINTALK_JWT_KEY", K_STR, OFF(jwt_key), 0, 0},
    {"--jwt-issuer", "WINTALK_JWT_ISSUER", K_STR, OFF(jwt_issuer), 0, 0},
    {"--jwt-audience", "WINTALK_JWT_AUDIENCE", K_STR, OFF(jwt_audience), 0, 0},
    {"--jwt-leeway", "WINTALK_JWT_LEEWAY", K_UINT, OFF(jwt_leeway), 0, GW_JWT_LEEWAY_MAX_S},
    {"--admin", "WINTALK_ADMIN", K_ADMINS, OFF(admins), 0, 0},
    {"--data-dir", "WINTALK_DATA_DIR", K_STR, OFF(data_dir), 0, 0},
    {"--redis", "WINTALK_REDIS", K_STR, OFF(redis_url), 0, 0},
    {"--history-days", "WINTALK_HISTORY_DAYS", K_UINT, OFF(history_days), 0, 36500},
    {"--history-max", "WINTALK_HISTORY_MAX", K_UINT, OFF(history_max), 0, 1000000000},
    {"--verbose", "WINTALK_VERBOSE", K_BOOL, OFF(verbose), 0, 0},
};

/* --frame-ancestors: origins (http or https, a host, an optional port)
 * separated by spaces, each written into the page's CSP as it is, so
 * nothing else may be in them (no quote, no ';', no path). */
static int frame_ancestors_check(const char *v, char *err, size_t err_len)
{
    size_t n = strlen(v);
    if (n > GW_FRAME_ANCESTORS_MAX_BYTES)
        goto bad;
    for (const char *p = v; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t scheme = !strncmp(p, "https://", 8) ? 8 : !strncmp(p, "http://", 7) ? 7 : 0;
        if (!scheme)
            goto bad;
        p += scheme;
        size_t host = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
        if (!host)
            goto bad;
        p += host;
        if (*p == ':') {
            size_t port = strspn(p + 1, "0123456789");
            if (!port || port > 5)
                goto bad;
            p += 1 + port;
        }
        if (*p && *p != ' ')
            goto bad;
    }
    return 0;
bad:
    snprintf(err, err_len,
             "--frame-ancestors: '%.64s' is not a list of origins (https://host[:port], "
             "separated by spaces, at most %u bytes)",
             v, GW_FRAME_ANCESTORS_MAX_BYTES);
    return -1;
}

/* Add one origin (len bytes of val) to the allowed list; the strings stay
 * borrowed, so a comma-separated variable is split into a static pool. */
static int add_origin(struct gw_config *cfg, const char *val, size_t len, const char *from,
                      char *err, size_t err_len)
{
    static char pool[GW_ALLOW_ORIGINS_MAX][GW_ORIGIN_MAX_BYTES + 1];
    while (len && (*val == ' ' || *val == ','))
        val++, len--;
    while (len && (val[len - 1] == ' ' || val[len - 1] == '/'))
        len--;
    if (!len)
        return 0;
    if (cfg->n_allow_origin >= GW_ALLOW_ORIGINS_MAX || len >= sizeof pool[0]) {
        snprintf(err, err_len, "%s: at most %u origins of at most 255 bytes", from,
                 GW_ALLOW_ORIGINS_MAX);
        return -1;
    }
    memcpy(pool[cfg->n_allow_origin], val, len);
    pool[cfg->n_allow_origin][len] = '\0';
    cfg->allow_origin[cfg->n_allow_origin] = pool[cfg->n_allow_origin];
    cfg->n_allow_origin++;
    return 0;
}

/* Add one administrator's account (len bytes of val, spaces around it
 * cut) to the list, kept in a static pool like the origins. It must be a
 * nick: an account's name is one. */
static int add_admin(struct gw_config *cfg, const char *val, size_t len, const char *from,
                     char *err, size_t err_len)
{
    static char pool[GW_ADMINS_MAX][GW_NICK_MAX_BYTES + 1];
    while (len && *val == ' ')
        val++, len--;
    while (len && val[len - 1] == ' ')
        len--;
    if (!len)
        return 0;
    if (cfg->n_admins >= GW_ADMINS_MAX) {
        snprintf(err, err_len, "%s: at most %u administrators", from, GW_ADMINS_MAX);
        return -1;
    }
    int rc = gw_nick_check(val, len);
    if (rc != GW_NICK_OK) {
        snprintf(err, err_len, "%s: '%.*s' is not an account's name: %s", from,
                 (int)(len > 64 ? 64 : len), val, gw_nick_strerror(rc));
        return -1;
    }
    memcpy(pool[cfg->n_admins], val, len);
    pool[cfg->n_admins][len] = '\0';
    cfg->admins[cfg->n_admins] = pool[cfg->n_admins];
    cfg->n_admins++;
    return 0;
}

static int set(struct gw_config *cfg, const struct opt *o, const char *val, const char *from,
               char *err, size_t err_len)
{
    char *base = (char *)cfg + o->off;
    unsigned long v;
    switch (o->kind) {
    case K_STR:
        memcpy(base, &val, sizeof val);
        return 0;
    case K_PORT:
    case K_UINT:
        if (parse_uint(val, o->max, &v) || v < o->min) {
            snprintf(err, err_len, "%s: '%s' is not a number from %lu to %lu", from, val, o->min,
                     o->max);
            return -1;
        }
        if (o->kind == K_PORT) {
            int iv = (int)v;
            memcpy(base, &iv, sizeof iv);
        } else {
            unsigned uv = (unsigned)v;
            memcpy(base, &uv, sizeof uv);
        }
        return 0;
    case K_BOOL: {
        int b = truthy(val);
        memcpy(base, &b, sizeof b);
        return 0;
    }
    case K_ADMINS:
        for (const char *c = val;;) {
            const char *comma = strchr(c, ',');
            size_t n = comma ? (size_t)(comma - c) : strlen(c);
            if (add_admin(cfg, c, n, from, err, err_len))
                return -1;
            if (!comma)
                return 0;
            c = comma + 1;
        }
    case K_LIST:
        for (const char *c = val;;) {
            const char *comma = strchr(c, ',');
            size_t n = comma ? (size_t)(comma - c) : strlen(c);
            if (add_origin(cfg, c, n, from, err, err_len))
                return -1;
            if (!comma)
                return 0;
            c = comma + 1;
        }
    }
    return -1;
}

int gw_config_parse(struct gw_config *cfg, int argc, char **argv,
                    const char *(*env)(const char *name), char *err, size_t err_len)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bind = "127.0.0.1";
    cfg->tcp_port = 5150;
    cfg->http_port = 8080;
    cfg->web_root = "web";
    cfg->tls_tcp_port = 5151;
    cfg->hsts_max_age = GW_HSTS_MAX_AGE_DEFAULT_S;
    cfg->rate = GW_RATE_DEFAULT;
    cfg->typing_rate = GW_TYPING_RATE_DEFAULT;
    cfg->read_rate = GW_READ_RATE_DEFAULT;
    cfg->room_rate = GW_ROOM_RATE_DEFAULT;
    cfg->abuse_strikes = GW_ABUSE_STRIKES_DEFAULT;
    cfg->max_participants = GW_PARTICIPANTS_DEFAULT;
    cfg->max_per_address = GW_PER_ADDRESS_DEFAULT;
    cfg->max_line_bytes = GW_TEXT_MAX_BYTES;
    cfg->max_draft_units = GW_DRAFT_UNITS_DEFAULT;
    cfg->max_json_bytes = GW_WS_IN_MAX_BYTES;
    cfg->max_nick_chars = GW_NICK_MAX_CHARS;
    cfg->max_rooms = GW_ROOMS_MAX_DEFAULT;
    cfg->max_rooms_per_browser = GW_ROOMS_PER_BROWSER_DEFAULT;
    cfg->max_output_mb = GW_OUTPUT_MAX_MB_DEFAULT;
    cfg->ping_interval = GW_PING_INTERVAL_DEFAULT_S;
    cfg->idle_timeout = GW_IDLE_TIMEOUT_DEFAULT_S;
    cfg->login_timeout = GW_LOGIN_TIMEOUT_DEFAULT_S;
    cfg->reload_grace = GW_RELOAD_GRACE_DEFAULT_S;
    cfg->http_timeout = GW_HTTP_TIMEOUT_DEFAULT_S;
    cfg->store = "sqlite";
    cfg->registration = "open";
    cfg->session_days = GW_SESSION_DAYS_DEFAULT;
    cfg->registrations_per_hour = GW_REGISTRATIONS_PER_HOUR;
    cfg->jwt_leeway = GW_JWT_LEEWAY_S;
    cfg->data_dir = "data";
    cfg->redis_url = "redis://127.0.0.1:6379/0";
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = env ? env(opts[i].var) : NULL;
        if (v && set(cfg, &opts[i], v, opts[i].var, err, err_len))
            return -1;
    }
    /* A flag replaces the variable's list rather than adding to it. */
    int origins_from_flags = 0, admins_from_flags = 0;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = 1;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            cfg->version = 1;
            continue;
        }
        const struct opt *o = NULL;
        const char *val = NULL;
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
            size_t n = strlen(opts[i].flag);
            if (strncmp(arg, opts[i].flag, n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
                o = &opts[i];
                val = arg[n] == '=' ? arg + n + 1 : NULL;
                break;
            }
        }
        if (!o) {
            snprintf(err, err_len, "unknown option '%s' (see --help)", arg);
            return -1;
        }
        if (o->kind == K_BOOL && !val) {
            val = "1";
        } else if (!val) {
            if (a + 1 >= argc) {
                snprintf(err, err_len, "%s needs a value", o->flag);
                return -1;
            }
            val = argv[++a];
        }
        if (o->kind == K_LIST && !origins_from_flags) {
            origins_from_flags = 1;
            cfg->n_allow_origin = 0;
        }
        if (o->kind == K_ADMINS && !admins_from_flags) {
            admins_from_flags = 1;
            cfg->n_admins = 0;
        }
        if (set(cfg, o, val, o->flag, err, err_len))
            return -1;
    }
    if (cfg->frame_ancestors && frame_ancestors_check(cfg->frame_ancestors, err, err_len))
        return -1;
    if (cfg->key && !*cfg->key)
        cfg->key = NULL;
    if (cfg->key && strlen(cfg->key) > GW_KEY_MAX_BYTES) {
        snprintf(err, err_len, "--access-key: the key is longer than %u bytes", GW_KEY_MAX_BYTES);
        return -1;
    }
    if (cfg->tls_cert && !*cfg->tls_cert)
        cfg->tls_cert = NULL;
    if (cfg->tls_key && !*cfg->tls_key)
        cfg->tls_key = NULL;
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, err_len, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (strcmp(cfg->store, "sqlite") != 0 && strcmp(cfg->store, "memory") != 0 &&
        strcmp(cfg->store, "redis") != 0) {
        snprintf(err, err_len, "--store: '%.64s' is not a store (sqlite, memory or redis)",
                 cfg->store);
        return -1;
    }
    if (strcmp(cfg->registration, "open") != 0 && strcmp(cfg->registration, "closed") != 0) {
        snprintf(err, err_len, "--registration: '%.64s' is not open or closed",
                 cfg->registration);
        return -1;
    }
    if (cfg->jwt_key && !*cfg->jwt_key)
        cfg->jwt_key = NULL;
    if (cfg->jwt_issuer && !*cfg->jwt_issuer)
        cfg->jwt_issuer = NULL;
    if (cfg->jwt_audience && !*cfg->jwt_audience)
        cfg->jwt_audience = NULL;
    if (!cfg->jwt_key && (cfg->jwt_issuer || cfg->jwt_audience)) {
        snprintf(err, err_len, "--jwt-issuer and --jwt-audience need --jwt-key");
        return -1;
    }
    if (!*cfg->data_dir) {
        snprintf(err, err_len, "--data-dir: an empty directory name");
        return -1;
    }
    if (cfg->ping_interval >= cfg->idle_timeout) {
        snprintf(err, err_len, "--ping-interval (%u) must be shorter than --idle-timeout (%u)",
                 cfg->ping_interval, cfg->idle_timeout);
        return -1;
    }
    return 0;
}
