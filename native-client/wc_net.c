/*
 * wc_net.c - resolve, connect, listen and accept for wintalk.
 *
 * I/O adapter over POSIX sockets; see wc_net.h.
 */
#define _GNU_SOURCE /* accept4, NI_MAXHOST */
#include "wc_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

void wc_net_format(const char *host, const char *port, char *out, size_t len)
{
    if (host == NULL || host[0] == '\0')
        snprintf(out, len, "%s", port);
    else if (strchr(host, ':') != NULL)
        snprintf(out, len, "[%s]:%s", host, port);
    else
        snprintf(out, len, "%s:%s", host, port);
}

/* Connect fd to ai, waiting up to WC_CONNECT_TIMEOUT_MS. Returns 0 or an
 * errno value. */
static int connect_one(int fd, const struct addrinfo *ai)
{
    struct pollfd pfd;
    socklen_t sl = sizeof(int);
    int rc, soerr = 0;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return errno;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    do
        rc = poll(&pfd, 1, WC_CONNECT_TIMEOUT_MS);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return ETIMEDOUT;
    if (rc < 0)
        return errno;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return errno;
    return soerr;
}

int wc_net_connect(const char *host, const char *port, int *fd, char *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char where[WC_NET_ERR_MAX / 2];
    int rc, last = 0;

    wc_net_format(host, port, where, sizeof(where));
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY || rc == EAI_NODATA) {
        /* AI_ADDRCONFIG hides ::1 when only loopback has IPv6: ask again. */
        hints.ai_flags = 0;
        rc = getaddrinfo(host, port, &hints, &res);
    }
    if (rc != 0) {
        snprintf(err, WC_NET_ERR_MAX, "cannot resolve %s: %s", where, gai_strerror(rc));
        return WC_NET_ERESOLVE;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0) {
            last = errno;
            continue;
        }
        if (nonblocking(s) < 0) {
            last = errno;
            close(s);
            continue;
        }
        last = connect_one(s, ai);
        if (last == 0) {
            freeaddrinfo(res);
            *fd = s;
            return WC_NET_OK;
        }
        close(s);
    }
    freeaddrinfo(res);
    snprintf(err, WC_NET_ERR_MAX, "cannot connect to %s: %s", where,
             last ? strerror(last) : "no address");
    return WC_NET_ECONNECT;
}

/* Bind and listen one socket. Returns 0 or an errno value. */
static int listen_one(int family, const struct sockaddr *sa, socklen_t salen, int *fd)
{
    int one = 1, zero = 0, e;
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (s < 0)
        return errno;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6)
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(s, sa, salen) < 0 || listen(s, 1) < 0 || nonblocking(s) < 0) {
        e = errno;
        close(s);
        return e;
    }
    *fd = s;
    return 0;
}

int wc_net_listen(const char *host, const char *port, int *fd, char *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char where[WC_NET_ERR_MAX / 2];
    int rc, e = 0;

    wc_net_format(host, port, where, sizeof(where));
    if (host == NULL || host[0] == '\0') {
        /* Every address: one IPv6 socket that takes IPv4 too, or IPv4 alone
         * where IPv6 is missing. */
        struct sockaddr_in6 a6;
        struct sockaddr_in a4;
        unsigned long p = strtoul(port, NULL, 10);

        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons((unsigned short)p);
        e = listen_one(AF_INET6, (const struct sockaddr *)&a6, sizeof(a6), fd);
        if (e == EAFNOSUPPORT || e == EADDRNOTAVAIL) {
            memset(&a4, 0, sizeof(a4));
            a4.sin_family = AF_INET;
            a4.sin_addr.s_addr = htonl(INADDR_ANY);
            a4.sin_port = htons((unsigned short)p);
            e = listen_one(AF_INET, (const struct sockaddr *)&a4, sizeof(a4), fd);
        }
    } else {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        rc = getaddrinfo(host, port, &hints, &res);
        if (rc != 0) {
            snprintf(err, WC_NET_ERR_MAX, "cannot resolve %s: %s", where, gai_strerror(rc));
            return WC_NET_ERESOLVE;
        }
        e = EADDRNOTAVAIL;
        for (ai = res; ai != NULL; ai = ai->ai_next) {
            e = listen_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, fd);
            if (e == 0 || e == EADDRINUSE)
                break;
        }
        freeaddrinfo(res);
    }
    if (e == 0)
        return WC_NET_OK;
    snprintf(err, WC_NET_ERR_MAX, "cannot listen on %s: %s", where, strerror(e));
    return e == EADDRINUSE ? WC_NET_EINUSE : WC_NET_ESOCKET;
}

int wc_net_accept(int lfd, int *fd, char *peer, size_t peer_len, char *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char h[NI_MAXHOST], p[NI_MAXSERV];
    int s = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (s < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
            return WC_NET_ECONNECT;
        snprintf(err, WC_NET_ERR_MAX, "accept: %s", strerror(errno));
        return WC_NET_ESOCKET;
    }
    if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        /* Show an IPv4 caller on a dual-stack socket as plain IPv4. */
        const char *hh = strncmp(h, "::ffff:", 7) == 0 && strchr(h + 7, ':') == NULL ? h + 7 : h;
        wc_net_format(hh, p, peer, peer_len);
    } else {
        snprintf(peer, peer_len, "a caller");
    }
    *fd = s;
    return WC_NET_OK;
}
