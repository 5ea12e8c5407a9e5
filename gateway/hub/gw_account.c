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
#include <openssl/sha.h>

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
    OP_SESSION_KEEP,    /* a browser's new session kept: then its account event */
    OP_SESSION_FIND,    /* a hello's session: then the hello */
    OP_SESSION_DROP,    /* a browser's session ended (logout): nobody waits */
    OP_ALL_FIND,        /* logout everywhere: the account, then its update */
    OP_ALL_UPDATE,      /* the generation moved on: every session over */
    OP_PASSWORD_FIND,   /* a new password: the account, then verify the old */
    OP_PASSWORD_VERIFY, /* the old one checked: then hash the new */
    OP_PASSWORD_HASH,   /* the new one hashed: then update */
    OP_PASSWORD_UPDATE, /* kept: logged in anew (a new session for a browser) */
};

struct gw_acct_op {
    struct gw_op_head o;
    enum op_kind kind;
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    char pw[GW_PASSWORD_MAX_BYTES + 1];
    size_t pw_len;
    char pw_new[GW_PASSWORD_MAX_BYTES + 1]; /* a new password, while the old is checked */
    size_t pw_new_len;
    int exists;          /* identify: the account was found */
    /* The account as found, for an update (password, logout everywhere). */
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    unsigned roles;
    uint64_t generation;
    /* A browser's session: the token to give it, its digest kept. */
    char token[GW_TOKEN_HEX_LEN + 1];
    char digest[GW_DIGEST_HEX_LEN + 1];
    /* A login's try, taken when it was asked (login_take): given back when
     * the op ends unless the password was wrong (tried is then 0). */
    int tried;
    uint64_t addr;
};

static struct gw_sess *sess_of(struct gw_part *p);

/* A bucket of tries: burst of them, one more every refill_ms. */
struct limit {
    int64_t burst, refill_ms;
};

static const struct limit fails_name = {GW_LOGIN_FAILS_BURST, GW_LOGIN_FAIL_REFILL_MS};
static const struct limit fails_conn = {GW_LOGIN_FAILS_CONN_BURST, GW_LOGIN_FAIL_REFILL_MS};
static const struct limit fails_addr = {GW_LOGIN_FAILS_ADDR_BURST, GW_LOGIN_FAIL_REFILL_MS};

/* The tries of one account name ("name"), one address ("@" and its hash)
 * or one address's registrations ("+" and its hash): a bucket, in
 * thousandths. */
struct gw_login_fails {
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    struct limit lim;
    int64_t tokens, at;
};

/* A bucket as of now (a new one, at 0, is full). */
static int64_t tries_now(struct limit lim, int64_t tokens, int64_t at, int64_t now)
{
    if (!at)
        return lim.burst * 1000;
    int64_t t = tokens + (now > at ? (now - at) * 1000 / lim.refill_ms : 0);
    return t > lim.burst * 1000 ? lim.burst * 1000 : t;
}

/* The bucket of key, or NULL; with make, one is made (room taken from the
 * one with the most tries left, as a share of its burst, when the table is
 * full: a name under attack keeps its count). */
static struct gw_login_fails *fails_of(struct gw_hub *h, const char *key, struct limit lim,
                                       int make, int64_t now)
{
    for (size_t i = 0; i < h->nfails; i++)
        if (!strcmp(h->fails[i].key, key))
            return &h->fails[i];
    if (!make)
        return NULL;
    if (!h->fails) {
        h->fails = calloc(GW_LOGIN_FAIL_KEYS, sizeof(*h->fails));
        if (!h->fails)
            return NULL;
    }
    struct gw_login_fails *f = NULL;
    if (h->nfails < GW_LOGIN_FAIL_KEYS) {
        f = &h->fails[h->nfails++];
    } else {
        int64_t most = -1;
        for (size_t i = 0; i < h->nfails; i++) {
            struct gw_login_fails *g = &h->fails[i];
            int64_t t = tries_now(g->lim, g->tokens, g->at, now) / g->lim.burst;
            if (t > most) {
                most = t;
                f = g;
            }
        }
    }
    snprintf(f->key, sizeof f->key, "%s", key);
    f->lim = lim;
    f->tokens = 0;
    f->at = 0;
    return f;
}

/* Whether the bucket of key has a try left now. */
static int has_try(struct gw_hub *h, const char *key, struct limit lim, int64_t now)
{
    const struct gw_login_fails *f = fails_of(h, key, lim, 0, now);
    return !f || tries_now(lim, f->tokens, f->at, now) >= 1000;
}

/* One try less in the bucket of key. */
static void take_try(struct gw_hub *h, const char *key, struct limit lim, int64_t now)
{
    struct gw_login_fails *f = fails_of(h, key, lim, 1, now);
    if (f) {
        f->tokens = tries_now(lim, f->tokens, f->at, now) - 1000;
        f->at = now;
    }
}

/* The key of p's address's bucket (prefix '@' or '+'), or 0 when p's
 * address is not known (behind a proxy: the proxy limits per address). */
static int addr_key(const struct gw_part *p, char prefix, char out[24])
{
    if (!p->addr)
        return 0;
    snprintf(out, 24, "%c%016llx", prefix, (unsigned long long)p->addr);
    return 1;
}

/* Whether p may try to log in to key now; if not, it is told (429). */
static int login_allowed(struct gw_hub *h, struct gw_part *p, const char *key, int64_t now,
                         const char *ref)
{
    char ak[24];
    int ok = has_try(h, key, fails_name, now) &&
             (!addr_key(p, '@', ak) || has_try(h, ak, fails_addr, now)) &&
             (!p->sess || tries_now(fails_conn, p->sess->fail_tokens, p->sess->fail_at, now) >=
                              1000);
    if (!ok)
        gw_out_error(h, p, GW_R_SLOW_DOWN, "too many failed logins: try again in a minute", ref);
    return ok;
}

/* A try back in the bucket of key, if there is one. */
static void give_try(struct gw_hub *h, const char *key, struct limit lim)
{
    struct gw_login_fails *f = fails_of(h, key, lim, 0, 0);
    if (f && f->at) {
        f->tokens += 1000;
        if (f->tokens > lim.burst * 1000)
            f->tokens = lim.burst * 1000;
    }
}

/* A login to key is asked: one try less, now, for the name, p's address
 * and p (so that a burst of tries at once counts as many: the op gives
 * them back when it ends, unless its password was wrong). */
static void login_take(struct gw_hub *h, struct gw_part *p, struct gw_acct_op *op,
                       const char *key, int64_t now)
{
    char ak[24];
    take_try(h, key, fails_name, now);
    if (addr_key(p, '@', ak))
        take_try(h, ak, fails_addr, now);
    struct gw_sess *ss = sess_of(p);
    if (ss) {
        ss->fail_tokens = tries_now(fails_conn, ss->fail_tokens, ss->fail_at, now) - 1000;
        ss->fail_at = now;
    }
    op->tried = 1;
    op->addr = p->addr;
}

/* The try of op given back (it was not a wrong password). */
static void login_refund(struct gw_hub *h, const struct gw_acct_op *op)
{
    char ak[24];
    give_try(h, op->key, fails_name);
    if (op->addr) {
        snprintf(ak, sizeof ak, "@%016llx", (unsigned long long)op->addr);
        give_try(h, ak, fails_addr);
    }
    struct gw_part *p = gw_hub_part(h, op->o.pid);
    if (p && p->sess && p->sess->fail_at) {
        p->sess->fail_tokens += 1000;
        if (p->sess->fail_tokens > fails_conn.burst * 1000)
            p->sess->fail_tokens = fails_conn.burst * 1000;
    }
}

/* A PHC string of the hasher's form that no password matches in practice
 * (its hash is of a password nobody knows): a login to an account that
 * does not exist is checked against it, taking the same time. */
static const char nobody_phc[] =
    "$argon2id$v=19$m=19456,t=2,p=1$bm9ib2R5LWF0LWFsbA$"
    "9s8QkZ3mO0l7jZk8lWc1n1jv3lqQd8c1dYhH2yYwV4I";

static void wipe(struct gw_acct_op *op)
{
    OPENSSL_cleanse(op->pw, sizeof op->pw);
    OPENSSL_cleanse(op->pw_new, sizeof op->pw_new);
    OPENSSL_cleanse(op->token, sizeof op->token);
    op->pw_len = op->pw_new_len = 0;
}

static const char hexdig[] = "0123456789abcdef";

/* The digest a session token is kept under: SHA-256, in lowercase hex. */
static void session_digest(const char *token, size_t len, char out[GW_DIGEST_HEX_LEN + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, len, d);
    gw_digest_hex(d, out);
}

/* p's session state, made on first use; NULL when out of memory. */
static struct gw_sess *sess_of(struct gw_part *p)
{
    if (!p->sess)
        p->sess = calloc(1, sizeof(*p->sess));
    return p->sess;
}

void gw_account_public_name(const char *key, char out[GW_IDENT_PUBLIC_LEN + 1])
{
    static const char domain[] = "wintalk.account:";
    unsigned char in[sizeof domain - 1 + GW_NICK_KEY_MAX_BYTES], d[SHA256_DIGEST_LENGTH];
    size_t n = strnlen(key, GW_NICK_KEY_MAX_BYTES);
    memcpy(in, domain, sizeof domain - 1);
    memcpy(in + sizeof domain - 1, key, n);
    SHA256(in, sizeof domain - 1 + n, d);
    for (size_t i = 0; i < GW_IDENT_PUBLIC_LEN / 2; i++) {
        out[2 * i] = hexdig[d[i] >> 4];
        out[2 * i + 1] = hexdig[d[i] & 15];
    }
    out[GW_IDENT_PUBLIC_LEN] = '\0';
}

int gw_account_mark(struct gw_part *p, const char *key, uint64_t generation)
{
    struct gw_sess *ss = sess_of(p);
    if (!ss)
        return -1;
    if (key != ss->account) /* a session found put it there already */
        snprintf(ss->account, sizeof ss->account, "%s", key);
    p->account = ss->account;
    ss->generation = generation;
    gw_account_public_name(key, ss->public_name);
    return 0;
}

/* The words a connection logged out for another's doing is told. */
static const char *moved_words(int why)
{
    switch (why) {
    case GW_MOVED_PASSWORD:
        return "logged out: the account's password was changed";
    case GW_MOVED_REMOVED:
        return "logged out: the account was removed";
    default:
        return "logged out: every session of the account was ended";
    }
}

/* The account of key has generation now: every gateway on the store is
 * told (the engine's moved), so that its connections logged in under an
 * older one end at once. One that misses it finds out when it looks at
 * its accounts again (gw_generation.c). */
static void tell_moved(struct gw_hub *h, const char *key, uint64_t generation, int why)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (ac->moved)
        (void)ac->moved(ac->ctx, key, generation, why);
}

/* p changed the account's password: p and its browser's other tabs,
 * logged in to key, go on under the new generation (their session is
 * the new one). */
static void renew(struct gw_part *p, const char *key, uint64_t generation)
{
    if (p->sess && !strcmp(p->account, key))
        p->sess->generation = generation;
    for (struct gw_part *t = p->ident ? p->ident->first_conn : NULL; t; t = t->ident_next)
        if (t->sess && !strcmp(t->account, key))
            t->sess->generation = generation;
}

/* Tell a browser it is logged in as nick (with a session token to keep,
 * or none) or out (nick NULL). */
static void tell_account(struct gw_hub *h, struct gw_part *p, const char *nick,
                         const char *session, const char *ref)
{
    if (p->via != GW_VIA_WEB)
        return;
    struct gw_buf *b = gw_json_account(nick, session, ref, h->cfg.headroom);
    if (b) {
        gw_out_push_web(h, p, b);
        gw_buf_unref(b);
    }
}

static const char *ref_of(const struct gw_acct_op *op)
{
    return gw_op_ref(&op->o);
}

void gw_op_start(struct gw_hub *h, struct gw_op_head *o, uint64_t pid, const char *ref)
{
    o->tag = ++h->next_acct_tag;
    o->pid = pid;
    o->has_ref = ref != NULL;
    if (ref)
        snprintf(o->ref, sizeof o->ref, "%s", ref);
}

const char *gw_op_ref(const struct gw_op_head *o)
{
    return o->has_ref ? o->ref : NULL;
}

void *gw_op_find(void *ops, size_t n, size_t size, uint64_t tag)
{
    for (size_t i = 0; i < n; i++) {
        struct gw_op_head *o = (struct gw_op_head *)((char *)ops + i * size);
        if (o->tag == tag)
            return o;
    }
    return NULL;
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
    gw_op_start(h, &op->o, p->pid, ref);
    op->kind = kind;
    return op;
}

static void op_del(struct gw_hub *h, struct gw_acct_op *op)
{
    if (op->tried)
        login_refund(h, op);
    wipe(op);
    *op = h->acct_ops[--h->nacct_ops];
}

/* What an op's next step needs once the op is gone (op_take). */
struct op_left {
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    char ref_buf[GW_REF_MAX_BYTES * 6 + 3];
    const char *ref;
    uint64_t generation;
};

/* End op, keeping in *l what comes next needs (its slot may be reused by
 * what comes next). */
static void op_take(struct gw_hub *h, struct gw_acct_op *op, struct op_left *l)
{
    memcpy(l->key, op->key, sizeof l->key);
    memcpy(l->nick, op->nick, sizeof l->nick);
    l->ref = op->o.has_ref ? memcpy(l->ref_buf, op->o.ref, sizeof l->ref_buf) : NULL;
    l->generation = op->generation;
    op_del(h, op);
}

static struct gw_acct_op *op_find(struct gw_hub *h, uint64_t tag)
{
    return gw_op_find(h->acct_ops, h->nacct_ops, sizeof(*h->acct_ops), tag);
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
    char ak[24];
    unsigned per_hour = h->cfg.registrations_per_hour;
    const struct limit registrations = {per_hour, per_hour ? 3600000 / per_hour : 1};
    if (per_hour && addr_key(p, '+', ak)) {
        if (!has_try(h, ak, registrations, now)) {
            gw_out_error(h, p, GW_R_SLOW_DOWN,
                         "too many registrations from your address: try again later", ref);
            return;
        }
        take_try(h, ak, registrations, now);
    }
    struct gw_acct_op *op = op_new(h, p, OP_REGISTER_HASH, ref);
    if (!op)
        return;
    snprintf(op->key, sizeof op->key, "%s", p->nick_key);
    snprintf(op->nick, sizeof op->nick, "%s", p->nick);
    if (h->cfg.hash(h->cfg.ctx, op->o.tag, pw, len) != 0) {
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
    if (!login_allowed(h, p, key, now, ref))
        return;
    struct gw_acct_op *op = op_new(h, p, OP_IDENTIFY_FIND, ref);
    if (!op)
        return;
    snprintf(op->key, sizeof op->key, "%s", key);
    login_take(h, p, op, key, now);
    memcpy(op->pw, pw, len);
    op->pw_len = len;
    const struct gw_accounts *ac = h->cfg.accounts;
    if (ac->find(ac->ctx, op->o.tag, op->key) != GW_STORE_PENDING) {
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

/* A browser logged in: a new session (a random token, kept as its digest)
 * for it to come back without its password; the account event follows
 * when it is kept (without a session when it cannot be). */
static void start_session(struct gw_hub *h, struct gw_part *p, int64_t now, const char *key,
                          const char *nick, uint64_t generation, const char *ref)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    unsigned char raw[GW_TOKEN_BYTES];
    struct gw_acct_op *op = NULL;
    if (ac->session_keep && h->cfg.random && h->cfg.random(h->cfg.ctx, raw, sizeof raw) == 0 &&
        h->nacct_ops < GW_ACCOUNT_OPS_MAX)
        op = op_new(h, p, OP_SESSION_KEEP, ref);
    if (op) {
        for (size_t i = 0; i < GW_TOKEN_BYTES; i++) {
            op->token[2 * i] = hexdig[raw[i] >> 4];
            op->token[2 * i + 1] = hexdig[raw[i] & 15];
        }
        op->token[GW_TOKEN_HEX_LEN] = '\0';
        OPENSSL_cleanse(raw, sizeof raw);
        session_digest(op->token, GW_TOKEN_HEX_LEN, op->digest);
        snprintf(op->key, sizeof op->key, "%s", key);
        snprintf(op->nick, sizeof op->nick, "%s", nick);
        unsigned days = h->cfg.session_days ? h->cfg.session_days : GW_SESSION_DAYS_DEFAULT;
        int64_t ends = now + h->wall_offset + (int64_t)days * 86400000;
        if (ac->session_keep(ac->ctx, op->o.tag, op->digest, key, generation, ends) ==
            GW_STORE_PENDING)
            return;
        op_del(h, op);
    }
    tell_account(h, p, nick, NULL, ref);
    gw_out_error(h, p, GW_R_SHUTDOWN,
                 "logged in, but no session could be kept: a reload will ask for the password",
                 NULL);
}

void gw_account_login(struct gw_hub *h, struct gw_part *p, int64_t now, const char *key,
                      const char *nick, uint64_t generation, const char *ref, const char *how)
{
    if (gw_account_mark(p, key, generation) != 0) {
        gw_out_error(h, p, GW_R_SHUTDOWN, "out of memory; try again later", ref);
        return;
    }
    p->admin_claim = 0; /* a token's claim is not a password's */
    gw_admin_refresh(h, p);
    for (struct gw_part *q = p->ident ? p->ident->first_conn : NULL; q; q = q->ident_next) {
        (void)gw_account_mark(q, key, generation); /* a tab that cannot be: a guest */
        q->acct_roles = p->acct_roles;
        q->admin_claim = 0;
        gw_admin_refresh(h, q);
    }
    h->beat_at = 0; /* the other gateways are told at the next tick */
    /* The rooms its connections are in now become the account's. */
    for (unsigned i = 0; i < p->nmemb; i++)
        gw_kept_room(h, p, p->memb[i].room, 1);
    for (struct gw_part *q = p->ident ? p->ident->first_conn : NULL; q; q = q->ident_next)
        for (unsigned i = 0; q != p && i < q->nmemb; i++)
            gw_kept_room(h, q, q->memb[i].room, 1);
    gw_names_add(h, key);
    gw_account_claim(h, key, p, now);
    (void)gw_hub_change_nick(h, p, now, nick, strlen(nick), ref);
    if (p->via == GW_VIA_WEB) {
        start_session(h, p, now, key, nick, generation, ref);
    } else {
        char msg[GW_NICK_MAX_BYTES + 64];
        snprintf(msg, sizeof msg, "%s as %s", how, nick);
        gw_out_info(h, p, GW_R_OK, msg);
    }
    gw_kept_fetch(h, p);
}

/* q, logged in to an account, is a guest again (with its browser's other
 * tabs), told so: with ref when it asked, else without. */
static void logged_out(struct gw_hub *h, struct gw_part *q, int64_t now, const char *ref,
                       const char *why)
{
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    snprintf(key, sizeof key, "%s", q->account);
    for (struct gw_part *t = q->ident ? q->ident->first_conn : NULL; t; t = t->ident_next)
        if (t != q && t->account[0]) {
            t->account = "";
            gw_admin_refresh(h, t);
            if (t->sess)
                t->sess->digest[0] = '\0';
            tell_account(h, t, NULL, NULL, NULL);
        }
    q->account = "";
    gw_admin_refresh(h, q);
    if (q->sess)
        q->sess->digest[0] = '\0';
    char old[GW_NICK_MAX_BYTES + 1];
    snprintf(old, sizeof old, "%s", q->nick);
    if (q->ident)
        q->ident->nick[0] = '\0'; /* its next visit is a guest's */
    gw_hub_guest_name(h, q, now);
    gw_hub_announce_nick(h, q, old, now);
    for (struct gw_part *t = q->ident ? q->ident->first_conn : NULL; t; t = t->ident_next)
        if (t != q && t->joined && strcmp(t->nick_key, q->nick_key) != 0) {
            char told[GW_NICK_MAX_BYTES + 1];
            snprintf(told, sizeof told, "%s", t->nick);
            gw_hub_guest_name(h, t, now);
            gw_hub_announce_nick(h, t, told, now);
        }
    /* The account stays a member of the rooms: away where no connection
     * of it is left (the lists and /who of this gateway say so). */
    for (unsigned i = 0; key[0] && i < q->nmemb; i++)
        if (!gw_away_here(h, key, q->memb[i].room, 0))
            gw_away_add(h, q->memb[i].room, key, old);
    if (q->via == GW_VIA_WEB) {
        tell_account(h, q, NULL, NULL, ref);
        return;
    }
    char msg[GW_NICK_MAX_BYTES + 96];
    snprintf(msg, sizeof msg, "%s; you are %s", why, q->nick);
    gw_out_info(h, q, GW_R_OK, msg);
}

void gw_account_logout(struct gw_hub *h, struct gw_part *p, int64_t now, int all,
                       const char *ref)
{
    if (!p->account[0]) {
        gw_out_error(h, p, GW_R_SEQUENCE, "you are not logged in", ref);
        return;
    }
    const struct gw_accounts *ac = h->cfg.accounts;
    if (all) {
        /* The account's generation moves on: every session is over; every
         * connection logged in to it here is logged out when it is kept. */
        struct gw_acct_op *op = op_new(h, p, OP_ALL_FIND, ref);
        if (!op)
            return;
        snprintf(op->key, sizeof op->key, "%s", p->account);
        if (ac->find(ac->ctx, op->o.tag, op->key) != GW_STORE_PENDING) {
            op_del(h, op);
            gw_out_error(h, p, GW_R_SHUTDOWN, "accounts cannot be read now: try again later",
                         ref);
        }
        return;
    }
    /* This browser's session ends (its tabs share it); nobody waits. */
    if (p->sess && p->sess->digest[0] && ac->session_drop) {
        struct gw_acct_op *op = h->nacct_ops < GW_ACCOUNT_OPS_MAX
                                    ? op_new(h, p, OP_SESSION_DROP, NULL)
                                    : NULL;
        if (op && ac->session_drop(ac->ctx, op->o.tag, p->sess->digest) != GW_STORE_PENDING)
            op_del(h, op);
    }
    logged_out(h, p, now, ref, "logged out");
}

int gw_account_nick_free(struct gw_hub *h, struct gw_part *p, const char *given, size_t len,
                         const char *ref)
{
    char shown[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    if (!h->cfg.accounts || gw_nick_norm(given, len, h->cfg.nick_max, shown, key) != 0 ||
        !strcmp(key, p->account))
        return 1;
    char msg[GW_NICK_MAX_BYTES * 2 + 96];
    if (p->account[0]) {
        /* Logged in, one nick: the account's, on every connection. */
        snprintf(msg, sizeof msg, "you are logged in as %s: your nick is your account's (log out "
                 "to take another)", p->nick);
        gw_out_error(h, p, GW_R_NAME, msg, ref);
        return 0;
    }
    if (!gw_names_has(h, key))
        return 1;
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

void gw_account_end_all(struct gw_hub *h, const char *key, struct gw_part *asker, int64_t now,
                        const char *ref, const struct gw_part *keep, const char *why)
{
    /* Logging one out renames it, which changes nothing of who else is
     * logged in: a walk over the participants, each one at most once. */
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *q = h->parts[i];
        if (q->closing || !q->account[0] || strcmp(q->account, key) != 0)
            continue;
        if (keep && (q == keep || (q->ident && q->ident == keep->ident)))
            continue;
        logged_out(h, q, now, q == asker ? ref : NULL, why);
    }
}

size_t gw_account_end_older(struct gw_hub *h, const char *key, uint64_t generation, int why,
                            int64_t now)
{
    size_t n = 0;
    /* As gw_account_end_all: each one at most once. A tab logged out with
     * its browser is then not logged in any more. */
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *q = h->parts[i];
        if (q->closing || !q->account[0] || strcmp(q->account, key) != 0)
            continue;
        if (q->sess && q->sess->generation >= generation)
            continue;
        logged_out(h, q, now, NULL, moved_words(why));
        n++;
    }
    return n;
}

void gw_account_password(struct gw_hub *h, struct gw_part *p, int64_t now, const char *old,
                         size_t old_len, const char *pw, size_t len, const char *ref)
{
    if (!password_ok(h, p, len, ref) || !password_ok(h, p, old_len, ref))
        return;
    if (!p->account[0]) {
        gw_out_error(h, p, GW_R_SEQUENCE, "log in first", ref);
        return;
    }
    if (!login_allowed(h, p, p->account, now, ref))
        return;
    struct gw_acct_op *op = op_new(h, p, OP_PASSWORD_FIND, ref);
    if (!op)
        return;
    snprintf(op->key, sizeof op->key, "%s", p->account);
    login_take(h, p, op, op->key, now);
    memcpy(op->pw, old, old_len);
    op->pw_len = old_len;
    memcpy(op->pw_new, pw, len);
    op->pw_new_len = len;
    const struct gw_accounts *ac = h->cfg.accounts;
    if (ac->find(ac->ctx, op->o.tag, op->key) != GW_STORE_PENDING) {
        op_del(h, op);
        gw_out_error(h, p, GW_R_SHUTDOWN, "accounts cannot be read now: try again later", ref);
    }
}

int gw_account_hello_session(struct gw_hub *h, struct gw_part *p, int64_t now,
                             const char *session, size_t session_len, const char *data,
                             size_t len)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    struct gw_sess *ss = sess_of(p);
    if (!ss || ss->hello)
        return 0; /* answered already (or no memory: a guest) */
    if (!ac || !ac->session_find || session_len != GW_TOKEN_HEX_LEN ||
        strspn(session, hexdig) != session_len) {
        ss->hello = ac ? 2 : 4; /* not one of ours: over; no accounts: ignored */
        return 0;
    }
    struct gw_acct_op *op = h->nacct_ops < GW_ACCOUNT_OPS_MAX
                                ? op_new(h, p, OP_SESSION_FIND, NULL) : NULL;
    char *copy = op ? malloc(len ? len : 1) : NULL;
    if (!copy) {
        if (op)
            op_del(h, op);
        ss->hello = 3;
        return 0;
    }
    memcpy(copy, data, len);
    session_digest(session, session_len, op->digest);
    if (ac->session_find(ac->ctx, op->o.tag, op->digest, now + h->wall_offset) !=
        GW_STORE_PENDING) {
        op_del(h, op);
        free(copy);
        ss->hello = 3;
        return 0;
    }
    p->hello_held = copy;
    p->hello_held_len = len;
    return 1;
}

const char *gw_account_hello_login(struct gw_hub *h, struct gw_part *p, int64_t now,
                                   const char *ref)
{
    struct gw_sess *ss = p->sess;
    if (!ss || !ss->hello)
        return NULL;
    int st = ss->hello;
    ss->hello = 0;
    if (st == 1) {
        (void)gw_account_mark(p, ss->account, ss->generation); /* ss is there: cannot fail */
        p->acct_roles = ss->roles;
        gw_admin_refresh(h, p);
        gw_names_add(h, ss->account);
        gw_account_claim(h, ss->account, p, now);
        gw_kept_fetch(h, p); /* answered after the welcome */
        return ss->nick;
    }
    ss->digest[0] = '\0';
    if (st == 2)
        gw_out_error(h, p, GW_R_KEY, "your session is over: log in again", NULL);
    else if (st == 3)
        gw_out_error(h, p, GW_R_SHUTDOWN,
                     "your session cannot be checked now: log in again, or reload later", NULL);
    (void)ref;
    return NULL;
}

int gw_hub_account_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                          int64_t now)
{
    struct gw_acct_op *op = op_find(h, tag);
    if (!op)
    {
        /* A site's token's, a look at a logged-in account (gw_generation.c),
         * or a write of what an account keeps, or none. */
        int rc = gw_jwtlogin_answer(h, tag, status, a, now);
        if (rc == GW_ENOENT)
            rc = gw_generation_answer(h, tag, status, a, now);
        if (rc == GW_ENOENT)
            rc = gw_kept_answer(h, tag, status, now);
        return rc == GW_ENOENT ? gw_away_answer(h, tag, status, a) : rc;
    }
    struct gw_part *p = gw_hub_part(h, op->o.pid);
    if (!p) {
        op_del(h, op);
        return GW_ENOENT;
    }
    switch (op->kind) {
    case OP_REGISTER_CREATE:
        if (status == GW_STORE_DONE) {
            struct op_left l;
            op_take(h, op, &l);
            gw_account_login(h, p, now, l.key, l.nick, 1, l.ref, "registered and logged in");
            return GW_OK;
        }
        gw_out_error(h, p, status == GW_ACCOUNT_EXISTS ? GW_R_NAME : GW_R_SHUTDOWN,
                     status == GW_ACCOUNT_EXISTS ? "this nick is registered already"
                                                 : "the account could not be kept: try again",
                     ref_of(op));
        break;
    case OP_IDENTIFY_FIND: {
        const char *phc = nobody_phc;
        /* An account a site's token made has no password: a login to it
         * is checked against nothing, as one to no account. */
        if (status == GW_STORE_DONE && a && a->phc && a->phc[0] &&
            strncmp(a->phc, GW_ACCOUNT_PHC_SITE, GW_ACCOUNT_PHC_SITE_LEN) != 0) {
            phc = a->phc;
            op->exists = 1;
            op->roles = a->roles;
            op->generation = a->generation;
            snprintf(op->nick, sizeof op->nick, "%s", a->nick);
        } else if (status != GW_STORE_DONE && status != GW_ACCOUNT_NONE) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "accounts cannot be read now: try again later",
                         ref_of(op));
            break;
        }
        op->kind = OP_IDENTIFY_VERIFY;
        if (h->cfg.verify(h->cfg.ctx, op->o.tag, phc, op->pw, op->pw_len) != 0) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment",
                         ref_of(op));
            break;
        }
        wipe(op);
        return GW_OK;
    }
    case OP_SESSION_KEEP:
        if (status == GW_STORE_DONE && p->account[0] && !strcmp(p->account, op->key)) {
            struct gw_sess *ss = sess_of(p);
            if (ss)
                memcpy(ss->digest, op->digest, sizeof ss->digest);
            tell_account(h, p, op->nick, op->token, ref_of(op));
        } else if (p->account[0]) {
            tell_account(h, p, op->nick, NULL, ref_of(op));
            gw_out_error(h, p, GW_R_SHUTDOWN,
                         "logged in, but no session could be kept: a reload will ask for the "
                         "password",
                         NULL);
        }
        break;
    case OP_SESSION_FIND: {
        struct gw_sess *ss = sess_of(p);
        if (ss) {
            ss->hello = status == GW_STORE_DONE && a ? 1 : status == GW_ACCOUNT_NONE ? 2 : 3;
            if (ss->hello == 1) {
                snprintf(ss->account, sizeof ss->account, "%s", a->key); /* not marked yet */
                snprintf(ss->nick, sizeof ss->nick, "%s", a->nick);
                ss->roles = a->roles;
                ss->generation = a->generation;
                memcpy(ss->digest, op->digest, sizeof ss->digest);
            }
        }
        op_del(h, op);
        gw_web_hello_go_on(h, p, now);
        return GW_OK;
    }
    case OP_ALL_FIND:
        if (status != GW_STORE_DONE || !a) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the account cannot be read now: try again later",
                         ref_of(op));
            break;
        } else {
            struct gw_account up = {.key = a->key, .nick = a->nick, .phc = a->phc,
                                    .roles = a->roles, .generation = a->generation + 1};
            op->generation = up.generation;
            op->kind = OP_ALL_UPDATE;
            if (h->cfg.accounts->update(h->cfg.accounts->ctx, op->o.tag, &up) == GW_STORE_PENDING)
                return GW_OK;
            gw_out_error(h, p, GW_R_SHUTDOWN, "the account cannot be changed now: try again later",
                         ref_of(op));
        }
        break;
    case OP_ALL_UPDATE:
        if (status != GW_STORE_DONE) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the account cannot be changed now: try again later",
                         ref_of(op));
            break;
        } else {
            struct op_left l;
            op_take(h, op, &l);
            gw_account_end_all(h, l.key, p, now, l.ref, NULL, moved_words(GW_MOVED_ENDED));
            tell_moved(h, l.key, l.generation, GW_MOVED_ENDED);
            return GW_OK;
        }
    case OP_PASSWORD_FIND:
        if (status != GW_STORE_DONE || !a || !a->phc || !a->phc[0] ||
            !strncmp(a->phc, GW_ACCOUNT_PHC_SITE, GW_ACCOUNT_PHC_SITE_LEN)) {
            gw_out_error(h, p, status == GW_STORE_DONE || status == GW_ACCOUNT_NONE
                                   ? GW_R_KEY : GW_R_SHUTDOWN,
                         status == GW_STORE_DONE || status == GW_ACCOUNT_NONE
                             ? "this account has no password to change"
                             : "the account cannot be read now: try again later",
                         ref_of(op));
            break;
        } else {
            snprintf(op->nick, sizeof op->nick, "%s", a->nick);
            snprintf(op->phc, sizeof op->phc, "%s", a->phc);
            op->roles = a->roles;
            op->generation = a->generation;
            op->kind = OP_PASSWORD_VERIFY;
            if (h->cfg.verify(h->cfg.ctx, op->o.tag, op->phc, op->pw, op->pw_len) == 0) {
                OPENSSL_cleanse(op->pw, sizeof op->pw);
                op->pw_len = 0;
                return GW_OK;
            }
            gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment",
                         ref_of(op));
        }
        break;
    case OP_PASSWORD_UPDATE:
        if (status != GW_STORE_DONE) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the password could not be kept: try again",
                         ref_of(op));
            break;
        } else {
            struct op_left l;
            op_take(h, op, &l);
            /* Every other connection of the account (but this browser's
             * tabs) is logged out, its session over. */
            gw_account_end_all(h, l.key, NULL, now, NULL, p, moved_words(GW_MOVED_PASSWORD));
            renew(p, l.key, l.generation + 1);
            tell_moved(h, l.key, l.generation + 1, GW_MOVED_PASSWORD);
            if (p->via == GW_VIA_WEB)
                start_session(h, p, now, l.key, l.nick, l.generation + 1, l.ref);
            else
                gw_out_info(h, p, GW_R_OK, "password changed; every other connection of the "
                                           "account was logged out");
            return GW_OK;
        }
    case OP_SESSION_DROP:
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
    struct gw_part *p = gw_hub_part(h, op->o.pid);
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
        if (ac->create(ac->ctx, op->o.tag, &a) != GW_STORE_PENDING) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the account could not be kept: try again",
                         ref_of(op));
            op_del(h, op);
        }
        return GW_OK;
    }
    if (op->kind == OP_PASSWORD_VERIFY) {
        if (status == GW_HASH_ANSWER_WRONG)
            op->tried = 0; /* a wrong password: the try is spent */
        if (status != GW_HASH_ANSWER_OK) {
            gw_out_error(h, p, status < 0 ? GW_R_SHUTDOWN : GW_R_KEY,
                         status < 0 ? "passwords are busy: try again in a moment"
                                    : "the old password is wrong",
                         ref_of(op));
            op_del(h, op);
            return GW_OK;
        }
        op->kind = OP_PASSWORD_HASH;
        if (h->cfg.hash(h->cfg.ctx, op->o.tag, op->pw_new, op->pw_new_len) == 0) {
            wipe(op);
            return GW_OK;
        }
        gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment",
                     ref_of(op));
        op_del(h, op);
        return GW_OK;
    }
    if (op->kind == OP_PASSWORD_HASH) {
        if (status != GW_HASH_ANSWER_OK || !phc) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the password could not be hashed: try again",
                         ref_of(op));
            op_del(h, op);
            return GW_OK;
        }
        struct gw_account up = {.key = op->key, .nick = op->nick, .phc = phc,
                                .roles = op->roles, .generation = op->generation + 1};
        op->kind = OP_PASSWORD_UPDATE;
        if (h->cfg.accounts->update(h->cfg.accounts->ctx, op->o.tag, &up) != GW_STORE_PENDING) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "the password could not be kept: try again",
                         ref_of(op));
            op_del(h, op);
        }
        return GW_OK;
    }
    if (op->kind == OP_IDENTIFY_VERIFY) {
        if (status == GW_HASH_ANSWER_OK && op->exists) {
            p->acct_roles = op->roles;
            struct op_left l;
            op_take(h, op, &l);
            gw_account_login(h, p, now, l.key, l.nick, l.generation, l.ref, "logged in");
            /* The account as found before the password's check may have
             * moved on since (its sessions ended, a new password: the news
             * came while this login waited): looked at once more. */
            gw_generation_look(h, p);
            return GW_OK;
        }
        if (status < 0) {
            gw_out_error(h, p, GW_R_SHUTDOWN, "passwords are busy: try again in a moment",
                         ref_of(op));
        } else {
            op->tried = 0; /* a wrong password: the try is spent */
            gw_out_error(h, p, GW_R_KEY, "wrong nick or password", ref_of(op));
        }
    }
    op_del(h, op);
    return GW_OK;
}

int gw_hub_set_address(struct gw_hub *h, uint64_t pid, const char *ip)
{
    struct gw_part *p = gw_hub_part(h, pid);
    if (!p || !ip)
        return GW_ENOENT;
    uint64_t x = 1469598103934665603u; /* FNV-1a: a bucket's name, not a secret */
    for (const char *c = ip; *c; c++)
        x = (x ^ (unsigned char)*c) * 1099511628211u;
    p->addr = x ? x : 1;
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
        if (h->acct_ops[i].o.pid == p->pid)
            wipe(&h->acct_ops[i]); /* answered to nobody: op_find still finds it */
}

void gw_account_free(struct gw_hub *h)
{
    free(h->fails);
    h->fails = NULL;
    h->nfails = 0;
    for (size_t i = 0; i < h->nacct_ops; i++)
        wipe(&h->acct_ops[i]);
    free(h->acct_ops);
    h->acct_ops = NULL;
    h->nacct_ops = 0;
    gw_generation_free(h);
}
