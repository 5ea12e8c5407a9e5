/*
 * test_hub_shared.c - the hub with an engine that orders its events
 * (GW_STORE_ORDERS, gw_store.h), as one several gateways share does: the
 * engine gives the ids, writing each into the event's JSON where the hub
 * says, and every event of a watched room comes back through
 * gw_hub_store_event, this gateway's own and the other gateways' alike.
 * Nobody gets an event before it comes back; a lost one gets its sender
 * 451; an event already had is dropped; typing goes out and comes back
 * the same way, kept nowhere.
 *
 * The engine is a small one of the test's own: it holds what the hub
 * hands it and the test plays its part (numbering, splicing the id,
 * reporting), and plays another gateway by reporting events this hub never
 * appended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_ident.h"
#include "hubtest.h"

#define MAXEV 32

struct shared {
    int mode;                    /* GW_STORE_PENDING or a failure to return */
    uint64_t top;                /* the last id given, over every room */
    size_t n;                    /* appends held */
    char key[MAXEV][40];
    uint64_t seq[MAXEV];         /* the hub's count, which done reports */
    char json[MAXEV][512];       /* with the id spliced in when published */
    char line[MAXEV][128];
    size_t id_at[MAXEV], id_len[MAXEV];
    char once[MAXEV][GW_STORE_ONCE_MAX_BYTES + 1]; /* "" for a plain append */
    /* watch, unwatch, publish */
    char watched[8][40];
    uint64_t watch_after[8];
    size_t nwatch;
    char unwatched[40];
    char typing[MAXEV][512];
    uint64_t typing_from[MAXEV];
    char typing_key[MAXEV][40];
    size_t ntyping;
    char list[2048];             /* the last presence list sent */
    uint64_t list_node;
    size_t nlists;
    /* identities: the last kept, the last looked up */
    char kept_digest[80], kept_nick[40], kept_json[512];
    uint64_t kept_top, kept_conn, kept_pm;
    size_t nkept, ntouched;
    char find_digest[80];
    uint64_t find_tag;
    size_t nfind;
};

static int sh_append(void *ctx, const char *key, const char *name,
                     const struct gw_store_event *ev)
{
    struct shared *s = ctx;
    (void)name;
    if (s->mode < 0)
        return s->mode;
    assert_true(s->n < MAXEV);
    assert_true(ev->json_len < sizeof s->json[0]);
    snprintf(s->key[s->n], sizeof s->key[0], "%s", key);
    s->seq[s->n] = ev->id;
    memcpy(s->json[s->n], ev->json, ev->json_len);
    s->json[s->n][ev->json_len] = '\0';
    snprintf(s->line[s->n], sizeof s->line[0], "%.*s", (int)ev->line_len, ev->line);
    s->id_at[s->n] = ev->id_at;
    s->id_len[s->n] = ev->id_len;
    s->once[s->n][0] = '\0';
    s->n++;
    return s->mode;
}

/* Held like an append, with its name; the engine reports nothing. */
static int sh_append_once(void *ctx, const char *key, const char *name,
                          const struct gw_store_event *ev, const char *once)
{
    struct shared *s = ctx;
    int rc = sh_append(ctx, key, name, ev);
    if (rc < 0)
        return rc;
    snprintf(s->once[s->n - 1], sizeof s->once[0], "%s", once);
    return 0;
}

static int sh_watch(void *ctx, const char *key, const char *name, uint64_t after)
{
    struct shared *s = ctx;
    (void)name;
    assert_true(s->nwatch < 8);
    snprintf(s->watched[s->nwatch], sizeof s->watched[0], "%s", key);
    s->watch_after[s->nwatch++] = after;
    return 0;
}

static void sh_unwatch(void *ctx, const char *key)
{
    struct shared *s = ctx;
    snprintf(s->unwatched, sizeof s->unwatched, "%s", key);
}

static int sh_publish(void *ctx, const char *key, uint64_t from, const char *json, size_t len)
{
    struct shared *s = ctx;
    assert_true(s->ntyping < MAXEV && len < sizeof s->typing[0]);
    memcpy(s->typing[s->ntyping], json, len);
    s->typing[s->ntyping][len] = '\0';
    s->typing_from[s->ntyping] = from;
    snprintf(s->typing_key[s->ntyping], sizeof s->typing_key[0], "%s", key);
    s->ntyping++;
    return 0;
}

static int sh_presence(void *ctx, uint64_t node, const char *json, size_t len)
{
    struct shared *s = ctx;
    assert_true(len < sizeof s->list);
    memcpy(s->list, json, len);
    s->list[len] = '\0';
    s->list_node = node;
    s->nlists++;
    return 0;
}

static int sh_ident_keep(void *ctx, const char *digest_hex, const char *nick,
                         uint64_t last_private, uint64_t conn, uint64_t pm_id, const char *json,
                         size_t len)
{
    struct shared *s = ctx;
    snprintf(s->kept_digest, sizeof s->kept_digest, "%s", digest_hex);
    snprintf(s->kept_nick, sizeof s->kept_nick, "%s", nick);
    snprintf(s->kept_json, sizeof s->kept_json, "%.*s", (int)len, json ? json : "");
    s->kept_top = last_private;
    s->kept_conn = conn;
    s->kept_pm = pm_id;
    s->nkept++;
    return 0;
}

static int sh_ident_touch(void *ctx, const char *digest_hex)
{
    struct shared *s = ctx;
    (void)digest_hex;
    s->ntouched++;
    return 0;
}

static int sh_ident_find(void *ctx, uint64_t tag, const char *digest_hex)
{
    struct shared *s = ctx;
    snprintf(s->find_digest, sizeof s->find_digest, "%s", digest_hex);
    s->find_tag = tag;
    s->nfind++;
    return 0;
}

static struct gw_store sh_store(struct shared *s)
{
    struct gw_store st = {
        .ctx = s, .kind = "shared", .flags = GW_STORE_ORDERS, .append = sh_append,
        .append_once = sh_append_once, .watch = sh_watch, .unwatch = sh_unwatch, .publish = sh_publish,
        .presence = sh_presence, .ident_keep = sh_ident_keep, .ident_touch = sh_ident_touch,
        .ident_find = sh_ident_find,
    };
    return st;
}

/* Report an event to h as the engine would: the id written where the hub
 * said. */
static void report(struct gw_hub *h, const char *key, uint64_t id, const char *json,
                   size_t id_at, size_t id_len, const char *line)
{
    char out[600];
    int n = snprintf(out, sizeof out, "%.*s%llu%s", (int)id_at, json, (unsigned long long)id,
                     json + id_at + id_len);
    assert_true(n > 0 && (size_t)n < sizeof out);
    struct gw_store_event ev = {
        .id = id, .json = out, .json_len = (size_t)n, .line = line, .line_len = strlen(line),
    };
    assert_int_equal(gw_hub_store_event(h, key, &ev), GW_OK);
}

/* The engine takes everything held, numbers it after top, and reports it
 * back and done, in order. */
static void publish_all(struct gw_hub *h, struct shared *s)
{
    for (size_t i = 0; i < s->n; i++) {
        report(h, s->key[i], ++s->top, s->json[i], s->id_at[i], s->id_len[i], s->line[i]);
        assert_int_equal(gw_hub_store_done(h, s->key[i], s->seq[i], GW_STORE_DONE), GW_OK);
    }
    s->n = 0;
}

static void typing_back(struct gw_hub *h, struct shared *s)
{
    for (size_t i = 0; i < s->ntyping; i++)
        assert_int_equal(gw_hub_store_typing(h, s->typing_key[i], s->typing_from[i],
                                             s->typing[i], strlen(s->typing[i])),
                         GW_OK);
    s->ntyping = 0;
}

/* What /who answers the browser pid at now (the caller frees it). */
static char *who_of(struct gw_hub *h, uint64_t pid, int64_t now)
{
    const char *who = "{\"type\":\"say\",\"text\":\"/who\"}";
    assert_int_equal(gw_hub_web_input(h, pid, now, who, strlen(who)), GW_OK);
    return ht_drain(h, pid);
}

static const char *hello_v1 = "{\"type\":\"hello\",\"nick\":\"alice\"}";

/* alice (a browser) and bob (TCP) on a hub sharing s; their joins
 * published, everything drained. */
static struct gw_hub *two(const struct gw_store *st, struct shared *s, uint64_t *alice,
                          uint64_t *bob)
{
    struct gw_hub_config cfg = {.store = st};
    struct gw_hub *h = ht_hub(cfg);
    *alice = ht_web(h, T0, hello_v1);
    *bob = ht_tcp(h, T0);
    publish_all(h, s);
    free(ht_drain(h, *alice));
    free(ht_drain(h, *bob));
    return h;
}

static void the_engine_gives_the_ids_and_nobody_gets_an_event_before(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING, .top = 40};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);
    /* The lobby was watched from the start, from its beginning. */
    assert_int_equal(s.nwatch, 1);
    assert_string_equal(s.watched[0], "#lobby");
    assert_int_equal(s.watch_after[0], 0);

    const char *say = "{\"type\":\"say\",\"text\":\"hello there\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    assert_int_equal(s.n, 1);
    /* The JSON carries 0 where the engine writes its id. */
    assert_int_equal(s.id_len[0], 1);
    assert_int_equal(s.json[0][s.id_at[0]], '0');
    assert_int_equal(strncmp(s.json[0] + s.id_at[0] - 5, "\"id\":", 5), 0);
    assert_string_equal(s.line[0], "alice: hello there\r\n");
    assert_int_equal(gw_hub_store_pending(h), 1);
    ht_expect(h, alice, "");
    ht_expect(h, bob, "");

    /* It comes back with the engine's id: to both, the sender too. */
    publish_all(h, &s);
    char want[32];
    snprintf(want, sizeof want, "\"id\":%llu,", (unsigned long long)s.top);
    assert_true(s.top > 41);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, want));
    assert_non_null(strstr(a, "hello there"));
    free(a);
    ht_expect(h, bob, "A20:alice: hello there\r\n|");
    assert_int_equal(gw_hub_store_pending(h), 0);
    assert_int_equal(gw_hub_room_last_id(h, "#lobby"), s.top);
    gw_hub_free(h);
}

static void another_gateways_events_reach_everyone_here_once(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);
    uint64_t last = gw_hub_room_last_id(h, "#lobby");

    /* carol typed on another gateway: her line comes in with its id. */
    const char *j = "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":0,\"time\":1,\"pid\":"
                    "9000000001,\"nick\":\"carol\",\"via\":\"web\",\"text\":\"from afar\","
                    "\"me\":false}";
    size_t at = (size_t)(strstr(j, "\"id\":0") - j) + 5;
    report(h, "#lobby", last + 1, j, at, 1, "carol: from afar\r\n");
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "from afar"));
    free(a);
    ht_expect(h, bob, "A18:carol: from afar\r\n|");

    /* The same again (a recovery overlapping the live copy): dropped. */
    report(h, "#lobby", last + 1, j, at, 1, "carol: from afar\r\n");
    ht_expect(h, alice, "");
    ht_expect(h, bob, "");

    /* Ids the engine could not recover are a gap: the next one still
     * goes out, and a browser coming back past the gap is told of it. */
    report(h, "#lobby", last + 5, j, at, 1, "carol: from afar\r\n");
    a = ht_drain(h, alice);
    char want[32];
    snprintf(want, sizeof want, "\"id\":%llu,", (unsigned long long)(last + 5));
    assert_non_null(strstr(a, want));
    free(a);
    assert_int_equal(gw_hub_room_last_id(h, "#lobby"), last + 5);

    /* A room this hub does not have. */
    struct gw_store_event ev = {.id = 1, .json = "{}", .json_len = 2, .line = "", .line_len = 0};
    assert_int_equal(gw_hub_store_event(h, "#elsewhere", &ev), GW_ENOENT);
    gw_hub_free(h);
}

static void a_message_the_engine_does_not_take_gets_451(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);

    /* Taken, then reported lost (the engine's connection went away). */
    const char *say = "{\"type\":\"say\",\"text\":\"lost one\",\"ref\":17}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, say, strlen(say)), GW_OK);
    assert_int_equal(gw_hub_store_done(h, "#lobby", s.seq[0], GW_STORE_EIO), GW_OK);
    s.n = 0;
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":451"));
    assert_non_null(strstr(a, "\"ref\":17"));
    assert_null(strstr(a, "lost one\""));
    free(a);
    ht_expect(h, bob, "");

    /* Refused at once (the engine is down): the same, at once. */
    s.mode = GW_STORE_EIO;
    ht_in(h, bob, T0 + 2, "A5:gone\n");
    char *b = ht_drain(h, bob);
    assert_non_null(strstr(b, "* error 451: message not kept"));
    free(b);
    ht_expect(h, alice, "");
    assert_int_equal(gw_hub_store_pending(h), 0);
    assert_int_equal(gw_hub_metrics(h)->events_lost, 2);
    gw_hub_free(h);
}

static void typing_goes_through_the_engine_to_everyone_but_the_typist(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = two(&st, &s, &alice, &bob);
    const char *hello_dan = "{\"type\":\"hello\",\"nick\":\"dan\"}";
    uint64_t dan = ht_web(h, T0, hello_dan);
    publish_all(h, &s);
    free(ht_drain(h, alice));
    free(ht_drain(h, bob));
    free(ht_drain(h, dan));

    /* alice types: published, not sent here until it comes back. */
    const char *typing = "{\"type\":\"typing\",\"text\":\"hel\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 1, typing, strlen(typing)), GW_OK);
    assert_int_equal(s.ntyping, 1);
    assert_string_equal(s.typing_key[0], "#lobby");
    assert_int_equal(s.typing_from[0], alice);
    assert_non_null(strstr(s.typing[0], "\"text\":\"hel\""));
    ht_expect(h, dan, "");
    typing_back(h, &s);
    char *d = ht_drain(h, dan);
    assert_non_null(strstr(d, "\"type\":\"typing\""));
    free(d);
    ht_expect(h, alice, ""); /* not to herself */
    ht_expect(h, bob, "");   /* TCP members see lines, not typing */
    gw_hub_free(h);
}

static void rooms_are_watched_when_opened_and_let_go_when_dropped(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub_config cfg = {.store = &st, .max_rooms = 3};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t bob = ht_tcp(h, T0);
    publish_all(h, &s);
    ht_in(h, bob, T0 + 1, "A12:/join #dev\r\n");
    /* The engine has all of it: the /join goes on (it waited till then). */
    assert_int_equal(gw_hub_store_ready(h, "#dev", T0 + 1), GW_OK);
    assert_int_equal(s.nwatch, 2);
    assert_string_equal(s.watched[1], "#dev");
    assert_int_equal(s.watch_after[1], 0);
    publish_all(h, &s);
    ht_in(h, bob, T0 + 2, "A12:/join #ops\r\n");
    assert_int_equal(gw_hub_store_ready(h, "#ops", T0 + 2), GW_OK);
    publish_all(h, &s);
    assert_string_equal(s.unwatched, "");
    /* At the bound of three rooms, the empty #dev is dropped for #qa, and
     * the engine told. */
    ht_in(h, bob, T0 + 3, "A11:/join #qa\r\n");
    assert_string_equal(s.unwatched, "#dev");
    assert_string_equal(s.watched[s.nwatch - 1], "#qa");
    gw_hub_free(h);
}

static int fixed_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 7, len);
    return 0;
}

static void ids_of_participants_start_after_the_gateways_base(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub_config cfg = {.store = &st, .pid_base = UINT64_C(5) << 32};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t alice = ht_web(h, T0, hello_v1);
    assert_int_equal(alice, (UINT64_C(5) << 32) + 1);
    publish_all(h, &s);
    char *a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"pid\":21474836481,"));
    free(a);
    gw_hub_free(h);
}

static void a_new_epoch_empties_the_rings_and_sends_browsers_back_to_resume(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub_config cfg = {.store = &st, .epoch = 0x1111, .random = fixed_random};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t v2;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, T0, &v2), GW_OK);
    const char *hello = "{\"type\":\"hello\",\"nick\":\"vera\"}";
    assert_int_equal(gw_hub_web_input(h, v2, T0, hello, strlen(hello)), GW_OK);
    uint64_t v1 = ht_web(h, T0, hello_v1);
    uint64_t bob = ht_tcp(h, T0);
    publish_all(h, &s);
    assert_true(gw_hub_room_last_id(h, "#lobby") > 0);
    char *w = ht_drain(h, v2);
    assert_non_null(strstr(w, "\"epoch\":\"0000000000001111\""));
    free(w);

    assert_int_equal(gw_hub_set_epoch(h, 0x1111), 0); /* the same: nothing */
    assert_int_equal(gw_hub_set_epoch(h, 0x2222), 1);
    assert_int_equal(gw_hub_room_last_id(h, "#lobby"), 0);
    int code;
    const char *reason;
    assert_int_equal(gw_hub_closing(h, v2, &code, &reason), 1);
    assert_int_equal(code, GW_CLOSE_RESTART);
    assert_int_equal(gw_hub_closing(h, v1, &code, &reason), 0);
    assert_int_equal(gw_hub_closing(h, bob, &code, &reason), 0);

    /* A browser that comes back with the old epoch is told reset, and
     * ids start again at 1. */
    uint64_t back;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, T0 + 1, &back), GW_OK);
    const char *resume = "{\"type\":\"hello\",\"nick\":\"vera2\",\"epoch\":"
                         "\"0000000000001111\",\"last\":{\"#lobby\":3}}";
    assert_int_equal(gw_hub_web_input(h, back, T0 + 1, resume, strlen(resume)), GW_OK);
    publish_all(h, &s);
    char *b = ht_drain(h, back);
    assert_non_null(strstr(b, "\"reset\":true"));
    assert_non_null(strstr(b, "\"epoch\":\"0000000000002222\""));
    free(b);
    gw_hub_free(h);
}

#define NODE_A UINT64_C(3)
#define NODE_B UINT64_C(9)
#define PID_B1 ((NODE_B << 32) + 1)

/* A hub that is node 3, with bob (TCP) and alice (browser). */
static struct gw_hub *node_a(const struct gw_store *st, struct shared *s, uint64_t *alice,
                             uint64_t *bob)
{
    struct gw_hub_config cfg = {.store = st, .pid_base = NODE_A << 32};
    struct gw_hub *h = ht_hub(cfg);
    *bob = ht_tcp(h, T0);
    *alice = ht_web(h, T0, hello_v1);
    publish_all(h, s);
    free(ht_drain(h, *alice));
    free(ht_drain(h, *bob));
    return h;
}

static void who_is_on_the_other_gateways_counts_everywhere(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = node_a(&st, &s, &alice, &bob);

    /* Node 9's list: carol in #lobby and #dev, dan in #dev. */
    char list[256];
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"Carol\",\"via\":\"web\",\"rooms\":"
             "\"#lobby #dev\"},{\"pid\":%llu,\"nick\":\"dan\",\"via\":\"tcp\",\"rooms\":"
             "\"#dev\"}]}",
             (unsigned long long)PID_B1, (unsigned long long)(PID_B1 + 1));
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 1), GW_OK);
    /* Its own list, or not a list: not taken. */
    assert_int_equal(gw_hub_presence_apply(h, NODE_A, list, strlen(list), T0 + 1), GW_EINVAL);
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, "[]", 2, T0 + 1), GW_EINVAL);

    /* /who in #lobby: three, carol among them. */
    char *a = who_of(h, alice, T0 + 2);
    assert_non_null(strstr(a, "3 here:"));
    assert_non_null(strstr(a, "Carol (web)"));
    assert_null(strstr(a, "dan"));
    free(a);
    /* A newcomer's welcome lists her. */
    uint64_t eve = ht_web(h, T0 + 3, "{\"type\":\"hello\",\"nick\":\"eve\"}");
    char *e = ht_drain(h, eve);
    assert_non_null(strstr(e, "\"nick\":\"Carol\""));
    assert_non_null(strstr(e, "\"participants_count\":4"));
    free(e);
    /* Her nick is taken here too, whatever its case. */
    const char *nick = "{\"type\":\"say\",\"text\":\"/nick carol\"}";
    assert_int_equal(gw_hub_web_input(h, alice, T0 + 4, nick, strlen(nick)), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "is taken"));
    free(a);

    /* carol's leave of #lobby comes back from the engine: she is gone
     * from the lobby's list. */
    char leave[256];
    snprintf(leave, sizeof leave,
             "{\"type\":\"leave\",\"room\":\"#lobby\",\"id\":0,\"time\":1,\"pid\":%llu,"
             "\"nick\":\"Carol\",\"via\":\"web\",\"reason\":\"part\"}",
             (unsigned long long)PID_B1);
    size_t at = (size_t)(strstr(leave, "\"id\":0") - leave) + 5;
    report(h, "#lobby", ++s.top, leave, at, 1, "* Carol left\r\n");
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"type\":\"leave\""));
    free(a);
    a = who_of(h, alice, T0 + 5);
    assert_non_null(strstr(a, "3 here:")); /* alice, bob, eve */
    assert_null(strstr(a, "Carol"));
    free(a);
    gw_hub_free(h);
}

static void a_gateway_sends_its_list_and_posts_the_leaves_of_one_gone(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = node_a(&st, &s, &alice, &bob);

    /* Its own list, on the beat: bob and alice, in the lobby. */
    gw_hub_tick(h, T0 + GW_PRESENCE_BEAT_MS);
    assert_int_equal(s.nlists, 1);
    assert_int_equal(s.list_node, NODE_A);
    assert_non_null(strstr(s.list, "\"nick\":\"alice\",\"nick_at\":1795555200000,\"via\":\"web\","
                                   "\"rooms\":\"#lobby\""));
    assert_non_null(strstr(s.list, "\"via\":\"tcp\""));
    gw_hub_tick(h, T0 + GW_PRESENCE_BEAT_MS + 10);
    assert_int_equal(s.nlists, 1); /* not before the next beat */

    char list[160];
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"carol\",\"via\":\"web\",\"rooms\":"
             "\"#lobby\"}]}",
             (unsigned long long)PID_B1);
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 6000), GW_OK);
    s.n = 0;
    /* Node 9 stops answering: within the bound, carol leaves, and node 3
     * posts it, reason "gone", named for her and the room (the engine
     * keeps one of every gateway's). */
    gw_hub_tick(h, T0 + 6000 + GW_PRESENCE_TTL_MS - 1);
    assert_int_equal(s.n, 0);
    gw_hub_tick(h, T0 + 6000 + GW_PRESENCE_TTL_MS);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.json[0], "\"type\":\"leave\""));
    assert_non_null(strstr(s.json[0], "\"nick\":\"carol\""));
    assert_non_null(strstr(s.json[0], "\"reason\":\"gone\""));
    assert_string_equal(s.line[0], "* carol left\r\n");
    char once[64];
    snprintf(once, sizeof once, "left:%llu:#lobby", (unsigned long long)PID_B1);
    assert_string_equal(s.once[0], once);
    /* The JSON carries 0 where the engine writes its id, as any append. */
    assert_int_equal(s.json[0][s.id_at[0]], '0');
    assert_int_equal(strncmp(s.json[0] + s.id_at[0] - 5, "\"id\":", 5), 0);
    char *a = who_of(h, alice, T0 + 30000);
    assert_non_null(strstr(a, "2 here:"));
    free(a);
    gw_hub_free(h);
}

static void every_gateway_left_posts_a_gone_leave_under_one_name(void **state)
{
    (void)state;
    char list[160];
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"carol\",\"via\":\"web\",\"rooms\":"
             "\"#lobby\"}]}",
             (unsigned long long)PID_B1);
    const char *none = "{\"parts\":[]}";
    /* Node 3 (this one) and node 1, both still heard of, both drop carol
     * of node 9: each posts her leave, under the same name, whichever is
     * lower (the engine keeps one: a gateway that stalled or missed a beat
     * is not trusted to leave it to another). */
    char names[2][GW_STORE_ONCE_MAX_BYTES + 1];
    for (int k = 0; k < 2; k++) {
        struct shared s = {.mode = GW_STORE_PENDING};
        struct gw_store st = sh_store(&s);
        struct gw_hub_config cfg = {.store = &st, .pid_base = (k ? UINT64_C(1) : NODE_A) << 32};
        struct gw_hub *h = ht_hub(cfg);
        uint64_t alice = ht_web(h, T0, hello_v1);
        publish_all(h, &s);
        free(ht_drain(h, alice));
        uint64_t other = k ? NODE_A : UINT64_C(1);
        assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 1000), GW_OK);
        assert_int_equal(gw_hub_presence_apply(h, other, none, strlen(none), T0 + 15000), GW_OK);
        gw_hub_tick(h, T0 + 1000 + GW_PRESENCE_TTL_MS);
        assert_int_equal(s.n, 1);
        assert_non_null(strstr(s.json[0], "\"reason\":\"gone\""));
        snprintf(names[k], sizeof names[k], "%s", s.once[0]);
        char *a = who_of(h, alice, T0 + 16500);
        assert_non_null(strstr(a, "1 here:"));
        assert_null(strstr(a, "carol"));
        free(a);
        /* Another gateway's copy of the leave comes back first: nothing
         * more (her node is not heard of again through it either). */
        char leave[256];
        snprintf(leave, sizeof leave,
                 "{\"type\":\"leave\",\"room\":\"#lobby\",\"id\":0,\"time\":1,"
                 "\"pid\":%llu,\"nick\":\"carol\",\"via\":\"web\",\"reason\":\"gone\"}",
                 (unsigned long long)PID_B1);
        size_t at = (size_t)(strstr(leave, "\"id\":0") - leave) + 5;
        s.n = 0;
        report(h, "#lobby", ++s.top, leave, at, 1, "* carol left\r\n");
        gw_hub_tick(h, T0 + 2000 + 2 * GW_PRESENCE_TTL_MS);
        assert_int_equal(s.n, 0);
        gw_hub_free(h);
    }
    assert_string_equal(names[0], names[1]);
}

static void a_list_read_back_is_news_of_its_gateway_as_old_as_it_is(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = node_a(&st, &s, &alice, &bob);
    char list[160];
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"carol\",\"via\":\"web\",\"rooms\":"
             "\"#lobby\"}]}",
             (unsigned long long)PID_B1);
    /* Read back at T0 + 16000, sent 10 s before: node 9 is gone 15 s
     * after it sent it, not after it was read. */
    assert_int_equal(gw_hub_presence_kept(h, NODE_B, list, strlen(list), T0 + 16000, 10000),
                     GW_OK);
    char *a = who_of(h, alice, T0 + 16001);
    assert_non_null(strstr(a, "carol (web)"));
    free(a);
    s.n = 0;
    gw_hub_tick(h, T0 + 6000 + GW_PRESENCE_TTL_MS - 1);
    assert_int_equal(s.n, 0);
    gw_hub_tick(h, T0 + 6000 + GW_PRESENCE_TTL_MS);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.json[0], "\"reason\":\"gone\""));
    /* Fresher news is not undone by an older list read back. */
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 30000), GW_OK);
    assert_int_equal(gw_hub_presence_kept(h, NODE_B, list, strlen(list), T0 + 31000, 12000),
                     GW_OK);
    s.n = 0;
    gw_hub_tick(h, T0 + 30000 + GW_PRESENCE_TTL_MS - 1);
    assert_int_equal(s.n, 0);
    gw_hub_tick(h, T0 + 30000 + GW_PRESENCE_TTL_MS);
    assert_int_equal(s.n, 1);
    gw_hub_free(h);
}

static void a_gateway_heard_of_by_its_events_only_is_gone_after_the_bound(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub_config cfg = {.store = &st, .pid_base = NODE_A << 32};
    struct gw_hub *h = ht_hub(cfg);
    uint64_t alice = ht_web(h, T0, hello_v1);
    publish_all(h, &s);
    /* Before any tick, carol of node 9 joins: her gateway never sent a
     * list (it dies before its first). */
    char join[256];
    snprintf(join, sizeof join,
             "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":0,\"time\":1,\"pid\":%llu,"
             "\"nick\":\"carol\",\"via\":\"tcp\"}",
             (unsigned long long)PID_B1);
    size_t at = (size_t)(strstr(join, "\"id\":0") - join) + 5;
    report(h, "#lobby", ++s.top, join, at, 1, "* carol joined (tcp)\r\n");
    free(ht_drain(h, alice));
    /* Not gone at once... */
    gw_hub_tick(h, T0 + 1000);
    gw_hub_tick(h, T0 + 1000 + GW_PRESENCE_TTL_MS - 1);
    s.n = 0;
    char *a = who_of(h, alice, T0 + 2000);
    assert_non_null(strstr(a, "carol (tcp)"));
    free(a);
    /* ...but within the bound of the first tick that heard of her. */
    gw_hub_tick(h, T0 + 1000 + GW_PRESENCE_TTL_MS);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.json[0], "\"reason\":\"gone\""));
    gw_hub_free(h);
}

/* A nick of node 9's (in a list of node 9's, when it took it) against
 * the same nick here: the later one becomes a guest on its own gateway. */
static void list_with(char *out, size_t cap, const char *nick, int64_t at)
{
    snprintf(out, cap,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"%s\",\"nick_at\":%lld,\"via\":\"web\","
             "\"rooms\":\"#lobby\"}]}",
             (unsigned long long)PID_B1, nick, (long long)at);
}

static void a_nick_two_gateways_gave_at_once_stays_with_who_took_it_first(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = node_a(&st, &s, &alice, &bob); /* both named at T0 */
    char list[256];

    /* Node 9's ALICE took it later: alice here keeps it, nothing said. */
    list_with(list, sizeof list, "ALICE", T0 + 1);
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 2), GW_OK);
    assert_int_equal(s.n, 0);
    char *a = ht_drain(h, alice);
    assert_null(strstr(a, "553"));
    free(a);
    /* At the same millisecond the lower pid keeps it: ours (node 3). */
    list_with(list, sizeof list, "ALICE", T0);
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 2), GW_OK);
    assert_int_equal(s.n, 0);
    /* Node 9's Alice took it first: ours gives way, told why, and the
     * change is an event of the room. */
    list_with(list, sizeof list, "Alice", T0 - 1);
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0 + 3), GW_OK);
    a = ht_drain(h, alice);
    assert_non_null(strstr(a, "\"code\":553"));
    assert_non_null(strstr(a, "nick \\\"alice\\\" was taken on another gateway first; you are guest-2"));
    free(a);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.json[0], "\"type\":\"nick\""));
    assert_non_null(strstr(s.json[0], "\"nick\":\"guest-2\""));
    assert_non_null(strstr(s.json[0], "\"old\":\"alice\""));
    assert_string_equal(s.line[0], "* alice is now guest-2\r\n");
    publish_all(h, &s);
    /* /who: Alice once (node 9's), and the guest. */
    a = who_of(h, alice, T0 + 4);
    assert_non_null(strstr(a, "3 here:"));
    assert_non_null(strstr(a, "Alice (web)"));
    assert_null(strstr(a, "alice (web)"));
    free(a);
    gw_hub_free(h);
}

static void a_nick_known_by_a_join_is_settled_too_and_never_both_give_way(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    uint64_t alice, bob;
    struct gw_hub *h = node_a(&st, &s, &alice, &bob);
    /* bob, a TCP peer, takes "carol" at T0 + 10. */
    ht_in(h, bob, T0 + 10, "A13:/nick carol\r\n");
    publish_all(h, &s);
    free(ht_drain(h, bob));
    free(ht_drain(h, alice));
    char join[256];
    /* Node 9's carol joins at T0 + 20: when she took the nick is at most
     * then, which is after bob: he keeps it (her gateway decides the
     * same from bob's list, which says T0 + 10). */
    snprintf(join, sizeof join,
             "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":0,\"time\":%lld,\"pid\":%llu,"
             "\"nick\":\"carol\",\"via\":\"web\"}",
             (long long)(T0 + 20), (unsigned long long)PID_B1);
    size_t at = (size_t)(strstr(join, "\"id\":0") - join) + 5;
    report(h, "#lobby", ++s.top, join, at, 1, "* carol joined (web)\r\n");
    assert_int_equal(s.n, 0);
    free(ht_drain(h, alice));
    char *b = ht_drain(h, bob);
    assert_null(strstr(b, "553"));
    free(b);
    /* Another participant of node 9's joins as "Carol", which its
     * gateway gave at T0 + 5 or before, before bob's T0 + 10: he gives way, his
     * pane says why, and he is a guest, the change an event of his room.
     * (Two carols on node 9 cannot be: only this test plays it.) */
    snprintf(join, sizeof join,
             "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":0,\"time\":%lld,\"pid\":%llu,"
             "\"nick\":\"Carol\",\"via\":\"tcp\"}",
             (long long)(T0 + 5), (unsigned long long)(PID_B1 + 1));
    at = (size_t)(strstr(join, "\"id\":0") - join) + 5;
    report(h, "#lobby", ++s.top, join, at, 1, "* Carol joined (tcp)\r\n");
    b = ht_drain(h, bob);
    assert_non_null(strstr(b, "* error 553: nick \"carol\" was taken on another gateway first"));
    free(b);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.line[0], "* carol is now guest-"));
    gw_hub_free(h);
}

/* A hub that is node 3 and makes tokens (fixed_random's). */
static struct gw_hub *node_a_tokens(const struct gw_store *st)
{
    struct gw_hub_config cfg = {.store = st, .random = fixed_random, .pid_base = NODE_A << 32};
    return ht_hub(cfg);
}

/* The digest, in hex, of the token fixed_random gives (16 bytes of 7). */
static void fixed_digest(char out[GW_DIGEST_HEX_LEN + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    const char *token = "07070707070707070707070707070707";
    SHA256((const unsigned char *)token, strlen(token), d);
    gw_digest_hex(d, out);
}

static void identities_are_kept_for_every_gateway_and_touched_while_here(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub *h = node_a_tokens(&st);
    uint64_t vera, bob = ht_tcp(h, T0);
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, T0, &vera), GW_OK);
    const char *hello = "{\"type\":\"hello\",\"nick\":\"vera\"}";
    assert_int_equal(gw_hub_web_input(h, vera, T0, hello, strlen(hello)), GW_OK);
    publish_all(h, &s);
    /* At the hello: its nick and its connection, by its token's digest. */
    char digest[GW_DIGEST_HEX_LEN + 1];
    fixed_digest(digest);
    assert_int_equal(s.nkept, 1);
    assert_string_equal(s.kept_digest, digest);
    assert_string_equal(s.kept_nick, "vera");
    assert_int_equal(s.kept_conn, vera);
    assert_int_equal(s.kept_pm, 0);
    /* Each private message it gets or sends, with its id. */
    ht_in(h, bob, T0 + 1, "A14:/msg vera hi\r\n");
    assert_int_equal(s.nkept, 2);
    assert_int_equal(s.kept_pm, 1);
    assert_int_equal(s.kept_top, 1);
    assert_non_null(strstr(s.kept_json, "\"private\":true,\"id\":1,"));
    assert_non_null(strstr(s.kept_json, "\"text\":\"hi\""));
    /* A new nick. */
    const char *nick = "{\"type\":\"nick\",\"nick\":\"vee\"}";
    assert_int_equal(gw_hub_web_input(h, vera, T0 + 2, nick, strlen(nick)), GW_OK);
    assert_int_equal(s.nkept, 3);
    assert_string_equal(s.kept_nick, "vee");
    /* Touched on the beat while connected, every GW_IDENT_TOUCH_MS. */
    gw_hub_tick(h, T0 + 3);
    assert_int_equal(s.ntouched, 1);
    gw_hub_tick(h, T0 + 3 + GW_IDENT_TOUCH_MS - 1);
    assert_int_equal(s.ntouched, 1);
    gw_hub_tick(h, T0 + 3 + GW_IDENT_TOUCH_MS);
    assert_int_equal(s.ntouched, 2);
    gw_hub_free(h);
}

static void a_token_another_gateway_gave_is_looked_up_before_the_welcome(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub *h = node_a_tokens(&st);
    /* vera was on node 9 (pid PID_B1): her gateway's list still names
     * her there. */
    char list[256];
    snprintf(list, sizeof list,
             "{\"parts\":[{\"pid\":%llu,\"nick\":\"vera\",\"nick_at\":1,\"via\":\"web\","
             "\"rooms\":\"#lobby\"}]}",
             (unsigned long long)PID_B1);
    assert_int_equal(gw_hub_presence_apply(h, NODE_B, list, strlen(list), T0), GW_OK);
    const char *token = "abcdefabcdefabcdefabcdefabcdef01";
    char hello[256];
    snprintf(hello, sizeof hello,
             "{\"type\":\"hello\",\"token\":\"%s\",\"private_id\":6}", token);
    uint64_t back;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, T0 + 1, &back), GW_OK);
    assert_int_equal(gw_hub_web_input(h, back, T0 + 1, hello, strlen(hello)), GW_OK);
    /* Held: asked of the engine by the digest, nothing sent yet; a
     * second hello meanwhile is refused. */
    unsigned char d[SHA256_DIGEST_LENGTH];
    char digest[GW_DIGEST_HEX_LEN + 1];
    SHA256((const unsigned char *)token, strlen(token), d);
    gw_digest_hex(d, digest);
    assert_int_equal(s.nfind, 1);
    assert_int_equal(s.find_tag, back);
    assert_string_equal(s.find_digest, digest);
    char *b = ht_drain(h, back);
    assert_string_equal(b, "");
    free(b);
    /* A second hello meanwhile waits behind the first: answered after it. */
    assert_int_equal(gw_hub_web_input(h, back, T0 + 1, hello, strlen(hello)), GW_OK);
    b = ht_drain(h, back);
    assert_string_equal(b, "");
    free(b);
    /* The engine has it: her nick (which her browser on node 9 still
     * holds: the same identity), ids up to 7, messages 6 and 7. */
    uint64_t ids[] = {6, 7};
    const char *json[] = {"{\"type\":\"message\",\"private\":true,\"id\":6,\"text\":\"six\"}",
                          "{\"type\":\"message\",\"private\":true,\"id\":7,\"text\":\"seven\"}"};
    size_t lens[] = {strlen(json[0]), strlen(json[1])};
    struct gw_store_ident rec = {.nick = "vera", .last_private = 7, .conn = PID_B1, .n = 2,
                                 .ids = ids, .json = json, .json_len = lens};
    assert_int_equal(gw_hub_store_ident(h, back, 0, &rec, T0 + 2), GW_OK);
    b = ht_drain(h, back);
    assert_non_null(strstr(b, "\"type\":\"welcome\""));
    assert_non_null(strstr(b, token));
    assert_non_null(strstr(b, "\"you\":{\"pid\":"));
    assert_non_null(strstr(b, "\"nick\":\"vera\",\"ident\":\""));
    assert_null(strstr(b, "\"text\":\"six\""));
    assert_non_null(strstr(b, "\"private\":[{\"type\":\"message\",\"private\":true,\"id\":7,"));
    assert_non_null(strstr(b, "\"private_id\":7"));
    assert_null(strstr(b, "553"));
    assert_non_null(strstr(strstr(b, "\"type\":\"welcome\""), "hello was already sent"));
    free(b);
    assert_int_equal(s.nfind, 1);
    /* Answered twice, or for someone gone: nothing. */
    assert_int_equal(gw_hub_store_ident(h, back, 0, &rec, T0 + 2), GW_ENOENT);
    assert_int_equal(gw_hub_store_ident(h, 424242, 0, NULL, T0 + 2), GW_ENOENT);

    /* Unknown to the engine too: a new identity, a token of its own. */
    uint64_t other;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, T0 + 3, &other), GW_OK);
    snprintf(hello, sizeof hello,
             "{\"type\":\"hello\",\"nick\":\"olga\",\"token\":\"%s\"}",
             "00000000000000000000000000000000");
    assert_int_equal(gw_hub_web_input(h, other, T0 + 3, hello, strlen(hello)), GW_OK);
    assert_int_equal(s.nfind, 2);
    assert_int_equal(gw_hub_store_ident(h, other, 0, NULL, T0 + 4), GW_OK);
    b = ht_drain(h, other);
    assert_non_null(strstr(b, "\"token\":\"07070707070707070707070707070707\""));
    assert_non_null(strstr(b, "\"private\":[]"));
    free(b);
    /* One that leaves before the answer: nothing held, nothing sent. */
    uint64_t gone;
    assert_int_equal(gw_hub_connect_web(h, GW_PROTO_V2, NULL, T0 + 5, &gone), GW_OK);
    assert_int_equal(gw_hub_web_input(h, gone, T0 + 5, hello, strlen(hello)), GW_OK);
    assert_int_equal(gw_hub_disconnect(h, gone, T0 + 5, GW_LEAVE_CLOSED), GW_OK);
    assert_int_equal(gw_hub_store_ident(h, gone, 0, NULL, T0 + 6), GW_ENOENT);
    gw_hub_free(h);
}

static void guests_of_gateways_that_share_are_numbered_at_random(void **state)
{
    (void)state;
    struct shared s = {.mode = GW_STORE_PENDING};
    struct gw_store st = sh_store(&s);
    struct gw_hub *h = node_a_tokens(&st);
    /* fixed_random's 0x07070707: 100000 + 117901063 % 900000. */
    uint64_t one = ht_tcp(h, T0);
    assert_string_equal(gw_hub_nick(h, one), "guest-101063");
    /* The draws keep finding that name taken: then counted. */
    uint64_t two = ht_tcp(h, T0);
    assert_string_equal(gw_hub_nick(h, two), "guest-1");
    gw_hub_free(h);
    /* One gateway alone counts, as always. */
    struct gw_hub_config alone = {.random = fixed_random};
    h = ht_hub(alone);
    assert_string_equal(gw_hub_nick(h, ht_tcp(h, T0)), "guest-1");
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_engine_gives_the_ids_and_nobody_gets_an_event_before),
        cmocka_unit_test(another_gateways_events_reach_everyone_here_once),
        cmocka_unit_test(a_message_the_engine_does_not_take_gets_451),
        cmocka_unit_test(typing_goes_through_the_engine_to_everyone_but_the_typist),
        cmocka_unit_test(rooms_are_watched_when_opened_and_let_go_when_dropped),
        cmocka_unit_test(ids_of_participants_start_after_the_gateways_base),
        cmocka_unit_test(a_new_epoch_empties_the_rings_and_sends_browsers_back_to_resume),
        cmocka_unit_test(who_is_on_the_other_gateways_counts_everywhere),
        cmocka_unit_test(a_gateway_sends_its_list_and_posts_the_leaves_of_one_gone),
        cmocka_unit_test(every_gateway_left_posts_a_gone_leave_under_one_name),
        cmocka_unit_test(a_list_read_back_is_news_of_its_gateway_as_old_as_it_is),
        cmocka_unit_test(a_gateway_heard_of_by_its_events_only_is_gone_after_the_bound),
        cmocka_unit_test(a_nick_two_gateways_gave_at_once_stays_with_who_took_it_first),
        cmocka_unit_test(a_nick_known_by_a_join_is_settled_too_and_never_both_give_way),
        cmocka_unit_test(identities_are_kept_for_every_gateway_and_touched_while_here),
        cmocka_unit_test(a_token_another_gateway_gave_is_looked_up_before_the_welcome),
        cmocka_unit_test(guests_of_gateways_that_share_are_numbered_at_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
