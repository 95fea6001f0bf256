/* commands.c - the table of subcommands main() dispatches to.
 * Only commands that exist are listed: --help never advertises a stub. */
#include "normsweep/cli.h"

#include <stddef.h>

const ns_command ns_commands[] = {
    {"bench", "measure speed: sgemm GFLOP/s, or training images/s of a net", ns_cmd_bench},
    {NULL, NULL, NULL},
};
