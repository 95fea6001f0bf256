/* bench_probe.c - `normsweep bench --probe --arch A --norm N ...` (CLI file: prints).
 *
 * What a probe step costs, in training steps, measured with the run's own probe
 * code (src/run/run_probe.c: ns_run_probe_init / ns_run_probe_step, the same
 * ns_objective glue a sweep uses), on synthetic data of the arch's shape.
 * Prints ONE JSON line:
 *   ms_per_step      forward + backward + SGD update (ns_net_train_step)
 *   ms_per_fwdbwd    forward + backward alone
 *   ms_per_probe     one landscape probe with --etas step sizes (default 8) as
 *                    the run makes it: save w and g, the landscape through the
 *                    run's glue, put w back (ns_run_probe_begin / _landscape /
 *                    _restore, the calls ns_run_probe_step makes)
 *   probe_per_step   ms_per_probe / ms_per_step (issue 5: <= 8.0 for 8 etas)
 *   ms_probe_step    the whole ns_run_probe_step with only the landscape on:
 *                    adds the per-layer gradient norms and the step's own SGD
 *                    update (which a step without probes makes too)
 *   ics_*            ns_run_probe_step with only ICS on all measured layers:
 *                    evaluations made, ms, ms per evaluation, and that over
 *                    ms_per_fwdbwd (issue 5: <= 1 fwd+bwd per measured layer)
 *   hess_*           with --hessian K: K power iterations (tol 0, so all K
 *                    run), ms per iteration (2 gradient evaluations each)
 * Every rep restores the initial parameters first, so each timed call does the
 * same work; the parts are interleaved within a rep. Times are the process's
 * CPU time (CLOCK_PROCESS_CPUTIME_ID; run with 1 BLAS thread), medians over
 * --reps: on a shared machine wall time charges a long call (a probe, tens of
 * ms) for the time slices other processes took, and a 1 ms step mostly
 * escapes that, which skews the ratio. wall_ms_per_* give wall times too. */
#include "normsweep/clock.h"
#include "cli_util.h"
#include "normsweep/blas.h"
#include "normsweep/cli.h"
#include "normsweep/error.h"
#include "normsweep/net.h"

#include "../run/run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);

typedef struct probe_opts {
    const char *arch, *norm;
    int batch, reps, warmup, threads, etas, hessian;
    uint64_t seed;
    double lr;
} probe_opts;

/* The parts timed in one rep, and their sample arrays [reps]. */
enum { T_STEP, T_FWDBWD, T_PROBE, T_PSTEP, T_ICS, T_HESS, T_COUNT };

static void usage(FILE *f)
{
    fprintf(f, "usage: normsweep bench --probe --arch A [--norm N] [--batch 128] [--reps 7]\n"
               "                       [--warmup 2] [--etas 8] [--hessian K] [--threads 1]\n"
               "                       [--lr 0.01] [--seed S]\n");
}

/* Input shape and output count of an arch (the data sets it is meant for):
 * vgg 3x32x32 -> 10 classes, mlp:N0-..-Nk N0 -> Nk, dln width W -> W. */
static ns_status data_shape(const char *arch, ns_dataset_info *info)
{
    ns_arch a;
    NS_TRY(ns_arch_parse(arch, &a));
    memset(info, 0, sizeof *info);
    int last = a.items[a.nitems - 1].width;
    if (a.family == NS_ARCH_VGG) {
        info->shape = (ns_shape){3, 32, 32};
        info->nclasses = 10;
    } else if (a.family == NS_ARCH_DLN) {
        info->shape = (ns_shape){a.items[0].width, 1, 1};
        info->target_dim = last;
    } else {
        info->shape = (ns_shape){atoi(strchr(arch, ':') + 1), 1, 1};
        info->nclasses = last;
    }
    return NS_OK;
}

/* A run config with exactly one probe kind on ("landscape", "ics", "hessian"). */
static ns_run_config probe_config(const probe_opts *o, const char *kind)
{
    ns_run_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "%s", o->arch);
    snprintf(c.norm, sizeof c.norm, "%s", o->norm);
    c.lr = o->lr;
    c.seed = o->seed;
    c.batch = o->batch;
    c.steps = 1;
    c.log_every = 1;
    c.init = NS_INIT_GLOROT;
    c.diverge_above = 1e30;
    ns_probe_config *p = &c.probe;
    p->sched = NS_SCHED_EVERY;
    p->every = 1;
    p->eta_rel_lo = 0.5;
    p->eta_rel_hi = 4.0;
    p->eta_count = o->etas;
    p->landscape = strcmp(kind, "landscape") == 0;
    p->ics = p->ics_all = strcmp(kind, "ics") == 0;
    p->hessian = strcmp(kind, "hessian") == 0;
    p->hess_iters = o->hessian;
    p->hess_tol = 0.0; /* never converged: exactly hess_iters iterations */
    p->hess_mode = NS_MODE_TRAIN;
    return c;
}

typedef struct bench {
    ns_net *net;
    ns_optim opt; /* plain SGD: the training step's, and a run's probe step's */
    float *x, *t, *w0;
    int32_t *y;
    ns_run_config cfg[3];
    ns_run_dims dims[3];
    ns_run_probe probe[3]; /* landscape, ICS, Hessian */
    double *times[T_COUNT];
} bench;

static void bench_free(bench *b)
{
    for (int k = 0; k < 3; k++) ns_run_probe_free(&b->probe[k]);
    ns_optim_free(&b->opt);
    for (int k = 0; k < T_COUNT; k++) free(b->times[k]);
    ns_net_free(b->net);
    free(b->x);
    free(b->t);
    free(b->y);
    free(b->w0);
}

static ns_status bench_build(bench *b, const probe_opts *o)
{
    ns_dataset_info info;
    ns_norm_config norm;
    NS_TRY(data_shape(o->arch, &info));
    NS_TRY(ns_norm_parse(o->norm, &norm));
    int regression = info.nclasses == 0, nout = regression ? info.target_dim : info.nclasses;
    NS_TRY(ns_net_build(o->arch, norm.kind == NS_NORM_NONE ? NULL : &norm, info.shape, nout,
                        regression ? NS_LOSS_SQUARED_SUM : NS_LOSS_SOFTMAX_CE, o->batch,
                        &b->net));
    NS_TRY(ns_net_init(b->net, o->seed, NS_INIT_GLOROT));
    ns_net *n = b->net;
    info.n_train = (size_t)o->batch;

    size_t nx = (size_t)o->batch * ns_shape_size(info.shape);
    b->x = malloc(nx * sizeof *b->x);
    if (regression) b->t = malloc((size_t)o->batch * nout * sizeof *b->t);
    else b->y = malloc((size_t)o->batch * sizeof *b->y);
    b->w0 = malloc(n->nparams * sizeof *b->w0);
    for (int k = 0; k < T_COUNT; k++) b->times[k] = calloc((size_t)o->reps, sizeof(double));
    for (int k = 0; k < T_COUNT; k++)
        NS_CHECK(b->times[k], NS_ERR_NOMEM, "bench --probe: out of memory");
    NS_CHECK(b->x && (b->t || b->y) && b->w0, NS_ERR_NOMEM, "bench --probe: out of memory");

    ns_rng r;
    ns_rng_init(&r, o->seed, NS_STREAM(NS_STREAM_SYNTH, 0));
    for (size_t i = 0; i < nx; i++) b->x[i] = ns_rng_normal(&r);
    for (int i = 0; b->y && i < o->batch; i++) b->y[i] = (int32_t)ns_rng_below(&r, (uint32_t)nout);
    for (int i = 0; b->t && i < o->batch * nout; i++) b->t[i] = ns_rng_normal(&r);
    memcpy(b->w0, n->params, n->nparams * sizeof *b->w0);

    ns_optim_config oc = ns_optim_defaults();
    oc.lr = o->lr;
    NS_TRY(ns_optim_create(&b->opt, &oc, n->nparams));
    const char *kinds[3] = {"landscape", "ics", "hessian"};
    for (int k = 0; k < 3; k++) {
        b->cfg[k] = probe_config(o, kinds[k]);
        NS_TRY(ns_run_dims_get(&b->cfg[k], &info, &b->dims[k]));
        b->dims[k].nparams = n->nparams;
        NS_TRY(ns_run_probe_init(&b->probe[k], &b->cfg[k], &b->dims[k], n));
    }
    return NS_OK;
}

/* Back to w0, then the step's forward/backward (untimed unless asked): the
 * state a probe step starts from in a run. Returns the loss. */
static double fresh_gradient(bench *b, int batch, double *seconds)
{
    memcpy(b->net->params, b->w0, b->net->nparams * sizeof *b->w0);
    double t0 = ns_cpu_s();
    double loss = ns_net_forward(b->net, b->x, b->y, b->t, batch, NULL, NULL);
    ns_net_backward(b->net, batch);
    if (seconds) *seconds = ns_cpu_s() - t0;
    return loss;
}

/* One probe step of kind k; returns its wall time and adds its evaluations. */
static ns_status timed_probe(bench *b, int k, int batch, double *seconds, long *evals)
{
    ns_run_probe *p = &b->probe[k];
    double loss = fresh_gradient(b, batch, NULL);
    long e0 = p->glue.evals;
    double t0 = ns_cpu_s();
    NS_TRY(ns_run_probe_step(p, b->net, &b->opt, b->x, b->y, b->t, batch, 0, 0, loss, 0.0, NULL));
    *seconds = ns_cpu_s() - t0;
    *evals = p->glue.evals - e0;
    return NS_OK;
}

/* The landscape probe alone, as ns_run_probe_step makes it. */
static ns_status timed_landscape(bench *b, int batch, double *seconds)
{
    ns_run_probe *p = &b->probe[0];
    fresh_gradient(b, batch, NULL);
    double beta, rbeta, t0 = ns_cpu_s();
    ns_run_probe_begin(p, b->net, b->x, b->y, b->t, batch);
    NS_TRY(ns_run_probe_landscape(p, b->opt.cfg.lr, 0, &beta, &rbeta));
    ns_run_probe_restore(p, p->wsave);
    *seconds = ns_cpu_s() - t0;
    return NS_OK;
}

/* One rep: every part once, interleaved. rep < 0 is warm-up (not recorded). */
static ns_status one_rep(bench *b, const probe_opts *o, int rep, long evals[3])
{
    double t[T_COUNT] = {0};
    memcpy(b->net->params, b->w0, b->net->nparams * sizeof *b->w0);
    double t0 = ns_cpu_s();
    ns_net_train_step(b->net, b->x, b->y, b->t, o->batch, &b->opt, 0, NULL);
    t[T_STEP] = ns_cpu_s() - t0;
    fresh_gradient(b, o->batch, &t[T_FWDBWD]);
    NS_TRY(timed_landscape(b, o->batch, &t[T_PROBE]));
    NS_TRY(timed_probe(b, 0, o->batch, &t[T_PSTEP], &evals[0]));
    NS_TRY(timed_probe(b, 1, o->batch, &t[T_ICS], &evals[1]));
    if (o->hessian > 0) NS_TRY(timed_probe(b, 2, o->batch, &t[T_HESS], &evals[2]));
    if (rep >= 0)
        for (int k = 0; k < T_COUNT; k++) b->times[k][rep] = t[k];
    return NS_OK;
}

static int run(const probe_opts *o)
{
    bench b;
    memset(&b, 0, sizeof b);
    ns_status st = bench_build(&b, o);
    openblas_set_num_threads(o->threads);
    long evals[3] = {0, 0, 0};
    for (int r = -o->warmup; st == NS_OK && r < o->reps; r++) st = one_rep(&b, o, r, evals);
    if (st != NS_OK) {
        fprintf(stderr, "normsweep bench --probe: %s\n", ns_error_msg());
        int code = ns_error_code() == NS_ERR_ARG ? NS_EXIT_USAGE : NS_EXIT_FAIL;
        bench_free(&b);
        return code;
    }
    double ms[T_COUNT];
    for (int k = 0; k < T_COUNT; k++) ms[k] = 1e3 * ns_median(b.times[k], o->reps);
    double ics_eval = evals[1] > 0 ? ms[T_ICS] / evals[1] : 0.0;
    double hess_iter = o->hessian > 0 ? ms[T_HESS] / o->hessian : 0.0;
    printf("{\"bench\":\"probe\",\"arch\":\"%s\",\"norm\":\"%s\",\"batch\":%d,\"reps\":%d,"
           "\"params\":%zu,\"etas\":%d,\"ms_per_step\":%.3f,\"ms_per_fwdbwd\":%.3f,"
           "\"ms_per_probe\":%.3f,\"probe_evals\":%ld,\"probe_per_step\":%.3f,\"ms_probe_step\":%.3f,"
           "\"ics_layers\":%d,\"ics_evals\":%ld,\"ms_ics\":%.3f,\"ms_per_ics_eval\":%.3f,"
           "\"ics_eval_per_fwdbwd\":%.3f,\"hess_iters\":%d,\"hess_evals\":%ld,"
           "\"ms_per_hess_iter\":%.3f,\"hess_iter_per_step\":%.3f,"
           "\"kernel\":\"%s\",\"threads\":%d}\n",
           o->arch, o->norm, o->batch, o->reps, b.net->nparams, o->etas, ms[T_STEP],
           ms[T_FWDBWD], ms[T_PROBE], evals[0], ms[T_PROBE] / ms[T_STEP], ms[T_PSTEP], b.probe[1].nics,
           evals[1], ms[T_ICS], ics_eval, ics_eval / ms[T_FWDBWD], o->hessian, evals[2],
           hess_iter, hess_iter / ms[T_STEP], ns_blas_kernel(), ns_blas_threads());
    bench_free(&b);
    return NS_EXIT_OK;
}

int ns_bench_probe(int argc, char **argv)
{
    probe_opts o = {.arch = NULL, .norm = "none", .batch = 128, .reps = 7, .warmup = 2,
                    .threads = 1, .etas = 8, .hessian = 0, .seed = 0, .lr = 0.01};
    const ns_opt opts[] = {
        {"--arch", NS_OPT_STR, &o.arch},       {"--norm", NS_OPT_STR, &o.norm},
        {"--batch", NS_OPT_COUNT, &o.batch},     {"--reps", NS_OPT_COUNT, &o.reps},
        {"--warmup", NS_OPT_INT, &o.warmup},   {"--threads", NS_OPT_COUNT, &o.threads},
        {"--etas", NS_OPT_COUNT, &o.etas},       {"--hessian", NS_OPT_INT, &o.hessian},
        {"--seed", NS_OPT_U64, &o.seed},       {"--lr", NS_OPT_DOUBLE, &o.lr},
    };
    static const char *const flags[] = {"--probe", NULL};
    int rc = ns_cli_parse_opts(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), flags,
                               "normsweep bench --probe", usage);
    if (rc != 0) return rc < 0 ? NS_EXIT_OK : rc;
    if (!o.arch || o.batch < 1 || o.reps < 1 || o.warmup < 0 || o.threads < 1 || o.etas < 1 ||
        o.hessian < 0 || !(o.lr > 0)) {
        fprintf(stderr, "normsweep bench --probe: need --arch; batch, reps, threads, etas >= 1; "
                        "warmup, hessian >= 0; lr > 0\n");
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    return run(&o);
}
