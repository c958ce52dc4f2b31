/*
 * kms.c: KMS Sign and GetPublicKey (see kms.h). Requests are built and answers read with
 * jansson; the answers are untrusted (a proxy or a wrong endpoint could answer anything), so each
 * field is checked for type and decoded with the strict base64 reader before it is used. The
 * message to sign is sent as RAW: a digest record is far below the 4 KB limit, and moto's DIGEST
 * mode does not produce signatures that verify like AWS's.
 */
#include "haf/json_write.h"
#include "haf/kms.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "haf/base64.h"

#define KMS_TARGET_PREFIX  "TrentService."
#define KMS_MAX_SIG_BYTES  1024
#define KMS_MAX_DER_BYTES  4096
#define KMS_MAX_NAME_BYTES 2048
/* kms:Sign runs on the daemon's event loop (digest_emit.c): an endpoint that accepts and never
 * answers holds the loop for this long at most per attempt, not the 30 s of other requests (KMS
 * answers a Sign in well under a second). */
#define KMS_SIGN_TIMEOUT_MS 5000

struct kms_client {
    struct cwl_client *cwl;
};

static const char *
env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

char *
kms_endpoint(const char *configured, const char *region)
{
    const char *ep = configured;

    if (!ep)
        ep = env_nonempty("AWS_ENDPOINT_URL_KMS");
    if (!ep)
        ep = env_nonempty("AWS_ENDPOINT_URL");
    if (ep)
        return strdup(ep);
    return cwl_service_endpoint("kms", region);
}

struct kms_client *
kms_client_new(const char *endpoint, const char *region, struct http_client *http,
               struct creds_provider *creds)
{
    struct kms_client *c = calloc(1, sizeof(*c));
    char *ep = kms_endpoint(endpoint, region);
    struct cwl_opts opts = {
        .endpoint = ep, .region = region, .service = "kms", .target_prefix = KMS_TARGET_PREFIX};

    if (c && ep)
        c->cwl = cwl_client_new(&opts, http, creds);
    free(ep);
    if (!c || !c->cwl) {
        kms_client_free(c);
        return NULL;
    }
    return c;
}

void
kms_client_free(struct kms_client *c)
{
    if (!c)
        return;
    cwl_client_free(c->cwl);
    free(c);
}

void
kms_public_key_clean_up(struct kms_public_key *k)
{
    if (!k)
        return;
    free(k->der);
    free(k->key_id);
    free(k->key_spec);
    memset(k, 0, sizeof(*k));
}

/* Send `req` (reference stolen) as operation `op` within timeout_ms (0: the HTTP client's
 * default); on HAF_OK the parsed 200 answer is in *answer. */
static enum haf_err
kms_call(struct kms_client *c, const char *op, json_t *req, long timeout_ms, json_t **answer,
         struct cwl_result *res)
{
    struct http_response resp;
    json_error_t jerr;
    char *body = NULL;
    enum haf_err e = HAF_ENOMEM;

    http_response_init(&resp);
    if (!req)
        goto out;
    body = json_dumps(req, JSON_COMPACT);
    if (!body)
        goto out;
    e = cwl_call_within(c->cwl, op, span_cstr(body), timeout_ms, &resp, res);
    if (e != HAF_OK)
        goto out;
    if (res->cls != CWL_OK) {
        e = HAF_EREJECTED;
        goto out;
    }
    *answer = json_loadb(resp.body.p ? resp.body.p : "", resp.body.len, 0, &jerr);
    e = json_is_object(*answer) ? HAF_OK : HAF_EPARSE;
    if (e != HAF_OK) {
        json_decref(*answer);
        *answer = NULL;
    }
out:
    json_dump_free(body);
    json_decref(req);
    http_response_clean_up(&resp);
    return e;
}

/* A string member of 1..KMS_MAX_NAME_BYTES bytes, copied; NULL otherwise. */
static char *
member_strdup(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > KMS_MAX_NAME_BYTES)
        return NULL;
    return strndup(json_string_value(v), json_string_length(v));
}

static enum haf_err
member_base64(json_t *o, const char *key, size_t max, uint8_t **out, size_t *len)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        return HAF_EPARSE;
    return base64_decode(span_make(json_string_value(v), json_string_length(v)), max, out, len);
}

enum haf_err
kms_sign(struct kms_client *c, const char *key_id, const char *alg, struct span msg,
         struct buf *sig, struct cwl_result *res)
{
    json_t *req = NULL, *answer = NULL;
    struct buf b64;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    enum haf_err e;

    memset(res, 0, sizeof(*res));
    if (msg.len == 0 || msg.len > KMS_MAX_MESSAGE_BYTES)
        return HAF_ETOOLONG;
    buf_init(&b64, 0);
    e = base64_encode(msg.p, msg.len, &b64);
    if (e != HAF_OK)
        goto out;
    /* json_pack's "s" copies; a NULL or non-UTF-8 string makes it fail (reported as ENOMEM). */
    req = json_pack("{s:s, s:s, s:s, s:s}", "KeyId", key_id, "Message", buf_cstr(&b64),
                    "MessageType", "RAW", "SigningAlgorithm", alg);
    e = kms_call(c, "Sign", req, KMS_SIGN_TIMEOUT_MS, &answer, res);
    if (e != HAF_OK)
        goto out;
    e = member_base64(answer, "Signature", KMS_MAX_SIG_BYTES, &raw, &raw_len);
    if (e == HAF_ETOOLONG)
        e = HAF_EPARSE;
    if (e == HAF_OK)
        e = buf_add(sig, raw, raw_len);
out:
    free(raw);
    json_decref(answer);
    buf_clean_up(&b64);
    return e;
}

enum haf_err
kms_get_public_key(struct kms_client *c, const char *key_id, struct kms_public_key *out,
                   struct cwl_result *res)
{
    struct kms_public_key k;
    json_t *answer = NULL;
    enum haf_err e;

    memset(res, 0, sizeof(*res));
    memset(&k, 0, sizeof(k));
    e = kms_call(c, "GetPublicKey", json_pack("{s:s}", "KeyId", key_id), 0, &answer, res);
    if (e != HAF_OK)
        goto out;
    e = member_base64(answer, "PublicKey", KMS_MAX_DER_BYTES, &k.der, &k.der_len);
    if (e == HAF_ETOOLONG)
        e = HAF_EPARSE;
    if (e != HAF_OK)
        goto out;
    k.key_id = member_strdup(answer, "KeyId");
    /* AWS sends KeySpec and the deprecated CustomerMasterKeySpec; moto only the latter. */
    k.key_spec = member_strdup(answer, "KeySpec");
    if (!k.key_spec)
        k.key_spec = member_strdup(answer, "CustomerMasterKeySpec");
    if (!k.key_id || !k.key_spec) {
        e = HAF_EPARSE;
        goto out;
    }
    *out = k;
    memset(&k, 0, sizeof(k));
out:
    kms_public_key_clean_up(&k);
    json_decref(answer);
    return e;
}
