/* test_net.c - losses (closed forms), SGD/momentum/weight-decay values, arch
 * strings (layouts, names, parameter counts, FLOPs, every error), whole-net
 * gradient checks (MLP, DLN, small VGG), determinism, backward hook, export. */
#include "ns_test.h"
#include "gradcheck.h"
#include "normsweep/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- losses */

START_TEST(softmax_ce_closed_form)
{
    float z[6] = {1, 2, 3, 0, 0, 0}, dz[6];
    int32_t y[2] = {2, 0};
    int correct = -1;
    double L = ns_loss_softmax_ce(z, y, 2, 3, dz, &correct);
    /* (log(1 + e^-1 + e^-2) + log 3) / 2 */
    ns_assert_close(L, 0.7531091265562451, 1e-7);
    ck_assert_int_eq(correct, 2); /* the all-zero row's tie resolves to class 0 */
    double se = exp(1.0) + exp(2.0) + exp(3.0);
    ns_assert_close(dz[0], exp(1.0) / se / 2, 1e-6);
    ns_assert_close(dz[2], (exp(3.0) / se - 1) / 2, 1e-6);
    ns_assert_close(dz[3], (1.0 / 3 - 1) / 2, 1e-6);
    ns_assert_close(dz[4], 1.0 / 6, 1e-6);
    /* large logits stay finite (log-sum-exp around the max) */
    float big[2] = {1000, 0};
    int32_t y1 = 1;
    ns_assert_close(ns_loss_softmax_ce(big, &y1, 1, 2, NULL, NULL), 1000.0, 1e-9);
}
END_TEST

START_TEST(squared_sum_closed_form)
{
    float f[4] = {1, 2, 0.5f, 0}, t[4] = {0, 4, 0.5f, -1}, df[4];
    ns_assert_close(ns_loss_squared_sum(f, t, 2, 2, df), 6.0, 1e-12);
    float e[4] = {2, -4, 0, 2};
    for (int i = 0; i < 4; i++) ck_assert_float_eq(df[i], e[i]);
}
END_TEST

START_TEST(loss_gradients_match_differences)
{
    float z[12], dz[12], t[12], df[12];
    int32_t y[3] = {1, 3, 0};
    ns_rng r;
    ns_rng_init(&r, 3, 4);
    for (int i = 0; i < 12; i++) {
        z[i] = ns_rng_range(&r, -2, 2);
        t[i] = ns_rng_range(&r, -2, 2);
    }
    ns_loss_softmax_ce(z, y, 3, 4, dz, NULL);
    ns_loss_squared_sum(z, t, 3, 4, df);
    const double h = 1e-2;
    for (int i = 0; i < 12; i++) {
        float k = z[i];
        z[i] = k + (float)h;
        double cp = ns_loss_softmax_ce(z, y, 3, 4, NULL, NULL), sp = ns_loss_squared_sum(z, t, 3, 4, NULL);
        z[i] = k - (float)h;
        double cm = ns_loss_softmax_ce(z, y, 3, 4, NULL, NULL), sm = ns_loss_squared_sum(z, t, 3, 4, NULL);
        z[i] = k;
        ns_assert_close_abs((cp - cm) / (2 * h), dz[i], 1e-3, 1e-2);
        ns_assert_close_abs((sp - sm) / (2 * h), df[i], 1e-5, 1.0);
    }
}
END_TEST

/* ---------------------------------------------------------------- SGD */

START_TEST(sgd_momentum_weight_decay_values)
{
    /* w = 1, g = 0.5, lr 0.1, mu 0.9, wd 0.01:
     * step 1: g' = 0.51, v = 0.51, w = 0.949
     * step 2: g' = 0.50949, v = 0.9*0.51 + 0.50949 = 0.96849, w = 0.852151 */
    ns_sgd_config c = {0.1, 0.9, 0.01};
    float w = 1, g = 0.5f, v = 0;
    ns_sgd_step(&c, &w, &g, &v, 1);
    ns_assert_close(v, 0.51, 1e-6);
    ns_assert_close(w, 0.949, 1e-6);
    ns_sgd_step(&c, &w, &g, &v, 1);
    ns_assert_close(v, 0.96849, 1e-6);
    ns_assert_close(w, 0.852151, 1e-6);
    /* plain SGD: no momentum buffer needed; weight decay alone */
    ns_sgd_config plain = {0.5, 0, 0}, wd = {0.5, 0, 0.1};
    float a[2] = {1, -2}, ga[2] = {0.25f, 1};
    ns_sgd_step(&plain, a, ga, NULL, 2);
    ck_assert_float_eq(a[0], 0.875f);
    ck_assert_float_eq(a[1], -2.5f);
    ns_sgd_step(&wd, a, ga, NULL, 2); /* a -= 0.5*(g + 0.1 a) */
    ns_assert_close(a[0], 0.875 - 0.5 * (0.25 + 0.0875), 1e-6);
    ns_assert_close(a[1], -2.5 - 0.5 * (1 - 0.25), 1e-6);
}
END_TEST

/* ---------------------------------------------------------------- arch strings */

START_TEST(vgg11_layout_cifar)
{
    ns_net *n;
    ns_shape in = {3, 32, 32};
    ck_assert_int_eq(ns_net_build("vgg11", NULL, in, 10, NS_LOSS_SOFTMAX_CE, 2, &n), NS_OK);
    ck_assert_int_eq(ns_net_nlayers(n), 8 + 8 + 5 + 1);
    ck_assert_int_eq((int)n->nparams, 9225610); /* torch CIFAR VGG-11, Linear(512, 10) */
    ck_assert_int_eq(n->nweights, 9);
    ck_assert_str_eq(ns_net_layer(n, 0)->name, "features.0");
    ck_assert_str_eq(ns_net_layer(n, 1)->ops->kind, "relu");
    ck_assert_str_eq(ns_net_layer(n, 2)->ops->kind, "maxpool2");
    ck_assert_str_eq(ns_net_layer(n, 3)->name, "features.3");
    ck_assert_str_eq(ns_net_layer(n, 21)->name, "classifier");
    ck_assert_int_eq(ns_net_layer(n, 21)->in_shape.c, 512);
    ck_assert_int_eq(ns_net_layer(n, 21)->in_shape.h, 1);
    /* measured layers: slices tile the weights in order; the prefix property */
    ck_assert_str_eq(n->weights[1].name, "features.3");
    ck_assert_int_eq((int)n->weights[0].off, 0);
    ck_assert_int_eq((int)n->weights[0].len, 1792);
    ck_assert_int_eq((int)n->weights[0].wlen, 1728);
    ck_assert_int_eq((int)n->weights[1].off, 1792);
    ck_assert_int_eq((int)(n->weights[8].off + n->weights[8].len), (int)n->nparams);
    ns_net_free(n);
    double flops;
    ck_assert_int_eq(ns_arch_check("vgg11", in, 10, &flops), NS_OK);
    ns_assert_close(flops, 916.617216e6, 1e-9);
}
END_TEST

START_TEST(vgg_on_28x28_omits_last_pool)
{
    ns_arch a;
    ns_shape in = {1, 28, 28};
    ck_assert_int_eq(ns_arch_resolve("vgg16:width=0.25", in, 10, &a), NS_OK);
    int pools = 0, convs = 0;
    for (int i = 0; i < a.nitems; i++) {
        pools += a.items[i].op == NS_AOP_POOL;
        convs += a.items[i].op == NS_AOP_CONV3;
    }
    ck_assert_int_eq(pools, 4); /* 28-14-7-3-1, the fifth pool meets 1x1 */
    ck_assert_int_eq(convs, 13);
    ck_assert_int_eq(a.items[0].width, 16);
    ck_assert_int_eq(a.items[a.nitems - 1].op, NS_AOP_DENSE);
    ck_assert_int_eq(a.items[a.nitems - 1].width, 10);
    ns_net *n;
    ck_assert_int_eq(ns_net_build("vgg16:width=0.25", NULL, in, 10, NS_LOSS_SOFTMAX_CE, 2, &n),
                     NS_OK);
    ns_layer *cls = ns_net_layer(n, ns_net_nlayers(n) - 1);
    ck_assert_int_eq((int)ns_shape_size(cls->in_shape), 128);
    ns_net_free(n);
    /* width rounding: round(64 * 0.3) = 19 */
    ck_assert_int_eq(ns_arch_parse("vgg13:width=0.3", &a), NS_OK);
    ck_assert_int_eq(a.items[0].width, 19);
}
END_TEST

START_TEST(mlp_and_dln_layouts)
{
    ns_net *n;
    ns_shape in = {1, 28, 28};
    ck_assert_int_eq(ns_net_build("mlp:784-256-256-256-10", NULL, in, 10, NS_LOSS_SOFTMAX_CE, 4, &n),
                     NS_OK);
    ck_assert_int_eq(ns_net_nlayers(n), 7); /* 3 x (dense, relu) + classifier */
    ck_assert_str_eq(ns_net_layer(n, 6)->name, "layers.6");
    ck_assert_int_eq((int)n->nparams, 784 * 256 + 256 + 2 * (256 * 256 + 256) + 2570);
    ns_net_free(n);
    double flops;
    ck_assert_int_eq(ns_arch_check("mlp:784-256-256-256-10", in, 10, &flops), NS_OK);
    ns_assert_close(flops, 6.0 * (784 * 256 + 2 * 256 * 256 + 2560), 1e-12);

    ns_shape d = {10, 1, 1};
    ck_assert_int_eq(ns_net_build("dln:depth=25,width=10", NULL, d, 10, NS_LOSS_SQUARED_SUM, 4, &n),
                     NS_OK);
    ck_assert_int_eq(ns_net_nlayers(n), 25);
    ck_assert_int_eq((int)n->nparams, 2500); /* bias-free */
    ck_assert_int_eq(n->nweights, 25);
    ck_assert_int_eq(ns_net_layer(n, 0)->nviews, 1);
    ns_net_free(n);
}
END_TEST

START_TEST(bad_arch_strings)
{
    static const struct { const char *arch; ns_shape in; int nout; const char *mention; } bad[] = {
        {"vgg12", {3, 32, 32}, 10, "vgg12"},
        {"", {3, 32, 32}, 10, "empty"},
        {"vgg16:width=0.001", {3, 32, 32}, 10, "width=0.001"},
        {"vgg16:depth=3", {3, 32, 32}, 10, "depth"},
        {"vgg11:width=abc", {3, 32, 32}, 10, "abc"},
        {"vgg11:width=-1", {3, 32, 32}, 10, "-1"},
        {"vgg11:width", {3, 32, 32}, 10, "width"},
        {"vgg11:width=0.5,", {3, 32, 32}, 10, "empty option"},
        {"mlp", {784, 1, 1}, 10, "mlp"},
        {"mlp:784", {784, 1, 1}, 10, "at least"},
        {"mlp:784-x-10", {784, 1, 1}, 10, "'x'"},
        {"mlp:784--10", {784, 1, 1}, 10, "''"},
        {"mlp:100-10", {1, 28, 28}, 10, "100"},
        {"mlp:784-10", {1, 28, 28}, 5, "outputs 5"},
        {"dln:depth=3", {10, 1, 1}, 10, "width"},
        {"dln:depth=0,width=10", {10, 1, 1}, 10, "depth 0"},
        {"dln:depth=3,width=10", {784, 1, 1}, 10, "784"},
        {"dln:depth=3,width=10,bias=1", {10, 1, 1}, 10, "bias"},
        {"vgg11", {3, 0, 32}, 10, "input shape"},
        {"vgg11", {3, 32, 32}, 0, "output count"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ns_error_clear();
        ns_status s = ns_arch_check(bad[i].arch, bad[i].in, bad[i].nout, NULL);
        ck_assert_msg(s == NS_ERR_ARG, "'%s' gave %s", bad[i].arch, ns_status_name(s));
        ck_assert_msg(strstr(ns_error_msg(), bad[i].mention) != NULL,
                      "'%s': message '%s' does not mention '%s'", bad[i].arch, ns_error_msg(),
                      bad[i].mention);
        ns_net *n = (ns_net *)1;
        ck_assert_int_eq(ns_net_build(bad[i].arch, NULL, bad[i].in, bad[i].nout,
                                      NS_LOSS_SOFTMAX_CE, 2, &n), NS_ERR_ARG);
        ck_assert_ptr_null(n);
    }
    ns_net *n;
    ns_shape in = {4, 1, 1};
    ck_assert_int_eq(ns_net_build("mlp:4-2", NULL, in, 2, NS_LOSS_SOFTMAX_CE, 0, &n), NS_ERR_ARG);
    ns_init_kind k;
    ck_assert_int_eq(ns_init_parse("xavier", &k), NS_ERR_ARG);
    ck_assert_int_eq(ns_init_parse("he", &k), NS_OK);
    ck_assert_int_eq(k, NS_INIT_HE);
}
END_TEST

/* ---------------------------------------------------------------- whole nets */

typedef struct toy {
    ns_net *n;
    ns_optim opt; /* SGD with momentum and weight decay, made by train_steps */
    float *x, *t;
    int32_t *y;
    int batch;
    int64_t steps; /* training steps so far */
} toy;

static toy toy_make(const char *arch, const ns_norm_config *norm, ns_shape in, int nout,
                    ns_loss_kind loss, int batch, uint64_t seed)
{
    toy T = {0};
    ck_assert_msg(ns_net_build(arch, norm, in, nout, loss, batch, &T.n) == NS_OK, "%s: %s", arch,
                  ns_error_msg());
    ck_assert_int_eq(ns_net_init(T.n, seed, NS_INIT_GLOROT), NS_OK);
    size_t nx = (size_t)batch * ns_shape_size(in);
    T.x = malloc(nx * sizeof *T.x);
    T.t = malloc((size_t)batch * nout * sizeof *T.t);
    T.y = malloc((size_t)batch * sizeof *T.y);
    ns_rng r;
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SYNTH, 0));
    for (size_t i = 0; i < nx; i++) T.x[i] = ns_rng_normal(&r);
    for (int i = 0; i < batch * nout; i++) T.t[i] = ns_rng_normal(&r);
    for (int i = 0; i < batch; i++) T.y[i] = (int32_t)ns_rng_below(&r, (uint32_t)nout);
    T.batch = batch;
    return T;
}

static void toy_free(toy *T)
{
    ns_optim_free(&T->opt);
    ns_net_free(T->n);
    free(T->x);
    free(T->t);
    free(T->y);
}

static double toy_gradcheck(const char *arch, ns_shape in, int nout, ns_loss_kind loss, int batch,
                            double h)
{
    toy T = toy_make(arch, NULL, in, nout, loss, batch, 21);
    double skipped;
    double e = gc_net(T.n, T.x, loss == NS_LOSS_SOFTMAX_CE ? T.y : NULL,
                      loss == NS_LOSS_SQUARED_SUM ? T.t : NULL, batch, h, 60, &skipped);
    toy_free(&T);
    ck_assert_msg(skipped < 0.05, "%s: %.1f%% of coordinates sit on kinks", arch, 100 * skipped);
    return e;
}

START_TEST(net_gradcheck_mlp)
{
    ns_shape in = {12, 1, 1};
    double e = toy_gradcheck("mlp:12-10-8-3", in, 3, NS_LOSS_SOFTMAX_CE, 5, 1e-3);
    ck_assert_msg(e < 1e-3, "mlp rel err %g", e);
}
END_TEST

START_TEST(net_gradcheck_dln)
{
    ns_shape in = {5, 1, 1};
    double e = toy_gradcheck("dln:depth=6,width=5", in, 5, NS_LOSS_SQUARED_SUM, 7, 1e-3);
    ck_assert_msg(e < 1e-3, "dln rel err %g", e);
}
END_TEST

START_TEST(net_gradcheck_vgg)
{
    /* vgg11 at width 1/16 (4..32 channels) on 3x8x8: 8-4-2-1, last two pools omitted */
    ns_shape in = {3, 8, 8};
    double e = toy_gradcheck("vgg11:width=0.0625", in, 4, NS_LOSS_SOFTMAX_CE, 3, 1e-3);
    ck_assert_msg(e < 5e-3, "vgg rel err %g", e); /* gradients ~1e-4: rounding noise */
}
END_TEST

/* Every normalization this build has, in every family: dense -> norm (MLP,
 * DLN) and conv -> norm (VGG). Kinds not built yet are reported and skipped. */
START_TEST(net_gradcheck_norms)
{
    /* Tolerances: float32 central differences on a normalized tiny VGG bottom out
     * at ~1-2% (measured over h = 1e-5..4e-4: rounding noise below, curvature
     * above), so it gets 5e-2 - enough to catch wiring errors, which give O(1).
     * The VGG + batch-norm gradient is checked to 1e-6 against PyTorch by
     * tests/cli/test_torch_crosscheck.sh; each norm layer alone by test_norm*. */
    static const struct { const char *arch; ns_shape in; int nout; ns_loss_kind loss; int batch; double tol; } nets[] = {
        {"mlp:6-8-8-3", {6, 1, 1}, 3, NS_LOSS_SOFTMAX_CE, 8, 1e-2},
        {"dln:depth=4,width=8", {8, 1, 1}, 8, NS_LOSS_SQUARED_SUM, 8, 1e-2},
        {"vgg11:width=0.0625", {3, 16, 16}, 3, NS_LOSS_SOFTMAX_CE, 4, 5e-2},
    };
    ns_norm_kind kind = (ns_norm_kind)_i;
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        ns_norm_config cfg = ns_norm_defaults(kind);
        cfg.groups = 2;
        ns_net *n;
        ns_status st = ns_net_build(nets[k].arch, &cfg, nets[k].in, nets[k].nout, nets[k].loss,
                                    nets[k].batch, &n);
        if (st != NS_OK && strstr(ns_error_msg(), "not built")) {
            fprintf(stderr, "note: norm %s not built yet: gradient check skipped\n",
                    ns_norm_name(kind));
            return;
        }
        ck_assert_msg(st == NS_OK, "%s/%s: %s", nets[k].arch, ns_norm_name(kind), ns_error_msg());
        ns_net_free(n);
        toy T = toy_make(nets[k].arch, &cfg, nets[k].in, nets[k].nout, nets[k].loss, nets[k].batch, 4);
        double skipped;
        /* h = 2e-4: at 1e-4 this check sat on float32's noise floor (im2col
         * convs: group norm 1.4% error, 4.1% kinks; with the Winograd convs, whose
         * outputs carry ~3x the rounding, 5.7% and 14.2%); at 2e-4 every norm
         * measured <= 1.9% error and <= 4.8% kinks. */
        double e = gc_net(T.n, T.x, T.y, T.t, T.batch, 2e-4, 40, &skipped);
        ck_assert_msg(skipped < 0.1, "%s/%s: %.1f%% of coordinates on kinks", nets[k].arch,
                      ns_norm_name(kind), 100 * skipped);
        ck_assert_msg(e < nets[k].tol, "%s/%s: rel err %g", nets[k].arch, ns_norm_name(kind), e);
        toy_free(&T);
    }
}
END_TEST

static void train_steps(toy *T, int steps)
{
    if (T->steps == 0) {
        ns_optim_config c = ns_optim_defaults();
        c.lr = 0.05, c.momentum = 0.9, c.weight_decay = 1e-3;
        ck_assert_int_eq(ns_optim_create(&T->opt, &c, T->n->nparams), NS_OK);
    }
    for (int s = 0; s < steps; s++, T->steps++)
        ns_net_train_step(T->n, T->x, T->n->loss == NS_LOSS_SOFTMAX_CE ? T->y : NULL,
                          T->n->loss == NS_LOSS_SQUARED_SUM ? T->t : NULL, T->batch, &T->opt,
                          T->steps, NULL);
}

START_TEST(determinism_bitwise)
{
    ns_shape in = {3, 8, 8};
    toy a = toy_make("vgg11:width=0.0625", NULL, in, 4, NS_LOSS_SOFTMAX_CE, 4, 5);
    toy b = toy_make("vgg11:width=0.0625", NULL, in, 4, NS_LOSS_SOFTMAX_CE, 4, 5);
    toy c = toy_make("vgg11:width=0.0625", NULL, in, 4, NS_LOSS_SOFTMAX_CE, 4, 6);
    train_steps(&a, 5);
    train_steps(&b, 5);
    train_steps(&c, 5);
    ck_assert(memcmp(a.n->params, b.n->params, a.n->nparams * sizeof(float)) == 0);
    ck_assert(memcmp(a.opt.state[0], b.opt.state[0], a.n->nparams * sizeof(float)) == 0);
    ck_assert(memcmp(a.n->params, c.n->params, a.n->nparams * sizeof(float)) != 0);
    toy_free(&a);
    toy_free(&b);
    toy_free(&c);
}
END_TEST

START_TEST(training_reduces_loss)
{
    /* MLP on a fixed batch: 50 SGD steps must fit it (loss falls by > 10x) */
    ns_shape in = {12, 1, 1};
    toy T = toy_make("mlp:12-32-3", NULL, in, 3, NS_LOSS_SOFTMAX_CE, 16, 8);
    double l0 = ns_net_forward(T.n, T.x, T.y, NULL, 16, NULL, NULL);
    train_steps(&T, 200);
    int correct;
    double l1 = ns_net_forward(T.n, T.x, T.y, NULL, 16, NULL, &correct);
    ck_assert_msg(l1 < l0 / 10, "loss %g -> %g", l0, l1);
    ck_assert_int_eq(correct, 16);
    toy_free(&T);
}
END_TEST

START_TEST(init_statistics)
{
    /* Glorot uniform: var = a^2/3 = 2/(fan_in+fan_out); He normal: var = 2/fan_in */
    ns_shape in = {200, 1, 1};
    ns_net *n;
    ck_assert_int_eq(ns_net_build("mlp:200-300-10", NULL, in, 10, NS_LOSS_SOFTMAX_CE, 1, &n), NS_OK);
    for (int kind = 0; kind < 2; kind++) {
        ck_assert_int_eq(ns_net_init(n, 1, (ns_init_kind)kind), NS_OK);
        double s2 = 0, amax = 0;
        size_t m = 200 * 300;
        for (size_t i = 0; i < m; i++) {
            s2 += (double)n->params[i] * n->params[i];
            if (fabs(n->params[i]) > amax) amax = fabs(n->params[i]);
        }
        double want = kind == NS_INIT_GLOROT ? 2.0 / 500 : 2.0 / 200;
        ns_assert_close(s2 / m, want, 0.03);
        if (kind == NS_INIT_GLOROT) ck_assert_double_le(amax, sqrt(6.0 / 500));
        for (int i = 0; i < 300; i++) ck_assert_float_eq(n->params[m + i], 0.0f); /* bias */
    }
    ns_net_free(n);
}
END_TEST

typedef struct hook_log {
    int calls, last_layer, din_null_at_0;
    double dout0_norm;
} hook_log;

static void hook_fn(void *ctx, int layer, const float *dout, const float *din)
{
    hook_log *h = ctx;
    h->calls++;
    ck_assert_int_eq(layer, h->last_layer - 1); /* called last layer first */
    h->last_layer = layer;
    if (layer == 0) {
        h->din_null_at_0 = din == NULL;
        h->dout0_norm = fabs(dout[0]);
    }
}

START_TEST(backward_hook_order)
{
    ns_shape in = {6, 1, 1};
    toy T = toy_make("mlp:6-5-4-2", NULL, in, 2, NS_LOSS_SOFTMAX_CE, 3, 1e-3);
    hook_log h = {0, ns_net_nlayers(T.n), 0, 0};
    ns_net_set_backward_hook(T.n, hook_fn, &h);
    ns_net_forward(T.n, T.x, T.y, NULL, 3, NULL, NULL);
    ns_net_backward(T.n, 3);
    ck_assert_int_eq(h.calls, 5);
    ck_assert_int_eq(h.din_null_at_0, 1);
    /* layer 0's dout equals the gradient wrt layer 0's output: dL/dy1 = dL/dW1 ... check
     * through dW1 = dout^T x for the first weight */
    ns_layer *l0 = ns_net_layer(T.n, 0);
    ck_assert_ptr_eq(ns_net_output_of(T.n, 0), T.n->acts[0]);
    ck_assert(l0->dw == T.n->grads);
    toy_free(&T);
}
END_TEST

START_TEST(export_roundtrip)
{
    ns_shape in = {2, 4, 4};
    toy T = toy_make("vgg11:width=0.03125", NULL, in, 3, NS_LOSS_SOFTMAX_CE, 2, 3);
    ns_net_forward(T.n, T.x, T.y, NULL, 2, NULL, NULL);
    ns_net_backward(T.n, 2);
    const char *dir = ns_test_tmpdir("export");
    char prefix[512], path[600];
    snprintf(prefix, sizeof prefix, "%s/w", dir);
    ck_assert_int_eq(ns_net_export(T.n, prefix, T.n->grads), NS_OK);
    snprintf(path, sizeof path, "%s.bin", prefix);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = T.n->nparams * 2 + T.n->nstate;
    float *buf = malloc((n + 1) * sizeof *buf);
    ck_assert_uint_eq(fread(buf, sizeof *buf, n + 1, f), n);
    fclose(f);
    ck_assert(memcmp(buf, T.n->params, T.n->nparams * 4) == 0);
    ck_assert(memcmp(buf + T.n->nparams + T.n->nstate, T.n->grads, T.n->nparams * 4) == 0);
    free(buf);
    snprintf(path, sizeof path, "%s.json", prefix);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char js[16384];
    size_t got = fread(js, 1, sizeof js - 1, f);
    js[got] = '\0';
    fclose(f);
    /* first conv: 2 -> round(64/32) = 2 channels, 3x3 */
    ck_assert_ptr_nonnull(strstr(js, "{\"name\":\"features.0.weight\",\"kind\":\"param\","
                                     "\"layer_kind\":\"conv2d\",\"shape\":[2,2,3,3],"
                                     "\"offset\":0,\"count\":36}"));
    ck_assert_ptr_nonnull(strstr(js, "\"name\":\"classifier.bias\",\"kind\":\"grad\""));
    /* unwritable place -> NS_ERR_IO naming the file */
    ck_assert_int_eq(ns_net_export(T.n, "/nonexistent-dir/w", NULL), NS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "/nonexistent-dir/w.bin"));
    /* a prefix whose .bin name fits the 4096-byte path buffer but whose .json
     * name does not: refused up front, never written under a cut-off name */
    char longp[4092];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ck_assert_int_eq(ns_net_export(T.n, longp, NULL), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "path prefix too long"));
    ns_test_rmtree(dir);
    toy_free(&T);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, softmax_ce_closed_form);
    tcase_add_test(tc, squared_sum_closed_form);
    tcase_add_test(tc, loss_gradients_match_differences);
    tcase_add_test(tc, sgd_momentum_weight_decay_values);
    tcase_add_test(tc, vgg11_layout_cifar);
    tcase_add_test(tc, vgg_on_28x28_omits_last_pool);
    tcase_add_test(tc, mlp_and_dln_layouts);
    tcase_add_test(tc, bad_arch_strings);
    tcase_add_test(tc, net_gradcheck_mlp);
    tcase_add_test(tc, net_gradcheck_dln);
    tcase_add_test(tc, net_gradcheck_vgg);
    tcase_add_loop_test(tc, net_gradcheck_norms, NS_NORM_BATCH, NS_NORM_COUNT);
    tcase_add_test(tc, determinism_bitwise);
    tcase_add_test(tc, training_reduces_loss);
    tcase_add_test(tc, init_statistics);
    tcase_add_test(tc, backward_hook_order);
    tcase_add_test(tc, export_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(net_suite(), argc, argv); }
