/*
 * gw_history.h - a room's stream of events kept for reading back: the ids
 * it gives (1, 2, 3... per room), and a ring of the latest events' JSON (at
 * most GW_HISTORY_MAX_EVENTS and GW_HISTORY_MAX_BYTES), readable back after
 * an id, which is how a browser that comes back gets what it missed.
 *
 * The interface is the one a store keeping the stream elsewhere (on disk,
 * in a shared server) has to offer: give the next id, append an event,
 * read the events after an id. Callers use only these functions.
 *
 * Pure: no I/O, no clock, no logging. It is not the encoding (gw_json.c
 * writes each event once) nor the fan-out (the hub sends that same buffer
 * to everyone): the ring holds one more reference to the shared buffer.
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

/* The fields are the module's own; read them through the functions. A
 * zeroed struct is not ready: call gw_history_init. */
struct gw_history {
    struct gw_hist_entry *ring; /* cap entries, grown up to GW_HISTORY_MAX_EVENTS */
    size_t cap;
    size_t head, count, bytes;  /* the oldest entry; entries; JSON bytes */
    uint64_t next_id;           /* the id the next event gets */
};

/* Where a read after an id stands: the events still to hand out. */
struct gw_history_cursor {
    const struct gw_history *hi;
    size_t next, end;
};

/* Start an empty history whose first id is after + 1 (1 for a new
 * stream). Allocates nothing (the ring comes with the first event); free
 * it with gw_history_free. */
void gw_history_init(struct gw_history *hi, uint64_t after);

/* Drop every event kept and the ring. */
void gw_history_free(struct gw_history *hi);

/* The id for the next event: ids only grow and are never given twice,
 * also when the event is then lost (out of memory). */
uint64_t gw_history_new_id(struct gw_history *hi);

/* Ids go on after last_id: the next one given is above it (a stream
 * kept elsewhere got that far). */
void gw_history_skip(struct gw_history *hi, uint64_t last_id);

/* The latest id given (0 before any). */
uint64_t gw_history_last_id(const struct gw_history *hi);

/* Bytes of JSON kept. */
size_t gw_history_bytes(const struct gw_history *hi);

/*
 * Append an event (its id, from gw_history_new_id, and its JSON; the
 * history takes a reference of its own), dropping the oldest ones to stay
 * within the bounds (and, when the ring cannot grow for want of memory,
 * within the ring it has).
 */
void gw_history_add(struct gw_history *hi, uint64_t id, struct gw_buf *json);

/*
 * Read the events a browser that has seen those up to last_id (0: none)
 * should get: all kept events after it, or, when it saw none or names an
 * id not given yet, the latest GW_WELCOME_RECENT; either way at most
 * max_bytes of JSON (counting a separator after each), the oldest left out
 * first. Sets *c to hand them out (gw_history_next; valid until the next
 * gw_history_add). Returns 1 when events after last_id are left out (or
 * last_id was never given): a gap; else 0.
 */
int gw_history_read_after(const struct gw_history *hi, uint64_t last_id, size_t max_bytes,
                          struct gw_history_cursor *c);

/*
 * Read up to limit kept events with ids below before (0: the newest) or,
 * after: above after; either way c hands them out oldest first. Returns 1
 * when more lie beyond them in the ring (older for before, newer for
 * after), else 0. For history requests when no store keeps more.
 */
int gw_history_read_before(const struct gw_history *hi, uint64_t before, size_t limit,
                           struct gw_history_cursor *c);
int gw_history_read_range_after(const struct gw_history *hi, uint64_t after, size_t limit,
                                struct gw_history_cursor *c);

/* The JSON kept for the event id (borrowed until the next change of the
 * ring), or NULL when the ring does not hold it. */
struct gw_buf *gw_history_find(const struct gw_history *hi, uint64_t id);

/* Put json (the history takes a reference) in place of the event id's:
 * 0, or -1 when the ring does not hold it (nothing changes). A deleted
 * message's JSON without its words takes the place of the message. */
int gw_history_replace(struct gw_history *hi, uint64_t id, struct gw_buf *json);

/* The events kept, and the i-th of them (0: the oldest) with its id in
 * *id: for walks of the ring (i below gw_history_count). */
size_t gw_history_count(const struct gw_history *hi);
struct gw_buf *gw_history_at(const struct gw_history *hi, size_t i, uint64_t *id);

/* The next event's JSON of a read, oldest first (borrowed until the next
 * gw_history_add), or NULL after the last. */
struct gw_buf *gw_history_next(struct gw_history_cursor *c);

#endif /* GW_HISTORY_H */
