/* data.h - data sets: IDX (MNIST family, plain or gzip), CIFAR-10 binary,
 * synthetic sets; standardization; a per-rank cache; deterministic batches.
 *
 * A data set is named by a spec string (docs/data.md):
 *   fashion-mnist                 Debian's dataset-fashion-mnist files
 *   fashion-mnist:DIR  mnist:DIR  kmnist:DIR    IDX files in DIR
 *   cifar10:DIR                   data_batch_{1..5}.bin + test_batch.bin in DIR
 *   synthetic-dln:n=1000,d=10,test=0
 *   synthetic-cls:n=512,test=128,c=3,h=8,w=8,classes=4,noise=1
 * Every spec has one canonical spelling (absolute directory, all keys with
 * their values in a fixed order); the cache and the output metadata use it.
 *
 * Pixel data (IDX, CIFAR, synthetic-cls) is standardized per channel with the
 * mean and standard deviation of the TRAIN split, in [0,1] pixel units for
 * u8 sources: x = (u/255 - mean_c) / std_c. synthetic-dln is not standardized.
 */
#ifndef NORMSWEEP_DATA_H
#define NORMSWEEP_DATA_H

#include "normsweep/error.h"
#include "normsweep/layer.h" /* ns_shape */

#include <stddef.h>
#include <stdint.h>

/* Cheap description of a data set: directory checks and file headers only,
 * no pixel decode (gzip headers are inflated just far enough to read them). */
typedef struct ns_dataset_info {
    char canonical[256]; /* e.g. "fashion-mnist:/usr/share/datasets/fashion-mnist" */
    char kind[16];       /* "idx", "cifar10", "synthetic-dln", "synthetic-cls"      */
    ns_shape shape;      /* per-sample input shape (c,h,w): 1x28x28, 3x32x32, 10x1x1 */
    int nclasses;        /* >0 classification (int labels); 0 regression           */
    int target_dim;      /* regression target size (DLN: d); 0 for classification  */
    size_t n_train, n_test;
    int seeded;          /* 1 if the content depends on data_seed (synthetic sets)  */
} ns_dataset_info;

ns_status ns_dataset_info_get(const char *spec, ns_dataset_info *out);
/* Before a file data set (fashion-mnist, mnist, kmnist, cifar10) is
 * downloaded: its published shape and split sizes, from its name alone, when
 * its files are not there (its directory, or the first file of its training
 * split, does not exist) - what `normsweep plan` estimates costs with.
 * canonical is the spec as given. NS_ERR_IO if the files are there (a FIFO
 * or a damaged file is there: read it, and refuse it, with
 * ns_dataset_info_get); NS_ERR_ARG for kinds without a published size. */
ns_status ns_dataset_info_published(const char *spec, ns_dataset_info *out);

typedef struct ns_dataset {
    ns_dataset_info info;
    float *x_train, *x_test;   /* [n][c*h*w], standardized (classification)      */
    int32_t *y_train, *y_test; /* labels in [0, nclasses), or NULL for regression */
    float *t_train, *t_test;   /* regression targets [n][target_dim], or NULL    */
    float *mean, *std;         /* per-channel stats of the train split, [c]; for
                                  unstandardized sets mean = 0, std = 1          */
    int standardized;          /* 1 if x = (raw - mean) / std was applied        */
    uint64_t data_seed;        /* seed used (0 and unused unless info.seeded)    */
    size_t file_bytes;         /* bytes read from disk (compressed size for .gz) */
    size_t raw_bytes;          /* decoded payload bytes (u8 pixels + labels)     */
    const void *storage;       /* NULL: the arrays are this data set's own (malloc);
                                  else they live in this caller-owned buffer
                                  (ns_dataset_view) and are read-only            */
} ns_dataset;

/* Parse, read, validate and standardize. Synthetic sets use data_seed.
 * On failure *out is NULL and the error message names the file, what was
 * wrong and the byte offset where it applies. */
ns_status ns_dataset_load(const char *spec, uint64_t data_seed, ns_dataset **out);
void ns_dataset_free(ns_dataset *d);
/* Bytes of the arrays a loaded data set holds (one copy per rank). */
size_t ns_dataset_memory(const ns_dataset *d);

/* Per-rank cache keyed by (canonical spec, data_seed if seeded): returns a
 * shared read-only data set, loading it on first use. Not thread-safe (one
 * run at a time per rank). Pointers stay valid until ns_dataset_cache_clear. */
ns_status ns_dataset_cache_get(const char *spec, uint64_t data_seed, const ns_dataset **out);
void ns_dataset_cache_clear(void);
/* Number of loads the cache performed since the last clear (for tests and logs). */
int ns_dataset_cache_loads(void);
/* Put a data set built elsewhere (a view of node-shared memory) in the cache
 * under (spec, data_seed); the cache owns d from then on (NS_ERR_ARG, d not
 * taken, if the key is there already). Not counted as a load. */
ns_status ns_dataset_cache_adopt(const char *spec, uint64_t data_seed, ns_dataset *d);

/* One buffer holding a loaded data set (src/data/shared.c), for sharing one
 * copy between the ranks of a node (src/coord/shared_data.c puts the buffer in
 * MPI shared memory). pack copies every array byte for byte; a view's arrays
 * point into the buffer (storage = buf), so it must outlive the view;
 * ns_dataset_free frees the view, not the buffer. */
size_t ns_dataset_pack_size(const ns_dataset *d);
void ns_dataset_pack(const ns_dataset *d, void *buf);
ns_status ns_dataset_view(const void *buf, size_t bytes, ns_dataset **out);

/* Training-time augmentation, off when zero / when the pointer is NULL.
 * Same order as torchvision's RandomCrop(padding) then RandomHorizontalFlip. */
typedef struct ns_augment {
    int crop_pad; /* random crop of the original size from the image padded by
                     crop_pad pixels of raw value 0 (black) on each side      */
    int hflip;    /* 1: mirror left-right with probability 1/2               */
} ns_augment;

/* The batch of training step t is a PURE FUNCTION of (run seed, t, batch size,
 * augmentation settings): sample k = t*B + i (i < B) is element (k mod N) of
 * the permutation of epoch k / N, drawn by ns_rng_shuffle on the identity with
 * rng stream NS_STREAM(NS_STREAM_DATA, epoch) and the run seed. So resume
 * needs no data-order state and results do not depend on rank. Augmentation
 * draws for sample k come from one Philox block: stream
 * NS_STREAM(NS_STREAM_DATA, NS_DATA_AUG_SUB), counter k. */
#define NS_DATA_AUG_SUB 0xFFFFFFFFu /* reserved: epochs stay below it */

typedef struct ns_batcher ns_batcher; /* owns its permutation cache and nothing else */
ns_status ns_batcher_create(const ns_dataset *d, uint64_t run_seed, int batch,
                            const ns_augment *aug, ns_batcher **out);
/* Fill x[B][c*h*w] and labels y[B] (or targets t[B][target_dim]) for step t.
 * y or t may be NULL to skip them. No allocation. */
void ns_batcher_fill(ns_batcher *b, int64_t step, float *x, int32_t *y, float *t);
void ns_batcher_free(ns_batcher *b);

/* Index into the train split of sample k (k = step*B + i): the permutation
 * lookup ns_batcher_fill uses, exposed for probes that need the same order. */
uint32_t ns_batcher_index(ns_batcher *b, int64_t k);

#endif
