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
#include "run_args.h"
#include "run_extend.h"

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

/* ------------------------------------------------------------ the job */

enum { NS_MAX_STARTUP = 12 }; /* start-up steps (STARTUP, below) */

/* Everything one `run` holds; sweep_free() is the one cleanup path. */
typedef struct sweep_job {
    const run_opts *o;
    int rank, size;
    ns_spec *spec;
    const ns_dataset *data;
    ns_shared_data_info shared; /* one copy of the data set per node (shared_data.h) */
    int resuming; /* --resume and OUT exists: rank 0 decided, every rank knows */
    const char *path; /* the file the sweep writes: OUT, or OUT.extending */
    ns_extend ext;    /* --extend (run_extend.h); mode NONE otherwise */
    int finished;     /* the sweep ran to its end and its file closed cleanly */
    char ckpt_dir[PATH_MAX], progress[PATH_MAX];
    ns_results *res;
    unsigned char *skip; /* per run: finished earlier or in another shard */
    double *cost;        /* per run: estimated GFLOP (the coordinator hands out
                            the most costly first)                        */
    int nskip;
    ns_coord_result cr;
    /* start-up and teardown seconds on rank 0; each start-up step ends in a
     * collective agreement, so this is the slowest rank's time */
    double t_mpi_init, t_step[NS_MAX_STARTUP], t_close;
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

/* 1b. The same BLAS kernel and thread count on every rank: a setting that
 * differs between nodes (OPENBLAS_CORETYPE exported on the launch node only)
 * makes a run's traces depend on where it lands. */
static int check_numerics(sweep_job *j)
{
    char v[96];
    snprintf(v, sizeof v, "%s, %d thread%s", ns_blas_kernel(), ns_blas_threads(),
             ns_blas_threads() == 1 ? "" : "s");
    ns_status st = ns_coord_check_uniform(MPI_COMM_WORLD, "BLAS kernel and thread count", v);
    if (st != NS_OK && j->rank == 0)
        fprintf(stderr, "normsweep run: %s: results would depend on the node a run lands on; "
                        "set OPENBLAS_CORETYPE and NORMSWEEP_BLAS_THREADS alike on every node "
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
    const char *out = j->path;
    char longest[PATH_MAX];
    NS_TRY(ns_cli_path(j->ckpt_dir, sizeof j->ckpt_dir, "the checkpoint directory", "%s.ckpt", out));
    NS_TRY(ns_cli_path(j->progress, sizeof j->progress, "the progress file", "%s.progress.json",
                       out));
    NS_TRY(ns_cli_path(longest, sizeof longest, "the progress file's temporary name", "%s.tmp",
                       j->progress));
    return ns_cli_path(longest, sizeof longest, "a checkpoint's temporary name",
                       "%s/run_%05d.ckpt.tmp", j->ckpt_dir, j->spec->nruns - 1);
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
    NS_TRY(ns_cli_stat_as(o->out, NS_REGULAR_FILE, "the output", exists));
    if (*exists && !o->resume && !o->force && !o->extend)
        return ns_error_set(NS_ERR_ARG, "output exists; use --resume to continue it or --force "
                                        "to overwrite it (%s)", o->out);
    NS_CHECK(*exists || !o->extend, NS_ERR_ARG,
             "%s does not exist: --extend adds runs to a results file (run without it)", o->out);
    if (*exists && (o->resume || o->extend)) NS_TRY(check_hdf5_signature(o->out));
    if (!*exists) { /* its directory must be there: nothing creates it */
        snprintf(dir, sizeof dir, "%s", o->out); /* fits: o->out fit in ckpt_dir */
        char *slash = strrchr(dir, '/');
        if (slash) {
            slash[slash == dir] = '\0'; /* "/x" -> "/" */
            NS_TRY(ns_cli_stat_as(dir, NS_DIRECTORY, "the output's directory", &dummy));
            NS_CHECK(dummy, NS_ERR_ARG, "%s: the output's directory %s does not exist", o->out,
                     dir);
        }
    }
    NS_TRY(ns_cli_stat_as(j->ckpt_dir, NS_DIRECTORY, "the checkpoint directory", &dummy));
    return ns_cli_stat_as(j->progress, NS_REGULAR_FILE, "the progress file", &dummy);
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
    j->resuming = (j->o->resume || j->o->extend) && v[1];
    return agree(v[0]);
}

/* 4b. --extend (or --resume of an extension in progress): rank 0 reads OUT
 * and decides (run_extend.h); every rank then writes OUT.extending. */
static int plan_extend(sweep_job *j)
{
    int v[2] = {NS_EXIT_OK, NS_EXTEND_NONE}; /* exit code, mode */
    if (j->rank == 0 && j->resuming) {
        ns_status st = ns_extend_plan(&j->ext, j->o->out, j->spec, j->o->extend);
        if (st != NS_OK) fprintf(stderr, "normsweep run: %s\n", ns_error_msg());
        v[0] = st == NS_OK ? NS_EXIT_OK
             : st == NS_ERR_ARG || st == NS_ERR_FORMAT ? NS_EXIT_USAGE : NS_EXIT_FAIL;
        v[1] = (int)j->ext.mode;
    }
    int code = from_rank0(v, 2);
    if (code != NS_EXIT_OK || v[0] != NS_EXIT_OK || v[1] == NS_EXTEND_NONE)
        return code != NS_EXIT_OK ? code : agree(v[0]);
    j->ext.mode = (ns_extend_mode)v[1];
    ns_status st = ns_extend_paths(&j->ext, j->o->out);
    j->path = j->ext.work;
    j->resuming = j->ext.mode == NS_EXTEND_CONTINUE;
    if (st == NS_OK) st = derived_paths(j);
    if (st != NS_OK) fprintf(stderr, "normsweep run: %s\n", ns_error_msg());
    return agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_USAGE);
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
        st = ns_results_open(j->path, MPI_COMM_WORLD, j->spec, &j->res);
    } else {
        char h5[64], mpi[256];
        ns_hdf5_version(h5, sizeof h5);
        ns_mpi_version(mpi, sizeof mpi);
        ns_results_meta meta = {NS_VERSION, ns_git_commit(), h5, mpi, ns_blas_kernel(),
                                ns_blas_threads(), j->data->mean, j->data->std,
                                j->ext.history};
        st = ns_results_create(j->path, MPI_COMM_WORLD, j->spec, &meta, &j->res);
        /* a new file starts with no checkpoints: one left by an earlier file
         * (a killed run, then --force) would continue a run whose first steps
         * this file does not have */
        if (st == NS_OK && j->rank == 0) ns_cli_clear_checkpoints(j->ckpt_dir);
    }
    if (st == NS_OK) return NS_EXIT_OK;
    say0(j->rank, ns_error_msg());
    return st == NS_ERR_ARG || st == NS_ERR_FORMAT ? NS_EXIT_USAGE : NS_EXIT_FAIL;
}

/* 5b. An extension: with OUT.extending laid out and closed, rank 0 carries
 * OUT's runs into it (serially: no MPI-IO handle may be open); then every
 * rank reopens it - checked against the spec - as for --resume. */
static int carry_extend(sweep_job *j)
{
    if (j->ext.mode == NS_EXTEND_NONE) return NS_EXIT_OK;
    ns_status st = ns_results_close(j->res);
    j->res = NULL;
    int code = agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_FAIL);
    if (code == NS_EXIT_OK && j->rank == 0) st = ns_extend_carry(&j->ext);
    if (ns_fault("kill-after-carry", j->rank)) raise(SIGKILL); /* tests: killed mid-extension */
    if (code == NS_EXIT_OK) code = agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_FAIL);
    if (code != NS_EXIT_OK) {
        say0(j->rank, ns_error_msg());
        return code;
    }
    j->resuming = 1;
    return open_output(j);
}

/* 8. The extended sweep ran to its end: OUT.extending takes OUT's place. */
static int commit_extend(sweep_job *j, int code)
{
    if (j->ext.mode == NS_EXTEND_NONE || !j->finished) return code;
    if (ns_fault("kill-before-commit", j->rank)) raise(SIGKILL); /* tests */
    ns_status st = j->rank == 0 ? ns_extend_commit(&j->ext) : NS_OK;
    if (st != NS_OK) fprintf(stderr, "normsweep run: %s (%s is complete; OUT is unchanged)\n",
                             ns_error_msg(), j->path);
    else if (j->rank == 0 && !j->o->quiet)
        fprintf(stderr, "normsweep: %s extended: %d runs, %d of them kept from it\n", j->o->out,
                j->spec->nruns, j->ext.nkept);
    int c = agree(st == NS_OK ? NS_EXIT_OK : NS_EXIT_FAIL);
    return c > code ? c : code;
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
               {"paths", check_paths}, {"extend", plan_extend}, {"file", open_output},
               {"carry", carry_extend}, {"resume", skip_finished}};
enum { NSTARTUP = sizeof STARTUP / sizeof STARTUP[0] };
_Static_assert((int)NSTARTUP <= (int)NS_MAX_STARTUP, "sweep_job.t_step: room for every start-up step");

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
            j->spec->nruns, j->spec->nruns - j->nskip, j->size, j->size == 1 ? "" : "s", j->path);
    if (j->ext.mode != NS_EXTEND_NONE)
        fprintf(stderr, "normsweep: extending %s (%d runs): %d finished runs copied, %d continue "
                "from their checkpoints; it is replaced when the sweep is complete\n", j->o->out,
                j->ext.nkept, j->ext.carried.finished, j->ext.carried.resumed);
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
    ns_run_cadence cad = {j->o->flush_s, j->o->checkpoint_s};
    ns_run_control ctl = {c, ctl_poll, ctl_stop, ckpt, &cad};
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
    j->finished = st == NS_OK && cs == NS_OK && j->cr.complete;
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
    ns_extend_free(&j->ext);
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
    j.path = o->out;
    j.t_mpi_init = t_mpi_init;
    int code = NS_EXIT_OK;
    for (int k = 0; k < NSTARTUP && code == NS_EXIT_OK; k++) {
        double t0 = ns_now_s();
        code = STARTUP[k].fn(&j);
        j.t_step[k] = ns_now_s() - t0;
    }
    if (code == NS_EXIT_OK) {
        print_banner(&j);
        code = commit_extend(&j, run_sweep(&j));
    }
    sweep_free(&j);
    return code;
}

int ns_cmd_run(int argc, char **argv)
{
    run_opts o;
    int rc = ns_run_parse_args(argc, argv, &o);
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
