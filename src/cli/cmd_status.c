/* cmd_status.c - `normsweep status OUT`: what a results file holds, readable
 * while the job runs (the file's metadata never changes after creation, and
 * the serial reader takes no lock). Counts by status, each run's progress,
 * and the coordinator's progress sidecar (OUT.progress.json) as a line; with
 * --json all of it as one JSON object.
 *
 * The file is checked first (ns_results_check, in a child process): a damaged
 * file is one line and exit 2, never a crash or a hang. Text from the file is
 * printed with control characters replaced, so it cannot drive the terminal. */
#include "normsweep/cli.h"
#include "normsweep/h5store.h"
#include "normsweep/results.h"
#include "normsweep/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One row of the run table, as the status listing shows it. */
typedef struct run_row {
    ns_run_status status;
    char arch[NS_RESULTS_ARCH_LEN + 1], norm[NS_RESULTS_NORM_LEN + 1]; /* cells + NUL */
    double lr, test_acc;
    int64_t seed, steps_done, steps;
} run_row;

/* Control characters (and DEL) become '?': the text came from a file. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

/* A run's steps as its traces in the file show them: one past the last
 * logged step with a train_loss (-1: none). steps_done is written at a run's
 * end; while it runs, its traces reach the file every --flush-seconds. */
static ns_status logged_steps(ns_h5 *h, size_t i, int64_t *out)
{
    size_t n = 0;
    *out = -1;
    NS_TRY(ns_h5_dim_size(h, "step", &n));
    double *loss = malloc((n ? n : 1) * sizeof *loss);
    NS_CHECK(loss, NS_ERR_NOMEM, "out of memory for a run's trace");
    ns_status st = ns_h5_read_rows(h, "train_loss", i, 1, loss);
    size_t k = n;
    while (st == NS_OK && k > 0 && isnan(loss[k - 1])) k--;
    int64_t step = -1;
    if (st == NS_OK && k > 0) st = ns_h5_read_rows(h, "step", k - 1, 1, &step);
    free(loss);
    if (st == NS_OK && k > 0) *out = step + 1;
    return st;
}

static ns_status read_row(ns_h5 *h, size_t i, run_row *r)
{
    memset(r, 0, sizeof *r);
    NS_TRY(ns_results_status_in(h, i, &r->status));
    size_t idx[1] = {i};
    NS_TRY(ns_h5_read_str(h, "arch", idx, r->arch, sizeof r->arch));
    NS_TRY(ns_h5_read_str(h, "norm", idx, r->norm, sizeof r->norm));
    NS_TRY(ns_h5_read_rows(h, "lr", i, 1, &r->lr));
    NS_TRY(ns_h5_read_rows(h, "seed", i, 1, &r->seed));
    NS_TRY(ns_h5_read_rows(h, "steps_done", i, 1, &r->steps_done));
    NS_TRY(ns_h5_read_rows(h, "steps", i, 1, &r->steps));
    if (r->status == NS_RUN_RUNNING) { /* live: as far as its traces are written */
        int64_t logged;
        NS_TRY(logged_steps(h, i, &logged));
        if (logged > r->steps_done) r->steps_done = logged;
    }
    printable(r->arch);
    printable(r->norm);
    return ns_h5_read_rows(h, "final_test_acc", i, 1, &r->test_acc);
}

/* ------------------------------------------------------------ progress sidecar */

/* The coordinator's progress file (src/coord/progress.c): a flat JSON object. */
typedef struct progress {
    int have;
    char text[2048]; /* as read, for --json */
} progress;

static void read_progress(const char *path, progress *p)
{
    char pj[4200];
    memset(p, 0, sizeof *p);
    snprintf(pj, sizeof pj, "%s.progress.json", path);
    FILE *f = fopen(pj, "r");
    if (!f) return;
    size_t k = fread(p->text, 1, sizeof p->text - 1, f);
    fclose(f);
    p->text[k] = '\0';
    while (k > 0 && (p->text[k - 1] == '\n' || p->text[k - 1] == ' ')) p->text[--k] = '\0';
    p->have = k > 1 && p->text[0] == '{' && p->text[k - 1] == '}';
}

/* Number after "key": in a flat JSON object (NAN if absent or not a number;
 * true/false read as 1/0). */
static double field(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(json, pat);
    if (!at) return NAN;
    at += strlen(pat);
    while (*at == ' ') at++;
    if (strncmp(at, "true", 4) == 0) return 1;
    if (strncmp(at, "false", 5) == 0) return 0;
    char *end;
    double v = strtod(at, &end);
    return end == at ? NAN : v;
}

static void duration(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e9) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}

/* "progress: 3 running on 2 ranks, 10.5 runs/h, ETA 2m10s; updated 4s ago" */
static void print_progress(const progress *p)
{
    if (!p->have) return;
    const char *j = p->text;
    char eta[32], age[32];
    double upd = field(j, "updated_unix");
    duration(field(j, "eta_s"), eta, sizeof eta);
    duration(isnan(upd) ? NAN : difftime(time(NULL), (time_t)upd), age, sizeof age);
    if (field(j, "finished") == 1)
        printf("progress: the job finished (%s), %.0f s; updated %s ago\n",
               field(j, "complete") == 1 ? "every run ended" : "incomplete: resume with --resume",
               field(j, "elapsed_s"), age);
    else
        printf("progress: %.0f running on %.0f rank(s), %.1f runs/h, ETA %s%s; updated %s ago\n",
               field(j, "running"), field(j, "nranks"), field(j, "runs_per_hour"), eta,
               field(j, "stop_requested") == 1 ? " (stop requested)" : "", age);
}

/* ------------------------------------------------------------ output */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void json_num(double v)
{
    if (isfinite(v)) printf("%.17g", v);
    else printf("null");
}

static void print_counts_json(const int *count)
{
    printf("\"counts\":{");
    for (int k = 0, first = 1; k <= NS_RUN_RUNNING; k++)
        if (count[k]) {
            printf("%s\"%s\":%d", first ? "" : ",", ns_run_status_name((ns_run_status)k), count[k]);
            first = 0;
        }
    printf("}");
}

static void print_row(size_t i, const run_row *r, int json, int first)
{
    if (json) {
        printf("%s{\"run\":%zu,\"lr\":", first ? "" : ",", i);
        json_num(r->lr);
        printf(",\"arch\":");
        json_str(r->arch);
        printf(",\"norm\":");
        json_str(r->norm);
        printf(",\"seed\":%lld,\"status\":\"%s\",\"steps_done\":%lld,\"steps\":%lld,\"test_acc\":",
               (long long)r->seed, ns_run_status_name(r->status),
               r->steps_done < 0 ? 0LL : (long long)r->steps_done, (long long)r->steps);
        json_num(r->test_acc);
        printf("}");
        return;
    }
    char prog[48], accs[16] = "-";
    snprintf(prog, sizeof prog, "%lld/%lld", r->steps_done < 0 ? 0LL : (long long)r->steps_done,
             (long long)r->steps);
    if (!isnan(r->test_acc)) snprintf(accs, sizeof accs, "%.4f", r->test_acc);
    printf("%5zu %10.3g %-24.24s %-12.12s %6lld %-9s %15s %9s\n", i, r->lr, r->arch, r->norm,
           (long long)r->seed, ns_run_status_name(r->status), prog, accs);
}

/* ------------------------------------------------------------ the command */

static int status_main(const char *path, int all, int json)
{
    if (ns_results_check(path, NULL, NS_RESULTS_READ_V1) != NS_OK) {
        fprintf(stderr, "normsweep status: %s\n", ns_error_msg());
        return NS_EXIT_USAGE;
    }
    ns_h5 *h = NULL;
    char *name = NULL;
    size_t n = 0;
    if (ns_h5_open(path, MPI_COMM_NULL, 0, &h) != NS_OK || ns_h5_dim_size(h, "run", &n) != NS_OK) {
        fprintf(stderr, "normsweep status: %s\n", ns_error_msg());
        ns_h5_close(h);
        return NS_EXIT_FAIL;
    }
    if (ns_h5_get_attr(h, "spec_name", &name) == NS_OK) printable(name);

    /* two passes over the table: counts first, then the rows */
    int code = NS_EXIT_OK, count[NS_RUN_RUNNING + 1] = {0};
    run_row r;
    for (size_t i = 0; i < n && code == NS_EXIT_OK; i++) {
        if (ns_results_status_in(h, i, &r.status) != NS_OK) code = NS_EXIT_FAIL;
        else count[r.status]++;
    }
    progress pg;
    read_progress(path, &pg);
    if (code == NS_EXIT_OK && json) {
        printf("{\"file\":");
        json_str(path);
        printf(",\"sweep\":");
        json_str(name ? name : "");
        printf(",\"nruns\":%zu,", n);
        print_counts_json(count);
        printf(",\"runs\":[");
    } else if (code == NS_EXIT_OK) {
        printf("%s: sweep '%s', %zu runs:", path, name ? name : "?", n);
        for (int k = 0; k <= NS_RUN_RUNNING; k++)
            if (count[k]) printf(" %d %s", count[k], ns_run_status_name((ns_run_status)k));
        printf("\n%5s %10s %-24s %-12s %6s %-9s %15s %9s\n", "run", "lr", "arch", "norm",
               "seed", "status", "steps", "test_acc");
    }
    int first = 1;
    for (size_t i = 0; i < n && code == NS_EXIT_OK; i++) {
        if (read_row(h, i, &r) != NS_OK) {
            code = NS_EXIT_FAIL;
            break;
        }
        if (!json && !all && r.status == NS_RUN_DONE && n > 40) continue; /* long sweeps: the rest */
        print_row(i, &r, json, first);
        first = 0;
    }
    if (code != NS_EXIT_OK) {
        fprintf(stderr, "normsweep status: %s: %s\n", path, ns_error_msg());
    } else if (json) {
        printf("],\"progress\":%s}\n", pg.have ? pg.text : "null");
    } else {
        print_progress(&pg);
    }
    free(name);
    ns_h5_close(h);
    return code;
}

int ns_cmd_status(int argc, char **argv)
{
    int all = 0, json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: normsweep status [--all] [--json] OUT\n"
                   "  counts by status and each run's progress (works while the job runs);\n"
                   "  --all lists done runs of long sweeps too, --json prints one JSON object\n");
            return NS_EXIT_OK;
        } else if (strcmp(argv[i], "--all") == 0) {
            all = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "normsweep status: unknown option '%s' (see --help)\n", argv[i]);
            return NS_EXIT_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "normsweep status: unexpected argument '%s'\n", argv[i]);
            return NS_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: normsweep status [--all] [--json] OUT\n");
        return NS_EXIT_USAGE;
    }
    return status_main(path, all, json);
}
