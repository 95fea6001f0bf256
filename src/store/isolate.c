/* isolate.c - a check in a child process (isolate.h). The child reports its
 * status and message through a pipe; the parent waits at most the timeout. */
#include "isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct report {
    int code;
    char msg[1024];
} report;

static double timeout_s(void)
{
    const char *e = getenv("NS_ISOLATE_TIMEOUT_S");
    char *end = NULL;
    double t = e ? strtod(e, &end) : 0.0;
    return e && end != e && *end == '\0' && t > 0 ? t : NS_ISOLATE_TIMEOUT_DEFAULT_S;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void child(int fd, ns_status (*fn)(void *), void *ctx)
{
    report r;
    memset(&r, 0, sizeof r);
    r.code = (int)fn(ctx);
    if (r.code != NS_OK) snprintf(r.msg, sizeof r.msg, "%s", ns_error_msg());
    const char *p = (const char *)&r;
    size_t left = sizeof r;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        p += w;
        left -= (size_t)w;
    }
    _exit(0);
}

/* Read the report, waiting at most until `deadline`. Returns bytes read, -1 on timeout. */
static ssize_t read_report(int fd, report *r, double deadline)
{
    char *p = (char *)r;
    size_t got = 0;
    while (got < sizeof *r) {
        double left = deadline - now_s();
        if (left <= 0) return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        int n = poll(&pf, 1, (int)(left * 1000.0) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) continue; /* the deadline check above ends it */
        ssize_t k = read(fd, p + got, sizeof *r - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break; /* EOF: the child exited (or died) */
        got += (size_t)k;
    }
    return (ssize_t)got;
}

ns_status ns_isolate(const char *what, ns_status (*fn)(void *ctx), void *ctx)
{
    int fds[2];
    if (pipe(fds) != 0)
        return ns_error_set(NS_ERR_IO, "%s: cannot create a pipe for the check: %s", what,
                            strerror(errno));
    fflush(NULL); /* the child must not flush our buffered output a second time */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return ns_error_set(NS_ERR_IO, "%s: cannot fork for the check: %s", what, strerror(e));
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], fn, ctx);
    }
    close(fds[1]);
    double limit = timeout_s();
    report r;
    memset(&r, 0, sizeof r);
    ssize_t got = read_report(fds[0], &r, now_s() + limit);
    close(fds[0]);
    if (got < 0) kill(pid, SIGKILL);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
    }
    if (got < 0)
        return ns_error_set(NS_ERR_FORMAT, "%s: reading it did not finish in %.0f s (a damaged "
                            "file can make HDF5 loop; NS_ISOLATE_TIMEOUT_S sets the limit)",
                            what, limit);
    if (WIFSIGNALED(wst))
        return ns_error_set(NS_ERR_FORMAT, "%s: damaged: HDF5 crashed reading it (signal %d, %s, "
                            "in a checking process)", what, WTERMSIG(wst), strsignal(WTERMSIG(wst)));
    if (got != (ssize_t)sizeof r)
        return ns_error_set(NS_ERR_INTERNAL, "%s: the checking process exited without a report "
                            "(status %d)", what, WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
    r.msg[sizeof r.msg - 1] = '\0';
    if (r.code == NS_OK) return NS_OK;
    return ns_error_set((ns_status)r.code, "%s", r.msg);
}
