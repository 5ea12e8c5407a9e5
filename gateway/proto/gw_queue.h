/*
 * gw_queue.h - shared byte buffers (also one holding a WINTALK frame) and
 * bounded per-recipient output queues.
 *
 * Pure: no I/O. A room event is encoded once per transport into a gw_buf;
 * every recipient's queue holds a reference to that same buffer. A buffer
 * keeps `headroom` spare bytes before its payload so an adapter can write a
 * transport header in place (libwebsockets' LWS_PRE) without copying.
 */
#ifndef GW_QUEUE_H
#define GW_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "wt_codec.h"

struct gw_buf {
    uint32_t refs;
    size_t headroom;
    size_t len;             /* payload bytes, after the headroom */
    unsigned char data[];   /* headroom + len bytes (+1 for a NUL) */
};

/* A new buffer with one reference and room for len payload bytes (left
 * uninitialised; a NUL follows them). Caller owns the reference. NULL when
 * out of memory. */
struct gw_buf *gw_buf_new(size_t headroom, size_t len);

/* A new buffer holding a copy of len bytes of p. */
struct gw_buf *gw_buf_copy(size_t headroom, const void *p, size_t len);

/* A new buffer holding one WINTALK frame (op and len bytes of text, as
 * wt_frame_encode takes them). Caller owns the reference. NULL when out of
 * memory or the frame cannot be encoded. */
struct gw_buf *gw_buf_frame(size_t headroom, enum wt_op op, const char *text, size_t len);

/* The payload. */
static inline unsigned char *gw_buf_bytes(struct gw_buf *b)
{
    return b->data + b->headroom;
}

/* Take another reference (returns b). */
struct gw_buf *gw_buf_ref(struct gw_buf *b);

/* Drop a reference; the last one frees. NULL is ignored. */
void gw_buf_unref(struct gw_buf *b);

/* Queue item flags. */
#define GW_ITEM_SOLO 1u   /* leaves in a write of its own, never batched */

struct gw_item {
    struct gw_buf *buf;
    unsigned flags;
};

/*
 * A FIFO of buffer references with a bound in bytes and in items. The ring
 * grows by doubling up to max_items and never past it.
 *
 * What a queue holds may also be counted in a total shared by many queues
 * (gw_queue_account): every item's bytes, whoever else references the same
 * buffer (a shared buffer counts once per queue holding it, as a bound per
 * holder is the one a user can reason about), and the bytes of the write
 * taken from it that the transport still holds (gw_queue_set_in_flight).
 */
struct gw_queue {
    struct gw_item *items;
    size_t cap, head, count;
    size_t bytes;
    size_t max_bytes;
    size_t max_items;
    size_t in_flight;       /* taken, and not yet all written */
    size_t *total;          /* where bytes + in_flight are added; NULL: nowhere */
};

void gw_queue_init(struct gw_queue *q, size_t max_bytes, size_t max_items);

/* From now on q's bytes and in-flight bytes are counted in *total (NULL:
 * nowhere), borrowed for q's life, instead of the total it was counted in
 * until now: what q holds moves from that one to this one. */
void gw_queue_account(struct gw_queue *q, size_t *total);

/* The transport still holds n bytes of the last write taken from q (0: it
 * has written them all). */
void gw_queue_set_in_flight(struct gw_queue *q, size_t n);

/* What q holds for its reader: queued bytes and bytes in flight. */
static inline size_t gw_queue_held(const struct gw_queue *q)
{
    return q->bytes + q->in_flight;
}

/* Drop every item and free the ring. The queue may be used again. The
 * bytes in flight stay counted (the transport still holds them). */
void gw_queue_clear(struct gw_queue *q);

/*
 * Append a reference to b (the queue takes a new reference of its own).
 * Returns 0, GW_QUEUE_FULL when the item would pass a bound (nothing is
 * queued), or GW_QUEUE_NOMEM. An item that alone exceeds max_bytes is
 * accepted when the queue is empty.
 */
#define GW_QUEUE_FULL (-1)
#define GW_QUEUE_NOMEM (-2)
int gw_queue_push(struct gw_queue *q, struct gw_buf *b, unsigned flags);

/*
 * Append a reference to b as the last item the queue will be given (a
 * participant's closing line, which must reach it): when b does not fit,
 * the oldest items without any of the `keep` flags are dropped until it
 * does. If the kept items alone leave no room in bytes, b is queued past
 * max_bytes all the same: it is one item of bounded size, and nothing is
 * pushed after it. Returns 0, GW_QUEUE_FULL when kept items alone reach
 * max_items (nothing is queued), or GW_QUEUE_NOMEM.
 */
int gw_queue_push_last(struct gw_queue *q, struct gw_buf *b, unsigned flags, unsigned keep);

/* The oldest item, or NULL if empty. Borrowed until the next pop. */
const struct gw_item *gw_queue_peek(const struct gw_queue *q);

/* Remove the oldest item; returns its buffer reference (caller owns it). */
struct gw_buf *gw_queue_pop(struct gw_queue *q);

#endif /* GW_QUEUE_H */
