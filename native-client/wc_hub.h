/*
 * wc_hub.h - the few lines of a wintalk-gateway hub's pane the client
 * understands: which room it says we are in, and private messages.
 *
 * Pure: no I/O, no terminal. A hub shows a TCP participant its room's
 * transcript, where every user's message is a line "nick: text", and lines
 * of its own that start with "* ". Two of those matter to the client:
 *
 *   * you are in #dev (3 here)       after each replaced pane (joining,
 *                                    parting, connecting): the room
 *   * alice -> you: text             a private message received
 *   * you -> alice: text             the confirmation of one sent
 *
 * Only a whole line (from its first byte to its line end) counts, so a
 * user's "nick: * you are in #x (1 here)" never matches. Talking to a peer
 * that is not a hub, nothing here ever matches unless the peer writes such
 * a line itself, and a peer that is not a hub owns its whole pane anyway.
 */
#ifndef WC_HUB_H
#define WC_HUB_H

#include <stddef.h>

/* Characters of a room name after its '#' (letters, digits, '-', '_', '.'). */
#define WC_ROOM_NAME_MAX 32u

/* Room for a room name with its '#' and a NUL. */
#define WC_ROOM_BUF (WC_ROOM_NAME_MAX + 2u)

/* Digits of the "(N here)" count, at most. */
#define WC_ROOM_COUNT_DIGITS 9u

/* Bytes of a line that wc_hub_watch keeps while it waits for the line end:
 * the longest room line, "* you are in #" + name + " (" + count +
 * " here)" + "\r". A longer line cannot be a room line and is skipped. */
#define WC_HUB_LINE_MAX (14u + WC_ROOM_NAME_MAX + 2u + WC_ROOM_COUNT_DIGITS + 6u + 1u)

/* Bytes of the nick in a private line, at most: a hub's nick is at most 24
 * characters of up to 4 bytes each. */
#define WC_HUB_NICK_MAX 96u

enum wc_hub_private {
    WC_HUB_NOT_PRIVATE = 0,
    WC_HUB_PRIVATE_IN = 1,  /* "* NICK -> you: ..." */
    WC_HUB_PRIVATE_OUT = 2, /* "* you -> NICK: ..." */
};

/*
 * Is line (len bytes, without its "\n"; one "\r" at its end is ignored)
 * exactly "* you are in #NAME (N here)", NAME 1 to WC_ROOM_NAME_MAX
 * letters, digits, '-', '_' or '.', N 1 to WC_ROOM_COUNT_DIGITS decimal
 * digits? Then stores "#NAME", NUL-terminated, in room and returns 1;
 * otherwise returns 0 and leaves room alone.
 */
int wc_hub_room_line(const char *line, size_t len, char room[WC_ROOM_BUF]);

/*
 * The room a pane's text (len bytes of any content) says we are in: the
 * last completed line (ending in "\n") that wc_hub_room_line accepts.
 * A last line without its line end does not count: it may still be typed.
 * Returns 1 with "#NAME" in room, or 0 (room untouched).
 */
int wc_hub_room_in_text(const char *text, size_t len, char room[WC_ROOM_BUF]);

/*
 * What a line of the pane (len bytes, without its "\n"; one "\r" at its
 * end is ignored) is: a private message received ("* NICK -> you:"), the
 * confirmation of one sent ("* you -> NICK:"), each followed by a space
 * and the text or by the line end, or neither. NICK is 1 to
 * WC_HUB_NICK_MAX bytes, none of them a space, ':' or a control
 * character. Returns a wc_hub_private value.
 */
int wc_hub_private_line(const char *line, size_t len);

/*
 * Follows the room across the frames of a talk without looking at any
 * byte twice: feed each A frame's text as it comes, and reset before an R
 * frame's text (the new pane starts at a line start). The room is the one
 * of the last room line seen; a replaced pane without one keeps it (a hub
 * re-sends a trimmed transcript without the line). Treat the fields as
 * private.
 */
struct wc_hub_watch {
    char line[WC_HUB_LINE_MAX]; /* the current line so far, if short */
    size_t len;
    int skip;               /* the current line is too long to be a room line */
    char room[WC_ROOM_BUF]; /* "" until a room line was seen */
};

/* Start with no room and at a line start. */
void wc_hub_watch_init(struct wc_hub_watch *w);

/* The pane is about to be replaced: the next byte starts a line. */
void wc_hub_watch_reset(struct wc_hub_watch *w);

/* Text (len bytes) was added at the end of the pane. Returns 1 when the
 * room changed, else 0. */
int wc_hub_watch_feed(struct wc_hub_watch *w, const char *text, size_t len);

/* "#NAME", or "" while no room line was seen. Borrowed for w's life. */
const char *wc_hub_watch_room(const struct wc_hub_watch *w);

#endif /* WC_HUB_H */
