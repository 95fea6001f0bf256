/* bench_train.c - `normsweep bench --arch A --norm N ...` (CLI file: prints).
 *
 * Trains on synthetic data of the right shape and prints ONE JSON line:
 *   images_per_s  batch / median step time (after warm-up steps)
 *   ms_per_step   median wall time of one forward + backward + SGD step
 *   cpu_ms_per_step  process CPU time (user + sys) of the timed steps / steps: on a
 *                 shared, loaded machine it counts only the time this process ran
 *   peak_rss_mb   the process's peak resident set (getrusage), everything included
 *   kernel        OpenBLAS core in use; threads, train MFLOP/img and GFLOP/s too.
 * Default input: vgg* 3x32x32 with 10 classes; mlp:N0-...-Nk N0 features and Nk
 * classes; dln width W features and targets (squared-error loss). --shape CxHxW
 * and --classes K override.
 *
 * --crosscheck DIR instead runs ONE forward/backward at init on a synthetic batch
 * and writes DIR/net.{bin,json} (weights, state, gradients; ns_net_export),
 * DIR/batch.bin (x float32, then labels int32 or targets float32) and
 * DIR/result.json (loss), for bench/torch_crosscheck.py. */
#include "normsweep/clock.h"
#include "cli_util.h"
#include "normsweep/blas.h"
#include "normsweep/cli.h"
#include "normsweep/error.h"
#include "normsweep/net.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

void openblas_set_num_threads(int);

typedef struct bench_opts {
    const char *arch, *norm, *init, *crosscheck;
    int batch, steps, warmup, threads, classes;
    ns_shape shape;
    uint64_t seed;
    double lr;
} bench_opts;


static void usage(FILE *f)
{
    fprintf(f, "usage: normsweep bench --arch A [--norm N] [--batch 128] [--steps 20] [--warmup 3]\n"
               "                       [--threads 1] [--shape CxHxW] [--classes K] [--seed S]\n"
               "                       [--init glorot|he] [--lr 0.01] [--crosscheck DIR]\n");
}

/* Default data shape and output count for an arch; loss from the family. */
static ns_status defaults_for(bench_opts *o, ns_loss_kind *loss)
{
    ns_arch a;
    NS_TRY(ns_arch_parse(o->arch, &a));
    *loss = a.family == NS_ARCH_DLN ? NS_LOSS_SQUARED_SUM : NS_LOSS_SOFTMAX_CE;
    if (o->shape.c == 0) {
        if (a.family == NS_ARCH_VGG) {
            o->shape = (ns_shape){3, 32, 32};
        } else if (a.family == NS_ARCH_DLN) {
            o->shape = (ns_shape){a.items[0].width, 1, 1};
        } else {
            o->shape = (ns_shape){atoi(strchr(o->arch, ':') + 1), 1, 1};
        }
    }
    if (o->classes == 0)
        o->classes = a.family == NS_ARCH_VGG ? 10 : a.items[a.nitems - 1].width;
    return NS_OK;
}

static int write_file(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "normsweep bench: %s: cannot create: %s\n", path, strerror(errno));
        return -1;
    }
    int bad = fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb);
    bad |= fclose(f) != 0;
    if (bad) fprintf(stderr, "normsweep bench: %s: write failed\n", path);
    return bad ? -1 : 0;
}

static int crosscheck(const bench_opts *o, ns_net *n, const float *x, const int32_t *y,
                      const float *t)
{
    int correct = 0;
    double loss = ns_net_forward(n, x, y, t, o->batch, NULL, &correct);
    ns_net_backward(n, o->batch);
    char path[4096];
    snprintf(path, sizeof path, "%s/net", o->crosscheck);
    if (ns_net_export(n, path, n->grads) != NS_OK) {
        fprintf(stderr, "normsweep bench: %s\n", ns_error_msg());
        return NS_EXIT_FAIL;
    }
    snprintf(path, sizeof path, "%s/batch.bin", o->crosscheck);
    size_t nx = (size_t)o->batch * ns_shape_size(o->shape) * sizeof(float);
    int rc = y ? write_file(path, x, nx, y, (size_t)o->batch * sizeof *y)
               : write_file(path, x, nx, t, (size_t)o->batch * n->nout * sizeof *t);
    if (rc) return NS_EXIT_FAIL;
    double g2 = 0;
    for (size_t i = 0; i < n->nparams; i++) g2 += (double)n->grads[i] * n->grads[i];
    snprintf(path, sizeof path, "%s/result.json", o->crosscheck);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "normsweep bench: %s: cannot create: %s\n", path, strerror(errno));
        return NS_EXIT_FAIL;
    }
    fprintf(f, "{\"arch\":\"%s\",\"norm\":\"%s\",\"batch\":%d,\"loss\":%.17g,\"correct\":%d,"
               "\"grad_norm\":%.17g}\n",
            o->arch, o->norm, o->batch, loss, correct, sqrt(g2));
    if (fclose(f) != 0) return NS_EXIT_FAIL;
    printf("{\"bench\":\"crosscheck\",\"dir\":\"%s\",\"loss\":%.9g}\n", o->crosscheck, loss);
    return NS_EXIT_OK;
}

static int run(bench_opts *o)
{
    ns_loss_kind loss;
    ns_norm_config norm;
    ns_init_kind init;
    ns_net *n = NULL;
    ns_optim sgd = {0};
    ns_optim_config sc = ns_optim_defaults(); /* plain SGD */
    sc.lr = o->lr;
    if (defaults_for(o, &loss) != NS_OK || ns_norm_parse(o->norm, &norm) != NS_OK ||
        ns_init_parse(o->init, &init) != NS_OK ||
        ns_net_build(o->arch, &norm, o->shape, o->classes, loss, o->batch, &n) != NS_OK ||
        ns_net_init(n, o->seed, init) != NS_OK || ns_optim_create(&sgd, &sc, n->nparams) != NS_OK) {
        fprintf(stderr, "normsweep bench: %s\n", ns_error_msg());
        ns_net_free(n);
        return ns_error_code() == NS_ERR_ARG ? NS_EXIT_USAGE : NS_EXIT_FAIL;
    }
    openblas_set_num_threads(o->threads);
    size_t nx = (size_t)o->batch * ns_shape_size(o->shape);
    float *x = malloc(nx * sizeof *x), *t = NULL;
    int32_t *y = NULL;
    if (loss == NS_LOSS_SOFTMAX_CE) y = malloc((size_t)o->batch * sizeof *y);
    else t = malloc((size_t)o->batch * o->classes * sizeof *t);
    double *times = malloc((size_t)(o->steps > 0 ? o->steps : 1) * sizeof *times);
    if (!x || (!y && !t) || !times) {
        fprintf(stderr, "normsweep bench: out of memory\n");
        free(x); free(y); free(t); free(times);
        ns_net_free(n);
        ns_optim_free(&sgd);
        return NS_EXIT_FAIL;
    }
    ns_rng r;
    ns_rng_init(&r, o->seed, NS_STREAM(NS_STREAM_SYNTH, 0));
    for (size_t i = 0; i < nx; i++) x[i] = ns_rng_normal(&r);
    if (y)
        for (int i = 0; i < o->batch; i++) y[i] = (int32_t)ns_rng_below(&r, (uint32_t)o->classes);
    else
        for (int i = 0; i < o->batch * o->classes; i++) t[i] = ns_rng_normal(&r);

    int rc = NS_EXIT_OK;
    if (o->crosscheck) {
        rc = crosscheck(o, n, x, y, t);
    } else {
        for (int s = 0; s < o->warmup; s++) ns_net_train_step(n, x, y, t, o->batch, &sgd, s, NULL);
        double total0 = ns_now_s(), cpu0 = ns_cpu_s();
        for (int s = 0; s < o->steps; s++) {
            double t0 = ns_now_s();
            ns_net_train_step(n, x, y, t, o->batch, &sgd, o->warmup + s, NULL);
            times[s] = ns_now_s() - t0;
        }
        double total = ns_now_s() - total0;
        double cpu = ns_cpu_s() - cpu0;
        double med = ns_median(times, o->steps);
        double flops = 0;
        ns_arch_check(o->arch, o->shape, o->classes, &flops);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"bench\":\"train\",\"arch\":\"%s\",\"norm\":\"%s\",\"batch\":%d,\"steps\":%d,"
               "\"warmup\":%d,\"shape\":[%d,%d,%d],\"classes\":%d,\"params\":%zu,"
               "\"images_per_s\":%.1f,\"ms_per_step\":%.3f,\"ms_per_step_mean\":%.3f,"
               "\"cpu_ms_per_step\":%.3f,"
               "\"train_mflop_per_img\":%.3f,\"gflops\":%.2f,\"peak_rss_mb\":%.1f,"
               "\"kernel\":\"%s\",\"kernel_origin\":\"%s\",\"threads\":%d}\n",
               o->arch, o->norm, o->batch, o->steps, o->warmup, o->shape.c, o->shape.h,
               o->shape.w, o->classes, n->nparams, o->batch / med, 1e3 * med,
               1e3 * total / o->steps, 1e3 * cpu / o->steps, flops * 1e-6, flops * o->batch / med * 1e-9,
               ru.ru_maxrss / 1024.0, ns_blas_kernel(), ns_blas_kernel_origin(), ns_blas_threads());
    }
    free(x); free(y); free(t); free(times);
    ns_net_free(n);
    ns_optim_free(&sgd);
    return rc;
}

int ns_bench_train(int argc, char **argv)
{
    bench_opts o = {.arch = NULL, .norm = "none", .init = "glorot", .batch = 128, .steps = 20,
                    .warmup = 3, .threads = 1, .seed = 0, .lr = 0.01};
    const char *shape = NULL;
    const ns_opt opts[] = {
        {"--arch", NS_OPT_STR, &o.arch},         {"--norm", NS_OPT_STR, &o.norm},
        {"--init", NS_OPT_STR, &o.init},         {"--crosscheck", NS_OPT_STR, &o.crosscheck},
        {"--batch", NS_OPT_COUNT, &o.batch},       {"--steps", NS_OPT_COUNT, &o.steps},
        {"--warmup", NS_OPT_INT, &o.warmup},     {"--threads", NS_OPT_COUNT, &o.threads},
        {"--classes", NS_OPT_INT, &o.classes},   {"--seed", NS_OPT_U64, &o.seed},
        {"--lr", NS_OPT_DOUBLE, &o.lr},          {"--shape", NS_OPT_STR, &shape},
    };
    int rc = ns_cli_parse_opts(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), NULL,
                               "normsweep bench", usage);
    if (rc != 0) return rc < 0 ? NS_EXIT_OK : rc;
    if (shape && (sscanf(shape, "%dx%dx%d", &o.shape.c, &o.shape.h, &o.shape.w) != 3 ||
                  o.shape.c < 1 || o.shape.h < 1 || o.shape.w < 1)) {
        fprintf(stderr, "normsweep bench: --shape '%s': expected CxHxW\n", shape);
        return NS_EXIT_USAGE;
    }
    if (!o.arch || o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.threads < 1 || o.classes < 0) {
        fprintf(stderr, "normsweep bench: need --arch, and batch, steps, threads >= 1\n");
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    return run(&o);
}
