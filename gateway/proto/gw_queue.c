/*
 * gw_queue.c - shared buffers (also one holding a WINTALK frame) and
 * bounded output queues. Pure: no I/O.
 */
#include "gw_queue.h"

#include <stdlib.h>
#include <string.h>

struct gw_buf *gw_buf_new(size_t headroom, size_t len)
{
    if (len > SIZE_MAX / 2 || headroom > 4096)
        return NULL;
    struct gw_buf *b = malloc(sizeof(*b) + headroom + len + 1);
    if (!b)
        return NULL;
    b->refs = 1;
    b->headroom = headroom;
    b->len = len;
    memset(b->data, 0, headroom);
    b->data[headroom + len] = '\0';
    return b;
}

struct gw_buf *gw_buf_copy(size_t headroom, const void *p, size_t len)
{
    struct gw_buf *b = gw_buf_new(headroom, len);
    if (b && len)
        memcpy(gw_buf_bytes(b), p, len);
    return b;
}

struct gw_buf *gw_buf_frame(size_t headroom, enum wt_op op, const char *text, size_t len)
{
    size_t n = wt_frame_size(text, len);
    struct gw_buf *b = gw_buf_new(headroom, n);
    size_t out;
    if (!b)
        return NULL;
    if (wt_frame_encode((char *)gw_buf_bytes(b), n + 1, &out, op, text, len) != WT_OK) {
        gw_buf_unref(b);
        return NULL;
    }
    b->len = out;
    return b;
}

struct gw_buf *gw_buf_ref(struct gw_buf *b)
{
    b->refs++;
    return b;
}

void gw_buf_unref(struct gw_buf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

void gw_queue_init(struct gw_queue *q, size_t max_bytes, size_t max_items)
{
    memset(q, 0, sizeof(*q));
    q->max_bytes = max_bytes;
    q->max_items = max_items ? max_items : 1;
}

void gw_queue_account(struct gw_queue *q, size_t *total)
{
    if (q->total)
        *q->total -= q->bytes + q->in_flight;
    q->total = total;
    if (total)
        *total += q->bytes + q->in_flight;
}

/* The shared total follows q's own count. */
static void count_in(struct gw_queue *q, size_t n)
{
    if (q->total)
        *q->total += n;
}

static void count_out(struct gw_queue *q, size_t n)
{
    if (q->total)
        *q->total -= n;
}

void gw_queue_set_in_flight(struct gw_queue *q, size_t n)
{
    count_out(q, q->in_flight);
    q->in_flight = n;
    count_in(q, n);
}

void gw_queue_clear(struct gw_queue *q)
{
    while (q->count)
        gw_buf_unref(gw_queue_pop(q));
    free(q->items);
    q->items = NULL;
    q->cap = q->head = q->count = q->bytes = 0;
}

static int grow(struct gw_queue *q)
{
    size_t ncap = q->cap ? q->cap * 2 : 8;
    if (ncap > q->max_items)
        ncap = q->max_items;
    if (ncap <= q->cap)
        return GW_QUEUE_FULL;
    struct gw_item *n = malloc(ncap * sizeof(*n));
    if (!n)
        return GW_QUEUE_NOMEM;
    for (size_t i = 0; i < q->count; i++)
        n[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = n;
    q->cap = ncap;
    q->head = 0;
    return 0;
}

/* Append without looking at max_bytes. */
static int push_item(struct gw_queue *q, struct gw_buf *b, unsigned flags)
{
    if (q->count == q->cap) {
        int rc = grow(q);
        if (rc)
            return rc;
    }
    struct gw_item *it = &q->items[(q->head + q->count) % q->cap];
    it->buf = gw_buf_ref(b);
    it->flags = flags;
    q->count++;
    q->bytes += b->len;
    count_in(q, b->len);
    return 0;
}

int gw_queue_push(struct gw_queue *q, struct gw_buf *b, unsigned flags)
{
    if (q->count && (q->bytes + b->len > q->max_bytes || q->count >= q->max_items))
        return GW_QUEUE_FULL;
    return push_item(q, b, flags);
}

int gw_queue_push_last(struct gw_queue *q, struct gw_buf *b, unsigned flags, unsigned keep)
{
    size_t over_bytes = q->bytes + b->len > q->max_bytes ? q->bytes + b->len - q->max_bytes : 0;
    size_t over_items = q->count >= q->max_items ? q->count + 1 - q->max_items : 0;
    /* Compact the ring in place, oldest first, leaving out the items that
     * must go: an item only moves towards the head, over one already
     * read. */
    size_t w = 0, n = q->count;
    for (size_t i = 0; i < n; i++) {
        struct gw_item it = q->items[(q->head + i) % q->cap];
        if ((over_bytes || over_items) && !(it.flags & keep)) {
            over_bytes = over_bytes > it.buf->len ? over_bytes - it.buf->len : 0;
            over_items -= over_items ? 1 : 0;
            q->bytes -= it.buf->len;
            count_out(q, it.buf->len);
            gw_buf_unref(it.buf);
            continue;
        }
        q->items[(q->head + w++) % q->cap] = it;
    }
    q->count = w;
    if (over_items)
        return GW_QUEUE_FULL;
    return push_item(q, b, flags);
}

const struct gw_item *gw_queue_peek(const struct gw_queue *q)
{
    return q->count ? &q->items[q->head] : NULL;
}

struct gw_buf *gw_queue_pop(struct gw_queue *q)
{
    if (!q->count)
        return NULL;
    struct gw_buf *b = q->items[q->head].buf;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->bytes -= b->len;
    count_out(q, b->len);
    return b;
}
