/*
 * gw_tls.h - TLS on the gateway's listeners: the versions and suites both
 * the HTTPS/WSS port and the WINTALK-over-TLS port offer, and whether a
 * connection's handshake is done.
 *
 * Part of the program (server/).
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <libwebsockets.h>

/* TLS on a vhost about to be made: the certificate and key files, TLS 1.2
 * and newer only, forward-secret AEAD suites only (gw_tls.c). */
void gw_tls_options(struct lws_context_creation_info *info, const char *cert, const char *key);

/* Whether a TLS connection's handshake is complete. */
int gw_tls_done(struct lws *wsi);

#endif /* GW_TLS_H */
