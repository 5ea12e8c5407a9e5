/*
 * gw_transcript.c - a room's TCP transcript: its lines, its cap, its R
 * frame. Pure: no I/O, no clock, no logging; see gw_transcript.h.
 */
#include "gw_transcript.h"

#include <stdlib.h>
#include <string.h>

#include "gw_hub.h"
#include "gw_text.h"
#include "wt_codec.h"

void gw_transcript_free(struct gw_transcript *t)
{
    gw_buf_unref(t->r);
    free(t->text);
    memset(t, 0, sizeof(*t));
}

/* Room for need bytes of text (at most GW_TRANSCRIPT_MAX_BYTES): the text
 * doubles from GW_TRANSCRIPT_START_BYTES. Returns 0 or -1. */
static int reserve(struct gw_transcript *t, size_t need)
{
    if (need <= t->cap)
        return 0;
    size_t ncap = t->cap ? t->cap : GW_TRANSCRIPT_START_BYTES;
    while (ncap < need)
        ncap *= 2;
    if (ncap > GW_TRANSCRIPT_MAX_BYTES)
        ncap = GW_TRANSCRIPT_MAX_BYTES;
    char *n = realloc(t->text, ncap);
    if (!n)
        return -1;
    t->text = n;
    t->cap = ncap;
    return 0;
}

int gw_transcript_add(struct gw_transcript *t, const char *line, size_t len)
{
    int trimmed = 0;
    if (len > GW_TRANSCRIPT_LINE_MAX_BYTES)
        return GW_EINVAL;
    if (t->len + len <= GW_TRANSCRIPT_MAX_BYTES && reserve(t, t->len + len) != 0)
        return GW_ENOMEM;
    if (t->len + len > GW_TRANSCRIPT_MAX_BYTES) {
        size_t need = t->len + len - GW_TRANSCRIPT_KEEP_BYTES, cut = t->len;
        for (size_t i = need ? need - 1 : 0; i < t->len; i++)
            if (t->text[i] == '\n') {
                cut = i + 1;
                break;
            }
        memmove(t->text, t->text + cut, t->len - cut);
        t->len -= cut;
        trimmed = 1;
    }
    memcpy(t->text + t->len, line, len);
    t->len += len;
    /* The R frame shows the old text: build it again when asked. */
    gw_buf_unref(t->r);
    t->r = NULL;
    return trimmed;
}

int gw_transcript_remove(struct gw_transcript *t, const char *line, size_t len)
{
    if (!len || len > t->len)
        return 0;
    /* From the end: the latest such line, starting a line of its own. */
    for (size_t at = t->len - len + 1; at-- > 0;) {
        if ((at == 0 || t->text[at - 1] == '\n') && !memcmp(t->text + at, line, len)) {
            memmove(t->text + at, t->text + at + len, t->len - at - len);
            t->len -= len;
            gw_buf_unref(t->r);
            t->r = NULL;
            return 1;
        }
    }
    return 0;
}

struct gw_buf *gw_transcript_frame(struct gw_transcript *t, size_t headroom)
{
    if (!t->r)
        t->r = gw_buf_frame(headroom, WT_OP_REPLACE, t->text ? t->text : "", t->len);
    return t->r ? gw_buf_ref(t->r) : NULL;
}

struct gw_buf *gw_transcript_frame_with(const struct gw_transcript *t, size_t headroom,
                                        const char *extra, size_t len)
{
    char *whole = malloc(t->len + len + 1);
    if (!whole)
        return NULL;
    if (t->len)
        memcpy(whole, t->text, t->len);
    memcpy(whole + t->len, extra, len);
    struct gw_buf *b = gw_buf_frame(headroom, WT_OP_REPLACE, whole, t->len + len);
    free(whole);
    return b;
}

/* What a transcript line that had to be cut ends with, before its \r\n. */
#define TRANSCRIPT_CUT_MARK " \xE2\x80\xA6" /* " ..." as one character, U+2026 */

size_t gw_transcript_render(char line[GW_TRANSCRIPT_LINE_MAX_BYTES], const char *prefix,
                            const char *text, size_t len)
{
    const size_t mark = sizeof TRANSCRIPT_CUT_MARK - 1;
    /* Room for the content: the mark and the final \r\n always fit. */
    const size_t room = GW_TRANSCRIPT_LINE_MAX_BYTES - mark - 2;
    size_t n = 0, plen = strlen(prefix);
    int cut = 0;

    n = gw_text_strip_bidi(prefix, gw_utf8_cut(prefix, plen, room), line);
    for (size_t i = 0; i < len && !cut;) {
        if (text[i] == '\n') {
            if (room - n < 4) {
                cut = 1;
                break;
            }
            memcpy(line + n, "\r\n  ", 4);
            n += 4;
            i++;
            continue;
        }
        const char *nl = memchr(text + i, '\n', len - i);
        size_t seg = nl ? (size_t)(nl - (text + i)) : len - i;
        size_t take = gw_utf8_cut(text + i, seg, room - n);
        /* Stripping only shortens, so it can work in place. */
        memcpy(line + n, text + i, take);
        n += gw_text_strip_bidi(line + n, take, line + n);
        cut = take < seg;
        i += seg;
    }
    if (cut) {
        memcpy(line + n, TRANSCRIPT_CUT_MARK, mark);
        n += mark;
    }
    line[n++] = '\r';
    line[n++] = '\n';
    return n;
}
