/*
 * fuzz_hub.c - libFuzzer target for the hub: the input is a script.
 *
 * The first byte picks the hub's settings (rate limits, an access key,
 * small queue bounds so slow consumers happen, few rooms so the least
 * recently active empty one is dropped). Then each step is one opcode byte
 * and its operands: connect a TCP participant or a browser (wintalk.v1
 * with a hello, or wintalk.v2 with a hello naming rooms and perhaps the
 * resume token of an earlier one), feed a TCP participant bytes (WINTALK
 * frames, a /login, lines, commands: /join, /part, /msg, /rooms, edits),
 * send a browser a JSON message built from the script (say, typing, nick,
 * hello, join, part, msg, a room named or fuzzed, garbage), refuse or
 * disconnect one, read some or all of one's output, let time pass, stop
 * the hub.
 *
 * Checked after every step: the ids of each room only grow; the hub knows
 * exactly the connections the script opened and did not close, and at
 * most --max-rooms rooms; every queue is within its bound (one oversized
 * item, a welcome, is allowed alone); what a browser reads is JSON whose
 * live events have increasing ids in each room (and private messages
 * increasing ids of their own), never past the room's latest; what a TCP
 * participant reads decodes as WINTALK frames and every R (the transcript
 * and a line saying where it is) is within the transcript's cap. At the
 * end everything is freed (ASan's leak check sees any participant, room,
 * identity or event left behind).
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
/* Rooms a browser's ids are followed in; tokens kept for a resume. */
#define FP_ROOMS 8u
#define TOKENS 4u

struct fp_room {
    char key[GW_ROOM_NAME_MAX_BYTES + 1]; /* lower case */
    uint64_t last_id;                     /* latest event id seen there */
};

struct fp {
    uint64_t pid;
    int web;
    struct fp_room rooms[FP_ROOMS];  /* browser: the ids seen, by room */
    unsigned nrooms;
    uint64_t last_private;    /* browser: latest private message id seen */
    struct wt_decoder dec;    /* TCP: what it is sent */
};

/* Tokens from welcomes, for hellos that resume. */
static char tokens[TOKENS][GW_TOKEN_HEX_LEN + 1];
static unsigned ntokens;

/* Not random: a counter, so a run can be replayed. */
static unsigned random_seq;

static int fuzz_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    unsigned char *b = buf;
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(random_seq * 31u + i);
    random_seq++;
    return 0;
}

/* The ids f has seen in room (any case), NULL when too many rooms are
 * followed already. */
static struct fp_room *fp_room(struct fp *f, const char *room)
{
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    size_t n = strlen(room);
    CHECK(n >= 2 && n <= GW_ROOM_NAME_MAX_BYTES && room[0] == '#');
    for (size_t i = 0; i <= n; i++)
        key[i] = room[i] >= 'A' && room[i] <= 'Z' ? (char)(room[i] - 'A' + 'a') : room[i];
    for (unsigned i = 0; i < f->nrooms; i++)
        if (!strcmp(f->rooms[i].key, key))
            return &f->rooms[i];
    if (f->nrooms == FP_ROOMS)
        return NULL;
    struct fp_room *r = &f->rooms[f->nrooms++];
    memcpy(r->key, key, n + 1);
    r->last_id = 0;
    return r;
}

/* A room's view (a welcome's entry, a joined reply): its history in
 * order, within its last_id, which is where f now stands in it. */
static void check_view(struct gw_hub *h, struct fp *f, cJSON *v, const char *room)
{
    cJSON *last = cJSON_GetObjectItemCaseSensitive(v, "last_id");
    CHECK(cJSON_IsNumber(last) && ((uint64_t)last->valuedouble <= gw_hub_room_last_id(h, room) ||
                                   gw_hub_room_members(h, room) == GW_ENOENT));
    CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(v, "gap")));
    double prev = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v, "history"))
    {
        cJSON *hid = cJSON_GetObjectItemCaseSensitive(e, "id");
        cJSON *hroom = cJSON_GetObjectItemCaseSensitive(e, "room");
        CHECK(cJSON_IsNumber(hid) && hid->valuedouble > prev &&
              hid->valuedouble <= last->valuedouble);
        CHECK(cJSON_IsString(hroom) && !strcmp(hroom->valuestring, room));
        prev = hid->valuedouble;
    }
    struct fp_room *r = fp_room(f, room);
    if (r)
        r->last_id = (uint64_t)last->valuedouble;
}

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

static void check_web_event(struct gw_hub *h, struct fp *f, cJSON *ev)
{
    CHECK(cJSON_IsObject(ev));
    cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    CHECK(cJSON_IsString(type));
    cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
    cJSON *room = cJSON_GetObjectItemCaseSensitive(ev, "room");
    if (!strcmp(type->valuestring, "welcome")) {
        cJSON *epoch = cJSON_GetObjectItemCaseSensitive(ev, "epoch");
        CHECK(cJSON_IsString(epoch) && !strcmp(epoch->valuestring, FUZZ_EPOCH_HEX));
        CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(ev, "reset")));
        cJSON *rooms = cJSON_GetObjectItemCaseSensitive(ev, "rooms");
        if (!rooms) { /* wintalk.v1: #lobby */
            check_view(h, f, ev, "#lobby");
            return;
        }
        cJSON *r, *token = cJSON_GetObjectItemCaseSensitive(ev, "token");
        CHECK(cJSON_IsString(token) && strlen(token->valuestring) == GW_TOKEN_HEX_LEN);
        memcpy(tokens[ntokens++ % TOKENS], token->valuestring, GW_TOKEN_HEX_LEN + 1);
        int first = 1;
        cJSON_ArrayForEach(r, rooms)
        {
            cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "room");
            CHECK(cJSON_IsString(name));
            CHECK(!first || !strcmp(name->valuestring, "#lobby")); /* #lobby first */
            first = 0;
            check_view(h, f, r, name->valuestring);
        }
        cJSON *pid = cJSON_GetObjectItemCaseSensitive(ev, "private_id");
        CHECK(cJSON_IsNumber(pid));
        double prev = 0;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ev, "private"))
        {
            cJSON *mid = cJSON_GetObjectItemCaseSensitive(r, "id");
            CHECK(cJSON_IsNumber(mid) && mid->valuedouble > prev &&
                  mid->valuedouble <= pid->valuedouble);
            prev = mid->valuedouble;
        }
        f->last_private = (uint64_t)pid->valuedouble;
    } else if (!strcmp(type->valuestring, "joined")) {
        CHECK(cJSON_IsString(room));
        check_view(h, f, ev, room->valuestring);
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "private"))) {
        /* Never in a room; the receiving identity's ids only grow. */
        CHECK(!room && cJSON_IsNumber(id));
        CHECK((uint64_t)id->valuedouble > f->last_private);
        f->last_private = (uint64_t)id->valuedouble;
    } else if (id && strcmp(type->valuestring, "error") && strcmp(type->valuestring, "info")) {
        CHECK(cJSON_IsNumber(id) && cJSON_IsString(room));
        uint64_t v = (uint64_t)id->valuedouble;
        struct fp_room *r = fp_room(f, room->valuestring);
        /* (Unless the room was dropped since: its events may still be
         * queued.) */
        CHECK(v <= gw_hub_room_last_id(h, room->valuestring) ||
              gw_hub_room_members(h, room->valuestring) == GW_ENOENT);
        if (r) {
            CHECK(v > r->last_id);
            r->last_id = v;
        }
    } else if (!strcmp(type->valuestring, "typing")) {
        CHECK(cJSON_IsString(room));
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
                cJSON_ArrayForEach(ev, root) check_web_event(h, f, ev);
            } else {
                check_web_event(h, f, root);
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
                    CHECK(fr.len <= GW_TRANSCRIPT_MAX_BYTES + GW_ROOM_NAME_MAX_BYTES + 32u);
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
    {"{\"type\":\"join\",\"room\":\"", "\",\"last_id\":1}"},
    {"{\"type\":\"part\",\"room\":\"", "\"}"},
    {"{\"type\":\"msg\",\"to\":\"guest-1\",\"text\":\"", "\"}"},
    {"{\"type\":\"say\",\"room\":\"#a\",\"text\":\"", "\"}"},
    {"{\"type\":\"typing\",\"room\":\"#b\",\"text\":\"", "\"}"},
    {"{\"type\":\"hello\",\"rooms\":{\"#a\":1,\"", "\":0},\"private_id\":1}"},
};

/* Room names for the room operations: some the same room in two
 * spellings, #lobby, bad ones. */
static const char *const room_names[] = {"#a", "#A", "#b", "#c.d", "#lobby", "#", "#a b", "lobby",
                                         "#e", "#f"};

/* Requests naming a room (between the two halves), and private messages
 * to a nick. */
static const char *const room_requests[][2] = {
    {"{\"type\":\"join\",\"room\":\"", "\",\"last_id\":0}"},
    {"{\"type\":\"join\",\"room\":\"", "\",\"last_id\":3}"},
    {"{\"type\":\"part\",\"room\":\"", "\"}"},
    {"{\"type\":\"say\",\"room\":\"", "\",\"text\":\"hi\"}"},
    {"{\"type\":\"say\",\"room\":\"", "\",\"text\":\"/who\"}"},
    {"{\"type\":\"say\",\"room\":\"", "\",\"text\":\"/part\"}"},
    {"{\"type\":\"say\",\"text\":\"/join ", "\"}"},
    {"{\"type\":\"typing\",\"room\":\"", "\",\"text\":\"ab\"}"},
    {"{\"type\":\"typing\",\"room\":\"", "\",\"text\":\"\"}"},
    {"{\"type\":\"say\",\"room\":\"", "\",\"text\":\"/rooms\"}"},
};
static const char *const private_requests[][2] = {
    {"{\"type\":\"msg\",\"to\":\"", "\",\"text\":\"psst\"}"},
    {"{\"type\":\"say\",\"text\":\"/msg ", " hi\\nthere\"}"},
};
static const char *const nicks[] = {"guest-1", "guest-2", "GUEST-3", "bob", "alice", "you"};

static const char *const tcp_snippets[] = {
    "A3:hi\n", "A2:\r\n", "R0:", "A1:/", "A5:/who\n", "A6:/help\n", "A10:/nick bob\n",
    "A14:/login s3cret\n", "A12:/login nope\n", "A8:/me hi\n", "R6:a\nb\nc\n", "A19:",
    "A9:/join #a\n", "A6:/part\n", "A9:/join #B\n", "A7:/rooms\n", "A17:/msg guest-1 hey\n",
    "A15:/msg alice yo\n", "A12:/nick alice\n", "A12:/me -> you\n", "A12:/join #lobby\n",
    "A9:/part #a\n", "A10:/join #c.d\n",
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
        .max_rooms = 2 + (conf >> 7),
        .max_rooms_per_browser = 1 + (conf >> 6) % 3,
        .random = fuzz_random,
    };
    random_seq = 0;
    ntokens = 0;
    struct gw_hub *h;
    CHECK(gw_hub_new(&h, &cfg) == GW_OK);
    struct fp parts[MAX_PARTS];
    unsigned n = 0;
    int64_t now = 1795555200000LL;
    uint64_t last_id = 0;

    while (s.p < s.end) {
        unsigned op = byte(&s) % 14;
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
        case 11: /* a wintalk.v2 browser: rooms, perhaps a token seen before */
            if (n < MAX_PARTS) {
                struct fp *nf = &parts[n];
                memset(nf, 0, sizeof(*nf));
                nf->web = 1;
                int rc = gw_hub_connect_web(h, GW_PROTO_V2, NULL, now, &nf->pid);
                CHECK(rc == GW_OK || rc == GW_EFULL);
                if (rc != GW_OK)
                    break;
                (void)wt_decoder_init(&nf->dec, 0);
                n++;
                unsigned b = byte(&s);
                const char *r1 = room_names[b % (sizeof room_names / sizeof *room_names)];
                const char *r2 = room_names[(b >> 4) % (sizeof room_names / sizeof *room_names)];
                int jl = snprintf(json, sizeof json,
                                   "{\"type\":\"hello\",\"key\":\"s3cret\",\"nick\":\"%s\","
                                   "\"rooms\":{\"%s\":%u,\"%s\":0},\"epoch\":\"" FUZZ_EPOCH_HEX "\","
                                   "\"private_id\":%u%s%s%s}",
                                   nicks[byte(&s) % (sizeof nicks / sizeof *nicks)], r1, byte(&s) % 4,
                                   r2, byte(&s) % 3, ntokens && (b & 8) ? ",\"token\":\"" : "",
                                   ntokens && (b & 8) ? tokens[byte(&s) % (ntokens < TOKENS ? ntokens : TOKENS)] : "",
                                   ntokens && (b & 8) ? "\"" : "");
                CHECK(jl > 0 && (size_t)jl < sizeof json);
                CHECK(gw_hub_web_input(h, nf->pid, now, json, (size_t)jl) == GW_OK);
            }
            break;
        case 12: /* a browser asks about a room */
        case 13: /* or writes to someone */
            if (f && f->web) {
                unsigned b = byte(&s);
                const char *const *req, *arg;
                if (op == 12) {
                    req = room_requests[b % (sizeof room_requests / sizeof *room_requests)];
                    arg = room_names[byte(&s) % (sizeof room_names / sizeof *room_names)];
                } else {
                    req = private_requests[b % (sizeof private_requests / sizeof *private_requests)];
                    arg = nicks[byte(&s) % (sizeof nicks / sizeof *nicks)];
                }
                int jl = snprintf(json, sizeof json, "%s%s%s", req[0], arg, req[1]);
                CHECK(jl > 0 && (size_t)jl < sizeof json);
                CHECK(gw_hub_web_input(h, f->pid, now, json, (size_t)jl) == GW_OK);
            }
            break;
        }
        /* Invariants. */
        uint64_t l = gw_hub_last_id(h);
        CHECK(l >= last_id);
        last_id = l;
        CHECK(gw_hub_connections(h) == n);
        CHECK(gw_hub_rooms(h) >= 1 && gw_hub_rooms(h) <= cfg.max_rooms);
        CHECK(gw_hub_room_members(h, "#lobby") >= 0);
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
