/* cmd_run.c - `normsweep run SPEC -o OUT`: the sweep.
 *
 *   every rank: parse + validate the spec, load the data set (refuse to start,
 *               writing nothing, if either is bad)
 *   all ranks:  create (or, with --resume, reopen and check) the results file
 *   all ranks:  the coordinator hands out runs; each run writes its own rows
 *   all ranks:  close the file; exit 0 (complete), 3 (stopped: resume me) or
 *               1 (some run failed)
 */
#include "normsweep/blas.h"
#include "normsweep/cli.h"
#include "normsweep/clock.h"
#include "normsweep/coord.h"
#include "normsweep/data.h"
#include "normsweep/fault.h"
#include "normsweep/mpi_check.h"
#include "normsweep/results.h"
#include "normsweep/run.h"
#include "normsweep/shared_data.h"
#include "normsweep/spec.h"
#include "normsweep/version.h"
#include "cli_util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct run_opts {
    const char *spec, *out;
    const char *overrides[NS_SPEC_MAX_CLI_OVERRIDES]; /* KEY=VALUE after SPEC */
    int noverrides;
    int resume, force, quiet;
    int shard, nshards;
    double progress_every, rank_timeout;
} run_opts;

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: normsweep run SPEC [KEY=VALUE ...] -o OUT [--resume | --force]\n"
            "                     [--shard I/N] [--progress-every SECONDS] [--rank-timeout SECONDS]\n"
            "                     [--quiet]\n"
            "  Runs every configuration of the sweep file SPEC with all MPI ranks and\n"
            "  writes OUT (HDF5, docs/hdf5-schema.md). Checkpoints go to OUT.ckpt/,\n"
            "  progress to OUT.progress.json.\n"
            "  KEY=VALUE         override the sweep file: train.steps=500, grid.seed=[0,1],\n"
            "                    ~probes (docs/sweep-format.md); recorded in OUT\n"
            "  -o OUT, --output OUT, --output=OUT   the results file (once)\n"
            "  --resume          continue an interrupted sweep in OUT (same spec only)\n"
            "  --force           overwrite an existing OUT\n"
            "  --shard I/N       run only runs with index %% N == I (Slurm arrays; then\n"
            "                    `normsweep merge`)\n"
            "  --progress-every SECONDS  progress line interval on rank 0 (default 30;\n"
            "                    0: none)\n"
            "  --rank-timeout SECONDS  a rank silent this long (dead, hung, cut off) stops\n"
            "                    the sweep; after a stop, ranks silent this long are given\n"
            "                    up and the job ends (default 300; docs/coordinator.md)\n"
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

static int parse_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nshards = 1;
    o->progress_every = 30.0;
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
    if (o->resume && o->force) {
        fprintf(stderr, "normsweep run: --resume and --force exclude each other\n");
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------ the job */

/* Everything one `run` holds; sweep_free() is the one cleanup path. */
typedef struct sweep_job {
    const run_opts *o;
    int rank, size;
    ns_spec *spec;
    const ns_dataset *data;
    ns_shared_data_info shared; /* one copy of the data set per node (shared_data.h) */
    int resuming; /* --resume and OUT exists: rank 0 decided, every rank knows */
    char ckpt_dir[PATH_MAX], progress[PATH_MAX];
    ns_results *res;
    unsigned char *skip; /* per run: finished earlier or in another shard */
    double *cost;        /* per run: estimated GFLOP (the coordinator hands out
                            the most costly first)                        */
    int nskip;
    ns_coord_result cr;
    /* start-up and teardown seconds on rank 0; each start-up step ends in a
     * collective agreement, so this is the slowest rank's time */
    double t_mpi_init, t_step[8], t_close;
} sweep_job;

/* Print every line of a multi-line message from rank 0 only. */
static void say0(int rank, const char *msg)
{
    if (rank == 0 && msg && *msg) fprintf(stderr, "%s%s", msg, msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* Every rank gets the largest code any rank has (MPI_Allreduce): all go on, or
 * all stop with the same exit code. */
static int agree(int code)
{
    int all = NS_EXIT_FAIL;
    if (ns_mpi_check(MPI_Allreduce(&code, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD),
                     "normsweep run: MPI_Allreduce") != NS_OK) {
        fprintf(stderr, "%s\n", ns_error_msg());
        return NS_EXIT_FAIL;
    }
    return all;
}

/* Rank 0 decided `v[0..n)`; every rank gets its values (MPI_Bcast). */
static int from_rank0(int *v, int n)
{
    if (ns_mpi_check(MPI_Bcast(v, n, MPI_INT, 0, MPI_COMM_WORLD), "normsweep run: MPI_Bcast") ==
        NS_OK)
        return NS_EXIT_OK;
    fprintf(stderr, "%s\n", ns_error_msg());
    return NS_EXIT_FAIL;
}

/* 1. The spec: every rank parses the same file (deterministic). */
static int load_spec(sweep_job *j)
{
    char *errors = NULL;
    ns_spec_options opt = {.overrides = j->o->overrides, .noverrides = j->o->noverrides};
    ns_status st = ns_spec_load_opts(j->o->spec, &opt, &j->spec, &errors);
    int code = agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_USAGE);
    if (code != NS_EXIT_OK) say0(j->rank, errors ? errors : st != NS_OK ? ns_error_msg() : "");
    else if (j->spec->warnings) say0(j->rank, j->spec->warnings);
    free(errors);
    return code;
}

/* 1b. The same numerics on every rank: a BLAS kernel or thread count that
 * differs between nodes (a variable exported on the launch node only) would
 * make a run's traces depend on where it lands. */
static int check_numerics(sweep_job *j)
{
    char v[96];
    snprintf(v, sizeof v, "%s, %d thread%s", ns_blas_kernel(), ns_blas_threads(),
             ns_blas_threads() == 1 ? "" : "s");
    ns_status st = ns_coord_check_uniform(MPI_COMM_WORLD, "BLAS kernel", v);
    if (st != NS_OK && j->rank == 0)
        fprintf(stderr, "normsweep run: %s: results would depend on the node a run lands on; "
                        "set OPENBLAS_CORETYPE / NORMSWEEP_BLAS_THREADS alike on every node "
                        "(mpirun -x OPENBLAS_CORETYPE)\n",
                ns_error_msg());
    return st == NS_OK ? NS_EXIT_OK : st == NS_ERR_ARG ? NS_EXIT_USAGE : NS_EXIT_FAIL;
}

/* 2. The data set, loaded once per rank and shared by its runs. */
static int load_data(sweep_job *j)
{
    /* NORMSWEEP_SHARED_DATA=0: one private copy per rank (docs/data.md) */
    const char *env = getenv("NORMSWEEP_SHARED_DATA");
    int want_shared = !(env && strcmp(env, "0") == 0);
    ns_status st = ns_shared_dataset_get(MPI_COMM_WORLD, j->spec->data, j->spec->runs[0].data_seed,
                                         want_shared, &j->data, &j->shared);
    /* the node's first rank has the message that names the cause */
    if (st != NS_OK && j->shared.node_rank == 0)
        fprintf(stderr, "normsweep run: rank %d: %s\n", j->rank, ns_error_msg());
    return agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_USAGE);
}

/* 3. The run list: cost of each run, and the runs of other shards skipped.
 * Before anything is written: without it the sweep cannot honour --shard or
 * --resume, so a failed allocation ends the command. */
static int plan_runs(sweep_job *j)
{
    const ns_spec *s = j->spec;
    ns_status st = NS_OK;
    size_t n = s->nruns > 0 ? (size_t)s->nruns : 1; /* calloc(0) may be NULL */
    j->skip = ns_fault("skip-list-alloc", j->rank) ? NULL : calloc(n, 1);
    j->cost = calloc(n, sizeof *j->cost);
    if (!j->skip || !j->cost)
        st = ns_error_set(NS_ERR_NOMEM, "cannot allocate the run list (%d runs)", s->nruns);
    for (int i = 0; st == NS_OK && i < s->nruns; i++) {
        j->cost[i] = ns_plan_run_cost(s, i).total_gflop;
        j->skip[i] = i % j->o->nshards != j->o->shard;
    }
    if (st != NS_OK) fprintf(stderr, "normsweep run: rank %d: %s\n", j->rank, ns_error_msg());
    return agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_FAIL);
}

/* The names next to OUT; every one a run writes must fit a path (the longest
 * is the last run's checkpoint while it is written: ".tmp"). */
static ns_status derived_paths(sweep_job *j)
{
    const char *out = j->o->out;
    char longest[PATH_MAX];
    NS_TRY(ns_cli_path(j->ckpt_dir, sizeof j->ckpt_dir, "the checkpoint directory", "%s.ckpt", out));
    NS_TRY(ns_cli_path(j->progress, sizeof j->progress, "the progress file", "%s.progress.json",
                       out));
    NS_TRY(ns_cli_path(longest, sizeof longest, "the progress file's temporary name", "%s.tmp",
                       j->progress));
    return ns_cli_path(longest, sizeof longest, "a checkpoint's temporary name",
                       "%s/run_%05d.ckpt.tmp", j->ckpt_dir, j->spec->nruns - 1);
}

enum { NS_REGULAR_FILE, NS_DIRECTORY };

/* `path` must be absent or of the kind `want` (NS_REGULAR_FILE, NS_DIRECTORY):
 * stat follows links, so a FIFO, a socket or a symlink loop is refused, named
 * by `role`. *exists: 1 when present. */
static ns_status stat_as(const char *path, int want, const char *role, int *exists)
{
    struct stat st;
    *exists = 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return NS_OK;
        return ns_error_set(NS_ERR_ARG, "%s (%s): %s", path, role, strerror(errno));
    }
    *exists = 1;
    int ok = want == NS_DIRECTORY ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
    const char *is = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISREG(st.st_mode)  ? "a regular file"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "a device";
    NS_CHECK(ok, NS_ERR_ARG, "%s (%s) is %s, not a %s", path, role, is,
             want == NS_DIRECTORY ? "directory" : "regular file");
    return NS_OK;
}

/* A file --resume may open: an HDF5 file (its signature at byte 0, where
 * normsweep writes it). Read-only: a wrong file is never touched. */
static ns_status check_hdf5_signature(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    /* the store's own wording for these (h5file.c), one message per problem */
    NS_CHECK(got > 0, NS_ERR_FORMAT,
             "%s: empty file (0 bytes): not an HDF5 file (--resume continues a results file of "
             "`normsweep run`)", path);
    NS_CHECK(got == sizeof head && memcmp(head, sig, sizeof sig) == 0, NS_ERR_FORMAT,
             "%s: not an HDF5 file (no HDF5 signature at byte offset 0; --resume continues a "
             "results file of `normsweep run`)", path);
    return NS_OK;
}

/* OUT, OUT.ckpt/ and OUT.progress.json as `run` needs them, before anything
 * is written; *exists: OUT is there (and may be opened or overwritten). */
static ns_status check_output_files(const sweep_job *j, int *exists)
{
    const run_opts *o = j->o;
    char dir[PATH_MAX];
    int dummy;
    NS_TRY(stat_as(o->out, NS_REGULAR_FILE, "the output", exists));
    if (*exists && !o->resume && !o->force)
        return ns_error_set(NS_ERR_ARG, "output exists; use --resume to continue it or --force "
                                        "to overwrite it (%s)", o->out);
    if (*exists && o->resume) NS_TRY(check_hdf5_signature(o->out));
    if (!*exists) { /* its directory must be there: nothing creates it */
        snprintf(dir, sizeof dir, "%s", o->out); /* fits: o->out fit in ckpt_dir */
        char *slash = strrchr(dir, '/');
        if (slash) {
            slash[slash == dir] = '\0'; /* "/x" -> "/" */
            NS_TRY(stat_as(dir, NS_DIRECTORY, "the output's directory", &dummy));
            NS_CHECK(dummy, NS_ERR_ARG, "%s: the output's directory %s does not exist", o->out,
                     dir);
        }
    }
    NS_TRY(stat_as(j->ckpt_dir, NS_DIRECTORY, "the checkpoint directory", &dummy));
    return stat_as(j->progress, NS_REGULAR_FILE, "the progress file", &dummy);
}

/* 4. Rank 0 checks OUT and the names next to it before anything is written,
 * and every rank follows its verdict (and its view of whether OUT exists). */
static int check_paths(sweep_job *j)
{
    int v[2] = {NS_EXIT_OK, 0}; /* exit code, OUT exists */
    if (j->rank == 0) {
        ns_status st = derived_paths(j);
        if (st == NS_OK) st = check_output_files(j, &v[1]);
        if (st != NS_OK) {
            fprintf(stderr, "normsweep run: %s\n", ns_error_msg());
            v[0] = st == NS_ERR_ARG || st == NS_ERR_FORMAT ? NS_EXIT_USAGE : NS_EXIT_FAIL;
        }
    }
    int code = from_rank0(v, 2);
    if (code != NS_EXIT_OK) return code;
    if (v[0] == NS_EXIT_OK && j->rank != 0 && derived_paths(j) != NS_OK) v[0] = NS_EXIT_FAIL;
    j->resuming = j->o->resume && v[1];
    return agree(v[0]);
}

/* 5. The checkpoint directory and the results file (created, or reopened). */
static int open_output(sweep_job *j)
{
    int code = NS_EXIT_OK;
    if (j->rank == 0 && mkdir(j->ckpt_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "normsweep run: cannot create checkpoint directory %s: %s\n", j->ckpt_dir,
                strerror(errno));
        code = NS_EXIT_FAIL;
    }
    code = agree(code);
    if (code != NS_EXIT_OK) return code;
    if (ns_fault("kill-before-layout", j->rank)) raise(SIGKILL); /* tests: a rank dies here */
    ns_status st;
    if (j->resuming) {
        st = ns_results_open(j->o->out, MPI_COMM_WORLD, j->spec, &j->res);
    } else {
        char h5[64], mpi[256];
        ns_hdf5_version(h5, sizeof h5);
        ns_mpi_version(mpi, sizeof mpi);
        ns_results_meta meta = {NS_VERSION, ns_git_commit(), h5, mpi, ns_blas_kernel(),
                                ns_blas_threads(), j->data->mean, j->data->std};
        st = ns_results_create(j->o->out, MPI_COMM_WORLD, j->spec, &meta, &j->res);
    }
    if (st == NS_OK) return NS_EXIT_OK;
    say0(j->rank, ns_error_msg());
    return st == NS_ERR_ARG || st == NS_ERR_FORMAT ? NS_EXIT_USAGE : NS_EXIT_FAIL;
}

/* 6. With --resume, rank 0 also skips the runs the file has finished (done or
 * diverged); only rank 0's skip list reaches the coordinator. */
static int skip_finished(sweep_job *j)
{
    ns_status st = NS_OK;
    for (int i = 0; j->resuming && j->rank == 0 && st == NS_OK && i < j->spec->nruns; i++) {
        ns_run_status rs = NS_RUN_PENDING;
        if (!j->skip[i]) st = ns_results_run_status(j->res, i, &rs);
        j->skip[i] |= rs == NS_RUN_DONE || rs == NS_RUN_DIVERGED;
    }
    for (int i = 0; i < j->spec->nruns; i++) j->nskip += j->skip[i];
    if (st != NS_OK) fprintf(stderr, "normsweep run: %s\n", ns_error_msg());
    return agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_FAIL);
}

static const struct {
    const char *name;
    int (*fn)(sweep_job *);
} STARTUP[] = {{"spec", load_spec},   {"blas", check_numerics}, {"data", load_data}, {"plan", plan_runs},
               {"paths", check_paths}, {"file", open_output}, {"resume", skip_finished}};
enum { NSTARTUP = sizeof STARTUP / sizeof STARTUP[0] };

/* "start-up 1.23 s: MPI init 0.30, spec 0.01, ..." (bench/sweep_scaling.sh reads it) */
static void print_startup(const sweep_job *j)
{
    double total = j->t_mpi_init;
    for (int k = 0; k < NSTARTUP; k++) total += j->t_step[k];
    fprintf(stderr, "normsweep: start-up %.3f s: MPI init %.3f", total, j->t_mpi_init);
    for (int k = 0; k < NSTARTUP; k++) fprintf(stderr, ", %s %.3f", STARTUP[k].name, j->t_step[k]);
    fprintf(stderr, "\n");
}

static void print_banner(const sweep_job *j)
{
    if (j->rank != 0 || j->o->quiet) return;
    print_startup(j);
    fprintf(stderr, "normsweep: %s: %d runs (%d to run) on %d rank%s, output %s\n", j->spec->name,
            j->spec->nruns, j->spec->nruns - j->nskip, j->size, j->size == 1 ? "" : "s", j->o->out);
    fprintf(stderr, "normsweep: BLAS kernel %s (%s), %d thread%s per rank\n", ns_blas_kernel(),
            ns_blas_kernel_origin(), ns_blas_threads(), ns_blas_threads() == 1 ? "" : "s");
    const ns_shared_data_info *sh = &j->shared;
    if (sh->shared)
        fprintf(stderr, "normsweep: data %.3g MB, one shared copy per node (%d node%s)\n",
                (double)sh->bytes / 1e6, sh->nodes, sh->nodes == 1 ? "" : "s");
    else
        fprintf(stderr, "normsweep: data %.3g MB per rank (rank 0: %s)\n",
                (double)ns_dataset_memory(j->data) / 1e6, sh->fallback);
}

/* ------------------------------------------------------------ one run */

/* The run's control hooks are the coordinator's (ctx = the ns_coord). */
static void ctl_poll(void *coord) { ns_coord_poll(coord); }
static int ctl_stop(void *coord) { return ns_coord_stop_requested(coord); }

static ns_status execute_run(void *vjob, ns_coord *c, int index, ns_run_outcome *out)
{
    sweep_job *j = vjob;
    const ns_run_config *cfg = &j->spec->runs[index];
    char ckpt[PATH_MAX];
    NS_TRY(ns_cli_path(ckpt, sizeof ckpt, "the checkpoint", "%s/run_%05d.ckpt", j->ckpt_dir, index));
    ns_run_sink sink;
    NS_TRY(ns_results_sink_new(j->res, index, j->rank, &sink));
    ns_run_control ctl = {c, ctl_poll, ctl_stop, ckpt};
    ns_run_result r;
    ns_status st = ns_run_execute(cfg, j->data, &sink, &ctl, &r);
    ns_results_sink_free(&sink);
    out->status = st == NS_OK ? r.status : NS_RUN_FAILED;
    out->steps = (long)r.steps_done;
    out->final_loss = r.final_train_loss;
    if (st == NS_OK && r.status != NS_RUN_DONE)
        snprintf(out->msg, sizeof out->msg, "%.*s", (int)sizeof out->msg - 1, r.message);
    return st;
}

/* ------------------------------------------------------------ 7. the sweep */

static void print_summary(const sweep_job *j, int code)
{
    const ns_coord_result *cr = &j->cr;
    if (j->rank != 0 || (j->o->quiet && code == NS_EXIT_OK)) return;
    fprintf(stderr,
            "normsweep: %s: %d done, %d diverged, %d failed, %d stopped, %d pending, "
            "%d skipped in %.1f s (file close %.3f s)\n",
            j->spec->name, cr->n_done, cr->n_diverged, cr->n_failed, cr->n_stopped, cr->n_pending,
            cr->n_skipped, cr->wall_s, j->t_close);
    if (code == NS_EXIT_INCOMPLETE)
        fprintf(stderr, "normsweep: stopped by %s - incomplete: resume with --resume\n",
                cr->stop_from[0] ? cr->stop_from : ns_signal_name(cr->stop_signal));
    for (int i = 0; cr->runs && i < j->spec->nruns; i++)
        if (cr->runs[i].status == NS_RUN_FAILED)
            fprintf(stderr, "normsweep: run %d failed: %s\n", i, cr->runs[i].msg);
}

static int run_sweep(sweep_job *j)
{
    /* --quiet silences the progress lines, not the progress sidecar */
    FILE *devnull = j->o->quiet ? fopen("/dev/null", "w") : NULL;
    ns_coord_opts co = {j->spec->nruns, j->cost, j->skip, j->o->progress_every, j->progress,
                        devnull ? devnull : stderr, j->o->rank_timeout};
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &co, execute_run, j, &j->cr);
    if (devnull) fclose(devnull);
    if (st == NS_ERR_MPI) {
        /* This rank's coordinator gave up; the others may be waiting for it. */
        fprintf(stderr, "normsweep run: rank %d: %s: aborting the job\n", j->rank, ns_error_msg());
        MPI_Abort(MPI_COMM_WORLD, NS_EXIT_FAIL);
    }
    if (st == NS_OK && j->cr.n_lost > 0) {
        /* Ranks were given up (dead, hung, cut off): the collective close and
         * MPI_Finalize would wait for them forever. Every row written is in
         * the file already (independent writes); the runs are checkpointed. */
        fprintf(stderr, "normsweep: rank %d: %d rank%s lost; the file holds every finished run; "
                        "ending the job: resume it with --resume\n",
                j->rank, j->cr.n_lost, j->cr.n_lost == 1 ? "" : "s");
        MPI_Abort(MPI_COMM_WORLD, NS_EXIT_INCOMPLETE);
    }
    if (st != NS_OK) say0(j->rank, ns_error_msg());
    double t0 = ns_now_s();
    ns_status cs = ns_results_close(j->res);
    j->t_close = ns_now_s() - t0;
    j->res = NULL;
    if (cs != NS_OK) say0(j->rank, ns_error_msg());
    int code = st != NS_OK || cs != NS_OK ? NS_EXIT_FAIL
             : !j->cr.complete            ? NS_EXIT_INCOMPLETE
             : j->cr.n_failed > 0         ? NS_EXIT_FAIL
                                          : NS_EXIT_OK;
    print_summary(j, code);
    /* the checkpoint directory is empty when the whole sweep is done */
    if (j->rank == 0 && code == NS_EXIT_OK && j->o->nshards == 1) rmdir(j->ckpt_dir);
    return code;
}

static void sweep_free(sweep_job *j)
{
    if (j->res) ns_results_close(j->res); /* a step failed after the file was opened */
    ns_coord_result_free(&j->cr);
    free(j->skip);
    free(j->cost);
    ns_spec_free(j->spec);
}

/* spec -> data -> run list -> paths -> output -> finished runs -> sweep; the
 * first step that fails decides the exit code (the same on every rank).
 * Nothing is written before the output step. */
static int sweep(const run_opts *o, int rank, int size, double t_mpi_init)
{
    sweep_job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.rank = rank;
    j.size = size;
    j.t_mpi_init = t_mpi_init;
    int code = NS_EXIT_OK;
    for (int k = 0; k < NSTARTUP && code == NS_EXIT_OK; k++) {
        double t0 = ns_now_s();
        code = STARTUP[k].fn(&j);
        j.t_step[k] = ns_now_s() - t0;
    }
    if (code == NS_EXIT_OK) {
        print_banner(&j);
        code = run_sweep(&j);
    }
    sweep_free(&j);
    return code;
}

int ns_cmd_run(int argc, char **argv)
{
    run_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) return rc < 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    /* First thing: a scheduler's stop signal may come while MPI starts or the
     * data loads; it must be recorded (the sweep then stops at once, exit 3),
     * not kill the process with the default action. */
    ns_signals_install();
    double t0 = ns_now_s();
    MPI_Init(&argc, &argv);
    double t_mpi_init = ns_now_s() - t0;
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int code = sweep(&o, rank, size, t_mpi_init);
    ns_dataset_cache_clear();
    ns_shared_data_release(); /* after the cache: its views point into the windows */
    MPI_Finalize();
    return code;
}
