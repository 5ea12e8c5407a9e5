/*
 * gw_store.h - where room events are kept: the interface between the hub
 * and an engine that keeps each room's stream of events (SQLite on disk,
 * later a shared server), in the hub's terms: append an event to a room's
 * stream, read a range of a stream after or before an id, search a
 * stream's messages, load what the hub needs of a room when it opens it.
 *
 * The engine's I/O lives in its adapter (gw_store_sqlite.c), never in the
 * hub. The hub is handed a struct gw_store and calls its functions; the
 * engine reports what completes through the struct gw_store_sink it was
 * given, which the adapter wires to gw_hub_store_done and
 * gw_hub_store_rows.
 *
 * Appends may complete later. An engine that commits in batches (once per
 * turn of the event loop) or over a network answers GW_STORE_PENDING and
 * calls sink.done later, from its flush, never from inside a call the hub
 * made: the hub sends an event to nobody (not even its sender) before it
 * is reported kept. Completions of one room come in the order of its
 * appends. An engine with nothing to wait for (none: the memory store, a
 * NULL struct gw_store) keeps nothing here and the hub's own ring of recent
 * events (gw_history.h) is all the history there is.
 *
 * An engine several gateways share (Redis) orders the events itself
 * (GW_STORE_ORDERS): it gives each event its id, so an appended event's
 * JSON carries id 0 and the engine writes its own in that place (id_at),
 * and every event of a room the hub watches reaches the hub through
 * sink.event, this gateway's own appends as much as the others', in id
 * order. sink.done then only says whether an append was taken (its
 * sender is told 451 when not); the event itself is sent when it comes
 * back through sink.event. Typing goes the same way without being kept
 * (publish, sink.typing), so that it stays in order with the events.
 *
 * Not here: the encoding (gw_json.c writes an event's JSON once and the
 * store keeps those bytes), the transcript (gw_transcript.c renders the
 * line a TCP member is shown and the store keeps that too), fan-out.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"

/* Bounds of a read, named for the protocol (docs/protocol.md). */
#define GW_STORE_READ_MAX 500      /* events in one history or search answer */
#define GW_STORE_ONCE_MAX_BYTES 128 /* the name of an append made once (append_once) */

/* Return codes. Negative ones are failures; the hub tells a sender whose
 * event failed with GW_R_NOT_KEPT (gw_json.h). */
enum gw_store_status {
    GW_STORE_DONE = 1,     /* append: kept now; no done call follows */
    GW_STORE_PENDING = 0,  /* append: sink.done follows; read: sink.rows follows */
    GW_STORE_EIO = -1,     /* the engine failed (disk full, read-only, gone) */
    GW_STORE_ENOMEM = -2,
    GW_STORE_ENOTSUP = -3, /* this engine cannot do it (search in memory) */
    GW_STORE_EINVAL = -4,  /* a bad request (a search the engine cannot parse) */
    GW_STORE_EBUSY = -5,   /* a bound: too much waiting, a search over its time */
};

/* One event as kept. Strings need not be NUL-terminated; all are borrowed
 * for the call (an engine copies what it keeps). */
struct gw_store_event {
    uint64_t id;           /* the room's id for it: 1, 2, 3...; appended to an
                            * engine that orders: the hub's own count of its
                            * appends to the room, which done reports */
    int64_t time_ms;       /* wall clock, ms since the Unix epoch */
    int type;              /* enum gw_ev_type (gw_json.h) */
    const char *json;      /* the event as browsers get it */
    size_t json_len;
    const char *line;      /* the transcript line TCP members are shown, with its \r\n */
    size_t line_len;
    const char *text;      /* a message's words, for search; NULL for other events */
    size_t text_len;
    size_t id_at, id_len;  /* where json writes the id (its digits): an engine
                            * that orders writes its id there */
    /* A deleted event (type GW_EV_DELETED): the id of the room's message
     * it removes, else 0. An engine keeps the event and, in the same
     * step, removes that message's words: its text from the search index,
     * its JSON's "text" made "" with "deleted":true added (the rest, id
     * and all, as it was), its transcript line emptied; so that history
     * and search never give them again, after a restart too. */
    uint64_t deletes;
};

/* A read. */
enum gw_store_read_kind {
    GW_STORE_BEFORE,       /* events with ids below id (0: the newest), newest first */
    GW_STORE_AFTER,        /* events with ids above id, oldest first */
    GW_STORE_SEARCH,       /* messages matching q, newest first */
};

struct gw_store_read {
    enum gw_store_read_kind kind;
    uint64_t tag;          /* the hub's, handed back with the rows */
    const char *room_key;  /* NUL-terminated, as compared (gw_room.h) */
    uint64_t id;           /* BEFORE and SEARCH: below it (0: from the newest);
                            * AFTER: above it */
    unsigned limit;        /* 1..GW_STORE_READ_MAX */
    const char *q;         /* search: the user's words (gw_store_query_check) */
    size_t q_len;
};

/* An identity of a wintalk.v2 browser (gw_ident.h) as an engine several
 * gateways share keeps it, so that a browser may resume on any of them:
 * found by its token's SHA-256 digest (64 lowercase hex digits), never by
 * the token. Strings are borrowed for the call. */
struct gw_store_ident {
    const char *nick;            /* NUL-terminated; "" for none */
    uint64_t last_private;       /* its latest private message's id */
    uint64_t conn;               /* the participant id of its latest connection */
    size_t n;                    /* its private messages kept, oldest first */
    const uint64_t *ids;
    const char *const *json;     /* each as the identity's connections got it */
    const size_t *json_len;
};

/* What an engine reports, and to whom. */
struct gw_store_sink {
    void *ctx;
    /* Every event of room_key up to id (appended, not yet reported) is
     * kept (status GW_STORE_DONE) or lost (a negative status: none of them
     * was kept). */
    void (*done)(void *ctx, const char *room_key, uint64_t id, int status);
    /* The answer to a read: n events in the read's order, and whether
     * more lie beyond them; or a negative status and no events. */
    void (*rows)(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                 size_t n, int more);
    /* An engine that orders: an event of a watched room, kept, with its id
     * written into its JSON; a room's come in id order, once each (a gap
     * is what the engine could not recover). */
    void (*event)(void *ctx, const char *room_key, const struct gw_store_event *ev);
    /* An engine that orders: the typing update from (a participant id) in
     * a watched room, as published. */
    void (*typing)(void *ctx, const char *room_key, uint64_t from, const char *json,
                   size_t len);
    /* An engine that orders: another gateway's list of participants. */
    void (*presence)(void *ctx, uint64_t node, const char *json, size_t len);
    /* The same, read back from where the engine keeps the lists (on a
     * connect), sent age_ms ago: news of that gateway only as of then. */
    void (*presence_kept)(void *ctx, uint64_t node, const char *json, size_t len,
                          int64_t age_ms);
    /* An engine that orders: a private message for a participant here. */
    void (*private_in)(void *ctx, const char *json, size_t len);
    /* An engine that orders: a private message of private_to's that no
     * gateway took (the one it was for is gone). */
    void (*private_lost)(void *ctx, const char *json, size_t len);
    /* The answer to ident_find: the identity (NULL when the engine has
     * none of that digest), or a negative status and NULL. */
    void (*ident)(void *ctx, uint64_t tag, int status, const struct gw_store_ident *id);
    /* The answer to load_async: the room's latest id (0 for none) and its
     * latest events, n of them, oldest first; or a negative status, and
     * the room starts empty (its latest id still given when known). */
    void (*loaded)(void *ctx, const char *room_key, int status, uint64_t last_id,
                   const struct gw_store_event *ev, size_t n);
    /* An engine that orders: the room watched (watch) has caught up, once
     * per watch: every event it kept before this gateway was listening for
     * the room's new ones was given through sink.event (its latest, as
     * watch says), and every later one follows. Until then the hub holds
     * the room's joins (gw_hub_room_ready). */
    void (*ready)(void *ctx, const char *room_key);
};

/* Flags of an engine. */
#define GW_STORE_ORDERS 1u /* ids are the engine's; events come back through
                            * sink.event (the comment at the top) */

/* An engine, as the hub sees it. Any function may be NULL: it is then not
 * offered (GW_STORE_ENOTSUP). */
struct gw_store {
    void *ctx;
    const char *kind;      /* "sqlite", "memory": for /healthz and the log */
    unsigned flags;        /* GW_STORE_ORDERS */
    /*
     * Append ev to the stream of the room (key as compared, name as first
     * spelled). Returns GW_STORE_DONE, GW_STORE_PENDING or a failure (the
     * event is not kept; no done call follows).
     */
    int (*append)(void *ctx, const char *room_key, const char *room_name,
                  const struct gw_store_event *ev);
    /*
     * An engine that orders: append ev to the room's stream at most once,
     * however many gateways ask and however often: once names it (1 to
     * GW_STORE_ONCE_MAX_BYTES of [!-~], the same on every gateway, such as
     * one participant's leave of one room), and the first append of that
     * name is the one kept. The engine keeps trying through outages
     * (itself, for a bounded time) until the event is kept or known kept
     * already; nothing is reported: the event comes back through
     * sink.event like any other. Returns 0 (taken), or a failure (nothing
     * will be tried: GW_STORE_EINVAL, GW_STORE_ENOMEM, GW_STORE_EBUSY at the
     * engine's bound, GW_STORE_EIO with no epoch known yet).
     */
    int (*append_once)(void *ctx, const char *room_key, const char *room_name,
                       const struct gw_store_event *ev, const char *once);
    /* Start a read; its rows come through sink.rows (GW_STORE_PENDING), or
     * a failure is returned and nothing comes. */
    int (*read)(void *ctx, const struct gw_store_read *rd);
    /*
     * What the hub needs of a room it opens, at once: its latest id (0
     * for none) in *last_id, and its latest events, at most max_events and
     * max_bytes of JSON, given to each() oldest first (each() must not
     * call the store). Returns 0 or a failure (the room starts empty
     * then).
     */
    int (*load)(void *ctx, const char *room_key, size_t max_events, size_t max_bytes,
                uint64_t *last_id, void (*each)(void *arg, const struct gw_store_event *ev),
                void *arg);
    /*
     * The same, later: what load gives comes through sink.loaded, off the
     * caller's thread (a disk read of a room's latest events, 1 MiB, must
     * not hold the event loop). Returns GW_STORE_PENDING, or a failure and
     * nothing comes (the hub then loads the room with load, at once). The
     * hub holds the room's joins meanwhile (gw_hub_room_ready).
     */
    int (*load_async)(void *ctx, const char *room_key, size_t max_events, size_t max_bytes);
    /*
     * An engine that orders: report the events of the room with ids above
     * after through sink.event from now on (the latest it keeps first, at
     * most GW_HISTORY_MAX_EVENTS of them, then each as it comes), until
     * unwatch; sink.ready says when the kept ones are all given. Returns
     * 0 or a failure (the engine retries by itself: a room is watched
     * until unwatched).
     */
    int (*watch)(void *ctx, const char *room_key, const char *room_name, uint64_t after);
    void (*unwatch)(void *ctx, const char *room_key);
    /* An engine that orders: send a typing update to every gateway
     * watching the room (this one too: sink.typing), keeping nothing.
     * Returns 0 or a failure (the update is dropped: typing is not kept). */
    int (*publish)(void *ctx, const char *room_key, uint64_t from, const char *json,
                   size_t len);
    /* An engine that orders: send this gateway's (node's) list of
     * participants to the other gateways (sink.presence there). Returns 0
     * or a failure (the next one is sent a beat later). */
    int (*presence)(void *ctx, uint64_t node, const char *json, size_t len);
    /* An engine that orders: a private message for a participant of the
     * gateway node (sink.private_in there; sink.private_lost here when no
     * gateway took it). Returns 0 or a failure (the sender is told it was
     * not sent). */
    int (*private_to)(void *ctx, uint64_t node, const char *json, size_t len);
    /*
     * Identities kept for every gateway (struct gw_store_ident), each for
     * GW_IDENTITY_TTL_MS after it was last kept or touched:
     * ident_keep keeps the nick, the latest private id and the latest
     * connection (a participant id) of the identity whose digest is
     * digest_hex, and with a pm_id above 0 the private
     * message json under that id (the oldest past GW_PRIVATE_KEEP go);
     * ident_touch keeps it longer (it still has connections); ident_find
     * looks one up, answered through sink.ident with tag. Each returns 0
     * or a failure (nothing is kept; ident_find: no answer follows).
     */
    int (*ident_keep)(void *ctx, const char *digest_hex, const char *nick,
                      uint64_t last_private, uint64_t conn, uint64_t pm_id, const char *json,
                      size_t len);
    int (*ident_touch)(void *ctx, const char *digest_hex);
    int (*ident_find)(void *ctx, uint64_t tag, const char *digest_hex);
    /*
     * The room's last member left (its leave appended before this call):
     * an engine forgets a room that has no messages kept (only joins,
     * leaves and nick changes), its events and its entry, so that a name
     * joined once and left costs nothing kept, and never gives its ids
     * again (a room opened later starts above them: load's last_id). A
     * room with messages stays. An append to the room before the engine
     * acts cancels it. No answer; a failure forgets nothing.
     */
    void (*forget)(void *ctx, const char *room_key);
};

/* Whether q (len bytes) is a search the protocol accepts: 1 to
 * GW_STORE_QUERY_MAX_BYTES of UTF-8 with at least one letter or digit.
 * Returns 0 or GW_STORE_EINVAL. */
int gw_store_query_check(const char *q, size_t len);

/* English for a gw_store_status. Never NULL. */
const char *gw_store_strerror(int status);

#endif /* GW_STORE_H */
