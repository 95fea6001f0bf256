/* cmd_merge.c - `normsweep merge OUT SHARD...`: join the files of one sweep
 * written by `run --shard I/N` (e.g. Slurm array tasks) into one file. Every
 * shard must carry the same spec and be laid out for it; run i is taken from
 * the shard that ran it (its status is not "pending"); a run found in two
 * shards is an error.
 *
 * Inputs are never touched before everything is checked: OUT may not be one
 * of the shards (same file by device and inode, whatever the name), and each
 * shard is validated against the spec (ns_results_check, in a child process)
 * before any file is created. OUT itself is made as OUT.creating and renamed
 * when its layout is complete (ns_h5_create).
 *
 * A shard may be of schema version 1 (an older normsweep): its rows are
 * copied into a file of the current schema, so `normsweep merge NEW OLD`
 * converts a file (docs/hdf5-schema.md, "Older files"). */
#include "normsweep/cli.h"
#include "normsweep/blas.h"
#include "normsweep/data.h"
#include "normsweep/h5store.h"
#include "normsweep/results.h"
#include "normsweep/spec.h"
#include "normsweep/version.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* OUT must not be a shard, and no shard may be given twice (by inode: links
 * and other spellings of one file count as the same file). */
static int same_files(const char *out, int nshards, char **shards)
{
    struct stat so, sa, sb;
    int have_out = stat(out, &so) == 0;
    for (int k = 0; k < nshards; k++) {
        if (stat(shards[k], &sa) != 0) {
            fprintf(stderr, "normsweep merge: %s: %s\n", shards[k], strerror(errno));
            return 1;
        }
        if (have_out && sa.st_dev == so.st_dev && sa.st_ino == so.st_ino) {
            fprintf(stderr, "normsweep merge: the output %s is the shard %s (the same file); "
                    "refusing to overwrite an input\n", out, shards[k]);
            return 1;
        }
        for (int j = 0; j < k; j++)
            if (stat(shards[j], &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) {
                fprintf(stderr, "normsweep merge: %s and %s are the same file\n", shards[j],
                        shards[k]);
                return 1;
            }
    }
    return 0;
}

/* The spec stored in shard 0 (checked first), with the sweep's own name. */
static int load_spec(const char *shard, ns_spec **spec, char **canon)
{
    ns_h5 *h = NULL;
    char *text = NULL, *name = NULL, *errors = NULL;
    int code = NS_EXIT_USAGE;
    if (ns_results_check(shard, NULL, NS_RESULTS_READ_V1) != NS_OK ||
        ns_h5_open(shard, MPI_COMM_NULL, 0, &h) != NS_OK ||
        ns_h5_get_attr(h, "spec_text", &text) != NS_OK ||
        ns_h5_get_attr(h, "spec_name", &name) != NS_OK ||
        ns_h5_get_attr(h, "spec_canonical", canon) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
    } else if (ns_spec_parse(text, shard, spec, &errors) != NS_OK) {
        fprintf(stderr, "normsweep merge: the spec stored in %s no longer validates:\n%s\n", shard,
                errors ? errors : ns_error_msg());
    } else {
        /* the sweep's name as the shard recorded it, not one made from the shard's
         * file name (a spec without `name:` is named after its file) */
        snprintf((*spec)->name, sizeof (*spec)->name, "%s", name);
        code = NS_EXIT_OK;
    }
    free(errors);
    free(text);
    free(name);
    if (h) ns_h5_close(h);
    return code;
}

/* Every shard: laid out for spec, with the same canonical spec as shard 0. */
static int check_shards(int nshards, char **shards, const ns_spec *spec, const char *canon0)
{
    for (int k = 0; k < nshards; k++) {
        ns_h5 *h = NULL;
        char *canon = NULL;
        if (ns_results_check(shards[k], spec, NS_RESULTS_READ_V1) != NS_OK ||
            ns_h5_open(shards[k], MPI_COMM_NULL, 0, &h) != NS_OK ||
            ns_h5_get_attr(h, "spec_canonical", &canon) != NS_OK) {
            fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
            if (h) ns_h5_close(h);
            return NS_EXIT_USAGE;
        }
        int same = strcmp(canon, canon0) == 0;
        free(canon);
        ns_h5_close(h);
        if (!same) {
            fprintf(stderr, "normsweep merge: %s and %s come from different sweep specs\n",
                    shards[0], shards[k]);
            return NS_EXIT_USAGE;
        }
    }
    return NS_EXIT_OK;
}

static int create_output(const char *out, const ns_spec *spec)
{
    const ns_dataset *data = NULL;
    if (ns_dataset_cache_get(spec->data, spec->runs[0].data_seed, &data) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        return NS_EXIT_FAIL;
    }
    char h5[64], mpi[256];
    ns_hdf5_version(h5, sizeof h5);
    ns_mpi_version(mpi, sizeof mpi);
    ns_results_meta meta = {NS_VERSION, ns_git_commit(), h5, mpi, ns_blas_kernel(),
                            ns_blas_threads(), data->mean, data->std};
    ns_results *res = NULL;
    if (ns_results_create(out, MPI_COMM_SELF, spec, &meta, &res) != NS_OK ||
        ns_results_close(res) != NS_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        return NS_EXIT_FAIL;
    }
    return NS_EXIT_OK;
}

/* Run i of the merged file from the one shard that ran it. */
static int copy_runs(ns_h5 *dst, ns_h5 **src, int nshards, char **shards, int nruns, int *missing)
{
    *missing = 0;
    for (int i = 0; i < nruns; i++) {
        int from = -1;
        for (int k = 0; k < nshards; k++) {
            ns_run_status st;
            if (ns_results_status_in(src[k], (size_t)i, &st) != NS_OK || st == NS_RUN_PENDING)
                continue; /* "" (never written) parses as pending too */
            if (from >= 0) {
                fprintf(stderr, "normsweep merge: run %d appears in both %s and %s\n", i,
                        shards[from], shards[k]);
                return NS_EXIT_USAGE;
            }
            from = k;
        }
        if (from < 0) {
            (*missing)++;
            continue;
        }
        if (ns_h5_copy_row(dst, (size_t)i, src[from], (size_t)i, "run", NULL) != NS_OK) {
            fprintf(stderr, "normsweep merge: run %d: %s\n", i, ns_error_msg());
            return NS_EXIT_FAIL;
        }
    }
    return NS_EXIT_OK;
}

static int merge(const char *out, int nshards, char **shards, int force)
{
    if (access(out, F_OK) == 0 && !force) {
        fprintf(stderr, "normsweep merge: %s exists (use --force to overwrite)\n", out);
        return NS_EXIT_USAGE;
    }
    if (same_files(out, nshards, shards)) return NS_EXIT_USAGE;
    ns_spec *spec = NULL;
    char *canon0 = NULL;
    int code = load_spec(shards[0], &spec, &canon0);
    if (code == NS_EXIT_OK) code = check_shards(nshards, shards, spec, canon0);
    if (code == NS_EXIT_OK) code = create_output(out, spec);
    ns_h5 **src = calloc((size_t)nshards, sizeof *src), *dst = NULL;
    if (code == NS_EXIT_OK && !src) code = NS_EXIT_FAIL;
    for (int k = 0; code == NS_EXIT_OK && k < nshards; k++)
        if (ns_h5_open(shards[k], MPI_COMM_NULL, 0, &src[k]) != NS_OK) code = NS_EXIT_FAIL;
    /* the layout is written; copy the rows through the store, opened serially */
    if (code == NS_EXIT_OK && ns_h5_open(out, MPI_COMM_NULL, 1, &dst) != NS_OK) code = NS_EXIT_FAIL;
    if (code == NS_EXIT_FAIL) fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
    int missing = 0;
    if (code == NS_EXIT_OK) code = copy_runs(dst, src, nshards, shards, spec->nruns, &missing);
    if (dst && ns_h5_close(dst) != NS_OK && code == NS_EXIT_OK) {
        fprintf(stderr, "normsweep merge: %s\n", ns_error_msg());
        code = NS_EXIT_FAIL;
    }
    if (code == NS_EXIT_OK)
        printf("normsweep merge: %s: %d runs from %d shard%s%s\n", out, spec->nruns - missing,
               nshards, nshards == 1 ? "" : "s",
               missing ? " (some runs in no shard: still pending)" : "");
    for (int k = 0; src && k < nshards; k++)
        if (src[k]) ns_h5_close(src[k]);
    free(src);
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
