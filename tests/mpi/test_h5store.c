/* test_h5store.c - the parallel store end to end: all ranks create one layout
 * collectively, each writes its own rows independently, then a serial reader
 * (sec2 driver and MPI_COMM_SELF) checks every cell, the fill of unwritten
 * rows, attributes and the dimension scales; plus error paths and merge.
 *
 * With NS_H5STORE_WRITER=<file> set, the binary instead becomes the slow
 * writer that tests/cli/test_h5_crash.sh kills with SIGKILL (see writer_main).
 * ctest-ranks: 2 3 */
#define _POSIX_C_SOURCE 200809L
#include "ns_test.h"

#include "normsweep/h5store.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the test layout */

enum { NSTEP = 5, NETA = 3, NUNIT = 4, NNORM = 3, LABEL_LEN = 12, CFG_LEN = 6 };
static const int32_t step_coord[NSTEP] = {0, 10, 20, 30, 40};
static const double eta_coord[NETA] = {0.5, 1.0, 2.0};
static const char norm_coord[NNORM][8] = {"none", "batch", "l2"}; /* 8-byte cells, NUL-padded */
static int64_t run_coord[64];

static int nruns(int size) { return 2 * size + 1; } /* the last row is never written */

typedef struct test_layout {
    ns_h5_dim dims[5];
    ns_h5_var vars[8];
    const char *an[2], *av[2];
    ns_h5_layout L;
} test_layout;

static void make_layout(test_layout *t, size_t runs)
{
    for (size_t i = 0; i < runs; i++) run_coord[i] = 1000 + (int64_t)i;
    ns_h5_dim d[5] = {
        {"run", runs, NS_H5_I64, run_coord, 0, NULL, "run index"},
        {"step", NSTEP, NS_H5_I32, step_coord, 0, "iterations", "training step"},
        {"eta", NETA, NS_H5_F64, eta_coord, 0, "1", "step size multiplier"},
        {"unit", NUNIT, NS_H5_F32, NULL, 0, NULL, NULL},
        {"norm", NNORM, NS_H5_STR, norm_coord, 8, NULL, "normalization"},
    };
    ns_h5_var v[8] = {
        {"loss", NS_H5_F32, 0, 2, {"run", "step"}, "nats", "training loss", "cross-entropy", NULL, NULL},
        {"grad", NS_H5_F64, 0, 3, {"run", "step", "eta"}, "1", "gradient predictiveness", NULL, NULL, NULL},
        {"steps_done", NS_H5_I32, 0, 1, {"run"}, NULL, "steps completed", NULL, NULL, NULL},
        {"seed", NS_H5_I64, 0, 1, {"run"}, NULL, NULL, NULL, NULL, NULL},
        {"label", NS_H5_STR, LABEL_LEN, 1, {"run"}, NULL, "run label", NULL, NULL, NULL},
        {"act", NS_H5_F32, 0, 4, {"run", "step", "unit", "norm"}, NULL, NULL, NULL, NULL, NULL},
        {"cfg", NS_H5_STR, CFG_LEN, 2, {"run", "norm"}, NULL, NULL, NULL, NULL, NULL},
        {"lonely", NS_H5_F64, 0, 1, {"step"}, NULL, "not a per-run variable", NULL, NULL, NULL},
    };
    memcpy(t->dims, d, sizeof d);
    memcpy(t->vars, v, sizeof v);
    t->an[0] = "title";
    t->av[0] = "h5store test";
    t->an[1] = "paper";
    t->av[1] = "Santurkar et al. 2018";
    t->L = (ns_h5_layout){t->dims, 5, t->vars, 8, t->an, t->av, 2};
}

/* Values are closed forms of the indices so a reader can check every cell. */
static float loss_at(size_t r, size_t s) { return (float)(r * 100 + s) + 0.25f; }
static double grad_at(size_t r, size_t s, size_t e) { return r + s / 8.0 + e / 1024.0 - 3.0; }
static float act_at(size_t r, size_t s, size_t u, size_t n)
{
    return (float)(r * 1000 + s * 100 + u * 10 + n) * 0.5f;
}
static void label_at(size_t r, char *buf) { snprintf(buf, LABEL_LEN + 1, "run-%03u-lbl", (unsigned)(r % 1000)); }

/* Write every variable's row r (each a separate independent call). Returns
 * a status rather than asserting: the crash writer runs outside Check. */
static ns_status write_row(ns_h5 *h, size_t r)
{
    float loss[NSTEP], act[NSTEP][NUNIT][NNORM];
    double grad[NSTEP][NETA];
    for (size_t s = 0; s < NSTEP; s++) {
        loss[s] = loss_at(r, s);
        for (size_t e = 0; e < NETA; e++) grad[s][e] = grad_at(r, s, e);
        for (size_t u = 0; u < NUNIT; u++)
            for (size_t n = 0; n < NNORM; n++) act[s][u][n] = act_at(r, s, u, n);
    }
    NS_TRY(ns_h5_write_rows(h, "loss", r, 1, loss));
    NS_TRY(ns_h5_write_rows(h, "grad", r, 1, grad));
    /* act through a general box: two halves along "step" */
    size_t st0[4] = {r, 0, 0, 0}, c0[4] = {1, 2, NUNIT, NNORM};
    size_t st1[4] = {r, 2, 0, 0}, c1[4] = {1, NSTEP - 2, NUNIT, NNORM};
    NS_TRY(ns_h5_write_box(h, "act", st0, c0, act[0]));
    NS_TRY(ns_h5_write_box(h, "act", st1, c1, act[2]));
    int32_t done = (int32_t)(r * 7);
    int64_t seed = (int64_t)r * 10000000000LL + 1;
    NS_TRY(ns_h5_write_rows(h, "steps_done", r, 1, &done));
    NS_TRY(ns_h5_write_rows(h, "seed", r, 1, &seed));
    char lbl[LABEL_LEN + 1];
    label_at(r, lbl);
    size_t idx[1] = {r};
    NS_TRY(ns_h5_write_str(h, "label", idx, lbl));
    /* cfg: column n gets "cN" except a full-width cell in column 2 (no NUL) */
    for (size_t n = 0; n < NNORM; n++) {
        char s[CFG_LEN + 1];
        if (n == 2) snprintf(s, sizeof s, "w%05u", (unsigned)(r % 100000));
        else snprintf(s, sizeof s, "c%zu", n);
        size_t ix[2] = {r, n};
        NS_TRY(ns_h5_write_str(h, "cfg", ix, s));
    }
    return NS_OK;
}

/* Assert row r holds exactly what write_row wrote. */
static void check_row(ns_h5 *h, size_t r)
{
    float loss[NSTEP], act[NSTEP][NUNIT][NNORM];
    double grad[NSTEP][NETA];
    ck_assert_int_eq(ns_h5_read_rows(h, "loss", r, 1, loss), NS_OK);
    ck_assert_int_eq(ns_h5_read_rows(h, "grad", r, 1, grad), NS_OK);
    ck_assert_int_eq(ns_h5_read_rows(h, "act", r, 1, act), NS_OK);
    for (size_t s = 0; s < NSTEP; s++) {
        ck_assert_float_eq(loss[s], loss_at(r, s)); /* bitwise: no arithmetic in between */
        for (size_t e = 0; e < NETA; e++) ck_assert_double_eq(grad[s][e], grad_at(r, s, e));
        for (size_t u = 0; u < NUNIT; u++)
            for (size_t n = 0; n < NNORM; n++) ck_assert_float_eq(act[s][u][n], act_at(r, s, u, n));
    }
    int32_t done;
    int64_t seed;
    ck_assert_int_eq(ns_h5_read_rows(h, "steps_done", r, 1, &done), NS_OK);
    ck_assert_int_eq(ns_h5_read_rows(h, "seed", r, 1, &seed), NS_OK);
    ck_assert_int_eq(done, (int32_t)(r * 7));
    ck_assert(seed == (int64_t)r * 10000000000LL + 1);
    char lbl[LABEL_LEN] = {0}, want[LABEL_LEN + 1];
    ck_assert_int_eq(ns_h5_read_rows(h, "label", r, 1, lbl), NS_OK);
    label_at(r, want);
    ck_assert(memcmp(lbl, want, LABEL_LEN) == 0); /* 11 chars + NUL padding */
    char cfg[NNORM][CFG_LEN];
    ck_assert_int_eq(ns_h5_read_rows(h, "cfg", r, 1, cfg), NS_OK);
    ck_assert(memcmp(cfg[0], "c0\0\0\0\0", CFG_LEN) == 0); /* NUL-padded */
    ck_assert(memcmp(cfg[1], "c1\0\0\0\0", CFG_LEN) == 0);
    char w[CFG_LEN + 1];
    snprintf(w, sizeof w, "w%05u", (unsigned)(r % 100000));
    ck_assert(memcmp(cfg[2], w, CFG_LEN) == 0);
}

/* Assert row r was never written: NaN, -1 and empty strings. */
static void check_fill_row(ns_h5 *h, size_t r)
{
    float loss[NSTEP], act[NSTEP * NUNIT * NNORM];
    double grad[NSTEP * NETA];
    ck_assert_int_eq(ns_h5_read_rows(h, "loss", r, 1, loss), NS_OK);
    ck_assert_int_eq(ns_h5_read_rows(h, "grad", r, 1, grad), NS_OK);
    ck_assert_int_eq(ns_h5_read_rows(h, "act", r, 1, act), NS_OK);
    for (int i = 0; i < NSTEP; i++) ck_assert(isnan(loss[i]));
    for (int i = 0; i < NSTEP * NETA; i++) ck_assert(isnan(grad[i]));
    for (int i = 0; i < NSTEP * NUNIT * NNORM; i++) ck_assert(isnan(act[i]));
    int32_t done = 0;
    int64_t seed = 0;
    ck_assert_int_eq(ns_h5_read_rows(h, "steps_done", r, 1, &done), NS_OK);
    ck_assert_int_eq(ns_h5_read_rows(h, "seed", r, 1, &seed), NS_OK);
    ck_assert_int_eq(done, NS_H5_FILL_INT);
    ck_assert(seed == NS_H5_FILL_INT);
    char lbl[LABEL_LEN], zero[LABEL_LEN] = {0};
    memset(lbl, 'x', sizeof lbl);
    ck_assert_int_eq(ns_h5_read_rows(h, "label", r, 1, lbl), NS_OK);
    ck_assert(memcmp(lbl, zero, LABEL_LEN) == 0);
    int wr = -5;
    ck_assert_int_eq(ns_h5_row_written(h, "loss", r, &wr), NS_OK);
    ck_assert_int_eq(wr, 0);
    ck_assert_int_eq(ns_h5_row_written(h, "label", r, &wr), NS_OK);
    ck_assert_int_eq(wr, 0);
}

/* A directory every rank agrees on (rank 0 makes it, broadcasts the name). */
static void shared_tmpdir(char *dir, size_t n, const char *tag)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    memset(dir, 0, n);
    if (rank == 0) snprintf(dir, n, "%s", ns_test_tmpdir(tag));
    MPI_Bcast(dir, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
}

/* What every collective test starts with: rank, size, a shared scratch dir
 * and a file path in it. */
typedef struct mpi_ctx {
    int rank, size;
    char dir[512], path[600];
} mpi_ctx;

static void begin(mpi_ctx *c, const char *tag, const char *file)
{
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    shared_tmpdir(c->dir, sizeof c->dir, tag);
    snprintf(c->path, sizeof c->path, "%s/%s", c->dir, file);
}

static void shared_cleanup(const char *dir)
{
    int rank;
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) ns_test_rmtree(dir);
}

/* Collective: create, write own rows (r % size == rank, never the last), close. */
static void write_parallel_file(const char *path, test_layout *t)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    make_layout(t, (size_t)nruns(size));
    ns_h5 *h = NULL;
    ns_status st = ns_h5_create(path, MPI_COMM_WORLD, &t->L, &h);
    ck_assert_msg(st == NS_OK, "%s", ns_error_msg());
    for (size_t r = (size_t)rank; r + 1 < (size_t)nruns(size); r += (size_t)size)
        ck_assert_msg(write_row(h, r) == NS_OK, "%s", ns_error_msg());
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
}

/* ------------------------------------------------------------ raw HDF5 checks */

static void check_scale(hid_t f, const char *var, unsigned idx, const char *dim, const char *scale_name)
{
    hid_t d = H5Dopen2(f, var, H5P_DEFAULT), s = H5Dopen2(f, dim, H5P_DEFAULT);
    ck_assert(d >= 0 && s >= 0);
    ck_assert_int_eq(H5DSis_scale(s), 1);
    ck_assert_msg(H5DSis_attached(d, s, idx) == 1, "%s dim %u not attached to %s", var, idx, dim);
    char name[128] = {0};
    ck_assert(H5DSget_scale_name(s, name, sizeof name) > 0);
    ck_assert_msg(strncmp(name, scale_name, strlen(scale_name)) == 0, "scale name '%s'", name);
    H5Dclose(s);
    H5Dclose(d);
}

static void check_str_attr(hid_t obj, const char *name, const char *want)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s missing", name);
    hid_t t = H5Aget_type(a);
    char buf[256] = {0};
    ck_assert(H5Tget_size(t) < sizeof buf);
    ck_assert(H5Aread(a, t, buf) >= 0);
    ck_assert_str_eq(buf, want);
    H5Tclose(t);
    H5Aclose(a);
}

/* ------------------------------------------------------------ tests */

START_TEST(parallel_rows_then_serial_read)
{
    mpi_ctx c;
    begin(&c, "h5store", "sweep.h5");
    int rank = c.rank, size = c.size;
    const char *dir = c.dir, *path = c.path;
    test_layout t;
    write_parallel_file(path, &t);
    MPI_Barrier(MPI_COMM_WORLD);
    size_t R = (size_t)nruns(size);
    /* Every rank reads the whole file back serially: rank 0 with sec2, others via MPI_COMM_SELF. */
    ns_h5 *h = NULL;
    ns_status st = ns_h5_open(path, rank == 0 ? MPI_COMM_NULL : MPI_COMM_SELF, 0, &h);
    ck_assert_msg(st == NS_OK, "%s", ns_error_msg());
    for (size_t r = 0; r + 1 < R; r++) check_row(h, r);
    check_fill_row(h, R - 1);
    int wr = 0;
    ck_assert_int_eq(ns_h5_row_written(h, "loss", 0, &wr), NS_OK);
    ck_assert_int_eq(wr, 1);

    /* coordinates and var info */
    int64_t runs[64];
    ck_assert_int_eq(ns_h5_read_rows(h, "run", 0, R, runs), NS_OK);
    for (size_t r = 0; r < R; r++) ck_assert(runs[r] == 1000 + (int64_t)r);
    double eta[NETA];
    ck_assert_int_eq(ns_h5_read_rows(h, "eta", 0, NETA, eta), NS_OK);
    for (int i = 0; i < NETA; i++) ck_assert_double_eq(eta[i], eta_coord[i]);
    char norms[NNORM][8];
    ck_assert_int_eq(ns_h5_read_rows(h, "norm", 0, NNORM, norms), NS_OK);
    ck_assert(memcmp(norms, norm_coord, sizeof norms) == 0);
    size_t n = 0;
    ck_assert_int_eq(ns_h5_dim_size(h, "run", &n), NS_OK);
    ck_assert_uint_eq(n, R);
    ck_assert_int_eq(ns_h5_dim_size(h, "loss", &n), NS_ERR_ARG); /* a var, not a dim */
    ns_h5_info I;
    ck_assert_int_eq(ns_h5_var_info(h, "act", &I), NS_OK);
    ck_assert_int_eq(I.type, NS_H5_F32);
    ck_assert_int_eq(I.ndims, 4);
    ck_assert_uint_eq(I.shape[0], R);
    ck_assert_uint_eq(I.shape[3], NNORM);
    ck_assert_uint_eq(I.row_elems, NSTEP * NUNIT * NNORM);
    ck_assert_str_eq(I.dims[0], "run");
    ck_assert_str_eq(I.dims[2], "unit"); /* a pure dim: name from the link, not NAME */
    ck_assert_str_eq(I.dims[3], "norm");
    ck_assert_int_eq(ns_h5_var_info(h, "label", &I), NS_OK);
    ck_assert_int_eq(I.type, NS_H5_STR);
    ck_assert_int_eq(I.str_len, LABEL_LEN);
    /* text is a netCDF char array on disk (one more dim, strlen12), shown as
     * cells of LABEL_LEN bytes over the var's own dims */
    ck_assert_int_eq(I.ndims, 1);
    ck_assert_str_eq(I.dims[0], "run");
    ck_assert_int_eq(ns_h5_dim_size(h, "strlen12", &n), NS_OK);
    ck_assert_uint_eq(n, LABEL_LEN);
    ck_assert_int_eq(ns_h5_var_info(h, "cfg", &I), NS_OK);
    ck_assert_int_eq(I.ndims, 2);
    ck_assert_int_eq(I.str_len, CFG_LEN);
    ck_assert_int_eq(ns_h5_dim_size(h, "strlen6", &n), NS_OK);
    ck_assert_uint_eq(n, CFG_LEN);
    ck_assert_int_eq(ns_h5_nvars(h), 15); /* 5 dims + 8 vars + 2 text dims */
    ck_assert_str_eq(ns_h5_var_name(h, 0), "act"); /* sorted */
    ck_assert_ptr_null(ns_h5_var_name(h, 15));

    /* root attributes */
    char *v = NULL;
    ck_assert_int_eq(ns_h5_get_attr(h, "title", &v), NS_OK);
    ck_assert_str_eq(v, "h5store test");
    free(v);
    ck_assert_int_eq(ns_h5_get_attr(h, "store_format", &v), NS_OK);
    ck_assert_str_eq(v, "normsweep-h5store 1");
    free(v);
    v = NULL;
    ck_assert_int_eq(ns_h5_get_attr(h, "nope", &v), NS_ERR_ARG);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "nope"));
    ck_assert_int_eq(ns_h5_close(h), NS_OK);

    /* the same file through raw HDF5: scales attached, NAMEs, var attributes */
    if (rank == 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        ck_assert(f >= 0);
        check_scale(f, "loss", 0, "run", "run");
        check_scale(f, "loss", 1, "step", "step");
        check_scale(f, "grad", 2, "eta", "eta");
        check_scale(f, "act", 2, "unit", "This is a netCDF dimension but not a netCDF variable.");
        check_scale(f, "act", 3, "norm", "norm");
        check_scale(f, "cfg", 1, "norm", "norm");
        hid_t d = H5Dopen2(f, "loss", H5P_DEFAULT);
        check_str_attr(d, "units", "nats");
        check_str_attr(d, "long_name", "training loss");
        check_str_attr(d, "description", "cross-entropy");
        ck_assert_int_eq(H5Aexists(d, "nonexistent"), 0);
        /* contiguous, allocated early, NaN fill */
        hid_t p = H5Dget_create_plist(d);
        ck_assert_int_eq(H5Pget_layout(p), H5D_CONTIGUOUS);
        H5D_alloc_time_t at;
        H5Pget_alloc_time(p, &at);
        ck_assert_int_eq(at, H5D_ALLOC_TIME_EARLY);
        float fv = 0;
        H5Pget_fill_value(p, H5T_NATIVE_FLOAT, &fv);
        ck_assert(isnan(fv));
        H5Pclose(p);
        H5Dclose(d);
        d = H5Dopen2(f, "seed", H5P_DEFAULT);
        ck_assert_int_eq(H5Aexists(d, "units"), 0); /* NULL units: no attribute */
        H5Dclose(d);
        d = H5Dopen2(f, "step", H5P_DEFAULT);
        check_str_attr(d, "units", "iterations");
        H5Dclose(d);
        check_str_attr(f, "paper", "Santurkar et al. 2018");
        H5Fclose(f);
    }
    shared_cleanup(dir);
}
END_TEST

START_TEST(merge_copies_per_run_rows)
{
    mpi_ctx c;
    begin(&c, "h5merge", "shard.h5");
    int rank = c.rank, size = c.size;
    const char *dir = c.dir, *src_path = c.path;
    char dst_path[600], bad_path[600];
    snprintf(dst_path, sizeof dst_path, "%s/merged.h5", dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.h5", dir);
    test_layout t;
    write_parallel_file(src_path, &t);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) { /* merge is a serial tool: sec2 create + open */
        size_t R = (size_t)nruns(size);
        ns_h5 *dst = NULL, *src = NULL;
        ck_assert_int_eq(ns_h5_create(dst_path, MPI_COMM_NULL, &t.L, &dst), NS_OK);
        ck_assert_int_eq(ns_h5_open(src_path, MPI_COMM_NULL, 0, &src), NS_OK);
        /* copy reversed: dst row R-2-r <- src row r, skipping unwritten rows */
        int ncopied = -1, written;
        for (size_t r = 0; r < R; r++) {
            ck_assert_int_eq(ns_h5_row_written(src, "loss", r, &written), NS_OK);
            if (!written) continue;
            ck_assert_int_eq(ns_h5_copy_row(dst, R - 2 - r, src, r, "run", &ncopied), NS_OK);
            ck_assert_int_eq(ncopied, 7); /* all but "lonely" (over step) and the dims */
        }
        ck_assert_int_eq(ns_h5_close(dst), NS_OK);
        ck_assert_int_eq(ns_h5_open(dst_path, MPI_COMM_NULL, 0, &dst), NS_OK);
        float a[NSTEP], b[NSTEP];
        for (size_t r = 0; r + 1 < R; r++) {
            ck_assert_int_eq(ns_h5_read_rows(dst, "loss", R - 2 - r, 1, a), NS_OK);
            ck_assert_int_eq(ns_h5_read_rows(src, "loss", r, 1, b), NS_OK);
            ck_assert(memcmp(a, b, sizeof a) == 0);
            char l1[LABEL_LEN], l2[LABEL_LEN];
            ck_assert_int_eq(ns_h5_read_rows(dst, "label", R - 2 - r, 1, l1), NS_OK);
            ck_assert_int_eq(ns_h5_read_rows(src, "label", r, 1, l2), NS_OK);
            ck_assert(memcmp(l1, l2, LABEL_LEN) == 0);
        }
        check_fill_row(dst, R - 1);
        /* copying into a read-only handle is refused */
        ck_assert_int_eq(ns_h5_copy_row(dst, 0, src, 0, "run", NULL), NS_ERR_STATE);
        ck_assert_int_eq(ns_h5_close(dst), NS_OK);

        /* a destination whose "act" has another trailing shape: NS_ERR_FORMAT naming both */
        ns_h5_dim bd[5];
        memcpy(bd, t.dims, sizeof bd);
        bd[3].size = NUNIT + 1;
        ns_h5_layout bl = t.L;
        bl.dims = bd;
        ck_assert_int_eq(ns_h5_create(bad_path, MPI_COMM_NULL, &bl, &dst), NS_OK);
        ck_assert_int_eq(ns_h5_copy_row(dst, 0, src, 0, "run", NULL), NS_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "'act'"));
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "bad.h5"));
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "shard.h5"));
        ck_assert_int_eq(ns_h5_close(dst), NS_OK);
        /* a destination missing a var */
        bl = t.L;
        bl.nvars = 7; /* drops "lonely": fine, not per-run */
        ck_assert_int_eq(ns_h5_create(bad_path, MPI_COMM_NULL, &bl, &dst), NS_OK);
        ck_assert_int_eq(ns_h5_copy_row(dst, 0, src, 0, "run", NULL), NS_OK);
        ck_assert_int_eq(ns_h5_close(dst), NS_OK);
        bl.vars = t.vars + 1; /* drops "loss" */
        ck_assert_int_eq(ns_h5_create(bad_path, MPI_COMM_NULL, &bl, &dst), NS_OK);
        ck_assert_int_eq(ns_h5_copy_row(dst, 0, src, 0, "run", NULL), NS_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "'loss'"));
        ck_assert_int_eq(ns_h5_close(dst), NS_OK);
        ck_assert_int_eq(ns_h5_close(src), NS_OK);
    }
    shared_cleanup(dir);
}
END_TEST

START_TEST(row_io_errors_name_file_and_var)
{
    mpi_ctx c;
    begin(&c, "h5err", "e.h5");
    int rank = c.rank, size = c.size;
    const char *dir = c.dir, *path = c.path;
    test_layout t;
    make_layout(&t, (size_t)nruns(size));
    ns_h5 *h = NULL;
    ck_assert_int_eq(ns_h5_create(path, MPI_COMM_WORLD, &t.L, &h), NS_OK);
    float buf[64] = {0};
    ck_assert_int_eq(ns_h5_write_rows(h, "nosuch", 0, 1, buf), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "'nosuch'"));
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "e.h5"));
    size_t R = (size_t)nruns(size);
    ck_assert_int_eq(ns_h5_write_rows(h, "loss", R, 1, buf), NS_ERR_ARG); /* past the end */
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "outside"));
    ck_assert_int_eq(ns_h5_write_rows(h, "loss", R - 1, 2, buf), NS_ERR_ARG);
    size_t st[2] = {0, 3}, ct[2] = {1, 3}; /* step 3..5 of 5 */
    ck_assert_int_eq(ns_h5_write_box(h, "loss", st, ct, buf), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "'step'"));
    ck_assert_int_eq(ns_h5_write_rows(h, "loss", 0, 0, NULL), NS_OK); /* empty box: no-op */
    size_t ix[1] = {0};
    ck_assert_int_eq(ns_h5_write_str(h, "label", ix, "this is far too long"), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "does not fit"));
    ck_assert_int_eq(ns_h5_write_str(h, "loss", ix, "x"), NS_ERR_ARG);
    ck_assert_int_eq(ns_h5_close(h), NS_OK);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        ck_assert_int_eq(ns_h5_open(path, MPI_COMM_NULL, 0, &h), NS_OK);
        ck_assert_int_eq(ns_h5_write_rows(h, "loss", 0, 1, buf), NS_ERR_STATE); /* read-only */
        ck_assert_int_eq(ns_h5_close(h), NS_OK);
        /* missing file -> NS_ERR_IO; a file that is not HDF5 -> NS_ERR_HDF5 naming it */
        char p2[700];
        snprintf(p2, sizeof p2, "%s/missing.h5", dir);
        ck_assert_int_eq(ns_h5_open(p2, MPI_COMM_NULL, 0, &h), NS_ERR_IO);
        ck_assert_ptr_null(h);
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "missing.h5"));
        snprintf(p2, sizeof p2, "%s/junk.h5", dir);
        ck_assert_int_eq(ns_test_write_file(p2, "not hdf5 at all", 15), 0);
        ck_assert_int_eq(ns_h5_open(p2, MPI_COMM_SELF, 0, &h), NS_ERR_HDF5);
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "junk.h5"));
        /* creating in a directory that does not exist */
        snprintf(p2, sizeof p2, "%s/no/such/dir.h5", dir);
        ck_assert_int_eq(ns_h5_create(p2, MPI_COMM_NULL, &t.L, &h), NS_ERR_HDF5);
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "dir.h5"));
    }
    shared_cleanup(dir);
}
END_TEST

/* Each broken layout is refused with NS_ERR_ARG and a message naming the culprit. */
START_TEST(layout_check_refuses_bad_layouts)
{
    test_layout t;
    make_layout(&t, 4);
    ck_assert_int_eq(ns_h5_layout_check(&t.L), NS_OK);
#define BAD(stmt, needle)                                                                     \
    do {                                                                                      \
        make_layout(&t, 4);                                                                   \
        stmt;                                                                                 \
        ck_assert_int_eq(ns_h5_layout_check(&t.L), NS_ERR_ARG);                               \
        ck_assert_msg(strstr(ns_error_msg(), needle), "'%s' not in '%s'", needle,              \
                      ns_error_msg());                                                        \
    } while (0)
    BAD(t.dims[1].size = 0, "'step' has size 0");
    BAD(t.dims[1].name = "", "dim 1 has no name");
    BAD(t.dims[1].name = "a/b", "'a/b'");
    BAD(t.dims[1].name = "run", "'run' declared twice");
    BAD(t.dims[4].coord_str_len = 0, "coord_str_len 0");
    BAD(t.dims[0].coord_type = (ns_h5_type)9, "coord_type 9");
    BAD(t.vars[2].name = "loss", "'loss' declared twice");
    BAD(t.vars[2].name = "eta", "name of a dim");
    BAD(t.vars[4].str_len = 0, "str_len 0");
    BAD(t.vars[0].ndims = 0, "0 dims");
    BAD(t.vars[0].ndims = NS_H5_MAX_DIMS + 1, "6 dims");
    BAD(t.vars[0].dims[1] = "time", "undeclared dim 'time'");
    BAD(t.vars[0].dims[1] = "run", "dim 'run' twice");
    BAD(t.vars[0].type = (ns_h5_type)-1, "type -1");
    BAD(t.vars[0].name = "a_name_that_is_much_longer_than_sixty_three_bytes_which_is_the_limit",
        "longer than 63");
    BAD(t.an[1] = "title", "'title' declared twice");
    BAD(t.an[1] = "store_format", "reserved");
    BAD(t.av[0] = NULL, "NULL value");
    BAD(t.L.nvars = -1, "negative count");
    BAD(t.L.vars = NULL, "array is NULL");
#undef BAD
    ck_assert_int_eq(ns_h5_layout_check(NULL), NS_ERR_ARG);
}
END_TEST

/* Ranks that disagree on the layout get NS_ERR_ARG everywhere instead of a hang. */
START_TEST(create_refuses_disagreeing_ranks)
{
    mpi_ctx c;
    begin(&c, "h5agree", "x.h5");
    int rank = c.rank;
    const char *dir = c.dir, *path = c.path;
    test_layout t;
    make_layout(&t, 4);
    if (rank == 1) t.dims[2].units = "other";
    ns_h5 *h = NULL;
    ck_assert_int_eq(ns_h5_create(path, MPI_COMM_WORLD, &t.L, &h), NS_ERR_ARG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "different paths or layouts"));
    /* one rank with an invalid layout: it reports its own error, the others a pointer to it */
    make_layout(&t, 4);
    if (rank == 1) t.vars[0].dims[1] = "time";
    ck_assert_int_eq(ns_h5_create(path, MPI_COMM_WORLD, &t.L, &h), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), rank == 1 ? "undeclared dim 'time'"
                                                           : "another rank's layout"));
    shared_cleanup(dir);
}
END_TEST

/* ------------------------------------------------------------ writer mode for the crash test */

/* Creates the layout at $NS_H5STORE_WRITER (or, with NS_H5STORE_RESUME=1,
 * reopens the existing file read-write in parallel), then writes rows one at a time,
 * rank-striped, sleeping $NS_H5STORE_DELAY_MS between rows. After each row it
 * appends "r\n" to <file>.rank<k>.done, so the killer knows which rows are
 * complete; <file>.rank<k>.pid names the process to kill. Runs until killed
 * or out of rows (then exits 0 after closing the file). */
static int writer_main(int argc, char **argv, const char *path)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *ms = getenv("NS_H5STORE_DELAY_MS");
    long delay_ms = ms ? atol(ms) : 100;
    struct timespec delay = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    test_layout t;
    make_layout(&t, (size_t)nruns(size) * 4 > 64 ? 64 : (size_t)nruns(size) * 4);
    char aux[700];
    snprintf(aux, sizeof aux, "%s.rank%d.pid", path, rank);
    FILE *f = fopen(aux, "w");
    if (f) {
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
    ns_h5 *h = NULL;
    const char *resume = getenv("NS_H5STORE_RESUME");
    ns_status st = resume && *resume == '1' ? ns_h5_open(path, MPI_COMM_WORLD, 1, &h)
                                           : ns_h5_create(path, MPI_COMM_WORLD, &t.L, &h);
    if (st != NS_OK) {
        fprintf(stderr, "writer: %s\n", ns_error_msg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    snprintf(aux, sizeof aux, "%s.rank%d.done", path, rank);
    for (size_t r = (size_t)rank; r + 1 < t.dims[0].size; r += (size_t)size) {
        if (write_row(h, r) != NS_OK) {
            fprintf(stderr, "writer rank %d: %s\n", rank, ns_error_msg());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        f = fopen(aux, "a");
        if (f) {
            fprintf(f, "%zu\n", r);
            fclose(f);
        }
        nanosleep(&delay, NULL);
    }
    st = ns_h5_close(h);
    if (st != NS_OK) fprintf(stderr, "writer rank %d: %s\n", rank, ns_error_msg());
    MPI_Finalize();
    return st == NS_OK ? 0 : 1;
}

static Suite *h5store_suite(void)
{
    Suite *s = suite_create("h5store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parallel_rows_then_serial_read);
    tcase_add_test(tc, merge_copies_per_run_rows);
    tcase_add_test(tc, row_io_errors_name_file_and_var);
    tcase_add_test(tc, layout_check_refuses_bad_layouts);
    tcase_add_test(tc, create_refuses_disagreeing_ranks);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    const char *w = getenv("NS_H5STORE_WRITER");
    if (w && *w) return writer_main(argc, argv, w);
    return ns_test_main_mpi(h5store_suite(), argc, argv);
}
