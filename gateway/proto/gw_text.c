/*
 * gw_text.c - canonical text and nick rules. Pure: no I/O.
 *
 * Characters are read with the codec's wt_utf8_next, the one UTF-8 decoder
 * of the project; utf8proc supplies what Unicode says about them (general
 * category, default-ignorable, bidi class) and does normalisation and case
 * folding, so there are no hand-kept tables of code point ranges here.
 */
#include "gw_text.h"

#include <string.h>

#include <utf8proc.h>

#include "wt_codec.h"

/* NFC (STABLE keeps to compositions Unicode promises not to change). */
#define NFC_OPTS (UTF8PROC_STABLE | UTF8PROC_COMPOSE)
/* NFC after case folding: the comparison key of a nick. */
#define KEY_OPTS (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD)

size_t gw_text_clean(const char *in, size_t len, char *out, int multiline)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n;
        int rc = wt_utf8_next(in + i, len - i, &cp, &n);
        if (rc != WT_OK) {
            /* Dropped, not replaced: U+FFFD is longer than a stray byte and
             * the result must fit in len. */
        } else if (cp == '\r') {
            /* "\r\n" and a lone "\r" are one line end. */
            if (i + 1 < len && in[i + 1] == '\n')
                n = 2;
            if (multiline)
                out[o++] = '\n';
        } else if (cp == '\n') {
            if (multiline)
                out[o++] = '\n';
        } else if (cp == '\t' || (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F))) {
            memmove(out + o, in + i, n);
            o += n;
        }
        i += n;
    }
    return o;
}

int gw_is_bidi_control(uint32_t cp)
{
    switch (utf8proc_get_property((utf8proc_int32_t)cp)->bidi_class) {
    case UTF8PROC_BIDI_CLASS_LRE:
    case UTF8PROC_BIDI_CLASS_LRO:
    case UTF8PROC_BIDI_CLASS_RLE:
    case UTF8PROC_BIDI_CLASS_RLO:
    case UTF8PROC_BIDI_CLASS_PDF:
    case UTF8PROC_BIDI_CLASS_LRI:
    case UTF8PROC_BIDI_CLASS_RLI:
    case UTF8PROC_BIDI_CLASS_FSI:
    case UTF8PROC_BIDI_CLASS_PDI:
        return 1; /* the embeddings, overrides and isolates (U+202A.., U+2066..) */
    default:
        break;
    }
    /* The three implicit marks have ordinary strong classes (L, R, AL), so
     * no class names them; they are the rest of Unicode's Bidi_Control
     * property, which utf8proc does not carry. */
    return cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

size_t gw_text_strip_bidi(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n;
        if (wt_utf8_next(in + i, len - i, &cp, &n) != WT_OK || !gw_is_bidi_control(cp)) {
            memmove(out + o, in + i, n);
            o += n;
        }
        i += n;
    }
    return o;
}

/* ---- nicks ---- */

/* What may never be in a nick, whatever the script: characters that show
 * as nothing (so "alice" plus one of them looks like "alice") or that
 * change how the text around them is shown. */
static int invisible(uint32_t cp)
{
    const utf8proc_property_t *pr = utf8proc_get_property((utf8proc_int32_t)cp);
    return pr->ignorable || pr->category == UTF8PROC_CATEGORY_CC ||
           pr->category == UTF8PROC_CATEGORY_CF || gw_is_bidi_control(cp);
}

static int is_letter(utf8proc_category_t c)
{
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO;
}

int gw_is_letter(uint32_t cp, int digits)
{
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return is_letter(c) || (digits && (c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL ||
                                       c == UTF8PROC_CATEGORY_NO));
}

static int is_punct_ok(uint32_t cp)
{
    return cp == '_' || cp == '-' || cp == '.';
}

/*
 * Normalise len bytes of valid UTF-8 with options into buf (cap code
 * points). Returns the number of code points, or -1 if they do not fit.
 */
static utf8proc_ssize_t normalise(const char *s, size_t len, utf8proc_option_t options,
                                  utf8proc_int32_t *buf, utf8proc_ssize_t cap)
{
    utf8proc_ssize_t n =
        utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, buf, cap, options);
    if (n < 0 || n > cap)
        return -1;
    n = utf8proc_normalize_utf32(buf, n, options);
    return n < 0 ? -1 : n;
}

/* Encode n code points into out (cap bytes, NUL included). Returns 0, or
 * -1 if they do not fit. */
static int encode(const utf8proc_int32_t *cps, utf8proc_ssize_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        if (cap - o < 5)
            return -1;
        o += (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)out + o);
    }
    out[o] = '\0';
    return 0;
}

int gw_nick_key(const char *nick, char key[GW_NICK_KEY_MAX_BYTES + 1])
{
    utf8proc_int32_t buf[GW_NICK_NORM_MAX_CPS];
    size_t len = strlen(nick);
    if (!wt_utf8_valid(nick, len))
        return GW_NICK_UTF8;
    utf8proc_ssize_t n = normalise(nick, len, KEY_OPTS, buf, GW_NICK_NORM_MAX_CPS);
    if (n < 0 || encode(buf, n, key, GW_NICK_KEY_MAX_BYTES + 1) != 0)
        return GW_NICK_LONG;
    return GW_NICK_OK;
}

int gw_nick_norm(const char *in, size_t len, unsigned max_chars, char nick[GW_NICK_MAX_BYTES + 1],
                 char key[GW_NICK_KEY_MAX_BYTES + 1])
{
    utf8proc_int32_t buf[GW_NICK_NORM_MAX_CPS];
    char shown[GW_NICK_MAX_BYTES + 1], folded[GW_NICK_KEY_MAX_BYTES + 1];
    size_t cps = 0;

    if (!max_chars || max_chars > GW_NICK_MAX_CHARS)
        max_chars = GW_NICK_MAX_CHARS;
    if (len == 0)
        return GW_NICK_EMPTY;
    /* The spelling as given: valid, bounded, nothing invisible. Checked
     * before normalising so that nothing is judged on a form the sender
     * did not write. */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n;
        if (wt_utf8_next(in + i, len - i, &cp, &n) != WT_OK)
            return GW_NICK_UTF8;
        if (invisible(cp))
            return GW_NICK_INVISIBLE;
        if (++cps > GW_NICK_IN_MAX_CPS)
            return GW_NICK_LONG;
        i += n;
    }
    /* The characters of the NFC form are what the rules count. */
    utf8proc_ssize_t n = normalise(in, len, NFC_OPTS, buf, GW_NICK_NORM_MAX_CPS);
    if (n < 0 || (size_t)n > max_chars)
        return GW_NICK_LONG;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        uint32_t cp = (uint32_t)buf[i];
        utf8proc_category_t c = utf8proc_category(buf[i]);
        if (i == 0 && !is_letter(c))
            return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_MN ||
                           c == UTF8PROC_CATEGORY_MC || is_punct_ok(cp)
                       ? GW_NICK_START
                       : GW_NICK_CHARS;
        if (!is_letter(c) && c != UTF8PROC_CATEGORY_MN && c != UTF8PROC_CATEGORY_MC &&
            c != UTF8PROC_CATEGORY_ND && !is_punct_ok(cp))
            return GW_NICK_CHARS;
    }
    if (encode(buf, n, shown, sizeof shown) != 0)
        return GW_NICK_LONG;
    int st = gw_nick_key(shown, folded);
    if (st != GW_NICK_OK)
        return st;
    if (strncmp(folded, "guest-", 6) == 0)
        return GW_NICK_RESERVED;
    if (strcmp(folded, "you") == 0)
        return GW_NICK_YOU;
    if (nick)
        memcpy(nick, shown, strlen(shown) + 1);
    if (key)
        memcpy(key, folded, strlen(folded) + 1);
    return GW_NICK_OK;
}

int gw_nick_check(const char *nick, size_t len)
{
    return gw_nick_norm(nick, len, GW_NICK_MAX_CHARS, NULL, NULL);
}

const char *gw_nick_strerror(int status)
{
    switch (status) {
    case GW_NICK_OK: return "nick is fine";
    case GW_NICK_EMPTY: return "nick is empty";
    case GW_NICK_LONG: return "nick is too long";
    case GW_NICK_CHARS: return "nick may hold only letters, digits, '_', '-' and '.'";
    case GW_NICK_START: return "nick must start with a letter";
    case GW_NICK_RESERVED: return "nicks starting with guest- are reserved";
    case GW_NICK_YOU: return "the nick you is reserved";
    case GW_NICK_INVISIBLE:
        return "nick may not hold invisible, formatting, control or direction characters";
    case GW_NICK_UTF8: return "nick is not valid UTF-8";
    default: return "bad nick";
    }
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
