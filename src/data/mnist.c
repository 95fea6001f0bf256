/* mnist.c - the MNIST-family directory layout: four IDX files
 *   train-images-idx3-ubyte  train-labels-idx1-ubyte
 *   t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte
 * each plain or with a .gz suffix (the plain file wins if both exist).
 * MNIST, Fashion-MNIST and KMNIST all ship this layout with 10 classes. */
#include "data/data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MNIST_CLASSES 10

/* 1: path exists; 0: it does not (ENOENT); else an error naming path and the
 * reason (a symlink loop, a permission) - never reported as "missing". */
static int exists(const char *path, ns_status *st)
{
    if (access(path, F_OK) == 0) return 1;
    if (errno != ENOENT) *st = ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return 0;
}

/* Path of DIR/BASE or DIR/BASE.gz, whichever exists. */
static ns_status find_idx(const ns_data_spec *s, const char *base, char *path, size_t cap)
{
    ns_status st = NS_OK;
    snprintf(path, cap, "%s/%s", s->dir, base);
    if (exists(path, &st) || st != NS_OK) return st;
    snprintf(path, cap, "%s/%s.gz", s->dir, base);
    if (exists(path, &st) || st != NS_OK) return st;
    return ns_error_set(NS_ERR_IO, "%s: neither %s/%s nor %s.gz exists", s->name, s->dir, base,
                        base);
}

typedef struct split_paths {
    char images[NS_DATA_PATH_MAX + 48];
    char labels[NS_DATA_PATH_MAX + 48];
} split_paths;

static ns_status find_split(const ns_data_spec *s, const char *prefix, split_paths *p)
{
    char base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    NS_TRY(find_idx(s, base, p->images, sizeof p->images));
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    NS_TRY(find_idx(s, base, p->labels, sizeof p->labels));
    return NS_OK;
}

static ns_status check_counts(const split_paths *p, const ns_idx_header *hi,
                              const ns_idx_header *hl)
{
    NS_CHECK(hi->dims[0] == hl->dims[0], NS_ERR_FORMAT,
             "%s has %u labels (byte offset 4) but %s has %u images: counts must match",
             p->labels, hl->dims[0], p->images, hi->dims[0]);
    return NS_OK;
}

/* Both splits must have the same image size. */
static ns_status check_shape(const split_paths *p, const ns_idx_header *h, ns_shape want)
{
    NS_CHECK((int)h->dims[1] == want.h && (int)h->dims[2] == want.w, NS_ERR_FORMAT,
             "%s: images are %ux%u (byte offset 8) but the train split's are %dx%d", p->images,
             h->dims[1], h->dims[2], want.h, want.w);
    return NS_OK;
}

ns_status ns_idx_info(const ns_data_spec *s, ns_dataset_info *info)
{
    static const char *prefix[2] = {"train", "t10k"};
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        split_paths p;
        ns_idx_header hi, hl;
        NS_TRY(find_split(s, prefix[k], &p));
        NS_TRY(ns_idx_read_header(p.images, 3, &hi));
        NS_TRY(ns_idx_read_header(p.labels, 1, &hl));
        NS_TRY(check_counts(&p, &hi, &hl));
        if (k == 0) info->shape = (ns_shape){1, (int)hi.dims[1], (int)hi.dims[2]};
        else NS_TRY(check_shape(&p, &hi, info->shape));
        n[k] = hi.dims[0];
    }
    info->n_train = n[0];
    info->n_test = n[1];
    info->nclasses = MNIST_CLASSES;
    info->target_dim = 0;
    return NS_OK;
}

static ns_status load_split(const ns_data_spec *s, const char *prefix, ns_shape *shape,
                            ns_u8_split *out, size_t *file_bytes)
{
    split_paths p;
    ns_idx_header hi, hl;
    uint8_t *lab = NULL;
    size_t fb_i = 0, fb_l = 0;
    NS_TRY(find_split(s, prefix, &p));
    /* Labels first: small, and a count mismatch is then found before the big read. */
    NS_TRY(ns_idx_read(p.labels, 1, &hl, &lab, &fb_l));
    ns_status st = ns_idx_read_header(p.images, 3, &hi);
    if (st == NS_OK) st = check_counts(&p, &hi, &hl);
    if (st == NS_OK && shape->c) st = check_shape(&p, &hi, *shape);
    for (size_t i = 0; st == NS_OK && i < hl.count; i++)
        if (lab[i] >= MNIST_CLASSES)
            st = ns_error_set(NS_ERR_FORMAT,
                              "%s: label %u of sample %zu (byte offset %zu) is out of range "
                              "0..%d",
                              p.labels, lab[i], i, (size_t)NS_IDX_HEADER_BYTES(1) + i,
                              MNIST_CLASSES - 1);
    if (st == NS_OK) {
        out->n = hl.count;
        out->labels = malloc(out->n * sizeof *out->labels);
        if (!out->labels) st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory", p.labels);
    }
    if (st == NS_OK) {
        for (size_t i = 0; i < out->n; i++) out->labels[i] = lab[i];
        st = ns_idx_read(p.images, 3, &hi, &out->px, &fb_i);
    }
    /* The images file is read twice (header, then whole): check it did not change. */
    if (st == NS_OK) st = check_counts(&p, &hi, &hl);
    free(lab);
    if (st != NS_OK) {
        free(out->labels);
        free(out->px);
        memset(out, 0, sizeof *out);
        return st;
    }
    if (!shape->c) *shape = (ns_shape){1, (int)hi.dims[1], (int)hi.dims[2]};
    *file_bytes += fb_i + fb_l;
    return NS_OK;
}

ns_status ns_idx_load_splits(const ns_data_spec *s, ns_u8_split *train, ns_u8_split *test,
                             ns_shape *shape, size_t *file_bytes)
{
    *shape = (ns_shape){0, 0, 0};
    NS_TRY(load_split(s, "train", shape, train, file_bytes));
    ns_status st = load_split(s, "t10k", shape, test, file_bytes);
    if (st != NS_OK) {
        free(train->px);
        free(train->labels);
        memset(train, 0, sizeof *train);
    }
    return st;
}
