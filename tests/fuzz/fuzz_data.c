/* fuzz_data.c - the data file readers on arbitrary bytes: the IDX reader
 * (plain or gzip, as images with 3 dimensions and as labels with 1) and the
 * CIFAR-10 binary reader. The first byte picks the reader, the rest is the
 * file. Any input must be read or refused with a message; never a crash, a
 * leak, undefined behaviour, or an allocation beyond what the input can back
 * (libFuzzer's -malloc_limit_mb). Corpus: tests/fuzz/data/. */
#define _DEFAULT_SOURCE /* mkstemp */
#include "data/data_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static void remove_input_file(void) { unlink(path); }

/* The readers take a path: the input goes to one temporary file per process. */
static const char *input_file(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%.40s/ns_fuzz_XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
        atexit(remove_input_file);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return path;
}

static void check_refused(ns_status st)
{
    if (st != NS_OK && !ns_error_msg()[0]) abort(); /* every refusal says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 64 KiB: a gzip input then decodes to at most 64 MiB (1032x), in bounds */
    if (size < 1 || size > (1u << 16)) return 0;
    const char *path = input_file(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
    case 1: { /* IDX images (3 dims) or labels (1 dim) */
        int ndim = data[0] % 3 == 0 ? 3 : 1;
        ns_idx_header h;
        uint8_t *px = NULL;
        size_t bytes = 0;
        ns_status st = ns_idx_read_header(path, ndim, &h);
        check_refused(st);
        if (st == NS_OK) {
            st = ns_idx_read(path, ndim, &h, &px, &bytes);
            check_refused(st);
            if (st == NS_OK && (h.count == 0 || !px)) abort();
            if (st == NS_OK) px[h.count - 1] ^= 1; /* the whole payload is addressable */
            free(px);
        }
        break;
    }
    default: { /* CIFAR-10 binary */
        size_t n = 0;
        ns_status st = ns_cifar_count(path, &n);
        check_refused(st);
        if (st == NS_OK) {
            uint8_t *px = malloc(n * (NS_CIFAR_RECORD - 1));
            int32_t *labels = malloc(n * sizeof *labels);
            if (!px || !labels) abort();
            check_refused(ns_cifar_read(path, n, px, labels));
            free(px);
            free(labels);
        }
        break;
    }
    }
    ns_error_clear();
    return 0;
}
