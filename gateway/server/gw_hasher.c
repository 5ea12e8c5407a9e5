/*
 * gw_hasher.c - Argon2id password hashes (libargon2) and the pool of
 * threads that makes them off the event loop. See gw_hasher.h.
 *
 * The pool: every request lives in one of queue_max slots allocated at
 * open (so a submission never allocates, and the memory is bounded from
 * the start). A slot moves free -> waiting (submitted on the loop's
 * thread) -> being hashed (a worker) -> answered (the worker) -> free (the
 * loop's thread, just before done is called). The waiting and answered
 * lists are shared with the workers under the mutex; the free list and
 * the count of held slots belong to the loop's thread alone. A worker
 * that answers writes to an eventfd, which a uv_poll on the loop watches.
 */
#define _DEFAULT_SOURCE /* syscall */
#include "gw_hasher.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/* The longest PHC string of our parameters, with every number at its
 * widest (10 digits): it must fit what an account keeps. */
#define PHC_PREFIX "$argon2id$v=19$m="
#define B64_LEN(n) (((n)*4u + 2u) / 3u) /* unpadded base64 */
#define PHC_BOUND                                                                                  \
    (sizeof PHC_PREFIX - 1u + 10u + sizeof ",t=" - 1u + 10u + sizeof ",p=" - 1u + 10u + 1u +       \
     B64_LEN(GW_HASH_SALT_BYTES) + 1u + B64_LEN(GW_HASH_OUT_BYTES))
_Static_assert(PHC_BOUND <= GW_ACCOUNT_PHC_MAX_BYTES,
               "an Argon2id PHC string must fit GW_ACCOUNT_PHC_MAX_BYTES");
_Static_assert(GW_HASH_M_KIB <= GW_HASH_VERIFY_M_MAX_KIB && GW_HASH_T <= GW_HASH_VERIFY_T_MAX &&
                   GW_HASH_P <= GW_HASH_VERIFY_P_MAX,
               "our own hashes must verify");

const char *gw_hash_strerror(int status)
{
    switch (status) {
    case GW_HASH_OK:
        return "ok";
    case GW_HASH_MISMATCH:
        return "wrong password";
    case GW_HASH_MALFORMED:
        return "malformed password hash";
    case GW_HASH_LENGTH:
        return "password length out of bounds";
    case GW_HASH_BUSY:
        return "password hasher busy";
    case GW_HASH_FAILED:
        return "password hashing failed";
    case GW_HASH_EINVAL:
        return "invalid argument";
    default:
        return "unknown password hash status";
    }
}

static int length_ok(size_t len)
{
    return len >= 1 && len <= GW_PASSWORD_MAX_BYTES;
}

int gw_password_hash(const char *pw, size_t len, char *phc, size_t phc_len)
{
    if (!phc || phc_len == 0)
        return GW_HASH_EINVAL;
    phc[0] = '\0';
    if (!pw)
        return GW_HASH_EINVAL;
    if (!length_ok(len))
        return GW_HASH_LENGTH;
    size_t need = argon2_encodedlen(GW_HASH_T, GW_HASH_M_KIB, GW_HASH_P, GW_HASH_SALT_BYTES,
                                    GW_HASH_OUT_BYTES, Argon2_id);
    if (phc_len < need || need > GW_HASH_PHC_SIZE)
        return GW_HASH_EINVAL;
    unsigned char salt[GW_HASH_SALT_BYTES];
    if (RAND_bytes(salt, (int)sizeof salt) != 1)
        return GW_HASH_FAILED;
    int rc = argon2id_hash_encoded(GW_HASH_T, GW_HASH_M_KIB, GW_HASH_P, pw, len, salt, sizeof salt,
                                   GW_HASH_OUT_BYTES, phc, phc_len);
    if (rc != ARGON2_OK) {
        phc[0] = '\0';
        return GW_HASH_FAILED;
    }
    return GW_HASH_OK;
}

/* Read a decimal number of at most 10 digits at *s, then expect the
 * character end. Returns 0 and moves *s past end, or -1. */
static int phc_number(const char **s, char end, unsigned long long *v)
{
    const char *p = *s;
    unsigned long long n = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 10)
            return -1;
        n = n * 10u + (unsigned)(*p - '0');
        p++;
    }
    if (digits == 0 || *p != end)
        return -1;
    *v = n;
    *s = p + 1;
    return 0;
}

/* Whether phc names Argon2id version 19 with parameters within the
 * GW_HASH_VERIFY_* ceilings. The rest (salt, hash, their base64) is the
 * library's to check. */
static int phc_params_ok(const char *phc)
{
    if (strncmp(phc, PHC_PREFIX, sizeof PHC_PREFIX - 1) != 0)
        return 0;
    const char *s = phc + sizeof PHC_PREFIX - 1;
    unsigned long long m, t, p;
    if (phc_number(&s, ',', &m) || strncmp(s, "t=", 2) != 0)
        return 0;
    s += 2;
    if (phc_number(&s, ',', &t) || strncmp(s, "p=", 2) != 0)
        return 0;
    s += 2;
    if (phc_number(&s, '$', &p))
        return 0;
    return m >= 1 && m <= GW_HASH_VERIFY_M_MAX_KIB && t >= 1 && t <= GW_HASH_VERIFY_T_MAX &&
           p >= 1 && p <= GW_HASH_VERIFY_P_MAX;
}

int gw_password_verify(const char *phc, const char *pw, size_t len)
{
    if (!phc || !pw)
        return GW_HASH_EINVAL;
    if (!length_ok(len))
        return GW_HASH_LENGTH;
    if (strnlen(phc, GW_ACCOUNT_PHC_MAX_BYTES + 1u) > GW_ACCOUNT_PHC_MAX_BYTES ||
        !phc_params_ok(phc))
        return GW_HASH_MALFORMED;
    /* The library reads the parameters and the salt from the string,
     * hashes, and compares the two hashes in constant time. */
    switch (argon2id_verify(phc, pw, len)) {
    case ARGON2_OK:
        return GW_HASH_OK;
    case ARGON2_VERIFY_MISMATCH:
        return GW_HASH_MISMATCH;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
        return GW_HASH_FAILED;
    default:
        return GW_HASH_MALFORMED;
    }
}

/* ---- The pool ---- */

struct hreq {
    struct hreq *next;
    uint64_t tag;
    int verify;                     /* 1: check pw against phc; 0: hash pw */
    int status;                     /* the answer */
    size_t len;                     /* of pw */
    char pw[GW_PASSWORD_MAX_BYTES]; /* the password's copy, wiped once used */
    char phc[GW_HASH_PHC_SIZE];     /* verify: the hash given; hash: the answer */
};

struct gw_hasher {
    uv_poll_t poll; /* the eventfd, on the loop; data = this */
    int efd;        /* written by a worker with an answer */
    gw_hasher_done_fn done;
    void *ctx;
    /* The loop's thread alone. */
    unsigned queue_max;
    unsigned held;      /* slots not free */
    struct hreq *slots; /* queue_max of them */
    struct hreq *free_list;
    int closing; /* gw_hasher_close has begun */
    /* Shared with the workers, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t work; /* a request waits, or closing */
    struct hreq *wait_head, *wait_tail;
    struct hreq *ans_head, *ans_tail;
    int stop; /* the workers' copy of closing */
    unsigned nthreads;
    pthread_t threads[GW_HASH_THREADS_MAX];
};

static void push(struct hreq **head, struct hreq **tail, struct hreq *r)
{
    r->next = NULL;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

static struct hreq *pop(struct hreq **head, struct hreq **tail)
{
    struct hreq *r = *head;
    if (r) {
        *head = r->next;
        if (!*head)
            *tail = NULL;
        r->next = NULL;
    }
    return r;
}

static void run(struct hreq *r)
{
    if (r->verify) {
        r->status = gw_password_verify(r->phc, r->pw, r->len);
        r->phc[0] = '\0';
    } else {
        r->status = gw_password_hash(r->pw, r->len, r->phc, sizeof r->phc);
    }
    OPENSSL_cleanse(r->pw, sizeof r->pw);
    r->len = 0;
}

static void *worker(void *arg)
{
    struct gw_hasher *h = arg;
    /* The chat first: a worker yields its core to the event loop whenever
     * both want it (a thread's nice value is its own on Linux), so a flood
     * of logins slows logins, never the chat. If the system refuses, the
     * worker runs as it is. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), GW_HASH_NICE);
    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (!h->stop && !h->wait_head)
            pthread_cond_wait(&h->work, &h->mu);
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            return NULL;
        }
        struct hreq *r = pop(&h->wait_head, &h->wait_tail);
        pthread_mutex_unlock(&h->mu);

        run(r);

        pthread_mutex_lock(&h->mu);
        push(&h->ans_head, &h->ans_tail, r);
        pthread_mutex_unlock(&h->mu);
        /* After the answer is in the list: a read of the eventfd on the
         * loop is always followed by a look at the list. The descriptor
         * stays open until every worker is joined. A failed write can
         * only be a counter at its maximum: readable anyway. */
        uint64_t one = 1;
        ssize_t n;
        do
            n = write(h->efd, &one, sizeof one);
        while (n < 0 && errno == EINTR);
    }
}

/* A slot back to the free list, wiped. */
static void release(struct gw_hasher *h, struct hreq *r)
{
    OPENSSL_cleanse(r, sizeof *r);
    r->next = h->free_list;
    h->free_list = r;
    h->held--;
}

/* Answers are ready: hand each back. A copy of the PHC string is what
 * done borrows, so that the slot is free (and may be used again by a
 * submission from inside done) before the call. */
static void on_answers(uv_poll_t *p, int status, int events)
{
    struct gw_hasher *h = p->data;
    (void)status;
    (void)events;
    uint64_t n;
    while (read(h->efd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&h->mu);
    struct hreq *list = h->ans_head;
    h->ans_head = h->ans_tail = NULL;
    pthread_mutex_unlock(&h->mu);

    char phc[GW_HASH_PHC_SIZE];
    while (list && !h->closing) {
        struct hreq *r = list;
        list = r->next;
        uint64_t tag = r->tag;
        int st = r->status;
        int with_phc = !r->verify && st == GW_HASH_OK;
        if (with_phc)
            memcpy(phc, r->phc, sizeof phc);
        release(h, r);
        h->done(h->ctx, tag, st, with_phc ? phc : NULL);
        if (with_phc)
            OPENSSL_cleanse(phc, sizeof phc);
    }
    /* Closed from inside done: the rest are dropped (the slots were wiped
     * by gw_hasher_close). */
}

static void free_hasher(struct gw_hasher *h)
{
    if (h->efd >= 0)
        close(h->efd);
    if (h->slots) {
        OPENSSL_cleanse(h->slots, sizeof *h->slots * h->queue_max);
        free(h->slots);
    }
    pthread_cond_destroy(&h->work);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void on_closed(uv_handle_t *p)
{
    free_hasher(p->data);
}

/* Tell the workers to stop and join them (each finishes the hash it is
 * making). */
static void stop_workers(struct gw_hasher *h)
{
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_broadcast(&h->work);
    pthread_mutex_unlock(&h->mu);
    for (unsigned i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    h->nthreads = 0;
}

int gw_hasher_open(struct gw_hasher **out, uv_loop_t *loop, unsigned threads, unsigned queue_max,
                   gw_hasher_done_fn done, void *ctx)
{
    if (!out)
        return GW_HASH_EINVAL;
    *out = NULL;
    if (!loop || !done || threads < 1 || threads > GW_HASH_THREADS_MAX || queue_max < 1 ||
        queue_max > GW_HASH_QUEUE_CEILING)
        return GW_HASH_EINVAL;
    struct gw_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return GW_HASH_FAILED;
    h->efd = -1;
    h->done = done;
    h->ctx = ctx;
    h->queue_max = queue_max;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->work, NULL);
    h->slots = calloc(queue_max, sizeof *h->slots);
    h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!h->slots || h->efd < 0 || uv_poll_init(loop, &h->poll, h->efd) != 0) {
        free_hasher(h);
        return GW_HASH_FAILED;
    }
    h->poll.data = h;
    for (unsigned i = queue_max; i-- > 0;) {
        h->slots[i].next = h->free_list;
        h->free_list = &h->slots[i];
    }
    h->held = 0;

    /* The workers inherit this thread's mask: block the signals the loop
     * handles while they are made, so that they always reach the loop's
     * thread (whatever the caller's mask was, it is put back). */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int ok = 1;
    for (unsigned i = 0; i < threads && ok; i++) {
        if (pthread_create(&h->threads[i], NULL, worker, h) == 0)
            h->nthreads++;
        else
            ok = 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (!ok || uv_poll_start(&h->poll, UV_READABLE, on_answers) != 0) {
        stop_workers(h);
        h->closing = 1;
        uv_close((uv_handle_t *)&h->poll, on_closed);
        return GW_HASH_FAILED;
    }
    *out = h;
    return GW_HASH_OK;
}

/* A free slot for a request in *r: GW_HASH_OK, or GW_HASH_BUSY when
 * queue_max are held. There is a slot for each of queue_max: an empty free
 * list below the bound is a fault of this file (GW_HASH_FAILED), never an
 * overflow. */
static int take_slot(struct gw_hasher *h, struct hreq **r)
{
    if (h->held >= h->queue_max)
        return GW_HASH_BUSY;
    if (!h->free_list)
        return GW_HASH_FAILED;
    *r = h->free_list;
    h->free_list = (*r)->next;
    h->held++;
    return GW_HASH_OK;
}

static void submit(struct gw_hasher *h, struct hreq *r)
{
    pthread_mutex_lock(&h->mu);
    push(&h->wait_head, &h->wait_tail, r);
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->mu);
}

int gw_hasher_hash(struct gw_hasher *h, uint64_t tag, const char *pw, size_t len)
{
    if (!h || h->closing || !pw)
        return GW_HASH_EINVAL;
    if (!length_ok(len))
        return GW_HASH_LENGTH;
    struct hreq *r = NULL;
    int rc = take_slot(h, &r);
    if (rc != GW_HASH_OK)
        return rc;
    r->tag = tag;
    r->verify = 0;
    r->len = len;
    memcpy(r->pw, pw, len);
    r->phc[0] = '\0';
    submit(h, r);
    return GW_HASH_OK;
}

int gw_hasher_verify(struct gw_hasher *h, uint64_t tag, const char *phc, const char *pw, size_t len)
{
    if (!h || h->closing || !pw || !phc)
        return GW_HASH_EINVAL;
    if (!length_ok(len))
        return GW_HASH_LENGTH;
    size_t plen = strnlen(phc, GW_ACCOUNT_PHC_MAX_BYTES + 1u);
    if (plen > GW_ACCOUNT_PHC_MAX_BYTES)
        return GW_HASH_MALFORMED;
    struct hreq *r = NULL;
    int rc = take_slot(h, &r);
    if (rc != GW_HASH_OK)
        return rc;
    r->tag = tag;
    r->verify = 1;
    r->len = len;
    memcpy(r->pw, pw, len);
    memcpy(r->phc, phc, plen);
    r->phc[plen] = '\0';
    submit(h, r);
    return GW_HASH_OK;
}

unsigned gw_hasher_held(const struct gw_hasher *h)
{
    return h ? h->held : 0;
}

void gw_hasher_close(struct gw_hasher *h)
{
    if (!h || h->closing)
        return;
    h->closing = 1;
    stop_workers(h);
    /* Every request not handed back is dropped: its password is wiped now,
     * the memory when the handle has closed. */
    OPENSSL_cleanse(h->slots, sizeof *h->slots * h->queue_max);
    h->wait_head = h->wait_tail = h->ans_head = h->ans_tail = NULL;
    h->free_list = NULL;
    uv_poll_stop(&h->poll);
    uv_close((uv_handle_t *)&h->poll, on_closed);
}
