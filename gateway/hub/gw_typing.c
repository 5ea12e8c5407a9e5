/*
 * gw_typing.c - live typing: a participant's unfinished text (a TCP
 * draft's last line, a browser's typing message), cleaned and cut to
 * GW_TYPING_MAX_BYTES, sent to the browsers of one room (its typing room:
 * a TCP participant's room, the room a browser last typed in) at most once
 * per GW_TYPING_INTERVAL_MS (gw_hub_tick sends what is due). A
 * participant has one typing text: typing in another room stops it in the
 * one before.
 *
 * A slash command being typed is not shown (it may carry a key or a
 * password): it is typing nothing. Typing is not a room event: it has no
 * id and is not kept in the history. Not the rate limit on a browser's typing messages (gw_rate.c).
 * Pure: no I/O, no clock, no logging.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"

/* Tell the browsers of r (but p) that p's typing is text. */
static void tell(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                 const char *text, size_t len)
{
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_TYPING, p, now);
    ev.room = r->name;
    ev.text = text;
    ev.text_len = len;
    struct gw_buf *json = gw_json_event(&ev, h->cfg.headroom);
    const struct gw_store *st = h->cfg.store;
    if (json && st && (st->flags & GW_STORE_ORDERS)) {
        /* In order with the room's events: it comes back with them
         * (gw_hub_store_typing). Not kept, so a failure only drops it. */
        if (st->publish)
            (void)st->publish(st->ctx, r->key, p->pid, (const char *)gw_buf_bytes(json),
                              json->len);
        gw_buf_unref(json);
        return;
    }
    if (json && gw_hub_room_defer(r, p->pid, json) == 0) {
        gw_buf_unref(json);
        return; /* after the room's events that wait for the store */
    }
    for (size_t i = 0; json && i < r->nweb; i++) {
        struct gw_part *o = r->web[i];
        if (o != p && o->joined)
            gw_out_push_web(h, o, json);
    }
    gw_buf_unref(json);
}

void gw_typing_emit(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    if (!p->typing ||
        (p->typing_len == p->typing_sent_len &&
         memcmp(p->typing, p->typing_sent, p->typing_len) == 0))
        return;
    memcpy(p->typing_sent, p->typing, p->typing_len);
    p->typing_sent_len = p->typing_len;
    p->typing_at = now;
    if (p->joined && p->typing_room)
        tell(h, p, p->typing_room, now, p->typing, p->typing_len);
}

void gw_typing_move(struct gw_hub *h, struct gw_part *p, int64_t now, struct gw_room *r)
{
    if (p->typing_room == r)
        return;
    if (p->typing && p->typing_sent_len && p->joined && p->typing_room)
        tell(h, p, p->typing_room, now, "", 0);
    p->typing_room = r;
    /* The new room was told nothing: the text goes there at the next
     * update. */
    p->typing_sent_len = 0;
}

/* A participant's unfinished text is now text (valid UTF-8): clean it, and
 * tell browsers now if it stopped, or within GW_TYPING_INTERVAL_MS. */
void gw_typing_set(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text,
                   size_t len)
{
    char tmp[GW_TYPING_MAX_BYTES + 4];
    size_t cut = gw_utf8_cut(text, len, GW_TYPING_MAX_BYTES);
    size_t n = gw_text_clean(text, cut, tmp, 0);
    /* A command being typed is nobody else's business, and may carry a
     * key or a password (/login KEY): it is typing nothing. Text that
     * starts with // is a message (gw_cmd_said), shown as typed. */
    if (n >= 1 && tmp[0] == '/' && !(n >= 2 && tmp[1] == '/'))
        n = 0;
    if (!p->typing) {
        if (n == 0)
            return; /* still nothing typed */
        p->typing = malloc(2 * (GW_TYPING_MAX_BYTES + 1));
        if (!p->typing)
            return; /* the update is lost; the next one tries again */
        p->typing_sent = p->typing + GW_TYPING_MAX_BYTES + 1;
    }
    memcpy(p->typing, tmp, n);
    p->typing_len = n;
    if (n == 0 || now - p->typing_at >= GW_TYPING_INTERVAL_MS)
        gw_typing_emit(h, p, now);
}
