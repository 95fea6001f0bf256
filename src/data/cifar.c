/* cifar.c - CIFAR-10 "binary version": data_batch_1.bin .. data_batch_5.bin
 * (train) and test_batch.bin (test). Each record is 1 label byte (0..9) then
 * 3072 pixel bytes: the 32x32 red plane, then green, then blue, rows first -
 * already the CHW layout of a sample, so pixels are copied as they are. */
#include "data/data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_CLASSES 10
#define CIFAR_PIXELS (NS_CIFAR_RECORD - 1)
#define CIFAR_CHUNK 1024 /* records per fread: 3 MB */

ns_status ns_cifar_count(const char *path, size_t *n)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    NS_CHECK(S_ISREG(st.st_mode), NS_ERR_IO, "%s: not a regular file", path);
    size_t size = (size_t)st.st_size;
    NS_CHECK(size > 0, NS_ERR_FORMAT, "%s: empty file (a CIFAR-10 binary file holds records "
             "of %d bytes)", path, NS_CIFAR_RECORD);
    NS_CHECK(size % NS_CIFAR_RECORD == 0, NS_ERR_FORMAT,
             "%s: size %zu is not a multiple of %d (1 label + 3072 pixel bytes): record %zu "
             "at byte offset %zu is cut to %zu bytes",
             path, size, NS_CIFAR_RECORD, size / NS_CIFAR_RECORD,
             size / NS_CIFAR_RECORD * NS_CIFAR_RECORD, size % NS_CIFAR_RECORD);
    *n = size / NS_CIFAR_RECORD;
    return NS_OK;
}

ns_status ns_cifar_read(const char *path, size_t n, uint8_t *pixels, int32_t *labels)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = malloc((size_t)CIFAR_CHUNK * NS_CIFAR_RECORD);
    if (!buf) {
        fclose(f);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", path);
    }
    ns_status st = NS_OK;
    for (size_t r0 = 0; r0 < n && st == NS_OK; r0 += CIFAR_CHUNK) {
        size_t m = n - r0 < CIFAR_CHUNK ? n - r0 : CIFAR_CHUNK;
        size_t got = fread(buf, 1, m * NS_CIFAR_RECORD, f);
        if (got != m * NS_CIFAR_RECORD) {
            st = ns_error_set(NS_ERR_FORMAT,
                              "%s: truncated: record %zu needs bytes up to offset %zu but the "
                              "file ends at byte offset %zu",
                              path, r0 + got / NS_CIFAR_RECORD, (r0 + m) * NS_CIFAR_RECORD,
                              r0 * NS_CIFAR_RECORD + got);
            break;
        }
        for (size_t i = 0; i < m; i++) {
            const uint8_t *rec = buf + i * NS_CIFAR_RECORD;
            if (rec[0] >= CIFAR_CLASSES) {
                st = ns_error_set(NS_ERR_FORMAT,
                                  "%s: label %u of record %zu (byte offset %zu) is out of "
                                  "range 0..%d",
                                  path, rec[0], r0 + i, (r0 + i) * NS_CIFAR_RECORD,
                                  CIFAR_CLASSES - 1);
                break;
            }
            labels[r0 + i] = rec[0];
            memcpy(pixels + (r0 + i) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
        }
    }
    free(buf);
    fclose(f);
    return st;
}

static void cifar_path(const ns_data_spec *s, int file, char *path, size_t cap)
{
    /* file 0..4: data_batch_1..5, file 5: test_batch */
    if (file < NS_CIFAR_TRAIN_FILES) snprintf(path, cap, "%s/data_batch_%d.bin", s->dir, file + 1);
    else snprintf(path, cap, "%s/test_batch.bin", s->dir);
}

/* Records per file; n[0..5]. */
static ns_status cifar_counts(const ns_data_spec *s, size_t n[NS_CIFAR_TRAIN_FILES + 1],
                              size_t *n_train)
{
    char path[NS_DATA_PATH_MAX + 32];
    *n_train = 0;
    for (int k = 0; k <= NS_CIFAR_TRAIN_FILES; k++) {
        cifar_path(s, k, path, sizeof path);
        NS_TRY(ns_cifar_count(path, &n[k]));
        if (k < NS_CIFAR_TRAIN_FILES) *n_train += n[k];
    }
    return NS_OK;
}

ns_status ns_cifar_info(const ns_data_spec *s, ns_dataset_info *info)
{
    size_t n[NS_CIFAR_TRAIN_FILES + 1];
    NS_TRY(cifar_counts(s, n, &info->n_train));
    info->n_test = n[NS_CIFAR_TRAIN_FILES];
    info->shape = (ns_shape){3, 32, 32};
    info->nclasses = CIFAR_CLASSES;
    info->target_dim = 0;
    return NS_OK;
}

static ns_status alloc_split(ns_u8_split *sp, size_t n, const char *dir)
{
    sp->n = n;
    sp->px = malloc(n * CIFAR_PIXELS);
    sp->labels = malloc(n * sizeof *sp->labels);
    NS_CHECK(sp->px && sp->labels, NS_ERR_NOMEM, "cifar10:%s: out of memory for %zu samples",
             dir, n);
    return NS_OK;
}

ns_status ns_cifar_load_splits(const ns_data_spec *s, ns_u8_split *train, ns_u8_split *test,
                               ns_shape *shape, size_t *file_bytes)
{
    size_t n[NS_CIFAR_TRAIN_FILES + 1], n_train;
    char path[NS_DATA_PATH_MAX + 32];
    NS_TRY(cifar_counts(s, n, &n_train));
    ns_status st = alloc_split(train, n_train, s->dir);
    if (st == NS_OK) st = alloc_split(test, n[NS_CIFAR_TRAIN_FILES], s->dir);
    size_t at = 0;
    for (int k = 0; k <= NS_CIFAR_TRAIN_FILES && st == NS_OK; k++) {
        ns_u8_split *sp = k < NS_CIFAR_TRAIN_FILES ? train : test;
        if (k == NS_CIFAR_TRAIN_FILES) at = 0;
        cifar_path(s, k, path, sizeof path);
        st = ns_cifar_read(path, n[k], sp->px + at * CIFAR_PIXELS, sp->labels + at);
        at += n[k];
        *file_bytes += n[k] * NS_CIFAR_RECORD;
    }
    if (st != NS_OK) {
        free(train->px); free(train->labels);
        free(test->px); free(test->labels);
        memset(train, 0, sizeof *train);
        memset(test, 0, sizeof *test);
        return st;
    }
    *shape = (ns_shape){3, 32, 32};
    return NS_OK;
}
