/*
 * wc_tls.h - the connection wintalk talks through: plain TCP, or TLS with
 * OpenSSL over a non-blocking socket.
 *
 * I/O adapter: the event loop reads and writes through struct wc_stream
 * whichever the transport is, and asks it which poll() events it needs.
 * It knows nothing of WINTALK; wc_session.h does the protocol.
 *
 * TLS here means TLS 1.2 or newer. A caller verifies the peer's
 * certificate against the system's CAs (or the --ca file) and checks that
 * it is for the name or address called, sending that name as SNI; with
 * --insecure it checks neither. A listener presents --cert and --key and
 * asks nothing of its caller.
 *
 * Two things differ from a plain socket and are hidden here: a TLS read
 * may need the socket writable (and a write readable), so poll() must wait
 * for what the last call asked for (wc_stream_events); and OpenSSL may hold
 * decrypted bytes that poll() cannot see (wc_stream_pending).
 */
#ifndef WC_TLS_H
#define WC_TLS_H

#include <stddef.h>

/* Room for a message from these functions. */
#define WC_TLS_ERR_MAX 512

/* Room for a one-line description of a connection's TLS. */
#define WC_TLS_DESC_MAX 160

enum wc_tls_status {
    WC_TLS_OK = 0,
    WC_TLS_AGAIN = -1,      /* would block: poll for wc_stream_events(), call again */
    WC_TLS_EOF = -2,        /* read: the peer closed its side */
    WC_TLS_EVERIFY = -3,    /* handshake: the peer's certificate was not verified */
    WC_TLS_EHANDSHAKE = -4, /* handshake: any other failure (version, cipher, not TLS) */
    WC_TLS_EIO = -5,        /* a socket or TLS error on an open connection */
    WC_TLS_ECONFIG = -6,    /* a certificate, key or CA file could not be used */
    WC_TLS_ENOMEM = -7,     /* out of memory */
};

/* Settings shared by connections: an OpenSSL SSL_CTX. Opaque. */
struct wc_tls;

struct ssl_st; /* OpenSSL's SSL */

/* One connection. Fields are private to wc_tls.c; it is a struct so that
 * the caller can hold it by value. */
struct wc_stream {
    int fd;             /* the socket, -1 when closed; owned */
    struct ssl_st *ssl; /* NULL: plain TCP */
    int open;           /* the TLS handshake is done (always, for plain TCP) */
    short hs_want;      /* poll events the handshake waits for */
    short rd_want;      /* poll events a read waits for */
    short wr_want;      /* poll events a write (or shutdown) waits for */
    int verified;       /* the peer's certificate and name were checked */
    int failed;         /* a fatal TLS error: no close_notify on close */
    int wrong_name;     /* WC_TLS_EVERIFY: the certificate is for another host */
};

/*
 * Settings for calling: verify the peer against the CAs in ca_file (PEM),
 * or the system's CAs when ca_file is NULL; with insecure, verify nothing.
 * On WC_TLS_OK stores them in *out (free with wc_tls_free). Otherwise
 * writes a message into err (WC_TLS_ERR_MAX bytes).
 * Returns WC_TLS_OK, WC_TLS_ECONFIG or WC_TLS_ENOMEM.
 */
int wc_tls_client_new(struct wc_tls **out, const char *ca_file, int insecure, char *err);

/*
 * Settings for listening: present the certificate chain in cert_file and
 * the private key in key_file (both PEM). As wc_tls_client_new otherwise.
 * Returns WC_TLS_OK, WC_TLS_ECONFIG or WC_TLS_ENOMEM.
 */
int wc_tls_server_new(struct wc_tls **out, const char *cert_file, const char *key_file, char *err);

/* Free settings (NULL is fine). Connections made from them must be closed
 * first. */
void wc_tls_free(struct wc_tls *t);

/* A plain TCP connection over fd (non-blocking; the stream owns it). */
void wc_stream_plain(struct wc_stream *s, int fd);

/*
 * A TLS connection over fd (non-blocking; the stream owns it, even when
 * this fails). host: the name or address called, for SNI and the
 * certificate check (copied); NULL when t is for listening.
 * The handshake is done by wc_stream_handshake.
 * Returns WC_TLS_OK, WC_TLS_ECONFIG (a host OpenSSL cannot check) or
 * WC_TLS_ENOMEM, with a message in err.
 */
int wc_stream_tls(struct wc_stream *s, int fd, struct wc_tls *t, const char *host, char *err);

/*
 * Take the TLS handshake one step further. Returns WC_TLS_OK once it is
 * done (at once for plain TCP), WC_TLS_AGAIN while it waits for the
 * socket, or WC_TLS_EVERIFY / WC_TLS_EHANDSHAKE with a plain message in
 * err that names the reason (OpenSSL's X509_verify_cert_error_string for
 * a certificate; s->wrong_name when only the host did not match).
 */
int wc_stream_handshake(struct wc_stream *s, char *err);

/*
 * Read up to len bytes into buf; *got is how many. Returns WC_TLS_OK (with
 * *got > 0), WC_TLS_AGAIN, WC_TLS_EOF or WC_TLS_EIO (message in err).
 * A peer that closes without TLS's close_notify counts as WC_TLS_EOF, as
 * a plain TCP close does: a talk has no length to be cut short.
 */
int wc_stream_read(struct wc_stream *s, void *buf, size_t len, size_t *got, char *err);

/*
 * Write up to len bytes of buf; *put is how many went. After WC_TLS_AGAIN,
 * call again with the same bytes first (more may follow them; buf may have
 * moved). Returns WC_TLS_OK, WC_TLS_AGAIN or WC_TLS_EIO (message in err).
 */
int wc_stream_write(struct wc_stream *s, const void *buf, size_t len, size_t *put, char *err);

/*
 * Close the writing side (TLS close_notify, then a TCP half-close); reads
 * go on. Returns WC_TLS_OK, WC_TLS_AGAIN (call again when the socket is
 * ready) or WC_TLS_EIO.
 */
int wc_stream_shutdown_write(struct wc_stream *s, char *err);

/* The poll() events to wait for: what a read needs, and what a write
 * needs when want_write (bytes or a shutdown wait to go out). */
short wc_stream_events(const struct wc_stream *s, int want_write);

/* Nonzero when a read would return bytes without waiting (TLS has
 * decrypted them already): poll() would not wake for those. */
int wc_stream_pending(const struct wc_stream *s);

/* "TLSv1.3 (TLS_AES_256_GCM_SHA384)" into out (len bytes); "" for plain
 * TCP or before the handshake. */
void wc_stream_describe(const struct wc_stream *s, char *out, size_t len);

/* Free the TLS state and close the socket; on an open TLS connection
 * that has not sent it yet, send close_notify first (best effort, without
 * waiting). Safe to call twice. */
void wc_stream_close(struct wc_stream *s);

#endif /* WC_TLS_H */
