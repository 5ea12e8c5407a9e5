/*
 * gw_presence.c - who is where on the other gateways, when rooms are
 * shared (an engine that orders, gw_store.h): so that participant lists,
 * /who, the "(N here)" of a pane and the uniqueness of nicks count
 * everyone on every gateway.
 *
 * Each gateway is a node (gw_hub_config.pid_base >> 32) and sends, every
 * GW_PRESENCE_BEAT_MS, a list of its participants and the rooms they are
 * in (gw_presence_list); the others keep it as they got it (a participant
 * of another gateway is a struct gw_remote) and, between two lists,
 * follow the join, leave and nick events of those rooms as they come back
 * from the engine. A nick two gateways gave at once goes to whoever took
 * it first (gw_presence_settle). A node not heard of for GW_PRESENCE_TTL_MS is gone: its
 * participants leave every list, and each gateway that drops one posts
 * its leave events in the rooms it has open, which the engine keeps once
 * whoever posts first (post_leave).
 *
 * Pure: no I/O, no clock (the hub's clock comes in as now), no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_text.h"

/* ---- the table of remote participants ---- */

static void remote_free(struct gw_remote *q)
{
    if (q) {
        free(q->rooms);
        free(q);
    }
}

static void remote_del(struct gw_hub *h, size_t i)
{
    remote_free(h->remotes[i]);
    h->remotes[i] = h->remotes[--h->nremotes];
}

static struct gw_remote *remote_find(const struct gw_hub *h, uint64_t pid, size_t *at)
{
    for (size_t i = 0; i < h->nremotes; i++)
        if (h->remotes[i]->pid == pid) {
            if (at)
                *at = i;
            return h->remotes[i];
        }
    return NULL;
}

/* A node heard of now (made when new). Returns its index, or -1 at the
 * bound. */
static int node_seen(struct gw_hub *h, uint64_t node, int64_t now)
{
    for (size_t i = 0; i < h->nnodes; i++)
        if (h->nodes[i].node == node) {
            if (now > h->nodes[i].seen)
                h->nodes[i].seen = now;
            return (int)i;
        }
    if (h->nnodes >= GW_NODES_MAX)
        return -1;
    h->nodes[h->nnodes].node = node;
    h->nodes[h->nnodes].seen = now;
    return (int)h->nnodes++;
}

/* Whether the room key is in a remote's list " k1 k2 ". */
static int in_room(const struct gw_remote *q, const char *key)
{
    size_t n = strlen(key);
    for (const char *s = q->rooms; (s = strstr(s, key)); s += n)
        if (s > q->rooms && s[-1] == ' ' && s[n] == ' ')
            return 1;
    return 0;
}

static int set_rooms(struct gw_remote *q, const char *list)
{
    size_t n = strlen(list);
    char *r = malloc(n + 3);
    if (!r)
        return -1;
    r[0] = ' ';
    memcpy(r + 1, list, n);
    r[n + 1] = ' ';
    r[n + 2] = '\0';
    free(q->rooms);
    q->rooms = r;
    return 0;
}

static void add_room(struct gw_remote *q, const char *key)
{
    if (in_room(q, key))
        return;
    size_t n = strlen(q->rooms), k = strlen(key);
    char *r = realloc(q->rooms, n + k + 2);
    if (!r)
        return;
    memcpy(r + n, key, k);
    r[n + k] = ' ';
    r[n + k + 1] = '\0';
    q->rooms = r;
}

static void drop_room(struct gw_remote *q, const char *key)
{
    size_t n = strlen(key);
    for (char *s = q->rooms; (s = strstr(s, key)); s += n)
        if (s > q->rooms && s[-1] == ' ' && s[n] == ' ') {
            memmove(s, s + n + 1, strlen(s + n + 1) + 1);
            return;
        }
}

/* A remote participant made or renamed: nick as its gateway gave it (a
 * guest's name too, which nobody may choose) and its comparison key.
 * Returns 0 or -1 (not a name at all: ignored). */
static int set_nick(struct gw_remote *q, const char *nick, size_t len)
{
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    if (len > GW_NICK_MAX_BYTES || strlen(nick) != len || gw_nick_key(nick, key) != GW_NICK_OK)
        return -1;
    memcpy(q->nick, nick, len + 1);
    memcpy(q->key, key, sizeof key);
    return 0;
}

static struct gw_remote *remote_new(struct gw_hub *h, uint64_t pid, const char *nick,
                                    int64_t nick_at, const char *via, const char *rooms)
{
    if (h->nremotes >= GW_REMOTES_MAX)
        return NULL;
    if (h->nremotes == h->remotes_cap) {
        size_t cap = h->remotes_cap ? h->remotes_cap * 2 : 64;
        struct gw_remote **n = realloc(h->remotes, cap * sizeof *n);
        if (!n)
            return NULL;
        h->remotes = n;
        h->remotes_cap = cap;
    }
    struct gw_remote *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->pid = pid;
    q->node = pid >> GW_NODE_SHIFT;
    q->web = via && strcmp(via, "web") == 0;
    q->nick_at = nick_at;
    if (set_nick(q, nick, strlen(nick)) || set_rooms(q, rooms)) {
        remote_free(q);
        return NULL;
    }
    h->remotes[h->nremotes++] = q;
    return q;
}

/* ---- what the hub asks ---- */

size_t gw_presence_count(const struct gw_hub *h, const struct gw_room *r)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nremotes; i++)
        n += in_room(h->remotes[i], r->key);
    return n;
}

const struct gw_remote *gw_presence_next(const struct gw_hub *h, const struct gw_room *r,
                                         size_t *i)
{
    while (*i < h->nremotes) {
        const struct gw_remote *q = h->remotes[(*i)++];
        if (in_room(q, r->key))
            return q;
    }
    return NULL;
}

const struct gw_remote *gw_presence_account_next(const struct gw_hub *h, const char *key,
                                                 size_t *i)
{
    while (*i < h->nremotes) {
        const struct gw_remote *q = h->remotes[(*i)++];
        if (!q->account || strcmp(q->key, key) != 0)
            continue;
        /* One a gateway: that gateway gives it to the others there. */
        int first = 1;
        for (size_t j = 0; j + 1 < *i && first; j++)
            first = !(h->remotes[j]->node == q->node && h->remotes[j]->account &&
                      !strcmp(h->remotes[j]->key, key));
        if (first)
            return q;
    }
    return NULL;
}

int gw_presence_account_in(const struct gw_hub *h, const char *key, const struct gw_room *r,
                           uint64_t but_node)
{
    for (size_t i = 0; i < h->nremotes; i++) {
        const struct gw_remote *q = h->remotes[i];
        if (q->account && q->node != but_node && strcmp(q->key, key) == 0 &&
            in_room(q, r->key))
            return 1;
    }
    return 0;
}

const struct gw_remote *gw_presence_remote(const struct gw_hub *h, uint64_t pid)
{
    return remote_find(h, pid, NULL);
}

void gw_presence_tag(const struct gw_ident *id, char *out)
{
    char hex[GW_DIGEST_HEX_LEN + 1];
    gw_digest_hex(id->digest, hex);
    memcpy(out, hex, GW_IDENT_TAG_LEN);
    out[GW_IDENT_TAG_LEN] = '\0';
}

/* Whether q is a connection of the identity self, on another gateway:
 * as its list says, or as the engine said when self was adopted here (a
 * gateway that died before its list named it). */
static int same_identity(const struct gw_remote *q, const struct gw_ident *self)
{
    char tag[GW_IDENT_TAG_LEN + 1];
    if (!self)
        return 0;
    if (self->elsewhere && self->elsewhere == q->pid)
        return 1;
    if (!q->ident[0])
        return 0;
    gw_presence_tag(self, tag);
    return strcmp(tag, q->ident) == 0;
}

/* Whether q stands in the way of self's nick on another gateway: not
 * when it is self's identity, nor when self is logged in to the account
 * of q's nick (q is a connection of the same account, or one whose
 * gateway has yet to take the registered nick back from it). */
static int same_person(const struct gw_remote *q, const struct gw_part *self)
{
    if (!self)
        return 0;
    if (same_identity(q, self->ident))
        return 1;
    const char *pub = gw_hub_person_name(self);
    if (q->pub[0] && pub && strcmp(q->pub, pub) == 0)
        return 1;
    return self->account[0] && strcmp(q->key, self->account) == 0;
}

int gw_presence_person_in(const struct gw_hub *h, const struct gw_part *p,
                          const struct gw_room *r)
{
    for (size_t i = 0; i < h->nremotes; i++)
        if (in_room(h->remotes[i], r->key) && same_person(h->remotes[i], p))
            return 1;
    return 0;
}

const struct gw_remote *gw_presence_nick(const struct gw_hub *h, const char *key,
                                         const struct gw_part *self)
{
    for (size_t i = 0; i < h->nremotes; i++)
        if (strcmp(h->remotes[i]->key, key) == 0 && !same_person(h->remotes[i], self))
            return h->remotes[i];
    return NULL;
}

/* ---- lists from other gateways ---- */

int gw_hub_presence_apply(struct gw_hub *h, uint64_t node, const char *json, size_t len,
                          int64_t now)
{
    if (node == h->node || len > GW_PRESENCE_LIST_MAX_BYTES)
        return GW_EINVAL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(root, "parts");
    if (!cJSON_IsArray(parts)) {
        cJSON_Delete(root);
        return GW_EINVAL;
    }
    if (node_seen(h, node, now) < 0) {
        cJSON_Delete(root);
        return GW_ENOMEM;
    }
    /* The list is the whole truth of that node: what it had is replaced. */
    for (size_t i = h->nremotes; i-- > 0;)
        if (h->remotes[i]->node == node)
            remote_del(h, i);
    const cJSON *p;
    cJSON_ArrayForEach(p, parts)
    {
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(p, "pid");
        const cJSON *nick = cJSON_GetObjectItemCaseSensitive(p, "nick");
        const cJSON *via = cJSON_GetObjectItemCaseSensitive(p, "via");
        const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(p, "rooms");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(p, "nick_at");
        const cJSON *ident = cJSON_GetObjectItemCaseSensitive(p, "ident");
        const cJSON *account = cJSON_GetObjectItemCaseSensitive(p, "account");
        if (!cJSON_IsNumber(pid) || !cJSON_IsString(nick) || !cJSON_IsString(rooms))
            continue;
        uint64_t id = (uint64_t)pid->valuedouble;
        if (id >> GW_NODE_SHIFT != node)
            continue; /* not its own */
        /* A list without nick_at (a gateway of an earlier version): this
         * one never takes the nick from it; that one decides. */
        struct gw_remote *q =
            remote_new(h, id, nick->valuestring,
                       cJSON_IsNumber(at) ? (int64_t)at->valuedouble : INT64_MAX,
                       cJSON_IsString(via) ? via->valuestring : "", rooms->valuestring);
        if (q && cJSON_IsString(ident) && strlen(ident->valuestring) == GW_IDENT_TAG_LEN)
            memcpy(q->ident, ident->valuestring, GW_IDENT_TAG_LEN + 1);
        const cJSON *pub = cJSON_GetObjectItemCaseSensitive(p, "pub");
        if (q && cJSON_IsString(pub) && strlen(pub->valuestring) == GW_IDENT_PUBLIC_LEN)
            memcpy(q->pub, pub->valuestring, GW_IDENT_PUBLIC_LEN + 1);
        if (q)
            q->account = cJSON_IsTrue(account);
    }
    cJSON_Delete(root);
    /* Settled once the list is whole (a guest name given here must not
     * be one of its later entries). */
    for (size_t i = h->nremotes; i-- > 0;)
        if (h->remotes[i]->node == node)
            gw_presence_settle(h, h->remotes[i]->pid, now);
    return GW_OK;
}

int gw_hub_presence_kept(struct gw_hub *h, uint64_t node, const char *json, size_t len,
                         int64_t now, int64_t age_ms)
{
    int64_t before = INT64_MIN;
    for (size_t i = 0; i < h->nnodes; i++)
        if (h->nodes[i].node == node)
            before = h->nodes[i].seen;
    int rc = gw_hub_presence_apply(h, node, json, len, now);
    if (rc != GW_OK)
        return rc;
    int64_t at = now - (age_ms > 0 ? age_ms : 0);
    for (size_t i = 0; i < h->nnodes; i++)
        if (h->nodes[i].node == node)
            h->nodes[i].seen = before > at ? before : at;
    return GW_OK;
}

/* One participant of this gateway's list. */
static void list_one(struct gw_jw *w, const struct gw_part *p, int first)
{
    gw_jw_lit(w, first ? "{\"pid\":" : ",{\"pid\":");
    gw_jw_uint(w, p->pid);
    gw_jw_lit(w, ",\"nick\":");
    gw_jw_str(w, p->nick, strlen(p->nick));
    gw_jw_lit(w, ",\"nick_at\":");
    gw_jw_int(w, p->nick_at);
    if (p->ident) {
        char tag[GW_IDENT_TAG_LEN + 1];
        gw_presence_tag(p->ident, tag);
        gw_jw_lit(w, ",\"ident\":\"");
        gw_jw_lit(w, tag); /* hex digits: nothing to escape */
        gw_jw_lit(w, "\"");
    }
    const char *pub = gw_hub_person_name(p);
    if (pub) {
        gw_jw_lit(w, ",\"pub\":\"");
        gw_jw_lit(w, pub); /* hex digits */
        gw_jw_lit(w, "\"");
    }
    if (p->account[0])
        gw_jw_lit(w, ",\"account\":true"); /* its nick is its account's */
    gw_jw_lit(w, ",\"via\":\"");
    gw_jw_lit(w, gw_via_name(p->via));
    gw_jw_lit(w, "\",\"rooms\":\"");
    for (unsigned k = 0; k < p->nmemb; k++) {
        if (k)
            gw_jw_lit(w, " ");
        gw_jw_lit(w, p->memb[k].room->key); /* [a-z0-9._-#]: nothing to escape */
    }
    gw_jw_lit(w, "\"}");
}

struct gw_buf *gw_presence_list(struct gw_hub *h)
{
    struct gw_jw w;
    gw_jw_init(&w, h->cfg.headroom, 64 + (h->nparts + h->nlinger) * 96);
    gw_jw_lit(&w, "{\"parts\":[");
    int first = 1;
    for (size_t i = 0; i < h->nparts; i++) {
        struct gw_part *p = h->parts[i];
        if (!p->joined || p->closing || !p->nmemb)
            continue;
        list_one(&w, p, first);
        first = 0;
    }
    /* Those in their reload grace are in their rooms still (gw_linger.c). */
    for (const struct gw_part *p = h->linger_first; p; p = p->linger_next) {
        list_one(&w, p, first);
        first = 0;
    }
    gw_jw_lit(&w, "]}");
    return gw_jw_finish(&w);
}

/* ---- events of shared rooms ---- */

uint64_t gw_presence_event(struct gw_hub *h, struct gw_room *r, const char *json, size_t len)
{
    /* Only joins, leaves and nick changes say who is where. */
    static const char *kinds[] = {"{\"type\":\"join\"", "{\"type\":\"leave\"",
                                  "{\"type\":\"nick\""};
    int kind = -1;
    for (int k = 0; k < 3; k++)
        if (len >= strlen(kinds[k]) && memcmp(json, kinds[k], strlen(kinds[k])) == 0)
            kind = k;
    if (kind < 0)
        return 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
    const cJSON *nick = cJSON_GetObjectItemCaseSensitive(root, "nick");
    const cJSON *via = cJSON_GetObjectItemCaseSensitive(root, "via");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(root, "time");
    uint64_t id = cJSON_IsNumber(pid) ? (uint64_t)pid->valuedouble : 0;
    if (!id || id >> GW_NODE_SHIFT == h->node || !cJSON_IsString(nick) || !cJSON_IsNumber(time)) {
        cJSON_Delete(root); /* one of ours: the hub knows it already */
        return 0;
    }
    /* An event of a gateway is word of it too (it may be gone before its
     * first list comes), at the hub's clock as last told; but not a leave
     * another gateway posted for it because it is gone. */
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(root, "reason");
    if (!(kind == 1 && cJSON_IsString(reason) && strcmp(reason->valuestring, "gone") == 0))
        (void)node_seen(h, id >> GW_NODE_SHIFT, h->beat_now);
    /* A nick known from an event was taken when it happened or before: a
     * later time than the truth, until the gateway's list says it, so
     * that two gateways never both give way. */
    int64_t at_most = (int64_t)time->valuedouble;
    uint64_t named = 0;
    size_t at = 0;
    struct gw_remote *q = remote_find(h, id, &at);
    /* An account away from the room, or back in it (gw_away.c). */
    if (kind == 0 || kind == 1) {
        char shown[GW_NICK_MAX_BYTES + 1], key[GW_NICK_KEY_MAX_BYTES + 1];
        const char *nk = nick->valuestring;
        if (gw_nick_norm(nk, strlen(nk), GW_NICK_MAX_CHARS, shown, key) == 0) {
            if (kind == 1 && cJSON_IsString(reason) && strcmp(reason->valuestring, "away") == 0)
                gw_away_add(h, r, key, nk);
            else
                (void)gw_away_del(h, r, key);
        }
    }
    if (kind == 0) {
        if (q)
            add_room(q, r->key);
        else if ((q = remote_new(h, id, nick->valuestring, at_most,
                                 cJSON_IsString(via) ? via->valuestring : "", r->key)))
            named = id;
        /* Its person's public name, before its gateway's next list says
         * it; logged in to the account of its nick when that is the
         * account's. */
        const cJSON *ident = cJSON_GetObjectItemCaseSensitive(root, "ident");
        char pub[GW_IDENT_PUBLIC_LEN + 1];
        if (q && cJSON_IsString(ident) && strlen(ident->valuestring) == GW_IDENT_PUBLIC_LEN) {
            memcpy(q->pub, ident->valuestring, GW_IDENT_PUBLIC_LEN + 1);
            gw_account_public_name(q->key, pub);
            if (strcmp(ident->valuestring, pub) == 0)
                q->account = 1;
        }
    } else if (kind == 1 && q) {
        drop_room(q, r->key);
        if (strcmp(q->rooms, " ") == 0)
            remote_del(h, at);
    } else if (kind == 2 && q && strcmp(q->nick, nick->valuestring) != 0) {
        char key[sizeof q->key];
        memcpy(key, q->key, sizeof key);
        if (set_nick(q, nick->valuestring, strlen(nick->valuestring)) == 0 &&
            strcmp(key, q->key) != 0) {
            q->nick_at = at_most;
            named = id;
        }
    }
    cJSON_Delete(root);
    return named;
}

void gw_presence_settle(struct gw_hub *h, uint64_t pid, int64_t now)
{
    const struct gw_remote *q = remote_find(h, pid, NULL);
    struct gw_part *p = q ? gw_hub_nick_owner(h, q->key) : NULL;
    /* One identity's browsers share its nick, on any gateway, and so do
     * an account's connections. */
    if (!p || same_person(q, p) || p->nick_at < q->nick_at ||
        (p->nick_at == q->nick_at && p->pid < q->pid))
        return;
    gw_hub_nick_lost(h, p, now);
}

/* ---- the beat and the gone ---- */

/*
 * A remote participant's leave of r, posted as if its gateway had. Every
 * gateway left posts it when it drops the participant from its lists (so
 * that whoever drops it says why, whatever it missed meanwhile), and the
 * engine keeps one of them: the append is named for the participant and
 * the room (append_once), kept once whichever gateway comes first and
 * tried again by the engine until Redis has it, through an outage too.
 * An engine without append_once (a test's) gets a plain append.
 */
static void post_leave(struct gw_hub *h, struct gw_room *r, const struct gw_remote *q, int64_t now)
{
    const struct gw_store *st = h->cfg.store;
    struct gw_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = GW_EV_LEAVE;
    ev.time_ms = now + h->wall_offset;
    ev.pid = q->pid;
    ev.nick = q->nick;
    ev.via = q->web ? "web" : "tcp";
    /* An account stays a member, away, unless it is in the room on
     * another gateway still. */
    int away = q->account && !gw_away_here(h, q->key, r, q->node);
    ev.reason = away ? GW_LEAVE_AWAY : GW_LEAVE_GONE;
    if (away)
        gw_away_add(h, r, q->key, q->nick);
    char text[GW_NICK_MAX_BYTES + 16];
    snprintf(text, sizeof text, "* %s left", q->nick);
    size_t tlen = away ? 0 : strlen(text);
    if (!st->append_once) {
        gw_hub_room_event(h, r, &ev, "", text, tlen, NULL);
        return;
    }
    ev.room = r->name;
    size_t id_at = 0;
    struct gw_buf *json = gw_json_event_at(&ev, h->cfg.headroom, &id_at);
    if (!json) {
        h->metrics.events_lost++;
        return;
    }
    const char *bytes = (const char *)gw_buf_bytes(json);
    size_t id_len = 0;
    while (id_at + id_len < json->len && bytes[id_at + id_len] >= '0' &&
           bytes[id_at + id_len] <= '9')
        id_len++;
    char line[GW_TRANSCRIPT_LINE_MAX_BYTES];
    size_t n = tlen ? gw_transcript_render(line, "", text, tlen) : 0;
    struct gw_store_event se = {
        .time_ms = ev.time_ms,
        .type = (int)ev.type,
        .json = bytes,
        .json_len = json->len,
        .line = line,
        .line_len = n,
        .id_at = id_at,
        .id_len = id_len,
    };
    char once[GW_STORE_ONCE_MAX_BYTES + 1];
    snprintf(once, sizeof once, "left:%llu:%s", (unsigned long long)q->pid, r->key);
    if (st->append_once(st->ctx, r->key, r->name, &se, once) != 0)
        h->metrics.events_lost++; /* the engine's bound: counted, as any lost event */
    gw_buf_unref(json);
}

void gw_presence_tick(struct gw_hub *h, int64_t now)
{
    const struct gw_store *st = h->cfg.store;
    if (!st || !(st->flags & GW_STORE_ORDERS))
        return;
    h->beat_now = now;
    if (st->presence && now - h->beat_at >= GW_PRESENCE_BEAT_MS) {
        struct gw_buf *b = gw_presence_list(h);
        /* Not taken (the engine is down): again at the next tick. */
        if (b && st->presence(st->ctx, h->node, (const char *)gw_buf_bytes(b), b->len) == 0)
            h->beat_at = now;
        gw_buf_unref(b);
    }
    /* The identities of browsers here stay findable by every gateway
     * while they are connected. */
    if (now - h->touch_at >= GW_IDENT_TOUCH_MS) {
        gw_private_touch(h);
        h->touch_at = now;
    }
    for (size_t n = h->nnodes; n-- > 0;) {
        if (!h->nodes[n].seen) /* heard of before the hub's first tick: now */
            h->nodes[n].seen = now;
        if (now - h->nodes[n].seen < GW_PRESENCE_TTL_MS)
            continue;
        uint64_t node = h->nodes[n].node;
        for (size_t i = h->nremotes; i-- > 0;) {
            struct gw_remote *q = h->remotes[i];
            if (q->node != node)
                continue;
            for (size_t k = 0; k < h->rooms.count; k++)
                if (in_room(q, h->rooms.list[k]->key))
                    post_leave(h, h->rooms.list[k], q, now);
            remote_del(h, i);
        }
        h->nodes[n] = h->nodes[--h->nnodes];
        /* Rooms the gone gateway's participants left empty may go, after
         * their leaves (the engine sends in order). */
        for (size_t k = 0; k < h->rooms.count; k++)
            gw_member_vacated(h, h->rooms.list[k]);
    }
}

void gw_presence_free(struct gw_hub *h)
{
    for (size_t i = 0; i < h->nremotes; i++)
        remote_free(h->remotes[i]);
    free(h->remotes);
    h->remotes = NULL;
    h->nremotes = h->remotes_cap = 0;
}
