/*
 * wt_codec.c - the WINTALK frame decoder, encoder and sender's rule.
 *
 * Pure: no I/O, no clock, no logging. The decoder is resumable: it keeps
 * its place (letter, length, text) in struct wt_decoder between feeds, so
 * bytes may arrive in pieces of any size.
 */
#include "wt_codec.h"
#include "wt_utf8_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A text buffer larger than this is released once its frame was handed
 * out, so a peer that sent one big frame does not keep holding the memory. */
#define WT_DEC_KEEP_BYTES 4096u

/* First allocation for a frame's text. */
#define WT_DEC_MIN_BYTES 64u

const char *wt_strerror(int code)
{
    switch (code) {
    case WT_OK:
        return "success";
    case WT_EAGAIN:
        return "need more bytes";
    case WT_ENOMEM:
        return "out of memory";
    case WT_EINVAL:
        return "invalid argument";
    case WT_EHEADER:
        return "frame header longer than 19 characters";
    case WT_ELETTER:
        return "frame command letter missing or not ASCII";
    case WT_ELENGTH:
        return "frame length empty, negative or not a number";
    case WT_ETOOBIG:
        return "frame length over the limit";
    case WT_ESPLIT:
        return "frame length ends inside a character";
    case WT_ENOSPACE:
        return "output buffer too small";
    case WT_EUTF8:
        return "invalid UTF-8";
    }
    return "unknown error";
}

int wt_decoder_init(struct wt_decoder *d, uint32_t cap)
{
    if (!d || cap > WT_FRAME_UNITS_CEILING)
        return WT_EINVAL;
    memset(d, 0, sizeof(*d));
    d->cap = cap ? cap : WT_FRAME_UNITS_DEFAULT;
    wt_decoder_reset(d);
    return WT_OK;
}

void wt_decoder_free(struct wt_decoder *d)
{
    if (!d)
        return;
    free(d->buf);
    d->buf = NULL;
    d->buf_len = 0;
    d->buf_cap = 0;
}

void wt_decoder_reset(struct wt_decoder *d)
{
    d->state = WT_DEC_LETTER;
    d->error = WT_OK;
    d->letter = 0;
    d->header_chars = 0;
    d->saw_digit = 0;
    d->saw_sign = 0;
    d->trailing_space = 0;
    d->length = 0;
    d->units_left = 0;
    wt_utf8_state_init(&d->utf8);
    d->buf_len = 0;
}

static int fail(struct wt_decoder *d, int code)
{
    d->state = WT_DEC_FAILED;
    d->error = code;
    return code;
}

/* The whitespace .NET's integer parsing skips around a number. */
static int is_number_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * One character of the length field. The original parses it with .NET's
 * integer rules, which allow white space around the digits and a leading
 * '+'; those forms are accepted so that any peer it understands is
 * understood here. A '-' is refused: no frame has a negative length.
 */
static int length_char(struct wt_decoder *d, unsigned char c)
{
    if (c >= '0' && c <= '9') {
        if (d->trailing_space)
            return WT_ELENGTH;
        d->saw_digit = 1;
        /* At most 18 digits fit in the header, so this cannot overflow. */
        d->length = d->length * 10u + (uint64_t)(c - '0');
        return WT_OK;
    }
    if (is_number_space(c)) {
        if (d->saw_digit)
            d->trailing_space = 1;
        else if (d->saw_sign)
            return WT_ELENGTH;
        return WT_OK;
    }
    if (c == '+' && !d->saw_sign && !d->saw_digit) {
        d->saw_sign = 1;
        return WT_OK;
    }
    return WT_ELENGTH;
}

static void emit(struct wt_decoder *d, struct wt_frame *out)
{
    out->op = d->letter == 'R' ? WT_OP_REPLACE : WT_OP_APPEND;
    out->letter = d->letter;
    out->units = (size_t)d->length;
    if (d->buf) {
        d->buf[d->buf_len] = '\0';
        out->text = d->buf;
    } else {
        out->text = "";
    }
    out->len = d->buf_len;
    d->state = WT_DEC_LETTER;
    d->header_chars = 0;
}

/* Make room for one more code point (4 bytes) and the NUL. The buffer never
 * grows past what the rest of the frame can need: 3 bytes per unit left. */
static int reserve(struct wt_decoder *d)
{
    size_t want = d->buf_len + 4 + 1;
    size_t limit;
    size_t ncap;
    char *nbuf;

    if (want <= d->buf_cap)
        return WT_OK;
    limit = d->buf_len + (size_t)d->units_left * WT_UTF8_PER_UNIT_MAX + 2;
    ncap = d->buf_cap ? d->buf_cap * 2 : WT_DEC_MIN_BYTES;
    if (ncap > limit)
        ncap = limit;
    if (ncap < want)
        ncap = want;
    nbuf = realloc(d->buf, ncap);
    if (!nbuf)
        return WT_ENOMEM;
    d->buf = nbuf;
    d->buf_cap = ncap;
    return WT_OK;
}

/* Add one decoded code point to the frame's text. */
static int text_cp(struct wt_decoder *d, uint32_t cp)
{
    unsigned units = wt_cp_units(cp);
    int rc;

    if (units > d->units_left)
        return WT_ESPLIT; /* the sender counted half of a surrogate pair */
    rc = reserve(d);
    if (rc)
        return rc;
    d->buf_len += wt_utf8_put(d->buf + d->buf_len, cp);
    d->units_left -= units;
    return WT_OK;
}

int wt_decoder_feed(struct wt_decoder *d, const void *data, size_t len, size_t *consumed,
                    struct wt_frame *out)
{
    const unsigned char *p = data;
    size_t i = 0;
    int rc;

    if (consumed)
        *consumed = 0;
    if (!d || !consumed || !out || (!data && len))
        return WT_EINVAL;
    if (d->state == WT_DEC_FAILED)
        return d->error;

    /* The previous frame's text is no longer borrowed: drop a big buffer. */
    if (d->state == WT_DEC_LETTER && d->buf_cap > WT_DEC_KEEP_BYTES) {
        free(d->buf);
        d->buf = NULL;
        d->buf_cap = 0;
    }

    while (i < len) {
        unsigned char c = p[i];

        switch (d->state) {
        case WT_DEC_LETTER:
            if (c == ':' || c >= 0x80) {
                *consumed = i;
                return fail(d, WT_ELETTER);
            }
            d->letter = (char)c;
            d->header_chars = 1;
            d->saw_digit = d->saw_sign = d->trailing_space = 0;
            d->length = 0;
            d->state = WT_DEC_LENGTH;
            i++;
            break;

        case WT_DEC_LENGTH:
            i++;
            if (c == ':') {
                if (!d->saw_digit) {
                    *consumed = i;
                    return fail(d, WT_ELENGTH);
                }
                if (d->length > d->cap) {
                    *consumed = i;
                    return fail(d, WT_ETOOBIG);
                }
                d->buf_len = 0;
                if (d->length == 0) {
                    emit(d, out);
                    *consumed = i;
                    return WT_OK;
                }
                d->units_left = (uint32_t)d->length;
                d->state = WT_DEC_TEXT;
                break;
            }
            if (++d->header_chars > WT_HEADER_MAX) {
                *consumed = i;
                return fail(d, WT_EHEADER);
            }
            rc = length_char(d, c);
            if (rc) {
                *consumed = i;
                return fail(d, rc);
            }
            break;

        case WT_DEC_TEXT: {
            uint32_t cp;
            enum wt_utf8_step_result r = wt_utf8_step(&d->utf8, c, &cp);

            if (r != WT_STEP_REPLAY)
                i++;
            if (r == WT_STEP_MORE)
                break;
            rc = text_cp(d, cp);
            if (rc) {
                *consumed = i;
                return fail(d, rc);
            }
            if (d->units_left == 0) {
                emit(d, out);
                *consumed = i;
                return WT_OK;
            }
            break;
        }

        case WT_DEC_FAILED:
            *consumed = i;
            return d->error;
        }
    }
    *consumed = i;
    return WT_EAGAIN;
}

int wt_frame_header(char buf[WT_HEADER_BUF], enum wt_op op, size_t units)
{
    int n = snprintf(buf, WT_HEADER_BUF, "%c%zu:", op == WT_OP_REPLACE ? 'R' : 'A', units);
    return n < WT_HEADER_BUF ? n : WT_HEADER_BUF - 1;
}

size_t wt_frame_size(const char *text, size_t len)
{
    char hdr[WT_HEADER_BUF];
    return (size_t)wt_frame_header(hdr, WT_OP_APPEND, wt_utf16_units(text, len)) + len;
}

int wt_frame_encode(char *out, size_t cap, size_t *out_len, enum wt_op op, const char *text,
                    size_t len)
{
    char hdr[WT_HEADER_BUF];
    size_t h;

    if (!out_len || (!text && len) || (!out && cap))
        return WT_EINVAL;
    h = (size_t)wt_frame_header(hdr, op, wt_utf16_units(text, len));
    if (cap < h + len)
        return WT_ENOSPACE;
    memcpy(out, hdr, h);
    if (len)
        memcpy(out + h, text, len);
    *out_len = h + len;
    return WT_OK;
}

int wt_sender_rule(const char *prev, size_t prev_len, const char *now, size_t now_len,
                   enum wt_op *op, size_t *tail)
{
    if (!op || !tail || (!prev && prev_len) || (!now && now_len))
        return WT_EINVAL;
    if (prev_len <= now_len && (prev_len == 0 || memcmp(prev, now, prev_len) == 0)) {
        *op = WT_OP_APPEND;
        *tail = prev_len;
    } else {
        *op = WT_OP_REPLACE;
        *tail = 0;
    }
    return WT_OK;
}

int wt_sender_frame(const char *prev, size_t prev_len, const char *now, size_t now_len,
                    char **frame, size_t *frame_len)
{
    enum wt_op op;
    size_t tail;
    size_t size;
    const char *text;
    char *buf;
    int rc;

    if (!frame || !frame_len)
        return WT_EINVAL;
    rc = wt_sender_rule(prev, prev_len, now, now_len, &op, &tail);
    if (rc)
        return rc;
    text = now_len ? now + tail : ""; /* no arithmetic on a NULL empty text */
    size = wt_frame_size(text, now_len - tail);
    buf = malloc(size + 1);
    if (!buf)
        return WT_ENOMEM;
    rc = wt_frame_encode(buf, size, frame_len, op, text, now_len - tail);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[*frame_len] = '\0';
    *frame = buf;
    return WT_OK;
}
