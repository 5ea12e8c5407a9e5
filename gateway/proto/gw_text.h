/*
 * gw_text.h - text rules of the hub: what relayed text may contain, and
 * what a nick may be. Pure: no I/O.
 *
 * Validate at the edge, store canonical: text is valid UTF-8 (the codec or
 * the JSON layer checked it), then gw_text_clean() makes it canonical, and
 * from then on the hub only ever copies it. Characters are read with the
 * codec's decoder (wt_utf8_next), so the gateway has one idea of valid
 * UTF-8; character properties, normalisation and case folding come from
 * utf8proc.
 */
#ifndef GW_TEXT_H
#define GW_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"

/*
 * Canonical relayed text: copy len bytes of UTF-8 from in to out,
 * removing control characters (C0 other than tab and line ends, DEL, C1),
 * so no terminal escape sequence reaches anyone. Line ends: "\r\n" and a
 * lone "\r" become "\n" when multiline, and are removed otherwise. Invalid
 * UTF-8 (which the edges already refuse or replace) is removed too, so the
 * result is always valid UTF-8. out must hold len bytes (the result is
 * never longer) and may be in itself; returns the result's length.
 */
size_t gw_text_clean(const char *in, size_t len, char *out, int multiline);

/*
 * Copy len bytes of valid UTF-8 from in to out without the bidirectional
 * controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), which
 * in a terminal or a WinTalk pane would reorder what follows them, other
 * people's lines included. out must hold len bytes and may be in itself;
 * returns the result's length.
 */
size_t gw_text_strip_bidi(const char *in, size_t len, char *out);

/* Nonzero if cp is a bidirectional control (the list above). */
int gw_is_bidi_control(uint32_t cp);

/* Whether cp is a letter (Unicode L*) or, with digits, a number (N*): a
 * character a word is made of. */
int gw_is_letter(uint32_t cp, int digits);

/* Nick check results. */
enum gw_nick_status {
    GW_NICK_OK = 0,
    GW_NICK_EMPTY = -1,     /* no characters */
    GW_NICK_LONG = -2,      /* more characters than allowed */
    GW_NICK_CHARS = -3,     /* a character that is not allowed */
    GW_NICK_START = -4,     /* does not start with a letter */
    GW_NICK_RESERVED = -5,  /* starts with "guest-" */
    GW_NICK_INVISIBLE = -6, /* an invisible, format, control or bidi character */
    GW_NICK_UTF8 = -7,      /* not valid UTF-8 */
    GW_NICK_YOU = -8,       /* "you", which a pane's private lines use */
};

/*
 * Check a nick (len bytes) and make its two forms.
 *
 * The rules: valid UTF-8; no default-ignorable code point (U+3164 HANGUL
 * FILLER, U+FEFF, U+200B, variation selectors, ...), no format (Cf) or
 * control (Cc) character and no bidirectional control (GW_NICK_INVISIBLE);
 * in Unicode NFC, 1 to max_chars characters (max_chars 0 or above
 * GW_NICK_MAX_CHARS means GW_NICK_MAX_CHARS), each a letter (L*), a
 * combining mark (Mn, Mc) after the first, a decimal digit (Nd) or one of
 * '_', '-', '.', the first a letter; the key not starting with "guest-"
 * (GW_NICK_RESERVED) and not "you" (GW_NICK_YOU: "* you -> bob: ..." in a
 * pane is the gateway's, so no one may be called you).
 *
 * On GW_NICK_OK, nick gets the display form (the NFC of what was given,
 * NUL-terminated, at most GW_NICK_MAX_BYTES bytes) and key the comparison
 * form (NFC and Unicode case folding, NUL-terminated): two nicks are the
 * same name when their keys are equal, so "Alice" and "alice", or a
 * precomposed and a decomposed "José", are one name. nick and key may be
 * NULL when only the verdict is wanted. On any other status neither is
 * written. Returns a gw_nick_status.
 */
int gw_nick_norm(const char *in, size_t len, unsigned max_chars, char nick[GW_NICK_MAX_BYTES + 1],
                 char key[GW_NICK_KEY_MAX_BYTES + 1]);

/* gw_nick_norm with GW_NICK_MAX_CHARS, for the verdict only. */
int gw_nick_check(const char *nick, size_t len);

/*
 * The comparison key of a nick the hub made itself (a guest name): NFC and
 * case folding of nick (NUL-terminated UTF-8), into key, NUL-terminated.
 * Returns GW_NICK_OK, GW_NICK_UTF8 or GW_NICK_LONG (the key would not fit).
 */
int gw_nick_key(const char *nick, char key[GW_NICK_KEY_MAX_BYTES + 1]);

/* English for a gw_nick_status. */
const char *gw_nick_strerror(int status);

/* Length of the longest prefix of s (valid UTF-8) of at most max bytes that
 * does not split a character. */
size_t gw_utf8_cut(const char *s, size_t len, size_t max);

#endif /* GW_TEXT_H */
