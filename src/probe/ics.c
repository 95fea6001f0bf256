/* ics.c - internal covariate shift, the paper's Definition 2.1: how much the
 * gradient of layer i changes when only the layers before it take this
 * step's update (same batch). */
#include "probe_internal.h"

#include <math.h>
#include <string.h>

/* w and w_next agree on [lo, hi): those parameters did not move. */
static int unmoved(const float *w, const float *w_next, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        if (w[i] != w_next[i]) return 0;
    return 1;
}

/* ||a - b|| and <a,b>/(||a|| ||b||) over one slice, in double. */
static void compare(const float *a, const float *b, size_t n, double *diff, double *cosine)
{
    double d2 = 0, ab = 0, aa = 0, bb = 0;
    int same = 1;
    for (size_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        d2 += (x - y) * (x - y);
        ab += x * y;
        aa += x * x;
        bb += y * y;
        same &= memcmp(&a[i], &b[i], sizeof(float)) == 0;
    }
    *diff = sqrt(d2);
    /* G' == G (bitwise) is no shift at all, even for a zero gradient */
    *cosine = same ? 1.0 : (aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : NAN);
}

ns_status ns_probe_ics(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                       const float *g, const float *w_next, const int *layers, int nsel,
                       double *diff, double *cosine, int *evals)
{
    NS_TRY(ns_objective_check(obj));
    NS_TRY(ns_probe_check_ws(obj, ws, "ics"));
    NS_CHECK(layers || nsel == obj->nlayers, NS_ERR_ARG,
             "ics: layers == NULL means all %d layers, but nsel = %d", obj->nlayers, nsel);
    NS_CHECK(nsel >= 0 && nsel <= obj->nlayers, NS_ERR_ARG,
             "ics: %d layers selected, objective has %d", nsel, obj->nlayers);
    for (int j = 0; j < nsel; j++) {
        int i = layers ? layers[j] : j;
        NS_CHECK(i >= 0 && i < obj->nlayers, NS_ERR_ARG,
                 "ics: layers[%d] = %d outside [0, %d)", j, i, obj->nlayers);
        NS_CHECK(j == 0 || i > (layers ? layers[j - 1] : j - 1), NS_ERR_ARG,
                 "ics: layers[%d] = %d not strictly after layers[%d] (must increase)", j, i,
                 j - 1);
    }

    /* w' is built incrementally: ws->wx holds w_next on [0, done), w after;
     * ws->gx holds grad L(ws->wx) once `have_grad`. Layers come in network
     * order, so prefixes only grow. */
    size_t done = 0, first_moved = 0; /* first index where w_next != w */
    while (first_moved < obj->n && w_next[first_moved] == w[first_moved]) first_moved++;
    int have_grad = 0, nev = 0;
    for (int j = 0; j < nsel; j++) {
        int i = layers ? layers[j] : j;
        size_t pe = obj->prefix_end[i];
        const float *G = g + obj->layer_off[i];
        size_t len = obj->layer_len[i];
        if (pe <= first_moved) { /* no layer before i moved: G' = G */
            diff[j] = 0.0;
            cosine[j] = 1.0;
            continue;
        }
        if (!have_grad) { /* first evaluation: start w' from w */
            memcpy(ws->wx, w, obj->n * sizeof(float));
            done = 0;
        }
        if (!have_grad || !unmoved(w, w_next, done, pe)) {
            memcpy(ws->wx + done, w_next + done, (pe - done) * sizeof(float));
            done = pe;
            double L;
            NS_TRY(obj->loss_grad(obj->ctx, ws->wx, &L, ws->gx));
            nev++;
            have_grad = 1;
        } else {
            done = pe; /* the extra prefix did not move: same w', same gradient */
        }
        compare(G, ws->gx + obj->layer_off[i], len, &diff[j], &cosine[j]);
    }
    if (evals) *evals = nev;
    return NS_OK;
}
