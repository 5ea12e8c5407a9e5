/*
 * wc_text.h - making a peer's text safe and measurable for a terminal.
 *
 * Pure: no I/O, no curses (only wcwidth() from the C library, which follows
 * the LC_CTYPE locale). Nothing a peer sends may reach the terminal as a
 * command, so every character goes through wc_text_display_cp() on its way
 * to the screen: control characters become visible placeholders (ESC shows
 * as U+241B, BEL as U+2407, ...), never the control itself.
 */
#ifndef WC_TEXT_H
#define WC_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

/* Columns a tab stop spans on screen (tabs are drawn as spaces). */
#define WC_TAB_WIDTH 8

/* The character shown for cannot-show characters (C1 controls, unprintable
 * code points, bidirectional overrides). */
#define WC_TEXT_REPLACEMENT 0xFFFDu

/*
 * The character at the start of s (len > 0 bytes of any content), read by
 * the shared codec's rules (wt_utf8_next): stores the
 * code point in *cp and returns the number of bytes it takes (1 to 4). An
 * invalid sequence (overlong form, surrogate, past U+10FFFF, stray or
 * missing continuation byte) yields U+FFFD and takes the bytes of its
 * maximal invalid subsequence, which the codec replaces with one U+FFFD;
 * so walking a text gives exactly the characters of its sanitized form,
 * and always moves on.
 */
size_t wc_text_next(const char *s, size_t len, uint32_t *cp);

/* Bytes past the cut that wc_text_cut() looks at: a character that starts
 * before the cut ends at most this far past it. */
#define WC_TEXT_CUT_LOOKAHEAD 3

/*
 * Where to cut s (len bytes of any content) so that the piece before the
 * cut holds at most max bytes and no character is cut in two: before the
 * character (or the invalid sequence the codec replaces with one U+FFFD,
 * as wc_text_next reads them) that would straddle max, otherwise at max.
 * For the answer to hold, s must hold max + WC_TEXT_CUT_LOOKAHEAD bytes, or
 * be all there is (the end of the input ends any character).
 * Returns len if len <= max; else a cut in [max - 3, max], which is never 0
 * for max >= 4: a reader that cuts its input in pieces this way always
 * moves on, whatever the bytes.
 */
size_t wc_text_cut(const char *s, size_t len, size_t max);

/* Encode cp as UTF-8 into out (4 bytes of room). Returns the byte count;
 * surrogates and values past U+10FFFF encode U+FFFD. */
size_t wc_utf8_encode(uint32_t cp, char out[4]);

/*
 * What to show on a terminal for the code point cp, which is not '\n' or
 * '\t' (the caller lays those out). Control characters C0 map to their
 * Control Pictures (U+2400 + cp), DEL to U+2421, C1 controls, bidi
 * embedding/override/isolate controls and unprintable code points to
 * WC_TEXT_REPLACEMENT. Everything else is itself.
 */
uint32_t wc_text_display_cp(uint32_t cp);

/* Columns cp (already passed through wc_text_display_cp) takes: 0 for a
 * combining mark, 2 for a wide character, else 1. */
int wc_text_width(uint32_t cp);

/*
 * Lay out one screen row of UTF-8 text s (len bytes; invalid sequences show
 * as U+FFFD, as wc_text_next reads them) starting at byte pos,
 * for a row of width columns (width >= 2). Stores up to out_cap - 1 display
 * characters, NUL-terminated, in out (may be NULL to only measure), and
 * their column count in *cols. The row ends at a '\n' (consumed, with a
 * "\r" before it dropped), when the next character would not fit, or at
 * the end of s. Returns the byte position where the next row starts.
 * A position equal to len means the text is used up.
 */
size_t wc_text_row(const char *s, size_t len, size_t pos, int width, wchar_t *out, size_t out_cap,
                   int *cols);

/*
 * Copy len bytes of UTF-8 in to out as a single line safe to print: each
 * character (as wc_text_next reads it, so invalid sequences are replaced
 * as the codec replaces them) through wc_text_display_cp(), tabs kept, a
 * final "\r" dropped.
 * out needs 3 * len + 1 bytes; stores the length in *out_len and NUL-
 * terminates. Returns 0, or -1 if out_cap is too small (out holds a
 * truncated, still safe, line).
 */
int wc_text_sanitize_line(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len);

#endif /* WC_TEXT_H */
