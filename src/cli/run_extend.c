/* run_extend.c - see run_extend.h; the design is in docs/cli.md ("Extending a
 * sweep"), run identity in docs/sweep-format.md. */
#include "run_extend.h"

#include "cli_util.h"
#include "normsweep/h5store.h"
#include "normsweep/run.h"
#include "normsweep/version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ns_status ns_extend_paths(ns_extend *x, const char *out)
{
    x->out = out;
    NS_TRY(ns_cli_path(x->work, sizeof x->work, "the extension's file", "%s.extending", out));
    NS_TRY(ns_cli_path(x->old_ckpt, sizeof x->old_ckpt, "the checkpoint directory", "%s.ckpt", out));
    return ns_cli_path(x->new_ckpt, sizeof x->new_ckpt, "the extension's checkpoint directory",
                       "%s.ckpt", x->work);
}

/* ------------------------------------------------------------ plan */

/* The root attributes of OUT that plan needs (malloc'd; history may be NULL). */
enum { A_TEXT, A_CANON, A_NAME, A_CREATED, A_VERSION, A_GIT, A_HISTORY, A_COUNT };
static const char *const attr_names[A_COUNT] = {"spec_text", "spec_canonical", "spec_name",
                                                "created_utc", "normsweep_version",
                                                "git_commit", "history"};

static ns_status read_attrs(const char *path, char *a[A_COUNT])
{
    ns_h5 *h = NULL;
    NS_TRY(ns_h5_open(path, MPI_COMM_NULL, 0, &h));
    ns_status st = NS_OK;
    for (int k = 0; k < A_COUNT && st == NS_OK; k++)
        if (ns_h5_get_attr(h, attr_names[k], &a[k]) != NS_OK && k != A_HISTORY)
            st = ns_error_set(NS_ERR_FORMAT, "%s: no '%s' attribute", path, attr_names[k]);
    ns_h5_close(h);
    return st;
}

/* CF `history` of the new file: OUT's own lines, then what this extension keeps. */
static ns_status make_history(ns_extend *x, char *a[A_COUNT])
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *fmt = "%s%s%s: normsweep %s (%s) run --extend: the %d runs of %s (sweep %s, "
                      "created %s by normsweep %s (%s), spec_canonical %s) kept in a sweep of %d "
                      "runs";
    const char *prev = a[A_HISTORY] ? a[A_HISTORY] : "";
    int n = snprintf(NULL, 0, fmt, prev, *prev ? "\n" : "", now, NS_VERSION, ns_git_commit(),
                     x->nkept, x->out, a[A_NAME], a[A_CREATED], a[A_VERSION], a[A_GIT],
                     a[A_CANON], x->spec->nruns);
    x->history = n >= 0 ? malloc((size_t)n + 1) : NULL;
    NS_CHECK(x->history, NS_ERR_NOMEM, "out of memory for the history of %s", x->work);
    snprintf(x->history, (size_t)n + 1, fmt, prev, *prev ? "\n" : "", now, NS_VERSION,
             ns_git_commit(), x->nkept, x->out, a[A_NAME], a[A_CREATED], a[A_VERSION], a[A_GIT],
             a[A_CANON], x->spec->nruns);
    return NS_OK;
}

/* The spec OUT was written with, and each of its runs found in x->spec. */
static ns_status match_runs(ns_extend *x, const char *text)
{
    char *errors = NULL;
    ns_status st = ns_spec_parse(text, x->out, &x->old, &errors);
    if (st != NS_OK) {
        /* one line: the first message (all of them are in `errors`) */
        char first[512];
        snprintf(first, sizeof first, "%s", errors ? errors : ns_error_msg());
        first[strcspn(first, "\n")] = '\0';
        free(errors);
        return ns_error_set(NS_ERR_FORMAT, "%s: the sweep spec stored in it no longer validates "
                            "(%s): it cannot be extended", x->out, first);
    }
    x->nkept = x->old->nruns;
    x->old_of_new = malloc(sizeof *x->old_of_new * (size_t)x->spec->nruns);
    NS_CHECK(x->old_of_new, NS_ERR_NOMEM, "out of memory for %d runs", x->spec->nruns);
    return ns_spec_match_runs(x->old, x->out, x->spec, x->spec->path, x->old_of_new);
}

/* OUT.extending exists: it must be this extension's (same spec), else it is
 * somebody's unfinished work and is not touched. */
static ns_status check_work(ns_extend *x)
{
    if (ns_results_check(x->work, x->spec, NS_RESULTS_SAME_SPEC) == NS_OK) return NS_OK;
    char why[512];
    snprintf(why, sizeof why, "%s", ns_error_msg());
    return ns_error_set(NS_ERR_ARG, "%s is in the way (%s): an extension of %s that is not this "
                        "one; finish it with its own spec, or delete it and %s to start over",
                        x->work, why, x->out, x->new_ckpt);
}

static ns_status plan(ns_extend *x, char *a[A_COUNT], int extend, int have_work)
{
    /* OUT is read only after it passed the check (a damaged file is a message) */
    NS_TRY(ns_results_check(x->out, NULL, 0));
    NS_TRY(read_attrs(x->out, a));
    char *canon = ns_spec_canonical(x->spec);
    NS_CHECK(canon, NS_ERR_NOMEM, "out of memory");
    int same = strcmp(canon, a[A_CANON]) == 0;
    free(canon);
    if (same) return NS_OK; /* OUT holds this sweep: nothing to add, an ordinary resume */
    if (!extend && ns_results_check(x->work, x->spec, NS_RESULTS_SAME_SPEC) != NS_OK)
        return NS_OK; /* --resume, and no extension to this spec in progress */
    NS_TRY(match_runs(x, a[A_TEXT]));
    if (have_work) {
        NS_TRY(check_work(x));
        x->mode = NS_EXTEND_CONTINUE;
        return NS_OK;
    }
    NS_TRY(make_history(x, a));
    x->mode = NS_EXTEND_NEW;
    return NS_OK;
}

ns_status ns_extend_plan(ns_extend *x, const char *out, const ns_spec *spec, int extend)
{
    int have_work = 0, have_dir = 0, have_progress = 0;
    char progress[PATH_MAX];
    x->mode = NS_EXTEND_NONE;
    x->spec = spec;
    NS_TRY(ns_extend_paths(x, out));
    NS_TRY(ns_cli_path(progress, sizeof progress, "the extension's progress file",
                       "%s.progress.json", x->work));
    NS_TRY(ns_cli_stat_as(x->work, NS_REGULAR_FILE, "the extension in progress", &have_work));
    NS_TRY(ns_cli_stat_as(x->new_ckpt, NS_DIRECTORY, "the extension's checkpoints", &have_dir));
    NS_TRY(ns_cli_stat_as(progress, NS_REGULAR_FILE, "the extension's progress file",
                          &have_progress));
    if (!extend && !have_work) return NS_OK; /* --resume: nothing to continue but OUT */
    char *a[A_COUNT] = {0};
    ns_status st = plan(x, a, extend, have_work);
    for (int k = 0; k < A_COUNT; k++) free(a[k]);
    return st;
}

/* ------------------------------------------------------------ carry */

/* The checkpoint of run `run` in dir, and the one of `old` in OUT's. */
static ns_status ckpt_pair(const ns_extend *x, int run, int old, char *to, char *from)
{
    NS_TRY(ns_cli_path(from, PATH_MAX, "a checkpoint", "%s/run_%05d.ckpt", x->old_ckpt, old));
    return ns_cli_path(to, PATH_MAX, "a checkpoint", "%s/run_%05d.ckpt", x->new_ckpt, run);
}

/* OUT's unfinished run `old` continues as run `run` of the extension when it
 * has a checkpoint of its own config, and the extension has none for it. */
static int can_resume(void *ctx, int run, int old)
{
    ns_extend *x = ctx;
    char from[PATH_MAX], to[PATH_MAX];
    return ckpt_pair(x, run, old, to, from) == NS_OK && access(to, F_OK) != 0 &&
           ns_run_checkpoint_move(from, &x->old->runs[old], NULL, &x->spec->runs[run]) == NS_OK;
}

static ns_status resume(void *ctx, int run, int old)
{
    ns_extend *x = ctx;
    char from[PATH_MAX], to[PATH_MAX];
    NS_TRY(ckpt_pair(x, run, old, to, from));
    return ns_run_checkpoint_move(from, &x->old->runs[old], to, &x->spec->runs[run]);
}

ns_status ns_extend_carry(ns_extend *x)
{
    ns_carry_ops ops = {x, can_resume, resume};
    return ns_results_carry(x->work, x->out, x->old_of_new, x->spec->nruns, &ops, &x->carried);
}

/* ------------------------------------------------------------ commit */

/* Make the renames in the directory of path durable. */
static void sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else slash[slash == dir] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static ns_status rename_or_fail(const char *from, const char *to)
{
    if (rename(from, to) == 0) return NS_OK;
    return ns_error_set(NS_ERR_IO, "cannot rename %s to %s: %s", from, to, strerror(errno));
}

ns_status ns_extend_commit(ns_extend *x)
{
    char from[PATH_MAX], to[PATH_MAX];
    NS_TRY(ns_results_check(x->work, x->spec, NS_RESULTS_SAME_SPEC));
    /* OUT's checkpoints belong to OUT's run numbers: gone before the
     * extension's (of failed runs, if any) take their place */
    if (ns_cli_clear_checkpoints(x->old_ckpt) == 0) rmdir(x->old_ckpt);
    if (access(x->new_ckpt, F_OK) == 0 && rmdir(x->new_ckpt) != 0) /* not empty: keep them */
        NS_TRY(rename_or_fail(x->new_ckpt, x->old_ckpt));
    NS_TRY(ns_cli_path(from, sizeof from, "a progress file", "%s.progress.json", x->work));
    NS_TRY(ns_cli_path(to, sizeof to, "a progress file", "%s.progress.json", x->out));
    if (access(from, F_OK) == 0) NS_TRY(rename_or_fail(from, to));
    NS_TRY(rename_or_fail(x->work, x->out)); /* the commit: OUT is the extended sweep */
    sync_dir_of(x->out);
    return NS_OK;
}

void ns_extend_free(ns_extend *x)
{
    ns_spec_free(x->old);
    free(x->old_of_new);
    free(x->history);
    x->old = NULL;
    x->old_of_new = NULL;
    x->history = NULL;
}
