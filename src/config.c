/*
 * config.c: the YAML configuration file (libyaml) into a validated struct haf_config.
 *
 * Two passes. First, yaml_tree.c turns libyaml's events into a small tree of our own (struct
 * ynode) that keeps every node's line and column, the scalar's style (plain or quoted) and
 * refuses what we do not support: anchors and aliases (they add nothing to a flat config and
 * invite "billion laughs" inputs), more than one document, unknown tags, and nesting or node
 * counts past fixed limits. Second, this file's schema walk over that tree fills a freshly
 * allocated struct haf_config, applies the defaults and validates every value, collecting every
 * problem it finds as one line "file:line:column: key: message" so a user fixes them all in one go.
 * The typed value readers and error lines are config_value.c's, the section validators
 * config_section.c's; the walk over the top level and the config's life cycle stay here.
 * Only when there are none is the new config handed out; otherwise it is freed and the caller's old
 * one stays.
 *
 * Typing follows YAML 1.1 for plain scalars: booleans are true/false/yes/no/on/off (also
 * Capitalized and UPPER case), integers are plain decimal digits, and ~, null or nothing is null
 * (an optional key set to null keeps its default). A quoted scalar is always a string, so
 * `verify: "false"` is an error rather than a surprise. Values are never echoed back when they
 * could hold something sensitive (URLs, unknown keys' values); enum values are, escaped and cut
 * short. Keys that look like credentials are refused with a message saying credentials in the
 * file are not supported. Reading the file from disk and writing a config back out (config_load,
 * config_dump) are config_file.c's.
 */
#include "config_internal.h"
#include "haf/json_write.h"
#include "haf/streamname.h"
#include "haf/url.h"
#include "haf/utf8.h"
#include "haf/yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
cfg_walk(struct cfg_ctx *c, const struct ynode *root, struct haf_config *cfg)
{
    static const char *const keys[] = {"region",
                                       "endpoint",
                                       "credentials",
                                       "tls",
                                       "proxy",
                                       "state_dir",
                                       "create_log_group",
                                       "retention_days",
                                       "kms_key_id",
                                       "batch",
                                       "out_of_range",
                                       "sources",
                                       "deletion_protection",
                                       "log_group_class",
                                       "log_group_tags",
                                       "digest",
                                       "health",
                                       NULL};
    static const char *const classes[] = {"STANDARD", "INFREQUENT_ACCESS"};
    static const char *const oor[] = {"reclock", "drop"};
    const struct ynode *n;
    uint64_t v;
    int e;

    if (root->type != YN_MAP) {
        cfg_error(c, root, NULL, "the configuration must be a mapping of keys, got %s",
                  ytree_kind(root));
        return;
    }
    (void)cfg_check_map(c, root, "", keys);
    if (cfg_str(c, root, "", "region", &cfg->region) &&
        (strlen(cfg->region) > 32 || !cfg_charset(cfg->region, "-")))
        cfg_error(c, ytree_get(root, "region"), "region",
                  "must be an AWS region name such as us-east-1");
    if (cfg_str(c, root, "", "endpoint", &cfg->endpoint))
        cfg_url(c, root, "", "endpoint", cfg->endpoint, CFG_URL_ENDPOINT);
    if ((n = ytree_get(root, "credentials")) != NULL)
        cfg_credentials(c, n, cfg);
    if ((n = ytree_get(root, "tls")) != NULL)
        cfg_tls(c, n, cfg);
    if (cfg_str(c, root, "", "proxy", &cfg->proxy))
        cfg_url(c, root, "", "proxy", cfg->proxy, CFG_URL_PROXY);
    if (cfg_str(c, root, "", "state_dir", &cfg->state_dir))
        (void)cfg_abs_path(c, root, "", "state_dir", cfg->state_dir);
    cfg_bool(c, root, "", "create_log_group", &cfg->create_log_group);
    cfg_bool(c, root, "", "deletion_protection", &cfg->deletion_protection);
    if ((e = cfg_enum(c, root, "", "log_group_class", classes, 2)) >= 0)
        cfg->log_group_class = classes[e];
    if ((n = ytree_get(root, "log_group_tags")) != NULL)
        cfg_tags(c, n, cfg);
    if (cfg_uint(c, root, "", "retention_days", 0, UINT64_MAX, &v)) {
        if (v > 3653 || !config_retention_valid((int)v))
            cfg_error(c, ytree_get(root, "retention_days"), "retention_days",
                      "%llu is not a retention CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, "
                      "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, "
                      "3653)",
                      (unsigned long long)v);
        else
            cfg->retention_days = (int)v;
    }
    if (cfg_str(c, root, "", "kms_key_id", &cfg->kms_key_id) &&
        (strncmp(cfg->kms_key_id, "arn:", 4) != 0 || strlen(cfg->kms_key_id) > 256 ||
         strchr(cfg->kms_key_id, ' ')))
        cfg_error(c, ytree_get(root, "kms_key_id"), "kms_key_id",
                  "must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), at most 256 "
                  "characters");
    if ((n = ytree_get(root, "batch")) != NULL)
        cfg_batch(c, n, cfg);
    if ((n = ytree_get(root, "digest")) != NULL)
        cfg_digest(c, n, cfg);
    e = cfg_enum(c, root, "", "out_of_range", oor, 2);
    if (e >= 0)
        cfg->out_of_range = e == 0 ? OUT_OF_RANGE_RECLOCK : OUT_OF_RANGE_DROP;
    cfg_sources(c, root, cfg);
    /* After the sources: the health stream must not be one of theirs. */
    if ((n = ytree_get(root, "health")) != NULL)
        cfg_health(c, n, cfg);
    cfg_digest_streams(c, root, cfg);
}

void
config_free(struct haf_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->file);
    free(cfg->region);
    free(cfg->endpoint);
    free(cfg->credentials.profile);
    free(cfg->credentials.role_arn);
    free(cfg->credentials.external_id);
    free(cfg->credentials.session_name);
    free(cfg->credentials.sts_endpoint);
    free(cfg->tls.ca_file);
    free(cfg->digest.kms_key_id);
    free(cfg->digest.signing_algorithm);
    free(cfg->digest.key_file);
    free(cfg->digest.log_group);
    free(cfg->digest.log_stream);
    free(cfg->health.log_group);
    free(cfg->health.log_stream);
    free(cfg->health.metric_namespace);
    free(cfg->proxy);
    free(cfg->state_dir);
    free(cfg->kms_key_id);
    for (size_t i = 0; i < cfg->n_log_group_tags; i++) {
        free(cfg->log_group_tags[i].key);
        free(cfg->log_group_tags[i].value);
    }
    free(cfg->log_group_tags);
    for (size_t i = 0; i < cfg->n_sources; i++) {
        free(cfg->sources[i].path);
        free(cfg->sources[i].log_group);
        free(cfg->sources[i].log_stream);
        free(cfg->sources[i].hsm_id);
    }
    free(cfg->sources);
    free(cfg);
}

enum haf_err
config_load_buffer(const char *name, const char *data, size_t len, struct haf_config **out,
                   struct buf *err)
{
    struct cfg_ctx c = {.name = name ? name : "<config>", .err = err};
    struct ynode *root = NULL, empty = {.type = YN_MAP, .line = 1, .col = 1};
    struct haf_config *cfg = NULL;
    struct ytree_error yerr;
    enum haf_err e;

    if (len > CONFIG_MAX_FILE_BYTES) {
        cfg_error(&c, NULL, NULL, "larger than %u bytes", CONFIG_MAX_FILE_BYTES);
        e = HAF_ECONFIG;
        goto out;
    }
    e = ytree_load(data, len, &root, &yerr);
    if (e == HAF_ECONFIG)
        cfg_report(&c, yerr.line, yerr.col, NULL, "%s", yerr.msg);
    if (e != HAF_OK)
        goto out;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    cfg->tls.verify = true;
    cfg->create_log_group = true;
    cfg->batch.max_events = CONFIG_DEFAULT_BATCH_MAX_EVENTS;
    cfg->batch.max_bytes = CONFIG_DEFAULT_BATCH_MAX_BYTES;
    cfg->batch.flush_interval_ms = CONFIG_DEFAULT_FLUSH_INTERVAL_MS;
    cfg->batch.memory_budget_bytes = CONFIG_DEFAULT_BATCH_MEMORY_BUDGET_BYTES;
    cfg->out_of_range = OUT_OF_RANGE_RECLOCK;
    cfg->digest.interval_s = CONFIG_DEFAULT_DIGEST_INTERVAL_S;
    cfg->health.interval_s = CONFIG_DEFAULT_HEALTH_INTERVAL_S;
    /* An empty file or document is an empty mapping (and then "sources" is missing). */
    cfg_walk(&c, root && !ytree_is_null(root) ? root : &empty, cfg);
    if (c.nomem) {
        e = HAF_ENOMEM;
        goto out;
    }
    if (c.n_errors > 0) {
        e = HAF_ECONFIG;
        goto out;
    }
    cfg->file = strdup(c.name);
    if (cfg->state_dir == NULL)
        cfg->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
    if (cfg->credentials.session_name == NULL)
        cfg->credentials.session_name = strdup(CFG_DEFAULT_SESSION);
    if (cfg->digest.log_stream == NULL)
        cfg->digest.log_stream = strdup(CONFIG_DEFAULT_DIGEST_STREAM);
    if (cfg->health.log_stream == NULL)
        cfg->health.log_stream = strdup(CONFIG_DEFAULT_HEALTH_STREAM);
    if (cfg->health.metric_namespace == NULL)
        cfg->health.metric_namespace = strdup(CONFIG_DEFAULT_HEALTH_NAMESPACE);
    if (cfg->file == NULL || cfg->state_dir == NULL || cfg->credentials.session_name == NULL ||
        cfg->digest.log_stream == NULL || cfg->health.log_stream == NULL ||
        cfg->health.metric_namespace == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    e = HAF_OK;
out:
    if (c.nomem && e == HAF_OK)
        e = HAF_ENOMEM;
    if (e == HAF_OK && c.n_errors > 0)
        e = HAF_ECONFIG;
    ytree_free(root);
    config_free(cfg);
    return e;
}
