/*
 * gw_peer.c - peers' addresses and the per-address table (gw_peer.h).
 */
#include "gw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gw_limits.h"

/* Connections per address, for --max-per-address: a fixed table of the
 * addresses with connections open. */
struct addr_count {
    char ip[INET6_ADDRSTRLEN];
    unsigned n;
};
static struct addr_count addrs[GW_ADDR_TABLE_MAX];

/* Bound the kernel's share of a slow peer (GW_SOCKET_SNDBUF). */
void gw_peer_bound_socket(struct lws *wsi)
{
    int sz = GW_SOCKET_SNDBUF;
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

/* The peer's address alone, for the per-address count. */
void gw_peer_ip(struct lws *wsi, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    snprintf(out, len, "?");
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)len);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)len);
}

/* Count one more connection from ip; returns how many are open from it now
 * (0 when the table is full: then the connection is not counted). */
unsigned gw_addr_add(const char *ip)
{
    struct addr_count *free_slot = NULL;
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++) {
        if (addrs[i].n && !strcmp(addrs[i].ip, ip))
            return ++addrs[i].n;
        if (!addrs[i].n && !free_slot)
            free_slot = &addrs[i];
    }
    if (!free_slot)
        return 0;
    snprintf(free_slot->ip, sizeof free_slot->ip, "%s", ip);
    free_slot->n = 1;
    return 1;
}

unsigned gw_addr_count(const char *ip)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++)
        if (addrs[i].n && !strcmp(addrs[i].ip, ip))
            return addrs[i].n;
    return 0;
}

void gw_addr_del(const char *ip)
{
    for (size_t i = 0; i < GW_ADDR_TABLE_MAX; i++)
        if (addrs[i].n && !strcmp(addrs[i].ip, ip)) {
            addrs[i].n--;
            return;
        }
}

void gw_peer_name(struct lws *wsi, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    snprintf(out, len, "?");
    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        port = ntohs(s4->sin_port);
        snprintf(out, len, "%s:%d", ip, port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        port = ntohs(s6->sin6_port);
        snprintf(out, len, "[%s]:%d", ip, port);
    }
}
