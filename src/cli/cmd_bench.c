/* cmd_bench.c - `normsweep bench`: speed measurements that print one JSON line.
 *   normsweep bench --sgemm N [--reps R]   sgemm N x N x N, GFLOP/s with the running kernel
 *   normsweep bench --data NAME ...        data set loading (bench_data.c)
 *   normsweep bench --arch A --norm N ...  training throughput (bench_train.c)
 *   normsweep bench --probe --arch A ...   probe cost in training steps (bench_probe.c)
 *   normsweep bench --hvp --arch A ...     exact HVP / Lanczos cost, torch cross-check (bench_hvp.c)
 */
#include "normsweep/clock.h"
#include "cli_util.h"
#include "normsweep/blas.h"
#include "normsweep/cli.h"
#include "normsweep/error.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int bench_sgemm(int n, int reps)
{
    size_t nn = (size_t)n * n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "normsweep bench: out of memory for n=%d\n", n);
        free(a); free(b); free(c);
        return NS_EXIT_FAIL;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((i * 7) % 13) / 13.0f;
        b[i] = (float)((i * 5) % 11) / 11.0f;
        c[i] = 0.0f;
    }
    /* warm-up, then the median-free best of reps (least disturbed by noise) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = ns_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = ns_now_s() - t0;
        if (dt < best) best = dt;
    }
    double gflops = 2.0 * n * (double)n * n / best * 1e-9;
    printf("{\"bench\":\"sgemm\",\"n\":%d,\"reps\":%d,\"gflops\":%.1f,\"kernel\":\"%s\","
           "\"kernel_origin\":\"%s\",\"threads\":%d}\n",
           n, reps, gflops, ns_blas_kernel(), ns_blas_kernel_origin(), ns_blas_threads());
    free(a); free(b); free(c);
    return NS_EXIT_OK;
}

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: normsweep bench --sgemm N [--reps R]\n"
               "       normsweep bench --data NAME [options]\n"
               "       normsweep bench --arch A --norm N [--batch 128] [--steps S] [--threads T]\n"
               "       normsweep bench --probe --arch A --norm N [--batch 128] [--reps R]\n"
               "       normsweep bench --hvp --arch A --norm N [--mode train|eval] [--lanczos M]\n");
}

static int bad_number(const char *opt, const char *v, const char *range)
{
    fprintf(stderr, "normsweep bench: %s needs a whole number in %s, got '%s'\n", opt, range, v);
    return NS_EXIT_USAGE;
}

int ns_cmd_bench(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--probe") == 0) return ns_bench_probe(argc, argv);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--hvp") == 0) return ns_bench_hvp(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0) return ns_bench_data(argc, argv);
        if (strcmp(argv[i], "--arch") == 0) return ns_bench_train(argc, argv);
    }
    long sgemm_n = 0, reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--help") == 0) {
            bench_usage(stdout);
            return NS_EXIT_OK;
        } else if (ns_cli_value(argc, argv, &i, "--sgemm", &v, "normsweep bench") == 1) {
            if (!ns_cli_long(v, 1, 65536, &sgemm_n)) return bad_number("--sgemm", v, "1..65536");
        } else if (ns_cli_value(argc, argv, &i, "--reps", &v, "normsweep bench") == 1) {
            if (!ns_cli_long(v, 1, 1000000, &reps)) return bad_number("--reps", v, "1..1000000");
        } else {
            fprintf(stderr, "normsweep bench: unexpected argument '%s'\n", argv[i]);
            bench_usage(stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (sgemm_n > 0) return bench_sgemm((int)sgemm_n, (int)reps);
    bench_usage(stderr);
    return NS_EXIT_USAGE;
}
