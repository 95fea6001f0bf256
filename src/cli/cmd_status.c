/* cmd_status.c - `normsweep status OUT`: what a results file holds, readable
 * while the job runs (the file's metadata never changes after creation, and
 * the serial reader takes no lock). Counts by status, each run's progress,
 * and the coordinator's ETA from OUT.progress.json when it is there. */
#include "normsweep/cli.h"
#include "normsweep/h5store.h"
#include "normsweep/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int status_main(const char *path, int all)
{
    ns_h5 *h = NULL;
    char *schema = NULL, *name = NULL;
    if (ns_h5_open(path, MPI_COMM_NULL, 0, &h) != NS_OK) {
        fprintf(stderr, "normsweep status: %s\n", ns_error_msg());
        return NS_EXIT_USAGE;
    }
    if (ns_h5_get_attr(h, "schema", &schema) != NS_OK || strcmp(schema, "normsweep") != 0) {
        fprintf(stderr, "normsweep status: %s: not a normsweep results file\n", path);
        free(schema);
        ns_h5_close(h);
        return NS_EXIT_USAGE;
    }
    ns_h5_get_attr(h, "spec_name", &name);
    size_t n = 0;
    ns_h5_dim_size(h, "run", &n);
    char (*status)[16] = calloc(n ? n : 1, 16);
    char (*arch)[128] = calloc(n ? n : 1, 128);
    char (*norm)[64] = calloc(n ? n : 1, 64);
    double *lr = calloc(n ? n : 1, sizeof *lr), *acc = calloc(n ? n : 1, sizeof *acc);
    int64_t *done = calloc(n ? n : 1, sizeof *done), *steps = calloc(n ? n : 1, sizeof *steps),
            *seed = calloc(n ? n : 1, sizeof *seed);
    int code = NS_EXIT_OK;
    if (!status || !arch || !norm || !lr || !acc || !done || !steps || !seed ||
        ns_h5_read_rows(h, "status", 0, n, status) != NS_OK ||
        ns_h5_read_rows(h, "arch", 0, n, arch) != NS_OK ||
        ns_h5_read_rows(h, "norm", 0, n, norm) != NS_OK ||
        ns_h5_read_rows(h, "lr", 0, n, lr) != NS_OK ||
        ns_h5_read_rows(h, "seed", 0, n, seed) != NS_OK ||
        ns_h5_read_rows(h, "steps_done", 0, n, done) != NS_OK ||
        ns_h5_read_rows(h, "steps", 0, n, steps) != NS_OK ||
        ns_h5_read_rows(h, "final_test_acc", 0, n, acc) != NS_OK) {
        fprintf(stderr, "normsweep status: %s: %s\n", path, ns_error_msg());
        code = NS_EXIT_FAIL;
        goto done;
    }
    int count[8] = {0};
    for (size_t i = 0; i < n; i++) {
        char s[17];
        memcpy(s, status[i], 16);
        s[16] = '\0';
        count[ns_run_status_parse(s)]++;
    }
    printf("%s: sweep '%s', %zu runs:", path, name ? name : "?", n);
    for (int k = 0; k < 7; k++)
        if (count[k]) printf(" %d %s", count[k], ns_run_status_name((ns_run_status)k));
    printf("\n");
    printf("%5s %10s %-24s %-12s %6s %-9s %15s %9s\n", "run", "lr", "arch", "norm", "seed",
           "status", "steps", "test_acc");
    for (size_t i = 0; i < n; i++) {
        char s[17], a[129], m[65];
        memcpy(s, status[i], 16); s[16] = '\0';
        memcpy(a, arch[i], 128); a[128] = '\0';
        memcpy(m, norm[i], 64); m[64] = '\0';
        ns_run_status rs = ns_run_status_parse(s);
        if (!all && rs == NS_RUN_DONE && n > 40) continue; /* long sweeps: the interesting rows */
        char prog[40];
        snprintf(prog, sizeof prog, "%lld/%lld", done[i] < 0 ? 0LL : (long long)done[i],
                 (long long)steps[i]);
        char accs[16] = "-";
        if (!isnan(acc[i])) snprintf(accs, sizeof accs, "%.4f", acc[i]);
        printf("%5zu %10.3g %-24.24s %-12.12s %6lld %-9s %15s %9s\n", i, lr[i], a, m,
               (long long)seed[i], s, prog, accs);
    }
    char pj[4200];
    snprintf(pj, sizeof pj, "%s.progress.json", path);
    FILE *f = fopen(pj, "r");
    if (f) {
        char buf[2048];
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        buf[k] = '\0';
        fclose(f);
        printf("progress (%s): %s%s", pj, buf, k && buf[k - 1] == '\n' ? "" : "\n");
    }
done:
    free(status); free(arch); free(norm); free(lr); free(acc); free(done); free(steps); free(seed);
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
