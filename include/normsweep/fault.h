/* fault.h - named fault-injection points for the tests.
 *
 * Some failures cannot be provoked from outside at the right moment (an
 * allocation that fails, a rank that dies while the others wait in a
 * collective). Code that must handle them asks ns_fault("point", rank) at the
 * place, and the tests set
 *
 *     NORMSWEEP_FAULT=point[@rank][,point[@rank]...]
 *
 * (no @rank: every rank). Unset - always, outside the tests - every point is
 * off; the cost is one getenv() at the few places that ask. The points are
 * listed in docs/testing.md. */
#ifndef NORMSWEEP_FAULT_H
#define NORMSWEEP_FAULT_H

/* 1 when NORMSWEEP_FAULT names `point` for this rank (or for every rank). */
int ns_fault(const char *point, int rank);

#endif
