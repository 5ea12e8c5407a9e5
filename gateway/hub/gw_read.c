/*
 * gw_read.c - a browser's history and search requests: reading a room's
 * events before or after an id (scrollback, a search result in context)
 * and searching its messages.
 *
 * With a store that reads (gw_store.h), the request is handed to it with
 * a tag, and the answer goes out when the store reports the rows
 * (gw_hub_store_rows); the waiting reads are bounded in the gateway and
 * per participant. Without one, history is read from the room's ring of
 * recent events at once, and search is not offered (504).
 *
 * Not here: the JSON (gw_json_read_answer), the store's engine, the room's
 * ring (gw_history.c). Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"

/* Reverse n events (and their lengths) in place. */
static void reverse(const char **ev, size_t *lens, size_t n)
{
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        const char *t = ev[i];
        ev[i] = ev[j];
        ev[j] = t;
        size_t l = lens[i];
        lens[i] = lens[j];
        lens[j] = l;
    }
}

/* The answer for p: n events in the order they are sent (history oldest
 * first, search newest first). Cut to GW_READ_REPLY_MAX_BYTES from the far
 * end, which sets more: the front (the oldest) of a history before an id
 * or of the newest, the back otherwise. */
static void answer(struct gw_hub *h, struct gw_part *p, enum gw_read_what what,
                   const char *room, uint64_t id, const char *q, size_t q_len,
                   const char **ev, size_t *lens, size_t n, int more, const char *ref)
{
    int far_is_front = what == GW_READ_BEFORE || what == GW_READ_NEWEST;
    size_t bytes = 0, keep = 0;
    while (keep < n) {
        size_t i = far_is_front ? n - 1 - keep : keep;
        if (bytes + lens[i] + 1 > GW_READ_REPLY_MAX_BYTES)
            break;
        bytes += lens[i] + 1;
        keep++;
    }
    if (keep < n)
        more = 1;
    size_t from = far_is_front ? n - keep : 0;
    struct gw_read_answer a = {
        .what = what, .room = room, .id = id, .q = q, .q_len = q_len,
        .events = ev + from, .lens = lens + from, .n = keep, .more = more, .ref = ref,
    };
    struct gw_buf *b = gw_json_read_answer(&a, h->cfg.headroom);
    if (!b) {
        gw_out_error(h, p, GW_R_NOT_KEPT, "out of memory: try again later", ref);
        return;
    }
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
}

/* History from the room's ring, which reads oldest first. */
static void answer_from_ring(struct gw_hub *h, struct gw_part *p, struct gw_room *r,
                             enum gw_read_what what, uint64_t id, unsigned limit,
                             const char *ref)
{
    const char *ev[GW_HISTORY_READ_MAX];
    size_t lens[GW_HISTORY_READ_MAX];
    struct gw_history_cursor c;
    int more = what == GW_READ_AFTER
                   ? gw_history_read_range_after(&r->history, id, limit, &c)
                   : gw_history_read_before(&r->history, what == GW_READ_BEFORE ? id : 0,
                                            limit, &c);
    size_t n = 0;
    struct gw_buf *b;
    while (n < GW_HISTORY_READ_MAX && (b = gw_history_next(&c))) {
        ev[n] = (const char *)b->data + b->headroom;
        lens[n++] = b->len;
    }
    answer(h, p, what, r->name, id, NULL, 0, ev, lens, n, more, ref);
}

/* The reply for a store's failure to read. */
static void refuse(struct gw_hub *h, struct gw_part *p, int status, enum gw_read_what what,
                   const char *ref)
{
    switch (status) {
    case GW_STORE_ENOTSUP:
        gw_out_error(h, p, GW_R_NOT_OFFERED,
                     what == GW_READ_SEARCH ? "search is not offered: this gateway keeps "
                                              "history in memory only"
                                            : "history is not offered by this gateway's store",
                     ref);
        break;
    case GW_STORE_EINVAL:
        gw_out_error(h, p, GW_R_BAD_ARGS, "search words the store cannot take", ref);
        break;
    case GW_STORE_EBUSY:
        gw_out_error(h, p, GW_R_NOT_KEPT,
                     what == GW_READ_SEARCH ? "the search took too long: try more words"
                                            : "the history store is busy: try again later",
                     ref);
        break;
    default: {
        char msg[96];
        snprintf(msg, sizeof msg, "history could not be read (%s): try again later",
                 gw_store_strerror(status));
        gw_out_error(h, p, GW_R_NOT_KEPT, msg, ref);
        break;
    }
    }
}

void gw_read_request(struct gw_hub *h, struct gw_part *p, struct gw_room *r,
                     const struct gw_cmsg *m, int64_t now)
{
    enum gw_read_what what = GW_READ_SEARCH;
    uint64_t id = 0;
    unsigned limit = m->limit ? (unsigned)m->limit : GW_SEARCH_READ_DEFAULT;
    if (m->type == GW_C_HISTORY) {
        what = m->has_before ? GW_READ_BEFORE : m->has_after ? GW_READ_AFTER : GW_READ_NEWEST;
        id = m->has_before ? m->before : m->after;
        limit = m->limit ? (unsigned)m->limit : GW_HISTORY_READ_DEFAULT;
    } else if (gw_store_query_check(m->text, m->text_len) != 0) {
        gw_out_error(h, p, GW_R_BAD_ARGS, "search for at least one word", m->ref);
        return;
    }
    if (!gw_rate_read_ok(h, p, now)) {
        gw_out_error(h, p, GW_R_SLOW_DOWN,
                     "too many history and search requests: slow down", m->ref);
        gw_rate_strike(h, p, now);
        return;
    }
    const struct gw_store *st = h->cfg.store && h->cfg.store->read ? h->cfg.store : NULL;
    if (!st) {
        if (what == GW_READ_SEARCH)
            refuse(h, p, GW_STORE_ENOTSUP, what, m->ref);
        else
            answer_from_ring(h, p, r, what, id, limit, m->ref);
        return;
    }
    if (p->nreads >= GW_READS_PER_PART_MAX) {
        gw_out_error(h, p, GW_R_SLOW_DOWN, "too many history and search requests at once: "
                                           "wait for the answers", m->ref);
        return;
    }
    if (h->nreads >= GW_READS_MAX) {
        /* The gateway's readers have all they can do: whoever asks. */
        h->metrics.rejections[GW_REJ_READS_BUSY]++;
        gw_out_error(h, p, GW_R_SHUTDOWN, "the gateway is busy reading history: try again later",
                     m->ref);
        return;
    }
    if (!h->reads && !(h->reads = malloc(GW_READS_MAX * sizeof(*h->reads)))) {
        refuse(h, p, GW_STORE_ENOMEM, what, m->ref);
        return;
    }
    struct gw_read_wait *w = &h->reads[h->nreads];
    w->tag = ++h->next_tag;
    w->pid = p->pid;
    w->what = what;
    w->id = id;
    snprintf(w->room, sizeof w->room, "%s", r->name);
    w->q_len = what == GW_READ_SEARCH ? m->text_len : 0;
    memcpy(w->q, what == GW_READ_SEARCH ? m->text : "", w->q_len);
    w->q[w->q_len] = '\0';
    snprintf(w->ref, sizeof w->ref, "%s", m->ref);
    struct gw_store_read rd = {
        .kind = what == GW_READ_SEARCH  ? GW_STORE_SEARCH
                : what == GW_READ_AFTER ? GW_STORE_AFTER
                                        : GW_STORE_BEFORE,
        .tag = w->tag,
        .room_key = r->key,
        .id = what == GW_READ_NEWEST ? 0 : id,
        .limit = limit,
        .q = w->q,
        .q_len = w->q_len,
    };
    int rc = st->read(st->ctx, &rd);
    if (rc < 0) {
        refuse(h, p, rc, what, m->ref);
        return;
    }
    h->nreads++;
    p->nreads++;
}

/* The waiting read tagged tag, taken out of the table into *out. Returns
 * 1, or 0 when there is none. */
static int take_wait(struct gw_hub *h, uint64_t tag, struct gw_read_wait *out)
{
    for (size_t i = 0; i < h->nreads; i++) {
        if (h->reads[i].tag != tag)
            continue;
        *out = h->reads[i];
        h->reads[i] = h->reads[--h->nreads];
        return 1;
    }
    return 0;
}

int gw_hub_store_rows(struct gw_hub *h, uint64_t tag, int status, const struct gw_store_event *ev,
                      size_t n, int more)
{
    const char *texts[GW_STORE_READ_MAX];
    size_t lens[GW_STORE_READ_MAX];
    struct gw_read_wait w;
    if (!h || !take_wait(h, tag, &w))
        return GW_ENOENT;
    struct gw_part *p = gw_hub_part(h, w.pid);
    if (!p)
        return GW_ENOENT;
    if (p->nreads)
        p->nreads--;
    if (p->closing)
        return GW_OK;
    if (status < 0) {
        refuse(h, p, status, w.what, w.ref);
        return GW_OK;
    }
    if (n > GW_STORE_READ_MAX) {
        n = GW_STORE_READ_MAX;
        more = 1;
    }
    for (size_t i = 0; i < n; i++) {
        texts[i] = ev[i].json;
        lens[i] = ev[i].json_len;
    }
    if (w.what == GW_READ_BEFORE || w.what == GW_READ_NEWEST)
        reverse(texts, lens, n); /* the store reads those newest first */
    answer(h, p, w.what, w.room, w.id, w.q, w.q_len, texts, lens, n, more, w.ref);
    return GW_OK;
}

void gw_read_free(struct gw_hub *h)
{
    free(h->reads);
    h->reads = NULL;
    h->nreads = 0;
}
