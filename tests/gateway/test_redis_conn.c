/*
 * test_redis_conn.c - the Redis connection layer (gw_redis.c) against a
 * real redis-server on 127.0.0.1, started by tests/gateway/redis_ctl.py,
 * which also kills, restarts, pauses it and runs commands on it from
 * outside when asked (see that file). Each test drives its own uv loop:
 * commands and replies (binary-safe, the db of the URL, error replies,
 * the bound on commands waiting), a script surviving SCRIPT FLUSH,
 * counted subscriptions, Redis killed and started again, Redis paused past
 * the command timeout, and a subscription connection that goes silent
 * without closing (a TCP relay of the test's own stops passing what Redis
 * sends on it). The URL parser is tested on its own.
 */
#define _GNU_SOURCE /* memmem */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "gw_redis.h"
#include "redisctl.h"

/* ------------------------------------------------------- what the layer said */

#define LOG_MAX 64

struct seen {
    int up;
    char why[GW_REDIS_WHY_MAX_BYTES];
    int state_calls;
    char log[LOG_MAX][2 * GW_REDIS_WHY_MAX_BYTES];
    int nlog;
    char msg_channel[128];
    char msg_payload[256];
    size_t msg_len;
    int messages;
    int resubscribed;
    char subscribed[128];     /* the last channel confirmed while up */
    int nsubscribed;
};

static void on_log(void *arg, const char *line)
{
    struct seen *s = arg;
    if (s->nlog < LOG_MAX)
        snprintf(s->log[s->nlog++], sizeof s->log[0], "%s", line);
}

static void on_state(void *arg, int up, const char *why)
{
    struct seen *s = arg;
    s->up = up;
    snprintf(s->why, sizeof s->why, "%s", why);
    s->state_calls++;
}

static void on_message(void *arg, const char *ch, size_t chlen, const char *p, size_t plen)
{
    struct seen *s = arg;
    snprintf(s->msg_channel, sizeof s->msg_channel, "%.*s", (int)chlen, ch);
    s->msg_len = plen < sizeof s->msg_payload ? plen : sizeof s->msg_payload;
    memcpy(s->msg_payload, p, s->msg_len);
    s->messages++;
}

static void on_resubscribed(void *arg)
{
    struct seen *s = arg;
    s->resubscribed++;
}

static void on_subscribed(void *arg, const char *ch, size_t len)
{
    struct seen *s = arg;
    snprintf(s->subscribed, sizeof s->subscribed, "%.*s", (int)len, ch);
    s->nsubscribed++;
}

static int count_log(const struct seen *s, const char *sub)
{
    int n = 0;
    for (int i = 0; i < s->nlog; i++)
        n += strstr(s->log[i], sub) != NULL;
    return n;
}

/* One reply. */
struct got {
    int done;
    int status;
    int type;
    long long integer;
    char str[256];
    size_t len;
    uint64_t at;
};

static uv_loop_t *loop_;

static void on_reply(void *arg, int status, const redisReply *rep)
{
    struct got *g = arg;
    g->done++;
    g->status = status;
    g->at = uv_now(loop_);
    if (rep) {
        g->type = rep->type;
        g->integer = rep->integer;
        if (rep->str) {
            g->len = rep->len < sizeof g->str - 1 ? rep->len : sizeof g->str - 1;
            memcpy(g->str, rep->str, g->len);
            g->str[g->len] = '\0';
        }
    }
}

/* ------------------------------------------------------------ the loop */

struct fix {
    uv_loop_t loop;
    uv_timer_t pump; /* wakes uv_run(UV_RUN_ONCE) every few ms */
    struct gw_redis *r;
    struct seen seen;
    char url[128];
};

/* The fixture's loop until pred holds, or for ms. */
#define run_until(f, pred, arg, ms) loop_until(&(f)->loop, pred, f, arg, ms)
#define run_for(f, ms) loop_for(&(f)->loop, ms)

static int is_up(void *fv, void *arg)
{
    struct fix *f = fv;
    (void)arg;
    return f->seen.up && gw_redis_state(f->r, NULL);
}

static int is_down(void *fv, void *arg)
{
    struct fix *f = fv;
    (void)arg;
    return !gw_redis_state(f->r, NULL);
}

static int why_is(void *fv, void *arg)
{
    struct fix *f = fv;
    const char *why;
    return !gw_redis_state(f->r, &why) && strcmp(why, arg) == 0 && strcmp(f->seen.why, arg) == 0;
}

static int got_done(void *fv, void *arg)
{
    struct fix *f = fv;
    (void)f;
    return ((struct got *)arg)->done > 0;
}

static int got_messages(void *fv, void *arg)
{
    struct fix *f = fv;
    return f->seen.messages >= *(int *)arg;
}

static int log_has(void *fv, void *arg)
{
    struct fix *f = fv;
    return count_log(&f->seen, arg) > 0;
}

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    loop_ = &f->loop;
    assert_int_equal(uv_timer_init(&f->loop, &f->pump), 0);
    assert_int_equal(uv_timer_start(&f->pump, loop_pump, 5, 5), 0);
}

static void fix_start(struct fix *f, struct gw_redis_opts *o)
{
    char err[256] = "";
    if (!f->url[0])
        snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", redis_port);
    o->url = f->url;
    o->arg = &f->seen;
    o->log = on_log;
    o->state = on_state;
    o->message = on_message;
    o->resubscribed = on_resubscribed;
    o->subscribed = on_subscribed;
    assert_int_equal(gw_redis_new(&f->loop, o, &f->r, err, sizeof err), GW_REDIS_OK);
}

/* Free the layer, run the loop dry and close it: every handle and request
 * of the layer's must be gone (uv_loop_close says UV_EBUSY otherwise). */
static void fix_done(struct fix *f)
{
    gw_redis_free(f->r);
    f->r = NULL;
    uv_close((uv_handle_t *)&f->pump, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int cmd(struct fix *f, struct got *g, int argc, ...)
{
    const char *argv[16];
    size_t lens[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    memset(g, 0, sizeof *g);
    return gw_redis_command(f->r, on_reply, g, argc, argv, lens);
}

/* Send a command and run until its answer. */
static void cmd_wait(struct fix *f, struct got *g, int argc, ...)
{
    const char *argv[16];
    size_t lens[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    memset(g, 0, sizeof *g);
    assert_int_equal(gw_redis_command(f->r, on_reply, g, argc, argv, lens), GW_REDIS_OK);
    assert_true(run_until(f, got_done, g, 5000));
    assert_int_equal(g->done, 1);
}

/* ------------------------------------------------------------- the URL */

static void test_url(void **state)
{
    struct gw_redis_url u;
    char err[256];
    (void)state;

    assert_int_equal(gw_redis_url_parse("redis://localhost", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_int_equal(u.auth, 0);

    assert_int_equal(gw_redis_url_parse("redis://10.0.0.7:6380/3", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "10.0.0.7");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);

    assert_int_equal(gw_redis_url_parse("redis://[::1]:7000/", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 0);

    assert_int_equal(gw_redis_url_parse("redis://:s%40cr%2Ft@redis.example:1/15", &u, err,
                                        sizeof err),
                     0);
    assert_int_equal(u.auth, 1);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s@cr/t");
    assert_string_equal(u.host, "redis.example");
    assert_int_equal(u.db, 15);

    assert_int_equal(gw_redis_url_parse("redis://gw:pw@h", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "gw");
    assert_string_equal(u.password, "pw");

    static const struct {
        const char *url, *says;
    } bad[] = {
        {"rediss://h:6380", "TLS"},
        {"http://h", "expected redis://"},
        {"redis://", "no host"},
        {"redis://:6379", "no host"},
        {"redis://h:0", "port"},
        {"redis://h:65536", "port"},
        {"redis://h:63x9", "port"},
        {"redis://h:", "port"},
        {"redis://h/x", "database"},
        {"redis://h/65536", "database"},
        {"redis://h/-1", "database"},
        {"redis://h?db=2", "options"},
        {"redis://user@h", "a user without a password"},
        {"redis://:@h", "empty password"},
        {"redis://:%zz@h", "password"},
        {"redis://:%00@h", "password"},
        {"redis://:%4@h", "password"},
        {"redis://[::1", "]"},
        {"redis://[::1]x", "junk"},
        {"redis://h h", "bad character"},
        {"redis://h\r\n", "bad character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (gw_redis_url_parse(bad[i].url, &u, err, sizeof err) != GW_REDIS_EINVAL)
            fail_msg("accepted %s", bad[i].url);
        if (!strstr(err, bad[i].says))
            fail_msg("%s: '%s' does not say '%s'", bad[i].url, err, bad[i].says);
    }

    /* Too long, and the layer refuses what the parser refuses. */
    char longurl[GW_REDIS_URL_MAX_BYTES + 16];
    memset(longurl, 'a', sizeof longurl);
    memcpy(longurl, "redis://", 8);
    longurl[sizeof longurl - 1] = '\0';
    assert_int_equal(gw_redis_url_parse(longurl, &u, err, sizeof err), GW_REDIS_EINVAL);
    assert_non_null(strstr(err, "longer than"));

    uv_loop_t loop;
    struct gw_redis *r = (struct gw_redis *)&u;
    struct gw_redis_opts o = {.url = "rediss://h"};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(gw_redis_new(&loop, &o, &r, err, sizeof err), GW_REDIS_EINVAL);
    assert_null(r);
    assert_non_null(strstr(err, "rediss://"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ------------------------------------------------------------ commands */

static void test_commands(void **state)
{
    struct fix f;
    struct gw_redis_opts o = {.max_waiting = 3};
    struct got g, g2, g3, g4;
    (void)state;

    ctl("flushall");
    fix_init(&f);
    snprintf(f.url, sizeof f.url, "redis://127.0.0.1:%d/2", redis_port);
    fix_start(&f, &o);
    assert_false(gw_redis_state(f.r, NULL));
    /* Down until both connections are up: a command is refused at once. */
    assert_int_equal(cmd(&f, &g, 1, "PING"), GW_REDIS_EDOWN);
    assert_true(run_until(&f, is_up, NULL, 5000));
    assert_string_equal(f.seen.why, "");
    assert_int_equal(count_log(&f.seen, "redis: up at 127.0.0.1:"), 1);

    cmd_wait(&f, &g, 1, "PING");
    assert_int_equal(g.status, GW_REDIS_OK);
    assert_string_equal(g.str, "PONG");

    /* Binary-safe, in the URL's database. */
    static const char val[] = {'a', '\0', '\r', '\n', (char)0xff, 'z'};
    const char *argv[3] = {"SET", "bin", val};
    size_t lens[3] = {3, 3, sizeof val};
    memset(&g, 0, sizeof g);
    assert_int_equal(gw_redis_command(f.r, on_reply, &g, 3, argv, lens), 0);
    assert_int_equal(g.done, 0); /* never from inside the call */
    assert_true(run_until(&f, got_done, &g, 5000));
    assert_int_equal(g.status, GW_REDIS_OK);
    cmd_wait(&f, &g, 2, "GET", "bin");
    assert_int_equal(g.type, REDIS_REPLY_STRING);
    assert_int_equal(g.len, sizeof val);
    assert_memory_equal(g.str, val, sizeof val);
    cmd_wait(&f, &g, 3, "SET", "where", "db2");
    assert_string_equal(ctl("cmd\t2\tGET\twhere"), "db2");
    assert_string_equal(ctl("cmd\t0\tGET\twhere"), "(nil)");

    /* An error reply is the caller's, with its text. */
    cmd_wait(&f, &g, 2, "INCR", "where");
    assert_int_equal(g.status, GW_REDIS_EREPLY);
    assert_int_equal(g.type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(g.str, "not an integer"));

    /* The bound on commands waiting: refused at once past it; replies in
     * the order sent. */
    assert_int_equal(cmd(&f, &g, 2, "INCR", "n"), 0);
    assert_int_equal(cmd(&f, &g2, 2, "INCR", "n"), 0);
    assert_int_equal(cmd(&f, &g3, 2, "INCR", "n"), 0);
    assert_int_equal(cmd(&f, &g4, 2, "INCR", "n"), GW_REDIS_EBUSY);
    assert_true(run_until(&f, got_done, &g3, 5000));
    assert_int_equal(g.integer, 1);
    assert_int_equal(g2.integer, 2);
    assert_int_equal(g3.integer, 3);
    assert_int_equal(g4.done, 0);
    assert_int_equal(cmd(&f, &g4, 2, "INCR", "n"), 0);
    assert_true(run_until(&f, got_done, &g4, 5000));
    assert_int_equal(g4.integer, 4);

    /* Bad calls. */
    assert_int_equal(gw_redis_command(f.r, on_reply, &g, 0, argv, lens), GW_REDIS_EINVAL);
    assert_int_equal(gw_redis_command(f.r, NULL, &g, 1, argv, lens), GW_REDIS_EINVAL);
    static char big[GW_REDIS_COMMAND_MAX_BYTES];
    const char *bargv[3] = {"SET", "big", big};
    size_t blens[3] = {3, 3, sizeof big};
    assert_int_equal(gw_redis_command(f.r, on_reply, &g, 3, bargv, blens), GW_REDIS_EINVAL);

    /* Freeing with a command waiting: it fails, from gw_redis_free. */
    assert_int_equal(cmd(&f, &g, 3, "BLPOP", "nothing", "0"), 0);
    run_for(&f, 50);
    assert_int_equal(g.done, 0);
    gw_redis_free(f.r);
    f.r = NULL;
    assert_int_equal(g.done, 1);
    assert_int_equal(g.status, GW_REDIS_ECLOSED);
    uv_close((uv_handle_t *)&f.pump, NULL);
    assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* AUTH on both connections before they count as up; a wrong password
 * keeps the layer down, saying so. */
static void test_auth(void **state)
{
    struct fix f;
    struct gw_redis_opts o = {0};
    struct got g;
    char port[16], want[256];
    (void)state;

    snprintf(port, sizeof port, "%s", ctl("auth\ts3cr@t"));
    fix_init(&f);
    snprintf(f.url, sizeof f.url, "redis://:s3cr%%40t@127.0.0.1:%s/1", port);
    fix_start(&f, &o);
    assert_int_equal(gw_redis_subscribe(f.r, "room:auth", 9), 0);
    assert_true(run_until(&f, is_up, NULL, 5000));
    cmd_wait(&f, &g, 3, "SET", "who", "authed");
    assert_int_equal(g.status, GW_REDIS_OK);
    fix_done(&f);

    fix_init(&f);
    snprintf(f.url, sizeof f.url, "redis://:wrong@127.0.0.1:%s/1", port);
    fix_start(&f, &o);
    snprintf(want, sizeof want, "redis: authentication failed at 127.0.0.1:%s", port);
    run_for(&f, 1000);
    assert_false(gw_redis_state(f.r, NULL));
    if (strncmp(f.seen.why, want, strlen(want)) != 0)
        fail_msg("down with '%s', not '%s...'", f.seen.why, want);
    assert_int_equal(count_log(&f.seen, "authentication failed"), 1);
    fix_done(&f);
}

/* ------------------------------------------------------------ scripts */

static const char script_src[] = "return ARGV[1] .. ':' .. (redis.call('GET', KEYS[1]) or 'none')";

static void eval_wait(struct fix *f, struct gw_redis_script *s, struct got *g, const char *key,
                      const char *arg)
{
    const char *argv[2] = {key, arg};
    size_t lens[2] = {strlen(key), strlen(arg)};
    memset(g, 0, sizeof *g);
    assert_int_equal(gw_redis_eval(f->r, s, on_reply, g, 1, 2, argv, lens), 0);
    assert_true(run_until(f, got_done, g, 5000));
    assert_int_equal(g->done, 1);
}

static void test_script_noscript(void **state)
{
    struct fix f;
    struct gw_redis_opts o = {0};
    struct gw_redis_script *s = NULL;
    struct gw_redis_stats st;
    struct got g;
    (void)state;

    ctl("flushall");
    ctl("cmd\t0\tSCRIPT\tFLUSH");
    fix_init(&f);
    fix_start(&f, &o);
    /* Registered before the first connection: loaded by its handshake. */
    assert_int_equal(gw_redis_script(f.r, script_src, strlen(script_src), &s), 0);
    assert_string_equal(gw_redis_script_sha(s), ctl("cmd\t0\tSCRIPT\tLOAD\t%s", script_src));
    ctl("cmd\t0\tSCRIPT\tFLUSH");
    assert_true(run_until(&f, is_up, NULL, 5000));
    assert_string_equal(ctl("cmd\t0\tSCRIPT\tEXISTS\t%s", gw_redis_script_sha(s)), "1");

    cmd_wait(&f, &g, 3, "SET", "k", "v1");
    eval_wait(&f, s, &g, "k", "a");
    assert_int_equal(g.status, GW_REDIS_OK);
    assert_string_equal(g.str, "a:v1");
    gw_redis_stats(f.r, &st);
    assert_int_equal(st.noscript, 0);

    /* The cache emptied under the live connection: NOSCRIPT, a load, the
     * same EVALSHA again, and the caller sees only the answer. */
    ctl("cmd\t0\tSCRIPT\tFLUSH");
    assert_string_equal(ctl("cmd\t0\tSCRIPT\tEXISTS\t%s", gw_redis_script_sha(s)), "0");
    eval_wait(&f, s, &g, "k", "b");
    assert_int_equal(g.status, GW_REDIS_OK);
    assert_string_equal(g.str, "b:v1");
    gw_redis_stats(f.r, &st);
    assert_int_equal(st.noscript, 1);
    eval_wait(&f, s, &g, "k", "c");
    assert_string_equal(g.str, "c:v1");
    gw_redis_stats(f.r, &st);
    assert_int_equal(st.noscript, 1);

    /* A script whose Lua fails: the error is the caller's, once. */
    static const char bad_src[] = "return redis.call('NOSUCHCOMMAND')";
    struct gw_redis_script *bad = NULL;
    assert_int_equal(gw_redis_script(f.r, bad_src, strlen(bad_src), &bad), 0);
    eval_wait(&f, bad, &g, "k", "x");
    assert_int_equal(g.status, GW_REDIS_EREPLY);

    assert_int_equal(gw_redis_eval(f.r, s, on_reply, &g, 3, 2, (const char *[]){"a", "b"},
                                   (size_t[]){1, 1}),
                     GW_REDIS_EINVAL);
    assert_int_equal(gw_redis_script(f.r, "", 0, &bad), GW_REDIS_EINVAL);
    fix_done(&f);
}

/* ------------------------------------------------------- subscriptions */

static int numsub_is(const char *channel, const char *want)
{
    char expect[256];
    snprintf(expect, sizeof expect, "%s,%s", channel, want);
    return strcmp(ctl("cmd\t0\tPUBSUB\tNUMSUB\t%s", channel), expect) == 0;
}

/* Run the loop until Redis counts n subscribers of channel. */
static void wait_numsub(struct fix *f, const char *channel, const char *n)
{
    for (int i = 0; i < 200; i++) {
        if (numsub_is(channel, n))
            return;
        run_for(f, 10);
    }
    fail_msg("%s never had %s subscribers", channel, n);
}

static void test_subscribe(void **state)
{
    struct fix f;
    struct gw_redis_opts o = {0};
    struct gw_redis_stats st;
    int want;
    (void)state;

    fix_init(&f);
    fix_start(&f, &o);
    /* Before the connection: subscribed once it is up. */
    assert_int_equal(gw_redis_subscribe(f.r, "room:a", 6), 0);
    assert_true(run_until(&f, is_up, NULL, 5000));
    assert_true(numsub_is("room:a", "1"));
    assert_true(numsub_is(gw_redis_probe_channel(f.r), "1"));
    /* Subscribed with the connection: that is "up", not "subscribed". */
    assert_int_equal(f.seen.nsubscribed, 0);
    assert_int_equal(strncmp(gw_redis_probe_channel(f.r), GW_REDIS_PROBE_PREFIX,
                             strlen(GW_REDIS_PROBE_PREFIX)),
                     0);
    assert_int_equal(strlen(gw_redis_probe_channel(f.r)), strlen(GW_REDIS_PROBE_PREFIX) + 16);

    assert_string_equal(ctl("cmd\t0\tPUBLISH\troom:a\thello a"), "1");
    want = 1;
    assert_true(run_until(&f, got_messages, &want, 5000));
    assert_string_equal(f.seen.msg_channel, "room:a");
    assert_int_equal(f.seen.msg_len, 7);
    assert_memory_equal(f.seen.msg_payload, "hello a", 7);

    /* Counted: two references, one dropped, still subscribed. */
    assert_int_equal(gw_redis_subscribe(f.r, "room:a", 6), 0);
    assert_int_equal(gw_redis_unsubscribe(f.r, "room:a", 6), 0);
    run_for(&f, 50);
    assert_true(numsub_is("room:a", "1"));
    /* While up: subscribed at once, and said so once confirmed (before
     * that, a message published goes nowhere here). */
    assert_int_equal(gw_redis_subscribe(f.r, "room:b", 6), 0);
    wait_numsub(&f, "room:b", "1");
    for (int i = 0; i < 500 && !f.seen.nsubscribed; i++)
        run_for(&f, 10);
    assert_int_equal(f.seen.nsubscribed, 1);
    assert_string_equal(f.seen.subscribed, "room:b");
    ctl("cmd\t0\tPUBLISH\troom:b\tto b");
    want = 2;
    assert_true(run_until(&f, got_messages, &want, 5000));
    assert_string_equal(f.seen.msg_channel, "room:b");

    /* The last reference goes: unsubscribed; nothing more delivered. */
    assert_int_equal(gw_redis_unsubscribe(f.r, "room:a", 6), 0);
    wait_numsub(&f, "room:a", "0");
    assert_int_equal(gw_redis_unsubscribe(f.r, "room:a", 6), GW_REDIS_EINVAL);
    assert_string_equal(ctl("cmd\t0\tPUBLISH\troom:a\tlost"), "0");
    /* Off and on again before Redis confirms: one operation at a time, and
     * the channel ends subscribed. */
    assert_int_equal(gw_redis_unsubscribe(f.r, "room:b", 6), 0);
    assert_int_equal(gw_redis_subscribe(f.r, "room:b", 6), 0);
    assert_int_equal(gw_redis_unsubscribe(f.r, "room:b", 6), 0);
    assert_int_equal(gw_redis_subscribe(f.r, "room:b", 6), 0);
    run_for(&f, 100);
    assert_true(numsub_is("room:b", "1"));
    ctl("cmd\t0\tPUBLISH\troom:b\tstill b");
    want = 3;
    assert_true(run_until(&f, got_messages, &want, 5000));
    assert_memory_equal(f.seen.msg_payload, "still b", 7);
    gw_redis_stats(f.r, &st);
    assert_int_equal(st.channels, 1);
    assert_int_equal(st.messages, 3);

    assert_int_equal(gw_redis_subscribe(f.r, "", 0), GW_REDIS_EINVAL);
    assert_int_equal(gw_redis_subscribe(f.r, gw_redis_probe_channel(f.r),
                                        strlen(gw_redis_probe_channel(f.r))),
                     GW_REDIS_EINVAL);
    assert_int_equal(f.seen.resubscribed, 0);
    fix_done(&f);
}

/* ---------------------------------------------- Redis killed, started again */

static void test_kill_restart(void **state)
{
    struct fix f;
    struct gw_redis_opts o = {0};
    struct gw_redis_script *s = NULL;
    struct gw_redis_stats st;
    struct got g;
    char refused[128];
    int want;
    (void)state;

    fix_init(&f);
    fix_start(&f, &o);
    assert_int_equal(gw_redis_script(f.r, script_src, strlen(script_src), &s), 0);
    assert_int_equal(gw_redis_subscribe(f.r, "room:k", 6), 0);
    assert_true(run_until(&f, is_up, NULL, 5000));
    int calls_up = f.seen.state_calls;

    ctl("kill");
    assert_true(run_until(&f, is_down, NULL, 5000));
    /* At once: no waiting for Redis to come back. */
    assert_int_equal(cmd(&f, &g, 1, "PING"), GW_REDIS_EDOWN);
    assert_int_equal(gw_redis_eval(f.r, s, on_reply, &g, 1, 2, (const char *[]){"k", "a"},
                                   (size_t[]){1, 1}),
                     GW_REDIS_EDOWN);
    snprintf(refused, sizeof refused, "redis: connection refused at 127.0.0.1:%d", redis_port);
    if (!run_until(&f, why_is, refused, 5000))
        fail_msg("down with '%s', not '%s'", f.seen.why, refused);
    assert_true(f.seen.state_calls > calls_up);
    /* Attempts go on (100 ms doubling to 2 s); the log says it once. */
    run_for(&f, 1500);
    assert_false(gw_redis_state(f.r, NULL));
    assert_int_equal(count_log(&f.seen, "reconnecting"), 1);

    /* Subscriptions kept while down; restored when Redis is back. */
    assert_int_equal(gw_redis_subscribe(f.r, "room:k2", 7), 0);
    ctl("start");
    assert_true(run_until(&f, is_up, NULL, 5000));
    assert_int_equal(f.seen.resubscribed, 1);
    assert_int_equal(count_log(&f.seen, "redis: up again at"), 1);
    assert_true(numsub_is("room:k", "1"));
    assert_true(numsub_is("room:k2", "1"));
    ctl("cmd\t0\tPUBLISH\troom:k\tafter restart");
    want = 1;
    assert_true(run_until(&f, got_messages, &want, 5000));
    assert_memory_equal(f.seen.msg_payload, "after restart", 13);
    ctl("cmd\t0\tPUBLISH\troom:k2\tnew one");
    want = 2;
    assert_true(run_until(&f, got_messages, &want, 5000));
    assert_string_equal(f.seen.msg_channel, "room:k2");

    /* The script was loaded again by the new connection's handshake. */
    eval_wait(&f, s, &g, "k", "z");
    assert_int_equal(g.status, GW_REDIS_OK);
    assert_string_equal(g.str, "z:none");
    gw_redis_stats(f.r, &st);
    assert_int_equal(st.noscript, 0);
    assert_true(st.drops >= 2);

    /* SIGTERM with a command waiting: it fails, with the connection. */
    assert_int_equal(cmd(&f, &g, 3, "BLPOP", "nothing", "0"), 0);
    run_for(&f, 50);
    ctl("stop");
    assert_true(run_until(&f, got_done, &g, 5000));
    assert_int_equal(g.status, GW_REDIS_ECLOSED);
    ctl("start");
    assert_true(run_until(&f, is_up, NULL, 5000));
    assert_int_equal(f.seen.resubscribed, 2);
    fix_done(&f);
}

/* --------------------------------------------------------- Redis paused */

static void test_pause(void **state)
{
    struct fix f;
    struct gw_redis_opts o = {.command_ms = 300, .connect_ms = 300};
    struct got g, g2;
    char why[128];
    (void)state;

    fix_init(&f);
    fix_start(&f, &o);
    assert_true(run_until(&f, is_up, NULL, 5000));

    ctl("pause");
    uv_update_time(&f.loop);
    uint64_t sent = uv_now(&f.loop);
    assert_int_equal(cmd(&f, &g, 1, "PING"), 0);
    assert_int_equal(cmd(&f, &g2, 2, "GET", "x"), 0);
    assert_true(run_until(&f, got_done, &g2, 3000));
    /* Both fail, with a timeout, within the bound (and not before it). */
    assert_int_equal(g.status, GW_REDIS_ETIMEDOUT);
    assert_int_equal(g2.status, GW_REDIS_ETIMEDOUT);
    assert_true(g.at - sent >= 300);
    assert_true(g.at - sent < 300 + 200);
    snprintf(why, sizeof why, "redis: no reply within 300 ms from 127.0.0.1:%d", redis_port);
    assert_false(gw_redis_state(f.r, NULL));
    assert_string_equal(f.seen.why, why);
    assert_int_equal(cmd(&f, &g, 1, "PING"), GW_REDIS_EDOWN);
    /* Silent Redis: new connections open (the kernel accepts them) and
     * their handshake times out, again and again. */
    run_for(&f, 1000);
    assert_false(gw_redis_state(f.r, NULL));
    assert_non_null(strstr(f.seen.why, "redis: no reply within 300 ms"));
    assert_int_equal(count_log(&f.seen, "reconnecting"), 1);

    ctl("resume");
    assert_true(run_until(&f, is_up, NULL, 5000));
    cmd_wait(&f, &g, 1, "PING");
    assert_int_equal(g.status, GW_REDIS_OK);
    fix_done(&f);
}

/* ---------------------------------- a silent subscription connection */

/*
 * A TCP relay between the layer and Redis, on the test's loop: it passes
 * bytes both ways, and once told, stops passing what Redis sends on the
 * connections that subscribed (it still reads and drops them): the
 * subscription stays open at both ends and nothing arrives, as after a
 * failover behind a proxy.
 */
struct relay;

struct pipe_ {
    uv_tcp_t down, up; /* the layer's side, Redis' side */
    struct relay *rl;
    int subscriber, silent, open, closing;
    struct pipe_ *next;
};

struct relay {
    uv_tcp_t listener;
    int port;
    struct pipe_ *pipes;
};

struct wreq {
    uv_write_t w;
    char data[];
};

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(hint);
    buf->len = buf->base ? hint : 0;
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void pipe_closed(uv_handle_t *h)
{
    struct pipe_ *p = h->data;
    if (--p->open == 0) {
        struct pipe_ **pp = &p->rl->pipes;
        while (*pp != p)
            pp = &(*pp)->next;
        *pp = p->next;
        free(p);
    }
}

static void pipe_close(struct pipe_ *p)
{
    if (p->closing)
        return;
    p->closing = 1;
    uv_close((uv_handle_t *)&p->down, pipe_closed);
    uv_close((uv_handle_t *)&p->up, pipe_closed);
}

static void relay_write(uv_tcp_t *to, const char *data, size_t n)
{
    struct wreq *w = malloc(sizeof *w + n);
    uv_buf_t b;
    assert_non_null(w);
    memcpy(w->data, data, n);
    b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->w, (uv_stream_t *)to, &b, 1, on_written) != 0)
        free(w);
}

static void on_down_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pipe_ *p = s->data;
    if (n > 0) {
        if (memmem(buf->base, (size_t)n, "SUBSCRIBE", 9))
            p->subscriber = 1;
        relay_write(&p->up, buf->base, (size_t)n);
    } else if (n < 0) {
        pipe_close(p);
    }
    free(buf->base);
}

static void on_up_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct pipe_ *p = s->data;
    if (n > 0 && !p->silent)
        relay_write(&p->down, buf->base, (size_t)n);
    else if (n < 0)
        pipe_close(p);
    free(buf->base);
}

static void on_up_connected(uv_connect_t *c, int status)
{
    struct pipe_ *p = c->data;
    free(c);
    if (status != 0 || p->closing) {
        pipe_close(p);
        return;
    }
    uv_read_start((uv_stream_t *)&p->down, on_alloc, on_down_read);
    uv_read_start((uv_stream_t *)&p->up, on_alloc, on_up_read);
}

static void on_relay_conn(uv_stream_t *server, int status)
{
    struct relay *rl = server->data;
    struct pipe_ *p = calloc(1, sizeof *p);
    uv_connect_t *c = malloc(sizeof *c);
    struct sockaddr_in to;
    assert_int_equal(status, 0);
    assert_non_null(p);
    assert_non_null(c);
    p->rl = rl;
    uv_tcp_init(server->loop, &p->down);
    uv_tcp_init(server->loop, &p->up);
    p->down.data = p->up.data = p;
    p->open = 2;
    p->next = rl->pipes;
    rl->pipes = p;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&p->down), 0);
    uv_ip4_addr("127.0.0.1", redis_port, &to);
    c->data = p;
    if (uv_tcp_connect(c, &p->up, (const struct sockaddr *)&to, on_up_connected) != 0) {
        free(c);
        pipe_close(p);
    }
}

static void relay_start(struct relay *rl, uv_loop_t *loop)
{
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof got;
    memset(rl, 0, sizeof *rl);
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_init(loop, &rl->listener), 0);
    rl->listener.data = rl;
    assert_int_equal(uv_tcp_bind(&rl->listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&rl->listener, 16, on_relay_conn), 0);
    assert_int_equal(uv_tcp_getsockname(&rl->listener, (struct sockaddr *)&got, &len), 0);
    rl->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* Silence the subscribers' pipes open now; returns how many. */
static int relay_silence(struct relay *rl)
{
    int n = 0;
    for (struct pipe_ *p = rl->pipes; p; p = p->next)
        if (p->subscriber && !p->closing) {
            p->silent = 1;
            n++;
        }
    return n;
}

static void relay_stop(struct relay *rl)
{
    for (struct pipe_ *p = rl->pipes; p; p = p->next)
        pipe_close(p);
    uv_close((uv_handle_t *)&rl->listener, NULL);
}

static void test_probe(void **state)
{
    struct fix f;
    struct relay rl;
    struct gw_redis_opts o = {.probe_idle_ms = 200, .probe_wait_ms = 300};
    struct gw_redis_stats st;
    int want;
    (void)state;

    fix_init(&f);
    relay_start(&rl, &f.loop);
    snprintf(f.url, sizeof f.url, "redis://127.0.0.1:%d", rl.port);
    fix_start(&f, &o);
    assert_int_equal(gw_redis_subscribe(f.r, "room:p", 6), 0);
    assert_true(run_until(&f, is_up, NULL, 5000));

    /* A quiet, healthy subscription: probes go out and come back. */
    run_for(&f, 1000);
    gw_redis_stats(f.r, &st);
    assert_true(st.probes >= 2);
    assert_int_equal(st.probe_drops, 0);
    assert_int_equal(f.seen.resubscribed, 0);
    assert_true(gw_redis_state(f.r, NULL));

    /* Silenced: a message published now never arrives; the probe finds
     * it, the connection is made again, and the channel with it. */
    assert_int_equal(relay_silence(&rl), 1);
    assert_string_equal(ctl("cmd\t0\tPUBLISH\troom:p\tswallowed"), "1");
    assert_true(run_until(&f, log_has, "delivered nothing", 3000));
    assert_int_equal(f.seen.messages, 0);
    assert_true(run_until(&f, is_up, NULL, 5000));
    gw_redis_stats(f.r, &st);
    assert_int_equal(st.probe_drops, 1);
    assert_int_equal(f.seen.resubscribed, 1);
    ctl("cmd\t0\tPUBLISH\troom:p\theard");
    want = 1;
    assert_true(run_until(&f, got_messages, &want, 5000));
    assert_memory_equal(f.seen.msg_payload, "heard", 5);

    relay_stop(&rl);
    fix_done(&f);
}

int main(void)
{
    if (redisctl_attach("test_redis_conn") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_script_noscript),
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_kill_restart),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
