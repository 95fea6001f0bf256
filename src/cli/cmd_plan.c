/* cmd_plan.c - `normsweep plan SPEC`: validate a sweep file and print the
 * expanded run table with estimated costs, without running anything.
 *   normsweep plan SPEC [KEY=VALUE ...] [--gflops G] [--ranks R]
 * KEY=VALUE: command-line overrides, as for `run`. A data set whose files
 * are not there yet is a warning: the costs use its published size. Exit 0
 * on a valid spec, 2 (NS_EXIT_USAGE) with every "file:line:col: message" on
 * stderr otherwise. Never creates a file. */
#include "cli_util.h"
#include "normsweep/cli.h"
#include "normsweep/error.h"
#include "normsweep/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Assumed sustained training throughput of one rank (1 core, 1 BLAS thread),
 * GFLOP/s: about what PyTorch reaches on the small nets of docs/benchmarks.md
 * (VGG-11/4 with BN ~57, DLN ~68, MLP ~99). Override with --gflops. */
#define NS_PLAN_DEFAULT_GFLOPS 50.0

static void plan_usage(FILE *f)
{
    fprintf(f, "usage: normsweep plan SPEC.yaml [KEY=VALUE ...] [--gflops G] [--ranks R]\n"
               "  Validate the sweep file and print every run it expands to (index, lr, arch,\n"
               "  norm, seed, varied settings) with its estimated cost, then the total.\n"
               "  KEY=VALUE   override the file (train.steps=500, grid.seed=[0,1], ~probes;\n"
               "              docs/sweep-format.md); a missing data set is a warning here\n"
               "  --gflops G  sustained GFLOP/s of one rank for the time estimate (default %.0f)\n"
               "  --ranks R   also estimate the wall time on R ranks (default 1)\n",
               NS_PLAN_DEFAULT_GFLOPS);
}

static int parse_pos(const char *flag, const char *v, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x > 0) || x > 1e12) {
        fprintf(stderr, "normsweep plan: %s needs a positive number, got '%s'\n", flag, v);
        return 0;
    }
    *out = x;
    return 1;
}

static void print_table(const ns_spec *s, double gflops, double ranks)
{
    int wa = 4, wn = 4;
    for (int i = 0; i < s->nruns; i++) {
        int la = (int)strlen(s->runs[i].arch), ln = (int)strlen(s->runs[i].norm);
        if (la > wa) wa = la;
        if (ln > wn) wn = ln;
    }
    printf("sweep '%s': data %s (%lld train, %lld test, %dx%dx%d, %s %d), %d runs\n", s->name,
           s->data, (long long)s->n_train, (long long)s->n_test, s->in_shape.c, s->in_shape.h,
           s->in_shape.w, s->nclasses > 0 ? "classes" : "target dim",
           s->nclasses > 0 ? s->nclasses : s->target_dim, s->nruns);
    printf("steps %lld; cost = estimated GFLOP (docs/sweep-format.md); seconds at %g GFLOP/s per rank\n",
           (long long)s->base.steps, gflops);
    printf("%5s  %-10s  %-*s  %-*s  %6s  %-20s  %12s  %10s\n", "index", "lr", wa, "arch", wn, "norm",
           "seed", "varied", "GFLOP", "est_s");
    double total = 0, longest = 0, tr = 0, pr = 0, ev = 0;
    for (int i = 0; i < s->nruns; i++) {
        const ns_run_config *r = &s->runs[i];
        ns_run_cost c = ns_plan_run_cost(s, i);
        char varied[128];
        ns_plan_varied_text(s, i, varied, sizeof varied);
        printf("%5d  %-10.4g  %-*s  %-*s  %6llu  %-20s  %12.2f  %10.2f\n", r->index, r->lr, wa,
               r->arch, wn, r->norm, (unsigned long long)r->seed, varied, c.total_gflop,
               c.total_gflop / gflops);
        total += c.total_gflop, tr += c.train_gflop, pr += c.probe_gflop, ev += c.eval_gflop;
        if (c.total_gflop > longest) longest = c.total_gflop;
    }
    double serial = total / gflops;
    /* with R ranks a sweep takes at least total/R and at least its longest run */
    double wall = serial / ranks > longest / gflops ? serial / ranks : longest / gflops;
    printf("total: %d runs, %.2f GFLOP, %.2f s on 1 rank", s->nruns, total, serial);
    if (ranks > 1) printf(", >= %.2f s on %g ranks", wall, ranks);
    printf(" (%.2f h)\n", (ranks > 1 ? wall : serial) / 3600.0);
    printf("GFLOP by part: train %.2f, probes %.2f, eval %.2f\n", tr, pr, ev);
}

int ns_cmd_plan(int argc, char **argv)
{
    const char *path = NULL, *ov[NS_SPEC_MAX_CLI_OVERRIDES];
    ns_spec_options opt = {.overrides = ov, .allow_missing_data = 1};
    double gflops = NS_PLAN_DEFAULT_GFLOPS, ranks = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            plan_usage(stdout);
            return NS_EXIT_OK;
        } else if (!strcmp(argv[i], "--gflops") && i + 1 < argc) {
            if (!parse_pos("--gflops", argv[++i], &gflops)) return NS_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--ranks") && i + 1 < argc) {
            long r = 0; /* a rank count is a whole number: "1.5" is refused */
            if (!ns_cli_long(argv[++i], 1, 1000000000L, &r)) {
                fprintf(stderr, "normsweep plan: --ranks needs a whole number >= 1, got '%s'\n",
                        argv[i]);
                return NS_EXIT_USAGE;
            }
            ranks = (double)r;
        } else if (path && ns_spec_is_override(argv[i]) &&
                   opt.noverrides < NS_SPEC_MAX_CLI_OVERRIDES) {
            ov[opt.noverrides++] = argv[i];
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            fprintf(stderr, "normsweep plan: unexpected argument '%s'\n", argv[i]);
            plan_usage(stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (!path) {
        plan_usage(stderr);
        return NS_EXIT_USAGE;
    }
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_load_opts(path, &opt, &s, &errors);
    if (st != NS_OK) {
        if (errors) fputs(errors, stderr);
        else fprintf(stderr, "%s\n", ns_error_msg());
        free(errors);
        return st == NS_ERR_ARG || st == NS_ERR_IO ? NS_EXIT_USAGE : NS_EXIT_FAIL;
    }
    if (s->warnings) fputs(s->warnings, stderr);
    print_table(s, gflops, ranks);
    ns_spec_free(s);
    return NS_EXIT_OK;
}
