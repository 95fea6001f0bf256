/* read_optim.c - the optimizer's sweep keys (keys.c rows): the optimizer and
 * schedule axis values, train.betas, fractions, and the schedules' warm-ups
 * against train.steps once everything is read. Definitions of what they do:
 * include/normsweep/optim.h. */
#include "sweep_internal.h"

#include <math.h>
#include <stdio.h>

int ns_optimizer_value(ns_reader *r, const yaml_node_t *n, const char *where, int64_t *iv)
{
    ns_optim_kind k;
    if (n && n->type == YAML_SCALAR_NODE &&
        ns_optim_parse((const char *)n->data.scalar.value, &k) == NS_OK) {
        *iv = k;
        return 1;
    }
    ns_errs_node(r->c.e, n, "%s: expected sgd, adam or adamw, got %s", where, ny_kind(n));
    return 0;
}

/* [b1, b2], each in [0, 1), into dst[0], dst[1] (beta1, beta2). */
NS_KEY_FN(ns_read_betas)
{
    double *b = dst, v[2];
    yaml_node_t *it[2];
    if (n->type != YAML_SEQUENCE_NODE || ny_items(&r->c, n, where, it, 2) != 2) {
        ns_errs_node(r->c.e, n, "%s: expected [beta1, beta2], got %s", where, ny_kind(n));
        return;
    }
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        char w[96];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        if (!ny_double(&r->c, it[i], w, &v[i])) {
            ok = 0;
        } else if (!(v[i] >= 0 && v[i] < 1)) {
            ns_errs_node(r->c.e, it[i], "%s: must be in [0, 1), got %s", w, ny_kind(it[i]));
            ok = 0;
        }
    }
    if (ok && b) b[0] = v[0], b[1] = v[1];
}

/* A number in [0, 1], or in (0, 1] when zero is not allowed. */
static void read_unit(ns_reader *r, const yaml_node_t *n, const char *where, double *dst,
                      int zero_ok)
{
    double v;
    if (!ny_double(&r->c, n, where, &v)) return;
    if (!(zero_ok ? v >= 0 : v > 0) || !(v <= 1)) {
        ns_errs_node(r->c.e, n, "%s: must be in %s0, 1], got %s", where, zero_ok ? "[" : "(",
                     ny_kind(n));
        return;
    }
    if (dst) *dst = v;
}

NS_KEY_FN(ns_read_fraction)
{
    read_unit(r, n, where, dst, 1);
}

NS_KEY_FN(ns_read_start_factor)
{
    read_unit(r, n, where, dst, 0);
}

/* The index of sc in priv->sched, added when new; -1 when the table is full. */
static int intern_schedule(ns_reader *r, const ns_lr_schedule *sc, const yaml_node_t *n,
                           const char *where)
{
    struct ns_spec_priv *pv = r->s->priv;
    for (int i = 0; i < pv->nsched; i++)
        if (ns_lr_schedule_equal(&pv->sched[i], sc)) return i;
    if (pv->nsched == NS_SPEC_MAX_AXIS) {
        ns_errs_node(r->c.e, n, "%s: more than %d different schedules in one sweep", where,
                     NS_SPEC_MAX_AXIS);
        return -1;
    }
    r->sched_node[pv->nsched] = r->defaults ? NULL : n;
    snprintf(r->sched_where[pv->nsched], sizeof r->sched_where[0], "%s", where);
    pv->sched[pv->nsched] = *sc;
    return pv->nsched++;
}

/* A schedule: a kind name (`cosine`: its defaults) or a mapping of
 * train.schedule's keys; step needs its step_size. */
int ns_schedule_value(ns_reader *r, const yaml_node_t *n, const char *where, int64_t *iv)
{
    ns_lr_schedule sc = ns_lr_schedule_default();
    int before = r->c.e->n;
    if (n && n->type == YAML_SCALAR_NODE && !ny_is_null(n)) {
        if (ns_lr_kind_parse((const char *)n->data.scalar.value, &sc.kind) != NS_OK) {
            ns_errs_node(r->c.e, n, "%s: expected constant, step, cosine or a mapping {kind: ..., "
                         "warmup: ...}, got %s", where, ny_kind(n));
            return 0;
        }
    } else if (!ny_expect_map(&r->c, n, where)) {
        return 0;
    } else {
        ns_read_section(r, "train.schedule", n, where, &sc);
    }
    if (sc.kind == NS_LR_STEP && !ny_get(&r->c, n, "step_size"))
        ns_errs_node(r->c.e, n, "%s: kind step needs step_size (steps between decays)", where);
    /* kept even with an error above, so its warm-up is checked too */
    int k = intern_schedule(r, &sc, n, where);
    if (k < 0 || r->c.e->n != before) return 0;
    *iv = k;
    return 1;
}

/* Each schedule read from the file (train.steps is known now, whatever the
 * order of the sections): its warm-up ends within the run. */
void ns_check_schedule_steps(ns_reader *r)
{
    const struct ns_spec_priv *pv = r->s->priv;
    const int64_t steps = r->s->base.steps;
    for (int i = 0; i < pv->nsched; i++)
        if (r->sched_node[i] && steps > 0 && pv->sched[i].warmup >= steps)
            ns_errs_node(r->c.e, r->sched_node[i],
                         "%s: warmup of %lld steps does not end within the run's %lld steps",
                         r->sched_where[i], (long long)pv->sched[i].warmup, (long long)steps);
}
