/*
 * cmd.h: the modes main.c dispatches to. Each returns the process exit code:
 * 0 ok, 1 runtime failure, 2 usage or configuration error (DESIGN.md "Command line").
 */
#ifndef HAF_CMD_H
#define HAF_CMD_H

#include <stdbool.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* hsm-audit-forwarder parse [--format json|raw] [FILE...]; argv[0] is "parse". */
int cmd_parse(int argc, char **argv);

/* hsm-audit-forwarder report [...] (src/cmd_report.c); argv[0] is "report". */
int cmd_report(int argc, char **argv);

/* hsm-audit-forwarder verify ... (src/cmd_verify.c); argv[0] is "verify". Exit 0 only when every
 * stream is proven (or, without a key, when HSM sequence continuity holds), 1 otherwise, 2 on
 * usage and configuration errors. */
int cmd_verify(int argc, char **argv);

struct daemon_opts {
    const char *config_path;
    bool foreground;
    int verbosity;
    bool once;
    bool dry_run;
    bool check_config;
};

/* The daemon and its --once / --dry-run / --check-config variants (src/daemon.c). */
int daemon_main(const struct daemon_opts *opts);

/* Printed by --version: version, build options, library versions. */
void cmd_print_version(void);

#endif
