/*
 * gw_files.h - the page's static files: a request path mapped onto a file
 * under the web root (never outside it), and its media type.
 *
 * Part of the program (server/); gw_serve_http.c serves what it finds.
 */
#ifndef GW_FILES_H
#define GW_FILES_H

#include <stddef.h>

/*
 * Map a request path onto a regular file under root (a real path, no
 * trailing slash) into out; a directory maps to its index.html. Returns 0,
 * or -1 for a path refused or not found (see gw_files.c for the rules).
 */
int gw_files_resolve(const char *root, const char *uri, char *out, size_t out_len);

/* The Content-Type for a file name, by its extension
 * ("application/octet-stream" when unknown). */
const char *gw_files_mime(const char *path);

#endif /* GW_FILES_H */
