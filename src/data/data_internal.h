/* data_internal.h - pieces of the data module shared by its files and tests,
 * not part of the public API (include/normsweep/data.h). */
#ifndef NS_DATA_INTERNAL_H
#define NS_DATA_INTERNAL_H

#include "normsweep/data.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- spec.c */
typedef enum ns_data_kind {
    NS_DATA_IDX = 0,   /* fashion-mnist, mnist, kmnist */
    NS_DATA_CIFAR10,
    NS_DATA_SYNTH_DLN,
    NS_DATA_SYNTH_CLS
} ns_data_kind;

#define NS_DATA_PATH_MAX 200 /* leaves room in canonical[256] for the name */

typedef struct ns_data_spec {
    ns_data_kind kind;
    char name[24];               /* "fashion-mnist", "cifar10", ...          */
    char dir[NS_DATA_PATH_MAX];  /* absolute, resolved (file kinds)          */
    size_t n, test;              /* synthetic: train / test sample counts    */
    int d;                       /* synthetic-dln: dimension                 */
    int c, h, w, classes;        /* synthetic-cls                            */
    double noise;                /* synthetic-cls: noise std around prototypes */
    int pad;                     /* image sets: zero pixels added per side after
                                    standardization (0: none)                  */
    char canonical[256];
} ns_data_spec;

/* Largest `pad` (per side) a spec may ask for. */
#define NS_DATA_PAD_MAX 256

/* Parse a spec string; directories must exist (resolved with realpath). */
ns_status ns_data_spec_parse(const char *spec, ns_data_spec *out);

/* The Debian package's directory, default of the bare name "fashion-mnist". */
#define NS_FASHION_MNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* ---------------------------------------------------------------- idx.c */
/* IDX: magic 0x00 0x00 TYPE NDIM, NDIM big-endian u32 sizes, payload. Only
 * TYPE 0x08 (unsigned byte) is used by the MNIST family. */
typedef struct ns_idx_header {
    int ndim;
    uint32_t dims[3];
    size_t count;      /* product of dims = payload bytes */
} ns_idx_header;

#define NS_IDX_HEADER_BYTES(ndim) (4u + 4u * (unsigned)(ndim))
/* Refuse headers announcing more than this many payload bytes (a corrupt
 * header must not make us allocate gigabytes - x4 again as float - per rank).
 * 1 GiB: twice the largest MNIST-family file (EMNIST ByClass, 0.55 GB).
 * Stated in docs/data.md. */
#define NS_IDX_MAX_BYTES ((size_t)1 << 30)

/* Header only (gzip inflated just past it). want_ndim: 1 labels, 3 images. */
ns_status ns_idx_read_header(const char *path, int want_ndim, ns_idx_header *h);
/* Whole file: header + payload into a fresh malloc'd buffer (*data, count
 * bytes). Plain or gzip (detected by content). *file_bytes: size on disk. */
ns_status ns_idx_read(const char *path, int want_ndim, ns_idx_header *h, uint8_t **data,
                      size_t *file_bytes);

/* ---------------------------------------------------------------- cifar.c */
#define NS_CIFAR_RECORD 3073 /* 1 label byte + 3 x 32 x 32 pixel bytes */
#define NS_CIFAR_TRAIN_FILES 5
/* Number of records of one CIFAR-10 binary file, from its size. */
ns_status ns_cifar_count(const char *path, size_t *n);
/* Read exactly n records into pixels[n][3072] (CHW) and labels[n]. */
ns_status ns_cifar_read(const char *path, size_t n, uint8_t *pixels, int32_t *labels);

/* ---------------------------------------------------------------- u8 splits */
/* Decoded u8 samples of one split, before conversion to float. */
typedef struct ns_u8_split {
    size_t n;
    uint8_t *px;     /* [n][c*h*w] */
    int32_t *labels; /* [n]        */
} ns_u8_split;

/* Loaders of the file kinds fill both splits (zeroed by the caller) and the
 * sample shape; they own nothing afterwards and free both splits on failure.
 * *file_bytes is increased by the sizes on disk. */
ns_status ns_idx_load_splits(const ns_data_spec *s, ns_u8_split *train, ns_u8_split *test,
                             ns_shape *shape, size_t *file_bytes);
ns_status ns_cifar_load_splits(const ns_data_spec *s, ns_u8_split *train, ns_u8_split *test,
                               ns_shape *shape, size_t *file_bytes);
ns_status ns_idx_info(const ns_data_spec *s, ns_dataset_info *info);
ns_status ns_cifar_info(const ns_data_spec *s, ns_dataset_info *info);

/* ---------------------------------------------------------------- standardize.c */
/* Per-channel mean and population std of u/255 over n samples of shape s
 * (exact: from a 256-bin histogram per channel, summed in double). */
void ns_u8_channel_stats(const uint8_t *px, size_t n, ns_shape s, double *mean, double *std);
/* out = (u/255 - mean_c) / std_c, one pass. px is [n][c][h][w]; out is
 * [n][c][h+2*pad][w+2*pad] with the image in the middle and 0 (the channel mean
 * after standardization) in the pad-pixel border. */
void ns_u8_standardize(const uint8_t *px, size_t n, ns_shape s, const float *mean,
                       const float *std, int pad, float *out);
/* The shape of a sample after `pad` pixels are added on each side. */
ns_shape ns_padded_shape(ns_shape s, int pad);
/* Copy x[n][c][h][w] into out[n][c][h+2*pad][w+2*pad], zeros in the border. */
void ns_pad_images(const float *x, size_t n, ns_shape s, int pad, float *out);
/* Per-channel mean/population std of float data, then x = (x - mean)/std in place
 * on every array given (train stats applied to train and test). */
void ns_float_channel_stats(const float *x, size_t n, ns_shape s, double *mean, double *std);
void ns_float_standardize(float *x, size_t n, ns_shape s, const float *mean, const float *std);
/* A channel whose std is below this is left unscaled (std recorded as 1). */
#define NS_STD_FLOOR 1e-8

/* ---------------------------------------------------------------- synth.c */
/* Fill d->x_*, y_* / t_* and info for a synthetic spec (no standardization). */
ns_status ns_synth_dln(const ns_data_spec *s, uint64_t seed, ns_dataset *d);
ns_status ns_synth_cls(const ns_data_spec *s, uint64_t seed, ns_dataset *d);
void ns_synth_info(const ns_data_spec *s, ns_dataset_info *info);

#endif
