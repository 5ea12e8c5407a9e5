/*
 * gw_generation.c - sessions ended on another gateway. An account's
 * generation moves on in the store when every session of it ends ("log
 * out everywhere") or its password changes (gw_account.c); each
 * connection logged in to it keeps the generation it logged in under
 * (gw_sess.generation). The gateway that moved it logs out its own
 * connections at once and tells the others through the store (the
 * engine's moved); each of them logs out its connections of an older
 * generation when the news comes (gw_hub_account_moved).
 *
 * News can be lost (the link of a gateway to the store was down at that
 * moment), and the operator's command line moves generations without
 * telling anyone. So the accounts logged in here are also looked at again
 * in the store, a round at a time: as each walk of the names begins
 * (every GW_NAMES_WALK_MS, gw_names.c), and when the engine says news may
 * have been missed (its link came back). A round takes the id of one
 * connection of each account logged in when it begins and asks the store
 * for each account, at most GW_ACCOUNT_CHECKS_MAX at once, the next when
 * one answers; an account found at a newer generation logs out its
 * connections of an older one, an account found gone (removed) all of
 * them. A round that cannot ask the store stops; the next walk's makes
 * another. A login by password, whose account was found before the
 * password's check, is looked at once more when it is done (the news may
 * have come meanwhile, finding nobody).
 *
 * Pure: no I/O, no clock (time is an argument), no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_accounts.h"
#include "gw_hub_int.h"
#include "gw_limits.h"

/* A look-up out: its tag, the connection it was for, the account asked. */
struct gw_gen_check {
    uint64_t tag;
    uint64_t pid;
    char key[GW_NICK_KEY_MAX_BYTES + 1];
};

static void round_start(struct gw_hub *h, int64_t now);

/* Whether q, logged in, is of a generation below gen. */
static int older(const struct gw_part *q, uint64_t gen)
{
    return !q->sess || q->sess->generation < gen;
}

/* Whether q stands for its account in a round: the first of its
 * connections on the chain of the account's nick (gw_hub_person_next), or
 * one whose nick is not the account's (not on that chain). */
static int stands_for(struct gw_hub *h, struct gw_part *q)
{
    return q->account[0] &&
           (strcmp(q->nick_key, q->account) != 0 || gw_hub_person_next(h, q, NULL) == q);
}

/* Ask the store for q's account (a slot is free): 0, or -1 when it
 * cannot be asked now. */
static int ask(struct gw_hub *h, const struct gw_part *q)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    struct gw_gen_check *c = &h->gen_out[h->gen_nout];
    c->tag = ++h->next_acct_tag;
    c->pid = q->pid;
    snprintf(c->key, sizeof c->key, "%s", q->account);
    if (ac->find(ac->ctx, c->tag, c->key) != GW_STORE_PENDING)
        return -1;
    h->gen_nout++;
    return 0;
}

/* Ask for the next accounts of the round, up to the bound; end the round
 * when every one has answered. */
static void pump(struct gw_hub *h, int64_t now)
{
    while (h->gen_nout < GW_ACCOUNT_CHECKS_MAX && h->gen_next < h->gen_npids) {
        struct gw_part *q = gw_hub_part(h, h->gen_pids[h->gen_next++]);
        if (!q || !q->account[0])
            continue; /* gone, or logged out since */
        if (ask(h, q) != 0) {
            /* The store cannot be asked now: the round stops here. */
            h->gen_next = h->gen_npids;
            h->gen_again = 0;
            break;
        }
    }
    if (h->gen_nout || h->gen_next < h->gen_npids)
        return;
    free(h->gen_pids);
    h->gen_pids = NULL;
    h->gen_npids = h->gen_next = 0;
    if (h->gen_again) {
        h->gen_again = 0;
        round_start(h, now);
    }
}

static void round_start(struct gw_hub *h, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nparts; i++)
        n += stands_for(h, h->parts[i]) != 0;
    if (!n)
        return;
    if (!h->gen_out)
        h->gen_out = calloc(GW_ACCOUNT_CHECKS_MAX, sizeof(*h->gen_out));
    h->gen_pids = malloc(n * sizeof(*h->gen_pids));
    if (!h->gen_out || !h->gen_pids) {
        free(h->gen_pids); /* the next walk tries again */
        h->gen_pids = NULL;
        return;
    }
    h->gen_npids = 0;
    for (size_t i = 0; i < h->nparts; i++)
        if (stands_for(h, h->parts[i]))
            h->gen_pids[h->gen_npids++] = h->parts[i]->pid;
    h->gen_next = 0;
    pump(h, now);
}

void gw_generation_round(struct gw_hub *h, int64_t now)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac || !ac->find)
        return;
    if (h->gen_pids) {
        h->gen_again = 1; /* news missed after this round's look-ups began */
        return;
    }
    round_start(h, now);
}

void gw_generation_look(struct gw_hub *h, struct gw_part *p)
{
    const struct gw_accounts *ac = h->cfg.accounts;
    if (!ac || !ac->find || !p->account[0] || h->gen_nout >= GW_ACCOUNT_CHECKS_MAX)
        return;
    if (!h->gen_out)
        h->gen_out = calloc(GW_ACCOUNT_CHECKS_MAX, sizeof(*h->gen_out));
    if (h->gen_out)
        (void)ask(h, p); /* not asked: the next round's */
}

/* Whether a connection here logged in to c's account is of a generation
 * below gen: the one c was for, or another on its account's chain. Cheap
 * (an account's own connections), so that a round costs a walk of every
 * connection only for an account that has some to log out. */
static int any_older(struct gw_hub *h, const struct gw_gen_check *c, uint64_t gen)
{
    struct gw_part *q = gw_hub_part(h, c->pid);
    if (!q || strcmp(q->account, c->key) != 0)
        return 1; /* gone or logged out since: the walk decides */
    if (older(q, gen))
        return 1;
    for (struct gw_part *t = gw_hub_person_next(h, q, NULL); t; t = gw_hub_person_next(h, q, t))
        if (older(t, gen))
            return 1;
    return 0;
}

int gw_generation_answer(struct gw_hub *h, uint64_t tag, int status, const struct gw_account *a,
                         int64_t now)
{
    size_t i = 0;
    while (i < h->gen_nout && h->gen_out[i].tag != tag)
        i++;
    if (i == h->gen_nout)
        return GW_ENOENT;
    struct gw_gen_check c = h->gen_out[i];
    h->gen_out[i] = h->gen_out[--h->gen_nout];
    if (status == GW_STORE_DONE && a) {
        if (any_older(h, &c, a->generation))
            (void)gw_account_end_older(h, c.key, a->generation, GW_MOVED_ENDED, now);
    } else if (status == GW_ACCOUNT_NONE) {
        (void)gw_account_end_older(h, c.key, UINT64_MAX, GW_MOVED_REMOVED, now);
    } else {
        /* The store failed: the round stops (the next walk's goes on). */
        h->gen_next = h->gen_npids;
        h->gen_again = 0;
    }
    pump(h, now);
    return GW_OK;
}

int gw_hub_account_moved(struct gw_hub *h, const char *key, uint64_t generation, int why,
                         int64_t now)
{
    if (!key) {
        gw_generation_round(h, now);
        return GW_OK;
    }
    if (!h->cfg.accounts || !key[0] || strlen(key) > GW_NICK_KEY_MAX_BYTES)
        return GW_ENOENT;
    return gw_account_end_older(h, key, generation, why, now) ? GW_OK : GW_ENOENT;
}

void gw_generation_free(struct gw_hub *h)
{
    free(h->gen_pids);
    free(h->gen_out);
    h->gen_pids = NULL;
    h->gen_out = NULL;
    h->gen_npids = h->gen_next = h->gen_nout = 0;
    h->gen_again = 0;
}
