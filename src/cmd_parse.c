/*
 * cmd_parse.c: `hsm-audit-forwarder parse [--format json|raw] [--input ...] [FILE...]`: audit log
 * files (stdin when none, or for "-") to stdout, one entry per line (NDJSON) in file order. Each
 * file is opened through export_read.h, which decompresses gzip and tells plain audit files from
 * CloudWatch exports (or takes --input); CLI JSON events are parsed one message at a time, the
 * rest as a byte stream.
 *
 * json prints exactly the event messages the daemon would send, with "host" = this machine's
 * hostname and "source" = the file path ("-" for stdin). raw prints each entry's verbatim text
 * followed by a blank line: raw entries contain newlines, and the blank line is an entry boundary
 * to the parser, so the output parses back to the same entries.
 *
 * Speed: plain input is read with read(2) in 1 MiB chunks straight into the incremental parser (no
 * stdio, no line copies), output is gathered in a 1 MiB buffer written with write(2), and the
 * members every message ends with (host, source, hsm_id) are written once per file and copied
 * (audit_format_ctx_render), so the command runs at parser speed. A file that cannot be opened or
 * read is reported by name on stderr and the others are still processed; the exit code is then 1.
 * Flagged entries are normal output (exit 0): they carry parse_error and raw.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haf/audit.h"
#include "haf/cmd.h"
#include "haf/export_read.h"

#define PARSE_READ_BYTES  (1u << 20)
#define PARSE_FLUSH_BYTES (1u << 20)

struct parse_run {
    enum audit_format fmt;
    enum export_input input;
    struct audit_format_ctx fctx;
    struct buf fctx_json; /* fctx's members rendered once per file (fctx.rendered) */
    struct buf out;
    int write_errno; /* first write(2) failure; 0 while all is well */
    enum haf_err fmt_err;
};

static void
parse_usage(FILE *f)
{
    fprintf(
        f, "usage: hsm-audit-forwarder parse [--format json|raw] [--input auto|audit|cwl-json|"
           "s3-export] [FILE...]\n"
           "\n"
           "Parse CloudHSM audit log files (stdin when no FILE is given, or for \"-\") and print\n"
           "every entry to stdout, in file order.\n"
           "\n"
           "  --input auto   (default) tell the kind of each file by its first bytes: the JSON of\n"
           "                 'aws logs get-log-events' / 'filter-log-events' (cwl-json), the\n"
           "                 files of a CloudWatch Logs export to S3 (s3-export, \"<ISO time>\n"
           "                 <message>\" lines), or plain audit files (audit). gzip files are\n"
           "                 read directly. --input audit|cwl-json|s3-export forces one.\n"
           "  --format json  one JSON object per line (NDJSON), exactly the CloudWatch event\n"
           "                 message the daemon sends; \"host\" is this machine's hostname and\n"
           "                 \"source\" the file path (\"-\" for stdin). This is the default.\n"
           "  --format raw   each entry's verbatim text (lines joined by newlines) followed by\n"
           "                 a blank line, so the output parses back to the same entries.\n"
           "  -h, --help     this help\n"
           "\n"
           "Entries that cannot be fully parsed are still printed, with \"parse_error\" and\n"
           "\"raw\". Exit status: 0 when every input was read, 1 when a file could not be read\n"
           "or output could not be written, 2 on bad usage.\n");
}

static int
parse_write_all(struct parse_run *r)
{
    size_t off = 0;

    while (off < r->out.len && r->write_errno == 0) {
        ssize_t n = write(STDOUT_FILENO, r->out.p + off, r->out.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r->write_errno = errno;
            break;
        }
        off += (size_t)n;
    }
    buf_reset(&r->out);
    return r->write_errno == 0 ? 0 : -1;
}

static int
parse_on_entry(void *ctx, const struct haf_entry *e)
{
    struct parse_run *r = ctx;
    enum haf_err err = audit_format(e, r->fmt, &r->fctx, &r->out);

    if (err == HAF_OK && r->fmt == AUDIT_FORMAT_JSON && r->out.cap - r->out.len > 1) {
        /* the common case in two stores (the buffer keeps its NUL) */
        r->out.p[r->out.len++] = '\n';
        r->out.p[r->out.len] = '\0';
    } else if (err == HAF_OK) {
        err = r->fmt == AUDIT_FORMAT_RAW ? buf_add(&r->out, "\n\n", 2) : buf_addc(&r->out, '\n');
    }
    if (err != HAF_OK) {
        r->fmt_err = err;
        return 1;
    }
    if (r->out.len >= PARSE_FLUSH_BYTES && parse_write_all(r) != 0)
        return 1;
    return 0;
}

/* The hsm_id of events from a stream: the stream name when it is an HSM's ("hsm-..."). */
static const char *
hsm_of_stream(const char *stream)
{
    return stream && strncmp(stream, "hsm-", 4) == 0 ? stream : NULL;
}

struct cwl_run {
    struct parse_run *r;
    struct audit_parser *p;
    enum haf_err err;
};

/* One CloudWatch event of a cwl-json input: its message is one entry (or event). */
static int
parse_on_event(void *ctx, const struct export_event *ev)
{
    struct cwl_run *c = ctx;

    c->r->fctx.hsm_id = hsm_of_stream(ev->stream);
    c->r->fctx.rendered = SPAN_NULL; /* hsm_id changes per event: written from the members */
    audit_parser_reset(c->p, 0);
    c->err = audit_parser_feed(c->p, ev->message.p, ev->message.len, NULL, parse_on_entry, c->r);
    if (c->err == HAF_OK)
        c->err = audit_parser_flush(c->p, parse_on_entry, c->r);
    return c->err != HAF_OK;
}

/* One input: 0 ok, -1 when it could not be read (reported), -2 when output failed. */
static int
parse_file(struct parse_run *r, const char *path, char *rbuf)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct export_reader *x = NULL;
    struct audit_parser *p = NULL;
    enum haf_err err = HAF_OK, rerr = HAF_OK;
    const char *why = NULL;
    int rc = 0;

    rerr = export_open(path, r->input, &x, &why);
    if (rerr != HAF_OK) {
        fprintf(stderr, "hsm-audit-forwarder parse: %s '%s': %s\n", why, path,
                rerr == HAF_EIO ? strerror(errno) : haf_err_str(rerr));
        return rerr == HAF_ENOMEM ? -2 : -1;
    }
    p = audit_parser_new(NULL);
    if (p == NULL) {
        fprintf(stderr, "hsm-audit-forwarder parse: out of memory\n");
        rc = -2;
        goto out;
    }
    r->fctx.source = is_stdin ? "-" : path;
    r->fctx.hsm_id = hsm_of_stream(export_stream_hint(x));
    buf_reset(&r->fctx_json);
    r->fctx.rendered = SPAN_NULL;
    if (audit_format_ctx_render(&r->fctx, &r->fctx_json) == HAF_OK)
        r->fctx.rendered = buf_span(&r->fctx_json);
    if (export_input_of(x) == EXPORT_INPUT_CWL_JSON) {
        struct cwl_run c = {.r = r, .p = p, .err = HAF_OK};
        rerr = export_events(x, parse_on_event, &c, &why);
        err = c.err;
        if (rerr == HAF_EAGAIN)
            rerr = HAF_OK;
    } else {
        /* Plain audit files and S3 exports go through the incremental parser as bytes: it reads
         * the export's timestamp prefix itself. */
        for (;;) {
            size_t n;
            rerr = export_read(x, rbuf, PARSE_READ_BYTES, &n, &why);
            if (rerr != HAF_OK || n == 0)
                break;
            err = audit_parser_feed(p, rbuf, n, NULL, parse_on_entry, r);
            if (err != HAF_OK)
                break;
        }
        /* What was read is still printed, also after a read error. */
        if (err == HAF_OK)
            err = audit_parser_flush(p, parse_on_entry, r);
    }
    if (rerr != HAF_OK) {
        fprintf(stderr, "hsm-audit-forwarder parse: '%s': %s%s%s\n", path, why ? why : "",
                rerr == HAF_EIO ? ": " : "", rerr == HAF_EIO ? strerror(errno) : "");
        rc = -1;
    }
    if (err != HAF_OK) {
        if (r->write_errno == 0)
            fprintf(stderr, "hsm-audit-forwarder parse: '%s': %s\n", path,
                    haf_err_str(r->fmt_err != HAF_OK ? r->fmt_err : err));
        rc = -2;
    }
out:
    audit_parser_free(p);
    export_close(x);
    return rc;
}

int
cmd_parse(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'F'},
        {"input", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct parse_run r = {.fmt = AUDIT_FORMAT_JSON};
    char host[HOST_NAME_MAX + 1];
    char *rbuf = NULL;
    int c, status = 0;
    static char *const stdin_only[] = {"-", NULL};
    char *const *files;
    int nfiles;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'F':
            if (strcmp(optarg, "json") == 0) {
                r.fmt = AUDIT_FORMAT_JSON;
            } else if (strcmp(optarg, "raw") == 0) {
                r.fmt = AUDIT_FORMAT_RAW;
            } else {
                fprintf(stderr,
                        "hsm-audit-forwarder parse: unknown format '%s' (json or raw)\n"
                        "Try 'hsm-audit-forwarder parse --help' for more information.\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'I':
            if (!export_input_parse(optarg, &r.input)) {
                fprintf(stderr,
                        "hsm-audit-forwarder parse: unknown input '%s' (auto, audit, cwl-json or "
                        "s3-export)\n"
                        "Try 'hsm-audit-forwarder parse --help' for more information.\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            parse_usage(stdout);
            return 0;
        case ':':
            fprintf(stderr,
                    "hsm-audit-forwarder parse: option '%s' needs a value\n"
                    "Try 'hsm-audit-forwarder parse --help' for more information.\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr,
                    "hsm-audit-forwarder parse: unknown option '%s'\n"
                    "Try 'hsm-audit-forwarder parse --help' for more information.\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    r.fctx.host = host[0] ? host : NULL;
    buf_init(&r.out, 0);
    buf_init(&r.fctx_json, 0);
    rbuf = malloc(PARSE_READ_BYTES);
    if (rbuf == NULL || buf_reserve(&r.out, PARSE_FLUSH_BYTES + 65536) != HAF_OK) {
        fprintf(stderr, "hsm-audit-forwarder parse: out of memory\n");
        status = EXIT_RUNTIME;
        goto out;
    }
    files = optind < argc ? argv + optind : stdin_only;
    nfiles = optind < argc ? argc - optind : 1;
    for (int i = 0; i < nfiles; i++) {
        int rc = parse_file(&r, files[i], rbuf);
        if (rc != 0)
            status = EXIT_RUNTIME;
        if (rc == -2)
            break;
    }
    if (parse_write_all(&r) != 0 || r.write_errno != 0) {
        fprintf(stderr, "hsm-audit-forwarder parse: cannot write output: %s\n",
                strerror(r.write_errno));
        status = EXIT_RUNTIME;
    }
out:
    free(rbuf);
    buf_clean_up(&r.out);
    buf_clean_up(&r.fctx_json);
    return status;
}
