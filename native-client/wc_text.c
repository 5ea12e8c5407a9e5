/*
 * wc_text.c - placeholders for control characters, and row layout.
 *
 * Pure: no I/O. See wc_text.h. What is valid UTF-8, and what replaces what
 * is not, is the shared codec's decision (wt_codec.h): the client has no
 * UTF-8 decoder of its own, so a peer's bytes read the same in the
 * gateway, in the frame decoder and on this screen.
 */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include "wc_text.h"

#include <string.h>

#include "wt_codec.h"

size_t wc_text_next(const char *s, size_t len, uint32_t *cp)
{
    size_t used = 0;
    /* WT_OK or WT_EUTF8 (one U+FFFD for the maximal invalid sequence):
     * either way the codec says how far to go. */
    if (wt_utf8_next(s, len, cp, &used) == WT_EINVAL || used == 0) {
        *cp = WC_TEXT_REPLACEMENT;
        return 1;
    }
    return used;
}

size_t wc_text_cut(const char *s, size_t len, size_t max)
{
    size_t p, lo;
    uint32_t cp;

    if (len <= max)
        return len;
    /* A character or an invalid sequence starts at a byte that is not a
     * continuation byte (a stray continuation byte stands alone) and is
     * at most 4 bytes long; it never holds a non-continuation byte after
     * its first. So the only one that can straddle max starts at the last
     * such byte among the 3 before max. */
    lo = max >= 3 ? max - 3 : 0;
    for (p = max; p > lo; p--) {
        if (((unsigned char)s[p - 1] & 0xC0) != 0x80) {
            if (p - 1 + wc_text_next(s + p - 1, len - (p - 1), &cp) > max)
                return p - 1 > 0 ? p - 1 : max;
            break;
        }
    }
    return max;
}

size_t wc_utf8_encode(uint32_t cp, char out[4])
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = WC_TEXT_REPLACEMENT;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

uint32_t wc_text_display_cp(uint32_t cp)
{
    if (cp < 0x20)
        return 0x2400 + cp; /* Control Pictures: U+241B is ESC */
    if (cp == 0x7F)
        return 0x2421;
    if (cp >= 0x80 && cp <= 0x9F)
        return WC_TEXT_REPLACEMENT; /* C1: CSI, OSC, ... in one byte */
    /* Bidi embeddings, overrides and isolates can make text read as
     * something else; line and paragraph separators move the cursor on
     * some terminals. */
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
        cp == 0x2029)
        return WC_TEXT_REPLACEMENT;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return WC_TEXT_REPLACEMENT;
    if (wcwidth((wchar_t)cp) < 0)
        return WC_TEXT_REPLACEMENT;
    return cp;
}

int wc_text_width(uint32_t cp)
{
    int w = wcwidth((wchar_t)cp);

    if (w < 0)
        return 1;
    return w > 2 ? 2 : w;
}

size_t wc_text_row(const char *s, size_t len, size_t pos, int width, wchar_t *out, size_t out_cap,
                   int *cols)
{
    size_t n = 0;
    int col = 0;

    if (width < 2)
        width = 2;
    while (pos < len) {
        uint32_t cp;
        size_t used = wc_text_next(s + pos, len - pos, &cp);
        int w;

        if (cp == '\n') {
            pos += used;
            break;
        }
        if (cp == '\r' && pos + 1 < len && s[pos + 1] == '\n') {
            pos += 2;
            break;
        }
        if (cp == '\t') {
            int stop = (col / WC_TAB_WIDTH + 1) * WC_TAB_WIDTH;
            if (stop > width)
                stop = width;
            if (col >= width)
                break;
            while (col < stop) {
                if (out != NULL && n + 1 < out_cap)
                    out[n++] = L' ';
                col++;
            }
            pos += used;
            continue;
        }
        cp = wc_text_display_cp(cp);
        w = wc_text_width(cp);
        if (col + w > width)
            break;
        /* A combining mark with nothing before it in the row would attach
         * to whatever the terminal has there: show a space to carry it. */
        if (w == 0 && n == 0) {
            if (out != NULL && n + 1 < out_cap)
                out[n++] = L' ';
            col++;
        }
        if (out != NULL && n + 1 < out_cap)
            out[n++] = (wchar_t)cp;
        col += w;
        pos += used;
    }
    /* A full row followed by a line end: the line end belongs to it. */
    if (col >= width && pos < len) {
        if (s[pos] == '\n')
            pos++;
        else if (s[pos] == '\r' && pos + 1 < len && s[pos + 1] == '\n')
            pos += 2;
    }
    if (out != NULL && out_cap > 0)
        out[n] = L'\0';
    if (cols != NULL)
        *cols = col;
    return pos;
}

int wc_text_sanitize_line(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    size_t pos = 0, n = 0;

    if (out_cap == 0)
        return -1;
    if (len > 0 && in[len - 1] == '\r')
        len--;
    while (pos < len) {
        uint32_t cp;
        char enc[4];
        size_t k;

        pos += wc_text_next(in + pos, len - pos, &cp);
        if (cp != '\t')
            cp = wc_text_display_cp(cp);
        k = wc_utf8_encode(cp, enc);
        if (n + k + 1 > out_cap) {
            out[n] = '\0';
            *out_len = n;
            return -1;
        }
        memcpy(out + n, enc, k);
        n += k;
    }
    out[n] = '\0';
    *out_len = n;
    return 0;
}
