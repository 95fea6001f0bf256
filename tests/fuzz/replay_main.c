/* replay_main.c - a main() for the fuzz harnesses in builds without
 * libFuzzer (gcc Release and ASan/UBSan): runs LLVMFuzzerTestOneInput once on
 * every file named, or in every directory named (sorted), and prints how many.
 * ctest replays tests/fuzz/<harness>/ - the seeds and every crasher ever found
 * - this way, so each build checks the harnesses and the regressions. */
#define _DEFAULT_SOURCE /* DT_REG, d_type */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: out of memory for %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int ran = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue; /* libFuzzer flags: ignored here */
        struct dirent **list = NULL;
        int n = scandir(argv[i], &list, NULL, by_name);
        if (n < 0) { /* a file */
            bad |= run_file(argv[i]);
            ran++;
            continue;
        }
        for (int k = 0; k < n; k++) {
            if (list[k]->d_name[0] != '.') {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], list[k]->d_name);
                bad |= run_file(path);
                ran++;
            }
            free(list[k]);
        }
        free(list);
    }
    printf("replay: %d input%s, no finding\n", ran, ran == 1 ? "" : "s");
    return bad || ran == 0;
}
