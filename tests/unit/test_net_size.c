/* test_net_size.c - the engine's parameter count without a net
 * (ns_net_size_of) and its tensor iterator (ns_net_tensor), against a built
 * net: same sizes for every family and normalization, and every tensor's
 * offset, count and shape agree with where the net's layers really keep it
 * (so the results file's weights row and its tensor table line up). */
#include "ns_test.h"

#include "normsweep/net.h"

#include <string.h>

static ns_net *build(const char *arch, const char *norm_text, ns_shape in, int nout)
{
    ns_norm_config norm;
    ck_assert_int_eq(ns_norm_parse(norm_text, &norm), NS_OK);
    ns_net *n = NULL;
    ns_status st = ns_net_build(arch, norm.kind == NS_NORM_NONE ? NULL : &norm, in, nout,
                                NS_LOSS_SOFTMAX_CE, 4, &n);
    ck_assert_msg(st == NS_OK, "%s / %s: %s", arch, norm_text, ns_error_msg());
    return n;
}

static const struct {
    const char *arch, *norm;
    ns_shape in;
    int nout;
} cases[] = {
    {"mlp:16-8-8-3", "none", {16, 1, 1}, 3},
    {"mlp:16-8-8-3", "batch", {16, 1, 1}, 3},
    {"mlp:16-8-3", "noisy_batch", {16, 1, 1}, 3},
    {"mlp:16-8-3", "l2", {16, 1, 1}, 3},
    {"dln:depth=3,width=6", "batch", {6, 1, 1}, 6},
    {"vgg11:width=0.125", "batch", {1, 28, 28}, 10},
    {"vgg11:width=0.125", "group:groups=2", {3, 32, 32}, 10},
};

START_TEST(size_of_matches_a_built_net)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ns_net *n = build(cases[c].arch, cases[c].norm, cases[c].in, cases[c].nout);
        ns_norm_config norm;
        ck_assert_int_eq(ns_norm_parse(cases[c].norm, &norm), NS_OK);
        ns_net_size s;
        ck_assert_int_eq(ns_net_size_of(cases[c].arch, norm.kind == NS_NORM_NONE ? NULL : &norm,
                                        cases[c].in, cases[c].nout, &s),
                         NS_OK);
        ck_assert_msg(s.nparams == n->nparams && s.nstate == n->nstate, "%s/%s: %zu+%zu vs %zu+%zu",
                      cases[c].arch, cases[c].norm, s.nparams, s.nstate, n->nparams, n->nstate);
        ck_assert_int_eq(s.ntensors, ns_net_ntensors(n));
        ns_net_free(n);
    }
    /* a bad arch is the engine's error, not a crash */
    ns_net_size s;
    ck_assert_int_eq(ns_net_size_of("mlp:oops", NULL, (ns_shape){16, 1, 1}, 3, &s), NS_ERR_ARG);
}
END_TEST

/* Every tensor, as the iterator reports it, is where the layer keeps it. */
START_TEST(tensor_iterator_locates_every_view)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ns_net *n = build(cases[c].arch, cases[c].norm, cases[c].in, cases[c].nout);
        int k = 0;
        size_t covered = 0;
        for (int li = 0; li < n->nlayers; li++) {
            const ns_layer *l = &n->layers[li];
            for (int v = 0; v < l->nviews; v++, k++) {
                const ns_param_view *pv = &l->views[v];
                ns_tensor_ref t;
                ck_assert_int_eq(ns_net_tensor(n, k, &t), NS_OK);
                char want[64];
                snprintf(want, sizeof want, "%s.%s", l->name, pv->suffix);
                ck_assert_str_eq(t.name, want);
                const float *where = pv->is_state ? l->state + pv->offset : l->w + pv->offset;
                const float *got = t.is_state ? n->state + (t.offset - n->nparams)
                                              : n->params + t.offset;
                ck_assert_ptr_eq(where, got);
                ck_assert_int_eq(t.is_state, pv->is_state);
                ck_assert_int_eq(t.ndim, pv->ndim);
                size_t count = 1;
                for (int a = 0; a < pv->ndim; a++) {
                    ck_assert_int_eq(t.dims[a], pv->dims[a]);
                    count *= (size_t)pv->dims[a];
                }
                ck_assert_uint_eq(t.count, count);
                covered += t.count;
            }
        }
        ck_assert_int_eq(k, ns_net_ntensors(n));
        ck_assert_uint_eq(covered, n->nparams + n->nstate); /* the views tile the row */
        ns_tensor_ref t;
        ck_assert_int_eq(ns_net_tensor(n, k, &t), NS_ERR_ARG);
        ck_assert_int_eq(ns_net_tensor(n, -1, &t), NS_ERR_ARG);
        ns_net_free(n);
    }
}
END_TEST

static Suite *net_size_suite(void)
{
    Suite *s = suite_create("net_size");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, size_of_matches_a_built_net);
    tcase_add_test(tc, tensor_iterator_locates_every_view);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(net_size_suite(), argc, argv); }
