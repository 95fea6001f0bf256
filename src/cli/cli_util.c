/* cli_util.c - see cli_util.h. */
#include "cli_util.h"

#include "normsweep/error.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ns_cli_parse_opts(int argc, char **argv, const ns_opt *opts, int nopts,
                      const char *const *flags, const char *who, void (*usage)(FILE *))
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int skip = 0;
        for (int f = 0; flags && flags[f]; f++) skip |= strcmp(a, flags[f]) == 0;
        if (skip) continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        const ns_opt *o = NULL;
        for (int k = 0; k < nopts && !o; k++)
            if (strcmp(a, opts[k].name) == 0) o = &opts[k];
        if (!o) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", who, a);
            usage(stderr);
            return NS_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", who, a);
            usage(stderr);
            return NS_EXIT_USAGE;
        }
        const char *v = argv[++i];
        char *end = NULL;
        long x = 0;
        switch (o->type) {
        case NS_OPT_STR: *(const char **)o->dst = v; break;
        case NS_OPT_INT:
        case NS_OPT_COUNT:
            if (!ns_cli_long(v, -2147483647L, 2147483647L, &x)) end = (char *)v;
            *(int *)o->dst = (int)x;
            break;
        case NS_OPT_U64:
            *(uint64_t *)o->dst = strtoull(v, &end, 10);
            if (strchr(v, '-')) end = (char *)v; /* strtoull wraps "-5" silently */
            break;
        case NS_OPT_DOUBLE: *(double *)o->dst = strtod(v, &end); break;
        }
        if (end && (*end || end == v)) {
            fprintf(stderr, "%s: %s '%s' is not a %s\n", who, a, v,
                    o->type == NS_OPT_DOUBLE ? "number" : "whole number");
            return NS_EXIT_USAGE;
        }
        if (o->type == NS_OPT_COUNT && x < 1) {
            fprintf(stderr, "%s: %s '%s' must be at least 1\n", who, a, v);
            return NS_EXIT_USAGE;
        }
    }
    return 0;
}

int ns_cli_value(int argc, char **argv, int *i, const char *name, const char **value,
                 const char *who)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", who, name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int ns_cli_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < min || v > max) return 0;
    *out = v;
    return 1;
}

ns_status ns_cli_path(char *buf, size_t cap, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (len >= 0 && (size_t)len < cap) return NS_OK;
    ns_status st = ns_error_set(NS_ERR_ARG,
                                "%s would be %d characters, more than the %zu a path may have: "
                                "%.60s...",
                                what, len, cap - 1, buf);
    buf[0] = '\0';
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ns_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

ns_status ns_cli_stat_as(const char *path, int want, const char *role, int *exists)
{
    struct stat st;
    *exists = 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return NS_OK;
        return ns_error_set(NS_ERR_ARG, "%s (%s): %s", path, role, strerror(errno));
    }
    *exists = 1;
    int ok = want == NS_DIRECTORY ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
    const char *is = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISREG(st.st_mode)  ? "a regular file"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "a device";
    NS_CHECK(ok, NS_ERR_ARG, "%s (%s) is %s, not a %s", path, role, is,
             want == NS_DIRECTORY ? "directory" : "regular file");
    return NS_OK;
}

int ns_cli_clear_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int left = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        int n = 0;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        int ours = sscanf(e->d_name, "run_%*5d.ckpt%n", &n) == 0 && n > 0 &&
                   (e->d_name[n] == '\0' || strcmp(e->d_name + n, ".tmp") == 0);
        if (!ours || snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            unlink(path) != 0)
            left++;
    }
    closedir(d);
    return left;
}
