/*
 * wc_tls.c - plain TCP or TLS (OpenSSL) under one interface, for wintalk.
 *
 * I/O adapter; see wc_tls.h. Every OpenSSL call that can fail starts with
 * an empty error queue, so the reason reported is this call's.
 */
#include "wc_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct wc_tls {
    SSL_CTX *ctx;
    int insecure; /* calling without verification */
    int server;   /* settings for listening */
};

/* The newest reason in OpenSSL's error queue, or fallback. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    return r != NULL ? r : fallback;
}

/* Settings common to both sides: TLS 1.2 and newer, and writes that may
 * go out in part (the session's queue keeps the rest, and may move). */
static int ctx_new(struct wc_tls **out, int server, char *err)
{
    struct wc_tls *t = calloc(1, sizeof(*t));

    *out = NULL;
    if (t == NULL) {
        snprintf(err, WC_TLS_ERR_MAX, "out of memory");
        return WC_TLS_ENOMEM;
    }
    ERR_clear_error();
    t->server = server;
    t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (t->ctx == NULL) {
        snprintf(err, WC_TLS_ERR_MAX, "cannot set up TLS: %s", ssl_reason("out of memory"));
        free(t);
        return WC_TLS_ENOMEM;
    }
    if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
        snprintf(err, WC_TLS_ERR_MAX, "cannot require TLS 1.2: %s", ssl_reason("unknown"));
        wc_tls_free(t);
        return WC_TLS_ECONFIG;
    }
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* A WINTALK talk ends when the connection does; many peers (the .NET
     * programs behind a TLS proxy, libwebsockets) close without
     * close_notify. Treat that as the plain close it is. */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    *out = t;
    return WC_TLS_OK;
}

/* A file we are told to use must open: say so plainly if it does not,
 * before OpenSSL's terser reasons. */
static int readable(const char *what, const char *path, char *err)
{
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, WC_TLS_ERR_MAX, "cannot read %s %s: %s", what, path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

int wc_tls_client_new(struct wc_tls **out, const char *ca_file, int insecure, char *err)
{
    struct wc_tls *t;
    int rc = ctx_new(&t, 0, err);

    if (rc != WC_TLS_OK)
        return rc;
    t->insecure = insecure;
    if (insecure) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        ERR_clear_error();
        if (ca_file != NULL) {
            if (!readable("CA file", ca_file, err)) {
                wc_tls_free(t);
                return WC_TLS_ECONFIG;
            }
            if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
                snprintf(err, WC_TLS_ERR_MAX, "cannot use CA file %s: %s", ca_file,
                         ssl_reason("no certificate found"));
                wc_tls_free(t);
                return WC_TLS_ECONFIG;
            }
        } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
            snprintf(err, WC_TLS_ERR_MAX, "cannot load the system's CA certificates: %s",
                     ssl_reason("unknown"));
            wc_tls_free(t);
            return WC_TLS_ECONFIG;
        }
    }
    *out = t;
    return WC_TLS_OK;
}

int wc_tls_server_new(struct wc_tls **out, const char *cert_file, const char *key_file, char *err)
{
    struct wc_tls *t;
    int rc = ctx_new(&t, 1, err);

    if (rc != WC_TLS_OK)
        return rc;
    if (!readable("certificate", cert_file, err) || !readable("key", key_file, err)) {
        wc_tls_free(t);
        return WC_TLS_ECONFIG;
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
        snprintf(err, WC_TLS_ERR_MAX, "cannot use certificate %s: %s", cert_file,
                 ssl_reason("not a PEM certificate"));
        wc_tls_free(t);
        return WC_TLS_ECONFIG;
    }
    ERR_clear_error();
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            snprintf(err, WC_TLS_ERR_MAX, "key %s does not match certificate %s", key_file,
                     cert_file);
        else
            snprintf(err, WC_TLS_ERR_MAX, "cannot use key %s: %s", key_file,
                     ssl_reason("not a PEM private key"));
        wc_tls_free(t);
        return WC_TLS_ECONFIG;
    }
    ERR_clear_error();
    if (SSL_CTX_check_private_key(t->ctx) != 1) {
        snprintf(err, WC_TLS_ERR_MAX, "key %s does not match certificate %s", key_file, cert_file);
        wc_tls_free(t);
        return WC_TLS_ECONFIG;
    }
    *out = t;
    return WC_TLS_OK;
}

void wc_tls_free(struct wc_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

void wc_stream_plain(struct wc_stream *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->open = 1;
    s->rd_want = POLLIN;
    s->wr_want = POLLOUT;
}

/* Nonzero if host is a literal IPv4 or IPv6 address. */
static int is_ip(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

int wc_stream_tls(struct wc_stream *s, int fd, struct wc_tls *t, const char *host, char *err)
{
    SSL *ssl;

    wc_stream_plain(s, fd);
    s->open = 0;
    s->hs_want = t->server ? POLLIN : POLLOUT;
    ERR_clear_error();
    ssl = SSL_new(t->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        snprintf(err, WC_TLS_ERR_MAX, "cannot set up TLS: %s", ssl_reason("out of memory"));
        SSL_free(ssl);
        return WC_TLS_ENOMEM;
    }
    s->ssl = ssl;
    if (t->server) {
        SSL_set_accept_state(ssl);
        return WC_TLS_OK;
    }
    SSL_set_connect_state(ssl);
    if (host == NULL || host[0] == '\0') {
        snprintf(err, WC_TLS_ERR_MAX, "no host name to check the certificate against");
        return WC_TLS_ECONFIG;
    }
    if (is_ip(host)) {
        /* An address: the certificate must list it (an IP SAN). No SNI:
         * RFC 6066 allows names only. */
        if (!t->insecure && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) {
            snprintf(err, WC_TLS_ERR_MAX, "cannot check the certificate against %s", host);
            return WC_TLS_ECONFIG;
        }
    } else {
        if (SSL_set_tlsext_host_name(ssl, host) != 1) {
            snprintf(err, WC_TLS_ERR_MAX, "cannot send %s as the server name: %s", host,
                     ssl_reason("bad name"));
            return WC_TLS_ECONFIG;
        }
        if (!t->insecure) {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(ssl, host) != 1) {
                snprintf(err, WC_TLS_ERR_MAX, "cannot check the certificate against %s", host);
                return WC_TLS_ECONFIG;
            }
        }
    }
    return WC_TLS_OK;
}

/* An error of a call on an open connection, or of the handshake: the
 * socket's errno, the peer's unannounced close, or OpenSSL's reason. */
static void describe_failure(struct wc_stream *s, int e, char *err)
{
    unsigned long q = ERR_peek_last_error();

    s->failed = 1;
    if (e == SSL_ERROR_SYSCALL && q == 0) {
        if (errno != 0)
            snprintf(err, WC_TLS_ERR_MAX, "%s", strerror(errno));
        else
            snprintf(err, WC_TLS_ERR_MAX, "the peer closed the connection");
        return;
    }
    snprintf(err, WC_TLS_ERR_MAX, "%s", ssl_reason("TLS error"));
}

int wc_stream_handshake(struct wc_stream *s, char *err)
{
    int r, e;
    long v;

    if (s->open)
        return WC_TLS_OK;
    ERR_clear_error();
    errno = 0;
    r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->open = 1;
        s->verified = !SSL_is_server(s->ssl) && SSL_get_verify_mode(s->ssl) != SSL_VERIFY_NONE &&
                      SSL_get_verify_result(s->ssl) == X509_V_OK;
        return WC_TLS_OK;
    }
    e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        s->hs_want = POLLIN;
        return WC_TLS_AGAIN;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        s->hs_want = POLLOUT;
        return WC_TLS_AGAIN;
    }
    v = SSL_get_verify_result(s->ssl);
    if (!SSL_is_server(s->ssl) && v != X509_V_OK) {
        s->failed = 1;
        s->wrong_name = v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH;
        snprintf(err, WC_TLS_ERR_MAX, "%s", X509_verify_cert_error_string(v));
        return WC_TLS_EVERIFY;
    }
    describe_failure(s, e, err);
    if (ERR_GET_LIB(ERR_peek_last_error()) == ERR_LIB_SSL) {
        const char *why = NULL;
        size_t n = strlen(err);

        switch (ERR_GET_REASON(ERR_peek_last_error())) {
        case SSL_R_WRONG_VERSION_NUMBER:
            why = "the peer does not speak TLS on this port";
            break;
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_UNSUPPORTED_PROTOCOL:
            why = "the peer offers no TLS 1.2 or newer";
            break;
        default:
            break;
        }
        if (why != NULL)
            snprintf(err + n, WC_TLS_ERR_MAX - n, " (%s)", why);
    }
    return WC_TLS_EHANDSHAKE;
}

int wc_stream_read(struct wc_stream *s, void *buf, size_t len, size_t *got, char *err)
{
    int r, e;

    *got = 0;
    if (s->ssl == NULL) {
        ssize_t n = recv(s->fd, buf, len, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return WC_TLS_AGAIN;
            snprintf(err, WC_TLS_ERR_MAX, "%s", strerror(errno));
            return WC_TLS_EIO;
        }
        if (n == 0)
            return WC_TLS_EOF;
        *got = (size_t)n;
        return WC_TLS_OK;
    }
    ERR_clear_error();
    errno = 0;
    r = SSL_read_ex(s->ssl, buf, len, got);
    if (r == 1) {
        s->rd_want = POLLIN;
        return WC_TLS_OK;
    }
    e = SSL_get_error(s->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        s->rd_want = POLLIN;
        return WC_TLS_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        s->rd_want = POLLOUT;
        return WC_TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return WC_TLS_EOF;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_last_error() == 0 && errno == 0)
            return WC_TLS_EOF; /* closed without close_notify */
        break;
    case SSL_ERROR_SSL:
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
        if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return WC_TLS_EOF;
#endif
        break;
    default:
        break;
    }
    describe_failure(s, e, err);
    return WC_TLS_EIO;
}

int wc_stream_write(struct wc_stream *s, const void *buf, size_t len, size_t *put, char *err)
{
    int r, e;

    *put = 0;
    if (len == 0)
        return WC_TLS_OK;
    if (s->ssl == NULL) {
        ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return WC_TLS_AGAIN;
            snprintf(err, WC_TLS_ERR_MAX, "%s", strerror(errno));
            return WC_TLS_EIO;
        }
        *put = (size_t)n;
        return WC_TLS_OK;
    }
    ERR_clear_error();
    errno = 0;
    r = SSL_write_ex(s->ssl, buf, len, put);
    if (r == 1) {
        s->wr_want = POLLOUT;
        return WC_TLS_OK;
    }
    e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) {
        s->wr_want = POLLOUT;
        return WC_TLS_AGAIN;
    }
    if (e == SSL_ERROR_WANT_READ) {
        s->wr_want = POLLIN;
        return WC_TLS_AGAIN;
    }
    describe_failure(s, e, err);
    return WC_TLS_EIO;
}

int wc_stream_shutdown_write(struct wc_stream *s, char *err)
{
    if (s->ssl != NULL) {
        int r, e;

        ERR_clear_error();
        errno = 0;
        r = SSL_shutdown(s->ssl);
        if (r < 0) {
            e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                s->wr_want = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
                return WC_TLS_AGAIN;
            }
            describe_failure(s, e, err);
            return WC_TLS_EIO;
        }
        /* 0: close_notify went out, the peer's is still to come (reads go
         * on until then); 1: both are done. */
    }
    if (shutdown(s->fd, SHUT_WR) < 0 && errno != ENOTCONN) {
        snprintf(err, WC_TLS_ERR_MAX, "%s", strerror(errno));
        return WC_TLS_EIO;
    }
    return WC_TLS_OK;
}

short wc_stream_events(const struct wc_stream *s, int want_write)
{
    if (!s->open)
        return s->hs_want;
    return (short)(s->rd_want | (want_write ? s->wr_want : 0));
}

int wc_stream_pending(const struct wc_stream *s)
{
    return s->ssl != NULL && s->open && SSL_pending(s->ssl) > 0;
}

void wc_stream_describe(const struct wc_stream *s, char *out, size_t len)
{
    const SSL_CIPHER *c;

    if (len == 0)
        return;
    out[0] = '\0';
    if (s->ssl == NULL || !s->open)
        return;
    c = SSL_get_current_cipher(s->ssl);
    snprintf(out, len, "%s (%s)", SSL_get_version(s->ssl), c ? SSL_CIPHER_get_name(c) : "?");
}

void wc_stream_close(struct wc_stream *s)
{
    if (s->ssl != NULL) {
        if (s->open && !s->failed && !(SSL_get_shutdown(s->ssl) & SSL_SENT_SHUTDOWN)) {
            ERR_clear_error();
            SSL_shutdown(s->ssl);
        }
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->open = 0;
}
