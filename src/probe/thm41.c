/* thm41.c - the two sides of Theorem 4.1 (paper Sec. 4) for one BN layer:
 * the squared gradient norm w.r.t. the BN input against the paper's
 * expression in the gradient w.r.t. the BN output.
 *
 * Why rhs_eps: the BN backward with eps is
 *   dL/dy_i = (gamma/s) (g_i - mean(g) - yhat_i <g, yhat>/m),   s^2 = var + eps,
 * and ||yhat||^2 = m var/(var + eps), so
 *   ||dL/dy||^2 = gamma^2/s^2 (||g||^2 - <1,g>^2/m - (1 + eps/s^2) <g,yhat>^2/m).
 * The paper's statement drops eps; both are recorded so a reader can check the
 * engine's backward (lhs == rhs_eps to rounding) and the theorem (lhs vs rhs). */
#include "normsweep/probe.h"

#include <math.h>

ns_status ns_thm41(const float *y, const float *dy, const float *dz, const float *gamma,
                   double eps, int batch, int channels, int spatial, double *lhs, double *rhs,
                   double *rhs_eps)
{
    NS_CHECK(batch >= 1 && channels >= 1 && spatial >= 1, NS_ERR_ARG,
             "thm41: shape batch=%d channels=%d spatial=%d must be positive", batch, channels,
             spatial);
    NS_CHECK(eps >= 0, NS_ERR_ARG, "thm41: eps = %g must be >= 0", eps);
    const double m = (double)batch * spatial;
    for (int c = 0; c < channels; c++) {
        /* unit c is the strided set {(b*channels + c)*spatial + s}: visit it per row */
        double sy = 0;
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) sy += y[((size_t)b * channels + c) * spatial + s];
        double mu = sy / m, v = 0;
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                double d = y[((size_t)b * channels + c) * spatial + s] - mu;
                v += d * d;
            }
        double s2 = v / m + eps, sd = sqrt(s2);
        double gg = 0, g1 = 0, gy = 0, l = 0;
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                size_t i = ((size_t)b * channels + c) * spatial + s;
                double g = dz[i], yh = (y[i] - mu) / sd;
                gg += g * g;
                g1 += g;
                gy += g * yh;
                l += (double)dy[i] * dy[i];
            }
        double k = (double)gamma[c] * gamma[c] / s2;
        lhs[c] = l;
        rhs[c] = k * (gg - g1 * g1 / m - gy * gy / m);
        if (rhs_eps) rhs_eps[c] = k * (gg - g1 * g1 / m - (1 + eps / s2) * gy * gy / m);
    }
    return NS_OK;
}
