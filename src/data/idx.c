/* idx.c - IDX files (MNIST, Fashion-MNIST, KMNIST), plain or gzip.
 *
 * zlib's gz* functions read both: a file that does not start with the gzip
 * magic is passed through unchanged ("transparent" mode). Offsets in error
 * messages are positions in the decoded IDX byte stream (for a .gz file also
 * the compressed position zlib had reached). The payload is inflated straight
 * into its final buffer in large chunks: no intermediate copies. */
#include "data/data_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_GZ_BUFFER (1u << 18) /* zlib input buffer: fewer read() calls */
#define IDX_CHUNK (1u << 30)     /* gzread takes an unsigned int length   */
/* deflate's largest expansion: one 258-byte match per ~2 bits of input gives
 * at most 1032 decoded bytes per compressed byte. A gzip file of M bytes
 * therefore decodes to at most 1032*M; a header announcing more is a lie the
 * stream cannot back, and is refused before anything is allocated. */
#define IDX_GZ_MAX_RATIO 1032u

typedef struct idx_file {
    const char *path;
    gzFile gz;
    size_t pos;        /* decoded bytes consumed so far */
    size_t disk_bytes; /* size on disk                  */
} idx_file;

static ns_status idx_open(idx_file *f, const char *path)
{
    f->path = path;
    f->pos = 0;
    f->gz = NULL;
    /* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer -
     * forever; it is refused as "not a regular file" instead. Cleared below:
     * regular files ignore it, zlib should not see it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        close(fd);
        return ns_error_set(NS_ERR_IO, "%s: not a regular file", path);
    }
    f->disk_bytes = (size_t)st.st_size;
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return ns_error_set(NS_ERR_NOMEM, "%s: zlib could not open the stream", path);
    }
    gzbuffer(f->gz, IDX_GZ_BUFFER);
    return NS_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz) gzclose_r(f->gz);
    f->gz = NULL;
}

/* A short read: tell a corrupt gzip stream from a file that just ends. zlib
 * inflates ahead of the reader, so for a corrupt stream the decoded offset is
 * where the reader was when zlib noticed ("near"), the compressed one exact. */
static ns_status idx_short_read(idx_file *f, size_t want, size_t got, const char *what)
{
    int err = Z_OK;
    const char *zmsg = gzerror(f->gz, &err);
    if (strncmp(zmsg, "<fd:", 4) == 0 && strstr(zmsg, ": ")) zmsg = strstr(zmsg, ": ") + 2;
    if (err == Z_DATA_ERROR || err == Z_STREAM_ERROR || err == Z_MEM_ERROR || err == Z_ERRNO)
        return ns_error_set(NS_ERR_FORMAT,
                            "%s: corrupt gzip stream near decoded byte offset %zu (compressed "
                            "byte offset %ld): %s",
                            f->path, f->pos + got, (long)gzoffset(f->gz),
                            err == Z_ERRNO ? strerror(errno) : zmsg);
    char span[64] = "";
    if (want) snprintf(span, sizeof span, " (%zu bytes from byte offset %zu)", want, f->pos);
    return ns_error_set(NS_ERR_FORMAT, "%s: truncated: %s ends at %sbyte offset %zu, expected %s%s",
                        f->path, gzdirect(f->gz) ? "the file" : "the gzip stream",
                        gzdirect(f->gz) ? "" : "decoded ", f->pos + got, what, span);
}

static ns_status idx_read_exact(idx_file *f, void *buf, size_t n, const char *what)
{
    size_t done = 0;
    while (done < n) {
        size_t left = n - done;
        unsigned chunk = left > IDX_CHUNK ? IDX_CHUNK : (unsigned)left;
        int r = gzread(f->gz, (uint8_t *)buf + done, chunk);
        if (r <= 0) return idx_short_read(f, n, done, what);
        done += (size_t)r;
    }
    f->pos += n;
    return NS_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static ns_status idx_header(idx_file *f, int want_ndim, ns_idx_header *h)
{
    uint8_t b[16];
    NS_TRY(idx_read_exact(f, b, 4, "the 4-byte magic number"));
    uint32_t magic = be32(b);
    uint32_t want = 0x0800u | (uint32_t)want_ndim;
    if (magic != want)
        return ns_error_set(NS_ERR_FORMAT,
                            "%s: wrong magic number 0x%08X at byte offset 0 (expected 0x%08X: "
                            "IDX, unsigned byte, %d dimension%s)",
                            f->path, magic, want, want_ndim, want_ndim == 1 ? "" : "s");
    NS_TRY(idx_read_exact(f, b, 4u * (unsigned)want_ndim, "the dimension sizes"));
    h->ndim = want_ndim;
    size_t count = 1;
    for (int i = 0; i < want_ndim; i++) {
        h->dims[i] = be32(b + 4 * i);
        if (h->dims[i] == 0)
            return ns_error_set(NS_ERR_FORMAT, "%s: dimension %d is 0 (byte offset %d)",
                                f->path, i, 4 + 4 * i);
        if (__builtin_mul_overflow(count, (size_t)h->dims[i], &count) ||
            count > NS_IDX_MAX_BYTES)
            return ns_error_set(NS_ERR_FORMAT,
                                "%s: dimension sizes at byte offset 4 announce more than "
                                "%zu bytes of data (the cap on one IDX file, docs/data.md): "
                                "corrupt header",
                                f->path, NS_IDX_MAX_BYTES);
    }
    for (int i = want_ndim; i < 3; i++) h->dims[i] = 1;
    h->count = count;
    if (!gzdirect(f->gz) && f->pos + count > f->disk_bytes * IDX_GZ_MAX_RATIO)
        return ns_error_set(NS_ERR_FORMAT,
                            "%s: the header (byte offset 4) announces %zu bytes of data, but a "
                            "gzip file of %zu bytes decodes to at most %zu: corrupt header",
                            f->path, count, f->disk_bytes, f->disk_bytes * IDX_GZ_MAX_RATIO);
    return NS_OK;
}

ns_status ns_idx_read_header(const char *path, int want_ndim, ns_idx_header *h)
{
    idx_file f;
    NS_TRY(idx_open(&f, path));
    ns_status st = idx_header(&f, want_ndim, h);
    idx_close(&f);
    return st;
}

ns_status ns_idx_read(const char *path, int want_ndim, ns_idx_header *h, uint8_t **data,
                      size_t *file_bytes)
{
    *data = NULL;
    idx_file f;
    NS_TRY(idx_open(&f, path));
    ns_status st = idx_header(&f, want_ndim, h);
    uint8_t *buf = NULL;
    if (st == NS_OK && gzdirect(f.gz)) {
        /* Plain file: its size is known, so a short one fails before allocating. */
        size_t need = f.pos + h->count;
        if (f.disk_bytes < need)
            st = ns_error_set(NS_ERR_FORMAT,
                              "%s: truncated: the file ends at byte offset %zu, expected the "
                              "data the header announces (%zu bytes from byte offset %zu)",
                              path, f.disk_bytes, h->count, f.pos);
    }
    if (st == NS_OK) {
        buf = malloc(h->count);
        if (!buf) st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory for %zu bytes", path, h->count);
    }
    if (st == NS_OK) st = idx_read_exact(&f, buf, h->count, "the data the header announces");
    if (st == NS_OK) {
        /* Nothing may follow the data. This read also makes zlib check the
         * gzip trailer (CRC-32 and length) of the stream. */
        uint8_t extra;
        int r = gzread(f.gz, &extra, 1);
        if (r == 1)
            st = ns_error_set(NS_ERR_FORMAT,
                              "%s: unexpected data after the %zu bytes the header announces "
                              "(byte offset %zu): wrong dimension sizes?",
                              path, h->count, f.pos);
        else {
            int err = Z_OK;
            gzerror(f.gz, &err);
            if (r < 0 || err != Z_OK)
                st = idx_short_read(&f, 0, 0, "the 8-byte gzip trailer (CRC-32, length)");
        }
    }
    idx_close(&f);
    if (st != NS_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    if (file_bytes) *file_bytes = f.disk_bytes;
    return NS_OK;
}
