/*
 * gw_away.c - the accounts that stay members of a room while they have no
 * connection: listed there as away, never seen to leave.
 *
 * An account is a member of the rooms it joined until it parts them (the
 * store keeps them: gw_kept.c). When its last connection in a room goes,
 * for any reason but a part, its leave says "away" (GW_LEAVE_AWAY): no
 * line for anyone, and every gateway sharing the room puts it on the
 * room's away list; when a connection of it is in the room again, its join
 * says "back" and takes it off. A room loaded here (at start, or when
 * somebody comes back to it) asks the store for its members
 * (accounts->room_accounts, one page: at most GW_ROOM_AWAY_MAX) and lists
 * those with no connection as away; each one's nick as shown is then
 * asked of the store (accounts->find), GW_AWAY_NAMES_AT_ONCE at a time a
 * room, the key shown meanwhile.
 *
 * An entry of the list whose account is in the room after all (here, or
 * on another gateway as its lists say) is not shown: the list is what is
 * known of those gone, the people lists and /who what is known of those
 * here.
 *
 * Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_limits.h"
#include "gw_room.h"
#include "gw_text.h"

static struct gw_away *entry(struct gw_room *r, const char *key)
{
    for (size_t i = 0; i < r->naway; i++)
        if (strcmp(r->away[i].key, key) == 0)
            return &r->away[i];
    return NULL;
}

int gw_away_here(const struct gw_hub *h, const char *key, const struct gw_room *r,
                 uint64_t but_node)
{
    struct gw_part *q = gw_hub_nick_owner(h, key);
    if (q && q->account[0] && strcmp(q->account, key) == 0)
        for (struct gw_part *c = gw_hub_person_next(h, q, NULL); c;
             c = gw_hub_person_next(h, q, c))
            if (c->joined && !c->closing && gw_member_of(c, r))
                return 1;
    return gw_presence_account_in(h, key, r, but_node);
}

/* Another entry at the end: NULL at the bound or out of memory. */
static struct gw_away *append(struct gw_room *r, const char *key)
{
    if (r->naway >= GW_ROOM_AWAY_MAX)
        return NULL;
    if (r->naway == r->away_cap) {
        size_t cap = r->away_cap ? r->away_cap * 2 : 4;
        struct gw_away *n = realloc(r->away, cap * sizeof(*n));
        if (!n)
            return NULL;
        r->away = n;
        r->away_cap = cap;
    }
    struct gw_away *a = &r->away[r->naway++];
    memset(a, 0, sizeof(*a));
    snprintf(a->key, sizeof a->key, "%s", key);
    snprintf(a->nick, sizeof a->nick, "%s", key);
    gw_account_public_name(key, a->ident);
    return a;
}

void gw_away_add(struct gw_hub *h, struct gw_room *r, const char *key, const char *nick)
{
    (void)h;
    struct gw_away *a = entry(r, key);
    if (!a && !(a = append(r, key)))
        return; /* past the bound: known as away only by its leave */
    snprintf(a->nick, sizeof a->nick, "%s", nick);
    a->named = 1;
}

int gw_away_del(struct gw_hub *h, struct gw_room *r, const char *key)
{
    (void)h;
    struct gw_away *a = entry(r, key);
    if (!a)
        return 0;
    size_t k = (size_t)(a - r->away);
    memmove(a, a + 1, (r->naway - k - 1) * sizeof(*a));
    r->naway--;
    return 1;
}

const struct gw_away *gw_away_next(const struct gw_hub *h, const struct gw_room *r, size_t *i)
{
    while (*i < r->naway) {
        const struct gw_away *a = &r->away[(*i)++];
        if (!gw_away_here(h, a->key, r, 0))
            return a;
    }
    return NULL;
}

/* ---- what the store says ---- */

/* The room whose walk or names asked tag: its tags are the window
 * [away_tag, away_tag + away_asked). */
static struct gw_room *room_of_tag(struct gw_hub *h, uint64_t tag)
{
    for (size_t i = 0; tag && i < h->rooms.count; i++) {
        struct gw_room *r = h->rooms.list[i];
        if (r->away_tag && tag >= r->away_tag && tag < r->away_tag + r->away_asked)
            return r;
    }
    return NULL;
}

/* Ask the store for the nicks of r's entries not named yet, at most
 * GW_AWAY_NAMES_AT_ONCE at a time (the next ones when those answered),
 * so that a room's list costs the store a bounded number of calls at
 * once. */
static void ask_names(struct gw_hub *h, struct gw_room *r)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    r->away_tag = 0;
    r->away_asked = r->away_answered = 0;
    for (size_t i = 0; i < r->naway && r->away_asked < GW_AWAY_NAMES_AT_ONCE; i++) {
        struct gw_away *a = &r->away[i];
        if (a->named)
            continue;
        a->named = 1; /* asked once: the key stays shown if it fails */
        uint64_t tag = ++h->next_acct_tag;
        if (!r->away_asked)
            r->away_tag = tag;
        r->away_asked++;
        if (ac->find(ac->ctx, tag, a->key) != GW_STORE_PENDING)
            r->away_answered++; /* no answer comes */
    }
    if (r->away_asked && r->away_answered == r->away_asked)
        ask_names(h, r); /* none could be asked: the next ones */
}

void gw_away_walk(struct gw_hub *h, struct gw_room *r)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac || !ac->room_accounts || !ac->find || r->away_tag)
        return;
    r->away_tag = ++h->next_acct_tag;
    r->away_asked = 1;
    r->away_answered = 0;
    if (ac->room_accounts(ac->ctx, r->away_tag, r->key, "") != GW_STORE_PENDING)
        r->away_tag = r->away_asked = 0;
}

int gw_away_keys(struct gw_hub *h, uint64_t tag, int status, const char *const *keys, size_t n,
                 int64_t now)
{
    struct gw_room *r = room_of_tag(h, tag);
    if (!r)
        return GW_ENOENT;
    for (size_t i = 0; status == GW_STORE_DONE && i < n; i++) {
        if (!keys[i] || !keys[i][0] || strlen(keys[i]) > GW_NICK_KEY_MAX_BYTES ||
            entry(r, keys[i]) || gw_away_here(h, keys[i], r, 0))
            continue;
        (void)append(r, keys[i]);
    }
    ask_names(h, r);
    if (r->away_wait) { /* the joins that waited for the list go on */
        r->away_wait = 0;
        if (r->loading && r->events_ready)
            gw_hub_room_ready(h, r, now);
    }
    return GW_OK;
}

int gw_away_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a)
{
    struct gw_room *r = room_of_tag(h, tag);
    if (!r)
        return GW_ENOENT;
    struct gw_away *e = status == GW_STORE_DONE && a ? entry(r, a->key) : NULL;
    if (e && a->nick && a->nick[0])
        snprintf(e->nick, sizeof e->nick, "%s", a->nick);
    if (++r->away_answered == r->away_asked)
        ask_names(h, r);
    return GW_OK;
}
