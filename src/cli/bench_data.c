/* bench_data.c - placeholder until the module it measures exists: says so. */
#include "normsweep/cli.h"
#include "normsweep/error.h"

#include <stdio.h>

int ns_bench_data(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "normsweep bench: --data is not available in this build yet\n");
    return NS_EXIT_FAIL;
}
