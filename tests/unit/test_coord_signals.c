/* test_coord_signals.c - the stop-signal handlers of src/coord/signals.c: the
 * first stop signal is recorded, later ones do not overwrite it, clear resets,
 * and a second SIGINT kills (Ctrl-C twice) while repeated SIGUSR1/SIGTERM do not. */
#include "ns_test.h"
#include "normsweep/coord.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(first_signal_wins_and_clear_resets)
{
    ns_signals_install();
    ns_signals_clear();
    ck_assert_int_eq(ns_signals_caught(), 0);
    raise(SIGUSR1);
    ck_assert_int_eq(ns_signals_caught(), SIGUSR1);
    raise(SIGTERM); /* handled (the process lives), not recorded over the first */
    ck_assert_int_eq(ns_signals_caught(), SIGUSR1);
    ns_signals_clear();
    ck_assert_int_eq(ns_signals_caught(), 0);
    raise(SIGTERM);
    ck_assert_int_eq(ns_signals_caught(), SIGTERM);
    ns_signals_clear();
}
END_TEST

/* Runs `sig` twice in a child; returns its wait status. Exit 2: the first
 * signal was not recorded; exit 0: survived both. */
static int child_raises_twice(int sig)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ns_signals_install();
        ns_signals_clear();
        raise(sig);
        if (ns_signals_caught() != sig) _exit(2);
        raise(sig);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

START_TEST(second_sigint_kills)
{
    int st = child_raises_twice(SIGINT);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "status 0x%x", st);
}
END_TEST

START_TEST(repeated_usr1_and_term_do_not_kill)
{
    int st = child_raises_twice(SIGUSR1);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGUSR1: status 0x%x", st);
    st = child_raises_twice(SIGTERM);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: status 0x%x", st);
}
END_TEST

static Suite *signals_suite(void)
{
    Suite *s = suite_create("coord_signals");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, first_signal_wins_and_clear_resets);
    tcase_add_test(tc, second_sigint_kills);
    tcase_add_test(tc, repeated_usr1_and_term_do_not_kill);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(signals_suite(), argc, argv); }
