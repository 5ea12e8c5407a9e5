/*
 * gw_text.c - canonical text and nick rules. Pure: no I/O.
 */
#include "gw_text.h"

#include "gw_limits.h"

#include <stdint.h>
#include <string.h>

/* Decode one character of valid UTF-8 at s (len > 0 bytes). Stores the code
 * point and returns the sequence length. Invalid input gives U+FFFD and 1. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

size_t gw_text_clean(const char *in, size_t len, char *out, int multiline)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(s + i, len - i, &cp);
        if (cp == '\r') {
            /* "\r\n" and a lone "\r" are one line end. */
            if (i + 1 < len && s[i + 1] == '\n')
                n = 2;
            if (multiline)
                out[o++] = '\n';
        } else if (cp == '\n') {
            if (multiline)
                out[o++] = '\n';
        } else if (cp == '\t' || (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F))) {
            memmove(out + o, s + i, n);
            o += n;
        }
        i += n;
    }
    return o;
}

/* A rough "is a letter" for code points outside ASCII: everything but the
 * Latin-1 symbols, combining marks, general punctuation and symbol blocks,
 * CJK punctuation, private use, specials and the emoji/symbol planes. */
static int is_letter(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7)
        return 0;
    if (cp >= 0x02B0 && cp <= 0x036F) /* modifiers, combining marks */
        return 0;
    if (cp >= 0x2000 && cp <= 0x2BFF) /* punctuation, symbols, arrows, ... */
        return 0;
    if (cp >= 0x2E00 && cp <= 0x2E7F) /* supplemental punctuation */
        return 0;
    if (cp >= 0x3000 && cp <= 0x303F) /* CJK symbols and punctuation */
        return 0;
    if (cp >= 0xD800 && cp <= 0xF8FF) /* surrogates, private use */
        return 0;
    if (cp >= 0xFE00 && cp <= 0xFE6F) /* variation selectors, small forms */
        return 0;
    if (cp >= 0xFF00 && cp <= 0xFF20) /* fullwidth punctuation */
        return 0;
    if (cp >= 0xFFF0 && cp <= 0xFFFF) /* specials */
        return 0;
    if (cp >= 0x1F000 && cp <= 0x1FFFF) /* emoji and symbols */
        return 0;
    if (cp >= 0xE0000) /* tags, private use planes */
        return 0;
    return 1;
}

int gw_nick_check(const char *nick, size_t len)
{
    const unsigned char *s = (const unsigned char *)nick;
    size_t chars = 0;
    if (len == 0)
        return GW_NICK_EMPTY;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(s + i, len - i, &cp);
        if (++chars > GW_NICK_MAX_CHARS)
            return GW_NICK_LONG;
        int letter = is_letter(cp);
        if (chars == 1 && !letter)
            return (cp >= '0' && cp <= '9') || cp == '_' || cp == '-' || cp == '.'
                       ? GW_NICK_START
                       : GW_NICK_CHARS;
        if (!letter && !(cp >= '0' && cp <= '9') && cp != '_' && cp != '-' && cp != '.')
            return GW_NICK_CHARS;
        i += n;
    }
    if (len >= 6 && gw_nick_equal(nick, 6, "guest-", 6))
        return GW_NICK_RESERVED;
    return GW_NICK_OK;
}

const char *gw_nick_strerror(int status)
{
    switch (status) {
    case GW_NICK_OK: return "nick is fine";
    case GW_NICK_EMPTY: return "nick is empty";
    case GW_NICK_LONG: return "nick is longer than 24 characters";
    case GW_NICK_CHARS: return "nick may hold only letters, digits, '_', '-' and '.'";
    case GW_NICK_START: return "nick must start with a letter";
    case GW_NICK_RESERVED: return "nicks starting with guest- are reserved";
    default: return "bad nick";
    }
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

int gw_nick_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

size_t gw_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}
