/*
 * gw_limits.h - every bound of the gateway, in one place.
 *
 * Each buffer and queue of the gateway has its bound here. Going past one is
 * a protocol error (the peer is told and, for framing errors, dropped) or a
 * slow-consumer decision (a TCP view is re-sent whole, a browser is closed
 * with 4421), never an unbounded allocation.
 *
 * Worst-case memory per connection, from these numbers:
 *   TCP:     decoder text (3 * frame cap) + draft (GW_DRAFT_MAX_BYTES)
 *            + queue (GW_TCP_QUEUE_MAX_BYTES) + one batch in flight
 *   browser: reassembly (GW_WS_IN_MAX_BYTES) + queue (GW_WEB_QUEUE_MAX_BYTES)
 *            + one batch or the welcome in flight
 * and for the hub: history (GW_HISTORY_MAX_BYTES) + transcript.
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include "wt_codec.h"

/* Connections the hub accepts at once (TCP and browsers together). */
#define GW_PARTICIPANTS_DEFAULT 256u
#define GW_PARTICIPANTS_CEILING 4096u

/* A nick: at most this many characters (code points), hence bytes. */
#define GW_NICK_MAX_CHARS 24u
#define GW_NICK_MAX_BYTES (GW_NICK_MAX_CHARS * 4u)

/* One chat message's text, in bytes of canonical UTF-8. */
#define GW_TEXT_MAX_BYTES 4096u

/* Live typing text forwarded to browsers is cut to this many bytes. */
#define GW_TYPING_MAX_BYTES 512u

/* Typing updates leave at most once per this interval per participant. */
#define GW_TYPING_INTERVAL_MS 250

/* A TCP participant's draft (its text box): room for one full-size frame. */
#define GW_DRAFT_MAX_BYTES (WT_UTF8_PER_UNIT_MAX * WT_FRAME_UNITS_DEFAULT)

/* The TCP transcript: past MAX it is cut back to about KEEP (at a line
 * boundary) and re-sent to every TCP participant as one R frame. */
#define GW_TRANSCRIPT_MAX_BYTES 16384u
#define GW_TRANSCRIPT_KEEP_BYTES 8192u

/* Retained room events for resuming browsers: whichever bound is hit first
 * drops the oldest. */
#define GW_HISTORY_MAX_EVENTS 2000u
#define GW_HISTORY_MAX_BYTES (1024u * 1024u)

/* Events a browser gets in its welcome on a first visit (last_id 0). */
#define GW_WELCOME_RECENT 100u

/* The history in one welcome, in bytes: past it the oldest events are left
 * out and the welcome says "gap". Well under the browser's queue bound, so
 * the events after the welcome still fit. */
#define GW_WELCOME_HISTORY_MAX_BYTES (256u * 1024u)

/* Output queues. A TCP participant past its bound loses the queue and gets
 * one R frame of the current transcript instead (the view is the state). A
 * browser past its bound is closed with 4421 and resumes by id. A single
 * item larger than the bound (a welcome) is accepted into an empty queue. */
#define GW_TCP_QUEUE_MAX_BYTES (64u * 1024u)
#define GW_WEB_QUEUE_MAX_BYTES (512u * 1024u)
#define GW_QUEUE_MAX_ITEMS 4096u

/* The kernel's send buffer of each accepted socket. Fixed rather than
 * auto-tuned (which grows to megabytes per peer), so that a peer that stops
 * reading is noticed by the queue bounds above instead of hiding in the
 * kernel. */
#define GW_SOCKET_SNDBUF (128 * 1024)

/* Several queued items leave together in one write, up to this size. */
#define GW_BATCH_MAX_BYTES (64u * 1024u)

/* One WebSocket message from a browser, reassembled from fragments. Past
 * it: error 552 and close 1009. */
#define GW_WS_IN_MAX_BYTES (64u * 1024u)

/* Rate of messages (say, lines, commands) per participant: a token bucket
 * of GW_RATE_DEFAULT per second holding at most twice that. 0 turns it off. */
#define GW_RATE_DEFAULT 10u

/* The access key given with --key. */
#define GW_KEY_MAX_BYTES 256u

/* A client's "ref", echoed in errors: a string of at most this many bytes
 * or an integer. */
#define GW_REF_MAX_BYTES 64u

/* A close reason kept for the log and the WebSocket close frame. */
#define GW_REASON_MAX_BYTES 120u

#endif /* GW_LIMITS_H */
