/*
 * wc_args.h - the wintalk command line, and its exit statuses.
 *
 * Pure: no I/O. Reads argv into a struct wc_options; the caller prints
 * errors and help. Both the long options and the original program's
 * switches are understood:
 *
 *     wintalk [--connect HOST[:PORT] | --listen [[HOST:]PORT]] [options]
 *     wintalk --tls [--ca FILE | --insecure] --connect HOST[:PORT]
 *     wintalk --tls --cert FILE --key FILE --listen [[HOST:]PORT]
 *     wintalk /C [address] [port]     wintalk /L [port]    (also -C, -L)
 *     wintalk                         listen on the default port; if it is
 *                                     in use, call 127.0.0.1 on it instead
 */
#ifndef WC_ARGS_H
#define WC_ARGS_H

#include <stddef.h>

/* The original's port. The environment variable WINTALK_PORT replaces it
 * wherever a port is left out (it is read by the program, not here). */
#define WC_DEFAULT_PORT "5150"

/* With --tls: the gateway's WINTALK-over-TLS port. WINTALK_TLS_PORT
 * replaces it the same way. */
#define WC_DEFAULT_TLS_PORT "5151"

/* Room for a host name or address and for a port, with their NULs. */
#define WC_HOST_MAX 256
#define WC_PORT_MAX 8

/* Longest --nick, in bytes. */
#define WC_NICK_MAX 64

/* Exit statuses; --help and wintalk.1 list them. */
enum wc_exit {
    WC_EXIT_OK = 0,         /* quit, stdin ended, or the peer closed */
    WC_EXIT_IO = 1,         /* the connection failed while talking */
    WC_EXIT_USAGE = 2,      /* bad command line */
    WC_EXIT_CONNECT = 3,    /* could not resolve, connect or listen */
    WC_EXIT_HANDSHAKE = 4,  /* the peer sent something else than the handshake */
    WC_EXIT_TIMEOUT = 5,    /* no handshake within WC_HANDSHAKE_MS */
    WC_EXIT_PROTOCOL = 6,   /* the peer sent a malformed frame */
    WC_EXIT_LOCAL = 7,      /* terminal, log file, certificate file or memory trouble */
    WC_EXIT_TLS_VERIFY = 8, /* --tls: the peer's certificate could not be verified */
    WC_EXIT_TLS = 9,        /* --tls: the TLS handshake failed otherwise */
    WC_EXIT_SIGNAL = 130,   /* stopped by SIGINT, SIGTERM or SIGHUP */
};

enum wc_mode {
    WC_MODE_DEFAULT,     /* listen; call 127.0.0.1 when the port is in use */
    WC_MODE_CONNECT,     /* call */
    WC_MODE_LISTEN,      /* listen; a port in use is an error */
    WC_MODE_ORIG_LISTEN, /* /L: listen, with the original's fallback */
};

struct wc_options {
    enum wc_mode mode;
    char host[WC_HOST_MAX]; /* connect: the peer; listen: the address, "" = any */
    char port[WC_PORT_MAX]; /* "" = the default port */
    int plain;              /* --plain: pipe mode even on a terminal */
    int quiet;              /* --quiet: no status lines on stderr in pipe mode */
    int mouse;              /* the mouse wheel scrolls (--no-mouse clears) */
    int help;               /* --help */
    int version;            /* --version */
    const char *nick;       /* --nick NAME, borrowed from argv, or NULL */
    const char *log;        /* --log FILE, borrowed from argv, or NULL */
    int tls;                /* --tls: WINTALK over TLS */
    int insecure;           /* --insecure: do not verify the peer's certificate */
    const char *ca;         /* --ca FILE (PEM): trust these CAs instead of the system's */
    const char *cert;       /* --cert FILE (PEM): certificate chain when listening */
    const char *key;        /* --key FILE (PEM): its private key */
};

/*
 * Parse argv. On success returns 0; on a bad command line returns -1 and
 * writes a one-line reason (no newline) into err (err_len bytes).
 * The TLS options must agree: --ca, --insecure, --cert and --key need
 * --tls; --ca and --insecure exclude each other and are for calling;
 * --cert and --key go together and are for listening, which with --tls
 * needs them.
 * Strings in opts that are not copies are borrowed from argv.
 */
int wc_args_parse(int argc, char **argv, struct wc_options *opts, char *err, size_t err_len);

/*
 * Split "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address
 * (two colons or more) into host and port ("" when absent). A string of
 * digits alone is a port when port_only_ok, else a host.
 * Returns 0, or -1 for a malformed address or a bad port.
 */
int wc_args_split_address(const char *s, int port_only_ok, char host[WC_HOST_MAX],
                          char port[WC_PORT_MAX]);

/* Nonzero if s is a decimal port 1..65535. */
int wc_args_valid_port(const char *s);

#endif /* WC_ARGS_H */
