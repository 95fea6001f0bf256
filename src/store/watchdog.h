/* watchdog.h - a bound on the time of a collective store step (create, open,
 * close). Internal to src/store/.
 *
 * The store agrees over the ranks before every collective call, so an error
 * on one rank reaches all of them as a status. What agreement cannot reach is
 * a failure INSIDE a collective HDF5 call (HDF5 writes fill values on rank 0
 * and then waits in a barrier: if the write fails, rank 0 returns and the
 * others wait forever). Reserving the file's space first (create.c) removes
 * the known case; the watchdog bounds the rest: if the step has not finished
 * after its deadline, this rank prints what it was doing (and the error it
 * had, if any) and calls MPI_Abort, which ends every rank of the job. This is
 * the store's only exit that is not a returned status: a hung collective
 * cannot be returned from. */
#ifndef NS_STORE_WATCHDOG_H
#define NS_STORE_WATCHDOG_H

#include "normsweep/error.h"

/* Arm for `what` (e.g. "creating out.h5") with a deadline of `seconds`
 * (NS_COLLECTIVE_TIMEOUT_S in the environment overrides it). Only one step at
 * a time; arming again replaces the previous one. No-op without MPI. */
void ns_watchdog_arm(const char *what, double seconds);
/* The step finished (either way). */
void ns_watchdog_disarm(void);
/* Remember this rank's error for the message, should the deadline pass. */
void ns_watchdog_note(const char *msg);

#endif
