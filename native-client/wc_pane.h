/*
 * wc_pane.h - what the peer shows of itself: the text of the top pane.
 *
 * Pure: no I/O, no terminal. The pane is the result of applying the peer's
 * A (append) and R (replace) frames, kept as valid UTF-8 and bounded: only
 * the last WC_PANE_MAX bytes are kept, cut at a line start when one is near.
 *
 * A second job: a reader that wants the peer's text as plain lines (the
 * pipe mode, the conversation log) asks for completed lines one at a time
 * with wc_pane_take_line(). The pane remembers how much it has handed out,
 * and after an R it works out what is new so that a peer that re-sends its
 * whole view (the gateway does, when it trims its transcript) does not make
 * the reader print everything again.
 */
#ifndef WC_PANE_H
#define WC_PANE_H

#include <stddef.h>

/* Bytes of the peer's text kept for the top pane and scrollback. */
#define WC_PANE_MAX (256u * 1024u)

/* When trimming, look this far past the cut for a line start to cut at
 * instead, so the pane does not begin in the middle of a line. */
#define WC_PANE_TRIM_SLACK (4u * 1024u)

enum wc_pane_status {
    WC_PANE_OK = 0,
    WC_PANE_ENOMEM = -1, /* the buffer could not be allocated */
    WC_PANE_EINVAL = -2, /* NULL argument */
    WC_PANE_NOLINE = -3, /* wc_pane_take_line: no completed line waiting */
};

struct wc_pane {
    char *text; /* valid UTF-8, NUL-terminated; owned */
    size_t len;
    size_t cap;
    size_t taken;             /* bytes of text already handed out as lines */
    unsigned long generation; /* bumped on every change, for redraws */
    size_t replace_steps;     /* see wc_pane_replace_steps() */
};

/* Prepare an empty pane. Allocates nothing. Returns WC_PANE_OK or
 * WC_PANE_EINVAL. */
int wc_pane_init(struct wc_pane *p);

/* Release the pane's buffer. */
void wc_pane_free(struct wc_pane *p);

/* Append len bytes of valid UTF-8 (the peer's A frame). Trims the head past
 * WC_PANE_MAX. Returns WC_PANE_OK, WC_PANE_ENOMEM or WC_PANE_EINVAL. */
int wc_pane_append(struct wc_pane *p, const char *s, size_t len);

/* Replace the whole text with len bytes of valid UTF-8 (the peer's R
 * frame); keeps only the tail when longer than WC_PANE_MAX.
 * Returns WC_PANE_OK, WC_PANE_ENOMEM or WC_PANE_EINVAL. */
int wc_pane_replace(struct wc_pane *p, const char *s, size_t len);

/* Steps (byte comparisons and fall-backs) the last wc_pane_replace took to
 * work out what the reader has already seen: at most 4 * (bytes taken +
 * bytes of the new text), whatever the texts. Exposed so that tests can
 * hold it to that bound, since a peer chooses both texts. */
size_t wc_pane_replace_steps(const struct wc_pane *p);

/* The current text, borrowed until the pane's next change. Never NULL. */
const char *wc_pane_text(const struct wc_pane *p, size_t *len);

/*
 * Hand out the next completed line (ending in "\n"; a "\r" before it is
 * dropped) that has not been handed out yet. *line points into the pane,
 * borrowed until the next change; *len excludes the line end.
 * Returns WC_PANE_OK, or WC_PANE_NOLINE when no completed line waits.
 */
int wc_pane_take_line(struct wc_pane *p, const char **line, size_t *len);

/* Hand out what is left after the last completed line (the peer's
 * unfinished line), if anything, as with wc_pane_take_line. For the end of
 * a talk. Returns WC_PANE_OK or WC_PANE_NOLINE. */
int wc_pane_take_rest(struct wc_pane *p, const char **line, size_t *len);

#endif /* WC_PANE_H */
