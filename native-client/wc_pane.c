/*
 * wc_pane.c - the peer's text, bounded, and a line reader over it.
 *
 * Pure: no I/O. See wc_pane.h for the contract.
 */
#include "wc_pane.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int wc_pane_init(struct wc_pane *p)
{
    if (p == NULL)
        return WC_PANE_EINVAL;
    memset(p, 0, sizeof(*p));
    return WC_PANE_OK;
}

void wc_pane_free(struct wc_pane *p)
{
    if (p == NULL)
        return;
    free(p->text);
    memset(p, 0, sizeof(*p));
}

/* Make room for want bytes of text plus the NUL. want <= WC_PANE_MAX. */
static int reserve(struct wc_pane *p, size_t want)
{
    size_t ncap;
    char *n;

    if (want + 1 <= p->cap)
        return WC_PANE_OK;
    ncap = p->cap ? p->cap : 1024;
    while (ncap < want + 1)
        ncap *= 2;
    if (ncap > WC_PANE_MAX + 1)
        ncap = WC_PANE_MAX + 1;
    n = realloc(p->text, ncap);
    if (n == NULL)
        return WC_PANE_ENOMEM;
    p->text = n;
    p->cap = ncap;
    return WC_PANE_OK;
}

/*
 * Where to cut s (len bytes) so that at least skip bytes go: just after a
 * line end within WC_PANE_TRIM_SLACK of skip if there is one, otherwise at
 * the next character start. Returns the number of bytes to drop.
 */
static size_t cut_point(const char *s, size_t len, size_t skip)
{
    size_t end = skip + WC_PANE_TRIM_SLACK;
    size_t i;

    if (skip >= len)
        return len;
    if (skip > 0 && s[skip - 1] == '\n')
        return skip;
    if (end > len)
        end = len;
    for (i = skip; i < end; i++)
        if (s[i] == '\n')
            return i + 1;
    while (skip < len && ((unsigned char)s[skip] & 0xC0) == 0x80)
        skip++;
    return skip;
}

static void drop_head(struct wc_pane *p, size_t n)
{
    memmove(p->text, p->text + n, p->len - n);
    p->len -= n;
    p->text[p->len] = '\0';
    p->taken = p->taken > n ? p->taken - n : 0;
}

int wc_pane_append(struct wc_pane *p, const char *s, size_t len)
{
    int rc;

    if (p == NULL || (s == NULL && len > 0))
        return WC_PANE_EINVAL;
    if (len == 0)
        return WC_PANE_OK;
    if (p->len + len > WC_PANE_MAX) {
        size_t need = p->len + len - WC_PANE_MAX;
        if (need >= p->len) {
            size_t skip = cut_point(s, len, need - p->len);
            p->taken = 0;
            p->len = 0;
            s += skip;
            len -= skip;
        } else {
            if (p->text != NULL)
                drop_head(p, cut_point(p->text, p->len, need));
        }
    }
    rc = reserve(p, p->len + len);
    if (rc != WC_PANE_OK)
        return rc;
    memcpy(p->text + p->len, s, len);
    p->len += len;
    p->text[p->len] = '\0';
    p->generation++;
    return WC_PANE_OK;
}

/* Is pos the start of a line in s (the start of s, or just after '\n')? */
static int line_start(const char *s, size_t pos)
{
    return pos == 0 || s[pos - 1] == '\n';
}

/*
 * The longest k <= len such that the first k bytes of pat are the last k
 * bytes of text (len bytes each), by Knuth-Morris-Pratt: border[i] is the
 * length of the longest proper prefix of pat[0..i] that is also its suffix,
 * so a mismatch falls back along borders instead of starting over. Each
 * fall-back undoes one earlier step forward, so the whole takes at most
 * 4 * len steps, added to *steps. border is scratch room for len entries.
 */
static size_t overlap(const char *text, const char *pat, size_t len, uint32_t *border,
                      size_t *steps)
{
    size_t i, q = 0;

    if (len == 0)
        return 0;
    border[0] = 0;
    for (i = 1; i < len; i++) {
        (*steps)++;
        while (q > 0 && pat[i] != pat[q]) {
            q = border[q - 1];
            (*steps)++;
        }
        if (pat[i] == pat[q])
            q++;
        border[i] = (uint32_t)q;
    }
    q = 0;
    for (i = 0; i < len; i++) {
        (*steps)++;
        while (q > 0 && (q == len || text[i] != pat[q])) {
            q = border[q - 1];
            (*steps)++;
        }
        if (q < len && text[i] == pat[q])
            q++;
    }
    return q;
}

/*
 * After an R, how much of the new text n (nlen bytes) the reader has in
 * effect already seen, given the old text o of which t bytes were taken:
 *  1. the old taken text is a prefix of the new: all of it;
 *  2. else the longest line-aligned prefix of the new that the taken text
 *     ends with (the peer trimmed its view from the top and re-sent it);
 *  3. else the line-aligned common prefix (the peer edited or cleared).
 * Stores the result in *taken. Linear in t + nlen, whatever the texts: a
 * peer's R frames can be WC_PANE_MAX bytes each, and a search that tried
 * every candidate length would cost billions of comparisons per frame.
 * The steps taken are added to *steps.
 * Returns WC_PANE_OK, or WC_PANE_ENOMEM (the scratch table for 2.).
 */
static int taken_after_replace(const char *o, size_t t, const char *n, size_t nlen, size_t *taken,
                               size_t *steps)
{
    size_t m, c;

    *taken = 0;
    if (t == 0)
        return WC_PANE_OK;
    if (nlen >= t) {
        *steps += t;
        if (memcmp(o, n, t) == 0) {
            *taken = t;
            return WC_PANE_OK;
        }
    }
    /* Any prefix of n the taken text ends with ends with o[t - 1], so it
     * is line-aligned exactly when o[t - 1] is a line end: then the longest
     * overlap is the answer, and there is no need to try shorter ones. */
    m = nlen < t ? nlen : t;
    if (m > 0 && o[t - 1] == '\n') {
        uint32_t *border = malloc(m * sizeof(*border));
        size_t k;

        if (border == NULL)
            return WC_PANE_ENOMEM;
        k = overlap(o + t - m, n, m, border, steps);
        free(border);
        if (k > 0) {
            *taken = k;
            return WC_PANE_OK;
        }
    }
    for (c = 0; c < m && o[c] == n[c]; c++)
        (*steps)++;
    while (c > 0 && !line_start(n, c)) {
        c--;
        (*steps)++;
    }
    *taken = c;
    return WC_PANE_OK;
}

int wc_pane_replace(struct wc_pane *p, const char *s, size_t len)
{
    size_t skip = 0, taken;
    int rc;

    if (p == NULL || (s == NULL && len > 0))
        return WC_PANE_EINVAL;
    if (len > WC_PANE_MAX) {
        skip = cut_point(s, len, len - WC_PANE_MAX);
        s += skip;
        len -= skip;
    }
    p->replace_steps = 0;
    rc = taken_after_replace(p->text ? p->text : "", p->taken, s, len, &taken, &p->replace_steps);
    if (rc != WC_PANE_OK)
        return rc;
    rc = reserve(p, len);
    if (rc != WC_PANE_OK)
        return rc;
    if (len > 0)
        memmove(p->text, s, len);
    p->len = len;
    p->text[len] = '\0';
    p->taken = taken;
    p->generation++;
    return WC_PANE_OK;
}

size_t wc_pane_replace_steps(const struct wc_pane *p)
{
    return p->replace_steps;
}

const char *wc_pane_text(const struct wc_pane *p, size_t *len)
{
    if (len != NULL)
        *len = p->text ? p->len : 0;
    return p->text ? p->text : "";
}

int wc_pane_take_line(struct wc_pane *p, const char **line, size_t *len)
{
    const char *nl;
    size_t end;

    if (p->text == NULL || p->taken >= p->len)
        return WC_PANE_NOLINE;
    nl = memchr(p->text + p->taken, '\n', p->len - p->taken);
    if (nl == NULL)
        return WC_PANE_NOLINE;
    end = (size_t)(nl - p->text);
    *line = p->text + p->taken;
    *len = end - p->taken;
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*len)--;
    p->taken = end + 1;
    return WC_PANE_OK;
}

int wc_pane_take_rest(struct wc_pane *p, const char **line, size_t *len)
{
    if (wc_pane_take_line(p, line, len) == WC_PANE_OK)
        return WC_PANE_OK;
    if (p->text == NULL || p->taken >= p->len)
        return WC_PANE_NOLINE;
    *line = p->text + p->taken;
    *len = p->len - p->taken;
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*len)--;
    p->taken = p->len;
    return *len > 0 ? WC_PANE_OK : WC_PANE_NOLINE;
}
