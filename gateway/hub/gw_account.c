/*
 * gw_account.c - registering a nick, logging in to it, and registered
 * nicks kept for their owners. Every step that costs (a password's hash,
 * a look-up in the store) is asked of the program or the store and goes
 * on when it answers (gw_hub_hash_answer, gw_hub_account_answer): an op,
 * at most GW_ACCOUNT_OPS_MAX of them, names the participant it is for by
 * id, so an answer for one that has gone is dropped. A password is kept
 * only while its op waits, and wiped.
 *
 * A failed login says the same words whether or not the account exists,
 * after the same work: a password is checked against a hash of nothing
 * when there is no account.
 *
 * Pure: no I/O, no clock (time is an argument), no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw_accounts.h"
#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"

/* What an op waits for, and what it does next. */
enum op_kind {
    OP_REGISTER_HASH,   /* the new password's hash, then create */
    OP_REGISTER_CREATE, /* the account made */
    OP_IDENTIFY_FIND,   /* the account, then verify */
    OP_IDENTIFY_VERIFY, /* the password checked: logged in */
};

struct gw_acct_op {
    uint64_t tag;
    uint64_t pid;
    enum op_kind kind;
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    char pw[GW_PASSWORD_MAX_BYTES + 1];
    size_t pw_len;
    char ref[GW_REF_MAX_BYTES * 6 + 3]; /* as JSON, as the client gave it */
    int has_ref;
    int exists;          /* identify: the account was found */
};

/* A PHC string of the hasher's form that no password matches in practice
 * (its hash is of a password nobody knows): a login to an account that
 * does not exist is checked against it, taking the same time. */
static const char nobody_phc[] =
    "$argon2id$v=19$m=19456,t=2,p=1$bm9ib2R5LWF0LWFsbA$"
    "9s8QkZ3mO0l7jZk8lWc1n1jv3lqQd8c1dYhH2yYwV4I";

static void wipe(struct gw_acct_op *op)
{
    OPENSSL_cleanse(op->pw, sizeof op->pw);
    op->pw_len = 0;
}

static const char *ref_of(const struct gw_acct_op *op)
{
    return op->has_ref ? op->ref : NULL;
}

/* A new op for p, or NULL (p told why: 421). */
static struct gw_acct_op *op_new(struct gw_hub *h, struct gw_part *p, enum op_kind kind,
                                 const char *ref)
{
    if (h->nacct_ops >= GW_ACCOUNT_OPS_MAX) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "accounts are busy: try again in a moment", ref);
        return NULL;
    }
    if (!h->acct_ops) {
        h->acct_ops = calloc(GW_ACCOUNT_OPS_MAX, sizeof(*h->acct_ops));
        if (!h->acct_ops) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "out of memory; try again later", ref);
            return NULL;
        }
    }
    struct gw_acct_op *op = &h->acct_ops[h->nacct_ops++];
    memset(op, 0, sizeof(*op));
    op->tag = ++h->next_acct_tag;
    op->pid = p->pid;
    op->kind = kind;
    if (ref) {
        snprintf(op->ref, sizeof op->ref, "%s", ref);
        op->has_ref = 1;
    }
    return op;
}

static void op_del(struct gw_hub *h, struct gw_acct_op *op)
{
    wipe(op);
    *op = h->acct_ops[--h->nacct_ops];
}

static struct gw_acct_op *op_find(struct gw_hub *h, uint64_t tag)
{
    for (size_t i = 0; i < h->nacct_ops; i++)
        if (h->acct_ops[i].tag == tag)
            return &h->acct_ops[i];
    return NULL;
}

/* Whether a password may come from p; if not, p is told why. */
static int password_ok(struct gw_hub *h, struct gw_part *p, size_t len, const char *ref)
{
    if (!h->cfg.accounts || !h->cfg.hash || !h->cfg.verify) {
        gw_out_error(h, p, GW_R_NOT_OFFERED, "accounts are not offered by this gateway", ref);
        return 0;
    }
    if (p->via == GW_VIA_TCP && !p->secure && !h->cfg.plain_passwords) {
        gw_out_error(h, p, GW_R_KEY,
                     "a password over plain TCP would travel in clear: connect to the "
                     "gateway's TLS port",
                     ref);
        return 0;
    }
    if (len == 0 || len > GW_PASSWORD_MAX_BYTES) {
        char msg[80];
        snprintf(msg, sizeof msg, "a password is 1 to %u bytes", GW_PASSWORD_MAX_BYTES);
        gw_out_error(h, p, GW_R_BAD_ARGS, msg, ref);
        return 0;
    }
    return 1;
}

void gw_account_register(struct gw_hub *h, struct gw_part *p, int64_t now, const char *pw,
                         size_t len, const char *ref)
{
    (void)now;
    if (!password_ok(h, p, len, ref))
        return;
    if (h->cfg.registration_closed) {
        gw_out_error(h, p, GW_R_KEY, "registration is closed: accounts come from the operator",
                     ref);
        return;
    }
    if (p->account[0]) {
        gw_out_error(h, p, GW_R_SEQUENCE, "you are logged in already", ref);
        return;
    }
    if (!p->nick_key[0] || !strncmp(p->nick_key, "guest-", 6)) {
        gw_out_error(h, p, GW_R_NAME, "choose a nick first (/nick NAME), then register it", ref);
        return;
    }
    if (strlen(p->nick_key) > GW_ACCOUNT_KEY_MAX_BYTES) {
        gw_out_error(h, p, GW_R_NAME, "this nick is too long for an account", ref);
        return;
    }
    if (gw_names_has(h, p->nick_key)) {
        gw_out_error(h, p, GW_R_NAME, "this nick is registered already", ref);
        return;
    }
    struct gw_acct_op *op = op_new(h, p, OP_REGISTER_HASH, ref);
    if (!op)
        return;
    snprintf(op->key, sizeof op->key, "%s", p->nick_key);
    snprintf(op->nick, sizeof op->nick, "%s", p->nick);
    if (h->cfg.hash(h->cfg.ctx, op->tag, pw, len) != 0) {
        op_del(h, op);
        gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment", ref);
    }
}

void gw_account_identify(struct gw_hub *h, struct gw_part *p, int64_t now, const char *nick,
                         size_t nick_len, const char *pw, size_t len, const char *ref)
{
    (void)now;
    char shown[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    if (!password_ok(h, p, len, ref))
        return;
    if (gw_nick_norm(nick, nick_len, h->cfg.nick_max, shown, key) != 0 ||
        strlen(key) > GW_ACCOUNT_KEY_MAX_BYTES) {
        gw_out_error(h, p, GW_R_KEY, "wrong nick or password", ref);
        return;
    }
    struct gw_acct_op *op = op_new(h, p, OP_IDENTIFY_FIND, ref);
    if (!op)
        return;
    snprintf(op->key, sizeof op->key, "%s", key);
    memcpy(op->pw, pw, len);
    op->pw_len = len;
    const struct gw_accounts *ac = h->cfg.accounts;
    if (ac->find(ac->ctx, op->tag, op->key) != GW_STORE_PENDING) {
        op_del(h, op);
        gw_out_error(h, p, GW_R_SHUTDOWN, "accounts cannot be read now: try again later", ref);
    }
}

void gw_account_claim(struct gw_hub *h, const char *key, const struct gw_part *keep, int64_t now)
{
    struct gw_part *q;
    while ((q = gw_hub_nick_owner(h, key)) && q != keep && strcmp(q->account, key) != 0) {
        char msg[GW_NICK_MAX_BYTES * 2 + 96];
        char old[GW_NICK_MAX_BYTES + 1];
        snprintf(old, sizeof old, "%s", q->nick);
        gw_hub_guest_name(h, q, now);
        snprintf(msg, sizeof msg, "%s is a registered nick, kept for its owner; you are %s", old,
                 q->nick);
        gw_out_error(h, q, GW_R_NAME, msg, NULL);
        gw_hub_announce_nick(h, q, old, now);
    }
}

/* p is logged in to the account of key, registered as nick: its nick is
 * that, taken from whoever holds it here (a guest again, told why). */
static void logged_in(struct gw_hub *h, struct gw_part *p, int64_t now, const char *key,
                      const char *nick, const char *ref, const char *how)
{
    snprintf(p->account, sizeof p->account, "%s", key);
    gw_names_add(h, key);
    gw_account_claim(h, key, p, now);
    (void)gw_hub_change_nick(h, p, now, nick, strlen(nick), ref);
    char msg[GW_NICK_MAX_BYTES + 64];
    snprintf(msg, sizeof msg, "%s as %s", how, nick);
    gw_out_info(h, p, GW_R_OK, msg);
}

void gw_account_logout(struct gw_hub *h, struct gw_part *p, int64_t now, const char *ref)
{
    if (!p->account[0]) {
        gw_out_error(h, p, GW_R_SEQUENCE, "you are not logged in", ref);
        return;
    }
    p->account[0] = '\0';
    char old[GW_NICK_MAX_BYTES + 1];
    snprintf(old, sizeof old, "%s", p->nick);
    gw_hub_guest_name(h, p, now);
    gw_hub_announce_nick(h, p, old, now);
    char msg[GW_NICK_MAX_BYTES + 48];
    snprintf(msg, sizeof msg, "logged out; you are %s", p->nick);
    gw_out_info(h, p, GW_R_OK, msg);
}

int gw_account_nick_free(struct gw_hub *h, struct gw_part *p, const char *given, size_t len,
                         const char *ref)
{
    char shown[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    if (!h->cfg.accounts || gw_nick_norm(given, len, h->cfg.nick_max, shown, key) != 0 ||
        !strcmp(key, p->account) || !gw_names_has(h, key))
        return 1;
    char msg[GW_NICK_MAX_BYTES * 2 + 96];
    if (p->via == GW_VIA_TCP)
        snprintf(msg, sizeof msg, "%s is registered: log in with /identify %s PASSWORD", shown,
                 shown);
    else
        snprintf(msg, sizeof msg, "%s is registered: log in to use it", shown);
    gw_out_error(h, p, GW_R_NAME, msg, ref);
    return 0;
}

int gw_account_nick(struct gw_hub *h, struct gw_part *p, int64_t now, const char *given,
                    size_t len, const char *ref)
{
    if (!gw_account_nick_free(h, p, given, len, ref))
        return GW_R_NAME;
    return gw_hub_change_nick(h, p, now, given, len, ref);
}

int gw_hub_account_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                          int64_t now)
{
    struct gw_acct_op *op = op_find(h, tag);
    if (!op)
        return GW_ENOENT;
    struct gw_part *p = gw_hub_part(h, op->pid);
    if (!p) {
        op_del(h, op);
        return GW_ENOENT;
    }
    switch (op->kind) {
    case OP_REGISTER_CREATE:
        if (status == GW_STORE_DONE) {
            char key[sizeof op->key], nick[sizeof op->nick];
            memcpy(key, op->key, sizeof key);
            memcpy(nick, op->nick, sizeof nick);
            char ref[sizeof op->ref];
            const char *r = op->has_ref ? memcpy(ref, op->ref, sizeof ref) : NULL;
            op_del(h, op);
            logged_in(h, p, now, key, nick, r, "registered and logged in");
            return GW_OK;
        }
        gw_out_error(h, p, status == GW_ACCOUNT_EXISTS ? GW_R_NAME : GW_R_SHUTDOWN,
                     status == GW_ACCOUNT_EXISTS ? "this nick is registered already"
                                                 : "the account could not be kept: try again",
                     ref_of(op));
        break;
    case OP_IDENTIFY_FIND: {
        const char *phc = nobody_phc;
        if (status == GW_STORE_DONE && a && a->phc && a->phc[0]) {
            phc = a->phc;
            op->exists = 1;
            snprintf(op->nick, sizeof op->nick, "%s", a->nick);
        } else if (status != GW_STORE_DONE && status != GW_ACCOUNT_NONE) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "accounts cannot be read now: try again later",
                         ref_of(op));
            break;
        }
        op->kind = OP_IDENTIFY_VERIFY;
        if (h->cfg.verify(h->cfg.ctx, op->tag, phc, op->pw, op->pw_len) != 0) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment",
                         ref_of(op));
            break;
        }
        wipe(op);
        return GW_OK;
    }
    default:
        break;
    }
    op_del(h, op);
    return GW_OK;
}

int gw_hub_hash_answer(struct gw_hub *h, uint64_t tag, int status, const char *phc, int64_t now)
{
    struct gw_acct_op *op = op_find(h, tag);
    if (!op)
        return GW_ENOENT;
    struct gw_part *p = gw_hub_part(h, op->pid);
    if (!p) {
        op_del(h, op);
        return GW_ENOENT;
    }
    if (op->kind == OP_REGISTER_HASH) {
        if (status != GW_HASH_ANSWER_OK || !phc) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the password could not be hashed: try again",
                         ref_of(op));
            op_del(h, op);
            return GW_OK;
        }
        struct gw_account a = {.key = op->key, .nick = op->nick, .phc = phc, .roles = 0,
                               .generation = 1, .created_ms = now + h->wall_offset};
        const struct gw_accounts *ac = h->cfg.accounts;
        op->kind = OP_REGISTER_CREATE;
        if (ac->create(ac->ctx, op->tag, &a) != GW_STORE_PENDING) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the account could not be kept: try again",
                         ref_of(op));
            op_del(h, op);
        }
        return GW_OK;
    }
    if (op->kind == OP_IDENTIFY_VERIFY) {
        if (status == GW_HASH_ANSWER_OK && op->exists) {
            char key[sizeof op->key], nick[sizeof op->nick], ref[sizeof op->ref];
            memcpy(key, op->key, sizeof key);
            memcpy(nick, op->nick, sizeof nick);
            const char *r = op->has_ref ? memcpy(ref, op->ref, sizeof ref) : NULL;
            op_del(h, op);
            logged_in(h, p, now, key, nick, r, "logged in");
            return GW_OK;
        }
        if (status < 0)
            gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment",
                         ref_of(op));
        else
            gw_out_error(h, p, GW_R_KEY, "wrong nick or password", ref_of(op));
    }
    op_del(h, op);
    return GW_OK;
}

int gw_hub_set_secure(struct gw_hub *h, uint64_t pid, int secure)
{
    struct gw_part *p = gw_hub_part(h, pid);
    if (!p)
        return GW_ENOENT;
    p->secure = secure != 0;
    return GW_OK;
}

void gw_account_forget(struct gw_hub *h, struct gw_part *p)
{
    for (size_t i = h->nacct_ops; i-- > 0;)
        if (h->acct_ops[i].pid == p->pid)
            wipe(&h->acct_ops[i]); /* answered to nobody: op_find still finds it */
}

void gw_account_free(struct gw_hub *h)
{
    for (size_t i = 0; i < h->nacct_ops; i++)
        wipe(&h->acct_ops[i]);
    free(h->acct_ops);
    h->acct_ops = NULL;
    h->nacct_ops = 0;
}
