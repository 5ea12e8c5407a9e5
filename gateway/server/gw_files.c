/*
 * gw_files.c - the page's static files (gw_files.h).
 */
/* realpath() and strcasecmp() are X/Open, not plain POSIX. */
#define _DEFAULT_SOURCE

#include "gw_files.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Longest request path looked at. */
#define GW_PATH_MAX 1024

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".wasm", "application/wasm"},
};

const char *gw_files_mime(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (!strcasecmp(dot, mime_types[i].ext))
                return mime_types[i].type;
    return "application/octet-stream";
}

/*
 * Map a request path onto a file under the web root, or fail. Refuses any
 * path with a dot segment, a backslash, a control byte or a '%' (the path
 * lws hands us is already decoded once, so a '%' left over is an attempt at
 * double encoding), then resolves symlinks and insists the result is still
 * inside the root. A directory maps to its index.html.
 */
int gw_files_resolve(const char *root, const char *uri, char *out, size_t out_len)
{
    char rel[GW_PATH_MAX], joined[PATH_MAX];
    size_t n = strlen(uri);
    if (n == 0 || n >= sizeof rel || uri[0] != '/')
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)uri[i];
        if (ch < 0x20 || ch == 0x7F || ch == '\\' || ch == '%')
            return -1;
    }
    memcpy(rel, uri, n + 1);
    for (char *seg = rel; seg;) {
        char *next = strchr(seg + 1, '/');
        size_t sl = next ? (size_t)(next - seg - 1) : strlen(seg + 1);
        if ((sl == 1 && seg[1] == '.') || (sl == 2 && seg[1] == '.' && seg[2] == '.'))
            return -1;
        seg = next;
    }
    if (snprintf(joined, sizeof joined, "%s%s", root, rel) >= (int)sizeof joined)
        return -1;
    struct stat st;
    if (stat(joined, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t jl = strlen(joined);
        if (snprintf(joined + jl, sizeof joined - jl, "%sindex.html",
                     jl && joined[jl - 1] == '/' ? "" : "/") >= (int)(sizeof joined - jl))
            return -1;
    }
    char real[PATH_MAX];
    if (!realpath(joined, real))
        return -1;
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return -1;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    if (strlen(real) >= out_len)
        return -1;
    memcpy(out, real, strlen(real) + 1);
    return 0;
}
