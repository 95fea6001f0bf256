/* test_mpi_smoke.c - the MPI test harness itself works: every rank runs the
 * suite, results are combined, and ranks agree on a reduction.
 * ctest-ranks: 2 3 */
#include "ns_test.h"

#include <mpi.h>

START_TEST(allreduce_sums_ranks)
{
    int rank, size, sum = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ck_assert_int_ge(size, 2);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    ck_assert_int_eq(sum, size * (size - 1) / 2);
}
END_TEST

static Suite *smoke_suite(void)
{
    Suite *s = suite_create("mpi_smoke");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, allreduce_sums_ranks);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main_mpi(smoke_suite(), argc, argv); }
