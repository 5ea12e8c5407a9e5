/*
 * gw_hub.h - the star hub: rooms (#lobby and those people /join), TCP
 * (WINTALK) and browser (JSON, wintalk.v1 and wintalk.v2) participants,
 * drafts, commands, private messages, transcripts, histories and fan-out.
 *
 * Pure: no sockets, no libwebsockets, no clock, no logging. Time is an
 * argument (milliseconds since the Unix epoch). Bytes from a peer go in
 * (gw_hub_tcp_input, gw_hub_web_input); bytes for a peer come out
 * (gw_hub_take), already framed for its transport. The adapter is told a
 * participant has output through the wake callback, and writes it when the
 * socket is writeable.
 *
 * Participants are named by id (pid), never reused while the hub lives.
 * Adapters keep the id, never a pointer into the hub. A participant is only
 * freed by gw_hub_disconnect, which the adapter calls when its connection
 * is gone: a participant the hub wants closed is marked closing first
 * (gw_hub_closing tells the adapter), never freed during a fan-out.
 *
 * Rooms (gw_room.h): a TCP participant is in exactly one room, whose
 * transcript is its pane; a wintalk.v2 browser is in a set of rooms
 * (#lobby always); a wintalk.v1 browser in #lobby only. Each room has its
 * own event ids; the epoch is the hub's.
 *
 * Fan-out: each room event is encoded once per transport (one JSON text,
 * one WINTALK A frame) and every member's queue references those bytes; it
 * reaches the members of its room only, without looking at anyone else.
 * Queues are bounded (gw_limits.h). A TCP participant past its bound gets
 * one R frame of the current transcript instead; a browser past its bound
 * is closed with 4421 and resumes by id. The line telling a TCP participant
 * why it is closed is always its last output: queued output makes room
 * for it.
 *
 * This header is all the adapter and the tests use. The hub's code is split
 * by job into modules that share gw_hub_int.h; gw_hub.c is where an id
 * becomes a pointer.
 */
#ifndef GW_HUB_H
#define GW_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "gw_accounts.h"
#include "gw_json.h"
#include "gw_metrics.h"
#include "gw_queue.h"
#include "gw_store.h"

enum gw_status {
    GW_OK = 0,
    GW_ENOMEM = -1,  /* allocation failed */
    GW_ENOENT = -2,  /* no participant with that id */
    GW_EINVAL = -3,  /* bad argument */
    GW_EFULL = -4,   /* too many connections even to refuse politely */
};

/* English for a gw_status. Never NULL. */
const char *gw_strerror(int code);

enum gw_via { GW_VIA_TCP, GW_VIA_WEB };

/* What a browser speaks: the WebSocket subprotocol the adapter agreed. */
enum gw_proto {
    GW_PROTO_V1 = 1, /* wintalk.v1: #lobby only, the single-room welcome */
    GW_PROTO_V2 = 2, /* wintalk.v2: rooms, private messages, resume tokens */
};

/* WebSocket close codes the hub asks for (docs/protocol.md). */
#define GW_CLOSE_NORMAL 1000
#define GW_CLOSE_GOING_AWAY 1001
#define GW_CLOSE_POLICY 1008
#define GW_CLOSE_TOO_BIG 1009
#define GW_CLOSE_RESTART 1012
#define GW_CLOSE_TRY_LATER 1013
#define GW_CLOSE_BEHIND 4421

/* What the hub takes of a site's token once it is verified (cfg.jwt_verify):
 * NUL-ended UTF-8 without control characters. */
struct gw_token_claims {
    char sub[GW_JWT_SUB_MAX_BYTES + 1]; /* the site's user id, never empty */
    char nick[GW_NICK_MAX_BYTES + 1];   /* the nick the site gives, "" for none */
    int admin;                          /* the admin claim was true */
    size_t n_rooms;                     /* rooms[0..n_rooms): rooms to join */
    char rooms[GW_JWT_ROOMS_MAX][GW_ROOM_NAME_MAX_BYTES + 1];
};

struct gw_hub_config {
    /* Spare bytes before every output buffer's payload (LWS_PRE). */
    size_t headroom;
    /* Connections accepted at once; 0 for GW_PARTICIPANTS_DEFAULT. */
    unsigned max_participants;
    /* Messages per second per participant (burst twice that); 0: no limit. */
    unsigned rate;
    /* A browser's typing updates per second (burst twice that); 0: no limit. */
    unsigned typing_rate;
    /* History and search requests per second per participant (burst twice
     * that); 0: no limit. */
    unsigned read_rate;
    /* New rooms a minute per participant (burst as many); 0: no limit. */
    unsigned room_rate;
    /* Refused messages (net of GW_RATE-paced forgiveness) before a
     * participant is disconnected for flooding; 0: never. */
    unsigned abuse_strikes;
    /* Longest chat text in bytes; 0 for GW_TEXT_MAX_BYTES (also the
     * ceiling). */
    size_t line_max;
    /* Longest TCP draft/frame in UTF-16 units; 0 for GW_DRAFT_UNITS_DEFAULT. */
    unsigned draft_units;
    /* Longest nick in characters; 0 for GW_NICK_MAX_CHARS (the ceiling). */
    unsigned nick_max;
    /* Access key browsers give in hello and TCP participants with /login;
     * NULL or "" for none. Only a digest of it is kept. */
    const char *key;
    /*
     * The epoch of the event ids: ids are unique within one epoch only, so
     * a browser that resumes with a last_id of another epoch (the gateway
     * restarted and its ids started again) is told its history was reset
     * instead of being given a silent gap. The adapter makes it at random
     * when the history starts (with the history, once that is kept); the
     * hub makes none, being pure. Welcomes show it as GW_EPOCH_HEX_LEN
     * lowercase hex digits.
     */
    uint64_t epoch;
    /*
     * Participant ids start after it. Gateways whose rooms are shared
     * (an engine that orders, gw_store.h) each take a different one, so
     * that an id names one participant everywhere; 0 for one gateway.
     * Ids stay below 2^53, which a browser's numbers hold exactly.
     */
    uint64_t pid_base;
    /* Queue bounds; 0 for GW_TCP_QUEUE_MAX_BYTES / GW_WEB_QUEUE_MAX_BYTES. */
    size_t tcp_queue_max_bytes;
    size_t web_queue_max_bytes;
    /*
     * Output held for every participant together (their queues and the
     * writes their transports still hold, a shared buffer counted once per
     * holder); 0: no bound. Past it, the participants holding most are
     * closed until the rest fits, each told why: a browser is closed with
     * 4421 (it resumes by id), a TCP participant gets a last line
     * "* error 421: ...". Like Redis's maxmemory-clients.
     */
    size_t output_max_bytes;
    /*
     * The reload grace, in ms; 0: none. A wintalk.v2 browser that closes
     * its connection itself (not one the hub ended) while no other tab of
     * its identity is here stays in its rooms this long, listed and
     * counted, sent nothing: its identity coming back (a hello with its
     * token) takes its place in the rooms it names with no join, and no
     * leave is posted where it is back. Otherwise its leaves come when
     * the grace ends (gw_hub_tick). At most GW_LINGER_MAX at once.
     */
    int64_t reload_grace_ms;
    /* Closed browsers in their grace at once; 0 for GW_LINGER_MAX. Past
     * it, one that closes leaves at once. */
    unsigned linger_max;
    /*
     * Accounts (gw_accounts.h): the store's, answered through
     * gw_hub_account_answer; NULL: none (registering and logging in are
     * refused, 504). Passwords are hashed and checked off the hub's
     * thread: hash(pw) and verify(phc, pw) return 0 when taken (the answer
     * comes through gw_hub_hash_answer, never inside the call) or -1 when
     * busy (421, try again). registration_closed: accounts come from the
     * operator (or a site's token) only. plain_passwords: a WINTALK program
     * on plain TCP from another machine may send a password (it travels in
     * clear); otherwise only over TLS or from this machine
     * (gw_hub_set_secure).
     */
    const struct gw_accounts *accounts;
    int (*hash)(void *ctx, uint64_t tag, const char *pw, size_t len);
    int (*verify)(void *ctx, uint64_t tag, const char *phc, const char *pw, size_t len);
    int registration_closed;
    int plain_passwords;
    /* How long a browser's session lasts, in days; 0 for
     * GW_SESSION_DAYS_DEFAULT. */
    unsigned session_days;
    /* Accounts one address may register an hour (gw_hub_set_address);
     * 0: no limit. */
    unsigned registrations_per_hour;
    /*
     * A site's own login (hub/gw_jwtlogin.c): a browser's hello may carry
     * a token the site signed (a JWT). jwt_verify checks token (len bytes,
     * not NUL-ended) at wall_ms (the wall clock, ms since the Unix epoch):
     * 0 with *out filled, or -1 with why (whylen bytes) saying in words fit
     * for the token's holder why it is refused (expired, bad signature,
     * another algorithm, ...). It is called on the hub's thread, inside the
     * hello: a signature check is cheap (microseconds for HS256, tens of
     * them for RS256 and ES256, against tens of milliseconds for a
     * password's hash), a browser's connection has one hello, and the
     * connections of one address are bounded, so a flood of tokens costs
     * the loop less than the flood's own bytes. NULL: no tokens taken
     * (504). Tokens need accounts.
     */
    int (*jwt_verify)(void *ctx, const char *token, size_t len, int64_t wall_ms,
                      struct gw_token_claims *out, char *why, size_t whylen);
    /* Gateway administrators: the accounts named (nicks as the operator
     * wrote them, compared as nicks: NFC, case folded), nadmins of them,
     * borrowed for the hub's life. A connection logged in to one of them
     * (a password, a session, a token) is an administrator, as is one a
     * token with the admin claim logged in, and one whose account has the
     * role GW_ROLE_ADMIN in the store. */
    const char *const *admins;
    size_t nadmins;
    /* Rooms at once (#lobby included); 0 for GW_ROOMS_MAX_DEFAULT. */
    unsigned max_rooms;
    /* Rooms a wintalk.v2 browser may be in; 0 for
     * GW_ROOMS_PER_BROWSER_DEFAULT. */
    unsigned max_rooms_per_browser;
    /*
     * Random bytes for resume tokens: fill buf with len of them and return
     * 0 (given ctx). The hub makes none itself, being pure; without this a
     * wintalk.v2 hello gets 421 and is closed.
     */
    int (*random)(void *ctx, void *buf, size_t len);
    /*
     * Where room events are kept (gw_store.h), borrowed for the hub's
     * life; NULL: in memory only (each room's ring of recent events). With
     * a store, an event reaches nobody before the store reports it kept
     * (gw_hub_store_done), and history and search requests are read from
     * it (gw_hub_store_rows).
     */
    const struct gw_store *store;
    /*
     * Called (from inside hub calls) when a participant has new output or
     * has started closing: the adapter should ask for a writeable callback.
     * user is what the adapter gave gw_hub_connect. May be NULL.
     */
    void (*wake)(void *ctx, void *user, uint64_t pid);
    void *ctx;
};

struct gw_hub;

/* Create a hub; *out is freed with gw_hub_free. Returns GW_OK, GW_ENOMEM,
 * GW_EINVAL. */
int gw_hub_new(struct gw_hub **out, const struct gw_hub_config *cfg);

/* Free the hub and every participant still in it. */
void gw_hub_free(struct gw_hub *h);

/*
 * A new connection. A TCP participant joins #lobby at once as guest-N
 * (join event) and its queue starts with the handshake and priming (alone in
 * one write) and then an R frame of #lobby's transcript ending with the line
 * "* you are in #lobby (N here)"; when the hub has an access key, it is not
 * in the gateway yet: it gets one R frame with a prompt line instead, and
 * joins when it sends the line "/login KEY" (a wrong key: "* error 530 ..."
 * and it is closed). A browser (wintalk.v1) waits for its hello. When the
 * gateway is full the participant is created already closing, with a 421
 * to read. user is handed back to the wake callback. Stores the id in
 * *pid. Returns GW_OK, GW_ENOMEM, GW_EFULL (refuse the connection
 * outright).
 */
int gw_hub_connect(struct gw_hub *h, enum gw_via via, void *user, int64_t now, uint64_t *pid);

/* A new browser speaking proto (gw_hub_connect with GW_VIA_WEB is
 * GW_PROTO_V1). Returns as gw_hub_connect, or GW_EINVAL. */
int gw_hub_connect_web(struct gw_hub *h, enum gw_proto proto, void *user, int64_t now,
                       uint64_t *pid);

/*
 * A connection refused by a bound the adapter enforces (e.g. connections
 * per address): the participant is created already closing, never in the
 * room, with a last line "* error 421: why" (TCP, after the handshake) or
 * error 421 (browser, close 1013) to read. why is copied. Stores the id in
 * *pid. Returns GW_OK, GW_ENOMEM, GW_EFULL (refuse outright), GW_EINVAL.
 */
int gw_hub_refuse(struct gw_hub *h, enum gw_via via, void *user, const char *why, uint64_t *pid);

/*
 * Bytes from a TCP participant: WINTALK frames build its draft; completed
 * lines become messages or commands. A malformed frame queues a last line
 * saying why and marks the participant closing. Input to a closing
 * participant is ignored. Returns GW_OK, GW_ENOENT, GW_EINVAL.
 */
int gw_hub_tcp_input(struct gw_hub *h, uint64_t pid, int64_t now, const void *data, size_t len);

/*
 * One complete WebSocket text message from a browser. Bad input gets an
 * error reply; the hub carries on. Returns GW_OK, GW_ENOENT, GW_EINVAL.
 */
int gw_hub_web_input(struct gw_hub *h, uint64_t pid, int64_t now, const char *data, size_t len);

/*
 * A browser's message was over GW_WS_IN_MAX_BYTES (or not text): queue
 * error code (552 or 500) and, for 552, close with 1009. Returns GW_OK or
 * GW_ENOENT.
 */
int gw_hub_web_reject(struct gw_hub *h, uint64_t pid, int code, const char *why);

/*
 * The connection is gone: remove the participant (a leave event, with
 * reason, in each room it was in). Its id is never used again. Returns
 * GW_OK or GW_ENOENT.
 */
int gw_hub_disconnect(struct gw_hub *h, uint64_t pid, int64_t now, enum gw_leave_reason reason);

/*
 * Where the hub's clock stands against wall time. Every `now` the hub is
 * given is a monotonic clock in ms (rate limits, throttles and deadlines
 * are durations, and must not jump when the wall clock is stepped); the
 * `time` of events is that clock plus (wall_ms - now) as of the last call.
 * Call it at start and then now and then (each tick). Until it is called,
 * events carry the hub's clock as their time.
 */
void gw_hub_set_wall_clock(struct gw_hub *h, int64_t wall_ms, int64_t now);

/* Let time pass: sends throttled typing updates that are due, and drops
 * identities past their time (GW_IDENTITY_TTL_MS). Call it every
 * GW_TYPING_INTERVAL_MS / 2 or so. */
void gw_hub_tick(struct gw_hub *h, int64_t now);

/* The gateway is stopping: every browser gets bye 421 and is closed with
 * 1001; every TCP participant a last line. All are marked closing. */
void gw_hub_shutdown(struct gw_hub *h, int64_t now);

/*
 * The next write for a participant: several queued items joined (A frames
 * back to back for TCP; a JSON array for browsers) up to
 * GW_BATCH_MAX_BYTES, or one item alone. On 1, *out is a buffer reference
 * the caller owns (gw_buf_unref after writing it); 0 when nothing is
 * waiting. Returns 1, 0, GW_ENOENT, GW_ENOMEM.
 */
int gw_hub_take(struct gw_hub *h, uint64_t pid, struct gw_buf **out);

/*
 * After a write: 1 when more waits for the participant (items, a pane to
 * redraw, a close to make), so the adapter asks for another write; 0 when
 * its queue ran dry, and then the next output wakes the adapter again
 * (cfg.wake). Asking for a write only when there is one to make spares the
 * event loop a change of what it waits for on every write (an epoll_ctl,
 * with libuv). Returns 1, 0 or GW_ENOENT.
 */
int gw_hub_more(struct gw_hub *h, uint64_t pid);

/*
 * Whether the hub wants this participant closed once its output is
 * written: returns 1 (and the WebSocket close code and a reason for the
 * log, borrowed until the participant is disconnected), 0 if not, or
 * GW_ENOENT. code and reason may be NULL.
 */
int gw_hub_closing(struct gw_hub *h, uint64_t pid, int *code, const char **reason);

/* Whether the participant is in the gateway (TCP: logged in when a key is
 * needed; browser: after hello): 1, 0, or GW_ENOENT. */
int gw_hub_joined(struct gw_hub *h, uint64_t pid);

/* Messages of this participant refused for a limit (429, 552) so far, for
 * the adapter's log; 0 for an unknown id. */
uint64_t gw_hub_refusals(struct gw_hub *h, uint64_t pid);

/* The hub's counters: the adapter adds its own (bytes, refusals) to them.
 * Borrowed for the life of the hub. */
struct gw_metrics *gw_hub_metrics(struct gw_hub *h);

/* The participant's current nick (borrowed until the next hub call), or
 * NULL when there is no such participant. */
const char *gw_hub_nick(struct gw_hub *h, uint64_t pid);

/* Participants in the gateway, by transport (browsers count after hello). */
void gw_hub_counts(const struct gw_hub *h, unsigned *tcp, unsigned *web);

/* Connections the hub knows (in the gateway or not). */
unsigned gw_hub_connections(const struct gw_hub *h);

/* The id of #lobby's latest event (0 before any): what a wintalk.v1
 * welcome calls last_id. */
uint64_t gw_hub_last_id(const struct gw_hub *h);

/* The id of the latest event of the room called room (NUL-terminated, any
 * case), or 0 when there is none or no such room. */
uint64_t gw_hub_room_last_id(const struct gw_hub *h, const char *room);

/* Members of the room called room (any case), or GW_ENOENT when there is
 * no such room (never made, or dropped at --max-rooms). */
int gw_hub_room_members(const struct gw_hub *h, const char *room);

/* Rooms there are now, #lobby included. */
unsigned gw_hub_rooms(const struct gw_hub *h);

/*
 * The store reports (struct gw_store_sink): every event of the room whose
 * key is room_key up to id is kept (status GW_STORE_DONE: it goes to the
 * room's members now, in id order) or lost (a negative gw_store_status:
 * nobody gets it, and the sender of a lost message is told 451). With an
 * engine that orders, id counts the hub's appends to the room and a kept
 * event is sent when it comes back (gw_hub_store_event). Returns GW_OK,
 * or GW_ENOENT when there is no such room.
 */
int gw_hub_store_done(struct gw_hub *h, const char *room_key, uint64_t id, int status);

/*
 * An engine that orders (GW_STORE_ORDERS) reports an event of the room
 * room_key, from this gateway or another: it goes to the room's members,
 * into its ring and its transcript, unless its id is not above the
 * room's last (had already: dropped). Ids it skips are a gap. Returns
 * GW_OK, GW_ENOENT (no such room) or GW_ENOMEM.
 */
int gw_hub_store_event(struct gw_hub *h, const char *room_key, const struct gw_store_event *ev);

/*
 * An engine that orders reports the list of participants of the gateway
 * node (gw_presence.c; now the hub's clock): who is where there, replacing
 * what came before. Returns GW_OK or GW_EINVAL (not a list, or this
 * gateway's own) or GW_ENOMEM.
 */
int gw_hub_presence_apply(struct gw_hub *h, uint64_t node, const char *json, size_t len,
                          int64_t now);

/*
 * The same for a list the engine kept and reads back (a gateway that
 * comes, or connects again), sent age_ms before now: the gateway counts
 * as heard of then, not now, so that one that died meanwhile is gone when
 * it would have been anyway. Returns as gw_hub_presence_apply.
 */
int gw_hub_presence_kept(struct gw_hub *h, uint64_t node, const char *json, size_t len,
                         int64_t now, int64_t age_ms);

/*
 * An engine that orders brings a private message from another gateway
 * (as gw_json_private writes it, with to_pid): the receiver here gets its
 * copy as from any sender. Returns GW_OK, GW_EINVAL (not such a message)
 * or GW_ENOENT (nobody here has that id any more).
 */
int gw_hub_private_in(struct gw_hub *h, const char *json, size_t len, int64_t now);

/* The store reports (sink.private_lost) that a private message sent to
 * another gateway (as gw_hub_private_in takes it) reached none: its
 * sender, if here, is told 451. GW_OK, GW_EINVAL (not one), or GW_ENOENT
 * (the sender is gone). */
int gw_hub_private_lost(struct gw_hub *h, const char *json, size_t len, int64_t now);

/* What a password's check answers (gw_hub_hash_answer's status). */
#define GW_HASH_ANSWER_OK 0        /* hashed, or the password matches */
#define GW_HASH_ANSWER_WRONG 1     /* the password does not match */
                                   /* < 0: it could not be done */

/* The accounts engine's answer to the call made with tag (sink.answer of
 * cfg.accounts): GW_OK, or GW_ENOENT when nobody waits for it any more. */
int gw_hub_account_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                          int64_t now);

/* The answer to cfg.hash or cfg.verify made with tag: status (above) and,
 * for a hash, the PHC string. GW_OK, or GW_ENOENT when nobody waits. */
int gw_hub_hash_answer(struct gw_hub *h, uint64_t tag, int status, const char *phc, int64_t now);

/* A page of the registered names (sink.keys of cfg.accounts), for the
 * walk the hub makes of them (at its first tick, then every
 * GW_NAMES_WALK_MS): GW_OK, or GW_ENOENT when it is not the page asked. */
int gw_hub_account_keys(struct gw_hub *h, uint64_t tag, int status, const char *const *keys,
                        size_t n, const char *next, int64_t now);

/* The engine's answers of rows (sink.rooms and sink.pms of
 * cfg.accounts): GW_OK, or GW_ENOENT when nobody waits for them. */
int gw_hub_account_rooms(struct gw_hub *h, uint64_t tag, int status,
                         const struct gw_account_room *rows, size_t n, int64_t now);
int gw_hub_account_pms(struct gw_hub *h, uint64_t tag, int status,
                       const struct gw_account_pm *rows, size_t n, int64_t now);

/*
 * The news of sink.moved of cfg.accounts: the account of key has
 * generation in the store now (another gateway, or this one, moved it
 * on), why (GW_MOVED_*): every connection here logged in to it under an
 * older generation is logged out (a guest again, with its browser's
 * other tabs), told so as when it happens here. key NULL: news may have
 * been missed; every account logged in here is looked at again in the
 * store now (as at each walk of the names, every GW_NAMES_WALK_MS).
 * Returns GW_OK, or GW_ENOENT when nobody here was logged out.
 */
int gw_hub_account_moved(struct gw_hub *h, const char *key, uint64_t generation, int why,
                         int64_t now);

/* The registered names the hub knows now. */
size_t gw_hub_names_count(const struct gw_hub *h);

/* The address pid's connection comes from (ip, as text), for what is
 * counted per address: failed logins (GW_LOGIN_FAILS_ADDR_BURST) and
 * registrations (cfg.registrations_per_hour). Not given behind a
 * proxy (every connection would be the proxy's). GW_OK or GW_ENOENT. */
int gw_hub_set_address(struct gw_hub *h, uint64_t pid, const char *ip);

/* Whether a password may come from pid's connection: TLS, or from this
 * machine (the program says so once it knows). GW_OK or GW_ENOENT. */
int gw_hub_set_secure(struct gw_hub *h, uint64_t pid, int secure);

/* The store's answer (sink.ident) to the look-up of the identity of the
 * participant tag's hello: the identity another gateway made (rec), none
 * (rec NULL) or a failure (status < 0). The held hello goes on: resumed
 * with rec, else with a new identity. GW_OK, or GW_ENOENT when that
 * participant is gone or holds no hello. */
int gw_hub_store_ident(struct gw_hub *h, uint64_t tag, int status,
                       const struct gw_store_ident *rec, int64_t now);

/* An engine that orders reports a typing update (JSON, len bytes) of the
 * participant from in room room_key: to the room's browsers but from.
 * Returns GW_OK, GW_ENOENT or GW_ENOMEM. */
int gw_hub_store_typing(struct gw_hub *h, const char *room_key, uint64_t from, const char *json,
                        size_t len);

/* The store's answer to the load of room_key (sink.loaded, gw_store.h),
 * at now: the room's ring and transcript get the events (the room's ids go
 * on after last_id), and the joins held while it loaded go on. Returns
 * GW_OK, or GW_ENOENT when no such room is loading. */
int gw_hub_store_loaded(struct gw_hub *h, const char *room_key, int status, uint64_t last_id,
                        const struct gw_store_event *ev, size_t n, int64_t now);

/* An engine that orders reports that the room room_key, watched since it
 * was opened, has caught up (sink.ready, gw_store.h), at now: the events
 * it gave meanwhile are the room's ring and transcript, and the joins held
 * while it loaded go on. Returns GW_OK, or GW_ENOENT when no such room is
 * loading. */
int gw_hub_store_ready(struct gw_hub *h, const char *room_key, int64_t now);

/* The store answers the read tagged tag (rows as gw_store_sink.rows): the
 * participant that asked gets its history or search answer, or an error
 * reply. Returns GW_OK, or GW_ENOENT when nobody waits for it any more. */
int gw_hub_store_rows(struct gw_hub *h, uint64_t tag, int status, const struct gw_store_event *ev,
                      size_t n, int more);

/*
 * The store's ids start again under a new epoch (a shared store lost its
 * data): every room's ring is emptied and its ids start again, and each
 * wintalk.v2 browser is closed with GW_CLOSE_RESTART, so that it comes
 * back, resumes with the old epoch and is told reset. Returns how many
 * browsers were closed.
 */
unsigned gw_hub_set_epoch(struct gw_hub *h, uint64_t epoch);

/* Events handed to the store and not yet reported, in every room. */
size_t gw_hub_store_pending(const struct gw_hub *h);

/* Bytes waiting in a participant's queue (for tests and metrics), or 0. */
size_t gw_hub_queued_bytes(struct gw_hub *h, uint64_t pid);

/*
 * After a write: the transport still holds bytes of it (libwebsockets
 * keeps what the socket did not take), or 0 once all is written. They
 * count in what the participant holds (cfg.output_max_bytes) until then.
 * Returns GW_OK or GW_ENOENT.
 */
int gw_hub_in_flight(struct gw_hub *h, uint64_t pid, size_t bytes);

/* Output held now for the participants not closing (what
 * cfg.output_max_bytes bounds), and for those closing (let go when they
 * are gone). */
size_t gw_hub_output_bytes(const struct gw_hub *h);
size_t gw_hub_output_closing_bytes(const struct gw_hub *h);

#endif /* GW_HUB_H */
