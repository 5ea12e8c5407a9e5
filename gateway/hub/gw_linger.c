/*
 * gw_linger.c - a closed browser's reload grace. A reload, a tab's
 * restart or a dropped network closes a wintalk.v2 browser's connection
 * and, a moment later, opens a new one with the same resume token: the
 * same person. So that the rooms do not see it leave and join again, the
 * closed connection lingers: out of the participants and the id index (no
 * connection, no output, nothing counted as a connection), but still a
 * member of its rooms, listed and counted there, its nick kept. The new
 * connection of its identity joins those rooms as a second tab would (no
 * join: a tab of the person is there), and the lingering one then ends as
 * a second tab would (no leave where the new one is). A grace that ends
 * with nobody back posts the leaves, with the reason of the close.
 *
 * Only a browser that closed itself lingers: one the hub ended (a limit,
 * too far behind, the gateway stopping) leaves at once, and so does one
 * whose identity still has another tab here (that tab keeps the person in
 * the rooms already). A TCP program or a wintalk.v1 browser has no token
 * to come back with, and leaves at once.
 *
 * Gateways sharing their rooms (a store that orders) list their lingering
 * connections as their others (gw_presence_list). One that comes back to
 * another gateway joins there as a tab of a person already in the room
 * (a join that says tab: no line, gw_hub_post_join), and the lingering
 * one, at its grace's end, leaves where that tab is as a tab (no line):
 * the join came through the room's events, long before the grace ends.
 *
 * Pure: no I/O, no clock (time is an argument), no logging.
 */
#include <stddef.h>

#include "gw_hub_int.h"
#include "gw_ident.h"
#include "gw_limits.h"

/* Whether another connection of p's identity, not lingering, is here. */
static int tab_here(const struct gw_part *p)
{
    for (const struct gw_part *q = p->ident->first_conn; q; q = q->ident_next)
        if (q != p && !q->lingering && q->joined)
            return 1;
    return 0;
}

int gw_linger_start(struct gw_hub *h, struct gw_part *p, int64_t now,
                    enum gw_leave_reason reason)
{
    if (h->cfg.reload_grace_ms <= 0 || reason != GW_LEAVE_CLOSED || p->via != GW_VIA_WEB ||
        p->proto != GW_PROTO_V2 || !p->joined || p->closing || !p->ident || !p->nmemb ||
        tab_here(p) || h->nlinger >= (h->cfg.linger_max ? h->cfg.linger_max : GW_LINGER_MAX))
        return 0;
    /* Its typing stops now, for everyone: nobody is typing there. */
    if (p->typing_len)
        gw_typing_set(h, p, now, "", 0);
    p->lingering = 1;
    p->user = NULL;
    gw_queue_clear(&p->q);
    gw_queue_set_in_flight(&p->q, 0);
    p->linger_until = now + h->cfg.reload_grace_ms;
    p->linger_reason = reason;
    p->linger_next = NULL;
    p->linger_prev = h->linger_last;
    if (h->linger_last)
        h->linger_last->linger_next = p;
    else
        h->linger_first = p;
    h->linger_last = p;
    h->nlinger++;
    return 1;
}

/* p's grace is over, or its identity is back: it goes for good. */
static void end(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    if (p->linger_prev)
        p->linger_prev->linger_next = p->linger_next;
    else
        h->linger_first = p->linger_next;
    if (p->linger_next)
        p->linger_next->linger_prev = p->linger_prev;
    else
        h->linger_last = p->linger_prev;
    h->nlinger--;
    gw_hub_part_gone(h, p, now, p->linger_reason);
}

void gw_linger_back(struct gw_hub *h, struct gw_ident *id, int64_t now)
{
    struct gw_part *q = id->first_conn;
    while (q) {
        struct gw_part *next = q->ident_next;
        if (q->lingering)
            end(h, q, now); /* takes q out of id's list */
        q = next;
    }
}

void gw_linger_tick(struct gw_hub *h, int64_t now, int all)
{
    /* Oldest first, and every grace is as long: the first not over ends
     * the walk. */
    while (h->linger_first && (all || now >= h->linger_first->linger_until))
        end(h, h->linger_first, now);
}
