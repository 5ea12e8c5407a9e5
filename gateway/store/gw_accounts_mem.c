/*
 * gw_accounts_mem.c - the in-memory accounts engine (see gw_accounts_mem.h):
 * accounts in a hash table by key, sessions in a hash table by digest and
 * in a short list per account (its oldest first), an account's rooms in a
 * short array sorted by room and each room's members in an array sorted
 * by key (a hash table of rooms), an account's private messages in a ring,
 * answers in a ring that gw_accounts_mem_flush empties. Pure: no I/O, no
 * clock.
 */
#include "gw_accounts_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct msess {
    char digest[GW_DIGEST_HEX_LEN + 1];
    struct macct *acct;
    uint64_t generation;
    int64_t expires_ms;
    struct msess *hnext;    /* in its digest bucket */
};

/* A room an account is a member of. */
struct mmember {
    char room[GW_ACCOUNT_ROOM_MAX_BYTES + 1];
    uint64_t read_id;
};

/* A private message kept: peer and text in one allocation. */
struct mpm {
    uint64_t id;
    int64_t time_ms;
    int out;
    char *peer, *text;      /* text points into peer's allocation */
    size_t bytes;           /* counted in pm_bytes */
};

struct macct {
    char *key, *nick, *phc; /* one allocation each */
    unsigned roles;
    uint64_t generation;
    int64_t created_ms;
    struct msess *sess[GW_SESSIONS_PER_ACCOUNT]; /* oldest first */
    size_t nsess;
    struct mmember *rooms;  /* GW_ACCOUNT_ROOMS_MAX once it has one; by room */
    size_t nrooms;
    struct mpm *pms;        /* a ring of GW_ACCOUNT_PMS_MAX once it has one */
    size_t pm_head, npms;
    uint64_t pm_top;        /* the last id given */
    struct macct *hnext;    /* in its key bucket */
};

/* A room with members: their accounts, by key. */
struct mroom {
    char key[GW_ACCOUNT_ROOM_MAX_BYTES + 1];
    struct macct **members;
    size_t n, cap;
    struct mroom *hnext;    /* in its bucket */
};

/* A page of keys, one allocation: the pointers, then the strings. */
struct keys_page {
    size_t n;
    char next[GW_ACCOUNT_CURSOR_MAX_BYTES + 1];
    const char *keys[GW_ACCOUNT_KEYS_PAGE];
    char bytes[];
};

/* The rows of an answer of rooms_of, pm_add or pm_after, one allocation:
 * the rows, then their strings. */
struct rooms_page {
    size_t n;
    struct gw_account_room rows[GW_ACCOUNT_ROOMS_MAX];
    char names[GW_ACCOUNT_ROOMS_MAX][GW_ACCOUNT_ROOM_MAX_BYTES + 1];
};

struct pms_page {
    size_t n;
    struct gw_account_pm rows[GW_ACCOUNT_PMS_PAGE];
    char bytes[];
};

/* What an answer goes to. */
enum ans_kind { ANS_ACCOUNT, ANS_KEYS, ANS_ROOMS, ANS_PMS };

/* A queued answer, with its own copy of the account found, or a page of
 * keys, rooms or messages (by kind; NULL with a status other than
 * GW_STORE_DONE). */
struct answer {
    uint64_t tag;
    int status;
    enum ans_kind kind;
    struct keys_page *page;
    struct rooms_page *rooms;
    struct pms_page *pms;
    int has_acct;
    unsigned roles;
    uint64_t generation;
    int64_t created_ms;
    char key[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char nick[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
};

struct gw_accounts_mem {
    struct gw_account_sink sink;
    struct macct *accts[GW_ACCOUNTS_MEM_BUCKETS];
    struct msess *sessions[GW_ACCOUNTS_MEM_BUCKETS];
    struct mroom *rooms[GW_ACCOUNTS_MEM_BUCKETS];
    size_t pm_bytes;        /* of every message kept: GW_ACCOUNTS_MEM_PM_BYTES_MAX */
    size_t naccts, nsessions;
    size_t expire_cursor;   /* the bucket expiry goes on from */
    struct answer *ring;    /* GW_ACCOUNTS_MEM_ANSWERS_MAX */
    size_t head, nans;
};

/* FNV-1a. */
static size_t bucket(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (GW_ACCOUNTS_MEM_BUCKETS - 1u);
}

/* Whether s is a NUL-terminated string of min..max bytes. */
static int str_ok(const char *s, size_t min, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    return n >= min && n <= max;
}

static int digest_ok(const char *d)
{
    if (!str_ok(d, GW_DIGEST_HEX_LEN, GW_DIGEST_HEX_LEN))
        return 0;
    for (const char *c = d; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return 0;
    return 1;
}

static int account_ok(const struct gw_account *a)
{
    return a && str_ok(a->key, 1, GW_ACCOUNT_KEY_MAX_BYTES) &&
           str_ok(a->nick, 1, GW_ACCOUNT_KEY_MAX_BYTES) &&
           str_ok(a->phc, 0, GW_ACCOUNT_PHC_MAX_BYTES);
}

/* ---- answers ---- */

/* Queue an answer (room was checked by the call: room_for). */
static void answer(struct gw_accounts_mem *m, uint64_t tag, int status, const struct macct *a)
{
    struct answer *x = &m->ring[(m->head + m->nans) % GW_ACCOUNTS_MEM_ANSWERS_MAX];
    m->nans++;
    x->tag = tag;
    x->status = status;
    x->kind = ANS_ACCOUNT;
    x->page = NULL;
    x->rooms = NULL;
    x->pms = NULL;
    x->has_acct = a != NULL;
    if (a) {
        memcpy(x->key, a->key, strlen(a->key) + 1);
        memcpy(x->nick, a->nick, strlen(a->nick) + 1);
        memcpy(x->phc, a->phc, strlen(a->phc) + 1);
        x->roles = a->roles;
        x->generation = a->generation;
        x->created_ms = a->created_ms;
    }
}

static int room_for(const struct gw_accounts_mem *m)
{
    return m->nans < GW_ACCOUNTS_MEM_ANSWERS_MAX;
}

size_t gw_accounts_mem_flush(struct gw_accounts_mem *m)
{
    size_t n = m->nans, given = 0;
    while (given < n && m->nans > 0) {
        /* A copy: the sink may queue answers into the ring meanwhile. */
        struct answer x = m->ring[m->head];
        m->head = (m->head + 1) % GW_ACCOUNTS_MEM_ANSWERS_MAX;
        m->nans--;
        given++;
        if (x.kind == ANS_KEYS) {
            if (x.page)
                m->sink.keys(m->sink.ctx, x.tag, x.status, x.page->keys, x.page->n,
                             x.page->next);
            else
                m->sink.keys(m->sink.ctx, x.tag, x.status, NULL, 0, "");
            free(x.page);
            continue;
        }
        if (x.kind == ANS_ROOMS) {
            m->sink.rooms(m->sink.ctx, x.tag, x.status, x.rooms ? x.rooms->rows : NULL,
                          x.rooms ? x.rooms->n : 0);
            free(x.rooms);
            continue;
        }
        if (x.kind == ANS_PMS) {
            m->sink.pms(m->sink.ctx, x.tag, x.status, x.pms ? x.pms->rows : NULL,
                        x.pms ? x.pms->n : 0);
            free(x.pms);
            continue;
        }
        struct gw_account a = {
            .key = x.key, .nick = x.nick, .phc = x.phc, .roles = x.roles,
            .generation = x.generation, .created_ms = x.created_ms,
        };
        m->sink.answer(m->sink.ctx, x.tag, x.status, x.has_acct ? &a : NULL);
    }
    return given;
}

/* ---- accounts ---- */

static struct macct *acct_find(const struct gw_accounts_mem *m, const char *key)
{
    for (struct macct *a = m->accts[bucket(key)]; a; a = a->hnext)
        if (strcmp(a->key, key) == 0)
            return a;
    return NULL;
}

/* Replace *dst with a copy of src. Returns 0 or -1 (no memory; *dst stays). */
static int set_str(char **dst, const char *src)
{
    size_t n = strlen(src) + 1;
    char *p = malloc(n);
    if (!p)
        return -1;
    memcpy(p, src, n);
    free(*dst);
    *dst = p;
    return 0;
}

/* ---- sessions ---- */

static struct msess *sess_find(const struct gw_accounts_mem *m, const char *digest)
{
    for (struct msess *s = m->sessions[bucket(digest)]; s; s = s->hnext)
        if (strcmp(s->digest, digest) == 0)
            return s;
    return NULL;
}

/* Take s out of the digest index and its account's list, and free it. */
static void sess_end(struct gw_accounts_mem *m, struct msess *s)
{
    struct msess **p = &m->sessions[bucket(s->digest)];
    while (*p != s)
        p = &(*p)->hnext;
    *p = s->hnext;
    struct macct *a = s->acct;
    for (size_t i = 0; i < a->nsess; i++)
        if (a->sess[i] == s) {
            memmove(&a->sess[i], &a->sess[i + 1], (a->nsess - i - 1) * sizeof a->sess[0]);
            a->nsess--;
            break;
        }
    m->nsessions--;
    free(s);
}

/* End a's sessions made under a generation older than its own. */
static void end_older(struct gw_accounts_mem *m, struct macct *a)
{
    for (size_t i = a->nsess; i > 0; i--)
        if (a->sess[i - 1]->generation < a->generation)
            sess_end(m, a->sess[i - 1]);
}

/* ---- the calls ---- */

static int mem_create(void *ctx, uint64_t tag, const struct gw_account *in)
{
    struct gw_accounts_mem *m = ctx;
    if (!account_ok(in))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    if (acct_find(m, in->key)) {
        answer(m, tag, GW_ACCOUNT_EXISTS, NULL);
        return GW_STORE_PENDING;
    }
    if (m->naccts >= GW_ACCOUNTS_MEM_MAX) {
        answer(m, tag, GW_STORE_EBUSY, NULL);
        return GW_STORE_PENDING;
    }
    struct macct *a = calloc(1, sizeof *a);
    if (!a || set_str(&a->key, in->key) || set_str(&a->nick, in->nick) ||
        set_str(&a->phc, in->phc)) {
        if (a) {
            free(a->key);
            free(a->nick);
            free(a->phc);
        }
        free(a);
        return GW_STORE_ENOMEM;
    }
    a->roles = in->roles;
    a->generation = in->generation;
    a->created_ms = in->created_ms;
    size_t b = bucket(a->key);
    a->hnext = m->accts[b];
    m->accts[b] = a;
    m->naccts++;
    answer(m, tag, GW_STORE_DONE, NULL);
    return GW_STORE_PENDING;
}

static int mem_find(void *ctx, uint64_t tag, const char *key)
{
    struct gw_accounts_mem *m = ctx;
    if (!str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    const struct macct *a = acct_find(m, key);
    answer(m, tag, a ? GW_STORE_DONE : GW_ACCOUNT_NONE, a);
    return GW_STORE_PENDING;
}

static int mem_update(void *ctx, uint64_t tag, const struct gw_account *in)
{
    struct gw_accounts_mem *m = ctx;
    if (!account_ok(in))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct macct *a = acct_find(m, in->key);
    if (!a) {
        answer(m, tag, GW_ACCOUNT_NONE, NULL);
        return GW_STORE_PENDING;
    }
    char *nick = NULL, *phc = NULL;
    if (set_str(&nick, in->nick) || set_str(&phc, in->phc)) {
        free(nick);
        free(phc);
        return GW_STORE_ENOMEM;
    }
    free(a->nick);
    free(a->phc);
    a->nick = nick;
    a->phc = phc;
    a->roles = in->roles;
    a->generation = in->generation;
    end_older(m, a);
    answer(m, tag, GW_STORE_DONE, NULL);
    return GW_STORE_PENDING;
}

static void acct_drop_extras(struct gw_accounts_mem *m, struct macct *a);

static int mem_remove(void *ctx, uint64_t tag, const char *key)
{
    struct gw_accounts_mem *m = ctx;
    if (!str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct macct **p = &m->accts[bucket(key)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->hnext;
    struct macct *a = *p;
    if (!a) {
        answer(m, tag, GW_ACCOUNT_NONE, NULL);
        return GW_STORE_PENDING;
    }
    *p = a->hnext;
    while (a->nsess > 0)
        sess_end(m, a->sess[a->nsess - 1]);
    acct_drop_extras(m, a);
    free(a->key);
    free(a->nick);
    free(a->phc);
    free(a);
    m->naccts--;
    answer(m, tag, GW_STORE_DONE, NULL);
    return GW_STORE_PENDING;
}

static int mem_session_keep(void *ctx, uint64_t tag, const char *digest_hex, const char *key,
                            uint64_t generation, int64_t expires_ms)
{
    struct gw_accounts_mem *m = ctx;
    if (!digest_ok(digest_hex) || !str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct macct *a = acct_find(m, key);
    if (!a) {
        answer(m, tag, GW_ACCOUNT_NONE, NULL);
        return GW_STORE_PENDING;
    }
    /* The digest kept again (by this account or another) is made anew:
     * the newest of its account. */
    struct msess *s = calloc(1, sizeof *s);
    if (!s)
        return GW_STORE_ENOMEM;
    struct msess *old = sess_find(m, digest_hex);
    if (old)
        sess_end(m, old);
    if (a->nsess == GW_SESSIONS_PER_ACCOUNT)
        sess_end(m, a->sess[0]); /* past the bound: its oldest ends */
    memcpy(s->digest, digest_hex, GW_DIGEST_HEX_LEN + 1);
    s->acct = a;
    s->generation = generation;
    s->expires_ms = expires_ms;
    size_t b = bucket(s->digest);
    s->hnext = m->sessions[b];
    m->sessions[b] = s;
    a->sess[a->nsess++] = s;
    m->nsessions++;
    answer(m, tag, GW_STORE_DONE, NULL);
    return GW_STORE_PENDING;
}

/* Whether s is over at now_ms: expired (at expires_ms exactly), or of a
 * generation older than its account's. */
static int sess_over(const struct msess *s, int64_t now_ms)
{
    return now_ms >= s->expires_ms || s->generation < s->acct->generation;
}

static int mem_session_find(void *ctx, uint64_t tag, const char *digest_hex, int64_t now_ms)
{
    struct gw_accounts_mem *m = ctx;
    if (!digest_ok(digest_hex))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    const struct msess *s = sess_find(m, digest_hex);
    if (!s || sess_over(s, now_ms))
        answer(m, tag, GW_ACCOUNT_NONE, NULL);
    else
        answer(m, tag, GW_STORE_DONE, s->acct);
    return GW_STORE_PENDING;
}

static int mem_session_drop(void *ctx, uint64_t tag, const char *digest_hex)
{
    struct gw_accounts_mem *m = ctx;
    if (!digest_ok(digest_hex))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct msess *s = sess_find(m, digest_hex);
    if (s)
        sess_end(m, s);
    answer(m, tag, s ? GW_STORE_DONE : GW_ACCOUNT_NONE, NULL);
    return GW_STORE_PENDING;
}

/*
 * The cursor is "BUCKET.SKIP": go on from bucket BUCKET, past its first
 * SKIP accounts (a bucket longer than a page takes several). A page ends
 * at GW_ACCOUNT_KEYS_PAGE keys or after GW_ACCOUNTS_MEM_KEYS_WALK buckets
 * (an empty page then is allowed: the walk goes on).
 */
static int mem_keys(void *ctx, uint64_t tag, const char *cursor)
{
    struct gw_accounts_mem *m = ctx;
    if (!cursor || !m->sink.keys || strnlen(cursor, GW_ACCOUNT_CURSOR_MAX_BYTES + 1) >
                                        GW_ACCOUNT_CURSOR_MAX_BYTES)
        return GW_STORE_EINVAL;
    unsigned long b = 0, skip = 0;
    if (*cursor) {
        char *end;
        b = strtoul(cursor, &end, 10);
        if (*end != '.' || b >= GW_ACCOUNTS_MEM_BUCKETS)
            return GW_STORE_EINVAL;
        skip = strtoul(end + 1, &end, 10);
        if (*end)
            return GW_STORE_EINVAL;
    }
    if (!room_for(m))
        return GW_STORE_EBUSY;
    /* Measure first, copy after: one allocation. */
    size_t n = 0, bytes = 0, walked = 0;
    unsigned long at = b, at_skip = skip;
    int whole = 1;
    while (at < GW_ACCOUNTS_MEM_BUCKETS && walked < GW_ACCOUNTS_MEM_KEYS_WALK) {
        unsigned long i = 0;
        struct macct *a = m->accts[at];
        for (; a && n < GW_ACCOUNT_KEYS_PAGE; a = a->hnext, i++)
            if (i >= at_skip) {
                n++;
                bytes += strlen(a->key) + 1;
            }
        if (a) {        /* the page is full inside this bucket */
            at_skip = i;
            whole = 0;
            break;
        }
        at++;
        at_skip = 0;
        walked++;
        if (n == GW_ACCOUNT_KEYS_PAGE)
            break;
    }
    struct keys_page *pg = malloc(sizeof *pg + bytes);
    if (!pg)
        return GW_STORE_ENOMEM;
    pg->n = 0;
    char *w = pg->bytes;
    for (unsigned long k = b, sk = skip; k < GW_ACCOUNTS_MEM_BUCKETS && pg->n < n; k++, sk = 0) {
        unsigned long i = 0;
        for (struct macct *a = m->accts[k]; a && pg->n < n; a = a->hnext, i++)
            if (i >= sk) {
                size_t len = strlen(a->key) + 1;
                memcpy(w, a->key, len);
                pg->keys[pg->n++] = w;
                w += len;
            }
    }
    if (at >= GW_ACCOUNTS_MEM_BUCKETS && whole)
        pg->next[0] = '\0';
    else
        snprintf(pg->next, sizeof pg->next, "%lu.%lu", at, at_skip);
    answer(m, tag, GW_STORE_DONE, NULL);
    struct answer *x = &m->ring[(m->head + m->nans - 1) % GW_ACCOUNTS_MEM_ANSWERS_MAX];
    x->kind = ANS_KEYS;
    x->page = pg;
    return GW_STORE_PENDING;
}

/* ---- rooms of an account, members of a room ---- */

static struct mroom *mroom_find(const struct gw_accounts_mem *m, const char *room)
{
    for (struct mroom *r = m->rooms[bucket(room)]; r; r = r->hnext)
        if (strcmp(r->key, room) == 0)
            return r;
    return NULL;
}

/* Where key is, or would go, among r's members (by key). */
static size_t member_at(const struct mroom *r, const char *key, int *found)
{
    size_t lo = 0, hi = r->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->members[mid]->key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where room is, or would go, among a's rooms (by room). */
static size_t room_at(const struct macct *a, const char *room, int *found)
{
    size_t i = 0;
    *found = 0;
    for (; i < a->nrooms; i++) {
        int c = strcmp(a->rooms[i].room, room);
        if (c >= 0) {
            *found = c == 0;
            break;
        }
    }
    return i;
}

/* a joins room r (made if missing). Returns 0 or -1 (no memory: nothing
 * changed). */
static int member_add(struct gw_accounts_mem *m, struct macct *a, const char *room)
{
    if (!a->rooms && !(a->rooms = malloc(GW_ACCOUNT_ROOMS_MAX * sizeof *a->rooms)))
        return -1;
    struct mroom *r = mroom_find(m, room);
    int made = 0;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return -1;
        memcpy(r->key, room, strlen(room) + 1);
        made = 1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct macct **p = realloc(r->members, cap * sizeof *p);
        if (!p) {
            if (made)
                free(r);
            return -1;
        }
        r->members = p;
        r->cap = cap;
    }
    if (made) {
        size_t b = bucket(room);
        r->hnext = m->rooms[b];
        m->rooms[b] = r;
    }
    int found;
    size_t at = member_at(r, a->key, &found);
    memmove(&r->members[at + 1], &r->members[at], (r->n - at) * sizeof r->members[0]);
    r->members[at] = a;
    r->n++;
    size_t i = room_at(a, room, &found);
    memmove(&a->rooms[i + 1], &a->rooms[i], (a->nrooms - i) * sizeof a->rooms[0]);
    memcpy(a->rooms[i].room, room, strlen(room) + 1);
    a->rooms[i].read_id = 0;
    a->nrooms++;
    return 0;
}

/* a leaves its room i; a room left with no member goes. */
static void member_drop(struct gw_accounts_mem *m, struct macct *a, size_t i)
{
    struct mroom **p = &m->rooms[bucket(a->rooms[i].room)];
    while (*p && strcmp((*p)->key, a->rooms[i].room) != 0)
        p = &(*p)->hnext;
    struct mroom *r = *p;
    if (r) {
        int found;
        size_t at = member_at(r, a->key, &found);
        if (found) {
            memmove(&r->members[at], &r->members[at + 1], (r->n - at - 1) * sizeof r->members[0]);
            r->n--;
        }
        if (r->n == 0) {
            *p = r->hnext;
            free(r->members);
            free(r);
        }
    }
    memmove(&a->rooms[i], &a->rooms[i + 1], (a->nrooms - i - 1) * sizeof a->rooms[0]);
    a->nrooms--;
}

static int room_ok(const char *room)
{
    return str_ok(room, 1, GW_ACCOUNT_ROOM_MAX_BYTES);
}

static int mem_room_keep(void *ctx, uint64_t tag, const char *key, const char *room, int in)
{
    struct gw_accounts_mem *m = ctx;
    if (!str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES) || !room_ok(room) || (in != 0 && in != 1))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct macct *a = acct_find(m, key);
    if (!a) {
        answer(m, tag, GW_ACCOUNT_NONE, NULL);
        return GW_STORE_PENDING;
    }
    int found;
    size_t i = room_at(a, room, &found);
    if (in && !found) {
        if (a->nrooms == GW_ACCOUNT_ROOMS_MAX) {
            answer(m, tag, GW_ACCOUNT_FULL, NULL);
            return GW_STORE_PENDING;
        }
        if (member_add(m, a, room) != 0)
            return GW_STORE_ENOMEM;
    } else if (!in && found) {
        member_drop(m, a, i);
    }
    answer(m, tag, GW_STORE_DONE, NULL);
    return GW_STORE_PENDING;
}

static int mem_rooms_of(void *ctx, uint64_t tag, const char *key)
{
    struct gw_accounts_mem *m = ctx;
    if (!m->sink.rooms || !str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    const struct macct *a = acct_find(m, key);
    struct rooms_page *pg = NULL;
    if (a) {
        if (!(pg = malloc(sizeof *pg)))
            return GW_STORE_ENOMEM;
        pg->n = a->nrooms;
        for (size_t i = 0; i < a->nrooms; i++) {
            memcpy(pg->names[i], a->rooms[i].room, sizeof pg->names[i]);
            pg->rows[i].room = pg->names[i];
            pg->rows[i].read_id = a->rooms[i].read_id;
        }
    }
    answer(m, tag, a ? GW_STORE_DONE : GW_ACCOUNT_NONE, NULL);
    struct answer *x = &m->ring[(m->head + m->nans - 1) % GW_ACCOUNTS_MEM_ANSWERS_MAX];
    x->kind = ANS_ROOMS;
    x->rooms = pg;
    return GW_STORE_PENDING;
}

static int mem_read_mark(void *ctx, uint64_t tag, const char *key, const char *room, uint64_t id)
{
    struct gw_accounts_mem *m = ctx;
    if (!str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES) || !room_ok(room) || id > GW_ACCOUNT_ID_MAX)
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct macct *a = acct_find(m, key);
    int found = 0;
    size_t i = a ? room_at(a, room, &found) : 0;
    if (found && id > a->rooms[i].read_id)
        a->rooms[i].read_id = id; /* only forward */
    answer(m, tag, found ? GW_STORE_DONE : GW_ACCOUNT_NONE, NULL);
    return GW_STORE_PENDING;
}

/* The cursor is the last key given ("" first): a page of the room's
 * members after it, exact like the SQLite engine's. */
static int mem_room_accounts(void *ctx, uint64_t tag, const char *room, const char *cursor)
{
    struct gw_accounts_mem *m = ctx;
    if (!m->sink.keys || !room_ok(room) || !str_ok(cursor, 0, GW_ACCOUNT_KEY_MAX_BYTES))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    const struct mroom *r = mroom_find(m, room);
    size_t from = 0, n = 0, bytes = 0;
    if (r) {
        int found;
        from = member_at(r, cursor, &found) + (size_t)found;
        for (size_t i = from; i < r->n && n < GW_ACCOUNT_KEYS_PAGE; i++, n++)
            bytes += strlen(r->members[i]->key) + 1;
    }
    struct keys_page *pg = malloc(sizeof *pg + bytes);
    if (!pg)
        return GW_STORE_ENOMEM;
    pg->n = 0;
    char *w = pg->bytes;
    for (size_t i = from; i < from + n; i++) {
        size_t len = strlen(r->members[i]->key) + 1;
        memcpy(w, r->members[i]->key, len);
        pg->keys[pg->n++] = w;
        w += len;
    }
    if (r && from + n < r->n)
        snprintf(pg->next, sizeof pg->next, "%s", pg->keys[n - 1]);
    else
        pg->next[0] = '\0';
    answer(m, tag, GW_STORE_DONE, NULL);
    struct answer *x = &m->ring[(m->head + m->nans - 1) % GW_ACCOUNTS_MEM_ANSWERS_MAX];
    x->kind = ANS_KEYS;
    x->page = pg;
    return GW_STORE_PENDING;
}

/* ---- private messages ---- */

static int pm_ok(const struct gw_account_pm *pm)
{
    return pm && str_ok(pm->peer, 1, GW_ACCOUNT_PEER_MAX_BYTES) &&
           str_ok(pm->text, 0, GW_ACCOUNT_TEXT_MAX_BYTES) && (pm->out == 0 || pm->out == 1);
}

/* The account's i-th message kept, oldest first. */
static struct mpm *pm_at(const struct macct *a, size_t i)
{
    return &a->pms[(a->pm_head + i) % GW_ACCOUNT_PMS_MAX];
}

static void pm_free_oldest(struct gw_accounts_mem *m, struct macct *a)
{
    struct mpm *p = pm_at(a, 0);
    m->pm_bytes -= p->bytes;
    free(p->peer);
    a->pm_head = (a->pm_head + 1) % GW_ACCOUNT_PMS_MAX;
    a->npms--;
}

/* An answer of rows rows[0..n) of a's messages from the i-th on. */
static struct pms_page *pms_page(const struct macct *a, size_t from, size_t n)
{
    size_t bytes = 0;
    for (size_t i = from; i < from + n; i++)
        bytes += pm_at(a, i)->bytes;
    struct pms_page *pg = malloc(sizeof *pg + bytes);
    if (!pg)
        return NULL;
    pg->n = n;
    char *w = pg->bytes;
    for (size_t i = 0; i < n; i++) {
        const struct mpm *p = pm_at(a, from + i);
        memcpy(w, p->peer, p->bytes);
        pg->rows[i] = (struct gw_account_pm){.id = p->id, .time_ms = p->time_ms, .peer = w,
                                             .out = p->out, .text = w + strlen(w) + 1};
        w += p->bytes;
    }
    return pg;
}

static int pms_answer(struct gw_accounts_mem *m, uint64_t tag, int status, struct pms_page *pg)
{
    answer(m, tag, status, NULL);
    struct answer *x = &m->ring[(m->head + m->nans - 1) % GW_ACCOUNTS_MEM_ANSWERS_MAX];
    x->kind = ANS_PMS;
    x->pms = pg;
    return GW_STORE_PENDING;
}

static int mem_pm_add(void *ctx, uint64_t tag, const char *key, const struct gw_account_pm *pm)
{
    struct gw_accounts_mem *m = ctx;
    if (!m->sink.pms || !str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES) || !pm_ok(pm))
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    struct macct *a = acct_find(m, key);
    if (!a)
        return pms_answer(m, tag, GW_ACCOUNT_NONE, NULL);
    size_t plen = strlen(pm->peer) + 1, tlen = strlen(pm->text) + 1;
    size_t freed = a->npms == GW_ACCOUNT_PMS_MAX ? pm_at(a, 0)->bytes : 0;
    if (m->pm_bytes - freed + plen + tlen > GW_ACCOUNTS_MEM_PM_BYTES_MAX)
        return pms_answer(m, tag, GW_STORE_EBUSY, NULL);
    if (!a->pms && !(a->pms = malloc(GW_ACCOUNT_PMS_MAX * sizeof *a->pms)))
        return GW_STORE_ENOMEM;
    char *b = malloc(plen + tlen);
    if (!b)
        return GW_STORE_ENOMEM;
    memcpy(b, pm->peer, plen);
    memcpy(b + plen, pm->text, tlen);
    if (a->npms == GW_ACCOUNT_PMS_MAX)
        pm_free_oldest(m, a); /* past the bound: the oldest goes */
    struct mpm *p = pm_at(a, a->npms);
    *p = (struct mpm){.id = ++a->pm_top, .time_ms = pm->time_ms, .out = pm->out, .peer = b,
                      .text = b + plen, .bytes = plen + tlen};
    a->npms++;
    m->pm_bytes += p->bytes;
    struct pms_page *pg = pms_page(a, a->npms - 1, 1);
    if (!pg)
        return pms_answer(m, tag, GW_STORE_ENOMEM, NULL); /* kept, but not told how */
    return pms_answer(m, tag, GW_STORE_DONE, pg);
}

static int mem_pm_after(void *ctx, uint64_t tag, const char *key, uint64_t after_id,
                        size_t limit)
{
    struct gw_accounts_mem *m = ctx;
    if (!m->sink.pms || !str_ok(key, 1, GW_ACCOUNT_KEY_MAX_BYTES) || after_id > GW_ACCOUNT_ID_MAX)
        return GW_STORE_EINVAL;
    if (!room_for(m))
        return GW_STORE_EBUSY;
    const struct macct *a = acct_find(m, key);
    if (!a)
        return pms_answer(m, tag, GW_ACCOUNT_NONE, NULL);
    /* Ids are dense: the i-th kept is first + i. */
    uint64_t first = a->pm_top - a->npms + 1;
    size_t from = 0;
    if (after_id >= first) {
        uint64_t skip = after_id - first + 1;
        from = skip > a->npms ? a->npms : (size_t)skip;
    }
    size_t n = a->npms - from;
    if (n > limit)
        n = limit;
    if (n > GW_ACCOUNT_PMS_PAGE)
        n = GW_ACCOUNT_PMS_PAGE;
    struct pms_page *pg = pms_page(a, from, n);
    if (!pg)
        return GW_STORE_ENOMEM;
    return pms_answer(m, tag, GW_STORE_DONE, pg);
}

/* Free what a keeps besides its strings and sessions: its rooms (leaving
 * them) and its messages. */
static void acct_drop_extras(struct gw_accounts_mem *m, struct macct *a)
{
    while (a->nrooms > 0)
        member_drop(m, a, a->nrooms - 1);
    free(a->rooms);
    a->rooms = NULL;
    while (a->npms > 0)
        pm_free_oldest(m, a);
    free(a->pms);
    a->pms = NULL;
}

size_t gw_accounts_mem_expire(struct gw_accounts_mem *m, int64_t now_ms)
{
    size_t looked = 0, ended = 0;
    for (size_t n = 0; n < GW_ACCOUNTS_MEM_BUCKETS && looked < GW_ACCOUNTS_MEM_EXPIRE_MAX; n++) {
        size_t b = m->expire_cursor;
        m->expire_cursor = (b + 1) % GW_ACCOUNTS_MEM_BUCKETS;
        struct msess *s = m->sessions[b];
        while (s) {
            struct msess *next = s->hnext;
            looked++;
            if (now_ms >= s->expires_ms) {
                sess_end(m, s);
                ended++;
            }
            s = next;
        }
    }
    return ended;
}

size_t gw_accounts_mem_count(const struct gw_accounts_mem *m, size_t *sessions)
{
    if (sessions)
        *sessions = m->nsessions;
    return m->naccts;
}

/* ---- making and freeing ---- */

int gw_accounts_mem_new(struct gw_accounts_mem **out, const struct gw_account_sink *sink)
{
    if (!out || !sink || !sink->answer)
        return GW_STORE_EINVAL;
    *out = NULL;
    struct gw_accounts_mem *m = calloc(1, sizeof *m);
    if (!m)
        return GW_STORE_ENOMEM;
    m->ring = malloc(GW_ACCOUNTS_MEM_ANSWERS_MAX * sizeof *m->ring);
    if (!m->ring) {
        free(m);
        return GW_STORE_ENOMEM;
    }
    m->sink = *sink;
    *out = m;
    return 0;
}

void gw_accounts_mem_iface(struct gw_accounts_mem *m, struct gw_accounts *out)
{
    out->ctx = m;
    out->create = mem_create;
    out->find = mem_find;
    out->update = mem_update;
    out->remove = mem_remove;
    out->session_keep = mem_session_keep;
    out->session_find = mem_session_find;
    out->session_drop = mem_session_drop;
    out->keys = mem_keys;
    out->room_keep = mem_room_keep;
    out->rooms_of = mem_rooms_of;
    out->read_mark = mem_read_mark;
    out->room_accounts = mem_room_accounts;
    out->pm_add = mem_pm_add;
    out->pm_after = mem_pm_after;
    out->moved = NULL; /* one gateway: nobody to tell */
}

void gw_accounts_mem_free(struct gw_accounts_mem *m)
{
    if (!m)
        return;
    for (size_t b = 0; b < GW_ACCOUNTS_MEM_BUCKETS; b++) {
        for (struct msess *s = m->sessions[b], *next; s; s = next) {
            next = s->hnext;
            free(s);
        }
        for (struct macct *a = m->accts[b], *next; a; a = next) {
            next = a->hnext;
            acct_drop_extras(m, a);
            free(a->key);
            free(a->nick);
            free(a->phc);
            free(a);
        }
    }
    for (; m->nans > 0; m->nans--, m->head = (m->head + 1) % GW_ACCOUNTS_MEM_ANSWERS_MAX) {
        free(m->ring[m->head].page);
        free(m->ring[m->head].rooms);
        free(m->ring[m->head].pms);
    }
    free(m->ring);
    free(m);
}
