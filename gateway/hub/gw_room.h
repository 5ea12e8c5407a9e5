/*
 * gw_room.h - rooms: a room is a named stream of events (its own ids, 1,
 * 2, 3..., readable back from an id: gw_history.h), the transcript its TCP
 * members are shown (gw_transcript.h), and its members; the registry holds
 * every room by its case-insensitive key, creates them, and, at its bound,
 * drops the empty room least recently active. #lobby is always there.
 *
 * Pure: no I/O, no clock, no logging. A room knows its members only as
 * pointers to the hub's participants (struct gw_part, opaque here), in two
 * arrays (browsers, TCP) so that a room event reaches its members only:
 * the hub keeps, for each membership, the member's index in the room's
 * array (gw_room_add gives it; gw_room_del says whose index changed). A
 * room is freed only when the registry drops it, which it does only with
 * an empty room, so no participant ever holds a freed room.
 *
 * Ids stay unique within the hub's epoch even across a drop: a room made
 * after rooms were dropped starts its ids after the highest id any dropped
 * room had, so a browser that comes back with an id from a dropped room
 * is told of a gap (or gets everything), never given a silent one.
 */
#ifndef GW_ROOM_H
#define GW_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "gw_history.h"
#include "gw_limits.h"
#include "gw_transcript.h"

struct gw_part;

/*
 * An event handed to the store and not yet reported kept (gw_store.h):
 * nobody is sent it before. The JSON browsers get, the line TCP members
 * are shown, and who to tell when it is lost. One allocation each, in the
 * room's FIFO in id order. A typing update made while events wait goes in
 * the FIFO too, so that browsers see a room's events and typing in the
 * order they happened (a line's message before its typing stops).
 */
struct gw_pending {
    struct gw_pending *next;
    uint64_t id;             /* 0: a typing update, kept in order behind the events */
    uint64_t pid;            /* the sender of a message, told if it is lost (a typing
                              * update: whose it is, not sent to itself); 0: nobody */
    struct gw_buf *json;
    size_t line_len;
    char *ref;               /* the sender's ref as JSON ("" for none), in this block */
    char line[];             /* line_len bytes, then the ref */
};

/* What a join held while its room loads is (gw_hub_room_hold). */
enum gw_hold { GW_HOLD_NONE, GW_HOLD_HELLO, GW_HOLD_WEB_JOIN, GW_HOLD_TCP_MOVE };

/* A join waiting for its room: whose, which of its holds (a hello, a TCP
 * move: the participant's hold_seq then), since when, and a browser
 * join's last_id and ref (as JSON). */
struct gw_room_wait {
    uint64_t pid, seq;
    int64_t since;         /* the hub's clock when held (its last tick) */
    enum gw_hold what;
    uint64_t last_id;
    char ref[GW_REF_MAX_BYTES * 6 + 3];
};

/* The name everyone starts in; never dropped. */
#define GW_LOBBY "#lobby"

struct gw_room {
    char name[GW_ROOM_NAME_MAX_BYTES + 1]; /* as first spelled */
    char key[GW_ROOM_NAME_MAX_BYTES + 1];  /* ASCII lower case: as compared */
    struct gw_history history;             /* its events: ids, read back after an id */
    struct gw_transcript transcript;       /* what its TCP members are shown */
    struct gw_part **web, **tcp;           /* its members, by transport */
    size_t nweb, ntcp, web_cap, tcp_cap;
    struct gw_pending *pending, *pending_tail; /* waiting for the store, oldest first */
    size_t npending;
    uint64_t appends;      /* handed to an engine that orders (gw_store.h): the
                            * count its done reports against */
    int loaded;            /* what the store keeps of it was loaded (gw_hub_room_load) */
    /* Loading: what the store keeps of it is on its way (gw_store.h,
     * load_async; an engine that orders: watch, until sink.ready, its
     * events kept in the ring meanwhile and sent to nobody); nobody is in
     * it yet, and the joins asked meanwhile wait
     * here, in order, until gw_hub_room_ready (at most GW_ROOM_WAITS_MAX).
     * Whatever makes a room wait for its store may use it: a wait names a
     * participant and its hold (gw_part.hold_seq), which a later hold of
     * that participant replaces. */
    int loading;
    /* Loading ends when its events are here (events_ready) and, with
     * accounts, the store's list of its members too (away_wait 0). */
    int events_ready, away_wait;
    struct gw_room_wait *waits;
    size_t nwaits, waits_cap;
    /* The accounts that stay members of it with no connection here nor on
     * another gateway sharing it, as far as known (gw_away.c). */
    struct gw_away *away;
    size_t naway, away_cap;
    /* Its walk of the store's members, or the nicks of those away, asked
     * of the store: the tags [away_tag, away_tag + away_asked), of which
     * away_answered came back; away_tag 0: none on its way. */
    uint64_t away_tag;
    size_t away_asked, away_answered;
    uint64_t active;       /* the registry's clock when something last happened here */
    size_t slot;           /* index in the registry's list */
    struct gw_room *next;  /* the registry's hash chain */
};

/* Return codes of the registry. */
enum gw_room_status {
    GW_ROOM_OK = 0,
    GW_ROOM_BAD_NAME = -1, /* not '#' and 1..32 of [A-Za-z0-9._-] */
    GW_ROOM_FULL = -2,     /* at the bound, and no room is empty to drop */
    GW_ROOM_NOMEM = -3,
};

/* The registry. The fields are the module's own. */
struct gw_rooms {
    struct gw_room **list;   /* count rooms, in no order */
    size_t count, max;
    struct gw_room **buckets; /* by key: a power of two of chains */
    size_t mask;
    uint64_t clock;          /* counts what happens, for "least recently active" */
    uint64_t id_floor;       /* the highest id a dropped room had */
    struct gw_room *lobby;
    /* Told of a room just before it is dropped (NULL: nobody). */
    void (*on_drop)(void *arg, const struct gw_room *r);
    void *drop_arg;
};

/* Whether name (len bytes) is a room name: GW_ROOM_OK or GW_ROOM_BAD_NAME. */
int gw_room_name_check(const char *name, size_t len);

/* Start a registry of at most max rooms (0: GW_ROOMS_MAX_DEFAULT; at most
 * GW_ROOMS_CEILING), with #lobby in it. Returns GW_ROOM_OK or
 * GW_ROOM_NOMEM (nothing to free then). */
int gw_rooms_init(struct gw_rooms *rs, unsigned max);

/* Free every room (their members must be gone or about to be) and the
 * registry. */
void gw_rooms_free(struct gw_rooms *rs);

/* The room called name (len bytes, any case), or NULL when there is none
 * or the name is not a room name. Borrowed until the registry drops it. */
struct gw_room *gw_rooms_find(const struct gw_rooms *rs, const char *name, size_t len);

/*
 * The room called name (len bytes), created (spelled as given) when there
 * is none; at the bound, the empty room least recently active is dropped
 * first, with its history. Stores the room in *out. Returns GW_ROOM_OK,
 * GW_ROOM_BAD_NAME, GW_ROOM_FULL (every room has members or events
 * waiting for the store: nothing changes) or GW_ROOM_NOMEM.
 */
int gw_rooms_open(struct gw_rooms *rs, const char *name, size_t len, struct gw_room **out);

/* Something happened in r (an event, a join): it is the most recently
 * active room. */
void gw_room_touch(struct gw_rooms *rs, struct gw_room *r);

/* Members of r (both transports). */
size_t gw_room_members(const struct gw_room *r);

/* Add p to r's browsers (web) or TCP members; *idx gets its index there.
 * Returns GW_ROOM_OK or GW_ROOM_NOMEM (p is not added). */
int gw_room_add(struct gw_room *r, struct gw_part *p, int web, size_t *idx);

/* Remove the member at idx of r's browsers (web) or TCP members. The last
 * member takes its place: returns that member, whose index is now idx, or
 * NULL when none moved. */
struct gw_part *gw_room_del(struct gw_room *r, int web, size_t idx);

/* Strings: a room name as a registry error says it. */
const char *gw_room_strerror(int status);

#endif /* GW_ROOM_H */
