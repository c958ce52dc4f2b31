/*
 * main.c: the command line (DESIGN.md, fixed) and nothing else. It parses options and hands over to
 * the daemon or to the parse subcommand; all real work lives in the modules.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haf/cmd.h"
#include "haf/config.h"
#include "haf/footprint.h"
#include "haf/secmem.h"
#include "haf/reload.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: hsm-audit-forwarder [-c FILE] [-f] [-v]... [--once] [--dry-run] "
            "[--check-config]\n"
            "       hsm-audit-forwarder --reload\n"
            "       hsm-audit-forwarder parse [--format json|raw] "
            "[--input auto|audit|cwl-json|s3-export] [FILE...]\n"
            "       hsm-audit-forwarder report [--since T] [--until T] [--hsm ID]...\n"
            "           [--format text|json|html] [--output FILE] [-c FILE]\n"
            "           (FILE... | --log-group G [--log-stream-prefix P])\n"
            "       hsm-audit-forwarder verify [-c FILE] [--log-group G] [options] [FILE...]\n"
            "       hsm-audit-forwarder --version | --help\n"
            "\n"
            "Ships AWS CloudHSM audit log entries to Amazon CloudWatch Logs.\n"
            "\n"
            "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
            "  -f, --foreground   stay attached; human-readable log on stderr (debug mode)\n"
            "  -v, --verbose      more detail: -v each batch and HTTP status, -vv each entry\n"
            "      --once         ship everything up to EOF of every source, wait for every\n"
            "                     acknowledgement, save state and exit (non-zero if anything\n"
            "                     could not be delivered)\n"
            "      --dry-run      do everything but send: print each event as one JSON line\n"
            "      --check-config validate the configuration, print the resolved settings, exit\n"
            "      --reload       (ExecReload=) ask the daemon $MAINPID to reload; return once\n"
            "                     the new configuration is in use, 1 when it was refused\n"
            "  -h, --help         this help\n"
            "  -V, --version      version, build options and library versions\n"
            "\n"
            "parse: read audit log files or CloudWatch exports (stdin when none; gzip too) and\n"
            "print one JSON object (or the raw\n"
            "entry text with --format raw) per entry, one per line.\n"
            "report: the daily review of HSM activity (logins, users, keys, completeness) as\n"
            "text, JSON or one self-contained HTML page; see 'hsm-audit-forwarder report --help'.\n"
            "\n"
            "verify: prove a stream against its signed digests (see verify --help).\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

int
main(int argc, char **argv)
{
    enum { OPT_ONCE = 256, OPT_DRY_RUN, OPT_CHECK_CONFIG, OPT_RELOAD };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"once", no_argument, NULL, OPT_ONCE},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
        {"reload", no_argument, NULL, OPT_RELOAD},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct daemon_opts opts = {.config_path = CONFIG_DEFAULT_PATH};
    bool reload = false;
    int c;

    /* First, before any library allocates: wiping allocators, and no core dumps (secmem.h);
     * malloc's thresholds (footprint.h). */
    footprint_init();
    if (secmem_init() != 0)
        perror("hsm-audit-forwarder: prctl(PR_SET_DUMPABLE)");
    if (argc >= 2 && strcmp(argv[1], "parse") == 0)
        return cmd_parse(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);

    while ((c = getopt_long(argc, argv, "c:fvhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.config_path = optarg;
            break;
        case 'f':
            opts.foreground = true;
            break;
        case 'v':
            opts.verbosity++;
            break;
        case OPT_ONCE:
            opts.once = true;
            break;
        case OPT_DRY_RUN:
            opts.dry_run = true;
            break;
        case OPT_CHECK_CONFIG:
            opts.check_config = true;
            break;
        case OPT_RELOAD:
            reload = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            cmd_print_version();
            return 0;
        default:
            fprintf(stderr, "Try 'hsm-audit-forwarder --help' for more information.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hsm-audit-forwarder: unexpected argument '%s'\n", argv[optind]);
        fprintf(stderr, "Try 'hsm-audit-forwarder --help' for more information.\n");
        return EXIT_USAGE;
    }
    if (reload)
        return reload_request(getenv("MAINPID"), RELOAD_WAIT_MS);
    return daemon_main(&opts);
}
