/* read_save.c - save_weights.at (keys.c row): the steps whose weights a run
 * keeps. Read here (a list of steps, each >= 0, strictly increasing); checked
 * against train.steps once every section is read (ns_check_save_steps, from
 * validate.c), so the order of the sections does not matter. */
#include "sweep_internal.h"

#include <stdio.h>

NS_KEY_FN(ns_read_save_at)
{
    ns_run_config *b = &r->s->base;
    yaml_node_t *items[NS_SPEC_MAX_SAVE_STEPS];
    int k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_SAVE_STEPS);
    if (k < 0) return;
    b->nsave = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        int64_t t;
        if (!ny_int64(&r->c, items[i], w, &t)) continue;
        if (t < 0)
            ns_errs_node(r->c.e, items[i], "%s: a step must be >= 0, got %lld", w, (long long)t);
        else if (i > 0 && t <= b->save_at[i - 1])
            ns_errs_node(r->c.e, items[i], "%s: steps must be strictly increasing (%lld after %lld)",
                         w, (long long)t, (long long)b->save_at[i - 1]);
        b->save_at[i] = t;
    }
}

/* Each step within the run: the weights w_t exist for t in [0, train.steps)
 * (the final weights, after the last update, are the `weights` variable). */
void ns_check_save_steps(ns_reader *r)
{
    const ns_run_config *b = &r->s->base;
    const yaml_node_t *at = ny_get(&r->c, ny_get(&r->c, r->root, "save_weights"), "at");
    yaml_node_t *items[NS_SPEC_MAX_SAVE_STEPS];
    if (!at || b->steps <= 0 || b->nsave <= 0) return; /* else: its error is reported */
    int k = ny_items(&r->c, at, "save_weights.at", items, NS_SPEC_MAX_SAVE_STEPS);
    for (int i = 0; i < k && i < b->nsave; i++)
        if (b->save_at[i] >= b->steps)
            ns_errs_node(r->c.e, items[i], "save_weights.at[%d]: step %lld is outside [0, "
                         "train.steps = %lld) (the final weights are always stored)", i,
                         (long long)b->save_at[i], (long long)b->steps);
}
