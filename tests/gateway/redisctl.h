/*
 * redisctl.h - the C side of tests/gateway/redis_ctl.py, for the CMocka
 * tests it runs against a real redis-server of its own: the server's port,
 * and ctl() to ask the controller to kill, stop, start, pause, resume or
 * flush that server or run a command on it from outside (see redis_ctl.py
 * for the requests and their answers); and the libuv loop driven until
 * something holds (loop_until) or for a time (loop_for). Include after
 * cmocka.h, in one file of a test program.
 */
#ifndef REDISCTL_H
#define REDISCTL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

static int redis_port;
static int ctl_w = -1, ctl_r = -1;

/* Ask redis_ctl.py (fields separated by tabs); returns its answer's text
 * (after "ok\t"), failing the test on "err". Blocks: the loop waits. The
 * text is borrowed until the next ctl(). */
static inline const char *ctl(const char *fmt, ...)
{
    static char line[4096];
    char req[1024];
    size_t n = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(req, sizeof req - 1, fmt, ap);
    va_end(ap);
    strcat(req, "\n");
    assert_int_equal(write(ctl_w, req, strlen(req)), (ssize_t)strlen(req));
    while (n + 1 < sizeof line) {
        ssize_t got = read(ctl_r, line + n, 1);
        assert_int_equal(got, 1);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    if (strncmp(line, "ok\t", 3) != 0)
        fail_msg("redis_ctl: %s -> %s", req, line);
    return line + 3;
}

/* Take the port and the controller's pipes from the environment
 * redis_ctl.py gives its program; 0, or -1 (said on stderr, in the name
 * of prog) when the program was not started through it. */
static inline int redisctl_attach(const char *prog)
{
    const char *port = getenv("WT_REDIS_PORT");
    const char *fds = getenv("WT_REDIS_CTL");
    if (!port || !fds || sscanf(fds, "%d,%d", &ctl_w, &ctl_r) != 2) {
        fprintf(stderr, "%s: run me through tests/gateway/redis_ctl.py (it starts redis-server)\n",
                prog);
        return -1;
    }
    redis_port = atoi(port);
    return 0;
}

/* A timer's callback that does nothing: its ticks only make the loop turn. */
static inline void loop_pump(uv_timer_t *t)
{
    (void)t;
}

/* Run loop until pred(ctx, arg) holds or timeout_ms pass; 1 if it held. */
static inline int loop_until(uv_loop_t *loop, int (*pred)(void *ctx, void *arg), void *ctx,
                             void *arg, unsigned timeout_ms)
{
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + timeout_ms;
    while (!pred(ctx, arg)) {
        if (uv_now(loop) >= end)
            return 0;
        uv_run(loop, UV_RUN_ONCE);
    }
    return 1;
}

/* Run loop for ms. */
static inline void loop_for(uv_loop_t *loop, unsigned ms)
{
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + ms;
    while (uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
}

#endif
