/*
 * wc_hub.c - the hub's room and private-message lines, recognised.
 *
 * Pure: no I/O. See wc_hub.h for the contract.
 */
#include "wc_hub.h"

#include <string.h>

#define ROOM_PREFIX     "* you are in #"
#define ROOM_PREFIX_LEN (sizeof(ROOM_PREFIX) - 1)
#define ROOM_SUFFIX     " here)"
#define ROOM_SUFFIX_LEN (sizeof(ROOM_SUFFIX) - 1)
#define PM_IN_ARROW     " -> you:"
#define PM_IN_ARROW_LEN (sizeof(PM_IN_ARROW) - 1)
#define PM_OUT          "* you -> "
#define PM_OUT_LEN      (sizeof(PM_OUT) - 1)

/* Drop one "\r" at the end: the hub ends its lines with "\r\n". */
static size_t without_cr(const char *line, size_t len)
{
    return len > 0 && line[len - 1] == '\r' ? len - 1 : len;
}

static int room_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

static int digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int wc_hub_room_line(const char *line, size_t len, char room[WC_ROOM_BUF])
{
    size_t i, name, digits;

    if (line == NULL)
        return 0;
    len = without_cr(line, len);
    if (len < ROOM_PREFIX_LEN || memcmp(line, ROOM_PREFIX, ROOM_PREFIX_LEN) != 0)
        return 0;
    i = ROOM_PREFIX_LEN;
    for (name = 0; i < len && room_char((unsigned char)line[i]); i++)
        name++;
    if (name == 0 || name > WC_ROOM_NAME_MAX)
        return 0;
    if (len - i < 2 || line[i] != ' ' || line[i + 1] != '(')
        return 0;
    i += 2;
    for (digits = 0; i < len && digit((unsigned char)line[i]); i++)
        digits++;
    if (digits == 0 || digits > WC_ROOM_COUNT_DIGITS)
        return 0;
    /* The suffix must end the line exactly: nothing may follow it. */
    if (len - i != ROOM_SUFFIX_LEN || memcmp(line + i, ROOM_SUFFIX, ROOM_SUFFIX_LEN) != 0)
        return 0;
    room[0] = '#';
    memcpy(room + 1, line + ROOM_PREFIX_LEN, name);
    room[name + 1] = '\0';
    return 1;
}

int wc_hub_room_in_text(const char *text, size_t len, char room[WC_ROOM_BUF])
{
    struct wc_hub_watch w;

    if (text == NULL && len > 0)
        return 0;
    /* The same reader as for a talk, so the two never disagree. */
    wc_hub_watch_init(&w);
    wc_hub_watch_feed(&w, text, len);
    if (w.room[0] == '\0')
        return 0;
    memcpy(room, w.room, sizeof(w.room));
    return 1;
}

/* Length of the nick at the start of s (len bytes), stopping at ':', a
 * space or the end; 0 if a control character comes first or the nick is
 * longer than WC_HUB_NICK_MAX. */
static size_t nick_len(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len && i <= WC_HUB_NICK_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == ':')
            break;
        if (c < 0x20 || c == 0x7F)
            return 0;
    }
    return i > WC_HUB_NICK_MAX ? 0 : i;
}

/* After the colon: a space and the text, or the end of the line. */
static int text_follows(const char *line, size_t len, size_t at)
{
    return at == len || line[at] == ' ';
}

int wc_hub_private_line(const char *line, size_t len)
{
    size_t n;

    if (line == NULL)
        return WC_HUB_NOT_PRIVATE;
    len = without_cr(line, len);
    if (len < 2 || line[0] != '*' || line[1] != ' ')
        return WC_HUB_NOT_PRIVATE;
    /* "* you -> NICK: text" */
    if (len > PM_OUT_LEN && memcmp(line, PM_OUT, PM_OUT_LEN) == 0) {
        n = nick_len(line + PM_OUT_LEN, len - PM_OUT_LEN);
        if (n > 0 && PM_OUT_LEN + n < len && line[PM_OUT_LEN + n] == ':' &&
            text_follows(line, len, PM_OUT_LEN + n + 1))
            return WC_HUB_PRIVATE_OUT;
    }
    /* "* NICK -> you: text" */
    n = nick_len(line + 2, len - 2);
    if (n > 0 && len - 2 - n >= PM_IN_ARROW_LEN &&
        memcmp(line + 2 + n, PM_IN_ARROW, PM_IN_ARROW_LEN) == 0 &&
        text_follows(line, len, 2 + n + PM_IN_ARROW_LEN))
        return WC_HUB_PRIVATE_IN;
    return WC_HUB_NOT_PRIVATE;
}

void wc_hub_watch_init(struct wc_hub_watch *w)
{
    memset(w, 0, sizeof(*w));
}

void wc_hub_watch_reset(struct wc_hub_watch *w)
{
    w->len = 0;
    w->skip = 0;
}

int wc_hub_watch_feed(struct wc_hub_watch *w, const char *text, size_t len)
{
    char room[WC_ROOM_BUF];
    int changed = 0;

    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t seg = nl != NULL ? (size_t)(nl - text) : len;

        /* Keep a short line whole; a long one can only be skipped. */
        if (!w->skip) {
            if (seg > WC_HUB_LINE_MAX - w->len) {
                w->skip = 1;
            } else {
                memcpy(w->line + w->len, text, seg);
                w->len += seg;
            }
        }
        if (nl == NULL)
            break;
        if (!w->skip && wc_hub_room_line(w->line, w->len, room) && strcmp(room, w->room) != 0) {
            memcpy(w->room, room, sizeof(room));
            changed = 1;
        }
        w->len = 0;
        w->skip = 0;
        text += seg + 1;
        len -= seg + 1;
    }
    return changed;
}

const char *wc_hub_watch_room(const struct wc_hub_watch *w)
{
    return w->room;
}
