/*
 * gw_history.c - the ring of recent room events and reading it back after
 * an id. Pure: no I/O, no clock, no logging; see gw_history.h.
 */
#include "gw_history.h"

#include <stdlib.h>

#include "gw_hub.h"
#include "gw_limits.h"

int gw_history_init(struct gw_history *hi)
{
    hi->ring = calloc(GW_HISTORY_MAX_EVENTS, sizeof(*hi->ring));
    hi->head = hi->count = hi->bytes = 0;
    hi->next_id = 1;
    return hi->ring ? GW_OK : GW_ENOMEM;
}

/* The i-th entry kept, oldest first (i < count). */
static const struct gw_hist_entry *entry(const struct gw_history *hi, size_t i)
{
    return &hi->ring[(hi->head + i) % GW_HISTORY_MAX_EVENTS];
}

void gw_history_free(struct gw_history *hi)
{
    for (size_t i = 0; i < hi->count; i++)
        gw_buf_unref(entry(hi, i)->json);
    free(hi->ring);
}

uint64_t gw_history_new_id(struct gw_history *hi)
{
    return hi->next_id++;
}

uint64_t gw_history_last_id(const struct gw_history *hi)
{
    return hi->next_id - 1;
}

size_t gw_history_bytes(const struct gw_history *hi)
{
    return hi->bytes;
}

void gw_history_add(struct gw_history *hi, uint64_t id, struct gw_buf *json)
{
    while (hi->count &&
           (hi->count >= GW_HISTORY_MAX_EVENTS ||
            hi->bytes + json->len > GW_HISTORY_MAX_BYTES)) {
        struct gw_hist_entry *old = &hi->ring[hi->head];
        hi->bytes -= old->json->len;
        gw_buf_unref(old->json);
        hi->head = (hi->head + 1) % GW_HISTORY_MAX_EVENTS;
        hi->count--;
    }
    struct gw_hist_entry *e = &hi->ring[(hi->head + hi->count) % GW_HISTORY_MAX_EVENTS];
    e->id = id;
    e->json = gw_buf_ref(json);
    hi->count++;
    hi->bytes += json->len;
}

struct gw_buf *gw_history_at(const struct gw_history *hi, size_t i)
{
    return i < hi->count ? entry(hi, i)->json : NULL;
}

void gw_history_after(const struct gw_history *hi, uint64_t last_id, size_t *from_out,
                      int *gap_out)
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
    while (bytes > GW_WELCOME_HISTORY_MAX_BYTES && from < hi->count) {
        bytes -= entry(hi, from)->json->len + 1;
        from++;
        gap = 1;
    }
    *from_out = from;
    *gap_out = gap;
}
