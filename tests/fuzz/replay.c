/*
 * replay.c - run a fuzz target over corpus files without libFuzzer, so the
 * corpus is an ordinary test in every build (and under ASan+UBSan in the
 * sanitizer build). Usage: replay FILE-OR-DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small; a bigger one is a mistake in the corpus. */
#define REPLAY_MAX_BYTES (1u << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (!f) {
        perror(path);
        return -1;
    }
    buf = malloc(REPLAY_MAX_BYTES);
    if (!buf) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, REPLAY_MAX_BYTES, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned files = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            if (!dir) {
                perror(argv[i]);
                return 1;
            }
            while ((e = readdir(dir)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                if (replay_file(path) != 0) {
                    closedir(dir);
                    return 1;
                }
                files++;
            }
            closedir(dir);
        } else {
            if (replay_file(argv[i]) != 0)
                return 1;
            files++;
        }
    }
    printf("replayed %u inputs\n", files);
    return files ? 0 : 1; /* an empty corpus is a broken test, not a pass */
}
