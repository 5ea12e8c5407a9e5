/*
 * gw_hub_int.h - the hub's insides, shared by its modules (gw_hub.c and
 * the files it is split into): the hub and participant structs, and the
 * functions one module of the hub calls in another.
 *
 * Not for the adapter nor the tests: they use gw_hub.h, which names
 * participants by id. Inside the hub a participant is a pointer, valid for
 * the length of one hub call (ids across boundaries, pointers within a
 * call). Pure like the rest of the hub: no I/O, no clock, no logging.
 */
#ifndef GW_HUB_INT_H
#define GW_HUB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "gw_history.h"
#include "gw_accounts.h"
#include "gw_hub.h"
#include "gw_ident.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_metrics.h"
#include "gw_queue.h"
#include "gw_room.h"
#include "gw_transcript.h"
#include "wt_codec.h"

/* A participant's place in one room: the room, and its index in the
 * room's member array of its transport (gw_room_add). */
struct gw_memb {
    struct gw_room *room;
    size_t idx;
    uint64_t read_sent;     /* the read position last kept for its account */
};

/* What a TCP participant's next write starts with (gw_out_take). */
enum gw_resync {
    GW_RESYNC_NONE = 0,
    GW_RESYNC_PLAIN,        /* one R of its room's transcript */
    GW_RESYNC_WHERE,        /* the same R ending with "* you are in #room (N here)" */
};

/* A participant: one TCP connection or one browser tab. */
/* What every store or hasher call of the accounts' files starts with
 * (gw_account.c, gw_kept.c, gw_jwtlogin.c keep tables of them, each
 * struct beginning with this): the tag its answer comes with, the
 * participant it is for by id (gone: the answer is dropped), and the
 * client's ref (as JSON) to answer with. */
struct gw_op_head {
    uint64_t tag;
    uint64_t pid;
    char ref[GW_REF_MAX_BYTES * 6 + 3];
    int has_ref;
};

/* A connection's session (gw_account.c), made when it first needs one: a
 * browser's session token's digest (for logout), and what the store said
 * of the session its hello gave (hello: 0 not asked, 1 good (account, nick:
 * the account), 2 over, 3 not known now, 4 ignored: no accounts here). */
struct gw_sess {
    char account[GW_NICK_KEY_MAX_BYTES + 1]; /* what gw_part.account points at when logged in */
    int64_t fail_tokens, fail_at; /* failed logins (gw_account.c), thousandths */
    char digest[GW_DIGEST_HEX_LEN + 1];
    char public_name[GW_IDENT_PUBLIC_LEN + 1]; /* the account's, when logged in */
    char nick[GW_NICK_MAX_BYTES + 1];
    int hello;
    unsigned roles;         /* the account's roles (GW_ROLE_*), hello 1 */
    /* The account's generation it logged in under (hello 1: the store's,
     * before the login): when the store's moves past it, it is over
     * (gw_generation.c). */
    uint64_t generation;
};

/* A set of names (gw_names.c): open addressing, at most half full. */
struct gw_names {
    char **slots;
    size_t mask, n;
};

struct gw_part {
    uint64_t pid;
    size_t slot;            /* index in h->parts */
    enum gw_via via;
    enum gw_proto proto;    /* a browser's protocol */
    void *user;
    char nick[GW_NICK_MAX_BYTES + 1];     /* as shown: NFC, as first spelled; "" for none yet */
    char nick_key[GW_NICK_KEY_MAX_BYTES + 1]; /* as compared: NFC, case folded */
    struct gw_part *nick_next;            /* the nick index's chain */
    int64_t nick_at;        /* when it took its nick (wall ms): who keeps a nick
                             * two gateways gave at once (gw_presence_settle) */
    int joined;             /* in the gateway (TCP: from connect or /login; web: after hello) */
    int closing;
    int close_code;
    char close_reason[GW_REASON_MAX_BYTES + 1];
    /* The rooms it is in: TCP and wintalk.v1 exactly one once joined (its
     * first), a wintalk.v2 browser a set (#lobby first). memb points at
     * memb0 until a second room needs an array. */
    struct gw_memb *memb;
    unsigned nmemb, memb_cap;
    struct gw_memb memb0;
    /* A wintalk.v2 browser's identity, and the next of its connections. */
    struct gw_ident *ident;
    struct gw_part *ident_next;
    /* A hello with a token unknown here (held_token), held while a shared
     * engine looks the identity up (gw_private_identify); asked: looked up
     * once already. */
    char *hello_held;
    size_t hello_held_len;
    char held_token[GW_TOKEN_HEX_LEN + 1];
    /* What came after a held hello, to be taken after it: records of a
     * 4-byte length and the message (gw_web_hold_after). */
    char *held_after;
    size_t held_after_len;
    unsigned held_after_n;
    int ident_asked;
    /* A hello or a TCP move held while its room loads (gw_hub_room_hold),
     * and which (a later one replaces it; a browser's joins are held in
     * their rooms alone, each). */
    enum gw_hold hold;
    uint64_t hold_seq;
    /* Its held hello waited for a room past GW_ROOM_WAIT_MAX_MS: taken
     * again, it refuses the rooms still loading (421) instead of holding. */
    int hello_no_wait;
    struct gw_queue q;
    enum gw_resync resync;  /* TCP: what the next write starts with */
    int woken;              /* wake was called since the queue last ran dry */
    /* TCP draft: the participant's text box as it is now. */
    struct wt_decoder dec;
    char *draft;
    size_t dlen, dcap;
    size_t line_start;      /* offset of the unfinished last line */
    uint64_t lines;         /* completed lines seen since the last clear */
    /* live typing: what it is now, and what browsers were last told */
    /* Both in one block of 2 * (GW_TYPING_MAX_BYTES + 1), allocated on the
     * first typing update: most participants of a big room never type, and
     * the two texts would be most of an idle participant's memory. NULL
     * while both are empty. */
    char *typing;
    size_t typing_len;
    char *typing_sent;
    size_t typing_sent_len;
    int64_t typing_at;      /* when the last typing update left */
    struct gw_room *typing_room; /* where its typing is seen (one of its rooms) */
    /* rate limits: token buckets, in thousandths of a message */
    int64_t tokens;
    int64_t tokens_at;
    int64_t typing_tokens;
    int64_t typing_tokens_at;
    int64_t read_tokens;     /* history and search (cfg.read_rate) */
    int64_t read_tokens_at;
    int64_t room_tokens;    /* new rooms, in 60000ths of a room (gw_rate_room) */
    int64_t room_tokens_at;
    /* refused messages not yet forgiven, in thousandths (abuse) */
    int64_t strikes;
    int64_t strikes_at;
    uint64_t refusals;      /* messages refused for a limit (429, 552) */
    /* The account it is logged in to (its key: the nick as compared), or
     * "" (gw_account.c); whether a password may come from it (TLS, or
     * this machine: gw_hub_set_secure). */
    const char *account;    /* "" or its session's account (gw_sess) */
    int secure;
    uint64_t addr;          /* its address, hashed (gw_hub_set_address), or 0 */
    struct gw_sess *sess;   /* NULL until a session is asked of or made */
    /* A gateway administrator (gw_jwtlogin.c: gw_admin_refresh): logged in
     * to an account named by --admin, or of the role GW_ROLE_ADMIN, or by a
     * site's token with the admin claim (admin_claim); acct_roles: the
     * account's roles as the store gave them at login. */
    int admin;
    int admin_claim;
    unsigned acct_roles;
    struct gw_jwtl *jwtl;   /* a hello's site token (gw_jwtlogin.c), or NULL */
    /* Closed, and still in its rooms for the reload grace (gw_linger.c):
     * no connection, no output, out of h->parts and the id index. */
    int lingering;
    int64_t linger_until;
    enum gw_leave_reason linger_reason;
    struct gw_part *linger_prev, *linger_next;
    unsigned nreads;        /* its history and search reads the store has not answered */
    /* Deletions (gw_delete.c): one message, and every message of a nick. */
    int64_t delete_tokens, delete_tokens_at;
    int64_t delete_all_tokens, delete_all_tokens_at;
};

/* An account that stays a member of a room with no connection in it
 * (gw_away.c). */
struct gw_away {
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];     /* as shown; its key until the store says */
    char ident[GW_IDENT_PUBLIC_LEN + 1];  /* the account's public name */
    int named;                            /* its nick was asked of the store, or known */
};

/* A participant of another gateway sharing the rooms (gw_presence.c). */
struct gw_remote {
    uint64_t pid, node;
    int web;                /* a browser, else TCP */
    char nick[GW_NICK_MAX_BYTES + 1];
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    int64_t nick_at;        /* when it took its nick (wall ms), as its gateway
                             * said; or later, from the event that showed it */
    char ident[GW_IDENT_TAG_LEN + 1]; /* a browser's identity (gw_presence_tag), or "" */
    char pub[GW_IDENT_PUBLIC_LEN + 1]; /* its person's public name (events' ident), or "" */
    int account;            /* logged in to the account of its nick */
    char *rooms;            /* its rooms' keys: " #a #b " */
};

/* Another gateway, as last heard of. */
struct gw_node {
    uint64_t node;
    int64_t seen;
};

/* The hub: its participants, its rooms and the identities of browsers. */
struct gw_hub {
    struct gw_hub_config cfg;
    /* The access key, as a digest: compared in constant time. */
    unsigned char key_digest[SHA256_DIGEST_LENGTH];
    int has_key;
    size_t draft_max_bytes;
    struct gw_metrics metrics;
    /* Output held for the participants not closing (gw_queue_account),
     * against cfg.output_max_bytes (gw_out_bound); and for those closing,
     * until they are gone (not a reason to close anyone else). */
    size_t out_bytes;
    size_t out_closing;
    struct gw_part **parts;
    size_t nparts, cap;
    /* pid -> participant: open addressing, linear probing, a power of two
     * at least twice cap, so a lookup is O(1) on every write. */
    struct gw_part **index;
    size_t index_mask;
    /* nick key -> participant: chains, a power of two of them (a quarter
     * of cap or more), so that /msg and nick changes do not scan
     * everyone. */
    struct gw_part **nicks;
    size_t nicks_mask;
    uint64_t next_pid;
    char epoch[GW_EPOCH_HEX_LEN + 1]; /* cfg.epoch as a welcome shows it */
    unsigned guest_seq;
    /* Every room: each has its events (ids, history) and transcript. */
    struct gw_rooms rooms;
    /* The identities of wintalk.v2 browsers. */
    struct gw_idents idents;
    /* History and search reads the store has not answered (gw_read.c):
     * at most GW_READS_MAX, the array made with the first. */
    struct gw_read_wait *reads;
    size_t nreads;
    uint64_t next_tag;
    uint64_t next_hold;      /* the last hold's number (gw_hub_room_hold) */
    /* Wall time minus the hub's clock, in ms (gw_hub_set_wall_clock). */
    int64_t wall_offset;
    /* Shared rooms: this gateway's node, the others' and their
     * participants (gw_presence.c). */
    uint64_t node;
    struct gw_node nodes[GW_NODES_MAX];
    size_t nnodes;
    struct gw_remote **remotes;
    size_t nremotes, remotes_cap;
    int64_t beat_at;         /* the last list sent */
    int64_t beat_now;        /* the hub's clock at the last tick */
    int64_t touch_at;        /* when identities were last touched (gw_private_touch) */
    /* Account calls and password checks under way (gw_account.c). */
    struct gw_acct_op *acct_ops;
    size_t nacct_ops;
    uint64_t next_acct_tag;
    struct gw_login_fails *fails; /* failed logins by account name */
    size_t nfails;
    /* Store calls for what an account keeps while away (gw_kept.c). */
    struct gw_kept_op *kept_ops;
    size_t nkept_ops;
    /* The registered names known (gw_names.c): the set, the one a walk of
     * the store's names is filling, the page asked for, the next walk. */
    struct gw_names names, names_next;
    int names_walking;
    uint64_t names_tag;
    int64_t names_walk_at;
    /* Closed browsers in their reload grace, oldest first (gw_linger.c). */
    struct gw_part *linger_first, *linger_last;
    size_t nlinger;
    /* Hellos with a site's token whose account the store is asked for
     * (gw_jwtlogin.c): at most GW_JWT_LOGINS_MAX, tagged from
     * next_acct_tag like the account ops. */
    struct gw_jwt_op *jwt_ops;
    size_t njwt_ops;
    /* The accounts logged in here, looked at again in the store
     * (gw_generation.c): a round's connections by id (one of each
     * account), the next to look at, the look-ups out (each with the key
     * it asked), another round due when this one ends. */
    uint64_t *gen_pids;
    size_t gen_npids, gen_next;
    struct gw_gen_check *gen_out;
    size_t gen_nout;
    int gen_again;
};

/* A space or a tab: what separates a command from its argument. */
static inline int gw_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * The functions below take a hub and a participant that is in it (found
 * by gw_hub.c for this call); none frees a participant: one the hub wants
 * gone is marked closing, and the adapter disconnects it later. Text
 * arguments are borrowed for the call.
 */

/* ---- gw_hub.c: participants, nicks, the key, room events ---- */

/* The participant with id pid, or NULL. */
struct gw_part *gw_hub_part(struct gw_hub *h, uint64_t pid);

/* "tcp" or "web". */
const char *gw_via_name(enum gw_via v);

/* Tell the adapter p has output (once until its queue runs dry). */
void gw_hub_wake(struct gw_hub *h, struct gw_part *p);

/* Mark p closing with a WebSocket close code and a reason for the log
 * (copied), and tell the adapter. Nothing is queued for p after this. */
void gw_hub_start_closing(struct gw_hub *h, struct gw_part *p, int code, const char *reason);

/* Fill ev with what every event of p says (type, wall time, sender). */
void gw_hub_event_init(struct gw_hub *h, struct gw_event *ev, enum gw_ev_type type,
                       struct gw_part *p, int64_t now);

/* p says text (len bytes, canonical; me: a /me action) in room r: a
 * message event, and a transcript line; ref (the client's, or NULL) goes
 * with a 451 when the store does not keep it. */
void gw_hub_post_message(struct gw_hub *h, struct gw_room *r, struct gw_part *p, int64_t now,
                         const char *text, size_t len, int me, const char *ref);

/* p parts r: its account (if any) is a member of r no more, unless
 * another connection of its person stays there. */
void gw_hub_part_kept(struct gw_hub *h, struct gw_part *p, const struct gw_room *r);

/* p joined room r: a join event and a transcript line (not in a crowd). */
void gw_hub_post_join(struct gw_hub *h, struct gw_room *r, struct gw_part *p, int64_t now);

/* p left room r (it is no longer a member): a leave event and a
 * transcript line (not in a crowd). */
void gw_hub_post_leave(struct gw_hub *h, struct gw_room *r, struct gw_part *p, int64_t now,
                       enum gw_leave_reason reason);

/*
 * A room event that is not typing: given its room's next id, encoded once
 * (JSON, and the transcript line prefix + text), kept (the store, the
 * room's ring) and then sent to every member of r. A message the store
 * refuses or loses gets its sender a 451 (with ref, or NULL).
 */
void gw_hub_room_event(struct gw_hub *h, struct gw_room *r, struct gw_event *ev,
                       const char *prefix, const char *text, size_t len, const char *ref);

/* A typing update of participant from for r's browsers: when events of r
 * wait for the store, it waits behind them (0); else -1 and the caller
 * sends it now. */
int gw_hub_room_defer(struct gw_room *r, uint64_t from, struct gw_buf *json);

/* Load what the store keeps of r (its latest id, its recent events and
 * transcript lines), once: the registry made r without them. */
void gw_hub_room_load(struct gw_hub *h, struct gw_room *r);

/*
 * Hold p's join (what) to r, which is loading (r->loading): it goes on
 * when the room is ready (gw_hub_room_ready), as if it came then. HELLO:
 * the hello is held in p->hello_held (data, len: its bytes, copied);
 * WEB_JOIN: a wintalk.v2 join (room, last_id and ref kept); TCP_MOVE: a
 * TCP /join. Held at now: past GW_ROOM_WAIT_MAX_MS it is answered 421
 * (gw_hub_rooms_waits_tick). Returns 0, or -1 when the room has
 * GW_ROOM_WAITS_MAX waiting or memory ran out (p is then told 421, try
 * later, with ref).
 */
int gw_hub_room_hold(struct gw_hub *h, struct gw_part *p, struct gw_room *r, enum gw_hold what,
                     uint64_t last_id, const char *ref, const char *data, size_t len,
                     int64_t now);

/* At the hub's tick (now), with an engine that orders: the joins that
 * have waited for their room past GW_ROOM_WAIT_MAX_MS are answered 421
 * for that room (a hello goes on without it); the room goes on loading. */
void gw_hub_rooms_waits_tick(struct gw_hub *h, int64_t now);

/* r's store has caught up (its load came, or an engine says so): r is no
 * longer loading, and the joins held for it go on, in order. */
void gw_hub_room_ready(struct gw_hub *h, struct gw_room *r, int64_t now);

/* Change p's nick to given (len bytes of valid UTF-8), announcing it when
 * p is in the room; a nick not allowed or taken gets error 553 (with the
 * client's ref, or NULL). Returns 0 or that reply code. */
int gw_hub_change_nick(struct gw_hub *h, struct gw_part *p, int64_t now, const char *given,
                       size_t len, const char *ref);

/* p, once called old, has a new nick: a nick event in each of its rooms. */
void gw_hub_announce_nick(struct gw_hub *h, struct gw_part *p, const char *old, int64_t now);

/* Give p the next free guest-N nick (taken at now). */
void gw_hub_guest_name(struct gw_hub *h, struct gw_part *p, int64_t now);

/* p's nick went to a participant of another gateway who took it first:
 * p becomes a guest, told why (553), the change announced in its rooms. */
void gw_hub_nick_lost(struct gw_hub *h, struct gw_part *p, int64_t now);

/* The participant in the gateway (joined) whose nick has the comparison
 * key key, or NULL. */
struct gw_part *gw_hub_nick_owner(const struct gw_hub *h, const char *key);

/* The connections of p's person one after another (c NULL: the first;
 * then the one after c; NULL after the last), p among them: those logged
 * in to p's account when p is, else those of p's identity not logged in
 * (a browser's tabs), else p alone. */
struct gw_part *gw_hub_person_next(const struct gw_hub *h, struct gw_part *p,
                                   struct gw_part *c);

/* Whether a and b are one person (see gw_hub_person_next). */
int gw_hub_same_person(const struct gw_part *a, const struct gw_part *b);

/* The public name events give p's person (its account's when logged in,
 * else its identity's), or NULL for none. */
const char *gw_hub_person_name(const struct gw_part *p);

/* Whether q stands for its person in r: the first, in its identity's list,
 * of its connections there that are joined and not closing (a person is
 * listed and counted once, however many tabs it has open). 1 without
 * identity. */
int gw_hub_person_first(const struct gw_hub *h, struct gw_part *q, const struct gw_room *r);

/* The people in r: members not closing, an identity once, and those of
 * other gateways. */
size_t gw_hub_room_count(const struct gw_hub *h, const struct gw_room *r);

/* 1 when key (len bytes) is the hub's access key or the hub needs none,
 * else 0; in constant time. */
int gw_hub_key_ok(const struct gw_hub *h, const char *key, size_t len);

/* ---- gw_out.c: output queues and replies ---- */

/* Queue b (a shared buffer; the queue takes its own reference) for a TCP
 * participant; past its bound it gets one R of the transcript instead.
 * NULL b, or a closing p, is ignored. */
void gw_out_push_tcp(struct gw_hub *h, struct gw_part *p, struct gw_buf *b, unsigned flags);

/* Queue b for a browser; past its bound it is closed (4421). NULL b, or a
 * closing p, is ignored. */
void gw_out_push_web(struct gw_hub *h, struct gw_part *p, struct gw_buf *b);

/* A TCP participant's next write is its room's whole transcript, as R
 * (how: GW_RESYNC_PLAIN, or GW_RESYNC_WHERE with the line saying where it
 * is); what it had queued is dropped. */
void gw_out_resync(struct gw_hub *h, struct gw_part *p, enum gw_resync how);

/* A line "* text" for one TCP participant only, not in the transcript. */
void gw_out_personal(struct gw_hub *h, struct gw_part *p, const char *text);

/* A line for one TCP participant only, rendered already (ending in \r\n,
 * at most GW_TRANSCRIPT_LINE_MAX_BYTES). */
void gw_out_personal_line(struct gw_hub *h, struct gw_part *p, const char *line, size_t len);

/* The line "* text" that tells a TCP participant why it is closed, as its
 * last output; the caller marks it closing next. */
void gw_out_last_line(struct gw_hub *h, struct gw_part *p, const char *text);

/* An error reply with a reply code: JSON error (with the client's ref, or
 * NULL) for a browser, "* error CODE: msg" for TCP. */
void gw_out_error(struct gw_hub *h, struct gw_part *p, int code, const char *msg,
                  const char *ref);

/* The same about a room (len bytes of valid UTF-8, as the browser named
 * it): a browser's error carries "room". */
void gw_out_error_room(struct gw_hub *h, struct gw_part *p, int code, const char *msg,
                       const char *room, size_t len, const char *ref);

/* An informational reply (who, help): JSON info, or a "* " line for TCP. */
void gw_out_info(struct gw_hub *h, struct gw_part *p, int code, const char *text);

/* gw_hub_take for p: 1 with *out set (caller owns the reference), 0 when
 * nothing is waiting, or GW_ENOMEM. */
int gw_out_take(struct gw_hub *h, struct gw_part *p, struct gw_buf **out);

/* gw_hub_more for p. */
int gw_out_more(struct gw_part *p);

/* Past cfg.output_max_bytes, close the participants holding most until
 * what is held fits again. */
void gw_out_bound(struct gw_hub *h);

/* p is gone for good: its nick free, a leave in each of its rooms where no
 * other tab of its person is (reason), its identity told, p freed. */
void gw_hub_part_gone(struct gw_hub *h, struct gw_part *p, int64_t now,
                      enum gw_leave_reason reason);

/* ---- gw_linger.c: a closed browser's reload grace ---- */

/* p (a browser just taken out of h->parts and the id index, its
 * connection gone) closed for reason: 1 when it now lingers in its rooms
 * for the grace (cfg.reload_grace_ms), else 0 and the caller ends it. */
int gw_linger_start(struct gw_hub *h, struct gw_part *p, int64_t now,
                    enum gw_leave_reason reason);

/* The identity id is back (by, a new connection of it, has said hello):
 * its lingering connections end, leaving only the rooms by is not in. */
void gw_linger_back(struct gw_hub *h, struct gw_ident *id, int64_t now);

/* End the lingering connections whose grace is over at now; with all, every
 * one (the gateway stopping, its history reset, the hub freed). */
void gw_linger_tick(struct gw_hub *h, int64_t now, int all);

/* ---- gw_account.c: registering, logging in, registered nicks ---- */

/* /register PASSWORD (pw, len bytes): p's nick becomes an account. */
void gw_account_register(struct gw_hub *h, struct gw_part *p, int64_t now, const char *pw,
                         size_t len, const char *ref);

/* /identify NICK PASSWORD: p logs in to the account of nick. */
void gw_account_identify(struct gw_hub *h, struct gw_part *p, int64_t now, const char *nick,
                         size_t nick_len, const char *pw, size_t len, const char *ref);

/* o starts a call for pid (0: for nobody) with ref (NULL: none): a new
 * tag, unique among every table of them. */
void gw_op_start(struct gw_hub *h, struct gw_op_head *o, uint64_t pid, const char *ref);

/* o's ref as JSON, or NULL for none. */
const char *gw_op_ref(const struct gw_op_head *o);

/* The op whose tag is tag in a table of n ops of size bytes each, every
 * one beginning with a struct gw_op_head; or NULL. */
void *gw_op_find(void *ops, size_t n, size_t size, uint64_t tag);

/* p is logged in to the account of key, under generation (the
 * account's in the store as the login found it): marked so (p->account),
 * with the public name its events give (the same for every connection of
 * the account: one person), made from the key as an identity's is from
 * its token. 0, or -1 when out of memory (p stays as it was). */
int gw_account_mark(struct gw_part *p, const char *key, uint64_t generation);

/* The public name of the account of key, as events give it (ident). */
void gw_account_public_name(const char *key, char out[GW_IDENT_PUBLIC_LEN + 1]);

/* p is logged in to the account of key (of this generation), registered
 * as nick: its nick is that, taken from whoever holds it here (a guest
 * again, told why). A browser's other tabs (its identity) are logged in
 * with it; a browser gets a session and an account event (with ref), a
 * WINTALK program the line "HOW as NICK". */
void gw_account_login(struct gw_hub *h, struct gw_part *p, int64_t now, const char *key,
                      const char *nick, uint64_t generation, const char *ref, const char *how);

/* /logout: p is a guest again (a browser: with its other tabs, its
 * session ended). all: every session of the account ends (its generation
 * moves on) and every connection logged in to it here is a guest again. */
void gw_account_logout(struct gw_hub *h, struct gw_part *p, int64_t now, int all,
                       const char *ref);

/* Every connection here logged in to the account of key, but keep and the
 * tabs of its identity, is a guest again, told why (asker with ref). */
void gw_account_end_all(struct gw_hub *h, const char *key, struct gw_part *asker, int64_t now,
                        const char *ref, const struct gw_part *keep, const char *why);

/* Every connection here logged in to the account of key under a
 * generation below generation is a guest again (with its browser's other
 * tabs), told why (GW_MOVED_*). Returns how many were logged out. */
size_t gw_account_end_older(struct gw_hub *h, const char *key, uint64_t generation, int why,
                            int64_t now);

/* /password OLD NEW: checked against the old one, then kept; the
 * account's other sessions end and its other connections are logged out;
 * a browser gets a new session. */
void gw_account_password(struct gw_hub *h, struct gw_part *p, int64_t now, const char *old,
                         size_t old_len, const char *pw, size_t len, const char *ref);

/* A browser's hello (data, len) with a session token: 1 when the hello is
 * held while the store looks the session up (taken again when it
 * answers), 0 when it goes on now (answered already, or not looked up). */
int gw_account_hello_session(struct gw_hub *h, struct gw_part *p, int64_t now,
                             const char *session, size_t session_len, const char *data,
                             size_t len);

/* In the hello, after gw_account_hello_session: the account's nick when
 * its session was good (p is then logged in to it, the name taken back
 * from whoever holds it here), else NULL (p told why when its session is
 * over or could not be checked). */
const char *gw_account_hello_login(struct gw_hub *h, struct gw_part *p, int64_t now,
                                   const char *ref);

/* Whether p may take the nick given as far as accounts go: 1 when it is
 * not registered (or is p's own account, or not a nick at all: the change
 * says why), else 0 and p is told (553, how to log in). Decided at once,
 * from the registered names this hub knows (gw_names.c). */
int gw_account_nick_free(struct gw_hub *h, struct gw_part *p, const char *given, size_t len,
                         const char *ref);

/* p wants the nick given: refused (553) when it is registered to another
 * account, else gw_hub_change_nick. Returns 0 or the reply code sent. */
int gw_account_nick(struct gw_hub *h, struct gw_part *p, int64_t now, const char *given,
                    size_t len, const char *ref);

/* The name key is registered: whoever holds it here but keep, without
 * being logged in to it, is a guest again and told why. */
void gw_account_claim(struct gw_hub *h, const char *key, const struct gw_part *keep, int64_t now);

/* p is gone: the calls made for it are answered to nobody. */
void gw_account_forget(struct gw_hub *h, struct gw_part *p);

/* Free what waits (the hub is freed). */
void gw_account_free(struct gw_hub *h);

/* ---- gw_away.c: accounts that stay members while they have no connection ---- */

/* Whether a connection of the account of key is in r, here or on another
 * gateway sharing it (but but_node's; 0: any). */
int gw_away_here(const struct gw_hub *h, const char *key, const struct gw_room *r,
                 uint64_t but_node);

/* The account of key (shown as nick) is away from r now: on its list. */
void gw_away_add(struct gw_hub *h, struct gw_room *r, const char *key, const char *nick);

/* The account of key is in r again: off its list. 1 when it was on it. */
int gw_away_del(struct gw_hub *h, struct gw_room *r, const char *key);

/* The next of r's list to show from *i on (0 first): one with no
 * connection in r; NULL after the last. */
const struct gw_away *gw_away_next(const struct gw_hub *h, const struct gw_room *r, size_t *i);

/* r was loaded here: ask the store for its members, to list those away. */
void gw_away_walk(struct gw_hub *h, struct gw_room *r);

/* The answers to gw_away_walk (sink.keys) and to the nicks it asks
 * (sink.answer): GW_OK, or GW_ENOENT when the tag is not one of them. */
int gw_away_keys(struct gw_hub *h, uint64_t tag, int status, const char *const *keys, size_t n,
                 int64_t now);
int gw_away_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a);

/* ---- gw_kept.c: what an account keeps while away ---- */

/* A private message to the account of key, which has no connection: kept
 * for it (the sender gets its copy and a line saying so once it is kept;
 * 451 if it cannot be). 0 when key is no registered name (nothing done),
 * else 1. */
int gw_kept_pm(struct gw_hub *h, struct gw_part *p, int64_t now, const char *key,
               const char *text, size_t len, const char *ref);

/* p has just logged in to its account: the private messages kept for it
 * since its last visit are given to its person, then marked read; a
 * browser joins the account's rooms and is told where it read to in
 * each (a reads event). */
void gw_kept_fetch(struct gw_hub *h, struct gw_part *p);

/* p, logged in, is in r now (in 1) or left it (0): kept with its account,
 * which stays a member while away (nobody waits for the answer). */
void gw_kept_room(struct gw_hub *h, struct gw_part *p, const struct gw_room *r, int in);

/* A browser's read (name, len: the room; id: the last message read
 * there): kept for its account when it moves forward; nothing for a
 * guest. */
void gw_kept_read(struct gw_hub *h, struct gw_part *p, const char *name, size_t len,
                  uint64_t id, const char *ref);

/* The answer (sink.answer) to one of gw_kept.c's writes: GW_OK, or
 * GW_ENOENT when it is not one of them. */
int gw_kept_answer(struct gw_hub *h, uint64_t tag, int status, int64_t now);

/* Free what waits (the hub is freed). */
void gw_kept_free(struct gw_hub *h);

/* ---- gw_jwtlogin.c: a site's own login (JWT), administrators ---- */

/* A browser's hello (data, len) with a site's token (token, token_len
 * bytes): verified now (cfg.jwt_verify); a good one's account is asked of
 * the store (found, or made on first sight) and the hello held until it
 * answers: 1 (taken again then), else 0 (it goes on now: answered
 * already, or refused, which gw_jwtlogin_login says). */
int gw_jwtlogin_hello(struct gw_hub *h, struct gw_part *p, int64_t now, const char *token,
                      size_t token_len, const char *data, size_t len);

/* In the hello, after gw_jwtlogin_hello: the account's nick when the token
 * logged p in (p is then logged in to it, the name taken back from
 * whoever holds it here), else NULL after telling p why (530 a refused
 * token, 553 a nick it may not have, 421 the store). */
const char *gw_jwtlogin_login(struct gw_hub *h, struct gw_part *p, int64_t now,
                              const char *ref);

/* After the welcome of a hello whose token logged p in: the rooms its
 * rooms claim names, each joined as a join message would (those of the
 * hello already in aside; --max-rooms-per-browser and --room-rate hold). */
void gw_jwtlogin_rooms(struct gw_hub *h, struct gw_part *p, int64_t now);

/* The accounts engine's answer for tag when it is one of this module's:
 * as gw_hub_account_answer (GW_ENOENT when nobody waits for it). */
int gw_jwtlogin_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                       int64_t now);

/* Whether key (an account's name) is named by cfg.admins. */
int gw_admin_listed(const struct gw_hub *h, const char *key);

/* p's administrator flag, from what it is logged in to now (none: not
 * one, and its claim is forgotten). */
void gw_admin_refresh(struct gw_hub *h, struct gw_part *p);

/* /whoami: p's nick, account and whether it is an administrator. */
void gw_admin_whoami(struct gw_hub *h, struct gw_part *p, const char *ref);

/* Free what waits (the hub is freed). */
void gw_jwtlogin_free(struct gw_hub *h);

/* ---- gw_generation.c: sessions ended on another gateway ---- */

/* Look at every account logged in here again in the store (a round): now,
 * or, when a round is under way, again once it ends. */
void gw_generation_round(struct gw_hub *h, int64_t now);

/* One look at p's account (logged in) in the store, outside any round,
 * when fewer than GW_ACCOUNT_CHECKS_MAX are out (else the next round's
 * finds it): p logged in under a generation the store has moved past is
 * logged out when it answers. */
void gw_generation_look(struct gw_hub *h, struct gw_part *p);

/* The answer (sink.answer) to one of the round's look-ups: GW_OK, or
 * GW_ENOENT when it is not one of them. */
int gw_generation_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                         int64_t now);

/* Free the round (the hub is freed). */
void gw_generation_free(struct gw_hub *h);

/* ---- gw_names.c: the registered names this hub knows ---- */

/* Whether key (a nick as compared) is a registered name, as far as this
 * hub knows now. */
int gw_names_has(const struct gw_hub *h, const char *key);

/* key was registered here: in the set at once. */
void gw_names_add(struct gw_hub *h, const char *key);

/* Start a walk of the store's names when one is due. */
void gw_names_tick(struct gw_hub *h, int64_t now);

/* Free the sets (the hub is freed). */
void gw_names_free(struct gw_hub *h);

/* ---- gw_typing.c: live typing ---- */

/* p's unfinished text is now text (len bytes of valid UTF-8): browsers
 * are told now if it stopped, or within GW_TYPING_INTERVAL_MS. */
void gw_typing_set(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text,
                   size_t len);

/* Tell the browsers in p's typing room p's typing, if it changed since
 * they were last told. */
void gw_typing_emit(struct gw_hub *h, struct gw_part *p, int64_t now);

/* p's typing is now seen in room r (NULL: nowhere): the room it was seen
 * in is told it stopped, and r will be told the text at the next update. */
void gw_typing_move(struct gw_hub *h, struct gw_part *p, int64_t now, struct gw_room *r);

/* ---- gw_rate.c: rate limits ---- */

/* Take one token from a bucket of rate per second (burst twice that), in
 * thousandths: 1 if there was one, else 0. rate 0: no limit (1). */
int gw_rate_take(unsigned rate, int64_t *tokens, int64_t *at, int64_t now);

/* Whether p may send one more message now (1), or it is over --rate (0,
 * counted). */
int gw_rate_ok(struct gw_hub *h, struct gw_part *p, int64_t now);

/* Whether p may make one more history or search request now (1), or it
 * is over --read-rate (0, counted). */
int gw_rate_read_ok(struct gw_hub *h, struct gw_part *p, int64_t now);
/* Whether p may open one more new room now (1), or it is over
 * cfg.room_rate (0, counted): a bucket of room_rate a minute holding as
 * many. */
int gw_rate_room(struct gw_hub *h, struct gw_part *p, int64_t now);

/* A message of p was refused for its rate: count a strike; past
 * cfg.abuse_strikes p is told and closed. */
void gw_rate_strike(struct gw_hub *h, struct gw_part *p, int64_t now);

/* ---- gw_cmd.c: what a participant says ---- */

/* One line or say-text from p in room r (canonical, may hold \n for a
 * browser; ref the client's ref or NULL): a chat message or a slash
 * command. */
void gw_cmd_said(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                 const char *text, size_t len, const char *ref);

/* ---- gw_member.c: who is in which room ---- */

/* p's membership of r, or NULL. */
struct gw_memb *gw_member_of(struct gw_part *p, const struct gw_room *r);

/* p's first room (a TCP participant's only one, #lobby for a browser), or
 * NULL before it joined. */
struct gw_room *gw_member_home(const struct gw_part *p);

/* Make p a member of r (no event). Returns 0 or -1 (out of memory). */
int gw_member_add(struct gw_hub *h, struct gw_part *p, struct gw_room *r);

/* Take p out of r (no event); its typing there stops. */
void gw_member_del(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now);

/* p leaves every room it is in, each with a leave event (reason). */
void gw_member_leave_all(struct gw_hub *h, struct gw_part *p, int64_t now,
                         enum gw_leave_reason reason);

/*
 * The room name (len bytes) asks for, created if need be: 0 with *out, or
 * a reply code (553 a bad name, 452 too many rooms, 421 out of memory)
 * with why in msg (msg_len bytes).
 */
int gw_member_find_room(struct gw_hub *h, const char *name, size_t len, struct gw_room **out,
                        char *msg, size_t msg_len);

/* r's last member left, its leave posted: the store may forget a room with
 * no messages (gw_store.h), when nobody is in it here nor, for rooms shared
 * by gateways, on any other gateway as far as known. */
void gw_member_vacated(struct gw_hub *h, struct gw_room *r);

/* Whether p may open the room called name now: 0 when it exists or p's
 * --room-rate allows a new one, else GW_R_SLOW_DOWN with why in msg. */
int gw_member_may_create(struct gw_hub *h, struct gw_part *p, const char *name, size_t len,
                         int64_t now, char *msg, size_t msg_len);

/* gw_member_find_room, telling p why it failed (with the room and ref in
 * a browser's error). Returns 0 or the reply code. */
int gw_member_open(struct gw_hub *h, struct gw_part *p, const char *name, size_t len,
                   const char *ref, struct gw_room **out);

/* A TCP participant goes to room r (its pane is replaced by r's
 * transcript and where it is), leaving its room with reason "part". Going
 * to the room it is in only shows the pane again. */
void gw_member_tcp_move(struct gw_hub *h, struct gw_part *p, int64_t now, struct gw_room *r);

/* A wintalk.v2 browser joins the room name (len bytes) after last_id: the
 * joined reply (a resync when it is in the room already), then its join
 * event; or an error (553, 452, 501 for wintalk.v1). */
void gw_member_web_join(struct gw_hub *h, struct gw_part *p, int64_t now, const char *name,
                        size_t len, uint64_t last_id, const char *ref);

/* A wintalk.v2 browser parts the room name (len bytes): a leave event
 * there and the parted reply; or an error (553, 501 not in it, 501 for
 * #lobby or wintalk.v1). */
void gw_member_web_part(struct gw_hub *h, struct gw_part *p, int64_t now, const char *name,
                        size_t len, const char *ref);

/* ---- gw_web.c: views of a room for a browser ---- */

/* The joined reply for p in r: who is there, the history after last_id
 * (at most GW_WELCOME_HISTORY_MAX_BYTES of it). */
void gw_web_joined(struct gw_hub *h, struct gw_part *p, struct gw_room *r, uint64_t last_id);

/* ---- gw_private.c: private messages and identities ---- */

/* p sends text (len bytes, canonical) to the nick to (to_len bytes, as
 * given): delivered to every connection of its owner, echoed to p's; 550
 * for an unknown nick, 501 to oneself. */
/* The sender's copy of a private message to `to` (a nick) to every
 * connection of p's person (kept: it was kept for an account away). */
void gw_private_copy_sent(struct gw_hub *h, struct gw_part *p, int64_t now, const char *to,
                          const char *text, size_t len, int kept);

/* A private message kept for p's account while it was away, to every
 * connection of p's person ("kept":true; a line for a WINTALK program). */
void gw_private_give_kept(struct gw_hub *h, struct gw_part *p, const struct gw_account_pm *row);

void gw_private_send(struct gw_hub *h, struct gw_part *p, int64_t now, const char *to,
                     size_t to_len, const char *text, size_t len, const char *ref);

/* A wintalk.v2 browser's hello (len bytes of data): p becomes the
 * identity of token (token_len bytes; NULL or unknown: a new one, with a
 * token from cfg.random). A token unknown here, on a gateway whose engine
 * keeps identities for every gateway, is first asked of the engine: the
 * hello is held in p and taken again when the engine answers
 * (gw_hub_store_ident). Returns GW_IDENTIFY_RESUMED, GW_IDENTIFY_NEW,
 * GW_IDENTIFY_HELD, or -1 when none could be made (no random source, out
 * of memory). */
enum { GW_IDENTIFY_NEW = 0, GW_IDENTIFY_RESUMED = 1, GW_IDENTIFY_HELD = 2 };
int gw_private_identify(struct gw_hub *h, struct gw_part *p, int64_t now, const char *token,
                        size_t token_len, const char *data, size_t len);

/* p is gone: it is no longer a connection of its identity. */
void gw_private_forget(struct gw_hub *h, struct gw_part *p, int64_t now);

/* Keep id's nick and latest private id in the shared engine (if any),
 * for a resume on another gateway. */
void gw_private_save(struct gw_hub *h, struct gw_ident *id);

/* Keep id alive in the shared engine, for every identity with a
 * connection here (from the presence beat). */
void gw_private_touch(struct gw_hub *h);

/* ---- gw_delete.c: removing messages ---- */

struct gw_event_peek;

/*
 * Whether p may remove the message m (as its JSON reads back) in room r:
 * 0 when it may, else the reply code (GW_R_NOT_ALLOWED). The one place
 * that decides: today its sender (the same person: any connection of the
 * account, or of the browser identity for a guest; a WINTALK guest only
 * its own connection) or a gateway administrator (gw_part.admin); a
 * room's operators are to be checked here too.
 */
int gw_delete_may(const struct gw_hub *h, const struct gw_part *p, const struct gw_room *r,
                  const struct gw_event_peek *m);

/* p asks to remove the message id of r (ref: the client's, or NULL):
 * checked (550 none such among the room's recent events, 551 removed
 * already, 532 not p's to remove, 429 over the rate), then a deleted
 * event in r and a 250 to p. */
void gw_delete_one(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                   uint64_t id, const char *ref);

/* /delete last: p's person's latest message in r that is not removed. */
void gw_delete_last(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                    const char *ref);

/* An administrator removes every message of nick (len bytes, as given)
 * in r, at most GW_DELETE_BATCH_MAX of them, oldest first: 250 says how
 * many, and whether more remain. 532 for anyone else. */
void gw_delete_all(struct gw_hub *h, struct gw_part *p, struct gw_room *r, int64_t now,
                   const char *nick, size_t len, const char *ref);

/* A room event json just kept for r (before it enters the ring): a
 * deleted event removes its message's words from r's ring (the JSON
 * without them in its place) and its line from r's transcript (its TCP
 * members shown the whole again). Anything else: nothing. */
void gw_delete_apply(struct gw_hub *h, struct gw_room *r, struct gw_buf *json);

/* ---- gw_read.c: history and search requests ---- */

/* A read the store has not answered: who asked, and what the answer
 * says it is about. */
struct gw_read_wait {
    uint64_t tag;
    uint64_t pid;
    enum gw_read_what what;
    uint64_t id;
    char room[GW_ROOM_NAME_MAX_BYTES + 1];
    char q[GW_STORE_QUERY_MAX_BYTES + 1];
    size_t q_len;
    char ref[GW_REF_MAX_BYTES * 6 + 3];
};

/* A browser's history request (m: type history) or search (m: type
 * search, the words in m->text) for room r, which it is in, at now.
 * Answered now (from the room's ring, without a store that reads) or when
 * the store reports (gw_hub_store_rows); refused with 501, 504, 429 (over
 * --read-rate, or GW_READS_PER_PART_MAX waiting), 421 (GW_READS_MAX
 * waiting in the gateway) or 451. */
void gw_read_request(struct gw_hub *h, struct gw_part *p, struct gw_room *r,
                     const struct gw_cmsg *m, int64_t now);

/* Free the waiting reads (the hub is going). */
void gw_read_free(struct gw_hub *h);

/* ---- gw_tcp.c: a TCP participant's input ---- */

/* A new TCP participant (its handshake queued): refused when full (the
 * room is past max_participants), else prompted for /login when the hub
 * has a key, else it joins as guest-N. */
void gw_tcp_connect(struct gw_hub *h, struct gw_part *p, int64_t now, int full);

/* Bytes from a TCP participant (len bytes at data). */
void gw_tcp_input(struct gw_hub *h, struct gw_part *p, int64_t now, const void *data, size_t len);

/* End a TCP participant's connection for a protocol error: a last line
 * "* error CODE: why; closing", then closing. */
void gw_tcp_fail(struct gw_hub *h, struct gw_part *p, int code, const char *why);

/* ---- gw_web.c: a browser's input ---- */

/* A new browser: when full, a bye 421 and closing; else it waits for its
 * hello. */
void gw_web_connect(struct gw_hub *h, struct gw_part *p, int full);

/* One WebSocket text message from a browser that is not closing. */
void gw_web_input(struct gw_hub *h, struct gw_part *p, int64_t now, const char *data, size_t len);

/* A browser's message refused by the adapter (gw_hub_web_reject). */
void gw_web_reject(struct gw_hub *h, struct gw_part *p, int code, const char *why);

/* A browser's message that came while its hello is held: kept to be taken
 * after it (or p is closed, 421, past GW_HELD_AFTER_MAX). */
void gw_web_hold_after(struct gw_hub *h, struct gw_part *p, const char *data, size_t len);

/* What p's hello was held for has come: the hello goes on (unless p is
 * closing), then what came after it (gw_web_take_after). */
void gw_web_hello_go_on(struct gw_hub *h, struct gw_part *p, int64_t now);

/* The hello held for p has been taken: what came after it, in order (until
 * a hello holds again). */
void gw_web_take_after(struct gw_hub *h, struct gw_part *p, int64_t now);

/* ---- gw_presence.c: who is where on the other gateways ---- */

/* Participants of other gateways in r, and the next of them from *i (0 to
 * start; NULL after the last). */
size_t gw_presence_count(const struct gw_hub *h, const struct gw_room *r);
const struct gw_remote *gw_presence_next(const struct gw_hub *h, const struct gw_room *r,
                                         size_t *i);

/* The connections logged in to the account of key on other gateways, one
 * a gateway (the first of *i onwards, from 0; NULL after the last). */
const struct gw_remote *gw_presence_account_next(const struct gw_hub *h, const char *key,
                                                 size_t *i);

/* The participant of another gateway whose id is pid, or NULL. */
const struct gw_remote *gw_presence_remote(const struct gw_hub *h, uint64_t pid);

/* Whether a connection of p's person on another gateway is in r: a tab
 * of its identity, a connection of its account. */
int gw_presence_person_in(const struct gw_hub *h, const struct gw_part *p,
                          const struct gw_room *r);

/* Whether a connection of another gateway (but but_node's; 0: any),
 * logged in to the account of key, is in r. */
int gw_presence_account_in(const struct gw_hub *h, const char *key, const struct gw_room *r,
                           uint64_t but_node);

/* The participant of another gateway whose nick's key is key, or NULL;
 * not self's person (a browser of its identity there that has not left
 * every list yet: it resumed here; a connection logged in to its
 * account). */
const struct gw_remote *gw_presence_nick(const struct gw_hub *h, const char *key,
                                         const struct gw_part *self);

/* How lists name a browser's identity: the first GW_IDENT_TAG_LEN hex
 * digits of its token's digest (out: GW_IDENT_TAG_LEN + 1 bytes). */
void gw_presence_tag(const struct gw_ident *id, char *out);

/* This gateway's list for the others:
 * {"parts":[{pid,nick,nick_at,via,rooms}]}. */
struct gw_buf *gw_presence_list(struct gw_hub *h);

/* An event of r that came back from the engine: a join, leave or nick of
 * another gateway's participant changes who is where. Returns the pid of
 * a participant of another gateway whose nick it made known (to settle
 * once the event is delivered), else 0. */
uint64_t gw_presence_event(struct gw_hub *h, struct gw_room *r, const char *json, size_t len);

/* Two gateways that gave one nick at once (within the moment before each
 * heard of the other, or while the engine was away) settle it alike, each
 * from the same two facts: whoever took it first keeps it (the lower pid
 * at the same millisecond), and the other one's gateway makes it a guest.
 * Called with the remote participant pid whose nick is new here. */
void gw_presence_settle(struct gw_hub *h, uint64_t pid, int64_t now);

/* From gw_hub_tick: send the list when due; forget gone gateways (and post
 * their participants' leaves when it falls to this one). */
void gw_presence_tick(struct gw_hub *h, int64_t now);

void gw_presence_free(struct gw_hub *h);

#endif /* GW_HUB_INT_H */
