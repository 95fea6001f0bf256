/* validate.c - the checks that look across sections, run once the whole
 * file is read (so the order of sections in a file does not matter):
 *
 *   data       the data set string names a readable data set
 *   batch      "full" resolved, every batch <= the training-set size
 *   train/grid a setting given in both is ambiguous
 *   lr         some source of learning rates (grid.lr or random)
 *   arch       every arch against the data set's input shape and classes
 *   overrides  random_lr needs a random section; each override matches a pair
 *   probes     steps inside train.steps, random_direction needs eta, ICS
 *              layer numbers inside every arch; curvature: steps > k, eval
 *              mode only for norms with running statistics, the Lanczos basis
 *              within the limits
 *
 * Messages keep the file:line:col of the value they are about.
 */
#include "sweep_internal.h"

#include <stdio.h>
#include <string.h>

/* The data set; for plan, one whose files cannot be read yet is a warning,
 * and costs use its published sizes. */
static void check_data(ns_reader *r)
{
    ns_spec *s = r->s;
    const yaml_node_t *x = ny_get(&r->c, r->root, "data");
    snprintf(s->base.data, sizeof s->base.data, "%s", s->data);
    /* read as text into s->data (else its error is already reported) */
    if (!x || x->type != YAML_SCALAR_NODE || ny_is_null(x) ||
        strcmp((const char *)x->data.scalar.value, s->data))
        return;
    ns_ref_data d;
    if (ns_ref_data_info(s->data, &d) != NS_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", ns_error_msg());
        if (!r->allow_missing_data || ns_ref_data_published(s->data, &d) != NS_OK) {
            ns_errs_node(r->c.e, x, "data: %s", why);
            return;
        }
        s->data_missing = 1;
        ns_errs_node(r->warnings, x, "data: the data set cannot be read (%s): costs use its "
                     "published size (%lld train, %lld test samples); `normsweep run` needs the "
                     "files", why, (long long)d.n_train, (long long)d.n_test);
    }
    if (d.n_train < 1) {
        ns_errs_node(r->c.e, x, "data: '%s' has no training samples", s->data);
        return;
    }
    r->data_ok = 1;
    s->in_shape = d.shape;
    s->nclasses = d.nclasses, s->target_dim = d.target_dim;
    s->n_train = d.n_train, s->n_test = d.n_test;
}

/* "full" becomes the training-set size; every batch must fit in the set. */
static void check_batches(ns_reader *r)
{
    const ns_spec *s = r->s;
    for (int i = 0; i < r->nbatch; i++) {
        const ns_batch_ref *b = &r->batch[i];
        int64_t v = b->ax ? b->ax->iv[b->idx] : *b->i32;
        if (v == NS_BATCH_FULL) {
            if (!r->data_ok) continue; /* the data error is already reported */
            v = s->n_train;
        } else if (r->data_ok && v > s->n_train) {
            ns_errs_node(r->c.e, b->node,
                         "%s: batch %lld is larger than the training set (%lld samples in '%s')",
                         b->where, (long long)v, (long long)s->n_train, s->data);
            continue;
        }
        if (v > 1 << 30) {
            ns_errs_node(r->c.e, b->node, "%s: batch %lld is too large", b->where, (long long)v);
            continue;
        }
        if (!b->ax) {
            *b->i32 = (int)v;
            continue;
        }
        b->ax->iv[b->idx] = v;
        for (int j = 0; j < b->idx; j++)
            if (b->ax->iv[j] == v) {
                ns_errs_node(r->c.e, b->node, "%s: duplicate value (same as item %d)", b->where, j);
                break;
            }
    }
}

/* batch, momentum, weight_decay, init: in train or in grid / search, not both. */
static void check_train_vs_axes(ns_reader *r, const yaml_node_t *train, const yaml_node_t *grid,
                                const yaml_node_t *search)
{
    for (int a = NS_AXIS_BATCH; a <= NS_AXIS_INIT; a++) {
        const char *name = ns_spec_axis_name(a);
        const yaml_node_t *t = ny_get(&r->c, train, name), *g = ny_get(&r->c, grid, name),
                          *x = ny_get(&r->c, search, name);
        if (t && g)
            ns_errs_node(r->c.e, g, "grid.%s: also set in train.%s (line %ld); keep one", name,
                         name, ny_line(t));
        if (t && x)
            ns_errs_node(r->c.e, x, "search.%s: also set in train.%s (line %ld); keep one", name,
                         name, ny_line(t));
    }
}

/* Learning rates come from grid.lr or search.lr (or random); an lr written
 * under train has its own message already (misplaced key), not a second one. */
static void check_lr_source(ns_reader *r, const yaml_node_t *train, const yaml_node_t *grid)
{
    if (!grid || grid->type != YAML_MAPPING_NODE || ny_get(&r->c, grid, "lr") ||
        r->s->priv->search.ax[NS_AXIS_LR].dist != NS_DIST_NONE || ny_get(&r->c, train, "lr"))
        return;
    const yaml_node_t *x = ny_get(&r->c, r->root, "search"), *rnd = ny_get(&r->c, r->root, "random");
    if (ny_get(&r->c, x, "lr") || rnd) return; /* given, with an error of its own */
    ns_errs_node(r->c.e, grid, "grid: missing key 'lr' (%s)", ns_key_find("grid", "lr")->hint);
}

#define LIMITS_DOC "see 'Limits' in docs/sweep-format.md"

/* Each arch against the data set's shape, the parameter limit, and each norm. */
static void check_archs(ns_reader *r)
{
    ns_spec *s = r->s;
    struct ns_spec_priv *pv = s->priv;
    if (!r->data_ok) {
        r->names_bad = 1; /* overrides cannot be matched either */
        return;
    }
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim;
    for (int i = 0; i < pv->narch; i++) {
        ns_ref_size z;
        ns_status st = ns_ref_arch(pv->arch[i], s->in_shape, nout, &pv->arch_flops[i],
                                   &pv->arch_layers[i]);
        if (st == NS_OK) st = ns_ref_arch_size(pv->arch[i], s->in_shape, nout, &z);
        if (st == NS_OK && z.params > (double)NS_SPEC_MAX_PARAMS)
            st = ns_error_set(NS_ERR_ARG, "'%s' has %.3g parameters, over the limit of %.3g per "
                              "run (%s)", pv->arch[i], z.params, (double)NS_SPEC_MAX_PARAMS,
                              LIMITS_DOC);
        if (st != NS_OK) {
            ns_errs_node(r->c.e, r->arch_node[i], "grid.arch[%d]: %s", r->arch_item[i],
                         ns_error_msg());
            pv->arch_layers[i] = 0;
            r->names_bad++;
            continue;
        }
        pv->arch_values[i] = z.values;
        for (int j = 0; j < pv->nnorm; j++)
            if (ns_ref_norm_fits(pv->norm[j], pv->arch[i], s->in_shape, nout) != NS_OK)
                ns_errs_node(r->c.e, r->norm_node[j], "grid.norm[%d]: %s", r->norm_item[j],
                             ns_error_msg());
    }
}

/* Records a run writes: logged steps, evaluations, probe steps. */
static void check_records(ns_reader *r, const yaml_node_t *train, const yaml_node_t *probes)
{
    const ns_run_config *b = &r->s->base;
    int64_t steps = b->steps;
    if (steps <= 0) return;
    int64_t nlog = (steps - 1) / b->log_every + 1, neval = b->eval_every ? steps / b->eval_every : 1;
    const yaml_node_t *at = ny_get(&r->c, train, "log_every");
    if (nlog > NS_SPEC_MAX_RECORDS)
        ns_errs_node(r->c.e, at ? at : ny_get(&r->c, train, "steps"),
                     "train: %lld steps logged every %lld make %lld records per run, over the "
                     "limit of %lld (raise train.log_every; %s)", (long long)steps,
                     (long long)b->log_every, (long long)nlog, NS_SPEC_MAX_RECORDS, LIMITS_DOC);
    if (neval > NS_SPEC_MAX_RECORDS)
        ns_errs_node(r->c.e, ny_get(&r->c, train, "eval_every"),
                     "train.eval_every: %lld evaluations per run, over the limit of %lld (%s)",
                     (long long)neval, NS_SPEC_MAX_RECORDS, LIMITS_DOC);
    const ns_probe_config *p = &b->probe;
    int64_t nprobe = p->sched == NS_SCHED_EVERY && p->every > 0 ? (steps - 1) / p->every + 1 : 0;
    if (nprobe > NS_SPEC_MAX_PROBE_COUNT)
        ns_errs_node(r->c.e, ny_get(&r->c, probes, "every"),
                     "probes.every: %lld probe steps per run, over the limit of %d (%s)",
                     (long long)nprobe, NS_SPEC_MAX_PROBE_COUNT, LIMITS_DOC);
}

/* search.width: only vgg archs take a width; each end of the range (sizes
 * grow with the width) or each choice must make a valid net within limits. */
static void check_search_width(ns_reader *r, const yaml_node_t *node)
{
    ns_spec *s = r->s;
    const struct ns_spec_priv *pv = s->priv;
    const ns_search_axis *sa = &pv->search.ax[NS_SEARCH_WIDTH];
    if (sa->dist == NS_DIST_NONE || !r->data_ok) return;
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim, nw = 2;
    const double *w = sa->dist == NS_DIST_CHOICE ? sa->choice.v : &sa->lo;
    if (sa->dist == NS_DIST_CHOICE) nw = sa->choice.n;
    for (int i = 0; i < pv->narch; i++) {
        char arch[160];
        for (int j = 0; j < nw && pv->arch_layers[i] > 0; j++) {
            ns_ref_size z;
            double f;
            int layers;
            if (!ns_ref_arch_width(arch, sizeof arch, pv->arch[i], w[j])) {
                ns_errs_node(r->c.e, node, "search.width: '%s' has no width to sample (only vgg "
                             "archs take width=)", pv->arch[i]);
                break;
            }
            ns_status st = ns_ref_arch(arch, s->in_shape, nout, &f, &layers);
            if (st == NS_OK) st = ns_ref_arch_size(arch, s->in_shape, nout, &z);
            if (st == NS_OK && z.params > (double)NS_SPEC_MAX_PARAMS)
                st = ns_error_set(NS_ERR_ARG, "'%s' has %.3g parameters, over the limit of %.3g "
                                  "per run (%s)", arch, z.params, (double)NS_SPEC_MAX_PARAMS,
                                  LIMITS_DOC);
            if (st != NS_OK) {
                ns_errs_node(r->c.e, node, "search.width: %s", ns_error_msg());
                break;
            }
        }
    }
}

/* One random-search section; its width against every arch. */
static void check_search(ns_reader *r)
{
    const yaml_node_t *x = ny_get(&r->c, r->root, "search"), *rnd = ny_get(&r->c, r->root, "random");
    if (x && rnd)
        ns_errs_node(r->c.e, rnd, "random: give search or random (deprecated), not both");
    check_search_width(r, ny_get(&r->c, x, "width"));
}

static void check_overrides(ns_reader *r)
{
    const struct ns_spec_priv *pv = r->s->priv;
    int dist = pv->search.ax[NS_AXIS_LR].dist;
    for (int k = 0; k < pv->noverrides; k++)
        if (r->random_lr_node[k] && dist != NS_DIST_UNIFORM && dist != NS_DIST_LOG_UNIFORM)
            ns_errs_node(r->c.e, r->random_lr_node[k],
                         "overrides[%d].random_lr: no search.lr range (uniform or log_uniform) "
                         "to override", k);
    if (!r->names_bad) ns_spec_check_overrides(r->s, r->c.e);
}

/* probes.at: inside [0, steps) and strictly increasing. */
static void check_probe_steps(ns_reader *r, const yaml_node_t *probes)
{
    const ns_probe_config *p = &r->s->base.probe;
    int64_t steps = r->s->base.steps;
    for (int i = 0; i < p->nat; i++) {
        const yaml_node_t *n = r->at_node[i];
        int64_t t = p->at[i];
        if (!n) continue;
        if (t < 0 || (steps > 0 && t >= steps))
            ns_errs_node(r->c.e, n, "probes.at[%d]: step %lld is outside [0, train.steps = %lld)",
                         i, (long long)t, (long long)steps);
        else if (i > 0 && t <= p->at[i - 1])
            ns_errs_node(r->c.e, n,
                         "probes.at[%d]: steps must be strictly increasing (%lld after %lld)", i,
                         (long long)t, (long long)p->at[i - 1]);
    }
    const yaml_node_t *lc = ny_get(&r->c, probes, "log_count");
    if (p->sched == NS_SCHED_LOG && steps > 0 && p->log_count > steps)
        ns_errs_node(r->c.e, lc, "probes.log_count: must be in 1..%lld, got %d", (long long)steps,
                     p->log_count);
    if (p->random_direction && !p->landscape)
        ns_errs_node(r->c.e, ny_get(&r->c, probes, "random_direction"),
                     "probes.random_direction: needs probes.eta (the step sizes to evaluate)");
}

/* ICS layer numbers must exist in every arch of the sweep (layer counts are
 * known only once the data set is: without it the data error stands alone). */
static void check_ics_layers(ns_reader *r, const yaml_node_t *probes)
{
    const ns_probe_config *p = &r->s->base.probe;
    const struct ns_spec_priv *pv = r->s->priv;
    if (!r->data_ok || !p->ics || p->ics_all || p->ics_nlayers == 0) return;
    int maxl = p->ics_layers[p->ics_nlayers - 1];
    const yaml_node_t *n = ny_get(&r->c, ny_get(&r->c, probes, "ics"), "layers");
    for (int i = 0; i < pv->narch; i++)
        if (pv->arch_layers[i] > 0 && maxl > pv->arch_layers[i])
            ns_errs_node(r->c.e, n,
                         "probes.ics.layers: layer %d does not exist in '%s' (it has %d measured "
                         "layer%s)", maxl, pv->arch[i], pv->arch_layers[i],
                         pv->arch_layers[i] == 1 ? "" : "s");
}

/* probes.curvature: Lanczos needs k + 1 iterations; eval mode needs norms with
 * running statistics; the largest Lanczos basis (steps x parameters floats)
 * within the activation-values limit. */
static void check_curvature(ns_reader *r, const yaml_node_t *probes)
{
    const ns_probe_config *p = &r->s->base.probe;
    const struct ns_spec_priv *pv = r->s->priv;
    if (!p->curv) return;
    const yaml_node_t *cv = ny_get(&r->c, probes, "curvature"),
                      *steps = ny_get(&r->c, cv, "iters"), *k = ny_get(&r->c, cv, "k"),
                      *mode = ny_get(&r->c, cv, "mode");
    if (p->curv_steps <= p->curv_k)
        ns_errs_node(r->c.e, steps ? steps : k ? k : cv,
                     "probes.curvature.%s: Lanczos needs more iterations than top eigenvalues "
                     "(iters %d, k %d): give iters >= k + 1", steps ? "iters" : "k",
                     p->curv_steps, p->curv_k);
    for (int j = 0; j < pv->nnorm && p->curv_mode != NS_CURV_MODE_TRAIN; j++)
        if (ns_ref_norm_has_eval(pv->norm[j]) == 0)
            ns_errs_node(r->c.e, mode ? mode : cv,
                         "probes.curvature.mode: %s eval mode, which holds running statistics "
                         "fixed, but grid.norm[%d] '%s' keeps none (it normalizes each sample by "
                         "its own statistics in both modes, so its eval-mode Hessian is its "
                         "train-mode one): use mode: train",
                         p->curv_mode == NS_CURV_MODE_BOTH ? "'both' includes" : "'eval' is",
                         r->norm_item[j], pv->norm[j]);
    if (!r->data_ok) return;
    const ns_spec *s = r->s;
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim, m = ns_curv_max_steps(p);
    for (int i = 0; i < pv->narch; i++) {
        ns_ref_size z;
        if (pv->arch_layers[i] <= 0 || ns_ref_arch_size(pv->arch[i], s->in_shape, nout, &z) != NS_OK)
            continue; /* reported by check_archs */
        if ((double)m * z.params > (double)NS_SPEC_MAX_VALUES)
            ns_errs_node(r->c.e, cv,
                         "probes.curvature: a Lanczos basis of %d vectors x %.3g parameters "
                         "('%s') is %.3g floats, over the limit of %.3g (fewer iterations; %s)",
                         m, z.params, pv->arch[i], (double)m * z.params,
                         (double)NS_SPEC_MAX_VALUES, LIMITS_DOC);
    }
}

void ns_spec_validate(ns_reader *r)
{
    if (!r->root || r->root->type != YAML_MAPPING_NODE) return;
    const yaml_node_t *train = ny_get(&r->c, r->root, "train"),
                      *grid = ny_get(&r->c, r->root, "grid"),
                      *probes = ny_get(&r->c, r->root, "probes");
    if (grid && grid->type == YAML_MAPPING_NODE) /* "too many runs" points here */
        r->s->priv->grid_line = ny_line(grid), r->s->priv->grid_col = ny_col(grid);
    check_data(r);
    check_batches(r);
    check_train_vs_axes(r, train, grid, ny_get(&r->c, r->root, "search"));
    check_lr_source(r, train, grid);
    check_archs(r);
    check_search(r);
    check_overrides(r);
    check_probe_steps(r, probes);
    check_ics_layers(r, probes);
    check_curvature(r, probes);
    check_records(r, train, probes);
}

/* Activation values of runs whose arch has a sampled width (not in the grid's
 * list): checked run by run, the first one over the limit reported. */
static void check_sampled_widths(ns_reader *r)
{
    const ns_spec *s = r->s;
    const struct ns_spec_priv *pv = s->priv;
    if (pv->search.ax[NS_SEARCH_WIDTH].dist == NS_DIST_NONE) return;
    const yaml_node_t *node = ny_get(&r->c, ny_get(&r->c, r->root, "search"), "width");
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim;
    for (int k = 0; k < s->nruns; k++) {
        const ns_run_config *c = &s->runs[k];
        ns_ref_size z;
        if (c->random_sample < 0 ||
            ns_ref_arch_size(c->arch, s->in_shape, nout, &z) != NS_OK) /* checked before */
            continue;
        if (z.values * c->batch > (double)NS_SPEC_MAX_VALUES) {
            ns_errs_node(r->c.e, node, "search.width: '%s' at batch %d holds about %.3g "
                         "activation values per step, over the limit of %.3g (use a smaller "
                         "batch or width; %s)", c->arch, c->batch, z.values * c->batch,
                         (double)NS_SPEC_MAX_VALUES, LIMITS_DOC);
            return;
        }
    }
}

/* Limits that depend on each run: activation values at the run's batch
 * (reported once per arch, at its largest batch), and the size of the
 * per-step traces of the whole sweep. */
void ns_spec_check_runs(ns_reader *r)
{
    const ns_spec *s = r->s;
    const struct ns_spec_priv *pv = s->priv;
    for (int i = 0; i < pv->narch; i++) {
        int worst = 0;
        for (int k = 0; k < s->nruns; k++)
            if (!strcmp(s->runs[k].arch, pv->arch[i]) && s->runs[k].batch > worst)
                worst = s->runs[k].batch;
        double values = pv->arch_values[i] * worst;
        if (values > (double)NS_SPEC_MAX_VALUES)
            ns_errs_node(r->c.e, r->arch_node[i],
                         "grid.arch[%d]: '%s' at batch %d holds about %.3g activation values per "
                         "step, over the limit of %.3g (use a smaller batch or width; %s)",
                         r->arch_item[i], pv->arch[i], worst, values, (double)NS_SPEC_MAX_VALUES,
                         LIMITS_DOC);
    }
    check_sampled_widths(r);
    int64_t nlog = (s->base.steps - 1) / s->base.log_every + 1;
    if ((double)nlog * s->nruns > (double)NS_SPEC_MAX_TRACE)
        ns_errs_at(r->c.e, pv->grid_line, pv->grid_col,
                   "grid: %d runs x %lld logged steps = %.3g trace records, over the limit of %.3g "
                   "for one results file (split the sweep or raise train.log_every; %s)",
                   s->nruns, (long long)nlog, (double)nlog * s->nruns, (double)NS_SPEC_MAX_TRACE,
                   LIMITS_DOC);
}
