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

enum start_position { START_BEGINNING, START_END };
enum out_of_range { OUT_OF_RANGE_RECLOCK, OUT_OF_RANGE_DROP };

struct config_source {
    char *path; /* glob */
    char *log_group;
    char *log_stream; /* template: {hostname} {instance_id} {file} {hsm_id} */
    enum audit_format format;
    enum start_position start_position;
    char *hsm_id; /* NULL when not set */
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
    int retention_days;    /* 0: not set */
    char *kms_key_id;

    struct {
        uint32_t max_events; /* 1..10000 */
        uint32_t max_bytes;  /* 27..1048576 */
        uint32_t flush_interval_ms;
    } batch;

    enum out_of_range out_of_range;

    struct config_source *sources;
    size_t n_sources;
};

/*
 * Load and validate. On failure *cfg is untouched and `err` (when not NULL) holds one line per
 * problem, each "file:line:column: message". HAF_ECONFIG for invalid content, HAF_EIO when the file
 * cannot be read, HAF_EPERM when the file is writable by others or owned by another user.
 */
HAF_MUST_USE enum haf_err config_load(const char *path, struct haf_config **cfg, struct buf *err);

/* Same, from memory (for tests and fuzzing); `name` is used in messages; no permission check. */
HAF_MUST_USE enum haf_err config_load_buffer(const char *name, const char *data, size_t len,
                                             struct haf_config **cfg, struct buf *err);

void config_free(struct haf_config *cfg);

/* The resolved settings as YAML-ish text for --check-config (never a secret). */
HAF_MUST_USE enum haf_err config_dump(const struct haf_config *cfg, struct buf *out);

/* Retention values CloudWatch accepts (PutRetentionPolicy). */
bool config_retention_valid(int days);

#endif
