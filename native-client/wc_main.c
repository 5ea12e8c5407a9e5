/*
 * wc_main.c - wintalk: a WinTalk peer for a terminal, or for a pipe.
 *
 * The event loop: ppoll() over the connection, stdin and the listening
 * socket, with the handshake and linger deadlines as poll timeouts. It
 * moves bytes between the connection (plain TCP or TLS, one interface:
 * wc_tls.h) and the pure session (wc_session.h), and between the session
 * and either the terminal window (wc_ui.h) or plain lines on stdout (the
 * pipe mode). It knows nothing of frames nor of TLS records.
 *
 * Talking to a wintalk-gateway hub, the window's status line also shows
 * the room the hub says we are in, and the hub's private-message lines
 * stand out in the top pane (wc_hub.h); the pipe mode and the log keep
 * the peer's text as it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wc_args.h"
#include "wc_hub.h"
#include "wc_net.h"
#include "wc_session.h"
#include "wc_text.h"
#include "wc_tls.h"
#include "wc_ui.h"

#ifndef WC_VERSION
#define WC_VERSION "0.1.0"
#endif

/* The caller gives up when the handshake has not come within this time,
 * as the original does. With --tls the time covers the TLS handshake and
 * the WINTALK one together, on both sides. */
#define WC_HANDSHAKE_MS 5000

/* Pipe mode, after stdin ended and everything was written: how long to
 * wait for the peer to close (reading what it still shows) before closing
 * anyway. Closing with unread bytes would reset the connection and could
 * lose what was sent. */
#define WC_LINGER_MS 2000

/* Bytes read from the socket at a time. */
#define WC_READ_CHUNK (64u * 1024u)

/* Pipe mode: stdin is read into a buffer of this size; a line longer than
 * WC_STDIN_LINE_MAX bytes is sent in pieces of at most that size, each as a
 * line. The buffer holds a whole piece and the bytes wc_text_cut looks at
 * past it. */
#define WC_STDIN_BUF      (64u * 1024u)
#define WC_STDIN_LINE_MAX (32u * 1024u)
_Static_assert(WC_STDIN_BUF >= WC_STDIN_LINE_MAX + WC_TEXT_CUT_LOOKAHEAD,
               "the stdin buffer holds a piece and what is looked at past it");

/* Room for a status line. */
#define WC_STATUS_MAX 512

/* Room for the status line as drawn: the room, a separator, the status. */
#define WC_STATUS_SHOWN_MAX (WC_ROOM_BUF + 3 + WC_STATUS_MAX)

static volatile sig_atomic_t got_signal;

/* Set around the writes to stdout and stderr of pipe mode (signals_open). */
static volatile sig_atomic_t in_output;

static void on_signal(int sig)
{
    got_signal = sig;
    /* A write that waits for a reader is restarted by stdio after a
     * partial write, and would wait again: end here. Pipe mode has no
     * terminal to restore, and what it wrote to its log is flushed. */
    if (in_output)
        _exit(WC_EXIT_SIGNAL);
}

struct wc_app {
    struct wc_options opt;
    struct wc_session s;
    struct wc_ui *ui;
    int plain;
    int lfd;
    struct wc_stream conn; /* the talk's connection; conn.fd < 0 before it */
    struct wc_tls *tls;    /* --tls: settings for the side we are on; owned */
    char tls_desc[WC_TLS_DESC_MAX];
    const char *port; /* the port in use (option or default) */
    char where[WC_HOST_MAX + WC_PORT_MAX + 4];
    char status[WC_STATUS_MAX];
    int talking_seen; /* the talk started (status, --nick) */
    int peer_closed;
    int stdin_done;
    int write_shut;
    int shut_pending;          /* the half-close waits for the socket (TLS) */
    long long hs_deadline;     /* 0: none */
    long long linger_deadline; /* 0: none */
    FILE *log;
    char *in; /* pipe mode: stdin bytes; owned */
    size_t in_len;
    int done;
    int exit_code;
    /* While the loop runs, signals are blocked except where they may
     * arrive (see run); open_mask is the mask that lets them in. */
    int signals_blocked;
    sigset_t open_mask;
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: wintalk [--connect HOST[:PORT] | --listen [[HOST:]PORT]] [OPTIONS]\n"
               "       wintalk --tls [--ca FILE | --insecure] --connect HOST[:PORT] [OPTIONS]\n"
               "       wintalk --tls --cert FILE --key FILE --listen [[HOST:]PORT] [OPTIONS]\n"
               "       wintalk /C [ADDRESS] [PORT]    wintalk /L [PORT]    (also -C, -L)\n"
               "\n"
               "A WinTalk peer: live two-pane talk over the WINTALK protocol with another\n"
               "wintalk, a WinTalk program, or a wintalk-gateway hub.\n"
               "\n"
               "  --connect HOST[:PORT]  call HOST (a name, IPv4, or IPv6 as [::1]:5150)\n"
               "  --listen [[HOST:]PORT] listen (on every address unless HOST is given)\n"
               "                         and take one caller\n"
               "  /C, -C [ADDR] [PORT]   call, as the original (ADDR defaults to 127.0.0.1)\n"
               "  /L, -L [PORT]          listen, as the original: if the port is in use,\n"
               "                         call 127.0.0.1 on it instead\n"
               "  (no mode)              the same as /L on the default port\n"
               "  --plain                pipe mode even on a terminal (the default when\n"
               "                         stdin or stdout is not a terminal): each input\n"
               "                         line is sent, the peer's lines are printed\n"
               "  --tls                  talk over TLS 1.2 or newer (default port 5151);\n"
               "                         the peer's certificate must be valid for HOST\n"
               "  --ca FILE              with --tls: trust the CAs in FILE (PEM) instead\n"
               "                         of the system's\n"
               "  --insecure             with --tls: do not verify the peer's certificate\n"
               "                         nor its host name (encrypted, but anyone on the\n"
               "                         way can pose as the peer)\n"
               "  --cert FILE --key FILE with --tls, to listen: this certificate chain\n"
               "                         and its private key (PEM)\n"
               "  --nick NAME            send \"/nick NAME\" once connected (for a hub)\n"
               "  --log FILE             append the conversation to FILE\n"
               "  --no-mouse             leave the mouse to the terminal\n"
               "  -q, --quiet            pipe mode: no status lines on stderr\n"
               "  -h, --help             this help;  --version  the version\n"
               "\n"
               "The default port is 5150, or $WINTALK_PORT when that is set; with --tls,\n"
               "5151 or $WINTALK_TLS_PORT.\n"
               "Keys: Enter new line, Backspace, Ctrl-U clear the box, PgUp/PgDn, Up/Down,\n"
               "Home/End and the mouse wheel scroll the top pane, Ctrl-C or Ctrl-D quit.\n"
               "\n"
               "With a wintalk-gateway hub, the status line starts with your room\n"
               "(\"#dev | Connected to ...\", from the hub's \"* you are in #dev (3 here)\"\n"
               "line), private messages (\"* alice -> you: ...\", \"* you -> alice: ...\")\n"
               "stand out in colour, and a line you type that starts with / is a command\n"
               "for the hub:\n"
               "  /join #room     go to a room (everyone starts in #lobby)\n"
               "  /part           leave it, back to #lobby\n"
               "  /rooms          the rooms          /who     who is in yours\n"
               "  /msg NICK text  a message to NICK only\n"
               "  /nick NAME      your name          /me ACTION  say what you do\n"
               "  /help           the hub's own list of commands\n"
               "\n"
               "Exit status:\n"
               "  0  quit, end of input, or the peer closed the connection\n"
               "  1  the connection failed while talking\n"
               "  2  bad command line\n"
               "  3  could not resolve, connect or listen\n"
               "  4  the peer did not send the WINTALK handshake\n"
               "  5  no handshake within 5 seconds (with --tls: TLS's and WINTALK's)\n"
               "  6  the peer sent a malformed frame\n"
               "  7  terminal, log file, certificate file or memory trouble\n"
               "  8  --tls: the peer's certificate could not be verified (untrusted,\n"
               "     expired, or not for that host name)\n"
               "  9  --tls: the TLS handshake failed (no TLS 1.2 or newer, not TLS)\n"
               "  130  stopped by a signal (SIGINT, SIGTERM, SIGHUP)\n");
}

/* A write to stdout or stderr in pipe mode can wait for ever (a reader
 * that stops reading: `wintalk | less` not scrolled). Signals are let in
 * around those writes, and one that comes then ends the program at once
 * (on_signal), so that SIGTERM and Ctrl-C still do. *saved gets the mask
 * to put back with signals_close. */
static void signals_open(struct wc_app *a, sigset_t *saved)
{
    if (!a->signals_blocked)
        return;
    in_output = 1;
    sigprocmask(SIG_SETMASK, &a->open_mask, saved);
}

static void signals_close(struct wc_app *a, const sigset_t *saved)
{
    if (!a->signals_blocked)
        return;
    sigprocmask(SIG_SETMASK, saved, NULL);
    in_output = 0;
}

/* A status change: the status line in the window, stderr in pipe mode. */
static void set_status(struct wc_app *a, const char *fmt, ...)
{
    va_list ap;
    sigset_t saved;

    va_start(ap, fmt);
    vsnprintf(a->status, sizeof(a->status), fmt, ap);
    va_end(ap);
    if (a->plain && !a->opt.quiet) {
        signals_open(a, &saved);
        fprintf(stderr, "wintalk: %s\n", a->status);
        signals_close(a, &saved);
    }
}

/* The status line as the window shows it: while a hub says which room we
 * are in, the room comes first ("#dev | Connected to ..."), where even a
 * narrow window has room for it. Returns a->status or buf. */
static const char *shown_status(struct wc_app *a, char *buf, size_t cap)
{
    const char *room = wc_session_room(&a->s);

    if (room[0] == '\0' || a->peer_closed)
        return a->status;
    snprintf(buf, cap, "%s | %s", room, a->status);
    return buf;
}

/* How the window shows a line of the peer's text: a hub's private lines
 * stand out (a wc_ui_look). */
static int peer_line_look(const char *line, size_t len)
{
    switch (wc_hub_private_line(line, len)) {
    case WC_HUB_PRIVATE_IN:
        return WC_UI_LOOK_PRIVATE_IN;
    case WC_HUB_PRIVATE_OUT:
        return WC_UI_LOOK_PRIVATE_OUT;
    default:
        return WC_UI_LOOK_PLAIN;
    }
}

/* End the program's talk with an error: leave the window first so the
 * message lands on a normal terminal. */
static void fail(struct wc_app *a, int code, const char *fmt, ...)
{
    va_list ap;
    sigset_t saved;

    if (a->ui != NULL) {
        wc_ui_stop(a->ui);
        a->ui = NULL;
    }
    if (a->plain)
        signals_open(a, &saved);
    fputs("wintalk: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (a->plain)
        signals_close(a, &saved);
    a->exit_code = code;
    a->done = 1;
}

static void log_line(struct wc_app *a, const char *who, const char *text, size_t len)
{
    char stamp[32], *safe;
    size_t safe_len;
    time_t t;
    struct tm tm;

    if (a->log == NULL)
        return;
    safe = malloc(len * 3 + 1);
    if (safe == NULL)
        return;
    wc_text_sanitize_line(text, len, safe, len * 3 + 1, &safe_len);
    t = time(NULL);
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(a->log, "%s %s: %s\n", stamp, who, safe);
    fflush(a->log);
    free(safe);
}

/* Print (pipe mode) and log the peer's completed lines. With rest, also
 * its unfinished line: the talk is over. */
static void take_peer_lines(struct wc_app *a, int rest)
{
    struct wc_pane *p = wc_session_pane(&a->s);
    const char *line;
    size_t len;
    sigset_t saved;
    int flushed;

    if (!a->plain && a->log == NULL)
        return;
    if (a->plain)
        signals_open(a, &saved);
    for (;;) {
        int rc = rest ? wc_pane_take_rest(p, &line, &len) : wc_pane_take_line(p, &line, &len);
        if (rc != WC_PANE_OK)
            break;
        if (a->plain) {
            char *safe = malloc(len * 3 + 1);
            size_t safe_len;
            if (safe == NULL)
                break;
            wc_text_sanitize_line(line, len, safe, len * 3 + 1, &safe_len);
            fwrite(safe, 1, safe_len, stdout);
            fputc('\n', stdout);
            free(safe);
        }
        log_line(a, "peer", line, len);
    }
    if (!a->plain)
        return;
    flushed = fflush(stdout) == 0;
    signals_close(a, &saved);
    if (!flushed && !a->done)
        fail(a, WC_EXIT_IO, "cannot write to stdout: %s", strerror(errno));
}

/* Insert into the box. A full box that ends with a completed line is
 * cleared first (the peer keeps what it has; a hub has taken the lines);
 * a full box in the middle of a line refuses. Returns a wc_status. */
static int box_insert(struct wc_app *a, const char *text, size_t len, int newline)
{
    int rc = newline ? wc_session_newline(&a->s) : wc_session_insert(&a->s, text, len);

    if (rc == WC_EFULL && wc_session_box_at_line_start(&a->s)) {
        wc_session_clear(&a->s);
        wc_session_pump(&a->s);
        rc = newline ? wc_session_newline(&a->s) : wc_session_insert(&a->s, text, len);
    }
    return rc;
}

/* Send one line as typed text, then Enter: two frames, like a paste and a
 * key press in the original's box. */
static void send_line(struct wc_app *a, const char *text, size_t len)
{
    int rc = WC_OK;

    if (len > 0)
        rc = box_insert(a, text, len, 0);
    if (rc == WC_OK) {
        wc_session_pump(&a->s);
        rc = box_insert(a, NULL, 0, 1);
    }
    if (rc != WC_OK) {
        fail(a, WC_EXIT_LOCAL, "cannot send a line: %s", wc_strerror(rc));
        return;
    }
    wc_session_pump(&a->s);
    log_line(a, "me", text, len);
}

static void on_talking(struct wc_app *a)
{
    if (a->talking_seen)
        return;
    a->talking_seen = 1;
    a->hs_deadline = 0;
    if (a->conn.ssl == NULL)
        set_status(a, "Connected to %s", a->where);
    else if (a->conn.verified)
        set_status(a, "Connected to %s over %s, certificate verified", a->where, a->tls_desc);
    else if (a->opt.insecure)
        set_status(a, "Connected to %s over %s, certificate NOT verified (--insecure)", a->where,
                   a->tls_desc);
    else
        set_status(a, "Connected to %s over %s", a->where, a->tls_desc);
    if (a->opt.nick != NULL) {
        char cmd[WC_NICK_MAX + 8];
        snprintf(cmd, sizeof(cmd), "/nick %s", a->opt.nick);
        send_line(a, cmd, strlen(cmd));
    }
}

static void on_socket_readable(struct wc_app *a)
{
    char buf[WC_READ_CHUNK], err[WC_TLS_ERR_MAX];
    unsigned events = 0;
    size_t n;
    int rc;

    rc = wc_stream_read(&a->conn, buf, sizeof(buf), &n, err);
    if (rc == WC_TLS_AGAIN)
        return;
    if (rc == WC_TLS_EIO) {
        if (wc_session_state(&a->s) == WC_STATE_HANDSHAKE)
            fail(a, WC_EXIT_HANDSHAKE, "%s closed the connection before the handshake: %s",
                 a->where, err);
        else
            fail(a, WC_EXIT_IO, "connection to %s lost: %s", a->where, err);
        return;
    }
    if (rc == WC_TLS_EOF) {
        if (wc_session_state(&a->s) == WC_STATE_HANDSHAKE) {
            fail(a, WC_EXIT_HANDSHAKE,
                 "%s closed the connection without sending the WINTALK handshake", a->where);
            return;
        }
        a->peer_closed = 1;
        take_peer_lines(a, 1);
        set_status(a, "Peer closed the connection%s", a->plain ? "" : " (Ctrl-C to quit)");
        if (a->plain)
            a->done = 1;
        return;
    }
    /* Frame by frame: the lines of each state of the pane are taken before
     * the next frame can replace them. */
    for (size_t off = 0;;) {
        size_t used = 0;
        rc = wc_session_feed(&a->s, buf + off, n - off, &used, &events);
        off += used;
        if (events & WC_EV_TALKING)
            on_talking(a);
        if (events & WC_EV_PANE)
            take_peer_lines(a, 0);
        if (rc != WC_OK || used == 0 || off >= n || a->done)
            break;
    }
    if (rc == WC_EHANDSHAKE)
        fail(a, WC_EXIT_HANDSHAKE,
             "%s is not a WinTalk peer: its first bytes were not the handshake \"%s\"", a->where,
             WT_HANDSHAKE);
    else if (rc == WC_EPROTO)
        fail(a, WC_EXIT_PROTOCOL, "%s broke the WINTALK protocol: %s", a->where,
             wt_strerror(wc_session_wt_error(&a->s)));
    else if (rc != WC_OK)
        fail(a, WC_EXIT_LOCAL, "%s", wc_strerror(rc));
}

static void on_socket_writable(struct wc_app *a)
{
    size_t len, n;
    const char *out = wc_session_output(&a->s, &len);
    char err[WC_TLS_ERR_MAX];
    int rc;

    if (len == 0)
        return;
    /* The queue only grows at its end until consumed, so a TLS write
     * retried after AGAIN starts with the same bytes, as OpenSSL needs. */
    rc = wc_stream_write(&a->conn, out, len, &n, err);
    if (rc == WC_TLS_AGAIN)
        return;
    if (rc != WC_TLS_OK) {
        fail(a, WC_EXIT_IO, "connection to %s lost: %s", a->where, err);
        return;
    }
    wc_session_consume(&a->s, n);
}

/* Take the TLS handshake a step further (nothing to do for plain TCP).
 * Returns nonzero once the connection is open for the talk. */
static int on_tls_step(struct wc_app *a)
{
    char err[WC_TLS_ERR_MAX];
    int rc;

    if (a->conn.open)
        return 1;
    rc = wc_stream_handshake(&a->conn, err);
    if (rc == WC_TLS_AGAIN)
        return 0;
    if (rc == WC_TLS_EVERIFY) {
        fail(a, WC_EXIT_TLS_VERIFY, "refusing %s: its certificate cannot be verified (%s). %s",
             a->where, err,
             a->conn.wrong_name
                 ? "It was made for another host name or address: call one it names, or skip "
                   "verification with --insecure."
                 : "Give the CA that signed it with --ca FILE, or skip verification with "
                   "--insecure.");
        return 0;
    }
    if (rc != WC_TLS_OK) {
        fail(a, WC_EXIT_TLS, "TLS handshake with %s failed: %s", a->where, err);
        return 0;
    }
    wc_stream_describe(&a->conn, a->tls_desc, sizeof(a->tls_desc));
    if (wc_session_state(&a->s) == WC_STATE_IDLE) {
        /* The listener: the talk starts with our handshake. */
        rc = wc_session_start(&a->s);
        if (rc != WC_OK) {
            fail(a, WC_EXIT_LOCAL, "%s", wc_strerror(rc));
            return 0;
        }
        on_talking(a);
    } else {
        set_status(a, "Connected to %s over %s, certificate %s; waiting for the handshake",
                   a->where, a->tls_desc, a->conn.verified ? "verified" : "NOT verified");
    }
    return 1;
}

/* The connection is ready for something (or TLS holds decrypted bytes):
 * handshake, read, and write what is queued. Every call that cannot go on
 * says so (AGAIN) and the loop polls for what it asked for. */
static void on_socket(struct wc_app *a)
{
    size_t qlen;

    if (!on_tls_step(a) || a->done)
        return;
    on_socket_readable(a);
    wc_session_output(&a->s, &qlen);
    if (!a->done && !a->peer_closed && qlen > 0)
        on_socket_writable(a);
}

static void on_accept(struct wc_app *a)
{
    char err[WC_NET_ERR_MAX > WC_TLS_ERR_MAX ? WC_NET_ERR_MAX : WC_TLS_ERR_MAX];
    int fd = -1;
    int rc = wc_net_accept(a->lfd, &fd, a->where, sizeof(a->where), err);

    if (rc == WC_NET_ECONNECT)
        return;
    if (rc != WC_NET_OK) {
        fail(a, WC_EXIT_CONNECT, "%s", err);
        return;
    }
    /* One caller, as the original: stop listening. */
    close(a->lfd);
    a->lfd = -1;
    if (a->tls != NULL) {
        /* The talk starts once the TLS handshake is done (on_tls_step),
         * and both handshakes together get WC_HANDSHAKE_MS. */
        rc = wc_stream_tls(&a->conn, fd, a->tls, NULL, err);
        if (rc != WC_TLS_OK) {
            fail(a, WC_EXIT_LOCAL, "%s", err);
            return;
        }
        a->hs_deadline = now_ms() + WC_HANDSHAKE_MS;
        set_status(a, "%s called; TLS handshake", a->where);
        return;
    }
    wc_stream_plain(&a->conn, fd);
    rc = wc_session_start(&a->s);
    if (rc != WC_OK) {
        fail(a, WC_EXIT_LOCAL, "%s", wc_strerror(rc));
        return;
    }
    on_talking(a);
}

/* Pipe mode: send every complete line waiting in the stdin buffer, while
 * the output queue has room. A line longer than WC_STDIN_LINE_MAX goes in
 * pieces, each sent as a line, cut between characters (wc_text_cut: never
 * an empty piece, so any input moves on). At the end of input, the last
 * partial line goes too. Bytes that are not UTF-8 go as U+FFFD (the box
 * sanitizes what is inserted). */
static void send_stdin_lines(struct wc_app *a)
{
    size_t off = 0;

    while (off < a->in_len && !a->done) {
        const char *s = a->in + off, *nl;
        size_t qlen, avail = a->in_len - off, len, next;

        wc_session_output(&a->s, &qlen);
        if (qlen > WC_OUT_MAX / 2 || wc_session_box_dirty(&a->s))
            break;
        nl = memchr(s, '\n', avail);
        if (nl != NULL)
            len = (size_t)(nl - s); /* the whole line is here */
        else if (a->stdin_done || avail >= WC_STDIN_LINE_MAX + WC_TEXT_CUT_LOOKAHEAD)
            len = avail; /* the last line, or enough of a long one to cut */
        else
            break;
        if (len > WC_STDIN_LINE_MAX) {
            len = wc_text_cut(s, len, WC_STDIN_LINE_MAX);
            next = off + len;
        } else {
            next = off + len + (nl != NULL);
            if (len > 0 && s[len - 1] == '\r')
                len--;
        }
        send_line(a, s, len);
        off = next;
    }
    memmove(a->in, a->in + off, a->in_len - off);
    a->in_len -= off;
}

static void on_stdin_plain(struct wc_app *a)
{
    ssize_t n = read(STDIN_FILENO, a->in + a->in_len, WC_STDIN_BUF - a->in_len);

    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        fail(a, WC_EXIT_LOCAL, "cannot read stdin: %s", strerror(errno));
        return;
    }
    if (n == 0)
        a->stdin_done = 1;
    a->in_len += (size_t)n;
}

static void on_key(struct wc_app *a, const struct wc_ui_input *in)
{
    size_t len;
    const char *line;
    int rc = WC_OK;

    switch (in->key) {
    case WC_UI_TEXT:
        rc = box_insert(a, in->text, in->len, 0);
        break;
    case WC_UI_ENTER:
        line = wc_session_box_line(&a->s, &len);
        log_line(a, "me", line, len);
        rc = box_insert(a, NULL, 0, 1);
        break;
    case WC_UI_BACKSPACE:
        wc_session_backspace(&a->s);
        break;
    case WC_UI_CLEAR:
        wc_session_clear(&a->s);
        break;
    case WC_UI_QUIT:
        a->done = 1;
        break;
    default:
        break;
    }
    if (rc == WC_EFULL)
        wc_ui_beep(a->ui);
}

/* Signals are let in only inside ppoll() (see run). But ppoll() that finds
 * a descriptor ready at once returns without delivering a signal that is
 * pending, and the mask closes again: a terminal that hung up, or a peer
 * that never stops sending, is ready on every turn, and a SIGTERM would
 * wait for ever. So each turn lets in here whatever is pending. */
static void take_pending_signals(const sigset_t *watched, const sigset_t *open_mask)
{
    sigset_t pending, closed;
    int sig;

    if (sigpending(&pending) != 0)
        return;
    for (sig = 1; sig < NSIG; sig++) {
        if (sigismember(watched, sig) == 1 && sigismember(&pending, sig) == 1) {
            sigprocmask(SIG_SETMASK, open_mask, &closed);
            sigprocmask(SIG_SETMASK, &closed, NULL);
            return;
        }
    }
}

static void run(struct wc_app *a)
{
    struct pollfd pfd[3];
    int ui_dirty = 1;
    sigset_t block, open_mask;

    /* Signals arrive only inside ppoll(): a resize or a Ctrl-C between the
     * checks below and the wait would otherwise sit unseen until the next
     * key or byte. (ncurses' own SIGWINCH handler records the resize; the
     * next read returns KEY_RESIZE.) */
    sigemptyset(&block);
    sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &open_mask);
    a->open_mask = open_mask;
    a->signals_blocked = 1;

    while (!a->done) {
        int n = 0, i_in = -1, i_l = -1, i_s = -1, timeout = -1, rc, pending = 0;
        size_t qlen;
        long long now;

        take_pending_signals(&block, &open_mask);
        if (got_signal) {
            fail(a, WC_EXIT_SIGNAL, "stopped by signal %d", (int)got_signal);
            break;
        }
        wc_session_pump(&a->s);
        if (a->plain && wc_session_state(&a->s) == WC_STATE_TALKING)
            send_stdin_lines(a);
        if (a->done)
            break;
        wc_session_output(&a->s, &qlen);

        /* Pipe mode, input over and everything written: half-close, then
         * wait a little for the peer to close. */
        if (a->plain && a->stdin_done && a->in_len == 0 && a->conn.fd >= 0 && !a->write_shut &&
            wc_session_state(&a->s) == WC_STATE_TALKING && qlen == 0 &&
            !wc_session_box_dirty(&a->s)) {
            char err[WC_TLS_ERR_MAX];
            rc = wc_stream_shutdown_write(&a->conn, err);
            a->shut_pending = rc == WC_TLS_AGAIN;
            if (rc == WC_TLS_EIO) {
                fail(a, WC_EXIT_IO, "connection to %s lost: %s", a->where, err);
                break;
            }
            if (rc == WC_TLS_OK) {
                a->write_shut = 1;
                a->linger_deadline = now_ms() + WC_LINGER_MS;
            }
        }

        if (!a->plain) {
            if (ui_dirty) {
                size_t plen, blen;
                char shown[WC_STATUS_SHOWN_MAX];
                const char *peer = wc_pane_text(wc_session_pane(&a->s), &plen);
                const char *box = wc_session_box(&a->s, &blen);
                wc_ui_draw(a->ui, peer, plen, box, blen, shown_status(a, shown, sizeof(shown)),
                           peer_line_look);
                ui_dirty = 0;
            }
            pfd[n].fd = STDIN_FILENO;
            pfd[n].events = POLLIN;
            i_in = n++;
        } else if (!a->stdin_done && a->in_len < WC_STDIN_BUF &&
                   wc_session_state(&a->s) == WC_STATE_TALKING && qlen <= WC_OUT_MAX / 2) {
            pfd[n].fd = STDIN_FILENO;
            pfd[n].events = POLLIN;
            i_in = n++;
        }
        if (a->lfd >= 0) {
            pfd[n].fd = a->lfd;
            pfd[n].events = POLLIN;
            i_l = n++;
        }
        if (a->conn.fd >= 0 && !a->peer_closed) {
            pfd[n].fd = a->conn.fd;
            pfd[n].events = wc_stream_events(&a->conn, qlen > 0 || a->shut_pending);
            i_s = n++;
            /* Bytes TLS decrypted already do not wake poll(): do not wait. */
            pending = wc_stream_pending(&a->conn);
        }
        now = now_ms();
        if (a->hs_deadline) {
            if (now >= a->hs_deadline) {
                fail(a, WC_EXIT_TIMEOUT, "no %s handshake from %s within %d s",
                     a->conn.open ? "WINTALK" : "TLS", a->where, WC_HANDSHAKE_MS / 1000);
                break;
            }
            timeout = (int)(a->hs_deadline - now);
        }
        if (a->linger_deadline) {
            if (now >= a->linger_deadline) {
                take_peer_lines(a, 1);
                break;
            }
            timeout = (int)(a->linger_deadline - now);
        }
        if (pending)
            timeout = 0;
        if (n == 0 && timeout < 0) {
            /* Pipe mode with nothing left to wait for. */
            take_peer_lines(a, 1);
            break;
        }
        if (timeout >= 0) {
            struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
            rc = ppoll(pfd, (nfds_t)n, &ts, &open_mask);
        } else {
            rc = ppoll(pfd, (nfds_t)n, NULL, &open_mask);
        }
        if (rc < 0) {
            if (errno == EINTR) {
                ui_dirty = 1; /* perhaps SIGWINCH: the next read sees it */
                if (!a->plain) {
                    struct wc_ui_input in;
                    while (!a->done && wc_ui_read(a->ui, &in))
                        on_key(a, &in);
                }
                continue;
            }
            fail(a, WC_EXIT_LOCAL, "poll: %s", strerror(errno));
            break;
        }
        if (i_s >= 0 && (pfd[i_s].revents != 0 || pending)) {
            on_socket(a);
            ui_dirty = 1;
        }
        if (!a->done && i_l >= 0 && (pfd[i_l].revents & POLLIN)) {
            on_accept(a);
            ui_dirty = 1;
        }
        if (!a->done && i_in >= 0 && !a->plain &&
            (pfd[i_in].revents & (POLLHUP | POLLERR | POLLNVAL))) {
            /* The terminal hung up (its window closed, its tmux session
             * killed): a read would give EOF or EIO on every turn. Nobody
             * is left to talk, so end now rather than spin. */
            fail(a, WC_EXIT_LOCAL, "the terminal is gone");
            break;
        }
        if (!a->done && i_in >= 0 && (pfd[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (a->plain) {
                on_stdin_plain(a);
            } else {
                struct wc_ui_input in;
                while (!a->done && wc_ui_read(a->ui, &in))
                    on_key(a, &in);
                ui_dirty = 1;
            }
        }
        if (a->peer_closed && a->conn.fd >= 0)
            wc_stream_close(&a->conn);
    }
}

/* Listen, or call, as the options say. Returns 0, or an exit status. */
static int open_connection(struct wc_app *a, const char *default_port)
{
    char err[WC_NET_ERR_MAX > WC_TLS_ERR_MAX ? WC_NET_ERR_MAX : WC_TLS_ERR_MAX];
    enum wc_role role;
    int rc, fd = -1;

    a->port = a->opt.port[0] ? a->opt.port : default_port;
    if (a->opt.mode != WC_MODE_CONNECT) {
        /* Load the certificate before listening: a bad file is said at
         * once, not when someone calls. */
        if (a->opt.tls && wc_tls_server_new(&a->tls, a->opt.cert, a->opt.key, err) != WC_TLS_OK) {
            fprintf(stderr, "wintalk: %s\n", err);
            return WC_EXIT_LOCAL;
        }
        rc = wc_net_listen(a->opt.host, a->port, &a->lfd, err);
        if (rc == WC_NET_OK) {
            wc_session_init(&a->s, WC_ROLE_LISTENER);
            wc_net_format(a->opt.host, a->port, a->where, sizeof(a->where));
            set_status(a, "Listening on %s", a->where);
            return 0;
        }
        if (rc != WC_NET_EINUSE || a->opt.mode == WC_MODE_LISTEN) {
            fprintf(stderr, "wintalk: %s\n", err);
            return WC_EXIT_CONNECT;
        }
        /* The original's way: someone listens here already, so call it. */
        snprintf(a->opt.host, sizeof(a->opt.host), "127.0.0.1");
        if (!a->opt.quiet && a->plain)
            fprintf(stderr, "wintalk: port %s is in use; calling 127.0.0.1:%s\n", a->port, a->port);
        wc_tls_free(a->tls);
        a->tls = NULL;
    }
    if (a->opt.tls) {
        if (wc_tls_client_new(&a->tls, a->opt.ca, a->opt.insecure, err) != WC_TLS_OK) {
            fprintf(stderr, "wintalk: %s\n", err);
            return WC_EXIT_LOCAL;
        }
        /* Said even with --quiet: it is not a status but a risk. */
        if (a->opt.insecure)
            fprintf(stderr,
                    "wintalk: warning: --insecure: the peer's certificate and host name "
                    "are not verified; the talk is encrypted, but anyone on the way "
                    "could pose as %s\n",
                    a->opt.host);
    }
    role = WC_ROLE_CALLER;
    wc_session_init(&a->s, role);
    wc_net_format(a->opt.host, a->port, a->where, sizeof(a->where));
    rc = wc_net_connect(a->opt.host, a->port, &fd, err);
    if (rc != WC_NET_OK) {
        fprintf(stderr, "wintalk: %s\n", err);
        return WC_EXIT_CONNECT;
    }
    /* The deadline runs from the TCP connection: the TLS handshake and
     * the WINTALK one share it. */
    a->hs_deadline = now_ms() + WC_HANDSHAKE_MS;
    wc_session_start(&a->s);
    if (a->tls != NULL) {
        rc = wc_stream_tls(&a->conn, fd, a->tls, a->opt.host, err);
        if (rc != WC_TLS_OK) {
            fprintf(stderr, "wintalk: %s\n", err);
            return WC_EXIT_LOCAL;
        }
        set_status(a, "Connected to %s, TLS handshake", a->where);
        return 0;
    }
    wc_stream_plain(&a->conn, fd);
    set_status(a, "Connected to %s, waiting for the handshake", a->where);
    return 0;
}

/* Text must go out as UTF-8: prefer the user's locale, and fall back to
 * C.UTF-8 for the character type when the user's is not UTF-8. */
static void setup_locale(void)
{
    setlocale(LC_ALL, "");
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8");
}

int main(int argc, char **argv)
{
    struct wc_app app;
    struct sigaction sa;
    char err[256];
    const char *env_port;
    const char *default_port;
    int rc;

    memset(&app, 0, sizeof(app));
    app.lfd = -1;
    app.conn.fd = -1;
    if (wc_args_parse(argc, argv, &app.opt, err, sizeof(err)) != 0) {
        fprintf(stderr, "wintalk: %s\nTry 'wintalk --help'.\n", err);
        return WC_EXIT_USAGE;
    }
    if (app.opt.help) {
        usage(stdout);
        return WC_EXIT_OK;
    }
    if (app.opt.version) {
        printf("wintalk %s\n", WC_VERSION);
        return WC_EXIT_OK;
    }
    env_port = getenv(app.opt.tls ? "WINTALK_TLS_PORT" : "WINTALK_PORT");
    default_port = app.opt.tls ? WC_DEFAULT_TLS_PORT : WC_DEFAULT_PORT;
    if (env_port != NULL && env_port[0] != '\0') {
        if (!wc_args_valid_port(env_port)) {
            fprintf(stderr, "wintalk: %s is not a port: %s\n",
                    app.opt.tls ? "WINTALK_TLS_PORT" : "WINTALK_PORT", env_port);
            return WC_EXIT_USAGE;
        }
        default_port = env_port;
    }
    setup_locale();
    app.plain = app.opt.plain || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() must wake up */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (app.opt.log != NULL) {
        app.log = fopen(app.opt.log, "a");
        if (app.log == NULL) {
            fprintf(stderr, "wintalk: cannot open log %s: %s\n", app.opt.log, strerror(errno));
            return WC_EXIT_LOCAL;
        }
    }
    if (app.plain) {
        app.in = malloc(WC_STDIN_BUF);
        if (app.in == NULL) {
            fprintf(stderr, "wintalk: out of memory\n");
            return WC_EXIT_LOCAL;
        }
    }
    rc = open_connection(&app, default_port);
    if (rc != 0) {
        wc_stream_close(&app.conn);
        wc_tls_free(app.tls);
        wc_session_free(&app.s);
        free(app.in);
        if (app.log)
            fclose(app.log);
        return rc;
    }
    if (!app.plain && wc_ui_start(&app.ui, app.opt.mouse) != 0) {
        fprintf(stderr, "wintalk: cannot start the terminal window (TERM=%s); try --plain\n",
                getenv("TERM") ? getenv("TERM") : "");
        app.exit_code = WC_EXIT_LOCAL;
        app.done = 1;
    }
    run(&app);
    if (app.plain && app.exit_code == WC_EXIT_SIGNAL)
        __fpurge(stdout); /* what no one read (that is why it is there) must
                           * not hold the exit in a write */
    if (app.ui != NULL)
        wc_ui_stop(app.ui);
    wc_stream_close(&app.conn);
    wc_tls_free(app.tls);
    if (app.lfd >= 0)
        close(app.lfd);
    wc_session_free(&app.s);
    free(app.in);
    if (app.log != NULL)
        fclose(app.log);
    return app.exit_code;
}
