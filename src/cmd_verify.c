/*
 * cmd_verify.c: `hsm-audit-forwarder verify`: reads a stream and its digest records back (from
 * CloudWatch Logs through logs_reader, or from exported files), runs verify.c's checks and
 * reports per stream, as text or JSON. Exit 0 only when every stream is proven; 1 when anything
 * is not (the report says what and where); 2 on usage or configuration errors.
 *
 * Without a key (--public-key, --kms-key-id) no signature can be checked: the command then
 * proves HSM sequence continuity only and says so ("no digests: integrity not provable,
 * continuity only"), and its exit status is that of continuity. With a key, a stream without
 * digests is not proven: deleting the digest stream must not turn a failure into a pass.
 *
 * Where digests are: the group given by --digest-log-group (default: the config's digest.log_group,
 * else the data group) and the stream named by --digest-log-stream with {stream} replaced by the
 * data stream's name (default: the config's digest.log_stream, "{stream}.digest"). Streams whose
 * names match that template are not themselves verified as data streams.
 *
 * Files (`verify FILE...`) are one stream and its digests, in any mix: `aws logs get-log-events`
 * JSON output ({"events":[{"timestamp":..,"message":..}]}), or export lines
 * "<ISO-8601 time> <message>" where lines not starting with a time continue the previous message.
 * A message that starts with {"haf_digest": is a digest record. The stream's name is --log-stream,
 * else the one the first record names.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haf/json_write.h"
#include "haf/buf.h"
#include "haf/civil.h"
#include "haf/cmd.h"
#include "haf/config.h"
#include "haf/cwl_session.h"
#include "haf/digest.h"
#include "haf/kms.h"
#include "haf/logs_reader.h"
#include "haf/health.h"
#include "haf/sign.h"
#include "haf/verify.h"

#define VERIFY_MAX_FILE_BYTES ((size_t)1 << 30)
#define RECORD_PREFIX         "{\"haf_digest\":"

struct vargs {
    const char *config;
    const char *group;
    const char *stream;
    const char *prefix;
    const char *digest_group;
    const char *digest_stream; /* template */
    bool digest_stream_given;
    const char *public_key;
    const char *kms_key_id;
    bool json;
    int64_t since_ms, until_ms;
    char **files;
    int n_files;
};

struct vctx {
    struct vargs a;
    struct haf_config *cfg;
    struct cwl_session session;
    bool have_session;
    struct sign_pubkey *key;
    json_t *out_streams; /* --format json */
    json_t *out_skipped; /* --format json: streams of health records */
    bool all_proven;
    bool all_continuous;
    int n_streams;
};

/* ---- arguments ---- */

/* Epoch milliseconds, or YYYY-MM-DDTHH:MM:SS[.fff]Z. */
static bool
parse_time(const char *s, int64_t *out)
{
    struct span sp = span_cstr(s);
    uint64_t v, f[6];
    static const size_t at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    int64_t ms = 0;

    if (span_to_u64_dec(sp, &v)) {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
        return true;
    }
    if (sp.len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return false;
    for (int i = 0; i < 6; i++)
        if (!span_to_u64_dec(span_make(s + at[i], len[i]), &f[i]))
            return false;
    if (s[19] == '.') {
        uint64_t frac;
        if (sp.len != 24 || s[23] != 'Z' || !span_to_u64_dec(span_make(s + 20, 3), &frac))
            return false;
        ms = (int64_t)frac;
    } else if (sp.len != 20 || s[19] != 'Z') {
        return false;
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 ||
        f[2] > civil_days_in_month((int64_t)f[0], (unsigned)f[1]) || f[3] > 23 || f[4] > 59 ||
        f[5] > 60)
        return false;
    *out = ((civil_days_from((int64_t)f[0], (unsigned)f[1], (unsigned)f[2]) * 24 + (int64_t)f[3]) *
                60 +
            (int64_t)f[4]) *
               60000 +
           (int64_t)f[5] * 1000 + ms;
    return true;
}

static void
verify_usage(FILE *out)
{
    fprintf(out,
            "usage: hsm-audit-forwarder verify [-c FILE] --log-group G [--log-stream S |\n"
            "           --log-stream-prefix P] [--since T] [--until T]\n"
            "           [--public-key PEM | --kms-key-id ID] [--digest-log-group G]\n"
            "           [--digest-log-stream TEMPLATE] [--format text|json]\n"
            "       hsm-audit-forwarder verify [--public-key PEM | --kms-key-id ID]\n"
            "           [--log-stream S] [--format text|json] FILE...\n"
            "\n"
            "Proves from CloudWatch Logs alone (or exported files) that a stream holds exactly\n"
            "what the forwarder delivered: events covered by signed digests, injected, missing\n"
            "or altered events, breaks in the digest chain, missing heartbeats, HSM sequence\n"
            "gaps. T is epoch milliseconds or YYYY-MM-DDTHH:MM:SS[.fff]Z. The digest stream\n"
            "template defaults to {stream}.digest in the same group.\n"
            "Exit status: 0 everything proven, 1 something is not, 2 usage or configuration.\n");
}

/* 0 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, struct vargs *a)
{
    enum {
        O_GROUP = 256,
        O_STREAM,
        O_PREFIX,
        O_SINCE,
        O_UNTIL,
        O_PUB,
        O_KMS,
        O_FORMAT,
        O_DGROUP,
        O_DSTREAM
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-group", required_argument, NULL, O_GROUP},
        {"log-stream", required_argument, NULL, O_STREAM},
        {"log-stream-prefix", required_argument, NULL, O_PREFIX},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"public-key", required_argument, NULL, O_PUB},
        {"kms-key-id", required_argument, NULL, O_KMS},
        {"format", required_argument, NULL, O_FORMAT},
        {"digest-log-group", required_argument, NULL, O_DGROUP},
        {"digest-log-stream", required_argument, NULL, O_DSTREAM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(a, 0, sizeof(*a));
    a->digest_stream = "{stream}.digest";
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case O_GROUP:
            a->group = optarg;
            break;
        case O_STREAM:
            a->stream = optarg;
            break;
        case O_PREFIX:
            a->prefix = optarg;
            break;
        case O_PUB:
            a->public_key = optarg;
            break;
        case O_KMS:
            a->kms_key_id = optarg;
            break;
        case O_DGROUP:
            a->digest_group = optarg;
            break;
        case O_DSTREAM:
            a->digest_stream = optarg;
            a->digest_stream_given = true;
            break;
        case O_SINCE:
        case O_UNTIL:
            if (!parse_time(optarg, c == O_SINCE ? &a->since_ms : &a->until_ms)) {
                fprintf(stderr, "verify: %s: not epoch ms nor YYYY-MM-DDTHH:MM:SS[.fff]Z\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case O_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "verify: --format is text or json\n");
                return EXIT_USAGE;
            }
            a->json = strcmp(optarg, "json") == 0;
            break;
        case 'h':
            verify_usage(stdout);
            return -1;
        default:
            verify_usage(stderr);
            return EXIT_USAGE;
        }
    }
    a->files = argv + optind;
    a->n_files = argc - optind;
    if ((a->n_files > 0) == (a->group != NULL) || (a->stream && a->prefix) ||
        (a->public_key && a->kms_key_id) || (a->n_files > 0 && (a->prefix || a->digest_group)) ||
        !strstr(a->digest_stream, "{stream}") || (a->until_ms && a->since_ms >= a->until_ms)) {
        fprintf(stderr, "verify: give --log-group or FILEs (not both); at most one of "
                        "--log-stream/--log-stream-prefix and of --public-key/--kms-key-id; the "
                        "digest stream template must contain {stream}; --since before --until\n");
        verify_usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- the key ---- */

static enum haf_err
read_file(const char *path, size_t max, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    enum haf_err e = HAF_OK;

    if (!f)
        return HAF_EIO;
    buf_init(out, max);
    while (e == HAF_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        e = buf_add(out, chunk, n);
    if (e == HAF_OK && ferror(f))
        e = HAF_EIO;
    fclose(f);
    return e;
}

static bool
open_session(struct vctx *v)
{
    struct buf why;
    enum haf_err e;

    if (v->have_session)
        return true;
    buf_init(&why, 4096);
    e = cwl_session_open(&v->session, v->cfg, 0, &why);
    if (e != HAF_OK)
        fprintf(stderr, "verify: %s: %s\n", haf_err_str(e), buf_cstr(&why));
    buf_clean_up(&why);
    v->have_session = e == HAF_OK;
    return v->have_session;
}

/* 0 on success, else the exit code. --kms-key-id: one GetPublicKey, then everything is local. */
static int
load_key(struct vctx *v)
{
    struct buf pem;
    enum haf_err e;

    if (v->a.public_key) {
        e = read_file(v->a.public_key, SIGN_MAX_KEY_FILE_BYTES, &pem);
        if (e == HAF_OK)
            e = sign_pubkey_from_pem(buf_span(&pem), &v->key);
        buf_clean_up(&pem);
        if (e != HAF_OK)
            fprintf(stderr, "verify: %s: %s\n", v->a.public_key,
                    e == HAF_EINVAL ? "key type not supported" : haf_err_str(e));
        return e == HAF_OK ? 0 : EXIT_USAGE;
    }
    if (v->a.kms_key_id) {
        struct kms_client *kms;
        struct kms_public_key pk;
        struct cwl_result res;

        if (!open_session(v))
            return EXIT_USAGE;
        kms = kms_client_new(NULL, v->session.region, v->session.http, v->session.creds);
        if (!kms) {
            fprintf(stderr, "verify: no usable KMS endpoint (AWS_ENDPOINT_URL_KMS, "
                            "AWS_ENDPOINT_URL or the region)\n");
            return EXIT_USAGE;
        }
        e = kms_get_public_key(kms, v->a.kms_key_id, &pk, &res);
        kms_client_free(kms);
        if (e != HAF_OK) {
            fprintf(stderr, "verify: kms:GetPublicKey %s: %s (%s %s: %s)\n", v->a.kms_key_id,
                    haf_err_str(e), cwl_class_str(res.cls), res.error_type, res.message);
            return EXIT_RUNTIME;
        }
        e = sign_pubkey_from_der(pk.der, pk.der_len, &v->key);
        if (e != HAF_OK)
            fprintf(stderr, "verify: %s (%s): public key not usable: %s\n", pk.key_id, pk.key_spec,
                    haf_err_str(e));
        kms_public_key_clean_up(&pk);
        return e == HAF_OK ? 0 : EXIT_RUNTIME;
    }
    return 0;
}

/* ---- files ---- */

struct fevent {
    int64_t ts_ms;
    struct span msg; /* into a file buffer */
};

struct fset {
    struct buf *bufs;
    size_t n_bufs;
    struct fevent *ev;
    size_t n, cap;
};

static enum haf_err
fset_add(struct fset *fs, int64_t ts, struct span msg)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 1024;
        struct fevent *p = realloc(fs->ev, cap * sizeof(*p)); /* old pointer dead on success */

        if (!p)
            return HAF_ENOMEM;
        fs->ev = p;
        fs->cap = cap;
    }
    fs->ev[fs->n++] = (struct fevent){ts, msg};
    return HAF_OK;
}

/* {"events":[{"timestamp":N,"message":"..."}...]}: the messages are copied into `keep`. */
static enum haf_err
parse_json_export(struct span text, struct buf *keep, struct fset *fs)
{
    json_t *root = json_loadb(text.p, text.len, JSON_ALLOW_NUL, NULL);
    json_t *events = json_object_get(root, "events");
    size_t i, total = 0;
    json_t *ev;
    enum haf_err e = HAF_EPARSE;

    if (!json_is_array(events))
        goto out;
    json_array_foreach(events, i, ev) total += json_string_length(json_object_get(ev, "message"));
    buf_init(keep, 0);
    e = buf_reserve(keep, total + 1);
    json_array_foreach(events, i, ev)
    {
        json_t *t = json_object_get(ev, "timestamp"), *m = json_object_get(ev, "message");
        size_t at = keep->len;

        if (e != HAF_OK)
            break;
        if (!json_is_integer(t) || !json_is_string(m)) {
            e = HAF_EPARSE;
            break;
        }
        e = buf_add(keep, json_string_value(m), json_string_length(m));
        if (e == HAF_OK)
            e = fset_add(fs, json_integer_value(t), span_make(keep->p + at, json_string_length(m)));
    }
    /* buf_reserve made room for everything: the spans into keep stay valid. */
out:
    json_decref(root);
    return e;
}

/* "<ISO time> <message>" lines; a line without a leading time continues the message. */
static enum haf_err
parse_line_export(struct span text, struct fset *fs)
{
    size_t i = 0;
    enum haf_err e = HAF_OK;

    while (i < text.len && e == HAF_OK) {
        const char *line = text.p + i, *nl = memchr(line, '\n', text.len - i);
        size_t len = nl ? (size_t)(nl - line) : text.len - i;
        char stamp[25];
        int64_t ts;
        size_t sl = 0;

        while (sl < len && sl < sizeof(stamp) - 1 && line[sl] != ' ') {
            stamp[sl] = line[sl];
            sl++;
        }
        stamp[sl] = '\0';
        if (sl < len && parse_time(stamp, &ts) && sl >= 20)
            e = fset_add(fs, ts, span_make(line + sl + 1, len - sl - 1));
        else if (fs->n > 0 && fs->ev[fs->n - 1].msg.p + fs->ev[fs->n - 1].msg.len + 1 == line)
            fs->ev[fs->n - 1].msg.len += 1 + len; /* "\n" + the continuation line */
        else if (len > 0)
            e = HAF_EPARSE;
        i += len + (nl ? 1 : 0);
    }
    return e;
}

static bool
is_record(struct span m)
{
    return span_starts_with(m, SPAN_LIT(RECORD_PREFIX));
}

static enum haf_err
load_files(const struct vargs *a, struct fset *fs)
{
    enum haf_err e = HAF_OK;

    fs->bufs = calloc((size_t)a->n_files * 2, sizeof(*fs->bufs));
    if (!fs->bufs)
        return HAF_ENOMEM;
    for (int i = 0; i < a->n_files && e == HAF_OK; i++) {
        struct buf *b = &fs->bufs[fs->n_bufs++];
        struct span t;

        e = read_file(a->files[i], VERIFY_MAX_FILE_BYTES, b);
        if (e != HAF_OK) {
            fprintf(stderr, "verify: %s: %s\n", a->files[i], haf_err_str(e));
            break;
        }
        t = span_trim(buf_span(b));
        if (t.len > 0 && t.p[0] == '{')
            e = parse_json_export(t, &fs->bufs[fs->n_bufs++], fs);
        else
            e = parse_line_export(buf_span(b), fs);
        if (e != HAF_OK)
            fprintf(stderr, "verify: %s: not get-log-events JSON nor export lines: %s\n",
                    a->files[i], haf_err_str(e));
    }
    return e;
}

static void
fset_clean_up(struct fset *fs)
{
    for (size_t i = 0; i < fs->n_bufs; i++)
        buf_clean_up(&fs->bufs[i]);
    free(fs->bufs);
    free(fs->ev);
}

/* ---- the report ---- */

/* "-" for "no time" (0), as the counters print it. */
static void
iso(int64_t ms, char out[32])
{
    if (ms <= 0)
        snprintf(out, 32, "-");
    else
        verify_iso_ms(ms, out);
}

static const char *
verdict(const struct verify_report *r, bool keyed)
{
    if (r->proven)
        return "PROVEN";
    if (!r->has_records && !keyed)
        return "no digests: integrity not provable, continuity only";
    if (!r->has_records)
        return "NOT PROVEN: no digests found for this stream";
    return "NOT PROVEN";
}

static void
report_text(const char *group, const struct verify_report *r, bool keyed)
{
    char a[32], b[32];

    iso(r->first_ms, a);
    iso(r->last_ms, b);
    printf("stream %s (group %s): %s\n", r->stream, group ? group : "-", verdict(r, keyed));
    printf("  events %" PRIu64 " (%s .. %s), covered %" PRIu64 ", injected %" PRIu64
           ", pending %" PRIu64 ", missing %" PRIu64 ", altered %" PRIu64 "\n",
           r->events, a, b, r->covered, r->injected, r->pending, r->missing, r->altered);
    printf("  digests %" PRIu64 " valid, %" PRIu64 " forged or unreadable, chain breaks %" PRIu64
           ", heartbeat gaps %" PRIu64 "\n",
           r->records, r->bad_records, r->chain_breaks, r->heartbeat_gaps);
    printf("  HSM continuity: %s (sequence gaps %" PRIu64 ", %" PRIu64 " sequence numbers "
           "missing; reboots %" PRIu64 ")\n",
           r->continuity ? "holds" : "BROKEN", r->sequence_gaps, r->sequence_missing, r->reboots);
    for (size_t i = 0; i < r->n_findings; i++)
        printf("  - %s: %s\n", verify_what_str(r->findings[i].what), r->findings[i].text);
    if (r->findings_dropped)
        printf("  - ... %zu more findings not listed\n", r->findings_dropped);
}

/* jansson _new setters steal the value reference; a failed set only loses that member. */
static json_t *
report_json(const char *group, const struct verify_report *r, bool keyed)
{
    json_t *o = json_object(), *f = json_array();
    char a[32], b[32];

    json_object_set_new(o, "stream", json_string(r->stream));
    json_object_set_new(o, "group", group ? json_string(group) : json_null());
    json_object_set_new(o, "digests", json_boolean(r->has_records));
    json_object_set_new(o, "verdict", json_string(verdict(r, keyed)));
#define NUM(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
    NUM("events", r->events);
    NUM("covered", r->covered);
    NUM("injected", r->injected);
    NUM("pending", r->pending);
    NUM("missing", r->missing);
    NUM("altered", r->altered);
    NUM("forged_digests", r->bad_records);
    NUM("valid_digests", r->records);
    NUM("chain_breaks", r->chain_breaks);
    NUM("heartbeat_gaps", r->heartbeat_gaps);
    NUM("sequence_gaps", r->sequence_gaps);
    NUM("sequence_missing", r->sequence_missing);
    NUM("reboots", r->reboots);
#undef NUM
    json_object_set_new(o, "continuity", json_boolean(r->continuity));
    json_object_set_new(o, "proven", json_boolean(r->proven));
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct verify_finding *x = &r->findings[i];

        iso(x->from_ms, a);
        iso(x->to_ms, b);
        json_array_append_new(f, json_pack("{s:s, s:s, s:s, s:I, s:s}", "what",
                                           verify_what_str(x->what), "from", a, "to", b, "n",
                                           (json_int_t)x->n, "text", x->text));
    }
    json_object_set_new(o, "findings", f);
    json_object_set_new(o, "findings_not_listed", json_integer((json_int_t)r->findings_dropped));
    return o;
}

/* Run one stream and report it. false on a local failure (memory). */
static bool
finish_stream(struct vctx *v, struct verify_stream *vs, const char *group, bool from_start,
              int64_t now_ms)
{
    struct verify_opts o = {.key = v->key, .now_ms = now_ms, .from_start = from_start};
    struct verify_report r;
    enum haf_err e = verify_stream_run(vs, &o, &r);

    if (e != HAF_OK) {
        fprintf(stderr, "verify: %s\n", haf_err_str(e));
        return false;
    }
    v->n_streams++;
    v->all_proven &= r.proven;
    v->all_continuous &= r.continuity;
    if (v->a.json)
        json_array_append_new(v->out_streams, report_json(group, &r, v->key != NULL));
    else
        report_text(group, &r, v->key != NULL);
    verify_report_clean_up(&r);
    return true;
}

/* ---- sources ---- */

static int
verify_files(struct vctx *v)
{
    struct fset fs = {0};
    struct verify_stream *vs = NULL;
    struct digest_record rec;
    const char *name = v->a.stream;
    char *found = NULL;
    int64_t lo, hi;
    int rc = EXIT_RUNTIME;

    if (load_files(&v->a, &fs) != HAF_OK)
        goto out;
    for (size_t i = 0; !name && i < fs.n; i++)
        if (is_record(fs.ev[i].msg) && digest_record_parse(fs.ev[i].msg, &rec, NULL) == HAF_OK) {
            found = strdup(rec.stream);
            name = found;
            digest_record_clean_up(&rec);
        }
    vs = verify_stream_new(name ? name : "(files)");
    if (!vs)
        goto out;
    verify_set_range(vs, v->a.since_ms, v->a.until_ms);
    for (size_t i = 0; i < fs.n; i++)
        if (is_record(fs.ev[i].msg) && verify_add_record(vs, fs.ev[i].ts_ms, fs.ev[i].msg))
            goto out;
    verify_event_window(vs, &lo, &hi);
    for (size_t i = 0; i < fs.n; i++)
        if (!is_record(fs.ev[i].msg) && (!lo || fs.ev[i].ts_ms >= lo) &&
            (!hi || fs.ev[i].ts_ms < hi) && verify_add_event(vs, fs.ev[i].ts_ms, fs.ev[i].msg))
            goto out;
    if (finish_stream(v, vs, NULL, v->a.since_ms == 0, 0))
        rc = 0;
out:
    verify_stream_free(vs);
    free(found);
    fset_clean_up(&fs);
    return rc;
}

struct feed {
    struct verify_stream *vs;
    bool records;
    enum haf_err err;
    uint64_t n_records; /* digest records read */
    uint64_t n_events;  /* events read from the stream itself */
    uint64_t n_health;  /* ... of which health records (health.h) */
};

static int
on_event(void *ctx, const struct logs_event *ev)
{
    struct feed *f = ctx;

    if (f->records)
        f->n_records++;
    else {
        f->n_events++;
        f->n_health += health_is_record(ev->message);
    }
    f->err = f->records ? verify_add_record(f->vs, ev->timestamp_ms, ev->message)
                        : verify_add_event(f->vs, ev->timestamp_ms, ev->message);
    return f->err != HAF_OK;
}

/* "{stream}.digest" with {stream} replaced; caller frees. */
static char *
digest_stream_name(const char *tmpl, const char *stream)
{
    const char *at = strstr(tmpl, "{stream}");
    struct buf b;

    buf_init(&b, 0);
    if (!at || buf_add(&b, tmpl, (size_t)(at - tmpl)) != HAF_OK || buf_adds(&b, stream) != HAF_OK ||
        buf_adds(&b, at + 8) != HAF_OK) {
        buf_clean_up(&b);
        return NULL;
    }
    return b.p ? b.p : strdup("");
}

static bool
is_digest_stream(const char *tmpl, struct span name)
{
    const char *at = strstr(tmpl, "{stream}");
    struct span pre = span_make(tmpl, (size_t)(at - tmpl)), post = span_cstr(at + 8);

    return name.len > pre.len + post.len && span_starts_with(name, pre) &&
           memcmp(name.p + name.len - post.len, post.p, post.len) == 0;
}

static bool
read_failed(enum haf_err e, const struct cwl_result *res, const char *what, const char *group,
            const char *stream)
{
    if (e == HAF_OK)
        return false;
    fprintf(stderr, "verify: reading %s %s/%s: %s (%s %s: %s)\n", what, group, stream,
            haf_err_str(e), cwl_class_str(res->cls), res->error_type, res->message);
    return true;
}

/* One data stream and its digests from CloudWatch. 0, or the exit code. */
static int
verify_cloud_stream(struct vctx *v, const char *stream)
{
    const char *dgroup = v->a.digest_group ? v->a.digest_group : v->a.group;
    char *dstream = digest_stream_name(v->a.digest_stream, stream);
    struct verify_stream *vs = verify_stream_new(stream);
    struct logs_reader_opts ro = {0};
    struct feed f = {.vs = vs, .records = true};
    struct cwl_result res;
    int64_t lo, hi, now = (int64_t)time(NULL) * 1000;
    enum haf_err e;
    int rc = EXIT_RUNTIME;

    if (!dstream || !vs)
        goto out;
    verify_set_range(vs, v->a.since_ms, v->a.until_ms);
    /* Records are few (one per interval): read them all and let the range pick. */
    e = logs_reader_stream(v->session.cwl, dgroup, dstream, 0, 0, &ro, on_event, &f, &res);
    if (e == HAF_EREJECTED && res.cls == CWL_NOT_FOUND)
        e = HAF_OK; /* no digest stream: the verdict says so */
    if (e == HAF_OK)
        e = f.err;
    if (read_failed(e, &res, "digests", dgroup, dstream))
        goto out;
    verify_event_window(vs, &lo, &hi);
    f.records = false;
    e = logs_reader_stream(v->session.cwl, v->a.group, stream, lo, hi, &ro, on_event, &f, &res);
    if (e == HAF_OK)
        e = f.err;
    if (read_failed(e, &res, "events", v->a.group, stream))
        goto out;
    /* The daemon's health stream (health: in the config) holds EMF metric records, not audit
     * data: a stream without digests whose every event is one is reported as skipped and counts
     * neither way. One audit event among them, or a digest, and it is verified like any other. */
    if (f.n_records == 0 && f.n_events > 0 && f.n_health == f.n_events) {
        if (v->a.json)
            json_array_append_new(v->out_skipped,
                                  json_pack("{s:s, s:s, s:I, s:s}", "group", v->a.group, "stream",
                                            stream, "events", (json_int_t)f.n_events, "reason",
                                            "health records (CloudWatch EMF), not audit data"));
        else
            printf("stream %s/%s: skipped: %" PRIu64 " health records (CloudWatch EMF), not "
                   "audit data\n",
                   v->a.group, stream, f.n_events);
        rc = 0;
        goto out;
    }
    if (finish_stream(v, vs, v->a.group, v->a.since_ms == 0, v->a.until_ms ? 0 : now))
        rc = 0;
out:
    verify_stream_free(vs);
    free(dstream);
    return rc;
}

struct names {
    char **v;
    size_t n, cap;
    const char *tmpl;
};

static int
on_stream(void *ctx, struct span name)
{
    struct names *ns = ctx;

    if (is_digest_stream(ns->tmpl, name))
        return 0;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 16;
        char **p = realloc(ns->v, cap * sizeof(*p)); /* old pointer dead on success */

        if (!p)
            return 1;
        ns->v = p;
        ns->cap = cap;
    }
    ns->v[ns->n] = strndup(name.p, name.len);
    return ns->v[ns->n++] == NULL;
}

static int
verify_cloud(struct vctx *v)
{
    struct names ns = {.tmpl = v->a.digest_stream};
    struct logs_reader_opts ro = {0};
    struct cwl_result res;
    enum haf_err e;
    int rc = 0;

    if (!open_session(v))
        return EXIT_USAGE;
    if (v->a.stream)
        return verify_cloud_stream(v, v->a.stream);
    e = logs_reader_list_streams(v->session.cwl, v->a.group, v->a.prefix, &ro, on_stream, &ns,
                                 &res);
    if (read_failed(e, &res, "streams of", v->a.group, v->a.prefix ? v->a.prefix : "*"))
        rc = EXIT_RUNTIME;
    for (size_t i = 0; i < ns.n && rc == 0; i++)
        rc = verify_cloud_stream(v, ns.v[i]);
    for (size_t i = 0; i < ns.n; i++)
        free(ns.v[i]);
    free(ns.v);
    return rc;
}

int
cmd_verify(int argc, char **argv)
{
    struct vctx v;
    struct buf err;
    int rc;

    memset(&v, 0, sizeof(v));
    rc = parse_args(argc, argv, &v.a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (v.a.config) {
        buf_init(&err, 1 << 16);
        if (config_load(v.a.config, &v.cfg, &err) != HAF_OK) {
            fprintf(stderr, "%s", buf_cstr(&err));
            buf_clean_up(&err);
            return EXIT_USAGE;
        }
        buf_clean_up(&err);
    }
    /* The config's digest keys are the defaults of the digest location options. */
    if (v.cfg && v.cfg->digest.log_group && !v.a.digest_group)
        v.a.digest_group = v.cfg->digest.log_group;
    if (v.cfg && !v.a.digest_stream_given)
        v.a.digest_stream = v.cfg->digest.log_stream;
    v.all_proven = v.all_continuous = true;
    v.out_streams = json_array();
    v.out_skipped = json_array();
    rc = load_key(&v);
    if (rc == 0)
        rc = v.a.n_files ? verify_files(&v) : verify_cloud(&v);
    if (rc == 0 && v.a.json) {
        json_t *o = json_pack("{s:O, s:O, s:b, s:b}", "streams", v.out_streams, "skipped",
                              v.out_skipped, "proven", v.n_streams > 0 && v.all_proven,
                              "signatures_checked", v.key != NULL);
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

        if (s)
            printf("%s\n", s);
        json_dump_free(s);
        json_decref(o);
    }
    if (rc == 0 && v.n_streams == 0) {
        fprintf(stderr, "verify: no stream to verify\n");
        rc = EXIT_RUNTIME;
    }
    if (rc == 0 && !(v.key ? v.all_proven : v.all_continuous))
        rc = EXIT_RUNTIME;
    json_decref(v.out_streams);
    json_decref(v.out_skipped);
    sign_pubkey_free(v.key);
    if (v.have_session)
        cwl_session_close(&v.session);
    config_free(v.cfg);
    return rc;
}
