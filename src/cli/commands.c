/* commands.c - the table of subcommands main() dispatches to.
 * Only commands that exist are listed: --help never advertises a stub. */
#include "normsweep/cli.h"

#include <stddef.h>

const ns_command ns_commands[] = {
    {"bench", "measure speed: sgemm GFLOP/s, or training images/s of a net", ns_cmd_bench},
    {"plan", "validate a sweep file and print its runs with estimated costs", ns_cmd_plan},
    {NULL, NULL, NULL},
};
