/* synth.c - seeded synthetic data sets.
 *
 * synthetic-dln (the paper's deep-linear-network data, App. A.1):
 *   A[d][d] ~ N(0,1) entries (stream SYNTH/0, row-major), train inputs
 *   x_i ~ N(0, I_d) (stream SYNTH/1, sample after sample), test inputs from
 *   SYNTH/2, targets t_i = A x_i computed in double from the stored float x_i.
 * synthetic-cls (a quick, learnable classification task):
 *   one prototype per class P[k][c*h*w] ~ N(0,1) (SYNTH/0), labels balanced
 *   y_i = i mod classes, x_i = P[y_i] + noise * z_i, z_i ~ N(0, I) (SYNTH/1
 *   train, SYNTH/2 test). Standardized afterwards like image data.
 * Streams are keyed by data_seed, not the run seed: the same data set is
 * shared by every run of a sweep that names the same seed. */
#include "data/data_internal.h"

#include "normsweep/rng.h"

#include <stdlib.h>

enum { SUB_PARAMS = 0, SUB_TRAIN = 1, SUB_TEST = 2 };

static float *alloc_floats(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

static void normals(ns_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = ns_rng_normal(r);
}

void ns_synth_info(const ns_data_spec *s, ns_dataset_info *info)
{
    info->n_train = s->n;
    info->n_test = s->test;
    info->seeded = 1;
    if (s->kind == NS_DATA_SYNTH_DLN) {
        info->shape = (ns_shape){s->d, 1, 1};
        info->nclasses = 0;
        info->target_dim = s->d;
    } else {
        info->shape = (ns_shape){s->c, s->h, s->w};
        info->nclasses = s->classes;
        info->target_dim = 0;
    }
}

/* t[n][d] = x[n][d] A^T */
static void dln_targets(const float *a, const float *x, float *t, size_t n, int d)
{
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < d; r++) {
            double acc = 0.0;
            for (int c = 0; c < d; c++) acc += (double)a[(size_t)r * d + c] * x[i * d + c];
            t[i * d + r] = (float)acc;
        }
}

ns_status ns_synth_dln(const ns_data_spec *s, uint64_t seed, ns_dataset *ds)
{
    int d = s->d;
    float *a = alloc_floats((size_t)d * d);
    ds->x_train = alloc_floats(s->n * d);
    ds->t_train = alloc_floats(s->n * d);
    ds->x_test = alloc_floats(s->test * d);
    ds->t_test = alloc_floats(s->test * d);
    if (!a || !ds->x_train || !ds->t_train || !ds->x_test || !ds->t_test) {
        free(a);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", s->canonical);
    }
    ns_rng r;
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, SUB_PARAMS));
    normals(&r, a, (size_t)d * d);
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, SUB_TRAIN));
    normals(&r, ds->x_train, s->n * d);
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, SUB_TEST));
    normals(&r, ds->x_test, s->test * d);
    dln_targets(a, ds->x_train, ds->t_train, s->n, d);
    dln_targets(a, ds->x_test, ds->t_test, s->test, d);
    free(a);
    return NS_OK;
}

static void cls_split(const float *proto, size_t per, int classes, double noise, ns_rng *r,
                      size_t n, float *x, int32_t *y)
{
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % (size_t)classes);
        y[i] = k;
        const float *p = proto + (size_t)k * per;
        float *xi = x + i * per;
        for (size_t j = 0; j < per; j++) xi[j] = (float)(p[j] + noise * ns_rng_normal(r));
    }
}

ns_status ns_synth_cls(const ns_data_spec *s, uint64_t seed, ns_dataset *ds)
{
    size_t per = (size_t)s->c * s->h * s->w;
    float *proto = alloc_floats((size_t)s->classes * per);
    ds->x_train = alloc_floats(s->n * per);
    ds->x_test = alloc_floats(s->test * per);
    ds->y_train = malloc((s->n ? s->n : 1) * sizeof(int32_t));
    ds->y_test = malloc((s->test ? s->test : 1) * sizeof(int32_t));
    if (!proto || !ds->x_train || !ds->x_test || !ds->y_train || !ds->y_test) {
        free(proto);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", s->canonical);
    }
    ns_rng r;
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, SUB_PARAMS));
    normals(&r, proto, (size_t)s->classes * per);
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, SUB_TRAIN));
    cls_split(proto, per, s->classes, s->noise, &r, s->n, ds->x_train, ds->y_train);
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, SUB_TEST));
    cls_split(proto, per, s->classes, s->noise, &r, s->test, ds->x_test, ds->y_test);
    free(proto);
    return NS_OK;
}
