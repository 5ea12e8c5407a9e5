/*
 * gw_member.c - who is in which room: a participant's memberships (kept
 * with its index in each room's member array, so that leaving is O(1)),
 * opening a room by name (created on demand, 553 or 452 when it cannot
 * be), a TCP participant going from room to room (its pane replaced), and
 * a wintalk.v2 browser's join and part.
 *
 * Not the rooms themselves (gw_room.c) nor the events they carry
 * (gw_hub.c). Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_room.h"
#include "gw_text.h"

/* What a wintalk.v1 browser is told when it asks for rooms. */
#define V1_ONE_ROOM "wintalk.v1 has one room; use wintalk.v2"

struct gw_memb *gw_member_of(struct gw_part *p, const struct gw_room *r)
{
    for (unsigned i = 0; i < p->nmemb; i++)
        if (p->memb[i].room == r)
            return &p->memb[i];
    return NULL;
}

struct gw_room *gw_member_home(const struct gw_part *p)
{
    return p->nmemb ? p->memb[0].room : NULL;
}

int gw_member_add(struct gw_hub *h, struct gw_part *p, struct gw_room *r)
{
    (void)h;
    if (p->nmemb == p->memb_cap) {
        unsigned ncap = p->memb_cap < 4 ? 4 : p->memb_cap * 2;
        struct gw_memb *n = malloc(ncap * sizeof(*n));
        if (!n)
            return -1;
        memcpy(n, p->memb, p->nmemb * sizeof(*n));
        if (p->memb != &p->memb0)
            free(p->memb);
        p->memb = n;
        p->memb_cap = ncap;
    }
    size_t idx;
    if (gw_room_add(r, p, p->via == GW_VIA_WEB, &idx) != GW_ROOM_OK)
        return -1;
    p->memb[p->nmemb].room = r;
    p->memb[p->nmemb].idx = idx;
    p->memb[p->nmemb].read_sent = 0;
    p->nmemb++;
    /* One room only: its typing is seen there. */
    if (!p->typing_room && (p->via == GW_VIA_TCP || p->proto == GW_PROTO_V1))
        p->typing_room = r;
    return 0;
}

void gw_member_del(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now)
{
    (void)h;
    (void)now;
    struct gw_memb *m = gw_member_of(p, r);
    if (!m)
        return;
    /* Never point at a room p is not in: an empty room may be dropped. */
    if (p->typing_room == r)
        p->typing_room = NULL;
    struct gw_part *moved = gw_room_del(r, p->via == GW_VIA_WEB, m->idx);
    if (moved)
        gw_member_of(moved, r)->idx = m->idx;
    /* Keep the order (#lobby first). */
    size_t k = (size_t)(m - p->memb);
    memmove(m, m + 1, (p->nmemb - k - 1) * sizeof(*m));
    p->nmemb--;
}

void gw_member_vacated(struct gw_hub *h, struct gw_room *r)
{
    const struct gw_store *st = h->cfg.store;
    if (r == h->rooms.lobby || gw_room_members(r) || r->loading || !st || !st->forget)
        return;
    /* Rooms shared by gateways: nobody on any other, as far as known. */
    if ((st->flags & GW_STORE_ORDERS) && gw_presence_count(h, r))
        return;
    st->forget(st->ctx, r->key);
}

void gw_member_leave_all(struct gw_hub *h, struct gw_part *p, int64_t now,
                         enum gw_leave_reason reason)
{
    while (p->nmemb) {
        struct gw_room *r = p->memb[0].room;
        gw_member_del(h, p, r, now);
        if (p->joined)
            gw_hub_post_leave(h, r, p, now, reason);
        gw_member_vacated(h, r);
    }
}

/* A name as an error quotes it: at most GW_ROOM_ARG_MAX_BYTES, whole
 * characters. */
static size_t quoted(const char *name, size_t len)
{
    return gw_utf8_cut(name, len, GW_ROOM_ARG_MAX_BYTES);
}

int gw_member_find_room(struct gw_hub *h, const char *name, size_t len, struct gw_room **out,
                        char *msg, size_t msg_len)
{
    int rc = gw_rooms_open(&h->rooms, name, len, out);
    switch (rc) {
    case GW_ROOM_OK:
        gw_hub_room_load(h, *out);
        return 0;
    case GW_ROOM_BAD_NAME:
        snprintf(msg, msg_len, "room name not allowed: %.*s (a room is # and 1 to %u letters, "
                 "digits, -, _ or .)", (int)quoted(name, len), name, GW_ROOM_NAME_MAX_CHARS);
        return GW_R_NAME;
    case GW_ROOM_FULL:
        snprintf(msg, msg_len, "too many rooms (at most %zu)", h->rooms.max);
        return GW_R_TOO_MANY_ROOMS;
    default:
        snprintf(msg, msg_len, "out of memory");
        return GW_R_SHUTDOWN;
    }
}

int gw_member_may_create(struct gw_hub *h, struct gw_part *p, const char *name, size_t len,
                         int64_t now, char *msg, size_t msg_len)
{
    if (gw_room_name_check(name, len) != GW_ROOM_OK || gw_rooms_find(&h->rooms, name, len))
        return 0; /* a bad name is told why by the opening; a room here costs nothing new */
    if (gw_rate_room(h, p, now))
        return 0;
    snprintf(msg, msg_len, "making new rooms too fast (at most %u a minute): try again shortly, "
             "or join a room that exists", h->cfg.room_rate);
    return GW_R_SLOW_DOWN;
}

int gw_member_open(struct gw_hub *h, struct gw_part *p, const char *name, size_t len,
                   const char *ref, struct gw_room **out)
{
    char msg[GW_ROOM_ARG_MAX_BYTES + 128];
    int code = gw_member_find_room(h, name, len, out, msg, sizeof msg);
    if (code)
        gw_out_error_room(h, p, code, msg, name, quoted(name, len), ref);
    return code;
}

void gw_member_tcp_move(struct gw_hub *h, struct gw_part *p, int64_t now, struct gw_room *r)
{
    if (r->loading) {
        /* Its pane is to show the room's transcript: once loaded. It
         * stays where it is meanwhile. */
        (void)gw_hub_room_hold(h, p, r, GW_HOLD_TCP_MOVE, 0, NULL, NULL, 0, now);
        return;
    }
    /* A move now replaces one held. */
    p->hold = GW_HOLD_NONE;
    struct gw_room *old = gw_member_home(p);
    if (old == r) {
        gw_out_resync(h, p, GW_RESYNC_WHERE);
        return;
    }
    /* Its typing was seen in the old room: that room is told it stopped. */
    gw_typing_move(h, p, now, r);
    if (old) {
        /* A program is in one room at a time: going on is no part of the
         * account's where another of its connections stays. */
        gw_hub_part_kept(h, p, old);
        gw_member_del(h, p, old, now);
        gw_hub_post_leave(h, old, p, now, GW_LEAVE_PART);
        gw_member_vacated(h, old);
    }
    if (gw_member_add(h, p, r) != 0) {
        p->typing_room = NULL;
        gw_tcp_fail(h, p, GW_R_SHUTDOWN, "out of memory");
        return;
    }
    /* The pane first, so the join line below is in it, not after it. */
    gw_out_resync(h, p, GW_RESYNC_WHERE);
    gw_hub_post_join(h, r, p, now);
}

void gw_member_web_join(struct gw_hub *h, struct gw_part *p, int64_t now, const char *name,
                        size_t len, uint64_t last_id, const char *ref)
{
    char msg[GW_ROOM_ARG_MAX_BYTES + 128];
    if (p->proto != GW_PROTO_V2) {
        gw_out_error_room(h, p, GW_R_BAD_ARGS, V1_ONE_ROOM, name, quoted(name, len), ref);
        return;
    }
    struct gw_room *r = gw_rooms_find(&h->rooms, name, len);
    if (r && gw_member_of(p, r)) {
        /* In it already: the same reply, a resync from last_id. */
        gw_web_joined(h, p, r, last_id);
        return;
    }
    if (gw_room_name_check(name, len) == GW_ROOM_OK &&
        p->nmemb >= h->cfg.max_rooms_per_browser) {
        snprintf(msg, sizeof msg, "too many rooms for one browser (at most %u)",
                 h->cfg.max_rooms_per_browser);
        gw_out_error_room(h, p, GW_R_TOO_MANY_ROOMS, msg, name, quoted(name, len), ref);
        return;
    }
    int code = gw_member_may_create(h, p, name, len, now, msg, sizeof msg);
    if (code) {
        gw_out_error_room(h, p, code, msg, name, quoted(name, len), ref);
        return;
    }
    if (gw_member_open(h, p, name, len, ref, &r) != 0)
        return;
    if (r->loading) {
        /* Its joined reply is to carry the room's history: once loaded. */
        (void)gw_hub_room_hold(h, p, r, GW_HOLD_WEB_JOIN, last_id, ref, NULL, 0, now);
        return;
    }
    if (gw_member_add(h, p, r) != 0) {
        gw_out_error_room(h, p, GW_R_SHUTDOWN, "out of memory", name, quoted(name, len), ref);
        return;
    }
    gw_web_joined(h, p, r, last_id);
    gw_hub_post_join(h, r, p, now);
}

void gw_member_web_part(struct gw_hub *h, struct gw_part *p, int64_t now, const char *name,
                        size_t len, const char *ref)
{
    char msg[GW_ROOM_ARG_MAX_BYTES + 128];
    size_t q = quoted(name, len);
    if (p->proto != GW_PROTO_V2) {
        gw_out_error_room(h, p, GW_R_BAD_ARGS, V1_ONE_ROOM, name, q, ref);
        return;
    }
    if (gw_room_name_check(name, len) != GW_ROOM_OK) {
        struct gw_room *unused;
        (void)gw_member_open(h, p, name, len, ref, &unused); /* says why: 553 */
        return;
    }
    struct gw_room *r = gw_rooms_find(&h->rooms, name, len);
    if (!r || !gw_member_of(p, r)) {
        snprintf(msg, sizeof msg, "not in %.*s", (int)q, name);
        gw_out_error_room(h, p, GW_R_BAD_ARGS, msg, name, q, ref);
        return;
    }
    if (r == h->rooms.lobby) {
        gw_out_error_room(h, p, GW_R_BAD_ARGS, "everyone stays in " GW_LOBBY, name, q, ref);
        return;
    }
    if (p->typing_room == r)
        gw_typing_move(h, p, now, NULL);
    /* A part asked for is the account's, whatever its other tabs show. */
    if (p->account[0])
        gw_kept_room(h, p, r, 0);
    gw_member_del(h, p, r, now);
    gw_hub_post_leave(h, r, p, now, GW_LEAVE_PART);
    gw_member_vacated(h, r);
    struct gw_buf *b = gw_json_parted(r->name, h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
}
