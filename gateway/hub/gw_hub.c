/*
 * gw_hub.c - the hub itself: the public API of gw_hub.h, the participants
 * (created, found by id, closed, freed), nicks (unique in the gateway,
 * found by key), the access key, and the fan-out of room events (each
 * encoded once, to the room's browsers as JSON, into the room's transcript
 * and to its TCP members as a WINTALK frame).
 *
 * This is the one file that turns a participant id into a pointer: the
 * hub's other modules (gw_hub_int.h) are handed pointers, good for the
 * call. It is not the input side of either transport (gw_tcp.c, gw_web.c),
 * the commands (gw_cmd.c), who is in which room (gw_member.c, gw_room.c),
 * private messages (gw_private.c), the output queues (gw_out.c), typing
 * (gw_typing.c) nor rate limits (gw_rate.c).
 *
 * Pure: no I/O, no clock, no logging; see gw_hub.h.
 */
#include "gw_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

/* Extra connections, past max_participants, that are accepted only to be
 * told "full" and closed. Past those, connections are refused outright. */
#define GW_REFUSE_SLACK 16u

const char *gw_strerror(int code)
{
    switch (code) {
    case GW_OK: return "success";
    case GW_ENOMEM: return "out of memory";
    case GW_ENOENT: return "no such participant";
    case GW_EINVAL: return "invalid argument";
    case GW_EFULL: return "too many connections";
    default: return "unknown error";
    }
}

const char *gw_via_name(enum gw_via v)
{
    return v == GW_VIA_TCP ? "tcp" : "web";
}

/* ---- participants by id ---- */

static size_t index_home(const struct gw_hub *h, uint64_t pid)
{
    /* Fibonacci hashing: consecutive pids spread over the table. */
    return (size_t)((pid * 0x9E3779B97F4A7C15ull) >> 32) & h->index_mask;
}

static struct gw_part *find(struct gw_hub *h, uint64_t pid)
{
    for (size_t i = index_home(h, pid);; i = (i + 1) & h->index_mask) {
        struct gw_part *p = h->index[i];
        if (!p || p->pid == pid)
            return p;
    }
}

static void index_add(struct gw_hub *h, struct gw_part *p)
{
    size_t i = index_home(h, p->pid);
    while (h->index[i])
        i = (i + 1) & h->index_mask;
    h->index[i] = p;
}

/* Remove by backward shift: no tombstones, so probes stay short. */
static void index_del(struct gw_hub *h, uint64_t pid)
{
    size_t i = index_home(h, pid);
    while (h->index[i] && h->index[i]->pid != pid)
        i = (i + 1) & h->index_mask;
    if (!h->index[i])
        return;
    size_t j = i;
    for (;;) {
        h->index[i] = NULL;
        for (;;) {
            j = (j + 1) & h->index_mask;
            if (!h->index[j])
                return;
            size_t k = index_home(h, h->index[j]->pid);
            /* Move index[j] into the hole at i unless its home lies
             * cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        h->index[i] = h->index[j];
        i = j;
    }
}

struct gw_part *gw_hub_part(struct gw_hub *h, uint64_t pid)
{
    return find(h, pid);
}

void gw_hub_wake(struct gw_hub *h, struct gw_part *p)
{
    if (p->woken)
        return;
    p->woken = 1;
    if (h->cfg.wake)
        h->cfg.wake(h->cfg.ctx, p->user, p->pid);
}

void gw_hub_start_closing(struct gw_hub *h, struct gw_part *p, int code, const char *reason)
{
    if (p->closing)
        return;
    p->closing = 1;
    p->close_code = code;
    snprintf(p->close_reason, sizeof p->close_reason, "%s", reason);
    /* What it holds goes with it: it no longer counts against the others
     * (cfg.output_max_bytes). */
    gw_queue_account(&p->q, &h->out_closing);
    p->woken = 0; /* make sure the adapter hears of it */
    gw_hub_wake(h, p);
}

/* ---- room events: ids, the store, history, fan-out ---- */

/*
 * An event is kept: into the room's ring of recent events, to every
 * browser in the room (one JSON text for them all), and as a transcript
 * line to its TCP members (one A frame, or, when the transcript had to be
 * cut back, the new whole as R).
 */
static void room_deliver(struct gw_hub *h, struct gw_room *r, uint64_t id, struct gw_buf *json,
                         const char *line, size_t n)
{
    gw_delete_apply(h, r, json);
    gw_history_add(&r->history, id, json);
    for (size_t i = 0; i < r->nweb; i++) {
        struct gw_part *p = r->web[i];
        if (p->joined)
            gw_out_push_web(h, p, json);
    }
    if (n == 0)
        return; /* no line for TCP panes */
    int trimmed = gw_transcript_add(&r->transcript, line, n);
    if (trimmed < 0)
        return; /* out of memory: the line is not shown */
    struct gw_buf *a = trimmed ? NULL : gw_buf_frame(h->cfg.headroom, WT_OP_APPEND, line, n);
    for (size_t i = 0; i < r->ntcp; i++) {
        struct gw_part *p = r->tcp[i];
        if (!p->joined || p->closing)
            continue;
        if (trimmed || !a)
            gw_out_resync(h, p, GW_RESYNC_PLAIN);
        else if (!p->resync) /* a pending R already shows this line */
            gw_out_push_tcp(h, p, a, 0);
    }
    gw_buf_unref(a);
}

/* An event the store did not keep: nobody gets it; the sender of a
 * message (pid, 0 for none) is told its message was not accepted. */
static void room_lost(struct gw_hub *h, uint64_t pid, const char *ref, int status)
{
    h->metrics.events_lost++;
    struct gw_part *p = pid ? find(h, pid) : NULL;
    if (!p || p->closing)
        return;
    char msg[96];
    snprintf(msg, sizeof msg, "message not kept (%s): it was not sent; try again later",
             gw_store_strerror(status));
    gw_out_error(h, p, GW_R_NOT_KEPT, msg, ref);
}

/* Wait for the store to keep an event: the room's FIFO takes a copy of
 * the line and the ref and a reference to the JSON. Returns 0 or -1. */
static int room_wait(struct gw_room *r, uint64_t id, uint64_t pid, struct gw_buf *json,
                     const char *line, size_t n, const char *ref)
{
    size_t rlen = ref ? strlen(ref) : 0;
    struct gw_pending *e = malloc(sizeof(*e) + n + rlen + 1);
    if (!e)
        return -1;
    e->next = NULL;
    e->id = id;
    e->pid = pid;
    e->json = gw_buf_ref(json);
    e->line_len = n;
    memcpy(e->line, line, n);
    e->ref = e->line + n;
    memcpy(e->ref, ref ? ref : "", rlen + 1);
    if (r->pending_tail)
        r->pending_tail->next = e;
    else
        r->pending = e;
    r->pending_tail = e;
    r->npending++;
    return 0;
}

int gw_hub_room_defer(struct gw_room *r, uint64_t from, struct gw_buf *json)
{
    if (!r->npending)
        return -1;
    return room_wait(r, 0, from, json, "", 0, NULL);
}

/*
 * A room event that is not typing: its room's next id, its JSON (encoded
 * once) and its transcript line (prefix and text). Without a store it is
 * delivered at once; with one it is appended there and delivered when the
 * store reports it kept. A message whose event is refused or lost gets its
 * sender (ev->pid) a 451 with ref.
 */
void gw_hub_room_event(struct gw_hub *h, struct gw_room *r, struct gw_event *ev,
                       const char *prefix, const char *text, size_t len, const char *ref)
{
    const struct gw_store *st = h->cfg.store && h->cfg.store->append ? h->cfg.store : NULL;
    int ordered = st && (st->flags & GW_STORE_ORDERS);
    /* Told when lost: a message's sender, and whoever removed one. */
    uint64_t sender = ev->type == GW_EV_MESSAGE || ev->type == GW_EV_DELETED ? ev->pid : 0;
    gw_room_touch(&h->rooms, r);
    if (st && r->npending >= GW_ROOM_PENDING_MAX) {
        room_lost(h, sender, ref, GW_STORE_EBUSY);
        return;
    }
    ev->room = r->name;
    /* An engine that orders writes its own id in place of the 0. */
    ev->id = ordered ? 0 : gw_history_new_id(&r->history);
    size_t id_at = 0;
    struct gw_buf *json = gw_json_event_at(ev, h->cfg.headroom, &id_at);
    if (!json) {
        room_lost(h, sender, ref, GW_STORE_ENOMEM);
        return;
    }
    if (!ordered)
        h->metrics.events++; /* an engine's are counted as they come back */
    /* An event with no text (an account away or back) is no line. */
    char line[GW_TRANSCRIPT_LINE_MAX_BYTES];
    size_t n = len || prefix[0] ? gw_transcript_render(line, prefix, text, len) : 0;
    int rc = GW_STORE_DONE;
    if (st) {
        const char *bytes = (const char *)gw_buf_bytes(json);
        size_t id_len = 0;
        while (id_at + id_len < json->len && bytes[id_at + id_len] >= '0' &&
               bytes[id_at + id_len] <= '9')
            id_len++;
        struct gw_store_event se = {
            .id = ordered ? r->appends + 1 : ev->id,
            .time_ms = ev->time_ms,
            .type = (int)ev->type,
            .json = bytes,
            .json_len = json->len,
            .line = line,
            .line_len = n,
            .text = ev->type == GW_EV_MESSAGE ? ev->text : NULL,
            .text_len = ev->type == GW_EV_MESSAGE ? ev->text_len : 0,
            .id_at = id_at,
            .id_len = id_len,
            .deletes = ev->type == GW_EV_DELETED ? ev->deleted : 0,
        };
        rc = st->append(st->ctx, r->key, r->name, &se);
        if (ordered) {
            /* It goes out when it comes back (gw_hub_store_event); the
             * FIFO only remembers whom to tell should it be lost. */
            if (rc >= 0) {
                r->appends++;
                if (rc == GW_STORE_PENDING)
                    (void)room_wait(r, se.id, sender, json, "", 0, ref);
            } else {
                room_lost(h, sender, ref, rc);
            }
            gw_buf_unref(json);
            return;
        }
        /* Nothing waits in the room's FIFO only when the store keeps
         * everything at once: an event kept now must not overtake those. */
        if (rc == GW_STORE_DONE && r->npending)
            rc = room_wait(r, ev->id, sender, json, line, n, ref) == 0 ? GW_STORE_PENDING
                                                                      : GW_STORE_ENOMEM;
        else if (rc == GW_STORE_PENDING && room_wait(r, ev->id, sender, json, line, n, ref))
            rc = GW_STORE_ENOMEM; /* kept, but it cannot be sent: as if lost */
    }
    if (rc == GW_STORE_DONE)
        room_deliver(h, r, ev->id, json, line, n);
    else if (rc < 0)
        room_lost(h, sender, ref, rc);
    gw_buf_unref(json);
}

int gw_hub_store_done(struct gw_hub *h, const char *room_key, uint64_t id, int status)
{
    struct gw_room *r = room_key ? gw_rooms_find(&h->rooms, room_key, strlen(room_key)) : NULL;
    if (!r)
        return GW_ENOENT;
    int ordered = h->cfg.store && (h->cfg.store->flags & GW_STORE_ORDERS);
    while (r->pending && r->pending->id <= id) {
        struct gw_pending *e = r->pending;
        r->pending = e->next;
        if (!r->pending)
            r->pending_tail = NULL;
        r->npending--;
        if (ordered) { /* taken: it is sent as it comes back */
            if (status < 0)
                room_lost(h, e->pid, e->ref, status);
        } else if (e->id == 0) { /* typing, whatever became of the events before it */
            for (size_t i = 0; i < r->nweb; i++) {
                struct gw_part *o = r->web[i];
                if (o->pid != e->pid && o->joined)
                    gw_out_push_web(h, o, e->json);
            }
        } else if (status >= 0) {
            room_deliver(h, r, e->id, e->json, e->line, e->line_len);
        } else {
            room_lost(h, e->pid, e->ref, status);
        }
        gw_buf_unref(e->json);
        free(e);
    }
    return GW_OK;
}

int gw_hub_store_event(struct gw_hub *h, const char *room_key, const struct gw_store_event *ev)
{
    struct gw_room *r = room_key ? gw_rooms_find(&h->rooms, room_key, strlen(room_key)) : NULL;
    if (!r)
        return GW_ENOENT;
    if (ev->id <= gw_history_last_id(&r->history))
        return GW_OK; /* had it */
    struct gw_buf *json = gw_buf_copy(h->cfg.headroom, ev->json, ev->json_len);
    if (!json)
        return GW_ENOMEM;
    /* Ids skipped are what the engine could not recover: a gap. */
    gw_history_skip(&r->history, ev->id);
    gw_room_touch(&h->rooms, r);
    h->metrics.events++;
    /* A join in it says who is there, kept or new: the welcomes held
     * until the room is loaded list them. */
    uint64_t named = gw_presence_event(h, r, ev->json, ev->json_len);
    if (r->loading) {
        /* Kept before the room was loaded here: into its ring and its
         * transcript only. The joins held meanwhile are answered from them
         * (history after their last id), and nobody is a member yet. */
        gw_delete_apply(h, r, json);
        gw_history_add(&r->history, ev->id, json);
        (void)gw_transcript_add(&r->transcript, ev->line, ev->line_len);
    } else {
        room_deliver(h, r, ev->id, json, ev->line, ev->line_len);
    }
    gw_buf_unref(json);
    if (named)
        gw_presence_settle(h, named, h->beat_now);
    return GW_OK;
}

int gw_hub_store_typing(struct gw_hub *h, const char *room_key, uint64_t from, const char *json,
                        size_t len)
{
    struct gw_room *r = room_key ? gw_rooms_find(&h->rooms, room_key, strlen(room_key)) : NULL;
    if (!r)
        return GW_ENOENT;
    struct gw_buf *b = NULL;
    for (size_t i = 0; i < r->nweb; i++) {
        struct gw_part *o = r->web[i];
        if (o->pid == from || !o->joined)
            continue;
        if (!b && !(b = gw_buf_copy(h->cfg.headroom, json, len)))
            return GW_ENOMEM;
        gw_out_push_web(h, o, b);
    }
    gw_buf_unref(b);
    return GW_OK;
}

/* The registry drops a room nobody is in: an engine that orders need not
 * report its events any more. */
static void room_dropped(void *arg, const struct gw_room *r)
{
    const struct gw_hub *h = arg;
    const struct gw_store *st = h->cfg.store;
    if (st && (st->flags & GW_STORE_ORDERS) && st->unwatch)
        st->unwatch(st->ctx, r->key);
}

struct load_ctx {
    struct gw_hub *h;
    struct gw_room *r;
};

/* One event the store kept, on loading its room: into the ring and the
 * transcript, as if it had just happened, but sent to nobody. */
static void load_one(void *arg, const struct gw_store_event *ev)
{
    struct load_ctx *lc = arg;
    struct gw_buf *b = gw_buf_new(lc->h->cfg.headroom, ev->json_len);
    if (!b)
        return;
    memcpy(b->data + b->headroom, ev->json, ev->json_len);
    gw_history_add(&lc->r->history, ev->id, b);
    gw_buf_unref(b);
    /* A line over the transcript's bound is refused there and not shown. */
    (void)gw_transcript_add(&lc->r->transcript, ev->line, ev->line_len);
}

/* Ask the store for r's events (gw_hub_room_load). */
static void load_events(struct gw_hub *h, struct gw_room *r)
{
    const struct gw_store *st = h->cfg.store;
    if (st && (st->flags & GW_STORE_ORDERS)) {
        /* Its events come through gw_hub_store_event, the kept ones first:
         * until the engine says they are all here (sink.ready), the room
         * is loading and its joins wait, or a welcome would say an empty
         * room and then send its kept events as new ones. #lobby is
         * watched from the hub's start, before anybody comes (and its
         * TCP members join it at once). */
        if (st->watch &&
            st->watch(st->ctx, r->key, r->name, gw_history_last_id(&r->history)) == 0 &&
            r != h->rooms.lobby)
            r->loading = 1;
        return;
    }
    /* Later, off the loop, unless it cannot (then at once, below). The
     * hub's own start (#lobby) reads at once: nothing runs yet to wait. */
    if (st && st->load_async && r != h->rooms.lobby &&
        st->load_async(st->ctx, r->key, GW_HISTORY_MAX_EVENTS, GW_HISTORY_MAX_BYTES) ==
            GW_STORE_PENDING) {
        r->loading = 1;
        return;
    }
    if (!st || !st->load)
        return;
    struct load_ctx lc = {h, r};
    uint64_t last = 0;
    if (st->load(st->ctx, r->key, GW_HISTORY_MAX_EVENTS, GW_HISTORY_MAX_BYTES, &last, load_one,
                 &lc) == 0)
        gw_history_skip(&r->history, last);
}

void gw_hub_room_load(struct gw_hub *h, struct gw_room *r)
{
    if (r->loaded)
        return;
    r->loaded = 1;
    /* Who is away is part of what a room shows: its joins wait for the
     * store's members too (not #lobby's, which TCP peers enter at once). */
    gw_away_walk(h, r);
    r->away_wait = r->away_tag != 0 && r != h->rooms.lobby;
    load_events(h, r);
    if (r->away_wait && !r->loading) {
        r->loading = 1;
        r->events_ready = 1;
    }
}

int gw_hub_room_hold(struct gw_hub *h, struct gw_part *p, struct gw_room *r, enum gw_hold what,
                     uint64_t last_id, const char *ref, const char *data, size_t len,
                     int64_t now)
{
    if (r->nwaits == r->waits_cap && r->nwaits < GW_ROOM_WAITS_MAX) {
        size_t cap = r->waits_cap ? r->waits_cap * 2 : 4;
        struct gw_room_wait *n = realloc(r->waits, cap * sizeof(*n));
        if (n) {
            r->waits = n;
            r->waits_cap = cap;
        }
    }
    char *copy = NULL;
    if (what == GW_HOLD_HELLO && (copy = malloc(len ? len : 1)))
        memcpy(copy, data, len);
    if (r->nwaits >= r->waits_cap || (what == GW_HOLD_HELLO && !copy)) {
        free(copy);
        gw_out_error(h, p, GW_R_SHUTDOWN, "the room is still loading: try again later", ref);
        return -1;
    }
    struct gw_room_wait *w = &r->waits[r->nwaits++];
    memset(w, 0, sizeof(*w));
    w->pid = p->pid;
    w->seq = ++h->next_hold;
    w->since = now;
    w->what = what;
    w->last_id = last_id;
    snprintf(w->ref, sizeof w->ref, "%s", ref ? ref : "");
    if (what != GW_HOLD_WEB_JOIN) {
        p->hold = what;
        p->hold_seq = w->seq;
    }
    if (copy) {
        free(p->hello_held);
        p->hello_held = copy;
        p->hello_held_len = len;
    }
    return 0;
}

/*
 * Let the n joins held in the room called name go on (they were taken out
 * of the room first: what goes on may open other rooms, and so drop this
 * one while it is empty; then it opens and loads again, and the rest wait
 * again). With expired (msg says why) the room could not be had in time:
 * a browser's join gets an error for the room, a hello goes on without
 * waiting (refusing the rooms still loading), a TCP participant stays
 * where it is. Frees waits.
 */
static void waits_go_on(struct gw_hub *h, struct gw_room_wait *waits, size_t n,
                        const char *name, int64_t now, const char *expired)
{
    for (size_t i = 0; i < n; i++) {
        const struct gw_room_wait *w = &waits[i];
        struct gw_part *p = gw_hub_part(h, w->pid);
        if (!p || p->closing)
            continue;
        const char *ref = w->ref[0] ? w->ref : NULL;
        if (w->what == GW_HOLD_WEB_JOIN) {
            if (expired)
                gw_out_error_room(h, p, GW_R_SHUTDOWN, expired, name, strlen(name), ref);
            else
                gw_member_web_join(h, p, now, name, strlen(name), w->last_id, ref);
            continue;
        }
        if (p->hold != w->what || p->hold_seq != w->seq)
            continue; /* asked for something else since */
        p->hold = GW_HOLD_NONE;
        if (w->what == GW_HOLD_HELLO) {
            p->hello_no_wait = expired != NULL;
            gw_web_hello_go_on(h, p, now);
            p->hello_no_wait = 0;
        } else if (expired) {
            gw_out_error(h, p, GW_R_SHUTDOWN, expired, NULL);
        } else {
            struct gw_room *to;
            if (gw_member_open(h, p, name, strlen(name), ref, &to) == 0)
                gw_member_tcp_move(h, p, now, to);
        }
    }
    free(waits);
}

void gw_hub_room_ready(struct gw_hub *h, struct gw_room *r, int64_t now)
{
    r->events_ready = 1;
    if (r->away_wait)
        return; /* its members away are still to come (gw_away_keys) */
    r->loading = 0;
    struct gw_room_wait *waits = r->waits;
    size_t n = r->nwaits;
    r->waits = NULL;
    r->nwaits = r->waits_cap = 0;
    char name[GW_ROOM_NAME_MAX_BYTES + 1];
    snprintf(name, sizeof name, "%s", r->name);
    waits_go_on(h, waits, n, name, now, NULL);
}

/*
 * The joins held in r past GW_ROOM_WAIT_MAX_MS (its store is down or
 * slow), at now: each is told the room cannot be had now (421); the room
 * goes on loading, and the joins held since wait on.
 */
static void room_waits_expire(struct gw_hub *h, struct gw_room *r, int64_t now)
{
    /* The oldest first: those past the bound are a prefix. */
    size_t n = 0;
    while (n < r->nwaits && now - r->waits[n].since >= GW_ROOM_WAIT_MAX_MS)
        n++;
    if (n == 0)
        return;
    struct gw_room_wait *waits = malloc(n * sizeof(*waits));
    if (!waits)
        return; /* at the next tick */
    memcpy(waits, r->waits, n * sizeof(*waits));
    memmove(r->waits, r->waits + n, (r->nwaits - n) * sizeof(*waits));
    r->nwaits -= n;
    char name[GW_ROOM_NAME_MAX_BYTES + 1], msg[GW_ROOM_NAME_MAX_BYTES + 64];
    snprintf(name, sizeof name, "%s", r->name);
    snprintf(msg, sizeof msg, "%s cannot be loaded now: try again later", name);
    waits_go_on(h, waits, n, name, now, msg);
}

void gw_hub_rooms_waits_tick(struct gw_hub *h, int64_t now)
{
    /* A shared engine may be cut off from its server for as long as that
     * lasts; an engine of this gateway's own (sqlite) always answers, in
     * its turn behind the reads before it. */
    const struct gw_store *st = h->cfg.store;
    if (!st || !(st->flags & GW_STORE_ORDERS))
        return;
    /* From the end: a room may be dropped meanwhile (the last of the list
     * takes its slot), never one not yet looked at. */
    for (size_t i = h->rooms.count; i-- > 0;)
        if (i < h->rooms.count && h->rooms.list[i]->loading)
            room_waits_expire(h, h->rooms.list[i], now);
}

int gw_hub_store_ready(struct gw_hub *h, const char *room_key, int64_t now)
{
    struct gw_room *r = h && room_key ? gw_rooms_find(&h->rooms, room_key, strlen(room_key)) : NULL;
    if (!r || !r->loading)
        return GW_ENOENT;
    gw_hub_room_ready(h, r, now);
    return GW_OK;
}

int gw_hub_store_loaded(struct gw_hub *h, const char *room_key, int status, uint64_t last_id,
                        const struct gw_store_event *ev, size_t n, int64_t now)
{
    struct gw_room *r = h && room_key ? gw_rooms_find(&h->rooms, room_key, strlen(room_key)) : NULL;
    if (!r || !r->loading)
        return GW_ENOENT;
    struct load_ctx lc = {h, r};
    for (size_t i = 0; status >= 0 && i < n; i++)
        load_one(&lc, &ev[i]);
    /* Even when the events could not be read: ids go on after it. */
    if (last_id)
        gw_history_skip(&r->history, last_id);
    gw_hub_room_ready(h, r, now);
    return GW_OK;
}

unsigned gw_hub_set_epoch(struct gw_hub *h, uint64_t epoch)
{
    char hex[GW_EPOCH_HEX_LEN + 1];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)epoch);
    if (strcmp(hex, h->epoch) == 0)
        return 0;
    memcpy(h->epoch, hex, sizeof hex);
    h->cfg.epoch = epoch;
    for (size_t i = 0; i < h->rooms.count; i++) {
        struct gw_room *r = h->rooms.list[i];
        gw_history_free(&r->history);
        gw_history_init(&r->history, 0);
    }
    unsigned closed = 0;
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (p->via != GW_VIA_WEB || p->proto != GW_PROTO_V2 || p->closing)
            continue;
        gw_hub_start_closing(h, p, GW_CLOSE_RESTART, "history was reset: reconnect");
        closed++;
    }
    return closed;
}

size_t gw_hub_store_pending(const struct gw_hub *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->rooms.count; i++)
        n += h->rooms.list[i]->npending;
    return n;
}

void gw_hub_event_init(struct gw_hub *h, struct gw_event *ev, enum gw_ev_type type,
                       struct gw_part *p, int64_t now)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    /* The hub's clock measures durations; an event's time is wall time. */
    ev->time_ms = now + h->wall_offset;
    ev->pid = p->pid;
    ev->nick = p->nick;
    ev->ident = gw_hub_person_name(p);
    ev->via = gw_via_name(p->via);
}

const char *gw_hub_person_name(const struct gw_part *p)
{
    if (p->account[0] && p->sess && p->sess->public_name[0])
        return p->sess->public_name;
    return p->ident ? p->ident->public_name : NULL;
}

int gw_hub_same_person(const struct gw_part *a, const struct gw_part *b)
{
    if (a == b)
        return 1;
    if (a->account[0])
        return strcmp(a->account, b->account) == 0;
    return !b->account[0] && a->ident && a->ident == b->ident;
}

int gw_hub_person_first(const struct gw_hub *h, struct gw_part *q, const struct gw_room *r)
{
    for (struct gw_part *c = gw_hub_person_next(h, q, NULL); c; c = gw_hub_person_next(h, q, c))
        if (c->joined && !c->closing && gw_member_of(c, r))
            return c == q;
    return 1;
}

size_t gw_hub_room_count(const struct gw_hub *h, const struct gw_room *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nweb; i++)
        n += !r->web[i]->closing && gw_hub_person_first(h, r->web[i], r);
    for (size_t i = 0; i < r->ntcp; i++)
        n += !r->tcp[i]->closing && gw_hub_person_first(h, r->tcp[i], r);
    return n + gw_presence_count(h, r);
}

void gw_hub_post_message(struct gw_hub *h, struct gw_room *r, struct gw_part *p, int64_t now,
                         const char *text, size_t len, int me, const char *ref)
{
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_MESSAGE, p, now);
    ev.text = text;
    ev.text_len = len;
    ev.me = me;
    for (size_t i = 0; i < r->nweb; i++)
        h->metrics.messages_out[GW_VIA_WEB] += r->web[i]->joined && !r->web[i]->closing;
    for (size_t i = 0; i < r->ntcp; i++)
        h->metrics.messages_out[GW_VIA_TCP] += r->tcp[i]->joined && !r->tcp[i]->closing;
    char prefix[GW_NICK_MAX_BYTES + 8];
    snprintf(prefix, sizeof prefix, me ? "* %s " : "%s: ", p->nick);
    gw_hub_room_event(h, r, &ev, prefix, text, len, ref);
}

/* Whether a connection of p's person other than p is in r. A person is
 * one however many tabs, devices and programs it has: in a room once,
 * joining with its first connection there and leaving with its last. */
static int twin_in(const struct gw_hub *h, struct gw_part *p, const struct gw_room *r)
{
    for (struct gw_part *q = gw_hub_person_next(h, p, NULL); q; q = gw_hub_person_next(h, p, q))
        if (q != p && q->joined && gw_member_of(q, r))
            return 1;
    return 0;
}

void gw_hub_part_kept(struct gw_hub *h, struct gw_part *p, const struct gw_room *r)
{
    if (p->account[0] && !twin_in(h, p, r))
        gw_kept_room(h, p, r, 0);
}

void gw_hub_post_join(struct gw_hub *h, struct gw_room *r, struct gw_part *p, int64_t now)
{
    gw_room_touch(&h->rooms, r);
    if (p->account[0])
        gw_kept_room(h, p, r, 1);
    /* An account that stayed a member while away is back: no line. */
    int back = p->account[0] && gw_away_del(h, r, p->account);
    if (gw_room_members(r) > GW_PRESENCE_MAX)
        return; /* a crowd: see GW_PRESENCE_MAX */
    if (twin_in(h, p, r))
        return; /* another tab of the same person is there already */
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_JOIN, p, now);
    ev.back = back;
    /* The person is there through another gateway (a tab, or a reload
     * that came back here): the other gateways learn of this connection
     * at once, and nobody sees a join. */
    ev.tab = gw_presence_person_in(h, p, r);
    char text[GW_NICK_MAX_BYTES + 32];
    snprintf(text, sizeof text, "* %s joined (%s)", p->nick, gw_via_name(p->via));
    gw_hub_room_event(h, r, &ev, "", text, back || ev.tab ? 0 : strlen(text), NULL);
}

void gw_hub_post_leave(struct gw_hub *h, struct gw_room *r, struct gw_part *p, int64_t now,
                       enum gw_leave_reason reason)
{
    gw_room_touch(&h->rooms, r);
    if (twin_in(h, p, r))
        return; /* another tab of the same person stays */
    /* The person stays there through another gateway: this connection's
     * leave is for the gateways, not a line for anyone. */
    int tab = gw_presence_person_in(h, p, r);
    /* An account stays a member of the rooms it has not parted: away. */
    int away = !tab && p->account[0] && reason != GW_LEAVE_PART;
    if (away)
        gw_away_add(h, r, p->account, p->nick);
    else if (p->account[0] && !tab)
        (void)gw_away_del(h, r, p->account); /* parted: a member no more */
    if (gw_room_members(r) + 1 > GW_PRESENCE_MAX)
        return; /* a crowd (counting the one leaving): see GW_PRESENCE_MAX */
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_LEAVE, p, now);
    ev.reason = away ? GW_LEAVE_AWAY : reason;
    ev.tab = tab;
    char text[GW_NICK_MAX_BYTES + 16];
    snprintf(text, sizeof text, "* %s left", p->nick);
    gw_hub_room_event(h, r, &ev, "", text, away || tab ? 0 : strlen(text), NULL);
}

/* ---- nicks ---- */

/* FNV-1a of a nick key. */
static size_t nick_hash(const char *key)
{
    uint64_t v = 1469598103934665603ull;
    for (; *key; key++) {
        v ^= (unsigned char)*key;
        v *= 1099511628211ull;
    }
    return (size_t)v;
}

static void nick_unindex(struct gw_hub *h, struct gw_part *p)
{
    if (!p->nick_key[0])
        return;
    struct gw_part **pp = &h->nicks[nick_hash(p->nick_key) & h->nicks_mask];
    while (*pp && *pp != p)
        pp = &(*pp)->nick_next;
    if (*pp)
        *pp = p->nick_next;
    p->nick_next = NULL;
}

/* p's nick is now nick, compared as key (both NUL-terminated), taken at
 * now. */
static void nick_set(struct gw_hub *h, struct gw_part *p, const char *nick, const char *key,
                     int64_t now)
{
    nick_unindex(h, p);
    if (strcmp(p->nick_key, key) != 0) /* not when only its spelling changes */
        p->nick_at = now + h->wall_offset;
    snprintf(p->nick, sizeof p->nick, "%s", nick);
    snprintf(p->nick_key, sizeof p->nick_key, "%s", key);
    size_t b = nick_hash(key) & h->nicks_mask;
    p->nick_next = h->nicks[b];
    h->nicks[b] = p;
}

/* Who else (not self) in the gateway has the nick whose comparison key
 * (gw_nick_norm) is key: the same name whatever its case or composition. */
static struct gw_part *nick_owner(const struct gw_hub *h, const struct gw_part *self,
                                  const char *key)
{
    /* Every connection of an identity (its tabs) has the identity's nick. */
    for (struct gw_part *p = h->nicks[nick_hash(key) & h->nicks_mask]; p; p = p->nick_next)
        if (p != self && p->joined && strcmp(p->nick_key, key) == 0 &&
            !(self && self->ident && p->ident == self->ident) &&
            !(self && self->account[0] && strcmp(p->account, self->account) == 0))
            return p;
    return NULL;
}

struct gw_part *gw_hub_nick_owner(const struct gw_hub *h, const char *key)
{
    return nick_owner(h, NULL, key);
}

struct gw_part *gw_hub_person_next(const struct gw_hub *h, struct gw_part *p,
                                   struct gw_part *c)
{
    if (p->account[0]) {
        /* Logged in: the account's nick, so its connections are on the
         * chain of that nick. */
        c = c ? c->nick_next : h->nicks[nick_hash(p->account) & h->nicks_mask];
        for (; c; c = c->nick_next)
            if (!strcmp(c->account, p->account) && !strcmp(c->nick_key, p->account))
                return c;
        return NULL;
    }
    if (!p->ident)
        return c ? NULL : p;
    for (c = c ? c->ident_next : p->ident->first_conn; c && c->account[0]; c = c->ident_next)
        ;
    return c;
}

/* Whether the nick change of first's identity was announced in r before
 * its connection q was renamed: first (renamed first) or a connection
 * listed before q is in r. */
static int announced_in(struct gw_part *first, struct gw_part *q, const struct gw_room *r)
{
    if (first->joined && gw_member_of(first, r))
        return 1;
    for (struct gw_part *c = first->ident->first_conn; c && c != q; c = c->ident_next)
        if (c != first && c->joined && gw_member_of(c, r))
            return 1;
    return 0;
}

/* p, once called old, has a new nick: an event of every room it is in,
 * with each room's id (none before it has joined); with first, a twin of
 * p renamed before it, not in the rooms where that was said already. */
static void announce_nick(struct gw_hub *h, struct gw_part *p, const char *old, int64_t now,
                          struct gw_part *first)
{
    char msg[GW_NICK_MAX_BYTES * 2 + 32];
    if (!p->joined)
        return;
    snprintf(msg, sizeof msg, "* %s is now %s", old, p->nick);
    for (unsigned i = 0; i < p->nmemb; i++) {
        struct gw_room *r = p->memb[i].room;
        if (first && announced_in(first, p, r))
            continue;
        struct gw_event ev;
        gw_hub_event_init(h, &ev, GW_EV_NICK, p, now);
        ev.old = old;
        gw_hub_room_event(h, r, &ev, "", msg, strlen(msg), NULL);
    }
}

/* Change p's nick (given as len bytes of valid UTF-8), announcing it.
 * Returns 0 or a reply code (553). */
int gw_hub_change_nick(struct gw_hub *h, struct gw_part *p, int64_t now, const char *given,
                       size_t len, const char *ref)
{
    char msg[GW_NICK_MAX_BYTES * 2 + 96];
    char nick[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    int st = gw_nick_norm(given, len, h->cfg.nick_max, nick, key);
    if (st != GW_NICK_OK) {
        if (st == GW_NICK_LONG)
            snprintf(msg, sizeof msg, "nick is longer than %u characters", h->cfg.nick_max);
        else
            snprintf(msg, sizeof msg, "%s", gw_nick_strerror(st));
        gw_out_error(h, p, GW_R_NAME, msg, ref);
        return GW_R_NAME;
    }
    if (nick_owner(h, p, key) || gw_presence_nick(h, key, p)) {
        snprintf(msg, sizeof msg, "nick \"%s\" is taken", nick);
        gw_out_error(h, p, GW_R_NAME, msg, ref);
        return GW_R_NAME;
    }
    /* The identity keeps the nick its owner chose, for its next visit
     * (here, or on another gateway: kept there at the end of the hello). */
    if (p->ident) {
        snprintf(p->ident->nick, sizeof p->ident->nick, "%s", nick);
        if (p->joined)
            gw_private_save(h, p->ident);
    }
    if (strcmp(p->nick, nick) == 0)
        return 0;
    char old[GW_NICK_MAX_BYTES + 1];
    memcpy(old, p->nick, sizeof old);
    nick_set(h, p, nick, key, now);
    announce_nick(h, p, old, now, NULL);
    /* The identity's other tabs are renamed with it, each room told once. */
    for (struct gw_part *q = p->ident ? p->ident->first_conn : NULL; q; q = q->ident_next) {
        if (q == p || !q->joined || strcmp(q->nick, nick) == 0)
            continue;
        char qold[GW_NICK_MAX_BYTES + 1];
        memcpy(qold, q->nick, sizeof qold);
        nick_set(h, q, nick, key, now);
        announce_nick(h, q, qold, now, p);
    }
    return 0;
}

void gw_hub_guest_name(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    char nick[GW_NICK_MAX_BYTES + 1];
    /* Another tab of a guest's identity: the same guest (not one logged
     * in to an account: its nick is the account's). */
    for (struct gw_part *q = p->ident ? p->ident->first_conn : NULL; q; q = q->ident_next)
        if (q != p && q->joined && !q->account[0] && q->nick_key[0] &&
            strcmp(q->nick_key, p->nick_key) != 0) {
            snprintf(nick, sizeof nick, "%s", q->nick);
            nick_set(h, p, nick, q->nick_key, now);
            return;
        }
    /* Gateways that share their rooms would all count guest-1, guest-2...:
     * there a guest's number is drawn at random from GW_GUEST_DRAWN (a
     * rare clash with another gateway's is settled, gw_presence_settle),
     * and counted only if the draws keep finding names taken. */
    const struct gw_store *st = h->cfg.store;
    int draws = st && (st->flags & GW_STORE_ORDERS) && h->cfg.random ? 8 : 0;
    /* ASCII letters, digits and '-': the key is the nick itself. */
    do {
        uint32_t r;
        unsigned n = draws-- > 0 && h->cfg.random(h->cfg.ctx, &r, sizeof r) == 0
                         ? GW_GUEST_DRAWN + (unsigned)(r % (GW_GUEST_DRAWN * 9u))
                         : ++h->guest_seq;
        snprintf(nick, sizeof nick, "guest-%u", n);
    } while (nick_owner(h, p, nick) || gw_presence_nick(h, nick, NULL));
    nick_set(h, p, nick, nick, now);
}

void gw_hub_announce_nick(struct gw_hub *h, struct gw_part *p, const char *old, int64_t now)
{
    announce_nick(h, p, old, now, NULL);
}

void gw_hub_nick_lost(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    char old[GW_NICK_MAX_BYTES + 1], msg[GW_NICK_MAX_BYTES * 2 + 96];
    memcpy(old, p->nick, sizeof old);
    gw_hub_guest_name(h, p, now);
    snprintf(msg, sizeof msg, "nick \"%s\" was taken on another gateway first; you are %s", old,
             p->nick);
    gw_out_error(h, p, GW_R_NAME, msg, NULL);
    announce_nick(h, p, old, now, NULL);
}

/* ---- the access key ---- */

/* Compare digests, not the keys: equal lengths, and CRYPTO_memcmp takes
 * the same time wherever they differ, so timing says nothing of the key
 * (not even its length). */
int gw_hub_key_ok(const struct gw_hub *h, const char *key, size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (!h->has_key)
        return 1;
    if (!key)
        return 0;
    SHA256((const unsigned char *)key, len, d);
    return CRYPTO_memcmp(d, h->key_digest, sizeof d) == 0;
}

/* ---- life cycle ---- */

int gw_hub_new(struct gw_hub **out, const struct gw_hub_config *cfg)
{
    if (!out || !cfg)
        return GW_EINVAL;
    struct gw_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return GW_ENOMEM;
    h->cfg = *cfg;
    if (!h->cfg.max_participants)
        h->cfg.max_participants = GW_PARTICIPANTS_DEFAULT;
    if (h->cfg.max_participants > GW_PARTICIPANTS_CEILING)
        h->cfg.max_participants = GW_PARTICIPANTS_CEILING;
    if (!h->cfg.tcp_queue_max_bytes)
        h->cfg.tcp_queue_max_bytes = GW_TCP_QUEUE_MAX_BYTES;
    if (!h->cfg.web_queue_max_bytes)
        h->cfg.web_queue_max_bytes = GW_WEB_QUEUE_MAX_BYTES;
    if (!h->cfg.line_max || h->cfg.line_max > GW_TEXT_MAX_BYTES)
        h->cfg.line_max = GW_TEXT_MAX_BYTES;
    if (!h->cfg.nick_max || h->cfg.nick_max > GW_NICK_MAX_CHARS)
        h->cfg.nick_max = GW_NICK_MAX_CHARS;
    if (!h->cfg.draft_units)
        h->cfg.draft_units = GW_DRAFT_UNITS_DEFAULT;
    if (h->cfg.draft_units > GW_DRAFT_UNITS_CEILING)
        h->cfg.draft_units = GW_DRAFT_UNITS_CEILING;
    if (!h->cfg.max_rooms_per_browser)
        h->cfg.max_rooms_per_browser = GW_ROOMS_PER_BROWSER_DEFAULT;
    if (h->cfg.max_rooms_per_browser > GW_ROOMS_PER_BROWSER_CEILING)
        h->cfg.max_rooms_per_browser = GW_ROOMS_PER_BROWSER_CEILING;
    h->draft_max_bytes = (size_t)WT_UTF8_PER_UNIT_MAX * h->cfg.draft_units;
    h->cap = h->cfg.max_participants + GW_REFUSE_SLACK;
    if (cfg->key && *cfg->key) {
        size_t klen = strlen(cfg->key);
        if (klen > GW_KEY_MAX_BYTES) {
            free(h);
            return GW_EINVAL;
        }
        SHA256((const unsigned char *)cfg->key, klen, h->key_digest);
        h->has_key = 1;
    }
    size_t isize = 16;
    while (isize < h->cap * 2)
        isize *= 2;
    h->index_mask = isize - 1;
    h->index = calloc(isize, sizeof(*h->index));
    /* Chains of a few at most: an eighth of the index, so that a small
     * gateway does not pay for a big table. */
    h->nicks_mask = isize / 8 - 1;
    h->nicks = calloc(isize / 8, sizeof(*h->nicks));
    h->parts = calloc(h->cap, sizeof(*h->parts));
    int rooms_rc = gw_rooms_init(&h->rooms, h->cfg.max_rooms);
    int idents_rc = gw_idents_init(&h->idents);
    if (!h->parts || !h->index || !h->nicks || rooms_rc != GW_ROOM_OK || idents_rc != 0) {
        free(h->index);
        free(h->nicks);
        free(h->parts);
        if (rooms_rc == GW_ROOM_OK)
            gw_rooms_free(&h->rooms);
        gw_idents_free(&h->idents);
        free(h);
        return GW_ENOMEM;
    }
    h->cfg.key = NULL;
    h->next_pid = cfg->pid_base + 1;
    h->node = cfg->pid_base >> GW_NODE_SHIFT;
    snprintf(h->epoch, sizeof h->epoch, "%016llx", (unsigned long long)cfg->epoch);
    h->rooms.on_drop = room_dropped;
    h->rooms.drop_arg = h;
    gw_hub_room_load(h, h->rooms.lobby);
    *out = h;
    return GW_OK;
}

static void part_free(struct gw_part *p)
{
    if (p->memb != &p->memb0)
        free(p->memb);
    gw_queue_set_in_flight(&p->q, 0);
    gw_queue_clear(&p->q);
    wt_decoder_free(&p->dec);
    free(p->draft);
    free(p->typing);
    free(p->hello_held);
    free(p->held_after);
    free(p->sess);
    free(p->jwtl);
    free(p);
}

void gw_hub_free(struct gw_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nparts; i++)
        part_free(h->parts[i]);
    for (struct gw_part *p = h->linger_first, *next; p; p = next) {
        next = p->linger_next;
        part_free(p);
    }
    gw_rooms_free(&h->rooms);
    gw_account_free(h);
    gw_kept_free(h);
    gw_jwtlogin_free(h);
    gw_names_free(h);
    gw_idents_free(&h->idents);
    gw_read_free(h);
    gw_presence_free(h);
    free(h->parts);
    free(h->index);
    free(h->nicks);
    free(h);
}

/* A new participant, in no room yet; a TCP one has its handshake queued. */
static int part_new(struct gw_hub *h, enum gw_via via, void *user, int64_t now,
                    struct gw_part **out)
{
    if (!h || (via != GW_VIA_TCP && via != GW_VIA_WEB))
        return GW_EINVAL;
    if (h->nparts >= h->cap)
        return GW_EFULL;
    struct gw_part *p = calloc(1, sizeof(*p));
    if (p)
        p->account = ""; /* a guest */
    if (!p)
        return GW_ENOMEM;
    p->pid = h->next_pid++;
    p->via = via;
    p->proto = GW_PROTO_V1;
    p->memb = &p->memb0;
    p->memb_cap = 1;
    p->user = user;
    p->tokens = (int64_t)h->cfg.rate * 2000;
    p->tokens_at = now;
    p->typing_tokens = (int64_t)h->cfg.typing_rate * 2000;
    p->typing_tokens_at = now;
    p->read_tokens = (int64_t)h->cfg.read_rate * 2000;
    p->read_tokens_at = now;
    p->room_tokens = (int64_t)h->cfg.room_rate * 60000;
    p->room_tokens_at = now;
    p->strikes_at = now;
    p->typing_at = now - GW_TYPING_INTERVAL_MS;
    gw_queue_init(&p->q, via == GW_VIA_TCP ? h->cfg.tcp_queue_max_bytes : h->cfg.web_queue_max_bytes,
                  GW_QUEUE_MAX_ITEMS);
    gw_queue_account(&p->q, &h->out_bytes);
    (void)wt_decoder_init(&p->dec, h->cfg.draft_units);
    p->slot = h->nparts;
    h->parts[h->nparts++] = p;
    index_add(h, p);
    if (via == GW_VIA_TCP) {
        /* The handshake and the priming leave alone, in one write: see
         * WT_PRIMING for why they must not be split nor followed at once. */
        struct gw_buf *hs = gw_buf_new(h->cfg.headroom, WT_HANDSHAKE_LEN + WT_PRIMING_LEN);
        if (hs) {
            memcpy(gw_buf_bytes(hs), WT_HANDSHAKE WT_PRIMING, WT_HANDSHAKE_LEN + WT_PRIMING_LEN);
            gw_out_push_tcp(h, p, hs, GW_ITEM_SOLO);
            gw_buf_unref(hs);
        }
    }
    *out = p;
    return GW_OK;
}

int gw_hub_refuse(struct gw_hub *h, enum gw_via via, void *user, const char *why, uint64_t *pid)
{
    struct gw_part *p;
    if (!pid || !why)
        return GW_EINVAL;
    int rc = part_new(h, via, user, 0, &p);
    if (rc)
        return rc;
    *pid = p->pid;
    char text[GW_REASON_MAX_BYTES + 32];
    snprintf(text, sizeof text, "error 421: %s", why);
    gw_metrics_error(&h->metrics, GW_R_SHUTDOWN);
    if (via == GW_VIA_TCP) {
        gw_out_last_line(h, p, text);
    } else {
        struct gw_buf *b = gw_json_error(GW_R_SHUTDOWN, why, NULL, h->cfg.headroom);
        gw_out_push_web(h, p, b);
        gw_buf_unref(b);
    }
    gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, why);
    return GW_OK;
}

static int hub_connect(struct gw_hub *h, enum gw_via via, enum gw_proto proto, void *user,
                       int64_t now, uint64_t *pid)
{
    struct gw_part *p;
    if (!pid)
        return GW_EINVAL;
    int rc = part_new(h, via, user, now, &p);
    if (rc)
        return rc;
    *pid = p->pid;
    p->proto = proto;

    int full = h->nparts > h->cfg.max_participants;
    if (full) {
        h->metrics.rejections[GW_REJ_FULL]++;
        gw_metrics_error(&h->metrics, GW_R_SHUTDOWN);
    } else {
        h->metrics.connections[via]++;
    }
    if (via == GW_VIA_TCP)
        gw_tcp_connect(h, p, now, full);
    else
        gw_web_connect(h, p, full);
    return GW_OK;
}

int gw_hub_connect(struct gw_hub *h, enum gw_via via, void *user, int64_t now, uint64_t *pid)
{
    return hub_connect(h, via, GW_PROTO_V1, user, now, pid);
}

int gw_hub_connect_web(struct gw_hub *h, enum gw_proto proto, void *user, int64_t now,
                       uint64_t *pid)
{
    if (proto != GW_PROTO_V1 && proto != GW_PROTO_V2)
        return GW_EINVAL;
    return hub_connect(h, GW_VIA_WEB, proto, user, now, pid);
}

int gw_hub_disconnect(struct gw_hub *h, uint64_t pid, int64_t now, enum gw_leave_reason reason)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    size_t i = p->slot;
    h->parts[i] = h->parts[--h->nparts];
    h->parts[i]->slot = i;
    h->parts[h->nparts] = NULL;
    index_del(h, pid);
    if (!gw_linger_start(h, p, now, reason))
        gw_hub_part_gone(h, p, now, reason);
    return GW_OK;
}

void gw_hub_part_gone(struct gw_hub *h, struct gw_part *p, int64_t now,
                      enum gw_leave_reason reason)
{
    nick_unindex(h, p);
    /* A leave in each room it was in, for the others (it is taken out of
     * each room before its leave there). */
    gw_member_leave_all(h, p, now, reason);
    gw_private_forget(h, p, now);
    gw_account_forget(h, p);
    part_free(p);
}

void gw_hub_set_wall_clock(struct gw_hub *h, int64_t wall_ms, int64_t now)
{
    h->wall_offset = wall_ms - now;
}

void gw_hub_tick(struct gw_hub *h, int64_t now)
{
    gw_linger_tick(h, now, 0);
    gw_names_tick(h, now);
    gw_idents_expire(&h->idents, now);
    gw_presence_tick(h, now);
    gw_hub_rooms_waits_tick(h, now);
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (now - p->typing_at >= GW_TYPING_INTERVAL_MS)
            gw_typing_emit(h, p, now);
    }
}

void gw_hub_shutdown(struct gw_hub *h, int64_t now)
{
    /* Nobody comes back to a gateway that stops. */
    gw_linger_tick(h, now, 1);
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (p->closing)
            continue;
        if (p->via == GW_VIA_WEB) {
            struct gw_buf *b = gw_json_bye(GW_R_SHUTDOWN, "gateway shutting down", h->cfg.headroom);
            if (b && gw_queue_push(&p->q, b, 0) != 0) {
                gw_queue_clear(&p->q);
                (void)gw_queue_push(&p->q, b, 0);
            }
            gw_buf_unref(b);
        } else {
            gw_out_last_line(h, p, "gateway shutting down");
        }
        gw_hub_start_closing(h, p, GW_CLOSE_GOING_AWAY, "gateway shutting down");
    }
}

/* ---- input and output, by id ---- */

int gw_hub_tcp_input(struct gw_hub *h, uint64_t pid, int64_t now, const void *data, size_t len)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (p->via != GW_VIA_TCP || (!data && len))
        return GW_EINVAL;
    gw_tcp_input(h, p, now, data, len);
    return GW_OK;
}

int gw_hub_web_input(struct gw_hub *h, uint64_t pid, int64_t now, const char *data, size_t len)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (p->via != GW_VIA_WEB || (!data && len))
        return GW_EINVAL;
    if (p->closing)
        return GW_OK;
    if (p->hello_held)
        gw_web_hold_after(h, p, data, len); /* its turn comes after the hello */
    else
        gw_web_input(h, p, now, data, len);
    return GW_OK;
}

int gw_hub_web_reject(struct gw_hub *h, uint64_t pid, int code, const char *why)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (p->closing)
        return GW_OK;
    gw_web_reject(h, p, code, why);
    return GW_OK;
}

int gw_hub_take(struct gw_hub *h, uint64_t pid, struct gw_buf **out)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    return gw_out_take(h, p, out);
}

int gw_hub_more(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    return gw_out_more(p);
}

int gw_hub_closing(struct gw_hub *h, uint64_t pid, int *code, const char **reason)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (code)
        *code = p->close_code;
    if (reason)
        *reason = p->close_reason;
    return p->closing;
}

uint64_t gw_hub_refusals(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->refusals : 0;
}

int gw_hub_joined(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->joined : GW_ENOENT;
}

struct gw_metrics *gw_hub_metrics(struct gw_hub *h)
{
    return &h->metrics;
}

const char *gw_hub_nick(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->nick : NULL;
}

void gw_hub_counts(const struct gw_hub *h, unsigned *tcp, unsigned *web)
{
    unsigned t = 0, w = 0;
    for (size_t i = 0; i < h->nparts; i++) {
        if (!h->parts[i]->joined)
            continue;
        if (h->parts[i]->via == GW_VIA_TCP)
            t++;
        else
            w++;
    }
    if (tcp)
        *tcp = t;
    if (web)
        *web = w;
}

unsigned gw_hub_connections(const struct gw_hub *h)
{
    return (unsigned)h->nparts;
}

uint64_t gw_hub_last_id(const struct gw_hub *h)
{
    return gw_history_last_id(&h->rooms.lobby->history);
}

uint64_t gw_hub_room_last_id(const struct gw_hub *h, const char *room)
{
    const struct gw_room *r = room ? gw_rooms_find(&h->rooms, room, strlen(room)) : NULL;
    return r ? gw_history_last_id(&r->history) : 0;
}

int gw_hub_room_members(const struct gw_hub *h, const char *room)
{
    const struct gw_room *r = room ? gw_rooms_find(&h->rooms, room, strlen(room)) : NULL;
    return r ? (int)gw_room_members(r) : GW_ENOENT;
}

unsigned gw_hub_rooms(const struct gw_hub *h)
{
    return (unsigned)h->rooms.count;
}

size_t gw_hub_queued_bytes(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->q.bytes : 0;
}
