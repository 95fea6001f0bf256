/* watchdog.c - deadline for a collective store step (watchdog.h): one thread,
 * started on first use, waiting on a condition variable until the deadline of
 * the armed step. */
#include "watchdog.h"

#include <errno.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, armed;
static unsigned long generation; /* bumped by every arm/disarm */
static struct timespec deadline;
static double limit_s;
static char what_buf[512], note_buf[1024];

static void fire(void)
{
    int rank = -1, init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr,
            "normsweep: rank %d: %s did not finish in %.0f s: another rank failed inside a "
            "collective HDF5 call or is stuck in I/O%s%s; aborting all ranks "
            "(NS_COLLECTIVE_TIMEOUT_S sets the limit)\n",
            rank, what_buf, limit_s, note_buf[0] ? "; this rank had failed with: " : "",
            note_buf);
    fflush(stderr);
    if (init && !fin) MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}

static void *watch(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!armed) pthread_cond_wait(&cv, &mu);
        unsigned long gen = generation;
        int rc = 0;
        while (armed && generation == gen && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&cv, &mu, &deadline);
        if (armed && generation == gen && rc == ETIMEDOUT) {
            pthread_mutex_unlock(&mu);
            fire();
        }
    }
    return NULL;
}

static double env_limit(double seconds)
{
    const char *e = getenv("NS_COLLECTIVE_TIMEOUT_S");
    char *end = NULL;
    double t = e ? strtod(e, &end) : 0.0;
    return e && end != e && *end == '\0' && t > 0 ? t : seconds;
}

void ns_watchdog_arm(const char *what, double seconds)
{
    int init = 0;
    MPI_Initialized(&init);
    if (!init) return;
    pthread_mutex_lock(&mu);
    if (!started) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &a, watch, NULL) == 0;
        pthread_attr_destroy(&a);
    }
    limit_s = env_limit(seconds);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)limit_s;
    snprintf(what_buf, sizeof what_buf, "%s", what);
    note_buf[0] = '\0';
    armed = 1;
    generation++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void ns_watchdog_disarm(void)
{
    pthread_mutex_lock(&mu);
    armed = 0;
    generation++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void ns_watchdog_note(const char *msg)
{
    pthread_mutex_lock(&mu);
    if (armed && msg) snprintf(note_buf, sizeof note_buf, "%s", msg);
    pthread_mutex_unlock(&mu);
}
