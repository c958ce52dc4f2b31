/*
 * cmd_report.c: `hsm-audit-forwarder report`: the daily review of HSM activity from audit files,
 * our JSON events, CloudHSM's raw text, or straight from a CloudWatch log group (see report.h
 * for what it shows and the man page for the JSON schema).
 *
 * Files are read in command-line order through the export reader (export_read.h: gzip undone,
 * the format detected or forced with --input): CloudWatch JSON and S3 exports event by event
 * (the event's stream names the HSM), audit text and our NDJSON through a report feeder; the HSM of
 * an entry without hsm_id is the file's base name without its last extension, so "hsm-1.log" and
 * "hsm-1.json" (the raw text and `parse` JSON of the same entries) report the same HSM. From
 * CloudWatch, the streams of the group (by prefix) are listed, then each is read from its head with
 * GetLogEvents over the period, in its stored order, so sequence continuity is judged per stream; a
 * stream named "*.digest" holds digest records (`verify`'s business) and is skipped, and so are
 * the forwarder's health records (EMF, health.h) wherever they are. The
 * configuration (-c) gives region, endpoint, TLS, proxy and credentials exactly as for the daemon.
 *
 * Progress goes to stderr once the run has taken more than a second, at most once a second. The
 * output is written at the end (to --output through a temporary file renamed into place, so a
 * reader of the daily report never sees half of one). Exit: 0, 1 when an input could not be read
 * completely (the report is still written, saying what was read), 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "haf/cmd.h"
#include "haf/config.h"
#include "haf/cwl_session.h"
#include "haf/health.h"
#include "haf/export_read.h"
#include "haf/logs_reader.h"
#include "haf/report.h"
#include "haf/report_input.h"

#define REPORT_MAX_STREAMS 10000
#define PROGRESS_AFTER_MS  1000
#define FILE_CHUNK_BYTES   (1u << 20)
#define ME                 "hsm-audit-forwarder report"

enum report_format { FMT_TEXT, FMT_JSON, FMT_HTML };

struct run {
    struct report *r;
    const char *config_path;
    const char *group;
    const char *prefix;
    const char *output;
    enum report_format fmt;
    uint32_t page_size;
    enum export_input input;
    int64_t start_mono_ms;
    int64_t last_progress_ms;
    const char *stream; /* being read */
    char **streams;
    size_t n_streams;
    bool truncated_streams;
    bool progress_shown;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: " ME " [--since T] [--until T] [--hsm ID]... [--format text|json|html]\n"
            "           [--output FILE] [-c CONFIG] (FILE... | --log-group G "
            "[--log-stream-prefix P])\n"
            "\n"
            "The review of HSM activity: completeness per HSM (reboot counters, sequence gaps),\n"
            "logins (failed by user and reason, bursts), user management, key lifecycle,\n"
            "critical operations, HSM errors, commands by opcode and activity over time.\n"
            "\n"
            "  FILE...                 audit log files, raw CloudHSM text, our JSON events\n"
            "                          (`parse` output), `aws logs get-log-events` JSON or S3\n"
            "                          export files, gzip or not; \"-\" is stdin\n"
            "  --input F               auto (default), audit, cwl-json or s3-export\n"
            "  --log-group G           read CloudWatch Logs instead (every stream, or those\n"
            "  --log-stream-prefix P   starting with P), with the region, endpoint, TLS and\n"
            "  -c, --config FILE       credentials of the daemon's configuration (optional)\n"
            "  --since T, --until T    the period: ISO 8601 UTC (2026-12-06, 2026-12-06T08:00Z)\n"
            "                          or a duration before now (24h, 7d, 30m, 2w)\n"
            "  --hsm ID                only this HSM (stream or hsm_id); repeatable\n"
            "  --page-size N           CloudWatch events per request (1-10000; default: the\n"
            "                          service's, up to 1 MB per page)\n"
            "  --format F              text (default), json or html (one self-contained page)\n"
            "  --output FILE           write there (atomically) instead of stdout\n"
            "  -h, --help              this help\n"
            "\n"
            "Exit status: 0 ok, 1 an input could not be read completely, 2 usage error.\n");
}

static void
progress_line(struct run *run, const char *what, uint64_t n, const char *unit, uint64_t retries)
{
    int64_t now = mono_ms();

    if (now - run->start_mono_ms < PROGRESS_AFTER_MS ||
        now - run->last_progress_ms < PROGRESS_AFTER_MS)
        return;
    run->last_progress_ms = now;
    run->progress_shown = true;
    fprintf(stderr, ME ": %.1f s: %s: %llu %s, %llu entries so far",
            (double)(now - run->start_mono_ms) / 1000.0, what, (unsigned long long)n, unit,
            (unsigned long long)run->r->entries);
    if (retries)
        fprintf(stderr, " (%llu retries)", (unsigned long long)retries);
    fprintf(stderr, "\n");
}

/* ---- files ---- */

/* "dir/hsm-1.log" -> "hsm-1"; "-" -> "stdin". */
static struct span
file_hsm(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot;

    if (strcmp(path, "-") == 0)
        return SPAN_LIT("stdin");
    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    return span_make(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

struct export_ctx {
    struct run *run;
    struct span hsm;
};

/* An event of a CloudWatch export (get-log-events JSON, S3 export lines). */
static int
on_export_event(void *ctx, const struct export_event *ev)
{
    struct export_ctx *x = ctx;
    struct span hsm = ev->stream ? span_cstr(ev->stream) : x->hsm;

    return report_feed_message(x->run->r, hsm, ev->timestamp_ms, ev->message) == HAF_OK ? 0 : 1;
}

/* Bytes of audit text or our NDJSON (gzip already undone by the export reader). */
static enum haf_err
feed_bytes(struct run *run, struct export_reader *x, const char *path, struct span hsm,
           const char **why)
{
    struct report_feeder *f = report_feeder_new(run->r, hsm);
    char *chunk = malloc(FILE_CHUNK_BYTES);
    enum haf_err e = f && chunk ? HAF_OK : HAF_ENOMEM, e2;
    uint64_t total = 0;
    size_t n = 0;

    while (e == HAF_OK && (e = export_read(x, chunk, FILE_CHUNK_BYTES, &n, why)) == HAF_OK &&
           n > 0) {
        e = report_feeder_add(f, chunk, n);
        total += n;
        progress_line(run, path, total >> 20, "MiB", 0);
    }
    e2 = report_feeder_end(f);
    free(chunk);
    return e != HAF_OK ? e : e2;
}

static int
read_files(struct run *run, char **files, int n)
{
    int status = 0;

    for (int i = 0; i < n; i++) {
        struct export_ctx ctx = {run, file_hsm(files[i])};
        struct export_reader *x = NULL;
        const char *why = "";
        enum haf_err e = export_open(files[i], run->input, &x, &why);
        enum export_input in;

        if (e != HAF_OK) {
            fprintf(stderr, ME ": cannot read '%s': %s%s%s\n", files[i], why[0] ? why : "",
                    why[0] ? ": " : "", e == HAF_EIO ? strerror(errno) : haf_err_str(e));
            status = EXIT_RUNTIME;
            continue;
        }
        report_note_source(run->r, files[i]);
        in = export_input_of(x);
        if (in == EXPORT_INPUT_CWL_JSON || in == EXPORT_INPUT_S3)
            e = export_events(x, on_export_event, &ctx, &why);
        else
            e = feed_bytes(run, x, files[i], ctx.hsm, &why);
        if (e != HAF_OK) {
            fprintf(stderr, ME ": '%s': %s%s%s\n", files[i], haf_err_str(e), why[0] ? ": " : "",
                    why);
            status = EXIT_RUNTIME;
        }
        export_close(x);
        progress_line(run, files[i], (uint64_t)i + 1, "files", 0);
    }
    return status;
}

/* ---- CloudWatch ---- */

static int
on_stream_name(void *ctx, struct span name)
{
    struct run *run = ctx;
    char *copy;

    if (name.len >= 7 && memcmp(name.p + name.len - 7, ".digest", 7) == 0) {
        report_note_digest_stream(run->r);
        return 0;
    }
    if (run->n_streams == REPORT_MAX_STREAMS) {
        run->truncated_streams = true;
        return 1;
    }
    copy = strndup(name.p, name.len);
    if (copy == NULL)
        return 1;
    run->streams[run->n_streams++] = copy;
    return 0;
}

static int
on_event(void *ctx, const struct logs_event *ev)
{
    struct run *run = ctx;

    /* The forwarder's own health records (health: in its config) are not audit events. */
    if (health_is_record(ev->message))
        return 0;
    return report_feed_message(run->r, ev->stream, ev->timestamp_ms, ev->message) == HAF_OK ? 0 : 1;
}

static void
on_progress(void *ctx, const struct logs_progress *p)
{
    struct run *run = ctx;

    progress_line(run, run->stream, p->events, "events", p->retries);
}

static void
say_cwl_failure(const char *what, enum haf_err e, const struct cwl_result *res)
{
    fprintf(stderr, ME ": %s: %s", what, haf_err_str(e));
    if (e == HAF_EREJECTED || e == HAF_EAGAIN || e == HAF_ECREDS)
        fprintf(stderr, " (%s%s%s%s%s)", cwl_class_str(res->cls), res->error_type[0] ? ": " : "",
                res->error_type, res->message[0] ? ": " : "", res->message);
    fprintf(stderr, "\n");
}

static int
read_group(struct run *run)
{
    struct logs_reader_opts o = {
        .progress = on_progress, .progress_ctx = run, .page_limit = run->page_size};
    struct haf_config *cfg = NULL;
    struct cwl_session s;
    struct cwl_result res;
    struct buf why;
    char src[600];
    enum haf_err e;
    int status = 0;

    buf_init(&why, 1 << 16);
    if (run->config_path) {
        e = config_load(run->config_path, &cfg, &why);
        if (e != HAF_OK) {
            fprintf(stderr, ME ": %s: %s\n%s", run->config_path, haf_err_str(e), buf_cstr(&why));
            buf_clean_up(&why);
            return EXIT_USAGE;
        }
    }
    e = cwl_session_open(&s, cfg, 0, &why);
    if (e != HAF_OK) {
        fprintf(stderr, ME ": %s\n", why.len ? buf_cstr(&why) : haf_err_str(e));
        status = EXIT_USAGE;
        goto out;
    }
    snprintf(src, sizeof(src), "%s%s%s", run->group, run->prefix ? " / " : "",
             run->prefix ? run->prefix : "");
    report_note_source(run->r, src);
    run->streams = calloc(REPORT_MAX_STREAMS, sizeof(char *));
    if (run->streams == NULL) {
        status = EXIT_RUNTIME;
        goto out;
    }
    run->stream = "listing streams";
    e = logs_reader_list_streams(s.cwl, run->group, run->prefix, &o, on_stream_name, run, &res);
    if (e != HAF_OK) {
        say_cwl_failure("DescribeLogStreams", e, &res);
        status = EXIT_RUNTIME;
        goto out;
    }
    if (run->truncated_streams)
        fprintf(stderr, ME ": more than %d streams: only the first are read\n", REPORT_MAX_STREAMS);
    for (size_t i = 0; i < run->n_streams; i++) {
        run->stream = run->streams[i];
        e = logs_reader_stream(s.cwl, run->group, run->streams[i], run->r->opts.since_ms,
                               run->r->opts.until_ms, &o, on_event, run, &res);
        if (e != HAF_OK) {
            say_cwl_failure(run->streams[i], e, &res);
            status = EXIT_RUNTIME;
        }
    }
out:
    for (size_t i = 0; i < run->n_streams; i++)
        free(run->streams[i]);
    free(run->streams);
    cwl_session_close(&s);
    config_free(cfg);
    buf_clean_up(&why);
    return status;
}

/* ---- output ---- */

static int
write_all(int fd, const struct buf *b)
{
    size_t off = 0;

    while (off < b->len) {
        ssize_t n = write(fd, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

static int
write_output(const struct run *run, const struct buf *b)
{
    char tmp[4096];
    int fd, rc;

    if (run->output == NULL || strcmp(run->output, "-") == 0)
        return write_all(STDOUT_FILENO, b) == 0 ? 0 : EXIT_RUNTIME;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", run->output, (long)getpid()) >= (int)sizeof(tmp))
        return EXIT_USAGE;
    /* O_EXCL | O_NOFOLLOW: in a shared directory a planted file or symlink of that name is
     * refused, never followed or truncated. The report names users: not world-readable. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, ME ": cannot create '%s': %s\n", tmp, strerror(errno));
        return EXIT_RUNTIME;
    }
    rc = write_all(fd, b) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, run->output) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, ME ": cannot write '%s': %s\n", run->output, strerror(errno));
        unlink(tmp);
        return EXIT_RUNTIME;
    }
    return 0;
}

static int
render(struct run *run)
{
    struct buf out;
    enum haf_err e;
    int rc;

    buf_init(&out, 0);
    report_finish(run->r);
    if (run->fmt == FMT_JSON)
        e = report_render_json(run->r, &out);
    else if (run->fmt == FMT_HTML)
        e = report_render_html(run->r, &out);
    else
        e = report_render_text(run->r, &out);
    if (e != HAF_OK) {
        fprintf(stderr, ME ": rendering: %s\n", haf_err_str(e));
        buf_clean_up(&out);
        return EXIT_RUNTIME;
    }
    rc = write_output(run, &out);
    buf_clean_up(&out);
    return rc;
}

/* ---- options ---- */

/* "what" and "arg" are joined: usage_error("unknown format", "x") -> "unknown format 'x'". */
static int
usage_error(const char *what, const char *arg)
{
    fprintf(stderr, ME ": %s%s%s%s\nTry '" ME " --help' for more information.\n", what,
            arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

static int
parse_when(const char *arg, int64_t *out)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (report_parse_time(arg, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out) != HAF_OK)
        return usage_error("not a time (ISO 8601 UTC, or 24h, 7d, 30m):", arg);
    return 0;
}

int
cmd_report(int argc, char **argv)
{
    enum {
        OPT_SINCE = 256,
        OPT_UNTIL,
        OPT_HSM,
        OPT_FORMAT,
        OPT_OUTPUT,
        OPT_GROUP,
        OPT_PREFIX,
        OPT_PAGE,
        OPT_INPUT
    };
    static const struct option longopts[] = {
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"hsm", required_argument, NULL, OPT_HSM},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"log-group", required_argument, NULL, OPT_GROUP},
        {"log-stream-prefix", required_argument, NULL, OPT_PREFIX},
        {"page-size", required_argument, NULL, OPT_PAGE},
        {"input", required_argument, NULL, OPT_INPUT},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *hsms[REPORT_MAX_HSM_FILTER];
    struct report_opts ro = {.hsms = hsms};
    struct run run = {.fmt = FMT_TEXT};
    int c, status;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SINCE:
            if (parse_when(optarg, &ro.since_ms) != 0)
                return EXIT_USAGE;
            break;
        case OPT_UNTIL:
            if (parse_when(optarg, &ro.until_ms) != 0)
                return EXIT_USAGE;
            break;
        case OPT_HSM:
            if (ro.n_hsms == REPORT_MAX_HSM_FILTER)
                return usage_error("too many --hsm (at most 32)", NULL);
            hsms[ro.n_hsms++] = optarg;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                run.fmt = FMT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                run.fmt = FMT_JSON;
            else if (strcmp(optarg, "html") == 0)
                run.fmt = FMT_HTML;
            else
                return usage_error("unknown format (text, json or html):", optarg);
            break;
        case OPT_OUTPUT:
            run.output = optarg;
            break;
        case OPT_GROUP:
            run.group = optarg;
            break;
        case OPT_PREFIX:
            run.prefix = optarg;
            break;
        case OPT_PAGE: {
            uint64_t v;
            if (!span_to_u64_dec(span_cstr(optarg), &v) || v < 1 || v > 10000)
                return usage_error("--page-size must be 1..10000, not", optarg);
            run.page_size = (uint32_t)v;
            break;
        }
        case OPT_INPUT:
            if (!export_input_parse(optarg, &run.input))
                return usage_error("unknown input (auto, audit, cwl-json or s3-export):", optarg);
            break;
        case 'c':
            run.config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return usage_error("this option needs a value:", argv[optind - 1]);
        default:
            return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (ro.since_ms && ro.until_ms && ro.until_ms <= ro.since_ms)
        return usage_error("--until must be after --since", NULL);
    if ((run.group != NULL) == (optind < argc))
        return usage_error("give FILE... or --log-group, one of the two", NULL);
    if (run.prefix && run.group == NULL)
        return usage_error("--log-stream-prefix needs --log-group", NULL);
    run.r = report_new(&ro);
    if (run.r == NULL) {
        fprintf(stderr, ME ": out of memory\n");
        return EXIT_RUNTIME;
    }
    run.start_mono_ms = mono_ms();
    status = run.group ? read_group(&run) : read_files(&run, argv + optind, argc - optind);
    if (status != EXIT_USAGE) {
        int rc = render(&run);
        if (rc != 0)
            status = rc;
    }
    if (run.progress_shown)
        fprintf(stderr, ME ": %llu entries in %.1f s\n", (unsigned long long)run.r->entries,
                (double)(mono_ms() - run.start_mono_ms) / 1000.0);
    report_free(run.r);
    return status;
}
