/* atomic.h - all-or-nothing file replacement, shared by checkpoint.c and the
 * text sidecar writer. Private to src/store/. */
#ifndef NS_STORE_ATOMIC_H
#define NS_STORE_ATOMIC_H

#include "normsweep/error.h"

#include <stddef.h>

typedef struct ns_seg {
    const void *p;
    size_t n;
} ns_seg;

/* Write the segments, in order, to path.tmp; fsync; rename to path; fsync the
 * directory. On failure path.tmp is removed and path is untouched (NS_ERR_IO). */
ns_status ns_atomic_write(const char *path, const ns_seg *segs, int nsegs);

#endif
