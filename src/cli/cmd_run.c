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
#include "normsweep/coord.h"
#include "normsweep/data.h"
#include "normsweep/results.h"
#include "normsweep/run.h"
#include "normsweep/spec.h"
#include "normsweep/version.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* sweep()'s answer when ranks were lost: not an exit code, ns_cmd_run aborts the job */
enum { NS_EXIT_LOST = -100 };

typedef struct run_opts {
    const char *spec, *out;
    int resume, force, quiet;
    int shard, nshards;
    double progress_every, rank_timeout;
} run_opts;

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: normsweep run SPEC -o OUT [--resume | --force] [--shard I/N]\n"
            "                     [--progress-every SECONDS] [--rank-timeout SECONDS] [--quiet]\n"
            "  Runs every configuration of the sweep file SPEC with all MPI ranks and\n"
            "  writes OUT (HDF5, docs/hdf5-schema.md). Checkpoints go to OUT.ckpt/,\n"
            "  progress to OUT.progress.json.\n"
            "  --resume          continue an interrupted sweep in OUT (same spec only)\n"
            "  --force           overwrite an existing OUT\n"
            "  --shard I/N       run only runs with index %% N == I (Slurm arrays; then\n"
            "                    `normsweep merge`)\n"
            "  --progress-every SECONDS  progress line interval on rank 0 (default 30)\n"
            "  --rank-timeout SECONDS  a rank silent this long (dead, hung, cut off) stops\n"
            "                    the sweep; after a stop, ranks silent this long are given\n"
            "                    up and the job ends (default 300; docs/coordinator.md)\n"
            "  --quiet           no banner or progress lines (OUT.progress.json is kept)\n"
            "exit: 0 complete, 1 a run failed, 2 bad input (nothing written),\n"
            "      3 stopped by a signal (resume with --resume)\n");
}

static int parse_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nshards = 1;
    o->progress_every = 30.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            run_usage(stdout);
            return -1;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) && i + 1 < argc) {
            o->out = argv[++i];
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = 1;
        } else if (strcmp(a, "--force") == 0) {
            o->force = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--progress-every") == 0 && i + 1 < argc) {
            char *end;
            o->progress_every = strtod(argv[++i], &end);
            if (*end || o->progress_every < 0) {
                fprintf(stderr, "normsweep run: --progress-every needs seconds >= 0, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--rank-timeout") == 0 && i + 1 < argc) {
            char *end;
            o->rank_timeout = strtod(argv[++i], &end);
            if (*end || !(o->rank_timeout > 0)) {
                fprintf(stderr, "normsweep run: --rank-timeout needs seconds > 0, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--shard") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%d/%d", &o->shard, &o->nshards) != 2 || o->nshards < 1 ||
                o->shard < 0 || o->shard >= o->nshards) {
                fprintf(stderr, "normsweep run: --shard needs I/N with 0 <= I < N, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "normsweep run: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (!o->spec) {
            o->spec = a;
        } else {
            fprintf(stderr, "normsweep run: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!o->spec || !o->out) {
        run_usage(stderr);
        return 2;
    }
    if (o->resume && o->force) {
        fprintf(stderr, "normsweep run: --resume and --force exclude each other\n");
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------ one run */

typedef struct sweep_ctx {
    const ns_spec *spec;
    const ns_dataset *data;
    ns_results *res;
    char ckpt_dir[4096];
    int rank;
} sweep_ctx;

/* The run's control hooks are the coordinator's (ctx = the ns_coord). */
static void ctl_poll(void *coord) { ns_coord_poll(coord); }
static int ctl_stop(void *coord) { return ns_coord_stop_requested(coord); }

static ns_status execute_run(void *vctx, ns_coord *c, int index, ns_run_outcome *out)
{
    sweep_ctx *s = vctx;
    const ns_run_config *cfg = &s->spec->runs[index];
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/run_%05d.ckpt", s->ckpt_dir, index);
    ns_run_sink sink;
    NS_TRY(ns_results_sink_new(s->res, index, s->rank, &sink));
    ns_run_control ctl = {c, ctl_poll, ctl_stop, ckpt};
    ns_run_result r;
    ns_status st = ns_run_execute(cfg, s->data, &sink, &ctl, &r);
    ns_results_sink_free(&sink);
    out->status = st == NS_OK ? r.status : NS_RUN_FAILED;
    out->steps = (long)r.steps_done;
    out->final_loss = r.final_train_loss;
    if (st == NS_OK && r.status != NS_RUN_DONE)
        snprintf(out->msg, sizeof out->msg, "%.*s", (int)sizeof out->msg - 1, r.message);
    return st;
}

/* ------------------------------------------------------------ the sweep */

/* Print every line of a multi-line message from rank 0 only. */
static void say0(int rank, const char *msg)
{
    if (rank == 0 && msg && *msg) fprintf(stderr, "%s%s", msg, msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* 1 on every rank if any rank has bad != 0. */
static int any(int bad)
{
    int all = 0;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

static int sweep(const run_opts *o, int rank, int size)
{
    /* 1. the spec: every rank parses the same file (deterministic) */
    ns_spec *spec = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_load(o->spec, &spec, &errors);
    if (any(st != NS_OK)) {
        say0(rank, errors ? errors : ns_error_msg());
        free(errors);
        ns_spec_free(spec);
        return NS_EXIT_USAGE;
    }

    /* 2. the data set, loaded once per rank and shared by its runs */
    const ns_dataset *data = NULL;
    st = ns_dataset_cache_get(spec->data, spec->runs[0].data_seed, &data);
    if (any(st != NS_OK)) {
        if (st != NS_OK) fprintf(stderr, "normsweep run: rank %d: %s\n", rank, ns_error_msg());
        ns_spec_free(spec);
        return NS_EXIT_USAGE;
    }

    /* 3. the output file */
    int exists = access(o->out, F_OK) == 0;
    if (exists && !o->resume && !o->force) {
        say0(rank, "normsweep run: output exists; use --resume to continue it or --force to overwrite it");
        if (rank == 0) fprintf(stderr, "  (%s)\n", o->out);
        ns_spec_free(spec);
        return NS_EXIT_USAGE;
    }
    char ckpt_dir[4096];
    snprintf(ckpt_dir, sizeof ckpt_dir, "%s.ckpt", o->out);
    if (rank == 0 && mkdir(ckpt_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "normsweep run: cannot create checkpoint directory %s: %s\n", ckpt_dir,
                strerror(errno));
        st = NS_ERR_IO;
    }
    if (any(st != NS_OK)) {
        ns_spec_free(spec);
        return NS_EXIT_FAIL;
    }

    ns_results *res = NULL;
    if (o->resume && exists) {
        st = ns_results_open(o->out, MPI_COMM_WORLD, spec, &res);
    } else {
        char h5[64], mpi[256];
        ns_hdf5_version(h5, sizeof h5);
        ns_mpi_version(mpi, sizeof mpi);
        ns_results_meta meta = {NS_VERSION, ns_git_commit(), h5, mpi, ns_blas_kernel(),
                                ns_blas_threads(), data->mean, data->std};
        st = ns_results_create(o->out, MPI_COMM_WORLD, spec, &meta, &res);
    }
    if (st != NS_OK) {
        say0(rank, ns_error_msg());
        ns_spec_free(spec);
        return st == NS_ERR_ARG || st == NS_ERR_FORMAT ? NS_EXIT_USAGE : NS_EXIT_FAIL;
    }

    /* 4. what to run: not finished before, in this shard */
    unsigned char *skip = calloc((size_t)spec->nruns, 1);
    double *cost = calloc((size_t)spec->nruns, sizeof *cost);
    int nskip = 0;
    for (int i = 0; skip && cost && i < spec->nruns; i++) {
        ns_run_cost rc = ns_plan_run_cost(spec, i);
        cost[i] = rc.total_gflop;
        if (i % o->nshards != o->shard) skip[i] = 1;
        if (o->resume && exists && rank == 0 && !skip[i]) {
            ns_run_status rs = NS_RUN_PENDING;
            if (ns_results_run_status(res, i, &rs) == NS_OK &&
                (rs == NS_RUN_DONE || rs == NS_RUN_DIVERGED))
                skip[i] = 1;
        }
        nskip += skip[i];
    }
    if (rank == 0 && !o->quiet) {
        fprintf(stderr, "normsweep: %s: %d runs (%d to run) on %d rank%s, output %s\n",
                spec->name, spec->nruns, spec->nruns - nskip, size, size == 1 ? "" : "s", o->out);
        fprintf(stderr, "normsweep: BLAS kernel %s (%s), %d thread%s per rank\n",
                ns_blas_kernel(), ns_blas_kernel_origin(), ns_blas_threads(),
                ns_blas_threads() == 1 ? "" : "s");
    }

    char progress[4200];
    snprintf(progress, sizeof progress, "%s.progress.json", o->out);
    /* --quiet silences the progress lines, not the progress sidecar */
    FILE *devnull = o->quiet ? fopen("/dev/null", "w") : NULL;
    ns_coord_opts co = {spec->nruns, cost, skip, o->progress_every, progress,
                        devnull ? devnull : stderr, o->rank_timeout};
    sweep_ctx sc;
    memset(&sc, 0, sizeof sc);
    sc.spec = spec;
    sc.data = data;
    sc.res = res;
    sc.rank = rank;
    snprintf(sc.ckpt_dir, sizeof sc.ckpt_dir, "%s", ckpt_dir);
    ns_coord_result cr;
    memset(&cr, 0, sizeof cr);
    st = ns_coord_execute(MPI_COMM_WORLD, &co, execute_run, &sc, &cr);
    if (st == NS_OK && cr.n_lost > 0) {
        /* Ranks were given up: a collective close would wait for them forever.
         * Every row already written is in the file (independent writes); the
         * caller ends the job (ns_cmd_run: MPI_Abort). */
        fprintf(stderr, "normsweep: rank %d: %d rank%s lost; the file holds every finished run; "
                        "ending the job: resume it with --resume\n",
                rank, cr.n_lost, cr.n_lost == 1 ? "" : "s");
        if (devnull) fclose(devnull);
        ns_coord_result_free(&cr);
        free(skip);
        free(cost);
        ns_spec_free(spec);
        return NS_EXIT_LOST;
    }
    ns_status cs = ns_results_close(res);
    if (devnull) fclose(devnull);

    int code = NS_EXIT_OK;
    if (st != NS_OK || cs != NS_OK) {
        say0(rank, ns_error_msg());
        code = NS_EXIT_FAIL;
    } else if (!cr.complete) {
        code = NS_EXIT_INCOMPLETE;
    } else if (cr.n_failed > 0) {
        code = NS_EXIT_FAIL;
    }
    if (rank == 0) {
        if (!o->quiet || code != NS_EXIT_OK)
            fprintf(stderr,
                    "normsweep: %s: %d done, %d diverged, %d failed, %d stopped, %d pending, "
                    "%d skipped in %.1f s%s\n",
                    spec->name, cr.n_done, cr.n_diverged, cr.n_failed, cr.n_stopped, cr.n_pending,
                    cr.n_skipped, cr.wall_s,
                    code == NS_EXIT_INCOMPLETE ? " - incomplete: resume with --resume" : "");
        for (int i = 0; cr.runs && i < spec->nruns; i++)
            if (cr.runs[i].status == NS_RUN_FAILED)
                fprintf(stderr, "normsweep: run %d failed: %s\n", i, cr.runs[i].msg);
    }
    if (rank == 0 && code == NS_EXIT_OK && o->nshards == 1) rmdir(ckpt_dir); /* empty when done */
    ns_coord_result_free(&cr);
    free(skip);
    free(cost);
    ns_spec_free(spec);
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
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int code = sweep(&o, rank, size);
    ns_dataset_cache_clear();
    if (code == NS_EXIT_LOST) /* MPI_Finalize would wait for the lost ranks */
        MPI_Abort(MPI_COMM_WORLD, NS_EXIT_INCOMPLETE);
    MPI_Finalize();
    return code;
}
