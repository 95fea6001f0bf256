/* conv_flip.c - dX of a "same" convolution (stride 1, Ho = H, Wo = W, so
 * 2p = k-1) as a forward convolution of dY, for the gemm conv (conv_impl.h):
 *   dX[ci][y][x] = sum_{co,ki,kj} W[co][ci][k-1-ki][k-1-kj] dY[co][y+ki-p][x+kj-p]
 * i.e. this layer's forward with the kernel rotated by 180 degrees and the
 * channels swapped, Wflip[ci][co][ki][kj]. The GEMM then has inner size
 * cout*k*k instead of cout, and the lowering's gather replaces col2im's
 * scatter-add. conv.c uses it when cout <= cin (see conv_plan_for). */
#include "conv_impl.h"

size_t conv_flip_scratch(const conv_geom *g)
{
    return conv_align((size_t)g->cout * g->cin * g->k * g->k * sizeof(float));
}

void conv_flip_dx(const conv_priv *c, float *wflip, float *cols, float *ybuf, const float *w,
                  const float *dy, float *dx, int batch)
{
    const conv_geom *g = &c->g;
    const int kk = g->k * g->k, CI = g->cin, CO = g->cout;
    const size_t in_sz = (size_t)CI * g->H * g->W, out_sz = (size_t)CO * g->P;
    for (int co = 0; co < CO; co++)
        for (int ci = 0; ci < CI; ci++) {
            const float *wk = w + ((size_t)co * CI + ci) * kk;
            float *f = wflip + ((size_t)ci * CO + co) * kk;
            for (int q = 0; q < kk; q++) f[q] = wk[kk - 1 - q];
        }
    for (int b0 = 0; b0 < batch; b0 += g->T) {
        int tb = batch - b0 < g->T ? batch - b0 : g->T;
        c->plan.lower->forward(g, c->keep, dy + b0 * out_sz, tb, CO, cols);
        conv_tile_gemm(g, wflip, CI, CO * kk, NULL, tb, cols, ybuf, dx + b0 * in_sz);
    }
}
