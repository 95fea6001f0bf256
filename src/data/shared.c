/* shared.c - a loaded data set packed into one caller-provided buffer, and a
 * read-only view of such a buffer. No MPI here: src/coord/shared_data.c puts
 * the buffer in node-shared memory (one copy per node), this file only knows
 * the layout.
 *
 * Layout: a header (magic, sizes, the dataset's scalar fields, the offset and
 * byte length of each array), then the arrays at 64-byte aligned offsets in a
 * fixed order. The bytes of every array are copied unchanged, so a view gives
 * bitwise the same batches as the data set it was packed from. All ranks of a
 * job run the same binary: the header is a plain struct. */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

#define NS_PACK_MAGIC "NSDATA1"
#define NS_PACK_ALIGN 64
#define NS_PACK_NONE ((uint64_t)-1) /* offset of an array that is NULL */

enum { A_X_TRAIN, A_X_TEST, A_Y_TRAIN, A_Y_TEST, A_T_TRAIN, A_T_TEST, A_MEAN, A_STD, A_COUNT };

typedef struct pack_header {
    char magic[8];
    uint64_t total;                  /* bytes of the whole buffer           */
    ns_dataset_info info;
    int standardized;
    uint64_t data_seed, file_bytes, raw_bytes;
    uint64_t off[A_COUNT], len[A_COUNT];
} pack_header;

static uint64_t align_up(uint64_t x) { return (x + NS_PACK_ALIGN - 1) / NS_PACK_ALIGN * NS_PACK_ALIGN; }

/* The arrays of d in layout order, with their byte lengths (from info, as
 * ns_dataset_memory counts them). */
static void arrays(const ns_dataset *d, const void *ptr[A_COUNT], uint64_t len[A_COUNT])
{
    const ns_dataset_info *i = &d->info;
    uint64_t per = ns_shape_size(i->shape), td = (uint64_t)i->target_dim, c = (uint64_t)i->shape.c;
    const void *p[A_COUNT] = {d->x_train, d->x_test, d->y_train, d->y_test,
                              d->t_train, d->t_test, d->mean,    d->std};
    uint64_t l[A_COUNT] = {i->n_train * per * sizeof(float), i->n_test * per * sizeof(float),
                           i->n_train * sizeof(int32_t),     i->n_test * sizeof(int32_t),
                           i->n_train * td * sizeof(float),  i->n_test * td * sizeof(float),
                           c * sizeof(float),                c * sizeof(float)};
    for (int k = 0; k < A_COUNT; k++) {
        ptr[k] = p[k];
        len[k] = p[k] ? l[k] : 0;
    }
}

/* Offsets of the arrays after the header; returns the total size. */
static uint64_t layout(const uint64_t len[A_COUNT], const void *const ptr[A_COUNT],
                       uint64_t off[A_COUNT])
{
    uint64_t at = align_up(sizeof(pack_header));
    for (int k = 0; k < A_COUNT; k++) {
        if (!ptr[k]) {
            off[k] = NS_PACK_NONE;
            continue;
        }
        off[k] = at;
        at = align_up(at + len[k]);
    }
    return at;
}

size_t ns_dataset_pack_size(const ns_dataset *d)
{
    const void *ptr[A_COUNT];
    uint64_t len[A_COUNT], off[A_COUNT];
    arrays(d, ptr, len);
    return (size_t)layout(len, ptr, off);
}

void ns_dataset_pack(const ns_dataset *d, void *buf)
{
    const void *ptr[A_COUNT];
    pack_header h;
    memset(&h, 0, sizeof h);
    arrays(d, ptr, h.len);
    h.total = layout(h.len, ptr, h.off);
    memcpy(h.magic, NS_PACK_MAGIC, sizeof h.magic);
    h.info = d->info;
    h.standardized = d->standardized;
    h.data_seed = d->data_seed;
    h.file_bytes = d->file_bytes;
    h.raw_bytes = d->raw_bytes;
    memcpy(buf, &h, sizeof h);
    for (int k = 0; k < A_COUNT; k++)
        if (ptr[k] && h.len[k]) memcpy((char *)buf + h.off[k], ptr[k], h.len[k]);
}

ns_status ns_dataset_view(const void *buf, size_t bytes, ns_dataset **out)
{
    *out = NULL;
    pack_header h;
    NS_CHECK(buf && bytes >= sizeof h, NS_ERR_FORMAT,
             "shared data set: buffer of %zu bytes, smaller than its header", bytes);
    memcpy(&h, buf, sizeof h);
    NS_CHECK(memcmp(h.magic, NS_PACK_MAGIC, sizeof h.magic) == 0 && h.total == bytes, NS_ERR_FORMAT,
             "shared data set: not a packed data set (magic or size %llu != %zu)",
             (unsigned long long)h.total, bytes);
    for (int k = 0; k < A_COUNT; k++)
        NS_CHECK(h.off[k] == NS_PACK_NONE || (h.off[k] <= bytes && h.len[k] <= bytes - h.off[k]),
                 NS_ERR_FORMAT, "shared data set: array %d outside the buffer", k);
    ns_dataset *d = calloc(1, sizeof *d);
    NS_CHECK(d, NS_ERR_NOMEM, "shared data set: out of memory");
    void *a[A_COUNT];
    for (int k = 0; k < A_COUNT; k++)
        a[k] = h.off[k] == NS_PACK_NONE ? NULL : (char *)buf + h.off[k]; /* read-only use */
    d->info = h.info;
    d->x_train = a[A_X_TRAIN];
    d->x_test = a[A_X_TEST];
    d->y_train = a[A_Y_TRAIN];
    d->y_test = a[A_Y_TEST];
    d->t_train = a[A_T_TRAIN];
    d->t_test = a[A_T_TEST];
    d->mean = a[A_MEAN];
    d->std = a[A_STD];
    d->standardized = h.standardized;
    d->data_seed = h.data_seed;
    d->file_bytes = (size_t)h.file_bytes;
    d->raw_bytes = (size_t)h.raw_bytes;
    d->storage = buf;
    *out = d;
    return NS_OK;
}
