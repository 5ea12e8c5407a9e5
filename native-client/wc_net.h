/*
 * wc_net.h - sockets for wintalk: resolve, connect, listen, accept.
 *
 * I/O adapter: this is where the client touches the network. It knows
 * nothing of WINTALK; wc_session.h does the protocol. Every socket it hands
 * out is non-blocking and close-on-exec; the caller owns it and closes it.
 */
#ifndef WC_NET_H
#define WC_NET_H

#include <stddef.h>

/* How long one connect() may take per address before trying the next. */
#define WC_CONNECT_TIMEOUT_MS 10000

/* Room for a message from these functions. */
#define WC_NET_ERR_MAX 512

enum wc_net_status {
    WC_NET_OK = 0,
    WC_NET_ERESOLVE = -1, /* the host name did not resolve */
    WC_NET_EINUSE = -2,   /* listen: the port is in use (EADDRINUSE) */
    WC_NET_ECONNECT = -3, /* connect: refused, unreachable or timed out */
    WC_NET_ESOCKET = -4,  /* another socket error */
};

/*
 * Call host:port (a name, IPv4 or IPv6 address), trying each address the
 * resolver gives in turn. On WC_NET_OK stores the connected socket in *fd
 * (caller closes). Otherwise writes a plain message into err
 * (WC_NET_ERR_MAX bytes). Blocks for up to WC_CONNECT_TIMEOUT_MS per address.
 * Returns WC_NET_OK, WC_NET_ERESOLVE, WC_NET_ECONNECT or WC_NET_ESOCKET.
 */
int wc_net_connect(const char *host, const char *port, int *fd, char *err);

/*
 * Listen on port at host ("" or NULL: every address, IPv6 and IPv4 where
 * the system allows). On WC_NET_OK stores the listening socket in *fd
 * (caller closes).
 * Returns WC_NET_OK, WC_NET_ERESOLVE, WC_NET_EINUSE or WC_NET_ESOCKET.
 */
int wc_net_listen(const char *host, const char *port, int *fd, char *err);

/*
 * Accept one caller on the listening socket lfd. On WC_NET_OK stores the
 * connection in *fd (caller closes) and its address, printable, in peer
 * (peer_len bytes). Returns WC_NET_OK, WC_NET_ECONNECT (nothing to accept
 * yet, try again on the next POLLIN) or WC_NET_ESOCKET.
 */
int wc_net_accept(int lfd, int *fd, char *peer, size_t peer_len, char *err);

/* "host:port" or "[v6]:port" for status lines, into out (len bytes). */
void wc_net_format(const char *host, const char *port, char *out, size_t len);

#endif /* WC_NET_H */
