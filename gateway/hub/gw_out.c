/*
 * gw_out.c - what a participant is sent: its bounded output queue (shared
 * buffers pushed onto it; a TCP participant past its bound gets one R of
 * its room's transcript instead, a browser past its bound is closed),
 * lines for one TCP participant only (replies, where it is, private
 * messages), the replies (error, info) on either transport, the last line
 * before a close, and joining queued items into one write.
 *
 * It is not the encoding (gw_json.c, gw_buf_frame) nor the choice of who
 * gets an event (gw_hub.c). Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

/* Drop what a TCP participant has queued, except a handshake not yet
 * written, and send it the whole transcript instead. */
void gw_out_resync(struct gw_hub *h, struct gw_part *p, enum gw_resync how)
{
    struct gw_queue keep;
    gw_queue_init(&keep, p->q.max_bytes, p->q.max_items);
    gw_queue_account(&keep, p->q.total);
    while (p->q.count) {
        const struct gw_item *it = gw_queue_peek(&p->q);
        unsigned flags = it->flags;
        struct gw_buf *b = gw_queue_pop(&p->q);
        if (flags & GW_ITEM_SOLO)
            (void)gw_queue_push(&keep, b, flags);
        gw_buf_unref(b);
    }
    /* What the transport holds of the last write stays held. */
    size_t in_flight = p->q.in_flight;
    gw_queue_set_in_flight(&p->q, 0);
    gw_queue_clear(&p->q);
    p->q = keep;
    gw_queue_set_in_flight(&p->q, in_flight);
    /* A pending "where" stays: a later plain resync must not lose it. */
    if (how > p->resync)
        p->resync = how;
    gw_hub_wake(h, p);
}

void gw_out_push_tcp(struct gw_hub *h, struct gw_part *p, struct gw_buf *b, unsigned flags)
{
    if (!b || p->closing || p->lingering)
        return;
    if (gw_queue_push(&p->q, b, flags) != 0) {
        h->metrics.drops[GW_DROP_TCP_RESYNC]++;
        gw_out_resync(h, p, GW_RESYNC_PLAIN);
        return;
    }
    gw_metrics_queue(&h->metrics, GW_VIA_TCP, p->q.bytes);
    gw_hub_wake(h, p);
    gw_out_bound(h);
}

void gw_out_push_web(struct gw_hub *h, struct gw_part *p, struct gw_buf *b)
{
    if (!b || p->closing || p->lingering)
        return;
    if (gw_queue_push(&p->q, b, 0) != 0) {
        /* Fell too far behind: nothing queued is worth keeping, the
         * browser resumes by id when it reconnects. */
        gw_queue_clear(&p->q);
        h->metrics.drops[GW_DROP_WEB_BEHIND]++;
        gw_hub_start_closing(h, p, GW_CLOSE_BEHIND, "too far behind");
        return;
    }
    gw_metrics_queue(&h->metrics, GW_VIA_WEB, p->q.bytes);
    gw_hub_wake(h, p);
    gw_out_bound(h);
}

/* The participant not closing yet that holds most (queued and in
 * flight), or NULL when none holds anything. */
static struct gw_part *largest_holder(struct gw_hub *h)
{
    struct gw_part *best = NULL;
    size_t most = 0;
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        size_t held = gw_queue_held(&p->q);
        if (!p->closing && held > most) {
            best = p;
            most = held;
        }
    }
    return best;
}

/*
 * Close p for the gateway-wide bound: what it has queued goes now (that is
 * the memory wanted back), and it is told why. A browser is closed as one
 * too far behind (4421: it comes back and resumes by id), with a reason
 * that says which bound; a TCP participant gets that reason as its last
 * line.
 */
static void close_for_bound(struct gw_hub *h, struct gw_part *p)
{
    char why[GW_REASON_MAX_BYTES + 1];
    snprintf(why, sizeof why,
             "gateway output over its bound (%zu KiB): this connection held the most (%zu KiB)",
             h->cfg.output_max_bytes / 1024, gw_queue_held(&p->q) / 1024);
    h->metrics.output_closed[p->via]++;
    /* Its queue goes now; what the transport holds of its last write goes
     * with the connection (the adapter cuts a closing peer that does not
     * read within seconds). */
    gw_queue_clear(&p->q);
    if (p->via == GW_VIA_TCP) {
        char line[GW_REASON_MAX_BYTES + 32];
        snprintf(line, sizeof line, "error %d: %s; closing", GW_R_SHUTDOWN, why);
        gw_out_last_line(h, p, line);
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, why);
    } else {
        gw_hub_start_closing(h, p, GW_CLOSE_BEHIND, why);
    }
}

void gw_out_bound(struct gw_hub *h)
{
    size_t max = h->cfg.output_max_bytes;
    while (max && h->out_bytes > max) {
        struct gw_part *p = largest_holder(h);
        if (!p)
            return; /* only closing participants hold output: it goes with them */
        close_for_bound(h, p);
    }
}

int gw_hub_in_flight(struct gw_hub *h, uint64_t pid, size_t bytes)
{
    struct gw_part *p = gw_hub_part(h, pid);
    if (!p)
        return GW_ENOENT;
    gw_queue_set_in_flight(&p->q, bytes);
    gw_out_bound(h);
    return GW_OK;
}

size_t gw_hub_output_bytes(const struct gw_hub *h)
{
    return h->out_bytes;
}

size_t gw_hub_output_closing_bytes(const struct gw_hub *h)
{
    return h->out_closing;
}

/* The A frame of a line for one TCP participant only ("* ..."). Caller
 * owns the buffer; NULL when out of memory. */
static struct gw_buf *personal_frame(struct gw_hub *h, const char *text)
{
    char line[GW_TEXT_MAX_BYTES + 16];
    int n = snprintf(line, sizeof line, "* %s\r\n", text);
    if (n < 0)
        return NULL;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    /* The text may quote what the participant sent (an unknown command). */
    n = (int)gw_text_strip_bidi(line, (size_t)n, line);
    return gw_buf_frame(h->cfg.headroom, WT_OP_APPEND, line, (size_t)n);
}

/* A line for one TCP participant only ("* ..."), not part of the room's
 * transcript. */
void gw_out_personal(struct gw_hub *h, struct gw_part *p, const char *text)
{
    struct gw_buf *b = personal_frame(h, text);
    gw_out_push_tcp(h, p, b, 0);
    gw_buf_unref(b);
}

void gw_out_personal_line(struct gw_hub *h, struct gw_part *p, const char *line, size_t len)
{
    struct gw_buf *b = gw_buf_frame(h->cfg.headroom, WT_OP_APPEND, line, len);
    gw_out_push_tcp(h, p, b, 0);
    gw_buf_unref(b);
}

/*
 * The line that tells a TCP participant why it is being closed; the caller
 * marks it closing next, so nothing is queued after it. The reason must be
 * the last bytes the peer gets: a full queue (a peer that stopped reading)
 * would otherwise turn it into a resync, which a closing participant never
 * gets, and the peer would be cut without being told. So queued output is
 * dropped for it, oldest first, all but a handshake not yet written.
 */
void gw_out_last_line(struct gw_hub *h, struct gw_part *p, const char *text)
{
    if (p->closing)
        return;
    struct gw_buf *b = personal_frame(h, text);
    if (b && gw_queue_push_last(&p->q, b, 0, GW_ITEM_SOLO) == 0) {
        gw_metrics_queue(&h->metrics, GW_VIA_TCP, p->q.bytes);
        gw_hub_wake(h, p);
    }
    gw_buf_unref(b);
}

void gw_out_error(struct gw_hub *h, struct gw_part *p, int code, const char *msg,
                  const char *ref)
{
    gw_out_error_room(h, p, code, msg, NULL, 0, ref);
}

void gw_out_error_room(struct gw_hub *h, struct gw_part *p, int code, const char *msg,
                       const char *room, size_t len, const char *ref)
{
    gw_metrics_error(&h->metrics, code);
    if (p->via == GW_VIA_WEB) {
        struct gw_buf *b = gw_json_error_room(code, msg, room, len, ref, h->cfg.headroom);
        gw_out_push_web(h, p, b);
        gw_buf_unref(b);
    } else {
        char text[GW_TEXT_MAX_BYTES];
        snprintf(text, sizeof text, "error %d: %s", code, msg);
        gw_out_personal(h, p, text);
    }
}

void gw_out_info(struct gw_hub *h, struct gw_part *p, int code, const char *text)
{
    if (p->via == GW_VIA_WEB) {
        struct gw_buf *b = gw_json_info(code, text, strlen(text), h->cfg.headroom);
        gw_out_push_web(h, p, b);
        gw_buf_unref(b);
    } else {
        gw_out_personal(h, p, text);
    }
}

/* Join up to GW_BATCH_MAX_BYTES of queued items after first (a reference
 * the caller gives up), the array's brackets included: a batch is one
 * write (GW_WRITE_MAX_BYTES), never a full one and two bytes more. */
static struct gw_buf *batch(struct gw_hub *h, struct gw_part *p, struct gw_buf *first)
{
    int web = p->via == GW_VIA_WEB;
    size_t n = 0, total = first ? first->len : 0, count = first ? 1 : 0;
    for (; n < p->q.count; n++) {
        const struct gw_item *it = &p->q.items[(p->q.head + n) % p->q.cap];
        if (it->flags & GW_ITEM_SOLO)
            break;
        if (count && total + it->buf->len + (web ? 3 : 0) > GW_BATCH_MAX_BYTES)
            break;
        total += it->buf->len + (web && count ? 1 : 0);
        count++;
    }
    if (count == 1 && first)
        return first;
    if (count == 1)
        return gw_queue_pop(&p->q);
    struct gw_buf *b = gw_buf_new(h->cfg.headroom, total + (web ? 2 : 0));
    if (!b) {
        gw_buf_unref(first);
        return NULL;
    }
    unsigned char *o = gw_buf_bytes(b);
    if (web)
        *o++ = '[';
    if (first) {
        memcpy(o, gw_buf_bytes(first), first->len);
        o += first->len;
        gw_buf_unref(first);
    }
    for (size_t i = 0; i < n; i++) {
        struct gw_buf *it = gw_queue_pop(&p->q);
        if (web && (i || first))
            *o++ = ',';
        memcpy(o, gw_buf_bytes(it), it->len);
        o += it->len;
        gw_buf_unref(it);
    }
    if (web)
        *o++ = ']';
    b->len = (size_t)(o - gw_buf_bytes(b));
    *o = '\0';
    return b;
}

/* Drained: give the ring back (a burst, every join of a crowd, grows it;
 * an idle connection should not keep that), and let the next output wake
 * the adapter. */
static void ran_dry(struct gw_part *p)
{
    gw_queue_clear(&p->q);
    p->woken = 0;
}

int gw_out_more(struct gw_part *p)
{
    if (p->q.count || p->closing || (p->resync && gw_member_home(p)))
        return 1;
    ran_dry(p);
    return 0;
}

int gw_out_take(struct gw_hub *h, struct gw_part *p, struct gw_buf **out)
{
    *out = NULL;
    const struct gw_item *head = gw_queue_peek(&p->q);
    if (head && (head->flags & GW_ITEM_SOLO)) {
        *out = gw_queue_pop(&p->q);
        return 1;
    }
    struct gw_buf *first = NULL;
    struct gw_room *r = gw_member_home(p);
    if (p->resync && !p->closing && r) {
        if (p->resync == GW_RESYNC_WHERE) {
            /* Where it is: its own line, at the end of the same R, not
             * part of the shared transcript. */
            char where[GW_ROOM_NAME_MAX_BYTES + 48];
            int n = snprintf(where, sizeof where, "* you are in %s (%zu here)\r\n", r->name,
                             gw_hub_room_count(h, r));
            first = gw_transcript_frame_with(&r->transcript, h->cfg.headroom, where, (size_t)n);
        } else {
            first = gw_transcript_frame(&r->transcript, h->cfg.headroom);
        }
        p->resync = GW_RESYNC_NONE;
        if (!first)
            return GW_ENOMEM;
    }
    if (!first && !p->q.count) {
        ran_dry(p);
        return 0;
    }
    *out = batch(h, p, first);
    return *out ? 1 : GW_ENOMEM;
}
