/* test_data_idx.c - IDX reader on generated MNIST-layout directories, plain and
 * gzip: exact values after standardization, and every bad-input error path
 * (missing dir/file, wrong magic, truncation, count mismatch, label range,
 * corrupt gzip, trailing data, absurd header); the pad=P option (values of
 * the padded images, its spelling and errors). */
#include "ns_test.h"
#include "data/data_internal.h"
#include "data_expect.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define H 4
#define W 3
#define NTR 5
#define NTE 3

static uint8_t pixel(int split, int i, int j) { return (uint8_t)((split * 101 + i * 37 + j * 11) % 256); }
static uint8_t label(int split, int i) { return (uint8_t)((split * 3 + i * 7) % 10); }

/* Serialize an IDX file: magic 0x0000080N, dims, payload. */
static size_t idx_bytes(uint8_t *buf, int ndim, const uint32_t *dims, const uint8_t *payload,
                        size_t n)
{
    buf[0] = buf[1] = 0;
    buf[2] = 8;
    buf[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) buf[4 + 4 * i + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
    if (n) memcpy(buf + 4 + 4 * ndim, payload, n);
    return 4 + 4 * (size_t)ndim + n;
}

static void write_gz(const char *path, const uint8_t *data, size_t n)
{
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, data, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static void write_any(const char *path, const uint8_t *data, size_t n, int gz)
{
    if (gz) write_gz(path, data, n);
    else ck_assert_int_eq(ns_test_write_file(path, data, n), 0);
}

/* Replace dir/name (".gz" appended when gz) by an IDX file with these dims and
 * payload; the file's path is left in path (for the expected error message). */
static void replace_idx(char *path, size_t pathsz, const char *dir, const char *name, int gz,
                        int ndim, const uint32_t *dims, const uint8_t *payload, size_t n)
{
    uint8_t buf[256];
    ck_assert_uint_le(4 + 4 * (size_t)ndim + n, sizeof buf);
    snprintf(path, pathsz, "%s/%s%s", dir, name, gz ? ".gz" : "");
    write_any(path, buf, idx_bytes(buf, ndim, dims, payload, n), gz);
}

/* Write the 4 files of a tiny MNIST-layout set into dir. */
static void make_set(const char *dir, int gz)
{
    static const char *pre[2] = {"train", "t10k"};
    int n[2] = {NTR, NTE};
    uint8_t buf[4096], px[NTR * H * W], lab[NTR];
    char path[600];
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < n[s]; i++) {
            lab[i] = label(s, i);
            for (int j = 0; j < H * W; j++) px[i * H * W + j] = pixel(s, i, j);
        }
        uint32_t di[3] = {(uint32_t)n[s], H, W}, dl[1] = {(uint32_t)n[s]};
        size_t m = idx_bytes(buf, 3, di, px, (size_t)n[s] * H * W);
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, pre[s], gz ? ".gz" : "");
        write_any(path, buf, m, gz);
        m = idx_bytes(buf, 1, dl, lab, (size_t)n[s]);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, pre[s], gz ? ".gz" : "");
        write_any(path, buf, m, gz);
    }
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n + 1);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static char spec_buf[700];
static const char *mnist_spec(const char *dir)
{
    snprintf(spec_buf, sizeof spec_buf, "mnist:%s", dir);
    return spec_buf;
}

START_TEST(plain_values_exact)
{
    const char *dir = ns_test_tmpdir("idx");
    make_set(dir, 0);
    ns_dataset *d = NULL;
    ck_assert_int_eq(ns_dataset_load(mnist_spec(dir), 0, &d), NS_OK);
    ck_assert_int_eq(d->info.shape.c, 1);
    ck_assert_int_eq(d->info.shape.h, H);
    ck_assert_int_eq(d->info.shape.w, W);
    ck_assert_uint_eq(d->info.n_train, NTR);
    ck_assert_uint_eq(d->info.n_test, NTE);
    ck_assert_int_eq(d->info.nclasses, 10);
    ck_assert_ptr_null(d->t_train);
    ck_assert_int_eq(d->standardized, 1);
    /* mean / population std of u/255 over the train split, by hand */
    double s = 0, ss = 0;
    for (int i = 0; i < NTR; i++)
        for (int j = 0; j < H * W; j++) s += pixel(0, i, j) / 255.0;
    double m = s / (NTR * H * W);
    for (int i = 0; i < NTR; i++)
        for (int j = 0; j < H * W; j++) ss += (pixel(0, i, j) / 255.0 - m) * (pixel(0, i, j) / 255.0 - m);
    double sd = sqrt(ss / (NTR * H * W));
    ns_assert_close(d->mean[0], m, 1e-7);
    ns_assert_close(d->std[0], sd, 1e-7);
    for (int i = 0; i < NTR; i++) {
        ck_assert_int_eq(d->y_train[i], label(0, i));
        for (int j = 0; j < H * W; j++)
            ck_assert_float_eq(d->x_train[i * H * W + j],
                               (float)((pixel(0, i, j) / 255.0 - d->mean[0]) / d->std[0]));
    }
    for (int i = 0; i < NTE; i++) {
        ck_assert_int_eq(d->y_test[i], label(1, i));
        for (int j = 0; j < H * W; j++) /* test split uses the TRAIN statistics */
            ck_assert_float_eq(d->x_test[i * H * W + j],
                               (float)((pixel(1, i, j) / 255.0 - d->mean[0]) / d->std[0]));
    }
    ck_assert_uint_eq(d->raw_bytes, (NTR + NTE) * (H * W + 1));
    ck_assert_uint_eq(d->file_bytes, 2 * 16 + 2 * 8 + (NTR + NTE) * (H * W + 1));
    ns_dataset_free(d);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(gzip_equals_plain_and_info)
{
    char plain[512], gz[512];
    snprintf(plain, sizeof plain, "%s", ns_test_tmpdir("idxp"));
    snprintf(gz, sizeof gz, "%s", ns_test_tmpdir("idxg"));
    make_set(plain, 0);
    make_set(gz, 1);
    ns_dataset *a = NULL, *b = NULL;
    ck_assert_int_eq(ns_dataset_load(mnist_spec(plain), 0, &a), NS_OK);
    ck_assert_int_eq(ns_dataset_load(mnist_spec(gz), 0, &b), NS_OK);
    ck_assert_mem_eq(a->x_train, b->x_train, NTR * H * W * sizeof(float));
    ck_assert_mem_eq(a->x_test, b->x_test, NTE * H * W * sizeof(float));
    ck_assert_mem_eq(a->y_train, b->y_train, NTR * sizeof(int32_t));
    ck_assert_mem_eq(a->y_test, b->y_test, NTE * sizeof(int32_t));
    ck_assert_uint_eq(a->raw_bytes, b->raw_bytes);
    /* headers-only info agrees with the load */
    ns_dataset_info info;
    ck_assert_int_eq(ns_dataset_info_get(mnist_spec(gz), &info), NS_OK);
    ck_assert_uint_eq(info.n_train, NTR);
    ck_assert_uint_eq(info.n_test, NTE);
    ck_assert_int_eq(info.shape.h, H);
    ck_assert_int_eq(info.shape.w, W);
    ck_assert_str_eq(info.kind, "idx");
    ck_assert_str_eq(info.canonical, b->info.canonical);
    ck_assert_int_eq(info.seeded, 0);
    /* canonical: the resolved absolute directory, trailing slash or not */
    char spec2[600], want[600];
    snprintf(spec2, sizeof spec2, "kmnist:%s/", gz);
    ck_assert_int_eq(ns_dataset_info_get(spec2, &info), NS_OK);
    snprintf(want, sizeof want, "kmnist:%s", gz);
    ck_assert_str_eq(info.canonical, want);
    ns_dataset_free(a);
    ns_dataset_free(b);
    ns_test_rmtree(plain);
    ns_test_rmtree(gz);
}
END_TEST

START_TEST(missing_dir_and_file)
{
    expect_fail("mnist:/nonexistent/ns_data_dir", NS_ERR_IO, "/nonexistent/ns_data_dir",
                "No such file", NULL);
    expect_fail("mnist", NS_ERR_ARG, "mnist needs a directory", NULL);
    const char *dir = ns_test_tmpdir("idxm");
    make_set(dir, 1);
    char path[600];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    ck_assert_int_eq(remove(path), 0);
    expect_fail(mnist_spec(dir), NS_ERR_IO, "t10k-labels-idx1-ubyte", "neither", NULL);
    ns_dataset_info info;
    ck_assert_int_eq(ns_dataset_info_get(mnist_spec(dir), &info), NS_ERR_IO);
    /* a file given where a directory is expected */
    snprintf(path, sizeof path, "mnist:%s/train-images-idx3-ubyte.gz", dir);
    expect_fail(path, NS_ERR_IO, "not a directory", NULL);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(wrong_magic)
{
    const char *dir = ns_test_tmpdir("idxw");
    make_set(dir, 0);
    char path[600];
    /* an images file (idx3) where the labels file (idx1) belongs */
    uint8_t px[2 * 2 * 2] = {0};
    uint32_t dims[3] = {2, 2, 2};
    replace_idx(path, sizeof path, dir, "train-labels-idx1-ubyte", 0, 3, dims, px, sizeof px);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "wrong magic number 0x00000803",
                "byte offset 0", "expected 0x00000801", NULL);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(truncated_plain_and_gzip)
{
    const char *dir = ns_test_tmpdir("idxt");
    make_set(dir, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    size_t n;
    char *b = read_all(path, &n);
    ck_assert_int_eq(ns_test_write_file(path, b, n - 5), 0); /* 5 pixel bytes short */
    char want[64];
    snprintf(want, sizeof want, "the file ends at byte offset %zu", n - 5);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "truncated", "(60 bytes from byte offset 16)",
                want, NULL);
    /* cut inside the header */
    ck_assert_int_eq(ns_test_write_file(path, b, 10), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "truncated",
                "ends at byte offset 10, expected the dimension sizes (12 bytes from byte offset 4)",
                NULL);
    free(b);
    ns_test_rmtree(dir);

    /* gzip: the compressed stream is cut in half */
    dir = ns_test_tmpdir("idxtg");
    make_set(dir, 1);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    b = read_all(path, &n);
    ck_assert_int_eq(ns_test_write_file(path, b, n / 2), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "truncated",
                "the gzip stream ends at decoded byte offset", NULL);
    /* only the 8-byte gzip trailer (CRC, length) is missing */
    ck_assert_int_eq(ns_test_write_file(path, b, n - 8), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "truncated", "gzip trailer", NULL);
    free(b);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(count_mismatch)
{
    const char *dir = ns_test_tmpdir("idxc");
    make_set(dir, 0);
    char path[600];
    uint8_t lab[NTE - 1] = {1, 2};
    uint32_t dims[1] = {NTE - 1};
    replace_idx(path, sizeof path, dir, "t10k-labels-idx1-ubyte", 0, 1, dims, lab, sizeof lab);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "has 2 labels", "has 3 images",
                "counts must match", NULL);
    ns_dataset_info info;
    ck_assert_int_eq(ns_dataset_info_get(mnist_spec(dir), &info), NS_ERR_FORMAT);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(label_out_of_range)
{
    const char *dir = ns_test_tmpdir("idxl");
    make_set(dir, 1);
    char path[600];
    uint8_t lab[NTR] = {0, 1, 10, 3, 4};
    uint32_t dims[1] = {NTR};
    replace_idx(path, sizeof path, dir, "train-labels-idx1-ubyte", 1, 1, dims, lab, sizeof lab);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "label 10 of sample 2",
                "byte offset 10", "out of range 0..9", NULL);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(corrupt_gzip)
{
    const char *dir = ns_test_tmpdir("idxz");
    make_set(dir, 1);
    char path[600];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    size_t n;
    char *orig = read_all(path, &n);
    char *b = malloc(n);
    /* byte 10 starts the deflate data (gzopen writes a 10-byte header): block
     * type bits 11 are invalid in every deflate stream */
    memcpy(b, orig, n);
    b[10] |= 0x06;
    ck_assert_int_eq(ns_test_write_file(path, b, n), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "corrupt gzip stream", "decoded byte offset",
                "compressed byte offset", "invalid block type", NULL);
    /* a wrong CRC-32 in the trailer: all data inflates, the check fails */
    memcpy(b, orig, n);
    b[n - 8] ^= 0x5a;
    ck_assert_int_eq(ns_test_write_file(path, b, n), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "corrupt gzip stream", "incorrect data check",
                NULL);
    free(b);
    free(orig);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(trailing_data_and_absurd_header)
{
    const char *dir = ns_test_tmpdir("idxx");
    make_set(dir, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    size_t n;
    char *b = read_all(path, &n);
    char *c = malloc(n + 3);
    memcpy(c, b, n);
    memset(c + n, 7, 3);
    ck_assert_int_eq(ns_test_write_file(path, c, n + 3), 0);
    char want[64];
    snprintf(want, sizeof want, "byte offset %zu", n);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "unexpected data after", want, NULL);
    /* 2^32-1 cubed bytes must be refused before any allocation */
    uint8_t hdr[16];
    uint32_t dims[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    idx_bytes(hdr, 3, dims, NULL, 0);
    ck_assert_int_eq(ns_test_write_file(path, hdr, 16), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "corrupt header", NULL);
    /* a zero dimension */
    dims[0] = 3; dims[1] = 0; dims[2] = 3;
    idx_bytes(hdr, 3, dims, NULL, 0);
    ck_assert_int_eq(ns_test_write_file(path, hdr, 16), 0);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "dimension 1 is 0", NULL);
    free(b);
    free(c);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(image_size_mismatch_between_splits)
{
    const char *dir = ns_test_tmpdir("idxs");
    make_set(dir, 0);
    char path[600];
    uint8_t px[NTE * 3 * 3] = {0};
    uint32_t dims[3] = {NTE, 3, 3};
    replace_idx(path, sizeof path, dir, "t10k-images-idx3-ubyte", 0, 3, dims, px, sizeof px);
    expect_fail(mnist_spec(dir), NS_ERR_FORMAT, path, "images are 3x3", "4x3", NULL);
    ns_test_rmtree(dir);
}
END_TEST

/* pad=P: the image in the middle, exactly the unpadded standardized values;
 * exactly 0 in a P-pixel border; statistics from the unpadded pixels. */
START_TEST(padded_values_exact)
{
    const char *dir = ns_test_tmpdir("idxpad");
    make_set(dir, 1);
    char spec[700];
    snprintf(spec, sizeof spec, "mnist:%s,pad=2", dir);
    ns_dataset *p = NULL, *u = NULL;
    ck_assert_int_eq(ns_dataset_load(spec, 0, &p), NS_OK);
    ck_assert_int_eq(ns_dataset_load(mnist_spec(dir), 0, &u), NS_OK);
    const int HP = H + 4, WP = W + 4;
    ck_assert_int_eq(p->info.shape.c, 1);
    ck_assert_int_eq(p->info.shape.h, HP);
    ck_assert_int_eq(p->info.shape.w, WP);
    ck_assert_float_eq(p->mean[0], u->mean[0]);
    ck_assert_float_eq(p->std[0], u->std[0]);
    ck_assert_uint_eq(p->raw_bytes, u->raw_bytes);
    ck_assert_uint_eq(ns_dataset_memory(p), (NTR + NTE) * (HP * WP * 4 + 4) + 8);
    for (int split = 0; split < 2; split++) {
        int n = split ? NTE : NTR;
        const float *xp = split ? p->x_test : p->x_train, *xu = split ? u->x_test : u->x_train;
        for (int i = 0; i < n; i++)
            for (int y = 0; y < HP; y++)
                for (int x = 0; x < WP; x++) {
                    float got = xp[(i * HP + y) * WP + x];
                    int in = y >= 2 && y < 2 + H && x >= 2 && x < 2 + W;
                    float want = in ? (float)((pixel(split, i, (y - 2) * W + x - 2) / 255.0 -
                                               u->mean[0]) / u->std[0])
                                    : 0.0f;
                    ck_assert_msg(got == want, "split %d sample %d (%d,%d): %g, want %g", split,
                                  i, y, x, got, want);
                    if (in) ck_assert_float_eq(got, xu[(i * H + y - 2) * W + x - 2]);
                }
    }
    /* headers-only info reports the padded shape (the net's input) */
    ns_dataset_info info;
    ck_assert_int_eq(ns_dataset_info_get(spec, &info), NS_OK);
    ck_assert_int_eq(info.shape.h, HP);
    ck_assert_int_eq(info.shape.w, WP);
    ns_dataset_free(p);
    ns_dataset_free(u);
    ns_test_rmtree(dir);
}
END_TEST

static void pad_canon_is(const char *spec, const char *want)
{
    ns_dataset_info info;
    ck_assert_msg(ns_dataset_info_get(spec, &info) == NS_OK, "%s: %s", spec, ns_error_msg());
    ck_assert_str_eq(info.canonical, want);
}

START_TEST(pad_spelling_and_errors)
{
    const char *dir = ns_test_tmpdir("idxpad2");
    make_set(dir, 0);
    char spec[700], want[700];
    snprintf(spec, sizeof spec, "mnist:%s/,pad=3", dir);
    snprintf(want, sizeof want, "mnist:%s,pad=3", dir);
    pad_canon_is(spec, want);
    pad_canon_is(want, want); /* the canonical spelling parses to itself */
    snprintf(spec, sizeof spec, "mnist:%s,pad=0", dir);
    pad_canon_is(spec, mnist_spec(dir)); /* pad=0 is no padding: the old spelling */
    snprintf(spec, sizeof spec, "mnist:%s,pad=-1", dir);
    expect_fail(spec, NS_ERR_ARG, "pad=-1 is out of range [0, 256]", NULL);
    snprintf(spec, sizeof spec, "mnist:%s,pad=257", dir);
    expect_fail(spec, NS_ERR_ARG, "pad=257 is out of range", NULL);
    snprintf(spec, sizeof spec, "mnist:%s,pad=2x", dir);
    expect_fail(spec, NS_ERR_ARG, "pad=2x is not an integer", NULL);
    snprintf(spec, sizeof spec, "mnist:%s,pad=1,pad=2", dir);
    expect_fail(spec, NS_ERR_ARG, "key 'pad' given twice", NULL);
    snprintf(spec, sizeof spec, "mnist:%s,crop=2", dir);
    expect_fail(spec, NS_ERR_ARG, "unknown key 'crop' (keys: pad)", NULL);
    expect_fail("mnist:pad=2", NS_ERR_ARG, "mnist needs a directory", NULL);
    expect_fail("synthetic-dln:pad=2", NS_ERR_ARG, "unknown key 'pad'", NULL);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *idx_suite(void)
{
    Suite *s = suite_create("data_idx");
    TCase *tc = tcase_create("idx");
    tcase_add_test(tc, plain_values_exact);
    tcase_add_test(tc, gzip_equals_plain_and_info);
    tcase_add_test(tc, missing_dir_and_file);
    tcase_add_test(tc, wrong_magic);
    tcase_add_test(tc, truncated_plain_and_gzip);
    tcase_add_test(tc, count_mismatch);
    tcase_add_test(tc, label_out_of_range);
    tcase_add_test(tc, corrupt_gzip);
    tcase_add_test(tc, trailing_data_and_absurd_header);
    tcase_add_test(tc, image_size_mismatch_between_splits);
    tcase_add_test(tc, padded_values_exact);
    tcase_add_test(tc, pad_spelling_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(idx_suite(), argc, argv); }
