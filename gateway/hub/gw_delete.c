/*
 * gw_delete.c - removing a room's messages: who may (gw_delete_may, the
 * one permission check), a participant's request to remove one message
 * (a browser's delete, a WINTALK program's /delete ID or /delete last),
 * an administrator's removal of every message of a nick in a room, and
 * what a kept deleted event does to the room's ring and transcript.
 *
 * A removal is a room event like any other ("deleted", with the id it
 * removes): it goes through the store in the room's order (so every
 * gateway sharing the room sees it, and a browser that resumes gets it),
 * and the store removes the message's words where it keeps them
 * (gw_store.h, gw_store_event.deletes). The message's id stays, its JSON
 * marked "deleted":true with an empty text.
 *
 * A message can be removed while it is among the room's recent events
 * the gateway keeps (its ring, GW_HISTORY_MAX_EVENTS): that is where its
 * sender is read from, without a store read.
 *
 * Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"

/* Whether m was sent by p's person: the same public name (an account, or
 * a browser's identity, on any gateway), or, for a sender without one (a
 * WINTALK guest), the same connection under the nick it has now. Ids of
 * connections start again when the gateway does: a message kept from
 * before, of the same id and guest name, was said before p took its nick
 * (nick_at, wall time like an event's). */
static int same_sender(const struct gw_part *p, const struct gw_event_peek *m)
{
    if (m->ident[0]) {
        const char *name = gw_hub_person_name(p);
        return name && strcmp(name, m->ident) == 0;
    }
    return m->pid == p->pid && strcmp(m->nick, p->nick) == 0 && m->time_ms >= p->nick_at;
}

int gw_delete_may(const struct gw_hub *h, const struct gw_part *p, const struct gw_room *r,
                  const struct gw_event_peek *m)
{
    (void)h;
    (void)r; /* a room's operators will be looked up here */
    if (p->admin || same_sender(p, m))
        return 0;
    return GW_R_NOT_ALLOWED;
}

/* A success reply: a browser's with its ref, a WINTALK program's line. */
static void reply(struct gw_hub *h, struct gw_part *p, const char *text, const char *ref)
{
    if (p->via != GW_VIA_WEB) {
        gw_out_info(h, p, GW_R_OK, text);
        return;
    }
    struct gw_buf *b = gw_json_info_ref(GW_R_OK, text, strlen(text), ref, h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
}

/* The deleted event for message m (its id) of r, by p. */
static void post(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                 const struct gw_event_peek *m, const char *ref)
{
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_DELETED, p, now);
    ev.deleted = m->id;
    ev.of = m->nick;
    char text[2 * GW_NICK_MAX_BYTES + 48];
    snprintf(text, sizeof text, "a message of %s was deleted by %s", m->nick, p->nick);
    gw_hub_room_event(h, r, &ev, "* ", text, strlen(text), ref);
}

/* Read the event id of r's ring into *m: 0, or the reply code (550 none,
 * or not a message; 551 removed already) with its words in msg. */
static int find_message(struct gw_room *r, uint64_t id, struct gw_event_peek *m, char *msg,
                        size_t cap)
{
    struct gw_buf *b = gw_history_find(&r->history, id);
    if (!b || gw_json_peek_event((const char *)gw_buf_bytes(b), b->len, m) != 0) {
        snprintf(msg, cap, "no message %llu in %s among its recent events",
                 (unsigned long long)id, r->name);
        return GW_R_NO_MESSAGE;
    }
    if (strcmp(m->type, "message") != 0) {
        gw_event_peek_free(m);
        snprintf(msg, cap, "event %llu of %s is not a message", (unsigned long long)id, r->name);
        return GW_R_NO_MESSAGE;
    }
    if (m->deleted) {
        gw_event_peek_free(m);
        snprintf(msg, cap, "message %llu of %s was deleted already", (unsigned long long)id,
                 r->name);
        return GW_R_DELETED;
    }
    return 0;
}

static int rate_ok(struct gw_hub *h, struct gw_part *p, int64_t now, const char *ref)
{
    if (gw_rate_take(GW_DELETE_RATE, &p->delete_tokens, &p->delete_tokens_at, now))
        return 1;
    h->metrics.rejections[GW_REJ_RATE]++;
    gw_out_error(h, p, GW_R_SLOW_DOWN, "too many deletions: slow down (nothing deleted)", ref);
    return 0;
}

void gw_delete_one(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                   uint64_t id, const char *ref)
{
    if (!rate_ok(h, p, now, ref))
        return;
    struct gw_event_peek m;
    char msg[GW_ROOM_NAME_MAX_BYTES + 2 * GW_NICK_MAX_BYTES + 160];
    int code = find_message(r, id, &m, msg, sizeof msg);
    if (code) {
        gw_out_error(h, p, code, msg, ref);
        return;
    }
    if ((code = gw_delete_may(h, p, r, &m)) != 0) {
        snprintf(msg, sizeof msg,
                 "not allowed: message %llu is %s's; only its sender or a gateway "
                 "administrator may delete it",
                 (unsigned long long)id, m.nick);
        gw_event_peek_free(&m);
        gw_out_error(h, p, code, msg, ref);
        return;
    }
    /* Refused by the store at once (451 said so): no 250 after it. */
    uint64_t lost = h->metrics.events_lost;
    post(h, p, r, now, &m, ref);
    snprintf(msg, sizeof msg, "message %llu of %s deleted", (unsigned long long)id, r->name);
    gw_event_peek_free(&m);
    if (!p->closing && h->metrics.events_lost == lost)
        reply(h, p, msg, ref);
}

void gw_delete_last(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                    const char *ref)
{
    size_t n = gw_history_count(&r->history);
    while (n-- > 0) {
        uint64_t id;
        struct gw_buf *b = gw_history_at(&r->history, n, &id);
        struct gw_event_peek m;
        if (gw_json_peek_event((const char *)gw_buf_bytes(b), b->len, &m) != 0)
            continue;
        int mine = !strcmp(m.type, "message") && !m.deleted && same_sender(p, &m);
        gw_event_peek_free(&m);
        if (mine) {
            gw_delete_one(h, p, r, now, id, ref);
            return;
        }
    }
    char msg[GW_ROOM_NAME_MAX_BYTES + 64];
    snprintf(msg, sizeof msg, "no message of yours in %s among its recent events", r->name);
    gw_out_error(h, p, GW_R_NO_MESSAGE, msg, ref);
}

void gw_delete_all(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                   const char *nick, size_t len, const char *ref)
{
    if (!p->admin) {
        gw_out_error(h, p, GW_R_NOT_ALLOWED,
                     "not allowed: only a gateway administrator may delete every message of "
                     "a nick",
                     ref);
        return;
    }
    char given[GW_NICK_MAX_BYTES * 4 + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    if (!len || len >= sizeof given) {
        gw_out_error(h, p, GW_R_BAD_ARGS, "usage: /delete all NICK", ref);
        return;
    }
    memcpy(given, nick, len);
    given[len] = '\0';
    if (gw_nick_key(given, key) != GW_NICK_OK) {
        gw_out_error(h, p, GW_R_BAD_ARGS, "not a nick", ref);
        return;
    }
    if (!gw_rate_take(GW_DELETE_ALL_RATE, &p->delete_all_tokens, &p->delete_all_tokens_at,
                      now)) {
        h->metrics.rejections[GW_REJ_RATE]++;
        gw_out_error(h, p, GW_R_SLOW_DOWN, "too many clean-ups: slow down (nothing deleted)",
                     ref);
        return;
    }
    /* The ids first: each deletion may change the ring (a store that
     * keeps at once delivers it now, and it takes a place in the ring). */
    uint64_t ids[GW_DELETE_BATCH_MAX];
    size_t nids = 0;
    int more = 0;
    size_t count = gw_history_count(&r->history);
    for (size_t i = 0; i < count; i++) {
        uint64_t id;
        struct gw_buf *b = gw_history_at(&r->history, i, &id);
        struct gw_event_peek m;
        if (gw_json_peek_event((const char *)gw_buf_bytes(b), b->len, &m) != 0)
            continue;
        char k[GW_NICK_KEY_MAX_BYTES + 1];
        int match = !strcmp(m.type, "message") && !m.deleted &&
                    gw_nick_key(m.nick, k) == GW_NICK_OK && !strcmp(k, key);
        if (match) {
            if (nids == GW_DELETE_BATCH_MAX)
                more = 1;
            else
                ids[nids++] = id;
        }
        gw_event_peek_free(&m);
        if (more)
            break;
    }
    for (size_t i = 0; i < nids; i++) {
        struct gw_event_peek m;
        char msg[GW_ROOM_NAME_MAX_BYTES + 96];
        if (find_message(r, ids[i], &m, msg, sizeof msg) != 0)
            continue;
        post(h, p, r, now, &m, ref);
        gw_event_peek_free(&m);
    }
    char msg[GW_ROOM_NAME_MAX_BYTES + GW_NICK_MAX_BYTES * 4 + 96];
    snprintf(msg, sizeof msg, "deleted %zu message%s of %s in %s%s", nids, nids == 1 ? "" : "s",
             given, r->name, more ? "; more remain: ask again" : "");
    if (!p->closing)
        reply(h, p, msg, ref);
}

void gw_delete_apply(struct gw_hub *h, struct gw_room *r, struct gw_buf *json)
{
    const char *bytes = (const char *)gw_buf_bytes(json);
    if (!gw_json_is_deleted(bytes, json->len))
        return;
    struct gw_event_peek d, m;
    if (gw_json_peek_event(bytes, json->len, &d) != 0 || !d.target)
        return;
    struct gw_buf *old = gw_history_find(&r->history, d.target);
    if (!old || gw_json_peek_event((const char *)gw_buf_bytes(old), old->len, &m) != 0)
        return;
    if (strcmp(m.type, "message") != 0 || m.deleted) {
        gw_event_peek_free(&m);
        return; /* removed already: a second deletion changes nothing */
    }
    struct gw_buf *blank =
        gw_json_blank_message((const char *)gw_buf_bytes(old), old->len, h->cfg.headroom);
    if (blank) {
        (void)gw_history_replace(&r->history, d.target, blank);
        gw_buf_unref(blank);
    }
    /* Its line as the transcript shows it (gw_hub_post_message's prefix). */
    char prefix[GW_NICK_MAX_BYTES + 8], line[GW_TRANSCRIPT_LINE_MAX_BYTES];
    snprintf(prefix, sizeof prefix, m.me ? "* %s " : "%s: ", m.nick);
    size_t n = gw_transcript_render(line, prefix, m.text ? m.text : "", m.text_len);
    gw_event_peek_free(&m);
    if (!gw_transcript_remove(&r->transcript, line, n))
        return;
    for (size_t i = 0; i < r->ntcp; i++) {
        struct gw_part *q = r->tcp[i];
        if (q->joined && !q->closing)
            gw_out_resync(h, q, GW_RESYNC_PLAIN);
    }
}
