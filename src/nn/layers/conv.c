/* conv.c - the 2-D convolution layer (torch.nn.Conv2d: square kernel, stride,
 * zero padding, weight [cout][cin][k][k], NCHW) and the choice of strategy.
 *
 * The strategies live in their own files behind conv_impl.h's interface
 * (forward, backward, scratch size); this file says which one runs where
 * (conv_plan_for, with the thresholds below), owns the memory they declare,
 * and is the layer's vtable. */
#include "conv_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ thresholds
 * Measured on this project's machine kind: 2-core AMD EPYC VM (AVX-512),
 * OpenBLAS 0.3.21 with the SkylakeX kernel, 1 thread, batch 128. "net" numbers
 * are cpu_ms_per_step of `normsweep bench --arch vgg11:width=0.25 [--shape]`
 * (medians of 5 interleaved runs of two builds differing only in the -D,
 * none / batch norm); "layer" numbers are CPU ms of one conv layer's forward +
 * backward at batch 128 with the strategy forced (ns_conv_create_with,
 * medians of 9 interleaved repeats). The 2026-12-04 runs had load 5-15 on
 * the 2 cores (other jobs): CPU time, not wall time, and only same-run
 * comparisons. -D overrides each for such measurements.
 *
 * All but the gather threshold change the arithmetic, so moving them changes
 * results in the last bits; the lowerings give identical bits (test_conv.c),
 * so that one is a pure speed knob. */

/* Images per GEMM tile: T = ceil(NS_CONV_GEMM_COLS / P), at most the batch.
 * im2col engine (docs/benchmarks.md "Tried and not kept"): 1024 columns
 * 62 -> 67 ms per VGG-11/4 step, 256 the same as 512. Re-measured on 2 cores,
 * 2026-12-04, net on 1x28x28 (where it matters: 7x7, 3x3, 1x1 maps; 32x32
 * CIFAR maps have P >= 512): 512 79.2 / 88.0 ms, 256 77.5 / 87.5 (1.02x /
 * 1.01x, within noise), 1024 80.6 / 89.3 (0.96x / 0.98x). */
#ifndef NS_CONV_GEMM_COLS
#define NS_CONV_GEMM_COLS 512
#endif

/* Maps of at most this many output pixels use the gather lowering, larger
 * ones the shifted copy ("same" convs) or the general im2col. Measured on 2
 * cores, 2026-12-04, layer, gather vs shift with the plan's dX:
 *   5x5  (25): 64->64 9.6 vs 10.8, 128->128 31.2 vs 34.6       gather wins
 *   6x6  (36): 64->64 13.3 vs 14.2, 32->32 4.9 vs 5.4,
 *              128->128 42.7 vs 43.7                           gather wins
 *   7x7  (49): 64->64 18.5 vs 18.5 (flip), 128->128 61.8 vs 57.5,
 *              32->64 9.7 vs 9.2, 16->32 3.8 vs 3.5            shift wins or ties
 *   8x8  (64): 64->64 24.2 vs 22.5; 9x9 (81): 30.7 vs 28.4;
 *   11x11 (121): 46.0 vs 40.4                                  shift wins
 * Net: 1x28x28 (7x7 maps) with 36 instead of 64: 75.1 -> 73.9 / 83.4 ->
 * 82.7 ms; 3x36x36 (9x9) with 121: 109.8 -> 115.6 / 125.9 -> 130.3 ms.
 * So 36 (it was 64, from the change that introduced the gather, which
 * measured whole nets only: commit 7e7a0ea). */
#ifndef NS_CONV_GATHER_MAX_PIXELS
#define NS_CONV_GATHER_MAX_PIXELS 36
#endif

/* 3x3/1/1 convs on even maps run as Winograd from this many input channels
 * on (the first VGG conv, cin 3 or 1, stays im2col: its GEMM inner size is
 * 27 or 9, too short for 16 products per tile to pay). Measured on 2 cores,
 * 2026-12-04, net with the threshold at 1 (first conv Winograd) instead of 8:
 * 3x32x32 81.1 -> 86.8 / 95.4 -> 100.7 ms (0.93x / 0.95x), 1x28x28 73.8 ->
 * 78.7 / 80.9 -> 86.4 ms (0.94x). No VGG conv has 3 < cin < 8, so any value
 * in 4..16 chooses the same. */
#ifndef NS_CONV_WINO_MIN_CIN
#define NS_CONV_WINO_MIN_CIN 8
#endif

/* A "same" conv gets dX by the rotated-kernel conv (conv_flip.c) only when
 * cout <= cin: with cout > cin its im2col of dY is larger than col2im's
 * columns. Measured (commit c9f5e05 and after, per backward of VGG-11/4
 * layers, load 6-7, before Winograd took the even maps): 16->32 at 16x16
 * 5.5 -> 7.3 ms and 64->128 at 4x4 3.9 -> 4.2 ms slower with the flip;
 * 128->128 at 2x2 3.4 -> 2.0 ms, at 4x4 7.8 -> 7.3, 64->64 at 8x8 9.8 -> 8.9
 * ms faster. (2026-12-04, layer, with the shift lowering at 7x7 the flip is
 * 1-3% slower than the adjoint for cout = cin, within noise; kept: changing
 * it changes results.) */
static int flip_pays(const conv_geom *g) { return g->cout <= g->cin; }

/* ------------------------------------------------------------ the choice */

static int max_int(int a, int b) { return a > b ? a : b; }

/* Which strategy runs, given the forced parts of ch (AUTO: chosen here). */
static conv_plan conv_plan_for(const conv_geom *g, ns_conv_choice ch)
{
    conv_plan pl = {0};
    if (ch.algo == NS_CONV_WINOGRAD ||
        (ch.algo == NS_CONV_AUTO && conv_winograd_fits(g) && g->cin >= NS_CONV_WINO_MIN_CIN)) {
        pl.algo = &conv_algo_winograd;
        return pl;
    }
    pl.algo = &conv_algo_gemm;
    pl.dx_by_flip = ch.dx == NS_CONV_DX_FLIP ||
                    (ch.dx == NS_CONV_DX_AUTO && conv_is_same(g) && flip_pays(g));
    const int nch = pl.dx_by_flip ? max_int(g->cin, g->cout) : g->cin;
    switch (ch.lower) {
    case NS_CONV_LOWER_ROWS: pl.lower = &conv_lower_rows; break;
    case NS_CONV_LOWER_SHIFT: pl.lower = &conv_lower_shift; break;
    case NS_CONV_LOWER_GATHER: pl.lower = &conv_lower_gather; break;
    default:
        pl.lower = g->P <= NS_CONV_GATHER_MAX_PIXELS && conv_gather_fits(g, nch) ? &conv_lower_gather
                   : conv_is_same(g)                                              ? &conv_lower_shift
                                                                                  : &conv_lower_rows;
    }
    return pl;
}

/* Forced choices that cannot run on g: NS_ERR_ARG naming what they need. */
static ns_status check_choice(const conv_geom *g, ns_conv_choice ch)
{
    NS_CHECK(ch.algo != NS_CONV_WINOGRAD || conv_winograd_fits(g), NS_ERR_ARG,
             "conv2d: Winograd needs a 3x3 stride-1 pad-1 conv on an even map, got k %d s %d p %d "
             "on %dx%d", g->k, g->s, g->p, g->H, g->W);
    NS_CHECK(ch.algo != NS_CONV_WINOGRAD || (ch.lower == NS_CONV_LOWER_AUTO && ch.dx == NS_CONV_DX_AUTO),
             NS_ERR_ARG, "conv2d: a lowering or dX strategy applies to the im2col algorithm only");
    NS_CHECK((ch.lower != NS_CONV_LOWER_SHIFT && ch.dx != NS_CONV_DX_FLIP) || conv_is_same(g),
             NS_ERR_ARG, "conv2d: the shifted-copy lowering and the rotated-kernel dX need a "
             "'same' conv (stride 1, output %dx%d = input %dx%d)", g->Ho, g->Wo, g->H, g->W);
    int nch = ch.dx == NS_CONV_DX_FLIP ? max_int(g->cin, g->cout) : g->cin;
    NS_CHECK(ch.lower != NS_CONV_LOWER_GATHER || conv_gather_fits(g, nch), NS_ERR_ARG,
             "conv2d: the gather lowering's padded tile (%d channels x %d images x %dx%d) exceeds "
             "its size limit of 2^30 floats", nch, g->T, g->H + 2 * g->p, g->W + 2 * g->p);
    return NS_OK;
}

/* ------------------------------------------------------------ memory */

/* Scratch shared by every conv layer of the process (conv_impl.h): it holds
 * nothing from one forward/backward call to the next, so one buffer sized for
 * the largest layer serves all (per-layer buffers put full VGG-11's peak RSS
 * above PyTorch's: 594 vs 548 MB with the Winograd scratch per layer, 427 MB
 * shared, and the shared buffer stayed in cache: 50.1 -> 47.0 ms per VGG-11/4
 * + BN step). It grows only in create and is freed with the last layer. */
static struct {
    void *buf;
    size_t cap;
    int users;
} scratch;

static ns_status scratch_reserve(size_t bytes)
{
    bytes = conv_align(bytes > 0 ? bytes : 1);
    if (bytes > scratch.cap) {
        /* contents need not survive: free first, so the peak is the new size */
        free(scratch.buf);
        scratch.buf = aligned_alloc(64, bytes);
        scratch.cap = scratch.buf ? bytes : 0;
        NS_CHECK(scratch.buf, NS_ERR_NOMEM, "conv2d: out of memory for %zu bytes of scratch",
                 bytes);
    }
    scratch.users++;
    return NS_OK;
}

static void scratch_release(void)
{
    if (--scratch.users > 0) return;
    free(scratch.buf);
    scratch.buf = NULL;
    scratch.cap = 0;
}

/* ------------------------------------------------------------ the layer */

static void conv_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    (void)pass;
    const conv_priv *c = l->priv;
    const float *bias = c->bias ? l->w + (size_t)c->g.cout * c->g.K : NULL;
    c->plan.algo->forward(c, scratch.buf, l->w, bias, out, in, batch);
}

static void conv_backward(ns_layer *l, float *din, const float *dout, const float *in,
                          const float *out, int batch)
{
    (void)out;
    const conv_priv *c = l->priv;
    float *db = c->bias ? l->dw + (size_t)c->g.cout * c->g.K : NULL;
    if (db) memset(db, 0, (size_t)c->g.cout * sizeof *db);
    c->plan.algo->backward(c, scratch.buf, l->w, l->dw, db, din, dout, in, batch);
}

static void conv_init(ns_layer *l, ns_rng *rng, ns_init_kind kind)
{
    const conv_priv *c = l->priv;
    int kk = c->g.k * c->g.k;
    ns_init_weights(l->w, (size_t)c->g.cout * c->g.K, c->g.cin * kk, c->g.cout * kk, rng, kind);
    if (c->bias) memset(l->w + (size_t)c->g.cout * c->g.K, 0, (size_t)c->g.cout * sizeof(float));
}

static void conv_destroy(ns_layer *l)
{
    if (!l->priv) return;
    free(l->priv);
    l->priv = NULL;
    scratch_release();
}

/* No R-ops of its own: conv is bilinear, the net composes them from forward
 * and backward (nn/rop.h). */
static const ns_layer_ops conv_ops = {.kind = "conv2d", .forward = conv_forward,
                                      .backward = conv_backward, .init = conv_init,
                                      .destroy = conv_destroy};

const char *ns_conv_describe(const ns_layer *l, char *buf, size_t size)
{
    const conv_priv *c = l->priv;
    if (c->plan.lower)
        snprintf(buf, size, "%s/%s/%s", c->plan.algo->name, c->plan.lower->name,
                 c->plan.dx_by_flip ? "flip" : "adjoint");
    else
        snprintf(buf, size, "%s", c->plan.algo->name);
    return buf;
}

ns_status ns_conv_create(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                         int max_batch)
{
    return ns_conv_create_with(l, in, cout, k, s, p, bias, max_batch, (ns_conv_choice){0});
}

ns_status ns_conv_create_algo(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                              int max_batch, ns_conv_algo algo)
{
    return ns_conv_create_with(l, in, cout, k, s, p, bias, max_batch,
                               (ns_conv_choice){algo, NS_CONV_LOWER_AUTO, NS_CONV_DX_AUTO});
}

ns_status ns_conv_create_with(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                              int max_batch, ns_conv_choice choice)
{
    NS_CHECK(in.c > 0 && in.h > 0 && in.w > 0 && cout > 0 && k > 0 && s > 0 && p >= 0 &&
                 max_batch > 0,
             NS_ERR_ARG, "conv2d: bad configuration in %dx%dx%d cout %d k %d s %d p %d", in.c,
             in.h, in.w, cout, k, s, p);
    int Ho = (in.h + 2 * p - k) / s + 1, Wo = (in.w + 2 * p - k) / s + 1;
    NS_CHECK(in.h + 2 * p >= k && in.w + 2 * p >= k && Ho > 0 && Wo > 0, NS_ERR_ARG,
             "conv2d: kernel %d with padding %d does not fit input %dx%d", k, p, in.h, in.w);
    conv_geom g = {.cin = in.c, .cout = cout, .k = k, .s = s, .p = p, .H = in.h, .W = in.w,
                   .Ho = Ho, .Wo = Wo, .K = in.c * k * k, .P = Ho * Wo, .max_batch = max_batch};
    g.T = (NS_CONV_GEMM_COLS + g.P - 1) / g.P;
    if (g.T > max_batch) g.T = max_batch;
    NS_TRY(check_choice(&g, choice));
    conv_plan plan = conv_plan_for(&g, choice);

    /* One allocation per layer: the private part, then what the lowering keeps. */
    const int nch = plan.dx_by_flip ? max_int(g.cin, g.cout) : g.cin;
    const size_t head = conv_align(sizeof(conv_priv));
    const size_t keep = plan.lower ? conv_align(plan.lower->keep(&g, nch)) : 0;
    conv_priv *c = aligned_alloc(64, head + keep);
    NS_CHECK(c, NS_ERR_NOMEM, "conv2d: out of memory for %zu bytes of layer workspace",
             head + keep);
    memset(c, 0, head + keep);
    *c = (conv_priv){.g = g, .plan = plan, .bias = bias, .keep = keep ? (char *)c + head : NULL};
    if (plan.lower && plan.lower->setup) plan.lower->setup(&g, nch, c->keep);
    ns_status st = scratch_reserve(plan.algo->scratch(c));
    if (st != NS_OK) {
        free(c);
        return st;
    }

    ns_shape o = {cout, Ho, Wo};
    ns_layer_setup(l, &conv_ops, in, o, max_batch);
    l->priv = c;
    l->is_weight = 1;
    l->nparams = (size_t)cout * g.K + (bias ? (size_t)cout : 0);
    int wd[4] = {cout, in.c, k, k};
    ns_layer_add_view(l, "weight", 0, 0, 4, wd);
    if (bias) ns_layer_add_view(l, "bias", (size_t)cout * g.K, 0, 1, &cout);
    return NS_OK;
}
