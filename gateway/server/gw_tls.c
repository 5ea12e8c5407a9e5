/*
 * gw_tls.c - TLS on the gateway's listeners (gw_tls.h).
 */
#include "gw_tls.h"

#include <openssl/ssl.h>

/*
 * The TLS 1.2 suites both listeners offer: Mozilla's "intermediate" server
 * profile, ECDHE key exchange only (forward secrecy) with an AEAD cipher
 * (AES-GCM or ChaCha20-Poly1305). No CBC suite (LUCKY13 and its kin), no
 * static-RSA key exchange. TLS 1.3 has only AEAD suites: OpenSSL's
 * defaults, named here so that the whole offer reads in one place.
 */
#define GW_TLS12_CIPHERS                                                                     \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                             \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                             \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GW_TLS13_CIPHERS "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

void gw_tls_options(struct lws_context_creation_info *info, const char *cert, const char *key)
{
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = cert;
    info->ssl_private_key_filepath = key;
    info->ssl_cipher_list = GW_TLS12_CIPHERS;
    info->tls1_3_plus_cipher_list = GW_TLS13_CIPHERS;
    info->ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                            SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION;
}

int gw_tls_done(struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(wsi);
    return ssl && SSL_is_init_finished(ssl);
}
