/* checkpoint.c - named binary parts in one self-checking file (format in
 * checkpoint.h). Integers are stored little-endian byte by byte so the file
 * is the same on any host; the reader trusts nothing it has not checked:
 * every offset and size is bounded by the real file size before use. */
#include "normsweep/checkpoint.h"
#include "atomic.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CK_MAGIC "NSWPCKPT"
#define CK_VERSION 1u
#define CK_HEADER 32u   /* fixed header bytes */
#define CK_ENTRY 64u    /* bytes per part-table entry */
#define CK_NAME 40u     /* name field in an entry */
#define CK_ALIGN 8u     /* every part starts at a multiple of this */

typedef struct ck_entry {
    char name[CK_NAME + 1];
    uint64_t off, size;
    uint32_t crc;
} ck_entry;

struct ns_ckpt {
    char *path;
    unsigned char *buf; /* the whole file; parts point into it */
    int n;
    ck_entry *e;
};

/* ------------------------------------------------------------ little-endian bytes */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
    const Bytef *b = p;
    while (n > 0) { /* zlib's length is a uInt */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = (uint32_t)crc32(c, b, k);
        b += k;
        n -= k;
    }
    return c;
}

/* The header CRC covers the header and part table except its own 4 bytes. */
static uint32_t header_crc(const unsigned char *hdr, size_t table_bytes)
{
    uint32_t c = crc((uint32_t)crc32(0L, Z_NULL, 0), hdr, 24);
    return crc(c, hdr + 28, CK_HEADER - 28 + table_bytes);
}

static uint64_t align_up(uint64_t x) { return (x + CK_ALIGN - 1) / CK_ALIGN * CK_ALIGN; }

/* ------------------------------------------------------------ write */

ns_status ns_ckpt_write(const char *path, const ns_ckpt_part *parts, int nparts)
{
    NS_CHECK(path && *path, NS_ERR_ARG, "checkpoint: empty path");
    NS_CHECK(nparts >= 0 && nparts <= NS_CKPT_MAX_PARTS && (nparts == 0 || parts), NS_ERR_ARG,
             "%s: checkpoint needs 0..%d parts, got %d", path, NS_CKPT_MAX_PARTS, nparts);
    for (int i = 0; i < nparts; i++) {
        const char *nm = parts[i].name;
        NS_CHECK(nm && *nm && strlen(nm) <= NS_CKPT_MAX_NAME, NS_ERR_ARG,
                 "%s: checkpoint part %d needs a name of 1..%d bytes", path, i, NS_CKPT_MAX_NAME);
        NS_CHECK(parts[i].data || parts[i].size == 0, NS_ERR_ARG,
                 "%s: checkpoint part '%s' has NULL data", path, nm);
        for (int j = 0; j < i; j++)
            NS_CHECK(strcmp(parts[j].name, nm) != 0, NS_ERR_ARG,
                     "%s: checkpoint part '%s' given twice", path, nm);
    }
    size_t table = (size_t)nparts * CK_ENTRY, head = CK_HEADER + table;
    unsigned char *hdr = calloc(1, head);
    ns_seg *segs = calloc(2 * (size_t)nparts + 1, sizeof *segs);
    if (!hdr || !segs) {
        free(hdr);
        free(segs);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory for the checkpoint header", path);
    }
    static const unsigned char zeros[CK_ALIGN] = {0};
    int ns = 0;
    segs[ns++] = (ns_seg){hdr, head};
    uint64_t off = head;
    for (int i = 0; i < nparts; i++) {
        uint64_t start = align_up(off);
        if (start > off) segs[ns++] = (ns_seg){zeros, (size_t)(start - off)};
        segs[ns++] = (ns_seg){parts[i].data, parts[i].size};
        unsigned char *E = hdr + CK_HEADER + (size_t)i * CK_ENTRY;
        memcpy(E, parts[i].name, strlen(parts[i].name)); /* rest stays NUL */
        put64(E + CK_NAME, start);
        put64(E + CK_NAME + 8, parts[i].size);
        put32(E + CK_NAME + 16, crc((uint32_t)crc32(0L, Z_NULL, 0), parts[i].data, parts[i].size));
        off = start + parts[i].size;
    }
    memcpy(hdr, CK_MAGIC, 8);
    put32(hdr + 8, CK_VERSION);
    put32(hdr + 12, (uint32_t)nparts);
    put64(hdr + 16, off);
    put32(hdr + 24, header_crc(hdr, table));
    ns_status st = ns_atomic_write(path, segs, ns);
    free(hdr);
    free(segs);
    return st;
}

/* ------------------------------------------------------------ read */

static ns_status read_whole(const char *path, unsigned char **buf, size_t *n)
{
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ns_error_set(NS_ERR_IO, "%s: cannot open checkpoint: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap);
    ns_status st = b ? NS_OK : ns_error_set(NS_ERR_NOMEM, "%s: out of memory", path);
    while (st == NS_OK) {
        if (len == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb) {
                st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory at %zu bytes", path, len);
                break;
            }
            b = nb;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f))
                st = ns_error_set(NS_ERR_IO, "%s: read error at byte %zu", path, len);
            break;
        }
    }
    fclose(f);
    if (st != NS_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *n = len;
    return NS_OK;
}

/* Check everything in the buffer; fill c->n and c->e. */
static ns_status parse(ns_ckpt *c, size_t len)
{
    const char *P = c->path;
    const unsigned char *b = c->buf;
    NS_CHECK(len >= CK_HEADER, NS_ERR_FORMAT,
             "%s: truncated at byte %zu: a checkpoint header needs %u bytes", P, len, CK_HEADER);
    NS_CHECK(memcmp(b, CK_MAGIC, 8) == 0, NS_ERR_FORMAT,
             "%s: bad magic at byte 0: not a normsweep checkpoint (expected \"%s\")", P, CK_MAGIC);
    uint32_t ver = get32(b + 8), n = get32(b + 12);
    uint64_t total = get64(b + 16);
    NS_CHECK(ver == CK_VERSION, NS_ERR_FORMAT,
             "%s: unsupported checkpoint version %u at byte 8 (this build reads %u)", P, ver,
             CK_VERSION);
    NS_CHECK(n <= NS_CKPT_MAX_PARTS, NS_ERR_FORMAT,
             "%s: implausible part count %u at byte 12 (max %d)", P, n, NS_CKPT_MAX_PARTS);
    NS_CHECK(total == len, NS_ERR_FORMAT,
             "%s: %s at byte %zu: the header (byte 16) says the file has %llu bytes", P,
             total > len ? "truncated" : "trailing bytes", len < total ? len : (size_t)total,
             (unsigned long long)total);
    size_t table = (size_t)n * CK_ENTRY;
    NS_CHECK(len >= CK_HEADER + table, NS_ERR_FORMAT,
             "%s: truncated at byte %zu inside the part table (needs %zu bytes)", P, len,
             CK_HEADER + table);
    uint32_t hc = header_crc(b, table), stored = get32(b + 24);
    NS_CHECK(hc == stored, NS_ERR_FORMAT,
             "%s: header CRC mismatch over bytes [0,24) and [28,%zu) (stored at byte 24: "
             "%08x, computed %08x)",
             P, CK_HEADER + table, stored, hc);
    c->e = calloc(n > 0 ? n : 1, sizeof *c->e);
    NS_CHECK(c->e, NS_ERR_NOMEM, "%s: out of memory", P);
    c->n = (int)n;
    uint64_t end = CK_HEADER + table; /* end of the previous part */
    for (uint32_t i = 0; i < n; i++) {
        size_t at = CK_HEADER + (size_t)i * CK_ENTRY;
        const unsigned char *E = b + at;
        ck_entry *e = &c->e[i];
        memcpy(e->name, E, CK_NAME);
        e->name[CK_NAME] = '\0';
        e->off = get64(E + CK_NAME);
        e->size = get64(E + CK_NAME + 8);
        e->crc = get32(E + CK_NAME + 16);
        NS_CHECK(e->name[0] && memchr(E, 0, CK_NAME), NS_ERR_FORMAT,
                 "%s: part %u at byte %zu has an empty or unterminated name", P, i, at);
        /* Parts sit back to back in table order, each at the next multiple of 8,
         * padding zero: then every byte of the file is checked by something. */
        NS_CHECK(e->off == align_up(end) && e->off <= len && e->size <= len - e->off,
                 NS_ERR_FORMAT,
                 "%s: part '%s' (table entry at byte %zu) claims bytes [%llu,+%llu); "
                 "expected to start at byte %llu and end by byte %zu",
                 P, e->name, at, (unsigned long long)e->off, (unsigned long long)e->size,
                 (unsigned long long)align_up(end), len);
        for (uint64_t k = end; k < e->off; k++)
            NS_CHECK(b[k] == 0, NS_ERR_FORMAT, "%s: nonzero padding byte at byte %llu", P,
                     (unsigned long long)k);
        end = e->off + e->size;
        uint32_t pc = crc((uint32_t)crc32(0L, Z_NULL, 0), b + e->off, (size_t)e->size);
        NS_CHECK(pc == e->crc, NS_ERR_FORMAT,
                 "%s: part '%s' is corrupt: CRC32 mismatch over bytes [%llu,%llu) (stored "
                 "%08x at byte %zu, computed %08x)",
                 P, e->name, (unsigned long long)e->off, (unsigned long long)(e->off + e->size),
                 e->crc, at + CK_NAME + 16, pc);
        for (uint32_t j = 0; j < i; j++)
            NS_CHECK(strcmp(c->e[j].name, e->name) != 0, NS_ERR_FORMAT,
                     "%s: part '%s' appears twice (second at byte %zu)", P, e->name, at);
    }
    NS_CHECK(end == len, NS_ERR_FORMAT,
             "%s: %zu unexplained bytes at byte %llu after the last part", P, len - (size_t)end,
             (unsigned long long)end);
    return NS_OK;
}

ns_status ns_ckpt_read(const char *path, ns_ckpt **out)
{
    NS_CHECK(path && out, NS_ERR_ARG, "ns_ckpt_read: NULL argument");
    *out = NULL;
    ns_ckpt *c = calloc(1, sizeof *c);
    if (c) c->path = strdup(path);
    if (!c || !c->path) {
        ns_ckpt_free(c);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t len;
    ns_status st = read_whole(path, &c->buf, &len);
    if (st == NS_OK) st = parse(c, len);
    if (st != NS_OK) {
        ns_ckpt_free(c);
        return st;
    }
    *out = c;
    return NS_OK;
}

int ns_ckpt_nparts(const ns_ckpt *c) { return c ? c->n : 0; }

const char *ns_ckpt_part_name(const ns_ckpt *c, int i)
{
    return (c && i >= 0 && i < c->n) ? c->e[i].name : NULL;
}

ns_status ns_ckpt_get(const ns_ckpt *c, const char *name, const void **data, size_t *size)
{
    NS_CHECK(c && name && data && size, NS_ERR_ARG, "ns_ckpt_get: NULL argument");
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0) {
            *data = c->buf + c->e[i].off;
            *size = (size_t)c->e[i].size;
            return NS_OK;
        }
    return ns_error_set(NS_ERR_FORMAT, "%s: checkpoint has no part '%s'", c->path, name);
}

ns_status ns_ckpt_get_into(const ns_ckpt *c, const char *name, void *dst, size_t size)
{
    const void *p;
    size_t n;
    NS_TRY(ns_ckpt_get(c, name, &p, &n));
    NS_CHECK(n == size, NS_ERR_FORMAT,
             "%s: checkpoint part '%s' has %zu bytes, expected %zu (another model or config?)",
             c->path, name, n, size);
    if (n) memcpy(dst, p, n);
    return NS_OK;
}

void ns_ckpt_free(ns_ckpt *c)
{
    if (!c) return;
    free(c->e);
    free(c->buf);
    free(c->path);
    free(c);
}
