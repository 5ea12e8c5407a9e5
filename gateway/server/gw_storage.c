/*
 * gw_storage.c - the gateway program's side of history: the engine the
 * configuration names, wired to the hub, committed once per turn of the
 * event loop. See gw_storage.h.
 */
#include "gw_storage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_accounts_mem.h"
#include "gw_redis.h"
#include "gw_store_redis.h"
#include "gw_store_sqlite.h"

_Static_assert(GW_STORAGE_ERR_MAX >= GW_SQLITE_WHY_MAX_BYTES, "room for the engine's message");

/* Flushes in one turn at most: a flush whose reports make more work (a
 * delivery that appends) gets another, but never forever. */
#define GW_STORAGE_FLUSHES_PER_TURN 4

/* A commit before the turn's end (gw_storage_early) at most this often. */
#define GW_STORAGE_EARLY_MS 1

/* Upkeep (retention, the probe) this often. */
#define GW_STORAGE_TICK_MS 1000

static struct {
    struct gw_sqlite *sq;     /* the sqlite store, or */
    struct gw_rstore *rs;     /* the redis store; neither: memory */
    struct gw_store store;
    struct gw_accounts accounts;        /* the engine's accounts */
    struct gw_accounts_mem *mem;        /* memory: accounts kept in memory */
    int has_accounts;
    struct gw_hub *hub;
    void (*log)(const char *line);
    int64_t (*now)(void);     /* the hub's clock */
    char where[GW_REDIS_HOST_MAX_BYTES + 32]; /* redis: host:port/db, for the log */
    int healthy;              /* as last logged */
    int64_t last_tick;
    int64_t last_commit;      /* the loop's clock at the last flush (ms) */
    uv_loop_t *loop;          /* the program's (gw_storage_open), or NULL */
    uv_poll_t answers;        /* sqlite: its readers' answers wake the loop */
    int answers_on;           /* answers is started, not yet closed */
    char why[GW_SQLITE_WHY_MAX_BYTES];
} st;

static void sink_done(void *ctx, const char *room_key, uint64_t id, int status)
{
    (void)ctx;
    if (st.hub)
        (void)gw_hub_store_done(st.hub, room_key, id, status);
}

static void sink_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                      size_t n, int more)
{
    (void)ctx;
    if (st.hub)
        (void)gw_hub_store_rows(st.hub, tag, status, ev, n, more);
}

static void sink_event(void *ctx, const char *room_key, const struct gw_store_event *ev)
{
    (void)ctx;
    if (st.hub)
        (void)gw_hub_store_event(st.hub, room_key, ev);
}

static void sink_typing(void *ctx, const char *room_key, uint64_t from, const char *json,
                        size_t len)
{
    (void)ctx;
    if (st.hub)
        (void)gw_hub_store_typing(st.hub, room_key, from, json, len);
}

static void sink_loaded(void *ctx, const char *room_key, int status, uint64_t last_id,
                        const struct gw_store_event *ev, size_t n)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_store_loaded(st.hub, room_key, status, last_id, ev, n, st.now());
}

static void sink_ready(void *ctx, const char *room_key)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_store_ready(st.hub, room_key, st.now());
}

static void redis_log(void *arg, const char *line)
{
    (void)arg;
    if (st.log)
        st.log(line);
}

/* The epoch of the shared history, first learnt or changed: the hub's
 * follows, and its wintalk.v2 browsers come back to resume. */
static void redis_epoch(void *arg, uint64_t epoch)
{
    (void)arg;
    if (!st.hub)
        return;
    unsigned n = gw_hub_set_epoch(st.hub, epoch);
    if (st.log) {
        char line[128];
        snprintf(line, sizeof line, "history epoch %016llx (redis); %u browsers sent to resume",
                 (unsigned long long)epoch, n);
        st.log(line);
    }
}

static int open_redis(const struct gw_config *cfg, const struct gw_store_sink *sink, char *err,
                      size_t errlen)
{
    uv_loop_t *loop = st.loop;
    if (!loop) {
        snprintf(err, errlen, "--store redis: no event loop");
        return 70; /* EX_SOFTWARE */
    }
    struct gw_rstore_opts o = {
        .url = cfg->redis_url,
        .max_events = cfg->history_max,
        .history_days = cfg->history_days,
        .log = redis_log,
        .epoch = redis_epoch,
    };
    char why[GW_STORAGE_ERR_MAX - 16];
    int rc = gw_rstore_open(loop, &o, sink, &st.rs, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "--redis: %s", why);
        return rc == GW_STORE_EINVAL ? 64 : 74; /* EX_USAGE, EX_IOERR */
    }
    gw_rstore_store(st.rs, &st.store);
    /* The URL without its password, for the log. */
    struct gw_redis_url u;
    if (gw_redis_url_parse(cfg->redis_url, &u, NULL, 0) == 0)
        snprintf(st.where, sizeof st.where, "%s:%u/%u", u.host, u.port, u.db);
    /* Unhealthy until Redis answers: /readyz says so from the start. */
    st.healthy = 0;
    return 0;
}

static void sink_presence(void *ctx, uint64_t node, const char *json, size_t len)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_presence_apply(st.hub, node, json, len, st.now());
}

static void sink_presence_kept(void *ctx, uint64_t node, const char *json, size_t len,
                               int64_t age_ms)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_presence_kept(st.hub, node, json, len, st.now(), age_ms);
}

static void sink_private_in(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_private_in(st.hub, json, len, st.now());
}

static void sink_private_lost(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_private_lost(st.hub, json, len, st.now());
}

static void sink_ident(void *ctx, uint64_t tag, int status, const struct gw_store_ident *id)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_store_ident(st.hub, tag, status, id, st.now());
}

/* The engine's answer to an account call: to the hub. */
static void sink_account(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_account_answer(st.hub, tag, status, a, st.now());
}

static void sink_keys(void *ctx, uint64_t tag, int status, const char *const *keys, size_t n,
                      const char *next)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_account_keys(st.hub, tag, status, keys, n, next, st.now());
}

static void sink_rooms(void *ctx, uint64_t tag, int status, const struct gw_account_room *rows,
                       size_t n)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_account_rooms(st.hub, tag, status, rows, n, st.now());
}

static void sink_pms(void *ctx, uint64_t tag, int status, const struct gw_account_pm *rows,
                     size_t n)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_account_pms(st.hub, tag, status, rows, n, st.now());
}

/* Another gateway ended sessions of an account (or news may have been
 * missed): to the hub. */
static void sink_moved(void *ctx, const char *key, uint64_t generation, int why)
{
    (void)ctx;
    if (st.hub && st.now)
        (void)gw_hub_account_moved(st.hub, key, generation, why, st.now());
}

static const struct gw_account_sink account_sink = {
    .ctx = NULL, .answer = sink_account, .keys = sink_keys, .rooms = sink_rooms, .pms = sink_pms,
    .moved = sink_moved};

/* A reader of the sqlite store has an answer: report it now, not at the
 * end of the turn (the loop may have nothing else to do until then). */
static void on_answers(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)status;
    (void)events;
    if (st.sq)
        (void)gw_sqlite_flush(st.sq);
}

/* Poll the sqlite store's answers on the program's loop, if there is one
 * (without, they are reported at each turn's end). */
static void watch_answers(void)
{
    uv_loop_t *loop = st.loop;
    if (!loop || uv_poll_init(loop, &st.answers, gw_sqlite_fd(st.sq)) != 0)
        return;
    if (uv_poll_start(&st.answers, UV_READABLE, on_answers) != 0) {
        uv_close((uv_handle_t *)&st.answers, NULL);
        return;
    }
    st.answers_on = 1;
}

int gw_storage_open(const struct gw_config *cfg, uv_loop_t *loop, char *err, size_t errlen)
{
    memset(&st, 0, sizeof st);
    st.loop = loop;
    st.healthy = 1;
    if (strcmp(cfg->store, "memory") == 0) {
        /* Accounts in memory too: lost with the rest on a restart. */
        if (gw_accounts_mem_new(&st.mem, &account_sink) != 0) {
            snprintf(err, errlen, "--store memory: out of memory");
            return 71; /* EX_OSERR */
        }
        gw_accounts_mem_iface(st.mem, &st.accounts);
        st.has_accounts = 1;
        return 0;
    }
    if (strcmp(cfg->store, "redis") == 0) {
        struct gw_store_sink sink = {
            .ctx = NULL, .done = sink_done, .rows = sink_rows, .event = sink_event,
            .typing = sink_typing, .presence = sink_presence,
            .presence_kept = sink_presence_kept, .private_in = sink_private_in,
            .private_lost = sink_private_lost, .ident = sink_ident, .ready = sink_ready,
        };
        int rc = open_redis(cfg, &sink, err, errlen);
        if (rc == 0 && gw_rstore_accounts(st.rs, &account_sink, &st.accounts) == 0)
            st.has_accounts = 1;
        return rc;
    }
    struct gw_sqlite_opts o = {
        .dir = cfg->data_dir,
        .history_days = cfg->history_days,
        .history_max = cfg->history_max,
    };
    struct gw_store_sink sink = {
        .ctx = NULL, .done = sink_done, .rows = sink_rows, .event = sink_event,
        .typing = sink_typing, .loaded = sink_loaded,
    };
    int rc = gw_sqlite_open(&o, &sink, &st.sq, err, errlen);
    if (rc != GW_SQLITE_OK)
        return gw_sqlite_exit_status(rc);
    gw_sqlite_store(st.sq, &st.store);
    gw_sqlite_accounts(st.sq, &account_sink, &st.accounts);
    st.has_accounts = 1;
    watch_answers();
    return 0;
}

const struct gw_accounts *gw_storage_accounts(void)
{
    return st.has_accounts ? &st.accounts : NULL;
}

uint64_t gw_storage_epoch(void)
{
    return st.sq ? gw_sqlite_epoch(st.sq) : 0;
}

const char *gw_storage_path(void)
{
    return st.sq ? gw_sqlite_path(st.sq) : NULL;
}

const struct gw_store *gw_storage_store(void)
{
    return st.sq || st.rs ? &st.store : NULL;
}

int gw_storage_shared(void)
{
    return st.rs != NULL;
}

const char *gw_storage_redis_where(void)
{
    return st.where;
}

void gw_storage_attach(struct gw_hub *h, void (*log)(const char *line), int64_t (*now)(void),
                       uint64_t node)
{
    st.hub = h;
    st.log = log;
    st.now = now;
    if (st.rs)
        (void)gw_rstore_listen(st.rs, node);
}

/* Whether the store takes events, and why not. */
static int healthy(const char **why)
{
    if (st.sq)
        return gw_sqlite_healthy(st.sq, why);
    if (st.rs)
        return gw_rstore_healthy(st.rs, why);
    return 1;
}

void gw_storage_early(void)
{
    if (!st.sq || !st.now || !gw_sqlite_busy(st.sq))
        return;
    int64_t now = st.now();
    if (now - st.last_commit < GW_STORAGE_EARLY_MS)
        return;
    st.last_commit = now;
    (void)gw_sqlite_flush(st.sq);
}

int gw_storage_turn(const char **msg)
{
    if (st.mem)
        (void)gw_accounts_mem_flush(st.mem);
    if (!st.sq && !st.rs)
        return 0;
    if (st.sq && st.now)
        st.last_commit = st.now();
    for (int i = 0; st.sq && i < GW_STORAGE_FLUSHES_PER_TURN; i++) {
        (void)gw_sqlite_flush(st.sq);
        if (!gw_sqlite_busy(st.sq))
            break;
    }
    const char *why = "";
    int ok = healthy(&why);
    if (ok == st.healthy)
        return 0;
    st.healthy = ok;
    if (ok)
        snprintf(st.why, sizeof st.why, "store working again: %s",
                 st.sq ? gw_sqlite_path(st.sq) : "redis");
    else
        snprintf(st.why, sizeof st.why, "store failing, messages are refused (451): %s", why);
    *msg = st.why;
    return 1;
}

void gw_storage_tick(int64_t wall_ms)
{
    if (wall_ms - st.last_tick < GW_STORAGE_TICK_MS)
        return;
    st.last_tick = wall_ms;
    if (st.mem)
        (void)gw_accounts_mem_expire(st.mem, wall_ms);
    if (st.sq)
        gw_sqlite_maintain(st.sq, wall_ms);
    if (st.rs)
        gw_rstore_tick(st.rs, wall_ms);
}

int gw_storage_healthy(const char **why)
{
    return healthy(why);
}

void gw_storage_health_json(struct gw_jw *w, uint64_t epoch)
{
    char hex[24];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)epoch);
    gw_jw_lit(w, "\"store\":{\"kind\":");
    if (st.rs) {
        const char *why = "";
        int ok = gw_rstore_healthy(st.rs, &why);
        gw_jw_lit(w, ok ? "\"redis\",\"healthy\":true}" : "\"redis\",\"healthy\":false,\"error\":");
        if (!ok) {
            gw_jw_str(w, why, strlen(why));
            gw_jw_lit(w, "}");
        }
        /* The ids' epoch is the shared history's, once known. */
        if (gw_rstore_epoch(st.rs))
            epoch = gw_rstore_epoch(st.rs);
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)epoch);
    } else if (!st.sq) {
        gw_jw_lit(w, "\"memory\",\"healthy\":true}");
    } else {
        const char *why = "";
        int ok = gw_sqlite_healthy(st.sq, &why);
        const char *path = gw_sqlite_path(st.sq);
        gw_jw_lit(w, "\"sqlite\",\"path\":");
        gw_jw_str(w, path, strlen(path));
        gw_jw_lit(w, ok ? ",\"healthy\":true" : ",\"healthy\":false,\"error\":");
        if (!ok)
            gw_jw_str(w, why, strlen(why));
        gw_jw_lit(w, "}");
    }
    gw_jw_lit(w, ",\"epoch\":\"");
    gw_jw_lit(w, hex);
    gw_jw_lit(w, "\"");
}

void gw_storage_metrics(struct gw_metrics_store *m)
{
    memset(m, 0, sizeof *m);
    if (st.rs) {
        struct gw_rstore_stats s;
        gw_rstore_stats(st.rs, &s);
        m->present = 1;
        m->healthy = gw_rstore_healthy(st.rs, NULL);
        m->events_stored = s.appended;
        m->errors = s.refused;
        m->events_deleted = s.expired;
        m->rooms_forgotten = s.forgotten;
        return;
    }
    if (!st.sq)
        return;
    struct gw_sqlite_stats s;
    gw_sqlite_stats(st.sq, &s);
    m->present = 1;
    m->healthy = gw_sqlite_healthy(st.sq, NULL);
    m->events_stored = s.events_stored;
    m->batches = s.batches;
    m->batch_us_sum = s.batch_us_sum;
    m->batch_us_max = s.batch_us_max;
    m->errors = s.errors;
    m->events_deleted = s.events_deleted;
    m->rooms_forgotten = s.rooms_forgotten;
    m->reads = s.reads;
    m->search_timeouts = s.search_timeouts;
    m->db_bytes = s.db_bytes;
}

void gw_storage_leave_loop(void)
{
    /* On a start that failed, the loop may have closed it already. */
    if (st.answers_on && !uv_is_closing((uv_handle_t *)&st.answers))
        uv_close((uv_handle_t *)&st.answers, NULL);
    st.answers_on = 0;
}

void gw_storage_close(void)
{
    gw_storage_leave_loop();
    if (st.mem) {
        gw_accounts_mem_free(st.mem);
        st.mem = NULL;
        st.has_accounts = 0;
    }
    if (st.rs) {
        gw_rstore_close(st.rs);
        st.rs = NULL;
        st.hub = NULL;
        return;
    }
    if (!st.sq)
        return;
    (void)gw_sqlite_flush(st.sq);
    gw_sqlite_close(st.sq);
    st.sq = NULL;
    st.hub = NULL;
}
