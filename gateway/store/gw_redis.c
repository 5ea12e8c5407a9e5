/*
 * gw_redis.c - the gateway's connection to Redis (see gw_redis.h): two
 * hiredis async connections on a libuv loop, their handshakes (AUTH,
 * SELECT, SCRIPT LOAD, SUBSCRIBE), timeouts and reconnection, commands and
 * scripts on one, subscriptions on the other, and the silent-subscription
 * probe. An adapter: it does I/O; it logs only through its log callback.
 *
 * Time: one uv timer per layer, armed for the earliest of every deadline
 * (a connect, the oldest reply waited for on each connection, a
 * subscription's confirmation, a reconnect's delay, the probe). Replies on
 * one connection come in the order the commands were sent, so the oldest
 * command waiting is the only one whose deadline matters.
 *
 * hiredis frees a context itself after its disconnect or failed connect
 * callback, and must not be freed from inside one of its own callbacks:
 * a drop decided in a callback (a bad handshake reply) is only noted
 * there and done by the timer, at once, outside hiredis.
 */
#include "gw_redis.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* The phases of one connection. */
enum phase {
    P_IDLE,        /* no socket; the next attempt at retry_at */
    P_RESOLVING,   /* uv_getaddrinfo running */
    P_CONNECTING,  /* TCP connect in progress (handshake commands queued) */
    P_HANDSHAKE,   /* connected; AUTH, SELECT, SCRIPT LOAD replies awaited */
    P_SUBSCRIBING, /* subscription connection: confirmations awaited */
    P_UP,
};

/* What a command record is for. */
enum req_kind {
    K_USER,      /* gw_redis_command: the caller's callback */
    K_EVAL,      /* gw_redis_eval: the caller's, retried once on NOSCRIPT */
    K_HANDSHAKE, /* AUTH, SELECT, SCRIPT LOAD before the connection counts as up */
    K_SCRIPT,    /* SCRIPT LOAD once up (a script registered late, a NOSCRIPT) */
    K_PROBE,     /* PUBLISH of the probe */
};

/* A channel's subscription on the current subscription connection. */
enum chan_state { CH_OFF, CH_SUBSCRIBING, CH_ON, CH_UNSUBSCRIBING };

struct conn;

/* One command sent and not yet answered: hiredis' privdata for it. */
struct req {
    struct req *prev, *next; /* the connection's FIFO, oldest first */
    struct conn *c;
    enum req_kind kind;
    gw_redis_reply_fn *cb;
    void *arg;
    uint64_t sent_at;
    char *cmd; /* the command as sent (K_EVAL keeps it for its retry) */
    size_t len;
    struct gw_redis_script *script;
    int retried;
    int auth; /* the handshake's AUTH */
};

/* A uv_getaddrinfo in flight; c is NULL once abandoned (a timeout, free):
 * its callback then only frees it. */
struct resolve {
    uv_getaddrinfo_t req;
    struct conn *c;
};

struct conn {
    struct gw_redis *r;
    int sub; /* 1: the subscription connection */
    redisAsyncContext *ac;
    enum phase phase;
    struct resolve *resolving;
    uint64_t started_at; /* of the resolve + connect */
    uint64_t retry_at;
    unsigned backoff_ms;
    struct req *head, *tail;
    unsigned handshake_left;
    unsigned confirms;   /* subscription: SUBSCRIBE/UNSUBSCRIBE confirmations awaited */
    uint64_t confirm_at; /* when the last confirmation came (or the first was asked) */
    uint64_t last_rx;    /* subscription: when anything last arrived */
    int drop;            /* a drop decided inside a hiredis callback, for the timer */
    int drop_status;
    int fail_status; /* what waiting commands get while the context is freed */
    int ever_up;
    char why[GW_REDIS_WHY_MAX_BYTES]; /* why it is not up; "" while connecting */
};

struct gw_redis_script {
    char *source;
    size_t len;
    char sha[41];
};

struct chan {
    struct chan *next;
    uint32_t hash;
    unsigned refs;
    enum chan_state st;
    size_t len;
    char name[];
};

struct gw_redis {
    uv_loop_t *loop;
    uv_timer_t timer;
    struct gw_redis_opts o;
    struct gw_redis_url url;
    char where[GW_REDIS_HOST_MAX_BYTES + 16]; /* host:port, [v6]:port */
    struct conn cmd, sub;
    int freeing;

    /* The state as last told. */
    int up;
    char why[GW_REDIS_WHY_MAX_BYTES];
    int outage;          /* an outage was logged and has not ended */
    uint64_t outage_at;
    int was_up;

    struct gw_redis_script *scripts[GW_REDIS_SCRIPTS_MAX];
    unsigned nscripts;

    struct chan **buckets;
    size_t nbuckets; /* a power of two */
    size_t nchans;   /* entries in the table (with a reference or an operation) */
    size_t nrefd;    /* entries with a reference */

    char probe[sizeof GW_REDIS_PROBE_PREFIX + 16];
    size_t probe_len;
    uint64_t probe_sent; /* 0: none awaited */

    unsigned waiting; /* K_USER and K_EVAL records */
    size_t waiting_bytes;
    struct gw_redis_stats st;
};

static void schedule(struct gw_redis *r);
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void on_pubsub(redisAsyncContext *ac, void *reply, void *privdata);
static void conn_start(struct conn *c);
static void on_timer(uv_timer_t *t);

/* ------------------------------------------------------------ small helpers */

static void fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(out, cap, f, ap);
    va_end(ap);
}

static void logf_(struct gw_redis *r, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct gw_redis *r, const char *f, ...)
{
    char line[2 * GW_REDIS_WHY_MAX_BYTES];
    va_list ap;
    if (!r->o.log || r->freeing)
        return;
    va_start(ap, f);
    vsnprintf(line, sizeof line, f, ap);
    va_end(ap);
    r->o.log(r->o.arg, line);
}

static uint64_t now_ms(const struct gw_redis *r)
{
    return uv_now(r->loop);
}

/* hiredis' messages start with a capital ("Connection refused"); in the
 * middle of our line they read better in lower case. Redis' own error
 * codes ("ERR", "LOADING") are left as they are. */
static void lower_first(char *dst, size_t cap, const char *src)
{
    fmt(dst, cap, "%s", src ? src : "unknown error");
    if (isupper((unsigned char)dst[0]) && islower((unsigned char)dst[1]))
        dst[0] = (char)tolower((unsigned char)dst[0]);
}

static int starts(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* ------------------------------------------------------------------ the URL */

static int url_err(char *err, size_t errlen, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int url_err(char *err, size_t errlen, const char *f, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, f);
        vsnprintf(err, errlen, f, ap);
        va_end(ap);
    }
    return GW_REDIS_EINVAL;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Copy s[0..n) into out (cap bytes with the NUL) decoding %XX; -1 for a
 * bad escape, a NUL byte or no room. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

/* Decimal digits s[0..n) as a number no greater than max; -1 otherwise. */
static long parse_num(const char *s, size_t n, unsigned long max)
{
    unsigned long v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v > max ? -1 : (long)v;
}

int gw_redis_url_parse(const char *url, struct gw_redis_url *out, char *err, size_t errlen)
{
    static const char scheme[] = "redis://";
    const char *p, *end, *at, *slash, *hs, *he, *ps = NULL;
    size_t len;

    if (!url || !out)
        return url_err(err, errlen, "redis URL: none given");
    memset(out, 0, sizeof *out);
    len = strlen(url);
    if (len > GW_REDIS_URL_MAX_BYTES)
        return url_err(err, errlen, "redis URL: longer than %u bytes", GW_REDIS_URL_MAX_BYTES);
    if (strncmp(url, "rediss://", 9) == 0)
        return url_err(err, errlen,
                       "redis URL '%s': rediss:// (TLS) is not supported by this build's "
                       "hiredis; use redis://",
                       url);
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return url_err(err, errlen,
                       "redis URL '%s': expected redis://[[user]:password@]host[:port][/db]", url);
    p = url + sizeof scheme - 1;
    end = url + len;
    if (memchr(p, '?', (size_t)(end - p)) || memchr(p, '#', (size_t)(end - p)))
        return url_err(err, errlen, "redis URL '%s': options (?...) are not supported", url);

    slash = memchr(p, '/', (size_t)(end - p));
    if (!slash)
        slash = end;
    /* The password may hold '@' only %-escaped; the last '@' before the
     * path ends the user information. */
    at = NULL;
    for (const char *q = p; q < slash; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon)
            return url_err(err, errlen,
                           "redis URL: a user without a password; use redis://user:password@host "
                           "or redis://:password@host");
        if (pct_decode(p, (size_t)(colon - p), out->user, sizeof out->user) != 0)
            return url_err(err, errlen, "redis URL: a bad or too long user name");
        if (pct_decode(colon + 1, (size_t)(at - colon - 1), out->password,
                       sizeof out->password) != 0)
            return url_err(err, errlen, "redis URL: a bad or too long password");
        if (out->password[0] == '\0')
            return url_err(err, errlen, "redis URL: an empty password");
        out->auth = 1;
        p = at + 1;
    }

    /* host[:port] in p..slash */
    if (p < slash && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(slash - p));
        if (!close)
            return url_err(err, errlen, "redis URL '%s': an IPv6 address without its ']'", url);
        hs = p + 1;
        he = close;
        if (close + 1 < slash) {
            if (close[1] != ':')
                return url_err(err, errlen, "redis URL '%s': junk after the IPv6 address", url);
            ps = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(slash - p));
        hs = p;
        he = colon ? colon : slash;
        if (colon)
            ps = colon + 1;
    }
    if (he == hs)
        return url_err(err, errlen, "redis URL '%s': no host", url);
    if ((size_t)(he - hs) > GW_REDIS_HOST_MAX_BYTES)
        return url_err(err, errlen, "redis URL: a host longer than %u bytes",
                       GW_REDIS_HOST_MAX_BYTES);
    for (const char *q = hs; q < he; q++) {
        int ch = (unsigned char)*q;
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || (ch == ':' && *p == '[')))
            return url_err(err, errlen, "redis URL '%s': a bad character in the host", url);
    }
    memcpy(out->host, hs, (size_t)(he - hs));
    out->host[he - hs] = '\0';

    out->port = GW_REDIS_PORT_DEFAULT;
    if (ps) {
        long v = parse_num(ps, (size_t)(slash - ps), 65535);
        if (v < 1)
            return url_err(err, errlen, "redis URL '%s': the port must be 1 to 65535", url);
        out->port = (unsigned)v;
    }

    out->db = 0;
    if (slash < end && slash + 1 < end) {
        long v = parse_num(slash + 1, (size_t)(end - slash - 1), GW_REDIS_DB_MAX);
        if (v < 0)
            return url_err(err, errlen, "redis URL '%s': the database must be a number 0 to %u",
                           url, GW_REDIS_DB_MAX);
        out->db = (unsigned)v;
    }
    return GW_REDIS_OK;
}

/* --------------------------------------------------------------- the state */

static int conn_up(const struct conn *c)
{
    return c->phase == P_UP && !c->drop;
}

/* Tell the state callback when up/down or the reason changed, and log an
 * outage once: when the first reason appears, and when it ends. */
static void state_update(struct gw_redis *r)
{
    const struct conn *down = !conn_up(&r->cmd) ? &r->cmd : !conn_up(&r->sub) ? &r->sub : NULL;
    char why[GW_REDIS_WHY_MAX_BYTES];
    int up = down == NULL;

    if (r->freeing)
        return;
    if (up)
        why[0] = '\0';
    else if (down->why[0])
        fmt(why, sizeof why, "%s", down->why);
    else
        fmt(why, sizeof why, "redis: connecting to %s", r->where);

    if (!up && down->why[0] && !r->outage) {
        r->outage = 1;
        r->outage_at = now_ms(r);
        logf_(r, "%s; reconnecting every %u to %u ms until it answers", why,
              GW_REDIS_BACKOFF_MIN_MS, GW_REDIS_BACKOFF_MAX_MS);
    }
    if (up && !r->up) {
        if (r->outage)
            logf_(r, "redis: up again at %s db %u after %llu ms", r->where, r->url.db,
                  (unsigned long long)(now_ms(r) - r->outage_at));
        else
            logf_(r, "redis: up at %s db %u", r->where, r->url.db);
        r->outage = 0;
    }
    if (up != r->up || strcmp(why, r->why) != 0) {
        r->up = up;
        fmt(r->why, sizeof r->why, "%s", why);
        if (r->o.state)
            r->o.state(r->o.arg, up, r->why);
    }
}

int gw_redis_state(const struct gw_redis *r, const char **why)
{
    if (why)
        *why = r->why;
    return r->up;
}

/* ------------------------------------------------------------ the channels */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static struct chan *chan_find(struct gw_redis *r, const char *name, size_t len)
{
    uint32_t h = hash_bytes(name, len);
    if (!r->nbuckets)
        return NULL;
    for (struct chan *ch = r->buckets[h & (r->nbuckets - 1)]; ch; ch = ch->next)
        if (ch->hash == h && ch->len == len && memcmp(ch->name, name, len) == 0)
            return ch;
    return NULL;
}

static int chan_grow(struct gw_redis *r)
{
    size_t n = r->nbuckets ? r->nbuckets * 2 : 64;
    struct chan **b = calloc(n, sizeof *b);
    if (!b)
        return GW_REDIS_ENOMEM;
    for (size_t i = 0; i < r->nbuckets; i++) {
        struct chan *ch = r->buckets[i], *next;
        for (; ch; ch = next) {
            next = ch->next;
            ch->next = b[ch->hash & (n - 1)];
            b[ch->hash & (n - 1)] = ch;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = n;
    return GW_REDIS_OK;
}

static void chan_remove(struct gw_redis *r, struct chan *ch)
{
    struct chan **pp = &r->buckets[ch->hash & (r->nbuckets - 1)];
    while (*pp != ch)
        pp = &(*pp)->next;
    *pp = ch->next;
    r->nchans--;
    free(ch);
}

/* ---------------------------------------------------------- sending records */

static void fifo_push(struct conn *c, struct req *q)
{
    q->prev = c->tail;
    q->next = NULL;
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
}

static void fifo_remove(struct conn *c, struct req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        c->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        c->tail = q->prev;
    q->prev = q->next = NULL;
}

static void req_free(struct req *q)
{
    if (q->cmd)
        redisFreeCommand(q->cmd);
    free(q);
}

/* Send a formatted command as record q on c (which has a context). The
 * command buffer is kept for K_EVAL (its retry), freed otherwise. Returns
 * 0, or GW_REDIS_ECLOSED when hiredis refuses (the context is going away):
 * q is then the caller's still. */
static int req_send(struct conn *c, struct req *q)
{
    if (redisAsyncFormattedCommand(c->ac, on_reply, q, q->cmd, q->len) != REDIS_OK)
        return GW_REDIS_ECLOSED;
    q->c = c;
    q->sent_at = now_ms(c->r);
    fifo_push(c, q);
    if (q->kind != K_EVAL) {
        redisFreeCommand(q->cmd);
        q->cmd = NULL;
    }
    return GW_REDIS_OK;
}

/* An internal command (kind, no caller) of argc arguments. */
static int internal_send(struct conn *c, enum req_kind kind, struct gw_redis_script *s, int argc,
                         const char **argv, const size_t *lens)
{
    struct req *q = calloc(1, sizeof *q);
    int n;
    if (!q)
        return GW_REDIS_ENOMEM;
    q->kind = kind;
    q->script = s;
    n = redisFormatCommandArgv(&q->cmd, argc, argv, lens);
    if (n < 0) {
        free(q);
        return GW_REDIS_ENOMEM;
    }
    q->len = (size_t)n;
    if (req_send(c, q) != GW_REDIS_OK) {
        req_free(q);
        return GW_REDIS_ECLOSED;
    }
    if (kind == K_HANDSHAKE)
        c->handshake_left++;
    return GW_REDIS_OK;
}

static int send_script_load(struct conn *c, struct gw_redis_script *s, enum req_kind kind)
{
    const char *argv[3] = {"SCRIPT", "LOAD", s->source};
    size_t lens[3] = {6, 4, s->len};
    return internal_send(c, kind, s, 3, argv, lens);
}

/* ----------------------------------------------------- losing a connection */

/* The connection is no longer usable (ac lost, refused, or dropped by us):
 * note why, forget the context (hiredis or the caller frees it), reset its
 * subscriptions, and set the next attempt. Idempotent per context. */
static void conn_down(struct conn *c, const char *why)
{
    struct gw_redis *r = c->r;
    uint64_t now = now_ms(r);

    if (why && why[0])
        fmt(c->why, sizeof c->why, "%s", why);
    if (c->phase == P_UP || c->phase == P_SUBSCRIBING || c->phase == P_HANDSHAKE)
        r->st.drops++;
    c->ac = NULL;
    c->drop = 0;
    c->phase = P_IDLE;
    c->handshake_left = 0;
    c->confirms = 0;
    c->retry_at = now + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2 > GW_REDIS_BACKOFF_MAX_MS ? GW_REDIS_BACKOFF_MAX_MS
                                                                : c->backoff_ms * 2;
    if (c->sub) {
        /* A new subscription connection subscribes everything again:
         * channels left with no reference go now. */
        r->probe_sent = 0;
        for (size_t i = 0; i < r->nbuckets; i++) {
            struct chan *ch = r->buckets[i], *next;
            for (; ch; ch = next) {
                next = ch->next;
                ch->st = CH_OFF;
                if (ch->refs == 0)
                    chan_remove(r, ch);
            }
        }
    } else {
        r->probe_sent = 0;
    }
    state_update(r);
}

/* A context lost by hiredis (EOF, a read error, a failed connect): only
 * when it is still this connection's. */
static void conn_lost(struct conn *c, const redisAsyncContext *ac, int connected)
{
    char e[GW_REDIS_WHY_MAX_BYTES / 2], why[GW_REDIS_WHY_MAX_BYTES];
    if (c->ac != ac || ac == NULL)
        return;
    lower_first(e, sizeof e, ac->errstr && ac->errstr[0] ? ac->errstr : "connection closed");
    if (connected)
        fmt(why, sizeof why, "redis: connection lost to %s (%s)", c->r->where, e);
    else
        fmt(why, sizeof why, "redis: %s at %s", e, c->r->where);
    conn_down(c, why);
}

/* Drop the connection now (from outside hiredis' callbacks): free its
 * context, which fails every record waiting with status. */
static void conn_drop(struct conn *c, int status, const char *why)
{
    redisAsyncContext *ac = c->ac;
    if (c->resolving) {
        c->resolving->c = NULL;
        uv_cancel((uv_req_t *)&c->resolving->req);
        c->resolving = NULL;
    }
    conn_down(c, why);
    if (ac) {
        c->fail_status = status;
        redisAsyncFree(ac);
        c->fail_status = 0;
    }
}

/* Inside a hiredis callback: note the drop for the timer. */
static void conn_drop_later(struct conn *c, int status, const char *why)
{
    if (c->drop)
        return;
    c->drop = 1;
    c->drop_status = status;
    fmt(c->why, sizeof c->why, "%s", why);
    schedule(c->r); /* the timer drops it, and tells the state */
}

/* Why an error reply means this server cannot serve us now (its reason),
 * or NULL when it is an answer to give the caller. */
static const char *server_trouble(const redisReply *rep, const char *where, char *why, size_t cap)
{
    if (!rep || rep->type != REDIS_REPLY_ERROR)
        return NULL;
    if (starts(rep->str, rep->len, "LOADING"))
        fmt(why, cap, "redis: loading the dataset at %s", where);
    else if (starts(rep->str, rep->len, "READONLY"))
        fmt(why, cap, "redis: a read-only replica at %s", where);
    else if (starts(rep->str, rep->len, "MASTERDOWN"))
        fmt(why, cap, "redis: a replica that lost its master at %s", where);
    else if (starts(rep->str, rep->len, "BUSY "))
        fmt(why, cap, "redis: busy running a script at %s", where);
    else
        return NULL;
    return why;
}

/* ---------------------------------------------------- hiredis on libuv */

/*
 * hiredis' event hooks on a uv_poll_t: the adapter of hiredis'
 * adapters/libuv.h, with one difference. libuv reports an error on the
 * socket (POLLERR: a refused connect, a reset connection) as a negative
 * status with no events, and stops watching it; Debian's hiredis 0.14
 * adapter returns on that status, so hiredis never hears of the error and
 * a refused connect would wait for our connect timeout (and a reset
 * connection for a command's). Here the error is given to hiredis as what
 * it was waiting for: it reads or writes, finds the socket's error, and
 * fails the connection at once. (Later hiredis adapters do the same.)
 */
struct uvev {
    redisAsyncContext *ac; /* NULL once hiredis let go (cleanup) */
    uv_poll_t poll;
    int events;
};

static void uvev_poll(uv_poll_t *h, int status, int events)
{
    struct uvev *e = h->data;
    int ev = status < 0 ? e->events : events;
    if (e->ac && (ev & UV_READABLE))
        redisAsyncHandleRead(e->ac);
    if (e->ac && (ev & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
}

static void uvev_set(struct uvev *e, int events)
{
    e->events = events;
    if (events)
        uv_poll_start(&e->poll, events, uvev_poll);
    else
        uv_poll_stop(&e->poll);
}

static void uvev_add_read(void *d)
{
    struct uvev *e = d;
    uvev_set(e, e->events | UV_READABLE);
}

static void uvev_del_read(void *d)
{
    struct uvev *e = d;
    uvev_set(e, e->events & ~UV_READABLE);
}

static void uvev_add_write(void *d)
{
    struct uvev *e = d;
    uvev_set(e, e->events | UV_WRITABLE);
}

static void uvev_del_write(void *d)
{
    struct uvev *e = d;
    uvev_set(e, e->events & ~UV_WRITABLE);
}

static void uvev_closed(uv_handle_t *h)
{
    free(h->data);
}

static void uvev_cleanup(void *d)
{
    struct uvev *e = d;
    e->ac = NULL;
    uv_close((uv_handle_t *)&e->poll, uvev_closed);
}

static int uvev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct uvev *e;
    if (ac->ev.data)
        return REDIS_ERR;
    e = calloc(1, sizeof *e);
    if (!e)
        return REDIS_ERR;
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        free(e);
        return REDIS_ERR;
    }
    e->ac = ac;
    e->poll.data = e;
    ac->ev.data = e;
    ac->ev.addRead = uvev_add_read;
    ac->ev.delRead = uvev_del_read;
    ac->ev.addWrite = uvev_add_write;
    ac->ev.delWrite = uvev_del_write;
    ac->ev.cleanup = uvev_cleanup;
    return REDIS_OK;
}

/* ------------------------------------------------------------- connecting */

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;
    if (!c || c->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees ac after this returns. */
        conn_lost(c, ac, 0);
    } else if (c->phase == P_CONNECTING) {
        c->phase = P_HANDSHAKE;
    }
    schedule(c->r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct conn *c = ac->data;
    (void)status;
    if (!c)
        return;
    conn_lost(c, ac, 1);
    schedule(c->r);
}

/* Queue the handshake on a new context: AUTH, SELECT and (commands) the
 * scripts; hiredis sends them once connected. */
static int handshake_queue(struct conn *c)
{
    struct gw_redis *r = c->r;
    char db[16];
    int rc;

    if (r->url.auth) {
        const char *argv[3] = {"AUTH", r->url.user, r->url.password};
        size_t lens[3] = {4, strlen(r->url.user), strlen(r->url.password)};
        rc = r->url.user[0] ? internal_send(c, K_HANDSHAKE, NULL, 3, argv, lens)
                            : internal_send(c, K_HANDSHAKE, NULL, 2,
                                            (const char *[]){"AUTH", r->url.password},
                                            (size_t[]){4, lens[2]});
        if (rc != GW_REDIS_OK)
            return rc;
        c->tail->auth = 1;
    }
    fmt(db, sizeof db, "%u", r->url.db);
    rc = internal_send(c, K_HANDSHAKE, NULL, 2, (const char *[]){"SELECT", db},
                       (size_t[]){6, strlen(db)});
    if (rc != GW_REDIS_OK)
        return rc;
    if (!c->sub)
        for (unsigned i = 0; i < r->nscripts; i++)
            if ((rc = send_script_load(c, r->scripts[i], K_HANDSHAKE)) != GW_REDIS_OK)
                return rc;
    return GW_REDIS_OK;
}

static void conn_connect(struct conn *c, const char *ip, int port)
{
    struct gw_redis *r = c->r;
    char e[GW_REDIS_WHY_MAX_BYTES / 2], why[GW_REDIS_WHY_MAX_BYTES];
    redisAsyncContext *ac = redisAsyncConnect(ip, port);

    if (!ac) {
        fmt(why, sizeof why, "redis: out of memory connecting to %s", r->where);
        conn_down(c, why);
        return;
    }
    if (ac->err) {
        lower_first(e, sizeof e, ac->errstr);
        fmt(why, sizeof why, "redis: %s at %s", e, r->where);
        redisAsyncFree(ac);
        conn_down(c, why);
        return;
    }
    ac->data = c;
    /* Keepalive: a peer gone without a word (a host down) is found by the
     * kernel too, not only by our timeouts. */
    redisEnableKeepAlive(&ac->c);
    if (uvev_attach(ac, r->loop) != REDIS_OK) {
        fmt(why, sizeof why, "redis: cannot watch the socket to %s", r->where);
        redisAsyncFree(ac);
        conn_down(c, why);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
    c->phase = P_CONNECTING;
    c->handshake_left = 0;
    if (handshake_queue(c) != GW_REDIS_OK) {
        fmt(why, sizeof why, "redis: out of memory connecting to %s", r->where);
        conn_drop(c, GW_REDIS_ECLOSED, why);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *rs = (struct resolve *)req;
    struct conn *c = rs->c;
    char ip[64], why[GW_REDIS_WHY_MAX_BYTES];

    free(rs);
    if (!c) {
        if (res)
            uv_freeaddrinfo(res);
        return;
    }
    c->resolving = NULL;
    if (status != 0 || !res) {
        fmt(why, sizeof why, "redis: cannot resolve %s: %s", c->r->url.host,
            uv_strerror(status ? status : UV_EAI_NONAME));
        if (res)
            uv_freeaddrinfo(res);
        conn_down(c, why);
        schedule(c->r);
        return;
    }
    ip[0] = '\0';
    if (res->ai_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)(const void *)res->ai_addr, ip, sizeof ip);
    else
        uv_ip4_name((const struct sockaddr_in *)(const void *)res->ai_addr, ip, sizeof ip);
    uv_freeaddrinfo(res);
    conn_connect(c, ip, (int)c->r->url.port);
    schedule(c->r);
}

/* Begin an attempt: resolve the host on libuv's threads (a numeric address
 * too: it costs nothing there), then connect. */
static void conn_start(struct conn *c)
{
    struct gw_redis *r = c->r;
    struct addrinfo hints;
    struct resolve *rs;
    char port[8], why[GW_REDIS_WHY_MAX_BYTES];
    int rc;

    c->started_at = now_ms(r);
    c->phase = P_RESOLVING;
    rs = calloc(1, sizeof *rs);
    if (!rs) {
        fmt(why, sizeof why, "redis: out of memory connecting to %s", r->where);
        conn_down(c, why);
        return;
    }
    rs->c = c;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    fmt(port, sizeof port, "%u", r->url.port);
    rc = uv_getaddrinfo(r->loop, &rs->req, on_resolved, r->url.host, port, &hints);
    if (rc != 0) {
        free(rs);
        fmt(why, sizeof why, "redis: cannot resolve %s: %s", r->url.host, uv_strerror(rc));
        conn_down(c, why);
        return;
    }
    c->resolving = rs;
}

/* -------------------------------------------------------- subscriptions */

/* SUBSCRIBE or UNSUBSCRIBE the given channels (n >= 1) on the
 * subscription connection, expecting n confirmations. */
static int sub_send(struct conn *c, const char *verb, const char **names, const size_t *lens,
                    size_t n)
{
    const char **argv = malloc((n + 1) * sizeof *argv);
    size_t *alen = malloc((n + 1) * sizeof *alen);
    int rc = GW_REDIS_ENOMEM;

    if (argv && alen) {
        argv[0] = verb;
        alen[0] = strlen(verb);
        memcpy(argv + 1, names, n * sizeof *argv);
        memcpy(alen + 1, lens, n * sizeof *alen);
        rc = redisAsyncCommandArgv(c->ac, on_pubsub, c, (int)n + 1, argv, alen) == REDIS_OK
                 ? GW_REDIS_OK
                 : GW_REDIS_ECLOSED;
        if (rc == GW_REDIS_OK) {
            if (c->confirms == 0)
                c->confirm_at = now_ms(c->r);
            c->confirms += (unsigned)n;
        }
    }
    free(argv);
    free(alen);
    return rc;
}

static int chan_send(struct conn *c, struct chan *ch, int subscribe)
{
    const char *name = ch->name;
    size_t len = ch->len;
    int rc = sub_send(c, subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", &name, &len, 1);
    if (rc == GW_REDIS_OK)
        ch->st = subscribe ? CH_SUBSCRIBING : CH_UNSUBSCRIBING;
    return rc;
}

/* The subscription connection's handshake is answered: subscribe the
 * probe channel and every channel with a reference, in batches. */
static void sub_restore(struct conn *c)
{
    struct gw_redis *r = c->r;
    const char *names[GW_REDIS_SUBSCRIBE_BATCH];
    size_t lens[GW_REDIS_SUBSCRIBE_BATCH];
    struct chan *batch[GW_REDIS_SUBSCRIBE_BATCH];
    size_t n = 0;
    char why[GW_REDIS_WHY_MAX_BYTES];

    c->phase = P_SUBSCRIBING;
    names[0] = r->probe;
    lens[0] = r->probe_len;
    if (sub_send(c, "SUBSCRIBE", names, lens, 1) != GW_REDIS_OK)
        goto fail;
    for (size_t i = 0; i < r->nbuckets; i++) {
        struct chan *ch = r->buckets[i];
        for (; ch; ch = ch->next) {
            if (ch->refs == 0 || ch->st != CH_OFF)
                continue;
            batch[n] = ch;
            names[n] = ch->name;
            lens[n] = ch->len;
            if (++n == GW_REDIS_SUBSCRIBE_BATCH) {
                if (sub_send(c, "SUBSCRIBE", names, lens, n) != GW_REDIS_OK)
                    goto fail;
                while (n)
                    batch[--n]->st = CH_SUBSCRIBING;
            }
        }
    }
    if (n) {
        if (sub_send(c, "SUBSCRIBE", names, lens, n) != GW_REDIS_OK)
            goto fail;
        while (n)
            batch[--n]->st = CH_SUBSCRIBING;
    }
    return;
fail:
    fmt(why, sizeof why, "redis: cannot subscribe at %s", r->where);
    conn_drop_later(c, GW_REDIS_ECLOSED, why);
}

static void sub_confirmed(struct conn *c)
{
    struct gw_redis *r = c->r;
    if (c->confirms)
        c->confirms--;
    c->confirm_at = now_ms(r);
    if (c->phase == P_SUBSCRIBING && c->confirms == 0) {
        c->phase = P_UP;
        c->backoff_ms = GW_REDIS_BACKOFF_MIN_MS;
        c->why[0] = '\0';
        r->st.connects++;
        state_update(r);
        if (c->ever_up && r->o.resubscribed)
            r->o.resubscribed(r->o.arg);
        c->ever_up = 1;
    }
}

static void on_pubsub(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct conn *c = privdata;
    struct gw_redis *r = c->r;
    const redisReply *rep = reply;
    const redisReply *kind, *name;
    struct chan *ch;

    if (!rep) {
        conn_lost(c, ac, 1);
        schedule(r);
        return;
    }
    if (c->ac != ac)
        return;
    c->last_rx = now_ms(r);
    r->probe_sent = 0;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_STRING)
        return;
    kind = rep->element[0];
    name = rep->element[1];
    int probe = name->len == r->probe_len && memcmp(name->str, r->probe, r->probe_len) == 0;
    ch = probe ? NULL : chan_find(r, name->str, name->len);

    if (strcmp(kind->str, "message") == 0) {
        const redisReply *payload = rep->element[2];
        if (ch && ch->refs > 0 && payload->type == REDIS_REPLY_STRING && r->o.message) {
            r->st.messages++;
            r->o.message(r->o.arg, name->str, name->len, payload->str, payload->len);
        }
    } else if (strcmp(kind->str, "subscribe") == 0) {
        int live = c->phase == P_UP;
        if (ch) {
            ch->st = CH_ON;
            if (ch->refs == 0 && c->phase != P_IDLE)
                chan_send(c, ch, 0);
        }
        sub_confirmed(c);
        if (live && ch && ch->refs > 0 && r->o.subscribed)
            r->o.subscribed(r->o.arg, name->str, name->len);
    } else if (strcmp(kind->str, "unsubscribe") == 0) {
        if (ch) {
            ch->st = CH_OFF;
            if (ch->refs > 0)
                chan_send(c, ch, 1);
            else
                chan_remove(r, ch);
        }
        sub_confirmed(c);
    }
    schedule(r);
}

/* -------------------------------------------------------------- replies */

static void req_finish(struct gw_redis *r, struct req *q, int status, const redisReply *rep)
{
    if (q->kind == K_USER || q->kind == K_EVAL) {
        r->waiting--;
        r->waiting_bytes -= q->len;
        if (rep)
            r->st.replies++;
        else
            r->st.failed++;
        q->cb(q->arg, status, rep);
    }
    req_free(q);
}

static void handshake_done(struct conn *c)
{
    struct gw_redis *r = c->r;
    if (c->sub) {
        sub_restore(c);
        return;
    }
    c->phase = P_UP;
    c->backoff_ms = GW_REDIS_BACKOFF_MIN_MS;
    c->why[0] = '\0';
    r->st.connects++;
    state_update(r);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct req *q = privdata;
    struct conn *c = q->c;
    struct gw_redis *r = c->r;
    const redisReply *rep = reply;
    char why[GW_REDIS_WHY_MAX_BYTES];
    int status;

    fifo_remove(c, q);
    if (!rep) {
        status = c->fail_status ? c->fail_status : GW_REDIS_ECLOSED;
        conn_lost(c, ac, 1);
        req_finish(r, q, status, NULL);
        if (!r->freeing)
            schedule(r);
        return;
    }
    status = rep->type == REDIS_REPLY_ERROR ? GW_REDIS_EREPLY : GW_REDIS_OK;
    if (server_trouble(rep, r->where, why, sizeof why))
        conn_drop_later(c, GW_REDIS_ECLOSED, why);

    switch (q->kind) {
    case K_HANDSHAKE:
        if (status != GW_REDIS_OK && !c->drop) {
            if (q->auth || starts(rep->str, rep->len, "NOAUTH"))
                fmt(why, sizeof why, "redis: authentication failed at %s: %s", r->where,
                    rep->str);
            else
                fmt(why, sizeof why, "redis: %s at %s", rep->str, r->where);
            conn_drop_later(c, GW_REDIS_ECLOSED, why);
        }
        if (c->handshake_left)
            c->handshake_left--;
        if (c->handshake_left == 0 && !c->drop && c->ac == ac &&
            (c->phase == P_HANDSHAKE || c->phase == P_CONNECTING))
            handshake_done(c);
        req_free(q);
        break;
    case K_SCRIPT:
    case K_PROBE:
        req_free(q);
        break;
    case K_EVAL:
        if (status == GW_REDIS_EREPLY && !q->retried && starts(rep->str, rep->len, "NOSCRIPT") &&
            c->ac == ac && !c->drop) {
            /* The script cache was emptied under a live connection: load
             * it again, and send the same EVALSHA behind the load. */
            q->retried = 1;
            r->st.noscript++;
            if (send_script_load(c, q->script, K_SCRIPT) == GW_REDIS_OK &&
                req_send(c, q) == GW_REDIS_OK)
                break;
        }
        req_finish(r, q, status, rep);
        break;
    case K_USER:
        req_finish(r, q, status, rep);
        break;
    }
    schedule(r);
}

/* ---------------------------------------------------------------- time */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t conn_deadline(const struct gw_redis *r, const struct conn *c)
{
    uint64_t d = UINT64_MAX;
    if (c->drop)
        return 0;
    if (c->phase == P_IDLE)
        d = c->retry_at;
    if (c->phase == P_RESOLVING || c->phase == P_CONNECTING)
        d = c->started_at + r->o.connect_ms;
    if (c->head)
        d = min_u64(d, c->head->sent_at + r->o.command_ms);
    if (c->confirms)
        d = min_u64(d, c->confirm_at + r->o.command_ms);
    return d;
}

static uint64_t probe_deadline(const struct gw_redis *r)
{
    if (!conn_up(&r->cmd) || !conn_up(&r->sub))
        return UINT64_MAX;
    if (r->probe_sent)
        return r->probe_sent + r->o.probe_wait_ms;
    return r->sub.last_rx + r->o.probe_idle_ms;
}

static void schedule(struct gw_redis *r)
{
    uint64_t d, now;
    if (r->freeing)
        return;
    d = min_u64(conn_deadline(r, &r->cmd), conn_deadline(r, &r->sub));
    d = min_u64(d, probe_deadline(r));
    if (d == UINT64_MAX) {
        uv_timer_stop(&r->timer);
        return;
    }
    /* At least 1 ms: libuv runs a timer made due now from inside its own
     * callback again in the same pass, with the same clock, and a deadline
     * left in the past would spin there forever. */
    now = now_ms(r);
    uv_timer_start(&r->timer, on_timer, d > now ? d - now : 1, 0);
}

static void conn_check(struct gw_redis *r, struct conn *c, uint64_t now)
{
    char why[GW_REDIS_WHY_MAX_BYTES];

    if (c->drop) {
        fmt(why, sizeof why, "%s", c->why);
        conn_drop(c, c->drop_status, why);
        return;
    }
    if ((c->phase == P_RESOLVING || c->phase == P_CONNECTING) &&
        now >= c->started_at + r->o.connect_ms) {
        fmt(why, sizeof why, "redis: no connection within %u ms to %s", r->o.connect_ms,
            r->where);
        conn_drop(c, GW_REDIS_ETIMEDOUT, why);
        return;
    }
    if ((c->head && now >= c->head->sent_at + r->o.command_ms) ||
        (c->confirms && now >= c->confirm_at + r->o.command_ms)) {
        fmt(why, sizeof why, "redis: no reply within %u ms from %s", r->o.command_ms, r->where);
        conn_drop(c, GW_REDIS_ETIMEDOUT, why);
        return;
    }
    if (c->phase == P_IDLE && now >= c->retry_at)
        conn_start(c);
}

static void probe_check(struct gw_redis *r, uint64_t now)
{
    char why[GW_REDIS_WHY_MAX_BYTES];

    if (!conn_up(&r->cmd) || !conn_up(&r->sub))
        return;
    if (r->probe_sent && now >= r->probe_sent + r->o.probe_wait_ms) {
        r->st.probe_drops++;
        logf_(r,
              "redis: the subscription connection to %s delivered nothing for %llu ms, not "
              "even a probe within %u ms: making it again",
              r->where, (unsigned long long)(now - r->sub.last_rx), r->o.probe_wait_ms);
        fmt(why, sizeof why, "redis: the subscription connection to %s was silent", r->where);
        r->probe_sent = 0;
        conn_drop(&r->sub, GW_REDIS_ECLOSED, why);
        return;
    }
    if (!r->probe_sent && now >= r->sub.last_rx + r->o.probe_idle_ms) {
        const char *argv[3] = {"PUBLISH", r->probe, "probe"};
        size_t lens[3] = {7, r->probe_len, 5};
        /* Sent or not (the command connection going away), the probe's
         * wait starts: no answer, whatever the cause, drops the
         * subscription connection. */
        if (internal_send(&r->cmd, K_PROBE, NULL, 3, argv, lens) == GW_REDIS_OK)
            r->st.probes++;
        r->probe_sent = now;
    }
}

static void on_timer(uv_timer_t *t)
{
    struct gw_redis *r = t->data;
    uint64_t now = now_ms(r);
    conn_check(r, &r->cmd, now);
    conn_check(r, &r->sub, now);
    probe_check(r, now);
    schedule(r);
}

/* ------------------------------------------------------------- the API */

int gw_redis_new(uv_loop_t *loop, const struct gw_redis_opts *o, struct gw_redis **out,
                 char *err, size_t errlen)
{
    struct gw_redis *r;
    unsigned char rnd[8];
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!loop || !o || !out)
        return url_err(err, errlen, "redis: no loop or options");
    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return GW_REDIS_ENOMEM;
    rc = gw_redis_url_parse(o->url, &r->url, err, errlen);
    if (rc != GW_REDIS_OK) {
        free(r);
        return rc;
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        free(r);
        return url_err(err, errlen, "redis: no random bytes for the probe channel");
    }
    r->loop = loop;
    r->o = *o;
    r->o.url = NULL; /* parsed: r->url */
    r->o.connect_ms = o->connect_ms ? o->connect_ms : GW_REDIS_CONNECT_MS_DEFAULT;
    r->o.command_ms = o->command_ms ? o->command_ms : GW_REDIS_COMMAND_MS_DEFAULT;
    r->o.max_waiting = o->max_waiting ? o->max_waiting : GW_REDIS_MAX_WAITING_DEFAULT;
    r->o.probe_idle_ms = o->probe_idle_ms ? o->probe_idle_ms : GW_REDIS_PROBE_IDLE_MS_DEFAULT;
    r->o.probe_wait_ms = o->probe_wait_ms ? o->probe_wait_ms : GW_REDIS_PROBE_WAIT_MS_DEFAULT;
    if (strchr(r->url.host, ':'))
        fmt(r->where, sizeof r->where, "[%s]:%u", r->url.host, r->url.port);
    else
        fmt(r->where, sizeof r->where, "%s:%u", r->url.host, r->url.port);
    fmt(r->probe, sizeof r->probe, "%s", GW_REDIS_PROBE_PREFIX);
    for (size_t i = 0; i < sizeof rnd; i++)
        fmt(r->probe + strlen(r->probe), 3, "%02x", rnd[i]);
    r->probe_len = strlen(r->probe);
    fmt(r->why, sizeof r->why, "redis: connecting to %s", r->where);

    if (uv_timer_init(loop, &r->timer) != 0) {
        free(r);
        return GW_REDIS_ELOOP;
    }
    r->timer.data = r;
    r->cmd.r = r;
    r->sub.r = r;
    r->sub.sub = 1;
    r->cmd.backoff_ms = r->sub.backoff_ms = GW_REDIS_BACKOFF_MIN_MS;
    conn_start(&r->cmd);
    conn_start(&r->sub);
    schedule(r);
    *out = r;
    return GW_REDIS_OK;
}

/* Check and format a caller's command into a new record. */
static int user_req(struct gw_redis *r, gw_redis_reply_fn *cb, void *arg, int argc,
                    const char **argv, const size_t *argvlen, struct req **out)
{
    struct req *q;
    int n;

    if (!r || !cb || argc < 1 || (unsigned)argc > GW_REDIS_ARGS_MAX || !argv || !argvlen)
        return GW_REDIS_EINVAL;
    if (r->freeing || !conn_up(&r->cmd)) {
        r->st.refused++;
        return GW_REDIS_EDOWN;
    }
    if (r->waiting >= r->o.max_waiting) {
        r->st.refused++;
        return GW_REDIS_EBUSY;
    }
    q = calloc(1, sizeof *q);
    if (!q)
        return GW_REDIS_ENOMEM;
    n = redisFormatCommandArgv(&q->cmd, argc, argv, argvlen);
    if (n < 0) {
        free(q);
        return GW_REDIS_ENOMEM;
    }
    q->len = (size_t)n;
    if (q->len > GW_REDIS_COMMAND_MAX_BYTES) {
        req_free(q);
        return GW_REDIS_EINVAL;
    }
    if (r->waiting_bytes + q->len > GW_REDIS_WAITING_MAX_BYTES) {
        req_free(q);
        r->st.refused++;
        return GW_REDIS_EBUSY;
    }
    q->cb = cb;
    q->arg = arg;
    *out = q;
    return GW_REDIS_OK;
}

static int user_send(struct gw_redis *r, struct req *q)
{
    if (req_send(&r->cmd, q) != GW_REDIS_OK) {
        req_free(q);
        r->st.refused++;
        return GW_REDIS_EDOWN;
    }
    r->waiting++;
    r->waiting_bytes += q->len;
    r->st.commands++;
    schedule(r);
    return GW_REDIS_OK;
}

int gw_redis_command(struct gw_redis *r, gw_redis_reply_fn *cb, void *arg, int argc,
                     const char **argv, const size_t *argvlen)
{
    struct req *q = NULL;
    int rc = user_req(r, cb, arg, argc, argv, argvlen, &q);
    if (rc != GW_REDIS_OK)
        return rc;
    q->kind = K_USER;
    return user_send(r, q);
}

int gw_redis_eval(struct gw_redis *r, struct gw_redis_script *s, gw_redis_reply_fn *cb,
                  void *arg, int nkeys, int argc, const char **argv, const size_t *argvlen)
{
    const char **av;
    size_t *al;
    char nk[16];
    struct req *q = NULL;
    int rc;

    if (!r || !s || nkeys < 0 || argc < 0 || nkeys > argc ||
        (unsigned)argc + 3u > GW_REDIS_ARGS_MAX || (argc > 0 && (!argv || !argvlen)))
        return GW_REDIS_EINVAL;
    av = malloc(((size_t)argc + 3) * sizeof *av);
    al = malloc(((size_t)argc + 3) * sizeof *al);
    if (!av || !al) {
        free(av);
        free(al);
        return GW_REDIS_ENOMEM;
    }
    fmt(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = s->sha;
    al[1] = 40;
    av[2] = nk;
    al[2] = strlen(nk);
    if (argc > 0) {
        memcpy(av + 3, argv, (size_t)argc * sizeof *av);
        memcpy(al + 3, argvlen, (size_t)argc * sizeof *al);
    }
    rc = user_req(r, cb, arg, argc + 3, av, al, &q);
    free(av);
    free(al);
    if (rc != GW_REDIS_OK)
        return rc;
    q->kind = K_EVAL;
    q->script = s;
    return user_send(r, q);
}

int gw_redis_script(struct gw_redis *r, const char *source, size_t len,
                    struct gw_redis_script **out)
{
    struct gw_redis_script *s;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    if (!r || !source || !out || len == 0 || len > GW_REDIS_SCRIPT_MAX_BYTES)
        return GW_REDIS_EINVAL;
    if (r->nscripts >= GW_REDIS_SCRIPTS_MAX)
        return GW_REDIS_EBUSY;
    s = calloc(1, sizeof *s);
    if (!s || !(s->source = malloc(len))) {
        free(s);
        return GW_REDIS_ENOMEM;
    }
    memcpy(s->source, source, len);
    s->len = len;
    /* Redis names a script by the SHA1 of its source: EVALSHA can be sent
     * before any SCRIPT LOAD has answered. */
    if (EVP_Digest(source, len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        free(s->source);
        free(s);
        return GW_REDIS_ENOMEM;
    }
    for (unsigned i = 0; i < 20; i++)
        fmt(s->sha + 2 * i, 3, "%02x", md[i]);
    r->scripts[r->nscripts++] = s;
    /* A connection past its handshake's queueing loads it now: as part of
     * the handshake while that is still answering, else on its own. */
    if (r->cmd.ac && !r->cmd.drop) {
        if (r->cmd.phase == P_UP)
            send_script_load(&r->cmd, s, K_SCRIPT);
        else if (r->cmd.phase == P_CONNECTING || r->cmd.phase == P_HANDSHAKE)
            send_script_load(&r->cmd, s, K_HANDSHAKE);
        schedule(r);
    }
    *out = s;
    return GW_REDIS_OK;
}

const char *gw_redis_script_sha(const struct gw_redis_script *s)
{
    return s->sha;
}

int gw_redis_subscribe(struct gw_redis *r, const char *channel, size_t len)
{
    struct chan *ch;

    if (!r || !channel || len == 0 || len > GW_REDIS_CHANNEL_MAX_BYTES ||
        (len == r->probe_len && memcmp(channel, r->probe, len) == 0))
        return GW_REDIS_EINVAL;
    ch = chan_find(r, channel, len);
    if (ch && ch->refs > 0) {
        ch->refs++;
        return GW_REDIS_OK;
    }
    if (!ch) {
        if (r->nrefd >= GW_REDIS_CHANNELS_MAX)
            return GW_REDIS_EBUSY;
        if (r->nchans >= r->nbuckets && chan_grow(r) != GW_REDIS_OK)
            return GW_REDIS_ENOMEM;
        ch = calloc(1, sizeof *ch + len + 1);
        if (!ch)
            return GW_REDIS_ENOMEM;
        memcpy(ch->name, channel, len);
        ch->len = len;
        ch->hash = hash_bytes(channel, len);
        ch->st = CH_OFF;
        ch->next = r->buckets[ch->hash & (r->nbuckets - 1)];
        r->buckets[ch->hash & (r->nbuckets - 1)] = ch;
        r->nchans++;
    } else if (r->nrefd >= GW_REDIS_CHANNELS_MAX) {
        return GW_REDIS_EBUSY;
    }
    ch->refs = 1;
    r->nrefd++;
    /* An UNSUBSCRIBE or SUBSCRIBE on its way is let finish first (its
     * confirmation sends what is wanted then): one operation per channel
     * at a time keeps hiredis' table of channels right. */
    if (ch->st == CH_OFF && r->sub.ac && !r->sub.drop &&
        (r->sub.phase == P_SUBSCRIBING || r->sub.phase == P_UP)) {
        if (chan_send(&r->sub, ch, 1) != GW_REDIS_OK) {
            char why[GW_REDIS_WHY_MAX_BYTES];
            fmt(why, sizeof why, "redis: cannot subscribe at %s", r->where);
            conn_drop_later(&r->sub, GW_REDIS_ECLOSED, why);
        }
    }
    schedule(r);
    return GW_REDIS_OK;
}

int gw_redis_unsubscribe(struct gw_redis *r, const char *channel, size_t len)
{
    struct chan *ch;

    if (!r || !channel || len == 0)
        return GW_REDIS_EINVAL;
    ch = chan_find(r, channel, len);
    if (!ch || ch->refs == 0)
        return GW_REDIS_EINVAL;
    if (--ch->refs > 0)
        return GW_REDIS_OK;
    r->nrefd--;
    if (ch->st == CH_ON && r->sub.ac && !r->sub.drop) {
        if (chan_send(&r->sub, ch, 0) != GW_REDIS_OK)
            chan_remove(r, ch);
    } else if (ch->st == CH_OFF) {
        chan_remove(r, ch);
    }
    schedule(r);
    return GW_REDIS_OK;
}

void gw_redis_stats(const struct gw_redis *r, struct gw_redis_stats *st)
{
    *st = r->st;
    st->waiting = r->waiting;
    st->channels = r->nrefd;
}

const char *gw_redis_probe_channel(const struct gw_redis *r)
{
    return r->probe;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void gw_redis_free(struct gw_redis *r)
{
    if (!r)
        return;
    r->freeing = 1;
    uv_timer_stop(&r->timer);
    conn_drop(&r->cmd, GW_REDIS_ECLOSED, NULL);
    conn_drop(&r->sub, GW_REDIS_ECLOSED, NULL);
    for (unsigned i = 0; i < r->nscripts; i++) {
        free(r->scripts[i]->source);
        free(r->scripts[i]);
    }
    for (size_t i = 0; i < r->nbuckets; i++) {
        struct chan *ch = r->buckets[i], *next;
        for (; ch; ch = next) {
            next = ch->next;
            free(ch);
        }
    }
    free(r->buckets);
    /* The struct goes when libuv has closed the timer. */
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

const char *gw_redis_strerror(int status)
{
    switch (status) {
    case GW_REDIS_OK:
        return "ok";
    case GW_REDIS_EINVAL:
        return "invalid argument";
    case GW_REDIS_ENOMEM:
        return "out of memory";
    case GW_REDIS_EDOWN:
        return "redis is not connected";
    case GW_REDIS_EBUSY:
        return "too many waiting for redis";
    case GW_REDIS_ETIMEDOUT:
        return "no reply from redis in time";
    case GW_REDIS_ECLOSED:
        return "the connection to redis was lost";
    case GW_REDIS_EREPLY:
        return "redis answered with an error";
    case GW_REDIS_ELOOP:
        return "the event loop failed";
    default:
        return "unknown error";
    }
}
