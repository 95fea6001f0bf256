/* atomic.c - replace a file so that a crash at any instant leaves the old or
 * the new content: write a sibling .tmp, fsync it, rename() it over the target
 * (atomic within one directory on POSIX), fsync the directory so the rename
 * itself survives a power loss. */
#include "atomic.h"
#include "normsweep/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* " (ENOSPC)" for the errors a user fixes outside normsweep, "" otherwise. */
static const char *errname(int e)
{
    return e == ENOSPC ? " (ENOSPC)" : e == EDQUOT ? " (EDQUOT)" : e == EROFS ? " (EROFS)"
           : e == EIO  ? " (EIO)"    : "";
}

static ns_status write_all(int fd, const char *tmp, const void *p, size_t n, size_t *off)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return ns_error_set(NS_ERR_IO, "%s: write failed at byte %zu: %s%s", tmp, *off,
                                w < 0 ? strerror(errno) : "wrote nothing", w < 0 ? errname(errno) : "");
        b += w;
        n -= (size_t)w;
        *off += (size_t)w;
    }
    return NS_OK;
}

/* fsync the directory holding path, so the rename is durable. */
static ns_status sync_dir(const char *path)
{
    size_t n = strlen(path);
    char *dir = malloc(n + 2);
    NS_CHECK(dir, NS_ERR_NOMEM, "%s: out of memory", path);
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ns_status st = NS_OK;
    if (fd < 0 || fsync(fd) != 0)
        st = ns_error_set(NS_ERR_IO, "%s: cannot fsync directory %s: %s", path, dir,
                          strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return st;
}

ns_status ns_atomic_write(const char *path, const ns_seg *segs, int nsegs)
{
    NS_CHECK(path && *path, NS_ERR_ARG, "atomic write: empty path");
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    NS_CHECK(tmp, NS_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    /* O_TRUNC: a .tmp left by a crashed writer is simply overwritten. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ns_status st = ns_error_set(NS_ERR_IO, "%s: cannot create %s: %s%s", path, tmp,
                                    strerror(errno), errname(errno));
        free(tmp);
        return st;
    }
    ns_status st = NS_OK;
    size_t off = 0;
    for (int i = 0; i < nsegs && st == NS_OK; i++)
        if (segs[i].n > 0) st = write_all(fd, tmp, segs[i].p, segs[i].n, &off);
    if (st == NS_OK && fsync(fd) != 0)
        st = ns_error_set(NS_ERR_IO, "%s: fsync failed: %s%s", tmp, strerror(errno), errname(errno));
    if (close(fd) != 0 && st == NS_OK)
        st = ns_error_set(NS_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == NS_OK && rename(tmp, path) != 0)
        st = ns_error_set(NS_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp,
                          strerror(errno));
    if (st != NS_OK) unlink(tmp); /* the old file at path stays as it was */
    free(tmp);
    if (st == NS_OK) st = sync_dir(path);
    return st;
}

ns_status ns_write_file_atomic(const char *path, const char *text)
{
    NS_CHECK(text, NS_ERR_ARG, "%s: NULL text", path ? path : "(null)");
    ns_seg s = {text, strlen(text)};
    return ns_atomic_write(path, &s, 1);
}
