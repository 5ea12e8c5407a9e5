/*
 * hubtest.h - helpers for the hub's CMocka tests: make a hub, connect
 * participants, feed them, and take everything a participant is sent as
 * one string (each write followed by '|'), to assert exact sequences.
 * Include after cmocka.h.
 */
#ifndef HUBTEST_H
#define HUBTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub.h"

#define T0 1795555200000LL

static inline struct gw_hub *ht_hub(struct gw_hub_config cfg)
{
    struct gw_hub *h;
    cfg.headroom = 16;
    assert_int_equal(gw_hub_new(&h, &cfg), GW_OK);
    return h;
}

/* Everything waiting for pid, each write followed by '|'. Caller frees. */
static inline char *ht_drain(struct gw_hub *h, uint64_t pid)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    struct gw_buf *b;
    assert_non_null(out);
    while (gw_hub_take(h, pid, &b) == 1) {
        while (len + b->len + 2 > cap) {
            out = realloc(out, cap *= 2);
            assert_non_null(out);
        }
        memcpy(out + len, gw_buf_bytes(b), b->len);
        len += b->len;
        out[len++] = '|';
        gw_buf_unref(b);
    }
    out[len] = '\0';
    return out;
}

static inline void ht_expect(struct gw_hub *h, uint64_t pid, const char *want)
{
    char *got = ht_drain(h, pid);
    if (strcmp(got, want) != 0)
        fail_msg("participant %llu\n got: %s\nwant: %s", (unsigned long long)pid, got, want);
    free(got);
}

static inline uint64_t ht_tcp(struct gw_hub *h, int64_t now)
{
    uint64_t pid;
    assert_int_equal(gw_hub_connect(h, GW_VIA_TCP, NULL, now, &pid), GW_OK);
    return pid;
}

/* A browser, and its hello when one is given. */
static inline uint64_t ht_web(struct gw_hub *h, int64_t now, const char *hello)
{
    uint64_t pid;
    assert_int_equal(gw_hub_connect(h, GW_VIA_WEB, NULL, now, &pid), GW_OK);
    if (hello)
        assert_int_equal(gw_hub_web_input(h, pid, now, hello, strlen(hello)), GW_OK);
    return pid;
}

/* Raw WINTALK bytes from a TCP participant. */
static inline void ht_in(struct gw_hub *h, uint64_t pid, int64_t now, const char *s)
{
    assert_int_equal(gw_hub_tcp_input(h, pid, now, s, strlen(s)), GW_OK);
}

/* Resume tokens from a source that is not random (cfg.random). */
static inline int ht_random(void *ctx, void *buf, size_t len)
{
    static unsigned calls;
    (void)ctx;
    memset(buf, (int)++calls, len);
    return 0;
}

/* A wintalk.v2 browser, not yet said hello. */
static inline uint64_t ht_v2(struct gw_hub *h, int64_t now)
{
    uint64_t pid;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, now, &pid), GW_OK);
    return pid;
}

/* A browser's message msg. */
static inline void ht_send(struct gw_hub *h, uint64_t pid, int64_t now, const char *msg)
{
    assert_int_equal(gw_hub_web_input(h, pid, now, msg, strlen(msg)), GW_OK);
}

/* got holds want. */
static inline void ht_has(const char *got, const char *want)
{
    if (!strstr(got, want))
        fail_msg("got: %s\nwant in it: %s", got, want);
}

/* How many times what is in s. */
static inline int ht_count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

#endif /* HUBTEST_H */
