/*
 * gw_json.c - JSON encoding and parsing for wintalk.v1 and wintalk.v2.
 * Pure: no I/O.
 *
 * Encoding is hand-written (the gateway's messages are flat and known), so
 * an event is written once, straight into the buffer every recipient will
 * share. Parsing uses cJSON; its trees never leave this file.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "gw_json.h"

#include <cjson/cJSON.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

/* ---- writer ---- */

void gw_jw_init(struct gw_jw *w, size_t headroom, size_t hint)
{
    w->cap = hint < 64 ? 64 : hint;
    w->err = 0;
    w->buf = gw_buf_new(headroom, w->cap);
    if (!w->buf)
        w->err = 1;
    else
        w->buf->len = 0;
}

static int reserve(struct gw_jw *w, size_t n)
{
    if (w->err)
        return -1;
    if (w->buf->len + n <= w->cap)
        return 0;
    size_t ncap = w->cap * 2;
    while (ncap < w->buf->len + n)
        ncap *= 2;
    struct gw_buf *nb = realloc(w->buf, sizeof(*nb) + w->buf->headroom + ncap + 1);
    if (!nb) {
        free(w->buf);
        w->buf = NULL;
        w->err = 1;
        return -1;
    }
    w->buf = nb;
    w->cap = ncap;
    return 0;
}

void gw_jw_raw(struct gw_jw *w, const char *s, size_t n)
{
    if (reserve(w, n))
        return;
    memcpy(gw_buf_bytes(w->buf) + w->buf->len, s, n);
    w->buf->len += n;
}

void gw_jw_lit(struct gw_jw *w, const char *s)
{
    gw_jw_raw(w, s, strlen(s));
}

void gw_jw_str(struct gw_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case: every byte becomes \u00XX. */
    if (reserve(w, n * 6 + 2))
        return;
    unsigned char *o = gw_buf_bytes(w->buf) + w->buf->len;
    unsigned char *start = o;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c < 0x20 || c == 0x7F) {
            *o++ = '\\';
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = (unsigned char)hex[c >> 4];
            *o++ = (unsigned char)hex[c & 15];
        } else {
            *o++ = c;
        }
    }
    *o++ = '"';
    w->buf->len += (size_t)(o - start);
}

void gw_jw_int(struct gw_jw *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    gw_jw_raw(w, tmp, (size_t)n);
}

void gw_jw_uint(struct gw_jw *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    gw_jw_raw(w, tmp, (size_t)n);
}

struct gw_buf *gw_jw_finish(struct gw_jw *w)
{
    if (w->err)
        return NULL;
    struct gw_buf *b = w->buf;
    gw_buf_bytes(b)[b->len] = '\0';
    w->buf = NULL;
    return b;
}

/* ---- gateway to browser ---- */

static void head(struct gw_jw *w, const char *type, const struct gw_event *ev, int with_id,
                 size_t *id_at)
{
    gw_jw_lit(w, "{\"type\":\"");
    gw_jw_lit(w, type);
    gw_jw_lit(w, "\"");
    if (ev->room) {
        gw_jw_lit(w, ",\"room\":");
        gw_jw_str(w, ev->room, strlen(ev->room));
    }
    if (with_id) {
        gw_jw_lit(w, ",\"id\":");
        if (id_at && w->buf)
            *id_at = w->buf->len;
        gw_jw_uint(w, ev->id);
        gw_jw_lit(w, ",\"time\":");
        gw_jw_int(w, ev->time_ms);
    }
    gw_jw_lit(w, ",\"pid\":");
    gw_jw_uint(w, ev->pid);
    gw_jw_lit(w, ",\"nick\":");
    gw_jw_str(w, ev->nick, strlen(ev->nick));
    if (ev->ident) {
        gw_jw_lit(w, ",\"ident\":");
        gw_jw_str(w, ev->ident, strlen(ev->ident));
    }
}

static void via(struct gw_jw *w, const struct gw_event *ev)
{
    gw_jw_lit(w, ",\"via\":\"");
    gw_jw_lit(w, ev->via);
    gw_jw_lit(w, "\"");
}

/* The word a leave event gives for its reason. */
static const char *leave_word(enum gw_leave_reason r)
{
    switch (r) {
    case GW_LEAVE_ERROR: return "error";
    case GW_LEAVE_BEHIND: return "behind";
    case GW_LEAVE_SHUTDOWN: return "shutdown";
    case GW_LEAVE_PART: return "part";
    case GW_LEAVE_GONE: return "gone";
    case GW_LEAVE_AWAY: return "away";
    case GW_LEAVE_CLOSED: break;
    }
    return "closed";
}

struct gw_buf *gw_json_event(const struct gw_event *ev, size_t headroom)
{
    return gw_json_event_at(ev, headroom, NULL);
}

struct gw_buf *gw_json_event_at(const struct gw_event *ev, size_t headroom, size_t *id_at)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 160 + ev->text_len * 2);
    switch (ev->type) {
    case GW_EV_MESSAGE:
        head(&w, "message", ev, 1, id_at);
        via(&w, ev);
        gw_jw_lit(&w, ",\"text\":");
        gw_jw_str(&w, ev->text, ev->text_len);
        gw_jw_lit(&w, ev->me ? ",\"me\":true}" : ",\"me\":false}");
        break;
    case GW_EV_JOIN:
        head(&w, "join", ev, 1, id_at);
        via(&w, ev);
        if (ev->tab)
            gw_jw_lit(&w, ",\"tab\":true");
        gw_jw_lit(&w, ev->back ? ",\"back\":true}" : "}");
        break;
    case GW_EV_LEAVE:
        head(&w, "leave", ev, 1, id_at);
        via(&w, ev);
        gw_jw_lit(&w, ",\"reason\":\"");
        gw_jw_lit(&w, leave_word(ev->reason));
        gw_jw_lit(&w, ev->tab ? "\",\"tab\":true}" : "\"}");
        break;
    case GW_EV_NICK:
        head(&w, "nick", ev, 1, id_at);
        gw_jw_lit(&w, ",\"old\":");
        gw_jw_str(&w, ev->old, strlen(ev->old));
        via(&w, ev);
        gw_jw_lit(&w, "}");
        break;
    case GW_EV_DELETED:
        /* The sender fields are whoever deleted it; "by" says so in
         * words, "of" whose message it was. */
        head(&w, "deleted", ev, 1, id_at);
        via(&w, ev);
        gw_jw_lit(&w, ",\"deleted\":");
        gw_jw_uint(&w, ev->deleted);
        gw_jw_lit(&w, ",\"by\":");
        gw_jw_str(&w, ev->nick, strlen(ev->nick));
        gw_jw_lit(&w, ",\"of\":");
        gw_jw_str(&w, ev->of ? ev->of : "", ev->of ? strlen(ev->of) : 0);
        gw_jw_lit(&w, "}");
        break;
    case GW_EV_TYPING:
        head(&w, "typing", ev, 0, NULL);
        via(&w, ev);
        gw_jw_lit(&w, ",\"text\":");
        gw_jw_str(&w, ev->text, ev->text_len);
        gw_jw_lit(&w, "}");
        break;
    }
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_private(const struct gw_private *pm, size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 200 + pm->text_len * 2);
    gw_jw_lit(&w, "{\"type\":\"message\",\"private\":true,\"id\":");
    gw_jw_uint(&w, pm->id);
    gw_jw_lit(&w, ",\"time\":");
    gw_jw_int(&w, pm->time_ms);
    gw_jw_lit(&w, ",\"pid\":");
    gw_jw_uint(&w, pm->pid);
    gw_jw_lit(&w, ",\"nick\":");
    gw_jw_str(&w, pm->nick, strlen(pm->nick));
    gw_jw_lit(&w, ",\"via\":\"");
    gw_jw_lit(&w, pm->via);
    gw_jw_lit(&w, "\",\"to\":");
    gw_jw_str(&w, pm->to, strlen(pm->to));
    gw_jw_lit(&w, ",\"with\":");
    gw_jw_str(&w, pm->with, strlen(pm->with));
    if (pm->to_pid) {
        gw_jw_lit(&w, ",\"to_pid\":");
        gw_jw_uint(&w, pm->to_pid);
    }
    if (pm->kept)
        gw_jw_lit(&w, ",\"kept\":true");
    gw_jw_lit(&w, ",\"text\":");
    gw_jw_str(&w, pm->text, pm->text_len);
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

/* "participants":[..] from an iterator. */
static void presence_list(struct gw_jw *w, int (*next)(void *, struct gw_presence *), void *ctx)
{
    struct gw_presence q;
    gw_jw_lit(w, "\"participants\":[");
    for (int first = 1; next(ctx, &q); first = 0) {
        if (q.away) {
            gw_jw_lit(w, first ? "{\"pid\":0,\"nick\":" : ",{\"pid\":0,\"nick\":");
            gw_jw_str(w, q.nick, strlen(q.nick));
            if (q.ident) {
                gw_jw_lit(w, ",\"ident\":");
                gw_jw_str(w, q.ident, strlen(q.ident));
            }
            gw_jw_lit(w, ",\"away\":true}");
            continue;
        }
        gw_jw_lit(w, first ? "{\"pid\":" : ",{\"pid\":");
        gw_jw_uint(w, q.pid);
        gw_jw_lit(w, ",\"nick\":");
        gw_jw_str(w, q.nick, strlen(q.nick));
        gw_jw_lit(w, ",\"via\":\"");
        gw_jw_lit(w, q.via);
        gw_jw_lit(w, "\",\"typing\":");
        gw_jw_str(w, q.typing, q.typing_len);
        gw_jw_lit(w, "}");
    }
    gw_jw_lit(w, "]");
}

/* "history":[..] from an iterator of JSON texts. */
static void json_list(struct gw_jw *w, const char *name, struct gw_buf *(*next)(void *),
                      void *ctx)
{
    struct gw_buf *e;
    gw_jw_lit(w, "\"");
    gw_jw_lit(w, name);
    gw_jw_lit(w, "\":[");
    for (int first = 1; (e = next(ctx)); first = 0) {
        if (!first)
            gw_jw_lit(w, ",");
        gw_jw_raw(w, (const char *)gw_buf_bytes(e), e->len);
    }
    gw_jw_lit(w, "]");
}

/* "room":..,"participants":[..],"participants_count":..,"history":[..],
 * "last_id":..,"gap":.. */
static void room_view(struct gw_jw *w, const struct gw_room_view *v)
{
    gw_jw_lit(w, "\"room\":");
    gw_jw_str(w, v->room, strlen(v->room));
    gw_jw_lit(w, ",");
    presence_list(w, v->next_presence, v->ctx);
    gw_jw_lit(w, ",\"participants_count\":");
    gw_jw_uint(w, v->participants_count);
    gw_jw_lit(w, ",");
    json_list(w, "history", v->next_event, v->ctx);
    gw_jw_lit(w, ",\"last_id\":");
    gw_jw_uint(w, v->last_id);
    gw_jw_lit(w, v->gap ? ",\"gap\":true" : ",\"gap\":false");
}

static void you(struct gw_jw *w, const struct gw_welcome *wl)
{
    gw_jw_lit(w, "\"you\":{\"pid\":");
    gw_jw_uint(w, wl->pid);
    gw_jw_lit(w, ",\"nick\":");
    gw_jw_str(w, wl->nick, strlen(wl->nick));
    if (wl->ident) {
        gw_jw_lit(w, ",\"ident\":");
        gw_jw_str(w, wl->ident, strlen(wl->ident));
    }
    gw_jw_lit(w, ",\"via\":\"web\"");
    if (wl->admin)
        gw_jw_lit(w, ",\"admin\":true");
    gw_jw_lit(w, "}");
}

static struct gw_buf *welcome_v2(const struct gw_welcome *wl, size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, wl->size_hint);
    gw_jw_lit(&w, "{\"type\":\"welcome\",\"code\":220,\"protocol\":\"wintalk.v2\","
                  "\"epoch\":\"");
    gw_jw_lit(&w, wl->epoch);
    gw_jw_lit(&w, "\",\"token\":\"");
    gw_jw_lit(&w, wl->token);
    gw_jw_lit(&w, "\",");
    you(&w, wl);
    if (wl->account) {
        gw_jw_lit(&w, ",\"account\":");
        gw_jw_str(&w, wl->account, strlen(wl->account));
    }
    if (wl->text_max) {
        gw_jw_lit(&w, ",\"text_max\":");
        gw_jw_uint(&w, wl->text_max);
    }
    gw_jw_lit(&w, ",\"rooms\":[");
    for (size_t i = 0; i < wl->nrooms; i++) {
        gw_jw_lit(&w, i ? ",{" : "{");
        room_view(&w, &wl->rooms[i]);
        gw_jw_lit(&w, "}");
    }
    gw_jw_lit(&w, "],");
    json_list(&w, "private", wl->next_private, wl->private_ctx);
    gw_jw_lit(&w, ",\"private_id\":");
    gw_jw_uint(&w, wl->private_id);
    gw_jw_lit(&w, wl->reset ? ",\"reset\":true}" : ",\"reset\":false}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_welcome(const struct gw_welcome *wl, size_t headroom)
{
    if (wl->v2)
        return welcome_v2(wl, headroom);
    struct gw_jw w;
    gw_jw_init(&w, headroom, wl->size_hint);
    gw_jw_lit(&w, "{\"type\":\"welcome\",\"code\":220,\"protocol\":\"wintalk.v1\",");
    you(&w, wl);
    gw_jw_lit(&w, ",");
    presence_list(&w, wl->next_presence, wl->ctx);
    gw_jw_lit(&w, ",\"participants_count\":");
    gw_jw_uint(&w, wl->participants_count);
    gw_jw_lit(&w, ",\"epoch\":\"");
    gw_jw_lit(&w, wl->epoch);
    gw_jw_lit(&w, wl->reset ? "\",\"reset\":true," : "\",\"reset\":false,");
    json_list(&w, "history", wl->next_event, wl->ctx);
    gw_jw_lit(&w, ",\"last_id\":");
    gw_jw_uint(&w, wl->last_id);
    gw_jw_lit(&w, wl->gap ? ",\"gap\":true}" : ",\"gap\":false}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_joined(const struct gw_room_view *v, size_t size_hint, size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, size_hint);
    gw_jw_lit(&w, "{\"type\":\"joined\",\"code\":250,");
    room_view(&w, v);
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_parted(const char *room, size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 96);
    gw_jw_lit(&w, "{\"type\":\"parted\",\"code\":250,\"room\":");
    gw_jw_str(&w, room, strlen(room));
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_reads(const char *const *names, const uint64_t *ids, size_t n,
                             size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 64 + n * 48);
    gw_jw_lit(&w, "{\"type\":\"reads\",\"rooms\":{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            gw_jw_lit(&w, ",");
        gw_jw_str(&w, names[i], strlen(names[i]));
        gw_jw_lit(&w, ":");
        gw_jw_uint(&w, ids[i]);
    }
    gw_jw_lit(&w, "}}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_info(int code, const char *text, size_t len, size_t headroom)
{
    return gw_json_info_ref(code, text, len, NULL, headroom);
}

struct gw_buf *gw_json_info_ref(int code, const char *text, size_t len, const char *ref,
                                size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 96 + len * 2);
    gw_jw_lit(&w, "{\"type\":\"info\",\"code\":");
    gw_jw_int(&w, code);
    gw_jw_lit(&w, ",\"text\":");
    gw_jw_str(&w, text, len);
    if (ref && ref[0]) {
        gw_jw_lit(&w, ",\"ref\":");
        gw_jw_lit(&w, ref);
    }
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

/* ---- reading back an event the hub keeps (deletion) ---- */

static int is_int(const cJSON *n, double lo);

#define DELETED_HEAD "{\"type\":\"deleted\""

int gw_json_is_deleted(const char *json, size_t len)
{
    return len >= sizeof DELETED_HEAD - 1 && !memcmp(json, DELETED_HEAD, sizeof DELETED_HEAD - 1);
}

/* Copy a string member into dst (cap bytes with its NUL): "" when absent
 * or not a string; cut when longer. */
static void peek_str(const cJSON *root, const char *name, char *dst, size_t cap)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);
    dst[0] = '\0';
    if (cJSON_IsString(it) && it->valuestring) {
        size_t n = strlen(it->valuestring);
        if (n >= cap)
            n = cap - 1;
        memcpy(dst, it->valuestring, n);
        dst[n] = '\0';
    }
}

static uint64_t peek_uint(const cJSON *root, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);
    return is_int(it, 0) ? (uint64_t)it->valuedouble : 0;
}

int gw_json_peek_event(const char *json, size_t len, struct gw_event_peek *out)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return -1;
    }
    peek_str(root, "type", out->type, sizeof out->type);
    peek_str(root, "nick", out->nick, sizeof out->nick);
    peek_str(root, "ident", out->ident, sizeof out->ident);
    out->id = peek_uint(root, "id");
    out->pid = peek_uint(root, "pid");
    out->time_ms = (int64_t)peek_uint(root, "time");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "deleted");
    out->deleted = cJSON_IsTrue(d);
    out->target = is_int(d, 1) ? (uint64_t)d->valuedouble : 0;
    out->me = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "me"));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!strcmp(out->type, "message") && cJSON_IsString(t) && t->valuestring) {
        out->text_len = strlen(t->valuestring);
        out->text = malloc(out->text_len + 1);
        if (out->text)
            memcpy(out->text, t->valuestring, out->text_len + 1);
        else
            out->text_len = 0;
    }
    cJSON_Delete(root);
    return 0;
}

void gw_event_peek_free(struct gw_event_peek *e)
{
    free(e->text);
    e->text = NULL;
    e->text_len = 0;
}

struct gw_buf *gw_json_blank_message(const char *json, size_t len, size_t headroom)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    struct gw_buf *b = NULL;
    if (!cJSON_IsObject(root) || !cJSON_IsString(type) || strcmp(type->valuestring, "message"))
        goto out;
    /* Replaced in place: the fields keep their order, "deleted" comes last,
     * as SQLite's json_set writes the same row (gw_store_sqlite.c). */
    cJSON *empty = cJSON_CreateString("");
    if (!empty || !cJSON_ReplaceItemInObjectCaseSensitive(root, "text", empty)) {
        cJSON_Delete(empty);
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "deleted");
    if (!cJSON_AddTrueToObject(root, "deleted"))
        goto out;
    char *s = cJSON_PrintUnformatted(root);
    if (!s)
        goto out;
    b = gw_buf_copy(headroom, s, strlen(s));
    cJSON_free(s);
out:
    cJSON_Delete(root);
    return b;
}

struct gw_buf *gw_json_account(const char *nick, const char *session, const char *ref,
                               size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 128);
    gw_jw_lit(&w, "{\"type\":\"account\",\"nick\":");
    if (nick)
        gw_jw_str(&w, nick, strlen(nick));
    else
        gw_jw_lit(&w, "null");
    if (session) {
        gw_jw_lit(&w, ",\"session\":");
        gw_jw_str(&w, session, strlen(session));
    }
    if (ref && *ref) {
        gw_jw_lit(&w, ",\"ref\":");
        gw_jw_lit(&w, ref);
    }
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_error(int code, const char *message, const char *ref, size_t headroom)
{
    return gw_json_error_room(code, message, NULL, 0, ref, headroom);
}

struct gw_buf *gw_json_error_room(int code, const char *message, const char *room, size_t len,
                                  const char *ref, size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 128);
    gw_jw_lit(&w, "{\"type\":\"error\",\"code\":");
    gw_jw_int(&w, code);
    gw_jw_lit(&w, ",\"message\":");
    gw_jw_str(&w, message, strlen(message));
    if (room) {
        gw_jw_lit(&w, ",\"room\":");
        gw_jw_str(&w, room, len);
    }
    if (ref && *ref) {
        gw_jw_lit(&w, ",\"ref\":");
        gw_jw_lit(&w, ref);
    }
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_bye(int code, const char *message, size_t headroom)
{
    struct gw_jw w;
    gw_jw_init(&w, headroom, 96);
    gw_jw_lit(&w, "{\"type\":\"bye\",\"code\":");
    gw_jw_int(&w, code);
    gw_jw_lit(&w, ",\"message\":");
    gw_jw_str(&w, message, strlen(message));
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

struct gw_buf *gw_json_read_answer(const struct gw_read_answer *a, size_t headroom)
{
    size_t hint = 128 + a->q_len;
    for (size_t i = 0; i < a->n; i++)
        hint += a->lens[i] + 1;
    struct gw_jw w;
    gw_jw_init(&w, headroom, hint);
    if (a->what == GW_READ_SEARCH) {
        gw_jw_lit(&w, "{\"type\":\"search\",\"room\":");
        gw_jw_str(&w, a->room, strlen(a->room));
        gw_jw_lit(&w, ",\"q\":");
        gw_jw_str(&w, a->q, a->q_len);
    } else {
        gw_jw_lit(&w, "{\"type\":\"history\",\"room\":");
        gw_jw_str(&w, a->room, strlen(a->room));
        if (a->what != GW_READ_NEWEST) {
            gw_jw_lit(&w, a->what == GW_READ_BEFORE ? ",\"before\":" : ",\"after\":");
            gw_jw_uint(&w, a->id);
        }
    }
    gw_jw_lit(&w, ",\"events\":[");
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            gw_jw_raw(&w, ",", 1);
        gw_jw_raw(&w, a->events[i], a->lens[i]);
    }
    gw_jw_lit(&w, a->more ? "],\"more\":true" : "],\"more\":false");
    if (a->ref && *a->ref) {
        gw_jw_lit(&w, ",\"ref\":");
        gw_jw_lit(&w, a->ref);
    }
    gw_jw_lit(&w, "}");
    return gw_jw_finish(&w);
}

/* ---- browser to gateway ---- */

/* The table of message types, checked once here. */
static const struct {
    const char *name;
    enum gw_ctype type;
} ctypes[] = {
    {"hello", GW_C_HELLO},
    {"say", GW_C_SAY},
    {"typing", GW_C_TYPING},
    {"nick", GW_C_NICK},
    {"join", GW_C_JOIN},
    {"part", GW_C_PART},
    {"msg", GW_C_MSG},
    {"history", GW_C_HISTORY},
    {"search", GW_C_SEARCH},
    {"register", GW_C_REGISTER},
    {"login", GW_C_LOGIN},
    {"logout", GW_C_LOGOUT},
    {"password", GW_C_PASSWORD},
    {"read", GW_C_READ},
    {"delete", GW_C_DELETE},
};

/* Largest integer a JSON number carries exactly (2^53). */
#define JSON_INT_MAX 9007199254740992.0

static int is_int(const cJSON *n, double lo)
{
    return cJSON_IsNumber(n) && isfinite(n->valuedouble) && n->valuedouble >= lo &&
           n->valuedouble <= JSON_INT_MAX && floor(n->valuedouble) == n->valuedouble;
}

/* Copy a string member. Returns 0 (absent when optional), or minus a code. */
/* Wipe what cJSON holds of a message's passwords before it is freed. */
static void wipe_passwords(cJSON *root)
{
    static const char *const fields[] = {"password", "old", "new"};
    if (!cJSON_IsObject(root))
        return;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        cJSON *it = cJSON_GetObjectItemCaseSensitive(root, fields[i]);
        if (cJSON_IsString(it) && it->valuestring)
            explicit_bzero(it->valuestring, strlen(it->valuestring));
    }
}

static int get_str(const cJSON *obj, const char *name, int required, size_t max, char **out,
                   size_t *out_len, const char **why)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it) {
        if (required) {
            *why = "a required field is missing";
            return -GW_R_BAD_ARGS;
        }
        return 0;
    }
    if (!cJSON_IsString(it) || !it->valuestring) {
        *why = "a field has the wrong type (a string was expected)";
        return -GW_R_BAD_ARGS;
    }
    size_t n = strlen(it->valuestring);
    if (n > max) {
        *why = "a field is too large";
        return -GW_R_TOO_LARGE;
    }
    if (!wt_utf8_valid(it->valuestring, n)) {
        *why = "a string is not valid UTF-8";
        return -GW_R_UNREADABLE;
    }
    *out = malloc(n + 1);
    if (!*out) {
        *why = "out of memory";
        return -GW_R_SHUTDOWN;
    }
    memcpy(*out, it->valuestring, n + 1);
    *out_len = n;
    return 0;
}

static int parse_ref(const cJSON *root, struct gw_cmsg *out, const char **why)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(root, "ref");
    if (!ref)
        return 0;
    if (cJSON_IsString(ref) && ref->valuestring) {
        size_t n = strlen(ref->valuestring);
        if (n > GW_REF_MAX_BYTES || !wt_utf8_valid(ref->valuestring, n)) {
            *why = "ref must be a string of at most 64 bytes or an integer";
            return -GW_R_BAD_ARGS;
        }
        struct gw_jw w;
        gw_jw_init(&w, 0, n * 6 + 3);
        gw_jw_str(&w, ref->valuestring, n);
        struct gw_buf *b = gw_jw_finish(&w);
        if (!b) {
            *why = "out of memory";
            return -GW_R_SHUTDOWN;
        }
        memcpy(out->ref, gw_buf_bytes(b), b->len + 1);
        gw_buf_unref(b);
        return 0;
    }
    if (is_int(ref, -JSON_INT_MAX)) {
        snprintf(out->ref, sizeof out->ref, "%.0f", ref->valuedouble);
        return 0;
    }
    *why = "ref must be a string of at most 64 bytes or an integer";
    return -GW_R_BAD_ARGS;
}

/* A non-negative integer member (absent or null: 0). Returns 0 or minus a
 * code. */
static int get_uint(const cJSON *obj, const char *name, uint64_t *out, const char **why)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!is_int(it, 0)) {
        *why = "an id must be a non-negative integer";
        return -GW_R_BAD_ARGS;
    }
    *out = (uint64_t)it->valuedouble;
    return 0;
}

/* Whether obj has the member name, not null. */
static int has_member(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return it && !cJSON_IsNull(it);
}

_Static_assert(GW_HISTORY_READ_MAX == 500 && GW_SEARCH_READ_MAX == 100,
               "get_limit's messages name these bounds");

/* "limit": absent (0), or 1..max. Returns 0 or minus a code. */
static int get_limit(const cJSON *obj, uint64_t max, uint64_t *out, const char **why)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "limit");
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!is_int(it, 1) || it->valuedouble > (double)max) {
        *why = max == GW_HISTORY_READ_MAX ? "limit must be an integer from 1 to 500"
                                          : "limit must be an integer from 1 to 100";
        return -GW_R_BAD_ARGS;
    }
    *out = (uint64_t)it->valuedouble;
    return 0;
}

/* hello's "rooms": an object mapping room names to the last id seen. */
static int get_rooms(const cJSON *root, struct gw_cmsg *out, const char **why)
{
    const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(root, "rooms");
    if (!rooms || cJSON_IsNull(rooms))
        return 0;
    if (!cJSON_IsObject(rooms)) {
        *why = "rooms must map room names to the last id seen in each";
        return -GW_R_BAD_ARGS;
    }
    size_t n = (size_t)cJSON_GetArraySize(rooms);
    if (n > GW_HELLO_ROOMS_MAX) {
        *why = "too many rooms in hello";
        return -GW_R_TOO_LARGE;
    }
    out->has_rooms = 1;
    out->rooms = calloc(n ? n : 1, sizeof(*out->rooms));
    if (!out->rooms) {
        *why = "out of memory";
        return -GW_R_SHUTDOWN;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, rooms)
    {
        struct gw_croom *r = &out->rooms[out->nrooms];
        size_t len = it->string ? strlen(it->string) : 0;
        if (!it->string || (!cJSON_IsNull(it) && !is_int(it, 0))) {
            *why = "rooms must map room names to the last id seen in each";
            return -GW_R_BAD_ARGS;
        }
        if (len > GW_ROOM_ARG_MAX_BYTES) {
            *why = "a room name is too large";
            return -GW_R_TOO_LARGE;
        }
        r->name = malloc(len + 1);
        if (!r->name) {
            *why = "out of memory";
            return -GW_R_SHUTDOWN;
        }
        memcpy(r->name, it->string, len + 1);
        r->len = len;
        r->last_id = cJSON_IsNull(it) ? 0 : (uint64_t)it->valuedouble;
        out->nrooms++;
    }
    return 0;
}

int gw_json_parse_client(const char *data, size_t len, struct gw_cmsg *out, const char **why)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    *why = "ok";
    if (!wt_utf8_valid(data, len)) {
        *why = "the message is not valid UTF-8";
        return -GW_R_UNREADABLE;
    }
    /* cJSON keeps strings NUL-terminated, so an escaped U+0000 would cut a
     * text short. It is a control character, removed from relayed text
     * anyway: turn it into U+0001 on a copy, which the cleaner removes. */
    char *copy = NULL;
    for (size_t i = 0; i + 5 < len; i++) {
        if (data[i] != '\\') continue;
        if (data[i + 1] == 'u' && !memcmp(data + i + 2, "0000", 4)) {
            if (!copy) {
                copy = malloc(len);
                if (!copy) {
                    *why = "out of memory";
                    return -GW_R_SHUTDOWN;
                }
                memcpy(copy, data, len);
            }
            copy[i + 5] = '1';
        }
        i++; /* skip the escaped character */
    }
    cJSON *root = cJSON_ParseWithLength(copy ? copy : data, len);
    free(copy);
    if (!root) {
        *why = "the message is not JSON";
        return -GW_R_UNREADABLE;
    }
    if (!cJSON_IsObject(root)) {
        *why = "the message is not a JSON object";
        rc = -GW_R_UNREADABLE;
        goto done;
    }
    if ((rc = parse_ref(root, out, why)))
        goto done;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type) || !type->valuestring) {
        *why = "\"type\" is missing or not a string";
        rc = -GW_R_BAD_ARGS;
        goto done;
    }
    for (size_t i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++)
        if (strcmp(type->valuestring, ctypes[i].name) == 0)
            out->type = ctypes[i].type;
    switch (out->type) {
    case GW_C_NONE:
        *why = "unknown message type";
        rc = -GW_R_UNKNOWN;
        break;
    case GW_C_HELLO: {
        if ((rc = get_str(root, "nick", 0, GW_NICK_MAX_BYTES, &out->nick, &out->nick_len, why)))
            break;
        if ((rc = get_str(root, "key", 0, GW_KEY_MAX_BYTES, &out->key, &out->key_len, why)))
            break;
        /* null, like a missing epoch: a client that has none yet. */
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "epoch")) &&
            (rc = get_str(root, "epoch", 0, GW_EPOCH_MAX_BYTES, &out->epoch, &out->epoch_len,
                          why)))
            break;
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(root, "last_id");
        if (last && !cJSON_IsNull(last)) {
            if (!is_int(last, 0)) {
                *why = "last_id must be a non-negative integer";
                rc = -GW_R_BAD_ARGS;
                break;
            }
            out->last_id = (uint64_t)last->valuedouble;
        }
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "token")) &&
            (rc = get_str(root, "token", 0, GW_TOKEN_MAX_BYTES, &out->token, &out->token_len,
                          why)))
            break;
        if ((rc = get_uint(root, "private_id", &out->private_id, why)))
            break;
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "session")) &&
            (rc = get_str(root, "session", 0, GW_TOKEN_MAX_BYTES, &out->session,
                          &out->session_len, why)))
            break;
        /* A token of any length is the verifier's to refuse (530), with
         * the welcome of a guest: the message's bound is the only one. */
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "jwt")) &&
            (rc = get_str(root, "jwt", 0, GW_WS_IN_MAX_BYTES, &out->jwt, &out->jwt_len, why)))
            break;
        rc = get_rooms(root, out, why);
        break;
    }
    case GW_C_REGISTER:
        rc = get_str(root, "password", 1, GW_PASSWORD_IN_MAX_BYTES, &out->password,
                     &out->password_len, why);
        break;
    case GW_C_LOGIN:
        /* A nick as given may be decomposed, as for msg's "to". */
        if ((rc = get_str(root, "nick", 1, GW_NICK_IN_MAX_CPS * 4u, &out->nick, &out->nick_len,
                          why)))
            break;
        rc = get_str(root, "password", 1, GW_PASSWORD_IN_MAX_BYTES, &out->password,
                     &out->password_len, why);
        break;
    case GW_C_PASSWORD:
        if ((rc = get_str(root, "old", 1, GW_PASSWORD_IN_MAX_BYTES, &out->password,
                          &out->password_len, why)))
            break;
        rc = get_str(root, "new", 1, GW_PASSWORD_IN_MAX_BYTES, &out->password_new,
                     &out->password_new_len, why);
        break;
    case GW_C_READ:
        if ((rc = get_str(root, "room", 1, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len,
                          why)))
            break;
        if (!has_member(root, "id")) {
            *why = "a required field is missing";
            rc = -GW_R_BAD_ARGS;
            break;
        }
        rc = get_uint(root, "id", &out->last_id, why);
        break;
    case GW_C_DELETE:
        if ((rc = get_str(root, "room", 1, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len,
                          why)))
            break;
        if ((rc = get_str(root, "from", 0, GW_NICK_IN_MAX_CPS * 4u, &out->from_nick,
                          &out->from_nick_len, why)))
            break;
        if (has_member(root, "id") == !!out->from_nick) {
            *why = "give id (one message) or from (every message of a nick), not both";
            rc = -GW_R_BAD_ARGS;
            break;
        }
        if (!out->from_nick) {
            if ((rc = get_uint(root, "id", &out->last_id, why)))
                break;
            if (!out->last_id) {
                *why = "an id must be a positive integer";
                rc = -GW_R_BAD_ARGS;
            }
        }
        break;
    case GW_C_LOGOUT: {
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(root, "all");
        if (all && !cJSON_IsBool(all) && !cJSON_IsNull(all)) {
            *why = "all must be true or false";
            rc = -GW_R_BAD_ARGS;
            break;
        }
        out->all = cJSON_IsTrue(all);
        break;
    }
    case GW_C_SAY:
    case GW_C_TYPING:
        if ((rc = get_str(root, "text", 1, GW_WS_IN_MAX_BYTES, &out->text, &out->text_len, why)))
            break;
        rc = get_str(root, "room", 0, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len, why);
        break;
    case GW_C_NICK:
        rc = get_str(root, "nick", 1, GW_NICK_MAX_BYTES, &out->nick, &out->nick_len, why);
        break;
    case GW_C_JOIN:
        if ((rc = get_str(root, "room", 1, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len,
                          why)))
            break;
        rc = get_uint(root, "last_id", &out->last_id, why);
        break;
    case GW_C_PART:
        rc = get_str(root, "room", 1, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len, why);
        break;
    case GW_C_MSG:
        /* A nick as given may be decomposed: up to GW_NICK_IN_MAX_CPS
         * characters of 4 bytes. */
        if ((rc = get_str(root, "to", 1, GW_NICK_IN_MAX_CPS * 4u, &out->to, &out->to_len, why)))
            break;
        rc = get_str(root, "text", 1, GW_WS_IN_MAX_BYTES, &out->text, &out->text_len, why);
        break;
    case GW_C_HISTORY:
        if ((rc = get_str(root, "room", 0, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len,
                          why)))
            break;
        out->has_before = has_member(root, "before");
        out->has_after = has_member(root, "after");
        if (out->has_before && out->has_after) {
            *why = "give before or after, not both";
            rc = -GW_R_BAD_ARGS;
            break;
        }
        if ((rc = get_uint(root, "before", &out->before, why)) ||
            (rc = get_uint(root, "after", &out->after, why)))
            break;
        rc = get_limit(root, GW_HISTORY_READ_MAX, &out->limit, why);
        break;
    case GW_C_SEARCH:
        if ((rc = get_str(root, "room", 0, GW_ROOM_ARG_MAX_BYTES, &out->room, &out->room_len,
                          why)))
            break;
        if ((rc = get_str(root, "q", 1, GW_STORE_QUERY_MAX_BYTES, &out->text, &out->text_len,
                          why)))
            break;
        rc = get_limit(root, GW_SEARCH_READ_MAX, &out->limit, why);
        break;
    }
done:
    wipe_passwords(root);
    cJSON_Delete(root);
    return rc;
}

/* Wipe a string's bytes (passwords) so that they do not stay in freed
 * memory. */
static void wipe(char *s, size_t n)
{
    if (s)
        explicit_bzero(s, n);
}

void gw_cmsg_free(struct gw_cmsg *m)
{
    wipe(m->password, m->password_len);
    wipe(m->password_new, m->password_new_len);
    free(m->password);
    free(m->password_new);
    free(m->session);
    free(m->jwt);
    m->password = m->password_new = m->session = m->jwt = NULL;
    free(m->text);
    free(m->nick);
    free(m->key);
    free(m->epoch);
    free(m->room);
    free(m->to);
    free(m->token);
    free(m->from_nick);
    m->from_nick = NULL;
    for (size_t i = 0; i < m->nrooms; i++)
        free(m->rooms[i].name);
    free(m->rooms);
    m->text = m->nick = m->key = m->epoch = m->room = m->to = m->token = NULL;
    m->rooms = NULL;
    m->nrooms = 0;
}

int gw_json_parse_private(const char *json, size_t len, struct gw_cmsg_private *out)
{
    memset(out, 0, sizeof *out);
    if (len > GW_PRIVATE_IN_MAX_BYTES * 6 + 256)
        return -1;
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(root, "to_pid");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(root, "time");
    const cJSON *nick = cJSON_GetObjectItemCaseSensitive(root, "nick");
    const cJSON *via = cJSON_GetObjectItemCaseSensitive(root, "via");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    int ok = cJSON_IsNumber(to) && cJSON_IsNumber(pid) && cJSON_IsNumber(time) &&
             cJSON_IsString(nick) && cJSON_IsString(via) && cJSON_IsString(text) &&
             strlen(text->valuestring) <= GW_PRIVATE_IN_MAX_BYTES &&
             gw_nick_norm(nick->valuestring, strlen(nick->valuestring), GW_NICK_MAX_CHARS,
                          out->nick, key) == GW_NICK_OK;
    if (ok) {
        size_t n = strlen(text->valuestring);
        out->text = malloc(n + 1);
        ok = out->text != NULL;
        if (ok) {
            out->text_len = gw_text_clean(text->valuestring, n, out->text, 1);
            out->text[out->text_len] = '\0';
            out->to_pid = (uint64_t)to->valuedouble;
            out->pid = (uint64_t)pid->valuedouble;
            out->time_ms = (int64_t)time->valuedouble;
            snprintf(out->via, sizeof out->via, "%s",
                     strcmp(via->valuestring, "web") == 0 ? "web" : "tcp");
        }
    }
    cJSON_Delete(root);
    return ok ? 0 : -1;
}

void gw_cmsg_private_free(struct gw_cmsg_private *m)
{
    free(m->text);
    m->text = NULL;
}
