/*
 * config_section.c: the validators of each section of the configuration file (credentials, tls,
 * batch, digest, sources, log group tags) and of the value syntaxes they share (absolute paths,
 * endpoint and proxy URLs, globs, log group names, stream-name templates, retention days). Each
 * section validator reads its keys through config_value.c, fills its part of the new struct
 * haf_config, and reports problems without stopping; config.c's walk calls them in file order and
 * decides, once every section has been seen, whether the config is handed out.
 */
#include "config_internal.h"
#include "haf/digest_name.h"

#include "haf/json_write.h"
#include "haf/streamname.h"
#include "haf/url.h"
#include "haf/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- value syntax ---- */

bool
cfg_abs_path(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
             const char *v)
{
    char path[128];

    if (v == NULL || v[0] == '/')
        return true;
    cfg_path(path, sizeof(path), prefix, key);
    cfg_error(c, ytree_get(map, key), path, "must be an absolute path");
    return false;
}

bool
cfg_charset(const char *s, const char *extra)
{
    for (; *s; s++) {
        char ch = *s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            continue;
        if (strchr(extra, ch) == NULL)
            return false;
    }
    return true;
}

/* Validates an endpoint or proxy URL with url.h's grammar and rules; the value is never echoed
 * (it could hold a secret). */
void
cfg_url(struct cfg_ctx *c, const struct ynode *map, const char *prefix, const char *key,
        const char *url, enum cfg_url_kind kind)
{
    static const char *const proxy_schemes[] = {"http",    "https",  "socks4",
                                                "socks4a", "socks5", "socks5h"};
    const struct ynode *at = ytree_get(map, key);
    const char *why = NULL;
    char path[128];
    struct url u;
    bool ok_scheme = false;

    if (url == NULL)
        return;
    cfg_path(path, sizeof(path), prefix, key);
    if (url_parse(span_cstr(url), &u, &why) != HAF_OK) {
        if (strcmp(why, URL_WHY_NOT_A_URL) == 0)
            cfg_error(c, at, path, "not a URL (expected %s)",
                      kind == CFG_URL_ENDPOINT ? "https://host[:port][/path]"
                                               : "http://host:port or socks5://host:port");
        else
            cfg_error(c, at, path, "%s", why);
        return;
    }
    if (kind == CFG_URL_ENDPOINT) {
        ok_scheme = url_scheme_is(&u, "https") || url_scheme_is(&u, "http");
    } else {
        for (size_t k = 0; k < sizeof(proxy_schemes) / sizeof(proxy_schemes[0]); k++)
            ok_scheme = ok_scheme || url_scheme_is(&u, proxy_schemes[k]);
    }
    if (!ok_scheme) {
        cfg_error(c, at, path, "unsupported URL scheme \"%s\" (use %s)", u.scheme,
                  kind == CFG_URL_ENDPOINT ? "https"
                                           : "http, https, socks4, socks4a, socks5 or socks5h");
        return;
    }
    if (u.has_userinfo) {
        cfg_error(c, at, path,
                  "user information in the URL is not supported (no credentials in the "
                  "config file%s)",
                  kind == CFG_URL_PROXY ? "; set HTTPS_PROXY in the environment instead" : "");
        return;
    }
    if (kind == CFG_URL_PROXY && u.path.len > 1) {
        cfg_error(c, at, path, "a proxy URL has no path");
        return;
    }
    if (kind == CFG_URL_ENDPOINT && url_check_endpoint(&u, &why) != HAF_OK)
        cfg_error(c, at, path, "%s", why);
}

/* glob(3) pattern syntax: balanced [ ], no trailing backslash, absolute. */
static void
cfg_glob(struct cfg_ctx *c, const struct ynode *at, const char *path, const char *g)
{
    size_t n = strlen(g);

    if (g[0] != '/') {
        cfg_error(c, at, path, "must be an absolute path or glob");
        return;
    }
    if (g[n - 1] == '/') {
        cfg_error(c, at, path, "names a directory; add a file pattern such as *.log");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (g[i] == '\\') {
            if (i + 1 >= n) {
                cfg_error(c, at, path, "ends with an escaping backslash");
                return;
            }
            i++;
        } else if (g[i] == '[') {
            size_t j = i + 1;
            if (j < n && (g[j] == '!' || g[j] == '^'))
                j++;
            if (j < n && g[j] == ']')
                j++;
            while (j < n && g[j] != ']' && g[j] != '/')
                j++;
            if (j >= n || g[j] != ']') {
                cfg_error(c, at, path, "unbalanced '[' at offset %zu in glob (escape it as \\[)",
                          i);
                return;
            }
            if (j == i + 1 || (j == i + 2 && (g[i + 1] == '!' || g[i + 1] == '^'))) {
                cfg_error(c, at, path, "empty [] in glob at offset %zu", i);
                return;
            }
            i = j;
        } else if (g[i] == ']') {
            cfg_error(c, at, path, "unbalanced ']' at offset %zu in glob (escape it as \\])", i);
            return;
        } else if (g[i] == '*' && i + 1 < n && g[i + 1] == '*') {
            cfg_error(c, at, path,
                      "'**' is not supported: glob(3) does not match across directories");
            return;
        }
    }
}

static void
cfg_log_group(struct cfg_ctx *c, const struct ynode *at, const char *path, const char *g)
{
    size_t n = strlen(g);

    if (n > 512)
        cfg_error(c, at, path, "log group names are at most 512 characters");
    else if (!cfg_charset(g, "._-/#"))
        cfg_error(c, at, path, "log group names may only contain A-Z a-z 0-9 . - _ / #");
    else if (strncmp(g, "aws/", 4) == 0)
        cfg_error(c, at, path, "log group names starting with \"aws/\" are reserved by AWS");
}

/* The grammar is streamname.c's; only the wording of the errors is config's. */
static void
cfg_stream_template(struct cfg_ctx *c, const struct ynode *at, const char *path, const char *t,
                    bool has_hsm_id)
{
    struct streamname_problem pb;
    char q[64];

    if (streamname_check(t, has_hsm_id, &pb) == HAF_OK)
        return;
    switch (pb.kind) {
    case STREAMNAME_TOO_LONG:
        cfg_error(c, at, path, "log stream names are at most 512 characters");
        break;
    case STREAMNAME_FORBIDDEN_CHAR:
        cfg_error(c, at, path, "log stream names must not contain ':' or '*'");
        break;
    case STREAMNAME_UNBALANCED_CLOSE:
        cfg_error(c, at, path, "unbalanced '}' at offset %zu", pb.offset);
        break;
    case STREAMNAME_UNTERMINATED:
        cfg_error(c, at, path, "unterminated '{' at offset %zu", pb.offset);
        break;
    case STREAMNAME_UNKNOWN:
        cfg_quote(pb.name, q, sizeof(q));
        cfg_error(c, at, path,
                  "unknown placeholder {%s} (known: {hostname} {instance_id} {file} {hsm_id})", q);
        break;
    case STREAMNAME_HSM_ID_UNSET:
    case STREAMNAME_OK:
    default:
        cfg_error(c, at, path, "uses {hsm_id} but the source sets no hsm_id");
        break;
    }
}

bool
config_retention_valid(int days)
{
    static const int ok[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                             365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (ok[i] == days)
            return true;
    return false;
}

/* ---- the schema walk ---- */

void
cfg_credentials(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"profile",      "role_arn",     "external_id",
                                       "session_name", "sts_endpoint", NULL};
    const char *p = "credentials";

    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    if (cfg_str(c, n, p, "profile", &cfg->credentials.profile) &&
        (strlen(cfg->credentials.profile) > 128 || strpbrk(cfg->credentials.profile, "[]")))
        cfg_error(c, ytree_get(n, "profile"), "credentials.profile",
                  "must be at most 128 characters without '[' or ']'");
    if (cfg_str(c, n, p, "role_arn", &cfg->credentials.role_arn) &&
        (strncmp(cfg->credentials.role_arn, "arn:", 4) != 0 ||
         strstr(cfg->credentials.role_arn, ":role/") == NULL ||
         strlen(cfg->credentials.role_arn) > 2048 || strchr(cfg->credentials.role_arn, ' ')))
        cfg_error(c, ytree_get(n, "role_arn"), "credentials.role_arn",
                  "must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    if (cfg_str(c, n, p, "external_id", &cfg->credentials.external_id) &&
        (strlen(cfg->credentials.external_id) < 2 || strlen(cfg->credentials.external_id) > 1224 ||
         !cfg_charset(cfg->credentials.external_id, "_+=,.@:/-")))
        cfg_error(c, ytree_get(n, "external_id"), "credentials.external_id",
                  "must be 2..1224 characters of A-Z a-z 0-9 _ + = , . @ : / -");
    if (cfg_str(c, n, p, "session_name", &cfg->credentials.session_name) &&
        (strlen(cfg->credentials.session_name) < 2 || strlen(cfg->credentials.session_name) > 64 ||
         !cfg_charset(cfg->credentials.session_name, "_+=,.@-")))
        cfg_error(c, ytree_get(n, "session_name"), "credentials.session_name",
                  "must be 2..64 characters of A-Z a-z 0-9 _ + = , . @ -");
    if (cfg_str(c, n, p, "sts_endpoint", &cfg->credentials.sts_endpoint))
        cfg_url(c, n, p, "sts_endpoint", cfg->credentials.sts_endpoint, CFG_URL_ENDPOINT);
}

void
cfg_tls(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"ca_file", "verify", NULL};

    if (!cfg_check_map(c, n, "tls", keys) && n->type != YN_MAP)
        return;
    if (cfg_str(c, n, "tls", "ca_file", &cfg->tls.ca_file))
        (void)cfg_abs_path(c, n, "tls", "ca_file", cfg->tls.ca_file);
    cfg_bool(c, n, "tls", "verify", &cfg->tls.verify);
}

void
cfg_batch(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"max_events", "max_bytes", "flush_interval_ms",
                                       "memory_budget_bytes", NULL};
    uint64_t v;

    if (!cfg_check_map(c, n, "batch", keys) && n->type != YN_MAP)
        return;
    if (cfg_uint(c, n, "batch", "max_events", 1, 10000, &v))
        cfg->batch.max_events = (uint32_t)v;
    if (cfg_uint(c, n, "batch", "max_bytes", 27, 1048576, &v))
        cfg->batch.max_bytes = (uint32_t)v;
    if (cfg_uint(c, n, "batch", "flush_interval_ms", 1, 3600000, &v))
        cfg->batch.flush_interval_ms = (uint32_t)v;
    if (cfg_uint(c, n, "batch", "memory_budget_bytes", 65536, 1073741824, &v))
        cfg->batch.memory_budget_bytes = (uint32_t)v;
}

/* digest: {enabled, interval_s, kms_key_id | key_file, signing_algorithm, log_group,
 * log_stream}. Exactly one key source when enabled; the stream template must name {stream}. */
void
cfg_digest(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"enabled",  "interval_s", "kms_key_id", "signing_algorithm",
                                       "key_file", "log_group",  "log_stream", NULL};
    static const char *const algs[] = {"ECDSA_SHA_256", "RSASSA_PSS_SHA_256"};
    const char *p = "digest";
    uint64_t v;
    int a;

    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    cfg_bool(c, n, p, "enabled", &cfg->digest.enabled);
    if (cfg_uint(c, n, p, "interval_s", 1, 86400, &v))
        cfg->digest.interval_s = (uint32_t)v;
    if (cfg_str(c, n, p, "kms_key_id", &cfg->digest.kms_key_id) &&
        (strlen(cfg->digest.kms_key_id) > 2048 || !cfg_charset(cfg->digest.kms_key_id, ":/_-")))
        cfg_error(c, ytree_get(n, "kms_key_id"), "digest.kms_key_id",
                  "must be a KMS key id, key ARN, alias name or alias ARN");
    a = cfg_enum(c, n, p, "signing_algorithm", algs, 2);
    if (a >= 0 && (cfg->digest.signing_algorithm = strdup(algs[a])) == NULL)
        c->nomem = true;
    if (cfg_str(c, n, p, "key_file", &cfg->digest.key_file))
        (void)cfg_abs_path(c, n, p, "key_file", cfg->digest.key_file);
    if (cfg_str(c, n, p, "log_group", &cfg->digest.log_group))
        cfg_log_group(c, ytree_get(n, "log_group"), "digest.log_group", cfg->digest.log_group);
    if (cfg_str(c, n, p, "log_stream", &cfg->digest.log_stream)) {
        if (!strstr(cfg->digest.log_stream, "{stream}"))
            cfg_error(c, ytree_get(n, "log_stream"), "digest.log_stream",
                      "must contain {stream} (the data stream's name)");
        else if (strlen(cfg->digest.log_stream) > 256 || strpbrk(cfg->digest.log_stream, ":*"))
            cfg_error(c, ytree_get(n, "log_stream"), "digest.log_stream",
                      "at most 256 characters, without ':' or '*'");
    }
    if (cfg->digest.kms_key_id && cfg->digest.key_file)
        cfg_error(c, n, "digest", "kms_key_id and key_file: choose one signer");
    else if (cfg->digest.enabled && !cfg->digest.kms_key_id && !cfg->digest.key_file)
        cfg_error(c, n, "digest", "enabled: needs kms_key_id or key_file to sign with");
    if (cfg->digest.signing_algorithm && cfg->digest.key_file)
        cfg_error(c, n, "digest.signing_algorithm",
                  "applies to kms_key_id only (a key file's type decides its algorithm)");
}

/* health: {enabled, interval_s, log_group, log_stream, namespace}. The stream template takes
 * {hostname} and {instance_id} (the health stream has no file and no HSM), and, when health
 * records are on, must not be the template of a source writing to the same group: they would then
 * go into an audit stream (off, they name no stream: the dump of a config that loads must load).
 * The namespace follows CloudWatch's rules for namespaces (PutMetricData): 1..255 of
 * [0-9A-Za-z.-_/#: ], not only spaces, not starting with "AWS/". */
void
cfg_health(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    static const char *const keys[] = {"enabled",    "interval_s", "log_group",
                                       "log_stream", "namespace",  NULL};
    const char *p = "health", *ns;
    uint64_t v;

    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    cfg_bool(c, n, p, "enabled", &cfg->health.enabled);
    if (cfg_uint(c, n, p, "interval_s", 1, 86400, &v))
        cfg->health.interval_s = (uint32_t)v;
    if (cfg_str(c, n, p, "log_group", &cfg->health.log_group))
        cfg_log_group(c, ytree_get(n, "log_group"), "health.log_group", cfg->health.log_group);
    if (cfg_str(c, n, p, "log_stream", &cfg->health.log_stream)) {
        const struct ynode *at = ytree_get(n, "log_stream");
        const char *t = cfg->health.log_stream;

        if (strstr(t, "{file}") || strstr(t, "{hsm_id}"))
            cfg_error(c, at, "health.log_stream",
                      "only {hostname} and {instance_id} apply (the health stream has no file "
                      "and no HSM)");
        else
            cfg_stream_template(c, at, "health.log_stream", t, false);
    }
    for (size_t i = 0; cfg->health.enabled && i < cfg->n_sources; i++) {
        const struct config_source *src = &cfg->sources[i];
        const char *t =
            cfg->health.log_stream ? cfg->health.log_stream : CONFIG_DEFAULT_HEALTH_STREAM;
        const char *group =
            cfg->health.log_group ? cfg->health.log_group : cfg->sources[0].log_group;

        if (src->log_stream && src->log_group && group && strcmp(src->log_stream, t) == 0 &&
            strcmp(group, src->log_group) == 0)
            cfg_error(c, n, "health.log_stream",
                      "is the stream of sources[%zu] in the same group: health records must not "
                      "go into an audit stream",
                      i);
    }
    if (cfg_str(c, n, p, "namespace", &cfg->health.metric_namespace)) {
        ns = cfg->health.metric_namespace;
        if (ns[0] == '\0' || strlen(ns) > 255 || !cfg_charset(ns, ".-_/#: ") ||
            strspn(ns, " ") == strlen(ns) || strncmp(ns, "AWS/", 4) == 0)
            cfg_error(c, ytree_get(n, "namespace"), "health.namespace",
                      "must be 1..255 of letters, digits and . - _ / # : or space, not starting "
                      "with AWS/");
    }
}

static void
cfg_source(struct cfg_ctx *c, const struct ynode *n, size_t idx, struct config_source *src)
{
    static const char *const keys[] = {"path",           "log_group", "log_stream",      "format",
                                       "start_position", "hsm_id",    "follow_symlinks", NULL};
    static const char *const formats[] = {"json", "raw"};
    static const char *const starts[] = {"beginning", "end"};
    char p[64], kp[96];
    int v;

    snprintf(p, sizeof(p), "sources[%zu]", idx);
    src->format = AUDIT_FORMAT_JSON;
    src->start_position = START_BEGINNING;
    if (!cfg_check_map(c, n, p, keys) && n->type != YN_MAP)
        return;
    cfg_path(kp, sizeof(kp), p, "path");
    if (cfg_str(c, n, p, "path", &src->path))
        cfg_glob(c, ytree_get(n, "path"), kp, src->path);
    else if (ytree_get(n, "path") == NULL)
        cfg_error(c, n, kp, "missing (the audit file path or glob)");
    cfg_path(kp, sizeof(kp), p, "log_group");
    if (cfg_str(c, n, p, "log_group", &src->log_group))
        cfg_log_group(c, ytree_get(n, "log_group"), kp, src->log_group);
    else if (ytree_get(n, "log_group") == NULL)
        cfg_error(c, n, kp, "missing (the CloudWatch Logs log group)");
    cfg_path(kp, sizeof(kp), p, "hsm_id");
    if (cfg_str(c, n, p, "hsm_id", &src->hsm_id) &&
        (strlen(src->hsm_id) > 64 || !cfg_charset(src->hsm_id, "._-")))
        cfg_error(c, ytree_get(n, "hsm_id"), kp, "must be 1..64 characters of A-Z a-z 0-9 . _ -");
    cfg_path(kp, sizeof(kp), p, "log_stream");
    if (cfg_str(c, n, p, "log_stream", &src->log_stream))
        cfg_stream_template(c, ytree_get(n, "log_stream"), kp, src->log_stream,
                            src->hsm_id != NULL);
    v = cfg_enum(c, n, p, "format", formats, 2);
    if (v >= 0)
        src->format = v == 0 ? AUDIT_FORMAT_JSON : AUDIT_FORMAT_RAW;
    v = cfg_enum(c, n, p, "start_position", starts, 2);
    if (v >= 0)
        src->start_position = v == 0 ? START_BEGINNING : START_END;
    cfg_bool(c, n, p, "follow_symlinks", &src->follow_symlinks);
}

void
cfg_sources(struct cfg_ctx *c, const struct ynode *root, struct haf_config *cfg)
{
    const struct ynode *n = ytree_get(root, "sources");

    if (n == NULL) {
        const struct ynode *at = NULL;
        (void)ytree_lookup(root, "sources", &at);
        cfg_error(c, at ? at : root, "sources", "missing: at least one source is required");
        return;
    }
    if (n->type != YN_SEQ) {
        cfg_error(c, n, "sources", "expected a sequence of sources, got %s", ytree_kind(n));
        return;
    }
    if (n->n == 0) {
        cfg_error(c, n, "sources", "empty: at least one source is required");
        return;
    }
    if (n->n > CFG_MAX_SOURCES) {
        cfg_error(c, n, "sources", "more than %d sources", CFG_MAX_SOURCES);
        return;
    }
    cfg->sources = calloc(n->n, sizeof(*cfg->sources));
    if (cfg->sources == NULL) {
        c->nomem = true;
        return;
    }
    cfg->n_sources = n->n;
    for (size_t i = 0; i < n->n; i++) {
        struct config_source *s = &cfg->sources[i];
        cfg_source(c, n->kids[i], i, s);
        if (s->log_stream == NULL && !c->nomem) {
            s->log_stream = strdup(CFG_DEFAULT_STREAM);
            if (s->log_stream == NULL)
                c->nomem = true;
        }
        /* The same file twice would be two writers of one stream (peers.md 8.3). */
        for (size_t j = 0; j < i && s->path; j++)
            if (cfg->sources[j].path && strcmp(cfg->sources[j].path, s->path) == 0) {
                char kp[64];
                snprintf(kp, sizeof(kp), "sources[%zu].path", i);
                cfg_error(c, ytree_get(n->kids[i], "path"), kp, "same path as sources[%zu]", j);
                break;
            }
    }
}

/* With digests on, no data stream may be a digest stream too (digest_name.h): a static
 * source stream name with the form of digest.log_stream in the digest streams' group is refused
 * here (names from files are renamed at run time), and so is "{stream}" in a source's group
 * (every name has its form). Runs after cfg_digest and cfg_sources. */
void
cfg_digest_streams(struct cfg_ctx *c, const struct ynode *root, const struct haf_config *cfg)
{
    const struct ynode *srcs = ytree_get(root, "sources");
    const char *tmpl =
        cfg->digest.log_stream ? cfg->digest.log_stream : CONFIG_DEFAULT_DIGEST_STREAM;
    const char *dg = cfg->digest.log_group;

    if (!cfg->digest.enabled || srcs == NULL || srcs->type != YN_SEQ)
        return;
    if (strcmp(tmpl, "{stream}") == 0) {
        bool shared = dg == NULL;
        for (size_t i = 0; i < cfg->n_sources && !shared; i++)
            shared = cfg->sources[i].log_group && strcmp(cfg->sources[i].log_group, dg) == 0;
        if (shared)
            cfg_error(c, ytree_get(ytree_get(root, "digest"), "log_stream"), "digest.log_stream",
                      "\"%s\" names each digest stream like its data stream: set "
                      "digest.log_group to a group no source uses",
                      tmpl);
        return;
    }
    for (size_t i = 0; i < cfg->n_sources && i < srcs->n; i++) {
        const struct config_source *s = &cfg->sources[i];
        char kp[64];

        if (s->log_stream == NULL || s->log_group == NULL || strchr(s->log_stream, '{') ||
            (dg != NULL && strcmp(dg, s->log_group) != 0) ||
            !digest_name_match(tmpl, s->log_stream))
            continue;
        snprintf(kp, sizeof(kp), "sources[%zu].log_stream", i);
        cfg_error(c, ytree_get(srcs->kids[i], "log_stream"), kp,
                  "\"%s\" has the form of a digest stream name (digest.log_stream \"%s\", in the "
                  "same log group): choose another name, digest.log_stream or digest.log_group",
                  s->log_stream, tmpl);
    }
}

/*
 * log_group_tags: a mapping of 1..50 tags for the log groups the daemon creates, as CreateLogGroup
 * takes them: keys 1..128 characters, values 0..256, of letters, digits, spaces and _.:/=+-@ (the
 * API's pattern, restricted to ASCII), keys not starting with the reserved "aws:".
 */
void
cfg_tags(struct cfg_ctx *c, const struct ynode *n, struct haf_config *cfg)
{
    const char *const extra = " _.:/=+-@";

    if (n->type != YN_MAP || n->n == 0 || n->n / 2 > 50) {
        cfg_error(c, n, "log_group_tags", "expected a mapping of 1 to 50 tags, got %s",
                  n->type == YN_MAP ? "another number" : ytree_kind(n));
        return;
    }
    cfg->log_group_tags = calloc(n->n / 2, sizeof(*cfg->log_group_tags));
    if (cfg->log_group_tags == NULL) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        struct config_tag *t = &cfg->log_group_tags[cfg->n_log_group_tags];
        if (k->type != YN_SCALAR || k->len == 0 || k->len > 128 || strlen(k->val) != k->len ||
            !cfg_charset(k->val, extra) || strncmp(k->val, "aws:", 4) == 0) {
            cfg_error(c, k, "log_group_tags",
                      "a tag key is 1 to 128 letters, digits, spaces or _.:/=+-@, not starting "
                      "with aws:");
            continue;
        }
        if (v->type != YN_SCALAR || v->len > 256 || strlen(v->val) != v->len ||
            !cfg_charset(v->val, extra)) {
            cfg_error(c, v, "log_group_tags",
                      "a tag value is at most 256 letters, digits, spaces or _.:/=+-@");
            continue;
        }
        t->key = strdup(k->val);
        t->value = strdup(v->val);
        cfg->n_log_group_tags++;
        if (t->key == NULL || t->value == NULL)
            c->nomem = true;
    }
}
