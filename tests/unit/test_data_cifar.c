/* test_data_cifar.c - CIFAR-10 binary reader on generated files in the exact
 * layout (1 label byte, then R, G, B planes of 32x32): values, plane order,
 * per-channel statistics, the cifar-10-batches-bin/ parent, and errors
 * (size not a multiple of 3073, missing file, label out of range, empty). */
#include "ns_test.h"
#include "data/data_internal.h"
#include "data_expect.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REC 3073
#define PLANE 1024

/* Record r of file f: label (f + r) % 10; pixel (c, j) = (37 f + 11 r + 50 c + j) % 256,
 * so each plane has its own values and plane order is checkable. */
static uint8_t label_of(int f, int r) { return (uint8_t)((f + r) % 10); }
static uint8_t pixel_of(int f, int r, int c, int j) { return (uint8_t)((37 * f + 11 * r + 50 * c + j) % 256); }

static int nrec(int f) { return f < 5 ? 2 : 3; } /* files 0..4 train, 5 test */

static void file_name(char *path, size_t cap, const char *dir, int f)
{
    if (f < 5) snprintf(path, cap, "%s/data_batch_%d.bin", dir, f + 1);
    else snprintf(path, cap, "%s/test_batch.bin", dir);
}

static void make_set(const char *dir)
{
    uint8_t buf[3 * REC];
    char path[600];
    for (int f = 0; f < 6; f++) {
        for (int r = 0; r < nrec(f); r++) {
            uint8_t *rec = buf + r * REC;
            rec[0] = label_of(f, r);
            for (int c = 0; c < 3; c++)
                for (int j = 0; j < PLANE; j++) rec[1 + c * PLANE + j] = pixel_of(f, r, c, j);
        }
        file_name(path, sizeof path, dir, f);
        ck_assert_int_eq(ns_test_write_file(path, buf, (size_t)nrec(f) * REC), 0);
    }
}

static char spec_buf[700];
static const char *cifar_spec(const char *dir)
{
    snprintf(spec_buf, sizeof spec_buf, "cifar10:%s", dir);
    return spec_buf;
}

START_TEST(values_planes_and_stats)
{
    const char *dir = ns_test_tmpdir("cifar");
    make_set(dir);
    ns_dataset *d = NULL;
    ck_assert_int_eq(ns_dataset_load(cifar_spec(dir), 0, &d), NS_OK);
    ck_assert_int_eq(d->info.shape.c, 3);
    ck_assert_int_eq(d->info.shape.h, 32);
    ck_assert_int_eq(d->info.shape.w, 32);
    ck_assert_uint_eq(d->info.n_train, 10);
    ck_assert_uint_eq(d->info.n_test, 3);
    ck_assert_int_eq(d->info.nclasses, 10);
    ck_assert_str_eq(d->info.kind, "cifar10");
    ck_assert_uint_eq(d->file_bytes, 13 * REC);
    ck_assert_uint_eq(d->raw_bytes, 13 * REC);
    /* per-channel stats over the 10 train records, by hand */
    for (int c = 0; c < 3; c++) {
        double s = 0, ss = 0;
        for (int f = 0; f < 5; f++)
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < PLANE; j++) s += pixel_of(f, r, c, j) / 255.0;
        double m = s / (10.0 * PLANE);
        for (int f = 0; f < 5; f++)
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < PLANE; j++) {
                    double v = pixel_of(f, r, c, j) / 255.0 - m;
                    ss += v * v;
                }
        ns_assert_close(d->mean[c], m, 1e-7);
        ns_assert_close(d->std[c], sqrt(ss / (10.0 * PLANE)), 1e-7);
    }
    /* train sample i = record i%2 of file i/2, in file order */
    for (int i = 0; i < 10; i++) {
        int f = i / 2, r = i % 2;
        ck_assert_int_eq(d->y_train[i], label_of(f, r));
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < PLANE; j += 97)
                ck_assert_float_eq(d->x_train[(size_t)i * 3 * PLANE + c * PLANE + j],
                                   (float)((pixel_of(f, r, c, j) / 255.0 - d->mean[c]) / d->std[c]));
    }
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(d->y_test[r], label_of(5, r));
        ck_assert_float_eq(d->x_test[(size_t)r * 3 * PLANE + 2 * PLANE + 5],
                           (float)((pixel_of(5, r, 2, 5) / 255.0 - d->mean[2]) / d->std[2]));
    }
    ns_dataset_free(d);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(parent_directory_and_info)
{
    const char *top = ns_test_tmpdir("cifarp");
    char inner[600];
    snprintf(inner, sizeof inner, "%s/cifar-10-batches-bin", top);
    ck_assert_int_eq(mkdir(inner, 0755), 0);
    make_set(inner);
    ns_dataset_info info;
    ck_assert_int_eq(ns_dataset_info_get(cifar_spec(top), &info), NS_OK);
    char want[700];
    snprintf(want, sizeof want, "cifar10:%s", inner);
    ck_assert_str_eq(info.canonical, want);
    ck_assert_uint_eq(info.n_train, 10);
    ck_assert_uint_eq(info.n_test, 3);
    ns_test_rmtree(top);
}
END_TEST

START_TEST(size_not_multiple)
{
    const char *dir = ns_test_tmpdir("cifars");
    make_set(dir);
    char path[600];
    file_name(path, sizeof path, dir, 2);
    uint8_t buf[2 * REC - 100];
    memset(buf, 1, sizeof buf);
    ck_assert_int_eq(ns_test_write_file(path, buf, sizeof buf), 0);
    expect_fail(cifar_spec(dir), NS_ERR_FORMAT, path, "size 6046 is not a multiple of 3073",
                "record 1 at byte offset 3073 is cut to 2973 bytes", NULL);
    ns_dataset_info info;
    ck_assert_int_eq(ns_dataset_info_get(cifar_spec(dir), &info), NS_ERR_FORMAT);
    ck_assert_int_eq(ns_test_write_file(path, buf, 0), 0);
    expect_fail(cifar_spec(dir), NS_ERR_FORMAT, path, "empty file", NULL);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(missing_file_and_dir)
{
    const char *dir = ns_test_tmpdir("cifarm");
    make_set(dir);
    char path[600];
    file_name(path, sizeof path, dir, 5);
    ck_assert_int_eq(remove(path), 0);
    expect_fail(cifar_spec(dir), NS_ERR_IO, path, "cannot open", NULL);
    expect_fail("cifar10:/nonexistent/cifar", NS_ERR_IO, "/nonexistent/cifar", NULL);
    expect_fail("cifar10", NS_ERR_ARG, "cifar10 needs a directory", NULL);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(label_out_of_range)
{
    const char *dir = ns_test_tmpdir("cifarl");
    make_set(dir);
    char path[600];
    file_name(path, sizeof path, dir, 3);
    uint8_t buf[2 * REC];
    memset(buf, 0, sizeof buf);
    buf[REC] = 200; /* record 1's label */
    ck_assert_int_eq(ns_test_write_file(path, buf, sizeof buf), 0);
    expect_fail(cifar_spec(dir), NS_ERR_FORMAT, path, "label 200 of record 1",
                "byte offset 3073", "out of range 0..9", NULL);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *cifar_suite(void)
{
    Suite *s = suite_create("data_cifar");
    TCase *tc = tcase_create("cifar");
    tcase_add_test(tc, values_planes_and_stats);
    tcase_add_test(tc, parent_directory_and_info);
    tcase_add_test(tc, size_not_multiple);
    tcase_add_test(tc, missing_file_and_dir);
    tcase_add_test(tc, label_out_of_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(cifar_suite(), argc, argv); }
