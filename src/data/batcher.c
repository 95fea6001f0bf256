/* batcher.c - the batch of a training step as a pure function of
 * (run seed, step, batch size, augmentation settings); see data.h.
 *
 * Sample k = step*B + i is element k mod N of epoch k / N's permutation.
 * Permutations are regenerated on demand (one Fisher-Yates shuffle of N
 * indices, ~1 ms for 60k) and the two most recent are kept, so a batch that
 * straddles an epoch boundary costs no extra shuffles. */
#include "data/data_internal.h"

#include "normsweep/rng.h"

#include <stdlib.h>
#include <string.h>

struct ns_batcher {
    const ns_dataset *d;
    uint64_t seed;
    int batch;
    ns_augment aug;     /* zeroed when off */
    size_t n, per;      /* train samples, values per sample */
    uint32_t *perm[2];  /* two cached epoch permutations    */
    int64_t epoch[2];   /* which epochs they are (-1: none) */
    int last;           /* slot used most recently          */
    float pad[];        /* [c] value of a raw-0 (black) pixel after standardization */
};

ns_status ns_batcher_create(const ns_dataset *d, uint64_t run_seed, int batch,
                            const ns_augment *aug, ns_batcher **out)
{
    *out = NULL;
    const ns_dataset_info *in = &d->info;
    NS_CHECK(batch >= 1, NS_ERR_ARG, "%s: batch size %d must be at least 1", in->canonical, batch);
    NS_CHECK(in->n_train >= 1 && in->n_train < NS_DATA_AUG_SUB, NS_ERR_ARG,
             "%s: %zu training samples: need 1 .. %u", in->canonical, in->n_train,
             NS_DATA_AUG_SUB - 1);
    ns_augment a = {0, 0};
    if (aug) a = *aug;
    if (a.crop_pad || a.hflip) {
        NS_CHECK(in->nclasses > 0 && in->shape.h > 1 && in->shape.w > 1, NS_ERR_ARG,
                 "%s: augmentation (crop/flip) applies to image classification data only",
                 in->canonical);
        NS_CHECK(a.crop_pad >= 0 && a.crop_pad <= in->shape.h && a.crop_pad <= in->shape.w,
                 NS_ERR_ARG, "%s: crop padding %d must be in 0..%d", in->canonical, a.crop_pad,
                 in->shape.h < in->shape.w ? in->shape.h : in->shape.w);
        NS_CHECK(a.hflip == 0 || a.hflip == 1, NS_ERR_ARG, "%s: hflip must be 0 or 1, not %d",
                 in->canonical, a.hflip);
    }
    int c = in->shape.c;
    ns_batcher *b = calloc(1, sizeof *b + (size_t)c * sizeof(float));
    NS_CHECK(b, NS_ERR_NOMEM, "batcher: out of memory");
    b->d = d;
    b->seed = run_seed;
    b->batch = batch;
    b->aug = a;
    b->n = in->n_train;
    b->per = ns_shape_size(in->shape);
    for (int s = 0; s < 2; s++) {
        b->perm[s] = malloc(b->n * sizeof(uint32_t));
        b->epoch[s] = -1;
    }
    if (!b->perm[0] || !b->perm[1]) {
        ns_batcher_free(b);
        return ns_error_set(NS_ERR_NOMEM, "batcher: out of memory for %zu indices", in->n_train);
    }
    for (int k = 0; k < c; k++) b->pad[k] = d->standardized ? -d->mean[k] / d->std[k] : 0.0f;
    *out = b;
    return NS_OK;
}

void ns_batcher_free(ns_batcher *b)
{
    if (!b) return;
    free(b->perm[0]);
    free(b->perm[1]);
    free(b);
}

static const uint32_t *epoch_perm(ns_batcher *b, int64_t epoch)
{
    for (int s = 0; s < 2; s++)
        if (b->epoch[s] == epoch) {
            b->last = s;
            return b->perm[s];
        }
    NS_ASSERT(epoch >= 0 && epoch < (int64_t)NS_DATA_AUG_SUB);
    int s = 1 - b->last;
    uint32_t *p = b->perm[s];
    for (size_t i = 0; i < b->n; i++) p[i] = (uint32_t)i;
    ns_rng r;
    ns_rng_init(&r, b->seed, NS_STREAM(NS_STREAM_DATA, (uint32_t)epoch));
    ns_rng_shuffle(&r, p, (uint32_t)b->n);
    b->epoch[s] = epoch;
    b->last = s;
    return p;
}

uint32_t ns_batcher_index(ns_batcher *b, int64_t k)
{
    NS_ASSERT(k >= 0);
    return epoch_perm(b, k / (int64_t)b->n)[k % (int64_t)b->n];
}

/* Draws of sample k: one Philox block, counter k of the augmentation stream.
 * A value in [0, m) is (word * m) >> 32 (bias below m / 2^32). */
static void aug_draws(const ns_batcher *b, int64_t k, int *dy, int *dx, int *flip)
{
    ns_rng r;
    ns_rng_init(&r, b->seed, NS_STREAM(NS_STREAM_DATA, NS_DATA_AUG_SUB));
    ns_rng_seek(&r, (ns_rng_pos){(uint64_t)k, 4});
    uint64_t m = 2 * (uint64_t)b->aug.crop_pad + 1;
    *dy = (int)(((uint64_t)ns_rng_u32(&r) * m) >> 32);
    *dx = (int)(((uint64_t)ns_rng_u32(&r) * m) >> 32);
    *flip = b->aug.hflip && (ns_rng_u32(&r) >> 31);
}

/* out[c][y][x] = crop(y, flip ? w-1-x : x), crop(y', x') = padded(y'+dy, x'+dx)
 * where padded has crop_pad pixels of b->pad[c] around the image. */
static void augment_copy(const ns_batcher *b, const float *src, float *out, int64_t k)
{
    ns_shape s = b->d->info.shape;
    int p = b->aug.crop_pad, dy, dx, flip;
    aug_draws(b, k, &dy, &dx, &flip);
    for (int c = 0; c < s.c; c++) {
        const float *sc = src + (size_t)c * s.h * s.w;
        float *oc = out + (size_t)c * s.h * s.w;
        for (int y = 0; y < s.h; y++) {
            int sy = y + dy - p;
            for (int x = 0; x < s.w; x++) {
                int sx = (flip ? s.w - 1 - x : x) + dx - p;
                int inside = sy >= 0 && sy < s.h && sx >= 0 && sx < s.w;
                oc[y * s.w + x] = inside ? sc[sy * s.w + sx] : b->pad[c];
            }
        }
    }
}

void ns_batcher_fill(ns_batcher *b, int64_t step, float *x, int32_t *y, float *t)
{
    NS_ASSERT(step >= 0 && step <= INT64_MAX / b->batch);
    const ns_dataset *d = b->d;
    int td = d->info.target_dim;
    int augment = b->aug.crop_pad || b->aug.hflip;
    for (int i = 0; i < b->batch; i++) {
        int64_t k = step * b->batch + i;
        uint32_t j = ns_batcher_index(b, k);
        const float *src = d->x_train + (size_t)j * b->per;
        float *dst = x + (size_t)i * b->per;
        if (augment) augment_copy(b, src, dst, k);
        else memcpy(dst, src, b->per * sizeof(float));
        if (y && d->y_train) y[i] = d->y_train[j];
        if (t && d->t_train) memcpy(t + (size_t)i * td, d->t_train + (size_t)j * td, (size_t)td * sizeof(float));
    }
}
