/* test_results.c - the results file (src/store/results.c, sink.c) as the
 * schema table says: every variable the table makes exist for a sweep is in
 * the file with the table's dims and type, the others are absent; a sink
 * writes the final weights and refuses (instead of silently dropping) tensors
 * the layout has no room for; MPI failures are errors on every rank.
 *
 * MPI failures are injected by interposing MPI_Comm_rank (the test binary's
 * definition wins over the library's; it calls PMPI_Comm_rank unless told to
 * fail).
 * ctest-ranks: 1 2 */
#define _POSIX_C_SOURCE 200809L
#include "ns_test.h"

#include "normsweep/net.h"
#include "normsweep/results.h"
#include "store/schema.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ fault injection */

static int fail_comm_rank; /* MPI_Comm_rank returns MPI_ERR_COMM while set */

int MPI_Comm_rank(MPI_Comm comm, int *rank)
{
    if (fail_comm_rank) return MPI_ERR_COMM;
    return PMPI_Comm_rank(comm, rank);
}

/* ------------------------------------------------------------ helpers */

static int rank_of(void)
{
    int r = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

/* A directory shared by all ranks (rank 0 makes it, everyone learns the name). */
static char dir[512];
static void setup(void)
{
    if (rank_of() == 0) snprintf(dir, sizeof dir, "%s", ns_test_tmpdir("results"));
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
}
static void teardown(void)
{
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_of() == 0) ns_test_rmtree(dir);
}

static const char *SPEC_ALL = "name: t\n"
                              "data: \"synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=3\"\n"
                              "train: {steps: 12, batch: 8, eval_every: 4, log_every: 2}\n"
                              "grid: {lr: [0.1], arch: [\"mlp:16-8-8-3\", \"mlp:16-8-3\"],\n"
                              "       norm: [none, batch], seed: [0]}\n"
                              "probes:\n"
                              "  every: 4\n"
                              "  eta: {relative: [0.5, 4.0], count: 3}\n"
                              "  random_direction: true\n"
                              "  ics: {layers: all}\n"
                              "  activations: {units: 2}\n"
                              "  hessian: {iters: 3, tol: 1.0e-3, trace_samples: 1}\n"
                              "  thm41: true\n"
                              "  curvature: {mode: both, k: 2, iters: 4, slq: {n_v: 2, m: 3},\n"
                              "              hutchinson: 2, layers: {iters: 2}, fd_check: true}\n";
static const char *SPEC_NONE = "name: t\n"
                               "data: \"synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=3\"\n"
                               "train: {steps: 12, batch: 8, log_every: 1}\n"
                               "grid: {lr: [0.1], arch: [\"mlp:16-64-3\"], norm: [none], seed: [0]}\n";

static ns_spec *parse(const char *text)
{
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_parse(text, "test.yaml", &s, &errors);
    ck_assert_msg(st == NS_OK, "spec: %s", errors ? errors : ns_error_msg());
    free(errors);
    return s;
}

/* ------------------------------------------------------------ tests */

/* The file has exactly the table's variables for this sweep, with its dims and types. */
static void check_layout(const char *text)
{
    ns_spec *spec = parse(text);
    char path[700];
    snprintf(path, sizeof path, "%s/layout.h5", dir);
    ns_results *r = NULL;
    ck_assert_msg(ns_results_create(path, MPI_COMM_WORLD, spec, NULL, &r) == NS_OK, "%s",
                  ns_error_msg());
    ck_assert_int_eq(ns_results_close(r), NS_OK);
    ns_schema_sweep sw;
    ck_assert_int_eq(ns_schema_sweep_of(spec, &sw), NS_OK);
    ns_h5 *h = NULL;
    ck_assert_msg(ns_h5_open(path, MPI_COMM_NULL, 0, &h) == NS_OK, "%s", ns_error_msg());
    int present = 0;
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        ns_h5_info info;
        int in_file = ns_h5_var_info(h, v->name, &info) == NS_OK;
        ck_assert_msg(in_file == ns_schema_has_var(&sw, v), "'%s': in file %d, table says %d",
                      v->name, in_file, !in_file);
        if (!in_file) continue;
        present++;
        ns_dim_id ids[NS_H5_MAX_DIMS];
        int nd = ns_schema_var_dims(v, ids);
        ck_assert_int_eq(info.ndims, nd);
        ck_assert_int_eq(info.type, v->type);
        for (int k = 0; k < nd; k++) {
            ck_assert_str_eq(info.dims[k], ns_schema_dims[ids[k]].name);
            ck_assert_uint_eq(info.shape[k], sw.size[ids[k]]);
        }
    }
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
    /* a sweep with every probe on has every variable; one without probes or
     * tracked units has none of theirs, and still its traces and run table */
    if (sw.size[NS_D_PROBE] > 0) {
        ck_assert_int_eq(present, ns_schema_nvars);
    } else {
        for (int i = 0; i < ns_schema_nvars; i++)
            if (ns_schema_vars[i].src == NS_SRC_PROBE) ck_assert(!ns_schema_has_var(&sw, &ns_schema_vars[i]));
        ck_assert(!ns_schema_has_var(&sw, &ns_schema_vars[ns_schema_find("act_unit_index")]));
        ck_assert(ns_schema_has_var(&sw, &ns_schema_vars[ns_schema_find("train_loss")]));
        ck_assert(ns_schema_has_var(&sw, &ns_schema_vars[ns_schema_find("test_acc")]));
        ck_assert_int_eq(present, ns_schema_nvars - 58); /* 22 + 36 curvature */
    }
    ns_spec_free(spec);
}

START_TEST(layout_follows_the_schema_every_probe)
{
    check_layout(SPEC_ALL);
}
END_TEST

START_TEST(layout_follows_the_schema_no_probe)
{
    check_layout(SPEC_NONE);
}
END_TEST

/* A net with more tensors than the layout's tensor table: an error, not a
 * file whose tensor table silently lacks the last ones. */
START_TEST(sink_refuses_tensors_past_the_layout)
{
    ns_spec *spec = parse(SPEC_NONE); /* mlp:16-64-3: 4 tensors, 1283 weights */
    char path[700];
    snprintf(path, sizeof path, "%s/w%d.h5", dir, rank_of());
    ns_results *r = NULL;
    ck_assert_msg(ns_results_create(path, MPI_COMM_SELF, spec, NULL, &r) == NS_OK, "%s",
                  ns_error_msg());
    ns_run_sink sink;
    ck_assert_int_eq(ns_results_sink_new(r, 0, 0, &sink), NS_OK);
    ns_net *big = NULL, *fits = NULL; /* 8 tensors, 123 weights / the spec's own net */
    ck_assert_int_eq(ns_net_build("mlp:16-4-4-4-3", NULL, (ns_shape){16, 1, 1}, 3,
                                  NS_LOSS_SOFTMAX_CE, 1, &big), NS_OK);
    ck_assert_int_eq(ns_net_build("mlp:16-64-3", NULL, (ns_shape){16, 1, 1}, 3,
                                  NS_LOSS_SOFTMAX_CE, 1, &fits), NS_OK);
    ck_assert_int_eq(ns_net_init(fits, 7, NS_INIT_GLOROT), NS_OK);
    ns_status st = sink.weights(sink.ctx, big);
    ck_assert_msg(st == NS_ERR_INTERNAL && strstr(ns_error_msg(), "8 weight tensors"),
                  "got %s: %s", ns_status_name(st), ns_error_msg());
    ck_assert_msg(sink.weights(sink.ctx, fits) == NS_OK, "%s", ns_error_msg());
    ns_results_sink_free(&sink);
    ck_assert_int_eq(ns_results_close(r), NS_OK);
    /* what the good net left: its flat row and its tensor table */
    ns_h5 *h = NULL;
    ck_assert_int_eq(ns_h5_open(path, MPI_COMM_NULL, 0, &h), NS_OK);
    float row[1283];
    ck_assert_int_eq(ns_h5_read_rows(h, "weights", 0, 1, row), NS_OK);
    ck_assert_mem_eq(row, fits->params, sizeof row);
    char names[4][NS_RESULTS_NAME_LEN + 1];
    int64_t off[4];
    for (int k = 0; k < 4; k++) {
        size_t idx[2] = {0, (size_t)k}, one[2] = {1, 1};
        memset(names[k], 0, sizeof names[k]);
        ck_assert_int_eq(ns_h5_read_box(h, "tensor_name", idx, one, names[k]), NS_OK);
        ck_assert_int_eq(ns_h5_read_box(h, "tensor_offset", idx, one, &off[k]), NS_OK);
    }
    ck_assert_str_eq(names[0], "layers.0.weight");
    ck_assert_str_eq(names[3], "layers.2.bias");
    ck_assert(off[0] == 0 && off[1] == 16 * 64 && off[2] == 16 * 64 + 64 && off[3] == 1280);
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
    ns_net_free(big);
    ns_net_free(fits);
    ns_spec_free(spec);
}
END_TEST

/* An MPI call that fails inside ns_results_create is an error on every rank
 * (here every rank's MPI_Comm_rank fails, so all return without a collective). */
START_TEST(mpi_failure_is_reported)
{
    ns_spec *spec = parse(SPEC_NONE);
    char path[700];
    snprintf(path, sizeof path, "%s/mpi.h5", dir);
    ns_results *r = NULL;
    fail_comm_rank = 1;
    ns_status st = ns_results_create(path, MPI_COMM_WORLD, spec, NULL, &r);
    fail_comm_rank = 0;
    ck_assert_msg(st == NS_ERR_MPI && r == NULL, "got %s: %s", ns_status_name(st), ns_error_msg());
    ck_assert_msg(strstr(ns_error_msg(), "MPI_Comm_rank") != NULL, "%s", ns_error_msg());
    ck_assert_int_eq(access(path, F_OK), -1); /* nothing was created */
    ns_spec_free(spec);
}
END_TEST

static Suite *results_suite(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, layout_follows_the_schema_every_probe);
    tcase_add_test(tc, layout_follows_the_schema_no_probe);
    tcase_add_test(tc, sink_refuses_tensors_past_the_layout);
    tcase_add_test(tc, mpi_failure_is_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main_mpi(results_suite(), argc, argv); }
