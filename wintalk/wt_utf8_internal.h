/*
 * wt_utf8_internal.h - the byte-at-a-time UTF-8 decoder step shared by the
 * frame decoder and the UTF-8 helpers. Internal to libwintalk.
 *
 * It follows the WHATWG Encoding Standard's UTF-8 decoder: each maximal
 * invalid subsequence becomes one U+FFFD, and the byte that revealed the
 * error is looked at again as the start of what follows.
 */
#ifndef WT_UTF8_INTERNAL_H
#define WT_UTF8_INTERNAL_H

#include "wt_codec.h"

#include <stdint.h>

#define WT_REPLACEMENT 0xFFFDu

enum wt_utf8_step_result {
    WT_STEP_MORE = 0,   /* byte used; no code point yet */
    WT_STEP_CP = 1,     /* byte used; *cp holds a code point */
    WT_STEP_BAD = 2,    /* byte used; it was invalid: *cp is U+FFFD */
    WT_STEP_REPLAY = 3, /* *cp is U+FFFD; the byte was NOT used: feed it again */
};

static inline void wt_utf8_state_init(struct wt_utf8_state *s)
{
    s->cp = 0;
    s->need = 0;
    s->seen = 0;
    s->lower = 0x80;
    s->upper = 0xBF;
}

static inline int wt_utf8_pending(const struct wt_utf8_state *s)
{
    return s->need != 0;
}

static inline enum wt_utf8_step_result wt_utf8_step(struct wt_utf8_state *s, uint8_t b,
                                                    uint32_t *cp)
{
    if (s->need == 0) {
        if (b <= 0x7F) {
            *cp = b;
            return WT_STEP_CP;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            s->need = 1;
            s->cp = b & 0x1Fu;
        } else if (b >= 0xE0 && b <= 0xEF) {
            if (b == 0xE0)
                s->lower = 0xA0; /* no overlong 3-byte forms */
            else if (b == 0xED)
                s->upper = 0x9F; /* no surrogates */
            s->need = 2;
            s->cp = b & 0x0Fu;
        } else if (b >= 0xF0 && b <= 0xF4) {
            if (b == 0xF0)
                s->lower = 0x90; /* no overlong 4-byte forms */
            else if (b == 0xF4)
                s->upper = 0x8F; /* nothing above U+10FFFF */
            s->need = 3;
            s->cp = b & 0x07u;
        } else {
            *cp = WT_REPLACEMENT; /* a stray continuation byte, C0, C1, F5..FF */
            return WT_STEP_BAD;
        }
        return WT_STEP_MORE;
    }
    if (b < s->lower || b > s->upper) {
        wt_utf8_state_init(s);
        *cp = WT_REPLACEMENT;
        return WT_STEP_REPLAY;
    }
    s->lower = 0x80;
    s->upper = 0xBF;
    s->cp = (s->cp << 6) | (b & 0x3Fu);
    if (++s->seen < s->need)
        return WT_STEP_MORE;
    *cp = s->cp;
    wt_utf8_state_init(s);
    return WT_STEP_CP;
}

/* UTF-16 units of a code point. */
static inline unsigned wt_cp_units(uint32_t cp)
{
    return cp >= 0x10000u ? 2u : 1u;
}

/* Write cp as UTF-8 into out (room for 4 bytes); returns the byte count. */
static inline unsigned wt_utf8_put(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif /* WT_UTF8_INTERNAL_H */
