/* results.c - the results file of a sweep: its layout (docs/hdf5-schema.md)
 * and the per-run sink. Only h5store.h is used here; no HDF5 calls. */
#include "normsweep/results.h"

#include "normsweep/h5store.h"
#include "normsweep/net.h"
#include "normsweep/norm.h"
#include "normsweep/probe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STR_ARCH NS_RESULTS_ARCH_LEN
#define STR_NORM NS_RESULTS_NORM_LEN
#define STR_SHORT NS_RESULTS_STATUS_LEN
#define STR_NAME NS_RESULTS_NAME_LEN
#define STR_MSG NS_RESULTS_MSG_LEN

struct ns_results {
    ns_h5 *h;
    ns_run_dims dims; /* maxima over runs */
    int ntensors;     /* max weight tensors per run */
    size_t nweights;  /* max params + state per run */
    const ns_spec *spec;
};

/* ------------------------------------------------------------------ layout */

/* Shapes that only depend on (arch, norm): parameter count and tensor list. */
typedef struct net_shape {
    size_t nflat;
    int ntensors;
} net_shape;

static ns_status shape_of(const ns_spec *s, const ns_run_config *c, net_shape *out)
{
    ns_norm_config norm;
    NS_TRY(ns_norm_parse(c->norm, &norm));
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim;
    ns_net *net = NULL;
    NS_TRY(ns_net_build(c->arch, norm.kind == NS_NORM_NONE ? NULL : &norm, s->in_shape, nout,
                        s->nclasses > 0 ? NS_LOSS_SOFTMAX_CE : NS_LOSS_SQUARED_SUM, 1, &net));
    out->nflat = net->nparams + net->nstate;
    out->ntensors = 0;
    for (int i = 0; i < net->nlayers; i++) out->ntensors += net->layers[i].nviews;
    ns_net_free(net);
    return NS_OK;
}

static ns_dataset_info info_of(const ns_spec *s)
{
    ns_dataset_info info;
    memset(&info, 0, sizeof info);
    info.shape = s->in_shape;
    info.nclasses = s->nclasses;
    info.target_dim = s->target_dim;
    info.n_train = (size_t)s->n_train;
    info.n_test = (size_t)s->n_test;
    return info;
}

static void max_dims(ns_run_dims *m, const ns_run_dims *d)
{
#define MAXF(f) if (d->f > m->f) m->f = d->f
    MAXF(nlog); MAXF(neval); MAXF(nprobe); MAXF(neta); MAXF(nlayers); MAXF(nnorm);
    MAXF(nunits); MAXF(nquant);
#undef MAXF
}

/* A growing list of dims/vars; names are string literals or owned by the
 * builder (freed with it). */
typedef struct builder builder;
struct builder {
    ns_h5_dim dims[16];
    int ndims;
    ns_h5_var vars[96];
    int nvars;
    void *owned[128];
    int nowned;
    int oom;
};

/* Keep p to free with the builder; a NULL p (out of memory) is remembered and
 * turned into NS_ERR_NOMEM when the layout is done. */
static void *own(builder *b, void *p)
{
    NS_ASSERT(b->nowned < (int)(sizeof b->owned / sizeof b->owned[0]));
    if (!p) b->oom = 1;
    else b->owned[b->nowned++] = p;
    return p;
}

static void add_dim(builder *b, const char *name, size_t size, ns_h5_type t, const void *coord,
                    const char *units, const char *long_name)
{
    NS_ASSERT(b->ndims < (int)(sizeof b->dims / sizeof b->dims[0]));
    ns_h5_dim d = {name, size, t, coord, 0, units, long_name};
    b->dims[b->ndims++] = d;
}

/* dims: comma-separated names, e.g. "run,probe,eta". */
static void add_var(builder *b, const char *name, ns_h5_type t, int str_len, const char *dims,
                    const char *units, const char *long_name)
{
    ns_h5_var v;
    memset(&v, 0, sizeof v);
    v.name = name;
    v.type = t;
    v.str_len = str_len;
    NS_ASSERT(b->nvars < (int)(sizeof b->vars / sizeof b->vars[0]));
    char *copy = own(b, strdup(dims)), *save = NULL;
    if (!copy) return;
    for (char *tok = strtok_r(copy, ",", &save); tok && v.ndims < NS_H5_MAX_DIMS;
         tok = strtok_r(NULL, ",", &save))
        v.dims[v.ndims++] = tok;
    v.units = units;
    v.long_name = long_name;
    b->vars[b->nvars++] = v;
}

/* Coordinates 1..n (layer numbers, as the paper counts them). */
static int32_t *one_based(builder *b, int n)
{
    int32_t *c = own(b, malloc(sizeof(int32_t) * (size_t)n));
    for (int i = 0; c && i < n; i++) c[i] = i + 1;
    return c;
}

/* Coordinates step(cfg, 0..n-1): the step number of each log or eval index. */
static int64_t *steps_of(builder *b, int64_t n, int64_t (*step)(const ns_run_config *, int64_t),
                         const ns_run_config *cfg)
{
    int64_t *c = own(b, malloc(sizeof(int64_t) * (size_t)n));
    for (int64_t i = 0; c && i < n; i++) c[i] = step(cfg, i);
    return c;
}

/* The run index itself, as the `run` coordinate. */
static int64_t run_index(const ns_run_config *cfg, int64_t i)
{
    (void)cfg;
    return i;
}

static ns_status build_layout(const ns_spec *s, ns_results *r, builder *b)
{
    memset(b, 0, sizeof *b);
    ns_dataset_info info = info_of(s);
    memset(&r->dims, 0, sizeof r->dims);
    r->ntensors = 1;
    r->nweights = 1;
    /* Runs sharing arch and norm share shapes: build each distinct pair once
     * (a sweep has few pairs and possibly very many runs). */
    int *pairs = own(b, malloc(sizeof(int) * (size_t)s->nruns)), npairs = 0;
    if (!pairs) return ns_error_set(NS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < s->nruns; i++) {
        ns_run_dims d;
        NS_TRY(ns_run_dims_get(&s->runs[i], &info, &d));
        max_dims(&r->dims, &d);
        int seen = 0;
        for (int k = 0; k < npairs && !seen; k++)
            seen = strcmp(s->runs[pairs[k]].arch, s->runs[i].arch) == 0 &&
                   strcmp(s->runs[pairs[k]].norm, s->runs[i].norm) == 0;
        if (seen) continue;
        pairs[npairs++] = i;
        net_shape ns;
        NS_TRY(shape_of(s, &s->runs[i], &ns));
        if (ns.nflat > r->nweights) r->nweights = ns.nflat;
        if (ns.ntensors > r->ntensors) r->ntensors = ns.ntensors;
    }
    const ns_run_dims *D = &r->dims;
    const ns_run_config *c0 = &s->runs[0];

    add_dim(b, "run", (size_t)s->nruns, NS_H5_I64, steps_of(b, s->nruns, run_index, c0), NULL,
            "run index");

    if (D->nlog > 0) {
        add_dim(b, "step", (size_t)D->nlog, NS_H5_I64, steps_of(b, D->nlog, ns_run_log_step, c0),
                "step", "training step");
        add_var(b, "train_loss", NS_H5_F64, 0, "run,step", "1", "training loss on the step's batch");
        add_var(b, "train_acc", NS_H5_F64, 0, "run,step", "1", "training accuracy on the step's batch");
        add_var(b, "grad_norm", NS_H5_F64, 0, "run,step", "1", "gradient norm ||grad L(w)||_2");
    }
    if (D->neval > 0) {
        add_dim(b, "eval", (size_t)D->neval, NS_H5_I64, steps_of(b, D->neval, ns_run_eval_step, c0),
                "step", "updates before evaluation");
        add_var(b, "test_loss", NS_H5_F64, 0, "run,eval", "1", "test loss (eval mode)");
        add_var(b, "test_acc", NS_H5_F64, 0, "run,eval", "1", "test accuracy (eval mode)");
    }
    if (D->nlayers > 0) {
        add_dim(b, "layer", (size_t)D->nlayers, NS_H5_I32, one_based(b, D->nlayers), NULL,
                "measured (dense/conv) layer, 1-based");
        add_var(b, "layer_name", NS_H5_STR, STR_NAME, "run,layer", NULL, "module name of the measured layer");
    }
    if (D->nnorm > 0) {
        add_dim(b, "act_layer", (size_t)D->nnorm, NS_H5_I32, one_based(b, D->nnorm), NULL,
                "hidden layer whose pre-activation is tracked, 1-based");
        add_var(b, "act_layer_name", NS_H5_STR, STR_NAME, "run,act_layer", NULL, "module whose output is tracked");
    }
    if (D->nunits > 0 && D->nnorm > 0) {
        add_dim(b, "unit", (size_t)D->nunits, NS_H5_I32, NULL, NULL, "tracked unit slot");
        add_var(b, "act_unit_index", NS_H5_I32, 0, "run,act_layer,unit", NULL, "channel/feature index of the tracked unit");
    }
    if (D->nprobe > 0) {
        int64_t *c = own(b, malloc(sizeof(int64_t) * (size_t)D->nprobe));
        if (c) NS_TRY(ns_run_probe_steps(c0, c, D->nprobe));
        add_dim(b, "probe", (size_t)D->nprobe, NS_H5_I64, c, "step", "training step of the probe");
        add_var(b, "probe_loss", NS_H5_F64, 0, "run,probe", "1", "L(w) on the step's batch");
        add_var(b, "probe_grad_norm", NS_H5_F64, 0, "run,probe", "1", "||g||_2");
        add_var(b, "probe_s", NS_H5_F64, 0, "run,probe", "s", "wall time of the probes at this step");
        if (D->nlayers > 0)
            add_var(b, "layer_grad_norm", NS_H5_F64, 0, "run,probe,layer", "1", "||grad_{W_i} L||_2");
        if (D->neta > 0) {
            double *c2 = own(b, malloc(sizeof(double) * (size_t)D->neta));
            if (c2) NS_TRY(ns_eta_grid(1.0, c0->probe.eta_rel_lo, c0->probe.eta_rel_hi, D->neta, c2));
            add_dim(b, "eta", (size_t)D->neta, NS_H5_F64, c2, "lr", "step size relative to the learning rate");
            add_var(b, "landscape_loss", NS_H5_F64, 0, "run,probe,eta", "1", "L(w - eta g)");
            add_var(b, "landscape_grad_change", NS_H5_F64, 0, "run,probe,eta", "1", "||g - grad L(w - eta g)||_2");
            add_var(b, "beta_eff", NS_H5_F64, 0, "run,probe", "1", "max_eta ||g - grad L(w - eta g)|| / ||eta g||");
            if (c0->probe.random_direction) {
                add_var(b, "rand_landscape_loss", NS_H5_F64, 0, "run,probe,eta", "1", "L(w - eta d), ||d|| = ||g||");
                add_var(b, "rand_landscape_grad_change", NS_H5_F64, 0, "run,probe,eta", "1", "||g - grad L(w - eta d)||_2");
                add_var(b, "rand_beta_eff", NS_H5_F64, 0, "run,probe", "1", "max_eta ||g - grad L(w - eta d)|| / ||eta d||");
            }
        }
        if (c0->probe.ics && D->nlayers > 0) {
            add_var(b, "ics_l2", NS_H5_F64, 0, "run,probe,layer", "1", "||G - G'||_2 (Definition 2.1)");
            add_var(b, "ics_cos", NS_H5_F64, 0, "run,probe,layer", "1", "cos(G, G') (Definition 2.1)");
        }
        if (D->nunits > 0 && D->nnorm > 0) {
            double *q = own(b, malloc(sizeof(double) * (size_t)D->nquant));
            for (int i = 0; q && i < D->nquant; i++) q[i] = c0->probe.act_quantiles[i];
            add_dim(b, "quantile", (size_t)D->nquant, NS_H5_F64, q, "1", "quantile level");
            add_var(b, "act_quantiles", NS_H5_F64, 0, "run,probe,act_layer,unit,quantile", "1", "quantiles over batch (x space) of the tracked unit's pre-activation");
            add_var(b, "act_mean", NS_H5_F64, 0, "run,probe,act_layer,unit", "1", "mean of the tracked unit's pre-activation");
            add_var(b, "act_std", NS_H5_F64, 0, "run,probe,act_layer,unit", "1", "std (ddof 0) of the tracked unit's pre-activation");
        }
        if (c0->probe.hessian) {
            add_var(b, "hess_top_eig", NS_H5_F64, 0, "run,probe", "1", "top Hessian eigenvalue (power iteration)");
            add_var(b, "hess_residual", NS_H5_F64, 0, "run,probe", "1", "||Hu - lambda u|| / |lambda|");
            add_var(b, "hess_iters", NS_H5_I32, 0, "run,probe", NULL, "power iterations made");
            if (c0->probe.hess_trace_samples > 0)
                add_var(b, "hess_trace", NS_H5_F64, 0, "run,probe", "1", "Hutchinson estimate of tr(H)");
        }
        if (c0->probe.thm41 && D->nnorm > 0) {
            add_var(b, "thm41_lhs", NS_H5_F64, 0, "run,probe,act_layer", "1", "sum_j ||grad_{y_j} L||^2 (Theorem 4.1)");
            add_var(b, "thm41_rhs", NS_H5_F64, 0, "run,probe,act_layer", "1", "sum_j gamma^2/sigma^2 (||g||^2 - <1,g>^2/m - <g,yhat>^2/m)");
        }
    }
    /* Final weights: flat params then state, with a tensor table giving
     * PyTorch names, offsets and shapes (analysis.state_dict rebuilds them). */
    add_dim(b, "weight", r->nweights, NS_H5_I64, NULL, NULL, "flat parameter index");
    add_dim(b, "tensor", (size_t)r->ntensors, NS_H5_I32, NULL, NULL, "weight tensor slot");
    add_dim(b, "axis", 4, NS_H5_I32, NULL, NULL, "tensor axis");
    add_var(b, "weights", NS_H5_F32, 0, "run,weight", "1", "final parameters then state (flat)");
    add_var(b, "tensor_name", NS_H5_STR, STR_NAME, "run,tensor", NULL, "PyTorch state_dict key");
    add_var(b, "tensor_offset", NS_H5_I64, 0, "run,tensor", NULL, "offset into weights");
    add_var(b, "tensor_shape", NS_H5_I32, 0, "run,tensor,axis", NULL, "shape (-1 past ndim)");

    /* The run table: settings, then outcome. */
    add_var(b, "lr", NS_H5_F64, 0, "run", "1", "learning rate");
    add_var(b, "arch", NS_H5_STR, STR_ARCH, "run", NULL, "architecture");
    add_var(b, "norm", NS_H5_STR, STR_NORM, "run", NULL, "normalization");
    add_var(b, "init", NS_H5_STR, STR_SHORT, "run", NULL, "weight initialisation");
    add_var(b, "seed", NS_H5_I64, 0, "run", NULL, "run seed");
    add_var(b, "batch", NS_H5_I32, 0, "run", NULL, "batch size");
    add_var(b, "momentum", NS_H5_F64, 0, "run", "1", "SGD momentum");
    add_var(b, "weight_decay", NS_H5_F64, 0, "run", "1", "weight decay");
    add_var(b, "steps", NS_H5_I64, 0, "run", NULL, "planned optimizer steps");
    add_var(b, "random_sample", NS_H5_I32, 0, "run", NULL, "random LR sample index (-1: grid)");
    add_var(b, "status", NS_H5_STR, STR_SHORT, "run", NULL, "pending/running/done/diverged/failed/stopped");
    add_var(b, "rank", NS_H5_I32, 0, "run", NULL, "MPI rank that last ran it");
    add_var(b, "wall_s", NS_H5_F64, 0, "run", "s", "wall time");
    add_var(b, "train_s", NS_H5_F64, 0, "run", "s", "wall time in training steps");
    add_var(b, "probe_s_total", NS_H5_F64, 0, "run", "s", "wall time in probes");
    add_var(b, "eval_s", NS_H5_F64, 0, "run", "s", "wall time in evaluation");
    add_var(b, "steps_done", NS_H5_I64, 0, "run", NULL, "optimizer steps completed");
    add_var(b, "diverged_step", NS_H5_I64, 0, "run", NULL, "step whose loss diverged (-1: none)");
    add_var(b, "message", NS_H5_STR, STR_MSG, "run", NULL, "why a run failed or diverged");
    add_var(b, "n_layers", NS_H5_I32, 0, "run", NULL, "measured layers of this run");
    add_var(b, "n_act_layers", NS_H5_I32, 0, "run", NULL, "tracked activation layers");
    add_var(b, "n_params", NS_H5_I64, 0, "run", NULL, "parameters");
    add_var(b, "final_train_loss", NS_H5_F64, 0, "run", "1", "loss of the last step's batch");
    add_var(b, "final_train_acc", NS_H5_F64, 0, "run", "1", "accuracy of the last step's batch");
    add_var(b, "final_test_loss", NS_H5_F64, 0, "run", "1", "last test loss");
    add_var(b, "final_test_acc", NS_H5_F64, 0, "run", "1", "last test accuracy");
    NS_CHECK(!b->oom, NS_ERR_NOMEM, "out of memory laying out the results file");
    return NS_OK;
}

static void builder_free(builder *b)
{
    for (int i = 0; i < b->nowned; i++) free(b->owned[i]);
}

static char *fmt_floats(const float *v, int n)
{
    char *out = malloc((size_t)n * 32 + 3);
    if (!out) return NULL;
    char *p = out;
    p += sprintf(p, "[");
    for (int i = 0; i < n; i++) p += sprintf(p, "%s%.9g", i ? ", " : "", v ? (double)v[i] : NAN);
    sprintf(p, "]");
    return out;
}

/* Settings columns, written once by rank 0 right after creation. */
static ns_status write_settings(ns_results *r, const ns_spec *s)
{
    for (int i = 0; i < s->nruns; i++) {
        const ns_run_config *c = &s->runs[i];
        size_t idx[1] = {(size_t)i};
        int32_t b = c->batch, rs = c->random_sample;
        int64_t seed = (int64_t)c->seed, steps = c->steps;
        NS_TRY(ns_h5_write_rows(r->h, "lr", (size_t)i, 1, &c->lr));
        NS_TRY(ns_h5_write_str(r->h, "arch", idx, c->arch));
        NS_TRY(ns_h5_write_str(r->h, "norm", idx, c->norm));
        NS_TRY(ns_h5_write_str(r->h, "init", idx, c->init == NS_INIT_HE ? "he" : "glorot"));
        NS_TRY(ns_h5_write_rows(r->h, "seed", (size_t)i, 1, &seed));
        NS_TRY(ns_h5_write_rows(r->h, "batch", (size_t)i, 1, &b));
        NS_TRY(ns_h5_write_rows(r->h, "momentum", (size_t)i, 1, &c->momentum));
        NS_TRY(ns_h5_write_rows(r->h, "weight_decay", (size_t)i, 1, &c->weight_decay));
        NS_TRY(ns_h5_write_rows(r->h, "steps", (size_t)i, 1, &steps));
        NS_TRY(ns_h5_write_rows(r->h, "random_sample", (size_t)i, 1, &rs));
        NS_TRY(ns_h5_write_str(r->h, "status", idx, "pending"));
    }
    return NS_OK;
}

ns_status ns_results_create(const char *path, MPI_Comm comm, const ns_spec *spec,
                            const ns_results_meta *meta, ns_results **out)
{
    *out = NULL;
    NS_CHECK(spec->nruns > 0, NS_ERR_ARG, "%s: the sweep has no runs", spec->path);
    ns_results *r = calloc(1, sizeof *r);
    NS_CHECK(r, NS_ERR_NOMEM, "out of memory");
    r->spec = spec;
    builder *b = calloc(1, sizeof *b);
    if (!b) {
        free(r);
        return ns_error_set(NS_ERR_NOMEM, "out of memory");
    }
    /* Rank 0's clock, on every rank (collective, before anything can fail):
     * the attributes are part of the layout all ranks must pass identically,
     * and ranks' clocks differ (another second under load, another node's
     * skew; found by tests/multihost). */
    long long now_ll = (long long)time(NULL);
    int bcast_ok = MPI_Bcast(&now_ll, 1, MPI_LONG_LONG, 0, comm) == MPI_SUCCESS;
    ns_status st = bcast_ok ? build_layout(spec, r, b)
                            : ns_error_set(NS_ERR_MPI, "%s: MPI_Bcast of the creation time failed", path);
    char *canon = st == NS_OK ? ns_spec_canonical(spec) : NULL;
    char *mean = NULL, *std = NULL, created[32], threads[16];
    if (st == NS_OK) {
        mean = fmt_floats(meta ? meta->data_mean : NULL, spec->in_shape.c);
        std = fmt_floats(meta ? meta->data_std : NULL, spec->in_shape.c);
        time_t now = (time_t)now_ll;
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(threads, sizeof threads, "%d", meta ? meta->blas_threads : 0);
    }
    if (st == NS_OK && (!canon || !mean || !std))
        st = ns_error_set(NS_ERR_NOMEM, "out of memory");
    if (st == NS_OK) {
#define M(f) (meta && meta->f ? meta->f : "unknown")
        const char *names[] = {"schema", "schema_version", "normsweep_version", "git_commit",
                               "hdf5_version", "mpi_version", "blas_kernel", "blas_threads",
                               "spec_name", "spec_text", "spec_canonical", "data",
                               "data_mean", "data_std", "created_utc"};
        const char *values[] = {"normsweep", NS_SCHEMA_VERSION, M(normsweep_version),
                                M(git_commit), M(hdf5_version), M(mpi_version), M(blas_kernel),
                                threads, spec->name, spec->text ? spec->text : "", canon,
                                spec->data, mean, std, created};
#undef M
        ns_h5_layout L = {b->dims, b->ndims, b->vars, b->nvars, names, values,
                          (int)(sizeof names / sizeof names[0])};
        st = ns_h5_create(path, comm, &L, &r->h);
    }
    free(canon);
    free(mean);
    free(std);
    builder_free(b);
    free(b);
    if (st == NS_OK) {
        int rank = 0;
        MPI_Comm_rank(comm, &rank);
        ns_status ws = rank == 0 ? write_settings(r, spec) : NS_OK;
        int bad = ws != NS_OK, anybad = 0;
        MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm);
        ns_status fs = ns_h5_flush(r->h);
        if (ws != NS_OK) st = ws;
        else if (anybad) st = ns_error_set(NS_ERR_HDF5, "%s: rank 0 could not write the run table", path);
        else st = fs;
    }
    if (st != NS_OK) {
        if (r->h) ns_h5_close(r->h);
        free(r);
        return st;
    }
    *out = r;
    return NS_OK;
}

/* First line where two texts differ, for the "different spec" message. */
static void first_diff(const char *a, const char *b, char *buf, size_t n)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    snprintf(buf, n, "file has ...%.80s... / spec gives ...%.80s...", a + from, b + from);
}

ns_status ns_results_open(const char *path, MPI_Comm comm, const ns_spec *spec, ns_results **out)
{
    *out = NULL;
    ns_results *r = calloc(1, sizeof *r);
    NS_CHECK(r, NS_ERR_NOMEM, "out of memory");
    r->spec = spec;
    ns_status st = ns_h5_open(path, comm, 1, &r->h);
    char *schema = NULL, *version = NULL, *canon_file = NULL, *canon = NULL;
    if (st == NS_OK && ns_h5_get_attr(r->h, "schema", &schema) != NS_OK)
        st = ns_error_set(NS_ERR_FORMAT, "%s: not a normsweep results file (no 'schema' attribute)", path);
    if (st == NS_OK && strcmp(schema, "normsweep") != 0)
        st = ns_error_set(NS_ERR_FORMAT, "%s: not a normsweep results file (schema '%s')", path, schema);
    if (st == NS_OK && (ns_h5_get_attr(r->h, "schema_version", &version) != NS_OK ||
                        strcmp(version, NS_SCHEMA_VERSION) != 0))
        st = ns_error_set(NS_ERR_FORMAT, "%s: schema version %s, this normsweep writes %s", path,
                          version ? version : "(none)", NS_SCHEMA_VERSION);
    if (st == NS_OK && ns_h5_get_attr(r->h, "spec_canonical", &canon_file) != NS_OK)
        st = ns_error_set(NS_ERR_FORMAT, "%s: no spec_canonical attribute", path);
    if (st == NS_OK) {
        canon = ns_spec_canonical(spec);
        if (!canon) st = ns_error_set(NS_ERR_NOMEM, "out of memory");
        else if (strcmp(canon, canon_file) != 0) {
            char d[256];
            first_diff(canon_file, canon, d, sizeof d);
            st = ns_error_set(NS_ERR_ARG, "%s was written by a different sweep spec than %s; "
                              "refusing to resume (%s)", path, spec->path, d);
        }
    }
    if (st == NS_OK) {
        builder b;
        memset(&b, 0, sizeof b);
        st = build_layout(spec, r, &b); /* the dims maxima, for the sinks */
        builder_free(&b);
    }
    free(schema);
    free(version);
    free(canon_file);
    free(canon);
    if (st != NS_OK) {
        if (r->h) ns_h5_close(r->h);
        free(r);
        return st;
    }
    *out = r;
    return NS_OK;
}

ns_status ns_results_close(ns_results *r)
{
    if (!r) return NS_OK;
    ns_status st = ns_h5_close(r->h);
    free(r);
    return st;
}

ns_status ns_results_status_in(ns_h5 *h, size_t run, ns_run_status *status)
{
    char buf[STR_SHORT + 1] = {0}; /* a full cell has no terminator */
    NS_TRY(ns_h5_read_rows(h, "status", run, 1, buf));
    *status = ns_run_status_parse(buf);
    return NS_OK;
}

ns_status ns_results_run_status(ns_results *r, int run, ns_run_status *status)
{
    return ns_results_status_in(r->h, (size_t)run, status);
}

/* ------------------------------------------------------------------ sink */

/* Per-step records of a run, kept in memory and written to their (run, i)
 * rows in one box per variable when the run syncs: column-major, one column
 * per variable, so a column slice is written as it is. */
#define TRACE_MAXVARS 3
typedef struct trace_buf {
    const char *vars[TRACE_MAXVARS];
    int nvars;
    int64_t n;       /* rows (log or eval indices)        */
    double *col;     /* [nvars][n]                        */
    int64_t lo, hi;  /* rows recorded but not written yet */
} trace_buf;

static const trace_buf step_trace = {{"train_loss", "train_acc", "grad_norm"}, 3, 0, NULL, -1, -1};
static const trace_buf eval_trace = {{"test_loss", "test_acc"}, 2, 0, NULL, -1, -1};

static ns_status trace_alloc(trace_buf *t, const trace_buf *proto, int64_t n)
{
    *t = *proto;
    t->n = n > 0 ? n : 1;
    t->col = malloc((size_t)t->n * (size_t)t->nvars * sizeof(double));
    NS_CHECK(t->col, NS_ERR_NOMEM, "out of memory for a run's traces");
    return NS_OK;
}

static void trace_record(trace_buf *t, int64_t i, const double *values)
{
    if (i < 0 || i >= t->n) return;
    for (int v = 0; v < t->nvars; v++) t->col[v * t->n + i] = values[v];
    if (t->lo < 0) t->lo = i;
    t->hi = i + 1;
}

static ns_status trace_flush(trace_buf *t, ns_h5 *h, int run)
{
    if (t->lo < 0 || t->hi <= t->lo) return NS_OK;
    size_t start[2] = {(size_t)run, (size_t)t->lo}, count[2] = {1, (size_t)(t->hi - t->lo)};
    for (int v = 0; v < t->nvars; v++)
        NS_TRY(ns_h5_write_box(h, t->vars[v], start, count, t->col + v * t->n + t->lo));
    t->lo = t->hi = -1;
    return NS_OK;
}

typedef struct sink_ctx {
    ns_results *r;
    int run, rank;
    ns_run_dims d;          /* this run's dims                   */
    trace_buf steps, evals; /* logged steps, evaluations         */
} sink_ctx;

static ns_status write_status(ns_results *r, int run, int rank, ns_run_status st,
                              const char *message)
{
    size_t idx[1] = {(size_t)run};
    int32_t rk = rank;
    NS_TRY(ns_h5_write_str(r->h, "status", idx, ns_run_status_name(st)));
    NS_TRY(ns_h5_write_rows(r->h, "rank", (size_t)run, 1, &rk));
    if (message) {
        char msg[STR_MSG];
        snprintf(msg, sizeof msg, "%s", message); /* a cell holds STR_MSG bytes */
        NS_TRY(ns_h5_write_str(r->h, "message", idx, msg));
    }
    return NS_OK;
}

static ns_status sink_begin(void *ctx, const ns_run_config *cfg, const ns_run_meta *m)
{
    sink_ctx *s = ctx;
    (void)cfg;
    ns_results *r = s->r;
    s->d = *m->dims;
    size_t idx[3];
    idx[0] = (size_t)s->run;
    for (int i = 0; i < s->d.nlayers; i++) {
        idx[1] = (size_t)i;
        NS_TRY(ns_h5_write_str(r->h, "layer_name", idx, m->layer_names[i]));
    }
    for (int j = 0; j < s->d.nnorm; j++) {
        idx[1] = (size_t)j;
        NS_TRY(ns_h5_write_str(r->h, "act_layer_name", idx, m->norm_names[j]));
    }
    if (s->d.nunits > 0 && s->d.nnorm > 0) {
        size_t st[3] = {(size_t)s->run, 0, 0}, ct[3] = {1, (size_t)s->d.nnorm, (size_t)s->d.nunits};
        int32_t *u = malloc(sizeof(int32_t) * (size_t)s->d.nnorm * s->d.nunits);
        NS_CHECK(u, NS_ERR_NOMEM, "out of memory");
        for (int k = 0; k < s->d.nnorm * s->d.nunits; k++) u[k] = m->act_units[k];
        ns_status stt = ns_h5_write_box(r->h, "act_unit_index", st, ct, u);
        free(u);
        NS_TRY(stt);
    }
    int32_t nl = s->d.nlayers, na = s->d.nnorm;
    int64_t np = (int64_t)s->d.nparams;
    NS_TRY(ns_h5_write_rows(r->h, "n_layers", (size_t)s->run, 1, &nl));
    NS_TRY(ns_h5_write_rows(r->h, "n_act_layers", (size_t)s->run, 1, &na));
    NS_TRY(ns_h5_write_rows(r->h, "n_params", (size_t)s->run, 1, &np));
    return write_status(r, s->run, s->rank, NS_RUN_RUNNING, "");
}

static ns_status sink_step(void *ctx, const ns_step_rec *rec)
{
    sink_ctx *s = ctx;
    double v[3] = {rec->loss, rec->acc, rec->grad_norm};
    trace_record(&s->steps, rec->index, v);
    return NS_OK;
}

static ns_status sink_eval(void *ctx, const ns_eval_rec *rec)
{
    sink_ctx *s = ctx;
    double v[2] = {rec->loss, rec->acc};
    trace_record(&s->evals, rec->index, v);
    return NS_OK;
}

static ns_status sink_sync(void *ctx)
{
    sink_ctx *s = ctx;
    NS_TRY(trace_flush(&s->steps, s->r->h, s->run));
    return trace_flush(&s->evals, s->r->h, s->run);
}

/* var[run, probe, ...] = data (count trailing elements). */
static ns_status write_probe_box(ns_results *r, const char *var, int run, int probe,
                                 const size_t *trail, int ntrail, const void *data)
{
    size_t start[5] = {(size_t)run, (size_t)probe, 0, 0, 0}, count[5] = {1, 1, 1, 1, 1};
    for (int i = 0; i < ntrail; i++) count[2 + i] = trail[i];
    return ns_h5_write_box(r->h, var, start, count, data);
}

static ns_status sink_probe(void *ctx, const ns_probe_rec *p)
{
    sink_ctx *s = ctx;
    ns_results *r = s->r;
    const ns_probe_config *pc = &r->spec->runs[s->run].probe;
    const ns_run_dims *d = &s->d;
    int i = p->index;
    size_t t1[1], t2[2], t3[3];
    NS_TRY(write_probe_box(r, "probe_loss", s->run, i, NULL, 0, &p->loss));
    NS_TRY(write_probe_box(r, "probe_grad_norm", s->run, i, NULL, 0, &p->grad_norm));
    NS_TRY(write_probe_box(r, "probe_s", s->run, i, NULL, 0, &p->seconds));
    if (d->nlayers > 0) {
        t1[0] = (size_t)d->nlayers;
        NS_TRY(write_probe_box(r, "layer_grad_norm", s->run, i, t1, 1, p->layer_grad_norm));
        if (pc->ics) {
            NS_TRY(write_probe_box(r, "ics_l2", s->run, i, t1, 1, p->ics_l2));
            NS_TRY(write_probe_box(r, "ics_cos", s->run, i, t1, 1, p->ics_cos));
        }
    }
    if (d->neta > 0) {
        t1[0] = (size_t)d->neta;
        NS_TRY(write_probe_box(r, "landscape_loss", s->run, i, t1, 1, p->land_loss));
        NS_TRY(write_probe_box(r, "landscape_grad_change", s->run, i, t1, 1, p->land_grad_change));
        NS_TRY(write_probe_box(r, "beta_eff", s->run, i, NULL, 0, &p->beta_eff));
        if (pc->random_direction && p->rand_loss) {
            NS_TRY(write_probe_box(r, "rand_landscape_loss", s->run, i, t1, 1, p->rand_loss));
            NS_TRY(write_probe_box(r, "rand_landscape_grad_change", s->run, i, t1, 1, p->rand_grad_change));
            NS_TRY(write_probe_box(r, "rand_beta_eff", s->run, i, NULL, 0, &p->rand_beta_eff));
        }
    }
    if (d->nunits > 0 && d->nnorm > 0) {
        t3[0] = (size_t)d->nnorm;
        t3[1] = (size_t)d->nunits;
        t3[2] = (size_t)d->nquant;
        NS_TRY(write_probe_box(r, "act_quantiles", s->run, i, t3, 3, p->act_quant));
        t2[0] = (size_t)d->nnorm;
        t2[1] = (size_t)d->nunits;
        NS_TRY(write_probe_box(r, "act_mean", s->run, i, t2, 2, p->act_mean));
        NS_TRY(write_probe_box(r, "act_std", s->run, i, t2, 2, p->act_std));
    }
    if (pc->hessian) {
        int32_t it = p->hess_iters;
        NS_TRY(write_probe_box(r, "hess_top_eig", s->run, i, NULL, 0, &p->hess_lambda));
        NS_TRY(write_probe_box(r, "hess_residual", s->run, i, NULL, 0, &p->hess_residual));
        NS_TRY(write_probe_box(r, "hess_iters", s->run, i, NULL, 0, &it));
        if (pc->hess_trace_samples > 0)
            NS_TRY(write_probe_box(r, "hess_trace", s->run, i, NULL, 0, &p->hess_trace));
    }
    if (pc->thm41 && d->nnorm > 0) {
        t1[0] = (size_t)d->nnorm;
        NS_TRY(write_probe_box(r, "thm41_lhs", s->run, i, t1, 1, p->thm41_lhs));
        NS_TRY(write_probe_box(r, "thm41_rhs", s->run, i, t1, 1, p->thm41_rhs));
    }
    return NS_OK;
}

static ns_status sink_weights(void *ctx, const ns_net *net)
{
    sink_ctx *s = ctx;
    ns_results *r = s->r;
    size_t n = net->nparams + net->nstate;
    NS_CHECK(n <= r->nweights, NS_ERR_INTERNAL, "run %d: %zu weights, layout has %zu", s->run, n,
             r->nweights);
    float *flat = malloc(n * sizeof *flat);
    NS_CHECK(flat, NS_ERR_NOMEM, "out of memory");
    memcpy(flat, net->params, net->nparams * sizeof *flat);
    memcpy(flat + net->nparams, net->state, net->nstate * sizeof *flat);
    size_t start[2] = {(size_t)s->run, 0}, count[2] = {1, n};
    ns_status st = ns_h5_write_box(r->h, "weights", start, count, flat);
    free(flat);
    NS_TRY(st);
    int k = 0;
    for (int li = 0; li < net->nlayers; li++) {
        const ns_layer *l = &net->layers[li];
        for (int v = 0; v < l->nviews && k < r->ntensors; v++, k++) {
            const ns_param_view *pv = &l->views[v];
            char name[STR_NAME];
            snprintf(name, sizeof name, "%s.%s", l->name, pv->suffix);
            int64_t off = pv->is_state ? (int64_t)(net->nparams + (size_t)(l->state - net->state) + pv->offset)
                                       : (int64_t)((size_t)(l->w - net->params) + pv->offset);
            int32_t shape[4] = {-1, -1, -1, -1};
            for (int a = 0; a < pv->ndim && a < 4; a++) shape[a] = pv->dims[a];
            size_t idx[2] = {(size_t)s->run, (size_t)k};
            NS_TRY(ns_h5_write_str(r->h, "tensor_name", idx, name));
            size_t st1[2] = {(size_t)s->run, (size_t)k}, c1[2] = {1, 1};
            NS_TRY(ns_h5_write_box(r->h, "tensor_offset", st1, c1, &off));
            size_t st2[3] = {(size_t)s->run, (size_t)k, 0}, c2[3] = {1, 1, 4};
            NS_TRY(ns_h5_write_box(r->h, "tensor_shape", st2, c2, shape));
        }
    }
    return NS_OK;
}

static ns_status sink_end(void *ctx, const ns_run_result *res)
{
    sink_ctx *s = ctx;
    ns_results *r = s->r;
    ns_status st = sink_sync(ctx);
    size_t i = (size_t)s->run;
    int64_t done = res->steps_done, div = res->diverged_step;
    double probe_total = res->probe_s;
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "wall_s", i, 1, &res->wall_s);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "train_s", i, 1, &res->train_s);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "probe_s_total", i, 1, &probe_total);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "eval_s", i, 1, &res->eval_s);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "steps_done", i, 1, &done);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "diverged_step", i, 1, &div);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "final_train_loss", i, 1, &res->final_train_loss);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "final_train_acc", i, 1, &res->final_train_acc);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "final_test_loss", i, 1, &res->final_test_loss);
    if (st == NS_OK) st = ns_h5_write_rows(r->h, "final_test_acc", i, 1, &res->final_test_acc);
    /* status last: a reader that sees "done" sees everything else too */
    if (st == NS_OK) st = write_status(r, s->run, s->rank, res->status, res->message);
    return st;
}

ns_status ns_results_sink_new(ns_results *r, int run, int rank, ns_run_sink *sink)
{
    memset(sink, 0, sizeof *sink);
    sink_ctx *s = calloc(1, sizeof *s);
    NS_CHECK(s, NS_ERR_NOMEM, "out of memory");
    s->r = r;
    s->run = run;
    s->rank = rank;
    sink->ctx = s; /* from here on ns_results_sink_free cleans up */
    if (trace_alloc(&s->steps, &step_trace, r->dims.nlog) != NS_OK ||
        trace_alloc(&s->evals, &eval_trace, r->dims.neval) != NS_OK) {
        ns_results_sink_free(sink);
        return ns_error_set(NS_ERR_NOMEM, "out of memory for run %d's traces", run);
    }
    sink->begin = sink_begin;
    sink->step = sink_step;
    sink->eval = sink_eval;
    sink->probe = sink_probe;
    sink->sync = sink_sync;
    sink->weights = sink_weights;
    sink->end = sink_end;
    return NS_OK;
}

void ns_results_sink_free(ns_run_sink *sink)
{
    sink_ctx *s = sink->ctx;
    if (s) {
        free(s->steps.col);
        free(s->evals.col);
        free(s);
    }
    memset(sink, 0, sizeof *sink);
}
