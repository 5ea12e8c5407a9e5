/*
 * test_hasher.c - passwords' hashes (server/gw_hasher.c): the synchronous
 * primitives against Debian's libargon2 (a match, near misses, the length
 * bounds, hashes made with other parameters, malformed PHC strings, fresh
 * salts), then the pool on a real libuv loop of the test's own: answers by
 * tag, the bound on requests held (exact, at queue_max and one past it),
 * answers never from inside a submission, the loop's timer on time while
 * forty hashes are made, a close with requests pending (the sanitizer
 * build sees any leak), and its threads never taking SIGTERM or SIGINT.
 */
#define _GNU_SOURCE /* gettid */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <uv.h>

#include "gw_hasher.h"

static const char PW[] = "correct horse battery staple";
#define PWLEN (sizeof PW - 1)

/* ------------------------------------------------------------ helpers */

/* A PHC string made by the library directly, with the given parameters
 * and a fixed salt: a hash made before our parameters changed. */
static void phc_with(uint32_t t, uint32_t m_kib, uint32_t p, const char *pw, size_t len, char *out,
                     size_t out_len)
{
    static const unsigned char salt[16] = "0123456789abcdef";
    assert_int_equal(
        argon2id_hash_encoded(t, m_kib, p, pw, len, salt, sizeof salt, 32, out, out_len),
        ARGON2_OK);
}

/* A cheap PHC string of PW (t=1, m=8 KiB): verifies in well under a
 * millisecond, for tests where the cost does not matter. */
static char cheap[GW_HASH_PHC_SIZE];

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "$SALT$HASH", after the parameters of phc. */
static const char *salt_of(const char *phc)
{
    const char *p = strstr(phc, ",p=");
    assert_non_null(p);
    p = strchr(p, '$');
    assert_non_null(p);
    return p;
}

static double now_ms(void)
{
    return (double)uv_hrtime() / 1e6;
}

/* ------------------------------------------------------------ the primitives */

static void test_hash_then_verify(void **state)
{
    (void)state;
    char phc[GW_HASH_PHC_SIZE];
    assert_int_equal(gw_password_hash(PW, PWLEN, phc, sizeof phc), GW_HASH_OK);
    assert_true(starts(phc, "$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_true(strlen(phc) <= GW_ACCOUNT_PHC_MAX_BYTES);
    assert_int_equal(gw_password_verify(phc, PW, PWLEN), GW_HASH_OK);
    /* Too small a buffer: refused, nothing half written. */
    char small[40];
    assert_int_equal(gw_password_hash(PW, PWLEN, small, sizeof small), GW_HASH_EINVAL);
    assert_string_equal(small, "");
}

static void test_near_misses(void **state)
{
    (void)state;
    char phc[GW_HASH_PHC_SIZE];
    assert_int_equal(gw_password_hash(PW, PWLEN, phc, sizeof phc), GW_HASH_OK);

    assert_int_equal(gw_password_verify(phc, "Tr0ub4dor&3", 11), GW_HASH_MISMATCH);
    /* One byte changed: the first, one in the middle, the last. */
    size_t at[] = {0, PWLEN / 2, PWLEN - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char pw[sizeof PW];
        memcpy(pw, PW, sizeof PW);
        pw[at[i]] ^= 0x01;
        assert_int_equal(gw_password_verify(phc, pw, PWLEN), GW_HASH_MISMATCH);
    }
    /* A prefix of the password, and the password with one more byte. */
    assert_int_equal(gw_password_verify(phc, PW, PWLEN - 1), GW_HASH_MISMATCH);
    assert_int_equal(gw_password_verify(phc, PW, 1), GW_HASH_MISMATCH);
    char longer[sizeof PW + 1];
    memcpy(longer, PW, PWLEN);
    longer[PWLEN] = 'x';
    assert_int_equal(gw_password_verify(phc, longer, PWLEN + 1), GW_HASH_MISMATCH);
}

static void test_length_bounds(void **state)
{
    (void)state;
    char phc[GW_HASH_PHC_SIZE];
    char big[GW_PASSWORD_MAX_BYTES + 1];
    memset(big, 'a', sizeof big);

    assert_int_equal(gw_password_hash(PW, 0, phc, sizeof phc), GW_HASH_LENGTH);
    assert_int_equal(gw_password_hash(big, GW_PASSWORD_MAX_BYTES + 1, phc, sizeof phc),
                     GW_HASH_LENGTH);
    assert_int_equal(gw_password_verify(cheap, PW, 0), GW_HASH_LENGTH);
    assert_int_equal(gw_password_verify(cheap, big, GW_PASSWORD_MAX_BYTES + 1), GW_HASH_LENGTH);

    /* At the bounds: accepted, and never cut (the longest and the longest
     * less its last byte differ). */
    assert_int_equal(gw_password_hash(big, GW_PASSWORD_MAX_BYTES, phc, sizeof phc), GW_HASH_OK);
    assert_int_equal(gw_password_verify(phc, big, GW_PASSWORD_MAX_BYTES), GW_HASH_OK);
    assert_int_equal(gw_password_verify(phc, big, GW_PASSWORD_MAX_BYTES - 1), GW_HASH_MISMATCH);
    assert_int_equal(gw_password_hash("a", 1, phc, sizeof phc), GW_HASH_OK);
    assert_int_equal(gw_password_verify(phc, "a", 1), GW_HASH_OK);
    assert_int_equal(gw_password_verify(phc, "b", 1), GW_HASH_MISMATCH);
}

static void test_other_parameters(void **state)
{
    (void)state;
    /* Made at t=1, m=8 MiB (and at p=2), before our parameters: still
     * verifies, because the string names its own. */
    char old[GW_HASH_PHC_SIZE];
    phc_with(1, 8192, 1, PW, PWLEN, old, sizeof old);
    assert_true(starts(old, "$argon2id$v=19$m=8192,t=1,p=1$"));
    assert_int_equal(gw_password_verify(old, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(gw_password_verify(old, PW, PWLEN - 1), GW_HASH_MISMATCH);
    phc_with(3, 4096, 2, PW, PWLEN, old, sizeof old);
    assert_int_equal(gw_password_verify(old, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(gw_password_verify(old, "wrong", 5), GW_HASH_MISMATCH);
}

static void test_malformed(void **state)
{
    (void)state;
    char good[GW_HASH_PHC_SIZE];
    phc_with(1, 8192, 1, PW, PWLEN, good, sizeof good);
    const char *tail = salt_of(good);
    char buf[512];
    const char *bad[] = {
        "",
        "plain text",
        "$argon2id$",
        "$argon2id$v=19$m=8192,t=1,p=1$",
        "$argon2id$v=19$m=8192,t=1,p=1$$",
        "$argon2id$v=19$m=8192,t=1,p=1$!!!!!!!!!!!!!!!!!!!!!!$"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=8192,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$",
        "$argon2id$v=19$m=8192,t=1,p=1$MDEy$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = gw_password_verify(bad[i], PW, PWLEN);
        if (st != GW_HASH_MALFORMED)
            fail_msg("\"%s\": %s, not malformed", bad[i], gw_hash_strerror(st));
    }

    /* The right salt and hash under another head: the wrong variant, the
     * wrong version, parameters out of bounds (m of 4 GiB would be
     * allocated: refused before), numbers with too many digits or none. */
    const char *heads[] = {
        "$argon2i$v=19$m=8192,t=1,p=1",      "$argon2d$v=19$m=8192,t=1,p=1",
        "$argon2id$v=16$m=8192,t=1,p=1",     "$argon2id$m=8192,t=1,p=1",
        "$argon2id$v=19$m=4194304,t=1,p=1",  "$argon2id$v=19$m=262145,t=1,p=1",
        "$argon2id$v=19$m=8192,t=17,p=1",    "$argon2id$v=19$m=8192,t=1,p=9",
        "$argon2id$v=19$m=0,t=1,p=1",        "$argon2id$v=19$m=8192,t=0,p=1",
        "$argon2id$v=19$m=8192,t=1,p=0",     "$argon2id$v=19$m=00000000008192,t=1,p=1",
        "$argon2id$v=19$m=,t=1,p=1",         "$argon2id$v=19$m=8192,p=1,t=1",
        "$argon2id$v=19$m=8192,t=1,p=1,x=1", "$argon2id$v=19$m=-8192,t=1,p=1",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", heads[i], tail);
        int st = gw_password_verify(buf, PW, PWLEN);
        if (st != GW_HASH_MALFORMED)
            fail_msg("head \"%s\": %s, not malformed", heads[i], gw_hash_strerror(st));
    }
    /* The same head and tail, put back together, verify: the cases above
     * fail for their head alone. */
    snprintf(buf, sizeof buf, "%s%s", "$argon2id$v=19$m=8192,t=1,p=1", tail);
    assert_int_equal(gw_password_verify(buf, PW, PWLEN), GW_HASH_OK);

    /* Longer than an account keeps: refused without reading past it. */
    memset(buf, 'A', sizeof buf);
    memcpy(buf, good, strlen(good));
    buf[GW_ACCOUNT_PHC_MAX_BYTES + 1] = '\0';
    assert_int_equal(gw_password_verify(buf, PW, PWLEN), GW_HASH_MALFORMED);

    /* Cut at every length: refused, or (a hash part cut short but still
     * decodable) not a match; never a match, never a crash. */
    size_t n = strlen(good);
    for (size_t cut = 0; cut < n; cut++) {
        memcpy(buf, good, cut);
        buf[cut] = '\0';
        int st = gw_password_verify(buf, PW, PWLEN);
        if (st != GW_HASH_MALFORMED && st != GW_HASH_MISMATCH)
            fail_msg("cut at %zu: %s", cut, gw_hash_strerror(st));
    }
    assert_int_equal(gw_password_verify(NULL, PW, PWLEN), GW_HASH_EINVAL);
}

static void test_salt_fresh(void **state)
{
    (void)state;
    char a[GW_HASH_PHC_SIZE], b[GW_HASH_PHC_SIZE];
    assert_int_equal(gw_password_hash(PW, PWLEN, a, sizeof a), GW_HASH_OK);
    assert_int_equal(gw_password_hash(PW, PWLEN, b, sizeof b), GW_HASH_OK);
    assert_string_not_equal(a, b);
    /* The salts differ, not only the hashes. */
    const char *sa = salt_of(a), *sb = salt_of(b);
    assert_false(strncmp(sa, sb, 1 + 22) == 0);
    assert_int_equal(gw_password_verify(a, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(gw_password_verify(b, PW, PWLEN), GW_HASH_OK);
}

/* ------------------------------------------------------------ the pool */

#define ANSWERS_MAX 256

struct answer {
    uint64_t tag;
    int status;
    char phc[GW_HASH_PHC_SIZE]; /* "" for none */
};

static struct {
    uv_loop_t loop;
    struct gw_hasher *h;
    int in_submit; /* a submission is running */
    int inside;    /* answers that came inside one */
    int n;         /* answers */
    struct answer a[ANSWERS_MAX];
    int close_on; /* close the pool at this answer (0: never) */
} T;

static void on_done(void *ctx, uint64_t tag, int status, const char *phc)
{
    assert_ptr_equal(ctx, &T);
    if (T.in_submit)
        T.inside++;
    assert_true(T.n < ANSWERS_MAX);
    struct answer *a = &T.a[T.n++];
    a->tag = tag;
    a->status = status;
    snprintf(a->phc, sizeof a->phc, "%s", phc ? phc : "");
    if (T.close_on && T.n == T.close_on) {
        gw_hasher_close(T.h);
        T.h = NULL;
    }
}

static int sub_hash(uint64_t tag, const char *pw, size_t len)
{
    T.in_submit = 1;
    int rc = gw_hasher_hash(T.h, tag, pw, len);
    T.in_submit = 0;
    return rc;
}

static int sub_verify(uint64_t tag, const char *phc, const char *pw, size_t len)
{
    T.in_submit = 1;
    int rc = gw_hasher_verify(T.h, tag, phc, pw, len);
    T.in_submit = 0;
    return rc;
}

static const struct answer *answer_of(uint64_t tag)
{
    for (int i = 0; i < T.n; i++)
        if (T.a[i].tag == tag)
            return &T.a[i];
    fail_msg("no answer for tag %llu", (unsigned long long)tag);
    return NULL;
}

static void on_guard(uv_timer_t *t)
{
    (void)t;
    fail_msg("the pool's answers did not come within 60 s");
}

/* Run the loop until n answers have come in all (60 s at most). */
static void run_until(int n)
{
    static uv_timer_t guard;
    uv_timer_init(&T.loop, &guard);
    uv_timer_start(&guard, on_guard, 60000, 0);
    while (T.n < n)
        uv_run(&T.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&T.loop, UV_RUN_NOWAIT);
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof T);
    assert_int_equal(uv_loop_init(&T.loop), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_hasher_close(T.h);
    T.h = NULL;
    /* The pool's handle closes and its memory is freed in this run. */
    uv_run(&T.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&T.loop), 0);
    assert_int_equal(T.inside, 0);
    return 0;
}

static void open_pool(unsigned threads, unsigned queue_max)
{
    assert_int_equal(gw_hasher_open(&T.h, &T.loop, threads, queue_max, on_done, &T), GW_HASH_OK);
}

static void test_pool_answers(void **state)
{
    (void)state;
    open_pool(1, 8);
    assert_int_equal(sub_hash(1, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(T.n, 0);
    run_until(1);
    const struct answer *a = answer_of(1);
    assert_int_equal(a->status, GW_HASH_OK);
    char phc[GW_HASH_PHC_SIZE];
    snprintf(phc, sizeof phc, "%s", a->phc);
    assert_true(starts(phc, "$argon2id$v=19$m=19456,t=2,p=1$"));

    assert_int_equal(sub_verify(2, phc, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(sub_verify(3, phc, PW, PWLEN - 1), GW_HASH_OK);
    assert_int_equal(sub_verify(4, "$argon2id$v=19$m=8192,t=1,p=1$", PW, PWLEN), GW_HASH_OK);
    assert_int_equal(sub_verify(5, cheap, PW, PWLEN), GW_HASH_OK);
    run_until(5);
    assert_int_equal(answer_of(2)->status, GW_HASH_OK);
    assert_int_equal(answer_of(3)->status, GW_HASH_MISMATCH);
    assert_int_equal(answer_of(4)->status, GW_HASH_MALFORMED);
    assert_int_equal(answer_of(5)->status, GW_HASH_OK);
    for (uint64_t t = 2; t <= 5; t++)
        assert_string_equal(answer_of(t)->phc, "");
    assert_int_equal(gw_hasher_held(T.h), 0);

    /* Refused at once, no answer: lengths, a PHC longer than an account
     * keeps, NULLs. */
    char big[GW_PASSWORD_MAX_BYTES + 1];
    memset(big, 'a', sizeof big);
    char longphc[GW_ACCOUNT_PHC_MAX_BYTES + 2];
    memset(longphc, 'A', sizeof longphc - 1);
    longphc[sizeof longphc - 1] = '\0';
    assert_int_equal(sub_hash(6, PW, 0), GW_HASH_LENGTH);
    assert_int_equal(sub_hash(6, big, sizeof big), GW_HASH_LENGTH);
    assert_int_equal(sub_verify(6, cheap, PW, 0), GW_HASH_LENGTH);
    assert_int_equal(sub_verify(6, cheap, big, sizeof big), GW_HASH_LENGTH);
    assert_int_equal(sub_verify(6, longphc, PW, PWLEN), GW_HASH_MALFORMED);
    assert_int_equal(sub_verify(6, NULL, PW, PWLEN), GW_HASH_EINVAL);
    assert_int_equal(sub_hash(6, NULL, 1), GW_HASH_EINVAL);
    assert_int_equal(gw_hasher_held(T.h), 0);
    /* At the bound: accepted, and the whole of it is what was hashed. */
    assert_int_equal(sub_hash(7, big, GW_PASSWORD_MAX_BYTES), GW_HASH_OK);
    run_until(6);
    assert_int_equal(answer_of(7)->status, GW_HASH_OK);
    assert_int_equal(gw_password_verify(answer_of(7)->phc, big, GW_PASSWORD_MAX_BYTES), GW_HASH_OK);
    assert_int_equal(gw_password_verify(answer_of(7)->phc, big, GW_PASSWORD_MAX_BYTES - 1),
                     GW_HASH_MISMATCH);
}

static void test_pool_open_bounds(void **state)
{
    (void)state;
    struct gw_hasher *h = (struct gw_hasher *)&T; /* overwritten with NULL */
    assert_int_equal(gw_hasher_open(&h, &T.loop, 0, 8, on_done, &T), GW_HASH_EINVAL);
    assert_null(h);
    assert_int_equal(gw_hasher_open(&h, &T.loop, GW_HASH_THREADS_MAX + 1, 8, on_done, &T),
                     GW_HASH_EINVAL);
    assert_int_equal(gw_hasher_open(&h, &T.loop, 1, 0, on_done, &T), GW_HASH_EINVAL);
    assert_int_equal(gw_hasher_open(&h, &T.loop, 1, GW_HASH_QUEUE_CEILING + 1, on_done, &T),
                     GW_HASH_EINVAL);
    assert_int_equal(gw_hasher_open(&h, &T.loop, 1, 8, NULL, &T), GW_HASH_EINVAL);
    assert_int_equal(gw_hasher_open(&h, NULL, 1, 8, on_done, &T), GW_HASH_EINVAL);
    assert_null(h);
    /* The ceilings themselves are accepted. */
    assert_int_equal(
        gw_hasher_open(&h, &T.loop, GW_HASH_THREADS_MAX, GW_HASH_QUEUE_CEILING, on_done, &T),
        GW_HASH_OK);
    gw_hasher_close(h);
}

/* The bound, exactly: queue_max requests held (the loop does not run, so
 * none is handed back, however fast the worker), the next refused, with
 * either kind of request; once they are handed back, queue_max again. */
static void bound_at(unsigned queue_max)
{
    T.n = 0;
    open_pool(1, queue_max);
    /* The first keeps the worker busy for a real hash; the rest are cheap. */
    assert_int_equal(sub_hash(1000, PW, PWLEN), GW_HASH_OK);
    for (unsigned i = 1; i < queue_max; i++)
        assert_int_equal(sub_verify(1000 + i, cheap, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(gw_hasher_held(T.h), queue_max);
    assert_int_equal(sub_hash(1, PW, PWLEN), GW_HASH_BUSY);
    assert_int_equal(sub_verify(2, cheap, PW, PWLEN), GW_HASH_BUSY);
    assert_int_equal(gw_hasher_held(T.h), queue_max);
    assert_int_equal(T.n, 0);

    run_until((int)queue_max);
    assert_int_equal(T.n, (int)queue_max);
    assert_int_equal(answer_of(1000)->status, GW_HASH_OK);
    for (unsigned i = 1; i < queue_max; i++)
        assert_int_equal(answer_of(1000 + i)->status, GW_HASH_OK);
    assert_int_equal(gw_hasher_held(T.h), 0);

    for (unsigned i = 0; i < queue_max; i++)
        assert_int_equal(sub_verify(2000 + i, cheap, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(sub_verify(3, cheap, PW, PWLEN), GW_HASH_BUSY);
    run_until(2 * (int)queue_max);
    for (int i = 0; i < T.n; i++)
        assert_true(T.a[i].tag >= 1000); /* nothing refused was answered */
    gw_hasher_close(T.h);
    T.h = NULL;
}

static void test_pool_bound(void **state)
{
    (void)state;
    bound_at(1);
    bound_at(3);
    bound_at(GW_HASH_QUEUE_MAX);
}

/* An answer ready while a submission runs is not handed back inside it:
 * the test waits until the loop's descriptor is readable (the worker has
 * answered), then submits (accepted and refused), and only the loop's run
 * hands the answers back. */
static void test_pool_never_inside_submit(void **state)
{
    (void)state;
    open_pool(1, 2);
    uv_run(&T.loop, UV_RUN_NOWAIT); /* the eventfd is now in the loop's epoll */
    assert_int_equal(sub_verify(1, cheap, PW, PWLEN), GW_HASH_OK);
    struct pollfd pfd = {.fd = uv_backend_fd(&T.loop), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 30000), 1);
    assert_int_equal(sub_verify(2, cheap, PW, PWLEN), GW_HASH_OK);
    assert_int_equal(sub_verify(3, cheap, PW, PWLEN), GW_HASH_BUSY);
    assert_int_equal(sub_hash(3, PW, PWLEN), GW_HASH_BUSY);
    assert_int_equal(T.n, 0);
    assert_int_equal(T.inside, 0);
    run_until(2);
    assert_int_equal(T.inside, 0);
    assert_int_equal(answer_of(1)->status, GW_HASH_OK);
    assert_int_equal(answer_of(2)->status, GW_HASH_OK);
}

/* The loop's 1 ms timer while forty hashes are made: its worst lag is
 * far below what the hashes cost (which it would be, whole, if they ran
 * on the loop; one hash's worth if they were handed back one per turn
 * from the loop's thread). */
static struct {
    double last, worst;
    int ticks;
} tick;

static void on_tick(uv_timer_t *t)
{
    (void)t;
    double now = now_ms();
    if (tick.last > 0 && now - tick.last > tick.worst)
        tick.worst = now - tick.last;
    tick.last = now;
    tick.ticks++;
}

static void test_pool_loop_responsive(void **state)
{
    (void)state;
    enum { N = 40 };
    open_pool(GW_HASH_THREADS, GW_HASH_QUEUE_MAX);
    static uv_timer_t timer;
    uv_timer_init(&T.loop, &timer);
    memset(&tick, 0, sizeof tick);
    uv_timer_start(&timer, on_tick, 1, 1);
    /* The timer has ticked: the submissions below are inside a gap. */
    while (tick.ticks < 2)
        uv_run(&T.loop, UV_RUN_ONCE);

    double t0 = now_ms();
    for (int i = 0; i < N; i++)
        assert_int_equal(sub_hash((uint64_t)i + 1, PW, PWLEN), GW_HASH_OK);
    run_until(N);
    double total = now_ms() - t0;
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&T.loop, UV_RUN_NOWAIT);

    for (int i = 0; i < N; i++)
        assert_int_equal(T.a[i].status, GW_HASH_OK);
    printf("# %d hashes on %u thread(s): %.0f ms (%.1f ms each); the loop's 1 ms timer: "
           "%d ticks, worst gap %.1f ms\n",
           N, GW_HASH_THREADS, total, total / N, tick.ticks, tick.worst);
    assert_true(tick.worst < total / 4);
    /* The loop ran all along: at least one tick per 10 ms of hashing. */
    assert_true(tick.ticks >= (int)(total / 10));
}

/* Closed with requests queued and one being hashed: no answer, no leak
 * (the sanitizer build), the loop closes. */
static void test_pool_close_pending(void **state)
{
    (void)state;
    open_pool(1, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(sub_hash((uint64_t)i + 1, PW, PWLEN), GW_HASH_OK);
    gw_hasher_close(T.h);
    T.h = NULL;
    uv_run(&T.loop, UV_RUN_DEFAULT);
    assert_int_equal(T.n, 0);
}

/* Closed from inside an answer while others are ready: the rest are
 * dropped, no answer follows. */
static void test_pool_close_inside_done(void **state)
{
    (void)state;
    open_pool(2, 8);
    uv_run(&T.loop, UV_RUN_NOWAIT);
    for (int i = 0; i < 8; i++)
        assert_int_equal(sub_verify((uint64_t)i + 1, cheap, PW, PWLEN), GW_HASH_OK);
    /* Let the workers answer them all before the loop hands any back. */
    usleep(200 * 1000);
    T.close_on = 2;
    run_until(2);
    uv_run(&T.loop, UV_RUN_DEFAULT);
    assert_int_equal(T.n, 2);
    assert_null(T.h);
}

/* The workers never take SIGTERM or SIGINT, even when the caller's mask
 * lets them through; the caller's mask is left as it was. */
static int tid_set(pid_t *tids, int max)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max)
        if (e->d_name[0] != '.')
            tids[n++] = (pid_t)atoi(e->d_name);
    closedir(d);
    return n;
}

static unsigned long long sig_blocked(pid_t tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    unsigned long long mask = 0;
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "SigBlk: %llx", &mask) == 1) {
            found = 1;
            break;
        }
    fclose(f);
    assert_true(found);
    return mask;
}

static void test_pool_signals(void **state)
{
    (void)state;
    sigset_t none, now;
    sigemptyset(&none);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
    pid_t before[64], after[64];
    int nb = tid_set(before, 64);
    open_pool(2, 4);
    int na = tid_set(after, 64);
    int ours = 0;
    for (int i = 0; i < na; i++) {
        int old = 0;
        for (int j = 0; j < nb; j++)
            old |= after[i] == before[j];
        if (old)
            continue;
        ours++;
        /* A thread starts with every signal blocked until it has taken
         * its creator's mask (glibc): wait until SIGUSR1, which nobody
         * blocks, is open. */
        unsigned long long m = sig_blocked(after[i]);
        for (int k = 0; k < 500 && (m & (1ull << (SIGUSR1 - 1))); k++) {
            usleep(10 * 1000);
            m = sig_blocked(after[i]);
        }
        assert_false(m & (1ull << (SIGUSR1 - 1)));
        assert_true(m & (1ull << (SIGTERM - 1)));
        assert_true(m & (1ull << (SIGINT - 1)));
    }
    assert_int_equal(ours, 2);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
    assert_false(sigismember(&now, SIGTERM));
    assert_false(sigismember(&now, SIGINT));
}

/* A thread's nice value (field 19 of its stat, after the name in
 * parentheses). */
static int nice_of(pid_t tid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    const char *p = strrchr(line, ')');
    assert_non_null(p);
    int field = 2, nice = -100;
    for (p++; *p && field < 19; p++)
        if (*p == ' ')
            field++;
    assert_int_equal(sscanf(p, "%d", &nice), 1);
    return nice;
}

/* The workers run at GW_HASH_NICE: a flood of logins yields the core to
 * the event loop, which stays at its own. */
static void test_pool_yields_to_the_loop(void **state)
{
    (void)state;
    pid_t before[64], after[64];
    int nb = tid_set(before, 64);
    int mine = nice_of((pid_t)syscall(SYS_gettid));
    open_pool(2, 4);
    int na = tid_set(after, 64), ours = 0;
    for (int i = 0; i < na; i++) {
        int old = 0;
        for (int j = 0; j < nb; j++)
            old |= after[i] == before[j];
        if (old)
            continue;
        ours++;
        int n = nice_of(after[i]);
        for (int k = 0; k < 500 && n != GW_HASH_NICE; k++) {
            usleep(10 * 1000);
            n = nice_of(after[i]);
        }
        assert_int_equal(n, GW_HASH_NICE);
    }
    assert_int_equal(ours, 2);
    assert_int_equal(nice_of((pid_t)syscall(SYS_gettid)), mine);
}

int main(void)
{
    phc_with(1, 8, 1, PW, PWLEN, cheap, sizeof cheap);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_then_verify),
        cmocka_unit_test(test_near_misses),
        cmocka_unit_test(test_length_bounds),
        cmocka_unit_test(test_other_parameters),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_salt_fresh),
        cmocka_unit_test_setup_teardown(test_pool_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_open_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_never_inside_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_loop_responsive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_close_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_close_inside_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_yields_to_the_loop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
