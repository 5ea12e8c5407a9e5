/*
 * gw_tcp.c - a WINTALK (TCP) participant's input: its frames build its
 * draft (its text box); each completed line is said (gw_cmd.c), the
 * unfinished one is its typing; before it is in the gateway (an access
 * key is needed) only "/login KEY" is understood. It starts in #lobby. A malformed frame, or a
 * draft past its bound, ends the connection with a last line saying why.
 *
 * Not what TCP participants are shown (gw_transcript.c, gw_out.c). Pure:
 * no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

/* The prompt a TCP participant sees until it logs in. */
#define LOGIN_PROMPT "* this gateway needs an access key: type /login KEY\r\n"

/* p enters the gateway as guest-N, in #lobby: its pane is the lobby's
 * transcript and where it is, one R. */
static void enter(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    struct gw_room *lobby = h->rooms.lobby;
    gw_hub_guest_name(h, p, now);
    if (gw_member_add(h, p, lobby) != 0) {
        gw_tcp_fail(h, p, GW_R_SHUTDOWN, "out of memory");
        return;
    }
    p->joined = 1;
    gw_out_resync(h, p, GW_RESYNC_WHERE);
    gw_hub_post_join(h, lobby, p, now);
}

void gw_tcp_connect(struct gw_hub *h, struct gw_part *p, int64_t now, int full)
{
    if (full) {
        gw_out_last_line(h, p, "error 421: the gateway is full, try again later");
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "gateway full");
        return;
    }
    if (h->has_key) {
        /* Not in the gateway until /login: one R with the prompt only. */
        struct gw_buf *b =
            gw_buf_frame(h->cfg.headroom, WT_OP_REPLACE, LOGIN_PROMPT, strlen(LOGIN_PROMPT));
        gw_out_push_tcp(h, p, b, 0);
        gw_buf_unref(b);
        return;
    }
    enter(h, p, now);
}

/* A line from a TCP participant that is not in the gateway yet: only
 * "/login KEY" is understood. */
static void tcp_login(struct gw_hub *h, struct gw_part *p, int64_t now, const char *s, size_t len)
{
    if (len < 6 || memcmp(s, "/login", 6) != 0 || (len > 6 && !gw_is_space(s[6]))) {
        gw_out_error(h, p, GW_R_KEY, "access key required: type /login KEY", NULL);
        return;
    }
    const char *key = s + 6;
    size_t klen = len - 6;
    while (klen && gw_is_space(*key)) {
        key++;
        klen--;
    }
    if (!gw_hub_key_ok(h, key, klen)) {
        h->metrics.rejections[GW_REJ_KEY]++;
        gw_tcp_fail(h, p, GW_R_KEY, klen ? "wrong access key" : "access key required");
        return;
    }
    enter(h, p, now); /* the transcript replaces the prompt */
}

/* A completed line of the draft, without its line end. */
static void tcp_line(struct gw_hub *h, struct gw_part *p, int64_t now, const char *s, size_t len)
{
    char *clean = malloc(len + 1);
    if (!clean)
        return;
    size_t n = gw_text_clean(s, len, clean, 0);
    size_t start = 0;
    while (n && gw_is_space(clean[n - 1]))
        n--;
    while (start < n && gw_is_space(clean[start]))
        start++;
    if (!p->joined)
        tcp_login(h, p, now, clean + start, n - start);
    else if (n > start)
        gw_cmd_said(h, p, gw_member_home(p), now, clean + start, n - start, NULL);
    free(clean);
}

/* Grow the draft to hold need bytes (the caller checked need against the
 * hub's draft bound). */
static int draft_reserve(struct gw_part *p, size_t need)
{
    if (need <= p->dcap)
        return 0;
    size_t ncap = p->dcap ? p->dcap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap < need)
        ncap = need;
    char *n = realloc(p->draft, ncap);
    if (!n)
        return -1;
    p->draft = n;
    p->dcap = ncap;
    return 0;
}

void gw_tcp_fail(struct gw_hub *h, struct gw_part *p, int code, const char *why)
{
    char text[160], reason[GW_REASON_MAX_BYTES + 1];
    snprintf(text, sizeof text, "error %d: %s; closing", code, why);
    gw_metrics_error(&h->metrics, code);
    if (code == GW_R_TOO_LARGE)
        h->metrics.rejections[GW_REJ_TOO_LARGE]++;
    else if (code == GW_R_UNREADABLE)
        h->metrics.rejections[GW_REJ_MALFORMED]++;
    gw_out_last_line(h, p, text);
    snprintf(reason, sizeof reason, "%s", why);
    gw_hub_start_closing(h, p, GW_CLOSE_POLICY, reason);
}

/*
 * Apply one frame to the draft. The participant's completed lines are
 * counted since the last time its box was cleared; whenever the count
 * grows, the new lines are sent, and when an edit makes it shrink, the
 * count follows, so text before the last completed line that is edited is
 * never sent again, and lines completed after a clear are.
 */
static void tcp_frame(struct gw_hub *h, struct gw_part *p, int64_t now, const struct wt_frame *f)
{
    if (f->op == WT_OP_REPLACE) {
        if (draft_reserve(p, f->len)) {
            gw_tcp_fail(h, p, GW_R_TOO_LARGE, "out of memory for the draft");
            return;
        }
        if (f->len)
            memcpy(p->draft, f->text, f->len);
        p->dlen = f->len;
        uint64_t m = 0;
        p->line_start = 0;
        for (size_t i = 0; i < p->dlen; i++)
            if (p->draft[i] == '\n') {
                m++;
                p->line_start = i + 1;
            }
        if (m > p->lines) {
            /* Send the lines numbered p->lines .. m-1. */
            uint64_t k = 0;
            size_t start = 0;
            for (size_t i = 0; i < p->dlen && !p->closing; i++) {
                if (p->draft[i] != '\n')
                    continue;
                if (k >= p->lines)
                    tcp_line(h, p, now, p->draft + start, i - start);
                k++;
                start = i + 1;
            }
        }
        p->lines = m;
    } else {
        if (p->dlen + f->len > h->draft_max_bytes) {
            /* Completed lines were all sent: forget them. */
            memmove(p->draft, p->draft + p->line_start, p->dlen - p->line_start);
            p->dlen -= p->line_start;
            p->line_start = 0;
        }
        if (p->dlen + f->len > h->draft_max_bytes || draft_reserve(p, p->dlen + f->len)) {
            gw_tcp_fail(h, p, GW_R_TOO_LARGE, "line too long");
            return;
        }
        size_t old = p->dlen;
        memcpy(p->draft + p->dlen, f->text, f->len);
        p->dlen += f->len;
        for (size_t i = old; i < p->dlen && !p->closing; i++) {
            if (p->draft[i] != '\n')
                continue;
            p->lines++;
            tcp_line(h, p, now, p->draft + p->line_start, i - p->line_start);
            p->line_start = i + 1;
        }
    }
    if (!p->closing)
        gw_typing_set(h, p, now, p->draft + p->line_start, p->dlen - p->line_start);
}

void gw_tcp_input(struct gw_hub *h, struct gw_part *p, int64_t now, const void *data, size_t len)
{
    const unsigned char *s = data;
    while (len && !p->closing) {
        struct wt_frame f;
        size_t used = 0;
        int rc = wt_decoder_feed(&p->dec, s, len, &used, &f);
        s += used;
        len -= used;
        if (rc == WT_EAGAIN)
            break;
        if (rc != WT_OK) {
            char why[96];
            snprintf(why, sizeof why, "malformed frame: %s", wt_strerror(rc));
            gw_tcp_fail(h, p, rc == WT_ETOOBIG ? GW_R_TOO_LARGE : GW_R_UNREADABLE, why);
            break;
        }
        tcp_frame(h, p, now, &f);
    }
}
