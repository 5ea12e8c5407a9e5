/*
 * gw_jwtlogin.c - a site's own login: a browser's hello that carries a
 * token the site signed (a JWT) logs it in to the account the token names,
 * made on first sight; and gateway administrators (--admin, a token's
 * admin claim, the account's role).
 *
 * The token is verified at once by the program (cfg.jwt_verify: the
 * signature with the one algorithm the key pins, exp, nbf, iss, aud); a
 * refused one gets 530 with the verifier's words and the welcome of a
 * guest. A good one names the account: the key of its nick claim, or of
 * its sub when it has no nick (553 when that is not a nick). The account
 * is asked of the store while the hello is held (as a session's is,
 * gw_account.c): found, it must be one a token made for the same sub
 * (its phc is GW_ACCOUNT_PHC_SITE + sub, compared whole: a token of
 * another sub, or a password account of that nick, gets 553); not found,
 * it is made, without a password, whatever --registration says (closed
 * registration means accounts come from the operator or the site). The
 * hello then goes on logged in, with the account's nick; the rooms claim
 * is joined after the welcome, like a join of each.
 *
 * No session is given for a token: the site's token is the browser's
 * credential, and its exp the login's end; the next hello brings a token
 * again.
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
#include "gw_room.h"
#include "gw_text.h"

/* What a hello's token came to (struct gw_jwtl.state). */
enum jwtl_state {
    JWTL_NONE = 0, /* not asked yet, or taken by the hello */
    JWTL_HELD,     /* the store is asked for the account */
    JWTL_GOOD,     /* logged in to key, as nick */
    JWTL_REFUSED,  /* code and msg say why */
};

/* A browser's token, from its hello's verification to its rooms' joins. */
struct gw_jwtl {
    enum jwtl_state state;
    int code;
    char msg[GW_NICK_MAX_BYTES + 160];
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    int admin;
    unsigned roles;
    uint64_t generation; /* the account's, as found or made */
    int rooms_due; /* the rooms claim is to be joined after the welcome */
    size_t n_rooms;
    char rooms[GW_JWT_ROOMS_MAX][GW_ROOM_NAME_MAX_BYTES + 1];
};

/* What a call to the store waits for. */
enum jwt_op_kind { JOP_FIND, JOP_CREATE };

/* A call to the store for a held hello: the participant by id (gone: the
 * answer is dropped), the account's key and nick, the token's sub. */
struct gw_jwt_op {
    struct gw_op_head o;
    enum jwt_op_kind kind;
    int finds; /* looked up so far (a create that lost a race looks again) */
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    char sub[GW_JWT_SUB_MAX_BYTES + 1];
};

/* The phc an account made by a token of sub holds. */
static void site_phc(const char *sub, char out[GW_ACCOUNT_PHC_MAX_BYTES + 1])
{
    snprintf(out, GW_ACCOUNT_PHC_MAX_BYTES + 1, "%s%s", GW_ACCOUNT_PHC_SITE, sub);
}

static void refuse(struct gw_jwtl *jl, int code, const char *msg)
{
    jl->state = JWTL_REFUSED;
    jl->code = code;
    snprintf(jl->msg, sizeof jl->msg, "%s", msg);
}

static struct gw_jwt_op *op_find(struct gw_hub *h, uint64_t tag)
{
    return gw_op_find(h->jwt_ops, h->njwt_ops, sizeof(*h->jwt_ops), tag);
}

static void op_del(struct gw_hub *h, struct gw_jwt_op *op)
{
    *op = h->jwt_ops[--h->njwt_ops];
}

int gw_jwtlogin_hello(struct gw_hub *h, struct gw_part *p, int64_t now, const char *token,
                      size_t token_len, const char *data, size_t len)
{
    if (p->jwtl && p->jwtl->state != JWTL_NONE)
        return 0; /* answered: the hello goes on */
    if (!p->jwtl && !(p->jwtl = calloc(1, sizeof *p->jwtl)))
        return 0; /* no memory: a guest, with nothing to say */
    struct gw_jwtl *jl = p->jwtl;
    memset(jl, 0, sizeof *jl);
    if (!h->cfg.jwt_verify || !h->cfg.accounts) {
        refuse(jl, GW_R_NOT_OFFERED, "this gateway takes no site tokens");
        return 0;
    }
    struct gw_token_claims c;
    char why[160];
    memset(&c, 0, sizeof c);
    snprintf(why, sizeof why, "the token is refused");
    if (h->cfg.jwt_verify(h->cfg.ctx, token, token_len, now + h->wall_offset, &c, why,
                          sizeof why) != 0) {
        refuse(jl, GW_R_KEY, why);
        return 0;
    }
    /* The account is the token's nick, or its sub when it names none. */
    const char *name = c.nick[0] ? c.nick : c.sub;
    char shown[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    int rc = gw_nick_norm(name, strlen(name), h->cfg.nick_max, shown, key);
    if (rc != GW_NICK_OK || strlen(key) > GW_ACCOUNT_KEY_MAX_BYTES) {
        char msg[sizeof jl->msg];
        snprintf(msg, sizeof msg, "%s: %s",
                 c.nick[0] ? "the token's nick cannot be used"
                           : "the token names no nick and its sub is not one",
                 rc != GW_NICK_OK ? gw_nick_strerror(rc) : "too long for an account");
        refuse(jl, GW_R_NAME, msg);
        return 0;
    }
    if (h->njwt_ops >= GW_JWT_LOGINS_MAX) {
        refuse(jl, GW_R_SHUTDOWN, "logins are busy: try again in a moment");
        return 0;
    }
    if (!h->jwt_ops && !(h->jwt_ops = calloc(GW_JWT_LOGINS_MAX, sizeof *h->jwt_ops))) {
        refuse(jl, GW_R_SHUTDOWN, "out of memory; try again later");
        return 0;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        refuse(jl, GW_R_SHUTDOWN, "out of memory; try again later");
        return 0;
    }
    memcpy(copy, data, len);
    struct gw_jwt_op *op = &h->jwt_ops[h->njwt_ops++];
    memset(op, 0, sizeof *op);
    gw_op_start(h, &op->o, p->pid, NULL);
    op->kind = JOP_FIND;
    op->finds = 1;
    snprintf(op->key, sizeof op->key, "%s", key);
    snprintf(op->nick, sizeof op->nick, "%s", shown);
    snprintf(op->sub, sizeof op->sub, "%s", c.sub);
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac->find || ac->find(ac->ctx, op->o.tag, op->key) != GW_STORE_PENDING) {
        op_del(h, op);
        free(copy);
        refuse(jl, GW_R_SHUTDOWN, "accounts cannot be read now: try again later");
        return 0;
    }
    jl->state = JWTL_HELD;
    jl->admin = c.admin;
    jl->n_rooms = c.n_rooms <= GW_JWT_ROOMS_MAX ? c.n_rooms : GW_JWT_ROOMS_MAX;
    for (size_t i = 0; i < jl->n_rooms; i++)
        snprintf(jl->rooms[i], sizeof jl->rooms[i], "%s", c.rooms[i]);
    p->hello_held = copy;
    p->hello_held_len = len;
    return 1;
}

/* The store's answer for op (of p): the account is p's, or p is refused,
 * or the store is asked again (1: op goes on, else 0: op is done). */
static int settle(struct gw_hub *h, struct gw_part *p, struct gw_jwt_op *op, int status,
                  const struct gw_account *a, int64_t now)
{
    struct gw_jwtl *jl = p->jwtl;
    const struct gw_accounts *ac = h->cfg.accounts;
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    site_phc(op->sub, phc);
    if (status == GW_STORE_DONE && op->kind == JOP_CREATE) {
        jl->state = JWTL_GOOD;
        snprintf(jl->key, sizeof jl->key, "%s", op->key);
        snprintf(jl->nick, sizeof jl->nick, "%s", op->nick);
        jl->roles = 0;
        jl->generation = 1;
        return 0;
    }
    if (status == GW_STORE_DONE && a) {
        /* The whole string: "jwt:ab" is not the account of sub "a". */
        if (a->phc && strcmp(a->phc, phc) == 0) {
            jl->state = JWTL_GOOD;
            snprintf(jl->key, sizeof jl->key, "%s", a->key);
            snprintf(jl->nick, sizeof jl->nick, "%s", a->nick);
            jl->roles = a->roles;
            jl->generation = a->generation;
        } else if (a->phc && !strncmp(a->phc, GW_ACCOUNT_PHC_SITE, GW_ACCOUNT_PHC_SITE_LEN)) {
            refuse(jl, GW_R_NAME, "this nick belongs to another account");
        } else {
            refuse(jl, GW_R_NAME,
                   "this nick is registered with a password: a site's token cannot log in "
                   "to it");
        }
        return 0;
    }
    if ((status == GW_ACCOUNT_NONE && op->kind == JOP_FIND) ||
        (status == GW_ACCOUNT_EXISTS && op->kind == JOP_CREATE && op->finds < 2)) {
        /* Made on first sight; made meanwhile by someone else (another
         * gateway, another tab with the same token): looked at again. */
        int rc;
        if (status == GW_ACCOUNT_NONE) {
            struct gw_account na = {.key = op->key,
                                    .nick = op->nick,
                                    .phc = phc,
                                    .roles = 0,
                                    .generation = 1,
                                    .created_ms = now + h->wall_offset};
            op->kind = JOP_CREATE;
            rc = ac->create ? ac->create(ac->ctx, op->o.tag, &na) : GW_STORE_ENOTSUP;
        } else {
            op->kind = JOP_FIND;
            op->finds++;
            rc = ac->find(ac->ctx, op->o.tag, op->key);
        }
        if (rc == GW_STORE_PENDING)
            return 1;
    }
    refuse(jl, GW_R_SHUTDOWN, "the account cannot be read or made now: try again later");
    return 0;
}

int gw_jwtlogin_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                       int64_t now)
{
    struct gw_jwt_op *op = op_find(h, tag);
    if (!op)
        return GW_ENOENT;
    struct gw_part *p = gw_hub_part(h, op->o.pid);
    if (!p || !p->jwtl || p->jwtl->state != JWTL_HELD) {
        op_del(h, op);
        return GW_ENOENT;
    }
    if (settle(h, p, op, status, a, now))
        return GW_OK;
    op_del(h, op);
    gw_web_hello_go_on(h, p, now); /* then what came after it */
    return GW_OK;
}

const char *gw_jwtlogin_login(struct gw_hub *h, struct gw_part *p, int64_t now, const char *ref)
{
    struct gw_jwtl *jl = p->jwtl;
    if (!jl || (jl->state != JWTL_GOOD && jl->state != JWTL_REFUSED))
        return NULL;
    enum jwtl_state st = jl->state;
    jl->state = JWTL_NONE;
    if (st == JWTL_REFUSED) {
        h->metrics.rejections[GW_REJ_JWT]++;
        gw_out_error(h, p, jl->code, jl->msg, ref);
        return NULL;
    }
    if (gw_account_mark(p, jl->key, jl->generation) != 0) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "out of memory; try again later", ref);
        return NULL;
    }
    gw_names_add(h, jl->key);
    gw_account_claim(h, jl->key, p, now);
    gw_kept_fetch(h, p); /* answered after the welcome */
    p->acct_roles = jl->roles;
    p->admin_claim = jl->admin;
    gw_admin_refresh(h, p);
    jl->rooms_due = 1;
    return jl->nick;
}

void gw_jwtlogin_rooms(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    struct gw_jwtl *jl = p->jwtl;
    if (!jl || !jl->rooms_due)
        return;
    jl->rooms_due = 0;
    if (p->proto != GW_PROTO_V2)
        return; /* wintalk.v1 is in #lobby only */
    for (size_t i = 0; i < jl->n_rooms && !p->closing; i++) {
        size_t len = strlen(jl->rooms[i]);
        struct gw_room *r = gw_rooms_find(&h->rooms, jl->rooms[i], len);
        if (r && gw_member_of(p, r))
            continue; /* the hello named it: in it already */
        gw_member_web_join(h, p, now, jl->rooms[i], len, 0, NULL);
    }
}

int gw_admin_listed(const struct gw_hub *h, const char *key)
{
    for (size_t i = 0; i < h->cfg.nadmins; i++) {
        const char *name = h->cfg.admins[i];
        char k[GW_NICK_KEY_MAX_BYTES + 1];
        if (name && gw_nick_norm(name, strlen(name), 0, NULL, k) == GW_NICK_OK &&
            strcmp(k, key) == 0)
            return 1;
    }
    return 0;
}

void gw_admin_refresh(struct gw_hub *h, struct gw_part *p)
{
    if (!p->account[0]) {
        p->admin = p->admin_claim = 0;
        p->acct_roles = 0;
        return;
    }
    p->admin =
        p->admin_claim || (p->acct_roles & GW_ROLE_ADMIN) != 0 || gw_admin_listed(h, p->account);
}

void gw_admin_whoami(struct gw_hub *h, struct gw_part *p, const char *ref)
{
    (void)ref;
    char msg[GW_NICK_MAX_BYTES + GW_NICK_KEY_MAX_BYTES + 96];
    const char *admin = p->admin ? ", a gateway administrator" : "";
    if (!p->account[0])
        snprintf(msg, sizeof msg, "you are %s, a guest (not logged in)%s", p->nick, admin);
    else
        snprintf(msg, sizeof msg, "you are %s, logged in to the account %s%s", p->nick, p->account,
                 admin);
    gw_out_info(h, p, GW_R_OK, msg);
}

void gw_jwtlogin_free(struct gw_hub *h)
{
    free(h->jwt_ops);
    h->jwt_ops = NULL;
    h->njwt_ops = 0;
}
