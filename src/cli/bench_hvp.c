/* bench_hvp.c - `normsweep bench --hvp --arch A --norm N ...` (CLI file: prints).
 *
 * What exact curvature costs, in training steps, on synthetic data of the
 * arch's shape (vgg 3x32x32 -> 10 classes, mlp:N0-..-Nk N0 -> Nk, dln W -> W;
 * --shape CxHxW overrides the input). The net takes 3 SGD steps first (so
 * running statistics are not their initial values), then the step's forward
 * (the noise a probe holds fixed). Prints ONE JSON line:
 *   ms_per_step      forward + backward + SGD update (ns_net_train_step)
 *   ms_begin         ns_hvp_begin: the base forward + backward at w
 *   ms_per_hvp       one ns_hvp_apply (R-forward + R-backward)
 *   hvp_per_step     ms_per_hvp / ms_per_step (issue 12: <= 2.5)
 *   ms_lanczos       with --lanczos M: begin + ns_curv_spectrum of M steps
 *                    (k = 3, tol 0: all M steps, then 4 true residuals)
 *   lanczos_per_step ms_lanczos / ms_per_step
 * Times are process CPU time (run with 1 BLAS thread), medians over --reps,
 * the parts interleaved within a rep (as bench_probe.c).
 *
 * --crosscheck DIR instead computes one H v (v ~ N(0, I), seeded) in --mode
 * and writes, for bench/torch_hvp.py:
 *   DIR/net.{bin,json}  weights, state and the gradient at w (ns_net_export)
 *   DIR/batch.bin       x float32, then labels int32 or targets float32
 *   DIR/v.bin, hv.bin   the direction and H v, float32 (nparams each)
 *   DIR/noise.bin       noisy_batch: each noisy layer's s then m (float32,
 *                       batch x its output size), in layer order
 *   DIR/result.json     arch, norm options, mode, batch, loss */
#include "normsweep/clock.h"
#include "cli_util.h"
#include "normsweep/blas.h"
#include "normsweep/cli.h"
#include "normsweep/curvature.h"
#include "normsweep/error.h"
#include "normsweep/hvp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int);

typedef struct hvp_opts {
    const char *arch, *norm, *mode, *crosscheck, *shape;
    int batch, reps, warmup, threads, lanczos;
    uint64_t seed;
} hvp_opts;

typedef struct hbench {
    ns_net *net;
    ns_hvp *h;
    ns_mode mode;
    ns_norm_config norm;
    float *x, *t, *w0, *v, *hv;
    int32_t *y;
    ns_lanczos_ws lws;
    ns_optim opt; /* plain SGD for the training steps */
} hbench;

static void usage(FILE *f)
{
    fprintf(f, "usage: normsweep bench --hvp --arch A [--norm N] [--mode train|eval] [--batch 128]\n"
               "                       [--reps 7] [--warmup 2] [--lanczos 20] [--threads 1]\n"
               "                       [--shape CxHxW] [--seed S] [--crosscheck DIR]\n");
}

static ns_status build(hbench *b, const hvp_opts *o)
{
    ns_arch a;
    NS_TRY(ns_arch_parse(o->arch, &a));
    NS_TRY(ns_norm_parse(o->norm, &b->norm));
    const int last = a.items[a.nitems - 1].width, dln = a.family == NS_ARCH_DLN;
    ns_shape in = a.family == NS_ARCH_VGG ? (ns_shape){3, 32, 32}
                  : dln                   ? (ns_shape){a.items[0].width, 1, 1}
                                          : (ns_shape){a.mlp_in, 1, 1};
    if (o->shape)
        NS_CHECK(sscanf(o->shape, "%dx%dx%d", &in.c, &in.h, &in.w) == 3 && in.c > 0 && in.h > 0 &&
                     in.w > 0, NS_ERR_ARG, "--shape '%s': expected CxHxW", o->shape);
    const int nout = a.family == NS_ARCH_VGG ? 10 : last;
    NS_TRY(ns_net_build(o->arch, &b->norm, in, nout, dln ? NS_LOSS_SQUARED_SUM : NS_LOSS_SOFTMAX_CE,
                        o->batch, &b->net));
    NS_TRY(ns_net_init(b->net, o->seed, NS_INIT_GLOROT));
    ns_net *n = b->net;
    const size_t nx = (size_t)o->batch * ns_shape_size(in), np = n->nparams;
    b->x = malloc(nx * sizeof *b->x);
    if (dln) b->t = malloc((size_t)o->batch * nout * sizeof *b->t);
    else b->y = malloc((size_t)o->batch * sizeof *b->y);
    b->w0 = malloc(np * sizeof *b->w0);
    b->v = malloc(np * sizeof *b->v);
    b->hv = malloc(np * sizeof *b->hv);
    NS_CHECK(b->x && (b->t || b->y) && b->w0 && b->v && b->hv, NS_ERR_NOMEM,
             "bench --hvp: out of memory");
    ns_rng r;
    ns_rng_init(&r, o->seed, NS_STREAM(NS_STREAM_SYNTH, 0));
    for (size_t i = 0; i < nx; i++) b->x[i] = ns_rng_normal(&r);
    for (int i = 0; b->y && i < o->batch; i++) b->y[i] = (int32_t)ns_rng_below(&r, (uint32_t)nout);
    for (int i = 0; b->t && i < o->batch * nout; i++) b->t[i] = ns_rng_normal(&r);
    for (size_t i = 0; i < np; i++) b->v[i] = ns_rng_normal(&r);
    ns_optim_config sgd = ns_optim_defaults(); /* plain SGD */
    sgd.lr = dln ? 1e-3 : 0.01;
    NS_TRY(ns_optim_create(&b->opt, &sgd, np));
    for (int s = 0; s < 3; s++) ns_net_train_step(n, b->x, b->y, b->t, o->batch, &b->opt, s, NULL);
    ns_net_forward(n, b->x, b->y, b->t, o->batch, NULL, NULL); /* the step's noise */
    memcpy(b->w0, n->params, np * sizeof *b->w0);
    NS_TRY(ns_hvp_create(n, &b->h));
    if (o->lanczos > 0 && !o->crosscheck) NS_TRY(ns_lanczos_ws_alloc(&b->lws, np, o->lanczos));
    return NS_OK;
}

static void hbench_free(hbench *b)
{
    ns_lanczos_ws_free(&b->lws);
    ns_optim_free(&b->opt);
    ns_hvp_free(b->h);
    ns_net_free(b->net);
    free(b->x);
    free(b->t);
    free(b->y);
    free(b->w0);
    free(b->v);
    free(b->hv);
}

static ns_status write_file(const char *dir, const char *name, const void *a, size_t na,
                            const void *c, size_t nc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int bad = fwrite(a, 1, na, f) != na || (nc && fwrite(c, 1, nc, f) != nc);
    bad |= fclose(f) != 0;
    return bad ? ns_error_set(NS_ERR_IO, "%s: write failed", path) : NS_OK;
}

/* Each noisy layer's s then m, appended in layer order. */
static ns_status write_noise(const hbench *b, const char *dir, int batch)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/noise.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int bad = 0;
    for (int i = 0; i < b->net->nlayers; i++) {
        const ns_layer *l = &b->net->layers[i];
        if (!l->is_norm || strcmp(l->ops->kind, "noisy_batch") != 0) continue;
        const float *s, *m;
        int nb;
        NS_TRY(ns_norm_noise(l, &s, &m, &nb));
        const size_t cnt = (size_t)batch * ns_shape_size(l->out_shape);
        bad |= nb != batch || fwrite(s, sizeof *s, cnt, f) != cnt || fwrite(m, sizeof *m, cnt, f) != cnt;
    }
    bad |= fclose(f) != 0;
    return bad ? ns_error_set(NS_ERR_IO, "%s: write failed", path) : NS_OK;
}

static ns_status crosscheck(hbench *b, const hvp_opts *o)
{
    ns_net *n = b->net;
    const char *dir = o->crosscheck;
    double loss;
    NS_TRY(ns_hvp_begin(b->h, b->x, b->y, b->t, o->batch, b->mode, &loss));
    NS_TRY(ns_hvp_apply(b->h, b->v, b->hv));
    char path[4096];
    snprintf(path, sizeof path, "%s/net", dir);
    NS_TRY(ns_net_export(n, path, n->grads));
    const size_t np = n->nparams * sizeof(float);
    const size_t nx = (size_t)o->batch * ns_shape_size(n->in_shape) * sizeof(float);
    NS_TRY(b->y ? write_file(dir, "batch.bin", b->x, nx, b->y, (size_t)o->batch * sizeof *b->y)
                : write_file(dir, "batch.bin", b->x, nx, b->t,
                             (size_t)o->batch * n->nout * sizeof *b->t));
    NS_TRY(write_file(dir, "v.bin", b->v, np, NULL, 0));
    NS_TRY(write_file(dir, "hv.bin", b->hv, np, NULL, 0));
    NS_TRY(write_noise(b, dir, o->batch));
    snprintf(path, sizeof path, "%s/result.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const ns_norm_config *c = &b->norm;
    fprintf(f, "{\"arch\":\"%s\",\"norm\":\"%s\",\"norm_kind\":\"%s\",\"eps\":%.9g,\"groups\":%d,"
               "\"mode\":\"%s\",\"batch\":%d,\"loss\":%.17g}\n",
            o->arch, o->norm, ns_norm_name(c->kind), (double)c->eps,
            c->kind == NS_NORM_LAYER ? 1 : c->groups, o->mode, o->batch, loss);
    if (fclose(f) != 0) return ns_error_set(NS_ERR_IO, "%s: write failed", path);
    printf("{\"bench\":\"hvp-crosscheck\",\"dir\":\"%s\",\"loss\":%.9g}\n", dir, loss);
    return NS_OK;
}

enum { T_STEP, T_BEGIN, T_HVP, T_LANCZOS, T_COUNT };

/* One rep: a training step from w0, the base pass, one product, a Lanczos probe. */
static ns_status one_rep(hbench *b, const hvp_opts *o, double t[T_COUNT], int *products)
{
    ns_net *n = b->net;
    memcpy(n->params, b->w0, n->nparams * sizeof *b->w0);
    double t0 = ns_cpu_s();
    ns_net_train_step(n, b->x, b->y, b->t, o->batch, &b->opt, 0, NULL);
    t[T_STEP] = ns_cpu_s() - t0;
    memcpy(n->params, b->w0, n->nparams * sizeof *b->w0);
    t0 = ns_cpu_s();
    NS_TRY(ns_hvp_begin(b->h, b->x, b->y, b->t, o->batch, b->mode, NULL));
    t[T_BEGIN] = ns_cpu_s() - t0;
    t0 = ns_cpu_s();
    NS_TRY(ns_hvp_apply(b->h, b->v, b->hv));
    t[T_HVP] = ns_cpu_s() - t0;
    t[T_LANCZOS] = 0;
    if (o->lanczos <= 0) return NS_OK;
    ns_linop op = ns_hvp_linop(b->h);
    ns_spectrum_config cfg = {.k = 3, .steps = o->lanczos, .tol = 0.0, .residuals = 1};
    ns_spectrum_out out;
    t0 = ns_cpu_s();
    NS_TRY(ns_hvp_begin(b->h, b->x, b->y, b->t, o->batch, b->mode, NULL));
    NS_TRY(ns_curv_spectrum(&op, &b->lws, &cfg, n->grads, o->seed, 0, &out));
    t[T_LANCZOS] = ns_cpu_s() - t0;
    *products = out.products;
    return NS_OK;
}

static ns_status bench(hbench *b, const hvp_opts *o)
{
    double *s[T_COUNT], t[T_COUNT];
    int products = 0;
    for (int k = 0; k < T_COUNT; k++) s[k] = calloc((size_t)o->reps, sizeof(double));
    ns_status st = s[0] && s[1] && s[2] && s[3] ? NS_OK
                                                : ns_error_set(NS_ERR_NOMEM, "bench --hvp: out of memory");
    for (int r = -o->warmup; st == NS_OK && r < o->reps; r++) {
        st = one_rep(b, o, t, &products);
        for (int k = 0; st == NS_OK && r >= 0 && k < T_COUNT; k++) s[k][r] = t[k];
    }
    if (st == NS_OK) {
        double ms[T_COUNT];
        for (int k = 0; k < T_COUNT; k++) ms[k] = 1e3 * ns_median(s[k], o->reps);
        printf("{\"bench\":\"hvp\",\"arch\":\"%s\",\"norm\":\"%s\",\"mode\":\"%s\",\"batch\":%d,"
               "\"reps\":%d,\"params\":%zu,\"ms_per_step\":%.3f,\"ms_begin\":%.3f,"
               "\"ms_per_hvp\":%.3f,\"hvp_per_step\":%.3f,\"lanczos_steps\":%d,"
               "\"lanczos_products\":%d,\"ms_lanczos\":%.3f,\"lanczos_per_step\":%.3f,"
               "\"kernel\":\"%s\",\"threads\":%d}\n",
               o->arch, o->norm, o->mode, o->batch, o->reps, b->net->nparams, ms[T_STEP],
               ms[T_BEGIN], ms[T_HVP], ms[T_HVP] / ms[T_STEP], o->lanczos, products,
               ms[T_LANCZOS], ms[T_LANCZOS] / ms[T_STEP], ns_blas_kernel(), ns_blas_threads());
    }
    for (int k = 0; k < T_COUNT; k++) free(s[k]);
    return st;
}

int ns_bench_hvp(int argc, char **argv)
{
    hvp_opts o = {.norm = "none", .mode = "train", .batch = 128, .reps = 7, .warmup = 2,
                  .threads = 1, .lanczos = 20};
    const ns_opt opts[] = {
        {"--arch", NS_OPT_STR, &o.arch},     {"--norm", NS_OPT_STR, &o.norm},
        {"--mode", NS_OPT_STR, &o.mode},     {"--crosscheck", NS_OPT_STR, &o.crosscheck},
        {"--shape", NS_OPT_STR, &o.shape},   {"--batch", NS_OPT_INT, &o.batch},
        {"--reps", NS_OPT_INT, &o.reps},     {"--warmup", NS_OPT_INT, &o.warmup},
        {"--threads", NS_OPT_INT, &o.threads}, {"--lanczos", NS_OPT_INT, &o.lanczos},
        {"--seed", NS_OPT_U64, &o.seed},
    };
    static const char *const flags[] = {"--hvp", NULL};
    int rc = ns_cli_parse_opts(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), flags,
                               "normsweep bench --hvp", usage);
    if (rc != 0) return rc < 0 ? NS_EXIT_OK : rc;
    const int train = strcmp(o.mode, "train") == 0, eval = strcmp(o.mode, "eval") == 0;
    if (!o.arch || (!train && !eval) || o.batch < 1 || o.reps < 1 || o.warmup < 0 ||
        o.threads < 1 || o.lanczos < 0 || o.lanczos > NS_LANCZOS_MAX_STEPS ||
        (o.lanczos > 0 && o.lanczos < 4)) {
        fprintf(stderr, "normsweep bench --hvp: need --arch; --mode train or eval; batch, reps, "
                        "threads >= 1; warmup >= 0; lanczos 0 or 4..%d\n", NS_LANCZOS_MAX_STEPS);
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    hbench b;
    memset(&b, 0, sizeof b);
    b.mode = train ? NS_MODE_TRAIN : NS_MODE_EVAL;
    openblas_set_num_threads(o.threads);
    ns_status st = build(&b, &o);
    if (st == NS_OK) st = o.crosscheck ? crosscheck(&b, &o) : bench(&b, &o);
    if (st != NS_OK) fprintf(stderr, "normsweep bench --hvp: %s\n", ns_error_msg());
    int code = st == NS_OK ? NS_EXIT_OK : ns_error_code() == NS_ERR_ARG ? NS_EXIT_USAGE : NS_EXIT_FAIL;
    hbench_free(&b);
    return code;
}
