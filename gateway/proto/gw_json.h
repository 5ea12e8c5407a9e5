/*
 * gw_json.h - the JSON side of the WebSocket protocols (wintalk.v1 and
 * wintalk.v2): encoding the gateway's messages, and parsing (and checking)
 * the browser's.
 *
 * Pure: no I/O. cJSON trees never leave gw_json.c; what a parse yields is
 * copied into struct gw_cmsg. Encoders write straight into a gw_buf (with
 * the adapter's headroom), so each event is serialized once and shared.
 * docs/protocol.md shows every message this module reads or writes.
 */
#ifndef GW_JSON_H
#define GW_JSON_H

#include "gw_limits.h"
#include "gw_queue.h"

#include <stddef.h>
#include <stdint.h>

/* Reply codes (docs/protocol.md, "Reply codes"). */
enum gw_reply {
    GW_R_WHO = 211,
    GW_R_HELP = 214,
    GW_R_READY = 220,
    GW_R_CLOSING = 221,
    GW_R_OK = 250,
    GW_R_SHUTDOWN = 421,
    GW_R_SLOW_DOWN = 429,
    GW_R_NOT_KEPT = 451,       /* the store failed: the message was not accepted */
    GW_R_TOO_MANY_ROOMS = 452,
    GW_R_UNREADABLE = 500,
    GW_R_BAD_ARGS = 501,
    GW_R_UNKNOWN = 502,
    GW_R_SEQUENCE = 503,
    GW_R_NOT_OFFERED = 504,    /* not offered by this gateway's store (search in memory) */
    GW_R_KEY = 530,
    GW_R_NOT_ALLOWED = 532,    /* not the right to: another's message (delete) */
    GW_R_NO_NICK = 550,
    GW_R_NO_MESSAGE = 550,     /* no such message in the room (delete) */
    GW_R_DELETED = 551,        /* the message was deleted already */
    GW_R_TOO_LARGE = 552,
    GW_R_NAME = 553,
};

/* ---- a small JSON writer into a growing gw_buf ---- */

struct gw_jw {
    struct gw_buf *buf; /* owned until gw_jw_finish */
    size_t cap;         /* payload capacity of buf */
    int err;            /* sticky: out of memory */
};

/* Start writing. Allocates; on failure w->err is set and writes are no-ops. */
void gw_jw_init(struct gw_jw *w, size_t headroom, size_t hint);
void gw_jw_raw(struct gw_jw *w, const char *s, size_t n);
void gw_jw_lit(struct gw_jw *w, const char *s);        /* NUL-terminated raw */
void gw_jw_str(struct gw_jw *w, const char *s, size_t n); /* quoted, escaped */
void gw_jw_int(struct gw_jw *w, int64_t v);
void gw_jw_uint(struct gw_jw *w, uint64_t v);
/* Hand over the buffer (caller owns the reference); NULL if out of memory,
 * in which case everything was freed. */
struct gw_buf *gw_jw_finish(struct gw_jw *w);

/* ---- gateway to browser ---- */

enum gw_ev_type { GW_EV_MESSAGE, GW_EV_JOIN, GW_EV_LEAVE, GW_EV_NICK, GW_EV_TYPING,
                  GW_EV_DELETED };

/*
 * Why a participant left, as a leave event says it: the adapter tells the
 * hub which (gw_hub_disconnect), and only this module writes the word
 * (docs/protocol.md, "leave"). A value outside the enum reads "closed".
 */
enum gw_leave_reason {
    GW_LEAVE_CLOSED,   /* "closed": the participant closed its connection */
    GW_LEAVE_ERROR,    /* "error": the gateway ended it (bad input, a limit, a timeout) */
    GW_LEAVE_BEHIND,   /* "behind": a browser too far behind; it may resume */
    GW_LEAVE_SHUTDOWN, /* "shutdown": the gateway is stopping */
    GW_LEAVE_PART,     /* "part": it went to another room, or left this one */
    GW_LEAVE_GONE,     /* "gone": its gateway (sharing the rooms) stopped answering */
    GW_LEAVE_AWAY,     /* "away": an account's last connection there closed; it
                        * stays a member of the room, listed away */
};

/* One room event as the JSON layer sees it. Strings are borrowed for the
 * call and hold canonical text. id and time are unused for typing. */
struct gw_event {
    enum gw_ev_type type;
    const char *room;       /* the room's name; NULL: none written */
    uint64_t id;
    int64_t time_ms;
    uint64_t pid;
    const char *nick;
    const char *ident;      /* the public name of a wintalk.v2 browser's
                             * identity (gw_ident.h); NULL: none written */
    const char *via;        /* "tcp" or "web" */
    const char *text;       /* message, typing */
    size_t text_len;
    int me;                 /* message: a /me action */
    const char *old;        /* nick: the previous name */
    enum gw_leave_reason reason; /* leave */
    int back;               /* join: an account back in a room it stayed in */
    int tab;                /* join, leave: a connection of a person who is (or
                             * stays) in the room through another gateway */
    uint64_t deleted;       /* deleted: the id of the message removed */
    const char *of;         /* deleted: its sender's nick */
};

/* Encode an event as one JSON object. Returns a new buffer (caller owns the
 * reference) or NULL when out of memory. */
struct gw_buf *gw_json_event(const struct gw_event *ev, size_t headroom);

/* The same, and, for an event with an id (not typing), where its digits
 * start in the payload in *id_at (untouched for typing). */
struct gw_buf *gw_json_event_at(const struct gw_event *ev, size_t headroom, size_t *id_at);

/* One private message as one receiver gets it (its own copy: the id is of
 * the receiving identity's sequence, `with` the other party). Strings are
 * borrowed for the call. */
struct gw_private {
    uint64_t id;
    int64_t time_ms;
    uint64_t pid;           /* the sender */
    const char *nick;
    const char *via;
    const char *to;         /* the receiver's nick */
    const char *with;       /* the other party for this copy's receiver */
    const char *text;
    size_t text_len;
    uint64_t to_pid;        /* the receiver, on its way to another gateway
                             * (written as "to_pid"); 0 for a browser's copy */
    int kept;               /* kept for an account while it was away, given
                             * when it came back (written "kept":true) */
};

/* A private message from another gateway sharing the rooms, as
 * gw_json_private writes it with to_pid: whom it is for, and from whom. The text is cleaned again
 * here (valid UTF-8, no control characters) and at most
 * GW_PRIVATE_IN_MAX_BYTES. */
#define GW_PRIVATE_IN_MAX_BYTES (64u * 1024u)
struct gw_cmsg_private {
    uint64_t to_pid, pid;
    int64_t time_ms;
    char nick[GW_NICK_MAX_BYTES + 1];
    char via[4];            /* "tcp" or "web" */
    char *text;             /* owned */
    size_t text_len;
};

/* Parse one; 0, or -1 (not one: nothing to free). */
int gw_json_parse_private(const char *json, size_t len, struct gw_cmsg_private *out);
void gw_cmsg_private_free(struct gw_cmsg_private *m);

/* {"type":"message","private":true,"id":..,"time":..,"pid":..,"nick":..,
 * "via":..,"to":..,"with":..,"text":..}. Returns a new buffer (caller owns
 * the reference) or NULL when out of memory. */
struct gw_buf *gw_json_private(const struct gw_private *pm, size_t headroom);

/* One participant as a welcome lists it. Strings are borrowed for the call. */
struct gw_presence {
    uint64_t pid;
    const char *nick;
    const char *via;        /* "tcp" or "web" */
    const char *typing;     /* its unfinished text ("" for none) */
    size_t typing_len;
    /* An account that stays a member while it has no connection: written
     * as {"pid":0,"nick":..,"ident":..,"away":true} (via and typing unused). */
    int away;
    const char *ident;
};

/*
 * One room as a welcome or a joined reply shows it, from plain values and
 * two iterators that read the caller's structures in place: next_presence
 * fills *out with the next participant to list and returns 1, or returns 0
 * after the last one; next_event returns the JSON of the next history
 * event to send (as gw_json_event wrote it; borrowed for the call), or
 * NULL after the last one. Both are given ctx, and each is called until it
 * says there is no more.
 */
struct gw_room_view {
    const char *room;
    size_t participants_count;  /* everyone in the room, listed or not */
    uint64_t last_id;           /* the room's latest event id */
    int gap;                    /* events after the browser's last_id are left out */
    int (*next_presence)(void *ctx, struct gw_presence *out);
    struct gw_buf *(*next_event)(void *ctx);
    void *ctx;
};

/*
 * What a welcome says. wintalk.v1 (v2 0): the fields up to ctx, with the
 * iterators of struct gw_room_view, for #lobby. wintalk.v2 (v2 1): the
 * fields before participants_count, then token, rooms, the private
 * messages to restore (next_private, given private_ctx: the JSON of the
 * next one as gw_json_private wrote it, borrowed, or NULL after the last)
 * and private_id.
 */
struct gw_welcome {
    uint64_t pid;               /* you (a browser) */
    const char *nick;
    const char *ident;          /* your identity's public name; NULL: none */
    size_t participants_count;  /* everyone in the room, listed or not */
    const char *epoch;          /* GW_EPOCH_HEX_LEN lowercase hex digits */
    int reset;                  /* the history was reset (another epoch) */
    uint64_t last_id;           /* the latest event id */
    int gap;                    /* events after the browser's last_id are left out */
    size_t size_hint;           /* bytes to reserve at first */
    int (*next_presence)(void *ctx, struct gw_presence *out);
    struct gw_buf *(*next_event)(void *ctx);
    void *ctx;
    /* wintalk.v2 */
    int v2;
    const char *token;          /* GW_TOKEN_HEX_LEN lowercase hex digits */
    const char *account;        /* the account's nick when logged in, else NULL */
    int admin;                  /* a gateway administrator: "admin":true in you */
    size_t text_max;            /* the most bytes a say's text may have
                                 * (--max-line-bytes); 0: none written */
    const struct gw_room_view *rooms;
    size_t nrooms;
    struct gw_buf *(*next_private)(void *ctx);
    void *private_ctx;
    uint64_t private_id;        /* the identity's latest private message id */
};

/* wintalk.v1: {"type":"welcome","code":220,"protocol":"wintalk.v1",
 * "you":..,"participants":[..],"participants_count":..,"epoch":..,
 * "reset":..,"history":[..],"last_id":..,"gap":..}. wintalk.v2:
 * {"type":"welcome","code":220,"protocol":"wintalk.v2","epoch":..,
 * "token":..,"you":..,"rooms":[{"room":..,"participants":[..],
 * "participants_count":..,"history":[..],"last_id":..,"gap":..},..],
 * "private":[..],"private_id":..,"reset":..}. Returns a new buffer
 * (caller owns the reference) or NULL when out of memory. */
struct gw_buf *gw_json_welcome(const struct gw_welcome *wl, size_t headroom);

/* {"type":"joined","code":250,"room":..,"participants":[..],
 * "participants_count":..,"history":[..],"last_id":..,"gap":..}; the size
 * hint as for a welcome. Returns a new buffer or NULL. */
struct gw_buf *gw_json_joined(const struct gw_room_view *v, size_t size_hint, size_t headroom);

/* {"type":"parted","code":250,"room":..}. Returns a new buffer or NULL. */
struct gw_buf *gw_json_parted(const char *room, size_t headroom);

/* {"type":"account","nick":..[,"session":..][,"ref":..]}: logged in to
 * the account registered as nick, with a session token to keep (NULL:
 * none), or logged out (nick NULL: "nick":null). ref as for an error. */
struct gw_buf *gw_json_account(const char *nick, const char *session, const char *ref,
                               size_t headroom);

/* {"type":"reads","rooms":{ROOM:ID,..}}: where an account read to in each
 * of its rooms (n of them; names[i] len bytes of valid UTF-8). */
struct gw_buf *gw_json_reads(const char *const *names, const uint64_t *ids, size_t n,
                             size_t headroom);

/* {"type":"info","code":..,"text":..} */
struct gw_buf *gw_json_info(int code, const char *text, size_t len, size_t headroom);

/* {"type":"error","code":..,"message":..[,"ref":..]}; ref is the client's
 * ref already as JSON (gw_cmsg.ref), or NULL/"" for none. */
struct gw_buf *gw_json_error(int code, const char *message, const char *ref, size_t headroom);

/* The same with "room" (len bytes of valid UTF-8; NULL for none) after
 * the message: an error about that room. */
struct gw_buf *gw_json_error_room(int code, const char *message, const char *room, size_t len,
                                  const char *ref, size_t headroom);

/* What a history or search answer is about. */
enum gw_read_what {
    GW_READ_NEWEST,    /* history without before/after */
    GW_READ_BEFORE,    /* history "before" */
    GW_READ_AFTER,     /* history "after" */
    GW_READ_SEARCH,    /* search */
};

/*
 * {"type":"history","room":..,["before":id|"after":id,]"events":[..],
 *  "more":..[,"ref":..]} or, for GW_READ_SEARCH,
 * {"type":"search","room":..,"q":..,"events":[..],"more":..[,"ref":..]}.
 * events: n JSON texts of events, written as they are (each one object),
 * in the order given. ref: the client's ref as JSON, or NULL.
 */
struct gw_read_answer {
    enum gw_read_what what;
    const char *room;
    uint64_t id;             /* before / after */
    const char *q;           /* search */
    size_t q_len;
    const char *const *events;
    const size_t *lens;
    size_t n;
    int more;
    const char *ref;
};
struct gw_buf *gw_json_read_answer(const struct gw_read_answer *a, size_t headroom);

/* {"type":"info","code":..,"text":..[,"ref":..]}: a reply to one request
 * (ref: the client's ref as JSON, or NULL/"" for none). */
struct gw_buf *gw_json_info_ref(int code, const char *text, size_t len, const char *ref,
                                size_t headroom);

/* What the hub reads back of a room event's JSON (one kept in its ring):
 * its type's word, sender, and for a message whether it was deleted; for
 * a deleted event the id it removed. Strings point into out's own
 * buffers. */
struct gw_event_peek {
    char type[16];
    uint64_t id, pid;
    int64_t time_ms;        /* its "time" (wall ms), 0 when absent */
    char nick[GW_NICK_MAX_BYTES + 1];
    char ident[65];         /* "" for none; a longer one is cut (no match) */
    int deleted;            /* message: "deleted":true */
    uint64_t target;        /* deleted: "deleted":ID */
    int me;
    char *text;             /* message: its text (owned: gw_event_peek_free), or NULL */
    size_t text_len;
};

/* Read json (len bytes) into *out. Returns 0, or -1 when it is not an
 * event object (out then holds nothing to free). */
int gw_json_peek_event(const char *json, size_t len, struct gw_event_peek *out);
void gw_event_peek_free(struct gw_event_peek *e);

/* 1 when json (len bytes) is a deleted event (cheap: its first bytes). */
int gw_json_is_deleted(const char *json, size_t len);

/* A message event's JSON with its words removed: "text" made "" and
 * "deleted":true added, every other field as it was (so its id, time and
 * sender stay). Returns a new buffer (caller owns the reference), or NULL
 * when json is no message or memory ran out. */
struct gw_buf *gw_json_blank_message(const char *json, size_t len, size_t headroom);

/* {"type":"bye","code":..,"message":..} */
struct gw_buf *gw_json_bye(int code, const char *message, size_t headroom);

/* ---- browser to gateway ---- */

enum gw_ctype {
    GW_C_NONE = 0,
    GW_C_HELLO,
    GW_C_SAY,
    GW_C_TYPING,
    GW_C_NICK,
    GW_C_JOIN,
    GW_C_PART,
    GW_C_MSG,
    GW_C_HISTORY,
    GW_C_SEARCH,
    GW_C_REGISTER,
    GW_C_LOGIN,
    GW_C_LOGOUT,
    GW_C_PASSWORD,
    GW_C_READ,
    GW_C_DELETE,
};

/* One entry of a hello's "rooms": a room name as given and the last id the
 * browser saw there. */
struct gw_croom {
    char *name;             /* valid UTF-8, NUL-terminated, at most GW_ROOM_ARG_MAX_BYTES */
    size_t len;
    uint64_t last_id;
};

struct gw_cmsg {
    enum gw_ctype type;
    char *text;             /* say, typing, msg: valid UTF-8, NUL-terminated */
    size_t text_len;
    char *nick;             /* hello (optional), nick */
    size_t nick_len;
    char *key;              /* hello (optional) */
    size_t key_len;
    uint64_t last_id;       /* hello (wintalk.v1), join, read (its id); 0 when absent */
    char *epoch;            /* hello (optional): the epoch of last_id */
    size_t epoch_len;
    char *room;             /* say, typing (optional), join, part */
    size_t room_len;
    char *to;               /* msg: the nick as given */
    size_t to_len;
    char *token;            /* hello (optional): the resume token */
    size_t token_len;
    uint64_t private_id;    /* hello: the last private message id seen; 0 when absent */
    struct gw_croom *rooms; /* hello (optional): nrooms entries, in the order given */
    size_t nrooms;
    int has_rooms;          /* hello had "rooms" */
    /* history: "before" or "after" (has_before / has_after say which was
     * given); history, search: "limit" (0 when absent). search: the words
     * are in text. */
    uint64_t before, after;
    int has_before, has_after;
    uint64_t limit;
    /* register: password; login: nick and password; password: password
     * (the old one) and password_new; logout: all. Passwords are wiped by
     * gw_cmsg_free. hello (optional): session, a login's session token. */
    char *password, *password_new;
    size_t password_len, password_new_len;
    int all;
    char *session;
    size_t session_len;
    /* hello (optional): a site's token (a JWT), as given, checked by the
     * hub's verifier: any string up to the message's own bound. */
    char *jwt;
    size_t jwt_len;
    /* delete: the message's id in last_id, or (from_nick) every message
     * of that nick in the room; room in room. */
    char *from_nick;
    size_t from_nick_len;
    char ref[GW_REF_MAX_BYTES * 6 + 3]; /* the client's ref as JSON, "" if none */
};

/*
 * Parse and check one message from a browser (len bytes, not necessarily
 * NUL-terminated). On success fills *out, whose strings the caller frees
 * with gw_cmsg_free (also after a failure, which may have set ref).
 * Returns 0, or minus a reply code, with *why set to a static English
 * reason:
 *   -GW_R_UNREADABLE  not UTF-8, not JSON, or not an object
 *   -GW_R_BAD_ARGS    a field missing or of the wrong type (also a bad ref)
 *   -GW_R_UNKNOWN     an unknown "type"
 *   -GW_R_TOO_LARGE   a nick, key, epoch, token, session or room longer than
 *                     its bound, a password longer than GW_PASSWORD_IN_MAX_BYTES,
 *                     or a hello with more than GW_HELLO_ROOMS_MAX rooms
 */
int gw_json_parse_client(const char *data, size_t len, struct gw_cmsg *out, const char **why);

void gw_cmsg_free(struct gw_cmsg *m);

#endif /* GW_JSON_H */
