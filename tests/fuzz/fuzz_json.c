/*
 * fuzz_json.c - libFuzzer target for the browser's side of wintalk.v1:
 * gw_json_parse_client, then, for what it accepts, the gateway's encoders.
 *
 * Checked on every input: parsing never crashes or leaks (also after a
 * failure); a refusal is one of the documented reply codes; what is
 * accepted has a known type, valid UTF-8 strings within their bounds; a
 * say or typing text, cleaned as the hub cleans it and encoded as an event
 * or an error message, is JSON that parses back to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gw_json.h"
#include "gw_limits.h"
#include "gw_text.h"
#include "wt_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* The JSON in b parses, and its "field" is the string want (want_len). */
static void check_roundtrip(struct gw_buf *b, const char *field, const char *want, size_t want_len)
{
    CHECK(b);
    CHECK(wt_utf8_valid((const char *)gw_buf_bytes(b), b->len));
    cJSON *root = cJSON_ParseWithLength((const char *)gw_buf_bytes(b), b->len);
    CHECK(root && cJSON_IsObject(root));
    cJSON *it = cJSON_GetObjectItemCaseSensitive(root, field);
    CHECK(cJSON_IsString(it));
    /* cJSON strings end at a NUL: the cleaned text has none. */
    CHECK(strlen(it->valuestring) == want_len && memcmp(it->valuestring, want, want_len) == 0);
    cJSON_Delete(root);
    gw_buf_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_cmsg m;
    const char *why = NULL;
    int rc = gw_json_parse_client((const char *)data, size, &m, &why);
    CHECK(why);
    if (rc < 0) {
        CHECK(rc == -GW_R_UNREADABLE || rc == -GW_R_BAD_ARGS || rc == -GW_R_UNKNOWN ||
              rc == -GW_R_TOO_LARGE || rc == -GW_R_SHUTDOWN);
        /* The error reply, with whatever ref was kept, is valid JSON. */
        struct gw_buf *e = gw_json_error(-rc, why, m.ref, 16);
        check_roundtrip(e, "message", why, strlen(why));
        gw_cmsg_free(&m);
        return 0;
    }
    CHECK(rc == 0);
    CHECK(m.type == GW_C_HELLO || m.type == GW_C_SAY || m.type == GW_C_TYPING ||
          m.type == GW_C_NICK);
    if (m.nick) {
        CHECK(m.nick_len <= GW_NICK_MAX_BYTES && wt_utf8_valid(m.nick, m.nick_len));
        (void)gw_nick_check(m.nick, m.nick_len);
    }
    if (m.key)
        CHECK(m.key_len <= GW_KEY_MAX_BYTES);
    if (m.type == GW_C_NICK)
        CHECK(m.nick);
    if (m.type == GW_C_SAY || m.type == GW_C_TYPING) {
        CHECK(m.text && wt_utf8_valid(m.text, m.text_len));
        size_t n = gw_text_clean(m.text, m.text_len, m.text, m.type == GW_C_SAY);
        CHECK(n <= m.text_len && wt_utf8_valid(m.text, n));
        for (size_t i = 0; i < n; i++)
            CHECK((unsigned char)m.text[i] >= 0x20 || m.text[i] == '\t' || m.text[i] == '\n');
        struct gw_event ev = {.type = m.type == GW_C_SAY ? GW_EV_MESSAGE : GW_EV_TYPING,
                              .id = 1,
                              .time_ms = 1,
                              .pid = 2,
                              .nick = "n",
                              .via = "web",
                              .text = m.text,
                              .text_len = n};
        check_roundtrip(gw_json_event(&ev, 16), "text", m.text, n);
        check_roundtrip(gw_json_info(211, m.text, n, 0), "text", m.text, n);
    }
    if (m.ref[0]) {
        struct gw_buf *e = gw_json_error(429, "slow down", m.ref, 0);
        check_roundtrip(e, "message", "slow down", 9);
    }
    gw_cmsg_free(&m);
    return 0;
}
