/*
 * gw_peer.h - who is at the other end of a socket, and how many
 * connections each address has open (--max-per-address): a fixed table of
 * GW_ADDR_TABLE_MAX addresses, shared by the WINTALK ports and HTTP.
 *
 * Part of the program (server/).
 */
#ifndef GW_PEER_H
#define GW_PEER_H

#include <libwebsockets.h>

#include <stddef.h>

/* Room for gw_peer_name's "address:port" or "[v6 address]:port". */
#define GW_PEER_NAME_MAX 80

/* The peer's address and port, for the log ("?" when unknown). */
void gw_peer_name(struct lws *wsi, char *out, size_t len);

/* The peer's address alone, for the per-address count ("?"). */
void gw_peer_ip(struct lws *wsi, char *out, size_t len);

/* Bound the kernel's share of a slow peer (GW_SOCKET_SNDBUF). */
void gw_peer_bound_socket(struct lws *wsi);

/* Count one more connection from ip; returns how many are open from it
 * now (0 when the table is full: then the connection is not counted). */
unsigned gw_addr_add(const char *ip);

/* How many connections are open from ip. */
unsigned gw_addr_count(const char *ip);

/* One connection fewer from ip (counted by gw_addr_add). */
void gw_addr_del(const char *ip);

#endif /* GW_PEER_H */
