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
#include "gw_hub.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_metrics.h"
#include "gw_queue.h"
#include "gw_transcript.h"
#include "wt_codec.h"

/* A participant: one TCP connection or one browser tab. */
struct gw_part {
    uint64_t pid;
    size_t slot;            /* index in h->parts */
    enum gw_via via;
    void *user;
    char nick[GW_NICK_MAX_BYTES + 1];     /* as shown: NFC, as first spelled */
    char nick_key[GW_NICK_KEY_MAX_BYTES + 1]; /* as compared: NFC, case folded */
    int joined;             /* in the room (TCP: from connect; web: after hello) */
    int closing;
    int close_code;
    char close_reason[GW_REASON_MAX_BYTES + 1];
    struct gw_queue q;
    int resync;             /* TCP: the next write starts with R of the transcript */
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
    /* rate limits: token buckets, in thousandths of a message */
    int64_t tokens;
    int64_t tokens_at;
    int64_t typing_tokens;
    int64_t typing_tokens_at;
    /* refused messages not yet forgiven, in thousandths (abuse) */
    int64_t strikes;
    int64_t strikes_at;
    uint64_t refusals;      /* messages refused for a limit (429, 552) */
};

/* The hub: its participants and, today, its one room's history and
 * transcript. */
struct gw_hub {
    struct gw_hub_config cfg;
    /* The access key, as a digest: compared in constant time. */
    unsigned char key_digest[SHA256_DIGEST_LENGTH];
    int has_key;
    size_t draft_max_bytes;
    struct gw_metrics metrics;
    struct gw_part **parts;
    size_t nparts, cap;
    /* pid -> participant: open addressing, linear probing, a power of two
     * at least twice cap, so a lookup is O(1) on every write. */
    struct gw_part **index;
    size_t index_mask;
    uint64_t next_pid;
    char epoch[GW_EPOCH_HEX_LEN + 1]; /* cfg.epoch as a welcome shows it */
    unsigned guest_seq;
    /* the room's events: their ids, and the latest kept to read back */
    struct gw_history history;
    /* what TCP participants are shown */
    struct gw_transcript transcript;
    /* Wall time minus the hub's clock, in ms (gw_hub_set_wall_clock). */
    int64_t wall_offset;
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

/* p says text (len bytes, canonical; me: a /me action) to the room: a
 * message event, and a transcript line. */
void gw_hub_post_message(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text,
                         size_t len, int me);

/* p joined the room: a join event and a transcript line (not in a crowd). */
void gw_hub_post_join(struct gw_hub *h, struct gw_part *p, int64_t now);

/* Change p's nick to given (len bytes of valid UTF-8), announcing it when
 * p is in the room; a nick not allowed or taken gets error 553 (with the
 * client's ref, or NULL). Returns 0 or that reply code. */
int gw_hub_change_nick(struct gw_hub *h, struct gw_part *p, int64_t now, const char *given,
                       size_t len, const char *ref);

/* Give p the next free guest-N nick. */
void gw_hub_guest_name(struct gw_hub *h, struct gw_part *p);

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

/* A TCP participant's next write is the whole transcript, as R. */
void gw_out_resync(struct gw_hub *h, struct gw_part *p);

/* A line "* text" for one TCP participant only, not in the transcript. */
void gw_out_personal(struct gw_hub *h, struct gw_part *p, const char *text);

/* The line "* text" that tells a TCP participant why it is closed, as its
 * last output; the caller marks it closing next. */
void gw_out_last_line(struct gw_hub *h, struct gw_part *p, const char *text);

/* An error reply with a reply code: JSON error (with the client's ref, or
 * NULL) for a browser, "* error CODE: msg" for TCP. */
void gw_out_error(struct gw_hub *h, struct gw_part *p, int code, const char *msg,
                  const char *ref);

/* An informational reply (who, help): JSON info, or a "* " line for TCP. */
void gw_out_info(struct gw_hub *h, struct gw_part *p, int code, const char *text);

/* gw_hub_take for p: 1 with *out set (caller owns the reference), 0 when
 * nothing is waiting, or GW_ENOMEM. */
int gw_out_take(struct gw_hub *h, struct gw_part *p, struct gw_buf **out);

/* ---- gw_typing.c: live typing ---- */

/* p's unfinished text is now text (len bytes of valid UTF-8): browsers
 * are told now if it stopped, or within GW_TYPING_INTERVAL_MS. */
void gw_typing_set(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text,
                   size_t len);

/* Tell the browsers in the room p's typing, if it changed since they were
 * last told. */
void gw_typing_emit(struct gw_hub *h, struct gw_part *p, int64_t now);

/* ---- gw_rate.c: rate limits ---- */

/* Take one token from a bucket of rate per second (burst twice that), in
 * thousandths: 1 if there was one, else 0. rate 0: no limit (1). */
int gw_rate_take(unsigned rate, int64_t *tokens, int64_t *at, int64_t now);

/* Whether p may send one more message now (1), or it is over --rate (0,
 * counted). */
int gw_rate_ok(struct gw_hub *h, struct gw_part *p, int64_t now);

/* A message of p was refused for its rate: count a strike; past
 * cfg.abuse_strikes p is told and closed. */
void gw_rate_strike(struct gw_hub *h, struct gw_part *p, int64_t now);

/* ---- gw_cmd.c: what a participant says ---- */

/* One line or say-text from p (canonical, may hold \n for a browser; ref
 * the client's ref or NULL): a chat message or a slash command. */
void gw_cmd_said(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text, size_t len,
                 const char *ref);

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

#endif /* GW_HUB_INT_H */
