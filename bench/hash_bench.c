/*
 * hash_bench.c - what a password's Argon2id hash costs on this machine.
 *
 *   hash_bench [N]
 *
 * Prints, for N hashes each (40 by default):
 *   - one hash at a time on this thread (gw_password_hash), with the
 *     gateway's parameters (server/gw_hasher.h): the median, best and
 *     worst milliseconds;
 *   - the same for the candidates the parameters were chosen from
 *     (libargon2 directly: m=19 MiB t=2, m=46 MiB t=1, m=64 MiB t=3, all
 *     p=1), so that the choice can be measured again;
 *   - the pool (gw_hasher_open on a libuv loop) with 1 and 2 threads: N
 *     hashes queued at once, the time until the last answer, hashes per
 *     second.
 * Not a test: nothing is checked but that every hash succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <uv.h>

#include "gw_hasher.h"

static const char PW[] = "correct horse battery staple";

static double now_ms(void)
{
    return (double)uv_hrtime() / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, by_value);
    printf("%-44s median %6.1f ms  best %6.1f ms  worst %6.1f ms  (%d hashes)\n", what, ms[n / 2],
           ms[0], ms[n - 1], n);
}

/* One hash at a time with the gateway's own function. */
static int sync_gateway(int n)
{
    double *ms = calloc((size_t)n, sizeof *ms);
    char phc[GW_HASH_PHC_SIZE];
    for (int i = 0; i < n; i++) {
        double t = now_ms();
        if (gw_password_hash(PW, sizeof PW - 1, phc, sizeof phc) != GW_HASH_OK) {
            fprintf(stderr, "hash_bench: gw_password_hash failed\n");
            return -1;
        }
        ms[i] = now_ms() - t;
    }
    char what[96];
    snprintf(what, sizeof what, "m=%u KiB t=%u p=%u (the gateway's)", GW_HASH_M_KIB, GW_HASH_T,
             GW_HASH_P);
    report(what, ms, n);
    free(ms);
    return 0;
}

/* A candidate setting, through the library. */
static int sync_candidate(int n, uint32_t m_kib, uint32_t t)
{
    double *ms = calloc((size_t)n, sizeof *ms);
    unsigned char salt[GW_HASH_SALT_BYTES] = "0123456789abcde";
    char phc[GW_HASH_PHC_SIZE];
    for (int i = 0; i < n; i++) {
        salt[0] = (unsigned char)i;
        double start = now_ms();
        if (argon2id_hash_encoded(t, m_kib, 1, PW, sizeof PW - 1, salt, sizeof salt,
                                  GW_HASH_OUT_BYTES, phc, sizeof phc) != ARGON2_OK) {
            fprintf(stderr, "hash_bench: argon2id_hash_encoded failed\n");
            return -1;
        }
        ms[i] = now_ms() - start;
    }
    char what[96];
    snprintf(what, sizeof what, "m=%u KiB t=%u p=1 (candidate)", (unsigned)m_kib, (unsigned)t);
    report(what, ms, n);
    free(ms);
    return 0;
}

static int answered, failed;

static void on_done(void *ctx, uint64_t tag, int status, const char *phc)
{
    (void)ctx;
    (void)tag;
    (void)phc;
    answered++;
    failed += status != GW_HASH_OK;
}

/* n hashes queued at once on a pool of threads. */
static int pool(int n, unsigned threads)
{
    uv_loop_t loop;
    struct gw_hasher *h;
    if (uv_loop_init(&loop) != 0 ||
        gw_hasher_open(&h, &loop, threads, (unsigned)n, on_done, NULL) != GW_HASH_OK) {
        fprintf(stderr, "hash_bench: no pool\n");
        return -1;
    }
    answered = failed = 0;
    double t = now_ms();
    for (int i = 0; i < n; i++)
        if (gw_hasher_hash(h, (uint64_t)i, PW, sizeof PW - 1) != GW_HASH_OK) {
            fprintf(stderr, "hash_bench: refused\n");
            return -1;
        }
    while (answered < n)
        uv_run(&loop, UV_RUN_ONCE);
    double total = now_ms() - t;
    gw_hasher_close(h);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (failed) {
        fprintf(stderr, "hash_bench: %d hashes failed\n", failed);
        return -1;
    }
    printf("pool, %u thread%s: %d hashes in %.0f ms: %.1f hashes/s (%.1f ms each)\n", threads,
           threads == 1 ? " " : "s", n, total, n * 1000.0 / total, total / n);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 40;
    if (n < 1 || n > (int)GW_HASH_QUEUE_CEILING) {
        fprintf(stderr, "usage: hash_bench [N: 1..%u hashes]\n", GW_HASH_QUEUE_CEILING);
        return 2;
    }
    if (sync_gateway(n) || sync_candidate(n, 19456, 2) || sync_candidate(n, 47104, 1) ||
        sync_candidate(n, 65536, 3) || pool(n, 1) || pool(n, 2))
        return 1;
    return 0;
}
