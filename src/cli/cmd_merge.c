/* cmd_merge.c - `normsweep merge OUT SHARD...`: join the files of one sweep
 * written by `run --shard I/N` (e.g. Slurm array tasks) into one file. Every
 * shard must carry the same spec; run i is taken from the shard that ran it
 * (its status is not "pending"); a run found in two shards is an error. */
#include "normsweep/cli.h"
#include "normsweep/blas.h"
#include "normsweep/data.h"
#include "normsweep/h5store.h"
#include "normsweep/results.h"
#include "normsweep/spec.h"
#include "normsweep/version.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int merge(const char *out, int nshards, char **shards, int force)
{
    if (access(out, F_OK) == 0 && !force) {
        fprintf(stderr, "normsweep merge: %s exists (use --force to overwrite)\n", out);
        return NS_EXIT_USAGE;
    }
    ns_h5 **src = calloc((size_t)nshards, sizeof *src);
    char *text = NULL, *name = NULL, *canon0 = NULL;
    ns_spec *spec = NULL;
    ns_results *res = NULL;
    int code = NS_EXIT_FAIL;
    if (!src) goto done;
    for (int k = 0; k < nshards; k++) {
        char *canon = NULL;
        if (ns_h5_open(shards[k], MPI_COMM_NULL, 0, &src[k]) != NS_OK ||
            ns_h5_get_attr(src[k], "spec_canonical", &canon) != NS_OK) {
            fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
            code = NS_EXIT_USAGE;
            goto done;
        }
        if (k == 0) {
            canon0 = canon;
            if (ns_h5_get_attr(src[0], "spec_text", &text) != NS_OK ||
                ns_h5_get_attr(src[0], "spec_name", &name) != NS_OK) {
                fprintf(stderr, "normsweep merge: %s: %s\n", shards[0], ns_error_msg());
                code = NS_EXIT_USAGE;
                goto done;
            }
        } else {
            int same = strcmp(canon, canon0) == 0;
            free(canon);
            if (!same) {
                fprintf(stderr, "normsweep merge: %s and %s come from different sweep specs\n",
                        shards[0], shards[k]);
                code = NS_EXIT_USAGE;
                goto done;
            }
        }
    }
    char *errors = NULL;
    if (ns_spec_parse(text, shards[0], &spec, &errors) != NS_OK) {
        fprintf(stderr, "normsweep merge: the spec stored in %s no longer validates:\n%s\n",
                shards[0], errors ? errors : ns_error_msg());
        free(errors);
        code = NS_EXIT_USAGE;
        goto done;
    }
    const ns_dataset *data = NULL;
    if (ns_dataset_cache_get(spec->data, spec->runs[0].data_seed, &data) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        goto done;
    }
    char h5[64], mpi[256];
    ns_hdf5_version(h5, sizeof h5);
    ns_mpi_version(mpi, sizeof mpi);
    ns_results_meta meta = {NS_VERSION, ns_git_commit(), h5, mpi, ns_blas_kernel(),
                            ns_blas_threads(), data->mean, data->std};
    if (ns_results_create(out, MPI_COMM_SELF, spec, &meta, &res) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        goto done;
    }
    /* The layout is written; copy the rows through the store itself, opened
     * once more with the serial driver. */
    ns_h5 *dst = NULL;
    ns_results_close(res);
    res = NULL;
    if (ns_h5_open(out, MPI_COMM_NULL, 1, &dst) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        goto done;
    }
    int missing = 0;
    for (int i = 0; i < spec->nruns; i++) {
        int from = -1;
        for (int k = 0; k < nshards; k++) {
            ns_run_status st;
            if (ns_results_status_in(src[k], (size_t)i, &st) != NS_OK || st == NS_RUN_PENDING)
                continue; /* "" (never written) parses as pending too */
            if (from >= 0) {
                fprintf(stderr, "normsweep merge: run %d appears in both %s and %s\n", i,
                        shards[from], shards[k]);
                ns_h5_close(dst);
                code = NS_EXIT_USAGE;
                goto done;
            }
            from = k;
        }
        if (from < 0) {
            missing++;
            continue;
        }
        if (ns_h5_copy_row(dst, (size_t)i, src[from], (size_t)i, "run", NULL) != NS_OK) {
            fprintf(stderr, "normsweep merge: run %d: %s\n", i, ns_error_msg());
            ns_h5_close(dst);
            goto done;
        }
    }
    if (ns_h5_close(dst) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        goto done;
    }
    printf("normsweep merge: %s: %d runs from %d shard%s%s\n", out, spec->nruns - missing,
           nshards, nshards == 1 ? "" : "s", missing ? " (some runs in no shard: still pending)" : "");
    code = NS_EXIT_OK;
done:
    for (int k = 0; src && k < nshards; k++)
        if (src[k]) ns_h5_close(src[k]);
    free(src);
    free(text);
    free(name);
    free(canon0);
    ns_spec_free(spec);
    return code;
}

int ns_cmd_merge(int argc, char **argv)
{
    int force = 0, first = 1;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: normsweep merge [--force] OUT SHARD...\n"
               "  joins the files of `normsweep run --shard I/N` of one sweep into OUT\n");
        return NS_EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--force") == 0) {
        force = 1;
        first = 2;
    }
    if (argc - first < 2) {
        fprintf(stderr, "usage: normsweep merge [--force] OUT SHARD...\n");
        return NS_EXIT_USAGE;
    }
    MPI_Init(&argc, &argv);
    int code = merge(argv[first], argc - first - 1, argv + first + 1, force);
    ns_dataset_cache_clear();
    MPI_Finalize();
    return code;
}
