/* bench_data.c - `normsweep bench --data SPEC [--reps R] [--seed S]` (CLI file:
 * prints). Loads the data set R times (each a full read, decode, validate and
 * standardize, as a rank's first use) and prints one JSON line:
 *   load_s        fastest of the R loads, wall seconds (load_s_first: the first,
 *                 which also pays the page faults of fresh memory)
 *   cpu_s         process CPU seconds (user + system) of that fastest load
 *   file_mb       bytes read from disk, 1e6 (compressed size for .gz)
 *   raw_mb        decoded payload (u8 pixels + labels), 1e6 bytes
 *   mb_per_s      raw_mb / load_s   (decoded MB per second)
 *   memory_mb     arrays the loaded set keeps (float32), 1e6 bytes
 */
#include "normsweep/clock.h"
#include "cli_util.h"
#include "normsweep/cli.h"
#include "normsweep/data.h"
#include "normsweep/error.h"

#include <inttypes.h>
#include <stdio.h>

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: normsweep bench --data SPEC [--reps R] [--seed S]\n"
               "  SPEC: fashion-mnist[:DIR] mnist:DIR kmnist:DIR cifar10:DIR\n"
               "        synthetic-dln[:n=..,d=..] synthetic-cls[:n=..,...] (docs/data.md)\n");
}

int ns_bench_data(int argc, char **argv)
{
    const char *spec = NULL;
    int reps = 3;
    uint64_t seed = 0;
    const ns_opt opts[] = {
        {"--data", NS_OPT_STR, &spec},
        {"--reps", NS_OPT_COUNT, &reps},
        {"--seed", NS_OPT_U64, &seed},
    };
    int rc = ns_cli_parse_opts(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), NULL,
                               "normsweep bench", usage);
    if (rc != 0) return rc < 0 ? NS_EXIT_OK : rc;
    if (!spec || reps < 1) {
        usage(stderr);
        return NS_EXIT_USAGE;
    }

    double best = 1e30, first = 0.0, best_cpu = 0.0;
    ns_dataset *d = NULL;
    for (int r = 0; r < reps; r++) {
        ns_dataset_free(d);
        double t0 = ns_now_s(), c0 = ns_cpu_s();
        ns_status st = ns_dataset_load(spec, seed, &d);
        double dt = ns_now_s() - t0, dc = ns_cpu_s() - c0;
        if (st != NS_OK) {
            fprintf(stderr, "normsweep bench: %s\n", ns_error_msg());
            return st == NS_ERR_ARG ? NS_EXIT_USAGE : NS_EXIT_FAIL;
        }
        if (r == 0) first = dt;
        if (dt < best) best = dt, best_cpu = dc;
    }
    const ns_dataset_info *in = &d->info;
    double raw_mb = d->raw_bytes * 1e-6;
    printf("{\"bench\":\"data\",\"data\":");
    json_string(stdout, in->canonical);
    printf(",\"n_train\":%zu,\"n_test\":%zu,\"shape\":[%d,%d,%d],\"nclasses\":%d,"
           "\"reps\":%d,\"load_s\":%.4f,\"cpu_s\":%.4f,\"load_s_first\":%.4f,\"file_mb\":%.2f,"
           "\"raw_mb\":%.2f,\"mb_per_s\":%.1f,\"memory_mb\":%.2f}\n",
           in->n_train, in->n_test, in->shape.c, in->shape.h, in->shape.w, in->nclasses, reps,
           best, best_cpu, first, d->file_bytes * 1e-6, raw_mb, best > 0 ? raw_mb / best : 0.0,
           ns_dataset_memory(d) * 1e-6);
    ns_dataset_free(d);
    return NS_EXIT_OK;
}
