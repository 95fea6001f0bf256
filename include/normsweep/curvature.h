/* curvature.h - the Hessian's spectrum from Hessian-vector products.
 *
 * Like probe.h, these never see a network: they see an ns_linop, a symmetric
 * linear operator x -> A x on float vectors of n entries (the exact HVP of
 * hvp.h, ns_hvp_linop; the finite-difference HVP, ns_fd_linop; or any
 * closed-form matrix in the tests). Exact definitions: docs/measurements.md,
 * "Curvature".
 *
 *   ns_curv_spectrum    Lanczos with full reorthogonalization: the k largest
 *                       eigenvalues and the smallest, each with its residual
 *                       ||A y - theta y|| and a converged flag; the share of a
 *                       gradient in the top-k eigenspace ||P_k g||^2/||g||^2.
 *   ns_curv_slq         the spectral density by stochastic Lanczos quadrature:
 *                       nodes and weights of n_v Rademacher probes x m steps.
 *   ns_curv_hutchinson  Hutchinson's trace estimate and its standard error.
 *   ns_curv_layers      the top eigenvalue of each measured layer's diagonal
 *                       block of A.
 *
 * Randomness: probe streams (probe.h ns_probe_stream) with purposes
 * NS_PROBE_RNG_LANCZOS, _SLQ, _BLOCK and, for Hutchinson, _HUTCHINSON (the
 * same vectors as the finite-difference estimator of probe.h). Every draw
 * depends on (seed, purpose, step) only. Precision: the Lanczos basis is
 * float (memory), every dot product, norm and recurrence is double, and the
 * tridiagonal eigenproblems are solved in double (ns_tridiag_eig).
 *
 * Non-finite operator output (a diverged point) is data: the affected
 * results are NaN, not-converged, and the status is NS_OK.
 * Nothing allocates after the workspace.
 */
#ifndef NORMSWEEP_CURVATURE_H
#define NORMSWEEP_CURVATURE_H

#include "normsweep/probe.h"
#include "normsweep/rng.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ operators */

typedef struct ns_linop {
    size_t n;
    /* y = A x (n floats each, no aliasing) */
    ns_status (*apply)(void *ctx, const float *x, float *y);
    /* Optional (NULL: apply is used): y[lo, hi) = (A x~)[lo, hi) with
     * x~ = x on [lo, hi) and 0 elsewhere; x is read and y written only on
     * [lo, hi). For the per-layer blocks, when a block is cheaper. */
    ns_status (*apply_block)(void *ctx, const float *x, float *y, size_t lo, size_t hi);
    void *ctx;
} ns_linop;

/* The finite-difference HVP of probe.h as an operator, with its error:
 *   y = (grad L(fl(w + h x)) - grad L(fl(w - h x))) / (2h)    (2 evaluations)
 * ns_fd_linop's apply gives exactly that (what power iteration uses). */
typedef struct ns_fd_hvp {
    const ns_objective *obj;
    ns_probe_ws *ws;
    const float *w;
    double h;
} ns_fd_hvp;
ns_linop ns_fd_linop(ns_fd_hvp *fd);

/* The difference D_s at s = h, 2h and h/2 (6 evaluations), with the
 * realized displacement u = (fl(w + h x) - fl(w - h x)) / (2h) of step h:
 *   hu   = D_h  (~ H u),  u: written if not NULL
 *   *err = ||D_h - D_2h|| + ||D_h - D_h/2||, an estimate of ||hu - H u|| that
 *          covers the three ways D_h goes wrong: the O(h^2) truncation (D_2h's
 *          is 4x, D_h/2's 1/4 of D_h's: the sum is 3.75x it), the gradients'
 *          float rounding amplified by 1/h (D_2h's is 1/2, D_h/2's 2x: the sum
 *          ~3.4x it), and a kink (ReLU, max-pool, l1, linf) crossed within the
 *          step, whose jump J enters D_s as J/(2s): within h/2 or between h/2
 *          and h the sum is 1.5x D_h's error, beyond h D_h is clean.
 * scratch: n floats. Uses ws->wx, ws->gx, ws->gy. */
ns_status ns_fd_hvp_err(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                        const float *x, double h, float *hu, float *u, float *scratch,
                        double *err);

/* ------------------------------------------------------------ dense helpers */

/* Eigen-decomposition of the symmetric tridiagonal k x k matrix with diagonal
 * d[0..k) and off-diagonal e[0..k-1) (e[i] couples i and i+1), by implicit QL
 * with Wilkinson shifts: eval ascending; evec (may be NULL) k x k row-major,
 * column j the unit eigenvector of eval[j]. work: k doubles.
 * NS_ERR_NUMERIC for non-finite input (or an eigenvalue taking more than 60
 * iterations, which finite input does not). */
ns_status ns_tridiag_eig(int k, const double *d, const double *e, double *eval, double *evec,
                         double *work);

/* Eigen-decomposition of a dense symmetric n x n matrix (row-major; A is
 * overwritten) by cyclic Jacobi rotations: eval ascending, evec (may be NULL)
 * n x n, column j for eval[j]. A reference solver for tests (O(n^3) per
 * sweep). NS_ERR_NUMERIC if 100 sweeps do not converge. */
ns_status ns_jacobi_eig(int n, double *A, double *eval, double *evec);

/* ------------------------------------------------------------ Lanczos */

#define NS_LANCZOS_MAX_STEPS 1000
#define NS_SPECTRUM_MAX_K 32

/* Scratch for every Lanczos-based probe on vectors of up to n entries and up
 * to m steps: the basis (m x n floats), the residual (n doubles), two
 * n-float vectors and O(m^2) doubles. */
typedef struct ns_lanczos_ws {
    size_t n;
    int m;
    float *Q;       /* [m][n] basis                                   */
    double *r;      /* [n] current residual                           */
    float *y, *ay;  /* [n] Ritz vector and its image; block scratch    */
    float *x, *ax;  /* [n] full-length vectors for block operators     */
    double *alpha, *beta, *theta, *S, *work, *qg; /* m, m, m, m*m, m, m */
    void *owned;    /* the block ns_lanczos_ws_alloc made (NULL: placed) */
} ns_lanczos_ws;

/* All of it in one block of its own (free with ns_lanczos_ws_free), or
 * placed in the caller's memory: ns_lanczos_ws_bytes(n, m) bytes, 64-byte
 * aligned (0: n or m out of range), laid out by ns_lanczos_ws_place, which
 * allocates nothing (ns_lanczos_ws_free then releases nothing). */
ns_status ns_lanczos_ws_alloc(ns_lanczos_ws *ws, size_t n, int m);
size_t ns_lanczos_ws_bytes(size_t n, int m);
ns_status ns_lanczos_ws_place(ns_lanczos_ws *ws, size_t n, int m, void *mem);
void ns_lanczos_ws_free(ns_lanczos_ws *ws); /* safe on a zeroed, freed or placed ws */

typedef struct ns_spectrum_config {
    int k;         /* top eigenvalues wanted, 1..NS_SPECTRUM_MAX_K    default 3   */
    int steps;     /* Lanczos steps at most, >= k + 1                 default 20  */
    double tol;    /* converged: residual <= tol * ||A||_est          default 1e-3 */
    int residuals; /* 1: true residuals (k + 1 more products); 0: the Lanczos
                      estimates |beta_m s_m| (free)                     default 1   */
} ns_spectrum_config;

ns_spectrum_config ns_spectrum_defaults(void);

typedef struct ns_eig {
    double lambda;   /* Ritz value                                        */
    double residual; /* ||A y - lambda y|| for its unit Ritz vector y      */
    int converged;   /* residual <= tol * ||A||_est                        */
} ns_eig;

typedef struct ns_spectrum_out {
    int k;                          /* pairs in top[] (min(k, steps made))    */
    ns_eig top[NS_SPECTRUM_MAX_K];  /* largest first                          */
    ns_eig min;                     /* the smallest (most negative)           */
    double norm_est;                /* ||A||_est = max |Ritz value|           */
    double grad_share;              /* ||P_k g||^2 / ||g||^2 (NaN: no g, g = 0) */
    int steps;                      /* Lanczos steps made                     */
    int products;                   /* operator applications                  */
} ns_spectrum_out;

/* Lanczos from a Rademacher start vector (NS_PROBE_RNG_LANCZOS of `step`),
 * full reorthogonalization, stopping early when the Lanczos residual
 * estimates of the k top pairs and the smallest pair are all below
 * tol * ||A||_est, or on an invariant subspace. g (n floats, may be NULL): the
 * gradient whose top-k share is wanted. ws made for n >= op->n and m >= steps. */
ns_status ns_curv_spectrum(const ns_linop *op, ns_lanczos_ws *ws, const ns_spectrum_config *cfg,
                           const float *g, uint64_t seed, long step, ns_spectrum_out *out);

/* Stochastic Lanczos quadrature: for probe j < nv, Lanczos of m steps from
 * v_j / sqrt(n), v_j Rademacher (NS_PROBE_RNG_SLQ of `step`, drawn one after
 * the other); the Gauss quadrature of the spectral measure of v_j:
 *   nodes[j*m + i]   = Ritz value i of T_m (ascending)
 *   weights[j*m + i] = (first component of its unit eigenvector)^2 (sum 1)
 * The density estimate is (1/nv) sum_j sum_i weights delta(t - nodes)
 * (docs/measurements.md). A probe whose Lanczos stops early (invariant
 * subspace after s < m steps) pads with node NaN, weight 0. */
ns_status ns_curv_slq(const ns_linop *op, ns_lanczos_ws *ws, int nv, int m, uint64_t seed,
                      long step, double *nodes, double *weights);

/* Hutchinson: z_j Rademacher (NS_PROBE_RNG_HUTCHINSON of `step`, the vectors
 * of probe.h's estimator), s_j = z_j^T A z_j, trace = mean s_j, se = sample
 * sd / sqrt(m) (NaN for m < 2). z, az: n floats of scratch. */
ns_status ns_curv_hutchinson(const ns_linop *op, float *z, float *az, int m, uint64_t seed,
                             long step, double *trace, double *se);

/* For each measured layer i: Lanczos of up to `steps` steps on the diagonal
 * block A[off_i.., off_i..] of size len_i (the operator's apply_block, else
 * apply on a zero-padded vector), from the slice [off_i, off_i + len_i) of
 * one Rademacher vector of n entries (NS_PROBE_RNG_BLOCK of `step`):
 * lambda[i] = its largest Ritz value, residual[i] its true residual (one more
 * product), converged[i] = residual <= tol * max |Ritz value of the block|. */
ns_status ns_curv_layers(const ns_linop *op, ns_lanczos_ws *ws, int nlayers, const size_t *off,
                         const size_t *len, int steps, double tol, uint64_t seed, long step,
                         double *lambda, double *residual, int *converged);

/* Rademacher vector: entry i = +-1 from bit (i mod 32) of the (i/32)-th
 * 32-bit word of r (the layout of probe.h's Hutchinson vectors). */
void ns_rademacher(ns_rng *r, float *z, size_t n);

#endif
