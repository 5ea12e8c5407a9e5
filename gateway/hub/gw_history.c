/*
 * gw_history.c - a room's ring of recent events and reading it back after
 * an id. Pure: no I/O, no clock, no logging; see gw_history.h.
 */
#include "gw_history.h"

#include <stdlib.h>

#include "gw_hub.h"
#include "gw_limits.h"

void gw_history_init(struct gw_history *hi, uint64_t after)
{
    hi->ring = NULL;
    hi->cap = hi->head = hi->count = hi->bytes = 0;
    hi->next_id = after + 1;
}

/* The i-th entry kept, oldest first (i < count). */
static const struct gw_hist_entry *entry(const struct gw_history *hi, size_t i)
{
    return &hi->ring[(hi->head + i) % hi->cap];
}

void gw_history_free(struct gw_history *hi)
{
    for (size_t i = 0; i < hi->count; i++)
        gw_buf_unref(entry(hi, i)->json);
    free(hi->ring);
    hi->ring = NULL;
    hi->cap = hi->head = hi->count = hi->bytes = 0;
}

uint64_t gw_history_new_id(struct gw_history *hi)
{
    return hi->next_id++;
}

void gw_history_skip(struct gw_history *hi, uint64_t last_id)
{
    if (last_id >= hi->next_id)
        hi->next_id = last_id + 1;
}

uint64_t gw_history_last_id(const struct gw_history *hi)
{
    return hi->next_id - 1;
}

size_t gw_history_bytes(const struct gw_history *hi)
{
    return hi->bytes;
}

/* Double the ring (up to GW_HISTORY_MAX_EVENTS), oldest entry first in the
 * new one. Returns 0, or -1 when out of memory (the ring is unchanged). */
static int grow(struct gw_history *hi)
{
    size_t ncap = hi->cap ? hi->cap * 2 : GW_HISTORY_START_EVENTS;
    if (ncap > GW_HISTORY_MAX_EVENTS)
        ncap = GW_HISTORY_MAX_EVENTS;
    struct gw_hist_entry *n = malloc(ncap * sizeof(*n));
    if (!n)
        return -1;
    for (size_t i = 0; i < hi->count; i++)
        n[i] = *entry(hi, i);
    free(hi->ring);
    hi->ring = n;
    hi->cap = ncap;
    hi->head = 0;
    return 0;
}

static void drop_oldest(struct gw_history *hi)
{
    struct gw_hist_entry *old = &hi->ring[hi->head];
    hi->bytes -= old->json->len;
    gw_buf_unref(old->json);
    hi->head = (hi->head + 1) % hi->cap;
    hi->count--;
}

void gw_history_add(struct gw_history *hi, uint64_t id, struct gw_buf *json)
{
    while (hi->count &&
           (hi->count >= GW_HISTORY_MAX_EVENTS ||
            hi->bytes + json->len > GW_HISTORY_MAX_BYTES))
        drop_oldest(hi);
    if (hi->count == hi->cap && (hi->cap >= GW_HISTORY_MAX_EVENTS || grow(hi) != 0)) {
        if (!hi->cap)
            return; /* no ring at all: the event is not kept */
        drop_oldest(hi);
    }
    struct gw_hist_entry *e = &hi->ring[(hi->head + hi->count) % hi->cap];
    e->id = id;
    e->json = gw_buf_ref(json);
    hi->count++;
    hi->bytes += json->len;
}

int gw_history_read_after(const struct gw_history *hi, uint64_t last_id, size_t max_bytes,
                          struct gw_history_cursor *c)
{
    /* Which retained events to send: all after last_id, or the latest few
     * on a first visit; gap when some of those after last_id are gone. */
    uint64_t latest = hi->next_id - 1;
    uint64_t oldest = hi->count ? entry(hi, 0)->id : hi->next_id;
    int gap = 0;
    size_t from = 0;
    if (last_id == 0 || last_id > latest) {
        gap = last_id > latest;
        from = hi->count > GW_WELCOME_RECENT ? hi->count - GW_WELCOME_RECENT : 0;
    } else {
        gap = oldest > last_id + 1;
        while (from < hi->count && entry(hi, from)->id <= last_id)
            from++;
    }
    size_t bytes = 0;
    for (size_t i = from; i < hi->count; i++)
        bytes += entry(hi, i)->json->len + 1;
    while (bytes > max_bytes && from < hi->count) {
        bytes -= entry(hi, from)->json->len + 1;
        from++;
        gap = 1;
    }
    c->hi = hi;
    c->next = from;
    c->end = hi->count;
    return gap;
}

struct gw_buf *gw_history_next(struct gw_history_cursor *c)
{
    if (c->next >= c->end)
        return NULL;
    return entry(c->hi, c->next++)->json;
}

int gw_history_read_before(const struct gw_history *hi, uint64_t before, size_t limit,
                           struct gw_history_cursor *c)
{
    size_t end = hi->count;
    if (before)
        while (end && entry(hi, end - 1)->id >= before)
            end--;
    size_t from = end > limit ? end - limit : 0;
    c->hi = hi;
    c->next = from;
    c->end = end;
    return from > 0;
}

int gw_history_read_range_after(const struct gw_history *hi, uint64_t after, size_t limit,
                                struct gw_history_cursor *c)
{
    size_t from = 0;
    while (from < hi->count && entry(hi, from)->id <= after)
        from++;
    size_t end = hi->count - from > limit ? from + limit : hi->count;
    c->hi = hi;
    c->next = from;
    c->end = end;
    return end < hi->count;
}

/* The index of the event id in the ring (ids grow from the oldest: a
 * binary search), or count when it is not there. */
static size_t index_of(const struct gw_history *hi, uint64_t id)
{
    size_t lo = 0, hi_i = hi->count;
    while (lo < hi_i) {
        size_t mid = lo + (hi_i - lo) / 2;
        uint64_t m = entry(hi, mid)->id;
        if (m == id)
            return mid;
        if (m < id)
            lo = mid + 1;
        else
            hi_i = mid;
    }
    return hi->count;
}

struct gw_buf *gw_history_find(const struct gw_history *hi, uint64_t id)
{
    size_t i = index_of(hi, id);
    return i < hi->count ? entry(hi, i)->json : NULL;
}

int gw_history_replace(struct gw_history *hi, uint64_t id, struct gw_buf *json)
{
    size_t i = index_of(hi, id);
    if (i == hi->count)
        return -1;
    struct gw_hist_entry *e = &hi->ring[(hi->head + i) % hi->cap];
    hi->bytes = hi->bytes - e->json->len + json->len;
    gw_buf_unref(e->json);
    e->json = gw_buf_ref(json);
    return 0;
}

size_t gw_history_count(const struct gw_history *hi)
{
    return hi->count;
}

struct gw_buf *gw_history_at(const struct gw_history *hi, size_t i, uint64_t *id)
{
    const struct gw_hist_entry *e = entry(hi, i);
    *id = e->id;
    return e->json;
}
