/* cmd_status.c - `normsweep status OUT`: what a results file holds, readable
 * while the job runs (the file's metadata never changes after creation, and
 * the serial reader takes no lock). Counts by status, each run's progress,
 * and the coordinator's ETA from OUT.progress.json when it is there. */
#include "normsweep/cli.h"
#include "normsweep/h5store.h"
#include "normsweep/results.h"
#include "normsweep/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row of the run table, as the status listing shows it. */
typedef struct run_row {
    ns_run_status status;
    char arch[NS_RESULTS_ARCH_LEN + 1], norm[NS_RESULTS_NORM_LEN + 1]; /* cells + NUL */
    double lr, test_acc;
    int64_t seed, steps_done, steps;
} run_row;

static ns_status read_row(ns_h5 *h, size_t i, run_row *r)
{
    memset(r, 0, sizeof *r);
    NS_TRY(ns_results_status_in(h, i, &r->status));
    NS_TRY(ns_h5_read_rows(h, "arch", i, 1, r->arch));
    NS_TRY(ns_h5_read_rows(h, "norm", i, 1, r->norm));
    NS_TRY(ns_h5_read_rows(h, "lr", i, 1, &r->lr));
    NS_TRY(ns_h5_read_rows(h, "seed", i, 1, &r->seed));
    NS_TRY(ns_h5_read_rows(h, "steps_done", i, 1, &r->steps_done));
    NS_TRY(ns_h5_read_rows(h, "steps", i, 1, &r->steps));
    return ns_h5_read_rows(h, "final_test_acc", i, 1, &r->test_acc);
}

static void print_progress_sidecar(const char *path)
{
    char pj[4200];
    snprintf(pj, sizeof pj, "%s.progress.json", path);
    FILE *f = fopen(pj, "r");
    if (!f) return;
    char buf[2048];
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    buf[k] = '\0';
    fclose(f);
    printf("progress (%s): %s%s", pj, buf, k && buf[k - 1] == '\n' ? "" : "\n");
}

static int status_main(const char *path, int all)
{
    ns_h5 *h = NULL;
    char *schema = NULL, *name = NULL;
    if (ns_h5_open(path, MPI_COMM_NULL, 0, &h) != NS_OK) {
        fprintf(stderr, "normsweep status: %s\n", ns_error_msg());
        return NS_EXIT_USAGE;
    }
    size_t n = 0;
    if (ns_h5_get_attr(h, "schema", &schema) != NS_OK || strcmp(schema, "normsweep") != 0 ||
        ns_h5_dim_size(h, "run", &n) != NS_OK) {
        fprintf(stderr, "normsweep status: %s: not a normsweep results file\n", path);
        free(schema);
        ns_h5_close(h);
        return NS_EXIT_USAGE;
    }
    ns_h5_get_attr(h, "spec_name", &name);

    /* two passes over the table: counts first, then the rows */
    int code = NS_EXIT_OK, count[NS_RUN_RUNNING + 1] = {0};
    run_row r;
    for (size_t i = 0; i < n && code == NS_EXIT_OK; i++) {
        if (ns_results_status_in(h, i, &r.status) != NS_OK) code = NS_EXIT_FAIL;
        else count[r.status]++;
    }
    if (code == NS_EXIT_OK) {
        printf("%s: sweep '%s', %zu runs:", path, name ? name : "?", n);
        for (int k = 0; k <= NS_RUN_RUNNING; k++)
            if (count[k]) printf(" %d %s", count[k], ns_run_status_name((ns_run_status)k));
        printf("\n%5s %10s %-24s %-12s %6s %-9s %15s %9s\n", "run", "lr", "arch", "norm",
               "seed", "status", "steps", "test_acc");
    }
    for (size_t i = 0; i < n && code == NS_EXIT_OK; i++) {
        if (read_row(h, i, &r) != NS_OK) {
            code = NS_EXIT_FAIL;
            break;
        }
        if (!all && r.status == NS_RUN_DONE && n > 40) continue; /* long sweeps: the rest */
        char prog[48], accs[16] = "-";
        snprintf(prog, sizeof prog, "%lld/%lld", r.steps_done < 0 ? 0LL : (long long)r.steps_done,
                 (long long)r.steps);
        if (!isnan(r.test_acc)) snprintf(accs, sizeof accs, "%.4f", r.test_acc);
        printf("%5zu %10.3g %-24.24s %-12.12s %6lld %-9s %15s %9s\n", i, r.lr, r.arch, r.norm,
               (long long)r.seed, ns_run_status_name(r.status), prog, accs);
    }
    if (code != NS_EXIT_OK) fprintf(stderr, "normsweep status: %s: %s\n", path, ns_error_msg());
    else print_progress_sidecar(path);
    free(schema);
    free(name);
    ns_h5_close(h);
    return code;
}

int ns_cmd_status(int argc, char **argv)
{
    int all = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: normsweep status [--all] OUT\n"
                   "  counts by status and each run's progress (works while the job runs)\n");
            return NS_EXIT_OK;
        } else if (strcmp(argv[i], "--all") == 0) {
            all = 1;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "normsweep status: unexpected argument '%s'\n", argv[i]);
            return NS_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: normsweep status [--all] OUT\n");
        return NS_EXIT_USAGE;
    }
    return status_main(path, all);
}
