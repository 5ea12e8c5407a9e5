/*
 * gw_config.h - the gateway's settings, from flags and WINTALK_* variables.
 *
 * No I/O: the environment comes in as a lookup function, errors come out as
 * text. A flag wins over its variable, which wins over the default.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>

struct gw_config {
    const char *bind;        /* address both listeners bind to */
    int tcp_port;            /* WINTALK; 0 picks a free port */
    int http_port;           /* HTTP and WebSocket; 0 picks a free port */
    const char *web_root;    /* static files */
    const char *key;         /* access key for browsers, NULL for none */
    unsigned rate;           /* messages per second per participant, 0: off */
    unsigned max_participants;
    int any_origin;          /* accept WebSockets from any Origin */
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
