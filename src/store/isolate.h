/* isolate.h - run a check in a child process, so that a library crash or hang
 * on hostile input (an HDF5 segfault or endless loop on a damaged file) is an
 * error message here instead of a crash or a hang of the caller. Internal to
 * src/store/. */
#ifndef NS_STORE_ISOLATE_H
#define NS_STORE_ISOLATE_H

#include "normsweep/error.h"

/* Seconds a check may take before it counts as hung (NS_ISOLATE_TIMEOUT_S in
 * the environment overrides it, e.g. for a huge file on a slow file system). */
#define NS_ISOLATE_TIMEOUT_DEFAULT_S 120.0

/* Run fn(ctx) in a forked child and return its status and message. The child
 * must not use MPI (it exits with _exit, so no atexit handler runs). If the
 * child dies from a signal or overruns the timeout (it is then killed):
 * NS_ERR_FORMAT "<what>: <how it died> (...)". fork/pipe failures: NS_ERR_IO. */
ns_status ns_isolate(const char *what, ns_status (*fn)(void *ctx), void *ctx);

#endif
