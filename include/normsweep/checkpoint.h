/* checkpoint.h - per-run checkpoint sidecars and atomic small files.
 *
 * A checkpoint is one file of named binary parts ("params", "momentum",
 * "state", "meta", ...), written atomically: the bytes go to <path>.tmp, are
 * fsync'ed, renamed over <path>, and the directory is fsync'ed. A crash at any
 * moment leaves either the old checkpoint or the new one, never a mix; a
 * leftover <path>.tmp is ignored by readers and overwritten by the next write.
 *
 * File format (little-endian; docs/hdf5-store.md has the table):
 *   [0,8)   magic "NSWPCKPT"          [8,12)  version (1)
 *   [12,16) number of parts n         [16,24) total file size in bytes
 *   [24,28) CRC32 of all header+table bytes except these 4   [28,32) zero
 *   [32, 32+64n) part table: name[40] (NUL-padded), u64 offset, u64 size,
 *                u32 CRC32 of the part's bytes, u32 zero
 *   then the parts' bytes in table order, each at the next multiple of 8
 *   (zero padding), the last one ending the file. Every byte is checked.
 * Any mismatch on reading is NS_ERR_FORMAT naming the file and byte offset.
 */
#ifndef NORMSWEEP_CHECKPOINT_H
#define NORMSWEEP_CHECKPOINT_H

#include "normsweep/error.h"

#include <stddef.h>

#define NS_CKPT_MAX_NAME 39     /* bytes in a part name */
#define NS_CKPT_MAX_PARTS 4096  /* a header claiming more is corrupt */

typedef struct ns_ckpt_part {
    const char *name;  /* 1..NS_CKPT_MAX_NAME bytes, unique within a file */
    const void *data;  /* may be NULL when size == 0 */
    size_t size;       /* bytes */
} ns_ckpt_part;

/* Write parts to path atomically (see above). NS_ERR_ARG for a bad name or
 * duplicate; NS_ERR_IO (naming the file and errno text) if anything fails, in
 * which case an existing checkpoint at path is left untouched. */
ns_status ns_ckpt_write(const char *path, const ns_ckpt_part *parts, int nparts);

/* A checkpoint read into memory and fully verified (magic, version, sizes,
 * header and per-part CRC32). */
typedef struct ns_ckpt ns_ckpt;

/* Missing file -> NS_ERR_IO (callers treat it as "start from step 0");
 * anything malformed -> NS_ERR_FORMAT "path: ... at byte N ...". */
ns_status ns_ckpt_read(const char *path, ns_ckpt **out);
int ns_ckpt_nparts(const ns_ckpt *c);
const char *ns_ckpt_part_name(const ns_ckpt *c, int i);
/* Borrow a part's bytes (8-byte aligned, valid until ns_ckpt_free).
 * A missing part is NS_ERR_FORMAT naming the file and the part. */
ns_status ns_ckpt_get(const ns_ckpt *c, const char *name, const void **data, size_t *size);
/* Copy a part into dst, which must be exactly `size` bytes (a different
 * stored size is NS_ERR_FORMAT: the checkpoint belongs to another model). */
ns_status ns_ckpt_get_into(const ns_ckpt *c, const char *name, void *dst, size_t size);
void ns_ckpt_free(ns_ckpt *c);

/* Replace path's content with text atomically (tmp + fsync + rename + dir
 * fsync): progress sidecars that a monitor may read at any moment. */
ns_status ns_write_file_atomic(const char *path, const char *text);

#endif
