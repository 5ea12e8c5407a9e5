/*
 * gw_metrics.h - the gateway's counters, and their Prometheus text form.
 *
 * Pure: no I/O, no clock. The hub counts what it sees (messages, replies,
 * drops, queue high-water marks); the adapter counts what only it sees
 * (bytes on the wire, connections refused before they reach the hub). The
 * HTTP side only asks gw_metrics_format for the text of /metrics.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Transports, in the order of enum gw_via (gw_hub.h). */
#define GW_METRICS_TRANSPORTS 2

/* Why a connection or a message was refused. */
enum gw_reject {
    GW_REJ_RATE,          /* a line or say over --rate (429) */
    GW_REJ_TYPING_RATE,   /* a typing update over --typing-rate (429) */
    GW_REJ_ABUSE,         /* disconnected for flooding */
    GW_REJ_ROOM_RATE,     /* a new room over --room-rate (429) */
    GW_REJ_TOO_LARGE,     /* a line, frame, JSON message or nick too large (552) */
    GW_REJ_MALFORMED,     /* unreadable input (500) */
    GW_REJ_FULL,          /* --max-participants reached (421) */
    GW_REJ_PER_ADDRESS,   /* --max-per-address reached (421, HTTP 503) */
    GW_REJ_ORIGIN,        /* a WebSocket from another origin (HTTP 403) */
    GW_REJ_KEY,           /* a wrong or missing access key (530) */
    GW_REJ_LOGIN_TIMEOUT, /* never joined within --login-timeout */
    GW_REJ_HTTP_TIMEOUT,  /* an HTTP request slower than --http-timeout */
    GW_REJ_STOPPING,      /* arrived while the gateway was stopping */
    GW_REJ_READ_RATE,     /* a history or search request over --read-rate (429) */
    GW_REJ_READS_BUSY,    /* a read past GW_READS_MAX in the gateway (421) */
    GW_REJ_JWT,           /* a hello's site token that logged nobody in (530, 553, ...) */
    GW_REJ_COUNT
};

/* Why queued output was dropped. */
enum gw_drop {
    GW_DROP_TCP_RESYNC,   /* a TCP queue overflowed: replaced by one R */
    GW_DROP_WEB_BEHIND,   /* a browser fell too far behind: closed 4421 */
    GW_DROP_COUNT
};

/* Reply codes counted as errors (sent to a participant). */
#define GW_METRICS_CODES 13

struct gw_metrics {
    uint64_t connections[GW_METRICS_TRANSPORTS]; /* accepted into the hub */
    uint64_t messages_in[GW_METRICS_TRANSPORTS]; /* lines and says received */
    uint64_t messages_out[GW_METRICS_TRANSPORTS]; /* messages delivered to queues */
    uint64_t bytes_in[GW_METRICS_TRANSPORTS];    /* payload bytes read */
    uint64_t bytes_out[GW_METRICS_TRANSPORTS];   /* payload bytes written */
    uint64_t events;                             /* room events (ids given) */
    uint64_t events_lost;                        /* not kept by the store: sent to nobody */
    uint64_t names_walks;     /* walks of the store's registered names done */
    uint64_t rejections[GW_REJ_COUNT];
    uint64_t drops[GW_DROP_COUNT];
    uint64_t errors[GW_METRICS_CODES];           /* by gw_metrics_code_index */
    uint64_t queue_high_water[GW_METRICS_TRANSPORTS]; /* bytes */
    /* closed for the gateway-wide bound on output (--max-output-mb) */
    uint64_t output_closed[GW_METRICS_TRANSPORTS];
};

/* The history store's figures at the time of the scrape (an engine on
 * disk; none for the memory store). */
struct gw_metrics_store {
    int present;              /* 0: no such lines at all */
    int healthy;
    uint64_t events_stored, batches, batch_us_sum, batch_us_max, errors, events_deleted,
        reads, search_timeouts, db_bytes;
    uint64_t rooms_forgotten;
};

/* Gauges read at the time of the scrape. */
struct gw_metrics_now {
    unsigned participants[GW_METRICS_TRANSPORTS];
    unsigned connections;     /* known to the hub, joined or not */
    uint64_t last_id;
    double uptime_s;
    int ready;                /* 1 when accepting */
    uint64_t output_bytes;    /* output held for participants not closing */
    uint64_t output_closing_bytes; /* ... and for those closing */
    uint64_t output_max_bytes; /* its bound (--max-output-mb), 0: none */
    struct gw_metrics_store store;
    size_t names_known;       /* registered names the hub knows (gw_names.c) */
};

/* Index of a reply code in errors[], or -1 for a code not counted. */
int gw_metrics_code_index(int code);

/* Count one error reply of this code (ignored if not counted). */
void gw_metrics_error(struct gw_metrics *m, int code);

/* Note a queue's size; keeps the high-water mark per transport. */
void gw_metrics_queue(struct gw_metrics *m, int transport, size_t bytes);

/* Label value of a reason (e.g. "rate"); never NULL. */
const char *gw_reject_name(enum gw_reject r);
const char *gw_drop_name(enum gw_drop d);

/*
 * Write the Prometheus text exposition (version 0.0.4) of m and now into
 * out (len bytes, NUL-terminated). Returns the length written, or -1 when
 * it does not fit (GW_METRICS_TEXT_MAX bytes always do).
 */
#define GW_METRICS_TEXT_MAX 12288u
int gw_metrics_format(const struct gw_metrics *m, const struct gw_metrics_now *now, char *out,
                      size_t len);

#endif /* GW_METRICS_H */
