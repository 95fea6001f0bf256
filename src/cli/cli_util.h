/* cli_util.h - small helpers the subcommands share: a table-driven parser for
 * "--name value" options and a median. Internal to src/cli/. */
#ifndef NS_CLI_UTIL_H
#define NS_CLI_UTIL_H

#include "normsweep/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* NS_OPT_COUNT: an int >= 1 (batch, steps, repetitions). */
typedef enum { NS_OPT_STR, NS_OPT_INT, NS_OPT_COUNT, NS_OPT_U64, NS_OPT_DOUBLE } ns_opt_type;

typedef struct ns_opt {
    const char *name; /* "--batch" */
    ns_opt_type type;
    void *dst;        /* const char **, int * (INT, COUNT), uint64_t *, double * */
} ns_opt;

/* Parse argv[1..argc) as "--name value" pairs into the table. Words listed in
 * `flags` (NULL-terminated, may be NULL) are skipped (e.g. the "--probe" that
 * chose the subcommand). Returns 0 on success, -1 after printing usage for
 * --help, or 2 (NS_EXIT_USAGE) after printing one line naming the offending
 * word ("<who>: --batch 'x' is not a number", "<who>: --reps '-5' must be at
 * least 1" for a COUNT). Integers are whole numbers only ("1.5", "2junk" are refused); a
 * U64 takes no sign. */
int ns_cli_parse_opts(int argc, char **argv, const ns_opt *opts, int nopts,
                      const char *const *flags, const char *who, void (*usage)(FILE *));

/* Option `name` ("--output") at argv[*i], as "--output VALUE" or
 * "--output=VALUE": sets *value, leaves *i on the last word it used and
 * returns 1. Returns 0 when argv[*i] is another word; -1 after printing
 * "<who>: --output needs a value" when the value is missing. */
int ns_cli_value(int argc, char **argv, int *i, const char *name, const char **value,
                 const char *who);

/* A whole decimal number in [min, max], nothing before or after it: "1.5",
 * "2junk", "", "-5" with min 1 are refused (returns 0), else *out is set and 1
 * is returned. */
int ns_cli_long(const char *s, long min, long max, long *out);

/* snprintf into a path buffer of cap bytes, refusing to cut: NS_ERR_ARG
 * "<what> would be N characters, more than the M a path may have: <start>..."
 * when the result does not fit (the buffer then holds "" ). */
ns_status ns_cli_path(char *buf, size_t cap, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* `path` must be absent or of the kind `want` (NS_REGULAR_FILE,
 * NS_DIRECTORY): stat follows links, so a FIFO, a socket or a symlink loop is
 * refused (NS_ERR_ARG), named by `role`. *exists: 1 when present. */
enum { NS_REGULAR_FILE, NS_DIRECTORY };
ns_status ns_cli_stat_as(const char *path, int want, const char *role, int *exists);

/* Remove the run checkpoints (run_NNNNN.ckpt and their .tmp) in dir; other
 * files are not ours and stay. Returns the number of entries left (0: dir is
 * empty or absent). */
int ns_cli_clear_checkpoints(const char *dir);

/* Median of v[0..n) (sorts v in place); n >= 1. */
double ns_median(double *v, int n);

#endif
