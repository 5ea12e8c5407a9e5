/*
 * gw_account_cli.c - `wintalk-gateway account ...`: the operator's
 * accounts on the data store (gw_account_cli.h says what and why).
 *
 * The steps of a command: its words, the store options (gw_config_parse),
 * the nick (gw_nick_norm), the password and its hash, then the store:
 * SQLite through the engine's synchronous account calls, Redis through
 * its asynchronous interface on a private loop. No hub.
 */
#define _DEFAULT_SOURCE

#include <openssl/crypto.h>
#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gw_account_cli.h"
#include "gw_accounts.h"
#include "gw_config.h"
#include "gw_hasher.h"
#include "gw_limits.h"
#include "gw_store_redis.h"
#include "gw_store_sqlite.h"
#include "gw_text.h"

static const char usage[] =
    "usage: wintalk-gateway account add NICK [--admin]\n"
    "       wintalk-gateway account passwd NICK\n"
    "       wintalk-gateway account del NICK\n"
    "       wintalk-gateway account admin NICK on|off\n"
    "       wintalk-gateway account list\n"
    "store options, as the gateway's: --store sqlite|redis, --data-dir DIR, --redis URL,\n"
    "  --max-nick-chars N (and WINTALK_STORE, WINTALK_DATA_DIR, WINTALK_REDIS,\n"
    "  WINTALK_MAX_NICK_CHARS)\n"
    "the password: typed twice when standard input is a terminal, else one line of it:\n"
    "  printf '%s\\n' \"$PW\" | wintalk-gateway account add alice\n";

enum verb { V_ADD, V_PASSWD, V_DEL, V_ADMIN, V_LIST };

static const struct {
    const char *name;
    enum verb verb;
    int args; /* words after the verb */
} verbs[] = {
    {"add", V_ADD, 1}, {"passwd", V_PASSWD, 1}, {"del", V_DEL, 1},
    {"admin", V_ADMIN, 2}, {"list", V_LIST, 0},
};

/* The store options a command passes on to gw_config_parse: each takes a
 * value (as the next word, or after '='). */
static const char *const store_flags[] = {"--store", "--data-dir", "--redis",
                                          "--max-nick-chars"};
#define STORE_FLAGS (sizeof store_flags / sizeof store_flags[0])

/* An account read from a store, copied. */
struct acct {
    char key[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    char nick[GW_NICK_MAX_BYTES + 1];
    char phc[GW_ACCOUNT_PHC_MAX_BYTES + 1];
    unsigned roles;
    uint64_t generation;
    int64_t created_ms;
};

static void acct_copy(struct acct *d, const struct gw_account *a)
{
    snprintf(d->key, sizeof d->key, "%s", a->key);
    snprintf(d->nick, sizeof d->nick, "%s", a->nick);
    snprintf(d->phc, sizeof d->phc, "%s", a->phc);
    d->roles = a->roles;
    d->generation = a->generation;
    d->created_ms = a->created_ms;
}

static struct gw_account acct_view(const struct acct *c)
{
    return (struct gw_account){.key = c->key, .nick = c->nick, .phc = c->phc,
                               .roles = c->roles, .generation = c->generation,
                               .created_ms = c->created_ms};
}

static const char *getenv_c(const char *name)
{
    return getenv(name);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the password ---- */

/*
 * One line of fd into pw (cap GW_PASSWORD_MAX_BYTES + 1), its "\n" or
 * "\r\n" taken off, read a byte at a time so that nothing after the line
 * is taken. Returns its length, or -1 (read failed: errno), -2 (longer
 * than GW_PASSWORD_MAX_BYTES; the rest of the line is read and dropped).
 */
static long read_line(int fd, char pw[GW_PASSWORD_MAX_BYTES + 2])
{
    size_t n = 0;
    int over = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 || c == '\n')
            break;
        /* One byte past the bound is kept: a "\r" there may end the line. */
        if (n < GW_PASSWORD_MAX_BYTES + 1)
            pw[n++] = c;
        else
            over = 1;
    }
    if (n && pw[n - 1] == '\r')
        n--;
    pw[n] = '\0';
    if (over || n > GW_PASSWORD_MAX_BYTES) {
        OPENSSL_cleanse(pw, GW_PASSWORD_MAX_BYTES + 2);
        return -2;
    }
    return (long)n;
}

/* A line typed on the terminal fd without echo, after prompt on stderr. */
static long read_hidden(int fd, const char *prompt, char pw[GW_PASSWORD_MAX_BYTES + 2])
{
    struct termios old, quiet;
    int hidden = tcgetattr(fd, &old) == 0;
    if (hidden) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        hidden = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    fputs(prompt, stderr);
    fflush(stderr);
    long n = read_line(fd, pw);
    if (hidden)
        tcsetattr(fd, TCSAFLUSH, &old);
    return n;
}

/*
 * The new password of nick, hashed into phc (GW_HASH_PHC_SIZE). Every
 * copy of the password is wiped. Returns 0 or an exit status.
 */
static int new_password(const char *nick, char phc[GW_HASH_PHC_SIZE])
{
    char pw[GW_PASSWORD_MAX_BYTES + 2], again[GW_PASSWORD_MAX_BYTES + 2];
    long n;
    int tty = isatty(STDIN_FILENO);
    if (tty) {
        char prompt[GW_NICK_MAX_BYTES + 64];
        snprintf(prompt, sizeof prompt, "New password for %s: ", nick);
        n = read_hidden(STDIN_FILENO, prompt, pw);
        if (n >= 0) {
            long m = read_hidden(STDIN_FILENO, "Again: ", again);
            if (m != n || memcmp(pw, again, (size_t)n) != 0) {
                OPENSSL_cleanse(pw, sizeof pw);
                OPENSSL_cleanse(again, sizeof again);
                fprintf(stderr, "wintalk-gateway account: the two passwords differ: "
                                "nothing changed\n");
                return EX_DATAERR;
            }
            OPENSSL_cleanse(again, sizeof again);
        }
    } else {
        n = read_line(STDIN_FILENO, pw);
    }
    if (n == -1) {
        fprintf(stderr, "wintalk-gateway account: cannot read the password: %s\n",
                strerror(errno));
        return EX_IOERR;
    }
    if (n == -2) {
        fprintf(stderr, "wintalk-gateway account: the password is longer than %u bytes\n",
                GW_PASSWORD_MAX_BYTES);
        return EX_DATAERR;
    }
    if (n == 0) {
        OPENSSL_cleanse(pw, sizeof pw);
        fprintf(stderr, "wintalk-gateway account: the password is empty%s\n",
                tty ? "" : " (give it as one line on standard input)");
        return EX_DATAERR;
    }
    int st = gw_password_hash(pw, (size_t)n, phc, GW_HASH_PHC_SIZE);
    OPENSSL_cleanse(pw, sizeof pw);
    if (st != GW_HASH_OK) {
        fprintf(stderr, "wintalk-gateway account: cannot hash the password: %s\n",
                gw_hash_strerror(st));
        return st == GW_HASH_LENGTH ? EX_DATAERR : EX_SOFTWARE;
    }
    return 0;
}

/* ---- the stores ---- */

/* Redis did not answer in time (besides enum gw_store_status's). */
#define CLI_TIMEOUT (-100)

struct store {
    const char *kind;  /* "sqlite" or "redis" */
    struct gw_sqlite *sq;
    int no_db;         /* sqlite: no database yet, none made */
    uv_loop_t loop;
    int loop_open;
    struct gw_rstore *rs;
    struct gw_accounts acc;
    /* Redis: the answer waited for. */
    int answered, status;
    struct acct found;
    uv_timer_t timer;
    int timer_open;
    int64_t deadline;
    int (*ready)(struct store *st);
};

/* The engines' room reports: a tool appends nothing, reads nothing. */
static void no_done(void *ctx, const char *room_key, uint64_t id, int status)
{
    (void)ctx, (void)room_key, (void)id, (void)status;
}

static void no_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    (void)ctx, (void)tag, (void)status, (void)ev, (void)n, (void)more;
}

static const struct gw_store_sink no_sink = {.done = no_done, .rows = no_rows};

static int store_failed(const char *what, const char *why)
{
    fprintf(stderr, "wintalk-gateway account: %s: %s\n", what, why);
    return EX_UNAVAILABLE;
}

/* SQLite: beside whatever runs, or made the gateway's way (header). */
static int open_sqlite(struct store *st, const struct gw_config *cfg, int make)
{
    char path[GW_SQLITE_PATH_MAX_BYTES], err[GW_SQLITE_WHY_MAX_BYTES];
    struct stat sb;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", cfg->data_dir, GW_SQLITE_DB_NAME) >=
        sizeof path)
        return store_failed(cfg->data_dir, "the data directory's path is too long");
    struct gw_sqlite_opts o = {.dir = cfg->data_dir, .readers = 1};
    int full = 0;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return store_failed(path, strerror(errno));
        if (!make) {
            st->no_db = 1;
            return 0;
        }
        full = 1;
    }
    int rc;
    if (!full) {
        o.beside = 1;
        rc = gw_sqlite_open(&o, &no_sink, &st->sq, err, sizeof err);
        if (rc != GW_SQLITE_ESCHEMA)
            return rc == 0 ? 0 : store_failed("the sqlite store", err);
        /* Older, with no gateway on it: brought up to date below. */
        char first[sizeof err];
        memcpy(first, err, sizeof first);
        o.beside = 0;
        rc = gw_sqlite_open(&o, &no_sink, &st->sq, err, sizeof err);
        if (rc == GW_SQLITE_ELOCKED)
            return store_failed("the sqlite store", first);
        return rc == 0 ? 0 : store_failed("the sqlite store", err);
    }
    rc = gw_sqlite_open(&o, &no_sink, &st->sq, err, sizeof err);
    if (rc == GW_SQLITE_ELOCKED) { /* a gateway started meanwhile: it made it */
        o.beside = 1;
        rc = gw_sqlite_open(&o, &no_sink, &st->sq, err, sizeof err);
    }
    return rc == 0 ? 0 : store_failed("the sqlite store", err);
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    struct store *st = ctx;
    (void)tag;
    st->answered = 1;
    st->status = status;
    if (status == GW_STORE_DONE && a)
        acct_copy(&st->found, a);
}

static void on_tick(uv_timer_t *t)
{
    struct store *st = t->data;
    if (st->ready(st) || uv_now(&st->loop) >= (uint64_t)st->deadline)
        uv_stop(&st->loop);
}

/* Run the private loop until ready(st) or GW_ACCOUNT_CLI_REDIS_MS have
 * passed. Returns 1 when ready. */
static int run_until(struct store *st, int (*ready)(struct store *st))
{
    st->ready = ready;
    uv_update_time(&st->loop);
    st->deadline = (int64_t)uv_now(&st->loop) + GW_ACCOUNT_CLI_REDIS_MS;
    uv_timer_start(&st->timer, on_tick, 10, 10);
    while (!ready(st) && uv_now(&st->loop) < (uint64_t)st->deadline)
        uv_run(&st->loop, UV_RUN_ONCE);
    uv_timer_stop(&st->timer);
    return ready(st);
}

static int redis_ready(struct store *st)
{
    return gw_rstore_healthy(st->rs, NULL);
}

static int redis_answered(struct store *st)
{
    return st->answered;
}

static int open_redis(struct store *st, const struct gw_config *cfg)
{
    char err[GW_RSTORE_WHY_MAX_BYTES];
    /* Redis gone mid-write is an error to report, not a signal that ends
     * the command without a word. */
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&st->loop) != 0)
        return store_failed("redis", "cannot make an event loop");
    st->loop_open = 1;
    uv_timer_init(&st->loop, &st->timer);
    st->timer.data = st;
    st->timer_open = 1;
    struct gw_rstore_opts o = {.url = cfg->redis_url};
    int rc = gw_rstore_open(&st->loop, &o, &no_sink, &st->rs, err, sizeof err);
    if (rc != 0)
        return store_failed(cfg->redis_url, err);
    if (!run_until(st, redis_ready)) {
        const char *why = "";
        gw_rstore_healthy(st->rs, &why);
        char msg[GW_RSTORE_WHY_MAX_BYTES + 64];
        snprintf(msg, sizeof msg, "not ready within %u ms%s%s", GW_ACCOUNT_CLI_REDIS_MS,
                 why && *why ? ": " : "", why ? why : "");
        return store_failed(cfg->redis_url, msg);
    }
    struct gw_account_sink sink = {.ctx = st, .answer = on_answer};
    gw_rstore_accounts(st->rs, &sink, &st->acc);
    return 0;
}

static void store_close(struct store *st)
{
    gw_sqlite_close(st->sq);
    st->sq = NULL;
    if (st->rs)
        gw_rstore_close(st->rs);
    st->rs = NULL;
    if (st->timer_open)
        uv_close((uv_handle_t *)&st->timer, NULL);
    if (st->loop_open) {
        uv_run(&st->loop, UV_RUN_DEFAULT);
        uv_loop_close(&st->loop);
    }
    st->timer_open = st->loop_open = 0;
}

/* A Redis call made (rc from the call table): wait for its answer.
 * Returns the answer's status, or GW_STORE_EIO with st->status left. */
static int redis_wait(struct store *st, int rc)
{
    if (rc != GW_STORE_PENDING)
        return rc;
    if (!run_until(st, redis_answered)) {
        fprintf(stderr, "wintalk-gateway account: redis did not answer within %u ms\n",
                GW_ACCOUNT_CLI_REDIS_MS);
        return CLI_TIMEOUT;
    }
    return st->status;
}

/* The SQLite engine's list, one account looked for. */
struct sq_find {
    const char *key;
    struct acct *out;
    int found;
};

static void sq_find_each(void *arg, const struct gw_account *a)
{
    struct sq_find *f = arg;
    if (strcmp(a->key, f->key) == 0) {
        acct_copy(f->out, a);
        f->found = 1;
    }
}

/* The account of key into *out: GW_STORE_DONE, GW_ACCOUNT_NONE or a failure. */
static int store_find(struct store *st, const char *key, struct acct *out)
{
    if (st->no_db)
        return GW_ACCOUNT_NONE;
    if (st->sq) {
        struct sq_find f = {.key = key, .out = out};
        if (gw_sqlite_account_list(st->sq, sq_find_each, &f) != 0)
            return GW_STORE_EIO;
        return f.found ? GW_STORE_DONE : GW_ACCOUNT_NONE;
    }
    st->answered = 0;
    int rc = redis_wait(st, st->acc.find(st->acc.ctx, 1, key));
    if (rc == GW_STORE_DONE)
        *out = st->found;
    return rc;
}

static int store_create(struct store *st, const struct gw_account *a)
{
    if (st->sq)
        return gw_sqlite_account_create(st->sq, a);
    st->answered = 0;
    return redis_wait(st, st->acc.create(st->acc.ctx, 1, a));
}

static int store_update(struct store *st, const struct gw_account *a)
{
    if (st->no_db)
        return GW_ACCOUNT_NONE;
    if (st->sq)
        return gw_sqlite_account_update(st->sq, a);
    st->answered = 0;
    return redis_wait(st, st->acc.update(st->acc.ctx, 1, a));
}

static int store_remove(struct store *st, const char *key)
{
    if (st->no_db)
        return GW_ACCOUNT_NONE;
    if (st->sq)
        return gw_sqlite_account_remove(st->sq, key);
    st->answered = 0;
    return redis_wait(st, st->acc.remove(st->acc.ctx, 1, key));
}

/*
 * Redis: every gateway on it is told that the account's generation moved
 * on (each logs out at once its connections of an older one). The find
 * after it is answered once Redis has taken the news (one connection, in
 * order), so the command does not end before it is sent. A failure costs
 * only time: each gateway looks at its accounts in the store every
 * GW_NAMES_WALK_MS. SQLite needs none: one gateway to a directory, and
 * it finds the change with its next look.
 */
static void tell_gateways(struct store *st, const char *key, uint64_t generation, int why)
{
    struct acct ignored;
    if (!st->rs || !st->acc.moved || st->acc.moved(st->acc.ctx, key, generation, why) != 0)
        return;
    (void)store_find(st, key, &ignored);
}

/* ---- list ---- */

static void print_account(const struct gw_account *a)
{
    char when[32] = "?";
    time_t t = (time_t)(a->created_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s\t%s\t%s\t%" PRIu64 "\n", a->nick, (a->roles & GW_ROLE_ADMIN) ? "admin" : "-",
           when, a->generation);
}

static void sq_print_each(void *arg, const struct gw_account *a)
{
    (void)arg;
    print_account(a);
}

/* Redis gives the accounts in no order: gathered, then sorted by key. */
struct gathered {
    struct acct *v;
    size_t n, cap;
    int over, ended, status;
};

static void rs_each(void *arg, const struct gw_account *a)
{
    struct gathered *g = arg;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        struct acct *v = cap <= GW_ACCOUNT_CLI_LIST_MAX ? realloc(g->v, cap * sizeof *v) : NULL;
        if (!v) {
            g->over = 1;
            return;
        }
        g->v = v;
        g->cap = cap;
    }
    acct_copy(&g->v[g->n++], a);
}

static void rs_done(void *arg, int status)
{
    struct gathered *g = arg;
    g->ended = 1;
    g->status = status;
}

static struct gathered *listing; /* the list being gathered, for list_ended */

static int list_ended(struct store *st)
{
    (void)st;
    return listing->ended;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct acct *)a)->key, ((const struct acct *)b)->key);
}

static int cmd_list(struct store *st)
{
    if (st->no_db)
        return EX_OK;
    if (st->sq) {
        if (gw_sqlite_account_list(st->sq, sq_print_each, NULL) != 0) {
            fprintf(stderr, "wintalk-gateway account: cannot read the accounts\n");
            return EX_IOERR;
        }
        return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
    }
    struct gathered g = {0};
    listing = &g;
    int rc = gw_rstore_account_list(st->rs, rs_each, rs_done, &g);
    if (rc == GW_STORE_PENDING && !run_until(st, list_ended)) {
        free(g.v);
        fprintf(stderr, "wintalk-gateway account: redis did not answer within %u ms\n",
                GW_ACCOUNT_CLI_REDIS_MS);
        return EX_UNAVAILABLE;
    }
    if (rc != GW_STORE_PENDING || g.status != GW_STORE_DONE || g.over) {
        free(g.v);
        fprintf(stderr, "wintalk-gateway account: cannot read the accounts%s\n",
                g.over ? ": more than the list's bound" : "");
        return EX_IOERR;
    }
    qsort(g.v, g.n, sizeof *g.v, by_key);
    for (size_t i = 0; i < g.n; i++) {
        struct gw_account a = acct_view(&g.v[i]);
        print_account(&a);
    }
    free(g.v);
    return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/* ---- the commands ---- */

/* An answer that is not the one hoped for, in words. */
static int refused(int rc, const char *nick)
{
    switch (rc) {
    case GW_ACCOUNT_EXISTS:
        fprintf(stderr, "wintalk-gateway account: an account \"%s\" exists already\n", nick);
        return EX_DATAERR;
    case GW_ACCOUNT_NONE:
        fprintf(stderr, "wintalk-gateway account: no account \"%s\"\n", nick);
        return EX_DATAERR;
    case CLI_TIMEOUT:
        return EX_UNAVAILABLE;
    case GW_STORE_EINVAL:
        fprintf(stderr, "wintalk-gateway account: the store refuses \"%s\" (too long)\n", nick);
        return EX_USAGE;
    default:
        fprintf(stderr, "wintalk-gateway account: the store failed: %s\n",
                gw_store_strerror(rc));
        return EX_IOERR;
    }
}

struct command {
    enum verb verb;
    const char *word;         /* the nick as given */
    int admin;                /* add --admin; admin on */
    char nick[GW_NICK_MAX_BYTES + 1];
    char key[GW_NICK_KEY_MAX_BYTES + 1];
    char phc[GW_HASH_PHC_SIZE];
};

static int run(struct command *c, struct store *st)
{
    struct acct cur;
    int rc;
    switch (c->verb) {
    case V_LIST:
        return cmd_list(st);
    case V_ADD: {
        struct gw_account a = {.key = c->key, .nick = c->nick, .phc = c->phc,
                               .roles = c->admin ? GW_ROLE_ADMIN : 0u, .generation = 1,
                               .created_ms = wall_ms()};
        if ((rc = store_create(st, &a)) != GW_STORE_DONE)
            return refused(rc, c->nick);
        printf("account %s added%s\n", c->nick, c->admin ? ", an administrator" : "");
        break;
    }
    case V_PASSWD: {
        if ((rc = store_find(st, c->key, &cur)) != GW_STORE_DONE)
            return refused(rc, c->nick);
        struct gw_account a = acct_view(&cur);
        a.phc = c->phc;
        a.generation = cur.generation + 1;
        if ((rc = store_update(st, &a)) != GW_STORE_DONE)
            return refused(rc, c->nick);
        tell_gateways(st, c->key, a.generation, GW_MOVED_PASSWORD);
        printf("password of %s changed: every session of %s has ended\n", cur.nick, cur.nick);
        break;
    }
    case V_DEL:
        if ((rc = store_remove(st, c->key)) != GW_STORE_DONE)
            return refused(rc, c->nick);
        tell_gateways(st, c->key, UINT64_MAX, GW_MOVED_REMOVED); /* every generation */
        printf("account %s removed, with its sessions\n", c->nick);
        break;
    case V_ADMIN: {
        if ((rc = store_find(st, c->key, &cur)) != GW_STORE_DONE)
            return refused(rc, c->nick);
        struct gw_account a = acct_view(&cur);
        a.roles = c->admin ? (cur.roles | GW_ROLE_ADMIN) : (cur.roles & ~GW_ROLE_ADMIN);
        if ((rc = store_update(st, &a)) != GW_STORE_DONE)
            return refused(rc, c->nick);
        printf("%s %s an administrator\n", cur.nick, c->admin ? "is now" : "is no longer");
        break;
    }
    }
    return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

static int bad_usage(const char *why)
{
    if (why)
        fprintf(stderr, "wintalk-gateway account: %s (wintalk-gateway account --help)\n", why);
    else
        fputs(usage, stderr);
    return EX_USAGE;
}

int gw_account_cli(int argc, char **argv)
{
    struct command c = {0};
    const char *words[3];
    int nwords = 0;
    /* The options gw_config_parse reads: the program's name first. */
    char *opts[1 + 2 * STORE_FLAGS * 4];
    int nopts = 0;
    opts[nopts++] = argv[0];
    char msg[160];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return EX_OK;
        }
        if (strcmp(a, "--admin") == 0) {
            c.admin = 1;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (nwords == 3)
                return bad_usage("too many words");
            words[nwords++] = a;
            continue;
        }
        size_t f = 0;
        for (; f < STORE_FLAGS; f++) {
            size_t n = strlen(store_flags[f]);
            if (strncmp(a, store_flags[f], n) == 0 && (a[n] == '\0' || a[n] == '='))
                break;
        }
        if (f == STORE_FLAGS || nopts + 2 >= (int)(sizeof opts / sizeof opts[0])) {
            snprintf(msg, sizeof msg, "unknown option %.64s", a);
            return bad_usage(msg);
        }
        opts[nopts++] = argv[i];
        if (!strchr(a, '=')) {
            if (i + 1 >= argc) {
                snprintf(msg, sizeof msg, "%.64s needs a value", a);
                return bad_usage(msg);
            }
            opts[nopts++] = argv[++i];
        }
    }
    if (nwords == 0)
        return bad_usage(NULL);
    size_t v = 0;
    for (; v < sizeof verbs / sizeof verbs[0]; v++)
        if (strcmp(words[0], verbs[v].name) == 0)
            break;
    if (v == sizeof verbs / sizeof verbs[0]) {
        snprintf(msg, sizeof msg, "no command \"%.64s\"", words[0]);
        return bad_usage(msg);
    }
    c.verb = verbs[v].verb;
    if (nwords - 1 != verbs[v].args) {
        snprintf(msg, sizeof msg, "%s takes %d word%s after it", verbs[v].name, verbs[v].args,
                 verbs[v].args == 1 ? "" : "s");
        return bad_usage(msg);
    }
    if (c.admin && c.verb != V_ADD)
        return bad_usage("--admin goes with add (else: account admin NICK on|off)");
    if (c.verb == V_ADMIN) {
        if (strcmp(words[2], "on") != 0 && strcmp(words[2], "off") != 0)
            return bad_usage("admin takes on or off");
        c.admin = strcmp(words[2], "on") == 0;
    }

    struct gw_config cfg;
    char err[256];
    if (gw_config_parse(&cfg, nopts, opts, getenv_c, err, sizeof err) != 0)
        return bad_usage(err);
    if (strcmp(cfg.store, "memory") == 0)
        return bad_usage("--store memory keeps nothing: accounts need --store sqlite or redis");

    if (c.verb != V_LIST) {
        /* As the hub checks a /nick (gw_hub_change_nick). */
        c.word = words[1];
        int ns = gw_nick_norm(c.word, strlen(c.word), cfg.max_nick_chars, c.nick, c.key);
        if (ns != GW_NICK_OK) {
            if (ns == GW_NICK_LONG)
                snprintf(msg, sizeof msg, "nick is longer than %u characters",
                         cfg.max_nick_chars);
            else
                snprintf(msg, sizeof msg, "not a nick: %s", gw_nick_strerror(ns));
            fprintf(stderr, "wintalk-gateway account: %s\n", msg);
            return EX_USAGE;
        }
        if (strlen(c.key) > GW_ACCOUNT_KEY_MAX_BYTES) {
            fprintf(stderr, "wintalk-gateway account: \"%s\" is too long for an account\n",
                    c.nick);
            return EX_USAGE;
        }
    }
    if (c.verb == V_ADD || c.verb == V_PASSWD) {
        int rc = new_password(c.nick, c.phc);
        if (rc != 0)
            return rc;
    }

    struct store st = {.kind = cfg.store};
    int rc = strcmp(cfg.store, "redis") == 0 ? open_redis(&st, &cfg)
                                               : open_sqlite(&st, &cfg, c.verb == V_ADD);
    if (rc == 0)
        rc = run(&c, &st);
    store_close(&st);
    OPENSSL_cleanse(c.phc, sizeof c.phc);
    return rc;
}
