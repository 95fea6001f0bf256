/* run_args.c - see run_args.h. */
#include "run_args.h"

#include "cli_util.h"

#include "normsweep/run.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: normsweep run SPEC [KEY=VALUE ...] -o OUT [--resume | --force | --extend]\n"
            "                     [--shard I/N] [--progress-every SECONDS] [--rank-timeout SECONDS]\n"
            "                     [--flush-seconds SECONDS] [--checkpoint-seconds SECONDS]\n"
            "                     [--quiet]\n"
            "  Runs every configuration of the sweep file SPEC with all MPI ranks and\n"
            "  writes OUT (HDF5, docs/hdf5-schema.md). Checkpoints go to OUT.ckpt/,\n"
            "  progress to OUT.progress.json.\n"
            "  KEY=VALUE         override the sweep file: train.steps=500, grid.seed=[0,1],\n"
            "                    ~probes (docs/sweep-format.md); recorded in OUT\n"
            "  -o OUT, --output OUT, --output=OUT   the results file (once)\n"
            "  --resume          continue an interrupted sweep in OUT (same spec only)\n"
            "  --force           overwrite an existing OUT\n"
            "  --extend          add the runs SPEC has and OUT lacks (new grid values, more\n"
            "                    seeds or samples); OUT's runs are kept, not run again\n"
            "  --shard I/N       run only runs with index %% N == I (Slurm arrays; then\n"
            "                    `normsweep merge`)\n"
            "  --progress-every SECONDS  progress line interval on rank 0 (default 30;\n"
            "                    0: none)\n"
            "  --rank-timeout SECONDS  a rank silent this long (dead, hung, cut off) stops\n"
            "                    the sweep; after a stop, ranks silent this long are given\n"
            "                    up and the job ends (default 300; docs/coordinator.md)\n"
            "  --flush-seconds SECONDS  write each run's buffered traces to OUT at least\n"
            "                    this often (default 10; 0: every logged step; inf: only\n"
            "                    at checkpoints and the end): readers see live traces, a\n"
            "                    kill loses at most this much of a running run's traces\n"
            "  --checkpoint-seconds SECONDS  checkpoint each run at least this often, besides\n"
            "                    checkpoint.every (default 300; 0: off)\n"
            "  --quiet           no banner or progress lines (OUT.progress.json is kept)\n"
            "exit: 0 complete, 1 a run failed, 2 bad input (nothing written),\n"
            "      3 stopped by a signal (resume with --resume)\n");
}

/* "I/N" with 0 <= I < N, both whole numbers and nothing else. */
static int parse_shard(const char *v, run_opts *o)
{
    char i_part[32];
    const char *slash = strchr(v, '/');
    long i, n;
    if (!slash || (size_t)(slash - v) >= sizeof i_part) return 0;
    memcpy(i_part, v, (size_t)(slash - v));
    i_part[slash - v] = '\0';
    if (!ns_cli_long(slash + 1, 1, INT_MAX, &n) || !ns_cli_long(i_part, 0, n - 1, &i)) return 0;
    o->shard = (int)i;
    o->nshards = (int)n;
    return 1;
}

/* A cadence in seconds: a number >= 0, inf allowed (never). 1 ok, 0 refused
 * after a line naming the option. */
static int seconds_arg(const char *who, const char *opt, const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    if (end != v && !*end && *out >= 0) return 1; /* NaN fails >= 0 */
    fprintf(stderr, "%s: %s needs seconds >= 0 (inf: never), got '%s'\n", who, opt, v);
    return 0;
}

/* One option or argument at argv[*i]: 0 consumed, -1 --help, 2 refused. */
static int parse_one(int argc, char **argv, int *i, run_opts *o)
{
    static const char *const who = "normsweep run";
    static const char *const out_names[] = {"-o", "--out", "--output"};
    const char *a = argv[*i], *v = NULL;
    int r = 0;
    for (int k = 0; k < 3 && r == 0; k++) r = ns_cli_value(argc, argv, i, out_names[k], &v, who);
    if (r == 1) {
        if (o->out || !*v) {
            fprintf(stderr, o->out ? "%s: -o given twice ('%s' and '%s'): one output per run\n"
                                   : "%s: -o needs a file name%s%s\n",
                    who, o->out ? o->out : "", v);
            return 2;
        }
        o->out = v;
    } else if (r == 0 && (r = ns_cli_value(argc, argv, i, "--progress-every", &v, who)) == 1) {
        char *end;
        o->progress_every = strtod(v, &end);
        if (end == v || *end || !isfinite(o->progress_every) || o->progress_every < 0) {
            fprintf(stderr, "%s: --progress-every needs seconds >= 0, got '%s'\n", who, v);
            return 2;
        }
    } else if (r == 0 && (r = ns_cli_value(argc, argv, i, "--rank-timeout", &v, who)) == 1) {
        char *end;
        o->rank_timeout = strtod(v, &end);
        if (end == v || *end || !isfinite(o->rank_timeout) || !(o->rank_timeout > 0)) {
            fprintf(stderr, "%s: --rank-timeout needs seconds > 0, got '%s'\n", who, v);
            return 2;
        }
    } else if (r == 0 && (r = ns_cli_value(argc, argv, i, "--flush-seconds", &v, who)) == 1) {
        if (!seconds_arg(who, "--flush-seconds", v, &o->flush_s)) return 2;
    } else if (r == 0 && (r = ns_cli_value(argc, argv, i, "--checkpoint-seconds", &v, who)) == 1) {
        if (!seconds_arg(who, "--checkpoint-seconds", v, &o->checkpoint_s)) return 2;
    } else if (r == 0 && (r = ns_cli_value(argc, argv, i, "--shard", &v, who)) == 1) {
        if (!parse_shard(v, o)) {
            fprintf(stderr, "%s: --shard needs I/N, whole numbers with 0 <= I < N, got '%s'\n",
                    who, v);
            return 2;
        }
    } else if (r < 0) {
        return 2;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        run_usage(stdout);
        return -1;
    } else if (strcmp(a, "--resume") == 0) {
        o->resume = 1;
    } else if (strcmp(a, "--force") == 0) {
        o->force = 1;
    } else if (strcmp(a, "--extend") == 0) {
        o->extend = 1;
    } else if (strcmp(a, "--quiet") == 0) {
        o->quiet = 1;
    } else if (a[0] == '-' && a[1] != '\0') {
        fprintf(stderr, "%s: unknown option '%s' (see --help)\n", who, a);
        return 2;
    } else if (!o->spec) {
        o->spec = a;
    } else if (ns_spec_is_override(a) && o->noverrides < NS_SPEC_MAX_CLI_OVERRIDES) {
        o->overrides[o->noverrides++] = a;
    } else {
        fprintf(stderr, "%s: unexpected argument '%s' (one SPEC per run)\n", who, a);
        return 2;
    }
    return 0;
}

int ns_run_parse_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nshards = 1;
    o->progress_every = 30.0;
    o->flush_s = NS_RUN_FLUSH_S_DEFAULT;
    o->checkpoint_s = NS_RUN_CHECKPOINT_S_DEFAULT;
    for (int i = 1; i < argc; i++) {
        int r = parse_one(argc, argv, &i, o);
        if (r != 0) return r;
    }
    if (!o->spec || !o->out) {
        fprintf(stderr, "normsweep run: missing %s (see --help)\n",
                !o->spec ? "the sweep file SPEC" : "-o OUT, the results file to write");
        run_usage(stderr);
        return 2;
    }
    if ((o->resume || o->extend) && o->force) {
        fprintf(stderr, "normsweep run: --%s and --force exclude each other\n",
                o->extend ? "extend" : "resume");
        return 2;
    }
    if (o->extend && o->nshards > 1) {
        fprintf(stderr, "normsweep run: --extend and --shard exclude each other (merge the "
                        "shards, then extend the merged file)\n");
        return 2;
    }
    return 0;
}
