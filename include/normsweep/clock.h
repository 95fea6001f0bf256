/* clock.h - the two clocks normsweep measures with. */
#ifndef NORMSWEEP_CLOCK_H
#define NORMSWEEP_CLOCK_H

/* Wall time in seconds since an arbitrary start (CLOCK_MONOTONIC). */
double ns_now_s(void);
/* CPU time of this process in seconds (CLOCK_PROCESS_CPUTIME_ID): benchmarks
 * on a shared machine compare CPU time, which other processes do not inflate. */
double ns_cpu_s(void);

#endif
