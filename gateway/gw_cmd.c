/*
 * gw_cmd.c - what a participant says: one completed TCP line or one
 * browser say, checked for size and rate, then a chat message or a slash
 * command (/nick, /me, /who, /help, /login), dispatched from one table.
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
#include "wt_codec.h"

/* /who names at most this many participants, then says how many more. */
#define GW_WHO_MAX_NAMES 50u

struct cmd_ctx {
    struct gw_hub *h;
    struct gw_part *p;
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
    (void)gw_hub_change_nick(c->h, c->p, c->now, c->arg, c->arg_len, c->ref);
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
    gw_hub_post_message(c->h, c->p, c->now, c->arg, c->arg_len, 1);
}

/* By comparison key: case aside, in code point order. */
static int nick_cmp(const void *a, const void *b)
{
    const struct gw_part *pa = *(struct gw_part *const *)a, *pb = *(struct gw_part *const *)b;
    return strcmp(pa->nick_key, pb->nick_key);
}

/* "N here: alice (web), robert (tcp)", by nick, at most GW_WHO_MAX_NAMES. */
static void cmd_who(struct cmd_ctx *c)
{
    char text[GW_WHO_MAX_NAMES * (GW_NICK_MAX_BYTES + 8) + 64];
    struct gw_part **list = malloc(c->h->nparts * sizeof(*list) + 1);
    unsigned n = 0;
    if (!list)
        return;
    for (size_t i = 0; i < c->h->nparts; i++)
        if (c->h->parts[i]->joined && !c->h->parts[i]->closing)
            list[n++] = c->h->parts[i];
    qsort(list, n, sizeof(*list), nick_cmp);
    size_t o = (size_t)snprintf(text, sizeof text, "%u here:", n);
    for (unsigned i = 0; i < n; i++) {
        if (i == GW_WHO_MAX_NAMES) {
            o += (size_t)snprintf(text + o, sizeof text - o, " and %u more", n - i);
            break;
        }
        o += (size_t)snprintf(text + o, sizeof text - o, "%s %s (%s)", i ? "," : "", list[i]->nick,
                              gw_via_name(list[i]->via));
    }
    free(list);
    gw_out_info(c->h, c->p, GW_R_WHO, text);
}

static void cmd_help(struct cmd_ctx *c);

static void cmd_login(struct cmd_ctx *c)
{
    gw_out_error(c->h, c->p, GW_R_SEQUENCE, "already in the room", c->ref);
}

/* The slash commands, checked once here. */
static const struct {
    const char *name;
    void (*fn)(struct cmd_ctx *c);
    const char *usage;
} commands[] = {
    {"nick", cmd_nick, "/nick NAME"},
    {"me", cmd_me, "/me ACTION"},
    {"who", cmd_who, "/who"},
    {"help", cmd_help, "/help"},
    {"login", cmd_login, "/login KEY"},
};

static void cmd_help(struct cmd_ctx *c)
{
    char text[256];
    size_t o = (size_t)snprintf(text, sizeof text, "commands:");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s %s", i ? "," : "", commands[i].usage);
    snprintf(text + o, sizeof text - o, "; start a line with // to send one starting with /");
    gw_out_info(c->h, c->p, GW_R_HELP, text);
}

/* One line or say-text from a participant (canonical, may hold \n for a
 * browser): a command or a message. */
void gw_cmd_said(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text, size_t len,
                 const char *ref)
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
        gw_hub_post_message(h, p, now, text + 1, len - 1, 0);
        return;
    }
    if (len == 0 || text[0] != '/') {
        gw_hub_post_message(h, p, now, text, len, 0);
        return;
    }
    size_t nl = 1;
    while (nl < len && !gw_is_space(text[nl]) && text[nl] != '\n')
        nl++;
    struct cmd_ctx c = {h, p, now, text + nl, len - nl, ref};
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
