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

/*
 * The functions below take a hub and a participant that is in it (found
 * by gw_hub.c for this call); none frees a participant: one the hub wants
 * gone is marked closing, and the adapter disconnects it later. Text
 * arguments are borrowed for the call.
 */

/* ---- gw_hub.c: participants, nicks, the key, room events ---- */

/* Tell the adapter p has output (once until its queue runs dry). */
void gw_hub_wake(struct gw_hub *h, struct gw_part *p);

/* Mark p closing with a WebSocket close code and a reason for the log
 * (copied), and tell the adapter. Nothing is queued for p after this. */
void gw_hub_start_closing(struct gw_hub *h, struct gw_part *p, int code, const char *reason);

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

#endif /* GW_HUB_INT_H */
