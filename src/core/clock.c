/* clock.c - see clock.h. */
#include "normsweep/clock.h"

#include <time.h>

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ns_now_s(void) { return seconds(CLOCK_MONOTONIC); }
double ns_cpu_s(void) { return seconds(CLOCK_PROCESS_CPUTIME_ID); }
