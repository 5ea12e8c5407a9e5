/*
 * wc_args.c - command line parsing for wintalk.
 *
 * Pure: no I/O. See wc_args.h.
 */
#include "wc_args.h"

#include <stdio.h>
#include <string.h>

int wc_args_valid_port(const char *s)
{
    unsigned long v = 0;
    size_t i;

    if (s == NULL || s[0] == '\0' || strlen(s) > 5)
        return 0;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

static int copy(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int wc_args_split_address(const char *s, int port_only_ok, char host[WC_HOST_MAX],
                          char port[WC_PORT_MAX])
{
    const char *colon;

    host[0] = '\0';
    port[0] = '\0';
    if (s == NULL || s[0] == '\0')
        return -1;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end == s + 1)
            return -1;
        if (copy(host, WC_HOST_MAX, s + 1, (size_t)(end - s - 1)) != 0)
            return -1;
        if (end[1] == '\0')
            return 0;
        if (end[1] != ':' || !wc_args_valid_port(end + 2))
            return -1;
        return copy(port, WC_PORT_MAX, end + 2, strlen(end + 2));
    }
    if (port_only_ok && wc_args_valid_port(s))
        return copy(port, WC_PORT_MAX, s, strlen(s));
    colon = strchr(s, ':');
    if (colon == NULL || strchr(colon + 1, ':') != NULL)
        return copy(host, WC_HOST_MAX, s, strlen(s)); /* a name, or bare IPv6 */
    if (!wc_args_valid_port(colon + 1))
        return -1;
    if (copy(host, WC_HOST_MAX, s, (size_t)(colon - s)) != 0)
        return -1;
    return copy(port, WC_PORT_MAX, colon + 1, strlen(colon + 1));
}

static int is_switch(const char *a, char letter)
{
    return (a[0] == '/' || a[0] == '-') && (a[1] == letter || a[1] == letter + ('a' - 'A')) &&
           a[2] == '\0';
}

/* An operand of /C or /L: present and not another option. */
static int operand(int argc, char **argv, int i)
{
    return i < argc && argv[i][0] != '-' && !(argv[i][0] == '/' && strlen(argv[i]) == 2);
}

static int bad(char *err, size_t err_len, const char *what, const char *arg)
{
    snprintf(err, err_len, "%s%s%s", what, arg ? ": " : "", arg ? arg : "");
    return -1;
}

/* The TLS options agree with each other and with the mode. */
static int check_tls(const struct wc_options *o, char *err, size_t err_len)
{
    int listens = o->mode != WC_MODE_CONNECT;

    if (!o->tls) {
        if (o->ca != NULL)
            return bad(err, err_len, "--ca needs --tls", NULL);
        if (o->insecure)
            return bad(err, err_len, "--insecure needs --tls", NULL);
        if (o->cert != NULL || o->key != NULL)
            return bad(err, err_len, "--cert and --key need --tls", NULL);
        return 0;
    }
    if (o->ca != NULL && o->insecure)
        return bad(err, err_len, "--ca and --insecure exclude each other", NULL);
    if ((o->cert == NULL) != (o->key == NULL))
        return bad(err, err_len, "--cert and --key go together", NULL);
    if (!listens && o->cert != NULL)
        return bad(err, err_len, "--cert and --key are for listening, not with --connect", NULL);
    if (o->mode == WC_MODE_LISTEN && (o->ca != NULL || o->insecure))
        return bad(err, err_len, "--ca and --insecure are for calling, not with --listen", NULL);
    if (listens && o->cert == NULL)
        return bad(err, err_len,
                   "listening with --tls needs --cert FILE and --key FILE "
                   "(to call, use --tls --connect HOST[:PORT])",
                   NULL);
    return 0;
}

int wc_args_parse(int argc, char **argv, struct wc_options *o, char *err, size_t err_len)
{
    int i, have_mode = 0;

    memset(o, 0, sizeof(*o));
    o->mode = WC_MODE_DEFAULT;
    o->mouse = 1;
    if (err_len > 0)
        err[0] = '\0';
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "/?") == 0) {
            o->help = 1;
        } else if (strcmp(a, "--version") == 0) {
            o->version = 1;
        } else if (strcmp(a, "--plain") == 0) {
            o->plain = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--no-mouse") == 0) {
            o->mouse = 0;
        } else if (strcmp(a, "--tls") == 0) {
            o->tls = 1;
        } else if (strcmp(a, "--insecure") == 0) {
            o->insecure = 1;
        } else if (strcmp(a, "--ca") == 0 || strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return bad(err, err_len, "missing FILE after", a);
            if (strcmp(a, "--ca") == 0)
                o->ca = argv[++i];
            else if (strcmp(a, "--cert") == 0)
                o->cert = argv[++i];
            else
                o->key = argv[++i];
        } else if (strcmp(a, "--nick") == 0 || strcmp(a, "--log") == 0) {
            if (i + 1 >= argc)
                return bad(err, err_len, "missing argument after", a);
            if (a[2] == 'n') {
                const char *n = argv[++i];
                size_t k;
                if (n[0] == '\0' || strlen(n) > WC_NICK_MAX)
                    return bad(err, err_len, "bad nick (1 to 64 bytes)", n);
                for (k = 0; n[k] != '\0'; k++)
                    if ((unsigned char)n[k] < 0x20 || n[k] == 0x7F || n[k] == ' ')
                        return bad(err, err_len, "bad nick (no spaces or control characters)",
                                   NULL);
                o->nick = n;
            } else {
                o->log = argv[++i];
            }
        } else if (strcmp(a, "--connect") == 0) {
            if (have_mode++)
                return bad(err, err_len, "more than one of --connect and --listen", NULL);
            if (i + 1 >= argc)
                return bad(err, err_len, "missing HOST[:PORT] after", a);
            o->mode = WC_MODE_CONNECT;
            if (wc_args_split_address(argv[++i], 0, o->host, o->port) != 0)
                return bad(err, err_len, "bad address", argv[i]);
        } else if (strcmp(a, "--listen") == 0) {
            if (have_mode++)
                return bad(err, err_len, "more than one of --connect and --listen", NULL);
            o->mode = WC_MODE_LISTEN;
            if (i + 1 < argc && argv[i + 1][0] != '-') {
                if (wc_args_split_address(argv[++i], 1, o->host, o->port) != 0)
                    return bad(err, err_len, "bad listening address", argv[i]);
            }
        } else if (is_switch(a, 'C')) {
            /* The original: /C [address] [port] */
            if (have_mode++)
                return bad(err, err_len, "more than one of --connect and --listen", NULL);
            o->mode = WC_MODE_CONNECT;
            if (operand(argc, argv, i + 1)) {
                if (wc_args_split_address(argv[++i], 0, o->host, o->port) != 0)
                    return bad(err, err_len, "bad address", argv[i]);
                if (operand(argc, argv, i + 1)) {
                    if (!wc_args_valid_port(argv[i + 1]))
                        return bad(err, err_len, "bad port", argv[i + 1]);
                    i++;
                    copy(o->port, WC_PORT_MAX, argv[i], strlen(argv[i]));
                }
            }
        } else if (is_switch(a, 'L')) {
            /* The original: /L [port] */
            if (have_mode++)
                return bad(err, err_len, "more than one of --connect and --listen", NULL);
            o->mode = WC_MODE_ORIG_LISTEN;
            if (operand(argc, argv, i + 1)) {
                if (!wc_args_valid_port(argv[i + 1]))
                    return bad(err, err_len, "bad port", argv[i + 1]);
                i++;
                copy(o->port, WC_PORT_MAX, argv[i], strlen(argv[i]));
            }
        } else {
            return bad(err, err_len, "unknown argument", a);
        }
    }
    if (o->mode == WC_MODE_CONNECT && o->host[0] == '\0')
        copy(o->host, WC_HOST_MAX, "127.0.0.1", 9);
    return check_tls(o, err, err_len);
}
