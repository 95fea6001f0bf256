/* cli.h - the subcommand table. Each subcommand lives in src/cli/cmd_<name>.c
 * and has the signature of main(): argv[0] is the subcommand's name. It
 * returns an NS_EXIT_* code and never calls exit(). */
#ifndef NORMSWEEP_CLI_H
#define NORMSWEEP_CLI_H

typedef struct ns_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
} ns_command;

/* Terminated by an entry with name == NULL. Defined in src/cli/commands.c. */
extern const ns_command ns_commands[];

int ns_cmd_bench(int argc, char **argv);
int ns_cmd_plan(int argc, char **argv);   /* src/cli/cmd_plan.c */
int ns_cmd_run(int argc, char **argv);    /* src/cli/cmd_run.c */
int ns_cmd_status(int argc, char **argv); /* src/cli/cmd_status.c */
int ns_cmd_merge(int argc, char **argv);  /* src/cli/cmd_merge.c */
/* Parts of `bench`, each in its own file; argv is bench's own argv. */
int ns_bench_data(int argc, char **argv);  /* src/cli/bench_data.c  */
int ns_bench_train(int argc, char **argv); /* src/cli/bench_train.c */
int ns_bench_probe(int argc, char **argv); /* src/cli/bench_probe.c */
int ns_bench_hvp(int argc, char **argv);   /* src/cli/bench_hvp.c   */

#endif
