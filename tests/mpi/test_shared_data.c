/* test_shared_data.c - one copy of the data set per node (shared_data.h):
 * every rank's view equals a private load bitwise, lives in one shared mapping,
 * and only the node's first rank loaded; the opt-out and a failing load.
 * ctest-ranks: 2 3 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "ns_test.h"
#include "normsweep/shared_data.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SPECS[] = {
    "synthetic-cls:n=300,test=50,c=3,h=5,w=4,classes=4,noise=1",
    "synthetic-dln:n=200,d=6,test=20",
};

static void same_bytes(const void *a, const void *b, size_t n, const char *what)
{
    ck_assert_msg((a == NULL) == (b == NULL), "%s: one is NULL", what);
    if (a) ck_assert_msg(memcmp(a, b, n) == 0, "%s differs", what);
}

/* Every array of v equals the one of a private load, byte for byte. */
static void assert_equal_data(const ns_dataset *v, const ns_dataset *p)
{
    const ns_dataset_info *i = &p->info;
    size_t per = ns_shape_size(i->shape), td = (size_t)i->target_dim;
    ck_assert_int_eq(v->info.n_train, i->n_train);
    ck_assert_int_eq(v->info.n_test, i->n_test);
    ck_assert_str_eq(v->info.canonical, i->canonical);
    same_bytes(v->x_train, p->x_train, i->n_train * per * sizeof(float), "x_train");
    same_bytes(v->x_test, p->x_test, i->n_test * per * sizeof(float), "x_test");
    same_bytes(v->y_train, p->y_train, i->n_train * sizeof(int32_t), "y_train");
    same_bytes(v->y_test, p->y_test, i->n_test * sizeof(int32_t), "y_test");
    same_bytes(v->t_train, p->t_train, i->n_train * td * sizeof(float), "t_train");
    same_bytes(v->t_test, p->t_test, i->n_test * td * sizeof(float), "t_test");
    same_bytes(v->mean, p->mean, (size_t)i->shape.c * sizeof(float), "mean");
    same_bytes(v->std, p->std, (size_t)i->shape.c * sizeof(float), "std");
    ck_assert_int_eq(v->standardized, p->standardized);
}

/* The /proc/self/maps permissions of the mapping holding addr ("rw-s"...). */
static int mapping_is_shared(const void *addr)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int shared = -1;
    uintptr_t a = (uintptr_t)addr;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
            shared = perms[3] == 's';
            break;
        }
    }
    if (f) fclose(f);
    return shared;
}

START_TEST(one_shared_copy_equals_private)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (size_t k = 0; k < sizeof SPECS / sizeof SPECS[0]; k++) {
        const ns_dataset *v = NULL;
        ns_shared_data_info info;
        ck_assert_int_eq(ns_shared_dataset_get(MPI_COMM_WORLD, SPECS[k], 7, 1, &v, &info), NS_OK);
        ck_assert_int_eq(info.shared, 1);
        ck_assert_int_eq(info.nodes, 1);
        ck_assert_int_eq(info.node_size, size);
        ck_assert_int_eq(ns_dataset_cache_loads(), 0); /* nobody loaded through the cache */
        ck_assert_int_eq(mapping_is_shared(v->x_train), 1);
        ns_dataset *p = NULL;
        ck_assert_int_eq(ns_dataset_load(SPECS[k], 7, &p), NS_OK);
        ck_assert_uint_eq(info.bytes, ns_dataset_pack_size(p));
        assert_equal_data(v, p);
        ck_assert_int_eq(mapping_is_shared(p->x_train), 0); /* the private one is not */
        const ns_dataset *again = NULL; /* the cache hands out the view, no load */
        ck_assert_int_eq(ns_dataset_cache_get(SPECS[k], 7, &again), NS_OK);
        ck_assert_ptr_eq(again, v);
        ck_assert_int_eq(ns_dataset_cache_loads(), 0);
        ns_dataset_free(p);
        ns_dataset_cache_clear();
        ns_shared_data_release();
    }
}
END_TEST

START_TEST(opt_out_loads_per_rank)
{
    const ns_dataset *v = NULL;
    ns_shared_data_info info;
    ck_assert_int_eq(ns_shared_dataset_get(MPI_COMM_WORLD, SPECS[0], 3, 0, &v, &info), NS_OK);
    ck_assert_int_eq(info.shared, 0);
    ck_assert_str_eq(info.fallback, "one copy per rank was asked for");
    ck_assert_int_eq(ns_dataset_cache_loads(), 1);
    ck_assert_int_eq(mapping_is_shared(v->x_train), 0);
    ns_dataset *p = NULL;
    ck_assert_int_eq(ns_dataset_load(SPECS[0], 3, &p), NS_OK);
    assert_equal_data(v, p);
    ns_dataset_free(p);
    ns_dataset_cache_clear();
    ns_shared_data_release();
}
END_TEST

START_TEST(failed_load_fails_every_rank)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const ns_dataset *v = NULL;
    ns_shared_data_info info;
    ns_status st = ns_shared_dataset_get(MPI_COMM_WORLD, "synthetic-cls:n=0,test=1,c=1,h=2,w=2,classes=2",
                                         1, 1, &v, &info);
    ck_assert_int_ne(st, NS_OK);
    ck_assert_ptr_null(v);
    if (info.node_rank != 0)
        ck_assert_msg(strstr(ns_error_msg(), "node's first rank") != NULL, "message: %s", ns_error_msg());
    ns_dataset_cache_clear();
    ns_shared_data_release();
}
END_TEST

START_TEST(no_room_for_the_window_falls_back)
{
    /* The backing directory is checked before the collective window call
     * (a failing MPI_Win_allocate_shared hangs the node's other ranks). */
    setenv("OMPI_MCA_osc_sm_backing_directory", "/nonexistent/ns_shm", 1);
    const ns_dataset *v = NULL;
    ns_shared_data_info info;
    ns_status st = ns_shared_dataset_get(MPI_COMM_WORLD, SPECS[1], 5, 1, &v, &info);
    unsetenv("OMPI_MCA_osc_sm_backing_directory");
    ck_assert_int_eq(st, NS_OK);
    ck_assert_int_eq(info.shared, 0);
    /* the reason: where the node's first rank looked, or that it found no room */
    ck_assert_msg(strstr(info.fallback, info.node_rank == 0 ? "/nonexistent/ns_shm" : "first rank"),
                  "%s", info.fallback);
    ns_dataset *p = NULL;
    ck_assert_int_eq(ns_dataset_load(SPECS[1], 5, &p), NS_OK);
    assert_equal_data(v, p);
    ns_dataset_free(p);
    ns_dataset_cache_clear();
    ns_shared_data_release();
}
END_TEST

static Suite *shared_suite(void)
{
    Suite *s = suite_create("shared_data");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_shared_copy_equals_private);
    tcase_add_test(tc, opt_out_loads_per_rank);
    tcase_add_test(tc, failed_load_fails_every_rank);
    tcase_add_test(tc, no_room_for_the_window_falls_back);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main_mpi(shared_suite(), argc, argv); }
