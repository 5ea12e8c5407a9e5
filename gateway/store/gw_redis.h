/*
 * gw_redis.h - the gateway's connection to Redis: the layer under the
 * Redis store engine. It talks to one Redis server from a libuv loop and
 * never blocks that loop: two hiredis async connections (on uv_poll_t
 * handles, like hiredis' libuv adapter), one for commands and one for subscriptions (a subscribed RESP2
 * connection takes no other command), with timeouts, reconnection with
 * backoff, Lua scripts that survive a Redis restart, subscriptions that are
 * restored after every reconnect, and a probe that finds a subscription
 * connection that went silent without closing.
 *
 * An adapter with I/O, like gw_store_sqlite.c: it opens sockets, resolves
 * a host name (uv_getaddrinfo, on libuv's threads) and reads the loop's
 * clock. It never writes to stderr: what an operator should know is given
 * to the log callback, one line at a time, once per outage (not per
 * attempt). It knows nothing of rooms or events: the engine above it says
 * what to send.
 *
 * Everything is called from the loop's thread. Callbacks are called from
 * the loop, never from inside the function that started the work (a
 * command that cannot start returns its failure instead). A callback may
 * call the layer again, except gw_redis_free.
 *
 * Up and down: the layer is up when the command connection is up (AUTH
 * and SELECT answered, every registered script loaded) and the
 * subscription connection is up (AUTH and SELECT answered, every channel
 * subscribed, its own probe channel too). Otherwise it is down, with one
 * line saying why ("redis: connection refused at 127.0.0.1:6379") for
 * /readyz. A connection that fails, times out or closes is made again
 * after a delay (GW_REDIS_BACKOFF_MIN_MS doubling to GW_REDIS_BACKOFF_MAX_MS),
 * forever, until gw_redis_free.
 *
 * The silent subscription (a subscription connection that stays open but
 * delivers nothing, as after a failover: REDIS.md): when the subscription
 * connection has received nothing for probe_idle_ms, the layer publishes
 * a probe to a channel of its own (GW_REDIS_PROBE_PREFIX and 16 random
 * hex digits) on the command connection; when nothing arrives on the
 * subscription connection within probe_wait_ms after that, it drops the
 * subscription connection and makes it again (a log line says so).
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <uv.h>

/* The URL: redis://[[user]:password@]host[:port][/db]. */
#define GW_REDIS_URL_MAX_BYTES 1024u
#define GW_REDIS_HOST_MAX_BYTES 255u     /* a DNS name, or an IPv6 address in [] */
#define GW_REDIS_USER_MAX_BYTES 255u     /* after %XX decoding */
#define GW_REDIS_PASSWORD_MAX_BYTES 512u /* after %XX decoding */
#define GW_REDIS_DB_MAX 65535u
#define GW_REDIS_PORT_DEFAULT 6379u

/* Defaults of struct gw_redis_opts (a 0 there means the default). */
#define GW_REDIS_CONNECT_MS_DEFAULT 2000u   /* resolve + TCP connect */
#define GW_REDIS_COMMAND_MS_DEFAULT 2000u   /* a reply, or a subscription's confirmation */
#define GW_REDIS_MAX_WAITING_DEFAULT 10000u /* commands sent, not yet answered */
#define GW_REDIS_PROBE_IDLE_MS_DEFAULT 5000u
#define GW_REDIS_PROBE_WAIT_MS_DEFAULT 2000u

/* Reconnecting: the first delay, doubled after each failed attempt up to
 * the last; back to the first once the connection is up. */
#define GW_REDIS_BACKOFF_MIN_MS 100u
#define GW_REDIS_BACKOFF_MAX_MS 2000u

/* One command: at most this many arguments and bytes (as sent, in RESP).
 * All commands waiting for replies: at most GW_REDIS_WAITING_MAX_BYTES
 * (with max_waiting, what hiredis' output buffer can hold while Redis is
 * slow). Past either: GW_REDIS_EBUSY at once. */
#define GW_REDIS_ARGS_MAX 1024u
#define GW_REDIS_COMMAND_MAX_BYTES (1024u * 1024u)
#define GW_REDIS_WAITING_MAX_BYTES (64u * 1024u * 1024u)

/* Scripts: at most this many registered, each at most this many bytes. */
#define GW_REDIS_SCRIPTS_MAX 64u
#define GW_REDIS_SCRIPT_MAX_BYTES (64u * 1024u)

/* Channels: a name of 1 to GW_REDIS_CHANNEL_MAX_BYTES bytes (any bytes),
 * at most GW_REDIS_CHANNELS_MAX subscribed at once; restored after a
 * reconnect GW_REDIS_SUBSCRIBE_BATCH to a SUBSCRIBE command. */
#define GW_REDIS_CHANNEL_MAX_BYTES 512u
#define GW_REDIS_CHANNELS_MAX 100000u
#define GW_REDIS_SUBSCRIBE_BATCH 256u

/* The probe channel: this prefix and 16 lowercase hex digits. */
#define GW_REDIS_PROBE_PREFIX "wintalk:probe:"

/* A reason the layer is down, or a log line. */
#define GW_REDIS_WHY_MAX_BYTES 512u

/* Return codes, and the status a reply callback gets. */
enum gw_redis_status {
    GW_REDIS_OK = 0,
    GW_REDIS_EINVAL = -1,    /* a bad URL, option, argument or size */
    GW_REDIS_ENOMEM = -2,
    GW_REDIS_EDOWN = -3,     /* the command connection is not up: nothing was sent */
    GW_REDIS_EBUSY = -4,     /* max_waiting commands (or GW_REDIS_WAITING_MAX_BYTES)
                              * wait already, or GW_REDIS_CHANNELS_MAX, or
                              * GW_REDIS_SCRIPTS_MAX: nothing was sent */
    GW_REDIS_ETIMEDOUT = -5, /* no reply within command_ms: the connection was
                              * dropped (and is being made again) */
    GW_REDIS_ECLOSED = -6,   /* the connection was lost (or gw_redis_free was
                              * called) before the reply came */
    GW_REDIS_EREPLY = -7,    /* Redis answered with an error: the reply says which */
    GW_REDIS_ELOOP = -8,     /* libuv refused a timer */
};

struct gw_redis;        /* opaque */
struct gw_redis_script; /* opaque; owned by the struct gw_redis */

/*
 * A command's answer. status is GW_REDIS_OK with Redis' reply, or
 * GW_REDIS_EREPLY with its error reply (reply->type REDIS_REPLY_ERROR,
 * reply->str the message), or GW_REDIS_ETIMEDOUT / GW_REDIS_ECLOSED with
 * reply NULL. The reply is borrowed for the call.
 */
typedef void gw_redis_reply_fn(void *arg, int status, const redisReply *reply);

struct gw_redis_opts {
    const char *url;        /* redis://[[user]:password@]host[:port][/db] */
    unsigned connect_ms;    /* 0: GW_REDIS_CONNECT_MS_DEFAULT */
    unsigned command_ms;    /* 0: GW_REDIS_COMMAND_MS_DEFAULT */
    unsigned max_waiting;   /* 0: GW_REDIS_MAX_WAITING_DEFAULT */
    unsigned probe_idle_ms; /* 0: GW_REDIS_PROBE_IDLE_MS_DEFAULT */
    unsigned probe_wait_ms; /* 0: GW_REDIS_PROBE_WAIT_MS_DEFAULT */

    /* All optional (NULL), all given arg. */
    void *arg;
    /* One line for the operator (no newline), borrowed for the call:
     * an outage begins (once, with its first reason), it ends, the
     * subscription connection was silent and is made again. */
    void (*log)(void *arg, const char *line);
    /* Up or down changed, or the reason while down changed. why is "" when
     * up; borrowed for the call (gw_redis_state reads it at any time). */
    void (*state)(void *arg, int up, const char *why);
    /* A message published to a channel subscribed here (with
     * gw_redis_subscribe), both borrowed for the call. */
    void (*message)(void *arg, const char *channel, size_t channel_len, const char *payload,
                    size_t payload_len);
    /* The subscription connection was lost and is back with every channel
     * subscribed again: messages published meanwhile did not come here
     * (the engine recovers them from its streams). Not called for the
     * first connection. */
    void (*resubscribed)(void *arg);
    /* A channel subscribed (gw_redis_subscribe) while the subscription
     * connection was up is confirmed: messages published to it from now on
     * come here (those published before did not). The channel is borrowed
     * for the call. Not called for the channels of a connection being made
     * (resubscribed says when they all are). */
    void (*subscribed)(void *arg, const char *channel, size_t channel_len);
};

/* A URL taken apart (gw_redis_url_parse). */
struct gw_redis_url {
    char host[GW_REDIS_HOST_MAX_BYTES + 1]; /* without the [] of an IPv6 address */
    unsigned port;                          /* 1..65535 */
    unsigned db;                            /* 0..GW_REDIS_DB_MAX */
    int auth;                               /* 1: AUTH [user] password on connect */
    char user[GW_REDIS_USER_MAX_BYTES + 1]; /* "" for AUTH password */
    char password[GW_REDIS_PASSWORD_MAX_BYTES + 1];
};

/*
 * Take url apart: "redis://host" is port 6379, db 0; "redis://host:port/db";
 * an IPv6 address in brackets ("redis://[::1]:6380"); "redis://:pw@host"
 * (AUTH pw) or "redis://user:pw@host" (AUTH user pw), with %XX escapes in
 * user and password. Anything else (another scheme such as rediss://,
 * which needs TLS, a query string, a port or db out of range, a user
 * without a password) is GW_REDIS_EINVAL with one line in err (errlen
 * bytes, may be 0) saying what is wrong. Pure.
 */
int gw_redis_url_parse(const char *url, struct gw_redis_url *out, char *err, size_t errlen);

/*
 * Make the layer on loop: parse o->url, and start resolving and connecting
 * both connections (the state is down, "redis: connecting to HOST:PORT",
 * until both are up; the state callback is called on each change from
 * the loop). o is copied (url too); loop is borrowed until the layer is
 * freed. Returns 0 and the layer in *out (free with gw_redis_free), or
 * GW_REDIS_EINVAL (a bad URL or option: one line in err), GW_REDIS_ENOMEM,
 * GW_REDIS_ELOOP, with nothing to free.
 */
int gw_redis_new(uv_loop_t *loop, const struct gw_redis_opts *o, struct gw_redis **out,
                 char *err, size_t errlen);

/* 1 when up, else 0 with *why (if why is not NULL) saying why; *why is ""
 * when up. Borrowed until the next turn of the loop. */
int gw_redis_state(const struct gw_redis *r, const char **why);

/*
 * Send a command (argc arguments, argv[i] of argvlen[i] bytes, any bytes;
 * all borrowed for the call) on the command connection. Returns 0: cb will
 * be called once, later, with the reply or a failure (see
 * gw_redis_reply_fn). Or at once, with cb never called: GW_REDIS_EDOWN
 * when the command connection is not up (the caller refuses what needed
 * Redis; nothing waits for Redis to come back), GW_REDIS_EBUSY past
 * max_waiting or GW_REDIS_WAITING_MAX_BYTES, GW_REDIS_EINVAL (no cb, argc
 * 0 or past GW_REDIS_ARGS_MAX, over GW_REDIS_COMMAND_MAX_BYTES),
 * GW_REDIS_ENOMEM. Replies come in the order the commands were sent.
 * Not for SUBSCRIBE and its kin (gw_redis_subscribe).
 */
int gw_redis_command(struct gw_redis *r, gw_redis_reply_fn *cb, void *arg, int argc,
                     const char **argv, const size_t *argvlen);

/*
 * Register a Lua script (len bytes of source, copied): the layer computes
 * its SHA1 and loads it (SCRIPT LOAD) on the command connection now if up
 * and on every connect before the layer counts as up. *out is the
 * script's handle for gw_redis_eval, owned by the layer (valid until
 * gw_redis_free). Returns 0, or GW_REDIS_EINVAL (empty, over
 * GW_REDIS_SCRIPT_MAX_BYTES), GW_REDIS_EBUSY (GW_REDIS_SCRIPTS_MAX
 * registered), GW_REDIS_ENOMEM.
 */
int gw_redis_script(struct gw_redis *r, const char *source, size_t len,
                    struct gw_redis_script **out);

/* The script's SHA1 in 40 lowercase hex digits. Borrowed until gw_redis_free. */
const char *gw_redis_script_sha(const struct gw_redis_script *s);

/*
 * EVALSHA the script with nkeys keys and argc - nkeys further arguments
 * (argv as gw_redis_command: borrowed for the call). When Redis answers
 * NOSCRIPT (it restarted or its script cache was flushed while this
 * connection stayed up), the layer loads the script again and sends the
 * same EVALSHA once more, behind the commands sent meanwhile; cb gets the
 * second answer. Returns and calls back as gw_redis_command;
 * GW_REDIS_EINVAL also for nkeys outside 0..argc.
 */
int gw_redis_eval(struct gw_redis *r, struct gw_redis_script *s, gw_redis_reply_fn *cb,
                  void *arg, int nkeys, int argc, const char **argv, const size_t *argvlen);

/*
 * Subscribe to a channel (len bytes, copied), counting references: the
 * first reference subscribes (now if the subscription connection is up,
 * else when it comes up), later ones only count. Messages go to
 * o->message while the channel has a reference. Every channel is
 * subscribed again on every new subscription connection. Returns 0, or
 * GW_REDIS_EINVAL (empty, over GW_REDIS_CHANNEL_MAX_BYTES, or the
 * layer's probe channel), GW_REDIS_EBUSY (GW_REDIS_CHANNELS_MAX),
 * GW_REDIS_ENOMEM.
 */
int gw_redis_subscribe(struct gw_redis *r, const char *channel, size_t len);

/* Drop one reference to a channel; the last one unsubscribes. Returns 0,
 * or GW_REDIS_EINVAL when the channel has no reference. */
int gw_redis_unsubscribe(struct gw_redis *r, const char *channel, size_t len);

/* Counters, for /metrics. */
struct gw_redis_stats {
    uint64_t commands;      /* commands sent by the caller (and scripts run) */
    uint64_t replies;       /* of those, answered by Redis (errors too) */
    uint64_t failed;        /* of those, failed: timeout or connection lost */
    uint64_t refused;       /* refused at once: down or a bound */
    uint64_t noscript;      /* EVALSHA answered NOSCRIPT and retried */
    uint64_t messages;      /* messages given to o->message */
    uint64_t connects;      /* connections that came up (both kinds) */
    uint64_t drops;         /* connections lost or dropped (both kinds) */
    uint64_t probes;        /* probes published */
    uint64_t probe_drops;   /* subscription connections dropped for silence */
    uint64_t waiting;       /* commands waiting now */
    uint64_t channels;      /* channels with a reference now */
};

void gw_redis_stats(const struct gw_redis *r, struct gw_redis_stats *st);

/* The probe channel's name (NUL-terminated). Borrowed until gw_redis_free. */
const char *gw_redis_probe_channel(const struct gw_redis *r);

/*
 * Close both connections, fail every command waiting (GW_REDIS_ECLOSED,
 * called from here), stop the timers and cancel a resolve. Not from a
 * callback of this layer. The layer's memory is released once libuv has
 * closed its handles: run the loop (uv_run) after this until it has no
 * more to do. NULL is fine.
 */
void gw_redis_free(struct gw_redis *r);

/* English for a gw_redis_status. Never NULL. */
const char *gw_redis_strerror(int status);

#endif /* GW_REDIS_H */
