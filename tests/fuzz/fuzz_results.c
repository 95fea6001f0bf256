/* fuzz_results.c - the results-file validator (ns_results_check, the store's
 * check that `run --resume`, `merge` and `status` make before they touch a
 * file) on arbitrary bytes as an HDF5 file: against the spec the seed file was
 * written for (same_spec, as --resume does) and with no spec (as status does).
 * Any input must give NS_OK or an error status with a message; never a crash,
 * hang or leak in the caller. The check reads the file in a child process
 * (HDF5 itself may crash or loop on a damaged file: that is reported, not
 * suffered), so libFuzzer gets no coverage from inside it: this harness tests
 * the contract on mutated files rather than steering into HDF5's parser.
 * Corpus: tests/fuzz/results/ (a file of the spec below with text as
 * fixed-length strings, seed-tiny, and as netCDF char arrays, seed-tiny-chars;
 * damaged copies, crash-* inputs on which HDF5 crashes inside the checking
 * process, hang-* ones on which it loops there). */
#define _DEFAULT_SOURCE /* mkstemp, setenv */
#include "normsweep/results.h"
#include "normsweep/spec.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The spec of tests/fuzz/results/seed-tiny (normsweep run of this text). */
static const char *const seed_spec =
    "name: fuzz\n"
    "data: \"synthetic-cls:n=32,test=8,c=1,h=2,w=2,classes=2\"\n"
    "train: {steps: 4, batch: 4, eval_every: 2, log_every: 1}\n"
    "grid: {lr: [0.1], arch: [\"mlp:4-3-2\"], norm: [none, batch], seed: [0]}\n";

static char path[64];
static ns_spec *spec;

static void cleanup(void)
{
    unlink(path);
    ns_spec_free(spec);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%.40s/ns_fuzz_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) abort();
    close(fd);
    if (ns_spec_parse(seed_spec, "seed.yaml", &spec, NULL) != NS_OK) abort();
    /* a loop in HDF5 ends as a refusal after 2 s per check, well inside
     * libFuzzer's -timeout (an input on which HDF5 loops: hang-* in the corpus) */
    setenv("NS_ISOLATE_TIMEOUT_S", "2", 0);
    atexit(cleanup);
}

/* 1 when the check's result is acceptable: NS_OK, or a refusal that says why. */
static int answered(ns_status st) { return st == NS_OK || ns_error_msg()[0] != '\0'; }

/* The deadly signals, default while a check runs: the checking child inherits
 * them, so HDF5 crashing on a damaged file kills the child by a signal - which
 * the check reports as a refusal - instead of running libFuzzer's or ASan's
 * crash handler there, which would record the child's crash as a finding. */
static const int deadly[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
enum { NDEADLY = sizeof deadly / sizeof deadly[0] };

static void default_deadly(struct sigaction *saved)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int i = 0; i < NDEADLY; i++) sigaction(deadly[i], &dfl, &saved[i]);
}

static void restore_deadly(const struct sigaction *saved)
{
    for (int i = 0; i < NDEADLY; i++) sigaction(deadly[i], &saved[i], NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    if (!spec) setup();
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    struct sigaction saved[NDEADLY];
    default_deadly(saved);
    int ok = answered(ns_results_check(path, spec, 1));
    ok &= answered(ns_results_check(path, NULL, 0));
    restore_deadly(saved); /* before abort(): libFuzzer must see a finding here */
    if (!ok) abort();
    ns_error_clear();
    return 0;
}
