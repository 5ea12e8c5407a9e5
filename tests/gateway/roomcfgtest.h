/*
 * roomcfgtest.h - what every room config engine must do (gw_roomcfg.h),
 * as tests any engine's test program runs on its own engine: the program
 * fills struct rct with the engine's calls and a pump (give the answers
 * that are ready, waiting a little for them when the engine needs to), and
 * calls rct_* below. The sink records every answer and notice it is given
 * (copies of its strings), so a test looks at them after the pump.
 *
 * Include after cmocka.h (and setjmp.h, stdarg.h, stddef.h, stdint.h).
 */
#ifndef ROOMCFGTEST_H
#define ROOMCFGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_roomcfg.h"

#define RCT_GOT_MAX 2100
#define RCT_ROWS_MAX GW_GBANS_MAX

/* An entry as given, copied. */
struct rct_row {
    int list, kind;
    char who[GW_ROOMCFG_WHO_MAX_BYTES + 1];
    char by[GW_ROOMCFG_BY_MAX_BYTES + 1];
    char why[GW_ROOMCFG_WHY_MAX_BYTES + 1];
    int64_t set_ms, expires_ms;
};

enum rct_type { RCT_ANSWER = 1, RCT_CONFIG, RCT_ENTRIES, RCT_CHANGED };

/* One answer or notice. */
struct rct_got {
    enum rct_type type;
    uint64_t tag;
    int status;
    char room[GW_ROOMCFG_ROOM_MAX_BYTES + 1];   /* CONFIG, CHANGED (NULL: "(null)") */
    unsigned what;
    char owner[GW_NICK_MAX_BYTES + 1], topic[GW_ROOMCFG_TOPIC_MAX_BYTES + 1],
        topic_by[GW_ROOMCFG_BY_MAX_BYTES + 1], key[GW_ROOMCFG_KEY_MAX_BYTES + 1];
    int64_t topic_ms;
    unsigned flags;
    size_t n; /* rows in rct.rows (CONFIG, ENTRIES: the latest such answer's) */
};

struct rct {
    struct gw_roomcfgs rc;
    /* Give what is ready; wait up to about wait_ms for something first
     * when the engine answers from elsewhere (threads, a server). */
    void (*pump)(struct rct *t, int wait_ms);
    void *arg;                 /* the program's */
    struct rct_got got[RCT_GOT_MAX];
    size_t n;                  /* recorded since rct_clear */
    struct rct_row *rows;      /* RCT_ROWS_MAX: the latest config or entries */
    size_t nrows;
    int inside;                /* 1 while the test is inside a call */
    uint64_t next_tag;
    /* The program's look at each answer or notice as it is given (may be
     * NULL): what holds at that moment (a write's answer after its commit). */
    void (*seen)(struct rct *t, const struct rct_got *g);
};

static struct rct_got *rct_put(struct rct *t, enum rct_type type)
{
    assert_int_equal(t->inside, 0); /* never answered inside a call */
    assert_true(t->n < RCT_GOT_MAX);
    struct rct_got *g = &t->got[t->n++];
    memset(g, 0, sizeof *g);
    g->type = type;
    return g;
}

static void rct_rows(struct rct *t, const struct gw_roomcfg_entry *e, size_t n)
{
    assert_true(n <= RCT_ROWS_MAX);
    for (size_t i = 0; i < n; i++) {
        struct rct_row *r = &t->rows[i];
        r->list = e[i].list;
        r->kind = e[i].kind;
        assert_true(strlen(e[i].who) < sizeof r->who);
        assert_true(strlen(e[i].by) < sizeof r->by);
        assert_true(strlen(e[i].why) < sizeof r->why);
        strcpy(r->who, e[i].who);
        strcpy(r->by, e[i].by);
        strcpy(r->why, e[i].why);
        r->set_ms = e[i].set_ms;
        r->expires_ms = e[i].expires_ms;
    }
    t->nrows = n;
}

static void rct_seen(struct rct *t, const struct rct_got *g)
{
    if (t->seen)
        t->seen(t, g);
}

static void rct_on_answer(void *ctx, uint64_t tag, int status)
{
    struct rct_got *g = rct_put(ctx, RCT_ANSWER);
    g->tag = tag;
    g->status = status;
    rct_seen(ctx, g);
}

static void rct_on_config(void *ctx, uint64_t tag, int status, const struct gw_roomcfg *c)
{
    struct rct *t = ctx;
    struct rct_got *g = rct_put(t, RCT_CONFIG);
    g->tag = tag;
    g->status = status;
    if (!c) {
        assert_true(status < 0);
        return;
    }
    snprintf(g->room, sizeof g->room, "%s", c->room);
    snprintf(g->owner, sizeof g->owner, "%s", c->owner);
    snprintf(g->topic, sizeof g->topic, "%s", c->topic);
    snprintf(g->topic_by, sizeof g->topic_by, "%s", c->topic_by);
    snprintf(g->key, sizeof g->key, "%s", c->key);
    g->topic_ms = c->topic_ms;
    g->flags = c->flags;
    g->n = c->n;
    rct_rows(t, c->entries, c->n);
}

static void rct_on_entries(void *ctx, uint64_t tag, int status,
                           const struct gw_roomcfg_entry *e, size_t n)
{
    struct rct *t = ctx;
    struct rct_got *g = rct_put(t, RCT_ENTRIES);
    g->tag = tag;
    g->status = status;
    g->n = n;
    rct_rows(t, e, n);
}

static void rct_on_changed(void *ctx, const char *room, unsigned what)
{
    struct rct_got *g = rct_put(ctx, RCT_CHANGED);
    snprintf(g->room, sizeof g->room, "%s", room ? room : "(null)");
    g->what = what;
    rct_seen(ctx, g);
}

/* The sink every engine's test gives its engine, ctx t. */
static struct gw_roomcfg_sink rct_sink(struct rct *t)
{
    struct gw_roomcfg_sink s = {.ctx = t, .answer = rct_on_answer, .config = rct_on_config,
                                .entries = rct_on_entries, .changed = rct_on_changed};
    return s;
}

static void rct_init(struct rct *t)
{
    memset(t, 0, sizeof *t);
    t->rows = calloc(RCT_ROWS_MAX, sizeof *t->rows);
    assert_non_null(t->rows);
    t->next_tag = 1;
}

static void rct_fini(struct rct *t)
{
    free(t->rows);
    t->rows = NULL;
}

/* The recorded answer of tag, or NULL. */
static struct rct_got *rct_find(struct rct *t, enum rct_type type, uint64_t tag)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->got[i].type == type && t->got[i].tag == tag)
            return &t->got[i];
    return NULL;
}

/* The recorded change notice of room, or NULL. */
static struct rct_got *rct_changed(struct rct *t, const char *room)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->got[i].type == RCT_CHANGED && strcmp(t->got[i].room, room) == 0)
            return &t->got[i];
    return NULL;
}

/* Pump until the answer of tag (and, with want_changed, a change notice
 * of room) is recorded: at most about 5 s. */
static struct rct_got *rct_wait(struct rct *t, enum rct_type type, uint64_t tag,
                                const char *room, int want_changed)
{
    for (int i = 0; i < 500; i++) {
        struct rct_got *g = rct_find(t, type, tag);
        if (g && (!want_changed || rct_changed(t, room)))
            return g;
        t->pump(t, 10);
    }
    fail_msg("no answer to tag %llu", (unsigned long long)tag);
    return NULL;
}

/* A call's result: run it as "inside", return its code. */
#define RCT_CALL(t, expr) ((t)->inside = 1, rct_ret = (expr), (t)->inside = 0, rct_ret)
static int rct_ret;

/* A write, answered with want; with GW_STORE_DONE a change notice of room
 * with what follows (checked). */
static void rct_wrote(struct rct *t, uint64_t tag, int rc, const char *room, int want,
                      unsigned what)
{
    assert_int_equal(rc, GW_STORE_PENDING);
    struct rct_got *g = rct_wait(t, RCT_ANSWER, tag, room, want == GW_STORE_DONE);
    assert_int_equal(g->status, want);
    if (want == GW_STORE_DONE)
        assert_int_equal(rct_changed(t, room)->what, what);
    else
        assert_null(rct_changed(t, room));
}

static void rct_clear(struct rct *t)
{
    t->n = 0;
}

/* ---- calls, each waited for ---- */

static void rct_owner(struct rct *t, const char *room, const char *owner)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    rct_wrote(t, tag, RCT_CALL(t, t->rc.owner_set(t->rc.ctx, tag, room, owner)), room,
              GW_STORE_DONE, GW_ROOMCFG_CH_OWNER);
}

static void rct_topic(struct rct *t, const char *room, const char *text, const char *by,
                      int64_t ms)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    rct_wrote(t, tag, RCT_CALL(t, t->rc.topic_set(t->rc.ctx, tag, room, text, by, ms)), room,
              GW_STORE_DONE, GW_ROOMCFG_CH_TOPIC);
}

static void rct_settings(struct rct *t, const char *room, unsigned flags, const char *key)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    rct_wrote(t, tag, RCT_CALL(t, t->rc.settings_set(t->rc.ctx, tag, room, flags, key)), room,
              GW_STORE_DONE, GW_ROOMCFG_CH_SETTINGS);
}

static struct gw_roomcfg_entry rct_entry(int list, int kind, const char *who, int64_t set_ms,
                                         int64_t expires_ms)
{
    struct gw_roomcfg_entry e = {.list = list, .kind = kind, .who = who, .by = "Op",
                                 .set_ms = set_ms, .expires_ms = expires_ms, .why = "because"};
    return e;
}

/* entry_set, answered want. */
static void rct_set(struct rct *t, const char *room, const struct gw_roomcfg_entry *e, int want)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    rct_wrote(t, tag, RCT_CALL(t, t->rc.entry_set(t->rc.ctx, tag, room, e)), room, want,
              GW_ROOMCFG_CH_LIST(e->list));
}

/* entry_clear, answered want. */
static void rct_unset(struct rct *t, const char *room, int list, int kind, const char *who,
                      int64_t now_ms, int want)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    rct_wrote(t, tag,
              RCT_CALL(t, t->rc.entry_clear(t->rc.ctx, tag, room, list, kind, who, now_ms)),
              room, want, GW_ROOMCFG_CH_LIST(list));
}

/* load: the config (rows in t->rows). */
static struct rct_got *rct_load(struct rct *t, const char *room, int64_t now_ms)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    assert_int_equal(RCT_CALL(t, t->rc.load(t->rc.ctx, tag, room, now_ms)), GW_STORE_PENDING);
    struct rct_got *g = rct_wait(t, RCT_CONFIG, tag, NULL, 0);
    assert_int_equal(g->status, GW_STORE_DONE);
    assert_string_equal(g->room, room);
    return g;
}

/* entries: how many (rows in t->rows). */
static size_t rct_list(struct rct *t, const char *room, int list, int64_t now_ms)
{
    rct_clear(t);
    uint64_t tag = t->next_tag++;
    assert_int_equal(RCT_CALL(t, t->rc.entries(t->rc.ctx, tag, room, list, now_ms)),
                     GW_STORE_PENDING);
    struct rct_got *g = rct_wait(t, RCT_ENTRIES, tag, NULL, 0);
    assert_int_equal(g->status, GW_STORE_DONE);
    return g->n;
}

/* The row of (list, kind, who) in t->rows, or NULL. */
static struct rct_row *rct_row(struct rct *t, int list, int kind, const char *who)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (t->rows[i].list == list && t->rows[i].kind == kind &&
            strcmp(t->rows[i].who, who) == 0)
            return &t->rows[i];
    return NULL;
}

/* ---- what every engine must do ---- */

/* A room nobody configured; owner, topic, settings set, replaced, cleared. */
static void rct_test_room(struct rct *t)
{
    struct rct_got *g = rct_load(t, "#fresh", 1000);
    assert_string_equal(g->owner, "");
    assert_string_equal(g->topic, "");
    assert_string_equal(g->topic_by, "");
    assert_string_equal(g->key, "");
    assert_int_equal(g->topic_ms, 0);
    assert_int_equal(g->flags, 0);
    assert_int_equal(g->n, 0);

    rct_owner(t, "#room", "alice");
    rct_topic(t, "#room", "Welcome, señoras 😀", "Alice", 1234);
    rct_settings(t, "#room", GW_ROOMCFG_INVITE | GW_ROOMCFG_MODERATED, "s3cret!");
    g = rct_load(t, "#room", 2000);
    assert_string_equal(g->owner, "alice");
    assert_string_equal(g->topic, "Welcome, señoras 😀");
    assert_string_equal(g->topic_by, "Alice");
    assert_int_equal(g->topic_ms, 1234);
    assert_int_equal(g->flags, GW_ROOMCFG_INVITE | GW_ROOMCFG_MODERATED);
    assert_string_equal(g->key, "s3cret!"); /* kept as given: operators read it back */

    /* Another room is another config. */
    g = rct_load(t, "#room2", 2000);
    assert_string_equal(g->owner, "");

    /* Replaced, then cleared. */
    rct_owner(t, "#room", "bob");
    rct_settings(t, "#room", GW_ROOMCFG_FLAGS_ALL, "");
    rct_topic(t, "#room", "", "Bob", 3000);
    g = rct_load(t, "#room", 3000);
    assert_string_equal(g->owner, "bob");
    assert_string_equal(g->topic, "");
    assert_int_equal(g->flags, GW_ROOMCFG_FLAGS_ALL);
    assert_string_equal(g->key, "");
    rct_owner(t, "#room", "");
    assert_string_equal(rct_load(t, "#room", 3000)->owner, "");

    /* Strings at their bounds. */
    char topic[GW_ROOMCFG_TOPIC_MAX_BYTES + 1], key[GW_ROOMCFG_KEY_MAX_BYTES + 1],
        by[GW_ROOMCFG_BY_MAX_BYTES + 1], owner[GW_NICK_MAX_BYTES + 1];
    memset(topic, 't', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    memset(key, '~', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    memset(by, 'b', sizeof by - 1);
    by[sizeof by - 1] = '\0';
    memset(owner, 'o', sizeof owner - 1);
    owner[sizeof owner - 1] = '\0';
    rct_topic(t, "#room", topic, by, 4000);
    rct_settings(t, "#room", 0, key);
    rct_owner(t, "#room", owner);
    g = rct_load(t, "#room", 4000);
    assert_string_equal(g->topic, topic);
    assert_string_equal(g->topic_by, by);
    assert_string_equal(g->key, key);
    assert_string_equal(g->owner, owner);

    /* A room key at its longest. */
    char room[GW_ROOMCFG_ROOM_MAX_BYTES + 1];
    memset(room, 'r', sizeof room - 1);
    room[0] = '#';
    room[sizeof room - 1] = '\0';
    rct_owner(t, room, "carol");
    assert_string_equal(rct_load(t, room, 0)->owner, "carol");
}

/* Entries: every list and kind it takes, replaced, listed in order,
 * cleared; the gateway-wide bans under "". */
static void rct_test_entries(struct rct *t)
{
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory", 100, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "192.0.2.0/24", 110, 5000);
    e.why = "spam from this net";
    e.by = "Señor Op";
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "2001:db8::/32", 120, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_OP, GW_RCK_ACCOUNT, "bob", 130, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_VOICE, GW_RCK_NICK, "guest7", 140, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_VOICE, GW_RCK_ACCOUNT, "carol", 150, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_MUTE, GW_RCK_ADDRESS, "198.51.100.7/32", 160, 9000);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_MUTE, GW_RCK_ACCOUNT, "dave", 170, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_INVITE, GW_RCK_NICK, "guest9", 180, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_INVITE, GW_RCK_ACCOUNT, "erin", 190, 8000);
    rct_set(t, "#room", &e, GW_STORE_DONE);

    /* The whole config, ordered by list, kind, who. */
    struct rct_got *g = rct_load(t, "#room", 1000);
    assert_int_equal(g->n, 10);
    static const struct {
        int list, kind;
        const char *who;
    } want[] = {
        {GW_RCL_OP, GW_RCK_ACCOUNT, "bob"},
        {GW_RCL_VOICE, GW_RCK_ACCOUNT, "carol"},
        {GW_RCL_VOICE, GW_RCK_NICK, "guest7"},
        {GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory"},
        {GW_RCL_BAN, GW_RCK_ADDRESS, "192.0.2.0/24"},
        {GW_RCL_BAN, GW_RCK_ADDRESS, "2001:db8::/32"},
        {GW_RCL_MUTE, GW_RCK_ACCOUNT, "dave"},
        {GW_RCL_MUTE, GW_RCK_ADDRESS, "198.51.100.7/32"},
        {GW_RCL_INVITE, GW_RCK_ACCOUNT, "erin"},
        {GW_RCL_INVITE, GW_RCK_NICK, "guest9"},
    };
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(t->rows[i].list, want[i].list);
        assert_int_equal(t->rows[i].kind, want[i].kind);
        assert_string_equal(t->rows[i].who, want[i].who);
    }
    struct rct_row *r = rct_row(t, GW_RCL_BAN, GW_RCK_ADDRESS, "192.0.2.0/24");
    assert_string_equal(r->by, "Señor Op");
    assert_string_equal(r->why, "spam from this net");
    assert_int_equal(r->set_ms, 110);
    assert_int_equal(r->expires_ms, 5000);

    /* One list. */
    assert_int_equal(rct_list(t, "#room", GW_RCL_BAN, 1000), 3);
    assert_string_equal(t->rows[0].who, "mallory");
    assert_string_equal(t->rows[2].who, "2001:db8::/32");
    assert_int_equal(rct_list(t, "#room", GW_RCL_OP, 1000), 1);
    assert_int_equal(rct_list(t, "#other", GW_RCL_BAN, 1000), 0);

    /* Set again: replaced, not added. */
    e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory", 200, 7000);
    e.why = "again";
    rct_set(t, "#room", &e, GW_STORE_DONE);
    assert_int_equal(rct_list(t, "#room", GW_RCL_BAN, 1000), 3);
    r = rct_row(t, GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory");
    assert_string_equal(r->why, "again");
    assert_int_equal(r->set_ms, 200);
    assert_int_equal(r->expires_ms, 7000);

    /* The same who in another list or as another kind is another entry. */
    e = rct_entry(GW_RCL_MUTE, GW_RCK_ACCOUNT, "mallory", 210, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_INVITE, GW_RCK_NICK, "mallory", 210, 0);
    rct_set(t, "#room", &e, GW_STORE_DONE);
    assert_int_equal(rct_list(t, "#room", GW_RCL_BAN, 1000), 3);

    /* Cleared: gone; cleared again, or never set: NONE, nothing changed. */
    rct_unset(t, "#room", GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory", 1000, GW_STORE_DONE);
    assert_int_equal(rct_list(t, "#room", GW_RCL_BAN, 1000), 2);
    assert_null(rct_row(t, GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory"));
    rct_unset(t, "#room", GW_RCL_BAN, GW_RCK_ACCOUNT, "mallory", 1000, GW_ROOMCFG_NONE);
    rct_unset(t, "#room", GW_RCL_BAN, GW_RCK_ADDRESS, "192.0.3.0/24", 1000, GW_ROOMCFG_NONE);
    rct_unset(t, "#nowhere", GW_RCL_OP, GW_RCK_ACCOUNT, "bob", 1000, GW_ROOMCFG_NONE);
    /* Kind is part of the name: the nick mallory's invite is not the account's. */
    rct_unset(t, "#room", GW_RCL_INVITE, GW_RCK_ACCOUNT, "mallory", 1000, GW_ROOMCFG_NONE);
    rct_unset(t, "#room", GW_RCL_INVITE, GW_RCK_NICK, "mallory", 1000, GW_STORE_DONE);
    assert_int_equal(rct_list(t, "#room", GW_RCL_MUTE, 1000), 3);
    assert_non_null(rct_row(t, GW_RCL_MUTE, GW_RCK_ACCOUNT, "mallory"));

    /* Gateway-wide bans: room "", list GBAN; a room's config has none. */
    e = rct_entry(GW_RCL_GBAN, GW_RCK_ACCOUNT, "spammer", 300, 0);
    rct_set(t, "", &e, GW_STORE_DONE);
    e = rct_entry(GW_RCL_GBAN, GW_RCK_ADDRESS, "203.0.113.0/24", 310, 4000);
    rct_set(t, "", &e, GW_STORE_DONE);
    assert_int_equal(rct_list(t, "", GW_RCL_GBAN, 1000), 2);
    assert_string_equal(t->rows[0].who, "spammer");
    assert_string_equal(t->rows[1].who, "203.0.113.0/24");
    assert_int_equal(t->rows[1].expires_ms, 4000);
    g = rct_load(t, "#room", 1000);
    assert_null(rct_row(t, GW_RCL_GBAN, GW_RCK_ACCOUNT, "spammer"));
    rct_unset(t, "", GW_RCL_GBAN, GW_RCK_ACCOUNT, "spammer", 1000, GW_STORE_DONE);
    assert_int_equal(rct_list(t, "", GW_RCL_GBAN, 1000), 1);
}

/* Expiry at its instant: given at expires_ms - 1, gone at expires_ms. */
static void rct_test_expiry(struct rct *t)
{
    static const int lists[] = {GW_RCL_BAN, GW_RCL_MUTE, GW_RCL_INVITE, GW_RCL_GBAN};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        int l = lists[i];
        const char *room = l == GW_RCL_GBAN ? "" : "#exp";
        struct gw_roomcfg_entry e = rct_entry(l, GW_RCK_ACCOUNT, "eve", 1000, 2000);
        rct_set(t, room, &e, GW_STORE_DONE);
        e = rct_entry(l, GW_RCK_ACCOUNT, "forever", 1000, 0);
        rct_set(t, room, &e, GW_STORE_DONE);
        assert_int_equal(rct_list(t, room, l, 1999), 2);
        assert_non_null(rct_row(t, l, GW_RCK_ACCOUNT, "eve"));
        assert_int_equal(rct_list(t, room, l, 2000), 1);
        assert_null(rct_row(t, l, GW_RCK_ACCOUNT, "eve"));
        assert_int_equal(rct_list(t, room, l, INT64_MAX), 1); /* 0 is never */
        if (l != GW_RCL_GBAN) {
            rct_load(t, room, 1999);
            assert_non_null(rct_row(t, l, GW_RCK_ACCOUNT, "eve"));
            rct_load(t, room, 2000);
            assert_null(rct_row(t, l, GW_RCK_ACCOUNT, "eve"));
        }
        /* Clearing an expired one: NONE; one not yet expired: done. */
        rct_unset(t, room, l, GW_RCK_ACCOUNT, "eve", 2000, GW_ROOMCFG_NONE);
        e = rct_entry(l, GW_RCK_ACCOUNT, "eve", 3000, 4000);
        rct_set(t, room, &e, GW_STORE_DONE);
        rct_unset(t, room, l, GW_RCK_ACCOUNT, "eve", 3999, GW_STORE_DONE);
        /* An expiry at or before its own setting: refused. */
        e = rct_entry(l, GW_RCK_ACCOUNT, "eve", 3000, 3000);
        assert_int_equal(t->rc.entry_set(t->rc.ctx, 1, room, &e), GW_STORE_EINVAL);
        e.expires_ms = 3001;
        rct_set(t, room, &e, GW_STORE_DONE);
        assert_int_equal(rct_list(t, room, l, 3000), 2);
        /* An expired entry set again comes back with its new expiry. */
        e = rct_entry(l, GW_RCK_ACCOUNT, "eve", 5000, 6000);
        rct_set(t, room, &e, GW_STORE_DONE);
        assert_int_equal(rct_list(t, room, l, 5999), 2);
        rct_unset(t, room, l, GW_RCK_ACCOUNT, "eve", 5000, GW_STORE_DONE);
        rct_unset(t, room, l, GW_RCK_ACCOUNT, "forever", 5000, GW_STORE_DONE);
    }
}

/* Each list at its bound: the last one taken, one past refused (FULL,
 * nothing kept, no notice); a replacement at the bound taken; an expired
 * entry makes room. */
static void rct_test_bounds(struct rct *t)
{
    for (int l = 0; l < GW_RCL_COUNT; l++) {
        const char *room = l == GW_RCL_GBAN ? "" : "#full";
        size_t max = gw_roomcfg_list_max(l);
        char who[32];
        for (size_t i = 0; i < max; i++) {
            snprintf(who, sizeof who, "u%05zu", i);
            /* the first expires at 50000 */
            struct gw_roomcfg_entry e =
                rct_entry(l, GW_RCK_ACCOUNT, who, 1000, i == 0 ? 50000 : 0);
            rct_set(t, room, &e, GW_STORE_DONE);
        }
        assert_int_equal(rct_list(t, room, l, 1000), max);
        struct gw_roomcfg_entry e = rct_entry(l, GW_RCK_ACCOUNT, "onemore", 1000, 0);
        rct_set(t, room, &e, GW_ROOMCFG_FULL);
        assert_int_equal(rct_list(t, room, l, 1000), max);
        assert_null(rct_row(t, l, GW_RCK_ACCOUNT, "onemore"));
        /* Replacing one at the bound is no new entry. */
        e = rct_entry(l, GW_RCK_ACCOUNT, "u00001", 1000, 0);
        e.why = "replaced";
        rct_set(t, room, &e, GW_STORE_DONE);
        /* At 49999 the first still counts; at 50000 it is gone. */
        e = rct_entry(l, GW_RCK_ACCOUNT, "onemore", 49999, 0);
        rct_set(t, room, &e, GW_ROOMCFG_FULL);
        e = rct_entry(l, GW_RCK_ACCOUNT, "onemore", 50000, 0);
        rct_set(t, room, &e, GW_STORE_DONE);
        assert_int_equal(rct_list(t, room, l, 50000), max);
        assert_non_null(rct_row(t, l, GW_RCK_ACCOUNT, "onemore"));
        assert_null(rct_row(t, l, GW_RCK_ACCOUNT, "u00000"));
        assert_string_equal(rct_row(t, l, GW_RCK_ACCOUNT, "u00001")->why, "replaced");
        /* The lists of one room are bounded each on its own. */
    }
    /* Every list of #full is at its bound at once: one load gives them all. */
    rct_load(t, "#full", 50000);
    size_t all = 0;
    for (int l = 0; l < GW_RCL_GBAN; l++)
        all += gw_roomcfg_list_max(l);
    assert_int_equal(t->nrows, all);
}

/* Bad arguments: GW_STORE_EINVAL, nothing done, nothing answered. */
static void rct_test_einval(struct rct *t)
{
    struct gw_roomcfgs *c = &t->rc;
    void *x = c->ctx;
    char big[512];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char room34[GW_ROOMCFG_ROOM_MAX_BYTES + 2];
    memset(room34, 'r', sizeof room34 - 1);
    room34[0] = '#';
    room34[sizeof room34 - 1] = '\0';
    char topic[GW_ROOMCFG_TOPIC_MAX_BYTES + 2], key[GW_ROOMCFG_KEY_MAX_BYTES + 2],
        nick[GW_NICK_MAX_BYTES + 2], why[GW_ROOMCFG_WHY_MAX_BYTES + 2];
    memset(topic, 't', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    memset(nick, 'n', sizeof nick - 1);
    nick[sizeof nick - 1] = '\0';
    memset(why, 'w', sizeof why - 1);
    why[sizeof why - 1] = '\0';
    const char *bad_rooms[] = {NULL, "", "#", "room", "#Room", "#a b", room34};
    rct_clear(t);
    for (size_t i = 0; i < sizeof bad_rooms / sizeof bad_rooms[0]; i++) {
        const char *r = bad_rooms[i];
        assert_int_equal(c->load(x, 1, r, 0), GW_STORE_EINVAL);
        assert_int_equal(c->owner_set(x, 1, r, "a"), GW_STORE_EINVAL);
        assert_int_equal(c->topic_set(x, 1, r, "t", "b", 0), GW_STORE_EINVAL);
        assert_int_equal(c->settings_set(x, 1, r, 0, ""), GW_STORE_EINVAL);
        struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 1, 0);
        assert_int_equal(c->entry_set(x, 1, r, &e), GW_STORE_EINVAL);
        assert_int_equal(c->entry_clear(x, 1, r, GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 0),
                         GW_STORE_EINVAL);
        assert_int_equal(c->entries(x, 1, r, GW_RCL_BAN, 0), GW_STORE_EINVAL);
    }
    assert_int_equal(c->owner_set(x, 1, "#r", NULL), GW_STORE_EINVAL);
    assert_int_equal(c->owner_set(x, 1, "#r", nick), GW_STORE_EINVAL);
    assert_int_equal(c->owner_set(x, 1, "#r", "a b"), GW_STORE_EINVAL);
    assert_int_equal(c->topic_set(x, 1, "#r", topic, "b", 0), GW_STORE_EINVAL);
    assert_int_equal(c->topic_set(x, 1, "#r", NULL, "b", 0), GW_STORE_EINVAL);
    assert_int_equal(c->topic_set(x, 1, "#r", "t", nick, 0), GW_STORE_EINVAL);
    assert_int_equal(c->topic_set(x, 1, "#r", "t", NULL, 0), GW_STORE_EINVAL);
    assert_int_equal(c->settings_set(x, 1, "#r", GW_ROOMCFG_FLAGS_ALL + 1, ""), GW_STORE_EINVAL);
    assert_int_equal(c->settings_set(x, 1, "#r", 0x80000000u, ""), GW_STORE_EINVAL);
    assert_int_equal(c->settings_set(x, 1, "#r", 0, key), GW_STORE_EINVAL);
    assert_int_equal(c->settings_set(x, 1, "#r", 0, "two words"), GW_STORE_EINVAL);
    assert_int_equal(c->settings_set(x, 1, "#r", 0, "ñ"), GW_STORE_EINVAL);
    assert_int_equal(c->settings_set(x, 1, "#r", 0, NULL), GW_STORE_EINVAL);

    struct {
        const char *room;
        struct gw_roomcfg_entry e;
    } bad[] = {
        {"#r", rct_entry(GW_RCL_OP, GW_RCK_NICK, "g", 1, 0)},        /* ops: accounts only */
        {"#r", rct_entry(GW_RCL_OP, GW_RCK_ADDRESS, "192.0.2.1/32", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_NICK, "g", 1, 0)},       /* no ban by nick */
        {"#r", rct_entry(GW_RCL_MUTE, GW_RCK_NICK, "g", 1, 0)},
        {"#r", rct_entry(GW_RCL_INVITE, GW_RCK_ADDRESS, "192.0.2.1/32", 1, 0)},
        {"#r", rct_entry(GW_RCL_VOICE, GW_RCK_ADDRESS, "192.0.2.1/32", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, 0, "m", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, 4, "m", 1, 0)},
        {"#r", rct_entry(-1, GW_RCK_ACCOUNT, "m", 1, 0)},
        {"#r", rct_entry(GW_RCL_COUNT, GW_RCK_ACCOUNT, "m", 1, 0)},
        {"#r", rct_entry(GW_RCL_GBAN, GW_RCK_ACCOUNT, "m", 1, 0)},   /* GBAN in a room */
        {"", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 1, 0)},      /* a room list in "" */
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "192.0.2.7", 1, 0)},   /* not canonical */
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "192.0.2.7/24", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "::ffff:192.0.2.7/128", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "2001:DB8::/32", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ADDRESS, "nobody", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, NULL, 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, nick, 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "a b", 1, 0)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 5, 5)},    /* over when made */
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 5, 4)},
        {"#r", rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", -9, -1)},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(c->entry_set(x, 1, bad[i].room, &bad[i].e), GW_STORE_EINVAL);
        /* The same (room, list, kind, who) cleared: refused too (the last
         * three are bad by their expiry only). */
        if (bad[i].e.expires_ms == 0)
            assert_int_equal(c->entry_clear(x, 1, bad[i].room, bad[i].e.list, bad[i].e.kind,
                                            bad[i].e.who, 0),
                             GW_STORE_EINVAL);
    }
    struct gw_roomcfg_entry e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, "m", 1, 0);
    e.by = nick;
    assert_int_equal(c->entry_set(x, 1, "#r", &e), GW_STORE_EINVAL);
    e.by = NULL;
    assert_int_equal(c->entry_set(x, 1, "#r", &e), GW_STORE_EINVAL);
    e.by = "Op";
    e.why = why;
    assert_int_equal(c->entry_set(x, 1, "#r", &e), GW_STORE_EINVAL);
    e.why = NULL;
    assert_int_equal(c->entry_set(x, 1, "#r", &e), GW_STORE_EINVAL);
    assert_int_equal(c->entry_set(x, 1, "#r", NULL), GW_STORE_EINVAL);
    assert_int_equal(c->entries(x, 1, "#r", GW_RCL_COUNT, 0), GW_STORE_EINVAL);
    assert_int_equal(c->entries(x, 1, "#r", -1, 0), GW_STORE_EINVAL);
    assert_int_equal(c->entries(x, 1, "#r", GW_RCL_GBAN, 0), GW_STORE_EINVAL);
    assert_int_equal(c->entries(x, 1, "", GW_RCL_BAN, 0), GW_STORE_EINVAL);
    assert_int_equal(c->entry_clear(x, 1, "#r", GW_RCL_BAN, GW_RCK_ACCOUNT, NULL, 0),
                     GW_STORE_EINVAL);

    /* Nothing was answered and nothing kept. */
    t->pump(t, 50);
    assert_int_equal(t->n, 0);
    struct rct_got *g = rct_load(t, "#r", 0);
    assert_int_equal(g->n, 0);
    assert_string_equal(g->owner, "");
    assert_string_equal(g->topic, "");
    assert_int_equal(g->flags, 0);
    assert_int_equal(rct_list(t, "", GW_RCL_GBAN, 0), 0);

    /* Just inside each bound: taken. */
    why[GW_ROOMCFG_WHY_MAX_BYTES] = '\0';
    nick[GW_NICK_MAX_BYTES] = '\0';
    e = rct_entry(GW_RCL_BAN, GW_RCK_ACCOUNT, nick, 1, 2);
    e.why = why;
    e.by = nick;
    rct_set(t, "#r", &e, GW_STORE_DONE);
    rct_list(t, "#r", GW_RCL_BAN, 1);
    assert_string_equal(t->rows[0].why, why);
    assert_string_equal(t->rows[0].by, nick);
}

#endif /* ROOMCFGTEST_H */
