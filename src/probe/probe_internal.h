/* probe_internal.h - checks shared by the probe files (not public API). */
#ifndef NS_PROBE_INTERNAL_H
#define NS_PROBE_INTERNAL_H

#include "normsweep/probe.h"

/* The workspace exists and was made for this objective's n. */
static inline ns_status ns_probe_check_ws(const ns_objective *obj, const ns_probe_ws *ws,
                                          const char *who)
{
    NS_CHECK(ws && ws->wx && ws->gx && ws->gy && ws->v, NS_ERR_ARG,
             "%s: probe workspace not allocated (call ns_probe_ws_alloc)", who);
    NS_CHECK(ws->n == obj->n, NS_ERR_ARG,
             "%s: workspace made for n = %zu parameters, objective has n = %zu", who, ws->n,
             obj->n);
    return NS_OK;
}

/* Loops over all n parameters that run once per probe evaluation (the point
 * w - eta d, gradient distances): at -O2 without -march they stay scalar,
 * ~0.15 ms each for 335k parameters, a sixth of a training step per
 * evaluation. Same recipe as the engine (core/hot.h): the vectorizer
 * on, the widest ISA picked at load time; plain code under sanitizers. The
 * C11 build does not contract a*b+c into FMAs, so every clone gives the same
 * bits. */
#include "core/hot.h"

/* Standard error of the mean of m samples from their sum and sum of squares:
 * sample sd (ddof 1) / sqrt(m); NaN for m < 2 (slq.c). */
double ns_mean_se(double sum, double sum2, int m);

/* out = fl(w - eta d), computed in double and rounded once. */
void ns_vec_step(const float *w, double eta, const float *d, float *out, size_t n);

/* ||a - b||_2 accumulated in double, same lanes as ns_vec_norm (gradnorm.c). */
double ns_vec_dist(const float *a, const float *b, size_t n);
/* Both of the above in one pass: returns ||a - b||, writes out = w - eta d.
 * out must not alias a, b, w or d. */
double ns_vec_dist_step(const float *a, const float *b, const float *w, double eta,
                        const float *d, float *out, size_t n);

#endif
