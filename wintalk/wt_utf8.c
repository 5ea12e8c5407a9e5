/*
 * wt_utf8.c - UTF-8 validation, repair and UTF-16 unit counting.
 *
 * Pure: no I/O. WINTALK counts lengths in UTF-16 code units while its bytes
 * are UTF-8, so every count here is of units: one per code point, two for a
 * code point above U+FFFF. Invalid input is treated as if each maximal
 * invalid subsequence were U+FFFD, the WHATWG way.
 */
#include "wt_codec.h"
#include "wt_utf8_internal.h"

size_t wt_utf16_units(const char *s, size_t len)
{
    struct wt_utf8_state st;
    size_t units = 0;
    size_t i = 0;
    uint32_t cp;

    wt_utf8_state_init(&st);
    while (i < len) {
        switch (wt_utf8_step(&st, (uint8_t)s[i], &cp)) {
        case WT_STEP_MORE:
            i++;
            break;
        case WT_STEP_CP:
        case WT_STEP_BAD:
            i++;
            units += wt_cp_units(cp);
            break;
        case WT_STEP_REPLAY:
            units += 1;
            break;
        }
    }
    if (wt_utf8_pending(&st))
        units += 1; /* a truncated sequence counts as one U+FFFD */
    return units;
}

int wt_utf8_valid(const char *s, size_t len)
{
    struct wt_utf8_state st;
    uint32_t cp;

    wt_utf8_state_init(&st);
    for (size_t i = 0; i < len; i++) {
        enum wt_utf8_step_result r = wt_utf8_step(&st, (uint8_t)s[i], &cp);
        if (r == WT_STEP_BAD || r == WT_STEP_REPLAY)
            return 0;
    }
    return !wt_utf8_pending(&st);
}

int wt_utf8_sanitize(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    struct wt_utf8_state st;
    size_t o = 0;
    size_t i = 0;
    uint32_t cp;
    char tmp[4];

    if ((!in && len) || !out_len || (!out && out_cap))
        return WT_EINVAL;
    *out_len = 0;
    wt_utf8_state_init(&st);
    for (;;) {
        unsigned n;
        if (i < len) {
            enum wt_utf8_step_result r = wt_utf8_step(&st, (uint8_t)in[i], &cp);
            if (r == WT_STEP_MORE) {
                i++;
                continue;
            }
            if (r != WT_STEP_REPLAY)
                i++;
        } else if (wt_utf8_pending(&st)) {
            wt_utf8_state_init(&st);
            cp = WT_REPLACEMENT;
        } else {
            break;
        }
        n = wt_utf8_put(tmp, cp);
        if (out_cap - o < n)
            return WT_ENOSPACE;
        for (unsigned k = 0; k < n; k++)
            out[o++] = tmp[k];
    }
    *out_len = o;
    return WT_OK;
}

int wt_utf8_next(const char *s, size_t len, uint32_t *cp, size_t *used)
{
    struct wt_utf8_state st;
    size_t i;

    if (used)
        *used = 0;
    if (!s || !len || !cp || !used)
        return WT_EINVAL;
    wt_utf8_state_init(&st);
    for (i = 0; i < len; i++) {
        switch (wt_utf8_step(&st, (uint8_t)s[i], cp)) {
        case WT_STEP_MORE:
            continue;
        case WT_STEP_CP:
            *used = i + 1;
            return WT_OK;
        case WT_STEP_BAD:
            *used = i + 1;
            return WT_EUTF8;
        case WT_STEP_REPLAY:
            /* The byte that broke the sequence starts the next one. */
            *used = i;
            return WT_EUTF8;
        }
    }
    /* The text ends inside a sequence: one U+FFFD, as in sanitize. */
    *cp = WT_REPLACEMENT;
    *used = len;
    return WT_EUTF8;
}

size_t wt_utf8_prefix_units(const char *s, size_t len, size_t max_units)
{
    size_t i = 0;
    size_t units = 0;

    while (i < len) {
        unsigned char b = (unsigned char)s[i];
        size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        size_t u = n == 4 ? 2 : 1;
        if (units + u > max_units || n > len - i)
            break;
        units += u;
        i += n;
    }
    return i;
}
