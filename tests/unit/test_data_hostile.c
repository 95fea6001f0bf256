/* test_data_hostile.c - the data readers against hostile files (issue 17):
 * a FIFO where a data file should be (it once blocked open() forever), a
 * symlink loop (once reported as a missing file), a gzip IDX whose header
 * announces more than the cap (1 GiB) or more than its compressed size can
 * decode to (once allocated in full, then x4 as float). Each error names the
 * file and comes before any allocation. */
#define _DEFAULT_SOURCE /* symlink, mkfifo */
#include "ns_test.h"
#include "data/data_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* An IDX header: magic 0x0000080N and the sizes, big-endian; returns bytes. */
static size_t idx_header_bytes(uint8_t *buf, int ndim, const uint32_t *dims)
{
    buf[0] = buf[1] = 0;
    buf[2] = 8;
    buf[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) buf[4 + 4 * i + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
    return 4 + 4 * (size_t)ndim;
}

/* A gzip file holding an IDX header and `n` payload bytes of value 1. */
static void write_gz_idx(const char *path, int ndim, const uint32_t *dims, size_t n)
{
    uint8_t hdr[16], payload[4096];
    memset(payload, 1, sizeof payload);
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_gt(gzwrite(g, hdr, (unsigned)idx_header_bytes(hdr, ndim, dims)), 0);
    for (size_t done = 0; done < n; done += sizeof payload) {
        unsigned k = (unsigned)(n - done < sizeof payload ? n - done : sizeof payload);
        ck_assert_int_eq(gzwrite(g, payload, k), (int)k);
    }
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static void assert_msg(ns_status st, ns_status want, const char *a, const char *b)
{
    ck_assert_msg(st == want, "status %s (%s)", ns_status_name(st), ns_error_msg());
    ck_assert_msg(strstr(ns_error_msg(), a), "message '%s' lacks '%s'", ns_error_msg(), a);
    if (b) ck_assert_msg(strstr(ns_error_msg(), b), "message '%s' lacks '%s'", ns_error_msg(), b);
}

/* Runs in Check's fork mode with its 4 s timeout: a blocking open fails it. */
START_TEST(fifo_is_not_a_regular_file)
{
    const char *dir = ns_test_tmpdir("hostile");
    char path[600];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ns_idx_header h;
    assert_msg(ns_idx_read_header(path, 3, &h), NS_ERR_IO, path, "not a regular file");
    uint8_t *data = NULL;
    assert_msg(ns_idx_read(path, 3, &h, &data, NULL), NS_ERR_IO, path, "not a regular file");
    ck_assert_ptr_null(data);
    size_t n = 0;
    assert_msg(ns_cifar_count(path, &n), NS_ERR_IO, path, "not a regular file");
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(symlink_loop_is_named_not_missing)
{
    const char *dir = ns_test_tmpdir("hostile");
    char path[600], spec[700];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    ck_assert_int_eq(symlink(path, path), 0); /* points at itself */
    snprintf(spec, sizeof spec, "mnist:%s", dir);
    ns_data_spec s;
    ck_assert_int_eq(ns_data_spec_parse(spec, &s), NS_OK);
    ns_dataset_info info;
    assert_msg(ns_idx_info(&s, &info), NS_ERR_IO, "train-images-idx3-ubyte",
               "Too many levels of symbolic links");
    ns_idx_header h;
    assert_msg(ns_idx_read_header(path, 3, &h), NS_ERR_IO, path, "symbolic links");
    size_t n = 0;
    assert_msg(ns_cifar_count(path, &n), NS_ERR_IO, path, "symbolic links");
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(gzip_header_over_the_cap)
{
    const char *dir = ns_test_tmpdir("hostile");
    char path[600];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    uint32_t dims[3] = {10000000u, 28, 28}; /* 7.84 GB */
    write_gz_idx(path, 3, dims, 0);
    ns_idx_header h;
    assert_msg(ns_idx_read_header(path, 3, &h), NS_ERR_FORMAT, path, "the cap on one IDX file");
    uint8_t *data = NULL;
    assert_msg(ns_idx_read(path, 3, &h, &data, NULL), NS_ERR_FORMAT, path, "corrupt header");
    ck_assert_ptr_null(data);
    ns_test_rmtree(dir);
}
END_TEST

/* Under the cap but far more than the stream holds: refused from the file's
 * compressed size at validation, not found truncated after allocating. */
START_TEST(gzip_header_beyond_what_the_stream_can_hold)
{
    const char *dir = ns_test_tmpdir("hostile");
    char path[600];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    uint32_t dims[3] = {1000000u, 28, 28}; /* 784 MB announced, 8 KiB written */
    write_gz_idx(path, 3, dims, 8192);
    ns_idx_header h;
    assert_msg(ns_idx_read_header(path, 3, &h), NS_ERR_FORMAT, path, "decodes to at most");
    /* an honest file just under the bound still reads: 1 MB of ones */
    uint32_t ok[3] = {1000u, 32, 32};
    write_gz_idx(path, 3, ok, 1000u * 32 * 32);
    ck_assert_int_eq(ns_idx_read_header(path, 3, &h), NS_OK);
    uint8_t *data = NULL;
    ck_assert_int_eq(ns_idx_read(path, 3, &h, &data, NULL), NS_OK);
    ck_assert_int_eq(data[0], 1);
    ck_assert_int_eq(data[h.count - 1], 1);
    free(data);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("data_hostile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fifo_is_not_a_regular_file);
    tcase_add_test(tc, symlink_loop_is_named_not_missing);
    tcase_add_test(tc, gzip_header_over_the_cap);
    tcase_add_test(tc, gzip_header_beyond_what_the_stream_can_hold);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(hostile_suite(), argc, argv); }
