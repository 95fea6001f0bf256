/* test_checkpoint_h5serial.c - the store's serial path, in a process that
 * never calls MPI_Init (as `normsweep status`, merge and the resume scan do):
 * sec2 create/write/read/reopen round trip, and MPI-IO requests refused with
 * NS_ERR_STATE instead of crashing. Runs leak-checked under the ASan build
 * (MPI tests cannot: Open MPI leaks at finalize). */
#include "ns_test.h"

#include "normsweep/h5store.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static char dir[512], path[700];
static void setup(void)
{
    snprintf(dir, sizeof dir, "%s", ns_test_tmpdir("h5serial"));
    snprintf(path, sizeof path, "%s/s.h5", dir);
}
static void teardown(void) { ns_test_rmtree(dir); }

static const double xs[3] = {0.1, 0.2, 0.4};
static const ns_h5_dim dims[2] = {{"run", 4, NS_H5_I32, NULL, 0, NULL, NULL},
                                  {"x", 3, NS_H5_F64, xs, 0, "1", "x"}};
static const ns_h5_var vars[2] = {{"y", NS_H5_F64, 0, 2, {"run", "x"}, "1", "y", NULL, NULL, NULL},
                                  {"tag", NS_H5_STR, 4, 1, {"run"}, NULL, NULL, NULL, NULL, NULL}};
static const ns_h5_layout L = {dims, 2, vars, 2, NULL, NULL, 0};

START_TEST(serial_roundtrip_without_mpi)
{
    ns_h5 *h = NULL;
    ck_assert_msg(ns_h5_create(path, MPI_COMM_NULL, &L, &h) == NS_OK, "%s", ns_error_msg());
    double row[3] = {1.5, -2.0, 1e300};
    ck_assert_int_eq(ns_h5_write_rows(h, "y", 2, 1, row), NS_OK);
    size_t ix[1] = {1};
    ck_assert_int_eq(ns_h5_write_str(h, "tag", ix, "abcd"), NS_OK); /* full width */
    ck_assert_int_eq(ns_h5_flush(h), NS_OK);
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
    ck_assert_int_eq(ns_h5_open(path, MPI_COMM_NULL, 1, &h), NS_OK); /* resume-style reopen */
    double got[4][3];
    ck_assert_int_eq(ns_h5_read_rows(h, "y", 0, 4, got), NS_OK);
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < 3; k++)
            if (r == 2) ck_assert_double_eq(got[r][k], row[k]);
            else ck_assert(isnan(got[r][k]));
    char tags[4][4];
    ck_assert_int_eq(ns_h5_read_rows(h, "tag", 0, 4, tags), NS_OK);
    ck_assert(memcmp(tags[1], "abcd", 4) == 0);
    ck_assert(memcmp(tags[0], "\0\0\0\0", 4) == 0);
    double x[3];
    ck_assert_int_eq(ns_h5_read_rows(h, "x", 0, 3, x), NS_OK);
    ck_assert(memcmp(x, xs, sizeof x) == 0);
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
    ck_assert_int_eq(ns_h5_close(NULL), NS_OK);
}
END_TEST

START_TEST(mpi_io_without_mpi_init_is_refused)
{
    ns_h5 *h = NULL;
    ck_assert_int_eq(ns_h5_create(path, MPI_COMM_WORLD, &L, &h), NS_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "MPI_Init"));
    ck_assert_int_eq(ns_h5_create(path, MPI_COMM_NULL, &L, &h), NS_OK);
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
    h = NULL;
    ck_assert_int_eq(ns_h5_open(path, MPI_COMM_SELF, 0, &h), NS_ERR_STATE);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "s.h5"));
}
END_TEST

static Suite *serial_suite(void)
{
    Suite *s = suite_create("h5serial");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, serial_roundtrip_without_mpi);
    tcase_add_test(tc, mpi_io_without_mpi_init_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(serial_suite(), argc, argv); }
