/* error.h - status codes, the last-error message, and file:line assertions.
 *
 * Library code never exits: a function that can fail returns an ns_status and,
 * on failure, records one human-readable line with ns_error_set(). Only main()
 * turns a status into an exit code. The message buffer is thread-local so
 * helper threads cannot clobber each other.
 */
#ifndef NORMSWEEP_ERROR_H
#define NORMSWEEP_ERROR_H

#include <stdio.h>
#include <stdlib.h>

/* A diverging run is detected by isfinite()/isnan() on its loss, and probes
 * record NaN/inf as data: both need IEEE semantics. A fast-math build lets the
 * compiler assume no NaN/inf exist and fold those checks away, so refuse it
 * outright (every source file includes this header). */
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#error "normsweep must be built with IEEE float semantics: remove fast-math / finite-math-only flags"
#endif

typedef enum ns_status {
    NS_OK = 0,
    NS_ERR_ARG,      /* bad argument / bad user input (spec, arch string, CLI)   */
    NS_ERR_IO,       /* file missing, unreadable, short read, write failure     */
    NS_ERR_FORMAT,   /* file exists but its content is not what was expected    */
    NS_ERR_NOMEM,    /* allocation failed                                       */
    NS_ERR_MPI,      /* an MPI call failed                                      */
    NS_ERR_HDF5,     /* an HDF5 call failed                                     */
    NS_ERR_NUMERIC,  /* NaN/inf where a finite number is required               */
    NS_ERR_STATE,    /* call made in a state that does not allow it             */
    NS_ERR_INTERNAL  /* a bug: an invariant did not hold                        */
} ns_status;

/* Exit codes of the normsweep executable (documented in docs/cli.md). */
enum {
    NS_EXIT_OK = 0,
    NS_EXIT_FAIL = 1,       /* runtime failure (I/O, MPI, HDF5, ...)          */
    NS_EXIT_USAGE = 2,      /* bad command line or bad input file             */
    NS_EXIT_INCOMPLETE = 3  /* stopped by a signal: resume with --resume      */
};

/* Record the message for the current failure (printf-style) and return code.
 * Typical use:  return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno)); */
ns_status ns_error_set(ns_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last recorded message ("" if none) and its code. */
const char *ns_error_msg(void);
ns_status ns_error_code(void);
void ns_error_clear(void);

/* Name of a status code, e.g. "NS_ERR_IO". */
const char *ns_status_name(ns_status s);

/* Propagate a failure: evaluate expr once, return its status if not NS_OK. */
#define NS_TRY(expr)                                                           \
    do {                                                                       \
        ns_status ns_try_s_ = (expr);                                          \
        if (ns_try_s_ != NS_OK) return ns_try_s_;                              \
    } while (0)

/* Check a condition that depends on input; on failure set the message and return. */
#define NS_CHECK(cond, code, ...)                                              \
    do {                                                                       \
        if (!(cond)) return ns_error_set((code), __VA_ARGS__);                 \
    } while (0)

/* Invariant that only a bug can break: prints file:line and aborts, even in
 * Release builds (numbers from a broken invariant are worse than a crash). */
#define NS_ASSERT(cond)                                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
