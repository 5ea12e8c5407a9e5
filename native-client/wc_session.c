/*
 * wc_session.c - the client's WINTALK state: handshake, frames, the box.
 *
 * Pure: no I/O, no clock. See wc_session.h.
 */
#include "wc_session.h"

#include <stdlib.h>
#include <string.h>

/* An output queue larger than this is released once it drains. */
#define WC_OUT_KEEP (64u * 1024u)

const char *wc_strerror(int code)
{
    switch (code) {
    case WC_OK:
        return "success";
    case WC_ENOMEM:
        return "out of memory";
    case WC_EINVAL:
        return "invalid argument";
    case WC_EHANDSHAKE:
        return "the peer did not send the WINTALK handshake";
    case WC_EPROTO:
        return "the peer sent a malformed frame";
    case WC_EFULL:
        return "the text box is full";
    case WC_EFAILED:
        return "the talk already failed";
    }
    return "unknown error";
}

int wc_session_init(struct wc_session *s, enum wc_role role)
{
    if (s == NULL || (role != WC_ROLE_CALLER && role != WC_ROLE_LISTENER))
        return WC_EINVAL;
    memset(s, 0, sizeof(*s));
    s->role = role;
    s->state = WC_STATE_IDLE;
    if (wt_decoder_init(&s->dec, WC_PEER_FRAME_UNITS) != WT_OK)
        return WC_EINVAL;
    wc_pane_init(&s->pane);
    wc_hub_watch_init(&s->hub);
    return WC_OK;
}

void wc_session_free(struct wc_session *s)
{
    if (s == NULL)
        return;
    wt_decoder_free(&s->dec);
    wc_pane_free(&s->pane);
    free(s->box);
    free(s->sent);
    free(s->out);
    memset(s, 0, sizeof(*s));
}

/* Grow *buf (capacity *cap) to hold want bytes plus a NUL. */
static int grow(char **buf, size_t *cap, size_t want)
{
    size_t ncap;
    char *n;

    if (want + 1 <= *cap)
        return WC_OK;
    ncap = *cap ? *cap : 256;
    while (ncap < want + 1)
        ncap *= 2;
    n = realloc(*buf, ncap);
    if (n == NULL)
        return WC_ENOMEM;
    *buf = n;
    *cap = ncap;
    return WC_OK;
}

static int out_add(struct wc_session *s, const char *data, size_t len)
{
    int rc = grow(&s->out, &s->out_cap, s->out_len + len);

    if (rc != WC_OK)
        return rc;
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return WC_OK;
}

int wc_session_start(struct wc_session *s)
{
    int rc;

    if (s == NULL || s->state != WC_STATE_IDLE)
        return WC_EINVAL;
    if (s->role == WC_ROLE_CALLER) {
        s->state = WC_STATE_HANDSHAKE;
        return WC_OK;
    }
    /* One piece at the head of the queue, so the first write has both. */
    rc = out_add(s, WT_HANDSHAKE WT_PRIMING, WT_HANDSHAKE_LEN + WT_PRIMING_LEN);
    if (rc != WC_OK)
        return rc;
    s->state = WC_STATE_TALKING;
    return WC_OK;
}

static int fail(struct wc_session *s, int code)
{
    s->state = WC_STATE_FAILED;
    s->error = code;
    return code;
}

int wc_session_feed(struct wc_session *s, const void *data, size_t len, size_t *consumed,
                    unsigned *events)
{
    const unsigned char *p = data;
    const unsigned char *start = data;

    if (consumed != NULL)
        *consumed = 0;
    if (events != NULL)
        *events = 0;
    if (s == NULL || (data == NULL && len > 0) || events == NULL || consumed == NULL)
        return WC_EINVAL;
    if (s->state == WC_STATE_FAILED)
        return WC_EFAILED;
    if (s->state == WC_STATE_IDLE)
        return WC_EINVAL;
    /* The caller checks each handshake byte as it comes: a wrong one is
     * reported at once rather than after twelve. */
    while (s->state == WC_STATE_HANDSHAKE && len > 0) {
        if (*p != (unsigned char)WT_HANDSHAKE[s->hs_got]) {
            *consumed = (size_t)(p - start);
            return fail(s, WC_EHANDSHAKE);
        }
        p++;
        len--;
        if (++s->hs_got == WT_HANDSHAKE_LEN) {
            s->state = WC_STATE_TALKING;
            *events |= WC_EV_TALKING;
        }
    }
    while (len > 0 && !(*events & WC_EV_PANE)) {
        struct wt_frame f;
        size_t used = 0;
        int rc = wt_decoder_feed(&s->dec, p, len, &used, &f);

        p += used;
        len -= used;
        *consumed = (size_t)(p - start);
        if (rc == WT_EAGAIN)
            break;
        if (rc == WT_ENOMEM)
            return fail(s, WC_ENOMEM);
        if (rc != WT_OK) {
            s->wt_error = rc;
            return fail(s, WC_EPROTO);
        }
        if (f.op == WT_OP_REPLACE)
            rc = wc_pane_replace(&s->pane, f.text, f.len);
        else
            rc = wc_pane_append(&s->pane, f.text, f.len);
        if (rc != WC_PANE_OK)
            return fail(s, WC_ENOMEM);
        /* The whole frame, not the pane: the pane may keep only a tail of
         * it, and the room line comes last. */
        if (f.op == WT_OP_REPLACE)
            wc_hub_watch_reset(&s->hub);
        if (wc_hub_watch_feed(&s->hub, f.text, f.len))
            *events |= WC_EV_ROOM;
        /* "A0:" and "R0:" on an empty pane change nothing. */
        if (f.len > 0 || f.op == WT_OP_REPLACE)
            *events |= WC_EV_PANE;
    }
    *consumed = (size_t)(p - start);
    return WC_OK;
}

enum wc_state wc_session_state(const struct wc_session *s)
{
    return s->state;
}

int wc_session_wt_error(const struct wc_session *s)
{
    return s->error == WC_EPROTO ? s->wt_error : 0;
}

const char *wc_session_room(const struct wc_session *s)
{
    return wc_hub_watch_room(&s->hub);
}

struct wc_pane *wc_session_pane(struct wc_session *s)
{
    return &s->pane;
}

int wc_session_insert(struct wc_session *s, const char *text, size_t len)
{
    size_t clean_len, units;
    char *clean;
    int rc;

    if (s == NULL || (text == NULL && len > 0))
        return WC_EINVAL;
    if (len == 0)
        return WC_OK;
    if (len > (size_t)WC_BOX_UNITS_MAX * 4)
        return WC_EFULL;
    clean = malloc(len * WT_UTF8_PER_UNIT_MAX + 1);
    if (clean == NULL)
        return WC_ENOMEM;
    if (wt_utf8_sanitize(text, len, clean, len * WT_UTF8_PER_UNIT_MAX + 1, &clean_len) != WT_OK) {
        free(clean);
        return WC_EINVAL;
    }
    units = wt_utf16_units(clean, clean_len);
    if (s->box_units + units > WC_BOX_UNITS_MAX) {
        free(clean);
        return WC_EFULL;
    }
    rc = grow(&s->box, &s->box_cap, s->box_len + clean_len);
    if (rc == WC_OK) {
        memcpy(s->box + s->box_len, clean, clean_len);
        s->box_len += clean_len;
        s->box[s->box_len] = '\0';
        s->box_units += units;
    }
    free(clean);
    return rc;
}

int wc_session_newline(struct wc_session *s)
{
    return wc_session_insert(s, "\r\n", 2);
}

int wc_session_backspace(struct wc_session *s)
{
    size_t n;

    if (s == NULL)
        return WC_EINVAL;
    if (s->box_len == 0)
        return WC_OK;
    n = s->box_len;
    if (n >= 2 && s->box[n - 2] == '\r' && s->box[n - 1] == '\n') {
        n -= 2;
        s->box_units -= 2;
    } else {
        /* Back over continuation bytes to the character's first byte. */
        n--;
        while (n > 0 && ((unsigned char)s->box[n] & 0xC0) == 0x80)
            n--;
        s->box_units -= wt_utf16_units(s->box + n, s->box_len - n);
    }
    s->box_len = n;
    s->box[n] = '\0';
    return WC_OK;
}

int wc_session_clear(struct wc_session *s)
{
    if (s == NULL)
        return WC_EINVAL;
    s->box_len = 0;
    s->box_units = 0;
    if (s->box != NULL)
        s->box[0] = '\0';
    return WC_OK;
}

const char *wc_session_box(const struct wc_session *s, size_t *len)
{
    if (len != NULL)
        *len = s->box ? s->box_len : 0;
    return s->box ? s->box : "";
}

int wc_session_box_at_line_start(const struct wc_session *s)
{
    return s->box_len == 0 || s->box[s->box_len - 1] == '\n';
}

const char *wc_session_box_line(const struct wc_session *s, size_t *len)
{
    size_t i = s->box_len;

    if (s->box == NULL) {
        *len = 0;
        return "";
    }
    while (i > 0 && s->box[i - 1] != '\n')
        i--;
    *len = s->box_len - i;
    return s->box + i;
}

int wc_session_box_dirty(const struct wc_session *s)
{
    return s->box_len != s->sent_len ||
           (s->box_len > 0 && memcmp(s->box, s->sent, s->box_len) != 0);
}

int wc_session_pump(struct wc_session *s)
{
    char header[WT_HEADER_BUF];
    enum wt_op op;
    size_t tail, text_len;
    int hlen, rc;

    if (s == NULL)
        return WC_EINVAL;
    if (s->state != WC_STATE_TALKING || !wc_session_box_dirty(s))
        return WC_OK;
    rc = wt_sender_rule(s->sent ? s->sent : "", s->sent_len, s->box ? s->box : "", s->box_len, &op,
                        &tail);
    if (rc != WT_OK)
        return WC_EINVAL;
    text_len = s->box_len - tail;
    hlen = wt_frame_header(header, op, wt_utf16_units(s->box + tail, text_len));
    if (hlen <= 0)
        return WC_EINVAL;
    /* No room: leave the change unencoded; it goes out with the next one. */
    if (s->out_len > 0 && s->out_len + (size_t)hlen + text_len > WC_OUT_MAX)
        return WC_OK;
    rc = grow(&s->out, &s->out_cap, s->out_len + (size_t)hlen + text_len);
    if (rc != WC_OK)
        return rc;
    memcpy(s->out + s->out_len, header, (size_t)hlen);
    memcpy(s->out + s->out_len + hlen, s->box + tail, text_len);
    s->out_len += (size_t)hlen + text_len;
    rc = grow(&s->sent, &s->sent_cap, s->box_len);
    if (rc != WC_OK)
        return rc;
    memcpy(s->sent, s->box, s->box_len);
    s->sent_len = s->box_len;
    s->sent[s->sent_len] = '\0';
    return WC_OK;
}

const char *wc_session_output(const struct wc_session *s, size_t *len)
{
    *len = s->out_len;
    return s->out ? s->out : "";
}

void wc_session_consume(struct wc_session *s, size_t n)
{
    if (n >= s->out_len) {
        s->out_len = 0;
        /* A large queue that drained gives its memory back. */
        if (s->out_cap > WC_OUT_KEEP) {
            free(s->out);
            s->out = NULL;
            s->out_cap = 0;
        }
        return;
    }
    memmove(s->out, s->out + n, s->out_len - n);
    s->out_len -= n;
}
