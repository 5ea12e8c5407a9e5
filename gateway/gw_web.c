/*
 * gw_web.c - a browser's input: its JSON messages (hello, say, typing,
 * nick), parsed and checked by gw_json.c, and what a hello gets: the
 * welcome (who is here, the history after the browser's last id, or a
 * reset when that id is of another epoch), then its join.
 *
 * Not the JSON itself (gw_json.c writes and reads it all) nor the
 * WebSocket (the adapter). Pure: no I/O, no clock, no logging.
 */
#include <string.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"

void gw_web_connect(struct gw_hub *h, struct gw_part *p, int full)
{
    if (!full)
        return; /* it joins with its hello */
    struct gw_buf *b = gw_json_bye(GW_R_SHUTDOWN, "the gateway is full, try again later",
                                   h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
    gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "gateway full");
}

/*
 * Whether a hello's last_id must not be trusted: it is from another epoch,
 * or it has none. Ids start again at 1 in a new epoch, so such a last_id
 * may name an event of this one that the browser never saw.
 */
static int epoch_reset(const struct gw_hub *h, const struct gw_cmsg *m)
{
    if (!m->epoch)
        return m->last_id != 0;
    return m->epoch_len != GW_EPOCH_HEX_LEN || memcmp(m->epoch, h->epoch, GW_EPOCH_HEX_LEN) != 0;
}

/* A walk over the hub for a welcome: the participants to list, then the
 * history events to send. */
struct welcome_walk {
    struct gw_hub *h;
    struct gw_part *self;
    size_t i;               /* the next participant to look at */
    size_t listed;
    int self_listed;
    struct gw_history_cursor cur; /* the history events to send */
};

static int welcome_presence(void *ctx, struct gw_presence *out)
{
    struct welcome_walk *wk = ctx;
    while (wk->i < wk->h->nparts) {
        struct gw_part *q = wk->h->parts[wk->i++];
        if (!q->joined || q->closing)
            continue;
        /* A crowd: the newcomer itself, then the first ones. */
        if (wk->listed >= GW_PRESENCE_MAX ||
            (wk->listed == GW_PRESENCE_MAX - 1 && !wk->self_listed && q != wk->self))
            continue;
        wk->listed++;
        wk->self_listed |= q == wk->self;
        out->pid = q->pid;
        out->nick = q->nick;
        out->via = gw_via_name(q->via);
        out->typing = q->typing ? q->typing : "";
        out->typing_len = q->typing_len;
        return 1;
    }
    return 0;
}

static struct gw_buf *welcome_event(void *ctx)
{
    struct welcome_walk *wk = ctx;
    return gw_history_next(&wk->cur);
}

static void welcome(struct gw_hub *h, struct gw_part *p, const struct gw_cmsg *m)
{
    int reset = epoch_reset(h, m);
    uint64_t last_id = reset ? 0 : m->last_id;
    struct welcome_walk wk = {.h = h, .self = p};
    struct gw_welcome w = {
        .pid = p->pid,
        .nick = p->nick,
        .epoch = h->epoch,
        .reset = reset,
        .last_id = gw_history_last_id(&h->history),
        .size_hint = 512 + gw_history_bytes(&h->history),
        .next_presence = welcome_presence,
        .next_event = welcome_event,
        .ctx = &wk,
    };
    for (size_t i = 0; i < h->nparts; i++)
        if (h->parts[i]->joined && !h->parts[i]->closing)
            w.participants_count++;
    /* The retained events after last_id; gap also on a reset (for clients
     * that only know gap). */
    w.gap = gw_history_read_after(&h->history, last_id, GW_WELCOME_HISTORY_MAX_BYTES, &wk.cur);
    w.gap |= reset;
    struct gw_buf *b = gw_json_welcome(&w, h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
}

static void web_hello(struct gw_hub *h, struct gw_part *p, int64_t now, const struct gw_cmsg *m)
{
    if (p->joined) {
        gw_out_error(h, p, GW_R_SEQUENCE, "hello was already sent", m->ref);
        return;
    }
    if (!gw_hub_key_ok(h, m->key, m->key_len)) {
        h->metrics.rejections[GW_REJ_KEY]++;
        gw_out_error(h, p, GW_R_KEY, m->key ? "wrong access key" : "access key required", m->ref);
        gw_hub_start_closing(h, p, GW_CLOSE_POLICY, "access key required or wrong");
        return;
    }
    /* A nick that is not allowed or taken gets 553, and the browser joins
     * as a guest all the same: it can pick another with "nick". */
    if (!m->nick || !m->nick_len ||
        gw_hub_change_nick(h, p, now, m->nick, m->nick_len, m->ref) != 0)
        gw_hub_guest_name(h, p);
    p->joined = 1;
    welcome(h, p, m);
    gw_hub_post_join(h, p, now);
}

void gw_web_input(struct gw_hub *h, struct gw_part *p, int64_t now, const char *data, size_t len)
{
    struct gw_cmsg m;
    const char *why;
    int rc = gw_json_parse_client(data ? data : "", len, &m, &why);
    if (rc < 0) {
        if (rc == -GW_R_TOO_LARGE)
            h->metrics.rejections[GW_REJ_TOO_LARGE]++;
        else if (rc == -GW_R_UNREADABLE)
            h->metrics.rejections[GW_REJ_MALFORMED]++;
        gw_out_error(h, p, -rc, why, m.ref);
    } else if (m.type != GW_C_HELLO && !p->joined) {
        gw_out_error(h, p, GW_R_SEQUENCE, "send hello first", m.ref);
    } else {
        switch (m.type) {
        case GW_C_HELLO:
            web_hello(h, p, now, &m);
            break;
        case GW_C_SAY: {
            size_t n = gw_text_clean(m.text, m.text_len, m.text, 1);
            while (n && m.text[n - 1] == '\n')
                n--;
            if (n == 0)
                gw_out_error(h, p, GW_R_BAD_ARGS, "text is empty", m.ref);
            else
                gw_cmd_said(h, p, now, m.text, n, m.ref);
            break;
        }
        case GW_C_TYPING:
            if (gw_rate_take(h->cfg.typing_rate, &p->typing_tokens, &p->typing_tokens_at, now)) {
                gw_typing_set(h, p, now, m.text, m.text_len);
            } else {
                h->metrics.rejections[GW_REJ_TYPING_RATE]++;
                gw_out_error(h, p, GW_R_SLOW_DOWN, "typing updates too fast: slow down", m.ref);
                gw_rate_strike(h, p, now);
            }
            break;
        case GW_C_NICK:
            if (gw_rate_ok(h, p, now)) {
                (void)gw_hub_change_nick(h, p, now, m.nick, m.nick_len, m.ref);
            } else {
                gw_out_error(h, p, GW_R_SLOW_DOWN, "too many messages: slow down", m.ref);
                gw_rate_strike(h, p, now);
            }
            break;
        case GW_C_NONE:
            break;
        }
    }
    gw_cmsg_free(&m);
}

void gw_web_reject(struct gw_hub *h, struct gw_part *p, int code, const char *why)
{
    if (code == GW_R_TOO_LARGE)
        h->metrics.rejections[GW_REJ_TOO_LARGE]++;
    else if (code == GW_R_UNREADABLE)
        h->metrics.rejections[GW_REJ_MALFORMED]++;
    gw_out_error(h, p, code, why, NULL);
    if (code == GW_R_TOO_LARGE)
        gw_hub_start_closing(h, p, GW_CLOSE_TOO_BIG, why);
}
