/*
 * gw_private.c - private messages and the identities of wintalk.v2
 * browsers. A private message goes to every connection of the nick's
 * owner (every tab of its identity) and back to every connection of the
 * sender's: a browser gets a JSON message with "private":true and its
 * identity's own id (so each copy is encoded for its receiver), a TCP
 * participant a line of its own ("* alice -> you: text", "* you -> bob:
 * text"), a wintalk.v1 browser an info 250. Nothing of it goes into a
 * room, its history or its transcript.
 *
 * Not the identities' store (gw_ident.c) nor the commands (gw_cmd.c).
 * Pure: no I/O, no clock, no logging; the random bytes of a token come
 * from cfg.random.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_ident.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"

int gw_private_identify(struct gw_hub *h, struct gw_part *p, int64_t now, const char *token,
                        size_t len)
{
    struct gw_ident *id = token ? gw_idents_find(&h->idents, token, len) : NULL;
    int resumed = id != NULL;
    if (id) {
        gw_ident_attach(&h->idents, id);
    } else {
        gw_idents_expire(&h->idents, now);
        id = gw_idents_new(&h->idents, h->cfg.random, h->cfg.ctx);
        if (!id)
            return -1;
    }
    p->ident = id;
    p->ident_next = id->first_conn;
    id->first_conn = p;
    return resumed;
}

void gw_private_forget(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    struct gw_ident *id = p->ident;
    if (!id)
        return;
    struct gw_part **pp = &id->first_conn;
    while (*pp && *pp != p)
        pp = &(*pp)->ident_next;
    if (*pp)
        *pp = p->ident_next;
    p->ident = NULL;
    p->ident_next = NULL;
    gw_ident_detach(&h->idents, id, now);
    gw_idents_expire(&h->idents, now);
}

/* One copy for identity id: its next id, kept, sent to its connections. */
static void to_identity(struct gw_hub *h, struct gw_ident *id, struct gw_private *pm)
{
    pm->id = gw_ident_new_id(id);
    struct gw_buf *json = gw_json_private(pm, h->cfg.headroom);
    if (!json)
        return;
    gw_ident_keep(id, pm->id, json);
    for (struct gw_part *c = id->first_conn; c; c = c->ident_next)
        gw_out_push_web(h, c, json);
    gw_buf_unref(json);
}

/* One copy for a participant without an identity: a line of its own
 * ("* " prefix, then the text) for TCP, an info 250 (prefix without "* ")
 * for a wintalk.v1 browser. */
static void to_plain(struct gw_hub *h, struct gw_part *q, const char *prefix, const char *text,
                     size_t len)
{
    if (q->via == GW_VIA_TCP) {
        char line[GW_TRANSCRIPT_LINE_MAX_BYTES];
        size_t n = gw_transcript_render(line, prefix, text, len);
        gw_out_personal_line(h, q, line, n);
        return;
    }
    size_t plen = strlen(prefix) - 2;
    char *info = malloc(plen + len + 1);
    if (!info)
        return;
    memcpy(info, prefix + 2, plen);
    memcpy(info + plen, text, len);
    info[plen + len] = '\0';
    gw_out_info(h, q, GW_R_OK, info);
    free(info);
}

void gw_private_send(struct gw_hub *h, struct gw_part *p, int64_t now, const char *to,
                     size_t to_len, const char *text, size_t len, const char *ref)
{
    char given[GW_NICK_IN_MAX_CPS * 4 + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    struct gw_part *q = NULL;
    /* The name's key, without the rules for choosing one: guests have
     * names no one may choose. */
    if (to_len < sizeof given) {
        memcpy(given, to, to_len);
        given[to_len] = '\0';
        if (strlen(given) == to_len && gw_nick_key(given, key) == GW_NICK_OK)
            q = gw_hub_nick_owner(h, key);
    }
    if (!q) {
        char msg[GW_NICK_MAX_BYTES + 32];
        snprintf(msg, sizeof msg, "no one is called %.*s",
                 (int)gw_utf8_cut(to, to_len, GW_NICK_MAX_BYTES), to);
        gw_out_error(h, p, GW_R_NO_NICK, msg, ref);
        return;
    }
    if (q == p || (p->ident && q->ident == p->ident)) {
        gw_out_error(h, p, GW_R_BAD_ARGS, "a private message to yourself goes nowhere", ref);
        return;
    }
    struct gw_private pm = {
        .time_ms = now + h->wall_offset,
        .pid = p->pid,
        .nick = p->nick,
        .via = gw_via_name(p->via),
        .to = q->nick,
        .text = text,
        .text_len = len,
    };
    char prefix[GW_NICK_MAX_BYTES + 16];
    /* To the owner of the nick, every connection of its identity. */
    pm.with = p->nick;
    if (q->ident) {
        to_identity(h, q->ident, &pm);
    } else {
        snprintf(prefix, sizeof prefix, "* %s -> you: ", p->nick);
        to_plain(h, q, prefix, text, len);
    }
    /* Back to the sender, every connection of its identity. */
    pm.with = q->nick;
    if (p->ident) {
        to_identity(h, p->ident, &pm);
    } else {
        snprintf(prefix, sizeof prefix, "* you -> %s: ", q->nick);
        to_plain(h, p, prefix, text, len);
    }
}
