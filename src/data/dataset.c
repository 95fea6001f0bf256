/* dataset.c - spec -> loaded, standardized data set; headers-only info; the
 * per-rank cache that makes a sweep of many runs on one rank read its data
 * set once. */
#include "data/data_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *kind_name(ns_data_kind k)
{
    switch (k) {
    case NS_DATA_IDX: return "idx";
    case NS_DATA_CIFAR10: return "cifar10";
    case NS_DATA_SYNTH_DLN: return "synthetic-dln";
    case NS_DATA_SYNTH_CLS: return "synthetic-cls";
    }
    return "?";
}

static void info_init(const ns_data_spec *s, ns_dataset_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->canonical, sizeof info->canonical, "%s", s->canonical);
    snprintf(info->kind, sizeof info->kind, "%s", kind_name(s->kind));
}

/* 1 if path does not exist (ENOENT): a FIFO, a symlink loop or an unreadable
 * file exists, and is read (and refused) as such. */
static int absent(const char *path)
{
    struct stat st;
    return lstat(path, &st) != 0 && errno == ENOENT;
}

/* The files of a file data set are not there: its directory, or the first
 * file of its training split (also in CIFAR's cifar-10-batches-bin/). */
static int files_absent(const char *name, const char *dir)
{
    char p[PATH_MAX + 64];
    if (absent(dir)) return 1;
    int cifar = !strcmp(name, "cifar10");
    const char *first = cifar ? "data_batch_1.bin" : "train-images-idx3-ubyte";
    snprintf(p, sizeof p, "%s/%s", dir, first);
    if (!absent(p)) return 0;
    snprintf(p, sizeof p, cifar ? "%s/cifar-10-batches-bin/%s" : "%s/%s.gz", dir, first);
    return absent(p);
}

ns_status ns_dataset_info_published(const char *spec, ns_dataset_info *out)
{
    static const struct {
        const char *name, *kind;
        ns_shape shape;
        size_t n_train, n_test;
    } published[] = {{"fashion-mnist", "idx", {1, 28, 28}, 60000, 10000},
                     {"mnist", "idx", {1, 28, 28}, 60000, 10000},
                     {"kmnist", "idx", {1, 28, 28}, 60000, 10000},
                     {"cifar10", "cifar10", {3, 32, 32}, 50000, 10000}};
    size_t nlen = strcspn(spec, ":");
    const char *dir = spec[nlen] ? spec + nlen + 1 : NS_FASHION_MNIST_DEFAULT_DIR;
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
        if (strlen(published[i].name) != nlen || strncmp(spec, published[i].name, nlen)) continue;
        NS_CHECK(files_absent(published[i].name, dir), NS_ERR_IO,
                 "%s: the data set's files are there: read them", spec);
        memset(out, 0, sizeof *out);
        snprintf(out->canonical, sizeof out->canonical, "%s", spec);
        snprintf(out->kind, sizeof out->kind, "%s", published[i].kind);
        out->shape = published[i].shape;
        out->nclasses = 10;
        out->n_train = published[i].n_train, out->n_test = published[i].n_test;
        return NS_OK;
    }
    return ns_error_set(NS_ERR_ARG, "%s: not a file data set with a published size", spec);
}

ns_status ns_dataset_info_get(const char *spec, ns_dataset_info *out)
{
    ns_data_spec s;
    NS_TRY(ns_data_spec_parse(spec, &s));
    info_init(&s, out);
    switch (s.kind) {
    case NS_DATA_IDX: NS_TRY(ns_idx_info(&s, out)); break;
    case NS_DATA_CIFAR10: NS_TRY(ns_cifar_info(&s, out)); break;
    case NS_DATA_SYNTH_DLN:
    case NS_DATA_SYNTH_CLS: ns_synth_info(&s, out); break;
    default: return ns_error_set(NS_ERR_INTERNAL, "%s: unhandled data kind", spec);
    }
    out->shape = ns_padded_shape(out->shape, s.pad); /* the shape the net sees */
    return NS_OK;
}

void ns_dataset_free(ns_dataset *d)
{
    if (!d) return;
    if (d->storage) { /* a view: the arrays belong to the caller's buffer */
        free(d);
        return;
    }
    free(d->x_train); free(d->x_test);
    free(d->y_train); free(d->y_test);
    free(d->t_train); free(d->t_test);
    free(d->mean); free(d->std);
    free(d);
}

size_t ns_dataset_memory(const ns_dataset *d)
{
    const ns_dataset_info *i = &d->info;
    size_t n = i->n_train + i->n_test, per = ns_shape_size(i->shape);
    size_t bytes = n * per * sizeof(float) + 2 * (size_t)i->shape.c * sizeof(float);
    if (i->nclasses > 0) bytes += n * sizeof(int32_t);
    else bytes += n * (size_t)i->target_dim * sizeof(float);
    return bytes;
}

static ns_status alloc_stats(ns_dataset *d)
{
    int c = d->info.shape.c;
    d->mean = calloc((size_t)c, sizeof(float));
    d->std = malloc((size_t)c * sizeof(float));
    NS_CHECK(d->mean && d->std, NS_ERR_NOMEM, "%s: out of memory", d->info.canonical);
    for (int k = 0; k < c; k++) d->std[k] = 1.0f;
    return NS_OK;
}

static void stats_to_float(ns_dataset *d, const double *mean, const double *std)
{
    for (int k = 0; k < d->info.shape.c; k++) {
        d->mean[k] = (float)mean[k];
        d->std[k] = (float)std[k];
    }
    d->standardized = 1;
}

/* u8 splits -> standardized (and padded) float arrays; labels change owner.
 * d->info.shape is the files' shape on entry and the padded shape on return. */
static ns_status from_u8(ns_dataset *d, ns_u8_split *tr, ns_u8_split *te, int pad)
{
    ns_shape sh = d->info.shape;
    size_t per = ns_shape_size(sh), pper = ns_shape_size(ns_padded_shape(sh, pad));
    d->info.n_train = tr->n;
    d->info.n_test = te->n;
    d->raw_bytes = (tr->n + te->n) * (per + 1);
    d->y_train = tr->labels;
    d->y_test = te->labels;
    tr->labels = te->labels = NULL;
    NS_TRY(alloc_stats(d));
    double *mean = malloc((size_t)sh.c * sizeof *mean), *std = malloc((size_t)sh.c * sizeof *std);
    d->x_train = malloc((tr->n ? tr->n : 1) * pper * sizeof(float));
    d->x_test = malloc((te->n ? te->n : 1) * pper * sizeof(float));
    ns_status st = NS_OK;
    if (!mean || !std || !d->x_train || !d->x_test) {
        st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory for %zu samples", d->info.canonical,
                          tr->n + te->n);
    } else {
        ns_u8_channel_stats(tr->px, tr->n, sh, mean, std);
        stats_to_float(d, mean, std);
        ns_u8_standardize(tr->px, tr->n, sh, d->mean, d->std, pad, d->x_train);
        ns_u8_standardize(te->px, te->n, sh, d->mean, d->std, pad, d->x_test);
        d->info.shape = ns_padded_shape(sh, pad);
    }
    free(mean);
    free(std);
    return st;
}

static ns_status load_files(const ns_data_spec *s, ns_dataset *d)
{
    ns_u8_split tr, te;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    if (s->kind == NS_DATA_IDX)
        NS_TRY(ns_idx_load_splits(s, &tr, &te, &d->info.shape, &d->file_bytes));
    else
        NS_TRY(ns_cifar_load_splits(s, &tr, &te, &d->info.shape, &d->file_bytes));
    d->info.nclasses = 10;
    ns_status st = from_u8(d, &tr, &te, s->pad);
    free(tr.px); free(tr.labels);
    free(te.px); free(te.labels);
    return st;
}

/* Replace *x ([n] samples of shape s) by its padded copy. */
static ns_status pad_split(float **x, size_t n, ns_shape s, int pad, const char *what)
{
    size_t pper = ns_shape_size(ns_padded_shape(s, pad));
    float *p = malloc((n ? n : 1) * pper * sizeof *p);
    NS_CHECK(p, NS_ERR_NOMEM, "%s: out of memory padding %zu samples", what, n);
    ns_pad_images(*x, n, s, pad, p);
    free(*x);
    *x = p;
    return NS_OK;
}

static ns_status load_synth(const ns_data_spec *s, uint64_t seed, ns_dataset *d)
{
    ns_synth_info(s, &d->info);
    d->data_seed = seed;
    NS_TRY(alloc_stats(d));
    if (s->kind == NS_DATA_SYNTH_DLN) return ns_synth_dln(s, seed, d);
    NS_TRY(ns_synth_cls(s, seed, d));
    ns_shape sh = d->info.shape;
    double *mean = malloc((size_t)sh.c * sizeof *mean), *std = malloc((size_t)sh.c * sizeof *std);
    if (!mean || !std) {
        free(mean); free(std);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", s->canonical);
    }
    ns_float_channel_stats(d->x_train, s->n, sh, mean, std);
    stats_to_float(d, mean, std);
    ns_float_standardize(d->x_train, s->n, sh, d->mean, d->std);
    ns_float_standardize(d->x_test, s->test, sh, d->mean, d->std);
    free(mean);
    free(std);
    if (s->pad > 0) {
        NS_TRY(pad_split(&d->x_train, s->n, sh, s->pad, s->canonical));
        NS_TRY(pad_split(&d->x_test, s->test, sh, s->pad, s->canonical));
        d->info.shape = ns_padded_shape(sh, s->pad);
    }
    return NS_OK;
}

static ns_status load_parsed(const ns_data_spec *s, uint64_t data_seed, ns_dataset **out)
{
    *out = NULL;
    ns_dataset *d = calloc(1, sizeof *d);
    NS_CHECK(d, NS_ERR_NOMEM, "%s: out of memory", s->canonical);
    info_init(s, &d->info);
    ns_status st = (s->kind == NS_DATA_IDX || s->kind == NS_DATA_CIFAR10)
                       ? load_files(s, d)
                       : load_synth(s, data_seed, d);
    if (st != NS_OK) {
        ns_dataset_free(d);
        return st;
    }
    *out = d;
    return NS_OK;
}

ns_status ns_dataset_load(const char *spec, uint64_t data_seed, ns_dataset **out)
{
    *out = NULL;
    ns_data_spec s;
    NS_TRY(ns_data_spec_parse(spec, &s));
    return load_parsed(&s, data_seed, out);
}

/* ---------------------------------------------------------------- cache */
typedef struct cache_entry {
    char key[300]; /* canonical, plus "#seed=S" for seeded kinds */
    ns_dataset *d;
    struct cache_entry *next;
} cache_entry;

static cache_entry *cache_head;
static int cache_nloads;

static void cache_key(const ns_data_spec *s, uint64_t data_seed, char key[300])
{
    int seeded = s->kind == NS_DATA_SYNTH_DLN || s->kind == NS_DATA_SYNTH_CLS;
    if (seeded) snprintf(key, 300, "%s#seed=%" PRIu64, s->canonical, data_seed);
    else snprintf(key, 300, "%s", s->canonical);
}

static cache_entry *cache_find(const char *key)
{
    for (cache_entry *e = cache_head; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

ns_status ns_dataset_cache_get(const char *spec, uint64_t data_seed, const ns_dataset **out)
{
    *out = NULL;
    ns_data_spec s;
    NS_TRY(ns_data_spec_parse(spec, &s));
    char key[300];
    cache_key(&s, data_seed, key);
    cache_entry *e = cache_find(key);
    if (e) {
        *out = e->d;
        return NS_OK;
    }
    e = calloc(1, sizeof *e);
    NS_CHECK(e, NS_ERR_NOMEM, "%s: out of memory", s.canonical);
    ns_status st = load_parsed(&s, data_seed, &e->d);
    if (st != NS_OK) {
        free(e);
        return st;
    }
    snprintf(e->key, sizeof e->key, "%s", key);
    e->next = cache_head;
    cache_head = e;
    cache_nloads++;
    *out = e->d;
    return NS_OK;
}

ns_status ns_dataset_cache_adopt(const char *spec, uint64_t data_seed, ns_dataset *d)
{
    ns_data_spec s;
    NS_TRY(ns_data_spec_parse(spec, &s));
    char key[300];
    cache_key(&s, data_seed, key);
    NS_CHECK(!cache_find(key), NS_ERR_ARG, "%s: data set already in the cache", s.canonical);
    cache_entry *e = calloc(1, sizeof *e);
    NS_CHECK(e, NS_ERR_NOMEM, "%s: out of memory", s.canonical);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->d = d;
    e->next = cache_head;
    cache_head = e;
    return NS_OK;
}

void ns_dataset_cache_clear(void)
{
    while (cache_head) {
        cache_entry *e = cache_head;
        cache_head = e->next;
        ns_dataset_free(e->d);
        free(e);
    }
    cache_nloads = 0;
}

int ns_dataset_cache_loads(void) { return cache_nloads; }
