/*
 * cwl_session.c: the HTTP client, credential chain and CloudWatch Logs client of the one-shot
 * reading commands, built from the same configuration and environment as the daemon (see
 * cwl_session.h). The daemon builds its own in daemon_setup() with the same precedence; the two
 * should become one when daemon.c is split (the lead's merge).
 */
#include "haf/cwl_session.h"

#include <stdlib.h>
#include <string.h>

#include "haf/config.h"
#include "haf/creds.h"
#include "haf/cwl.h"
#include "haf/http.h"

#define SESSION_DEFAULT_RESPONSE_BYTES (16u << 20)

static char *
env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return v && v[0] ? strdup(v) : NULL;
}

/* A reason for the caller; a failure to say it leaves `why` empty rather than half-written. */
static void
say(struct buf *why, const char *a, const char *b, const char *c)
{
    if (why &&
        (buf_adds(why, a) != HAF_OK || buf_adds(why, b) != HAF_OK || buf_adds(why, c) != HAF_OK))
        buf_reset(why);
}

/* Plain http is for loopback test endpoints only. */
static bool
endpoint_allowed(const char *url)
{
    const char *host;

    if (strncmp(url, "https://", 8) == 0)
        return true;
    if (strncmp(url, "http://", 7) != 0)
        return false;
    host = url + 7;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 ||
           strncmp(host, "[::1]", 5) == 0;
}

enum haf_err
cwl_session_open(struct cwl_session *s, const struct haf_config *cfg, size_t max_response_bytes,
                 struct buf *why)
{
    struct http_opts ho = {.verify = true,
                           .connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS,
                           .timeout_ms = HTTP_DEFAULT_TIMEOUT_MS,
                           .max_response_bytes = max_response_bytes
                                                     ? max_response_bytes
                                                     : SESSION_DEFAULT_RESPONSE_BYTES};
    struct creds_opts co = {0};
    struct cwl_opts wo = {0};
    enum haf_err e = HAF_ENOMEM;

    memset(s, 0, sizeof(*s));
    if (cfg) {
        ho.ca_file = cfg->tls.ca_file;
        ho.verify = cfg->tls.verify;
        ho.proxy = cfg->proxy;
        co.profile = cfg->credentials.profile;
        co.role_arn = cfg->credentials.role_arn;
        co.external_id = cfg->credentials.external_id;
        co.session_name = cfg->credentials.session_name;
        co.sts_endpoint = cfg->credentials.sts_endpoint;
    }
    s->http = http_client_new(&ho);
    if (s->http == NULL)
        goto fail;
    if (cfg && cfg->region)
        s->region = strdup(cfg->region);
    else if (creds_resolve_region(s->http, &s->region) != HAF_OK) {
        e = HAF_ECONFIG;
        say(why, "no AWS region: set region in the configuration, or AWS_REGION", "", "");
        goto fail;
    }
    if (cfg && cfg->endpoint)
        s->endpoint = strdup(cfg->endpoint);
    else if ((s->endpoint = env_nonempty("AWS_ENDPOINT_URL_LOGS")) == NULL &&
             (s->endpoint = env_nonempty("AWS_ENDPOINT_URL")) == NULL)
        s->endpoint = cwl_default_endpoint(s->region);
    if (s->region == NULL || s->endpoint == NULL)
        goto fail;
    if (!endpoint_allowed(s->endpoint)) {
        e = HAF_ECONFIG;
        say(why, "endpoint ", s->endpoint, ": only https, or plain http to a loopback address");
        goto fail;
    }
    co.region = s->region;
    s->creds = creds_provider_new(&co, s->http);
    wo.endpoint = s->endpoint;
    wo.region = s->region;
    s->cwl = s->creds ? cwl_client_new(&wo, s->http, s->creds) : NULL;
    if (s->cwl == NULL) {
        e = HAF_ECONFIG;
        say(why, "endpoint ", s->endpoint, ": not a usable URL");
        goto fail;
    }
    return HAF_OK;
fail:
    cwl_session_close(s);
    return e;
}

void
cwl_session_close(struct cwl_session *s)
{
    if (s == NULL)
        return;
    cwl_client_free(s->cwl);
    creds_provider_free(s->creds);
    http_client_free(s->http);
    free(s->region);
    free(s->endpoint);
    memset(s, 0, sizeof(*s));
}
