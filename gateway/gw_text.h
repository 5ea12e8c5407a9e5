/*
 * gw_text.h - text rules of the hub: what relayed text may contain, and
 * what a nick may be. Pure: no I/O.
 *
 * Validate at the edge, store canonical: text is valid UTF-8 (the codec or
 * the JSON layer checked it), then gw_text_clean() makes it canonical, and
 * from then on the hub only ever copies it.
 */
#ifndef GW_TEXT_H
#define GW_TEXT_H

#include <stddef.h>

/*
 * Canonical relayed text: copy len bytes of valid UTF-8 from in to out,
 * removing control characters (C0 other than tab and line ends, DEL, C1),
 * so no terminal escape sequence reaches anyone. Line ends: "\r\n" and a
 * lone "\r" become "\n" when multiline, and are removed otherwise. out must
 * hold len bytes (the result is never longer); returns the result's length.
 */
size_t gw_text_clean(const char *in, size_t len, char *out, int multiline);

/* Nick check results. */
enum gw_nick_status {
    GW_NICK_OK = 0,
    GW_NICK_EMPTY = -1,    /* no characters */
    GW_NICK_LONG = -2,     /* more than GW_NICK_MAX_CHARS characters */
    GW_NICK_CHARS = -3,    /* a character that is not allowed */
    GW_NICK_START = -4,    /* does not start with a letter */
    GW_NICK_RESERVED = -5, /* starts with "guest-" */
};

/*
 * Whether nick (len bytes of valid UTF-8) follows the nick rules: 1 to
 * GW_NICK_MAX_CHARS characters, letters of any script, digits, '_', '-',
 * '.', starting with a letter, not starting with "guest-" (any case).
 * "Letter" outside ASCII is approximated by excluding the blocks of
 * punctuation, symbols, marks, spaces and private use. Returns a
 * gw_nick_status.
 */
int gw_nick_check(const char *nick, size_t len);

/* English for a gw_nick_status. */
const char *gw_nick_strerror(int status);

/* Equality without regard to ASCII case (how nicks are compared). */
int gw_nick_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Length of the longest prefix of s (valid UTF-8) of at most max bytes that
 * does not split a character. */
size_t gw_utf8_cut(const char *s, size_t len, size_t max);

#endif /* GW_TEXT_H */
