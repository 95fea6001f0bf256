/* signals.c - SIGTERM / SIGUSR1 / SIGINT become a recorded stop request.
 *
 * The handler only stores the signal number and who sent it (siginfo's pid
 * and code) in sig_atomic_t variables: everything else (naming the sender,
 * telling rank 0, telling the other ranks, checkpointing) happens outside the
 * handler, when the coordinator next polls. Under mpirun, SIGUSR1 sent to
 * mpirun is forwarded to every rank; SIGTERM/SIGINT to mpirun make it kill the
 * job (SIGTERM to every rank, SIGKILL a second later, exit 1), so a graceful
 * stop uses SIGUSR1 or the normsweep-mpirun wrapper (docs/coordinator.md). */
#define _GNU_SOURCE /* SA_SIGINFO, siginfo_t codes */
#include "normsweep/coord.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t caught_signal = 0;
static volatile sig_atomic_t caught_pid = 0;  /* sender (0: the kernel/terminal) */
static volatile sig_atomic_t caught_user = 0; /* 1: sent by a process (kill, sigqueue) */

static void on_stop_signal(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    if (caught_signal != 0 && sig == SIGINT) {
        /* Ctrl-C twice: the user wants out now. signal() and raise() are
         * async-signal-safe. */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    if (caught_signal == 0) {
        int by_process = info && info->si_code <= 0; /* SI_USER, SI_QUEUE, SI_TKILL */
        caught_pid = by_process ? (sig_atomic_t)info->si_pid : 0;
        caught_user = by_process;
        caught_signal = sig;
    }
}

void ns_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESTART: a read() or MPI call interrupted by the signal resumes; the
     * flag is checked at the next poll anyway. */
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int ns_signals_caught(void) { return (int)caught_signal; }

void ns_signals_clear(void)
{
    caught_signal = 0;
    caught_pid = 0;
    caught_user = 0;
}

const char *ns_signal_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    case 0: return "a request";
    }
    return "a signal";
}

/* The program name of a process ("mpirun", "bash"): the base name of its
 * argv[0], or "" when unknown. Not /proc/PID/comm, which is cut at 15
 * characters and shows "exe" for a program that re-executed itself through
 * /proc/self/exe. */
static void process_name(pid_t pid, char *buf, size_t n)
{
    char path[64], argv0[256];
    buf[0] = '\0';
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t len = fread(argv0, 1, sizeof argv0 - 1, f);
    fclose(f);
    argv0[len] = '\0'; /* argv[0] ends at the first NUL */
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    size_t k = strlen(base) < n - 1 ? strlen(base) : n - 1; /* truncate quietly */
    memcpy(buf, base, k);
    buf[k] = '\0';
}

void ns_signals_sender(char *buf, size_t n)
{
    pid_t pid = (pid_t)caught_pid;
    if (ns_signals_caught() == 0) {
        snprintf(buf, n, "no signal caught");
        return;
    }
    if (!caught_user || pid <= 0) {
        snprintf(buf, n, "from the terminal or the kernel");
        return;
    }
    char name[32];
    process_name(pid, name, sizeof name);
    const char *role = pid == getppid()  ? ", this process's launcher"
                       : pid == getpid() ? ", this process"
                                         : "";
    if (*name)
        snprintf(buf, n, "from %s (pid %ld%s)", name, (long)pid, role);
    else
        snprintf(buf, n, "from pid %ld%s", (long)pid, role);
}
