/*
 * gw_room.c - rooms and their registry: names, lookup by key, creation,
 * dropping the least recently active empty room at the bound, members.
 * Pure: no I/O, no clock, no logging; see gw_room.h.
 */
#include "gw_room.h"

#include <stdlib.h>
#include <string.h>

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

int gw_room_name_check(const char *name, size_t len)
{
    if (len < 2 || len > GW_ROOM_NAME_MAX_BYTES || name[0] != '#')
        return GW_ROOM_BAD_NAME;
    for (size_t i = 1; i < len; i++)
        if (!name_char((unsigned char)name[i]))
            return GW_ROOM_BAD_NAME;
    return GW_ROOM_OK;
}

/* The key of a checked name: ASCII lower case, NUL-terminated. */
static void make_key(const char *name, size_t len, char key[GW_ROOM_NAME_MAX_BYTES + 1])
{
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        key[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    key[len] = '\0';
}

/* FNV-1a of a key. */
static size_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (; *key; key++) {
        h ^= (unsigned char)*key;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

static struct gw_room *find_key(const struct gw_rooms *rs, const char *key)
{
    for (struct gw_room *r = rs->buckets[key_hash(key) & rs->mask]; r; r = r->next)
        if (strcmp(r->key, key) == 0)
            return r;
    return NULL;
}

static void room_free(struct gw_room *r)
{
    while (r->pending) {
        struct gw_pending *e = r->pending;
        r->pending = e->next;
        gw_buf_unref(e->json);
        free(e);
    }
    gw_history_free(&r->history);
    gw_transcript_free(&r->transcript);
    free(r->waits);
    free(r->away);
    free(r->web);
    free(r->tcp);
    free(r);
}

/* A new room (not in the registry yet) for a checked name, its ids after
 * id_floor. */
static struct gw_room *room_new(const char *name, size_t len, uint64_t id_floor)
{
    struct gw_room *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    make_key(name, len, r->key);
    gw_history_init(&r->history, id_floor);
    return r;
}

static void insert(struct gw_rooms *rs, struct gw_room *r)
{
    size_t b = key_hash(r->key) & rs->mask;
    r->next = rs->buckets[b];
    rs->buckets[b] = r;
    r->slot = rs->count;
    rs->list[rs->count++] = r;
    gw_room_touch(rs, r);
}

static void drop(struct gw_rooms *rs, struct gw_room *r)
{
    uint64_t last = gw_history_last_id(&r->history);
    if (last > rs->id_floor)
        rs->id_floor = last;
    struct gw_room **pp = &rs->buckets[key_hash(r->key) & rs->mask];
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    rs->list[r->slot] = rs->list[--rs->count];
    rs->list[r->slot]->slot = r->slot;
    rs->list[rs->count] = NULL;
    room_free(r);
}

int gw_rooms_init(struct gw_rooms *rs, unsigned max)
{
    memset(rs, 0, sizeof(*rs));
    rs->max = max ? max : GW_ROOMS_MAX_DEFAULT;
    if (rs->max > GW_ROOMS_CEILING)
        rs->max = GW_ROOMS_CEILING;
    size_t nb = 16;
    while (nb < rs->max)
        nb *= 2;
    rs->mask = nb - 1;
    rs->buckets = calloc(nb, sizeof(*rs->buckets));
    /* The list grows with the rooms, up to max. */
    rs->list = malloc(sizeof(*rs->list) * rs->max);
    rs->lobby = room_new(GW_LOBBY, strlen(GW_LOBBY), 0);
    if (!rs->buckets || !rs->list || !rs->lobby) {
        free(rs->buckets);
        free(rs->list);
        if (rs->lobby)
            room_free(rs->lobby);
        memset(rs, 0, sizeof(*rs));
        return GW_ROOM_NOMEM;
    }
    insert(rs, rs->lobby);
    return GW_ROOM_OK;
}

void gw_rooms_free(struct gw_rooms *rs)
{
    for (size_t i = 0; i < rs->count; i++)
        room_free(rs->list[i]);
    free(rs->list);
    free(rs->buckets);
    memset(rs, 0, sizeof(*rs));
}

struct gw_room *gw_rooms_find(const struct gw_rooms *rs, const char *name, size_t len)
{
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    if (gw_room_name_check(name, len) != GW_ROOM_OK)
        return NULL;
    make_key(name, len, key);
    return find_key(rs, key);
}

int gw_rooms_open(struct gw_rooms *rs, const char *name, size_t len, struct gw_room **out)
{
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    if (gw_room_name_check(name, len) != GW_ROOM_OK)
        return GW_ROOM_BAD_NAME;
    make_key(name, len, key);
    struct gw_room *r = find_key(rs, key);
    if (r) {
        *out = r;
        return GW_ROOM_OK;
    }
    if (rs->count >= rs->max) {
        /* Drop the empty room least recently active: a scan, but rooms
         * are created far less often than anything else happens. */
        struct gw_room *victim = NULL;
        for (size_t i = 0; i < rs->count; i++) {
            struct gw_room *c = rs->list[i];
            if (c == rs->lobby || gw_room_members(c) || c->npending || c->loading)
                continue;
            if (!victim || c->active < victim->active)
                victim = c;
        }
        if (!victim)
            return GW_ROOM_FULL;
        if (rs->on_drop)
            rs->on_drop(rs->drop_arg, victim);
        drop(rs, victim);
    }
    r = room_new(name, len, rs->id_floor);
    if (!r)
        return GW_ROOM_NOMEM;
    insert(rs, r);
    *out = r;
    return GW_ROOM_OK;
}

void gw_room_touch(struct gw_rooms *rs, struct gw_room *r)
{
    r->active = ++rs->clock;
}

size_t gw_room_members(const struct gw_room *r)
{
    return r->nweb + r->ntcp;
}

int gw_room_add(struct gw_room *r, struct gw_part *p, int web, size_t *idx)
{
    struct gw_part ***arr = web ? &r->web : &r->tcp;
    size_t *n = web ? &r->nweb : &r->ntcp, *cap = web ? &r->web_cap : &r->tcp_cap;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct gw_part **a = realloc(*arr, ncap * sizeof(**arr));
        if (!a)
            return GW_ROOM_NOMEM;
        *arr = a;
        *cap = ncap;
    }
    (*arr)[*n] = p;
    *idx = (*n)++;
    return GW_ROOM_OK;
}

struct gw_part *gw_room_del(struct gw_room *r, int web, size_t idx)
{
    struct gw_part ***arr = web ? &r->web : &r->tcp;
    size_t *n = web ? &r->nweb : &r->ntcp, *cap = web ? &r->web_cap : &r->tcp_cap;
    if (idx >= *n)
        return NULL;
    (*n)--;
    if (*n == 0) {
        /* Empty: give the array back (a crowd that left should not
         * leave its array behind). */
        free(*arr);
        *arr = NULL;
        *cap = 0;
        return NULL;
    }
    if (idx == *n)
        return NULL;
    (*arr)[idx] = (*arr)[*n];
    return (*arr)[idx];
}

const char *gw_room_strerror(int status)
{
    switch (status) {
    case GW_ROOM_OK: return "success";
    case GW_ROOM_BAD_NAME: return "room name not allowed";
    case GW_ROOM_FULL: return "too many rooms";
    case GW_ROOM_NOMEM: return "out of memory";
    default: return "unknown error";
    }
}
