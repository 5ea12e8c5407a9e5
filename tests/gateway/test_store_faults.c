/*
 * test_store_faults.c - the SQLite store engine on file systems that fail:
 * a small tmpfs that fills up while the gateway runs (events, and
 * accounts), and read-only mounts at open. The test makes its own mount
 * namespace (unshare, as root), so its mounts are seen by nobody else and
 * vanish with it.
 *
 * Given "store_fill PATH", instead a smoke run of bench/store_fill (at
 * PATH): what it writes is there when the engine reopens the directory.
 */
#define _GNU_SOURCE /* unshare, mount, nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gw_json.h"
#include "gw_store.h"
#include "gw_store_sqlite.h"

#define NOW_MS INT64_C(1764000000000)

struct done_call {
    char key[GW_SQLITE_KEY_MAX_BYTES + 1];
    uint64_t id;
    int status;
};

struct fix {
    char mnt[64];   /* a tmpfs of our own */
    char dir[96];   /* the data directory in it */
    int mounted;
    struct gw_sqlite *s;
    struct gw_store st;
    struct gw_store_sink sink;
    struct done_call done[16];
    size_t ndone;
    int rows_status;
    size_t rows_n;
    uint64_t ids[GW_STORE_READ_MAX];
    struct gw_accounts ac;   /* accounts, answered to on_answer */
    uint64_t ans_tag[16];
    int ans_status[16];
    size_t nans;
};

static void on_done(void *ctx, const char *key, uint64_t id, int status)
{
    struct fix *f = ctx;
    assert_true(f->ndone < 16);
    struct done_call *d = &f->done[f->ndone++];
    snprintf(d->key, sizeof d->key, "%s", key);
    d->id = id;
    d->status = status;
}

static void on_rows(void *ctx, uint64_t tag, int status, const struct gw_store_event *ev,
                    size_t n, int more)
{
    struct fix *f = ctx;
    (void)tag;
    (void)more;
    f->rows_status = status;
    f->rows_n = n;
    for (size_t i = 0; i < n; i++)
        f->ids[i] = ev[i].id;
}

static void on_answer(void *ctx, uint64_t tag, int status, const struct gw_account *a)
{
    struct fix *f = ctx;
    (void)a;
    assert_true(f->nans < 16);
    f->ans_tag[f->nans] = tag;
    f->ans_status[f->nans++] = status;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Mount a tmpfs of size bytes on f->mnt. */
static void mount_tmpfs(struct fix *f, const char *size)
{
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
    if (mount("tmpfs", f->mnt, "tmpfs", 0, opts) != 0)
        fail_msg("mount tmpfs on %s: %s", f->mnt, strerror(errno));
    f->mounted = 1;
}

static void remount(struct fix *f, unsigned long flags)
{
    if (mount(NULL, f->mnt, NULL, MS_REMOUNT | flags, NULL) != 0)
        fail_msg("remount %s: %s", f->mnt, strerror(errno));
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->mnt, sizeof f->mnt, "/tmp/wt-faults-XXXXXX");
    assert_non_null(mkdtemp(f->mnt));
    snprintf(f->dir, sizeof f->dir, "%s/data", f->mnt);
    f->sink = (struct gw_store_sink){.ctx = f, .done = on_done, .rows = on_rows};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    gw_sqlite_close(f->s);
    if (f->mounted)
        umount2(f->mnt, MNT_DETACH);
    nftw(f->mnt, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int open_dir(struct fix *f, const char *dir, char *err, size_t errlen)
{
    struct gw_sqlite_opts o = {.dir = dir};
    int rc = gw_sqlite_open(&o, &f->sink, &f->s, err, errlen);
    if (rc == 0) {
        gw_sqlite_store(f->s, &f->st);
        struct gw_account_sink as = {.ctx = f, .answer = on_answer};
        gw_sqlite_accounts(f->s, &as, &f->ac);
    }
    return rc;
}

static void open_ok(struct fix *f)
{
    char err[GW_SQLITE_WHY_MAX_BYTES];
    int rc = open_dir(f, f->dir, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %s", f->dir, err);
}

static int add(struct fix *f, const char *room, uint64_t id, size_t text_len)
{
    static char text[4096], json[4200];
    assert_true(text_len < sizeof text);
    for (size_t i = 0; i < text_len; i++)
        text[i] = (i % 8 == 7) ? ' ' : (char)('a' + (id + i) % 26);
    text[text_len] = '\0';
    int jl = snprintf(json, sizeof json, "{\"type\":\"message\",\"id\":%llu,\"text\":\"%s\"}",
                      (unsigned long long)id, text);
    struct gw_store_event ev = {
        .id = id, .time_ms = NOW_MS, .type = GW_EV_MESSAGE, .json = json,
        .json_len = (size_t)jl, .line = text, .line_len = text_len, .text = text,
        .text_len = text_len,
    };
    return f->st.append(f->st.ctx, room, room, &ev);
}

/* The ids AFTER 0 in room, as "1,2,3". */
static const char *all_ids(struct fix *f, const char *room)
{
    static char out[4096];
    struct gw_store_read rd = {.kind = GW_STORE_AFTER, .room_key = room, .limit = GW_STORE_READ_MAX};
    assert_int_equal(f->st.read(f->st.ctx, &rd), GW_STORE_PENDING);
    f->rows_status = 99;
    gw_sqlite_flush(f->s);
    /* A reader answers; a later flush reports it. */
    for (int i = 0; i < 100 && f->rows_status == 99; i++) {
        gw_sqlite_wait(f->s, 100);
        gw_sqlite_flush(f->s);
    }
    assert_int_equal(f->rows_status, 0);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->rows_n && o < sizeof out - 24; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%llu", i ? "," : "",
                              (unsigned long long)f->ids[i]);
    return out;
}

/* Fill the file system of path until it has no byte left. */
static void fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    static char chunk[65536];
    memset(chunk, 'z', sizeof chunk);
    for (size_t size = sizeof chunk; size >= 1; size /= 2)
        while (write(fd, chunk, size) > 0)
            ;
    assert_int_equal(errno, ENOSPC);
    close(fd);
}

static void check_integrity(const char *dir)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, GW_SQLITE_DB_NAME);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO events_fts(events_fts) VALUES('integrity-check')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

static void disk_full_at_run_time(void **state)
{
    struct fix *f = *state;
    mount_tmpfs(f, "2m");
    open_ok(f);
    for (uint64_t id = 1; id <= 20; id++)
        assert_int_equal(add(f, "#a", id, 40), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].status, GW_STORE_DONE);

    char filler[128];
    snprintf(filler, sizeof filler, "%s/filler", f->mnt);
    fill(filler);

    /* A batch bigger than any room the WAL has left: the commit fails. */
    f->ndone = 0;
    for (uint64_t id = 21; id <= 420; id++) {
        assert_int_equal(add(f, "#a", id, 3000), GW_STORE_PENDING);
        if (id % 50 == 0)
            assert_int_equal(add(f, "#b", id / 50, 100), GW_STORE_PENDING);
    }
    assert_int_equal(f->ndone, 0);
    assert_int_equal(gw_sqlite_flush(f->s), GW_STORE_EIO);
    assert_int_equal(f->ndone, 2);
    assert_string_equal(f->done[0].key, "#a");
    assert_int_equal(f->done[0].id, 420);
    assert_int_equal(f->done[0].status, GW_STORE_EIO);
    assert_string_equal(f->done[1].key, "#b");
    assert_int_equal(f->done[1].id, 8);
    assert_int_equal(f->done[1].status, GW_STORE_EIO);
    const char *why = NULL;
    assert_int_equal(gw_sqlite_healthy(f->s, &why), 0);
    if (strncmp(why, "disk full: database or disk is full (", 37) != 0 ||
        !strstr(why, f->dir) || !strstr(why, "/wintalk.db)"))
        fail_msg("why: %s", why);
    print_message("unhealthy: %s\n", why);
    struct gw_sqlite_stats st;
    gw_sqlite_stats(f->s, &st);
    assert_true(st.errors >= 1);
    assert_int_equal(st.events_stored, 20);

    /* Unhealthy: appends are refused at once; what is kept can be read. */
    assert_int_equal(add(f, "#a", 421, 10), GW_STORE_EIO);
    assert_string_equal(all_ids(f, "#a"), "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20");

    /* Still full: the probe says so. */
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_int_equal(gw_sqlite_healthy(f->s, &why), 0);
    if (strncmp(why, "disk full: ", 11) != 0 || !strstr(why, f->dir))
        fail_msg("why: %s", why);

    /* Space again: the next probe makes it healthy, and appends are kept. */
    assert_int_equal(unlink(filler), 0);
    gw_sqlite_maintain(f->s, NOW_MS + GW_SQLITE_PROBE_MS);
    assert_int_equal(gw_sqlite_healthy(f->s, &why), 1);
    assert_string_equal(why, "");
    f->ndone = 0;
    assert_int_equal(add(f, "#a", 421, 10), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(f->ndone, 1);
    assert_int_equal(f->done[0].id, 421);
    assert_int_equal(f->done[0].status, GW_STORE_DONE);
    gw_sqlite_close(f->s);
    f->s = NULL;

    /* Nothing kept was damaged. */
    check_integrity(f->dir);
    open_ok(f);
    assert_string_equal(all_ids(f, "#a"),
                        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,421");
    uint64_t last = 0;
    assert_int_equal(f->st.load(f->st.ctx, "#b", 5, 1 << 20, &last, NULL, NULL), 0);
    assert_int_equal(last, 0);
}

/* An account's find, answered by a reader: its status. */
static int find_status(struct fix *f, const char *key)
{
    f->nans = 0;
    assert_int_equal(f->ac.find(f->ac.ctx, 9, key), GW_STORE_PENDING);
    gw_sqlite_flush(f->s);
    for (int i = 0; i < 100 && f->nans == 0; i++) {
        gw_sqlite_wait(f->s, 100);
        gw_sqlite_flush(f->s);
    }
    assert_int_equal(f->nans, 1);
    assert_int_equal(f->ans_tag[0], 9);
    return f->ans_status[0];
}

/* Accounts on a disk that fills up: writes of the batch that fails are
 * answered GW_STORE_EIO (never DONE), later ones are refused at once
 * while unhealthy, reads still work, and all is well once there is room. */
static void accounts_on_a_full_disk(void **state)
{
    struct fix *f = *state;
    mount_tmpfs(f, "2m");
    open_ok(f);
    const char *digest = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    struct gw_account a = {.key = "alice", .nick = "Alice", .phc = "", .generation = 1,
                           .created_ms = NOW_MS};
    assert_int_equal(f->ac.create(f->ac.ctx, 1, &a), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(f->nans, 1);
    assert_int_equal(f->ans_status[0], GW_STORE_DONE);

    char filler[128];
    snprintf(filler, sizeof filler, "%s/filler", f->mnt);
    fill(filler);
    f->nans = 0;
    struct gw_account b = a;
    b.key = "bob";
    b.nick = "Bob";
    assert_int_equal(f->ac.create(f->ac.ctx, 2, &b), GW_STORE_PENDING);
    assert_int_equal(f->ac.session_keep(f->ac.ctx, 3, digest, "alice", 1, NOW_MS + 1000),
                     GW_STORE_PENDING);
    for (uint64_t id = 1; id <= 400; id++)
        assert_int_equal(add(f, "#a", id, 3000), GW_STORE_PENDING);
    assert_int_equal(f->nans, 0);
    assert_int_equal(gw_sqlite_flush(f->s), GW_STORE_EIO);
    assert_int_equal(f->nans, 2);
    assert_int_equal(f->ans_tag[0], 2);
    assert_int_equal(f->ans_status[0], GW_STORE_EIO);
    assert_int_equal(f->ans_tag[1], 3);
    assert_int_equal(f->ans_status[1], GW_STORE_EIO);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 0);

    /* Unhealthy: writes refused at once, no answer; reads still answer. */
    f->nans = 0;
    assert_int_equal(f->ac.create(f->ac.ctx, 4, &b), GW_STORE_EIO);
    assert_int_equal(f->ac.session_drop(f->ac.ctx, 5, digest), GW_STORE_EIO);
    assert_int_equal(gw_sqlite_account_create(f->s, &b), GW_STORE_EIO);
    gw_sqlite_flush(f->s);
    assert_int_equal(f->nans, 0);
    assert_int_equal(find_status(f, "alice"), GW_STORE_DONE);
    assert_int_equal(find_status(f, "bob"), GW_ACCOUNT_NONE);
    f->nans = 0;
    assert_int_equal(f->ac.session_find(f->ac.ctx, 6, digest, NOW_MS), GW_STORE_PENDING);
    for (int i = 0; i < 100 && f->nans == 0; i++) {
        gw_sqlite_flush(f->s);
        if (f->nans == 0)
            gw_sqlite_wait(f->s, 100);
    }
    assert_int_equal(f->ans_status[0], GW_ACCOUNT_NONE);

    /* Room again: the probe makes it healthy, and writes are kept. */
    assert_int_equal(unlink(filler), 0);
    gw_sqlite_maintain(f->s, NOW_MS);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 1);
    f->nans = 0;
    assert_int_equal(f->ac.create(f->ac.ctx, 7, &b), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    assert_int_equal(f->nans, 1);
    assert_int_equal(f->ans_status[0], GW_STORE_DONE);
    gw_sqlite_close(f->s);
    f->s = NULL;
    check_integrity(f->dir);
    open_ok(f);
    assert_int_equal(find_status(f, "bob"), GW_STORE_DONE);
}

/* Write a file of size bytes. */
static void write_file(const char *path, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    static char chunk[65536];
    memset(chunk, 'z', sizeof chunk);
    for (size_t done = 0; done < size;) {
        size_t n = size - done < sizeof chunk ? size - done : sizeof chunk;
        assert_int_equal(write(fd, chunk, n), (ssize_t)n);
        done += n;
    }
    close(fd);
}

static void probe_needs_free_space_and_waits_between_tries(void **state)
{
    struct fix *f = *state;
    mount_tmpfs(f, "2m");
    open_ok(f);
    assert_int_equal(add(f, "#a", 1, 40), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    char filler[128];
    snprintf(filler, sizeof filler, "%s/filler", f->mnt);
    write_file(filler, 1536u * 1024u);
    /* The batch grows the WAL into the space left, and fails there. */
    for (uint64_t id = 2; id <= 400; id++)
        assert_int_equal(add(f, "#a", id, 3000), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), GW_STORE_EIO);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 0);
    /* A tiny write would fit in the WAL's space the failed batch left, but
     * the disk is still full: the probe says so. It comes at once; the
     * next only GW_SQLITE_PROBE_MS later, also when there is space
     * meanwhile. */
    struct gw_sqlite_stats st0, st1;
    gw_sqlite_stats(f->s, &st0);
    gw_sqlite_maintain(f->s, NOW_MS);
    const char *why = NULL;
    assert_int_equal(gw_sqlite_healthy(f->s, &why), 0);
    print_message("unhealthy: %s\n", why);
    assert_int_equal(strncmp(why, "disk full: ", 11), 0);
    gw_sqlite_stats(f->s, &st1);
    assert_int_equal(st1.errors, st0.errors + 1);
    assert_int_equal(unlink(filler), 0);
    gw_sqlite_maintain(f->s, NOW_MS + GW_SQLITE_PROBE_MS - 1);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 0);
    gw_sqlite_stats(f->s, &st0);
    assert_int_equal(st0.errors, st1.errors);
    gw_sqlite_maintain(f->s, NOW_MS + GW_SQLITE_PROBE_MS);
    assert_int_equal(gw_sqlite_healthy(f->s, NULL), 1);
    gw_sqlite_stats(f->s, &st1);
    assert_int_equal(st1.commits, st0.commits + 1); /* the probe's write */
    assert_string_equal(all_ids(f, "#a"), "1");
}

static void read_only_mounts_are_refused_at_open(void **state)
{
    struct fix *f = *state;
    char err[GW_SQLITE_WHY_MAX_BYTES];
    mount_tmpfs(f, "4m");
    /* A database made there earlier, then the file system read-only. */
    open_ok(f);
    assert_int_equal(add(f, "#a", 1, 10), GW_STORE_PENDING);
    assert_int_equal(gw_sqlite_flush(f->s), 0);
    gw_sqlite_close(f->s);
    f->s = NULL;
    char empty[128], missing[128];
    snprintf(empty, sizeof empty, "%s/empty", f->mnt);
    snprintf(missing, sizeof missing, "%s/missing", f->mnt);
    assert_int_equal(mkdir(empty, 0700), 0);
    remount(f, MS_RDONLY);

    int rc = open_dir(f, f->dir, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ENOPERM);
    assert_int_equal(gw_sqlite_exit_status(rc), 77);
    assert_non_null(strstr(err, "not writable"));
    assert_non_null(strstr(err, f->dir));
    assert_non_null(strstr(err, "Read-only file system"));

    rc = open_dir(f, empty, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ENOPERM);
    assert_non_null(strstr(err, empty));

    rc = open_dir(f, missing, err, sizeof err);
    assert_int_equal(rc, GW_SQLITE_ECREATE);
    assert_int_equal(gw_sqlite_exit_status(rc), 73);
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "Read-only file system"));
    assert_null(f->s);

    /* Writable again: all there. */
    remount(f, 0);
    open_ok(f);
    assert_string_equal(all_ids(f, "#a"), "1");
}

static const char *store_fill; /* its path */

static void store_fill_smoke_run(void **state)
{
    struct fix *f = *state;
    const char *prog = store_fill;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execl(prog, prog, f->dir, "3000", "4", "256", (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    open_ok(f);
    uint64_t total = 0;
    for (int r = 1; r <= 4; r++) {
        char room[16];
        snprintf(room, sizeof room, "#room%d", r);
        uint64_t last = 0;
        assert_int_equal(f->st.load(f->st.ctx, room, 1, 1 << 20, &last, NULL, NULL), 0);
        assert_true(last > 0);
        total += last;
    }
    assert_int_equal(total, 3000);
    gw_sqlite_close(f->s);
    f->s = NULL;
    check_integrity(f->dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "store_fill") == 0) {
        store_fill = argv[2];
        const struct CMUnitTest fill[] = {
            cmocka_unit_test_setup_teardown(store_fill_smoke_run, setup, teardown),
        };
        return cmocka_run_group_tests(fill, NULL, NULL);
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [store_fill PATH]\n", argv[0]);
        return 2;
    }
    /* Mounts of our own, seen by nobody else. */
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fprintf(stderr, "test_store_faults: needs root for a mount namespace: %s\n",
                strerror(errno));
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(disk_full_at_run_time, setup, teardown),
        cmocka_unit_test_setup_teardown(probe_needs_free_space_and_waits_between_tries, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_mounts_are_refused_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(accounts_on_a_full_disk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
