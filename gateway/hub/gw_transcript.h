/*
 * gw_transcript.h - what a TCP participant's receive pane shows of a room:
 * the transcript, one line per message or event ("alice: hi\r\n",
 * "* bob joined (tcp)\r\n"), how an event is rendered as such a line, and
 * the whole transcript as one R frame. At most GW_TRANSCRIPT_MAX_BYTES:
 * past that it is cut back, at a line boundary, to about
 * GW_TRANSCRIPT_KEEP_BYTES.
 *
 * Pure: no I/O, no clock, no logging. It is not the fan-out: the hub sends
 * a new line to its TCP participants as an A frame, or, after a cut, the
 * whole again as R. One transcript per room (gw_room.h).
 */
#ifndef GW_TRANSCRIPT_H
#define GW_TRANSCRIPT_H

#include <stddef.h>

#include "gw_limits.h"
#include "gw_queue.h"

/* A zeroed struct is an empty transcript. The fields are the module's own. */
struct gw_transcript {
    char *text;             /* cap bytes, grown up to GW_TRANSCRIPT_MAX_BYTES */
    size_t len, cap;
    struct gw_buf *r;       /* the R frame of text, built on demand */
};

/* Free the text and the R frame kept; the transcript is empty again. */
void gw_transcript_free(struct gw_transcript *t);

/*
 * Render a room event as one transcript line into line: prefix, then text
 * (len bytes of valid UTF-8) whose extra lines are indented ("\n" becomes
 * "\r\n  "), without bidirectional controls, then \r\n. A rendering longer
 * than GW_TRANSCRIPT_LINE_MAX_BYTES is cut at a character boundary (never
 * inside an indent) and marked, and still ends in \r\n, so the next line
 * starts on a line of its own. Returns the line's length.
 */
size_t gw_transcript_render(char line[GW_TRANSCRIPT_LINE_MAX_BYTES], const char *prefix,
                            const char *text, size_t len);

/*
 * Append one line (ending in \r\n, at most GW_TRANSCRIPT_LINE_MAX_BYTES,
 * as gw_transcript_render makes them). Returns 1 when older lines had to be
 * cut first (a pane showing the old whole needs the new whole), 0 when the
 * line was only appended, GW_EINVAL (gw_hub.h) for a line over the bound,
 * or GW_ENOMEM when the text could not grow (nothing changes either way).
 */
int gw_transcript_add(struct gw_transcript *t, const char *line, size_t len);

/* Take out the latest line that is exactly line (len bytes, as
 * gw_transcript_render made it): a deleted message's. Returns 1 when one
 * was taken out (a pane showing the old whole needs the new whole), else
 * 0. */
int gw_transcript_remove(struct gw_transcript *t, const char *line, size_t len);

/* The whole transcript as one R frame: a reference the caller owns
 * (gw_buf_unref), the same buffer for everyone until the transcript
 * changes. NULL when out of memory. */
struct gw_buf *gw_transcript_frame(struct gw_transcript *t, size_t headroom);

/* The whole transcript and then extra (len bytes: lines for one
 * participant only, such as where it is) as one R frame of its own: a new
 * buffer the caller owns. NULL when out of memory. */
struct gw_buf *gw_transcript_frame_with(const struct gw_transcript *t, size_t headroom,
                                        const char *extra, size_t len);

#endif /* GW_TRANSCRIPT_H */
