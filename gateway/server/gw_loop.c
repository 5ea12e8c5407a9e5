/*
 * gw_loop.c - the program's event loop: libuv's inside libwebsockets'
 * poll (gw_loop.h).
 */
#include "gw_loop.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "gw_log.h"

static struct {
    uv_loop_t loop;
    int open;                   /* uv_loop_init done, uv_loop_close not yet */
    struct lws_context *ctx;    /* whose timers libuv's are */
    struct lws *wsi;            /* libuv's epoll descriptor, in libwebsockets' poll */
    lws_sorted_usec_list_t sul; /* libuv's next timer */
    uv_signal_t sigterm, sigint;
    uv_timer_t stop_timer;      /* the stop's grace */
    int stop_requested;         /* SIGTERM or SIGINT came */
    int grace_over;
} lp;

/*
 * libuv's loop (Redis' connections, the signals, the stop's timer) inside
 * libwebsockets' own: its epoll descriptor is one more descriptor in
 * libwebsockets' poll (readable when something of libuv's is ready), and
 * its next timer is a libwebsockets timer. Either way libuv runs without
 * waiting (UV_RUN_NOWAIT). libwebsockets' own loop, not libuv's, serves
 * the connections: with libuv under libwebsockets, every change of what a
 * connection waits for (twice per write) took the descriptor out of epoll
 * and put it back, and walked the turn's events (bench/history-2026.md, "The event loop").
 */
static void on_uv_timer(lws_sorted_usec_list_t *sul);

void gw_loop_turn(void)
{
    if (!lp.open)
        return;
    (void)uv_run(&lp.loop, UV_RUN_NOWAIT);
    int ms = uv_backend_timeout(&lp.loop);
    if (ms >= 0)
        lws_sul_schedule(lp.ctx, 0, &lp.sul, on_uv_timer,
                         (lws_usec_t)(ms ? ms : 1) * LWS_US_PER_MS);
    else
        lws_sul_cancel(&lp.sul);
}

static void on_uv_timer(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    gw_loop_turn();
}

int gw_loop_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    (void)wsi;
    (void)user;
    (void)in;
    (void)len;
    if (reason == LWS_CALLBACK_RAW_RX_FILE)
        gw_loop_turn();
    else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE)
        lp.wsi = NULL;
    return 0;
}

/* Put libuv's epoll descriptor (a copy: libwebsockets closes what it
 * holds) into libwebsockets' poll. Returns 0 or -1. */
int gw_loop_attach(struct lws_context *ctx, struct lws_vhost *vh)
{
    lp.ctx = ctx;
    int fd = dup(uv_backend_fd(&lp.loop));
    if (fd < 0)
        return -1;
    lws_sock_file_fd_type u;
    u.filefd = (lws_filefd_type)(intptr_t)fd;
    lp.wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u, "wintalk-uv", NULL);
    if (!lp.wsi) {
        close(fd);
        return -1;
    }
    return 0;
}

/* SIGTERM, SIGINT: libuv delivers them as an ordinary callback of the
 * loop, so the stop itself begins at the end of this turn, after what the
 * turn handed to the store is committed. A second signal changes nothing. */
static void on_signal(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    lp.stop_requested = 1;
}

/* The grace after the signal is over: stop, whoever is still connected
 * (their output could not be flushed in time). */
static void on_stop_deadline(uv_timer_t *h)
{
    (void)h;
    lp.grace_over = 1;
}

static void stop_signals_mask(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    (void)pthread_sigmask(how, &set, NULL);
}

/* The program's own handles on the loop, in the order they are made. */
static uv_handle_t *const own_handles[] = {
    (uv_handle_t *)&lp.sigterm,
    (uv_handle_t *)&lp.sigint,
    (uv_handle_t *)&lp.stop_timer,
};
static size_t own_handles_made;

int gw_loop_open(void)
{
    int rc = uv_loop_init(&lp.loop);
    if (rc)
        return rc;
    lp.open = 1;
    if ((rc = uv_signal_init(&lp.loop, &lp.sigterm)))
        return rc;
    own_handles_made++;
    if ((rc = uv_signal_init(&lp.loop, &lp.sigint)))
        return rc;
    own_handles_made++;
    if ((rc = uv_timer_init(&lp.loop, &lp.stop_timer)))
        return rc;
    own_handles_made++;
    if ((rc = uv_signal_start(&lp.sigterm, on_signal, SIGTERM)) ||
        (rc = uv_signal_start(&lp.sigint, on_signal, SIGINT)))
        return rc;
    return 0;
}

static void log_left_open(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        gw_log("event loop: a %s handle was left open; closing it", uv_handle_type_name(h->type));
        uv_close(h, NULL);
    }
}

/*
 * Destroy the libwebsockets context, if there is one, and close libuv's
 * loop: the program's handles, and any a store left open, close in a last
 * run. Returns 0, or the libuv error of uv_loop_close.
 */
int gw_loop_close(struct lws_context *ctx)
{
    if (ctx) {
        lws_sul_cancel(&lp.sul);
        lws_context_destroy(ctx);
        lp.ctx = NULL;
    }
    if (!lp.open)
        return 0;
    /* Closing a uv_signal_t gives its signal back to the default action,
     * which would let a second SIGTERM kill the gateway while it stops.
     * Blocked meanwhile (only this thread takes them: the store's thread
     * was made with them blocked), then ignored: a pending one is dropped. */
    stop_signals_mask(SIG_BLOCK);
    for (size_t i = 0; i < own_handles_made; i++)
        uv_close(own_handles[i], NULL);
    own_handles_made = 0;
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    stop_signals_mask(SIG_UNBLOCK);
    (void)uv_run(&lp.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&lp.loop);
    if (rc == UV_EBUSY) {
        /* Not ours to leave open, but better closed late than leaked. */
        uv_walk(&lp.loop, log_left_open, NULL);
        (void)uv_run(&lp.loop, UV_RUN_DEFAULT);
        rc = uv_loop_close(&lp.loop);
    }
    if (!rc)
        lp.open = 0;
    return rc;
}

uv_loop_t *gw_loop_uv(void)
{
    return lp.open ? &lp.loop : NULL;
}

void gw_loop_block_signals(int block)
{
    stop_signals_mask(block ? SIG_BLOCK : SIG_UNBLOCK);
}

int gw_loop_stop_requested(void)
{
    return lp.stop_requested;
}

void gw_loop_grace(unsigned ms)
{
    uv_timer_start(&lp.stop_timer, on_stop_deadline, ms, 0);
}

int gw_loop_grace_over(void)
{
    return lp.grace_over;
}
