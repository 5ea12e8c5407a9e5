/*
 * gw_roomcfg.h - what a room keeps about who is in charge and who may do
 * what: the interface every store engine offers the hub for it, beside the
 * rooms' events (gw_store.h) and the accounts (gw_accounts.h). Not the
 * rules: who may change what, and what a setting means for a join or a
 * message, is the hub's to decide; an engine only keeps and gives back.
 *
 * A room (by its key, gw_room.h: '#' and up to GW_ROOM_NAME_MAX_CHARS
 * bytes of ASCII lower case) keeps:
 *  - its owner: an account key, or none (""): a room made by a guest has
 *    none until an administrator gives it one;
 *  - its topic: text, who set it (a nick as shown) and when;
 *  - its settings: flags (GW_ROOMCFG_INVITE, _REGISTERED, _MODERATED,
 *    _TOPIC_ANYONE) and a join key ("" for none);
 *  - lists of entries (struct gw_roomcfg_entry), each bounded per room
 *    (gw_limits.h): its operators, those given voice, its bans, mutes
 *    and invites. Besides the rooms, the gateway-wide bans (GW_RCL_GBAN)
 *    are one more list, kept under the room "".
 * A room nobody configured has no owner, no topic, no flags, no key and
 * no entries: load answers exactly that (GW_STORE_DONE), never "none".
 *
 * The join key is kept as given, not hashed. It is a secret shared by
 * everyone who may join, not a person's password: the operators must be
 * able to read it back and tell it to people (IRC shows +k to those in the
 * channel for the same reason), and every gateway on a shared store must
 * compare it. A hash would make it unreadable without protecting anything
 * a person reuses elsewhere. The hub compares it in constant time and shows
 * it only to operators; docs/protocol.md tells owners not to use a
 * password of theirs as a room key.
 *
 * Who an entry names (its kind):
 *  - GW_RCK_ACCOUNT: an account key (gw_nick_key of a registered nick);
 *  - GW_RCK_NICK: a nick's key (gw_nick_key), for a guest: only where a
 *    nick is all the hub can name and naming it grants something (voice,
 *    an invite); a guest changes its nick at will, so a nick never bans or
 *    mutes (a guest is banned or muted by its address);
 *  - GW_RCK_ADDRESS: an IPv4 or IPv6 address or CIDR prefix, canonical as
 *    gw_roomcfg_addr_canon writes it ("192.0.2.0/24", "2001:db8::/32",
 *    a single address with its full prefix: "192.0.2.7/32"; an
 *    IPv4-mapped IPv6 address is written as the IPv4 one), for a guest.
 * Which kinds each list takes: operators GW_RCK_ACCOUNT only; voice and
 * invites ACCOUNT or NICK; bans, mutes and gateway-wide bans ACCOUNT or
 * ADDRESS. Another kind is GW_STORE_EINVAL. Entries are unique by (list,
 * kind, who): setting one again replaces it (by, when, why, expiry).
 *
 * Expiry: an entry with expires_ms 0 lasts until cleared; otherwise it is
 * over from expires_ms on: at now_ms >= expires_ms it is expired (the same
 * rule as a session, gw_accounts.h). An expired entry is never given
 * (load, entries), counts toward no bound, and clearing it is answered
 * GW_ROOMCFG_NONE. Engines delete expired entries lazily: a write to a
 * list drops that room's expired entries of that list first (as of the
 * write's time), and an engine's upkeep may delete more; until then they
 * only take room on disk.
 *
 * Every call is answered later through the sink, with the caller's tag,
 * never from inside the call; a call that returns a failure is not
 * answered. Writes are kept in the order they were made, and a read sees
 * every write made before it. Strings are borrowed for the call (an engine
 * copies what it keeps) and for the answer (the receiver copies what it
 * keeps).
 *
 * Every write answered GW_STORE_DONE is followed by sink->changed (the
 * room and what changed), on every gateway that shares the engine, this
 * one included, so that the hub can act on a change the same way whoever
 * made it: an engine of one gateway gives it after the answer; the Redis
 * engine publishes it (channel wintalk:roomcfg) and gives it as it comes
 * back, so a change reaches every gateway at once.
 *
 * Pure interface: the engines are gw_roomcfg_mem.c (in memory, for
 * --store memory and the hub's tests), gw_store_sqlite.c
 * (gw_sqlite_roomcfg: tables room_cfg and room_entries) and
 * gw_store_redis.c (gw_rstore_roomcfg: shared by every gateway on one
 * Redis); gw_roomcfg.c holds what every engine checks the same way (the
 * bounds, addresses). tests/gateway/roomcfgtest.h is what every engine
 * must do, run by each engine's test.
 */
#ifndef GW_ROOMCFG_H
#define GW_ROOMCFG_H

#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"
#include "gw_store.h"

/* Answers besides enum gw_store_status's. */
#define GW_ROOMCFG_NONE (-30)      /* entry_clear: no such entry (or only an
                                    * expired one) */
#define GW_ROOMCFG_FULL (-31)      /* entry_set: a new entry past the list's
                                    * bound (expired ones not counted):
                                    * nothing kept */

/* Settings (bits of flags). */
#define GW_ROOMCFG_INVITE 1u       /* invite-only: an invite lets one in */
#define GW_ROOMCFG_REGISTERED 2u   /* registered accounts only */
#define GW_ROOMCFG_MODERATED 4u    /* only operators and those given voice speak */
#define GW_ROOMCFG_TOPIC_ANYONE 8u /* anyone in the room may set the topic */
#define GW_ROOMCFG_FLAGS_ALL 15u   /* any other bit is GW_STORE_EINVAL */

/* The lists. */
enum gw_roomcfg_list {
    GW_RCL_OP = 0,     /* operators (the owner is not one of them: owner) */
    GW_RCL_VOICE = 1,  /* may speak in a moderated room */
    GW_RCL_BAN = 2,    /* kept out of the room */
    GW_RCL_MUTE = 3,   /* may read, not speak */
    GW_RCL_INVITE = 4, /* let into an invite-only room */
    GW_RCL_GBAN = 5,   /* kept out of the gateway: room "" only */
    GW_RCL_COUNT = 6,
};

/* Who an entry names. */
enum gw_roomcfg_kind {
    GW_RCK_ACCOUNT = 1,
    GW_RCK_NICK = 2,
    GW_RCK_ADDRESS = 3,
};

/* What changed (bits of sink->changed's what). */
#define GW_ROOMCFG_CH_OWNER 1u
#define GW_ROOMCFG_CH_TOPIC 2u
#define GW_ROOMCFG_CH_SETTINGS 4u
#define GW_ROOMCFG_CH_LIST(l) (8u << (unsigned)(l)) /* an entry of list l */

/* Bounds of strings, in bytes without the NUL (each 0 .. this, unless
 * said otherwise). */
#define GW_ROOMCFG_ROOM_MAX_BYTES GW_ROOM_NAME_MAX_BYTES /* 2 .. this, '#' first */
/* An entry's who: 1 .. this (an account or nick key is at most
 * GW_NICK_MAX_BYTES, an address "ffff:...:ffff/128" 43). */
#define GW_ROOMCFG_WHO_MAX_BYTES GW_NICK_MAX_BYTES
#define GW_ROOMCFG_BY_MAX_BYTES GW_NICK_MAX_BYTES /* who set it: a nick as shown */
#define GW_ROOMCFG_ADDR_MAX_BYTES 48u /* an address as given to addr_canon or
                                       * addr_match, and as written */

/* One entry of a list. */
struct gw_roomcfg_entry {
    int list;              /* enum gw_roomcfg_list */
    int kind;              /* enum gw_roomcfg_kind, as the list takes */
    const char *who;       /* 1..GW_ROOMCFG_WHO_MAX_BYTES: an account or nick
                            * key, or a canonical address (addr_canon) */
    const char *by;        /* who set it: a nick as shown, 0..GW_ROOMCFG_BY_MAX_BYTES */
    int64_t set_ms;        /* when (wall clock, ms since the Unix epoch); the
                            * engine's "now" for the write that sets it */
    int64_t expires_ms;    /* 0: never; else over at now >= expires_ms */
    const char *why;       /* 0..GW_ROOMCFG_WHY_MAX_BYTES */
};

/* A room's whole config, as load gives it. */
struct gw_roomcfg {
    const char *room;      /* its key */
    const char *owner;     /* an account key; "" for none */
    const char *topic;     /* "" for none */
    const char *topic_by;  /* who set it, a nick as shown ("" with no topic) */
    int64_t topic_ms;      /* when (0 with no topic ever set) */
    unsigned flags;        /* GW_ROOMCFG_INVITE ... */
    const char *key;       /* the join key; "" for none */
    /* Every entry not expired, ordered by list, then kind, then who (bytes). */
    const struct gw_roomcfg_entry *entries;
    size_t n;
};

/* What an engine reports. */
struct gw_roomcfg_sink {
    void *ctx;
    /* The answer to a write made with tag: GW_STORE_DONE, GW_ROOMCFG_NONE,
     * GW_ROOMCFG_FULL, or a failure of enum gw_store_status. */
    void (*answer)(void *ctx, uint64_t tag, int status);
    /* The answer to load: GW_STORE_DONE and the room's config, or a
     * failure and NULL. May be NULL when load is never called. */
    void (*config)(void *ctx, uint64_t tag, int status, const struct gw_roomcfg *c);
    /* The answer to entries: GW_STORE_DONE and the list's entries not
     * expired (n 0 .. the list's bound, ordered by kind, then who), or a
     * failure (NULL, 0). May be NULL when entries is never called. */
    void (*entries)(void *ctx, uint64_t tag, int status, const struct gw_roomcfg_entry *e,
                    size_t n);
    /* A room's config changed (room "" for the gateway-wide bans): what is
     * GW_ROOMCFG_CH_* bits. Or room NULL (what 0): news may have been
     * missed (an engine several gateways share whose link came back after
     * an outage): load again what matters. Not an answer: no tag. May be
     * NULL. */
    void (*changed)(void *ctx, const char *room, unsigned what);
};

/* A room's config as the hub sees it. Any function may be NULL: not
 * offered (GW_STORE_ENOTSUP). Each returns GW_STORE_PENDING (the answer
 * follows) or a failure (nothing done, no answer): GW_STORE_EINVAL for a
 * bad argument (a NULL string or struct; a room, who, by, why, topic or
 * key outside its bounds; a kind the list does not take; an address not
 * canonical; room "" with another list than GW_RCL_GBAN, or GW_RCL_GBAN
 * with a room; flags outside GW_ROOMCFG_FLAGS_ALL; a call whose answer
 * goes to a sink function the engine was not given), or the engine's own
 * (GW_STORE_EIO, EBUSY, ENOMEM). */
struct gw_roomcfgs {
    void *ctx;
    /* The room's whole config, as of now_ms (entries expired then are not
     * given), through sink->config. */
    int (*load)(void *ctx, uint64_t tag, const char *room, int64_t now_ms);
    /* The owner: an account key, or "" for none. Answered GW_STORE_DONE. */
    int (*owner_set)(void *ctx, uint64_t tag, const char *room, const char *owner);
    /* The topic (0..GW_ROOMCFG_TOPIC_MAX_BYTES; "" clears it), who set it
     * and when. Answered GW_STORE_DONE. */
    int (*topic_set)(void *ctx, uint64_t tag, const char *room, const char *text,
                     const char *by, int64_t time_ms);
    /* The settings: flags and the join key (0..GW_ROOMCFG_KEY_MAX_BYTES of
     * [!-~]: typed as one word; "" for none), both at once. Answered
     * GW_STORE_DONE. */
    int (*settings_set)(void *ctx, uint64_t tag, const char *room, unsigned flags,
                        const char *key);
    /* Add e to its list (e->list), or replace the entry of the same kind
     * and who. The list's expired entries as of e->set_ms are dropped
     * first; a new entry past the list's bound is answered
     * GW_ROOMCFG_FULL (nothing kept), else GW_STORE_DONE. An e->expires_ms
     * at or before e->set_ms (other than 0) is GW_STORE_EINVAL: it would
     * be over when made. */
    int (*entry_set)(void *ctx, uint64_t tag, const char *room,
                     const struct gw_roomcfg_entry *e);
    /* Remove the entry (list, kind, who): GW_STORE_DONE, or
     * GW_ROOMCFG_NONE when there is none not expired at now_ms. */
    int (*entry_clear)(void *ctx, uint64_t tag, const char *room, int list, int kind,
                       const char *who, int64_t now_ms);
    /* One list's entries not expired at now_ms, through sink->entries
     * (the gateway-wide bans: room "", GW_RCL_GBAN). */
    int (*entries)(void *ctx, uint64_t tag, const char *room, int list, int64_t now_ms);
};

/* ---- what every engine checks the same way (gw_roomcfg.c; pure) ---- */

/* The bound of list l (GW_ROOMCFG_OPS_MAX ...), 0 for no such list. */
size_t gw_roomcfg_list_max(int list);

/* qsort's comparison of two struct gw_roomcfg_entry: the order entries
 * are given in (by list, then kind, then who as bytes). */
int gw_roomcfg_entry_cmp(const void *a, const void *b);

/* Whether list l takes kind: 1 or 0. */
int gw_roomcfg_kind_ok(int list, int kind);

/* Whether room names a room (1: '#' and 1..GW_ROOM_NAME_MAX_CHARS more
 * bytes, none of them an ASCII capital, space or control), or the
 * gateway ("": 0 with gateway 1), for list; returns 0 or GW_STORE_EINVAL. */
int gw_roomcfg_room_check(const char *room, int list);

/* Whether e may be set in room: every bound and rule above. Returns 0 or
 * GW_STORE_EINVAL. */
int gw_roomcfg_entry_check(const char *room, const struct gw_roomcfg_entry *e);

/* Whether a clear's (room, list, kind, who) are within their bounds.
 * Returns 0 or GW_STORE_EINVAL. */
int gw_roomcfg_clear_check(const char *room, int list, int kind, const char *who);

/* Whether topic, by, settings are within their bounds (as the calls above
 * check them). Each returns 0 or GW_STORE_EINVAL. */
int gw_roomcfg_topic_check(const char *room, const char *text, const char *by);
int gw_roomcfg_settings_check(const char *room, unsigned flags, const char *key);
int gw_roomcfg_owner_check(const char *room, const char *owner);

/*
 * The canonical form of an address or CIDR prefix in (an IPv4 dotted quad
 * or an IPv6 address, optionally "/n" with n 0..32 or 0..128 in decimal
 * without leading zeros), into out (cap bytes, at least
 * GW_ROOMCFG_ADDR_MAX_BYTES + 1): the address with the bits past the
 * prefix cleared, then "/n" (the full length for an address without one),
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 one (its prefix
 * less 96; below 96 it stays IPv6). Returns 0, or GW_STORE_EINVAL (not an
 * address, a bad prefix, out too small).
 */
int gw_roomcfg_addr_canon(const char *in, char *out, size_t cap);

/* Whether the peer's address (an address without a prefix, as the
 * transport gives it; IPv4-mapped IPv6 counts as IPv4) lies in the
 * canonical prefix entry: 1, else 0 (also for anything that does not
 * parse). */
int gw_roomcfg_addr_match(const char *entry, const char *addr);

#endif /* GW_ROOMCFG_H */
