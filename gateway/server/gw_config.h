/*
 * gw_config.h - the gateway's settings, from flags and WINTALK_* variables.
 *
 * No I/O: the environment comes in as a lookup function, errors come out as
 * text. A flag wins over its variable, which wins over the default.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>

#include "gw_limits.h"

/* Strict-Transport-Security on HTTPS answers: max-age in seconds (one
 * year; --hsts-max-age, 0 sends no header). */
#define GW_HSTS_MAX_AGE_DEFAULT_S 31536000u
#define GW_HSTS_MAX_AGE_CEILING_S 63072000u

struct gw_config {
    const char *bind;        /* address the listeners bind to */
    int tcp_port;            /* WINTALK; 0 picks a free port */
    int http_port;           /* HTTP and WebSocket; 0 picks a free port */
    int tls_tcp_port;        /* WINTALK over TLS (only with a certificate) */
    const char *web_root;    /* static files */
    const char *key;         /* access key (browsers and /login), NULL: none */
    const char *tls_cert;    /* PEM certificate (chain); NULL: no TLS */
    const char *tls_key;     /* PEM private key */
    unsigned hsts_max_age;   /* HTTPS: Strict-Transport-Security max-age, 0: none */
    int hsts_subdomains;     /* ... with includeSubDomains */
    unsigned rate;           /* messages per second per participant, 0: off */
    unsigned typing_rate;    /* browser typing updates per second, 0: off */
    unsigned read_rate;      /* history and search requests per second, 0: off */
    unsigned room_rate;      /* new rooms a minute per participant, 0: off */
    unsigned reload_grace;   /* s a closed browser stays in its rooms, 0: none */
    const char *registration; /* "open" or "closed" */
    int plain_passwords;     /* passwords on plain TCP from other machines */
    unsigned session_days;   /* how long a browser's session lasts */
    unsigned registrations_per_hour; /* per address; 0: any */
    const char *jwt_key;     /* a site's tokens: the key file (gw_jwt.h); NULL: none */
    const char *jwt_issuer;  /* iss a token must have; NULL: not checked */
    const char *jwt_audience; /* aud a token must name; NULL: not checked */
    unsigned jwt_leeway;     /* seconds of clock skew on exp and nbf */
    const char *admins[GW_ADMINS_MAX]; /* gateway administrators' accounts */
    unsigned n_admins;
    unsigned abuse_strikes;  /* refused messages before a flooder is cut, 0: never */
    unsigned max_participants;
    unsigned max_per_address; /* participant connections per IP, 0: off */
    unsigned max_line_bytes;
    unsigned max_draft_units;
    unsigned max_json_bytes;
    unsigned max_nick_chars;
    unsigned max_rooms;      /* rooms at once, #lobby included */
    unsigned max_rooms_per_browser; /* rooms one wintalk.v2 browser may be in */
    unsigned max_output_mb;  /* output held for all clients, MiB; 0: no bound */
    unsigned ping_interval;  /* seconds */
    unsigned idle_timeout;   /* seconds */
    unsigned login_timeout;  /* seconds */
    unsigned http_timeout;   /* seconds */
    const char *allow_origin[GW_ALLOW_ORIGINS_MAX]; /* extra allowed Origins */
    const char *frame_ancestors; /* origins that may frame the page, space-separated; NULL: none */
    unsigned n_allow_origin;
    int any_origin;          /* accept WebSockets from any Origin */
    const char *store;       /* "sqlite" (history on disk), "memory" or "redis" */
    const char *data_dir;    /* the store's directory (sqlite) */
    const char *redis_url;   /* the redis store's server (gw_redis.h's URL) */
    unsigned history_days;   /* retention: events older than this go; 0: keep all */
    unsigned history_max;    /* retention: events per room kept; 0: keep all */
    int verbose;             /* libwebsockets' own notices too */
    int help;                /* --help was given */
    int version;             /* --version was given */
};

/*
 * Fill *cfg from argv and the environment (env(name) returns a borrowed
 * value or NULL). Strings in *cfg are borrowed from argv or env.
 * Returns 0, or -1 with a message in err (err_len bytes).
 */
int gw_config_parse(struct gw_config *cfg, int argc, char **argv,
                    const char *(*env)(const char *name), char *err, size_t err_len);

/* The --help text (a static buffer, filled on each call). */
const char *gw_config_usage(void);

#endif /* GW_CONFIG_H */
