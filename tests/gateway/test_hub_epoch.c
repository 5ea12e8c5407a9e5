/*
 * test_hub_epoch.c - the epoch of event ids: every welcome shows it, and a
 * browser that resumes with a last_id of another epoch (the gateway
 * restarted; ids started again at 1) gets reset:true and the latest events,
 * never a silent gap. Exact sequences: every JSON byte is asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hubtest.h"

#define EPOCH_1 0x5eed00000000a001ull
#define EPOCH_2 0x00c0ffee0000b002ull

/* The message event the TCP participant guest-1 (pid 1) sends as its line
 * "m<id>" at time T0 + id. */
static void message_json(char *out, size_t len, unsigned id)
{
    snprintf(out, len,
             "{\"type\":\"message\",\"room\":\"#lobby\",\"id\":%u,\"time\":%lld,\"pid\":1,\"nick\":\"guest-1\","
             "\"via\":\"tcp\",\"text\":\"m%u\",\"me\":false}",
             id, T0 + id, id);
}

/* guest-1 connects at T0 (join, id 1) and says lines until the latest id is
 * `last`. */
static uint64_t run(struct gw_hub *h, unsigned last)
{
    uint64_t a = ht_tcp(h, T0);
    char line[32];
    for (unsigned id = 2; id <= last; id++) {
        unsigned n = (unsigned)snprintf(line, sizeof line, "A%u:m%u\n", id < 10 ? 3u : 4u, id);
        assert_true(n < sizeof line);
        ht_in(h, a, T0 + id, line);
    }
    assert_int_equal(gw_hub_last_id(h), last);
    return a;
}

/* History ids from..to of run(), as the welcome lists them. */
static void history_json(char *out, size_t len, unsigned from, unsigned to)
{
    size_t o = 0;
    for (unsigned id = from; id <= to; id++) {
        if (id > from)
            out[o++] = ',';
        if (id == 1)
            o += (size_t)snprintf(out + o, len - o,
                                  "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":1,\"time\":%lld,\"pid\":1,"
                                  "\"nick\":\"guest-1\",\"via\":\"tcp\"}",
                                  T0);
        else {
            message_json(out + o, len - o, id);
            o += strlen(out + o);
        }
        assert_true(o < len);
    }
    out[o] = '\0';
}

/* The welcome of browser pid 2 "alice" after guest-1, then its own join. */
static void welcome_json(char *out, size_t len, const char *epoch, int reset, unsigned from,
                         unsigned last, int gap, int64_t now)
{
    char hist[4096];
    history_json(hist, sizeof hist, from, last);
    snprintf(out, len,
             "[{\"type\":\"welcome\",\"code\":220,\"protocol\":\"wintalk.v1\","
             "\"you\":{\"pid\":2,\"nick\":\"alice\",\"via\":\"web\"},"
             "\"participants\":[{\"pid\":1,\"nick\":\"guest-1\",\"via\":\"tcp\",\"typing\":\"\"},"
             "{\"pid\":2,\"nick\":\"alice\",\"via\":\"web\",\"typing\":\"\"}],"
             "\"participants_count\":2,\"epoch\":\"%s\",\"reset\":%s,\"history\":[%s],"
             "\"last_id\":%u,\"gap\":%s},"
             "{\"type\":\"join\",\"room\":\"#lobby\",\"id\":%u,\"time\":%lld,\"pid\":2,\"nick\":\"alice\",\"via\":\"web\"}]|",
             epoch, reset ? "true" : "false", hist, last, gap ? "true" : "false", last + 1,
             (long long)now);
}

/* The case seen in the field: a browser saw events 1..6 of one run; the
 * gateway restarted and its new run has 9 events; the browser resumes with
 * last_id 6 and its old epoch. It must get reset and events 1..9 of the new
 * run, not {last_id:9, gap:false, history:[7,8,9]}. */
static void resume_after_restart(void **state)
{
    (void)state;
    char want[8192];
    struct gw_hub *h = ht_hub((struct gw_hub_config){.epoch = EPOCH_1});
    run(h, 5);
    uint64_t w = ht_web(h, T0 + 100, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    /* A first visit: the epoch, no reset, the recent history. */
    welcome_json(want, sizeof want, "5eed00000000a001", 0, 1, 5, 0, T0 + 100);
    ht_expect(h, w, want);
    assert_int_equal(gw_hub_last_id(h), 6);
    gw_hub_free(h);

    h = ht_hub((struct gw_hub_config){.epoch = EPOCH_2});
    run(h, 9);
    w = ht_web(h, T0 + 200,
               "{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6,\"epoch\":\"5eed00000000a001\"}");
    welcome_json(want, sizeof want, "00c0ffee0000b002", 1, 1, 9, 1, T0 + 200);
    ht_expect(h, w, want);
    gw_hub_free(h);
}

/* Each way a hello can name (or not name) an epoch. */
static void hello_epochs(void **state)
{
    (void)state;
    char want[8192];
    const struct {
        const char *hello;
        int reset;
        unsigned from;
        int gap;
    } cases[] = {
        /* The current epoch: resumes after last_id, as without epochs. */
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6,\"epoch\":\"00c0ffee0000b002\"}", 0, 7, 0},
        /* A last_id and no epoch: it cannot be trusted. */
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6}", 1, 1, 1},
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6,\"epoch\":null}", 1, 1, 1},
        /* Another epoch, even with no last_id, or one of another form. */
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"epoch\":\"5eed00000000a001\"}", 1, 1, 1},
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6,\"epoch\":\"00C0FFEE0000B002\"}", 1, 1, 1},
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6,\"epoch\":\"00c0ffee0000b0\"}", 1, 1, 1},
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":6,\"epoch\":\"\"}", 1, 1, 1},
        /* A first visit. */
        {"{\"type\":\"hello\",\"nick\":\"alice\"}", 0, 1, 0},
        {"{\"type\":\"hello\",\"nick\":\"alice\",\"last_id\":0,\"epoch\":null}", 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_hub *h = ht_hub((struct gw_hub_config){.epoch = EPOCH_2});
        run(h, 9);
        uint64_t w = ht_web(h, T0 + 300, cases[i].hello);
        welcome_json(want, sizeof want, "00c0ffee0000b002", cases[i].reset, cases[i].from, 9,
                     cases[i].gap, T0 + 300);
        char *got = ht_drain(h, w);
        if (strcmp(got, want) != 0)
            fail_msg("case %zu %s\n got: %s\nwant: %s", i, cases[i].hello, got, want);
        free(got);
        gw_hub_free(h);
    }
    /* The hub's epoch as it was given, zeros included. */
    struct gw_hub *h = ht_hub((struct gw_hub_config){.epoch = 0});
    run(h, 1);
    ht_web(h, T0, "{\"type\":\"hello\",\"nick\":\"alice\"}");
    welcome_json(want, sizeof want, "0000000000000000", 0, 1, 1, 0, T0);
    ht_expect(h, 2, want);
    gw_hub_free(h);
}

/* An epoch that is not a string, or too long to be one, is refused like
 * any bad field; the browser can say hello again. */
static void bad_epoch(void **state)
{
    (void)state;
    struct gw_hub *h = ht_hub((struct gw_hub_config){.epoch = EPOCH_2});
    uint64_t w = ht_web(h, T0, "{\"type\":\"hello\",\"last_id\":3,\"epoch\":17,\"ref\":1}");
    ht_expect(h, w, "{\"type\":\"error\",\"code\":501,\"message\":\"a field has the wrong type (a string was expected)\",\"ref\":1}|");
    char hello[256];
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"epoch\":\"%065d\",\"ref\":2}", 0);
    assert_int_equal(gw_hub_web_input(h, w, T0, hello, strlen(hello)), GW_OK);
    ht_expect(h, w, "{\"type\":\"error\",\"code\":552,\"message\":\"a field is too large\",\"ref\":2}|");
    assert_int_equal(gw_hub_joined(h, w), 0);
    snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"epoch\":\"%064d\"}", 0);
    assert_int_equal(gw_hub_web_input(h, w, T0, hello, strlen(hello)), GW_OK);
    char *got = ht_drain(h, w);
    assert_non_null(strstr(got, "\"epoch\":\"00c0ffee0000b002\",\"reset\":true,"));
    free(got);
    assert_int_equal(gw_hub_joined(h, w), 1);
    gw_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_after_restart),
        cmocka_unit_test(hello_epochs),
        cmocka_unit_test(bad_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
