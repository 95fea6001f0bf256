/* signals.c - SIGTERM / SIGUSR1 / SIGINT become a recorded stop request.
 *
 * The handler only stores the signal number in a sig_atomic_t: everything else
 * (telling rank 0, telling the other ranks, checkpointing) happens outside the
 * handler, when the coordinator next polls. Under mpirun, SIGUSR1 sent to
 * mpirun is forwarded to every rank; SIGTERM/SIGINT to mpirun make it kill the
 * job after a few seconds, so a graceful stop should use SIGUSR1
 * (docs/coordinator.md). */
#include "normsweep/coord.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught_signal = 0;

static void on_stop_signal(int sig)
{
    if (caught_signal != 0 && sig == SIGINT) {
        /* Ctrl-C twice: the user wants out now. signal() and raise() are
         * async-signal-safe. */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    if (caught_signal == 0) caught_signal = sig;
}

void ns_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESTART: a read() or MPI call interrupted by the signal resumes; the
     * flag is checked at the next poll anyway. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int ns_signals_caught(void) { return (int)caught_signal; }

void ns_signals_clear(void) { caught_signal = 0; }
