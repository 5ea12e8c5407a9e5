/*
 * test_text.c - the gateway's text rules (gateway/proto/gw_text.h) and what they
 * mean in the hub: one UTF-8 decoder (overlong forms and surrogates are
 * not characters), nicks that cannot pass for someone else's (invisible
 * and direction characters refused; names compared after NFC and case
 * folding), no direction controls in what a WINTALK peer is sent, and a
 * transcript line that is cut still ends in \r\n.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hub.h"
#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

#define T0 1795555200000LL

/* ---- one decoder ---- */

/* Byte sequences that look like characters to a lax decoder: overlong
 * forms of '/', 'a' and NUL, and surrogates. */
static const char *const not_characters[] = {
    "\xC0\xAF",         /* '/' in two bytes */
    "\xE0\x80\xAF",     /* '/' in three */
    "\xF0\x80\x80\xAF", /* '/' in four */
    "\xC1\xA1",         /* 'a' in two */
    "\xE0\x81\xA1",     /* 'a' in three */
    "\xC0\x80",         /* NUL in two */
    "\xC0\x8A",         /* '\n' in two */
    "\xED\xA0\x80",     /* U+D800, a high surrogate */
    "\xED\xBF\xBF",     /* U+DFFF, a low surrogate */
    "\xF4\x90\x80\x80", /* above U+10FFFF */
};

static void clean_is_valid_utf8(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof not_characters / sizeof not_characters[0]; i++) {
        char in[32], out[32];
        int n = snprintf(in, sizeof in, "x%sy", not_characters[i]);
        for (int multiline = 0; multiline <= 1; multiline++) {
            size_t m = gw_text_clean(in, (size_t)n, out, multiline);
            if (!wt_utf8_valid(out, m))
                fail_msg("case %zu: the cleaned text is not valid UTF-8 (%zu bytes)", i, m);
            assert_int_equal(m, 2);
            assert_memory_equal(out, "xy", 2);
        }
    }
}

static void nick_is_valid_utf8(void **state)
{
    (void)state;
    char nick[32];
    /* "alice" with its 'a' or 'i' spelled as an overlong form. */
    assert_int_equal(gw_nick_check("\xC1\xA1lice", 6), GW_NICK_UTF8);
    assert_int_equal(gw_nick_check("al\xE0\x81\xA9" "ce", 7), GW_NICK_UTF8);
    for (size_t i = 0; i < sizeof not_characters / sizeof not_characters[0]; i++) {
        int n = snprintf(nick, sizeof nick, "bob%s", not_characters[i]);
        if (gw_nick_check(nick, (size_t)n) != GW_NICK_UTF8)
            fail_msg("case %zu: got %d", i, gw_nick_check(nick, (size_t)n));
    }
}

/* ---- nicks ---- */

static int encode_cp(char *out, uint32_t cp)
{
    if (cp < 0x80)
        return out[0] = (char)cp, 1;
    if (cp < 0x800)
        return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000)
        return out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
               out[2] = (char)(0x80 | (cp & 0x3F)), 3;
    return out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
           out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F)), 4;
}

/* Code points that show as nothing, or that change the order of what is
 * shown around them: "alice" plus any of them would pass for alice. */
static const uint32_t invisible[] = {
    0x3164,  /* HANGUL FILLER (a letter, and default-ignorable) */
    0x115F,  /* HANGUL CHOSEONG FILLER */
    0x1160,  /* HANGUL JUNGSEONG FILLER */
    0xFFA0,  /* HALFWIDTH HANGUL FILLER */
    0xFEFF,  /* ZERO WIDTH NO-BREAK SPACE */
    0x200B,  /* ZERO WIDTH SPACE */
    0x200C,  /* ZERO WIDTH NON-JOINER */
    0x200D,  /* ZERO WIDTH JOINER */
    0x2060,  /* WORD JOINER */
    0x00AD,  /* SOFT HYPHEN */
    0x034F,  /* COMBINING GRAPHEME JOINER (a mark) */
    0xFE0F,  /* VARIATION SELECTOR-16 (a mark) */
    0x180E,  /* MONGOLIAN VOWEL SEPARATOR */
    0xE0041, /* TAG LATIN CAPITAL LETTER A */
    0x061C,  /* ARABIC LETTER MARK */
    0x200E,  /* LEFT-TO-RIGHT MARK */
    0x200F,  /* RIGHT-TO-LEFT MARK */
    0x202A, 0x202B, 0x202C, 0x202D, 0x202E, /* embeddings, overrides, pop */
    0x2066, 0x2067, 0x2068, 0x2069,         /* isolates */
    0x0007,  /* BEL, a control */
    0x0085,  /* NEXT LINE, a C1 control */
};

static void nick_refuses_invisible(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invisible / sizeof invisible[0]; i++) {
        char nick[32];
        size_t n;
        int st;
        /* At the end, in the middle and at the start. */
        n = 5;
        memcpy(nick, "alice", 5);
        n += (size_t)encode_cp(nick + n, invisible[i]);
        if ((st = gw_nick_check(nick, n)) != GW_NICK_INVISIBLE)
            fail_msg("alice + U+%04X: got %d (%s)", (unsigned)invisible[i], st, gw_nick_strerror(st));
        n = 2;
        memcpy(nick, "al", 2);
        n += (size_t)encode_cp(nick + n, invisible[i]);
        memcpy(nick + n, "ice", 3);
        n += 3;
        if ((st = gw_nick_check(nick, n)) != GW_NICK_INVISIBLE)
            fail_msg("al U+%04X ice: got %d", (unsigned)invisible[i], st);
        n = (size_t)encode_cp(nick, invisible[i]);
        memcpy(nick + n, "alice", 5);
        n += 5;
        if ((st = gw_nick_check(nick, n)) != GW_NICK_INVISIBLE)
            fail_msg("U+%04X alice: got %d", (unsigned)invisible[i], st);
    }
    assert_string_equal(gw_nick_strerror(GW_NICK_INVISIBLE),
                        "nick may not hold invisible, formatting, control or direction characters");
}

static void nick_letters_by_category(void **state)
{
    (void)state;
    static const struct {
        const char *nick;
        int st;
    } cases[] = {
        {"alice", GW_NICK_OK},
        {"ñandú_1.x-y", GW_NICK_OK},
        {"Ψυχή", GW_NICK_OK},
        {"日本語", GW_NICK_OK},
        {"علي", GW_NICK_OK},              /* right-to-left letters are letters */
        {"हिन्दी", GW_NICK_OK},           /* with vowel signs (Mc, Mn) */
        {"ǅemal", GW_NICK_OK},            /* a titlecase letter (Lt) */
        {"a٣", GW_NICK_OK},               /* an Arabic-Indic digit (Nd) */
        {"", GW_NICK_EMPTY},
        {"9lives", GW_NICK_START},
        {"_x", GW_NICK_START},
        {"\xCC\x81" "a", GW_NICK_START},  /* a combining mark first */
        {"a b", GW_NICK_CHARS},
        {"a\xC2\xA0" "b", GW_NICK_CHARS}, /* NO-BREAK SPACE */
        {"a😀", GW_NICK_CHARS},
        {"a+b", GW_NICK_CHARS},
        {"aⅫ", GW_NICK_CHARS},            /* a letter number (Nl) */
        {"a²", GW_NICK_CHARS},            /* other number (No) */
        {"a\xEE\x80\x80", GW_NICK_CHARS}, /* private use */
        {"a\xCD\xB8", GW_NICK_CHARS},     /* U+0378, unassigned */
        {"a\xE2\x83\x9D", GW_NICK_CHARS}, /* an enclosing mark (Me) */
        {"GUEST-1", GW_NICK_RESERVED},
        {"guestx", GW_NICK_OK},
        /* "you": "* you -> bob: ..." in a pane is the gateway's. */
        {"you", GW_NICK_YOU},
        {"YoU", GW_NICK_YOU},
        {"youth", GW_NICK_OK},
        {"yo", GW_NICK_OK},
        {"abcdefghijklmnopqrstuvwx", GW_NICK_OK},
        {"abcdefghijklmnopqrstuvwxy", GW_NICK_LONG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = gw_nick_check(cases[i].nick, strlen(cases[i].nick));
        if (st != cases[i].st)
            fail_msg("case %zu (%s): got %d, want %d", i, cases[i].nick, st, cases[i].st);
    }
}

/* nick's display form and key, asserting it is allowed. */
static void norm(const char *in, char nick[GW_NICK_MAX_BYTES + 1],
                 char key[GW_NICK_KEY_MAX_BYTES + 1])
{
    int st = gw_nick_norm(in, strlen(in), 0, nick, key);
    if (st != GW_NICK_OK)
        fail_msg("%s: %s", in, gw_nick_strerror(st));
}

static void nick_forms(void **state)
{
    (void)state;
    char n1[GW_NICK_MAX_BYTES + 1], k1[GW_NICK_KEY_MAX_BYTES + 1];
    char n2[GW_NICK_MAX_BYTES + 1], k2[GW_NICK_KEY_MAX_BYTES + 1];
    /* Shown as first spelled (in NFC); compared case aside. */
    norm("Alice", n1, k1);
    norm("alice", n2, k2);
    assert_string_equal(n1, "Alice");
    assert_string_equal(n2, "alice");
    assert_string_equal(k1, k2);
    /* Precomposed and decomposed José: one name, shown precomposed. */
    norm("Jos\xC3\xA9", n1, k1);
    norm("Jose\xCC\x81", n2, k2);
    assert_string_equal(n1, "Jos\xC3\xA9");
    assert_string_equal(n2, "Jos\xC3\xA9");
    assert_string_equal(k1, "jos\xC3\xA9");
    assert_string_equal(k2, k1);
    norm("JOSE\xCC\x81", n2, k2);
    assert_string_equal(n2, "JOS\xC3\x89");
    assert_string_equal(k2, k1);
    /* Full case folding: ß is ss, final sigma is sigma. */
    norm("Straße", n1, k1);
    norm("STRASSE", n2, k2);
    assert_string_equal(k1, k2);
    norm("ΣΊΣΥΦΟΣ", n1, k1);
    norm("σίσυφος", n2, k2);
    assert_string_equal(k1, k2);
    /* Different names stay different. */
    norm("alice2", n2, k2);
    assert_string_not_equal(k2, "alice");
    /* The limit counts NFC characters: 24 decomposed é are 48 code points
     * on the way in and 24 characters. */
    char big[128] = "";
    for (int i = 0; i < 24; i++)
        strcat(big, "e\xCC\x81");
    norm(big, n1, k1);
    assert_int_equal(strlen(n1), 48);
    strcat(big, "e");
    assert_int_equal(gw_nick_norm(big, strlen(big), 0, n1, k1), GW_NICK_LONG);
    /* A configured limit below the ceiling. */
    assert_int_equal(gw_nick_norm("abcdef", 6, 5, n1, k1), GW_NICK_LONG);
    assert_int_equal(gw_nick_norm("abcde", 5, 5, n1, k1), GW_NICK_OK);
    /* Reserved whatever the case: the key is checked. */
    assert_int_equal(gw_nick_norm("Guest-7", 7, 0, n1, k1), GW_NICK_RESERVED);
    /* A refused nick writes nothing. */
    strcpy(n1, "unchanged");
    assert_int_equal(gw_nick_norm("a b", 3, 0, n1, k1), GW_NICK_CHARS);
    assert_string_equal(n1, "unchanged");
    /* The key of a guest name is itself. */
    assert_int_equal(gw_nick_key("guest-12", k1), GW_NICK_OK);
    assert_string_equal(k1, "guest-12");
}

static void strip_bidi(void **state)
{
    (void)state;
    char out[64];
    const char *in = "a\xE2\x80\xAE" "b\xE2\x81\xA6" "c\xE2\x81\xA9" "d\xD8\x9C" "e\xE2\x80\x8E"
                     "f\xE2\x80\x8F" "g\xE2\x80\xAA" "h\xE2\x80\x8D" "i";
    size_t n = gw_text_strip_bidi(in, strlen(in), out);
    /* Every direction control gone; the zero width joiner (emoji
     * sequences need it) stays. */
    assert_int_equal(n, strlen("abcdefgh\xE2\x80\x8Di"));
    assert_memory_equal(out, "abcdefgh\xE2\x80\x8Di", n);
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        int want = cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
                   (cp >= 0x2066 && cp <= 0x2069);
        if (gw_is_bidi_control(cp) != want)
            fail_msg("U+%04X: got %d", (unsigned)cp, gw_is_bidi_control(cp));
    }
}

/* ---- in the hub ---- */

static struct gw_hub *hub(void)
{
    struct gw_hub *h;
    struct gw_hub_config cfg = {.headroom = 16};
    assert_int_equal(gw_hub_new(&h, &cfg), GW_OK);
    return h;
}

/* Everything waiting for pid, writes joined. Caller frees. */
static char *drain(struct gw_hub *h, uint64_t pid, size_t *len_out)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    struct gw_buf *b;
    assert_non_null(out);
    while (gw_hub_take(h, pid, &b) == 1) {
        while (len + b->len + 1 > cap)
            assert_non_null(out = realloc(out, cap *= 2));
        memcpy(out + len, gw_buf_bytes(b), b->len);
        len += b->len;
        gw_buf_unref(b);
    }
    out[len] = '\0';
    if (len_out)
        *len_out = len;
    return out;
}

/* A WinTalk pane: the frames a TCP participant was sent, applied. */
struct pane {
    struct wt_decoder dec;
    char *text;
    size_t len;
};

static void pane_feed(struct pane *p, const char *data, size_t len)
{
    while (len) {
        struct wt_frame f;
        size_t used;
        int rc = wt_decoder_feed(&p->dec, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc == WT_EAGAIN)
            break;
        assert_int_equal(rc, WT_OK);
        if (f.op == WT_OP_REPLACE)
            p->len = 0;
        assert_non_null(p->text = realloc(p->text, p->len + f.len + 1));
        memcpy(p->text + p->len, f.text, f.len);
        p->len += f.len;
        p->text[p->len] = '\0';
    }
}

/* Read what a TCP participant was sent into its pane; returns the pane's
 * text (borrowed). */
static const char *pane_read(struct pane *p, struct gw_hub *h, uint64_t pid)
{
    size_t n;
    char *raw = drain(h, pid, &n);
    if (n >= 24 && memcmp(raw, "WINTALK .NET", 12) == 0)
        pane_feed(p, raw + 24, n - 24);
    else
        pane_feed(p, raw, n);
    free(raw);
    return p->text ? p->text : "";
}

static uint64_t tcp(struct gw_hub *h)
{
    uint64_t pid;
    assert_int_equal(gw_hub_connect(h, GW_VIA_TCP, NULL, T0, &pid), GW_OK);
    return pid;
}

static uint64_t web(struct gw_hub *h, const char *nick)
{
    uint64_t pid;
    char hello[128];
    assert_int_equal(gw_hub_connect(h, GW_VIA_WEB, NULL, T0, &pid), GW_OK);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"nick\":\"%s\"}", nick);
    assert_int_equal(gw_hub_web_input(h, pid, T0, hello, strlen(hello)), GW_OK);
    return pid;
}

static void json(struct gw_hub *h, uint64_t pid, const char *msg)
{
    assert_int_equal(gw_hub_web_input(h, pid, T0, msg, strlen(msg)), GW_OK);
}

/* Send text as one A frame. */
static void type(struct gw_hub *h, uint64_t pid, const char *text)
{
    char buf[512];
    size_t n;
    assert_int_equal(wt_frame_encode(buf, sizeof buf, &n, WT_OP_APPEND, text, strlen(text)), WT_OK);
    assert_int_equal(gw_hub_tcp_input(h, pid, T0, buf, n), GW_OK);
}

/* The last line of text (which ends in \r\n). */
static const char *last_line(const char *text)
{
    size_t n = strlen(text);
    assert_true(n >= 2 && text[n - 2] == '\r' && text[n - 1] == '\n');
    const char *p = text + n - 2;
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

static void hub_nick_collisions(void **state)
{
    (void)state;
    struct gw_hub *h = hub();
    struct pane pa = {0};
    assert_int_equal(wt_decoder_init(&pa.dec, 0), WT_OK);
    uint64_t t = tcp(h);
    uint64_t alice = web(h, "alice");
    free(drain(h, alice, NULL));
    /* "Alice" is alice's name: 553 taken, and a guest name instead. */
    uint64_t w2 = web(h, "Alice");
    char *out = drain(h, w2, NULL);
    assert_non_null(strstr(out, "{\"type\":\"error\",\"code\":553,\"message\":\"nick \\\"Alice\\\" is taken\"}"));
    assert_non_null(strstr(out, "\"you\":{\"pid\":3,\"nick\":\"guest-2\""));
    free(out);
    /* A precomposed José, then the decomposed spelling from TCP. */
    json(h, w2, "{\"type\":\"nick\",\"nick\":\"Jos\xC3\xA9\"}");
    free(drain(h, w2, NULL));
    type(h, t, "/nick Jose\xCC\x81\r\n");
    assert_string_equal(last_line(pane_read(&pa, h, t)),
                        "* error 553: nick \"Jos\xC3\xA9\" is taken\r\n");
    type(h, t, "/nick JOSE\xCC\x81\r\n");
    assert_string_equal(last_line(pane_read(&pa, h, t)),
                        "* error 553: nick \"JOS\xC3\x89\" is taken\r\n");
    /* alice plus a Hangul filler, a BOM, a letter mark. */
    type(h, t, "/nick alice\xE3\x85\xA4\r\n");
    assert_string_equal(last_line(pane_read(&pa, h, t)),
                        "* error 553: nick may not hold invisible, formatting, control or "
                        "direction characters\r\n");
    json(h, w2, "{\"type\":\"nick\",\"nick\":\"alice\\ufeff\",\"ref\":1}");
    json(h, w2, "{\"type\":\"nick\",\"nick\":\"alice\\u061c\",\"ref\":2}");
    out = drain(h, w2, NULL);
    assert_string_equal(out, "[{\"type\":\"error\",\"code\":553,\"message\":\"nick may not hold "
                             "invisible, formatting, control or direction characters\",\"ref\":1},"
                             "{\"type\":\"error\",\"code\":553,\"message\":\"nick may not hold "
                             "invisible, formatting, control or direction characters\",\"ref\":2}]");
    free(out);
    /* A decomposed nick is shown composed; its owner may change its case. */
    type(h, t, "/nick Rene\xCC\x81\r\n");
    assert_string_equal(last_line(pane_read(&pa, h, t)), "* guest-1 is now Ren\xC3\xA9\r\n");
    type(h, t, "/nick RENÉ\r\n");
    assert_string_equal(last_line(pane_read(&pa, h, t)), "* Ren\xC3\xA9 is now REN\xC3\x89\r\n");
    free(pa.text);
    wt_decoder_free(&pa.dec);
    gw_hub_free(h);
}

static void hub_bidi_stripped_for_tcp(void **state)
{
    (void)state;
    struct gw_hub *h = hub();
    struct pane pa = {0};
    assert_int_equal(wt_decoder_init(&pa.dec, 0), WT_OK);
    uint64_t t = tcp(h);
    uint64_t w = web(h, "alice");
    free(drain(h, w, NULL));
    (void)pane_read(&pa, h, t); /* its first pane, which ends saying where it is */
    json(h, w, "{\"type\":\"say\",\"text\":\"abc\\u202edef\\u2066x\\u2069 \\u200fy\\u061c\"}");
    assert_string_equal(last_line(pane_read(&pa, h, t)), "alice: abcdefx y\r\n");
    /* The transcript keeps the stripped line: a newcomer's R shows it. */
    uint64_t t2 = tcp(h);
    struct pane pb = {0};
    assert_int_equal(wt_decoder_init(&pb.dec, 0), WT_OK);
    assert_non_null(strstr(pane_read(&pb, h, t2), "alice: abcdefx y\r\n"));
    /* A line quoting what a participant sent. */
    type(h, t, "/\xE2\x80\xAE" "dance\r\n");
    assert_string_equal(last_line(pane_read(&pa, h, t)),
                        "* error 502: unknown command /dance (try /help)\r\n");
    free(pa.text);
    free(pb.text);
    wt_decoder_free(&pa.dec);
    wt_decoder_free(&pb.dec);
    gw_hub_free(h);
}

static void hub_long_line_keeps_its_end(void **state)
{
    (void)state;
    struct gw_hub *h = hub();
    struct pane pa = {0};
    assert_int_equal(wt_decoder_init(&pa.dec, 0), WT_OK);
    uint64_t t = tcp(h);
    uint64_t w = web(h, "alice");
    free(drain(h, w, NULL));
    (void)pane_read(&pa, h, t);
    /* 819 times "€\n\n": 4095 bytes of text (the line limit is 4096),
     * 9000 bytes once each \n is "\r\n  ". */
    size_t cap = 819 * 10 + 64, o = 0;
    char *msg = malloc(cap);
    assert_non_null(msg);
    o += (size_t)snprintf(msg, cap, "{\"type\":\"say\",\"text\":\"");
    for (int i = 0; i < 819; i++)
        o += (size_t)snprintf(msg + o, cap - o, "\xE2\x82\xAC\\n\\n");
    snprintf(msg + o, cap - o, "\"}");
    json(h, w, msg);
    free(msg);
    json(h, w, "{\"type\":\"say\",\"text\":\"next\"}");
    const char *view = pane_read(&pa, h, t);
    /* The view ends with the next message on a line of its own... */
    const char *next = last_line(view);
    assert_string_equal(next, "alice: next\r\n");
    /* ... after the long line, cut at a character, marked, and ended. */
    const char *start = strstr(view, "alice: \xE2\x82\xAC\r\n  \r\n  ");
    assert_non_null(start);
    size_t len = (size_t)(next - start);
    assert_true(len <= GW_TRANSCRIPT_LINE_MAX_BYTES);
    assert_true(len > GW_TRANSCRIPT_LINE_MAX_BYTES - 8);
    assert_true(wt_utf8_valid(start, len));
    assert_memory_equal(start + len - 6, " \xE2\x80\xA6\r\n", 6);
    free(pa.text);
    wt_decoder_free(&pa.dec);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_is_valid_utf8),
        cmocka_unit_test(nick_is_valid_utf8),
        cmocka_unit_test(nick_refuses_invisible),
        cmocka_unit_test(nick_letters_by_category),
        cmocka_unit_test(nick_forms),
        cmocka_unit_test(strip_bidi),
        cmocka_unit_test(hub_nick_collisions),
        cmocka_unit_test(hub_bidi_stripped_for_tcp),
        cmocka_unit_test(hub_long_line_keeps_its_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
