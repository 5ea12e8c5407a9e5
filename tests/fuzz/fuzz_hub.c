/*
 * fuzz_hub.c - libFuzzer target for the hub: the input is a script.
 *
 * The first byte picks the hub's settings (rate limits, an access key,
 * small queue bounds so slow consumers happen). Then each step is one
 * opcode byte and its operands: connect a TCP participant or a browser
 * (with a hello), feed a TCP participant bytes (WINTALK frames, a /login,
 * lines, commands, edits), send a browser a JSON message built from the
 * script (say, typing, nick, hello, garbage), refuse or disconnect one,
 * read some or all of one's output, let time pass, stop the hub.
 *
 * Checked after every step: event ids only grow; the hub knows exactly the
 * connections the script opened and did not close; every queue is within
 * its bound (one oversized item, a welcome, is allowed alone); what a
 * browser reads is JSON whose live events have increasing ids; what a TCP
 * participant reads decodes as WINTALK frames and every R (the transcript)
 * is within the transcript's cap. At the end everything is freed (ASan's
 * leak check sees any participant or event left behind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gw_hub.h"
#include "gw_limits.h"
#include "wt_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define MAX_PARTS 12u
/* The hub's epoch, and as a welcome shows it. */
#define FUZZ_EPOCH 0x5eed00000000a001ull
#define FUZZ_EPOCH_HEX "5eed00000000a001"
#define TCP_Q 2048u
#define WEB_Q 8192u

struct fp {
    uint64_t pid;
    int web;
    uint64_t last_id;         /* browser: latest live event id seen */
    struct wt_decoder dec;    /* TCP: what it is sent */
};

struct script {
    const uint8_t *p, *end;
};

static unsigned byte(struct script *s)
{
    return s->p < s->end ? *s->p++ : 0;
}

/* Up to max bytes of the script as operand. */
static size_t chunk(struct script *s, size_t max, const uint8_t **out)
{
    size_t n = byte(s) % (max + 1);
    if (n > (size_t)(s->end - s->p))
        n = (size_t)(s->end - s->p);
    *out = s->p;
    s->p += n;
    return n;
}

static void check_web_event(struct fp *f, cJSON *ev, uint64_t hub_last)
{
    CHECK(cJSON_IsObject(ev));
    cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    CHECK(cJSON_IsString(type));
    cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
    if (!strcmp(type->valuestring, "welcome")) {
        cJSON *epoch = cJSON_GetObjectItemCaseSensitive(ev, "epoch");
        CHECK(cJSON_IsString(epoch) && !strcmp(epoch->valuestring, FUZZ_EPOCH_HEX));
        CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(ev, "reset")));
        cJSON *last = cJSON_GetObjectItemCaseSensitive(ev, "last_id");
        CHECK(cJSON_IsNumber(last) && (uint64_t)last->valuedouble <= hub_last);
        double prev = 0;
        cJSON *h;
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(ev, "history"))
        {
            cJSON *hid = cJSON_GetObjectItemCaseSensitive(h, "id");
            CHECK(cJSON_IsNumber(hid) && hid->valuedouble > prev &&
                  hid->valuedouble <= last->valuedouble);
            prev = hid->valuedouble;
        }
        f->last_id = (uint64_t)last->valuedouble;
    } else if (id) {
        CHECK(cJSON_IsNumber(id));
        uint64_t v = (uint64_t)id->valuedouble;
        CHECK(v > f->last_id && v <= hub_last);
        f->last_id = v;
    }
}

/* Read one write (or all) of a participant's output and check it. */
static void take(struct gw_hub *h, struct fp *f, int all)
{
    struct gw_buf *b;
    int rc;
    while ((rc = gw_hub_take(h, f->pid, &b)) == 1) {
        const char *p = (const char *)gw_buf_bytes(b);
        CHECK(b->len <= GW_BATCH_MAX_BYTES || b->len <= WEB_Q + GW_WELCOME_HISTORY_MAX_BYTES +
                                                            GW_PARTICIPANTS_CEILING * 64u);
        if (f->web) {
            cJSON *root = cJSON_ParseWithLength(p, b->len);
            CHECK(root);
            if (cJSON_IsArray(root)) {
                cJSON *ev;
                cJSON_ArrayForEach(ev, root) check_web_event(f, ev, gw_hub_last_id(h));
            } else {
                check_web_event(f, root, gw_hub_last_id(h));
            }
            cJSON_Delete(root);
        } else {
            size_t off = 0;
            if (b->len >= WT_HANDSHAKE_LEN + WT_PRIMING_LEN &&
                !memcmp(p, WT_HANDSHAKE WT_PRIMING, WT_HANDSHAKE_LEN + WT_PRIMING_LEN))
                off = WT_HANDSHAKE_LEN + WT_PRIMING_LEN;
            while (off < b->len) {
                struct wt_frame fr;
                size_t used = 0;
                int d = wt_decoder_feed(&f->dec, p + off, b->len - off, &used, &fr);
                off += used;
                CHECK(d == WT_OK); /* the hub sends whole frames */
                CHECK(wt_utf8_valid(fr.text, fr.len));
                if (fr.op == WT_OP_REPLACE)
                    CHECK(fr.len <= GW_TRANSCRIPT_MAX_BYTES);
            }
        }
        gw_buf_unref(b);
        if (!all)
            return;
    }
    CHECK(rc == 0);
}

/* JSON messages: a prefix, bytes of the script, a suffix. */
static const char *const json_templates[][2] = {
    {"{\"type\":\"say\",\"text\":\"", "\"}"},
    {"{\"type\":\"typing\",\"text\":\"", "\"}"},
    {"{\"type\":\"nick\",\"nick\":\"", "\"}"},
    {"{\"type\":\"hello\",\"nick\":\"", "\",\"last_id\":3}"},
    {"{\"type\":\"hello\",\"key\":\"", "\"}"},
    {"{\"type\":\"say\",\"text\":\"/", "\",\"ref\":7}"},
    {"", ""},
    {"{\"type\":\"hello\",\"last_id\":2,\"epoch\":\"", "\"}"},
    {"{\"type\":\"hello\",\"last_id\":2,\"epoch\":\"" FUZZ_EPOCH_HEX "\",\"nick\":\"", "\"}"},
};

static const char *const tcp_snippets[] = {
    "A3:hi\n", "A2:\r\n", "R0:", "A1:/", "A5:/who\n", "A6:/help\n", "A10:/nick bob\n",
    "A14:/login s3cret\n", "A12:/login nope\n", "A8:/me hi\n", "R6:a\nb\nc\n", "A19:",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct script s = {data, data + size};
    unsigned conf = byte(&s);
    struct gw_hub_config cfg = {
        .headroom = 16,
        .max_participants = 1 + conf % 8,
        .rate = (conf >> 3) & 1 ? 3 : 0,
        .typing_rate = (conf >> 3) & 1 ? 4 : 0,
        .abuse_strikes = (conf >> 4) & 1 ? 6 : 0,
        .line_max = (conf >> 5) & 1 ? 32 : 0,
        .draft_units = (conf >> 5) & 1 ? 256 : 0,
        .key = (conf >> 6) & 1 ? "s3cret" : NULL,
        .tcp_queue_max_bytes = TCP_Q,
        .web_queue_max_bytes = WEB_Q,
        .epoch = FUZZ_EPOCH,
    };
    struct gw_hub *h;
    CHECK(gw_hub_new(&h, &cfg) == GW_OK);
    struct fp parts[MAX_PARTS];
    unsigned n = 0;
    int64_t now = 1795555200000LL;
    uint64_t last_id = 0;

    while (s.p < s.end) {
        unsigned op = byte(&s) % 11;
        unsigned who = n ? byte(&s) % n : 0;
        struct fp *f = n ? &parts[who] : NULL;
        const uint8_t *bytes;
        size_t len;
        char json[512];
        switch (op) {
        case 0: /* a TCP participant */
        case 1: /* a browser, with a hello */
            if (n < MAX_PARTS) {
                struct fp *nf = &parts[n];
                memset(nf, 0, sizeof(*nf));
                nf->web = op == 1;
                int rc = gw_hub_connect(h, nf->web ? GW_VIA_WEB : GW_VIA_TCP, NULL, now, &nf->pid);
                CHECK(rc == GW_OK || rc == GW_EFULL);
                if (rc == GW_OK) {
                    (void)wt_decoder_init(&nf->dec, 0);
                    n++;
                    if (nf->web) {
                        const char *hello = "{\"type\":\"hello\",\"key\":\"s3cret\"}";
                        CHECK(gw_hub_web_input(h, nf->pid, now, hello, strlen(hello)) == GW_OK);
                    }
                }
            }
            break;
        case 2: /* raw bytes from a TCP participant */
            len = chunk(&s, 64, &bytes);
            if (f && !f->web)
                CHECK(gw_hub_tcp_input(h, f->pid, now, bytes, len) == GW_OK);
            break;
        case 3: /* a well-formed snippet from a TCP participant */
            if (f && !f->web) {
                const char *t = tcp_snippets[byte(&s) % (sizeof tcp_snippets / sizeof *tcp_snippets)];
                CHECK(gw_hub_tcp_input(h, f->pid, now, t, strlen(t)) == GW_OK);
            }
            break;
        case 4: { /* a JSON message from a browser */
            unsigned t = byte(&s) % (sizeof json_templates / sizeof *json_templates);
            len = chunk(&s, 48, &bytes);
            size_t a = strlen(json_templates[t][0]), z = strlen(json_templates[t][1]);
            memcpy(json, json_templates[t][0], a);
            memcpy(json + a, bytes, len);
            memcpy(json + a + len, json_templates[t][1], z);
            if (f && f->web)
                CHECK(gw_hub_web_input(h, f->pid, now, json, a + len + z) == GW_OK);
            break;
        }
        case 5: /* read one write */
        case 6: /* read everything */
            if (f)
                take(h, f, op == 6);
            break;
        case 7: /* time passes */
            now += byte(&s) * 10;
            gw_hub_tick(h, now);
            break;
        case 8: /* the connection is gone */
            if (f) {
                take(h, f, 1);
                CHECK(gw_hub_disconnect(h, f->pid, now, GW_LEAVE_CLOSED) == GW_OK);
                CHECK(gw_hub_disconnect(h, f->pid, now, GW_LEAVE_CLOSED) == GW_ENOENT);
                wt_decoder_free(&f->dec);
                parts[who] = parts[--n];
            }
            break;
        case 9: /* refused for a limit, or a browser's message rejected */
            if (f && f->web && byte(&s) & 1) {
                CHECK(gw_hub_web_reject(h, f->pid, byte(&s) & 1 ? 552 : 500, "no") == GW_OK);
            } else if (n < MAX_PARTS) {
                struct fp *nf = &parts[n];
                memset(nf, 0, sizeof(*nf));
                nf->web = byte(&s) & 1;
                int rc = gw_hub_refuse(h, nf->web ? GW_VIA_WEB : GW_VIA_TCP, NULL, "busy", &nf->pid);
                CHECK(rc == GW_OK || rc == GW_EFULL);
                if (rc == GW_OK) {
                    (void)wt_decoder_init(&nf->dec, 0);
                    CHECK(gw_hub_closing(h, nf->pid, NULL, NULL) == 1);
                    n++;
                }
            }
            break;
        case 10: /* the gateway stops */
            if (byte(&s) == 0x5A)
                gw_hub_shutdown(h, now);
            break;
        }
        /* Invariants. */
        uint64_t l = gw_hub_last_id(h);
        CHECK(l >= last_id);
        last_id = l;
        CHECK(gw_hub_connections(h) == n);
        for (unsigned i = 0; i < n; i++) {
            size_t q = gw_hub_queued_bytes(h, parts[i].pid);
            size_t bound = parts[i].web ? WEB_Q : TCP_Q;
            CHECK(q <= bound || q <= GW_WELCOME_HISTORY_MAX_BYTES + 64u * 1024u);
            CHECK(gw_hub_nick(h, parts[i].pid) != NULL);
        }
        unsigned tcp, web;
        gw_hub_counts(h, &tcp, &web);
        CHECK(tcp + web <= n);
    }
    for (unsigned i = 0; i < n; i++) {
        take(h, &parts[i], 1);
        wt_decoder_free(&parts[i].dec);
    }
    gw_hub_free(h);
    return 0;
}
