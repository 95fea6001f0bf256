/* fault_shim.c - an LD_PRELOAD library for the store's fault-injection tests
 * (tests/cli/test_store_faults.sh). It makes the two lines of defence of
 * ns_h5_create believe there is room when there is none:
 *   SHIM_STATVFS_LIE=1    statvfs reports 1 TiB free (the space check passes);
 *   SHIM_FALLOCATE_SKIP=1 posix_fallocate on a "*.creating" file succeeds
 *                         without reserving anything (other files, e.g. MPI's
 *                         shared-memory segments, are left alone);
 *   SHIM_RENAME_HANG=1    rename() of a "*.creating" file never returns (a
 *                         rank stuck in I/O while the others wait for it:
 *                         the store's watchdog must end the job);
 *   SHIM_TIME_OFFSET=S    time() runs S seconds ahead (a node whose clock is
 *                         skewed: values a rank takes from its own clock must
 *                         never enter a collective).
 * Build: cc -shared -fPIC -o fault_shim.so fault_shim.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int statvfs(const char *path, struct statvfs *buf)
{
    int (*real)(const char *, struct statvfs *) =
        (int (*)(const char *, struct statvfs *))dlsym(RTLD_NEXT, "statvfs");
    int r = real(path, buf);
    if (r == 0 && getenv("SHIM_STATVFS_LIE")) buf->f_bavail = buf->f_blocks = 1ull << 40;
    return r;
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    int (*real)(int, off_t, off_t) = (int (*)(int, off_t, off_t))dlsym(RTLD_NEXT, "posix_fallocate");
    if (getenv("SHIM_FALLOCATE_SKIP")) {
        char link[64], target[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strstr(target, ".creating")) return 0;
        }
    }
    return real(fd, off, len);
}

int rename(const char *from, const char *to)
{
    int (*real)(const char *, const char *) =
        (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    if (getenv("SHIM_RENAME_HANG") && strstr(from, ".creating"))
        for (;;) pause();
    return real(from, to);
}

time_t time(time_t *out)
{
    time_t (*real)(time_t *) = (time_t(*)(time_t *))dlsym(RTLD_NEXT, "time");
    time_t now = real(NULL);
    const char *skew = getenv("SHIM_TIME_OFFSET");
    if (skew) now += (time_t)strtoll(skew, NULL, 10);
    if (out) *out = now;
    return now;
}
