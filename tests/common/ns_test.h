/* ns_test.h - shared scaffolding for the Check suites in tests/unit and tests/mpi.
 *
 * A unit test file defines its Suite and ends with
 *     int main(int argc, char **argv) { return ns_test_main(my_suite(), argc, argv); }
 * an MPI test file with ns_test_main_mpi(). Both print Check's summary line
 * ("100%: Checks: N, Failures: 0, Errors: 0") and return the exit code.
 */
#ifndef NS_TEST_H
#define NS_TEST_H

#include <check.h>
#include <math.h>
#include <stddef.h>

/* Runs the suite in Check's fork mode (each test isolated). */
int ns_test_main(Suite *s, int argc, char **argv);

/* MPI_Init, runs the suite in CK_NOFORK mode (fork breaks Open MPI), prints
 * from rank 0 only, combines failures over all ranks, MPI_Finalize. */
int ns_test_main_mpi(Suite *s, int argc, char **argv);

/* A fresh empty directory under $TMPDIR (or /tmp), removed by ns_test_rmtree.
 * Returns a static buffer per call slot: copy it if you need several. */
const char *ns_test_tmpdir(const char *tag);
/* rm -rf path (best effort). */
void ns_test_rmtree(const char *path);
/* Write bytes to a file; returns 0 on success. */
int ns_test_write_file(const char *path, const void *data, size_t n);

/* |a - b| <= tol * max(|a|, |b|, floor); NaN never passes. */
int ns_test_rel_close(double a, double b, double tol, double floor);

#define ns_assert_close(a, b, tol)                                                   \
    do {                                                                             \
        double ns_a_ = (double)(a), ns_b_ = (double)(b);                             \
        ck_assert_msg(ns_test_rel_close(ns_a_, ns_b_, (tol), 1e-30),                 \
                      "%s = %.9g vs %s = %.9g (rel tol %g)", #a, ns_a_, #b, ns_b_,   \
                      (double)(tol));                                                \
    } while (0)

/* Same with an absolute floor for values near zero. */
#define ns_assert_close_abs(a, b, tol, floor)                                        \
    do {                                                                             \
        double ns_a_ = (double)(a), ns_b_ = (double)(b);                             \
        ck_assert_msg(ns_test_rel_close(ns_a_, ns_b_, (tol), (floor)),               \
                      "%s = %.9g vs %s = %.9g (rel tol %g, floor %g)", #a, ns_a_, #b, \
                      ns_b_, (double)(tol), (double)(floor));                        \
    } while (0)

#endif
