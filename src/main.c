/* main.c - the normsweep command line: dispatch to subcommands.
 * Only this file exits; every subcommand returns an NS_EXIT_* code. */
#include "normsweep/blas.h"
#include "normsweep/cli.h"
#include "normsweep/error.h"
#include "normsweep/version.h"

#include <stdio.h>
#include <string.h>

static const ns_command *find_command(const char *name)
{
    for (const ns_command *c = ns_commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: normsweep <command> [options]\n"
               "       normsweep --version | --help\n\n"
               "commands:\n");
    for (const ns_command *c = ns_commands; c->name; c++)
        fprintf(f, "  %-8s %s\n", c->name, c->summary);
    fprintf(f, "\n'normsweep <command> --help' describes a command. docs/cli.md has them all.\n");
}

int main(int argc, char **argv)
{
    /* Before anything else: may re-execute with the right OpenBLAS kernel. */
    ns_blas_bootstrap(argc, argv);
    if (ns_blas_check_env() != NS_OK) {
        fprintf(stderr, "normsweep: %s\n", ns_error_msg());
        return NS_EXIT_USAGE;
    }

    if (argc < 2) {
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        ns_print_version(stdout);
        return NS_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NS_EXIT_OK;
    }
    const ns_command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "normsweep: unknown command '%s' (try 'normsweep --help')\n", argv[1]);
        return NS_EXIT_USAGE;
    }
    return c->main(argc - 1, argv + 1);
}
