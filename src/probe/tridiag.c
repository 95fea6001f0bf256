/* tridiag.c - small dense symmetric eigenproblems in double: the Lanczos
 * tridiagonal matrices (implicit QL) and, as a reference for tests, any
 * symmetric matrix (cyclic Jacobi). See curvature.h. */
#include "normsweep/curvature.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Sort eval ascending, permuting the columns of evec (k x k) alike. */
static void sort_pairs(int k, double *eval, double *evec)
{
    for (int i = 0; i < k - 1; i++) {
        int best = i;
        for (int j = i + 1; j < k; j++)
            if (eval[j] < eval[best]) best = j;
        if (best == i) continue;
        double t = eval[i];
        eval[i] = eval[best];
        eval[best] = t;
        for (int r = 0; evec && r < k; r++) {
            t = evec[r * k + i];
            evec[r * k + i] = evec[r * k + best];
            evec[r * k + best] = t;
        }
    }
}

/* One implicit QL sweep on the unreduced block [l, m] with a Wilkinson shift
 * from the top 2x2 corner; rotations accumulated into the columns of z. */
static void ql_sweep(int k, int l, int m, double *d, double *e, double *z)
{
    double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
    double r = hypot(g, 1.0);
    g = d[m] - d[l] + e[l] / (g + copysign(r, g)); /* d[m] - shift */
    double s = 1.0, c = 1.0, p = 0.0;
    int i;
    for (i = m - 1; i >= l; i--) {
        double f = s * e[i], b = c * e[i];
        r = hypot(f, g);
        e[i + 1] = r;
        if (r == 0.0) { /* the rotation underflowed: the block splits here */
            d[i + 1] -= p;
            e[m] = 0.0;
            return;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (int q = 0; z && q < k; q++) {
            double t = z[q * k + i + 1];
            z[q * k + i + 1] = s * z[q * k + i] + c * t;
            z[q * k + i] = c * z[q * k + i] - s * t;
        }
    }
    d[l] -= p;
    e[l] = g;
    e[m] = 0.0;
}

ns_status ns_tridiag_eig(int k, const double *d, const double *e, double *eval, double *evec,
                         double *work)
{
    NS_CHECK(k >= 1, NS_ERR_ARG, "tridiag: size %d < 1", k);
    double *off = work;
    for (int i = 0; i < k; i++) {
        eval[i] = d[i];
        off[i] = i + 1 < k ? e[i] : 0.0;
        NS_CHECK(isfinite(eval[i]) && isfinite(off[i]), NS_ERR_NUMERIC,
                 "tridiag: non-finite entry in row %d", i);
    }
    if (evec) {
        memset(evec, 0, (size_t)k * k * sizeof *evec);
        for (int i = 0; i < k; i++) evec[i * k + i] = 1.0;
    }
    for (int l = 0; l < k; l++) {
        for (int iter = 0;; iter++) {
            int m = l; /* the first negligible off-diagonal at or after l */
            while (m < k - 1 &&
                   fabs(off[m]) > DBL_EPSILON * (fabs(eval[m]) + fabs(eval[m + 1])))
                m++;
            if (m == l) break;
            NS_CHECK(iter < 60, NS_ERR_NUMERIC,
                     "tridiag: eigenvalue %d did not converge (non-finite input?)", l);
            ql_sweep(k, l, m, eval, off, evec);
        }
    }
    sort_pairs(k, eval, evec);
    return NS_OK;
}

/* One Jacobi rotation zeroing A[p][q] (A symmetric, n x n), V = V J. */
static void jacobi_rotate(int n, double *A, double *V, int p, int q)
{
    const double apq = A[p * n + q];
    const double theta = (A[q * n + q] - A[p * n + p]) / (2.0 * apq);
    const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
    const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
    for (int r = 0; r < n; r++) {
        if (r == p || r == q) continue;
        double arp = A[r * n + p], arq = A[r * n + q];
        A[r * n + p] = A[p * n + r] = c * arp - s * arq;
        A[r * n + q] = A[q * n + r] = s * arp + c * arq;
    }
    A[p * n + p] -= t * apq;
    A[q * n + q] += t * apq;
    A[p * n + q] = A[q * n + p] = 0.0;
    for (int r = 0; V && r < n; r++) {
        double vrp = V[r * n + p], vrq = V[r * n + q];
        V[r * n + p] = c * vrp - s * vrq;
        V[r * n + q] = s * vrp + c * vrq;
    }
}

ns_status ns_jacobi_eig(int n, double *A, double *eval, double *evec)
{
    NS_CHECK(n >= 1, NS_ERR_ARG, "jacobi: size %d < 1", n);
    if (evec) {
        memset(evec, 0, (size_t)n * n * sizeof *evec);
        for (int i = 0; i < n; i++) evec[i * n + i] = 1.0;
    }
    double total = 0.0;
    for (size_t i = 0; i < (size_t)n * n; i++) total += A[i] * A[i];
    NS_CHECK(isfinite(total), NS_ERR_NUMERIC, "jacobi: non-finite matrix");
    for (int sweep = 0;; sweep++) {
        double off = 0.0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
        if (off <= 1e-30 * total) break;
        NS_CHECK(sweep < 100, NS_ERR_NUMERIC, "jacobi: no convergence in 100 sweeps");
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                if (A[p * n + q] != 0.0) jacobi_rotate(n, A, evec, p, q);
    }
    for (int i = 0; i < n; i++) eval[i] = A[i * n + i];
    sort_pairs(n, eval, evec);
    return NS_OK;
}
