/*
 * gw_config.c - flags and WINTALK_* variables. No I/O.
 */
#include "gw_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_limits.h"

const char *gw_config_usage(void)
{
    static char text[2048];
    snprintf(text, sizeof text, "usage: wintalk-gateway [OPTION]...\n"
           "A chat hub: WINTALK programs over TCP and browsers over WebSocket in one room.\n"
           "\n"
           "  --bind ADDR             address to listen on          WINTALK_BIND (127.0.0.1)\n"
           "  --tcp-port N            WINTALK TCP port (0: any)     WINTALK_TCP_PORT (5150)\n"
           "  --http-port N           HTTP + WebSocket port (0: any) WINTALK_HTTP_PORT (8080)\n"
           "  --web-root DIR          static files of the page      WINTALK_WEB_ROOT (web)\n"
           "  --key KEY               access key browsers must give WINTALK_KEY (none)\n"
           "  --rate N                messages/s per participant, 0 = no limit\n"
           "                                                        WINTALK_RATE (%u)\n"
           "  --max-participants N    connections in the room       WINTALK_MAX_PARTICIPANTS (%u)\n"
           "  --any-origin            accept WebSockets from any page, not only this gateway's\n"
           "                                                        WINTALK_ANY_ORIGIN (0)\n"
           "  --verbose               libwebsockets' notices too    WINTALK_VERBOSE (0)\n"
           "  --help                  this text\n"
           "  --version               the version\n"
           "\n"
           "Browsers: http://ADDR:HTTP_PORT/ (WebSocket subprotocol wintalk.v1 on the same port).\n"
           "WINTALK clients: ADDR port TCP_PORT. Health: http://ADDR:HTTP_PORT/healthz\n"
           "SIGTERM or SIGINT stops the gateway (browsers get bye 421), exit status 0.\n",
             GW_RATE_DEFAULT, GW_PARTICIPANTS_DEFAULT);
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
enum kind { K_STR, K_PORT, K_UINT, K_BOOL };
struct opt {
    const char *flag;
    const char *var;
    enum kind kind;
    size_t off;
    unsigned long max;
};
#define OFF(f) offsetof(struct gw_config, f)
static const struct opt opts[] = {
    {"--bind", "WINTALK_BIND", K_STR, OFF(bind), 0},
    {"--tcp-port", "WINTALK_TCP_PORT", K_PORT, OFF(tcp_port), 65535},
    {"--http-port", "WINTALK_HTTP_PORT", K_PORT, OFF(http_port), 65535},
    {"--web-root", "WINTALK_WEB_ROOT", K_STR, OFF(web_root), 0},
    {"--key", "WINTALK_KEY", K_STR, OFF(key), 0},
    {"--rate", "WINTALK_RATE", K_UINT, OFF(rate), 100000},
    {"--max-participants", "WINTALK_MAX_PARTICIPANTS", K_UINT, OFF(max_participants),
     GW_PARTICIPANTS_CEILING},
    {"--any-origin", "WINTALK_ANY_ORIGIN", K_BOOL, OFF(any_origin), 0},
    {"--verbose", "WINTALK_VERBOSE", K_BOOL, OFF(verbose), 0},
};

static int set(struct gw_config *cfg, const struct opt *o, const char *val, const char *from,
               char *err, size_t err_len)
{
    char *base = (char *)cfg + o->off;
    unsigned long v;
    switch (o->kind) {
    case K_STR:
        if (o->off == OFF(key) && strlen(val) > GW_KEY_MAX_BYTES) {
            snprintf(err, err_len, "%s: the key is longer than %u bytes", from, GW_KEY_MAX_BYTES);
            return -1;
        }
        memcpy(base, &val, sizeof val);
        return 0;
    case K_PORT:
    case K_UINT:
        if (parse_uint(val, o->max, &v)) {
            snprintf(err, err_len, "%s: '%s' is not a number from 0 to %lu", from, val, o->max);
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
    cfg->rate = GW_RATE_DEFAULT;
    cfg->max_participants = GW_PARTICIPANTS_DEFAULT;
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = env ? env(opts[i].var) : NULL;
        if (v && set(cfg, &opts[i], v, opts[i].var, err, err_len))
            return -1;
    }
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
        if (set(cfg, o, val, o->flag, err, err_len))
            return -1;
    }
    if (cfg->key && !*cfg->key)
        cfg->key = NULL;
    return 0;
}
