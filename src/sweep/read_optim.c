/* read_optim.c - the optimizer's sweep keys (keys.c rows): the optimizer axis
 * value, train.betas, fractions, and the check of train.schedule once its
 * keys are read. Definitions of what they do: include/normsweep/optim.h. */
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

/* After train.schedule is read (train.steps, read earlier in the same
 * section, is known): the kind has what it needs, and the warm-up ends
 * within the run. */
NS_KEY_FN(ns_check_lr_schedule)
{
    const ns_lr_schedule *s = &r->s->base.schedule;
    const int64_t steps = r->s->base.steps;
    if (s->kind == NS_LR_STEP && !ny_get(&r->c, n, "step_size"))
        ns_errs_node(r->c.e, n, "%s: kind step needs step_size (steps between decays)", where);
    if (steps > 0 && s->warmup >= steps)
        ns_errs_node(r->c.e, n, "%s: warmup of %lld steps does not end within the run's %lld steps",
                     where, (long long)s->warmup, (long long)steps);
}
