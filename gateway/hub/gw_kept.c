/*
 * gw_kept.c - what an account keeps while it has no connection, in the
 * store: the rooms it is a member of and where it read to in each (kept
 * as its connections join, part and read; given to a browser that logs
 * in: it joins them and gets a reads event), and the private messages
 * sent to it while it was away (kept when sent, given at its next login
 * by any way in, once: its read position in them is the row of
 * PM_READ_ROOM among its rooms).
 *
 * Each store call is an op of this file's own table (at most
 * GW_KEPT_OPS_MAX), answered through gw_hub_account_rooms,
 * gw_hub_account_pms, or, for the writes nobody waits for,
 * gw_hub_account_answer (gw_kept_answer). An op names its participant by
 * id: an answer for one that has gone is dropped.
 *
 * Pure: no I/O, no clock (time is an argument), no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_accounts.h"
#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"

/* The room name under which an account's read position in its private
 * messages is kept (no room's name starts with '@'). */
#define PM_READ_ROOM "@private"

/* What an op waits for. */
enum kept_kind {
    K_PM_ADD,   /* a private message kept for an account away */
    K_ROOMS,    /* at login: the account's rooms, and where it read to */
    K_PM_AFTER, /* ... the messages kept after that, a page at a time */
    K_QUIET,    /* a write nobody waits for */
};

struct gw_kept_op {
    struct gw_op_head o;
    enum kept_kind kind;
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char *text;         /* K_PM_ADD: the text, owned (the sender's copy waits) */
    size_t text_len;
    uint64_t after;     /* K_PM_AFTER: the last message id given */
};

static int ops_ready(struct gw_hub *h)
{
    if (!h->kept_ops)
        h->kept_ops = calloc(GW_KEPT_OPS_MAX, sizeof(*h->kept_ops));
    return h->kept_ops != NULL;
}

/* A new op for p, or NULL (p told why: 421). */
static struct gw_kept_op *op_new(struct gw_hub *h, struct gw_part *p, enum kept_kind kind,
                                 const char *ref)
{
    if (h->nkept_ops >= GW_KEPT_OPS_MAX || !ops_ready(h)) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "accounts are busy: try again in a moment", ref);
        return NULL;
    }
    struct gw_kept_op *op = &h->kept_ops[h->nkept_ops++];
    memset(op, 0, sizeof(*op));
    gw_op_start(h, &op->o, p->pid, ref);
    op->kind = kind;
    return op;
}

static void op_del(struct gw_hub *h, struct gw_kept_op *op)
{
    free(op->text);
    *op = h->kept_ops[--h->nkept_ops];
}

static struct gw_kept_op *op_find(struct gw_hub *h, uint64_t tag)
{
    return gw_op_find(h->kept_ops, h->nkept_ops, sizeof(*h->kept_ops), tag);
}

int gw_kept_pm(struct gw_hub *h, struct gw_part *p, int64_t now, const char *key,
                       const char *text, size_t len, const char *ref)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac || !ac->pm_add || !gw_names_has(h, key))
        return 0;
    struct gw_kept_op *op = op_new(h, p, K_PM_ADD, ref);
    if (!op)
        return 1;
    op->text = malloc(len + 1);
    if (!op->text) {
        op_del(h, op);
        gw_out_error(h, p, GW_R_SHUTDOWN, "out of memory; try again later", ref);
        return 1;
    }
    memcpy(op->text, text, len);
    op->text[len] = '\0';
    op->text_len = len;
    snprintf(op->key, sizeof op->key, "%s", key);
    struct gw_account_pm pm = {
        .time_ms = now + h->wall_offset, .peer = p->nick, .out = 0, .text = op->text};
    if (ac->pm_add(ac->ctx, op->o.tag, key, &pm) != GW_STORE_PENDING) {
        op_del(h, op);
        gw_out_error(h, p, GW_R_NOT_KEPT,
                     "the private message could not be kept: it was not sent; try again later",
                     ref);
    }
    return 1;
}

void gw_kept_fetch(struct gw_hub *h, struct gw_part *p)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac || !ac->rooms_of || !ac->pm_after || !p->account[0])
        return;
    struct gw_kept_op *op = op_new(h, p, K_ROOMS, NULL);
    if (!op)
        return; /* 421 said: they wait for the next login */
    snprintf(op->key, sizeof op->key, "%s", p->account);
    if (ac->rooms_of(ac->ctx, op->o.tag, op->key) != GW_STORE_PENDING)
        op_del(h, op);
}

/* Ask for the kept messages after op->after (op becomes K_PM_AFTER);
 * the op ends if it cannot. */
static void pm_page(struct gw_hub *h, struct gw_kept_op *op)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    op->kind = K_PM_AFTER;
    if (ac->pm_after(ac->ctx, op->o.tag, op->key, op->after, GW_ACCOUNT_PMS_PAGE) !=
        GW_STORE_PENDING)
        op_del(h, op);
}

/* An op whose answer nobody waits for (pid 0: answered to nobody), or
 * NULL when GW_KEPT_OPS_MAX are under way (the write is not made). */
static struct gw_kept_op *op_quiet(struct gw_hub *h)
{
    if (h->nkept_ops >= GW_KEPT_OPS_MAX || !ops_ready(h))
        return NULL;
    struct gw_kept_op *op = &h->kept_ops[h->nkept_ops++];
    memset(op, 0, sizeof(*op));
    gw_op_start(h, &op->o, 0, NULL);
    op->kind = K_QUIET;
    return op;
}

/* Keep that key is in room (in 1) or not, or its read position there
 * (id, with in 2); nobody waits. */
static void keep_quietly(struct gw_hub *h, const char *key, const char *room, int in, uint64_t id)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    struct gw_kept_op *op = ac ? op_quiet(h) : NULL;
    if (!op)
        return;
    int rc = GW_STORE_ENOTSUP;
    if (in == 2 && ac->read_mark)
        rc = ac->read_mark(ac->ctx, op->o.tag, key, room, id);
    else if (in != 2 && ac->room_keep)
        rc = ac->room_keep(ac->ctx, op->o.tag, key, room, in);
    if (rc != GW_STORE_PENDING)
        op_del(h, op);
}

/* The messages given are read: the position kept (nobody waits). */
static void pm_mark(struct gw_hub *h, const char *key, uint64_t id)
{
    keep_quietly(h, key, PM_READ_ROOM, 1, 0);
    keep_quietly(h, key, PM_READ_ROOM, 2, id);
}

void gw_kept_room(struct gw_hub *h, struct gw_part *p, const struct gw_room *r, int in)
{
    if (p->account[0])
        keep_quietly(h, p->account, r->key, in, 0);
}

void gw_kept_read(struct gw_hub *h, struct gw_part *p, const char *name, size_t len,
                     uint64_t id, const char *ref)
{
    struct gw_room *r = gw_rooms_find(&h->rooms, name, len);
    struct gw_memb *mb = r ? gw_member_of(p, r) : NULL;
    if (!mb) {
        char msg[GW_ROOM_ARG_MAX_BYTES + 16];
        snprintf(msg, sizeof msg, "not in %.*s", (int)gw_utf8_cut(name, len, GW_ROOM_ARG_MAX_BYTES),
                 name);
        gw_out_error(h, p, GW_R_BAD_ARGS, msg, ref);
        return;
    }
    /* Forward only, and not past the room's latest (when it is known): a
     * read that moves nothing writes nothing. */
    uint64_t last = gw_history_last_id(&r->history);
    if (last && id > last)
        id = last;
    if (!p->account[0] || id <= mb->read_sent)
        return;
    mb->read_sent = id;
    keep_quietly(h, p->account, r->key, 2, id);
}

/* A browser logged in: the account's rooms it is not in are joined (as if
 * it asked), and where the account read to in each is told. The rows are
 * copied first: joining calls the engine, which may change what they
 * point at. */
static void rooms_of_account(struct gw_hub *h, struct gw_part *p,
                             const struct gw_account_room *rows, size_t n, int64_t now)
{
    struct room_row {
        char key[GW_ACCOUNT_ROOM_MAX_BYTES + 1];
        uint64_t read_id;
    } *copy = calloc(n ? n : 1, sizeof(*copy));
    const char **names = calloc(n ? n : 1, sizeof(*names));
    uint64_t *ids = calloc(n ? n : 1, sizeof(*ids));
    size_t m = 0, k = 0;
    for (size_t i = 0; copy && i < n; i++)
        if (rows[i].room && rows[i].room[0] != '@' &&
            strlen(rows[i].room) <= GW_ACCOUNT_ROOM_MAX_BYTES) {
            snprintf(copy[m].key, sizeof copy[m].key, "%s", rows[i].room);
            copy[m++].read_id = rows[i].read_id;
        }
    for (size_t i = 0; names && ids && i < m && !p->closing; i++) {
        const char *key = copy[i].key;
        struct gw_room *r = gw_rooms_find(&h->rooms, key, strlen(key));
        if (!r || !gw_member_of(p, r))
            gw_member_web_join(h, p, now, key, strlen(key), 0, NULL);
        r = gw_rooms_find(&h->rooms, key, strlen(key));
        struct gw_memb *mb = r ? gw_member_of(p, r) : NULL;
        if (mb && copy[i].read_id > mb->read_sent)
            mb->read_sent = copy[i].read_id;
        names[k] = r ? r->name : key;
        ids[k++] = copy[i].read_id;
    }
    if (k && !p->closing) {
        struct gw_buf *b = gw_json_reads(names, ids, k, h->cfg.headroom);
        if (b) {
            gw_out_push_web(h, p, b);
            gw_buf_unref(b);
        }
    }
    free(copy);
    free(names);
    free(ids);
}

int gw_hub_account_rooms(struct gw_hub *h, uint64_t tag, int status,
                         const struct gw_account_room *rows, size_t n, int64_t now)
{
    struct gw_kept_op *op = op_find(h, tag);
    if (!op)
        return GW_ENOENT;
    struct gw_part *p = gw_hub_part(h, op->o.pid);
    if (!p || op->kind != K_ROOMS || status != GW_STORE_DONE) {
        op_del(h, op);
        return p ? GW_OK : GW_ENOENT;
    }
    op->after = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].room && !strcmp(rows[i].room, PM_READ_ROOM))
            op->after = rows[i].read_id;
    if (p->proto == GW_PROTO_V2 && p->account[0] && !strcmp(p->account, op->key))
        rooms_of_account(h, p, rows, n, now);
    pm_page(h, op);
    return GW_OK;
}

int gw_hub_account_pms(struct gw_hub *h, uint64_t tag, int status,
                       const struct gw_account_pm *rows, size_t n, int64_t now)
{
    struct gw_kept_op *op = op_find(h, tag);
    if (!op)
        return GW_ENOENT;
    struct gw_part *p = gw_hub_part(h, op->o.pid);
    if (!p) {
        op_del(h, op);
        return GW_ENOENT;
    }
    if (op->kind == K_PM_ADD) {
        if (status == GW_STORE_DONE) {
            char msg[sizeof op->key + 64];
            gw_private_copy_sent(h, p, now, op->key, op->text, op->text_len, 1);
            snprintf(msg, sizeof msg, "%s is away: the message is kept for them", op->key);
            gw_out_info(h, p, GW_R_OK, msg);
        } else {
            gw_out_error(h, p, status == GW_ACCOUNT_NONE ? GW_R_NO_NICK : GW_R_NOT_KEPT,
                         status == GW_ACCOUNT_NONE
                             ? "no one is called that any more: the message was not sent"
                             : "the private message could not be kept: it was not sent; try "
                               "again later",
                         gw_op_ref(&op->o));
        }
        op_del(h, op);
        return GW_OK;
    }
    if (op->kind != K_PM_AFTER || status != GW_STORE_DONE) {
        op_del(h, op);
        return GW_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (p->account[0] && !strcmp(p->account, op->key))
            gw_private_give_kept(h, p, &rows[i]);
        if (rows[i].id > op->after)
            op->after = rows[i].id;
    }
    if (n == GW_ACCOUNT_PMS_PAGE) {
        pm_page(h, op); /* more */
        return GW_OK;
    }
    char key[sizeof op->key];
    memcpy(key, op->key, sizeof key);
    uint64_t last = op->after;
    op_del(h, op);
    if (last)
        pm_mark(h, key, last);
    return GW_OK;
}

int gw_kept_answer(struct gw_hub *h, uint64_t tag, int status, int64_t now)
{
    (void)status;
    (void)now;
    struct gw_kept_op *op = op_find(h, tag);
    if (!op)
        return GW_ENOENT;
    op_del(h, op); /* a write nobody waits for: done, or not */
    return GW_OK;
}

void gw_kept_free(struct gw_hub *h)
{
    for (size_t i = 0; i < h->nkept_ops; i++)
        free(h->kept_ops[i].text);
    free(h->kept_ops);
    h->kept_ops = NULL;
    h->nkept_ops = 0;
}
