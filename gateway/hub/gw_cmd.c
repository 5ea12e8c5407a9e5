/*
 * gw_cmd.c - what a participant says in a room: one completed TCP line or
 * one browser say, checked for size and rate, then a chat message in that
 * room or a slash command (/nick, /me, /who, /join, /part, /rooms, /msg,
 * /help, /login), dispatched from one table. A command acts on the room it
 * was said in (/who lists it, /part leaves it).
 *
 * Not how the text arrived (gw_tcp.c, gw_web.c) nor how a message reaches
 * the room (gw_hub.c). Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_room.h"
#include "gw_text.h"
#include "wt_codec.h"

/* /who names at most this many participants, then says how many more. */
#define GW_WHO_MAX_NAMES 50u

struct cmd_ctx {
    struct gw_hub *h;
    struct gw_part *p;
    struct gw_room *room;   /* where it was said */
    int64_t now;
    const char *arg;
    size_t arg_len;
    const char *ref;
};

static void cmd_nick(struct cmd_ctx *c)
{
    if (!c->arg_len) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "usage: /nick NAME", c->ref);
        return;
    }
    (void)gw_account_nick(c->h, c->p, c->now, c->arg, c->arg_len, c->ref);
}

/* The first word of the argument, and the rest after its spaces. */
static size_t first_word(const char *arg, size_t len, const char **rest, size_t *rest_len)
{
    size_t n = 0;
    while (n < len && !gw_is_space(arg[n]))
        n++;
    size_t r = n;
    while (r < len && gw_is_space(arg[r]))
        r++;
    *rest = arg + r;
    *rest_len = len - r;
    return n;
}

static void cmd_register(struct cmd_ctx *c)
{
    if (!c->arg_len) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "usage: /register PASSWORD", c->ref);
        return;
    }
    gw_account_register(c->h, c->p, c->now, c->arg, c->arg_len, c->ref);
}

/* The argument as two words (the second is the rest of the line: a
 * password may hold spaces): the first's length, or 0 and c told usage. */
static size_t two_words(struct cmd_ctx *c, const char *usage, const char **rest,
                        size_t *rest_len)
{
    size_t n = first_word(c->arg, c->arg_len, rest, rest_len);
    if (!n || !*rest_len) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, usage, c->ref);
        return 0;
    }
    return n;
}

static void cmd_identify(struct cmd_ctx *c)
{
    const char *pw;
    size_t pw_len, nl = two_words(c, "usage: /identify NICK PASSWORD", &pw, &pw_len);
    if (nl)
        gw_account_identify(c->h, c->p, c->now, c->arg, nl, pw, pw_len, c->ref);
}

static void cmd_logout(struct cmd_ctx *c)
{
    int all = c->arg_len == 3 && !memcmp(c->arg, "all", 3);
    if (c->arg_len && !all) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "usage: /logout [all]", c->ref);
        return;
    }
    gw_account_logout(c->h, c->p, c->now, all, c->ref);
}

static void cmd_password(struct cmd_ctx *c)
{
    const char *pw;
    size_t pw_len, ol = two_words(c, "usage: /password OLD NEW", &pw, &pw_len);
    if (ol)
        gw_account_password(c->h, c->p, c->now, c->arg, ol, pw, pw_len, c->ref);
}

static void cmd_me(struct cmd_ctx *c)
{
    if (!c->arg_len) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "usage: /me ACTION", c->ref);
        return;
    }
    /* "* alice -> you: ..." in a pane must only ever be a private
     * message, never "/me -> you: ..." said in a room. */
    if (c->arg_len >= 2 && c->arg[0] == '-' && c->arg[1] == '>') {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "an action may not start with ->", c->ref);
        return;
    }
    gw_hub_post_message(c->h, c->room, c->p, c->now, c->arg, c->arg_len, 1, c->ref);
}

/* By comparison key: case aside, in code point order. */
static int nick_cmp(const void *a, const void *b)
{
    const struct gw_part *pa = *(struct gw_part *const *)a, *pb = *(struct gw_part *const *)b;
    return strcmp(pa->nick_key, pb->nick_key);
}

/* "N here: alice (web), robert (tcp)": the room's people by nick (an
 * identity's tabs once), at most GW_WHO_MAX_NAMES; then "; away: carol",
 * the accounts that stay members with no connection, as many at most. */
static void cmd_who(struct cmd_ctx *c)
{
    char text[2 * GW_WHO_MAX_NAMES * (GW_NICK_MAX_BYTES + 8) + 128];
    struct gw_room *r = c->room;
    struct gw_part **list = malloc((r->nweb + r->ntcp) * sizeof(*list) + 1);
    unsigned n = 0;
    if (!list)
        return;
    for (size_t i = 0; i < r->ntcp + r->nweb; i++) {
        struct gw_part *q = i < r->ntcp ? r->tcp[i] : r->web[i - r->ntcp];
        if (q->joined && !q->closing && gw_hub_person_first(c->h, q, r))
            list[n++] = q;
    }
    qsort(list, n, sizeof(*list), nick_cmp);
    /* Those of other gateways sharing the room come after, as they are. */
    size_t nremote = gw_presence_count(c->h, r), ri = 0;
    size_t o = (size_t)snprintf(text, sizeof text, "%zu here:", n + nremote);
    const struct gw_remote *q = NULL;
    for (size_t i = 0; i < n + nremote; i++) {
        if (i == GW_WHO_MAX_NAMES) {
            o += (size_t)snprintf(text + o, sizeof text - o, " and %zu more", n + nremote - i);
            break;
        }
        if (i >= n && !(q = gw_presence_next(c->h, r, &ri)))
            break;
        o += (size_t)snprintf(text + o, sizeof text - o, "%s %s (%s)", i ? "," : "",
                              i < n ? list[i]->nick : q->nick,
                              i < n ? gw_via_name(list[i]->via) : q->web ? "web" : "tcp");
    }
    free(list);
    const struct gw_away *a;
    size_t ai = 0, naway = 0;
    while ((a = gw_away_next(c->h, r, &ai))) {
        if (naway == GW_WHO_MAX_NAMES) {
            size_t more = 1;
            while (gw_away_next(c->h, r, &ai))
                more++;
            o += (size_t)snprintf(text + o, sizeof text - o, " and %zu more", more);
            break;
        }
        o += (size_t)snprintf(text + o, sizeof text - o, "%s %s", naway ? "," : "; away:",
                              a->nick);
        naway++;
    }
    gw_out_info(c->h, c->p, GW_R_WHO, text);
}

static void cmd_join(struct cmd_ctx *c)
{
    struct gw_room *r;
    if (!c->arg_len) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "usage: /join #ROOM", c->ref);
        return;
    }
    if (c->p->via == GW_VIA_WEB) {
        gw_member_web_join(c->h, c->p, c->now, c->arg, c->arg_len, 0, c->ref);
        return;
    }
    char msg[GW_ROOM_ARG_MAX_BYTES + 128];
    int code = gw_member_may_create(c->h, c->p, c->arg, c->arg_len, c->now, msg, sizeof msg);
    if (code) {
        gw_out_error(c->h, c->p, code, msg, c->ref);
        return;
    }
    if (gw_member_open(c->h, c->p, c->arg, c->arg_len, c->ref, &r) == 0)
        gw_member_tcp_move(c->h, c->p, c->now, r);
}

/* /part: the room it was said in; /part #room: that one. A TCP
 * participant goes back to #lobby. */
static void cmd_part(struct cmd_ctx *c)
{
    const char *name = c->arg_len ? c->arg : c->room->name;
    size_t len = c->arg_len ? c->arg_len : strlen(c->room->name);
    if (c->p->via == GW_VIA_WEB) {
        gw_member_web_part(c->h, c->p, c->now, name, len, c->ref);
        return;
    }
    struct gw_room *r;
    if (gw_room_name_check(name, len) != GW_ROOM_OK) {
        (void)gw_member_open(c->h, c->p, name, len, c->ref, &r); /* says why: 553 */
        return;
    }
    r = gw_rooms_find(&c->h->rooms, name, len);
    if (r != c->room) {
        char msg[GW_ROOM_ARG_MAX_BYTES + 16];
        snprintf(msg, sizeof msg, "not in %.*s", (int)len, name); /* a room name: short ASCII */
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, msg, c->ref);
    } else if (r == c->h->rooms.lobby) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS,
                     "you are in " GW_LOBBY "; /join #room to go elsewhere", c->ref);
    } else {
        gw_member_tcp_move(c->h, c->p, c->now, c->h->rooms.lobby);
    }
}

/* #lobby first, then the fullest rooms, then by name. */
static int room_cmp(const void *a, const void *b)
{
    const struct gw_room *ra = *(struct gw_room *const *)a, *rb = *(struct gw_room *const *)b;
    size_t na = gw_room_members(ra), nb = gw_room_members(rb);
    if (!strcmp(ra->key, GW_LOBBY) || !strcmp(rb->key, GW_LOBBY))
        return strcmp(ra->key, GW_LOBBY) ? 1 : -1;
    if (na != nb)
        return na > nb ? -1 : 1;
    return strcmp(ra->key, rb->key);
}

/* "3 rooms: #lobby (3), #dev (1), #ops (1)": the rooms someone is in, at
 * most GW_ROOMS_LIST_MAX. */
static void cmd_rooms(struct cmd_ctx *c)
{
    char text[GW_ROOMS_LIST_MAX * (GW_ROOM_NAME_MAX_BYTES + 16) + 64];
    const struct gw_rooms *rs = &c->h->rooms;
    struct gw_room **list = malloc(rs->count * sizeof(*list) + 1);
    size_t n = 0;
    if (!list)
        return;
    for (size_t i = 0; i < rs->count; i++)
        if (gw_room_members(rs->list[i]) || rs->list[i] == rs->lobby)
            list[n++] = rs->list[i];
    qsort(list, n, sizeof(*list), room_cmp);
    size_t o = (size_t)snprintf(text, sizeof text, "%zu room%s:", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        if (i == GW_ROOMS_LIST_MAX) {
            o += (size_t)snprintf(text + o, sizeof text - o, " and %zu more", n - i);
            break;
        }
        o += (size_t)snprintf(text + o, sizeof text - o, "%s %s (%zu)", i ? "," : "",
                              list[i]->name, gw_room_members(list[i]));
    }
    free(list);
    gw_out_info(c->h, c->p, GW_R_WHO, text);
}

/* /msg NICK TEXT: a private message. */
static void cmd_msg(struct cmd_ctx *c)
{
    size_t nl = 0;
    while (nl < c->arg_len && !gw_is_space(c->arg[nl]) && c->arg[nl] != '\n')
        nl++;
    const char *text = c->arg + nl;
    size_t len = c->arg_len - nl;
    while (len && (gw_is_space(*text) || *text == '\n')) {
        text++;
        len--;
    }
    if (!nl || !len) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, "usage: /msg NICK TEXT", c->ref);
        return;
    }
    gw_private_send(c->h, c->p, c->now, c->arg, nl, text, len, c->ref);
}

/* /delete ID, /delete last (one's own latest message here), /delete all
 * NICK (an administrator: every message of NICK here, in batches). */
static void cmd_delete(struct cmd_ctx *c)
{
    const char *usage = "usage: /delete ID, /delete last or /delete all NICK";
    const char *rest;
    size_t rest_len, n = first_word(c->arg, c->arg_len, &rest, &rest_len);
    if (n == 4 && !memcmp(c->arg, "last", 4) && !rest_len) {
        gw_delete_last(c->h, c->p, c->room, c->now, c->ref);
        return;
    }
    if (n == 3 && !memcmp(c->arg, "all", 3) && rest_len) {
        size_t nl = 0;
        while (nl < rest_len && !gw_is_space(rest[nl]))
            nl++;
        if (nl == rest_len) {
            gw_delete_all(c->h, c->p, c->room, c->now, rest, nl, c->ref);
            return;
        }
    }
    uint64_t id = 0;
    int ok = n > 0 && n <= 16 && !rest_len && c->arg[0] != '0';
    for (size_t i = 0; ok && i < n; i++) {
        if (c->arg[i] < '0' || c->arg[i] > '9')
            ok = 0;
        else
            id = id * 10 + (uint64_t)(c->arg[i] - '0');
    }
    if (!ok) {
        gw_out_error(c->h, c->p, GW_R_BAD_ARGS, usage, c->ref);
        return;
    }
    gw_delete_one(c->h, c->p, c->room, c->now, id, c->ref);
}

static void cmd_help(struct cmd_ctx *c);

static void cmd_whoami(struct cmd_ctx *c)
{
    gw_admin_whoami(c->h, c->p, c->ref);
}

static void cmd_login(struct cmd_ctx *c)
{
    gw_out_error(c->h, c->p, GW_R_SEQUENCE, "already in the room", c->ref);
}

/* The slash commands, checked once here. */
static const struct {
    const char *name;
    void (*fn)(struct cmd_ctx *c);
    const char *usage;
    int accounts;           /* listed by /help only when accounts are offered */
} commands[] = {
    {"nick", cmd_nick, "/nick NAME", 0},
    {"me", cmd_me, "/me ACTION", 0},
    {"who", cmd_who, "/who", 0},
    {"join", cmd_join, "/join #ROOM", 0},
    {"part", cmd_part, "/part", 0},
    {"rooms", cmd_rooms, "/rooms", 0},
    {"msg", cmd_msg, "/msg NICK TEXT", 0},
    {"delete", cmd_delete, "/delete ID or last", 0},
    {"help", cmd_help, "/help", 0},
    {"login", cmd_login, "/login KEY", 0},
    {"register", cmd_register, "/register PASSWORD", 1},
    {"identify", cmd_identify, "/identify NICK PASSWORD", 1},
    {"password", cmd_password, "/password OLD NEW", 1},
    {"logout", cmd_logout, "/logout [all]", 1},
    {"whoami", cmd_whoami, "/whoami", 1},
};

static void cmd_help(struct cmd_ctx *c)
{
    char text[512];
    size_t o = (size_t)snprintf(text, sizeof text, "commands:");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!commands[i].accounts || c->h->cfg.accounts)
            o += (size_t)snprintf(text + o, sizeof text - o, "%s %s", i ? "," : "",
                                  commands[i].usage);
    snprintf(text + o, sizeof text - o, "; start a line with // to send one starting with /");
    gw_out_info(c->h, c->p, GW_R_HELP, text);
}

void gw_cmd_said(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                 const char *text, size_t len, const char *ref)
{
    h->metrics.messages_in[p->via]++;
    if (len > h->cfg.line_max) {
        char msg[64];
        snprintf(msg, sizeof msg, "message too long (at most %zu bytes)", h->cfg.line_max);
        h->metrics.rejections[GW_REJ_TOO_LARGE]++;
        p->refusals++;
        gw_out_error(h, p, GW_R_TOO_LARGE, msg, ref);
        return;
    }
    if (!gw_rate_ok(h, p, now)) {
        gw_out_error(h, p, GW_R_SLOW_DOWN, "too many messages: slow down (not sent)", ref);
        gw_rate_strike(h, p, now);
        return;
    }
    if (len >= 2 && text[0] == '/' && text[1] == '/') {
        gw_hub_post_message(h, r, p, now, text + 1, len - 1, 0, ref);
        return;
    }
    if (len == 0 || text[0] != '/') {
        gw_hub_post_message(h, r, p, now, text, len, 0, ref);
        return;
    }
    size_t nl = 1;
    while (nl < len && !gw_is_space(text[nl]) && text[nl] != '\n')
        nl++;
    struct cmd_ctx c = {h, p, r, now, text + nl, len - nl, ref};
    while (c.arg_len && (gw_is_space(*c.arg) || *c.arg == '\n')) {
        c.arg++;
        c.arg_len--;
    }
    while (c.arg_len && (gw_is_space(c.arg[c.arg_len - 1]) || c.arg[c.arg_len - 1] == '\n'))
        c.arg_len--;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strlen(commands[i].name) == nl - 1 && memcmp(commands[i].name, text + 1, nl - 1) == 0) {
            commands[i].fn(&c);
            return;
        }
    }
    char msg[96];
    snprintf(msg, sizeof msg, "unknown command /%.*s (try /help)", (int)(nl - 1 > 40 ? 40 : nl - 1),
             text + 1);
    /* The command name is cut at 40 bytes: keep the message valid UTF-8. */
    size_t mlen = strlen(msg);
    if (!wt_utf8_valid(msg, mlen))
        snprintf(msg, sizeof msg, "unknown command (try /help)");
    gw_out_error(h, p, GW_R_UNKNOWN, msg, ref);
}
