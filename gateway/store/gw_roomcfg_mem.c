/*
 * gw_roomcfg_mem.c - the in-memory room config engine (gw_roomcfg_mem.h).
 * Pure: rooms in a hash by key, each with its lists in arrays (a list is
 * at most a few hundred entries, looked through whole); answers in a
 * bounded queue given by the flush.
 */
#include "gw_roomcfg_mem.h"

#include <stdlib.h>
#include <string.h>

struct ent {
    int kind;
    char who[GW_ROOMCFG_WHO_MAX_BYTES + 1];
    char by[GW_ROOMCFG_BY_MAX_BYTES + 1];
    char why[GW_ROOMCFG_WHY_MAX_BYTES + 1];
    int64_t set_ms, expires_ms;
};

struct room {
    struct room *next;  /* in its bucket */
    char key[GW_ROOMCFG_ROOM_MAX_BYTES + 1];
    char owner[GW_NICK_MAX_BYTES + 1];
    char topic[GW_ROOMCFG_TOPIC_MAX_BYTES + 1];
    char topic_by[GW_ROOMCFG_BY_MAX_BYTES + 1];
    int64_t topic_ms;
    unsigned flags;
    char jkey[GW_ROOMCFG_KEY_MAX_BYTES + 1];
    struct ent *e[GW_RCL_COUNT];
    size_t n[GW_RCL_COUNT], cap[GW_RCL_COUNT];
};

enum ans_kind { ANS_WRITE, ANS_CONFIG, ANS_ENTRIES, ANS_CHANGED };

/* An answer waiting for the flush; config and entries own a copy of what
 * they give (taken when the call was made). */
struct ans {
    enum ans_kind kind;
    uint64_t tag;
    int status;
    unsigned what;
    char room[GW_ROOMCFG_ROOM_MAX_BYTES + 1];
    struct room *snap;              /* ANS_CONFIG: the room's fields */
    struct gw_roomcfg_entry *rows;  /* ANS_CONFIG, ANS_ENTRIES */
    struct ent *ents;               /* the strings rows point into */
    size_t n;
};

struct gw_roomcfg_mem {
    struct gw_roomcfg_sink sink;
    struct room *buckets[GW_ROOMCFG_MEM_BUCKETS];
    size_t rooms, entries;
    struct ans *q;                  /* GW_ROOMCFG_MEM_ANSWERS_MAX */
    size_t nq;
};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static struct room *find(const struct gw_roomcfg_mem *m, const char *key)
{
    for (struct room *r = m->buckets[hash(key) & (GW_ROOMCFG_MEM_BUCKETS - 1)]; r; r = r->next)
        if (strcmp(r->key, key) == 0)
            return r;
    return NULL;
}

/* The room of key, made when missing: NULL at the bound (*rc EBUSY) or
 * out of memory (*rc ENOMEM). */
static struct room *get(struct gw_roomcfg_mem *m, const char *key, int *rc)
{
    struct room *r = find(m, key);
    if (r)
        return r;
    if (m->rooms >= GW_ROOMCFG_MEM_ROOMS_MAX) {
        *rc = GW_STORE_EBUSY;
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        *rc = GW_STORE_ENOMEM;
        return NULL;
    }
    strcpy(r->key, key);
    struct room **b = &m->buckets[hash(key) & (GW_ROOMCFG_MEM_BUCKETS - 1)];
    r->next = *b;
    *b = r;
    m->rooms++;
    return r;
}

static int expired(const struct ent *e, int64_t now_ms)
{
    return e->expires_ms != 0 && now_ms >= e->expires_ms;
}

/* Delete the list's entries expired at now_ms. */
static void sweep(struct gw_roomcfg_mem *m, struct room *r, int list, int64_t now_ms)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n[list]; i++) {
        if (expired(&r->e[list][i], now_ms))
            continue;
        if (k != i)
            r->e[list][k] = r->e[list][i];
        k++;
    }
    m->entries -= r->n[list] - k;
    r->n[list] = k;
}

static struct ent *find_ent(struct room *r, int list, int kind, const char *who)
{
    for (size_t i = 0; r && i < r->n[list]; i++)
        if (r->e[list][i].kind == kind && strcmp(r->e[list][i].who, who) == 0)
            return &r->e[list][i];
    return NULL;
}

/* Room for want more answers, or GW_STORE_EBUSY. */
static int room_for(const struct gw_roomcfg_mem *m, size_t want)
{
    return m->nq + want <= GW_ROOMCFG_MEM_ANSWERS_MAX ? 0 : GW_STORE_EBUSY;
}

static struct ans *push(struct gw_roomcfg_mem *m, enum ans_kind kind, uint64_t tag, int status)
{
    struct ans *a = &m->q[m->nq++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->tag = tag;
    a->status = status;
    return a;
}

/* A write's answer, and with GW_STORE_DONE the change it made. */
static void written(struct gw_roomcfg_mem *m, uint64_t tag, int status, const char *room,
                    unsigned what)
{
    push(m, ANS_WRITE, tag, status);
    if (status == GW_STORE_DONE) {
        struct ans *c = push(m, ANS_CHANGED, 0, 0);
        strcpy(c->room, room);
        c->what = what;
    }
}

/* Copy the lists [from, to) of r not expired at now_ms into a: rows
 * ordered by list, kind, who. 0 or GW_STORE_ENOMEM. */
static int snapshot(struct ans *a, const struct room *r, int from, int to, int64_t now_ms)
{
    size_t n = 0;
    for (int l = from; r && l < to; l++)
        n += r->n[l];
    a->ents = malloc((n ? n : 1) * sizeof *a->ents);
    a->rows = malloc((n ? n : 1) * sizeof *a->rows);
    if (!a->ents || !a->rows) {
        free(a->ents);
        free(a->rows);
        a->ents = NULL;
        a->rows = NULL;
        return GW_STORE_ENOMEM;
    }
    size_t k = 0;
    for (int l = from; r && l < to; l++) {
        for (size_t i = 0; i < r->n[l]; i++) {
            const struct ent *e = &r->e[l][i];
            if (expired(e, now_ms))
                continue;
            a->ents[k] = *e;
            a->rows[k] = (struct gw_roomcfg_entry){
                .list = l, .kind = e->kind, .who = a->ents[k].who, .by = a->ents[k].by,
                .set_ms = e->set_ms, .expires_ms = e->expires_ms, .why = a->ents[k].why,
            };
            k++;
        }
    }
    a->n = k;
    qsort(a->rows, k, sizeof *a->rows, gw_roomcfg_entry_cmp);
    return 0;
}

/* ---- the calls ---- */

static int rc_load(void *ctx, uint64_t tag, const char *room, int64_t now_ms)
{
    struct gw_roomcfg_mem *m = ctx;
    if (!m->sink.config || gw_roomcfg_room_check(room, GW_RCL_OP) != 0)
        return GW_STORE_EINVAL;
    int rc = room_for(m, 1);
    if (rc != 0)
        return rc;
    const struct room *r = find(m, room);
    struct ans a = {.kind = ANS_CONFIG, .tag = tag, .status = GW_STORE_DONE};
    a.snap = calloc(1, sizeof *a.snap);
    if (!a.snap)
        return GW_STORE_ENOMEM;
    if (r)
        *a.snap = *r;
    else
        strcpy(a.snap->key, room);
    if (snapshot(&a, r, GW_RCL_OP, GW_RCL_GBAN, now_ms) != 0) {
        free(a.snap);
        return GW_STORE_ENOMEM;
    }
    m->q[m->nq++] = a;
    return GW_STORE_PENDING;
}

/* The room a write changes (made when new), with room in the queue for
 * its answer and its notice; NULL with *rc the failure. */
static struct room *to_write(struct gw_roomcfg_mem *m, const char *room, int *rc)
{
    if ((*rc = room_for(m, 2)) != 0)
        return NULL;
    return get(m, room, rc);
}

static int rc_owner_set(void *ctx, uint64_t tag, const char *room, const char *owner)
{
    struct gw_roomcfg_mem *m = ctx;
    if (gw_roomcfg_owner_check(room, owner) != 0)
        return GW_STORE_EINVAL;
    int rc = 0;
    struct room *r = to_write(m, room, &rc);
    if (!r)
        return rc;
    strcpy(r->owner, owner);
    written(m, tag, GW_STORE_DONE, room, GW_ROOMCFG_CH_OWNER);
    return GW_STORE_PENDING;
}

static int rc_topic_set(void *ctx, uint64_t tag, const char *room, const char *text,
                        const char *by, int64_t time_ms)
{
    struct gw_roomcfg_mem *m = ctx;
    if (gw_roomcfg_topic_check(room, text, by) != 0)
        return GW_STORE_EINVAL;
    int rc = 0;
    struct room *r = to_write(m, room, &rc);
    if (!r)
        return rc;
    strcpy(r->topic, text);
    strcpy(r->topic_by, by);
    r->topic_ms = time_ms;
    written(m, tag, GW_STORE_DONE, room, GW_ROOMCFG_CH_TOPIC);
    return GW_STORE_PENDING;
}

static int rc_settings_set(void *ctx, uint64_t tag, const char *room, unsigned flags,
                           const char *key)
{
    struct gw_roomcfg_mem *m = ctx;
    if (gw_roomcfg_settings_check(room, flags, key) != 0)
        return GW_STORE_EINVAL;
    int rc = 0;
    struct room *r = to_write(m, room, &rc);
    if (!r)
        return rc;
    r->flags = flags;
    strcpy(r->jkey, key);
    written(m, tag, GW_STORE_DONE, room, GW_ROOMCFG_CH_SETTINGS);
    return GW_STORE_PENDING;
}

static int rc_entry_set(void *ctx, uint64_t tag, const char *room,
                        const struct gw_roomcfg_entry *e)
{
    struct gw_roomcfg_mem *m = ctx;
    if (gw_roomcfg_entry_check(room, e) != 0)
        return GW_STORE_EINVAL;
    int rc = 0;
    struct room *r = to_write(m, room, &rc);
    if (!r)
        return rc;
    int l = e->list;
    sweep(m, r, l, e->set_ms);
    struct ent *x = find_ent(r, l, e->kind, e->who);
    if (!x) {
        if (r->n[l] >= gw_roomcfg_list_max(l)) {
            written(m, tag, GW_ROOMCFG_FULL, room, 0);
            return GW_STORE_PENDING;
        }
        if (r->n[l] == r->cap[l]) {
            size_t cap = r->cap[l] ? r->cap[l] * 2 : 8;
            if (cap > gw_roomcfg_list_max(l))
                cap = gw_roomcfg_list_max(l);
            struct ent *ne = realloc(r->e[l], cap * sizeof *ne);
            if (!ne)
                return GW_STORE_ENOMEM;
            r->e[l] = ne;
            r->cap[l] = cap;
        }
        x = &r->e[l][r->n[l]++];
        m->entries++;
    }
    x->kind = e->kind;
    strcpy(x->who, e->who);
    strcpy(x->by, e->by);
    strcpy(x->why, e->why);
    x->set_ms = e->set_ms;
    x->expires_ms = e->expires_ms;
    written(m, tag, GW_STORE_DONE, room, GW_ROOMCFG_CH_LIST(l));
    return GW_STORE_PENDING;
}

static int rc_entry_clear(void *ctx, uint64_t tag, const char *room, int list, int kind,
                          const char *who, int64_t now_ms)
{
    struct gw_roomcfg_mem *m = ctx;
    if (gw_roomcfg_clear_check(room, list, kind, who) != 0)
        return GW_STORE_EINVAL;
    int rc = room_for(m, 2);
    if (rc != 0)
        return rc;
    struct room *r = find(m, room);
    if (r)
        sweep(m, r, list, now_ms);
    struct ent *x = find_ent(r, list, kind, who);
    if (!x) {
        written(m, tag, GW_ROOMCFG_NONE, room, 0);
        return GW_STORE_PENDING;
    }
    size_t i = (size_t)(x - r->e[list]);
    memmove(x, x + 1, (r->n[list] - i - 1) * sizeof *x);
    r->n[list]--;
    m->entries--;
    written(m, tag, GW_STORE_DONE, room, GW_ROOMCFG_CH_LIST(list));
    return GW_STORE_PENDING;
}

static int rc_entries(void *ctx, uint64_t tag, const char *room, int list, int64_t now_ms)
{
    struct gw_roomcfg_mem *m = ctx;
    if (!m->sink.entries || gw_roomcfg_list_max(list) == 0 ||
        gw_roomcfg_room_check(room, list) != 0)
        return GW_STORE_EINVAL;
    int rc = room_for(m, 1);
    if (rc != 0)
        return rc;
    struct ans a = {.kind = ANS_ENTRIES, .tag = tag, .status = GW_STORE_DONE};
    if (snapshot(&a, find(m, room), list, list + 1, now_ms) != 0)
        return GW_STORE_ENOMEM;
    m->q[m->nq++] = a;
    return GW_STORE_PENDING;
}

/* ---- the engine ---- */

int gw_roomcfg_mem_new(struct gw_roomcfg_mem **out, const struct gw_roomcfg_sink *sink)
{
    if (!out || !sink || !sink->answer)
        return GW_STORE_EINVAL;
    struct gw_roomcfg_mem *m = calloc(1, sizeof *m);
    if (!m)
        return GW_STORE_ENOMEM;
    m->q = malloc(GW_ROOMCFG_MEM_ANSWERS_MAX * sizeof *m->q);
    if (!m->q) {
        free(m);
        return GW_STORE_ENOMEM;
    }
    m->sink = *sink;
    *out = m;
    return 0;
}

void gw_roomcfg_mem_iface(struct gw_roomcfg_mem *m, struct gw_roomcfgs *out)
{
    memset(out, 0, sizeof *out);
    out->ctx = m;
    out->load = rc_load;
    out->owner_set = rc_owner_set;
    out->topic_set = rc_topic_set;
    out->settings_set = rc_settings_set;
    out->entry_set = rc_entry_set;
    out->entry_clear = rc_entry_clear;
    out->entries = rc_entries;
}

static void ans_free(struct ans *a)
{
    free(a->snap);
    free(a->rows);
    free(a->ents);
}

size_t gw_roomcfg_mem_flush(struct gw_roomcfg_mem *m)
{
    size_t n0 = m->nq;
    for (size_t i = 0; i < n0; i++) {
        /* A copy: the sink's calls may queue more behind it. */
        struct ans a = m->q[i];
        switch (a.kind) {
        case ANS_WRITE:
            m->sink.answer(m->sink.ctx, a.tag, a.status);
            break;
        case ANS_CONFIG: {
            struct gw_roomcfg c = {
                .room = a.snap->key, .owner = a.snap->owner, .topic = a.snap->topic,
                .topic_by = a.snap->topic_by, .topic_ms = a.snap->topic_ms,
                .flags = a.snap->flags, .key = a.snap->jkey, .entries = a.rows, .n = a.n,
            };
            m->sink.config(m->sink.ctx, a.tag, a.status, &c);
            break;
        }
        case ANS_ENTRIES:
            m->sink.entries(m->sink.ctx, a.tag, a.status, a.rows, a.n);
            break;
        case ANS_CHANGED:
            if (m->sink.changed)
                m->sink.changed(m->sink.ctx, a.room, a.what);
            break;
        }
        ans_free(&a);
    }
    memmove(m->q, m->q + n0, (m->nq - n0) * sizeof *m->q);
    m->nq -= n0;
    return n0;
}

size_t gw_roomcfg_mem_count(const struct gw_roomcfg_mem *m, size_t *entries)
{
    if (entries)
        *entries = m->entries;
    return m->rooms;
}

void gw_roomcfg_mem_free(struct gw_roomcfg_mem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nq; i++)
        ans_free(&m->q[i]);
    for (size_t b = 0; b < GW_ROOMCFG_MEM_BUCKETS; b++) {
        struct room *r = m->buckets[b];
        while (r) {
            struct room *next = r->next;
            for (int l = 0; l < GW_RCL_COUNT; l++)
                free(r->e[l]);
            free(r);
            r = next;
        }
    }
    free(m->q);
    free(m);
}
