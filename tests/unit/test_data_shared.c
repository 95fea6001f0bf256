/* test_data_shared.c - a data set packed into one buffer and viewed back
 * (src/data/shared.c, the layout behind one shared copy per node): the view
 * equals the original bitwise, freeing it leaves the buffer alone, and a
 * buffer that is not a packed data set is refused. */
#include "ns_test.h"
#include "normsweep/data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *packed(const char *spec, ns_dataset **orig, size_t *bytes)
{
    ck_assert_int_eq(ns_dataset_load(spec, 11, orig), NS_OK);
    *bytes = ns_dataset_pack_size(*orig);
    void *buf = malloc(*bytes);
    ck_assert_ptr_nonnull(buf);
    ns_dataset_pack(*orig, buf);
    return buf;
}

START_TEST(view_equals_original)
{
    static const char *const specs[] = {"synthetic-cls:n=64,test=0,c=2,h=3,w=3,classes=3",
                                        "synthetic-dln:n=50,d=4,test=10"};
    for (int k = 0; k < 2; k++) {
        ns_dataset *o, *v;
        size_t bytes;
        void *buf = packed(specs[k], &o, &bytes);
        ck_assert_int_eq(ns_dataset_view(buf, bytes, &v), NS_OK);
        ck_assert_ptr_eq(v->storage, buf);
        ck_assert_ptr_eq(o->storage, NULL);
        const ns_dataset_info *i = &o->info;
        size_t per = ns_shape_size(i->shape);
        ck_assert_mem_eq(v->x_train, o->x_train, i->n_train * per * sizeof(float));
        ck_assert_int_eq((v->y_train == NULL), (o->y_train == NULL));
        ck_assert_int_eq((v->t_train == NULL), (o->t_train == NULL));
        if (o->y_train) ck_assert_mem_eq(v->y_train, o->y_train, i->n_train * sizeof(int32_t));
        if (o->t_train)
            ck_assert_mem_eq(v->t_train, o->t_train, i->n_train * (size_t)i->target_dim * sizeof(float));
        ck_assert_mem_eq(v->mean, o->mean, (size_t)i->shape.c * sizeof(float));
        ck_assert_int_eq(v->data_seed, o->data_seed);
        ck_assert_int_eq(((uintptr_t)v->x_train) % 64, ((uintptr_t)buf) % 64); /* aligned offsets */
        ns_dataset_free(v); /* the view only: buf stays */
        ck_assert_int_eq(ns_dataset_view(buf, bytes, &v), NS_OK);
        ns_dataset_free(v);
        ns_dataset_free(o);
        free(buf);
    }
}
END_TEST

START_TEST(not_a_packed_buffer_is_refused)
{
    ns_dataset *o, *v = (ns_dataset *)1;
    size_t bytes;
    unsigned char *buf = packed("synthetic-dln:n=20,d=3,test=0", &o, &bytes);
    ck_assert_int_eq(ns_dataset_view(buf, bytes - 64, &v), NS_ERR_FORMAT); /* size */
    ck_assert_ptr_null(v);
    ck_assert_int_eq(ns_dataset_view(buf, 16, &v), NS_ERR_FORMAT); /* smaller than a header */
    buf[0] ^= 1;
    ck_assert_int_eq(ns_dataset_view(buf, bytes, &v), NS_ERR_FORMAT); /* magic */
    ck_assert_msg(strstr(ns_error_msg(), "not a packed data set"), "%s", ns_error_msg());
    ns_dataset_free(o);
    free(buf);
}
END_TEST

START_TEST(cache_adopts_once)
{
    ns_dataset *o, *v;
    size_t bytes;
    void *buf = packed("synthetic-dln:n=20,d=3,test=0", &o, &bytes);
    ck_assert_int_eq(ns_dataset_view(buf, bytes, &v), NS_OK);
    ck_assert_int_eq(ns_dataset_cache_adopt("synthetic-dln:n=20,d=3,test=0", 11, v), NS_OK);
    const ns_dataset *got;
    ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln:n=20,d=3,test=0", 11, &got), NS_OK);
    ck_assert_ptr_eq(got, v);
    ck_assert_int_eq(ns_dataset_cache_loads(), 0);
    ck_assert_int_eq(ns_dataset_cache_adopt("synthetic-dln:n=20,d=3,test=0", 11, o), NS_ERR_ARG);
    ns_dataset_cache_clear(); /* frees the view, not buf */
    ns_dataset_free(o);
    free(buf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("data_shared");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, view_equals_original);
    tcase_add_test(tc, not_a_packed_buffer_is_refused);
    tcase_add_test(tc, cache_adopts_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(suite(), argc, argv); }
