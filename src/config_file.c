/*
 * config_file.c: the configuration file on disk: reading it safely (config_load) and writing a
 * loaded configuration back out as YAML (config_dump, for --check-config).
 *
 * config_load refuses a file that anyone but root or the running user could have written (the
 * config names what the daemon reads and where it sends it), opens it O_NONBLOCK so a FIFO put in
 * its place cannot block the start, checks what it opened with fstat, and reads at most
 * CONFIG_MAX_FILE_BYTES before handing the bytes to config_load_buffer (config.c). config_dump
 * writes every setting, defaults included, with strings double-quoted and escaped, so its output
 * loads again to the same configuration (the fuzz target checks that round trip).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haf/config.h"
#include "haf/json_write.h"

static void cfg_msgf(struct buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cfg_msgf(struct buf *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    if (buf_vaddf(err, fmt, ap) != HAF_OK) {
        /* best effort */
    }
    va_end(ap);
}

enum haf_err
config_load(const char *path, struct haf_config **out, struct buf *err)
{
    struct buf data;
    struct stat st;
    enum haf_err e = HAF_EIO;
    uid_t me = geteuid();
    int fd;

    buf_init(&data, 0);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        cfg_msgf(err, "%s: cannot open: %s\n", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        cfg_msgf(err, "%s: %s\n", path, strerror(errno));
        goto out;
    }
    e = HAF_EPERM;
    if (!S_ISREG(st.st_mode)) {
        cfg_msgf(err, "%s: not a regular file\n", path);
        goto out;
    }
    if (st.st_uid != 0 && st.st_uid != me) {
        cfg_msgf(err,
                 "%s: owned by uid %u, not by root or the running user (uid %u); fix: chown "
                 "root %s\n",
                 path, (unsigned)st.st_uid, (unsigned)me, path);
        goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        cfg_msgf(err, "%s: writable by group or others (mode %04o); fix: chmod go-w %s\n", path,
                 (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    e = HAF_EIO;
    for (;;) {
        char chunk[16384];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cfg_msgf(err, "%s: read error: %s\n", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (data.len > CONFIG_MAX_FILE_BYTES) {
            cfg_msgf(err, "%s: larger than %u bytes\n", path, CONFIG_MAX_FILE_BYTES);
            e = HAF_ECONFIG;
            goto out;
        }
        e = buf_add(&data, chunk, (size_t)n);
        if (e != HAF_OK)
            goto out;
        e = HAF_EIO;
    }
    e = config_load_buffer(path, data.p ? data.p : "", data.len, out, err);
out:
    if (fd >= 0)
        close(fd);
    buf_clean_up(&data);
    return e;
}

/* ---- dump ---- */

static enum haf_err
cfg_dump_str(struct buf *out, const char *indent, const char *key, const char *v,
             const char *unset_note)
{
    enum haf_err e;

    if (v == NULL)
        return unset_note ? buf_addf(out, "%s%s: ~  # %s\n", indent, key, unset_note)
                          : buf_addf(out, "%s%s: ~\n", indent, key);
    /* A JSON string is a YAML double-quoted scalar: the one JSON writer does the escaping. */
    e = buf_addf(out, "%s%s: ", indent, key);
    if (e == HAF_OK)
        e = json_write_string(out, span_cstr(v));
    if (e == HAF_OK)
        e = buf_addc(out, '\n');
    return e;
}

enum haf_err
config_dump(const struct haf_config *cfg, struct buf *out)
{
    enum haf_err e = HAF_OK;

#define DUMP(x)                                                                                    \
    do {                                                                                           \
        if (e == HAF_OK)                                                                           \
            e = (x);                                                                               \
    } while (0)
    DUMP(buf_addf(out, "# hsm-audit-forwarder: resolved configuration from %s\n",
                  cfg->file ? cfg->file : "<memory>"));
    DUMP(cfg_dump_str(out, "", "region", cfg->region,
                      "from AWS_REGION / AWS_DEFAULT_REGION / IMDS"));
    DUMP(cfg_dump_str(out, "", "endpoint", cfg->endpoint,
                      "from AWS_ENDPOINT_URL_LOGS / AWS_ENDPOINT_URL / the region"));
    DUMP(buf_adds(out, "credentials:\n"));
    DUMP(cfg_dump_str(out, "  ", "profile", cfg->credentials.profile,
                      "the standard chain (AWS_PROFILE or default)"));
    DUMP(cfg_dump_str(out, "  ", "role_arn", cfg->credentials.role_arn, "no AssumeRole"));
    /* AWS documents the external ID as not secret (it guards against the confused deputy, not
     * against disclosure), so it is shown and the dump loads back unchanged. */
    DUMP(cfg_dump_str(out, "  ", "external_id", cfg->credentials.external_id, NULL));
    DUMP(cfg_dump_str(out, "  ", "session_name", cfg->credentials.session_name, NULL));
    DUMP(cfg_dump_str(out, "  ", "sts_endpoint", cfg->credentials.sts_endpoint,
                      "from AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL / the region"));
    DUMP(buf_adds(out, "tls:\n"));
    DUMP(cfg_dump_str(out, "  ", "ca_file", cfg->tls.ca_file, "the system default"));
    DUMP(buf_addf(out, "  verify: %s%s\n", cfg->tls.verify ? "true" : "false",
                  cfg->tls.verify ? "" : "  # WARNING: TLS certificate verification is OFF"));
    DUMP(cfg_dump_str(out, "", "proxy", cfg->proxy, "from HTTPS_PROXY / NO_PROXY"));
    DUMP(cfg_dump_str(out, "", "state_dir", cfg->state_dir, NULL));
    DUMP(buf_addf(out, "create_log_group: %s\n", cfg->create_log_group ? "true" : "false"));
    if (cfg->retention_days > 0)
        DUMP(buf_addf(out, "retention_days: %d\n", cfg->retention_days));
    else
        DUMP(buf_adds(out, "retention_days: ~  # not set: the log group's policy is left alone\n"));
    DUMP(cfg_dump_str(out, "", "kms_key_id", cfg->kms_key_id, "not set"));
    DUMP(buf_addf(out, "deletion_protection: %s\n", cfg->deletion_protection ? "true" : "false"));
    DUMP(cfg_dump_str(out, "", "log_group_class", cfg->log_group_class,
                      "not sent: CloudWatch's default, STANDARD"));
    if (cfg->n_log_group_tags == 0)
        DUMP(buf_adds(out, "log_group_tags: ~  # none\n"));
    else
        DUMP(buf_adds(out, "log_group_tags:\n"));
    for (size_t i = 0; i < cfg->n_log_group_tags; i++) {
        DUMP(buf_adds(out, "  "));
        DUMP(json_write_string(out, span_cstr(cfg->log_group_tags[i].key)));
        DUMP(buf_adds(out, ": "));
        DUMP(json_write_string(out, span_cstr(cfg->log_group_tags[i].value)));
        DUMP(buf_addc(out, '\n'));
    }
    DUMP(buf_addf(out,
                  "batch:\n  max_events: %u\n  max_bytes: %u\n  flush_interval_ms: %u\n"
                  "  memory_budget_bytes: %u\n",
                  (unsigned)cfg->batch.max_events, (unsigned)cfg->batch.max_bytes,
                  (unsigned)cfg->batch.flush_interval_ms,
                  (unsigned)cfg->batch.memory_budget_bytes));
    DUMP(buf_addf(out, "out_of_range: %s\n",
                  cfg->out_of_range == OUT_OF_RANGE_DROP ? "drop" : "reclock"));
    DUMP(buf_addf(out, "digest:\n  enabled: %s\n  interval_s: %u\n",
                  cfg->digest.enabled ? "true" : "false", (unsigned)cfg->digest.interval_s));
    DUMP(cfg_dump_str(out, "  ", "kms_key_id", cfg->digest.kms_key_id, "not set"));
    DUMP(cfg_dump_str(out, "  ", "signing_algorithm", cfg->digest.signing_algorithm,
                      "ECDSA_SHA_256 with a KMS key"));
    DUMP(cfg_dump_str(out, "  ", "key_file", cfg->digest.key_file, "not set"));
    DUMP(cfg_dump_str(out, "  ", "log_group", cfg->digest.log_group, "the source's group"));
    DUMP(cfg_dump_str(out, "  ", "log_stream", cfg->digest.log_stream, NULL));
    DUMP(buf_addf(out, "health:\n  enabled: %s\n  interval_s: %u\n",
                  cfg->health.enabled ? "true" : "false", (unsigned)cfg->health.interval_s));
    DUMP(cfg_dump_str(out, "  ", "log_group", cfg->health.log_group, "the first source's group"));
    DUMP(cfg_dump_str(out, "  ", "log_stream", cfg->health.log_stream, NULL));
    DUMP(cfg_dump_str(out, "  ", "namespace", cfg->health.metric_namespace, NULL));
    DUMP(buf_adds(out, "sources:\n"));
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct config_source *s = &cfg->sources[i];
        DUMP(cfg_dump_str(out, "  - ", "path", s->path, NULL));
        DUMP(cfg_dump_str(out, "    ", "log_group", s->log_group, NULL));
        DUMP(cfg_dump_str(out, "    ", "log_stream", s->log_stream, NULL));
        DUMP(buf_addf(out, "    format: %s\n", s->format == AUDIT_FORMAT_RAW ? "raw" : "json"));
        DUMP(buf_addf(out, "    start_position: %s\n",
                      s->start_position == START_END ? "end" : "beginning"));
        DUMP(cfg_dump_str(out, "    ", "hsm_id", s->hsm_id, NULL));
        DUMP(buf_addf(out, "    follow_symlinks: %s\n", s->follow_symlinks ? "true" : "false"));
    }
#undef DUMP
    return e;
}
