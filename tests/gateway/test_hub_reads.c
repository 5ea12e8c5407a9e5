/*
 * test_hub_reads.c - the bounds on a browser's history and search
 * requests, at their exact boundaries: the rate (--read-rate: a burst of
 * twice the rate, then one per 1/rate s; 429 with the request's ref), the
 * reads waiting per browser (429) and in the gateway (GW_READS_MAX: 421,
 * counted as reads_busy), a place freed by an answer taken again.
 *
 * The store here only counts the reads it is given and never answers on
 * its own: the test answers them (gw_hub_store_rows) when it says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_limits.h"
#include "hubtest.h"

struct counting {
    uint64_t tags[GW_READS_MAX + 8];
    size_t n;
};

static int counting_read(void *ctx, const struct gw_store_read *rd)
{
    struct counting *s = ctx;
    assert_true(s->n < sizeof s->tags / sizeof *s->tags);
    s->tags[s->n++] = rd->tag;
    return GW_STORE_PENDING;
}

static int counting_append(void *ctx, const char *key, const char *name,
                           const struct gw_store_event *ev)
{
    (void)ctx, (void)key, (void)name, (void)ev;
    return GW_STORE_DONE;
}

static uint64_t browser(struct gw_hub *h, int i)
{
    char hello[64];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"nick\":\"b%d\"}", i);
    uint64_t pid = ht_web(h, T0, hello);
    free(ht_drain(h, pid));
    return pid;
}

static void request(struct gw_hub *h, uint64_t pid, int64_t now, int ref)
{
    char req[96];
    snprintf(req, sizeof req, "{\"type\":\"history\",\"limit\":2,\"ref\":%d}", ref);
    assert_int_equal(gw_hub_web_input(h, pid, now, req, strlen(req)), GW_OK);
}

/* What pid was sent holds want (and, when ref >= 0, that ref). */
static void sent_has(struct gw_hub *h, uint64_t pid, const char *want, int ref)
{
    char *got = ht_drain(h, pid);
    char r[32];
    snprintf(r, sizeof r, "\"ref\":%d}", ref);
    if (!strstr(got, want) || (ref >= 0 && !strstr(got, r)))
        fail_msg("participant %llu got: %s\nwant: %s (ref %d)", (unsigned long long)pid, got,
                 want, ref);
    free(got);
}

static void the_read_rate_is_a_burst_of_twice_the_rate(void **state)
{
    (void)state;
    /* No store: history comes from the ring at once, so only the rate
     * can refuse. 5 a second: a burst of 10. */
    struct gw_hub_config cfg = {.read_rate = 5};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t a = browser(h, 1);
    for (int i = 0; i < 10; i++) {
        request(h, a, T0 + 1, i);
        sent_has(h, a, "{\"type\":\"history\"", i);
    }
    request(h, a, T0 + 1, 10);
    sent_has(h, a, "{\"type\":\"error\",\"code\":429,\"message\":\"too many history and search "
                   "requests: slow down\"", 10);
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_READ_RATE], 1);
    /* Search counts too, and is refused before any store is asked. */
    const char *search = "{\"type\":\"search\",\"q\":\"green\",\"ref\":11}";
    assert_int_equal(gw_hub_web_input(h, a, T0 + 100, search, strlen(search)), GW_OK);
    sent_has(h, a, "\"code\":429", 11);
    /* 1/5 s after the burst: one more, then none. */
    request(h, a, T0 + 201, 12);
    sent_has(h, a, "{\"type\":\"history\"", 12);
    request(h, a, T0 + 202, 13);
    sent_has(h, a, "\"code\":429", 13);
    /* Idle for long, the bucket holds its burst again, no more. */
    for (int i = 0; i < 10; i++) {
        request(h, a, T0 + 60000, 20 + i);
        sent_has(h, a, "{\"type\":\"history\"", 20 + i);
    }
    request(h, a, T0 + 60000, 30);
    sent_has(h, a, "\"code\":429", 30);
    /* Another browser has its own bucket. */
    uint64_t b = browser(h, 2);
    free(ht_drain(h, a));
    request(h, b, T0 + 202, 14);
    sent_has(h, b, "{\"type\":\"history\"", 14);
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_READ_RATE], 4);
    gw_hub_free(h);
}

static void the_gateway_takes_at_most_its_bound_of_reads(void **state)
{
    (void)state;
    struct counting s = {0};
    struct gw_store st = {.ctx = &s, .kind = "counting", .append = counting_append,
                          .read = counting_read};
    struct gw_hub_config cfg = {.store = &st};
    struct gw_hub *h = ht_hub(cfg);
    enum { PER = GW_READS_PER_PART_MAX, N = GW_READS_MAX / GW_READS_PER_PART_MAX };
    uint64_t p[N + 1];
    for (int i = 0; i <= N; i++)
        p[i] = browser(h, i);
    for (int i = 0; i <= N; i++)
        free(ht_drain(h, p[i])); /* the others' joins */
    /* Each browser at its own bound: GW_READS_MAX in all, every one taken. */
    for (int i = 0; i < N; i++)
        for (int k = 0; k < PER; k++)
            request(h, p[i], T0 + 1, k);
    assert_int_equal(s.n, GW_READS_MAX);
    for (int i = 0; i < N; i++)
        ht_expect(h, p[i], "");
    /* One more, from a browser with none waiting: 421, try later. */
    request(h, p[N], T0 + 1, 99);
    sent_has(h, p[N], "{\"type\":\"error\",\"code\":421,\"message\":\"the gateway is busy "
                      "reading history: try again later\"", 99);
    assert_int_equal(s.n, GW_READS_MAX);
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_READS_BUSY], 1);
    /* A browser at its own bound still hears 429, not 421. */
    request(h, p[0], T0 + 1, 98);
    sent_has(h, p[0], "\"code\":429", 98);
    /* An answer frees a place: the next request is taken. */
    assert_int_equal(gw_hub_store_rows(h, s.tags[0], 0, NULL, 0, 0), GW_OK);
    sent_has(h, p[0], "{\"type\":\"history\"", 0);
    request(h, p[N], T0 + 2, 100);
    ht_expect(h, p[N], "");
    assert_int_equal(s.n, GW_READS_MAX + 1);
    request(h, p[N], T0 + 2, 101);
    sent_has(h, p[N], "\"code\":421", 101);
    assert_int_equal(gw_hub_metrics(h)->rejections[GW_REJ_READS_BUSY], 2);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_read_rate_is_a_burst_of_twice_the_rate),
        cmocka_unit_test(the_gateway_takes_at_most_its_bound_of_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
