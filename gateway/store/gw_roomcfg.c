/*
 * gw_roomcfg.c - what every room config engine checks the same way
 * (gw_roomcfg.h): the bounds of each argument, which kinds a list takes,
 * and addresses and CIDR prefixes. Pure: no I/O, no clock, no allocation.
 */
#include "gw_roomcfg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

size_t gw_roomcfg_list_max(int list)
{
    switch (list) {
    case GW_RCL_OP: return GW_ROOMCFG_OPS_MAX;
    case GW_RCL_VOICE: return GW_ROOMCFG_VOICE_MAX;
    case GW_RCL_BAN: return GW_ROOMCFG_BANS_MAX;
    case GW_RCL_MUTE: return GW_ROOMCFG_MUTES_MAX;
    case GW_RCL_INVITE: return GW_ROOMCFG_INVITES_MAX;
    case GW_RCL_GBAN: return GW_GBANS_MAX;
    default: return 0;
    }
}

int gw_roomcfg_kind_ok(int list, int kind)
{
    switch (list) {
    case GW_RCL_OP: return kind == GW_RCK_ACCOUNT;
    case GW_RCL_VOICE:
    case GW_RCL_INVITE: return kind == GW_RCK_ACCOUNT || kind == GW_RCK_NICK;
    case GW_RCL_BAN:
    case GW_RCL_MUTE:
    case GW_RCL_GBAN: return kind == GW_RCK_ACCOUNT || kind == GW_RCK_ADDRESS;
    default: return 0;
    }
}

/* A string of min..max bytes (NULL is never one). */
static int len_ok(const char *s, size_t min, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    return n >= min && n <= max;
}

/* A room key: '#', then 1..GW_ROOM_NAME_MAX_CHARS bytes, no capital, no
 * space or control (gw_room.c makes keys so). */
static int room_key_ok(const char *room)
{
    if (!len_ok(room, 2, GW_ROOMCFG_ROOM_MAX_BYTES) || room[0] != '#')
        return 0;
    for (const unsigned char *c = (const unsigned char *)room; *c; c++)
        if (*c <= ' ' || *c == 0x7f || (*c >= 'A' && *c <= 'Z'))
            return 0;
    return 1;
}

int gw_roomcfg_room_check(const char *room, int list)
{
    if (!room)
        return GW_STORE_EINVAL;
    if (list == GW_RCL_GBAN)
        return room[0] == '\0' ? 0 : GW_STORE_EINVAL;
    return room_key_ok(room) ? 0 : GW_STORE_EINVAL;
}

/* An account or nick key: 1..GW_NICK_MAX_BYTES, no space or control. */
static int name_ok(const char *who)
{
    if (!len_ok(who, 1, GW_NICK_MAX_BYTES))
        return 0;
    for (const unsigned char *c = (const unsigned char *)who; *c; c++)
        if (*c <= ' ' || *c == 0x7f)
            return 0;
    return 1;
}

/* who as kind: a key, or an address already canonical. */
static int who_ok(int kind, const char *who)
{
    if (!len_ok(who, 1, GW_ROOMCFG_WHO_MAX_BYTES))
        return 0;
    if (kind != GW_RCK_ADDRESS)
        return name_ok(who);
    char canon[GW_ROOMCFG_ADDR_MAX_BYTES + 1];
    return gw_roomcfg_addr_canon(who, canon, sizeof canon) == 0 && strcmp(canon, who) == 0;
}

int gw_roomcfg_clear_check(const char *room, int list, int kind, const char *who)
{
    if (gw_roomcfg_list_max(list) == 0 || gw_roomcfg_room_check(room, list) != 0 ||
        !gw_roomcfg_kind_ok(list, kind) || !who_ok(kind, who))
        return GW_STORE_EINVAL;
    return 0;
}

int gw_roomcfg_entry_check(const char *room, const struct gw_roomcfg_entry *e)
{
    if (!e || gw_roomcfg_clear_check(room, e->list, e->kind, e->who) != 0 ||
        !len_ok(e->by, 0, GW_ROOMCFG_BY_MAX_BYTES) || !len_ok(e->why, 0, GW_ROOMCFG_WHY_MAX_BYTES) ||
        e->expires_ms < 0 || (e->expires_ms != 0 && e->expires_ms <= e->set_ms))
        return GW_STORE_EINVAL;
    return 0;
}

int gw_roomcfg_topic_check(const char *room, const char *text, const char *by)
{
    if (!room_key_ok(room) || !len_ok(text, 0, GW_ROOMCFG_TOPIC_MAX_BYTES) ||
        !len_ok(by, 0, GW_ROOMCFG_BY_MAX_BYTES))
        return GW_STORE_EINVAL;
    return 0;
}

int gw_roomcfg_settings_check(const char *room, unsigned flags, const char *key)
{
    if (!room_key_ok(room) || (flags & ~GW_ROOMCFG_FLAGS_ALL) != 0 ||
        !len_ok(key, 0, GW_ROOMCFG_KEY_MAX_BYTES))
        return GW_STORE_EINVAL;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++)
        if (*c <= ' ' || *c > '~')
            return GW_STORE_EINVAL;
    return 0;
}

int gw_roomcfg_owner_check(const char *room, const char *owner)
{
    if (!room_key_ok(room) || !owner || (owner[0] != '\0' && !name_ok(owner)))
        return GW_STORE_EINVAL;
    return 0;
}

/* ---- addresses ---- */

/* An address, parsed: 4 or 16 bytes, and its prefix length. */
struct addr {
    int v6;
    unsigned char b[16];
    unsigned bits;
};

static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parse "A" or "A/n" (want_prefix 1 allows the prefix). 0 or -1. */
static int addr_parse(const char *in, int want_prefix, struct addr *a)
{
    if (!len_ok(in, 1, GW_ROOMCFG_ADDR_MAX_BYTES))
        return -1;
    char host[GW_ROOMCFG_ADDR_MAX_BYTES + 1];
    const char *slash = strchr(in, '/');
    size_t hl = slash ? (size_t)(slash - in) : strlen(in);
    memcpy(host, in, hl);
    host[hl] = '\0';
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, host, a->b) == 1) {
        a->bits = 32;
    } else if (inet_pton(AF_INET6, host, a->b) == 1) {
        a->v6 = 1;
        a->bits = 128;
    } else {
        return -1;
    }
    if (slash) {
        const char *d = slash + 1;
        if (!want_prefix || *d < '0' || *d > '9' || (d[0] == '0' && d[1] != '\0'))
            return -1;
        unsigned n = 0;
        for (; *d; d++) {
            if (*d < '0' || *d > '9' || n > 128)
                return -1;
            n = n * 10 + (unsigned)(*d - '0');
        }
        if (n > a->bits)
            return -1;
        a->bits = n;
    }
    /* An IPv4-mapped IPv6 address is the IPv4 one. */
    if (a->v6 && a->bits >= 96 && memcmp(a->b, mapped, sizeof mapped) == 0) {
        memmove(a->b, a->b + 12, 4);
        memset(a->b + 4, 0, 12);
        a->v6 = 0;
        a->bits -= 96;
    }
    return 0;
}

/* Clear the bits past the prefix. */
static void addr_mask(struct addr *a)
{
    size_t len = a->v6 ? 16 : 4;
    for (size_t i = 0; i < len; i++) {
        unsigned from = (unsigned)i * 8;
        if (from >= a->bits)
            a->b[i] = 0;
        else if (a->bits - from < 8)
            a->b[i] &= (unsigned char)(0xffu << (8 - (a->bits - from)));
    }
}

int gw_roomcfg_addr_canon(const char *in, char *out, size_t cap)
{
    struct addr a;
    if (!out || cap < GW_ROOMCFG_ADDR_MAX_BYTES + 1 || addr_parse(in, 1, &a) != 0)
        return GW_STORE_EINVAL;
    addr_mask(&a);
    char host[INET6_ADDRSTRLEN];
    if (!inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.b, host, sizeof host))
        return GW_STORE_EINVAL;
    int n = snprintf(out, cap, "%s/%u", host, a.bits);
    return n > 0 && (size_t)n < cap ? 0 : GW_STORE_EINVAL;
}

int gw_roomcfg_addr_match(const char *entry, const char *addr)
{
    struct addr e, p;
    if (!entry || !addr || addr_parse(entry, 1, &e) != 0 || addr_parse(addr, 0, &p) != 0 ||
        e.v6 != p.v6)
        return 0;
    p.bits = e.bits;
    addr_mask(&p);
    addr_mask(&e);
    return memcmp(e.b, p.b, e.v6 ? 16 : 4) == 0;
}

int gw_roomcfg_entry_cmp(const void *a, const void *b)
{
    const struct gw_roomcfg_entry *x = a, *y = b;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->who, y->who);
}
