/*
 * gw_metrics.c - counters and their Prometheus text. Pure: see gw_metrics.h.
 */
#include "gw_metrics.h"

#include <stdarg.h>
#include <stdio.h>

static const int codes[GW_METRICS_CODES] = {421, 429, 451, 452, 500, 501, 502, 503, 504,
                                             530, 550, 552, 553};

static const char *const reject_names[GW_REJ_COUNT] = {
    "rate", "typing_rate", "abuse", "room_rate", "too_large", "malformed", "full",
    "per_address", "origin", "key", "login_timeout", "http_timeout", "stopping",
    "read_rate", "reads_busy", "jwt",
};

static const char *const drop_names[GW_DROP_COUNT] = {"tcp_resync", "web_behind"};

static const char *const transports[GW_METRICS_TRANSPORTS] = {"tcp", "web"};

int gw_metrics_code_index(int code)
{
    for (int i = 0; i < GW_METRICS_CODES; i++)
        if (codes[i] == code)
            return i;
    return -1;
}

void gw_metrics_error(struct gw_metrics *m, int code)
{
    int i = gw_metrics_code_index(code);
    if (i >= 0)
        m->errors[i]++;
}

void gw_metrics_queue(struct gw_metrics *m, int transport, size_t bytes)
{
    if (transport >= 0 && transport < GW_METRICS_TRANSPORTS &&
        bytes > m->queue_high_water[transport])
        m->queue_high_water[transport] = bytes;
}

const char *gw_reject_name(enum gw_reject r)
{
    return (unsigned)r < GW_REJ_COUNT ? reject_names[r] : "unknown";
}

const char *gw_drop_name(enum gw_drop d)
{
    return (unsigned)d < GW_DROP_COUNT ? drop_names[d] : "unknown";
}

struct out {
    char *p;
    size_t len, used;
    int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->used, o->len - o->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->used) {
        o->err = 1;
        return;
    }
    o->used += (size_t)n;
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP wintalk_%s %s\n# TYPE wintalk_%s %s\n", name, help, name, type);
}

static void by_transport(struct out *o, const char *name, const char *type, const char *help,
                         const uint64_t *v)
{
    head(o, name, type, help);
    for (int t = 0; t < GW_METRICS_TRANSPORTS; t++)
        put(o, "wintalk_%s{transport=\"%s\"} %llu\n", name, transports[t],
            (unsigned long long)v[t]);
}

/* One counter or gauge with one value; a duration in µs is written in
 * seconds. */
static void one(struct out *o, const char *name, const char *type, const char *help, uint64_t v,
                int micro)
{
    head(o, name, type, help);
    if (micro)
        put(o, "wintalk_%s %llu.%06llu\n", name, (unsigned long long)(v / 1000000),
            (unsigned long long)(v % 1000000));
    else
        put(o, "wintalk_%s %llu\n", name, (unsigned long long)v);
}

static void store_lines(struct out *o, const struct gw_metrics_store *st)
{
    one(o, "store_healthy", "gauge", "1 when the store takes events.", st->healthy ? 1 : 0, 0);
    one(o, "store_events_stored_total", "counter", "Events committed to the store.",
        st->events_stored, 0);
    one(o, "store_commit_batches_total", "counter",
        "Batches committed (one transaction per turn of the event loop).", st->batches, 0);
    one(o, "store_commit_seconds_total", "counter", "Time the batches took to commit.",
        st->batch_us_sum, 1);
    one(o, "store_commit_seconds_max", "gauge", "The slowest batch commit.", st->batch_us_max, 1);
    one(o, "store_errors_total", "counter", "Failed commits and probes.", st->errors, 0);
    one(o, "store_events_deleted_total", "counter", "Events deleted by retention and with forgotten rooms.",
        st->events_deleted, 0);
    one(o, "store_rooms_forgotten_total", "counter",
        "Rooms deleted from the store: left empty with no message, or emptied by retention.",
        st->rooms_forgotten, 0);
    one(o, "store_reads_total", "counter", "History and search reads answered.", st->reads, 0);
    one(o, "store_search_timeouts_total", "counter", "Searches stopped at their time bound.",
        st->search_timeouts, 0);
    one(o, "store_database_bytes", "gauge", "The database and its write-ahead log.",
        st->db_bytes, 0);
}

int gw_metrics_format(const struct gw_metrics *m, const struct gw_metrics_now *now, char *out,
                      size_t len)
{
    struct out o = {out, len, 0, len == 0};
    uint64_t parts[GW_METRICS_TRANSPORTS];
    for (int t = 0; t < GW_METRICS_TRANSPORTS; t++)
        parts[t] = now->participants[t];
    by_transport(&o, "participants", "gauge", "Participants in the gateway.", parts);
    head(&o, "connections", "gauge", "Connections the hub knows, joined or not.");
    put(&o, "wintalk_connections %u\n", now->connections);
    by_transport(&o, "connections_accepted_total", "counter", "Connections accepted.",
                 m->connections);
    by_transport(&o, "messages_in_total", "counter", "Chat lines and says received.",
                 m->messages_in);
    by_transport(&o, "messages_out_total", "counter", "Chat messages delivered to participants.",
                 m->messages_out);
    by_transport(&o, "bytes_in_total", "counter", "Payload bytes read.", m->bytes_in);
    by_transport(&o, "bytes_out_total", "counter", "Payload bytes written.", m->bytes_out);
    head(&o, "events_total", "counter", "Room events (each has an id).");
    put(&o, "wintalk_events_total %llu\n", (unsigned long long)m->events);
    head(&o, "events_lost_total", "counter",
         "Room events the store did not keep (sent to nobody; a message's sender got 451).");
    put(&o, "wintalk_events_lost_total %llu\n", (unsigned long long)m->events_lost);
    head(&o, "rejections_total", "counter", "Connections and messages refused, by reason.");
    for (int r = 0; r < GW_REJ_COUNT; r++)
        put(&o, "wintalk_rejections_total{reason=\"%s\"} %llu\n", reject_names[r],
            (unsigned long long)m->rejections[r]);
    head(&o, "drops_total", "counter", "Queued output dropped, by reason.");
    for (int d = 0; d < GW_DROP_COUNT; d++)
        put(&o, "wintalk_drops_total{reason=\"%s\"} %llu\n", drop_names[d],
            (unsigned long long)m->drops[d]);
    head(&o, "errors_total", "counter", "Error replies sent, by reply code.");
    for (int i = 0; i < GW_METRICS_CODES; i++)
        put(&o, "wintalk_errors_total{code=\"%d\"} %llu\n", codes[i],
            (unsigned long long)m->errors[i]);
    by_transport(&o, "queue_high_water_bytes", "gauge",
                 "Largest output queue seen, in bytes.", m->queue_high_water);
    head(&o, "output_held_bytes", "gauge",
         "Output held for participants not being closed (queues, unfinished writes), in bytes.");
    put(&o, "wintalk_output_held_bytes %llu\n", (unsigned long long)now->output_bytes);
    head(&o, "output_closing_bytes", "gauge",
         "Output still held for connections being closed, in bytes.");
    put(&o, "wintalk_output_closing_bytes %llu\n", (unsigned long long)now->output_closing_bytes);
    head(&o, "output_limit_bytes", "gauge", "The bound on output held (--max-output-mb), 0: none.");
    put(&o, "wintalk_output_limit_bytes %llu\n", (unsigned long long)now->output_max_bytes);
    by_transport(&o, "output_closed_total", "counter",
                 "Connections closed because the output held passed its bound (largest first).",
                 m->output_closed);
    head(&o, "accounts_known", "gauge",
         "Registered names the gateway knows (to keep them for their owners).");
    put(&o, "wintalk_accounts_known %llu\n", (unsigned long long)now->names_known);
    head(&o, "accounts_walks_total", "counter",
         "Walks of the store's registered names done (at start, then every 30 s).");
    put(&o, "wintalk_accounts_walks_total %llu\n", (unsigned long long)m->names_walks);
    head(&o, "last_event_id", "gauge", "Id of the latest room event.");
    put(&o, "wintalk_last_event_id %llu\n", (unsigned long long)now->last_id);
    head(&o, "ready", "gauge", "1 while accepting connections, 0 while stopping.");
    put(&o, "wintalk_ready %d\n", now->ready ? 1 : 0);
    head(&o, "uptime_seconds", "gauge", "Seconds since the gateway started.");
    put(&o, "wintalk_uptime_seconds %.3f\n", now->uptime_s);
    if (now->store.present)
        store_lines(&o, &now->store);
    return o.err ? -1 : (int)o.used;
}
