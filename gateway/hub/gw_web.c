/*
 * gw_web.c - a browser's input: its JSON messages (hello, say, typing,
 * nick; with wintalk.v2 also join, part, msg and rooms in say and typing),
 * parsed and checked by gw_json.c, and what a hello gets: the welcome (who
 * is here, the history after the browser's last id, or a reset when that
 * id is of another epoch), then its join. A wintalk.v1 browser is in
 * #lobby only and gets the single-room welcome; a wintalk.v2 browser names
 * its rooms and the last id it saw in each, gets one entry per room, its
 * resume token and the private messages it missed.
 *
 * Not the JSON itself (gw_json.c writes and reads it all) nor the
 * WebSocket (the adapter). Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_room.h"
#include "gw_text.h"

void gw_web_connect(struct gw_hub *h, struct gw_part *p, int full)
{
    if (!full)
        return; /* it joins with its hello */
    struct gw_buf *b = gw_json_bye(GW_R_SHUTDOWN, "the gateway is full, try again later",
                                   h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
    gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "gateway full");
}

/*
 * Whether a hello's ids must not be trusted: they are from another epoch,
 * or they have none. Ids start again at 1 in a new epoch, so such an id
 * may name an event of this one that the browser never saw.
 */
static int epoch_reset(const struct gw_hub *h, const struct gw_cmsg *m)
{
    if (!m->epoch) {
        int ids = m->last_id != 0;
        for (size_t i = 0; i < m->nrooms; i++)
            ids |= m->rooms[i].last_id != 0;
        return ids;
    }
    return m->epoch_len != GW_EPOCH_HEX_LEN || memcmp(m->epoch, h->epoch, GW_EPOCH_HEX_LEN) != 0;
}

/* A walk over one room for a welcome or a joined reply: its members to
 * list (TCP, then browsers), then its history events to send. */
struct room_walk {
    const struct gw_hub *h;
    struct gw_room *r;
    struct gw_part *self;
    size_t i;               /* the next member to look at */
    size_t ri;              /* then the next of other gateways' (gw_presence_next) */
    size_t ai;              /* then the next of the accounts away (gw_away_next) */
    size_t listed;
    int self_listed;
    struct gw_history_cursor cur;
};

static int walk_presence(void *ctx, struct gw_presence *out)
{
    struct room_walk *wk = ctx;
    struct gw_room *r = wk->r;
    while (wk->i < r->ntcp + r->nweb) {
        struct gw_part *q = wk->i < r->ntcp ? r->tcp[wk->i] : r->web[wk->i - r->ntcp];
        wk->i++;
        if (!q->joined || q->closing || !gw_hub_person_first(wk->h, q, r))
            continue; /* another tab of a person listed: once */
        /* A crowd: the newcomer itself (one of its tabs), then the first ones. */
        int self = gw_hub_same_person(q, wk->self);
        if (wk->listed >= GW_PRESENCE_MAX ||
            (wk->listed == GW_PRESENCE_MAX - 1 && !wk->self_listed && !self))
            continue;
        wk->listed++;
        wk->self_listed |= self;
        out->away = 0;
        out->pid = q->pid;
        out->nick = q->nick;
        out->via = gw_via_name(q->via);
        /* Its typing (of any of its tabs) is shown in the room it types in only. */
        const struct gw_part *t = q;
        for (struct gw_part *c = gw_hub_person_next(wk->h, q, NULL); c;
             c = gw_hub_person_next(wk->h, q, c))
            if (c->typing && c->typing_room == r)
                t = c;
        int typing = t->typing && t->typing_room == r;
        out->typing = typing ? t->typing : "";
        out->typing_len = typing ? t->typing_len : 0;
        return 1;
    }
    /* Then those of the other gateways sharing the room. */
    const struct gw_remote *q;
    while (wk->listed < GW_PRESENCE_MAX && (q = gw_presence_next(wk->h, r, &wk->ri))) {
        wk->listed++;
        out->away = 0;
        out->pid = q->pid;
        out->nick = q->nick;
        out->via = q->web ? "web" : "tcp";
        out->typing = "";
        out->typing_len = 0;
        return 1;
    }
    /* Then the accounts that stay members while away. */
    const struct gw_away *a;
    if (wk->listed < GW_PRESENCE_MAX && (a = gw_away_next(wk->h, r, &wk->ai))) {
        wk->listed++;
        out->pid = 0;
        out->nick = a->nick;
        out->ident = a->ident;
        out->away = 1;
        return 1;
    }
    return 0;
}

static struct gw_buf *walk_event(void *ctx)
{
    struct room_walk *wk = ctx;
    return gw_history_next(&wk->cur);
}

/* Set up a view of r for p: everyone there, and the events after last_id
 * (at most max_bytes of them). */
static void view(const struct gw_hub *h, struct gw_part *p, struct gw_room *r, uint64_t last_id,
                 size_t max_bytes,
                 struct room_walk *wk, struct gw_room_view *v)
{
    memset(wk, 0, sizeof(*wk));
    wk->h = h;
    wk->r = r;
    wk->self = p;
    v->room = r->name;
    v->participants_count = gw_hub_room_count(h, r);
    v->last_id = gw_history_last_id(&r->history);
    v->gap = gw_history_read_after(&r->history, last_id, max_bytes, &wk->cur);
    v->next_presence = walk_presence;
    v->next_event = walk_event;
    v->ctx = wk;
}

/* Bytes to reserve for a view's JSON at first (it grows as needed): its
 * history, and room for the start of its list. */
static size_t view_hint(const struct gw_room *r, size_t max_bytes)
{
    size_t hist = gw_history_bytes(&r->history);
    return 512 + (hist < max_bytes ? hist : max_bytes);
}

void gw_web_joined(struct gw_hub *h, struct gw_part *p, struct gw_room *r, uint64_t last_id)
{
    struct room_walk wk;
    struct gw_room_view v;
    view(h, p, r, last_id, GW_WELCOME_HISTORY_MAX_BYTES, &wk, &v);
    struct gw_buf *b =
        gw_json_joined(&v, view_hint(r, GW_WELCOME_HISTORY_MAX_BYTES), h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
}

/* wintalk.v1: the welcome of #lobby, then its join. */
static void hello_v1(struct gw_hub *h, struct gw_part *p, int64_t now, const struct gw_cmsg *m)
{
    struct gw_room *lobby = h->rooms.lobby;
    int reset = epoch_reset(h, m);
    struct room_walk wk;
    struct gw_room_view v;
    if (gw_member_add(h, p, lobby) != 0) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "out of memory; try again later", m->ref);
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "out of memory");
        return;
    }
    view(h, p, lobby, reset ? 0 : m->last_id, GW_WELCOME_HISTORY_MAX_BYTES, &wk, &v);
    struct gw_welcome w = {
        .pid = p->pid,
        .nick = p->nick,
        .epoch = h->epoch,
        .reset = reset,
        .last_id = v.last_id,
        /* gap also on a reset (for clients that only know gap) */
        .gap = v.gap | reset,
        .participants_count = v.participants_count,
        .admin = p->admin,
        .size_hint = view_hint(lobby, GW_WELCOME_HISTORY_MAX_BYTES),
        .next_presence = walk_presence,
        .next_event = walk_event,
        .ctx = &wk,
    };
    struct gw_buf *b = gw_json_welcome(&w, h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
    gw_hub_post_join(h, lobby, p, now);
}

/* The private messages a welcome restores: those after an id. */
struct private_walk {
    const struct gw_ident *id;
    uint64_t after;
    size_t i;
};

static struct gw_buf *walk_private(void *ctx)
{
    struct private_walk *pw = ctx;
    return pw->id ? gw_ident_private_after(pw->id, pw->after, pw->i++) : NULL;
}

/* Whether two names (len bytes each) are the same room: ASCII case aside,
 * as the registry compares them. */
static int same_name(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char x = a[i], y = b[i];
        x = x >= 'A' && x <= 'Z' ? (char)(x - 'A' + 'a') : x;
        y = y >= 'A' && y <= 'Z' ? (char)(y - 'A' + 'a') : y;
        if (x != y)
            return 0;
    }
    return 1;
}

/* One room a wintalk.v2 hello asks for. */
struct want {
    const char *name;
    size_t len;
    uint64_t last_id;
    struct gw_room *room;   /* joined; NULL: refused with code */
    int code;
    char msg[GW_ROOM_ARG_MAX_BYTES + 128];
};

/* wintalk.v2: every room asked for (#lobby first, each once), the welcome
 * with an entry per room joined, an error per room refused, then its joins. */
static void hello_v2(struct gw_hub *h, struct gw_part *p, int64_t now, const struct gw_cmsg *m,
                     int resumed)
{
    struct room_walk walks[GW_HELLO_ROOMS_MAX + 1];
    struct gw_room_view views[GW_HELLO_ROOMS_MAX + 1];
    int reset = epoch_reset(h, m);
    size_t n = 0, nviews = 0;
    /* #lobby and at most GW_HELLO_ROOMS_MAX more (gw_json.c checked). */
    struct want *wants = calloc(m->nrooms + 1, sizeof(*wants));
    if (!wants) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "out of memory; try again later", m->ref);
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "out of memory");
        return;
    }

    wants[n++] = (struct want){.name = GW_LOBBY, .len = strlen(GW_LOBBY)};
    for (size_t i = 0; i < m->nrooms; i++) {
        const struct gw_croom *c = &m->rooms[i];
        size_t k = 0;
        while (k < n && !(wants[k].len == c->len && same_name(wants[k].name, c->name, c->len)))
            k++;
        if (k == 0)
            wants[0].last_id = c->last_id;
        if (k < n)
            continue; /* named twice, in two spellings */
        wants[n++] = (struct want){.name = c->name, .len = c->len, .last_id = c->last_id};
    }
    for (size_t i = 0; i < n; i++) {
        struct want *wt = &wants[i];
        struct gw_room *r = NULL;
        if (gw_room_name_check(wt->name, wt->len) == GW_ROOM_OK &&
            p->nmemb >= h->cfg.max_rooms_per_browser) {
            wt->code = GW_R_TOO_MANY_ROOMS;
            snprintf(wt->msg, sizeof wt->msg, "too many rooms for one browser (at most %u)",
                     h->cfg.max_rooms_per_browser);
            continue;
        }
        wt->code = gw_member_may_create(h, p, wt->name, wt->len, now, wt->msg, sizeof wt->msg);
        if (!wt->code)
            wt->code = gw_member_find_room(h, wt->name, wt->len, &r, wt->msg, sizeof wt->msg);
        if (wt->code)
            continue;
        if (r->loading) {
            /* Waited for past its bound (hold_for_rooms): what the room
             * holds is not known here yet, and a welcome says it exactly
             * or not at all. */
            wt->code = GW_R_SHUTDOWN;
            snprintf(wt->msg, sizeof wt->msg, "%s cannot be loaded now: try again later",
                     r->name);
            continue;
        }
        if (gw_member_add(h, p, r) != 0) {
            wt->code = GW_R_SHUTDOWN;
            snprintf(wt->msg, sizeof wt->msg, "out of memory");
            continue;
        }
        wt->room = r;
    }
    /* The history a welcome carries is shared out among its rooms. */
    size_t joined = p->nmemb ? p->nmemb : 1, budget = GW_WELCOME_HISTORY_MAX_BYTES / joined;
    size_t hint = 512;
    for (size_t i = 0; i < n; i++) {
        if (!wants[i].room)
            continue;
        view(h, p, wants[i].room, reset ? 0 : wants[i].last_id, budget, &walks[nviews],
             &views[nviews]);
        views[nviews].gap |= reset;
        hint += view_hint(wants[i].room, budget);
        nviews++;
    }
    /* A new identity has nothing to restore; after a reset nothing is. */
    struct private_walk pw = {resumed && !reset ? p->ident : NULL, m->private_id, 0};
    struct gw_welcome w = {
        .pid = p->pid,
        .nick = p->nick,
        .epoch = h->epoch,
        .reset = reset,
        .size_hint = hint,
        .v2 = 1,
        .token = p->ident->token,
        .account = p->account[0] ? p->nick : NULL,
        .admin = p->admin,
        .ident = gw_hub_person_name(p),
        .text_max = h->cfg.line_max,
        .rooms = views,
        .nrooms = nviews,
        .next_private = walk_private,
        .private_ctx = &pw,
        .private_id = p->ident->last_private,
    };
    struct gw_buf *b = gw_json_welcome(&w, h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
    for (size_t i = 0; i < n; i++)
        if (!wants[i].room)
            gw_out_error_room(h, p, wants[i].code, wants[i].msg, wants[i].name,
                              gw_utf8_cut(wants[i].name, wants[i].len, GW_ROOM_ARG_MAX_BYTES),
                              m->ref);
    for (size_t i = 0; i < n; i++)
        if (wants[i].room)
            gw_hub_post_join(h, wants[i].room, p, now);
    free(wants);
}

/* Before anything of a wintalk.v2 hello happens: open the rooms it asks
 * for (as many as it may be in), which starts their loads; when one is
 * still loading, hold the hello (data, len) until it is ready and return
 * 1 (the hello is taken again then, from the start), else 0. A room
 * refused here is refused again, with its reason, when the hello goes on. */
static int hold_for_rooms(struct gw_hub *h, struct gw_part *p, int64_t now,
                          const struct gw_cmsg *m, const char *data, size_t len)
{
    struct gw_room *wait = NULL;
    size_t n = m->nrooms < h->cfg.max_rooms_per_browser ? m->nrooms : h->cfg.max_rooms_per_browser;
    for (size_t i = 0; i < n; i++) {
        struct gw_room *r;
        char msg[GW_ROOM_ARG_MAX_BYTES + 128];
        /* A new room is made here only within --room-rate (one token each). */
        if (gw_member_may_create(h, p, m->rooms[i].name, m->rooms[i].len, now, msg, sizeof msg))
            continue;
        if (gw_member_find_room(h, m->rooms[i].name, m->rooms[i].len, &r, msg, sizeof msg) == 0 &&
            r->loading && !wait)
            wait = r;
    }
    /* A hello that waited past GW_ROOM_WAIT_MAX_MS goes on: hello_v2
     * refuses the rooms still loading (421). */
    if (!wait || p->hello_no_wait)
        return 0;
    if (gw_hub_room_hold(h, p, wait, GW_HOLD_HELLO, 0, m->ref, data, len, now) != 0)
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "a room is still loading");
    return 1;
}

static void web_hello(struct gw_hub *h, struct gw_part *p, int64_t now, const struct gw_cmsg *m,
                      const char *data, size_t len)
{
    if (p->joined || p->hello_held) {
        gw_out_error(h, p, GW_R_SEQUENCE, "hello was already sent", m->ref);
        return;
    }
    if (!gw_hub_key_ok(h, m->key, m->key_len)) {
        h->metrics.rejections[GW_REJ_KEY]++;
        gw_out_error(h, p, GW_R_KEY, m->key ? "wrong access key" : "access key required", m->ref);
        gw_hub_start_closing(h, p, GW_CLOSE_POLICY, "access key required or wrong");
        return;
    }
    if (p->proto == GW_PROTO_V2 && hold_for_rooms(h, p, now, m, data, len))
        return; /* taken again when its rooms are loaded */
    /* A site's token, when given, stands for the browser: a session is
     * not looked at. */
    if (m->jwt && gw_jwtlogin_hello(h, p, now, m->jwt, m->jwt_len, data, len))
        return; /* taken again when the store answers */
    if (!m->jwt && m->session && m->session_len &&
        gw_account_hello_session(h, p, now, m->session, m->session_len, data, len))
        return; /* taken again when the store answers */
    int resumed = 0;
    char nick[GW_NICK_MAX_BYTES + 1] = "";
    const char *given = m->nick;
    size_t given_len = m->nick_len;
    if (p->proto == GW_PROTO_V2) {
        resumed = gw_private_identify(h, p, now, m->token, m->token_len, data, len);
        if (resumed == GW_IDENTIFY_HELD)
            return; /* taken again when the engine answers */
        if (resumed < 0) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "cannot make a resume token now; try again later",
                         m->ref);
            gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "no resume token");
            return;
        }
        /* A resumed identity asks for its nick back, unless the hello
         * names one. */
        if (!given && resumed && p->ident->nick[0]) {
            snprintf(nick, sizeof nick, "%s", p->ident->nick);
            given = nick;
            given_len = strlen(nick);
        }
    }
    /* A good session: the account's nick, whatever the hello named. */
    const char *acct_nick = gw_account_hello_login(h, p, now, m->ref);
    if (!acct_nick && m->jwt) {
        /* A refused token: a guest, whatever the hello named. */
        acct_nick = gw_jwtlogin_login(h, p, now, m->ref);
        if (!acct_nick)
            given = NULL;
    }
    if (acct_nick) {
        given = acct_nick;
        given_len = strlen(acct_nick);
    }
    /* A nick that is not allowed, taken or registered to someone else
     * gets 553, and the browser joins as a guest all the same: it can pick
     * another with "nick". */
    if (!given || !given_len || gw_account_nick(h, p, now, given, given_len, m->ref) != 0) {
        gw_hub_guest_name(h, p, now);
        /* The account's own nick is held elsewhere (another gateway's
         * participant not yet known as the account's): a guest, not a
         * login under a guest's name. */
        if (acct_nick && p->account[0]) {
            p->account = "";
            gw_admin_refresh(h, p);
        }
    }
    p->joined = 1;
    if (p->proto == GW_PROTO_V2) {
        gw_private_save(h, p->ident);
        hello_v2(h, p, now, m, resumed);
        gw_jwtlogin_rooms(h, p, now); /* a token's rooms claim */
        /* Back within the reload grace: the closed tab ends as a second
         * tab would, leaving only the rooms this hello did not name. */
        gw_linger_back(h, p->ident, now);
    } else {
        hello_v1(h, p, now, m);
    }
}

/*
 * The room a say or typing is for: #lobby when it names none (and always
 * for wintalk.v1, which has no other), else the one it names, which p must
 * be in. NULL after telling p why not (553 a bad name, 501 not in it).
 */
static struct gw_room *said_room(struct gw_hub *h, struct gw_part *p, const struct gw_cmsg *m)
{
    if (p->proto != GW_PROTO_V2 || !m->room)
        return h->rooms.lobby;
    struct gw_room *r = gw_rooms_find(&h->rooms, m->room, m->room_len);
    if (r && gw_member_of(p, r))
        return r;
    if (gw_room_name_check(m->room, m->room_len) != GW_ROOM_OK) {
        (void)gw_member_open(h, p, m->room, m->room_len, m->ref, &r); /* says why: 553 */
    } else {
        char msg[GW_ROOM_NAME_MAX_BYTES + 16];
        snprintf(msg, sizeof msg, "not in %s", m->room);
        gw_out_error_room(h, p, GW_R_BAD_ARGS, msg, m->room, m->room_len, m->ref);
    }
    return NULL;
}

/* A request that acts (join, part, msg, nick) counts against the rate
 * like a say: 1 if it may go on, else it is refused with 429. */
static int rate_ok(struct gw_hub *h, struct gw_part *p, int64_t now, const struct gw_cmsg *m)
{
    if (gw_rate_ok(h, p, now))
        return 1;
    gw_out_error(h, p, GW_R_SLOW_DOWN, "too many messages: slow down", m->ref);
    gw_rate_strike(h, p, now);
    return 0;
}

/* Canonical text of a say or msg (multi-line, without trailing line
 * ends), in place: its length, 0 after telling p it was empty. */
static size_t said_text(struct gw_hub *h, struct gw_part *p, struct gw_cmsg *m)
{
    size_t n = gw_text_clean(m->text, m->text_len, m->text, 1);
    while (n && m->text[n - 1] == '\n')
        n--;
    if (n == 0)
        gw_out_error(h, p, GW_R_BAD_ARGS, "text is empty", m->ref);
    return n;
}

void gw_web_input(struct gw_hub *h, struct gw_part *p, int64_t now, const char *data, size_t len)
{
    struct gw_cmsg m;
    struct gw_room *r;
    const char *why;
    size_t n;
    int rc = gw_json_parse_client(data ? data : "", len, &m, &why);
    if (rc < 0) {
        if (rc == -GW_R_TOO_LARGE)
            h->metrics.rejections[GW_REJ_TOO_LARGE]++;
        else if (rc == -GW_R_UNREADABLE)
            h->metrics.rejections[GW_REJ_MALFORMED]++;
        gw_out_error(h, p, -rc, why, m.ref);
    } else if (m.type != GW_C_HELLO && !p->joined) {
        gw_out_error(h, p, GW_R_SEQUENCE, "send hello first", m.ref);
    } else {
        switch (m.type) {
        case GW_C_HELLO:
            web_hello(h, p, now, &m, data, len);
            break;
        case GW_C_SAY:
            if ((r = said_room(h, p, &m)) && (n = said_text(h, p, &m)))
                gw_cmd_said(h, p, r, now, m.text, n, m.ref);
            break;
        case GW_C_TYPING:
            if (!gw_rate_take(h->cfg.typing_rate, &p->typing_tokens, &p->typing_tokens_at, now)) {
                h->metrics.rejections[GW_REJ_TYPING_RATE]++;
                gw_out_error(h, p, GW_R_SLOW_DOWN, "typing updates too fast: slow down", m.ref);
                gw_rate_strike(h, p, now);
            } else if ((r = said_room(h, p, &m))) {
                gw_typing_move(h, p, now, r);
                gw_typing_set(h, p, now, m.text, m.text_len);
            }
            break;
        case GW_C_NICK:
            if (rate_ok(h, p, now, &m))
                (void)gw_account_nick(h, p, now, m.nick, m.nick_len, m.ref);
            break;
        case GW_C_JOIN:
            if (rate_ok(h, p, now, &m))
                gw_member_web_join(h, p, now, m.room, m.room_len, m.last_id, m.ref);
            break;
        case GW_C_PART:
            if (rate_ok(h, p, now, &m))
                gw_member_web_part(h, p, now, m.room, m.room_len, m.ref);
            break;
        case GW_C_MSG:
            h->metrics.messages_in[p->via]++;
            if (!(n = said_text(h, p, &m)))
                break;
            if (n > h->cfg.line_max) {
                char msg[64];
                snprintf(msg, sizeof msg, "message too long (at most %zu bytes)", h->cfg.line_max);
                h->metrics.rejections[GW_REJ_TOO_LARGE]++;
                p->refusals++;
                gw_out_error(h, p, GW_R_TOO_LARGE, msg, m.ref);
            } else if (rate_ok(h, p, now, &m)) {
                gw_private_send(h, p, now, m.to, m.to_len, m.text, n, m.ref);
            }
            break;
        case GW_C_HISTORY:
        case GW_C_SEARCH:
            if ((r = said_room(h, p, &m)))
                gw_read_request(h, p, r, &m, now);
            break;
        case GW_C_REGISTER:
            if (rate_ok(h, p, now, &m))
                gw_account_register(h, p, now, m.password, m.password_len, m.ref);
            break;
        case GW_C_LOGIN:
            if (rate_ok(h, p, now, &m))
                gw_account_identify(h, p, now, m.nick, m.nick_len, m.password, m.password_len,
                                    m.ref);
            break;
        case GW_C_LOGOUT:
            if (rate_ok(h, p, now, &m))
                gw_account_logout(h, p, now, m.all, m.ref);
            break;
        case GW_C_READ:
            if (rate_ok(h, p, now, &m))
                gw_kept_read(h, p, m.room, m.room_len, m.last_id, m.ref);
            break;
        case GW_C_DELETE:
            if (!(r = said_room(h, p, &m)))
                break;
            if (m.from_nick)
                gw_delete_all(h, p, r, now, m.from_nick, m.from_nick_len, m.ref);
            else
                gw_delete_one(h, p, r, now, m.last_id, m.ref);
            break;
        case GW_C_PASSWORD:
            if (rate_ok(h, p, now, &m))
                gw_account_password(h, p, now, m.password, m.password_len, m.password_new,
                                    m.password_new_len, m.ref);
            break;
        case GW_C_NONE:
            break;
        }
    }
    gw_cmsg_free(&m);
}

void gw_web_reject(struct gw_hub *h, struct gw_part *p, int code, const char *why)
{
    if (code == GW_R_TOO_LARGE)
        h->metrics.rejections[GW_REJ_TOO_LARGE]++;
    else if (code == GW_R_UNREADABLE)
        h->metrics.rejections[GW_REJ_MALFORMED]++;
    gw_out_error(h, p, code, why, NULL);
    if (code == GW_R_TOO_LARGE)
        gw_hub_start_closing(h, p, GW_CLOSE_TOO_BIG, why);
}

void gw_web_hold_after(struct gw_hub *h, struct gw_part *p, const char *data, size_t len)
{
    if (p->held_after_n >= GW_HELD_AFTER_MAX ||
        p->held_after_len + 4 + len > GW_HELD_AFTER_MAX_BYTES) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "too much sent before the welcome: try again", NULL);
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "too much sent before the welcome");
        return;
    }
    char *n = realloc(p->held_after, p->held_after_len + 4 + len);
    if (!n) {
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "out of memory");
        return;
    }
    p->held_after = n;
    uint32_t l = (uint32_t)len;
    memcpy(n + p->held_after_len, &l, 4);
    memcpy(n + p->held_after_len + 4, data, len);
    p->held_after_len += 4 + len;
    p->held_after_n++;
}

void gw_web_hello_go_on(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    char *held = p->hello_held;
    size_t n = p->hello_held_len;
    p->hello_held = NULL;
    if (held && !p->closing)
        gw_web_input(h, p, now, held, n);
    free(held);
    if (!p->hello_held)
        gw_web_take_after(h, p, now);
}

void gw_web_take_after(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    char *all = p->held_after;
    size_t total = p->held_after_len, at = 0;
    p->held_after = NULL;
    p->held_after_len = 0;
    p->held_after_n = 0;
    while (at < total && !p->closing) {
        uint32_t l;
        memcpy(&l, all + at, 4);
        at += 4;
        if (p->hello_held)
            gw_web_hold_after(h, p, all + at, l); /* a hello holds again */
        else
            gw_web_input(h, p, now, all + at, l);
        at += l;
    }
    free(all);
}
