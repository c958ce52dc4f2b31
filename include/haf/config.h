/*
 * config.h: the daemon's configuration as a value.
 *
 * config_load() builds a complete new struct haf_config from YAML (libyaml) with every default
 * filled in and every value validated; nothing is half-applied. A reload builds a new value and the
 * caller swaps it in only when it validated. Key names are fixed by DESIGN.md; unknown keys are
 * errors, reported as "file:line:column: key: message".
 */
#ifndef HAF_CONFIG_H
#define HAF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/audit.h"
#include "haf/buf.h"
#include "haf/err.h"

#define CONFIG_DEFAULT_PATH              "/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml"
#define CONFIG_DEFAULT_STATE_DIR         "/var/lib/hsm-audit-forwarder"
#define CONFIG_DEFAULT_BATCH_MAX_EVENTS  10000
#define CONFIG_DEFAULT_BATCH_MAX_BYTES   1048576
#define CONFIG_DEFAULT_FLUSH_INTERVAL_MS 1000
/* All batches of all streams together (serialized bodies and their event records), shared
 * equally by the streams; see stream_share_bytes (stream.c). */
#define CONFIG_DEFAULT_BATCH_MEMORY_BUDGET_BYTES (2 * 1024 * 1024)
#define CONFIG_MAX_FILE_BYTES                    (1024u * 1024)
#define CONFIG_DEFAULT_DIGEST_INTERVAL_S         300
#define CONFIG_DEFAULT_DIGEST_STREAM             "{stream}.digest"
#define CONFIG_DEFAULT_HEALTH_INTERVAL_S         60
#define CONFIG_DEFAULT_HEALTH_STREAM             "{hostname}.health"
#define CONFIG_DEFAULT_HEALTH_NAMESPACE          "HsmAuditForwarder"

enum start_position { START_BEGINNING, START_END };
enum out_of_range { OUT_OF_RANGE_RECLOCK, OUT_OF_RANGE_DROP };

struct config_source {
    char *path; /* glob */
    char *log_group;
    char *log_stream; /* template: {hostname} {instance_id} {file} {hsm_id}; validated for
                       * known placeholders and no ':' or '*' in the literal parts; the expanded
                       * name (hostname, file name) still has to be checked when it is built */
    enum audit_format format;
    enum start_position start_position;
    char *hsm_id;         /* NULL when not set */
    bool follow_symlinks; /* follow every symlink the glob matches (default: only those whose
                           * target is inside the glob's directory with its owner or group) */
};

/* A tag of the log groups the daemon creates. */
struct config_tag {
    char *key;
    char *value;
};

struct haf_config {
    char *file; /* where it was loaded from */

    char *region;   /* NULL: from AWS_REGION / AWS_DEFAULT_REGION / IMDS */
    char *endpoint; /* NULL: from AWS_ENDPOINT_URL_LOGS / AWS_ENDPOINT_URL / the region */

    struct {
        char *profile; /* NULL: AWS_PROFILE or "default" */
        char *role_arn;
        char *external_id;
        char *session_name; /* default "hsm-audit-forwarder" */
        char *sts_endpoint;
    } credentials;

    struct {
        char *ca_file; /* NULL: system default */
        bool verify;   /* default true */
    } tls;

    char *proxy; /* NULL: HTTPS_PROXY / NO_PROXY from the environment */
    char *state_dir;
    bool create_log_group; /* default true */
    int retention_days;    /* 0: not set; else a value config_retention_valid() accepts */
    char *kms_key_id;
    /* Settings of the log groups the daemon creates (create_log_group: true). */
    bool deletion_protection;          /* default false; the example config turns it on */
    const char *log_group_class;       /* NULL: not sent; else "STANDARD" or "INFREQUENT_ACCESS" */
    struct config_tag *log_group_tags; /* NULL / 0: no tags */
    size_t n_log_group_tags;

    struct {
        uint32_t max_events;          /* 1..10000 */
        uint32_t max_bytes;           /* 27..1048576 */
        uint32_t flush_interval_ms;   /* 1..3600000 */
        uint32_t memory_budget_bytes; /* 65536..1073741824: all streams' batches together */
    } batch;

    enum out_of_range out_of_range;

    /* Signed digests of what was delivered (digest.h, sign.h); off unless enabled. */
    struct {
        bool enabled;
        uint32_t interval_s;     /* 10..86400, default 300 */
        char *kms_key_id;        /* a KMS key id, ARN or alias; or key_file, not both */
        char *signing_algorithm; /* KMS only: ECDSA_SHA_256 (default) or RSASSA_PSS_SHA_256 */
        char *key_file;          /* absolute path of an Ed25519 / P-256 PEM private key */
        char *log_group;         /* NULL: the source's group */
        char *log_stream;        /* template with {stream}; default "{stream}.digest" */
    } digest;

    /* The daemon's own health as CloudWatch Embedded Metric Format records (docs/health.md);
     * off unless enabled. */
    struct {
        bool enabled;
        uint32_t interval_s; /* 1..86400, default 60 */
        char *log_group;     /* NULL: the first source's group */
        char *log_stream;    /* template ({hostname} {instance_id}); default "{hostname}.health" */
        char *metric_namespace; /* "namespace:", the metrics' namespace; default "HsmAuditForwarder"
                                 */
    } health;

    struct config_source *sources;
    size_t n_sources;
};

/*
 * Load and validate. On failure *cfg is untouched and `err` (when not NULL) gets one line per
 * problem, each "file:line:column: key: message\n" (at most 50, then "file: too many errors,
 * stopping"); problems with the file itself are "path: message\n". Codes: HAF_ECONFIG for invalid
 * content (also YAML syntax errors, anchors/aliases, unsupported tags, several documents, a file
 * over 1 MiB), HAF_EIO when the file cannot be opened or read, HAF_EPERM when it is not a regular
 * file, is writable by group or others, or is owned by neither root nor the effective uid (the
 * message names the path and the fix: chmod go-w / chown root), HAF_ENOMEM.
 *
 * YAML typing: plain true/false/yes/no/on/off (any of lower, Title, UPPER case) are booleans,
 * plain decimal digits are integers, and a quoted scalar is always a string. A key set to null
 * (~, null, or nothing) keeps its default. Defaults: state_dir CONFIG_DEFAULT_STATE_DIR,
 * create_log_group true, tls.verify true, batch 10000 / 1048576 / 1000 ms, out_of_range
 * reclock, credentials.session_name "hsm-audit-forwarder", per source log_stream
 * "{hostname}/{file}", format json, start_position beginning. Every string in a loaded config is
 * non-empty, NUL-terminated and printable (no control characters).
 */
HAF_MUST_USE enum haf_err config_load(const char *path, struct haf_config **cfg, struct buf *err);

/* Same, from memory (for tests and fuzzing); `name` is used in messages; no permission check. */
HAF_MUST_USE enum haf_err config_load_buffer(const char *name, const char *data, size_t len,
                                             struct haf_config **cfg, struct buf *err);

void config_free(struct haf_config *cfg);

/* The resolved settings for --check-config: every key, defaults shown, unset ones as "~" with a
 * comment saying where the value will come from, tls.verify false flagged with a WARNING comment.
 * The output is valid YAML and loads back to the same settings. The config holds no secret (the
 * credentials' external ID is not one, per AWS) and nothing from the environment is printed. */
HAF_MUST_USE enum haf_err config_dump(const struct haf_config *cfg, struct buf *out);

/* Retention values CloudWatch accepts (PutRetentionPolicy). */
bool config_retention_valid(int days);

#endif
