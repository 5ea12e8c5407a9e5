/*
 * gw_hub.c - the star hub. Pure: no I/O, no clock, no logging; see gw_hub.h.
 */
#include "gw_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

/* Extra connections, past max_participants, that are accepted only to be
 * told "full" and closed. Past those, connections are refused outright. */
#define GW_REFUSE_SLACK 16u

const char *gw_strerror(int code)
{
    switch (code) {
    case GW_OK: return "success";
    case GW_ENOMEM: return "out of memory";
    case GW_ENOENT: return "no such participant";
    case GW_EINVAL: return "invalid argument";
    case GW_EFULL: return "too many connections";
    default: return "unknown error";
    }
}

const char *gw_via_name(enum gw_via v)
{
    return v == GW_VIA_TCP ? "tcp" : "web";
}

static size_t index_home(const struct gw_hub *h, uint64_t pid)
{
    /* Fibonacci hashing: consecutive pids spread over the table. */
    return (size_t)((pid * 0x9E3779B97F4A7C15ull) >> 32) & h->index_mask;
}

static struct gw_part *find(struct gw_hub *h, uint64_t pid)
{
    for (size_t i = index_home(h, pid);; i = (i + 1) & h->index_mask) {
        struct gw_part *p = h->index[i];
        if (!p || p->pid == pid)
            return p;
    }
}

static void index_add(struct gw_hub *h, struct gw_part *p)
{
    size_t i = index_home(h, p->pid);
    while (h->index[i])
        i = (i + 1) & h->index_mask;
    h->index[i] = p;
}

/* Remove by backward shift: no tombstones, so probes stay short. */
static void index_del(struct gw_hub *h, uint64_t pid)
{
    size_t i = index_home(h, pid);
    while (h->index[i] && h->index[i]->pid != pid)
        i = (i + 1) & h->index_mask;
    if (!h->index[i])
        return;
    size_t j = i;
    for (;;) {
        h->index[i] = NULL;
        for (;;) {
            j = (j + 1) & h->index_mask;
            if (!h->index[j])
                return;
            size_t k = index_home(h, h->index[j]->pid);
            /* Move index[j] into the hole at i unless its home lies
             * cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        h->index[i] = h->index[j];
        i = j;
    }
}

void gw_hub_wake(struct gw_hub *h, struct gw_part *p)
{
    if (p->woken)
        return;
    p->woken = 1;
    if (h->cfg.wake)
        h->cfg.wake(h->cfg.ctx, p->user, p->pid);
}

void gw_hub_start_closing(struct gw_hub *h, struct gw_part *p, int code, const char *reason)
{
    if (p->closing)
        return;
    p->closing = 1;
    p->close_code = code;
    snprintf(p->close_reason, sizeof p->close_reason, "%s", reason);
    p->woken = 0; /* make sure the adapter hears of it */
    gw_hub_wake(h, p);
}

/* ---- the transcript ---- */

/* Render a room event as one transcript line, add it to the room's
 * transcript and send it to every TCP participant as one A frame, or, when
 * the transcript had to be cut back, send everyone the new whole as R. */
static void transcript_event(struct gw_hub *h, const char *prefix, const char *text, size_t len)
{
    char line[GW_TRANSCRIPT_LINE_MAX_BYTES];
    size_t n = gw_transcript_render(line, prefix, text, len);
    int trimmed = gw_transcript_add(&h->transcript, line, n);
    if (trimmed < 0)
        return; /* cannot happen: gw_transcript_render bounds every line */

    struct gw_buf *a = trimmed ? NULL : gw_buf_frame(h->cfg.headroom, WT_OP_APPEND, line, n);
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (p->via != GW_VIA_TCP || !p->joined || p->closing)
            continue;
        if (trimmed || !a)
            gw_out_resync(h, p);
        else if (!p->resync) /* a pending R already shows this line */
            gw_out_push_tcp(h, p, a, 0);
    }
    gw_buf_unref(a);
}

/* ---- history and room events ---- */

/* Give an event its id, keep it, and send it to every browser in the room. */
static void room_event(struct gw_hub *h, struct gw_event *ev)
{
    ev->id = gw_history_new_id(&h->history);
    h->metrics.events++;
    struct gw_buf *json = gw_json_event(ev, h->cfg.headroom);
    if (!json)
        return;
    gw_history_add(&h->history, ev->id, json);
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (p->via == GW_VIA_WEB && p->joined)
            gw_out_push_web(h, p, json);
    }
    gw_buf_unref(json);
}

void gw_hub_event_init(struct gw_hub *h, struct gw_event *ev, enum gw_ev_type type,
                       struct gw_part *p, int64_t now)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    /* The hub's clock measures durations; an event's time is wall time. */
    ev->time_ms = now + h->wall_offset;
    ev->pid = p->pid;
    ev->nick = p->nick;
    ev->via = gw_via_name(p->via);
}

void gw_hub_post_message(struct gw_hub *h, struct gw_part *p, int64_t now, const char *text,
                         size_t len, int me)
{
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_MESSAGE, p, now);
    ev.text = text;
    ev.text_len = len;
    ev.me = me;
    room_event(h, &ev);
    for (size_t i = 0; i < h->nparts; i++)
        if (h->parts[i]->joined && !h->parts[i]->closing)
            h->metrics.messages_out[h->parts[i]->via]++;
    char prefix[GW_NICK_MAX_BYTES + 8];
    snprintf(prefix, sizeof prefix, me ? "* %s " : "%s: ", p->nick);
    transcript_event(h, prefix, text, len);
}

static void post_join(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    if (h->nparts > GW_PRESENCE_MAX)
        return; /* a crowd: see GW_PRESENCE_MAX */
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_JOIN, p, now);
    room_event(h, &ev);
    char text[GW_NICK_MAX_BYTES + 32];
    snprintf(text, sizeof text, "* %s joined (%s)", p->nick, gw_via_name(p->via));
    transcript_event(h, "", text, strlen(text));
}

static void post_leave(struct gw_hub *h, struct gw_part *p, int64_t now,
                       enum gw_leave_reason reason)
{
    if (h->nparts + 1 > GW_PRESENCE_MAX)
        return; /* a crowd (counting the one leaving): see GW_PRESENCE_MAX */
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_LEAVE, p, now);
    ev.reason = reason;
    room_event(h, &ev);
    char text[GW_NICK_MAX_BYTES + 16];
    snprintf(text, sizeof text, "* %s left", p->nick);
    transcript_event(h, "", text, strlen(text));
}

/* ---- nicks ---- */

/* Who else (not self) in the room has the nick whose comparison key
 * (gw_nick_norm) is key: the same name whatever its case or composition. */
static struct gw_part *nick_owner(struct gw_hub *h, const struct gw_part *self, const char *key)
{
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (p != self && p->joined && strcmp(p->nick_key, key) == 0)
            return p;
    }
    return NULL;
}

/* Change p's nick (given as len bytes of valid UTF-8), announcing it.
 * Returns 0 or a reply code (553). */
int gw_hub_change_nick(struct gw_hub *h, struct gw_part *p, int64_t now, const char *given,
                       size_t len, const char *ref)
{
    char msg[GW_NICK_MAX_BYTES * 2 + 96];
    char nick[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
    int st = gw_nick_norm(given, len, h->cfg.nick_max, nick, key);
    if (st != GW_NICK_OK) {
        if (st == GW_NICK_LONG)
            snprintf(msg, sizeof msg, "nick is longer than %u characters", h->cfg.nick_max);
        else
            snprintf(msg, sizeof msg, "%s", gw_nick_strerror(st));
        gw_out_error(h, p, GW_R_NAME, msg, ref);
        return GW_R_NAME;
    }
    struct gw_part *owner = nick_owner(h, p, key);
    if (owner) {
        snprintf(msg, sizeof msg, "nick \"%s\" is taken", nick);
        gw_out_error(h, p, GW_R_NAME, msg, ref);
        return GW_R_NAME;
    }
    if (strcmp(p->nick, nick) == 0)
        return 0;
    char old[GW_NICK_MAX_BYTES + 1];
    memcpy(old, p->nick, sizeof old);
    memcpy(p->nick, nick, sizeof nick);
    memcpy(p->nick_key, key, sizeof key);
    if (!p->joined)
        return 0;
    struct gw_event ev;
    gw_hub_event_init(h, &ev, GW_EV_NICK, p, now);
    ev.old = old;
    room_event(h, &ev);
    snprintf(msg, sizeof msg, "* %s is now %s", old, p->nick);
    transcript_event(h, "", msg, strlen(msg));
    return 0;
}

/* ---- TCP drafts ---- */

static int key_ok(const struct gw_hub *h, const char *key, size_t len);
static void guest_name(struct gw_hub *h, struct gw_part *p);

/* The prompt a TCP participant sees until it logs in. */
#define LOGIN_PROMPT "* this gateway needs an access key: type /login KEY\r\n"

/* A line from a TCP participant that is not in the room yet: only
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
    if (!key_ok(h, key, klen)) {
        h->metrics.rejections[GW_REJ_KEY]++;
        gw_tcp_fail(h, p, GW_R_KEY, klen ? "wrong access key" : "access key required");
        return;
    }
    guest_name(h, p);
    p->joined = 1;
    p->resync = 1; /* the transcript replaces the prompt */
    gw_hub_wake(h, p);
    post_join(h, p, now);
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
        gw_cmd_said(h, p, now, clean + start, n - start, NULL);
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

int gw_hub_tcp_input(struct gw_hub *h, uint64_t pid, int64_t now, const void *data, size_t len)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (p->via != GW_VIA_TCP || (!data && len))
        return GW_EINVAL;
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
    return GW_OK;
}

/* ---- browsers ---- */

/* Compare digests, not the keys: equal lengths, and CRYPTO_memcmp takes
 * the same time wherever they differ, so timing says nothing of the key
 * (not even its length). */
static int key_ok(const struct gw_hub *h, const char *key, size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (!h->has_key)
        return 1;
    if (!key)
        return 0;
    SHA256((const unsigned char *)key, len, d);
    return CRYPTO_memcmp(d, h->key_digest, sizeof d) == 0;
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
    size_t ev;              /* the next history event */
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
    return gw_history_at(&wk->h->history, wk->ev++);
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
    gw_history_after(&h->history, last_id, &wk.ev, &w.gap);
    w.gap |= reset;
    struct gw_buf *b = gw_json_welcome(&w, h->cfg.headroom);
    gw_out_push_web(h, p, b);
    gw_buf_unref(b);
}

static void guest_name(struct gw_hub *h, struct gw_part *p)
{
    do {
        snprintf(p->nick, sizeof p->nick, "guest-%u", ++h->guest_seq);
        /* ASCII letters, digits and '-': cannot fail, and the key is the
         * nick itself. */
        (void)gw_nick_key(p->nick, p->nick_key);
    } while (nick_owner(h, p, p->nick_key));
}

static void web_hello(struct gw_hub *h, struct gw_part *p, int64_t now, const struct gw_cmsg *m)
{
    if (p->joined) {
        gw_out_error(h, p, GW_R_SEQUENCE, "hello was already sent", m->ref);
        return;
    }
    if (!key_ok(h, m->key, m->key_len)) {
        h->metrics.rejections[GW_REJ_KEY]++;
        gw_out_error(h, p, GW_R_KEY, m->key ? "wrong access key" : "access key required", m->ref);
        gw_hub_start_closing(h, p, GW_CLOSE_POLICY, "access key required or wrong");
        return;
    }
    /* A nick that is not allowed or taken gets 553, and the browser joins
     * as a guest all the same: it can pick another with "nick". */
    if (!m->nick || !m->nick_len || gw_hub_change_nick(h, p, now, m->nick, m->nick_len, m->ref) != 0)
        guest_name(h, p);
    p->joined = 1;
    welcome(h, p, m);
    post_join(h, p, now);
}

int gw_hub_web_input(struct gw_hub *h, uint64_t pid, int64_t now, const char *data, size_t len)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (p->via != GW_VIA_WEB || (!data && len))
        return GW_EINVAL;
    if (p->closing)
        return GW_OK;
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
    return GW_OK;
}

int gw_hub_web_reject(struct gw_hub *h, uint64_t pid, int code, const char *why)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (p->closing)
        return GW_OK;
    if (code == GW_R_TOO_LARGE)
        h->metrics.rejections[GW_REJ_TOO_LARGE]++;
    else if (code == GW_R_UNREADABLE)
        h->metrics.rejections[GW_REJ_MALFORMED]++;
    gw_out_error(h, p, code, why, NULL);
    if (code == GW_R_TOO_LARGE)
        gw_hub_start_closing(h, p, GW_CLOSE_TOO_BIG, why);
    return GW_OK;
}

/* ---- life cycle ---- */

int gw_hub_new(struct gw_hub **out, const struct gw_hub_config *cfg)
{
    if (!out || !cfg)
        return GW_EINVAL;
    struct gw_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return GW_ENOMEM;
    h->cfg = *cfg;
    if (!h->cfg.max_participants)
        h->cfg.max_participants = GW_PARTICIPANTS_DEFAULT;
    if (h->cfg.max_participants > GW_PARTICIPANTS_CEILING)
        h->cfg.max_participants = GW_PARTICIPANTS_CEILING;
    if (!h->cfg.tcp_queue_max_bytes)
        h->cfg.tcp_queue_max_bytes = GW_TCP_QUEUE_MAX_BYTES;
    if (!h->cfg.web_queue_max_bytes)
        h->cfg.web_queue_max_bytes = GW_WEB_QUEUE_MAX_BYTES;
    if (!h->cfg.line_max || h->cfg.line_max > GW_TEXT_MAX_BYTES)
        h->cfg.line_max = GW_TEXT_MAX_BYTES;
    if (!h->cfg.nick_max || h->cfg.nick_max > GW_NICK_MAX_CHARS)
        h->cfg.nick_max = GW_NICK_MAX_CHARS;
    if (!h->cfg.draft_units)
        h->cfg.draft_units = GW_DRAFT_UNITS_DEFAULT;
    if (h->cfg.draft_units > GW_DRAFT_UNITS_CEILING)
        h->cfg.draft_units = GW_DRAFT_UNITS_CEILING;
    h->draft_max_bytes = (size_t)WT_UTF8_PER_UNIT_MAX * h->cfg.draft_units;
    h->cap = h->cfg.max_participants + GW_REFUSE_SLACK;
    if (cfg->key && *cfg->key) {
        size_t klen = strlen(cfg->key);
        if (klen > GW_KEY_MAX_BYTES) {
            free(h);
            return GW_EINVAL;
        }
        SHA256((const unsigned char *)cfg->key, klen, h->key_digest);
        h->has_key = 1;
    }
    size_t isize = 16;
    while (isize < h->cap * 2)
        isize *= 2;
    h->index_mask = isize - 1;
    h->index = calloc(isize, sizeof(*h->index));
    h->parts = calloc(h->cap, sizeof(*h->parts));
    int hist_rc = gw_history_init(&h->history);
    if (!h->parts || hist_rc != GW_OK || !h->index) {
        free(h->index);
        free(h->parts);
        gw_history_free(&h->history);
        free(h);
        return GW_ENOMEM;
    }
    h->cfg.key = NULL;
    h->next_pid = 1;
    snprintf(h->epoch, sizeof h->epoch, "%016llx", (unsigned long long)cfg->epoch);
    *out = h;
    return GW_OK;
}

static void part_free(struct gw_part *p)
{
    gw_queue_clear(&p->q);
    wt_decoder_free(&p->dec);
    free(p->draft);
    free(p->typing);
    free(p);
}

void gw_hub_free(struct gw_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nparts; i++)
        part_free(h->parts[i]);
    gw_history_free(&h->history);
    gw_transcript_free(&h->transcript);
    free(h->parts);
    free(h->index);
    free(h);
}

/* A new participant, not in the room; a TCP one has its handshake queued. */
static int part_new(struct gw_hub *h, enum gw_via via, void *user, int64_t now,
                    struct gw_part **out)
{
    if (!h || (via != GW_VIA_TCP && via != GW_VIA_WEB))
        return GW_EINVAL;
    if (h->nparts >= h->cap)
        return GW_EFULL;
    struct gw_part *p = calloc(1, sizeof(*p));
    if (!p)
        return GW_ENOMEM;
    p->pid = h->next_pid++;
    p->via = via;
    p->user = user;
    p->tokens = (int64_t)h->cfg.rate * 2000;
    p->tokens_at = now;
    p->typing_tokens = (int64_t)h->cfg.typing_rate * 2000;
    p->typing_tokens_at = now;
    p->strikes_at = now;
    p->typing_at = now - GW_TYPING_INTERVAL_MS;
    gw_queue_init(&p->q, via == GW_VIA_TCP ? h->cfg.tcp_queue_max_bytes : h->cfg.web_queue_max_bytes,
                  GW_QUEUE_MAX_ITEMS);
    (void)wt_decoder_init(&p->dec, h->cfg.draft_units);
    p->slot = h->nparts;
    h->parts[h->nparts++] = p;
    index_add(h, p);
    if (via == GW_VIA_TCP) {
        /* The handshake and the priming leave alone, in one write: see
         * WT_PRIMING for why they must not be split nor followed at once. */
        struct gw_buf *hs = gw_buf_new(h->cfg.headroom, WT_HANDSHAKE_LEN + WT_PRIMING_LEN);
        if (hs) {
            memcpy(gw_buf_bytes(hs), WT_HANDSHAKE WT_PRIMING, WT_HANDSHAKE_LEN + WT_PRIMING_LEN);
            gw_out_push_tcp(h, p, hs, GW_ITEM_SOLO);
            gw_buf_unref(hs);
        }
    }
    *out = p;
    return GW_OK;
}

int gw_hub_refuse(struct gw_hub *h, enum gw_via via, void *user, const char *why, uint64_t *pid)
{
    struct gw_part *p;
    if (!pid || !why)
        return GW_EINVAL;
    int rc = part_new(h, via, user, 0, &p);
    if (rc)
        return rc;
    *pid = p->pid;
    char text[GW_REASON_MAX_BYTES + 32];
    snprintf(text, sizeof text, "error 421: %s", why);
    gw_metrics_error(&h->metrics, GW_R_SHUTDOWN);
    if (via == GW_VIA_TCP) {
        gw_out_last_line(h, p, text);
    } else {
        struct gw_buf *b = gw_json_error(GW_R_SHUTDOWN, why, NULL, h->cfg.headroom);
        gw_out_push_web(h, p, b);
        gw_buf_unref(b);
    }
    gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, why);
    return GW_OK;
}

int gw_hub_connect(struct gw_hub *h, enum gw_via via, void *user, int64_t now, uint64_t *pid)
{
    struct gw_part *p;
    if (!pid)
        return GW_EINVAL;
    int rc = part_new(h, via, user, now, &p);
    if (rc)
        return rc;
    *pid = p->pid;

    int full = h->nparts > h->cfg.max_participants;
    if (full) {
        h->metrics.rejections[GW_REJ_FULL]++;
        gw_metrics_error(&h->metrics, GW_R_SHUTDOWN);
    } else {
        h->metrics.connections[via]++;
    }
    if (via == GW_VIA_TCP) {
        if (full) {
            gw_out_last_line(h, p, "error 421: the gateway is full, try again later");
            gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "gateway full");
            return GW_OK;
        }
        if (h->has_key) {
            /* Not in the room until /login: one R with the prompt only. */
            struct gw_buf *b =
                gw_buf_frame(h->cfg.headroom, WT_OP_REPLACE, LOGIN_PROMPT, strlen(LOGIN_PROMPT));
            gw_out_push_tcp(h, p, b, 0);
            gw_buf_unref(b);
            return GW_OK;
        }
        guest_name(h, p);
        p->resync = 1;
        p->joined = 1;
        post_join(h, p, now);
    } else if (full) {
        struct gw_buf *b = gw_json_bye(GW_R_SHUTDOWN, "the gateway is full, try again later",
                                       h->cfg.headroom);
        gw_out_push_web(h, p, b);
        gw_buf_unref(b);
        gw_hub_start_closing(h, p, GW_CLOSE_TRY_LATER, "gateway full");
    }
    return GW_OK;
}

int gw_hub_disconnect(struct gw_hub *h, uint64_t pid, int64_t now, enum gw_leave_reason reason)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    size_t i = p->slot;
    h->parts[i] = h->parts[--h->nparts];
    h->parts[i]->slot = i;
    h->parts[h->nparts] = NULL;
    index_del(h, pid);
    if (p->joined)
        post_leave(h, p, now, reason);
    part_free(p);
    return GW_OK;
}

void gw_hub_set_wall_clock(struct gw_hub *h, int64_t wall_ms, int64_t now)
{
    h->wall_offset = wall_ms - now;
}

void gw_hub_tick(struct gw_hub *h, int64_t now)
{
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (now - p->typing_at >= GW_TYPING_INTERVAL_MS)
            gw_typing_emit(h, p, now);
    }
}

void gw_hub_shutdown(struct gw_hub *h, int64_t now)
{
    (void)now;
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (p->closing)
            continue;
        if (p->via == GW_VIA_WEB) {
            struct gw_buf *b = gw_json_bye(GW_R_SHUTDOWN, "gateway shutting down", h->cfg.headroom);
            if (b && gw_queue_push(&p->q, b, 0) != 0) {
                gw_queue_clear(&p->q);
                (void)gw_queue_push(&p->q, b, 0);
            }
            gw_buf_unref(b);
        } else {
            gw_out_last_line(h, p, "gateway shutting down");
        }
        gw_hub_start_closing(h, p, GW_CLOSE_GOING_AWAY, "gateway shutting down");
    }
}

int gw_hub_take(struct gw_hub *h, uint64_t pid, struct gw_buf **out)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    return gw_out_take(h, p, out);
}

int gw_hub_closing(struct gw_hub *h, uint64_t pid, int *code, const char **reason)
{
    struct gw_part *p = find(h, pid);
    if (!p)
        return GW_ENOENT;
    if (code)
        *code = p->close_code;
    if (reason)
        *reason = p->close_reason;
    return p->closing;
}

uint64_t gw_hub_refusals(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->refusals : 0;
}

int gw_hub_joined(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->joined : GW_ENOENT;
}

struct gw_metrics *gw_hub_metrics(struct gw_hub *h)
{
    return &h->metrics;
}

const char *gw_hub_nick(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->nick : NULL;
}

void gw_hub_counts(const struct gw_hub *h, unsigned *tcp, unsigned *web)
{
    unsigned t = 0, w = 0;
    for (size_t i = 0; i < h->nparts; i++) {
        if (!h->parts[i]->joined)
            continue;
        if (h->parts[i]->via == GW_VIA_TCP)
            t++;
        else
            w++;
    }
    if (tcp)
        *tcp = t;
    if (web)
        *web = w;
}

unsigned gw_hub_connections(const struct gw_hub *h)
{
    return (unsigned)h->nparts;
}

uint64_t gw_hub_last_id(const struct gw_hub *h)
{
    return gw_history_last_id(&h->history);
}

size_t gw_hub_queued_bytes(struct gw_hub *h, uint64_t pid)
{
    struct gw_part *p = find(h, pid);
    return p ? p->q.bytes : 0;
}
