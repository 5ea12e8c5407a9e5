/*
 * loadgen.c - load generator for the chat hub benchmarks.
 *
 * One thread, one epoll loop, non-blocking sockets, connecting only to
 * 127.0.0.1. It opens many WebSocket clients (the wintalk.v1 JSON protocol:
 * hello, then say; it reads welcome and message events, alone or in JSON
 * arrays) and many WINTALK TCP clients (handshake, priming, transcript R
 * frame, then A lines; it sends completed lines as A frames, framed with the
 * shared codec). Every message it sends carries the token
 *
 *     t:<run>:<sender>:<seq>:<ns>
 *
 * (run: this process's run id, so old history is ignored; ns: the send time
 * on this process's monotonic clock), so every receiver computes the
 * latency of every delivery, counts it once (a re-sent transcript repeats
 * lines) and notices a gap. At the end it checks that every connection got
 * every message of every other sender, and prints one JSON line on stdout
 * and a short table on stderr.
 *
 * Senders run either at a fixed total rate (--rate) or as fast as the hub
 * takes it (--window: at most that many messages per sender not yet
 * delivered to everyone). Everything is bounded: the set-up, the sending
 * time, the drain, and the whole run (--timeout).
 *
 * Two gateways sharing their rooms (--ws-port2 and --tcp-port2): every
 * kind of connection is split between them, the senders too (even indexes
 * on the first, odd on the second), so that a message reaches half its
 * receivers through the other gateway. One process measures both: one
 * clock for the latency, one count of who got what, so "all delivered"
 * still means every receiver on either gateway got every message of every
 * sender on either. With --redis-port it also reads the shared Redis'
 * command counters before and after the sending.
 *
 * Accounts (--accounts N): N wintalk.v2 browsers, each with a nick of its
 * own, go through the steps of an account all at once, step by step:
 * register, log out, log in with the right password, log out, log in with
 * a wrong one, and log in to a nick nobody registered. Each step is a
 * burst of N requests (then the last two again one at a time, by the
 * first LG_SERIAL_MAX browsers: a login's own time, with nothing queued); one answered 421 (busy) or 429 is sent again after
 * --login-retry-ms. Per step: answers per second, the time from the
 * request that was answered to its answer, and how many were busy.
 *
 * A login flood (--flood N): N guests that log in with wrong passwords to
 * an account one more browser registers first, each with one login in
 * flight, as fast as the gateway answers them (421: again after
 * --login-retry-ms). Once every browser is ready it writes --ready-file
 * and waits, connected and idle, for SIGUSR1 (at most --timeout); it
 * floods until SIGTERM or SIGINT (or --timeout, counted again from
 * SIGUSR1) and then reports.
 * With --flood-names each try names a nick nobody registered, a new one
 * each time (so no account name's count of failures holds it back), the
 * browsers wait in a room of their own (#flood: their comings and goings
 * are not the chat's), and each closes its connection after
 * LG_FLOOD_CONN_TRIES wrong answers (the gateway's count per connection)
 * or at a 429, and connects again: behind a proxy (--max-per-address 0)
 * nothing else holds it back, and the hasher stays busy.
 * Meanwhile another run of this program measures a chat on the same
 * gateway, quiet and under the flood. Both report the CPU share of the
 * gateway's event loop (its main thread) beside the whole process's, and
 * the share of the time the loop waited, runnable, for a core.
 *
 * Not a library; no dependency beyond libc, libcrypto (SHA-1 and base64 of
 * the WebSocket handshake) and the WINTALK codec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "wt_codec.h"

/* Bounds. */
#define LG_MAX_CONNS 19000u           /* below RLIMIT_NOFILE's hard 20000 */
#define LG_MAX_SENDERS 1000u
#define LG_READ_CHUNK (256u * 1024u)  /* one read() into the shared buffer */
#define LG_READS_PER_EVENT 4          /* fairness between connections */
#define LG_IN_MAX (8u * 1024u * 1024u) /* pending bytes of one connection */
#define LG_OUT_MAX (1024u * 1024u)    /* a sender stops while this is queued */
#define LG_WINDOW_MAX 4096u
#define LG_TEXT_MAX 2048u
#define LG_METRICS_MAX (256u * 1024u) /* one /metrics answer, headers included */
#define LG_METRICS_TIMEOUT_S 2        /* its connect, send and each read */
#define LG_HUBS_MAX 2                 /* gateways one run talks to */
#define LG_ACCOUNTS_MAX 10000u        /* --accounts and --flood */
#define LG_RETRY_MS_MAX 10000u
#define LG_FLOOD_CONN_TRIES 10u       /* --flood-names: 530s per connection, then again */

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum proto { P_WS, P_TCP };
enum cstate { C_CONNECTING, C_WS_UPGRADE, C_WAIT_WELCOME, C_TCP_WAIT, C_READY, C_DEAD };
/* What a connection is for: the chat (the tokens), an account's steps, a
 * flood of wrong passwords, or the browser that registers the flood's
 * target. The last three speak wintalk.v2. */
enum role { R_CHAT, R_ACCOUNT, R_FLOOD, R_TARGET };

struct conn {
    int fd;
    uint8_t proto;
    uint8_t state;
    uint8_t want_out;   /* EPOLLOUT registered */
    uint8_t r_frames;   /* TCP: R frames seen (4 priming + 1 transcript) */
    uint8_t hub;        /* which gateway: 0, or 1 with --ws-port2/--tcp-port2 */
    uint8_t role;       /* enum role */
    uint8_t asking;     /* an account request in flight */
    uint8_t fails;      /* --flood-names: 530s on this connection */
    uint32_t ref;       /* its ref */
    int64_t t_asked;    /* when it was sent (ns) */
    int64_t t_first;    /* when the step's first try was sent (ns) */
    int64_t retry_at;   /* busy: send it again then (ns); 0: not waiting */
    int32_t sender;     /* sender index, or -1 */
    uint32_t hs_seen;   /* TCP: bytes of the 12-byte handshake seen */
    int64_t t_start;    /* connect() time, ns */
    char accept[32];    /* expected Sec-WebSocket-Accept */
    uint8_t *in;        /* bytes not parsed yet */
    uint32_t in_len, in_cap;
    uint8_t *msg;       /* a fragmented WebSocket message */
    uint32_t msg_len, msg_cap;
    uint8_t *out;       /* bytes not written yet */
    uint32_t out_off, out_len, out_cap;
    struct wt_decoder *dec;
    uint32_t *last_seq; /* per sender: highest seq seen */
    uint64_t delivered;
    uint64_t gaps;
};

/* Log-linear latency histogram in microseconds: exact below 128 us, then
 * 64 buckets per power of two (under 1.6% error). */
#define H_BUCKETS (128 + 64 * 40)
struct hist {
    uint64_t n[H_BUCKETS];
    uint64_t count;
    uint64_t max_us;
};

static unsigned h_index(uint64_t us)
{
    if (us < 128)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us);
    unsigned shift = e - 6;
    unsigned mant = (unsigned)(us >> shift);
    unsigned idx = 128 + (e - 7) * 64 + (mant - 64);
    return idx < H_BUCKETS ? idx : H_BUCKETS - 1;
}

static double h_value(unsigned idx)
{
    if (idx < 128)
        return idx;
    unsigned e = (idx - 128) / 64 + 7;
    unsigned mant = (idx - 128) % 64 + 64;
    unsigned shift = e - 6;
    /* The middle of the bucket. */
    return ((double)mant + 0.5) * (double)(1ull << shift);
}

static void h_add(struct hist *h, uint64_t us)
{
    h->n[h_index(us)]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

/* The q-quantile in milliseconds (0 when empty). */
static double h_quantile_ms(const struct hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if (want >= h->count)
        want = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        seen += h->n[i];
        if (seen > want) {
            double v = h_value(i);
            if (v > (double)h->max_us)
                v = (double)h->max_us;
            return v / 1000.0;
        }
    }
    return (double)h->max_us / 1000.0;
}

/* ---- options ---- */

static struct {
    int ws_port;
    int tcp_port;
    int ws_port2;          /* the second gateway's ports; 0: one gateway */
    int tcp_port2;
    unsigned ws_conns;     /* browsers that only receive */
    unsigned tcp_conns;    /* TCP participants that only receive */
    unsigned senders;
    int sender_proto;
    double rate;           /* messages/s over all senders; 0: window mode */
    unsigned window;
    double duration;       /* seconds of sending */
    double hold;           /* seconds idle after set-up (memory scenarios) */
    double drain;          /* seconds to wait for the last deliveries */
    double timeout;        /* the whole run */
    unsigned concurrency;  /* connects in progress at once */
    unsigned max_msgs;     /* per sender; 0: no bound but time */
    unsigned pad;          /* text length to pad tokens to */
    int server_pid;
    int server_pid2;       /* the second gateway */
    int metrics_port;      /* the hub's /metrics on 127.0.0.1; 0: none */
    int metrics_port2;     /* the second gateway's */
    int redis_port;        /* the shared Redis on 127.0.0.1; 0: none */
    int redis_pid;         /* its process: its CPU share */
    unsigned accounts;     /* browsers that go through an account's steps */
    unsigned flood;        /* browsers that flood wrong passwords */
    int flood_names;       /* each try a new nick nobody has; reconnect */
    unsigned retry_ms;     /* a request answered 421: sent again after this */
    const char *ready_file;/* the flood: written once every browser is ready */
    const char *label;
    const char *hub;
    int quiet;
} opt = {
    .ws_port = 8080,
    .tcp_port = 5150,
    .sender_proto = P_WS,
    .window = 32,
    .duration = 10,
    .drain = 5,
    .timeout = 60,
    .concurrency = 256,
    .retry_ms = 100,
    .label = "run",
    .hub = "hub",
};

/* ---- state ---- */

static struct conn *conns;
static unsigned nconns;
static int ep;
static uint64_t run_id;
static int64_t t0;
static uint8_t rbuf[LG_READ_CHUNK];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static struct hist lat;     /* delivery latency */
static struct hist setup;   /* connect to ready */
static unsigned n_ready, n_failed, n_started, n_inflight;
static uint64_t n_errors, n_dups, n_closed_late, n_stalls;
static uint64_t n_cross; /* deliveries by the gateway the sender is not on */
static int64_t t_setup_end, t_send_start, t_last_delivery;

struct sender {
    unsigned conn;
    uint32_t seq;          /* messages sent */
    uint32_t low;          /* window mode: oldest seq not delivered to all */
    int64_t next;          /* rate mode: next send time */
    uint32_t *cnt;         /* window mode: deliveries per seq % window */
};
static struct sender *senders;
static unsigned expect_per_msg; /* receivers of each message */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n)
        die("out of memory");
    return q;
}

/* ---- buffers ---- */

static void buf_append(uint8_t **b, uint32_t *len, uint32_t *cap, const void *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n)
            c *= 2;
        *b = xrealloc(*b, c);
        *cap = (uint32_t)c;
    }
    memcpy(*b + *len, data, n);
    *len += (uint32_t)n;
}

static void set_out_interest(struct conn *c, int want)
{
    if (c->want_out == want || c->state == C_DEAD)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)(c - conns)};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = (uint8_t)want;
}

static void conn_dead(struct conn *c, const char *why)
{
    if (c->state == C_DEAD)
        return;
    if (c->state != C_READY) {
        n_failed++;
        if (c->state != C_CONNECTING || c->t_start)
            n_inflight--;
        if (!opt.quiet && n_failed <= 5)
            fprintf(stderr, "loadgen: connection %u failed in set-up: %s\n",
                    (unsigned)(c - conns), why);
    } else {
        n_closed_late++;
        if (!opt.quiet && n_closed_late <= 5)
            fprintf(stderr, "loadgen: connection %u closed: %s\n", (unsigned)(c - conns), why);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = C_DEAD;
    free(c->in);
    free(c->msg);
    free(c->out);
    c->in = c->msg = c->out = NULL;
    c->in_len = c->in_cap = c->msg_len = c->msg_cap = 0;
    c->out_len = c->out_off = c->out_cap = 0;
}

/* Write what is queued, then data; keep the rest for EPOLLOUT. */
static void conn_write(struct conn *c, const void *data, size_t n)
{
    if (c->state == C_DEAD)
        return;
    if (c->out_len > c->out_off) {
        buf_append(&c->out, &c->out_len, &c->out_cap, data, n);
        return;
    }
    ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_dead(c, strerror(errno));
            return;
        }
        w = 0;
    }
    if ((size_t)w < n) {
        c->out_off = c->out_len = 0;
        buf_append(&c->out, &c->out_len, &c->out_cap, (const uint8_t *)data + w, n - (size_t)w);
        set_out_interest(c, 1);
    }
}

static void conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            conn_dead(c, strerror(errno));
            return;
        }
        c->out_off += (uint32_t)w;
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > 65536) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    set_out_interest(c, 0);
}

static uint32_t conn_queued(const struct conn *c)
{
    return c->out_len - c->out_off;
}

/* ---- WebSocket client ---- */

/* Send one masked WebSocket frame (RFC 6455 5.3: a client masks every
 * frame with a fresh 32-bit key). */
static void ws_send(struct conn *c, int opcode, const void *payload, size_t n)
{
    uint8_t f[14 + LG_TEXT_MAX + 64];
    size_t h = 0;
    if (n > LG_TEXT_MAX + 64)
        die("frame too large");
    f[h++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (uint8_t)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    }
    uint32_t key = (uint32_t)xorshift();
    uint8_t mk[4] = {(uint8_t)key, (uint8_t)(key >> 8), (uint8_t)(key >> 16), (uint8_t)(key >> 24)};
    memcpy(f + h, mk, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++)
        f[h + i] = p[i] ^ mk[i & 3];
    conn_write(c, f, h + n);
}

static void b64(const uint8_t *in, int n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, n);
}

/* The port a connection goes to: its kind's, on its gateway. */
static int conn_port(const struct conn *c)
{
    if (c->proto == P_WS)
        return c->hub ? opt.ws_port2 : opt.ws_port;
    return c->hub ? opt.tcp_port2 : opt.tcp_port;
}

static void ws_start(struct conn *c)
{
    uint8_t raw[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = xorshift();
        memcpy(raw + i, &r, 8);
    }
    char key[32];
    b64(raw, 16, key);
    char cat[64 + sizeof WS_GUID];
    snprintf(cat, sizeof cat, "%s%s", key, WS_GUID);
    uint8_t dig[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, strlen(cat), dig);
    b64(dig, SHA_DIGEST_LENGTH, c->accept);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\n"
                     "Host: 127.0.0.1:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: wintalk.v%d\r\n"
                     "Origin: http://127.0.0.1:%d\r\n"
                     "\r\n",
                     conn_port(c), key, c->role == R_CHAT ? 1 : 2, conn_port(c));
    c->state = C_WS_UPGRADE;
    conn_write(c, req, (size_t)n);
}

static void became_ready(struct conn *c)
{
    c->state = C_READY;
    n_ready++;
    n_inflight--;
    int64_t t = now_ns();
    h_add(&setup, (uint64_t)(t - c->t_start) / 1000);
    if (n_ready + n_failed == nconns)
        t_setup_end = t;
}

/* A token at p (after "t:"), end of buffer at e. */
static void token(struct conn *c, const uint8_t *p, const uint8_t *e, int64_t now)
{
    uint64_t v[4] = {0, 0, 0, 0};
    int k = 0;
    for (; p < e && k < 4; p++) {
        if (*p >= '0' && *p <= '9') {
            v[k] = v[k] * 10 + (uint64_t)(*p - '0');
        } else if (*p == ':' && k < 3) {
            k++;
        } else {
            break;
        }
    }
    if (k != 3 || v[0] != run_id || v[1] >= opt.senders)
        return;
    unsigned s = (unsigned)v[1];
    uint32_t q = (uint32_t)v[2];
    if ((int32_t)s == c->sender)
        return; /* our own message, echoed */
    uint32_t last = c->last_seq[s];
    if (q <= last) {
        n_dups++;
        return;
    }
    if (q > last + 1)
        c->gaps += q - last - 1;
    c->last_seq[s] = q;
    c->delivered++;
    if (c->hub != conns[senders[s].conn].hub)
        n_cross++;
    t_last_delivery = now;
    int64_t d = now - (int64_t)v[3] - t0;
    h_add(&lat, d > 0 ? (uint64_t)d / 1000 : 0);
    struct sender *sd = &senders[s];
    if (sd->cnt && q > sd->low && q - sd->low <= opt.window) {
        uint32_t slot = q % opt.window;
        sd->cnt[slot]++;
        while (sd->low < sd->seq && sd->cnt[(sd->low + 1) % opt.window] >= expect_per_msg) {
            sd->cnt[(sd->low + 1) % opt.window] = 0;
            sd->low++;
        }
    }
}

static void scan_tokens(struct conn *c, const uint8_t *p, size_t n, const char *pat, size_t patlen)
{
    const uint8_t *e = p + n;
    int64_t now = now_ns();
    while (p < e) {
        const uint8_t *m = memmem(p, (size_t)(e - p), pat, patlen);
        if (!m)
            break;
        token(c, m + patlen, e, now);
        p = m + patlen;
    }
}

/* ---- accounts ---- */

/* The steps each account's browser goes through, all browsers at once,
 * one step after another. */
enum astep {
    S_REGISTER, S_LOGOUT, S_LOGIN, S_LOGOUT2, S_WRONG, S_NOBODY,
    S_WRONG1, S_NOBODY1, /* one at a time: a login's own time, nothing queued */
    S_FLOOD, S_N
};
static const char *const step_names[S_N] = {"register", "logout", "login", "logout2", "wrong",
                                            "nobody", "wrong1", "nobody1", "flood"};
/* What each step expects: an account event, or an error (530). */
static const int step_wants_error[S_N] = {0, 0, 0, 0, 1, 1, 1, 1, 1};
/* The browsers of the one-at-a-time steps (the first ones). */
#define LG_SERIAL_MAX 32u

struct step_stats {
    struct hist lat;   /* from the request answered to its answer */
    struct hist wait;  /* from the step's first try to the answer */
    uint64_t ok;       /* answered as expected */
    uint64_t busy;     /* 421: sent again later */
    uint64_t slow;     /* 429: sent again later */
    uint64_t other;    /* any other answer: that browser's step failed */
    int64_t t_first, t_last; /* first request sent, last answer */
};
static struct step_stats steps[S_N];
static enum astep step = S_REGISTER; /* the step under way (accounts) */
static volatile sig_atomic_t flood_go, flood_stop;
static int flooding;                 /* the flood has started */
static uint64_t n_redials;           /* --flood-names: connections made again */
static uint32_t tag;                 /* nicks of this run: run_id, shortened */

/* Account browsers are numbered from 0 after the chat's connections. */
static unsigned account_index(const struct conn *c)
{
    return (unsigned)(c - conns) - opt.senders - opt.ws_conns - opt.tcp_conns;
}

/* A connection's nick in its hello ("" for a guest): short enough for the
 * gateway's default of 24 characters. */
static void account_nick(const struct conn *c, char *out, size_t cap)
{
    out[0] = 0;
    if (c->role == R_ACCOUNT)
        snprintf(out, cap, "u%u-%u", (unsigned)tag, account_index(c));
    else if (c->role == R_TARGET)
        snprintf(out, cap, "v%u", (unsigned)tag);
}

/* Send c's request of step st (ns: now). */
static void account_ask(struct conn *c, enum astep st, int64_t now)
{
    if (c->state != C_READY)
        return;
    unsigned i = account_index(c);
    char js[256];
    int m = 0;
    c->ref++;
    switch (st) {
    case S_REGISTER:
        m = snprintf(js, sizeof js, "{\"type\":\"register\",\"password\":\"pw-%u-%u\",\"ref\":%u}",
                     (unsigned)tag, i, c->ref);
        break;
    case S_LOGOUT:
    case S_LOGOUT2:
        m = snprintf(js, sizeof js, "{\"type\":\"logout\",\"ref\":%u}", c->ref);
        break;
    case S_LOGIN:
    case S_WRONG:
    case S_WRONG1:
    case S_NOBODY:
    case S_NOBODY1: {
        /* The account's password; a wrong one as long as the right one
         * (the same work to check); or a nick nobody registered. */
        int nobody = st == S_NOBODY || st == S_NOBODY1;
        int wrong = st == S_WRONG || st == S_WRONG1;
        m = snprintf(js, sizeof js,
                     "{\"type\":\"login\",\"nick\":\"%c%u-%u\",\"password\":\"p%c-%u-%u\","
                     "\"ref\":%u}",
                     nobody ? 'n' : 'u', (unsigned)tag, i, wrong ? 'X' : 'w', (unsigned)tag, i,
                     c->ref);
        break;
    }
    case S_FLOOD:
        if (opt.flood_names) {
            /* A nick nobody registered, new each try: the name's count
             * never reaches its bound. */
            m = snprintf(js, sizeof js,
                         "{\"type\":\"login\",\"nick\":\"f%u-%u-%u\",\"password\":\"guess-%u\","
                         "\"ref\":%u}",
                         (unsigned)tag, i, c->ref, c->ref, c->ref);
            break;
        }
        m = snprintf(js, sizeof js,
                     "{\"type\":\"login\",\"nick\":\"v%u\",\"password\":\"guess-%u-%u\","
                     "\"ref\":%u}",
                     (unsigned)tag, i, c->ref, c->ref);
        break;
    case S_N:
        return;
    }
    c->asking = 1;
    c->retry_at = 0;
    c->t_asked = now;
    if (!c->t_first)
        c->t_first = now;
    struct step_stats *ss = &steps[st];
    if (!ss->t_first)
        ss->t_first = now;
    ws_send(c, 0x1, js, (size_t)m);
}

/* The answer to c's request, if this message (a frame: one event or an
 * array of them) holds it: 1 and the error code (0 for an account event),
 * else 0. Matched by ref, which ends the object ("ref":N}). */
static int account_answer(struct conn *c, const uint8_t *p, size_t n, int *code)
{
    char want[32];
    int wl = snprintf(want, sizeof want, "\"ref\":%u}", c->ref);
    const uint8_t *r = memmem(p, n, want, (size_t)wl);
    if (!r)
        return 0;
    /* The object it ends: from the last '{' before it. */
    const uint8_t *o = r;
    while (o > p && *o != '{')
        o--;
    size_t ol = (size_t)(r - o);
    static const char acct[] = "\"type\":\"account\"", err[] = "\"type\":\"error\",\"code\":";
    *code = 0;
    if (memmem(o, ol, acct, sizeof acct - 1))
        return 1;
    const uint8_t *e = memmem(o, ol, err, sizeof err - 1);
    if (!e)
        return 0;
    *code = atoi((const char *)e + sizeof err - 1);
    return 1;
}

static void conn_start(struct conn *c);

/* --flood-names: c closes its connection (its answer came: nothing in
 * flight) and connects again, a guest with a fresh count of failures; the
 * flood asks again once it is ready (account_turn). */
static void flood_redial(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    free(c->in);
    free(c->msg);
    free(c->out);
    c->in = c->msg = c->out = NULL;
    c->in_len = c->in_cap = c->msg_len = c->msg_cap = 0;
    c->out_len = c->out_off = c->out_cap = 0;
    c->asking = 0;
    c->retry_at = 0;
    c->fails = 0;
    n_ready--;
    n_redials++;
    conn_start(c);
}

/* A browser of the account steps or the flood got a message. */
static void account_message(struct conn *c, const uint8_t *p, size_t n)
{
    int code;
    if (c->role == R_TARGET) {
        /* Registered: the flood's target exists. */
        if (c->asking && account_answer(c, p, n, &code)) {
            c->asking = 0;
            if (code)
                die("the flood's target could not register (error %d)", code);
        }
        return;
    }
    if (!c->asking || !account_answer(c, p, n, &code))
        return;
    enum astep st = c->role == R_FLOOD ? S_FLOOD : step;
    struct step_stats *ss = &steps[st];
    int64_t now = now_ns();
    c->asking = 0;
    if (code == 421 || code == 429) {
        if (code == 421)
            ss->busy++;
        else
            ss->slow++;
        if (code == 429 && c->role == R_FLOOD && opt.flood_names) {
            /* Held back: this connection's tries are used up. */
            if (!flood_stop)
                flood_redial(c);
            return;
        }
        c->retry_at = now + (int64_t)opt.retry_ms * 1000000;
        return;
    }
    int good = step_wants_error[st] ? code == 530 : code == 0;
    if (good) {
        ss->ok++;
        h_add(&ss->lat, (uint64_t)(now - c->t_asked) / 1000);
        h_add(&ss->wait, (uint64_t)(now - c->t_first) / 1000);
    } else {
        ss->other++;
        if (!opt.quiet && ss->other <= 3)
            fprintf(stderr, "loadgen: %s: unexpected answer: %.*s\n", step_names[st],
                    (int)(n > 200 ? 200 : n), p);
    }
    ss->t_last = now;
    c->t_first = 0;
    if (c->role == R_FLOOD && !flood_stop) {
        if (opt.flood_names && good && ++c->fails >= LG_FLOOD_CONN_TRIES)
            flood_redial(c);
        else
            account_ask(c, S_FLOOD, now);
    }
}

static void ws_message(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->state == C_WAIT_WELCOME) {
        if (memmem(p, n, "\"type\":\"welcome\"", 16))
            became_ready(c);
        else if (memmem(p, n, "\"type\":\"error\"", 14))
            conn_dead(c, "error instead of welcome");
        return;
    }
    if (c->role != R_CHAT) {
        account_message(c, p, n);
        return;
    }
    if (memmem(p, n, "\"type\":\"error\"", 14) || memmem(p, n, "\"type\":\"bye\"", 12)) {
        n_errors++;
        if (!opt.quiet && n_errors <= 3)
            fprintf(stderr, "loadgen: error from the hub: %.*s\n", (int)(n > 200 ? 200 : n), p);
    }
    scan_tokens(c, p, n, "\"text\":\"t:", 10);
}

/* Parse WebSocket frames from p; returns the bytes used. */
static size_t ws_frames(struct conn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;
    while (c->state != C_DEAD) {
        const uint8_t *f = p + used;
        size_t avail = n - used;
        if (avail < 2)
            break;
        int fin = f[0] & 0x80, op = f[0] & 0x0f;
        uint64_t len = f[1] & 0x7f;
        size_t h = 2;
        if (f[1] & 0x80) {
            conn_dead(c, "masked frame from the server");
            break;
        }
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)f[2] << 8 | f[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            h = 10;
        }
        if (len > LG_IN_MAX) {
            conn_dead(c, "frame too large");
            break;
        }
        if (avail < h + len)
            break;
        const uint8_t *pl = f + h;
        used += h + (size_t)len;
        if (op == 0x8) {
            conn_dead(c, "close frame");
            break;
        } else if (op == 0x9) {
            ws_send(c, 0xA, pl, (size_t)len);
        } else if (op == 0x1 || op == 0x2 || op == 0x0) {
            if (fin && op != 0 && c->msg_len == 0) {
                ws_message(c, pl, (size_t)len);
            } else {
                buf_append(&c->msg, &c->msg_len, &c->msg_cap, pl, (size_t)len);
                if (fin) {
                    ws_message(c, c->msg, c->msg_len);
                    c->msg_len = 0;
                }
            }
        }
    }
    return used;
}

/* The HTTP 101 answer; returns the bytes used, 0 for need more. */
static size_t ws_upgrade(struct conn *c, const uint8_t *p, size_t n)
{
    const uint8_t *end = memmem(p, n, "\r\n\r\n", 4);
    if (!end) {
        if (n > 8192)
            conn_dead(c, "HTTP answer too long");
        return 0;
    }
    size_t hl = (size_t)(end - p) + 4;
    if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
        conn_dead(c, "no 101 answer");
        return hl;
    }
    if (!memmem(p, hl, c->accept, strlen(c->accept))) {
        conn_dead(c, "wrong Sec-WebSocket-Accept");
        return hl;
    }
    c->state = C_WAIT_WELCOME;
    static const char hello[] = "{\"type\":\"hello\",\"last_id\":0}";
    if (c->role == R_CHAT) {
        ws_send(c, 0x1, hello, sizeof hello - 1);
    } else {
        /* wintalk.v2, in #lobby; an account's browser and the flood's
         * target with their nicks, the flood's browsers as guests. */
        char nick[32] = "", js[96];
        account_nick(c, nick, sizeof nick);
        int m = snprintf(js, sizeof js, "{\"type\":\"hello\"%s%s%s}", nick[0] ? ",\"nick\":\"" : "",
                         nick, nick[0] ? "\"" : "");
        /* --flood-names: a room of their own, out of the chat's. */
        if (c->role == R_FLOOD && opt.flood_names)
            m = snprintf(js, sizeof js, "{\"type\":\"hello\",\"rooms\":{\"#flood\":0}}");
        ws_send(c, 0x1, js, (size_t)m);
    }
    return hl;
}

/* ---- WINTALK TCP client ---- */

static size_t tcp_bytes(struct conn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;
    while (c->hs_seen < WT_HANDSHAKE_LEN && used < n) {
        if (p[used] != (uint8_t)WT_HANDSHAKE[c->hs_seen]) {
            conn_dead(c, "bad WINTALK handshake");
            return n;
        }
        c->hs_seen++;
        used++;
    }
    while (used < n && c->state != C_DEAD) {
        struct wt_frame fr;
        size_t k = 0;
        int rc = wt_decoder_feed(c->dec, p + used, n - used, &k, &fr);
        used += k;
        if (rc == WT_EAGAIN)
            break;
        if (rc != WT_OK) {
            conn_dead(c, wt_strerror(rc));
            return n;
        }
        if (fr.op == WT_OP_REPLACE && c->state == C_TCP_WAIT) {
            /* Four priming replaces, then the transcript. */
            if (++c->r_frames == 5)
                became_ready(c);
            continue;
        }
        if (c->state == C_READY)
            scan_tokens(c, (const uint8_t *)fr.text, fr.len, ": t:", 4);
    }
    return n; /* the decoder keeps partial frames itself */
}

/* ---- connections ---- */

static void conn_input(struct conn *c)
{
    for (int r = 0; r < LG_READS_PER_EVENT && c->state != C_DEAD; r++) {
        ssize_t got = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (got == 0) {
            conn_dead(c, "closed by the hub");
            return;
        }
        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_dead(c, strerror(errno));
            return;
        }
        const uint8_t *p = rbuf;
        size_t n = (size_t)got;
        if (c->proto == P_TCP) {
            tcp_bytes(c, p, n);
        } else {
            if (c->in_len) {
                if (c->in_len + n > LG_IN_MAX) {
                    conn_dead(c, "input backlog too large");
                    return;
                }
                buf_append(&c->in, &c->in_len, &c->in_cap, p, n);
                p = c->in;
                n = c->in_len;
            }
            size_t used = 0;
            if (c->state == C_WS_UPGRADE) {
                used = ws_upgrade(c, p, n);
                if (!used)
                    goto keep;
            }
            if (c->state != C_DEAD)
                used += ws_frames(c, p + used, n - used);
            if (c->state == C_DEAD)
                return;
        keep:
            if (p == c->in) {
                memmove(c->in, c->in + used, n - used);
                c->in_len = (uint32_t)(n - used);
            } else if (used < n) {
                buf_append(&c->in, &c->in_len, &c->in_cap, p + used, n - used);
            }
            if (!c->in_len && c->in_cap > 65536) {
                free(c->in);
                c->in = NULL;
                c->in_cap = 0;
            }
        }
        if ((size_t)got < sizeof rbuf)
            return;
    }
}

static void conn_start(struct conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->t_start = now_ns();
    n_inflight++;
    n_started++;
    if (fd < 0) {
        c->fd = -1;
        c->state = C_DEAD;
        n_failed++;
        n_inflight--;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)conn_port(c));
    c->fd = fd;
    c->state = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)(c - conns)};
    c->want_out = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        conn_dead(c, strerror(errno));
}

static void conn_event(struct conn *c, uint32_t events)
{
    if (c->state == C_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            conn_dead(c, strerror(err));
            return;
        }
        set_out_interest(c, 0);
        if (c->proto == P_WS) {
            ws_start(c);
        } else {
            c->state = C_TCP_WAIT;
            c->dec = calloc(1, sizeof *c->dec);
            if (!c->dec || wt_decoder_init(c->dec, 0) != WT_OK)
                die("decoder");
        }
        return;
    }
    if (events & EPOLLOUT)
        conn_flush(c);
    if (c->state != C_DEAD && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        conn_input(c);
}

/* ---- sending ---- */

static void send_one(struct sender *s, int64_t now)
{
    struct conn *c = &conns[s->conn];
    if (c->state != C_READY)
        return;
    if (conn_queued(c) > LG_OUT_MAX) {
        n_stalls++;
        return;
    }
    uint32_t q = ++s->seq;
    char text[LG_TEXT_MAX];
    int n = snprintf(text, sizeof text, "t:%" PRIu64 ":%u:%u:%" PRId64, run_id,
                     (unsigned)(s - senders), q, now - t0);
    while ((unsigned)n < opt.pad && (unsigned)n < sizeof text - 1)
        text[n++] = 'x';
    text[n] = 0;
    if (c->proto == P_WS) {
        char js[LG_TEXT_MAX + 64];
        int m = snprintf(js, sizeof js, "{\"type\":\"say\",\"text\":\"%s\"}", text);
        ws_send(c, 0x1, js, (size_t)m);
    } else {
        /* A completed line: the hub sends it as a message. Every 64 lines
         * the text box is cleared, as a user would. */
        char line[LG_TEXT_MAX + 8];
        int m = snprintf(line, sizeof line, "%s\r\n", text);
        char fr[LG_TEXT_MAX + 64];
        size_t fl = 0;
        if (q % 64 == 0) {
            memcpy(fr, "R0:", 3);
            fl = 3;
        }
        size_t k;
        if (wt_frame_encode(fr + fl, sizeof fr - fl, &k, WT_OP_APPEND, line, (size_t)m) != WT_OK)
            die("encode");
        conn_write(c, fr, fl + k);
    }
}

/* ---- report ---- */

static double secs(int64_t ns)
{
    return (double)ns / 1e9;
}

static long rss_kib(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* CPU time (user + system) the process has used, in clock ticks, or -1. */
/* CPU ticks of a process, or with thread (its id) of that thread alone:
 * the gateway's main thread (thread id = process id) runs its event loop,
 * the others hash passwords or talk to the store. -1 when unreadable. */
static long long stat_ticks(int pid, int thread)
{
    if (pid <= 0)
        return -1;
    char path[64], line[1024];
    if (thread > 0)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, thread);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the command name, which may hold spaces: utime and
     * stime are the 12th and 13th after the closing parenthesis. */
    char *p = strrchr(line, ')');
    if (!p)
        return -1;
    long long v[13];
    int k = 0;
    for (char *tok = strtok(p + 1, " "); tok && k < 13; tok = strtok(NULL, " "))
        v[k++] = atoll(tok);
    return k == 13 ? v[11] + v[12] : -1;
}

static long long cpu_ticks(int pid)
{
    return stat_ticks(pid, 0);
}

/* The event loop's thread of the (first) gateway. */
static long long loop_ticks(void)
{
    return stat_ticks(opt.server_pid, opt.server_pid);
}

/* How long the gateway's event loop has waited, runnable, for a core so
 * far (ns; the second field of its thread's schedstat), or -1: what
 * another thread on its core (a password's hash) costs it. */
static long long loop_run_delay(void)
{
    if (opt.server_pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", opt.server_pid, opt.server_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long run = 0, delay = -1;
    if (fscanf(f, "%lld %lld", &run, &delay) != 2)
        delay = -1;
    fclose(f);
    return delay;
}

/* The share of wall seconds between two run delays, or -1. */
static double delay_share(long long d0, long long d1, double wall)
{
    return d0 >= 0 && d1 >= d0 && wall > 0 ? (double)(d1 - d0) / 1e9 / wall : -1;
}

/* The gateways together (both run on the hub's core): RSS and CPU ticks,
 * -1 when either cannot be read. */
static long hubs_rss_kib(void)
{
    long a = rss_kib(opt.server_pid);
    if (!opt.server_pid2 || a < 0)
        return a;
    long b = rss_kib(opt.server_pid2);
    return b < 0 ? -1 : a + b;
}

static long long hubs_ticks(void)
{
    long long a = cpu_ticks(opt.server_pid);
    if (!opt.server_pid2 || a < 0)
        return a;
    long long b = cpu_ticks(opt.server_pid2);
    return b < 0 ? -1 : a + b;
}

/* A process's CPU share (of one core) over wall seconds, from its ticks at
 * the start and the end; -1 when unknown. */
static double cpu_share(long long t0_ticks, long long t1_ticks, double wall)
{
    if (t0_ticks < 0 || t1_ticks < t0_ticks || wall <= 0)
        return -1;
    return (double)(t1_ticks - t0_ticks) / (double)sysconf(_SC_CLK_TCK) / wall;
}

/* ---- the hub's /metrics ---- */

/* The counters read from /metrics at the start of the sending and after
 * the drain: their difference covers exactly the sending (set-up and its
 * join events before it, the leaves after it, are left out). */
static const char *const metric_names[] = {
    "wintalk_events_total",               /* room events the hub made */
    "wintalk_store_events_stored_total",  /* of those, committed to the store */
    "wintalk_store_commit_batches_total", /* transactions that committed them */
    "wintalk_store_commit_seconds_total", /* their time, BEGIN to COMMIT */
    "wintalk_store_commit_seconds_max",   /* a gauge: the slowest since the start */
};
#define N_METRICS (sizeof metric_names / sizeof *metric_names)
/* Reported as m_KEY (the first gateway) and m2_KEY (the second). */
static const char *const metric_keys[N_METRICS] = {
    "events", "stored", "batches", "commit_s", "commit_max_s",
};

/* Send req to 127.0.0.1:port and read the answer until the peer closes
 * (blocking, each step bounded by LG_METRICS_TIMEOUT_S) into buf (at most
 * LG_METRICS_MAX bytes, then NUL-terminated). Returns the bytes read; 0
 * when nothing came. */
static size_t fetch(int port, const char *req, size_t req_len, char *buf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct timeval tv = {.tv_sec = LG_METRICS_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t len = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        send(fd, req, req_len, MSG_NOSIGNAL) == (ssize_t)req_len) {
        for (;;) {
            ssize_t r = recv(fd, buf + len, LG_METRICS_MAX - len, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
            if (len == LG_METRICS_MAX)
                break; /* what came is parsed; the rest is not wanted */
        }
    }
    close(fd);
    buf[len] = 0;
    return len;
}

/* GET /metrics from 127.0.0.1:port and fill v[] with the values of
 * metric_names, -1 for a name the answer lacks. Returns 0, or -1 when
 * there is no answer (then every v[] is -1). */
static int metrics_read(int port, double v[N_METRICS])
{
    for (unsigned i = 0; i < N_METRICS; i++)
        v[i] = -1;
    static char buf[LG_METRICS_MAX + 1];
    char req[128];
    int n = snprintf(req, sizeof req,
                     "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                     port);
    if (!fetch(port, req, (size_t)n, buf))
        return -1;
    for (unsigned i = 0; i < N_METRICS; i++) {
        size_t nl = strlen(metric_names[i]);
        for (const char *p = buf; (p = strstr(p, metric_names[i])) != NULL; p += nl) {
            /* A sample line: the name at the start of a line, then a space. */
            if ((p == buf || p[-1] == '\n') && p[nl] == ' ') {
                v[i] = strtod(p + nl + 1, NULL);
                break;
            }
        }
    }
    return 0;
}

/* "m_events":N,... for one gateway's counters over the sending (prefix
 * "m_" for the first gateway, "m2_" for the second): differences, and the
 * gauge as it was at the end; a counter either read lacks is left out.
 * Appends to out (cap bytes, kept NUL-terminated; never a field cut in
 * half). */
static void metrics_fields(char *out, size_t cap, const char *prefix, const double m0[N_METRICS],
                           const double m1[N_METRICS])
{
    size_t ml = strlen(out);
    for (unsigned i = 0; i < N_METRICS; i++) {
        if (m0[i] < 0 || m1[i] < 0)
            continue;
        int is_gauge = strstr(metric_names[i], "_max") != NULL;
        int is_secs = strstr(metric_names[i], "_seconds") != NULL;
        double d = is_gauge ? m1[i] : m1[i] - m0[i];
        int w = is_secs ? snprintf(out + ml, cap - ml, ",\"%s%s\":%.6f", prefix, metric_keys[i], d)
                        : snprintf(out + ml, cap - ml, ",\"%s%s\":%.0f", prefix, metric_keys[i], d);
        if (w < 0 || (size_t)w >= cap - ml) {
            out[ml] = 0;
            return;
        }
        ml += (size_t)w;
    }
}

/* ---- the shared Redis' counters ---- */

/* Read from INFO before the first message and after the last delivery.
 * Redis counts the commands a script runs (the append script's GET,
 * HINCRBY, XADD and PUBLISH) as well as the ones clients send, so the
 * round trips a gateway makes are EVALSHA (an append), EVAL (the latest
 * events of a room, the epoch), XRANGE/XREVRANGE (recovery and history
 * reads), HGET (the position check) and the PUBLISHes no script made
 * (typing, presence, private messages, the subscription probe): publish
 * minus xadd, since every append that was kept did one of each. */
static const char *const redis_names[] = {
    "cmdstat_evalsha",          /* appends */
    "cmdstat_eval",             /* the latest events of a room; the epoch */
    "cmdstat_xadd",             /* inside the append script */
    "cmdstat_publish",          /* the script's, and the gateways' own */
    "cmdstat_xrange",           /* recovery reads */
    "cmdstat_xrevrange",        /* history reads (and inside the latest-events EVAL) */
    "cmdstat_hget",             /* the position check */
    "cmdstat_info",             /* these reads themselves */
    "cmdstat_quit",
    "total_commands_processed", /* every command, scripts' included */
    "total_net_input_bytes",
    "total_net_output_bytes",
};
#define N_REDIS (sizeof redis_names / sizeof *redis_names)
static const char *const redis_keys[N_REDIS] = {
    "r_evalsha", "r_eval", "r_xadd", "r_publish", "r_xrange", "r_xrevrange", "r_hget",
    "r_info", "r_quit", "r_commands", "r_net_in", "r_net_out",
};

/* INFO stats and commandstats from the Redis on 127.0.0.1:port into v[]:
 * a command's calls (0 when Redis lists no calls of it yet), a stat's value
 * (-1 when missing). Returns 0, or -1 when there is no answer. */
static int redis_read(int port, double v[N_REDIS])
{
    static char buf[LG_METRICS_MAX + 1];
    static const char req[] = "INFO stats commandstats\r\nQUIT\r\n";
    for (unsigned i = 0; i < N_REDIS; i++)
        v[i] = -1;
    size_t len = fetch(port, req, sizeof req - 1, buf);
    if (len < 1 || buf[0] != '$')
        return -1;
    for (unsigned i = 0; i < N_REDIS; i++) {
        int is_cmd = strncmp(redis_names[i], "cmdstat_", 8) == 0;
        size_t nl = strlen(redis_names[i]);
        if (is_cmd)
            v[i] = 0;
        for (const char *p = buf; (p = strstr(p, redis_names[i])) != NULL; p += nl) {
            /* "cmdstat_evalsha:calls=N,usec=..." or "total_...:N", at the
             * start of a line: the name then ':' (so eval is not evalsha). */
            if ((p == buf || p[-1] == '\n') && p[nl] == ':') {
                const char *q = p + nl + 1;
                if (is_cmd && strncmp(q, "calls=", 6) == 0)
                    q += 6;
                v[i] = strtod(q, NULL);
                break;
            }
        }
    }
    return 0;
}

/* "r_evalsha":N,... over the sending, appended to out (as metrics_fields).
 * r_commands leaves out the two INFO and QUIT of these reads. */
static void redis_fields(char *out, size_t cap, const double r0[N_REDIS],
                         const double r1[N_REDIS])
{
    size_t ml = strlen(out);
    double own = 0;
    for (unsigned i = 0; i < N_REDIS; i++)
        if (strcmp(redis_names[i], "cmdstat_info") == 0 ||
            strcmp(redis_names[i], "cmdstat_quit") == 0)
            own += r1[i] - r0[i];
    for (unsigned i = 0; i < N_REDIS; i++) {
        if (r0[i] < 0 || r1[i] < 0)
            continue;
        double d = r1[i] - r0[i];
        if (strcmp(redis_names[i], "total_commands_processed") == 0)
            d -= own;
        int w = snprintf(out + ml, cap - ml, ",\"%s\":%.0f", redis_keys[i], d);
        if (w < 0 || (size_t)w >= cap - ml) {
            out[ml] = 0;
            return;
        }
        ml += (size_t)w;
    }
}

/* ---- accounts: the steps, or the flood ---- */

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        flood_go = 1;
    else
        flood_stop = 1;
}

/* One turn of the loop: wait at most ms for events, handle them, and send
 * again every request whose retry time has come. */
static void account_turn(unsigned first, int ms)
{
    struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, ms);
    for (int i = 0; i < k; i++)
        conn_event(&conns[evs[i].data.u32], evs[i].events);
    int64_t now = now_ns();
    for (unsigned i = first; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->retry_at && c->retry_at <= now && c->state == C_READY &&
            (c->role == R_ACCOUNT || (c->role == R_FLOOD && !flood_stop)))
            account_ask(c, c->role == R_FLOOD ? S_FLOOD : step, now);
        else if (c->role == R_FLOOD && flooding && !flood_stop && c->state == C_READY &&
                 !c->asking && !c->retry_at)
            account_ask(c, S_FLOOD, now); /* connected again (--flood-names) */
    }
}

/* Account browsers that still wait for an answer in this step. */
static unsigned account_pending(unsigned first)
{
    unsigned n = 0;
    for (unsigned i = first; i < nconns; i++) {
        const struct conn *c = &conns[i];
        if (c->role == R_ACCOUNT && c->state == C_READY && (c->asking || c->retry_at))
            n++;
    }
    return n;
}

static void step_fields(char *out, size_t cap, enum astep st)
{
    const struct step_stats *ss = &steps[st];
    double d = ss->t_last > ss->t_first ? secs(ss->t_last - ss->t_first) : 0;
    const char *nm = step_names[st];
    size_t l = strlen(out);
    snprintf(out + l, cap - l,
             ",\"%s_ok\":%" PRIu64 ",\"%s_busy\":%" PRIu64 ",\"%s_slow\":%" PRIu64
             ",\"%s_other\":%" PRIu64 ",\"%s_s\":%.3f,\"%s_per_s\":%.1f,\"%s_p50_ms\":%.2f"
             ",\"%s_p99_ms\":%.2f,\"%s_max_ms\":%.2f,\"%s_wait_p50_ms\":%.2f,\"%s_wait_p99_ms\":%.2f",
             nm, ss->ok, nm, ss->busy, nm, ss->slow, nm, ss->other, nm, d, nm,
             d > 0 ? (double)ss->ok / d : 0, nm, h_quantile_ms(&ss->lat, 0.5), nm,
             h_quantile_ms(&ss->lat, 0.99), nm, (double)ss->lat.max_us / 1000.0, nm,
             h_quantile_ms(&ss->wait, 0.5), nm, h_quantile_ms(&ss->wait, 0.99));
}

/* Close every connection without TIME_WAIT: many runs in a row would
 * use up the ports. */
static void close_all(void)
{
    for (unsigned i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->state == C_DEAD || c->fd < 0)
            continue;
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c->fd);
    }
}

/* After the set-up: the account steps (--accounts) or the flood
 * (--flood), bounded by deadline; then the report. Returns the exit
 * status. */
static int accounts_run(int64_t deadline)
{
    unsigned first = opt.senders + opt.ws_conns + opt.tcp_conns;
    int timed_out = 0;
    int64_t t_start = now_ns(), t_end;
    if (opt.flood) {
        /* The target registers; then the flood is ready. */
        struct conn *t = &conns[first];
        if (t->state != C_READY)
            die("the flood's target did not connect");
        account_ask(t, S_REGISTER, now_ns());
        memset(&steps[S_REGISTER], 0, sizeof steps[S_REGISTER]);
        while (t->asking && t->state == C_READY && now_ns() < deadline)
            account_turn(first, 10);
        if (t->asking || t->state != C_READY)
            die("the flood's target could not register in time");
        if (opt.ready_file) {
            FILE *f = fopen(opt.ready_file, "w");
            if (!f)
                die("%s: %s", opt.ready_file, strerror(errno));
            fprintf(f, "%u\n", n_ready);
            fclose(f);
        }
        /* Connected and idle (reading #lobby) until told to flood: at
         * most --timeout from here. */
        deadline = now_ns() + (int64_t)(opt.timeout * 1e9);
        while (!flood_go && !flood_stop && now_ns() < deadline)
            account_turn(first, 50);
        /* The flood itself is bounded by --timeout again, from its start. */
        deadline = now_ns() + (int64_t)(opt.timeout * 1e9);
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    long long hub_ticks0 = hubs_ticks(), loop_ticks0 = loop_ticks(), delay0 = loop_run_delay();
    t_start = now_ns();
    if (opt.flood) {
        flooding = 1;
        for (unsigned i = first; i < nconns; i++)
            if (conns[i].role == R_FLOOD)
                account_ask(&conns[i], S_FLOOD, t_start);
        while (!flood_stop && now_ns() < deadline)
            account_turn(first, 10);
        if (!flood_stop)
            timed_out = 1;
        t_end = now_ns();
        /* The answers of the logins in flight are not waited for. */
    } else {
        for (step = S_REGISTER; step < S_FLOOD && !timed_out; step++) {
            /* A burst: every browser at once; or one after another, each
             * answered before the next asks (the first LG_SERIAL_MAX). */
            int serial = step == S_WRONG1 || step == S_NOBODY1;
            unsigned n = serial && nconns - first > LG_SERIAL_MAX ? LG_SERIAL_MAX : nconns - first;
            for (unsigned k = 0; k < n && !timed_out; k++) {
                for (unsigned i = first + k; i < (serial ? first + k + 1 : nconns); i++) {
                    conns[i].t_first = 0;
                    account_ask(&conns[i], step, now_ns());
                }
                while (account_pending(first) && now_ns() < deadline)
                    account_turn(first, serial ? 1 : 10);
                if (account_pending(first))
                    timed_out = 1;
                if (!serial)
                    break;
            }
        }
        t_end = now_ns();
    }
    getrusage(RUSAGE_SELF, &ru1);
    double wall = secs(t_end - t_start);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                          ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                          ru0.ru_stime.tv_usec) / 1e6;
    double hub_cpu = cpu_share(hub_ticks0, hubs_ticks(), wall);
    double loop_cpu = cpu_share(loop_ticks0, loop_ticks(), wall);
    double loop_wait = delay_share(delay0, loop_run_delay(), wall);
    char f[8192] = "";
    int all_answered = !timed_out && n_failed == 0 && n_closed_late == 0;
    if (opt.flood) {
        step_fields(f, sizeof f, S_FLOOD);
        all_answered = all_answered && steps[S_FLOOD].other == 0;
    } else {
        for (enum astep st = S_REGISTER; st < S_FLOOD; st++) {
            step_fields(f, sizeof f, st);
            int serial = st == S_WRONG1 || st == S_NOBODY1;
            unsigned want = serial && opt.accounts > LG_SERIAL_MAX ? LG_SERIAL_MAX : opt.accounts;
            if (steps[st].ok != want)
                all_answered = 0;
        }
    }
    printf("{\"label\":\"%s\",\"hub\":\"%s\",\"accounts\":%u,\"flood\":%u,\"conns\":%u,"
           "\"ready\":%u,\"setup_failed\":%u,\"closed_late\":%" PRIu64 ",\"retry_ms\":%u,"
           "\"run_s\":%.3f,\"all_answered\":%s,\"gen_cpu\":%.2f,\"hub_cpu\":%.2f,"
           "\"hub_loop_cpu\":%.2f,\"hub_loop_wait\":%.3f,\"flood_names\":%s,"
           "\"flood_redials\":%" PRIu64 ",\"timed_out\":%s%s}\n",
           opt.label, opt.hub, opt.accounts, opt.flood, nconns, n_ready, n_failed, n_closed_late,
           opt.retry_ms, wall, all_answered ? "true" : "false", wall > 0 ? cpu / wall : 0, hub_cpu,
           loop_cpu, loop_wait, opt.flood_names ? "true" : "false", n_redials,
           timed_out ? "true" : "false", f);
    fflush(stdout);
    if (!opt.quiet) {
        for (enum astep st = opt.flood ? S_FLOOD : S_REGISTER; st < (opt.flood ? S_N : S_FLOOD);
             st++) {
            const struct step_stats *ss = &steps[st];
            double d = ss->t_last > ss->t_first ? secs(ss->t_last - ss->t_first) : 0;
            fprintf(stderr,
                    "%-10s %-8s %" PRIu64 " answered in %.2f s: %.1f/s | p50 %.2f p99 %.2f ms"
                    " | busy (421) %" PRIu64 " | 429 %" PRIu64 " | other %" PRIu64 "\n",
                    opt.label, step_names[st], ss->ok, d, d > 0 ? (double)ss->ok / d : 0,
                    h_quantile_ms(&ss->lat, 0.5), h_quantile_ms(&ss->lat, 0.99), ss->busy,
                    ss->slow, ss->other);
        }
    }
    close_all();
    return all_answered ? 0 : 1;
}

static void usage(void)
{
    fputs("usage: loadgen [OPTION]...\n"
          "  --ws-port N        hub's WebSocket port on 127.0.0.1 (8080)\n"
          "  --tcp-port N       hub's WINTALK port on 127.0.0.1 (5150)\n"
          "  --ws-port2 N --tcp-port2 N  a second gateway sharing the rooms (through\n"
          "                     Redis): every kind of connection, senders too, split\n"
          "                     between the two (even indexes first, odd second)\n"
          "  --ws N             browsers that receive (0)\n"
          "  --tcp N            TCP participants that receive (0)\n"
          "  --senders N        senders, on top of the receivers (0)\n"
          "  --sender-proto P   ws or tcp (ws)\n"
          "  --rate R           messages/s over all senders; 0: window mode (0)\n"
          "  --window W         window mode: messages per sender in flight (32)\n"
          "  --duration S       seconds of sending (10)\n"
          "  --max-msgs N       messages per sender at most (0: no bound)\n"
          "  --hold S           seconds to stay idle after set-up (0)\n"
          "  --drain S          seconds to wait for the last deliveries (5)\n"
          "  --timeout S        the whole run at most (60)\n"
          "  --concurrency N    connects in progress at once (256)\n"
          "  --pad N            pad each message's text to N bytes (0)\n"
          "  --server-pid PID   the hub: its RSS before and after set-up, its CPU share\n"
          "  --metrics-port N   the hub's /metrics on 127.0.0.1: counters over the sending\n"
          "  --server-pid2 PID --metrics-port2 N  the same for the second gateway (its\n"
          "                     CPU and RSS are added to the first's; m2_ counters)\n"
          "  --redis-port N     the shared Redis on 127.0.0.1: its command counts over\n"
          "                     the sending (INFO commandstats; r_ fields)\n"
          "  --redis-pid PID    its process: its CPU share over the sending (redis_cpu)\n"
          "  --accounts N       N wintalk.v2 browsers go through an account's steps,\n"
          "                     all at once, step by step: register, logout, login,\n"
          "                     logout, a wrong password, a nick nobody registered;\n"
          "                     the last two again one at a time (32 browsers)\n"
          "  --flood N          N wintalk.v2 guests log in with wrong passwords to an\n"
          "                     account one more browser registers, one login each in\n"
          "                     flight, from SIGUSR1 until SIGTERM or SIGINT (each\n"
          "                     wait at most --timeout: the set-up, for SIGUSR1, the\n"
          "                     flood)\n"
          "  --flood-names      the flood: each try a new nick nobody registered, the\n"
          "                     browsers in #flood, each connecting again after 10\n"
          "                     wrong answers or a 429 (the gateway's bound per\n"
          "                     connection)\n"
          "  --ready-file PATH  the flood: written once every browser is ready\n"
          "  --login-retry-ms N a request answered 421 or 429 is sent again after N ms\n"
          "                     (100)\n"
          "  --label L --hub H  names in the report\n"
          "  --quiet            no diagnostics\n",
          stderr);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (ARG("--ws-port"))
            opt.ws_port = atoi(v);
        else if (ARG("--tcp-port"))
            opt.tcp_port = atoi(v);
        else if (ARG("--ws-port2"))
            opt.ws_port2 = atoi(v);
        else if (ARG("--tcp-port2"))
            opt.tcp_port2 = atoi(v);
        else if (ARG("--ws"))
            opt.ws_conns = (unsigned)atoi(v);
        else if (ARG("--tcp"))
            opt.tcp_conns = (unsigned)atoi(v);
        else if (ARG("--senders"))
            opt.senders = (unsigned)atoi(v);
        else if (ARG("--sender-proto"))
            opt.sender_proto = strcmp(v, "tcp") == 0 ? P_TCP : P_WS;
        else if (ARG("--rate"))
            opt.rate = atof(v);
        else if (ARG("--window"))
            opt.window = (unsigned)atoi(v);
        else if (ARG("--duration"))
            opt.duration = atof(v);
        else if (ARG("--max-msgs"))
            opt.max_msgs = (unsigned)atoi(v);
        else if (ARG("--hold"))
            opt.hold = atof(v);
        else if (ARG("--drain"))
            opt.drain = atof(v);
        else if (ARG("--timeout"))
            opt.timeout = atof(v);
        else if (ARG("--concurrency"))
            opt.concurrency = (unsigned)atoi(v);
        else if (ARG("--pad"))
            opt.pad = (unsigned)atoi(v);
        else if (ARG("--server-pid"))
            opt.server_pid = atoi(v);
        else if (ARG("--metrics-port"))
            opt.metrics_port = atoi(v);
        else if (ARG("--server-pid2"))
            opt.server_pid2 = atoi(v);
        else if (ARG("--metrics-port2"))
            opt.metrics_port2 = atoi(v);
        else if (ARG("--redis-port"))
            opt.redis_port = atoi(v);
        else if (ARG("--redis-pid"))
            opt.redis_pid = atoi(v);
        else if (ARG("--accounts"))
            opt.accounts = (unsigned)atoi(v);
        else if (ARG("--flood"))
            opt.flood = (unsigned)atoi(v);
        else if (strcmp(a, "--flood-names") == 0)
            opt.flood_names = 1;
        else if (ARG("--ready-file"))
            opt.ready_file = v;
        else if (ARG("--login-retry-ms"))
            opt.retry_ms = (unsigned)atoi(v);
        else if (ARG("--label"))
            opt.label = v;
        else if (ARG("--hub"))
            opt.hub = v;
        else if (strcmp(a, "--quiet") == 0)
            opt.quiet = 1;
        else {
            usage();
            exit(strcmp(a, "--help") == 0 ? 0 : 2);
        }
#undef ARG
    }
    if (opt.senders > LG_MAX_SENDERS)
        die("at most %u senders", LG_MAX_SENDERS);
    if (opt.window < 1 || opt.window > LG_WINDOW_MAX)
        die("window from 1 to %u", LG_WINDOW_MAX);
    if (opt.pad >= LG_TEXT_MAX)
        die("pad below %u", LG_TEXT_MAX);
    if (opt.accounts > LG_ACCOUNTS_MAX || opt.flood > LG_ACCOUNTS_MAX)
        die("at most %u browsers for --accounts or --flood", LG_ACCOUNTS_MAX);
    if ((opt.accounts || opt.flood) &&
        (opt.senders || opt.ws_conns || opt.tcp_conns || (opt.accounts && opt.flood)))
        die("--accounts and --flood run alone (a chat beside them is another run)");
    if (opt.flood_names && !opt.flood)
        die("--flood-names goes with --flood N");
    if (opt.retry_ms > LG_RETRY_MS_MAX)
        die("--login-retry-ms at most %u", LG_RETRY_MS_MAX);
    if ((opt.accounts || opt.flood) && opt.ws_port2)
        die("--accounts and --flood talk to one gateway");
    if (opt.ws_conns + opt.tcp_conns + opt.senders + opt.accounts + opt.flood + 1 > LG_MAX_CONNS)
        die("at most %u connections", LG_MAX_CONNS);
    if (opt.timeout > 60)
        opt.timeout = 60;
    /* Both or neither: half the browsers and half the TCP participants
     * go to the second gateway. */
    if ((opt.ws_port2 > 0) != (opt.tcp_port2 > 0))
        die("--ws-port2 and --tcp-port2 go together");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* The flood's browsers and one more, its target. */
    nconns = opt.ws_conns + opt.tcp_conns + opt.senders + opt.accounts +
             (opt.flood ? opt.flood + 1 : 0);
    if (nconns + 16 > rl.rlim_cur)
        die("%u connections need more than RLIMIT_NOFILE %lu", nconns,
            (unsigned long)rl.rlim_cur);

    rng ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    run_id = (xorshift() % 900000000u) + 100000000u;
    tag = (uint32_t)(run_id % 1000000u);
    if (opt.flood) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }
    t0 = now_ns();
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc(nconns ? nconns : 1, sizeof *conns);
    senders = calloc(opt.senders ? opt.senders : 1, sizeof *senders);
    if (!conns || !senders)
        die("out of memory");
    /* Senders first, then browsers, then TCP receivers. */
    for (unsigned i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->fd = -1;
        c->sender = i < opt.senders ? (int32_t)i : -1;
        unsigned chat = opt.senders + opt.ws_conns + opt.tcp_conns;
        c->proto = (uint8_t)(i < opt.senders ? opt.sender_proto
                             : i < opt.senders + opt.ws_conns ? P_WS
                             : i < chat ? P_TCP : P_WS);
        /* After the chat's: the account browsers, or the flood's target
         * and then its browsers. */
        c->role = (uint8_t)(i < chat ? R_CHAT
                            : opt.accounts ? R_ACCOUNT
                            : i == chat ? R_TARGET : R_FLOOD);
        /* Alternately within each kind (senders, browsers, TCP receivers),
         * so each gateway gets half of every kind; with one sender (fan-out)
         * it is on the first gateway and half its receivers on the other. */
        if (opt.ws_port2) {
            unsigned k = i < opt.senders ? i
                         : i < opt.senders + opt.ws_conns ? i - opt.senders
                                                          : i - opt.senders - opt.ws_conns;
            c->hub = (uint8_t)(k % LG_HUBS_MAX);
        }
        if (opt.senders) {
            c->last_seq = calloc(opt.senders, sizeof *c->last_seq);
            if (!c->last_seq)
                die("out of memory");
        }
    }
    expect_per_msg = nconns ? nconns - 1 : 0;
    for (unsigned s = 0; s < opt.senders; s++) {
        senders[s].conn = s;
        if (opt.rate <= 0) {
            senders[s].cnt = calloc(opt.window, sizeof *senders[s].cnt);
            if (!senders[s].cnt)
                die("out of memory");
        }
    }

    long rss_before = hubs_rss_kib();
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t t_cpu0 = t0, t_drain_check = 0;
    long long hub_ticks0 = -1, redis_ticks0 = -1, loop_ticks0 = -1, loop_delay0 = -1;
    int64_t deadline = t0 + (int64_t)(opt.timeout * 1e9);
    int64_t setup_deadline = t0 + (int64_t)(opt.timeout * 1e9 * 0.6);
    enum { PH_SETUP, PH_HOLD, PH_SEND, PH_DRAIN, PH_DONE } phase = PH_SETUP;
    int64_t phase_end = 0;
    unsigned next_conn = 0;
    long rss_after = -1;
    struct epoll_event evs[512];
    int timed_out = 0;
    double m0[N_METRICS], m1[N_METRICS], m20[N_METRICS], m21[N_METRICS];
    double r0[N_REDIS], r1[N_REDIS];
    int have_m0 = 0, have_m1 = 0, have_m20 = 0, have_m21 = 0, have_r0 = 0, have_r1 = 0;

    while (phase != PH_DONE) {
        int64_t now = now_ns();
        if (now > deadline) {
            timed_out = 1;
            break;
        }
        if (phase == PH_SETUP) {
            while (next_conn < nconns && n_inflight < opt.concurrency)
                conn_start(&conns[next_conn++]);
            if (n_ready + n_failed == nconns) {
                if (!t_setup_end)
                    t_setup_end = now;
                phase = PH_HOLD;
                /* Memory is read after a quiet second. */
                phase_end = now + (int64_t)((opt.hold + (opt.server_pid && !opt.senders ? 1.0 : 0)) *
                                            1e9);
            } else if (now > setup_deadline) {
                fprintf(stderr, "loadgen: set-up timed out: %u ready, %u failed, %u pending\n",
                        n_ready, n_failed, nconns - n_ready - n_failed);
                for (unsigned i = 0; i < nconns; i++)
                    if (conns[i].state != C_READY && conns[i].state != C_DEAD)
                        conn_dead(&conns[i], "set-up timeout");
                t_setup_end = now;
                phase = PH_HOLD;
                phase_end = now;
            }
        }
        if (phase == PH_HOLD && (opt.accounts || opt.flood))
            return accounts_run(deadline);
        if (phase == PH_HOLD && now >= phase_end) {
            rss_after = hubs_rss_kib();
            if (!opt.senders) {
                phase = PH_DONE;
                break;
            }
            phase = PH_SEND;
            /* The hub's counters before the first message (a blocking
             * read of a few ms: the clock starts after it). */
            if (opt.metrics_port && metrics_read(opt.metrics_port, m0) == 0)
                have_m0 = 1;
            if (opt.metrics_port2 && metrics_read(opt.metrics_port2, m20) == 0)
                have_m20 = 1;
            if (opt.redis_port && redis_read(opt.redis_port, r0) == 0)
                have_r0 = 1;
            now = now_ns();
            t_send_start = now;
            /* The generator's CPU share is measured over the sending. */
            getrusage(RUSAGE_SELF, &ru0);
            t_cpu0 = now;
            hub_ticks0 = hubs_ticks();
            loop_ticks0 = loop_ticks();
            loop_delay0 = loop_run_delay();
            redis_ticks0 = cpu_ticks(opt.redis_pid);
            phase_end = now + (int64_t)(opt.duration * 1e9);
            for (unsigned s = 0; s < opt.senders; s++)
                senders[s].next =
                    now + (opt.rate > 0 ? (int64_t)(1e9 * s / opt.rate) : 0);
            /* The ready count defines who must receive every message. */
            expect_per_msg = n_ready ? n_ready - 1 : 0;
        }
        int64_t wake = now + 5000000;
        if (phase == PH_SEND) {
            if (now >= phase_end) {
                phase = PH_DRAIN;
                phase_end = now + (int64_t)(opt.drain * 1e9);
            } else {
                for (unsigned s = 0; s < opt.senders; s++) {
                    struct sender *sd = &senders[s];
                    if (opt.max_msgs && sd->seq >= opt.max_msgs)
                        continue;
                    if (opt.rate > 0) {
                        double period = 1e9 * opt.senders / opt.rate;
                        int guard = 0;
                        while (sd->next <= now && guard++ < 1000) {
                            send_one(sd, now);
                            sd->next += (int64_t)period;
                        }
                        if (sd->next < wake)
                            wake = sd->next;
                    } else {
                        while (sd->seq - sd->low < opt.window &&
                               (!opt.max_msgs || sd->seq < opt.max_msgs) &&
                               conns[sd->conn].state == C_READY &&
                               conn_queued(&conns[sd->conn]) <= LG_OUT_MAX)
                            send_one(sd, now);
                    }
                }
            }
        }
        if (phase == PH_DRAIN && now - t_drain_check > 10000000) {
            t_drain_check = now;
            uint64_t want = 0, got = 0;
            for (unsigned i = 0; i < nconns; i++) {
                struct conn *c = &conns[i];
                if (c->state != C_READY)
                    continue;
                got += c->delivered + c->gaps;
                for (unsigned s = 0; s < opt.senders; s++)
                    if ((int32_t)s != c->sender)
                        want += senders[s].seq;
            }
            if (got >= want || now >= phase_end)
                phase = PH_DONE;
        }
        if (phase == PH_DONE)
            break;
        int timeout_ms = (int)((wake - now + 999999) / 1000000);
        if (timeout_ms < 0)
            timeout_ms = 0;
        if (phase == PH_SEND && opt.rate <= 0)
            timeout_ms = timeout_ms > 1 ? 1 : timeout_ms;
        int k = epoll_wait(ep, evs, 512, timeout_ms);
        for (int i = 0; i < k; i++)
            conn_event(&conns[evs[i].data.u32], evs[i].events);
    }

    int64_t t_end = now_ns();
    /* Every delivery has been seen, so every message it carried was
     * committed (a hub sends an event only once its store has it). */
    if (have_m0 && metrics_read(opt.metrics_port, m1) == 0)
        have_m1 = 1;
    if (have_m20 && metrics_read(opt.metrics_port2, m21) == 0)
        have_m21 = 1;
    if (have_r0 && redis_read(opt.redis_port, r1) == 0)
        have_r1 = 1;
    struct rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                          ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                          ru0.ru_stime.tv_usec) / 1e6;

    /* Verify: every live connection got every message of every other sender. */
    uint64_t sent = 0, expected = 0, delivered = 0, gaps = 0;
    for (unsigned s = 0; s < opt.senders; s++)
        sent += senders[s].seq;
    unsigned alive = 0;
    for (unsigned i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        delivered += c->delivered;
        if (c->state != C_READY)
            continue;
        alive++;
        gaps += c->gaps;
        for (unsigned s = 0; s < opt.senders; s++)
            if ((int32_t)s != c->sender) {
                expected += senders[s].seq;
            }
    }
    uint64_t missing = 0;
    for (unsigned i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->state != C_READY)
            continue;
        for (unsigned s = 0; s < opt.senders; s++)
            if ((int32_t)s != c->sender && c->last_seq[s] < senders[s].seq)
                missing += senders[s].seq - c->last_seq[s];
    }
    missing += gaps;
    /* Everyone meant to receive must have connected, stayed, and got all. */
    int all_delivered =
        opt.senders ? (missing == 0 && n_closed_late == 0 && n_failed == 0 && sent > 0) : 1;

    double setup_s = t_setup_end ? secs(t_setup_end - t0) : secs(t_end - t0);
    int64_t send_end = t_last_delivery > t_send_start ? t_last_delivery : t_end;
    double send_s = t_send_start ? secs(send_end - t_send_start) : 0;
    double dps = send_s > 0 ? (double)delivered / send_s : 0;
    double wall = secs(t_end - t0);
    double cpu_wall = secs(t_end - t_cpu0);
    double hub_cpu = cpu_share(hub_ticks0, hubs_ticks(), cpu_wall);
    double redis_cpu = cpu_share(redis_ticks0, cpu_ticks(opt.redis_pid), cpu_wall);
    double loop_cpu = cpu_share(loop_ticks0, loop_ticks(), cpu_wall);
    double loop_wait = delay_share(loop_delay0, loop_run_delay(), cpu_wall);
    long per_conn = (rss_before >= 0 && rss_after >= 0 && n_ready)
                        ? (rss_after - rss_before) * 1024 / (long)n_ready : -1;

    /* The gateways' and Redis' counters over the sending, and the second
     * gateway's and Redis' figures, when there are. */
    char mfields[(2 * N_METRICS + N_REDIS) * 64 + 256] = "";
    if (have_m1)
        metrics_fields(mfields, sizeof mfields, "m_", m0, m1);
    if (have_m21)
        metrics_fields(mfields, sizeof mfields, "m2_", m20, m21);
    if (have_r1)
        redis_fields(mfields, sizeof mfields, r0, r1);
    {
        size_t ml = strlen(mfields);
        snprintf(mfields + ml, sizeof mfields - ml,
                 ",\"cpu_wall_s\":%.3f,\"hub_loop_cpu\":%.2f,\"hub_loop_wait\":%.3f", cpu_wall,
                 loop_cpu, loop_wait);
    }
    if (opt.ws_port2 || opt.redis_pid) {
        size_t ml = strlen(mfields);
        snprintf(mfields + ml, sizeof mfields - ml,
                 ",\"gateways\":%d,\"cross\":%" PRIu64 ",\"redis_cpu\":%.2f",
                 opt.ws_port2 ? 2 : 1, n_cross, redis_cpu);
    }
    printf("{\"label\":\"%s\",\"hub\":\"%s\",\"conns\":%u,\"senders\":%u,\"sender_proto\":\"%s\","
           "\"rate\":%.0f,\"window\":%u,"
           "\"ready\":%u,\"setup_failed\":%u,\"closed_late\":%" PRIu64 ",\"setup_s\":%.3f,"
           "\"setup_per_s\":%.0f,\"setup_p50_ms\":%.2f,\"setup_p99_ms\":%.2f,"
           "\"sent\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
           ",\"missing\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"stalls\":%" PRIu64 ",\"all_delivered\":%s,"
           "\"send_s\":%.3f,\"deliveries_per_s\":%.0f,\"msgs_per_s\":%.0f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
           "\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"bytes_per_conn\":%ld,"
           "\"gen_cpu\":%.2f,\"hub_cpu\":%.2f,\"wall_s\":%.2f,\"timed_out\":%s%s}\n",
           opt.label, opt.hub, nconns, opt.senders, opt.sender_proto == P_TCP ? "tcp" : "ws",
           opt.rate, opt.window, n_ready, n_failed, n_closed_late, setup_s,
           setup_s > 0 ? n_ready / setup_s : 0, h_quantile_ms(&setup, 0.5),
           h_quantile_ms(&setup, 0.99), sent, expected, delivered, missing, n_dups, n_errors,
           n_stalls, all_delivered ? "true" : "false", send_s, dps,
           send_s > 0 ? (double)sent / send_s : 0, h_quantile_ms(&lat, 0.5),
           h_quantile_ms(&lat, 0.9), h_quantile_ms(&lat, 0.99), h_quantile_ms(&lat, 0.999),
           (double)lat.max_us / 1000.0, rss_before, rss_after, per_conn,
           cpu_wall > 0 ? cpu / cpu_wall : 0, hub_cpu, wall, timed_out ? "true" : "false", mfields);
    fflush(stdout);
    if (!opt.quiet) {
        fprintf(stderr,
                "%-10s %-6s conns %u ready %u failed %u | setup %.2fs %.0f/s | sent %" PRIu64
                " delivered %" PRIu64 "/%" PRIu64 " %s | %.0f deliveries/s | p50 %.2f p90 %.2f "
                "p99 %.2f p99.9 %.2f max %.2f ms | rss/conn %ld B | gen cpu %.0f%% hub cpu %.0f%%\n",
                opt.label, opt.hub, nconns, n_ready, n_failed, setup_s,
                setup_s > 0 ? n_ready / setup_s : 0, sent, delivered, expected,
                all_delivered ? "ok" : "MISSING", dps, h_quantile_ms(&lat, 0.5),
                h_quantile_ms(&lat, 0.9), h_quantile_ms(&lat, 0.99),
                h_quantile_ms(&lat, 0.999), (double)lat.max_us / 1000.0, per_conn,
                100 * (cpu_wall > 0 ? cpu / cpu_wall : 0), 100 * hub_cpu);
    }
    close_all();
    return all_delivered && !n_failed ? 0 : 1;
}
