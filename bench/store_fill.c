/*
 * store_fill.c - fill a data directory through the SQLite store engine, so
 * a benchmark can measure what a gateway does with a big history (its
 * startup with 1,000,000 events kept, scrollback, search).
 *
 *     store_fill [--lobby] DIR N ROOMS [BATCH]
 *
 * writes N message events spread over ROOMS rooms (#room1..#roomROOMS;
 * with --lobby the first is #lobby instead of #room1, the room a gateway
 * loads as it starts, so that its startup reads a full room),
 * each room's ids going on from what DIR already holds, with JSON and
 * transcript lines shaped as the gateway writes them and a few words of
 * text, BATCH appends per flush (default 1000, as a busy loop turn would
 * have), then prints how many events per second were written, and how long
 * a reopen with one load of each room's latest events took. Exit status 0,
 * 1 when a batch failed, or the store's own (sysexits) when DIR cannot be
 * opened.
 *
 * Not a test and not part of the gateway: the engine's own API, nothing
 * else.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_json.h"
#include "gw_store_sqlite.h"

#define ROOMS_MAX 10000u
#define BATCH_DEFAULT 1000u
#define LOAD_EVENTS 200u            /* as a room's ring holds at startup */
#define LOAD_BYTES (256u * 1024u)

static const char *const words[] = {
    "hola", "qué", "tal", "the", "build", "is", "green", "again", "who", "broke", "main",
    "lunch", "at", "noon", "I", "pushed", "a", "fix", "for", "the", "flaky", "test", "ok",
    "thanks", "see", "you", "tomorrow", "café", "deploy", "tonight", "review", "please",
};

struct tally {
    uint64_t done, failed;
};

static void on_done(void *ctx, const char *room, uint64_t id, int status)
{
    struct tally *t = ctx;
    (void)room;
    (void)id;
    if (status == GW_STORE_DONE)
        t->done++;
    else
        t->failed++;
}

static void on_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    (void)ctx, (void)tag, (void)status, (void)ev, (void)n, (void)more;
}

static void on_each(void *arg, const struct gw_store_event *ev)
{
    (void)ev;
    (*(uint64_t *)arg)++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_store(const char *dir, struct gw_store_sink *sink, struct gw_sqlite **s)
{
    struct gw_sqlite_opts o = {.dir = dir};
    char err[GW_SQLITE_WHY_MAX_BYTES];
    int rc = gw_sqlite_open(&o, sink, s, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "store_fill: %s\n", err);
    return rc;
}

int main(int argc, char **argv)
{
    int lobby = argc > 1 && strcmp(argv[1], "--lobby") == 0;
    argc -= lobby;
    argv += lobby;
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: store_fill [--lobby] DIR N ROOMS [BATCH]\n");
        return 64;
    }
    const char *dir = argv[1];
    unsigned long long n = strtoull(argv[2], NULL, 10);
    unsigned long rooms = strtoul(argv[3], NULL, 10);
    unsigned long batch = argc == 5 ? strtoul(argv[4], NULL, 10) : BATCH_DEFAULT;
    if (rooms < 1 || rooms > ROOMS_MAX || batch < 1) {
        fprintf(stderr, "store_fill: ROOMS is 1..%u, BATCH at least 1\n", ROOMS_MAX);
        return 64;
    }

    struct tally t = {0};
    struct gw_store_sink sink = {.ctx = &t, .done = on_done, .rows = on_rows};
    struct gw_sqlite *s = NULL;
    int rc = open_store(dir, &sink, &s);
    if (rc != 0)
        return gw_sqlite_exit_status(rc);
    struct gw_store st;
    gw_sqlite_store(s, &st);

    uint64_t *next = calloc(rooms, sizeof *next);
    char (*keys)[16] = calloc(rooms, sizeof *keys);
    if (!next || !keys) {
        fprintf(stderr, "store_fill: out of memory\n");
        return 71;
    }
    for (unsigned long r = 0; r < rooms; r++) {
        if (lobby && r == 0)
            snprintf(keys[r], sizeof keys[r], "#lobby");
        else
            snprintf(keys[r], sizeof keys[r], "#room%lu", r + 1);
        uint64_t last = 0;
        st.load(st.ctx, keys[r], 0, 0, &last, NULL, NULL);
        next[r] = last + 1;
    }

    srand(1);
    int64_t t0_ms = wall_ms() - (int64_t)n * 100; /* one event every 100 ms, ending now */
    double t0 = now_s();
    unsigned long in_batch = 0;
    for (unsigned long long i = 0; i < n; i++) {
        unsigned long r = (unsigned long)rand() % rooms;
        char text[256], json[1024], line[512];
        size_t tl = 0;
        int nw = 3 + rand() % 12;
        for (int w = 0; w < nw; w++)
            tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s%s", w ? " " : "",
                                   words[(size_t)rand() % (sizeof words / sizeof *words)]);
        int64_t time_ms = t0_ms + (int64_t)i * 100;
        unsigned pid = 1 + (unsigned)rand() % 50;
        int jl = snprintf(json, sizeof json,
                          "{\"type\":\"message\",\"room\":\"%s\",\"id\":%" PRIu64
                          ",\"time\":%" PRId64 ",\"pid\":%u,\"nick\":\"user%u\","
                          "\"via\":\"%s\",\"text\":\"%s\"}",
                          keys[r], next[r], time_ms, pid, pid, pid % 3 ? "web" : "tcp", text);
        int ll = snprintf(line, sizeof line, "user%u: %s", pid, text);
        struct gw_store_event ev = {
            .id = next[r]++, .time_ms = time_ms, .type = GW_EV_MESSAGE,
            .json = json, .json_len = (size_t)jl, .line = line, .line_len = (size_t)ll,
            .text = text, .text_len = tl,
        };
        if (st.append(st.ctx, keys[r], keys[r], &ev) != GW_STORE_PENDING) {
            fprintf(stderr, "store_fill: append refused\n");
            return 1;
        }
        if (++in_batch == batch) {
            gw_sqlite_flush(s);
            gw_sqlite_maintain(s, wall_ms());
            in_batch = 0;
        }
    }
    gw_sqlite_flush(s);
    double secs = now_s() - t0;
    struct gw_sqlite_stats stats;
    gw_sqlite_stats(s, &stats);
    const char *why = "";
    int healthy = gw_sqlite_healthy(s, &why);
    gw_sqlite_close(s);
    if (t.failed || !healthy) {
        fprintf(stderr, "store_fill: %" PRIu64 " completions failed: %s\n", t.failed, why);
        return 1;
    }
    printf("store_fill: %llu events in %lu rooms in %.2f s: %.0f events/s written "
           "(%" PRIu64 " batches, commit max %.1f ms, mean %.2f ms; database %.1f MB)\n",
           n, rooms, secs, secs > 0 ? (double)n / secs : 0.0, stats.batches,
           (double)stats.batch_us_max / 1000.0,
           stats.batches ? (double)stats.batch_us_sum / (double)stats.batches / 1000.0 : 0.0,
           (double)stats.db_bytes / 1e6);

    /* What a gateway's startup does with it: open, and each room's latest. */
    double t1 = now_s();
    if ((rc = open_store(dir, &sink, &s)) != 0)
        return gw_sqlite_exit_status(rc);
    gw_sqlite_store(s, &st);
    uint64_t loaded = 0;
    for (unsigned long r = 0; r < rooms; r++) {
        uint64_t last = 0;
        st.load(st.ctx, keys[r], LOAD_EVENTS, LOAD_BYTES, &last, on_each, &loaded);
    }
    double open_ms = (now_s() - t1) * 1000.0;
    gw_sqlite_close(s);
    printf("store_fill: reopen and load of %lu rooms (%" PRIu64 " events): %.1f ms\n", rooms,
           loaded, open_ms);
    free(next);
    free(keys);
    return 0;
}
