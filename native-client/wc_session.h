/*
 * wc_session.h - one WINTALK talk, as pure state: the client's protocol core.
 *
 * Pure: no sockets, no terminal, no clock. Bytes from the peer go in with
 * wc_session_feed(); the peer's view (the top pane) comes out as text. The
 * user's text box is edited here, and wc_session_pump() turns its changes
 * into frames with the sender's rule, queued as bytes for the adapter to
 * write. The adapter owns the socket, the timers and the screen; it never
 * sees a frame.
 *
 * Roles: the caller checks the 12-byte handshake before anything else; the
 * listener queues the handshake and the priming in one piece at the start
 * of its output, so that the adapter's first write carries both (see
 * WT_PRIMING in wt_codec.h for why they must not be split).
 */
#ifndef WC_SESSION_H
#define WC_SESSION_H

#include <stddef.h>

#include "wc_hub.h"
#include "wc_pane.h"
#include "wt_codec.h"

/* Largest text box, in UTF-16 units: what a peer's decoder accepts by
 * default, so that an R of the whole box is never refused. */
#define WC_BOX_UNITS_MAX WT_FRAME_UNITS_DEFAULT

/* Largest frame accepted from the peer, in UTF-16 units. Larger than our
 * own box: a hub re-sends its whole transcript in one R frame. */
#define WC_PEER_FRAME_UNITS (1024u * 1024u)

/* Bytes of frames queued for the socket. Always more than one frame of a
 * full box, so an empty queue has room for any frame; when the peer does
 * not read, box changes wait unencoded and go out later as one frame. */
#define WC_OUT_MAX (512u * 1024u)

enum wc_status {
    WC_OK = 0,
    WC_ENOMEM = -1,     /* allocation failed */
    WC_EINVAL = -2,     /* bad argument */
    WC_EHANDSHAKE = -3, /* the peer's first 12 bytes were not the handshake */
    WC_EPROTO = -4,     /* the peer sent a malformed frame (see wt_error) */
    WC_EFULL = -5,      /* the text box would pass WC_BOX_UNITS_MAX */
    WC_EFAILED = -6,    /* the session already failed */
};

/* A short English description of a wc_status code. Never NULL. */
const char *wc_strerror(int code);

enum wc_role {
    WC_ROLE_CALLER,
    WC_ROLE_LISTENER,
};

enum wc_state {
    WC_STATE_IDLE,      /* not connected yet */
    WC_STATE_HANDSHAKE, /* caller: waiting for the 12 handshake bytes */
    WC_STATE_TALKING,   /* frames flow both ways */
    WC_STATE_FAILED,    /* the peer broke the protocol; it sticks */
};

/* What a feed changed (bit flags in *events). */
enum wc_event {
    WC_EV_TALKING = 1, /* the handshake completed (caller) */
    WC_EV_PANE = 2,    /* the peer's text changed */
    WC_EV_ROOM = 4,    /* a hub said we are in another room (wc_session_room) */
};

/* Treat the fields as private; use the functions. */
struct wc_session {
    enum wc_role role;
    enum wc_state state;
    int error;     /* the wc_status that failed the session */
    int wt_error;  /* the codec's code when error is WC_EPROTO */
    size_t hs_got; /* handshake bytes checked so far */
    struct wt_decoder dec;
    struct wc_pane pane;
    struct wc_hub_watch hub; /* the room a hub says we are in */
    char *box;               /* the user's text box, valid UTF-8; owned */
    size_t box_len, box_cap, box_units;
    char *sent; /* the box as the peer knows it; owned */
    size_t sent_len, sent_cap;
    char *out; /* bytes to write to the socket; owned */
    size_t out_len, out_cap;
};

/* Prepare a session for role. Allocates nothing yet.
 * Returns WC_OK or WC_EINVAL. */
int wc_session_init(struct wc_session *s, enum wc_role role);

/* Release everything the session holds. */
void wc_session_free(struct wc_session *s);

/* The connection is up. The listener queues handshake + priming and starts
 * talking; the caller starts waiting for the handshake.
 * Returns WC_OK, WC_ENOMEM, WC_EINVAL (not idle). */
int wc_session_start(struct wc_session *s);

/*
 * Feed len bytes received from the peer. Stops after the first frame that
 * changes the pane, so that a line reader sees every state of the pane
 * (an R that follows would otherwise replace lines before they were
 * taken): stores the bytes used in *consumed; call again with the rest.
 * Sets *events to the wc_event bits of what changed (also on error, for
 * what changed before it).
 * Returns WC_OK, WC_EHANDSHAKE, WC_EPROTO (wc_session_wt_error says why),
 * WC_ENOMEM, WC_EFAILED (fed after a failure) or WC_EINVAL.
 */
int wc_session_feed(struct wc_session *s, const void *data, size_t len, size_t *consumed,
                    unsigned *events);

enum wc_state wc_session_state(const struct wc_session *s);

/* The codec's wt_status for a WC_EPROTO failure, else 0. */
int wc_session_wt_error(const struct wc_session *s);

/* The peer's text as the top pane shows it; see wc_pane.h. Borrowed for
 * the session's life; the text in it until the next feed. */
struct wc_pane *wc_session_pane(struct wc_session *s);

/* The room a hub's last "* you are in #room (N here)" line named, as
 * "#room", or "" when no such line came (a peer that is not a hub). See
 * wc_hub.h. Borrowed until the next feed. Never NULL. */
const char *wc_session_room(const struct wc_session *s);

/* ---- the user's text box ---- */

/* Insert len bytes of text at the end of the box. Invalid UTF-8 is
 * replaced by U+FFFD. Returns WC_OK, WC_EFULL (nothing inserted),
 * WC_ENOMEM or WC_EINVAL. */
int wc_session_insert(struct wc_session *s, const char *text, size_t len);

/* Enter: append "\r\n". Returns as wc_session_insert. */
int wc_session_newline(struct wc_session *s);

/* Backspace: remove the last character; a "\r\n" goes as one. Returns WC_OK
 * (also on an empty box). */
int wc_session_backspace(struct wc_session *s);

/* Ctrl-U: empty the box (the peer gets "R0:"). Returns WC_OK. */
int wc_session_clear(struct wc_session *s);

/* The box's text, borrowed until the next edit. Never NULL. */
const char *wc_session_box(const struct wc_session *s, size_t *len);

/* Nonzero when the box is empty or ends with a line end. */
int wc_session_box_at_line_start(const struct wc_session *s);

/* The text after the box's last line end (the line being typed), borrowed
 * until the next edit. */
const char *wc_session_box_line(const struct wc_session *s, size_t *len);

/* Nonzero when the box differs from what the peer was last sent. */
int wc_session_box_dirty(const struct wc_session *s);

/*
 * Encode the box's change since the last frame, if any, as one frame with
 * the sender's rule, and queue it. Does nothing until the session is
 * talking, or while the queue has no room for the frame (call again after
 * output was consumed).
 * Returns WC_OK, WC_ENOMEM or WC_EINVAL.
 */
int wc_session_pump(struct wc_session *s);

/* Bytes waiting to be written, borrowed until the next call that changes
 * the session. */
const char *wc_session_output(const struct wc_session *s, size_t *len);

/* n bytes of the output were written; drop them. */
void wc_session_consume(struct wc_session *s, size_t n);

#endif /* WC_SESSION_H */
