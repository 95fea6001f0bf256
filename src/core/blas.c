/* blas.c - OpenBLAS kernel selection by cpuid and re-exec; see blas.h for why. */
#define _GNU_SOURCE
#include "normsweep/blas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define NS_HAVE_CPUID 1
#endif

/* Declared by OpenBLAS's cblas.h in recent versions; repeated so older headers work. */
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

#define MARK_VAR "NORMSWEEP_BLAS_REEXEC"
#define ORIGIN_VAR "NORMSWEEP_BLAS_ORIGIN"

#ifdef NS_HAVE_CPUID
static unsigned long long xgetbv0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

const char *ns_blas_best_coretype(void)
{
#ifdef NS_HAVE_CPUID
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return NULL;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return NULL;
    unsigned long long xcr0 = xgetbv0();
    int ymm_os = (xcr0 & 0x6) == 0x6;          /* SSE + AVX state      */
    int zmm_os = (xcr0 & 0xe6) == 0xe6;        /* + opmask, ZMM state  */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return NULL;
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512cd = (b >> 28) & 1,
        avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if (zmm_os && avx512f && avx512dq && avx512cd && avx512bw && avx512vl) return "SkylakeX";
    if (ymm_os && avx2 && fma) return "Haswell";
#endif
    return NULL;
}

/* Kernels at least as fast as `best` for single-precision GEMM: if the
 * library already picked one of these, no re-exec is needed (e.g. OpenBLAS
 * picks Cooperlake on AVX-512 CPUs it knows). */
static int already_good(const char *running, const char *best)
{
    static const char *avx512[] = {"skylakex", "cooperlake", "sapphirerapids", NULL};
    static const char *avx2[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", NULL};
    const char **ok = strcasecmp(best, "SkylakeX") == 0 ? avx512 : avx2;
    for (int i = 0; ok[i]; i++)
        if (running && strcasecmp(running, ok[i]) == 0) return 1;
    return 0;
}

static int wanted_threads(void)
{
    const char *t = getenv("NORMSWEEP_BLAS_THREADS");
    if (!t || !*t) t = getenv("OPENBLAS_NUM_THREADS");
    int n = (t && *t) ? atoi(t) : 1;
    return n > 0 ? n : 1;
}

/* Execute this program again with the same argv. By its real path, not
 * /proc/self/exe: the kernel names a process after the file it executes, and
 * "exe" would break `pkill -x normsweep`, ps and top (the path is only a
 * fallback, e.g. when /proc is missing). Returns only on failure. */
static void reexec(char **argv)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0 && (size_t)n < sizeof self - 1) {
        self[n] = '\0';
        execv(self, argv);
    }
    execv("/proc/self/exe", argv);
}

void ns_blas_bootstrap(int argc, char **argv)
{
    (void)argc;
    const char *off = getenv("NORMSWEEP_NO_KERNEL_SELECT");
    int disabled = off && *off && strcmp(off, "0") != 0;
    if (!getenv(MARK_VAR)) {
        const char *best = ns_blas_best_coretype();
        if (getenv("OPENBLAS_CORETYPE")) {
            setenv(ORIGIN_VAR, "user", 1);
        } else if (disabled || !best) {
            setenv(ORIGIN_VAR, "default", 1);
        } else if (already_good(openblas_get_corename(), best) &&
                   !getenv("NORMSWEEP_BLAS_FORCE_REEXEC")) { /* test hook: exercise the re-exec */
            setenv(ORIGIN_VAR, "default", 1);
        } else {
            /* The kernel is fixed at library load: re-execute once with it set. */
            setenv("OPENBLAS_CORETYPE", best, 1);
            setenv(ORIGIN_VAR, "selected", 1);
            setenv(MARK_VAR, "1", 1);
            if (!getenv("OPENBLAS_NUM_THREADS")) {
                char buf[16];
                snprintf(buf, sizeof buf, "%d", wanted_threads());
                setenv("OPENBLAS_NUM_THREADS", buf, 1);
            }
            reexec(argv);
            fprintf(stderr, "normsweep: warning: could not re-execute to select the BLAS "
                            "kernel; set OPENBLAS_CORETYPE yourself\n");
            setenv(ORIGIN_VAR, "default", 1);
        }
    }
    /* Threads can change at run time; one per rank unless asked otherwise. */
    openblas_set_num_threads(wanted_threads());
}

/* A thread count variable, if set: a whole number 1..4096, nothing else. */
static ns_status check_threads_var(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) return NS_OK;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    NS_CHECK(end != v && *end == '\0' && n >= 1 && n <= 4096, NS_ERR_ARG,
             "%s='%s': expected a whole number of threads, 1..4096", name, v);
    return NS_OK;
}

ns_status ns_blas_check_env(void)
{
    NS_TRY(check_threads_var("NORMSWEEP_BLAS_THREADS"));
    const char *nt = getenv("NORMSWEEP_BLAS_THREADS");
    if (!nt || !*nt) NS_TRY(check_threads_var("OPENBLAS_NUM_THREADS")); /* the fallback */
    /* OpenBLAS ignores a kernel name it does not know (or one this CPU cannot
     * run) and picks its own: a user's request must not be dropped silently. */
    const char *want = getenv("OPENBLAS_CORETYPE");
    if (want && *want && strcmp(ns_blas_kernel_origin(), "user") == 0)
        NS_CHECK(strcasecmp(want, ns_blas_kernel()) == 0, NS_ERR_ARG,
                 "OPENBLAS_CORETYPE=%s: OpenBLAS runs its %s kernel instead (it does not know "
                 "that name, or this CPU cannot run it); unset OPENBLAS_CORETYPE to let "
                 "normsweep choose", want, ns_blas_kernel());
    return NS_OK;
}

const char *ns_blas_kernel(void)
{
    const char *n = openblas_get_corename();
    return n ? n : "unknown";
}

int ns_blas_threads(void) { return openblas_get_num_threads(); }

const char *ns_blas_kernel_origin(void)
{
    const char *o = getenv(ORIGIN_VAR);
    return o ? o : "default";
}

const char *ns_blas_config(void)
{
    const char *c = openblas_get_config();
    return c ? c : "unknown";
}
