/*
 * config_internal.h: what config.c (the walk and the config's life cycle), config_value.c (typed
 * values and error reporting) and config_section.c (the section validators) share, grouped by the
 * file that defines it. The interface of the module is haf/config.h.
 */
#ifndef HAF_CONFIG_INTERNAL_H
#define HAF_CONFIG_INTERNAL_H

#include "haf/buf.h"
#include "haf/config.h"
#include "haf/span.h"
#include "haf/yaml_tree.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define CFG_MAX_ERRORS      50
#define CFG_MAX_STR_BYTES   4096
#define CFG_MAX_SOURCES     1000
#define CFG_DEFAULT_STREAM  "{hostname}/{file}"
#define CFG_DEFAULT_SESSION "hsm-audit-forwarder"

struct cfg_ctx {
    const char *name;
    struct buf *err;
    size_t n_errors;
    bool nomem;
};

enum cfg_url_kind { CFG_URL_ENDPOINT, CFG_URL_PROXY };

/* config_value.c */
void cfg_error(struct cfg_ctx *c, const struct ynode *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_report(struct cfg_ctx *c, size_t line, size_t col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void cfg_quote(struct span s, char *out, size_t cap);
void cfg_path(char *out, size_t cap, const char *prefix, const char *key);
bool cfg_str(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
             char **out);
void cfg_bool(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
              bool *out);
bool cfg_uint(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
              uint64_t lo, uint64_t hi, uint64_t *out);
int cfg_enum(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
             const char *const *names, size_t n_names);
bool cfg_check_map(struct cfg_ctx *c, const struct ynode *n, const char *path,
                   const char *const *known);

/* config_section.c */
bool cfg_abs_path(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
                  const char *v);
bool cfg_charset(const char *s, const char *extra);
void cfg_url(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
             const char *url, enum cfg_url_kind kind);
void cfg_credentials(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg);
void cfg_tls(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg);
void cfg_batch(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg);
void cfg_digest(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg);
void cfg_health(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg);
void cfg_sources(struct cfg_ctx *c, const struct ynode *root, struct haf_config *cfg);
void cfg_digest_streams(struct cfg_ctx *c, const struct ynode *root, const struct haf_config *cfg);
void cfg_tags(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg);

#endif
