/* commands.c - the table of subcommands main() dispatches to.
 * Only commands that exist are listed: --help never advertises a stub. */
#include "normsweep/cli.h"

#include <stddef.h>

const ns_command ns_commands[] = {
    {"run", "run a sweep file with all MPI ranks into one HDF5 file (resumable)", ns_cmd_run},
    {"plan", "validate a sweep file and print its runs with estimated costs", ns_cmd_plan},
    {"status", "summarise a results file: counts by status, per-run progress", ns_cmd_status},
    {"merge", "join the shard files of one sweep (run --shard I/N) into one", ns_cmd_merge},
    {"bench", "measure speed: sgemm GFLOP/s, or training images/s of a net", ns_cmd_bench},
    {NULL, NULL, NULL},
};
