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
 *              layer numbers inside every arch
 *
 * Messages keep the file:line:col of the value they are about.
 */
#include "sweep_internal.h"

#include <stdio.h>
#include <string.h>

static void check_data(ns_reader *r)
{
    ns_spec *s = r->s;
    const yaml_node_t *x = ny_get(&r->c, r->root, "data");
    /* read as text into s->data (else its error is already reported) */
    if (x && x->type == YAML_SCALAR_NODE && !ny_is_null(x) &&
        !strcmp((const char *)x->data.scalar.value, s->data)) {
        ns_ref_data d;
        if (ns_ref_data_info(s->data, &d) != NS_OK) {
            ns_errs_node(r->c.e, x, "data: %s", ns_error_msg());
        } else if (d.n_train < 1) {
            ns_errs_node(r->c.e, x, "data: '%s' has no training samples", s->data);
        } else {
            r->data_ok = 1;
            s->in_shape = d.shape;
            s->nclasses = d.nclasses, s->target_dim = d.target_dim;
            s->n_train = d.n_train, s->n_test = d.n_test;
        }
    }
    snprintf(s->base.data, sizeof s->base.data, "%s", s->data);
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

/* batch, momentum, weight_decay, init, optimizer: in train or in grid, not both. */
static void check_train_vs_grid(ns_reader *r, const yaml_node_t *train, const yaml_node_t *grid)
{
    for (int a = NS_AXIS_BATCH; a < NS_AXIS_COUNT; a++) {
        if (a == NS_AXIS_SEED) continue; /* a grid axis only */
        const char *name = ns_spec_axis_name(a);
        const yaml_node_t *t = ny_get(&r->c, train, name), *g = ny_get(&r->c, grid, name);
        if (t && g)
            ns_errs_node(r->c.e, g, "grid.%s: also set in train.%s (line %d); keep one", name, name,
                         ny_line(t));
    }
}

/* Learning rates come from grid.lr or a random section; an lr written under
 * train has its own message already (misplaced key), not a second one here. */
static void check_lr_source(ns_reader *r, const yaml_node_t *train, const yaml_node_t *grid)
{
    if (!grid || grid->type != YAML_MAPPING_NODE || ny_get(&r->c, grid, "lr") ||
        ny_get(&r->c, r->root, "random") || ny_get(&r->c, train, "lr"))
        return;
    ns_errs_node(r->c.e, grid, "grid: missing key 'lr' (%s)", ns_key_find("grid", "lr")->hint);
}

static void check_archs(ns_reader *r)
{
    ns_spec *s = r->s;
    struct ns_spec_priv *pv = s->priv;
    if (!r->data_ok) {
        r->names_bad = 1; /* overrides cannot be matched either */
        return;
    }
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim;
    for (int i = 0; i < pv->narch; i++)
        if (ns_ref_arch(pv->arch[i], s->in_shape, nout, &pv->arch_flops[i], &pv->arch_layers[i]) !=
            NS_OK) {
            ns_errs_node(r->c.e, r->arch_node[i], "grid.arch[%d]: %s", r->arch_item[i],
                         ns_error_msg());
            pv->arch_layers[i] = 0;
            r->names_bad++;
        }
}

static void check_overrides(ns_reader *r)
{
    const struct ns_spec_priv *pv = r->s->priv;
    int have_random = ny_get(&r->c, r->root, "random") != NULL;
    for (int k = 0; k < pv->noverrides; k++)
        if (r->random_lr_node[k] && !have_random)
            ns_errs_node(r->c.e, r->random_lr_node[k],
                         "overrides[%d].random_lr: there is no 'random' section to override", k);
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
    check_train_vs_grid(r, train, grid);
    check_lr_source(r, train, grid);
    check_archs(r);
    check_overrides(r);
    check_probe_steps(r, probes);
    check_ics_layers(r, probes);
}
