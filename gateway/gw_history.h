/*
 * gw_history.h - a stream of room events kept for reading back: the ids
 * it gives, and a ring of the latest events' JSON (at most
 * GW_HISTORY_MAX_EVENTS and GW_HISTORY_MAX_BYTES), readable back after an
 * id, which is how a browser that comes back gets what it missed.
 *
 * Pure: no I/O, no clock, no logging. It is not the encoding (gw_json.c
 * writes each event once) nor the fan-out (the hub sends that same buffer
 * to everyone): the ring holds one more reference to the shared buffer.
 * One history per room: the hub owns the one room's today.
 */
#ifndef GW_HISTORY_H
#define GW_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "gw_queue.h"

struct gw_hist_entry {
    uint64_t id;
    struct gw_buf *json;
};

/* The fields are the module's own; read them through the functions. */
struct gw_history {
    struct gw_hist_entry *ring; /* GW_HISTORY_MAX_EVENTS entries */
    size_t head, count, bytes;  /* the oldest entry; entries; JSON bytes */
    uint64_t next_id;           /* the id the next event gets */
};

/* Start an empty history whose first id is 1. Allocates the ring; free it
 * with gw_history_free. Returns 0 or GW_ENOMEM (gw_hub.h). */
int gw_history_init(struct gw_history *hi);

/* Drop every event kept and the ring. */
void gw_history_free(struct gw_history *hi);

/* The id for the next event: ids only grow and are never given twice,
 * also when the event is then lost (out of memory). */
uint64_t gw_history_new_id(struct gw_history *hi);

/* The latest id given (0 before any). */
uint64_t gw_history_last_id(const struct gw_history *hi);

/* Bytes of JSON kept. */
size_t gw_history_bytes(const struct gw_history *hi);

/*
 * Keep an event (its id and JSON; the history takes a reference of its
 * own), dropping the oldest ones to stay within the bounds.
 */
void gw_history_add(struct gw_history *hi, uint64_t id, struct gw_buf *json);

/*
 * What to send a browser that has seen the events up to last_id (0: none):
 * all kept events after it, or, when it saw none or names an id not given
 * yet, the latest GW_WELCOME_RECENT; either way at most
 * GW_WELCOME_HISTORY_MAX_BYTES of JSON (counting a separator after each),
 * the oldest left out first. Sets *from to the first event to send (an
 * index for gw_history_at) and *gap to 1 when events after last_id are left
 * out (or last_id was never given), else 0.
 */
void gw_history_after(const struct gw_history *hi, uint64_t last_id, size_t *from, int *gap);

/* The JSON of the i-th event kept, oldest first (borrowed until the next
 * gw_history_add), or NULL past the newest. */
struct gw_buf *gw_history_at(const struct gw_history *hi, size_t i);

#endif /* GW_HISTORY_H */
