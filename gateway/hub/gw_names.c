/*
 * gw_names.c - the registered names this hub knows, so that a nick is
 * checked against the accounts at once, in the order a participant's
 * lines come, never by waiting for the store.
 *
 * The set is filled by walking the store's names a page at a time
 * (accounts->keys), once when the hub starts and again every
 * GW_NAMES_WALK_MS, so that accounts made by the operator's command line
 * or on another gateway are known here within that time; an account
 * registered on this hub is in it at once. A name found registered that
 * someone here holds without being logged in to it is taken back from
 * them (a guest again, told why), as when its owner logs in. A name that
 * is no longer in the store leaves the set when a walk ends (the set is
 * then what the walk found, with what this hub registered meanwhile).
 *
 * Each walk also begins a look at the accounts logged in here
 * (gw_generation.c).
 *
 * The set holds at most GW_NAMES_MAX names: past it, a name is not
 * reserved by the check at once, but its owner still takes it back by
 * logging in.
 *
 * Pure: no I/O, no clock (time is an argument).
 */
#include <stdlib.h>
#include <string.h>

#include "gw_hub_int.h"
#include "gw_limits.h"

static size_t name_hash(const char *s)
{
    uint64_t x = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)(x ^ (x >> 29));
}

static int set_has(const struct gw_names *s, const char *key)
{
    if (!s->slots)
        return 0;
    for (size_t i = name_hash(key) & s->mask; s->slots[i]; i = (i + 1) & s->mask)
        if (strcmp(s->slots[i], key) == 0)
            return 1;
    return 0;
}

static void set_free(struct gw_names *s)
{
    if (s->slots)
        for (size_t i = 0; i <= s->mask; i++)
            free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* Put key in s (open addressing, at most half full): 1 added, 0 there
 * already, -1 full (GW_NAMES_MAX) or out of memory. */
static int set_add(struct gw_names *s, const char *key)
{
    if (set_has(s, key))
        return 0;
    if (s->n >= GW_NAMES_MAX)
        return -1;
    if (!s->slots || (s->n + 1) * 2 > s->mask + 1) {
        size_t cap = s->slots ? (s->mask + 1) * 2 : 64;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        if (s->slots) {
            for (size_t i = 0; i <= s->mask; i++) {
                if (!s->slots[i])
                    continue;
                size_t j = name_hash(s->slots[i]) & (cap - 1);
                while (slots[j])
                    j = (j + 1) & (cap - 1);
                slots[j] = s->slots[i];
            }
            free(s->slots);
        }
        s->slots = slots;
        s->mask = cap - 1;
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    size_t i = name_hash(key) & s->mask;
    while (s->slots[i])
        i = (i + 1) & s->mask;
    s->slots[i] = copy;
    s->n++;
    return 1;
}

int gw_names_has(const struct gw_hub *h, const char *key)
{
    return set_has(&h->names, key);
}

void gw_names_add(struct gw_hub *h, const char *key)
{
    (void)set_add(&h->names, key);
    if (h->names_walking)
        (void)set_add(&h->names_next, key);
}

/* Ask for the page after cursor; the walk ends if it cannot be asked. */
static void ask_page(struct gw_hub *h, const char *cursor, int64_t now)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    h->names_tag = ++h->next_acct_tag;
    if (ac->keys(ac->ctx, h->names_tag, cursor) != GW_STORE_PENDING) {
        h->names_walking = 0;
        h->names_tag = 0;
        set_free(&h->names_next);
        h->names_walk_at = now + GW_NAMES_RETRY_MS;
    }
}

void gw_names_tick(struct gw_hub *h, int64_t now)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac || !ac->keys || h->names_walking || now < h->names_walk_at)
        return;
    h->names_walking = 1;
    h->names_walk_at = now + GW_NAMES_WALK_MS;
    ask_page(h, "", now);
    /* The accounts logged in here are looked at again with each walk: a
     * session ended elsewhere whose news was lost ends now. */
    gw_generation_round(h, now);
}

int gw_hub_account_keys(struct gw_hub *h, uint64_t tag, int status, const char *const *keys,
                        size_t n, const char *next, int64_t now)
{
    if (!h->names_walking || tag != h->names_tag)
        return gw_away_keys(h, tag, status, keys, n, now);
    if (status != GW_STORE_DONE) {
        /* The set stays as it was; another walk later. */
        h->names_walking = 0;
        h->names_tag = 0;
        set_free(&h->names_next);
        h->names_walk_at = now + GW_NAMES_RETRY_MS;
        return GW_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !keys[i][0])
            continue;
        (void)set_add(&h->names_next, keys[i]);
        if (set_add(&h->names, keys[i]) == 1)
            gw_account_claim(h, keys[i], NULL, now);
    }
    if (next && next[0]) {
        ask_page(h, next, now);
        return GW_OK;
    }
    /* The walk is whole: the set is what it found. */
    set_free(&h->names);
    h->names = h->names_next;
    memset(&h->names_next, 0, sizeof h->names_next);
    h->names_walking = 0;
    h->names_tag = 0;
    h->metrics.names_walks++;
    return GW_OK;
}

size_t gw_hub_names_count(const struct gw_hub *h)
{
    return h->names.n;
}

void gw_names_free(struct gw_hub *h)
{
    set_free(&h->names);
    set_free(&h->names_next);
    h->names_walking = 0;
}
