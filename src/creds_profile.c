/*
 * creds_profile.c: the first two sources of the chain: the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION) and a profile of the shared
 * config and credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/).
 *
 * The files are re-read at every refresh, so rotated keys are picked up. A profile somebody chose
 * (the config, AWS_PROFILE) must exist; the implicit "default" may be absent and the chain goes
 * on. Profile role chaining, SSO and credential_process are not supported.
 */
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"

/* ---- environment and shared files ---- */

enum haf_err
creds_provider_env(struct aws_creds *out, int64_t now_ms, struct buf *why)
{
    const char *id = creds_env("AWS_ACCESS_KEY_ID");
    const char *secret = creds_env("AWS_SECRET_ACCESS_KEY");
    const char *token = creds_env("AWS_SESSION_TOKEN");
    const char *exp = creds_env("AWS_CREDENTIAL_EXPIRATION");
    struct creds_doc d = {0};

    if (token == NULL)
        token = creds_env("AWS_SECURITY_TOKEN");
    if (id == NULL && secret == NULL)
        return HAF_ENOTFOUND;
    if (id == NULL || secret == NULL) {
        creds_why(why, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
        return HAF_ECREDS;
    }
    if (exp != NULL && !creds_parse_iso8601(span_cstr(exp), &d.expiration_ms)) {
        creds_why(why, "environment: malformed AWS_CREDENTIAL_EXPIRATION");
        return HAF_ECREDS;
    }
    if (d.expiration_ms != 0 && d.expiration_ms <= now_ms) {
        creds_why(why, "environment: credentials expired (AWS_CREDENTIAL_EXPIRATION)");
        return HAF_ECREDS;
    }
    d.access_key_id = strdup(id);
    d.secret_access_key = strdup(secret);
    d.session_token = creds_dup_opt(token);
    if (d.access_key_id == NULL || d.secret_access_key == NULL || (token && !d.session_token)) {
        creds_doc_clean_up(&d);
        return HAF_ENOMEM;
    }
    if (!creds_doc_valid(&d)) {
        creds_why(why, "environment: malformed access key id, secret or session token");
        creds_doc_clean_up(&d);
        return HAF_ECREDS;
    }
    creds_doc_take(&d, out, "environment");
    return HAF_OK;
}

static enum haf_err
ini_read(const char *path, const char *profile, bool config_file, struct creds_ini *ini,
         struct buf *why)
{
    struct buf b;
    const char *reason = NULL;
    enum haf_err e = creds_read_file(path, CREDS_INI_MAX_BYTES, &b, &reason);

    if (e == HAF_ENOTFOUND)
        return HAF_OK;
    if (e != HAF_OK) {
        creds_why(why, "profile: cannot read %s (%s)", path, reason ? reason : haf_err_str(e));
        return e;
    }
    e = creds_parse_ini(buf_span(&b), profile, config_file, ini);
    if (e != HAF_OK)
        creds_why(why, "profile: %s: %s", path, haf_err_str(e));
    buf_wipe(&b);
    return e;
}

/* The profile in use and whether someone chose it (a chosen profile must exist). */
static const char *
profile_name(const struct creds_provider *p, bool *explicit)
{
    const char *name = p->profile;

    if (name == NULL)
        name = creds_env("AWS_PROFILE");
    if (name == NULL)
        name = creds_env("AWS_DEFAULT_PROFILE");
    *explicit = name != NULL;
    return name ? name : "default";
}

enum haf_err
creds_provider_profile(struct creds_provider *p, struct aws_creds *out, struct buf *why)
{
    bool explicit;
    const char *profile = profile_name(p, &explicit);
    const char *cfg_env = creds_env("AWS_CONFIG_FILE");
    const char *cred_env = creds_env("AWS_SHARED_CREDENTIALS_FILE");
    char *cfg = cfg_env ? strdup(cfg_env) : creds_home_path(".aws/config");
    char *cred = cred_env ? strdup(cred_env) : creds_home_path(".aws/credentials");
    struct creds_ini ini = {0};
    struct creds_doc d = {0};
    enum haf_err e = HAF_OK;

    if (cfg != NULL)
        e = ini_read(cfg, profile, true, &ini, why);
    if (e == HAF_OK && cred != NULL)
        e = ini_read(cred, profile, false, &ini, why);
    if (e != HAF_OK) {
        e = HAF_ECREDS;
        goto out;
    }
    if (!ini.found) {
        if (explicit) {
            creds_why(why, "profile: profile %s not found in %s or %s", profile,
                      cred ? cred : "(no credentials file)", cfg ? cfg : "(no config file)");
            e = HAF_ECREDS;
        } else {
            e = HAF_ENOTFOUND;
        }
        goto out;
    }
    if (ini.access_key_id == NULL || ini.secret_access_key == NULL) {
        creds_why(why, "profile: profile %s has no aws_access_key_id and aws_secret_access_key",
                  profile);
        e = explicit ? HAF_ECREDS : HAF_ENOTFOUND;
        goto out;
    }
    d.access_key_id = ini.access_key_id;
    d.secret_access_key = ini.secret_access_key;
    d.session_token = ini.session_token;
    ini.access_key_id = ini.secret_access_key = ini.session_token = NULL;
    if (!creds_doc_valid(&d)) {
        creds_why(why, "profile: profile %s has a malformed key id, secret or token", profile);
        e = HAF_ECREDS;
        goto out;
    }
    creds_doc_take(&d, out, "profile");
out:
    creds_doc_clean_up(&d);
    creds_ini_clean_up(&ini);
    free(cfg);
    free(cred);
    return e;
}
