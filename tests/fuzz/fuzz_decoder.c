/*
 * fuzz_decoder.c - libFuzzer target for the WINTALK frame decoder.
 *
 * The first input byte picks the decoder's cap (small caps reach the length
 * limit often) and the size of the pieces the rest is fed in. Checked on
 * every input: the decoder never holds more than one frame's worth of text
 * (3 bytes per unit of the cap), every frame it gives is valid UTF-8 whose
 * UTF-16 count is the header's, a frame re-encoded and decoded again is the
 * same frame, and feeding the same bytes whole gives the same frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wt_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* A running digest of the frames a decode produced, to compare two runs. */
struct digest {
    uint64_t h;
    size_t frames;
    int status;
};

static void mix(struct digest *g, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        g->h = (g->h ^ b[i]) * 1099511628211ull;
}

static void check_frame(const struct wt_frame *f, uint32_t cap)
{
    struct wt_decoder d2;
    struct wt_frame g;
    size_t used, wire_len;
    char *wire;

    CHECK(f->units <= cap);
    CHECK(f->len <= (size_t)WT_UTF8_PER_UNIT_MAX * f->units);
    CHECK(f->text[f->len] == '\0');
    CHECK(wt_utf8_valid(f->text, f->len));
    CHECK(wt_utf16_units(f->text, f->len) == f->units);

    wire = malloc(f->len + WT_HEADER_BUF);
    CHECK(wire);
    CHECK(wt_frame_encode(wire, f->len + WT_HEADER_BUF, &wire_len, f->op, f->text, f->len) ==
          WT_OK);
    CHECK(wt_decoder_init(&d2, cap) == WT_OK);
    CHECK(wt_decoder_feed(&d2, wire, wire_len, &used, &g) == WT_OK);
    CHECK(used == wire_len);
    CHECK(g.op == f->op && g.len == f->len && g.units == f->units);
    CHECK(memcmp(g.text, f->text, f->len) == 0);
    wt_decoder_free(&d2);
    free(wire);
}

static struct digest run(const uint8_t *data, size_t size, uint32_t cap, size_t piece)
{
    struct wt_decoder d;
    struct digest g = {1469598103934665603ull, 0, WT_EAGAIN};
    size_t off = 0;

    CHECK(wt_decoder_init(&d, cap) == WT_OK);
    while (off < size) {
        size_t n = size - off < piece ? size - off : piece;
        while (n > 0) {
            struct wt_frame f;
            size_t used;
            int rc = wt_decoder_feed(&d, data + off, n, &used, &f);
            CHECK(used <= n);
            CHECK(d.buf_cap <= (size_t)WT_UTF8_PER_UNIT_MAX * cap + 2);
            off += used;
            n -= used;
            if (rc == WT_EAGAIN) {
                CHECK(n == 0);
                break;
            }
            if (rc != WT_OK) {
                g.status = rc;
                wt_decoder_free(&d);
                return g;
            }
            check_frame(&f, cap);
            g.frames++;
            mix(&g, &f.op, sizeof(f.op));
            mix(&g, &f.units, sizeof(f.units));
            mix(&g, f.text, f.len);
        }
    }
    wt_decoder_free(&d);
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t caps[] = {1, 2, 3, 5, 16, 300, WT_FRAME_UNITS_DEFAULT, 0};
    struct digest a, b;
    uint32_t cap;
    size_t piece;

    if (size == 0)
        return 0;
    cap = caps[data[0] & 7] ? caps[data[0] & 7] : WT_FRAME_UNITS_DEFAULT;
    piece = (size_t)(data[0] >> 3) + 1; /* 1..32 bytes */
    data++;
    size--;

    a = run(data, size, cap, piece);
    b = run(data, size, cap, size ? size : 1);
    CHECK(a.status == b.status && a.frames == b.frames && a.h == b.h);
    return 0;
}
