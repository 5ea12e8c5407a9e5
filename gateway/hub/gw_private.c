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

static int ask(struct gw_hub *h, struct gw_part *p, const char *token, size_t token_len,
               const char *data, size_t len);

int gw_private_identify(struct gw_hub *h, struct gw_part *p, int64_t now, const char *token,
                        size_t token_len, const char *data, size_t len)
{
    struct gw_ident *id = token ? gw_idents_find(&h->idents, token, token_len) : NULL;
    /* A token another gateway gave: asked of the engine first. */
    if (!id && token && ask(h, p, token, token_len, data, len))
        return GW_IDENTIFY_HELD;
    int resumed = id ? GW_IDENTIFY_RESUMED : GW_IDENTIFY_NEW;
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

/* ---- identities kept for every gateway (a shared engine) ---- */

/* Keep id in the engine: its nick and latest private id, and the private
 * message json (pm_id above 0). A failure loses nothing here: the engine
 * only misses it for a resume on another gateway. */
static void keep_shared(struct gw_hub *h, const struct gw_ident *id, uint64_t pm_id,
                        struct gw_buf *json)
{
    const struct gw_store *st = h->cfg.store;
    if (!st || !st->ident_keep)
        return;
    char hex[GW_DIGEST_HEX_LEN + 1];
    gw_digest_hex(id->digest, hex);
    (void)st->ident_keep(st->ctx, hex, id->nick, id->last_private,
                         id->first_conn ? id->first_conn->pid : 0, pm_id,
                         json ? (const char *)gw_buf_bytes(json) : NULL, json ? json->len : 0);
}

void gw_private_save(struct gw_hub *h, struct gw_ident *id)
{
    if (id)
        keep_shared(h, id, 0, NULL);
}

void gw_private_touch(struct gw_hub *h)
{
    const struct gw_store *st = h->cfg.store;
    if (!st || !st->ident_touch)
        return;
    for (size_t i = 0; i < h->nparts; i++) {
        const struct gw_part *p = h->parts[i];
        /* Once per identity: by its first connection. */
        if (p->ident && p->ident->first_conn == p && p->joined) {
            char hex[GW_DIGEST_HEX_LEN + 1];
            gw_digest_hex(p->ident->digest, hex);
            (void)st->ident_touch(st->ctx, hex);
        }
    }
}

/* Hold the hello (len bytes of data) in p while the engine, if it keeps
 * identities for every gateway, looks up token. Returns 1 when held, 0
 * when not (no such engine, asked once already, or the engine did not
 * take the question): the hello goes on at once. */
static int ask(struct gw_hub *h, struct gw_part *p, const char *token, size_t token_len,
               const char *data, size_t len)
{
    const struct gw_store *st = h->cfg.store;
    if (!st || !st->ident_find || p->ident_asked || token_len != GW_TOKEN_HEX_LEN)
        return 0;
    p->ident_asked = 1;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, len);
    unsigned char d[SHA256_DIGEST_LENGTH];
    char hex[GW_DIGEST_HEX_LEN + 1];
    SHA256((const unsigned char *)token, token_len, d);
    gw_digest_hex(d, hex);
    if (st->ident_find(st->ctx, p->pid, hex) != 0) {
        free(copy);
        return 0;
    }
    p->hello_held = copy;
    p->hello_held_len = len;
    memcpy(p->held_token, token, token_len);
    p->held_token[token_len] = '\0';
    return 1;
}

/* The identity the engine found for p's held hello, made here with the
 * token the hello gave (unless another hello made it meanwhile): its
 * nick, its ids, its private messages. */
static void adopt(struct gw_hub *h, const struct gw_part *p, const struct gw_store_ident *rec,
                  int64_t now)
{
    const char *token = p->held_token;
    if (gw_idents_find(&h->idents, token, strlen(token)))
        return;
    struct gw_ident *id = gw_idents_adopt(&h->idents, token, strlen(token), now);
    if (!id)
        return;
    if (rec->nick && strlen(rec->nick) < sizeof id->nick)
        snprintf(id->nick, sizeof id->nick, "%s", rec->nick);
    id->last_private = rec->last_private;
    id->elsewhere = rec->conn;
    uint64_t last = 0;
    for (size_t i = 0; i < rec->n; i++) {
        if (rec->ids[i] <= last || rec->ids[i] > rec->last_private)
            continue; /* out of order: not ours to keep */
        struct gw_buf *b = gw_buf_copy(h->cfg.headroom, rec->json[i], rec->json_len[i]);
        if (!b)
            break;
        gw_ident_keep(id, rec->ids[i], b);
        gw_buf_unref(b);
        last = rec->ids[i];
    }
}

int gw_hub_store_ident(struct gw_hub *h, uint64_t tag, int status,
                       const struct gw_store_ident *rec, int64_t now)
{
    struct gw_part *p = gw_hub_part(h, tag);
    if (!p || !p->hello_held)
        return GW_ENOENT;
    /* Not found, or not answered: the hello makes a new identity. */
    if (!p->closing && status >= 0 && rec)
        adopt(h, p, rec, now);
    gw_web_hello_go_on(h, p, now);
    return GW_OK;
}

/* One copy for identity id: its next id, kept, sent to its connections. */
static void to_identity(struct gw_hub *h, struct gw_ident *id, struct gw_private *pm)
{
    pm->id = gw_ident_new_id(id);
    struct gw_buf *json = gw_json_private(pm, h->cfg.headroom);
    if (!json)
        return;
    gw_ident_keep(id, pm->id, json);
    keep_shared(h, id, pm->id, json);
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

/* A copy of pm to every connection here of q's person: once to each of
 * its identities (each keeps its own), a line to each without one. prefix
 * is the plain form's ("* alice -> you: "). */
static void to_person(struct gw_hub *h, struct gw_part *q, struct gw_private *pm,
                      const char *prefix)
{
    for (struct gw_part *c = gw_hub_person_next(h, q, NULL); c; c = gw_hub_person_next(h, q, c)) {
        if (!c->joined || c->closing)
            continue;
        if (!c->ident) {
            to_plain(h, c, prefix, pm->text, pm->text_len);
            continue;
        }
        /* An identity once: at its first connection of the person. */
        struct gw_part *d = gw_hub_person_next(h, q, NULL);
        while (d != c && !(d->ident == c->ident && d->joined && !d->closing))
            d = gw_hub_person_next(h, q, d);
        if (d == c)
            to_identity(h, c->ident, pm);
    }
}

/* Whether a connection of q's person here is live: not in its reload
 * grace (gw_linger.c). */
static int live(const struct gw_hub *h, struct gw_part *q)
{
    for (struct gw_part *c = gw_hub_person_next(h, q, NULL); c; c = gw_hub_person_next(h, q, c))
        if (c->joined && !c->closing && !c->lingering)
            return 1;
    return 0;
}

/* The receiver's copy of pm to q, a participant here. */
static void to_receiver(struct gw_hub *h, struct gw_part *q, struct gw_private *pm)
{
    char prefix[GW_NICK_MAX_BYTES + 16];
    pm->with = pm->nick;
    snprintf(prefix, sizeof prefix, "* %s -> you: ", pm->nick);
    to_person(h, q, pm, prefix);
}

/* To the participant of another gateway sharing the rooms: its gateway
 * gives it its copy (gw_hub_private_in). Returns 0, or -1 when the engine
 * did not take it. */
static int to_remote(struct gw_hub *h, const struct gw_remote *q, const struct gw_private *pm)
{
    const struct gw_store *st = h->cfg.store;
    if (!st || !st->private_to)
        return -1;
    struct gw_private out = *pm;
    out.to_pid = q->pid;
    out.with = "";
    struct gw_buf *b = gw_json_private(&out, 0);
    if (!b)
        return -1;
    int rc = st->private_to(st->ctx, q->node, (const char *)gw_buf_bytes(b), b->len);
    gw_buf_unref(b);
    return rc;
}

void gw_private_copy_sent(struct gw_hub *h, struct gw_part *p, int64_t now, const char *to,
                          const char *text, size_t len, int kept)
{
    struct gw_private pm = {
        .time_ms = now + h->wall_offset,
        .pid = p->pid,
        .nick = p->nick,
        .via = gw_via_name(p->via),
        .to = to,
        .with = to,
        .text = text,
        .text_len = len,
        .kept = kept,
    };
    char prefix[GW_NICK_MAX_BYTES + 16];
    snprintf(prefix, sizeof prefix, "* you -> %s: ", to);
    to_person(h, p, &pm, prefix);
}

void gw_private_give_kept(struct gw_hub *h, struct gw_part *p, const struct gw_account_pm *row)
{
    struct gw_private pm = {
        .time_ms = row->time_ms,
        .nick = row->out ? p->nick : row->peer,
        .via = "",
        .to = row->out ? row->peer : p->nick,
        .with = row->peer,
        .text = row->text,
        .text_len = strlen(row->text),
        .kept = 1,
    };
    char prefix[GW_NICK_MAX_BYTES + 48];
    if (row->out)
        snprintf(prefix, sizeof prefix, "* you -> %s (while you were away): ", row->peer);
    else
        snprintf(prefix, sizeof prefix, "* %s -> you (while you were away): ", row->peer);
    to_person(h, p, &pm, prefix);
}

int gw_hub_private_lost(struct gw_hub *h, const char *json, size_t len, int64_t now)
{
    (void)now;
    struct gw_cmsg_private in;
    if (gw_json_parse_private(json, len, &in) != 0)
        return GW_EINVAL;
    struct gw_part *p = gw_hub_part(h, in.pid);
    int rc = GW_ENOENT;
    if (p && p->joined && !p->closing) {
        const struct gw_remote *q = gw_presence_remote(h, in.to_pid);
        char msg[GW_NICK_MAX_BYTES + 96];
        snprintf(msg, sizeof msg,
                 "private message to %s not delivered: their gateway stopped answering",
                 q ? q->nick : "them");
        gw_out_error(h, p, GW_R_NOT_KEPT, msg, NULL);
        rc = GW_OK;
    }
    gw_cmsg_private_free(&in);
    return rc;
}

int gw_hub_private_in(struct gw_hub *h, const char *json, size_t len, int64_t now)
{
    (void)now;
    struct gw_cmsg_private in;
    if (gw_json_parse_private(json, len, &in) != 0)
        return GW_EINVAL;
    struct gw_part *q = gw_hub_part(h, in.to_pid);
    int rc = GW_ENOENT;
    if (q && q->joined && !q->closing) {
        struct gw_private pm = {
            .time_ms = in.time_ms,
            .pid = in.pid,
            .nick = in.nick,
            .via = in.via,
            .to = q->nick,
            .text = in.text,
            .text_len = in.text_len,
        };
        to_receiver(h, q, &pm);
        rc = GW_OK;
    }
    gw_cmsg_private_free(&in);
    return rc;
}

void gw_private_send(struct gw_hub *h, struct gw_part *p, int64_t now, const char *to,
                     size_t to_len, const char *text, size_t len, const char *ref)
{
    char given[GW_NICK_IN_MAX_CPS * 4 + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    struct gw_part *q = NULL;
    const struct gw_remote *rq = NULL;
    int named = 0;
    /* The name's key, without the rules for choosing one: guests have
     * names no one may choose. */
    if (to_len < sizeof given) {
        memcpy(given, to, to_len);
        given[to_len] = '\0';
        if (strlen(given) == to_len && gw_nick_key(given, key) == GW_NICK_OK) {
            named = 1;
            q = gw_hub_nick_owner(h, key);
            if (!q)
                rq = gw_presence_nick(h, key, NULL);
        }
    }
    if (!q && !rq) {
        /* An account away: kept for it (the sender's copy when kept). */
        if (named && gw_kept_pm(h, p, now, key, text, len, ref))
            return;
        char msg[GW_NICK_MAX_BYTES + 96];
        snprintf(msg, sizeof msg, "no one is called %.*s here (a guest who left cannot be "
                 "reached): the message was not sent",
                 (int)gw_utf8_cut(to, to_len, GW_NICK_MAX_BYTES), to);
        gw_out_error(h, p, GW_R_NO_NICK, msg, ref);
        return;
    }
    if (q && gw_hub_same_person(q, p)) {
        gw_out_error(h, p, GW_R_BAD_ARGS, "a private message to yourself goes nowhere", ref);
        return;
    }
    /* An account whose connections here are all in their reload grace, and
     * none on another gateway: kept for the account, which gets it at its
     * next login from any device, and not only in that browser. */
    if (q && q->account[0] && !live(h, q)) {
        size_t i = 0;
        if (!gw_presence_account_next(h, q->account, &i) &&
            gw_kept_pm(h, p, now, q->account, text, len, ref))
            return;
    }
    struct gw_private pm = {
        .time_ms = now + h->wall_offset,
        .pid = p->pid,
        .nick = p->nick,
        .via = gw_via_name(p->via),
        .to = q ? q->nick : rq->nick,
        .text = text,
        .text_len = len,
    };
    char prefix[GW_NICK_MAX_BYTES + 16];
    /* To the owner of the nick, every connection of its person here; on
     * another gateway, through the engine (an account's, to each gateway
     * it is on). */
    int sent = 0;
    if (q) {
        to_receiver(h, q, &pm);
        sent = 1;
    }
    if (rq) {
        sent = to_remote(h, rq, &pm) == 0;
    } else if (q && q->account[0]) {
        size_t i = 0;
        const struct gw_remote *r;
        while ((r = gw_presence_account_next(h, q->account, &i)))
            (void)to_remote(h, r, &pm);
    }
    if (!sent) {
        gw_out_error(h, p, GW_R_NOT_KEPT, "private message not sent: the other gateway cannot "
                                          "be reached; try again later", ref);
        return;
    }
    /* Back to the sender, every connection of its person here. */
    pm.with = pm.to;
    snprintf(prefix, sizeof prefix, "* you -> %s: ", pm.to);
    to_person(h, p, &pm, prefix);
}
