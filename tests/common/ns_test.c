/* ns_test.c - see ns_test.h. */
#define _GNU_SOURCE
#include "ns_test.h"

#include "normsweep/blas.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ns_test_main(Suite *s, int argc, char **argv)
{
    ns_blas_bootstrap(argc, argv); /* same BLAS kernel as the program */
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

int ns_test_main_mpi(Suite *s, int argc, char **argv)
{
    ns_blas_bootstrap(argc, argv);
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
    int failed = srunner_ntests_failed(sr), total = 0;
    srunner_free(sr);
    MPI_Allreduce(&failed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && total != failed)
        printf("failures on other ranks: %d\n", total - failed);
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}

const char *ns_test_tmpdir(const char *tag)
{
    static char buf[8][512];
    static int slot = 0;
    char *b = buf[slot++ % 8];
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    snprintf(b, 512, "%s/ns_test_%s_XXXXXX", base, tag ? tag : "t");
    if (!mkdtemp(b)) {
        perror("mkdtemp");
        abort();
    }
    return b;
}

void ns_test_rmtree(const char *path)
{
    char cmd[1200];
    if (!path || strlen(path) < 8) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

int ns_test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int ns_test_rel_close(double a, double b, double tol, double floor)
{
    if (isnan(a) || isnan(b)) return 0;
    if (isinf(a) || isinf(b)) return a == b;
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (m < floor) m = floor;
    return fabs(a - b) <= tol * m;
}
